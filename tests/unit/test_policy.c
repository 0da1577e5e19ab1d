#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rules/policy.h"

static struct policy *
policy_of(const char *const *pats, size_t n)
{
	struct policy *p = policy_new();
	char err[256];
	size_t i;

	assert_non_null(p);
	for (i = 0; i < n; i++)
		assert_int_equal(policy_add(p, pats[i], strlen(pats[i]), err,
		    sizeof(err)), 0);
	return p;
}

static enum policy_verdict
check(const struct policy *p, const char *host, uint16_t port)
{
	return policy_check(p, host, strlen(host), port, NULL);
}

static void
test_default_deny(void **state)
{
	struct policy *p = policy_new();

	(void)state;
	assert_int_equal(check(p, "allowed.test", 80), POLICY_DENY_NOT_ALLOWED);
	assert_int_equal(policy_count(p), 0);
	policy_free(p);
}

static void
test_exact_and_wildcard(void **state)
{
	static const char *const pats[] = { "pypi.org", "*.github.com:443" };
	struct policy *p = policy_of(pats, 2);
	char canon[HOSTNAME_MAX + 1];

	(void)state;
	assert_int_equal(check(p, "pypi.org", 80), POLICY_ALLOW);
	assert_int_equal(check(p, "pypi.org", 443), POLICY_ALLOW);
	assert_int_equal(check(p, "pypi.org", 8080), POLICY_DENY_NOT_ALLOWED);
	assert_int_equal(policy_check(p, "PyPI.ORG.", 9, 443, canon), POLICY_ALLOW);
	assert_string_equal(canon, "pypi.org");
	assert_int_equal(check(p, "files.pypi.org", 443), POLICY_DENY_NOT_ALLOWED);
	assert_int_equal(check(p, "api.github.com", 443), POLICY_ALLOW);
	assert_int_equal(check(p, "a.b.github.com", 443), POLICY_ALLOW);
	assert_int_equal(check(p, "api.github.com", 80), POLICY_DENY_NOT_ALLOWED);
	assert_int_equal(check(p, "github.com", 443), POLICY_DENY_NOT_ALLOWED);
	assert_int_equal(check(p, "api.github.com.evil", 443), POLICY_DENY_NOT_ALLOWED);
	assert_int_equal(check(p, "xgithub.com", 443), POLICY_DENY_NOT_ALLOWED);
	policy_free(p);
}

static void
test_ip_literals_are_reported(void **state)
{
	static const char *const pats[] = { "allowed.test" };
	struct policy *p = policy_of(pats, 1);

	(void)state;
	assert_int_equal(check(p, "169.254.169.254", 80), POLICY_DENY_IP_LITERAL);
	assert_int_equal(check(p, "2852039166", 80), POLICY_DENY_IP_LITERAL);
	assert_int_equal(check(p, "0xa9fea9fe", 80), POLICY_DENY_IP_LITERAL);
	assert_int_equal(check(p, "[::1]", 80), POLICY_DENY_IP_LITERAL);
	assert_int_equal(check(p, "fd00:ec2::254", 443), POLICY_DENY_IP_LITERAL);
	assert_int_equal(check(p, "[::1", 80), POLICY_DENY_INVALID_HOST);
	assert_int_equal(check(p, "allowed.test:80", 80), POLICY_DENY_INVALID_HOST);
	assert_int_equal(check(p, "::ffff:169.254.169.254", 80), POLICY_DENY_IP_LITERAL);
	policy_free(p);
}

static void
test_invalid_hosts(void **state)
{
	static const char *const pats[] = { "allowed.test" };
	struct policy *p = policy_of(pats, 1);
	char canon[HOSTNAME_MAX + 1];

	(void)state;
	assert_int_equal(check(p, "", 80), POLICY_DENY_INVALID_HOST);
	assert_int_equal(check(p, "allowed..test", 80), POLICY_DENY_INVALID_HOST);
	assert_int_equal(check(p, "allowed.test\r\nX: y", 80), POLICY_DENY_INVALID_HOST);
	assert_int_equal(check(p, "b\xc3\xbc" "cher.de", 80), POLICY_DENY_INVALID_HOST);
	assert_int_equal(policy_check(p, "allowed.test\0.evil", 18, 80, canon),
	    POLICY_DENY_INVALID_HOST);
	assert_string_equal(canon, "");
	/* A length shorter than the string: only that prefix is judged. */
	assert_int_equal(policy_check(p, "allowed.testing", 12, 80, NULL), POLICY_ALLOW);
	policy_free(p);
}

static void
test_bad_patterns_name_the_pattern(void **state)
{
	static const char *const bad[] = { "*", "*.", "*.*.x", "a.*.x", "a..b",
		"1.2.3.4", "x.com:0", "x.com:65536", "" };
	struct policy *p = policy_new();
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(policy_add(p, bad[i], strlen(bad[i]), err,
		    sizeof(err)), -1);
		assert_non_null(strstr(err, "invalid allow pattern"));
		assert_non_null(strstr(err, bad[i]));
	}
	assert_int_equal(policy_count(p), 0);
	policy_free(p);
}

static void
test_limits_and_duplicates(void **state)
{
	struct policy *p = policy_new();
	char err[256], pat[64];
	int i;

	(void)state;
	assert_int_equal(policy_add(p, "a.test", 6, err, sizeof(err)), 0);
	assert_int_equal(policy_add(p, "A.TEST.", 7, err, sizeof(err)), 0);
	assert_int_equal(policy_count(p), 1);
	for (i = 1; i < POLICY_MAX_PATTERNS; i++) {
		snprintf(pat, sizeof(pat), "h%d.test", i);
		assert_int_equal(policy_add(p, pat, strlen(pat), err, sizeof(err)), 0);
	}
	assert_int_equal(policy_count(p), POLICY_MAX_PATTERNS);
	assert_int_equal(policy_add(p, "one-more.test", 13, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too many"));
	policy_free(p);
	policy_free(NULL);
}

static void
test_patterns_canonical_in_order(void **state)
{
	static const char *const pats[] = { "PyPI.org.", "*.github.com:443",
		"pypi.org" };
	struct policy *p = policy_of(pats, 3);
	char **v;
	size_t n;

	(void)state;
	assert_int_equal(policy_patterns(p, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0], "pypi.org");
	assert_string_equal(v[1], "*.github.com:443");
	policy_patterns_free(v, n);
	policy_free(p);
	p = policy_new();
	assert_int_equal(policy_patterns(p, &v, &n), 0);
	assert_null(v);
	assert_int_equal(n, 0);
	policy_free(p);
}

static void
test_name_allowed_on_any_port(void **state)
{
	static const char *const pats[] = { "pypi.org", "*.github.com:8443" };
	struct policy *p = policy_of(pats, 2);

	(void)state;
	assert_true(policy_name_allowed(p, "pypi.org"));
	assert_true(policy_name_allowed(p, "api.github.com"));
	assert_false(policy_name_allowed(p, "github.com"));
	assert_false(policy_name_allowed(p, "exfil.attacker.example"));
	policy_free(p);
}

static void
test_reasons(void **state)
{
	(void)state;
	assert_string_equal(policy_verdict_reason(POLICY_ALLOW), "allowed");
	assert_string_equal(policy_verdict_reason(POLICY_DENY_NOT_ALLOWED), "not_allowlisted");
	assert_string_equal(policy_verdict_reason(POLICY_DENY_INVALID_HOST), "invalid_host");
	assert_string_equal(policy_verdict_reason(POLICY_DENY_IP_LITERAL), "ip_literal");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_deny),
		cmocka_unit_test(test_exact_and_wildcard),
		cmocka_unit_test(test_ip_literals_are_reported),
		cmocka_unit_test(test_invalid_hosts),
		cmocka_unit_test(test_bad_patterns_name_the_pattern),
		cmocka_unit_test(test_limits_and_duplicates),
		cmocka_unit_test(test_patterns_canonical_in_order),
		cmocka_unit_test(test_name_allowed_on_any_port),
		cmocka_unit_test(test_reasons),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
