#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>

#include "proxyd/ctlmsg.h"
#include "proxyd/decide.h"
#include "proxyd/httpflow.h"
#include "proxyd/relay.h"
#include "tests/unit/socktest.h"

/*
 * httpflow between two loopback TCP pairs. The test plays both peers
 * (the sandbox's client and the fake server) with non-blocking sockets on
 * the loop's own thread, one step at a time, so each test can say exactly
 * which bytes must have arrived where before it goes on.
 */

#define MIB		(1024 * 1024)
/* A wait gives up after this; alarm() backs a whole test. */
#define DEADLINE_MS	4000
#define WATCHDOG_S	10

#define HOST		"allowed.test"
#define SECRET		"sk-live-7Hq2Zx9fJk3"

#define REQ1	"GET /1 HTTP/1.1\r\nHost: allowed.test\r\n\r\n"
#define REQ2	"GET /2 HTTP/1.1\r\nHost: allowed.test\r\nAccept: */*\r\n\r\n"
/* Another spelling of the same host and port. */
#define REQ3	"GET /3 HTTP/1.1\r\nHost: ALLOWED.test:80\r\n\r\n"
#define RESP1	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nr1"
#define RESP2	"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nr22"
#define RESP3	"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nr333"
#define L(s)	(sizeof(s) - 1)

/* One test-side socket: what it still has to send, what it received. */
struct side {
	int fd;
	char *out;
	size_t out_len;
	size_t out_off;
	bool shut_when_sent;	/* shutdown(SHUT_WR) once out is sent */
	bool shut;
	char *in;
	size_t in_len;
	size_t in_cap;
	bool paused;		/* read nothing */
	size_t read_max;	/* per step; 0: all there is */
	size_t read_upto;	/* stop reading at this total; 0: never */
	unsigned int read_every_ms;	/* at most one read_max per this */
	uint64_t next_read_ms;
	bool eof;
	int err;
};

struct fx {
	int fds_before;
	struct event_base *base;
	struct side cl;			/* the sandbox's end */
	struct side up;			/* the server's end */
	int flow_cfd;
	int flow_ufd;
	struct httpflow *hf;
	struct http_limits lim;
	struct httpflow_opts opts;
	struct relay_pipes *pipes;
	bool keep_after_done;
	uint64_t started_ms;
	/* done */
	int done_calls;
	uint64_t bytes_up;
	uint64_t bytes_down;
	int error;
	uint64_t done_ms;
	/* denied */
	int denied_calls;
	enum decide_reason reason;
	char denied_host[HOSTNAME_MAX + 1];
	uint16_t denied_port;
	int denied_status;
	int injected_calls;
};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Queues bytes for a side to send. */
static void
side_send(struct side *s, const void *p, size_t n)
{
	if (s->out_off == s->out_len) {
		free(s->out);
		s->out = NULL;
		s->out_len = s->out_off = 0;
	}
	s->out = realloc(s->out, s->out_len + n);
	assert_non_null(s->out);
	memcpy(s->out + s->out_len, p, n);
	s->out_len += n;
}

static void
side_sends(struct side *s, const char *str)
{
	side_send(s, str, strlen(str));
}

/* Sends what it can, reads what it may. */
static void
side_io(struct side *s)
{
	size_t want, got = 0;
	ssize_t n;

	if (s->fd == -1)
		return;
	while (s->out_off < s->out_len) {
		n = send(s->fd, s->out + s->out_off, s->out_len - s->out_off,
		    MSG_NOSIGNAL);
		if (n <= 0)
			break;
		s->out_off += (size_t)n;
	}
	if (s->out_off == s->out_len && s->shut_when_sent && !s->shut) {
		shutdown(s->fd, SHUT_WR);
		s->shut = true;
	}
	if (s->read_every_ms > 0) {
		if (now_ms() < s->next_read_ms)
			return;
		s->next_read_ms = now_ms() + s->read_every_ms;
	}
	while (!s->paused && !s->eof && s->err == 0) {
		want = 65536;
		if (s->read_max > 0 && s->read_max - got < want)
			want = s->read_max - got;
		if (s->read_upto > 0 && s->read_upto - s->in_len < want)
			want = s->read_upto - s->in_len;
		if (want == 0)
			break;
		if (s->in_cap - s->in_len < want) {
			s->in_cap = (s->in_len + want) * 2;
			s->in = realloc(s->in, s->in_cap);
			assert_non_null(s->in);
		}
		n = recv(s->fd, s->in + s->in_len, want, 0);
		if (n > 0) {
			s->in_len += (size_t)n;
			got += (size_t)n;
			continue;
		}
		if (n == 0)
			s->eof = true;
		else if (errno != EAGAIN && errno != EINTR)
			s->err = errno;
		break;
	}
}

/* Unread bytes make close() send a reset: an abrupt close. */
static void
side_close(struct side *s)
{
	close(s->fd);
	s->fd = -1;
}

static void
side_reset(struct side *s)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	assert_int_equal(setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	side_close(s);
}

static void
side_fini(struct side *s)
{
	if (s->fd != -1)
		close(s->fd);
	free(s->out);
	free(s->in);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

/* One turn: the loop, then both peers; a short wait when idle. */
static void
fx_step(struct fx *f)
{
	struct pollfd pfd[2];
	nfds_t n = 0;

	assert_int_not_equal(event_base_loop(f->base, EVLOOP_NONBLOCK), -1);
	side_io(&f->cl);
	side_io(&f->up);
	if (f->cl.fd != -1) {
		pfd[n].fd = f->cl.fd;
		pfd[n++].events = POLLIN;
	}
	if (f->up.fd != -1) {
		pfd[n].fd = f->up.fd;
		pfd[n++].events = POLLIN;
	}
	(void)poll(pfd, n, 1);
}

/* Steps until cond holds (asserted) or DEADLINE_MS passed. */
#define SPIN(f, cond) do {						\
	uint64_t end_ = now_ms() + DEADLINE_MS;				\
									\
	while (!(cond) && now_ms() < end_)				\
		fx_step(f);						\
	assert_true(cond);						\
} while (0)

/* Steps for ms, whatever happens. */
static void
fx_wait(struct fx *f, unsigned int ms)
{
	uint64_t end = now_ms() + ms;

	while (now_ms() < end)
		fx_step(f);
}

static void
fx_denied(void *arg, enum decide_reason reason, const char *host,
    uint16_t port, int status)
{
	struct fx *f = arg;

	f->denied_calls++;
	f->reason = reason;
	snprintf(f->denied_host, sizeof(f->denied_host), "%s", host);
	f->denied_port = port;
	f->denied_status = status;
}

static void
fx_done(void *arg, uint64_t bytes_up, uint64_t bytes_down, int error)
{
	struct fx *f = arg;

	f->done_calls++;
	f->bytes_up = bytes_up;
	f->bytes_down = bytes_down;
	f->error = error;
	f->done_ms = now_ms();
	if (!f->keep_after_done) {
		httpflow_free(f->hf);
		f->hf = NULL;
	}
}

static void
fx_injected(void *arg)
{
	struct fx *f = arg;

	f->injected_calls++;
}

static const struct httpflow_cb fx_cb = { fx_denied, fx_done, fx_injected };

/* What a test allocated, freed by the teardown even when an assertion
 * left the test early (so ASan reports only the flow's own leaks). */
#define KEPT_MAX	8
static void *kept[KEPT_MAX];
static struct fx *live_fx;

static void *
keep(void *p)
{
	size_t i;

	assert_non_null(p);
	for (i = 0; i < KEPT_MAX; i++) {
		if (kept[i] == NULL) {
			kept[i] = p;
			return p;
		}
	}
	fail_msg("keep: full");
	return NULL;
}

static void
kept_free(void *p)
{
	size_t i;

	for (i = 0; i < KEPT_MAX; i++) {
		if (kept[i] == p)
			kept[i] = NULL;
	}
	free(p);
}

static struct fx *
fx_new(void)
{
	struct fx *f;

	alarm(WATCHDOG_S);
	assert_null(live_fx);
	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	live_fx = f;
	f->cl.fd = f->up.fd = f->flow_cfd = f->flow_ufd = -1;
	f->fds_before = count_fds();
	assert_true(f->fds_before > 0);
	f->base = event_base_new();
	assert_non_null(f->base);
	tcp_pair(&f->cl.fd, &f->flow_cfd);
	tcp_pair(&f->flow_ufd, &f->up.fd);
	/* The proxy's sockets are non-blocking (accept4, socket flags). */
	set_nonblock(f->flow_cfd);
	set_nonblock(f->flow_ufd);
	set_nonblock(f->cl.fd);
	set_nonblock(f->up.fd);
	f->lim.max_head = 16384;
	f->lim.default_port = 80;
	f->opts.limits = &f->lim;
	f->opts.host = HOST;
	f->opts.port = 80;
	f->opts.idle_ms = 10000;
	return f;
}

/* Small socket buffers everywhere, so backpressure shows within MiBs. */
static void
fx_small_bufs(struct fx *f)
{
	set_bufs(f->cl.fd, 32768);
	set_bufs(f->flow_cfd, 32768);
	set_bufs(f->flow_ufd, 32768);
	set_bufs(f->up.fd, 32768);
}

/* A large transfer: small buffers, and a pipe pool to splice from. */
static void
fx_bulk(struct fx *f)
{
	fx_small_bufs(f);
	f->pipes = relay_pipes_new(4);
	assert_non_null(f->pipes);
	f->opts.pipes = f->pipes;
}

/* head, then body bytes of the pattern (seed); kept, total length out. */
static char *
with_body(const char *head, size_t body, unsigned int seed, size_t *total)
{
	size_t h = strlen(head);
	char *out = keep(malloc(h + body));

	memcpy(out, head, h);
	pattern_fill(out + h, 0, body, seed);
	*total = h + body;
	return out;
}

static void
fx_start(struct fx *f, const char *prefix, size_t len)
{
	f->opts.prefix = prefix;
	f->opts.prefix_len = len;
	f->started_ms = now_ms();
	f->hf = httpflow_new(f->base, f->flow_cfd, f->flow_ufd, &f->opts,
	    &fx_cb, f);
	assert_non_null(f->hf);
	/* Its sockets now. */
	f->flow_cfd = f->flow_ufd = -1;
}

/* Everything a fixture holds, closed and freed. */
static void
fx_release(struct fx *f)
{
	httpflow_free(f->hf);
	side_fini(&f->cl);
	side_fini(&f->up);
	if (f->flow_cfd != -1)
		close(f->flow_cfd);
	if (f->flow_ufd != -1)
		close(f->flow_ufd);
	if (f->base != NULL)
		event_base_free(f->base);
	relay_pipes_free(f->pipes);
	free(f);
	live_fx = NULL;
}

/* The end of a fixture: nothing of it may stay open. */
static void
fx_fini(struct fx *f)
{
	int before = f->fds_before;

	fx_release(f);
	assert_int_equal(count_fds(), before);
	alarm(0);
}

static int
test_teardown(void **state)
{
	size_t i;

	(void)state;
	if (live_fx != NULL)
		fx_release(live_fx);
	for (i = 0; i < KEPT_MAX; i++) {
		free(kept[i]);
		kept[i] = NULL;
	}
	alarm(0);
	return 0;
}

/* What a side received so far is exactly want (waiting for it first). */
static void
expect_in(struct fx *f, struct side *s, const char *want, size_t len)
{
	uint64_t end = now_ms() + DEADLINE_MS;

	while (s->in_len < len && !s->eof && s->err == 0 && now_ms() < end)
		fx_step(f);
	if (s->in_len != len || memcmp(s->in, want, len) != 0)
		print_error("got %zu of %zu bytes (eof %d, err %d; done %d, "
		    "error %d)\n", s->in_len, len, s->eof, s->err,
		    f->done_calls, f->error);
	assert_int_equal(s->in_len, len);
	assert_memory_equal(s->in, want, len);
}

/* want followed by the refusal the flow sends for (status, host, reason). */
static void
expect_in_refused(struct fx *f, struct side *s, const char *before,
    int status, const char *host, const char *reason)
{
	char *deny, *all;
	size_t dlen, blen = strlen(before);

	deny = keep(httpflow_deny_response(status, host, 80, reason, &dlen));
	all = keep(malloc(blen + dlen));
	memcpy(all, before, blen);
	memcpy(all + blen, deny, dlen);
	expect_in(f, s, all, blen + dlen);
	kept_free(all);
	kept_free(deny);
}

static void
assert_clean_done(const struct fx *f, size_t up, size_t down)
{
	assert_int_equal(f->done_calls, 1);
	assert_int_equal(f->error, 0);
	assert_int_equal(f->bytes_up, up);
	assert_int_equal(f->bytes_down, down);
	assert_int_equal(f->cl.err, 0);
	assert_int_equal(f->up.err, 0);
}

static int
group_setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	pattern_init();
	return 0;
}

/* 1. Three requests on one connection, two of them in one write. */
static void
test_keepalive(void **state)
{
	struct fx *f;

	(void)state;
	f = fx_new();
	fx_start(f, REQ1, L(REQ1));
	expect_in(f, &f->up, REQ1, L(REQ1));
	side_sends(&f->up, RESP1);
	expect_in(f, &f->cl, RESP1, L(RESP1));

	side_sends(&f->cl, REQ2 REQ3);
	expect_in(f, &f->up, REQ1 REQ2 REQ3, L(REQ1 REQ2 REQ3));
	side_sends(&f->up, RESP2 RESP3);
	expect_in(f, &f->cl, RESP1 RESP2 RESP3, L(RESP1 RESP2 RESP3));

	/* The client ends, the server sees it, then ends too. */
	f->cl.shut_when_sent = true;
	SPIN(f, f->up.eof);
	assert_int_equal(f->done_calls, 0);
	f->up.shut_when_sent = true;
	SPIN(f, f->cl.eof && f->done_calls > 0);
	assert_clean_done(f, L(REQ1 REQ2 REQ3), L(RESP1 RESP2 RESP3));
	assert_int_equal(f->denied_calls, 0);
	assert_int_equal(f->up.in_len, L(REQ1 REQ2 REQ3));
	assert_int_equal(f->cl.in_len, L(RESP1 RESP2 RESP3));
	fx_fini(f);
}

/*
 * 2. A request for another host, pipelined behind an allowed one: never
 * sent; the upstream's write side closes after what was allowed; the 403
 * comes only after the responses owed.
 */
static void
test_host_switch(void **state)
{
	static const char other[] = "GET /x HTTP/1.1\r\nHost: other.test\r\n\r\n";
	struct fx *f;

	(void)state;
	f = fx_new();
	fx_start(f, REQ1, L(REQ1));
	expect_in(f, &f->up, REQ1, L(REQ1));
	side_sends(&f->cl, REQ2);
	side_sends(&f->cl, other);
	SPIN(f, f->up.eof);
	assert_int_equal(f->up.in_len, L(REQ1 REQ2));
	assert_memory_equal(f->up.in, REQ1 REQ2, L(REQ1 REQ2));
	assert_int_equal(f->denied_calls, 1);
	assert_int_equal(f->reason, DECIDE_HOST_CHANGED);
	assert_string_equal(f->denied_host, "other.test");
	assert_int_equal(f->denied_port, 80);
	assert_int_equal(f->denied_status, 403);
	/* Nothing for the client before the server answered. */
	fx_wait(f, 100);
	assert_int_equal(f->cl.in_len, 0);

	side_sends(&f->up, RESP1);
	expect_in(f, &f->cl, RESP1, L(RESP1));
	side_sends(&f->up, RESP2);
	f->up.shut_when_sent = true;
	expect_in_refused(f, &f->cl, RESP1 RESP2, 403, "other.test",
	    "host_changed");
	SPIN(f, f->cl.eof && f->done_calls > 0);
	assert_clean_done(f, L(REQ1 REQ2), L(RESP1 RESP2));
	assert_int_equal(f->denied_calls, 1);
	assert_true(f->cl.in_len > 12);
	assert_memory_equal(f->cl.in + L(RESP1 RESP2), "HTTP/1.1 403 ", 13);
	fx_fini(f);
}

/*
 * 2b. An Upgrade the server declines: the connection stays HTTP, so the
 * next request must be judged like any other.
 */
static void
test_declined_upgrade_still_judged(void **state)
{
	static const char up[] = "GET /ws HTTP/1.1\r\nHost: allowed.test\r\n"
	    "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
	static const char other[] = "GET /x HTTP/1.1\r\nHost: other.test\r\n\r\n";
	struct fx *f;

	(void)state;
	f = fx_new();
	fx_start(f, up, L(up));
	expect_in(f, &f->up, up, L(up));
	/* No 101: a plain response, the connection kept alive. */
	side_sends(&f->up, RESP1);
	expect_in(f, &f->cl, RESP1, L(RESP1));
	side_sends(&f->cl, other);
	fx_wait(f, 100);
	/* The server must never see the other host's request. */
	assert_int_equal(f->up.in_len, L(up));
	assert_int_equal(f->denied_calls, 1);
	assert_string_equal(f->denied_host, "other.test");
	fx_fini(f);
}

/*
 * 2c. An Upgrade the server accepts: what the client sent after the
 * request waits for the 101 (it is not judged, and must not reach the
 * server before the server said it switched), then flows as bytes.
 */
#define UP_REQ	"GET /ws HTTP/1.1\r\nHost: allowed.test\r\n" \
	"Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
#define UP_FRAMES "\x81\x05hello" "GET /x HTTP/1.1\r\nHost: other.test\r\n\r\n"
#define UP_101	"HTTP/1.1 101 Switching Protocols\r\n" \
	"Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n"

static void
test_upgrade_accepted(void **state)
{
	struct fx *f;

	(void)state;
	f = fx_new();
	fx_start(f, UP_REQ, L(UP_REQ));
	expect_in(f, &f->up, UP_REQ, L(UP_REQ));
	side_sends(&f->cl, UP_FRAMES);
	fx_wait(f, 100);
	assert_int_equal(f->up.in_len, L(UP_REQ));
	side_sends(&f->up, UP_101);
	expect_in(f, &f->cl, UP_101, L(UP_101));
	expect_in(f, &f->up, UP_REQ UP_FRAMES, L(UP_REQ UP_FRAMES));
	side_sends(&f->up, "\x81\x02ok");
	expect_in(f, &f->cl, UP_101 "\x81\x02ok", L(UP_101 "\x81\x02ok"));
	assert_int_equal(f->denied_calls, 0);
	fx_fini(f);
}

/*
 * 2d. A 101 nobody asked for: the rest of the server's stream can't be
 * framed, so no later request is sent (502), the connection is not
 * turned into a tunnel.
 */
static void
test_unasked_switch(void **state)
{
	static const char sw[] = "HTTP/1.1 101 Switching Protocols\r\n\r\n";
	struct fx *f;

	(void)state;
	f = fx_new();
	fx_start(f, REQ1, L(REQ1));
	expect_in(f, &f->up, REQ1, L(REQ1));
	side_sends(&f->up, sw);
	expect_in(f, &f->cl, sw, L(sw));
	side_sends(&f->cl, REQ2);
	SPIN(f, f->up.eof);
	assert_int_equal(f->up.in_len, L(REQ1));
	assert_int_equal(f->denied_calls, 1);
	assert_int_equal(f->reason, DECIDE_PROXY_ERROR);
	assert_int_equal(f->denied_status, 502);
	fx_fini(f);
}

/* 3. Bodies that look like requests are bodies: length, then chunked. */
static void
test_bodies_are_framed(void **state)
{
	static const char inner[] = "GET / HTTP/1.1\r\nHost: other.test\r\n\r\n";
	static const char post[] = "POST /a HTTP/1.1\r\nHost: allowed.test\r\n"
	    "Content-Length: 36\r\n\r\n";
	static const char chunked[] = "POST /b HTTP/1.1\r\nHost: allowed.test\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n";
	/* One chunk carrying inner, split mid size line and mid data. */
	static const char c1[] = "2";
	static const char c2[] = "4\r\nGET / HTTP/1.1\r\nHo";
	static const char c3[] = "st: other.test\r\n\r\n\r\n0\r\n\r\n";
	static const char last[] = "GET /c HTTP/1.1\r\nHost: allowed.test\r\n\r\n";
	char prefix[256], all[1024];
	size_t plen, alen = 0;
	struct fx *f;

	(void)state;
	assert_int_equal(L(inner), 0x24);
	/* The first request's body: half in the prefix, half after. */
	plen = (size_t)snprintf(prefix, sizeof(prefix), "%s%.*s", post, 20, inner);
	f = fx_new();
	fx_start(f, prefix, plen);
	expect_in(f, &f->up, prefix, plen);
	side_send(&f->cl, inner + 20, L(inner) - 20);
	memcpy(all, prefix, plen);
	alen = plen;
	memcpy(all + alen, inner + 20, L(inner) - 20);
	alen += L(inner) - 20;
	expect_in(f, &f->up, all, alen);

	side_sends(&f->cl, chunked);
	side_sends(&f->cl, c1);
	memcpy(all + alen, chunked, L(chunked));
	alen += L(chunked);
	memcpy(all + alen, c1, L(c1));
	alen += L(c1);
	expect_in(f, &f->up, all, alen);
	side_sends(&f->cl, c2);
	memcpy(all + alen, c2, L(c2));
	alen += L(c2);
	expect_in(f, &f->up, all, alen);
	side_sends(&f->cl, c3);
	side_sends(&f->cl, last);
	memcpy(all + alen, c3, L(c3));
	alen += L(c3);
	memcpy(all + alen, last, L(last));
	alen += L(last);
	expect_in(f, &f->up, all, alen);
	assert_int_equal(f->denied_calls, 0);

	side_sends(&f->up, RESP1 RESP2 RESP3);
	expect_in(f, &f->cl, RESP1 RESP2 RESP3, L(RESP1 RESP2 RESP3));
	f->cl.shut_when_sent = true;
	SPIN(f, f->up.eof);
	f->up.shut_when_sent = true;
	SPIN(f, f->cl.eof && f->done_calls > 0);
	assert_clean_done(f, alen, L(RESP1 RESP2 RESP3));
	assert_int_equal(f->denied_calls, 0);
	fx_fini(f);
}

#define CHUNKED_HEAD	"POST /a HTTP/1.1\r\nHost: allowed.test\r\n" \
			"Transfer-Encoding: chunked\r\n\r\n"

/* 4. Bad chunking: the head went up, the rest never does; 400 once the
 * upstream has answered and closed. */
static void
test_bad_chunking(void **state)
{
	static const char prefix[] = CHUNKED_HEAD "zz\r\n";
	struct fx *f;

	(void)state;
	f = fx_new();
	fx_start(f, prefix, L(prefix));
	SPIN(f, f->up.eof);
	assert_int_equal(f->up.in_len, L(CHUNKED_HEAD));
	assert_memory_equal(f->up.in, CHUNKED_HEAD, L(CHUNKED_HEAD));
	assert_int_equal(f->denied_calls, 1);
	assert_int_equal(f->reason, DECIDE_BAD_REQUEST);
	assert_string_equal(f->denied_host, HOST);
	assert_int_equal(f->denied_status, 400);
	fx_wait(f, 100);
	assert_int_equal(f->cl.in_len, 0);
	assert_int_equal(f->done_calls, 0);

	side_sends(&f->up, RESP1);
	f->up.shut_when_sent = true;
	expect_in_refused(f, &f->cl, RESP1, 400, HOST, "bad_request");
	SPIN(f, f->cl.eof && f->done_calls > 0);
	assert_clean_done(f, L(CHUNKED_HEAD), L(RESP1));
	fx_fini(f);
}

/*
 * 4b. A server that answers from the head alone and closes at once, with
 * the body unread (nginx's 405 to a POST on a static file): its close is
 * a reset. The client still gets the answer, then the 400.
 */
static void
test_bad_chunking_server_closes_first(void **state)
{
	static const char body[] = "5\r\nhello\r\n";
	static const char prefix[] = CHUNKED_HEAD "5\r\nhello\r\nzz\r\n";
	static const char r405[] = "HTTP/1.1 405 Not Allowed\r\n"
	    "Content-Length: 0\r\nConnection: close\r\n\r\n";
	struct fx *f;

	(void)state;
	f = fx_new();
	/* The server reads the head only, like a server that answers
	 * before the body. */
	f->up.read_upto = L(CHUNKED_HEAD);
	fx_start(f, prefix, L(prefix));
	expect_in(f, &f->up, CHUNKED_HEAD, L(CHUNKED_HEAD));
	assert_int_equal(f->denied_calls, 1);
	assert_int_equal(f->denied_status, 400);
	/* The valid chunk went up behind the head, unread by the server. */
	SPIN(f, recv(f->up.fd, (char[32]){ 0 }, 32, MSG_PEEK) == (ssize_t)L(body));
	side_sends(&f->up, r405);
	side_io(&f->up);
	assert_int_equal(f->up.out_off, L(r405));
	side_close(&f->up);
	expect_in_refused(f, &f->cl, r405, 400, HOST, "bad_request");
	SPIN(f, f->cl.eof && f->done_calls > 0);
	assert_int_equal(f->done_calls, 1);
	assert_int_equal(f->bytes_up, L(CHUNKED_HEAD) + L(body));
	assert_int_equal(f->bytes_down, L(r405));
	fx_fini(f);
}

/* After one allowed exchange, req is refused with status; the upstream
 * sees only REQ1, then its end; the client RESP1, then the refusal. */
static void
refused_after_one(const char *req, size_t len, bool in_pieces, int status,
    enum decide_reason reason)
{
	struct fx *f;

	f = fx_new();
	fx_start(f, REQ1, L(REQ1));
	expect_in(f, &f->up, REQ1, L(REQ1));
	side_sends(&f->up, RESP1);
	expect_in(f, &f->cl, RESP1, L(RESP1));
	if (in_pieces) {
		/* The head arrives in two reads: the first one short of
		 * the limit, kept while waiting for the rest. */
		side_send(&f->cl, req, len / 2);
		fx_wait(f, 50);
		assert_int_equal(f->denied_calls, 0);
		side_send(&f->cl, req + len / 2, len - len / 2);
	} else {
		side_send(&f->cl, req, len);
	}
	SPIN(f, f->up.eof);
	assert_int_equal(f->up.in_len, L(REQ1));
	assert_int_equal(f->denied_calls, 1);
	assert_int_equal(f->reason, reason);
	assert_int_equal(f->denied_status, status);
	assert_string_equal(f->denied_host, HOST);
	assert_int_equal(f->denied_port, 80);
	f->up.shut_when_sent = true;
	expect_in_refused(f, &f->cl, RESP1, status, HOST,
	    decide_reason_name(reason));
	SPIN(f, f->cl.eof && f->done_calls > 0);
	assert_clean_done(f, L(REQ1), L(RESP1));
	fx_fini(f);
}

/* 5. TRACE, CONNECT and an oversized head, each after an allowed GET. */
static void
test_refusals(void **state)
{
	static const char trace[] = "TRACE / HTTP/1.1\r\nHost: allowed.test\r\n\r\n";
	static const char connect[] = "CONNECT allowed.test:80 HTTP/1.1\r\n"
	    "Host: allowed.test:80\r\n\r\n";
	char *big;
	size_t len = 0, i;

	(void)state;
	refused_after_one(trace, L(trace), false, 405,
	    DECIDE_METHOD_NOT_ALLOWED);
	refused_after_one(connect, L(connect), false, 403, DECIDE_HOST_CHANGED);

	/* 20 fields of 1000 bytes: over max_head (16384), each line fine. */
	big = keep(malloc(32768));
	len += (size_t)sprintf(big, "GET /big HTTP/1.1\r\nHost: allowed.test\r\n");
	for (i = 0; i < 20; i++) {
		len += (size_t)sprintf(big + len, "X-Pad-%02zu: ", i);
		memset(big + len, 'a', 1000);
		len += 1000;
		len += (size_t)sprintf(big + len, "\r\n");
	}
	len += (size_t)sprintf(big + len, "\r\n");
	refused_after_one(big, len, false, 431, DECIDE_BAD_REQUEST);
	refused_after_one(big, len, true, 431, DECIDE_BAD_REQUEST);
	kept_free(big);
}

/*
 * 6. An 8 MiB response in one go to a client that does not read at
 * first: the flow stops reading the server; then everything arrives, in
 * order, spliced through a pipe that goes back to the pool.
 */
static void
test_large_response(void **state)
{
	size_t total;
	char *resp;
	struct fx *f;

	(void)state;
	resp = with_body("HTTP/1.1 200 OK\r\nContent-Length: 8388608\r\n\r\n",
	    8 * MIB, 1, &total);
	f = fx_new();
	fx_bulk(f);
	f->cl.paused = true;
	fx_start(f, REQ1, L(REQ1));
	expect_in(f, &f->up, REQ1, L(REQ1));
	side_send(&f->up, resp, total);
	fx_wait(f, 300);
	/* Held up: the server could not send it all, the flow holds a
	 * bounded amount (its queue, a pipe, socket buffers). */
	assert_true(f->up.out_off < total);
	assert_true(f->up.out_off < 2 * MIB);
	assert_int_equal(f->cl.in_len, 0);
	/* Slowly... */
	f->cl.paused = false;
	f->cl.read_max = 4096;
	f->cl.read_every_ms = 10;
	fx_wait(f, 200);
	assert_true(f->cl.in_len > 0);
	assert_true(f->cl.in_len < total);
	/* ... then all of it. */
	f->cl.read_max = 0;
	f->cl.read_every_ms = 0;
	expect_in(f, &f->cl, resp, total);
	f->cl.shut_when_sent = true;
	SPIN(f, f->up.eof);
	f->up.shut_when_sent = true;
	SPIN(f, f->cl.eof && f->done_calls > 0);
	assert_clean_done(f, L(REQ1), total);
	/* httpflow_free (in done) gave the spliced pipe back, empty. */
	assert_null(f->hf);
	assert_int_equal(relay_pipes_count(f->pipes), 1);
	kept_free(resp);
	fx_fini(f);
}

/*
 * 7. Ends that arrive with the last bytes: a request and the client's FIN
 * in one go reach the upstream in order; a response and the server's
 * close likewise reach the client.
 */
static void
test_fin_with_data(void **state)
{
	struct fx *f;

	(void)state;
	/* The FIN already there when the flow starts (sniffed prefix). */
	f = fx_new();
	assert_int_equal(shutdown(f->cl.fd, SHUT_WR), 0);
	f->cl.shut = true;
	fx_start(f, REQ1, L(REQ1));
	SPIN(f, f->up.eof);
	assert_int_equal(f->up.in_len, L(REQ1));
	assert_memory_equal(f->up.in, REQ1, L(REQ1));
	side_sends(&f->up, RESP1);
	side_io(&f->up);
	side_close(&f->up);
	expect_in(f, &f->cl, RESP1, L(RESP1));
	SPIN(f, f->cl.eof && f->done_calls > 0);
	assert_clean_done(f, L(REQ1), L(RESP1));
	fx_fini(f);

	/* A later request and the FIN in one write. */
	f = fx_new();
	fx_start(f, REQ1, L(REQ1));
	expect_in(f, &f->up, REQ1, L(REQ1));
	side_sends(&f->cl, REQ2);
	f->cl.shut_when_sent = true;
	side_io(&f->cl);
	assert_true(f->cl.shut);
	SPIN(f, f->up.eof);
	assert_int_equal(f->up.in_len, L(REQ1 REQ2));
	assert_memory_equal(f->up.in, REQ1 REQ2, L(REQ1 REQ2));
	/* Both responses and the close in one go. */
	side_sends(&f->up, RESP1 RESP2);
	side_io(&f->up);
	side_close(&f->up);
	expect_in(f, &f->cl, RESP1 RESP2, L(RESP1 RESP2));
	SPIN(f, f->cl.eof && f->done_calls > 0);
	assert_clean_done(f, L(REQ1 REQ2), L(RESP1 RESP2));
	fx_fini(f);

	/* The server closes first: the client gets the response and the
	 * end, and the flow waits for the client's. */
	f = fx_new();
	fx_start(f, REQ1, L(REQ1));
	expect_in(f, &f->up, REQ1, L(REQ1));
	side_sends(&f->up, RESP1);
	side_io(&f->up);
	side_close(&f->up);
	expect_in(f, &f->cl, RESP1, L(RESP1));
	SPIN(f, f->cl.eof);
	fx_wait(f, 50);
	assert_int_equal(f->done_calls, 0);
	f->cl.shut_when_sent = true;
	SPIN(f, f->done_calls > 0);
	assert_clean_done(f, L(REQ1), L(RESP1));
	fx_fini(f);
}

/* 8. Nothing moves for idle_ms: the flow ends with ETIMEDOUT. */
static void
test_idle_timeout(void **state)
{
	struct fx *f;
	uint64_t took;

	(void)state;
	f = fx_new();
	f->opts.idle_ms = 200;
	f->keep_after_done = true;
	fx_start(f, REQ1, L(REQ1));
	expect_in(f, &f->up, REQ1, L(REQ1));
	SPIN(f, f->done_calls > 0);
	took = f->done_ms - f->started_ms;
	assert_int_equal(f->done_calls, 1);
	assert_int_equal(f->error, ETIMEDOUT);
	assert_int_equal(f->bytes_up, L(REQ1));
	assert_int_equal(f->bytes_down, 0);
	assert_true(took >= 190 && took < 1500);
	/* Freed after done, not in it: the sockets stay open until then. */
	fx_wait(f, 50);
	assert_false(f->cl.eof || f->up.eof);
	assert_int_equal(f->done_calls, 1);
	httpflow_free(f->hf);
	f->hf = NULL;
	SPIN(f, f->cl.eof && f->up.eof);
	fx_fini(f);
}

/* 9. The client resets in the middle of a large response: done with an
 * error, every fd closed (ASan builds check the memory). */
static void
test_client_reset(void **state)
{
	size_t total;
	char *resp;
	struct fx *f;

	(void)state;
	resp = with_body("HTTP/1.1 200 OK\r\nContent-Length: 4194304\r\n\r\n",
	    4 * MIB, 2, &total);
	f = fx_new();
	fx_bulk(f);
	f->cl.read_max = 8192;
	fx_start(f, REQ1, L(REQ1));
	expect_in(f, &f->up, REQ1, L(REQ1));
	side_send(&f->up, resp, total);
	SPIN(f, f->cl.in_len >= 200000);
	assert_memory_equal(f->cl.in, resp, f->cl.in_len);
	side_reset(&f->cl);
	SPIN(f, f->done_calls > 0);
	assert_int_equal(f->done_calls, 1);
	assert_true(f->error == ECONNRESET || f->error == EPIPE);
	assert_true(f->bytes_down >= 200000);
	assert_true(f->bytes_down < total);
	assert_int_equal(f->bytes_up, L(REQ1));
	kept_free(resp);
	fx_fini(f);
}

/*
 * 9b. The server answers and resets at once: the reset comes in the same
 * readiness as the answer's bytes. The client gets what came before it,
 * and the flow ends now with the error, not at the idle timeout.
 */
static void
test_upstream_reset_after_answer(void **state)
{
	struct fx *f;

	(void)state;
	f = fx_new();
	fx_start(f, REQ1, L(REQ1));
	expect_in(f, &f->up, REQ1, L(REQ1));
	side_sends(&f->up, RESP1);
	side_io(&f->up);
	assert_int_equal(f->up.out_off, L(RESP1));
	side_reset(&f->up);
	expect_in(f, &f->cl, RESP1, L(RESP1));
	SPIN(f, f->done_calls > 0);
	assert_int_equal(f->done_calls, 1);
	assert_int_equal(f->error, ECONNRESET);
	assert_int_equal(f->bytes_up, L(REQ1));
	assert_int_equal(f->bytes_down, L(RESP1));
	fx_fini(f);
}

/* 10. A 4 MiB upload to a server that reads late, then slowly: the flow
 * stops reading the client, and every byte arrives. */
static void
test_upload(void **state)
{
	static const char head[] = "POST /up HTTP/1.1\r\nHost: allowed.test\r\n"
	    "Content-Length: 4194304\r\n\r\n";
	static const char r201[] = "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
	size_t total;
	char *req;
	struct fx *f;

	(void)state;
	req = with_body(head, 4 * MIB, 3, &total);
	f = fx_new();
	fx_small_bufs(f);
	f->up.paused = true;
	fx_start(f, head, L(head));
	side_send(&f->cl, req + L(head), 4 * MIB);
	fx_wait(f, 300);
	assert_true(f->cl.out_off < 4 * MIB);
	assert_true(f->cl.out_off < 2 * MIB);
	f->up.paused = false;
	f->up.read_max = 4096;
	f->up.read_every_ms = 10;
	fx_wait(f, 200);
	assert_true(f->up.in_len > 0 && f->up.in_len < total);
	f->up.read_max = 0;
	f->up.read_every_ms = 0;
	expect_in(f, &f->up, req, total);
	assert_int_equal(f->denied_calls, 0);
	side_sends(&f->up, r201);
	expect_in(f, &f->cl, r201, L(r201));
	f->cl.shut_when_sent = true;
	SPIN(f, f->up.eof);
	f->up.shut_when_sent = true;
	SPIN(f, f->cl.eof && f->done_calls > 0);
	assert_clean_done(f, total, L(r201));
	kept_free(req);
	fx_fini(f);
}

#define B_R1	"GET /1 HTTP/1.1\r\nHost: allowed.test\r\n" \
		"Authorization: Bearer mine\r\nCookie: a=1\r\n\r\n"
#define B_R2	"GET /2 HTTP/1.1\r\nHost: allowed.test\r\n" \
		"Accept-Encoding: gzip\r\nX-Api-Key: k\r\n\r\n"
/* What the upstream gets: stripped, or stripped and injected. */
#define B_S1	"GET /1 HTTP/1.1\r\nHost: allowed.test\r\n\r\n"
#define B_I1	"GET /1 HTTP/1.1\r\nHost: allowed.test\r\n" \
		"Authorization: Bearer " SECRET "\r\nAccept-Encoding: identity\r\n\r\n"
#define B_I2	"GET /2 HTTP/1.1\r\nHost: allowed.test\r\n" \
		"Authorization: Bearer " SECRET "\r\nAccept-Encoding: identity\r\n\r\n"
/* An echo of the injected field and of the secret alone, then masked. */
#define B_ECHO	"HTTP/1.1 200 OK\r\nContent-Length: 57\r\n\r\n" \
		"auth=Bearer " SECRET "; raw=" SECRET ";"
#define B_MASKED "HTTP/1.1 200 OK\r\nContent-Length: 57\r\n\r\n" \
		"auth=**************************; raw=*******************;"

/*
 * A bound host: the client's credentials are stripped from every request;
 * with inject the binding's goes up instead and is masked wherever a
 * response echoes it.
 */
static void
test_bound_host(void **state)
{
	struct ctl_binding b;
	struct fx *f;

	(void)state;
	assert_int_equal(L(SECRET), 19);
	assert_int_equal(L(B_ECHO), L(B_MASKED));
	assert_int_equal(L(B_ECHO) - (size_t)(strstr(B_ECHO, "\r\n\r\n") + 4 - B_ECHO), 57);
	memset(&b, 0, sizeof(b));
	snprintf(b.name, sizeof(b.name), "api");
	b.inject = CTL_INJECT_BEARER;
	b.secret = keep(strdup(SECRET));

	/* Strip only. */
	f = fx_new();
	f->opts.binding = &b;
	fx_start(f, B_R1, L(B_R1));
	expect_in(f, &f->up, B_S1, L(B_S1));
	side_sends(&f->up, RESP1);
	expect_in(f, &f->cl, RESP1, L(RESP1));
	f->cl.shut_when_sent = true;
	SPIN(f, f->up.eof);
	f->up.shut_when_sent = true;
	SPIN(f, f->done_calls > 0);
	assert_clean_done(f, L(B_R1), L(RESP1));
	assert_int_equal(f->injected_calls, 0);
	fx_fini(f);

	/* Strip and inject, on each request; the echo comes back masked. */
	f = fx_new();
	f->opts.binding = &b;
	f->opts.inject = 1;
	fx_start(f, B_R1, L(B_R1));
	expect_in(f, &f->up, B_I1, L(B_I1));
	side_sends(&f->cl, B_R2);
	expect_in(f, &f->up, B_I1 B_I2, L(B_I1 B_I2));
	side_sends(&f->up, B_ECHO);
	side_sends(&f->up, B_ECHO);
	f->up.shut_when_sent = true;
	expect_in(f, &f->cl, B_MASKED B_MASKED, L(B_MASKED B_MASKED));
	f->cl.shut_when_sent = true;
	SPIN(f, f->cl.eof && f->done_calls > 0);
	assert_clean_done(f, L(B_R1 B_R2), L(B_ECHO B_ECHO));
	assert_null(memmem(f->cl.in, f->cl.in_len, SECRET, L(SECRET)));
	/* One injected event per request that carried the credential. */
	assert_int_equal(f->injected_calls, 2);
	fx_fini(f);
	kept_free(b.secret);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_keepalive, test_teardown),
		cmocka_unit_test_teardown(test_host_switch, test_teardown),
		cmocka_unit_test_teardown(test_declined_upgrade_still_judged, test_teardown),
		cmocka_unit_test_teardown(test_upgrade_accepted, test_teardown),
		cmocka_unit_test_teardown(test_unasked_switch, test_teardown),
		cmocka_unit_test_teardown(test_bodies_are_framed, test_teardown),
		cmocka_unit_test_teardown(test_bad_chunking, test_teardown),
		cmocka_unit_test_teardown(test_bad_chunking_server_closes_first, test_teardown),
		cmocka_unit_test_teardown(test_refusals, test_teardown),
		cmocka_unit_test_teardown(test_large_response, test_teardown),
		cmocka_unit_test_teardown(test_fin_with_data, test_teardown),
		cmocka_unit_test_teardown(test_idle_timeout, test_teardown),
		cmocka_unit_test_teardown(test_client_reset, test_teardown),
		cmocka_unit_test_teardown(test_upstream_reset_after_answer, test_teardown),
		cmocka_unit_test_teardown(test_upload, test_teardown),
		cmocka_unit_test_teardown(test_bound_host, test_teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
