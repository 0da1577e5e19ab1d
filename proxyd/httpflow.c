#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "proxyd/httpflow.h"
#include "proxyd/inject.h"

/* Bytes queued toward one side before we stop reading the other. */
#define HF_HIGH (256 * 1024)
#define HF_LOW (64 * 1024)
/* With a credential injected, responses pass the redactor in pieces this
 * big; a tail that might start the secret waits this long for the rest. */
#define HF_CHUNK (16 * 1024)
#define HF_HOLD_MS 200
/* Responses: read in pieces this big once a read came back full (libevent
 * reads 4 KiB at a time), at most HF_READ_BUDGET per callback. */
#define HF_READ_MORE 4096
#define HF_READ_CHUNK (64 * 1024)
#define HF_READ_BUDGET (256 * 1024)

enum hf_state {
	HF_HEAD = 0,		/* waiting for the next request head */
	HF_BODY_LENGTH,
	HF_BODY_CHUNKED,
	HF_OPAQUE,		/* after an Upgrade: bytes, not requests */
	HF_REFUSING,		/* a request was refused; finishing up */
};

struct httpflow {
	struct event_base *base;
	struct bufferevent *cl;		/* client */
	struct bufferevent *up;		/* upstream */
	/* Client bytes not yet forwarded: the sniffed prefix, then whatever
	 * the socket delivers (a bufferevent's input cannot be prepended to). */
	struct evbuffer *cin;
	struct http_limits limits;
	struct httpflow_cb cb;
	void *arg;
	const struct ctl_binding *binding;
	int inject;
	/* Set when inject: the credential never comes back (inject.h). */
	struct inject_redactor red;
	char *scratch;			/* HF_CHUNK in, HF_CHUNK + maxlen out */
	size_t scratch_len;
	struct event *hold_timer;
	enum hf_state state;
	uint64_t body_left;
	struct http_chunked chunked;
	char host[HOSTNAME_MAX + 1];
	uint16_t port;
	unsigned int idle_ms;
	struct event *idle;
	uint64_t bytes_up;
	uint64_t bytes_down;
	int client_eof;
	int upstream_eof;
	int done;
	char *refusal;			/* answer owed to the client */
	size_t refusal_len;
	int batching;			/* hf_client_read: upstream written at its end */
	/* No parsed request kept here: it is 3 KiB, needed only while one
	 * head is judged (hf_head), and every idle keep-alive would hold it. */
};

int
httpflow_host_key(const char *buf, const struct http_req *req,
    char out[HOSTNAME_MAX + 1])
{
	const char *h = buf + req->host.host.off;
	size_t len = req->host.host.len;
	struct ip_addr a;
	int rc;

	if (!req->host.present)
		return -1;
	rc = hostname_canon(h, len, out, NULL);
	if (rc == HOSTNAME_OK)
		return 0;
	if (ip_parse(h, len, &a, NULL) == 0 &&
	    ip_format(&a, out, HOSTNAME_MAX + 1) == 0)
		return 0;
	return -1;
}

char *
httpflow_deny_response(int status, const char *host, uint16_t port,
    const char *reason, size_t *len)
{
	const char *text = status == 400 ? "Bad Request" :
	    status == 405 ? "Method Not Allowed" :
	    status == 421 ? "Misdirected Request" :
	    status == 502 ? "Bad Gateway" :
	    status == 431 ? "Request Header Fields Too Large" :
	    status == 501 ? "Not Implemented" : "Forbidden";
	char body[512], *out = NULL;
	int n;

	/* Agents read this: it must say it is policy, not a network fault. */
	n = snprintf(body, sizeof(body),
	    "{\"error\":\"egress_denied\",\"by\":\"enclave egress policy\","
	    "\"host\":\"%s\",\"port\":%u,\"reason\":\"%s\"}\n",
	    host, (unsigned int)port, reason);
	if (n < 0 || (size_t)n >= sizeof(body))
		return NULL;
	n = asprintf(&out, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
	    "Content-Length: %d\r\nConnection: close\r\n"
	    "X-Enclave-Reason: %s\r\n\r\n%s", status, text, n, reason, body);
	if (n < 0)
		return NULL;
	*len = (size_t)n;
	return out;
}

static void hf_finish(struct httpflow *hf, int error);

static void
hf_touch(struct httpflow *hf)
{
	struct timeval tv;

	if (hf->idle_ms == 0)
		return;
	tv.tv_sec = hf->idle_ms / 1000;
	tv.tv_usec = (hf->idle_ms % 1000) * 1000;
	event_add(hf->idle, &tv);
}

static void
idle_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	hf_finish(arg, ETIMEDOUT);
}

static void
hf_finish(struct httpflow *hf, int error)
{
	if (hf->done)
		return;
	hf->done = 1;
	bufferevent_disable(hf->cl, EV_READ | EV_WRITE);
	bufferevent_disable(hf->up, EV_READ | EV_WRITE);
	event_del(hf->idle);
	if (hf->hold_timer != NULL)
		event_del(hf->hold_timer);
	hf->cb.done(hf->arg, hf->bytes_up, hf->bytes_down, error);
}

/*
 * Moves n bytes of src toward one side. With nothing queued there they
 * are written to its socket at once (a bufferevent would arm EPOLLOUT,
 * wait a loop turn, write, and disarm it: two epoll_ctl per response);
 * whatever the socket does not take, or an error, is left to the
 * bufferevent as before, behind which nothing can overtake it.
 */
static void
hf_send(struct bufferevent *to, struct evbuffer *src, size_t n)
{
	struct evbuffer *out = bufferevent_get_output(to);
	int w;

	if (n > 0 && evbuffer_get_length(out) == 0) {
		w = evbuffer_write_atmost(src, bufferevent_getfd(to), (ssize_t)n);
		if (w > 0)
			n -= (size_t)w;
	}
	if (n > 0)
		evbuffer_remove_buffer(src, out, n);
}

/* Queues n bytes of the client's input for the upstream; hf_flush_up
 * sends them. */
static void
hf_forward_up(struct httpflow *hf, size_t n)
{
	evbuffer_remove_buffer(hf->cin, bufferevent_get_output(hf->up), n);
	hf->bytes_up += n;
}

/*
 * What one hf_client_read queued for the upstream goes out in one write,
 * as the bufferevent's one writev would, and what the socket does not
 * take through the bufferevent. Never a head on its own ahead of its
 * body: a server that answers a bad head at once and closes would find
 * the body unread and reset the connection, losing what proxyd owes.
 */
static void
hf_flush_up(struct httpflow *hf)
{
	struct evbuffer *out = bufferevent_get_output(hf->up);
	int fd = bufferevent_getfd(hf->up);

	hf->batching = 0;
	if (hf->done || evbuffer_get_length(out) == 0)
		return;
	(void)evbuffer_write(out, fd);
	if (evbuffer_get_length(out) > 0)
		bufferevent_enable(hf->up, EV_WRITE);
	else if (hf->client_eof || hf->state == HF_REFUSING)
		shutdown(fd, SHUT_WR);	/* as hf_upstream_written would */
}

static void hf_refuse(struct httpflow *hf, enum decide_reason reason,
    const char *host, uint16_t port, int status);

/* The rewritten head replaces the client's; once sent, its copy of the
 * secret is wiped. */
static void
hf_head_cleanup(const void *data, size_t len, void *arg)
{
	(void)arg;
	OPENSSL_cleanse((void *)data, len);
	free((void *)data);
}

/* A request to a bound host: the client's credentials out, the binding's
 * in when the flow may inject. -1 once the request was refused. */
static int
hf_forward_bound(struct httpflow *hf, const char *buf,
    const struct http_req *req)
{
	struct inject_request rq;

	memset(&rq, 0, sizeof(rq));
	if (inject_rewrite_head(buf, req, hf->binding, hf->inject,
	    &rq) == -1 || evbuffer_add_reference(bufferevent_get_output(hf->up),
	    rq.head, rq.head_len, hf_head_cleanup, NULL) == -1) {
		inject_request_clear(&rq);
		hf_refuse(hf, DECIDE_PROXY_ERROR, hf->host, hf->port, 502);
		return -1;
	}
	evbuffer_drain(hf->cin, req->head_len);
	hf->bytes_up += req->head_len;
	if (rq.injected && hf->cb.injected != NULL)
		hf->cb.injected(hf->arg);
	return 0;
}

/*
 * A later request for another host (or an unusable one): stop taking
 * requests, let the upstream finish what it owes, then answer.
 */
static void
hf_refuse(struct httpflow *hf, enum decide_reason reason, const char *host,
    uint16_t port, int status)
{
	hf->state = HF_REFUSING;
	hf->cb.denied(hf->arg, reason, host, port, status);
	hf->refusal = httpflow_deny_response(status, host, port,
	    decide_reason_name(reason), &hf->refusal_len);
	bufferevent_disable(hf->cl, EV_READ);
	/* No more requests go up; the server ends its side when done. */
	if (evbuffer_get_length(bufferevent_get_output(hf->up)) == 0)
		shutdown(bufferevent_getfd(hf->up), SHUT_WR);
}

static void
hf_head(struct httpflow *hf)
{
	struct evbuffer *in = hf->cin;
	size_t avail = evbuffer_get_length(in), take;
	char key[HOSTNAME_MAX + 1], shown[72];
	struct http_req req;
	const char *buf;
	enum http_result r;

	take = avail < hf->limits.max_head ? avail : hf->limits.max_head;
	if ((buf = (const char *)evbuffer_pullup(in, (ssize_t)take)) == NULL)
		return;
	r = http_parse_head(buf, take, &hf->limits, &req);
	if (r == HTTP_NEED_MORE) {
		if (take >= hf->limits.max_head)
			hf_refuse(hf, DECIDE_BAD_REQUEST, hf->host, hf->port, 431);
		return;
	}
	if (r == HTTP_BAD) {
		hf_refuse(hf, DECIDE_BAD_REQUEST, hf->host, hf->port,
		    req.status);
		return;
	}
	if (httpflow_host_key(buf, &req, key) == -1 ||
	    strcmp(key, hf->host) != 0 || req.host.port != hf->port ||
	    req.method == HTTP_METHOD_CONNECT) {
		size_t n = req.host.host.len < 64 ? req.host.host.len : 64, i;

		for (i = 0; i < n; i++) {
			char ch = buf[req.host.host.off + i];

			shown[i] = (ch > 0x20 && ch < 0x7f && ch != '"' && ch != '\\') ? ch : '?';
		}
		shown[n] = '\0';
		hf_refuse(hf, DECIDE_HOST_CHANGED, req.host.present ? shown : "",
		    req.host.port, 403);
		return;
	}
	if (req.method == HTTP_METHOD_TRACE) {
		/* It echoes the request back: an injected credential, or one
		 * a proxy further on adds. */
		hf_refuse(hf, DECIDE_METHOD_NOT_ALLOWED, hf->host, hf->port, 405);
		return;
	}
	if (hf->binding != NULL) {
		if (hf_forward_bound(hf, buf, &req) == -1)
			return;
	} else {
		hf_forward_up(hf, req.head_len);
	}
	switch (req.body) {
	case HTTP_BODY_LENGTH:
		hf->body_left = req.content_length;
		hf->state = hf->body_left ? HF_BODY_LENGTH : HF_HEAD;
		break;
	case HTTP_BODY_CHUNKED:
		http_chunked_init(&hf->chunked, 0);
		hf->state = HF_BODY_CHUNKED;
		break;
	default:
		hf->state = HF_HEAD;
		break;
	}
	if (req.conn & HTTP_CONN_UPGRADE)
		hf->state = HF_OPAQUE;
}

static void
hf_chunked(struct httpflow *hf)
{
	struct evbuffer *in = hf->cin;
	struct evbuffer_iovec v;
	size_t used;
	enum http_result r;

	while (hf->state == HF_BODY_CHUNKED && evbuffer_get_length(in) > 0) {
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			return;
		r = http_chunked_feed(&hf->chunked, v.iov_base, v.iov_len, &used);
		hf_forward_up(hf, used);
		if (r == HTTP_DONE)
			hf->state = HF_HEAD;
		else if (r == HTTP_BAD)
			hf_refuse(hf, DECIDE_BAD_REQUEST, hf->host, hf->port, 400);
	}
}

/* Client bytes: requests are parsed and judged, bodies framed, all
 * forwarded in order. Stops when the upstream is too far behind. */
static void
hf_client_read(struct bufferevent *bev, void *arg)
{
	struct httpflow *hf = arg;
	struct evbuffer *in = hf->cin;
	size_t before;

	hf_touch(hf);
	if (hf->state != HF_REFUSING)
		evbuffer_add_buffer(in, bufferevent_get_input(bev));
	hf->batching = 1;
	while (!hf->done && evbuffer_get_length(in) > 0 &&
	    evbuffer_get_length(bufferevent_get_output(hf->up)) < HF_HIGH) {
		before = evbuffer_get_length(in);
		switch (hf->state) {
		case HF_HEAD:
			hf_head(hf);
			break;
		case HF_BODY_LENGTH: {
			size_t n = before < hf->body_left ? before : (size_t)hf->body_left;

			hf_forward_up(hf, n);
			hf->body_left -= n;
			if (hf->body_left == 0)
				hf->state = HF_HEAD;
			break;
		}
		case HF_BODY_CHUNKED:
			hf_chunked(hf);
			break;
		case HF_OPAQUE:
			hf_forward_up(hf, before);
			break;
		case HF_REFUSING:
			hf_flush_up(hf);
			return;
		}
		if (evbuffer_get_length(in) == before)
			break;	/* need more bytes */
	}
	hf_flush_up(hf);
	if (evbuffer_get_length(bufferevent_get_output(hf->up)) >= HF_HIGH)
		bufferevent_disable(hf->cl, EV_READ);
}

/* Responses when a credential went up: through the redactor. */
static void
hf_down_redacted(struct httpflow *hf, struct evbuffer *in)
{
	struct evbuffer *out = bufferevent_get_output(hf->cl);
	char *raw = hf->scratch, *clean = hf->scratch + HF_CHUNK;
	struct timeval tv;
	size_t n, m;

	while ((n = evbuffer_get_length(in)) > 0) {
		if (n > HF_CHUNK)
			n = HF_CHUNK;
		if (evbuffer_remove(in, raw, n) != (int)n)
			break;
		m = inject_redact_feed(&hf->red, raw, n, clean);
		OPENSSL_cleanse(raw, n);
		evbuffer_add(out, clean, m);
		hf->bytes_down += m;
	}
	if (hf->red.holdlen > 0 && !evtimer_pending(hf->hold_timer, NULL)) {
		tv.tv_sec = 0;
		tv.tv_usec = HF_HOLD_MS * 1000;
		evtimer_add(hf->hold_timer, &tv);
	}
}

/* Nothing more came (or will): the held tail goes out, masked if long. */
static void
hf_release_hold(struct httpflow *hf)
{
	size_t m;

	if (hf->scratch == NULL)
		return;
	evtimer_del(hf->hold_timer);
	m = inject_redact_flush(&hf->red, hf->scratch + HF_CHUNK);
	evbuffer_add(bufferevent_get_output(hf->cl), hf->scratch + HF_CHUNK, m);
	hf->bytes_down += m;
}

static void
hold_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	hf_release_hold(arg);
}

/*
 * The rest of what the upstream has sent, read here in large pieces: a
 * bufferevent reads at most 4 KiB per loop turn (libevent's
 * EVBUFFER_MAX_READ), three syscalls and a turn per 4 KiB of a download.
 * Written on at once when nothing is queued for the client, else queued
 * behind it. End of stream is left for the bufferevent to see (the
 * socket stays readable); a read error ends the flow, as it would there.
 * -1 when the flow ended (hf may be gone).
 */
static int
hf_upstream_more(struct httpflow *hf)
{
	static _Thread_local char chunk[HF_READ_CHUNK];
	struct evbuffer *out = bufferevent_get_output(hf->cl);
	int ufd = bufferevent_getfd(hf->up), cfd = bufferevent_getfd(hf->cl);
	size_t moved = 0;
	ssize_t n, w;

	/* Whatever the bufferevent read must go first. */
	if (evbuffer_get_length(bufferevent_get_input(hf->up)) > 0)
		return 0;
	while (moved < HF_READ_BUDGET && evbuffer_get_length(out) < HF_HIGH) {
		n = read(ufd, chunk, sizeof(chunk));
		if (n <= 0) {
			if (n == 0 || errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				return 0;
			hf_finish(hf, errno);
			return -1;
		}
		w = 0;
		if (evbuffer_get_length(out) == 0 &&
		    (w = send(cfd, chunk, (size_t)n, MSG_NOSIGNAL)) < 0)
			w = 0;		/* the bufferevent meets the error */
		if (w < n && evbuffer_add(out, chunk + w, (size_t)(n - w)) == -1) {
			hf_finish(hf, ENOMEM);
			return -1;
		}
		hf->bytes_down += (uint64_t)n;
		moved += (size_t)n;
	}
	return 0;
}

static void
hf_upstream_read(struct bufferevent *bev, void *arg)
{
	struct httpflow *hf = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n = evbuffer_get_length(in);

	hf_touch(hf);
	if (hf->scratch != NULL) {
		hf_down_redacted(hf, in);
	} else {
		hf_send(hf->cl, in, n);
		hf->bytes_down += n;
		/* A full 4 KiB read: likely more behind it (not after the
		 * end of stream: hf_event flushes the input, nothing more). */
		if (n >= HF_READ_MORE && !hf->upstream_eof &&
		    hf_upstream_more(hf) == -1)
			return;
	}
	if (evbuffer_get_length(bufferevent_get_output(hf->cl)) >= HF_HIGH)
		bufferevent_disable(hf->up, EV_READ);
}

/* A side's output drained: resume the other side, pass on an EOF, or
 * deliver the refusal once the upstream has said all it will. */
static void
hf_client_written(struct bufferevent *bev, void *arg)
{
	struct httpflow *hf = arg;
	struct evbuffer *out = bufferevent_get_output(bev);

	(void)bev;
	if (hf->upstream_eof && evbuffer_get_length(out) == 0) {
		if (hf->refusal != NULL) {
			evbuffer_add(out, hf->refusal, hf->refusal_len);
			free(hf->refusal);
			hf->refusal = NULL;
			return;		/* called again once it is sent */
		}
		shutdown(bufferevent_getfd(hf->cl), SHUT_WR);
		if (hf->client_eof || hf->state == HF_REFUSING)
			hf_finish(hf, 0);
		return;
	}
	if (!hf->upstream_eof && evbuffer_get_length(out) < HF_LOW)
		bufferevent_enable(hf->up, EV_READ);
}

static void
hf_upstream_written(struct bufferevent *bev, void *arg)
{
	struct httpflow *hf = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) > 0)
		return;
	if (hf->client_eof || hf->state == HF_REFUSING) {
		shutdown(bufferevent_getfd(bev), SHUT_WR);
		return;
	}
	bufferevent_enable(hf->cl, EV_READ);
	hf_client_read(hf->cl, hf);
}

static void
hf_event(struct httpflow *hf, int client, short what)
{
	if (what & BEV_EVENT_ERROR) {
		hf_finish(hf, errno ? errno : ECONNRESET);
		return;
	}
	if (!(what & BEV_EVENT_EOF))
		return;
	if (client) {
		hf->client_eof = 1;
		if (hf->state == HF_HEAD && evbuffer_get_length(hf->cin) > 0)
			hf_refuse(hf, DECIDE_BAD_REQUEST, hf->host, hf->port, 400);
		if (evbuffer_get_length(bufferevent_get_output(hf->up)) == 0)
			shutdown(bufferevent_getfd(hf->up), SHUT_WR);
		if (hf->upstream_eof &&
		    evbuffer_get_length(bufferevent_get_output(hf->cl)) == 0)
			hf_finish(hf, 0);
		return;
	}
	hf->upstream_eof = 1;
	/* Whatever is left for the client goes out first. */
	hf_upstream_read(hf->up, hf);
	hf_release_hold(hf);
	hf_client_written(hf->cl, hf);
}

static void
hf_client_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	hf_event(arg, 1, what);
}

static void
hf_upstream_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	hf_event(arg, 0, what);
}

/*
 * Something was queued toward a side (hf_send could not write it all, a
 * rewritten head, a refusal): let its bufferevent write it. EV_WRITE is
 * not enabled up front: armed on an empty output it costs each side an
 * EPOLLOUT armed and disarmed (two epoll_ctl) for nothing.
 */
static void
hf_queued(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct httpflow *hf = arg;

	if (info->n_added == 0)
		return;
	if (buf == bufferevent_get_output(hf->cl))
		bufferevent_enable(hf->cl, EV_WRITE);
	else if (!hf->batching)
		bufferevent_enable(hf->up, EV_WRITE);
}

struct httpflow *
httpflow_new(struct event_base *base, int client_fd, int upstream_fd,
    const struct httpflow_opts *opts, const struct httpflow_cb *cb, void *arg)
{
	struct httpflow *hf;

	if ((hf = calloc(1, sizeof(*hf))) == NULL)
		goto fail;
	hf->base = base;
	hf->cb = *cb;
	hf->arg = arg;
	hf->binding = opts->binding;
	hf->inject = opts->inject && opts->binding != NULL;
	hf->limits = *opts->limits;
	if (hf->limits.max_head == 0)
		hf->limits.max_head = HTTP_HEAD_MAX_DEFAULT;
	snprintf(hf->host, sizeof(hf->host), "%s", opts->host);
	hf->port = opts->port;
	hf->idle_ms = opts->idle_ms;
	hf->cl = bufferevent_socket_new(base, client_fd, BEV_OPT_CLOSE_ON_FREE);
	if (hf->cl == NULL)
		goto fail;
	client_fd = -1;
	hf->up = bufferevent_socket_new(base, upstream_fd, BEV_OPT_CLOSE_ON_FREE);
	if (hf->up == NULL)
		goto fail;
	upstream_fd = -1;
	if ((hf->idle = evtimer_new(base, idle_cb, hf)) == NULL)
		goto fail;
	if (hf->inject) {
		if (inject_redactor_init(&hf->red, hf->binding) == -1 ||
		    (hf->hold_timer = evtimer_new(base, hold_cb, hf)) == NULL)
			goto fail;
		hf->scratch_len = 2 * HF_CHUNK + hf->red.maxlen;
		if ((hf->scratch = malloc(hf->scratch_len)) == NULL)
			goto fail;
	}
	bufferevent_setcb(hf->cl, hf_client_read, hf_client_written,
	    hf_client_event, hf);
	bufferevent_setcb(hf->up, hf_upstream_read, hf_upstream_written,
	    hf_upstream_event, hf);
	if ((hf->cin = evbuffer_new()) == NULL ||
	    evbuffer_add(hf->cin, opts->prefix, opts->prefix_len) == -1 ||
	    evbuffer_add_cb(bufferevent_get_output(hf->cl), hf_queued,
	    hf) == NULL ||
	    evbuffer_add_cb(bufferevent_get_output(hf->up), hf_queued,
	    hf) == NULL)
		goto fail;
	bufferevent_enable(hf->cl, EV_READ);
	bufferevent_enable(hf->up, EV_READ);
	hf_touch(hf);
	/* The first request is already here: send it on. */
	hf_client_read(hf->cl, hf);
	return hf;
fail:
	if (client_fd >= 0)
		close(client_fd);
	if (upstream_fd >= 0)
		close(upstream_fd);
	httpflow_free(hf);
	return NULL;
}

void
httpflow_free(struct httpflow *hf)
{
	if (hf == NULL)
		return;
	if (hf->idle != NULL)
		event_free(hf->idle);
	if (hf->hold_timer != NULL)
		event_free(hf->hold_timer);
	inject_redactor_fini(&hf->red);
	if (hf->scratch != NULL) {
		OPENSSL_cleanse(hf->scratch, hf->scratch_len);
		free(hf->scratch);
	}
	if (hf->cl != NULL) {
		evbuffer_remove_cb(bufferevent_get_output(hf->cl), hf_queued,
		    hf);
		bufferevent_free(hf->cl);
	}
	if (hf->up != NULL) {
		evbuffer_remove_cb(bufferevent_get_output(hf->up), hf_queued,
		    hf);
		bufferevent_free(hf->up);
	}
	if (hf->cin != NULL)
		evbuffer_free(hf->cin);
	free(hf->refusal);
	free(hf);
}
