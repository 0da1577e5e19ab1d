/*
 * The enforcement ruleset: one nftables table, inet enclave, in the
 * appliance netns.
 *
 * Sessions are elements, never rules: adding or removing one is a single
 * transaction that touches only that session's elements of the sets
 * session_ifaces, session_mark, session_src4, session_tx4, session_rx4 (and
 * session_src6/tx6/rx6 with IPv6). The chains:
 *
 *   guard          raw prerouting: decides everything before routing, so the
 *                  netns can keep ip_forward=0 and still log every drop
 *                  (mark := session number, IPv6 or spoofed source -> drop,
 *                  count tx, TCP and DNS go on, the rest -> drop)
 *   nat_redirect   DNS (UDP/TCP 53) -> dns_port, other TCP -> tproxy_port
 *   filter_input   only the proxy ports; everything else -> drop
 *   filter_forward nothing from or to a session is ever routed
 *   count_rx       counts what is sent to each session
 *
 * Every drop is counted and logged to NFLOG group nflog_group with a prefix
 * ("ipv6", "spoof", "proto", "input", "forward") and the mark set to the
 * session number.
 *
 * The builders are pure: they add netlink messages to a struct rules_txn
 * and never touch a socket, so tests parse the messages back without a
 * kernel. rules_reconcile() and rules_counters_read() do kernel I/O through
 * rules/nft.h.
 */
#ifndef ENCLAVE_RULES_RULESET_H
#define ENCLAVE_RULES_RULESET_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ip.h"

struct nftnl_batch;
struct nftnl_table;
struct nftnl_chain_list;
struct nftnl_rule_list;
struct nftnl_set_list;
struct nft_sock;

#define RULES_TABLE	"enclave"
/* NFPROTO_INET */
#define RULES_FAMILY	1

/* Set names: the session-facing interface of the table. */
#define RULES_SET_IFACES	"session_ifaces"
#define RULES_SET_MARK		"session_mark"
#define RULES_SET_SRC4		"session_src4"
#define RULES_SET_TX4		"session_tx4"
#define RULES_SET_RX4		"session_rx4"
#define RULES_SET_SRC6		"session_src6"
#define RULES_SET_TX6		"session_tx6"
#define RULES_SET_RX6		"session_rx6"

/* Longest description of one batch message ("add rule guard #3"). */
#define RULES_WHAT_MAX	64

struct rules_config {
	uint16_t tproxy_port;	/* proxyd's transparent TCP port */
	uint16_t dns_port;	/* proxyd's DNS port (UDP and TCP) */
	uint16_t nflog_group;	/* where drops are logged */
	int ipv6;		/* sessions may use IPv6 */
};

/*
 * One session as the kernel knows it: the host-side interface (which the
 * sandbox cannot rename or move), its number (the packet mark; never 0),
 * and the one source address it may use per family (src6.family is 0 when
 * the session has no IPv6 address; only allowed with cfg->ipv6).
 */
struct rules_session {
	char ifname[IFNAMSIZ];
	uint32_t mark;
	struct ip_addr src4;
	struct ip_addr src6;
};

/* Packets and bytes sent by (tx) and to (rx) one session address. */
struct rules_counters {
	uint64_t tx_packets, tx_bytes;
	uint64_t rx_packets, rx_bytes;
};

/*
 * A transaction under construction: an nftnl batch that starts with BEGIN
 * and, once rules_txn_finish() ran, ends with END; and for each message a
 * description, so an error the kernel reports for one sequence number says
 * which object failed.
 */
struct rules_txn {
	struct nftnl_batch *batch;
	uint32_t seq_begin;	/* sequence number of BEGIN */
	uint32_t seq;		/* next sequence number */
	char (*what)[RULES_WHAT_MAX];	/* what[i]: message seq_begin + 1 + i */
	size_t nwhat, capwhat;
	int finished;
};

int rules_txn_init(struct rules_txn *t, uint32_t seq);
/* Append END; the batch is then ready for nft_send(). */
int rules_txn_finish(struct rules_txn *t);
/* Messages between BEGIN and END. */
size_t rules_txn_count(const struct rules_txn *t);
/* Description of message seq (an nft_what_fn; arg is the txn). */
const char *rules_txn_what(const void *txn, uint32_t seq);
void rules_txn_free(struct rules_txn *t);

int rules_config_check(const struct rules_config *cfg, char *err,
    size_t errlen);
int rules_session_check(const struct rules_config *cfg,
    const struct rules_session *s, char *err, size_t errlen);

/*
 * Replace the table in one transaction: add table (idempotent), delete it,
 * then add table, sets, chains, rules, and the elements of the n live
 * sessions. Whatever was there before, the result is exactly what we build.
 */
int rules_build_table(const struct rules_config *cfg,
    const struct rules_session *live, size_t n, struct rules_txn *t,
    char *err, size_t errlen);
/* Add (or delete) exactly one session's elements; nothing else. Adding
 * fails if any of its keys (interface, address) is already there. */
int rules_session_add(const struct rules_config *cfg,
    const struct rules_session *s, struct rules_txn *t, char *err,
    size_t errlen);
int rules_session_del(const struct rules_config *cfg,
    const struct rules_session *s, struct rules_txn *t, char *err,
    size_t errlen);

/*
 * The table as a set of libnftnl objects: what the kernel holds
 * (rules_state_read) or what we would build (rules_state_build). table is
 * NULL when there is no table. Each set object in sets carries its
 * elements.
 */
struct rules_state {
	struct nftnl_table *table;
	struct nftnl_chain_list *chains;
	struct nftnl_rule_list *rules;
	struct nftnl_set_list *sets;
};

int rules_state_build(const struct rules_config *cfg, struct rules_state *st,
    char *err, size_t errlen);
void rules_state_free(struct rules_state *st);
/*
 * The structure of a state as text, one line per object: table flags; each
 * named set's definition (flags, key and data type and length,
 * expressions), sorted by name; each chain's hook, priority, type and
 * policy followed by its rules in order, every rule as its expressions'
 * text. Anonymous sets appear inside the rule that uses them, as their
 * elements. Named sets' elements, handles, counter values and user data
 * are left out: they are not structure. Two states have the same structure
 * exactly when these texts are equal. *out is malloc'd.
 */
int rules_state_text(const struct rules_state *st, char **out, char *err,
    size_t errlen);

/* How a reconcile went. */
struct rules_reconcile_result {
	int replaced;		/* the table was missing or differed */
	size_t elems_added;	/* elements (not sessions) added */
	size_t elems_deleted;	/* stale elements deleted */
	char diff[160];		/* when replaced: first line that differed */
};

/*
 * Pure part of a reconcile: given the kernel's state whose structure
 * matches, add to t the deletion of every element no live session owns,
 * then the addition of every missing one; live elements stay untouched so
 * their counters survive.
 */
int rules_plan_elems(const struct rules_config *cfg,
    const struct rules_state *kernel, const struct rules_session *live,
    size_t n, struct rules_txn *t, struct rules_reconcile_result *res,
    char *err, size_t errlen);

/* Read the table, its sets with their elements, chains and rules. */
int rules_state_read(struct nft_sock *s, struct rules_state *st, char *err,
    size_t errlen);

/*
 * Make the kernel's table match cfg and the live sessions, in one
 * transaction: keep it and diff the elements when its structure is what
 * rules_state_build() makes, else replace it with the live sessions'
 * elements included. Start-up calls this, so after a crash nothing stale
 * stays and nothing live is lost.
 */
int rules_reconcile(struct nft_sock *s, const struct rules_config *cfg,
    const struct rules_session *live, size_t n,
    struct rules_reconcile_result *res, char *err, size_t errlen);

/* A session address's counters (session_tx4/rx4 or tx6/rx6); ENOENT if
 * the address is in neither set. */
int rules_counters_read(struct nft_sock *s, const struct ip_addr *addr,
    struct rules_counters *out, char *err, size_t errlen);

#endif /* ENCLAVE_RULES_RULESET_H */
