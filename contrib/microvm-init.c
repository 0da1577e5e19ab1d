/*
 * microvm-init: pid 1 of an Enclave microVM (the `microvm` and
 * `firecracker` backends). contrib/microvm-image builds it static, with
 * sessiond/vmframe.c, into the guest's initramfs.
 *
 * It loads the few modules the guest needs, mounts the runtime (the
 * host's /usr over virtio-9p, or a read-only drive), configures eth0 from
 * the kernel command line, puts the run's code in a tmpfs /workspace,
 * runs the interpreter as the workload's uid inside a memory- and
 * pids-limited cgroup, and streams its stdout, stderr and result (fd 3)
 * to the host as vmframe frames on the serial port ttyS0; then it reports
 * the exit status and resets the machine, which ends the VMM.
 *
 * Every failure is a FAIL frame naming the step, then the same reset: the
 * host never waits on a guest that gave up.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "sessiond/vmframe.h"

#define INIT_CHANNEL	"/dev/ttyS0"
#define INIT_RUN_DIR	"/enclave/run"
#define INIT_MODULES	"/enclave/modules"
#define INIT_CGROUP	"/sys/fs/cgroup/workload"
#define INIT_WAIT_MS	5000	/* a device or a 9p tag to appear */
#define INIT_DRAIN_MS	500	/* output still flowing after the exit */
#define INIT_CODE_MAX	(64u << 20)

static int chan = -1;
static int debug;

static uint64_t
now_ms(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

static void
send_frame(unsigned int type, const void *payload, size_t len)
{
	uint8_t f[VMFRAME_MAX];
	size_t n;

	if (chan == -1)
		return;
	if ((n = vmframe_encode(f, sizeof(f), type, payload, len)) > 0)
		write_all(chan, f, n);
}

static void
send_u64(unsigned int type, uint64_t v)
{
	uint8_t b[8];

	vmframe_u64_encode(b, v);
	send_frame(type, b, sizeof(b));
}

/* Steps in the kernel log: the console shows them under enclave.debug=1. */
static void __attribute__((format(printf, 1, 2)))
trace(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int fd, n;

	if (!debug)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0 && (fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC)) != -1) {
		write_all(fd, buf, (size_t)n < sizeof(buf) ? (size_t)n :
		    sizeof(buf) - 1);
		close(fd);
	}
}

/* Let the last byte leave the UART, then end the machine. */
static void __attribute__((noreturn))
power_off(void)
{
	if (chan != -1)
		tcdrain(chan);
	if (debug && access("/enclave/busybox", X_OK) == 0 && fork() == 0) {
		char *const argv[] = { (char *)"sh", NULL };

		setsid();
		dup2(chan, 0);
		dup2(chan, 1);
		dup2(chan, 2);
		execv("/enclave/busybox", argv);
		_exit(127);
	}
	if (debug)
		while (wait(NULL) != -1 || errno == EINTR)
			;
	sync();
	/* QEMU -no-reboot and Firecracker both end on a reset request. */
	reboot(RB_AUTOBOOT);
	for (;;)
		pause();
}

static void __attribute__((noreturn, format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n, saved = errno;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n < sizeof(msg) - 1)
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s",
		    strerror(saved));
	trace("enclave init: %s\n", msg);
	send_frame(VMFRAME_FAIL, msg, strlen(msg));
	power_off();
}

static void
mount_or_fail(const char *src, const char *dst, const char *type,
    unsigned long flags, const char *opts)
{
	if (mkdir(dst, 0755) == -1 && errno != EEXIST)
		fail("mkdir %s", dst);
	if (mount(src, dst, type, flags, opts) == -1)
		fail("mount %s on %s", type, dst);
}

static void
write_file(const char *path, const char *data, size_t len, mode_t mode)
{
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    mode)) == -1)
		fail("open %s", path);
	write_all(fd, data, len);
	if (fchmod(fd, mode) == -1 || close(fd) == -1)
		fail("write %s", path);
}

static void
write_str(const char *path, const char *s)
{
	write_file(path, s, strlen(s), 0644);
}

/* A kernel setting (sysctl, cgroup file): written once, never created. */
static void
write_knob(const char *path, const char *value)
{
	size_t len = strlen(value);
	int fd;

	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1 ||
	    write(fd, value, len) != (ssize_t)len)
		fail("write %s", path);
	close(fd);
}

/* A whole small file (the command line, a module list), NUL-terminated. */
static char *
read_file(const char *path, size_t max, size_t *lenp)
{
	size_t len = 0, cap = 4096;
	char *buf, *nb;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	if ((buf = malloc(cap + 1)) == NULL)
		goto fail;
	for (;;) {
		if (len == cap) {
			if (cap >= max ||
			    (nb = realloc(buf, cap * 2 + 1)) == NULL)
				goto fail;
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return buf;
fail:
	free(buf);
	close(fd);
	return NULL;
}

/*
 * The "NAME.key=value" words of the command line, as the module's
 * parameters: a loadable module does not see them unless given (this is
 * how Firecracker's virtio_mmio.device= reach virtio_mmio).
 */
static void
module_params(const char *cmdline, const char *file, char *out, size_t len)
{
	char name[64];
	const char *w = cmdline, *end;
	size_t nl, o = 0, wl;

	snprintf(name, sizeof(name), "%s", file);
	name[strcspn(name, ".")] = '\0';
	for (nl = 0; name[nl] != '\0'; nl++)
		if (name[nl] == '-')
			name[nl] = '_';
	out[0] = '\0';
	while (*w != '\0') {
		w += strspn(w, " \t\n");
		end = w + strcspn(w, " \t\n");
		wl = (size_t)(end - w);
		if (wl > nl + 1 && strncmp(w, name, nl) == 0 && w[nl] == '.' &&
		    o + wl - nl + 1 < len) {
			memcpy(out + o, w + nl + 1, wl - nl - 1);
			o += wl - nl - 1;
			out[o++] = ' ';
			out[o] = '\0';
		}
		w = end;
	}
}

/* Load the list for this runtime mount, dependencies first. */
static void
load_modules(const char *usr, const char *cmdline)
{
	char list[128], path[256], params[512], *text, *line, *save = NULL;
	int fd;

	snprintf(list, sizeof(list), INIT_MODULES "/list.%s", usr);
	if ((text = read_file(list, 1 << 16, NULL)) == NULL)
		fail("read %s", list);
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '\0' || line[0] == '#' || strchr(line, '/'))
			continue;
		snprintf(path, sizeof(path), INIT_MODULES "/%s", line);
		module_params(cmdline, line, params, sizeof(params));
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			fail("open %s", path);
		if (syscall(SYS_finit_module, fd, params, 0) == -1 &&
		    errno != EEXIST)
			fail("load module %s", line);
		close(fd);
		trace("enclave init: loaded %s\n", line);
	}
	free(text);
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Devices probe asynchronously: retry what needs one for a while. */
static void
mount_runtime(const struct vmframe_guest *g)
{
	uint64_t end = now_ms(CLOCK_MONOTONIC) + INIT_WAIT_MS;
	unsigned long fl = MS_RDONLY | MS_NOSUID | MS_NODEV;
	int rc;

	for (;;) {
		/* nosuid: the host's setuid binaries must not make a root. */
		if (strcmp(g->usr, "9p") == 0)
			rc = mount("usr", "/usr", "9p", fl, "trans=virtio,"
			    "version=9p2000.L,msize=262144,cache=loose");
		else
			rc = mount("/dev/vda", "/usr", "ext4", fl, "noload");
		if (rc == 0)
			return;
		if ((errno != ENOENT && errno != ENXIO && errno != ENODEV) ||
		    now_ms(CLOCK_MONOTONIC) >= end)
			fail("mount the runtime (%s) on /usr", g->usr);
		sleep_ms(20);
	}
}

static void
write_etc(const struct vmframe_guest *g)
{
	char buf[256];

	snprintf(buf, sizeof(buf),
	    "root:x:0:0:root:/nonexistent:/usr/sbin/nologin\n"
	    "sandbox:x:%lu:%lu:sandbox:/workspace:/bin/sh\n", g->uid, g->gid);
	write_str("/etc/passwd", buf);
	snprintf(buf, sizeof(buf), "root:x:0:\nsandbox:x:%lu:\n", g->gid);
	write_str("/etc/group", buf);
	write_str("/etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost\n"
	    "127.0.1.1\tsandbox\n");
	write_str("/etc/hostname", "sandbox\n");
	write_str("/etc/nsswitch.conf", "passwd: files\ngroup: files\n"
	    "hosts: files dns\n");
	snprintf(buf, sizeof(buf), "nameserver %s\n", g->gateway);
	write_str("/etc/resolv.conf", buf);
	if (sethostname("sandbox", 7) == -1)
		fail("sethostname");
}

static void
if_flags_up(int s, const char *name)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == -1)
		fail("get flags of %s", name);
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) == -1)
		fail("bring %s up", name);
}

static void
set_sin(struct sockaddr *sa, const char *addr, uint32_t raw)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	if (addr != NULL)
		inet_pton(AF_INET, addr, &sin.sin_addr);
	else
		sin.sin_addr.s_addr = raw;
	memcpy(sa, &sin, sizeof(sin));
}

/* eth0 gets the session's address; its only route leads to the gateway,
 * which is the enforcement point. */
static void
setup_net(const struct vmframe_guest *g)
{
	uint64_t end = now_ms(CLOCK_MONOTONIC) + INIT_WAIT_MS;
	struct ifreq ifr;
	struct rtentry rt;
	uint32_t mask;
	int s;

	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		fail("socket");
	if_flags_up(s, "lo");
	while (if_nametoindex("eth0") == 0) {
		if (now_ms(CLOCK_MONOTONIC) >= end)
			fail("no eth0");
		sleep_ms(20);
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "eth0");
	set_sin(&ifr.ifr_addr, g->addr, 0);
	if (ioctl(s, SIOCSIFADDR, &ifr) == -1)
		fail("set the address of eth0");
	mask = g->prefixlen == 32 ? 0xffffffffu :
	    ~(0xffffffffu >> g->prefixlen);
	set_sin(&ifr.ifr_netmask, NULL, htonl(mask));
	if (ioctl(s, SIOCSIFNETMASK, &ifr) == -1)
		fail("set the netmask of eth0");
	if_flags_up(s, "eth0");
	memset(&rt, 0, sizeof(rt));
	set_sin(&rt.rt_dst, NULL, 0);
	set_sin(&rt.rt_genmask, NULL, 0);
	set_sin(&rt.rt_gateway, g->gateway, 0);
	rt.rt_flags = RTF_UP | RTF_GATEWAY;
	rt.rt_dev = (char *)"eth0";
	if (ioctl(s, SIOCADDRT, &rt) == -1)
		fail("add the default route via %s", g->gateway);
	close(s);
}

static void
setup_workspace(const struct vmframe_guest *g, const char *file)
{
	char opts[128], src[128], dst[128], *code;
	size_t len;
	int fd;

	snprintf(opts, sizeof(opts), "size=%um,nr_inodes=65536,mode=1777",
	    g->tmp_mb);
	mount_or_fail("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, opts);
	snprintf(opts, sizeof(opts), "size=%um,nr_inodes=65536,mode=0700,"
	    "uid=%lu,gid=%lu", g->workspace_mb, g->uid, g->gid);
	mount_or_fail("tmpfs", "/workspace", "tmpfs", MS_NOSUID | MS_NODEV,
	    opts);
	snprintf(src, sizeof(src), INIT_RUN_DIR "/%s", file);
	snprintf(dst, sizeof(dst), "/workspace/%s", file);
	if ((code = read_file(src, INIT_CODE_MAX, &len)) == NULL)
		fail("read %s", src);
	if ((fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0644)) == -1)
		fail("create %s", dst);
	write_all(fd, code, len);
	if (fchown(fd, (uid_t)g->uid, (gid_t)g->gid) == -1 || close(fd) == -1)
		fail("write %s", dst);
	free(code);
}

/* The workload's own cgroup, so its limits and OOM kills are its alone. */
static void
setup_cgroup(const struct vmframe_guest *g)
{
	char v[32];

	mount_or_fail("cgroup2", "/sys/fs/cgroup", "cgroup2",
	    MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	write_knob("/sys/fs/cgroup/cgroup.subtree_control",
	    "+memory +pids +cpu");
	if (mkdir(INIT_CGROUP, 0755) == -1)
		fail("mkdir " INIT_CGROUP);
	snprintf(v, sizeof(v), "%llu",
	    (unsigned long long)g->memory_mb * 1024 * 1024);
	write_knob(INIT_CGROUP "/memory.max", v);
	snprintf(v, sizeof(v), "%u", g->pids);
	write_knob(INIT_CGROUP "/pids.max", v);
}

/* The number after KEY in a cgroup file, or its only number; 0 if none. */
static uint64_t
cg_read(const char *file, const char *key)
{
	char path[128], *text, *p;
	uint64_t v = 0;

	snprintf(path, sizeof(path), INIT_CGROUP "/%s", file);
	if ((text = read_file(path, 1 << 16, NULL)) == NULL)
		return 0;
	p = text;
	if (key != NULL) {
		size_t kl = strlen(key);

		while (p != NULL && !(strncmp(p, key, kl) == 0 && p[kl] == ' '))
			if ((p = strchr(p, '\n')) != NULL)
				p++;
		if (p != NULL)
			p += kl + 1;
	}
	if (p != NULL)
		v = strtoull(p, NULL, 10);
	free(text);
	return v;
}

struct workload {
	pid_t pid;
	int out[3];		/* read ends: stdout, stderr, result */
};

/* In the child: the cgroup, the fds, the ids, then the interpreter. */
static void __attribute__((noreturn))
workload_exec(const struct vmframe_guest *g, const char *interp,
    const char *file, int w[3])
{
	/* As the namespace sandbox's (sandbox_plan.c), helpers included. */
	static char *const envp[] = {
		(char *)"PATH=/usr/local/bin:/usr/bin:/bin:/opt/enclave",
		(char *)"HOME=/workspace", (char *)"LANG=C.UTF-8",
		(char *)"TMPDIR=/tmp", (char *)"PYTHONDONTWRITEBYTECODE=1",
		(char *)"ENCLAVE_RESULT_FD=3", (char *)"PYTHONPATH=/opt/enclave",
		(char *)"NODE_PATH=/opt/enclave",
		(char *)"SSL_CERT_FILE=/opt/enclave/ca-bundle.pem",
		(char *)"REQUESTS_CA_BUNDLE=/opt/enclave/ca-bundle.pem",
		(char *)"NODE_EXTRA_CA_CERTS=/opt/enclave/ca-bundle.pem",
		(char *)"GIT_SSL_CAINFO=/opt/enclave/ca-bundle.pem",
		(char *)"CURL_CA_BUNDLE=/opt/enclave/ca-bundle.pem", NULL,
	};
	char path[128], self[24];
	struct rlimit rl;
	sigset_t none;
	int null, fd;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* The child must not fail() (that resets the machine): it exits. */
	snprintf(self, sizeof(self), "%d", (int)getpid());
	if ((fd = open(INIT_CGROUP "/cgroup.procs", O_WRONLY)) == -1 ||
	    write(fd, self, strlen(self)) == -1 || close(fd) == -1) {
		dprintf(w[1], "enclave: join the cgroup: %s\n",
		    strerror(errno));
		_exit(126);
	}
	if (setsid() == -1 || (null = open("/dev/null", O_RDWR)) == -1 ||
	    dup2(null, 0) == -1 || dup2(w[0], 1) == -1 ||
	    dup2(w[1], 2) == -1 || dup2(w[2], 3) == -1)
		_exit(126);
	for (fd = 4; fd < 1024; fd++)
		close(fd);
	rl.rlim_cur = rl.rlim_max = (rlim_t)g->workspace_mb * 1024 * 1024;
	if (setgroups(0, NULL) == -1 ||
	    setresgid((gid_t)g->gid, (gid_t)g->gid, (gid_t)g->gid) == -1 ||
	    setresuid((uid_t)g->uid, (uid_t)g->uid, (uid_t)g->uid) == -1 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    setrlimit(RLIMIT_FSIZE, &rl) == -1 || chdir("/workspace") == -1) {
		dprintf(2, "enclave: drop privileges: %s\n", strerror(errno));
		_exit(126);
	}
	umask(022);
	snprintf(path, sizeof(path), "/workspace/%s", file);
	execve(interp, (char *[]){ (char *)interp, path, NULL }, envp);
	dprintf(2, "enclave: exec %s: %s\n", interp, strerror(errno));
	_exit(127);
}

static void
workload_start(const struct vmframe_guest *g, struct workload *wl)
{
	const char *interp, *file;
	int p[3][2], i, w[3];

	if (vmframe_lang(g->lang, &interp, &file) == -1) {
		errno = EINVAL;
		fail("language %s", g->lang);
	}
	if (access(interp, X_OK) == -1)
		fail("%s is not installed (%s)", g->lang, interp);
	for (i = 0; i < 3; i++) {
		if (pipe2(p[i], O_CLOEXEC) == -1)
			fail("pipe");
		wl->out[i] = p[i][0];
		w[i] = p[i][1];
	}
	if ((wl->pid = fork()) == -1)
		fail("fork");
	if (wl->pid == 0)
		workload_exec(g, interp, file, w);
	for (i = 0; i < 3; i++) {
		close(w[i]);
		fcntl(wl->out[i], F_SETFL, O_NONBLOCK);
	}
}

/* Relay output until the workload has ended and its pipes are quiet. */
static void
workload_relay(struct workload *wl, int sfd, struct vmframe_exit *ex)
{
	static const unsigned int type[3] = {
		VMFRAME_STDOUT, VMFRAME_STDERR, VMFRAME_RESULT,
	};
	struct signalfd_siginfo si;
	struct pollfd pfd[4];
	uint8_t buf[VMFRAME_PAYLOAD_MAX];
	uint64_t drain_end = 0;
	int i, st, open_fds = 3, ended = 0, timeout, rc;
	pid_t pid;
	ssize_t n;

	while (open_fds > 0) {
		for (i = 0; i < 3; i++) {
			pfd[i].fd = wl->out[i];
			pfd[i].events = POLLIN;
		}
		pfd[3].fd = sfd;
		pfd[3].events = POLLIN;
		timeout = -1;
		if (ended) {
			uint64_t now = now_ms(CLOCK_MONOTONIC);

			if (now >= drain_end)
				break;
			timeout = (int)(drain_end - now);
		}
		if ((rc = poll(pfd, 4, timeout)) == -1 && errno == EINTR)
			continue;
		if (rc == -1)
			fail("poll");
		if (rc == 0)
			break;
		for (i = 0; i < 3; i++) {
			if (pfd[i].fd == -1 || pfd[i].revents == 0)
				continue;
			n = read(wl->out[i], buf, sizeof(buf));
			if (n > 0) {
				send_frame(type[i], buf, (size_t)n);
			} else if (n == 0 || (errno != EAGAIN &&
			    errno != EINTR)) {
				close(wl->out[i]);
				wl->out[i] = -1;
				open_fds--;
			}
		}
		if (pfd[3].revents == 0)
			continue;
		while (read(sfd, &si, sizeof(si)) > 0)
			;
		/* pid 1 reaps every orphan; only the workload's end counts. */
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
			if (pid != wl->pid || ended)
				continue;
			ended = 1;
			drain_end = now_ms(CLOCK_MONOTONIC) + INIT_DRAIN_MS;
			memset(ex, 0, sizeof(*ex));
			if (WIFEXITED(st)) {
				ex->exited = 1;
				ex->code = WEXITSTATUS(st);
			} else {
				ex->signal = WTERMSIG(st);
			}
		}
	}
	/* All pipes closed before the exit was seen: wait for it. */
	while (!ended && (pid = waitpid(-1, &st, 0)) != -1) {
		if (pid != wl->pid)
			continue;
		ended = 1;
		memset(ex, 0, sizeof(*ex));
		if (WIFEXITED(st)) {
			ex->exited = 1;
			ex->code = WEXITSTATUS(st);
		} else {
			ex->signal = WTERMSIG(st);
		}
	}
}

int
main(void)
{
	struct vmframe_guest g;
	struct vmframe_exit ex;
	struct workload wl;
	struct termios tio;
	const char *why, *file;
	uint8_t payload[VMFRAME_EXIT_LEN];
	char *cmdline;
	sigset_t chld;
	int null, sfd;

	umask(022);
	(void)mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
	if ((chan = open(INIT_CHANNEL, O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1)
		return 1;	/* nowhere to say why: the kernel panics */
	/* Raw: every byte of a frame passes as is. Root's alone. */
	if (tcgetattr(chan, &tio) == 0) {
		cfmakeraw(&tio);
		tio.c_cflag |= CLOCAL;
		tcsetattr(chan, TCSANOW, &tio);
	}
	(void)fchmod(chan, 0600);
	send_u64(VMFRAME_HELLO, now_ms(CLOCK_BOOTTIME));
	if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) != -1) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
	}
	mount_or_fail("proc", "/proc", "proc",
	    MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount_or_fail("sysfs", "/sys", "sysfs",
	    MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	/* As on the host, a big allocation succeeds and the memory cgroup,
	 * not the allocator, decides: the same OOM kill on every backend. */
	write_knob("/proc/sys/vm/overcommit_memory", "1");
	if ((cmdline = read_file("/proc/cmdline", 1 << 16, NULL)) == NULL)
		fail("read /proc/cmdline");
	if (vmframe_guest_parse(cmdline, &g, &why) == -1) {
		errno = EINVAL;
		fail("kernel command line: %s", why);
	}
	debug = g.debug;
	(void)vmframe_lang(g.lang, NULL, &file);
	load_modules(g.usr, cmdline);
	free(cmdline);
	mount_runtime(&g);
	write_etc(&g);
	setup_net(&g);
	setup_workspace(&g, file);
	setup_cgroup(&g);

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &chld, NULL) == -1 ||
	    (sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		fail("signalfd");
	workload_start(&g, &wl);
	send_u64(VMFRAME_STARTED, now_ms(CLOCK_BOOTTIME));
	trace("enclave init: workload %d started\n", (int)wl.pid);
	workload_relay(&wl, sfd, &ex);
	ex.oom = cg_read("memory.events", "oom_kill") > 0;
	ex.cpu_ms = cg_read("cpu.stat", "usage_usec") / 1000;
	ex.mem_peak_bytes = cg_read("memory.peak", NULL);
	vmframe_exit_encode(payload, &ex);
	send_frame(VMFRAME_EXIT, payload, sizeof(payload));
	power_off();
}
