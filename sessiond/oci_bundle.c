/*
 * config.json for one workload run: the namespace sandbox's root, ids,
 * environment, limits and seccomp denylist, said in the OCI runtime spec.
 * See oci_bundle.h.
 */
#include <config.h>

#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "common/err.h"
#include "sessiond/oci_bundle.h"

/* The sandbox's defaults and bounds (sandbox_plan.c), so a request means
 * the same on every backend. */
#define OCI_DEF_MEMORY_MB	256
#define OCI_DEF_PIDS		128
#define OCI_DEF_FS_MB		64
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

static const struct oci_lang oci_langs[] = {
	{ "python", "/usr/bin/python3", "/workspace/main.py" },
	{ "sh", "/bin/sh", "/workspace/main.sh" },
	{ "node", "/usr/bin/node", "/workspace/main.js" },
};

const char *const oci_bundle_host_paths[] = {
	"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32",
	"etc/ld.so.cache", "etc/ssl/certs", "etc/ssl/openssl.cnf",
	"etc/alternatives", "etc/localtime",
	NULL,
};

/*
 * System calls that refuse with EPERM whatever their arguments: the list
 * in sandbox_seccomp.c, which the argument-filtered rules below also
 * follow. Keep the two in step.
 */
static const char *const oci_denied[] = {
	"unshare", "setns", "mount", "umount", "umount2", "pivot_root",
	"chroot", "fsopen", "fsconfig", "fsmount", "fspick", "move_mount",
	"open_tree", "mount_setattr", "ptrace", "process_vm_readv",
	"process_vm_writev", "kexec_load", "kexec_file_load", "init_module",
	"finit_module", "delete_module", "add_key", "request_key", "keyctl",
	"bpf", "perf_event_open", "userfaultfd", "open_by_handle_at",
	"name_to_handle_at", "iopl", "ioperm", "swapon", "swapoff", "reboot",
	"settimeofday", "clock_settime", "stime", "acct", "quotactl",
	"quotactl_fd", "lookup_dcookie", "syslog", "vhangup", "uselib",
	"nfsservctl", "_sysctl", "io_uring_setup", "io_uring_enter",
	"io_uring_register",
};

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

const struct oci_lang *
oci_bundle_lang(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < OCI_NELEM(oci_langs); i++)
		if (strcmp(name, oci_langs[i].name) == 0)
			return &oci_langs[i];
	return NULL;
}

static int
oci_limit(unsigned int *v, unsigned int def, unsigned int min,
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
oci_bundle_limits(const struct sandbox_limits *in, struct sandbox_limits *lim,
    char *err, size_t errlen)
{
	*lim = *in;
	if (oci_limit(&lim->memory_mb, OCI_DEF_MEMORY_MB, 16, 1 << 20,
	    "memory_mb", err, errlen) == -1 ||
	    oci_limit(&lim->pids, OCI_DEF_PIDS, 4, 1 << 16, "pids", err,
	    errlen) == -1 ||
	    oci_limit(&lim->workspace_mb, OCI_DEF_FS_MB, 1, 1 << 16,
	    "workspace_mb", err, errlen) == -1 ||
	    oci_limit(&lim->tmp_mb, OCI_DEF_FS_MB, 1, 1 << 16, "tmp_mb", err,
	    errlen) == -1)
		return -1;
	if (lim->cpu_pct > 100 * 1024)
		return err_set(err, errlen, "cpu_pct %u too large",
		    lim->cpu_pct);
	return 0;
}

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

	if (oci_bundle_lang(s->language) == NULL)
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
	return oci_bundle_limits(&s->limits, lim, err, errlen);
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
    const struct oci_lang *lang)
{
	char dst[512], ws[128], tmp[96];
	json_t *a = json_array();
	size_t i;
	int rc = 0;

	if (a == NULL)
		return NULL;
	snprintf(ws, sizeof(ws), "nosuid,nodev,size=%um,nr_inodes=65536,"
	    "mode=0700,uid=%u,gid=%u", lim->workspace_mb, (unsigned int)s->uid,
	    (unsigned int)s->gid);
	snprintf(tmp, sizeof(tmp), "nosuid,nodev,size=%um,nr_inodes=65536,"
	    "mode=1777", lim->tmp_mb);
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

/* Exactly the namespace sandbox's environment (sandbox_plan.c). */
static json_t *
oci_env(const struct oci_bundle_spec *s)
{
	int helpers = s->helpers_dir != NULL, rc = 0;
	json_t *a = json_array();

	if (a == NULL)
		return NULL;
	rc |= oci_push(a, json_sprintf("PATH=/usr/local/bin:/usr/bin:/bin%s",
	    helpers ? ":/opt/enclave" : ""));
	rc |= oci_push(a, json_string("HOME=/workspace"));
	rc |= oci_push(a, json_string("LANG=C.UTF-8"));
	rc |= oci_push(a, json_string("TMPDIR=/tmp"));
	rc |= oci_push(a, json_string("PYTHONDONTWRITEBYTECODE=1"));
	if (s->result_fd)
		rc |= oci_push(a, json_sprintf("ENCLAVE_RESULT_FD=%d",
		    SANDBOX_RESULT_FD));
	if (helpers) {
		rc |= oci_push(a, json_string("PYTHONPATH=/opt/enclave"));
		rc |= oci_push(a, json_string("NODE_PATH=/opt/enclave"));
	}
	if (rc != 0) {
		json_decref(a);
		return NULL;
	}
	return a;
}

static json_t *
oci_args(const struct oci_bundle_spec *s, const struct oci_lang *lang)
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
    const struct oci_lang *lang)
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

/*
 * One rule: NAME refuses with ERRNUM, when ARGS (NULL: always) all hold.
 * A rule whose conditions failed to build is no rule at all, never an
 * unconditional one.
 */
static json_t *
oci_rule(const char *name, int errnum, int has_args, json_t *args)
{
	json_t *r;

	if (has_args && args == NULL)
		return NULL;
	r = json_pack("{s:[s], s:s, s:i}", "names", name, "action",
	    "SCMP_ACT_ERRNO", "errnoRet", errnum);
	if (r == NULL || args == NULL) {
		json_decref(args);
		return r;
	}
	if (json_object_set_new(r, "args", args) == -1) {
		json_decref(r);
		return NULL;
	}
	return r;
}

/* An argument condition, as libseccomp takes it: for MASKED_EQ, value is
 * the mask and valueTwo what the masked argument must equal. */
static json_t *
oci_arg(unsigned int index, const char *op, uint64_t value, uint64_t two)
{
	return json_pack("{s:i, s:I, s:I, s:s}", "index", (int)index,
	    "value", (json_int_t)value, "valueTwo", (json_int_t)two, "op", op);
}

/* sandbox_seccomp.c's argument-filtered rules, rule for rule. */
static int
oci_seccomp_args(json_t *sc, int eperm_only)
{
	static const uint64_t nsflags[] = {
		CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET, CLONE_NEWPID,
		CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWCGROUP,
	};
	static const unsigned long ttyioc[] = { TIOCSTI, TIOCLINUX };
	static const int fam[] = { AF_INET, AF_INET6 };
	static const int rawtypes[] = { SOCK_RAW, SOCK_PACKET };
	static const uint64_t devtypes[] = { S_IFCHR, S_IFBLK };
	size_t i, j;
	int rc = 0, af;

	/* Threads and fork are fine; a new namespace is not. */
	for (i = 0; i < OCI_NELEM(nsflags); i++)
		rc |= oci_push(sc, oci_rule("clone", EPERM, 1, json_pack("[o]",
		    oci_arg(0, "SCMP_CMP_MASKED_EQ", nsflags[i], nsflags[i]))));
	/* clone3's flags sit behind a pointer: ENOSYS makes libc use clone. */
	if (!eperm_only)
		rc |= oci_push(sc, oci_rule("clone3", ENOSYS, 0, NULL));
	/* Sockets: AF_UNIX, AF_INET, AF_INET6 only (no netlink, packet). */
	for (af = 0; af <= AF_INET6; af++) {
		if (af == AF_UNIX || af == AF_INET || af == AF_INET6)
			continue;
		rc |= oci_push(sc, oci_rule("socket", EPERM, 1, json_pack("[o]",
		    oci_arg(0, "SCMP_CMP_EQ", (uint64_t)af, 0))));
	}
	rc |= oci_push(sc, oci_rule("socket", EPERM, 1, json_pack("[o]",
	    oci_arg(0, "SCMP_CMP_GT", AF_INET6, 0))));
	for (i = 0; i < 2; i++)
		for (j = 0; j < 2; j++)
			rc |= oci_push(sc, oci_rule("socket", EPERM, 1,
			    json_pack("[o, o]",
			    oci_arg(0, "SCMP_CMP_EQ", (uint64_t)fam[i], 0),
			    oci_arg(1, "SCMP_CMP_MASKED_EQ", 0xf,
			    (uint64_t)rawtypes[j]))));
	/* Device nodes, even where a file system would allow them. */
	for (i = 0; i < 2; i++) {
		rc |= oci_push(sc, oci_rule("mknod", EPERM, 1, json_pack("[o]",
		    oci_arg(1, "SCMP_CMP_MASKED_EQ", S_IFMT, devtypes[i]))));
		rc |= oci_push(sc, oci_rule("mknodat", EPERM, 1,
		    json_pack("[o]", oci_arg(2, "SCMP_CMP_MASKED_EQ", S_IFMT,
		    devtypes[i]))));
	}
	/* Typing into, or reprogramming, a terminal someone else reads. */
	for (i = 0; i < 2; i++)
		rc |= oci_push(sc, oci_rule("ioctl", EPERM, 1, json_pack("[o]",
		    oci_arg(1, "SCMP_CMP_MASKED_EQ", 0xffffffffu, ttyioc[i]))));
	return rc;
}

static json_t *
oci_seccomp(const struct oci_bundle_spec *s)
{
	json_t *sc, *denied, *r;

	if ((sc = json_array()) == NULL)
		return NULL;
	denied = oci_strings(oci_denied, OCI_NELEM(oci_denied));
	r = json_pack("{s:o, s:s, s:i}", "names", denied, "action",
	    "SCMP_ACT_ERRNO", "errnoRet", EPERM);
	if (oci_push(sc, r) == -1 ||
	    oci_seccomp_args(sc, s->seccomp_eperm_only) != 0) {
		json_decref(sc);
		return NULL;
	}
	return json_pack("{s:s, s:[s], s:o}", "defaultAction", "SCMP_ACT_ALLOW",
	    "architectures", OCI_SCMP_ARCH, "syscalls", sc);
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
	const struct oci_lang *lang;
	struct sandbox_limits lim;
	json_t *cfg, *lx;

	if (oci_validate(s, &lim, err, errlen) == -1)
		return NULL;
	lang = oci_bundle_lang(s->language);
	lx = json_pack("{s:o, s:o, s:o, s:o, s:o}",
	    "namespaces", oci_namespaces(s),
	    "resources", oci_resources(s, &lim),
	    "seccomp", oci_seccomp(s),
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
	    "hostname", OCI_BUNDLE_HOSTNAME,
	    "mounts", oci_mounts(s, &lim, lang),
	    "linux", lx);
	if (cfg == NULL)
		err_set(err, errlen, "config.json: out of memory");
	return cfg;
}

size_t
oci_bundle_etc(const struct oci_bundle_spec *s,
    struct oci_etc_file out[OCI_ETC_FILES])
{
	size_t n = 0;

	out[n].name = "passwd";
	snprintf(out[n++].text, OCI_ETC_TEXT_MAX,
	    "root:x:0:0:root:/nonexistent:/usr/sbin/nologin\n"
	    "sandbox:x:%u:%u:sandbox:/workspace:/bin/sh\n",
	    (unsigned int)s->uid, (unsigned int)s->gid);
	out[n].name = "group";
	snprintf(out[n++].text, OCI_ETC_TEXT_MAX, "root:x:0:\nsandbox:x:%u:\n",
	    (unsigned int)s->gid);
	out[n].name = "hosts";
	snprintf(out[n++].text, OCI_ETC_TEXT_MAX,
	    "127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.1.1\t%s\n",
	    OCI_BUNDLE_HOSTNAME);
	out[n].name = "hostname";
	snprintf(out[n++].text, OCI_ETC_TEXT_MAX, "%s\n", OCI_BUNDLE_HOSTNAME);
	out[n].name = "nsswitch.conf";
	snprintf(out[n++].text, OCI_ETC_TEXT_MAX,
	    "passwd: files\ngroup: files\nhosts: files dns\n");
	if (s->gateway != NULL) {
		out[n].name = "resolv.conf";
		snprintf(out[n++].text, OCI_ETC_TEXT_MAX, "nameserver %s\n",
		    s->gateway);
	}
	return n;
}
