#include <errno.h>
#include <sys/types.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/hostname.h"
#include "proxyd/inject.h"

/* What a client may never hand a bound host itself, whatever the binding
 * injects: the usual places a credential travels in. */
static const char *const inject_stripped[] = {
	"authorization", "proxy-authorization", "cookie", "x-api-key",
};

int
inject_strips(const char *buf, const struct http_header *h,
    const struct ctl_binding *b)
{
	size_t i;

	for (i = 0; i < sizeof(inject_stripped) / sizeof(inject_stripped[0]); i++)
		if (http_header_is(buf, h, inject_stripped[i]))
			return 1;
	return b != NULL && b->inject == CTL_INJECT_HEADER &&
	    b->header[0] != '\0' && http_header_is(buf, h, b->header);
}

void
inject_request_clear(struct inject_request *out)
{
	if (out->head != NULL) {
		OPENSSL_cleanse(out->head, out->head_len);
		free(out->head);
	}
	memset(out, 0, sizeof(*out));
}

/* ctlmsg checks these already; a binding that slipped past it must still
 * never split a header or start a second one. */
static int
inject_visible(const char *s, int allow_colon)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (*s < 0x21 || *s > 0x7e || (!allow_colon && *s == ':'))
			return 0;
	return 1;
}

static int
inject_token(const char *s)
{
	static const char extra[] = "!#$%&'*+-.^_`|~";

	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr(extra, *s) != NULL))
			return 0;
	return 1;
}

static void
inject_put(char *dst, size_t *at, const void *src, size_t n)
{
	memcpy(dst + *at, src, n);
	*at += n;
}

/* Longest field value we make: "Basic " + base64 of user ":" secret. */
#define INJECT_VALUE_MAX \
	(16 + 4 * ((CTL_HEADER_NAME_MAX + 1 + CTL_SECRET_MAX + 2) / 3) + 1)

/* The credential's field name; NULL for a header name that is no token. */
static const char *
inject_name(const struct ctl_binding *b)
{
	if (b->inject != CTL_INJECT_HEADER)
		return "Authorization";
	if (strnlen(b->header, sizeof(b->header)) == sizeof(b->header) ||
	    !inject_token(b->header))
		return NULL;
	return b->header;
}

/*
 * The credential's value as the binding says, into val (INJECT_VALUE_MAX
 * bytes of room); its length, or -1 for a binding whose fields could end
 * the field or start another.
 */
static ssize_t
inject_value(const struct ctl_binding *b, char *val)
{
	char pair[CTL_HEADER_NAME_MAX + 1 + CTL_SECRET_MAX + 1];
	size_t slen, ulen;
	int n;

	if (b->secret == NULL || !inject_visible(b->secret, 1) ||
	    (slen = strlen(b->secret)) > CTL_SECRET_MAX)
		return -1;
	switch (b->inject) {
	case CTL_INJECT_BEARER:
		memcpy(val, "Bearer ", 7);
		memcpy(val + 7, b->secret, slen);
		return (ssize_t)(7 + slen);
	case CTL_INJECT_BASIC:
		ulen = strnlen(b->user, sizeof(b->user));
		if (ulen == sizeof(b->user) || !inject_visible(b->user, 0))
			return -1;
		memcpy(pair, b->user, ulen);
		pair[ulen] = ':';
		memcpy(pair + ulen + 1, b->secret, slen);
		memcpy(val, "Basic ", 6);
		n = EVP_EncodeBlock((unsigned char *)val + 6,
		    (const unsigned char *)pair, (int)(ulen + 1 + slen));
		OPENSSL_cleanse(pair, sizeof(pair));
		return n < 0 ? -1 : (ssize_t)(6 + (size_t)n);
	case CTL_INJECT_HEADER:
		if (inject_name(b) == NULL)
			return -1;
		memcpy(val, b->secret, slen);
		return (ssize_t)slen;
	}
	return -1;
}

/* The credential field and INJECT_IDENTITY, appended at dst + *at; the
 * value is written in place, never into a second buffer. */
static int
inject_field(const struct ctl_binding *b, char *dst, size_t *at)
{
	const char *name = inject_name(b);
	ssize_t vlen;

	if (name == NULL)
		return -1;
	inject_put(dst, at, name, strlen(name));
	inject_put(dst, at, ": ", 2);
	if ((vlen = inject_value(b, dst + *at)) == -1)
		return -1;
	*at += (size_t)vlen;
	inject_put(dst, at, "\r\n", 2);
	inject_put(dst, at, INJECT_IDENTITY, sizeof(INJECT_IDENTITY) - 1);
	return 0;
}

int
inject_rewrite_head(const char *buf, const struct http_req *req,
    const struct ctl_binding *b, int inject, struct inject_request *out)
{
	size_t start = req->method_raw.off, end = req->head_len - 2;
	size_t at = 0, i, from, to;
	char *dst;

	/* From the request line on: a blank line the parser skipped before
	 * it is dropped, so the server frames the head as we did. */
	if ((dst = malloc(req->head_len + INJECT_FIELD_MAX)) == NULL)
		return -1;
	to = req->nheaders > 0 ? req->headers[0].name.off : end;
	inject_put(dst, &at, buf + start, to - start);
	for (i = 0; i < req->nheaders; i++) {
		/* A field line runs to the next field's name (or the blank
		 * line), its own CRLF included. */
		from = req->headers[i].name.off;
		to = i + 1 < req->nheaders ? req->headers[i + 1].name.off : end;
		/* Identity coding when the credential goes up: a compressed
		 * echo would carry it past the response redaction. */
		if (inject_strips(buf, &req->headers[i], b) || (inject &&
		    b != NULL && http_header_is(buf, &req->headers[i],
		    "accept-encoding"))) {
			out->stripped++;
			continue;
		}
		inject_put(dst, &at, buf + from, to - from);
	}
	if (inject && b != NULL) {
		if (inject_field(b, dst, &at) == -1) {
			OPENSSL_cleanse(dst, req->head_len + INJECT_FIELD_MAX);
			free(dst);
			errno = EINVAL;
			return -1;
		}
		out->injected = 1;
	}
	inject_put(dst, &at, "\r\n", 2);
	out->head = dst;
	out->head_len = at;
	out->consumed = req->head_len;
	return 0;
}

static enum inject_verdict
inject_refuse(struct inject_request *out, int status, enum decide_reason reason,
    const char *why)
{
	out->status = status;
	out->reason = reason;
	out->why = why;
	return INJECT_REFUSE;
}

enum inject_verdict
inject_request(const char *buf, size_t len, const struct inject_opts *o,
    struct http_req *req, struct inject_request *out)
{
	char canon[HOSTNAME_MAX + 1];
	struct http_limits lim;

	memset(&lim, 0, sizeof(lim));
	if (o->limits != NULL)
		lim = *o->limits;
	lim.default_port = o->port;
	switch (http_parse_head(buf, len, &lim, req)) {
	case HTTP_NEED_MORE:
		return INJECT_NEED_MORE;
	case HTTP_BAD:
		return inject_refuse(out, req->status, DECIDE_BAD_REQUEST,
		    req->why);
	default:
		break;
	}
	if (req->method == HTTP_METHOD_TRACE)
		return inject_refuse(out, 405, DECIDE_METHOD_NOT_ALLOWED,
		    "TRACE would echo the credential");
	if (req->method == HTTP_METHOD_CONNECT)
		return inject_refuse(out, 405, DECIDE_METHOD_NOT_ALLOWED,
		    "CONNECT inside a bound connection");
	/* Binding hosts are names, so an address literal never matches. */
	if (!req->host.present || req->host.ip_literal ||
	    hostname_canon(buf + req->host.host.off, req->host.host.len, canon,
	    NULL) != HOSTNAME_OK || strcmp(canon, o->host) != 0 ||
	    req->host.port != o->port)
		return inject_refuse(out, 421, DECIDE_SNI_MISMATCH,
		    "Host is not the name this connection was opened for");
	if (inject_rewrite_head(buf, req, o->binding, o->inject, out) == -1)
		return INJECT_ERROR;
	return INJECT_FORWARD;
}

/* ASCII case-insensitive s[0..n) == lit (lit lower case). */
static int
inject_eq(const char *s, size_t n, const char *lit)
{
	size_t i;

	if (strlen(lit) != n)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c + ('a' - 'A'));
		if (c != lit[i])
			return 0;
	}
	return 1;
}

static enum http_result
inject_rbad(struct inject_response *out, const char *why)
{
	out->why = why;
	return HTTP_BAD;
}

/* One field of a response head; only framing fields mean anything. */
static enum http_result
inject_rfield(const char *s, size_t n, struct inject_response *out,
    int *seen_cl, int *te_chunked, int *seen_te)
{
	size_t i, vs, ve, t;
	uint64_t v = 0;

	if (n > 0 && (s[0] == ' ' || s[0] == '\t'))
		return inject_rbad(out, "obsolete line folding");
	for (i = 0; i < n && s[i] != ':'; i++)
		if (s[i] == ' ' || s[i] == '\t')
			return inject_rbad(out, "whitespace in field name");
	if (i == n || i == 0)
		return inject_rbad(out, "malformed field line");
	for (vs = i + 1; vs < n && (s[vs] == ' ' || s[vs] == '\t'); vs++)
		;
	for (ve = n; ve > vs && (s[ve - 1] == ' ' || s[ve - 1] == '\t'); ve--)
		;
	if (inject_eq(s, i, "content-length")) {
		if (vs == ve || ve - vs > 16)
			return inject_rbad(out, "bad Content-Length");
		for (t = vs; t < ve; t++) {
			if (s[t] < '0' || s[t] > '9')
				return inject_rbad(out, "bad Content-Length");
			v = v * 10 + (uint64_t)(s[t] - '0');
		}
		if (*seen_cl && v != out->content_length)
			return inject_rbad(out, "conflicting Content-Length");
		*seen_cl = 1;
		out->content_length = v;
	} else if (inject_eq(s, i, "transfer-encoding")) {
		/* Only the last coding says how the body ends. */
		for (t = ve; t > vs && s[t - 1] != ','; t--)
			;
		while (t < ve && (s[t] == ' ' || s[t] == '\t'))
			t++;
		*seen_te = 1;
		*te_chunked = inject_eq(s + t, ve - t, "chunked");
	}
	return HTTP_OK;
}

enum http_result
inject_parse_response(const char *buf, size_t len, size_t max_head,
    int head_request, struct inject_response *out)
{
	size_t pos = 0, eol, n, i;
	int seen_cl = 0, te_chunked = 0, seen_te = 0, first = 1;
	enum http_result r;

	memset(out, 0, sizeof(*out));
	if (len > max_head)
		len = max_head;
	for (;;) {
		const char *nl = memchr(buf + pos, '\n', len - pos);

		if (nl == NULL)
			return len >= max_head ?
			    inject_rbad(out, "response head too large") :
			    HTTP_NEED_MORE;
		eol = (size_t)(nl - buf);
		n = eol - pos;
		if (n > 0 && buf[pos + n - 1] == '\r')
			n--;
		if (memchr(buf + pos, '\0', n) != NULL ||
		    memchr(buf + pos, '\r', n) != NULL)
			return inject_rbad(out, "control byte in response head");
		if (first) {
			const char *s = buf + pos;

			if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 ||
			    (s[7] != '0' && s[7] != '1') || s[8] != ' ' ||
			    (n > 12 && s[12] != ' '))
				return inject_rbad(out, "bad status line");
			for (i = 9; i < 12; i++) {
				if (s[i] < '0' || s[i] > '9')
					return inject_rbad(out, "bad status code");
				out->status = out->status * 10 + (s[i] - '0');
			}
			if (out->status < 100)
				return inject_rbad(out, "bad status code");
			first = 0;
		} else if (n == 0) {
			break;
		} else if ((r = inject_rfield(buf + pos, n, out, &seen_cl,
		    &te_chunked, &seen_te)) != HTTP_OK) {
			return r;
		}
		pos = eol + 1;
	}
	out->head_len = eol + 1;
	/* RFC 9112 6.3, in its order. */
	if (head_request || out->status < 200 || out->status == 204 ||
	    out->status == 304)
		out->body = INJECT_RBODY_NONE;
	else if (seen_te)
		out->body = te_chunked ? INJECT_RBODY_CHUNKED : INJECT_RBODY_CLOSE;
	else if (seen_cl)
		out->body = out->content_length ? INJECT_RBODY_LENGTH :
		    INJECT_RBODY_NONE;
	else
		out->body = INJECT_RBODY_CLOSE;
	return HTTP_OK;
}

int
inject_redactor_init(struct inject_redactor *r, const struct ctl_binding *b)
{
	char val[INJECT_VALUE_MAX];
	ssize_t vlen;

	memset(r, 0, sizeof(*r));
	if (b == NULL)
		return 0;
	if ((vlen = inject_value(b, val)) == -1) {
		errno = EINVAL;
		return -1;
	}
	/* The whole value first: masking it masks the secret inside. For a
	 * custom header the value is the secret, once is enough. The value
	 * is never shorter than the secret, so it sets the hold's size. */
	r->plen[0] = (size_t)vlen;
	r->plen[1] = strlen(b->secret);
	r->npat = r->plen[1] == r->plen[0] ? 1 : 2;
	r->maxlen = r->plen[0];
	if ((r->pat[0] = malloc(r->plen[0])) == NULL ||
	    (r->npat == 2 && (r->pat[1] = malloc(r->plen[1])) == NULL) ||
	    (r->hold = malloc(r->maxlen)) == NULL) {
		OPENSSL_cleanse(val, sizeof(val));
		inject_redactor_fini(r);
		errno = ENOMEM;
		return -1;
	}
	memcpy(r->pat[0], val, r->plen[0]);
	if (r->npat == 2)
		memcpy(r->pat[1], b->secret, r->plen[1]);
	OPENSSL_cleanse(val, sizeof(val));
	return 0;
}

void
inject_redactor_fini(struct inject_redactor *r)
{
	size_t i;

	for (i = 0; i < INJECT_REDACT_PATTERNS; i++) {
		if (r->pat[i] != NULL) {
			OPENSSL_cleanse(r->pat[i], r->plen[i]);
			free(r->pat[i]);
		}
	}
	if (r->hold != NULL) {
		OPENSSL_cleanse(r->hold, r->maxlen);
		free(r->hold);
	}
	memset(r, 0, sizeof(*r));
}

/* Masks every whole occurrence of every pattern in buf[0..len). */
static void
inject_mask(struct inject_redactor *r, char *buf, size_t len)
{
	char *p, *end = buf + len;
	size_t i;

	for (i = 0; i < r->npat; i++) {
		p = buf;
		while ((size_t)(end - p) >= r->plen[i] &&
		    (p = memmem(p, (size_t)(end - p), r->pat[i],
		    r->plen[i])) != NULL) {
			memset(p, '*', r->plen[i]);
			p += r->plen[i];
			r->masked++;
		}
	}
}

/* The longest tail of buf[0..len) that is a proper prefix of a pattern:
 * what the next bytes could still complete. */
static size_t
inject_tail(const struct inject_redactor *r, const char *buf, size_t len)
{
	size_t k, i, most = r->maxlen - 1 < len ? r->maxlen - 1 : len;
	const char *t;

	for (k = most; k > 0; k--) {
		t = buf + len - k;
		for (i = 0; i < r->npat; i++)
			if (r->plen[i] > k && t[0] == r->pat[i][0] &&
			    memcmp(t, r->pat[i], k) == 0)
				return k;
	}
	return 0;
}

size_t
inject_redact_feed(struct inject_redactor *r, const char *in, size_t len,
    char *out)
{
	size_t total = r->holdlen + len, keep;

	if (r->holdlen > 0)
		memcpy(out, r->hold, r->holdlen);
	if (len > 0)
		memcpy(out + r->holdlen, in, len);
	r->holdlen = 0;
	if (r->npat == 0)
		return total;
	inject_mask(r, out, total);
	keep = inject_tail(r, out, total);
	memcpy(r->hold, out + total - keep, keep);
	r->holdlen = keep;
	OPENSSL_cleanse(out + total - keep, keep);
	return total - keep;
}

size_t
inject_redact_flush(struct inject_redactor *r, char *out)
{
	size_t n = r->holdlen;

	if (n == 0)
		return 0;
	memcpy(out, r->hold, n);
	if (n >= INJECT_REDACT_PARTIAL)
		memset(out, '*', n);
	OPENSSL_cleanse(r->hold, n);
	r->holdlen = 0;
	return n;
}
