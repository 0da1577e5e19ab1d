/*
 * NFLOG reader: the nft drop rules log to an NFLOG group; this module turns
 * each logged packet into a structured record for egress_denied events.
 *
 * Three layers, so the first two can be tested without a kernel:
 *  - nflog_parse(): one NFULNL_MSG_PACKET message -> struct nflog_record.
 *    Pure, bounds-checked, hostile input never makes it read past len.
 *  - nflog_build_*(): the NFULNL_MSG_CONFIG requests nflog_open() sends.
 *  - nflog_open/fd/read/close: the NETLINK_NETFILTER socket (libmnl).
 *
 * Truncation policy (nflog_parse): a record needs the IP header, so a
 * payload without a complete, consistent IPv4/IPv6 header is an error. A
 * packet longer than what was captured is normal (the copy range cuts it):
 * the record is valid, and when the transport header itself is cut (or the
 * packet is a non-first fragment) the ports and ICMP type are 0 and the
 * matching NFLOG_REC_* flag says why. Never trust sport/dport/icmp_type
 * without NFLOG_REC_PORTS / NFLOG_REC_ICMP.
 */
#ifndef ENCLAVE_RULES_NFLOG_H
#define ENCLAVE_RULES_NFLOG_H

#include <stddef.h>
#include <stdint.h>

#include "common/ip.h"

/* Bytes of each packet the kernel copies to us: enough for the IP header
 * (plus a few IPv6 extension headers) and the transport ports, as little
 * of the application payload (which may hold secrets) as possible. */
#define NFLOG_COPY_RANGE	128
/* Longest prefix kept (with its NUL); nft allows 127, ours are short. */
#define NFLOG_PREFIX_MAX	64
/* IPv6 extension headers walked before giving up on finding L4. */
#define NFLOG_MAX_EXTHDRS	8
/* Enough for any message nflog_build_*() produces. */
#define NFLOG_CFG_BUFSIZE	128

/* nflog_record.flags */
#define NFLOG_REC_MARK		0x0001	/* NFULA_MARK was present (the kernel
					 * omits it when the mark is 0) */
#define NFLOG_REC_INDEV		0x0002	/* NFULA_IFINDEX_INDEV was present */
#define NFLOG_REC_SEQ		0x0004	/* NFULA_SEQ was present */
#define NFLOG_REC_PORTS		0x0008	/* sport/dport are valid */
#define NFLOG_REC_ICMP		0x0010	/* icmp_type is valid */
#define NFLOG_REC_FRAGMENT	0x0020	/* non-first fragment: no L4 header */
#define NFLOG_REC_TRUNCATED	0x0040	/* capture ended before the L4 header
					 * (or inside IPv6 extension headers) */

struct nflog_record {
	uint32_t mark;			/* session number; 0 when absent */
	char prefix[NFLOG_PREFIX_MAX];	/* NUL-terminated, printable ASCII
					 * only (others become '?'); "" when
					 * absent */
	uint32_t indev;			/* input ifindex; 0 when absent */
	uint8_t family;			/* AF_INET or AF_INET6 */
	uint8_t proto;			/* IPPROTO_*: the upper-layer protocol,
					 * after IPv6 extension headers */
	struct ip_addr src, dst;
	uint16_t sport, dport;		/* host order; see NFLOG_REC_PORTS */
	uint8_t icmp_type;		/* ICMP/ICMPv6; see NFLOG_REC_ICMP */
	uint16_t flags;			/* NFLOG_REC_* */
	uint16_t group;			/* NFLOG group (nfgenmsg res_id) */
	uint32_t seq;			/* instance sequence number, if
					 * NFLOG_REC_SEQ */
	uint32_t cap_len;		/* payload bytes the kernel copied */
	uint32_t pkt_len;		/* packet length the IP header claims */
};

/* Counters nflog_read() keeps; lost records are counted, never fatal. */
struct nflog_stats {
	uint64_t records;	/* delivered to the callback */
	uint64_t lost;		/* known lost: sequence gaps, or one per
				 * overrun/truncated datagram when the gap is
				 * unknown */
	uint64_t overruns;	/* ENOBUFS: the socket buffer overflowed */
	uint64_t bad;		/* messages nflog_parse() rejected */
};

/*
 * Parse one netlink message (nlmsghdr of type NFNL_SUBSYS_ULOG << 8 |
 * NFULNL_MSG_PACKET) of len bytes; buf needs no alignment. Returns 0 and
 * fills rec, or -1 with the reason in err. Never reads past len (nor past
 * nlmsg_len when that is shorter).
 */
int nflog_parse(const void *buf, size_t len, struct nflog_record *rec,
    char *err, size_t errlen);

/* Stable audit reason for a drop rule's prefix: "ipv6" -> "ipv6_disabled",
 * "spoof" -> "spoofed_source", "proto" -> "protocol_not_allowed",
 * "input" -> "host_port", "forward" -> "forward", else "unknown". */
const char *nflog_reason_name(const char *prefix);

/* "tcp", "udp", "icmp", "icmpv6" or "other". */
const char *nflog_proto_name(uint8_t proto);

/*
 * Config request builders. buf must be aligned for struct nlmsghdr and
 * buflen at least NFLOG_CFG_BUFSIZE. They return the message length, or -1
 * (errno ENOSPC) when buflen is too small. Every request asks for an ACK.
 */
/* NFULNL_CFG_CMD_PF_UNBIND / PF_BIND for family (AF_INET, AF_INET6).
 * Kernels since 3.17 ignore these; older ones need them. */
int nflog_build_pf(void *buf, size_t buflen, uint32_t seq, uint8_t cmd,
    uint8_t family);
/* NFULNL_CFG_CMD_BIND for group together with its mode (COPY_PACKET,
 * copy_range bytes), a queue threshold of 1 (deliver each record at once)
 * and NFULNL_CFG_F_SEQ (so lost records show up as sequence gaps). One
 * message: the instance never runs with the kernel's default full-packet
 * copy except for the instant between its creation and the mode in the
 * same request. */
int nflog_build_bind(void *buf, size_t buflen, uint32_t seq, uint16_t group,
    uint32_t copy_range);
/* NFULNL_CFG_CMD_UNBIND for group. */
int nflog_build_unbind(void *buf, size_t buflen, uint32_t seq,
    uint16_t group);

struct nflog;

/*
 * Bind NFLOG group in the current network namespace (the caller setns()es
 * first: groups are per namespace). The socket is non-blocking. NULL with
 * the failing step in err ("group already bound by another socket" when
 * another reader holds the group).
 */
struct nflog *nflog_open(uint16_t group, char *err, size_t errlen);

/* For an event loop: readable means nflog_read() has work. */
int nflog_fd(const struct nflog *nl);

/*
 * Drain what is available (at most a bounded number of datagrams per call,
 * so a flood cannot starve the caller's loop), calling cb for each record.
 * cb returns 0 to go on; non-zero stops at once (the rest of that datagram
 * is discarded). Returns the number of records delivered, or -1 with errno
 * on a socket error. Overruns, sequence gaps and unparsable messages only
 * bump the counters.
 */
int nflog_read(struct nflog *nl,
    int (*cb)(const struct nflog_record *rec, void *arg), void *arg);

void nflog_stats(const struct nflog *nl, struct nflog_stats *out);

/* The one teardown: closing the socket makes the kernel drop the group. */
void nflog_close(struct nflog *nl);

#endif /* ENCLAVE_RULES_NFLOG_H */
