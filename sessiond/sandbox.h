/*
 * The `namespace` backend's sandbox: one workload run in fresh mount, pid,
 * ipc, uts and cgroup namespaces, joined to a session netns, on a tmpfs
 * root with read-only binds of the runtime, under cgroup limits, as an
 * unprivileged uid with no capabilities, no_new_privs and a seccomp filter.
 *
 * The process the caller holds is the sandbox's pid-namespace init (a small
 * loop in C that forks the workload, reaps orphans and reports the
 * workload's wait status); killing it makes the kernel kill everything in
 * the sandbox.
 *
 *	struct sandbox sb;
 *	if (sandbox_spawn(&spec, &sb, err, sizeof(err)) == -1) ... err says why
 *	... poll sb.pidfd (readable when the sandbox is gone), or:
 *	if (sandbox_wait(&sb, timeout_ms, &st) == 1) {	// still running
 *		sandbox_kill(&sb);
 *		sandbox_wait(&sb, -1, &st);
 *	}
 *	sandbox_free(&sb);	// the one teardown: kills, reaps, removes cgroups
 *
 * The caller closes its copies of the stdout, stderr and result write ends
 * once sandbox_spawn() returns, so its reads end at EOF when the sandbox
 * does. The caller must not waitpid(-1) (or reap sb.pid some other way): the
 * sandbox's init is reaped through its pidfd here. The spawning thread must
 * outlive the sandbox: init is killed when it exits (PR_SET_PDEATHSIG), so
 * a crashed daemon leaves no sandbox running.
 */
#ifndef ENCLAVE_SESSIOND_SANDBOX_H
#define ENCLAVE_SESSIOND_SANDBOX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SANDBOX_NAME_MAX 64
#define SANDBOX_CG_MAX 4		/* v1: memory, pids, cpu, cpuacct */
#define SANDBOX_CG_PATH_MAX 512

/* The fd the in-sandbox result helpers write to (ENCLAVE_RESULT_FD). */
#define SANDBOX_RESULT_FD 3

/* Zero means "the default" for every field. */
struct sandbox_limits {
	unsigned int memory_mb;		/* memory (and memory+swap) cap; 256 */
	unsigned int pids;		/* tasks incl. threads and init; 128 */
	unsigned int cpu_pct;		/* CFS quota, 100 = one CPU; 0 = none */
	unsigned int workspace_mb;	/* /workspace tmpfs and RLIMIT_FSIZE; 64 */
	unsigned int tmp_mb;		/* /tmp tmpfs; 64 */
};

struct sandbox_spec {
	/* [A-Za-z0-9_-]{1,64}: names the cgroup ("enclave-NAME"). */
	const char *name;
	/* The session's network namespace, e.g. /run/netns/NAME. */
	const char *netns_path;
	/* "python" (/usr/bin/python3), "sh" (/bin/sh), "node" (/usr/bin/node). */
	const char *language;
	/* Written into the sandbox as /workspace/main.{py,sh,js}. */
	const void *code;
	size_t code_len;
	struct sandbox_limits limits;
	/* The workload's ids: never 0. */
	uid_t uid;
	gid_t gid;
	/* nameserver for /etc/resolv.conf (v4 or v6 literal), or NULL: none. */
	const char *gateway;
	/* Host directory bound read-only at /opt/enclave, or NULL. */
	const char *helpers_dir;
	/* The caller's ends; -1 means /dev/null (result: fd 3 left closed). */
	int stdout_fd;
	int stderr_fd;
	int result_fd;
};

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

struct sandbox_status {
	int exited;		/* 1: the workload exited with exit_code */
	int exit_code;
	int signal;		/* the signal that ended it, 0 when it exited */
	int killed;		/* sandbox_kill() ended it (timeout, DELETE) */
	int oom;		/* the memory cgroup's OOM killer fired */
	uint64_t wall_ms;
	uint64_t cpu_ms;
	uint64_t mem_peak_bytes;
};

struct sandbox {
	pid_t pid;		/* the sandbox's init, as the caller sees it */
	int pidfd;		/* readable once init has exited; -1 after free */
	int status_fd;		/* init's report of the workload's wait status */
	uint64_t start_ms;	/* monotonic */
	int killed;
	int reaped;
	struct sandbox_status status;	/* valid once reaped */
	struct sandbox_cgroup cg;
};

/*
 * Start the workload. 0 when it has been exec'd; -1 with err set to the
 * step that failed and why ("pivot_root: Invalid argument", "node is not
 * installed"), with nothing left behind.
 */
int sandbox_spawn(const struct sandbox_spec *spec, struct sandbox *out,
    char *err, size_t errlen);

/*
 * Wait up to timeout_ms (0: poll, -1: forever) for the sandbox to end.
 * 0 with *st filled when it has (again on every later call), 1 when it is
 * still running, -1 on an error (errno).
 */
int sandbox_wait(struct sandbox *sb, int timeout_ms, struct sandbox_status *st);

/* Kill everything in the sandbox (SIGKILL to its init). Idempotent. */
int sandbox_kill(struct sandbox *sb);

/* CPU time, peak memory and OOM kills so far, from the cgroups. */
int sandbox_usage(const struct sandbox *sb, struct sandbox_usage *u);

/*
 * The one teardown: kill and reap if still running, remove the cgroups
 * (bounded retry), close fds. -1 when a cgroup could not be removed
 * (logged). Safe to call again, and on a sandbox that sandbox_spawn()
 * failed to fill.
 */
int sandbox_free(struct sandbox *sb);

#endif
