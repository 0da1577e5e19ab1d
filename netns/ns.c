#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/name.h"
#include "netns/ns.h"

/* An invalid name is echoed in errors, bounded: it may be hostile input. */
#define NAME_ECHO(n) ((n) ? (int)strnlen((n), NETNS_NAME_MAX) : 0), ((n) ? (n) : "")

/* What the child reports back when it fails. */
struct ns_child_err {
	int step;	/* 0 unshare, 1 bind mount */
	int errnum;
};

static int
ns_fail(char *err, size_t errlen, int errnum, const char *what,
    const char *name)
{
	snprintf(err, errlen, "%s %s: %s", what, name, strerror(errnum));
	return -errnum;
}

/*
 * Bind mounts under /run/netns must propagate to every mount namespace
 * (sessiond's, a backend's, the operator's shell), so the directory is made
 * a shared mount point, bind-mounting it onto itself first if it is not a
 * mount point yet, as iproute2 does.
 */
static int
ns_run_dir_shared(void)
{
	int bound = 0;

	if (mkdir(NETNS_RUN_DIR, 0755) == -1 && errno != EEXIST)
		return -errno;
	while (mount("", NETNS_RUN_DIR, "none", MS_SHARED | MS_REC, NULL) == -1) {
		if (errno != EINVAL || bound)
			return -errno;
		if (mount(NETNS_RUN_DIR, NETNS_RUN_DIR, "none",
		    MS_BIND | MS_REC, NULL) == -1)
			return -errno;
		bound = 1;
	}
	return 0;
}

/*
 * The new netns is made in a forked child, never by unshare() in the
 * calling thread: a daemon thread that left its netns could be stranded
 * there if setns() back failed, its other work (event callbacks, signal
 * handlers) would run in the wrong netns meanwhile, and /proc/self/ns/net
 * names the main thread's netns, not the caller's. The child does only
 * async-signal-safe system calls, so forking a multi-threaded daemon is
 * safe.
 */
static int
ns_spawn_bind(const char *path, int *step)
{
	struct ns_child_err ce = { 0, 0 };
	int pfd[2], status, rc = 0;
	ssize_t n;
	pid_t pid;

	*step = -1;
	if (pipe2(pfd, O_CLOEXEC) == -1)
		return -errno;
	pid = fork();
	if (pid == -1) {
		rc = -errno;
		close(pfd[0]);
		close(pfd[1]);
		return rc;
	}
	if (pid == 0) {
		close(pfd[0]);
		if (unshare(CLONE_NEWNET) == -1) {
			ce.step = 0;
			ce.errnum = errno;
		} else if (mount("/proc/self/ns/net", path, "none", MS_BIND,
		    NULL) == -1) {
			ce.step = 1;
			ce.errnum = errno;
		}
		if (ce.errnum != 0 && write(pfd[1], &ce, sizeof(ce)) < 0)
			_exit(2);
		_exit(ce.errnum != 0);
	}
	close(pfd[1]);
	do
		n = read(pfd[0], &ce, sizeof(ce));
	while (n == -1 && errno == EINTR);
	close(pfd[0]);
	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR)
			return -errno;
	}
	if (n == (ssize_t)sizeof(ce) && ce.errnum != 0) {
		*step = ce.step;
		return -ce.errnum;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		rc = -ECHILD;
	return rc;
}

int
netns_create(const char *name, char *err, size_t errlen)
{
	static const char *const steps[] = { "unshare", "bind mount" };
	char path[sizeof(NETNS_RUN_DIR) + NETNS_NAME_MAX + 1];
	const char *why;
	int fd, rc, step;

	if (netns_path(name, path, sizeof(path), &why) == -1) {
		snprintf(err, errlen, "create netns \"%.*s\": %s", NAME_ECHO(name), why);
		return -EINVAL;
	}
	if ((rc = ns_run_dir_shared()) < 0) {
		snprintf(err, errlen, "create netns %s: make %s shared: %s",
		    name, NETNS_RUN_DIR, strerror(-rc));
		return rc;
	}
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
	if (fd == -1)
		return ns_fail(err, errlen, errno, "create netns", name);
	close(fd);
	if ((rc = ns_spawn_bind(path, &step)) < 0) {
		snprintf(err, errlen, "create netns %s: %s: %s", name,
		    step >= 0 ? steps[step] : "spawn child", strerror(-rc));
		unlink(path);
		return rc;
	}
	return 0;
}

int
netns_delete(const char *name, char *err, size_t errlen)
{
	char path[sizeof(NETNS_RUN_DIR) + NETNS_NAME_MAX + 1];
	const char *why;

	if (netns_path(name, path, sizeof(path), &why) == -1) {
		snprintf(err, errlen, "delete netns \"%.*s\": %s", NAME_ECHO(name), why);
		return -EINVAL;
	}
	/* EINVAL: a file left by a crash between create and mount. */
	if (umount2(path, MNT_DETACH) == -1 && errno != EINVAL)
		return ns_fail(err, errlen, errno, "delete netns", name);
	if (unlink(path) == -1)
		return ns_fail(err, errlen, errno, "delete netns", name);
	return 0;
}

int
netns_open(const char *name, char *err, size_t errlen)
{
	char path[sizeof(NETNS_RUN_DIR) + NETNS_NAME_MAX + 1];
	const char *why;
	int fd;

	if (netns_path(name, path, sizeof(path), &why) == -1) {
		snprintf(err, errlen, "open netns \"%.*s\": %s", NAME_ECHO(name), why);
		return -EINVAL;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return ns_fail(err, errlen, errno, "open netns", name);
	return fd;
}

int
netns_enter(int nsfd, int *saved_fd)
{
	int fd, rc;

	*saved_fd = -1;
	/* thread-self: setns() moves only this thread. */
	if ((fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) == -1)
		return -errno;
	if (setns(nsfd, CLONE_NEWNET) == -1) {
		rc = -errno;
		close(fd);
		return rc;
	}
	*saved_fd = fd;
	return 0;
}

int
netns_leave(int saved_fd)
{
	int rc = 0;

	if (setns(saved_fd, CLONE_NEWNET) == -1)
		rc = -errno;
	close(saved_fd);
	return rc;
}
