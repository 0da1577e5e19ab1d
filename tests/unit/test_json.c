#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/json.h"

static json_t *
load(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);

	assert_non_null(j);
	return j;
}

static void
test_check_keys(void **state)
{
	static const char *const allowed[] = { "language", "code", "limits", NULL };
	const char *bad = "unset";
	json_t *j;

	(void)state;
	j = load("{\"language\":\"sh\",\"code\":\"true\"}");
	assert_int_equal(json_check_keys(j, allowed, &bad), 0);
	assert_null(bad);
	json_decref(j);

	j = load("{\"language\":\"sh\",\"evil\":1}");
	assert_int_equal(json_check_keys(j, allowed, &bad), -1);
	assert_string_equal(bad, "evil");
	json_decref(j);

	j = load("{}");
	assert_int_equal(json_check_keys(j, allowed, &bad), 0);
	json_decref(j);

	j = load("[1]");
	bad = "unset";
	assert_int_equal(json_check_keys(j, allowed, &bad), -1);
	assert_null(bad);
	json_decref(j);
}

static void
test_get_string(void **state)
{
	char err[128];
	const char *s = NULL;
	json_t *j;

	(void)state;
	j = load("{\"language\":\"python\",\"n\":3,\"z\":null}");
	assert_int_equal(json_get_string(j, "language", &s, 1, err,
	    sizeof(err)), JSON_GET_OK);
	assert_string_equal(s, "python");

	s = "untouched";
	assert_int_equal(json_get_string(j, "code", &s, 0, err, sizeof(err)),
	    JSON_GET_ABSENT);
	assert_string_equal(s, "untouched");

	assert_int_equal(json_get_string(j, "code", &s, 1, err, sizeof(err)),
	    -1);
	assert_string_equal(err, "code: required");

	assert_int_equal(json_get_string(j, "n", &s, 1, err, sizeof(err)), -1);
	assert_string_equal(err, "n: must be a string");

	/* null is a wrong type, not an absent field */
	assert_int_equal(json_get_string(j, "z", &s, 0, err, sizeof(err)), -1);
	assert_string_equal(err, "z: must be a string");

	json_object_set_new(j, "nul", json_stringn("a\0b", 3));
	assert_int_equal(json_get_string(j, "nul", &s, 1, err, sizeof(err)),
	    -1);
	assert_string_equal(err, "nul: must not contain NUL");
	json_decref(j);
}

static void
test_nested_path(void **state)
{
	char err[128];
	json_int_t n = 0;
	json_t *j;

	(void)state;
	j = load("{\"limits\":{\"timeout_ms\":30000},\"egress\":[]}");
	assert_int_equal(json_get_int(j, "limits.timeout_ms", 1, 3600000, &n,
	    1, err, sizeof(err)), JSON_GET_OK);
	assert_int_equal(n, 30000);
	assert_int_equal(json_get_int(j, "limits.pids", 1, 4096, &n, 0, err,
	    sizeof(err)), JSON_GET_ABSENT);
	assert_int_equal(json_get_int(j, "other.pids", 1, 4096, &n, 0, err,
	    sizeof(err)), JSON_GET_ABSENT);
	assert_int_equal(json_get_int(j, "other.pids", 1, 4096, &n, 1, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "other.pids: required");
	assert_int_equal(json_get_int(j, "egress.allow", 1, 4096, &n, 0, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "egress: must be an object");
	json_decref(j);

	j = load("[]");
	assert_int_equal(json_get_int(j, "x", 0, 1, &n, 0, err, sizeof(err)),
	    -1);
	assert_string_equal(err, "body: must be an object");
	json_decref(j);
}

static void
test_get_int_range(void **state)
{
	static const struct {
		const char *text;
		int rc;
	} cases[] = {
		{ "{\"limits\":{\"timeout_ms\":1}}", JSON_GET_OK },
		{ "{\"limits\":{\"timeout_ms\":3600000}}", JSON_GET_OK },
		{ "{\"limits\":{\"timeout_ms\":0}}", -1 },
		{ "{\"limits\":{\"timeout_ms\":3600001}}", -1 },
		{ "{\"limits\":{\"timeout_ms\":-5}}", -1 },
		{ "{\"limits\":{\"timeout_ms\":5.0}}", -1 },
		{ "{\"limits\":{\"timeout_ms\":\"5\"}}", -1 },
		{ "{\"limits\":{\"timeout_ms\":true}}", -1 },
		{ "{\"limits\":{\"timeout_ms\":9223372036854775807}}", -1 },
	};
	char err[128];
	json_int_t n;
	size_t i;
	json_t *j;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		j = load(cases[i].text);
		err[0] = '\0';
		assert_int_equal(json_get_int(j, "limits.timeout_ms", 1,
		    3600000, &n, 1, err, sizeof(err)), cases[i].rc);
		if (cases[i].rc == -1)
			assert_string_equal(err, "limits.timeout_ms: must be "
			    "an integer in 1..3600000");
		json_decref(j);
	}
}

static void
test_get_bool(void **state)
{
	char err[128];
	int b = -1;
	json_t *j;

	(void)state;
	j = load("{\"wait\":true,\"no\":false,\"one\":1}");
	assert_int_equal(json_get_bool(j, "wait", &b, 1, err, sizeof(err)), 0);
	assert_int_equal(b, 1);
	assert_int_equal(json_get_bool(j, "no", &b, 1, err, sizeof(err)), 0);
	assert_int_equal(b, 0);
	assert_int_equal(json_get_bool(j, "one", &b, 1, err, sizeof(err)), -1);
	assert_string_equal(err, "one: must be a boolean");
	assert_int_equal(json_get_bool(j, "x", &b, 0, err, sizeof(err)),
	    JSON_GET_ABSENT);
	json_decref(j);
}

static void
test_get_string_array(void **state)
{
	const char *items[3];
	char err[128];
	size_t n = 99;
	json_t *j;

	(void)state;
	j = load("{\"egress\":{\"allow\":[\"pypi.org\",\"*.github.com:443\"]},"
	    "\"three\":[\"a\",\"b\",\"c\"],\"four\":[\"a\",\"b\",\"c\",\"d\"],"
	    "\"mixed\":[\"a\",2],\"str\":\"a\",\"empty\":[]}");
	assert_int_equal(json_get_string_array(j, "egress.allow", items, 3,
	    &n, 1, err, sizeof(err)), JSON_GET_OK);
	assert_int_equal(n, 2);
	assert_string_equal(items[0], "pypi.org");
	assert_string_equal(items[1], "*.github.com:443");

	assert_int_equal(json_get_string_array(j, "three", items, 3, &n, 1,
	    err, sizeof(err)), JSON_GET_OK);
	assert_int_equal(n, 3);

	assert_int_equal(json_get_string_array(j, "four", items, 3, &n, 1,
	    err, sizeof(err)), -1);
	assert_string_equal(err, "four: must be an array of at most 3 strings");
	assert_int_equal(n, 0);

	assert_int_equal(json_get_string_array(j, "mixed", items, 3, &n, 1,
	    err, sizeof(err)), -1);
	assert_string_equal(err, "mixed[1]: must be a string without NUL");
	assert_int_equal(n, 0);

	assert_int_equal(json_get_string_array(j, "str", items, 3, &n, 1,
	    err, sizeof(err)), -1);

	assert_int_equal(json_get_string_array(j, "empty", items, 3, &n, 1,
	    err, sizeof(err)), JSON_GET_OK);
	assert_int_equal(n, 0);

	n = 99;
	assert_int_equal(json_get_string_array(j, "bindings", items, 3, &n, 0,
	    err, sizeof(err)), JSON_GET_ABSENT);
	assert_int_equal(n, 0);
	json_decref(j);
}

static void
test_dump_line(void **state)
{
	char *s;
	json_t *j;

	(void)state;
	j = json_object();
	json_object_set_new(j, "z", json_integer(1));
	json_object_set_new(j, "a", json_string("two\nlines"));
	json_object_set_new(j, "m", json_pack("[i,i]", 1, 2));
	s = json_dump_line(j);
	assert_non_null(s);
	assert_string_equal(s, "{\"z\":1,\"a\":\"two\\nlines\",\"m\":[1,2]}");
	assert_null(strchr(s, '\n'));
	free(s);
	json_decref(j);

	j = json_string("bare");
	s = json_dump_line(j);
	assert_string_equal(s, "\"bare\"");
	free(s);
	json_decref(j);
}

static void
test_error_body(void **state)
{
	const char *code = NULL, *msg = NULL;
	json_error_t jerr;
	char *s;
	json_t *j;

	(void)state;
	j = json_error_body("invalid_request", "limits.timeout_ms: required");
	assert_non_null(j);
	assert_int_equal(json_unpack_ex(j, &jerr, JSON_STRICT, "{s:{s:s, s:s}}",
	    "error", "code", &code, "message", &msg), 0);
	assert_string_equal(code, "invalid_request");
	assert_string_equal(msg, "limits.timeout_ms: required");
	s = json_dump_line(j);
	assert_string_equal(s, "{\"error\":{\"code\":\"invalid_request\","
	    "\"message\":\"limits.timeout_ms: required\"}}");
	free(s);
	json_decref(j);

	assert_null(json_error_body("bad", "\xff not utf-8"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_keys),
		cmocka_unit_test(test_get_string),
		cmocka_unit_test(test_nested_path),
		cmocka_unit_test(test_get_int_range),
		cmocka_unit_test(test_get_bool),
		cmocka_unit_test(test_get_string_array),
		cmocka_unit_test(test_dump_line),
		cmocka_unit_test(test_error_body),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
