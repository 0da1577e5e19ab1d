/*
 * TLS interception for hosts a session holds a service binding for, and
 * only for those: every other TLS connection stays SNI pass-through.
 *
 * After the connection was judged (its SNI names a bound host) and the
 * upstream TCP connection to an address proxyd resolved itself is up:
 *
 *  1. TLS to the upstream first: SNI and hostname verification for the
 *     judged name, against the system store or the configured upstream_ca,
 *     ALPN http/1.1. If it does not verify the client gets a fatal
 *     access_denied alert in place of a ServerHello and the connection is
 *     a denial (upstream_tls_invalid): never a downgrade, and the client
 *     never learns more than a pass-through would have told it.
 *  2. Then TLS with the client, from the ClientHello the sniffer already
 *     read, with a leaf minted for the name (mint.h); ALPN http/1.1 only,
 *     so h2 is never negotiated through the interception.
 *  3. Then HTTP/1.1, request by request (inject.h): each head is judged
 *     and rewritten (Host must be the SNI, no TRACE, the client's
 *     credentials stripped, the binding's added) and reported through
 *     cb->injected, one secret_injected event per request that carried
 *     the credential. Bodies (length, chunked) stream through with
 *     backpressure; responses are framed but passed on byte for byte, so
 *     100-continue, streamed and server-sent-event responses and
 *     close-delimited bodies work; a 101 answer to an Upgrade request
 *     turns the rest into an opaque two-way relay (WebSocket).
 *
 * A refused request (421, 405, 400, 431) is answered once the responses
 * to the requests before it have gone out, and the connection then ends.
 * The secret is in memory only inside the rewritten head, which is wiped
 * when the TLS layer has consumed it.
 *
 * Ownership follows httpflow: intercept_new() takes both sockets (even on
 * failure), done is called once, from the event loop (never from inside
 * intercept_new() or another callback of this flow), and the owner then
 * calls intercept_free(), the one teardown.
 */
#ifndef ENCLAVE_PROXYD_INTERCEPT_H
#define ENCLAVE_PROXYD_INTERCEPT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proxyd/ctlmsg.h"
#include "proxyd/decide.h"
#include "proxyd/http.h"

struct event_base;
struct intercept;
struct intercept_ctx;
struct mint_cache;

/*
 * What every worker shares: the CA and the two TLS contexts (toward the
 * sandbox, toward the upstream). Made at start-up, before privileges are
 * dropped (it may create the CA, owned by uid/gid); read-only afterwards.
 */
struct intercept_ctx *intercept_ctx_new(const char *ca_cert,
    const char *ca_key, const char *upstream_ca, uid_t uid, gid_t gid,
    char *err, size_t errlen);
void intercept_ctx_free(struct intercept_ctx *ctx);
/* A worker's leaf cache for this context's CA. */
struct mint_cache *intercept_cache_new(struct intercept_ctx *ctx, char *err,
    size_t errlen);

/* How the flow ended; the owner turns it into the connection's event. */
enum intercept_end {
	INTERCEPT_END_OK = 0,		/* relayed; egress_allowed */
	INTERCEPT_END_UPSTREAM_INVALID,	/* denied: upstream_tls_invalid */
	INTERCEPT_END_UPSTREAM_FAILED,	/* upstream gone during its handshake */
	INTERCEPT_END_CLIENT_TLS,	/* the client's handshake failed */
	INTERCEPT_END_ERROR,		/* the proxy's own fault */
};

struct intercept_cb {
	/* A request was refused with status (event; the flow answers). */
	void (*denied)(void *arg, enum decide_reason reason, int status);
	/* A request left with the binding's credential in it. */
	void (*injected)(void *arg);
	/* The flow is over; the owner frees it. */
	void (*done)(void *arg, uint64_t bytes_up, uint64_t bytes_down,
	    enum intercept_end end);
};

struct intercept_opts {
	struct intercept_ctx *ctx;
	struct mint_cache *mint;	/* the worker's */
	const char *prefix;		/* the ClientHello, as sniffed */
	size_t prefix_len;
	const char *host;		/* the judged SNI, canonical */
	uint16_t port;
	const struct ctl_binding *binding;	/* lives as long as the flow */
	const struct http_limits *limits;
	unsigned int idle_ms;		/* no byte either way for this long */
	unsigned int handshake_ms;	/* each TLS handshake */
};

struct intercept *intercept_new(struct event_base *base, int client_fd,
    int upstream_fd, const struct intercept_opts *opts,
    const struct intercept_cb *cb, void *arg);
/* The one teardown; closes both sockets; never calls back. NULL is fine. */
void intercept_free(struct intercept *ic);

#endif /* ENCLAVE_PROXYD_INTERCEPT_H */
