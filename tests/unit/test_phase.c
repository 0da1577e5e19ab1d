#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "sessiond/phase.h"

static void
test_names_round_trip(void **state)
{
	static const char *const names[] = { "pending", "starting", "running",
		"succeeded", "failed", "timed_out", "killed", "error" };
	enum phase p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(phase_parse(names[i], &p), 0);
		assert_int_equal(p, (enum phase)i);
		assert_string_equal(phase_name(p), names[i]);
	}
	assert_int_equal(phase_parse("Running", &p), -1);
	assert_int_equal(phase_parse("", &p), -1);
	assert_string_equal(phase_name((enum phase)99), "invalid");
}

static void
test_happy_path(void **state)
{
	(void)state;
	assert_int_equal(phase_transition_ok(PHASE_PENDING, PHASE_STARTING), 0);
	assert_int_equal(phase_transition_ok(PHASE_STARTING, PHASE_RUNNING), 0);
	assert_int_equal(phase_transition_ok(PHASE_RUNNING, PHASE_SUCCEEDED), 0);
	assert_int_equal(phase_transition_ok(PHASE_RUNNING, PHASE_FAILED), 0);
	assert_int_equal(phase_transition_ok(PHASE_RUNNING, PHASE_TIMED_OUT), 0);
}

static void
test_kill_and_error_from_live_phases(void **state)
{
	enum phase p;

	(void)state;
	for (p = PHASE_PENDING; p <= PHASE_RUNNING; p++) {
		assert_int_equal(phase_transition_ok(p, PHASE_KILLED), 0);
		assert_int_equal(phase_transition_ok(p, PHASE_ERROR), 0);
		assert_false(phase_is_terminal(p));
	}
}

static void
test_illegal_steps(void **state)
{
	enum phase from, to;

	(void)state;
	assert_int_equal(phase_transition_ok(PHASE_PENDING, PHASE_RUNNING), -1);
	assert_int_equal(phase_transition_ok(PHASE_PENDING, PHASE_SUCCEEDED), -1);
	assert_int_equal(phase_transition_ok(PHASE_STARTING, PHASE_SUCCEEDED), -1);
	assert_int_equal(phase_transition_ok(PHASE_RUNNING, PHASE_PENDING), -1);
	assert_int_equal(phase_transition_ok(PHASE_RUNNING, PHASE_RUNNING), -1);
	/* Terminal phases are final. */
	for (from = PHASE_SUCCEEDED; from <= PHASE_ERROR; from++) {
		assert_true(phase_is_terminal(from));
		for (to = PHASE_PENDING; to <= PHASE_ERROR; to++)
			assert_int_equal(phase_transition_ok(from, to), -1);
	}
	assert_int_equal(phase_transition_ok((enum phase)42, PHASE_KILLED), -1);
	assert_int_equal(phase_transition_ok(PHASE_RUNNING, (enum phase)42), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_round_trip),
		cmocka_unit_test(test_happy_path),
		cmocka_unit_test(test_kill_and_error_from_live_phases),
		cmocka_unit_test(test_illegal_steps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
