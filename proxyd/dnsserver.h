#ifndef ENCLAVE_PROXYD_DNSSERVER_H
#define ENCLAVE_PROXYD_DNSSERVER_H

#include <stddef.h>
#include <stdint.h>

#include "proxyd/config.h"
#include "proxyd/ctlmsg.h"
#include "proxyd/dns.h"

/*
 * DNS for sessions (UDP and TCP, redirected to us by nft): a name the
 * session may reach is resolved upstream by the proxy and answered with
 * its allowed addresses, which the proxy then remembers as its own; any
 * other name gets NXDOMAIN and never leaves the appliance, so DNS cannot
 * carry data out. Other query types are refused without an upstream
 * query. One per worker; nothing shared but the server.
 */

/* Queries waiting for the resolver, per worker. */
#define DNSSERVER_PENDING_MAX 1024
/* TCP connections per worker, and how long one may sit idle. */
#define DNSSERVER_TCP_MAX 256
#define DNSSERVER_TCP_IDLE_MS 10000
/* Repeats of one decision for one session and name within this window
 * (A and AAAA from one getaddrinfo, retries) are one event. */
#define DNSSERVER_DEDUPE_MS 2000
#define DNSSERVER_DEDUPE_SLOTS 256

struct worker;
struct dnsserver;
struct px_session;

struct dns_dedupe_slot {
	uint64_t at_ms;
	const struct px_session *s;	/* only for config sources (no id) */
	char id[CTL_ID_MAX + 1];
	char name[DNS_NAME_MAX + 1];
	char reason[CTL_REASON_MAX + 1];
};

struct dns_dedupe {
	struct dns_dedupe_slot slot[DNSSERVER_DEDUPE_SLOTS];
};

/* 1 when this session already had this outcome for name within
 * DNSSERVER_DEDUPE_MS of now (then say nothing), else 0 and remembered. */
int dns_dedupe_seen(struct dns_dedupe *t, const struct px_session *s,
    const char *name, const char *reason, uint64_t now);

struct dnsserver *dnsserver_new(struct worker *w,
    const struct config_listeners *listen, char *err, size_t errlen);
/* The one teardown: closes sockets, cancels pending queries. */
void dnsserver_free(struct dnsserver *ds);

#endif
