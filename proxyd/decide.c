#include <string.h>

#include "proxyd/decide.h"

static void
decision_reset(struct decision *d)
{
	memset(d, 0, sizeof(*d));
}

void
decide_deny(struct decision *d, enum decide_reason reason)
{
	d->reason = reason;
	d->need_resolve = 0;
	d->have_connect = 0;
}

/* An address may be reached only if the proxy resolved it for a name that
 * the session may reach on this port. */
static int
resolved_for_allowed(const struct decide_ctx *ctx, const struct ip_addr *a,
    uint16_t port)
{
	const char *names[16];
	size_t i, n;

	if (ctx->resolved == NULL)
		return 0;
	n = resolved_names(ctx->resolved, a, ctx->now_ms, names, 16);
	for (i = 0; i < n; i++)
		if (policy_check(ctx->allow, names[i], strlen(names[i]), port,
		    NULL) == POLICY_ALLOW || (ctx->bound != NULL &&
		    policy_check(ctx->bound, names[i], strlen(names[i]), port,
		    NULL) == POLICY_ALLOW))
			return 1;
	return 0;
}

void
decide_dest(const struct decide_ctx *ctx, const struct ip_addr *dst,
    uint16_t port, struct decision *d)
{
	decision_reset(d);
	if (ip_format(dst, d->host, sizeof(d->host)) == -1)
		d->host[0] = '\0';
	d->cls = ip_classify(dst, ctx->exempt);
	if (ip_class_blocked(d->cls)) {
		decide_deny(d, DECIDE_BLOCKED_RANGE);
		return;
	}
	if (!resolved_for_allowed(ctx, dst, port)) {
		decide_deny(d, DECIDE_UNRESOLVED_DESTINATION);
		return;
	}
	d->reason = DECIDE_ALLOWED;
	d->connect = *dst;
	d->have_connect = 1;
}

/* Host may carry an IPv6 literal in brackets; ip_parse wants it bare. */
static int
parse_literal(const char *host, size_t len, struct ip_addr *out)
{
	if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
		host++;
		len -= 2;
	}
	return ip_parse(host, len, out, NULL);
}

void
decide_name(const struct decide_ctx *ctx, const char *host, size_t len,
    uint16_t port, struct decision *d)
{
	struct ip_addr lit;
	enum policy_verdict v;

	decision_reset(d);
	v = policy_check(ctx->allow, host, len, port, d->host);
	if (v == POLICY_DENY_NOT_ALLOWED && ctx->bound != NULL)
		v = policy_check(ctx->bound, host, len, port, d->host);
	switch (v) {
	case POLICY_ALLOW:
		d->reason = DECIDE_ALLOWED;
		d->need_resolve = 1;
		return;
	case POLICY_DENY_NOT_ALLOWED:
		decide_deny(d, DECIDE_NOT_ALLOWLISTED);
		return;
	case POLICY_DENY_INVALID_HOST:
		decide_deny(d, DECIDE_INVALID_HOST);
		return;
	case POLICY_DENY_IP_LITERAL:
		break;
	}
	/* Every inet_aton spelling of an address lands here and is judged
	 * as the address it denotes. */
	if (parse_literal(host, len, &lit) == -1) {
		decision_reset(d);
		decide_deny(d, DECIDE_INVALID_HOST);
		return;
	}
	decide_dest(ctx, &lit, port, d);
}

void
decide_addrs(const struct decide_ctx *ctx, const struct ip_addr *addrs,
    size_t n, const struct ip_addr *orig_dst, struct decision *d)
{
	size_t i;
	int found = 0, have_cls = 0;

	d->need_resolve = 0;
	if (n == 0) {
		decide_deny(d, DECIDE_RESOLVE_FAILED);
		return;
	}
	for (i = 0; i < n; i++) {
		enum ip_class c = ip_classify(&addrs[i], ctx->exempt);

		if (ip_class_blocked(c)) {
			/* Report the first blocked answer's class. */
			if (!have_cls) {
				d->cls = c;
				have_cls = 1;
			}
			continue;
		}
		/* Prefer the original destination, then its address family
		 * (an IPv4 client is most likely to have an IPv4 path). */
		if (!found || (orig_dst != NULL && (ip_equal(&addrs[i], orig_dst) ||
		    (addrs[i].family == orig_dst->family &&
		    d->connect.family != orig_dst->family)))) {
			if (found && orig_dst != NULL && ip_equal(&d->connect, orig_dst))
				continue;
			d->connect = addrs[i];
			found = 1;
		}
	}
	if (!found) {
		decide_deny(d, DECIDE_RESOLVES_TO_BLOCKED);
		return;
	}
	d->reason = DECIDE_ALLOWED;
	d->cls = IP_CLASS_PUBLIC;
	d->have_connect = 1;
	d->dst_mismatch = orig_dst != NULL && !ip_equal(&d->connect, orig_dst);
}

const char *
decide_reason_name(enum decide_reason r)
{
	switch (r) {
	case DECIDE_ALLOWED:
		return "allowed";
	case DECIDE_UNKNOWN_SOURCE:
		return "unknown_source";
	case DECIDE_NOT_ALLOWLISTED:
		return "not_allowlisted";
	case DECIDE_INVALID_HOST:
		return "invalid_host";
	case DECIDE_BLOCKED_RANGE:
		return "blocked_range";
	case DECIDE_RESOLVES_TO_BLOCKED:
		return "resolves_to_blocked";
	case DECIDE_UNRESOLVED_DESTINATION:
		return "unresolved_destination";
	case DECIDE_HOST_PORT_MISMATCH:
		return "host_port_mismatch";
	case DECIDE_ECH:
		return "ech_not_allowed";
	case DECIDE_RESOLVE_FAILED:
		return "resolve_failed";
	case DECIDE_HOST_CHANGED:
		return "host_changed";
	case DECIDE_BAD_REQUEST:
		return "bad_request";
	case DECIDE_LIMIT:
		return "limit_exceeded";
	case DECIDE_SNI_MISMATCH:
		return "sni_mismatch";
	case DECIDE_METHOD_NOT_ALLOWED:
		return "method_not_allowed";
	case DECIDE_DNS_TYPE:
		return "dns_type_refused";
	case DECIDE_INTERCEPT_UNAVAILABLE:
		return "intercept_unavailable";
	case DECIDE_UPSTREAM_TLS_INVALID:
		return "upstream_tls_invalid";
	case DECIDE_PROXY_ERROR:
		return "proxy_error";
	}
	return "unknown";
}
