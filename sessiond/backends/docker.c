/*
 * The `docker` backend: the workload in a Docker container, driven through
 * the Engine API on its unix socket (sessiond/dockerapi.h).
 *
 * Docker cannot join a named netns, so the container is made with network
 * "none", and its first process (a few lines of sh, running as the
 * workload's uid) blocks on a FIFO in the run dir. While it waits, the
 * session's interface is moved from the session netns into the
 * container's (found through its init's pid), given the session's address
 * and default route, and only then does the launcher hear "go": the
 * workload's first packet already meets the enforcement point.
 *
 * The environment mirrors the namespace sandbox (its plan gives the env,
 * the /etc files, the limits; its seccomp denylist becomes the profile):
 * a read-only root of empty directories, the host's runtime bound
 * read-only, capped tmpfs /workspace and /tmp, no capabilities,
 * no_new_privs, memory/pids/CPU limits, rlimits within ours. The sh
 * launcher stays the container's pid 1, like the sandbox's init: when the
 * workload ends it exits, and the kernel kills what the workload left.
 *
 * The Engine API has no pipe to hand us, so output goes the engine's way:
 * stdout and stderr are read back from the container's log (json-file,
 * capped at DOCKER_LOG_SIZE) after it exits and written to the session's
 * pipes; the workload's fd 3 is a file in the run dir, copied to the
 * result pipe after exit. A waiter thread does the blocking part (the
 * wait, the logs, the copies) and signals an eventfd, so sessiond's event
 * loop never blocks on the engine for longer than one short request.
 * Usage comes from a cgroup made for the run (CgroupParent) that outlives
 * the container's own, so its peak and CPU time can be read after exit.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "netns/link.h"
#include "netns/rtnl.h"
#include "sessiond/backend.h"
#include "sessiond/dockerapi.h"
#include "sessiond/sandbox_cgroup.h"
#include "sessiond/sandbox_plan.h"
#include "sessiond/sdconfig.h"

#define DOCKER_SOCKET		"/run/docker.sock"
#define DOCKER_SOCKET_ALT	"/var/run/docker.sock"
#define DOCKER_IMAGE		"enclave-base:1"
#define DOCKER_PROBE_TTL_MS	3000	/* probe runs on every POST */
#define DOCKER_PING_MS		1000
#define DOCKER_WAIT_SLICE_MS	5000	/* a blocked wait rechecks cancel */
#define DOCKER_WAIT_FAILS	10	/* engine errors before giving up */
#define DOCKER_GO_MS		2000	/* for the launcher to reach its FIFO */
#define DOCKER_LOG_SIZE		"16m"	/* json-file max-size */
#define DOCKER_OUTPUT_MAX	(16u * 1024 * 1024)	/* per stream */
/* One byte over sessiond's result cap, so it sees the truncation. */
#define DOCKER_RESULT_MAX	(1024 * 1024 + 1)
#define DOCKER_NOFILE		256
#define DOCKER_OOM_ADJ		500
#define DOCKER_RUN		"/run/enclave"	/* the run dir, inside */
#define DOCKER_LABEL_BASE	"enclave.base"
#define DOCKER_LABEL_PREFIX	"enclave.prefix"

struct docker_opts {
	char	socket[SDCONFIG_SOCKET_PATH_MAX + 1];
	char	image[128];
	char	repo[128];
	char	tag[64];
};

struct backend_run {
	struct dockerapi api;
	char	 id[DOCKERAPI_ID_MAX + 1];	/* "": not created */
	char	 name[SANDBOX_NAME_MAX + 1];
	char	 run_dir[PATH_MAX - 64];	/* room for its files' names */
	/* SANDBOX_CG_PREFIX name, or "": no cgroup of ours */
	char	 cg_name[SANDBOX_NAME_MAX + 16];
	int	 cg_v2;
	pid_t	 pid;
	int	 out_fd, err_fd, res_fd;	/* the thread's once it runs */
	int	 efd;				/* readable once done */
	pthread_t thread;
	int	 thread_started;
	int	 joined;
	volatile sig_atomic_t cancel;		/* free(): stop waiting */
	int	 done;				/* atomic; the rest is then set */
	int	 wait_errno;
	struct backend_status status;
	struct backend_usage usage;
};

/* What the last probe found, per socket: probe runs on every POST. */
static struct {
	char	 socket[SDCONFIG_SOCKET_PATH_MAX + 1];
	uint64_t at_ms;
	int	 ok;
	char	 reason[400];
	int	 have_info;
	struct dockerapi_info info;
} docker_cache;

/* ------------------------------------------------------------------ */
/* Options                                                              */

static int
docker_name_ok(const char *s, const char *extra)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		    strchr(extra, *s) != NULL))
			return 0;
	return 1;
}

static int
docker_opts(const struct sdconfig *cfg, struct docker_opts *o, char *err,
    size_t errlen)
{
	const char *sock = NULL, *image = DOCKER_IMAGE, *colon;
	size_t i;

	memset(o, 0, sizeof(*o));
	for (i = 0; i < cfg->nbackend_opts; i++) {
		const struct sdconfig_backend_opt *bo = &cfg->backend_opts[i];

		if (strcmp(bo->backend, "docker") != 0)
			continue;
		if (strcmp(bo->key, "socket") == 0)
			sock = bo->value;
		else if (strcmp(bo->key, "image") == 0)
			image = bo->value;
		else
			return err_set(err, errlen, "config: unknown option %s",
			    bo->key);
	}
	if (sock == NULL)
		sock = access(DOCKER_SOCKET, F_OK) == -1 &&
		    access(DOCKER_SOCKET_ALT, F_OK) == 0 ?
		    DOCKER_SOCKET_ALT : DOCKER_SOCKET;
	if (sock[0] != '/' || strlen(sock) >= sizeof(o->socket))
		return err_set(err, errlen, "config: socket must be an absolute "
		    "path of at most %zu bytes", sizeof(o->socket) - 1);
	strcpy(o->socket, sock);
	if (strlen(image) >= sizeof(o->image))
		return err_set(err, errlen, "config: image name too long");
	strcpy(o->image, image);
	/* NAME:TAG of plain characters: it goes into URLs unescaped. */
	colon = strrchr(image, ':');
	if (colon == NULL || (size_t)(colon - image) >= sizeof(o->repo) ||
	    strlen(colon + 1) >= sizeof(o->tag))
		return err_set(err, errlen, "config: image must be NAME:TAG");
	memcpy(o->repo, image, (size_t)(colon - image));
	strcpy(o->tag, colon + 1);
	if (!docker_name_ok(o->repo, "._-") || !docker_name_ok(o->tag, "._-"))
		return err_set(err, errlen, "config: image must be NAME:TAG of "
		    "a-z 0-9 . _ -");
	return 0;
}

/* ------------------------------------------------------------------ */
/* Probe                                                                */

static int
docker_probe(const struct sdconfig *cfg, char *reason, size_t len)
{
	struct docker_opts o;
	struct dockerapi d;
	char e[256];
	uint64_t now = clock_monotonic_ms();

	if (docker_opts(cfg, &o, reason, len) == -1)
		return 0;
	if (geteuid() != 0) {
		err_set(reason, len, "needs root (moving the session's "
		    "interface into the container's netns)");
		return 0;
	}
	if (strcmp(docker_cache.socket, o.socket) == 0 &&
	    now - docker_cache.at_ms < DOCKER_PROBE_TTL_MS) {
		err_set(reason, len, "%s", docker_cache.reason);
		return docker_cache.ok;
	}
	if (strcmp(docker_cache.socket, o.socket) != 0) {
		memset(&docker_cache, 0, sizeof(docker_cache));
		snprintf(docker_cache.socket, sizeof(docker_cache.socket), "%s",
		    o.socket);
	}
	docker_cache.at_ms = now;
	docker_cache.ok = 0;
	if (access(o.socket, F_OK) == -1) {
		snprintf(docker_cache.reason, sizeof(docker_cache.reason),
		    "no Docker engine at %s: connect: %s", o.socket,
		    strerror(errno));
	} else if (dockerapi_init(&d, o.socket, e, sizeof(e)) == -1 ||
	    dockerapi_ping(&d, DOCKER_PING_MS, e, sizeof(e)) == -1) {
		snprintf(docker_cache.reason, sizeof(docker_cache.reason),
		    "no Docker engine at %s: %s", o.socket, e);
	} else {
		docker_cache.ok = 1;
		docker_cache.reason[0] = '\0';
		/* Once per engine: how it makes cgroups decides where the
		 * usage can be read. */
		if (!docker_cache.have_info) {
			if (dockerapi_info(&d, &docker_cache.info, e,
			    sizeof(e)) == 0)
				docker_cache.have_info = 1;
			else
				log_warnx("docker: %s", e);
		}
	}
	err_set(reason, len, "%s", docker_cache.reason);
	return docker_cache.ok;
}

/* ------------------------------------------------------------------ */
/* cgroups: the run's parent cgroup, in every hierarchy the engine uses  */

/* The run's cgroup in the hierarchy of CTRL ("" for v2): the engine
 * makes it at the hierarchy's root. */
static int
docker_cg_dir(const char *ctrl, const char *name, char *out, size_t len)
{
	struct sandbox_cg_hier h;

	out[0] = '\0';
	if (sandbox_cg_hier(ctrl, &h) == -1 || !h.root)
		return -1;
	return (size_t)snprintf(out, len, "%s/%s", h.mnt, name) < len ? 0 : -1;
}

/* CPU time and peak memory of the run's cgroup, container or not. */
static int
docker_cg_usage(const struct backend_run *run, struct backend_usage *u)
{
	char mem[PATH_MAX], cpu[PATH_MAX];
	uint64_t v;
	int rc = 0;

	memset(u, 0, sizeof(*u));
	if (run->cg_name[0] == '\0') {
		errno = ENOENT;
		return -1;
	}
	if (run->cg_v2) {
		if (docker_cg_dir("", run->cg_name, mem, sizeof(mem)) == -1)
			return -1;
		if (sandbox_cg_read_u64(mem, "cpu.stat", "usage_usec", &v) == 0)
			u->cpu_ms = v / 1000;
		else
			rc = -1;
		/* memory.peak needs Linux 5.19. */
		if (sandbox_cg_read_u64(mem, "memory.peak", NULL, &v) == 0)
			u->mem_peak_bytes = v;
		return rc;
	}
	if (docker_cg_dir("cpuacct", run->cg_name, cpu, sizeof(cpu)) == 0 &&
	    sandbox_cg_read_u64(cpu, "cpuacct.usage", NULL, &v) == 0)
		u->cpu_ms = v / 1000000;
	else
		rc = -1;
	if (docker_cg_dir("memory", run->cg_name, mem, sizeof(mem)) == 0 &&
	    sandbox_cg_read_u64(mem, "memory.max_usage_in_bytes", NULL,
	    &v) == 0)
		u->mem_peak_bytes = v;
	else
		rc = -1;
	return rc;
}

/* ------------------------------------------------------------------ */
/* The run dir and the base image                                       */

static int
docker_write_file(const char *dir, const char *name, const void *data,
    size_t len, mode_t mode, char *err, size_t errlen)
{
	char path[PATH_MAX];
	const char *p = data;
	ssize_t n;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path))
		return err_set(err, errlen, "run dir: path too long");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1)
		return err_set(err, errlen, "create %s: %s", path,
		    strerror(errno));
	while (len > 0) {
		if ((n = write(fd, p, len)) == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			err_set(err, errlen, "write %s: %s", path,
			    strerror(n == -1 ? errno : EIO));
			close(fd);
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	/* fchmod: the daemon's umask must not decide what the workload reads. */
	if (fchmod(fd, mode) == -1 || close(fd) == -1)
		return err_set(err, errlen, "chmod %s: %s", path,
		    strerror(errno));
	return 0;
}

/*
 * The launcher: wait for "go", put the code in place, run the
 * interpreter with fd 3 on the result file, exit with its status. It
 * stays pid 1 (the workload is its child), so the workload's leftovers
 * die with it. Its own stderr goes nowhere: sh reports a killed child
 * there ("Killed"), which the namespace sandbox's init never does; the
 * workload gets the real one back in its subshell.
 */
static int
docker_launcher(const struct sandbox_plan *p, int result, char *buf,
    size_t len)
{
	return (size_t)snprintf(buf, len,
	    "exec 4>&2 2>/dev/null\n"
	    "IFS= read -r go <" DOCKER_RUN "/go || exit 125\n"
	    "[ \"$go\" = go ] || exit 125\n"
	    "unset HOSTNAME PWD OLDPWD\n"
	    "cat " DOCKER_RUN "/code >%s || exit 125\n"
	    "(exec 2>&4 4>&- </dev/null %s; exec %s %s)\n"
	    "exit $?\n",
	    p->lang->file, result ? "3>" DOCKER_RUN "/result" : "3>&-",
	    p->lang->interp, p->lang->file) < len ? 0 : -1;
}

/* The code, the result file, the FIFO and the sandbox's /etc files, for
 * SPEC as the sandbox plan has checked it. */
static int
docker_run_dir(const struct backend_spec *spec, char *err, size_t errlen)
{
	struct sandbox_etc_file etc[SANDBOX_ETC_FILES];
	const char *dir = spec->run_dir;
	char path[PATH_MAX];
	size_t i;

	/* Root's and 0755: the workload writes its result and nothing else. */
	if (chmod(dir, 0755) == -1 ||
	    (size_t)snprintf(path, sizeof(path), "%s/etc", dir) >= sizeof(path) ||
	    mkdir(path, 0755) == -1 || chmod(path, 0755) == -1)
		return err_set(err, errlen, "mkdir %s/etc: %s", dir,
		    strerror(errno));
	if (docker_write_file(dir, "code", spec->code, spec->code_len, 0644,
	    err, errlen) == -1)
		return -1;
	/* All of them, resolv.conf empty without a gateway: the engine's
	 * copy would name the host's resolvers. */
	sandbox_plan_etc(spec->uid, spec->gid, spec->gateway, etc);
	for (i = 0; i < SANDBOX_ETC_FILES; i++)
		if (docker_write_file(path, etc[i].name, etc[i].text,
		    strlen(etc[i].text), 0644, err, errlen) == -1)
			return -1;
	if (docker_write_file(dir, "result", "", 0, 0600, err, errlen) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/result", dir);
	if (chown(path, spec->uid, spec->gid) == -1)
		return err_set(err, errlen, "chown %s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/go", dir);
	if (mkfifo(path, 0600) == -1 || chmod(path, 0644) == -1)
		return err_set(err, errlen, "mkfifo %s: %s", path,
		    strerror(errno));
	return 0;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if ((flag == FTW_DP ? rmdir(path) : unlink(path)) == -1 &&
	    errno != ENOENT)
		log_warn("docker: remove %s", path);
	return 0;
}

/* One entry of the host's tree as the image has it: a directory the run
 * binds over, a symlink recreated, a file to bind over, or nothing. */
static int
docker_tar_host(struct dockerapi_tar *t, const char *rel, int required)
{
	char src[PATH_MAX], link[PATH_MAX];
	struct stat st;
	ssize_t n;

	snprintf(src, sizeof(src), "/%s", rel);
	if (lstat(src, &st) == -1)
		return required ? dockerapi_tar_dir(t, rel, 0755) : 0;
	if (S_ISLNK(st.st_mode)) {
		if ((n = readlink(src, link, sizeof(link) - 1)) == -1)
			return -1;
		link[n] = '\0';
		return dockerapi_tar_symlink(t, rel, link);
	}
	if (S_ISDIR(st.st_mode))
		return dockerapi_tar_dir(t, rel, 0755);
	if (S_ISREG(st.st_mode))
		return dockerapi_tar_file(t, rel, 0644, "", 0);
	return 0;
}

/*
 * The base image: empty mount points, the host's runtime symlinks, the
 * /etc placeholders. Built from this host's layout each time, and told
 * apart by its digest (a label), so a changed host gets a fresh image.
 */
static int
docker_base_tar(struct dockerapi_tar *t, char *digest, size_t dlen)
{
	static const struct { const char *name; mode_t mode; } dirs[] = {
		{ "workspace", 0700 }, { "tmp", 01777 }, { "opt", 0755 },
		{ "opt/enclave", 0755 }, { "proc", 0555 }, { "dev", 0755 },
		{ "sys", 0555 }, { "run", 0755 }, { "run/enclave", 0755 },
		{ "etc", 0755 }, { "etc/ssl", 0755 },
	};
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	char name[64];
	size_t k;
	int rc = 0;

	dockerapi_tar_init(t);
	for (k = 0; rc == 0 && k < sizeof(dirs) / sizeof(dirs[0]); k++)
		rc = dockerapi_tar_dir(t, dirs[k].name, dirs[k].mode);
	for (k = 0; rc == 0 && sandbox_plan_host_paths[k] != NULL; k++)
		rc = docker_tar_host(t, sandbox_plan_host_paths[k], k == 0);
	/* Placeholders: each run binds its own over them. */
	for (k = 0; rc == 0 && k < SANDBOX_ETC_FILES; k++) {
		snprintf(name, sizeof(name), "etc/%s",
		    sandbox_plan_etc_names[k]);
		rc = dockerapi_tar_file(t, name, 0644, "", 0);
	}
	if (rc == 0)
		rc = dockerapi_tar_finish(t);
	if (rc == 0 && EVP_Digest(t->buf, t->len, md, &mdlen, EVP_sha256(),
	    NULL) != 1)
		rc = -1;
	for (i = 0; rc == 0 && i < 8 && (size_t)(2 * i + 2) < dlen; i++)
		snprintf(digest + 2 * i, 3, "%02x", md[i]);
	if (rc == -1)
		dockerapi_tar_free(t);
	return rc;
}

/* Import the base image unless the engine has this very one. */
static int
docker_image(const struct dockerapi *d, const struct docker_opts *o,
    char *err, size_t errlen)
{
	struct dockerapi_tar t;
	char want[32] = "", have[64];
	int rc;

	if (docker_base_tar(&t, want, sizeof(want)) == -1)
		return err_set(err, errlen, "base image: %s", strerror(errno));
	rc = dockerapi_image_label(d, o->image, DOCKER_LABEL_BASE, have,
	    sizeof(have), err, errlen);
	if (rc == 0 && strcmp(have, want) == 0) {
		dockerapi_tar_free(&t);
		return 0;
	}
	if (rc != -1) {
		rc = dockerapi_image_import(d, o->repo, o->tag, DOCKER_LABEL_BASE,
		    want, t.buf, t.len, err, errlen);
		if (rc == 0)
			log_info("docker: imported %s (base %s)", o->image, want);
	}
	dockerapi_tar_free(&t);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Create, start, network                                               */

static void
docker_mount(struct dockerapi_create *c, const char *src, const char *dst,
    int ro)
{
	if (c->nmounts == DOCKERAPI_MOUNTS_MAX)
		return;
	c->mounts[c->nmounts].source = src;
	c->mounts[c->nmounts].target = dst;
	c->mounts[c->nmounts].readonly = ro;
	c->nmounts++;
}

static void
docker_ulimit(struct dockerapi_create *c, const char *name, int res,
    uint64_t v)
{
	struct rlimit rl;

	/* Never more than sessiond holds itself. */
	if (getrlimit(res, &rl) == 0 && rl.rlim_max != RLIM_INFINITY &&
	    v > (uint64_t)rl.rlim_max)
		v = (uint64_t)rl.rlim_max;
	c->ulimits[c->nulimits].name = name;
	c->ulimits[c->nulimits].soft = v;
	c->ulimits[c->nulimits].hard = v;
	c->nulimits++;
}

/* Strings the create body borrows, kept together for one free. */
struct docker_paths {
	char	 host[SANDBOX_HOST_PATHS][32];
	char	 etcf[SANDBOX_ETC_FILES][2][PATH_MAX];
	char	 ws[160], tmp[128], cgp[SANDBOX_NAME_MAX + 32];
	char	 launcher[1024];
};

static char *
docker_body(const struct backend_spec *spec, const struct docker_opts *o,
    const char *prefix, const struct sandbox_plan *p,
    struct backend_run *run, struct docker_paths *dp, const char *seccomp)
{
	const char *cmd[4] = { "/bin/sh", "-c", dp->launcher, NULL };
	struct dockerapi_create c;
	struct stat st;
	size_t i;

	memset(&c, 0, sizeof(c));
	if (docker_launcher(p, spec->result_fd >= 0, dp->launcher,
	    sizeof(dp->launcher)) == -1) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	c.image = o->image;
	c.cmd = cmd;
	c.env = (char *const *)p->envp;
	c.uid = spec->uid;
	c.gid = spec->gid;
	c.hostname = SANDBOX_HOSTNAME;
	c.workdir = "/workspace";
	for (i = 0; sandbox_plan_host_paths[i] != NULL; i++) {
		snprintf(dp->host[i], sizeof(dp->host[i]), "/%s",
		    sandbox_plan_host_paths[i]);
		/* Symlinks are in the image, as the sandbox recreates them. */
		if (lstat(dp->host[i], &st) == 0 &&
		    (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)))
			docker_mount(&c, dp->host[i], dp->host[i], 1);
	}
	if (p->helpers_src[0] != '\0')
		docker_mount(&c, p->helpers_src + strlen(SANDBOX_OLDROOT),
		    "/opt/enclave", 1);
	docker_mount(&c, spec->run_dir, DOCKER_RUN, 0);
	for (i = 0; i < SANDBOX_ETC_FILES; i++) {
		snprintf(dp->etcf[i][0], PATH_MAX, "%s/etc/%s", spec->run_dir,
		    sandbox_plan_etc_names[i]);
		snprintf(dp->etcf[i][1], PATH_MAX, "/etc/%s",
		    sandbox_plan_etc_names[i]);
		docker_mount(&c, dp->etcf[i][0], dp->etcf[i][1], 1);
	}
	/* The sandbox's tmpfs options, plus what Docker's defaults differ in. */
	snprintf(dp->ws, sizeof(dp->ws), "rw,exec,nosuid,nodev,%s", p->ws_opts);
	snprintf(dp->tmp, sizeof(dp->tmp), "rw,exec,nosuid,nodev,%s",
	    p->tmp_opts);
	c.workspace_opts = dp->ws;
	c.tmp_opts = dp->tmp;
	c.memory_bytes = (uint64_t)p->lim.memory_mb * 1024 * 1024;
	c.pids = p->lim.pids;
	c.nano_cpus = (uint64_t)p->lim.cpu_pct * 10000000ULL;
	c.oom_score_adj = DOCKER_OOM_ADJ;
	docker_ulimit(&c, "nofile", RLIMIT_NOFILE, DOCKER_NOFILE);
	docker_ulimit(&c, "fsize", RLIMIT_FSIZE,
	    (uint64_t)p->lim.workspace_mb * 1024 * 1024);
	docker_ulimit(&c, "core", RLIMIT_CORE, 0);
	if (run->cg_name[0] != '\0') {
		snprintf(dp->cgp, sizeof(dp->cgp), "/%s", run->cg_name);
		c.cgroup_parent = dp->cgp;
	}
	/* The interface arrives with the netns's defaults: IPv6 off, as in
	 * the session netns, or it would solicit routers at the gateway. */
	c.ipv6_off = access("/proc/sys/net/ipv6", F_OK) == 0;
	c.log_max_size = DOCKER_LOG_SIZE;
	c.label_prefix = prefix;
	c.seccomp = seccomp;
	return dockerapi_create_body(&c);
}

/*
 * The container's netns through its init's /proc entry, checked to be
 * that container's (its cgroup names the id) and not one of ours.
 */
static int
docker_netns(struct backend_run *run, const struct sandbox_plan *p,
    char *err, size_t errlen)
{
	char path[64], buf[4096];
	struct stat a, b, c;
	ssize_t n;
	int dfd, fd, nsfd = -1;

	snprintf(path, sizeof(path), "/proc/%d", (int)run->pid);
	if ((dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return err_set(err, errlen, "open %s: %s", path, strerror(errno));
	if ((fd = openat(dfd, "cgroup", O_RDONLY | O_CLOEXEC)) == -1 ||
	    (n = read(fd, buf, sizeof(buf) - 1)) <= 0) {
		err_set(err, errlen, "read %s/cgroup: %s", path,
		    strerror(errno ? errno : EIO));
		goto out;
	}
	buf[n] = '\0';
	if (strstr(buf, run->id) == NULL) {
		err_set(err, errlen, "pid %d is not the container's init",
		    (int)run->pid);
		goto out;
	}
	if ((nsfd = openat(dfd, "ns/net", O_RDONLY | O_CLOEXEC)) == -1) {
		err_set(err, errlen, "open %s/ns/net: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(nsfd, &a) == -1 || fstat(p->netfd, &b) == -1 ||
	    stat("/proc/self/ns/net", &c) == -1 ||
	    (a.st_dev == b.st_dev && a.st_ino == b.st_ino) ||
	    (a.st_dev == c.st_dev && a.st_ino == c.st_ino)) {
		err_set(err, errlen, "the container has no netns of its own");
		close(nsfd);
		nsfd = -1;
	}
out:
	if (fd != -1)
		close(fd);
	close(dfd);
	return nsfd;
}

/* The session's interface into the container, as it was in its netns. */
static int
docker_net(const struct backend_spec *spec, int sess_nsfd, int cnsfd,
    char *err, size_t errlen)
{
	struct rtnl r;
	int rc, idx;

	if ((rc = rtnl_open(&r, sess_nsfd)) < 0)
		return err_set(err, errlen, "rtnetlink in %s: %s",
		    spec->netns_name, strerror(-rc));
	rc = link_move(&r, spec->sess_if, cnsfd, err, errlen);
	rtnl_close(&r);
	if (rc < 0)
		return -1;
	if ((rc = rtnl_open(&r, cnsfd)) < 0)
		return err_set(err, errlen, "rtnetlink in the container: %s",
		    strerror(-rc));
	if (link_up(&r, 0, "lo", err, errlen) < 0 ||
	    link_index(&r, spec->sess_if, &idx, err, errlen) < 0 ||
	    link_addr_add(&r, idx, spec->sess_if, &spec->sess_addr,
	    spec->prefixlen, err, errlen) < 0 ||
	    link_up(&r, idx, spec->sess_if, err, errlen) < 0 ||
	    link_route_default(&r, idx, spec->sess_if, &spec->gateway_addr,
	    err, errlen) < 0)
		rc = -1;
	rtnl_close(&r);
	return rc < 0 ? -1 : 0;
}

/* Tell the launcher to go; it is blocked opening the FIFO for reading. */
static int
docker_go(const struct backend_run *run, char *err, size_t errlen)
{
	uint64_t deadline = clock_monotonic_ms() + DOCKER_GO_MS;
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/go", run->run_dir);
	for (;;) {
		fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd != -1 || errno != ENXIO ||
		    clock_monotonic_ms() >= deadline)
			break;
		usleep(2000);	/* no reader yet: the launcher is starting */
	}
	if (fd == -1)
		return err_set(err, errlen, "launcher: %s", errno == ENXIO ?
		    "never waited for go" : strerror(errno));
	n = write(fd, "go\n", 3);
	close(fd);
	if (n != 3)
		return err_set(err, errlen, "launcher: write go: %s",
		    n == -1 ? strerror(errno) : "short write");
	return 0;
}

/* ------------------------------------------------------------------ */
/* The waiter thread                                                    */

struct docker_sink {
	int	 fd[3];
	size_t	 left[3];
};

static int
docker_write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
docker_frame(enum dockerapi_stream s, const char *data, size_t len,
    void *arg)
{
	struct docker_sink *k = arg;

	if (s == DOCKERAPI_STDIN || k->fd[s] == -1)
		return 0;
	if (len > k->left[s])
		len = k->left[s];
	k->left[s] -= len;
	/* EPIPE: the session stopped reading; drop the rest of it. */
	if (len > 0 && docker_write_all(k->fd[s], data, len) == -1)
		k->fd[s] = -1;
	return 0;
}

static void
docker_copy_logs(struct backend_run *run)
{
	struct docker_sink k = {
		{ -1, run->out_fd, run->err_fd },
		{ 0, DOCKER_OUTPUT_MAX, DOCKER_OUTPUT_MAX },
	};
	char *buf = NULL, e[256];
	size_t len = 0, used;

	if (run->out_fd == -1 && run->err_fd == -1)
		return;
	if (dockerapi_container_logs(&run->api, run->id, &buf, &len, e,
	    sizeof(e)) != 0) {
		log_warnx("docker %s: %s", run->name, e);
		return;
	}
	if (dockerapi_logs_demux(buf, len, &used, docker_frame, &k, e,
	    sizeof(e)) == -1)
		log_warnx("docker %s: logs: %s", run->name, e);
	free(buf);
}

/* The result file, capped, to the session's result pipe. */
static void
docker_copy_result(struct backend_run *run)
{
	char path[PATH_MAX], buf[65536];
	size_t total = 0;
	struct stat st;
	ssize_t n;
	int fd;

	if (run->res_fd == -1)
		return;
	snprintf(path, sizeof(path), "%s/result", run->run_dir);
	/* The workload owns the file: nothing but a regular file is read. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1 || fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		if (fd != -1)
			close(fd);
		return;
	}
	while (total < DOCKER_RESULT_MAX) {
		size_t want = DOCKER_RESULT_MAX - total;

		if (want > sizeof(buf))
			want = sizeof(buf);
		if ((n = read(fd, buf, want)) == -1 && errno == EINTR)
			continue;
		if (n <= 0 || docker_write_all(run->res_fd, buf, (size_t)n) == -1)
			break;
		total += (size_t)n;
	}
	close(fd);
}

static void
docker_close_fds(struct backend_run *run)
{
	if (run->out_fd != -1)
		close(run->out_fd);
	if (run->err_fd != -1)
		close(run->err_fd);
	if (run->res_fd != -1)
		close(run->res_fd);
	run->out_fd = run->err_fd = run->res_fd = -1;
}

static int
docker_cancelled(struct backend_run *run)
{
	return __atomic_load_n(&run->cancel, __ATOMIC_ACQUIRE) != 0;
}

/* 0 with its exit code once it is not running, -1 (errno) if unknowable. */
static int
docker_wait_exit(struct backend_run *run, int *code)
{
	struct dockerapi_state st;
	char e[256];
	int fails = 0, rc;

	while (!docker_cancelled(run)) {
		rc = dockerapi_container_wait(&run->api, run->id,
		    DOCKER_WAIT_SLICE_MS, &run->cancel, code, e, sizeof(e));
		if (rc == 0)
			return 0;
		if (rc == 1)
			break;		/* removed under us */
		/* A slice ran out, or the engine hiccupped: ask again. */
		rc = dockerapi_container_inspect(&run->api, run->id, &st, e,
		    sizeof(e));
		if (rc == 0 && !st.running) {
			*code = st.exit_code;
			return 0;
		}
		if (rc == 1)
			break;
		if (rc == -1 && ++fails >= DOCKER_WAIT_FAILS) {
			log_warnx("docker %s: cannot wait: %s", run->name, e);
			errno = EIO;
			return -1;
		}
		if (rc == -1)
			usleep(200000);
	}
	*code = 128 + SIGKILL;	/* gone or given up on: it ran no further */
	return 0;
}

static void *
docker_waiter(void *arg)
{
	struct backend_run *run = arg;
	struct backend_status *s = &run->status;
	struct dockerapi_state st;
	char e[256];
	uint64_t one = 1;
	int code = 0;

	if (docker_wait_exit(run, &code) == -1) {
		run->wait_errno = errno;
		goto done;
	}
	if (!docker_cancelled(run) && dockerapi_container_inspect(&run->api,
	    run->id, &st, e, sizeof(e)) == 0) {
		code = st.exit_code;
		s->oom = st.oom_killed;
	}
	/* sh reports a death by signal N as 128 + N, and so does the engine
	 * for its pid 1; an exit(130..192) reads the same (documented). */
	if (code > 128 && code < 128 + 65) {
		s->signal = code - 128;
	} else {
		s->exited = 1;
		s->exit_code = code;
	}
	/* Read before free() removes the cgroup. */
	(void)docker_cg_usage(run, &run->usage);
	if (!docker_cancelled(run)) {
		docker_copy_logs(run);
		docker_copy_result(run);
	}
done:
	/* EOF on the session's pipes: its captures end here. */
	docker_close_fds(run);
	__atomic_store_n(&run->done, 1, __ATOMIC_RELEASE);
	(void)write(run->efd, &one, sizeof(one));
	return NULL;
}

static int
docker_thread(struct backend_run *run, char *err, size_t errlen)
{
	sigset_t all, old;
	int rc;

	/* Signals stay with the event loop's thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&run->thread, NULL, docker_waiter, run);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return err_set(err, errlen, "waiter thread: %s", strerror(rc));
	run->thread_started = 1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The vtable                                                           */

static int docker_free(struct backend_run *run);

static int
docker_create(struct backend_run *run, const struct backend_spec *spec,
    const struct docker_opts *o, const char *prefix,
    const struct sandbox_plan *p, char *err, size_t errlen)
{
	struct docker_paths *dp;
	char *seccomp = NULL, *body = NULL, e[256];
	int rc = -1, tries;

	if ((dp = calloc(1, sizeof(*dp))) == NULL ||
	    (seccomp = dockerapi_seccomp_profile()) == NULL ||
	    (body = docker_body(spec, o, prefix, p, run, dp, seccomp)) == NULL) {
		err_set(err, errlen, "create body: %s", strerror(errno));
		goto out;
	}
	for (tries = 0; tries < 2; tries++) {
		rc = dockerapi_container_create(&run->api, spec->name, body,
		    run->id, sizeof(run->id), err, errlen);
		if (rc != 1)
			break;
		/* A container by this name is a dead run's (names are
		 * session ids): it goes. */
		if (dockerapi_container_remove(&run->api, spec->name, e,
		    sizeof(e)) == -1) {
			err_set(err, errlen, "%s", e);
			break;
		}
		log_info("docker: removed a stale container %s", spec->name);
	}
	if (rc != 0)
		rc = -1;
out:
	free(body);
	free(seccomp);
	free(dp);
	return rc;
}

static int
docker_start(const struct sdconfig *cfg, const struct backend_spec *spec,
    struct backend_run **out, char *err, size_t errlen)
{
	struct sandbox_spec s;
	struct sandbox_plan *p = NULL;
	struct backend_run *run;
	struct docker_opts o;
	struct dockerapi_state st;
	int cnsfd = -1, rc;

	*out = NULL;
	if (docker_opts(cfg, &o, err, errlen) == -1)
		return -1;
	memset(&s, 0, sizeof(s));
	s.name = spec->name;
	s.netns_path = spec->netns_path;
	s.language = spec->language;
	s.code = spec->code;
	s.code_len = spec->code_len;
	s.limits = spec->limits;
	s.uid = spec->uid;
	s.gid = spec->gid;
	s.gateway = spec->gateway;
	s.helpers_dir = spec->helpers_dir;
	s.stdout_fd = spec->stdout_fd;
	s.stderr_fd = spec->stderr_fd;
	s.result_fd = spec->result_fd;
	/* The namespace sandbox's checks, defaults, env and /etc files. */
	if ((p = sandbox_plan_new(&s, err, errlen)) == NULL)
		return -1;
	if ((run = calloc(1, sizeof(*run))) == NULL) {
		sandbox_plan_free(p);
		return err_set(err, errlen, "out of memory");
	}
	run->out_fd = run->err_fd = run->res_fd = run->efd = -1;
	snprintf(run->name, sizeof(run->name), "%s", spec->name);
	if (dockerapi_init(&run->api, o.socket, err, errlen) == -1)
		goto fail;
	if ((size_t)snprintf(run->run_dir, sizeof(run->run_dir), "%s",
	    spec->run_dir) >= sizeof(run->run_dir)) {
		err_set(err, errlen, "run dir too long");
		goto fail;
	}
	if ((run->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1) {
		err_set(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	if (mkdir(run->run_dir, 0755) == -1) {
		err_set(err, errlen, "mkdir %s: %s", run->run_dir,
		    strerror(errno));
		/* A directory we did not make is not ours to remove. */
		run->run_dir[0] = '\0';
		goto fail;
	}
	if (docker_run_dir(spec, err, errlen) == -1)
		goto fail;
	if (docker_image(&run->api, &o, err, errlen) == -1)
		goto fail;
	/* A cgroup of our own outlives the container's, for the usage. */
	if (docker_cache.have_info &&
	    strcmp(docker_cache.info.cgroup_driver, "cgroupfs") == 0) {
		snprintf(run->cg_name, sizeof(run->cg_name), "%s%s",
		    SANDBOX_CG_PREFIX, run->name);
		run->cg_v2 = docker_cache.info.cgroup_version == 2;
	}
	if (docker_create(run, spec, &o, cfg->name_prefix, p, err,
	    errlen) == -1 ||
	    dockerapi_container_start(&run->api, run->id, err, errlen) == -1)
		goto fail;
	if ((rc = dockerapi_container_inspect(&run->api, run->id, &st, err,
	    errlen)) == -1)
		goto fail;
	/* It waits for go: anything else means it never got that far. */
	if (rc == 1 || !st.running || st.pid <= 0) {
		err_set(err, errlen, "the container is not running (exit code "
		    "%d)", st.exit_code);
		goto fail;
	}
	run->pid = st.pid;
	if ((cnsfd = docker_netns(run, p, err, errlen)) == -1 ||
	    docker_net(spec, p->netfd, cnsfd, err, errlen) == -1)
		goto fail;
	close(cnsfd);
	cnsfd = -1;
	if ((run->out_fd = spec->stdout_fd >= 0 ? fcntl(spec->stdout_fd,
	    F_DUPFD_CLOEXEC, 3) : -1) == -1 && spec->stdout_fd >= 0)
		goto fail_dup;
	if ((run->err_fd = spec->stderr_fd >= 0 ? fcntl(spec->stderr_fd,
	    F_DUPFD_CLOEXEC, 3) : -1) == -1 && spec->stderr_fd >= 0)
		goto fail_dup;
	if ((run->res_fd = spec->result_fd >= 0 ? fcntl(spec->result_fd,
	    F_DUPFD_CLOEXEC, 3) : -1) == -1 && spec->result_fd >= 0)
		goto fail_dup;
	if (docker_go(run, err, errlen) == -1)
		goto fail;
	/* After go: a waiter that might fill a pipe nobody reads yet must
	 * never be joined from here. */
	if (docker_thread(run, err, errlen) == -1)
		goto fail;
	sandbox_plan_free(p);
	*out = run;
	return 0;
fail_dup:
	err_set(err, errlen, "dup: %s", strerror(errno));
fail:
	if (cnsfd != -1)
		close(cnsfd);
	sandbox_plan_free(p);
	if (docker_free(run) == -1)
		log_warnx("docker %s: a failed start left objects behind",
		    spec->name);
	return -1;
}

static int
docker_wait_fd(const struct backend_run *run)
{
	return run->efd;
}

static int
docker_wait(struct backend_run *run, struct backend_status *st)
{
	uint64_t v;

	if (!__atomic_load_n(&run->done, __ATOMIC_ACQUIRE))
		return 1;
	if (!run->joined) {
		(void)read(run->efd, &v, sizeof(v));
		pthread_join(run->thread, NULL);
		run->joined = 1;
	}
	if (run->wait_errno != 0) {
		errno = run->wait_errno;
		return -1;
	}
	*st = run->status;
	return 0;
}

static int
docker_kill(struct backend_run *run)
{
	char e[256];

	if (run->id[0] == '\0' || __atomic_load_n(&run->done, __ATOMIC_ACQUIRE))
		return 0;
	if (dockerapi_container_kill(&run->api, run->id, "SIGKILL", e,
	    sizeof(e)) == -1) {
		log_warnx("docker %s: %s", run->name, e);
		return -1;
	}
	return 0;
}

static int
docker_usage(struct backend_run *run, struct backend_usage *u)
{
	if (__atomic_load_n(&run->done, __ATOMIC_ACQUIRE)) {
		*u = run->usage;
		return 0;
	}
	return docker_cg_usage(run, u);
}

static int
docker_free(struct backend_run *run)
{
	char e[256];
	int rc = 0, tries;

	if (run == NULL)
		return 0;
	__atomic_store_n(&run->cancel, 1, __ATOMIC_RELEASE);
	/* Kill first: the waiter's wait then returns and it sees cancel. */
	if (run->id[0] != '\0')
		(void)docker_kill(run);
	if (run->thread_started && !run->joined) {
		pthread_join(run->thread, NULL);
		run->joined = 1;
	}
	docker_close_fds(run);
	for (tries = 0; run->id[0] != '\0' && tries < 3; tries++) {
		if (dockerapi_container_remove(&run->api, run->id, e,
		    sizeof(e)) == 0)
			break;
		/* 409: a removal already in progress; it may just finish. */
		log_warnx("docker %s: %s", run->name, e);
		usleep(100000);
	}
	if (run->id[0] != '\0' && tries == 3)
		rc = -1;
	/* Ours, in every hierarchy the engine made it in, and what the
	 * engine left below it; waiting while its last tasks go. */
	if (run->cg_name[0] != '\0' &&
	    sandbox_cg_sweep(run->name, SANDBOX_CG_AT_ROOT, NULL) == -1)
		rc = -1;
	if (run->run_dir[0] != '\0') {
		(void)nftw(run->run_dir, rm_one, 16,
		    FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
		if (access(run->run_dir, F_OK) == 0)
			rc = -1;
	}
	if (run->efd != -1)
		close(run->efd);
	free(run);
	return rc;
}

struct docker_sweep {
	const struct dockerapi *api;
	char	 want[SDCONFIG_PREFIX_MAX + 8];	/* "PREFIX-ses_" */
	unsigned int removed;
};

static int
docker_sweep_cb(const char *id, const char *name, void *arg)
{
	struct docker_sweep *w = arg;
	char e[256];

	if (dockerapi_container_remove(w->api, id, e, sizeof(e)) == -1)
		log_warnx("docker: sweep: %s", e);
	else {
		log_info("docker: removed container %s of a previous run", name);
		w->removed++;
	}
	return 0;
}

static void
docker_sweep(const struct sdconfig *cfg, const char *prefix)
{
	struct docker_sweep w;
	struct docker_opts o;
	struct dockerapi d;
	unsigned int cgs = 0;
	char e[256];

	if (docker_opts(cfg, &o, e, sizeof(e)) == -1) {
		log_warnx("docker: sweep: %s", e);
		return;
	}
	memset(&w, 0, sizeof(w));
	snprintf(w.want, sizeof(w.want), "%s-ses_", prefix);
	/* No engine, no containers: quietly nothing to do. */
	if (access(o.socket, F_OK) == 0 &&
	    dockerapi_init(&d, o.socket, e, sizeof(e)) == 0) {
		w.api = &d;
		/* Label and name: another appliance's runs stay. */
		if (dockerapi_container_list(&d, DOCKER_LABEL_PREFIX, prefix,
		    w.want, docker_sweep_cb, &w, e, sizeof(e)) == -1)
			log_warnx("docker: sweep: %s", e);
	}
	/* One try each: what a removed container left is empty, and a busy
	 * one (its engine gone) must not hold up the daemon's start. */
	(void)sandbox_cg_sweep(w.want, SANDBOX_CG_PREFIXED |
	    SANDBOX_CG_AT_ROOT | SANDBOX_CG_ONCE, &cgs);
	if (cgs > 0)
		log_info("docker: removed %u cgroups of a previous run", cgs);
}

const struct session_backend backend_docker = {
	.name = "docker",
	.isolation = "container (host kernel); Docker is a dev convenience, "
	    "not a boundary — the allowlist is still enforced by the appliance",
	.probe = docker_probe,
	.start = docker_start,
	.wait_fd = docker_wait_fd,
	.wait = docker_wait,
	.kill = docker_kill,
	.usage = docker_usage,
	.free = docker_free,
	.sweep = docker_sweep,
};
