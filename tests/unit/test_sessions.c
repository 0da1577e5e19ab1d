#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proxyd/sessions.h"
#include "rules/policy.h"

static struct cidr
host_cidr(const char *s)
{
	struct cidr c;
	char buf[64];

	snprintf(buf, sizeof(buf), "%s/32", s);
	assert_int_equal(cidr_parse(buf, strlen(buf), &c, NULL), 0);
	return c;
}

static struct ip_addr
addr(const char *s)
{
	struct ip_addr a;

	assert_int_equal(ip_parse(s, strlen(s), &a, NULL), 0);
	return a;
}

static struct px_session *
mk(const char *id, const char *src, const char *pattern)
{
	struct policy *p = policy_new();
	struct cidr c = host_cidr(src);
	char err[128];

	assert_int_equal(policy_add(p, pattern, strlen(pattern), err, sizeof(err)), 0);
	return px_session_new(id, "default", &c, p, 64);
}

static void
test_add_lookup_del(void **state)
{
	struct session_table *t = session_table_new();
	struct px_session *s1 = mk("ses_1", "198.19.0.1", "allowed.test");
	struct px_session *s2 = mk("ses_2", "198.19.0.3", "other.test");
	struct px_session *got;
	struct ip_addr a1 = addr("198.19.0.1"), a3 = addr("198.19.0.3");
	struct ip_addr a5 = addr("198.19.0.5");

	(void)state;
	assert_int_equal(session_table_add(t, s1), 0);
	assert_int_equal(session_table_add(t, s2), 0);
	assert_int_equal(session_table_count(t), 2);
	got = session_table_lookup(t, &a1);
	assert_ptr_equal(got, s1);
	px_session_unref(got);
	got = session_table_lookup(t, &a3);
	assert_ptr_equal(got, s2);
	px_session_unref(got);
	assert_null(session_table_lookup(t, &a5));

	assert_int_equal(session_table_del(t, "ses_1"), 0);
	assert_null(session_table_lookup(t, &a1));
	assert_int_equal(session_table_del(t, "ses_1"), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(session_table_count(t), 1);
	px_session_unref(s1);
	px_session_unref(s2);
	session_table_free(t);
}

static void
test_duplicates_refused(void **state)
{
	struct session_table *t = session_table_new();
	struct px_session *s1 = mk("ses_1", "198.19.0.1", "allowed.test");
	struct px_session *same_id = mk("ses_1", "198.19.0.9", "allowed.test");
	struct px_session *same_src = mk("ses_9", "198.19.0.1", "allowed.test");

	(void)state;
	assert_int_equal(session_table_add(t, s1), 0);
	assert_int_equal(session_table_add(t, same_id), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(session_table_add(t, same_src), -1);
	assert_int_equal(errno, EEXIST);
	px_session_unref(s1);
	px_session_unref(same_id);
	px_session_unref(same_src);
	session_table_free(t);
}

static void
test_update_keeps_live_reference(void **state)
{
	struct session_table *t = session_table_new();
	struct px_session *v1 = mk("ses_1", "198.19.0.1", "allowed.test");
	struct px_session *v2 = mk("ses_1", "198.19.0.7", "other.test");
	struct px_session *live, *got;
	struct ip_addr a1 = addr("198.19.0.1"), a7 = addr("198.19.0.7");

	(void)state;
	assert_int_equal(session_table_add(t, v1), 0);
	live = session_table_lookup(t, &a1);	/* a connection holds v1 */
	px_session_unref(v1);
	assert_int_equal(session_table_update(t, v2), 0);
	/* New connections see v2 at its new source; the old one keeps v1. */
	assert_null(session_table_lookup(t, &a1));
	got = session_table_lookup(t, &a7);
	assert_ptr_equal(got, v2);
	px_session_unref(got);
	assert_int_equal(policy_check(live->allow, "allowed.test", 12, 80, NULL),
	    POLICY_ALLOW);
	px_session_unref(live);		/* frees v1 now (ASan checks) */
	assert_int_equal(session_table_del(t, "ses_1"), 0);
	assert_int_equal(session_table_update(t, v2), -1);
	assert_int_equal(errno, ENOENT);
	px_session_unref(v2);
	session_table_free(t);
}

static void
test_config_sources_first_match(void **state)
{
	struct session_table *t = session_table_new();
	struct px_session *src[2], *got, *exact;
	struct cidr narrow, wide;
	struct ip_addr in_both = addr("198.19.1.5"), in_wide = addr("198.19.2.5");
	struct ip_addr exact_addr = addr("198.19.1.6");

	(void)state;
	assert_int_equal(cidr_parse("198.19.1.0/24", 13, &narrow, NULL), 0);
	assert_int_equal(cidr_parse("198.19.0.0/16", 13, &wide, NULL), 0);
	src[0] = px_session_new("", "t1", &narrow, policy_new(), 8);
	src[1] = px_session_new("", "t2", &wide, policy_new(), 8);
	assert_int_equal(session_table_set_sources(t, src, 2), 0);
	got = session_table_lookup(t, &in_both);
	assert_string_equal(got->tenant, "t1");
	px_session_unref(got);
	got = session_table_lookup(t, &in_wide);
	assert_string_equal(got->tenant, "t2");
	px_session_unref(got);
	/* A sessiond session wins over a config range. */
	exact = mk("ses_x", "198.19.1.6", "allowed.test");
	assert_int_equal(session_table_add(t, exact), 0);
	got = session_table_lookup(t, &exact_addr);
	assert_ptr_equal(got, exact);
	px_session_unref(got);
	/* Config sources can't be added as sessiond sessions. */
	assert_int_equal(session_table_add(t, src[0]), -1);
	assert_int_equal(errno, EINVAL);
	/* Reload: swap the sources; the old ones go when unreferenced. */
	assert_int_equal(session_table_set_sources(t, NULL, 0), 0);
	assert_null(session_table_lookup(t, &in_wide));
	px_session_unref(src[0]);
	px_session_unref(src[1]);
	px_session_unref(exact);
	session_table_free(t);
}

struct worker_arg {
	struct session_table *t;
	int found;
};

static void *
lookup_worker(void *arg)
{
	struct worker_arg *w = arg;
	struct ip_addr a = addr("198.19.0.1");
	struct px_session *s;
	int i;

	for (i = 0; i < 20000; i++) {
		if ((s = session_table_lookup(w->t, &a)) != NULL) {
			w->found++;
			px_session_unref(s);
		}
	}
	return NULL;
}

/* Lookups race with updates and deletes; ASan/TSan-style breakage would
 * show as a crash or a leak. */
static void
test_concurrent_lookups(void **state)
{
	struct session_table *t = session_table_new();
	struct worker_arg w = { t, 0 };
	pthread_t th;
	struct px_session *s;
	int i;

	(void)state;
	assert_int_equal(pthread_create(&th, NULL, lookup_worker, &w), 0);
	for (i = 0; i < 2000; i++) {
		s = mk("ses_1", "198.19.0.1", "allowed.test");
		if (session_table_add(t, s) == -1)
			assert_int_equal(session_table_update(t, s), 0);
		px_session_unref(s);
		if (i % 3 == 0)
			assert_int_equal(session_table_del(t, "ses_1"), 0);
	}
	pthread_join(th, NULL);
	session_table_free(t);
}

/* A binding as ctlmsg_decode() builds one: everything on the heap. */
static void
mk_binding(struct ctl_binding *b, const char *name, const char *hosts,
    const char *secret)
{
	struct policy *p = policy_new();
	char err[128], *copy = strdup(hosts), *h, *save = NULL;

	assert_non_null(copy);
	memset(b, 0, sizeof(*b));
	snprintf(b->name, sizeof(b->name), "%s", name);
	for (h = strtok_r(copy, " ", &save); h != NULL;
	    h = strtok_r(NULL, " ", &save))
		assert_int_equal(policy_add(p, h, strlen(h), err, sizeof(err)), 0);
	assert_int_equal(policy_patterns(p, &b->hosts, &b->nhosts), 0);
	policy_free(p);
	free(copy);
	b->secret = strdup(secret);
}

static void
test_bindings(void **state)
{
	struct px_session *s = mk("ses_b", "198.19.0.9", "pypi.org");
	struct ctl_binding *v = calloc(2, sizeof(*v));
	const struct ctl_binding *b;

	(void)state;
	assert_null(px_session_binding(s, "api.test", 443));
	mk_binding(&v[0], "api", "api.test *.api.test:8443", "s3cret-one");
	mk_binding(&v[1], "github", "git.test api.test", "s3cret-two");
	assert_int_equal(px_session_set_bindings(s, v, 2), 0);
	/* First binding that names the host wins; ports as in allow. */
	b = px_session_binding(s, "api.test", 443);
	assert_non_null(b);
	assert_string_equal(b->name, "api");
	assert_string_equal(px_session_binding(s, "git.test", 80)->name, "github");
	assert_string_equal(px_session_binding(s, "x.api.test", 8443)->name, "api");
	assert_null(px_session_binding(s, "x.api.test", 443));
	assert_null(px_session_binding(s, "api.test", 22));
	assert_null(px_session_binding(s, "pypi.org", 443));
	/* The bound hosts are allowed for the session on top of its list. */
	assert_int_equal(policy_check(s->bound, "git.test", 8, 443, NULL),
	    POLICY_ALLOW);
	assert_int_equal(policy_check(s->allow, "git.test", 8, 443, NULL),
	    POLICY_DENY_NOT_ALLOWED);
	px_session_unref(s);	/* frees and wipes them (ASan sees leaks) */

	/* A host that is no pattern: refused, and still owned and freed. */
	s = mk("ses_c", "198.19.0.10", "pypi.org");
	v = calloc(1, sizeof(*v));
	mk_binding(&v[0], "api", "api.test", "s3cret");
	free(v[0].hosts[0]);
	v[0].hosts[0] = strdup("*.");
	assert_int_equal(px_session_set_bindings(s, v, 1), -1);
	assert_int_equal(errno, EINVAL);
	px_session_unref(s);

	/* None at all is fine. */
	s = mk("ses_d", "198.19.0.11", "pypi.org");
	assert_int_equal(px_session_set_bindings(s, NULL, 0), 0);
	assert_null(px_session_binding(s, "api.test", 443));
	px_session_unref(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_lookup_del),
		cmocka_unit_test(test_duplicates_refused),
		cmocka_unit_test(test_update_keeps_live_reference),
		cmocka_unit_test(test_config_sources_first_match),
		cmocka_unit_test(test_concurrent_lookups),
		cmocka_unit_test(test_bindings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
