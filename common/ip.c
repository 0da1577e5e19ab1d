#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/ip.h"

struct range4 {
	uint32_t net;
	uint8_t len;
	uint8_t cls;
};

struct range6 {
	uint8_t net[16];
	uint8_t len;
	uint8_t cls;
};

/* First match wins, so narrower ranges precede the ranges holding them. */
static const struct range4 ip4_ranges[] = {
	{ 0x00000000, 32, IP_CLASS_UNSPECIFIED },
	{ 0x00000000,  8, IP_CLASS_RESERVED },		/* "this network" */
	{ 0x0a000000,  8, IP_CLASS_PRIVATE },
	{ 0x64400000, 10, IP_CLASS_CGNAT },
	{ 0x7f000000,  8, IP_CLASS_LOOPBACK },
	{ 0xa9fe0000, 16, IP_CLASS_LINK_LOCAL },
	{ 0xac100000, 12, IP_CLASS_PRIVATE },
	{ 0xc0000000, 24, IP_CLASS_RESERVED },		/* IETF protocol assignments */
	{ 0xc0000200, 24, IP_CLASS_RESERVED },		/* TEST-NET-1 */
	{ 0xc0586300, 24, IP_CLASS_RESERVED },		/* deprecated 6to4 anycast */
	{ 0xc0a80000, 16, IP_CLASS_PRIVATE },
	{ 0xc6120000, 15, IP_CLASS_RESERVED },		/* benchmarking */
	{ 0xc6336400, 24, IP_CLASS_RESERVED },		/* TEST-NET-2 */
	{ 0xcb007100, 24, IP_CLASS_RESERVED },		/* TEST-NET-3 */
	{ 0xe0000000,  4, IP_CLASS_MULTICAST },
	{ 0xffffffff, 32, IP_CLASS_BROADCAST },
	{ 0xf0000000,  4, IP_CLASS_RESERVED },
};

/* Embedding prefixes are public here: ip_classify() judges their IPv4. */
static const struct range6 ip6_ranges[] = {
	{ { 0 }, 128, IP_CLASS_UNSPECIFIED },
	{ { [15] = 1 }, 128, IP_CLASS_LOOPBACK },
	{ { [10] = 0xff, [11] = 0xff }, 96, IP_CLASS_PUBLIC },	/* v4-mapped */
	{ { 0 }, 96, IP_CLASS_PUBLIC },				/* v4-compatible */
	{ { 0, 0x64, 0xff, 0x9b }, 96, IP_CLASS_PUBLIC },	/* NAT64 */
	{ { 0, 0x64, 0xff, 0x9b, 0, 1 }, 48, IP_CLASS_PUBLIC },	/* local NAT64 */
	{ { 0x01 }, 64, IP_CLASS_RESERVED },			/* discard-only */
	{ { 0xff }, 8, IP_CLASS_MULTICAST },
	{ { 0xfe, 0x80 }, 10, IP_CLASS_LINK_LOCAL },
	{ { 0xfe, 0xc0 }, 10, IP_CLASS_RESERVED },		/* site-local */
	{ { 0xfc }, 7, IP_CLASS_ULA },
	{ { 0x20, 0x01, 0x0d, 0xb8 }, 32, IP_CLASS_RESERVED },	/* documentation */
	{ { 0x3f, 0xff }, 20, IP_CLASS_RESERVED },		/* documentation */
	{ { 0x20, 0x01, 0, 0x02 }, 48, IP_CLASS_RESERVED },	/* benchmarking */
	{ { 0x20, 0x01, 0, 0x10 }, 28, IP_CLASS_RESERVED },	/* ORCHID */
	{ { 0x20, 0x01, 0, 0x20 }, 28, IP_CLASS_RESERVED },	/* ORCHIDv2 */
	{ { 0x20 }, 3, IP_CLASS_PUBLIC },
	{ { 0 }, 0, IP_CLASS_RESERVED },	/* unallocated outside 2000::/3 */
};

/* 169.254.170.23 and fd00:ec2::23 are the EKS Pod Identity agent. */
static const uint32_t ip4_metadata[] = {
	0xa9fea9fe,	/* 169.254.169.254 */
	0xa9feaa02,	/* 169.254.170.2 */
	0xa9feaa17,	/* 169.254.170.23 */
	0x646464c8,	/* 100.100.100.200 */
};

static const uint8_t ip6_metadata[][16] = {
	{ 0xfd, 0x00, 0x0e, 0xc2, [14] = 0x02, [15] = 0x54 },
	{ 0xfd, 0x00, 0x0e, 0xc2, [15] = 0x23 },
};

static const char *const ip_class_names[] = {
	[IP_CLASS_PUBLIC] = "public",
	[IP_CLASS_EXEMPT] = "exempt",
	[IP_CLASS_METADATA] = "metadata",
	[IP_CLASS_LOOPBACK] = "loopback",
	[IP_CLASS_UNSPECIFIED] = "unspecified",
	[IP_CLASS_PRIVATE] = "private",
	[IP_CLASS_CGNAT] = "cgnat",
	[IP_CLASS_LINK_LOCAL] = "link_local",
	[IP_CLASS_MULTICAST] = "multicast",
	[IP_CLASS_BROADCAST] = "broadcast",
	[IP_CLASS_RESERVED] = "reserved",
	[IP_CLASS_ULA] = "ula",
};

static int ip_fail(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return -1;
}

static unsigned int ip_maxbits(int family)
{
	return family == AF_INET ? 32 : 128;
}

static bool ip_prefix_match(const uint8_t *a, const uint8_t *net,
    unsigned int bits)
{
	unsigned int full = bits / 8, rest = bits % 8;
	uint8_t mask;

	if (memcmp(a, net, full) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (uint8_t)(0xff << (8 - rest));
	return ((a[full] ^ net[full]) & mask) == 0;
}

static uint32_t ip4_u32(const struct ip_addr *ip)
{
	return (uint32_t)ip->a[0] << 24 | (uint32_t)ip->a[1] << 16 |
	    (uint32_t)ip->a[2] << 8 | ip->a[3];
}

static int ip_digit(char c, unsigned int base)
{
	int d;

	if (c >= '0' && c <= '9')
		d = c - '0';
	else if (c >= 'a' && c <= 'f')
		d = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		d = c - 'A' + 10;
	else
		return -1;
	return (unsigned int)d < base ? d : -1;
}

/* inet_aton()'s grammar bounded by len, minus its forgiven trailing junk. */
static int ip4_parse(const char *s, size_t len, bool strict, uint8_t out[4],
    const char **why)
{
	uint32_t parts[4], v;
	size_t i = 0, np = 0, k;

	for (;;) {
		uint64_t part = 0;
		unsigned int base = 10;
		int d;

		if (np == 4)
			return ip_fail(why, "too many ipv4 parts");
		if (i >= len || s[i] < '0' || s[i] > '9')
			return ip_fail(why, "invalid ipv4 address");
		if (s[i] == '0' && i + 1 < len && s[i + 1] != '.') {
			if (strict)
				return ip_fail(why, "ipv4 must be dotted decimal");
			base = 8;
			i++;
			if (s[i] == 'x' || s[i] == 'X') {
				base = 16;
				if (++i >= len || ip_digit(s[i], 16) < 0)
					return ip_fail(why, "invalid ipv4 address");
			}
		}
		for (; i < len && (d = ip_digit(s[i], base)) >= 0; i++) {
			part = part * base + (unsigned int)d;
			if (part > UINT32_MAX)
				return ip_fail(why, "ipv4 part out of range");
		}
		parts[np++] = (uint32_t)part;
		if (i == len)
			break;
		if (s[i] != '.')
			return ip_fail(why, "invalid ipv4 address");
		i++;
	}
	if (strict && np != 4)
		return ip_fail(why, "ipv4 must be dotted decimal");

	/* Every part but the last is one byte; the last fills what is left. */
	v = 0;
	for (k = 0; k + 1 < np; k++) {
		if (parts[k] > 0xff)
			return ip_fail(why, "ipv4 part out of range");
		v |= parts[k] << (24 - 8 * k);
	}
	if (np > 1 && parts[np - 1] > (UINT32_MAX >> (8 * (np - 1))))
		return ip_fail(why, "ipv4 part out of range");
	v |= parts[np - 1];

	out[0] = (uint8_t)(v >> 24);
	out[1] = (uint8_t)(v >> 16);
	out[2] = (uint8_t)(v >> 8);
	out[3] = (uint8_t)v;
	return 0;
}

/* inet_pton needs a C string; a charset check first keeps NULs and zones out. */
static int ip6_parse(const char *s, size_t len, uint8_t out[16],
    const char **why)
{
	char buf[IP_PARSE_MAX + 1];
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] != ':' && s[i] != '.' && ip_digit(s[i], 16) < 0)
			return ip_fail(why, "invalid character in ipv6 address");
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET6, buf, out) != 1)
		return ip_fail(why, "invalid ipv6 address");
	return 0;
}

static int ip_parse_mode(const char *s, size_t len, bool strict,
    struct ip_addr *out, const char **why)
{
	struct ip_addr ip;

	memset(&ip, 0, sizeof(ip));
	if (len == 0)
		return ip_fail(why, "empty address");
	if (len > IP_PARSE_MAX)
		return ip_fail(why, "address too long");
	if (memchr(s, '%', len) != NULL)
		return ip_fail(why, "zone id not allowed");
	if (s[0] == '[')
		return ip_fail(why, "brackets not allowed");
	if (memchr(s, ':', len) != NULL) {
		ip.family = AF_INET6;
		if (ip6_parse(s, len, ip.a, why) < 0)
			return -1;
	} else {
		ip.family = AF_INET;
		if (ip4_parse(s, len, strict, ip.a, why) < 0)
			return -1;
	}
	*out = ip;
	return 0;
}

int ip_parse(const char *s, size_t len, struct ip_addr *out, const char **why)
{
	return ip_parse_mode(s, len, false, out, why);
}

int ip_format(const struct ip_addr *ip, char *buf, size_t len)
{
	int n;

	if (ip->family == AF_INET) {
		n = snprintf(buf, len, "%u.%u.%u.%u",
		    ip->a[0], ip->a[1], ip->a[2], ip->a[3]);
		return n < 0 || (size_t)n >= len ? -1 : 0;
	}
	if (ip->family == AF_INET6) {
		if (len > IP_STRLEN)
			len = IP_STRLEN;
		return inet_ntop(AF_INET6, ip->a, buf, (socklen_t)len) ? 0 : -1;
	}
	return -1;
}

bool ip_equal(const struct ip_addr *x, const struct ip_addr *y)
{
	return x->family == y->family && memcmp(x->a, y->a, sizeof(x->a)) == 0;
}

int ip_from_sockaddr(const struct sockaddr *sa, struct ip_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		out->family = AF_INET;
		memcpy(out->a, &sin->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		out->family = AF_INET6;
		memcpy(out->a, &sin6->sin6_addr, 16);
		return 0;
	}
	errno = EAFNOSUPPORT;
	return -1;
}

unsigned int ip_to_sockaddr(const struct ip_addr *ip, uint16_t port,
    struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (ip->family == AF_INET) {
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, ip->a, 4);
		sin->sin_port = htons(port);
		return sizeof(*sin);
	}
	if (ip->family == AF_INET6) {
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, ip->a, 16);
		sin6->sin6_port = htons(port);
		return sizeof(*sin6);
	}
	errno = EAFNOSUPPORT;
	return 0;
}

/* Layouts per RFC 4291, 6052 (/96 and /48), 3056, 4380 and 5214. */
int ip_embedded_v4(const struct ip_addr *a, struct ip_addr *v4)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	static const uint8_t zero[12];
	static const uint8_t nat64[12] = { 0, 0x64, 0xff, 0x9b };
	static const uint8_t nat64_local[6] = { 0, 0x64, 0xff, 0x9b, 0, 1 };
	const uint8_t *b = a->a;
	uint8_t x[4];
	int i;

	if (a->family != AF_INET6)
		return -1;
	if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0 ||
	    (memcmp(b, zero, 12) == 0 && (b[12] | b[13] | b[14] | (b[15] & 0xfe)))) {
		memcpy(x, b + 12, 4);
	} else if (memcmp(b, nat64_local, 6) == 0) {
		/* /48: bits 48..63, u-octet 64..71 skipped, bits 72..87. */
		x[0] = b[6];
		x[1] = b[7];
		x[2] = b[9];
		x[3] = b[10];
	} else if (b[0] == 0x20 && b[1] == 0x02) {
		memcpy(x, b + 2, 4);
	} else if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0) {
		for (i = 0; i < 4; i++)
			x[i] = b[12 + i] ^ 0xff;
	} else if ((b[8] & 0xfc) == 0 && b[9] == 0 && b[10] == 0x5e &&
	    b[11] == 0xfe) {
		/* ISATAP, with any u/g bits in the interface id. */
		memcpy(x, b + 12, 4);
	} else {
		return -1;
	}
	memset(v4, 0, sizeof(*v4));
	v4->family = AF_INET;
	memcpy(v4->a, x, 4);
	return 0;
}

static bool ip_is_metadata(const struct ip_addr *ip)
{
	size_t i;

	if (ip->family == AF_INET) {
		for (i = 0; i < sizeof(ip4_metadata) / sizeof(ip4_metadata[0]); i++)
			if (ip4_u32(ip) == ip4_metadata[i])
				return true;
	} else if (ip->family == AF_INET6) {
		for (i = 0; i < sizeof(ip6_metadata) / sizeof(ip6_metadata[0]); i++)
			if (memcmp(ip->a, ip6_metadata[i], 16) == 0)
				return true;
	}
	return false;
}

static enum ip_class ip4_class(const struct ip_addr *ip)
{
	uint32_t v = ip4_u32(ip), mask;
	size_t i;

	for (i = 0; i < sizeof(ip4_ranges) / sizeof(ip4_ranges[0]); i++) {
		mask = ip4_ranges[i].len ? UINT32_MAX << (32 - ip4_ranges[i].len) : 0;
		if ((v & mask) == ip4_ranges[i].net)
			return ip4_ranges[i].cls;
	}
	return IP_CLASS_PUBLIC;
}

static enum ip_class ip6_class(const struct ip_addr *ip)
{
	size_t i;

	for (i = 0; i < sizeof(ip6_ranges) / sizeof(ip6_ranges[0]); i++)
		if (ip_prefix_match(ip->a, ip6_ranges[i].net, ip6_ranges[i].len))
			return ip6_ranges[i].cls;
	return IP_CLASS_RESERVED;
}

enum ip_class ip_classify(const struct ip_addr *a,
    const struct cidr_set *exempt)
{
	struct ip_addr v4;
	bool embedded = ip_embedded_v4(a, &v4) == 0;
	enum ip_class c4 = IP_CLASS_PUBLIC, c;

	if (ip_is_metadata(a) || (embedded && ip_is_metadata(&v4)))
		return IP_CLASS_METADATA;
	if (exempt && cidr_set_contains(exempt, a))
		return IP_CLASS_EXEMPT;
	if (embedded) {
		if (exempt && cidr_set_contains(exempt, &v4))
			c4 = IP_CLASS_EXEMPT;
		else
			c4 = ip4_class(&v4);
		if (ip_class_blocked(c4))
			return c4;
	}
	if (a->family == AF_INET)
		c = ip4_class(a);
	else if (a->family == AF_INET6)
		c = ip6_class(a);
	else
		c = IP_CLASS_RESERVED;
	return ip_class_blocked(c) ? c : c4;
}

const char *ip_class_name(enum ip_class c)
{
	if ((unsigned int)c >= sizeof(ip_class_names) / sizeof(ip_class_names[0]))
		return "unknown";
	return ip_class_names[c];
}

bool ip_class_blocked(enum ip_class c)
{
	return c != IP_CLASS_PUBLIC && c != IP_CLASS_EXEMPT;
}

int cidr_parse(const char *s, size_t len, struct cidr *out, const char **why)
{
	const char *slash = len ? memchr(s, '/', len) : NULL;
	struct ip_addr ip;
	size_t alen, i, plen;
	unsigned int prefix = 0;
	uint8_t masked[16];

	if (len == 0)
		return ip_fail(why, "empty cidr");
	if (slash == NULL)
		return ip_fail(why, "missing prefix length");
	alen = (size_t)(slash - s);
	if (ip_parse_mode(s, alen, true, &ip, why) < 0)
		return -1;
	plen = len - alen - 1;
	if (plen == 0 || plen > 3 || (plen > 1 && slash[1] == '0'))
		return ip_fail(why, "invalid prefix length");
	for (i = 1; i <= plen; i++) {
		if (slash[i] < '0' || slash[i] > '9')
			return ip_fail(why, "invalid prefix length");
		prefix = prefix * 10 + (unsigned int)(slash[i] - '0');
	}
	if (prefix > ip_maxbits(ip.family))
		return ip_fail(why, "prefix length out of range");

	memset(masked, 0, sizeof(masked));
	memcpy(masked, ip.a, prefix / 8);
	if (prefix % 8)
		masked[prefix / 8] = ip.a[prefix / 8] &
		    (uint8_t)(0xff << (8 - prefix % 8));
	if (memcmp(masked, ip.a, sizeof(masked)) != 0)
		return ip_fail(why, "host bits set");

	out->addr = ip;
	out->prefix = prefix;
	return 0;
}

int cidr_format(const struct cidr *c, char *buf, size_t len)
{
	size_t n;
	int r;

	if (ip_format(&c->addr, buf, len) < 0)
		return -1;
	n = strlen(buf);
	r = snprintf(buf + n, len - n, "/%u", c->prefix);
	return r < 0 || (size_t)r >= len - n ? -1 : 0;
}

bool cidr_contains(const struct cidr *c, const struct ip_addr *ip)
{
	return c->addr.family == ip->family &&
	    c->prefix <= ip_maxbits(ip->family) &&
	    ip_prefix_match(ip->a, c->addr.a, c->prefix);
}

int cidr_set_add(struct cidr_set *set, const struct cidr *c)
{
	struct cidr *v;
	size_t i, cap;

	if ((c->addr.family != AF_INET && c->addr.family != AF_INET6) ||
	    c->prefix > ip_maxbits(c->addr.family)) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < set->n; i++)
		if (set->v[i].prefix == c->prefix &&
		    ip_equal(&set->v[i].addr, &c->addr))
			return 0;
	if (set->n >= CIDR_SET_MAX) {
		errno = E2BIG;
		return -1;
	}
	if (set->n == set->cap) {
		cap = set->cap ? set->cap * 2 : 8;
		if (cap > CIDR_SET_MAX)
			cap = CIDR_SET_MAX;
		v = reallocarray(set->v, cap, sizeof(*v));
		if (v == NULL)
			return -1;
		set->v = v;
		set->cap = cap;
	}
	set->v[set->n++] = *c;
	return 0;
}

bool cidr_set_contains(const struct cidr_set *set, const struct ip_addr *ip)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (cidr_contains(&set->v[i], ip))
			return true;
	return false;
}

void cidr_set_free(struct cidr_set *set)
{
	free(set->v);
	set->v = NULL;
	set->n = 0;
	set->cap = 0;
}
