/*
 * The caller's preparation of a sandbox: the spec validated, defaults
 * filled in, and the plan the children follow built ahead of clone; and
 * the pieces of it the other backends take as they are.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "sessiond/sandbox_plan.h"
#include "sessiond/sandbox_seccomp.h"

#define SANDBOX_DEF_MEMORY_MB	256
#define SANDBOX_DEF_PIDS	128
#define SANDBOX_DEF_FS_MB	64

static const struct sandbox_lang sandbox_langs[] = {
	{ "python", "/usr/bin/python3", "/workspace/main.py" },
	{ "sh", "/bin/sh", "/workspace/main.sh" },
	{ "node", "/usr/bin/node", "/workspace/main.js" },
};

const char *const sandbox_plan_host_paths[SANDBOX_HOST_PATHS + 1] = {
	"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32",
	"etc/ld.so.cache", "etc/ssl/certs", "etc/ssl/openssl.cnf",
	"etc/alternatives", "etc/localtime",
	NULL,
};

const char *const sandbox_plan_etc_names[SANDBOX_ETC_FILES] = {
	[SANDBOX_ETC_PASSWD] = "passwd",
	[SANDBOX_ETC_GROUP] = "group",
	[SANDBOX_ETC_HOSTS] = "hosts",
	[SANDBOX_ETC_HOSTNAME] = "hostname",
	[SANDBOX_ETC_NSSWITCH] = "nsswitch.conf",
	[SANDBOX_ETC_RESOLV] = "resolv.conf",
};

int
sandbox_plan_name_ok(const char *name)
{
	size_t i, n;

	if (name == NULL || (n = strlen(name)) == 0 || n > SANDBOX_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		    (name[i] >= 'A' && name[i] <= 'Z') ||
		    (name[i] >= '0' && name[i] <= '9') ||
		    name[i] == '_' || name[i] == '-'))
			return 0;
	return 1;
}

const struct sandbox_lang *
sandbox_plan_lang(const char *name)
{
	size_t i;

	for (i = 0; name != NULL &&
	    i < sizeof(sandbox_langs) / sizeof(sandbox_langs[0]); i++)
		if (strcmp(name, sandbox_langs[i].name) == 0)
			return &sandbox_langs[i];
	return NULL;
}

static int
sandbox_limit(unsigned int *v, unsigned int def, unsigned int min,
    unsigned int max, const char *what, char *err, size_t errlen)
{
	if (*v == 0)
		*v = def;
	if (*v < min || *v > max)
		return err_set(err, errlen, "%s %u out of range [%u, %u]", what,
		    *v, min, max);
	return 0;
}

int
sandbox_plan_limits(const struct sandbox_limits *in,
    struct sandbox_limits *lim, char *err, size_t errlen)
{
	*lim = *in;
	if (sandbox_limit(&lim->memory_mb, SANDBOX_DEF_MEMORY_MB, 16, 1 << 20,
	    "memory_mb", err, errlen) == -1 ||
	    sandbox_limit(&lim->pids, SANDBOX_DEF_PIDS, 4, 1 << 16, "pids",
	    err, errlen) == -1 ||
	    sandbox_limit(&lim->workspace_mb, SANDBOX_DEF_FS_MB, 1, 1 << 16,
	    "workspace_mb", err, errlen) == -1 ||
	    sandbox_limit(&lim->tmp_mb, SANDBOX_DEF_FS_MB, 1, 1 << 16,
	    "tmp_mb", err, errlen) == -1)
		return -1;
	if (lim->cpu_pct > 100 * 1024)
		return err_set(err, errlen, "cpu_pct %u too large", lim->cpu_pct);
	return 0;
}

void
sandbox_plan_fs_opts(const struct sandbox_limits *lim, uid_t uid, gid_t gid,
    char *ws, size_t wslen, char *tmp, size_t tmplen)
{
	snprintf(ws, wslen, "size=%um,nr_inodes=65536,mode=0700,uid=%u,gid=%u",
	    lim->workspace_mb, (unsigned int)uid, (unsigned int)gid);
	snprintf(tmp, tmplen, "size=%um,nr_inodes=65536,mode=1777",
	    lim->tmp_mb);
}

void
sandbox_plan_env(char *envp[SANDBOX_ENV_MAX], char buf[SANDBOX_ENV_BUF],
    int helpers, int result)
{
	char *b = buf, *end = buf + SANDBOX_ENV_BUF;
	int n = 0;

#define PLAN_ENV(...) do {						\
	envp[n++] = b;							\
	b += snprintf(b, (size_t)(end - b), __VA_ARGS__) + 1;		\
} while (0)
	PLAN_ENV("PATH=/usr/local/bin:/usr/bin:/bin%s",
	    helpers ? ":/opt/enclave" : "");
	PLAN_ENV("HOME=/workspace");
	PLAN_ENV("LANG=C.UTF-8");
	PLAN_ENV("TMPDIR=/tmp");
	PLAN_ENV("PYTHONDONTWRITEBYTECODE=1");
	if (result)
		PLAN_ENV("ENCLAVE_RESULT_FD=%d", SANDBOX_RESULT_FD);
	if (helpers) {
		PLAN_ENV("PYTHONPATH=/opt/enclave");
		PLAN_ENV("NODE_PATH=/opt/enclave");
		/* The trust bundle sessiond puts beside the helpers: the system
		 * roots plus, with service bindings, the appliance's
		 * interception CA; every TLS client a workload may use. */
		PLAN_ENV("SSL_CERT_FILE=" SANDBOX_CA_BUNDLE);
		PLAN_ENV("REQUESTS_CA_BUNDLE=" SANDBOX_CA_BUNDLE);
		PLAN_ENV("NODE_EXTRA_CA_CERTS=" SANDBOX_CA_BUNDLE);
		PLAN_ENV("GIT_SSL_CAINFO=" SANDBOX_CA_BUNDLE);
		PLAN_ENV("CURL_CA_BUNDLE=" SANDBOX_CA_BUNDLE);
	}
#undef PLAN_ENV
	envp[n] = NULL;
}

void
sandbox_plan_etc(uid_t uid, gid_t gid, const char *gateway,
    struct sandbox_etc_file out[SANDBOX_ETC_FILES])
{
	size_t i;

	for (i = 0; i < SANDBOX_ETC_FILES; i++) {
		out[i].name = sandbox_plan_etc_names[i];
		out[i].text[0] = '\0';
	}
	snprintf(out[SANDBOX_ETC_PASSWD].text, SANDBOX_ETC_TEXT_MAX,
	    "root:x:0:0:root:/nonexistent:/usr/sbin/nologin\n"
	    "sandbox:x:%u:%u:sandbox:/workspace:/bin/sh\n",
	    (unsigned int)uid, (unsigned int)gid);
	snprintf(out[SANDBOX_ETC_GROUP].text, SANDBOX_ETC_TEXT_MAX,
	    "root:x:0:\nsandbox:x:%u:\n", (unsigned int)gid);
	snprintf(out[SANDBOX_ETC_HOSTS].text, SANDBOX_ETC_TEXT_MAX,
	    "127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.1.1\t%s\n",
	    SANDBOX_HOSTNAME);
	snprintf(out[SANDBOX_ETC_HOSTNAME].text, SANDBOX_ETC_TEXT_MAX, "%s\n",
	    SANDBOX_HOSTNAME);
	snprintf(out[SANDBOX_ETC_NSSWITCH].text, SANDBOX_ETC_TEXT_MAX,
	    "passwd: files\ngroup: files\nhosts: files dns\n");
	if (gateway != NULL)
		snprintf(out[SANDBOX_ETC_RESOLV].text, SANDBOX_ETC_TEXT_MAX,
		    "nameserver %s\n", gateway);
}

static int
sandbox_check_fd(int fd, const char *what, char *err, size_t errlen)
{
	if (fd >= 0 && fcntl(fd, F_GETFD) == -1)
		return err_set(err, errlen, "%s fd %d: %s", what, fd,
		    strerror(errno));
	return 0;
}

static int
sandbox_validate(const struct sandbox_spec *s, struct sandbox_limits *lim,
    const struct sandbox_lang **lang, char *err, size_t errlen)
{
	if (!sandbox_plan_name_ok(s->name))
		return err_set(err, errlen, "sandbox name must be 1-%d of "
		    "[A-Za-z0-9_-]", SANDBOX_NAME_MAX);
	if (s->netns_path == NULL || s->netns_path[0] != '/')
		return err_set(err, errlen, "netns path must be absolute");
	if ((*lang = sandbox_plan_lang(s->language)) == NULL)
		return err_set(err, errlen, "unknown language (python, sh, node)");
	if (access((*lang)->interp, X_OK) == -1)
		return err_set(err, errlen, "%s is not installed%s",
		    (*lang)->name, errno == ENOENT ? "" : " (not executable)");
	if (s->code == NULL && s->code_len > 0)
		return err_set(err, errlen, "code is NULL");
	if (s->uid == 0 || s->gid == 0 || s->uid == (uid_t)-1 ||
	    s->gid == (gid_t)-1)
		return err_set(err, errlen, "the workload's uid and gid must be "
		    "unprivileged (not 0)");
	if (sandbox_plan_limits(&s->limits, lim, err, errlen) == -1)
		return -1;
	if ((uint64_t)s->code_len > (uint64_t)lim->workspace_mb * 1024 * 1024)
		return err_set(err, errlen, "code larger than the workspace");
	if (sandbox_check_fd(s->stdout_fd, "stdout", err, errlen) == -1 ||
	    sandbox_check_fd(s->stderr_fd, "stderr", err, errlen) == -1 ||
	    sandbox_check_fd(s->result_fd, "result", err, errlen) == -1)
		return -1;
	return 0;
}

static int
plan_build(struct sandbox_plan *p, const struct sandbox_spec *s,
    const struct sandbox_limits *lim, const struct sandbox_lang *lang,
    char *err, size_t errlen)
{
	struct sandbox_etc_file etc[SANDBOX_ETC_FILES];
	unsigned char addr[16];
	char real[PATH_MAX];
	struct stat st;

	p->spec = s;
	p->lang = lang;
	p->lim = *lim;
	p->netfd = p->sync_r = p->err_w = p->status_w = -1;
	p->out_fd = s->stdout_fd;
	p->errout_fd = s->stderr_fd;
	p->result_fd = s->result_fd;
	p->argv[0] = lang->interp;
	p->argv[1] = lang->file;
	p->argv[2] = NULL;
	if (s->helpers_dir != NULL) {
		if (realpath(s->helpers_dir, real) == NULL ||
		    stat(real, &st) == -1)
			return err_set(err, errlen, "helpers %s: %s",
			    s->helpers_dir, strerror(errno));
		if (!S_ISDIR(st.st_mode))
			return err_set(err, errlen, "helpers %s: not a directory",
			    s->helpers_dir);
		snprintf(p->helpers_src, sizeof(p->helpers_src), "%s%s",
		    SANDBOX_OLDROOT, real);
	}
	sandbox_plan_env(p->envp, p->env_buf, s->helpers_dir != NULL,
	    p->result_fd >= 0);
	if (s->gateway != NULL && inet_pton(AF_INET, s->gateway, addr) != 1 &&
	    inet_pton(AF_INET6, s->gateway, addr) != 1)
		return err_set(err, errlen, "gateway is not an address");
	snprintf(p->root_opts, sizeof(p->root_opts),
	    "size=4m,nr_inodes=4096,mode=0755");
	snprintf(p->dev_opts, sizeof(p->dev_opts),
	    "size=64k,nr_inodes=64,mode=0755");
	sandbox_plan_fs_opts(lim, s->uid, s->gid, p->ws_opts,
	    sizeof(p->ws_opts), p->tmp_opts, sizeof(p->tmp_opts));
	/* The child writes hosts, hostname and nsswitch.conf itself. */
	sandbox_plan_etc(s->uid, s->gid, s->gateway, etc);
	snprintf(p->passwd, sizeof(p->passwd), "%s",
	    etc[SANDBOX_ETC_PASSWD].text);
	snprintf(p->group, sizeof(p->group), "%s", etc[SANDBOX_ETC_GROUP].text);
	snprintf(p->resolv, sizeof(p->resolv), "%s",
	    etc[SANDBOX_ETC_RESOLV].text);
	return 0;
}

struct sandbox_plan *
sandbox_plan_new(const struct sandbox_spec *spec, char *err, size_t errlen)
{
	const struct sandbox_lang *lang = NULL;
	struct sandbox_limits lim;
	struct sandbox_plan *p;

	if (sandbox_validate(spec, &lim, &lang, err, errlen) == -1)
		return NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		err_set(err, errlen, "out of memory");
		return NULL;
	}
	if (plan_build(p, spec, &lim, lang, err, errlen) == -1 ||
	    sandbox_seccomp_build(&p->prog, err, errlen) == -1)
		goto fail;
	if ((p->netfd = open(spec->netns_path, O_RDONLY | O_CLOEXEC)) == -1) {
		err_set(err, errlen, "open netns %s: %s", spec->netns_path,
		    strerror(errno));
		goto fail;
	}
	return p;
fail:
	sandbox_plan_free(p);
	return NULL;
}

void
sandbox_plan_free(struct sandbox_plan *p)
{
	if (p == NULL)
		return;
	if (p->netfd != -1)
		close(p->netfd);
	free(p->prog.filter);
	free(p);
}
