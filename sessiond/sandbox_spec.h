/*
 * What the namespace backend's sandbox runs, and within which limits: the
 * caller's half of the contract in sandbox.h, apart so that the modules
 * behind it can share it without depending on the whole.
 */
#ifndef ENCLAVE_SESSIOND_SANDBOX_SPEC_H
#define ENCLAVE_SESSIOND_SANDBOX_SPEC_H

#include <stddef.h>
#include <sys/types.h>

#define SANDBOX_NAME_MAX 64

/* The fd the in-sandbox result helpers write to (ENCLAVE_RESULT_FD). */
#define SANDBOX_RESULT_FD 3

/* Zero means "the default" for every field. */
struct sandbox_limits {
	unsigned int memory_mb;		/* memory (and memory+swap) cap; 256 */
	unsigned int pids;		/* tasks incl. threads and init; 128 */
	unsigned int cpu_pct;		/* CFS quota, 100 = one CPU; 0 = none */
	unsigned int workspace_mb;	/* /workspace tmpfs and RLIMIT_FSIZE; 64 */
	unsigned int tmp_mb;		/* /tmp tmpfs; 64 */
};

struct sandbox_spec {
	/* [A-Za-z0-9_-]{1,64}: names the cgroup ("enclave-NAME"). */
	const char *name;
	/* The session's network namespace, e.g. /run/netns/NAME. */
	const char *netns_path;
	/* "python" (/usr/bin/python3), "sh" (/bin/sh), "node" (/usr/bin/node). */
	const char *language;
	/* Written into the sandbox as /workspace/main.{py,sh,js}. */
	const void *code;
	size_t code_len;
	struct sandbox_limits limits;
	/* The workload's ids: never 0. */
	uid_t uid;
	gid_t gid;
	/* nameserver for /etc/resolv.conf (v4 or v6 literal), or NULL: none. */
	const char *gateway;
	/* Host directory bound read-only at /opt/enclave, or NULL. */
	const char *helpers_dir;
	/* The caller's ends; -1 means /dev/null (result: fd 3 left closed). */
	int stdout_fd;
	int stderr_fd;
	int result_fd;
};

#endif
