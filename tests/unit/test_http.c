#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proxyd/http.h"

/*
 * Parse s[0..len) from an allocation of exactly len bytes, so ASan sees any
 * read past len, and check the prefix rule on the way: every shorter input
 * is NEED_MORE or the same verdict (same status, why and head_len).
 */
static enum http_result
parse_n(const char *s, size_t len, const struct http_limits *lim,
    struct http_req *req)
{
	struct http_req *pre = malloc(sizeof(*pre));
	enum http_result r, pr;
	char *copy;
	size_t i;

	assert_non_null(pre);
	copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, s, len);
	r = http_parse_head(copy, len, lim, req);
	for (i = 0; i < len; i++) {
		pr = http_parse_head(copy, i, lim, pre);
		if (pr == HTTP_NEED_MORE)
			continue;
		assert_int_equal(pr, r);
		if (r == HTTP_OK) {
			assert_int_equal(pre->head_len, req->head_len);
		} else {
			assert_int_equal(pre->status, req->status);
			assert_string_equal(pre->why, req->why);
		}
	}
	free(copy);
	free(pre);
	return r;
}

static enum http_result
parse(const char *s, struct http_req *req)
{
	return parse_n(s, strlen(s), NULL, req);
}

static void
span_is(const char *buf, struct http_span sp, const char *want)
{
	char got[256];

	assert_true(sp.len < sizeof(got));
	memcpy(got, buf + sp.off, sp.len);
	got[sp.len] = '\0';
	assert_string_equal(got, want);
}

static struct http_req *
req_new(void)
{
	struct http_req *req = calloc(1, sizeof(*req));

	assert_non_null(req);
	return req;
}

static void
ok_head(const char *s)
{
	struct http_req *req = req_new();

	assert_int_equal(parse(s, req), HTTP_OK);
	assert_int_equal(req->head_len, strlen(s));
	free(req);
}

static void
bad_head(const char *s, int status, const char *why)
{
	struct http_req *req = req_new();

	assert_int_equal(parse(s, req), HTTP_BAD);
	assert_int_equal(req->status, status);
	assert_string_equal(req->why, why);
	free(req);
}

static void
test_origin_form(void **state)
{
	const char *s = "GET /index.html?q=1 HTTP/1.1\r\n"
	    "Host: allowed.test\r\nUser-Agent: t\r\n\r\n";
	struct http_req *req = req_new();

	(void)state;
	assert_int_equal(parse(s, req), HTTP_OK);
	assert_int_equal(req->head_len, strlen(s));
	assert_int_equal(req->method, HTTP_METHOD_GET);
	span_is(s, req->method_raw, "GET");
	assert_int_equal(req->form, HTTP_FORM_ORIGIN);
	span_is(s, req->target, "/index.html?q=1");
	span_is(s, req->path, "/index.html?q=1");
	assert_int_equal(req->version_minor, 1);
	assert_true(req->host.present);
	span_is(s, req->host.host, "allowed.test");
	assert_int_equal(req->host.port, 80);
	assert_false(req->host.port_explicit);
	assert_false(req->host.ip_literal);
	assert_false(req->target_auth.present);
	assert_int_equal(req->body, HTTP_BODY_NONE);
	assert_true(req->keep_alive);
	assert_int_equal(req->nheaders, 2);
	span_is(s, req->headers[1].name, "User-Agent");
	span_is(s, req->headers[1].value, "t");
	free(req);
}

static void
test_methods(void **state)
{
	static const struct {
		const char *name;
		enum http_method m;
	} known[] = {
		{ "GET", HTTP_METHOD_GET }, { "HEAD", HTTP_METHOD_HEAD },
		{ "POST", HTTP_METHOD_POST }, { "PUT", HTTP_METHOD_PUT },
		{ "DELETE", HTTP_METHOD_DELETE },
		{ "OPTIONS", HTTP_METHOD_OPTIONS },
		{ "TRACE", HTTP_METHOD_TRACE }, { "PATCH", HTTP_METHOD_PATCH },
		{ "PROPFIND", HTTP_METHOD_OTHER }, { "get", HTTP_METHOD_OTHER },
	};
	struct http_req *req = req_new();
	char buf[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		snprintf(buf, sizeof(buf), "%s / HTTP/1.1\r\nHost: a\r\n\r\n",
		    known[i].name);
		assert_int_equal(parse(buf, req), HTTP_OK);
		assert_int_equal(req->method, known[i].m);
		span_is(buf, req->method_raw, known[i].name);
	}
	bad_head("GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400,
	    "invalid character in method");
	bad_head("G\tT / HTTP/1.1\r\nHost: a\r\n\r\n", 400,
	    "invalid character in method");
	free(req);
}

static void
test_need_more_every_prefix(void **state)
{
	const char *s = "POST /upload HTTP/1.1\r\nHost: allowed.test\r\n"
	    "Content-Length: 5\r\nAuthorization: Bearer x\r\n\r\nhello";
	size_t head = strlen(s) - 5, i;
	struct http_req *req = req_new();
	enum http_result r;

	(void)state;
	for (i = 0; i <= strlen(s); i++) {
		r = parse_n(s, i, NULL, req);
		if (i < head) {
			assert_int_equal(r, HTTP_NEED_MORE);
		} else {
			assert_int_equal(r, HTTP_OK);
			assert_int_equal(req->head_len, head);
			assert_int_equal(req->body, HTTP_BODY_LENGTH);
			assert_int_equal(req->content_length, 5);
		}
	}
	free(req);
}

static void
test_absolute_form(void **state)
{
	const char *s = "GET http://allowed.test:8080/a?b HTTP/1.1\r\n"
	    "Host: allowed.test:8080\r\n\r\n";
	const char *nopath = "GET http://allowed.test HTTP/1.1\r\n"
	    "Host: allowed.test\r\n\r\n";
	const char *query = "GET HTTP://Allowed.Test?x=1 HTTP/1.1\r\n"
	    "Host: allowed.TEST\r\n\r\n";
	const char *v6 = "GET http://[2001:db8::1]:81/ HTTP/1.1\r\n"
	    "Host: [2001:DB8::1]:81\r\n\r\n";
	struct http_req *req = req_new();

	(void)state;
	assert_int_equal(parse(s, req), HTTP_OK);
	assert_int_equal(req->form, HTTP_FORM_ABSOLUTE);
	span_is(s, req->target_auth.host, "allowed.test");
	assert_int_equal(req->target_auth.port, 8080);
	assert_true(req->target_auth.port_explicit);
	span_is(s, req->path, "/a?b");
	span_is(s, req->host.host, "allowed.test");
	assert_int_equal(req->host.port, 8080);

	assert_int_equal(parse(nopath, req), HTTP_OK);
	assert_int_equal(req->path.len, 0);
	assert_int_equal(req->host.port, 80);

	assert_int_equal(parse(query, req), HTTP_OK);
	span_is(query, req->path, "?x=1");
	span_is(query, req->host.host, "Allowed.Test");

	assert_int_equal(parse(v6, req), HTTP_OK);
	assert_true(req->host.ip_literal);
	span_is(v6, req->host.host, "2001:db8::1");
	assert_int_equal(req->host.port, 81);

	/* HTTP/1.0 needs no Host: the target names the host. */
	assert_int_equal(parse("GET http://allowed.test/ HTTP/1.0\r\n\r\n",
	    req), HTTP_OK);
	assert_true(req->host.present);
	assert_false(req->host_hdr.present);
	free(req);
}

static void
test_absolute_form_bad(void **state)
{
	(void)state;
	bad_head("GET https://allowed.test/ HTTP/1.1\r\nHost: allowed.test\r\n\r\n",
	    400, "unsupported scheme");
	bad_head("GET ftp://allowed.test/ HTTP/1.1\r\nHost: allowed.test\r\n\r\n",
	    400, "unsupported scheme");
	bad_head("GET http:/allowed.test/ HTTP/1.1\r\nHost: allowed.test\r\n\r\n",
	    400, "bad request target");
	bad_head("GET allowed.test/ HTTP/1.1\r\nHost: allowed.test\r\n\r\n",
	    400, "bad request target");
	bad_head("GET 1http://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
	    400, "bad request target");
	bad_head("GET http://user:pass@allowed.test/ HTTP/1.1\r\n"
	    "Host: allowed.test\r\n\r\n", 400, "userinfo in authority");
	bad_head("GET http://evil.test@allowed.test/ HTTP/1.1\r\n"
	    "Host: allowed.test\r\n\r\n", 400, "userinfo in authority");
	bad_head("GET http:///p HTTP/1.1\r\nHost: a\r\n\r\n", 400, "empty host");
	bad_head("GET http://a:0/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad port");
	bad_head("GET http://a:65536/ HTTP/1.1\r\nHost: a\r\n\r\n", 400,
	    "bad port");
	bad_head("GET http://a:080/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad port");
	bad_head("GET http://a:/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad port");
	bad_head("GET http://a:+80/ HTTP/1.1\r\nHost: a\r\n\r\n", 400,
	    "bad port");
	bad_head("GET http://%61llowed.test/ HTTP/1.1\r\nHost: allowed.test\r\n\r\n",
	    400, "percent-encoded host");
	bad_head("GET http://[::1/ HTTP/1.1\r\nHost: a\r\n\r\n", 400,
	    "bad IPv6 literal");
	/* Brackets are for IPv6; an IPv4 inside them is another spelling. */
	bad_head("GET http://[1.2.3.4]/ HTTP/1.1\r\nHost: a\r\n\r\n", 400,
	    "bad IPv6 literal");
	bad_head("GET http://[::1%25eth0]/ HTTP/1.1\r\nHost: a\r\n\r\n", 400,
	    "bad IPv6 literal");
}

static void
test_host_vs_target(void **state)
{
	(void)state;
	ok_head("GET http://allowed.test/ HTTP/1.1\r\nHost: allowed.test:80\r\n\r\n");
	ok_head("GET http://allowed.test:80/ HTTP/1.1\r\nHost: allowed.test\r\n\r\n");
	ok_head("GET http://ALLOWED.test/ HTTP/1.1\r\nHost: allowed.TEST\r\n\r\n");
	bad_head("GET http://allowed.test/ HTTP/1.1\r\n"
	    "Host: allowed.test:8080\r\n\r\n", 400,
	    "Host does not match request target");
	bad_head("GET http://allowed.test:8080/ HTTP/1.1\r\n"
	    "Host: allowed.test\r\n\r\n", 400,
	    "Host does not match request target");
	bad_head("GET http://allowed.test/ HTTP/1.1\r\nHost: other.test\r\n\r\n",
	    400, "Host does not match request target");
	bad_head("GET http://allowed.test/ HTTP/1.1\r\nHost: allowed.test.\r\n\r\n",
	    400, "Host does not match request target");
	bad_head("GET http://allowed.test/ HTTP/1.1\r\n\r\n", 400,
	    "missing Host header");
}

static void
test_host_header(void **state)
{
	const char *v6 = "GET / HTTP/1.1\r\n"
	    "Host: [::ffff:169.254.169.254]:80\r\n\r\n";
	const char *dec = "GET / HTTP/1.1\r\nHost: 2852039166\r\n\r\n";
	const char *port = "GET / HTTP/1.1\r\nHost:  allowed.test:8080 \t\r\n\r\n";
	const char *noport = "GET / HTTP/1.1\r\nHost: allowed.test\r\n\r\n";
	struct http_limits lim = { .default_port = 8080 };
	struct http_req *req = req_new();

	(void)state;
	assert_int_equal(parse(v6, req), HTTP_OK);
	assert_true(req->host.ip_literal);
	span_is(v6, req->host.host, "::ffff:169.254.169.254");
	assert_int_equal(req->host.port, 80);
	assert_true(req->host.port_explicit);

	assert_int_equal(parse(dec, req), HTTP_OK);
	assert_false(req->host.ip_literal);
	span_is(dec, req->host.host, "2852039166");

	assert_int_equal(parse(port, req), HTTP_OK);
	span_is(port, req->host.host, "allowed.test");
	span_is(port, req->headers[0].value, "allowed.test:8080");
	assert_int_equal(req->host.port, 8080);

	assert_int_equal(parse_n(noport, strlen(noport), &lim, req), HTTP_OK);
	assert_int_equal(req->host.port, 8080);
	assert_false(req->host.port_explicit);

	bad_head("GET / HTTP/1.1\r\nHost:\r\n\r\n", 400, "empty host");
	bad_head("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400,
	    "invalid character in host");
	bad_head("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400,
	    "invalid character in host");
	bad_head("GET / HTTP/1.1\r\nHost: allowed.test,evil.test\r\n\r\n", 400,
	    "invalid character in host");
	bad_head("GET / HTTP/1.1\r\nHost: %61llowed.test\r\n\r\n", 400,
	    "percent-encoded host");
	bad_head("GET / HTTP/1.1\r\nHost: u@allowed.test\r\n\r\n", 400,
	    "userinfo in authority");
	bad_head("GET / HTTP/1.1\r\nHost: a:99999\r\n\r\n", 400, "bad port");
	bad_head("GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n", 400,
	    "invalid character in host");
	bad_head("GET / HTTP/1.1\r\nHost: a\xc3\xa9.test\r\n\r\n", 400,
	    "invalid character in host");
	bad_head("GET / HTTP/1.1\r\n\r\n", 400, "missing Host header");

	/* HTTP/1.0 may omit Host; then there is nothing to judge by name. */
	assert_int_equal(parse("GET / HTTP/1.0\r\n\r\n", req), HTTP_OK);
	assert_false(req->host.present);
	free(req);
}

static void
test_connect(void **state)
{
	const char *s = "CONNECT allowed.test:443 HTTP/1.1\r\n"
	    "Host: allowed.test:443\r\n\r\n";
	const char *v6 = "CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n";
	struct http_req *req = req_new();

	(void)state;
	assert_int_equal(parse(s, req), HTTP_OK);
	assert_int_equal(req->method, HTTP_METHOD_CONNECT);
	assert_int_equal(req->form, HTTP_FORM_AUTHORITY);
	span_is(s, req->host.host, "allowed.test");
	assert_int_equal(req->host.port, 443);

	assert_int_equal(parse(v6, req), HTTP_OK);
	assert_true(req->host.ip_literal);
	span_is(v6, req->host.host, "::1");
	assert_int_equal(req->host.port, 443);

	/* Host is optional on CONNECT; without a port it matches any. */
	ok_head("CONNECT allowed.test:443 HTTP/1.1\r\n\r\n");
	ok_head("CONNECT allowed.test:443 HTTP/1.0\r\n\r\n");
	ok_head("CONNECT allowed.test:443 HTTP/1.1\r\nHost: allowed.test\r\n\r\n");
	ok_head("CONNECT allowed.test:443 HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
	bad_head("CONNECT allowed.test:443 HTTP/1.1\r\nHost: other.test:443\r\n\r\n",
	    400, "Host does not match request target");
	bad_head("CONNECT allowed.test:443 HTTP/1.1\r\n"
	    "Host: allowed.test:80\r\n\r\n", 400,
	    "Host does not match request target");
	bad_head("CONNECT allowed.test HTTP/1.1\r\nHost: allowed.test\r\n\r\n",
	    400, "missing port");
	bad_head("CONNECT [::1] HTTP/1.1\r\n\r\n", 400, "missing port");
	bad_head("CONNECT [zz]:443 HTTP/1.1\r\n\r\n", 400, "bad IPv6 literal");
	bad_head("CONNECT / HTTP/1.1\r\nHost: allowed.test\r\n\r\n", 400,
	    "CONNECT needs host:port");
	bad_head("CONNECT http://allowed.test:443/ HTTP/1.1\r\n\r\n", 400,
	    "CONNECT needs host:port");
	bad_head("CONNECT user@allowed.test:443 HTTP/1.1\r\n\r\n", 400,
	    "userinfo in authority");
	bad_head("CONNECT allowed.test:443 HTTP/1.1\r\nContent-Length: 4\r\n\r\n",
	    400, "CONNECT with a body");
	bad_head("CONNECT allowed.test:443 HTTP/1.1\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", 400, "CONNECT with a body");
	free(req);
}

static void
test_asterisk(void **state)
{
	struct http_req *req = req_new();

	(void)state;
	assert_int_equal(parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", req),
	    HTTP_OK);
	assert_int_equal(req->form, HTTP_FORM_ASTERISK);
	bad_head("GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400,
	    "asterisk-form is for OPTIONS");
	bad_head("OPTIONS *x HTTP/1.1\r\nHost: a\r\n\r\n", 400,
	    "asterisk-form is for OPTIONS");
	free(req);
}

static void
test_versions(void **state)
{
	struct http_req *req = req_new();

	(void)state;
	assert_int_equal(parse("GET / HTTP/1.0\r\nHost: a\r\n\r\n", req), HTTP_OK);
	assert_int_equal(req->version_minor, 0);
	assert_false(req->keep_alive);
	assert_int_equal(parse("GET / HTTP/1.0\r\nHost: a\r\n"
	    "Connection: Keep-Alive\r\n\r\n", req), HTTP_OK);
	assert_true(req->keep_alive);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\n"
	    "Connection: close\r\n\r\n", req), HTTP_OK);
	assert_false(req->keep_alive);

	bad_head("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 400, "unsupported version");
	bad_head("GET / HTTP/1.2\r\nHost: a\r\n\r\n", 400, "unsupported version");
	bad_head("GET / http/1.1\r\nHost: a\r\n\r\n", 400, "unsupported version");
	bad_head("GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400, "unsupported version");
	bad_head("GET / HTTP/0.9\r\n\r\n", 400, "unsupported version");
	bad_head("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400,
	    "HTTP/2 prior knowledge not supported");
	free(req);
}

static void
test_request_line_shape(void **state)
{
	(void)state;
	bad_head("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400,
	    "extra spaces in request line");
	bad_head("GET /  HTTP/1.1\r\nHost: a\r\n\r\n", 400,
	    "extra spaces in request line");
	bad_head("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400,
	    "extra spaces in request line");
	bad_head(" GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400,
	    "malformed request line");
	bad_head("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400,
	    "malformed request line");
	bad_head("GET /\r\nHost: a\r\n\r\n", 400, "malformed request line");
	bad_head("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400,
	    "non-ASCII byte in request target");
	bad_head("GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", 400,
	    "invalid character in request target");
	bad_head("GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 400,
	    "invalid character in request target");
	bad_head("GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", 400,
	    "fragment in request target");
	bad_head("GET http://allowed.test#@evil.test/ HTTP/1.1\r\n"
	    "Host: allowed.test\r\n\r\n", 400, "fragment in request target");
}

static void
test_leading_empty_line(void **state)
{
	const char *one = "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
	struct http_req *req = req_new();

	(void)state;
	assert_int_equal(parse(one, req), HTTP_OK);
	assert_int_equal(req->head_len, strlen(one));
	assert_int_equal(req->method_raw.off, 2);
	bad_head("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400,
	    "empty lines before request line");
	bad_head("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bare LF line ending");
	free(req);
}

static void
test_smuggling(void **state)
{
	struct http_req *req = req_new();

	(void)state;
	bad_head("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", 400,
	    "both Content-Length and Transfer-Encoding");
	bad_head("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
	    "Content-Length: 5\r\n\r\n", 400,
	    "both Content-Length and Transfer-Encoding");
	bad_head("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
	    "Content-Length: 5\r\n\r\n", 400, "more than one Content-Length");
	bad_head("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
	    "content-length: 6\r\n\r\n", 400, "more than one Content-Length");
	bad_head("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked, identity\r\n\r\n", 501,
	    "unsupported transfer-coding");
	bad_head("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n",
	    501, "unsupported transfer-coding");
	bad_head("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n",
	    501, "unsupported transfer-coding");
	bad_head("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n"
	    "\r\n", 501, "unsupported transfer-coding");
	bad_head("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", 400,
	    "more than one Transfer-Encoding");
	bad_head("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
	    " identity\r\n\r\n", 400, "obsolete line folding");
	bad_head("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n"
	    " chunked\r\n\r\n", 501, "unsupported transfer-coding");
	bad_head("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n",
	    400, "whitespace before colon");
	bad_head("GET / HTTP/1.1\r\nHost : allowed.test\r\n\r\n", 400,
	    "whitespace before colon");
	bad_head("GET / HTTP/1.1\r\nHost\t: allowed.test\r\n\r\n", 400,
	    "whitespace before colon");
	bad_head("GET / HTTP/1.1\r\nHost: allowed.test\r\nHost: other.test\r\n\r\n",
	    400, "more than one Host header");
	bad_head("GET / HTTP/1.1\r\nHost: allowed.test\r\nhOST: allowed.test\r\n\r\n",
	    400, "more than one Host header");
	bad_head("POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
	    400, "chunked body with HTTP/1.0");

	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: Chunked \r\n\r\n", req), HTTP_OK);
	assert_int_equal(req->body, HTTP_BODY_CHUNKED);
	free(req);
}

static void
test_content_length(void **state)
{
	struct http_req *req = req_new();

	(void)state;
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 9007199254740992\r\n\r\n", req), HTTP_OK);
	assert_int_equal(req->content_length, HTTP_CONTENT_LENGTH_MAX);
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 0\r\n\r\n", req), HTTP_OK);
	assert_int_equal(req->body, HTTP_BODY_LENGTH);
	assert_int_equal(req->content_length, 0);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 007\r\n\r\n", req), HTTP_OK);
	assert_int_equal(req->content_length, 7);

	bad_head("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9007199254740993\r\n"
	    "\r\n", 400, "Content-Length too large");
	bad_head("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 99999999999999999999999999999\r\n\r\n", 400,
	    "Content-Length too large");
	bad_head("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", 400,
	    "bad Content-Length");
	bad_head("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400,
	    "bad Content-Length");
	bad_head("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 5\r\n\r\n", 400,
	    "bad Content-Length");
	bad_head("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,5\r\n\r\n", 400,
	    "bad Content-Length");
	bad_head("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n", 400,
	    "bad Content-Length");
	bad_head("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400,
	    "bad Content-Length");
	free(req);
}

static void
test_field_syntax(void **state)
{
	struct http_req *req = req_new();

	(void)state;
	bad_head("GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n\t2\r\n\r\n", 400,
	    "obsolete line folding");
	bad_head("GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400,
	    "obsolete line folding");
	bad_head("GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", 400,
	    "empty field name");
	bad_head("GET / HTTP/1.1\r\nHost: a\r\nX(A): x\r\n\r\n", 400,
	    "invalid character in field name");
	bad_head("GET / HTTP/1.1\r\nHost: a\r\nX\xc3\xa9: x\r\n\r\n", 400,
	    "invalid character in field name");
	bad_head("GET / HTTP/1.1\r\nHost: a\r\nX-A\r\n\r\n", 400,
	    "header field without colon");
	bad_head("GET / HTTP/1.1\r\nHost: a\r\nX-A: a\x01z\r\n\r\n", 400,
	    "control character in field value");
	bad_head("GET / HTTP/1.1\r\nHost: a\r\nX-A: a\x7f\r\n\r\n", 400,
	    "control character in field value");
	bad_head("GET / HTTP/1.1\r\nHost: a\r\nX-A: a\x1b[0m\r\n\r\n", 400,
	    "control character in field value");
	ok_head("GET / HTTP/1.1\r\nHost: a\r\nX-A: a\tb \xc3\xa9\r\n\r\n");
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\n\r\n",
	    req), HTTP_OK);
	assert_int_equal(req->headers[1].value.len, 0);
	free(req);
}

static void
test_line_endings(void **state)
{
	static const char nul_line[] = "GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n";
	static const char nul_value[] = "GET / HTTP/1.1\r\nHost: a\r\nX: \0\r\n\r\n";
	static const char nul_name[] = "GET / HTTP/1.1\r\nHost: a\r\nX\0: 1\r\n\r\n";
	struct http_req *req = req_new();

	(void)state;
	bad_head("GET / HTTP/1.1\nHost: a\r\n\r\n", 400, "bare LF line ending");
	bad_head("GET / HTTP/1.1\r\nHost: a\n\r\n", 400, "bare LF line ending");
	bad_head("GET / HTTP/1.1\r\nHost: a\r\n\n", 400, "bare LF line ending");
	bad_head("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r2\r\n\r\n", 400,
	    "CR not followed by LF");
	bad_head("GET / HTTP/1.1\r\r\n", 400, "CR not followed by LF");
	bad_head("GET / HTTP/1.1\r\nHost: a\r\n\r\r", 400, "CR not followed by LF");
	assert_int_equal(parse_n(nul_line, sizeof(nul_line) - 1, NULL, req),
	    HTTP_BAD);
	assert_string_equal(req->why, "NUL byte in head");
	assert_int_equal(parse_n(nul_value, sizeof(nul_value) - 1, NULL, req),
	    HTTP_BAD);
	assert_string_equal(req->why, "NUL byte in head");
	assert_int_equal(parse_n(nul_name, sizeof(nul_name) - 1, NULL, req),
	    HTTP_BAD);
	assert_string_equal(req->why, "NUL byte in head");
	/* Early verdict: the bad byte is enough, no need to wait for more. */
	assert_int_equal(http_parse_head("GET /\nxx", 8, NULL, req), HTTP_BAD);
	free(req);
}

static void
test_connection_tokens(void **state)
{
	struct http_req *req = req_new();

	(void)state;
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\n"
	    "Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n",
	    req), HTTP_OK);
	assert_int_equal(req->conn, HTTP_CONN_KEEP_ALIVE | HTTP_CONN_UPGRADE);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: ,x,,\r\n"
	    "Connection: CLOSE\r\n\r\n", req), HTTP_OK);
	assert_int_equal(req->conn, HTTP_CONN_CLOSE);
	assert_false(req->keep_alive);
	bad_head("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep alive\r\n\r\n",
	    400, "bad Connection header");
	bad_head("GET / HTTP/1.1\r\nHost: a\r\nConnection: close;\r\n\r\n",
	    400, "bad Connection header");
	free(req);
}

static void
test_credential_headers(void **state)
{
	const char *s = "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Basic eA==\r\n"
	    "proxy-authorization: Basic eQ==\r\nCookie: s=1\r\n"
	    "X-API-Key:k \r\n\r\n";
	static const char *const names[] = {
		"Host", "Authorization", "Proxy-Authorization", "Cookie",
		"X-Api-Key",
	};
	struct http_req *req = req_new();
	size_t i;

	(void)state;
	assert_int_equal(parse(s, req), HTTP_OK);
	assert_int_equal(req->nheaders, 5);
	for (i = 0; i < 5; i++) {
		assert_true(http_header_is(s, &req->headers[i], names[i]));
		assert_true(req->headers[i].name.off + req->headers[i].name.len <=
		    req->head_len);
		assert_true(req->headers[i].value.off +
		    req->headers[i].value.len <= req->head_len);
	}
	assert_false(http_header_is(s, &req->headers[1], "Authorizatio"));
	assert_false(http_header_is(s, &req->headers[3], "Cookie2"));
	span_is(s, req->headers[2].value, "Basic eQ==");
	span_is(s, req->headers[4].value, "k");
	free(req);
}

/* Builds "GET / HTTP/1.1\r\nHost: a\r\nX: vvv...\r\n\r\n" of exactly total bytes. */
static char *
head_of_size(size_t total)
{
	const char *pre = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
	size_t fixed = strlen(pre) + 4;
	char *s;

	assert_true(total > fixed);
	s = malloc(total + 1);
	assert_non_null(s);
	memcpy(s, pre, strlen(pre));
	memset(s + strlen(pre), 'v', total - fixed);
	memcpy(s + total - 4, "\r\n\r\n", 5);
	return s;
}

static void
test_limit_head_size(void **state)
{
	struct http_limits small = { .max_head = 256 };
	struct http_req *req = req_new();
	char *s;

	(void)state;
	s = head_of_size(HTTP_HEAD_MAX_DEFAULT);
	assert_int_equal(http_parse_head(s, strlen(s), NULL, req), HTTP_OK);
	assert_int_equal(req->head_len, HTTP_HEAD_MAX_DEFAULT);
	free(s);
	s = head_of_size(HTTP_HEAD_MAX_DEFAULT + 1);
	assert_int_equal(http_parse_head(s, strlen(s), NULL, req), HTTP_BAD);
	assert_int_equal(req->status, 431);
	assert_string_equal(req->why, "request head too large");
	/* Unfinished at the limit is still a prefix; one byte past is not. */
	assert_int_equal(http_parse_head(s, HTTP_HEAD_MAX_DEFAULT, NULL, req),
	    HTTP_NEED_MORE);
	assert_int_equal(http_parse_head(s, HTTP_HEAD_MAX_DEFAULT + 1, NULL,
	    req), HTTP_BAD);
	free(s);

	s = head_of_size(256);
	assert_int_equal(parse_n(s, 256, &small, req), HTTP_OK);
	free(s);
	s = head_of_size(257);
	assert_int_equal(parse_n(s, 257, &small, req), HTTP_BAD);
	assert_int_equal(req->status, 431);
	free(s);
	/* The final LF one past the limit. */
	s = head_of_size(257);
	assert_int_equal(http_parse_head(s, 256, &small, req), HTTP_NEED_MORE);
	free(s);
	free(req);
}

static void
test_limit_header_count(void **state)
{
	struct http_limits three = { .max_headers = 3 };
	struct http_req *req = req_new();
	char *s = malloc(4096), *p;
	size_t i;

	(void)state;
	assert_non_null(s);
	p = s + sprintf(s, "GET / HTTP/1.1\r\nHost: a\r\n");
	for (i = 1; i < HTTP_HEADERS_MAX; i++)
		p += sprintf(p, "X-%zu: %zu\r\n", i, i);
	strcpy(p, "\r\n");
	assert_int_equal(http_parse_head(s, strlen(s), NULL, req), HTTP_OK);
	assert_int_equal(req->nheaders, HTTP_HEADERS_MAX);
	strcpy(p, "X-last: 1\r\n\r\n");
	assert_int_equal(http_parse_head(s, strlen(s), NULL, req), HTTP_BAD);
	assert_int_equal(req->status, 431);
	assert_string_equal(req->why, "too many header fields");

	/* A larger configured count is capped at the array size. */
	three.max_headers = HTTP_HEADERS_MAX + 50;
	assert_int_equal(http_parse_head(s, strlen(s), &three, req), HTTP_BAD);
	three.max_headers = 3;
	strcpy(s, "GET / HTTP/1.1\r\nHost: a\r\nB: 1\r\nC: 1\r\n\r\n");
	assert_int_equal(parse_n(s, strlen(s), &three, req), HTTP_OK);
	strcpy(s, "GET / HTTP/1.1\r\nHost: a\r\nB: 1\r\nC: 1\r\nD: 1\r\n\r\n");
	assert_int_equal(parse_n(s, strlen(s), &three, req), HTTP_BAD);
	assert_int_equal(req->status, 431);
	free(s);
	free(req);
}

/* A request line of exactly line bytes (CRLF not counted), then a Host. */
static char *
line_of_size(size_t line)
{
	const char *tail = " HTTP/1.1\r\nHost: a\r\n\r\n";
	char *s = malloc(line + strlen(tail) + 1);

	assert_non_null(s);
	memcpy(s, "GET /", 5);
	memset(s + 5, 'p', line - 14);
	strcpy(s + line - 9, tail);
	return s;
}

static void
test_limit_request_line(void **state)
{
	struct http_limits lim = { .max_head = 64 * 1024 };
	struct http_req *req = req_new();
	size_t line = HTTP_LINE_MAX_DEFAULT;
	char *s;

	(void)state;
	s = line_of_size(line);
	assert_int_equal(http_parse_head(s, strlen(s), &lim, req), HTTP_OK);
	assert_int_equal(req->target.len, line - 13);
	free(s);

	s = line_of_size(line + 1);
	assert_int_equal(http_parse_head(s, strlen(s), &lim, req), HTTP_BAD);
	assert_int_equal(req->status, 431);
	assert_string_equal(req->why, "request line too long");
	/* Refused before its end arrives. */
	assert_int_equal(http_parse_head(s, line, &lim, req), HTTP_NEED_MORE);
	assert_int_equal(http_parse_head(s, line + 1, &lim, req), HTTP_BAD);
	free(s);

	lim.max_line = 18;
	s = line_of_size(18);
	assert_int_equal(parse_n(s, strlen(s), &lim, req), HTTP_OK);
	free(s);
	s = line_of_size(19);
	assert_int_equal(parse_n(s, strlen(s), &lim, req), HTTP_BAD);
	assert_int_equal(req->status, 431);
	free(s);
	free(req);
}

static void
test_pipelining(void **state)
{
	const char *s = "POST /a HTTP/1.1\r\nHost: allowed.test\r\n"
	    "Content-Length: 5\r\n\r\nhello"
	    "GET /b HTTP/1.1\r\nHost: other.test\r\n\r\n";
	const char *c = "POST /a HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"
	    "5\r\nhello\r\n0\r\n\r\n"
	    "GET /c HTTP/1.1\r\nHost: a\r\n\r\n";
	struct http_req *req = req_new();
	struct http_chunked ch;
	size_t off, used;

	(void)state;
	assert_int_equal(http_parse_head(s, strlen(s), NULL, req), HTTP_OK);
	assert_int_equal(req->body, HTTP_BODY_LENGTH);
	off = req->head_len + req->content_length;
	assert_int_equal(http_parse_head(s + off, strlen(s) - off, NULL, req),
	    HTTP_OK);
	span_is(s + off, req->path, "/b");
	span_is(s + off, req->host.host, "other.test");
	assert_int_equal(off + req->head_len, strlen(s));

	assert_int_equal(http_parse_head(c, strlen(c), NULL, req), HTTP_OK);
	assert_int_equal(req->body, HTTP_BODY_CHUNKED);
	off = req->head_len;
	http_chunked_init(&ch, 0);
	assert_int_equal(http_chunked_feed(&ch, c + off, strlen(c) - off, &used),
	    HTTP_DONE);
	off += used;
	assert_int_equal(http_parse_head(c + off, strlen(c) - off, NULL, req),
	    HTTP_OK);
	span_is(c + off, req->path, "/c");
	free(req);
}

/* One shot, then split in two at every position, then byte by byte: the
 * verdict, why and bytes consumed must not depend on how bytes arrive. */
static void
chunked_check(const char *s, size_t len, uint64_t max_body,
    enum http_result want, size_t want_used, const char *want_why)
{
	struct http_chunked st;
	enum http_result r;
	size_t used, i, j, total;
	char *copy = malloc(len ? len : 1);

	assert_non_null(copy);
	memcpy(copy, s, len);
	http_chunked_init(&st, max_body);
	r = http_chunked_feed(&st, copy, len, &used);
	assert_int_equal(r, want);
	if (want == HTTP_BAD)
		assert_string_equal(st.why, want_why);
	else
		assert_int_equal(used, want_used);
	assert_true(used <= len);

	for (i = 0; i <= len; i++) {
		http_chunked_init(&st, max_body);
		r = http_chunked_feed(&st, copy, i, &used);
		total = used;
		if (r == HTTP_NEED_MORE) {
			assert_int_equal(used, i);
			r = http_chunked_feed(&st, copy + i, len - i, &used);
			total += used;
		}
		assert_int_equal(r, want);
		if (want != HTTP_BAD)
			assert_int_equal(total, want_used);
		else
			assert_string_equal(st.why, want_why);
	}

	http_chunked_init(&st, max_body);
	r = HTTP_NEED_MORE;
	total = 0;
	for (j = 0; j < len && r == HTTP_NEED_MORE; j++) {
		r = http_chunked_feed(&st, copy + j, 1, &used);
		total += used;
	}
	assert_int_equal(r, want);
	if (want != HTTP_BAD)
		assert_int_equal(total, want_used);
	free(copy);
}

static void
chunked_done(const char *s, size_t body_len)
{
	chunked_check(s, strlen(s), 0, HTTP_DONE, body_len, NULL);
}

static void
chunked_bad(const char *s, const char *why)
{
	chunked_check(s, strlen(s), 0, HTTP_BAD, 0, why);
}

static void
test_chunked_good(void **state)
{
	const char *next = "5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n";

	(void)state;
	chunked_done("0\r\n\r\n", 5);
	chunked_done("5\r\nhello\r\n0\r\n\r\n", 15);
	chunked_done("5\r\nhello\r\nA\r\n0123456789\r\n0\r\n\r\n", 30);
	chunked_done("a\r\n0123456789\r\n000\r\n\r\n", 22);
	chunked_done("0000000000000005\r\nhello\r\n0\r\n\r\n", 30);
	chunked_done("3\r\n\r\n\r\r\n0\r\n\r\n", 13);
	chunked_done(next, 15);
	chunked_check("5\r\nhello\r\n", 10, 0, HTTP_NEED_MORE, 10, NULL);
	chunked_check("40000000\r\n", 10, 0, HTTP_NEED_MORE, 10, NULL);
}

static void
test_chunked_bad(void **state)
{
	const char *big = "5\r\nhello\r\n6\r\nworld!\r\n0\r\n\r\n";
	const char *fits = "5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n";

	(void)state;
	chunked_bad("x\r\n", "bad chunk size");
	chunked_bad("\r\n", "bad chunk size");
	chunked_bad("0x5\r\nhello\r\n0\r\n\r\n", "bad chunk size");
	chunked_bad(" 5\r\nhello\r\n0\r\n\r\n", "bad chunk size");
	chunked_bad("+5\r\nhello\r\n", "bad chunk size");
	chunked_bad("-5\r\n", "bad chunk size");
	chunked_bad("5 \r\nhello\r\n", "bad chunk size");
	chunked_bad("5\nhello\r\n", "bad chunk size");
	chunked_bad("5\r\rhello\r\n", "bad chunk size");
	chunked_bad("00000000000000005\r\n", "bad chunk size");
	chunked_bad("40000001\r\n", "chunk size too large");
	chunked_bad("ffffffffffffffff\r\n", "chunk size too large");
	chunked_bad("5\r\nhelloX\r\n", "missing CRLF after chunk data");
	chunked_bad("5\r\nhello\n0\r\n\r\n", "missing CRLF after chunk data");
	chunked_bad("5\r\nhello\r0\r\n\r\n", "missing CRLF after chunk data");
	chunked_bad("5\r\nhello world\r\n0\r\n\r\n", "missing CRLF after chunk data");
	chunked_bad("0\r\n\n", "bad trailer field");
	chunked_bad("0\r\n\r\r", "bad trailer field");
	chunked_check(big, strlen(big), 10, HTTP_BAD, 0, "chunked body too large");
	chunked_check(fits, strlen(fits), 10, HTTP_DONE, strlen(fits), NULL);
}

static void
test_chunked_extensions(void **state)
{
	char *s;
	size_t n;

	(void)state;
	chunked_done("5;a=b\r\nhello\r\n0\r\n\r\n", 19);
	chunked_done("5;a\r\nhello\r\n0;last\r\n\r\n", 22);
	chunked_done("5;a;b=c\r\nhello\r\n0\r\n\r\n", 21);
	chunked_done("5;a=\"q \\\" x;\"\r\nhello\r\n0\r\n\r\n", 27);
	chunked_bad("5;\r\nhello\r\n", "bad chunk extension");
	chunked_bad("5;=b\r\nhello\r\n", "bad chunk extension");
	chunked_bad("5;a=\r\nhello\r\n", "bad chunk extension");
	chunked_bad("5;a =b\r\nhello\r\n", "bad chunk extension");
	chunked_bad("5 ;a\r\nhello\r\n", "bad chunk size");
	chunked_bad("5;a=\"x\"y\r\nhello\r\n", "bad chunk extension");
	chunked_bad("5;a=\"x\r\nhello\r\n", "bad chunk extension");
	chunked_bad("5;a=b\nhello\r\n", "bad chunk extension");
	chunked_bad("5;a=\"\\\x01\"\r\nhello\r\n", "bad chunk extension");

	/* ";" + name: exactly HTTP_CHUNK_EXT_MAX bytes, then one more. */
	n = HTTP_CHUNK_EXT_MAX;
	s = malloc(n + 32);
	assert_non_null(s);
	s[0] = '0';
	s[1] = ';';
	memset(s + 2, 'e', n - 1);
	strcpy(s + 1 + n, "\r\n\r\n");
	chunked_check(s, strlen(s), 0, HTTP_DONE, strlen(s), NULL);
	s[1] = ';';
	memset(s + 2, 'e', n);
	strcpy(s + 2 + n, "\r\n\r\n");
	chunked_check(s, strlen(s), 0, HTTP_BAD, 0, "chunk extensions too long");
	free(s);
}

static void
test_chunked_trailers(void **state)
{
	char *s;
	size_t n;

	(void)state;
	chunked_done("0\r\nX-Sum: 1\r\n\r\n", 15);
	chunked_done("5\r\nhello\r\n0\r\nX-A: 1\r\nX-B:\t2 \r\n\r\nnext", 32);
	chunked_bad("0\r\nX-A: 1\r\n  2\r\n\r\n", "obs-fold in trailers");
	chunked_bad("0\r\n\tX-A: 1\r\n\r\n", "obs-fold in trailers");
	chunked_bad("0\r\nHost: evil.test\r\n\r\n", "forbidden trailer field");
	chunked_bad("0\r\nContent-Length: 5\r\n\r\n", "forbidden trailer field");
	chunked_bad("0\r\ntransfer-encoding: chunked\r\n\r\n",
	    "forbidden trailer field");
	chunked_done("0\r\nHostx: a\r\nTransfer-Encodings: a\r\n\r\n", 38);
	chunked_bad("0\r\nX-A : 1\r\n\r\n", "bad trailer field");
	chunked_bad("0\r\n: 1\r\n\r\n", "bad trailer field");
	chunked_bad("0\r\nX-A\r\n\r\n", "bad trailer field");
	chunked_bad("0\r\nX-A: 1\n\r\n", "bad trailer field");
	chunked_bad("0\r\nX-A: 1\x01\r\n\r\n", "bad trailer field");

	/* The trailer section, final CRLF included, is capped. */
	n = HTTP_TRAILERS_MAX;
	s = malloc(n + 16);
	assert_non_null(s);
	memcpy(s, "0\r\nX: ", 6);
	memset(s + 6, 'v', n - 3 - 4);
	strcpy(s + 3 + n - 4, "\r\n\r\n");
	chunked_check(s, strlen(s), 0, HTTP_DONE, strlen(s), NULL);
	memset(s + 6, 'v', n - 3 - 3);
	strcpy(s + 3 + n - 3, "\r\n\r\n");
	chunked_check(s, strlen(s), 0, HTTP_BAD, 0, "trailers too long");
	free(s);
}

static void
test_chunked_sticky(void **state)
{
	struct http_chunked st;
	size_t used = 99;

	(void)state;
	http_chunked_init(&st, 0);
	assert_int_equal(http_chunked_feed(&st, "0\r\n\r\nGET", 8, &used),
	    HTTP_DONE);
	assert_int_equal(used, 5);
	assert_int_equal(http_chunked_feed(&st, "GET", 3, &used), HTTP_DONE);
	assert_int_equal(used, 0);

	http_chunked_init(&st, 0);
	assert_int_equal(http_chunked_feed(&st, "5\r\nhelloXX", 10, &used),
	    HTTP_BAD);
	assert_int_equal(used, 8);
	assert_int_equal(http_chunked_feed(&st, "\r\n", 2, &used), HTTP_BAD);
	assert_int_equal(used, 0);
	assert_string_equal(st.why, "missing CRLF after chunk data");

	http_chunked_init(&st, 0);
	assert_int_equal(http_chunked_feed(&st, "", 0, &used), HTTP_NEED_MORE);
	assert_int_equal(used, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_origin_form),
		cmocka_unit_test(test_methods),
		cmocka_unit_test(test_need_more_every_prefix),
		cmocka_unit_test(test_absolute_form),
		cmocka_unit_test(test_absolute_form_bad),
		cmocka_unit_test(test_host_vs_target),
		cmocka_unit_test(test_host_header),
		cmocka_unit_test(test_connect),
		cmocka_unit_test(test_asterisk),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_request_line_shape),
		cmocka_unit_test(test_leading_empty_line),
		cmocka_unit_test(test_smuggling),
		cmocka_unit_test(test_content_length),
		cmocka_unit_test(test_field_syntax),
		cmocka_unit_test(test_line_endings),
		cmocka_unit_test(test_connection_tokens),
		cmocka_unit_test(test_credential_headers),
		cmocka_unit_test(test_limit_head_size),
		cmocka_unit_test(test_limit_header_count),
		cmocka_unit_test(test_limit_request_line),
		cmocka_unit_test(test_pipelining),
		cmocka_unit_test(test_chunked_good),
		cmocka_unit_test(test_chunked_bad),
		cmocka_unit_test(test_chunked_extensions),
		cmocka_unit_test(test_chunked_trailers),
		cmocka_unit_test(test_chunked_sticky),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
