#ifndef ENCLAVE_PROXYD_HTTPFLOW_H
#define ENCLAVE_PROXYD_HTTPFLOW_H

#include <stddef.h>
#include <stdint.h>

#include "common/hostname.h"
#include "proxyd/decide.h"
#include "proxyd/http.h"

/*
 * Plain HTTP after the first request was allowed and the upstream is
 * connected: every later request on the keep-alive connection is parsed
 * and must name the judged host and port, bodies are framed (length or
 * chunked) so no request slips through inside another, and a refused
 * request is answered only after the upstream's responses so far have
 * reached the client. Bounded buffers with backpressure both ways. TRACE
 * is refused on every request, not only the first. Responses are framed
 * (never judged): after an Upgrade request the client's later bytes wait
 * for its answer and pass unjudged only after a 101; a declined Upgrade
 * leaves every later request judged, and a response that can't be framed
 * (or a 101 nobody asked for) ends the taking of requests (502).
 */

struct event_base;
struct httpflow;
struct relay_pipes;

struct httpflow_cb {
	/* A later request was refused (event; the flow answers the client). */
	void (*denied)(void *arg, enum decide_reason reason, const char *host,
	    uint16_t port, int status);
	/* The flow ended; the caller frees it. error: 0, or an errno. */
	void (*done)(void *arg, uint64_t bytes_up, uint64_t bytes_down,
	    int error);
	/* A request left with the binding's credential (may be NULL). */
	void (*injected)(void *arg);
};

struct httpflow_opts {
	const char *prefix;		/* client bytes read while sniffing */
	size_t prefix_len;
	const struct http_limits *limits;
	const char *host;		/* judged canonical host (or literal);
					   kept, not copied: outlives the flow */
	uint16_t port;
	unsigned int idle_ms;
	/* A bound host (inject.h): every request's credential fields are
	 * stripped, and with inject (allow_http) the binding's is added. */
	const struct ctl_binding *binding;	/* NULL: none; outlives the flow */
	int inject;
	/* Pipes for splicing responses (relay.h); NULL: made per flow. */
	struct relay_pipes *pipes;
};

/* Takes ownership of both fds, even on failure (NULL); both must be
 * connected and non-blocking. done is never called from in here. */
struct httpflow *httpflow_new(struct event_base *base, int client_fd,
    int upstream_fd, const struct httpflow_opts *opts,
    const struct httpflow_cb *cb, void *arg);
/* The one teardown; closes both sockets; never calls back. */
void httpflow_free(struct httpflow *hf);

/*
 * The canonical form of the host a request names, used to compare
 * requests on one connection: a canonical name, or for an IP literal the
 * address's canonical text. -1 if it is neither.
 */
int httpflow_host_key(const char *buf, const struct http_req *req,
    char out[HOSTNAME_MAX + 1]);

/* The refusal sent to the client for an HTTP request; malloc'd. */
char *httpflow_deny_response(int status, const char *host, uint16_t port,
    const char *reason, size_t *len);

#endif
