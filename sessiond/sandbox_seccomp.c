/*
 * The seccomp rules, and the program libseccomp builds from them once per
 * spawn in the caller, handed to the workload as plain BPF (loading it
 * there allocates nothing).
 */
#include <errno.h>
#include <linux/filter.h>
#include <sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "sessiond/sandbox_seccomp.h"

const char *const sandbox_seccomp_denied[] = {
	"unshare", "setns", "mount", "umount", "umount2", "pivot_root",
	"chroot", "fsopen", "fsconfig", "fsmount", "fspick", "move_mount",
	"open_tree", "mount_setattr", "ptrace", "process_vm_readv",
	"process_vm_writev", "kexec_load", "kexec_file_load", "init_module",
	"finit_module", "delete_module", "add_key", "request_key", "keyctl",
	"bpf", "perf_event_open", "userfaultfd", "open_by_handle_at",
	"name_to_handle_at", "iopl", "ioperm", "swapon", "swapoff", "reboot",
	"settimeofday", "clock_settime", "stime", "acct", "quotactl",
	"quotactl_fd", "lookup_dcookie", "syslog", "vhangup", "uselib",
	"nfsservctl", "_sysctl", "io_uring_setup", "io_uring_enter",
	"io_uring_register",
	NULL,
};

/* The socket families refused below list every one under AF_INET6. */
_Static_assert(AF_UNSPEC == 0 && AF_X25 == 9 && AF_INET6 == 10,
    "socket families are not Linux's");

#define SB_CLONE(flag) \
	{ "clone", EPERM, 1, { { 0, SCMP_CMP_MASKED_EQ, (flag), (flag) } } }
#define SB_FAMILY(af) \
	{ "socket", EPERM, 1, { { 0, SCMP_CMP_EQ, (af), 0 } } }
#define SB_RAW(af, type) \
	{ "socket", EPERM, 2, { { 0, SCMP_CMP_EQ, (af), 0 }, \
	    { 1, SCMP_CMP_MASKED_EQ, 0xf, (type) } } }
#define SB_NODE(call, arg, type) \
	{ (call), EPERM, 1, { { (arg), SCMP_CMP_MASKED_EQ, S_IFMT, (type) } } }
#define SB_IOCTL(req) \
	{ "ioctl", EPERM, 1, { { 1, SCMP_CMP_MASKED_EQ, 0xffffffffu, (req) } } }

const struct sandbox_seccomp_rule sandbox_seccomp_rules[] = {
	/* Threads and fork are fine; a new namespace is not. */
	SB_CLONE(CLONE_NEWUSER), SB_CLONE(CLONE_NEWNS), SB_CLONE(CLONE_NEWNET),
	SB_CLONE(CLONE_NEWPID), SB_CLONE(CLONE_NEWIPC), SB_CLONE(CLONE_NEWUTS),
	SB_CLONE(CLONE_NEWCGROUP),
	/* clone3's flags sit behind a pointer: ENOSYS makes libc use clone. */
	{ "clone3", ENOSYS, 0, { { 0 } } },
	/* Sockets: AF_UNIX, AF_INET, AF_INET6 only (no netlink, packet,
	 * vsock), and no raw or packet ones of INET either. */
	SB_FAMILY(AF_UNSPEC), SB_FAMILY(AF_AX25), SB_FAMILY(AF_IPX),
	SB_FAMILY(AF_APPLETALK), SB_FAMILY(AF_NETROM), SB_FAMILY(AF_BRIDGE),
	SB_FAMILY(AF_ATMPVC), SB_FAMILY(AF_X25),
	{ "socket", EPERM, 1, { { 0, SCMP_CMP_GT, AF_INET6, 0 } } },
	SB_RAW(AF_INET, SOCK_RAW), SB_RAW(AF_INET, SOCK_PACKET),
	SB_RAW(AF_INET6, SOCK_RAW), SB_RAW(AF_INET6, SOCK_PACKET),
	/* Device nodes, even where a file system would allow them. */
	SB_NODE("mknod", 1, S_IFCHR), SB_NODE("mknodat", 2, S_IFCHR),
	SB_NODE("mknod", 1, S_IFBLK), SB_NODE("mknodat", 2, S_IFBLK),
	/* Typing into, or reprogramming, a terminal someone else reads. */
	SB_IOCTL(TIOCSTI), SB_IOCTL(TIOCLINUX),
	{ NULL, 0, 0, { { 0 } } },
};

#undef SB_CLONE
#undef SB_FAMILY
#undef SB_RAW
#undef SB_NODE
#undef SB_IOCTL

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
	const struct sandbox_seccomp_rule *r;
	const char *const *name;
	int rc = 0;

	for (name = sandbox_seccomp_denied; rc == 0 && *name != NULL; name++)
		rc = sb_rule(ctx, EPERM, *name, 0, NULL);
	for (r = sandbox_seccomp_rules; rc == 0 && r->name != NULL; r++)
		rc = sb_rule(ctx, r->errnum, r->name, r->nargs, r->args);
	return rc;
}

int
sandbox_seccomp_build(struct sock_fprog *prog, char *err, size_t errlen)
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
