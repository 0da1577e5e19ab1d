#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "common/err.h"

static void
test_formats_and_returns_minus_one(void **state)
{
	char err[64];

	(void)state;
	errno = EEXIST;
	assert_int_equal(err_set(err, sizeof(err), "add %s #%d", "rule", 3), -1);
	assert_string_equal(err, "add rule #3");
	assert_int_equal(errno, EEXIST);
}

static void
test_truncates_within_the_buffer(void **state)
{
	char err[8];

	(void)state;
	assert_int_equal(err_set(err, sizeof(err), "%s", "a long message"), -1);
	assert_string_equal(err, "a long ");
	/* A NULL or empty buffer is allowed: the caller may not want text. */
	assert_int_equal(err_set(NULL, 0, "%s", "x"), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_formats_and_returns_minus_one),
		cmocka_unit_test(test_truncates_within_the_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
