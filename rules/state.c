#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter/nf_tables.h>

#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "common/err.h"
#include "rules/elem.h"
#include "rules/state.h"


void
rules_state_free(struct rules_state *st)
{
	if (st->rules != NULL)
		nftnl_rule_list_free(st->rules);
	if (st->chains != NULL)
		nftnl_chain_list_free(st->chains);
	if (st->sets != NULL)
		nftnl_set_list_free(st->sets);
	if (st->table != NULL)
		nftnl_table_free(st->table);
	memset(st, 0, sizeof(*st));
}

/* A growing string; a failed allocation poisons it (checked once). */
struct sbuf {
	char *p;
	size_t len, cap;
	int bad;
};

static void __attribute__((format(printf, 2, 3)))
sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->bad)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->bad = 1;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		{
			size_t cap = (b->cap + (size_t)n + 1) * 2;
			char *p = realloc(b->p, cap);

			if (p == NULL) {
				b->bad = 1;
				return;
			}
			b->p = p;
			b->cap = cap;
		}
	}
}

struct nftnl_set *
rules_state_set(const struct rules_state *st, const char *name,
    uint32_t id)
{
	struct nftnl_set_list_iter *it = nftnl_set_list_iter_create(st->sets);
	struct nftnl_set *s, *found = NULL;

	if (it == NULL)
		return NULL;
	while ((s = nftnl_set_list_iter_next(it)) != NULL) {
		const char *n = nftnl_set_get_str(s, NFTNL_SET_NAME);

		if (strchr(name, '%') != NULL ?
		    (id != 0 && nftnl_set_get_u32(s, NFTNL_SET_ID) == id) :
		    strcmp(n, name) == 0) {
			found = s;
			break;
		}
	}
	nftnl_set_list_iter_destroy(it);
	return found;
}

static int
hex_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* An anonymous set, by content: "{key 12/1 flags 0x3: 06,11}". */
static void
anon_text(struct sbuf *b, struct nftnl_set *s)
{
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *el;
	char **keys = NULL;
	size_t n = 0, i;

	sb_printf(b, "{key %u/%u flags 0x%x:",
	    nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE),
	    nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN),
	    nftnl_set_get_u32(s, NFTNL_SET_FLAGS));
	if ((it = nftnl_set_elems_iter_create(s)) == NULL) {
		b->bad = 1;
		return;
	}
	while ((el = nftnl_set_elems_iter_next(it)) != NULL) {
		struct elem_bytes e;
		char **p;
		uint32_t j;

		elem_from_nftnl(el, &e);
		if ((p = reallocarray(keys, n + 1, sizeof(*keys))) == NULL ||
		    (p[n] = malloc(e.klen * 2 + e.dlen * 2 + 2)) == NULL) {
			if (p != NULL)
				keys = p;
			b->bad = 1;
			break;
		}
		keys = p;
		for (j = 0; j < e.klen; j++)
			sprintf(keys[n] + 2 * j, "%02x", e.key[j]);
		keys[n][2 * e.klen] = '\0';
		if (e.dlen > 0) {
			strcat(keys[n], ":");
			for (j = 0; j < e.dlen; j++)
				sprintf(keys[n] + 2 * e.klen + 1 + 2 * j,
				    "%02x", e.data[j]);
		}
		n++;
	}
	nftnl_set_elems_iter_destroy(it);
	if (keys != NULL)
		qsort(keys, n, sizeof(*keys), hex_cmp);
	for (i = 0; i < n; i++) {
		sb_printf(b, "%s%s", i ? "," : " ", keys[i]);
		free(keys[i]);
	}
	free(keys);
	sb_printf(b, "}");
}

static void
expr_text(struct sbuf *b, const struct rules_state *st, struct nftnl_expr *e)
{
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
	char tmp[512];

	if (strcmp(name, "counter") == 0) {
		sb_printf(b, "[counter]");	/* its values are not structure */
		return;
	}
	if (strcmp(name, "lookup") == 0) {
		const char *set = nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET);
		uint32_t id = nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_SET_ID);
		struct nftnl_set *s = rules_state_set(st, set, id);

		sb_printf(b, "[lookup reg %u dreg %u flags 0x%x set ",
		    nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_SREG),
		    nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_DREG),
		    nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_FLAGS));
		if (s != NULL &&
		    nftnl_set_get_u32(s, NFTNL_SET_FLAGS) & NFT_SET_ANONYMOUS)
			anon_text(b, s);
		else
			sb_printf(b, "%s", set);
		sb_printf(b, "]");
		return;
	}
	if (nftnl_expr_snprintf(tmp, sizeof(tmp), e, NFTNL_OUTPUT_DEFAULT,
	    0) < 0)
		b->bad = 1;
	sb_printf(b, "[%s %s]", name, tmp);
}

struct rule_text_ctx {
	struct sbuf *b;
	const struct rules_state *st;
	const char *chain;
};

static int
rule_text(struct nftnl_rule *r, void *arg)
{
	struct rule_text_ctx *rc = arg;
	struct nftnl_expr_iter *it;
	struct nftnl_expr *e;

	if (strcmp(nftnl_rule_get_str(r, NFTNL_RULE_CHAIN), rc->chain) != 0)
		return 0;
	sb_printf(rc->b, "  rule");
	if ((it = nftnl_expr_iter_create(r)) == NULL) {
		rc->b->bad = 1;
		return 0;
	}
	while ((e = nftnl_expr_iter_next(it)) != NULL) {
		sb_printf(rc->b, " ");
		expr_text(rc->b, rc->st, e);
	}
	nftnl_expr_iter_destroy(it);
	sb_printf(rc->b, "\n");
	return 0;
}

struct name_list {
	const void **obj;
	const char **name;
	size_t n, cap;
	int bad;
};

static void
nl_add(struct name_list *l, const void *obj, const char *name)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		const void **o = reallocarray(l->obj, cap, sizeof(*o));
		const char **nm;

		if (o == NULL) {
			l->bad = 1;
			return;
		}
		l->obj = o;
		if ((nm = reallocarray(l->name, cap, sizeof(*nm))) == NULL) {
			l->bad = 1;
			return;
		}
		l->name = nm;
		l->cap = cap;
	}
	l->obj[l->n] = obj;
	l->name[l->n++] = name;
}

/* Order-independent listing: sets and chains sorted by name. */
static void
nl_sort(struct name_list *l)
{
	size_t i, j;

	for (i = 1; i < l->n; i++)
		for (j = i; j > 0 && strcmp(l->name[j - 1], l->name[j]) > 0;
		    j--) {
			const void *o = l->obj[j];
			const char *nm = l->name[j];

			l->obj[j] = l->obj[j - 1];
			l->name[j] = l->name[j - 1];
			l->obj[j - 1] = o;
			l->name[j - 1] = nm;
		}
}

static void
nl_free(struct name_list *l)
{
	free(l->obj);
	free(l->name);
}

static int
collect_set(struct nftnl_set *s, void *arg)
{
	if (!(nftnl_set_get_u32(s, NFTNL_SET_FLAGS) & NFT_SET_ANONYMOUS))
		nl_add(arg, s, nftnl_set_get_str(s, NFTNL_SET_NAME));
	return 0;
}

static int
collect_chain(struct nftnl_chain *c, void *arg)
{
	nl_add(arg, c, nftnl_chain_get_str(c, NFTNL_CHAIN_NAME));
	return 0;
}

static int
set_expr_name(struct nftnl_expr *e, void *arg)
{
	sb_printf(arg, " %s", nftnl_expr_get_str(e, NFTNL_EXPR_NAME));
	return 0;
}

int
rules_state_text(const struct rules_state *st, char **out, char *err,
    size_t errlen)
{
	struct sbuf b = { 0 };
	struct name_list sets = { 0 }, chains = { 0 };
	size_t i;

	*out = NULL;
	if (st->table == NULL) {
		sb_printf(&b, "no table\n");
		goto done;
	}
	sb_printf(&b, "table %s flags 0x%x\n",
	    nftnl_table_get_str(st->table, NFTNL_TABLE_NAME),
	    nftnl_table_get_u32(st->table, NFTNL_TABLE_FLAGS));
	nftnl_set_list_foreach(st->sets, collect_set, &sets);
	nftnl_chain_list_foreach(st->chains, collect_chain, &chains);
	nl_sort(&sets);
	nl_sort(&chains);
	for (i = 0; i < sets.n; i++) {
		struct nftnl_set *s = (struct nftnl_set *)sets.obj[i];

		sb_printf(&b, "set %s flags 0x%x key %u/%u data %u/%u "
		    "timeout %llu exprs",
		    sets.name[i], nftnl_set_get_u32(s, NFTNL_SET_FLAGS),
		    nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE),
		    nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN),
		    nftnl_set_get_u32(s, NFTNL_SET_DATA_TYPE),
		    nftnl_set_get_u32(s, NFTNL_SET_DATA_LEN),
		    (unsigned long long)nftnl_set_get_u64(s, NFTNL_SET_TIMEOUT));
		nftnl_set_expr_foreach(s, set_expr_name, &b);
		sb_printf(&b, "\n");
	}
	for (i = 0; i < chains.n; i++) {
		struct nftnl_chain *c = (struct nftnl_chain *)chains.obj[i];
		const char *type = nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE);
		struct rule_text_ctx rc = { &b, st, chains.name[i] };

		if (type != NULL)
			sb_printf(&b, "chain %s type %s hook %u prio %d "
			    "policy %u\n", chains.name[i], type,
			    nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM),
			    nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO),
			    nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY));
		else
			sb_printf(&b, "chain %s (no hook)\n", chains.name[i]);
		nftnl_rule_list_foreach(st->rules, rule_text, &rc);
	}
done:
	if (sets.bad || chains.bad)
		b.bad = 1;
	nl_free(&sets);
	nl_free(&chains);
	if (b.bad) {
		free(b.p);
		err_set(err, errlen, "ruleset text: %s", strerror(ENOMEM));
		errno = ENOMEM;
		return -1;
	}
	*out = b.p;
	return 0;
}
