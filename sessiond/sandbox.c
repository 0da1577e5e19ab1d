/*
 * The namespace backend's sandbox. See sandbox.h for the contract.
 *
 * Three processes take part:
 *   the caller  validates the spec and prepares everything the sandbox
 *               needs (strings, the seccomp program, cgroups, fds), so the
 *               children never allocate;
 *   init        pid 1 of the new pid namespace, root in the host's user
 *               namespace: builds the root file system, forks the workload,
 *               reaps, reports the workload's wait status, exits (and with
 *               it everything in the sandbox);
 *   workload    drops to the unprivileged ids, no capabilities,
 *               no_new_privs, seccomp, and execs the interpreter.
 *
 * Here is the caller's side; the plan (sandbox_plan.c, with the seccomp
 * program from sandbox_seccomp.c) and the cgroups (sandbox_cgroup.c) are
 * made before clone, and the children run sandbox_child.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "sessiond/sandbox.h"
#include "sessiond/sandbox_cgroup.h"
#include "sessiond/sandbox_child.h"
#include "sessiond/sandbox_plan.h"

#define SANDBOX_SETUP_MS	10000	/* clone to exec, at most */
#define SANDBOX_FREE_WAIT_MS	5000	/* a SIGKILLed sandbox to be gone */

static void
sandbox_close(int *fd)
{
	if (*fd != -1) {
		close(*fd);
		*fd = -1;
	}
}

/*
 * Read the children's setup report: EOF with nothing means every copy of
 * the close-on-exec pipe is gone, i.e. the workload was exec'd.
 */
static int
sandbox_await_exec(int fd, char *err, size_t errlen)
{
	uint64_t deadline = clock_monotonic_ms() + SANDBOX_SETUP_MS, now;
	struct sandbox_msg m;
	struct pollfd pfd = { fd, POLLIN, 0 };
	size_t got = 0;
	ssize_t n;
	int rc;

	for (;;) {
		now = clock_monotonic_ms();
		if (now >= deadline)
			return err_set(err, errlen, "sandbox setup timed out");
		rc = poll(&pfd, 1, (int)(deadline - now));
		if (rc == -1 && errno == EINTR)
			continue;
		if (rc == -1)
			return err_set(err, errlen, "poll: %s", strerror(errno));
		if (rc == 0)
			continue;
		n = read(fd, (char *)&m + got, sizeof(m) - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return err_set(err, errlen, "read setup report: %s",
			    strerror(errno));
		if (n == 0)
			break;
		got += (size_t)n;
		if (got == sizeof(m))
			break;
	}
	if (got == 0)
		return 0;
	if (got != sizeof(m) || m.kind != SANDBOX_MSG_ERROR)
		return err_set(err, errlen, "sandbox setup: garbled report");
	m.what[sizeof(m.what) - 1] = '\0';
	return err_set(err, errlen, "%s: %s", m.what, strerror(m.errnum));
}

static int
sandbox_pidfd_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* Kill and reap a sandbox that never got going (spawn's unwinding). */
static void
sandbox_abort(int pidfd)
{
	siginfo_t si;

	(void)sandbox_pidfd_signal(pidfd, SIGKILL);
	while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED) == -1 &&
	    errno == EINTR)
		;
}

static void
sandbox_clear(struct sandbox *sb)
{
	memset(sb, 0, sizeof(*sb));
	sb->pid = -1;
	sb->pidfd = -1;
	sb->status_fd = -1;
	sb->cg.memory = sb->cg.pids = sb->cg.cpu = sb->cg.cpuacct = -1;
}

int
sandbox_spawn(const struct sandbox_spec *spec, struct sandbox *out,
    char *err, size_t errlen)
{
	struct sandbox_plan *p;
	int sync_p[2] = { -1, -1 }, err_p[2] = { -1, -1 }, st_p[2] = { -1, -1 };
	int pidfd = -1, saved;
	sigset_t all, old;
	pid_t pid;
	char go = 'g';

	sandbox_clear(out);
	if ((p = sandbox_plan_new(spec, err, errlen)) == NULL)
		return -1;
	if (sandbox_cg_create(&out->cg, spec->name, &p->lim, err, errlen) == -1)
		goto fail;
	/* sync is a socket: send() with MSG_NOSIGNAL cannot SIGPIPE the caller. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sync_p) == -1 ||
	    pipe2(err_p, O_CLOEXEC) == -1 || pipe2(st_p, O_CLOEXEC) == -1) {
		err_set(err, errlen, "pipe: %s", strerror(errno));
		goto fail_cg;
	}
	p->sync_r = sync_p[0];
	p->err_w = err_p[1];
	p->status_w = st_p[1];

	/* No handler may run in the child before it resets them. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	out->start_ms = clock_monotonic_ms();
	pid = sandbox_clone(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC |
	    CLONE_NEWUTS, &pidfd);
	saved = errno;
	if (pid == 0)
		sandbox_child_init(p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid == -1) {
		err_set(err, errlen, "clone3: %s", strerror(saved));
		goto fail_pipes;
	}
	sandbox_close(&sync_p[0]);
	sandbox_close(&err_p[1]);
	sandbox_close(&st_p[1]);
	if (sandbox_cg_attach(&out->cg, pid, err, errlen) == -1)
		goto fail_kill;
	if (send(sync_p[1], &go, 1, MSG_NOSIGNAL) != 1) {
		err_set(err, errlen, "start sandbox: %s", strerror(errno));
		goto fail_kill;
	}
	sandbox_close(&sync_p[1]);
	if (sandbox_await_exec(err_p[0], err, errlen) == -1)
		goto fail_kill;
	sandbox_close(&err_p[0]);
	if (fcntl(st_p[0], F_SETFL, O_NONBLOCK) == -1) {
		err_set(err, errlen, "status pipe: %s", strerror(errno));
		goto fail_kill;
	}
	out->pid = pid;
	out->pidfd = pidfd;
	out->status_fd = st_p[0];
	sandbox_plan_free(p);
	return 0;

fail_kill:
	sandbox_abort(pidfd);
	close(pidfd);
fail_pipes:
	sandbox_close(&sync_p[0]);
	sandbox_close(&sync_p[1]);
	sandbox_close(&err_p[0]);
	sandbox_close(&err_p[1]);
	sandbox_close(&st_p[0]);
	sandbox_close(&st_p[1]);
fail_cg:
	sandbox_cg_remove(&out->cg);
fail:
	sandbox_plan_free(p);
	sandbox_clear(out);
	return -1;
}

int
sandbox_kill(struct sandbox *sb)
{
	if (sb->pidfd == -1 || sb->reaped)
		return 0;
	if (sandbox_pidfd_signal(sb->pidfd, SIGKILL) == -1)
		return errno == ESRCH ? 0 : -1;
	sb->killed = 1;
	return 0;
}

int
sandbox_usage(const struct sandbox *sb, struct sandbox_usage *u)
{
	return sandbox_cg_usage(&sb->cg, u);
}

/* The end of a reaped sandbox: init's report of the workload, or init's own. */
static void
sandbox_collect(struct sandbox *sb, const siginfo_t *si)
{
	struct sandbox_status *st = &sb->status;
	struct sandbox_usage u;
	struct sandbox_msg m;
	ssize_t n;

	memset(st, 0, sizeof(*st));
	st->wall_ms = clock_monotonic_ms() - sb->start_ms;
	n = read(sb->status_fd, &m, sizeof(m));
	if (n == (ssize_t)sizeof(m) && m.kind == SANDBOX_MSG_STATUS) {
		if (WIFEXITED(m.wstatus)) {
			st->exited = 1;
			st->exit_code = WEXITSTATUS(m.wstatus);
		} else if (WIFSIGNALED(m.wstatus)) {
			st->signal = WTERMSIG(m.wstatus);
		}
	} else if (si->si_code == CLD_EXITED) {
		/* init ended without a report: its own failure, not the code's. */
		st->exited = 1;
		st->exit_code = si->si_status;
	} else {
		st->signal = si->si_status;
	}
	st->killed = sb->killed;
	(void)sandbox_usage(sb, &u);	/* what could be read; zeros otherwise */
	st->cpu_ms = u.cpu_ms;
	st->mem_peak_bytes = u.mem_peak_bytes;
	st->oom = u.oom_kills > 0;
	sandbox_close(&sb->status_fd);
	sb->reaped = 1;
}

int
sandbox_wait(struct sandbox *sb, int timeout_ms, struct sandbox_status *st)
{
	uint64_t deadline = 0, now;
	struct pollfd pfd;
	siginfo_t si;
	int rc, left = timeout_ms;

	if (sb->reaped) {
		*st = sb->status;
		return 0;
	}
	if (sb->pidfd == -1) {
		errno = EBADF;
		return -1;
	}
	if (timeout_ms > 0)
		deadline = clock_monotonic_ms() + (uint64_t)timeout_ms;
	pfd.fd = sb->pidfd;
	pfd.events = POLLIN;
	for (;;) {
		rc = poll(&pfd, 1, left);
		if (rc > 0)
			break;
		if (rc == 0)
			return 1;
		if (errno != EINTR)
			return -1;
		if (timeout_ms > 0) {
			now = clock_monotonic_ms();
			left = now >= deadline ? 0 : (int)(deadline - now);
		}
	}
	memset(&si, 0, sizeof(si));
	while (waitid((idtype_t)P_PIDFD, (id_t)sb->pidfd, &si, WEXITED) == -1)
		if (errno != EINTR)
			return -1;
	sandbox_collect(sb, &si);
	*st = sb->status;
	return 0;
}

int
sandbox_free(struct sandbox *sb)
{
	struct sandbox_status st;
	int rc = 0;

	if (sb->pidfd != -1 && !sb->reaped) {
		sandbox_kill(sb);
		if (sandbox_wait(sb, SANDBOX_FREE_WAIT_MS, &st) != 0) {
			log_warnx("sandbox: pid %d did not die; its cgroups stay",
			    (int)sb->pid);
			return -1;	/* pidfd kept: a later free retries */
		}
	}
	sandbox_close(&sb->pidfd);
	sandbox_close(&sb->status_fd);
	if (sandbox_cg_remove(&sb->cg) == -1)
		rc = -1;
	return rc;
}
