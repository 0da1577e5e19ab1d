/*
 * The `namespace` backend: the built-in sandbox (sessiond/sandbox.h) behind
 * the SessionBackend interface. Fresh mount, pid, ipc, uts and cgroup
 * namespaces joined to the session netns, a tmpfs root, seccomp, cgroup
 * limits, an unprivileged uid.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "sessiond/backend.h"
#include "sessiond/sandbox.h"

struct backend_run {
	struct sandbox sb;
};

static int
ns_probe(const struct sdconfig *cfg, char *reason, size_t len)
{
	(void)cfg;
	if (geteuid() != 0) {
		err_set(reason, len, "needs root (namespaces, cgroups, setns)");
		return 0;
	}
	if (access("/proc/self/ns/pid", F_OK) == -1 ||
	    access("/proc/self/ns/mnt", F_OK) == -1) {
		err_set(reason, len, "kernel without pid/mount namespaces");
		return 0;
	}
	if (reason != NULL && len > 0)
		reason[0] = '\0';
	return 1;
}

static int
ns_start(const struct sdconfig *cfg, const struct backend_spec *spec,
    struct backend_run **out, char *err, size_t errlen)
{
	struct sandbox_spec s;
	struct backend_run *run;

	(void)cfg;
	if ((run = calloc(1, sizeof(*run))) == NULL)
		return err_set(err, errlen, "out of memory");
	memset(&s, 0, sizeof(s));
	s.name = spec->name;
	s.netns_path = spec->netns_path;
	s.language = spec->language;
	s.code = spec->code;
	s.code_len = spec->code_len;
	s.limits = spec->limits;
	s.uid = spec->uid;
	s.gid = spec->gid;
	s.gateway = spec->gateway;
	s.helpers_dir = spec->helpers_dir;
	s.stdout_fd = spec->stdout_fd;
	s.stderr_fd = spec->stderr_fd;
	s.result_fd = spec->result_fd;
	if (sandbox_spawn(&s, &run->sb, err, errlen) == -1) {
		free(run);
		return -1;
	}
	*out = run;
	return 0;
}

static int
ns_wait_fd(const struct backend_run *run)
{
	return run->sb.pidfd;
}

static int
ns_wait(struct backend_run *run, struct backend_status *st)
{
	struct sandbox_status s;
	int rc;

	if ((rc = sandbox_wait(&run->sb, 0, &s)) != 0)
		return rc;
	st->exited = s.exited;
	st->exit_code = s.exit_code;
	st->signal = s.signal;
	st->oom = s.oom;
	return 0;
}

static int
ns_kill(struct backend_run *run)
{
	return sandbox_kill(&run->sb);
}

static int
ns_usage(struct backend_run *run, struct backend_usage *u)
{
	struct sandbox_usage su;

	/* Once reaped the cgroups may be gone: the status kept the last
	 * reading. */
	if (run->sb.reaped) {
		u->cpu_ms = run->sb.status.cpu_ms;
		u->mem_peak_bytes = run->sb.status.mem_peak_bytes;
		return 0;
	}
	if (sandbox_usage(&run->sb, &su) == -1)
		return -1;
	u->cpu_ms = su.cpu_ms;
	u->mem_peak_bytes = su.mem_peak_bytes;
	return 0;
}

static int
ns_free(struct backend_run *run)
{
	int rc;

	if (run == NULL)
		return 0;
	rc = sandbox_free(&run->sb);
	free(run);
	return rc;
}

const struct session_backend backend_namespace = {
	.name = "namespace",
	.isolation = "Linux namespaces (mount, pid, ipc, uts, cgroup) + "
	    "seccomp + cgroup limits + pivot_root, shared host kernel",
	.probe = ns_probe,
	.start = ns_start,
	.wait_fd = ns_wait_fd,
	.wait = ns_wait,
	.kill = ns_kill,
	.usage = ns_usage,
	.free = ns_free,
};
