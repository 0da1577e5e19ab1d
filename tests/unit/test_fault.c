#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "sessiond/fault.h"

static void
test_plain_name(void **state)
{
	char name[FAULT_NAME_MAX + 1];
	unsigned long nth = 0;

	(void)state;
	assert_int_equal(fault_parse("setup.netns", name, sizeof(name), &nth),
	    0);
	assert_string_equal(name, "setup.netns");
	assert_int_equal(nth, 1);
	assert_int_equal(fault_parse("a_b.9", name, sizeof(name), &nth), 0);
	assert_string_equal(name, "a_b.9");
}

static void
test_nth(void **state)
{
	char name[FAULT_NAME_MAX + 1];
	unsigned long nth = 0;

	(void)state;
	assert_int_equal(fault_parse("teardown.proxy:2", name, sizeof(name),
	    &nth), 0);
	assert_string_equal(name, "teardown.proxy");
	assert_int_equal(nth, 2);
	assert_int_equal(fault_parse("x:1", name, sizeof(name), &nth), 0);
	assert_int_equal(nth, 1);
	assert_int_equal(fault_parse("x:007", name, sizeof(name), &nth), 0);
	assert_int_equal(nth, 7);
	assert_int_equal(fault_parse("x:1000000", name, sizeof(name), &nth),
	    0);
	assert_int_equal(nth, FAULT_NTH_MAX);
}

static void
test_malformed(void **state)
{
	static const char *const bad[] = {
		"", ":", ":3", "x:", "x:0", "x:-1", "x:+1", "x: 1", "x:1 ",
		"x:0x10", "x:1:2", "x:1000001", "x:99999999999999999999999",
		"Setup.netns", "setup netns", "setup/netns", "setup-netns",
		"x\n", "\xc3\xa9",
	};
	char name[FAULT_NAME_MAX + 1];
	unsigned long nth;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strcpy(name, "untouched");
		nth = 42;
		assert_int_equal(fault_parse(bad[i], name, sizeof(name), &nth),
		    -1);
		assert_string_equal(name, "untouched");
		assert_int_equal(nth, 42);
	}
	assert_int_equal(fault_parse(NULL, name, sizeof(name), &nth), -1);
}

static void
test_length_bounds(void **state)
{
	char spec[FAULT_NAME_MAX + 8], name[FAULT_NAME_MAX + 1], small[4];
	unsigned long nth;

	(void)state;
	memset(spec, 'a', FAULT_NAME_MAX);
	spec[FAULT_NAME_MAX] = '\0';
	assert_int_equal(fault_parse(spec, name, sizeof(name), &nth), 0);
	assert_int_equal(strlen(name), FAULT_NAME_MAX);
	strcpy(spec + FAULT_NAME_MAX, ":3");
	assert_int_equal(fault_parse(spec, name, sizeof(name), &nth), 0);
	assert_int_equal(nth, 3);
	spec[FAULT_NAME_MAX] = 'a';
	spec[FAULT_NAME_MAX + 1] = '\0';
	assert_int_equal(fault_parse(spec, name, sizeof(name), &nth), -1);
	/* The caller's buffer bounds it too. */
	assert_int_equal(fault_parse("abc", small, sizeof(small), &nth), 0);
	assert_string_equal(small, "abc");
	assert_int_equal(fault_parse("abcd", small, sizeof(small), &nth), -1);
}

/* Unarmed or armed elsewhere, a point is a no-op: the test lives on. */
static void
test_inert_points(void **state)
{
	(void)state;
	unsetenv("ENCLAVE_FAULT");
	fault_init();
	fault_point("setup.netns");
	setenv("ENCLAVE_FAULT", "teardown.proxy:2", 1);
	fault_init();
	fault_point("setup.netns");
	fault_point("teardown.proxy");	/* the first of two: not yet */
	setenv("ENCLAVE_FAULT", "not valid!", 1);
	fault_init();
	fault_point("not valid!");
	unsetenv("ENCLAVE_FAULT");
	fault_init();
}

/* Armed with NAME:2, a child passes NAME once and lives, then dies by
 * SIGKILL at the second pass, never reaching the line after it. */
static void
test_kills_at_nth_pass(void **state)
{
	int status = 0;
	pid_t pid;

	(void)state;
	if ((pid = fork()) == 0) {
		setenv("ENCLAVE_FAULT", "teardown.proxy:2", 1);
		fault_init();
		fault_point("teardown.rules");
		fault_point("teardown.proxy");
		fault_point("teardown.proxy");
		_exit(3);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);

	if ((pid = fork()) == 0) {
		setenv("ENCLAVE_FAULT", "teardown.proxy:2", 1);
		fault_init();
		fault_point("teardown.proxy");
		_exit(3);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_name),
		cmocka_unit_test(test_nth),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_length_bounds),
		cmocka_unit_test(test_inert_points),
		cmocka_unit_test(test_kills_at_nth_pass),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
