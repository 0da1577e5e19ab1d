/*
 * What each session sent and received, as the counters of its address's
 * elements in session_tx4/rx4 (tx6/rx6) hold it.
 */
#ifndef ENCLAVE_RULES_COUNTERS_H
#define ENCLAVE_RULES_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

struct ip_addr;
struct nft_sock;

/* Packets and bytes sent by (tx) and to (rx) one session address. */
struct rules_counters {
	uint64_t tx_packets, tx_bytes;
	uint64_t rx_packets, rx_bytes;
};

/* A session address's counters; ENOENT if the address is in neither
 * set. */
int rules_counters_read(struct nft_sock *s, const struct ip_addr *addr,
    struct rules_counters *out, char *err, size_t errlen);

#endif /* ENCLAVE_RULES_COUNTERS_H */
