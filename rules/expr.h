/*
 * The pieces rules are made of, encoded as nft encodes them so that the
 * kernel's dump of a live rule reads back exactly as we built it:
 *   rb_*  one rule under construction
 *   x_*   one expression
 *   m_*   a match: expressions that load into a register and compare
 *   s_*   a statement: what a matching packet gets
 */
#ifndef ENCLAVE_RULES_EXPR_H
#define ENCLAVE_RULES_EXPR_H

#include <stdbool.h>
#include <stdint.h>

struct nftnl_expr;
struct nftnl_rule;
struct nftnl_rule_list;

/* Collects one rule; any failed allocation poisons it (checked once). */
struct rb {
	struct nftnl_rule *r;
	int bad;
};

/* A rule of chain in the enclave table. */
struct rb rb_new(const char *chain);
/* Append e (NULL poisons the rule). */
void rb_add(struct rb *b, struct nftnl_expr *e);
/* Append the rule to rules, or free it and fail (ENOMEM) if poisoned. */
int rb_done(struct nftnl_rule_list *rules, struct rb *b);

struct nftnl_expr *x_meta_load(uint32_t key, uint32_t dreg);
struct nftnl_expr *x_meta_set(uint32_t key, uint32_t sreg);
/* reg 1 == data */
struct nftnl_expr *x_cmp_eq(const void *data, uint32_t len);
/* reg 1 in set; set_id != 0 names an anonymous set of this transaction. */
struct nftnl_expr *x_lookup(const char *set, uint32_t set_id, uint32_t dreg,
    bool inv);
struct nftnl_expr *x_verdict(int verdict);
struct nftnl_expr *x_counter(void);

/* iifname / oifname (meta) [not] in @session_ifaces */
void m_iif_in(struct rb *b, uint32_t meta, bool inv);
void m_nfproto(struct rb *b, uint8_t proto);
void m_l4proto(struct rb *b, uint8_t proto);
/* meta l4proto { tcp, udp }: anon_id is the anonymous set's id */
void m_l4proto_tcp_udp(struct rb *b, uint32_t anon_id);
void m_th_dport(struct rb *b, uint16_t port);
void m_nd(struct rb *b, uint8_t type);
void m_spoof(struct rb *b, int v6);
void m_count(struct rb *b, int v6, bool daddr, const char *set);

/* counter, log to NFLOG group with prefix, drop */
void s_drop(struct rb *b, const char *prefix, uint16_t group);
/* redirect to :port */
void s_redirect(struct rb *b, uint16_t port);

#endif /* ENCLAVE_RULES_EXPR_H */
