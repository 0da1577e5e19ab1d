/*
 * One microVM run, the host's side. See vmrun.h.
 */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <linux/kvm.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "netns/link.h"
#include "netns/rtnl.h"
#include "sessiond/sandbox_child.h"
#include "sessiond/vmrun.h"

#define VMRUN_DEF_MEMORY_MB	256	/* as the namespace sandbox's */
#define VMRUN_DEF_PIDS		128
#define VMRUN_DEF_FS_MB		64
#define VMRUN_EXIT_GRACE_MS	2000	/* EXIT seen, VMM still up: kill it */
#define VMRUN_JOIN_MS		5000	/* the relay to end once the VMM is */
#define VMRUN_HELPER_MAX	(1024 * 1024)
#define VMRUN_HELPERS_MAX	64
#define VMRUN_KVM_PROBE_MS	3000
#define VMRUN_KVM_FAULT_MB	2
#define VMRUN_KVM_SLOW_MS	50	/* for 2 MiB; healthy KVM takes ~2 */

static void
vmrun_close(int *fd)
{
	if (*fd != -1) {
		close(*fd);
		*fd = -1;
	}
}

static int
vmrun_pidfd_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

int
vmrun_guest(const struct backend_spec *spec, const char *usr,
    struct vmframe_guest *g, char *err, size_t errlen)
{
	memset(g, 0, sizeof(*g));
	if (spec->sess_addr.family != AF_INET ||
	    spec->gateway_addr.family != AF_INET)
		return err_set(err, errlen, "a microVM needs IPv4 addresses");
	(void)ip_format(&spec->sess_addr, g->addr, sizeof(g->addr));
	(void)ip_format(&spec->gateway_addr, g->gateway, sizeof(g->gateway));
	g->prefixlen = spec->prefixlen;
	if (spec->language == NULL ||
	    vmframe_lang(spec->language, NULL, NULL) == -1)
		return err_set(err, errlen, "unknown language (python, sh, "
		    "node)");
	snprintf(g->lang, sizeof(g->lang), "%s", spec->language);
	if (spec->uid == 0 || spec->gid == 0)
		return err_set(err, errlen, "the workload's uid and gid must be "
		    "unprivileged (not 0)");
	g->uid = spec->uid;
	g->gid = spec->gid;
	g->memory_mb = spec->limits.memory_mb ? spec->limits.memory_mb :
	    VMRUN_DEF_MEMORY_MB;
	g->pids = spec->limits.pids ? spec->limits.pids : VMRUN_DEF_PIDS;
	g->workspace_mb = spec->limits.workspace_mb ?
	    spec->limits.workspace_mb : VMRUN_DEF_FS_MB;
	g->tmp_mb = spec->limits.tmp_mb ? spec->limits.tmp_mb :
	    VMRUN_DEF_FS_MB;
	snprintf(g->usr, sizeof(g->usr), "%s", usr);
	if ((uint64_t)spec->code_len > (uint64_t)g->workspace_mb * 1024 * 1024)
		return err_set(err, errlen, "code larger than the workspace");
	return 0;
}

int
vmrun_init(struct vmrun *vm, const char *backend,
    const struct backend_spec *spec, char *err, size_t errlen)
{
	int fds[3] = { spec->stdout_fd, spec->stderr_fd, spec->result_fd };
	int i;

	memset(vm, 0, sizeof(*vm));
	vm->backend = backend;
	vm->netfd = vm->pidfd = vm->serial_fd = vm->done_fd = vm->tap_fd = -1;
	vm->pid = -1;
	for (i = 0; i < 3; i++)
		vm->out_fd[i] = -1;
	vm->cg.memory = vm->cg.pids = vm->cg.cpu = vm->cg.cpuacct = -1;
	if (spec->name == NULL || strlen(spec->name) > SANDBOX_NAME_MAX ||
	    spec->run_dir == NULL || spec->run_dir[0] != '/' ||
	    spec->netns_path == NULL || spec->sess_if == NULL ||
	    strlen(spec->sess_if) >= IF_NAMESIZE)
		return err_set(err, errlen, "bad backend spec");
	snprintf(vm->name, sizeof(vm->name), "%s", spec->name);
	snprintf(vm->sess_if, sizeof(vm->sess_if), "%s", spec->sess_if);
	vm->sess_addr = spec->sess_addr;
	vm->prefixlen = spec->prefixlen;
	if ((size_t)snprintf(vm->run_dir, sizeof(vm->run_dir), "%s",
	    spec->run_dir) >= sizeof(vm->run_dir))
		return err_set(err, errlen, "run dir too long");
	/* 0711: an unprivileged VMM reaches the one file that is its own. */
	if (mkdir(vm->run_dir, 0711) == -1 || chmod(vm->run_dir, 0711) == -1)
		return err_set(err, errlen, "mkdir %s: %s", vm->run_dir,
		    strerror(errno));
	vm->have_dir = 1;
	if ((vm->netfd = open(spec->netns_path, O_RDONLY | O_CLOEXEC)) == -1)
		return err_set(err, errlen, "open netns %s: %s",
		    spec->netns_path, strerror(errno));
	/* The caller closes its copies once start() returns. */
	for (i = 0; i < 3; i++)
		if (fds[i] >= 0 &&
		    (vm->out_fd[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3)) == -1)
			return err_set(err, errlen, "dup output fd: %s",
			    strerror(errno));
	if ((vm->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1)
		return err_set(err, errlen, "eventfd: %s", strerror(errno));
	return 0;
}

/* A whole small file into a malloc'd buffer. */
static int
vmrun_slurp(int dirfd, const char *name, size_t max, char **out,
    size_t *outlen, mode_t *mode)
{
	struct stat st;
	size_t got = 0;
	ssize_t n;
	char *buf;
	int fd;

	if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > max) {
		if (S_ISREG(st.st_mode))
			errno = EFBIG;
		else if (errno == 0)
			errno = EINVAL;
		close(fd);
		return -1;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return -1;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	*out = buf;
	*outlen = got;
	*mode = st.st_mode & 0755;
	return 0;
}

/* The helpers directory's regular files, at /opt/enclave in the guest. */
static int
vmrun_cpio_helpers(struct vmframe_cpio *c, const char *dir, char *err,
    size_t errlen)
{
	char path[128], *data;
	struct dirent *de;
	size_t len;
	mode_t mode;
	int dfd, n = 0, rc = 0;
	DIR *d;

	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    (d = fdopendir(dfd)) == NULL) {
		err_set(err, errlen, "helpers %s: %s", dir, strerror(errno));
		if (dfd != -1)
			close(dfd);
		return -1;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || de->d_type == DT_DIR)
			continue;
		if (++n > VMRUN_HELPERS_MAX) {
			rc = err_set(err, errlen, "helpers %s: too many files",
			    dir);
			break;
		}
		if ((size_t)snprintf(path, sizeof(path), "opt/enclave/%s",
		    de->d_name) >= sizeof(path))
			continue;
		if (vmrun_slurp(dfd, de->d_name, VMRUN_HELPER_MAX, &data, &len,
		    &mode) == -1) {
			/* A symlink (ELOOP): not ours to follow. */
			if (errno == ELOOP)
				continue;
			rc = err_set(err, errlen, "helper %s/%s: %s", dir,
			    de->d_name, strerror(errno));
			break;
		}
		if (vmframe_cpio_file(c, path, mode | 0444, data, len) == -1)
			rc = err_set(err, errlen, "initrd: %s",
			    strerror(errno));
		free(data);
	}
	closedir(d);
	return rc;
}

static int
vmrun_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
vmrun_initrd(struct vmrun *vm, const struct backend_spec *spec,
    const char *base_initramfs, uid_t reader, gid_t rgid, char *path,
    size_t pathlen, char *err, size_t errlen)
{
	struct vmframe_cpio c;
	const char *file;
	char name[64];
	int in = -1, out = -1, rc = -1;
	ssize_t n;

	memset(&c, 0, sizeof(c));
	if ((size_t)snprintf(path, pathlen, "%s/initrd", vm->run_dir) >=
	    pathlen)
		return err_set(err, errlen, "run dir too long");
	(void)vmframe_lang(spec->language, NULL, &file);
	snprintf(name, sizeof(name), "enclave/run/%s", file);
	if (vmframe_cpio_dir(&c, "enclave/run", 0755) == -1 ||
	    vmframe_cpio_file(&c, name, 0444, spec->code,
	    spec->code_len) == -1 ||
	    vmframe_cpio_dir(&c, "opt/enclave", 0755) == -1) {
		err_set(err, errlen, "initrd: %s", strerror(errno));
		goto out;
	}
	if (spec->helpers_dir != NULL &&
	    vmrun_cpio_helpers(&c, spec->helpers_dir, err, errlen) == -1)
		goto out;
	if (vmframe_cpio_finish(&c) == -1) {
		err_set(err, errlen, "initrd: %s", strerror(errno));
		goto out;
	}
	if ((in = open(base_initramfs, O_RDONLY | O_CLOEXEC)) == -1) {
		err_set(err, errlen, "%s: %s", base_initramfs, strerror(errno));
		goto out;
	}
	if ((out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0400)) == -1 || fchown(out, reader, rgid) == -1) {
		err_set(err, errlen, "create %s: %s", path, strerror(errno));
		goto out;
	}
	/* In the kernel, page cache to page cache: a few ms for 7 MiB. */
	while ((n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0)) > 0)
		;
	if (n == -1 || vmrun_write_all(out, c.buf, c.len) == -1) {
		err_set(err, errlen, "write %s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (out != -1 && close(out) == -1 && rc == 0)
		rc = err_set(err, errlen, "write %s: %s", path,
		    strerror(errno));
	if (in != -1)
		close(in);
	vmframe_cpio_free(&c);
	return rc;
}

/*
 * Bridge the session's veth end and the tap, and take the session's
 * address off the veth: the guest holds it now, so the netns itself can
 * send nothing and the host side sees the guest as it would a sandbox.
 */
int
vmrun_net(struct vmrun *vm, uid_t owner, gid_t group, char *err,
    size_t errlen)
{
	struct rtnl r;
	int sidx, bidx, tidx, rc;

	if ((rc = rtnl_open(&r, vm->netfd)) < 0)
		return err_set(err, errlen, "rtnetlink in the session netns: "
		    "%s", strerror(-rc));
	vm->have_net = 1;
	if (link_index(&r, vm->sess_if, &sidx, err, errlen) < 0 ||
	    link_addr_del(&r, sidx, vm->sess_if, &vm->sess_addr, vm->prefixlen,
	    err, errlen) < 0 ||
	    link_tap_create(vm->netfd, VMRUN_TAP, owner, group, &vm->tap_fd,
	    err, errlen) < 0 ||
	    link_bridge_create(&r, VMRUN_BRIDGE, err, errlen) < 0 ||
	    link_index(&r, VMRUN_BRIDGE, &bidx, err, errlen) < 0 ||
	    link_index(&r, VMRUN_TAP, &tidx, err, errlen) < 0 ||
	    link_set_master(&r, sidx, vm->sess_if, bidx, err, errlen) < 0 ||
	    link_set_master(&r, tidx, VMRUN_TAP, bidx, err, errlen) < 0 ||
	    link_up(&r, tidx, VMRUN_TAP, err, errlen) < 0 ||
	    link_up(&r, bidx, VMRUN_BRIDGE, err, errlen) < 0) {
		rtnl_close(&r);
		return -1;
	}
	rtnl_close(&r);
	return 0;
}

int
vmrun_cgroup(struct vmrun *vm, const struct backend_spec *spec,
    unsigned int guest_mb, char *err, size_t errlen)
{
	struct sandbox_limits lim;

	memset(&lim, 0, sizeof(lim));
	lim.memory_mb = guest_mb + VMRUN_VMM_OVERHEAD_MB;
	lim.pids = VMRUN_VMM_PIDS;
	lim.cpu_pct = spec->limits.cpu_pct;
	return sandbox_cg_create(&vm->cg, vm->name, &lim, err, errlen);
}

/* The VMM's whole environment: nothing of the daemon's. */
static char *const vmrun_envp[] = {
	(char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL,
};

struct vmrun_child_args {
	int netfd, sync_fd, serial_w, log_fd;
	const int *pass;
	int npass;
	uid_t uid;
	gid_t gid;
	char *const *argv;
};

/* Between clone and execve: system calls only, no allocation. */
static void __attribute__((noreturn))
vmrun_child(const struct vmrun_child_args *a)
{
	struct rlimit rl = { VMRUN_VMM_FSIZE, VMRUN_VMM_FSIZE };
	int tmp[VMRUN_PASS_MAX], null, i, sync_fd;
	sigset_t none;
	char go;

	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) == -1 ||
	    setns(a->netfd, CLONE_NEWNET) == -1 ||
	    (null = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
		_exit(121);
	/* Out of the way of 0..3+npass first, then into place. */
	for (i = 0; i < a->npass; i++)
		if ((tmp[i] = fcntl(a->pass[i], F_DUPFD_CLOEXEC, 64)) == -1)
			_exit(121);
	if ((sync_fd = fcntl(a->sync_fd, F_DUPFD_CLOEXEC, 64)) == -1 ||
	    dup2(null, 0) == -1 || dup2(a->serial_w, 1) == -1 ||
	    dup2(a->log_fd, 2) == -1)
		_exit(121);
	for (i = 0; i < a->npass; i++)
		if (dup2(tmp[i], 3 + i) == -1)
			_exit(121);
	if (setrlimit(RLIMIT_FSIZE, &rl) == -1)
		_exit(121);
	/* The caller says go once we are in the cgroup. */
	if (read(sync_fd, &go, 1) != 1)
		_exit(122);
	if (syscall(SYS_close_range, 3U + (unsigned int)a->npass, ~0U,
	    0U) == -1)
		_exit(123);
	/* No capability survives: the VMM never holds root's powers. */
	if (a->uid != (uid_t)-1 && (setgroups(0, NULL) == -1 ||
	    setresgid(a->gid, a->gid, a->gid) == -1 ||
	    setresuid(a->uid, a->uid, a->uid) == -1))
		_exit(124);
	/* After the id change, which clears it: a dead daemon's VMs die. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() == 1)
		_exit(120);
	execve(a->argv[0], a->argv, vmrun_envp);
	_exit(127);
}

/* Frames from the guest: output goes on to the session, the rest is kept. */
static int
vmrun_frame(unsigned int type, const uint8_t *p, size_t len, void *arg)
{
	struct vmrun *vm = arg;
	int i;

	switch (type) {
	case VMFRAME_HELLO:
		if (!vm->got_hello && vmframe_u64_decode(p, len,
		    &vm->guest_hello_ms) == 0) {
			vm->got_hello = 1;
			vm->t_hello = clock_monotonic_ms();
		}
		break;
	case VMFRAME_STARTED:
		if (!vm->got_started && vmframe_u64_decode(p, len,
		    &vm->guest_started_ms) == 0) {
			vm->got_started = 1;
			vm->t_started = clock_monotonic_ms();
		}
		break;
	case VMFRAME_STDOUT:
	case VMFRAME_STDERR:
	case VMFRAME_RESULT:
		/* Nothing counts after the end the guest announced. */
		if (vm->got_exit || vm->got_fail)
			break;
		i = (int)(type - VMFRAME_STDOUT);
		/* A reader gone (EPIPE): the session stopped listening. */
		if (vm->out_fd[i] != -1 &&
		    vmrun_write_all(vm->out_fd[i], p, len) == -1)
			vmrun_close(&vm->out_fd[i]);
		break;
	case VMFRAME_EXIT:
		if (!vm->got_exit && !vm->got_fail &&
		    vmframe_exit_decode(p, len, &vm->ex) == 0)
			vm->got_exit = 1;
		break;
	case VMFRAME_FAIL:
		if (!vm->got_exit && !vm->got_fail) {
			size_t k, n = len < sizeof(vm->fail) - 1 ? len :
			    sizeof(vm->fail) - 1;

			for (k = 0; k < n; k++)
				vm->fail[k] = p[k] >= ' ' && p[k] < 0x7f ?
				    (char)p[k] : '?';
			vm->fail[n] = '\0';
			vm->got_fail = 1;
		}
		break;
	}
	return 0;
}

/* The relay thread: the guest's serial port to the session's pipes. */
static void *
vmrun_relay(void *arg)
{
	struct vmrun *vm = arg;
	uint8_t buf[16384];
	uint64_t deadline = 0, now, one = 1;
	struct pollfd pfd;
	ssize_t n;
	int i, rc, timeout, lingered = 0;

	for (;;) {
		timeout = -1;
		if ((vm->got_exit || vm->got_fail) && !lingered) {
			now = clock_monotonic_ms();
			if (deadline == 0)
				deadline = now + VMRUN_EXIT_GRACE_MS;
			timeout = now >= deadline ? 0 : (int)(deadline - now);
		}
		pfd.fd = vm->serial_fd;
		pfd.events = POLLIN;
		rc = poll(&pfd, 1, timeout);
		if (rc == -1 && errno == EINTR)
			continue;
		if (rc == 0) {
			/* The guest said it is done but its VMM lingers. */
			(void)vmrun_pidfd_signal(vm->pidfd, SIGKILL);
			lingered = 1;
			continue;
		}
		n = read(vm->serial_fd, buf, sizeof(buf));
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		(void)vmframe_parser_feed(&vm->parser, buf, (size_t)n,
		    vmrun_frame, vm);
	}
	while (waitid((idtype_t)P_PIDFD, (id_t)vm->pidfd, &vm->si,
	    WEXITED) == -1 && errno == EINTR)
		;
	/* Read before free() removes the cgroup: the run's last word. */
	(void)sandbox_cg_usage(&vm->cg, &vm->usage);
	for (i = 0; i < 3; i++)
		vmrun_close(&vm->out_fd[i]);
	__atomic_store_n(&vm->done, 1, __ATOMIC_RELEASE);
	(void)write(vm->done_fd, &one, sizeof(one));
	return NULL;
}

int
vmrun_spawn(struct vmrun *vm, char *const argv[], uid_t uid, gid_t gid,
    const int *pass, int npass, char *err, size_t errlen)
{
	int sync_p[2] = { -1, -1 }, ser[2] = { -1, -1 }, log_fd = -1;
	char logpath[PATH_MAX + 16], go = 'g';
	struct vmrun_child_args a;
	sigset_t all, old;
	int pidfd = -1, saved, rc;
	pid_t pid;

	snprintf(logpath, sizeof(logpath), "%s/vmm.log", vm->run_dir);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sync_p) == -1 ||
	    pipe2(ser, O_CLOEXEC) == -1 ||
	    (log_fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1) {
		err_set(err, errlen, "spawn %s: %s", argv[0], strerror(errno));
		goto fail;
	}
	if (npass < 0 || npass > VMRUN_PASS_MAX) {
		err_set(err, errlen, "spawn %s: too many fds", argv[0]);
		goto fail;
	}
	a.netfd = vm->netfd;
	a.sync_fd = sync_p[1];
	a.serial_w = ser[1];
	a.log_fd = log_fd;
	a.pass = pass;
	a.npass = npass;
	a.uid = uid;
	a.gid = gid;
	a.argv = argv;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	vm->t_spawn = clock_monotonic_ms();
	pid = sandbox_clone(0, &pidfd);
	saved = errno;
	if (pid == 0)
		vmrun_child(&a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid == -1) {
		err_set(err, errlen, "clone3: %s", strerror(saved));
		goto fail;
	}
	vm->pid = pid;
	vm->pidfd = pidfd;
	vmrun_close(&sync_p[1]);
	vmrun_close(&ser[1]);
	vmrun_close(&log_fd);
	/* The VMM holds the queue now; the tap outlives it (persistent). */
	vmrun_close(&vm->tap_fd);
	vm->serial_fd = ser[0];
	ser[0] = -1;
	if (sandbox_cg_attach(&vm->cg, pid, err, errlen) == -1)
		goto fail_kill;
	if (send(sync_p[0], &go, 1, MSG_NOSIGNAL) != 1) {
		err_set(err, errlen, "start %s: %s", argv[0], strerror(errno));
		goto fail_kill;
	}
	vmrun_close(&sync_p[0]);
	if ((rc = pthread_create(&vm->relay, NULL, vmrun_relay, vm)) != 0) {
		err_set(err, errlen, "relay thread: %s", strerror(rc));
		goto fail_kill;
	}
	vm->have_relay = 1;
	return 0;

fail_kill:
	/* free() reaps it: the pid stays ours until then. */
	(void)vmrun_pidfd_signal(vm->pidfd, SIGKILL);
	vm->killed = 1;
fail:
	vmrun_close(&sync_p[0]);
	vmrun_close(&sync_p[1]);
	vmrun_close(&ser[0]);
	vmrun_close(&ser[1]);
	vmrun_close(&log_fd);
	return -1;
}

int
vmrun_wait_fd(const struct vmrun *vm)
{
	return vm->done_fd;
}

/* Printable text from the guest's last noise, for a log line. */
static void
vmrun_last_words(const struct vmrun *vm, char *out, size_t len)
{
	const struct vmframe_parser *p = &vm->parser;
	size_t i, o = 0, start;

	/* The last two lines or so are what a panic leaves. */
	start = p->tail_len > 200 ? p->tail_len - 200 : 0;
	for (i = start; i < p->tail_len && o + 1 < len; i++) {
		unsigned char ch = (unsigned char)p->tail[i];

		out[o++] = ch >= ' ' && ch < 0x7f ? (char)ch : ' ';
	}
	out[o] = '\0';
}

/* The end of the VMM's own log (its stderr), one line of printable text. */
static void
vmrun_vmm_log(const struct vmrun *vm, char *out, size_t len)
{
	char path[PATH_MAX + 16], buf[256];
	ssize_t n = 0, i;
	off_t size;
	size_t o = 0;
	int fd;

	out[0] = '\0';
	snprintf(path, sizeof(path), "%s/vmm.log", vm->run_dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	if ((size = lseek(fd, 0, SEEK_END)) > 0)
		n = pread(fd, buf, sizeof(buf), size > (off_t)sizeof(buf) ?
		    size - (off_t)sizeof(buf) : 0);
	close(fd);
	for (i = 0; i < n && o + 1 < len; i++)
		out[o++] = buf[i] >= ' ' && buf[i] < 0x7f ? buf[i] : ' ';
	out[o] = '\0';
}

static void
vmrun_log_end(struct vmrun *vm)
{
	char words[256], vmm[256];

	if (vm->logged)
		return;
	vm->logged = 1;
	if (vm->got_hello)
		log_info("%s: %s: booted in %llu ms (%s; guest kernel %llu "
		    "ms), workload started at %llu ms", vm->backend, vm->name,
		    (unsigned long long)(vm->t_hello - vm->t_spawn), vm->accel,
		    (unsigned long long)vm->guest_hello_ms,
		    vm->got_started ? (unsigned long long)(vm->t_started -
		    vm->t_spawn) : 0ULL);
	if (vm->got_fail)
		log_warnx("%s: %s: the guest could not run the workload: %s",
		    vm->backend, vm->name, vm->fail);
	else if (!vm->got_exit && !vm->killed) {
		vmrun_last_words(vm, words, sizeof(words));
		vmrun_vmm_log(vm, vmm, sizeof(vmm));
		log_warnx("%s: %s: the VM ended without a word from its init "
		    "(%s %d); console: %s; vmm: %s", vm->backend, vm->name,
		    vm->si.si_code == CLD_EXITED ? "exit" : "signal",
		    vm->si.si_status, words[0] != '\0' ? words : "(nothing)",
		    vmm[0] != '\0' ? vmm : "(nothing)");
	}
	if (vm->parser.bad > 0)
		log_debug("%s: %s: %llu bad frames from the guest", vm->backend,
		    vm->name, (unsigned long long)vm->parser.bad);
}

int
vmrun_wait(struct vmrun *vm, struct backend_status *st)
{
	if (!__atomic_load_n(&vm->done, __ATOMIC_ACQUIRE))
		return 1;
	memset(st, 0, sizeof(*st));
	if (vm->got_exit) {
		st->exited = vm->ex.exited;
		st->exit_code = vm->ex.code;
		st->signal = vm->ex.signal;
		st->oom = vm->ex.oom;
	} else if (vm->killed) {
		st->signal = SIGKILL;
	} else {
		/* The guest's init failed or died: not the workload's code. */
		st->exited = 1;
		st->exit_code = 125;
	}
	/* The host's limit on the whole VM struck. */
	if (vm->usage.oom_kills > 0 && !vm->got_exit) {
		st->exited = 0;
		st->exit_code = 0;
		st->signal = SIGKILL;
		st->oom = 1;
	}
	vmrun_log_end(vm);
	return 0;
}

int
vmrun_kill(struct vmrun *vm)
{
	if (vm->pidfd == -1 || __atomic_load_n(&vm->done, __ATOMIC_ACQUIRE))
		return 0;
	vm->killed = 1;
	if (vmrun_pidfd_signal(vm->pidfd, SIGKILL) == -1)
		return errno == ESRCH ? 0 : -1;
	return 0;
}

int
vmrun_usage(struct vmrun *vm, struct backend_usage *u)
{
	struct sandbox_usage su;

	if (__atomic_load_n(&vm->done, __ATOMIC_ACQUIRE)) {
		u->cpu_ms = vm->usage.cpu_ms;
		u->mem_peak_bytes = vm->usage.mem_peak_bytes;
		if (vm->got_started && vm->t_started >= vm->t_spawn)
			u->boot_ms = vm->t_started - vm->t_spawn;
		return 0;
	}
	if (sandbox_cg_usage(&vm->cg, &su) == -1)
		return -1;
	u->cpu_ms = su.cpu_ms;
	u->mem_peak_bytes = su.mem_peak_bytes;
	return 0;
}

static int
vmrun_rm(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	if ((flag == FTW_DP ? rmdir(path) : unlink(path)) == -1 &&
	    errno != ENOENT) {
		log_warn("remove %s", path);
		return 1;
	}
	return 0;
}

/* Bounded: the relay ends once the VMM has, which SIGKILL ensures. */
static int
vmrun_join(struct vmrun *vm)
{
	struct timespec ts;
	int rc;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += VMRUN_JOIN_MS / 1000;
	if ((rc = pthread_timedjoin_np(vm->relay, NULL, &ts)) != 0) {
		log_warnx("%s: %s: relay thread did not end: %s", vm->backend,
		    vm->name, strerror(rc));
		return -1;
	}
	vm->have_relay = 0;
	return 0;
}

static int
vmrun_net_remove(struct vmrun *vm)
{
	char e[256];
	struct rtnl r;
	int rc, ret = 0;

	if ((rc = rtnl_open(&r, vm->netfd)) < 0) {
		log_warnx("%s: %s: rtnetlink: %s", vm->backend, vm->name,
		    strerror(-rc));
		return -1;
	}
	/* eth0 leaves the bridge with it; the netns is removed next. */
	if ((rc = link_delete(&r, VMRUN_TAP, e, sizeof(e))) < 0 &&
	    rc != -ENODEV) {
		log_warnx("%s: %s: %s", vm->backend, vm->name, e);
		ret = -1;
	}
	if ((rc = link_delete(&r, VMRUN_BRIDGE, e, sizeof(e))) < 0 &&
	    rc != -ENODEV) {
		log_warnx("%s: %s: %s", vm->backend, vm->name, e);
		ret = -1;
	}
	rtnl_close(&r);
	return ret;
}

int
vmrun_free(struct vmrun *vm)
{
	siginfo_t si;
	int rc = 0, i;

	if (vm->pidfd != -1 && !__atomic_load_n(&vm->done, __ATOMIC_ACQUIRE))
		(void)vmrun_kill(vm);
	if (vm->have_relay && vmrun_join(vm) == -1)
		return -1;	/* it still uses vm: leave everything */
	/* Spawned, but the relay never started: reap here. */
	if (vm->pidfd != -1 && !vm->done)
		while (waitid((idtype_t)P_PIDFD, (id_t)vm->pidfd, &si,
		    WEXITED) == -1 && errno == EINTR)
			;
	vmrun_close(&vm->pidfd);
	vmrun_close(&vm->serial_fd);
	vmrun_close(&vm->done_fd);
	vmrun_close(&vm->tap_fd);
	for (i = 0; i < 3; i++)
		vmrun_close(&vm->out_fd[i]);
	if (vm->have_net) {
		if (vmrun_net_remove(vm) == -1)
			rc = -1;
		vm->have_net = 0;
	}
	if (vm->cg.n > 0 && sandbox_cg_remove(&vm->cg) == -1)
		rc = -1;
	if (vm->have_dir) {
		if (nftw(vm->run_dir, vmrun_rm, 16,
		    FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0)
			rc = -1;
		else
			vm->have_dir = 0;
	}
	vmrun_close(&vm->netfd);
	return rc;
}

/*
 * The KVM check, in a child: long mode straight from the host's registers
 * (page tables identity-map the first 2 MiB-pages), then rep stosq over
 * VMRUN_KVM_FAULT_MB and hlt. Exit status: 0 fast, 1 slow, 2 no KVM,
 * 3 a step failed.
 */
static void __attribute__((noreturn))
vmrun_kvm_child(void)
{
	static const uint8_t code[] = {
		0x48, 0xc7, 0xc7, 0x00, 0x00, 0x40, 0x00,	/* rdi = 4M */
		0x48, 0xc7, 0xc1, 0x00, 0x00, 0x00, 0x00,	/* rcx = n */
		0x31, 0xc0,					/* eax = 0 */
		0xf3, 0x48, 0xab,				/* rep stosq */
		0xf4,						/* hlt */
	};
	const size_t memsz = 16u << 20;
	struct kvm_userspace_memory_region reg;
	struct kvm_segment seg;
	struct kvm_sregs sr;
	struct kvm_regs regs;
	struct kvm_run *run;
	struct timespec t0, t1;
	uint32_t n = VMRUN_KVM_FAULT_MB * 1024 * 1024 / 8;
	uint64_t *pt;
	uint8_t *mem;
	int kvm, vm, cpu, sz, i;
	long ms;

	alarm(VMRUN_KVM_PROBE_MS / 1000);
	if ((kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC)) == -1)
		_exit(2);
	if ((vm = ioctl(kvm, KVM_CREATE_VM, 0)) == -1)
		_exit(2);
	mem = mmap(NULL, memsz, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		_exit(3);
	memset(&reg, 0, sizeof(reg));
	reg.memory_size = memsz;
	reg.userspace_addr = (uint64_t)(uintptr_t)mem;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &reg) == -1 ||
	    (cpu = ioctl(vm, KVM_CREATE_VCPU, 0)) == -1 ||
	    (sz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0)) <= 0)
		_exit(3);
	run = mmap(NULL, (size_t)sz, PROT_READ | PROT_WRITE, MAP_SHARED, cpu,
	    0);
	if (run == MAP_FAILED || ioctl(cpu, KVM_GET_SREGS, &sr) == -1)
		_exit(3);
	pt = (uint64_t *)(void *)(mem + 0x2000);	/* PML4, PDPT, PD */
	pt[0] = 0x3000 | 3;
	pt[512] = 0x4000 | 3;
	for (i = 0; i < 8; i++)
		pt[1024 + i] = ((uint64_t)i << 21) | 0x83;
	sr.cr3 = 0x2000;
	sr.cr4 = 1 << 5;			/* PAE */
	sr.cr0 = 0x80050033;			/* PG, PE, ... */
	sr.efer = 0x500;			/* LME, LMA */
	memset(&seg, 0, sizeof(seg));
	seg.limit = 0xffffffff;
	seg.selector = 8;
	seg.present = 1;
	seg.type = 11;
	seg.s = 1;
	seg.l = 1;
	seg.g = 1;
	sr.cs = seg;
	seg.type = 3;
	seg.selector = 16;
	seg.l = 0;
	sr.ds = sr.es = sr.fs = sr.gs = sr.ss = seg;
	memcpy(mem + 0x1000, code, sizeof(code));
	memcpy(mem + 0x1000 + 10, &n, sizeof(n));
	memset(&regs, 0, sizeof(regs));
	regs.rip = 0x1000;
	regs.rflags = 2;
	regs.rsp = 0x8000;
	if (ioctl(cpu, KVM_SET_SREGS, &sr) == -1 ||
	    ioctl(cpu, KVM_SET_REGS, &regs) == -1)
		_exit(3);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (ioctl(cpu, KVM_RUN, 0) == -1 || run->exit_reason != KVM_EXIT_HLT)
		_exit(3);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000000;
	_exit(ms > VMRUN_KVM_SLOW_MS ? 1 : 0);
}

int
vmrun_kvm_usable(char *why, size_t len)
{
	static int known, usable;
	static char reason[160];
	struct pollfd pfd;
	sigset_t all, old;
	siginfo_t si;
	int pidfd = -1;
	pid_t pid;

	if (known) {
		err_set(why, len, "%s", reason);
		return usable;
	}
	if (access("/dev/kvm", R_OK | W_OK) == -1) {
		snprintf(reason, sizeof(reason), "/dev/kvm: %s",
		    strerror(errno));
		known = 1;
		err_set(why, len, "%s", reason);
		return 0;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = sandbox_clone(0, &pidfd);
	if (pid == 0) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		vmrun_kvm_child();
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid == -1) {
		err_set(why, len, "clone3: %s", strerror(errno));
		return 0;	/* not cached: it may work next time */
	}
	pfd.fd = pidfd;
	pfd.events = POLLIN;
	while (poll(&pfd, 1, VMRUN_KVM_PROBE_MS + 1000) == -1 && errno == EINTR)
		;
	(void)vmrun_pidfd_signal(pidfd, SIGKILL);
	memset(&si, 0, sizeof(si));
	while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED) == -1 &&
	    errno == EINTR)
		;
	close(pidfd);
	known = 1;
	usable = si.si_code == CLD_EXITED && si.si_status == 0;
	if (usable)
		reason[0] = '\0';
	else if (si.si_code != CLD_EXITED)
		snprintf(reason, sizeof(reason), "a KVM test guest did not "
		    "finish in %d s", VMRUN_KVM_PROBE_MS / 1000);
	else if (si.si_status == 1)
		snprintf(reason, sizeof(reason), "KVM is too slow here (a test "
		    "guest took over %d ms to touch %d MiB: nested "
		    "virtualization without working EPT?)", VMRUN_KVM_SLOW_MS,
		    VMRUN_KVM_FAULT_MB);
	else if (si.si_status == 2)
		snprintf(reason, sizeof(reason), "/dev/kvm cannot create a VM");
	else
		snprintf(reason, sizeof(reason), "a KVM test guest failed");
	err_set(why, len, "%s", reason);
	return usable;
}

unsigned int
vmrun_tsc_khz(void)
{
#if defined(__x86_64__)
	static unsigned int khz;
	struct timespec t0, t1, d = { 0, 20 * 1000 * 1000 };
	uint64_t c0, c1, ns;

	if (khz != 0)
		return khz;
	clock_gettime(CLOCK_MONOTONIC_RAW, &t0);
	c0 = __rdtsc();
	while (nanosleep(&d, &d) == -1 && errno == EINTR)
		;
	c1 = __rdtsc();
	clock_gettime(CLOCK_MONOTONIC_RAW, &t1);
	ns = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u +
	    (uint64_t)(t1.tv_nsec - t0.tv_nsec);
	if (ns > 0 && c1 > c0)
		khz = (unsigned int)((c1 - c0) * 1000000u / ns);
	return khz;
#else
	return 0;
#endif
}
