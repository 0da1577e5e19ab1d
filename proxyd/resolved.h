#ifndef ENCLAVE_PROXYD_RESOLVED_H
#define ENCLAVE_PROXYD_RESOLVED_H

#include <stddef.h>
#include <stdint.h>

#include "common/hostname.h"
#include "common/ip.h"

/*
 * Per session: which addresses this proxy itself resolved, and for which
 * names. An IP literal in Host/SNI, or a raw TCP connection, is allowed
 * only toward such an address (and only if one of its names is allowed on
 * that port), so a sandbox cannot reach an address it picked itself.
 * Bounded; entries expire with their TTL. Not locked: the owner locks.
 */

#define RESOLVED_MAX 1024
#define RESOLVED_TTL_MAX 3600	/* seconds; longer TTLs are capped */
/* Shorter TTLs (often 0) are raised: a client connects right after its
 * lookup, and the answer must still count as ours when it does. */
#define RESOLVED_TTL_MIN 30

struct resolved_entry {
	struct ip_addr addr;
	uint64_t expires_ms;
	char name[HOSTNAME_MAX + 1];
};

struct resolved_table {
	struct resolved_entry *v;
	size_t n;
	size_t cap;
};

void resolved_init(struct resolved_table *t);
void resolved_free(struct resolved_table *t);
/* Records (or refreshes) name → addr; evicts expired entries, then the
 * one expiring soonest, when full. -1 only on allocation failure. */
int resolved_add(struct resolved_table *t, const char *name,
    const struct ip_addr *addr, uint32_t ttl_s, uint64_t now_ms);
/* Fills names[] with up to max unexpired names recorded for addr. */
size_t resolved_names(const struct resolved_table *t,
    const struct ip_addr *addr, uint64_t now_ms, const char *names[],
    size_t max);

#endif
