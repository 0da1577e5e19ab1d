/*
 * The relays' pipe cache (relay_pipes_*): pipes go back empty and are
 * reused, a pipe with bytes still in it is never handed to another relay,
 * the bound holds, and freeing the cache closes everything it kept.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>

#include "proxyd/relay.h"

#define SPIN_MS 5000

static int
count_fds(void)
{
	DIR *d;
	int n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return -1;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

static void
tcp_pair(int *a, int *b)
{
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	int l;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(l >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&sin, &slen), 0);
	*a = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(*a >= 0);
	assert_int_equal(connect(*a, (struct sockaddr *)&sin, sizeof(sin)), 0);
	*b = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	assert_true(*b >= 0);
	close(l);
}

static void
set_nonblock(int fd)
{
	assert_int_not_equal(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), -1);
}

struct fix {
	struct event_base *base;
	int client;		/* the sandbox's end */
	int upstream;		/* the server's end */
	struct relay *r;
	bool done;
	struct relay_result res;
};

static void
done_cb(struct relay *r, const struct relay_result *res, void *arg)
{
	struct fix *f = arg;

	(void)r;
	f->done = true;
	f->res = *res;
}

/* A relay between two fresh loopback pairs, its pipes from p. */
static void
fix_start(struct fix *f, struct event_base *base, struct relay_pipes *p)
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
	f->r = relay_new(base, rc, ru, &o, done_cb, f);
	assert_non_null(f->r);
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Runs the loop until *flag is set, at most SPIN_MS. */
static void
spin_until(struct event_base *base, const bool *flag)
{
	uint64_t end = now_ms() + SPIN_MS;

	while (!*flag && now_ms() < end) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (!*flag)
			usleep(1000);
	}
	assert_true(*flag);
}

/* Bytes both ways, then both ends close: a clean end, pipes drained. */
static void
fix_run_clean(struct fix *f)
{
	char buf[64];
	bool got = false;
	uint64_t end;
	ssize_t n;

	assert_int_equal(send(f->client, "ping", 4, 0), 4);
	assert_int_equal(send(f->upstream, "pong", 4, 0), 4);
	set_nonblock(f->client);
	set_nonblock(f->upstream);
	for (end = now_ms() + SPIN_MS; !got && now_ms() < end; ) {
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		n = recv(f->upstream, buf, sizeof(buf), MSG_PEEK);
		got = n == 4 && recv(f->client, buf, sizeof(buf), MSG_PEEK) == 4;
		if (!got)
			usleep(1000);
	}
	assert_true(got);
	shutdown(f->client, SHUT_WR);
	shutdown(f->upstream, SHUT_WR);
	spin_until(f->base, &f->done);
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
	struct fix f;
	int before, with_socks;

	(void)state;
	before = count_fds();
	assert_non_null(base = event_base_new());
	assert_non_null(p = relay_pipes_new(8));
	assert_int_equal(relay_pipes_count(p), 0);
	fix_start(&f, base, p);
	fix_run_clean(&f);
	/* Both directions' pipes came back. */
	assert_int_equal(relay_pipes_count(p), 2);

	/* The next relay takes them: no new pipe is made. */
	fix_start(&f, base, p);
	assert_int_equal(relay_pipes_count(p), 0);
	with_socks = count_fds();
	fix_run_clean(&f);
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
	struct fix f;
	static char junk[256 * 1024];
	int small = 4096, before;
	bool stuck = false;
	uint64_t end;

	(void)state;
	before = count_fds();
	assert_non_null(base = event_base_new());
	assert_non_null(p = relay_pipes_new(8));
	fix_start(&f, base, p);
	/* The server reads nothing and takes little: bytes pile up in the
	 * relay's pipe toward it. */
	assert_int_equal(setsockopt(f.upstream, SOL_SOCKET, SO_RCVBUF, &small,
	    sizeof(small)), 0);
	set_nonblock(f.client);
	memset(junk, 'x', sizeof(junk));
	for (end = now_ms() + SPIN_MS; !stuck && now_ms() < end; ) {
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
	 * bytes (fix_run_clean checks the exact counts). */
	fix_start(&f, base, p);
	fix_run_clean(&f);
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
	struct fix f;
	int before;

	(void)state;
	before = count_fds();
	assert_non_null(base = event_base_new());
	assert_non_null(p = relay_pipes_new(1));
	fix_start(&f, base, p);
	fix_run_clean(&f);
	assert_int_equal(relay_pipes_count(p), 1);
	/* Base, plus the one cached pipe's two fds. */
	event_base_free(base);
	assert_int_equal(count_fds(), before + 2);
	relay_pipes_free(p);
	assert_int_equal(count_fds(), before);

	/* No cache at all: every pipe is closed with its relay. */
	assert_non_null(base = event_base_new());
	fix_start(&f, base, NULL);
	fix_run_clean(&f);
	event_base_free(base);
	assert_int_equal(count_fds(), before);
	relay_pipes_free(NULL);
	assert_int_equal(relay_pipes_count(NULL), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pipes_reused),
		cmocka_unit_test(test_dirty_pipe_dropped),
		cmocka_unit_test(test_bound),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
