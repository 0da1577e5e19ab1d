#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/log.h"

static FILE *cap;

static int
setup(void **state)
{
	(void)state;
	cap = tmpfile();
	assert_non_null(cap);
	log_init("test", 0, LOG_LEVEL_INFO);
	log_set_stream(cap);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	log_set_stream(NULL);
	fclose(cap);
	return 0;
}

/* Returns what was logged since the last call, and resets the capture. */
static const char *
captured(void)
{
	static char buf[4096];
	size_t n;

	fflush(cap);
	rewind(cap);
	n = fread(buf, 1, sizeof(buf) - 1, cap);
	buf[n] = '\0';
	rewind(cap);
	if (ftruncate(fileno(cap), 0) != 0)
		fail();
	return buf;
}

static void
test_warn_appends_strerror(void **state)
{
	(void)state;
	errno = ENOENT;
	log_warn("open %s", "x.conf");
	assert_int_equal(errno, ENOENT);
	assert_string_equal(captured(), "test: open x.conf: No such file or directory\n");
}

static void
test_warnx_has_no_errno(void **state)
{
	(void)state;
	errno = EACCES;
	log_warnx("bad line %d", 3);
	assert_int_equal(errno, EACCES);
	assert_string_equal(captured(), "test: bad line 3\n");
}

static void
test_levels_filter(void **state)
{
	(void)state;
	log_set_level(LOG_LEVEL_INFO);
	errno = EPERM;
	log_debug("hidden");
	assert_int_equal(errno, EPERM);
	log_info("shown");
	assert_string_equal(captured(), "test: shown\n");

	log_set_level(LOG_LEVEL_WARN);
	log_info("hidden");
	log_warnx("still shown");
	assert_string_equal(captured(), "test: still shown\n");

	log_set_level(LOG_LEVEL_DEBUG);
	log_debug("now shown");
	assert_string_equal(captured(), "test: now shown\n");
	assert_int_equal(log_get_level(), LOG_LEVEL_DEBUG);
	log_set_level(LOG_LEVEL_INFO);
}

static void
test_level_parse(void **state)
{
	enum log_level l;

	(void)state;
	assert_int_equal(log_level_parse("warn", &l), 0);
	assert_int_equal(l, LOG_LEVEL_WARN);
	assert_int_equal(log_level_parse("info", &l), 0);
	assert_int_equal(l, LOG_LEVEL_INFO);
	assert_int_equal(log_level_parse("debug", &l), 0);
	assert_int_equal(l, LOG_LEVEL_DEBUG);
	assert_int_equal(log_level_parse("DEBUG", &l), -1);
	assert_int_equal(log_level_parse("", &l), -1);
	assert_int_equal(log_level_parse("trace", &l), -1);
}

static void
test_long_message_is_truncated(void **state)
{
	char big[3000];
	const char *out;

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_warnx("%s", big);
	out = captured();
	assert_true(strlen(out) < 1100);
	assert_int_equal(out[strlen(out) - 1], '\n');
}

static void
test_fatal_exits_with_message(void **state)
{
	pid_t pid;
	int status;
	const char *out;

	(void)state;
	fflush(cap);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		errno = EADDRINUSE;
		fatal("bind %s", "198.18.0.1:80");
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	out = captured();
	assert_string_equal(out, "test: bind 198.18.0.1:80: Address already in use\n");

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		fatalx("invariant %s broken", "x");
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	assert_string_equal(captured(), "test: invariant x broken\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_warn_appends_strerror),
		cmocka_unit_test(test_warnx_has_no_errno),
		cmocka_unit_test(test_levels_filter),
		cmocka_unit_test(test_level_parse),
		cmocka_unit_test(test_long_message_is_truncated),
		cmocka_unit_test(test_fatal_exits_with_message),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
