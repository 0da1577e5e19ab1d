/*
 * The sandbox's children, init and the workload.
 *
 * The children are made with raw clone3() (namespaces and a pidfd in one
 * step), so glibc's fork bookkeeping never runs in them: between clone
 * and execve they use system calls only, never malloc, stdio or glibc's
 * set*id wrappers (which would try to signal the caller's other threads).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sessiond/sandbox_child.h"

#define SANDBOX_NOFILE		256
#define SANDBOX_FD_BASE		10	/* init keeps its fds at or above */
#define SANDBOX_OOM_ADJ		"500"	/* the workload goes first */
#define SANDBOX_HOSTNAME	"sandbox"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

/* clone3()'s argument, version 0 (64 bytes); glibc has no wrapper. */
struct sandbox_clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal;
	uint64_t stack, stack_size, tls;
};

/* Top-level runtime paths: bound read-only, or recreated as symlinks. */
static const char *const sandbox_runtime[] = {
	"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32",
};

/*
 * What of the host's /etc a runtime needs; each is exposed if present.
 * Not /etc/ssl/private, passwd, shadow, hosts or anything naming the host.
 */
static const char *const sandbox_etc[] = {
	"etc/ld.so.cache", "etc/ssl/certs", "etc/ssl/openssl.cnf",
	"etc/alternatives", "etc/localtime",
};

static const char *const sandbox_devices[] = {
	"null", "zero", "random", "urandom",
};

static void
child_strcat(char *dst, size_t len, const char *src)
{
	size_t n = strlen(dst);

	while (*src != '\0' && n + 1 < len)
		dst[n++] = *src++;
	dst[n] = '\0';
}

static void
child_send(int fd, const struct sandbox_msg *m)
{
	ssize_t n;

	do
		n = write(fd, m, sizeof(*m));
	while (n == -1 && errno == EINTR);
}

/* Report the failed step and errno to the caller; never returns. */
static void __attribute__((noreturn))
child_fail(const struct sandbox_plan *p, const char *what, const char *arg)
{
	struct sandbox_msg m;

	memset(&m, 0, sizeof(m));
	m.kind = SANDBOX_MSG_ERROR;
	m.errnum = errno;
	child_strcat(m.what, sizeof(m.what), what);
	if (arg != NULL) {
		child_strcat(m.what, sizeof(m.what), " ");
		child_strcat(m.what, sizeof(m.what), arg);
	}
	child_send(p->err_w, &m);
	_exit(127);
}

pid_t
sandbox_clone(uint64_t flags, int *pidfd)
{
	struct sandbox_clone_args a;

	memset(&a, 0, sizeof(a));
	a.flags = flags;
	if (pidfd != NULL) {
		a.flags |= CLONE_PIDFD;
		a.pidfd = (uint64_t)(uintptr_t)pidfd;
	}
	a.exit_signal = SIGCHLD;
	return (pid_t)syscall(SYS_clone3, &a, sizeof(a));
}

/* Close every fd but keep[0..n) (sorted, distinct, non-negative). */
static int
child_close_except(const int *keep, int n)
{
	unsigned int from = 0;
	int i;

	for (i = 0; i < n; i++) {
		if ((unsigned int)keep[i] > from &&
		    syscall(SYS_close_range, from, (unsigned int)keep[i] - 1, 0) == -1)
			return -1;
		from = (unsigned int)keep[i] + 1;
	}
	return (int)syscall(SYS_close_range, from, ~0U, 0);
}

/* Move *fd to SANDBOX_FD_BASE or above so 0..3 are free for the workload. */
static void
child_lift_fd(const struct sandbox_plan *p, int *fd)
{
	int nfd;

	if (*fd < 0)
		return;
	if ((nfd = fcntl(*fd, F_DUPFD_CLOEXEC, SANDBOX_FD_BASE)) == -1)
		child_fail(p, "dup", NULL);
	*fd = nfd;
}

static void
child_sort(int *v, int n)
{
	int i, j, t;

	for (i = 1; i < n; i++)
		for (j = i; j > 0 && v[j - 1] > v[j]; j--) {
			t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
}

/* The caller's signal handlers (libevent's, say) must never run in here. */
static void
child_reset_signals(void)
{
	struct sigaction sa;
	sigset_t none;
	int sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
}

static void
child_write_all(const struct sandbox_plan *p, int fd, const void *buf,
    size_t len, const char *path)
{
	const char *b = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, b, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			child_fail(p, "write", path);
		b += n;
		len -= (size_t)n;
	}
}

static void
child_write_file(const struct sandbox_plan *p, const char *path,
    const void *buf, size_t len, mode_t mode)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    mode);
	if (fd == -1)
		child_fail(p, "create", path);
	child_write_all(p, fd, buf, len, path);
	close(fd);
}

static void
child_mkdir(const struct sandbox_plan *p, const char *path, mode_t mode)
{
	if (mkdir(path, mode) == -1 && errno != EEXIST)
		child_fail(p, "mkdir", path);
}

/* A bind with FLAGS (read-only, nodev, noexec as asked), always nosuid. */
static void
child_bind(const struct sandbox_plan *p, const char *src, const char *dst,
    unsigned long flags)
{
	if (mount(src, dst, NULL, MS_BIND, NULL) == -1)
		child_fail(p, "bind", dst);
	if (mount(NULL, dst, NULL, MS_REMOUNT | MS_BIND | MS_NOSUID | flags,
	    NULL) == -1)
		child_fail(p, "remount", dst);
}

/*
 * Expose the host's /REL (seen at /oldroot/REL) at /REL: a directory or
 * file as a read-only bind, a symlink recreated (Debian's /lib -> usr/lib
 * must stay a link, or the binds would duplicate /usr), absent skipped.
 */
static void
child_expose(const struct sandbox_plan *p, const char *rel, int required)
{
	char src[PATH_MAX], dst[PATH_MAX], link[PATH_MAX];
	struct stat st;
	ssize_t n;

	src[0] = dst[0] = '\0';
	child_strcat(src, sizeof(src), SANDBOX_OLDROOT "/");
	child_strcat(src, sizeof(src), rel);
	child_strcat(dst, sizeof(dst), "/");
	child_strcat(dst, sizeof(dst), rel);
	if (lstat(src, &st) == -1) {
		if (errno == ENOENT && !required)
			return;
		child_fail(p, "stat", src);
	}
	if (S_ISLNK(st.st_mode)) {
		if ((n = readlink(src, link, sizeof(link) - 1)) == -1)
			child_fail(p, "readlink", src);
		link[n] = '\0';
		if (symlink(link, dst) == -1)
			child_fail(p, "symlink", dst);
	} else if (S_ISDIR(st.st_mode)) {
		child_mkdir(p, dst, 0755);
		child_bind(p, src, dst, MS_RDONLY | MS_NODEV);
	} else if (S_ISREG(st.st_mode)) {
		child_write_file(p, dst, "", 0, 0444);
		child_bind(p, src, dst, MS_RDONLY | MS_NODEV);
	}
}

static void
child_etc(const struct sandbox_plan *p)
{
	static const char hosts[] =
	    "127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.1.1\t"
	    SANDBOX_HOSTNAME "\n";
	static const char nss[] =
	    "passwd: files\ngroup: files\nhosts: files dns\n";
	size_t i;

	child_mkdir(p, "/etc", 0755);
	child_mkdir(p, "/etc/ssl", 0755);
	for (i = 0; i < sizeof(sandbox_etc) / sizeof(sandbox_etc[0]); i++)
		child_expose(p, sandbox_etc[i], 0);
	child_write_file(p, "/etc/passwd", p->passwd, strlen(p->passwd), 0644);
	child_write_file(p, "/etc/group", p->group, strlen(p->group), 0644);
	child_write_file(p, "/etc/hosts", hosts, sizeof(hosts) - 1, 0644);
	child_write_file(p, "/etc/nsswitch.conf", nss, sizeof(nss) - 1, 0644);
	child_write_file(p, "/etc/hostname", SANDBOX_HOSTNAME "\n",
	    sizeof(SANDBOX_HOSTNAME), 0644);
	if (p->resolv[0] != '\0')
		child_write_file(p, "/etc/resolv.conf", p->resolv,
		    strlen(p->resolv), 0644);
}

/* /dev: a tmpfs with four host device nodes bound in, then read-only. */
static void
child_dev(const struct sandbox_plan *p)
{
	static const char *const links[][2] = {
		{ "/proc/self/fd", "/dev/fd" },
		{ "/proc/self/fd/0", "/dev/stdin" },
		{ "/proc/self/fd/1", "/dev/stdout" },
		{ "/proc/self/fd/2", "/dev/stderr" },
	};
	char src[64], dst[64];
	size_t i;

	child_mkdir(p, "/dev", 0755);
	if (mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC,
	    p->dev_opts) == -1)
		child_fail(p, "mount tmpfs", "/dev");
	for (i = 0; i < sizeof(sandbox_devices) / sizeof(sandbox_devices[0]); i++) {
		src[0] = dst[0] = '\0';
		child_strcat(src, sizeof(src), SANDBOX_OLDROOT "/dev/");
		child_strcat(src, sizeof(src), sandbox_devices[i]);
		child_strcat(dst, sizeof(dst), "/dev/");
		child_strcat(dst, sizeof(dst), sandbox_devices[i]);
		child_write_file(p, dst, "", 0, 0666);
		child_bind(p, src, dst, MS_RDONLY | MS_NOEXEC);
	}
	for (i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (symlink(links[i][0], links[i][1]) == -1)
			child_fail(p, "symlink", links[i][1]);
	if (mount(NULL, "/dev", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID |
	    MS_NOEXEC, p->dev_opts) == -1)
		child_fail(p, "remount read-only", "/dev");
}

/* /proc of the new pid namespace only; its /sys knobs read-only. */
static void
child_proc(const struct sandbox_plan *p)
{
	child_mkdir(p, "/proc", 0555);
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	    NULL) == -1)
		child_fail(p, "mount", "/proc");
	child_bind(p, "/proc/sys", "/proc/sys", MS_RDONLY | MS_NODEV | MS_NOEXEC);
}

static void
child_tmpfs(const struct sandbox_plan *p, const char *path, const char *opts)
{
	child_mkdir(p, path, 0755);
	if (mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, opts) == -1)
		child_fail(p, "mount tmpfs", path);
}

/* The code goes in as a file owned by the workload, never via argv/env. */
static void
child_code(const struct sandbox_plan *p)
{
	const struct sandbox_spec *s = p->spec;
	int fd;

	fd = open(p->lang->file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0644);
	if (fd == -1)
		child_fail(p, "create", p->lang->file);
	child_write_all(p, fd, s->code, s->code_len, p->lang->file);
	if (fchown(fd, s->uid, s->gid) == -1)
		child_fail(p, "chown", p->lang->file);
	close(fd);
}

/*
 * The fresh root: a tmpfs pivoted to first (the host tree stays reachable
 * at /oldroot while we bind from it, as bubblewrap does), then filled,
 * then the host tree detached and the root made read-only.
 */
static void
child_root(const struct sandbox_plan *p)
{
	size_t i;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1)
		child_fail(p, "make mounts private", NULL);
	if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV,
	    p->root_opts) == -1)
		child_fail(p, "mount root tmpfs", NULL);
	child_mkdir(p, "/tmp" SANDBOX_OLDROOT, 0700);
	if (syscall(SYS_pivot_root, "/tmp", "/tmp" SANDBOX_OLDROOT) == -1)
		child_fail(p, "pivot_root", NULL);
	if (chdir("/") == -1)
		child_fail(p, "chdir", "/");
	for (i = 0; i < sizeof(sandbox_runtime) / sizeof(sandbox_runtime[0]); i++)
		child_expose(p, sandbox_runtime[i], i == 0);
	child_etc(p);
	child_proc(p);
	child_dev(p);
	child_tmpfs(p, "/workspace", p->ws_opts);
	child_tmpfs(p, "/tmp", p->tmp_opts);
	if (p->helpers_src[0] != '\0') {
		child_mkdir(p, "/opt", 0755);
		child_mkdir(p, "/opt/enclave", 0755);
		child_bind(p, p->helpers_src, "/opt/enclave",
		    MS_RDONLY | MS_NODEV);
	}
	child_code(p);
	if (umount2(SANDBOX_OLDROOT, MNT_DETACH) == -1)
		child_fail(p, "umount", SANDBOX_OLDROOT);
	if (rmdir(SANDBOX_OLDROOT) == -1)
		child_fail(p, "rmdir", SANDBOX_OLDROOT);
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID |
	    MS_NODEV, p->root_opts) == -1)
		child_fail(p, "remount read-only", "/");
}

/* capset() to nothing, through the raw system call (no libcap here). */
static int
child_capset_zero(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	return (int)syscall(SYS_capset, &h, d);
}

/*
 * Capabilities go before the ids change (dropping the bounding set needs
 * CAP_SETPCAP); the ids change through raw system calls because glibc's
 * wrappers would signal threads that exist only in the caller.
 */
static void
child_drop_privileges(const struct sandbox_plan *p)
{
	uid_t uid = p->spec->uid;
	gid_t gid = p->spec->gid;
	int cap;

	for (cap = 0; cap < 64; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == -1) {
			if (errno == EINVAL)
				break;	/* past CAP_LAST_CAP */
			child_fail(p, "drop bounding capabilities", NULL);
		}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 &&
	    errno != EINVAL)
		child_fail(p, "clear ambient capabilities", NULL);
	if (syscall(SYS_setgroups, 0, NULL) == -1)
		child_fail(p, "setgroups", NULL);
	if (syscall(SYS_setresgid, gid, gid, gid) == -1)
		child_fail(p, "setresgid", NULL);
	if (syscall(SYS_setresuid, uid, uid, uid) == -1)
		child_fail(p, "setresuid", NULL);
	if (child_capset_zero() == -1)
		child_fail(p, "capset", NULL);
	/* bubblewrap's reason too: nothing exec'd may gain privileges back. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		child_fail(p, "no_new_privs", NULL);
}

static void
child_limits(const struct sandbox_plan *p)
{
	struct rlimit nofile = { SANDBOX_NOFILE, SANDBOX_NOFILE };
	struct rlimit core = { 0, 0 };
	struct rlimit fsize;

	fsize.rlim_cur = fsize.rlim_max =
	    (rlim_t)p->lim.workspace_mb * 1024 * 1024;
	if (setrlimit(RLIMIT_NOFILE, &nofile) == -1)
		child_fail(p, "setrlimit", "RLIMIT_NOFILE");
	if (setrlimit(RLIMIT_FSIZE, &fsize) == -1)
		child_fail(p, "setrlimit", "RLIMIT_FSIZE");
	if (setrlimit(RLIMIT_CORE, &core) == -1)
		child_fail(p, "setrlimit", "RLIMIT_CORE");
}

/* 0 /dev/null, 1 and 2 the caller's pipes, 3 the result pipe; no others. */
static void
child_stdio(const struct sandbox_plan *p)
{
	int null, out, errout, res, keep[2 + SANDBOX_RESULT_FD], i;

	if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
		child_fail(p, "open", "/dev/null");
	/* 0..3 are free, so it came out as 0, where dup2() would keep CLOEXEC. */
	child_lift_fd(p, &null);
	out = p->out_fd >= 0 ? p->out_fd : null;
	errout = p->errout_fd >= 0 ? p->errout_fd : null;
	res = p->result_fd;
	if (dup2(null, 0) == -1 || dup2(out, 1) == -1 || dup2(errout, 2) == -1)
		child_fail(p, "dup2", NULL);
	if (res >= 0) {
		if (dup2(res, SANDBOX_RESULT_FD) == -1)
			child_fail(p, "dup2", "result fd");
	} else {
		close(SANDBOX_RESULT_FD);
	}
	/* err_w stays until execve (it is close-on-exec). */
	keep[0] = SANDBOX_RESULT_FD;
	keep[1] = p->err_w;
	for (i = 0; i < SANDBOX_RESULT_FD; i++)
		keep[i + 2] = i;
	child_sort(keep, 2 + SANDBOX_RESULT_FD);
	if (child_close_except(keep, 2 + SANDBOX_RESULT_FD) == -1)
		child_fail(p, "close_range", NULL);
}

static void __attribute__((noreturn))
child_workload(const struct sandbox_plan *p)
{
	int fd;

	if ((fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC)) != -1) {
		if (write(fd, SANDBOX_OOM_ADJ, sizeof(SANDBOX_OOM_ADJ) - 1) < 0)
			child_fail(p, "write", "/proc/self/oom_score_adj");
		close(fd);
	}
	child_stdio(p);
	child_limits(p);
	child_drop_privileges(p);
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &p->prog, 0, 0) == -1)
		child_fail(p, "seccomp", NULL);
	if (chdir("/workspace") == -1)
		child_fail(p, "chdir", "/workspace");
	execve(p->argv[0], (char *const *)p->argv, p->envp);
	child_fail(p, "execve", p->argv[0]);
}

/* Fields 48-51 of /proc/self/stat: where argv and the environment live. */
static int
child_arg_env(unsigned long v[4])
{
	char buf[2048], *p;
	ssize_t n;
	int fd, field;

	if ((fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	/* ") " ends field 2; count spaces to reach field 48. */
	for (field = 2; *p != '\0' && field < 48; p++)
		if (*p == ' ')
			field++;
	for (field = 0; field < 4; field++) {
		v[field] = 0;
		while (*p >= '0' && *p <= '9')
			v[field] = v[field] * 10 + (unsigned long)(*p++ - '0');
		if (*p++ != ' ' && field < 3)
			return -1;
	}
	return v[0] < v[1] && v[2] <= v[3] ? 0 : -1;
}

/*
 * init is a copy of the caller: its argv is readable in /proc/1/cmdline
 * and its environment must not be found in its memory either.
 */
static void
child_scrub(void)
{
	static const char title[] = "enclave-init";
	extern char **environ;
	unsigned long v[4];
	char **e;

	for (e = environ; e != NULL && *e != NULL; e++)
		memset(*e, 0, strlen(*e));
	if (child_arg_env(v) == -1)
		return;
	memset((void *)v[2], 0, v[3] - v[2]);
	memset((void *)v[0], 0, v[1] - v[0]);
	if (v[1] - v[0] > sizeof(title))
		memcpy((void *)v[0], title, sizeof(title));
}

/*
 * pid 1: reaps every orphan; when the workload ends, reports its wait
 * status and exits, so the kernel kills whatever the workload left behind.
 */
static void __attribute__((noreturn))
child_reap(const struct sandbox_plan *p, pid_t workload)
{
	struct sandbox_msg m;
	int keep[1] = { p->status_w };
	int ws;
	pid_t r;

	(void)child_close_except(keep, 1);	/* worked once already */
	memset(&m, 0, sizeof(m));
	m.kind = SANDBOX_MSG_STATUS;
	for (;;) {
		r = waitpid(-1, &ws, 0);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			_exit(125);	/* ECHILD: cannot happen before workload */
		if (r == workload)
			break;
	}
	m.wstatus = ws;
	child_send(p->status_w, &m);
	_exit(0);
}

void
sandbox_child_init(struct sandbox_plan *p)
{
	int keep[7], n = 0;
	pid_t w;
	char go;
	ssize_t r;

	child_reset_signals();
	/* The caller's thread dies, the sandbox dies: nothing outlives sessiond. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == -1)
		_exit(126);
	child_lift_fd(p, &p->err_w);
	child_lift_fd(p, &p->sync_r);
	child_lift_fd(p, &p->status_w);
	child_lift_fd(p, &p->netfd);
	child_lift_fd(p, &p->out_fd);
	child_lift_fd(p, &p->errout_fd);
	child_lift_fd(p, &p->result_fd);
	keep[n++] = p->err_w;
	keep[n++] = p->sync_r;
	keep[n++] = p->status_w;
	keep[n++] = p->netfd;
	if (p->out_fd >= 0)
		keep[n++] = p->out_fd;
	if (p->errout_fd >= 0)
		keep[n++] = p->errout_fd;
	if (p->result_fd >= 0)
		keep[n++] = p->result_fd;
	child_sort(keep, n);
	/* Nothing of the caller's (listeners, control sockets) may follow us. */
	if (child_close_except(keep, n) == -1)
		child_fail(p, "close_range", NULL);

	/* The caller puts us in our cgroups, then says go (EOF: it gave up). */
	do
		r = read(p->sync_r, &go, 1);
	while (r == -1 && errno == EINTR);
	if (r != 1)
		_exit(126);
	close(p->sync_r);
	if (unshare(CLONE_NEWCGROUP) == -1)
		child_fail(p, "unshare", "cgroup namespace");
	/* Joined while still root: setns needs CAP_SYS_ADMIN. */
	if (setns(p->netfd, CLONE_NEWNET) == -1)
		child_fail(p, "setns", p->spec->netns_path);
	close(p->netfd);
	if (sethostname(SANDBOX_HOSTNAME, sizeof(SANDBOX_HOSTNAME) - 1) == -1)
		child_fail(p, "sethostname", NULL);
	child_root(p);
	(void)prctl(PR_SET_NAME, "enclave-init", 0, 0, 0);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	child_scrub();

	if ((w = sandbox_clone(0, NULL)) == -1)
		child_fail(p, "fork workload", NULL);
	if (w == 0)
		child_workload(p);
	child_reap(p, w);
}
