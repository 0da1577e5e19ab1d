#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <netinet/in.h>

#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "common/err.h"
#include "rules/build.h"
#include "rules/elem.h"
#include "rules/expr.h"
#include "rules/state.h"
#include "rules/table.h"

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

/* A chain's first rule when it concerns sessions only: any packet not
 * from (iifname) or to (oifname) a session interface leaves at once. */
static int
build_others_return(struct rules_state *st, const char *c, uint32_t meta)
{
	struct rb b = rb_new(c);

	m_iif_in(&b, meta, true);
	rb_add(&b, x_verdict(NFT_RETURN));
	return rb_done(st->rules, &b);
}

/* With IPv6, neighbour discovery from the link must pass. */
static int
build_nd_accept(struct rules_state *st, const char *c)
{
	static const uint8_t nd[2] = { 135, 136 };	/* solicit, advert */
	struct rb b;
	int k;

	for (k = 0; k < 2; k++) {
		b = rb_new(c);
		m_nd(&b, nd[k]);
		rb_add(&b, x_verdict(NF_ACCEPT));
		if (rb_done(st->rules, &b) == -1)
			return -1;
	}
	return 0;
}

static int
build_guard(const struct rules_config *cfg, struct rules_state *st)
{
	const char *c = "guard";
	uint8_t udp = IPPROTO_UDP;
	struct rb b;

	if (build_others_return(st, c, NFT_META_IIFNAME) == -1)
		return -1;

	b = rb_new(c);
	rb_add(&b, x_meta_load(NFT_META_IIFNAME, NFT_REG_1));
	rb_add(&b, x_lookup(RULES_SET_MARK, 0, NFT_REG_1, false));
	rb_add(&b, x_meta_set(NFT_META_MARK, NFT_REG_1));
	if (rb_done(st->rules, &b) == -1)
		return -1;

	if (!cfg->ipv6) {
		b = rb_new(c);
		m_nfproto(&b, NFPROTO_IPV6);
		s_drop(&b, "ipv6", cfg->nflog_group);
		if (rb_done(st->rules, &b) == -1)
			return -1;
	} else if (build_nd_accept(st, c) == -1) {
		return -1;
	}

	b = rb_new(c);
	m_spoof(&b, 0);
	s_drop(&b, "spoof", cfg->nflog_group);
	if (rb_done(st->rules, &b) == -1)
		return -1;
	if (cfg->ipv6) {
		b = rb_new(c);
		m_spoof(&b, 1);
		s_drop(&b, "spoof", cfg->nflog_group);
		if (rb_done(st->rules, &b) == -1)
			return -1;
	}

	b = rb_new(c);
	m_count(&b, 0, false, RULES_SET_TX4);
	if (rb_done(st->rules, &b) == -1)
		return -1;
	if (cfg->ipv6) {
		b = rb_new(c);
		m_count(&b, 1, false, RULES_SET_TX6);
		if (rb_done(st->rules, &b) == -1)
			return -1;
	}

	b = rb_new(c);
	m_l4proto(&b, IPPROTO_TCP);
	rb_add(&b, x_verdict(NF_ACCEPT));
	if (rb_done(st->rules, &b) == -1)
		return -1;

	b = rb_new(c);
	rb_add(&b, x_meta_load(NFT_META_L4PROTO, NFT_REG_1));
	rb_add(&b, x_cmp_eq(&udp, sizeof(udp)));
	m_th_dport(&b, 53);
	rb_add(&b, x_verdict(NF_ACCEPT));
	if (rb_done(st->rules, &b) == -1)
		return -1;

	b = rb_new(c);
	s_drop(&b, "proto", cfg->nflog_group);
	return rb_done(st->rules, &b);
}

static int
build_nat(const struct rules_config *cfg, struct rules_state *st,
    uint32_t anon_id)
{
	const char *c = "nat_redirect";
	struct rb b;

	if (build_others_return(st, c, NFT_META_IIFNAME) == -1)
		return -1;

	b = rb_new(c);
	m_l4proto_tcp_udp(&b, anon_id);
	m_th_dport(&b, 53);
	s_redirect(&b, cfg->dns_port);
	if (rb_done(st->rules, &b) == -1)
		return -1;

	b = rb_new(c);
	m_l4proto(&b, IPPROTO_TCP);
	s_redirect(&b, cfg->tproxy_port);
	return rb_done(st->rules, &b);
}

static int
build_input(const struct rules_config *cfg, struct rules_state *st,
    uint32_t anon_id)
{
	const char *c = "filter_input";
	struct rb b;

	if (build_others_return(st, c, NFT_META_IIFNAME) == -1)
		return -1;

	b = rb_new(c);
	m_l4proto(&b, IPPROTO_TCP);
	m_th_dport(&b, cfg->tproxy_port);
	rb_add(&b, x_verdict(NF_ACCEPT));
	if (rb_done(st->rules, &b) == -1)
		return -1;

	b = rb_new(c);
	m_l4proto_tcp_udp(&b, anon_id);
	m_th_dport(&b, cfg->dns_port);
	rb_add(&b, x_verdict(NF_ACCEPT));
	if (rb_done(st->rules, &b) == -1)
		return -1;

	if (cfg->ipv6 && build_nd_accept(st, c) == -1)
		return -1;

	b = rb_new(c);
	s_drop(&b, "input", cfg->nflog_group);
	return rb_done(st->rules, &b);
}

static int
build_forward(const struct rules_config *cfg, struct rules_state *st)
{
	const char *c = "filter_forward";
	struct rb b;

	b = rb_new(c);
	m_iif_in(&b, NFT_META_IIFNAME, false);
	s_drop(&b, "forward", cfg->nflog_group);
	if (rb_done(st->rules, &b) == -1)
		return -1;

	b = rb_new(c);
	m_iif_in(&b, NFT_META_OIFNAME, false);
	s_drop(&b, "forward", cfg->nflog_group);
	return rb_done(st->rules, &b);
}

static int
build_count_rx(const struct rules_config *cfg, struct rules_state *st)
{
	const char *c = "count_rx";
	struct rb b;

	if (build_others_return(st, c, NFT_META_OIFNAME) == -1)
		return -1;

	b = rb_new(c);
	m_count(&b, 0, true, RULES_SET_RX4);
	if (rb_done(st->rules, &b) == -1)
		return -1;
	if (cfg->ipv6) {
		b = rb_new(c);
		m_count(&b, 1, true, RULES_SET_RX6);
		if (rb_done(st->rules, &b) == -1)
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

		if (!elem_set_used(cfg, i))
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
		if ((s = set_new(elem_set_name[i], id++, flags, ktype, klen)) == NULL)
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
	err_set(err, errlen, "build ruleset: %s", strerror(ENOMEM));
	rules_state_free(st);
	errno = ENOMEM;
	return -1;
}
