/*
 * inject_request() (judge and rewrite a request head for a bound host)
 * and inject_parse_response(). The first input byte picks the binding's
 * kind and whether it injects; the rest is the head.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxyd/inject.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_SECRET	"fz-SECRET-0123456789"

static size_t
count(const char *buf, size_t len, const char *needle)
{
	size_t n = 0, nl = strlen(needle), i;

	for (i = 0; i + nl <= len; i++)
		if (memcmp(buf + i, needle, nl) == 0)
			n++;
	return n;
}

static int
dropped(const char *buf, const struct http_header *h,
    const struct ctl_binding *b, int inject)
{
	return inject_strips(buf, h, b) || (inject && b != NULL &&
	    http_header_is(buf, h, "accept-encoding"));
}

/* The input as a response stream, whole and cut in two: the same bytes
 * come out, as many as went in, and no pattern among them. */
static void
check_redact(const char *buf, size_t len, const struct ctl_binding *b,
    size_t cut)
{
	struct inject_redactor r;
	char *one, *two;
	size_t n1, n2, i;

	if (inject_redactor_init(&r, b) == -1)
		abort();
	if ((one = malloc(len + r.maxlen + 1)) == NULL ||
	    (two = malloc(len + r.maxlen + 1)) == NULL)
		abort();
	n1 = inject_redact_feed(&r, buf, len, one);
	n1 += inject_redact_flush(&r, one + n1);
	if (cut > len)
		cut = len;
	n2 = inject_redact_feed(&r, buf, cut, two);
	n2 += inject_redact_feed(&r, buf + cut, len - cut, two + n2);
	n2 += inject_redact_flush(&r, two + n2);
	if (n1 != len || n2 != len || memcmp(one, two, len) != 0)
		abort();
	for (i = 0; i < r.npat; i++)
		if (len >= r.plen[i] && memmem(one, len, r.pat[i], r.plen[i]))
			abort();
	inject_redactor_fini(&r);
	free(one);
	free(two);
}

/* What a forwarded head promises: it parses again to the same request,
 * minus the client's credentials, plus (at most) ours, once. */
static void
check_forward(const char *in, size_t len, const struct inject_request *out,
    const struct http_req *orig, const struct ctl_binding *b, int inject)
{
	struct http_req *again = malloc(sizeof(*again));
	struct http_limits lim;
	size_t i, creds = 0, kept = 0, secrets;

	if (again == NULL)
		abort();
	if (out->head == NULL || out->consumed != orig->head_len ||
	    out->consumed > len || out->head_len > orig->head_len +
	    INJECT_FIELD_MAX || out->head_len < 4 ||
	    memcmp(out->head + out->head_len - 4, "\r\n\r\n", 4) != 0)
		abort();
	if (out->injected != (inject && b != NULL))
		abort();
	memset(&lim, 0, sizeof(lim));
	lim.max_head = orig->head_len + INJECT_FIELD_MAX;
	lim.default_port = 443;
	if (http_parse_head(out->head, out->head_len, &lim, again) != HTTP_OK ||
	    again->head_len != out->head_len || again->method != orig->method ||
	    again->body != orig->body ||
	    again->content_length != orig->content_length ||
	    again->host.port != orig->host.port ||
	    again->host.host.len != orig->host.host.len ||
	    memcmp(out->head + again->host.host.off, in + orig->host.host.off,
	    orig->host.host.len) != 0)
		abort();
	for (i = 0; i < again->nheaders; i++)
		if (inject_strips(out->head, &again->headers[i], b))
			creds++;
	for (i = 0; i < orig->nheaders; i++)
		if (!dropped(in, &orig->headers[i], b, inject))
			kept++;
	/* Ours: the credential and Accept-Encoding: identity. */
	if (creds != (size_t)out->injected ||
	    kept + 2 * (size_t)out->injected != again->nheaders ||
	    kept + out->stripped != orig->nheaders)
		abort();
	/* The secret appears where the client wrote it in kept lines (the
	 * request line included), plus once in ours unless base64 hides it.
	 * Lines end in CRLF and the secret has neither, so none spans two. */
	secrets = count(in + orig->method_raw.off, (orig->nheaders ?
	    orig->headers[0].name.off : orig->head_len - 2) -
	    orig->method_raw.off, FUZZ_SECRET);
	for (i = 0; i < orig->nheaders; i++) {
		size_t to = i + 1 < orig->nheaders ?
		    orig->headers[i + 1].name.off : orig->head_len - 2;

		if (!dropped(in, &orig->headers[i], b, inject))
			secrets += count(in + orig->headers[i].name.off,
			    to - orig->headers[i].name.off, FUZZ_SECRET);
	}
	if (out->injected && b->inject != CTL_INJECT_BASIC)
		secrets++;
	if (count(out->head, out->head_len, FUZZ_SECRET) != secrets)
		abort();
	free(again);
}

static void
one(const char *buf, size_t len, const struct ctl_binding *b, int inject,
    size_t max_head, struct http_req *req)
{
	struct http_limits lim;
	struct inject_request out;
	struct inject_opts o;
	enum inject_verdict v, pv;
	size_t i;

	memset(&lim, 0, sizeof(lim));
	lim.max_head = max_head;
	memset(&o, 0, sizeof(o));
	o.limits = &lim;
	o.host = "api.test";
	o.port = 443;
	o.binding = b;
	o.inject = inject;
	memset(&out, 0, sizeof(out));
	v = inject_request(buf, len, &o, req, &out);
	switch (v) {
	case INJECT_FORWARD:
		check_forward(buf, len, &out, req, b, inject);
		break;
	case INJECT_REFUSE:
		if (out.head != NULL || out.why == NULL ||
		    (out.status != 400 && out.status != 405 && out.status != 421 &&
		    out.status != 431 && out.status != 501))
			abort();
		break;
	case INJECT_ERROR:
		abort();	/* the bindings here are all usable */
	case INJECT_NEED_MORE:
		if (out.head != NULL)
			abort();
		break;
	}
	/* A shorter prefix never says FORWARD, and never another refusal. */
	if (v == INJECT_FORWARD || v == INJECT_REFUSE) {
		size_t cut = v == INJECT_FORWARD ? out.consumed : len;

		for (i = 0; i < cut && i < 512; i += 1 + i / 16) {
			struct inject_request pre;

			memset(&pre, 0, sizeof(pre));
			pv = inject_request(buf, i, &o, req, &pre);
			if (pv == INJECT_FORWARD || pv == INJECT_ERROR ||
			    (pv == INJECT_REFUSE && v == INJECT_FORWARD))
				abort();
			inject_request_clear(&pre);
		}
	}
	inject_request_clear(&out);
	if (out.head != NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char secret[] = FUZZ_SECRET;
	struct ctl_binding b;
	struct inject_response resp;
	struct http_req *req;
	const char *buf = (const char *)data + 1;
	size_t len;
	uint8_t mode;

	if (size < 1)
		return 0;
	mode = data[0];
	len = size - 1;
	if ((req = malloc(sizeof(*req))) == NULL)
		abort();
	memset(&b, 0, sizeof(b));
	memcpy(b.name, "fuzz", 5);
	b.secret = secret;
	b.inject = (enum ctl_inject)(mode % 3);
	memcpy(b.user, "x-access-token", 15);
	memcpy(b.header, "X-Service-Key", 14);
	one(buf, len, (mode & 0x80) ? NULL : &b, (mode >> 2) & 1, 0, req);
	one(buf, len, &b, 1, 128, req);
	check_redact(buf, len, &b, len > 0 ? (size_t)data[1 % size] % (len + 1) : 0);

	if (inject_parse_response(buf, len, 4096, mode & 1, &resp) == HTTP_OK &&
	    (resp.head_len == 0 || resp.head_len > len || resp.status < 100 ||
	    resp.status > 999 || buf[resp.head_len - 1] != '\n'))
		abort();
	free(req);
	return 0;
}
