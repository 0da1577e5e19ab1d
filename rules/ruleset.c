#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <netinet/in.h>

#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "common/name.h"
#include "rules/nft.h"
#include "rules/ruleset.h"

/* nft's datatype numbers (src/datatype.h), as `nft list` decodes them. */
#define DT_IPADDR	7
#define DT_IP6ADDR	8
#define DT_INET_PROTO	12
#define DT_MARK		19
#define DT_IFNAME	41
#define DT_CONCAT(a, b)	(((a) << 6) | (b))
/* nft's byte orders, kept in a set's user data so `nft list` prints its
 * elements right (an interface name as text, a mark as a number). */
#define BO_NONE		0
#define BO_HOST		1
#define BO_BIG		2

/* Batch pages; one message (at most RULES_ELEMS_PER_MSG elements) always
 * fits the overrun. */
#define TXN_PAGE	(32 * 1024)
#define TXN_OVERRUN	(32 * 1024)
#define RULES_ELEMS_PER_MSG 64
/* Longest element key: ifname . ipv6_addr. */
#define KEY_MAX		32

enum set_index {
	SI_IFACES, SI_MARK, SI_SRC4, SI_TX4, SI_RX4, SI_SRC6, SI_TX6, SI_RX6,
	SI_COUNT
};

static const char *const set_name[SI_COUNT] = {
	[SI_IFACES] = RULES_SET_IFACES, [SI_MARK] = RULES_SET_MARK,
	[SI_SRC4] = RULES_SET_SRC4, [SI_TX4] = RULES_SET_TX4,
	[SI_RX4] = RULES_SET_RX4, [SI_SRC6] = RULES_SET_SRC6,
	[SI_TX6] = RULES_SET_TX6, [SI_RX6] = RULES_SET_RX6,
};

static void __attribute__((format(printf, 3, 4)))
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	errno = saved;
}

static bool
set_used(const struct rules_config *cfg, int i)
{
	return i < SI_SRC6 || cfg->ipv6;
}

/* ------------------------------------------------------------------ */
/* Transactions                                                        */

int
rules_txn_init(struct rules_txn *t, uint32_t seq)
{
	memset(t, 0, sizeof(*t));
	if ((t->batch = nftnl_batch_alloc(TXN_PAGE, TXN_OVERRUN)) == NULL)
		return -1;
	t->seq_begin = seq;
	nftnl_batch_begin(nftnl_batch_buffer(t->batch), seq);
	if (nftnl_batch_update(t->batch) < 0) {
		nftnl_batch_free(t->batch);
		t->batch = NULL;
		return -1;
	}
	t->seq = seq + 1;
	return 0;
}

int
rules_txn_finish(struct rules_txn *t)
{
	if (t->finished) {
		errno = EALREADY;
		return -1;
	}
	nftnl_batch_end(nftnl_batch_buffer(t->batch), t->seq);
	if (nftnl_batch_update(t->batch) < 0)
		return -1;
	t->seq++;
	t->finished = 1;
	return 0;
}

size_t
rules_txn_count(const struct rules_txn *t)
{
	return t->nwhat;
}

const char *
rules_txn_what(const void *txn, uint32_t seq)
{
	const struct rules_txn *t = txn;
	uint32_t i = seq - t->seq_begin - 1;

	if (seq <= t->seq_begin || i >= t->nwhat)
		return NULL;
	return t->what[i];
}

void
rules_txn_free(struct rules_txn *t)
{
	if (t->batch != NULL)
		nftnl_batch_free(t->batch);
	free(t->what);
	memset(t, 0, sizeof(*t));
}

/* Start one object message in the batch, remembering what it is for. */
static struct nlmsghdr * __attribute__((format(printf, 4, 5)))
txn_msg(struct rules_txn *t, uint16_t type, uint16_t flags,
    const char *fmt, ...)
{
	va_list ap;

	if (t->finished) {
		errno = EALREADY;
		return NULL;
	}
	if (t->nwhat == t->capwhat) {
		size_t cap = t->capwhat ? t->capwhat * 2 : 32;
		void *p = reallocarray(t->what, cap, sizeof(*t->what));

		if (p == NULL)
			return NULL;
		t->what = p;
		t->capwhat = cap;
	}
	va_start(ap, fmt);
	vsnprintf(t->what[t->nwhat], RULES_WHAT_MAX, fmt, ap);
	va_end(ap);
	t->nwhat++;
	return nftnl_nlmsg_build_hdr(nftnl_batch_buffer(t->batch), type,
	    RULES_FAMILY, flags | NLM_F_ACK, t->seq++);
}

static int
txn_commit(struct rules_txn *t)
{
	return nftnl_batch_update(t->batch) < 0 ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* Input checks                                                        */

int
rules_config_check(const struct rules_config *cfg, char *err, size_t errlen)
{
	if (cfg->tproxy_port == 0 || cfg->dns_port == 0 ||
	    cfg->tproxy_port == cfg->dns_port) {
		seterr(err, errlen, "config: proxy ports must be non-zero "
		    "and distinct (tproxy %u, dns %u)", cfg->tproxy_port,
		    cfg->dns_port);
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int
rules_session_check(const struct rules_config *cfg,
    const struct rules_session *s, char *err, size_t errlen)
{
	const char *why = NULL;

	if (memchr(s->ifname, '\0', sizeof(s->ifname)) == NULL ||
	    netns_ifname_valid(s->ifname, &why) == -1) {
		seterr(err, errlen, "session interface: %s",
		    why != NULL ? why : "not terminated");
		goto invalid;
	}
	if (s->mark == 0) {
		seterr(err, errlen, "session %s: mark must not be 0", s->ifname);
		goto invalid;
	}
	if (s->src4.family != AF_INET) {
		seterr(err, errlen, "session %s: source address must be IPv4",
		    s->ifname);
		goto invalid;
	}
	if (s->src6.family != 0 &&
	    (s->src6.family != AF_INET6 || !cfg->ipv6)) {
		seterr(err, errlen, "session %s: %s", s->ifname,
		    cfg->ipv6 ? "second source address must be IPv6" :
		    "IPv6 address given but IPv6 is disabled");
		goto invalid;
	}
	return 0;
invalid:
	errno = EINVAL;
	return -1;
}

/* Two live sessions sharing an interface, number or address would share
 * elements, so deleting one would cut the other off. */
static int
sessions_check(const struct rules_config *cfg,
    const struct rules_session *live, size_t n, char *err, size_t errlen)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		if (rules_session_check(cfg, &live[i], err, errlen) == -1)
			return -1;
		for (j = 0; j < i; j++) {
			const struct rules_session *a = &live[i], *b = &live[j];

			if (strcmp(a->ifname, b->ifname) == 0 ||
			    a->mark == b->mark ||
			    ip_equal(&a->src4, &b->src4) ||
			    (a->src6.family != 0 &&
			    ip_equal(&a->src6, &b->src6))) {
				seterr(err, errlen, "sessions %s and %s share "
				    "an interface, mark or address",
				    b->ifname, a->ifname);
				errno = EINVAL;
				return -1;
			}
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Elements                                                            */

struct elem_bytes {
	uint8_t key[KEY_MAX];
	uint32_t klen;
	uint8_t data[4];
	uint32_t dlen;
};

/* A session's element in set i, laid out as nft does: ifname zero-padded
 * to IFNAMSIZ, concatenation components back to back, mark in host order.
 * Returns false when the session has none there. */
static bool
session_elem(const struct rules_session *s, int i, struct elem_bytes *e)
{
	memset(e, 0, sizeof(*e));
	switch (i) {
	case SI_IFACES:
	case SI_MARK:
		memcpy(e->key, s->ifname, strnlen(s->ifname, IFNAMSIZ - 1));
		e->klen = IFNAMSIZ;
		if (i == SI_MARK) {
			memcpy(e->data, &s->mark, sizeof(s->mark));
			e->dlen = sizeof(s->mark);
		}
		return true;
	case SI_SRC4:
		memcpy(e->key, s->ifname, strnlen(s->ifname, IFNAMSIZ - 1));
		memcpy(e->key + IFNAMSIZ, s->src4.a, 4);
		e->klen = IFNAMSIZ + 4;
		return true;
	case SI_TX4:
	case SI_RX4:
		memcpy(e->key, s->src4.a, 4);
		e->klen = 4;
		return true;
	case SI_SRC6:
		if (s->src6.family != AF_INET6)
			return false;
		memcpy(e->key, s->ifname, strnlen(s->ifname, IFNAMSIZ - 1));
		memcpy(e->key + IFNAMSIZ, s->src6.a, 16);
		e->klen = IFNAMSIZ + 16;
		return true;
	case SI_TX6:
	case SI_RX6:
		if (s->src6.family != AF_INET6)
			return false;
		memcpy(e->key, s->src6.a, 16);
		e->klen = 16;
		return true;
	}
	return false;
}

static bool
elem_equal(const struct elem_bytes *a, const struct elem_bytes *b)
{
	return a->klen == b->klen && a->dlen == b->dlen &&
	    memcmp(a->key, b->key, a->klen) == 0 &&
	    memcmp(a->data, b->data, a->dlen) == 0;
}

/* The bytes of an element read from the kernel (or parsed back). */
static void
elem_from_nftnl(struct nftnl_set_elem *el, struct elem_bytes *e)
{
	const void *p;
	uint32_t len = 0;

	memset(e, 0, sizeof(*e));
	p = nftnl_set_elem_get(el, NFTNL_SET_ELEM_KEY, &len);
	if (p != NULL && len <= KEY_MAX) {
		memcpy(e->key, p, len);
		e->klen = len;
	}
	p = nftnl_set_elem_get(el, NFTNL_SET_ELEM_DATA, &len);
	if (p != NULL && len <= sizeof(e->data)) {
		memcpy(e->data, p, len);
		e->dlen = len;
	}
}

/* Emit elements of one set, RULES_ELEMS_PER_MSG to a message. */
static int
emit_elems(struct rules_txn *t, int i, uint16_t type,
    const struct elem_bytes *v, size_t n)
{
	const char *verb = type == NFT_MSG_NEWSETELEM ? "add" : "delete";
	uint16_t flags = type == NFT_MSG_NEWSETELEM ?
	    NLM_F_CREATE | NLM_F_EXCL : 0;
	size_t at = 0, k;

	while (at < n) {
		struct nftnl_set *holder;
		struct nlmsghdr *nlh;

		if ((holder = nftnl_set_alloc()) == NULL)
			return -1;
		nftnl_set_set_u32(holder, NFTNL_SET_FAMILY, RULES_FAMILY);
		nftnl_set_set_str(holder, NFTNL_SET_TABLE, RULES_TABLE);
		nftnl_set_set_str(holder, NFTNL_SET_NAME, set_name[i]);
		for (k = at; k < n && k < at + RULES_ELEMS_PER_MSG; k++) {
			struct nftnl_set_elem *el = nftnl_set_elem_alloc();

			if (el == NULL) {
				nftnl_set_free(holder);
				return -1;
			}
			nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, v[k].key,
			    v[k].klen);
			if (v[k].dlen != 0 && type == NFT_MSG_NEWSETELEM)
				nftnl_set_elem_set(el, NFTNL_SET_ELEM_DATA,
				    v[k].data, v[k].dlen);
			nftnl_set_elem_add(holder, el);
		}
		nlh = txn_msg(t, type, flags, "%s elements %s", verb,
		    set_name[i]);
		if (nlh == NULL) {
			nftnl_set_free(holder);
			return -1;
		}
		nftnl_set_elems_nlmsg_build_payload(nlh, holder);
		nftnl_set_free(holder);
		if (txn_commit(t) == -1)
			return -1;
		at = k;
	}
	return 0;
}

static int
session_emit(const struct rules_config *cfg, const struct rules_session *s,
    struct rules_txn *t, uint16_t type, char *err, size_t errlen)
{
	struct elem_bytes e;
	int i;

	if (rules_session_check(cfg, s, err, errlen) == -1)
		return -1;
	for (i = 0; i < SI_COUNT; i++) {
		if (!set_used(cfg, i) || !session_elem(s, i, &e))
			continue;
		if (emit_elems(t, i, type, &e, 1) == -1) {
			seterr(err, errlen, "session %s: build %s: %s",
			    s->ifname, set_name[i], strerror(errno));
			return -1;
		}
	}
	return 0;
}

int
rules_session_add(const struct rules_config *cfg,
    const struct rules_session *s, struct rules_txn *t, char *err,
    size_t errlen)
{
	return session_emit(cfg, s, t, NFT_MSG_NEWSETELEM, err, errlen);
}

int
rules_session_del(const struct rules_config *cfg,
    const struct rules_session *s, struct rules_txn *t, char *err,
    size_t errlen)
{
	return session_emit(cfg, s, t, NFT_MSG_DELSETELEM, err, errlen);
}

/* ------------------------------------------------------------------ */
/* The model: table, sets, chains, rules as libnftnl objects           */

/* Collects one rule; any failed allocation poisons it (checked once). */
struct rb {
	struct nftnl_rule *r;
	int bad;
};

static void
rb_add(struct rb *b, struct nftnl_expr *e)
{
	if (e == NULL) {
		b->bad = 1;
		return;
	}
	if (b->r == NULL) {
		nftnl_expr_free(e);
		return;
	}
	nftnl_rule_add_expr(b->r, e);
}

static struct rb
rb_new(const char *chain)
{
	struct rb b = { .r = nftnl_rule_alloc() };

	if (b.r == NULL) {
		b.bad = 1;
		return b;
	}
	nftnl_rule_set_u32(b.r, NFTNL_RULE_FAMILY, RULES_FAMILY);
	nftnl_rule_set_str(b.r, NFTNL_RULE_TABLE, RULES_TABLE);
	nftnl_rule_set_str(b.r, NFTNL_RULE_CHAIN, chain);
	return b;
}

static int
rb_done(struct rules_state *st, struct rb *b)
{
	if (b->bad) {
		if (b->r != NULL)
			nftnl_rule_free(b->r);
		errno = ENOMEM;
		return -1;
	}
	nftnl_rule_list_add_tail(b->r, st->rules);
	return 0;
}

static struct nftnl_expr *
x_meta_load(uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
	}
	return e;
}

static struct nftnl_expr *
x_meta_set(uint32_t key, uint32_t sreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, sreg);
	}
	return e;
}

static struct nftnl_expr *
x_cmp_eq(const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");

	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
		nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	}
	return e;
}

static struct nftnl_expr *
x_payload(uint32_t base, uint32_t off, uint32_t len, uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");

	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
	}
	return e;
}

/* set_id != 0 names an anonymous set of this transaction. */
static struct nftnl_expr *
x_lookup(const char *set, uint32_t set_id, uint32_t dreg, bool inv)
{
	struct nftnl_expr *e = nftnl_expr_alloc("lookup");

	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
		nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
		if (set_id != 0)
			nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, set_id);
		if (dreg != 0)
			nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, dreg);
		if (inv)
			nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS,
			    NFT_LOOKUP_F_INV);
	}
	return e;
}

static struct nftnl_expr *
x_verdict(int verdict)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
	}
	return e;
}

static struct nftnl_expr *
x_counter(void)
{
	struct nftnl_expr *e = nftnl_expr_alloc("counter");

	if (e != NULL) {
		nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_PACKETS, 0);
		nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_BYTES, 0);
	}
	return e;
}

static struct nftnl_expr *
x_log(const char *prefix, uint16_t group)
{
	struct nftnl_expr *e = nftnl_expr_alloc("log");

	if (e != NULL) {
		nftnl_expr_set_str(e, NFTNL_EXPR_LOG_PREFIX, prefix);
		nftnl_expr_set_u16(e, NFTNL_EXPR_LOG_GROUP, group);
	}
	return e;
}

/* Matches as nft encodes them: each one loads into reg 1 and compares. */
static void
m_iif_in(struct rb *b, uint32_t meta, bool inv)
{
	rb_add(b, x_meta_load(meta, NFT_REG_1));
	rb_add(b, x_lookup(RULES_SET_IFACES, 0, 0, inv));
}

static void
m_nfproto(struct rb *b, uint8_t proto)
{
	rb_add(b, x_meta_load(NFT_META_NFPROTO, NFT_REG_1));
	rb_add(b, x_cmp_eq(&proto, sizeof(proto)));
}

static void
m_l4proto(struct rb *b, uint8_t proto)
{
	rb_add(b, x_meta_load(NFT_META_L4PROTO, NFT_REG_1));
	rb_add(b, x_cmp_eq(&proto, sizeof(proto)));
}

static void
m_l4proto_tcp_udp(struct rb *b, uint32_t anon_id)
{
	rb_add(b, x_meta_load(NFT_META_L4PROTO, NFT_REG_1));
	rb_add(b, x_lookup("__set%d", anon_id, 0, false));
}

static void
m_th_dport(struct rb *b, uint16_t port)
{
	uint16_t be = htons(port);

	rb_add(b, x_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1));
	rb_add(b, x_cmp_eq(&be, sizeof(be)));
}

/* icmpv6 type T ip6 hoplimit 255: neighbour discovery from the link. */
static void
m_nd(struct rb *b, uint8_t type)
{
	uint8_t hl = 255;

	m_nfproto(b, NFPROTO_IPV6);
	m_l4proto(b, IPPROTO_ICMPV6);
	rb_add(b, x_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1, NFT_REG_1));
	rb_add(b, x_cmp_eq(&type, sizeof(type)));
	rb_add(b, x_payload(NFT_PAYLOAD_NETWORK_HEADER, 7, 1, NFT_REG_1));
	rb_add(b, x_cmp_eq(&hl, sizeof(hl)));
}

static void
s_drop(struct rb *b, const char *prefix, uint16_t group)
{
	rb_add(b, x_counter());
	rb_add(b, x_log(prefix, group));
	rb_add(b, x_verdict(NF_DROP));
}

static void
s_redirect(struct rb *b, uint16_t port)
{
	uint16_t be = htons(port);
	struct nftnl_expr *imm = nftnl_expr_alloc("immediate");
	struct nftnl_expr *redir = nftnl_expr_alloc("redir");

	if (imm != NULL) {
		nftnl_expr_set_u32(imm, NFTNL_EXPR_IMM_DREG, NFT_REG_1);
		nftnl_expr_set(imm, NFTNL_EXPR_IMM_DATA, &be, sizeof(be));
	}
	if (redir != NULL) {
		/* The kernel fills in max = min; say so, or the dump of
		 * the live rule would differ from the one we built. */
		nftnl_expr_set_u32(redir, NFTNL_EXPR_REDIR_REG_PROTO_MIN,
		    NFT_REG_1);
		nftnl_expr_set_u32(redir, NFTNL_EXPR_REDIR_REG_PROTO_MAX,
		    NFT_REG_1);
		nftnl_expr_set_u32(redir, NFTNL_EXPR_REDIR_FLAGS,
		    NF_NAT_RANGE_PROTO_SPECIFIED);
	}
	rb_add(b, imm);
	rb_add(b, redir);
}

/* iifname . ip[6] saddr != @session_srcN: the one address per interface. */
static void
m_spoof(struct rb *b, int v6)
{
	m_nfproto(b, v6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
	rb_add(b, x_meta_load(NFT_META_IIFNAME, NFT_REG_1));
	rb_add(b, x_payload(NFT_PAYLOAD_NETWORK_HEADER, v6 ? 8 : 12,
	    v6 ? 16 : 4, NFT_REG_2));
	rb_add(b, x_lookup(v6 ? RULES_SET_SRC6 : RULES_SET_SRC4, 0, 0, true));
}

/* ip[6] saddr/daddr @set: a lookup whose only effect is the element's
 * counter. */
static void
m_count(struct rb *b, int v6, bool daddr, const char *set)
{
	uint32_t off = v6 ? (daddr ? 24 : 8) : (daddr ? 16 : 12);

	m_nfproto(b, v6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
	rb_add(b, x_payload(NFT_PAYLOAD_NETWORK_HEADER, off, v6 ? 16 : 4,
	    NFT_REG_1));
	rb_add(b, x_lookup(set, 0, 0, false));
}

static int
build_guard(const struct rules_config *cfg, struct rules_state *st)
{
	const char *c = "guard";
	uint8_t udp = IPPROTO_UDP;
	struct rb b;

	b = rb_new(c);
	m_iif_in(&b, NFT_META_IIFNAME, true);
	rb_add(&b, x_verdict(NFT_RETURN));
	if (rb_done(st, &b) == -1)
		return -1;

	b = rb_new(c);
	rb_add(&b, x_meta_load(NFT_META_IIFNAME, NFT_REG_1));
	rb_add(&b, x_lookup(RULES_SET_MARK, 0, NFT_REG_1, false));
	rb_add(&b, x_meta_set(NFT_META_MARK, NFT_REG_1));
	if (rb_done(st, &b) == -1)
		return -1;

	if (!cfg->ipv6) {
		b = rb_new(c);
		m_nfproto(&b, NFPROTO_IPV6);
		s_drop(&b, "ipv6", cfg->nflog_group);
		if (rb_done(st, &b) == -1)
			return -1;
	} else {
		uint8_t nd[2] = { 135, 136 };	/* solicit, advert */
		int k;

		for (k = 0; k < 2; k++) {
			b = rb_new(c);
			m_nd(&b, nd[k]);
			rb_add(&b, x_verdict(NF_ACCEPT));
			if (rb_done(st, &b) == -1)
				return -1;
		}
	}

	b = rb_new(c);
	m_spoof(&b, 0);
	s_drop(&b, "spoof", cfg->nflog_group);
	if (rb_done(st, &b) == -1)
		return -1;
	if (cfg->ipv6) {
		b = rb_new(c);
		m_spoof(&b, 1);
		s_drop(&b, "spoof", cfg->nflog_group);
		if (rb_done(st, &b) == -1)
			return -1;
	}

	b = rb_new(c);
	m_count(&b, 0, false, RULES_SET_TX4);
	if (rb_done(st, &b) == -1)
		return -1;
	if (cfg->ipv6) {
		b = rb_new(c);
		m_count(&b, 1, false, RULES_SET_TX6);
		if (rb_done(st, &b) == -1)
			return -1;
	}

	b = rb_new(c);
	m_l4proto(&b, IPPROTO_TCP);
	rb_add(&b, x_verdict(NF_ACCEPT));
	if (rb_done(st, &b) == -1)
		return -1;

	b = rb_new(c);
	rb_add(&b, x_meta_load(NFT_META_L4PROTO, NFT_REG_1));
	rb_add(&b, x_cmp_eq(&udp, sizeof(udp)));
	m_th_dport(&b, 53);
	rb_add(&b, x_verdict(NF_ACCEPT));
	if (rb_done(st, &b) == -1)
		return -1;

	b = rb_new(c);
	s_drop(&b, "proto", cfg->nflog_group);
	return rb_done(st, &b);
}

static int
build_nat(const struct rules_config *cfg, struct rules_state *st,
    uint32_t anon_id)
{
	const char *c = "nat_redirect";
	struct rb b;

	b = rb_new(c);
	m_iif_in(&b, NFT_META_IIFNAME, true);
	rb_add(&b, x_verdict(NFT_RETURN));
	if (rb_done(st, &b) == -1)
		return -1;

	b = rb_new(c);
	m_l4proto_tcp_udp(&b, anon_id);
	m_th_dport(&b, 53);
	s_redirect(&b, cfg->dns_port);
	if (rb_done(st, &b) == -1)
		return -1;

	b = rb_new(c);
	m_l4proto(&b, IPPROTO_TCP);
	s_redirect(&b, cfg->tproxy_port);
	return rb_done(st, &b);
}

static int
build_input(const struct rules_config *cfg, struct rules_state *st,
    uint32_t anon_id)
{
	const char *c = "filter_input";
	struct rb b;

	b = rb_new(c);
	m_iif_in(&b, NFT_META_IIFNAME, true);
	rb_add(&b, x_verdict(NFT_RETURN));
	if (rb_done(st, &b) == -1)
		return -1;

	b = rb_new(c);
	m_l4proto(&b, IPPROTO_TCP);
	m_th_dport(&b, cfg->tproxy_port);
	rb_add(&b, x_verdict(NF_ACCEPT));
	if (rb_done(st, &b) == -1)
		return -1;

	b = rb_new(c);
	m_l4proto_tcp_udp(&b, anon_id);
	m_th_dport(&b, cfg->dns_port);
	rb_add(&b, x_verdict(NF_ACCEPT));
	if (rb_done(st, &b) == -1)
		return -1;

	if (cfg->ipv6) {
		uint8_t nd[2] = { 135, 136 };
		int k;

		for (k = 0; k < 2; k++) {
			b = rb_new(c);
			m_nd(&b, nd[k]);
			rb_add(&b, x_verdict(NF_ACCEPT));
			if (rb_done(st, &b) == -1)
				return -1;
		}
	}

	b = rb_new(c);
	s_drop(&b, "input", cfg->nflog_group);
	return rb_done(st, &b);
}

static int
build_forward(const struct rules_config *cfg, struct rules_state *st)
{
	const char *c = "filter_forward";
	struct rb b;

	b = rb_new(c);
	m_iif_in(&b, NFT_META_IIFNAME, false);
	s_drop(&b, "forward", cfg->nflog_group);
	if (rb_done(st, &b) == -1)
		return -1;

	b = rb_new(c);
	m_iif_in(&b, NFT_META_OIFNAME, false);
	s_drop(&b, "forward", cfg->nflog_group);
	return rb_done(st, &b);
}

static int
build_count_rx(const struct rules_config *cfg, struct rules_state *st)
{
	const char *c = "count_rx";
	struct rb b;

	b = rb_new(c);
	m_iif_in(&b, NFT_META_OIFNAME, true);
	rb_add(&b, x_verdict(NFT_RETURN));
	if (rb_done(st, &b) == -1)
		return -1;

	b = rb_new(c);
	m_count(&b, 0, true, RULES_SET_RX4);
	if (rb_done(st, &b) == -1)
		return -1;
	if (cfg->ipv6) {
		b = rb_new(c);
		m_count(&b, 1, true, RULES_SET_RX6);
		if (rb_done(st, &b) == -1)
			return -1;
	}
	return 0;
}

static struct nftnl_set *
set_new(const char *name, uint32_t id, uint32_t flags, uint32_t ktype,
    uint32_t klen)
{
	struct nftnl_set *s = nftnl_set_alloc();

	if (s == NULL)
		return NULL;
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, RULES_FAMILY);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, RULES_TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	nftnl_set_set_u32(s, NFTNL_SET_ID, id);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, flags);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, ktype);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, klen);
	return s;
}

/* Only the listing uses this; the kernel ignores user data. */
static int
set_byteorder(struct nftnl_set *s, uint32_t key, uint32_t data)
{
	struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(64);

	if (u == NULL)
		return -1;
	if (key != BO_NONE)
		nftnl_udata_put_u32(u, NFTNL_UDATA_SET_KEYBYTEORDER, key);
	if (data != BO_NONE)
		nftnl_udata_put_u32(u, NFTNL_UDATA_SET_DATABYTEORDER, data);
	if (nftnl_udata_buf_len(u) > 0)
		nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(u),
		    nftnl_udata_buf_len(u));
	nftnl_udata_buf_free(u);
	return 0;
}

static int
build_sets(const struct rules_config *cfg, struct rules_state *st,
    uint32_t *anon_id)
{
	static const uint8_t protos[2] = { IPPROTO_TCP, IPPROTO_UDP };
	struct nftnl_set *s;
	uint32_t id = 1;
	int i, k;

	for (i = 0; i < SI_COUNT; i++) {
		uint32_t ktype, klen, flags = 0, kbo = BO_NONE;

		if (!set_used(cfg, i))
			continue;
		switch (i) {
		case SI_IFACES:
		case SI_MARK:
			ktype = DT_IFNAME;
			klen = IFNAMSIZ;
			kbo = BO_HOST;
			flags = i == SI_MARK ? NFT_SET_MAP : 0;
			break;
		case SI_SRC4:
			ktype = DT_CONCAT(DT_IFNAME, DT_IPADDR);
			klen = IFNAMSIZ + 4;
			break;
		case SI_SRC6:
			ktype = DT_CONCAT(DT_IFNAME, DT_IP6ADDR);
			klen = IFNAMSIZ + 16;
			break;
		case SI_TX4:
		case SI_RX4:
			ktype = DT_IPADDR;
			klen = 4;
			kbo = BO_BIG;
			break;
		default:
			ktype = DT_IP6ADDR;
			klen = 16;
			kbo = BO_BIG;
			break;
		}
		if ((s = set_new(set_name[i], id++, flags, ktype, klen)) == NULL)
			return -1;
		if (set_byteorder(s, kbo, i == SI_MARK ? BO_HOST : BO_NONE)) {
			nftnl_set_free(s);
			return -1;
		}
		if (i == SI_MARK) {
			nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, DT_MARK);
			nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, 4);
		}
		if (i == SI_TX4 || i == SI_RX4 || i == SI_TX6 || i == SI_RX6) {
			struct nftnl_expr *e = x_counter();

			if (e == NULL) {
				nftnl_set_free(s);
				return -1;
			}
			nftnl_set_add_expr(s, e);
		}
		nftnl_set_list_add_tail(s, st->sets);
	}

	/* { tcp, udp } for the two rules that take DNS over both. */
	for (k = 0; k < 2; k++) {
		size_t j;

		anon_id[k] = id;
		s = set_new("__set%d", id++, NFT_SET_ANONYMOUS | NFT_SET_CONSTANT,
		    DT_INET_PROTO, 1);
		if (s == NULL)
			return -1;
		nftnl_set_list_add_tail(s, st->sets);
		nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, 2);
		if (set_byteorder(s, BO_HOST, BO_NONE) == -1)
			return -1;
		for (j = 0; j < sizeof(protos); j++) {
			struct nftnl_set_elem *el = nftnl_set_elem_alloc();

			if (el == NULL)
				return -1;
			nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, &protos[j], 1);
			nftnl_set_elem_add(s, el);
		}
	}
	return 0;
}

static struct nftnl_chain *
chain_new(const char *name, const char *type, uint32_t hook, int32_t prio)
{
	struct nftnl_chain *c = nftnl_chain_alloc();

	if (c == NULL)
		return NULL;
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, RULES_FAMILY);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, RULES_TABLE);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, type);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	return c;
}

static int
build_chains(struct rules_state *st)
{
	static const struct {
		const char *name, *type;
		uint32_t hook;
		int32_t prio;
	} spec[] = {
		{ "guard", "filter", NF_INET_PRE_ROUTING, -300 },	/* raw */
		{ "nat_redirect", "nat", NF_INET_PRE_ROUTING, -100 },	/* dstnat */
		{ "filter_input", "filter", NF_INET_LOCAL_IN, 0 },
		{ "filter_forward", "filter", NF_INET_FORWARD, 0 },
		{ "count_rx", "filter", NF_INET_POST_ROUTING, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(spec) / sizeof(spec[0]); i++) {
		struct nftnl_chain *c = chain_new(spec[i].name, spec[i].type,
		    spec[i].hook, spec[i].prio);

		if (c == NULL)
			return -1;
		nftnl_chain_list_add_tail(c, st->chains);
	}
	return 0;
}

int
rules_state_build(const struct rules_config *cfg, struct rules_state *st,
    char *err, size_t errlen)
{
	uint32_t anon[2];

	memset(st, 0, sizeof(*st));
	if (rules_config_check(cfg, err, errlen) == -1)
		return -1;
	if ((st->table = nftnl_table_alloc()) == NULL ||
	    (st->chains = nftnl_chain_list_alloc()) == NULL ||
	    (st->rules = nftnl_rule_list_alloc()) == NULL ||
	    (st->sets = nftnl_set_list_alloc()) == NULL)
		goto fail;
	nftnl_table_set_u32(st->table, NFTNL_TABLE_FAMILY, RULES_FAMILY);
	nftnl_table_set_str(st->table, NFTNL_TABLE_NAME, RULES_TABLE);
	if (build_sets(cfg, st, anon) == -1 || build_chains(st) == -1 ||
	    build_guard(cfg, st) == -1 || build_nat(cfg, st, anon[0]) == -1 ||
	    build_input(cfg, st, anon[1]) == -1 ||
	    build_forward(cfg, st) == -1 || build_count_rx(cfg, st) == -1)
		goto fail;
	return 0;
fail:
	seterr(err, errlen, "build ruleset: %s", strerror(ENOMEM));
	rules_state_free(st);
	errno = ENOMEM;
	return -1;
}

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

/* ------------------------------------------------------------------ */
/* Emitting the model                                                  */

struct emit_ctx {
	struct rules_txn *t;
	const char *chain;	/* for rule numbering */
	unsigned int nth;
};

static int
emit_set(struct nftnl_set *s, void *arg)
{
	struct emit_ctx *ec = arg;
	const char *name = nftnl_set_get_str(s, NFTNL_SET_NAME);
	struct nlmsghdr *nlh;

	nlh = txn_msg(ec->t, NFT_MSG_NEWSET, NLM_F_CREATE, "add set %s", name);
	if (nlh == NULL)
		return -1;
	nftnl_set_nlmsg_build_payload(nlh, s);
	if (txn_commit(ec->t) == -1)
		return -1;
	if (nftnl_set_get_u32(s, NFTNL_SET_FLAGS) & NFT_SET_ANONYMOUS) {
		nlh = txn_msg(ec->t, NFT_MSG_NEWSETELEM, NLM_F_CREATE,
		    "add elements %s", name);
		if (nlh == NULL)
			return -1;
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
		if (txn_commit(ec->t) == -1)
			return -1;
	}
	return 0;
}

static int
emit_chain(struct nftnl_chain *c, void *arg)
{
	struct emit_ctx *ec = arg;
	struct nlmsghdr *nlh;

	nlh = txn_msg(ec->t, NFT_MSG_NEWCHAIN, NLM_F_CREATE, "add chain %s",
	    nftnl_chain_get_str(c, NFTNL_CHAIN_NAME));
	if (nlh == NULL)
		return -1;
	nftnl_chain_nlmsg_build_payload(nlh, c);
	return txn_commit(ec->t);
}

static int
emit_rule(struct nftnl_rule *r, void *arg)
{
	struct emit_ctx *ec = arg;
	const char *chain = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN);
	struct nlmsghdr *nlh;

	if (ec->chain == NULL || strcmp(ec->chain, chain) != 0) {
		ec->chain = chain;
		ec->nth = 0;
	}
	ec->nth++;
	nlh = txn_msg(ec->t, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND,
	    "add rule %s #%u", chain, ec->nth);
	if (nlh == NULL)
		return -1;
	nftnl_rule_nlmsg_build_payload(nlh, r);
	return txn_commit(ec->t);
}

static int
emit_table(struct rules_txn *t, const struct nftnl_table *table,
    uint16_t type, const char *verb)
{
	struct nlmsghdr *nlh;

	nlh = txn_msg(t, type, type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0,
	    "%s table %s", verb, RULES_TABLE);
	if (nlh == NULL)
		return -1;
	nftnl_table_nlmsg_build_payload(nlh, table);
	return txn_commit(t);
}

/* The elements of all live sessions, set by set. */
static int
emit_live(const struct rules_config *cfg, const struct rules_session *live,
    size_t n, struct rules_txn *t)
{
	struct elem_bytes *v;
	size_t k, m;
	int i, r = 0;

	if (n == 0)
		return 0;
	if ((v = calloc(n, sizeof(*v))) == NULL)
		return -1;
	for (i = 0; i < SI_COUNT && r == 0; i++) {
		if (!set_used(cfg, i))
			continue;
		for (k = 0, m = 0; k < n; k++)
			if (session_elem(&live[k], i, &v[m]))
				m++;
		if (m > 0)
			r = emit_elems(t, i, NFT_MSG_NEWSETELEM, v, m);
	}
	free(v);
	return r;
}

int
rules_build_table(const struct rules_config *cfg,
    const struct rules_session *live, size_t n, struct rules_txn *t,
    char *err, size_t errlen)
{
	struct rules_state st;
	struct emit_ctx ec = { .t = t };
	int r = -1;

	if (sessions_check(cfg, live, n, err, errlen) == -1)
		return -1;
	if (rules_state_build(cfg, &st, err, errlen) == -1)
		return -1;
	/* add (so delete cannot fail on a missing table), delete, add: a
	 * replace in one transaction. */
	if (emit_table(t, st.table, NFT_MSG_NEWTABLE, "add") == -1 ||
	    emit_table(t, st.table, NFT_MSG_DELTABLE, "delete") == -1 ||
	    emit_table(t, st.table, NFT_MSG_NEWTABLE, "add") == -1 ||
	    nftnl_set_list_foreach(st.sets, emit_set, &ec) == -1 ||
	    nftnl_chain_list_foreach(st.chains, emit_chain, &ec) == -1 ||
	    nftnl_rule_list_foreach(st.rules, emit_rule, &ec) == -1 ||
	    emit_live(cfg, live, n, t) == -1) {
		seterr(err, errlen, "build table: %s", strerror(errno));
		goto out;
	}
	r = 0;
out:
	rules_state_free(&st);
	return r;
}

/* ------------------------------------------------------------------ */
/* Structure as text                                                   */

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

static struct nftnl_set *
state_set(const struct rules_state *st, const char *name, uint32_t id)
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
		struct nftnl_set *s = state_set(st, set, id);

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
		seterr(err, errlen, "ruleset text: %s", strerror(ENOMEM));
		errno = ENOMEM;
		return -1;
	}
	*out = b.p;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Reconcile                                                           */

/* The kernel's elements of set i, as bytes. */
static int
kernel_elems(const struct rules_state *st, int i, struct elem_bytes **out,
    size_t *n)
{
	struct nftnl_set *s = state_set(st, set_name[i], 0);
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

	if (sessions_check(cfg, live, n, err, errlen) == -1)
		return -1;
	for (i = 0; i < SI_COUNT; i++)
		if (set_used(cfg, i) &&
		    kernel_elems(kernel, i, &have[i], &nhave[i]) == -1)
			goto oom;
	if ((want = calloc(n + 1, sizeof(*want))) == NULL)
		goto oom;
	/* Deletions first, in every set, so a key that moved to another
	 * session (an interface with a new mark) is re-added cleanly. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < SI_COUNT; i++) {
			size_t cap;

			if (!set_used(cfg, i))
				continue;
			for (k = 0, nwant = 0; k < n; k++)
				if (session_elem(&live[k], i, &want[nwant]))
					nwant++;
			cap = (pass == 0 ? nhave[i] : nwant) + 1;
			free(tmp);
			if ((tmp = calloc(cap, sizeof(*tmp))) == NULL)
				goto oom;
			if (pass == 0) {
				m = elem_diff(have[i], nhave[i], want, nwant, tmp);
				if (m > 0 && emit_elems(t, i, NFT_MSG_DELSETELEM,
				    tmp, m) == -1)
					goto oom;
				if (res != NULL)
					res->elems_deleted += m;
			} else {
				m = elem_diff(want, nwant, have[i], nhave[i], tmp);
				if (m > 0 && emit_elems(t, i, NFT_MSG_NEWSETELEM,
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
	seterr(err, errlen, "plan elements: %s", strerror(errno));
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
	if (sessions_check(cfg, live, n, err, errlen) == -1)
		return -1;
	if (rules_state_build(cfg, &want, err, errlen) == -1)
		return -1;
	if (rules_state_read(s, &have, err, errlen) == -1)
		goto out;
	if (rules_state_text(&have, &thave, err, errlen) == -1 ||
	    rules_state_text(&want, &twant, err, errlen) == -1)
		goto out;
	if (rules_txn_init(&t, nft_seq(s)) == -1) {
		seterr(err, errlen, "reconcile: %s", strerror(errno));
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
			seterr(err, errlen, "reconcile: %s", strerror(errno));
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

/* ------------------------------------------------------------------ */
/* Counters                                                            */

struct ctr {
	uint64_t packets, bytes;
	int found;
};

static int
ctr_cb(struct nftnl_expr *e, void *arg)
{
	struct ctr *c = arg;

	if (strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "counter") == 0) {
		c->packets = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
		c->bytes = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_BYTES);
	}
	return 0;
}

static int
counter_of(struct nft_sock *s, const char *set, const struct ip_addr *addr,
    struct ctr *c, char *err, size_t errlen)
{
	uint32_t alen = addr->family == AF_INET ? 4 : 16;
	struct nftnl_set *st;
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *el;
	int r = -1;

	memset(c, 0, sizeof(*c));
	if ((st = nftnl_set_alloc()) == NULL) {
		seterr(err, errlen, "read counters: %s", strerror(errno));
		return -1;
	}
	nftnl_set_set_u32(st, NFTNL_SET_FAMILY, RULES_FAMILY);
	nftnl_set_set_str(st, NFTNL_SET_TABLE, RULES_TABLE);
	nftnl_set_set_str(st, NFTNL_SET_NAME, set);
	if (nft_get_elems(s, st, err, errlen) == -1)
		goto out;
	if ((it = nftnl_set_elems_iter_create(st)) == NULL) {
		seterr(err, errlen, "read counters: %s", strerror(errno));
		goto out;
	}
	while ((el = nftnl_set_elems_iter_next(it)) != NULL) {
		struct elem_bytes e;

		elem_from_nftnl(el, &e);
		if (e.klen == alen && memcmp(e.key, addr->a, alen) == 0) {
			c->found = 1;
			nftnl_set_elem_expr_foreach(el, ctr_cb, c);
			break;
		}
	}
	nftnl_set_elems_iter_destroy(it);
	r = 0;
out:
	nftnl_set_free(st);
	return r;
}

int
rules_counters_read(struct nft_sock *s, const struct ip_addr *addr,
    struct rules_counters *out, char *err, size_t errlen)
{
	struct ctr tx, rx;
	int v6;

	memset(out, 0, sizeof(*out));
	if (addr->family != AF_INET && addr->family != AF_INET6) {
		seterr(err, errlen, "read counters: not an IP address");
		errno = EINVAL;
		return -1;
	}
	v6 = addr->family == AF_INET6;
	if (counter_of(s, v6 ? RULES_SET_TX6 : RULES_SET_TX4, addr, &tx, err,
	    errlen) == -1 ||
	    counter_of(s, v6 ? RULES_SET_RX6 : RULES_SET_RX4, addr, &rx, err,
	    errlen) == -1)
		return -1;
	if (!tx.found && !rx.found) {
		char a[IP_STRLEN] = "?";

		ip_format(addr, a, sizeof(a));
		seterr(err, errlen, "read counters: %s is no session address",
		    a);
		errno = ENOENT;
		return -1;
	}
	out->tx_packets = tx.packets;
	out->tx_bytes = tx.bytes;
	out->rx_packets = rx.packets;
	out->rx_bytes = rx.bytes;
	return 0;
}
