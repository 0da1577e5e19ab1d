/*
 * A session's elements: which of the table's sets hold one, the bytes of
 * each as nft lays them out, and the messages that add or delete them.
 */
#ifndef ENCLAVE_RULES_ELEM_H
#define ENCLAVE_RULES_ELEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nftnl_set_elem;
struct rules_config;
struct rules_session;
struct rules_txn;

/* The named sets, in the order they are built. */
enum elem_set {
	SI_IFACES, SI_MARK, SI_SRC4, SI_TX4, SI_RX4, SI_SRC6, SI_TX6, SI_RX6,
	SI_COUNT
};

extern const char *const elem_set_name[SI_COUNT];

/* Longest element key: ifname . ipv6_addr. */
#define ELEM_KEY_MAX	32

struct elem_bytes {
	uint8_t key[ELEM_KEY_MAX];
	uint32_t klen;
	uint8_t data[4];
	uint32_t dlen;
};

/* Whether the table has set i under cfg (the IPv6 sets need cfg->ipv6). */
bool elem_set_used(const struct rules_config *cfg, int i);
/* A session's element in set i; false when the session has none there. */
bool elem_of_session(const struct rules_session *s, int i,
    struct elem_bytes *e);
bool elem_equal(const struct elem_bytes *a, const struct elem_bytes *b);
/* The bytes of an element read from the kernel (or parsed back). */
void elem_from_nftnl(struct nftnl_set_elem *el, struct elem_bytes *e);

/* Add (NFT_MSG_NEWSETELEM) or delete (NFT_MSG_DELSETELEM) the n elements
 * v of set i. */
int elem_emit(struct rules_txn *t, int i, uint16_t type,
    const struct elem_bytes *v, size_t n);
/* Add the elements of all n live sessions, set by set. */
int elem_emit_live(const struct rules_config *cfg,
    const struct rules_session *live, size_t n, struct rules_txn *t);

#endif /* ENCLAVE_RULES_ELEM_H */
