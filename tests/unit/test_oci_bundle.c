/*
 * sessiond/oci_bundle.c: config.json built for a typical run, read back by
 * JSON path. What the OCI backends promise a reviewer: the session netns
 * by path, no capabilities, no_new_privs, a read-only root with read-only
 * binds, the namespace sandbox's environment (nothing secret in it), its
 * seccomp denylist and its limits, never above the caller's rlimits.
 */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <cmocka.h>

#include <jansson.h>

#include "sessiond/dockerapi.h"
#include "sessiond/oci_bundle.h"

#define MIB		(1024 * 1024)

static const struct oci_expose expose[] = {
	{ "usr", OCI_EXPOSE_DIR, NULL },
	{ "bin", OCI_EXPOSE_LINK, "usr/bin" },
	{ "lib64", OCI_EXPOSE_LINK, "usr/lib64" },
	{ "etc/ld.so.cache", OCI_EXPOSE_FILE, NULL },
	{ "etc/ssl/certs", OCI_EXPOSE_DIR, NULL },
};

static char err[256];

static void
spec_init(struct oci_bundle_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->language = "python";
	s->code_source = "/var/lib/enclave/run/ses_1/main.py";
	s->netns_path = "/run/netns/encs1";
	s->cgroups_path = "enclave-enc-ses_1/ctr";
	s->helpers_dir = "/usr/libexec/enclave/helpers";
	s->gateway = "198.19.0.1";
	s->uid = 65534;
	s->gid = 65534;
	s->memory_headroom = 4 * MIB;
	s->result_fd = 1;
	s->expose = expose;
	s->nexpose = sizeof(expose) / sizeof(expose[0]);
	s->caller_nofile.rlim_cur = 1024;
	s->caller_nofile.rlim_max = 4096;
	s->caller_fsize.rlim_cur = s->caller_fsize.rlim_max = RLIM_INFINITY;
	s->caller_core.rlim_cur = s->caller_core.rlim_max = RLIM_INFINITY;
	s->caller_nproc.rlim_cur = s->caller_nproc.rlim_max = RLIM_INFINITY;
}

static json_t *
build(const struct oci_bundle_spec *s)
{
	json_t *cfg;

	err[0] = '\0';
	cfg = oci_bundle_config(s, err, sizeof(err));
	if (cfg == NULL)
		fail_msg("oci_bundle_config: %s", err);
	return cfg;
}

/* The value at PATH: dot-separated keys, or indexes into arrays. */
static json_t *
jp(json_t *v, const char *path)
{
	char buf[256], *seg, *save, *end;
	unsigned long i;

	snprintf(buf, sizeof(buf), "%s", path);
	for (seg = strtok_r(buf, ".", &save); seg != NULL && v != NULL;
	    seg = strtok_r(NULL, ".", &save)) {
		i = strtoul(seg, &end, 10);
		v = json_is_array(v) && *end == '\0' ? json_array_get(v, i) :
		    json_object_get(v, seg);
	}
	return v;
}

static const char *
jstr(json_t *v, const char *path)
{
	const char *s = json_string_value(jp(v, path));

	if (s == NULL)
		fail_msg("%s: not a string", path);
	return s;
}

static json_int_t
jint(json_t *v, const char *path)
{
	json_t *n = jp(v, path);

	if (!json_is_integer(n))
		fail_msg("%s: not an integer", path);
	return json_integer_value(n);
}

/* The object in the array at PATH whose KEY is VALUE, or NULL. */
static json_t *
find(json_t *cfg, const char *path, const char *key, const char *value)
{
	json_t *o;
	size_t i;

	json_array_foreach(jp(cfg, path), i, o)
		if (strcmp(jstr(o, key), value) == 0)
			return o;
	return NULL;
}

/* The mount whose destination is DST, or NULL. */
static json_t *
mount_at(json_t *cfg, const char *dst)
{
	return find(cfg, "mounts", "destination", dst);
}

static int
has_string(json_t *arr, const char *s)
{
	json_t *v;
	size_t i;

	json_array_foreach(arr, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return 1;
	return 0;
}

/* The rlimit of TYPE, or NULL. */
static json_t *
rlimit_of(json_t *cfg, const char *type)
{
	return find(cfg, "process.rlimits", "type", type);
}

static void
test_process(void **state)
{
	struct oci_bundle_spec s;
	const char *sets[] = { "bounding", "effective", "inheritable",
	    "permitted", "ambient" };
	json_t *cfg;
	size_t i;

	(void)state;
	spec_init(&s);
	cfg = build(&s);
	assert_string_equal(jstr(cfg, "ociVersion"), "1.0.2");
	assert_true(json_is_false(jp(cfg, "process.terminal")));
	assert_int_equal(jint(cfg, "process.user.uid"), 65534);
	assert_int_equal(jint(cfg, "process.user.gid"), 65534);
	assert_int_equal(json_array_size(jp(cfg,
	    "process.user.additionalGids")), 0);
	assert_int_equal(json_array_size(jp(cfg, "process.args")), 2);
	assert_string_equal(jstr(cfg, "process.args.0"), "/usr/bin/python3");
	assert_string_equal(jstr(cfg, "process.args.1"), "/workspace/main.py");
	assert_string_equal(jstr(cfg, "process.cwd"), "/workspace");
	assert_true(json_is_true(jp(cfg, "process.noNewPrivileges")));
	/* Every capability set present, and empty. */
	assert_int_equal(json_object_size(jp(cfg, "process.capabilities")), 5);
	for (i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		char path[64];

		snprintf(path, sizeof(path), "process.capabilities.%s",
		    sets[i]);
		assert_true(json_is_array(jp(cfg, path)));
		assert_int_equal(json_array_size(jp(cfg, path)), 0);
	}
	assert_string_equal(jstr(cfg, "root.path"), OCI_BUNDLE_ROOTFS);
	assert_true(json_is_true(jp(cfg, "root.readonly")));
	assert_string_equal(jstr(cfg, "hostname"), "sandbox");
	json_decref(cfg);
}

/* Exactly the namespace sandbox's environment, and nothing secret. */
static void
test_env(void **state)
{
	static const char *const want[] = {
		"PATH=/usr/local/bin:/usr/bin:/bin:/opt/enclave",
		"HOME=/workspace", "LANG=C.UTF-8", "TMPDIR=/tmp",
		"PYTHONDONTWRITEBYTECODE=1", "ENCLAVE_RESULT_FD=3",
		"PYTHONPATH=/opt/enclave", "NODE_PATH=/opt/enclave",
		"SSL_CERT_FILE=/opt/enclave/ca-bundle.pem",
		"REQUESTS_CA_BUNDLE=/opt/enclave/ca-bundle.pem",
		"NODE_EXTRA_CA_CERTS=/opt/enclave/ca-bundle.pem",
		"GIT_SSL_CAINFO=/opt/enclave/ca-bundle.pem",
		"CURL_CA_BUNDLE=/opt/enclave/ca-bundle.pem",
	};
	static const char *const secretish[] = {
		"TOKEN", "SECRET", "KEY", "PASSW", "AUTH", "CRED", "eyJ",
	};
	struct oci_bundle_spec s;
	json_t *cfg, *env, *v;
	size_t i, k;

	(void)state;
	spec_init(&s);
	cfg = build(&s);
	env = jp(cfg, "process.env");
	assert_int_equal(json_array_size(env), sizeof(want) / sizeof(want[0]));
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_string_equal(json_string_value(json_array_get(env, i)),
		    want[i]);
	json_array_foreach(env, i, v)
		for (k = 0; k < sizeof(secretish) / sizeof(secretish[0]); k++)
			assert_null(strstr(json_string_value(v), secretish[k]));
	json_decref(cfg);

	/* No helpers, no result channel: neither is named. */
	s.helpers_dir = NULL;
	s.result_fd = 0;
	cfg = build(&s);
	env = jp(cfg, "process.env");
	assert_string_equal(jstr(env, "0"),
	    "PATH=/usr/local/bin:/usr/bin:/bin");
	assert_int_equal(json_array_size(env), 5);
	assert_null(mount_at(cfg, "/opt/enclave"));
	json_decref(cfg);
}

static void
test_namespaces(void **state)
{
	static const char *const want[] = {
		"pid", "mount", "ipc", "uts", "cgroup", "network",
	};
	struct oci_bundle_spec s;
	json_t *cfg, *ns, *n;
	size_t i;

	(void)state;
	spec_init(&s);
	cfg = build(&s);
	ns = jp(cfg, "linux.namespaces");
	assert_int_equal(json_array_size(ns), sizeof(want) / sizeof(want[0]));
	json_array_foreach(ns, i, n) {
		assert_string_equal(jstr(n, "type"), want[i]);
		/* Only the network one is joined, by path; never a user ns. */
		if (strcmp(want[i], "network") == 0)
			assert_string_equal(jstr(n, "path"),
			    "/run/netns/encs1");
		else
			assert_null(jp(n, "path"));
	}
	assert_string_equal(jstr(cfg, "linux.cgroupsPath"),
	    "enclave-enc-ses_1/ctr");
	json_decref(cfg);

	/* gVisor's host network: the runtime's own netns, no entry. */
	s.netns_path = NULL;
	cfg = build(&s);
	json_array_foreach(jp(cfg, "linux.namespaces"), i, n)
		assert_string_not_equal(jstr(n, "type"), "network");
	json_decref(cfg);
}

static void
test_mounts(void **state)
{
	struct oci_bundle_spec s;
	json_t *cfg, *m, *opts;
	size_t i, ws = 0, code = 0;

	(void)state;
	spec_init(&s);
	cfg = build(&s);
	/* Every bind read-only, never suid or a device. */
	json_array_foreach(jp(cfg, "mounts"), i, m) {
		opts = jp(m, "options");
		if (strcmp(jstr(m, "type"), "bind") == 0) {
			assert_true(has_string(opts, "ro"));
			assert_true(has_string(opts, "nosuid"));
			assert_true(has_string(opts, "nodev"));
			assert_false(has_string(opts, "rw"));
		}
		if (strcmp(jstr(m, "destination"), "/workspace") == 0)
			ws = i;
		if (strcmp(jstr(m, "destination"), "/workspace/main.py") == 0)
			code = i;
	}
	assert_string_equal(jstr(mount_at(cfg, "/usr"), "source"), "/usr");
	assert_string_equal(jstr(mount_at(cfg, "/etc/ld.so.cache"), "source"),
	    "/etc/ld.so.cache");
	assert_string_equal(jstr(mount_at(cfg, "/etc/ssl/certs"), "type"),
	    "bind");
	/* Links are made in the root, not mounted. */
	assert_null(mount_at(cfg, "/bin"));
	assert_null(mount_at(cfg, "/lib64"));
	assert_string_equal(jstr(mount_at(cfg, "/opt/enclave"), "source"),
	    "/usr/libexec/enclave/helpers");
	assert_string_equal(jstr(mount_at(cfg, "/workspace/main.py"), "source"),
	    s.code_source);
	assert_true(code > ws);		/* the file goes into the tmpfs */
	m = mount_at(cfg, "/workspace");
	assert_string_equal(jstr(m, "type"), "tmpfs");
	assert_true(has_string(jp(m, "options"), "size=64m"));
	assert_true(has_string(jp(m, "options"), "mode=0700"));
	assert_true(has_string(jp(m, "options"), "uid=65534"));
	assert_true(has_string(jp(mount_at(cfg, "/tmp"), "options"),
	    "size=64m"));
	assert_string_equal(jstr(mount_at(cfg, "/proc"), "type"), "proc");
	assert_true(has_string(jp(mount_at(cfg, "/dev"), "options"), "noexec"));
	assert_null(mount_at(cfg, "/sys"));
	assert_null(mount_at(cfg, "/dev/shm"));
	assert_true(has_string(jp(cfg, "linux.maskedPaths"), "/proc/kcore"));
	assert_true(has_string(jp(cfg, "linux.readonlyPaths"), "/proc/sys"));
	json_decref(cfg);

	s.limits.workspace_mb = 8;
	s.limits.tmp_mb = 16;
	cfg = build(&s);
	assert_true(has_string(jp(mount_at(cfg, "/workspace"), "options"),
	    "size=8m"));
	assert_true(has_string(jp(mount_at(cfg, "/tmp"), "options"),
	    "size=16m"));
	json_decref(cfg);
}

static void
test_resources(void **state)
{
	struct oci_bundle_spec s;
	json_t *cfg;

	(void)state;
	spec_init(&s);
	cfg = build(&s);
	/* The defaults, a headroom above them (the parent cgroup binds). */
	assert_int_equal(jint(cfg, "linux.resources.memory.limit"),
	    256 * MIB + 4 * MIB);
	assert_int_equal(jint(cfg, "linux.resources.memory.swap"),
	    256 * MIB + 4 * MIB);
	assert_int_equal(jint(cfg, "linux.resources.pids.limit"), 128);
	assert_null(jp(cfg, "linux.resources.cpu"));
	assert_false(json_is_true(jp(cfg, "linux.resources.devices.0.allow")));
	json_decref(cfg);

	s.limits.memory_mb = 64;
	s.limits.pids = 16;
	s.limits.cpu_pct = 50;
	s.memory_headroom = 0;
	cfg = build(&s);
	assert_int_equal(jint(cfg, "linux.resources.memory.limit"), 64 * MIB);
	assert_int_equal(jint(cfg, "linux.resources.pids.limit"), 16);
	assert_int_equal(jint(cfg, "linux.resources.cpu.quota"), 50000);
	assert_int_equal(jint(cfg, "linux.resources.cpu.period"), 100000);
	json_decref(cfg);

	/* gVisor: the host cgroup holds the Sentry too; NPROC caps tasks. */
	s.cgroup_pids = 256;
	s.nproc = 16;
	cfg = build(&s);
	assert_int_equal(jint(cfg, "linux.resources.pids.limit"), 256);
	assert_int_equal(jint(rlimit_of(cfg, "RLIMIT_NPROC"), "hard"), 16);
	json_decref(cfg);
}

static void
test_rlimits(void **state)
{
	struct oci_bundle_spec s;
	json_t *cfg;

	(void)state;
	spec_init(&s);
	cfg = build(&s);
	assert_int_equal(jint(rlimit_of(cfg, "RLIMIT_NOFILE"), "soft"), 256);
	assert_int_equal(jint(rlimit_of(cfg, "RLIMIT_NOFILE"), "hard"), 256);
	assert_int_equal(jint(rlimit_of(cfg, "RLIMIT_FSIZE"), "hard"),
	    64 * MIB);
	assert_int_equal(jint(rlimit_of(cfg, "RLIMIT_CORE"), "hard"), 0);
	/* NPROC would count the uid host-wide: not set unless asked. */
	assert_null(rlimit_of(cfg, "RLIMIT_NPROC"));
	json_decref(cfg);

	/* Never above what the caller holds. */
	s.caller_nofile.rlim_cur = 64;
	s.caller_nofile.rlim_max = 128;
	s.caller_fsize.rlim_cur = s.caller_fsize.rlim_max = MIB;
	cfg = build(&s);
	assert_int_equal(jint(rlimit_of(cfg, "RLIMIT_NOFILE"), "soft"), 64);
	assert_int_equal(jint(rlimit_of(cfg, "RLIMIT_NOFILE"), "hard"), 128);
	assert_int_equal(jint(rlimit_of(cfg, "RLIMIT_FSIZE"), "soft"), MIB);
	assert_int_equal(jint(rlimit_of(cfg, "RLIMIT_FSIZE"), "hard"), MIB);
	json_decref(cfg);
}

/* The rule refusing NAME whose first condition is (INDEX, OP, VALUE,
 * VALUE_TWO), or with no conditions when OP is NULL. */
static json_t *
rule_for(json_t *cfg, const char *name, const char *op, json_int_t value,
    json_int_t two)
{
	json_t *r;
	size_t i;

	json_array_foreach(jp(cfg, "linux.seccomp.syscalls"), i, r) {
		if (!has_string(jp(r, "names"), name))
			continue;
		if (op == NULL && jp(r, "args") == NULL)
			return r;
		if (op != NULL && jp(r, "args.0") != NULL &&
		    strcmp(jstr(r, "args.0.op"), op) == 0 &&
		    jint(r, "args.0.value") == value &&
		    jint(r, "args.0.valueTwo") == two)
			return r;
	}
	return NULL;
}

static void
test_seccomp(void **state)
{
	static const char *const denied[] = {
		"unshare", "setns", "mount", "umount2", "pivot_root", "chroot",
		"open_tree", "move_mount", "ptrace", "process_vm_writev",
		"kexec_load", "init_module", "finit_module", "keyctl", "bpf",
		"perf_event_open", "userfaultfd", "open_by_handle_at", "reboot",
		"swapon", "syslog", "io_uring_setup", "settimeofday",
	};
	struct oci_bundle_spec s;
	json_t *cfg, *r;
	size_t i;

	(void)state;
	spec_init(&s);
	cfg = build(&s);
	assert_string_equal(jstr(cfg, "linux.seccomp.defaultAction"),
	    "SCMP_ACT_ALLOW");
	assert_int_equal(json_array_size(jp(cfg,
	    "linux.seccomp.architectures")), 1);
	for (i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
		r = rule_for(cfg, denied[i], NULL, 0, 0);
		assert_non_null(r);
		assert_string_equal(jstr(r, "action"), "SCMP_ACT_ERRNO");
		assert_int_equal(jint(r, "errnoRet"), 1);	/* EPERM */
	}
	/* clone: threads yes, namespaces no (CLONE_NEWUSER, CLONE_NEWNET). */
	assert_non_null(rule_for(cfg, "clone", "SCMP_CMP_MASKED_EQ",
	    0x10000000, 0x10000000));
	assert_non_null(rule_for(cfg, "clone", "SCMP_CMP_MASKED_EQ",
	    0x40000000, 0x40000000));
	assert_null(rule_for(cfg, "clone", NULL, 0, 0));
	assert_int_equal(jint(rule_for(cfg, "clone3", NULL, 0, 0), "errnoRet"),
	    38);	/* ENOSYS: libc falls back to clone */
	/* socket: families above AF_INET6 (netlink, packet, vsock) and the
	 * odd ones below it refused; AF_UNIX, INET, INET6 not, raw INET is. */
	assert_non_null(rule_for(cfg, "socket", "SCMP_CMP_GT", 10, 0));
	assert_non_null(rule_for(cfg, "socket", "SCMP_CMP_EQ", 4, 0));
	assert_null(rule_for(cfg, "socket", "SCMP_CMP_EQ", 1, 0));
	r = rule_for(cfg, "socket", "SCMP_CMP_EQ", 2, 0);	/* AF_INET */
	assert_non_null(r);
	assert_string_equal(jstr(r, "args.1.op"), "SCMP_CMP_MASKED_EQ");
	assert_int_equal(jint(r, "args.1.value"), 0xf);
	assert_int_equal(jint(r, "args.1.valueTwo"), 3);	/* SOCK_RAW */
	/* ioctl TIOCSTI (0x5412), its request being argument 1. */
	r = rule_for(cfg, "ioctl", "SCMP_CMP_MASKED_EQ", 0xffffffff, 0x5412);
	assert_non_null(r);
	assert_int_equal(jint(r, "args.0.index"), 1);
	json_decref(cfg);

	/* A runtime that answers EPERM for every errnoRet: no clone3 rule. */
	s.seccomp_eperm_only = 1;
	cfg = build(&s);
	assert_null(rule_for(cfg, "clone3", NULL, 0, 0));
	assert_non_null(rule_for(cfg, "mount", NULL, 0, 0));
	json_decref(cfg);
}

/*
 * The bundle's filter is the docker backend's profile, which test_dockerapi
 * compiles and finds to be the namespace sandbox's program, but for naming
 * the architecture; gVisor's lacks exactly the rules not answering EPERM.
 */
static void
test_seccomp_is_dockers(void **state)
{
	struct oci_bundle_spec s;
	json_t *cfg, *sc, *docker, *r;
	char *text;
	size_t i;

	(void)state;
	assert_non_null(text = dockerapi_seccomp_profile());
	assert_non_null(docker = json_loads(text, 0, NULL));
	free(text);
	spec_init(&s);
	cfg = build(&s);
	assert_non_null(sc = json_deep_copy(jp(cfg, "linux.seccomp")));
	assert_int_equal(json_object_del(sc, "architectures"), 0);
	assert_true(json_equal(sc, docker));
	json_decref(sc);
	json_decref(cfg);

	s.seccomp_eperm_only = 1;
	cfg = build(&s);
	assert_non_null(sc = json_deep_copy(jp(cfg, "linux.seccomp")));
	assert_int_equal(json_object_del(sc, "architectures"), 0);
	for (i = 0; i < json_array_size(jp(docker, "syscalls")); ) {
		r = json_array_get(jp(docker, "syscalls"), i);
		if (jint(r, "errnoRet") != 1)	/* EPERM */
			assert_int_equal(json_array_remove(jp(docker,
			    "syscalls"), i), 0);
		else
			i++;
	}
	assert_int_equal(json_array_size(jp(sc, "syscalls")),
	    json_array_size(jp(docker, "syscalls")));
	assert_true(json_equal(sc, docker));
	json_decref(sc);
	json_decref(cfg);
	json_decref(docker);
}

static void
test_result_on_stdin(void **state)
{
	struct oci_bundle_spec s;
	json_t *cfg;

	(void)state;
	spec_init(&s);
	s.language = "node";
	s.result_on_stdin = 1;
	cfg = build(&s);
	assert_string_equal(jstr(cfg, "process.args.0"), "/bin/sh");
	assert_string_equal(jstr(cfg, "process.args.2"),
	    "exec 3<&0 </dev/null; unset PWD; "
	    "exec /usr/bin/node /workspace/main.js");
	json_decref(cfg);

	/* Without a result channel stdin stays /dev/null: no shell. */
	s.result_fd = 0;
	cfg = build(&s);
	assert_string_equal(jstr(cfg, "process.args.0"), "/usr/bin/node");
	json_decref(cfg);
}

static void
test_refused(void **state)
{
	static const struct oci_expose no_usr[] = {
		{ "bin", OCI_EXPOSE_LINK, "usr/bin" },
	};
	static const struct oci_expose escape[] = {
		{ "usr", OCI_EXPOSE_DIR, NULL },
		{ "../etc/shadow", OCI_EXPOSE_FILE, NULL },
	};
	struct oci_bundle_spec s;

	(void)state;
#define REFUSED(field, value, what) do {				\
	spec_init(&s);							\
	s.field = value;						\
	assert_null(oci_bundle_config(&s, err, sizeof(err)));		\
	assert_non_null(strstr(err, what));				\
} while (0)
	REFUSED(uid, 0, "uid");
	REFUSED(gid, 0, "uid and gid");
	REFUSED(language, "cobol", "unknown language");
	REFUSED(gateway, "198.19.0.1\nnameserver 203.0.113.9", "gateway");
	REFUSED(code_source, "main.py", "absolute");
	REFUSED(netns_path, "encs1", "absolute");
	REFUSED(limits.memory_mb, 8, "memory_mb");
	REFUSED(limits.pids, 1u << 20, "pids");
	REFUSED(limits.cpu_pct, 200000, "cpu_pct");
	REFUSED(nexpose, 0, "/usr");
	REFUSED(expose, no_usr, "/usr");
	spec_init(&s);
	s.expose = escape;
	s.nexpose = 2;
	assert_null(oci_bundle_config(&s, err, sizeof(err)));
#undef REFUSED
}

static void
test_etc(void **state)
{
	struct sandbox_etc_file etc[SANDBOX_ETC_FILES];
	struct oci_bundle_spec s;
	size_t n, i;
	int resolv = 0, passwd = 0;

	(void)state;
	spec_init(&s);
	s.uid = 1001;
	s.gid = 1002;
	n = oci_bundle_etc(&s, etc);
	assert_int_equal(n, SANDBOX_ETC_FILES);
	for (i = 0; i < n; i++) {
		if (strcmp(etc[i].name, "resolv.conf") == 0) {
			assert_string_equal(etc[i].text,
			    "nameserver 198.19.0.1\n");
			resolv = 1;
		}
		if (strcmp(etc[i].name, "passwd") == 0) {
			assert_non_null(strstr(etc[i].text, "sandbox:x:1001:"
			    "1002:sandbox:/workspace:/bin/sh\n"));
			passwd = 1;
		}
		if (strcmp(etc[i].name, "group") == 0)
			assert_non_null(strstr(etc[i].text, "sandbox:x:1002:"));
		if (strcmp(etc[i].name, "nsswitch.conf") == 0)
			assert_non_null(strstr(etc[i].text,
			    "hosts: files dns"));
	}
	assert_true(resolv && passwd);
	s.gateway = NULL;
	n = oci_bundle_etc(&s, etc);
	for (i = 0; i < n; i++)
		assert_string_not_equal(etc[i].name, "resolv.conf");
	assert_int_equal(n, SANDBOX_ETC_FILES - 1);
}

/* The sandbox's languages, defaults and host paths, which the bundle and
 * the OCI backends take from sandbox_plan.h. */
static void
test_lang_and_limits(void **state)
{
	struct sandbox_limits in, out;

	(void)state;
	assert_string_equal(sandbox_plan_lang("python")->interp,
	    "/usr/bin/python3");
	assert_string_equal(sandbox_plan_lang("sh")->file,
	    "/workspace/main.sh");
	assert_string_equal(sandbox_plan_lang("node")->interp, "/usr/bin/node");
	assert_null(sandbox_plan_lang("ruby"));
	assert_null(sandbox_plan_lang(NULL));
	memset(&in, 0, sizeof(in));
	assert_int_equal(sandbox_plan_limits(&in, &out, err, sizeof(err)), 0);
	assert_int_equal(out.memory_mb, 256);
	assert_int_equal(out.pids, 128);
	assert_int_equal(out.workspace_mb, 64);
	assert_int_equal(out.tmp_mb, 64);
	assert_int_equal(out.cpu_pct, 0);
	assert_string_equal(sandbox_plan_host_paths[0], "usr");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_process),
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_namespaces),
		cmocka_unit_test(test_mounts),
		cmocka_unit_test(test_resources),
		cmocka_unit_test(test_rlimits),
		cmocka_unit_test(test_seccomp),
		cmocka_unit_test(test_seccomp_is_dockers),
		cmocka_unit_test(test_result_on_stdin),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_etc),
		cmocka_unit_test(test_lang_and_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
