#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rules/policy.h"
#include "sessiond/request.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

#define MINIMAL	"{\"language\":\"python\",\"code\":\"print(1)\"}"

static void
decode_ok_lim(const char *body, size_t len, const struct request_limits *lim,
    struct session_request *r)
{
	struct api_error err;

	memset(&err, 0, sizeof(err));
	if (session_request_decode(body, len, lim, r, &err) != 0)
		fail_msg("unexpected %d %s: %s", err.status, err.code,
		    err.message);
}

static void
decode_ok(const char *body, struct session_request *r)
{
	decode_ok_lim(body, strlen(body), NULL, r);
}

/* A refused body leaves nothing behind and says what we expect. */
static void
decode_err_lim(const char *body, size_t len, const struct request_limits *lim,
    int status, const char *code, const char *sub)
{
	struct session_request r, zero;
	struct api_error err;

	memset(&err, 0, sizeof(err));
	memset(&zero, 0, sizeof(zero));
	if (session_request_decode(body, len, lim, &r, &err) != -1) {
		session_request_clear(&r);
		fail_msg("accepted %.200s", body);
	}
	if (err.status != status || strcmp(err.code, code) != 0 ||
	    strstr(err.message, sub) == NULL)
		fail_msg("%.200s: got %d %s \"%s\", want %d %s \"…%s…\"", body,
		    err.status, err.code, err.message, status, code, sub);
	assert_memory_equal(&r, &zero, sizeof(r));
	session_request_clear(&r);
}

static void
decode_err(const char *body, int status, const char *code, const char *sub)
{
	decode_err_lim(body, strlen(body), NULL, status, code, sub);
}

#define REQ(rest) "{\"language\":\"python\",\"code\":\"x\"" rest "}"

struct bad_case {
	const char	*body;
	size_t		 len;		/* 0: strlen(body) */
	int		 status;
	const char	*code;
	const char	*sub;
};

static const struct bad_case bad_cases[] = {
	/* Not JSON, or not the JSON we take. */
	{ "", 0, 400, API_ERR_INVALID_JSON, "empty body" },
	{ "{", 0, 400, API_ERR_INVALID_JSON, "line 1, column 1" },
	{ "{\"language\":\"python\",\n \"code\" \"x\"}", 0, 400,
	    API_ERR_INVALID_JSON, "line 2, column" },
	{ MINIMAL " x", 0, 400, API_ERR_INVALID_JSON, "end of file expected" },
	{ MINIMAL "{}", 0, 400, API_ERR_INVALID_JSON, "end of file expected" },
	{ "{\"language\":\"python\",\"language\":\"sh\",\"code\":\"x\"}", 0, 400,
	    API_ERR_INVALID_JSON, "duplicate object key" },
	{ "{\"language\":\"python\",\"code\":\"\xff\"}", 0, 400,
	    API_ERR_INVALID_JSON, "unable to decode byte 0xff" },
	{ "{\"language\":\"python\",\"code\":\"\xc0\xaf\"}", 0, 400,
	    API_ERR_INVALID_JSON, "unable to decode byte" },
	{ "{\"language\":\"python\",\"code\":\"\\ud800\"}", 0, 400,
	    API_ERR_INVALID_JSON, "invalid Unicode" },
	{ "{\"language\":\"python\",\"code\":\"a\0b\"}", 34, 400,
	    API_ERR_INVALID_JSON, "control character" },
	{ "{\"lang\\u0000uage\":\"python\",\"code\":\"x\"}", 0, 400,
	    API_ERR_INVALID_JSON, "NUL byte in object key" },
	{ REQ(",\"limits\":{\"pids\":99999999999999999999}"), 0, 400,
	    API_ERR_INVALID_JSON, "too big integer" },
	{ "[]", 0, 400, API_ERR_INVALID_REQUEST, "body: must be a JSON object" },
	{ "\"python\"", 0, 400, API_ERR_INVALID_REQUEST, "must be a JSON object" },
	{ "null", 0, 400, API_ERR_INVALID_REQUEST, "must be a JSON object" },
	/* Keys. */
	{ REQ(",\"foo\":1"), 0, 400, API_ERR_INVALID_REQUEST,
	    "unknown field \"foo\"" },
	{ "{\"foo\":1}", 0, 400, API_ERR_INVALID_REQUEST, "unknown field \"foo\"" },
	{ REQ(",\"Language\":\"sh\""), 0, 400, API_ERR_INVALID_REQUEST,
	    "unknown field \"Language\"" },
	{ REQ(",\"a\\nb\":1"), 0, 400, API_ERR_INVALID_REQUEST,
	    "unknown field \"a?b\"" },
	{ "{\"code\":\"x\"}", 0, 400, API_ERR_INVALID_REQUEST,
	    "language: required" },
	{ "{\"language\":\"sh\"}", 0, 400, API_ERR_INVALID_REQUEST,
	    "code: required" },
	/* language */
	{ "{\"language\":1,\"code\":\"x\"}", 0, 400, API_ERR_INVALID_REQUEST,
	    "language: must be a string" },
	{ "{\"language\":null,\"code\":\"x\"}", 0, 400, API_ERR_INVALID_REQUEST,
	    "language: must be a string" },
	{ "{\"language\":\"ruby\",\"code\":\"x\"}", 0, 400,
	    API_ERR_UNKNOWN_LANGUAGE, "unknown language \"ruby\"" },
	{ "{\"language\":\"Python\",\"code\":\"x\"}", 0, 400,
	    API_ERR_UNKNOWN_LANGUAGE, "expected python, sh or node" },
	{ "{\"language\":\"\",\"code\":\"x\"}", 0, 400,
	    API_ERR_UNKNOWN_LANGUAGE, "unknown language \"\"" },
	{ "{\"language\":\"py\\u0000thon\",\"code\":\"x\"}", 0, 400,
	    API_ERR_INVALID_REQUEST, "language: must not contain NUL" },
	/* code */
	{ "{\"language\":\"sh\",\"code\":[\"x\"]}", 0, 400,
	    API_ERR_INVALID_REQUEST, "code: must be a string" },
	{ "{\"language\":\"sh\",\"code\":\"\"}", 0, 400, API_ERR_INVALID_REQUEST,
	    "code: must not be empty" },
	{ "{\"language\":\"sh\",\"code\":\"echo\\u0000hi\"}", 0, 400,
	    API_ERR_INVALID_REQUEST, "code: must not contain NUL" },
	/* backend */
	{ REQ(",\"backend\":1"), 0, 400, API_ERR_INVALID_REQUEST,
	    "backend: must be a string" },
	{ REQ(",\"backend\":\"\""), 0, 400, API_ERR_INVALID_REQUEST,
	    "backend: invalid name \"\"" },
	{ REQ(",\"backend\":\"Namespace\""), 0, 400, API_ERR_INVALID_REQUEST,
	    "backend: invalid name \"Namespace\" (1..32 of a-z 0-9 _ -)" },
	{ REQ(",\"backend\":\"abcdefghijklmnopqrstuvwxyz0123456\""), 0, 400,
	    API_ERR_INVALID_REQUEST, "backend: invalid name" },
	{ REQ(",\"backend\":\"../etc\""), 0, 400, API_ERR_INVALID_REQUEST,
	    "backend: invalid name" },
	/* egress */
	{ REQ(",\"egress\":[]"), 0, 400, API_ERR_INVALID_REQUEST,
	    "egress: must be an object" },
	{ REQ(",\"egress\":null"), 0, 400, API_ERR_INVALID_REQUEST,
	    "egress: must be an object" },
	{ REQ(",\"egress\":{\"deny\":[]}"), 0, 400, API_ERR_INVALID_REQUEST,
	    "egress: unknown field \"deny\"" },
	{ REQ(",\"egress\":{\"allow\":\"pypi.org\"}"), 0, 400,
	    API_ERR_INVALID_REQUEST, "egress.allow: must be an array" },
	{ REQ(",\"egress\":{\"allow\":[1]}"), 0, 400, API_ERR_INVALID_REQUEST,
	    "egress.allow[0]: must be a string" },
	{ REQ(",\"egress\":{\"allow\":[\"pypi.org\",\"*.\"]}"), 0, 400,
	    API_ERR_INVALID_ALLOW_PATTERN,
	    "egress.allow[1]: invalid allow pattern \"*.\": wildcard without a "
	    "domain" },
	{ REQ(",\"egress\":{\"allow\":[\"169.254.169.254\"]}"), 0, 400,
	    API_ERR_INVALID_ALLOW_PATTERN, "IP literals cannot be allowed" },
	{ REQ(",\"egress\":{\"allow\":[\"example.com:080\"]}"), 0, 400,
	    API_ERR_INVALID_ALLOW_PATTERN, "leading zero" },
	{ REQ(",\"egress\":{\"allow\":[\"example.com:65536\"]}"), 0, 400,
	    API_ERR_INVALID_ALLOW_PATTERN, "port out of range" },
	{ REQ(",\"egress\":{\"allow\":[\"*\"]}"), 0, 400,
	    API_ERR_INVALID_ALLOW_PATTERN, "bare wildcard" },
	{ REQ(",\"egress\":{\"allow\":[\"a.*.com\"]}"), 0, 400,
	    API_ERR_INVALID_ALLOW_PATTERN, "egress.allow[0]: invalid allow" },
	{ REQ(",\"egress\":{\"allow\":[\"\"]}"), 0, 400,
	    API_ERR_INVALID_ALLOW_PATTERN, "empty pattern" },
	{ REQ(",\"egress\":{\"allow\":[\"b\xc3\xbc\x63her.de\"]}"), 0, 400,
	    API_ERR_INVALID_ALLOW_PATTERN, "non-ASCII" },
	/* bindings */
	{ REQ(",\"bindings\":\"github\""), 0, 400, API_ERR_INVALID_REQUEST,
	    "bindings: must be an array of at most 16 strings" },
	{ REQ(",\"bindings\":[\"GitHub\"]"), 0, 400, API_ERR_INVALID_REQUEST,
	    "bindings[0]: invalid name \"GitHub\"" },
	{ REQ(",\"bindings\":[\"a\",\"b\",\"a\"]"), 0, 400,
	    API_ERR_INVALID_REQUEST, "bindings[2]: duplicate \"a\"" },
	{ REQ(",\"bindings\":[\"a\",null]"), 0, 400, API_ERR_INVALID_REQUEST,
	    "bindings[1]: must be a string" },
	{ REQ(",\"bindings\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\","
	    "\"9\",\"10\",\"11\",\"12\",\"13\",\"14\",\"15\",\"16\",\"17\"]"), 0,
	    400, API_ERR_INVALID_REQUEST, "at most 16" },
	/* limits */
	{ REQ(",\"limits\":[]"), 0, 400, API_ERR_INVALID_REQUEST,
	    "limits: must be an object" },
	{ REQ(",\"limits\":{\"cpu\":1}"), 0, 400, API_ERR_INVALID_REQUEST,
	    "limits: unknown field \"cpu\"" },
	{ REQ(",\"limits\":{\"timeout_ms\":\"30\"}"), 0, 400,
	    API_ERR_INVALID_REQUEST, "limits.timeout_ms: must be an integer" },
	{ REQ(",\"limits\":{\"timeout_ms\":1000.0}"), 0, 400,
	    API_ERR_INVALID_REQUEST, "limits.timeout_ms: must be an integer" },
	{ REQ(",\"limits\":{\"memory_mb\":-1}"), 0, 400, API_ERR_INVALID_REQUEST,
	    "limits.memory_mb: must be an integer in 16..4096" },
	{ REQ(",\"limits\":{\"pids\":null}"), 0, 400, API_ERR_INVALID_REQUEST,
	    "limits.pids: must be an integer" },
	{ REQ(",\"limits\":{\"output_bytes\":true}"), 0, 400,
	    API_ERR_INVALID_REQUEST, "limits.output_bytes: must be an integer" },
	/* wait */
	{ REQ(",\"wait\":\"yes\""), 0, 400, API_ERR_INVALID_REQUEST,
	    "wait: must be a boolean" },
	{ REQ(",\"wait\":1"), 0, 400, API_ERR_INVALID_REQUEST,
	    "wait: must be a boolean" },
	{ REQ(",\"wait\":null"), 0, 400, API_ERR_INVALID_REQUEST,
	    "wait: must be a boolean" },
};

static void
test_bad_requests(void **state)
{
	size_t i;

	(void)state;
	assert_true(NELEM(bad_cases) >= 30);
	for (i = 0; i < NELEM(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];

		decode_err_lim(c->body, c->len ? c->len : strlen(c->body), NULL,
		    c->status, c->code, c->sub);
	}
}

/* Every limit at min-1, min, max, max+1, with both default and tight maxima. */
static void
test_limit_boundaries(void **state)
{
	static const struct {
		const char *key;
		long long min, defmax;
	} f[] = {
		{ "timeout_ms", 100, 600000 },
		{ "memory_mb", 16, 4096 },
		{ "pids", 8, 4096 },
		{ "output_bytes", 1024, 16 << 20 },
	};
	struct request_limits tight;
	struct session_request r;
	char body[256];
	size_t i, pass;

	(void)state;
	request_limits_default(&tight);
	tight.max_timeout_ms = 5000;
	tight.max_memory_mb = 64;
	tight.max_pids = 32;
	tight.max_output_bytes = 4096;
	tight.defaults.timeout_ms = 1000;
	tight.defaults.memory_mb = 32;
	tight.defaults.pids = 16;
	tight.defaults.output_bytes = 2048;

	for (pass = 0; pass < 2; pass++) {
		const struct request_limits *lim = pass ? &tight : NULL;

		for (i = 0; i < NELEM(f); i++) {
			long long max = f[i].defmax;
			long long vals[4];
			uint64_t got;
			size_t k;

			if (pass)
				max = i == 0 ? 5000 : i == 1 ? 64 : i == 2 ? 32 :
				    4096;
			vals[0] = f[i].min - 1;
			vals[1] = f[i].min;
			vals[2] = max;
			vals[3] = max + 1;
			for (k = 0; k < 4; k++) {
				snprintf(body, sizeof(body),
				    REQ(",\"limits\":{\"%s\":%lld}"), f[i].key,
				    vals[k]);
				if (k == 0 || k == 3) {
					char want[128];

					snprintf(want, sizeof(want),
					    "limits.%s: must be an integer in "
					    "%lld..%lld", f[i].key, f[i].min, max);
					decode_err_lim(body, strlen(body), lim, 400,
					    API_ERR_INVALID_REQUEST, want);
					continue;
				}
				decode_ok_lim(body, strlen(body), lim, &r);
				got = i == 0 ? r.limits.timeout_ms :
				    i == 1 ? r.limits.memory_mb :
				    i == 2 ? r.limits.pids : r.limits.output_bytes;
				assert_int_equal(got, (uint64_t)vals[k]);
				session_request_clear(&r);
			}
		}
	}
}

static void
test_defaults(void **state)
{
	struct request_limits lim;
	struct session_request r;

	(void)state;
	decode_ok(MINIMAL, &r);
	assert_int_equal(r.language, SESSION_LANG_PYTHON);
	assert_int_equal(r.code_len, 8);
	assert_string_equal(r.code, "print(1)");
	assert_string_equal(r.backend, "namespace");
	assert_non_null(r.policy);
	assert_int_equal(policy_count(r.policy), 0);
	assert_int_equal(r.nallow, 0);
	assert_int_equal(r.nbindings, 0);
	assert_int_equal(r.limits.timeout_ms, 30000);
	assert_int_equal(r.limits.memory_mb, 256);
	assert_int_equal(r.limits.pids, 128);
	assert_int_equal(r.limits.output_bytes, 1048576);
	assert_false(r.wait);
	/* Deny by default. */
	assert_int_equal(policy_check(r.policy, "pypi.org", 8, 443, NULL),
	    POLICY_DENY_NOT_ALLOWED);
	session_request_clear(&r);

	/* Empty sub-objects are the same as absent ones. */
	decode_err(REQ(",\"egress\":{},\"limits\":{},\"bindings\":[],"
	    "\"egress_\":1"), 400, API_ERR_INVALID_REQUEST, "egress_");
	decode_ok(REQ(",\"egress\":{},\"limits\":{},\"bindings\":[]"), &r);
	assert_int_equal(policy_count(r.policy), 0);
	assert_int_equal(r.limits.pids, 128);
	session_request_clear(&r);

	/* The operator's defaults. */
	request_limits_default(&lim);
	lim.defaults.timeout_ms = 5000;
	lim.defaults.memory_mb = 64;
	lim.defaults.pids = 32;
	lim.defaults.output_bytes = 4096;
	lim.default_backend = "gvisor";
	decode_ok_lim(MINIMAL, strlen(MINIMAL), &lim, &r);
	assert_string_equal(r.backend, "gvisor");
	assert_int_equal(r.limits.timeout_ms, 5000);
	assert_int_equal(r.limits.memory_mb, 64);
	assert_int_equal(r.limits.pids, 32);
	assert_int_equal(r.limits.output_bytes, 4096);
	session_request_clear(&r);
}

static void
test_full_request(void **state)
{
	static const char body[] =
	    "{\"language\":\"sh\",\"code\":\"echo \\\"hi\\\"\\n\\u00e9\","
	    "\"backend\":\"namespace\","
	    "\"egress\":{\"allow\":[\"PyPI.org.\",\"*.github.com:443\","
	    "\"pypi.org\",\"*.GitHub.com:443\",\"pypi.org:443\"]},"
	    "\"bindings\":[\"github\",\"pypi_token\"],"
	    "\"limits\":{\"timeout_ms\":1000,\"memory_mb\":64,\"pids\":16,"
	    "\"output_bytes\":2048},\"wait\":true}";
	struct session_request r;

	(void)state;
	decode_ok(body, &r);
	assert_int_equal(r.language, SESSION_LANG_SH);
	assert_string_equal(r.code, "echo \"hi\"\n\xc3\xa9");
	assert_int_equal(r.code_len, 12);
	assert_string_equal(r.backend, "namespace");
	/* Canonical, distinct, first-seen order, one per policy pattern. */
	assert_int_equal(r.nallow, 3);
	assert_int_equal(policy_count(r.policy), 3);
	assert_string_equal(r.allow[0], "pypi.org");
	assert_string_equal(r.allow[1], "*.github.com:443");
	assert_string_equal(r.allow[2], "pypi.org:443");
	assert_int_equal(policy_check(r.policy, "api.github.com", 14, 443,
	    NULL), POLICY_ALLOW);
	assert_int_equal(policy_check(r.policy, "api.github.com", 14, 80,
	    NULL), POLICY_DENY_NOT_ALLOWED);
	assert_int_equal(policy_check(r.policy, "github.com", 10, 443, NULL),
	    POLICY_DENY_NOT_ALLOWED);
	assert_int_equal(policy_check(r.policy, "pypi.org", 8, 80, NULL),
	    POLICY_ALLOW);
	assert_int_equal(r.nbindings, 2);
	assert_string_equal(r.bindings[0], "github");
	assert_string_equal(r.bindings[1], "pypi_token");
	assert_int_equal(r.limits.timeout_ms, 1000);
	assert_int_equal(r.limits.memory_mb, 64);
	assert_int_equal(r.limits.pids, 16);
	assert_int_equal(r.limits.output_bytes, 2048);
	assert_true(r.wait);
	session_request_clear(&r);

	decode_ok("{\"language\":\"node\",\"code\":\"1\",\"wait\":false}", &r);
	assert_int_equal(r.language, SESSION_LANG_NODE);
	assert_false(r.wait);
	session_request_clear(&r);

	/* Key order and whitespace do not matter. */
	decode_ok(" \n{ \"wait\" : true ,\n\"code\":\"x\", \"language\":\"sh\" }\n ",
	    &r);
	assert_true(r.wait);
	session_request_clear(&r);
}

static char *
make_code_body(size_t code_len, size_t *body_len)
{
	static const char pre[] = "{\"language\":\"python\",\"code\":\"";
	static const char post[] = "\"}";
	size_t n = sizeof(pre) - 1 + code_len + sizeof(post) - 1;
	char *b = malloc(n + 1);

	assert_non_null(b);
	memcpy(b, pre, sizeof(pre) - 1);
	memset(b + sizeof(pre) - 1, 'a', code_len);
	memcpy(b + sizeof(pre) - 1 + code_len, post, sizeof(post));
	*body_len = n;
	return b;
}

static void
test_code_size(void **state)
{
	struct request_limits lim;
	struct session_request r;
	const char *b;
	size_t len;
	char *big;

	(void)state;
	big = make_code_body(1 << 20, &len);
	decode_ok_lim(big, len, NULL, &r);
	assert_int_equal(r.code_len, 1 << 20);
	assert_int_equal(strlen(r.code), 1 << 20);
	session_request_clear(&r);
	free(big);

	big = make_code_body((1 << 20) + 1, &len);
	decode_err_lim(big, len, NULL, 413, API_ERR_TOO_LARGE,
	    "code: too large (1048577 bytes, at most 1048576)");
	free(big);

	/* Counted decoded: 8 bytes of code, 16 on the wire. */
	request_limits_default(&lim);
	lim.max_code_bytes = 8;
	b = "{\"language\":\"sh\",\"code\":\"\\n\\t\\\"a\\u00e9\\\\x\"}";
	decode_ok_lim(b, strlen(b), &lim, &r);
	assert_int_equal(r.code_len, 8);
	session_request_clear(&r);
	b = "{\"language\":\"sh\",\"code\":\"\\n\\t\\\"ab\\u00e9\\\\x\"}";
	decode_err_lim(b, strlen(b), &lim, 413, API_ERR_TOO_LARGE,
	    "code: too large (9 bytes");
}

static void
test_body_size(void **state)
{
	struct request_limits lim;
	struct session_request r;
	size_t len;
	char *b;

	(void)state;
	request_limits_default(&lim);
	lim.max_code_bytes = 16;
	lim.max_body_bytes = strlen(MINIMAL);
	decode_ok_lim(MINIMAL, strlen(MINIMAL), &lim, &r);
	session_request_clear(&r);
	lim.max_body_bytes--;
	decode_err_lim(MINIMAL, strlen(MINIMAL), &lim, 413, API_ERR_TOO_LARGE,
	    "body too large (39 bytes, at most 38)");

	/* Over the default cap the bytes are never looked at. */
	len = (4u << 20) + 1;
	b = malloc(len);
	assert_non_null(b);
	memset(b, '{', len);
	decode_err_lim(b, len, NULL, 413, API_ERR_TOO_LARGE,
	    "at most 4194304");
	free(b);
}

/* jansson stops at its own depth limit; nothing recurses further. */
static void
test_deep_nesting(void **state)
{
	static const char pre[] = "{\"language\":\"sh\",\"code\":\"x\",\"egress\":"
	    "{\"allow\":";
	size_t depth = 100000, n = sizeof(pre) - 1 + 2 * depth + 2, i;
	char *b = malloc(n);

	(void)state;
	assert_non_null(b);
	memcpy(b, pre, sizeof(pre) - 1);
	for (i = 0; i < depth; i++) {
		b[sizeof(pre) - 1 + i] = '[';
		b[sizeof(pre) - 1 + depth + i] = ']';
	}
	b[n - 2] = '}';
	b[n - 1] = '}';
	decode_err_lim(b, n, NULL, 400, API_ERR_INVALID_JSON,
	    "maximum parsing depth");
	/* Shallow but wrong is a type error, not a JSON one. */
	decode_err(REQ(",\"egress\":{\"allow\":[[[\"a.com\"]]]}"), 400,
	    API_ERR_INVALID_REQUEST, "egress.allow[0]: must be a string");
	free(b);
}

static void
test_allow_count(void **state)
{
	struct session_request r;
	char *b, *p;
	size_t i;

	(void)state;
	b = malloc(32 + 257 * 16);
	assert_non_null(b);
	p = b + sprintf(b, "{\"language\":\"sh\",\"code\":\"x\",\"egress\":"
	    "{\"allow\":[");
	for (i = 0; i < 256; i++)
		p += sprintf(p, "%s\"h%zu.test\"", i ? "," : "", i);
	strcpy(p, "]}}");
	decode_ok(b, &r);
	assert_int_equal(r.nallow, 256);
	assert_int_equal(policy_count(r.policy), 256);
	assert_string_equal(r.allow[255], "h255.test");
	session_request_clear(&r);
	strcpy(p, ",\"h256.test\"]}}");
	decode_err(b, 400, API_ERR_INVALID_REQUEST,
	    "egress.allow: must be an array of at most 256 strings");
	free(b);
}

static void
test_round_trip(void **state)
{
	static const char *const bodies[] = {
		MINIMAL,
		"{\"language\":\"node\",\"code\":\"console.log('\\u2603\\u0001')\","
		"\"backend\":\"gvisor\",\"egress\":{\"allow\":[\"A.example.\","
		"\"*.b.example:8443\",\"a.example\"]},\"bindings\":[\"x\",\"y-1\"],"
		"\"limits\":{\"timeout_ms\":100,\"memory_mb\":4096,\"pids\":8,"
		"\"output_bytes\":16777216},\"wait\":true}",
	};
	struct session_request r, again;
	json_t *j;
	char *line;
	size_t i, k;

	(void)state;
	for (i = 0; i < NELEM(bodies); i++) {
		decode_ok(bodies[i], &r);
		assert_non_null(j = session_request_to_json(&r));
		assert_non_null(line = json_dumps(j, JSON_COMPACT));
		json_decref(j);
		decode_ok(line, &again);
		assert_int_equal(again.language, r.language);
		assert_int_equal(again.code_len, r.code_len);
		assert_memory_equal(again.code, r.code, r.code_len);
		assert_string_equal(again.backend, r.backend);
		assert_int_equal(again.nallow, r.nallow);
		for (k = 0; k < r.nallow; k++)
			assert_string_equal(again.allow[k], r.allow[k]);
		assert_int_equal(again.nbindings, r.nbindings);
		for (k = 0; k < r.nbindings; k++)
			assert_string_equal(again.bindings[k], r.bindings[k]);
		assert_memory_equal(&again.limits, &r.limits, sizeof(r.limits));
		assert_int_equal(again.wait, r.wait);
		session_request_clear(&again);
		session_request_clear(&r);
		free(line);
	}
	decode_ok(bodies[0], &r);
	assert_non_null(j = session_request_to_json(&r));
	assert_non_null(line = json_dumps(j, JSON_COMPACT));
	assert_string_equal(line,
	    "{\"language\":\"python\",\"code\":\"print(1)\","
	    "\"backend\":\"namespace\",\"egress\":{\"allow\":[]},\"bindings\":[],"
	    "\"limits\":{\"timeout_ms\":30000,\"memory_mb\":256,\"pids\":128,"
	    "\"output_bytes\":1048576},\"wait\":false}");
	free(line);
	json_decref(j);
	session_request_clear(&r);
}

static void
test_ownership(void **state)
{
	struct session_request r, zero;
	struct policy *taken;

	(void)state;
	memset(&zero, 0, sizeof(zero));
	memset(&r, 0, sizeof(r));
	session_request_clear(&r);
	session_request_clear(&r);

	decode_ok(REQ(",\"egress\":{\"allow\":[\"a.test\",\"b.test\"]}"), &r);
	session_request_clear(&r);
	assert_memory_equal(&r, &zero, sizeof(r));
	session_request_clear(&r);

	/* The daemon may keep the policy past the request. */
	decode_ok(REQ(",\"egress\":{\"allow\":[\"a.test\"]}"), &r);
	taken = r.policy;
	r.policy = NULL;
	session_request_clear(&r);
	assert_int_equal(policy_check(taken, "a.test", 6, 443, NULL),
	    POLICY_ALLOW);
	policy_free(taken);

	/* A failure after allocations (code, policy) frees them itself. */
	decode_err(REQ(",\"egress\":{\"allow\":[\"a.test\"]},\"wait\":0"), 400,
	    API_ERR_INVALID_REQUEST, "wait");
	decode_err(REQ(",\"egress\":{\"allow\":[\"a.test\",\"b.test\",\"*\"]}"),
	    400, API_ERR_INVALID_ALLOW_PATTERN, "egress.allow[2]");
}

static void
test_error_json(void **state)
{
	struct api_error err;
	json_t *j, *e;
	char *line;

	(void)state;
	api_error_set(&err, 400, API_ERR_INVALID_REQUEST, "x: %s", "bad\x01\xff");
	assert_int_equal(err.status, 400);
	assert_string_equal(err.message, "x: bad??");
	assert_non_null(j = api_error_json(&err));
	assert_non_null(line = json_dumps(j, JSON_COMPACT));
	assert_string_equal(line, "{\"error\":{\"code\":\"invalid_request\","
	    "\"message\":\"x: bad??\"}}");
	free(line);
	json_decref(j);
	/* C1 controls, surrogates, overlongs, > U+10FFFF; emoji kept. */
	api_error_set(&err, 400, API_ERR_INVALID_REQUEST, "\xc2\x9b" "1m\xc2\xa0");
	assert_string_equal(err.message, "??1m\xc2\xa0");
	api_error_set(&err, 400, API_ERR_INVALID_REQUEST, "%s",
	    "\xed\xa0\x80 \xc0\xaf \xf4\x90\x80\x80 \xf0\x9f\x98\x80");
	assert_string_equal(err.message, "??? ?? ???? \xf0\x9f\x98\x80");

	/* Hand-filled, cut mid-character: still a valid body. */
	memset(&err, 0, sizeof(err));
	err.status = 500;
	err.code = API_ERR_INTERNAL;
	strcpy(err.message, "caf\xc3\xa9 \xe2\x98");
	assert_non_null(j = api_error_json(&err));
	e = json_object_get(json_object_get(j, "error"), "message");
	assert_string_equal(json_string_value(e), "caf\xc3\xa9 ??");
	json_decref(j);

	/* A long pattern is cut inside a character by the message cap. */
	{
		char body[1024], *p = body;
		struct session_request r;
		size_t i;

		p = body + sprintf(body, "{\"language\":\"sh\",\"code\":\"x\","
		    "\"egress\":{\"allow\":[\"");
		for (i = 0; i < 100; i++)
			p += sprintf(p, "\xc3\xa9");
		strcpy(p, "\"]}}");
		memset(&err, 0, sizeof(err));
		assert_int_equal(session_request_decode(body, strlen(body), NULL,
		    &r, &err), -1);
		assert_string_equal(err.code, API_ERR_INVALID_ALLOW_PATTERN);
		assert_non_null(j = api_error_json(&err));
		json_decref(j);
	}
}

static void
test_limits_config(void **state)
{
	struct request_limits lim;
	char msg[256];

	(void)state;
	request_limits_default(&lim);
	assert_int_equal(request_limits_check(&lim, msg, sizeof(msg)), 0);
	assert_string_equal(lim.default_backend, "namespace");

	lim.max_memory_mb = 8;
	assert_int_equal(request_limits_check(&lim, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "max memory_mb 8"));
	decode_err_lim(MINIMAL, strlen(MINIMAL), &lim, 500, API_ERR_INTERNAL,
	    "request limits misconfigured");

	request_limits_default(&lim);
	lim.defaults.timeout_ms = 700000;
	assert_int_equal(request_limits_check(&lim, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "default timeout_ms"));

	request_limits_default(&lim);
	lim.max_body_bytes = lim.max_code_bytes - 1;
	assert_int_equal(request_limits_check(&lim, msg, sizeof(msg)), -1);

	request_limits_default(&lim);
	lim.default_backend = "Bad Name";
	assert_int_equal(request_limits_check(&lim, msg, sizeof(msg)), -1);
	lim.default_backend = NULL;
	assert_int_equal(request_limits_check(&lim, msg, sizeof(msg)), 0);
}

static void
test_names(void **state)
{
	enum session_language l;

	(void)state;
	assert_string_equal(session_language_name(SESSION_LANG_PYTHON),
	    "python");
	assert_string_equal(session_language_name(SESSION_LANG_SH), "sh");
	assert_string_equal(session_language_name(SESSION_LANG_NODE), "node");
	assert_string_equal(session_language_name((enum session_language)7),
	    "invalid");
	assert_int_equal(session_language_parse("node", &l), 0);
	assert_int_equal(l, SESSION_LANG_NODE);
	assert_int_equal(session_language_parse("python3", &l), -1);
	assert_true(request_name_valid("namespace", 9));
	assert_true(request_name_valid("a_b-9", 5));
	assert_false(request_name_valid("", 0));
	assert_false(request_name_valid("A", 1));
	assert_false(request_name_valid("a.b", 3));
	assert_true(request_name_valid("abcdefghijklmnopqrstuvwxyz012345",
	    32));
	assert_false(request_name_valid("abcdefghijklmnopqrstuvwxyz0123456",
	    33));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_limit_boundaries),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_full_request),
		cmocka_unit_test(test_code_size),
		cmocka_unit_test(test_body_size),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_allow_count),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_ownership),
		cmocka_unit_test(test_error_json),
		cmocka_unit_test(test_limits_config),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
