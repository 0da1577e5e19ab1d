/*
 * config.json for one workload run: the namespace sandbox's root, ids,
 * environment, limits and seccomp denylist, said in the OCI runtime spec;
 * and that seccomp section alone, which is also Docker's profile. See
 * oci_bundle.h.
 */
#include <config.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "common/err.h"
#include "sessiond/oci_bundle.h"
#include "sessiond/sandbox_seccomp.h"

#define OCI_NOFILE		256	/* sandbox_child.c's SANDBOX_NOFILE */
#define OCI_OOM_SCORE_ADJ	500	/* the workload goes first */
#define OCI_MIB			(1024ULL * 1024)
#define OCI_NELEM(a)		(sizeof(a) / sizeof((a)[0]))
#define OCI_EXPOSE_REL_MAX	255

#if defined(__x86_64__)
#define OCI_SCMP_ARCH	"SCMP_ARCH_X86_64"
#elif defined(__aarch64__)
#define OCI_SCMP_ARCH	"SCMP_ARCH_AARCH64"
#else
#error "oci_bundle: add this architecture's SCMP_ARCH name"
#endif

/* runc's default maskedPaths and readonlyPaths (`runc spec`). */
static const char *const oci_masked[] = {
	"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
	"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
	"/proc/sched_debug", "/sys/firmware", "/proc/scsi",
};
static const char *const oci_readonly[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
	"/proc/sysrq-trigger",
};

static int
oci_abs(const char *path, const char *what, int optional, char *err,
    size_t errlen)
{
	if (path == NULL && optional)
		return 0;
	if (path == NULL || path[0] != '/')
		return err_set(err, errlen, "%s must be an absolute path",
		    what);
	return 0;
}

static int
oci_validate(const struct oci_bundle_spec *s, struct sandbox_limits *lim,
    char *err, size_t errlen)
{
	unsigned char addr[16];
	size_t i;

	if (sandbox_plan_lang(s->language) == NULL)
		return err_set(err, errlen,
		    "unknown language (python, sh, node)");
	if (s->uid == 0 || s->gid == 0 || s->uid == (uid_t)-1 ||
	    s->gid == (gid_t)-1)
		return err_set(err, errlen, "the workload's uid and gid "
		    "must be unprivileged (not 0)");
	if (oci_abs(s->code_source, "code source", 0, err, errlen) == -1 ||
	    oci_abs(s->netns_path, "netns path", 1, err, errlen) == -1 ||
	    oci_abs(s->helpers_dir, "helpers dir", 1, err, errlen) == -1)
		return -1;
	/* It is written into resolv.conf: an address, nothing else. */
	if (s->gateway != NULL && inet_pton(AF_INET, s->gateway, addr) != 1 &&
	    inet_pton(AF_INET6, s->gateway, addr) != 1)
		return err_set(err, errlen, "gateway is not an address");
	if (s->nexpose == 0 || strcmp(s->expose[0].rel, "usr") != 0 ||
	    s->expose[0].kind != OCI_EXPOSE_DIR)
		return err_set(err, errlen, "the host's /usr must be exposed");
	for (i = 0; i < s->nexpose; i++) {
		if (s->expose[i].rel == NULL || s->expose[i].rel[0] == '/' ||
		    strstr(s->expose[i].rel, "..") != NULL ||
		    strlen(s->expose[i].rel) > OCI_EXPOSE_REL_MAX)
			return err_set(err, errlen, "bad exposed path");
		if (s->expose[i].kind == OCI_EXPOSE_LINK &&
		    s->expose[i].link == NULL)
			return err_set(err, errlen, "%s: link without a target",
			    s->expose[i].rel);
	}
	return sandbox_plan_limits(&s->limits, lim, err, errlen);
}

/* Append a new reference to arr; jansson's own calls steal the reference,
 * so one failure check at the end covers the whole build. */
static int
oci_push(json_t *arr, json_t *v)
{
	return v == NULL ? -1 : json_array_append_new(arr, v);
}

static json_t *
oci_strings(const char *const *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < n; i++)
		if (oci_push(a, json_string(v[i])) == -1) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *
oci_mount(const char *dst, const char *type, const char *src,
    const char *opts)
{
	json_t *m, *o;
	char buf[256], *tok, *save;

	if ((o = json_array()) == NULL)
		return NULL;
	snprintf(buf, sizeof(buf), "%s", opts);
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save))
		if (oci_push(o, json_string(tok)) == -1) {
			json_decref(o);
			return NULL;
		}
	m = json_pack("{s:s, s:s, s:s, s:o}", "destination", dst, "type", type,
	    "source", src, "options", o);
	return m;
}

/* A read-only bind; never suid, never a device. */
static json_t *
oci_bind(const char *dst, const char *src)
{
	return oci_mount(dst, "bind", src, "bind,ro,nosuid,nodev");
}

static json_t *
oci_mounts(const struct oci_bundle_spec *s, const struct sandbox_limits *lim,
    const struct sandbox_lang *lang)
{
	char dst[512], wso[128], tmpo[96], ws[160], tmp[128];
	json_t *a = json_array();
	size_t i;
	int rc = 0;

	if (a == NULL)
		return NULL;
	sandbox_plan_fs_opts(lim, s->uid, s->gid, wso, sizeof(wso), tmpo,
	    sizeof(tmpo));
	snprintf(ws, sizeof(ws), "nosuid,nodev,%s", wso);
	snprintf(tmp, sizeof(tmp), "nosuid,nodev,%s", tmpo);
	rc |= oci_push(a, oci_mount("/proc", "proc", "proc",
	    "nosuid,nodev,noexec"));
	/* The runtime adds its default nodes (null, zero, full, random,
	 * urandom, tty) and nothing else: linux.devices is empty. */
	rc |= oci_push(a, oci_mount("/dev", "tmpfs", "tmpfs",
	    "nosuid,noexec,strictatime,mode=755,size=64k,nr_inodes=64"));
	for (i = 0; i < s->nexpose; i++) {
		if (s->expose[i].kind == OCI_EXPOSE_LINK)
			continue;	/* a link, made in the root */
		snprintf(dst, sizeof(dst), "/%s", s->expose[i].rel);
		rc |= oci_push(a, oci_bind(dst, dst));
	}
	rc |= oci_push(a, oci_mount("/workspace", "tmpfs", "tmpfs", ws));
	rc |= oci_push(a, oci_mount("/tmp", "tmpfs", "tmpfs", tmp));
	if (s->helpers_dir != NULL)
		rc |= oci_push(a, oci_bind("/opt/enclave", s->helpers_dir));
	/* Inside the /workspace tmpfs, so after it. */
	rc |= oci_push(a, oci_bind(lang->file, s->code_source));
	if (rc != 0) {
		json_decref(a);
		return NULL;
	}
	return a;
}

/* Exactly the namespace sandbox's environment. */
static json_t *
oci_env(const struct oci_bundle_spec *s)
{
	char *envp[SANDBOX_ENV_MAX], buf[SANDBOX_ENV_BUF];
	size_t n;

	sandbox_plan_env(envp, buf, s->helpers_dir != NULL, s->result_fd);
	for (n = 0; envp[n] != NULL; n++)
		;
	return oci_strings((const char *const *)envp, n);
}

static json_t *
oci_args(const struct oci_bundle_spec *s, const struct sandbox_lang *lang)
{
	char script[256];

	if (!s->result_fd || !s->result_on_stdin)
		return json_pack("[s, s]", lang->interp, lang->file);
	/* Fixed strings, nothing to quote; sh exports PWD, which the
	 * workload's environment (exactly oci_env()) does not hold. */
	snprintf(script, sizeof(script), "exec %d<&0 </dev/null; unset PWD; "
	    "exec %s %s", SANDBOX_RESULT_FD, lang->interp, lang->file);
	return json_pack("[s, s, s]", "/bin/sh", "-c", script);
}

/* WANT, but never above what the caller holds. */
static json_t *
oci_rlimit(const char *type, rlim_t want, const struct rlimit *caller)
{
	rlim_t hard = want, soft = want;

	if (caller->rlim_max != RLIM_INFINITY && hard > caller->rlim_max)
		hard = caller->rlim_max;
	if (caller->rlim_cur != RLIM_INFINITY && soft > caller->rlim_cur)
		soft = caller->rlim_cur;
	if (soft > hard)
		soft = hard;
	return json_pack("{s:s, s:I, s:I}", "type", type,
	    "hard", (json_int_t)hard, "soft", (json_int_t)soft);
}

/*
 * NOFILE, FSIZE and CORE as the namespace sandbox sets them. NPROC only
 * when asked (gVisor): on a shared kernel it counts every process of the
 * uid on the host (proxyd's "nobody" and other sessions' workloads
 * included), and the pids cgroup is the per-run cap.
 */
static json_t *
oci_rlimits(const struct oci_bundle_spec *s, const struct sandbox_limits *lim)
{
	json_t *a = json_array();
	int rc = 0;

	if (a == NULL)
		return NULL;
	rc |= oci_push(a, oci_rlimit("RLIMIT_NOFILE", OCI_NOFILE,
	    &s->caller_nofile));
	rc |= oci_push(a, oci_rlimit("RLIMIT_FSIZE",
	    (rlim_t)lim->workspace_mb * OCI_MIB, &s->caller_fsize));
	rc |= oci_push(a, oci_rlimit("RLIMIT_CORE", 0, &s->caller_core));
	if (s->nproc > 0)
		rc |= oci_push(a, oci_rlimit("RLIMIT_NPROC", s->nproc,
		    &s->caller_nproc));
	if (rc != 0) {
		json_decref(a);
		return NULL;
	}
	return a;
}

static json_t *
oci_process(const struct oci_bundle_spec *s, const struct sandbox_limits *lim,
    const struct sandbox_lang *lang)
{
	return json_pack("{s:b, s:{s:I, s:I, s:[]}, s:o, s:o, s:s, "
	    "s:{s:[], s:[], s:[], s:[], s:[]}, s:o, s:b, s:i}",
	    "terminal", 0,
	    "user", "uid", (json_int_t)s->uid, "gid", (json_int_t)s->gid,
		"additionalGids",
	    "args", oci_args(s, lang),
	    "env", oci_env(s),
	    "cwd", "/workspace",
	    "capabilities", "bounding", "effective", "inheritable",
		"permitted", "ambient",
	    "rlimits", oci_rlimits(s, lim),
	    "noNewPrivileges", 1,
	    "oomScoreAdj", OCI_OOM_SCORE_ADJ);
}

/* OP as the profile names it: libseccomp's own name. */
static const char *
oci_scmp_op(enum scmp_compare op)
{
	switch (op) {
	case SCMP_CMP_NE:
		return "SCMP_CMP_NE";
	case SCMP_CMP_LT:
		return "SCMP_CMP_LT";
	case SCMP_CMP_LE:
		return "SCMP_CMP_LE";
	case SCMP_CMP_EQ:
		return "SCMP_CMP_EQ";
	case SCMP_CMP_GE:
		return "SCMP_CMP_GE";
	case SCMP_CMP_GT:
		return "SCMP_CMP_GT";
	case SCMP_CMP_MASKED_EQ:
		return "SCMP_CMP_MASKED_EQ";
	default:
		return NULL;
	}
}

/*
 * One rule: NAME refused with ERRNUM when all N conditions hold. A rule
 * whose conditions failed to build is no rule at all, never an
 * unconditional one.
 */
static json_t *
oci_rule(const char *name, int errnum, const struct scmp_arg_cmp *a,
    unsigned int n)
{
	json_t *r, *args;
	unsigned int i;
	int rc = 0;

	r = json_pack("{s:[s], s:s, s:i}", "names", name, "action",
	    "SCMP_ACT_ERRNO", "errnoRet", errnum);
	if (r == NULL || n == 0)
		return r;
	if ((args = json_array()) == NULL ||
	    json_object_set_new(r, "args", args) == -1) {
		json_decref(r);
		return NULL;
	}
	for (i = 0; i < n; i++)
		rc |= oci_push(args, json_pack("{s:i, s:I, s:I, s:s}",
		    "index", (int)a[i].arg, "value", (json_int_t)a[i].datum_a,
		    "valueTwo", (json_int_t)a[i].datum_b,
		    "op", oci_scmp_op(a[i].op)));
	if (rc != 0) {
		json_decref(r);
		return NULL;
	}
	return r;
}

json_t *
oci_bundle_seccomp(unsigned int flags)
{
	const struct sandbox_seccomp_rule *r;
	const char *const *name;
	json_t *p, *sc;
	int rc = 0;

	p = json_pack("{s:s, s:[]}", "defaultAction", "SCMP_ACT_ALLOW",
	    "syscalls");
	if (p == NULL)
		return NULL;
	sc = json_object_get(p, "syscalls");
	for (name = sandbox_seccomp_denied; *name != NULL; name++)
		rc |= oci_push(sc, oci_rule(*name, EPERM, NULL, 0));
	for (r = sandbox_seccomp_rules; r->name != NULL; r++)
		if (!(flags & OCI_SECCOMP_EPERM_ONLY) || r->errnum == EPERM)
			rc |= oci_push(sc, oci_rule(r->name, r->errnum, r->args,
			    r->nargs));
	if (flags & OCI_SECCOMP_ARCH)
		rc |= json_object_set_new(p, "architectures",
		    json_pack("[s]", OCI_SCMP_ARCH));
	if (rc != 0) {
		json_decref(p);
		return NULL;
	}
	return p;
}

static json_t *
oci_namespaces(const struct oci_bundle_spec *s)
{
	json_t *a;

	a = json_pack("[{s:s}, {s:s}, {s:s}, {s:s}, {s:s}]", "type", "pid",
	    "type", "mount", "type", "ipc", "type", "uts", "type", "cgroup");
	if (a != NULL && s->netns_path != NULL &&
	    oci_push(a, json_pack("{s:s, s:s}", "type", "network", "path",
	    s->netns_path)) == -1) {
		json_decref(a);
		return NULL;
	}
	return a;
}

static json_t *
oci_resources(const struct oci_bundle_spec *s, const struct sandbox_limits *lim)
{
	uint64_t mem = (uint64_t)lim->memory_mb * OCI_MIB + s->memory_headroom;
	json_t *r;

	/* Devices: deny all; the runtime allows its default nodes back. */
	r = json_pack("{s:{s:I, s:I}, s:{s:I}, s:[{s:b, s:s}]}",
	    "memory", "limit", (json_int_t)mem, "swap", (json_int_t)mem,
	    "pids", "limit", (json_int_t)(s->cgroup_pids > 0 ? s->cgroup_pids :
		lim->pids),
	    "devices", "allow", 0, "access", "rwm");
	if (r != NULL && lim->cpu_pct > 0 && json_object_set_new(r, "cpu",
	    json_pack("{s:I, s:I}", "quota", (json_int_t)lim->cpu_pct * 1000,
	    "period", (json_int_t)100000)) == -1) {
		json_decref(r);
		return NULL;
	}
	return r;
}

json_t *
oci_bundle_config(const struct oci_bundle_spec *s, char *err, size_t errlen)
{
	const struct sandbox_lang *lang;
	struct sandbox_limits lim;
	json_t *cfg, *lx;

	if (oci_validate(s, &lim, err, errlen) == -1)
		return NULL;
	lang = sandbox_plan_lang(s->language);
	lx = json_pack("{s:o, s:o, s:o, s:o, s:o}",
	    "namespaces", oci_namespaces(s),
	    "resources", oci_resources(s, &lim),
	    "seccomp", oci_bundle_seccomp(OCI_SECCOMP_ARCH |
		(s->seccomp_eperm_only ? OCI_SECCOMP_EPERM_ONLY : 0)),
	    "maskedPaths", oci_strings(oci_masked,
		OCI_NELEM(oci_masked)),
	    "readonlyPaths", oci_strings(oci_readonly,
		OCI_NELEM(oci_readonly)));
	if (lx != NULL && s->cgroups_path != NULL &&
	    json_object_set_new(lx, "cgroupsPath",
	    json_string(s->cgroups_path)) == -1) {
		json_decref(lx);
		lx = NULL;
	}
	cfg = json_pack("{s:s, s:o, s:{s:s, s:b}, s:s, s:o, s:o}",
	    "ociVersion", "1.0.2",
	    "process", oci_process(s, &lim, lang),
	    "root", "path", OCI_BUNDLE_ROOTFS, "readonly", 1,
	    "hostname", SANDBOX_HOSTNAME,
	    "mounts", oci_mounts(s, &lim, lang),
	    "linux", lx);
	if (cfg == NULL)
		err_set(err, errlen, "config.json: out of memory");
	return cfg;
}

size_t
oci_bundle_etc(const struct oci_bundle_spec *s,
    struct sandbox_etc_file out[SANDBOX_ETC_FILES])
{
	sandbox_plan_etc(s->uid, s->gid, s->gateway, out);
	/* No gateway, no resolv.conf, as in the namespace sandbox. */
	return s->gateway != NULL ? SANDBOX_ETC_FILES : SANDBOX_ETC_RESOLV;
}
