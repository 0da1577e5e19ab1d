/*
 * IP addresses, CIDR ranges and the egress block classification.
 *
 * Pure functions: no logging, no global state, no event loop. Parsers take
 * (s, len), never read past len, and do not need a NUL terminator.
 */
#ifndef ENCLAVE_COMMON_IP_H
#define ENCLAVE_COMMON_IP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sockaddr;

/* Longest text ip_parse() accepts; longer input is rejected, not truncated. */
#define IP_PARSE_MAX	64
/* Buffer size that always fits ip_format() output (INET6_ADDRSTRLEN). */
#define IP_STRLEN	46
/* Buffer size that always fits cidr_format() output. */
#define CIDR_STRLEN	(IP_STRLEN + 4)
/* Most entries a cidr_set holds; cidr_set_add() fails with E2BIG beyond. */
#define CIDR_SET_MAX	4096

/*
 * family is AF_INET or AF_INET6; a[] is in network byte order. An IPv4
 * address uses a[0..3] and keeps a[4..15] zero, so two addresses are equal
 * exactly when ip_equal() (a memcmp) says so.
 */
struct ip_addr {
	int family;
	uint8_t a[16];
};

/* A range; addr has no bits set past prefix (cidr_parse() enforces it). */
struct cidr {
	struct ip_addr addr;
	unsigned int prefix;	/* 0..32 for AF_INET, 0..128 for AF_INET6 */
};

/* Zero-initialise (= {0}) before use; release with cidr_set_free(). */
struct cidr_set {
	struct cidr *v;
	size_t n;
	size_t cap;
};

/*
 * Why an address is blocked. PUBLIC and EXEMPT are allowed, every other
 * class is blocked. ip_class_name() strings are stable audit reasons.
 */
enum ip_class {
	IP_CLASS_PUBLIC = 0,	/* "public" */
	IP_CLASS_EXEMPT,	/* "exempt": blocked range, operator-exempted */
	IP_CLASS_METADATA,	/* "metadata": cloud credential endpoints */
	IP_CLASS_LOOPBACK,	/* "loopback": 127/8, ::1 */
	IP_CLASS_UNSPECIFIED,	/* "unspecified": 0.0.0.0, :: */
	IP_CLASS_PRIVATE,	/* "private": RFC 1918 */
	IP_CLASS_CGNAT,		/* "cgnat": 100.64/10 */
	IP_CLASS_LINK_LOCAL,	/* "link_local": 169.254/16, fe80::/10 */
	IP_CLASS_MULTICAST,	/* "multicast": 224/4, ff00::/8 */
	IP_CLASS_BROADCAST,	/* "broadcast": 255.255.255.255 */
	IP_CLASS_RESERVED,	/* "reserved": special-purpose, documentation,
				 * benchmarking, 240/4, IPv6 outside 2000::/3 */
	IP_CLASS_ULA,		/* "ula": fc00::/7 */
};

/*
 * Parse an IPv4 address in any form inet_aton() accepts (dotted, short
 * forms, decimal, octal, hex parts), or an IPv6 address as inet_pton()
 * does. Rejects whitespace, trailing bytes, NUL bytes, brackets and zone
 * ids ("%eth0"). Returns 0, or -1 with *why (if why) set to a static reason.
 */
int ip_parse(const char *s, size_t len, struct ip_addr *out,
    const char **why);

/* Write the canonical text form (inet_ntop style); -1 if it doesn't fit. */
int ip_format(const struct ip_addr *ip, char *buf, size_t len);

bool ip_equal(const struct ip_addr *x, const struct ip_addr *y);

/* Copy an AF_INET/AF_INET6 sockaddr; -1 (EAFNOSUPPORT) for other families. */
int ip_from_sockaddr(const struct sockaddr *sa, struct ip_addr *out);
struct sockaddr_storage;
/* The other way, with a port; returns the length to pass to bind/connect,
 * or 0 (EAFNOSUPPORT) for a family that is neither. */
unsigned int ip_to_sockaddr(const struct ip_addr *ip, uint16_t port,
    struct sockaddr_storage *ss);

/*
 * The IPv4 address embedded in an IPv6 one (v4-mapped, v4-compatible,
 * NAT64 64:ff9b::/96 and 64:ff9b:1::/48, 6to4, Teredo client, ISATAP).
 * Returns 0 and fills v4, or -1 if a is not such an address.
 */
int ip_embedded_v4(const struct ip_addr *a, struct ip_addr *v4);

/*
 * Classify a destination. Order, first match wins:
 *  1. metadata: a, or its embedded IPv4, is a cloud metadata address.
 *     Never exemptable.
 *  2. exempt: a itself lies in the exempt set (NULL = empty).
 *  3. embedded IPv4: if it is blocked (and not itself exempt), its class.
 *  4. a's own class (for embedding prefixes that's public; a blocked
 *     container such as link-local ISATAP fe80::5efe:a.b.c.d still blocks).
 *  5. exempt if the embedded IPv4 was exempt, else public.
 * A CIDR only contains addresses of its own family: exempting 198.18/15
 * covers ::ffff:198.18.0.1 through step 3, not through cidr_contains().
 */
enum ip_class ip_classify(const struct ip_addr *a,
    const struct cidr_set *exempt);

const char *ip_class_name(enum ip_class c);
bool ip_class_blocked(enum ip_class c);

/*
 * Parse "addr/prefix". Stricter than ip_parse(): IPv4 must be four decimal
 * parts without leading zeros (so "010.0.0.0/8" can't quietly mean 8/8),
 * the prefix is decimal without leading zeros, and host bits set past the
 * prefix are an error ("10.0.0.1/8" is rejected, not masked).
 */
int cidr_parse(const char *s, size_t len, struct cidr *out,
    const char **why);
int cidr_format(const struct cidr *c, char *buf, size_t len);
bool cidr_contains(const struct cidr *c, const struct ip_addr *ip);

/* Add a range; exact duplicates are ignored. -1 with errno on failure. */
int cidr_set_add(struct cidr_set *set, const struct cidr *c);
bool cidr_set_contains(const struct cidr_set *set, const struct ip_addr *ip);
void cidr_set_free(struct cidr_set *set);

#endif /* ENCLAVE_COMMON_IP_H */
