#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "common/name.h"

static void
test_valid_names(void **state)
{
	const char *why = NULL;
	char max[NETNS_NAME_MAX + 1];

	(void)state;
	assert_int_equal(netns_name_valid("e1a2b3lab", &why), 0);
	assert_int_equal(netns_name_valid("ses_0123.abc-9", &why), 0);
	memset(max, 'a', NETNS_NAME_MAX);
	max[NETNS_NAME_MAX] = '\0';
	assert_int_equal(netns_name_valid(max, &why), 0);
}

static void
test_invalid_names(void **state)
{
	static const char *const bad[] = {
		"", ".", "..", "-x", ".hidden", "a/b", "../etc", "a b", "a\nb",
		"tab\t", "x;rm", "\xc3\xa9t\xc3\xa9",
	};
	char longer[NETNS_NAME_MAX + 2];
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		assert_int_equal(netns_name_valid(bad[i], &why), -1);
		assert_non_null(why);
	}
	assert_int_equal(netns_name_valid(NULL, &why), -1);
	memset(longer, 'a', NETNS_NAME_MAX + 1);
	longer[NETNS_NAME_MAX + 1] = '\0';
	assert_int_equal(netns_name_valid(longer, &why), -1);
	assert_string_equal(why, "name too long");
}

static void
test_ifname_limit(void **state)
{
	const char *why;

	(void)state;
	assert_int_equal(netns_ifname_valid("eabcdef-veth0", &why), 0);
	assert_int_equal(netns_ifname_valid("0123456789abcde", &why), 0);
	assert_int_equal(netns_ifname_valid("0123456789abcdef", &why), -1);
	assert_int_equal(netns_ifname_valid("a/b", &why), -1);
}

static void
test_path(void **state)
{
	char buf[64], tiny[12];
	const char *why;

	(void)state;
	assert_int_equal(netns_path("e1lab", buf, sizeof(buf), &why), 0);
	assert_string_equal(buf, "/run/netns/e1lab");
	assert_int_equal(netns_path("../x", buf, sizeof(buf), &why), -1);
	assert_int_equal(netns_path("e1lab", tiny, sizeof(tiny), &why), -1);
	assert_string_equal(why, "path buffer too small");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_names),
		cmocka_unit_test(test_invalid_names),
		cmocka_unit_test(test_ifname_limit),
		cmocka_unit_test(test_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
