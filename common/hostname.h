/*
 * Host name canonicalisation and egress allow patterns.
 *
 * Pure functions: no allocation, no logging, no global state.  Inputs are
 * (pointer, length) pairs and are never read past len, so they may come
 * straight from an HTTP head, a TLS SNI extension or an API request.
 */
#ifndef ENCLAVE_COMMON_HOSTNAME_H
#define ENCLAVE_COMMON_HOSTNAME_H

#include <stddef.h>
#include <stdint.h>

#define HOSTNAME_MAX		253	/* bytes, without a trailing dot */
#define HOSTNAME_LABEL_MAX	63

/* hostname_canon() results; failures are -1 with *why set. */
#define HOSTNAME_OK		0
#define HOSTNAME_IS_IP_LITERAL	1	/* valid LDH, but last label is numeric */

/*
 * Canonicalise in[0..len) into out: ASCII lower case, one trailing dot
 * dropped, at most HOSTNAME_MAX bytes, labels of 1..63 letters, digits and
 * inner hyphens.  Underscores, bytes >= 0x80 (raw UTF-8; use xn-- labels)
 * and NULs are rejected.  Returns HOSTNAME_OK, HOSTNAME_IS_IP_LITERAL when
 * the last label is all decimal digits or 0x-hex (1.2.3.4, 2852039166,
 * 0x7f000001: the resolver would read it as an IPv4 address; out is still
 * filled in), or -1 with *why (if why is not NULL) set to a static message
 * and out set to "".
 */
int hostname_canon(const char *in, size_t len, char out[HOSTNAME_MAX + 1],
    const char **why);

/*
 * An allow pattern: "example.com" (exactly that name) or "*.example.com"
 * (any name below it at any depth, not example.com itself), with an
 * optional ":port".  suffix is canonical and never an IP literal.
 */
struct host_pattern {
	char		suffix[HOSTNAME_MAX + 1];
	int		wildcard;
	uint16_t	port;		/* 0: the defaults, 80 and 443 */
};

/* "*." + name + ":65535" + NUL */
#define HOST_PATTERN_FORMAT_MAX	(2 + HOSTNAME_MAX + 6 + 1)

/*
 * Parse s[0..len).  Ports are decimal 1..65535 without sign or leading
 * zeros.  Returns 0, or -1 with *why (if why is not NULL) set.
 */
int host_pattern_parse(const char *s, size_t len, struct host_pattern *out,
    const char **why);

/* 1 if canon_host (already hostname_canon()ed) and port are allowed, else 0. */
int host_pattern_match(const struct host_pattern *p, const char *canon_host,
    uint16_t port);

/*
 * Write p back in the form host_pattern_parse() accepts; snprintf()
 * semantics (returns the length it needed, always NUL-terminates if
 * size > 0).  HOST_PATTERN_FORMAT_MAX bytes always suffice.
 */
int host_pattern_format(const struct host_pattern *p, char *buf, size_t size);

#endif /* ENCLAVE_COMMON_HOSTNAME_H */
