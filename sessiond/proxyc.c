/*
 * sessiond's end of proxyd's control socket. See proxyc.h for the contract.
 *
 * The buffer holds buf[start..end): complete lines are handled as soon as
 * they are read, so between calls it holds at most one partial line, and
 * scan remembers how far that partial line has been searched for '\n'.
 * Requests are numbered from 1; replies arrive in request order, so the
 * only acceptable reply is the one to the oldest request not yet answered
 * (unanswered), and every request below next_req has been sent whole.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/hostname.h"
#include "sessiond/proxyc.h"

#define PROXYC_WHY_MAX	256

struct proxyc {
	int		 fd;
	proxyc_event_fn	 cb;
	void		*cb_arg;
	int		 in_cb;		/* cb is running: calls back in are refused */
	long long	 next_req;	/* the number the next request gets */
	long long	 unanswered;	/* the oldest request without its reply */
	char		 broken[PROXYC_WHY_MAX];	/* "" while usable */
	char		 code[32];	/* the last ok:false reply's code */
	size_t		 start;
	size_t		 scan;
	size_t		 end;
	char		 buf[CTL_LINE_MAX + 1];	/* a maximal line and its '\n' */
};

/* Text from proxyd ends up in sessiond's log: no line breaks or escapes. */
static void
proxyc_clean(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static int proxyc_fail(struct proxyc *pc, char *err, size_t errlen,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* "proxyd: <code>: <message>" for an ok:false reply. */
static int
proxyc_refused(const struct ctl_reply *rep, char *err, size_t errlen)
{
	err_set(err, errlen, "proxyd: %s: %s", rep->code, rep->message);
	if (err != NULL && errlen > 0)
		proxyc_clean(err);
	return -1;
}

/* The connection can no longer be trusted to be in step with proxyd:
 * remember why, so every later call says so instead of misreading. */
static int
proxyc_fail(struct proxyc *pc, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(pc->broken, sizeof(pc->broken), fmt, ap);
	va_end(ap);
	proxyc_clean(pc->broken);
	return err_set(err, errlen, "%s", pc->broken);
}

/* Every public call starts here. */
static int
proxyc_usable(const struct proxyc *pc, char *err, size_t errlen)
{
	if (pc->in_cb)
		return err_set(err, errlen,
		    "proxyd control: called from its own event callback");
	if (pc->broken[0] != '\0')
		return err_set(err, errlen,
		    "proxyd control: connection unusable: %s", pc->broken);
	return 0;
}

/* The reply to want, if it is this line, goes to *rep. */
static int
proxyc_line(struct proxyc *pc, const char *line, size_t len, long long want,
    struct ctl_reply *rep, int *got, char *err, size_t errlen)
{
	struct ctl_event ev;
	struct ctl_reply r;
	char why[PROXYC_WHY_MAX], scratch[PROXYC_WHY_MAX];
	int rc;

	rc = ctlmsg_event_decode(line, len, &ev, why, sizeof(why));
	if (rc == 0) {
		if (pc->cb != NULL) {
			pc->in_cb = 1;
			pc->cb(&ev, pc->cb_arg);
			pc->in_cb = 0;
		}
		return 0;
	}
	if (rc == -1) {
		/* A proxyd too new to speak our version still says which it
		 * speaks; name that rather than the version check's words. */
		if (ctlmsg_reply_decode(line, len, &r, scratch,
		    sizeof(scratch)) == -1 && r.versions != 0 &&
		    (r.versions & (1u << CTL_VERSION)) == 0)
			return proxyc_fail(pc, err, errlen, "proxyd control: "
			    "proxyd does not speak protocol version %d",
			    CTL_VERSION);
		return proxyc_fail(pc, err, errlen,
		    "proxyd control: bad line from proxyd: %s", why);
	}
	if (ctlmsg_reply_decode(line, len, &r, why, sizeof(why)) == -1)
		return proxyc_fail(pc, err, errlen,
		    "proxyd control: bad reply from proxyd: %s", why);
	if (pc->unanswered >= pc->next_req || r.req != pc->unanswered) {
		/* proxyd's own complaint, if any, is the likely explanation. */
		if (r.ok)
			why[0] = '\0';
		else
			snprintf(why, sizeof(why), " (%s: %.160s)", r.code,
			    r.message);
		if (pc->unanswered >= pc->next_req)
			return proxyc_fail(pc, err, errlen, "proxyd control: "
			    "reply for req %lld with none outstanding%s",
			    r.req, why);
		return proxyc_fail(pc, err, errlen, "proxyd control: reply "
		    "for req %lld, expected req %lld%s", r.req,
		    pc->unanswered, why);
	}
	pc->unanswered++;
	/* Any other is the late reply to a call that timed out: dropped. */
	if (r.req == want) {
		*rep = r;
		*got = 1;
	}
	return 0;
}

/* Handles every complete line in the buffer. */
static int
proxyc_lines(struct proxyc *pc, long long want, struct ctl_reply *rep,
    int *got, char *err, size_t errlen)
{
	char *nl, *line;
	size_t len;

	while ((nl = memchr(pc->buf + pc->scan, '\n', pc->end - pc->scan)) !=
	    NULL) {
		line = pc->buf + pc->start;
		len = (size_t)(nl - line);
		pc->start = pc->scan = (size_t)(nl - pc->buf) + 1;
		if (proxyc_line(pc, line, len, want, rep, got, err,
		    errlen) == -1)
			return -1;
	}
	pc->scan = pc->end;
	if (pc->end - pc->start > CTL_LINE_MAX)
		return proxyc_fail(pc, err, errlen,
		    "proxyd control: line from proxyd longer than %d bytes",
		    CTL_LINE_MAX);
	return 0;
}

/*
 * One read into the buffer's free space, which proxyc_lines() guarantees:
 * 1 with *n bytes read, 0 when nothing is available, -1 on EOF or error.
 */
static int
proxyc_read(struct proxyc *pc, size_t *n, char *err, size_t errlen)
{
	ssize_t r;

	if (pc->start > 0) {
		memmove(pc->buf, pc->buf + pc->start, pc->end - pc->start);
		pc->end -= pc->start;
		pc->scan -= pc->start;
		pc->start = 0;
	}
	for (;;) {
		r = read(pc->fd, pc->buf + pc->end, sizeof(pc->buf) - pc->end);
		if (r > 0) {
			pc->end += (size_t)r;
			*n = (size_t)r;
			return 1;
		}
		if (r == 0)
			return proxyc_fail(pc, err, errlen, "proxyd control: "
			    "proxyd closed the connection%s",
			    pc->end > pc->start ? " mid-line" : "");
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return proxyc_fail(pc, err, errlen, "proxyd control: read: %s",
		    strerror(errno));
	}
}

/* Milliseconds left for poll(); 0 once the deadline has passed. */
static int
proxyc_left(uint64_t deadline)
{
	uint64_t now = clock_monotonic_ms();

	if (now >= deadline)
		return 0;
	return deadline - now > INT_MAX ? INT_MAX : (int)(deadline - now);
}

/*
 * Reads until the reply to want arrives, handing events to cb. The
 * deadline is checked after every read, so a stream of events cannot hold
 * a call past it; what was read is always handled first, so a reply that
 * arrives at the last moment still counts.
 */
static int
proxyc_wait(struct proxyc *pc, long long want, const char *what,
    uint64_t deadline, struct ctl_reply *rep, char *err, size_t errlen)
{
	struct pollfd pfd;
	size_t n;
	int got = 0, rc, left;

	for (;;) {
		if ((rc = proxyc_read(pc, &n, err, errlen)) == -1 ||
		    proxyc_lines(pc, want, rep, &got, err, errlen) == -1)
			return -1;
		if (got)
			return 0;
		if ((left = proxyc_left(deadline)) == 0)
			return err_set(err, errlen, "proxyd control: no reply "
			    "to %s (req %lld) in time", what, want);
		if (rc == 1)
			continue;
		pfd.fd = pc->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, left) == -1 && errno != EINTR)
			return proxyc_fail(pc, err, errlen,
			    "proxyd control: poll: %s", strerror(errno));
	}
}

/*
 * Writes one whole line. Only a timeout before the first byte leaves the
 * connection usable; half a line on the wire would corrupt the next one.
 */
static int
proxyc_send(struct proxyc *pc, const char *buf, size_t len, const char *what,
    uint64_t deadline, char *err, size_t errlen)
{
	struct pollfd pfd;
	size_t off = 0;
	ssize_t n;
	int left;

	while (off < len) {
		n = send(pc->fd, buf + off, len - off, MSG_NOSIGNAL);
		if (n >= 0) {
			off += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return proxyc_fail(pc, err, errlen,
			    "proxyd control: send %s: %s", what,
			    strerror(errno));
		if ((left = proxyc_left(deadline)) == 0) {
			if (off == 0)
				return err_set(err, errlen, "proxyd control: "
				    "send %s: timed out", what);
			return proxyc_fail(pc, err, errlen, "proxyd control: "
			    "send %s: timed out after %zu of %zu bytes", what,
			    off, len);
		}
		pfd.fd = pc->fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, left) == -1 && errno != EINTR)
			return proxyc_fail(pc, err, errlen,
			    "proxyd control: poll: %s", strerror(errno));
	}
	return 0;
}

/*
 * Sends r (numbered here) and waits for its reply. 0 when a reply came,
 * whatever it says; -1 when none did.
 */
static int
proxyc_request(struct proxyc *pc, struct ctl_request *r, uint64_t deadline,
    struct ctl_reply *rep, char *err, size_t errlen)
{
	const char *what = ctl_op_name(r->op);
	char *line = NULL, *tmp;
	size_t len;
	int rc = -1;

	r->req = pc->next_req;
	if (ctlmsg_request_encode(r, &line) == -1) {
		err_set(err, errlen, "proxyd control: cannot encode %s", what);
		goto out;
	}
	len = strlen(line);
	if (len > CTL_LINE_MAX) {
		err_set(err, errlen, "proxyd control: %s request is %zu bytes, "
		    "more than %d", what, len, CTL_LINE_MAX);
		goto out;
	}
	/* Not realloc: a line may hold a binding's secret, which must not be
	 * left behind in memory realloc frees without wiping. */
	if ((tmp = malloc(len + 2)) == NULL) {
		err_set(err, errlen, "proxyd control: out of memory");
		goto out;
	}
	memcpy(tmp, line, len);
	explicit_bzero(line, len);
	free(line);
	line = tmp;
	line[len++] = '\n';
	line[len] = '\0';
	if (proxyc_send(pc, line, len, what, deadline, err, errlen) == -1)
		goto out;
	pc->next_req++;
	rc = proxyc_wait(pc, r->req, what, deadline, rep, err, errlen);
out:
	if (line != NULL) {
		explicit_bzero(line, strlen(line));
		free(line);
	}
	return rc;
}

/* A request from a public call: ok:true is 0, everything else -1. */
static int
proxyc_call(struct proxyc *pc, struct ctl_request *r, int timeout_ms,
    char *err, size_t errlen)
{
	struct ctl_reply rep;

	if (proxyc_request(pc, r, clock_monotonic_ms() + (uint64_t)timeout_ms,
	    &rep, err, errlen) == -1)
		return -1;
	if (!rep.ok) {
		snprintf(pc->code, sizeof(pc->code), "%s", rep.code);
		return proxyc_refused(&rep, err, errlen);
	}
	return 0;
}

/* Checks shared by the public calls; *code_out is valid from here on. */
static int
proxyc_begin(struct proxyc *pc, int timeout_ms, const char **code_out,
    char *err, size_t errlen)
{
	pc->code[0] = '\0';
	if (code_out != NULL)
		*code_out = pc->code;
	if (proxyc_usable(pc, err, errlen) == -1)
		return -1;
	if (timeout_ms < 0)
		return err_set(err, errlen,
		    "proxyd control: negative timeout %d", timeout_ms);
	return 0;
}

static int
proxyc_set_id(struct ctl_request *r, const char *id, char *err,
    size_t errlen)
{
	size_t n = id != NULL ? strlen(id) : 0;

	if (id == NULL || !ctl_session_id_valid(id, n) || n >= sizeof(r->id))
		return err_set(err, errlen, "proxyd control: session id must "
		    "be \"ses_\" and 1..64 of A-Z a-z 0-9 _ -");
	memcpy(r->id, id, n + 1);
	return 0;
}

/* Validated here, not only by the encoder, so err can say what is wrong. */
static int
proxyc_session_set(struct proxyc *pc, enum ctl_op op, const char *id,
    const char *tenant, const struct ip_addr *source, char *const *allow,
    size_t nallow, const struct ctl_binding *bindings, size_t nbindings,
    uint32_t max_connections, int timeout_ms, const char **code_out,
    char *err, size_t errlen)
{
	struct ctl_request r;
	struct host_pattern hp;
	const char *why;
	size_t i, n;

	if (proxyc_begin(pc, timeout_ms, code_out, err, errlen) == -1)
		return -1;
	memset(&r, 0, sizeof(r));
	r.op = op;
	if (proxyc_set_id(&r, id, err, errlen) == -1)
		return -1;
	n = tenant != NULL ? strlen(tenant) : 0;
	if (tenant == NULL || !ctl_tenant_valid(tenant, n) ||
	    n >= sizeof(r.tenant))
		return err_set(err, errlen,
		    "proxyd control: tenant must be 1..64 of a-z 0-9 _ -");
	memcpy(r.tenant, tenant, n + 1);
	if (source == NULL || (source->family != AF_INET &&
	    source->family != AF_INET6))
		return err_set(err, errlen,
		    "proxyd control: source is not an address");
	r.source = *source;
	if (nallow > CTL_ALLOW_MAX || (nallow > 0 && allow == NULL))
		return err_set(err, errlen, "proxyd control: allow must hold "
		    "at most %d patterns", CTL_ALLOW_MAX);
	for (i = 0; i < nallow; i++) {
		why = "missing";
		if (allow[i] == NULL || host_pattern_parse(allow[i],
		    strlen(allow[i]), &hp, &why) == -1)
			return err_set(err, errlen,
			    "proxyd control: allow[%zu]: %s", i, why);
	}
	if (max_connections > CTL_MAX_CONNECTIONS_MAX)
		return err_set(err, errlen, "proxyd control: max_connections "
		    "must be at most %d", CTL_MAX_CONNECTIONS_MAX);
	/* The encoder only reads the patterns; the cast is for its struct. */
	r.allow = (char **)allow;
	r.nallow = nallow;
	if (nbindings > CTL_BINDINGS_MAX || (nbindings > 0 && bindings == NULL))
		return err_set(err, errlen, "proxyd control: at most %d "
		    "bindings", CTL_BINDINGS_MAX);
	r.bindings = (struct ctl_binding *)bindings;
	r.nbindings = nbindings;
	r.limits.max_connections = max_connections;
	return proxyc_call(pc, &r, timeout_ms, err, errlen);
}

int
proxyc_session_add_bound(struct proxyc *pc, const char *id,
    const char *tenant, const struct ip_addr *source, char *const *allow,
    size_t nallow, const struct ctl_binding *bindings, size_t nbindings,
    int timeout_ms, const char **code_out, char *err, size_t errlen)
{
	return proxyc_session_set(pc, CTL_OP_SESSION_ADD, id, tenant, source,
	    allow, nallow, bindings, nbindings, 0, timeout_ms, code_out, err,
	    errlen);
}

int
proxyc_session_add(struct proxyc *pc, const char *id, const char *tenant,
    const struct ip_addr *source, char *const *allow, size_t nallow,
    uint32_t max_connections, int timeout_ms, const char **code_out,
    char *err, size_t errlen)
{
	return proxyc_session_set(pc, CTL_OP_SESSION_ADD, id, tenant, source,
	    allow, nallow, NULL, 0, max_connections, timeout_ms, code_out, err,
	    errlen);
}

int
proxyc_session_update(struct proxyc *pc, const char *id, const char *tenant,
    const struct ip_addr *source, char *const *allow, size_t nallow,
    uint32_t max_connections, int timeout_ms, const char **code_out,
    char *err, size_t errlen)
{
	return proxyc_session_set(pc, CTL_OP_SESSION_UPDATE, id, tenant,
	    source, allow, nallow, NULL, 0, max_connections, timeout_ms,
	    code_out, err, errlen);
}

int
proxyc_session_del(struct proxyc *pc, const char *id, int timeout_ms,
    const char **code_out, char *err, size_t errlen)
{
	struct ctl_request r;

	if (proxyc_begin(pc, timeout_ms, code_out, err, errlen) == -1)
		return -1;
	memset(&r, 0, sizeof(r));
	r.op = CTL_OP_SESSION_DEL;
	if (proxyc_set_id(&r, id, err, errlen) == -1)
		return -1;
	return proxyc_call(pc, &r, timeout_ms, err, errlen);
}

int
proxyc_ping(struct proxyc *pc, int timeout_ms, char *err, size_t errlen)
{
	struct ctl_request r;

	if (proxyc_begin(pc, timeout_ms, NULL, err, errlen) == -1)
		return -1;
	memset(&r, 0, sizeof(r));
	r.op = CTL_OP_PING;
	return proxyc_call(pc, &r, timeout_ms, err, errlen);
}

int
proxyc_drain(struct proxyc *pc, char *err, size_t errlen)
{
	struct ctl_reply rep;
	size_t total = 0, n;
	int got = 0, rc;

	if (proxyc_usable(pc, err, errlen) == -1)
		return -1;
	while (total < PROXYC_DRAIN_MAX) {
		if ((rc = proxyc_read(pc, &n, err, errlen)) == -1)
			return -1;
		if (rc == 0)
			break;
		total += n;
		/* No request is waiting: only late replies are acceptable. */
		if (proxyc_lines(pc, -1, &rep, &got, err, errlen) == -1)
			return -1;
	}
	return 0;
}

int
proxyc_fd(const struct proxyc *pc)
{
	return pc->fd;
}

/*
 * A blocking connect() on a unix socket waits, for at most SO_SNDTIMEO,
 * for room in a full listen backlog; a non-blocking one fails at once
 * with EAGAIN. The socket is made non-blocking once connected, after
 * which SO_SNDTIMEO has no effect.
 */
static int
proxyc_connect(const char *path, uint64_t deadline, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct timeval tv;
	int fd, flags, left;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return err_set(err, errlen,
		    "proxyd control %s: path too long", path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return err_set(err, errlen, "proxyd control: socket: %s",
		    strerror(errno));
	for (;;) {
		if ((left = proxyc_left(deadline)) == 0) {
			errno = ETIMEDOUT;
			goto fail;
		}
		tv = clock_ms_timeval(left);
		if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv,
		    sizeof(tv)) == -1)
			goto fail;
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			break;
		if (errno != EINTR)
			goto fail;
	}
	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
		goto fail;
	return fd;
fail:
	if (errno == EAGAIN || errno == EINPROGRESS)
		errno = ETIMEDOUT;
	err_set(err, errlen, "proxyd control %s: %s", path, strerror(errno));
	close(fd);
	return -1;
}

struct proxyc *
proxyc_open(const char *path, int timeout_ms, proxyc_event_fn cb, void *arg,
    char *err, size_t errlen)
{
	struct ctl_request r;
	struct ctl_reply rep;
	struct proxyc *pc;
	uint64_t deadline;

	if (path == NULL || timeout_ms <= 0) {
		err_set(err, errlen, "proxyd control: no path or no timeout");
		return NULL;
	}
	deadline = clock_monotonic_ms() + (uint64_t)timeout_ms;
	if ((pc = calloc(1, sizeof(*pc))) == NULL) {
		err_set(err, errlen, "proxyd control: out of memory");
		return NULL;
	}
	pc->cb = cb;
	pc->cb_arg = arg;
	pc->next_req = 1;
	pc->unanswered = 1;
	if ((pc->fd = proxyc_connect(path, deadline, err, errlen)) == -1)
		goto fail;
	memset(&r, 0, sizeof(r));
	r.op = CTL_OP_HELLO;
	if (proxyc_request(pc, &r, deadline, &rep, err, errlen) == -1)
		goto fail;
	if (!rep.ok) {
		proxyc_refused(&rep, err, errlen);
		goto fail;
	}
	if ((rep.versions & (1u << CTL_VERSION)) == 0) {
		err_set(err, errlen, "proxyd control: proxyd does not offer "
		    "protocol version %d", CTL_VERSION);
		goto fail;
	}
	return pc;
fail:
	proxyc_close(pc);
	return NULL;
}

void
proxyc_close(struct proxyc *pc)
{
	if (pc == NULL)
		return;
	if (pc->fd != -1)
		close(pc->fd);
	free(pc);
}
