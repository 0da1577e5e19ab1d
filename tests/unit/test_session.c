/* The session layer's pure pieces: ids, byte-safe JSON strings, the
 * session's API shape, and the backend registry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "sessiond/backend.h"
#include "sessiond/session.h"

static void
test_id(void **state)
{
	char a[SESSION_ID_LEN + 1], b[SESSION_ID_LEN + 1], small[8];
	size_t i;

	(void)state;
	assert_int_equal(session_id_new(a, sizeof(a)), 0);
	assert_int_equal(session_id_new(b, sizeof(b)), 0);
	assert_int_equal(strlen(a), SESSION_ID_LEN);
	assert_memory_equal(a, "ses_", 4);
	for (i = 4; i < SESSION_ID_LEN; i++)
		assert_non_null(strchr("0123456789abcdef", a[i]));
	assert_string_not_equal(a, b);
	assert_int_equal(session_id_new(small, sizeof(small)), -1);
}

static void
check_bytes(const char *in, size_t len, const char *want)
{
	json_t *j = session_json_bytes(in, len);

	assert_non_null(j);
	assert_int_equal(json_string_length(j), strlen(want));
	assert_memory_equal(json_string_value(j), want, strlen(want));
	json_decref(j);
}

static void
test_bytes(void **state)
{
	(void)state;
	check_bytes("", 0, "");
	check_bytes(NULL, 0, "");
	check_bytes("plain\n", 6, "plain\n");
	check_bytes("caf\xc3\xa9", 5, "caf\xc3\xa9");
	check_bytes("\xf0\x9f\x94\x92", 4, "\xf0\x9f\x94\x92");
	/* Invalid bytes, NUL, overlong forms, surrogates, a sequence cut by
	 * the output cap: each bad byte becomes U+FFFD. */
	check_bytes("a\xff" "b", 3, "a\xef\xbf\xbd" "b");
	check_bytes("a\0b", 3, "a\xef\xbf\xbd" "b");
	check_bytes("\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd");
	check_bytes("\xed\xa0\x80", 3,
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	check_bytes("ok\xe2\x82", 4, "ok\xef\xbf\xbd\xef\xbf\xbd");
	check_bytes("\xf4\x90\x80\x80", 4,
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}

static void
test_to_json(void **state)
{
	struct session s;
	json_t *j;
	char out[] = "hi\xff";

	(void)state;
	memset(&s, 0, sizeof(s));
	strcpy(s.id, "ses_000000000000000000000000");
	strcpy(s.tenant, "default");
	strcpy(s.backend, "namespace");
	s.phase = PHASE_SUCCEEDED;
	s.has_exit = true;
	s.cap[SP_STDOUT].buf = out;
	s.cap[SP_STDOUT].len = 3;
	s.cap[SP_STDERR].truncated = true;
	s.created_ms = 1795900000123LL;
	assert_non_null(j = session_to_json(&s));
	assert_string_equal(json_string_value(json_object_get(j, "phase")),
	    "succeeded");
	assert_int_equal(json_integer_value(json_object_get(j, "exit_code")), 0);
	assert_true(json_is_null(json_object_get(j, "signal")));
	assert_true(json_is_null(json_object_get(j, "result")));
	assert_true(json_is_null(json_object_get(j, "finished_at")));
	assert_string_equal(json_string_value(json_object_get(j, "stdout")),
	    "hi\xef\xbf\xbd");
	assert_true(json_is_true(json_object_get(j, "stderr_truncated")));
	assert_string_equal(json_string_value(json_object_get(j,
	    "created_at")), "2026-11-28T21:06:40.123Z");
	assert_non_null(json_object_get(json_object_get(j, "usage"),
	    "egress_bytes"));
	json_decref(j);
}

static void
test_registry(void **state)
{
	const struct session_backend *const *all;
	size_t n, i;

	(void)state;
	all = backend_all(&n);
	assert_true(n >= 1);
	assert_ptr_equal(backend_find("namespace"), &backend_namespace);
	assert_null(backend_find("vax"));
	assert_null(backend_find(""));
	for (i = 0; i < n; i++) {
		assert_ptr_equal(backend_find(all[i]->name), all[i]);
		assert_non_null(all[i]->isolation);
		assert_non_null(all[i]->probe);
		assert_non_null(all[i]->start);
		assert_non_null(all[i]->wait_fd);
		assert_non_null(all[i]->wait);
		assert_non_null(all[i]->kill);
		assert_non_null(all[i]->usage);
		assert_non_null(all[i]->free);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_id),
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_to_json),
		cmocka_unit_test(test_registry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
