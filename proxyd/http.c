#include <string.h>
#include <sys/socket.h>

#include "common/ip.h"
#include "proxyd/http.h"

/* One parse of one head; p->len is already cut to the head limit. */
struct http_parser {
	const char	*buf;
	size_t		len;
	size_t		max_headers;
	size_t		max_line;
	uint16_t	default_port;
	int		seen_cl;
	int		seen_te;
	int		seen_host;
	struct http_req	*req;
};

static const struct {
	const char	*name;
	enum http_method method;
} http_methods[] = {
	{ "GET", HTTP_METHOD_GET },
	{ "HEAD", HTTP_METHOD_HEAD },
	{ "POST", HTTP_METHOD_POST },
	{ "PUT", HTTP_METHOD_PUT },
	{ "DELETE", HTTP_METHOD_DELETE },
	{ "CONNECT", HTTP_METHOD_CONNECT },
	{ "OPTIONS", HTTP_METHOD_OPTIONS },
	{ "TRACE", HTTP_METHOD_TRACE },
	{ "PATCH", HTTP_METHOD_PATCH },
};

static enum http_result
http_bad(struct http_req *req, int status, const char *why)
{
	req->status = status;
	req->why = why;
	return HTTP_BAD;
}

/* RFC 9110 tchar. */
static int
http_is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int
http_is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int
http_hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static unsigned char
http_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* ASCII case-insensitive s[0..len) == lit (lit lower case). */
static int
http_eq_lit(const char *s, size_t len, const char *lit)
{
	size_t i;

	if (strlen(lit) != len)
		return 0;
	for (i = 0; i < len; i++)
		if (http_lower((unsigned char)s[i]) != (unsigned char)lit[i])
			return 0;
	return 1;
}

static int
http_span_eq_nocase(const char *buf, struct http_span a, struct http_span b)
{
	size_t i;

	if (a.len != b.len)
		return 0;
	for (i = 0; i < a.len; i++)
		if (http_lower((unsigned char)buf[a.off + i]) !=
		    http_lower((unsigned char)buf[b.off + i]))
			return 0;
	return 1;
}

int
http_header_is(const char *buf, const struct http_header *h, const char *name)
{
	size_t i, n = strlen(name);

	if (h->name.len != n)
		return 0;
	for (i = 0; i < n; i++)
		if (http_lower((unsigned char)buf[h->name.off + i]) !=
		    http_lower((unsigned char)name[i]))
			return 0;
	return 1;
}

/*
 * Find the CRLF ending the line that starts at start. Lines must end in
 * CRLF: a bare LF or a lone CR is where two parsers disagree on framing.
 * max is the longest content allowed (431 past it). OK with *eol at the CR.
 */
static enum http_result
http_line(struct http_parser *p, size_t start, size_t max, size_t *eol)
{
	size_t i;
	unsigned char c;

	for (i = start; i < p->len; i++) {
		c = (unsigned char)p->buf[i];
		if (c == '\r') {
			if (i + 1 >= p->len)
				return HTTP_NEED_MORE;
			if (p->buf[i + 1] != '\n')
				return http_bad(p->req, 400, "CR not followed by LF");
			*eol = i;
			return HTTP_OK;
		}
		if (i - start >= max)
			return http_bad(p->req, 431, "request line too long");
		if (c == '\n')
			return http_bad(p->req, 400, "bare LF line ending");
		if (c == '\0')
			return http_bad(p->req, 400, "NUL byte in head");
	}
	return HTTP_NEED_MORE;
}

/* Decimal 1..65535, no sign, no leading zero: one spelling per port. */
static int
http_port_parse(const char *s, size_t len, uint16_t *out)
{
	uint32_t v = 0;
	size_t i;

	if (len == 0 || len > 5 || s[0] == '0')
		return -1;
	for (i = 0; i < len; i++) {
		if (!http_is_digit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (uint32_t)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/* RFC 3986 unreserved bytes only: sub-delimiters never make a DNS name,
 * and a percent-encoded name is a second spelling of one. */
static int
http_is_host_char(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c == '-' || c == '.' || c == '_' || c == '~';
}

/*
 * host [":" port] at buf[off..off+len): a Host value, an absolute-form
 * authority or a CONNECT target. Userinfo is refused outright.
 */
static const char *
http_hostport_parse(const char *buf, size_t off, size_t len,
    uint16_t default_port, int need_port, struct http_hostport *out)
{
	const char *s = buf + off;
	const char *rb;
	struct ip_addr ip;
	size_t hlen;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return "empty host";
	if (memchr(s, '@', len) != NULL)
		return "userinfo in authority";
	if (s[0] == '[') {
		rb = memchr(s, ']', len);
		if (rb == NULL)
			return "bad IPv6 literal";
		hlen = (size_t)(rb - s) + 1;
		if (memchr(s + 1, ':', hlen - 2) == NULL ||
		    ip_parse(s + 1, hlen - 2, &ip, NULL) == -1 ||
		    ip.family != AF_INET6)
			return "bad IPv6 literal";
		out->host.off = off + 1;
		out->host.len = hlen - 2;
		out->ip_literal = 1;
	} else {
		for (hlen = 0; hlen < len && s[hlen] != ':'; hlen++) {
			if (s[hlen] == '%')
				return "percent-encoded host";
			if (!http_is_host_char((unsigned char)s[hlen]))
				return "invalid character in host";
		}
		if (hlen == 0)
			return "empty host";
		out->host.off = off;
		out->host.len = hlen;
	}
	if (hlen < len) {
		if (s[hlen] != ':')
			return "invalid character in host";
		if (http_port_parse(s + hlen + 1, len - hlen - 1, &out->port) == -1)
			return "bad port";
		out->port_explicit = 1;
	} else if (need_port) {
		return "missing port";
	} else {
		out->port = default_port;
	}
	out->present = 1;
	return NULL;
}

static int
http_hostport_eq(const char *buf, const struct http_hostport *a,
    const struct http_hostport *b)
{
	return a->ip_literal == b->ip_literal && a->port == b->port &&
	    http_span_eq_nocase(buf, a->host, b->host);
}

/* scheme "://" authority [path]; only http: the proxy never sees inside TLS. */
static enum http_result
http_target_absolute(struct http_parser *p)
{
	struct http_req *req = p->req;
	const char *t = p->buf + req->target.off;
	size_t n = req->target.len, i, a;
	const char *why;
	unsigned char c;

	if (!((t[0] >= 'a' && t[0] <= 'z') || (t[0] >= 'A' && t[0] <= 'Z')))
		return http_bad(req, 400, "bad request target");
	for (i = 1; i < n && t[i] != ':'; i++) {
		c = (unsigned char)t[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    http_is_digit(c) || c == '+' || c == '-' || c == '.'))
			return http_bad(req, 400, "bad request target");
	}
	if (i == n)
		return http_bad(req, 400, "bad request target");
	if (!http_eq_lit(t, i, "http"))
		return http_bad(req, 400, "unsupported scheme");
	if (n - i < 3 || t[i + 1] != '/' || t[i + 2] != '/')
		return http_bad(req, 400, "bad request target");
	a = i + 3;
	for (i = a; i < n && t[i] != '/' && t[i] != '?'; i++)
		;
	why = http_hostport_parse(p->buf, req->target.off + a, i - a, 80, 0,
	    &req->target_auth);
	if (why != NULL)
		return http_bad(req, 400, why);
	req->form = HTTP_FORM_ABSOLUTE;
	req->path.off = req->target.off + i;
	req->path.len = n - i;
	return HTTP_OK;
}

/* Which form the target takes; each form only where RFC 9112 allows it. */
static enum http_result
http_target(struct http_parser *p)
{
	struct http_req *req = p->req;
	const char *t = p->buf + req->target.off;
	size_t n = req->target.len;
	const char *why;

	if (req->method == HTTP_METHOD_CONNECT) {
		if (memchr(t, '/', n) != NULL)
			return http_bad(req, 400, "CONNECT needs host:port");
		why = http_hostport_parse(p->buf, req->target.off, n, 0, 1,
		    &req->target_auth);
		if (why != NULL)
			return http_bad(req, 400, why);
		req->form = HTTP_FORM_AUTHORITY;
		return HTTP_OK;
	}
	if (t[0] == '/') {
		req->form = HTTP_FORM_ORIGIN;
		req->path = req->target;
		return HTTP_OK;
	}
	if (t[0] == '*') {
		if (n != 1 || req->method != HTTP_METHOD_OPTIONS)
			return http_bad(req, 400, "asterisk-form is for OPTIONS");
		req->form = HTTP_FORM_ASTERISK;
		return HTTP_OK;
	}
	return http_target_absolute(p);
}

/* method SP request-target SP HTTP-version, one space each, nothing else. */
static enum http_result
http_request_line(struct http_parser *p, size_t s, size_t e)
{
	struct http_req *req = p->req;
	const char *buf = p->buf;
	const char *sp1, *sp2;
	size_t i, v, vlen;
	unsigned char c;

	sp1 = memchr(buf + s, ' ', e - s);
	if (sp1 == NULL || sp1 == buf + s)
		return http_bad(req, 400, "malformed request line");
	sp2 = memchr(sp1 + 1, ' ', (size_t)(buf + e - sp1 - 1));
	if (sp2 == NULL)
		return http_bad(req, 400, "malformed request line");
	if (sp2 == sp1 + 1 || memchr(sp2 + 1, ' ', (size_t)(buf + e - sp2 - 1)))
		return http_bad(req, 400, "extra spaces in request line");

	req->method_raw.off = s;
	req->method_raw.len = (size_t)(sp1 - (buf + s));
	for (i = 0; i < req->method_raw.len; i++)
		if (!http_is_tchar((unsigned char)buf[s + i]))
			return http_bad(req, 400, "invalid character in method");
	for (i = 0; i < sizeof(http_methods) / sizeof(http_methods[0]); i++) {
		if (strlen(http_methods[i].name) == req->method_raw.len &&
		    memcmp(http_methods[i].name, buf + s,
		    req->method_raw.len) == 0)
			req->method = http_methods[i].method;
	}

	req->target.off = (size_t)(sp1 + 1 - buf);
	req->target.len = (size_t)(sp2 - sp1 - 1);
	for (i = 0; i < req->target.len; i++) {
		c = (unsigned char)buf[req->target.off + i];
		if (c >= 0x80)
			return http_bad(req, 400, "non-ASCII byte in request target");
		if (c <= 0x20 || c == 0x7f)
			return http_bad(req, 400,
			    "invalid character in request target");
		if (c == '#')
			return http_bad(req, 400, "fragment in request target");
	}

	v = (size_t)(sp2 + 1 - buf);
	vlen = e - v;
	if (req->method_raw.len == 3 && memcmp(buf + s, "PRI", 3) == 0 &&
	    req->target.len == 1 && buf[req->target.off] == '*' &&
	    vlen == 8 && memcmp(buf + v, "HTTP/2.0", 8) == 0)
		return http_bad(req, 400, "HTTP/2 prior knowledge not supported");
	if (vlen != 8 || memcmp(buf + v, "HTTP/1.", 7) != 0 ||
	    (buf[v + 7] != '0' && buf[v + 7] != '1'))
		return http_bad(req, 400, "unsupported version");
	req->version_minor = buf[v + 7] - '0';
	return http_target(p);
}

/* 1*DIGIT up to 2^53: the most a JavaScript or double-based peer agrees on. */
static enum http_result
http_content_length(struct http_parser *p, struct http_span v)
{
	uint64_t n = 0;
	size_t i;
	unsigned char c;

	if (p->seen_cl++)
		return http_bad(p->req, 400, "more than one Content-Length");
	if (p->seen_te)
		return http_bad(p->req, 400,
		    "both Content-Length and Transfer-Encoding");
	if (v.len == 0)
		return http_bad(p->req, 400, "bad Content-Length");
	for (i = 0; i < v.len; i++) {
		c = (unsigned char)p->buf[v.off + i];
		if (!http_is_digit(c))
			return http_bad(p->req, 400, "bad Content-Length");
		n = n * 10 + (uint64_t)(c - '0');
		if (n > HTTP_CONTENT_LENGTH_MAX)
			return http_bad(p->req, 400, "Content-Length too large");
	}
	p->req->content_length = n;
	p->req->body = HTTP_BODY_LENGTH;
	return HTTP_OK;
}

static enum http_result
http_transfer_encoding(struct http_parser *p, struct http_span v)
{
	if (p->seen_te++)
		return http_bad(p->req, 400, "more than one Transfer-Encoding");
	if (p->seen_cl)
		return http_bad(p->req, 400,
		    "both Content-Length and Transfer-Encoding");
	if (!http_eq_lit(p->buf + v.off, v.len, "chunked"))
		return http_bad(p->req, 501, "unsupported transfer-coding");
	if (p->req->version_minor == 0)
		return http_bad(p->req, 400, "chunked body with HTTP/1.0");
	p->req->body = HTTP_BODY_CHUNKED;
	return HTTP_OK;
}

/* #token with empty elements allowed; only a few tokens mean anything here. */
static enum http_result
http_connection(struct http_parser *p, struct http_span v)
{
	const char *s = p->buf + v.off;
	size_t i = 0, t;

	while (i < v.len) {
		while (i < v.len && (s[i] == ' ' || s[i] == '\t' || s[i] == ','))
			i++;
		for (t = i; i < v.len && http_is_tchar((unsigned char)s[i]); i++)
			;
		if (http_eq_lit(s + t, i - t, "close"))
			p->req->conn |= HTTP_CONN_CLOSE;
		else if (http_eq_lit(s + t, i - t, "keep-alive"))
			p->req->conn |= HTTP_CONN_KEEP_ALIVE;
		else if (http_eq_lit(s + t, i - t, "upgrade"))
			p->req->conn |= HTTP_CONN_UPGRADE;
		while (i < v.len && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i < v.len && s[i] != ',')
			return http_bad(p->req, 400, "bad Connection header");
	}
	return HTTP_OK;
}

static enum http_result
http_host(struct http_parser *p, struct http_span v)
{
	struct http_req *req = p->req;
	uint16_t def;
	const char *why;

	if (p->seen_host++)
		return http_bad(req, 400, "more than one Host header");
	def = req->form == HTTP_FORM_ABSOLUTE ? 80 : p->default_port;
	why = http_hostport_parse(p->buf, v.off, v.len, def, 0, &req->host_hdr);
	if (why != NULL)
		return http_bad(req, 400, why);
	return HTTP_OK;
}

/* name ":" OWS value OWS; no folding, no space before the colon. */
static enum http_result
http_header_line(struct http_parser *p, size_t s, size_t e)
{
	struct http_req *req = p->req;
	const char *buf = p->buf;
	struct http_header *h;
	size_t i, name_end, vs, ve;
	unsigned char c;

	if (buf[s] == ' ' || buf[s] == '\t')
		return http_bad(req, 400, "obsolete line folding");
	if (req->nheaders >= p->max_headers)
		return http_bad(req, 431, "too many header fields");
	for (i = s; i < e && http_is_tchar((unsigned char)buf[i]); i++)
		;
	name_end = i;
	if (i == e)
		return http_bad(req, 400, "header field without colon");
	if (buf[i] != ':') {
		if (buf[i] == ' ' || buf[i] == '\t')
			return http_bad(req, 400, "whitespace before colon");
		return http_bad(req, 400, "invalid character in field name");
	}
	if (i == s)
		return http_bad(req, 400, "empty field name");
	for (vs = i + 1; vs < e && (buf[vs] == ' ' || buf[vs] == '\t'); vs++)
		;
	for (ve = e; ve > vs && (buf[ve - 1] == ' ' || buf[ve - 1] == '\t'); ve--)
		;
	for (i = vs; i < ve; i++) {
		c = (unsigned char)buf[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return http_bad(req, 400,
			    "control character in field value");
	}

	h = &req->headers[req->nheaders++];
	h->name.off = s;
	h->name.len = name_end - s;
	h->value.off = vs;
	h->value.len = ve - vs;

	if (http_header_is(buf, h, "host"))
		return http_host(p, h->value);
	if (http_header_is(buf, h, "content-length"))
		return http_content_length(p, h->value);
	if (http_header_is(buf, h, "transfer-encoding"))
		return http_transfer_encoding(p, h->value);
	if (http_header_is(buf, h, "connection"))
		return http_connection(p, h->value);
	return HTTP_OK;
}

/* Whole-head rules: one name to judge, one body framing, no body on CONNECT. */
static enum http_result
http_head_finish(struct http_parser *p)
{
	struct http_req *req = p->req;

	if (req->method == HTTP_METHOD_CONNECT) {
		if (req->body == HTTP_BODY_CHUNKED ||
		    (req->body == HTTP_BODY_LENGTH && req->content_length != 0))
			return http_bad(req, 400, "CONNECT with a body");
		if (req->host_hdr.present &&
		    (!http_span_eq_nocase(p->buf, req->host_hdr.host,
		    req->target_auth.host) ||
		    req->host_hdr.ip_literal != req->target_auth.ip_literal ||
		    (req->host_hdr.port_explicit &&
		    req->host_hdr.port != req->target_auth.port)))
			return http_bad(req, 400,
			    "Host does not match request target");
	} else {
		if (!req->host_hdr.present && req->version_minor == 1)
			return http_bad(req, 400, "missing Host header");
		if (req->form == HTTP_FORM_ABSOLUTE && req->host_hdr.present &&
		    !http_hostport_eq(p->buf, &req->host_hdr, &req->target_auth))
			return http_bad(req, 400,
			    "Host does not match request target");
	}
	req->host = req->target_auth.present ? req->target_auth : req->host_hdr;
	if (req->conn & HTTP_CONN_CLOSE)
		req->keep_alive = 0;
	else if (req->version_minor == 1)
		req->keep_alive = 1;
	else
		req->keep_alive = (req->conn & HTTP_CONN_KEEP_ALIVE) != 0;
	return HTTP_OK;
}

enum http_result
http_parse_head(const char *buf, size_t len, const struct http_limits *lim,
    struct http_req *req)
{
	struct http_parser p;
	enum http_result r;
	size_t max_head = HTTP_HEAD_MAX_DEFAULT, pos = 0, eol = 0;

	memset(req, 0, sizeof(*req));
	memset(&p, 0, sizeof(p));
	p.buf = buf;
	p.req = req;
	p.max_headers = HTTP_HEADERS_MAX;
	p.max_line = HTTP_LINE_MAX_DEFAULT;
	p.default_port = 80;
	if (lim != NULL) {
		if (lim->max_head != 0)
			max_head = lim->max_head;
		if (lim->max_headers != 0 && lim->max_headers < HTTP_HEADERS_MAX)
			p.max_headers = lim->max_headers;
		if (lim->max_line != 0)
			p.max_line = lim->max_line;
		if (lim->default_port != 0)
			p.default_port = lim->default_port;
	}
	p.len = len < max_head ? len : max_head;

	if ((r = http_line(&p, pos, p.max_line, &eol)) != HTTP_OK)
		goto out;
	if (eol == pos) {
		pos = eol + 2;
		if ((r = http_line(&p, pos, p.max_line, &eol)) != HTTP_OK)
			goto out;
		if (eol == pos) {
			r = http_bad(req, 400, "empty lines before request line");
			goto out;
		}
	}
	if ((r = http_request_line(&p, pos, eol)) != HTTP_OK)
		goto out;
	for (;;) {
		pos = eol + 2;
		if ((r = http_line(&p, pos, SIZE_MAX, &eol)) != HTTP_OK)
			goto out;
		if (eol == pos)
			break;
		if ((r = http_header_line(&p, pos, eol)) != HTTP_OK)
			goto out;
	}
	if ((r = http_head_finish(&p)) != HTTP_OK)
		goto out;
	req->head_len = eol + 2;
out:
	if (r == HTTP_NEED_MORE && len > max_head)
		r = http_bad(req, 431, "request head too large");
	return r;
}

/* Chunked decoder states, in the order a body passes through them. */
enum {
	CH_SIZE_FIRST = 0,
	CH_SIZE,
	CH_EXT_NAME_FIRST,
	CH_EXT_NAME,
	CH_EXT_VALUE_FIRST,
	CH_EXT_TOKEN,
	CH_EXT_QUOTED,
	CH_EXT_QPAIR,
	CH_EXT_AFTER_QUOTE,
	CH_SIZE_LF,
	CH_DATA,
	CH_DATA_CR,
	CH_DATA_LF,
	CH_TR_START,
	CH_TR_NAME,
	CH_TR_VALUE,
	CH_TR_LF,
	CH_TR_END_LF,
	CH_DONE,
	CH_BAD,
};

void
http_chunked_init(struct http_chunked *st, uint64_t max_body)
{
	memset(st, 0, sizeof(*st));
	st->max_body = max_body ? max_body : HTTP_CONTENT_LENGTH_MAX;
	st->state = CH_SIZE_FIRST;
}

static enum http_result
http_chunked_bad(struct http_chunked *st, const char *why)
{
	st->state = CH_BAD;
	st->why = why;
	return HTTP_BAD;
}

/* Trailers an origin might merge into the head would re-open framing and
 * routing the proxy already judged. */
static int
http_trailer_forbidden(const struct http_chunked *st)
{
	return http_eq_lit(st->name, st->name_len, "host") ||
	    http_eq_lit(st->name, st->name_len, "content-length") ||
	    http_eq_lit(st->name, st->name_len, "transfer-encoding");
}

/* After a chunk size: extensions, then CRLF. */
static enum http_result
http_chunked_ext(struct http_chunked *st, unsigned char c)
{
	if (c != '\r' && ++st->count > HTTP_CHUNK_EXT_MAX)
		return http_chunked_bad(st, "chunk extensions too long");
	switch (st->state) {
	case CH_EXT_NAME_FIRST:
		if (!http_is_tchar(c))
			return http_chunked_bad(st, "bad chunk extension");
		st->state = CH_EXT_NAME;
		return HTTP_NEED_MORE;
	case CH_EXT_NAME:
		if (c == '=') {
			st->state = CH_EXT_VALUE_FIRST;
			return HTTP_NEED_MORE;
		}
		break;
	case CH_EXT_VALUE_FIRST:
		if (c == '"')
			st->state = CH_EXT_QUOTED;
		else if (http_is_tchar(c))
			st->state = CH_EXT_TOKEN;
		else
			return http_chunked_bad(st, "bad chunk extension");
		return HTTP_NEED_MORE;
	case CH_EXT_TOKEN:
		break;
	case CH_EXT_QUOTED:
		if (c == '"')
			st->state = CH_EXT_AFTER_QUOTE;
		else if (c == '\\')
			st->state = CH_EXT_QPAIR;
		else if ((c < 0x20 && c != '\t') || c == 0x7f)
			return http_chunked_bad(st, "bad chunk extension");
		return HTTP_NEED_MORE;
	case CH_EXT_QPAIR:
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return http_chunked_bad(st, "bad chunk extension");
		st->state = CH_EXT_QUOTED;
		return HTTP_NEED_MORE;
	case CH_EXT_AFTER_QUOTE:
		break;
	}
	if (st->state != CH_EXT_AFTER_QUOTE && http_is_tchar(c))
		return HTTP_NEED_MORE;
	if (c == ';') {
		st->state = CH_EXT_NAME_FIRST;
		return HTTP_NEED_MORE;
	}
	if (c == '\r') {
		st->state = CH_SIZE_LF;
		return HTTP_NEED_MORE;
	}
	return http_chunked_bad(st, "bad chunk extension");
}

/* The trailer section: field lines like the head's, then CRLF. */
static enum http_result
http_chunked_trailer(struct http_chunked *st, unsigned char c, int *done)
{
	if (++st->trailer_len > HTTP_TRAILERS_MAX)
		return http_chunked_bad(st, "trailers too long");
	switch (st->state) {
	case CH_TR_START:
		if (c == '\r') {
			st->state = CH_TR_END_LF;
		} else if (c == ' ' || c == '\t') {
			return http_chunked_bad(st, "obs-fold in trailers");
		} else if (http_is_tchar(c)) {
			st->name[0] = (char)http_lower(c);
			st->name_len = 1;
			st->state = CH_TR_NAME;
		} else {
			return http_chunked_bad(st, "bad trailer field");
		}
		return HTTP_NEED_MORE;
	case CH_TR_NAME:
		if (http_is_tchar(c)) {
			if (st->name_len < sizeof(st->name))
				st->name[st->name_len++] = (char)http_lower(c);
			else
				st->name_len = sizeof(st->name);
		} else if (c == ':') {
			if (http_trailer_forbidden(st))
				return http_chunked_bad(st,
				    "forbidden trailer field");
			st->state = CH_TR_VALUE;
		} else {
			return http_chunked_bad(st, "bad trailer field");
		}
		return HTTP_NEED_MORE;
	case CH_TR_VALUE:
		if (c == '\r')
			st->state = CH_TR_LF;
		else if ((c < 0x20 && c != '\t') || c == 0x7f)
			return http_chunked_bad(st, "bad trailer field");
		return HTTP_NEED_MORE;
	case CH_TR_LF:
		if (c != '\n')
			return http_chunked_bad(st, "bad trailer field");
		st->state = CH_TR_START;
		return HTTP_NEED_MORE;
	case CH_TR_END_LF:
		if (c != '\n')
			return http_chunked_bad(st, "bad trailer field");
		st->state = CH_DONE;
		*done = 1;
		return HTTP_NEED_MORE;
	}
	return http_chunked_bad(st, "bad trailer field");
}

enum http_result
http_chunked_feed(struct http_chunked *st, const char *buf, size_t len,
    size_t *consumed)
{
	enum http_result r = HTTP_NEED_MORE;
	size_t i = 0, n;
	unsigned char c;
	int d, done = 0;

	*consumed = 0;
	if (st->state == CH_DONE)
		return HTTP_DONE;
	if (st->state == CH_BAD)
		return HTTP_BAD;
	while (i < len && r == HTTP_NEED_MORE && !done) {
		if (st->state == CH_DATA) {
			n = len - i;
			if (n > st->left)
				n = (size_t)st->left;
			st->left -= n;
			i += n;
			if (st->left == 0)
				st->state = CH_DATA_CR;
			continue;
		}
		c = (unsigned char)buf[i];
		switch (st->state) {
		case CH_SIZE_FIRST:
		case CH_SIZE:
			if ((d = http_hex_value(c)) >= 0) {
				st->state = CH_SIZE;
				st->left = st->left * 16 + (uint64_t)d;
				if (++st->count > HTTP_CHUNK_SIZE_DIGITS_MAX)
					r = http_chunked_bad(st, "bad chunk size");
				else if (st->left > HTTP_CHUNK_MAX)
					r = http_chunked_bad(st,
					    "chunk size too large");
			} else if (st->state == CH_SIZE && c == ';') {
				st->count = 1;
				st->state = CH_EXT_NAME_FIRST;
			} else if (st->state == CH_SIZE && c == '\r') {
				st->state = CH_SIZE_LF;
			} else {
				r = http_chunked_bad(st, "bad chunk size");
			}
			break;
		case CH_EXT_NAME_FIRST:
		case CH_EXT_NAME:
		case CH_EXT_VALUE_FIRST:
		case CH_EXT_TOKEN:
		case CH_EXT_QUOTED:
		case CH_EXT_QPAIR:
		case CH_EXT_AFTER_QUOTE:
			r = http_chunked_ext(st, c);
			break;
		case CH_SIZE_LF:
			if (c != '\n') {
				r = http_chunked_bad(st, "bad chunk size");
			} else if (st->left == 0) {
				st->state = CH_TR_START;
			} else if (st->left > st->max_body - st->total) {
				r = http_chunked_bad(st, "chunked body too large");
			} else {
				st->total += st->left;
				st->state = CH_DATA;
			}
			st->count = 0;
			break;
		case CH_DATA_CR:
		case CH_DATA_LF:
			if (c != (st->state == CH_DATA_CR ? '\r' : '\n'))
				r = http_chunked_bad(st,
				    "missing CRLF after chunk data");
			else
				st->state = st->state == CH_DATA_CR ?
				    CH_DATA_LF : CH_SIZE_FIRST;
			break;
		default:
			r = http_chunked_trailer(st, c, &done);
			break;
		}
		if (r == HTTP_NEED_MORE)
			i++;
	}
	*consumed = i;
	if (done)
		return HTTP_DONE;
	return r;
}
