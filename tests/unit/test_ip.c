#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "common/ip.h"

#define N(x) (sizeof(x) / sizeof((x)[0]))

static struct ip_addr parse_ok(const char *s)
{
	struct ip_addr ip;
	const char *why = NULL;

	if (ip_parse(s, strlen(s), &ip, &why) != 0)
		fail_msg("ip_parse(\"%s\") failed: %s", s, why);
	return ip;
}

static void expect_reject(const char *s, size_t len, const char *reason)
{
	struct ip_addr ip;
	const char *why = NULL;

	if (ip_parse(s, len, &ip, &why) == 0)
		fail_msg("ip_parse(\"%.*s\") accepted", (int)len, s);
	assert_non_null(why);
	if (reason != NULL && strcmp(why, reason) != 0)
		fail_msg("ip_parse(\"%.*s\"): \"%s\", want \"%s\"",
		    (int)len, s, why, reason);
}

static enum ip_class classify_str(const char *s, const struct cidr_set *ex)
{
	struct ip_addr ip = parse_ok(s);

	return ip_classify(&ip, ex);
}

static void expect_class(const char *s, const struct cidr_set *ex,
    enum ip_class want)
{
	enum ip_class got = classify_str(s, ex);

	if (got != want)
		fail_msg("%s: got %s, want %s", s, ip_class_name(got),
		    ip_class_name(want));
}

static void exempt_add(struct cidr_set *set, const char *s)
{
	struct cidr c;
	const char *why = NULL;

	if (cidr_parse(s, strlen(s), &c, &why) != 0)
		fail_msg("cidr_parse(\"%s\"): %s", s, why);
	assert_int_equal(cidr_set_add(set, &c), 0);
}

/* Our parser must agree with glibc on everything without whitespace. */
static void test_parse_v4_matches_inet_aton(void **state)
{
	static const char *const in[] = {
		"169.254.169.254", "2852039166", "0251.0376.0251.0376",
		"0xa9fea9fe", "0XA9FEA9FE", "0xA9.0xfe.0251.254", "127.1",
		"10.1.1", "169.254.43518", "169.16689662", "0", "00", "0x0",
		"0x", "08", "09.1.1.1", "0.0.0.0", "255.255.255.255",
		"256.1.1.1", "1.256.1.1", "1.1.1.256", "4294967295",
		"4294967296", "0xffffffff", "0x100000000", "037777777777",
		"040000000000", "1.16777215", "1.16777216", "1.0xffffff",
		"1.0x1000000", "1.2.65535", "1.2.65536", "1.2.0xffff",
		"1.2.3.0377", "1.2.3.0400", "1.2.3.4.5", "1.2.3.4.", ".1.2.3",
		"1..2.3", ".", "", "+1", "-1", "1.-2", "1.+2", "0x.1", "0x1g",
		"1e3", "99999999999999999999999", "0x0000000000000001",
		"000000000000000000000000000000012", "1.2.3.4x", "a.b.c.d",
		"1.2.3.09", "0xa9fea9fe0", "0x1.0x2.0x3.0x4",
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(in); i++) {
		struct in_addr ref;
		struct ip_addr ip;
		const char *why = NULL;
		int want = inet_aton(in[i], &ref);
		int got = ip_parse(in[i], strlen(in[i]), &ip, &why) == 0;

		if (want != got)
			fail_msg("\"%s\": inet_aton %d, ip_parse %d (%s)",
			    in[i], want, got, why ? why : "");
		if (got) {
			assert_int_equal(ip.family, AF_INET);
			assert_memory_equal(ip.a, &ref, 4);
		}
	}
}

static void test_parse_v4_rejects(void **state)
{
	static const char zeros[] = "0000000000000000000000000000000000000000"
	    "0000000000000000000000001";

	(void)state;
	expect_reject("256.1.1.1", 9, "ipv4 part out of range");
	expect_reject("4294967296", 10, "ipv4 part out of range");
	expect_reject("1.2.65536", 9, "ipv4 part out of range");
	expect_reject("1.16777216", 10, "ipv4 part out of range");
	expect_reject("1.2.3.4.5", 9, "too many ipv4 parts");
	expect_reject("", 0, "empty address");
	expect_reject(NULL, 0, "empty address");
	/* inet_aton accepts the trailing-whitespace ones; we do not. */
	expect_reject(" 1.2.3.4", 8, "invalid ipv4 address");
	expect_reject("1.2.3.4 ", 8, "invalid ipv4 address");
	expect_reject("1.2.3.4 junk", 12, "invalid ipv4 address");
	expect_reject("1.2.3.4\n", 8, "invalid ipv4 address");
	expect_reject("1.2.3.4\t", 8, "invalid ipv4 address");
	expect_reject("1.2.3.4/32", 10, "invalid ipv4 address");
	expect_reject(zeros, strlen(zeros), "address too long");
	expect_reject("1.2.3.4%eth0", 12, "zone id not allowed");
}

static void test_parse_v4_forms(void **state)
{
	static const char *const metadata[] = {
		"169.254.169.254", "2852039166", "0251.0376.0251.0376",
		"0xa9fea9fe", "0xA9.0xFE.0xA9.0xFE", "169.254.43518",
		"169.16689662", "0251.254.0xa9fe", "00000251.0376.169.254",
	};
	struct ip_addr want = parse_ok("169.254.169.254");
	struct ip_addr ip;
	size_t i;

	(void)state;
	assert_int_equal(want.family, AF_INET);
	assert_memory_equal(want.a, "\xa9\xfe\xa9\xfe", 4);
	for (i = 4; i < 16; i++)
		assert_int_equal(want.a[i], 0);
	for (i = 0; i < N(metadata); i++) {
		ip = parse_ok(metadata[i]);
		assert_true(ip_equal(&ip, &want));
	}
	ip = parse_ok("127.1");
	assert_memory_equal(ip.a, "\x7f\x00\x00\x01", 4);
	ip = parse_ok("10.1.1");
	assert_memory_equal(ip.a, "\x0a\x01\x00\x01", 4);
	ip = parse_ok("0");
	assert_memory_equal(ip.a, "\x00\x00\x00\x00", 4);
}

static void test_parse_v6(void **state)
{
	struct ip_addr ip;

	(void)state;
	ip = parse_ok("::1");
	assert_int_equal(ip.family, AF_INET6);
	assert_memory_equal(ip.a, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16);
	ip = parse_ok("::ffff:169.254.169.254");
	assert_memory_equal(ip.a + 10, "\xff\xff\xa9\xfe\xa9\xfe", 6);
	ip = parse_ok("FD00:EC2::254");
	assert_memory_equal(ip.a, "\xfd\x00\x0e\xc2", 4);

	expect_reject("fe80::1%eth0", 12, "zone id not allowed");
	expect_reject("fe80::1%25eth0", 14, "zone id not allowed");
	expect_reject("[::1]", 5, "brackets not allowed");
	expect_reject("::1 ", 4, "invalid character in ipv6 address");
	expect_reject(" ::1", 4, "invalid character in ipv6 address");
	expect_reject("::g", 3, "invalid character in ipv6 address");
	expect_reject(":::", 3, "invalid ipv6 address");
	expect_reject("1::2::3", 7, "invalid ipv6 address");
	expect_reject("1:2:3:4:5:6:7:8:9", 17, "invalid ipv6 address");
	expect_reject("::ffff:1.2.3", 12, "invalid ipv6 address");
	expect_reject("::ffff:0x1.2.3.4", 16, "invalid character in ipv6 address");
	expect_reject("::1\0", 4, "invalid character in ipv6 address");
	expect_reject("::1:", 4, "invalid ipv6 address");
}

/* Exact-size heap copies make ASan catch any read past len. */
static void test_parse_no_overread(void **state)
{
	static const char *const in[] = {
		"10.0.0.1", "0xa9fea9fe", "0251.0376.0251.0376", "127.1",
		"2001:db8::1", "::ffff:1.2.3.4", "0x", "1.2.3.",
		"4294967295", "fe80::1%", "10.0.0.0/8", "::/0", "1.2.3.0/",
	};
	struct ip_addr ip, want;
	struct cidr c;
	size_t i;

	(void)state;
	for (i = 0; i < N(in); i++) {
		size_t len = strlen(in[i]);
		char *buf = malloc(len);

		assert_non_null(buf);
		memcpy(buf, in[i], len);
		(void)ip_parse(buf, len, &ip, NULL);
		(void)cidr_parse(buf, len, &c, NULL);
		free(buf);
	}

	/* len excludes the tail: only the prefix is parsed. */
	want = parse_ok("10.0.0.1");
	assert_int_equal(ip_parse("10.0.0.1junk", 8, &ip, NULL), 0);
	assert_true(ip_equal(&ip, &want));
	assert_int_equal(ip_parse("10.0.0.12", 8, &ip, NULL), 0);
	assert_true(ip_equal(&ip, &want));
	want = parse_ok("::1");
	assert_int_equal(ip_parse("::1%eth0", 3, &ip, NULL), 0);
	assert_true(ip_equal(&ip, &want));
	assert_int_equal(cidr_parse("10.0.0.0/8/garbage", 10, &c, NULL), 0);
	assert_int_equal(c.prefix, 8);
}

static void test_format_roundtrip(void **state)
{
	static const struct {
		const char *in, *out;
	} t[] = {
		{ "169.254.169.254", "169.254.169.254" },
		{ "2852039166", "169.254.169.254" },
		{ "127.1", "127.0.0.1" },
		{ "0", "0.0.0.0" },
		{ "::", "::" },
		{ "0:0:0:0:0:0:0:1", "::1" },
		{ "::ffff:a9fe:a9fe", "::ffff:169.254.169.254" },
		{ "2001:DB8:0:0:1:0:0:1", "2001:db8::1:0:0:1" },
		{ "fd00:ec2::254", "fd00:ec2::254" },
		{ "64:ff9b::a9fe:a9fe", "64:ff9b::a9fe:a9fe" },
	};
	char buf[IP_STRLEN];
	struct ip_addr ip, back;
	size_t i;

	(void)state;
	for (i = 0; i < N(t); i++) {
		ip = parse_ok(t[i].in);
		assert_int_equal(ip_format(&ip, buf, sizeof(buf)), 0);
		assert_string_equal(buf, t[i].out);
		back = parse_ok(buf);
		assert_true(ip_equal(&ip, &back));
	}
	ip = parse_ok("255.255.255.255");
	assert_int_equal(ip_format(&ip, buf, 15), -1);
	assert_int_equal(ip_format(&ip, buf, 16), 0);
	ip = parse_ok("2001:db8::1");
	assert_int_equal(ip_format(&ip, buf, 4), -1);
	memset(&ip, 0, sizeof(ip));
	assert_int_equal(ip_format(&ip, buf, sizeof(buf)), -1);
}

static void expect_cidr_reject(const char *s, const char *reason)
{
	struct cidr c;
	const char *why = NULL;

	if (cidr_parse(s, strlen(s), &c, &why) == 0)
		fail_msg("cidr_parse(\"%s\") accepted", s);
	if (strcmp(why, reason) != 0)
		fail_msg("cidr_parse(\"%s\"): \"%s\", want \"%s\"", s, why,
		    reason);
}

static void test_cidr_parse(void **state)
{
	static const char *const ok[] = {
		"198.18.0.0/15", "0.0.0.0/0", "10.0.0.1/32", "169.254.0.0/16",
		"::/0", "fc00::/7", "2001:db8::/32", "::1/128",
		"::ffff:0.0.0.0/96", "64:ff9b:1::/48",
	};
	char buf[CIDR_STRLEN];
	struct cidr c, back;
	size_t i;

	(void)state;
	for (i = 0; i < N(ok); i++) {
		if (cidr_parse(ok[i], strlen(ok[i]), &c, NULL) != 0)
			fail_msg("cidr_parse(\"%s\") failed", ok[i]);
		assert_int_equal(cidr_format(&c, buf, sizeof(buf)), 0);
		assert_int_equal(cidr_parse(buf, strlen(buf), &back, NULL), 0);
		assert_true(ip_equal(&c.addr, &back.addr));
		assert_int_equal(c.prefix, back.prefix);
	}
	assert_int_equal(cidr_parse("198.18.0.0/15", 13, &c, NULL), 0);
	assert_int_equal(c.addr.family, AF_INET);
	assert_int_equal(c.prefix, 15);
	assert_int_equal(cidr_format(&c, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "198.18.0.0/15");
	assert_int_equal(cidr_format(&c, buf, 13), -1);

	expect_cidr_reject("", "empty cidr");
	expect_cidr_reject("10.0.0.0", "missing prefix length");
	expect_cidr_reject("10.0.0.1/8", "host bits set");
	expect_cidr_reject("198.19.0.0/15", "host bits set");
	expect_cidr_reject("2001:db8::1/32", "host bits set");
	expect_cidr_reject("fe80::/8", "host bits set");
	expect_cidr_reject("10.0.0.0/33", "prefix length out of range");
	expect_cidr_reject("::/129", "prefix length out of range");
	expect_cidr_reject("10.0.0.0/08", "invalid prefix length");
	expect_cidr_reject("10.0.0.0/", "invalid prefix length");
	expect_cidr_reject("10.0.0.0/1000", "invalid prefix length");
	expect_cidr_reject("10.0.0.0/+8", "invalid prefix length");
	expect_cidr_reject("10.0.0.0/8 ", "invalid prefix length");
	expect_cidr_reject("10.0.0.0/8/8", "invalid prefix length");
	expect_cidr_reject("010.0.0.0/8", "ipv4 must be dotted decimal");
	expect_cidr_reject("0xa.0.0.0/8", "ipv4 must be dotted decimal");
	expect_cidr_reject("10/8", "ipv4 must be dotted decimal");
	expect_cidr_reject("10.0.0/24", "ipv4 must be dotted decimal");
	expect_cidr_reject("256.0.0.0/8", "ipv4 part out of range");
	expect_cidr_reject("/8", "empty address");
	expect_cidr_reject("fe80::%eth0/64", "zone id not allowed");
	expect_cidr_reject("[::]/0", "brackets not allowed");
}

static void test_cidr_contains(void **state)
{
	static const struct {
		const char *cidr, *ip;
		bool in;
	} t[] = {
		{ "100.64.0.0/10", "100.64.0.0", true },
		{ "100.64.0.0/10", "100.127.255.255", true },
		{ "100.64.0.0/10", "100.63.255.255", false },
		{ "100.64.0.0/10", "100.128.0.0", false },
		{ "0.0.0.0/0", "255.255.255.255", true },
		{ "0.0.0.0/0", "::", false },
		{ "::/0", "1.2.3.4", false },
		{ "::/0", "ffff::", true },
		{ "10.0.0.1/32", "10.0.0.1", true },
		{ "10.0.0.1/32", "10.0.0.2", false },
		{ "fe80::/10", "febf:ffff::", true },
		{ "fe80::/10", "fec0::", false },
		{ "2001:db8::1/128", "2001:db8::1", true },
		{ "::ffff:0.0.0.0/96", "10.0.0.1", false },
	};
	struct cidr c;
	struct ip_addr ip;
	size_t i;

	(void)state;
	for (i = 0; i < N(t); i++) {
		assert_int_equal(cidr_parse(t[i].cidr, strlen(t[i].cidr), &c,
		    NULL), 0);
		ip = parse_ok(t[i].ip);
		if (cidr_contains(&c, &ip) != t[i].in)
			fail_msg("%s in %s: want %d", t[i].ip, t[i].cidr,
			    t[i].in);
	}
}

static void test_cidr_set(void **state)
{
	struct cidr_set set = { 0 };
	struct cidr c;
	struct ip_addr ip;
	size_t i;

	(void)state;
	ip = parse_ok("198.18.5.5");
	assert_false(cidr_set_contains(&set, &ip));
	exempt_add(&set, "198.18.0.0/15");
	exempt_add(&set, "198.18.0.0/15");
	assert_int_equal(set.n, 1);
	exempt_add(&set, "fc00::/7");
	assert_int_equal(set.n, 2);
	assert_true(cidr_set_contains(&set, &ip));
	ip = parse_ok("fd12::1");
	assert_true(cidr_set_contains(&set, &ip));
	ip = parse_ok("198.20.0.0");
	assert_false(cidr_set_contains(&set, &ip));

	memset(&c, 0, sizeof(c));
	c.addr.family = AF_INET;
	c.prefix = 33;
	errno = 0;
	assert_int_equal(cidr_set_add(&set, &c), -1);
	assert_int_equal(errno, EINVAL);
	c.addr.family = AF_UNIX;
	c.prefix = 0;
	assert_int_equal(cidr_set_add(&set, &c), -1);

	cidr_set_free(&set);
	assert_null(set.v);
	assert_int_equal(set.n, 0);

	memset(&c, 0, sizeof(c));
	c.addr.family = AF_INET6;
	c.prefix = 128;
	for (i = 0; i < CIDR_SET_MAX; i++) {
		c.addr.a[14] = (uint8_t)(i >> 8);
		c.addr.a[15] = (uint8_t)i;
		assert_int_equal(cidr_set_add(&set, &c), 0);
	}
	assert_int_equal(set.n, CIDR_SET_MAX);
	assert_int_equal(cidr_set_add(&set, &c), 0);	/* duplicate */
	c.addr.a[0] = 1;
	errno = 0;
	assert_int_equal(cidr_set_add(&set, &c), -1);
	assert_int_equal(errno, E2BIG);
	cidr_set_free(&set);
}

static void test_classify_v4(void **state)
{
	static const struct {
		const char *ip;
		enum ip_class c;
	} t[] = {
		{ "8.8.8.8", IP_CLASS_PUBLIC },
		{ "1.1.1.1", IP_CLASS_PUBLIC },
		{ "0.0.0.0", IP_CLASS_UNSPECIFIED },
		{ "0.0.0.1", IP_CLASS_RESERVED },
		{ "0.255.255.255", IP_CLASS_RESERVED },
		{ "1.0.0.0", IP_CLASS_PUBLIC },
		{ "9.255.255.255", IP_CLASS_PUBLIC },
		{ "10.0.0.0", IP_CLASS_PRIVATE },
		{ "10.255.255.255", IP_CLASS_PRIVATE },
		{ "11.0.0.0", IP_CLASS_PUBLIC },
		{ "100.63.255.255", IP_CLASS_PUBLIC },
		{ "100.64.0.0", IP_CLASS_CGNAT },
		{ "100.127.255.255", IP_CLASS_CGNAT },
		{ "100.128.0.0", IP_CLASS_PUBLIC },
		{ "127.0.0.1", IP_CLASS_LOOPBACK },
		{ "127.1", IP_CLASS_LOOPBACK },
		{ "127.255.255.255", IP_CLASS_LOOPBACK },
		{ "169.253.255.255", IP_CLASS_PUBLIC },
		{ "169.254.0.0", IP_CLASS_LINK_LOCAL },
		{ "169.254.1.1", IP_CLASS_LINK_LOCAL },
		{ "169.254.255.255", IP_CLASS_LINK_LOCAL },
		{ "169.255.0.0", IP_CLASS_PUBLIC },
		{ "172.15.255.255", IP_CLASS_PUBLIC },
		{ "172.16.0.0", IP_CLASS_PRIVATE },
		{ "172.31.255.255", IP_CLASS_PRIVATE },
		{ "172.32.0.0", IP_CLASS_PUBLIC },
		{ "192.0.0.1", IP_CLASS_RESERVED },
		{ "192.0.1.1", IP_CLASS_PUBLIC },
		{ "192.0.2.1", IP_CLASS_RESERVED },
		{ "192.88.99.1", IP_CLASS_RESERVED },
		{ "192.167.255.255", IP_CLASS_PUBLIC },
		{ "192.168.0.0", IP_CLASS_PRIVATE },
		{ "192.168.255.255", IP_CLASS_PRIVATE },
		{ "192.169.0.0", IP_CLASS_PUBLIC },
		{ "198.17.255.255", IP_CLASS_PUBLIC },
		{ "198.18.0.0", IP_CLASS_RESERVED },
		{ "198.19.255.255", IP_CLASS_RESERVED },
		{ "198.20.0.0", IP_CLASS_PUBLIC },
		{ "198.51.100.7", IP_CLASS_RESERVED },
		{ "203.0.113.7", IP_CLASS_RESERVED },
		{ "203.0.114.7", IP_CLASS_PUBLIC },
		{ "223.255.255.255", IP_CLASS_PUBLIC },
		{ "224.0.0.0", IP_CLASS_MULTICAST },
		{ "239.255.255.255", IP_CLASS_MULTICAST },
		{ "240.0.0.0", IP_CLASS_RESERVED },
		{ "255.255.255.254", IP_CLASS_RESERVED },
		{ "255.255.255.255", IP_CLASS_BROADCAST },
		{ "169.254.169.254", IP_CLASS_METADATA },
		{ "169.254.170.2", IP_CLASS_METADATA },
		{ "169.254.170.23", IP_CLASS_METADATA },
		{ "100.100.100.200", IP_CLASS_METADATA },
		{ "100.100.100.201", IP_CLASS_CGNAT },
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(t); i++)
		expect_class(t[i].ip, NULL, t[i].c);
}

static void test_classify_v6(void **state)
{
	static const struct {
		const char *ip;
		enum ip_class c;
	} t[] = {
		{ "2606:4700:4700::1111", IP_CLASS_PUBLIC },
		{ "2a00:1450:4001:80b::200e", IP_CLASS_PUBLIC },
		{ "::", IP_CLASS_UNSPECIFIED },
		{ "::1", IP_CLASS_LOOPBACK },
		{ "fe80::1", IP_CLASS_LINK_LOCAL },
		{ "febf:ffff::1", IP_CLASS_LINK_LOCAL },
		{ "fec0::1", IP_CLASS_RESERVED },
		{ "fc00::1", IP_CLASS_ULA },
		{ "fdff:ffff::1", IP_CLASS_ULA },
		{ "fd00:ec2::254", IP_CLASS_METADATA },
		{ "fd00:ec2::23", IP_CLASS_METADATA },
		{ "fd00:ec2::255", IP_CLASS_ULA },
		{ "ff02::1", IP_CLASS_MULTICAST },
		{ "ff0e::1", IP_CLASS_MULTICAST },
		{ "2001:db8::1", IP_CLASS_RESERVED },
		{ "2001:db9::1", IP_CLASS_PUBLIC },
		{ "3fff::1", IP_CLASS_RESERVED },
		{ "3fff:fff::1", IP_CLASS_RESERVED },
		{ "3fff:1000::1", IP_CLASS_PUBLIC },
		{ "100::1", IP_CLASS_RESERVED },
		{ "100::ffff:ffff:ffff:ffff", IP_CLASS_RESERVED },
		{ "2001:2::1", IP_CLASS_RESERVED },
		{ "2001:10::1", IP_CLASS_RESERVED },
		{ "2001:20::1", IP_CLASS_RESERVED },
		{ "4000::1", IP_CLASS_RESERVED },
		{ "1fff:ffff::1", IP_CLASS_RESERVED },
		{ "::ffff:0:1.2.3.4", IP_CLASS_RESERVED },
		{ "::ffff:8.8.8.8", IP_CLASS_PUBLIC },
		{ "::8.8.8.8", IP_CLASS_PUBLIC },
		{ "64:ff9b::8.8.8.8", IP_CLASS_PUBLIC },
		{ "64:ff9b:1:808:8:800::", IP_CLASS_PUBLIC },
		{ "2002:808:808::1", IP_CLASS_PUBLIC },
		{ "2001:0:4136:e378:8000:63bf:f7f7:f7f7", IP_CLASS_PUBLIC },
		{ "2a00:1::200:5efe:808:808", IP_CLASS_PUBLIC },
		/* Embedded v4 decides. */
		{ "::ffff:10.0.0.1", IP_CLASS_PRIVATE },
		{ "::ffff:127.0.0.1", IP_CLASS_LOOPBACK },
		{ "::ffff:0.0.0.0", IP_CLASS_UNSPECIFIED },
		{ "::ffff:100.64.0.1", IP_CLASS_CGNAT },
		{ "::ffff:224.0.0.1", IP_CLASS_MULTICAST },
		{ "::ffff:255.255.255.255", IP_CLASS_BROADCAST },
		{ "::ffff:198.18.0.1", IP_CLASS_RESERVED },
		{ "::2", IP_CLASS_RESERVED },
		{ "::10.0.0.1", IP_CLASS_PRIVATE },
		{ "::127.0.0.1", IP_CLASS_LOOPBACK },
		{ "64:ff9b::192.168.1.1", IP_CLASS_PRIVATE },
		{ "64:ff9b::7f00:1", IP_CLASS_LOOPBACK },
		{ "64:ff9b:1:a00:1:100::", IP_CLASS_PRIVATE },
		{ "2002:c0a8:101::1", IP_CLASS_PRIVATE },
		{ "2002:7f00:1::", IP_CLASS_LOOPBACK },
		{ "2001:0:4136:e378:8000:63bf:f5ff:fffe", IP_CLASS_PRIVATE },
		{ "2001:db8:1::5efe:10.0.0.1", IP_CLASS_PRIVATE },
		{ "2a00:1::200:5efe:172.16.0.1", IP_CLASS_PRIVATE },
		/* A blocked container blocks a public embedded v4. */
		{ "fe80::5efe:8.8.8.8", IP_CLASS_LINK_LOCAL },
		{ "fe80::200:5efe:8.8.8.8", IP_CLASS_LINK_LOCAL },
		{ "fd00::5efe:8.8.8.8", IP_CLASS_ULA },
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(t); i++)
		expect_class(t[i].ip, NULL, t[i].c);
}

static void test_metadata_every_spelling(void **state)
{
	static const char *const t[] = {
		"169.254.169.254", "2852039166", "0251.0376.0251.0376",
		"0xa9fea9fe", "0xA9FEA9FE", "169.254.43518", "169.16689662",
		"::ffff:169.254.169.254", "::ffff:a9fe:a9fe",
		"0:0:0:0:0:ffff:a9fe:a9fe", "::169.254.169.254", "::a9fe:a9fe",
		"64:ff9b::169.254.169.254", "64:ff9b::a9fe:a9fe",
		"64:ff9b:1:a9fe:a9:fe00::", "64:ff9b:1:a9fe:ffa9:fe00::",
		"64:ff9b:1:a9fe:a9:fe12:3456:789a",
		"2002:a9fe:a9fe::", "2002:a9fe:a9fe:1234::1",
		"2001:0:4136:e378:8000:63bf:5601:5601",
		"2001::5601:5601",
		"fe80::5efe:169.254.169.254", "fe80::200:5efe:a9fe:a9fe",
		"2001:db8::5efe:a9fe:a9fe", "2a00:1::200:5efe:a9fe:a9fe",
		"169.254.170.2", "::ffff:169.254.170.2", "2002:a9fe:aa02::",
		"100.100.100.200", "::ffff:100.100.100.200",
		"64:ff9b::6464:64c8", "fd00:ec2::254",
		"fd00:0ec2:0000:0000:0000:0000:0000:0254",
	};
	struct cidr_set all = { 0 };
	size_t i;

	(void)state;
	exempt_add(&all, "0.0.0.0/0");
	exempt_add(&all, "::/0");
	for (i = 0; i < N(t); i++) {
		expect_class(t[i], NULL, IP_CLASS_METADATA);
		expect_class(t[i], &all, IP_CLASS_METADATA);
	}
	expect_class("8.8.8.8", &all, IP_CLASS_EXEMPT);
	expect_class("::1", &all, IP_CLASS_EXEMPT);
	cidr_set_free(&all);
}

/* RFC 6052 /48: v4 bytes at 6,7 then 9,10; byte 8 (u-octet) is skipped. */
static void test_embedded_v4_layouts(void **state)
{
	static const struct {
		const char *v6, *v4;
	} t[] = {
		{ "::ffff:1.2.3.4", "1.2.3.4" },
		{ "::1.2.3.4", "1.2.3.4" },
		{ "::0.0.0.2", "0.0.0.2" },
		{ "64:ff9b::1.2.3.4", "1.2.3.4" },
		{ "64:ff9b:1:102:3:400::", "1.2.3.4" },
		{ "64:ff9b:1:102:ff03:4ff:ffff:ffff", "1.2.3.4" },
		{ "2002:102:304::", "1.2.3.4" },
		{ "2002:102:304:ffff:ffff:ffff:ffff:ffff", "1.2.3.4" },
		{ "2001:0:4136:e378:8000:63bf:fefd:fcfb", "1.2.3.4" },
		{ "fe80::5efe:1.2.3.4", "1.2.3.4" },
		{ "fe80::100:5efe:1.2.3.4", "1.2.3.4" },
		{ "fe80::200:5efe:1.2.3.4", "1.2.3.4" },
		{ "fe80::300:5efe:1.2.3.4", "1.2.3.4" },
	};
	static const char *const none[] = {
		"::", "::1", "2001:db8::1", "fe80::1", "fe80::400:5efe:102:304",
		"fe80::1:5efe:102:304", "::ffff:0:1.2.3.4", "64:ff9b:2::1",
		"64:ff9b:0:1::1.2.3.4", "2003::", "2001:1::1", "1.2.3.4",
	};
	struct ip_addr ip, v4, want;
	size_t i;

	(void)state;
	for (i = 0; i < N(t); i++) {
		ip = parse_ok(t[i].v6);
		want = parse_ok(t[i].v4);
		if (ip_embedded_v4(&ip, &v4) != 0)
			fail_msg("%s: no embedded v4", t[i].v6);
		if (!ip_equal(&v4, &want))
			fail_msg("%s: wrong embedded v4", t[i].v6);
	}
	for (i = 0; i < N(none); i++) {
		ip = parse_ok(none[i]);
		if (ip_embedded_v4(&ip, &v4) == 0)
			fail_msg("%s: unexpected embedded v4", none[i]);
	}
}

/* The lab exempts 198.18/15: blocked by default, allowed when exempted. */
static void test_exempt_benchmark(void **state)
{
	struct cidr_set ex = { 0 };

	(void)state;
	expect_class("198.18.0.1", NULL, IP_CLASS_RESERVED);
	exempt_add(&ex, "198.18.0.0/15");
	expect_class("198.18.0.0", &ex, IP_CLASS_EXEMPT);
	expect_class("198.18.0.1", &ex, IP_CLASS_EXEMPT);
	expect_class("198.19.255.255", &ex, IP_CLASS_EXEMPT);
	expect_class("198.17.255.255", &ex, IP_CLASS_PUBLIC);
	expect_class("198.20.0.0", &ex, IP_CLASS_PUBLIC);
	expect_class("10.0.0.1", &ex, IP_CLASS_PRIVATE);
	expect_class("3323068417", &ex, IP_CLASS_EXEMPT);	/* 198.18.0.1 */
	/* Embedded v4 inherits the exemption, a blocked container does not. */
	expect_class("::ffff:198.18.0.1", &ex, IP_CLASS_EXEMPT);
	expect_class("64:ff9b::198.18.0.1", &ex, IP_CLASS_EXEMPT);
	expect_class("2002:c612:1::", &ex, IP_CLASS_EXEMPT);
	expect_class("fe80::5efe:198.18.0.1", &ex, IP_CLASS_LINK_LOCAL);
	expect_class("::ffff:10.0.0.1", &ex, IP_CLASS_PRIVATE);
	assert_false(ip_class_blocked(classify_str("198.18.0.1", &ex)));
	cidr_set_free(&ex);

	exempt_add(&ex, "fc00::/7");
	expect_class("fd00::1", &ex, IP_CLASS_EXEMPT);
	expect_class("fd00::5efe:8.8.8.8", &ex, IP_CLASS_EXEMPT);
	expect_class("fd00::5efe:10.0.0.1", &ex, IP_CLASS_EXEMPT);
	expect_class("fd00:ec2::254", &ex, IP_CLASS_METADATA);
	expect_class("fd00:ec2::23", &ex, IP_CLASS_METADATA);
	cidr_set_free(&ex);
}

/* Exempting link-local frees 169.254.1.1 but never the metadata hosts. */
static void test_exempt_never_metadata(void **state)
{
	struct cidr_set ex = { 0 };

	(void)state;
	exempt_add(&ex, "169.254.0.0/16");
	expect_class("169.254.1.1", NULL, IP_CLASS_LINK_LOCAL);
	expect_class("169.254.1.1", &ex, IP_CLASS_EXEMPT);
	expect_class("169.254.169.254", &ex, IP_CLASS_METADATA);
	expect_class("169.254.170.2", &ex, IP_CLASS_METADATA);
	expect_class("2852039166", &ex, IP_CLASS_METADATA);
	expect_class("::ffff:169.254.169.254", &ex, IP_CLASS_METADATA);
	expect_class("::ffff:169.254.1.1", &ex, IP_CLASS_EXEMPT);
	cidr_set_free(&ex);

	exempt_add(&ex, "169.254.169.254/32");
	exempt_add(&ex, "100.64.0.0/10");
	expect_class("169.254.169.254", &ex, IP_CLASS_METADATA);
	expect_class("100.100.100.200", &ex, IP_CLASS_METADATA);
	expect_class("100.100.100.199", &ex, IP_CLASS_EXEMPT);
	cidr_set_free(&ex);
}

static void test_class_names(void **state)
{
	static const struct {
		enum ip_class c;
		const char *name;
		bool blocked;
	} t[] = {
		{ IP_CLASS_PUBLIC, "public", false },
		{ IP_CLASS_EXEMPT, "exempt", false },
		{ IP_CLASS_METADATA, "metadata", true },
		{ IP_CLASS_LOOPBACK, "loopback", true },
		{ IP_CLASS_UNSPECIFIED, "unspecified", true },
		{ IP_CLASS_PRIVATE, "private", true },
		{ IP_CLASS_CGNAT, "cgnat", true },
		{ IP_CLASS_LINK_LOCAL, "link_local", true },
		{ IP_CLASS_MULTICAST, "multicast", true },
		{ IP_CLASS_BROADCAST, "broadcast", true },
		{ IP_CLASS_RESERVED, "reserved", true },
		{ IP_CLASS_ULA, "ula", true },
	};
	struct ip_addr ip;
	size_t i;

	(void)state;
	for (i = 0; i < N(t); i++) {
		assert_string_equal(ip_class_name(t[i].c), t[i].name);
		assert_int_equal(ip_class_blocked(t[i].c), t[i].blocked);
	}
	assert_string_equal(ip_class_name((enum ip_class)999), "unknown");
	memset(&ip, 0, sizeof(ip));
	ip.family = AF_UNIX;
	assert_int_equal(ip_classify(&ip, NULL), IP_CLASS_RESERVED);
}

static void test_from_sockaddr(void **state)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr sa;
	struct ip_addr ip, want;

	(void)state;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(0xa9fea9fe);
	assert_int_equal(ip_from_sockaddr((struct sockaddr *)&sin, &ip), 0);
	want = parse_ok("169.254.169.254");
	assert_true(ip_equal(&ip, &want));

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, "fe80::1", &sin6.sin6_addr), 1);
	sin6.sin6_scope_id = 2;
	assert_int_equal(ip_from_sockaddr((struct sockaddr *)&sin6, &ip), 0);
	want = parse_ok("fe80::1");
	assert_true(ip_equal(&ip, &want));

	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNIX;
	errno = 0;
	assert_int_equal(ip_from_sockaddr(&sa, &ip), -1);
	assert_int_equal(errno, EAFNOSUPPORT);
}

static void test_to_sockaddr_round_trip(void **state)
{
	struct sockaddr_storage ss;
	struct ip_addr in, out;
	const char *const addrs[] = { "198.18.1.10", "fe80::1", "::ffff:198.18.0.1" };
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		in = parse_ok(addrs[i]);
		assert_int_equal(ip_to_sockaddr(&in, 443, &ss), in.family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
		assert_int_equal(ss.ss_family, in.family);
		assert_int_equal(ntohs(in.family == AF_INET ?
		    ((struct sockaddr_in *)&ss)->sin_port :
		    ((struct sockaddr_in6 *)&ss)->sin6_port), 443);
		assert_int_equal(ip_from_sockaddr((struct sockaddr *)&ss, &out), 0);
		assert_true(ip_equal(&in, &out));
	}
	memset(&in, 0, sizeof(in));
	errno = 0;
	assert_int_equal(ip_to_sockaddr(&in, 80, &ss), 0);
	assert_int_equal(errno, EAFNOSUPPORT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_v4_matches_inet_aton),
		cmocka_unit_test(test_to_sockaddr_round_trip),
		cmocka_unit_test(test_parse_v4_rejects),
		cmocka_unit_test(test_parse_v4_forms),
		cmocka_unit_test(test_parse_v6),
		cmocka_unit_test(test_parse_no_overread),
		cmocka_unit_test(test_format_roundtrip),
		cmocka_unit_test(test_cidr_parse),
		cmocka_unit_test(test_cidr_contains),
		cmocka_unit_test(test_cidr_set),
		cmocka_unit_test(test_classify_v4),
		cmocka_unit_test(test_classify_v6),
		cmocka_unit_test(test_metadata_every_spelling),
		cmocka_unit_test(test_embedded_v4_layouts),
		cmocka_unit_test(test_exempt_benchmark),
		cmocka_unit_test(test_exempt_never_metadata),
		cmocka_unit_test(test_class_names),
		cmocka_unit_test(test_from_sockaddr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
