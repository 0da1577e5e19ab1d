#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/event_struct.h>
#include <openssl/crypto.h>

#include "common/clock.h"
#include "proxyd/httpflow.h"
#include "proxyd/inject.h"
#include "proxyd/relay.h"

/*
 * Why no bufferevents: a keep-alive request through two of them cost ten
 * syscalls (FIONREAD before every read, EPOLLOUT armed and disarmed around
 * every write) and an idle connection ~1.6 KiB of bufferevent, evbuffers
 * and retained chains. Here each socket has one edge-triggered event,
 * registered once for reading and writing and never changed; what the
 * socket can do is remembered in flags (set by the event, cleared when a
 * call would block), every read lands in one per-thread buffer, and a
 * flow keeps heap memory only for bytes it could not pass on yet.
 *
 * Responses are framed, not judged: only so that the answer to an
 * Upgrade request is known to be a 101 before the client's later bytes
 * stop being parsed as requests (a declined Upgrade must not turn the
 * rest of the connection into an unjudged tunnel), and so that a large
 * body can be spliced exactly to its end.
 */

/* Bytes queued toward one side before we stop reading the other. */
#define HF_HIGH (256 * 1024)
/* One read; a full one means more is likely behind it. */
#define HF_READ (64 * 1024)
/* Bytes one callback moves before it yields the loop to other flows. */
#define HF_BUDGET (1024 * 1024)
/* With a credential injected, responses pass the redactor in pieces this
 * big; a tail that might start the secret waits this long for the rest. */
#define HF_CHUNK (16 * 1024)
#define HF_HOLD_MS 200
/* Requests sent and not yet answered; a client that pipelines more waits. */
#define HF_PIPELINE 32
/* A response head longer than this can't be framed. */
#define HF_RESP_HEAD_MAX (64 * 1024)

enum hf_state {
	HF_HEAD = 0,		/* waiting for the next request head */
	HF_BODY_LENGTH,
	HF_BODY_CHUNKED,
	HF_UPGRADE_WAIT,	/* an Upgrade request is out: hold the rest */
	HF_OPAQUE,		/* after a 101: bytes, not requests */
	HF_REFUSING,		/* a request was refused; finishing up */
};

/* Where the response stream is. */
enum hf_rstate {
	RS_HEAD = 0,		/* the next response head (or bytes of it) */
	RS_LENGTH,		/* rleft bytes of body */
	RS_CHUNKED,
	RS_CLOSE,		/* body until the server closes, or after 101 */
	RS_BROKEN,		/* unframeable: no request may follow */
};

/* What a response needs to know of the request it answers. */
#define HF_REQ_HEAD	0x1	/* no body, whatever the head says */
#define HF_REQ_UPGRADE	0x2

/* Bytes waiting for a socket (or, cin, for the rest of a head); the
 * memory exists only while bytes do. */
struct hf_q {
	char *p;
	size_t off;
	size_t len;
	size_t cap;
	int secret;		/* may hold the injected credential: wiped */
};

/* Only flows that inject carry this (most flows never do). */
struct hf_inject {
	/* The credential never comes back (inject.h). */
	struct inject_redactor red;
	struct event hold;
	char clean[];		/* HF_CHUNK + maxlen: what the redactor wrote */
};

struct httpflow {
	int cfd;
	int ufd;
	struct event cev;
	struct event uev;
	/* Idle timeout, re-armed lazily from last_ms; also delivers an end
	 * that happened inside httpflow_new. */
	struct event timer;
	struct hf_q cin;		/* client bytes not yet judged */
	struct hf_q qup;		/* toward the upstream */
	struct hf_q qcl;		/* toward the client */
	/* Large responses are spliced: a pipe from the worker's pool, held
	 * from the first large response on. */
	struct relay_pipes *pipes;
	int pipe[2];
	size_t inpipe;
	struct http_limits limits;
	struct httpflow_cb cb;
	void *arg;
	const struct ctl_binding *binding;
	struct hf_inject *inj;
	enum hf_state state;
	uint64_t body_left;
	struct http_chunked chunked;
	int upgrade_after_body;
	/* Requests sent, oldest first (HF_REQ_*), and the responses' frame. */
	uint8_t sent[HF_PIPELINE];
	unsigned int sent_first;
	unsigned int sent_n;
	enum hf_rstate rstate;
	uint64_t rleft;
	struct http_chunked rchunked;
	struct hf_q rhead;		/* a response head cut by a read */
	const char *host;		/* the judged one; the caller's */
	uint16_t port;
	unsigned int idle_ms;
	uint64_t last_ms;
	uint64_t bytes_up;
	uint64_t bytes_down;
	char *refusal;			/* answer owed to the client */
	size_t refusal_len;
	int end_error;			/* an end inside httpflow_new */
	/* What each socket can do, as far as we know (edge-triggered);
	 * bytes, not bits, so hf_recv can clear them. */
	unsigned char cl_rd;
	unsigned char up_rd;
	unsigned int cl_wr : 1;
	unsigned int up_wr : 1;
	unsigned int client_eof : 1;
	unsigned int upstream_eof : 1;
	unsigned int cl_shut : 1;
	unsigned int up_shut : 1;
	unsigned int cin_stalled : 1;	/* cin waits: upstream full, too many
					   requests out, or an Upgrade's answer */
	unsigned int bulk : 1;		/* responses are large: splice */
	unsigned int no_splice : 1;
	unsigned int starting : 1;	/* inside httpflow_new */
	unsigned int done : 1;
	/* No parsed request kept here: it is 3 KiB, needed only while one
	 * head is judged (hf_head), and every idle keep-alive would hold it. */
};

/* Every read lands here first; a flow copies out only what must wait. */
static _Thread_local char hf_chunk[HF_READ];

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

/* Room for n more bytes. A queue that may hold the secret never leaves a
 * copy behind in memory it gives up (realloc could). */
static int
q_reserve(struct hf_q *q, size_t n)
{
	size_t cap;
	char *p;

	if (q->off + q->len + n <= q->cap)
		return 0;
	if (q->len + n <= q->cap && q->off > 0) {
		memmove(q->p, q->p + q->off, q->len);
		if (q->secret)
			OPENSSL_cleanse(q->p + q->len, q->off);
		q->off = 0;
		return 0;
	}
	cap = q->cap ? q->cap : 1024;
	while (cap < q->len + n)
		cap *= 2;
	if ((p = malloc(cap)) == NULL)
		return -1;
	if (q->len > 0)
		memcpy(p, q->p + q->off, q->len);
	if (q->p != NULL) {
		if (q->secret)
			OPENSSL_cleanse(q->p, q->cap);
		free(q->p);
	}
	q->p = p;
	q->off = 0;
	q->cap = cap;
	return 0;
}

static int
q_add(struct hf_q *q, const void *data, size_t n)
{
	if (n == 0)
		return 0;
	if (q_reserve(q, n) == -1)
		return -1;
	memcpy(q->p + q->off + q->len, data, n);
	q->len += n;
	return 0;
}

static void
q_free(struct hf_q *q)
{
	if (q->p != NULL && q->secret)
		OPENSSL_cleanse(q->p, q->cap);
	free(q->p);
	q->p = NULL;
	q->off = q->len = q->cap = 0;
}

/* Empty queues give their memory back: an idle keep-alive holds none. */
static void
q_drain(struct hf_q *q, size_t n)
{
	if (n == 0)
		return;
	if (q->secret)
		OPENSSL_cleanse(q->p + q->off, n);
	q->off += n;
	q->len -= n;
	if (q->len == 0)
		q_free(q);
}

/* The end, once: the owner hears of it (and frees the flow in the
 * callback: nothing may touch hf after this returns -1). Inside
 * httpflow_new it is delivered from the loop instead, as the owner does
 * not hold the flow yet. */
static int
hf_finish(struct httpflow *hf, int error)
{
	struct timeval now = { 0, 0 };

	if (hf->done)
		return -1;
	hf->done = 1;
	event_del(&hf->cev);
	event_del(&hf->uev);
	if (hf->inj != NULL)
		event_del(&hf->inj->hold);
	if (hf->starting) {
		hf->end_error = error;
		event_add(&hf->timer, &now);
		return -1;
	}
	event_del(&hf->timer);
	hf->cb.done(hf->arg, hf->bytes_up, hf->bytes_down, error);
	return -1;
}

/* Something moved: the idle clock starts again. */
static void
hf_touch(struct httpflow *hf)
{
	hf->last_ms = clock_monotonic_ms();
}

static void
hf_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpflow *hf = arg;
	struct timeval tv;
	uint64_t quiet;

	(void)fd;
	(void)what;
	if (hf->done) {		/* an end from inside httpflow_new */
		hf->cb.done(hf->arg, hf->bytes_up, hf->bytes_down,
		    hf->end_error);
		return;
	}
	quiet = clock_monotonic_ms() - hf->last_ms;
	if (quiet >= hf->idle_ms) {
		(void)hf_finish(hf, ETIMEDOUT);
		return;
	}
	tv = clock_ms_timeval(hf->idle_ms - quiet);
	event_add(&hf->timer, &tv);
}

/* Bytes of a request go up (counted as sent; they are on their way). */
static int
hf_forward_up(struct httpflow *hf, const char *p, size_t n)
{
	if (q_add(&hf->qup, p, n) == -1)
		return -1;
	hf->bytes_up += n;
	return 0;
}

/*
 * A later request for another host (or an unusable one): stop taking
 * requests, let the upstream finish what it owes, then answer. host may
 * be hf->host, which the owner's callback may rewrite for its event.
 */
static void
hf_refuse(struct httpflow *hf, enum decide_reason reason, const char *host,
    uint16_t port, int status)
{
	char name[HOSTNAME_MAX + 1];

	if (hf->state == HF_REFUSING)
		return;		/* one answer per connection */
	snprintf(name, sizeof(name), "%s", host);
	hf->state = HF_REFUSING;
	hf->cin_stalled = 0;
	hf->cb.denied(hf->arg, reason, name, port, status);
	hf->refusal = httpflow_deny_response(status, name, port,
	    decide_reason_name(reason), &hf->refusal_len);
	/* Nothing more of the client's is read (hf_ends drops what came
	 * after the refused head) and the upstream's way in is closed once
	 * what was queued before it is sent. */
}

/* A request to a bound host: the client's credentials out, the binding's
 * in when the flow may inject. -1 once the request was refused. */
static int
hf_forward_bound(struct httpflow *hf, const char *buf,
    const struct http_req *req)
{
	struct inject_request rq;
	int rc, injected;

	memset(&rq, 0, sizeof(rq));
	rc = inject_rewrite_head(buf, req, hf->binding, hf->inj != NULL, &rq);
	if (rc == 0)
		rc = q_add(&hf->qup, rq.head, rq.head_len);
	injected = rq.injected;
	inject_request_clear(&rq);	/* wipes its copy of the secret */
	if (rc == -1) {
		hf_refuse(hf, DECIDE_PROXY_ERROR, hf->host, hf->port, 502);
		return -1;
	}
	hf->bytes_up += req->head_len;
	if (injected && hf->cb.injected != NULL)
		hf->cb.injected(hf->arg);
	return 0;
}

/* A request went up whole: the next one, or after an Upgrade request
 * nothing until its answer says whether the protocol switched. */
static void
hf_request_done(struct httpflow *hf)
{
	hf->state = hf->upgrade_after_body ? HF_UPGRADE_WAIT : HF_HEAD;
	hf->upgrade_after_body = 0;
}

/* The head at buf: judged, forwarded (rewritten for a bound host), its
 * body's framing noted. Bytes it took: 0 for more bytes, or after a
 * refusal. */
static size_t
hf_head(struct httpflow *hf, const char *buf, size_t avail)
{
	size_t take = avail < hf->limits.max_head ? avail : hf->limits.max_head;
	char key[HOSTNAME_MAX + 1], shown[72];
	struct http_req req;
	enum http_result r;

	r = http_parse_head(buf, take, &hf->limits, &req);
	if (r == HTTP_NEED_MORE) {
		if (take >= hf->limits.max_head)
			hf_refuse(hf, DECIDE_BAD_REQUEST, hf->host, hf->port, 431);
		return 0;
	}
	if (r == HTTP_BAD) {
		hf_refuse(hf, DECIDE_BAD_REQUEST, hf->host, hf->port,
		    req.status);
		return 0;
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
		return 0;
	}
	if (req.method == HTTP_METHOD_TRACE) {
		/* It echoes the request back: an injected credential, or one
		 * a proxy further on adds. */
		hf_refuse(hf, DECIDE_METHOD_NOT_ALLOWED, hf->host, hf->port, 405);
		return 0;
	}
	if (hf->binding != NULL) {
		if (hf_forward_bound(hf, buf, &req) == -1)
			return 0;
	} else if (hf_forward_up(hf, buf, req.head_len) == -1) {
		hf_refuse(hf, DECIDE_PROXY_ERROR, hf->host, hf->port, 502);
		return 0;
	}
	hf->sent[(hf->sent_first + hf->sent_n++) % HF_PIPELINE] =
	    (req.method == HTTP_METHOD_HEAD ? HF_REQ_HEAD : 0) |
	    ((req.conn & HTTP_CONN_UPGRADE) ? HF_REQ_UPGRADE : 0);
	hf->upgrade_after_body = (req.conn & HTTP_CONN_UPGRADE) != 0;
	switch (req.body) {
	case HTTP_BODY_LENGTH:
		hf->body_left = req.content_length;
		hf->state = HF_BODY_LENGTH;
		if (hf->body_left == 0)
			hf_request_done(hf);
		break;
	case HTTP_BODY_CHUNKED:
		http_chunked_init(&hf->chunked, 0);
		hf->state = HF_BODY_CHUNKED;
		break;
	default:
		hf_request_done(hf);
		break;
	}
	return req.head_len;
}

/*
 * Client bytes: requests parsed and judged, bodies framed so that no
 * request hides inside another, all queued for the upstream in order.
 * Returns how many were taken; the rest waits for more bytes (cin) or
 * for the upstream to catch up (cin_stalled).
 */
static size_t
hf_take(struct httpflow *hf, const char *buf, size_t len)
{
	size_t used = 0, n;
	enum http_result r;

	hf->cin_stalled = 0;
	while (used < len && hf->state != HF_REFUSING) {
		if (hf->qup.len >= HF_HIGH) {
			hf->cin_stalled = 1;
			break;
		}
		n = 0;
		switch (hf->state) {
		case HF_HEAD:
			if (hf->rstate == RS_BROKEN) {
				/* Its answer could not be told apart. */
				hf_refuse(hf, DECIDE_PROXY_ERROR, hf->host,
				    hf->port, 502);
				break;
			}
			if (hf->sent_n == HF_PIPELINE) {
				hf->cin_stalled = 1;
				break;
			}
			n = hf_head(hf, buf + used, len - used);
			break;
		case HF_UPGRADE_WAIT:
			if (hf->rstate == RS_BROKEN)
				hf_refuse(hf, DECIDE_PROXY_ERROR, hf->host,
				    hf->port, 502);
			else
				hf->cin_stalled = 1;
			break;
		case HF_BODY_LENGTH:
			n = len - used < hf->body_left ? len - used :
			    (size_t)hf->body_left;
			if (hf_forward_up(hf, buf + used, n) == -1) {
				hf_refuse(hf, DECIDE_PROXY_ERROR, hf->host,
				    hf->port, 502);
				return used;
			}
			hf->body_left -= n;
			if (hf->body_left == 0)
				hf_request_done(hf);
			break;
		case HF_BODY_CHUNKED:
			r = http_chunked_feed(&hf->chunked, buf + used,
			    len - used, &n);
			if (hf_forward_up(hf, buf + used, n) == -1) {
				hf_refuse(hf, DECIDE_PROXY_ERROR, hf->host,
				    hf->port, 502);
				return used;
			}
			if (r == HTTP_DONE)
				hf_request_done(hf);
			else if (r == HTTP_BAD)
				hf_refuse(hf, DECIDE_BAD_REQUEST, hf->host,
				    hf->port, 400);
			break;
		case HF_OPAQUE:
			n = len - used;
			if (hf_forward_up(hf, buf + used, n) == -1) {
				hf_refuse(hf, DECIDE_PROXY_ERROR, hf->host,
				    hf->port, 502);
				return used;
			}
			break;
		case HF_REFUSING:
			break;
		}
		if (n == 0)
			break;	/* need more bytes, or refused */
		used += n;
	}
	return used;
}

/* cin again, after the upstream took some of what was queued. */
static int
hf_take_cin(struct httpflow *hf)
{
	size_t n;

	if (hf->cin.len == 0) {
		hf->cin_stalled = 0;
		return 0;
	}
	n = hf_take(hf, hf->cin.p + hf->cin.off, hf->cin.len);
	if (hf->state == HF_REFUSING)
		return 1;
	q_drain(&hf->cin, n);
	return n > 0;
}

/*
 * One recv for either side. Sockets are read until they say EAGAIN,
 * never "a short read drained it": a FIN or a reset already queued
 * behind the bytes would bring no new edge (libevent reports a reset as
 * plain read+write, without EV_CLOSED). HF_AGAIN for nothing now: *rd
 * cleared on EAGAIN, left set on EINTR, so `return *rd` tells the pump
 * whether to try again. Else the bytes, 0 at the end, or -1 with errno.
 */
#define HF_AGAIN (-2)

static ssize_t
hf_recv(int fd, size_t len, unsigned char *rd)
{
	ssize_t n = recv(fd, hf_chunk, len, 0);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		*rd = 0;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return HF_AGAIN;
	return n;
}

/*
 * One read from the client, through hf_take.
 * 1 if something happened, 0 if not, -1 once the flow ended.
 */
static int
hf_read_client(struct httpflow *hf)
{
	ssize_t n;
	size_t used;

	n = hf_recv(hf->cfd, sizeof(hf_chunk), &hf->cl_rd);
	if (n == HF_AGAIN)
		return hf->cl_rd;
	if (n < 0)
		return hf_finish(hf, errno);
	if (n == 0) {
		hf->client_eof = 1;
		/* A head cut short: a request we can't judge. */
		if (hf->state == HF_HEAD && hf->cin.len > 0 && !hf->cin_stalled)
			hf_refuse(hf, DECIDE_BAD_REQUEST, hf->host, hf->port,
			    400);
		return 1;
	}
	hf_touch(hf);
	if (hf->cin.len > 0) {
		if (q_add(&hf->cin, hf_chunk, (size_t)n) == -1)
			return hf_finish(hf, ENOMEM);
		(void)hf_take_cin(hf);
		return 1;
	}
	used = hf_take(hf, hf_chunk, (size_t)n);
	if (hf->state != HF_REFUSING &&
	    q_add(&hf->cin, hf_chunk + used, (size_t)n - used) == -1)
		return hf_finish(hf, ENOMEM);
	return 1;
}

/* Queued bytes to a socket until it would block; -1 with errno on a
 * failed send (the caller decides what it means). */
static int
hf_flush_q(int fd, struct hf_q *q, unsigned int *wr)
{
	ssize_t n;
	int moved = 0;

	while (q->len > 0) {
		n = send(fd, q->p + q->off, q->len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				*wr = 0;
				break;
			}
			return -1;
		}
		moved = 1;
		if ((size_t)n < q->len) {
			q_drain(q, (size_t)n);
			*wr = 0;	/* full: its edge comes when it drains */
			break;
		}
		q_drain(q, (size_t)n);
	}
	return moved;
}

/* The spliced part of a response, then whatever queued behind it. */
static int
hf_flush_client(struct httpflow *hf)
{
	unsigned int wr = hf->cl_wr;
	ssize_t n;
	int moved = 0, rc;

	while (hf->inpipe > 0 && wr) {
		n = splice(hf->pipe[0], NULL, hf->cfd, NULL, hf->inpipe,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				wr = 0;
				break;
			}
			return hf_finish(hf, errno);
		}
		hf->inpipe -= (size_t)n;
		moved = 1;
	}
	if (hf->inpipe == 0 && wr && hf->qcl.len > 0) {
		if ((rc = hf_flush_q(hf->cfd, &hf->qcl, &wr)) == -1)
			return hf_finish(hf, errno);
		moved |= rc;
	}
	hf->cl_wr = wr;
	return moved;
}

static int hf_upstream_failed(struct httpflow *hf, int err);

static int
hf_flush_upstream(struct httpflow *hf)
{
	unsigned int wr = hf->up_wr;
	int rc = 0;

	if (wr && hf->qup.len > 0 &&
	    (rc = hf_flush_q(hf->ufd, &hf->qup, &wr)) == -1)
		return hf_upstream_failed(hf, errno);
	hf->up_wr = wr;
	return rc;
}

/* Responses when a credential went up: through the redactor, n at most
 * HF_CHUNK; what was read is wiped (it may echo the secret). */
static int
hf_down_redacted(struct httpflow *hf, char *in, size_t n)
{
	struct hf_inject *inj = hf->inj;
	struct timeval tv;
	size_t m;

	m = inject_redact_feed(&inj->red, in, n, inj->clean);
	OPENSSL_cleanse(in, n);
	if (q_add(&hf->qcl, inj->clean, m) == -1)
		return hf_finish(hf, ENOMEM);
	hf->bytes_down += m;
	if (inj->red.holdlen > 0 && !evtimer_pending(&inj->hold, NULL)) {
		tv.tv_sec = 0;
		tv.tv_usec = HF_HOLD_MS * 1000;
		evtimer_add(&inj->hold, &tv);
	}
	return 0;
}

/* Nothing more came (or will): the held tail goes out, masked if long. */
static int
hf_release_hold(struct httpflow *hf)
{
	struct hf_inject *inj = hf->inj;
	size_t m;

	if (inj == NULL)
		return 0;
	evtimer_del(&inj->hold);
	m = inject_redact_flush(&inj->red, inj->clean);
	if (q_add(&hf->qcl, inj->clean, m) == -1)
		return hf_finish(hf, ENOMEM);
	hf->bytes_down += m;
	return 0;
}

static void hf_pump(struct httpflow *hf);

static void
hf_hold_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpflow *hf = arg;

	(void)fd;
	(void)what;
	if (hf_release_hold(hf) == 0)
		hf_pump(hf);
}

/* The socket said the response ended; nothing more is read from it. */
static int
hf_upstream_ended(struct httpflow *hf)
{
	hf->upstream_eof = 1;
	hf->up_rd = 0;
	return hf_release_hold(hf);
}

/*
 * A reset or a failed send on the upstream. While a refusal is owed, a
 * server that answered and then reset (it closed with our request's
 * body unread) has simply finished: the client still gets what it sent
 * and then the refusal. Otherwise the flow ends with the error.
 */
static int
hf_upstream_failed(struct httpflow *hf, int err)
{
	if (hf->state != HF_REFUSING || (err != ECONNRESET && err != EPIPE))
		return hf_finish(hf, err);
	q_free(&hf->qup);
	hf->up_shut = 1;
	return hf_upstream_ended(hf) == -1 ? -1 : 1;
}

/* The answer to the oldest request left: 101 switches the connection to
 * opaque bytes only if that request asked for it; a declined Upgrade
 * lets the held requests be judged as before. */
static void
hf_response_head(struct httpflow *hf, const struct inject_response *r)
{
	uint8_t front = hf->sent_n > 0 ? hf->sent[hf->sent_first] : 0;

	if (r->status == 101) {
		if (!(front & HF_REQ_UPGRADE) || hf->sent_n != 1 ||
		    hf->state != HF_UPGRADE_WAIT) {
			hf->rstate = RS_BROKEN;	/* switched, unasked */
			return;
		}
		hf->sent_n = 0;
		hf->rstate = RS_CLOSE;
		hf->state = HF_OPAQUE;
		return;
	}
	if (r->status < 200)
		return;		/* interim: the final answer follows */
	if (hf->sent_n > 0) {
		hf->sent_first = (hf->sent_first + 1) % HF_PIPELINE;
		hf->sent_n--;
	}
	if ((front & HF_REQ_UPGRADE) && hf->sent_n == 0 &&
	    hf->state == HF_UPGRADE_WAIT)
		hf->state = HF_HEAD;
	switch (r->body) {
	case INJECT_RBODY_LENGTH:
		hf->rstate = RS_LENGTH;
		hf->rleft = r->content_length;
		break;
	case INJECT_RBODY_CHUNKED:
		http_chunked_init(&hf->rchunked, 0);
		hf->rstate = RS_CHUNKED;
		break;
	case INJECT_RBODY_CLOSE:
		hf->rstate = RS_CLOSE;
		break;
	default:
		hf->rstate = RS_HEAD;
		break;
	}
}

/*
 * How far a response head reaches into p: parsed in place, or after the
 * part an earlier read left in rhead. 0 when all of p belongs to a head
 * still incomplete (kept in rhead). The bytes themselves go on unchanged
 * either way.
 */
static size_t
hf_frame_head(struct httpflow *hf, const char *p, size_t n)
{
	struct inject_response r;
	enum http_result res;
	size_t had = hf->rhead.len, room = HF_RESP_HEAD_MAX - had, k;
	int head_req = hf->sent_n > 0 &&
	    (hf->sent[hf->sent_first] & HF_REQ_HEAD);

	if (had == 0) {
		res = inject_parse_response(p, n, HF_RESP_HEAD_MAX, head_req,
		    &r);
		if (res == HTTP_OK) {
			hf_response_head(hf, &r);
			return r.head_len;
		}
	} else {
		k = n < room ? n : room;
		if (q_add(&hf->rhead, p, k) == -1) {
			hf->rstate = RS_BROKEN;
			return n;
		}
		res = inject_parse_response(hf->rhead.p + hf->rhead.off,
		    hf->rhead.len, HF_RESP_HEAD_MAX, head_req, &r);
		if (res == HTTP_OK) {
			q_free(&hf->rhead);
			hf_response_head(hf, &r);
			return r.head_len - had;
		}
		if (res == HTTP_NEED_MORE)
			return k;
	}
	if (res == HTTP_BAD || q_add(&hf->rhead, p, n) == -1) {
		q_free(&hf->rhead);
		hf->rstate = RS_BROKEN;
	}
	return n;
}

/* Response bytes, as read: where each response ends. */
static void
hf_frame(struct httpflow *hf, const char *p, size_t n)
{
	enum http_result r;
	size_t k;

	while (n > 0) {
		switch (hf->rstate) {
		case RS_HEAD:
			k = hf_frame_head(hf, p, n);
			break;
		case RS_LENGTH:
			k = n < hf->rleft ? n : (size_t)hf->rleft;
			hf->rleft -= k;
			if (hf->rleft == 0)
				hf->rstate = RS_HEAD;
			break;
		case RS_CHUNKED:
			k = 0;
			r = http_chunked_feed(&hf->rchunked, p, n, &k);
			if (r == HTTP_DONE)
				hf->rstate = RS_HEAD;
			else if (r == HTTP_BAD)
				hf->rstate = RS_BROKEN;
			else
				k = n;
			break;
		default:		/* RS_CLOSE, RS_BROKEN: to the end */
			k = n;
			break;
		}
		p += k;
		n -= k;
	}
}

/*
 * A large body: upstream to pipe to client, no copy through here, and
 * never past the body's end (the next head is read, to be framed). Only
 * with nothing queued for the client, so order holds.
 */
static int
hf_splice_down(struct httpflow *hf)
{
	size_t ask = RELAY_PIPE_DEFAULT;
	ssize_t n;

	if (hf->rstate == RS_LENGTH && hf->rleft < ask)
		ask = (size_t)hf->rleft;
	if (hf->pipe[0] == -1 &&
	    relay_pipe_take(hf->pipes, hf->pipe, RELAY_PIPE_DEFAULT) == -1) {
		hf->no_splice = 1;
		return 1;
	}
	n = splice(hf->ufd, NULL, hf->pipe[1], NULL, ask,
	    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (n < 0) {
		if (errno == EINTR)
			return 1;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			hf->up_rd = 0;
			return 0;
		}
		if (errno == EINVAL) {	/* not spliceable: copy from now on */
			hf->no_splice = 1;
			return 1;
		}
		return hf_upstream_failed(hf, errno);
	}
	if (n == 0)
		return hf_upstream_ended(hf) == -1 ? -1 : 1;
	hf_touch(hf);
	if (hf->rstate == RS_LENGTH) {
		hf->rleft -= (uint64_t)n;
		if (hf->rleft == 0)
			hf->rstate = RS_HEAD;
	}
	hf->inpipe = (size_t)n;
	hf->bytes_down += (uint64_t)n;
	return hf_flush_client(hf) == -1 ? -1 : 1;
}

/*
 * One read of the response, framed, then sent on at once when nothing is
 * queued for the client, else queued behind it. Responses are framed,
 * never judged: only requests can reach another host.
 */
static int
hf_read_upstream(struct httpflow *hf)
{
	size_t ask = hf->inj != NULL ? HF_CHUNK : sizeof(hf_chunk);
	ssize_t n, w = 0;

	/* Body bytes of a large response; while the client is full they
	 * wait in the sockets (TCP's own backpressure), not in qcl. */
	if (hf->bulk && !hf->no_splice && hf->qcl.len == 0 &&
	    (hf->rstate == RS_LENGTH || hf->rstate == RS_CLOSE ||
	    hf->rstate == RS_BROKEN))
		return hf->cl_wr ? hf_splice_down(hf) : 0;
	n = hf_recv(hf->ufd, ask, &hf->up_rd);
	if (n == HF_AGAIN)
		return hf->up_rd;
	if (n < 0)
		return hf_upstream_failed(hf, errno);
	if (n == 0)
		return hf_upstream_ended(hf) == -1 ? -1 : 1;
	hf_touch(hf);
	hf_frame(hf, hf_chunk, (size_t)n);
	if (hf->inj != NULL)
		return hf_down_redacted(hf, hf_chunk, (size_t)n) == -1 ? -1 : 1;
	/* A full read: a large response. Spliced from here on (and the
	 * pipe kept: giving it back asks the kernel if it is empty, a
	 * syscall per turn), never for a flow that injects. */
	if ((size_t)n == ask && !hf->no_splice)
		hf->bulk = 1;
	hf->bytes_down += (uint64_t)n;
	if (hf->qcl.len == 0 && hf->cl_wr) {
		w = send(hf->cfd, hf_chunk, (size_t)n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				return hf_finish(hf, errno);
			if (errno != EINTR)
				hf->cl_wr = 0;
			w = 0;
		} else if (w < n) {
			hf->cl_wr = 0;	/* full: its edge comes when it drains */
		}
	}
	if (q_add(&hf->qcl, hf_chunk + w, (size_t)(n - w)) == -1)
		return hf_finish(hf, ENOMEM);
	return 1;
}

/*
 * Ends of stream, passed on in order: the client's after what it sent
 * reached the upstream; the upstream's after what it sent (and a refusal
 * owed) reached the client. The flow ends when both sides are done.
 */
static int
hf_ends(struct httpflow *hf)
{
	int moved = 0;

	if (hf->state == HF_REFUSING)
		q_free(&hf->cin);
	if ((hf->client_eof || hf->state == HF_REFUSING) && !hf->up_shut &&
	    hf->qup.len == 0) {
		shutdown(hf->ufd, SHUT_WR);
		hf->up_shut = 1;
		moved = 1;
	}
	if (!hf->upstream_eof || hf->qcl.len > 0 || hf->inpipe > 0)
		return moved;
	if (hf->refusal != NULL) {
		if (q_add(&hf->qcl, hf->refusal, hf->refusal_len) == -1)
			return hf_finish(hf, ENOMEM);
		free(hf->refusal);
		hf->refusal = NULL;
		return 1;
	}
	if (!hf->cl_shut) {
		shutdown(hf->cfd, SHUT_WR);
		hf->cl_shut = 1;
		moved = 1;
	}
	/* Held client bytes (an Upgrade's answer awaited) can go nowhere
	 * now, and we no longer read the client to see its end. */
	if (hf->client_eof || hf->state == HF_REFUSING || hf->cin_stalled)
		return hf_finish(hf, 0);
	return moved;
}

/*
 * Everything a flow does, from either socket's event: queued bytes out,
 * responses in and on, requests in, judged and on, ends passed along;
 * again until nothing moves. A flow that moved HF_BUDGET comes back
 * next loop turn so one download can't starve the others.
 */
static void
hf_pump(struct httpflow *hf)
{
	size_t rounds = 0;
	int moved, rc;

	while (!hf->done) {
		moved = 0;
		if ((rc = hf_flush_upstream(hf)) == -1)
			return;
		moved |= rc;
		if ((rc = hf_flush_client(hf)) == -1)
			return;
		moved |= rc;
		if (hf->up_rd && !hf->upstream_eof && hf->inpipe == 0 &&
		    hf->qcl.len < HF_HIGH) {
			if ((rc = hf_read_upstream(hf)) == -1)
				return;
			moved |= rc;
		}
		if (hf->cin_stalled && hf->qup.len < HF_HIGH)
			moved |= hf_take_cin(hf);
		if (hf->cl_rd && !hf->client_eof && !hf->cin_stalled &&
		    hf->state != HF_REFUSING && hf->qup.len < HF_HIGH) {
			if ((rc = hf_read_client(hf)) == -1)
				return;
			moved |= rc;
		}
		if ((rc = hf_ends(hf)) == -1)
			return;
		moved |= rc;
		if (!moved)
			break;
		if (++rounds >= HF_BUDGET / HF_READ) {
			/* No edge would bring us back: the flags still say
			 * what is possible, a spurious EV_WRITE costs at
			 * most an EAGAIN. */
			event_active(&hf->cev, EV_WRITE, 1);
			break;
		}
	}
}

/* Either socket: note what it can do now, then do everything there is. */
static void
hf_io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpflow *hf = arg;
	int client = fd == hf->cfd;

	if (what & EV_READ) {
		if (client)
			hf->cl_rd = 1;
		else
			hf->up_rd = 1;
	}
	if (what & EV_WRITE) {
		if (client)
			hf->cl_wr = 1;
		else
			hf->up_wr = 1;
	}
	hf_pump(hf);
}

struct httpflow *
httpflow_new(struct event_base *base, int client_fd, int upstream_fd,
    const struct httpflow_opts *opts, const struct httpflow_cb *cb, void *arg)
{
	struct httpflow *hf;
	struct hf_inject *inj;
	struct timeval tv;
	size_t used;

	if ((hf = calloc(1, sizeof(*hf))) == NULL)
		goto fail;
	hf->cfd = client_fd;
	hf->ufd = upstream_fd;
	client_fd = upstream_fd = -1;
	hf->pipe[0] = hf->pipe[1] = -1;
	hf->pipes = opts->pipes;
	hf->cb = *cb;
	hf->arg = arg;
	hf->binding = opts->binding;
	hf->qup.secret = hf->binding != NULL;
	hf->limits = *opts->limits;
	if (hf->limits.max_head == 0)
		hf->limits.max_head = HTTP_HEAD_MAX_DEFAULT;
	hf->host = opts->host;
	hf->port = opts->port;
	hf->idle_ms = opts->idle_ms;
	hf_touch(hf);
	/* Fresh sockets take writes; reads wait for the first edge, which
	 * registering an edge-triggered event delivers if bytes are there. */
	hf->cl_wr = hf->up_wr = 1;
	if (event_assign(&hf->cev, base, hf->cfd,
	    EV_READ | EV_WRITE | EV_PERSIST | EV_ET, hf_io_cb, hf) == -1 ||
	    event_assign(&hf->uev, base, hf->ufd,
	    EV_READ | EV_WRITE | EV_PERSIST | EV_ET, hf_io_cb, hf) == -1 ||
	    evtimer_assign(&hf->timer, base, hf_timer_cb, hf) == -1)
		goto fail;
	if (opts->inject && hf->binding != NULL) {
		struct inject_redactor red;

		memset(&red, 0, sizeof(red));
		if (inject_redactor_init(&red, hf->binding) == -1)
			goto fail;
		inj = calloc(1, sizeof(*inj) + HF_CHUNK + red.maxlen);
		if (inj == NULL) {
			inject_redactor_fini(&red);
			goto fail;
		}
		inj->red = red;
		hf->inj = inj;
		if (evtimer_assign(&inj->hold, base, hf_hold_cb, hf) == -1)
			goto fail;
	}
	if (event_add(&hf->cev, NULL) == -1 || event_add(&hf->uev, NULL) == -1)
		goto fail;
	if (hf->idle_ms > 0) {
		tv = clock_ms_timeval(hf->idle_ms);
		if (event_add(&hf->timer, &tv) == -1)
			goto fail;
	}
	/* The first request is already here: judged again like every other
	 * (one parser for all of them) and sent on. An end in here reaches
	 * the owner from the loop (hf_finish). */
	hf->starting = 1;
	used = hf_take(hf, opts->prefix, opts->prefix_len);
	if (hf->state != HF_REFUSING &&
	    q_add(&hf->cin, opts->prefix + used, opts->prefix_len - used) == -1)
		(void)hf_finish(hf, ENOMEM);
	hf_pump(hf);
	hf->starting = 0;
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
	/* Deleting an assigned event that was never added is fine; one
	 * never assigned (a failed httpflow_new) is all zeroes and was
	 * never added either. */
	if (event_initialized(&hf->cev))
		event_del(&hf->cev);
	if (event_initialized(&hf->uev))
		event_del(&hf->uev);
	if (event_initialized(&hf->timer))
		event_del(&hf->timer);
	if (hf->inj != NULL) {
		if (event_initialized(&hf->inj->hold))
			event_del(&hf->inj->hold);
		OPENSSL_cleanse(hf->inj->clean, HF_CHUNK + hf->inj->red.maxlen);
		inject_redactor_fini(&hf->inj->red);
		free(hf->inj);
	}
	relay_pipe_give(hf->pipes, hf->pipe, RELAY_PIPE_DEFAULT);
	q_free(&hf->cin);
	q_free(&hf->qup);
	q_free(&hf->qcl);
	q_free(&hf->rhead);
	if (hf->cfd >= 0)
		close(hf->cfd);
	if (hf->ufd >= 0)
		close(hf->ufd);
	free(hf->refusal);
	free(hf);
}
