#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "proxyd/dns.h"

#define DNS_FLAG_QR	0x8000
#define DNS_FLAG_TC	0x0200
#define DNS_FLAG_RD	0x0100
#define DNS_FLAG_RA	0x0080
#define DNS_FLAG_CD	0x0010
#define DNS_EDNS_DO	0x8000	/* in the OPT TTL's low 16 bits */
#define DNS_OPT_RR_LEN	11	/* root name, type, class, TTL, rdlength 0 */
#define DNS_PTR_QNAME	0xc00c	/* the question name, right after the header */

static uint16_t
dns_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void
dns_put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
dns_put32(uint8_t *p, uint32_t v)
{
	dns_put16(p, v >> 16);
	dns_put16(p + 2, v & 0xffff);
}

static enum dns_result
dns_fail(const char **why, enum dns_result r, const char *msg)
{
	if (why != NULL)
		*why = msg;
	return r;
}

static int
dns_is_ldh(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-';
}

static uint8_t
dns_lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c - 'A' + 'a') : c;
}

/*
 * Reads an uncompressed question name at buf[*off..len). A query names its
 * question once, so a pointer there is never needed and only hides bytes.
 * When fill is set the name is copied into q; later questions are only
 * checked. Returns NULL, or the reason it is malformed.
 */
static const char *
dns_read_qname(const uint8_t *buf, size_t len, size_t *off,
    struct dns_query *q, int fill)
{
	size_t at = *off, start = *off, text = 0, labels = 0;
	int valid = 1;
	uint8_t n;

	for (;;) {
		if (at >= len)
			return "name runs past the message";
		n = buf[at];
		if ((n & 0xc0) == 0xc0)
			return "compression pointer in the question";
		if (n & 0xc0)
			return "label longer than 63";
		if (n == 0)
			break;
		if (len - at - 1 < n)
			return "label runs past the message";
		if (text + (labels > 0) + n > DNS_NAME_MAX)
			return "name longer than 253";
		if (fill && labels > 0)
			q->name[text] = '.';
		text += labels > 0;
		for (size_t i = 0; i < n; i++) {
			uint8_t c = buf[at + 1 + i];

			if (!dns_is_ldh(c))
				valid = 0;
			if (fill)
				q->name[text + i] = (char)dns_lower(c);
		}
		text += n;
		labels++;
		at += 1 + (size_t)n;
	}
	at++;
	if (fill) {
		q->name[text] = '\0';
		q->name_len = text;
		q->name_valid = valid && labels > 0;
		q->qname_wire_len = at - start;
		memcpy(q->qname_wire, buf + start, at - start);
	}
	*off = at;
	return NULL;
}

/* RFC 6891: the OPT record's TTL carries extended rcode, version and DO;
 * its options must tile the rdata exactly. */
static const char *
dns_read_opt(const uint8_t *buf, size_t len, size_t *off, struct dns_query *q)
{
	size_t at = *off, rdlen, end;

	if (at >= len)
		return "additional record runs past the message";
	if (buf[at] != 0)
		return "additional record is not an OPT with the root name";
	at++;
	if (len - at < 10)
		return "additional record runs past the message";
	if (dns_get16(buf + at) != DNS_TYPE_OPT)
		return "additional record is not an OPT";
	q->edns_udp_size = dns_get16(buf + at + 2);
	q->edns_version = buf[at + 5];
	q->edns_do = (dns_get16(buf + at + 6) & DNS_EDNS_DO) != 0;
	rdlen = dns_get16(buf + at + 8);
	at += 10;
	if (len - at < rdlen)
		return "OPT data runs past the message";
	end = at + rdlen;
	while (at < end) {
		if (end - at < 4)
			return "truncated EDNS option";
		if (end - at - 4 < dns_get16(buf + at + 2))
			return "EDNS option runs past the OPT data";
		at += 4 + (size_t)dns_get16(buf + at + 2);
	}
	q->has_edns = 1;
	*off = at;
	return NULL;
}

enum dns_result
dns_parse_query(const uint8_t *buf, size_t len, struct dns_query *q,
    const char **why)
{
	size_t off = DNS_HEADER_LEN;
	uint16_t flags, i;
	const char *err;

	memset(q, 0, sizeof(*q));
	if (why != NULL)
		*why = NULL;
	if (len < DNS_HEADER_LEN)
		return dns_fail(why, DNS_FORMERR, "shorter than a DNS header");
	if (len > DNS_MSG_MAX)
		return dns_fail(why, DNS_FORMERR, "longer than 65535");

	q->have_header = 1;
	q->id = dns_get16(buf);
	flags = dns_get16(buf + 2);
	q->opcode = (flags >> 11) & 0xf;
	q->rd = (flags & DNS_FLAG_RD) != 0;
	q->cd = (flags & DNS_FLAG_CD) != 0;
	q->qdcount = dns_get16(buf + 4);
	q->ancount = dns_get16(buf + 6);
	q->nscount = dns_get16(buf + 8);
	q->arcount = dns_get16(buf + 10);

	if (flags & DNS_FLAG_QR)
		return dns_fail(why, DNS_DROP, "a response, not a query");
	if (q->opcode != 0)
		return dns_fail(why, DNS_NOTIMP, "opcode is not QUERY");
	if (q->qdcount == 0)
		return dns_fail(why, DNS_FORMERR, "no question");
	if (q->ancount != 0 || q->nscount != 0)
		return dns_fail(why, DNS_FORMERR,
		    "answer or authority records in a query");
	if (q->arcount > 1)
		return dns_fail(why, DNS_FORMERR,
		    "more than one additional record");

	/* Only a lone question is kept: with more, none is answered. */
	for (i = 0; i < q->qdcount; i++) {
		if ((err = dns_read_qname(buf, len, &off, q,
		    q->qdcount == 1)) != NULL)
			goto formerr;
		if (len - off < 4) {
			err = "question runs past the message";
			goto formerr;
		}
		if (q->qdcount == 1) {
			q->qtype = dns_get16(buf + off);
			q->qclass = dns_get16(buf + off + 2);
			q->have_question = 1;
		}
		off += 4;
	}
	if (q->arcount == 1 && (err = dns_read_opt(buf, len, &off, q)) != NULL)
		goto formerr;
	if (off != len) {
		err = "bytes after the message";
		goto formerr;
	}
	if (q->qdcount > 1)
		return dns_fail(why, DNS_REFUSED, "more than one question");
	if (q->has_edns && q->edns_version != 0)
		return dns_fail(why, DNS_BADVERS, "EDNS version is not 0");
	return DNS_OK;

formerr:
	if (!q->have_question) {
		q->name[0] = '\0';
		q->name_len = 0;
		q->name_valid = 0;
		q->qname_wire_len = 0;
	}
	q->has_edns = 0;
	return dns_fail(why, DNS_FORMERR, err);
}

int
dns_result_rcode(enum dns_result r)
{
	switch (r) {
	case DNS_FORMERR:
		return DNS_RCODE_FORMERR;
	case DNS_NOTIMP:
		return DNS_RCODE_NOTIMP;
	case DNS_REFUSED:
		return DNS_RCODE_REFUSED;
	case DNS_BADVERS:
		return DNS_RCODE_BADVERS;
	case DNS_OK:
	case DNS_DROP:
		break;
	}
	return -1;
}

size_t
dns_query_udp_max(const struct dns_query *q)
{
	if (!q->has_edns || q->edns_udp_size <= DNS_UDP_MIN)
		return DNS_UDP_MIN;
	if (q->edns_udp_size >= DNS_EDNS_UDP_SIZE)
		return DNS_EDNS_UDP_SIZE;
	return q->edns_udp_size;
}

/* Header, question and OPT: the part of every response that is not an
 * answer. Returns its length without the OPT (answers go there), or 0 if
 * header, question and OPT together do not fit in cap. */
static size_t
dns_put_head(const struct dns_query *q, int rcode, uint8_t *out, size_t cap)
{
	size_t need = DNS_HEADER_LEN;
	unsigned flags;

	if (q->have_question)
		need += q->qname_wire_len + 4;
	if (q->has_edns)
		need += DNS_OPT_RR_LEN;
	if (cap < need)
		return 0;
	flags = DNS_FLAG_QR | DNS_FLAG_RA | (unsigned)q->opcode << 11 |
	    (unsigned)(rcode & 0xf);
	if (q->rd)
		flags |= DNS_FLAG_RD;
	if (q->cd)
		flags |= DNS_FLAG_CD;
	dns_put16(out, q->id);
	dns_put16(out + 2, flags);
	dns_put16(out + 4, q->have_question ? 1 : 0);
	dns_put16(out + 6, 0);
	dns_put16(out + 8, 0);
	dns_put16(out + 10, q->has_edns ? 1 : 0);
	need = DNS_HEADER_LEN;
	if (q->have_question) {
		memcpy(out + need, q->qname_wire, q->qname_wire_len);
		need += q->qname_wire_len;
		dns_put16(out + need, q->qtype);
		dns_put16(out + need + 2, q->qclass);
		need += 4;
	}
	return need;
}

/* Our OPT: our UDP size, version 0, the query's DO bit echoed (RFC 3225)
 * and the upper bits of an extended rcode. */
static void
dns_put_opt(const struct dns_query *q, int rcode, uint8_t *p)
{
	p[0] = 0;
	dns_put16(p + 1, DNS_TYPE_OPT);
	dns_put16(p + 3, DNS_EDNS_UDP_SIZE);
	p[5] = (uint8_t)(rcode >> 4);
	p[6] = 0;
	dns_put16(p + 7, q->edns_do ? DNS_EDNS_DO : 0);
	dns_put16(p + 9, 0);
}

static int
dns_fail_errno(int e)
{
	errno = e;
	return -1;
}

int
dns_build_error(const struct dns_query *q, int rcode, uint8_t *out,
    size_t cap, size_t *outlen)
{
	size_t len;

	if (!q->have_header || rcode < 0 || rcode > 0xfff ||
	    (rcode > 0xf && !q->has_edns))
		return dns_fail_errno(EINVAL);
	if ((len = dns_put_head(q, rcode, out, cap)) == 0)
		return dns_fail_errno(ENOSPC);
	if (q->has_edns) {
		dns_put_opt(q, rcode, out + len);
		len += DNS_OPT_RR_LEN;
	}
	*outlen = len;
	return 0;
}

int
dns_build_answer(const struct dns_query *q, const struct dns_rr *rrs,
    size_t n, uint32_t ttl_cap, uint8_t *out, size_t cap, size_t *outlen)
{
	size_t len, room, i, rdlen, fit = 0;
	int family;

	if (!q->have_header || !q->have_question)
		return dns_fail_errno(EINVAL);
	if (n > 0) {
		if (q->qclass != DNS_CLASS_IN)
			return dns_fail_errno(EINVAL);
		if (q->qtype == DNS_TYPE_A)
			family = AF_INET;
		else if (q->qtype == DNS_TYPE_AAAA)
			family = AF_INET6;
		else
			return dns_fail_errno(EINVAL);
		for (i = 0; i < n; i++)
			if (rrs[i].addr.family != family)
				return dns_fail_errno(EINVAL);
	}
	if ((len = dns_put_head(q, DNS_RCODE_NOERROR, out, cap)) == 0)
		return dns_fail_errno(ENOSPC);
	if (cap > DNS_MSG_MAX)
		cap = DNS_MSG_MAX;
	room = cap - len - (q->has_edns ? DNS_OPT_RR_LEN : 0);
	for (i = 0; i < n; i++) {
		rdlen = rrs[i].addr.family == AF_INET ? 4 : 16;
		if (room < 12 + rdlen)
			break;
		dns_put16(out + len, DNS_PTR_QNAME);
		dns_put16(out + len + 2, q->qtype);
		dns_put16(out + len + 4, DNS_CLASS_IN);
		dns_put32(out + len + 6, rrs[i].ttl < ttl_cap ?
		    rrs[i].ttl : ttl_cap);
		dns_put16(out + len + 10, (unsigned)rdlen);
		memcpy(out + len + 12, rrs[i].addr.a, rdlen);
		len += 12 + rdlen;
		room -= 12 + rdlen;
		fit++;
	}
	dns_put16(out + 6, (unsigned)fit);
	if (fit < n)
		dns_put16(out + 2, dns_get16(out + 2) | DNS_FLAG_TC);
	if (q->has_edns) {
		dns_put_opt(q, DNS_RCODE_NOERROR, out + len);
		len += DNS_OPT_RR_LEN;
	}
	*outlen = len;
	return 0;
}

enum dns_frame
dns_tcp_frame_len(const uint8_t *buf, size_t len, size_t *msglen)
{
	if (len < 2)
		return DNS_FRAME_NEED_MORE;
	*msglen = dns_get16(buf);
	if (*msglen == 0)
		return DNS_FRAME_BAD;
	return len - 2 < *msglen ? DNS_FRAME_NEED_MORE : DNS_FRAME_OK;
}

void
dns_tcp_frame_put(uint8_t out[2], size_t msglen)
{
	dns_put16(out, (unsigned)msglen);
}

int
dns_name_format(const struct dns_query *q, char *buf, size_t size)
{
	size_t at = 0, o = 0, i;
	uint8_t n, c;

	if (!q->have_question || size == 0)
		return -1;
	if (q->qname_wire_len == 1) {
		if (size < 2)
			return -1;
		memcpy(buf, ".", 2);
		return 1;
	}
	while (at < q->qname_wire_len && (n = q->qname_wire[at]) != 0) {
		if (at > 0) {
			if (size - o < 2)
				return -1;
			buf[o++] = '.';
		}
		for (i = 0; i < n; i++) {
			c = dns_lower(q->qname_wire[at + 1 + i]);
			if (size - o < 5)
				return -1;
			if (c == '.' || c == '\\') {
				buf[o++] = '\\';
				buf[o++] = (char)c;
			} else if (c > 0x20 && c < 0x7f) {
				buf[o++] = (char)c;
			} else {
				o += (size_t)snprintf(buf + o, size - o,
				    "\\%03u", c);
			}
		}
		at += 1 + (size_t)n;
	}
	buf[o] = '\0';
	return (int)o;
}

const char *
dns_qtype_name(uint16_t type, char buf[DNS_TYPE_NAME_MAX])
{
	switch (type) {
	case DNS_TYPE_A:
		return "A";
	case DNS_TYPE_NS:
		return "NS";
	case DNS_TYPE_CNAME:
		return "CNAME";
	case DNS_TYPE_SOA:
		return "SOA";
	case DNS_TYPE_PTR:
		return "PTR";
	case DNS_TYPE_MX:
		return "MX";
	case DNS_TYPE_TXT:
		return "TXT";
	case DNS_TYPE_AAAA:
		return "AAAA";
	case DNS_TYPE_SRV:
		return "SRV";
	case DNS_TYPE_OPT:
		return "OPT";
	case DNS_TYPE_SVCB:
		return "SVCB";
	case DNS_TYPE_HTTPS:
		return "HTTPS";
	case DNS_TYPE_ANY:
		return "ANY";
	}
	snprintf(buf, DNS_TYPE_NAME_MAX, "TYPE%u", (unsigned)type);
	return buf;
}

const char *
dns_rcode_name(int rcode)
{
	switch (rcode) {
	case DNS_RCODE_NOERROR:
		return "NOERROR";
	case DNS_RCODE_FORMERR:
		return "FORMERR";
	case DNS_RCODE_SERVFAIL:
		return "SERVFAIL";
	case DNS_RCODE_NXDOMAIN:
		return "NXDOMAIN";
	case DNS_RCODE_NOTIMP:
		return "NOTIMP";
	case DNS_RCODE_REFUSED:
		return "REFUSED";
	case DNS_RCODE_BADVERS:
		return "BADVERS";
	}
	return "unknown";
}

const char *
dns_result_name(enum dns_result r)
{
	switch (r) {
	case DNS_OK:
		return "ok";
	case DNS_FORMERR:
		return "formerr";
	case DNS_NOTIMP:
		return "notimp";
	case DNS_REFUSED:
		return "refused";
	case DNS_BADVERS:
		return "badvers";
	case DNS_DROP:
		return "drop";
	}
	return "unknown";
}
