#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "proxyd/inject.h"
#include "proxyd/intercept.h"
#include "proxyd/mint.h"

#define SECRET	"sk-live-7Hq2Zx9fJk3"
#define ID	"Accept-Encoding: identity\r\n"
#define STARS	"****************************************************************"

static struct http_req req;

static struct ctl_binding
binding(enum ctl_inject how, const char *extra)
{
	struct ctl_binding b;

	memset(&b, 0, sizeof(b));
	snprintf(b.name, sizeof(b.name), "api");
	b.inject = how;
	if (how == CTL_INJECT_HEADER)
		snprintf(b.header, sizeof(b.header), "%s", extra);
	if (how == CTL_INJECT_BASIC)
		snprintf(b.user, sizeof(b.user), "%s", extra);
	b.secret = strdup(SECRET);
	assert_non_null(b.secret);
	return b;
}

static void
binding_free(struct ctl_binding *b)
{
	free(b->secret);
}

static enum inject_verdict
run(const char *head, const struct ctl_binding *b, int inject,
    struct inject_request *out)
{
	struct inject_opts o;

	memset(&o, 0, sizeof(o));
	memset(out, 0, sizeof(*out));
	o.host = "api.test";
	o.port = 443;
	o.binding = b;
	o.inject = inject;
	return inject_request(head, strlen(head), &o, &req, out);
}

/* The rewritten head as a string, for comparing. */
static char *
text(const struct inject_request *out)
{
	char *s = malloc(out->head_len + 1);

	assert_non_null(s);
	memcpy(s, out->head, out->head_len);
	s[out->head_len] = '\0';
	return s;
}

static unsigned int
count(const char *hay, const char *needle)
{
	unsigned int n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay++;
	}
	return n;
}

static void
expect_head(const char *in, const struct ctl_binding *b, int inject,
    const char *want, unsigned int stripped)
{
	struct inject_request out;
	char *got;

	assert_int_equal(run(in, b, inject, &out), INJECT_FORWARD);
	got = text(&out);
	assert_string_equal(got, want);
	assert_int_equal(out.stripped, stripped);
	assert_int_equal(out.injected, inject && b != NULL);
	free(got);
	inject_request_clear(&out);
	assert_null(out.head);
}

static void
test_bearer_strips_every_credential(void **state)
{
	struct ctl_binding b = binding(CTL_INJECT_BEARER, NULL);

	(void)state;
	/* Duplicates and any case: all of them go, the rest keeps order. */
	expect_head("POST /v1/x HTTP/1.1\r\n"
	    "Host: api.test\r\n"
	    "authorization: Bearer mine\r\n"
	    "Accept: */*\r\n"
	    "AUTHORIZATION: Basic Zm9vOmJhcg==\r\n"
	    "Cookie: a=1\r\n"
	    "cookie: b=2\r\n"
	    "X-API-KEY: k\r\n"
	    "Proxy-Authorization: Basic eDp5\r\n"
	    "Content-Length: 3\r\n"
	    "\r\n", &b, 1,
	    "POST /v1/x HTTP/1.1\r\n"
	    "Host: api.test\r\n"
	    "Accept: */*\r\n"
	    "Content-Length: 3\r\n"
	    "Authorization: Bearer " SECRET "\r\n" ID
	    "\r\n", 6);
	/* Look-alikes are not credentials. */
	expect_head("GET / HTTP/1.1\r\nHost: api.test\r\n"
	    "X-Authorization: a\r\nAuthorization-Hint: b\r\nSet-Cookie: c\r\n\r\n",
	    &b, 1,
	    "GET / HTTP/1.1\r\nHost: api.test\r\n"
	    "X-Authorization: a\r\nAuthorization-Hint: b\r\nSet-Cookie: c\r\n"
	    "Authorization: Bearer " SECRET "\r\n" ID "\r\n", 0);
	binding_free(&b);
}

static void
test_basic_and_header(void **state)
{
	struct ctl_binding b = binding(CTL_INJECT_BASIC, "x-access-token");
	struct ctl_binding h = binding(CTL_INJECT_HEADER, "X-Service-Token");

	(void)state;
	/* base64("x-access-token:sk-live-7Hq2Zx9fJk3") */
	expect_head("GET /repo.git/info/refs?service=git-upload-pack HTTP/1.1\r\n"
	    "Host: api.test\r\nAuthorization: Basic Zm9vOmJhcg==\r\n\r\n", &b, 1,
	    "GET /repo.git/info/refs?service=git-upload-pack HTTP/1.1\r\n"
	    "Host: api.test\r\n"
	    "Authorization: Basic eC1hY2Nlc3MtdG9rZW46c2stbGl2ZS03SHEyWng5Zkpr"
	    "Mw==\r\n" ID "\r\n", 1);
	/* The binding's own header is stripped in any case, all copies. */
	expect_head("GET / HTTP/1.1\r\nx-service-token: mine\r\nHost: api.test\r\n"
	    "X-SERVICE-TOKEN: again\r\n\r\n", &h, 1,
	    "GET / HTTP/1.1\r\nHost: api.test\r\n"
	    "X-Service-Token: " SECRET "\r\n" ID "\r\n", 2);
	binding_free(&b);
	binding_free(&h);
}

static void
test_strip_without_inject(void **state)
{
	struct ctl_binding b = binding(CTL_INJECT_HEADER, "X-Service-Token");

	(void)state;
	/* Plain HTTP without allow_http: the client's credentials still go,
	 * and nothing is added. */
	expect_head("GET / HTTP/1.1\r\nHost: api.test\r\nCookie: s=1\r\n"
	    "X-Service-Token: mine\r\nUser-Agent: t\r\n\r\n", &b, 0,
	    "GET / HTTP/1.1\r\nHost: api.test\r\nUser-Agent: t\r\n\r\n", 2);
	expect_head("GET / HTTP/1.1\r\nHost: api.test\r\nCookie: s=1\r\n\r\n",
	    NULL, 1, "GET / HTTP/1.1\r\nHost: api.test\r\n\r\n", 1);
	binding_free(&b);
}

static void
test_identity_coding(void **state)
{
	struct ctl_binding b = binding(CTL_INJECT_BEARER, NULL);

	(void)state;
	/* With the credential: identity only, so echoes stay readable to the
	 * response redaction. Without it, the client's choice stands. */
	expect_head("GET / HTTP/1.1\r\nHost: api.test\r\nAccept-Encoding: gzip\r\n"
	    "accept-encoding: br\r\n\r\n", &b, 1,
	    "GET / HTTP/1.1\r\nHost: api.test\r\n"
	    "Authorization: Bearer " SECRET "\r\n" ID "\r\n", 2);
	expect_head("GET / HTTP/1.1\r\nHost: api.test\r\nAccept-Encoding: gzip\r\n"
	    "\r\n", &b, 0,
	    "GET / HTTP/1.1\r\nHost: api.test\r\nAccept-Encoding: gzip\r\n\r\n", 0);
	binding_free(&b);
}

/* Feeds text through r in pieces cut at cut (and then the rest), flushes,
 * and returns what a client would have seen. */
static char *
redact(struct inject_redactor *r, const char *text, size_t cut)
{
	size_t len = strlen(text), n = 0;
	char *out = malloc(len + 1), *tmp = malloc(len + r->maxlen + 1);

	assert_non_null(out);
	assert_non_null(tmp);
	if (cut > len)
		cut = len;
	n += inject_redact_feed(r, text, cut, tmp);
	memcpy(out, tmp, n);
	{
		size_t m = inject_redact_feed(r, text + cut, len - cut, tmp);

		memcpy(out + n, tmp, m);
		n += m;
	}
	n += inject_redact_flush(r, out + n);
	assert_int_equal(n, len);	/* never longer, never shorter */
	out[n] = '\0';
	free(tmp);
	return out;
}

static void
test_response_redaction(void **state)
{
	static const char echo[] =
	    "{\"headers\":{\"Authorization\":\"Bearer " SECRET "\"},"
	    "\"again\":\"" SECRET "\",\"tail\":\"ok\"}\n";
	struct ctl_binding b = binding(CTL_INJECT_BEARER, NULL);
	struct ctl_binding basic = binding(CTL_INJECT_BASIC, "x-access-token");
	struct inject_redactor r;
	char *got;
	size_t cut;

	(void)state;
	assert_int_equal(inject_redactor_init(&r, &b), 0);
	/* Whatever the read boundaries, no byte of it gets through. */
	for (cut = 0; cut <= sizeof(echo) - 1; cut++) {
		got = redact(&r, echo, cut);
		assert_null(strstr(got, SECRET));
		assert_null(strstr(got, "Bearer"));
		assert_null(strstr(got, "sk-live"));
		assert_non_null(strstr(got, "\"tail\":\"ok\"}"));
		assert_memory_equal(got, "{\"headers\":{\"Authorization\":\"*****", 32);
		free(got);
	}
	assert_int_equal(r.masked, 2 * (sizeof(echo)));
	/* Text that only looks like the start of it is released, not lost:
	 * short tails as they are, long ones masked at the boundary. */
	got = redact(&r, "nothing to see, Bearer", 100);
	assert_string_equal(got, "nothing to see, Bearer");
	free(got);
	got = redact(&r, "cut off: Bearer sk-li", 100);
	assert_string_equal(got, "cut off: ************");
	free(got);
	got = redact(&r, "Bearer sk-liv", 6);
	assert_string_equal(got, "*************");
	free(got);
	inject_redactor_fini(&r);
	assert_null(r.hold);

	/* Basic: the base64 blob, and the raw token too. */
	assert_int_equal(inject_redactor_init(&r, &basic), 0);
	got = redact(&r, "Authorization: Basic eC1hY2Nlc3MtdG9rZW46c2stbGl2ZS03SHEy"
	    "Wng5ZkprMw==\r\nraw=" SECRET ";", 40);
	{
		char want[128];

		/* "Basic " and 48 of base64; the 19 bytes of the token. */
		snprintf(want, sizeof(want), "Authorization: %.54s\r\nraw=%.19s;",
		    STARS, STARS);
		assert_string_equal(got, want);
	}
	free(got);
	inject_redactor_fini(&r);

	/* No binding: everything passes. */
	assert_int_equal(inject_redactor_init(&r, NULL), 0);
	got = redact(&r, "Bearer " SECRET, 3);
	assert_string_equal(got, "Bearer " SECRET);
	free(got);
	inject_redactor_fini(&r);

	/* A binding that would be refused is refused here too. */
	free(b.secret);
	b.secret = strdup("a\r\nb");
	assert_int_equal(inject_redactor_init(&r, &b), -1);
	binding_free(&b);
	binding_free(&basic);
}

static void
expect_refusal(const char *in, int status, enum decide_reason reason)
{
	struct ctl_binding b = binding(CTL_INJECT_BEARER, NULL);
	struct inject_request out;

	assert_int_equal(run(in, &b, 1, &out), INJECT_REFUSE);
	assert_int_equal(out.status, status);
	assert_int_equal(out.reason, reason);
	assert_non_null(out.why);
	assert_null(out.head);
	inject_request_clear(&out);
	binding_free(&b);
}

static void
test_refusals(void **state)
{
	(void)state;
	expect_refusal("TRACE / HTTP/1.1\r\nHost: api.test\r\n\r\n", 405,
	    DECIDE_METHOD_NOT_ALLOWED);
	expect_refusal("CONNECT api.test:443 HTTP/1.1\r\nHost: api.test:443\r\n\r\n",
	    405, DECIDE_METHOD_NOT_ALLOWED);
	/* Host must be the SNI: no fronting to another name. */
	expect_refusal("GET / HTTP/1.1\r\nHost: other.test\r\n\r\n", 421,
	    DECIDE_SNI_MISMATCH);
	expect_refusal("GET / HTTP/1.1\r\nHost: api.test:8443\r\n\r\n", 421,
	    DECIDE_SNI_MISMATCH);
	expect_refusal("GET / HTTP/1.1\r\nHost: 198.18.1.12\r\n\r\n", 421,
	    DECIDE_SNI_MISMATCH);
	expect_refusal("GET / HTTP/1.1\r\nHost: [2001:db8::1]\r\n\r\n", 421,
	    DECIDE_SNI_MISMATCH);
	expect_refusal("GET / HTTP/1.0\r\n\r\n", 421, DECIDE_SNI_MISMATCH);
	expect_refusal("GET http://other.test/ HTTP/1.1\r\nHost: other.test\r\n\r\n",
	    421, DECIDE_SNI_MISMATCH);
	/* What the parser refuses stays refused. */
	expect_refusal("GET / HTTP/1.1\r\nHost: api.test\r\nX-A: 1\r\n folded\r\n\r\n",
	    400, DECIDE_BAD_REQUEST);
	expect_refusal("GET / HTTP/1.1\r\nHost: api.test\r\nHost: other.test\r\n\r\n",
	    400, DECIDE_BAD_REQUEST);
	expect_refusal("GET / HTTP/1.1\r\nHost: api.test\r\nAuthorization : x\r\n\r\n",
	    400, DECIDE_BAD_REQUEST);
	expect_refusal("GET / HTTP/1.1\nHost: api.test\n\n", 400,
	    DECIDE_BAD_REQUEST);
	expect_refusal("POST / HTTP/1.1\r\nHost: api.test\r\nContent-Length: 1\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", 400, DECIDE_BAD_REQUEST);
}

static void
test_host_spellings(void **state)
{
	struct ctl_binding b = binding(CTL_INJECT_BEARER, NULL);

	(void)state;
	expect_head("GET / HTTP/1.1\r\nHost: API.Test\r\n\r\n", &b, 1,
	    "GET / HTTP/1.1\r\nHost: API.Test\r\n"
	    "Authorization: Bearer " SECRET "\r\n" ID "\r\n", 0);
	expect_head("GET / HTTP/1.1\r\nHost: api.test.:443\r\n\r\n", &b, 1,
	    "GET / HTTP/1.1\r\nHost: api.test.:443\r\n"
	    "Authorization: Bearer " SECRET "\r\n" ID "\r\n", 0);
	binding_free(&b);
}

static void
test_framing(void **state)
{
	static const char two[] = "POST /a HTTP/1.1\r\nHost: api.test\r\n"
	    "Authorization: x\r\nContent-Length: 4\r\n\r\nbodyGET /b HTTP/1.1\r\n";
	struct ctl_binding b = binding(CTL_INJECT_BEARER, NULL);
	struct inject_request out;
	struct inject_opts o;
	size_t cut, head = (size_t)(strstr(two, "body") - two);

	(void)state;
	memset(&o, 0, sizeof(o));
	o.host = "api.test";
	o.port = 443;
	o.binding = &b;
	o.inject = 1;
	/* Every prefix of the head needs more; the body is not the head's. */
	for (cut = 0; cut < head; cut++) {
		memset(&out, 0, sizeof(out));
		assert_int_equal(inject_request(two, cut, &o, &req, &out),
		    INJECT_NEED_MORE);
	}
	memset(&out, 0, sizeof(out));
	assert_int_equal(inject_request(two, sizeof(two) - 1, &o, &req, &out),
	    INJECT_FORWARD);
	assert_int_equal(out.consumed, head);
	assert_int_equal(req.body, HTTP_BODY_LENGTH);
	assert_int_equal(req.content_length, 4);
	inject_request_clear(&out);

	/* A head at the size limit is refused with 431, never cut. */
	{
		struct http_limits lim = { .max_head = 64 };
		static const char big[] = "GET / HTTP/1.1\r\nHost: api.test\r\n"
		    "X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";

		o.limits = &lim;
		memset(&out, 0, sizeof(out));
		assert_int_equal(inject_request(big, sizeof(big) - 1, &o, &req,
		    &out), INJECT_REFUSE);
		assert_int_equal(out.status, 431);
	}
	binding_free(&b);
}

static void
test_secret_once_and_bad_bindings(void **state)
{
	struct ctl_binding b = binding(CTL_INJECT_BEARER, NULL);
	struct inject_request out;
	char *got;

	(void)state;
	/* A client that sends the real secret itself does not get it
	 * doubled, and it is nowhere but in the injected field. */
	assert_int_equal(run("GET / HTTP/1.1\r\nHost: api.test\r\n"
	    "Authorization: Bearer " SECRET "\r\nX-Api-Key: " SECRET "\r\n\r\n",
	    &b, 1, &out), INJECT_FORWARD);
	got = text(&out);
	assert_int_equal(count(got, SECRET), 1);
	free(got);
	inject_request_clear(&out);

	/* A secret that could end the field is never written. */
	free(b.secret);
	b.secret = strdup("abc\r\nX-Evil: 1");
	assert_int_equal(run("GET / HTTP/1.1\r\nHost: api.test\r\n\r\n", &b, 1,
	    &out), INJECT_ERROR);
	assert_null(out.head);
	free(b.secret);
	b.secret = strdup("a b");
	assert_int_equal(run("GET / HTTP/1.1\r\nHost: api.test\r\n\r\n", &b, 1,
	    &out), INJECT_ERROR);
	free(b.secret);
	b.secret = strdup("");
	assert_int_equal(run("GET / HTTP/1.1\r\nHost: api.test\r\n\r\n", &b, 1,
	    &out), INJECT_ERROR);
	free(b.secret);
	b.secret = NULL;
	assert_int_equal(run("GET / HTTP/1.1\r\nHost: api.test\r\n\r\n", &b, 1,
	    &out), INJECT_ERROR);
	/* ... but stripping alone never needs the secret. */
	assert_int_equal(run("GET / HTTP/1.1\r\nHost: api.test\r\n\r\n", &b, 0,
	    &out), INJECT_FORWARD);
	inject_request_clear(&out);

	b = binding(CTL_INJECT_BASIC, "x:y");
	assert_int_equal(run("GET / HTTP/1.1\r\nHost: api.test\r\n\r\n", &b, 1,
	    &out), INJECT_ERROR);
	binding_free(&b);
	b = binding(CTL_INJECT_HEADER, "X Bad");
	assert_int_equal(run("GET / HTTP/1.1\r\nHost: api.test\r\n\r\n", &b, 1,
	    &out), INJECT_ERROR);
	binding_free(&b);
}

static void
expect_response(const char *in, int head_req, int status,
    enum inject_rbody body, uint64_t cl)
{
	struct inject_response r;

	assert_int_equal(inject_parse_response(in, strlen(in), 1024, head_req,
	    &r), HTTP_OK);
	assert_int_equal(r.status, status);
	assert_int_equal(r.body, body);
	assert_int_equal(r.content_length, cl);
	assert_true(r.head_len <= strlen(in));
}

static void
test_response_framing(void **state)
{
	struct inject_response r;
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
	size_t i;

	(void)state;
	expect_response(ok, 0, 200, INJECT_RBODY_LENGTH, 5);
	assert_int_equal(inject_parse_response(ok, sizeof(ok) - 1, 1024, 0, &r),
	    HTTP_OK);
	assert_int_equal(r.head_len, sizeof(ok) - 1 - 5);
	for (i = 0; i < r.head_len; i++)
		assert_int_equal(inject_parse_response(ok, i, 1024, 0, &r),
		    HTTP_NEED_MORE);
	expect_response(ok, 1, 200, INJECT_RBODY_NONE, 5);
	expect_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n"
	    "Content-Length: 9\r\n\r\n", 0, 200, INJECT_RBODY_CHUNKED, 9);
	expect_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
	    0, 200, INJECT_RBODY_CLOSE, 0);
	expect_response("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n",
	    0, 200, INJECT_RBODY_CLOSE, 0);
	expect_response("HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n", 0,
	    204, INJECT_RBODY_NONE, 7);
	expect_response("HTTP/1.1 304 Not Modified\r\n\r\n", 0, 304,
	    INJECT_RBODY_NONE, 0);
	expect_response("HTTP/1.1 100 Continue\r\n\r\n", 0, 100,
	    INJECT_RBODY_NONE, 0);
	expect_response("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\n\r\n", 0, 101, INJECT_RBODY_NONE, 0);
	expect_response("HTTP/1.0 200\nContent-Length: 0\n\n", 0, 200,
	    INJECT_RBODY_NONE, 0);
	expect_response("HTTP/1.1 401 Unauthorized\r\nContent-Length: 2\r\n"
	    "content-length: 2\r\n\r\n", 0, 401, INJECT_RBODY_LENGTH, 2);

	assert_int_equal(inject_parse_response("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
	    "Content-Length: 3\r\n\r\n", 56, 1024, 0, &r), HTTP_BAD);
	assert_int_equal(inject_parse_response("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n",
	    31, 1024, 0, &r), HTTP_BAD);
	assert_int_equal(inject_parse_response("HTTP/2 200\r\n\r\n", 14, 1024, 0,
	    &r), HTTP_BAD);
	assert_int_equal(inject_parse_response("HTTP/1.1 20x OK\r\n\r\n", 19, 1024,
	    0, &r), HTTP_BAD);
	assert_int_equal(inject_parse_response("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
	    40, 1024, 0, &r), HTTP_BAD);
	assert_int_equal(inject_parse_response("HTTP/1.1 200 OK\r\nX-Pad: 0123456789\r\n\r\n",
	    38, 20, 0, &r), HTTP_BAD);
	assert_non_null(r.why);
}

/* The shared context: the CA (made here), and an upstream store. */
static void
test_context(void **state)
{
	char dir[] = "/tmp/test_intercept.XXXXXX", cert[64], key[64], err[512];
	struct intercept_ctx *ctx;
	struct mint_cache *mc;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(cert, sizeof(cert), "%s/ca.pem", dir);
	snprintf(key, sizeof(key), "%s/ca.key", dir);
	ctx = intercept_ctx_new(cert, key, "/nonexistent/ca.pem", (uid_t)-1,
	    (gid_t)-1, err, sizeof(err));
	assert_null(ctx);
	assert_memory_equal(err, "upstream_ca /nonexistent/ca.pem: ", 33);
	/* The system store, and the CA made a moment ago is loaded. */
	ctx = intercept_ctx_new(cert, key, "", (uid_t)-1, (gid_t)-1, err,
	    sizeof(err));
	if (ctx == NULL)
		fail_msg("intercept_ctx_new: %s", err);
	mc = intercept_cache_new(ctx, err, sizeof(err));
	assert_non_null(mc);
	assert_non_null(mint_leaf(mc, "api.test"));
	mint_cache_free(mc);
	intercept_ctx_free(ctx);
	/* Its own certificate as the upstream bundle is fine too. */
	ctx = intercept_ctx_new(cert, key, cert, (uid_t)-1, (gid_t)-1, err,
	    sizeof(err));
	assert_non_null(ctx);
	intercept_ctx_free(ctx);
	assert_int_equal(unlink(cert), 0);
	assert_int_equal(unlink(key), 0);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bearer_strips_every_credential),
		cmocka_unit_test(test_basic_and_header),
		cmocka_unit_test(test_strip_without_inject),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_host_spellings),
		cmocka_unit_test(test_framing),
		cmocka_unit_test(test_secret_once_and_bad_bindings),
		cmocka_unit_test(test_response_framing),
		cmocka_unit_test(test_identity_coding),
		cmocka_unit_test(test_response_redaction),
		cmocka_unit_test(test_context),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
