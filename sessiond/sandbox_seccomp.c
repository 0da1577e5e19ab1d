/*
 * The seccomp program, built once per spawn by libseccomp in the caller
 * and handed to the workload as plain BPF (loading it there allocates
 * nothing).
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
		a[0] = SCMP_A0(SCMP_CMP_EQ, (uint64_t)af, 0);
		rc = sb_rule(ctx, EPERM, "socket", 1, a);
	}
	if (rc == 0) {
		a[0] = SCMP_A0(SCMP_CMP_GT, AF_INET6, 0);
		rc = sb_rule(ctx, EPERM, "socket", 1, a);
	}
	for (i = 0; rc == 0 && i < 2; i++) {
		a[0] = SCMP_A0(SCMP_CMP_EQ, (uint64_t)fam[i], 0);
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
