/*
 * An OCI runtime-spec bundle's config.json for one workload run, built the
 * way the namespace sandbox builds its root (sandbox_child.c): an empty
 * read-only root, read-only binds of the host's runtime (/usr and the
 * merged-/usr links), a generated minimal /etc, the helpers at
 * /opt/enclave, capped tmpfs /workspace and /tmp, the workload file, fresh
 * pid, mount, ipc, uts and cgroup namespaces, the session's netns by path,
 * an unprivileged uid with no capabilities, no_new_privs, the sandbox's
 * seccomp denylist, cgroup limits and rlimits.
 *
 * What the sandbox is made of (languages, limits, environment, /etc, host
 * paths, seccomp rules) comes from sandbox_plan.h and sandbox_seccomp.h,
 * so the bundle cannot drift from it.
 *
 * Pure: the caller (sessiond/backends/oci.c) looks at the host (which
 * runtime paths exist and which are symlinks, its own rlimits) and says so
 * in the spec; nothing here touches a file.
 *
 *	struct oci_bundle_spec s = { ... };
 *	json_t *cfg = oci_bundle_config(&s, err, sizeof(err));
 *	struct sandbox_etc_file etc[SANDBOX_ETC_FILES];
 *	size_t n = oci_bundle_etc(&s, etc);	// write rootfs/etc/NAME
 */
#ifndef ENCLAVE_SESSIOND_OCI_BUNDLE_H
#define ENCLAVE_SESSIOND_OCI_BUNDLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <jansson.h>

#include "sessiond/sandbox_plan.h"

/* The bundle's root directory, relative to the bundle (and config.json). */
#define OCI_BUNDLE_ROOTFS	"rootfs"

/* oci_bundle_seccomp()'s flags. */
#define OCI_SECCOMP_ARCH	0x1	/* name the native architecture */
#define OCI_SECCOMP_EPERM_ONLY	0x2	/* see seccomp_eperm_only below */

/*
 * One host path the bundle exposes (sandbox_plan_host_paths[] lists which):
 * a directory or file bound read-only at the same place, or a symlink the
 * caller recreates in the root ("/lib -> usr/lib" on merged-/usr Debian
 * must stay a link, or the binds would duplicate /usr).
 */
enum oci_expose_kind { OCI_EXPOSE_DIR, OCI_EXPOSE_FILE, OCI_EXPOSE_LINK };
struct oci_expose {
	const char *rel;		/* "usr", "etc/ssl/certs" */
	enum oci_expose_kind kind;
	const char *link;		/* OCI_EXPOSE_LINK: the link's target */
};

struct oci_bundle_spec {
	const char *language;
	/* Host path of the workload's code, bound read-only at lang->file. */
	const char *code_source;
	/* The session netns, joined by path; NULL: no network namespace
	 * entry, the runtime's own (gVisor's host network mode). */
	const char *netns_path;
	/* linux.cgroupsPath; NULL: the runtime picks one. */
	const char *cgroups_path;
	/* Host directory bound read-only at /opt/enclave; NULL: none. */
	const char *helpers_dir;
	/* resolv.conf's nameserver (an address literal); NULL: none. */
	const char *gateway;
	uid_t uid;			/* never 0 */
	gid_t gid;
	struct sandbox_limits limits;	/* zero fields: the sandbox defaults */
	/*
	 * Added to the container's own memory (and memory+swap) limit: the
	 * caller's parent cgroup holds the binding limit, so its OOM killer
	 * (and the OOM count it keeps) is the one that fires.
	 */
	uint64_t memory_headroom;
	/*
	 * gVisor: RLIMIT_NPROC, which its own kernel counts per sandbox, caps
	 * the workload's tasks (0: not set; on a shared kernel it would count
	 * the uid's processes host-wide), and the container's cgroup pids
	 * limit must also hold the Sentry's threads and ptrace stubs
	 * (cgroup_pids; 0: limits.pids).
	 */
	unsigned int nproc;
	unsigned int cgroup_pids;
	/* The run has a result channel (ENCLAVE_RESULT_FD=3). */
	int result_fd;
	/*
	 * The runtime cannot pass fd 3 (runsc has no --preserve-fds): the
	 * caller hands the result pipe in as stdin, and a /bin/sh step moves
	 * it to fd 3 and stdin back to /dev/null before exec'ing the
	 * interpreter.
	 */
	int result_on_stdin;
	/*
	 * The runtime refuses with EPERM whatever a rule's errnoRet says
	 * (runsc 2022): leave out the rule that must answer ENOSYS (clone3,
	 * so that libc falls back to clone); as EPERM it would break every
	 * thread. gVisor's own kernel answers clone3 with ENOSYS anyway.
	 */
	int seccomp_eperm_only;
	const struct oci_expose *expose;
	size_t nexpose;
	/* The caller's own limits: the workload never gets more. */
	struct rlimit caller_nofile, caller_fsize, caller_core, caller_nproc;
};

/*
 * config.json for SPEC (borrowed: strings are copied); NULL with err set
 * to why (a bad language, uid, limit, path or address).
 */
json_t *oci_bundle_config(const struct oci_bundle_spec *spec, char *err,
    size_t errlen);

/*
 * The generated /etc files (sandbox_plan_etc(): passwd, group, hosts,
 * hostname, nsswitch.conf and, with a gateway, resolv.conf) in out[0..n);
 * returns n. Call after oci_bundle_config() accepted SPEC.
 */
size_t oci_bundle_etc(const struct oci_bundle_spec *spec,
    struct sandbox_etc_file out[SANDBOX_ETC_FILES]);

/*
 * The sandbox's seccomp rules (sandbox_seccomp.h) as the runtime spec's
 * linux.seccomp, which is also Docker's profile format: default allow,
 * each refused call a rule of its own with its errno and argument
 * conditions. OCI_SECCOMP_ARCH names the native architecture (a bundle
 * does; Docker's profile leaves it to the engine's default, the same
 * one); OCI_SECCOMP_EPERM_ONLY leaves out the rules that must answer
 * another errno. NULL (ENOMEM).
 */
json_t *oci_bundle_seccomp(unsigned int flags);

#endif
