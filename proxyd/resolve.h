#ifndef ENCLAVE_PROXYD_RESOLVE_H
#define ENCLAVE_PROXYD_RESOLVE_H

#include <stddef.h>
#include <stdint.h>

#include "common/ip.h"

/*
 * Name resolution on an event loop (c-ares; never blocks), with a bounded
 * cache that honours TTLs. One resolver per event loop: nothing here is
 * shared between threads.
 */

#define RESOLVE_MAX_ADDRS 16
#define RESOLVE_CACHE_MAX 4096
#define RESOLVE_TTL_MAX 300		/* seconds a positive answer is kept */
#define RESOLVE_NEGATIVE_TTL 5		/* seconds a failure is kept */

struct event_base;
struct resolver;
struct resolve_req;

struct resolve_answer {
	int status;			/* 0, or a c-ares status (ARES_ENOTFOUND...) */
	const char *error;		/* text for status */
	size_t n;
	struct ip_addr addrs[RESOLVE_MAX_ADDRS];
	uint32_t ttls[RESOLVE_MAX_ADDRS];
	int from_cache;
};

typedef void (*resolve_cb)(const struct resolve_answer *ans, void *arg);

/* servers: "198.18.0.2:53,..." or NULL for the system's resolv.conf.
 * family: AF_INET, AF_INET6 or AF_UNSPEC. */
struct resolver *resolver_new(struct event_base *base, const char *servers,
    int family, char *err, size_t errlen);
void resolver_free(struct resolver *r);

/*
 * Looks up a canonical name. A cache hit calls cb before returning and
 * returns NULL; otherwise the request is returned and cb runs later from
 * the event loop, exactly once, unless resolve_cancel() is called first.
 * On allocation failure cb is called with an error, NULL is returned.
 */
struct resolve_req *resolver_lookup(struct resolver *r, const char *name,
    resolve_cb cb, void *arg);
/* The caller lost interest (its connection closed): cb will not run. */
void resolve_cancel(struct resolve_req *req);

/* Test and metrics hooks. */
size_t resolver_cache_size(const struct resolver *r);
void resolver_set_clock(struct resolver *r, uint64_t (*now_ms)(void));

#endif
