#ifndef ENCLAVE_PROXYD_METRICS_H
#define ENCLAVE_PROXYD_METRICS_H

#include <stddef.h>
#include <stdint.h>

/*
 * proxyd's counters, rendered in the Prometheus text format 0.0.4 and
 * served on a unix or loopback socket only: metrics name hosts and
 * reasons, so they must never be reachable from a sandbox.
 *
 * Every counter is a fixed C11 atomic updated with relaxed ordering from
 * any worker thread; nothing on the hot path allocates or locks. A render
 * is not a snapshot: series read a few nanoseconds apart may disagree by
 * the increments in between (a histogram's _count always equals its +Inf
 * bucket, though).
 *
 * decisions_total is the one family printed sparsely: every non-zero
 * {type, proto, reason} series, plus type="allowed",reason="allowed" for
 * each proto even at zero, so dashboards see the family. Every other
 * family prints all of its known label values, zeros included.
 */

#define METRICS_PREFIX		"enclave_proxyd_"
#define METRICS_CONTENT_TYPE	"text/plain; version=0.0.4"
#define METRICS_HEADERS_MAX	8192
#define METRICS_BODY_MAX	1024	/* a request body we read only to refuse */
#define METRICS_TIMEOUT_S	5

enum metrics_dir {
	METRICS_UP = 0,		/* client to upstream */
	METRICS_DOWN,		/* upstream to client */
	METRICS_DIR_N
};

enum metrics_dns {
	METRICS_DNS_ANSWERED = 0,
	METRICS_DNS_NXDOMAIN,
	METRICS_DNS_REFUSED,
	METRICS_DNS_SERVFAIL,
	METRICS_DNS_FORMERR,
	METRICS_DNS_NODATA,
	METRICS_DNS_N
};

enum metrics_error {
	METRICS_ERR_ACCEPT = 0,
	METRICS_ERR_CONNECT,
	METRICS_ERR_RESOLVER,
	METRICS_ERR_CONTROL,
	METRICS_ERR_EVENT_LOG,
	METRICS_ERR_OTHER,
	METRICS_ERR_N
};

struct metrics;
struct metrics_server;
struct event_base;

/* start_time_seconds is taken here. NULL if out of memory. */
struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);

/* Hot-path updates: any thread, never allocate. m may be NULL (no-op). */
void metrics_conn_open(struct metrics *m);	/* active++, total++ */
void metrics_conn_close(struct metrics *m);	/* active-- */
/* denied: 0 = type "allowed", else "denied". proto: http, tls, tcp or dns;
 * reason: a decide_reason_name() string or sni_mismatch,
 * method_not_allowed, upstream_unreachable, proxy_error. Anything else
 * (NULL too) is counted under "other"; matching is exact. */
void metrics_decision(struct metrics *m, int denied, const char *proto,
    const char *reason);
void metrics_bytes(struct metrics *m, enum metrics_dir dir, uint64_t n);
void metrics_dns_query(struct metrics *m, enum metrics_dns outcome);
void metrics_resolver_latency(struct metrics *m, uint64_t usec);
/* An out-of-range kind counts as METRICS_ERR_OTHER. */
void metrics_error(struct metrics *m, enum metrics_error kind);
void metrics_events_dropped(struct metrics *m, uint64_t n);

/* The exposition text, NUL-terminated, *len without the NUL; free() it.
 * NULL if out of memory. Pure: reads the counters, touches nothing else. */
char *metrics_render(const struct metrics *m, size_t *len);

/*
 * Serve GET (and HEAD) /metrics on addr: "unix:/path" (mode 0600; a
 * stale socket is replaced, a live one or any other file is refused),
 * "127.x.y.z:PORT" or "[::1]:PORT". Any other address is refused. Port 0
 * picks one (metrics_server_port()). Runs on base's thread.
 */
struct metrics_server *metrics_server_new(struct event_base *base,
    struct metrics *m, const char *addr, char *err, size_t errlen);
/* The one teardown: closes the listener and clients and, for a unix
 * socket, removes the socket file if it is still ours. */
void metrics_server_free(struct metrics_server *srv);
/* The bound TCP port, 0 for a unix socket. */
uint16_t metrics_server_port(const struct metrics_server *srv);

#endif
