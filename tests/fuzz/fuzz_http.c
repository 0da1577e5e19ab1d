#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxyd/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Prefixes up to here are all checked; past it, a sample (keeps exec/s up). */
#define FUZZ_PREFIX_ALL	1024
#define FUZZ_PREFIX_STEP 97

static void
check_span(struct http_span sp, size_t head_len)
{
	if (sp.off > head_len || sp.len > head_len - sp.off)
		abort();
}

static void
check_hostport(const struct http_hostport *hp, size_t head_len)
{
	if (!hp->present)
		return;
	check_span(hp->host, head_len);
	if (hp->host.len == 0 || hp->port == 0)
		abort();
}

/* What an OK or BAD verdict promises about req. */
static void
check_req(const char *buf, size_t len, enum http_result r,
    const struct http_req *req, size_t max_headers)
{
	size_t i;

	if (r == HTTP_BAD) {
		if (req->why == NULL ||
		    (req->status != 400 && req->status != 431 &&
		    req->status != 501))
			abort();
		return;
	}
	if (r != HTTP_OK)
		return;
	if (req->head_len < 4 || req->head_len > len ||
	    memcmp(buf + req->head_len - 4, "\r\n\r\n", 4) != 0)
		abort();
	if (memchr(buf, '\0', req->head_len) != NULL)
		abort();
	check_span(req->method_raw, req->head_len);
	check_span(req->target, req->head_len);
	check_span(req->path, req->head_len);
	check_hostport(&req->target_auth, req->head_len);
	check_hostport(&req->host_hdr, req->head_len);
	check_hostport(&req->host, req->head_len);
	if (req->nheaders > max_headers)
		abort();
	for (i = 0; i < req->nheaders; i++) {
		check_span(req->headers[i].name, req->head_len);
		check_span(req->headers[i].value, req->head_len);
		if (req->headers[i].name.len == 0)
			abort();
	}
	if (req->version_minor == 1 && !req->host.present)
		abort();
	if (req->body == HTTP_BODY_CHUNKED && req->version_minor != 1)
		abort();
	if (req->content_length > HTTP_CONTENT_LENGTH_MAX)
		abort();
}

/* A verdict never changes as bytes are added: a prefix is NEED_MORE or
 * already the final verdict, and once the head is complete, it is OK. */
static void
check_prefix(const char *buf, size_t i, const struct http_limits *lim,
    enum http_result full, const struct http_req *freq, struct http_req *req)
{
	enum http_result r = http_parse_head(buf, i, lim, req);

	if (full == HTTP_OK && i >= freq->head_len) {
		if (r != HTTP_OK || req->head_len != freq->head_len)
			abort();
		return;
	}
	if (r == HTTP_NEED_MORE)
		return;
	if (r != full)
		abort();
	if (r == HTTP_BAD &&
	    (req->status != freq->status || strcmp(req->why, freq->why) != 0))
		abort();
}

/* One shot and split at a data-chosen point must agree. */
static void
check_chunked(const char *buf, size_t len, uint64_t max_body, size_t split)
{
	struct http_chunked one, two;
	enum http_result r1, r2;
	size_t used1, used2, used3 = 0;

	http_chunked_init(&one, max_body);
	r1 = http_chunked_feed(&one, buf, len, &used1);
	if (used1 > len)
		abort();
	if (r1 == HTTP_NEED_MORE && used1 != len)
		abort();
	if (r1 == HTTP_BAD && one.why == NULL)
		abort();

	if (split > len)
		split = len;
	http_chunked_init(&two, max_body);
	r2 = http_chunked_feed(&two, buf, split, &used2);
	if (used2 > split)
		abort();
	if (r2 == HTTP_NEED_MORE) {
		r2 = http_chunked_feed(&two, buf + split, len - split, &used3);
		if (used3 > len - split)
			abort();
	}
	if (r1 != r2)
		abort();
	if (r1 != HTTP_BAD && used1 != used2 + used3)
		abort();
	if (r1 == HTTP_BAD && strcmp(one.why, two.why) != 0)
		abort();
}

static void
check_limits(const char *buf, size_t size, const struct http_limits *lim,
    size_t max_headers, size_t all, struct http_req *req,
    struct http_req *pre)
{
	enum http_result r;
	size_t i;

	r = http_parse_head(buf, size, lim, req);
	check_req(buf, size, r, req, max_headers);
	for (i = 0; i < size; i++) {
		if (i > all && i % FUZZ_PREFIX_STEP != 0 &&
		    !(r == HTTP_OK && i + 1 >= req->head_len &&
		    i <= req->head_len + 1))
			continue;
		check_prefix(buf, i, lim, r, req, pre);
	}
	if (r == HTTP_OK && req->body == HTTP_BODY_CHUNKED)
		check_chunked(buf + req->head_len, size - req->head_len, 0,
		    req->head_len % 7 + (size - req->head_len) / 2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct http_limits small = {
		.max_head = 256, .max_headers = 4, .max_line = 64,
		.default_port = 8080,
	};
	const char *buf = (const char *)data;
	struct http_req *req = malloc(sizeof(*req));
	struct http_req *pre = malloc(sizeof(*pre));

	if (req == NULL || pre == NULL)
		abort();
	check_limits(buf, size, NULL, HTTP_HEADERS_MAX, FUZZ_PREFIX_ALL, req,
	    pre);
	check_limits(buf, size, &small, 4, small.max_head + 2, req, pre);
	/* The whole input as a chunked body, for the decoder's own sake. */
	check_chunked(buf, size, size > 0 ? data[0] * 64u : 0,
	    size > 1 ? data[1] % (size + 1) : 0);
	free(pre);
	free(req);
	return 0;
}
