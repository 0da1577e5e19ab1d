/*
 * The sandbox's cgroups: made below the caller's own (v2, or the v1
 * memory, pids, cpu and cpuacct hierarchies), limited, joined by the
 * sandbox's init, read for usage, removed.
 *
 * And what every backend does with cgroups named "enclave-NAME", whoever
 * made them (this file, an OCI runtime in every hierarchy, Docker's engine
 * at each hierarchy's root): find the hierarchies, read a value, remove
 * them with what is below, and sweep a crashed daemon's.
 */
#ifndef ENCLAVE_SESSIOND_SANDBOX_CGROUP_H
#define ENCLAVE_SESSIOND_SANDBOX_CGROUP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sessiond/sandbox_spec.h"

#define SANDBOX_CG_MAX 4		/* v1: memory, pids, cpu, cpuacct */
#define SANDBOX_CG_PATH_MAX 512
#define SANDBOX_CG_HIER_MAX 16		/* hierarchies we look at */
#define SANDBOX_CG_PREFIX "enclave-"	/* all of ours: "enclave-NAME" */

/* sandbox_cg_sweep()'s flags. */
#define SANDBOX_CG_PREFIXED	0x1	/* NAME is a prefix: "enclave-NAME*" */
#define SANDBOX_CG_AT_ROOT	0x2	/* at each hierarchy's root (an
					 * engine's CgroupParent "/enclave-X"),
					 * not below sessiond's own cgroup */
#define SANDBOX_CG_KILL		0x4	/* SIGKILL what still runs inside */
#define SANDBOX_CG_ONCE		0x8	/* one rmdir: never wait while busy */

/* One cgroup directory per mounted hierarchy we use (one in v2). */
struct sandbox_cgroup {
	int v2;
	int n;
	char dir[SANDBOX_CG_MAX][SANDBOX_CG_PATH_MAX];
	/* Index into dir for each role, -1 when that controller is absent. */
	int memory, pids, cpu, cpuacct;
};

struct sandbox_usage {
	uint64_t cpu_ms;
	uint64_t mem_peak_bytes;
	uint64_t oom_kills;
};

/* One cgroup hierarchy sessiond is in. */
struct sandbox_cg_hier {
	char ctrl[256];			/* "cpu,cpuacct"; "" in v2 */
	char mnt[SANDBOX_CG_PATH_MAX];	/* where it is mounted */
	char own[SANDBOX_CG_PATH_MAX];	/* mnt + sessiond's cgroup */
	int v2;
	int root;			/* the mount shows the root cgroup */
};

/* Make the sandbox's cgroups and set their limits; nothing left on error. */
int sandbox_cg_create(struct sandbox_cgroup *cg, const char *name,
    const struct sandbox_limits *lim, char *err, size_t errlen);

/* Move PID into every one of the sandbox's cgroups. */
int sandbox_cg_attach(const struct sandbox_cgroup *cg, pid_t pid, char *err,
    size_t errlen);

/* CPU time, peak memory and OOM kills so far; -1 (ENOENT) when none made. */
int sandbox_cg_usage(const struct sandbox_cgroup *cg, struct sandbox_usage *u);

/*
 * Remove the cgroups, retrying while their last tasks are released; -1
 * when one stays (logged), and a later call tries again.
 */
int sandbox_cg_remove(struct sandbox_cgroup *cg);

/*
 * Every hierarchy sessiond is in (/proc/self/cgroup) and mounted where its
 * cgroup is visible, at most MAX into H; how many, or -1.
 */
int sandbox_cg_hiers(struct sandbox_cg_hier *h, int max);

/* The one of them holding controller CTRL ("" for cgroup2); -1 (ENOENT). */
int sandbox_cg_hier(const char *ctrl, struct sandbox_cg_hier *out);

/* The number after KEY in DIR/FILE's "key value" lines, or (KEY NULL) the
 * file's only number; -1 with errno. */
int sandbox_cg_read_u64(const char *dir, const char *file, const char *key,
    uint64_t *out);

/*
 * Remove the cgroup "enclave-NAME" (every "enclave-NAME*" with
 * SANDBOX_CG_PREFIXED) and the cgroups below it (a container's) in every
 * hierarchy sessiond is in, below its own cgroup or (SANDBOX_CG_AT_ROOT)
 * at the root. A busy one is retried while its last tasks are released,
 * killing them with SANDBOX_CG_KILL, unless SANDBOX_CG_ONCE. *removed (may
 * be NULL) counts those removed; -1 when one stays (logged).
 */
int sandbox_cg_sweep(const char *name, unsigned int flags,
    unsigned int *removed);

#endif
