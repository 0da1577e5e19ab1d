#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>

#include "proxyd/relay.h"
#include "tests/unit/socktest.h"

#define MIB		(1024 * 1024)
/* Peers give up, and the loop exits, after this; alarm() backs both. */
#define DEADLINE_MS	4000
#define WATCHDOG_S	5

/* Fault injection: splice() on these fds fails with EINVAL, as it does for
 * a file that can't be spliced. The relay links against this definition. */
static int splice_fail_in = -1;
static int splice_fail_out = -1;
static int splice_fail_hits;

ssize_t
splice(int fd_in, loff_t *off_in, int fd_out, loff_t *off_out, size_t len,
    unsigned int flags)
{
	static ssize_t (*real)(int, loff_t *, int, loff_t *, size_t,
	    unsigned int);

	if ((splice_fail_in != -1 && fd_in == splice_fail_in) ||
	    (splice_fail_out != -1 && fd_out == splice_fail_out)) {
		splice_fail_hits++;
		errno = EINVAL;
		return -1;
	}
	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "splice");
	return real(fd_in, off_in, fd_out, off_out, len, flags);
}

/* Counting: epoll_ctl() calls libevent makes for these two fds, by op. */
static int epoll_watch[2] = { -1, -1 };
static int epoll_ops[4];		/* [EPOLL_CTL_ADD..EPOLL_CTL_MOD] */

int
epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	static int (*real)(int, int, int, struct epoll_event *);

	if ((fd == epoll_watch[0] || fd == epoll_watch[1]) && op >= 0 &&
	    op < 4)
		epoll_ops[op]++;
	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "epoll_ctl");
	return real(epfd, op, fd, ev);
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t
clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

static struct timeval
ms_tv(unsigned int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	return tv;
}

/*
 * A test peer on its own thread: sends a pattern stream, reads and checks
 * one, optionally half-closes or aborts, and gives up at DEADLINE_MS.
 */
struct peer {
	int fd;
	/* sending */
	size_t send_len;
	unsigned int send_seed;
	size_t send_chunk;		/* 0: as much as fits */
	unsigned int send_interval_ms;	/* pause between chunks */
	bool send_after_eof;		/* answer only once the other side ended */
	bool shut_after_send;
	/* receiving */
	const uint8_t *expect_prefix;
	size_t expect_prefix_len;
	unsigned int recv_seed;
	unsigned int read_delay_ms;	/* don't read at first */
	bool abort_on_recv;		/* RST once abort_at bytes arrived */
	size_t abort_at;
	/* results */
	size_t sent;			/* atomic: the main thread samples it */
	size_t received;
	bool mismatch;
	bool eof;
	bool shut;
	bool aborted;
	bool timed_out;
	int rd_err;
	int wr_err;
	pthread_t th;
};

static void
peer_check(struct peer *p, const uint8_t *buf, size_t n)
{
	uint8_t want[16384];
	size_t i = 0, k, c;

	while (i < n) {
		k = p->received + i;
		if (k < p->expect_prefix_len) {
			c = p->expect_prefix_len - k < n - i ? p->expect_prefix_len - k : n - i;
			if (memcmp(buf + i, p->expect_prefix + k, c) != 0)
				p->mismatch = true;
		} else {
			c = n - i < sizeof(want) ? n - i : sizeof(want);
			pattern_fill(want, k - p->expect_prefix_len, c, p->recv_seed);
			if (memcmp(buf + i, want, c) != 0)
				p->mismatch = true;
		}
		i += c;
	}
	p->received += n;
}

static void
peer_read(struct peer *p)
{
	uint8_t buf[65536];
	ssize_t n;

	for (;;) {
		n = recv(p->fd, buf, sizeof(buf), 0);
		if (n > 0) {
			peer_check(p, buf, (size_t)n);
			continue;
		}
		if (n == 0)
			p->eof = true;
		else if (errno != EAGAIN && errno != EINTR)
			p->rd_err = errno;
		return;
	}
}

static void
peer_write(struct peer *p, uint64_t *next_send)
{
	uint8_t buf[65536];
	size_t want;
	ssize_t n;

	want = p->send_len - p->sent;
	if (want > sizeof(buf))
		want = sizeof(buf);
	if (p->send_chunk > 0 && want > p->send_chunk)
		want = p->send_chunk;
	pattern_fill(buf, p->sent, want, p->send_seed);
	n = send(p->fd, buf, want, MSG_NOSIGNAL);
	if (n > 0) {
		__atomic_store_n(&p->sent, p->sent + (size_t)n, __ATOMIC_RELAXED);
		if (p->send_interval_ms > 0)
			*next_send = now_ms() + p->send_interval_ms;
	} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
		p->wr_err = errno;
	}
}

static void
peer_abort(struct peer *p)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(p->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(p->fd);
	p->fd = -1;
	p->aborted = true;
}

static void *
peer_main(void *arg)
{
	struct peer *p = arg;
	uint64_t start = now_ms(), next_send = start, now;
	struct pollfd pfd;
	bool can_send, want_read, sent_all;

	for (;;) {
		now = now_ms();
		if (now - start > DEADLINE_MS) {
			p->timed_out = true;
			break;
		}
		sent_all = p->sent == p->send_len || p->wr_err != 0;
		if (sent_all && p->shut_after_send && !p->shut &&
		    (!p->send_after_eof || p->eof)) {
			shutdown(p->fd, SHUT_WR);
			p->shut = true;
		}
		if (p->abort_on_recv && sent_all && p->received >= p->abort_at) {
			peer_abort(p);
			break;
		}
		if ((p->eof || p->rd_err != 0) && sent_all &&
		    (!p->shut_after_send || p->shut || p->wr_err != 0))
			break;
		can_send = !sent_all && now >= next_send &&
		    (!p->send_after_eof || p->eof);
		want_read = !p->eof && p->rd_err == 0 &&
		    now - start >= p->read_delay_ms;
		pfd.fd = p->fd;
		pfd.events = (short)((want_read ? POLLIN : 0) |
		    (can_send ? POLLOUT : 0));
		pfd.revents = 0;
		if (poll(&pfd, 1, 10) <= 0)
			continue;
		if (want_read && (pfd.revents & (POLLIN | POLLERR | POLLHUP)))
			peer_read(p);
		else if (!want_read && (pfd.revents & (POLLERR | POLLHUP)))
			usleep(5000);
		if (can_send && (pfd.revents & (POLLOUT | POLLERR | POLLHUP)))
			peer_write(p, &next_send);
	}
	return NULL;
}

static void
peer_start(struct peer *p)
{
	set_nonblock(p->fd);
	assert_int_equal(pthread_create(&p->th, NULL, peer_main, p), 0);
}

static void
peer_join(struct peer *p)
{
	assert_int_equal(pthread_join(p->th, NULL), 0);
	if (p->fd != -1)
		close(p->fd);
	p->fd = -1;
}

/* Two peers, the relay between them, and the loop they all run on. */
struct fix {
	int fds_before;
	struct event_base *base;
	struct peer client;		/* the sandbox's end */
	struct peer upstream;		/* the server's end */
	int relay_client;
	int relay_upstream;
	struct relay *r;
	struct relay_opts opts;
	int done_calls;
	struct relay_result res;
	struct relay_stats stats;	/* taken inside done */
	uint64_t started_ms;
	uint64_t done_ms;
	bool keep_after_done;		/* free after the loop, not in done */
	/* sampling while it runs */
	struct event *tick;
	size_t max_inflight_up;
	size_t max_inflight_down;
	unsigned int stall_sample_ms;
	bool stall_sampled;
	size_t stall_client_sent;
	uint64_t stall_bytes_up;
	size_t stall_inflight_up;
	uint64_t stall_cpu_ns;		/* loop thread's CPU during the stall */
	uint64_t stall_wall_ns;
	uint64_t cpu_mark_ns;
	uint64_t wall_mark_ns;
	unsigned int free_at_ms;	/* relay_free() mid-transfer */
	unsigned int abort_at_ms;	/* relay_abort() mid-transfer */
	int abort_done_calls;
};

static void
fix_init(struct fix *f, bool unix_pair)
{
	int sv[2];

	alarm(WATCHDOG_S);
	memset(f, 0, sizeof(*f));
	f->fds_before = count_fds();
	assert_true(f->fds_before > 0);
	f->base = event_base_new();
	assert_non_null(f->base);
	if (unix_pair) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
		f->client.fd = sv[0];
		f->relay_client = sv[1];
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
		f->relay_upstream = sv[0];
		f->upstream.fd = sv[1];
	} else {
		tcp_pair(&f->client.fd, &f->relay_client);
		tcp_pair(&f->relay_upstream, &f->upstream.fd);
	}
}

static void
fix_fini(struct fix *f)
{
	if (f->tick != NULL)
		event_free(f->tick);
	event_base_free(f->base);
	assert_int_equal(count_fds(), f->fds_before);
	splice_fail_in = splice_fail_out = -1;
	alarm(0);
}

static void
fix_done(struct relay *r, const struct relay_result *res, void *arg)
{
	struct fix *f = arg;

	assert_ptr_equal(r, f->r);
	f->done_calls++;
	f->res = *res;
	f->done_ms = now_ms();
	relay_get_stats(r, &f->stats);
	if (!f->keep_after_done) {
		relay_free(r);
		f->r = NULL;
	}
	event_base_loopbreak(f->base);
}

static void
fix_tick(evutil_socket_t fd, short what, void *arg)
{
	struct fix *f = arg;
	struct relay_stats st;
	uint64_t t = now_ms() - f->started_ms;

	(void)fd;
	(void)what;
	if (f->r == NULL || f->done_calls > 0)
		return;
	relay_get_stats(f->r, &st);
	if (st.inflight_up > f->max_inflight_up)
		f->max_inflight_up = st.inflight_up;
	if (st.inflight_down > f->max_inflight_down)
		f->max_inflight_down = st.inflight_down;
	if (f->stall_sample_ms > 0 && f->cpu_mark_ns == 0 &&
	    t >= f->stall_sample_ms / 3) {
		f->cpu_mark_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID);
		f->wall_mark_ns = clock_ns(CLOCK_MONOTONIC);
	}
	if (f->stall_sample_ms > 0 && !f->stall_sampled && t >= f->stall_sample_ms) {
		f->stall_sampled = true;
		f->stall_cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - f->cpu_mark_ns;
		f->stall_wall_ns = clock_ns(CLOCK_MONOTONIC) - f->wall_mark_ns;
		f->stall_client_sent = __atomic_load_n(&f->client.sent, __ATOMIC_RELAXED);
		f->stall_bytes_up = st.bytes_up;
		f->stall_inflight_up = st.inflight_up;
	}
	if (f->free_at_ms > 0 && t >= f->free_at_ms) {
		relay_free(f->r);
		f->r = NULL;
		event_base_loopbreak(f->base);
	} else if (f->abort_at_ms > 0 && t >= f->abort_at_ms) {
		relay_abort(f->r);
		f->abort_done_calls = f->done_calls;
	}
}

/* Starts relay and peers, runs the loop until done (or the deadline), and
 * joins the peers. */
static void
fix_run(struct fix *f)
{
	struct timeval tv = ms_tv(DEADLINE_MS), tick = ms_tv(10);

	f->r = relay_new(f->base, f->relay_client, f->relay_upstream, &f->opts,
	    fix_done, f);
	assert_non_null(f->r);
	f->started_ms = now_ms();
	f->tick = event_new(f->base, -1, EV_PERSIST, fix_tick, f);
	assert_non_null(f->tick);
	assert_int_equal(event_add(f->tick, &tick), 0);
	peer_start(&f->client);
	peer_start(&f->upstream);
	assert_int_equal(event_base_loopexit(f->base, &tv), 0);
	assert_int_not_equal(event_base_dispatch(f->base), -1);
	peer_join(&f->client);
	peer_join(&f->upstream);
	if (f->r != NULL) {
		relay_free(f->r);
		f->r = NULL;
	}
}

static int
group_setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	pattern_init();
	return 0;
}

static void
assert_clean_eof(const struct fix *f)
{
	assert_int_equal(f->done_calls, 1);
	assert_int_equal(f->res.reason, RELAY_EOF);
	assert_int_equal(f->res.error, 0);
	assert_false(f->client.mismatch);
	assert_false(f->upstream.mismatch);
	assert_false(f->client.timed_out);
	assert_false(f->upstream.timed_out);
	assert_true(f->client.eof);
	assert_true(f->upstream.eof);
	assert_int_equal(f->client.rd_err, 0);
	assert_int_equal(f->upstream.rd_err, 0);
	assert_int_equal(f->client.wr_err, 0);
	assert_int_equal(f->upstream.wr_err, 0);
}

static bool
peer_saw_reset(const struct peer *p)
{
	return p->rd_err == ECONNRESET || p->wr_err == ECONNRESET;
}

static void
test_bulk_both_ways_with_prefix(void **state)
{
	struct fix f;
	uint8_t prefix[1000];

	(void)state;
	memset(prefix, 'P', sizeof(prefix));
	memcpy(prefix, "GET / HTTP/1.1\r\n", 16);
	fix_init(&f, false);
	f.opts.prefix = prefix;
	f.opts.prefix_len = sizeof(prefix);
	f.client.send_len = MIB;
	f.client.send_seed = 1;
	f.client.shut_after_send = true;
	f.client.recv_seed = 2;
	f.upstream.send_len = MIB;
	f.upstream.send_seed = 2;
	f.upstream.shut_after_send = true;
	f.upstream.expect_prefix = prefix;
	f.upstream.expect_prefix_len = sizeof(prefix);
	f.upstream.recv_seed = 1;
	fix_run(&f);

	assert_clean_eof(&f);
	assert_int_equal(f.upstream.received, sizeof(prefix) + MIB);
	assert_int_equal(f.client.received, MIB);
	assert_int_equal(f.res.bytes_up, sizeof(prefix) + MIB);
	assert_int_equal(f.res.bytes_down, MIB);
	assert_int_equal(f.stats.copy_up, 0);
	assert_int_equal(f.stats.copy_down, 0);
	assert_true(f.stats.peak_up <= RELAY_PIPE_DEFAULT);
	assert_true(f.stats.peak_down <= RELAY_PIPE_DEFAULT);
	fix_fini(&f);
}

/* The client ends its request; the response still flows back after. */
static void
test_half_close(void **state)
{
	struct fix f;

	(void)state;
	fix_init(&f, false);
	f.client.send_len = 10000;
	f.client.send_seed = 3;
	f.client.shut_after_send = true;
	f.client.recv_seed = 4;
	f.upstream.recv_seed = 3;
	f.upstream.send_len = 300000;
	f.upstream.send_seed = 4;
	f.upstream.send_after_eof = true;
	f.upstream.shut_after_send = true;
	fix_run(&f);

	assert_clean_eof(&f);
	assert_int_equal(f.upstream.received, 10000);
	assert_int_equal(f.client.received, 300000);
	assert_int_equal(f.res.bytes_up, 10000);
	assert_int_equal(f.res.bytes_down, 300000);
	fix_fini(&f);
}

/* The upstream doesn't read for a while: the relay must stop reading the
 * client rather than buffer, and lose nothing. */
static void
test_backpressure(void **state)
{
	struct fix f;

	(void)state;
	fix_init(&f, false);
	set_bufs(f.client.fd, 32768);
	set_bufs(f.relay_client, 32768);
	set_bufs(f.relay_upstream, 32768);
	set_bufs(f.upstream.fd, 32768);
	f.opts.pipe_bytes = 65536;
	f.client.send_len = 8 * MIB;
	f.client.send_seed = 5;
	f.client.shut_after_send = true;
	f.upstream.recv_seed = 5;
	f.upstream.read_delay_ms = 600;
	f.upstream.send_after_eof = true;
	f.upstream.shut_after_send = true;
	f.stall_sample_ms = 450;
	fix_run(&f);

	assert_clean_eof(&f);
	assert_true(f.stall_sampled);
	/* Stalled: the client is blocked, the relay holds at most a pipe. */
	assert_true(f.stall_client_sent < 8 * MIB);
	assert_true(f.stall_bytes_up < MIB);
	assert_true(f.stall_inflight_up <= 65536);
	/* ... and waits without spinning on the readable client. */
	assert_true(f.stall_cpu_ns < f.stall_wall_ns / 4);
	assert_true(f.max_inflight_up <= 65536);
	assert_true(f.stats.peak_up <= 65536);
	assert_int_equal(f.upstream.received, 8 * MIB);
	assert_int_equal(f.res.bytes_up, 8 * MIB);
	assert_int_equal(f.res.bytes_down, 0);
	fix_fini(&f);
}

/* A big prefix against a slow, small-buffered upstream: partial writes. */
static void
test_prefix_partial_writes(void **state)
{
	struct fix f;
	uint8_t *prefix;

	(void)state;
	prefix = malloc(RELAY_PREFIX_MAX);
	assert_non_null(prefix);
	pattern_fill(prefix, 0, RELAY_PREFIX_MAX, 777);
	fix_init(&f, false);
	set_bufs(f.relay_upstream, 4096);
	set_bufs(f.upstream.fd, 4096);
	f.opts.prefix = prefix;
	f.opts.prefix_len = RELAY_PREFIX_MAX;
	f.opts.pipe_bytes = 16384;
	f.client.send_len = 100000;
	f.client.send_seed = 6;
	f.client.shut_after_send = true;
	f.upstream.expect_prefix = prefix;
	f.upstream.expect_prefix_len = RELAY_PREFIX_MAX;
	f.upstream.recv_seed = 6;
	f.upstream.read_delay_ms = 200;
	f.upstream.send_after_eof = true;
	f.upstream.shut_after_send = true;
	fix_run(&f);
	free(prefix);

	assert_clean_eof(&f);
	assert_int_equal(f.upstream.received, RELAY_PREFIX_MAX + 100000);
	assert_int_equal(f.res.bytes_up, RELAY_PREFIX_MAX + 100000);
	/* The prefix may be in flight whole; spliced data only a pipe's worth. */
	assert_true(f.stats.peak_up <= RELAY_PREFIX_MAX);
	fix_fini(&f);
}

/* The upstream resets: the client must see a reset, not a clean EOF. */
static void
test_reset_from_upstream(void **state)
{
	struct fix f;

	(void)state;
	fix_init(&f, false);
	f.client.send_len = 1000;
	f.client.send_seed = 7;
	f.upstream.recv_seed = 7;
	f.upstream.abort_on_recv = true;
	f.upstream.abort_at = 1000;
	fix_run(&f);

	assert_int_equal(f.done_calls, 1);
	assert_int_equal(f.res.reason, RELAY_ERROR);
	assert_int_equal(f.res.error, ECONNRESET);
	assert_int_equal(f.res.side, RELAY_SIDE_UPSTREAM);
	assert_int_equal(f.res.bytes_up, 1000);
	assert_true(f.upstream.aborted);
	assert_false(f.client.eof);
	assert_int_equal(f.client.rd_err, ECONNRESET);
	assert_false(f.client.timed_out);
	fix_fini(&f);
}

/* And the other way round. */
static void
test_reset_from_client(void **state)
{
	struct fix f;

	(void)state;
	fix_init(&f, false);
	f.upstream.send_len = 1000;
	f.upstream.send_seed = 8;
	f.client.recv_seed = 8;
	f.client.abort_on_recv = true;
	f.client.abort_at = 1000;
	fix_run(&f);

	assert_int_equal(f.done_calls, 1);
	assert_int_equal(f.res.reason, RELAY_ERROR);
	assert_int_equal(f.res.error, ECONNRESET);
	assert_int_equal(f.res.side, RELAY_SIDE_CLIENT);
	assert_int_equal(f.res.bytes_down, 1000);
	assert_true(f.client.aborted);
	assert_false(f.upstream.eof);
	assert_int_equal(f.upstream.rd_err, ECONNRESET);
	assert_false(f.upstream.timed_out);
	fix_fini(&f);
}

static void
test_idle_timeout(void **state)
{
	struct fix f;
	uint64_t took;

	(void)state;
	fix_init(&f, false);
	f.opts.idle_ms = 200;
	fix_run(&f);

	took = f.done_ms - f.started_ms;
	assert_int_equal(f.done_calls, 1);
	assert_int_equal(f.res.reason, RELAY_IDLE);
	assert_true(took >= 190 && took < 1500);
	/* Nothing was stranded, so both ends get a plain close. */
	assert_true(f.client.eof);
	assert_true(f.upstream.eof);
	assert_false(f.client.timed_out);
	assert_false(f.upstream.timed_out);
	fix_fini(&f);
}

/* A byte every 100 ms keeps a 200 ms idle timer from firing. */
static void
test_idle_reset_by_activity(void **state)
{
	struct fix f;
	uint64_t took;

	(void)state;
	fix_init(&f, false);
	f.opts.idle_ms = 200;
	f.client.send_len = 6;
	f.client.send_chunk = 1;
	f.client.send_interval_ms = 100;
	f.client.send_seed = 9;
	f.upstream.recv_seed = 9;
	fix_run(&f);

	took = f.done_ms - f.started_ms;
	assert_int_equal(f.done_calls, 1);
	assert_int_equal(f.res.reason, RELAY_IDLE);
	assert_int_equal(f.res.bytes_up, 6);
	assert_int_equal(f.upstream.received, 6);
	assert_false(f.upstream.mismatch);
	assert_true(took >= 690 && took < 2500);
	fix_fini(&f);
}

/* relay_free() mid-transfer: no done, everything closed, peers reset. */
static void
test_free_mid_transfer(void **state)
{
	struct fix f;

	(void)state;
	fix_init(&f, false);
	f.client.send_len = 8 * MIB;
	f.client.send_seed = 10;
	f.client.shut_after_send = true;
	f.client.recv_seed = 11;
	f.upstream.send_len = 8 * MIB;
	f.upstream.send_seed = 11;
	f.upstream.recv_seed = 10;
	f.upstream.read_delay_ms = 300;
	f.free_at_ms = 100;
	fix_run(&f);

	assert_int_equal(f.done_calls, 0);
	assert_null(f.r);
	/* Whichever of send() or recv() meets the reset first consumes it;
	 * recv() then reads 0, so eof alone says nothing here. */
	assert_true(peer_saw_reset(&f.client));
	assert_true(peer_saw_reset(&f.upstream));
	assert_false(f.client.mismatch);
	assert_false(f.upstream.mismatch);
	fix_fini(&f);
}

/* relay_abort() reports RELAY_ABORTED before it returns, with the counts. */
static void
test_abort(void **state)
{
	struct fix f;

	(void)state;
	fix_init(&f, false);
	f.client.send_len = 8 * MIB;
	f.client.send_seed = 12;
	f.upstream.recv_seed = 12;
	f.abort_at_ms = 100;
	fix_run(&f);

	assert_int_equal(f.done_calls, 1);
	assert_int_equal(f.abort_done_calls, 1);
	assert_int_equal(f.res.reason, RELAY_ABORTED);
	assert_true(f.res.bytes_up > 0);
	assert_false(f.upstream.eof);
	assert_int_equal(f.upstream.rd_err, ECONNRESET);
	assert_false(f.upstream.mismatch);
	fix_fini(&f);
}

/* AF_UNIX stream sockets splice fine on Linux ≥ 6.x; checked here so the
 * fallback test below knows it is injecting, not observing. */
static void
test_unix_splices(void **state)
{
	struct fix f;

	(void)state;
	fix_init(&f, true);
	f.client.send_len = MIB;
	f.client.send_seed = 13;
	f.client.shut_after_send = true;
	f.client.recv_seed = 14;
	f.upstream.send_len = MIB;
	f.upstream.send_seed = 14;
	f.upstream.shut_after_send = true;
	f.upstream.recv_seed = 13;
	fix_run(&f);

	assert_clean_eof(&f);
	assert_int_equal(f.stats.copy_up, 0);
	assert_int_equal(f.stats.copy_down, 0);
	fix_fini(&f);
}

/* splice() refuses the client socket both ways: up falls back before any
 * byte (src side), down after bytes sit in its pipe (dst side). */
static void
test_splice_einval_fallback(void **state)
{
	struct fix f;
	static const uint8_t prefix[] = "CONNECT-ish prefix";

	(void)state;
	fix_init(&f, true);
	splice_fail_in = f.relay_client;
	splice_fail_out = f.relay_client;
	splice_fail_hits = 0;
	f.opts.prefix = prefix;
	f.opts.prefix_len = sizeof(prefix);
	f.opts.pipe_bytes = 32768;
	f.client.send_len = MIB;
	f.client.send_seed = 15;
	f.client.shut_after_send = true;
	f.client.recv_seed = 16;
	f.upstream.send_len = MIB;
	f.upstream.send_seed = 16;
	f.upstream.shut_after_send = true;
	f.upstream.expect_prefix = prefix;
	f.upstream.expect_prefix_len = sizeof(prefix);
	f.upstream.recv_seed = 15;
	fix_run(&f);

	assert_clean_eof(&f);
	assert_int_equal(splice_fail_hits, 2);
	assert_int_equal(f.stats.copy_up, 1);
	assert_int_equal(f.stats.copy_down, 1);
	assert_int_equal(f.upstream.received, sizeof(prefix) + MIB);
	assert_int_equal(f.client.received, MIB);
	assert_int_equal(f.res.bytes_up, sizeof(prefix) + MIB);
	assert_int_equal(f.res.bytes_down, MIB);
	assert_true(f.stats.peak_up <= 32768);
	assert_true(f.stats.peak_down <= 32768);
	fix_fini(&f);
}

/*
 * Interest is set once per socket and never changed while bytes move: one
 * EPOLL_CTL_ADD each at the start, one DEL each at the end, no MOD, however
 * many times the pipes fill and drain (the old relay toggled its events
 * around every transfer).
 */
static void
test_interest_set_once(void **state)
{
	struct fix f;

	(void)state;
	fix_init(&f, false);
	set_bufs(f.relay_upstream, 32768);
	set_bufs(f.upstream.fd, 32768);
	f.opts.pipe_bytes = 16384;
	f.client.send_len = 4 * MIB;
	f.client.send_seed = 20;
	f.client.shut_after_send = true;
	f.client.recv_seed = 21;
	f.upstream.send_len = 4 * MIB;
	f.upstream.send_seed = 21;
	f.upstream.shut_after_send = true;
	f.upstream.recv_seed = 20;
	f.upstream.read_delay_ms = 100;	/* backpressure at least once */
	epoll_watch[0] = f.relay_client;
	epoll_watch[1] = f.relay_upstream;
	memset(epoll_ops, 0, sizeof(epoll_ops));
	fix_run(&f);
	epoll_watch[0] = epoll_watch[1] = -1;

	assert_clean_eof(&f);
	assert_int_equal(f.res.bytes_up, 4 * MIB);
	assert_int_equal(f.res.bytes_down, 4 * MIB);
	assert_int_equal(epoll_ops[EPOLL_CTL_ADD], 2);
	assert_int_equal(epoll_ops[EPOLL_CTL_MOD], 0);
	assert_int_equal(epoll_ops[EPOLL_CTL_DEL], 2);
	fix_fini(&f);
}

/*
 * Edge-triggered, a direction that stops at its per-callback budget with
 * bytes still waiting gets no new edge for them: the relay must come back
 * by itself. Everything the client sends (and its FIN) is already in the
 * relay's receive queue when the relay starts, and the upstream side never
 * fills, so no event but the relay's own can move the rest.
 */
static void
test_budget_resumes_without_edge(void **state)
{
	struct fix f;
	uint8_t *buf;
	size_t len = 1536 * 1024, off = 0;
	int big = 8 * MIB, outq = -1, inq = -1;
	uint64_t end;
	ssize_t n;

	(void)state;
	fix_init(&f, false);
	/* Asked big; the kernel caps them at net.core.[rw]mem_max. */
	(void)setsockopt(f.relay_client, SOL_SOCKET, SO_RCVBUF, &big,
	    sizeof(big));
	(void)setsockopt(f.client.fd, SOL_SOCKET, SO_SNDBUF, &big,
	    sizeof(big));
	(void)setsockopt(f.relay_upstream, SOL_SOCKET, SO_SNDBUF, &big,
	    sizeof(big));
	(void)setsockopt(f.upstream.fd, SOL_SOCKET, SO_RCVBUF, &big,
	    sizeof(big));
	buf = malloc(len);
	assert_non_null(buf);
	pattern_fill(buf, 0, len, 22);
	set_nonblock(f.client.fd);
	while (off < len && (n = send(f.client.fd, buf + off, len - off,
	    MSG_NOSIGNAL)) > 0)
		off += (size_t)n;
	free(buf);
	assert_int_equal(shutdown(f.client.fd, SHUT_WR), 0);
	/* Wait until all of it has left the client for the relay's socket. */
	for (end = now_ms() + 2000; now_ms() < end; usleep(1000))
		if (ioctl(f.client.fd, TIOCOUTQ, &outq) == 0 && outq == 0)
			break;
	assert_int_equal(ioctl(f.relay_client, FIONREAD, &inq), 0);
	if (outq != 0 || (size_t)inq != off || off < 3 * 256 * 1024) {
		close(f.client.fd);
		close(f.relay_client);
		close(f.relay_upstream);
		close(f.upstream.fd);
		fix_fini(&f);
		skip();	/* buffers too small here to hold it all */
	}
	f.client.shut = true;
	f.client.recv_seed = 23;
	f.upstream.recv_seed = 22;
	f.upstream.send_after_eof = true;
	f.upstream.shut_after_send = true;
	fix_run(&f);

	assert_clean_eof(&f);
	assert_int_equal(f.upstream.received, off);
	assert_int_equal(f.res.bytes_up, off);
	fix_fini(&f);
}

/* opts->nonblocking is a promise: relay_new() then leaves the flags alone
 * (a blocking socket stays blocking); without it O_NONBLOCK is set. */
static void
test_nonblocking_promise(void **state)
{
	struct event_base *base;
	struct relay_opts o;
	struct relay *r;
	int a, b, c, d, before;

	(void)state;
	before = count_fds();
	assert_non_null(base = event_base_new());
	memset(&o, 0, sizeof(o));
	tcp_pair(&a, &b);
	tcp_pair(&c, &d);
	o.nonblocking = 1;
	assert_non_null(r = relay_new(base, b, c, &o, fix_done, NULL));
	assert_int_equal(fcntl(b, F_GETFL) & O_NONBLOCK, 0);
	assert_int_equal(fcntl(c, F_GETFL) & O_NONBLOCK, 0);
	relay_free(r);
	tcp_pair(&b, &c);
	o.nonblocking = 0;
	assert_non_null(r = relay_new(base, b, c, &o, fix_done, NULL));
	assert_int_not_equal(fcntl(b, F_GETFL) & O_NONBLOCK, 0);
	assert_int_not_equal(fcntl(c, F_GETFL) & O_NONBLOCK, 0);
	relay_free(r);
	close(a);
	close(d);
	event_base_free(base);
	assert_int_equal(count_fds(), before);
}

/* done may leave the struct to its owner; relay_free() later is fine. */
static void
test_free_after_done(void **state)
{
	struct fix f;

	(void)state;
	fix_init(&f, false);
	f.keep_after_done = true;
	f.client.send_len = 5000;
	f.client.send_seed = 17;
	f.client.shut_after_send = true;
	f.upstream.recv_seed = 17;
	f.upstream.shut_after_send = true;
	f.upstream.send_after_eof = true;
	fix_run(&f);

	assert_clean_eof(&f);
	assert_null(f.r);
	assert_int_equal(f.res.bytes_up, 5000);
	fix_fini(&f);
}

/* Bad options fail with EINVAL and leave the sockets to the caller. */
static void
test_new_rejects(void **state)
{
	struct event_base *base;
	struct relay_opts o;
	uint8_t b = 0;
	int a, c, before;

	(void)state;
	before = count_fds();
	base = event_base_new();
	assert_non_null(base);
	tcp_pair(&a, &c);

	memset(&o, 0, sizeof(o));
	o.prefix = &b;
	o.prefix_len = RELAY_PREFIX_MAX + 1;
	errno = 0;
	assert_null(relay_new(base, a, c, &o, fix_done, NULL));
	assert_int_equal(errno, EINVAL);
	o.prefix_len = 1;
	o.prefix = NULL;
	assert_null(relay_new(base, a, c, &o, fix_done, NULL));
	o.prefix_len = 0;
	o.pipe_bytes = RELAY_PIPE_MAX + 1;
	assert_null(relay_new(base, a, c, &o, fix_done, NULL));
	o.pipe_bytes = RELAY_PIPE_MIN - 1;
	assert_null(relay_new(base, a, c, &o, fix_done, NULL));
	o.pipe_bytes = 0;
	assert_null(relay_new(base, a, a, &o, fix_done, NULL));
	assert_null(relay_new(base, a, c, &o, NULL, NULL));
	assert_null(relay_new(NULL, a, c, &o, fix_done, NULL));
	assert_null(relay_new(base, -1, c, &o, fix_done, NULL));

	assert_int_not_equal(fcntl(a, F_GETFD), -1);
	assert_int_not_equal(fcntl(c, F_GETFD), -1);
	close(a);
	close(c);
	event_base_free(base);
	relay_free(NULL);
	assert_int_equal(count_fds(), before);
}

static void
test_reason_names(void **state)
{
	(void)state;
	assert_string_equal(relay_reason_name(RELAY_EOF), "eof");
	assert_string_equal(relay_reason_name(RELAY_ERROR), "error");
	assert_string_equal(relay_reason_name(RELAY_IDLE), "idle");
	assert_string_equal(relay_reason_name(RELAY_ABORTED), "aborted");
}

/*
 * The relays' pipe cache (relay_pipes_*): pipes go back empty and are
 * reused, a pipe with bytes still in it is never handed to another relay,
 * the bound holds, and freeing the cache closes everything it kept.
 */
#define POOL_SPIN_MS 5000

struct pool_fix {
	struct event_base *base;
	int client;		/* the sandbox's end */
	int upstream;		/* the server's end */
	struct relay *r;
	bool done;
	struct relay_result res;
};

static void
pool_done_cb(struct relay *r, const struct relay_result *res, void *arg)
{
	struct pool_fix *f = arg;

	(void)r;
	f->done = true;
	f->res = *res;
}

/* A relay between two fresh loopback pairs, its pipes from p. */
static void
pool_fix_start(struct pool_fix *f, struct event_base *base,
    struct relay_pipes *p)
{
	struct relay_opts o;
	int rc, ru;

	memset(f, 0, sizeof(*f));
	f->base = base;
	tcp_pair(&f->client, &rc);
	tcp_pair(&ru, &f->upstream);
	memset(&o, 0, sizeof(o));
	o.pipes = p;
	o.idle_ms = 10000;
	f->r = relay_new(base, rc, ru, &o, pool_done_cb, f);
	assert_non_null(f->r);
}


/* Runs the loop until *flag is set, at most POOL_SPIN_MS. */
static void
pool_spin_until(struct event_base *base, const bool *flag)
{
	uint64_t end = now_ms() + POOL_SPIN_MS;

	while (!*flag && now_ms() < end) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (!*flag)
			usleep(1000);
	}
	assert_true(*flag);
}

/* Bytes both ways, then both ends close: a clean end, pipes drained. */
static void
pool_fix_run_clean(struct pool_fix *f)
{
	char buf[64];
	bool got = false;
	uint64_t end;
	ssize_t n;

	assert_int_equal(send(f->client, "ping", 4, 0), 4);
	assert_int_equal(send(f->upstream, "pong", 4, 0), 4);
	set_nonblock(f->client);
	set_nonblock(f->upstream);
	for (end = now_ms() + POOL_SPIN_MS; !got && now_ms() < end; ) {
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		n = recv(f->upstream, buf, sizeof(buf), MSG_PEEK);
		got = n == 4 && recv(f->client, buf, sizeof(buf), MSG_PEEK) == 4;
		if (!got)
			usleep(1000);
	}
	assert_true(got);
	shutdown(f->client, SHUT_WR);
	shutdown(f->upstream, SHUT_WR);
	pool_spin_until(f->base, &f->done);
	assert_int_equal(f->res.reason, RELAY_EOF);
	assert_int_equal(f->res.bytes_up, 4);
	assert_int_equal(f->res.bytes_down, 4);
	relay_free(f->r);
	close(f->client);
	close(f->upstream);
}

static void
test_pipes_reused(void **state)
{
	struct event_base *base;
	struct relay_pipes *p;
	struct pool_fix f;
	int before, with_socks;

	(void)state;
	before = count_fds();
	assert_non_null(base = event_base_new());
	assert_non_null(p = relay_pipes_new(8));
	assert_int_equal(relay_pipes_count(p), 0);
	pool_fix_start(&f, base, p);
	pool_fix_run_clean(&f);
	/* Both directions' pipes came back. */
	assert_int_equal(relay_pipes_count(p), 2);

	/* The next relay takes them: no new pipe is made. */
	pool_fix_start(&f, base, p);
	assert_int_equal(relay_pipes_count(p), 0);
	with_socks = count_fds();
	pool_fix_run_clean(&f);
	assert_int_equal(relay_pipes_count(p), 2);
	/* Its 4 sockets closed, the 4 pipe fds kept by the cache. */
	assert_int_equal(count_fds(), with_socks - 4);

	relay_pipes_free(p);
	event_base_free(base);
	assert_int_equal(count_fds(), before);
}

/* A relay cut while the upstream is not reading: its upstream pipe still
 * holds client bytes, and must be closed, never cached. */
static void
test_dirty_pipe_dropped(void **state)
{
	struct event_base *base;
	struct relay_pipes *p;
	struct relay_stats st;
	struct pool_fix f;
	static char junk[256 * 1024];
	int small = 4096, before;
	bool stuck = false;
	uint64_t end;

	(void)state;
	before = count_fds();
	assert_non_null(base = event_base_new());
	assert_non_null(p = relay_pipes_new(8));
	pool_fix_start(&f, base, p);
	/* The server reads nothing and takes little: bytes pile up in the
	 * relay's pipe toward it. */
	assert_int_equal(setsockopt(f.upstream, SOL_SOCKET, SO_RCVBUF, &small,
	    sizeof(small)), 0);
	set_nonblock(f.client);
	memset(junk, 'x', sizeof(junk));
	for (end = now_ms() + POOL_SPIN_MS; !stuck && now_ms() < end; ) {
		(void)send(f.client, junk, sizeof(junk), MSG_NOSIGNAL);
		event_base_loop(base, EVLOOP_NONBLOCK);
		relay_get_stats(f.r, &st);
		stuck = st.inflight_up > 0 && !st.copy_up;
		if (!stuck)
			usleep(1000);
	}
	assert_true(stuck);
	relay_abort(f.r);
	assert_true(f.done);
	assert_int_equal(f.res.reason, RELAY_ABORTED);
	/* Only the empty (downstream) pipe was kept. */
	assert_int_equal(relay_pipes_count(p), 1);
	relay_free(f.r);
	close(f.client);
	close(f.upstream);

	/* The kept one is clean: a relay built on it carries only its own
	 * bytes (pool_fix_run_clean checks the exact counts). */
	pool_fix_start(&f, base, p);
	pool_fix_run_clean(&f);
	relay_pipes_free(p);
	event_base_free(base);
	assert_int_equal(count_fds(), before);
}

/* The cache never holds more than its bound; the rest are closed. */
static void
test_bound(void **state)
{
	struct event_base *base;
	struct relay_pipes *p;
	struct pool_fix f;
	int before;

	(void)state;
	before = count_fds();
	assert_non_null(base = event_base_new());
	assert_non_null(p = relay_pipes_new(1));
	pool_fix_start(&f, base, p);
	pool_fix_run_clean(&f);
	assert_int_equal(relay_pipes_count(p), 1);
	/* Base, plus the one cached pipe's two fds. */
	event_base_free(base);
	assert_int_equal(count_fds(), before + 2);
	relay_pipes_free(p);
	assert_int_equal(count_fds(), before);

	/* No cache at all: every pipe is closed with its relay. */
	assert_non_null(base = event_base_new());
	pool_fix_start(&f, base, NULL);
	pool_fix_run_clean(&f);
	event_base_free(base);
	assert_int_equal(count_fds(), before);
	relay_pipes_free(NULL);
	assert_int_equal(relay_pipes_count(NULL), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bulk_both_ways_with_prefix),
		cmocka_unit_test(test_half_close),
		cmocka_unit_test(test_backpressure),
		cmocka_unit_test(test_prefix_partial_writes),
		cmocka_unit_test(test_reset_from_upstream),
		cmocka_unit_test(test_reset_from_client),
		cmocka_unit_test(test_idle_timeout),
		cmocka_unit_test(test_idle_reset_by_activity),
		cmocka_unit_test(test_free_mid_transfer),
		cmocka_unit_test(test_abort),
		cmocka_unit_test(test_unix_splices),
		cmocka_unit_test(test_splice_einval_fallback),
		cmocka_unit_test(test_free_after_done),
		cmocka_unit_test(test_interest_set_once),
		cmocka_unit_test(test_budget_resumes_without_edge),
		cmocka_unit_test(test_nonblocking_promise),
		cmocka_unit_test(test_new_rejects),
		cmocka_unit_test(test_reason_names),
		cmocka_unit_test(test_pipes_reused),
		cmocka_unit_test(test_dirty_pipe_dropped),
		cmocka_unit_test(test_bound),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
