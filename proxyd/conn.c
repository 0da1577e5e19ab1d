#include <ares.h>
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/event_struct.h>	/* struct conn embeds its event */
#include <fcntl.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/hostname.h"
#include "common/log.h"
#include "proxyd/conn.h"
#include "proxyd/decide.h"
#include "proxyd/http.h"
#include "proxyd/httpflow.h"
#include "proxyd/intercept.h"
#include "proxyd/relay.h"
#include "proxyd/resolve.h"
#include "proxyd/sniff.h"
#include "proxyd/tls.h"
#include "proxyd/worker.h"
#include "rules/policy.h"

/* How long a refused client gets to read our answer before we close. */
#define LINGER_MS 1000

enum conn_state {
	CONN_SNIFF = 0,
	CONN_RESOLVE,
	CONN_CONNECT,
	CONN_RELAY,
	CONN_TUNNEL,		/* after CONNECT's 200: reading the first bytes */
	CONN_FIRST,		/* silent client, upstream connected: who speaks first */
	CONN_LINGER,
};

struct conn {
	TAILQ_ENTRY(conn) link;
	struct worker *w;
	struct server_config *sc;
	struct px_session *s;
	int cfd;
	int ufd;
	enum conn_state state;
	struct ip_addr src;
	struct ip_addr odst;
	uint16_t sport;
	uint16_t oport;
	char *buf;			/* client bytes read while sniffing */
	size_t len;
	size_t cap;
	/* The phase's one event (sniff, connect, tunnel, linger, ...),
	 * re-assigned per phase: embedded, so a phase costs no malloc. */
	struct event ev;
	int ev_assigned;
	/* CONN_FIRST only: the upstream speaking first. A rare path, so
	 * allocated when used rather than carried by every connection. */
	struct event *uev;
	struct resolve_req *rreq;
	uint64_t resolve_start_ms;
	struct decision d;
	enum ctl_proto proto;
	struct relay *relay;
	struct httpflow *hf;
	struct intercept *ic;
	/* The session's binding for the judged host, if any: its secret is
	 * injected (TLS: intercepted) and client credentials stripped. It
	 * lives in the session, which this connection holds. */
	const struct ctl_binding *binding;
	int counted;			/* holds a slot in the limits */
	int proxy_form;			/* CONNECT and absolute URIs are for us */
	int is_connect;			/* an allowed CONNECT tunnel */
	enum conn_listener how;
};

static void conn_close(struct conn *c);
static void conn_decided(struct conn *c);
static void conn_set_host(struct conn *c, const char *host, size_t len);

/* Out of the loop, whatever the phase. An event never assigned has no
 * base to be deleted from; an assigned one may be deleted any number of
 * times. libevent's event_free() does not take NULL. */
static void
conn_ev_clear(struct conn *c)
{
	if (c->ev_assigned)
		event_del(&c->ev);
	if (c->uev != NULL) {
		event_free(c->uev);
		c->uev = NULL;
	}
}

/* Points the connection's event at this phase's fd and callback (after
 * dropping the last phase's), bounded by timeout_ms. */
static int
conn_ev_arm(struct conn *c, int fd, short events, event_callback_fn cb,
    unsigned int timeout_ms)
{
	struct timeval tv;

	conn_ev_clear(c);
	if (event_assign(&c->ev, c->w->base, fd, events, cb, c) == -1)
		return -1;
	c->ev_assigned = 1;
	tv = clock_ms_timeval(timeout_ms);
	return event_add(&c->ev, &tv);
}

static const struct config_limits *
conn_limits(const struct conn *c)
{
	return &c->sc->cfg->limits;
}

/* One event per decision (and per injection), from what the connection
 * knows now. */
static void
conn_event(struct conn *c, enum ctl_event_type type, const char *reason,
    uint64_t up, uint64_t down)
{
	struct ctl_event e;

	memset(&e, 0, sizeof(e));
	e.type = type;
	if (c->s != NULL) {
		snprintf(e.session, sizeof(e.session), "%s", c->s->id);
		snprintf(e.tenant, sizeof(e.tenant), "%s", c->s->tenant);
	}
	e.source = c->src;
	snprintf(e.host, sizeof(e.host), "%s", c->d.host);
	/* The binding's name, never anything else of it. */
	if (type == CTL_EVENT_SECRET_INJECTED && c->binding != NULL)
		snprintf(e.binding, sizeof(e.binding), "%s", c->binding->name);
	e.port = c->oport;
	e.proto = c->proto;
	snprintf(e.reason, sizeof(e.reason), "%s", reason);
	e.orig_dst.addr = c->odst;
	e.orig_dst.port = c->oport;
	if (c->d.have_connect) {
		e.connected.addr = c->d.connect;
		e.connected.port = c->oport;
	}
	e.bytes_up = up;
	e.bytes_down = down;
	events_emit(c->w->srv->events, &e);
	/* An injection is not a decision: the connection has its own. */
	if (type == CTL_EVENT_SECRET_INJECTED)
		return;
	metrics_decision(c->w->srv->metrics, type == CTL_EVENT_EGRESS_DENIED,
	    ctl_proto_name(c->proto), reason);
	metrics_bytes(c->w->srv->metrics, METRICS_UP, up);
	metrics_bytes(c->w->srv->metrics, METRICS_DOWN, down);
	if (type == CTL_EVENT_EGRESS_DENIED)
		atomic_fetch_add(&c->w->srv->denied_total, 1);
	else
		atomic_fetch_add(&c->w->srv->allowed_total, 1);
}

/* An RST, so a raw client sees a refusal rather than a clean end. */
static void
close_reset(int fd)
{
	struct linger lg = { 1, 0 };

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

static void
linger_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	char sink[4096];
	ssize_t n;

	if (what & EV_TIMEOUT) {
		conn_close(c);
		return;
	}
	n = read(fd, sink, sizeof(sink));
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		conn_close(c);
}

/*
 * Sends a short answer and closes gently: half-close, then discard what
 * the client still sends for a moment, so unread request bytes do not turn
 * our close into a reset that eats the answer.
 */
static void
conn_answer_and_close(struct conn *c, const void *msg, size_t len)
{
	if (len > 0 && write(c->cfd, msg, len) < 0)
		log_debug("answer to client: %s", strerror(errno));
	shutdown(c->cfd, SHUT_WR);
	c->state = CONN_LINGER;
	if (conn_ev_arm(c, c->cfd, EV_READ | EV_PERSIST, linger_read_cb,
	    LINGER_MS) == -1)
		conn_close(c);
}

/* The refusal each protocol understands: 403 text for HTTP, a fatal
 * alert for TLS, a reset for anything else. */
static void
conn_deny(struct conn *c, enum decide_reason reason, int http_status)
{
	const char *why = decide_reason_name(reason);
	uint8_t alert[7];
	char *resp;
	size_t len;

	decide_deny(&c->d, reason);
	conn_event(c, CTL_EVENT_EGRESS_DENIED, why, 0, 0);
	switch (c->proto) {
	case CTL_PROTO_HTTP:
		resp = httpflow_deny_response(http_status ? http_status : 403,
		    c->d.host, c->oport, why, &len);
		conn_answer_and_close(c, resp, resp ? len : 0);
		free(resp);
		return;
	case CTL_PROTO_TLS:
		len = tls_alert_record(alert, TLS_ALERT_FATAL,
		    reason == DECIDE_BAD_REQUEST ? TLS_ALERT_DECODE_ERROR :
		    TLS_ALERT_ACCESS_DENIED);
		conn_answer_and_close(c, alert, len);
		return;
	default:
		close_reset(c->cfd);
		c->cfd = -1;
		conn_close(c);
		return;
	}
}

static void
conn_relay_done(struct relay *r, const struct relay_result *res, void *arg)
{
	struct conn *c = arg;

	(void)r;
	conn_event(c, CTL_EVENT_EGRESS_ALLOWED, "allowed", res->bytes_up,
	    res->bytes_down);
	conn_close(c);
}

static void
http_denied_cb(void *arg, enum decide_reason reason, const char *host,
    uint16_t port, int status)
{
	struct conn *c = arg;
	char judged[sizeof(c->d.host)];
	uint16_t judged_port = c->oport;

	(void)status;
	/* The refused request's host names this event only: the connection
	 * still ends with an egress_allowed for the host it was allowed to
	 * reach, never for the one that was refused (keep-alive switching). */
	memcpy(judged, c->d.host, sizeof(judged));
	snprintf(c->d.host, sizeof(c->d.host), "%s", host);
	c->oport = port;
	conn_event(c, CTL_EVENT_EGRESS_DENIED, decide_reason_name(reason), 0, 0);
	memcpy(c->d.host, judged, sizeof(judged));
	c->oport = judged_port;
}

/* One secret_injected per request that carried the credential. */
static void
injected_cb(void *arg)
{
	conn_event(arg, CTL_EVENT_SECRET_INJECTED, "injected", 0, 0);
}

static void
http_done_cb(void *arg, uint64_t up, uint64_t down, int error)
{
	struct conn *c = arg;

	(void)error;
	conn_event(c, CTL_EVENT_EGRESS_ALLOWED, "allowed", up, down);
	conn_close(c);
}

static void conn_splice(struct conn *c);
static void conn_start_relay(struct conn *c);
static void conn_intercept(struct conn *c);
static void conn_wait_first(struct conn *c, event_callback_fn client_cb);
static int conn_first_spoke(struct conn *c, short what, event_callback_fn cb);
static void sniff_read_cb(evutil_socket_t fd, short what, void *arg);

/*
 * Reads the client through cb, bounded by the sniff timeout (the read
 * event's own timeout; it is replaced when the connection moves on).
 */
static int
conn_read_client(struct conn *c, event_callback_fn cb)
{
	return conn_ev_arm(c, c->cfd, EV_READ | EV_PERSIST, cb,
	    conn_limits(c)->sniff_timeout_ms);
}

/* The tunnel's first bytes: if they are a ClientHello, its SNI must name
 * the host CONNECT asked for, or the tunnel would carry another site. */
static void
tunnel_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	char sni[HOSTNAME_MAX + 1];
	enum sniff_kind k;
	enum tls_result r;
	ssize_t n;

	if (c->state == CONN_FIRST && conn_first_spoke(c, what, tunnel_read_cb) == -1)
		return;
	if ((what & EV_TIMEOUT) && c->len == 0) {
		conn_wait_first(c, tunnel_read_cb);
		return;
	}
	if (!(what & EV_TIMEOUT)) {
		n = read(fd, c->buf + c->len, c->cap - c->len);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			conn_event(c, CTL_EVENT_EGRESS_ALLOWED, "allowed", 0, 0);
			conn_close(c);
			return;
		}
		if (n < 0)
			return;
		c->len += (size_t)n;
	}
	k = sniff_classify((const uint8_t *)c->buf, c->len);
	if (k != SNIFF_TLS) {
		if (!(what & EV_TIMEOUT) && c->len < c->cap && k == SNIFF_NEED_MORE)
			return;
		if (k == SNIFF_HTTP) {
			/* Plain HTTP through the tunnel: each request's Host must
			 * still name what CONNECT asked for (the flow judges them
			 * all), or the tunnel would front another site on the
			 * same address. */
			c->proto = CTL_PROTO_HTTP;
			c->is_connect = 0;
			conn_start_relay(c);
			return;
		}
		c->proto = CTL_PROTO_TCP;
		conn_splice(c);
		return;
	}
	c->proto = CTL_PROTO_TLS;
	r = tls_parse_client_hello((const uint8_t *)c->buf, c->len, NULL, c->w->hello);
	if (r == TLS_NEED_MORE && !(what & EV_TIMEOUT) && c->len < c->cap)
		return;
	if (r == TLS_OK && c->w->hello->has_sni &&
	    (hostname_canon(c->w->hello->sni, c->w->hello->sni_len, sni, NULL) != 0 ||
	    strcmp(sni, c->d.host) != 0)) {
		char asked[HOSTNAME_MAX + 1];

		snprintf(asked, sizeof(asked), "%s", c->d.host);
		conn_set_host(c, c->w->hello->sni, c->w->hello->sni_len);
		log_debug("CONNECT %s carried a ClientHello for %s", asked, c->d.host);
		conn_deny(c, DECIDE_SNI_MISMATCH, 0);
		return;
	}
	if (r == TLS_BAD) {
		conn_deny(c, DECIDE_BAD_REQUEST, 0);
		return;
	}
	if (c->binding != NULL) {
		/* The tunnel's TLS is for a bound host: it takes its SNI
		 * (checked above, or absent: then CONNECT's name) as judged. */
		if (c->w->srv->intercept == NULL) {
			conn_deny(c, DECIDE_INTERCEPT_UNAVAILABLE, 0);
			return;
		}
		conn_intercept(c);
		return;
	}
	conn_splice(c);
}

/* CONNECT was allowed and the upstream answered: tell the client, then
 * look at what it sends through the tunnel before relaying it. */
static void
conn_open_tunnel(struct conn *c)
{
	static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";

	conn_ev_clear(c);
	if (write(c->cfd, ok, sizeof(ok) - 1) != (ssize_t)(sizeof(ok) - 1)) {
		conn_event(c, CTL_EVENT_EGRESS_ALLOWED, "allowed", 0, 0);
		conn_close(c);
		return;
	}
	c->len = 0;		/* the CONNECT request is not the tunnel's */
	c->state = CONN_TUNNEL;
	if (conn_read_client(c, tunnel_read_cb) == -1)
		conn_close(c);
}

static void
icpt_denied_cb(void *arg, enum decide_reason reason, int status)
{
	(void)status;
	conn_event(arg, CTL_EVENT_EGRESS_DENIED, decide_reason_name(reason), 0, 0);
}

static void
icpt_done_cb(void *arg, uint64_t up, uint64_t down, enum intercept_end end)
{
	struct conn *c = arg;

	switch (end) {
	case INTERCEPT_END_OK:
		conn_event(c, CTL_EVENT_EGRESS_ALLOWED, "allowed", up, down);
		break;
	case INTERCEPT_END_UPSTREAM_INVALID:
		/* A denial: the name was allowed, its server was not proven. */
		conn_event(c, CTL_EVENT_EGRESS_DENIED,
		    decide_reason_name(DECIDE_UPSTREAM_TLS_INVALID), 0, 0);
		break;
	case INTERCEPT_END_UPSTREAM_FAILED:
		metrics_error(c->w->srv->metrics, METRICS_ERR_CONNECT);
		conn_event(c, CTL_EVENT_EGRESS_ALLOWED, "upstream_unreachable",
		    up, down);
		break;
	case INTERCEPT_END_CLIENT_TLS:
		conn_event(c, CTL_EVENT_EGRESS_ALLOWED, "client_tls_failed", up,
		    down);
		break;
	case INTERCEPT_END_ERROR:
		conn_event(c, CTL_EVENT_EGRESS_ALLOWED, "proxy_error", up, down);
		break;
	}
	conn_close(c);
}

/*
 * The sniffed bytes belong to the relay now (each takes its own copy of
 * the prefix): a connection idle for hours must not keep its sniff buffer.
 */
static void
conn_drop_buf(struct conn *c)
{
	free(c->buf);
	c->buf = NULL;
	c->len = c->cap = 0;
}

/* A bound host over TLS: terminate it here, inject, relay (intercept.h). */
static void
conn_intercept(struct conn *c)
{
	static const struct intercept_cb icb = {
		icpt_denied_cb, injected_cb, icpt_done_cb
	};
	const struct config_limits *lim = conn_limits(c);
	struct intercept_opts io;
	struct http_limits hl;

	conn_ev_clear(c);
	c->state = CONN_RELAY;
	memset(&hl, 0, sizeof(hl));
	hl.max_head = lim->max_header_bytes;
	memset(&io, 0, sizeof(io));
	io.ctx = c->w->srv->intercept;
	io.mint = c->w->mint;
	io.prefix = c->buf;
	io.prefix_len = c->len;
	io.host = c->d.host;
	io.port = c->oport;
	io.binding = c->binding;
	io.limits = &hl;
	io.idle_ms = lim->idle_timeout_ms;
	io.handshake_ms = lim->connect_timeout_ms;
	c->ic = intercept_new(c->w->base, c->cfd, c->ufd, &io, &icb, c);
	c->cfd = c->ufd = -1;
	if (c->ic == NULL) {
		conn_event(c, CTL_EVENT_EGRESS_ALLOWED, "proxy_error", 0, 0);
		conn_close(c);
		return;
	}
	conn_drop_buf(c);
}

/* Upstream connected: hand both sockets to the relay that fits. */
static void
conn_start_relay(struct conn *c)
{
	const struct config_limits *lim = conn_limits(c);
	static const struct httpflow_cb hcb = {
		http_denied_cb, http_done_cb, injected_cb
	};
	struct httpflow_opts ho;
	struct http_limits hl;

	if (c->is_connect) {
		conn_open_tunnel(c);
		return;
	}
	if (c->proto == CTL_PROTO_TLS && c->binding != NULL) {
		conn_intercept(c);
		return;
	}
	if (c->proto == CTL_PROTO_TCP && c->len == 0) {
		conn_wait_first(c, sniff_read_cb);
		return;
	}
	conn_ev_clear(c);
	c->state = CONN_RELAY;
	if (c->proto == CTL_PROTO_HTTP) {
		memset(&hl, 0, sizeof(hl));
		hl.max_head = lim->max_header_bytes;
		hl.default_port = 80;
		memset(&ho, 0, sizeof(ho));
		ho.prefix = c->buf;
		ho.prefix_len = c->len;
		ho.limits = &hl;
		ho.host = c->d.host;
		ho.port = c->oport;
		ho.idle_ms = lim->idle_timeout_ms;
		/* Plain HTTP to a bound host: credentials are always
		 * stripped, the secret added only where allow_http says. */
		ho.binding = c->binding;
		ho.inject = c->binding != NULL && c->binding->allow_http;
		ho.pipes = c->w->pipes;
		c->hf = httpflow_new(c->w->base, c->cfd, c->ufd, &ho, &hcb, c);
		c->cfd = c->ufd = -1;
		if (c->hf == NULL) {
			conn_event(c, CTL_EVENT_EGRESS_ALLOWED, "proxy_error", 0, 0);
			conn_close(c);
			return;
		}
		conn_drop_buf(c);
		return;
	}
	conn_splice(c);
}

/* The upstream spoke before the client said a word: a server-first
 * protocol (SMTP, a database's greeting), relayed as the raw TCP it was
 * judged to be. */
static void
upstream_first_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	c->proto = CTL_PROTO_TCP;
	conn_splice(c);
}

/*
 * A client silent past the sniff timeout, toward a destination it may
 * reach: the upstream is connected, and whoever speaks first decides
 * (nobody within the idle timeout: closed). Were
 * the client's late bytes spliced unread, a request or ClientHello sent
 * after a pause would name any host on the same address unjudged (domain
 * fronting on a shared address, or out of a CONNECT tunnel).
 */
static void
conn_wait_first(struct conn *c, event_callback_fn client_cb)
{
	c->state = CONN_FIRST;
	if (conn_ev_arm(c, c->cfd, EV_READ | EV_PERSIST, client_cb,
	    conn_limits(c)->idle_timeout_ms) == -1)
		goto fail;
	c->uev = event_new(c->w->base, c->ufd, EV_READ, upstream_first_cb, c);
	if (c->uev == NULL || event_add(c->uev, NULL) == -1)
		goto fail;
	return;

fail:
	conn_event(c, CTL_EVENT_EGRESS_ALLOWED, "proxy_error", 0, 0);
	conn_close(c);
}

/*
 * The client spoke first after all. Its bytes are sniffed like any first
 * bytes, within the sniff timeout; -1 when there is nothing to sniff yet,
 * or the connection ended (nobody spoke, or the client left). Outside a
 * tunnel the upstream connected for silence is dropped unused: the bytes
 * are judged from the start, and what they name decides where the proxy
 * connects.
 */
static int
conn_first_spoke(struct conn *c, short what, event_callback_fn cb)
{
	char b;
	ssize_t n = 0;

	if (!(what & EV_TIMEOUT)) {
		n = recv(c->cfd, &b, 1, MSG_PEEK);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return -1;	/* not yet: the event comes again */
	}
	if (n <= 0) {
		/* Nobody spoke, or the client left without a word: the
		 * connection it was allowed ends here, audited as such. */
		conn_event(c, CTL_EVENT_EGRESS_ALLOWED, "allowed", 0, 0);
		conn_close(c);
		return -1;
	}
	if (!c->is_connect) {
		close(c->ufd);
		c->ufd = -1;
		c->state = CONN_SNIFF;
	} else {
		c->state = CONN_TUNNEL;
	}
	if (conn_read_client(c, cb) == -1) {
		conn_close(c);
		return -1;
	}
	return 0;
}

/* TLS and raw TCP: zero-copy from here on, sniffed bytes sent first. */
static void
conn_splice(struct conn *c)
{
	struct relay_opts ro;

	conn_ev_clear(c);
	c->state = CONN_RELAY;
	memset(&ro, 0, sizeof(ro));
	ro.prefix = c->buf;
	ro.prefix_len = c->len;
	ro.idle_ms = conn_limits(c)->idle_timeout_ms;
	ro.pipes = c->w->pipes;
	/* Accepted by evconnlistener (accept4 with SOCK_NONBLOCK), connected
	 * from socket(SOCK_NONBLOCK): no fcntl() needed to check. */
	ro.nonblocking = 1;
	c->relay = relay_new(c->w->base, c->cfd, c->ufd, &ro, conn_relay_done, c);
	if (c->relay == NULL) {
		conn_event(c, CTL_EVENT_EGRESS_ALLOWED, "proxy_error", 0, 0);
		conn_close(c);
		return;
	}
	c->cfd = c->ufd = -1;
	conn_drop_buf(c);
}

/* Allowed by policy, but the upstream could not be reached. */
static void
conn_upstream_failed(struct conn *c, int err)
{
	static const char bad_gateway[] =
	    "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\n"
	    "Connection: close\r\nContent-Length: 42\r\n\r\n"
	    "Enclave: the allowed host did not answer.\n";

	log_debug("connect upstream: %s", strerror(err));
	metrics_error(c->w->srv->metrics, METRICS_ERR_CONNECT);
	conn_event(c, CTL_EVENT_EGRESS_ALLOWED, "upstream_unreachable", 0, 0);
	if (c->proto == CTL_PROTO_HTTP) {
		conn_answer_and_close(c, bad_gateway, sizeof(bad_gateway) - 1);
		return;
	}
	close_reset(c->cfd);
	c->cfd = -1;
	conn_close(c);
}

static void
connect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	int err = 0;
	socklen_t el = sizeof(err);

	if (what & EV_TIMEOUT) {
		conn_upstream_failed(c, ETIMEDOUT);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == -1)
		err = errno;
	if (err != 0) {
		conn_upstream_failed(c, err);
		return;
	}
	conn_start_relay(c);
}

/* Connects to the address this proxy chose, never the client's pick. */
static void
conn_connect(struct conn *c)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1;

	sl = ip_to_sockaddr(&c->d.connect, c->oport, &ss);
	c->ufd = socket(c->d.connect.family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (sl == 0 || c->ufd == -1) {
		conn_upstream_failed(c, errno);
		return;
	}
	/* Relayed as they come: Nagle would hold a small write behind the
	 * upstream's delayed ACK (the client side has it from the listener). */
	(void)setsockopt(c->ufd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->ufd, (struct sockaddr *)&ss, sl) == -1 &&
	    errno != EINPROGRESS) {
		conn_upstream_failed(c, errno);
		return;
	}
	c->state = CONN_CONNECT;
	if (conn_ev_arm(c, c->ufd, EV_WRITE, connect_cb,
	    conn_limits(c)->connect_timeout_ms) == -1)
		conn_upstream_failed(c, ENOMEM);
}

static void
resolve_done_cb(const struct resolve_answer *ans, void *arg)
{
	struct conn *c = arg;
	struct decide_ctx ctx;
	size_t i;

	c->rreq = NULL;
	if (!ans->from_cache)
		metrics_resolver_latency(c->w->srv->metrics,
		    (clock_monotonic_ms() - c->resolve_start_ms) * 1000);
	if (ans->status != 0 && ans->status != ARES_ENOTFOUND &&
	    ans->status != ARES_ENODATA)
		metrics_error(c->w->srv->metrics, METRICS_ERR_RESOLVER);
	memset(&ctx, 0, sizeof(ctx));
	ctx.allow = c->s->allow;
	ctx.bound = c->s->bound;
	ctx.exempt = &c->sc->cfg->exempt;
	ctx.now_ms = clock_monotonic_ms();
	decide_addrs(&ctx, ans->addrs, ans->status == 0 ? ans->n : 0, &c->odst,
	    &c->d);
	if (c->d.reason != DECIDE_ALLOWED) {
		conn_deny(c, c->d.reason, 0);
		return;
	}
	/* These answers are what raw TCP and IP literals may reach later. */
	for (i = 0; i < ans->n; i++)
		if (!ip_class_blocked(ip_classify(&ans->addrs[i], ctx.exempt)))
			px_session_resolved_add(c->s, c->d.host, &ans->addrs[i],
			    ans->ttls[i], ctx.now_ms);
	conn_connect(c);
}

static void
conn_decided(struct conn *c)
{
	if (c->d.reason != DECIDE_ALLOWED) {
		conn_deny(c, c->d.reason, 0);
		return;
	}
	/* Only a name can be bound; an address literal never is. */
	if (c->d.need_resolve)
		c->binding = px_session_binding(c->s, c->d.host, c->oport);
	if (c->binding != NULL && c->proto == CTL_PROTO_TLS &&
	    c->w->srv->intercept == NULL) {
		/* Spliced, the request would reach the service without its
		 * credential and look like the sandbox's own: say why instead. */
		conn_deny(c, DECIDE_INTERCEPT_UNAVAILABLE, 0);
		return;
	}
	if (c->d.need_resolve) {
		c->state = CONN_RESOLVE;
		conn_ev_clear(c);
		c->resolve_start_ms = clock_monotonic_ms();
		c->rreq = resolver_lookup(c->w->resolver, c->d.host,
		    resolve_done_cb, c);
		return;
	}
	conn_connect(c);
}

static void
decide_ctx_init(struct conn *c, struct decide_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->allow = c->s->allow;
	ctx->bound = c->s->bound;
	ctx->exempt = &c->sc->cfg->exempt;
	ctx->resolved = &c->s->resolved;
	ctx->now_ms = clock_monotonic_ms();
}

/* Raw TCP, TLS without SNI, HTTP without Host: the destination alone. */
static void
judge_dest(struct conn *c)
{
	struct decide_ctx ctx;

	decide_ctx_init(c, &ctx);
	pthread_mutex_lock(&c->s->lock);
	decide_dest(&ctx, &c->odst, c->oport, &c->d);
	pthread_mutex_unlock(&c->s->lock);
	conn_decided(c);
}

/* The event's host for a name we will not use: canonical if it is one,
 * else printable and bounded. */
static void
conn_set_host(struct conn *c, const char *host, size_t len)
{
	size_t i, n = len < 64 ? len : 64;

	if (hostname_canon(host, len, c->d.host, NULL) != -1)
		return;
	for (i = 0; i < n; i++)
		c->d.host[i] = (host[i] > 0x20 && host[i] < 0x7f) ? host[i] : '?';
	c->d.host[n] = '\0';
}

static void
judge_name(struct conn *c, const char *host, size_t len)
{
	struct decide_ctx ctx;

	decide_ctx_init(c, &ctx);
	pthread_mutex_lock(&c->s->lock);
	decide_name(&ctx, host, len, c->oport, &c->d);
	pthread_mutex_unlock(&c->s->lock);
	if (c->d.host[0] == '\0')
		conn_set_host(c, host, len);
	conn_decided(c);
}

static void
judge_http(struct conn *c, const struct http_req *req)
{
	const char *host = c->buf + req->host.host.off;

	c->proto = CTL_PROTO_HTTP;
	if (req->method == HTTP_METHOD_TRACE) {
		/* TRACE echoes the request, credentials included, back. */
		if (req->host.present)
			conn_set_host(c, host, req->host.host.len);
		conn_deny(c, DECIDE_METHOD_NOT_ALLOWED, 405);
		return;
	}
	if (c->proxy_form && (req->method == HTTP_METHOD_CONNECT ||
	    req->form == HTTP_FORM_ABSOLUTE)) {
		/* A proxy request: the target names host and port; the
		 * connection's own destination is the proxy itself. */
		c->oport = req->host.port;
		c->is_connect = req->method == HTTP_METHOD_CONNECT;
	} else if (c->how == CONN_EXPLICIT) {
		conn_deny(c, DECIDE_BAD_REQUEST, 400);
		return;
	} else if (req->method == HTTP_METHOD_CONNECT) {
		/* CONNECT to a destination other than the proxy itself. */
		conn_set_host(c, host, req->host.host.len);
		conn_deny(c, DECIDE_METHOD_NOT_ALLOWED, 405);
		return;
	}
	if (!req->host.present) {
		judge_dest(c);
		return;
	}
	if (req->host.port != c->oport) {
		conn_set_host(c, host, req->host.host.len);
		conn_deny(c, DECIDE_HOST_PORT_MISMATCH, 0);
		return;
	}
	if (req->host.ip_literal) {
		char lit[HOSTNAME_MAX + 3];

		/* The parser stripped the brackets; decide_name wants them. */
		snprintf(lit, sizeof(lit), "[%.*s]", (int)req->host.host.len, host);
		judge_name(c, lit, strlen(lit));
		return;
	}
	judge_name(c, host, req->host.host.len);
}

static void
judge_tls(struct conn *c, const struct tls_hello *h)
{
	c->proto = CTL_PROTO_TLS;
	if (h->has_ech) {
		if (h->has_sni)
			conn_set_host(c, h->sni, h->sni_len);
		conn_deny(c, DECIDE_ECH, 0);
		return;
	}
	if (!h->has_sni) {
		judge_dest(c);
		return;
	}
	judge_name(c, h->sni, h->sni_len);
}

/* What the bytes so far say; returns 1 once a decision was started. */
static int
conn_sniff(struct conn *c, int final)
{
	struct http_req *req = c->w->req;	/* judged before we return */
	struct http_limits hl;
	enum sniff_kind k = sniff_classify((const uint8_t *)c->buf, c->len);

	if (k == SNIFF_HTTP) {
		c->proto = CTL_PROTO_HTTP;
		memset(&hl, 0, sizeof(hl));
		hl.max_head = c->cap;
		switch (http_parse_head(c->buf, c->len, &hl, req)) {
		case HTTP_OK:
			judge_http(c, req);
			return 1;
		case HTTP_BAD:
			conn_deny(c, DECIDE_BAD_REQUEST, req->status);
			return 1;
		default:
			if (!final && c->len < c->cap)
				return 0;
			conn_deny(c, DECIDE_BAD_REQUEST, c->len < c->cap ? 400 : 431);
			return 1;
		}
	}
	if (k == SNIFF_TLS) {
		c->proto = CTL_PROTO_TLS;
		switch (tls_parse_client_hello((const uint8_t *)c->buf, c->len,
		    NULL, c->w->hello)) {
		case TLS_OK:
			judge_tls(c, c->w->hello);
			return 1;
		case TLS_BAD:
			conn_deny(c, DECIDE_BAD_REQUEST, 0);
			return 1;
		default:
			if (!final && c->len < c->cap)
				return 0;
			conn_deny(c, DECIDE_BAD_REQUEST, 0);
			return 1;
		}
	}
	if (k == SNIFF_NEED_MORE && !final && c->len < c->cap)
		return 0;
	c->proto = CTL_PROTO_TCP;
	judge_dest(c);
	return 1;
}

/*
 * One read of the client's first bytes, and the verdict once they
 * suffice. -1: decided or closed (c may be gone); 0: more bytes are
 * needed, or none were there yet.
 */
static int
conn_sniff_read(struct conn *c)
{
	ssize_t n;

	n = read(c->cfd, c->buf + c->len, c->cap - c->len);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		/* Gone before saying anything we could judge. */
		conn_close(c);
		return -1;
	}
	if (n < 0)
		return 0;
	c->len += (size_t)n;
	/* An HTTP head can only complete at a newline: a client dribbling a
	 * byte at a time must not cost a full re-parse per byte. */
	if (c->len < c->cap && c->len > (size_t)n &&
	    sniff_classify((const uint8_t *)c->buf, c->len) == SNIFF_HTTP &&
	    memchr(c->buf + c->len - n, '\n', (size_t)n) == NULL)
		return 0;
	return conn_sniff(c, 0) == 1 ? -1 : 0;
}

static void
sniff_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	if (c->state == CONN_FIRST && conn_first_spoke(c, what, sniff_read_cb) == -1)
		return;
	if (what & EV_TIMEOUT) {
		/* Silent or unrecognised within the sniff timeout: raw TCP. */
		conn_sniff(c, 1);
		return;
	}
	(void)conn_sniff_read(c);
}

/*
 * The first read comes before any event: an HTTP or TLS client has
 * usually sent by the time we accept, and an event only to learn that
 * would cost an epoll_ctl() to add and one to drop. Only if nothing (or
 * not enough) is there yet does the sniff wait, within the sniff timeout.
 */
static void
conn_sniff_first(struct conn *c)
{
	if (conn_sniff_read(c) == -1)
		return;
	if (conn_read_client(c, sniff_read_cb) == -1)
		conn_close(c);
}

/* The destination the sandbox dialled, before the nft redirect. */
static int
original_dst(int fd, int family, struct ip_addr *dst, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int rc;

	if (family == AF_INET)
		rc = getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &ss, &sl);
	else
		rc = getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &ss, &sl);
	if (rc == -1)
		return -1;
	if (ip_from_sockaddr((struct sockaddr *)&ss, dst) == -1)
		return -1;
	*port = ss.ss_family == AF_INET ?
	    ntohs(((struct sockaddr_in *)&ss)->sin_port) :
	    ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

/* The proxy's own address on this connection. */
static int
local_addr(int fd, struct ip_addr *a, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1 ||
	    ip_from_sockaddr((struct sockaddr *)&ss, a) == -1)
		return -1;
	*port = ss.ss_family == AF_INET ?
	    ntohs(((struct sockaddr_in *)&ss)->sin_port) :
	    ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

void
conn_accept(struct worker *w, int fd, const struct sockaddr *peer,
    socklen_t peerlen, enum conn_listener how)
{
	struct conn *c;
	struct ip_addr self;
	uint16_t self_port;
	unsigned int cap;
	int rc;

	(void)peerlen;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close_reset(fd);
		return;
	}
	c->w = w;
	c->cfd = fd;
	c->ufd = -1;
	c->proto = CTL_PROTO_TCP;
	c->how = how;
	c->sc = server_config_get(w->srv);
	TAILQ_INSERT_TAIL(&w->conns, c, link);
	w->nconns++;
	metrics_conn_open(w->srv->metrics);
	/* Already non-blocking: evconnlistener accepts with accept4()'s
	 * SOCK_NONBLOCK (worker.c never asks it to leave sockets blocking). */
	rc = ip_from_sockaddr(peer, &c->src);
	if (rc == 0)
		rc = local_addr(fd, &self, &self_port);
	if (rc == 0 && how == CONN_EXPLICIT) {
		c->odst = self;
		c->oport = self_port;
		c->proxy_form = 1;
	} else if (rc == 0) {
		rc = original_dst(fd, peer->sa_family, &c->odst, &c->oport);
		/* A sandbox that dials the gateway itself is a proxy-aware
		 * client (HTTP_PROXY=gateway:port): nft redirected it here. */
		c->proxy_form = rc == 0 && ip_equal(&c->odst, &self);
	}
	if (rc == -1) {
		log_warn("accept: no original destination");
		close_reset(c->cfd);
		c->cfd = -1;
		conn_close(c);
		return;
	}
	c->sport = peer->sa_family == AF_INET ?
	    ntohs(((const struct sockaddr_in *)peer)->sin_port) :
	    ntohs(((const struct sockaddr_in6 *)peer)->sin6_port);
	ip_format(&c->odst, c->d.host, sizeof(c->d.host));

	if ((c->s = session_table_lookup(w->srv->sessions, &c->src)) == NULL) {
		conn_deny(c, DECIDE_UNKNOWN_SOURCE, 0);
		return;
	}
	/* Limits: a clean refusal with an event, never unbounded growth. */
	c->counted = 1;
	atomic_fetch_add(&w->srv->conns, 1);
	atomic_fetch_add(&c->s->conns, 1);
	if (atomic_load(&w->srv->conns) > conn_limits(c)->max_connections ||
	    atomic_load(&c->s->conns) > (c->s->max_connections ?
	    c->s->max_connections : conn_limits(c)->max_connections_per_session)) {
		conn_deny(c, DECIDE_LIMIT, 0);
		return;
	}
	cap = conn_limits(c)->sniff_max_bytes;
	if (cap > RELAY_PREFIX_MAX)
		cap = RELAY_PREFIX_MAX;
	c->cap = cap;
	if ((c->buf = malloc(cap)) == NULL) {
		conn_close(c);
		return;
	}
	conn_sniff_first(c);
}

/* The one teardown: every path of every connection ends here. */
static void
conn_close(struct conn *c)
{
	struct worker *w = c->w;

	if (c->rreq != NULL)
		resolve_cancel(c->rreq);
	relay_free(c->relay);
	httpflow_free(c->hf);
	intercept_free(c->ic);
	conn_ev_clear(c);
	if (c->cfd >= 0)
		close(c->cfd);
	if (c->ufd >= 0)
		close(c->ufd);
	if (c->counted) {
		atomic_fetch_sub(&w->srv->conns, 1);
		if (c->s != NULL)
			atomic_fetch_sub(&c->s->conns, 1);
	}
	px_session_unref(c->s);
	server_config_put(c->sc);
	free(c->buf);
	TAILQ_REMOVE(&w->conns, c, link);
	w->nconns--;
	metrics_conn_close(w->srv->metrics);
	free(c);
}

void
conn_close_all(struct worker *w)
{
	struct conn *c;

	while ((c = TAILQ_FIRST(&w->conns)) != NULL)
		conn_close(c);
}
