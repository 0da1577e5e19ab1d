/*
 * sessiond's client for enclave-proxyd's control socket (the protocol is in
 * proxyd/ctlmsg.h): JSON lines on a unix stream socket, requests answered
 * in order, decision events interleaved with the replies.
 *
 *	pc = proxyc_open(path, 2000, on_event, ctx, err, sizeof(err));
 *	... watch proxyc_fd(pc) for EV_READ; when readable:
 *	if (proxyc_drain(pc, err, sizeof(err)) == -1) -> close, reconnect
 *	if (proxyc_session_add(pc, ..., 2000, &code, err, sizeof(err)) == -1)
 *		... code is "exists", "limit", ... or "" when proxyd said nothing
 *	proxyc_close(pc);
 *
 * Calls block, bounded by their timeout_ms (CLOCK_MONOTONIC): the event
 * loop is single-threaded and proxyd answers from memory, so a short
 * blocking call is simpler than a reply queue. One request is in flight at
 * a time. While a call waits for its reply, events that arrive are handed
 * to cb in stream order; when any call returns, no complete line is left
 * in the buffer, so readability of proxyc_fd() stays a faithful signal for
 * the caller's level-triggered loop.
 *
 * Choices:
 *  - Anything proxyd sends that does not decode (bad JSON, a malformed
 *    event, a reply out of order or with a wrong "req", a line longer than
 *    CTL_LINE_MAX) is a protocol error, not skipped: proxyd is trusted, so
 *    such a line is a bug that must be loud. A protocol error, EOF, or a
 *    request only partly written leaves the connection unusable: every
 *    later call fails with the first reason, and the caller closes and
 *    reconnects.
 *  - A call that times out waiting for its reply does not break the
 *    connection: the late reply is recognised (replies come in request
 *    order) and discarded. Whether proxyd applied that request is unknown;
 *    the caller reconciles (session_del + session_add, or session_update).
 *    Likewise, -1 for a transport or protocol failure says nothing about
 *    whether the request was applied; only a reply with ok:false does.
 *  - The line buffer is fixed at CTL_LINE_MAX + 1 bytes, allocated once.
 *  - Invalid arguments (session id, tenant, allow pattern, a request that
 *    would exceed CTL_LINE_MAX) are refused before anything is sent, and
 *    leave the connection as it was.
 *  - Nothing is logged; err says what happened and the caller logs it.
 *    Text from proxyd is copied into err with control bytes replaced.
 *
 * Across reconnects: proxyd keeps its sessions when a control client goes
 * away, and events emitted while no client is connected are lost to it.
 *
 * cb may be NULL (events are checked, then dropped). The event pointer is
 * valid only during the call. cb may be called from inside proxyc_open()
 * and every call below; it must not call back into the same proxyc (such
 * a call fails with -1) and must not close it.
 */
#ifndef ENCLAVE_SESSIOND_PROXYC_H
#define ENCLAVE_SESSIOND_PROXYC_H

#include <stddef.h>
#include <stdint.h>

#include "common/ip.h"
#include "proxyd/ctlmsg.h"

/* What one proxyc_drain() reads at most, so a flood of events cannot keep
 * the caller's loop from its other work; the rest waits, still readable. */
#define PROXYC_DRAIN_MAX	(256 * 1024)

struct proxyc;

typedef void (*proxyc_event_fn)(const struct ctl_event *ev, void *arg);

/*
 * Connect to the control socket at path and say hello; proxyd must offer
 * protocol version CTL_VERSION. timeout_ms (> 0) bounds connect and hello
 * together. NULL with err set on failure.
 */
struct proxyc *proxyc_open(const char *path, int timeout_ms,
    proxyc_event_fn cb, void *arg, char *err, size_t errlen);

/* The one teardown: closes the socket, frees everything. NULL is fine. */
void proxyc_close(struct proxyc *pc);

/* For the caller's event loop: readable means call proxyc_drain(). */
int proxyc_fd(const struct proxyc *pc);

/*
 * Read what is available without blocking (at most PROXYC_DRAIN_MAX bytes)
 * and hand each complete event line to cb. 0, or -1 with err set when
 * proxyd closed the connection or broke the protocol: close and reconnect.
 */
int proxyc_drain(struct proxyc *pc, char *err, size_t errlen);

/*
 * The requests. Each sends one line and waits up to timeout_ms (>= 0) for
 * its own reply, handing events that arrive meanwhile to cb in order.
 * 0 when proxyd answered ok:true. -1 otherwise, with err set: for ok:false
 * to "proxyd: <code>: <message>" and *code_out (if code_out is not NULL)
 * to the code (CTL_ERR_EXISTS, CTL_ERR_NOT_FOUND, ...); for anything else
 * (invalid argument, timeout, EOF, protocol error) to what happened and
 * *code_out to "". *code_out points into pc and is valid until the next
 * call on pc.
 *
 * allow holds nallow patterns ("example.com", "*.example.com:443"); none
 * denies everything. max_connections 0 means proxyd's configured default.
 */
int proxyc_session_add(struct proxyc *pc, const char *id, const char *tenant,
    const struct ip_addr *source, char *const *allow, size_t nallow,
    uint32_t max_connections, int timeout_ms, const char **code_out,
    char *err, size_t errlen);
/*
 * session_add with service bindings (secrets included: they travel only
 * on this socket, and the encoded line is wiped once sent).
 */
int proxyc_session_add_bound(struct proxyc *pc, const char *id,
    const char *tenant, const struct ip_addr *source, char *const *allow,
    size_t nallow, const struct ctl_binding *bindings, size_t nbindings,
    int timeout_ms, const char **code_out, char *err, size_t errlen);
/* The same arguments; replaces an existing session's policy and limits. */
int proxyc_session_update(struct proxyc *pc, const char *id,
    const char *tenant, const struct ip_addr *source, char *const *allow,
    size_t nallow, uint32_t max_connections, int timeout_ms,
    const char **code_out, char *err, size_t errlen);
int proxyc_session_del(struct proxyc *pc, const char *id, int timeout_ms,
    const char **code_out, char *err, size_t errlen);

/*
 * A barrier: when it returns 0, every event proxyd emitted before it
 * processed the ping has been handed to cb (proxyd writes events and
 * replies into one ordered stream). That includes the counts of denials
 * proxyd is still coalescing: it writes them out before its reply.
 */
int proxyc_ping(struct proxyc *pc, int timeout_ms, char *err, size_t errlen);

#endif
