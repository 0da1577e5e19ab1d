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

#include "sessiond/sandbox_cgroup.h"
#include "sessiond/sandbox_spec.h"

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
