#ifndef ENCLAVE_RULES_POLICY_H
#define ENCLAVE_RULES_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "common/hostname.h"

/*
 * A session's egress policy: the allow patterns of DESIGN.md. Deny is the
 * default; a name is allowed only when one pattern matches name and port.
 * IP literals are never allowed by a pattern; the proxy decides them by
 * what it resolved itself, so the policy only says "ip_literal".
 */

#define POLICY_MAX_PATTERNS 256

enum policy_verdict {
	POLICY_ALLOW = 0,
	POLICY_DENY_NOT_ALLOWED,	/* a valid name no pattern matches */
	POLICY_DENY_INVALID_HOST,	/* not a host name at all */
	POLICY_DENY_IP_LITERAL,		/* an IPv4/IPv6 literal */
};

struct policy;

struct policy *policy_new(void);
void policy_free(struct policy *p);
/* Adds one pattern; on error err says which pattern and why. */
int policy_add(struct policy *p, const char *pattern, size_t len, char *err,
    size_t errlen);
size_t policy_count(const struct policy *p);
/* canon (may be NULL) receives the canonical name when there is one. */
enum policy_verdict policy_check(const struct policy *p, const char *host,
    size_t len, uint16_t port, char canon[HOSTNAME_MAX + 1]);
/* The canonical text of every pattern, in the order added (duplicates
 * were already folded): a malloc'd array of malloc'd strings, or *out NULL
 * when there are none. -1 on allocation failure (nothing to free then). */
int policy_patterns(const struct policy *p, char ***out, size_t *n);
void policy_patterns_free(char **v, size_t n);
/* The same, for DNS: is the canonical name allowed on any port at all? */
int policy_name_allowed(const struct policy *p, const char *canon_host);
/* Stable snake_case names; they become audit `reason` values. */
const char *policy_verdict_reason(enum policy_verdict v);

#endif
