#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <netinet/in.h>

#include <libnftnl/expr.h>
#include <libnftnl/rule.h>

#include "rules/expr.h"
#include "rules/table.h"

void
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

struct rb
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

int
rb_done(struct nftnl_rule_list *rules, struct rb *b)
{
	if (b->bad) {
		if (b->r != NULL)
			nftnl_rule_free(b->r);
		errno = ENOMEM;
		return -1;
	}
	nftnl_rule_list_add_tail(b->r, rules);
	return 0;
}

struct nftnl_expr *
x_meta_load(uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
	}
	return e;
}

struct nftnl_expr *
x_meta_set(uint32_t key, uint32_t sreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, sreg);
	}
	return e;
}

struct nftnl_expr *
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

struct nftnl_expr *
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

struct nftnl_expr *
x_verdict(int verdict)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
	}
	return e;
}

struct nftnl_expr *
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
void
m_iif_in(struct rb *b, uint32_t meta, bool inv)
{
	rb_add(b, x_meta_load(meta, NFT_REG_1));
	rb_add(b, x_lookup(RULES_SET_IFACES, 0, 0, inv));
}

void
m_nfproto(struct rb *b, uint8_t proto)
{
	rb_add(b, x_meta_load(NFT_META_NFPROTO, NFT_REG_1));
	rb_add(b, x_cmp_eq(&proto, sizeof(proto)));
}

void
m_l4proto(struct rb *b, uint8_t proto)
{
	rb_add(b, x_meta_load(NFT_META_L4PROTO, NFT_REG_1));
	rb_add(b, x_cmp_eq(&proto, sizeof(proto)));
}

void
m_l4proto_tcp_udp(struct rb *b, uint32_t anon_id)
{
	rb_add(b, x_meta_load(NFT_META_L4PROTO, NFT_REG_1));
	rb_add(b, x_lookup("__set%d", anon_id, 0, false));
}

void
m_th_dport(struct rb *b, uint16_t port)
{
	uint16_t be = htons(port);

	rb_add(b, x_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1));
	rb_add(b, x_cmp_eq(&be, sizeof(be)));
}

/* icmpv6 type T ip6 hoplimit 255: neighbour discovery from the link. */
void
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

/* iifname . ip[6] saddr != @session_srcN: the one address per interface. */
void
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
void
m_count(struct rb *b, int v6, bool daddr, const char *set)
{
	uint32_t off = v6 ? (daddr ? 24 : 8) : (daddr ? 16 : 12);

	m_nfproto(b, v6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
	rb_add(b, x_payload(NFT_PAYLOAD_NETWORK_HEADER, off, v6 ? 16 : 4,
	    NFT_REG_1));
	rb_add(b, x_lookup(set, 0, 0, false));
}

void
s_drop(struct rb *b, const char *prefix, uint16_t group)
{
	rb_add(b, x_counter());
	rb_add(b, x_log(prefix, group));
	rb_add(b, x_verdict(NF_DROP));
}

void
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
