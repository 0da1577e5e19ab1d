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
 * The children are made with raw clone3() (namespaces and a pidfd in one
 * step), so glibc's fork bookkeeping never runs in them: between clone
 * and execve they use system calls only, never malloc, stdio or glibc's
 * set*id wrappers (which would try to signal the caller's other threads).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/magic.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "sessiond/sandbox.h"

#define SANDBOX_DEF_MEMORY_MB	256
#define SANDBOX_DEF_PIDS	128
#define SANDBOX_DEF_FS_MB	64
#define SANDBOX_NOFILE		256
#define SANDBOX_SETUP_MS	10000	/* clone to exec, at most */
#define SANDBOX_FREE_WAIT_MS	5000	/* a SIGKILLed sandbox to be gone */
#define SANDBOX_RMDIR_TRIES	200	/* x 5 ms */
#define SANDBOX_FD_BASE		10	/* init keeps its fds at or above */
#define SANDBOX_OOM_ADJ		"500"	/* the workload goes first */
#define SANDBOX_HOSTNAME	"sandbox"
#define SANDBOX_OLDROOT		"/oldroot"
#define SANDBOX_CG_PREFIX	"enclave-"
#define CGROUP_ROOT		"/sys/fs/cgroup"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

/* clone3()'s argument, version 0 (64 bytes); glibc has no wrapper. */
struct sandbox_clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal;
	uint64_t stack, stack_size, tls;
};

/* What a child tells the caller: a failed step, or the workload's end. */
enum { SANDBOX_MSG_ERROR = 1, SANDBOX_MSG_STATUS = 2 };
struct sandbox_msg {
	int kind;
	int errnum;
	int wstatus;
	char what[116];
};

struct sandbox_lang {
	const char *name, *interp, *file;
};

static const struct sandbox_lang sandbox_langs[] = {
	{ "python", "/usr/bin/python3", "/workspace/main.py" },
	{ "sh", "/bin/sh", "/workspace/main.sh" },
	{ "node", "/usr/bin/node", "/workspace/main.js" },
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

/* Everything the children need, computed by the caller before clone. */
struct sandbox_plan {
	const struct sandbox_spec *spec;
	const struct sandbox_lang *lang;
	struct sandbox_limits lim;
	int netfd, sync_r, err_w, status_w;
	int out_fd, errout_fd, result_fd;
	struct sock_fprog prog;
	const char *argv[3];
	char *envp[12];
	char env_buf[640];
	char helpers_src[PATH_MAX + sizeof(SANDBOX_OLDROOT)];
	char root_opts[64], dev_opts[64], ws_opts[128], tmp_opts[96];
	char passwd[192], group[128], resolv[96];
};

/* ---------------------------------------------------------------------
 * Children: system calls only from here to execve.
 */

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

static pid_t
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

static void __attribute__((noreturn))
child_init(struct sandbox_plan *p)
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

/* ---------------------------------------------------------------------
 * cgroups: v2 when /sys/fs/cgroup is cgroup2, else the v1 memory, pids,
 * cpu and cpuacct hierarchies. The sandbox's cgroups sit below the
 * caller's own, so a daemon confined by systemd confines its sandboxes.
 */

static int
cg_write(const char *dir, const char *file, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
cg_write(const char *dir, const char *file, const char *fmt, ...)
{
	char path[SANDBOX_CG_PATH_MAX + 64], buf[64];
	va_list ap;
	ssize_t n;
	int fd, len, saved;

	va_start(ap, fmt);
	len = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= sizeof(buf) ||
	    snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	n = write(fd, buf, (size_t)len);
	saved = errno;
	close(fd);
	errno = saved;
	return n == len ? 0 : -1;
}

/* The number after KEY in a "key value" file, or the file's only number. */
static int
cg_read_u64(const char *dir, const char *file, const char *key,
    uint64_t *out)
{
	char path[SANDBOX_CG_PATH_MAX + 64], line[256], *end;
	size_t klen = key != NULL ? strlen(key) : 0;
	int rc = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *v = line;

		if (key != NULL) {
			if (strncmp(line, key, klen) != 0 || line[klen] != ' ')
				continue;
			v = line + klen + 1;
		}
		errno = 0;
		*out = strtoull(v, &end, 10);
		if (errno == 0 && end != v)
			rc = 0;
		break;
	}
	fclose(f);
	if (rc == -1 && errno == 0)
		errno = ENODATA;
	return rc;
}

/* Is TOKEN one of the comma-separated words of LIST? */
static int
cg_has_word(const char *list, size_t len, const char *token)
{
	size_t tl = strlen(token);
	const char *p = list, *end = list + len, *c;

	while (p < end) {
		c = memchr(p, ',', (size_t)(end - p));
		if (c == NULL)
			c = end;
		if ((size_t)(c - p) == tl && memcmp(p, token, tl) == 0)
			return 1;
		p = c + 1;
	}
	return 0;
}

/* Our cgroup in the hierarchy holding CTRL ("" for v2), from /proc/self. */
static int
cg_self_path(const char *ctrl, char *out, size_t len)
{
	char line[1024], *a, *b;
	int rc = -1;
	FILE *f;

	if ((f = fopen("/proc/self/cgroup", "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if ((a = strchr(line, ':')) == NULL ||
		    (b = strchr(a + 1, ':')) == NULL)
			continue;
		if (ctrl[0] == '\0' ? a != line + 1 || line[0] != '0' || b != a + 1 :
		    !cg_has_word(a + 1, (size_t)(b - a - 1), ctrl))
			continue;
		if (strlen(b + 1) < len) {
			strcpy(out, b + 1);
			rc = 0;
		}
		break;
	}
	fclose(f);
	if (rc == -1)
		errno = ENOENT;
	return rc;
}

/* Where the v1 hierarchy of CTRL is mounted, and which cgroup is its root. */
static int
cg_v1_mount(const char *ctrl, char *mnt, char *root, size_t len)
{
	char line[2048], *sep, *f[5], *save, *fstype, *opts;
	int rc = -1, i;
	FILE *fp;

	if ((fp = fopen("/proc/self/mountinfo", "re")) == NULL)
		return -1;
	while (rc == -1 && fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if ((sep = strstr(line, " - ")) == NULL)
			continue;
		*sep = '\0';
		fstype = strtok_r(sep + 3, " ", &save);
		(void)strtok_r(NULL, " ", &save);	/* source */
		opts = strtok_r(NULL, " ", &save);
		if (fstype == NULL || opts == NULL || strcmp(fstype, "cgroup") != 0 ||
		    !cg_has_word(opts, strlen(opts), ctrl))
			continue;
		f[0] = strtok_r(line, " ", &save);
		for (i = 1; i < 5 && f[i - 1] != NULL; i++)
			f[i] = strtok_r(NULL, " ", &save);
		/* Escaped names (\040) never name a cgroup mount we can use. */
		if (f[4] == NULL || strchr(f[3], '\\') || strchr(f[4], '\\') ||
		    strlen(f[3]) >= len || strlen(f[4]) >= len)
			continue;
		strcpy(root, f[3]);
		strcpy(mnt, f[4]);
		rc = 0;
	}
	fclose(fp);
	if (rc == -1)
		errno = ENOENT;
	return rc;
}

static int
cg_v1_dir(const char *ctrl, const char *name, char *dir, size_t len)
{
	char mnt[PATH_MAX], root[PATH_MAX], self[PATH_MAX];
	const char *rel;
	size_t rl;

	if (cg_v1_mount(ctrl, mnt, root, sizeof(mnt)) == -1 ||
	    cg_self_path(ctrl, self, sizeof(self)) == -1)
		return -1;
	rel = self;
	if (strcmp(root, "/") != 0) {
		rl = strlen(root);
		if (strncmp(self, root, rl) != 0 ||
		    (self[rl] != '/' && self[rl] != '\0')) {
			errno = ENOENT;	/* our cgroup is not under that mount */
			return -1;
		}
		rel = self + rl;
	}
	if (strcmp(rel, "/") == 0)
		rel = "";
	if ((size_t)snprintf(dir, len, "%s%s/%s%s", mnt, rel,
	    SANDBOX_CG_PREFIX, name) >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* Index of DIR in cg, adding it (not yet created) when new; -1 when full. */
static int
cg_slot(struct sandbox_cgroup *cg, const char *dir)
{
	int i;

	for (i = 0; i < cg->n; i++)
		if (strcmp(cg->dir[i], dir) == 0)
			return i;
	if (cg->n == SANDBOX_CG_MAX)
		return -1;
	strcpy(cg->dir[cg->n], dir);
	return cg->n++;
}

static int
cg_v1_layout(struct sandbox_cgroup *cg, const char *name, int want_cpu,
    char *err, size_t errlen)
{
	char dir[SANDBOX_CG_PATH_MAX];

	if (cg_v1_dir("memory", name, dir, sizeof(dir)) == -1)
		return err_set(err, errlen, "cgroup v1 memory controller: %s",
		    strerror(errno));
	cg->memory = cg_slot(cg, dir);
	if (cg_v1_dir("pids", name, dir, sizeof(dir)) == -1)
		return err_set(err, errlen, "cgroup v1 pids controller: %s",
		    strerror(errno));
	cg->pids = cg_slot(cg, dir);
	if (cg_v1_dir("cpuacct", name, dir, sizeof(dir)) == 0)
		cg->cpuacct = cg_slot(cg, dir);
	if (want_cpu) {
		if (cg_v1_dir("cpu", name, dir, sizeof(dir)) == -1)
			return err_set(err, errlen, "cgroup v1 cpu controller: %s",
			    strerror(errno));
		cg->cpu = cg_slot(cg, dir);
	}
	return 0;
}

static int
cg_v2_layout(struct sandbox_cgroup *cg, const char *name, int want_cpu,
    char *err, size_t errlen)
{
	char self[PATH_MAX], base[SANDBOX_CG_PATH_MAX], dir[SANDBOX_CG_PATH_MAX];

	if (cg_self_path("", self, sizeof(self)) == -1)
		return err_set(err, errlen, "cgroup v2: own cgroup: %s",
		    strerror(errno));
	if ((size_t)snprintf(base, sizeof(base), "%s%s", CGROUP_ROOT,
	    strcmp(self, "/") == 0 ? "" : self) >= sizeof(base) ||
	    (size_t)snprintf(dir, sizeof(dir), "%s/%s%s", base,
	    SANDBOX_CG_PREFIX, name) >= sizeof(dir))
		return err_set(err, errlen, "cgroup v2: path too long");
	/* EBUSY: our cgroup holds processes; run sessiond in a leaf below it. */
	if (cg_write(base, "cgroup.subtree_control", "+memory") == -1 ||
	    cg_write(base, "cgroup.subtree_control", "+pids") == -1 ||
	    (want_cpu && cg_write(base, "cgroup.subtree_control", "+cpu") == -1))
		return err_set(err, errlen,
		    "cgroup v2: enable controllers in %s: %s", base,
		    strerror(errno));
	cg->v2 = 1;
	cg->memory = cg->pids = cg->cpuacct = cg_slot(cg, dir);
	if (want_cpu)
		cg->cpu = cg->memory;
	return 0;
}

static int
cg_remove(struct sandbox_cgroup *cg)
{
	int i, tries, rc = 0;

	for (i = cg->n - 1; i >= 0; i--) {
		/* EBUSY while the last exiting tasks are released: retry. */
		for (tries = 0; tries < SANDBOX_RMDIR_TRIES; tries++) {
			if (rmdir(cg->dir[i]) == 0 || errno == ENOENT)
				break;
			if (errno != EBUSY) {
				tries = SANDBOX_RMDIR_TRIES;
				break;
			}
			usleep(5000);
		}
		if (tries == SANDBOX_RMDIR_TRIES) {
			log_warn("sandbox: remove cgroup %s", cg->dir[i]);
			rc = -1;
			continue;
		}
		cg->dir[i][0] = '\0';
	}
	if (rc == 0)
		cg->n = 0;
	return rc;
}

static int
cg_limits(const struct sandbox_cgroup *cg, const struct sandbox_limits *lim,
    char *err, size_t errlen)
{
	uint64_t mem = (uint64_t)lim->memory_mb * 1024 * 1024;
	const char *m = cg->dir[cg->memory], *pd = cg->dir[cg->pids];
	const char *file;

	if (cg->v2) {
		if (cg_write(m, file = "memory.max", "%llu",
		    (unsigned long long)mem) == -1)
			goto fail;
		if (cg_write(m, file = "memory.swap.max", "0") == -1 &&
		    errno != ENOENT)
			goto fail;
		if (cg_write(pd, file = "pids.max", "%u", lim->pids) == -1)
			goto fail;
		if (lim->cpu_pct > 0 && cg_write(cg->dir[cg->cpu],
		    file = "cpu.max", "%u 100000", lim->cpu_pct * 1000) == -1)
			goto fail;
		return 0;
	}
	if (cg_write(m, file = "memory.limit_in_bytes", "%llu",
	    (unsigned long long)mem) == -1)
		goto fail;
	/* Absent without swap accounting; then there is no swap to cap. */
	if (cg_write(m, file = "memory.memsw.limit_in_bytes", "%llu",
	    (unsigned long long)mem) == -1 && errno != ENOENT)
		goto fail;
	if (cg_write(pd, file = "pids.max", "%u", lim->pids) == -1)
		goto fail;
	if (lim->cpu_pct > 0) {
		if (cg_write(cg->dir[cg->cpu], file = "cpu.cfs_period_us",
		    "100000") == -1 ||
		    cg_write(cg->dir[cg->cpu], file = "cpu.cfs_quota_us", "%u",
		    lim->cpu_pct * 1000) == -1)
			goto fail;
	}
	return 0;
fail:
	return err_set(err, errlen, "cgroup: set %s: %s", file, strerror(errno));
}

/* Make the sandbox's cgroups and set their limits; nothing left on error. */
static int
cg_create(struct sandbox_cgroup *cg, const char *name,
    const struct sandbox_limits *lim, char *err, size_t errlen)
{
	struct statfs sf;
	int i, rc;

	memset(cg, 0, sizeof(*cg));
	cg->memory = cg->pids = cg->cpu = cg->cpuacct = -1;
	if (statfs(CGROUP_ROOT, &sf) == -1)
		return err_set(err, errlen, "cgroup: %s: %s", CGROUP_ROOT,
		    strerror(errno));
	if (sf.f_type == CGROUP2_SUPER_MAGIC)
		rc = cg_v2_layout(cg, name, lim->cpu_pct > 0, err, errlen);
	else
		rc = cg_v1_layout(cg, name, lim->cpu_pct > 0, err, errlen);
	if (rc == -1)
		return -1;
	for (i = 0; i < cg->n; i++)
		if (mkdir(cg->dir[i], 0755) == -1) {
			err_set(err, errlen, "cgroup: mkdir %s: %s", cg->dir[i],
			    strerror(errno));
			cg->n = i;	/* remove only what we made */
			goto fail;
		}
	if (cg_limits(cg, lim, err, errlen) == -1)
		goto fail;
	return 0;
fail:
	cg_remove(cg);
	return -1;
}

static int
cg_attach(const struct sandbox_cgroup *cg, pid_t pid, char *err,
    size_t errlen)
{
	int i;

	for (i = 0; i < cg->n; i++)
		if (cg_write(cg->dir[i], "cgroup.procs", "%d", (int)pid) == -1)
			return err_set(err, errlen, "cgroup: attach to %s: %s",
			    cg->dir[i], strerror(errno));
	return 0;
}

int
sandbox_usage(const struct sandbox *sb, struct sandbox_usage *u)
{
	const struct sandbox_cgroup *cg = &sb->cg;
	uint64_t v;
	int rc = 0;

	memset(u, 0, sizeof(*u));
	if (cg->n == 0) {
		errno = ENOENT;
		return -1;
	}
	if (cg->cpuacct >= 0) {
		/* v2 counts microseconds, v1's cpuacct nanoseconds. */
		if (cg->v2 && cg_read_u64(cg->dir[cg->cpuacct], "cpu.stat",
		    "usage_usec", &v) == 0)
			u->cpu_ms = v / 1000;
		else if (!cg->v2 && cg_read_u64(cg->dir[cg->cpuacct],
		    "cpuacct.usage", NULL, &v) == 0)
			u->cpu_ms = v / 1000000;
		else
			rc = -1;
	}
	/* memory.peak needs Linux 5.19; older v2 kernels report 0. */
	if (cg_read_u64(cg->dir[cg->memory], cg->v2 ? "memory.peak" :
	    "memory.max_usage_in_bytes", NULL, &v) == 0)
		u->mem_peak_bytes = v;
	else if (!cg->v2)
		rc = -1;
	if (cg_read_u64(cg->dir[cg->memory], cg->v2 ? "memory.events" :
	    "memory.oom_control", "oom_kill", &v) == 0)
		u->oom_kills = v;
	else
		rc = -1;
	return rc;
}

/* ---------------------------------------------------------------------
 * The seccomp program, built once per spawn by libseccomp in the caller
 * and handed to the workload as plain BPF (loading it there allocates
 * nothing).
 */

/* System calls that refuse with EPERM whatever their arguments. */
static const char *const sandbox_denied[] = {
	"unshare", "setns", "mount", "umount", "umount2", "pivot_root",
	"chroot", "fsopen", "fsconfig", "fsmount", "fspick", "move_mount",
	"open_tree", "mount_setattr", "ptrace", "process_vm_readv",
	"process_vm_writev", "kexec_load", "kexec_file_load", "init_module",
	"finit_module", "delete_module", "add_key", "request_key", "keyctl",
	"bpf", "perf_event_open", "userfaultfd", "open_by_handle_at",
	"name_to_handle_at", "iopl", "ioperm", "swapon", "swapoff", "reboot",
	"settimeofday", "clock_settime", "stime", "acct", "quotactl", "quotactl_fd", "lookup_dcookie",
	"syslog", "vhangup", "uselib", "nfsservctl", "_sysctl",
	"io_uring_setup", "io_uring_enter", "io_uring_register",
};

static int
sb_rule(scmp_filter_ctx ctx, int errnum, const char *name, unsigned int n,
    const struct scmp_arg_cmp *args)
{
	int nr = seccomp_syscall_resolve_name(name);

	if (nr == __NR_SCMP_ERROR)
		return 0;	/* not a system call on this architecture */
	return seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(errnum), nr, n, args);
}

static int
sb_seccomp_rules(scmp_filter_ctx ctx)
{
	static const uint64_t nsflags[] = {
		CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET, CLONE_NEWPID,
		CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWCGROUP,
	};
	static const unsigned long ttyioc[] = { TIOCSTI, TIOCLINUX };
	struct scmp_arg_cmp a[2];
	size_t i;
	int rc = 0, af, fam[2] = { AF_INET, AF_INET6 };

	for (i = 0; rc == 0 && i < sizeof(sandbox_denied) / sizeof(sandbox_denied[0]); i++)
		rc = sb_rule(ctx, EPERM, sandbox_denied[i], 0, NULL);
	/* Threads and fork are fine; a new namespace is not. */
	for (i = 0; rc == 0 && i < sizeof(nsflags) / sizeof(nsflags[0]); i++) {
		a[0] = SCMP_A0(SCMP_CMP_MASKED_EQ, nsflags[i], nsflags[i]);
		rc = sb_rule(ctx, EPERM, "clone", 1, a);
	}
	/* clone3's flags sit behind a pointer: ENOSYS makes libc use clone. */
	if (rc == 0)
		rc = sb_rule(ctx, ENOSYS, "clone3", 0, NULL);
	/* Sockets: AF_UNIX, AF_INET, AF_INET6 only (no netlink, packet, vsock). */
	for (af = 0; rc == 0 && af <= AF_INET6; af++) {
		if (af == AF_UNIX || af == AF_INET || af == AF_INET6)
			continue;
		a[0] = SCMP_A0(SCMP_CMP_EQ, (uint64_t)af);
		rc = sb_rule(ctx, EPERM, "socket", 1, a);
	}
	if (rc == 0) {
		a[0] = SCMP_A0(SCMP_CMP_GT, AF_INET6);
		rc = sb_rule(ctx, EPERM, "socket", 1, a);
	}
	for (i = 0; rc == 0 && i < 2; i++) {
		a[0] = SCMP_A0(SCMP_CMP_EQ, (uint64_t)fam[i]);
		a[1] = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_RAW);
		rc = sb_rule(ctx, EPERM, "socket", 2, a);
		if (rc == 0) {
			a[1] = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_PACKET);
			rc = sb_rule(ctx, EPERM, "socket", 2, a);
		}
	}
	/* Device nodes, even where a file system would allow them. */
	for (i = 0; rc == 0 && i < 2; i++) {
		uint64_t type = i == 0 ? S_IFCHR : S_IFBLK;

		a[0] = SCMP_A1(SCMP_CMP_MASKED_EQ, S_IFMT, type);
		rc = sb_rule(ctx, EPERM, "mknod", 1, a);
		if (rc == 0) {
			a[0] = SCMP_A2(SCMP_CMP_MASKED_EQ, S_IFMT, type);
			rc = sb_rule(ctx, EPERM, "mknodat", 1, a);
		}
	}
	/* Typing into, or reprogramming, a terminal someone else reads. */
	for (i = 0; rc == 0 && i < 2; i++) {
		a[0] = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, ttyioc[i]);
		rc = sb_rule(ctx, EPERM, "ioctl", 1, a);
	}
	return rc;
}

static int
sb_seccomp_build(struct sock_fprog *prog, char *err, size_t errlen)
{
	scmp_filter_ctx ctx;
	struct sock_filter *buf = NULL;
	off_t size;
	int fd = -1, rc;

	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL)
		return err_set(err, errlen, "seccomp: init failed");
	if ((rc = sb_seccomp_rules(ctx)) < 0) {
		err_set(err, errlen, "seccomp: add rule: %s", strerror(-rc));
		goto out;
	}
	rc = -1;
	if ((fd = memfd_create("enclave-seccomp", MFD_CLOEXEC)) == -1) {
		err_set(err, errlen, "seccomp: memfd: %s", strerror(errno));
		goto out;
	}
	if ((rc = seccomp_export_bpf(ctx, fd)) < 0) {
		err_set(err, errlen, "seccomp: export: %s", strerror(-rc));
		goto out;
	}
	rc = -1;
	size = lseek(fd, 0, SEEK_END);
	if (size <= 0 || size % (off_t)sizeof(*buf) != 0 ||
	    size / (off_t)sizeof(*buf) > BPF_MAXINSNS) {
		err_set(err, errlen, "seccomp: program of %lld bytes",
		    (long long)size);
		goto out;
	}
	if ((buf = malloc((size_t)size)) == NULL ||
	    pread(fd, buf, (size_t)size, 0) != size) {
		err_set(err, errlen, "seccomp: read program: %s",
		    strerror(errno ? errno : EIO));
		free(buf);
		goto out;
	}
	prog->filter = buf;
	prog->len = (unsigned short)(size / (off_t)sizeof(*buf));
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	seccomp_release(ctx);
	return rc;
}

/* ---------------------------------------------------------------------
 * The caller's side.
 */

static int
sandbox_name_ok(const char *name)
{
	size_t i, n;

	if (name == NULL || (n = strlen(name)) == 0 || n > SANDBOX_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		    (name[i] >= 'A' && name[i] <= 'Z') ||
		    (name[i] >= '0' && name[i] <= '9') ||
		    name[i] == '_' || name[i] == '-'))
			return 0;
	return 1;
}

static int
sandbox_limit(unsigned int *v, unsigned int def, unsigned int min,
    unsigned int max, const char *what, char *err, size_t errlen)
{
	if (*v == 0)
		*v = def;
	if (*v < min || *v > max)
		return err_set(err, errlen, "%s %u out of range [%u, %u]", what,
		    *v, min, max);
	return 0;
}

static int
sandbox_check_fd(int fd, const char *what, char *err, size_t errlen)
{
	if (fd >= 0 && fcntl(fd, F_GETFD) == -1)
		return err_set(err, errlen, "%s fd %d: %s", what, fd,
		    strerror(errno));
	return 0;
}

static int
sandbox_validate(const struct sandbox_spec *s, struct sandbox_limits *lim,
    const struct sandbox_lang **lang, char *err, size_t errlen)
{
	size_t i;

	if (!sandbox_name_ok(s->name))
		return err_set(err, errlen, "sandbox name must be 1-%d of "
		    "[A-Za-z0-9_-]", SANDBOX_NAME_MAX);
	if (s->netns_path == NULL || s->netns_path[0] != '/')
		return err_set(err, errlen, "netns path must be absolute");
	*lang = NULL;
	for (i = 0; s->language != NULL &&
	    i < sizeof(sandbox_langs) / sizeof(sandbox_langs[0]); i++)
		if (strcmp(s->language, sandbox_langs[i].name) == 0)
			*lang = &sandbox_langs[i];
	if (*lang == NULL)
		return err_set(err, errlen, "unknown language (python, sh, node)");
	if (access((*lang)->interp, X_OK) == -1)
		return err_set(err, errlen, "%s is not installed%s",
		    (*lang)->name, errno == ENOENT ? "" : " (not executable)");
	if (s->code == NULL && s->code_len > 0)
		return err_set(err, errlen, "code is NULL");
	if (s->uid == 0 || s->gid == 0 || s->uid == (uid_t)-1 ||
	    s->gid == (gid_t)-1)
		return err_set(err, errlen, "the workload's uid and gid must be "
		    "unprivileged (not 0)");
	*lim = s->limits;
	if (sandbox_limit(&lim->memory_mb, SANDBOX_DEF_MEMORY_MB, 16, 1 << 20,
	    "memory_mb", err, errlen) == -1 ||
	    sandbox_limit(&lim->pids, SANDBOX_DEF_PIDS, 4, 1 << 16, "pids",
	    err, errlen) == -1 ||
	    sandbox_limit(&lim->workspace_mb, SANDBOX_DEF_FS_MB, 1, 1 << 16,
	    "workspace_mb", err, errlen) == -1 ||
	    sandbox_limit(&lim->tmp_mb, SANDBOX_DEF_FS_MB, 1, 1 << 16,
	    "tmp_mb", err, errlen) == -1)
		return -1;
	if (lim->cpu_pct > 100 * 1024)
		return err_set(err, errlen, "cpu_pct %u too large", lim->cpu_pct);
	if ((uint64_t)s->code_len > (uint64_t)lim->workspace_mb * 1024 * 1024)
		return err_set(err, errlen, "code larger than the workspace");
	if (sandbox_check_fd(s->stdout_fd, "stdout", err, errlen) == -1 ||
	    sandbox_check_fd(s->stderr_fd, "stderr", err, errlen) == -1 ||
	    sandbox_check_fd(s->result_fd, "result", err, errlen) == -1)
		return -1;
	return 0;
}

static void
plan_env(struct sandbox_plan *p, int helpers)
{
	char *b = p->env_buf, *end = p->env_buf + sizeof(p->env_buf);
	int n = 0;

#define PLAN_ENV(...) do {						\
	p->envp[n++] = b;						\
	b += snprintf(b, (size_t)(end - b), __VA_ARGS__) + 1;		\
} while (0)
	PLAN_ENV("PATH=/usr/local/bin:/usr/bin:/bin%s",
	    helpers ? ":/opt/enclave" : "");
	PLAN_ENV("HOME=/workspace");
	PLAN_ENV("LANG=C.UTF-8");
	PLAN_ENV("TMPDIR=/tmp");
	PLAN_ENV("PYTHONDONTWRITEBYTECODE=1");
	if (p->result_fd >= 0)
		PLAN_ENV("ENCLAVE_RESULT_FD=%d", SANDBOX_RESULT_FD);
	if (helpers) {
		PLAN_ENV("PYTHONPATH=/opt/enclave");
		PLAN_ENV("NODE_PATH=/opt/enclave");
	}
#undef PLAN_ENV
	p->envp[n] = NULL;
}

static int
plan_build(struct sandbox_plan *p, const struct sandbox_spec *s,
    const struct sandbox_limits *lim, const struct sandbox_lang *lang,
    char *err, size_t errlen)
{
	unsigned char addr[16];
	char real[PATH_MAX];
	struct stat st;

	p->spec = s;
	p->lang = lang;
	p->lim = *lim;
	p->netfd = p->sync_r = p->err_w = p->status_w = -1;
	p->out_fd = s->stdout_fd;
	p->errout_fd = s->stderr_fd;
	p->result_fd = s->result_fd;
	p->argv[0] = lang->interp;
	p->argv[1] = lang->file;
	p->argv[2] = NULL;
	if (s->helpers_dir != NULL) {
		if (realpath(s->helpers_dir, real) == NULL ||
		    stat(real, &st) == -1)
			return err_set(err, errlen, "helpers %s: %s",
			    s->helpers_dir, strerror(errno));
		if (!S_ISDIR(st.st_mode))
			return err_set(err, errlen, "helpers %s: not a directory",
			    s->helpers_dir);
		snprintf(p->helpers_src, sizeof(p->helpers_src), "%s%s",
		    SANDBOX_OLDROOT, real);
	}
	plan_env(p, s->helpers_dir != NULL);
	if (s->gateway != NULL) {
		if (inet_pton(AF_INET, s->gateway, addr) != 1 &&
		    inet_pton(AF_INET6, s->gateway, addr) != 1)
			return err_set(err, errlen, "gateway is not an address");
		snprintf(p->resolv, sizeof(p->resolv), "nameserver %s\n",
		    s->gateway);
	}
	snprintf(p->root_opts, sizeof(p->root_opts),
	    "size=4m,nr_inodes=4096,mode=0755");
	snprintf(p->dev_opts, sizeof(p->dev_opts),
	    "size=64k,nr_inodes=64,mode=0755");
	snprintf(p->ws_opts, sizeof(p->ws_opts),
	    "size=%um,nr_inodes=65536,mode=0700,uid=%u,gid=%u",
	    lim->workspace_mb, (unsigned int)s->uid, (unsigned int)s->gid);
	snprintf(p->tmp_opts, sizeof(p->tmp_opts),
	    "size=%um,nr_inodes=65536,mode=1777", lim->tmp_mb);
	snprintf(p->passwd, sizeof(p->passwd),
	    "root:x:0:0:root:/nonexistent:/usr/sbin/nologin\n"
	    "sandbox:x:%u:%u:sandbox:/workspace:/bin/sh\n",
	    (unsigned int)s->uid, (unsigned int)s->gid);
	snprintf(p->group, sizeof(p->group), "root:x:0:\nsandbox:x:%u:\n",
	    (unsigned int)s->gid);
	return 0;
}

static void
plan_free(struct sandbox_plan *p)
{
	if (p == NULL)
		return;
	if (p->netfd != -1)
		close(p->netfd);
	free(p->prog.filter);
	free(p);
}

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
	const struct sandbox_lang *lang = NULL;
	struct sandbox_limits lim;
	struct sandbox_plan *p = NULL;
	int sync_p[2] = { -1, -1 }, err_p[2] = { -1, -1 }, st_p[2] = { -1, -1 };
	int pidfd = -1, saved;
	sigset_t all, old;
	pid_t pid;
	char go = 'g';

	sandbox_clear(out);
	if (sandbox_validate(spec, &lim, &lang, err, errlen) == -1)
		return -1;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return err_set(err, errlen, "out of memory");
	if (plan_build(p, spec, &lim, lang, err, errlen) == -1 ||
	    sb_seccomp_build(&p->prog, err, errlen) == -1)
		goto fail;
	if ((p->netfd = open(spec->netns_path, O_RDONLY | O_CLOEXEC)) == -1) {
		err_set(err, errlen, "open netns %s: %s", spec->netns_path,
		    strerror(errno));
		goto fail;
	}
	if (cg_create(&out->cg, spec->name, &lim, err, errlen) == -1)
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
		child_init(p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid == -1) {
		err_set(err, errlen, "clone3: %s", strerror(saved));
		goto fail_pipes;
	}
	sandbox_close(&sync_p[0]);
	sandbox_close(&err_p[1]);
	sandbox_close(&st_p[1]);
	if (cg_attach(&out->cg, pid, err, errlen) == -1)
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
	plan_free(p);
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
	cg_remove(&out->cg);
fail:
	plan_free(p);
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
	if (cg_remove(&sb->cg) == -1)
		rc = -1;
	return rc;
}
