#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include "common/clock.h"
#include "common/hash.h"

static void
test_monotonic_never_goes_back(void **state)
{
	uint64_t a, b;
	int i;

	(void)state;
	a = clock_monotonic_ms();
	for (i = 0; i < 1000; i++) {
		b = clock_monotonic_ms();
		assert_true(b >= a);
		a = b;
	}
}

static void
test_realtime_is_the_epoch(void **state)
{
	int64_t ms = clock_realtime_ms();
	int64_t s = (int64_t)time(NULL);

	(void)state;
	assert_true(ms / 1000 >= s - 1 && ms / 1000 <= s + 1);
}

/* Published FNV-1a 32-bit test vectors. */
static void
test_ms_timeval(void **state)
{
	struct timeval tv;

	(void)state;
	tv = clock_ms_timeval(0);
	assert_int_equal(tv.tv_sec, 0);
	assert_int_equal(tv.tv_usec, 0);
	tv = clock_ms_timeval(999);
	assert_int_equal(tv.tv_sec, 0);
	assert_int_equal(tv.tv_usec, 999000);
	tv = clock_ms_timeval(UINT64_C(86401500));
	assert_int_equal(tv.tv_sec, 86401);
	assert_int_equal(tv.tv_usec, 500000);
}

static void
test_fnv1a_vectors(void **state)
{
	(void)state;
	assert_int_equal(hash_str(HASH_INIT, ""), 0x811c9dc5u);
	assert_int_equal(hash_str(HASH_INIT, "a"), 0xe40c292cu);
	assert_int_equal(hash_str(HASH_INIT, "foobar"), 0xbf9cf968u);
	assert_int_equal(hash_bytes(HASH_INIT, "foobar", 6), 0xbf9cf968u);
	/* Chaining is the same as hashing the concatenation. */
	assert_int_equal(hash_str(hash_str(HASH_INIT, "foo"), "bar"), 0xbf9cf968u);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_monotonic_never_goes_back),
		cmocka_unit_test(test_realtime_is_the_epoch),
		cmocka_unit_test(test_ms_timeval),
		cmocka_unit_test(test_fnv1a_vectors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
