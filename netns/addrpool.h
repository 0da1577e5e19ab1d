/*
 * Allocator of /31 address pairs from an IPv4 pool, one pair per session:
 * pair k is host side base+2k, session side base+2k+1. Pure: no kernel, no
 * allocation. After a restart, rebuild the state with addrpool_mark_used()
 * for every address found on the appliance netns's interfaces.
 *
 * Functions return 0 or -errno.
 */
#ifndef ENCLAVE_NETNS_ADDRPOOL_H
#define ENCLAVE_NETNS_ADDRPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "common/ip.h"

/* Largest pool: a /16, i.e. 32768 pairs in a 4 KiB bitmap. */
#define ADDRPOOL_MIN_PREFIX	16
#define ADDRPOOL_MAX_PAIRS	(1u << (31 - ADDRPOOL_MIN_PREFIX))

struct addrpool {
	struct cidr net;
	uint32_t base;		/* host byte order */
	uint32_t npairs;
	uint32_t nused;
	uint64_t used[ADDRPOOL_MAX_PAIRS / 64];
};

struct addrpool_pair {
	struct ip_addr host;	/* base + 2k: the appliance end, the gateway */
	struct ip_addr sess;	/* base + 2k + 1: the session end */
};

/*
 * Parse "a.b.c.d/n" with 16 <= n <= 31 and no host bits; -EINVAL with the
 * reason in err otherwise.
 */
int addrpool_init(struct addrpool *p, const char *cidr, char *err,
    size_t errlen);
/* The lowest free pair; -ENOSPC when the pool is exhausted. */
int addrpool_alloc(struct addrpool *p, struct addrpool_pair *out);
/*
 * Release the pair holding addr (either side). -ERANGE outside the pool,
 * -ENOENT if that pair is not allocated (double free).
 */
int addrpool_free(struct addrpool *p, const struct ip_addr *addr);
/* Mark the pair holding addr (either side) used; idempotent. -ERANGE outside. */
int addrpool_mark_used(struct addrpool *p, const struct ip_addr *addr);
/* The pair holding addr; -ERANGE outside the pool. */
int addrpool_pair_of(const struct addrpool *p, const struct ip_addr *addr,
    struct addrpool_pair *out);
/* Pair k (0 <= k < addrpool_size()); -ERANGE past the end. */
int addrpool_pair_at(const struct addrpool *p, uint32_t k,
    struct addrpool_pair *out);
/* 1 if the pair holding addr is in use, 0 if free, -ERANGE outside. */
int addrpool_in_use(const struct addrpool *p, const struct ip_addr *addr);
uint32_t addrpool_size(const struct addrpool *p);
uint32_t addrpool_used(const struct addrpool *p);

#endif
