#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "proxyd/metrics.h"

#define P METRICS_PREFIX

/* The value of the one sample line "name{labels} value" in text, or -1. */
static long long
series(const char *text, const char *name_labels)
{
	size_t n = strlen(name_labels);
	const char *p = text;
	long long v = -1;
	int found = 0;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, name_labels, n) == 0 && p[n] == ' ') {
			assert_false(found);
			found = 1;
			v = strtoll(p + n + 1, NULL, 10);
		}
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return v;
}

static char *
render(const struct metrics *m)
{
	size_t len = 0;
	char *text = metrics_render(m, &len);

	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	assert_true(len > 0 && text[len - 1] == '\n');
	return text;
}

#define THREADS 4
#define PER_THREAD 100000

static void *
hammer(void *arg)
{
	struct metrics *m = arg;
	int i;

	for (i = 0; i < PER_THREAD; i++) {
		metrics_conn_open(m);
		metrics_bytes(m, METRICS_UP, 3);
		metrics_bytes(m, METRICS_DOWN, 1);
		metrics_decision(m, i & 1, "tls", (i & 1) ? "not_allowlisted" : "allowed");
		metrics_resolver_latency(m, 2000);
		metrics_error(m, METRICS_ERR_CONNECT);
		metrics_conn_close(m);
	}
	return NULL;
}

static void
test_threads_sum(void **state)
{
	pthread_t t[THREADS];
	struct metrics *m;
	char *text;
	int i;

	(void)state;
	alarm(5);
	assert_non_null(m = metrics_new());
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, m), 0);
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	text = render(m);
	assert_int_equal(series(text, P "connections_total"), THREADS * PER_THREAD);
	assert_int_equal(series(text, P "connections_active"), 0);
	assert_int_equal(series(text, P "bytes_total{direction=\"up\"}"),
	    3 * THREADS * PER_THREAD);
	assert_int_equal(series(text, P "bytes_total{direction=\"down\"}"),
	    THREADS * PER_THREAD);
	assert_int_equal(series(text, P "decisions_total{type=\"allowed\","
	    "proto=\"tls\",reason=\"allowed\"}"), THREADS * PER_THREAD / 2);
	assert_int_equal(series(text, P "decisions_total{type=\"denied\","
	    "proto=\"tls\",reason=\"not_allowlisted\"}"), THREADS * PER_THREAD / 2);
	assert_int_equal(series(text, P "resolver_latency_seconds_count"),
	    THREADS * PER_THREAD);
	assert_int_equal(series(text, P "resolver_latency_seconds_bucket{le=\"0.0025\"}"),
	    THREADS * PER_THREAD);
	assert_non_null(strstr(text, "\n" P "resolver_latency_seconds_sum 800.000000\n"));
	assert_int_equal(series(text, P "errors_total{kind=\"connect\"}"),
	    THREADS * PER_THREAD);
	free(text);
	metrics_free(m);
	alarm(0);
}

static void
test_decision_mapping(void **state)
{
	static const char *const reasons[] = {
		"allowed", "unknown_source", "not_allowlisted", "invalid_host",
		"blocked_range", "resolves_to_blocked", "unresolved_destination",
		"host_port_mismatch", "ech_not_allowed", "resolve_failed",
		"host_changed", "bad_request", "limit_exceeded", "sni_mismatch",
		"method_not_allowed", "upstream_unreachable", "proxy_error",
		"intercept_unavailable", "upstream_tls_invalid",
		"client_tls_failed",
	};
	struct metrics *m;
	char key[256], *text;
	size_t i;

	(void)state;
	alarm(5);
	assert_non_null(m = metrics_new());
	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		size_t k;

		for (k = 0; k <= i; k++)
			metrics_decision(m, 1, "http", reasons[i]);
	}
	metrics_decision(m, 1, "dns", "no_such_reason");
	metrics_decision(m, 1, "dns", "NOT_ALLOWLISTED");
	metrics_decision(m, 1, "dns", NULL);
	metrics_decision(m, 0, "quic", "allowed");
	metrics_decision(m, 0, NULL, NULL);
	metrics_decision(m, 7, "tcp", "blocked_range");
	metrics_decision(NULL, 1, "tcp", "blocked_range");
	text = render(m);
	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		snprintf(key, sizeof(key), P "decisions_total{type=\"denied\","
		    "proto=\"http\",reason=\"%s\"}", reasons[i]);
		assert_int_equal(series(text, key), (long long)i + 1);
	}
	assert_int_equal(series(text, P "decisions_total{type=\"denied\","
	    "proto=\"dns\",reason=\"other\"}"), 3);
	assert_int_equal(series(text, P "decisions_total{type=\"allowed\","
	    "proto=\"other\",reason=\"allowed\"}"), 1);
	assert_int_equal(series(text, P "decisions_total{type=\"allowed\","
	    "proto=\"other\",reason=\"other\"}"), 1);
	assert_int_equal(series(text, P "decisions_total{type=\"denied\","
	    "proto=\"tcp\",reason=\"blocked_range\"}"), 1);
	/* Per-proto allowed series show at zero; other zeros do not. */
	assert_int_equal(series(text, P "decisions_total{type=\"allowed\","
	    "proto=\"http\",reason=\"allowed\"}"), 0);
	assert_int_equal(series(text, P "decisions_total{type=\"allowed\","
	    "proto=\"dns\",reason=\"allowed\"}"), 0);
	assert_int_equal(series(text, P "decisions_total{type=\"denied\","
	    "proto=\"tls\",reason=\"blocked_range\"}"), -1);
	assert_int_equal(series(text, P "decisions_total{type=\"denied\","
	    "proto=\"http\",reason=\"other\"}"), -1);
	free(text);
	metrics_free(m);
	alarm(0);
}

static void
test_histogram(void **state)
{
	static const struct {
		const char *le;
		long long n;
	} want[] = {
		{ "0.001", 2 }, { "0.0025", 3 }, { "0.005", 3 }, { "0.01", 3 },
		{ "0.025", 3 }, { "0.05", 4 }, { "0.1", 4 }, { "0.25", 4 },
		{ "0.5", 4 }, { "1", 4 }, { "2.5", 4 }, { "5", 5 }, { "+Inf", 7 },
	};
	struct metrics *m;
	char key[128], *text;
	size_t i;

	(void)state;
	alarm(5);
	assert_non_null(m = metrics_new());
	metrics_resolver_latency(m, 0);
	metrics_resolver_latency(m, 1000);		/* le is inclusive */
	metrics_resolver_latency(m, 1001);
	metrics_resolver_latency(m, 42000);
	metrics_resolver_latency(m, 5000000);
	metrics_resolver_latency(m, 5000001);
	metrics_resolver_latency(m, 60000000);
	text = render(m);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(key, sizeof(key),
		    P "resolver_latency_seconds_bucket{le=\"%s\"}", want[i].le);
		assert_int_equal(series(text, key), want[i].n);
	}
	assert_int_equal(series(text, P "resolver_latency_seconds_count"), 7);
	/* 0 + .001 + .001001 + .042 + 5 + 5.000001 + 60 */
	assert_non_null(strstr(text,
	    "\n" P "resolver_latency_seconds_sum 70.044002\n"));
	/* Buckets come in le order, +Inf last, then _sum and _count. */
	assert_true(strstr(text, "le=\"0.001\"") < strstr(text, "le=\"0.0025\""));
	assert_true(strstr(text, "le=\"5\"") < strstr(text, "le=\"+Inf\""));
	assert_true(strstr(text, "le=\"+Inf\"") <
	    strstr(text, P "resolver_latency_seconds_sum"));
	assert_true(strstr(text, P "resolver_latency_seconds_sum") <
	    strstr(text, P "resolver_latency_seconds_count"));
	free(text);
	metrics_free(m);
	alarm(0);
}

/* The family a sample line belongs to: its name less a histogram suffix
 * when the family is a histogram. */
static int
sample_in_family(const char *name, size_t nlen, const char *fam,
    const char *type)
{
	static const char *const sfx[] = { "_bucket", "_sum", "_count" };
	size_t flen = strlen(fam), i;

	if (nlen == flen && strncmp(name, fam, flen) == 0)
		return strcmp(type, "histogram") != 0;
	if (strcmp(type, "histogram") != 0 || nlen <= flen ||
	    strncmp(name, fam, flen) != 0)
		return 0;
	for (i = 0; i < 3; i++)
		if (nlen - flen == strlen(sfx[i]) &&
		    strncmp(name + flen, sfx[i], nlen - flen) == 0)
			return 1;
	return 0;
}

static void
test_render_structure(void **state)
{
	static const char *const families[] = {
		"start_time_seconds", "connections_active", "connections_total",
		"decisions_total", "bytes_total", "dns_queries_total",
		"resolver_latency_seconds", "errors_total", "events_dropped_total",
	};
	char helps[16][64], types[16][64], fam[64] = "", ftype[16] = "";
	char *text, *line, *save = NULL, *copy;
	size_t nh = 0, nt = 0, i, j, lines = 0, nseen = 0;
	char **seen;
	struct metrics *m;
	regex_t re;

	(void)state;
	alarm(5);
	assert_int_equal(regcomp(&re,
	    "^[a-z_:][a-z0-9_:]*(\\{[^}]*\\})? ([0-9.e+-]+|\\+Inf|-Inf|NaN)$",
	    REG_EXTENDED | REG_NOSUB), 0);
	assert_non_null(m = metrics_new());
	metrics_conn_open(m);
	metrics_decision(m, 1, "tcp", "limit_exceeded");
	metrics_dns_query(m, METRICS_DNS_NXDOMAIN);
	metrics_events_dropped(m, 9);
	text = render(m);
	assert_non_null(copy = strdup(text));
	assert_non_null(seen = calloc(1024, sizeof(*seen)));
	for (line = strtok_r(copy, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		lines++;
		if (strncmp(line, "# HELP ", 7) == 0) {
			assert_true(nh < 16);
			assert_int_equal(sscanf(line, "# HELP %63s", helps[nh]), 1);
			for (i = 0; i < nh; i++)
				assert_string_not_equal(helps[i], helps[nh]);
			nh++;
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			assert_true(nt < 16);
			assert_int_equal(sscanf(line, "# TYPE %63s %15s", types[nt],
			    ftype), 2);
			assert_true(strcmp(ftype, "counter") == 0 ||
			    strcmp(ftype, "gauge") == 0 ||
			    strcmp(ftype, "histogram") == 0);
			for (i = 0; i < nt; i++)
				assert_string_not_equal(types[i], types[nt]);
			/* HELP for the same family comes right before. */
			assert_true(nh == nt + 1);
			assert_string_equal(helps[nt], types[nt]);
			snprintf(fam, sizeof(fam), "%s", types[nt]);
			nt++;
			continue;
		}
		assert_int_not_equal(line[0], '#');
		if (regexec(&re, line, 0, NULL, 0) != 0)
			fail_msg("bad sample line: %s", line);
		/* Every sample follows its family's TYPE, and no series repeats. */
		assert_true(fam[0] != '\0');
		assert_true(sample_in_family(line, strcspn(line, "{ "), fam, ftype));
		for (i = 0; i < nseen; i++)
			assert_true(strncmp(seen[i], line, strcspn(line, " ")) != 0 ||
			    strcspn(seen[i], " ") != strcspn(line, " "));
		assert_true(nseen < 1024);
		seen[nseen++] = line;
	}
	assert_int_equal(nh, sizeof(families) / sizeof(families[0]));
	assert_int_equal(nt, nh);
	for (i = 0; i < nt; i++) {
		char want[64];

		snprintf(want, sizeof(want), P "%s", families[i]);
		assert_string_equal(types[i], want);
	}
	/* Every known label value shows, zero or not. */
	assert_int_equal(series(text, P "dns_queries_total{outcome=\"nxdomain\"}"), 1);
	for (j = 0; j < 6; j++) {
		static const char *const o[] = { "answered", "nxdomain", "refused",
		    "servfail", "formerr", "nodata" };
		char key[128];

		snprintf(key, sizeof(key), P "dns_queries_total{outcome=\"%s\"}", o[j]);
		assert_true(series(text, key) >= 0);
	}
	for (j = 0; j < 6; j++) {
		static const char *const k[] = { "accept", "connect", "resolver",
		    "control", "event_log", "other" };
		char key[128];

		snprintf(key, sizeof(key), P "errors_total{kind=\"%s\"}", k[j]);
		assert_int_equal(series(text, key), 0);
	}
	assert_int_equal(series(text, P "events_dropped_total"), 9);
	assert_int_equal(series(text, P "connections_active"), 1);
	assert_true(series(text, P "start_time_seconds") > 1600000000);
	assert_true(lines > 40);
	free(seen);
	free(copy);
	free(text);
	metrics_free(m);
	regfree(&re);
	alarm(0);
}

static void
test_render_lines(void **state)
{
	struct metrics *m;
	char *text;

	(void)state;
	alarm(5);
	assert_non_null(m = metrics_new());
	metrics_conn_open(m);
	metrics_conn_open(m);
	metrics_conn_close(m);
	metrics_bytes(m, METRICS_DOWN, 1234567890123ULL);
	metrics_bytes(m, (enum metrics_dir)9, 5);		/* ignored */
	metrics_dns_query(m, METRICS_DNS_ANSWERED);
	metrics_dns_query(m, (enum metrics_dns)99);	/* ignored */
	metrics_error(m, METRICS_ERR_EVENT_LOG);
	metrics_error(m, (enum metrics_error)42);	/* counted as other */
	text = render(m);
	assert_non_null(strstr(text,
	    "# HELP " P "connections_active Client connections open now.\n"
	    "# TYPE " P "connections_active gauge\n"
	    P "connections_active 1\n"
	    "# HELP " P "connections_total Client connections accepted.\n"
	    "# TYPE " P "connections_total counter\n"
	    P "connections_total 2\n"));
	assert_non_null(strstr(text,
	    "# TYPE " P "bytes_total counter\n"
	    P "bytes_total{direction=\"up\"} 0\n"
	    P "bytes_total{direction=\"down\"} 1234567890123\n"));
	assert_non_null(strstr(text,
	    P "dns_queries_total{outcome=\"answered\"} 1\n"
	    P "dns_queries_total{outcome=\"nxdomain\"} 0\n"));
	assert_non_null(strstr(text,
	    P "errors_total{kind=\"event_log\"} 1\n"
	    P "errors_total{kind=\"other\"} 1\n"));
	assert_non_null(strstr(text,
	    "# TYPE " P "resolver_latency_seconds histogram\n"
	    P "resolver_latency_seconds_bucket{le=\"0.001\"} 0\n"));
	assert_non_null(strstr(text,
	    P "resolver_latency_seconds_bucket{le=\"+Inf\"} 0\n"
	    P "resolver_latency_seconds_sum 0.000000\n"
	    P "resolver_latency_seconds_count 0\n"));
	/* The gauge goes negative on a stray close rather than wrapping. */
	metrics_conn_close(m);
	metrics_conn_close(m);
	free(text);
	text = render(m);
	assert_non_null(strstr(text, "\n" P "connections_active -1\n"));
	free(text);
	metrics_conn_open(NULL);
	metrics_conn_close(NULL);
	metrics_bytes(NULL, METRICS_UP, 1);
	metrics_dns_query(NULL, METRICS_DNS_ANSWERED);
	metrics_resolver_latency(NULL, 1);
	metrics_error(NULL, METRICS_ERR_OTHER);
	metrics_events_dropped(NULL, 1);
	metrics_free(NULL);
	metrics_free(m);
	alarm(0);
}

/* Server tests: the event loop runs in its own thread while the test
 * plays a raw HTTP client. */

struct loop {
	struct event_base *base;
	pthread_t thread;
};

static void *
loop_run(void *arg)
{
	struct loop *l = arg;

	event_base_loop(l->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

static void
loop_start(struct loop *l)
{
	assert_int_equal(pthread_create(&l->thread, NULL, loop_run, l), 0);
}

static void
loop_stop(struct loop *l)
{
	assert_int_equal(event_base_loopbreak(l->base), 0);
	pthread_join(l->thread, NULL);
}

static int
connect_unix(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	assert_true((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
connect_inet(int family, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int fd;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		sin6->sin6_addr = in6addr_loopback;
		len = sizeof(*sin6);
	}
	assert_true((fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0);
	if (connect(fd, (struct sockaddr *)&ss, len) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Sends req on fd and reads the reply until the server closes (requests
 * say Connection: close) or 3 s pass. Closes fd. */
static char *
exchange(int fd, const char *req)
{
	struct timeval tv = { 3, 0 };
	size_t len = 0, cap = 1 << 16;
	char *buf;
	ssize_t n;

	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
	assert_non_null(buf = malloc(cap));
	while (len < cap - 1 && (n = recv(fd, buf + len, cap - 1 - len, 0)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fd);
	return buf;
}

static int
status_of(const char *reply)
{
	int code = -1;

	if (sscanf(reply, "HTTP/1.%*[01] %d", &code) != 1)
		return -1;
	return code;
}

static const char *
body_of(const char *reply)
{
	const char *p = strstr(reply, "\r\n\r\n");

	assert_non_null(p);
	return p + 4;
}

/* The common conversation against a running server reached by dial(). */
static void
check_server(int (*dial)(void *), void *arg, struct metrics *m)
{
	const char *get = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	char *r, big[METRICS_HEADERS_MAX + 512];
	size_t i;

	r = exchange(dial(arg), get);
	assert_int_equal(status_of(r), 200);
	assert_non_null(strstr(r, "\r\nContent-Type: " METRICS_CONTENT_TYPE "\r\n"));
	assert_non_null(strstr(body_of(r), "\n" P "connections_total 3\n"));
	assert_non_null(strstr(body_of(r), "\n" P "dns_queries_total{outcome=\"refused\"} 1\n"));
	assert_int_equal(series(body_of(r), P "connections_total"), 3);
	free(r);

	/* A query string is still /metrics; HTTP/1.0 works too. */
	r = exchange(dial(arg), "GET /metrics?x=1 HTTP/1.0\r\n\r\n");
	assert_int_equal(status_of(r), 200);
	assert_non_null(strstr(body_of(r), "# TYPE " P "errors_total counter\n"));
	free(r);

	r = exchange(dial(arg), "HEAD /metrics HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\n\r\n");
	assert_int_equal(status_of(r), 200);
	assert_string_equal(body_of(r), "");
	free(r);

	r = exchange(dial(arg), "GET /other HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\n\r\n");
	assert_int_equal(status_of(r), 404);
	assert_null(strstr(r, P "connections_total"));
	free(r);

	r = exchange(dial(arg), "GET /metrics/ HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\n\r\n");
	assert_int_equal(status_of(r), 404);
	free(r);

	r = exchange(dial(arg), "POST /metrics HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 3\r\nConnection: close\r\n\r\nabc");
	assert_int_equal(status_of(r), 405);
	assert_non_null(strstr(r, "\r\nAllow: GET, HEAD\r\n"));
	assert_null(strstr(r, P "connections_total"));
	free(r);

	r = exchange(dial(arg), "DELETE /metrics HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\n\r\n");
	assert_int_equal(status_of(r), 405);
	free(r);

	/* A body past the limit is refused before it is read. */
	r = exchange(dial(arg), "POST /metrics HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 100000\r\nConnection: close\r\n\r\n");
	assert_int_equal(status_of(r), 413);
	free(r);

	/* Headers past the limit: refused, never served. */
	i = (size_t)snprintf(big, sizeof(big), "GET /metrics HTTP/1.1\r\nX: ");
	memset(big + i, 'a', METRICS_HEADERS_MAX + 100);
	i += METRICS_HEADERS_MAX + 100;
	snprintf(big + i, sizeof(big) - i, "\r\n\r\n");
	r = exchange(dial(arg), big);
	assert_int_not_equal(status_of(r), 200);
	assert_null(strstr(r, P "connections_total"));
	free(r);

	/* Still serving afterwards. */
	metrics_conn_open(m);
	r = exchange(dial(arg), get);
	assert_int_equal(status_of(r), 200);
	assert_int_equal(series(body_of(r), P "connections_total"), 4);
	free(r);
}

static void
fill(struct metrics *m)
{
	metrics_conn_open(m);
	metrics_conn_open(m);
	metrics_conn_open(m);
	metrics_dns_query(m, METRICS_DNS_REFUSED);
}

static int
dial_unix(void *arg)
{
	return connect_unix(arg);
}

static uint16_t dial_port;

static int
dial_inet4(void *arg)
{
	(void)arg;
	return connect_inet(AF_INET, dial_port);
}

static int
dial_inet6(void *arg)
{
	(void)arg;
	return connect_inet(AF_INET6, dial_port);
}

/* The lowest free descriptor: equal before and after means no fd leaked. */
static int
lowest_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	close(fd);
	return fd;
}

static void
test_server_unix(void **state)
{
	char dir[] = "/tmp/test_metrics.XXXXXX", path[128], addr[160], err[256];
	struct metrics_server *srv;
	struct metrics *m;
	struct loop l;
	struct stat st;

	(void)state;
	alarm(5);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/metrics.sock", dir);
	snprintf(addr, sizeof(addr), "unix:%s", path);
	assert_non_null(m = metrics_new());
	fill(m);
	assert_non_null(l.base = event_base_new());
	srv = metrics_server_new(l.base, m, addr, err, sizeof(err));
	if (srv == NULL)
		fail_msg("%s", err);
	assert_int_equal(metrics_server_port(srv), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	loop_start(&l);
	check_server(dial_unix, path, m);
	loop_stop(&l);
	metrics_server_free(srv);
	assert_int_equal(lstat(path, &st), -1);
	assert_int_equal(errno, ENOENT);
	event_base_free(l.base);
	metrics_free(m);
	assert_int_equal(rmdir(dir), 0);
	alarm(0);
}

static void
test_server_loopback(void **state)
{
	static const struct {
		const char *addr;
		int family;
	} cases[] = {
		{ "127.0.0.1:0", AF_INET },
		{ "[::1]:0", AF_INET6 },
	};
	struct metrics_server *srv;
	struct metrics *m;
	struct loop l;
	char err[256];
	size_t i;

	(void)state;
	alarm(5);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_non_null(m = metrics_new());
		fill(m);
		assert_non_null(l.base = event_base_new());
		srv = metrics_server_new(l.base, m, cases[i].addr, err, sizeof(err));
		if (srv == NULL)
			fail_msg("%s: %s", cases[i].addr, err);
		dial_port = metrics_server_port(srv);
		assert_int_not_equal(dial_port, 0);
		loop_start(&l);
		check_server(cases[i].family == AF_INET ? dial_inet4 : dial_inet6,
		    NULL, m);
		loop_stop(&l);
		metrics_server_free(srv);
		/* The port is closed with the server. */
		assert_int_equal(connect_inet(cases[i].family, dial_port), -1);
		event_base_free(l.base);
		metrics_free(m);
	}
	alarm(0);
}

static void
test_server_refuses(void **state)
{
	static const struct {
		const char *addr;
		const char *msg;
	} cases[] = {
		{ "0.0.0.0:9464", "not a loopback address" },
		{ "198.18.0.1:9464", "not a loopback address" },
		{ "10.0.0.5:9464", "not a loopback address" },
		{ "[::]:9464", "not a loopback address" },
		{ "[::ffff:127.0.0.1]:9464", "not a loopback address" },
		{ "[fe80::1]:9464", "not a loopback address" },
		{ "localhost:9464", "not an IP address literal" },
		{ "127.1:9464", "not an IP address literal" },
		{ "[127.0.0.1]:9464", "not an IP address literal" },
		{ "::1:9464", "expected unix:/path" },
		{ "127.0.0.1", "expected unix:/path" },
		{ "127.0.0.1:", "expected unix:/path" },
		{ "127.0.0.1:65536", "expected unix:/path" },
		{ "127.0.0.1:-1", "expected unix:/path" },
		{ "127.0.0.1:80x", "expected unix:/path" },
		{ "[::1]9464", "expected unix:/path" },
		{ "[::1:9464", "expected unix:/path" },
		{ ":9464", "expected unix:/path" },
		{ "", "expected unix:/path" },
		{ "unix:", "empty or too long" },
		{ "unix:/tmp/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock", "empty or too long" },
	};
	struct event_base *base;
	struct metrics *m;
	char err[256];
	size_t i;
	int fd0;

	(void)state;
	alarm(5);
	assert_non_null(m = metrics_new());
	assert_non_null(base = event_base_new());
	fd0 = lowest_fd();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		if (metrics_server_new(base, m, cases[i].addr, err, sizeof(err)) != NULL)
			fail_msg("accepted %s", cases[i].addr);
		if (strstr(err, cases[i].msg) == NULL)
			fail_msg("%s: \"%s\" lacks \"%s\"", cases[i].addr, err,
			    cases[i].msg);
		/* Refused before any socket was made. */
		assert_int_equal(lowest_fd(), fd0);
	}
	event_base_free(base);
	metrics_free(m);
	alarm(0);
}

static int
bind_unix(const char *path, int do_listen)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	assert_true((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	if (do_listen)
		assert_int_equal(listen(fd, 1), 0);
	return fd;
}

static void
test_server_socket_file(void **state)
{
	char dir[] = "/tmp/test_metrics.XXXXXX", path[128], addr[160], err[256];
	struct metrics_server *srv;
	struct event_base *base;
	struct metrics *m;
	struct loop l;
	struct stat st;
	char buf[8];
	int fd;

	(void)state;
	alarm(5);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/metrics.sock", dir);
	snprintf(addr, sizeof(addr), "unix:%s", path);
	assert_non_null(m = metrics_new());
	fill(m);
	assert_non_null(base = event_base_new());

	/* A regular file is refused and left alone. */
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) >= 0);
	assert_int_equal(write(fd, "keep", 4), 4);
	close(fd);
	assert_null(metrics_server_new(base, m, addr, err, sizeof(err)));
	assert_non_null(strstr(err, "not a socket"));
	assert_true((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "keep", 4);
	close(fd);
	assert_int_equal(unlink(path), 0);

	/* A directory, too. */
	assert_int_equal(mkdir(path, 0700), 0);
	assert_null(metrics_server_new(base, m, addr, err, sizeof(err)));
	assert_non_null(strstr(err, "not a socket"));
	assert_int_equal(rmdir(path), 0);

	/* A live socket belongs to someone else. */
	fd = bind_unix(path, 1);
	assert_null(metrics_server_new(base, m, addr, err, sizeof(err)));
	assert_non_null(strstr(err, "in use"));
	close(fd);

	/* Its file, left behind once nobody listens, is stale: replaced. */
	assert_int_equal(lstat(path, &st), 0);
	srv = metrics_server_new(base, m, addr, err, sizeof(err));
	if (srv == NULL)
		fail_msg("%s", err);
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	l.base = base;
	loop_start(&l);
	{
		char *r = exchange(connect_unix(path),
		    "GET /metrics HTTP/1.0\r\n\r\n");

		assert_int_equal(status_of(r), 200);
		assert_int_equal(series(body_of(r), P "connections_total"), 3);
		free(r);
	}
	loop_stop(&l);

	/* Teardown leaves a successor's socket in place. */
	assert_int_equal(unlink(path), 0);
	fd = bind_unix(path, 0);
	metrics_server_free(srv);
	assert_int_equal(lstat(path, &st), 0);
	close(fd);
	assert_int_equal(unlink(path), 0);

	event_base_free(base);
	metrics_free(m);
	assert_int_equal(rmdir(dir), 0);
	alarm(0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads_sum),
		cmocka_unit_test(test_decision_mapping),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_render_structure),
		cmocka_unit_test(test_render_lines),
		cmocka_unit_test(test_server_unix),
		cmocka_unit_test(test_server_loopback),
		cmocka_unit_test(test_server_refuses),
		cmocka_unit_test(test_server_socket_file),
	};

	/* The loop runs in a thread and the test breaks it from another. */
	if (evthread_use_pthreads() == -1)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
