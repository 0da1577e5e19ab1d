/*
 * One microVM run, the host's side: what the `microvm` (QEMU) and
 * `firecracker` backends share. They differ only in how the VMM is told
 * what to boot; everything around it is here:
 *
 *   the run dir     spec->run_dir, with the run's initrd: the image's
 *                   initramfs followed by a cpio of the code and the
 *                   result helpers (vmframe.h);
 *   the network     inside the session netns, a bridge br0 holding the
 *                   session's veth end (eth0, its address removed) and a
 *                   tap tap0 for the VMM: the guest owns the session's
 *                   address and routes via the gateway, so the host-side
 *                   rules (anti-spoof included) see exactly what they see
 *                   for a namespace sandbox;
 *   the cgroup      sandbox_cg_create() for the VMM process: guest memory
 *                   plus the VMM's own, its threads, its CPU; metered;
 *   the VMM         spawned with its netns set to the session's (the tap
 *                   is there, and a VMM the guest broke into is no closer
 *                   to anything), PR_SET_PDEATHSIG, RLIMIT_FSIZE;
 *   the relay       a thread that reads the VMM's stdout (the guest's
 *                   ttyS0), parses vmframe frames and writes the
 *                   workload's stdout, stderr and result to the session's
 *                   pipes, so a slow reader slows only the guest; it
 *                   reaps the VMM and then makes done_fd readable.
 *
 *	struct vmrun vm;
 *	vmrun_init(&vm, "microvm", spec, err, len);	// then, in order:
 *	vmrun_initrd(), vmrun_net(), vmrun_cgroup(), vmrun_spawn()
 *	... poll vmrun_wait_fd(); vmrun_wait() == 0: over
 *	vmrun_free(&vm);	// the one teardown, after any failure too
 */
#ifndef ENCLAVE_SESSIOND_VMRUN_H
#define ENCLAVE_SESSIOND_VMRUN_H

#include <limits.h>
#include <net/if.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sessiond/backend.h"
#include "sessiond/sandbox_cgroup.h"
#include "sessiond/vmframe.h"

/* The tap and the bridge in the session netns. */
#define VMRUN_TAP		"tap0"
#define VMRUN_BRIDGE		"br0"
/* Guest memory beyond the workload's own cgroup: kernel, page cache. */
#define VMRUN_GUEST_OVERHEAD_MB	128
/* The VMM's own memory beyond the guest's (QEMU, TCG's code cache). */
#define VMRUN_VMM_OVERHEAD_MB	256
/* The VMM's threads (the guest's processes are limited inside it). */
#define VMRUN_VMM_PIDS		256
/* What the VMM may write to a file (its log). */
#define VMRUN_VMM_FSIZE		(1024 * 1024)

struct vmrun {
	char name[SANDBOX_NAME_MAX + 1];
	const char *backend;		/* for log lines */
	char accel[8];			/* "KVM", "TCG": for log lines */
	char run_dir[PATH_MAX];
	int netfd;			/* the session netns */
	char sess_if[IF_NAMESIZE];
	struct ip_addr sess_addr;
	unsigned int prefixlen;
	int have_dir, have_net;
	int tap_fd;			/* a queue of the tap, for the VMM */
	struct sandbox_cgroup cg;
	pid_t pid;
	int pidfd;
	int serial_fd;			/* read end of the VMM's stdout */
	int out_fd[3];			/* stdout, stderr, result: our copies */
	int done_fd;			/* eventfd: the relay is done */
	pthread_t relay;
	int have_relay;
	int killed;			/* vmrun_kill() was called */
	/* The relay's; the caller reads them once done is set. */
	int done;
	struct vmframe_parser parser;
	int got_hello, got_started, got_exit, got_fail;
	struct vmframe_exit ex;
	char fail[256];
	uint64_t t_spawn, t_hello, t_started;	/* monotonic ms */
	uint64_t guest_hello_ms, guest_started_ms;
	siginfo_t si;
	struct sandbox_usage usage;	/* read as the VMM ended */
	int logged;
};

/* The guest's settings for spec; usr is "9p" or "vda". */
int vmrun_guest(const struct backend_spec *spec, const char *usr,
    struct vmframe_guest *g, char *err, size_t errlen);

/* Make run_dir, hold the netns and copies of the output fds. */
int vmrun_init(struct vmrun *vm, const char *backend,
    const struct backend_spec *spec, char *err, size_t errlen);
/*
 * run_dir/initrd: base_initramfs, then the run's files; path gets it.
 * Readable by reader/rgid alone (a VMM that runs unprivileged).
 */
int vmrun_initrd(struct vmrun *vm, const struct backend_spec *spec,
    const char *base_initramfs, uid_t reader, gid_t rgid, char *path,
    size_t pathlen, char *err, size_t errlen);
/*
 * The tap (owned by owner/group) and the bridge in the session netns;
 * vm->tap_fd holds a queue of the tap until vmrun_spawn() hands it over.
 */
int vmrun_net(struct vmrun *vm, uid_t owner, gid_t group, char *err,
    size_t errlen);
/* The VMM's cgroup, sized for a guest of guest_mb. */
int vmrun_cgroup(struct vmrun *vm, const struct backend_spec *spec,
    unsigned int guest_mb, char *err, size_t errlen);
#define VMRUN_PASS_MAX	4
/*
 * Run argv (argv[0] a path) in the session netns, inside the cgroup,
 * stdout to the relay, stderr to run_dir/vmm.log, as uid/gid ((uid_t)-1:
 * stay root, for a VMM that drops privileges itself), with pass[i] as fd
 * 3 + i (an unprivileged VMM gets the tap and its files as open fds: it
 * could not open them), and start the relay.
 */
int vmrun_spawn(struct vmrun *vm, char *const argv[], uid_t uid, gid_t gid,
    const int *pass, int npass, char *err, size_t errlen);

int vmrun_wait_fd(const struct vmrun *vm);
/* 1 while running, 0 with *st once over (the relay is done). */
int vmrun_wait(struct vmrun *vm, struct backend_status *st);
int vmrun_kill(struct vmrun *vm);
int vmrun_usage(struct vmrun *vm, struct backend_usage *u);
/* The one teardown; -1 when something stayed behind (logged). */
int vmrun_free(struct vmrun *vm);

/*
 * Can this machine run a KVM guest at a useful speed? A throw-away VM in
 * a child process faults in 2 MiB of guest memory in long mode; some
 * nested setups create VMs fine but take a hundred times too long per
 * page, and boot nothing in a minute. Cached for the process's life.
 * 1 yes; 0 with why.
 */
int vmrun_kvm_usable(char *why, size_t len);

/* The host's TSC rate (TCG guests see it): 0 when unknown. */
unsigned int vmrun_tsc_khz(void);

#endif
