#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter/nf_tables.h>

#include <libnftnl/set.h>

#include "common/err.h"
#include "rules/build.h"
#include "rules/elem.h"
#include "rules/nft.h"
#include "rules/reconcile.h"
#include "rules/ruleset.h"
#include "rules/state.h"
#include "rules/table.h"
#include "rules/txn.h"

/* The kernel's elements of set i, as bytes. */
static int
kernel_elems(const struct rules_state *st, int i, struct elem_bytes **out,
    size_t *n)
{
	struct nftnl_set *s = rules_state_set(st, elem_set_name[i], 0);
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *el;
	struct elem_bytes *v = NULL;
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	if (s == NULL)
		return 0;
	if ((it = nftnl_set_elems_iter_create(s)) == NULL)
		return -1;
	while ((el = nftnl_set_elems_iter_next(it)) != NULL) {
		if (*n == cap) {
			struct elem_bytes *p;

			cap = cap ? cap * 2 : 16;
			if ((p = reallocarray(v, cap, sizeof(*v))) == NULL) {
				nftnl_set_elems_iter_destroy(it);
				free(v);
				return -1;
			}
			v = p;
		}
		elem_from_nftnl(el, &v[(*n)++]);
	}
	nftnl_set_elems_iter_destroy(it);
	*out = v;
	return 0;
}

static bool
elem_in(const struct elem_bytes *e, const struct elem_bytes *v, size_t n)
{
	size_t k;

	for (k = 0; k < n; k++)
		if (elem_equal(e, &v[k]))
			return true;
	return false;
}

/* Stale (kernel, not wanted) or missing (wanted, not in kernel) elements
 * of set i into out; returns how many. */
static size_t
elem_diff(const struct elem_bytes *from, size_t nfrom,
    const struct elem_bytes *not_in, size_t nnot, struct elem_bytes *out)
{
	size_t k, m = 0;

	for (k = 0; k < nfrom; k++)
		if (!elem_in(&from[k], not_in, nnot))
			out[m++] = from[k];
	return m;
}

int
rules_plan_elems(const struct rules_config *cfg,
    const struct rules_state *kernel, const struct rules_session *live,
    size_t n, struct rules_txn *t, struct rules_reconcile_result *res,
    char *err, size_t errlen)
{
	struct elem_bytes *have[SI_COUNT] = { 0 }, *want = NULL, *tmp = NULL;
	size_t nhave[SI_COUNT] = { 0 }, nwant, m, k;
	int i, pass, r = -1;

	if (rules_sessions_check(cfg, live, n, err, errlen) == -1)
		return -1;
	for (i = 0; i < SI_COUNT; i++)
		if (elem_set_used(cfg, i) &&
		    kernel_elems(kernel, i, &have[i], &nhave[i]) == -1)
			goto oom;
	if ((want = calloc(n + 1, sizeof(*want))) == NULL)
		goto oom;
	/* Deletions first, in every set, so a key that moved to another
	 * session (an interface with a new mark) is re-added cleanly. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < SI_COUNT; i++) {
			size_t cap;

			if (!elem_set_used(cfg, i))
				continue;
			for (k = 0, nwant = 0; k < n; k++)
				if (elem_of_session(&live[k], i, &want[nwant]))
					nwant++;
			cap = (pass == 0 ? nhave[i] : nwant) + 1;
			free(tmp);
			if ((tmp = calloc(cap, sizeof(*tmp))) == NULL)
				goto oom;
			if (pass == 0) {
				m = elem_diff(have[i], nhave[i], want, nwant, tmp);
				if (m > 0 && elem_emit(t, i, NFT_MSG_DELSETELEM,
				    tmp, m) == -1)
					goto oom;
				if (res != NULL)
					res->elems_deleted += m;
			} else {
				m = elem_diff(want, nwant, have[i], nhave[i], tmp);
				if (m > 0 && elem_emit(t, i, NFT_MSG_NEWSETELEM,
				    tmp, m) == -1)
					goto oom;
				if (res != NULL)
					res->elems_added += m;
			}
		}
	}
	r = 0;
	goto out;
oom:
	err_set(err, errlen, "plan elements: %s", strerror(errno));
out:
	free(tmp);
	free(want);
	for (i = 0; i < SI_COUNT; i++)
		free(have[i]);
	return r;
}

struct read_ctx {
	struct nft_sock *s;
	char *err;
	size_t errlen;
};

static int
read_elems(struct nftnl_set *set, void *arg)
{
	struct read_ctx *rc = arg;

	return nft_get_elems(rc->s, set, rc->err, rc->errlen);
}

int
rules_state_read(struct nft_sock *s, struct rules_state *st, char *err,
    size_t errlen)
{
	struct read_ctx rc = { s, err, errlen };
	int tries;

	for (tries = 0; tries < 4; tries++) {
		memset(st, 0, sizeof(*st));
		if (nft_get_table(s, RULES_FAMILY, RULES_TABLE, &st->table, err,
		    errlen) == -1)
			return -1;
		if (st->table == NULL)
			return 0;
		if (nft_get_sets(s, RULES_FAMILY, RULES_TABLE, &st->sets, err,
		    errlen) == 0 &&
		    nftnl_set_list_foreach(st->sets, read_elems, &rc) == 0 &&
		    nft_get_chains(s, RULES_FAMILY, RULES_TABLE, &st->chains,
		    err, errlen) == 0 &&
		    nft_get_rules(s, RULES_FAMILY, RULES_TABLE, &st->rules, err,
		    errlen) == 0)
			return 0;
		rules_state_free(st);
		if (errno != EINTR && errno != ENOENT)
			return -1;
		/* The table changed (or went away) while we read it. */
	}
	return -1;
}

/* First line where two texts differ, for the log of a replace. */
static void
first_diff(const char *a, const char *b, char *out, size_t len)
{
	while (*a != '\0' && *b != '\0') {
		const char *ea = strchrnul(a, '\n'), *eb = strchrnul(b, '\n');

		if (ea - a != eb - b || memcmp(a, b, (size_t)(ea - a)) != 0) {
			snprintf(out, len, "have \"%.*s\"", (int)(ea - a), a);
			return;
		}
		a = *ea ? ea + 1 : ea;
		b = *eb ? eb + 1 : eb;
	}
	snprintf(out, len, "%s", *a ? "extra objects" : "missing objects");
}

int
rules_reconcile(struct nft_sock *s, const struct rules_config *cfg,
    const struct rules_session *live, size_t n,
    struct rules_reconcile_result *res, char *err, size_t errlen)
{
	struct rules_reconcile_result dummy;
	struct rules_state have = { 0 }, want = { 0 };
	struct rules_txn t = { 0 };
	char *thave = NULL, *twant = NULL;
	int r = -1;

	if (res == NULL)
		res = &dummy;
	memset(res, 0, sizeof(*res));
	if (rules_sessions_check(cfg, live, n, err, errlen) == -1)
		return -1;
	if (rules_state_build(cfg, &want, err, errlen) == -1)
		return -1;
	if (rules_state_read(s, &have, err, errlen) == -1)
		goto out;
	if (rules_state_text(&have, &thave, err, errlen) == -1 ||
	    rules_state_text(&want, &twant, err, errlen) == -1)
		goto out;
	if (rules_txn_init(&t, nft_seq(s)) == -1) {
		err_set(err, errlen, "reconcile: %s", strerror(errno));
		goto out;
	}
	if (strcmp(thave, twant) == 0) {
		if (rules_plan_elems(cfg, &have, live, n, &t, res, err,
		    errlen) == -1)
			goto out;
	} else {
		res->replaced = 1;
		first_diff(thave, twant, res->diff, sizeof(res->diff));
		if (rules_build_table(cfg, live, n, &t, err, errlen) == -1)
			goto out;
	}
	if (rules_txn_count(&t) > 0) {
		if (rules_txn_finish(&t) == -1) {
			err_set(err, errlen, "reconcile: %s", strerror(errno));
			goto out;
		}
		if (nft_send(s, t.batch, rules_txn_what, &t, err, errlen) == -1)
			goto out;
	}
	r = 0;
out:
	rules_txn_free(&t);
	free(twant);
	free(thave);
	rules_state_free(&want);
	rules_state_free(&have);
	return r;
}
