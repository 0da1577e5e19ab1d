#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "proxyd/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_TTL_CAP	300

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* What a parsed query must look like, whatever the bytes were. */
static void
check_query(enum dns_result r, const struct dns_query *q, const char *why,
    const uint8_t *data, size_t size)
{
	size_t i;

	if (r > DNS_DROP || (r == DNS_OK) != (why == NULL))
		abort();
	if (q->have_header != (size >= DNS_HEADER_LEN && size <= DNS_MSG_MAX))
		abort();
	if (!q->have_header && (r != DNS_FORMERR || q->have_question))
		abort();
	if (q->have_question && r != DNS_OK && r != DNS_FORMERR &&
	    r != DNS_BADVERS)
		abort();
	if (q->has_edns && r != DNS_OK && r != DNS_BADVERS && r != DNS_REFUSED)
		abort();
	if (q->have_question) {
		if (q->qdcount != 1 || q->qname_wire_len < 1 ||
		    q->qname_wire_len > DNS_WIRE_NAME_MAX ||
		    q->name_len > DNS_NAME_MAX || q->name[q->name_len] != '\0')
			abort();
		if (q->qname_wire_len != (q->name_len ? q->name_len + 2 : 1))
			abort();
		if (memcmp(q->qname_wire, data + DNS_HEADER_LEN,
		    q->qname_wire_len) != 0)
			abort();
		for (i = 0; i < q->name_len; i++) {
			uint8_t c = (uint8_t)q->name[i];

			if (c >= 'A' && c <= 'Z')
				abort();
			if (q->name_valid && !((c >= 'a' && c <= 'z') ||
			    (c >= '0' && c <= '9') || c == '-' || c == '.'))
				abort();
		}
		if (q->name_valid && (q->name_len == 0 || q->name[0] == '.' ||
		    q->name[q->name_len - 1] == '.' ||
		    strstr(q->name, "..") != NULL))
			abort();
	} else if (q->name_len != 0 || q->name_valid) {
		abort();
	}
	if (r == DNS_OK) {
		if (!q->have_question || q->opcode != 0 || q->ancount ||
		    q->nscount || q->arcount != (q->has_edns ? 1 : 0) ||
		    q->edns_version != 0)
			abort();
		if (size < DNS_HEADER_LEN + q->qname_wire_len + 4 +
		    (q->has_edns ? 11 : 0))
			abort();
		if (!q->has_edns &&
		    size != DNS_HEADER_LEN + q->qname_wire_len + 4)
			abort();
	}
	if (dns_query_udp_max(q) < DNS_UDP_MIN ||
	    dns_query_udp_max(q) > DNS_EDNS_UDP_SIZE)
		abort();
}

/*
 * Walks a response of ours: header as promised, the question echoed byte
 * for byte, answers that point at it, an OPT iff the query had one, and
 * nothing after. Returns the answer count.
 */
static size_t
check_response(const struct dns_query *q, int rcode, const uint8_t *out,
    size_t outlen, size_t cap)
{
	size_t at = DNS_HEADER_LEN, an, i, rdlen;
	uint16_t flags;
	struct dns_query back;

	if (outlen > cap || outlen < DNS_HEADER_LEN)
		abort();
	flags = get16(out + 2);
	if (get16(out) != q->id || !(flags & 0x8000) || !(flags & 0x0080) ||
	    ((flags >> 11) & 0xf) != q->opcode ||
	    ((flags & 0x0100) != 0) != q->rd ||
	    ((flags & 0x0010) != 0) != q->cd || (flags & 0xf) != (rcode & 0xf))
		abort();
	if (get16(out + 4) != (q->have_question ? 1 : 0) ||
	    get16(out + 8) != 0 || get16(out + 10) != (q->has_edns ? 1 : 0))
		abort();
	an = get16(out + 6);
	if (q->have_question) {
		if (outlen - at < q->qname_wire_len + 4 ||
		    memcmp(out + at, q->qname_wire, q->qname_wire_len) != 0 ||
		    get16(out + at + q->qname_wire_len) != q->qtype ||
		    get16(out + at + q->qname_wire_len + 2) != q->qclass)
			abort();
		at += q->qname_wire_len + 4;
	}
	for (i = 0; i < an; i++) {
		if (outlen - at < 12 || get16(out + at) != 0xc00c ||
		    get16(out + at + 2) != q->qtype ||
		    get16(out + at + 4) != DNS_CLASS_IN ||
		    get16(out + at + 6) != 0 ||
		    get16(out + at + 8) > FUZZ_TTL_CAP)
			abort();
		rdlen = get16(out + at + 10);
		if (rdlen != (q->qtype == DNS_TYPE_A ? 4u : 16u) ||
		    outlen - at - 12 < rdlen)
			abort();
		at += 12 + rdlen;
	}
	if (q->has_edns) {
		if (outlen - at < 11 || out[at] != 0 ||
		    get16(out + at + 1) != DNS_TYPE_OPT ||
		    get16(out + at + 3) != DNS_EDNS_UDP_SIZE ||
		    out[at + 5] != (rcode >> 4) || out[at + 6] != 0 ||
		    ((get16(out + at + 7) & 0x8000) != 0) != q->edns_do ||
		    get16(out + at + 9) != 0)
			abort();
		at += 11;
	}
	if (at != outlen)
		abort();
	if (dns_parse_query(out, outlen, &back, NULL) != DNS_DROP)
		abort();
	return an;
}

static void
check_answer(const struct dns_query *q, const uint8_t *data, size_t size)
{
	static uint8_t out[DNS_MSG_MAX];
	struct dns_rr rrs[2];
	size_t outlen, cap, an, n = 2;
	int family = AF_INET;

	memset(rrs, 0, sizeof(rrs));
	if (q->qtype == DNS_TYPE_AAAA)
		family = AF_INET6;
	rrs[0].addr.family = rrs[1].addr.family = family;
	rrs[0].addr.a[0] = 198;
	rrs[1].addr.a[0] = 0x20;
	rrs[0].ttl = data[size - 1];
	rrs[1].ttl = UINT32_MAX;

	if ((q->qtype != DNS_TYPE_A && q->qtype != DNS_TYPE_AAAA) ||
	    q->qclass != DNS_CLASS_IN) {
		if (dns_build_answer(q, rrs, n, FUZZ_TTL_CAP, out, 512,
		    &outlen) != -1 || errno != EINVAL)
			abort();
		n = 0;
	}
	/* 512 always holds the head (<= 282 bytes) and two AAAA records. */
	if (dns_build_answer(q, rrs, n, FUZZ_TTL_CAP, out, 512, &outlen) != 0)
		abort();
	if (check_response(q, 0, out, outlen, 512) != n ||
	    (get16(out + 2) & 0x0200))
		abort();

	/* A cap chosen by the input: fewer records and TC, or ENOSPC. */
	cap = DNS_HEADER_LEN + q->qname_wire_len + 4 + data[0] % 64;
	if (dns_build_answer(q, rrs, n, FUZZ_TTL_CAP, out, cap,
	    &outlen) == -1) {
		if (errno != ENOSPC || !q->has_edns ||
		    cap >= DNS_HEADER_LEN + q->qname_wire_len + 4 + 11)
			abort();
		return;
	}
	an = check_response(q, 0, out, outlen, cap);
	if (an > n || (an < n) != ((get16(out + 2) & 0x0200) != 0))
		abort();
}

/*
 * Invariants: the parse result is well-formed and consistent with the
 * bytes; a strict prefix of an accepted query is never accepted; every
 * response we build for it stays within cap, echoes the question as sent,
 * and reads back as a response (so never as a query to answer again).
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[512];
	struct dns_query q, part;
	const char *why = NULL;
	char text[DNS_NAME_FORMAT_MAX];
	enum dns_result r;
	size_t outlen, msglen;
	int rcode, len;

	r = dns_parse_query(data, size, &q, &why);
	check_query(r, &q, why, data, size);

	if (strlen(dns_qtype_name(q.qtype, text)) >= DNS_TYPE_NAME_MAX)
		abort();
	if (q.have_question) {
		len = dns_name_format(&q, text, sizeof(text));
		if (len < 1 || (size_t)len != strlen(text))
			abort();
	} else if (dns_name_format(&q, text, sizeof(text)) != -1) {
		abort();
	}

	rcode = r == DNS_OK ? DNS_RCODE_NXDOMAIN : dns_result_rcode(r);
	if (q.have_header && rcode >= 0) {
		if (dns_build_error(&q, rcode, out, sizeof(out), &outlen) != 0)
			abort();
		check_response(&q, rcode, out, outlen, sizeof(out));
	} else if (dns_build_error(&q, DNS_RCODE_FORMERR, out, sizeof(out),
	    &outlen) != -1 && !q.have_header) {
		abort();
	}

	if (r == DNS_OK) {
		check_answer(&q, data, size);
		if (dns_parse_query(data, size - 1, &part, NULL) == DNS_OK)
			abort();
	}

	switch (dns_tcp_frame_len(data, size, &msglen)) {
	case DNS_FRAME_NEED_MORE:
		if (size >= 2 && (msglen == 0 || size - 2 >= msglen))
			abort();
		break;
	case DNS_FRAME_OK:
		if (msglen == 0 || msglen > size - 2 || msglen > DNS_MSG_MAX)
			abort();
		r = dns_parse_query(data + 2, msglen, &part, &why);
		check_query(r, &part, why, data + 2, msglen);
		break;
	case DNS_FRAME_BAD:
		if (size < 2 || data[0] != 0 || data[1] != 0)
			abort();
		break;
	default:
		abort();
	}
	return 0;
}
