#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include "common/clock.h"
#include "proxyd/ctlmsg.h"
#include "sessiond/proxyc.h"

/* A hung peer or client kills the binary rather than hanging make check. */
#define WATCHDOG_S	20
#define CALL_MS		5000	/* for calls that must not time out */

/*
 * The fake proxyd: a thread that accepts one connection and runs a
 * script. Output is queued and written in one write() before the peer
 * next reads (or at FLUSH, CLOSE and the end), so what arrives together
 * in one read is decided by the script, not by timing.
 */
enum step_kind {
	STEP_END = 0,
	STEP_EXPECT,		/* read one request; n is its ctl_op */
	STEP_REPLY_HELLO,
	STEP_REPLY_OK,		/* to the last request's req + n */
	STEP_REPLY_ERR,		/* the same, s the code, s2 the message */
	STEP_EVENT,		/* s the host, so tests can tell events apart */
	STEP_RAW,		/* s as is */
	STEP_FLUSH,
	STEP_CLOSE,
	STEP_HANDOFF,		/* leave the connection to the test */
};

struct step {
	enum step_kind	 kind;
	int		 n;
	const char	*s;
	const char	*s2;
};

#define S(k, n, s, s2)	{ (k), (n), (s), (s2) }
#define EXPECT(op)	S(STEP_EXPECT, (op), NULL, NULL)
#define HELLO_OK	EXPECT(CTL_OP_HELLO), S(STEP_REPLY_HELLO, 0, NULL, NULL)
#define REPLY_OK(d)	S(STEP_REPLY_OK, (d), NULL, NULL)
#define REPLY_ERR(c, m)	S(STEP_REPLY_ERR, 0, (c), (m))
#define REPLY_ERR_TO(d, c, m) S(STEP_REPLY_ERR, (d), (c), (m))
#define EVENT(h)	S(STEP_EVENT, 0, (h), NULL)
#define RAW(s)		S(STEP_RAW, 0, (s), NULL)
#define FLUSH		S(STEP_FLUSH, 0, NULL, NULL)
#define CLOSE		S(STEP_CLOSE, 0, NULL, NULL)
#define END		S(STEP_END, 0, NULL, NULL)

struct peer {
	int		 lfd;
	int		 fd;
	const struct step *script;
	char		 fail[256];
	/* The last request read, and how many. */
	int		 nreq;
	enum ctl_op	 op;
	long long	 req;
	char		 id[CTL_ID_MAX + 1];
	char		 tenant[CTL_TENANT_MAX + 1];
	struct ip_addr	 source;
	size_t		 nallow;
	char		 allow[4][272];
	uint32_t	 max_connections;
	char		*out;
	size_t		 outlen;
	size_t		 inlen;
	char		 in[CTL_LINE_MAX + 2];
};

struct fixture {
	char		 dir[64];
	char		 path[100];
	struct peer	 peer;
	pthread_t	 thread;
	int		 running;
	struct proxyc	*pc;
	char		 err[1024];
	/* What the event callback saw. */
	int		 nev;
	char		 hosts[16][64];
	int		 reenter;
	int		 reenter_rc;
	char		 reenter_err[256];
};

static void
on_event(const struct ctl_event *ev, void *arg)
{
	struct fixture *f = arg;

	if (f->nev < 16)
		snprintf(f->hosts[f->nev], sizeof(f->hosts[0]), "%.63s",
		    ev->host);
	f->nev++;
	if (f->reenter)
		f->reenter_rc = proxyc_ping(f->pc, 100, f->reenter_err,
		    sizeof(f->reenter_err));
}

static char *
event_line(const char *host)
{
	struct ctl_event ev;
	char *line;

	memset(&ev, 0, sizeof(ev));
	ev.type = CTL_EVENT_EGRESS_DENIED;
	snprintf(ev.session, sizeof(ev.session), "ses_a");
	snprintf(ev.tenant, sizeof(ev.tenant), "default");
	snprintf(ev.host, sizeof(ev.host), "%s", host);
	ev.port = 443;
	ev.proto = CTL_PROTO_TLS;
	snprintf(ev.reason, sizeof(ev.reason), "not_allowlisted");
	ev.count = 1;
	ev.ts_ms = 1795900000123LL;
	if (ctlmsg_event_encode(&ev, &line) == -1)
		return NULL;
	return line;
}

static int
peer_fail(struct peer *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
peer_fail(struct peer *p, const char *fmt, ...)
{
	va_list ap;

	if (p->fail[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(p->fail, sizeof(p->fail), fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int
write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Queues text, with a '\n' when line is set; frees s. */
static int
peer_queue(struct peer *p, char *s, int line)
{
	size_t n;
	char *tmp;

	if (s == NULL)
		return peer_fail(p, "encode failed");
	n = strlen(s);
	if ((tmp = realloc(p->out, p->outlen + n + 1)) == NULL) {
		free(s);
		return peer_fail(p, "out of memory");
	}
	p->out = tmp;
	memcpy(p->out + p->outlen, s, n);
	p->outlen += n;
	if (line)
		p->out[p->outlen++] = '\n';
	free(s);
	return 0;
}

static int
peer_flush(struct peer *p)
{
	int rc = 0;

	if (p->outlen > 0 && write_all(p->fd, p->out, p->outlen) == -1)
		rc = peer_fail(p, "write: %s", strerror(errno));
	p->outlen = 0;
	return rc;
}

/* One line into p->in[0..*len), without its '\n'; -1 at EOF. */
static int
peer_readline(struct peer *p, size_t *len)
{
	char *nl;
	ssize_t n;

	while ((nl = memchr(p->in, '\n', p->inlen)) == NULL) {
		if (p->inlen == sizeof(p->in))
			return peer_fail(p, "request line too long");
		n = read(p->fd, p->in + p->inlen, sizeof(p->in) - p->inlen);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p->inlen += (size_t)n;
	}
	*len = (size_t)(nl - p->in);
	return 0;
}

static void
peer_consume(struct peer *p, size_t len)
{
	memmove(p->in, p->in + len, p->inlen - len);
	p->inlen -= len;
}

/* Reads and records one request, which must be op. */
static int
peer_expect(struct peer *p, enum ctl_op op)
{
	struct ctl_request r;
	char err[512];
	size_t len, i;

	if (peer_readline(p, &len) == -1)
		return peer_fail(p, "EOF waiting for %s", ctl_op_name(op));
	if (ctlmsg_decode(p->in, len, &r, err, sizeof(err)) == -1)
		return peer_fail(p, "bad request %.*s: %s", (int)len, p->in,
		    err);
	peer_consume(p, len + 1);
	p->nreq++;
	p->op = r.op;
	p->req = r.req;
	memcpy(p->id, r.id, sizeof(p->id));
	memcpy(p->tenant, r.tenant, sizeof(p->tenant));
	p->source = r.source;
	p->nallow = r.nallow;
	for (i = 0; i < r.nallow && i < 4; i++)
		snprintf(p->allow[i], sizeof(p->allow[i]), "%s", r.allow[i]);
	p->max_connections = r.limits.max_connections;
	ctl_request_clear(&r);
	if (p->op != op)
		return peer_fail(p, "got %s, expected %s", ctl_op_name(p->op),
		    ctl_op_name(op));
	return 0;
}

static int
peer_step(struct peer *p, const struct step *st)
{
	char *line = NULL;

	switch (st->kind) {
	case STEP_EXPECT:
		if (peer_flush(p) == -1)
			return -1;
		return peer_expect(p, (enum ctl_op)st->n);
	case STEP_REPLY_HELLO:
		ctlmsg_reply_hello(p->req, &line);
		return peer_queue(p, line, 1);
	case STEP_REPLY_OK:
		ctlmsg_reply_ok(p->req + st->n, &line);
		return peer_queue(p, line, 1);
	case STEP_REPLY_ERR:
		ctlmsg_reply_err(p->req + st->n, st->s, st->s2, &line);
		return peer_queue(p, line, 1);
	case STEP_EVENT:
		return peer_queue(p, event_line(st->s), 1);
	case STEP_RAW:
		return peer_queue(p, strdup(st->s), 0);
	case STEP_FLUSH:
	case STEP_CLOSE:
	case STEP_HANDOFF:
		return peer_flush(p);
	case STEP_END:
		break;
	}
	return peer_fail(p, "bad step %d", st->kind);
}

static void *
peer_main(void *arg)
{
	struct peer *p = arg;
	const struct step *st;
	size_t len;

	if ((p->fd = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC)) == -1) {
		peer_fail(p, "accept: %s", strerror(errno));
		return NULL;
	}
	for (st = p->script; st->kind != STEP_END; st++) {
		if (peer_step(p, st) == -1 || st->kind == STEP_CLOSE)
			goto done;
		if (st->kind == STEP_HANDOFF)
			return NULL;
	}
	/* Stay connected until the client hangs up; anything it says now
	 * was not in the script. */
	if (peer_flush(p) == 0 && peer_readline(p, &len) == 0)
		peer_fail(p, "unexpected request %.*s", (int)len, p->in);
done:
	close(p->fd);
	p->fd = -1;
	return NULL;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct sockaddr_un sun;

	if (f == NULL)
		return -1;
	alarm(WATCHDOG_S);
	snprintf(f->dir, sizeof(f->dir), "/tmp/enclave-test-proxyc.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/ctl.sock", f->dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", f->path);
	f->peer.fd = -1;
	f->peer.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->peer.lfd == -1 ||
	    bind(f->peer.lfd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(f->peer.lfd, 4) == -1)
		return -1;
	*state = f;
	return 0;
}

/* Runs after a failed assertion too: closing the client ends the peer. */
static int
teardown(void **state)
{
	struct fixture *f = *state;

	proxyc_close(f->pc);
	if (f->running)
		pthread_join(f->thread, NULL);
	if (f->peer.fd != -1)
		close(f->peer.fd);
	close(f->peer.lfd);
	free(f->peer.out);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	alarm(0);
	return 0;
}

static void
peer_start(struct fixture *f, const struct step *script)
{
	f->peer.script = script;
	assert_int_equal(pthread_create(&f->thread, NULL, peer_main,
	    &f->peer), 0);
	f->running = 1;
}

/* Waits for the peer to finish its script; it must not have failed. */
static void
peer_join(struct fixture *f)
{
	assert_true(f->running);
	assert_int_equal(pthread_join(f->thread, NULL), 0);
	f->running = 0;
	assert_string_equal(f->peer.fail, "");
}

static struct proxyc *
open_pc(struct fixture *f)
{
	f->err[0] = '\0';
	return proxyc_open(f->path, CALL_MS, on_event, f, f->err,
	    sizeof(f->err));
}

static void
open_ok(struct fixture *f)
{
	if ((f->pc = open_pc(f)) == NULL)
		fail_msg("proxyc_open: %s", f->err);
}

/* Connected and past hello, with the peer's end in f->peer.fd. */
static void
open_handoff(struct fixture *f)
{
	static const struct step script[] = {
		HELLO_OK, S(STEP_HANDOFF, 0, NULL, NULL), END
	};

	peer_start(f, script);
	open_ok(f);
	peer_join(f);
	assert_int_not_equal(f->peer.fd, -1);
}

/* Writes from the test itself, as the handed-off peer. */
static void
peer_write(struct fixture *f, const char *s, size_t len)
{
	assert_int_equal(write_all(f->peer.fd, s, len), 0);
}

static void
peer_write_event(struct fixture *f, const char *host)
{
	char *line = event_line(host);

	assert_non_null(line);
	peer_write(f, line, strlen(line));
	peer_write(f, "\n", 1);
	free(line);
}

static int
readable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, 0) == 1;
}

static int
call_ping(struct fixture *f, int timeout_ms)
{
	f->err[0] = '\0';
	return proxyc_ping(f->pc, timeout_ms, f->err, sizeof(f->err));
}

static int
call_drain(struct fixture *f)
{
	f->err[0] = '\0';
	return proxyc_drain(f->pc, f->err, sizeof(f->err));
}

static void
assert_err_has(struct fixture *f, const char *want)
{
	if (strstr(f->err, want) == NULL)
		fail_msg("err \"%s\" lacks \"%s\"", f->err, want);
}

static void
test_hello_ok(void **state)
{
	static const struct step script[] = {
		EXPECT(CTL_OP_HELLO), EVENT("early.test"),
		S(STEP_REPLY_HELLO, 0, NULL, NULL), END
	};
	struct fixture *f = *state;
	int fd, fl;

	peer_start(f, script);
	open_ok(f);
	/* An event before the hello reply is already the caller's. */
	assert_int_equal(f->nev, 1);
	assert_string_equal(f->hosts[0], "early.test");
	fd = proxyc_fd(f->pc);
	assert_true(fd >= 0);
	assert_true((fl = fcntl(fd, F_GETFD)) != -1 && (fl & FD_CLOEXEC));
	assert_true((fl = fcntl(fd, F_GETFL)) != -1 && (fl & O_NONBLOCK));
	proxyc_close(f->pc);
	f->pc = NULL;
	peer_join(f);
	assert_int_equal(f->peer.nreq, 1);
	assert_int_equal(f->peer.req, 1);
}

static void
test_hello_wrong_versions(void **state)
{
	static const struct step script[] = {
		EXPECT(CTL_OP_HELLO),
		RAW("{\"v\":1,\"req\":1,\"ok\":true,\"versions\":[2,3]}\n"), END
	};
	struct fixture *f = *state;

	peer_start(f, script);
	assert_null(open_pc(f));
	assert_err_has(f, "does not offer protocol version 1");
	peer_join(f);
}

static void
test_hello_newer_proxyd(void **state)
{
	static const struct step script[] = {
		EXPECT(CTL_OP_HELLO),
		RAW("{\"v\":2,\"req\":1,\"ok\":false,\"error\":{\"code\":"
		    "\"unsupported_version\",\"message\":\"speak 2\"},"
		    "\"versions\":[2]}\n"), END
	};
	struct fixture *f = *state;

	peer_start(f, script);
	assert_null(open_pc(f));
	assert_err_has(f, "does not speak protocol version 1");
	peer_join(f);
}

static void
test_hello_refused(void **state)
{
	static const struct step script[] = {
		EXPECT(CTL_OP_HELLO), REPLY_ERR("internal", "not today"), END
	};
	struct fixture *f = *state;

	peer_start(f, script);
	assert_null(open_pc(f));
	assert_string_equal(f->err, "proxyd: internal: not today");
	peer_join(f);
}

static void
test_open_no_socket(void **state)
{
	struct fixture *f = *state;
	char path[300];

	snprintf(path, sizeof(path), "%s/nothing.sock", f->dir);
	assert_null(proxyc_open(path, 1000, NULL, NULL, f->err,
	    sizeof(f->err)));
	assert_err_has(f, "nothing.sock");
	memset(path, 'x', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	assert_null(proxyc_open(path, 1000, NULL, NULL, f->err,
	    sizeof(f->err)));
	assert_err_has(f, "path too long");
	assert_null(proxyc_open(f->path, 0, NULL, NULL, f->err,
	    sizeof(f->err)));
}

static void
test_session_add_ok(void **state)
{
	static const struct step script[] = {
		HELLO_OK, EXPECT(CTL_OP_SESSION_ADD), REPLY_OK(0), END
	};
	static char a0[] = "allowed.test", a1[] = "*.github.com:443";
	static char *const allow[] = { a0, a1 };
	struct fixture *f = *state;
	struct ip_addr src;
	const char *code = "unset";
	char ip[IP_STRLEN];

	assert_int_equal(ip_parse("198.19.0.1", 10, &src, NULL), 0);
	peer_start(f, script);
	open_ok(f);
	assert_int_equal(proxyc_session_add(f->pc, "ses_a", "default", &src,
	    allow, 2, 64, CALL_MS, &code, f->err, sizeof(f->err)), 0);
	assert_string_equal(code, "");
	proxyc_close(f->pc);
	f->pc = NULL;
	peer_join(f);
	assert_int_equal(f->peer.req, 2);
	assert_string_equal(f->peer.id, "ses_a");
	assert_string_equal(f->peer.tenant, "default");
	assert_int_equal(ip_format(&f->peer.source, ip, sizeof(ip)), 0);
	assert_string_equal(ip, "198.19.0.1");
	assert_int_equal(f->peer.nallow, 2);
	assert_string_equal(f->peer.allow[0], "allowed.test");
	assert_string_equal(f->peer.allow[1], "*.github.com:443");
	assert_int_equal(f->peer.max_connections, 64);
}

static void
test_session_add_exists(void **state)
{
	static const struct step script[] = {
		HELLO_OK,
		EXPECT(CTL_OP_SESSION_ADD),
		REPLY_ERR(CTL_ERR_EXISTS, "session id or source in use"),
		EXPECT(CTL_OP_SESSION_ADD), REPLY_OK(0), END
	};
	struct fixture *f = *state;
	struct ip_addr src;
	const char *code = NULL;

	assert_int_equal(ip_parse("2001:db8::1", 11, &src, NULL), 0);
	peer_start(f, script);
	open_ok(f);
	assert_int_equal(proxyc_session_add(f->pc, "ses_a", "default", &src,
	    NULL, 0, 0, CALL_MS, &code, f->err, sizeof(f->err)), -1);
	assert_string_equal(code, CTL_ERR_EXISTS);
	assert_string_equal(f->err,
	    "proxyd: exists: session id or source in use");
	/* A refusal leaves the connection as it was. */
	assert_int_equal(proxyc_session_add(f->pc, "ses_b", "default", &src,
	    NULL, 0, 0, CALL_MS, &code, f->err, sizeof(f->err)), 0);
	assert_string_equal(code, "");
	proxyc_close(f->pc);
	f->pc = NULL;
	peer_join(f);
	assert_int_equal(f->peer.req, 3);
	assert_int_equal(f->peer.nallow, 0);
	assert_int_equal(f->peer.max_connections, 0);
}

static void
test_session_update_del(void **state)
{
	static const struct step script[] = {
		HELLO_OK,
		EXPECT(CTL_OP_SESSION_UPDATE), REPLY_OK(0),
		EXPECT(CTL_OP_SESSION_DEL),
		REPLY_ERR(CTL_ERR_NOT_FOUND, "no such\nsession"), END
	};
	static char a0[] = "pypi.org";
	static char *const allow[] = { a0 };
	struct fixture *f = *state;
	struct ip_addr src;
	const char *code = NULL;

	assert_int_equal(ip_parse("198.19.0.3", 10, &src, NULL), 0);
	peer_start(f, script);
	open_ok(f);
	assert_int_equal(proxyc_session_update(f->pc, "ses_c", "t1", &src,
	    allow, 1, 0, CALL_MS, &code, f->err, sizeof(f->err)), 0);
	assert_int_equal(proxyc_session_del(f->pc, "ses_c", CALL_MS, &code,
	    f->err, sizeof(f->err)), -1);
	assert_string_equal(code, CTL_ERR_NOT_FOUND);
	/* proxyd's text reaches a log: no line breaks. */
	assert_string_equal(f->err, "proxyd: not_found: no such?session");
	proxyc_close(f->pc);
	f->pc = NULL;
	peer_join(f);
	assert_string_equal(f->peer.id, "ses_c");
}

static void
test_events_before_reply(void **state)
{
	static const struct step script[] = {
		HELLO_OK, EXPECT(CTL_OP_SESSION_DEL),
		EVENT("a.test"), FLUSH, EVENT("b.test"), FLUSH,
		EVENT("c.test"), REPLY_OK(0), END
	};
	struct fixture *f = *state;

	peer_start(f, script);
	open_ok(f);
	assert_int_equal(proxyc_session_del(f->pc, "ses_a", CALL_MS, NULL,
	    f->err, sizeof(f->err)), 0);
	assert_int_equal(f->nev, 3);
	assert_string_equal(f->hosts[0], "a.test");
	assert_string_equal(f->hosts[1], "b.test");
	assert_string_equal(f->hosts[2], "c.test");
}

/* Everything before the ping's reply has been delivered when it returns,
 * and so has what came in the same read after it: nothing complete is
 * left in a buffer the caller's loop cannot see. */
static void
test_ping_barrier(void **state)
{
	static const struct step script[] = {
		HELLO_OK, EXPECT(CTL_OP_PING),
		EVENT("a.test"), EVENT("b.test"), REPLY_OK(0), EVENT("c.test"),
		END
	};
	struct fixture *f = *state;

	peer_start(f, script);
	open_ok(f);
	assert_int_equal(call_ping(f, CALL_MS), 0);
	assert_int_equal(f->nev, 3);
	assert_string_equal(f->hosts[0], "a.test");
	assert_string_equal(f->hosts[1], "b.test");
	assert_string_equal(f->hosts[2], "c.test");
	assert_false(readable(proxyc_fd(f->pc)));
	assert_int_equal(call_drain(f), 0);
	assert_int_equal(f->nev, 3);
}

static void
test_reply_timeout(void **state)
{
	static const struct step script[] = {
		HELLO_OK, EXPECT(CTL_OP_PING), END
	};
	struct fixture *f = *state;
	uint64_t t0, dt;

	peer_start(f, script);
	open_ok(f);
	t0 = clock_monotonic_ms();
	assert_int_equal(call_ping(f, 200), -1);
	dt = clock_monotonic_ms() - t0;
	assert_err_has(f, "no reply to ping (req 2)");
	assert_true(dt >= 200);
	assert_true(dt < 2000);
}

/*
 * Late replies to calls that timed out are recognised and dropped: the
 * late refusal of the del must not pass for the first ping's answer, nor
 * the first ping's late answer for the second's.
 */
static void
test_late_reply(void **state)
{
	static const struct step script[] = {
		HELLO_OK, EXPECT(CTL_OP_SESSION_DEL), EXPECT(CTL_OP_PING),
		EVENT("x.test"), REPLY_ERR_TO(-1, "not_found", "late"),
		EXPECT(CTL_OP_PING), REPLY_OK(-1), REPLY_OK(0), END
	};
	struct fixture *f = *state;
	const char *code = NULL;

	peer_start(f, script);
	open_ok(f);
	assert_int_equal(proxyc_session_del(f->pc, "ses_a", 100, &code,
	    f->err, sizeof(f->err)), -1);
	assert_string_equal(code, "");
	assert_err_has(f, "no reply to session_del (req 2)");
	assert_int_equal(call_ping(f, 200), -1);
	assert_err_has(f, "no reply to ping (req 3)");
	assert_int_equal(call_ping(f, CALL_MS), 0);
	assert_int_equal(f->nev, 1);
	assert_false(readable(proxyc_fd(f->pc)));
}

static void
test_peer_closes(void **state)
{
	static const struct step script[] = {
		HELLO_OK, EXPECT(CTL_OP_PING), EVENT("last.test"), CLOSE, END
	};
	struct fixture *f = *state;

	peer_start(f, script);
	open_ok(f);
	assert_int_equal(call_ping(f, CALL_MS), -1);
	assert_err_has(f, "proxyd closed the connection");
	assert_int_equal(f->nev, 1);
	peer_join(f);
	/* Every later call repeats why. */
	assert_int_equal(call_drain(f), -1);
	assert_err_has(f, "unusable: proxyd control: proxyd closed");
	assert_int_equal(call_ping(f, CALL_MS), -1);
	assert_err_has(f, "unusable");
}

static void
test_peer_closes_idle(void **state)
{
	struct fixture *f = *state;

	open_handoff(f);
	peer_write(f, "{\"v\":1,", 7);
	close(f->peer.fd);
	f->peer.fd = -1;
	assert_int_equal(call_drain(f), -1);
	assert_err_has(f, "closed the connection mid-line");
}

/* A send to a closed peer fails with EPIPE, not a SIGPIPE that kills. */
static void
test_send_after_close(void **state)
{
	struct fixture *f = *state;

	open_handoff(f);
	close(f->peer.fd);
	f->peer.fd = -1;
	assert_int_equal(call_ping(f, CALL_MS), -1);
	assert_true(strstr(f->err, "Broken pipe") != NULL ||
	    strstr(f->err, "closed") != NULL);
}

static void
test_drain_partial_lines(void **state)
{
	struct fixture *f = *state;
	char *a = event_line("a.test"), *b = event_line("b.test");
	size_t alen, blen;

	assert_non_null(a);
	assert_non_null(b);
	alen = strlen(a);
	blen = strlen(b);
	open_handoff(f);
	assert_int_equal(call_drain(f), 0);
	peer_write(f, a, 10);
	assert_int_equal(call_drain(f), 0);
	assert_int_equal(f->nev, 0);
	peer_write(f, a + 10, alen - 10);
	assert_int_equal(call_drain(f), 0);
	assert_int_equal(f->nev, 0);
	peer_write(f, "\n", 1);
	peer_write(f, b, 5);
	assert_int_equal(call_drain(f), 0);
	assert_int_equal(f->nev, 1);
	peer_write(f, b + 5, blen - 5);
	peer_write(f, "\n", 1);
	peer_write_event(f, "c.test");
	assert_int_equal(call_drain(f), 0);
	assert_int_equal(f->nev, 3);
	assert_string_equal(f->hosts[0], "a.test");
	assert_string_equal(f->hosts[1], "b.test");
	assert_string_equal(f->hosts[2], "c.test");
	free(a);
	free(b);
}

/* CTL_LINE_MAX bytes is a line; one more is an error, found as soon as
 * the buffer is full rather than by waiting for a '\n'. */
static void
test_overlong_line(void **state)
{
	struct fixture *f = *state;
	char *ev = event_line("max.test"), *big;
	size_t n;

	assert_non_null(ev);
	assert_non_null(big = malloc(CTL_LINE_MAX + 1));
	n = strlen(ev);
	memcpy(big, ev, n);
	memset(big + n, ' ', CTL_LINE_MAX - n);	/* JSON whitespace */
	big[CTL_LINE_MAX] = '\n';
	open_handoff(f);
	peer_write(f, big, CTL_LINE_MAX + 1);
	assert_int_equal(call_drain(f), 0);
	assert_int_equal(f->nev, 1);
	memset(big, 'x', CTL_LINE_MAX + 1);
	peer_write(f, big, CTL_LINE_MAX + 1);
	assert_int_equal(call_drain(f), -1);
	assert_err_has(f, "longer than 65536 bytes");
	/* Nothing more is read, let alone kept. */
	peer_write(f, big, 1000);
	assert_int_equal(call_drain(f), -1);
	assert_err_has(f, "unusable");
	assert_true(readable(proxyc_fd(f->pc)));
	free(big);
	free(ev);
}

static void
test_req_mismatch(void **state)
{
	static const struct step script[] = {
		HELLO_OK, EXPECT(CTL_OP_PING), REPLY_OK(1), END
	};
	struct fixture *f = *state;

	peer_start(f, script);
	open_ok(f);
	assert_int_equal(call_ping(f, CALL_MS), -1);
	assert_err_has(f, "reply for req 3, expected req 2");
	assert_int_equal(call_ping(f, CALL_MS), -1);
	assert_err_has(f, "unusable");
}

/* proxyd answers a line it could not read with no "req": say what it said. */
static void
test_reply_without_req(void **state)
{
	static const struct step script[] = {
		HELLO_OK, EXPECT(CTL_OP_PING),
		RAW("{\"v\":1,\"ok\":false,\"error\":{\"code\":\"too_large\","
		    "\"message\":\"line too long\"}}\n"), END
	};
	struct fixture *f = *state;

	peer_start(f, script);
	open_ok(f);
	assert_int_equal(call_ping(f, CALL_MS), -1);
	assert_err_has(f, "reply for req -1, expected req 2 "
	    "(too_large: line too long)");
}

static void
test_unsolicited_reply(void **state)
{
	struct fixture *f = *state;
	char *line;

	open_handoff(f);
	assert_int_equal(ctlmsg_reply_ok(1, &line), 0);
	peer_write(f, line, strlen(line));
	peer_write(f, "\n", 1);
	free(line);
	assert_int_equal(call_drain(f), -1);
	assert_err_has(f, "reply for req 1 with none outstanding");
}

static void
test_malformed_event(void **state)
{
	static const struct step script[] = {
		HELLO_OK, EXPECT(CTL_OP_PING),
		RAW("{\"v\":1,\"event\":{\"type\":\"egress_maybe\"}}\n"),
		REPLY_OK(0), END
	};
	struct fixture *f = *state;

	peer_start(f, script);
	open_ok(f);
	assert_int_equal(call_ping(f, CALL_MS), -1);
	assert_err_has(f, "bad line from proxyd: event.type");
	assert_int_equal(f->nev, 0);
}

static void
test_garbage_line(void **state)
{
	struct fixture *f = *state;

	open_handoff(f);
	peer_write(f, "\x1b[2Jnot json\n", strlen("\x1b[2Jnot json\n"));
	assert_int_equal(call_drain(f), -1);
	assert_err_has(f, "bad line from proxyd: invalid JSON");
	assert_null(strchr(f->err, '\x1b'));
}

/* n distinct allow patterns of 253 bytes each, the longest there are. */
static char **
long_patterns(size_t n)
{
	char **v;
	size_t i;

	if ((v = calloc(n, sizeof(*v))) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if ((v[i] = malloc(256)) == NULL)
			return NULL;
		snprintf(v[i], 256, "*.%061d.%061d.%061d.h%059zu.test", 0, 0,
		    0, i);
	}
	return v;
}

static void
free_patterns(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Refused before anything is sent, and no request number is used up. */
static void
test_invalid_arguments(void **state)
{
	static const char *const bad_allow[] = { "ok.test", "*." };
	struct fixture *f = *state;
	struct ip_addr src, none;
	char **many, *line;
	const char *code = NULL;

	assert_int_equal(ip_parse("198.19.0.1", 10, &src, NULL), 0);
	memset(&none, 0, sizeof(none));
	/* 256 of them do not fit in one line. */
	assert_non_null(many = long_patterns(CTL_ALLOW_MAX + 1));
	open_handoff(f);
	assert_int_equal(proxyc_session_add(f->pc, "bad", "default", &src,
	    NULL, 0, 0, CALL_MS, &code, f->err, sizeof(f->err)), -1);
	assert_err_has(f, "session id");
	assert_string_equal(code, "");
	assert_int_equal(proxyc_session_add(f->pc, "ses_a", "Default", &src,
	    NULL, 0, 0, CALL_MS, &code, f->err, sizeof(f->err)), -1);
	assert_err_has(f, "tenant");
	assert_int_equal(proxyc_session_add(f->pc, "ses_a", "default", &none,
	    NULL, 0, 0, CALL_MS, &code, f->err, sizeof(f->err)), -1);
	assert_err_has(f, "source");
	assert_int_equal(proxyc_session_add(f->pc, "ses_a", "default", &src,
	    (char *const *)bad_allow, 2, 0, CALL_MS, &code, f->err,
	    sizeof(f->err)), -1);
	assert_err_has(f, "allow[1]");
	assert_int_equal(proxyc_session_add(f->pc, "ses_a", "default", &src,
	    many, CTL_ALLOW_MAX + 1, 0, CALL_MS, &code, f->err,
	    sizeof(f->err)), -1);
	assert_err_has(f, "at most 256 patterns");
	assert_int_equal(proxyc_session_add(f->pc, "ses_a", "default", &src,
	    many, CTL_ALLOW_MAX, 0, CALL_MS, &code, f->err,
	    sizeof(f->err)), -1);
	assert_err_has(f, "more than 65536");
	assert_int_equal(proxyc_session_add(f->pc, "ses_a", "default", &src,
	    NULL, 0, CTL_MAX_CONNECTIONS_MAX + 1, CALL_MS, &code, f->err,
	    sizeof(f->err)), -1);
	assert_err_has(f, "max_connections");
	assert_int_equal(proxyc_session_del(f->pc, "ses_", CALL_MS, &code,
	    f->err, sizeof(f->err)), -1);
	assert_int_equal(call_ping(f, -1), -1);
	assert_err_has(f, "negative timeout");
	assert_false(readable(f->peer.fd));
	/* The reply goes out first; the ping still reads it as its own. */
	assert_int_equal(ctlmsg_reply_ok(2, &line), 0);
	peer_write(f, line, strlen(line));
	peer_write(f, "\n", 1);
	free(line);
	assert_int_equal(call_ping(f, CALL_MS), 0);
	assert_int_equal(peer_expect(&f->peer, CTL_OP_PING), 0);
	assert_int_equal(f->peer.req, 2);
	free_patterns(many, CTL_ALLOW_MAX + 1);
}

/* A small send buffer forces partial writes; the line still arrives whole. */
static void
test_large_request(void **state)
{
	static const struct step script[] = {
		HELLO_OK, EXPECT(CTL_OP_SESSION_ADD), REPLY_OK(0), END
	};
	struct fixture *f = *state;
	struct ip_addr src;
	int small = 4096;
	char **many;

	assert_int_equal(ip_parse("198.19.0.1", 10, &src, NULL), 0);
	assert_non_null(many = long_patterns(200));
	peer_start(f, script);
	open_ok(f);
	assert_int_equal(setsockopt(proxyc_fd(f->pc), SOL_SOCKET, SO_SNDBUF,
	    &small, sizeof(small)), 0);
	if (proxyc_session_add(f->pc, "ses_big", "default", &src, many, 200, 0,
	    CALL_MS, NULL, f->err, sizeof(f->err)) != 0)
		fail_msg("session_add: %s", f->err);
	proxyc_close(f->pc);
	f->pc = NULL;
	peer_join(f);
	assert_int_equal(f->peer.nallow, 200);
	assert_string_equal(f->peer.allow[3], many[3]);
	free_patterns(many, 200);
}

/* A peer that stops reading: half a line on the wire ends the connection. */
static void
test_send_timeout(void **state)
{
	struct fixture *f = *state;
	struct ip_addr src;
	int small = 4096;
	char **many;

	assert_int_equal(ip_parse("198.19.0.1", 10, &src, NULL), 0);
	assert_non_null(many = long_patterns(200));
	open_handoff(f);
	assert_int_equal(setsockopt(proxyc_fd(f->pc), SOL_SOCKET, SO_SNDBUF,
	    &small, sizeof(small)), 0);
	assert_int_equal(proxyc_session_add(f->pc, "ses_big", "default", &src,
	    many, 200, 0, 200, NULL, f->err, sizeof(f->err)), -1);
	assert_err_has(f, "send session_add: timed out after");
	assert_int_equal(call_ping(f, CALL_MS), -1);
	assert_err_has(f, "unusable");
	free_patterns(many, 200);
}

/* The callback cannot re-enter the client it is called from. */
static void
test_callback_reentry(void **state)
{
	struct fixture *f = *state;

	open_handoff(f);
	f->reenter = 1;
	f->reenter_rc = 0;
	peer_write_event(f, "r.test");
	assert_int_equal(call_drain(f), 0);
	assert_int_equal(f->nev, 1);
	assert_int_equal(f->reenter_rc, -1);
	assert_string_equal(f->reenter_err,
	    "proxyd control: called from its own event callback");
	assert_false(readable(f->peer.fd));
}

#define T(fn)	cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_hello_ok),
		T(test_hello_wrong_versions),
		T(test_hello_newer_proxyd),
		T(test_hello_refused),
		T(test_open_no_socket),
		T(test_session_add_ok),
		T(test_session_add_exists),
		T(test_session_update_del),
		T(test_events_before_reply),
		T(test_ping_barrier),
		T(test_reply_timeout),
		T(test_late_reply),
		T(test_peer_closes),
		T(test_peer_closes_idle),
		T(test_send_after_close),
		T(test_drain_partial_lines),
		T(test_overlong_line),
		T(test_req_mismatch),
		T(test_reply_without_req),
		T(test_unsolicited_reply),
		T(test_malformed_event),
		T(test_garbage_line),
		T(test_invalid_arguments),
		T(test_large_request),
		T(test_send_timeout),
		T(test_callback_reentry),
	};

	/* jansson seeds its hash function on first use; the peer thread and
	 * the client both use it, so seed it before either starts. */
	json_object_seed(0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
