/*
 * nftables kernel I/O over NETLINK_NETFILTER (libmnl).
 *
 * The only place in rules/ that touches a socket. Messages are built
 * elsewhere (rules/ruleset.c) into a struct nftnl_batch; this module sends a
 * batch as one transaction and collects every ACK, and runs dumps whose
 * messages it hands to a parse callback. Every receive has a timeout, so a
 * silent kernel never hangs the caller.
 */
#ifndef ENCLAVE_RULES_NFT_H
#define ENCLAVE_RULES_NFT_H

#include <stddef.h>
#include <stdint.h>

struct nlmsghdr;
struct nftnl_batch;
struct nftnl_table;
struct nftnl_chain_list;
struct nftnl_rule_list;
struct nftnl_set;
struct nftnl_set_list;

/* Receive timeout of one batch or dump, milliseconds. */
#define NFT_TIMEOUT_MS 5000

struct nft_sock;

/*
 * Open a NETLINK_NETFILTER socket in the current network namespace, or in
 * the one netns_fd refers to (>= 0): the thread enters it just long enough
 * to create the socket and then returns to where it was.
 */
int nft_open(struct nft_sock **out, int netns_fd, char *err, size_t errlen);
void nft_close(struct nft_sock *s);

/* First sequence number for the next batch (nft_send moves it past it). */
uint32_t nft_seq(const struct nft_sock *s);

/*
 * Names the object a batch message creates or deletes, for error reports
 * ("add rule guard #3"); NULL when unknown.
 */
typedef const char *(*nft_what_fn)(const void *arg, uint32_t seq);

/*
 * Send a finished batch (BEGIN ... END) as one transaction and wait for an
 * answer to every message that asked for one (NLM_F_ACK). On failure err
 * holds the first failing object and the kernel's reason, e.g.
 * "add rule guard #3: Operation not supported"; the kernel applied nothing.
 */
int nft_send(struct nft_sock *s, struct nftnl_batch *b, nft_what_fn what,
    const void *arg, char *err, size_t errlen);

/*
 * Dumps of one table's objects. nft_get_table sets *out to NULL (and
 * returns 0) when the table does not exist. A dump that the kernel marks
 * interrupted (the ruleset changed under it) is retried a few times.
 */
int nft_get_table(struct nft_sock *s, uint16_t family, const char *table,
    struct nftnl_table **out, char *err, size_t errlen);
int nft_get_chains(struct nft_sock *s, uint16_t family, const char *table,
    struct nftnl_chain_list **out, char *err, size_t errlen);
/* Rules in kernel order (chain by chain, each chain's rules in order). */
int nft_get_rules(struct nft_sock *s, uint16_t family, const char *table,
    struct nftnl_rule_list **out, char *err, size_t errlen);
/* Set definitions (anonymous sets included), without elements. */
int nft_get_sets(struct nft_sock *s, uint16_t family, const char *table,
    struct nftnl_set_list **out, char *err, size_t errlen);
/*
 * Add the elements (with their counters) of the set that set's FAMILY,
 * TABLE and NAME name to set. Not retried: an interrupted dump fails with
 * EINTR and set may hold part of the elements, so start over with a fresh
 * object.
 */
int nft_get_elems(struct nft_sock *s, struct nftnl_set *set, char *err,
    size_t errlen);

#endif /* ENCLAVE_RULES_NFT_H */
