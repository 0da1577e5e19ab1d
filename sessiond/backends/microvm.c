/*
 * The `microvm` backend: each workload in its own QEMU `-M microvm` guest,
 * with its own kernel (Debian's, from contrib/microvm-image), KVM when
 * this machine can really run one, TCG otherwise. The guest's NIC is a tap
 * inside the session netns bridged to the session's veth (vmrun.h), so the
 * enforcement point is the one every backend meets.
 *
 * QEMU never holds root: it is started as the workload's uid with no
 * capabilities, gets the tap as an open fd, reads the host's /usr through
 * virtio-9p read-only, and runs under its own seccomp filter (-sandbox).
 *
 * Options ("backend microvm KEY VALUE"):
 *   image_dir DIR   the guest image; /var/lib/enclave/microvm
 *   qemu PATH       qemu-system-x86_64, by name (PATH) or path
 *   accel MODE      auto (KVM if usable, else TCG), kvm, tcg; auto
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "sessiond/backend.h"
#include "sessiond/sdconfig.h"
#include "sessiond/vmrun.h"

#define MICROVM_NAME		"microvm"
#define MICROVM_IMAGE_DIR	"/var/lib/enclave/microvm"
#define MICROVM_QEMU		"qemu-system-x86_64"
#define MICROVM_PROBE_CACHE_MS	5000
#define MICROVM_TB_MB		64	/* TCG's code cache */
#define MICROVM_CMDLINE_MAX	1024
#define MICROVM_ARGV_MAX	48

enum microvm_accel { MICROVM_AUTO, MICROVM_KVM, MICROVM_TCG };

struct microvm_opts {
	char image_dir[PATH_MAX];
	char qemu[PATH_MAX];		/* resolved to a path by the probe */
	enum microvm_accel accel;
};

struct backend_run {
	struct vmrun vm;
};

/* GET /v1/backends shows which accelerator the probe found. */
static char microvm_isolation[96] =
    "microVM (QEMU microvm, KVM or TCG): its own guest kernel";

static int
microvm_opts(const struct sdconfig *cfg, struct microvm_opts *o, char *why,
    size_t len)
{
	const struct sdconfig_backend_opt *bo;
	size_t i;

	memset(o, 0, sizeof(*o));
	snprintf(o->image_dir, sizeof(o->image_dir), "%s", MICROVM_IMAGE_DIR);
	snprintf(o->qemu, sizeof(o->qemu), "%s", MICROVM_QEMU);
	o->accel = MICROVM_AUTO;
	for (i = 0; cfg != NULL && i < cfg->nbackend_opts; i++) {
		bo = &cfg->backend_opts[i];
		if (strcmp(bo->backend, MICROVM_NAME) != 0)
			continue;
		if (strcmp(bo->key, "image_dir") == 0) {
			if (bo->value[0] != '/' ||
			    (size_t)snprintf(o->image_dir, sizeof(o->image_dir),
			    "%s", bo->value) >= sizeof(o->image_dir))
				return err_set(why, len, "config: image_dir must "
				    "be an absolute path");
		} else if (strcmp(bo->key, "qemu") == 0) {
			if ((size_t)snprintf(o->qemu, sizeof(o->qemu), "%s",
			    bo->value) >= sizeof(o->qemu))
				return err_set(why, len, "config: qemu too long");
		} else if (strcmp(bo->key, "accel") == 0) {
			if (strcmp(bo->value, "auto") == 0)
				o->accel = MICROVM_AUTO;
			else if (strcmp(bo->value, "kvm") == 0)
				o->accel = MICROVM_KVM;
			else if (strcmp(bo->value, "tcg") == 0)
				o->accel = MICROVM_TCG;
			else
				return err_set(why, len, "config: accel must be "
				    "auto, kvm or tcg");
		} else {
			return err_set(why, len, "config: unknown option %s",
			    bo->key);
		}
	}
	return 0;
}

/* NAME in PATH (or a path as given) to an executable's path. */
static int
microvm_which(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH"), *p, *e;
	size_t n;

	if (strchr(name, '/') != NULL) {
		if (access(name, X_OK) == -1)
			return -1;
		return (size_t)snprintf(out, len, "%s", name) < len ? 0 : -1;
	}
	if (path == NULL || path[0] == '\0')
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; *p != '\0'; p = *e != '\0' ? e + 1 : e) {
		e = p + strcspn(p, ":");
		n = (size_t)(e - p);
		if (n == 0)
			continue;
		if ((size_t)snprintf(out, len, "%.*s/%s", (int)n, p, name) <
		    len && access(out, X_OK) == 0)
			return 0;
	}
	errno = ENOENT;
	return -1;
}

/* Options, binary, image, KVM or not: everything start() needs. */
static int
microvm_check(const struct sdconfig *cfg, struct microvm_opts *o, int *kvm,
    char *why, size_t len)
{
	char path[PATH_MAX + 32], qemu[PATH_MAX], kwhy[192];
	const char *files[] = { "vmlinux", "initramfs.cpio" };
	size_t i;

	if (microvm_opts(cfg, o, why, len) == -1)
		return -1;
	if (geteuid() != 0)
		return err_set(why, len, "needs root (tap devices, cgroups, "
		    "setns)");
	if (microvm_which(o->qemu, qemu, sizeof(qemu)) == -1)
		return err_set(why, len, "%s not found%s", o->qemu,
		    strchr(o->qemu, '/') ? "" : " in PATH (qemu-system-x86)");
	memcpy(o->qemu, qemu, sizeof(o->qemu));
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", o->image_dir, files[i]);
		if (access(path, R_OK) == -1)
			return err_set(why, len, "no guest image in %s (%s: "
			    "%s): run contrib/microvm-image", o->image_dir,
			    files[i], strerror(errno));
	}
	if (access("/dev/net/tun", R_OK | W_OK) == -1)
		return err_set(why, len, "/dev/net/tun: %s", strerror(errno));
	*kvm = 0;
	if (o->accel != MICROVM_TCG) {
		*kvm = vmrun_kvm_usable(kwhy, sizeof(kwhy));
		if (!*kvm && o->accel == MICROVM_KVM)
			return err_set(why, len, "accel kvm: %s", kwhy);
	}
	snprintf(microvm_isolation, sizeof(microvm_isolation),
	    "microVM (QEMU microvm, %s): its own guest kernel",
	    *kvm ? "KVM" : "TCG");
	return 0;
}

static int
microvm_probe(const struct sdconfig *cfg, char *reason, size_t len)
{
	static const struct sdconfig *c_cfg;
	static uint64_t c_at;
	static int c_ok;
	static char c_why[256];
	struct microvm_opts o;
	uint64_t now = clock_monotonic_ms();
	int kvm;

	if (c_at == 0 || c_cfg != cfg || now - c_at > MICROVM_PROBE_CACHE_MS) {
		c_why[0] = '\0';
		c_ok = microvm_check(cfg, &o, &kvm, c_why, sizeof(c_why)) == 0;
		c_cfg = cfg;
		c_at = now;
	}
	if (reason != NULL && len > 0)
		snprintf(reason, len, "%s", c_ok ? "" : c_why);
	return c_ok;
}

/* Arguments for one guest; every string outlives the spawn (the caller's). */
struct microvm_args {
	char *argv[MICROVM_ARGV_MAX];
	int n;
	char mem[16], cmdline[MICROVM_CMDLINE_MAX], kernel[PATH_MAX + 16];
	char initrd[PATH_MAX + 16], netdev[96], nic[96];
	char accel[32];
};

static void
microvm_arg(struct microvm_args *a, const char *s)
{
	if (a->n < MICROVM_ARGV_MAX - 1)
		a->argv[a->n++] = (char *)s;
	a->argv[a->n] = NULL;
}

static int
microvm_build(struct microvm_args *a, const struct microvm_opts *o, int kvm,
    const struct vmframe_guest *g, const struct backend_spec *spec,
    unsigned int guest_mb, char *err, size_t errlen)
{
	char words[512], tsc[40] = "";
	unsigned int khz = kvm ? 0 : vmrun_tsc_khz();
	int n;

	if (vmframe_guest_format(g, words, sizeof(words)) == -1)
		return err_set(err, errlen, "guest settings out of range");
	/*
	 * ttyS0 carries the frames; the kernel may only add its emergencies
	 * (loglevel=1). reboot=t: the microvm machine has no keyboard
	 * controller, a triple fault resets at once. TCG guests need their
	 * TSC rate given or may hang calibrating it.
	 */
	if (khz != 0)
		snprintf(tsc, sizeof(tsc), " tsc_early_khz=%u", khz);
	n = snprintf(a->cmdline, sizeof(a->cmdline), "console=ttyS0 loglevel=1 "
	    "panic=-1 reboot=t ipv6.disable=1 random.trust_cpu=on%s %s", tsc,
	    words);
	if (n < 0 || (size_t)n >= sizeof(a->cmdline))
		return err_set(err, errlen, "kernel command line too long");
	snprintf(a->mem, sizeof(a->mem), "%u", guest_mb);
	/* fds 4 and 5: QEMU runs as a uid that may not reach these paths. */
	snprintf(a->kernel, sizeof(a->kernel), "/proc/self/fd/4");
	snprintf(a->initrd, sizeof(a->initrd), "/proc/self/fd/5");
	snprintf(a->accel, sizeof(a->accel), kvm ? "kvm" : "tcg,tb-size=%d",
	    MICROVM_TB_MB);
	snprintf(a->netdev, sizeof(a->netdev), "tap,id=net0,fd=3");
	/* A MAC from the address: unique per session, readable in a dump. */
	snprintf(a->nic, sizeof(a->nic), "virtio-net-device,netdev=net0,"
	    "mac=52:54:%02x:%02x:%02x:%02x", spec->sess_addr.a[0],
	    spec->sess_addr.a[1], spec->sess_addr.a[2], spec->sess_addr.a[3]);
	a->n = 0;
	microvm_arg(a, o->qemu);
	microvm_arg(a, "-M");
	microvm_arg(a, "microvm,x-option-roms=off,isa-serial=on");
	microvm_arg(a, "-accel");
	microvm_arg(a, a->accel);
	/*
	 * Under TCG a modest model (x86-64-v2, what Debian's binaries need)
	 * boots about 0.4 s faster than "max", whose 5-level paging and
	 * wide vector units are all emulated. v1: the plain "Nehalem" alias
	 * asks for spec-ctrl, which TCG lacks (a warning per boot).
	 */
	microvm_arg(a, "-cpu");
	microvm_arg(a, kvm ? "host" : "Nehalem-v1");
	microvm_arg(a, "-smp");
	microvm_arg(a, "1");
	microvm_arg(a, "-m");
	microvm_arg(a, a->mem);
	microvm_arg(a, "-nodefaults");
	microvm_arg(a, "-no-user-config");
	microvm_arg(a, "-display");
	microvm_arg(a, "none");
	microvm_arg(a, "-no-reboot");
	microvm_arg(a, "-serial");
	microvm_arg(a, "stdio");
	microvm_arg(a, "-kernel");
	microvm_arg(a, a->kernel);
	microvm_arg(a, "-initrd");
	microvm_arg(a, a->initrd);
	microvm_arg(a, "-append");
	microvm_arg(a, a->cmdline);
	microvm_arg(a, "-fsdev");
	microvm_arg(a, "local,id=usr,path=/usr,security_model=none,"
	    "readonly=on");
	microvm_arg(a, "-device");
	microvm_arg(a, "virtio-9p-device,fsdev=usr,mount_tag=usr");
	microvm_arg(a, "-netdev");
	microvm_arg(a, a->netdev);
	microvm_arg(a, "-device");
	microvm_arg(a, a->nic);
	microvm_arg(a, "-device");
	microvm_arg(a, "virtio-rng-device");
	microvm_arg(a, "-sandbox");
	microvm_arg(a, "on,obsolete=deny,elevateprivileges=deny,spawn=deny,"
	    "resourcecontrol=deny");
	if (a->n >= MICROVM_ARGV_MAX - 1)
		return err_set(err, errlen, "too many qemu arguments");
	return 0;
}

static int
microvm_start(const struct sdconfig *cfg, const struct backend_spec *spec,
    struct backend_run **out, char *err, size_t errlen)
{
	struct microvm_opts o;
	struct vmframe_guest g;
	struct backend_run *run;
	struct microvm_args *a = NULL;
	char base[PATH_MAX + 32], initrd[PATH_MAX + 16];
	int kvm, pass[3] = { -1, -1, -1 }, i;
	unsigned int guest_mb;

	if (microvm_check(cfg, &o, &kvm, err, errlen) == -1)
		return -1;
	if ((run = calloc(1, sizeof(*run))) == NULL ||
	    (a = calloc(1, sizeof(*a))) == NULL) {
		free(run);
		return err_set(err, errlen, "out of memory");
	}
	if (vmrun_init(&run->vm, MICROVM_NAME, spec, err, errlen) == -1)
		goto fail;
	snprintf(run->vm.accel, sizeof(run->vm.accel), "%s",
	    kvm ? "KVM" : "TCG");
	snprintf(base, sizeof(base), "%s/initramfs.cpio", o.image_dir);
	if (vmrun_guest(spec, "9p", &g, err, errlen) == -1)
		goto fail;
	guest_mb = g.memory_mb + VMRUN_GUEST_OVERHEAD_MB;
	if (vmrun_initrd(&run->vm, spec, base, spec->uid, spec->gid, initrd,
	    sizeof(initrd), err, errlen) == -1 ||
	    vmrun_net(&run->vm, spec->uid, spec->gid, err, errlen) == -1 ||
	    vmrun_cgroup(&run->vm, spec, guest_mb, err, errlen) == -1 ||
	    microvm_build(a, &o, kvm, &g, spec, guest_mb, err, errlen) == -1)
		goto fail;
	snprintf(base, sizeof(base), "%s/vmlinux", o.image_dir);
	pass[0] = run->vm.tap_fd;
	if ((pass[1] = open(base, O_RDONLY | O_CLOEXEC)) == -1 ||
	    (pass[2] = open(initrd, O_RDONLY | O_CLOEXEC)) == -1) {
		err_set(err, errlen, "open %s: %s", pass[1] == -1 ? base :
		    initrd, strerror(errno));
		goto fail;
	}
	if (vmrun_spawn(&run->vm, a->argv, spec->uid, spec->gid, pass, 3, err,
	    errlen) == -1)
		goto fail;
	for (i = 1; i < 3; i++)
		close(pass[i]);
	free(a);
	*out = run;
	return 0;
fail:
	for (i = 1; i < 3; i++)
		if (pass[i] != -1)
			close(pass[i]);
	(void)vmrun_free(&run->vm);
	free(a);
	free(run);
	return -1;
}

static int
microvm_wait_fd(const struct backend_run *run)
{
	return vmrun_wait_fd(&run->vm);
}

static int
microvm_wait(struct backend_run *run, struct backend_status *st)
{
	return vmrun_wait(&run->vm, st);
}

static int
microvm_kill(struct backend_run *run)
{
	return vmrun_kill(&run->vm);
}

static int
microvm_usage(struct backend_run *run, struct backend_usage *u)
{
	return vmrun_usage(&run->vm, u);
}

static int
microvm_free(struct backend_run *run)
{
	if (run == NULL)
		return 0;
	if (vmrun_free(&run->vm) == -1) {
		/* A relay thread that would not end still points at run. */
		if (run->vm.have_relay)
			return -1;
		free(run);
		return -1;
	}
	free(run);
	return 0;
}

const struct session_backend backend_microvm = {
	.name = MICROVM_NAME,
	.isolation = microvm_isolation,
	.probe = microvm_probe,
	.start = microvm_start,
	.wait_fd = microvm_wait_fd,
	.wait = microvm_wait,
	.kill = microvm_kill,
	.usage = microvm_usage,
	.free = microvm_free,
};
