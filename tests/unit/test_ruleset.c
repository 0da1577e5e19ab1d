/*
 * rules/ruleset.c without a kernel: every batch is built, walked message by
 * message, parsed back with libnftnl and compared with what was meant; the
 * whole generated ruleset is also rendered with nftnl_*_snprintf and
 * compared with tests/unit/golden/ruleset.txt.
 *
 * Regenerating the golden file after an intended ruleset change:
 *
 *     RULES_GOLDEN_UPDATE=1 tests/unit/test_ruleset
 *     git diff tests/unit/golden/ruleset.txt    # a human reviews every line
 *
 * The file is found through $abs_top_srcdir (make check exports it), else
 * next to this source file.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cmocka.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "common/ip.h"
#include "rules/build.h"
#include "rules/reconcile.h"
#include "rules/ruleset.h"
#include "rules/state.h"
#include "rules/table.h"
#include "rules/txn.h"

#define SEQ0 1000u
#define MAXMSG 512

static const struct rules_config cfg4 = {
	.tproxy_port = 15001, .dns_port = 5353, .nflog_group = 7, .ipv6 = 0,
};
static const struct rules_config cfg6 = {
	.tproxy_port = 15001, .dns_port = 5353, .nflog_group = 7, .ipv6 = 1,
};

static struct ip_addr
addr(const char *s)
{
	struct ip_addr ip;
	const char *why = NULL;

	if (ip_parse(s, strlen(s), &ip, &why) != 0)
		fail_msg("ip_parse(%s): %s", s, why);
	return ip;
}

static struct rules_session
sess(const char *ifname, uint32_t mark, const char *a4, const char *a6)
{
	struct rules_session s;

	memset(&s, 0, sizeof(s));
	snprintf(s.ifname, sizeof(s.ifname), "%s", ifname);
	s.mark = mark;
	s.src4 = addr(a4);
	if (a6 != NULL)
		s.src6 = addr(a6);
	return s;
}

/* The messages of a batch, in order, across its pages. */
struct msgs {
	const struct nlmsghdr *m[MAXMSG];
	size_t n;
	struct iovec iov[64];
};

static void
walk(struct rules_txn *t, struct msgs *out)
{
	int niov = nftnl_batch_iovec_len(t->batch), i;

	assert_true(niov > 0 && niov <= 64);
	nftnl_batch_iovec(t->batch, out->iov, (uint32_t)niov);
	out->n = 0;
	for (i = 0; i < niov; i++) {
		const struct nlmsghdr *nlh = out->iov[i].iov_base;
		int left = (int)out->iov[i].iov_len;

		while (mnl_nlmsg_ok(nlh, left)) {
			assert_true(out->n < MAXMSG);
			out->m[out->n++] = nlh;
			nlh = mnl_nlmsg_next(nlh, &left);
		}
		assert_int_equal(left, 0);
	}
}

static uint16_t
nft_type(const struct nlmsghdr *nlh)
{
	return (uint16_t)(nlh->nlmsg_type & 0xff);
}

static void
assert_batch_frame(const struct msgs *ms, uint32_t seq0)
{
	size_t i;
	const struct nfgenmsg *g;

	assert_true(ms->n >= 2);
	assert_int_equal(ms->m[0]->nlmsg_type, NFNL_MSG_BATCH_BEGIN);
	g = mnl_nlmsg_get_payload(ms->m[0]);
	assert_int_equal(ntohs(g->res_id), NFNL_SUBSYS_NFTABLES);
	assert_int_equal(ms->m[ms->n - 1]->nlmsg_type, NFNL_MSG_BATCH_END);
	for (i = 0; i < ms->n; i++) {
		assert_int_equal(ms->m[i]->nlmsg_seq, seq0 + i);
		if (i == 0 || i == ms->n - 1)
			continue;
		/* every object asks for an answer, and is nf_tables' */
		assert_true(ms->m[i]->nlmsg_flags & NLM_F_ACK);
		assert_true(ms->m[i]->nlmsg_flags & NLM_F_REQUEST);
		assert_int_equal(ms->m[i]->nlmsg_type >> 8,
		    NFNL_SUBSYS_NFTABLES);
		g = mnl_nlmsg_get_payload(ms->m[i]);
		assert_int_equal(g->nfgen_family, NFPROTO_INET);
	}
}

/*
 * Parse a set element message into s. libnftnl numbers the element nests
 * of the messages it builds 1, 2, 3... (the kernel ignores the number) but
 * its parser accepts only NFTA_LIST_ELEM, as in the kernel's own dumps; so
 * parse a copy whose nests are renumbered the kernel's way.
 */
static int
elems_parse_into(const struct nlmsghdr *nlh, struct nftnl_set *s)
{
	static char copy[65536];
	struct nlmsghdr *c = (struct nlmsghdr *)copy;
	struct nlattr *a, *el;

	assert_true(nlh->nlmsg_len <= sizeof(copy));
	memcpy(copy, nlh, nlh->nlmsg_len);
	mnl_attr_for_each(a, c, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) != NFTA_SET_ELEM_LIST_ELEMENTS)
			continue;
		mnl_attr_for_each_nested(el, a)
			el->nla_type = (uint16_t)((el->nla_type & ~NLA_TYPE_MASK) |
			    NFTA_LIST_ELEM);
	}
	return nftnl_set_elems_nlmsg_parse(c, s);
}

/* Parse a set element message back into a set carrying its elements. */
static struct nftnl_set *
parse_elems(const struct nlmsghdr *nlh)
{
	struct nftnl_set *s = nftnl_set_alloc();

	assert_non_null(s);
	assert_true(elems_parse_into(nlh, s) >= 0);
	assert_string_equal(nftnl_set_get_str(s, NFTNL_SET_TABLE), RULES_TABLE);
	return s;
}

static size_t
elem_count(struct nftnl_set *s)
{
	struct nftnl_set_elems_iter *it = nftnl_set_elems_iter_create(s);
	size_t n = 0;

	assert_non_null(it);
	while (nftnl_set_elems_iter_next(it) != NULL)
		n++;
	nftnl_set_elems_iter_destroy(it);
	return n;
}

/* The one element of s: its key (and data) must be exactly these bytes. */
static void
assert_elem(struct nftnl_set *s, const void *key, uint32_t klen,
    const void *data, uint32_t dlen)
{
	struct nftnl_set_elems_iter *it = nftnl_set_elems_iter_create(s);
	struct nftnl_set_elem *el;
	const void *p;
	uint32_t len = 0;

	assert_non_null(it);
	el = nftnl_set_elems_iter_next(it);
	assert_non_null(el);
	p = nftnl_set_elem_get(el, NFTNL_SET_ELEM_KEY, &len);
	assert_non_null(p);
	assert_int_equal(len, klen);
	assert_memory_equal(p, key, klen);
	p = nftnl_set_elem_get(el, NFTNL_SET_ELEM_DATA, &len);
	if (data == NULL) {
		assert_null(p);
	} else {
		assert_non_null(p);
		assert_int_equal(len, dlen);
		assert_memory_equal(p, data, dlen);
	}
	assert_null(nftnl_set_elems_iter_next(it));
	nftnl_set_elems_iter_destroy(it);
}

/* ------------------------------------------------------------------ */
/* Golden rendering                                                    */

struct text {
	char *p;
	size_t len, cap;
};

static void __attribute__((format(printf, 2, 3)))
text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	if (t->len + (size_t)n + 1 > t->cap) {
		t->cap = (t->len + (size_t)n + 1) * 2;
		t->p = realloc(t->p, t->cap);
		assert_non_null(t->p);
	}
	va_start(ap, fmt);
	vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

static const char *
type_name(uint16_t type)
{
	switch (type) {
	case NFT_MSG_NEWTABLE: return "NEWTABLE";
	case NFT_MSG_DELTABLE: return "DELTABLE";
	case NFT_MSG_NEWCHAIN: return "NEWCHAIN";
	case NFT_MSG_NEWRULE: return "NEWRULE";
	case NFT_MSG_NEWSET: return "NEWSET";
	case NFT_MSG_NEWSETELEM: return "NEWSETELEM";
	case NFT_MSG_DELSETELEM: return "DELSETELEM";
	}
	return "?";
}

/* One message as "TYPE flags: <nftnl_*_snprintf>" (the rule as its
 * expressions, a set element message as its set and elements). */
static void
render_msg(struct text *t, const struct rules_txn *txn,
    const struct nlmsghdr *nlh)
{
	char buf[8192];
	uint16_t type = nft_type(nlh);
	uint16_t f = nlh->nlmsg_flags;

	text_add(t, "%s%s%s%s  # %s\n", type_name(type),
	    f & NLM_F_CREATE ? " create" : "", f & NLM_F_EXCL ? " excl" : "",
	    f & NLM_F_APPEND ? " append" : "",
	    rules_txn_what(txn, nlh->nlmsg_seq));
	buf[0] = '\0';
	switch (type) {
	case NFT_MSG_NEWTABLE:
	case NFT_MSG_DELTABLE: {
		struct nftnl_table *o = nftnl_table_alloc();

		assert_true(nftnl_table_nlmsg_parse(nlh, o) >= 0);
		nftnl_table_snprintf(buf, sizeof(buf), o, NFTNL_OUTPUT_DEFAULT, 0);
		nftnl_table_free(o);
		break;
	}
	case NFT_MSG_NEWCHAIN: {
		struct nftnl_chain *o = nftnl_chain_alloc();

		assert_true(nftnl_chain_nlmsg_parse(nlh, o) >= 0);
		nftnl_chain_snprintf(buf, sizeof(buf), o, NFTNL_OUTPUT_DEFAULT, 0);
		nftnl_chain_free(o);
		break;
	}
	case NFT_MSG_NEWRULE: {
		struct nftnl_rule *o = nftnl_rule_alloc();

		assert_true(nftnl_rule_nlmsg_parse(nlh, o) >= 0);
		nftnl_rule_snprintf(buf, sizeof(buf), o, NFTNL_OUTPUT_DEFAULT, 0);
		nftnl_rule_free(o);
		break;
	}
	case NFT_MSG_NEWSET: {
		struct nftnl_set *o = nftnl_set_alloc();

		assert_true(nftnl_set_nlmsg_parse(nlh, o) >= 0);
		nftnl_set_snprintf(buf, sizeof(buf), o, NFTNL_OUTPUT_DEFAULT, 0);
		nftnl_set_free(o);
		break;
	}
	case NFT_MSG_NEWSETELEM:
	case NFT_MSG_DELSETELEM: {
		struct nftnl_set *o = parse_elems(nlh);

		nftnl_set_snprintf(buf, sizeof(buf), o, NFTNL_OUTPUT_DEFAULT, 0);
		nftnl_set_free(o);
		break;
	}
	default:
		fail_msg("unexpected message type %u", type);
	}
	text_add(t, "%s\n", buf);
}

static void
render_txn(struct text *t, const char *title, struct rules_txn *txn)
{
	struct msgs ms;
	size_t i;

	assert_int_equal(rules_txn_finish(txn), 0);
	walk(txn, &ms);
	assert_batch_frame(&ms, SEQ0);
	text_add(t, "=== %s (%zu messages)\n", title, ms.n - 2);
	for (i = 1; i + 1 < ms.n; i++)
		render_msg(t, txn, ms.m[i]);
}

static char *
golden_path(void)
{
	const char *top = getenv("abs_top_srcdir");
	char *p = NULL;

	if (top != NULL && *top != '\0') {
		if (asprintf(&p, "%s/tests/unit/golden/ruleset.txt", top) < 0)
			p = NULL;
	} else {
		const char *f = __FILE__, *slash = strrchr(f, '/');
		int dir = slash != NULL ? (int)(slash - f) : 1;

		if (asprintf(&p, "%.*s/golden/ruleset.txt", dir,
		    slash != NULL ? f : ".") < 0)
			p = NULL;
	}
	assert_non_null(p);
	return p;
}

static void
test_golden(void **state)
{
	struct rules_session live[2] = {
		sess("vs-s1", 1, "198.19.0.1", NULL),
		sess("vs-s2", 2, "198.19.0.3", NULL),
	};
	struct rules_session s6 = sess("vs-s3", 3, "198.19.0.5", "fd00:198:19::5");
	struct rules_txn txn;
	struct text t = { 0 };
	char err[256] = "", *path, *want = NULL;
	FILE *f;
	long len;

	(void)state;
	text_add(&t, "# Generated by tests/unit/test_ruleset.c; regenerate with\n"
	    "# RULES_GOLDEN_UPDATE=1 tests/unit/test_ruleset and review.\n");

	assert_int_equal(rules_txn_init(&txn, SEQ0), 0);
	assert_int_equal(rules_build_table(&cfg4, live, 2, &txn, err,
	    sizeof(err)), 0);
	render_txn(&t, "table, IPv4 only, sessions vs-s1 and vs-s2", &txn);
	rules_txn_free(&txn);

	assert_int_equal(rules_txn_init(&txn, SEQ0), 0);
	assert_int_equal(rules_build_table(&cfg6, NULL, 0, &txn, err,
	    sizeof(err)), 0);
	render_txn(&t, "table, IPv6 enabled, no sessions", &txn);
	rules_txn_free(&txn);

	assert_int_equal(rules_txn_init(&txn, SEQ0), 0);
	assert_int_equal(rules_session_add(&cfg6, &s6, &txn, err,
	    sizeof(err)), 0);
	render_txn(&t, "add session vs-s3 (IPv6 enabled)", &txn);
	rules_txn_free(&txn);

	assert_int_equal(rules_txn_init(&txn, SEQ0), 0);
	assert_int_equal(rules_session_del(&cfg4, &live[0], &txn, err,
	    sizeof(err)), 0);
	render_txn(&t, "delete session vs-s1", &txn);
	rules_txn_free(&txn);

	path = golden_path();
	if (getenv("RULES_GOLDEN_UPDATE") != NULL) {
		f = fopen(path, "w");
		if (f == NULL)
			fail_msg("write %s: %s", path, strerror(errno));
		fputs(t.p, f);
		fclose(f);
		print_message("rewrote %s: review it before committing\n", path);
	}
	f = fopen(path, "r");
	if (f == NULL)
		fail_msg("open %s: %s (RULES_GOLDEN_UPDATE=1 creates it)", path,
		    strerror(errno));
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	want = calloc(1, (size_t)len + 1);
	assert_non_null(want);
	assert_int_equal(fread(want, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	if (strcmp(want, t.p) != 0) {
		const char *a = want, *b = t.p;
		int line = 1;

		while (*a && *a == *b) {
			if (*a == '\n')
				line++;
			a++;
			b++;
		}
		print_error("generated ruleset differs from %s at line %d "
		    "(RULES_GOLDEN_UPDATE=1 to regenerate, then review)\n",
		    path, line);
	}
	assert_true(strcmp(want, t.p) == 0);
	free(want);
	free(path);
	free(t.p);
}

/* ------------------------------------------------------------------ */
/* Message-level checks                                                */

static void
test_build_table_messages(void **state)
{
	struct rules_session live = sess("vs-s1", 1, "198.19.0.1", NULL);
	static const char *const chains[] = {
		"guard", "nat_redirect", "filter_input", "filter_forward",
		"count_rx",
	};
	static const char *const sets[] = {
		RULES_SET_IFACES, RULES_SET_MARK, RULES_SET_SRC4, RULES_SET_TX4,
		RULES_SET_RX4,
	};
	struct rules_txn txn;
	struct msgs ms;
	char err[256] = "";
	size_t i, nchain = 0, nset = 0, nrule = 0, nanon = 0, nelem = 0;

	(void)state;
	assert_int_equal(rules_txn_init(&txn, SEQ0), 0);
	assert_int_equal(rules_build_table(&cfg4, &live, 1, &txn, err,
	    sizeof(err)), 0);
	assert_int_equal(rules_txn_finish(&txn), 0);
	walk(&txn, &ms);
	assert_batch_frame(&ms, SEQ0);

	/* add (idempotent, no EXCL), delete, add: a replace in one go */
	assert_int_equal(nft_type(ms.m[1]), NFT_MSG_NEWTABLE);
	assert_true(ms.m[1]->nlmsg_flags & NLM_F_CREATE);
	assert_false(ms.m[1]->nlmsg_flags & NLM_F_EXCL);
	assert_int_equal(nft_type(ms.m[2]), NFT_MSG_DELTABLE);
	assert_int_equal(nft_type(ms.m[3]), NFT_MSG_NEWTABLE);
	for (i = 1; i <= 3; i++) {
		struct nftnl_table *t = nftnl_table_alloc();

		assert_true(nftnl_table_nlmsg_parse(ms.m[i], t) >= 0);
		assert_string_equal(nftnl_table_get_str(t, NFTNL_TABLE_NAME),
		    RULES_TABLE);
		assert_int_equal(nftnl_table_get_u32(t, NFTNL_TABLE_FAMILY),
		    NFPROTO_INET);
		nftnl_table_free(t);
	}
	for (i = 4; i + 1 < ms.n; i++) {
		uint16_t type = nft_type(ms.m[i]);

		if (type == NFT_MSG_NEWSET) {
			struct nftnl_set *s = nftnl_set_alloc();
			const char *name;

			assert_true(nftnl_set_nlmsg_parse(ms.m[i], s) >= 0);
			name = nftnl_set_get_str(s, NFTNL_SET_NAME);
			if (nftnl_set_get_u32(s, NFTNL_SET_FLAGS) &
			    NFT_SET_ANONYMOUS) {
				assert_string_equal(name, "__set%d");
				assert_int_equal(nftnl_set_get_u32(s,
				    NFTNL_SET_KEY_LEN), 1);
				nanon++;
			} else {
				assert_true(nset < 5);
				assert_string_equal(name, sets[nset]);
				nset++;
			}
			/* sets come before any chain or rule uses them */
			assert_int_equal(nchain, 0);
			nftnl_set_free(s);
		} else if (type == NFT_MSG_NEWCHAIN) {
			struct nftnl_chain *c = nftnl_chain_alloc();

			assert_true(nftnl_chain_nlmsg_parse(ms.m[i], c) >= 0);
			assert_true(nchain < 5);
			assert_string_equal(nftnl_chain_get_str(c,
			    NFTNL_CHAIN_NAME), chains[nchain]);
			assert_int_equal(nftnl_chain_get_u32(c,
			    NFTNL_CHAIN_POLICY), NF_ACCEPT);
			if (nchain == 0) {
				assert_int_equal(nftnl_chain_get_s32(c,
				    NFTNL_CHAIN_PRIO), -300);
				assert_int_equal(nftnl_chain_get_u32(c,
				    NFTNL_CHAIN_HOOKNUM), NF_INET_PRE_ROUTING);
			}
			nchain++;
			nftnl_chain_free(c);
		} else if (type == NFT_MSG_NEWRULE) {
			struct nftnl_rule *r = nftnl_rule_alloc();

			assert_true(nftnl_rule_nlmsg_parse(ms.m[i], r) >= 0);
			assert_int_equal(nchain, 5);
			assert_true(ms.m[i]->nlmsg_flags & NLM_F_APPEND);
			nrule++;
			nftnl_rule_free(r);
		} else if (type == NFT_MSG_NEWSETELEM) {
			struct nftnl_set *s = parse_elems(ms.m[i]);

			if (nrule == 0) {	/* an anonymous set's content */
				assert_int_equal(elem_count(s), 2);
			} else {		/* the live session's */
				assert_int_equal(elem_count(s), 1);
				nelem++;
			}
			nftnl_set_free(s);
		} else {
			fail_msg("message %zu: type %u", i, type);
		}
	}
	assert_int_equal(nset, 5);
	assert_int_equal(nanon, 2);
	assert_int_equal(nchain, 5);
	assert_int_equal(nrule, 8 + 3 + 4 + 2 + 2);
	assert_int_equal(nelem, 5);
	assert_string_equal(rules_txn_what(&txn, SEQ0 + 2), "delete table enclave");
	assert_null(rules_txn_what(&txn, SEQ0));
	rules_txn_free(&txn);
}

/* Keys as nft lays them out: ifname zero-padded to IFNAMSIZ, then the
 * address; the mark as a host-order u32. */
static void
check_session_msgs(const struct rules_config *cfg,
    const struct rules_session *s, uint16_t type)
{
	const char *names[] = {
		RULES_SET_IFACES, RULES_SET_MARK, RULES_SET_SRC4, RULES_SET_TX4,
		RULES_SET_RX4, RULES_SET_SRC6, RULES_SET_TX6, RULES_SET_RX6,
	};
	size_t want = s->src6.family ? 8 : 5, i;
	uint8_t ifkey[IFNAMSIZ] = { 0 }, cat4[IFNAMSIZ + 4], cat6[IFNAMSIZ + 16];
	struct rules_txn txn;
	struct msgs ms;
	char err[256] = "";

	memcpy(ifkey, s->ifname, strlen(s->ifname));
	memcpy(cat4, ifkey, IFNAMSIZ);
	memcpy(cat4 + IFNAMSIZ, s->src4.a, 4);
	memcpy(cat6, ifkey, IFNAMSIZ);
	memcpy(cat6 + IFNAMSIZ, s->src6.a, 16);

	assert_int_equal(rules_txn_init(&txn, SEQ0), 0);
	if (type == NFT_MSG_NEWSETELEM)
		assert_int_equal(rules_session_add(cfg, s, &txn, err,
		    sizeof(err)), 0);
	else
		assert_int_equal(rules_session_del(cfg, s, &txn, err,
		    sizeof(err)), 0);
	assert_int_equal(rules_txn_finish(&txn), 0);
	walk(&txn, &ms);
	assert_batch_frame(&ms, SEQ0);
	assert_int_equal(ms.n, want + 2);
	for (i = 0; i < want; i++) {
		const struct nlmsghdr *nlh = ms.m[i + 1];
		struct nftnl_set *set;
		int add = type == NFT_MSG_NEWSETELEM;

		/* only element messages: no table, chain or rule is touched */
		assert_int_equal(nft_type(nlh), type);
		if (add)
			assert_true((nlh->nlmsg_flags &
			    (NLM_F_CREATE | NLM_F_EXCL)) ==
			    (NLM_F_CREATE | NLM_F_EXCL));
		set = parse_elems(nlh);
		assert_string_equal(nftnl_set_get_str(set, NFTNL_SET_NAME),
		    names[i]);
		switch (i) {
		case 0: assert_elem(set, ifkey, IFNAMSIZ, NULL, 0); break;
		case 1:
			assert_elem(set, ifkey, IFNAMSIZ, add ? &s->mark : NULL,
			    sizeof(s->mark));
			break;
		case 2: assert_elem(set, cat4, sizeof(cat4), NULL, 0); break;
		case 3: case 4: assert_elem(set, s->src4.a, 4, NULL, 0); break;
		case 5: assert_elem(set, cat6, sizeof(cat6), NULL, 0); break;
		default: assert_elem(set, s->src6.a, 16, NULL, 0); break;
		}
		nftnl_set_free(set);
	}
	rules_txn_free(&txn);
}

static void
test_session_add(void **state)
{
	struct rules_session s = sess("enc-s1", 0x01020304, "198.19.0.1", NULL);
	struct rules_session s6 = sess("enc-s2", 2, "198.19.0.3", "fd00::3");

	(void)state;
	check_session_msgs(&cfg4, &s, NFT_MSG_NEWSETELEM);
	check_session_msgs(&cfg6, &s, NFT_MSG_NEWSETELEM);
	check_session_msgs(&cfg6, &s6, NFT_MSG_NEWSETELEM);
}

static void
test_session_del(void **state)
{
	struct rules_session s = sess("enc-s1", 7, "198.19.0.1", NULL);
	struct rules_session s6 = sess("enc-s2", 2, "198.19.0.3", "fd00::3");

	(void)state;
	check_session_msgs(&cfg4, &s, NFT_MSG_DELSETELEM);
	check_session_msgs(&cfg6, &s6, NFT_MSG_DELSETELEM);
}

static void
expect_session_rejected(const struct rules_config *cfg,
    const struct rules_session *s)
{
	struct rules_txn txn;
	char err[256] = "";

	assert_int_equal(rules_txn_init(&txn, SEQ0), 0);
	errno = 0;
	assert_int_equal(rules_session_add(cfg, s, &txn, err, sizeof(err)), -1);
	assert_int_equal(errno, EINVAL);
	assert_true(err[0] != '\0');
	assert_int_equal(rules_txn_count(&txn), 0);
	assert_int_equal(rules_session_del(cfg, s, &txn, err, sizeof(err)), -1);
	assert_int_equal(rules_txn_count(&txn), 0);
	rules_txn_free(&txn);
}

static void
test_session_invalid(void **state)
{
	struct rules_session s;

	(void)state;
	s = sess("enc-s1", 0, "198.19.0.1", NULL);		/* mark 0 */
	expect_session_rejected(&cfg4, &s);
	s = sess("-bad", 1, "198.19.0.1", NULL);		/* ifname */
	expect_session_rejected(&cfg4, &s);
	s = sess("", 1, "198.19.0.1", NULL);
	expect_session_rejected(&cfg4, &s);
	s = sess("a/b", 1, "198.19.0.1", NULL);
	expect_session_rejected(&cfg4, &s);
	s = sess("enc-s1", 1, "fd00::1", NULL);		/* v6 as src4 */
	expect_session_rejected(&cfg6, &s);
	s = sess("enc-s1", 1, "198.19.0.1", "fd00::1");	/* v6 disabled */
	expect_session_rejected(&cfg4, &s);
	s = sess("enc-s1", 1, "198.19.0.1", "198.19.0.9");	/* v4 as src6 */
	expect_session_rejected(&cfg6, &s);
	memset(s.ifname, 'a', sizeof(s.ifname));		/* unterminated */
	s.src6.family = 0;
	expect_session_rejected(&cfg4, &s);
}

static void
test_config_and_duplicates(void **state)
{
	struct rules_config bad = cfg4;
	struct rules_session dup[2] = {
		sess("enc-s1", 1, "198.19.0.1", NULL),
		sess("enc-s2", 2, "198.19.0.1", NULL),	/* same address */
	};
	struct rules_txn txn;
	char err[256] = "";

	(void)state;
	assert_int_equal(rules_config_check(&cfg4, err, sizeof(err)), 0);
	bad.dns_port = bad.tproxy_port;
	assert_int_equal(rules_config_check(&bad, err, sizeof(err)), -1);
	bad.dns_port = 0;
	assert_int_equal(rules_config_check(&bad, err, sizeof(err)), -1);

	assert_int_equal(rules_txn_init(&txn, SEQ0), 0);
	assert_int_equal(rules_build_table(&cfg4, dup, 2, &txn, err,
	    sizeof(err)), -1);
	assert_int_equal(errno, EINVAL);
	dup[1] = sess("enc-s1", 2, "198.19.0.3", NULL);	/* same ifname */
	assert_int_equal(rules_build_table(&cfg4, dup, 2, &txn, err,
	    sizeof(err)), -1);
	dup[1] = sess("enc-s2", 1, "198.19.0.3", NULL);	/* same mark */
	assert_int_equal(rules_build_table(&cfg4, dup, 2, &txn, err,
	    sizeof(err)), -1);
	assert_int_equal(rules_txn_count(&txn), 0);
	rules_txn_free(&txn);
}

/* Parse a whole table batch back into a state, as the kernel would hold
 * it (anonymous sets keep their transaction ids). */
static void
state_from_batch(struct rules_txn *txn, struct rules_state *st)
{
	struct msgs ms;
	size_t i;

	memset(st, 0, sizeof(*st));
	st->chains = nftnl_chain_list_alloc();
	st->rules = nftnl_rule_list_alloc();
	st->sets = nftnl_set_list_alloc();
	walk(txn, &ms);
	assert_batch_frame(&ms, SEQ0);
	for (i = 1; i + 1 < ms.n; i++) {
		const struct nlmsghdr *nlh = ms.m[i];

		switch (nft_type(nlh)) {
		case NFT_MSG_NEWTABLE:
			if (st->table == NULL) {
				st->table = nftnl_table_alloc();
				assert_true(nftnl_table_nlmsg_parse(nlh,
				    st->table) >= 0);
			}
			break;
		case NFT_MSG_NEWSET: {
			struct nftnl_set *s = nftnl_set_alloc();

			assert_true(nftnl_set_nlmsg_parse(nlh, s) >= 0);
			nftnl_set_list_add_tail(s, st->sets);
			break;
		}
		case NFT_MSG_NEWSETELEM: {
			struct nftnl_set *tmp = parse_elems(nlh), *s;
			struct nftnl_set_list_iter *it;
			const char *name = nftnl_set_get_str(tmp, NFTNL_SET_NAME);
			uint32_t id = nftnl_set_get_u32(tmp, NFTNL_SET_ID);

			it = nftnl_set_list_iter_create(st->sets);
			while ((s = nftnl_set_list_iter_next(it)) != NULL) {
				if (strchr(name, '%') ?
				    nftnl_set_get_u32(s, NFTNL_SET_ID) == id :
				    strcmp(nftnl_set_get_str(s, NFTNL_SET_NAME),
				    name) == 0)
					break;
			}
			nftnl_set_list_iter_destroy(it);
			assert_non_null(s);
			assert_true(elems_parse_into(nlh, s) >= 0);
			nftnl_set_free(tmp);
			break;
		}
		case NFT_MSG_NEWCHAIN: {
			struct nftnl_chain *c = nftnl_chain_alloc();

			assert_true(nftnl_chain_nlmsg_parse(nlh, c) >= 0);
			nftnl_chain_list_add_tail(c, st->chains);
			break;
		}
		case NFT_MSG_NEWRULE: {
			struct nftnl_rule *r = nftnl_rule_alloc();

			assert_true(nftnl_rule_nlmsg_parse(nlh, r) >= 0);
			nftnl_rule_list_add_tail(r, st->rules);
			break;
		}
		default:
			break;
		}
	}
}

/* What the batch creates has the structure the model describes, and a
 * change to any rule shows in the text reconcile compares. */
static void
test_state_text(void **state)
{
	const struct rules_config *cfgs[2] = { &cfg4, &cfg6 };
	int k;

	(void)state;
	for (k = 0; k < 2; k++) {
		struct rules_state model, parsed, other;
		struct rules_config c2 = *cfgs[k];
		struct rules_txn txn;
		char err[256] = "", *a, *b, *c;

		assert_int_equal(rules_state_build(cfgs[k], &model, err,
		    sizeof(err)), 0);
		assert_int_equal(rules_txn_init(&txn, SEQ0), 0);
		assert_int_equal(rules_build_table(cfgs[k], NULL, 0, &txn, err,
		    sizeof(err)), 0);
		assert_int_equal(rules_txn_finish(&txn), 0);
		state_from_batch(&txn, &parsed);
		assert_int_equal(rules_state_text(&model, &a, err, sizeof(err)), 0);
		assert_int_equal(rules_state_text(&parsed, &b, err, sizeof(err)), 0);
		assert_string_equal(a, b);
		assert_non_null(strstr(a, "set {key 12/1 flags 0x3: 06,11}"));
		assert_non_null(strstr(a, "chain guard type filter hook 0 prio -300"));

		c2.dns_port = 5354;	/* one byte of one rule differs */
		assert_int_equal(rules_state_build(&c2, &other, err,
		    sizeof(err)), 0);
		assert_int_equal(rules_state_text(&other, &c, err, sizeof(err)), 0);
		assert_string_not_equal(a, c);

		free(a);
		free(b);
		free(c);
		rules_state_free(&other);
		rules_state_free(&parsed);
		rules_state_free(&model);
		rules_txn_free(&txn);
	}
}

/* The kernel holds sessions A (live) and B (dead, left by a crash); the
 * live list is A and C. The plan deletes exactly B's elements, adds C's,
 * and leaves A's (and their counters) alone. */
static void
test_plan_elems(void **state)
{
	struct rules_session a = sess("enc-a", 1, "198.19.0.1", NULL);
	struct rules_session b = sess("enc-b", 2, "198.19.0.3", NULL);
	struct rules_session c = sess("enc-c", 3, "198.19.0.5", NULL);
	struct rules_session kernel_has[2] = { a, b }, live[2] = { a, c };
	struct rules_reconcile_result res = { 0 };
	struct rules_state kst;
	struct rules_txn txn, plan;
	struct msgs ms;
	char err[256] = "";
	size_t i;

	(void)state;
	assert_int_equal(rules_txn_init(&txn, SEQ0), 0);
	assert_int_equal(rules_build_table(&cfg4, kernel_has, 2, &txn, err,
	    sizeof(err)), 0);
	assert_int_equal(rules_txn_finish(&txn), 0);
	state_from_batch(&txn, &kst);

	assert_int_equal(rules_txn_init(&plan, SEQ0), 0);
	assert_int_equal(rules_plan_elems(&cfg4, &kst, live, 2, &plan, &res,
	    err, sizeof(err)), 0);
	assert_int_equal(res.elems_deleted, 5);
	assert_int_equal(res.elems_added, 5);
	assert_int_equal(rules_txn_finish(&plan), 0);
	walk(&plan, &ms);
	assert_batch_frame(&ms, SEQ0);
	assert_int_equal(ms.n, 10 + 2);
	for (i = 1; i + 1 < ms.n; i++) {
		struct nftnl_set *s = parse_elems(ms.m[i]);
		const char *name = nftnl_set_get_str(s, NFTNL_SET_NAME);
		const struct rules_session *who = i <= 5 ? &b : &c;

		/* deletions first, then additions */
		assert_int_equal(nft_type(ms.m[i]), i <= 5 ?
		    NFT_MSG_DELSETELEM : NFT_MSG_NEWSETELEM);
		assert_int_equal(elem_count(s), 1);
		if (strcmp(name, RULES_SET_TX4) == 0)
			assert_elem(s, who->src4.a, 4, NULL, 0);
		nftnl_set_free(s);
	}
	rules_txn_free(&plan);

	/* Same live list as the kernel: nothing to do. */
	memset(&res, 0, sizeof(res));
	assert_int_equal(rules_txn_init(&plan, SEQ0), 0);
	assert_int_equal(rules_plan_elems(&cfg4, &kst, kernel_has, 2, &plan,
	    &res, err, sizeof(err)), 0);
	assert_int_equal(rules_txn_count(&plan), 0);
	rules_txn_free(&plan);

	/* B's interface came back as a new session number: only the mark
	 * element changes (delete, then add). */
	memset(&res, 0, sizeof(res));
	kernel_has[1].mark = 9;
	assert_int_equal(rules_txn_init(&plan, SEQ0), 0);
	assert_int_equal(rules_plan_elems(&cfg4, &kst, kernel_has, 2, &plan,
	    &res, err, sizeof(err)), 0);
	assert_int_equal(res.elems_deleted, 1);
	assert_int_equal(res.elems_added, 1);
	rules_txn_free(&plan);

	rules_state_free(&kst);
	rules_txn_free(&txn);
}

/* Many sessions: elements are spread over messages of bounded size and the
 * batch spans pages; every element is there exactly once. */
static void
test_many_sessions(void **state)
{
	enum { N = 1000 };
	struct rules_session *live = calloc(N, sizeof(*live));
	struct rules_txn txn;
	struct msgs ms;
	char err[256] = "";
	size_t i, elems = 0;

	(void)state;
	assert_non_null(live);
	for (i = 0; i < N; i++) {
		char a[32], ifn[16];

		snprintf(a, sizeof(a), "198.19.%zu.%zu", (2 * i) / 256,
		    (2 * i) % 256 + 1);
		snprintf(ifn, sizeof(ifn), "enc-%zu", i);
		live[i] = sess(ifn, (uint32_t)i + 1, a, NULL);
	}
	assert_int_equal(rules_txn_init(&txn, SEQ0), 0);
	assert_int_equal(rules_build_table(&cfg4, live, N, &txn, err,
	    sizeof(err)), 0);
	assert_int_equal(rules_txn_finish(&txn), 0);
	walk(&txn, &ms);
	assert_batch_frame(&ms, SEQ0);
	for (i = 1; i + 1 < ms.n; i++) {
		struct nftnl_set *s;

		if (nft_type(ms.m[i]) != NFT_MSG_NEWSETELEM)
			continue;
		s = parse_elems(ms.m[i]);
		if (nftnl_set_get_str(s, NFTNL_SET_NAME)[0] != '_')
			elems += elem_count(s);
		nftnl_set_free(s);
	}
	assert_int_equal(elems, 5 * N);
	assert_true(nftnl_batch_iovec_len(txn.batch) > 1);
	rules_txn_free(&txn);
	free(live);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_table_messages),
		cmocka_unit_test(test_session_add),
		cmocka_unit_test(test_session_del),
		cmocka_unit_test(test_session_invalid),
		cmocka_unit_test(test_config_and_duplicates),
		cmocka_unit_test(test_state_text),
		cmocka_unit_test(test_plan_elems),
		cmocka_unit_test(test_many_sessions),
		cmocka_unit_test(test_golden),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
