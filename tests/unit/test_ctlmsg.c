#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "proxyd/ctlmsg.h"
#include "rules/policy.h"

static char err[1024];

static void
decode_ok(const char *line, struct ctl_request *r)
{
	err[0] = '\0';
	if (ctlmsg_decode(line, strlen(line), r, err, sizeof(err)) != 0)
		fail_msg("unexpected error: %s", err);
}

static void
decode_err_len(const char *line, size_t len, const char *code,
    const char *want)
{
	struct ctl_request r;

	err[0] = '\0';
	if (ctlmsg_decode(line, len, &r, err, sizeof(err)) != -1) {
		ctl_request_clear(&r);
		fail_msg("accepted %.*s", (int)len, line);
	}
	assert_string_equal(r.err_code, code);
	assert_int_equal(r.op, CTL_OP_INVALID);
	assert_null(r.policy);
	assert_null(r.allow);
	if (want != NULL)
		assert_string_equal(err, want);
	ctl_request_clear(&r);
}

static void
decode_err(const char *line, const char *want)
{
	decode_err_len(line, strlen(line), CTL_ERR_BAD_REQUEST, want);
}

/* Encode what was decoded, decode it again and compare field by field. */
static void
assert_round_trip(const struct ctl_request *r)
{
	struct ctl_request again;
	char *line;
	size_t i;

	assert_int_equal(ctlmsg_request_encode(r, &line), 0);
	assert_null(strchr(line, '\n'));
	decode_ok(line, &again);
	free(line);
	assert_int_equal(again.op, r->op);
	assert_int_equal(again.req, r->req);
	assert_string_equal(again.id, r->id);
	assert_string_equal(again.tenant, r->tenant);
	assert_true(again.source.family == r->source.family &&
	    memcmp(again.source.a, r->source.a, 16) == 0);
	assert_int_equal(again.nallow, r->nallow);
	for (i = 0; i < r->nallow; i++)
		assert_string_equal(again.allow[i], r->allow[i]);
	assert_int_equal(again.limits.max_connections,
	    r->limits.max_connections);
	ctl_request_clear(&again);
}

static void
test_simple_ops(void **state)
{
	struct ctl_request r;
	char *line;

	(void)state;
	decode_ok("{\"v\":1,\"op\":\"hello\"}", &r);
	assert_int_equal(r.op, CTL_OP_HELLO);
	assert_int_equal(r.req, -1);
	assert_null(r.policy);
	assert_round_trip(&r);
	ctl_request_clear(&r);

	decode_ok(" {\"op\":\"ping\",\"req\":9007199254740991,\"v\":1} ", &r);
	assert_int_equal(r.op, CTL_OP_PING);
	assert_int_equal(r.req, CTL_REQ_MAX);
	assert_int_equal(ctlmsg_request_encode(&r, &line), 0);
	assert_string_equal(line,
	    "{\"v\":1,\"req\":9007199254740991,\"op\":\"ping\"}");
	free(line);
	ctl_request_clear(&r);

	decode_ok("{\"v\":1,\"op\":\"session_del\",\"id\":\"ses_A-b_9\",\"req\":0}",
	    &r);
	assert_int_equal(r.op, CTL_OP_SESSION_DEL);
	assert_int_equal(r.req, 0);
	assert_string_equal(r.id, "ses_A-b_9");
	assert_round_trip(&r);
	ctl_request_clear(&r);
	assert_string_equal(ctl_op_name(CTL_OP_SESSION_UPDATE), "session_update");
}

static void
test_session_add(void **state)
{
	static const char line[] =
	    "{\"v\":1,\"op\":\"session_add\",\"req\":3,\"id\":\"ses_abc\","
	    "\"tenant\":\"default\",\"source\":\"198.19.0.1\","
	    "\"allow\":[\"allowed.test\",\"*.github.com:443\"],"
	    "\"limits\":{\"max_connections\":64}}";
	struct ctl_request r;
	struct policy *taken;
	char ip[IP_STRLEN], *out;

	(void)state;
	decode_ok(line, &r);
	assert_int_equal(r.op, CTL_OP_SESSION_ADD);
	assert_int_equal(r.req, 3);
	assert_string_equal(r.id, "ses_abc");
	assert_string_equal(r.tenant, "default");
	assert_int_equal(ip_format(&r.source, ip, sizeof(ip)), 0);
	assert_string_equal(ip, "198.19.0.1");
	assert_int_equal(r.nallow, 2);
	assert_string_equal(r.allow[0], "allowed.test");
	assert_string_equal(r.allow[1], "*.github.com:443");
	assert_non_null(r.policy);
	assert_int_equal(policy_count(r.policy), 2);
	assert_int_equal(policy_check(r.policy, "api.github.com", 14, 443, NULL),
	    POLICY_ALLOW);
	assert_int_equal(policy_check(r.policy, "other.test", 10, 443, NULL),
	    POLICY_DENY_NOT_ALLOWED);
	assert_int_equal(r.limits.max_connections, 64);
	assert_int_equal(ctlmsg_request_encode(&r, &out), 0);
	assert_string_equal(out, "{\"v\":1,\"req\":3,\"op\":\"session_add\","
	    "\"id\":\"ses_abc\",\"tenant\":\"default\",\"source\":\"198.19.0.1\","
	    "\"allow\":[\"allowed.test\",\"*.github.com:443\"],"
	    "\"limits\":{\"max_connections\":64}}");
	free(out);
	assert_round_trip(&r);

	/* The daemon takes the policy; clear then leaves it alone. */
	taken = r.policy;
	r.policy = NULL;
	ctl_request_clear(&r);
	assert_int_equal(r.req, -1);
	assert_int_equal(policy_count(taken), 2);
	policy_free(taken);
}

static void
test_session_update_and_defaults(void **state)
{
	struct ctl_request r;

	(void)state;
	decode_ok("{\"v\":1,\"op\":\"session_update\",\"id\":\"ses_x\","
	    "\"tenant\":\"t-1_a\",\"source\":\"2001:2::5\",\"allow\":[]}", &r);
	assert_int_equal(r.op, CTL_OP_SESSION_UPDATE);
	assert_int_equal(r.source.family, AF_INET6);
	assert_int_equal(r.nallow, 0);
	assert_null(r.allow);
	assert_int_equal(policy_count(r.policy), 0);
	assert_int_equal(r.limits.max_connections, 0);
	assert_round_trip(&r);
	ctl_request_clear(&r);

	/* Duplicates collapse to canonical forms, one per policy entry. */
	decode_ok("{\"v\":1,\"op\":\"session_add\",\"id\":\"ses_x\","
	    "\"tenant\":\"t\",\"source\":\"198.19.0.9\",\"limits\":{},"
	    "\"allow\":[\"A.Test.\",\"a.test\",\"*.X.test:443\",\"a.test:80\"]}",
	    &r);
	assert_int_equal(r.nallow, 3);
	assert_string_equal(r.allow[0], "a.test");
	assert_string_equal(r.allow[1], "*.x.test:443");
	assert_string_equal(r.allow[2], "a.test:80");
	assert_int_equal(policy_count(r.policy), 3);
	assert_round_trip(&r);
	ctl_request_clear(&r);

	/* Bounds that are fine. */
	decode_ok("{\"v\":1,\"op\":\"session_add\",\"id\":\"ses_"
	    "0123456789012345678901234567890123456789012345678901234567890123\","
	    "\"tenant\":\"0123456789012345678901234567890123456789012345678901234567890123\","
	    "\"source\":\"198.19.0.9\",\"allow\":[],"
	    "\"limits\":{\"max_connections\":1000000}}", &r);
	assert_int_equal(strlen(r.id), CTL_ID_MAX);
	assert_int_equal(strlen(r.tenant), CTL_TENANT_MAX);
	assert_round_trip(&r);
	ctl_request_clear(&r);
}

struct err_case {
	const char *line;
	const char *want;
};

#define ADD(rest) "{\"v\":1,\"op\":\"session_add\",\"id\":\"ses_x\"," rest "}"
#define ADDT(rest) ADD("\"tenant\":\"t\",\"source\":\"198.19.0.1\"," rest)

static void
test_rejections(void **state)
{
	static const struct err_case cases[] = {
		{ "{\"v\":1,\"op\":\"nope\"}", "unknown op \"nope\"" },
		{ "{\"v\":1,\"op\":\"invalid\"}", "unknown op \"invalid\"" },
		{ "{\"v\":1,\"op\":\"ping\",\"x\":1}", "unknown key \"x\"" },
		{ "{\"v\":1,\"op\":\"session_del\",\"id\":\"ses_x\",\"allow\":[]}",
		  "unknown key \"allow\"" },
		{ "{\"v\":1,\"op\":\"hello\",\"id\":\"ses_x\"}", "unknown key \"id\"" },
		{ "{\"op\":\"ping\"}", "v: required" },
		{ "{\"v\":\"1\",\"op\":\"ping\"}", "v: must be an integer" },
		{ "{\"v\":1.0,\"op\":\"ping\"}", "v: must be an integer" },
		{ "{\"v\":1}", "op: required" },
		{ "{\"v\":1,\"op\":5}", "op: must be a string" },
		{ "{\"v\":1,\"op\":\"ping\",\"req\":-1}",
		  "req: must be an integer in 0..9007199254740991" },
		{ "{\"v\":1,\"op\":\"ping\",\"req\":9007199254740992}",
		  "req: must be an integer in 0..9007199254740991" },
		{ "{\"v\":1,\"op\":\"ping\",\"req\":\"1\"}",
		  "req: must be an integer in 0..9007199254740991" },
		{ "{\"v\":1,\"op\":\"session_del\"}", "id: required" },
		{ "{\"v\":1,\"op\":\"session_del\",\"id\":\"ses_a b\"}",
		  "id: must be \"ses_\" followed by 1..64 of A-Z a-z 0-9 _ -" },
		{ "{\"v\":1,\"op\":\"session_del\",\"id\":\"ses_a.b\"}",
		  "id: must be \"ses_\" followed by 1..64 of A-Z a-z 0-9 _ -" },
		{ "{\"v\":1,\"op\":\"session_del\",\"id\":\"ses_\"}",
		  "id: must be \"ses_\" followed by 1..64 of A-Z a-z 0-9 _ -" },
		{ "{\"v\":1,\"op\":\"session_del\",\"id\":\"SES_x\"}",
		  "id: must be \"ses_\" followed by 1..64 of A-Z a-z 0-9 _ -" },
		{ "{\"v\":1,\"op\":\"session_del\",\"id\":\"ses_\\u00e9\"}",
		  "id: must be \"ses_\" followed by 1..64 of A-Z a-z 0-9 _ -" },
		{ "{\"v\":1,\"op\":\"session_del\",\"id\":\"ses_"
		  "01234567890123456789012345678901234567890123456789012345678901234\"}",
		  "id: must be \"ses_\" followed by 1..64 of A-Z a-z 0-9 _ -" },
		{ "{\"v\":1,\"op\":\"session_del\",\"id\":[\"ses_x\"]}",
		  "id: must be a string" },
		{ ADD("\"source\":\"198.19.0.1\",\"allow\":[]"), "tenant: required" },
		{ ADD("\"tenant\":\"Default\",\"source\":\"198.19.0.1\",\"allow\":[]"),
		  "tenant: must be 1..64 of a-z 0-9 _ -" },
		{ ADD("\"tenant\":\"\",\"source\":\"198.19.0.1\",\"allow\":[]"),
		  "tenant: must be 1..64 of a-z 0-9 _ -" },
		{ ADD("\"tenant\":\"a/b\",\"source\":\"198.19.0.1\",\"allow\":[]"),
		  "tenant: must be 1..64 of a-z 0-9 _ -" },
		{ ADD("\"tenant\":\"01234567890123456789012345678901234567890123456789"
		  "012345678901234\",\"source\":\"198.19.0.1\",\"allow\":[]"),
		  "tenant: must be 1..64 of a-z 0-9 _ -" },
		{ ADD("\"tenant\":\"t\",\"allow\":[]"), "source: required" },
		{ ADD("\"tenant\":\"t\",\"source\":\"198.19.0.0/24\",\"allow\":[]"),
		  "source: must be an address, not a range" },
		{ ADD("\"tenant\":\"t\",\"source\":\"2001:2::/64\",\"allow\":[]"),
		  "source: must be an address, not a range" },
		{ ADD("\"tenant\":\"t\",\"source\":\"sandbox.test\",\"allow\":[]"),
		  "source: invalid ipv4 address" },
		{ ADD("\"tenant\":\"t\",\"source\":\"198.19.0.1 \",\"allow\":[]"),
		  "source: invalid ipv4 address" },
		{ ADD("\"tenant\":\"t\",\"source\":\"[2001:2::1]\",\"allow\":[]"),
		  "source: brackets not allowed" },
		{ ADD("\"tenant\":\"t\",\"source\":\"fe80::1%eth0\",\"allow\":[]"),
		  "source: zone id not allowed" },
		{ ADD("\"tenant\":\"t\",\"source\":19,\"allow\":[]"),
		  "source: must be a string" },
		{ ADDT("\"limits\":{}"), "allow: required" },
		{ ADDT("\"allow\":\"a.test\""),
		  "allow: must be an array of at most 256 strings" },
		{ ADDT("\"allow\":[\"a.test\",7]"),
		  "allow[1]: must be a string without NUL" },
		{ ADDT("\"allow\":[\"a.test\",\"*.\"]"),
		  "allow[1]: invalid allow pattern \"*.\": wildcard without a domain" },
		{ ADDT("\"allow\":[\"169.254.169.254\"]"),
		  "allow[0]: invalid allow pattern \"169.254.169.254\": "
		  "IP literals cannot be allowed" },
		{ ADDT("\"allow\":[\"a.test:99999\"]"),
		  "allow[0]: invalid allow pattern \"a.test:99999\": "
		  "port out of range (1..65535)" },
		{ ADDT("\"allow\":[],\"limits\":5"), "limits: must be an object" },
		{ ADDT("\"allow\":[],\"limits\":{\"max_conn\":5}"),
		  "limits: unknown key \"max_conn\"" },
		{ ADDT("\"allow\":[],\"limits\":{\"max_connections\":0}"),
		  "limits.max_connections: must be an integer in 1..1000000" },
		{ ADDT("\"allow\":[],\"limits\":{\"max_connections\":1000001}"),
		  "limits.max_connections: must be an integer in 1..1000000" },
		{ ADDT("\"allow\":[],\"secret\":\"x\""), "unknown key \"secret\"" },
		{ "[{\"v\":1,\"op\":\"ping\"}]", "a message must be a JSON object" },
		{ "{\"v\":1,\"op\":\"ping\",\n\"req\":1}", "a message must be one line" },
		{ "{\"v\":1,\"op\":\"ping\"}\n", "a message must be one line" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		decode_err(cases[i].line, cases[i].want);
}

/* Syntax errors come from jansson; only their prefix is ours. */
static void
test_invalid_json(void **state)
{
	static const char *const lines[] = {
		"", " ", "{", "\"ping\"", "1", "null",
		"{\"v\":1,\"op\":\"ping\"} x",
		"{\"v\":1,\"op\":\"ping\"}{\"v\":1,\"op\":\"ping\"}",
		"{\"v\":1,\"op\":\"ping\",\"op\":\"hello\"}",
		"{\"v\":1,\"op\":\"ping\\u0000\"}",
		"{'v':1}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		decode_err(lines[i], NULL);
		assert_true(strncmp(err, "invalid JSON at byte ", 21) == 0);
	}
	decode_err_len("{\"v\":1,\"op\":\"ping\"}\0", 20, CTL_ERR_BAD_REQUEST,
	    NULL);
	assert_true(strncmp(err, "invalid JSON at byte ", 21) == 0);
}

static void
test_version_and_correlation(void **state)
{
	struct ctl_request r;

	(void)state;
	decode_err_len("{\"v\":2,\"op\":\"hello\",\"features\":[\"x\"]}", 37,
	    CTL_ERR_UNSUPPORTED_VERSION, "unsupported version 2 (supported: 1)");
	decode_err_len("{\"v\":0,\"op\":\"ping\"}", 19,
	    CTL_ERR_UNSUPPORTED_VERSION, "unsupported version 0 (supported: 1)");
	/* A newer peer's "req" may mean something else: still a version error. */
	decode_err_len("{\"v\":3,\"req\":\"a\"}", 17,
	    CTL_ERR_UNSUPPORTED_VERSION, "unsupported version 3 (supported: 1)");

	/* A refused request still carries its req, for the reply. */
	assert_int_equal(ctlmsg_decode("{\"v\":2,\"req\":41,\"op\":\"x\"}", 25, &r,
	    err, sizeof(err)), -1);
	assert_int_equal(r.req, 41);
	assert_string_equal(r.err_code, CTL_ERR_UNSUPPORTED_VERSION);
	assert_int_equal(ctlmsg_decode("{\"v\":1,\"req\":42,\"op\":\"x\"}", 25, &r,
	    err, sizeof(err)), -1);
	assert_int_equal(r.req, 42);
	assert_string_equal(r.err_code, CTL_ERR_BAD_REQUEST);
	assert_int_equal(ctlmsg_decode("{\"v\":1,\"req\":-4,\"op\":\"ping\"}", 28,
	    &r, err, sizeof(err)), -1);
	assert_int_equal(r.req, -1);
}

static char *
session_add_with(size_t npatterns, size_t pad)
{
	size_t cap = CTL_LINE_MAX * 2, n, i;
	char *line = malloc(cap);

	assert_non_null(line);
	n = (size_t)snprintf(line, cap, "{\"v\":1,\"op\":\"session_add\","
	    "\"id\":\"ses_x\",\"tenant\":\"t\",\"source\":\"198.19.0.1\","
	    "\"allow\":[");
	for (i = 0; i < npatterns; i++)
		n += (size_t)snprintf(line + n, cap - n, "%s\"h%zu.test\"",
		    i ? "," : "", i);
	n += (size_t)snprintf(line + n, cap - n, "]");
	assert_true(n + pad + 1 < cap);
	memset(line + n, ' ', pad);
	n += pad;
	snprintf(line + n, cap - n, "}");
	return line;
}

static void
test_size_limits(void **state)
{
	struct ctl_request r;
	char *line;
	size_t len;

	(void)state;
	line = session_add_with(CTL_ALLOW_MAX, 0);
	decode_ok(line, &r);
	assert_int_equal(r.nallow, CTL_ALLOW_MAX);
	assert_round_trip(&r);
	ctl_request_clear(&r);
	free(line);

	line = session_add_with(CTL_ALLOW_MAX + 1, 0);
	decode_err(line, "allow: must be an array of at most 256 strings");
	free(line);

	/* Exactly CTL_LINE_MAX is accepted, one more byte is too_large. */
	line = session_add_with(1, 0);
	len = strlen(line);
	free(line);
	line = session_add_with(1, CTL_LINE_MAX - len);
	assert_int_equal(strlen(line), CTL_LINE_MAX);
	decode_ok(line, &r);
	ctl_request_clear(&r);
	free(line);
	line = session_add_with(1, CTL_LINE_MAX - len + 1);
	decode_err_len(line, strlen(line), CTL_ERR_TOO_LARGE,
	    "line too long (more than 65536 bytes)");
	free(line);
}

static void
test_request_encode_refuses_bad_fields(void **state)
{
	struct ctl_request r;
	char *allow[] = { (char *)"ok.test", (char *)"*." };
	char *line = (char *)1;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.req = -1;
	assert_int_equal(ctlmsg_request_encode(&r, &line), -1);
	assert_null(line);
	r.op = CTL_OP_SESSION_DEL;
	strcpy(r.id, "nope");
	assert_int_equal(ctlmsg_request_encode(&r, &line), -1);
	r.op = CTL_OP_SESSION_ADD;
	strcpy(r.id, "ses_1");
	strcpy(r.tenant, "t");
	assert_int_equal(ctlmsg_request_encode(&r, &line), -1);	/* no source */
	assert_int_equal(ip_parse("198.19.0.1", 10, &r.source, NULL), 0);
	r.allow = allow;
	r.nallow = 2;
	assert_int_equal(ctlmsg_request_encode(&r, &line), -1);
	r.nallow = 1;
	assert_int_equal(ctlmsg_request_encode(&r, &line), 0);
	assert_string_equal(line, "{\"v\":1,\"op\":\"session_add\",\"id\":\"ses_1\","
	    "\"tenant\":\"t\",\"source\":\"198.19.0.1\",\"allow\":[\"ok.test\"]}");
	free(line);
	r.req = CTL_REQ_MAX + 1;
	assert_int_equal(ctlmsg_request_encode(&r, &line), -1);
}

static void
test_replies(void **state)
{
	struct ctl_reply rep;
	char *line;

	(void)state;
	assert_int_equal(ctlmsg_reply_ok(-1, &line), 0);
	assert_string_equal(line, "{\"v\":1,\"ok\":true}");
	assert_int_equal(ctlmsg_reply_decode(line, strlen(line), &rep, err,
	    sizeof(err)), 0);
	assert_true(rep.ok);
	assert_int_equal(rep.req, -1);
	free(line);

	assert_int_equal(ctlmsg_reply_hello(7, &line), 0);
	assert_string_equal(line, "{\"v\":1,\"req\":7,\"ok\":true,\"versions\":[1]}");
	assert_int_equal(ctlmsg_reply_decode(line, strlen(line), &rep, err,
	    sizeof(err)), 0);
	assert_int_equal(rep.req, 7);
	assert_int_equal(rep.versions, 1u << 1);
	free(line);

	assert_int_equal(ctlmsg_reply_err(8, CTL_ERR_BAD_REQUEST,
	    "id: \"x\"\nbad", &line), 0);
	assert_string_equal(line, "{\"v\":1,\"req\":8,\"ok\":false,\"error\":"
	    "{\"code\":\"bad_request\",\"message\":\"id: \\\"x\\\"\\nbad\"}}");
	assert_int_equal(ctlmsg_reply_decode(line, strlen(line), &rep, err,
	    sizeof(err)), 0);
	assert_false(rep.ok);
	assert_string_equal(rep.code, "bad_request");
	assert_string_equal(rep.message, "id: \"x\"\nbad");
	free(line);

	assert_int_equal(ctlmsg_reply_err(-1, CTL_ERR_UNSUPPORTED_VERSION,
	    "unsupported version 2 (supported: 1)", &line), 0);
	assert_string_equal(line, "{\"v\":1,\"ok\":false,\"error\":{\"code\":"
	    "\"unsupported_version\",\"message\":\"unsupported version 2 "
	    "(supported: 1)\"},\"versions\":[1]}");
	free(line);

	/* Messages quoting hostile input stay valid JSON. */
	assert_int_equal(ctlmsg_reply_err(1, CTL_ERR_BAD_REQUEST, "bad \xff\xfe",
	    &line), 0);
	assert_string_equal(line, "{\"v\":1,\"req\":1,\"ok\":false,\"error\":"
	    "{\"code\":\"bad_request\",\"message\":\"bad ??\"}}");
	free(line);

	/* A newer proxyd: refused, but sessiond learns what it speaks. */
	assert_int_equal(ctlmsg_reply_decode(
	    "{\"v\":2,\"req\":1,\"ok\":false,\"versions\":[1,2]}", 43, &rep, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "unsupported version 2 (supported: 1)");
	assert_int_equal(rep.versions, (1u << 1) | (1u << 2));
	assert_int_equal(rep.req, 1);

	line = (char *)"{\"v\":1,\"ok\":true,\"error\":{\"code\":\"x\",\"message\":\"y\"}}";
	assert_int_equal(ctlmsg_reply_decode(line, strlen(line), &rep, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "error: not allowed when ok");
	assert_int_equal(ctlmsg_reply_decode("{\"v\":1,\"ok\":false}", 18, &rep,
	    err, sizeof(err)), -1);
	assert_string_equal(err, "error: required when not ok");
	assert_int_equal(ctlmsg_reply_decode("{\"v\":1,\"ok\":1}", 14, &rep,
	    err, sizeof(err)), -1);
	assert_string_equal(err, "ok: must be a boolean");
	assert_int_equal(ctlmsg_reply_decode("{\"v\":1,\"ok\":true,\"x\":1}", 23,
	    &rep, err, sizeof(err)), -1);
	assert_string_equal(err, "unknown key \"x\"");
}

static struct ctl_event
sample_event(void)
{
	struct ctl_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = CTL_EVENT_EGRESS_DENIED;
	strcpy(ev.session, "ses_abc");
	strcpy(ev.tenant, "default");
	assert_int_equal(ip_parse("198.19.0.1", 10, &ev.source, NULL), 0);
	strcpy(ev.host, "other.test");
	ev.port = 443;
	ev.proto = CTL_PROTO_TLS;
	strcpy(ev.reason, "not_allowlisted");
	assert_int_equal(ctl_endpoint_parse("198.18.1.11:443", 15, &ev.orig_dst,
	    NULL), 0);
	ev.count = 3;
	ev.ts_ms = 1795899600123LL;	/* 2026-11-28T21:00:00.123Z */
	return ev;
}

static void
assert_event_equal(const struct ctl_event *a, const struct ctl_event *b)
{
	assert_int_equal(a->type, b->type);
	assert_string_equal(a->session, b->session);
	assert_string_equal(a->tenant, b->tenant);
	assert_true(ip_equal(&a->source, &b->source) ||
	    (a->source.family == 0 && b->source.family == 0));
	assert_string_equal(a->host, b->host);
	assert_int_equal(a->port, b->port);
	assert_int_equal(a->proto, b->proto);
	assert_string_equal(a->reason, b->reason);
	assert_int_equal(a->orig_dst.addr.family, b->orig_dst.addr.family);
	if (a->orig_dst.addr.family != 0) {
		assert_true(ip_equal(&a->orig_dst.addr, &b->orig_dst.addr));
		assert_int_equal(a->orig_dst.port, b->orig_dst.port);
	}
	assert_int_equal(a->connected.addr.family, b->connected.addr.family);
	if (a->connected.addr.family != 0) {
		assert_true(ip_equal(&a->connected.addr, &b->connected.addr));
		assert_int_equal(a->connected.port, b->connected.port);
	}
	assert_int_equal(a->bytes_up, b->bytes_up);
	assert_int_equal(a->bytes_down, b->bytes_down);
	assert_int_equal(a->count, b->count);
	assert_int_equal(a->ts_ms, b->ts_ms);
	assert_string_equal(a->binding, b->binding);
}

static void
event_round_trip(const struct ctl_event *ev, char **line_out)
{
	struct ctl_event back;
	char *line;

	assert_int_equal(ctlmsg_event_encode(ev, &line), 0);
	assert_null(strchr(line, '\n'));
	assert_null(strchr(line, '\r'));
	if (ctlmsg_event_decode(line, strlen(line), &back, err, sizeof(err)) != 0)
		fail_msg("decode %s: %s", line, err);
	assert_event_equal(ev, &back);
	if (line_out != NULL)
		*line_out = line;
	else
		free(line);
}

static void
test_event_round_trip(void **state)
{
	struct ctl_event ev = sample_event();
	char *line;

	(void)state;
	event_round_trip(&ev, &line);
	assert_string_equal(line, "{\"v\":1,\"event\":{\"type\":\"egress_denied\","
	    "\"session\":\"ses_abc\",\"tenant\":\"default\",\"source\":\"198.19.0.1\","
	    "\"host\":\"other.test\",\"port\":443,\"proto\":\"tls\","
	    "\"reason\":\"not_allowlisted\",\"orig_dst\":\"198.18.1.11:443\","
	    "\"bytes_up\":0,\"bytes_down\":0,\"count\":3,"
	    "\"ts\":\"2026-11-28T21:00:00.123Z\"}}");
	free(line);

	ev.type = CTL_EVENT_EGRESS_ALLOWED;
	strcpy(ev.reason, "allowed");
	ev.proto = CTL_PROTO_HTTP;
	ev.count = 1;
	ev.bytes_up = 1234;
	ev.bytes_down = (uint64_t)INT64_MAX;
	assert_int_equal(ctl_endpoint_parse("[2001:2::10]:80", 15, &ev.orig_dst,
	    NULL), 0);
	assert_int_equal(ctl_endpoint_parse("[2001:2::11]:80", 15, &ev.connected,
	    NULL), 0);
	ev.ts_ms = 0;
	event_round_trip(&ev, NULL);

	/* No session: an unknown source, raw TCP, no host. */
	ev = sample_event();
	ev.session[0] = ev.tenant[0] = ev.host[0] = '\0';
	ev.proto = CTL_PROTO_TCP;
	strcpy(ev.reason, "unknown_source");
	ev.ts_ms = 253402300799999LL;	/* 9999-12-31T23:59:59.999Z */
	event_round_trip(&ev, &line);
	assert_non_null(strstr(line, "\"host\":\"\""));
	assert_null(strstr(line, "session"));
	assert_non_null(strstr(line, "\"ts\":\"9999-12-31T23:59:59.999Z\""));
	free(line);
	assert_string_equal(ctl_proto_name(CTL_PROTO_DNS), "dns");
	assert_string_equal(ctl_event_type_name(CTL_EVENT_EGRESS_ALLOWED),
	    "egress_allowed");
}

static void
test_event_hostile_host(void **state)
{
	static const char *const hosts[] = {
		"evil\"},\"type\":\"egress_allowed",
		"a\nb\r\n{\"v\":1,\"event\":{}}\n",
		"back\\slash\ttab\x01\x1f\x7f",
		"caf\xc3\xa9.example",
		"</script><script>alert(1)</script>",
		"\xe2\x80\xa8line separator",
	};
	struct ctl_event ev = sample_event(), back;
	char *line;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		strcpy(ev.host, hosts[i]);
		event_round_trip(&ev, NULL);
	}
	/* Not UTF-8: the bytes become '?', the event is still written. */
	strcpy(ev.host, "x\xff\xfe\n.test");
	assert_int_equal(ctlmsg_event_encode(&ev, &line), 0);
	assert_null(strchr(line, '\n'));
	assert_int_equal(ctlmsg_event_decode(line, strlen(line), &back, err,
	    sizeof(err)), 0);
	assert_string_equal(back.host, "x??\n.test");
	free(line);
	/* The longest host fits. */
	memset(ev.host, 'a', CTL_HOST_MAX);
	ev.host[CTL_HOST_MAX] = '\0';
	event_round_trip(&ev, NULL);
}

static void
test_event_encode_refuses(void **state)
{
	struct ctl_event ev;
	char *line = (char *)1;

	(void)state;
	ev = sample_event();
	ev.count = 0;
	assert_int_equal(ctlmsg_event_encode(&ev, &line), -1);
	assert_null(line);
	ev = sample_event();
	ev.port = 0;
	assert_int_equal(ctlmsg_event_encode(&ev, &line), -1);
	ev = sample_event();
	strcpy(ev.reason, "Not allowed");
	assert_int_equal(ctlmsg_event_encode(&ev, &line), -1);
	ev = sample_event();
	strcpy(ev.session, "abc");
	assert_int_equal(ctlmsg_event_encode(&ev, &line), -1);
	ev = sample_event();
	ev.ts_ms = -1;
	assert_int_equal(ctlmsg_event_encode(&ev, &line), -1);
	ev = sample_event();
	ev.bytes_up = (uint64_t)INT64_MAX + 1;
	assert_int_equal(ctlmsg_event_encode(&ev, &line), -1);
	ev = sample_event();
	ev.proto = (enum ctl_proto)9;
	assert_int_equal(ctlmsg_event_encode(&ev, &line), -1);
	ev = sample_event();
	ev.orig_dst.port = 0;
	assert_int_equal(ctlmsg_event_encode(&ev, &line), -1);
}

static void
test_event_decode_rejects(void **state)
{
#define EV(body) "{\"v\":1,\"event\":{" body "}}"
#define BASE "\"type\":\"egress_denied\",\"host\":\"h\",\"port\":80," \
	"\"proto\":\"http\",\"reason\":\"r\",\"bytes_up\":0,\"bytes_down\":0," \
	"\"count\":1"
	static const struct err_case cases[] = {
		{ EV(BASE ",\"ts\":\"2026-02-29T00:00:00.000Z\""),
		  "event.ts: not an RFC 3339 UTC time with ms" },
		{ EV(BASE ",\"ts\":\"2026-11-28T21:00:00Z\""),
		  "event.ts: not an RFC 3339 UTC time with ms" },
		{ EV(BASE ",\"ts\":\"2026-11-28T24:00:00.000Z\""),
		  "event.ts: not an RFC 3339 UTC time with ms" },
		{ EV(BASE ",\"ts\":\"1969-12-31T23:59:59.999Z\""),
		  "event.ts: not an RFC 3339 UTC time with ms" },
		{ EV(BASE), "event.ts: required" },
		{ EV(BASE ",\"ts\":\"2026-11-28T21:00:00.123Z\",\"token\":\"x\""),
		  "event: unknown key \"token\"" },
		{ "{\"v\":1,\"event\":{},\"x\":1}", "unknown key \"x\"" },
		{ "{\"v\":1,\"event\":[]}", "event: must be an object" },
		{ "{\"v\":2,\"event\":{}}", "unsupported version 2 (supported: 1)" },
		{ EV("\"type\":\"egress_maybe\""),
		  "event.type: unknown value \"egress_maybe\"" },
		{ EV("\"type\":\"egress_denied\",\"proto\":\"udp\""),
		  "event.proto: unknown value \"udp\"" },
		{ EV(BASE ",\"ts\":\"2026-11-28T21:00:00.123Z\",\"orig_dst\":\"1.2.3.4\""),
		  "event.orig_dst: missing \":port\"" },
		{ EV(BASE ",\"ts\":\"2026-11-28T21:00:00.123Z\",\"source\":\"1.2.3.0/24\""),
		  "event.source: must be an address, not a range" },
	};
	struct ctl_event ev;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(ctlmsg_event_decode(cases[i].line,
		    strlen(cases[i].line), &ev, err, sizeof(err)), -1);
		assert_string_equal(err, cases[i].want);
	}
	/* A reply is not an event, and says so. */
	assert_int_equal(ctlmsg_event_decode("{\"v\":1,\"ok\":true}", 17, &ev, err,
	    sizeof(err)), 1);
#undef EV
#undef BASE
}

static void
test_endpoints_and_names(void **state)
{
	static const char *const good[] = {
		"198.18.0.1:1", "0.0.0.0:65535", "[::]:53", "[::ffff:1.2.3.4]:80",
	};
	static const char *const bad[] = {
		"", ":80", "198.18.0.1:", "198.18.0.1:+1", "198.18.0.1:1x",
		"198.18.0.256:1", "198.18.0:1", "198.18.0.1.1:1", "[::1]x80",
		"[::1]:", "[fe80::1%1]:80", "[]:80", "1.2.3.4:123456",
		"1.2.3.4.:80", "1.2.3.0004:80", "1.2.3:80.4",
	};
	struct ctl_endpoint ep;
	char buf[CTL_ENDPOINT_STRLEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(ctl_endpoint_parse(good[i], strlen(good[i]), &ep,
		    NULL), 0);
		assert_int_equal(ctl_endpoint_format(&ep, buf, sizeof(buf)), 0);
	}
	assert_string_equal(buf, "[::ffff:1.2.3.4]:80");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ctl_endpoint_parse(bad[i], strlen(bad[i]), &ep, NULL) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
	memset(&ep, 0, sizeof(ep));
	assert_int_equal(ctl_endpoint_format(&ep, buf, sizeof(buf)), -1);
	assert_int_equal(ctl_endpoint_parse("[2001:2::1]:8", 13, &ep, NULL), 0);
	assert_int_equal(ctl_endpoint_format(&ep, buf, 10), -1);

	assert_true(ctl_session_id_valid("ses_x", 5));
	assert_false(ctl_session_id_valid("ses_x", 4));
	assert_true(ctl_tenant_valid("a-b_0", 5));
	assert_false(ctl_tenant_valid("", 0));
}

#define B_HEAD "{\"v\":1,\"op\":\"session_add\",\"id\":\"ses_b\"," \
	"\"tenant\":\"default\",\"source\":\"198.19.0.1\",\"allow\":[]," \
	"\"bindings\":["
#define SECRET "ghp_s3cr3t-V4lue"

/* Service bindings: decoded, re-encoded, and never echoed in an error. */
static void
test_bindings(void **state)
{
	static const struct {
		const char *binding;
		const char *want;
	} bad[] = {
		{ "7", "bindings[0]: must be an object" },
		{ "{\"name\":\"g\",\"hosts\":[\"git.test\"],\"inject\":{\"type\":\"bearer\"},"
		  "\"secret\":\"" SECRET " x\"}",
		  "bindings[0].secret: must be 1..4096 visible ASCII characters" },
		{ "{\"name\":\"g\",\"hosts\":[\"git.test\"],\"inject\":{\"type\":\"bearer\"},"
		  "\"secret\":\"" SECRET "\\r\\nX: y\"}",
		  "bindings[0].secret: must be 1..4096 visible ASCII characters" },
		{ "{\"name\":\"g\",\"hosts\":[\"git.test\"],\"inject\":{\"type\":\"basic\"},"
		  "\"secret\":\"" SECRET "\"}",
		  "bindings[0].inject.user: required for basic (and only there): "
		  "1..64 visible characters, no ':'" },
		{ "{\"name\":\"g\",\"hosts\":[\"git.test\"],\"inject\":{\"type\":\"header\","
		  "\"header\":\"X Api\"},\"secret\":\"" SECRET "\"}",
		  "bindings[0].inject.header: required for header (and only "
		  "there): an HTTP field name" },
		{ "{\"name\":\"g\",\"hosts\":[\"10.0.0.5\"],\"inject\":{\"type\":\"bearer\"},"
		  "\"secret\":\"" SECRET "\"}", NULL },
		{ "{\"name\":\"g\",\"hosts\":[],\"inject\":{\"type\":\"bearer\"},"
		  "\"secret\":\"" SECRET "\"}",
		  "bindings[0].hosts: must be 1..16 allow patterns" },
		{ "{\"name\":\"G!\",\"hosts\":[\"git.test\"],\"inject\":{\"type\":\"bearer\"},"
		  "\"secret\":\"" SECRET "\"}",
		  "bindings[0].name: must be 1..32 of a-z 0-9 _ -" },
		{ "{\"name\":\"g\",\"hosts\":[\"git.test\"],\"inject\":{\"type\":\"magic\"},"
		  "\"secret\":\"" SECRET "\"}",
		  "bindings[0].inject.type: bearer, basic or header" },
		{ "{\"name\":\"g\",\"hosts\":[\"git.test\"],\"inject\":{\"type\":\"bearer\"},"
		  "\"secret\":\"" SECRET "\",\"allow_http\":1}",
		  "bindings[0].allow_http: must be a boolean" },
		{ "{\"name\":\"g\",\"hosts\":[\"git.test\"],\"inject\":{\"type\":\"bearer\"},"
		  "\"secret\":\"" SECRET "\"},{\"name\":\"g\",\"hosts\":[\"a.test\"],"
		  "\"inject\":{\"type\":\"bearer\"},\"secret\":\"" SECRET "\"}",
		  "bindings[1].name: \"g\" given twice" },
	};
	struct ctl_request r;
	char line[2048];
	size_t i;

	(void)state;
	decode_ok(B_HEAD "{\"name\":\"github\",\"hosts\":[\"GIT.test.\",\"*.github.com\"],"
	    "\"inject\":{\"type\":\"basic\",\"user\":\"x-access-token\"},"
	    "\"secret\":\"" SECRET "\"},{\"name\":\"api\",\"hosts\":[\"api.test:443\"],"
	    "\"inject\":{\"type\":\"header\",\"header\":\"X-Api-Key\"},"
	    "\"secret\":\"k\",\"allow_http\":true}]}", &r);
	assert_int_equal(r.nbindings, 2);
	assert_string_equal(r.bindings[0].name, "github");
	assert_int_equal(r.bindings[0].nhosts, 2);
	assert_string_equal(r.bindings[0].hosts[0], "git.test");
	assert_int_equal(r.bindings[0].inject, CTL_INJECT_BASIC);
	assert_string_equal(r.bindings[0].user, "x-access-token");
	assert_string_equal(r.bindings[0].secret, SECRET);
	assert_false(r.bindings[0].allow_http);
	assert_int_equal(r.bindings[1].inject, CTL_INJECT_HEADER);
	assert_string_equal(r.bindings[1].header, "X-Api-Key");
	assert_true(r.bindings[1].allow_http);
	{
		struct ctl_request again;
		char *enc;

		assert_int_equal(ctlmsg_request_encode(&r, &enc), 0);
		decode_ok(enc, &again);
		free(enc);
		assert_int_equal(again.nbindings, 2);
		assert_string_equal(again.bindings[0].hosts[1], "*.github.com");
		assert_string_equal(again.bindings[0].secret, SECRET);
		assert_string_equal(again.bindings[1].header, "X-Api-Key");
		ctl_request_clear(&again);
	}
	ctl_request_clear(&r);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), B_HEAD "%s]}", bad[i].binding);
		decode_err(line, bad[i].want);
		/* Whatever the error, it never quotes the secret. */
		assert_null(strstr(err, "s3cr3t"));
	}
	/* A secret cannot be added to a request that is invalid otherwise. */
	memset(&r, 0, sizeof(r));
	r.op = CTL_OP_SESSION_ADD;
	strcpy(r.id, "ses_b");
	strcpy(r.tenant, "default");
	assert_int_equal(ip_parse("198.19.0.1", 10, &r.source, NULL), 0);
	r.nbindings = 1;
	r.bindings = NULL;
	{
		char *enc = NULL;

		assert_int_equal(ctlmsg_request_encode(&r, &enc), -1);
		assert_null(enc);
	}
}

/* secret_injected names the binding and host, nothing else. */
static void
test_event_binding(void **state)
{
	struct ctl_event ev = sample_event(), back;
	char *line;

	(void)state;
	ev.type = CTL_EVENT_SECRET_INJECTED;
	strcpy(ev.reason, "injected");
	strcpy(ev.binding, "github");
	assert_int_equal(ctlmsg_event_encode(&ev, &line), 0);
	assert_non_null(strstr(line, "\"type\":\"secret_injected\""));
	assert_non_null(strstr(line, "\"binding\":\"github\""));
	assert_int_equal(ctlmsg_event_decode(line, strlen(line), &back, err,
	    sizeof(err)), 0);
	free(line);
	assert_event_equal(&ev, &back);
	strcpy(ev.binding, "Bad Name");
	assert_int_equal(ctlmsg_event_encode(&ev, &line), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_ops),
		cmocka_unit_test(test_session_add),
		cmocka_unit_test(test_session_update_and_defaults),
		cmocka_unit_test(test_rejections),
		cmocka_unit_test(test_invalid_json),
		cmocka_unit_test(test_version_and_correlation),
		cmocka_unit_test(test_size_limits),
		cmocka_unit_test(test_request_encode_refuses_bad_fields),
		cmocka_unit_test(test_replies),
		cmocka_unit_test(test_event_round_trip),
		cmocka_unit_test(test_event_hostile_host),
		cmocka_unit_test(test_event_encode_refuses),
		cmocka_unit_test(test_event_decode_rejects),
		cmocka_unit_test(test_endpoints_and_names),
		cmocka_unit_test(test_bindings),
		cmocka_unit_test(test_event_binding),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
