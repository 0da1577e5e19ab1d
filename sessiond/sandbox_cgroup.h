/*
 * The sandbox's cgroups: made below the caller's own (v2, or the v1
 * memory, pids, cpu and cpuacct hierarchies), limited, joined by the
 * sandbox's init, read for usage, removed.
 */
#ifndef ENCLAVE_SESSIOND_SANDBOX_CGROUP_H
#define ENCLAVE_SESSIOND_SANDBOX_CGROUP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sessiond/sandbox_spec.h"

#define SANDBOX_CG_MAX 4		/* v1: memory, pids, cpu, cpuacct */
#define SANDBOX_CG_PATH_MAX 512

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
 * Remove every "enclave-PREFIX-*" cgroup next to where ours would be made,
 * killing what is still inside: what a crashed daemon with that name
 * prefix left. *removed counts them. -1 if one could not be removed.
 */
int sandbox_cg_sweep(const char *prefix, unsigned int *removed);

#endif
