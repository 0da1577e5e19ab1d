/*
 * The enforcement ruleset: one nftables table, inet enclave, in the
 * appliance netns. This header names it and its sets, and holds what it
 * is built from: the config and the live sessions, with their checks.
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
 * The modules, each using only those before it:
 *   table.h      names, config, sessions and their checks
 *   txn.h        a transaction under construction (batch + descriptions)
 *   elem.h       a session's elements: which sets, which bytes, messages
 *   expr.h       the expressions and matches rules are made of
 *   state.h      the table as libnftnl objects, and its structure as text
 *   build.h      the table we want, as a state
 *   ruleset.h    transactions: replace the table, add or delete a session
 *   reconcile.h  read the kernel's table and make it match
 *   counters.h   a session address's counters
 * The builders are pure: they add netlink messages to a struct rules_txn
 * and never touch a socket, so tests parse the messages back without a
 * kernel. Kernel I/O goes through rules/nft.h.
 */
#ifndef ENCLAVE_RULES_TABLE_H
#define ENCLAVE_RULES_TABLE_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ip.h"

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

int rules_config_check(const struct rules_config *cfg, char *err,
    size_t errlen);
int rules_session_check(const struct rules_config *cfg,
    const struct rules_session *s, char *err, size_t errlen);
/*
 * Each of the n live sessions, and that no two share an interface, number
 * or address: they would share elements, so deleting one would cut the
 * other off.
 */
int rules_sessions_check(const struct rules_config *cfg,
    const struct rules_session *live, size_t n, char *err, size_t errlen);

#endif /* ENCLAVE_RULES_TABLE_H */
