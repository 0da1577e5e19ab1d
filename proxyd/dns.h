/*
 * DNS messages on the wire, as the proxy answers them for sandboxes.
 *
 * Every query a sandbox sends (UDP and TCP port 53, redirected by nft) is
 * answered by enclave-proxyd itself: this module reads the query and writes
 * the response; deciding and resolving happen elsewhere. Pure functions: no
 * allocation, no logging, no global state; input is never read past len.
 * A DNS message is delimited by its datagram or TCP frame, so the query
 * parser never says "need more": only the TCP framing helper does.
 */
#ifndef ENCLAVE_PROXYD_DNS_H
#define ENCLAVE_PROXYD_DNS_H

#include <stddef.h>
#include <stdint.h>

#include "common/ip.h"

#define DNS_HEADER_LEN		12
#define DNS_MSG_MAX		65535	/* TCP frame limit, and any message */
#define DNS_UDP_MIN		512	/* a UDP client without EDNS */
#define DNS_EDNS_UDP_SIZE	1232	/* what we advertise, and the most a
					   UDP answer of ours ever uses */
#define DNS_NAME_MAX		253	/* text form, no trailing dot */
#define DNS_LABEL_MAX		63
#define DNS_WIRE_NAME_MAX	255	/* uncompressed wire form */
#define DNS_NAME_FORMAT_MAX	(4 * DNS_WIRE_NAME_MAX + 1) /* dns_name_format() */
#define DNS_TYPE_NAME_MAX	10	/* "TYPE65535" + NUL */

#define DNS_RCODE_NOERROR	0
#define DNS_RCODE_FORMERR	1
#define DNS_RCODE_SERVFAIL	2
#define DNS_RCODE_NXDOMAIN	3
#define DNS_RCODE_NOTIMP	4
#define DNS_RCODE_REFUSED	5
#define DNS_RCODE_BADVERS	16	/* extended: needs an OPT record */

#define DNS_TYPE_A		1
#define DNS_TYPE_NS		2
#define DNS_TYPE_CNAME		5
#define DNS_TYPE_SOA		6
#define DNS_TYPE_PTR		12
#define DNS_TYPE_MX		15
#define DNS_TYPE_TXT		16
#define DNS_TYPE_AAAA		28
#define DNS_TYPE_SRV		33
#define DNS_TYPE_OPT		41
#define DNS_TYPE_SVCB		64
#define DNS_TYPE_HTTPS		65
#define DNS_TYPE_ANY		255

#define DNS_CLASS_IN		1

/*
 * What to do with a datagram or TCP frame; dns_result_rcode() gives the
 * rcode to answer with.
 */
enum dns_result {
	DNS_OK = 0,	/* one well-formed question: decide and answer it */
	DNS_FORMERR,	/* malformed: answer FORMERR if q->have_header,
			   else drop it (UDP) or close (TCP) */
	DNS_NOTIMP,	/* opcode other than QUERY: answer NOTIMP */
	DNS_REFUSED,	/* well-formed, but QDCOUNT > 1: answer REFUSED
			   (no question is echoed) */
	DNS_BADVERS,	/* EDNS version > 0: answer BADVERS (with an OPT) */
	DNS_DROP,	/* QR=1, a response: never answer one (no loops, no
			   reflection) */
};

/*
 * A parsed query. Everything is a copy: nothing points into the caller's
 * buffer, so the query outlives it while the name is being resolved.
 */
struct dns_query {
	int		have_header;	/* the 12-byte header was read: id and
					   flags are valid, errors can be sent */
	uint16_t	id;
	uint8_t		opcode;		/* 0..15 */
	int		rd;		/* recursion desired: echoed */
	int		cd;		/* checking disabled: echoed */
	uint16_t	qdcount, ancount, nscount, arcount;

	int		have_question;	/* exactly one question was read: the
					   fields below are valid and every
					   response echoes it */
	uint8_t		qname_wire[DNS_WIRE_NAME_MAX]; /* as sent, case kept
					   (clients check 0x20 randomisation) */
	size_t		qname_wire_len;	/* 1..DNS_WIRE_NAME_MAX */
	char		name[DNS_NAME_MAX + 1]; /* labels joined by '.', ASCII
					   lower-cased, NUL-terminated; "" for
					   the root. Raw bytes otherwise: when
					   !name_valid it may hold '.', NUL or
					   any byte (log dns_name_format()) */
	size_t		name_len;	/* 0..DNS_NAME_MAX */
	int		name_valid;	/* not the root, every byte in
					   [a-z0-9-]: hand name to
					   hostname_canon() (which still checks
					   hyphens and IP literals); 0: deny */
	uint16_t	qtype;
	uint16_t	qclass;		/* only DNS_CLASS_IN is answerable */

	int		has_edns;	/* an OPT record was read */
	uint16_t	edns_udp_size;	/* as sent (see dns_query_udp_max()) */
	uint8_t		edns_version;
	int		edns_do;	/* DNSSEC OK: echoed */
};

/* An address to answer with; A for AF_INET, AAAA for AF_INET6. */
struct dns_rr {
	struct ip_addr	addr;
	uint32_t	ttl;
};

/*
 * Read the query in buf[0..len), one UDP payload or one TCP frame without
 * its length prefix. q is always reset first. Rules: QR=0; opcode QUERY
 * (else NOTIMP); QDCOUNT 1 (0 is FORMERR, more is REFUSED once all are
 * read); ANCOUNT and NSCOUNT 0; ARCOUNT 0 or 1, and that record an OPT with
 * the root name; no compression pointer or extended label in a question;
 * labels of 1..63 bytes, the name at most 253 bytes as text; no byte after
 * the message. Returns DNS_OK, or another result with *why (if why) set to
 * a static reason (NULL on DNS_OK).
 */
enum dns_result dns_parse_query(const uint8_t *buf, size_t len,
    struct dns_query *q, const char **why);

/* The rcode a result is answered with; -1 for DNS_DROP (and DNS_OK). */
int dns_result_rcode(enum dns_result r);

/*
 * The largest UDP response the client takes: 512 without EDNS, else its
 * EDNS size clamped to 512..DNS_EDNS_UDP_SIZE (no fragmented answers).
 */
size_t dns_query_udp_max(const struct dns_query *q);

/*
 * Responses are written into out[0..cap): pass cap = min(buffer,
 * dns_query_udp_max(q)) for UDP, the buffer (at most DNS_MSG_MAX) for TCP,
 * and add the TCP length prefix with dns_tcp_frame_put(). Each response
 * echoes the id, opcode, RD and CD, sets QR and RA, carries the question
 * iff q->have_question, and an OPT record (our size DNS_EDNS_UDP_SIZE, DO
 * echoed) iff the query had one. Return 0 with *outlen set, or -1 with
 * errno EINVAL (nothing to answer, wrong record) or ENOSPC (even the
 * records-free response does not fit in cap).
 */

/* An error (or empty NOERROR) response; rcode > 15 needs q->has_edns. */
int dns_build_error(const struct dns_query *q, int rcode, uint8_t *out,
    size_t cap, size_t *outlen);

/*
 * NOERROR with rrs[0..n) as answers, named by a pointer to the question
 * (0xC00C), TTLs capped at ttl_cap; n == 0 is NODATA. Records must match
 * the question (A: AF_INET, AAAA: AF_INET6, class IN). Records that do not
 * fit in cap are left out and TC is set; the message stays valid.
 */
int dns_build_answer(const struct dns_query *q, const struct dns_rr *rrs,
    size_t n, uint32_t ttl_cap, uint8_t *out, size_t cap, size_t *outlen);

/* dns_tcp_frame_len() results. */
enum dns_frame {
	DNS_FRAME_NEED_MORE = 0, /* read more (*msglen set once 2 bytes are in) */
	DNS_FRAME_OK,		/* buf[2..2 + *msglen) is one message */
	DNS_FRAME_BAD,		/* a zero length: close the connection */
};

/* The message at the start of a TCP stream (2-byte big-endian length). */
enum dns_frame dns_tcp_frame_len(const uint8_t *buf, size_t len,
    size_t *msglen);

/* Write the 2-byte length prefix for a message of msglen (<= DNS_MSG_MAX). */
void dns_tcp_frame_put(uint8_t out[2], size_t msglen);

/*
 * The question name in presentation form for logs and events: printable
 * ASCII as is ('.' and '\\' inside a label escaped), other bytes as \DDD,
 * "." for the root. Returns the length written, or -1 if it does not fit
 * (DNS_NAME_FORMAT_MAX always does) or there is no question.
 */
int dns_name_format(const struct dns_query *q, char *buf, size_t size);

/* "A", "AAAA", ... or "TYPE<n>" written into buf; never NULL. */
const char *dns_qtype_name(uint16_t type, char buf[DNS_TYPE_NAME_MAX]);

/* "NOERROR", "FORMERR", ... "BADVERS"; "unknown" otherwise. */
const char *dns_rcode_name(int rcode);

/* "ok", "formerr", "notimp", "refused", "badvers", "drop" */
const char *dns_result_name(enum dns_result r);

#endif /* ENCLAVE_PROXYD_DNS_H */
