#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "proxyd/decide.h"
#include "proxyd/resolved.h"

struct fixture {
	struct policy *allow;
	struct cidr_set exempt;
	struct resolved_table rt;
	struct decide_ctx ctx;
};

static struct ip_addr
addr(const char *s)
{
	struct ip_addr a;

	assert_int_equal(ip_parse(s, strlen(s), &a, NULL), 0);
	return a;
}

static int
setup(void **state)
{
	static struct fixture f;
	static const char *const pats[] = { "allowed.test", "*.allowed.test:443" };
	struct cidr lab;
	char err[128];
	size_t i;

	memset(&f, 0, sizeof(f));
	f.allow = policy_new();
	for (i = 0; i < 2; i++)
		assert_int_equal(policy_add(f.allow, pats[i], strlen(pats[i]), err,
		    sizeof(err)), 0);
	/* The test lab's exemption: 198.18.0.0/15 is otherwise "reserved". */
	assert_int_equal(cidr_parse("198.18.0.0/15", 13, &lab, NULL), 0);
	assert_int_equal(cidr_set_add(&f.exempt, &lab), 0);
	resolved_init(&f.rt);
	f.ctx.allow = f.allow;
	f.ctx.exempt = &f.exempt;
	f.ctx.resolved = &f.rt;
	f.ctx.now_ms = 1000000;
	*state = &f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	policy_free(f->allow);
	cidr_set_free(&f->exempt);
	resolved_free(&f->rt);
	return 0;
}

static void
name(struct fixture *f, const char *host, uint16_t port, struct decision *d)
{
	decide_name(&f->ctx, host, strlen(host), port, d);
}

static void
test_allowed_name_needs_resolution(void **state)
{
	struct fixture *f = *state;
	struct decision d;

	name(f, "Allowed.TEST.", 80, &d);
	assert_int_equal(d.reason, DECIDE_ALLOWED);
	assert_true(d.need_resolve);
	assert_false(d.have_connect);
	assert_string_equal(d.host, "allowed.test");
	name(f, "api.allowed.test", 443, &d);
	assert_int_equal(d.reason, DECIDE_ALLOWED);
	name(f, "api.allowed.test", 80, &d);
	assert_int_equal(d.reason, DECIDE_NOT_ALLOWLISTED);
	name(f, "other.test", 443, &d);
	assert_int_equal(d.reason, DECIDE_NOT_ALLOWLISTED);
	assert_string_equal(d.host, "other.test");
	assert_false(d.need_resolve);
	name(f, "allowed.test", 8080, &d);
	assert_int_equal(d.reason, DECIDE_NOT_ALLOWLISTED);
	name(f, "bad host", 80, &d);
	assert_int_equal(d.reason, DECIDE_INVALID_HOST);
	name(f, "1.2.3.999", 80, &d);
	assert_int_equal(d.reason, DECIDE_INVALID_HOST);
}

static void
test_metadata_every_spelling(void **state)
{
	static const char *const spellings[] = {
		"169.254.169.254", "2852039166", "0251.0376.0251.0376",
		"0xa9fea9fe", "169.254.43518", "0xa9.0xfe.0xa9.0xfe",
		"[::ffff:169.254.169.254]", "[::ffff:a9fe:a9fe]",
		"[64:ff9b::a9fe:a9fe]", "[2002:a9fe:a9fe::1]",
	};
	struct fixture *f = *state;
	struct decision d;
	size_t i;

	for (i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++) {
		name(f, spellings[i], 80, &d);
		assert_int_equal(d.reason, DECIDE_BLOCKED_RANGE);
		assert_int_equal(d.cls, IP_CLASS_METADATA);
		assert_false(d.have_connect);
		assert_string_equal(decide_reason_name(d.reason), "blocked_range");
	}
	/* The plain spellings are all reported as the one address. */
	name(f, "0xa9fea9fe", 80, &d);
	assert_string_equal(d.host, "169.254.169.254");
}

static void
test_private_literals(void **state)
{
	struct fixture *f = *state;
	struct decision d;

	name(f, "10.0.0.5", 80, &d);
	assert_int_equal(d.reason, DECIDE_BLOCKED_RANGE);
	assert_int_equal(d.cls, IP_CLASS_PRIVATE);
	name(f, "127.1", 80, &d);
	assert_int_equal(d.cls, IP_CLASS_LOOPBACK);
	name(f, "[::1]", 80, &d);
	assert_int_equal(d.cls, IP_CLASS_LOOPBACK);
}

static void
test_literal_needs_our_resolution(void **state)
{
	struct fixture *f = *state;
	struct decision d;
	struct ip_addr a = addr("198.18.1.10");

	name(f, "198.18.1.10", 80, &d);
	assert_int_equal(d.reason, DECIDE_UNRESOLVED_DESTINATION);
	assert_string_equal(decide_reason_name(d.reason), "unresolved_destination");

	assert_int_equal(resolved_add(&f->rt, "allowed.test", &a, 60, f->ctx.now_ms), 0);
	/* (60 s is above RESOLVED_TTL_MIN, so it is kept as is.) */
	name(f, "198.18.1.10", 80, &d);
	assert_int_equal(d.reason, DECIDE_ALLOWED);
	assert_true(d.have_connect);
	assert_true(ip_equal(&d.connect, &a));
	/* Resolved for a name that is not allowed on this port. */
	name(f, "198.18.1.10", 8080, &d);
	assert_int_equal(d.reason, DECIDE_UNRESOLVED_DESTINATION);

	/* Raw TCP is judged the same way, by destination. */
	decide_dest(&f->ctx, &a, 443, &d);
	assert_int_equal(d.reason, DECIDE_ALLOWED);
	f->ctx.now_ms += 61 * 1000;
	decide_dest(&f->ctx, &a, 443, &d);
	assert_int_equal(d.reason, DECIDE_UNRESOLVED_DESTINATION);

	f->ctx.resolved = NULL;
	decide_dest(&f->ctx, &a, 443, &d);
	assert_int_equal(d.reason, DECIDE_UNRESOLVED_DESTINATION);
}

static void
test_addrs_pick_allowed_prefer_original(void **state)
{
	struct fixture *f = *state;
	struct decision d;
	struct ip_addr mixed[3] = { addr("169.254.169.254"), addr("198.18.1.10"),
		addr("198.18.1.12") };
	struct ip_addr blocked[2] = { addr("10.0.0.5"), addr("169.254.169.254") };
	struct ip_addr orig = addr("198.18.1.12"), other = addr("198.18.1.66");

	name(f, "allowed.test", 80, &d);
	decide_addrs(&f->ctx, mixed, 3, &orig, &d);
	assert_int_equal(d.reason, DECIDE_ALLOWED);
	assert_true(ip_equal(&d.connect, &orig));
	assert_false(d.dst_mismatch);

	/* SNI/Host says allowed.test, client dialled another address: we
	 * connect to what we resolved and record the mismatch. */
	name(f, "allowed.test", 80, &d);
	decide_addrs(&f->ctx, mixed, 3, &other, &d);
	assert_int_equal(d.reason, DECIDE_ALLOWED);
	assert_true(ip_equal(&d.connect, &mixed[1]));
	assert_true(d.dst_mismatch);

	/* Without the original among them, the first of the client's family. */
	{
		struct ip_addr mixed_fam[3] = { addr("::ffff:198.18.1.30"),
			addr("198.18.1.20"), addr("198.18.1.21") };

		name(f, "allowed.test", 80, &d);
		decide_addrs(&f->ctx, mixed_fam, 3, &other, &d);
		assert_int_equal(d.reason, DECIDE_ALLOWED);
		assert_true(ip_equal(&d.connect, &mixed_fam[1]));
		name(f, "allowed.test", 80, &d);
		decide_addrs(&f->ctx, mixed_fam, 3, NULL, &d);
		assert_true(ip_equal(&d.connect, &mixed_fam[0]));
	}

	name(f, "allowed.test", 80, &d);
	decide_addrs(&f->ctx, blocked, 2, &orig, &d);
	assert_int_equal(d.reason, DECIDE_RESOLVES_TO_BLOCKED);
	assert_int_equal(d.cls, IP_CLASS_PRIVATE);
	assert_false(d.have_connect);

	name(f, "allowed.test", 80, &d);
	decide_addrs(&f->ctx, NULL, 0, &orig, &d);
	assert_int_equal(d.reason, DECIDE_RESOLVE_FAILED);
}

static void
test_resolved_table_bounds(void **state)
{
	struct resolved_table t;
	struct ip_addr a = addr("198.18.1.10"), b;
	const char *names[4];
	char nm[32];
	size_t i;

	(void)state;
	resolved_init(&t);
	assert_int_equal(resolved_add(&t, "a.test", &a, 40, 0), 0);
	assert_int_equal(resolved_add(&t, "b.test", &a, 99999, 0), 0);
	assert_int_equal(resolved_add(&t, "a.test", &a, 50, 0), 0);
	assert_int_equal(t.n, 2);
	assert_int_equal(resolved_names(&t, &a, 45000, names, 4), 2);
	assert_int_equal(resolved_names(&t, &a, 55000, names, 4), 1);
	assert_string_equal(names[0], "b.test");
	/* A TTL of 0 still counts for RESOLVED_TTL_MIN; long TTLs are capped. */
	assert_int_equal(resolved_add(&t, "zero.test", &a, 0, 0), 0);
	assert_int_equal(resolved_names(&t, &a, RESOLVED_TTL_MIN * 1000 - 1,
	    names, 4), 3);
	assert_int_equal(resolved_names(&t, &a, RESOLVED_TTL_MIN * 1000,
	    names, 4), 2);
	assert_int_equal(resolved_names(&t, &a,
	    (uint64_t)RESOLVED_TTL_MAX * 1000 + 1, names, 4), 0);

	/* Full: the soonest-expiring entry makes room, the table stays bounded. */
	for (i = 0; i < RESOLVED_MAX + 10; i++) {
		snprintf(nm, sizeof(nm), "h%zu.test", i);
		b = a;
		b.a[3] = (uint8_t)i;
		assert_int_equal(resolved_add(&t, nm, &b, 100 + (uint32_t)i, 0), 0);
		assert_true(t.n <= RESOLVED_MAX);
	}
	assert_int_equal(t.n, RESOLVED_MAX);
	resolved_free(&t);
}

/* A service binding's hosts are allowed for the session whatever its
 * list says: never not_allowlisted, for names and for what we resolved. */
static void
test_bound_hosts(void **state)
{
	struct fixture *f = *state;
	struct policy *bound = policy_new();
	struct ip_addr a = addr("198.18.1.20");
	struct decision d;
	char err[128];

	assert_int_equal(policy_add(bound, "git.test", 8, err, sizeof(err)), 0);
	decide_name(&f->ctx, "git.test", 8, 443, &d);
	assert_int_equal(d.reason, DECIDE_NOT_ALLOWLISTED);
	assert_int_equal(resolved_add(&f->rt, "git.test", &a, 60,
	    f->ctx.now_ms), 0);
	decide_dest(&f->ctx, &a, 443, &d);
	assert_int_equal(d.reason, DECIDE_UNRESOLVED_DESTINATION);

	f->ctx.bound = bound;
	decide_name(&f->ctx, "GIT.test.", 9, 443, &d);
	assert_int_equal(d.reason, DECIDE_ALLOWED);
	assert_true(d.need_resolve);
	assert_string_equal(d.host, "git.test");
	decide_dest(&f->ctx, &a, 443, &d);
	assert_int_equal(d.reason, DECIDE_ALLOWED);
	/* Only the bound name and ports; the allow list still works. */
	decide_name(&f->ctx, "other.test", 10, 443, &d);
	assert_int_equal(d.reason, DECIDE_NOT_ALLOWLISTED);
	decide_name(&f->ctx, "git.test", 8, 22, &d);
	assert_int_equal(d.reason, DECIDE_NOT_ALLOWLISTED);
	decide_name(&f->ctx, "allowed.test", 12, 80, &d);
	assert_int_equal(d.reason, DECIDE_ALLOWED);
	f->ctx.bound = NULL;
	policy_free(bound);
}

static void
test_reason_names(void **state)
{
	(void)state;
	assert_string_equal(decide_reason_name(DECIDE_ALLOWED), "allowed");
	assert_string_equal(decide_reason_name(DECIDE_UNKNOWN_SOURCE), "unknown_source");
	assert_string_equal(decide_reason_name(DECIDE_RESOLVES_TO_BLOCKED), "resolves_to_blocked");
	assert_string_equal(decide_reason_name(DECIDE_ECH), "ech_not_allowed");
	assert_string_equal(decide_reason_name(DECIDE_LIMIT), "limit_exceeded");
	assert_string_equal(decide_reason_name(DECIDE_SNI_MISMATCH), "sni_mismatch");
	assert_string_equal(decide_reason_name(DECIDE_METHOD_NOT_ALLOWED), "method_not_allowed");
	assert_string_equal(decide_reason_name(DECIDE_DNS_TYPE), "dns_type_refused");
	assert_string_equal(decide_reason_name(DECIDE_INTERCEPT_UNAVAILABLE),
	    "intercept_unavailable");
	assert_string_equal(decide_reason_name(DECIDE_UPSTREAM_TLS_INVALID),
	    "upstream_tls_invalid");
	assert_string_equal(decide_reason_name(DECIDE_PROXY_ERROR), "proxy_error");
	assert_string_equal(decide_reason_name((enum decide_reason)99), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_allowed_name_needs_resolution, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metadata_every_spelling, setup, teardown),
		cmocka_unit_test_setup_teardown(test_private_literals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_literal_needs_our_resolution, setup, teardown),
		cmocka_unit_test_setup_teardown(test_addrs_pick_allowed_prefer_original, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bound_hosts, setup, teardown),
		cmocka_unit_test(test_resolved_table_bounds),
		cmocka_unit_test(test_reason_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
