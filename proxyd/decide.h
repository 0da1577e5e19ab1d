#ifndef ENCLAVE_PROXYD_DECIDE_H
#define ENCLAVE_PROXYD_DECIDE_H

#include <stddef.h>
#include <stdint.h>

#include "common/hostname.h"
#include "common/ip.h"
#include "proxyd/resolved.h"
#include "rules/policy.h"

/*
 * The proxy's verdicts, as pure functions of the session's policy, the
 * operator's exemptions, what the proxy itself resolved, and what the
 * client sent. Two steps for names: decide_name() says whether a name may
 * be resolved at all; decide_addrs() then picks the address to connect to
 * from the resolver's answer, never the client's choice.
 */

enum decide_reason {
	DECIDE_ALLOWED = 0,
	DECIDE_UNKNOWN_SOURCE,		/* no session owns the source address */
	DECIDE_NOT_ALLOWLISTED,		/* a name no pattern allows on this port */
	DECIDE_INVALID_HOST,		/* not a host name or address */
	DECIDE_BLOCKED_RANGE,		/* an address in a blocked class */
	DECIDE_RESOLVES_TO_BLOCKED,	/* every resolved address is blocked */
	DECIDE_UNRESOLVED_DESTINATION,	/* an address we did not resolve for an allowed name */
	DECIDE_HOST_PORT_MISMATCH,	/* Host's port is not the connection's */
	DECIDE_ECH,			/* encrypted ClientHello hides the real name */
	DECIDE_RESOLVE_FAILED,		/* the resolver had no answer */
	DECIDE_HOST_CHANGED,		/* keep-alive request for another host */
	DECIDE_BAD_REQUEST,		/* unparseable or smuggling-shaped request */
	DECIDE_LIMIT,			/* a connection or size limit */
	DECIDE_SNI_MISMATCH,		/* TLS after CONNECT names another host */
	DECIDE_METHOD_NOT_ALLOWED,	/* TRACE, or CONNECT where it has no place */
	DECIDE_DNS_TYPE,		/* a DNS query type other than A/AAAA */
	DECIDE_INTERCEPT_UNAVAILABLE,	/* a bound TLS host, but no interception CA */
	DECIDE_UPSTREAM_TLS_INVALID,	/* intercepted: the upstream's TLS did not verify */
	DECIDE_PROXY_ERROR,		/* the proxy's own failure (memory, a bad binding) */
};

struct decision {
	enum decide_reason reason;
	enum ip_class cls;		/* for DECIDE_BLOCKED_RANGE */
	int need_resolve;		/* allowed name: resolve host next */
	int have_connect;		/* connect is set */
	int dst_mismatch;		/* connect differs from the original destination */
	struct ip_addr connect;
	/* Canonical name, or the address in canonical text for literals, so
	 * every spelling of 169.254.169.254 is reported the same way. */
	char host[HOSTNAME_MAX + 1];
};

struct decide_ctx {
	const struct policy *allow;
	/* The session's service-binding hosts, allowed on top of allow;
	 * may be NULL. */
	const struct policy *bound;
	const struct cidr_set *exempt;
	const struct resolved_table *resolved;	/* may be NULL */
	uint64_t now_ms;
};

/* Host from HTTP Host / TLS SNI (raw bytes, not canonical), for port. */
void decide_name(const struct decide_ctx *ctx, const char *host, size_t len,
    uint16_t port, struct decision *d);
/* A connection judged by its destination alone (raw TCP, TLS without
 * SNI, HTTP without Host), and IP literals. */
void decide_dest(const struct decide_ctx *ctx, const struct ip_addr *dst,
    uint16_t port, struct decision *d);
/* After resolving d->host: keep the allowed addresses, prefer the
 * original destination if it is one of them. */
void decide_addrs(const struct decide_ctx *ctx, const struct ip_addr *addrs,
    size_t n, const struct ip_addr *orig_dst, struct decision *d);
void decide_deny(struct decision *d, enum decide_reason reason);
/* Stable snake_case names; they become audit `reason` values. */
const char *decide_reason_name(enum decide_reason r);

#endif
