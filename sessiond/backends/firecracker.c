/*
 * The `firecracker` backend: the microvm backend's guest (same kernel,
 * same init, same frames on ttyS0, same tap-in-the-session-netns) booted
 * by Firecracker under its jailer, configured through Firecracker's REST
 * API on its unix socket (the calls are sessiond/fcapi.c).
 *
 * Firecracker has no virtio-9p, so the runtime tree comes from a
 * read-only drive, usr.ext4 (contrib/microvm-image --rootfs), and the
 * guest mounts it at /usr. The jailer chroots Firecracker into
 * run_dir/jail/firecracker/ID/root, drops to the workload's uid and joins
 * the session netns (--netns), so the kernel, the initrd and the drive
 * are hard links in there (image_dir must be on the state_dir's file
 * system for the drive; the small files are copied when it is not).
 *
 * It needs KVM. Where there is no firecracker binary or no usable KVM it
 * says so and stays unavailable; it has not been run on such a machine.
 *
 * Options ("backend firecracker KEY VALUE"):
 *   image_dir DIR      the guest image; /var/lib/enclave/microvm
 *   firecracker PATH   firecracker, by name (PATH) or path
 *   jailer PATH        jailer, by name (PATH) or path
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/httpc.h"
#include "common/log.h"
#include "sessiond/backend.h"
#include "sessiond/fcapi.h"
#include "sessiond/sdconfig.h"
#include "sessiond/vmrun.h"

#define FC_NAME			"firecracker"
#define FC_IMAGE_DIR		"/var/lib/enclave/microvm"
#define FC_PROBE_CACHE_MS	5000
#define FC_SOCKET_WAIT_MS	3000
#define FC_API_TIMEOUT_MS	5000
#define FC_SOCKET		"run/firecracker.socket"

struct fc_opts {
	char image_dir[PATH_MAX];
	char firecracker[PATH_MAX];
	char jailer[PATH_MAX];
};

struct backend_run {
	struct vmrun vm;
};

static int
fc_opts_parse(const struct sdconfig *cfg, struct fc_opts *o, char *why,
    size_t len)
{
	const struct sdconfig_backend_opt *bo;
	char *dst;
	size_t i;

	memset(o, 0, sizeof(*o));
	snprintf(o->image_dir, sizeof(o->image_dir), "%s", FC_IMAGE_DIR);
	snprintf(o->firecracker, sizeof(o->firecracker), "firecracker");
	snprintf(o->jailer, sizeof(o->jailer), "jailer");
	for (i = 0; cfg != NULL && i < cfg->nbackend_opts; i++) {
		bo = &cfg->backend_opts[i];
		if (strcmp(bo->backend, FC_NAME) != 0)
			continue;
		if (strcmp(bo->key, "image_dir") == 0)
			dst = o->image_dir;
		else if (strcmp(bo->key, "firecracker") == 0)
			dst = o->firecracker;
		else if (strcmp(bo->key, "jailer") == 0)
			dst = o->jailer;
		else
			return err_set(why, len, "config: unknown option %s",
			    bo->key);
		if ((size_t)snprintf(dst, PATH_MAX, "%s", bo->value) >=
		    PATH_MAX)
			return err_set(why, len, "config: %s too long",
			    bo->key);
	}
	if (o->image_dir[0] != '/')
		return err_set(why, len, "config: image_dir must be an absolute "
		    "path");
	return 0;
}

/* NAME in PATH (or a path as given) to an executable's path, in place. */
static int
fc_which(char *name, size_t len)
{
	const char *path = getenv("PATH"), *p, *e;
	char out[PATH_MAX];
	size_t n;

	if (strchr(name, '/') != NULL)
		return access(name, X_OK);
	if (path == NULL || path[0] == '\0')
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; *p != '\0'; p = *e != '\0' ? e + 1 : e) {
		e = p + strcspn(p, ":");
		if ((n = (size_t)(e - p)) == 0)
			continue;
		if ((size_t)snprintf(out, sizeof(out), "%.*s/%s", (int)n, p,
		    name) < sizeof(out) && access(out, X_OK) == 0) {
			snprintf(name, len, "%s", out);
			return 0;
		}
	}
	errno = ENOENT;
	return -1;
}

static int
fc_check(const struct sdconfig *cfg, struct fc_opts *o, char *why,
    size_t len)
{
	const char *files[] = { "vmlinux", "initramfs.cpio", "usr.ext4" };
	char path[PATH_MAX + 32], kwhy[192];
	size_t i;

	if (fc_opts_parse(cfg, o, why, len) == -1)
		return -1;
	if (fc_which(o->firecracker, sizeof(o->firecracker)) == -1)
		return err_set(why, len, "firecracker not found in PATH; "
		    "needs KVM");
	if (fc_which(o->jailer, sizeof(o->jailer)) == -1)
		return err_set(why, len, "jailer not found in PATH (it ships "
		    "with firecracker)");
	if (!vmrun_kvm_usable(kwhy, sizeof(kwhy)))
		return err_set(why, len, "needs KVM: %s", kwhy);
	if (geteuid() != 0)
		return err_set(why, len, "needs root (the jailer, tap devices, "
		    "cgroups)");
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", o->image_dir, files[i]);
		if (access(path, R_OK) == -1)
			return err_set(why, len, "no guest image in %s (%s: "
			    "%s): run contrib/microvm-image --rootfs",
			    o->image_dir, files[i], strerror(errno));
	}
	return 0;
}

static int
fc_probe(const struct sdconfig *cfg, char *reason, size_t len)
{
	static const struct sdconfig *c_cfg;
	static uint64_t c_at;
	static int c_ok;
	static char c_why[256];
	struct fc_opts o;
	uint64_t now = clock_monotonic_ms();

	if (c_at == 0 || c_cfg != cfg || now - c_at > FC_PROBE_CACHE_MS) {
		c_why[0] = '\0';
		c_ok = fc_check(cfg, &o, c_why, sizeof(c_why)) == 0;
		c_cfg = cfg;
		c_at = now;
	}
	if (reason != NULL && len > 0)
		snprintf(reason, len, "%s", c_ok ? "" : c_why);
	return c_ok;
}

/* SRC into the jail as NAME: a hard link, else (small files) a copy. */
static int
fc_place(const char *src, const char *root, const char *name, int may_copy,
    uid_t uid, gid_t gid, char *err, size_t errlen)
{
	char dst[PATH_MAX + 64];
	int in = -1, out = -1, rc = -1;
	ssize_t n;

	snprintf(dst, sizeof(dst), "%s/%s", root, name);
	if (link(src, dst) == 0)
		return 0;
	if (errno != EXDEV || !may_copy)
		return err_set(err, errlen, "link %s into the jail: %s", src,
		    strerror(errno));
	if ((in = open(src, O_RDONLY | O_CLOEXEC)) == -1 ||
	    (out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0400)) == -1 || fchown(out, uid, gid) == -1) {
		err_set(err, errlen, "copy %s into the jail: %s", src,
		    strerror(errno));
		goto out;
	}
	while ((n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0)) > 0)
		;
	if (n == -1) {
		err_set(err, errlen, "copy %s: %s", src, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (out != -1)
		close(out);
	if (in != -1)
		close(in);
	return rc;
}

/* The jailer makes the API socket once Firecracker runs. */
static int
fc_wait_socket(const char *path, int pidfd, char *err, size_t errlen)
{
	uint64_t end = clock_monotonic_ms() + FC_SOCKET_WAIT_MS;
	struct pollfd pfd = { pidfd, POLLIN, 0 };
	struct stat st;

	while (stat(path, &st) == -1 || !S_ISSOCK(st.st_mode)) {
		if (clock_monotonic_ms() >= end)
			return err_set(err, errlen, "no firecracker API socket "
			    "after %d ms", FC_SOCKET_WAIT_MS);
		if (poll(&pfd, 1, 10) == 1)
			return err_set(err, errlen, "the jailer exited (see "
			    "vmm.log in the run dir)");
	}
	return 0;
}

/* Each call in order; any answer but 2xx stops the boot. */
static int
fc_configure(const char *sock, const struct fc_config *fc, char *err,
    size_t errlen)
{
	struct fc_request req[FC_REQUESTS_MAX];
	struct httpc_endpoint ep;
	struct httpc_request hr;
	struct httpc_response resp;
	char spec[PATH_MAX + 8];
	size_t n = 0, i;
	int rc = -1;

	snprintf(spec, sizeof(spec), "unix:%s", sock);
	if (httpc_endpoint_parse(spec, &ep, err, errlen) == -1)
		return -1;
	if (fc_requests(fc, req, FC_REQUESTS_MAX, &n, err, errlen) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		memset(&hr, 0, sizeof(hr));
		memset(&resp, 0, sizeof(resp));
		hr.method = req[i].method;
		hr.path = req[i].path;
		hr.body = req[i].body;
		hr.body_len = strlen(req[i].body);
		hr.timeout_ms = FC_API_TIMEOUT_MS;
		if (httpc_exchange(&ep, &hr, &resp, err, errlen) == -1)
			goto out;
		if (resp.status < 200 || resp.status > 299) {
			err_set(err, errlen, "firecracker %s %s: %d %.200s",
			    req[i].method, req[i].path, resp.status,
			    resp.body != NULL ? resp.body : "");
			httpc_response_clear(&resp);
			goto out;
		}
		httpc_response_clear(&resp);
	}
	rc = 0;
out:
	fc_requests_free(req, n);
	return rc;
}

static int
fc_start(const struct sdconfig *cfg, const struct backend_spec *spec,
    struct backend_run **out, char *err, size_t errlen)
{
	char jail[PATH_MAX], root[PATH_MAX], src[PATH_MAX + 32];
	char initrd[PATH_MAX + 16], sock[PATH_MAX], sockfd[64];
	char words[512], args[1024], mac[24], ids[2][16], nsarg[PATH_MAX];
	char id[SANDBOX_NAME_MAX + 1];
	const char *exe;
	size_t i;
	struct vmframe_guest g;
	struct fc_config fc;
	struct backend_run *run;
	struct fc_opts o;
	unsigned int guest_mb;
	int dirfd = -1;

	if (fc_check(cfg, &o, err, errlen) == -1)
		return -1;
	if ((run = calloc(1, sizeof(*run))) == NULL)
		return err_set(err, errlen, "out of memory");
	if (vmrun_init(&run->vm, FC_NAME, spec, err, errlen) == -1)
		goto fail;
	snprintf(run->vm.accel, sizeof(run->vm.accel), "KVM");
	if (vmrun_guest(spec, "vda", &g, err, errlen) == -1)
		goto fail;
	if (vmframe_guest_format(&g, words, sizeof(words)) == -1) {
		err_set(err, errlen, "guest settings out of range");
		goto fail;
	}
	guest_mb = g.memory_mb + VMRUN_GUEST_OVERHEAD_MB;
	/* The jailer takes [A-Za-z0-9-] ids: the name, '_' made '-'. */
	snprintf(id, sizeof(id), "%s", spec->name);
	for (i = 0; id[i] != '\0'; i++)
		if (id[i] == '_')
			id[i] = '-';
	/* The jailer's layout: BASE/<exec file's name>/<id>/root. */
	exe = strrchr(o.firecracker, '/') != NULL ?
	    strrchr(o.firecracker, '/') + 1 : o.firecracker;
	if ((size_t)snprintf(jail, sizeof(jail), "%s/jail", run->vm.run_dir) >=
	    sizeof(jail) || (size_t)snprintf(root, sizeof(root),
	    "%s/%s/%s/root", jail, exe, id) >= sizeof(root) ||
	    (size_t)snprintf(sock, sizeof(sock), "%s/%s", root, FC_SOCKET) >=
	    sizeof(sock)) {
		err_set(err, errlen, "run dir too long for the jail");
		goto fail;
	}
	/* The jail is ours to fill: Firecracker sees nothing else. */
	if (mkdir(jail, 0711) == -1 ||
	    (size_t)snprintf(src, sizeof(src), "%s/%s", jail, exe) >=
	    sizeof(src) || mkdir(src, 0711) == -1 ||
	    (size_t)snprintf(src, sizeof(src), "%s/%s/%s", jail, exe, id) >=
	    sizeof(src) || mkdir(src, 0711) == -1 ||
	    mkdir(root, 0711) == -1 ||
	    (size_t)snprintf(src, sizeof(src), "%s/run", root) >=
	    sizeof(src) || mkdir(src, 0700) == -1 ||
	    chown(src, spec->uid, spec->gid) == -1) {
		err_set(err, errlen, "jail %s: %s", root, strerror(errno));
		goto fail;
	}
	snprintf(src, sizeof(src), "%s/initramfs.cpio", o.image_dir);
	if (vmrun_initrd(&run->vm, spec, src, spec->uid, spec->gid, initrd,
	    sizeof(initrd), err, errlen) == -1 ||
	    fc_place(initrd, root, "initrd", 1, spec->uid, spec->gid, err,
	    errlen) == -1)
		goto fail;
	snprintf(src, sizeof(src), "%s/vmlinux", o.image_dir);
	if (fc_place(src, root, "vmlinux", 1, spec->uid, spec->gid, err,
	    errlen) == -1)
		goto fail;
	snprintf(src, sizeof(src), "%s/usr.ext4", o.image_dir);
	if (fc_place(src, root, "usr.ext4", 0, spec->uid, spec->gid, err,
	    errlen) == -1)
		goto fail;
	/* The jailed VMM opens the tap by name, as its owner. */
	if (vmrun_net(&run->vm, spec->uid, spec->gid, err, errlen) == -1 ||
	    vmrun_cgroup(&run->vm, spec, guest_mb, err, errlen) == -1)
		goto fail;
	snprintf(ids[0], sizeof(ids[0]), "%u", (unsigned int)spec->uid);
	snprintf(ids[1], sizeof(ids[1]), "%u", (unsigned int)spec->gid);
	snprintf(nsarg, sizeof(nsarg), "%s", spec->netns_path);
	{
		char *argv[] = {
			o.jailer, (char *)"--id", id,
			(char *)"--exec-file", o.firecracker,
			(char *)"--uid", ids[0], (char *)"--gid", ids[1],
			(char *)"--chroot-base-dir", jail,
			(char *)"--netns", nsarg,
			(char *)"--", (char *)"--api-sock",
			(char *)"/" FC_SOCKET, NULL,
		};

		if (vmrun_spawn(&run->vm, argv, (uid_t)-1, (gid_t)-1, NULL, 0,
		    err, errlen) == -1)
			goto fail;
	}
	if (fc_wait_socket(sock, run->vm.pidfd, err, errlen) == -1)
		goto fail;
	/* sun_path is short; the jail's path is not. Reach it by an fd. */
	if ((dirfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1) {
		err_set(err, errlen, "open %s: %s", root, strerror(errno));
		goto fail;
	}
	snprintf(sockfd, sizeof(sockfd), "/proc/self/fd/%d/%s", dirfd,
	    FC_SOCKET);
	/* Firecracker's own serial console is ttyS0; reboot=k: its exit. */
	snprintf(args, sizeof(args), "console=ttyS0 loglevel=1 panic=-1 "
	    "reboot=k pci=off ipv6.disable=1 random.trust_cpu=on %s", words);
	snprintf(mac, sizeof(mac), "52:54:%02x:%02x:%02x:%02x",
	    spec->sess_addr.a[0], spec->sess_addr.a[1], spec->sess_addr.a[2],
	    spec->sess_addr.a[3]);
	memset(&fc, 0, sizeof(fc));
	fc.kernel = "/vmlinux";
	fc.initrd = "/initrd";
	fc.boot_args = args;
	fc.rootfs = "/usr.ext4";
	fc.tap = VMRUN_TAP;
	fc.mac = mac;
	fc.vcpus = 1;
	fc.mem_mib = guest_mb;
	if (fc_configure(sockfd, &fc, err, errlen) == -1)
		goto fail;
	close(dirfd);
	*out = run;
	return 0;
fail:
	if (dirfd != -1)
		close(dirfd);
	(void)vmrun_free(&run->vm);
	free(run);
	return -1;
}

static int
fc_wait_fd(const struct backend_run *run)
{
	return vmrun_wait_fd(&run->vm);
}

static int
fc_wait(struct backend_run *run, struct backend_status *st)
{
	return vmrun_wait(&run->vm, st);
}

static int
fc_kill(struct backend_run *run)
{
	return vmrun_kill(&run->vm);
}

static int
fc_usage(struct backend_run *run, struct backend_usage *u)
{
	return vmrun_usage(&run->vm, u);
}

static int
fc_free(struct backend_run *run)
{
	if (run == NULL)
		return 0;
	if (vmrun_free(&run->vm) == -1) {
		if (!run->vm.have_relay)
			free(run);
		return -1;
	}
	free(run);
	return 0;
}

const struct session_backend backend_firecracker = {
	.name = FC_NAME,
	.isolation = "microVM (Firecracker, KVM): its own guest kernel, "
	    "jailed VMM",
	.probe = fc_probe,
	.start = fc_start,
	.wait_fd = fc_wait_fd,
	.wait = fc_wait,
	.kill = fc_kill,
	.usage = fc_usage,
	.free = fc_free,
};
