#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "proxyd/metrics.h"

/* Label values, in rendering order; the last of protos and reasons is the
 * catch-all that unknown strings are counted under. */
static const char *const metrics_types[] = { "allowed", "denied" };
static const char *const metrics_protos[] = {
	"http", "tls", "tcp", "dns", "other",
};
static const char *const metrics_reasons[] = {
	"allowed", "unknown_source", "not_allowlisted", "invalid_host",
	"blocked_range", "resolves_to_blocked", "unresolved_destination",
	"host_port_mismatch", "ech_not_allowed", "resolve_failed",
	"host_changed", "bad_request", "limit_exceeded", "sni_mismatch",
	"method_not_allowed", "upstream_unreachable", "proxy_error",
	"intercept_unavailable", "upstream_tls_invalid", "client_tls_failed",
	"other",
};
static const char *const metrics_dirs[METRICS_DIR_N] = { "up", "down" };
static const char *const metrics_dns_outcomes[METRICS_DNS_N] = {
	"answered", "nxdomain", "refused", "servfail", "formerr", "nodata",
};
static const char *const metrics_error_kinds[METRICS_ERR_N] = {
	"accept", "connect", "resolver", "control", "event_log", "other",
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define N_TYPES		NELEM(metrics_types)
#define N_PROTOS	NELEM(metrics_protos)
#define N_REASONS	NELEM(metrics_reasons)

/* Upper bounds in microseconds and as printed; an observation lands in the
 * first bucket whose bound it does not exceed (le is inclusive). */
static const uint64_t latency_bounds_us[] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000,
};
static const char *const latency_bounds_le[] = {
	"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
	"0.5", "1", "2.5", "5",
};
#define N_BOUNDS	NELEM(latency_bounds_us)

struct metrics {
	int64_t start_time;
	_Atomic int64_t conn_active;
	_Atomic uint64_t conn_total;
	_Atomic uint64_t decisions[N_TYPES][N_PROTOS][N_REASONS];
	_Atomic uint64_t bytes[METRICS_DIR_N];
	_Atomic uint64_t dns[METRICS_DNS_N];
	/* Per bucket, not cumulative: one increment per observation; the
	 * last slot is past every bound (+Inf only). */
	_Atomic uint64_t latency[N_BOUNDS + 1];
	_Atomic uint64_t latency_sum_us;
	_Atomic uint64_t errors[METRICS_ERR_N];
	_Atomic uint64_t events_dropped;
};

struct metrics_server {
	struct evhttp *http;
	struct metrics *m;
	uint16_t port;
	/* The unix socket we bound, to unlink at teardown only if the file
	 * is still that socket and not a successor's. */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;
	ino_t ino;
};

struct metrics *
metrics_new(void)
{
	struct metrics *m;
	size_t i, j, k;

	if ((m = malloc(sizeof(*m))) == NULL)
		return NULL;
	m->start_time = (int64_t)time(NULL);
	atomic_init(&m->conn_active, 0);
	atomic_init(&m->conn_total, 0);
	for (i = 0; i < N_TYPES; i++)
		for (j = 0; j < N_PROTOS; j++)
			for (k = 0; k < N_REASONS; k++)
				atomic_init(&m->decisions[i][j][k], 0);
	for (i = 0; i < METRICS_DIR_N; i++)
		atomic_init(&m->bytes[i], 0);
	for (i = 0; i < METRICS_DNS_N; i++)
		atomic_init(&m->dns[i], 0);
	for (i = 0; i <= N_BOUNDS; i++)
		atomic_init(&m->latency[i], 0);
	atomic_init(&m->latency_sum_us, 0);
	for (i = 0; i < METRICS_ERR_N; i++)
		atomic_init(&m->errors[i], 0);
	atomic_init(&m->events_dropped, 0);
	return m;
}

void
metrics_free(struct metrics *m)
{
	free(m);
}

static inline void
counter_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static inline uint64_t
counter_get(const _Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

void
metrics_conn_open(struct metrics *m)
{
	if (m == NULL)
		return;
	atomic_fetch_add_explicit(&m->conn_active, 1, memory_order_relaxed);
	counter_add(&m->conn_total, 1);
}

void
metrics_conn_close(struct metrics *m)
{
	if (m == NULL)
		return;
	atomic_fetch_sub_explicit(&m->conn_active, 1, memory_order_relaxed);
}

/* The slot of s in a catch-all-terminated table: a linear scan of fixed
 * strings, cheaper than the connection it counts and never allocating. */
static size_t
label_index(const char *const *tab, size_t n, const char *s)
{
	size_t i;

	if (s == NULL)
		return n - 1;
	for (i = 0; i < n - 1; i++)
		if (strcmp(tab[i], s) == 0)
			return i;
	return n - 1;
}

void
metrics_decision(struct metrics *m, int denied, const char *proto,
    const char *reason)
{
	size_t p, r;

	if (m == NULL)
		return;
	p = label_index(metrics_protos, N_PROTOS, proto);
	r = label_index(metrics_reasons, N_REASONS, reason);
	counter_add(&m->decisions[denied ? 1 : 0][p][r], 1);
}

void
metrics_bytes(struct metrics *m, enum metrics_dir dir, uint64_t n)
{
	if (m == NULL || (unsigned)dir >= METRICS_DIR_N)
		return;
	counter_add(&m->bytes[dir], n);
}

void
metrics_dns_query(struct metrics *m, enum metrics_dns outcome)
{
	if (m == NULL || (unsigned)outcome >= METRICS_DNS_N)
		return;
	counter_add(&m->dns[outcome], 1);
}

void
metrics_resolver_latency(struct metrics *m, uint64_t usec)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < N_BOUNDS && usec > latency_bounds_us[i]; i++)
		;
	counter_add(&m->latency[i], 1);
	counter_add(&m->latency_sum_us, usec);
}

void
metrics_error(struct metrics *m, enum metrics_error kind)
{
	if (m == NULL)
		return;
	if ((unsigned)kind >= METRICS_ERR_N)
		kind = METRICS_ERR_OTHER;
	counter_add(&m->errors[kind], 1);
}

void
metrics_events_dropped(struct metrics *m, uint64_t n)
{
	if (m == NULL)
		return;
	counter_add(&m->events_dropped, n);
}

/* Rendering: a growing string; the first failure sticks and the render
 * returns NULL, so the writers need not check each call. */
struct text {
	char *buf;
	size_t len;
	size_t cap;
	int failed;
};

static int
text_reserve(struct text *t, size_t more)
{
	size_t cap;
	char *p;

	if (t->failed)
		return -1;
	if (t->len + more + 1 <= t->cap)
		return 0;
	cap = t->cap ? t->cap : 4096;
	while (cap < t->len + more + 1)
		cap *= 2;
	if ((p = realloc(t->buf, cap)) == NULL) {
		t->failed = 1;
		return -1;
	}
	t->buf = p;
	t->cap = cap;
	return 0;
}

static void text_printf(struct text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
text_printf(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		t->failed = 1;
		return;
	}
	if (text_reserve(t, (size_t)n) == -1)
		return;
	va_start(ap, fmt);
	vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

static void
text_putc(struct text *t, char c)
{
	if (text_reserve(t, 1) == -1)
		return;
	t->buf[t->len++] = c;
	t->buf[t->len] = '\0';
}

/* The 0.0.4 format escapes \ and newline everywhere, and " in label values. */
static void
text_escaped(struct text *t, const char *s, int quote)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\') {
			text_printf(t, "\\\\");
		} else if (*s == '\n') {
			text_printf(t, "\\n");
		} else if (*s == '"' && quote) {
			text_printf(t, "\\\"");
		} else {
			text_putc(t, *s);
		}
	}
}

static void
family(struct text *t, const char *name, const char *type, const char *help)
{
	text_printf(t, "# HELP " METRICS_PREFIX "%s ", name);
	text_escaped(t, help, 0);
	text_printf(t, "\n# TYPE " METRICS_PREFIX "%s %s\n", name, type);
}

/* One sample; labels are (name, value) pairs, n of them. */
static void
sample(struct text *t, const char *name, const char *const *labels, size_t n,
    const char *value)
{
	size_t i;

	text_printf(t, METRICS_PREFIX "%s", name);
	for (i = 0; i < n; i++) {
		text_printf(t, "%s%s=\"", i == 0 ? "{" : ",", labels[2 * i]);
		text_escaped(t, labels[2 * i + 1], 1);
		text_putc(t, '"');
	}
	text_printf(t, "%s %s\n", n > 0 ? "}" : "", value);
}

static void
sample_u64(struct text *t, const char *name, const char *const *labels,
    size_t n, uint64_t v)
{
	char num[32];

	snprintf(num, sizeof(num), "%" PRIu64, v);
	sample(t, name, labels, n, num);
}

static void
render_decisions(struct text *t, const struct metrics *m)
{
	const char *labels[6];
	size_t i, j, k;
	uint64_t v;

	family(t, "decisions_total", "counter",
	    "Connections and requests judged, by verdict, protocol and reason.");
	for (i = 0; i < N_TYPES; i++) {
		for (j = 0; j < N_PROTOS; j++) {
			for (k = 0; k < N_REASONS; k++) {
				v = counter_get(&m->decisions[i][j][k]);
				/* Sparse, but the per-proto allowed series always show. */
				if (v == 0 && !(i == 0 && k == 0 && j < N_PROTOS - 1))
					continue;
				labels[0] = "type";
				labels[1] = metrics_types[i];
				labels[2] = "proto";
				labels[3] = metrics_protos[j];
				labels[4] = "reason";
				labels[5] = metrics_reasons[k];
				sample_u64(t, "decisions_total", labels, 3, v);
			}
		}
	}
}

static void
render_latency(struct text *t, const struct metrics *m)
{
	const char *labels[2] = { "le", NULL };
	uint64_t cum = 0, sum;
	char num[48];
	size_t i;

	family(t, "resolver_latency_seconds", "histogram",
	    "Time from a resolver query to its answer or failure.");
	for (i = 0; i <= N_BOUNDS; i++) {
		cum += counter_get(&m->latency[i]);
		labels[1] = i < N_BOUNDS ? latency_bounds_le[i] : "+Inf";
		sample_u64(t, "resolver_latency_seconds_bucket", labels, 1, cum);
	}
	/* Exact decimal seconds from the microsecond sum, no float rounding. */
	sum = counter_get(&m->latency_sum_us);
	snprintf(num, sizeof(num), "%" PRIu64 ".%06" PRIu64, sum / 1000000,
	    sum % 1000000);
	sample(t, "resolver_latency_seconds_sum", NULL, 0, num);
	/* _count is the +Inf bucket, so the two always agree. */
	sample_u64(t, "resolver_latency_seconds_count", NULL, 0, cum);
}

static void
render_labelled(struct text *t, const char *name, const char *help,
    const char *label, const char *const *values, const _Atomic uint64_t *c,
    size_t n)
{
	const char *labels[2] = { label, NULL };
	size_t i;

	family(t, name, "counter", help);
	for (i = 0; i < n; i++) {
		labels[1] = values[i];
		sample_u64(t, name, labels, 1, counter_get(&c[i]));
	}
}

char *
metrics_render(const struct metrics *m, size_t *len)
{
	struct text t = { NULL, 0, 0, 0 };
	char num[32];

	family(&t, "start_time_seconds", "gauge",
	    "Start time of the process since the Unix epoch, in seconds.");
	snprintf(num, sizeof(num), "%" PRId64, m->start_time);
	sample(&t, "start_time_seconds", NULL, 0, num);

	family(&t, "connections_active", "gauge",
	    "Client connections open now.");
	snprintf(num, sizeof(num), "%" PRId64, atomic_load_explicit(
	    &m->conn_active, memory_order_relaxed));
	sample(&t, "connections_active", NULL, 0, num);

	family(&t, "connections_total", "counter",
	    "Client connections accepted.");
	sample_u64(&t, "connections_total", NULL, 0, counter_get(&m->conn_total));

	render_decisions(&t, m);
	render_labelled(&t, "bytes_total",
	    "Bytes relayed, up (client to upstream) and down.",
	    "direction", metrics_dirs, m->bytes, METRICS_DIR_N);
	render_labelled(&t, "dns_queries_total",
	    "DNS queries from sandboxes, by outcome.",
	    "outcome", metrics_dns_outcomes, m->dns, METRICS_DNS_N);
	render_latency(&t, m);
	render_labelled(&t, "errors_total",
	    "Failures outside a policy decision, by where they happened.",
	    "kind", metrics_error_kinds, m->errors, METRICS_ERR_N);

	family(&t, "events_dropped_total", "counter",
	    "Decision events dropped for a control reader that did not keep up.");
	sample_u64(&t, "events_dropped_total", NULL, 0,
	    counter_get(&m->events_dropped));

	if (t.failed) {
		free(t.buf);
		return NULL;
	}
	if (len != NULL)
		*len = t.len;
	return t.buf;
}

/* Serving. */

static void
reply_free(const void *data, size_t len, void *arg)
{
	(void)len;
	(void)arg;
	free((void *)data);
}

/* Our own short error page: evhttp_send_error() would drop the headers
 * we set, Allow among them. */
static void
server_error(struct evhttp_request *req, int code, const char *reason)
{
	struct evkeyvalq *hdrs = evhttp_request_get_output_headers(req);

	evhttp_add_header(hdrs, "Content-Type", "text/plain");
	if (code == HTTP_BADMETHOD)
		evhttp_add_header(hdrs, "Allow", "GET, HEAD");
	if (evhttp_request_get_command(req) != EVHTTP_REQ_HEAD)
		evbuffer_add_printf(evhttp_request_get_output_buffer(req),
		    "%d %s\n", code, reason);
	evhttp_send_reply(req, code, reason, NULL);
}

static void
server_request_cb(struct evhttp_request *req, void *arg)
{
	struct metrics_server *srv = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	struct evkeyvalq *hdrs = evhttp_request_get_output_headers(req);
	char num[32], *text;
	size_t len;

	if (path == NULL || strcmp(path, "/metrics") != 0) {
		server_error(req, HTTP_NOTFOUND, "Not Found");
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		server_error(req, HTTP_BADMETHOD, "Method Not Allowed");
		return;
	}
	if ((text = metrics_render(srv->m, &len)) == NULL) {
		server_error(req, HTTP_INTERNAL, "Internal Server Error");
		return;
	}
	evhttp_add_header(hdrs, "Content-Type", METRICS_CONTENT_TYPE);
	evhttp_add_header(hdrs, "Cache-Control", "no-store");
	if (cmd == EVHTTP_REQ_HEAD) {
		/* evhttp would send a body even to HEAD; the length says enough. */
		snprintf(num, sizeof(num), "%zu", len);
		evhttp_add_header(hdrs, "Content-Length", num);
		free(text);
	} else if (evbuffer_add_reference(evhttp_request_get_output_buffer(req),
	    text, len, reply_free, NULL) == -1) {
		free(text);
		evhttp_clear_headers(hdrs);
		server_error(req, HTTP_INTERNAL, "Internal Server Error");
		return;
	}
	evhttp_send_reply(req, HTTP_OK, "OK", NULL);
}

static int
port_parse(const char *s, uint16_t *port)
{
	unsigned long v = 0;
	size_t i, n = strlen(s);

	if (n == 0 || n > 5)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* Loopback literals only: no names (a resolver could answer anything),
 * no wildcard, no v4-mapped spellings. */
static int
listen_parse_inet(const char *addr, struct sockaddr_storage *ss,
    socklen_t *sslen, char *err, size_t errlen)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	char host[INET6_ADDRSTRLEN + 1];
	const char *start = addr, *port, *end;
	int bracket = addr[0] == '[';
	size_t hlen;
	uint16_t p;

	memset(ss, 0, sizeof(*ss));
	if (bracket) {
		if ((end = strchr(addr, ']')) == NULL || end[1] != ':')
			goto syntax;
		start++;
		port = end + 2;
	} else {
		if ((end = strchr(addr, ':')) == NULL || strchr(end + 1, ':') != NULL)
			goto syntax;
		port = end + 1;
	}
	hlen = (size_t)(end - start);
	if (hlen == 0 || hlen >= sizeof(host) || port_parse(port, &p) == -1)
		goto syntax;
	memcpy(host, start, hlen);
	host[hlen] = '\0';
	if (!bracket && inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		if ((ntohl(sin->sin_addr.s_addr) >> 24) != 127)
			goto exposed;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(p);
		*sslen = sizeof(*sin);
		return 0;
	}
	if (bracket && inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		if (!IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			goto exposed;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(p);
		*sslen = sizeof(*sin6);
		return 0;
	}
	snprintf(err, errlen, "metrics listen %s: %s is not an IP address literal "
	    "(IPv4 dotted, IPv6 in brackets)", addr, host);
	return -1;
exposed:
	snprintf(err, errlen, "metrics listen %s: %s is not a loopback address; "
	    "metrics must never be reachable from sandboxes", addr, host);
	return -1;
syntax:
	snprintf(err, errlen, "metrics listen \"%s\": expected unix:/path, "
	    "127.0.0.1:PORT or [::1]:PORT", addr);
	return -1;
}

static int
server_bind_inet(struct metrics_server *srv, const char *addr, char *err,
    size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	int fd, one = 1;

	if (listen_parse_inet(addr, &ss, &sslen, err, errlen) == -1)
		return -1;
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		snprintf(err, errlen, "metrics listen %s: socket: %s", addr,
		    strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sslen) == -1 ||
	    listen(fd, 64) == -1) {
		snprintf(err, errlen, "metrics listen %s: %s", addr, strerror(errno));
		goto fail;
	}
	sslen = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1) {
		snprintf(err, errlen, "metrics listen %s: getsockname: %s", addr,
		    strerror(errno));
		goto fail;
	}
	srv->port = ntohs(ss.ss_family == AF_INET ?
	    ((struct sockaddr_in *)&ss)->sin_port :
	    ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
fail:
	close(fd);
	return -1;
}

/* A socket file nobody listens on is left from a crash and may go; one
 * that accepts belongs to a running process, and anything else is not ours. */
static int
unix_clear_stale(const char *path, const struct sockaddr_un *sun, char *err,
    size_t errlen)
{
	struct stat st;
	int fd, rc, saved;

	if (lstat(path, &st) == -1)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "metrics socket %s: exists and is not a socket",
		    path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "metrics socket %s: %s", path, strerror(errno));
		return -1;
	}
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	saved = errno;
	close(fd);
	if (rc == 0 || saved == EAGAIN) {
		snprintf(err, errlen, "metrics socket %s: in use by a running process",
		    path);
		return -1;
	}
	if (saved != ECONNREFUSED && saved != ENOENT) {
		snprintf(err, errlen, "metrics socket %s: probing: %s", path,
		    strerror(saved));
		return -1;
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		snprintf(err, errlen, "metrics socket %s: unlink: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

static int
server_bind_unix(struct metrics_server *srv, const char *path, char *err,
    size_t errlen)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (path[0] == '\0' || strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "metrics socket \"%s\": empty or too long", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if (unix_clear_stale(path, &sun, err, errlen) == -1)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "metrics socket %s: %s", path, strerror(errno));
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		snprintf(err, errlen, "metrics socket %s: bind: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	/* chmod between bind and listen instead of umask (which is per process
	 * and would race other threads): nobody can connect before listen. */
	if (chmod(path, 0600) == -1 || lstat(path, &st) == -1 ||
	    listen(fd, 64) == -1) {
		snprintf(err, errlen, "metrics socket %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	memcpy(srv->path, path, strlen(path) + 1);
	srv->dev = st.st_dev;
	srv->ino = st.st_ino;
	return fd;
}

struct metrics_server *
metrics_server_new(struct event_base *base, struct metrics *m,
    const char *addr, char *err, size_t errlen)
{
	struct metrics_server *srv;
	struct evconnlistener *lev;
	int fd;

	if ((srv = calloc(1, sizeof(*srv))) == NULL) {
		snprintf(err, errlen, "metrics server: out of memory");
		return NULL;
	}
	srv->m = m;
	if (strncmp(addr, "unix:", 5) == 0)
		fd = server_bind_unix(srv, addr + 5, err, errlen);
	else
		fd = server_bind_inet(srv, addr, err, errlen);
	if (fd == -1)
		goto fail;
	if ((srv->http = evhttp_new(base)) == NULL) {
		snprintf(err, errlen, "metrics server: evhttp_new failed");
		goto fail_fd;
	}
	evhttp_set_max_headers_size(srv->http, METRICS_HEADERS_MAX);
	evhttp_set_max_body_size(srv->http, METRICS_BODY_MAX);
	evhttp_set_timeout(srv->http, METRICS_TIMEOUT_S);
	/* Every method reaches our callback, which answers 405 rather than
	 * evhttp's 501 for the ones it does not serve. */
	evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
	    EVHTTP_REQ_PATCH);
	evhttp_set_gencb(srv->http, server_request_cb, srv);
	/* Our own listener so the fd's owner is clear on every failure:
	 * backlog 0 because listen() was already called. */
	lev = evconnlistener_new(base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (lev == NULL) {
		snprintf(err, errlen, "metrics server: listener failed");
		goto fail_http;
	}
	if (evhttp_bind_listener(srv->http, lev) == NULL) {
		snprintf(err, errlen, "metrics server: evhttp_bind_listener failed");
		evconnlistener_free(lev);
		fd = -1;
		goto fail_http;
	}
	return srv;
fail_http:
	evhttp_free(srv->http);
fail_fd:
	if (fd != -1)
		close(fd);
	if (srv->path[0] != '\0')
		unlink(srv->path);
fail:
	free(srv);
	return NULL;
}

void
metrics_server_free(struct metrics_server *srv)
{
	struct stat st;

	if (srv == NULL)
		return;
	evhttp_free(srv->http);
	if (srv->path[0] != '\0' && lstat(srv->path, &st) == 0 &&
	    S_ISSOCK(st.st_mode) && st.st_dev == srv->dev && st.st_ino == srv->ino)
		unlink(srv->path);
	free(srv);
}

uint16_t
metrics_server_port(const struct metrics_server *srv)
{
	return srv->port;
}
