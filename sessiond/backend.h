/*
 * SessionBackend: the one interface between a session and the isolation
 * technology that runs its workload. Everything a session guarantees
 * (egress policy, audit, secret withholding, limits, teardown) is done
 * above this line by the session layer; a backend only runs bytes inside
 * the network namespace it is handed. Nothing above it branches on which
 * backend it is.
 *
 *	const struct session_backend *b = backend_find("namespace");
 *	char why[256];
 *	if (!b->probe(cfg, why, sizeof(why))) ... unavailable: why says so
 *	struct backend_run *run;
 *	if (b->start(cfg, &spec, &run, err, sizeof(err)) == -1) ... err says why
 *
 * cfg is the daemon's configuration; a backend's own options are its
 * "backend NAME KEY VALUE" lines (sdconfig_backend_opt()). An option it
 * does not know makes it unavailable, with the key in the reason.
 *	... poll b->wait_fd(run); then b->wait(run, &st) == 0: it has ended
 *	b->kill(run);	// timeout, DELETE
 *	b->usage(run, &u);
 *	b->free(run);	// the one teardown: kills, reaps, removes what it made
 */
#ifndef ENCLAVE_SESSIOND_BACKEND_H
#define ENCLAVE_SESSIOND_BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/ip.h"
#include "sessiond/sandbox_spec.h"

struct sdconfig;

/* What the session layer hands every backend. */
struct backend_spec {
	/* [A-Za-z0-9_-]{1,64}: unique among live sessions, names cgroups,
	 * containers and other per-run objects the backend makes. */
	const char *name;
	/* The session's prepared netns: /run/netns/NAME. Its one interface,
	 * sess_if, holds sess_addr/prefixlen with a default route via
	 * gateway; a backend that must run the workload in a netns of its own
	 * making (a container engine's) moves sess_if there and sets the same
	 * address and route. */
	const char *netns_path;
	const char *netns_name;
	const char *sess_if;
	struct ip_addr sess_addr;
	struct ip_addr gateway_addr;
	unsigned int prefixlen;
	/* A directory for this run's files (bundle, sockets); the backend
	 * makes it and removes it in free(). */
	const char *run_dir;
	const char *language;		/* "python", "sh", "node" */
	const void *code;
	size_t code_len;
	struct sandbox_limits limits;
	uid_t uid;			/* the workload's ids; never 0 */
	gid_t gid;
	const char *gateway;		/* the session's DNS server */
	const char *helpers_dir;	/* result helpers, read-only */
	/* Write ends the workload's stdout, stderr and result go to; the
	 * caller closes its copies once start() returns. */
	int stdout_fd;
	int stderr_fd;
	int result_fd;
};

struct backend_status {
	int exited;		/* 1: exited with exit_code */
	int exit_code;
	int signal;		/* the signal that ended it, 0 when it exited */
	int oom;		/* its memory limit's OOM killer fired */
};

struct backend_usage {
	uint64_t cpu_ms;
	uint64_t mem_peak_bytes;
	/* From start() to the workload's exec inside a guest that had to
	 * boot a kernel first (microVMs); 0 where nothing boots. */
	uint64_t boot_ms;
};

struct backend_run;

struct session_backend {
	const char *name;
	/* One line for GET /v1/backends: what the boundary is. */
	const char *isolation;
	/* 1 when this machine can run it; 0 with reason filled when not. */
	int (*probe)(const struct sdconfig *cfg, char *reason, size_t len);
	/* Start the workload; 0, or -1 with err naming the step that failed
	 * and nothing left behind. */
	int (*start)(const struct sdconfig *cfg, const struct backend_spec *spec,
	    struct backend_run **out, char *err, size_t errlen);
	/* Readable (poll) once the workload may have ended. */
	int (*wait_fd)(const struct backend_run *run);
	/* Never blocks: 0 with *st filled once ended, 1 while running, -1 on
	 * an error (errno). */
	int (*wait)(struct backend_run *run, struct backend_status *st);
	/* Kill everything the workload started. Idempotent. */
	int (*kill)(struct backend_run *run);
	int (*usage)(struct backend_run *run, struct backend_usage *u);
	/* The one teardown; NULL is fine. -1 when something it made could
	 * not be removed (it logged what). */
	int (*free)(struct backend_run *run);
	/* At start-up, before any session: remove what a crashed daemon's
	 * runs of this backend left outside run_dir (containers, runtime
	 * state) for sessions named "PREFIX-ses_*"; NULL when there is never
	 * anything. */
	void (*sweep)(const struct sdconfig *cfg, const char *prefix);
};

/* Every compiled-in backend, in the order GET /v1/backends lists them. */
const struct session_backend *const *backend_all(size_t *n);
/* NULL when no backend has that name. */
const struct session_backend *backend_find(const char *name);

extern const struct session_backend backend_namespace;
extern const struct session_backend backend_microvm;
extern const struct session_backend backend_firecracker;
extern const struct session_backend backend_oci_runc, backend_oci_crun,
    backend_gvisor;
extern const struct session_backend backend_docker;

#endif
