#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common/clock.h"
#include "common/hostname.h"
#include "common/log.h"
#include "proxyd/httpflow.h"
#include "proxyd/inject.h"
#include "proxyd/intercept.h"
#include "proxyd/mint.h"
#include "proxyd/tls.h"

/* Bytes queued toward one side before we stop reading the other. */
#define IC_HIGH (256 * 1024)
#define IC_LOW (64 * 1024)
/* Requests sent whose responses have not begun; more waits. */
#define IC_PENDING_MAX 32
/* Upstream bytes go through the redactor this many at a time. */
#define IC_CHUNK (16 * 1024)
/* How long a tail that might start the secret waits for the rest. */
#define IC_HOLD_MS 200

static const unsigned char ic_alpn_h11[] = "\x08http/1.1";

struct intercept_ctx {
	struct mint_ca	*ca;
	SSL_CTX		*client_side;	/* we are the server, for the sandbox */
	SSL_CTX		*upstream_side;	/* we are the client, for the origin */
	BIO_METHOD	*prefix_method;
};

enum ic_phase {
	IC_UP_HANDSHAKE = 0,
	IC_CL_HANDSHAKE,
	IC_RELAY,
	IC_DONE,
};

/* The client's stream: requests, framed. */
enum ic_cstate {
	C_HEAD = 0,
	C_BODY_LENGTH,
	C_BODY_CHUNKED,
	C_UPGRADE_WAIT,		/* an Upgrade request is out: hold the rest */
	C_OPAQUE,		/* after 101 */
	C_REFUSING,		/* a request was refused; nothing more goes up */
};

/* The upstream's stream: responses, framed but not changed. */
enum ic_rstate {
	R_HEAD = 0,
	R_BODY_LENGTH,
	R_BODY_CHUNKED,
	R_BODY_CLOSE,		/* until the server closes */
	R_OPAQUE,
};

struct ic_pending {
	uint8_t		head;		/* a HEAD request: no body comes back */
	uint8_t		upgrade;
};

struct intercept {
	struct event_base *base;
	struct intercept_ctx *ctx;
	struct mint_cache *mint;
	struct intercept_cb cb;
	void		*arg;
	int		 cfd;		/* raw until the client's TLS owns it */
	struct bufferevent *cl;
	struct bufferevent *up;
	char		*prefix;	/* ClientHello; the BIO takes it */
	size_t		 prefix_len;
	enum ic_phase	 phase;
	enum intercept_end end;
	enum ic_cstate	 cst;
	enum ic_rstate	 rst;
	int		 upgrade_after_body;
	int		 resp_upgrade;	/* the response being read answers one */
	uint64_t	 cbody_left;
	uint64_t	 rbody_left;
	struct http_chunked cchunk;
	struct http_chunked rchunk;
	struct ic_pending pending[IC_PENDING_MAX];
	size_t		 pfirst;
	size_t		 npending;
	struct http_limits limits;
	char		 host[HOSTNAME_MAX + 1];
	uint16_t	 port;
	const struct ctl_binding *binding;
	unsigned int	 idle_ms;
	unsigned int	 handshake_ms;
	struct event	*timer;
	struct event	*finish;	/* calls done from the loop */
	/* Upstream bytes pass the redactor into rin, which the response
	 * framing reads: the client never sees the injected credential
	 * reflected back (inject.h). */
	struct inject_redactor red;
	struct evbuffer	*rin;
	char		*scratch;	/* IC_CHUNK in, IC_CHUNK + maxlen out */
	size_t		 scratch_len;
	struct event	*hold_timer;
	uint64_t	 bytes_up;
	uint64_t	 bytes_down;
	int		 client_eof;
	int		 upstream_eof;
	int		 closing;	/* finish once the outputs drain */
	int		 clean;		/* ... with close_notify */
	char		*refusal;	/* the answer owed to a refused request */
	size_t		 refusal_len;
	struct http_req	 req;
};

/* --- a BIO that replays the sniffed ClientHello, then reads the socket */

struct ic_prefix {
	char	*buf;
	size_t	 len;
	size_t	 off;
};

static int
prefix_read(BIO *b, char *out, int outl)
{
	struct ic_prefix *p = BIO_get_data(b);
	BIO *next = BIO_next(b);
	size_t n;
	int r;

	BIO_clear_retry_flags(b);
	if (outl <= 0)
		return 0;
	if (p != NULL && p->off < p->len) {
		n = p->len - p->off;
		if (n > (size_t)outl)
			n = (size_t)outl;
		memcpy(out, p->buf + p->off, n);
		p->off += n;
		return (int)n;
	}
	if (next == NULL)
		return 0;
	r = BIO_read(next, out, outl);
	BIO_copy_next_retry(b);
	return r;
}

static int
prefix_write(BIO *b, const char *in, int inl)
{
	BIO *next = BIO_next(b);
	int r;

	BIO_clear_retry_flags(b);
	if (next == NULL)
		return 0;
	r = BIO_write(next, in, inl);
	BIO_copy_next_retry(b);
	return r;
}

static long
prefix_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct ic_prefix *p = BIO_get_data(b);
	BIO *next = BIO_next(b);
	long left = p != NULL ? (long)(p->len - p->off) : 0;

	switch (cmd) {
	case BIO_CTRL_PENDING:
		return left + (next != NULL ? BIO_ctrl(next, cmd, num, ptr) : 0);
	case BIO_CTRL_EOF:
		if (left > 0)
			return 0;
		break;
	}
	return next != NULL ? BIO_ctrl(next, cmd, num, ptr) : 0;
}

static int
prefix_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static int
prefix_destroy(BIO *b)
{
	struct ic_prefix *p = BIO_get_data(b);

	if (p != NULL) {
		free(p->buf);
		free(p);
		BIO_set_data(b, NULL);
	}
	return 1;
}

/* --- the shared context */

/* http/1.1 or nothing: the relay speaks HTTP/1.1 only. */
static int
ic_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	unsigned char *sel;

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto(&sel, outlen, ic_alpn_h11,
	    sizeof(ic_alpn_h11) - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

static const char *
ic_ssl_error(void)
{
	unsigned long e = ERR_get_error();
	const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return r != NULL ? r : "unknown error";
}

struct intercept_ctx *
intercept_ctx_new(const char *ca_cert, const char *ca_key,
    const char *upstream_ca, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	struct intercept_ctx *ctx;
	BIO_METHOD *m;

	if ((ctx = calloc(1, sizeof(*ctx))) == NULL) {
		snprintf(err, errlen, "intercept: out of memory");
		return NULL;
	}
	if ((ctx->ca = mint_ca_open(ca_cert, ca_key, uid, gid, err,
	    errlen)) == NULL)
		goto fail;

	ctx->client_side = SSL_CTX_new(TLS_server_method());
	if (ctx->client_side == NULL ||
	    SSL_CTX_set_min_proto_version(ctx->client_side, TLS1_2_VERSION) != 1)
		goto ssl_fail;
	/*
	 * No resumption: every connection gets a fresh, judged handshake.
	 * A peer that just closes is an end of stream, as libevent 2.1
	 * expects (OpenSSL 3 would call it an error); the response framing
	 * tells a truncated message from a finished one, and the client then
	 * gets no close_notify.
	 */
	SSL_CTX_set_options(ctx->client_side, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET |
	    SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_num_tickets(ctx->client_side, 0);
	SSL_CTX_set_session_cache_mode(ctx->client_side, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_alpn_select_cb(ctx->client_side, ic_alpn_select, NULL);

	ctx->upstream_side = SSL_CTX_new(TLS_client_method());
	if (ctx->upstream_side == NULL ||
	    SSL_CTX_set_min_proto_version(ctx->upstream_side, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_alpn_protos(ctx->upstream_side, ic_alpn_h11,
	    sizeof(ic_alpn_h11) - 1) != 0)
		goto ssl_fail;
	SSL_CTX_set_options(ctx->upstream_side, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_session_cache_mode(ctx->upstream_side, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_verify(ctx->upstream_side, SSL_VERIFY_PEER, NULL);
	if (upstream_ca != NULL && upstream_ca[0] != '\0') {
		/* Read now, while the file is still readable to us. */
		if (SSL_CTX_load_verify_locations(ctx->upstream_side, upstream_ca,
		    NULL) != 1) {
			snprintf(err, errlen, "upstream_ca %s: %s", upstream_ca,
			    ic_ssl_error());
			goto fail;
		}
	} else if (SSL_CTX_set_default_verify_paths(ctx->upstream_side) != 1) {
		snprintf(err, errlen, "intercept: no system CA store: %s",
		    ic_ssl_error());
		goto fail;
	}

	m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_FILTER,
	    "enclave sniffed prefix");
	if (m == NULL || BIO_meth_set_read(m, prefix_read) != 1 ||
	    BIO_meth_set_write(m, prefix_write) != 1 ||
	    BIO_meth_set_ctrl(m, prefix_ctrl) != 1 ||
	    BIO_meth_set_create(m, prefix_create) != 1 ||
	    BIO_meth_set_destroy(m, prefix_destroy) != 1) {
		BIO_meth_free(m);
		goto ssl_fail;
	}
	ctx->prefix_method = m;
	return ctx;
ssl_fail:
	snprintf(err, errlen, "intercept: TLS setup: %s", ic_ssl_error());
fail:
	intercept_ctx_free(ctx);
	return NULL;
}

void
intercept_ctx_free(struct intercept_ctx *ctx)
{
	if (ctx == NULL)
		return;
	SSL_CTX_free(ctx->client_side);
	SSL_CTX_free(ctx->upstream_side);
	BIO_meth_free(ctx->prefix_method);
	mint_ca_free(ctx->ca);
	free(ctx);
}

struct mint_cache *
intercept_cache_new(struct intercept_ctx *ctx, char *err, size_t errlen)
{
	return mint_cache_new(ctx->ca, MINT_CACHE_DEFAULT, err, errlen);
}

/* --- the flow */

static void ic_client_read(struct bufferevent *bev, void *arg);
static void ic_upstream_read(struct bufferevent *bev, void *arg);
static void ic_settle(struct intercept *ic);
static void ic_release_hold(struct intercept *ic);
static void ic_finish(struct intercept *ic, enum intercept_end end,
    int clean);

static void
ic_touch(struct intercept *ic)
{
	unsigned int ms = ic->phase == IC_RELAY ? ic->idle_ms : ic->handshake_ms;
	struct timeval tv;

	if (ms == 0)
		return;
	tv = clock_ms_timeval(ms);
	event_add(ic->timer, &tv);
}

/* OpenSSL's error queue is per thread: what one connection left behind
 * must not be blamed on the next. */
static void
ic_drain_errors(struct bufferevent *bev)
{
	if (bev != NULL)
		while (bufferevent_get_openssl_error(bev) != 0)
			;
	ERR_clear_error();
}

/*
 * The end, once: stop both sides now, report from the loop, so no
 * callback of ours runs on a flow its owner has freed.
 */
static void
ic_finish(struct intercept *ic, enum intercept_end end, int clean)
{
	if (ic->phase == IC_DONE)
		return;
	if (clean) {
		/* close_notify: a close-delimited body ends cleanly. */
		if (ic->cl != NULL)
			(void)SSL_shutdown(bufferevent_openssl_get_ssl(ic->cl));
		if (ic->up != NULL)
			(void)SSL_shutdown(bufferevent_openssl_get_ssl(ic->up));
		ERR_clear_error();
	}
	ic->phase = IC_DONE;
	ic->end = end;
	if (ic->cl != NULL)
		bufferevent_disable(ic->cl, EV_READ | EV_WRITE);
	if (ic->up != NULL)
		bufferevent_disable(ic->up, EV_READ | EV_WRITE);
	event_del(ic->timer);
	event_del(ic->hold_timer);
	event_active(ic->finish, EV_TIMEOUT, 0);
}

static void
ic_finish_cb(evutil_socket_t fd, short what, void *arg)
{
	struct intercept *ic = arg;

	(void)fd;
	(void)what;
	ic->cb.done(ic->arg, ic->bytes_up, ic->bytes_down, ic->end);
}

static void
ic_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct intercept *ic = arg;

	(void)fd;
	(void)what;
	switch (ic->phase) {
	case IC_UP_HANDSHAKE:
		log_debug("intercept %s: upstream handshake timed out", ic->host);
		ic_finish(ic, INTERCEPT_END_UPSTREAM_FAILED, 0);
		break;
	case IC_CL_HANDSHAKE:
		log_debug("intercept %s: client handshake timed out", ic->host);
		ic_finish(ic, INTERCEPT_END_CLIENT_TLS, 0);
		break;
	default:
		ic_finish(ic, INTERCEPT_END_OK, 0);
		break;
	}
}

static void
ic_hold_cb(evutil_socket_t fd, short what, void *arg)
{
	struct intercept *ic = arg;

	(void)fd;
	(void)what;
	if (ic->phase != IC_RELAY)
		return;
	ic_release_hold(ic);
	ic_upstream_read(ic->up, ic);
}

/* Should the client be read now? Only when its next bytes have somewhere
 * to go. */
static void
ic_client_flow(struct intercept *ic)
{
	int want = ic->phase == IC_RELAY && !ic->client_eof &&
	    ic->cst != C_REFUSING && ic->cst != C_UPGRADE_WAIT &&
	    !(ic->cst == C_HEAD && ic->npending == IC_PENDING_MAX) &&
	    evbuffer_get_length(bufferevent_get_output(ic->up)) < IC_HIGH;

	if (want)
		bufferevent_enable(ic->cl, EV_READ);
	else
		bufferevent_disable(ic->cl, EV_READ);
}

static void
ic_upstream_flow(struct intercept *ic)
{
	if (ic->phase == IC_RELAY && !ic->upstream_eof &&
	    evbuffer_get_length(bufferevent_get_output(ic->cl)) < IC_HIGH)
		bufferevent_enable(ic->up, EV_READ);
	else
		bufferevent_disable(ic->up, EV_READ);
}

static void
ic_up_move(struct intercept *ic, size_t n)
{
	evbuffer_remove_buffer(bufferevent_get_input(ic->cl),
	    bufferevent_get_output(ic->up), n);
	ic->bytes_up += n;
}

static void
ic_down_move(struct intercept *ic, size_t n)
{
	evbuffer_remove_buffer(ic->rin, bufferevent_get_output(ic->cl), n);
	ic->bytes_down += n;
}

/* The rewritten head leaves through the TLS layer; once written, the
 * copy of the secret in it is wiped. */
static void
ic_head_cleanup(const void *data, size_t len, void *arg)
{
	(void)arg;
	OPENSSL_cleanse((void *)data, len);
	free((void *)data);
}

static void
ic_refuse(struct intercept *ic, enum decide_reason reason, int status)
{
	if (ic->cst == C_REFUSING)
		return;
	ic->cst = C_REFUSING;
	ic->cb.denied(ic->arg, reason, status);
	ic->refusal = httpflow_deny_response(status, ic->host, ic->port,
	    decide_reason_name(reason), &ic->refusal_len);
	ic_client_flow(ic);
}

static void
ic_body_done(struct intercept *ic)
{
	ic->cst = ic->upgrade_after_body ? C_UPGRADE_WAIT : C_HEAD;
	ic->upgrade_after_body = 0;
}

static void
ic_request(struct intercept *ic)
{
	struct evbuffer *in = bufferevent_get_input(ic->cl);
	size_t avail = evbuffer_get_length(in), take;
	struct inject_request rq;
	struct inject_opts o;
	struct ic_pending *p;
	const char *buf;

	if (ic->npending == IC_PENDING_MAX)
		return;
	take = avail < ic->limits.max_head ? avail : ic->limits.max_head;
	if ((buf = (const char *)evbuffer_pullup(in, (ssize_t)take)) == NULL)
		return;
	memset(&o, 0, sizeof(o));
	o.limits = &ic->limits;
	o.host = ic->host;
	o.port = ic->port;
	o.binding = ic->binding;
	o.inject = 1;
	memset(&rq, 0, sizeof(rq));
	switch (inject_request(buf, take, &o, &ic->req, &rq)) {
	case INJECT_NEED_MORE:
		if (take >= ic->limits.max_head)
			ic_refuse(ic, DECIDE_BAD_REQUEST, 431);
		else if (ic->client_eof)	/* cut short: nothing to send */
			evbuffer_drain(in, avail);
		return;
	case INJECT_REFUSE:
		log_debug("intercept %s: request refused: %s", ic->host, rq.why);
		ic_refuse(ic, rq.reason, rq.status);
		return;
	case INJECT_ERROR:
		/* The binding's name only; never its fields. */
		log_warnx("intercept %s: binding %s cannot be injected", ic->host,
		    ic->binding->name);
		ic_finish(ic, INTERCEPT_END_ERROR, 0);
		return;
	case INJECT_FORWARD:
		break;
	}
	if (evbuffer_add_reference(bufferevent_get_output(ic->up), rq.head,
	    rq.head_len, ic_head_cleanup, NULL) == -1) {
		inject_request_clear(&rq);
		ic_finish(ic, INTERCEPT_END_ERROR, 0);
		return;
	}
	evbuffer_drain(in, rq.consumed);
	ic->bytes_up += rq.consumed;
	p = &ic->pending[(ic->pfirst + ic->npending++) % IC_PENDING_MAX];
	p->head = ic->req.method == HTTP_METHOD_HEAD;
	p->upgrade = (ic->req.conn & HTTP_CONN_UPGRADE) != 0;
	if (rq.injected)
		ic->cb.injected(ic->arg);
	ic->upgrade_after_body = p->upgrade;
	switch (ic->req.body) {
	case HTTP_BODY_LENGTH:
		ic->cbody_left = ic->req.content_length;
		if (ic->cbody_left > 0) {
			ic->cst = C_BODY_LENGTH;
			return;
		}
		break;
	case HTTP_BODY_CHUNKED:
		http_chunked_init(&ic->cchunk, 0);
		ic->cst = C_BODY_CHUNKED;
		return;
	default:
		break;
	}
	ic_body_done(ic);
}

static void
ic_client_chunked(struct intercept *ic)
{
	struct evbuffer *in = bufferevent_get_input(ic->cl);
	struct evbuffer_iovec v;
	enum http_result r;
	size_t used;

	if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
		return;
	r = http_chunked_feed(&ic->cchunk, v.iov_base, v.iov_len, &used);
	ic_up_move(ic, used);
	if (r == HTTP_DONE)
		ic_body_done(ic);
	else if (r == HTTP_BAD)
		ic_refuse(ic, DECIDE_BAD_REQUEST, 400);
}

/* Client bytes: requests judged and rewritten, bodies framed, in order. */
static void
ic_client_read(struct bufferevent *bev, void *arg)
{
	struct intercept *ic = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer *out;
	size_t before, n;

	if (ic->phase != IC_RELAY)
		return;
	ic_touch(ic);
	out = bufferevent_get_output(ic->up);
	while (ic->phase == IC_RELAY && (before = evbuffer_get_length(in)) > 0 &&
	    evbuffer_get_length(out) < IC_HIGH) {
		switch (ic->cst) {
		case C_HEAD:
			ic_request(ic);
			break;
		case C_BODY_LENGTH:
			n = before < ic->cbody_left ? before : (size_t)ic->cbody_left;
			ic_up_move(ic, n);
			if ((ic->cbody_left -= n) == 0)
				ic_body_done(ic);
			break;
		case C_BODY_CHUNKED:
			ic_client_chunked(ic);
			break;
		case C_OPAQUE:
			ic_up_move(ic, before);
			break;
		case C_UPGRADE_WAIT:
		case C_REFUSING:
			break;
		}
		if (evbuffer_get_length(in) == before)
			break;	/* needs more bytes, or a response first */
	}
	if (ic->phase != IC_RELAY)
		return;
	ic_client_flow(ic);
	ic_settle(ic);
}

/* Upstream bytes through the redactor, into rin. -1: out of memory. */
static int
ic_ingest(struct intercept *ic)
{
	struct evbuffer *in = bufferevent_get_input(ic->up);
	char *raw = ic->scratch, *clean = ic->scratch + IC_CHUNK;
	size_t n, m;
	struct timeval tv;

	while ((n = evbuffer_get_length(in)) > 0) {
		if (n > IC_CHUNK)
			n = IC_CHUNK;
		if (evbuffer_remove(in, raw, n) != (int)n)
			return -1;
		m = inject_redact_feed(&ic->red, raw, n, clean);
		OPENSSL_cleanse(raw, n);	/* it may hold the secret */
		if (m > 0 && evbuffer_add(ic->rin, clean, m) == -1)
			return -1;
	}
	if (ic->red.holdlen > 0 && !evtimer_pending(ic->hold_timer, NULL)) {
		tv.tv_sec = 0;
		tv.tv_usec = IC_HOLD_MS * 1000;
		evtimer_add(ic->hold_timer, &tv);
	} else if (ic->red.holdlen == 0) {
		evtimer_del(ic->hold_timer);
	}
	return 0;
}

/* The stream paused, ended, or reached a message boundary: what was held
 * back as a possible start of the secret goes out (masked if long). */
static void
ic_release_hold(struct intercept *ic)
{
	size_t m = inject_redact_flush(&ic->red, ic->scratch + IC_CHUNK);

	evtimer_del(ic->hold_timer);
	if (m > 0 && evbuffer_add(ic->rin, ic->scratch + IC_CHUNK, m) == -1)
		ic_finish(ic, INTERCEPT_END_ERROR, 0);
}

static size_t
ic_upstream_pending(struct intercept *ic)
{
	return evbuffer_get_length(ic->rin) + ic->red.holdlen +
	    evbuffer_get_length(bufferevent_get_input(ic->up));
}

static void
ic_response_done(struct intercept *ic)
{
	ic->rst = R_HEAD;
	/* An Upgrade the server declined: requests go on as before. */
	if (ic->resp_upgrade && ic->cst == C_UPGRADE_WAIT)
		ic->cst = C_HEAD;
	ic->resp_upgrade = 0;
}

/* Sends a 502 in place of a response we could not frame, and ends. */
static void
ic_bad_gateway(struct intercept *ic, const char *why)
{
	static const char resp[] =
	    "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\n"
	    "Connection: close\r\nContent-Length: 44\r\n\r\n"
	    "Enclave: the bound host's answer was bad.\r\n\r\n";

	log_debug("intercept %s: bad response: %s", ic->host, why);
	evbuffer_drain(bufferevent_get_input(ic->up),
	    evbuffer_get_length(bufferevent_get_input(ic->up)));
	evbuffer_drain(ic->rin, evbuffer_get_length(ic->rin));
	(void)inject_redact_flush(&ic->red, ic->scratch + IC_CHUNK);
	evtimer_del(ic->hold_timer);
	evbuffer_add(bufferevent_get_output(ic->cl), resp, sizeof(resp) - 1);
	ic->upstream_eof = 1;	/* nothing more is taken from it */
	ic->closing = 1;
	ic->clean = 1;
	free(ic->refusal);
	ic->refusal = NULL;
}

static void
ic_response(struct intercept *ic)
{
	struct evbuffer *in = ic->rin;
	size_t avail = evbuffer_get_length(in), take;
	struct inject_response resp;
	struct ic_pending *front;
	const char *buf;

	if (ic->npending == 0) {
		ic_bad_gateway(ic, "a response nobody asked for");
		return;
	}
	front = &ic->pending[ic->pfirst];
	take = avail < ic->limits.max_head ? avail : ic->limits.max_head;
	if ((buf = (const char *)evbuffer_pullup(in, (ssize_t)take)) == NULL)
		return;
	switch (inject_parse_response(buf, take, ic->limits.max_head, front->head,
	    &resp)) {
	case HTTP_NEED_MORE:
		if (ic->upstream_eof && ic->red.holdlen == 0)
			ic_bad_gateway(ic, "closed inside a response head");
		return;
	case HTTP_BAD:
		ic_bad_gateway(ic, resp.why);
		return;
	default:
		break;
	}
	ic_down_move(ic, resp.head_len);
	if (resp.status == 101) {
		if (!front->upgrade || ic->cst != C_UPGRADE_WAIT) {
			ic_bad_gateway(ic, "101 without an Upgrade request");
			return;
		}
		ic->pfirst = (ic->pfirst + 1) % IC_PENDING_MAX;
		ic->npending--;
		ic->rst = R_OPAQUE;
		ic->cst = C_OPAQUE;
		return;
	}
	if (resp.status < 200)
		return;		/* interim (100 Continue, 103): the final follows */
	ic->resp_upgrade = front->upgrade;
	ic->pfirst = (ic->pfirst + 1) % IC_PENDING_MAX;
	ic->npending--;
	switch (resp.body) {
	case INJECT_RBODY_LENGTH:
		ic->rbody_left = resp.content_length;
		ic->rst = R_BODY_LENGTH;
		break;
	case INJECT_RBODY_CHUNKED:
		http_chunked_init(&ic->rchunk, 0);
		ic->rst = R_BODY_CHUNKED;
		break;
	case INJECT_RBODY_CLOSE:
		ic->rst = R_BODY_CLOSE;
		break;
	default:
		ic_response_done(ic);
		break;
	}
}

static void
ic_upstream_chunked(struct intercept *ic)
{
	struct evbuffer *in = ic->rin;
	struct evbuffer_iovec v;
	enum http_result r;
	size_t used;

	if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
		return;
	r = http_chunked_feed(&ic->rchunk, v.iov_base, v.iov_len, &used);
	ic_down_move(ic, used);
	if (r == HTTP_DONE) {
		ic_response_done(ic);
	} else if (r == HTTP_BAD) {
		/* Part of the body is out already: cut, don't pretend. */
		log_debug("intercept %s: bad chunked response: %s", ic->host,
		    ic->rchunk.why);
		ic_finish(ic, INTERCEPT_END_OK, 0);
	}
}

/* Upstream bytes: passed on as they come, framed to know where each
 * response ends. */
static void
ic_upstream_read(struct bufferevent *bev, void *arg)
{
	struct intercept *ic = arg;
	struct evbuffer *in = ic->rin;
	struct evbuffer *out;
	size_t before, n;

	(void)bev;
	if (ic->phase != IC_RELAY)
		return;
	ic_touch(ic);
	if (ic_ingest(ic) == -1) {
		ic_finish(ic, INTERCEPT_END_ERROR, 0);
		return;
	}
	/* At the end of the stream nothing can complete the secret. */
	if (ic->red.holdlen > 0 && ic->upstream_eof)
		ic_release_hold(ic);
	out = bufferevent_get_output(ic->cl);
	for (;;) {
		/* Nor when a known body ends inside the held tail. */
		if (ic->red.holdlen > 0 && ic->rst == R_BODY_LENGTH &&
		    evbuffer_get_length(in) < ic->rbody_left &&
		    evbuffer_get_length(in) + ic->red.holdlen >= ic->rbody_left)
			ic_release_hold(ic);
		if (ic->phase != IC_RELAY || ic->closing ||
		    (before = evbuffer_get_length(in)) == 0 ||
		    evbuffer_get_length(out) >= IC_HIGH)
			break;
		switch (ic->rst) {
		case R_HEAD:
			ic_response(ic);
			break;
		case R_BODY_LENGTH:
			n = before < ic->rbody_left ? before : (size_t)ic->rbody_left;
			ic_down_move(ic, n);
			if ((ic->rbody_left -= n) == 0)
				ic_response_done(ic);
			break;
		case R_BODY_CHUNKED:
			ic_upstream_chunked(ic);
			break;
		case R_BODY_CLOSE:
		case R_OPAQUE:
			ic_down_move(ic, before);
			break;
		}
		if (evbuffer_get_length(in) == before)
			break;
	}
	if (ic->phase != IC_RELAY)
		return;
	ic_upstream_flow(ic);
	/* A response ended or a 101 came: held client bytes may move. */
	ic_client_flow(ic);
	if (evbuffer_get_length(bufferevent_get_input(ic->cl)) > 0 &&
	    (ic->cst == C_HEAD || ic->cst == C_OPAQUE))
		ic_client_read(ic->cl, ic);
	else
		ic_settle(ic);
}

/*
 * Decides whether the flow is over: a refusal is owed and everything
 * before it went out, the server closed, or the client closed with
 * nothing outstanding. It then ends once the outputs drain.
 */
static void
ic_settle(struct intercept *ic)
{
	struct evbuffer *clout, *upout, *clin;
	size_t upin;
	int idle;

	if (ic->phase != IC_RELAY)
		return;
	clout = bufferevent_get_output(ic->cl);
	upout = bufferevent_get_output(ic->up);
	clin = bufferevent_get_input(ic->cl);
	upin = ic_upstream_pending(ic);
	idle = ic->npending == 0 && ic->rst == R_HEAD && upin == 0;
	if (ic->refusal != NULL && idle && !ic->closing) {
		evbuffer_add(clout, ic->refusal, ic->refusal_len);
		free(ic->refusal);
		ic->refusal = NULL;
		ic->closing = 1;
		ic->clean = 1;
	}
	if (ic->upstream_eof && upin == 0 && !ic->closing) {
		ic->closing = 1;
		ic->clean = ic->rst == R_BODY_CLOSE || ic->rst == R_OPAQUE ||
		    (ic->rst == R_HEAD && ic->npending == 0);
	}
	if (ic->client_eof && !ic->closing && (ic->cst == C_REFUSING ||
	    evbuffer_get_length(clin) == 0)) {
		/* A body the client will never finish: the request is lost. */
		if (ic->cst == C_BODY_LENGTH || ic->cst == C_BODY_CHUNKED) {
			ic_finish(ic, INTERCEPT_END_OK, 0);
			return;
		}
		if (ic->cst == C_OPAQUE || idle) {
			ic->closing = 1;
			ic->clean = 1;
		}
	}
	if (ic->closing && evbuffer_get_length(clout) == 0 &&
	    (ic->upstream_eof || evbuffer_get_length(upout) == 0))
		ic_finish(ic, INTERCEPT_END_OK, ic->clean);
}

static void
ic_client_written(struct bufferevent *bev, void *arg)
{
	struct intercept *ic = arg;

	(void)bev;
	if (ic->phase != IC_RELAY)
		return;
	if (ic_upstream_pending(ic) > 0)
		ic_upstream_read(ic->up, ic);
	else {
		ic_upstream_flow(ic);
		ic_settle(ic);
	}
}

static void
ic_upstream_written(struct bufferevent *bev, void *arg)
{
	struct intercept *ic = arg;

	(void)bev;
	if (ic->phase != IC_RELAY)
		return;
	if (evbuffer_get_length(bufferevent_get_input(ic->cl)) > 0)
		ic_client_read(ic->cl, ic);
	else {
		ic_client_flow(ic);
		ic_settle(ic);
	}
}

static void
ic_relay_event(struct intercept *ic, int client, short what)
{
	struct bufferevent *bev = client ? ic->cl : ic->up;

	if (what & BEV_EVENT_ERROR) {
		log_debug("intercept %s: %s side: %s", ic->host,
		    client ? "client" : "upstream", errno ? strerror(errno) :
		    "TLS error");
		ic_drain_errors(bev);
		ic_finish(ic, INTERCEPT_END_OK, 0);
		return;
	}
	if (!(what & BEV_EVENT_EOF))
		return;
	if (client) {
		ic->client_eof = 1;
		bufferevent_disable(ic->cl, EV_READ);
		/* Requests it sent before closing still go up. */
		ic_client_read(ic->cl, ic);
		return;
	}
	ic->upstream_eof = 1;
	bufferevent_disable(ic->up, EV_READ);
	/* What is left of the last response still goes out (and what was
	 * held back: nothing can complete it now). */
	ic_upstream_read(ic->up, ic);
}

/* The client's TLS is up: start relaying. */
static void
ic_client_event(struct bufferevent *bev, short what, void *arg)
{
	struct intercept *ic = arg;

	if (ic->phase == IC_DONE)
		return;
	if (ic->phase == IC_CL_HANDSHAKE) {
		if (!(what & BEV_EVENT_CONNECTED)) {
			unsigned long e = bufferevent_get_openssl_error(bev);

			/* Usually a client that does not trust our CA. */
			log_debug("intercept %s: client handshake: %s", ic->host,
			    e != 0 ? ERR_reason_error_string(e) : "closed");
			ic_drain_errors(bev);
			ic_finish(ic, INTERCEPT_END_CLIENT_TLS, 0);
			return;
		}
		ic->phase = IC_RELAY;
		bufferevent_openssl_set_allow_dirty_shutdown(ic->cl, 1);
		ic_touch(ic);
		ic_upstream_flow(ic);
		ic_client_flow(ic);
		return;
	}
	ic_relay_event(ic, 1, what);
}

/* TLS toward the sandbox, from its ClientHello, with a leaf for host. */
static void
ic_client_start(struct intercept *ic)
{
	struct ic_prefix *p = NULL;
	BIO *sock = NULL, *filter = NULL;
	SSL *ssl = NULL;
	X509 *leaf;

	if ((leaf = mint_leaf(ic->mint, ic->host)) == NULL) {
		log_warnx("intercept %s: cannot mint a certificate", ic->host);
		goto fail;
	}
	if ((ssl = SSL_new(ic->ctx->client_side)) == NULL ||
	    SSL_use_certificate(ssl, leaf) != 1 ||
	    SSL_use_PrivateKey(ssl, mint_cache_key(ic->mint)) != 1)
		goto fail;
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (sock = BIO_new_socket(ic->cfd, BIO_NOCLOSE)) == NULL ||
	    (filter = BIO_new(ic->ctx->prefix_method)) == NULL)
		goto fail;
	p->buf = ic->prefix;
	p->len = ic->prefix_len;
	ic->prefix = NULL;
	BIO_set_data(filter, p);
	p = NULL;
	/* Reads: the ClientHello first, then the socket; writes: the socket,
	 * where libevent also finds the fd. */
	BIO_up_ref(sock);
	BIO_push(filter, sock);
	SSL_set_bio(ssl, filter, sock);
	filter = sock = NULL;
	ic->cl = bufferevent_openssl_socket_new(ic->base, ic->cfd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	/*
	 * libevent owns the SSL from here, and on failure may already have
	 * closed the socket: forget both rather than risk a second close of
	 * a number another thread may have reused (a leak, on out of
	 * memory only).
	 */
	ssl = NULL;
	ic->cfd = -1;
	if (ic->cl == NULL)
		goto fail;
	bufferevent_setcb(ic->cl, ic_client_read, ic_client_written,
	    ic_client_event, ic);
	bufferevent_setwatermark(ic->cl, EV_WRITE, IC_LOW, 0);
	bufferevent_enable(ic->cl, EV_WRITE);
	ic->phase = IC_CL_HANDSHAKE;
	ic_touch(ic);
	return;
fail:
	ERR_clear_error();
	free(p);
	BIO_free(filter);
	BIO_free(sock);
	SSL_free(ssl);
	if (ic->cfd >= 0) {
		uint8_t alert[TLS_ALERT_RECORD_LEN];

		tls_alert_record(alert, TLS_ALERT_FATAL, TLS_ALERT_INTERNAL_ERROR);
		if (write(ic->cfd, alert, sizeof(alert)) < 0)
			log_debug("intercept %s: alert: %s", ic->host,
			    strerror(errno));
	}
	ic_finish(ic, INTERCEPT_END_ERROR, 0);
}

/* The upstream answered its handshake: a verified chain for host, or a
 * denial. */
static void
ic_upstream_event(struct bufferevent *bev, short what, void *arg)
{
	struct intercept *ic = arg;
	uint8_t alert[TLS_ALERT_RECORD_LEN];
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	unsigned long e;
	long vr;

	if (ic->phase == IC_DONE)
		return;
	if (ic->phase == IC_CL_HANDSHAKE) {
		/* Gone before the client was ready: nothing was relayed. */
		ic_drain_errors(bev);
		ic_finish(ic, INTERCEPT_END_UPSTREAM_FAILED, 0);
		return;
	}
	if (ic->phase == IC_RELAY) {
		ic_relay_event(ic, 0, what);
		return;
	}
	vr = SSL_get_verify_result(ssl);
	if ((what & BEV_EVENT_CONNECTED) && vr == X509_V_OK &&
	    SSL_get0_peer_certificate(ssl) != NULL) {
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
		ic_client_start(ic);
		return;
	}
	e = bufferevent_get_openssl_error(bev);
	if (vr != X509_V_OK || e != 0 || (what & BEV_EVENT_CONNECTED)) {
		log_info("intercept %s: upstream TLS refused: %s", ic->host,
		    vr != X509_V_OK ? X509_verify_cert_error_string(vr) :
		    e != 0 ? ERR_reason_error_string(e) : "no certificate");
		/* The client still waits for a ServerHello: a plaintext alert
		 * is what it understands, as for any TLS denial. */
		tls_alert_record(alert, TLS_ALERT_FATAL, TLS_ALERT_ACCESS_DENIED);
		if (write(ic->cfd, alert, sizeof(alert)) < 0)
			log_debug("intercept %s: alert: %s", ic->host,
			    strerror(errno));
		shutdown(ic->cfd, SHUT_WR);
		ic_drain_errors(bev);
		ic_finish(ic, INTERCEPT_END_UPSTREAM_INVALID, 0);
		return;
	}
	log_debug("intercept %s: upstream handshake: %s", ic->host,
	    (what & BEV_EVENT_EOF) ? "closed" : errno ? strerror(errno) : "failed");
	ic_drain_errors(bev);
	ic_finish(ic, INTERCEPT_END_UPSTREAM_FAILED, 0);
}

struct intercept *
intercept_new(struct event_base *base, int client_fd, int upstream_fd,
    const struct intercept_opts *opts, const struct intercept_cb *cb,
    void *arg)
{
	struct intercept *ic;
	SSL *ssl = NULL;

	if ((ic = calloc(1, sizeof(*ic))) == NULL)
		goto fail;
	ic->base = base;
	ic->ctx = opts->ctx;
	ic->mint = opts->mint;
	ic->cb = *cb;
	ic->arg = arg;
	ic->cfd = client_fd;
	client_fd = -1;
	ic->limits = *opts->limits;
	if (ic->limits.max_head == 0)
		ic->limits.max_head = HTTP_HEAD_MAX_DEFAULT;
	snprintf(ic->host, sizeof(ic->host), "%s", opts->host);
	ic->port = opts->port;
	ic->binding = opts->binding;
	ic->idle_ms = opts->idle_ms;
	ic->handshake_ms = opts->handshake_ms;
	if ((ic->prefix = malloc(opts->prefix_len ? opts->prefix_len : 1)) == NULL)
		goto fail;
	memcpy(ic->prefix, opts->prefix, opts->prefix_len);
	ic->prefix_len = opts->prefix_len;
	if ((ic->timer = evtimer_new(base, ic_timer_cb, ic)) == NULL ||
	    (ic->hold_timer = evtimer_new(base, ic_hold_cb, ic)) == NULL ||
	    (ic->finish = event_new(base, -1, 0, ic_finish_cb, ic)) == NULL ||
	    (ic->rin = evbuffer_new()) == NULL)
		goto fail;
	if (inject_redactor_init(&ic->red, ic->binding) == -1)
		goto fail;
	ic->scratch_len = 2 * IC_CHUNK + ic->red.maxlen;
	if ((ic->scratch = malloc(ic->scratch_len)) == NULL)
		goto fail;

	if ((ssl = SSL_new(ic->ctx->upstream_side)) == NULL ||
	    SSL_set_tlsext_host_name(ssl, ic->host) != 1 ||
	    SSL_set1_host(ssl, ic->host) != 1)
		goto fail;
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	ic->up = bufferevent_openssl_socket_new(base, upstream_fd, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	ssl = NULL;		/* as in ic_client_start() */
	upstream_fd = -1;
	if (ic->up == NULL)
		goto fail;
	bufferevent_setcb(ic->up, ic_upstream_read, ic_upstream_written,
	    ic_upstream_event, ic);
	bufferevent_setwatermark(ic->up, EV_WRITE, IC_LOW, 0);
	bufferevent_enable(ic->up, EV_WRITE);
	ic->phase = IC_UP_HANDSHAKE;
	ic_touch(ic);
	return ic;
fail:
	ERR_clear_error();
	SSL_free(ssl);
	if (client_fd >= 0)
		close(client_fd);
	if (upstream_fd >= 0)
		close(upstream_fd);
	intercept_free(ic);
	return NULL;
}

void
intercept_free(struct intercept *ic)
{
	if (ic == NULL)
		return;
	if (ic->timer != NULL)
		event_free(ic->timer);
	if (ic->hold_timer != NULL)
		event_free(ic->hold_timer);
	if (ic->finish != NULL)
		event_free(ic->finish);
	if (ic->cl != NULL)
		bufferevent_free(ic->cl);
	if (ic->up != NULL)
		bufferevent_free(ic->up);
	if (ic->cfd >= 0)
		close(ic->cfd);
	if (ic->rin != NULL)
		evbuffer_free(ic->rin);
	inject_redactor_fini(&ic->red);
	if (ic->scratch != NULL) {
		OPENSSL_cleanse(ic->scratch, ic->scratch_len);
		free(ic->scratch);
	}
	free(ic->prefix);
	free(ic->refusal);
	free(ic);
}
