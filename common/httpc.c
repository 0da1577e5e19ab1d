#include <config.h>

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/httpc.h"

enum {
	ST_HEAD = 0,
	ST_LENGTH,
	ST_CHUNK_SIZE,
	ST_CHUNK_DATA,
	ST_CHUNK_CRLF,
	ST_TRAILER,
	ST_CLOSE,		/* body until the connection closes */
	ST_DONE,
	ST_BAD,
};

/* The read buffer holds at most one unfinished head or chunk line. */
#define HTTPC_READ_BUF		(2 * HTTPC_HEAD_MAX)

static enum httpc_result
parser_bad(struct httpc_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static enum httpc_result
parser_bad(struct httpc_parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
	p->state = ST_BAD;
	return HTTPC_BAD;
}

void
httpc_parser_init(struct httpc_parser *p, struct httpc_response *resp,
    int no_body, size_t body_max)
{
	memset(p, 0, sizeof(*p));
	memset(resp, 0, sizeof(*resp));
	p->state = ST_HEAD;
	p->no_body = no_body;
	p->body_max = body_max ? body_max : HTTPC_BODY_MAX;
	p->resp = resp;
}

void
httpc_response_clear(struct httpc_response *resp)
{
	free(resp->body);
	memset(resp, 0, sizeof(*resp));
}

/* Room for need body bytes and a NUL, growing geometrically. */
static int
body_reserve(struct httpc_parser *p, size_t need)
{
	struct httpc_response *r = p->resp;
	size_t cap = p->body_cap ? p->body_cap : 4096;
	char *nb;

	if (need < p->body_cap)
		return 0;
	while (cap <= need)
		cap = cap > p->body_max / 2 ? p->body_max + 1 : cap * 2;
	if ((nb = realloc(r->body, cap)) == NULL)
		return -1;
	r->body = nb;
	p->body_cap = cap;
	return 0;
}

static enum httpc_result
body_append(struct httpc_parser *p, const char *data, size_t n)
{
	struct httpc_response *r = p->resp;

	if (n > p->body_max - r->body_len)
		return parser_bad(p, "response body larger than %zu bytes",
		    p->body_max);
	if (body_reserve(p, r->body_len + n) == -1)
		return parser_bad(p, "out of memory for the response body");
	memcpy(r->body + r->body_len, data, n);
	r->body_len += n;
	r->body[r->body_len] = '\0';
	return HTTPC_MORE;
}

static enum httpc_result
parser_done(struct httpc_parser *p)
{
	if (body_reserve(p, p->resp->body_len) == -1)
		return parser_bad(p, "out of memory for the response body");
	p->resp->body[p->resp->body_len] = '\0';
	p->state = ST_DONE;
	return HTTPC_DONE;
}

static int
is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

/* Length of the line at buf[0..len) without its LF (and CR), or -1 when
 * no LF has arrived; *next is where the following line starts. */
static ssize_t
line_end(const char *buf, size_t len, size_t *next)
{
	const char *nl = memchr(buf, '\n', len);
	size_t n;

	if (nl == NULL)
		return -1;
	n = (size_t)(nl - buf);
	*next = n + 1;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	return (ssize_t)n;
}

/* "HTTP/1.x NNN reason": the only versions a 1.1 client can be answered in. */
static enum httpc_result
parse_status_line(struct httpc_parser *p, const char *s, size_t n)
{
	struct httpc_response *r = p->resp;
	size_t i, rlen;

	if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 ||
	    (s[7] != '0' && s[7] != '1') || s[8] != ' ')
		return parser_bad(p, "bad status line");
	for (i = 9; i < 12; i++)
		if (s[i] < '0' || s[i] > '9')
			return parser_bad(p, "bad status line");
	r->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	if (r->status < 100 || r->status > 599)
		return parser_bad(p, "bad status code %d", r->status);
	if (n > 12 && s[12] != ' ')
		return parser_bad(p, "bad status line");
	rlen = n > 13 ? n - 13 : 0;
	if (rlen >= sizeof(r->reason))
		rlen = sizeof(r->reason) - 1;
	/* The reason phrase ends up on a terminal: no control bytes. */
	for (i = 0; i < rlen; i++) {
		unsigned char c = (unsigned char)s[13 + i];

		r->reason[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	r->reason[rlen] = '\0';
	return HTTPC_MORE;
}

static int
token_is(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

static enum httpc_result
parse_transfer_encoding(struct httpc_parser *p, const char *v, size_t n)
{
	size_t i = 0, start, end;

	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		start = i;
		while (i < n && v[i] != ',')
			i++;
		end = i;
		while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
			end--;
		if (end == start)
			continue;
		/* We never send TE or Accept-Encoding, so only chunked can come. */
		if (!token_is(v + start, end - start, "chunked"))
			return parser_bad(p, "unsupported Transfer-Encoding \"%.*s\"",
			    (int)(end - start > 32 ? 32 : end - start), v + start);
		if (p->chunked)
			return parser_bad(p, "chunked applied twice");
		p->chunked = 1;
	}
	return HTTPC_MORE;
}

static enum httpc_result
parse_content_length(struct httpc_parser *p, const char *v, size_t n)
{
	uint64_t len = 0;
	size_t i;

	if (n == 0 || n > 19)
		return parser_bad(p, "bad Content-Length");
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return parser_bad(p, "bad Content-Length");
		len = len * 10 + (uint64_t)(v[i] - '0');
	}
	if (p->have_length && p->length != len)
		return parser_bad(p, "conflicting Content-Length fields");
	p->have_length = 1;
	p->length = len;
	return HTTPC_MORE;
}

/* One header (or trailer) field line; only the framing fields matter to us. */
static enum httpc_result
parse_field(struct httpc_parser *p, const char *s, size_t n, int trailer)
{
	size_t i = 0, vs, ve;

	if (s[0] == ' ' || s[0] == '\t')
		return parser_bad(p, "folded header field (obs-fold)");
	while (i < n && is_tchar((unsigned char)s[i]))
		i++;
	if (i == 0 || i == n || s[i] != ':')
		return parser_bad(p, "malformed %s field", trailer ? "trailer" : "header");
	for (vs = i + 1; vs < n && (s[vs] == ' ' || s[vs] == '\t'); vs++)
		;
	for (ve = n; ve > vs && (s[ve - 1] == ' ' || s[ve - 1] == '\t'); ve--)
		;
	if (trailer)
		return HTTPC_MORE;
	if (token_is(s, i, "content-length"))
		return parse_content_length(p, s + vs, ve - vs);
	if (token_is(s, i, "transfer-encoding"))
		return parse_transfer_encoding(p, s + vs, ve - vs);
	return HTTPC_MORE;
}

/*
 * A head is taken whole or not at all: until its blank line arrives nothing
 * is consumed and it is parsed again from the start next time, which keeps
 * the parser simple and costs little under the 64 KiB cap.
 */
static enum httpc_result
feed_head(struct httpc_parser *p, const char *buf, size_t len, int eof,
    size_t *used)
{
	size_t off = 0, next;
	ssize_t n;

	*used = 0;
	p->have_length = 0;
	p->length = 0;
	p->chunked = 0;
	for (;;) {
		if ((n = line_end(buf + off, len - off, &next)) < 0) {
			if (off == 0 && memcmp(buf, "HTTP/", len < 5 ? len : 5) != 0)
				return parser_bad(p, "not an HTTP response");
			if (len >= HTTPC_HEAD_MAX)
				return parser_bad(p, "response head larger than %u bytes",
				    HTTPC_HEAD_MAX);
			if (eof)
				return parser_bad(p, len == 0 ?
				    "connection closed without a response" :
				    "connection closed inside the response head");
			return HTTPC_MORE;
		}
		if (off + next > HTTPC_HEAD_MAX)
			return parser_bad(p, "response head larger than %u bytes",
			    HTTPC_HEAD_MAX);
		if (memchr(buf + off, '\r', (size_t)n) != NULL)
			return parser_bad(p, "stray CR in the response head");
		if (off == 0) {
			if (parse_status_line(p, buf, (size_t)n) == HTTPC_BAD)
				return HTTPC_BAD;
		} else if (n == 0) {
			*used = off + next;
			return HTTPC_DONE;
		} else if (parse_field(p, buf + off, (size_t)n, 0) == HTTPC_BAD) {
			return HTTPC_BAD;
		}
		off += next;
	}
}

/* RFC 9112 6.3, for a client that sent Connection: close. */
static enum httpc_result
head_framing(struct httpc_parser *p)
{
	int status = p->resp->status;

	if (p->no_body || status == 204 || status == 304)
		return parser_done(p);
	if (p->chunked) {
		p->state = ST_CHUNK_SIZE;
		return HTTPC_MORE;
	}
	if (p->have_length) {
		if (p->length > p->body_max)
			return parser_bad(p, "response body of %llu bytes is larger than %zu",
			    (unsigned long long)p->length, p->body_max);
		if (body_reserve(p, (size_t)p->length) == -1)
			return parser_bad(p, "out of memory for the response body");
		p->left = p->length;
		p->state = ST_LENGTH;
		return p->left == 0 ? parser_done(p) : HTTPC_MORE;
	}
	p->state = ST_CLOSE;
	return HTTPC_MORE;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "1a[ ; ext=val]": size in hex, extensions ignored but kept printable. */
static enum httpc_result
parse_chunk_size(struct httpc_parser *p, const char *s, size_t n)
{
	uint64_t size = 0;
	size_t i = 0;
	int v;

	while (i < n && (v = hexval(s[i])) >= 0) {
		if (i == 16)
			return parser_bad(p, "chunk size too large");
		size = size << 4 | (uint64_t)v;
		i++;
	}
	if (i == 0)
		return parser_bad(p, "bad chunk size line");
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i < n && s[i] != ';')
		return parser_bad(p, "bad chunk size line");
	for (; i < n; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
			return parser_bad(p, "control byte in a chunk extension");
	if (size > p->body_max - p->resp->body_len)
		return parser_bad(p, "response body larger than %zu bytes",
		    p->body_max);
	p->left = size;
	p->state = size == 0 ? ST_TRAILER : ST_CHUNK_DATA;
	return HTTPC_MORE;
}

/* One step of the body or head at buf[*off..len); advances *off past what
 * it took. HTTPC_MORE with *progress 0 means it needs more bytes. */
static enum httpc_result
feed_step(struct httpc_parser *p, const char *buf, size_t len, int eof,
    size_t *off, int *progress)
{
	size_t n, next;
	ssize_t ln;

	*progress = 1;
	switch (p->state) {
	case ST_DONE:
		return HTTPC_DONE;
	case ST_BAD:
		return HTTPC_BAD;
	case ST_HEAD:
		if (feed_head(p, buf + *off, len - *off, eof, &n) != HTTPC_DONE) {
			*progress = 0;
			return p->state == ST_BAD ? HTTPC_BAD : HTTPC_MORE;
		}
		*off += n;
		/* Interim 1xx answers precede the real one; skip them. */
		if (p->resp->status < 200) {
			if (p->resp->status == 101)
				return parser_bad(p, "unexpected 101 Switching Protocols");
			p->resp->status = 0;
			return HTTPC_MORE;
		}
		return head_framing(p);
	case ST_LENGTH:
	case ST_CHUNK_DATA:
		n = len - *off;
		if (n > p->left)
			n = (size_t)p->left;
		if (body_append(p, buf + *off, n) == HTTPC_BAD)
			return HTTPC_BAD;
		*off += n;
		p->left -= n;
		if (p->left == 0) {
			if (p->state == ST_LENGTH)
				return parser_done(p);
			p->state = ST_CHUNK_CRLF;
			return HTTPC_MORE;
		}
		if (eof)
			return parser_bad(p, "connection closed inside the response body");
		*progress = 0;
		return HTTPC_MORE;
	case ST_CHUNK_CRLF:
		if (*off < len && buf[*off] == '\n') {
			*off += 1;
		} else if (len - *off >= 2 && buf[*off] == '\r' &&
		    buf[*off + 1] == '\n') {
			*off += 2;
		} else if (*off == len || (len - *off == 1 && buf[*off] == '\r')) {
			if (eof)
				return parser_bad(p, "connection closed inside the response body");
			*progress = 0;
			return HTTPC_MORE;
		} else {
			return parser_bad(p, "chunk data longer than its size");
		}
		p->state = ST_CHUNK_SIZE;
		return HTTPC_MORE;
	case ST_CHUNK_SIZE:
	case ST_TRAILER:
		if ((ln = line_end(buf + *off, len - *off, &next)) < 0) {
			if (p->state == ST_CHUNK_SIZE &&
			    len - *off >= HTTPC_CHUNK_LINE_MAX)
				return parser_bad(p, "chunk size line too long");
			if (p->state == ST_TRAILER &&
			    p->trailer_len + (len - *off) > HTTPC_HEAD_MAX)
				return parser_bad(p, "trailer section too large");
			if (eof)
				return parser_bad(p, "connection closed inside the response body");
			*progress = 0;
			return HTTPC_MORE;
		}
		if (p->state == ST_CHUNK_SIZE) {
			if (next > HTTPC_CHUNK_LINE_MAX)
				return parser_bad(p, "chunk size line too long");
			if (parse_chunk_size(p, buf + *off, (size_t)ln) == HTTPC_BAD)
				return HTTPC_BAD;
			*off += next;
			return HTTPC_MORE;
		}
		if ((p->trailer_len += next) > HTTPC_HEAD_MAX)
			return parser_bad(p, "trailer section too large");
		if (ln > 0 && parse_field(p, buf + *off, (size_t)ln, 1) == HTTPC_BAD)
			return HTTPC_BAD;
		*off += next;
		return ln == 0 ? parser_done(p) : HTTPC_MORE;
	case ST_CLOSE:
		if (body_append(p, buf + *off, len - *off) == HTTPC_BAD)
			return HTTPC_BAD;
		*off = len;
		if (eof)
			return parser_done(p);
		*progress = 0;
		return HTTPC_MORE;
	default:
		return parser_bad(p, "parser in an unknown state");
	}
}

enum httpc_result
httpc_parser_feed(struct httpc_parser *p, const char *buf, size_t len,
    int eof, size_t *used)
{
	enum httpc_result rc;
	size_t off = 0;
	int progress;

	do
		rc = feed_step(p, buf, len, eof, &off, &progress);
	while (rc == HTTPC_MORE && progress);
	*used = off;
	return rc;
}

enum httpc_result
httpc_response_parse(const char *buf, size_t len, int eof,
    struct httpc_response *resp, char *why, size_t whylen)
{
	struct httpc_parser p;
	enum httpc_result rc;
	size_t used;

	httpc_parser_init(&p, resp, 0, 0);
	rc = httpc_parser_feed(&p, buf, len, eof, &used);
	if (rc == HTTPC_BAD)
		err_set(why, whylen, "%s", p.why);
	return rc;
}

/* Visible ASCII only: what may go into a request line or a field value
 * without ending it or starting another. */
static int
header_safe(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

/* "unix:/p" and "/p" are sockets; "http://host[:port][/base]" is TCP. */
int
httpc_endpoint_parse(const char *spec, struct httpc_endpoint *ep, char *err,
    size_t errlen)
{
	const char *s, *hend, *pstart, *slash;
	size_t hlen, plen;
	unsigned long port;
	char *end;

	memset(ep, 0, sizeof(*ep));
	if (strncmp(spec, "unix:", 5) == 0 || spec[0] == '/') {
		s = spec[0] == '/' ? spec : spec + 5;
		if (s[0] != '/')
			return err_set(err, errlen, "%s: a socket path must be absolute", spec);
		if (strlen(s) >= sizeof(ep->path))
			return err_set(err, errlen, "%s: socket path too long", spec);
		ep->kind = HTTPC_UNIX;
		strcpy(ep->path, s);
		snprintf(ep->display, sizeof(ep->display), "%s", s);
		strcpy(ep->hosthdr, "localhost");
		return 0;
	}
	if (strncasecmp(spec, "https://", 8) == 0)
		return err_set(err, errlen, "%s: TLS is not supported; use http:// "
		    "(e.g. through a local tunnel) or a unix socket", spec);
	if (strncasecmp(spec, "http://", 7) != 0)
		return err_set(err, errlen, "%s: not a URL (http://HOST:PORT) nor a "
		    "socket path (unix:/PATH)", spec);
	ep->kind = HTTPC_TCP;
	s = spec + 7;
	slash = strchr(s, '/');
	if (memchr(s, '@', slash ? (size_t)(slash - s) : strlen(s)) != NULL ||
	    strpbrk(s, "?#") != NULL)
		/* Not quoted: user info may hold a password. */
		return err_set(err, errlen, "user info (user@), query and fragment "
		    "are not allowed in a URL; give a key with --api-key");
	if (s[0] == '[') {
		if ((hend = strchr(s, ']')) == NULL)
			return err_set(err, errlen, "%s: unterminated [IPv6] literal", spec);
		s += 1;
		hlen = (size_t)(hend - s);
		pstart = hend + 1;
	} else {
		hlen = strcspn(s, ":/");
		pstart = s + hlen;
	}
	if (hlen == 0 || hlen >= sizeof(ep->host))
		return err_set(err, errlen, "%s: missing or too long host", spec);
	memcpy(ep->host, s, hlen);
	ep->host[hlen] = '\0';
	if (!header_safe(ep->host))
		return err_set(err, errlen, "%s: bad host", spec);
	if (*pstart == ':') {
		pstart++;
		errno = 0;
		port = strtoul(pstart, &end, 10);
		if (end == pstart || (*end != '\0' && *end != '/') || errno ||
		    port == 0 || port > 65535 || *pstart == '+' || *pstart == '-')
			return err_set(err, errlen, "%s: bad port", spec);
		snprintf(ep->port, sizeof(ep->port), "%lu", port);
		pstart = end;
	} else if (*pstart != '\0' && *pstart != '/') {
		return err_set(err, errlen, "%s: bad host", spec);
	} else {
		strcpy(ep->port, "80");
	}
	plen = strlen(pstart);
	while (plen > 0 && pstart[plen - 1] == '/')
		plen--;
	if (plen >= sizeof(ep->base))
		return err_set(err, errlen, "%s: base path too long", spec);
	memcpy(ep->base, pstart, plen);
	ep->base[plen] = '\0';
	if (!header_safe(ep->base))
		return err_set(err, errlen, "%s: bad path", spec);
	if (strchr(ep->host, ':') != NULL)
		snprintf(ep->hosthdr, sizeof(ep->hosthdr), "[%s]:%s", ep->host, ep->port);
	else
		snprintf(ep->hosthdr, sizeof(ep->hosthdr), "%s:%s", ep->host, ep->port);
	snprintf(ep->display, sizeof(ep->display), "http://%s%s", ep->hosthdr,
	    ep->base);
	return 0;
}

/* Milliseconds left before deadline, at least 0. */
static int
remaining_ms(uint64_t deadline)
{
	uint64_t now = clock_monotonic_ms();

	return now >= deadline ? 0 : (int)(deadline - now);
}

/* "10 s" for whole seconds, else "1500 ms": how long we waited, for people. */
static void
fmt_duration(char *buf, size_t len, int ms)
{
	if (ms % 1000 == 0)
		snprintf(buf, len, "%d s", ms / 1000);
	else
		snprintf(buf, len, "%d ms", ms);
}

struct exchange {
	const struct httpc_endpoint *ep;
	const struct httpc_request *req;
	uint64_t deadline;
	int timeout_ms;
	char *err;
	size_t errlen;
};

/*
 * Waits for events on fd until the deadline. 1 ready, 0 timed out, -1
 * cancelled or failed (err set unless timed out). A signal ends the wait
 * only when it set the cancel flag.
 */
static int
wait_fd(struct exchange *x, int fd, short events)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int ms, n;

	for (;;) {
		if (x->req->cancel != NULL && *x->req->cancel) {
			err_set(x->err, x->errlen, "%s: interrupted", x->ep->display);
			return -1;
		}
		if ((ms = remaining_ms(x->deadline)) == 0)
			return 0;
		if ((n = poll(&pfd, 1, ms)) > 0)
			return 1;
		if (n < 0 && errno != EINTR) {
			err_set(x->err, x->errlen, "poll: %s", strerror(errno));
			return -1;
		}
	}
}

static int
connect_fail(struct exchange *x, int errnum)
{
	const char *hint = x->ep->hint;

	return err_set(x->err, x->errlen, "cannot connect to %s: %s%s%s%s",
	    x->ep->display, strerror(errnum), hint ? " (" : "", hint ? hint : "",
	    hint ? ")" : "");
}

static int
connect_timeout(struct exchange *x)
{
	char d[32];

	fmt_duration(d, sizeof(d), x->timeout_ms);
	return err_set(x->err, x->errlen, "cannot connect to %s: timed out after %s",
	    x->ep->display, d);
}

/* A nonblocking connect finished, or the deadline passed: -1 with err set. */
static int
connect_wait(struct exchange *x, int fd, int *errnum)
{
	socklen_t sl = sizeof(*errnum);
	int rc;

	if ((rc = wait_fd(x, fd, POLLOUT)) <= 0)
		return rc == 0 ? connect_timeout(x) : -1;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, errnum, &sl) == -1)
		*errnum = errno;
	return 0;
}

static int
connect_unix(struct exchange *x)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, errnum = 0;

	strcpy(sun.sun_path, x->ep->path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		return err_set(x->err, x->errlen, "socket: %s", strerror(errno));
	for (;;) {
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			return fd;
		errnum = errno;
		if (errnum == EINTR)
			continue;
		if (errnum == EINPROGRESS) {
			if (connect_wait(x, fd, &errnum) == -1)
				goto fail;
			if (errnum == 0)
				return fd;
		}
		if (errnum != EAGAIN)
			break;
		/* A full listen backlog: the daemon is busy, not gone. */
		if (remaining_ms(x->deadline) == 0) {
			connect_timeout(x);
			goto fail;
		}
		(void)poll(NULL, 0, 20);
	}
	connect_fail(x, errnum);
fail:
	close(fd);
	return -1;
}

static int
connect_tcp(struct exchange *x)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL, *ai;
	int fd = -1, rc, errnum = ECONNREFUSED;

	/* No AI_ADDRCONFIG: it hides 127.0.0.1 when lo is the only link. */
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(x->ep->host, x->ep->port, &hints, &res)) != 0)
		return err_set(x->err, x->errlen, "cannot resolve %s: %s",
		    x->ep->host, rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1) {
			errnum = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		errnum = errno;
		if (errnum == EINPROGRESS) {
			if (connect_wait(x, fd, &errnum) == -1) {
				close(fd);
				freeaddrinfo(res);
				return -1;
			}
			if (errnum == 0)
				break;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		return connect_fail(x, errnum);
	return fd;
}

static char *
build_head(struct exchange *x)
{
	const struct httpc_request *req = x->req;
	char *head = NULL, clen[64] = "";
	int n;

	if (req->body != NULL || strcmp(req->method, "POST") == 0 ||
	    strcmp(req->method, "PUT") == 0 || strcmp(req->method, "PATCH") == 0)
		snprintf(clen, sizeof(clen), "Content-Type: application/json\r\n"
		    "Content-Length: %zu\r\n", req->body ? req->body_len : 0);
	n = asprintf(&head, "%s %s%s HTTP/1.1\r\n"
	    "Host: %s\r\n"
	    "User-Agent: enclavectl/%s\r\n"
	    "Accept: application/json\r\n"
	    "Connection: close\r\n"
	    "%s%s%s"
	    "%s\r\n",
	    req->method, x->ep->base, req->path, x->ep->hosthdr, PACKAGE_VERSION,
	    req->bearer ? "Authorization: Bearer " : "",
	    req->bearer ? req->bearer : "", req->bearer ? "\r\n" : "", clen);
	return n < 0 ? NULL : head;
}

/*
 * Sends all of buf. 0 sent, 1 the peer stopped reading (its answer may
 * still be waiting: a 413 is often sent before the body is read), -1 err.
 */
static int
send_all(struct exchange *x, int fd, const char *buf, size_t len)
{
	char d[32];
	ssize_t n;
	int rc;

	while (len > 0) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EPIPE || errno == ECONNRESET))
			return 1;
		if (n == -1 && errno != EAGAIN)
			return err_set(x->err, x->errlen, "sending to %s: %s",
			    x->ep->display, strerror(errno));
		if ((rc = wait_fd(x, fd, POLLOUT)) <= 0) {
			if (rc == 0) {
				fmt_duration(d, sizeof(d), x->timeout_ms);
				err_set(x->err, x->errlen, "sending to %s: timed out after %s",
				    x->ep->display, d);
			}
			return -1;
		}
	}
	return 0;
}

static int
read_response(struct exchange *x, int fd, struct httpc_response *resp,
    int peer_stopped)
{
	struct httpc_parser p;
	enum httpc_result pr = HTTPC_MORE;
	size_t len = 0, used;
	char *buf, d[32];
	ssize_t n;
	int rc, eof = 0, ret = -1;

	if ((buf = malloc(HTTPC_READ_BUF)) == NULL)
		return err_set(x->err, x->errlen, "out of memory");
	httpc_parser_init(&p, resp, strcmp(x->req->method, "HEAD") == 0, 0);
	while (pr == HTTPC_MORE) {
		if (len == HTTPC_READ_BUF) {
			err_set(x->err, x->errlen, "bad response from %s: line too long",
			    x->ep->display);
			goto out;
		}
		n = recv(fd, buf + len, HTTPC_READ_BUF - len, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			if ((rc = wait_fd(x, fd, POLLIN)) <= 0) {
				if (rc == 0) {
					fmt_duration(d, sizeof(d), x->timeout_ms);
					err_set(x->err, x->errlen, "no complete response "
					    "from %s within %s", x->ep->display, d);
				}
				goto out;
			}
			continue;
		}
		if (n == -1) {
			if (peer_stopped)
				err_set(x->err, x->errlen, "%s closed the connection "
				    "before reading the whole request", x->ep->display);
			else
				err_set(x->err, x->errlen, "reading from %s: %s",
				    x->ep->display, strerror(errno));
			goto out;
		}
		if (n == 0)
			eof = 1;
		len += (size_t)n;
		pr = httpc_parser_feed(&p, buf, len, eof, &used);
		memmove(buf, buf + used, len - used);
		len -= used;
		if (pr == HTTPC_MORE && eof) {
			/* The parser settles everything at EOF; never spin on it. */
			err_set(x->err, x->errlen, "bad response from %s: truncated",
			    x->ep->display);
			goto out;
		}
	}
	if (pr == HTTPC_BAD) {
		if (peer_stopped && resp->status == 0)
			err_set(x->err, x->errlen, "%s closed the connection "
			    "before reading the whole request", x->ep->display);
		else
			err_set(x->err, x->errlen, "bad response from %s: %s",
			    x->ep->display, p.why);
		goto out;
	}
	ret = 0;
out:
	if (ret == -1)
		httpc_response_clear(resp);
	free(buf);
	return ret;
}

int
httpc_exchange(const struct httpc_endpoint *ep,
    const struct httpc_request *req, struct httpc_response *resp,
    char *err, size_t errlen)
{
	struct exchange x = { .ep = ep, .req = req, .err = err, .errlen = errlen };
	char *head = NULL;
	int fd = -1, rc = -1, stopped;

	memset(resp, 0, sizeof(*resp));
	if (!header_safe(req->method) || !header_safe(req->path) ||
	    req->path[0] != '/')
		return err_set(err, errlen, "bad request target");
	if (req->bearer != NULL && (!header_safe(req->bearer) ||
	    req->bearer[0] == '\0'))
		return err_set(err, errlen, "the API key is empty or has bytes "
		    "that cannot go into an HTTP header");
	x.timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : HTTPC_TIMEOUT_MS;
	x.deadline = clock_monotonic_ms() + (uint64_t)x.timeout_ms;
	if ((head = build_head(&x)) == NULL)
		return err_set(err, errlen, "out of memory");
	fd = ep->kind == HTTPC_UNIX ? connect_unix(&x) : connect_tcp(&x);
	if (fd == -1)
		goto out;
	if ((stopped = send_all(&x, fd, head, strlen(head))) == -1)
		goto out;
	if (stopped == 0 && req->body != NULL &&
	    (stopped = send_all(&x, fd, req->body, req->body_len)) == -1)
		goto out;
	/* No shutdown(SHUT_WR) here: some servers (evhttp) take a half-closed
	 * connection for a gone client and drop the answer. */
	rc = read_response(&x, fd, resp, stopped);
out:
	if (fd != -1)
		close(fd);
	explicit_bzero(head, strlen(head));	/* it holds the key */
	free(head);
	return rc;
}
