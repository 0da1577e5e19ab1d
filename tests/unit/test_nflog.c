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
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>

#include "common/ip.h"
#include "rules/nflog.h"

#define MSG_PACKET	((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET)
#define MSG_CONFIG	((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG)
#define BUFSZ		1024

/* What the kernel would attach to one logged packet; NULL/0 = absent. */
struct msg_spec {
	uint8_t family;
	uint16_t group;
	const char *prefix;
	int has_mark;
	uint32_t mark;
	int has_indev;
	uint32_t indev;
	const uint8_t *payload;
	size_t plen;
	int no_payload;
};

static uint8_t msgbuf[BUFSZ] __attribute__((aligned(8)));

/* An NFULNL_MSG_PACKET built the way nfnetlink_log lays it out. */
static size_t build_msg(uint8_t *buf, const struct msg_spec *s)
{
	struct nfulnl_msg_packet_hdr ph = { .hw_protocol =
	    htons(s->family == AF_INET6 ? 0x86dd : 0x0800), .hook = 0 };
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;

	memset(buf, 0, BUFSZ);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = MSG_PACKET;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = s->family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(s->group);
	mnl_attr_put(nlh, NFULA_PACKET_HDR, sizeof(ph), &ph);
	if (s->has_mark)
		mnl_attr_put_u32(nlh, NFULA_MARK, htonl(s->mark));
	if (s->has_indev)
		mnl_attr_put_u32(nlh, NFULA_IFINDEX_INDEV, htonl(s->indev));
	if (s->prefix != NULL)
		mnl_attr_put_strz(nlh, NFULA_PREFIX, s->prefix);
	mnl_attr_put_u32(nlh, NFULA_SEQ, htonl(5));
	if (!s->no_payload)
		mnl_attr_put(nlh, NFULA_PAYLOAD, s->plen, s->payload);
	return nlh->nlmsg_len;
}

static size_t ipv4_hdr(uint8_t *p, uint8_t proto, const char *src,
    const char *dst, size_t l4len)
{
	size_t tot = 20 + l4len;

	memset(p, 0, 20);
	p[0] = 0x45;
	p[2] = (uint8_t)(tot >> 8);
	p[3] = (uint8_t)tot;
	p[8] = 64;
	p[9] = proto;
	assert_int_equal(inet_pton(AF_INET, src, p + 12), 1);
	assert_int_equal(inet_pton(AF_INET, dst, p + 16), 1);
	return 20;
}

static size_t ipv6_hdr(uint8_t *p, uint8_t nh, const char *src,
    const char *dst, size_t plen)
{
	memset(p, 0, 40);
	p[0] = 0x60;
	p[4] = (uint8_t)(plen >> 8);
	p[5] = (uint8_t)plen;
	p[6] = nh;
	p[7] = 64;
	assert_int_equal(inet_pton(AF_INET6, src, p + 8), 1);
	assert_int_equal(inet_pton(AF_INET6, dst, p + 24), 1);
	return 40;
}

/* First 8 bytes of a TCP or UDP header: ports, then len/seq (ignored). */
static size_t l4_ports(uint8_t *p, uint16_t sport, uint16_t dport,
    size_t len)
{
	memset(p, 0, len);
	p[0] = (uint8_t)(sport >> 8);
	p[1] = (uint8_t)sport;
	p[2] = (uint8_t)(dport >> 8);
	p[3] = (uint8_t)dport;
	return len;
}

static void parse_ok(const uint8_t *buf, size_t len, struct nflog_record *r)
{
	char err[128] = "";

	if (nflog_parse(buf, len, r, err, sizeof(err)) != 0)
		fail_msg("nflog_parse failed: %s", err);
}

/* The parse fails and the reason mentions want. */
static void parse_err(const uint8_t *buf, size_t len, const char *want)
{
	struct nflog_record r;
	char err[128] = "";

	if (nflog_parse(buf, len, &r, err, sizeof(err)) == 0)
		fail_msg("nflog_parse accepted a bad message (want \"%s\")",
		    want);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\", want it to mention \"%s\"", err, want);
}

static void assert_addr(const struct ip_addr *ip, const char *want)
{
	char buf[IP_STRLEN];

	assert_int_equal(ip_format(ip, buf, sizeof(buf)), 0);
	assert_string_equal(buf, want);
}

static size_t v4_udp_msg(uint8_t *buf, const char *prefix, uint16_t dport)
{
	uint8_t pkt[28];
	struct msg_spec s = { .family = AF_INET, .group = 7,
	    .prefix = prefix, .has_mark = 1, .mark = 42, .has_indev = 1,
	    .indev = 3, .payload = pkt, .plen = sizeof(pkt) };

	ipv4_hdr(pkt, IPPROTO_UDP, "198.19.0.1", "198.18.1.10", 8);
	l4_ports(pkt + 20, 40000, dport, 8);
	return build_msg(buf, &s);
}

static void test_tcp_v4(void **state)
{
	uint8_t pkt[40];
	struct msg_spec s = { .family = AF_INET, .group = 7,
	    .prefix = "proto", .has_mark = 1, .mark = 42, .has_indev = 1,
	    .indev = 9, .payload = pkt, .plen = sizeof(pkt) };
	struct nflog_record r;
	size_t len;

	(void)state;
	ipv4_hdr(pkt, IPPROTO_TCP, "198.19.0.1", "198.18.1.10", 20);
	l4_ports(pkt + 20, 51000, 443, 20);
	len = build_msg(msgbuf, &s);
	parse_ok(msgbuf, len, &r);
	assert_int_equal(r.mark, 42);
	assert_string_equal(r.prefix, "proto");
	assert_string_equal(nflog_reason_name(r.prefix), "protocol_not_allowed");
	assert_int_equal(r.indev, 9);
	assert_int_equal(r.group, 7);
	assert_int_equal(r.family, AF_INET);
	assert_int_equal(r.proto, IPPROTO_TCP);
	assert_string_equal(nflog_proto_name(r.proto), "tcp");
	assert_addr(&r.src, "198.19.0.1");
	assert_addr(&r.dst, "198.18.1.10");
	assert_int_equal(r.sport, 51000);
	assert_int_equal(r.dport, 443);
	assert_int_equal(r.seq, 5);
	assert_int_equal(r.cap_len, 40);
	assert_int_equal(r.pkt_len, 40);
	assert_int_equal(r.flags, NFLOG_REC_MARK | NFLOG_REC_INDEV |
	    NFLOG_REC_SEQ | NFLOG_REC_PORTS);
}

static void test_udp_v4(void **state)
{
	struct nflog_record r;
	size_t len;

	(void)state;
	len = v4_udp_msg(msgbuf, "spoof", 9999);
	parse_ok(msgbuf, len, &r);
	assert_int_equal(r.proto, IPPROTO_UDP);
	assert_string_equal(nflog_proto_name(r.proto), "udp");
	assert_string_equal(nflog_reason_name(r.prefix), "spoofed_source");
	assert_int_equal(r.sport, 40000);
	assert_int_equal(r.dport, 9999);
	assert_true(r.flags & NFLOG_REC_PORTS);
	assert_false(r.flags & (NFLOG_REC_TRUNCATED | NFLOG_REC_FRAGMENT));
}

static void test_icmp_echo(void **state)
{
	uint8_t pkt[28];
	struct msg_spec s = { .family = AF_INET, .prefix = "proto",
	    .has_mark = 1, .mark = 1, .payload = pkt, .plen = sizeof(pkt) };
	struct nflog_record r;

	(void)state;
	ipv4_hdr(pkt, IPPROTO_ICMP, "198.19.0.1", "198.18.1.10", 8);
	memset(pkt + 20, 0, 8);
	pkt[20] = 8;
	parse_ok(msgbuf, build_msg(msgbuf, &s), &r);
	assert_int_equal(r.proto, IPPROTO_ICMP);
	assert_string_equal(nflog_proto_name(r.proto), "icmp");
	assert_int_equal(r.icmp_type, 8);
	assert_true(r.flags & NFLOG_REC_ICMP);
	assert_false(r.flags & NFLOG_REC_PORTS);
	assert_int_equal(r.sport, 0);
	assert_int_equal(r.dport, 0);
	assert_false(r.flags & NFLOG_REC_INDEV);
}

static void test_ipv6_udp(void **state)
{
	uint8_t pkt[48];
	struct msg_spec s = { .family = AF_INET6, .prefix = "ipv6",
	    .has_mark = 1, .mark = 42, .has_indev = 1, .indev = 4,
	    .payload = pkt, .plen = sizeof(pkt) };
	struct nflog_record r;

	(void)state;
	ipv6_hdr(pkt, IPPROTO_UDP, "fe80::1", "ff02::1", 8);
	l4_ports(pkt + 40, 1234, 9999, 8);
	parse_ok(msgbuf, build_msg(msgbuf, &s), &r);
	assert_int_equal(r.family, AF_INET6);
	assert_int_equal(r.proto, IPPROTO_UDP);
	assert_addr(&r.src, "fe80::1");
	assert_addr(&r.dst, "ff02::1");
	assert_int_equal(r.dport, 9999);
	assert_int_equal(r.pkt_len, 48);
	assert_string_equal(nflog_reason_name(r.prefix), "ipv6_disabled");
}

static void test_ipv6_icmpv6(void **state)
{
	uint8_t pkt[48];
	struct msg_spec s = { .family = AF_INET6, .prefix = "ipv6",
	    .payload = pkt, .plen = sizeof(pkt) };
	struct nflog_record r;

	(void)state;
	ipv6_hdr(pkt, IPPROTO_ICMPV6, "fe80::1", "ff02::2", 8);
	memset(pkt + 40, 0, 8);
	pkt[40] = 133;	/* router solicitation */
	parse_ok(msgbuf, build_msg(msgbuf, &s), &r);
	assert_string_equal(nflog_proto_name(r.proto), "icmpv6");
	assert_int_equal(r.icmp_type, 133);
	assert_true(r.flags & NFLOG_REC_ICMP);
	assert_int_equal(r.mark, 0);
	assert_false(r.flags & NFLOG_REC_MARK);
}

static void test_ipv6_hbh_udp(void **state)
{
	uint8_t pkt[64];
	struct msg_spec s = { .family = AF_INET6, .prefix = "ipv6",
	    .payload = pkt, .plen = sizeof(pkt) };
	struct nflog_record r;

	(void)state;
	ipv6_hdr(pkt, IPPROTO_HOPOPTS, "fe80::1", "ff02::1", 24);
	/* Hop-by-hop, 16 bytes (hdr ext len 1): next UDP, then PadN. */
	memset(pkt + 40, 0, 16);
	pkt[40] = IPPROTO_UDP;
	pkt[41] = 1;
	pkt[42] = 1;
	pkt[43] = 12;
	l4_ports(pkt + 56, 5353, 9999, 8);
	parse_ok(msgbuf, build_msg(msgbuf, &s), &r);
	assert_int_equal(r.proto, IPPROTO_UDP);
	assert_int_equal(r.sport, 5353);
	assert_int_equal(r.dport, 9999);
	assert_true(r.flags & NFLOG_REC_PORTS);
}

/* Hop-by-hop, destination options, routing, AH, first fragment, TCP. */
static void test_ipv6_ext_chain(void **state)
{
	uint8_t pkt[40 + 8 + 8 + 8 + 16 + 8 + 20];
	struct msg_spec s = { .family = AF_INET6, .prefix = "ipv6",
	    .payload = pkt, .plen = sizeof(pkt) };
	struct nflog_record r;
	uint8_t *p = pkt + 40;

	(void)state;
	memset(pkt, 0, sizeof(pkt));
	ipv6_hdr(pkt, IPPROTO_HOPOPTS, "2001:db8::1", "2001:db8::2",
	    sizeof(pkt) - 40);
	p[0] = IPPROTO_DSTOPTS; p += 8;
	p[0] = IPPROTO_ROUTING; p += 8;
	p[0] = IPPROTO_AH; p += 8;
	p[0] = IPPROTO_FRAGMENT; p[1] = 2; p += 16;	/* AH: (2+2)*4 */
	p[0] = IPPROTO_TCP; p[3] = 1; p += 8;		/* offset 0, MF */
	l4_ports(p, 1, 22, 20);
	parse_ok(msgbuf, build_msg(msgbuf, &s), &r);
	assert_int_equal(r.proto, IPPROTO_TCP);
	assert_int_equal(r.dport, 22);
	assert_true(r.flags & NFLOG_REC_PORTS);
	assert_false(r.flags & NFLOG_REC_FRAGMENT);
}

static void test_ipv6_nonfirst_fragment(void **state)
{
	uint8_t pkt[56];
	struct msg_spec s = { .family = AF_INET6, .prefix = "ipv6",
	    .payload = pkt, .plen = sizeof(pkt) };
	struct nflog_record r;

	(void)state;
	ipv6_hdr(pkt, IPPROTO_FRAGMENT, "fe80::1", "ff02::1", 16);
	memset(pkt + 40, 0, 16);
	pkt[40] = IPPROTO_UDP;
	pkt[42] = 0x05;		/* offset 0x5 << 3 = 1280 */
	pkt[43] = 0x00;
	l4_ports(pkt + 48, 7, 9999, 8);	/* data, not a header */
	parse_ok(msgbuf, build_msg(msgbuf, &s), &r);
	assert_int_equal(r.proto, IPPROTO_UDP);
	assert_true(r.flags & NFLOG_REC_FRAGMENT);
	assert_false(r.flags & NFLOG_REC_PORTS);
	assert_int_equal(r.dport, 0);
}

/* More extension headers than we walk: a record, flagged, without L4. */
static void test_ipv6_too_many_exthdrs(void **state)
{
	uint8_t pkt[40 + 8 * (NFLOG_MAX_EXTHDRS + 2) + 8];
	struct msg_spec s = { .family = AF_INET6, .prefix = "ipv6",
	    .payload = pkt, .plen = sizeof(pkt) };
	struct nflog_record r;
	size_t i;

	(void)state;
	memset(pkt, 0, sizeof(pkt));
	ipv6_hdr(pkt, IPPROTO_DSTOPTS, "fe80::1", "ff02::1",
	    sizeof(pkt) - 40);
	for (i = 0; i < NFLOG_MAX_EXTHDRS + 2; i++)
		pkt[40 + 8 * i] = i == NFLOG_MAX_EXTHDRS + 1 ?
		    IPPROTO_UDP : IPPROTO_DSTOPTS;
	parse_ok(msgbuf, build_msg(msgbuf, &s), &r);
	assert_int_equal(r.proto, IPPROTO_DSTOPTS);
	assert_true(r.flags & NFLOG_REC_TRUNCATED);
	assert_false(r.flags & NFLOG_REC_PORTS);
	assert_addr(&r.src, "fe80::1");
}

/* Capture ends inside the hop-by-hop header. */
static void test_ipv6_cut_in_exthdr(void **state)
{
	uint8_t pkt[44];
	struct msg_spec s = { .family = AF_INET6, .prefix = "ipv6",
	    .payload = pkt, .plen = sizeof(pkt) };
	struct nflog_record r;

	(void)state;
	ipv6_hdr(pkt, IPPROTO_HOPOPTS, "fe80::1", "ff02::1", 100);
	memset(pkt + 40, 0, 4);
	pkt[40] = IPPROTO_UDP;
	parse_ok(msgbuf, build_msg(msgbuf, &s), &r);
	assert_int_equal(r.proto, IPPROTO_HOPOPTS);
	assert_true(r.flags & NFLOG_REC_TRUNCATED);
	assert_int_equal(r.pkt_len, 140);
	assert_int_equal(r.cap_len, 44);
	assert_string_equal(nflog_proto_name(r.proto), "other");
}

static void test_ipv6_header_truncated(void **state)
{
	uint8_t pkt[40];
	struct msg_spec s = { .family = AF_INET6, .prefix = "ipv6",
	    .payload = pkt, .plen = 39 };

	(void)state;
	ipv6_hdr(pkt, IPPROTO_UDP, "fe80::1", "ff02::1", 8);
	parse_err(msgbuf, build_msg(msgbuf, &s), "IPv6 header truncated");
}

static void test_v4_header_shorter_than_ihl(void **state)
{
	uint8_t pkt[28];
	struct msg_spec s = { .family = AF_INET, .prefix = "proto",
	    .payload = pkt, .plen = 22 };

	(void)state;
	ipv4_hdr(pkt, IPPROTO_UDP, "198.19.0.1", "198.18.1.10", 8);
	pkt[0] = 0x46;		/* IHL 24 bytes, 22 captured */
	parse_err(msgbuf, build_msg(msgbuf, &s), "IPv4 header truncated");
	s.plen = 19;
	parse_err(msgbuf, build_msg(msgbuf, &s), "IPv4 header truncated");
	s.plen = sizeof(pkt);
	pkt[0] = 0x44;		/* IHL 16 bytes: impossible */
	parse_err(msgbuf, build_msg(msgbuf, &s), "IHL");
}

static void test_v4_total_length_bad(void **state)
{
	uint8_t pkt[28];
	struct msg_spec s = { .family = AF_INET, .prefix = "proto",
	    .payload = pkt, .plen = sizeof(pkt) };

	(void)state;
	ipv4_hdr(pkt, IPPROTO_UDP, "198.19.0.1", "198.18.1.10", 8);
	pkt[2] = 0;
	pkt[3] = 19;
	parse_err(msgbuf, build_msg(msgbuf, &s), "total length");
}

/* The copy range cut the packet: normal, the record is complete. */
static void test_v4_total_length_exceeds_capture(void **state)
{
	uint8_t pkt[128];
	struct msg_spec s = { .family = AF_INET, .prefix = "proto",
	    .has_mark = 1, .mark = 42, .payload = pkt, .plen = sizeof(pkt) };
	struct nflog_record r;

	(void)state;
	memset(pkt, 'A', sizeof(pkt));
	ipv4_hdr(pkt, IPPROTO_UDP, "198.19.0.1", "198.18.1.10", 1000);
	l4_ports(pkt + 20, 40000, 9999, 8);
	parse_ok(msgbuf, build_msg(msgbuf, &s), &r);
	assert_int_equal(r.pkt_len, 1020);
	assert_int_equal(r.cap_len, 128);
	assert_int_equal(r.dport, 9999);
	assert_true(r.flags & NFLOG_REC_PORTS);
	assert_false(r.flags & NFLOG_REC_TRUNCATED);
}

/* Decision: a cut transport header yields a valid record with ports 0,
 * NFLOG_REC_PORTS clear and NFLOG_REC_TRUNCATED set. */
static void test_v4_tcp_header_cut(void **state)
{
	uint8_t pkt[40];
	struct msg_spec s = { .family = AF_INET, .prefix = "proto",
	    .payload = pkt, .plen = 23 };
	struct nflog_record r;

	(void)state;
	ipv4_hdr(pkt, IPPROTO_TCP, "198.19.0.1", "198.18.1.10", 20);
	l4_ports(pkt + 20, 51000, 443, 20);
	parse_ok(msgbuf, build_msg(msgbuf, &s), &r);
	assert_int_equal(r.proto, IPPROTO_TCP);
	assert_addr(&r.dst, "198.18.1.10");
	assert_int_equal(r.sport, 0);
	assert_int_equal(r.dport, 0);
	assert_false(r.flags & NFLOG_REC_PORTS);
	assert_true(r.flags & NFLOG_REC_TRUNCATED);
	/* Exactly the ports: enough. */
	s.plen = 24;
	parse_ok(msgbuf, build_msg(msgbuf, &s), &r);
	assert_int_equal(r.dport, 443);
	assert_true(r.flags & NFLOG_REC_PORTS);
}

/* Bytes past the IP total length are link padding, never ports. */
static void test_v4_padding_not_l4(void **state)
{
	uint8_t pkt[28];
	struct msg_spec s = { .family = AF_INET, .prefix = "proto",
	    .payload = pkt, .plen = sizeof(pkt) };
	struct nflog_record r;

	(void)state;
	ipv4_hdr(pkt, IPPROTO_UDP, "198.19.0.1", "198.18.1.10", 2);
	l4_ports(pkt + 20, 40000, 9999, 8);
	parse_ok(msgbuf, build_msg(msgbuf, &s), &r);
	assert_false(r.flags & NFLOG_REC_PORTS);
	assert_true(r.flags & NFLOG_REC_TRUNCATED);
}

static void test_v4_fragments(void **state)
{
	uint8_t pkt[28];
	struct msg_spec s = { .family = AF_INET, .prefix = "proto",
	    .payload = pkt, .plen = sizeof(pkt) };
	struct nflog_record r;

	(void)state;
	ipv4_hdr(pkt, IPPROTO_UDP, "198.19.0.1", "198.18.1.10", 8);
	l4_ports(pkt + 20, 40000, 9999, 8);
	pkt[6] = 0x20;		/* MF, offset 0: the first fragment */
	parse_ok(msgbuf, build_msg(msgbuf, &s), &r);
	assert_int_equal(r.dport, 9999);
	assert_false(r.flags & NFLOG_REC_FRAGMENT);
	pkt[6] = 0x00;
	pkt[7] = 0xb9;		/* offset 185 * 8: later fragment */
	parse_ok(msgbuf, build_msg(msgbuf, &s), &r);
	assert_int_equal(r.proto, IPPROTO_UDP);
	assert_true(r.flags & NFLOG_REC_FRAGMENT);
	assert_false(r.flags & NFLOG_REC_PORTS);
	assert_int_equal(r.dport, 0);
	assert_addr(&r.src, "198.19.0.1");
}

/* The kernel omits NFULA_MARK for mark 0 and the prefix when empty. */
static void test_missing_prefix_and_mark(void **state)
{
	uint8_t pkt[28];
	struct msg_spec s = { .family = AF_INET, .payload = pkt,
	    .plen = sizeof(pkt) };
	struct nflog_record r;

	(void)state;
	ipv4_hdr(pkt, IPPROTO_UDP, "198.19.0.1", "198.18.1.10", 8);
	l4_ports(pkt + 20, 1, 2, 8);
	parse_ok(msgbuf, build_msg(msgbuf, &s), &r);
	assert_string_equal(r.prefix, "");
	assert_string_equal(nflog_reason_name(r.prefix), "unknown");
	assert_int_equal(r.mark, 0);
	assert_false(r.flags & (NFLOG_REC_MARK | NFLOG_REC_INDEV));
	assert_int_equal(r.dport, 2);
}

static void test_missing_payload(void **state)
{
	struct msg_spec s = { .family = AF_INET, .prefix = "proto",
	    .has_mark = 1, .mark = 3, .no_payload = 1 };

	(void)state;
	parse_err(msgbuf, build_msg(msgbuf, &s), "no NFULA_PAYLOAD");
	s.no_payload = 0;
	s.plen = 0;
	s.payload = (const uint8_t *)"";
	parse_err(msgbuf, build_msg(msgbuf, &s), "empty payload");
}

static void test_wrong_type(void **state)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)msgbuf;
	size_t len;

	(void)state;
	len = v4_udp_msg(msgbuf, "proto", 9999);
	nlh->nlmsg_type = MSG_CONFIG;
	parse_err(msgbuf, len, "not an NFLOG packet");
	nlh->nlmsg_type = NLMSG_ERROR;
	parse_err(msgbuf, len, "not an NFLOG packet");
	nlh->nlmsg_type = (NFNL_SUBSYS_QUEUE << 8) | NFULNL_MSG_PACKET;
	parse_err(msgbuf, len, "not an NFLOG packet");
	nlh->nlmsg_type = MSG_PACKET;
	((struct nfgenmsg *)(msgbuf + NLMSG_HDRLEN))->version = 1;
	parse_err(msgbuf, len, "version");
}

static void test_zero_and_short(void **state)
{
	struct nflog_record r;
	char err[64];
	size_t len;

	(void)state;
	parse_err(msgbuf, 0, "too short");
	parse_err(NULL, 0, "too short");
	len = v4_udp_msg(msgbuf, "proto", 9999);
	parse_err(msgbuf, NLMSG_HDRLEN + 3, "too short");
	/* Every prefix of a good message is rejected or parsed, never
	 * over-read (ASan watches the exact-size copies). */
	for (size_t i = 0; i < len; i++) {
		uint8_t *copy = malloc(i ? i : 1);

		assert_non_null(copy);
		memcpy(copy, msgbuf, i);
		assert_int_equal(nflog_parse(copy, i, &r, err, sizeof(err)),
		    -1);
		free(copy);
	}
	/* A NULL error buffer is allowed. */
	assert_int_equal(nflog_parse(msgbuf, 3, &r, NULL, 0), -1);
}

static void test_lying_lengths(void **state)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)msgbuf;
	struct nlattr *nla;
	size_t len;

	(void)state;
	/* nlmsg_len beyond the buffer. */
	len = v4_udp_msg(msgbuf, "proto", 9999);
	nlh->nlmsg_len = (uint32_t)len + 4;
	parse_err(msgbuf, len, "nlmsg_len");
	/* nlmsg_len below the headers. */
	nlh->nlmsg_len = NLMSG_HDRLEN;
	parse_err(msgbuf, len, "nlmsg_len");
	/* nlmsg_len cutting the last attribute (the payload). */
	nlh->nlmsg_len = (uint32_t)len - 8;
	parse_err(msgbuf, len, "overruns");
	/* An attribute claiming more than the message holds. */
	len = v4_udp_msg(msgbuf, "proto", 9999);
	nla = (struct nlattr *)(msgbuf + NLMSG_HDRLEN + 4);
	nla->nla_len = 4000;
	parse_err(msgbuf, len, "overruns");
	/* An attribute shorter than its own header. */
	nla->nla_len = 3;
	parse_err(msgbuf, len, "below its header");
	/* A zero-length attribute would loop forever if accepted. */
	nla->nla_len = 0;
	parse_err(msgbuf, len, "below its header");
}

static size_t put_raw_msg(uint8_t *buf, uint16_t attr, const void *data,
    size_t dlen, int with_payload)
{
	uint8_t pkt[28];
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;

	ipv4_hdr(pkt, IPPROTO_UDP, "198.19.0.1", "198.18.1.10", 8);
	l4_ports(pkt + 20, 1, 2, 8);
	memset(buf, 0, BUFSZ);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = MSG_PACKET;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_INET;
	mnl_attr_put(nlh, attr, dlen, data);
	if (with_payload)
		mnl_attr_put(nlh, NFULA_PAYLOAD, sizeof(pkt), pkt);
	return nlh->nlmsg_len;
}

static void test_fixed_attr_sizes(void **state)
{
	uint8_t eight[8] = { 0 };
	struct nflog_record r;

	(void)state;
	parse_err(msgbuf, put_raw_msg(msgbuf, NFULA_MARK, eight, 8, 1),
	    "NFULA_MARK");
	parse_err(msgbuf, put_raw_msg(msgbuf, NFULA_MARK, eight, 2, 1),
	    "NFULA_MARK");
	parse_err(msgbuf, put_raw_msg(msgbuf, NFULA_IFINDEX_INDEV, eight, 0,
	    1), "NFULA_IFINDEX_INDEV");
	parse_err(msgbuf, put_raw_msg(msgbuf, NFULA_SEQ, eight, 5, 1),
	    "NFULA_SEQ");
	/* Unknown attributes of any size are skipped. */
	parse_ok(msgbuf, put_raw_msg(msgbuf, NFULA_HWADDR, eight, 7, 1), &r);
	parse_ok(msgbuf, put_raw_msg(msgbuf, 30, eight, 0, 1), &r);
	assert_int_equal(r.dport, 2);
}

static void test_duplicate_attr(void **state)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)msgbuf;
	size_t len;

	(void)state;
	len = v4_udp_msg(msgbuf, "proto", 9999);
	(void)len;
	mnl_attr_put_u32(nlh, NFULA_MARK, htonl(7));
	parse_err(msgbuf, nlh->nlmsg_len, "repeated");
}

static void test_prefix_sanitized(void **state)
{
	uint8_t raw[100];
	struct nflog_record r;

	(void)state;
	memset(raw, 'x', sizeof(raw));
	raw[0] = 'p';
	raw[1] = 0x1b;		/* ESC */
	raw[2] = 0xc3;		/* not ASCII */
	parse_ok(msgbuf, put_raw_msg(msgbuf, NFULA_PREFIX, raw, sizeof(raw),
	    1), &r);
	assert_int_equal(strlen(r.prefix), NFLOG_PREFIX_MAX - 1);
	assert_memory_equal(r.prefix, "p??xxx", 6);
	/* Unterminated, short. */
	parse_ok(msgbuf, put_raw_msg(msgbuf, NFULA_PREFIX, "spoof", 5, 1), &r);
	assert_string_equal(r.prefix, "spoof");
	assert_string_equal(nflog_reason_name(r.prefix), "spoofed_source");
	/* Bytes after the NUL are not part of it. */
	parse_ok(msgbuf, put_raw_msg(msgbuf, NFULA_PREFIX, "input\0zz", 8, 1),
	    &r);
	assert_string_equal(nflog_reason_name(r.prefix), "host_port");
}

static void test_family_mismatch(void **state)
{
	uint8_t pkt[48];
	struct msg_spec s = { .family = AF_INET, .prefix = "ipv6",
	    .payload = pkt, .plen = sizeof(pkt) };
	struct nflog_record r;

	(void)state;
	ipv6_hdr(pkt, IPPROTO_UDP, "fe80::1", "ff02::1", 8);
	l4_ports(pkt + 40, 1, 2, 8);
	parse_err(msgbuf, build_msg(msgbuf, &s), "IPv6 payload in a family");
	/* No family claim (bridge, netdev, unspec): the payload decides. */
	s.family = AF_UNSPEC;
	parse_ok(msgbuf, build_msg(msgbuf, &s), &r);
	assert_int_equal(r.family, AF_INET6);
	pkt[0] = 0x50;
	parse_err(msgbuf, build_msg(msgbuf, &s), "IP version 5");
}

/* Trailing bytes past nlmsg_len and an unaligned buffer are both fine. */
static void test_unaligned_and_trailing(void **state)
{
	uint8_t *copy;
	struct nflog_record r;
	size_t len;

	(void)state;
	len = v4_udp_msg(msgbuf, "forward", 9999);
	copy = malloc(len + 9);
	assert_non_null(copy);
	memset(copy, 0xff, len + 9);
	memcpy(copy + 1, msgbuf, len);
	parse_ok(copy + 1, len + 8, &r);
	assert_string_equal(nflog_reason_name(r.prefix), "forward");
	assert_int_equal(r.dport, 9999);
	free(copy);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(nflog_reason_name("ipv6"), "ipv6_disabled");
	assert_string_equal(nflog_reason_name("spoof"), "spoofed_source");
	assert_string_equal(nflog_reason_name("proto"), "protocol_not_allowed");
	assert_string_equal(nflog_reason_name("input"), "host_port");
	assert_string_equal(nflog_reason_name("forward"), "forward");
	assert_string_equal(nflog_reason_name("Proto"), "unknown");
	assert_string_equal(nflog_reason_name("proto "), "unknown");
	assert_string_equal(nflog_reason_name(""), "unknown");
	assert_string_equal(nflog_reason_name(NULL), "unknown");
	assert_string_equal(nflog_proto_name(IPPROTO_TCP), "tcp");
	assert_string_equal(nflog_proto_name(IPPROTO_UDP), "udp");
	assert_string_equal(nflog_proto_name(IPPROTO_ICMP), "icmp");
	assert_string_equal(nflog_proto_name(IPPROTO_ICMPV6), "icmpv6");
	assert_string_equal(nflog_proto_name(IPPROTO_SCTP), "other");
	assert_string_equal(nflog_proto_name(0), "other");
}

/* ---- config builders, parsed back with libmnl ---------------------- */

struct cfg_attrs {
	const struct nlattr *tb[NFULA_CFG_MAX + 1];
	int unknown;
};

static int cfg_attr_cb(const struct nlattr *a, void *data)
{
	struct cfg_attrs *c = data;
	uint16_t type = mnl_attr_get_type(a);

	if (type > NFULA_CFG_MAX || c->tb[type] != NULL) {
		c->unknown++;
		return MNL_CB_OK;
	}
	c->tb[type] = a;
	return MNL_CB_OK;
}

static const struct nfgenmsg *cfg_check(const uint8_t *buf, int len,
    uint32_t seq, struct cfg_attrs *c)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;

	assert_true(len > 0);
	assert_int_equal(nlh->nlmsg_len, len);
	assert_int_equal(nlh->nlmsg_type, MSG_CONFIG);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
	assert_int_equal(nlh->nlmsg_seq, seq);
	memset(c, 0, sizeof(*c));
	assert_int_equal(mnl_attr_parse(nlh, sizeof(struct nfgenmsg),
	    cfg_attr_cb, c), MNL_CB_OK);
	assert_int_equal(c->unknown, 0);
	return mnl_nlmsg_get_payload(nlh);
}

static uint8_t cfg_cmd(const struct nlattr *a)
{
	assert_non_null(a);
	assert_int_equal(mnl_attr_get_payload_len(a),
	    sizeof(struct nfulnl_msg_config_cmd));
	return ((const struct nfulnl_msg_config_cmd *)
	    mnl_attr_get_payload(a))->command;
}

static void test_build_pf(void **state)
{
	uint8_t buf[NFLOG_CFG_BUFSIZE] __attribute__((aligned(8)));
	static const uint8_t fams[] = { AF_INET, AF_INET6 };
	static const uint8_t cmds[] = { NFULNL_CFG_CMD_PF_UNBIND,
	    NFULNL_CFG_CMD_PF_BIND };
	const struct nfgenmsg *nfg;
	struct cfg_attrs c;
	size_t f, i;
	int len;

	(void)state;
	for (f = 0; f < sizeof(fams); f++) {
		for (i = 0; i < sizeof(cmds); i++) {
			len = nflog_build_pf(buf, sizeof(buf), 10 + (uint32_t)i,
			    cmds[i], fams[f]);
			nfg = cfg_check(buf, len, 10 + (uint32_t)i, &c);
			assert_int_equal(nfg->nfgen_family, fams[f]);
			assert_int_equal(nfg->version, NFNETLINK_V0);
			assert_int_equal(nfg->res_id, 0);
			assert_int_equal(cfg_cmd(c.tb[NFULA_CFG_CMD]), cmds[i]);
			assert_null(c.tb[NFULA_CFG_MODE]);
		}
	}
}

static void test_build_bind(void **state)
{
	uint8_t buf[NFLOG_CFG_BUFSIZE] __attribute__((aligned(8)));
	const struct nfulnl_msg_config_mode *m;
	const struct nfgenmsg *nfg;
	struct cfg_attrs c;
	int len;

	(void)state;
	len = nflog_build_bind(buf, sizeof(buf), 77, 7, NFLOG_COPY_RANGE);
	nfg = cfg_check(buf, len, 77, &c);
	assert_int_equal(nfg->nfgen_family, AF_UNSPEC);
	assert_int_equal(ntohs(nfg->res_id), 7);
	assert_int_equal(cfg_cmd(c.tb[NFULA_CFG_CMD]), NFULNL_CFG_CMD_BIND);
	assert_non_null(c.tb[NFULA_CFG_MODE]);
	assert_int_equal(mnl_attr_get_payload_len(c.tb[NFULA_CFG_MODE]),
	    sizeof(*m));
	m = mnl_attr_get_payload(c.tb[NFULA_CFG_MODE]);
	assert_int_equal(m->copy_mode, NFULNL_COPY_PACKET);
	assert_int_equal(ntohl(m->copy_range), 128);
	assert_non_null(c.tb[NFULA_CFG_QTHRESH]);
	assert_int_equal(ntohl(mnl_attr_get_u32(c.tb[NFULA_CFG_QTHRESH])), 1);
	assert_non_null(c.tb[NFULA_CFG_FLAGS]);
	assert_int_equal(ntohs(mnl_attr_get_u16(c.tb[NFULA_CFG_FLAGS])),
	    NFULNL_CFG_F_SEQ);
	assert_null(c.tb[NFULA_CFG_TIMEOUT]);

	len = nflog_build_unbind(buf, sizeof(buf), 78, 65535);
	nfg = cfg_check(buf, len, 78, &c);
	assert_int_equal(ntohs(nfg->res_id), 65535);
	assert_int_equal(cfg_cmd(c.tb[NFULA_CFG_CMD]), NFULNL_CFG_CMD_UNBIND);
	assert_null(c.tb[NFULA_CFG_MODE]);
}

static void test_build_small_buffer(void **state)
{
	uint8_t buf[NFLOG_CFG_BUFSIZE] __attribute__((aligned(8)));

	(void)state;
	errno = 0;
	assert_int_equal(nflog_build_bind(buf, NFLOG_CFG_BUFSIZE - 1, 1, 7,
	    128), -1);
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(nflog_build_pf(buf, 16, 1, NFULNL_CFG_CMD_PF_BIND,
	    AF_INET), -1);
	assert_int_equal(nflog_build_unbind(NULL, 4096, 1, 7), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_v4),
		cmocka_unit_test(test_udp_v4),
		cmocka_unit_test(test_icmp_echo),
		cmocka_unit_test(test_ipv6_udp),
		cmocka_unit_test(test_ipv6_icmpv6),
		cmocka_unit_test(test_ipv6_hbh_udp),
		cmocka_unit_test(test_ipv6_ext_chain),
		cmocka_unit_test(test_ipv6_nonfirst_fragment),
		cmocka_unit_test(test_ipv6_too_many_exthdrs),
		cmocka_unit_test(test_ipv6_cut_in_exthdr),
		cmocka_unit_test(test_ipv6_header_truncated),
		cmocka_unit_test(test_v4_header_shorter_than_ihl),
		cmocka_unit_test(test_v4_total_length_bad),
		cmocka_unit_test(test_v4_total_length_exceeds_capture),
		cmocka_unit_test(test_v4_tcp_header_cut),
		cmocka_unit_test(test_v4_padding_not_l4),
		cmocka_unit_test(test_v4_fragments),
		cmocka_unit_test(test_missing_prefix_and_mark),
		cmocka_unit_test(test_missing_payload),
		cmocka_unit_test(test_wrong_type),
		cmocka_unit_test(test_zero_and_short),
		cmocka_unit_test(test_lying_lengths),
		cmocka_unit_test(test_fixed_attr_sizes),
		cmocka_unit_test(test_duplicate_attr),
		cmocka_unit_test(test_prefix_sanitized),
		cmocka_unit_test(test_family_mismatch),
		cmocka_unit_test(test_unaligned_and_trailing),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_build_pf),
		cmocka_unit_test(test_build_bind),
		cmocka_unit_test(test_build_small_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
