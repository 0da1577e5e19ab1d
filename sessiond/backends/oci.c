/*
 * The OCI backends: `oci-runc`, `oci-crun` and `gvisor` (runsc). One driver
 * writes a bundle (sessiond/oci_bundle.h) into the run's directory and
 * runs the runtime's CLI in the foreground:
 *
 *	RUNTIME --root STATE/runtime/BACKEND run --bundle DIR --pid-file DIR/pid
 *	    [--preserve-fds 1] NAME
 *
 * as a child held by a pidfd, with the workload's stdout and stderr as its
 * own and the result pipe as fd 3 (runsc, which cannot pass fds, gets it
 * as stdin and the bundle moves it to fd 3). start() returns once the
 * container runs (the pid file; for runsc also its state file, as runsc
 * writes the pid file before its start can still fail), or with the
 * runtime's logged error. The container joins the session netns by path;
 * gVisor in host network mode instead runs runsc itself inside that netns
 * (setns before exec), so the Sentry's host-stack syscalls happen there,
 * and runsc's kill and delete go there too, its control socket being an
 * abstract one.
 *
 * gVisor also differs in: --oci-seccomp (runsc ignores the bundle's
 * seccomp otherwise) without the clone3 rule (this runsc answers EPERM
 * whatever errnoRet says); the pids limit, enforced as RLIMIT_NPROC by
 * gVisor's own kernel, while the host cgroup's pids limit also holds the
 * Sentry's threads and its per-process ptrace stubs; and the memory limit,
 * which covers the Sentry as well as the workload.
 *
 * Cgroups: sandbox_cg_create() makes "enclave-NAME" below sessiond's own
 * cgroup with the session's limits, and the container's cgroup is its
 * child "ctr", so CPU and peak memory can still be read after the runtime
 * has removed its own. The container's memory limit sits a little above
 * the parent's: the parent's limit is the one that trips, and on cgroup v1
 * (where a memcg counts only its own tasks' OOM kills) an eventfd on the
 * parent's memory.oom_control is what sees it. crun, which refuses a
 * v1/v2 hybrid host and resolves cgroupsPath from each hierarchy's root,
 * runs in a private mount namespace with the unified hierarchy unmounted
 * and sessiond's own cgroup bound over each hierarchy's root.
 *
 * Exit status: the runtimes report a container killed by signal N as
 * 128+N, the way a shell does. A status of 129..192 (N a signal number,
 * 1..64) is taken to be signal N: every end the session layer has to
 * explain (timeout and DELETE kills, OOM kills, crashes) is a signal,
 * while a workload choosing exit(129..192) is rare; such a workload is
 * reported as signalled. 128 and below are exit codes (runsc's own
 * failure is 128).
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/magic.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "sessiond/backend.h"
#include "sessiond/oci_bundle.h"
#include "sessiond/sandbox_cgroup.h"
#include "sessiond/sandbox_child.h"
#include "sessiond/sandbox_plan.h"
#include "sessiond/sdconfig.h"

#define OCI_CG_CHILD		"ctr"
#define OCI_MEM_HEADROOM	(4ULL * 1024 * 1024)	/* > a THP charge */
#define OCI_EXEC_MS		5000	/* clone to the runtime's exec */
#define OCI_CMD_MS		5000	/* kill, delete, list */
#define OCI_VERSION_MS		2000	/* probe's --version */
#define OCI_GRACE_MS		2000	/* the runtime to end after kill */
#define OCI_PROBE_CACHE_MS	5000
#define OCI_OUT_MAX		8192	/* a command's captured output */
#define OCI_ARGV_MAX		32
#define OCI_DIR_MAX		(PATH_MAX - 256) /* + a file name */
/* Host tasks of a gVisor sandbox: ~40 for an idle Sentry (Go threads),
 * then ~6 per workload process on the ptrace platform (its stub). */
#define OCI_GVISOR_PIDS_BASE	128
#define OCI_GVISOR_PIDS_PER_TASK 8

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC	(1U << 2)
#endif

enum oci_kind { OCI_RUNC, OCI_CRUN, OCI_RUNSC };

/* probe()'s last answer: it is asked on every POST. */
struct oci_probe_cache {
	const struct sdconfig *cfg;
	uint64_t at_ms;
	int ok;
	char reason[256];
};

struct oci_driver {
	const char *backend;		/* "oci-runc" */
	const char *runtime;		/* default binary, looked up in PATH */
	const char *package;		/* Debian's package, for the reason */
	enum oci_kind kind;
	int start_ms;			/* run to the container's pid file */
	const char *const *keys;	/* the options it knows */
	struct oci_probe_cache *cache;
};

/* A runtime invocation, prepared before clone: the child only copies. */
struct oci_exec {
	const char *path;
	char *const *argv;
	int fd[4];		/* its 0..3; -1: /dev/null (3: closed) */
	int netfd;		/* setns() before exec; -1: stay */
	int private_mnt;	/* crun: its own mount namespace, set up so */
	char umount[SANDBOX_CG_PATH_MAX];	/* "": nothing to unmount */
	int nbinds;
	char bind_src[SANDBOX_CG_HIER_MAX][SANDBOX_CG_PATH_MAX];
	char bind_dst[SANDBOX_CG_HIER_MAX][SANDBOX_CG_PATH_MAX];
	int err_w;
};

/* The options and paths one call works with. */
struct oci_ctx {
	const struct oci_driver *drv;
	char path[PATH_MAX];		/* the runtime binary */
	char root[OCI_DIR_MAX];		/* its --root */
	int net_host;			/* gvisor: host (1) or sandbox */
};

struct backend_run {
	struct oci_ctx ctx;
	char id[SANDBOX_NAME_MAX + 1];
	char dir[OCI_DIR_MAX];		/* the bundle: spec->run_dir */
	int made_dir;
	struct sandbox_cgroup cg;
	int oom_efd;			/* v1: parent OOM notifications; -1 */
	int netfd;			/* gvisor host mode: session netns */
	pid_t pid;			/* the runtime's `run` */
	int pidfd;
	int started;			/* oci_started() said so */
	int reaped;
	struct backend_status st;
	struct backend_usage usage;
};

static const char *const oci_keys_runtime[] = { "runtime", NULL };
static const char *const oci_keys_gvisor[] = { "runtime", "network", NULL };
static const char *const oci_env[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	NULL,
};

static struct oci_probe_cache oci_cache_runc, oci_cache_crun, oci_cache_runsc;

static const struct oci_driver oci_runc = {
	"oci-runc", "runc", "runc", OCI_RUNC, 10000, oci_keys_runtime,
	&oci_cache_runc,
};
static const struct oci_driver oci_crun = {
	"oci-crun", "crun", "crun", OCI_CRUN, 10000, oci_keys_runtime,
	&oci_cache_crun,
};
static const struct oci_driver oci_runsc = {
	"gvisor", "runsc", "runsc", OCI_RUNSC, 30000, oci_keys_gvisor,
	&oci_cache_runsc,
};

#define OCI_GVISOR_HOST "gVisor userspace kernel (runsc, ptrace platform); " \
	"network: host stack of the session netns (the Sentry's network " \
	"syscalls reach the host kernel's stack, inside the enforcement netns)"
#define OCI_GVISOR_SANDBOX "gVisor userspace kernel (runsc, ptrace " \
	"platform); network: gVisor's own netstack (no network syscall " \
	"reaches the host kernel; packets leave through the session netns)"

/* What GET /v1/backends says for gvisor: probe() sets it by the mode. */
static char oci_gvisor_isolation[256] = OCI_GVISOR_HOST;

static void
oci_close(int *fd)
{
	if (*fd != -1) {
		close(*fd);
		*fd = -1;
	}
}

/* SRC into DST[0..len), whole or not at all. */
static int
oci_copy(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

/* SRC into DST[0..len), cut to fit; DST NULL: nowhere. */
static void
oci_trunc(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (dst == NULL || len == 0)
		return;
	if (n >= len)
		n = len - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static int
oci_pidfd_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* Poll FD for reading until DEADLINE (monotonic ms): 1 ready, 0 not. */
static int
oci_poll_until(int fd, uint64_t deadline)
{
	struct pollfd p = { fd, POLLIN, 0 };
	uint64_t now;
	int rc;

	for (;;) {
		now = clock_monotonic_ms();
		rc = poll(&p, 1, now >= deadline ? 0 : (int)(deadline - now));
		if (rc > 0)
			return 1;
		if (rc == 0 || errno != EINTR)
			return 0;
	}
}

/* ---- cgroup hierarchies ---------------------------------------------- */

/*
 * crun's view of the cgroups: no unified hierarchy on a hybrid host (crun
 * 1.8 refuses one), and sessiond's own cgroup at each hierarchy's root, as
 * crun resolves cgroupsPath from there while runc and runsc start from
 * their own cgroup.
 */
static int
oci_crun_mounts(struct oci_exec *x, char *err, size_t errlen)
{
	struct sandbox_cg_hier h[SANDBOX_CG_HIER_MAX];
	struct statfs sf;
	int n, i, hybrid;

	x->private_mnt = 1;
	if ((n = sandbox_cg_hiers(h, SANDBOX_CG_HIER_MAX)) == -1)
		return err_set(err, errlen, "/proc/self/cgroup: %s",
		    strerror(errno));
	hybrid = statfs("/sys/fs/cgroup", &sf) == 0 &&
	    sf.f_type != CGROUP2_SUPER_MAGIC;
	for (i = 0; i < n; i++) {
		if (h[i].v2 && hybrid) {
			if (oci_copy(x->umount, sizeof(x->umount),
			    h[i].mnt) == -1)
				goto toolong;
			continue;
		}
		if (strcmp(h[i].own, h[i].mnt) == 0)
			continue;
		if (oci_copy(x->bind_src[x->nbinds], SANDBOX_CG_PATH_MAX,
		    h[i].own) == -1 ||
		    oci_copy(x->bind_dst[x->nbinds], SANDBOX_CG_PATH_MAX,
		    h[i].mnt) == -1)
			goto toolong;
		x->nbinds++;
	}
	return 0;
toolong:
	return err_set(err, errlen, "cgroup mount path too long");
}

/* ---- running the runtime ---------------------------------------------- */

/* Tell the caller which step failed, and why; never returns. */
static void __attribute__((noreturn))
oci_child_fail(const struct oci_exec *x, const char *what)
{
	struct sandbox_msg m;
	size_t n = strlen(what);
	ssize_t w;

	memset(&m, 0, sizeof(m));
	m.kind = SANDBOX_MSG_ERROR;
	m.errnum = errno;
	if (n >= sizeof(m.what))
		n = sizeof(m.what) - 1;
	memcpy(m.what, what, n);
	do
		w = write(x->err_w, &m, sizeof(m));
	while (w == -1 && errno == EINTR);
	_exit(127);
}

/* A copy of FD at 10 or above, so 0..3 can be filled without clobbering. */
static int
oci_child_lift(const struct oci_exec *x, int fd)
{
	int nfd;

	if (fd < 0)
		return -1;
	if ((nfd = fcntl(fd, F_DUPFD_CLOEXEC, 10)) == -1)
		oci_child_fail(x, "dup");
	return nfd;
}

/*
 * The runtime's child of sandbox_clone(): system calls only (sessiond's
 * other state, its locks included, is a copy that must not be touched).
 */
static void __attribute__((noreturn))
oci_child(const struct oci_exec *x)
{
	struct sigaction sa;
	sigset_t none;
	int fd[4], null, i, sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	/* sessiond dies, the runtime dies; its sweep then deletes the rest. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == -1)
		oci_child_fail(x, "prctl");
	for (i = 0; i < 4; i++)
		fd[i] = oci_child_lift(x, x->fd[i]);
	if (x->netfd >= 0 && setns(x->netfd, CLONE_NEWNET) == -1)
		oci_child_fail(x, "setns");
	if (x->private_mnt) {
		if (unshare(CLONE_NEWNS) == -1)
			oci_child_fail(x, "unshare mount namespace");
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1)
			oci_child_fail(x, "make mounts private");
		if (x->umount[0] != '\0' &&
		    umount2(x->umount, MNT_DETACH) == -1)
			oci_child_fail(x, "umount unified cgroup hierarchy");
		for (i = 0; i < x->nbinds; i++)
			if (mount(x->bind_src[i], x->bind_dst[i], NULL, MS_BIND,
			    NULL) == -1)
				oci_child_fail(x, "bind own cgroup");
	}
	if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
		oci_child_fail(x, "open /dev/null");
	null = oci_child_lift(x, null);
	for (i = 0; i < 3; i++)
		if (dup2(fd[i] >= 0 ? fd[i] : null, i) == -1)
			oci_child_fail(x, "dup2");
	if (fd[3] >= 0) {
		if (dup2(fd[3], 3) == -1)
			oci_child_fail(x, "dup2");
	} else if (close(3) == -1 && errno != EBADF) {
		oci_child_fail(x, "close");
	}
	/* Nothing of sessiond's (listeners, sockets) follows the runtime;
	 * err_w goes at exec, which is how the caller learns it happened. */
	if (syscall(SYS_close_range, fd[3] >= 0 ? 4U : 3U, ~0U,
	    CLOSE_RANGE_CLOEXEC) == -1)
		oci_child_fail(x, "close_range");
	execve(x->path, x->argv, (char *const *)oci_env);
	oci_child_fail(x, "execve");
}

/*
 * Start the runtime as X says; 0 once it has exec'd, with its pid and a
 * pidfd, or -1 with err naming the step that failed (nothing left).
 */
static int
oci_spawn(struct oci_exec *x, pid_t *pidp, int *pidfdp, char *err,
    size_t errlen)
{
	struct sandbox_msg m;
	sigset_t all, old;
	int p[2], pidfd = -1, saved;
	siginfo_t si;
	ssize_t n = 0;
	pid_t pid;

	memset(&m, 0, sizeof(m));
	if (pipe2(p, O_CLOEXEC) == -1)
		return err_set(err, errlen, "pipe: %s", strerror(errno));
	x->err_w = p[1];
	/* No handler of sessiond's may run in the child before it resets. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = sandbox_clone(0, &pidfd);
	if (pid == 0)
		oci_child(x);
	saved = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(p[1]);
	if (pid == -1) {
		close(p[0]);
		return err_set(err, errlen, "clone3: %s", strerror(saved));
	}
	/* EOF: every copy of the close-on-exec pipe is gone, i.e. exec'd. */
	if (oci_poll_until(p[0], clock_monotonic_ms() + OCI_EXEC_MS)) {
		do
			n = read(p[0], &m, sizeof(m));
		while (n == -1 && errno == EINTR);
	} else {
		n = -1;
		m.errnum = ETIMEDOUT;
		snprintf(m.what, sizeof(m.what), "exec");
	}
	close(p[0]);
	if (n == 0) {
		*pidp = pid;
		*pidfdp = pidfd;
		return 0;
	}
	if (n == (ssize_t)sizeof(m))
		m.what[sizeof(m.what) - 1] = '\0';
	else if (n != -1)
		snprintf(m.what, sizeof(m.what), "start");
	err_set(err, errlen, "%s %s: %s", x->path, m.what,
	    strerror(m.errnum != 0 ? m.errnum : EIO));
	(void)oci_pidfd_signal(pidfd, SIGKILL);
	while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED) == -1 &&
	    errno == EINTR)
		;
	close(pidfd);
	return -1;
}

/* The runtime's global flags, then ARGS: argv for oci_exec. */
static int
oci_argv(const struct oci_ctx *c, const char *log, const char *const *args,
    const char **argv)
{
	int n = 0;

	argv[n++] = c->path;
	argv[n++] = "--root";
	argv[n++] = c->root;
	if (log != NULL) {
		argv[n++] = "--log";
		argv[n++] = log;
		argv[n++] = "--log-format";
		argv[n++] = "json";
	}
	if (c->drv->kind == OCI_RUNSC) {
		argv[n++] = "--platform=ptrace";
		argv[n++] = c->net_host ? "--network=host" :
		    "--network=sandbox";
		/* By default runsc ignores the bundle's seccomp section. */
		argv[n++] = "--oci-seccomp";
	}
	while (*args != NULL && n < OCI_ARGV_MAX - 1)
		argv[n++] = *args++;
	argv[n] = NULL;
	return *args == NULL ? 0 : -1;
}

/* An exec plan for CTX (crun's mounts, no fds yet); freed with free(). */
static struct oci_exec *
oci_exec_new(const struct oci_ctx *c, const char **argv, char *err,
    size_t errlen)
{
	struct oci_exec *x;
	int i;

	if ((x = calloc(1, sizeof(*x))) == NULL) {
		err_set(err, errlen, "out of memory");
		return NULL;
	}
	x->path = c->path;
	x->argv = (char *const *)argv;
	x->netfd = -1;
	x->err_w = -1;
	for (i = 0; i < 4; i++)
		x->fd[i] = -1;
	if (c->drv->kind == OCI_CRUN && oci_crun_mounts(x, err, errlen) == -1) {
		free(x);
		return NULL;
	}
	return x;
}

/* Read what is there from *FD into BUF (NUL-terminated, capped); close it
 * at EOF. */
static void
oci_drain(int *fd, char *buf, size_t cap, size_t *len)
{
	char scratch[512];
	ssize_t n;

	for (;;) {
		if (*len + 1 < cap)
			n = read(*fd, buf + *len, cap - 1 - *len);
		else
			n = read(*fd, scratch, sizeof(scratch));
		if (n > 0) {
			if (*len + 1 < cap)
				*len += (size_t)n;
			buf[*len] = '\0';
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == 0 || errno != EAGAIN)
			oci_close(fd);
		return;
	}
}

/*
 * Run the runtime with ARGS to its end, within TIMEOUT_MS (then it is
 * killed); its stdout in OUT and stderr in ERRTXT (both may be NULL).
 * 0 with *status its exit code (-1: killed by a signal), or -1 with err
 * set.
 */
static int
oci_cmd(const struct oci_ctx *c, int netfd, const char *const *args,
    int timeout_ms, int *status, char *out, size_t outlen, char *errtxt,
    size_t errtxtlen, char *err, size_t errlen)
{
	const char *argv[OCI_ARGV_MAX];
	char obuf[OCI_OUT_MAX], ebuf[OCI_OUT_MAX];
	size_t olen = 0, elen = 0;
	int po[2] = { -1, -1 }, pe[2] = { -1, -1 }, pidfd = -1, rc = -1, i, np;
	struct pollfd pfd[3];
	struct oci_exec *x;
	uint64_t deadline;
	siginfo_t si;
	pid_t pid;

	obuf[0] = ebuf[0] = '\0';
	if (oci_argv(c, NULL, args, argv) == -1)
		return err_set(err, errlen, "too many arguments");
	if ((x = oci_exec_new(c, argv, err, errlen)) == NULL)
		return -1;
	x->netfd = netfd;
	if (pipe2(po, O_CLOEXEC | O_NONBLOCK) == -1 ||
	    pipe2(pe, O_CLOEXEC | O_NONBLOCK) == -1) {
		err_set(err, errlen, "pipe: %s", strerror(errno));
		goto out;
	}
	x->fd[1] = po[1];
	x->fd[2] = pe[1];
	if (oci_spawn(x, &pid, &pidfd, err, errlen) == -1)
		goto out;
	oci_close(&po[1]);
	oci_close(&pe[1]);
	deadline = clock_monotonic_ms() + (uint64_t)timeout_ms;
	/* Its pipes first: a runtime blocked on a full pipe never exits. */
	while (po[0] != -1 || pe[0] != -1) {
		uint64_t now = clock_monotonic_ms();

		np = 0;
		if (po[0] != -1)
			pfd[np++] = (struct pollfd){ po[0], POLLIN, 0 };
		if (pe[0] != -1)
			pfd[np++] = (struct pollfd){ pe[0], POLLIN, 0 };
		if (now >= deadline ||
		    (poll(pfd, (nfds_t)np, (int)(deadline - now)) == -1 &&
		    errno != EINTR))
			break;
		if (po[0] != -1)
			oci_drain(&po[0], obuf, sizeof(obuf), &olen);
		if (pe[0] != -1)
			oci_drain(&pe[0], ebuf, sizeof(ebuf), &elen);
	}
	if (!oci_poll_until(pidfd, deadline)) {
		(void)oci_pidfd_signal(pidfd, SIGKILL);
		err_set(err, errlen, "%s %s: no answer in %d ms",
		    c->drv->runtime, args[0], timeout_ms);
	} else {
		rc = 0;
	}
	memset(&si, 0, sizeof(si));
	while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED) == -1)
		if (errno != EINTR)
			break;
	if (rc == 0)
		*status = si.si_code == CLD_EXITED ? si.si_status : -1;
out:
	for (i = 0; i < 2; i++) {
		oci_close(&po[i]);
		oci_close(&pe[i]);
	}
	if (pidfd != -1)
		close(pidfd);
	free(x);
	oci_trunc(out, outlen, obuf);
	oci_trunc(errtxt, errtxtlen, ebuf);
	return rc;
}

/* ---- options, probe ----------------------------------------------------- */

/* NAME looked up in PATH and then the usual system directories. */
static int
oci_which(const char *name, char *out, size_t len)
{
	static const char fallback[] =
	    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	const char *lists[2] = { getenv("PATH"), fallback };
	char dir[PATH_MAX];
	const char *p, *c;
	int l;

	for (l = 0; l < 2; l++) {
		for (p = lists[l]; p != NULL && *p != '\0';
		    p = *c != '\0' ? c + 1 : c) {
			if ((c = strchr(p, ':')) == NULL)
				c = p + strlen(p);
			/* Relative PATH entries: never. */
			if (c == p || *p != '/' ||
			    (size_t)(c - p) >= sizeof(dir))
				continue;
			snprintf(dir, sizeof(dir), "%.*s", (int)(c - p), p);
			if ((size_t)snprintf(out, len, "%s/%s", dir, name) <
			    len && access(out, X_OK) == 0)
				return 0;
		}
	}
	return -1;
}

/*
 * CTX for DRV under CFG: its options checked, its runtime found, its root
 * named. -1 with reason set ("config: unknown option KEY", "runc not
 * found in PATH (apt-get install runc)").
 */
static int
oci_ctx_init(const struct oci_driver *drv, const struct sdconfig *cfg,
    struct oci_ctx *c, char *reason, size_t len)
{
	const char *rt, *net;
	size_t i, k;
	int known;

	memset(c, 0, sizeof(*c));
	c->drv = drv;
	for (i = 0; i < cfg->nbackend_opts; i++) {
		if (strcmp(cfg->backend_opts[i].backend, drv->backend) != 0)
			continue;
		for (k = 0, known = 0; drv->keys[k] != NULL; k++)
			if (strcmp(cfg->backend_opts[i].key, drv->keys[k]) == 0)
				known = 1;
		if (!known)
			return err_set(reason, len, "config: unknown option %s",
			    cfg->backend_opts[i].key);
	}
	net = sdconfig_backend_opt(cfg, drv->backend, "network");
	c->net_host = net == NULL || strcmp(net, "host") == 0;
	if (net != NULL && !c->net_host && strcmp(net, "sandbox") != 0)
		return err_set(reason, len, "config: network must be host or "
		    "sandbox");
	if ((rt = sdconfig_backend_opt(cfg, drv->backend, "runtime")) == NULL)
		rt = drv->runtime;
	if (rt[0] == '/') {
		if (oci_copy(c->path, sizeof(c->path), rt) == -1 ||
		    access(c->path, X_OK) == -1)
			return err_set(reason, len, "runtime %s: %s", rt,
			    strerror(errno));
	} else if (strchr(rt, '/') != NULL) {
		return err_set(reason, len, "config: runtime must be a name or "
		    "an absolute path");
	} else if (oci_which(rt, c->path, sizeof(c->path)) == -1) {
		return err_set(reason, len, "%s not found in PATH (apt-get "
		    "install %s)", rt, strcmp(rt, drv->runtime) == 0 ?
		    drv->package : rt);
	}
	if ((size_t)snprintf(c->root, sizeof(c->root), "%s/runtime/%s",
	    cfg->state_dir, drv->backend) >= sizeof(c->root))
		return err_set(reason, len, "state_dir too long");
	return 0;
}

/*
 * This runsc takes a netns in which /proc/sys/net/core/rmem_default
 * exists for the root one and will not start its own network there;
 * kernels that made that sysctl per-netns show it in every netns. Look
 * from a fresh netns, as the session's will be: 1 when runsc's network
 * can start.
 */
static int
oci_runsc_sandbox_net_ok(void)
{
	sigset_t all, old;
	siginfo_t si;
	int pidfd = -1;
	pid_t pid;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = sandbox_clone(CLONE_NEWNET, &pidfd);
	if (pid == 0)
		_exit(access("/proc/sys/net/core/rmem_default", F_OK) == 0);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid == -1)
		return 1;	/* cannot tell: runsc will say */
	memset(&si, 0, sizeof(si));
	while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED) == -1 &&
	    errno == EINTR)
		;
	close(pidfd);
	return !(si.si_code == CLD_EXITED && si.si_status == 1);
}

static int
oci_probe_uncached(const struct oci_driver *drv, const struct sdconfig *cfg,
    char *reason, size_t len)
{
	static const char *const version[] = { "--version", NULL };
	struct oci_ctx c;
	char e[256], out[256];
	int st;

	if (geteuid() != 0)
		return err_set(reason, len, "needs root (namespaces, cgroups)");
	if (oci_ctx_init(drv, cfg, &c, reason, len) == -1)
		return -1;
	if (drv->kind == OCI_RUNSC && !c.net_host &&
	    !oci_runsc_sandbox_net_ok())
		return err_set(reason, len, "network sandbox: this runsc takes "
		    "every netns for the root one on this kernel "
		    "(net.core.rmem_default is per netns) and will not start "
		    "its network; use `backend gvisor network host`");
	if (oci_cmd(&c, -1, version, OCI_VERSION_MS, &st, out, sizeof(out),
	    NULL, 0, e, sizeof(e)) == -1)
		return err_set(reason, len, "%s", e);
	if (st != 0)
		return err_set(reason, len, "%s --version failed", c.path);
	return 0;
}

static int
oci_probe(const struct oci_driver *drv, const struct sdconfig *cfg,
    char *reason, size_t len)
{
	struct oci_probe_cache *pc = drv->cache;
	uint64_t now = clock_monotonic_ms();
	const char *net;

	if (drv->kind == OCI_RUNSC) {
		net = sdconfig_backend_opt(cfg, drv->backend, "network");
		snprintf(oci_gvisor_isolation, sizeof(oci_gvisor_isolation),
		    "%s", net != NULL && strcmp(net, "sandbox") == 0 ?
		    OCI_GVISOR_SANDBOX : OCI_GVISOR_HOST);
	}
	if (pc->cfg != cfg || pc->at_ms == 0 ||
	    now - pc->at_ms >= OCI_PROBE_CACHE_MS) {
		pc->ok = oci_probe_uncached(drv, cfg, pc->reason,
		    sizeof(pc->reason)) == 0;
		if (pc->ok)
			pc->reason[0] = '\0';
		pc->cfg = cfg;
		pc->at_ms = now;
	}
	if (reason != NULL && len > 0)
		snprintf(reason, len, "%s", pc->reason);
	return pc->ok;
}

/* ---- the bundle --------------------------------------------------------- */

static int
oci_write_file(const char *path, const void *buf, size_t len, mode_t mode)
{
	const char *b = buf;
	ssize_t n;
	int fd, saved;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    mode);
	if (fd == -1)
		return -1;
	while (len > 0) {
		n = write(fd, b, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			saved = errno;
			close(fd);
			errno = saved;
			return -1;
		}
		b += n;
		len -= (size_t)n;
	}
	return close(fd);
}

/* mkdir -p of REL below BASE, each made MODE. */
static int
oci_mkdirs(const char *base, const char *rel, mode_t mode)
{
	char path[PATH_MAX], *s;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", base, rel) >=
	    sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (s = path + strlen(base) + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		if (mkdir(path, mode) == -1 && errno != EEXIST)
			return -1;
		*s = '/';
	}
	return mkdir(path, mode) == -1 && errno != EEXIST ? -1 : 0;
}

/*
 * The host paths the bundle exposes, as they are here: directories and
 * files bound, links recreated (bin -> usr/bin). Strings in LINKS.
 */
static size_t
oci_host_paths(struct oci_expose *ex, char links[][PATH_MAX])
{
	char src[PATH_MAX];
	struct stat st;
	ssize_t n;
	size_t i, k = 0;

	for (i = 0; sandbox_plan_host_paths[i] != NULL; i++) {
		snprintf(src, sizeof(src), "/%s", sandbox_plan_host_paths[i]);
		if (lstat(src, &st) == -1)
			continue;
		ex[k].rel = sandbox_plan_host_paths[i];
		ex[k].link = NULL;
		if (S_ISLNK(st.st_mode)) {
			if ((n = readlink(src, links[k], PATH_MAX - 1)) <= 0)
				continue;
			links[k][n] = '\0';
			ex[k].kind = OCI_EXPOSE_LINK;
			ex[k].link = links[k];
		} else if (S_ISDIR(st.st_mode)) {
			ex[k].kind = OCI_EXPOSE_DIR;
		} else if (S_ISREG(st.st_mode)) {
			ex[k].kind = OCI_EXPOSE_FILE;
		} else {
			continue;
		}
		k++;
	}
	return k;
}

/* The root's skeleton: mount points, merged-/usr links, generated /etc. */
static int
oci_rootfs(const char *dir, const struct oci_bundle_spec *bs, char *err,
    size_t errlen)
{
	static const char *const dirs[] = {
		"proc", "dev", "etc", "workspace", "tmp", "opt/enclave",
	};
	struct sandbox_etc_file etc[SANDBOX_ETC_FILES];
	char root[PATH_MAX], path[PATH_MAX * 2], *slash;
	size_t i, n;

	snprintf(root, sizeof(root), "%s/%s", dir, OCI_BUNDLE_ROOTFS);
	if (mkdir(root, 0755) == -1)
		return err_set(err, errlen, "mkdir %s: %s", root,
		    strerror(errno));
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (oci_mkdirs(root, dirs[i], 0755) == -1)
			return err_set(err, errlen, "mkdir %s/%s: %s", root,
			    dirs[i], strerror(errno));
	/* runsc's gofer will not make mount points in a read-only root. */
	for (i = 0; i < bs->nexpose; i++) {
		const struct oci_expose *e = &bs->expose[i];

		snprintf(path, sizeof(path), "%s/%s", root, e->rel);
		if ((slash = strrchr(e->rel, '/')) != NULL) {
			char parent[PATH_MAX];

			snprintf(parent, sizeof(parent), "%.*s",
			    (int)(slash - e->rel), e->rel);
			if (oci_mkdirs(root, parent, 0755) == -1)
				goto fail;
		}
		if ((e->kind == OCI_EXPOSE_DIR && mkdir(path, 0755) == -1) ||
		    (e->kind == OCI_EXPOSE_FILE &&
		    oci_write_file(path, "", 0, 0444) == -1) ||
		    (e->kind == OCI_EXPOSE_LINK &&
		    symlink(e->link, path) == -1))
			goto fail;
	}
	n = oci_bundle_etc(bs, etc);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/etc/%s", root, etc[i].name);
		if (oci_write_file(path, etc[i].text, strlen(etc[i].text),
		    0644) == -1)
			goto fail;
	}
	return 0;
fail:
	return err_set(err, errlen, "bundle: %s: %s", path, strerror(errno));
}

/* Write config.json, the root and the code into the run's directory. */
static int
oci_bundle_write(struct backend_run *run, const struct backend_spec *spec,
    const struct sandbox_limits *lim, const struct sandbox_limits *cglim,
    char *err, size_t errlen)
{
	struct oci_expose ex[SANDBOX_HOST_PATHS];
	char (*links)[PATH_MAX] = NULL;
	struct oci_bundle_spec bs;
	const struct sandbox_lang *lang;
	char code[PATH_MAX], cgpath[128], helpers[PATH_MAX], path[PATH_MAX];
	char *text = NULL;
	int rc = -1;
	json_t *cfg;

	memset(&bs, 0, sizeof(bs));
	if ((lang = sandbox_plan_lang(spec->language)) == NULL)
		return err_set(err, errlen,
		    "unknown language (python, sh, node)");
	if (access(lang->interp, X_OK) == -1)
		return err_set(err, errlen, "%s is not installed", lang->name);
	snprintf(code, sizeof(code), "%s%s", run->dir,
	    strrchr(lang->file, '/'));
	if (spec->helpers_dir != NULL) {
		if (realpath(spec->helpers_dir, helpers) == NULL)
			return err_set(err, errlen, "helpers %s: %s",
			    spec->helpers_dir, strerror(errno));
		bs.helpers_dir = helpers;
	}
	/* crun resolves it from the hierarchies' roots, where sessiond's own
	 * cgroup is bound for it; runc and runsc from their own cgroup. */
	snprintf(cgpath, sizeof(cgpath), "%s%s%s/%s",
	    run->ctx.drv->kind == OCI_CRUN ? "/" : "", SANDBOX_CG_PREFIX,
	    run->id, OCI_CG_CHILD);
	bs.language = spec->language;
	bs.code_source = code;
	bs.netns_path = run->netfd == -1 ? spec->netns_path : NULL;
	bs.cgroups_path = cgpath;
	bs.gateway = spec->gateway;
	bs.uid = spec->uid;
	bs.gid = spec->gid;
	bs.limits = *lim;
	bs.cgroup_pids = cglim->pids;
	if (run->ctx.drv->kind == OCI_RUNSC)
		bs.nproc = lim->pids;
	bs.memory_headroom = OCI_MEM_HEADROOM;
	bs.result_fd = spec->result_fd >= 0;
	bs.result_on_stdin = run->ctx.drv->kind == OCI_RUNSC;
	bs.seccomp_eperm_only = run->ctx.drv->kind == OCI_RUNSC;
	if ((links = calloc(SANDBOX_HOST_PATHS, sizeof(*links))) == NULL)
		return err_set(err, errlen, "out of memory");
	bs.expose = ex;
	bs.nexpose = oci_host_paths(ex, links);
	if (getrlimit(RLIMIT_NOFILE, &bs.caller_nofile) == -1 ||
	    getrlimit(RLIMIT_FSIZE, &bs.caller_fsize) == -1 ||
	    getrlimit(RLIMIT_CORE, &bs.caller_core) == -1 ||
	    getrlimit(RLIMIT_NPROC, &bs.caller_nproc) == -1) {
		err_set(err, errlen, "getrlimit: %s", strerror(errno));
		free(links);
		return -1;
	}
	if ((cfg = oci_bundle_config(&bs, err, errlen)) == NULL) {
		free(links);
		return -1;
	}
	if ((text = json_dumps(cfg, JSON_INDENT(1) | JSON_SORT_KEYS)) == NULL) {
		err_set(err, errlen, "config.json: out of memory");
		goto out;
	}
	if (oci_rootfs(run->dir, &bs, err, errlen) == -1)
		goto out;
	if (oci_write_file(code, spec->code, spec->code_len, 0644) == -1) {
		err_set(err, errlen, "bundle: %s: %s", code, strerror(errno));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/config.json", run->dir);
	if (oci_write_file(path, text, strlen(text), 0600) == -1) {
		err_set(err, errlen, "bundle: %s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(text);
	json_decref(cfg);
	free(links);
	return rc;
}

/* The first error the runtime logged (JSON lines, or runsc's run-on
 * objects), for start()'s err. */
static void
oci_log_error(const struct backend_run *run, char *buf, size_t len)
{
	char path[PATH_MAX], text[OCI_OUT_MAX];
	json_error_t je;
	const char *p;
	size_t n;
	json_t *o;
	FILE *f;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "%s/runtime.log", run->dir);
	if ((f = fopen(path, "re")) == NULL)
		return;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	for (p = text; *p != '\0' && buf[0] == '\0'; ) {
		while (*p == '\n' || *p == ' ')
			p++;
		if (*p == '\0')
			break;
		if ((o = json_loads(p, JSON_DISABLE_EOF_CHECK, &je)) == NULL ||
		    je.position <= 0) {
			json_decref(o);
			break;
		}
		if (json_is_string(json_object_get(o, "level")) &&
		    strcmp(json_string_value(json_object_get(o, "level")),
		    "error") == 0 && json_is_string(json_object_get(o, "msg")))
			snprintf(buf, len, "%s", json_string_value(
			    json_object_get(o, "msg")));
		json_decref(o);
		p += je.position;
	}
}

/* ---- the run ------------------------------------------------------------ */

/* v1: count OOMs in the parent, whose counter only sees its own tasks'. */
static int
oci_oom_watch(struct backend_run *run, char *err, size_t errlen)
{
	const char *m;
	char path[SANDBOX_CG_PATH_MAX + 32], line[64];
	int ofd, cfd, saved;

	if (run->cg.v2 || run->cg.memory < 0)
		return 0;	/* v2's memory.events is hierarchical */
	m = run->cg.dir[run->cg.memory];
	if ((run->oom_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1)
		return err_set(err, errlen, "eventfd: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/memory.oom_control", m);
	if ((ofd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return err_set(err, errlen, "%s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/cgroup.event_control", m);
	snprintf(line, sizeof(line), "%d %d", run->oom_efd, ofd);
	if ((cfd = open(path, O_WRONLY | O_CLOEXEC)) == -1 ||
	    write(cfd, line, strlen(line)) != (ssize_t)strlen(line)) {
		saved = errno;
		if (cfd != -1)
			close(cfd);
		close(ofd);
		return err_set(err, errlen, "%s: %s", path, strerror(saved));
	}
	close(cfd);
	close(ofd);
	return 0;
}

/* Did the parent's memory limit fire? Before the cgroup goes: its removal
 * signals the eventfd as well. */
static int
oci_oom_seen(struct backend_run *run)
{
	struct sandbox_usage u;
	uint64_t v = 0;

	if (run->oom_efd != -1)
		return read(run->oom_efd, &v, sizeof(v)) ==
		    (ssize_t)sizeof(v) && v > 0;
	return sandbox_cg_usage(&run->cg, &u) == 0 && u.oom_kills > 0;
}

/*
 * Has the container started? runc writes the pid file once the workload
 * runs, crun once its process is set up; runsc already at create, before
 * its start can still fail (network, file system), so its state file must
 * say so too.
 */
static int
oci_started(const struct backend_run *run)
{
	char path[PATH_MAX];
	const char *status;
	struct stat st;
	json_t *state;
	int ok;

	snprintf(path, sizeof(path), "%s/pid", run->dir);
	if (stat(path, &st) == -1 || st.st_size == 0)
		return 0;
	if (run->ctx.drv->kind != OCI_RUNSC)
		return 1;
	snprintf(path, sizeof(path), "%s/%s_sandbox:%s.state", run->ctx.root,
	    run->id, run->id);
	if ((state = json_load_file(path, 0, NULL)) == NULL)
		return 0;
	status = json_string_value(json_object_get(state, "status"));
	ok = status != NULL && (strcmp(status, "running") == 0 ||
	    strcmp(status, "stopped") == 0);
	json_decref(state);
	return ok;
}

/* Wait until the container has started, or the runtime has ended. */
static int
oci_await_start(struct backend_run *run, char *err, size_t errlen)
{
	uint64_t deadline = clock_monotonic_ms() +
	    (uint64_t)run->ctx.drv->start_ms;
	char msg[512], ev[4096], pid[PATH_MAX];
	struct pollfd p[2];
	siginfo_t si;
	int in, ended = 0;

	if ((in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) == -1 ||
	    inotify_add_watch(in, run->dir, IN_CREATE | IN_MOVED_TO |
	    IN_CLOSE_WRITE) == -1 ||
	    inotify_add_watch(in, run->ctx.root, IN_MOVED_TO |
	    IN_CLOSE_WRITE) == -1) {
		if (in != -1)
			close(in);
		return err_set(err, errlen, "inotify: %s", strerror(errno));
	}
	while (!ended) {
		uint64_t now = clock_monotonic_ms();

		if (oci_started(run)) {
			close(in);
			run->started = 1;
			return 0;
		}
		if (now >= deadline) {
			close(in);
			return err_set(err, errlen, "%s: the container did not "
			    "start within %d ms", run->ctx.drv->runtime,
			    run->ctx.drv->start_ms);
		}
		p[0] = (struct pollfd){ in, POLLIN, 0 };
		p[1] = (struct pollfd){ run->pidfd, POLLIN, 0 };
		if (poll(p, 2, (int)(deadline - now)) == -1 && errno != EINTR) {
			close(in);
			return err_set(err, errlen, "poll: %s",
			    strerror(errno));
		}
		while (read(in, ev, sizeof(ev)) > 0)
			;
		ended = p[1].revents != 0;
	}
	close(in);
	/* Ended before we saw it start: a quick workload (its pid file is
	 * there, and the runtime logged no error), or a failed runtime. */
	oci_log_error(run, msg, sizeof(msg));
	snprintf(pid, sizeof(pid), "%s/pid", run->dir);
	if (msg[0] == '\0' && access(pid, F_OK) == 0) {
		run->started = 1;
		return 0;
	}
	memset(&si, 0, sizeof(si));
	while (waitid((idtype_t)P_PIDFD, (id_t)run->pidfd, &si,
	    WEXITED) == -1 && errno == EINTR)
		;
	run->reaped = 1;
	return err_set(err, errlen, "%s: %s", run->ctx.drv->runtime,
	    msg[0] != '\0' ? msg : si.si_code == CLD_EXITED ?
	    "exited before the container started" : "killed");
}

static int
oci_spawn_run(struct backend_run *run, const struct backend_spec *spec,
    char *err, size_t errlen)
{
	const char *argv[OCI_ARGV_MAX], *args[12];
	char bundle[PATH_MAX], pidfile[PATH_MAX], log[PATH_MAX];
	struct oci_exec *x;
	int n = 0, rc;

	snprintf(bundle, sizeof(bundle), "%s", run->dir);
	snprintf(pidfile, sizeof(pidfile), "%s/pid", run->dir);
	snprintf(log, sizeof(log), "%s/runtime.log", run->dir);
	args[n++] = "run";
	args[n++] = "--bundle";
	args[n++] = bundle;
	args[n++] = "--pid-file";
	args[n++] = pidfile;
	if (run->ctx.drv->kind != OCI_RUNSC && spec->result_fd >= 0) {
		args[n++] = "--preserve-fds";
		args[n++] = "1";
	}
	args[n++] = run->id;
	args[n] = NULL;
	if (oci_argv(&run->ctx, log, args, argv) == -1)
		return err_set(err, errlen, "too many arguments");
	if ((x = oci_exec_new(&run->ctx, argv, err, errlen)) == NULL)
		return -1;
	x->netfd = run->netfd;
	x->fd[1] = spec->stdout_fd;
	x->fd[2] = spec->stderr_fd;
	if (run->ctx.drv->kind == OCI_RUNSC)
		x->fd[0] = spec->result_fd;
	else
		x->fd[3] = spec->result_fd;
	rc = oci_spawn(x, &run->pid, &run->pidfd, err, errlen);
	free(x);
	return rc;
}

static int
oci_kill(struct backend_run *run)
{
	const char *args[] = { "kill", run->id, "KILL", NULL };
	char e[256], txt[256];
	int st;

	if (run->pidfd == -1 || run->reaped)
		return 0;
	/*
	 * "container not running" is fine: it ended on its own meanwhile.
	 * In the session netns: runsc's control socket is an abstract one,
	 * seen only from the netns its sandbox runs in (host network mode).
	 */
	if (run->started && oci_cmd(&run->ctx, run->netfd, args, OCI_CMD_MS,
	    &st, NULL, 0, txt, sizeof(txt), e, sizeof(e)) == -1)
		log_warnx("%s %s: kill: %s", run->ctx.drv->backend, run->id, e);
	/* The runtime ends with its container; one that does not, is. */
	if (!oci_poll_until(run->pidfd, clock_monotonic_ms() + OCI_GRACE_MS)) {
		log_warnx("%s %s: %s still running %d ms after kill: SIGKILL",
		    run->ctx.drv->backend, run->id, run->ctx.drv->runtime,
		    OCI_GRACE_MS);
		if (oci_pidfd_signal(run->pidfd, SIGKILL) == -1 &&
		    errno != ESRCH)
			return -1;
	}
	return 0;
}

/* The runtime has ended: its status as the workload's, usage, OOM. */
static void
oci_collect(struct backend_run *run, const siginfo_t *si)
{
	struct backend_status *st = &run->st;
	struct sandbox_usage u;
	int code = si->si_status;

	memset(st, 0, sizeof(*st));
	if (si->si_code != CLD_EXITED) {
		/* The runtime itself was killed (kill()'s last resort). */
		st->signal = si->si_status;
	} else if (code > 128 && code <= 128 + 64) {
		st->signal = code - 128;
	} else {
		st->exited = 1;
		st->exit_code = code;
	}
	st->oom = oci_oom_seen(run);
	/* The parent outlives the runtime's cgroup: read it while it is
	 * there; what could not be read stays zero. */
	(void)sandbox_cg_usage(&run->cg, &u);
	run->usage.cpu_ms = u.cpu_ms;
	run->usage.mem_peak_bytes = u.mem_peak_bytes;
	run->reaped = 1;
}

static int
oci_wait(struct backend_run *run, struct backend_status *st)
{
	siginfo_t si;

	if (run->reaped) {
		*st = run->st;
		return 0;
	}
	memset(&si, 0, sizeof(si));
	if (waitid((idtype_t)P_PIDFD, (id_t)run->pidfd, &si,
	    WEXITED | WNOHANG) == -1)
		return errno == EINTR ? 1 : -1;
	if (si.si_pid == 0)
		return 1;
	oci_collect(run, &si);
	*st = run->st;
	return 0;
}

static int
oci_wait_fd(const struct backend_run *run)
{
	return run->pidfd;
}

static int
oci_usage(struct backend_run *run, struct backend_usage *u)
{
	struct sandbox_usage su;

	if (run->reaped) {
		*u = run->usage;
		return 0;
	}
	if (sandbox_cg_usage(&run->cg, &su) == -1)
		return -1;
	u->cpu_ms = su.cpu_ms;
	u->mem_peak_bytes = su.mem_peak_bytes;
	return 0;
}

static int
oci_rm_one(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if ((flag == FTW_DP ? rmdir(path) : unlink(path)) == -1 &&
	    errno != ENOENT)
		log_warn("oci: remove %s", path);
	return 0;
}

/* Is ID in the runtime's state? runc and crun keep a directory per
 * container, runsc a "ID_sandbox:ID.state" file. */
static int
oci_exists(const struct oci_ctx *c, const char *id)
{
	char path[PATH_MAX];
	struct stat sb;

	if (c->drv->kind == OCI_RUNSC)
		snprintf(path, sizeof(path), "%s/%s_sandbox:%s.state", c->root,
		    id, id);
	else
		snprintf(path, sizeof(path), "%s/%s", c->root, id);
	return lstat(path, &sb) == 0 || errno != ENOENT;
}

/*
 * Delete the container (and kill what is left of it), from NETFD's netns
 * when it is not -1 (runsc's control socket); 0 when gone.
 */
static int
oci_delete(const struct oci_ctx *c, int netfd, const char *id)
{
	const char *args[] = { "delete", "--force", id, NULL };
	char e[256], txt[512];
	int st;

	if (!oci_exists(c, id))
		return 0;
	if (oci_cmd(c, netfd, args, OCI_CMD_MS, &st, NULL, 0, txt, sizeof(txt),
	    e, sizeof(e)) == -1) {
		log_warnx("%s %s: delete: %s", c->drv->backend, id, e);
		return -1;
	}
	if (!oci_exists(c, id))
		return 0;
	txt[strcspn(txt, "\n")] = '\0';
	log_warnx("%s %s: delete: %s", c->drv->backend, id,
	    txt[0] != '\0' ? txt : "still there");
	return -1;
}

static int
oci_free(struct backend_run *run)
{
	siginfo_t si;
	int rc = 0;

	if (run == NULL)
		return 0;
	if (run->pidfd != -1 && !run->reaped) {
		(void)oci_kill(run);
		if (oci_poll_until(run->pidfd, clock_monotonic_ms() +
		    OCI_GRACE_MS)) {
			memset(&si, 0, sizeof(si));
			while (waitid((idtype_t)P_PIDFD, (id_t)run->pidfd, &si,
			    WEXITED) == -1 && errno == EINTR)
				;
			run->reaped = 1;
		} else {
			/* SIGKILLed and still there: stuck in the kernel.
			 * The rest goes anyway; delete kills the container. */
			log_warnx("%s %s: %s (pid %d) did not die",
			    run->ctx.drv->backend, run->id,
			    run->ctx.drv->runtime, (int)run->pid);
			rc = -1;
		}
	}
	oci_close(&run->pidfd);
	/* What state or processes the runtime left (none, normally: `run`
	 * deletes its container as it ends). */
	if (run->pid > 0 && oci_delete(&run->ctx, run->netfd, run->id) == -1)
		rc = -1;
	/*
	 * The container's cgroup "ctr" below ours, then ours, in every
	 * hierarchy: the runtimes make them in those sandbox_cg_create()
	 * does not use too (cpuset, devices, freezer, name=systemd, ...).
	 */
	if (sandbox_cg_sweep(run->id, SANDBOX_CG_KILL, NULL) == -1)
		rc = -1;
	if (sandbox_cg_remove(&run->cg) == -1)
		rc = -1;
	oci_close(&run->oom_efd);
	oci_close(&run->netfd);
	/* FTW_PHYS: the root's links (bin -> usr/bin) are never followed. */
	if (run->made_dir && nftw(run->dir, oci_rm_one, 16,
	    FTW_DEPTH | FTW_PHYS | FTW_MOUNT) == -1 && errno != ENOENT) {
		log_warn("%s %s: remove %s", run->ctx.drv->backend, run->id,
		    run->dir);
		rc = -1;
	}
	free(run);
	return rc;
}

static int
oci_start(const struct oci_driver *drv, const struct sdconfig *cfg,
    const struct backend_spec *spec, struct backend_run **out, char *err,
    size_t errlen)
{
	struct sandbox_limits lim, cglim;
	struct backend_run *run;
	char e[256];

	if (!sandbox_plan_name_ok(spec->name))
		return err_set(err, errlen,
		    "name must be 1-%d of [A-Za-z0-9_-]", SANDBOX_NAME_MAX);
	if (spec->netns_path == NULL || spec->netns_path[0] != '/' ||
	    spec->run_dir == NULL || spec->run_dir[0] != '/')
		return err_set(err, errlen,
		    "netns and run dir must be absolute");
	if (sandbox_plan_limits(&spec->limits, &lim, err, errlen) == -1)
		return -1;
	/* gVisor's workload is capped by RLIMIT_NPROC in its own kernel; the
	 * host's pids limit also holds the Sentry and its ptrace stubs. */
	cglim = lim;
	if (drv->kind == OCI_RUNSC)
		cglim.pids = OCI_GVISOR_PIDS_BASE +
		    lim.pids * OCI_GVISOR_PIDS_PER_TASK;
	if ((run = calloc(1, sizeof(*run))) == NULL)
		return err_set(err, errlen, "out of memory");
	run->pidfd = run->oom_efd = run->netfd = -1;
	run->cg.memory = run->cg.pids = run->cg.cpu = run->cg.cpuacct = -1;
	snprintf(run->id, sizeof(run->id), "%s", spec->name);
	if (oci_ctx_init(drv, cfg, &run->ctx, e, sizeof(e)) == -1) {
		err_set(err, errlen, "%s", e);
		goto fail;
	}
	if ((size_t)snprintf(run->dir, sizeof(run->dir), "%s", spec->run_dir) >=
	    sizeof(run->dir)) {
		err_set(err, errlen, "run dir too long");
		goto fail;
	}
	if (oci_mkdirs(cfg->state_dir, "runtime", 0700) == -1 ||
	    (mkdir(run->ctx.root, 0700) == -1 && errno != EEXIST)) {
		err_set(err, errlen, "mkdir %s: %s", run->ctx.root,
		    strerror(errno));
		goto fail;
	}
	if (mkdir(run->dir, 0700) == -1) {
		err_set(err, errlen, "mkdir %s: %s", run->dir, strerror(errno));
		goto fail;
	}
	run->made_dir = 1;
	/* gVisor's host network: runsc itself runs in the session netns. */
	if (drv->kind == OCI_RUNSC && run->ctx.net_host &&
	    (run->netfd = open(spec->netns_path, O_RDONLY | O_CLOEXEC)) == -1) {
		err_set(err, errlen, "open netns %s: %s", spec->netns_path,
		    strerror(errno));
		goto fail;
	}
	if (oci_bundle_write(run, spec, &lim, &cglim, err, errlen) == -1)
		goto fail;
	if (sandbox_cg_create(&run->cg, spec->name, &cglim, err, errlen) == -1)
		goto fail;
	if (oci_oom_watch(run, err, errlen) == -1 ||
	    oci_spawn_run(run, spec, err, errlen) == -1 ||
	    oci_await_start(run, err, errlen) == -1)
		goto fail;
	*out = run;
	return 0;
fail:
	(void)oci_free(run);
	return -1;
}

/* The containers a crashed daemon of this name prefix (WANT) left in
 * this backend's runtime root. */
static void
oci_sweep_containers(const struct oci_driver *drv, const struct sdconfig *cfg,
    const char *want)
{
	static const char *const list[] = { "list", "--quiet", NULL };
	char out[OCI_OUT_MAX], e[256], *line, *save;
	size_t wl = strlen(want);
	struct oci_ctx c;
	int st;

	if (oci_ctx_init(drv, cfg, &c, e, sizeof(e)) == -1 ||
	    access(c.root, F_OK) == -1)
		return;
	if (oci_cmd(&c, -1, list, OCI_CMD_MS, &st, out, sizeof(out), NULL, 0,
	    e, sizeof(e)) == -1) {
		log_warnx("%s: sweep: %s", drv->backend, e);
		return;
	}
	for (line = strtok_r(out, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, want, wl) != 0 || !sandbox_plan_name_ok(line))
			continue;
		if (oci_delete(&c, -1, line) == 0)
			log_info("%s: sweep: deleted container %s",
			    drv->backend, line);
	}
}

/*
 * At start-up: delete the containers a crashed daemon of this name prefix
 * left, then their cgroups in every hierarchy, killing what the runtime
 * left running in them (a namespace sandbox's of the same name goes too,
 * as sessiond's own sweep would take it right after).
 */
static void
oci_sweep(const struct oci_driver *drv, const struct sdconfig *cfg,
    const char *prefix)
{
	char want[64];

	snprintf(want, sizeof(want), "%s-ses_", prefix);
	oci_sweep_containers(drv, cfg, want);
	(void)sandbox_cg_sweep(want, SANDBOX_CG_PREFIXED | SANDBOX_CG_KILL,
	    NULL);
}

/* ---- the three backends ------------------------------------------------- */

static int
runc_probe(const struct sdconfig *cfg, char *reason, size_t len)
{
	return oci_probe(&oci_runc, cfg, reason, len);
}

static int
runc_start(const struct sdconfig *cfg, const struct backend_spec *spec,
    struct backend_run **out, char *err, size_t errlen)
{
	return oci_start(&oci_runc, cfg, spec, out, err, errlen);
}

static void
runc_sweep(const struct sdconfig *cfg, const char *prefix)
{
	oci_sweep(&oci_runc, cfg, prefix);
}

static int
crun_probe(const struct sdconfig *cfg, char *reason, size_t len)
{
	return oci_probe(&oci_crun, cfg, reason, len);
}

static int
crun_start(const struct sdconfig *cfg, const struct backend_spec *spec,
    struct backend_run **out, char *err, size_t errlen)
{
	return oci_start(&oci_crun, cfg, spec, out, err, errlen);
}

static void
crun_sweep(const struct sdconfig *cfg, const char *prefix)
{
	oci_sweep(&oci_crun, cfg, prefix);
}

static int
runsc_probe(const struct sdconfig *cfg, char *reason, size_t len)
{
	return oci_probe(&oci_runsc, cfg, reason, len);
}

static int
runsc_start(const struct sdconfig *cfg, const struct backend_spec *spec,
    struct backend_run **out, char *err, size_t errlen)
{
	return oci_start(&oci_runsc, cfg, spec, out, err, errlen);
}

static void
runsc_sweep(const struct sdconfig *cfg, const char *prefix)
{
	oci_sweep(&oci_runsc, cfg, prefix);
}

const struct session_backend backend_oci_runc = {
	.name = "oci-runc",
	.isolation = "OCI container (runc): namespaces + seccomp + cgroups, "
	    "shared host kernel",
	.probe = runc_probe,
	.start = runc_start,
	.wait_fd = oci_wait_fd,
	.wait = oci_wait,
	.kill = oci_kill,
	.usage = oci_usage,
	.free = oci_free,
	.sweep = runc_sweep,
};

const struct session_backend backend_oci_crun = {
	.name = "oci-crun",
	.isolation = "OCI container (crun): namespaces + seccomp + cgroups, "
	    "shared host kernel",
	.probe = crun_probe,
	.start = crun_start,
	.wait_fd = oci_wait_fd,
	.wait = oci_wait,
	.kill = oci_kill,
	.usage = oci_usage,
	.free = oci_free,
	.sweep = crun_sweep,
};

const struct session_backend backend_gvisor = {
	.name = "gvisor",
	.isolation = oci_gvisor_isolation,
	.probe = runsc_probe,
	.start = runsc_start,
	.wait_fd = oci_wait_fd,
	.wait = oci_wait,
	.kill = oci_kill,
	.usage = oci_usage,
	.free = oci_free,
	.sweep = runsc_sweep,
};
