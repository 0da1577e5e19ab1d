/*
 * The resolver against a real DNS responder on loopback (in this test):
 * answers, TTL-honouring cache, negative cache, cancellation, teardown
 * with queries in flight.
 */
#include <arpa/inet.h>
#include <ares.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "proxyd/resolve.h"

struct dns_server {
	int fd;
	uint16_t port;
	int queries;
	uint32_t ttl;
	int silent;		/* never answer */
	struct event *ev;
};

static uint64_t fake_now;

static uint64_t
fake_clock(void)
{
	return fake_now;
}

/* Answers A queries: allowed.test and rebind.test; NXDOMAIN otherwise. */
static void
dns_server_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_server *s = arg;
	uint8_t q[512], a[600];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	ssize_t n;
	size_t off = 12, qend;
	char name[256] = "";
	size_t nl = 0;
	const uint8_t *addr = NULL;
	static const uint8_t allowed[4] = { 198, 18, 1, 10 };
	static const uint8_t meta[4] = { 169, 254, 169, 254 };

	(void)what;
	n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
	if (n < 17)
		return;
	s->queries++;
	if (s->silent)
		return;
	while (off < (size_t)n && q[off] != 0 && nl < sizeof(name) - 65) {
		uint8_t l = q[off++];

		if (off + l > (size_t)n)
			return;
		if (nl)
			name[nl++] = '.';
		memcpy(name + nl, q + off, l);
		nl += l;
		off += l;
	}
	name[nl] = '\0';
	qend = off + 5;
	if (qend > (size_t)n)
		return;
	if (strcmp(name, "allowed.test") == 0)
		addr = allowed;
	else if (strcmp(name, "rebind.test") == 0)
		addr = meta;
	memcpy(a, q, qend);
	a[2] = 0x81;			/* QR, RD */
	a[3] = addr ? 0x80 : 0x83;	/* RA, NOERROR / NXDOMAIN */
	a[4] = 0; a[5] = 1;		/* QDCOUNT */
	a[6] = 0; a[7] = addr ? 1 : 0;	/* ANCOUNT */
	memset(a + 8, 0, 4);
	off = qend;
	if (addr) {
		const uint8_t rr[] = { 0xc0, 0x0c, 0, 1, 0, 1,
			(uint8_t)(s->ttl >> 24), (uint8_t)(s->ttl >> 16),
			(uint8_t)(s->ttl >> 8), (uint8_t)s->ttl, 0, 4 };

		memcpy(a + off, rr, sizeof(rr));
		off += sizeof(rr);
		memcpy(a + off, addr, 4);
		off += 4;
	}
	sendto(fd, a, off, 0, (struct sockaddr *)&from, fl);
}

struct result {
	int calls;
	struct resolve_answer ans;
};

static void
on_answer(const struct resolve_answer *ans, void *arg)
{
	struct result *r = arg;

	r->calls++;
	r->ans = *ans;
}

struct fixture {
	struct event_base *base;
	struct dns_server srv;
	struct resolver *res;
};

static int
setup(void **state)
{
	static struct fixture f;
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	char servers[64], err[256];

	memset(&f, 0, sizeof(f));
	assert_non_null(f.base = event_base_new());
	f.srv.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(f.srv.fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(f.srv.fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(f.srv.fd, (struct sockaddr *)&sin, &sl), 0);
	f.srv.port = ntohs(sin.sin_port);
	f.srv.ttl = 60;
	f.srv.ev = event_new(f.base, f.srv.fd, EV_READ | EV_PERSIST, dns_server_cb, &f.srv);
	event_add(f.srv.ev, NULL);
	snprintf(servers, sizeof(servers), "127.0.0.1:%u", f.srv.port);
	f.res = resolver_new(f.base, servers, AF_INET, err, sizeof(err));
	assert_non_null(f.res);
	fake_now = 1000000;
	resolver_set_clock(f.res, fake_clock);
	*state = &f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	resolver_free(f->res);
	event_free(f->srv.ev);
	close(f->srv.fd);
	event_base_free(f->base);
	return 0;
}

/* Runs the loop until the answer arrived, bounded to 3 s. */
static void
run_until(struct fixture *f, const struct result *r)
{
	struct timeval tick = { 0, 20000 };
	int i;

	for (i = 0; i < 150 && r->calls == 0; i++) {
		event_base_loopexit(f->base, &tick);
		event_base_dispatch(f->base);
	}
}

static void
test_answer_then_cache(void **state)
{
	struct fixture *f = *state;
	struct result r = { 0 }, r2 = { 0 };
	char txt[64];

	assert_non_null(resolver_lookup(f->res, "allowed.test", on_answer, &r));
	run_until(f, &r);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.ans.status, 0);
	assert_int_equal(r.ans.n, 1);
	assert_int_equal(ip_format(&r.ans.addrs[0], txt, sizeof(txt)), 0);
	assert_string_equal(txt, "198.18.1.10");
	assert_int_equal(r.ans.ttls[0], 60);
	assert_false(r.ans.from_cache);
	assert_int_equal(f->srv.queries, 1);

	/* Within the TTL: answered from the cache, synchronously. */
	fake_now += 59 * 1000;
	assert_null(resolver_lookup(f->res, "allowed.test", on_answer, &r2));
	assert_int_equal(r2.calls, 1);
	assert_true(r2.ans.from_cache);
	assert_int_equal(f->srv.queries, 1);
	assert_int_equal(resolver_cache_size(f->res), 1);

	/* After the TTL: asked again. */
	fake_now += 2 * 1000;
	memset(&r2, 0, sizeof(r2));
	assert_non_null(resolver_lookup(f->res, "allowed.test", on_answer, &r2));
	run_until(f, &r2);
	assert_int_equal(r2.calls, 1);
	assert_int_equal(f->srv.queries, 2);
	assert_int_equal(resolver_cache_size(f->res), 1);
}

static void
test_ttl_is_capped(void **state)
{
	struct fixture *f = *state;
	struct result r = { 0 };

	f->srv.ttl = 86400;
	resolver_lookup(f->res, "allowed.test", on_answer, &r);
	run_until(f, &r);
	assert_int_equal(f->srv.queries, 1);
	fake_now += (RESOLVE_TTL_MAX + 1) * 1000;
	memset(&r, 0, sizeof(r));
	assert_non_null(resolver_lookup(f->res, "allowed.test", on_answer, &r));
	run_until(f, &r);
	assert_int_equal(f->srv.queries, 2);
}

static void
test_negative_cache(void **state)
{
	struct fixture *f = *state;
	struct result r = { 0 };

	resolver_lookup(f->res, "nosuch.test", on_answer, &r);
	run_until(f, &r);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.ans.status, ARES_ENOTFOUND);
	assert_int_equal(r.ans.n, 0);
	memset(&r, 0, sizeof(r));
	assert_null(resolver_lookup(f->res, "nosuch.test", on_answer, &r));
	assert_int_equal(r.ans.status, ARES_ENOTFOUND);
	assert_int_equal(f->srv.queries, 1);
	fake_now += (RESOLVE_NEGATIVE_TTL + 1) * 1000;
	memset(&r, 0, sizeof(r));
	resolver_lookup(f->res, "nosuch.test", on_answer, &r);
	run_until(f, &r);
	assert_int_equal(f->srv.queries, 2);
}

static void
test_blocked_answers_are_returned_for_the_caller_to_judge(void **state)
{
	struct fixture *f = *state;
	struct result r = { 0 };
	char txt[64];

	resolver_lookup(f->res, "rebind.test", on_answer, &r);
	run_until(f, &r);
	assert_int_equal(r.ans.n, 1);
	ip_format(&r.ans.addrs[0], txt, sizeof(txt));
	assert_string_equal(txt, "169.254.169.254");
}

static void
test_cancel_and_teardown_in_flight(void **state)
{
	struct fixture *f = *state;
	struct result r = { 0 }, r2 = { 0 };
	struct resolve_req *req;

	req = resolver_lookup(f->res, "allowed.test", on_answer, &r);
	assert_non_null(req);
	resolve_cancel(req);
	run_until(f, &r);	/* bounded; the answer arrives but is dropped */
	assert_int_equal(r.calls, 0);
	assert_int_equal(f->srv.queries, 1);

	/* A query that never gets an answer, then the resolver goes away:
	 * no callback, no leak (ASan). */
	f->srv.silent = 1;
	assert_non_null(resolver_lookup(f->res, "other.test", on_answer, &r2));
	resolver_free(f->res);
	f->res = NULL;
	assert_int_equal(r2.calls, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_answer_then_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ttl_is_capped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_negative_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blocked_answers_are_returned_for_the_caller_to_judge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_and_teardown_in_flight, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
