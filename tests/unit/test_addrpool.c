#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "common/ip.h"
#include "netns/addrpool.h"

static struct ip_addr
addr(const char *s)
{
	struct ip_addr a;
	const char *why;

	assert_int_equal(ip_parse(s, strlen(s), &a, &why), 0);
	return a;
}

static void
assert_pair(const struct addrpool_pair *p, const char *host,
    const char *sess)
{
	char h[IP_STRLEN], s[IP_STRLEN];

	assert_int_equal(ip_format(&p->host, h, sizeof(h)), 0);
	assert_int_equal(ip_format(&p->sess, s, sizeof(s)), 0);
	assert_string_equal(h, host);
	assert_string_equal(s, sess);
}

static void
test_lowest_first_never_twice(void **state)
{
	static struct addrpool pool;
	struct addrpool_pair p, q;
	char err[128];
	unsigned int i;

	(void)state;
	assert_int_equal(addrpool_init(&pool, "198.19.0.0/16", err,
	    sizeof(err)), 0);
	assert_int_equal(addrpool_size(&pool), 32768);
	assert_int_equal(addrpool_alloc(&pool, &p), 0);
	assert_pair(&p, "198.19.0.0", "198.19.0.1");
	assert_int_equal(addrpool_alloc(&pool, &p), 0);
	assert_pair(&p, "198.19.0.2", "198.19.0.3");
	/* Across a bitmap word boundary (pair 64 is 198.19.0.128). */
	for (i = 2; i < 65; i++)
		assert_int_equal(addrpool_alloc(&pool, &q), 0);
	assert_pair(&q, "198.19.0.128", "198.19.0.129");
	assert_int_equal(addrpool_used(&pool), 65);
	assert_int_equal(addrpool_in_use(&pool, &q.sess), 1);
}

static void
test_exhaustion_free_reuse(void **state)
{
	static struct addrpool pool;
	struct addrpool_pair p[4], extra;
	struct ip_addr a;
	char err[128];
	int i;

	(void)state;
	assert_int_equal(addrpool_init(&pool, "198.19.0.0/29", err,
	    sizeof(err)), 0);
	assert_int_equal(addrpool_size(&pool), 4);
	for (i = 0; i < 4; i++)
		assert_int_equal(addrpool_alloc(&pool, &p[i]), 0);
	assert_pair(&p[3], "198.19.0.6", "198.19.0.7");
	assert_int_equal(addrpool_alloc(&pool, &extra), -ENOSPC);
	/* Free by the session address; the same pair comes back, lowest first. */
	assert_int_equal(addrpool_free(&pool, &p[2].sess), 0);
	assert_int_equal(addrpool_free(&pool, &p[1].host), 0);
	assert_int_equal(addrpool_alloc(&pool, &extra), 0);
	assert_pair(&extra, "198.19.0.2", "198.19.0.3");
	assert_int_equal(addrpool_alloc(&pool, &extra), 0);
	assert_pair(&extra, "198.19.0.4", "198.19.0.5");
	assert_int_equal(addrpool_alloc(&pool, &extra), -ENOSPC);
	a = addr("198.19.0.8");
	assert_int_equal(addrpool_free(&pool, &a), -ERANGE);
}

static void
test_single_pair_pool(void **state)
{
	struct addrpool pool;
	struct addrpool_pair p;
	char err[128];

	(void)state;
	assert_int_equal(addrpool_init(&pool, "198.19.7.6/31", err,
	    sizeof(err)), 0);
	assert_int_equal(addrpool_alloc(&pool, &p), 0);
	assert_pair(&p, "198.19.7.6", "198.19.7.7");
	assert_int_equal(addrpool_alloc(&pool, &p), -ENOSPC);
}

static void
test_double_free(void **state)
{
	struct addrpool pool;
	struct addrpool_pair p;
	struct ip_addr never;
	char err[128];

	(void)state;
	assert_int_equal(addrpool_init(&pool, "198.19.0.0/24", err,
	    sizeof(err)), 0);
	assert_int_equal(addrpool_alloc(&pool, &p), 0);
	assert_int_equal(addrpool_free(&pool, &p.host), 0);
	assert_int_equal(addrpool_free(&pool, &p.host), -ENOENT);
	assert_int_equal(addrpool_free(&pool, &p.sess), -ENOENT);
	never = addr("198.19.0.200");
	assert_int_equal(addrpool_free(&pool, &never), -ENOENT);
	assert_int_equal(addrpool_used(&pool), 0);
}

/* A restarted daemon rebuilds the pool from the addresses it finds. */
static void
test_mark_used_after_restart(void **state)
{
	static struct addrpool before, after;
	struct addrpool_pair p[3], q;
	struct ip_addr outside, v6;
	char err[128];
	int i;

	(void)state;
	assert_int_equal(addrpool_init(&before, "198.19.0.0/24", err,
	    sizeof(err)), 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(addrpool_alloc(&before, &p[i]), 0);
	assert_int_equal(addrpool_free(&before, &p[1].host), 0);

	assert_int_equal(addrpool_init(&after, "198.19.0.0/24", err,
	    sizeof(err)), 0);
	/* Host sides are what the appliance netns shows; session sides too. */
	assert_int_equal(addrpool_mark_used(&after, &p[0].host), 0);
	assert_int_equal(addrpool_mark_used(&after, &p[2].sess), 0);
	assert_int_equal(addrpool_mark_used(&after, &p[2].host), 0);
	assert_int_equal(addrpool_used(&after), 2);
	outside = addr("198.18.0.1");
	assert_int_equal(addrpool_mark_used(&after, &outside), -ERANGE);
	outside = addr("198.19.1.0");
	assert_int_equal(addrpool_mark_used(&after, &outside), -ERANGE);
	v6 = addr("2001:db8::1");
	assert_int_equal(addrpool_mark_used(&after, &v6), -ERANGE);

	assert_int_equal(addrpool_alloc(&after, &q), 0);
	assert_pair(&q, "198.19.0.2", "198.19.0.3");
	assert_int_equal(addrpool_alloc(&after, &q), 0);
	assert_pair(&q, "198.19.0.6", "198.19.0.7");
}

static void
test_bad_pools(void **state)
{
	static const char *const bad[] = {
		"198.18.0.0/15",	/* bigger than a /16 */
		"198.19.0.0/15",	/* host bits for a /15 */
		"0.0.0.0/0",
		"198.19.0.1/32",	/* smaller than a pair */
		"198.19.0.0/32",
		"198.19.0.1/24",	/* host bits */
		"198.19.0.1/31",
		"198.19.0.0",		/* no prefix */
		"198.19.0.0/",
		"2001:db8::/120",	/* IPv6 */
		"not-an-address/24",
		"",
	};
	struct addrpool pool;
	struct addrpool_pair p;
	char err[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(addrpool_init(&pool, bad[i], err, sizeof(err)),
		    -EINVAL);
		assert_true(err[0] != '\0');
		/* A refused pool hands out nothing. */
		assert_int_equal(addrpool_alloc(&pool, &p), -ENOSPC);
	}
	assert_int_equal(addrpool_init(&pool, NULL, err, sizeof(err)), -EINVAL);
	assert_int_equal(addrpool_init(&pool, "198.18.0.0/15", err,
	    sizeof(err)), -EINVAL);
	assert_string_equal(err, "address pool 198.18.0.0/15: larger than a /16");
}

static void
test_pair_of(void **state)
{
	struct addrpool pool;
	struct addrpool_pair p;
	struct ip_addr a;
	char err[128];

	(void)state;
	assert_int_equal(addrpool_init(&pool, "198.19.4.0/22", err,
	    sizeof(err)), 0);
	a = addr("198.19.5.9");
	assert_int_equal(addrpool_pair_of(&pool, &a, &p), 0);
	assert_pair(&p, "198.19.5.8", "198.19.5.9");
	assert_int_equal(addrpool_in_use(&pool, &a), 0);
	assert_int_equal(addrpool_pair_at(&pool, 511, &p), 0);
	assert_pair(&p, "198.19.7.254", "198.19.7.255");
	assert_int_equal(addrpool_pair_at(&pool, 512, &p), -ERANGE);
	a = addr("198.19.8.0");
	assert_int_equal(addrpool_in_use(&pool, &a), -ERANGE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lowest_first_never_twice),
		cmocka_unit_test(test_exhaustion_free_reuse),
		cmocka_unit_test(test_single_pair_pool),
		cmocka_unit_test(test_double_free),
		cmocka_unit_test(test_mark_used_after_restart),
		cmocka_unit_test(test_bad_pools),
		cmocka_unit_test(test_pair_of),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
