/*
 * proxyd/dns.c: queries built byte by byte here (the names a sandbox might
 * ask for, exfiltration-shaped ones, and one broken field at a time), and
 * responses read back with libresolv's ns_initparse()/ns_parserr(), a parser
 * that shares no code with ours. Link with -lresolv (and common/hostname.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <resolv.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "common/hostname.h"
#include "proxyd/dns.h"
#include "proxyd/dnsserver.h"
#include "proxyd/sessions.h"

#define WBUF	4096

/* A tiny byte writer for queries. */
struct bw {
	uint8_t	b[WBUF];
	size_t	n;
};

static struct bw W;
static struct dns_query Q;

static void
put8(struct bw *w, unsigned v)
{
	assert_true(w->n < WBUF);
	w->b[w->n++] = (uint8_t)v;
}

static void
put16(struct bw *w, unsigned v)
{
	put8(w, (v >> 8) & 0xff);
	put8(w, v & 0xff);
}

static void
put(struct bw *w, const void *p, size_t n)
{
	assert_true(n <= WBUF - w->n);
	if (n == 0)
		return;
	memcpy(w->b + w->n, p, n);
	w->n += n;
}

static void
header(struct bw *w, unsigned id, unsigned flags, unsigned qd, unsigned an,
    unsigned ns, unsigned ar)
{
	w->n = 0;
	put16(w, id);
	put16(w, flags);
	put16(w, qd);
	put16(w, an);
	put16(w, ns);
	put16(w, ar);
}

/* A dotted name as wire labels; "" is the root. */
static void
put_name(struct bw *w, const char *name)
{
	const char *p = name, *dot;
	size_t n;

	while (*p != '\0') {
		dot = strchr(p, '.');
		n = dot != NULL ? (size_t)(dot - p) : strlen(p);
		put8(w, (unsigned)n);
		put(w, p, n);
		p += n;
		if (*p == '.')
			p++;
	}
	put8(w, 0);
}

static void
put_question(struct bw *w, const char *name, unsigned type, unsigned class)
{
	put_name(w, name);
	put16(w, type);
	put16(w, class);
}

/* An OPT record; the options are rdata as given. */
static void
put_opt(struct bw *w, unsigned size, unsigned version, int dnssec_ok,
    const void *opts, size_t optlen)
{
	put8(w, 0);
	put16(w, DNS_TYPE_OPT);
	put16(w, size);
	put8(w, 0);
	put8(w, version);
	put16(w, dnssec_ok ? 0x8000 : 0);
	put16(w, (unsigned)optlen);
	put(w, opts, optlen);
}

/* The usual stub query: id 0x1234, RD, one question, optional EDNS. */
static void
query(struct bw *w, const char *name, unsigned type, int edns)
{
	header(w, 0x1234, 0x0100, 1, 0, 0, edns ? 1 : 0);
	put_question(w, name, type, DNS_CLASS_IN);
	if (edns)
		put_opt(w, 4096, 0, 1, NULL, 0);
}

/* Parse from an allocation of exactly len bytes, so ASan sees over-reads. */
static enum dns_result
parse(const struct bw *w, size_t len, const char **why)
{
	uint8_t *copy = malloc(len ? len : 1);
	enum dns_result r;

	assert_non_null(copy);
	memcpy(copy, w->b, len);
	r = dns_parse_query(copy, len, &Q, why);
	free(copy);
	return r;
}

static enum dns_result
parse_all(const struct bw *w, const char **why)
{
	return parse(w, w->n, why);
}

static char *
dotted(char *buf, const size_t *labels, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (i > 0)
			buf[o++] = '.';
		memset(buf + o, 'a' + (int)i, labels[i]);
		o += labels[i];
	}
	buf[o] = '\0';
	return buf;
}

static void
test_parse_allowed_a(void **state)
{
	const char *why = "x";

	(void)state;
	query(&W, "allowed.test", DNS_TYPE_A, 0);
	assert_int_equal(parse_all(&W, &why), DNS_OK);
	assert_null(why);
	assert_true(Q.have_header);
	assert_true(Q.have_question);
	assert_int_equal(Q.id, 0x1234);
	assert_int_equal(Q.opcode, 0);
	assert_true(Q.rd);
	assert_false(Q.cd);
	assert_string_equal(Q.name, "allowed.test");
	assert_int_equal(Q.name_len, 12);
	assert_true(Q.name_valid);
	assert_int_equal(Q.qtype, DNS_TYPE_A);
	assert_int_equal(Q.qclass, DNS_CLASS_IN);
	assert_false(Q.has_edns);
	assert_int_equal(dns_query_udp_max(&Q), 512);
	assert_int_equal(Q.qname_wire_len, 14);
	assert_memory_equal(Q.qname_wire, "\x07" "allowed\x04" "test", 14);
}

static void
test_parse_types(void **state)
{
	static const unsigned types[] = {
		DNS_TYPE_A, DNS_TYPE_AAAA, DNS_TYPE_TXT, DNS_TYPE_ANY,
		DNS_TYPE_HTTPS, DNS_TYPE_MX,
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		query(&W, "exfil.attacker.example", types[i], 0);
		assert_int_equal(parse_all(&W, NULL), DNS_OK);
		assert_string_equal(Q.name, "exfil.attacker.example");
		assert_true(Q.name_valid);
		assert_int_equal(Q.qtype, types[i]);
		query(&W, "allowed.test", types[i], 1);
		assert_int_equal(parse_all(&W, NULL), DNS_OK);
		assert_string_equal(Q.name, "allowed.test");
		assert_int_equal(Q.qtype, types[i]);
	}
}

static void
test_long_names(void **state)
{
	static const size_t ok[] = { 63, 63, 63, 61 };
	static const size_t too_long[] = { 63, 63, 63, 62 };
	char name[300];
	const char *why;

	(void)state;
	query(&W, dotted(name, ok, 4), DNS_TYPE_A, 0);
	assert_int_equal(parse_all(&W, NULL), DNS_OK);
	assert_int_equal(Q.name_len, 253);
	assert_string_equal(Q.name, name);
	assert_true(Q.name_valid);
	assert_int_equal(Q.qname_wire_len, 255);

	query(&W, dotted(name, too_long, 4), DNS_TYPE_A, 0);
	assert_int_equal(parse_all(&W, &why), DNS_FORMERR);
	assert_string_equal(why, "name longer than 253");
	assert_true(Q.have_header);
	assert_false(Q.have_question);

	/* Many short labels: 127 one-byte labels are 253 as text. */
	header(&W, 1, 0, 1, 0, 0, 0);
	for (int i = 0; i < 127; i++)
		put(&W, "\x01x", 2);
	put8(&W, 0);
	put16(&W, DNS_TYPE_TXT);
	put16(&W, DNS_CLASS_IN);
	assert_int_equal(parse_all(&W, NULL), DNS_OK);
	assert_int_equal(Q.name_len, 253);
	W.n -= 5;
	put(&W, "\x01x", 2);
	put8(&W, 0);
	put16(&W, DNS_TYPE_TXT);
	put16(&W, DNS_CLASS_IN);
	assert_int_equal(parse_all(&W, NULL), DNS_FORMERR);
}

static void
test_bad_labels(void **state)
{
	uint8_t l64[65];
	const char *why;

	(void)state;
	l64[0] = 64;
	memset(l64 + 1, 'a', 64);
	header(&W, 1, 0, 1, 0, 0, 0);
	put(&W, l64, sizeof(l64));
	put(&W, "\x04test\x00\x00\x01\x00\x01", 10);
	assert_int_equal(parse_all(&W, &why), DNS_FORMERR);
	assert_string_equal(why, "label longer than 63");

	header(&W, 1, 0, 1, 0, 0, 0);
	put(&W, "\x80" "abc\x00\x00\x01\x00\x01", 9);
	assert_int_equal(parse_all(&W, NULL), DNS_FORMERR);

	/* "abc" then a pointer back to the header: allowed in answers, never
	 * in a query's question. */
	header(&W, 1, 0, 1, 0, 0, 0);
	put(&W, "\x03" "abc\xc0\x0c\x00\x01\x00\x01", 10);
	assert_int_equal(parse_all(&W, &why), DNS_FORMERR);
	assert_string_equal(why, "compression pointer in the question");
	header(&W, 1, 0, 1, 0, 0, 0);
	put(&W, "\xc0\x0c\x00\x01\x00\x01", 6);
	assert_int_equal(parse_all(&W, NULL), DNS_FORMERR);
	assert_false(Q.have_question);

	/* A label longer than what is left. */
	header(&W, 1, 0, 1, 0, 0, 0);
	put(&W, "\x05" "abc", 4);
	assert_int_equal(parse_all(&W, &why), DNS_FORMERR);
	assert_string_equal(why, "label runs past the message");
	/* No terminating root label. */
	header(&W, 1, 0, 1, 0, 0, 0);
	put(&W, "\x03" "abc", 4);
	assert_int_equal(parse_all(&W, &why), DNS_FORMERR);
	assert_string_equal(why, "name runs past the message");
	/* No type and class. */
	header(&W, 1, 0, 1, 0, 0, 0);
	put(&W, "\x03" "abc\x00\x00\x01\x00", 8);
	assert_int_equal(parse_all(&W, &why), DNS_FORMERR);
	assert_string_equal(why, "question runs past the message");
}

static void
test_counts(void **state)
{
	const char *why;

	(void)state;
	header(&W, 7, 0x0100, 0, 0, 0, 0);
	assert_int_equal(parse_all(&W, &why), DNS_FORMERR);
	assert_string_equal(why, "no question");
	assert_true(Q.have_header);
	assert_false(Q.have_question);

	header(&W, 7, 0x0100, 2, 0, 0, 0);
	put_question(&W, "allowed.test", DNS_TYPE_A, DNS_CLASS_IN);
	put_question(&W, "exfil.attacker.example", DNS_TYPE_A, DNS_CLASS_IN);
	assert_int_equal(parse_all(&W, &why), DNS_REFUSED);
	assert_string_equal(why, "more than one question");
	assert_false(Q.have_question);
	assert_int_equal(Q.qdcount, 2);

	/* QDCOUNT 2 with one question, and with a broken second one. */
	header(&W, 7, 0x0100, 2, 0, 0, 0);
	put_question(&W, "allowed.test", DNS_TYPE_A, DNS_CLASS_IN);
	assert_int_equal(parse_all(&W, NULL), DNS_FORMERR);
	assert_false(Q.have_question);
	put(&W, "\xc0\x0c\x00\x01\x00\x01", 6);
	assert_int_equal(parse_all(&W, NULL), DNS_FORMERR);

	header(&W, 7, 0x0100, 1, 1, 0, 0);
	put_question(&W, "allowed.test", DNS_TYPE_A, DNS_CLASS_IN);
	assert_int_equal(parse_all(&W, NULL), DNS_FORMERR);
	header(&W, 7, 0x0100, 1, 0, 1, 0);
	put_question(&W, "allowed.test", DNS_TYPE_A, DNS_CLASS_IN);
	assert_int_equal(parse_all(&W, NULL), DNS_FORMERR);

	/* A huge QDCOUNT ends at the end of the bytes, not later. */
	header(&W, 7, 0x0100, 0xffff, 0, 0, 0);
	put_question(&W, "allowed.test", DNS_TYPE_A, DNS_CLASS_IN);
	assert_int_equal(parse_all(&W, NULL), DNS_FORMERR);
}

static void
test_flags(void **state)
{
	const char *why;

	(void)state;
	query(&W, "allowed.test", DNS_TYPE_A, 0);
	W.b[2] |= 0x80;		/* QR */
	assert_int_equal(parse_all(&W, &why), DNS_DROP);
	assert_string_equal(why, "a response, not a query");
	assert_int_equal(dns_result_rcode(DNS_DROP), -1);

	query(&W, "allowed.test", DNS_TYPE_A, 0);
	W.b[2] = (uint8_t)(2 << 3 | 1);	/* opcode STATUS, RD */
	assert_int_equal(parse_all(&W, &why), DNS_NOTIMP);
	assert_string_equal(why, "opcode is not QUERY");
	assert_true(Q.have_header);
	assert_int_equal(Q.opcode, 2);
	assert_int_equal(dns_result_rcode(DNS_NOTIMP), DNS_RCODE_NOTIMP);

	/* CD and the other query flags are read, not judged. */
	query(&W, "allowed.test", DNS_TYPE_A, 0);
	W.b[2] = 0;
	W.b[3] = 0x10 | 0x20;	/* CD, AD */
	assert_int_equal(parse_all(&W, NULL), DNS_OK);
	assert_false(Q.rd);
	assert_true(Q.cd);
}

static void
test_class(void **state)
{
	(void)state;
	header(&W, 9, 0x0100, 1, 0, 0, 0);
	put_question(&W, "version.bind", DNS_TYPE_TXT, 3);
	assert_int_equal(parse_all(&W, NULL), DNS_OK);
	assert_int_equal(Q.qclass, 3);
	assert_int_equal(Q.qtype, DNS_TYPE_TXT);
}

static void
test_edns(void **state)
{
	static const uint8_t cookie[] = {
		0x00, 0x0a, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8,
	};
	const char *why;

	(void)state;
	query(&W, "allowed.test", DNS_TYPE_AAAA, 1);
	assert_int_equal(parse_all(&W, NULL), DNS_OK);
	assert_true(Q.has_edns);
	assert_int_equal(Q.edns_udp_size, 4096);
	assert_true(Q.edns_do);
	assert_int_equal(Q.edns_version, 0);
	assert_int_equal(dns_query_udp_max(&Q), DNS_EDNS_UDP_SIZE);

	header(&W, 1, 0, 1, 0, 0, 1);
	put_question(&W, "allowed.test", DNS_TYPE_A, DNS_CLASS_IN);
	put_opt(&W, 1000, 0, 0, cookie, sizeof(cookie));
	assert_int_equal(parse_all(&W, NULL), DNS_OK);
	assert_false(Q.edns_do);
	assert_int_equal(dns_query_udp_max(&Q), 1000);

	/* A size below 512 means 512 (RFC 6891 6.2.5). */
	header(&W, 1, 0, 1, 0, 0, 1);
	put_question(&W, "allowed.test", DNS_TYPE_A, DNS_CLASS_IN);
	put_opt(&W, 100, 0, 0, NULL, 0);
	assert_int_equal(parse_all(&W, NULL), DNS_OK);
	assert_int_equal(dns_query_udp_max(&Q), 512);

	/* An option that overruns the OPT data. */
	header(&W, 1, 0, 1, 0, 0, 1);
	put_question(&W, "allowed.test", DNS_TYPE_A, DNS_CLASS_IN);
	put_opt(&W, 1232, 0, 0, cookie, 7);
	assert_int_equal(parse_all(&W, &why), DNS_FORMERR);
	assert_string_equal(why, "EDNS option runs past the OPT data");
	assert_true(Q.have_question);
	assert_false(Q.has_edns);
	header(&W, 1, 0, 1, 0, 0, 1);
	put_question(&W, "allowed.test", DNS_TYPE_A, DNS_CLASS_IN);
	put_opt(&W, 1232, 0, 0, cookie, 3);
	assert_int_equal(parse_all(&W, &why), DNS_FORMERR);
	assert_string_equal(why, "truncated EDNS option");
	/* rdlength past the end. */
	header(&W, 1, 0, 1, 0, 0, 1);
	put_question(&W, "allowed.test", DNS_TYPE_A, DNS_CLASS_IN);
	put_opt(&W, 1232, 0, 0, cookie, sizeof(cookie));
	W.n--;
	assert_int_equal(parse_all(&W, &why), DNS_FORMERR);
	assert_string_equal(why, "OPT data runs past the message");

	/* EDNS version 1: BADVERS, after every other check. */
	header(&W, 1, 0, 1, 0, 0, 1);
	put_question(&W, "allowed.test", DNS_TYPE_A, DNS_CLASS_IN);
	put_opt(&W, 1232, 1, 0, NULL, 0);
	assert_int_equal(parse_all(&W, &why), DNS_BADVERS);
	assert_string_equal(why, "EDNS version is not 0");
	assert_true(Q.has_edns);
	assert_int_equal(Q.edns_version, 1);
	assert_int_equal(dns_result_rcode(DNS_BADVERS), DNS_RCODE_BADVERS);
	put8(&W, 0);
	assert_int_equal(parse_all(&W, NULL), DNS_FORMERR);
}

static void
test_additional(void **state)
{
	const char *why;

	(void)state;
	header(&W, 1, 0, 1, 0, 0, 2);
	put_question(&W, "allowed.test", DNS_TYPE_A, DNS_CLASS_IN);
	put_opt(&W, 1232, 0, 0, NULL, 0);
	put_opt(&W, 1232, 0, 0, NULL, 0);
	assert_int_equal(parse_all(&W, &why), DNS_FORMERR);
	assert_string_equal(why, "more than one additional record");

	/* One additional record that is an A record with a name. */
	header(&W, 1, 0, 1, 0, 0, 1);
	put_question(&W, "allowed.test", DNS_TYPE_A, DNS_CLASS_IN);
	put(&W, "\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x01\x02\x03\x04",
	    16);
	assert_int_equal(parse_all(&W, &why), DNS_FORMERR);
	assert_string_equal(why,
	    "additional record is not an OPT with the root name");

	/* Root name but not OPT (a TSIG-shaped record). */
	header(&W, 1, 0, 1, 0, 0, 1);
	put_question(&W, "allowed.test", DNS_TYPE_A, DNS_CLASS_IN);
	put(&W, "\x00\x00\xfa\x00\xff\x00\x00\x00\x00\x00\x00", 11);
	assert_int_equal(parse_all(&W, &why), DNS_FORMERR);
	assert_string_equal(why, "additional record is not an OPT");

	/* ARCOUNT 1 and nothing there. */
	header(&W, 1, 0, 1, 0, 0, 1);
	put_question(&W, "allowed.test", DNS_TYPE_A, DNS_CLASS_IN);
	assert_int_equal(parse_all(&W, NULL), DNS_FORMERR);
}

static void
test_truncated_and_trailing(void **state)
{
	uint8_t out[512];
	size_t outlen, i, full;
	const char *why;

	(void)state;
	query(&W, "allowed.test", DNS_TYPE_A, 1);
	full = W.n;
	for (i = 0; i < full; i++) {
		assert_int_equal(parse(&W, i, &why), DNS_FORMERR);
		assert_non_null(why);
		assert_int_equal(Q.have_header, i >= DNS_HEADER_LEN);
	}
	assert_int_equal(parse(&W, 11, &why), DNS_FORMERR);
	assert_string_equal(why, "shorter than a DNS header");
	assert_false(Q.have_header);
	assert_int_equal(dns_build_error(&Q, DNS_RCODE_FORMERR, out,
	    sizeof(out), &outlen), -1);
	assert_int_equal(errno, EINVAL);

	/* Bigger than any DNS message: not even the header is trusted. */
	{
		uint8_t *big = calloc(1, DNS_MSG_MAX + 1);

		assert_non_null(big);
		memcpy(big, W.b, W.n);
		assert_int_equal(dns_parse_query(big, DNS_MSG_MAX + 1, &Q,
		    &why), DNS_FORMERR);
		assert_string_equal(why, "longer than 65535");
		assert_false(Q.have_header);
		free(big);
	}

	put(&W, "junk", 4);
	assert_int_equal(parse_all(&W, &why), DNS_FORMERR);
	assert_string_equal(why, "bytes after the message");
	assert_true(Q.have_question);
	assert_false(Q.has_edns);
	query(&W, "allowed.test", DNS_TYPE_A, 0);
	put8(&W, 0);
	assert_int_equal(parse_all(&W, &why), DNS_FORMERR);
	assert_string_equal(why, "bytes after the message");
	assert_true(Q.have_question);
}

static void
test_odd_names(void **state)
{
	char fmt[DNS_NAME_FORMAT_MAX];

	(void)state;
	query(&W, "_dmarc.allowed.test", DNS_TYPE_TXT, 0);
	assert_int_equal(parse_all(&W, NULL), DNS_OK);
	assert_false(Q.name_valid);
	assert_string_equal(Q.name, "_dmarc.allowed.test");
	assert_int_equal(dns_name_format(&Q, fmt, sizeof(fmt)), 19);
	assert_string_equal(fmt, "_dmarc.allowed.test");

	query(&W, "caf\xc3\xa9.test", DNS_TYPE_A, 0);
	assert_int_equal(parse_all(&W, NULL), DNS_OK);
	assert_false(Q.name_valid);
	assert_string_equal(Q.name, "caf\xc3\xa9.test");
	dns_name_format(&Q, fmt, sizeof(fmt));
	assert_string_equal(fmt, "caf\\195\\169.test");

	/* A '.' and a NUL inside one label: one label, two bytes of text
	 * that look like separators. */
	header(&W, 1, 0, 1, 0, 0, 0);
	put(&W, "\x05" "a.b\x00" "c\x04test\x00\x00\x01\x00\x01", 16);
	assert_int_equal(parse_all(&W, NULL), DNS_OK);
	assert_false(Q.name_valid);
	assert_int_equal(Q.name_len, 10);
	assert_memory_equal(Q.name, "a.b\0c.test", 11);
	dns_name_format(&Q, fmt, sizeof(fmt));
	assert_string_equal(fmt, "a\\.b\\000c.test");
	assert_int_equal(dns_name_format(&Q, fmt, 8), -1);

	query(&W, "ALLOWED.Test", DNS_TYPE_A, 0);
	assert_int_equal(parse_all(&W, NULL), DNS_OK);
	assert_true(Q.name_valid);
	assert_string_equal(Q.name, "allowed.test");
	assert_memory_equal(Q.qname_wire, "\x07" "ALLOWED\x04" "Test", 14);
	dns_name_format(&Q, fmt, sizeof(fmt));
	assert_string_equal(fmt, "allowed.test");

	query(&W, "", DNS_TYPE_NS, 0);
	assert_int_equal(parse_all(&W, NULL), DNS_OK);
	assert_false(Q.name_valid);
	assert_int_equal(Q.name_len, 0);
	assert_string_equal(Q.name, "");
	assert_int_equal(dns_name_format(&Q, fmt, sizeof(fmt)), 1);
	assert_string_equal(fmt, ".");

	/* Digits and hyphens are LDH bytes; the caller's hostname_canon()
	 * judges hyphen placement and IP literals. */
	query(&W, "-1.2.3.4", DNS_TYPE_A, 0);
	assert_int_equal(parse_all(&W, NULL), DNS_OK);
	assert_true(Q.name_valid);
}

/* The name goes on to hostname_canon(); what it makes of our output. */
static void
test_canon_handoff(void **state)
{
	static const size_t labels[] = { 63, 63, 63, 61 };
	char canon[HOSTNAME_MAX + 1], name[300];

	(void)state;
	query(&W, "ALLOWED.Test", DNS_TYPE_A, 0);
	assert_int_equal(parse_all(&W, NULL), DNS_OK);
	assert_int_equal(hostname_canon(Q.name, Q.name_len, canon, NULL),
	    HOSTNAME_OK);
	assert_string_equal(canon, "allowed.test");

	query(&W, dotted(name, labels, 4), DNS_TYPE_AAAA, 0);
	assert_int_equal(parse_all(&W, NULL), DNS_OK);
	assert_int_equal(hostname_canon(Q.name, Q.name_len, canon, NULL),
	    HOSTNAME_OK);
	assert_string_equal(canon, name);

	query(&W, "169.254.169.254", DNS_TYPE_A, 0);
	assert_int_equal(parse_all(&W, NULL), DNS_OK);
	assert_true(Q.name_valid);
	assert_int_equal(hostname_canon(Q.name, Q.name_len, canon, NULL),
	    HOSTNAME_IS_IP_LITERAL);

	query(&W, "-x.allowed.test", DNS_TYPE_A, 0);
	assert_int_equal(parse_all(&W, NULL), DNS_OK);
	assert_true(Q.name_valid);
	assert_int_equal(hostname_canon(Q.name, Q.name_len, canon, NULL), -1);
}

/* A response read back by libresolv; returns the message handle. */
static void
resolv_parse(const uint8_t *buf, size_t len, ns_msg *m)
{
	assert_int_equal(ns_initparse(buf, (int)len, m), 0);
}

static void
check_question(ns_msg *m, const char *name, unsigned type)
{
	ns_rr rr;

	assert_int_equal(ns_msg_count(*m, ns_s_qd), 1);
	assert_int_equal(ns_parserr(m, ns_s_qd, 0, &rr), 0);
	assert_string_equal(ns_rr_name(rr), name);
	assert_int_equal(ns_rr_type(rr), type);
	assert_int_equal(ns_rr_class(rr), ns_c_in);
}

/* The OPT record of a response: our size, DO echoed, extended rcode. */
static void
check_opt(ns_msg *m, int dnssec_ok, unsigned ext_rcode)
{
	ns_rr rr;
	int n = ns_msg_count(*m, ns_s_ar);

	assert_int_equal(n, 1);
	assert_int_equal(ns_parserr(m, ns_s_ar, 0, &rr), 0);
	assert_string_equal(ns_rr_name(rr), ".");
	assert_int_equal(ns_rr_type(rr), ns_t_opt);
	assert_int_equal(ns_rr_class(rr), DNS_EDNS_UDP_SIZE);
	assert_int_equal(ns_rr_ttl(rr) >> 24, ext_rcode);
	assert_int_equal((ns_rr_ttl(rr) >> 16) & 0xff, 0);
	assert_int_equal((ns_rr_ttl(rr) & 0x8000) != 0, dnssec_ok);
	assert_int_equal(ns_rr_rdlen(rr), 0);
}

static void
test_build_error(void **state)
{
	static const int rcodes[] = {
		DNS_RCODE_NXDOMAIN, DNS_RCODE_REFUSED, DNS_RCODE_SERVFAIL,
		DNS_RCODE_FORMERR, DNS_RCODE_NOTIMP, DNS_RCODE_NOERROR,
	};
	uint8_t out[512];
	size_t outlen, i;
	ns_msg m;
	struct dns_query again;

	(void)state;
	for (i = 0; i < sizeof(rcodes) / sizeof(rcodes[0]); i++) {
		query(&W, "exfil.Attacker.example", DNS_TYPE_TXT, 0);
		assert_int_equal(parse_all(&W, NULL), DNS_OK);
		assert_int_equal(dns_build_error(&Q, rcodes[i], out,
		    sizeof(out), &outlen), 0);
		assert_int_equal(outlen, W.n);
		resolv_parse(out, outlen, &m);
		assert_int_equal(ns_msg_id(m), 0x1234);
		assert_int_equal(ns_msg_getflag(m, ns_f_qr), 1);
		assert_int_equal(ns_msg_getflag(m, ns_f_opcode), 0);
		assert_int_equal(ns_msg_getflag(m, ns_f_rd), 1);
		assert_int_equal(ns_msg_getflag(m, ns_f_ra), 1);
		assert_int_equal(ns_msg_getflag(m, ns_f_tc), 0);
		assert_int_equal(ns_msg_getflag(m, ns_f_aa), 0);
		assert_int_equal(ns_msg_getflag(m, ns_f_rcode), rcodes[i]);
		/* The question as sent, case and all (0x20 randomisation). */
		check_question(&m, "exfil.Attacker.example", ns_t_txt);
		assert_memory_equal(out + 12, W.b + 12, W.n - 12);
		assert_int_equal(ns_msg_count(m, ns_s_an), 0);
		assert_int_equal(ns_msg_count(m, ns_s_ar), 0);
		assert_int_equal(dns_parse_query(out, outlen, &again, NULL),
		    DNS_DROP);
	}

	/* With EDNS: an OPT goes back, DO echoed; RD clear stays clear. */
	query(&W, "allowed.test", DNS_TYPE_A, 1);
	W.b[2] = 0;
	W.b[3] = 0x10;		/* CD */
	assert_int_equal(parse_all(&W, NULL), DNS_OK);
	assert_int_equal(dns_build_error(&Q, DNS_RCODE_NXDOMAIN, out,
	    sizeof(out), &outlen), 0);
	resolv_parse(out, outlen, &m);
	assert_int_equal(ns_msg_getflag(m, ns_f_rd), 0);
	assert_int_equal(ns_msg_getflag(m, ns_f_cd), 1);
	assert_int_equal(ns_msg_getflag(m, ns_f_rcode), ns_r_nxdomain);
	check_question(&m, "allowed.test", ns_t_a);
	check_opt(&m, 1, 0);

	/* BADVERS: rcode 16 is 0 in the header and 1 in the OPT. */
	header(&W, 0xbeef, 0x0100, 1, 0, 0, 1);
	put_question(&W, "allowed.test", DNS_TYPE_A, DNS_CLASS_IN);
	put_opt(&W, 1232, 1, 0, NULL, 0);
	assert_int_equal(parse_all(&W, NULL), DNS_BADVERS);
	assert_int_equal(dns_build_error(&Q, dns_result_rcode(DNS_BADVERS),
	    out, sizeof(out), &outlen), 0);
	resolv_parse(out, outlen, &m);
	assert_int_equal(ns_msg_getflag(m, ns_f_rcode), 0);
	check_opt(&m, 0, 1);
	query(&W, "allowed.test", DNS_TYPE_A, 0);
	assert_int_equal(parse_all(&W, NULL), DNS_OK);
	assert_int_equal(dns_build_error(&Q, DNS_RCODE_BADVERS, out,
	    sizeof(out), &outlen), -1);
	assert_int_equal(errno, EINVAL);

	/* NOTIMP: opcode echoed, no question (it was never read). */
	query(&W, "allowed.test", DNS_TYPE_A, 0);
	W.b[2] = (uint8_t)(4 << 3);	/* NOTIFY */
	assert_int_equal(parse_all(&W, NULL), DNS_NOTIMP);
	assert_int_equal(dns_build_error(&Q, DNS_RCODE_NOTIMP, out,
	    sizeof(out), &outlen), 0);
	assert_int_equal(outlen, 12);
	resolv_parse(out, outlen, &m);
	assert_int_equal(ns_msg_getflag(m, ns_f_opcode), 4);
	assert_int_equal(ns_msg_getflag(m, ns_f_rcode), ns_r_notimpl);
	assert_int_equal(ns_msg_count(m, ns_s_qd), 0);

	/* FORMERR for a question we could not read: header only. */
	header(&W, 0x4242, 0x0100, 1, 0, 0, 0);
	put(&W, "\xc0\x0c\x00\x01\x00\x01", 6);
	assert_int_equal(parse_all(&W, NULL), DNS_FORMERR);
	assert_int_equal(dns_build_error(&Q, DNS_RCODE_FORMERR, out,
	    sizeof(out), &outlen), 0);
	assert_int_equal(outlen, 12);
	resolv_parse(out, outlen, &m);
	assert_int_equal(ns_msg_id(m), 0x4242);
	assert_int_equal(ns_msg_getflag(m, ns_f_rcode), ns_r_formerr);

	/* REFUSED for two questions: none echoed. */
	header(&W, 7, 0x0100, 2, 0, 0, 0);
	put_question(&W, "allowed.test", DNS_TYPE_A, DNS_CLASS_IN);
	put_question(&W, "allowed.test", DNS_TYPE_AAAA, DNS_CLASS_IN);
	assert_int_equal(parse_all(&W, NULL), DNS_REFUSED);
	assert_int_equal(dns_build_error(&Q, DNS_RCODE_REFUSED, out,
	    sizeof(out), &outlen), 0);
	assert_int_equal(outlen, 12);

	/* Too small a buffer. */
	query(&W, "allowed.test", DNS_TYPE_A, 1);
	assert_int_equal(parse_all(&W, NULL), DNS_OK);
	assert_int_equal(dns_build_error(&Q, DNS_RCODE_REFUSED, out,
	    W.n - 1, &outlen), -1);
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(dns_build_error(&Q, DNS_RCODE_REFUSED, out,
	    W.n, &outlen), 0);
	assert_int_equal(outlen, W.n);
}

static void
make_rrs(struct dns_rr *rrs, size_t n, int family, uint32_t ttl)
{
	size_t i;

	memset(rrs, 0, n * sizeof(*rrs));
	for (i = 0; i < n; i++) {
		rrs[i].addr.family = family;
		rrs[i].ttl = ttl + (uint32_t)i;
		if (family == AF_INET) {
			rrs[i].addr.a[0] = 198;
			rrs[i].addr.a[1] = 18;
			rrs[i].addr.a[2] = 1;
			rrs[i].addr.a[3] = (uint8_t)(10 + i);
		} else {
			rrs[i].addr.a[0] = 0x20;
			rrs[i].addr.a[1] = 0x01;
			rrs[i].addr.a[2] = 0x0d;
			rrs[i].addr.a[3] = 0xb8;
			rrs[i].addr.a[15] = (uint8_t)(1 + i);
		}
	}
}

/* Every answer: the question's name (through the pointer), type, class,
 * the capped TTL and the address, in order. */
static void
check_answers(ns_msg *m, const char *name, const struct dns_rr *rrs,
    size_t n, uint32_t ttl_cap)
{
	ns_rr rr;
	size_t i, alen;

	assert_int_equal(ns_msg_count(*m, ns_s_an), n);
	for (i = 0; i < n; i++) {
		alen = rrs[i].addr.family == AF_INET ? 4 : 16;
		assert_int_equal(ns_parserr(m, ns_s_an, (int)i, &rr), 0);
		assert_string_equal(ns_rr_name(rr), name);
		assert_int_equal(ns_rr_type(rr),
		    alen == 4 ? ns_t_a : ns_t_aaaa);
		assert_int_equal(ns_rr_class(rr), ns_c_in);
		assert_int_equal(ns_rr_ttl(rr),
		    rrs[i].ttl < ttl_cap ? rrs[i].ttl : ttl_cap);
		assert_int_equal(ns_rr_rdlen(rr), alen);
		assert_memory_equal(ns_rr_rdata(rr), rrs[i].addr.a, alen);
	}
}

static void
test_build_answer(void **state)
{
	static struct dns_rr rrs[200];
	static uint8_t out[DNS_MSG_MAX];
	size_t outlen;
	ns_msg m;

	(void)state;
	query(&W, "Allowed.test", DNS_TYPE_A, 0);
	assert_int_equal(parse_all(&W, NULL), DNS_OK);
	make_rrs(rrs, 1, AF_INET, 60);
	assert_int_equal(dns_build_answer(&Q, rrs, 1, 300, out,
	    dns_query_udp_max(&Q), &outlen), 0);
	assert_int_equal(outlen, W.n + 16);
	resolv_parse(out, outlen, &m);
	assert_int_equal(ns_msg_id(m), 0x1234);
	assert_int_equal(ns_msg_getflag(m, ns_f_qr), 1);
	assert_int_equal(ns_msg_getflag(m, ns_f_ra), 1);
	assert_int_equal(ns_msg_getflag(m, ns_f_rd), 1);
	assert_int_equal(ns_msg_getflag(m, ns_f_tc), 0);
	assert_int_equal(ns_msg_getflag(m, ns_f_rcode), ns_r_noerror);
	check_question(&m, "Allowed.test", ns_t_a);
	check_answers(&m, "Allowed.test", rrs, 1, 300);
	/* The pointer names the question: 0xC00C. */
	assert_memory_equal(out + W.n, "\xc0\x0c\x00\x01\x00\x01", 6);

	make_rrs(rrs, 16, AF_INET, 250);
	assert_int_equal(dns_build_answer(&Q, rrs, 16, 255, out,
	    dns_query_udp_max(&Q), &outlen), 0);
	assert_int_equal(outlen, W.n + 16 * 16);
	resolv_parse(out, outlen, &m);
	assert_int_equal(ns_msg_getflag(m, ns_f_tc), 0);
	check_answers(&m, "Allowed.test", rrs, 16, 255);

	query(&W, "allowed.test", DNS_TYPE_AAAA, 1);
	assert_int_equal(parse_all(&W, NULL), DNS_OK);
	make_rrs(rrs, 3, AF_INET6, 3600);
	assert_int_equal(dns_build_answer(&Q, rrs, 3, 86400, out,
	    dns_query_udp_max(&Q), &outlen), 0);
	assert_int_equal(outlen, W.n + 3 * 28);
	resolv_parse(out, outlen, &m);
	check_question(&m, "allowed.test", ns_t_aaaa);
	check_answers(&m, "allowed.test", rrs, 3, 86400);
	check_opt(&m, 1, 0);
}

static void
test_ttl_cap(void **state)
{
	struct dns_rr rrs[2];
	uint8_t out[512];
	size_t outlen;
	ns_msg m;
	ns_rr rr;

	(void)state;
	query(&W, "allowed.test", DNS_TYPE_A, 0);
	assert_int_equal(parse_all(&W, NULL), DNS_OK);
	make_rrs(rrs, 2, AF_INET, 0);
	rrs[0].ttl = 86400;
	rrs[1].ttl = 60;
	assert_int_equal(dns_build_answer(&Q, rrs, 2, 300, out, sizeof(out),
	    &outlen), 0);
	resolv_parse(out, outlen, &m);
	assert_int_equal(ns_parserr(&m, ns_s_an, 0, &rr), 0);
	assert_int_equal(ns_rr_ttl(rr), 300);
	assert_int_equal(ns_parserr(&m, ns_s_an, 1, &rr), 0);
	assert_int_equal(ns_rr_ttl(rr), 60);
	rrs[0].ttl = UINT32_MAX;
	assert_int_equal(dns_build_answer(&Q, rrs, 2, 0, out, sizeof(out),
	    &outlen), 0);
	resolv_parse(out, outlen, &m);
	assert_int_equal(ns_parserr(&m, ns_s_an, 0, &rr), 0);
	assert_int_equal(ns_rr_ttl(rr), 0);
}

static void
test_nodata(void **state)
{
	uint8_t out[512];
	size_t outlen;
	ns_msg m;

	(void)state;
	query(&W, "allowed.test", DNS_TYPE_AAAA, 0);
	assert_int_equal(parse_all(&W, NULL), DNS_OK);
	assert_int_equal(dns_build_answer(&Q, NULL, 0, 300, out, sizeof(out),
	    &outlen), 0);
	assert_int_equal(outlen, W.n);
	resolv_parse(out, outlen, &m);
	assert_int_equal(ns_msg_getflag(m, ns_f_rcode), ns_r_noerror);
	assert_int_equal(ns_msg_count(m, ns_s_an), 0);
	check_question(&m, "allowed.test", ns_t_aaaa);

	/* NODATA is fine for any type; records are not. */
	query(&W, "allowed.test", DNS_TYPE_HTTPS, 0);
	assert_int_equal(parse_all(&W, NULL), DNS_OK);
	assert_int_equal(dns_build_answer(&Q, NULL, 0, 300, out, sizeof(out),
	    &outlen), 0);
}

static void
test_answer_misuse(void **state)
{
	struct dns_rr rrs[2];
	uint8_t out[512];
	size_t outlen;

	(void)state;
	query(&W, "allowed.test", DNS_TYPE_A, 0);
	assert_int_equal(parse_all(&W, NULL), DNS_OK);
	make_rrs(rrs, 2, AF_INET6, 60);
	assert_int_equal(dns_build_answer(&Q, rrs, 2, 300, out, sizeof(out),
	    &outlen), -1);
	assert_int_equal(errno, EINVAL);
	make_rrs(rrs, 2, AF_INET, 60);
	rrs[1].addr.family = AF_UNIX;
	assert_int_equal(dns_build_answer(&Q, rrs, 2, 300, out, sizeof(out),
	    &outlen), -1);
	assert_int_equal(errno, EINVAL);
	make_rrs(rrs, 2, AF_INET, 60);
	assert_int_equal(dns_build_answer(&Q, rrs, 2, 300, out, W.n - 1,
	    &outlen), -1);
	assert_int_equal(errno, ENOSPC);

	query(&W, "allowed.test", DNS_TYPE_TXT, 0);
	assert_int_equal(parse_all(&W, NULL), DNS_OK);
	assert_int_equal(dns_build_answer(&Q, rrs, 1, 300, out, sizeof(out),
	    &outlen), -1);
	assert_int_equal(errno, EINVAL);

	header(&W, 9, 0x0100, 1, 0, 0, 0);
	put_question(&W, "allowed.test", DNS_TYPE_A, 3);
	assert_int_equal(parse_all(&W, NULL), DNS_OK);
	assert_int_equal(dns_build_answer(&Q, rrs, 1, 300, out, sizeof(out),
	    &outlen), -1);

	header(&W, 7, 0x0100, 0, 0, 0, 0);
	assert_int_equal(parse_all(&W, NULL), DNS_FORMERR);
	assert_int_equal(dns_build_answer(&Q, NULL, 0, 300, out, sizeof(out),
	    &outlen), -1);
	assert_int_equal(errno, EINVAL);
}

static void
test_udp_truncation(void **state)
{
	static struct dns_rr rrs[100];
	static uint8_t out[DNS_MSG_MAX];
	size_t outlen, fit;
	ns_msg m;

	(void)state;
	query(&W, "allowed.test", DNS_TYPE_A, 0);
	assert_int_equal(parse_all(&W, NULL), DNS_OK);
	make_rrs(rrs, 100, AF_INET, 60);
	assert_int_equal(dns_build_answer(&Q, rrs, 100, 300, out,
	    dns_query_udp_max(&Q), &outlen), 0);
	assert_true(outlen <= 512);
	fit = (512 - W.n) / 16;
	assert_int_equal(outlen, W.n + fit * 16);
	resolv_parse(out, outlen, &m);
	assert_int_equal(ns_msg_getflag(m, ns_f_tc), 1);
	check_answers(&m, "allowed.test", rrs, fit, 300);

	/* Exactly fitting is not truncated. */
	assert_int_equal(dns_build_answer(&Q, rrs, fit, 300, out,
	    dns_query_udp_max(&Q), &outlen), 0);
	resolv_parse(out, outlen, &m);
	assert_int_equal(ns_msg_getflag(m, ns_f_tc), 0);

	/* EDNS 4096 is clamped to 1232; the OPT stays in. */
	query(&W, "allowed.test", DNS_TYPE_AAAA, 1);
	assert_int_equal(parse_all(&W, NULL), DNS_OK);
	make_rrs(rrs, 100, AF_INET6, 60);
	assert_int_equal(dns_build_answer(&Q, rrs, 100, 300, out,
	    dns_query_udp_max(&Q), &outlen), 0);
	assert_true(outlen <= DNS_EDNS_UDP_SIZE);
	fit = (DNS_EDNS_UDP_SIZE - W.n) / 28;
	assert_int_equal(outlen, W.n + fit * 28);
	resolv_parse(out, outlen, &m);
	assert_int_equal(ns_msg_getflag(m, ns_f_tc), 1);
	check_answers(&m, "allowed.test", rrs, fit, 300);
	check_opt(&m, 1, 0);

	/* Over TCP the same answer fits whole. */
	assert_int_equal(dns_build_answer(&Q, rrs, 100, 300, out, sizeof(out),
	    &outlen), 0);
	resolv_parse(out, outlen, &m);
	assert_int_equal(ns_msg_getflag(m, ns_f_tc), 0);
	check_answers(&m, "allowed.test", rrs, 100, 300);

	/* Room for the head only: no answers, TC. */
	assert_int_equal(dns_build_answer(&Q, rrs, 100, 300, out, W.n,
	    &outlen), 0);
	assert_int_equal(outlen, W.n);
	resolv_parse(out, outlen, &m);
	assert_int_equal(ns_msg_getflag(m, ns_f_tc), 1);
	assert_int_equal(ns_msg_count(m, ns_s_an), 0);
}

static void
test_tcp_frame(void **state)
{
	uint8_t buf[8] = { 0x00, 0x05, 1, 2, 3, 4, 5, 6 };
	size_t msglen = 99;

	(void)state;
	assert_int_equal(dns_tcp_frame_len(buf, 0, &msglen),
	    DNS_FRAME_NEED_MORE);
	assert_int_equal(msglen, 99);
	assert_int_equal(dns_tcp_frame_len(buf, 1, &msglen),
	    DNS_FRAME_NEED_MORE);
	assert_int_equal(dns_tcp_frame_len(buf, 2, &msglen),
	    DNS_FRAME_NEED_MORE);
	assert_int_equal(msglen, 5);
	assert_int_equal(dns_tcp_frame_len(buf, 6, &msglen),
	    DNS_FRAME_NEED_MORE);
	assert_int_equal(dns_tcp_frame_len(buf, 7, &msglen), DNS_FRAME_OK);
	assert_int_equal(msglen, 5);
	assert_int_equal(dns_tcp_frame_len(buf, 8, &msglen), DNS_FRAME_OK);
	buf[1] = 0;
	assert_int_equal(dns_tcp_frame_len(buf, 8, &msglen), DNS_FRAME_BAD);
	buf[0] = 0xff;
	buf[1] = 0xff;
	assert_int_equal(dns_tcp_frame_len(buf, 8, &msglen),
	    DNS_FRAME_NEED_MORE);
	assert_int_equal(msglen, 65535);

	dns_tcp_frame_put(buf, 300);
	assert_memory_equal(buf, "\x01\x2c", 2);
	dns_tcp_frame_put(buf, DNS_MSG_MAX);
	assert_memory_equal(buf, "\xff\xff", 2);
}

static void
test_names(void **state)
{
	char buf[DNS_TYPE_NAME_MAX];

	(void)state;
	assert_string_equal(dns_qtype_name(DNS_TYPE_A, buf), "A");
	assert_string_equal(dns_qtype_name(DNS_TYPE_AAAA, buf), "AAAA");
	assert_string_equal(dns_qtype_name(DNS_TYPE_TXT, buf), "TXT");
	assert_string_equal(dns_qtype_name(DNS_TYPE_ANY, buf), "ANY");
	assert_string_equal(dns_qtype_name(DNS_TYPE_MX, buf), "MX");
	assert_string_equal(dns_qtype_name(DNS_TYPE_CNAME, buf), "CNAME");
	assert_string_equal(dns_qtype_name(DNS_TYPE_NS, buf), "NS");
	assert_string_equal(dns_qtype_name(DNS_TYPE_PTR, buf), "PTR");
	assert_string_equal(dns_qtype_name(DNS_TYPE_SOA, buf), "SOA");
	assert_string_equal(dns_qtype_name(DNS_TYPE_SRV, buf), "SRV");
	assert_string_equal(dns_qtype_name(DNS_TYPE_HTTPS, buf), "HTTPS");
	assert_string_equal(dns_qtype_name(DNS_TYPE_SVCB, buf), "SVCB");
	assert_string_equal(dns_qtype_name(99, buf), "TYPE99");
	assert_string_equal(dns_qtype_name(65535, buf), "TYPE65535");

	assert_string_equal(dns_rcode_name(0), "NOERROR");
	assert_string_equal(dns_rcode_name(1), "FORMERR");
	assert_string_equal(dns_rcode_name(2), "SERVFAIL");
	assert_string_equal(dns_rcode_name(3), "NXDOMAIN");
	assert_string_equal(dns_rcode_name(4), "NOTIMP");
	assert_string_equal(dns_rcode_name(5), "REFUSED");
	assert_string_equal(dns_rcode_name(16), "BADVERS");
	assert_string_equal(dns_rcode_name(9), "unknown");

	assert_string_equal(dns_result_name(DNS_OK), "ok");
	assert_string_equal(dns_result_name(DNS_FORMERR), "formerr");
	assert_string_equal(dns_result_name(DNS_NOTIMP), "notimp");
	assert_string_equal(dns_result_name(DNS_REFUSED), "refused");
	assert_string_equal(dns_result_name(DNS_BADVERS), "badvers");
	assert_string_equal(dns_result_name(DNS_DROP), "drop");
	assert_string_equal(dns_result_name((enum dns_result)42), "unknown");
	assert_int_equal(dns_result_rcode(DNS_OK), -1);
	assert_int_equal(dns_result_rcode(DNS_FORMERR), DNS_RCODE_FORMERR);
	assert_int_equal(dns_result_rcode(DNS_REFUSED), DNS_RCODE_REFUSED);
}

/* The DNS event dedupe: one event per session, name and outcome per
 * window, and never a decision swallowed for another session. */
static void
test_dedupe(void **state)
{
	static struct dns_dedupe t;
	struct px_session a, cfg_src;

	(void)state;
	memset(&t, 0, sizeof(t));
	memset(&a, 0, sizeof(a));
	memset(&cfg_src, 0, sizeof(cfg_src));
	strcpy(a.id, "ses_aaaa");
	assert_int_equal(dns_dedupe_seen(&t, &a, "x.example", "not_allowlisted",
	    1000), 0);
	/* AAAA after A, a retry: the same decision. */
	assert_int_equal(dns_dedupe_seen(&t, &a, "x.example", "not_allowlisted",
	    1100), 1);
	assert_int_equal(dns_dedupe_seen(&t, &a, "y.example", "not_allowlisted",
	    1100), 0);
	assert_int_equal(dns_dedupe_seen(&t, &a, "x.example", "allowed", 1100),
	    0);
	/* A new session in the very same record (freed and reused at the
	 * same address): its first lookup is news. */
	strcpy(a.id, "ses_bbbb");
	assert_int_equal(dns_dedupe_seen(&t, &a, "x.example", "not_allowlisted",
	    1200), 0);
	/* The window ends. */
	assert_int_equal(dns_dedupe_seen(&t, &a, "x.example", "not_allowlisted",
	    1200 + DNSSERVER_DEDUPE_MS), 0);
	/* Config sources have no id: told apart by their record. */
	assert_int_equal(dns_dedupe_seen(&t, &cfg_src, "x.example",
	    "not_allowlisted", 5000), 0);
	assert_int_equal(dns_dedupe_seen(&t, &cfg_src, "x.example",
	    "not_allowlisted", 5001), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_allowed_a),
		cmocka_unit_test(test_parse_types),
		cmocka_unit_test(test_long_names),
		cmocka_unit_test(test_bad_labels),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_class),
		cmocka_unit_test(test_edns),
		cmocka_unit_test(test_additional),
		cmocka_unit_test(test_truncated_and_trailing),
		cmocka_unit_test(test_odd_names),
		cmocka_unit_test(test_canon_handoff),
		cmocka_unit_test(test_build_error),
		cmocka_unit_test(test_build_answer),
		cmocka_unit_test(test_ttl_cap),
		cmocka_unit_test(test_nodata),
		cmocka_unit_test(test_answer_misuse),
		cmocka_unit_test(test_udp_truncation),
		cmocka_unit_test(test_tcp_frame),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_dedupe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
