/*
 * proxyd/tls.c: ClientHellos built byte by byte here, split into records at
 * awkward places, cut short and broken one field at a time; plus real ones
 * captured from openssl s_client and curl, read from the fuzz corpus
 * (through $abs_top_srcdir, which make check exports, else relative to this
 * source file).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proxyd/tls.h"

#define WBUF	(3 * TLS_HELLO_CAP)

/* A tiny byte writer; lengths are patched in when a field is closed. */
struct bw {
	uint8_t	b[WBUF];
	size_t	n;
};

/* The parser's output is ~66 KiB: one, reused by every test. */
static struct tls_hello H;
static struct bw W1, W2, W3;

static void
put8(struct bw *w, unsigned v)
{
	assert_true(w->n < WBUF);
	w->b[w->n++] = (uint8_t)v;
}

static void
put16(struct bw *w, unsigned v)
{
	put8(w, v >> 8);
	put8(w, v & 0xff);
}

static void
put24(struct bw *w, unsigned v)
{
	put8(w, v >> 16);
	put16(w, v & 0xffff);
}

static void
put(struct bw *w, const void *p, size_t n)
{
	assert_true(n <= WBUF - w->n);
	memcpy(w->b + w->n, p, n);
	w->n += n;
}

static void
putfill(struct bw *w, unsigned byte, size_t n)
{
	while (n-- > 0)
		put8(w, byte);
}

static size_t
open16(struct bw *w)
{
	size_t at = w->n;

	put16(w, 0);
	return at;
}

static void
close16(struct bw *w, size_t at)
{
	size_t len = w->n - at - 2;

	assert_true(len <= 0xffff);
	w->b[at] = (uint8_t)(len >> 8);
	w->b[at + 1] = (uint8_t)len;
}

static void
ext_sni_raw(struct bw *w, const void *name, size_t len)
{
	size_t e, l;

	put16(w, TLS_EXT_SERVER_NAME);
	e = open16(w);
	l = open16(w);
	put8(w, 0);
	put16(w, (unsigned)len);
	put(w, name, len);
	close16(w, l);
	close16(w, e);
}

static void
ext_sni(struct bw *w, const char *name)
{
	ext_sni_raw(w, name, strlen(name));
}

static void
ext_alpn(struct bw *w, const char *const *protos, size_t n)
{
	size_t e, l, i;

	put16(w, TLS_EXT_ALPN);
	e = open16(w);
	l = open16(w);
	for (i = 0; i < n; i++) {
		put8(w, (unsigned)strlen(protos[i]));
		put(w, protos[i], strlen(protos[i]));
	}
	close16(w, l);
	close16(w, e);
}

/* A GREASE value first, as browsers send it. */
static void
ext_versions(struct bw *w)
{
	put16(w, TLS_EXT_SUPPORTED_VERSIONS);
	put16(w, 7);
	put8(w, 6);
	put16(w, 0x7a7a);
	put16(w, 0x0304);
	put16(w, 0x0303);
}

static void
ext_opaque(struct bw *w, unsigned type, unsigned byte, size_t len)
{
	put16(w, type);
	put16(w, (unsigned)len);
	putfill(w, byte, len);
}

/* A ClientHello body; exts NULL means no extensions block at all. */
static void
body_build(struct bw *w, size_t sid_len, const struct bw *exts)
{
	size_t at;

	w->n = 0;
	put16(w, 0x0303);
	putfill(w, 0x11, 32);
	put8(w, (unsigned)sid_len);
	putfill(w, 0x22, sid_len);
	put16(w, 4);
	put16(w, 0x1301);
	put16(w, 0xc02f);
	put8(w, 1);
	put8(w, 0);
	if (exts != NULL) {
		at = open16(w);
		put(w, exts->b, exts->n);
		close16(w, at);
	}
}

/*
 * The handshake message (type 1, 24-bit length, body) split into records
 * at the given offsets of that message, in ascending order.
 */
static void
records_build(struct bw *out, const struct bw *body, const size_t *cuts,
    size_t ncuts)
{
	static struct bw msg;
	size_t start = 0, end, i, at;

	msg.n = 0;
	put8(&msg, 1);
	put24(&msg, (unsigned)body->n);
	put(&msg, body->b, body->n);
	out->n = 0;
	for (i = 0; i <= ncuts; i++) {
		end = i < ncuts ? cuts[i] : msg.n;
		assert_true(end >= start && end <= msg.n);
		put8(out, 22);
		put16(out, 0x0301);
		at = open16(out);
		put(out, msg.b + start, end - start);
		close16(out, at);
		start = end;
	}
}

static enum tls_result
parse(const struct bw *w)
{
	return tls_parse_client_hello(w->b, w->n, NULL, &H);
}

/* The usual hello: SNI, ALPN h2 + http/1.1, supported_versions. */
static void
usual_exts(struct bw *e)
{
	static const char *const alpn[] = { "h2", "http/1.1" };

	e->n = 0;
	ext_opaque(e, 0x0a0a, 0, 0);		/* GREASE */
	ext_sni(e, "allowed.test");
	ext_opaque(e, 0x000a, 0x1d, 4);		/* supported_groups-ish */
	ext_alpn(e, alpn, 2);
	ext_versions(e);
}

static void
assert_bad(const struct bw *w, const char *why)
{
	assert_string_equal(tls_result_name(parse(w)), "bad");
	assert_non_null(H.why);
	assert_string_equal(H.why, why);
	assert_int_equal(H.has_sni, 0);
	assert_int_equal(H.consumed, 0);
}

/* Every strict prefix must ask for more; the whole input must not. */
static void
assert_prefixes_need_more(const uint8_t *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (tls_parse_client_hello(buf, i, NULL, &H) != TLS_NEED_MORE)
			fail_msg("prefix of %zu of %zu bytes: %s (%s)", i, len,
			    tls_result_name(tls_parse_client_hello(buf, i,
			    NULL, &H)), H.why ? H.why : "");
	}
}

static void
test_sni_minimal(void **state)
{
	static struct bw e;

	(void)state;
	e.n = 0;
	ext_sni(&e, "allowed.test");
	body_build(&W1, 0, &e);
	records_build(&W2, &W1, NULL, 0);
	assert_int_equal(parse(&W2), TLS_OK);
	assert_null(H.why);
	assert_int_equal(H.has_sni, 1);
	assert_string_equal(H.sni, "allowed.test");
	assert_int_equal(H.sni_len, 12);
	assert_int_equal(H.consumed, W2.n);
	assert_int_equal(H.records, 1);
	assert_int_equal(H.record_version, 0x0301);
	assert_int_equal(H.legacy_version, 0x0303);
	assert_int_equal(H.max_version, 0x0303);
	assert_int_equal(H.has_supported_versions, 0);
	assert_int_equal(H.has_tls13, 0);
	assert_int_equal(H.has_alpn, 0);
	assert_int_equal(H.alpn_count, 0);
	assert_int_equal(H.has_ech, 0);
}

static void
test_no_sni(void **state)
{
	static struct bw e;

	(void)state;
	e.n = 0;
	ext_opaque(&e, 0x0017, 0, 0);
	body_build(&W1, 32, &e);
	records_build(&W2, &W1, NULL, 0);
	assert_int_equal(parse(&W2), TLS_OK);
	assert_int_equal(H.has_sni, 0);
	assert_string_equal(H.sni, "");

	/* No extensions block at all (a TLS 1.0-era hello). */
	body_build(&W1, 0, NULL);
	records_build(&W2, &W1, NULL, 0);
	assert_int_equal(parse(&W2), TLS_OK);
	assert_int_equal(H.has_sni, 0);
	assert_int_equal(H.consumed, W2.n);

	/* An empty extensions block. */
	e.n = 0;
	body_build(&W1, 0, &e);
	records_build(&W2, &W1, NULL, 0);
	assert_int_equal(parse(&W2), TLS_OK);
}

static void
test_alpn(void **state)
{
	static const char *const many[] = {
		"h2", "http/1.1", "a", "b", "c", "d", "e", "f", "g", "h",
	};
	static const char *const long_first[] = {
		"a-protocol-name-that-is-33-bytes!", "h2",
	};
	static struct bw e;

	(void)state;
	usual_exts(&e);
	body_build(&W1, 32, &e);
	records_build(&W2, &W1, NULL, 0);
	assert_int_equal(parse(&W2), TLS_OK);
	assert_int_equal(H.has_alpn, 1);
	assert_int_equal(H.alpn_count, 2);
	assert_int_equal(H.alpn_truncated, 0);
	assert_string_equal(H.alpn[0], "h2");
	assert_int_equal(H.alpn_len[0], 2);
	assert_string_equal(H.alpn[1], "http/1.1");
	assert_int_equal(H.alpn_len[1], 8);

	/* Ten offered: the first eight kept, all ten checked. */
	e.n = 0;
	ext_alpn(&e, many, 10);
	body_build(&W1, 0, &e);
	records_build(&W2, &W1, NULL, 0);
	assert_int_equal(parse(&W2), TLS_OK);
	assert_int_equal(H.alpn_count, TLS_ALPN_MAX);
	assert_int_equal(H.alpn_truncated, 1);
	assert_string_equal(H.alpn[7], "f");

	/* A name longer than the table's slot is skipped, not cut. */
	assert_int_equal(strlen(long_first[0]), TLS_ALPN_NAME_MAX + 1);
	e.n = 0;
	ext_alpn(&e, long_first, 2);
	body_build(&W1, 0, &e);
	records_build(&W2, &W1, NULL, 0);
	assert_int_equal(parse(&W2), TLS_OK);
	assert_int_equal(H.alpn_count, 1);
	assert_int_equal(H.alpn_truncated, 1);
	assert_string_equal(H.alpn[0], "h2");
}

static void
test_ech_and_versions(void **state)
{
	static struct bw e;

	(void)state;
	usual_exts(&e);
	ext_opaque(&e, TLS_EXT_ECH, 0x42, 40);
	body_build(&W1, 32, &e);
	records_build(&W2, &W1, NULL, 0);
	assert_int_equal(parse(&W2), TLS_OK);
	assert_int_equal(H.has_ech, 1);
	assert_int_equal(H.has_supported_versions, 1);
	assert_int_equal(H.has_tls13, 1);
	assert_int_equal(H.max_version, 0x0304);
	assert_int_equal(H.legacy_version, 0x0303);
	assert_string_equal(H.sni, "allowed.test");

	/* Only GREASE and a draft number: nothing 3.x, so legacy_version. */
	e.n = 0;
	put16(&e, TLS_EXT_SUPPORTED_VERSIONS);
	put16(&e, 5);
	put8(&e, 4);
	put16(&e, 0x1a1a);
	put16(&e, 0x7f1c);
	body_build(&W1, 0, &e);
	records_build(&W2, &W1, NULL, 0);
	assert_int_equal(parse(&W2), TLS_OK);
	assert_int_equal(H.has_supported_versions, 1);
	assert_int_equal(H.has_tls13, 0);
	assert_int_equal(H.max_version, 0x0303);
}

/* Offset of needle in the handshake message (record header excluded). */
static size_t
msg_offset(const struct bw *one_record, const char *needle)
{
	size_t n = strlen(needle), i;

	for (i = 5; i + n <= one_record->n; i++)
		if (memcmp(one_record->b + i, needle, n) == 0)
			return i - 5;
	fail_msg("%s not found", needle);
	return 0;
}

static void
test_fragmented(void **state)
{
	static struct bw e;
	size_t name, cuts[2], i;

	(void)state;
	usual_exts(&e);
	body_build(&W1, 32, &e);
	records_build(&W2, &W1, NULL, 0);
	name = msg_offset(&W2, "allowed.test");

	/* Two records, split inside the handshake header. */
	cuts[0] = 2;
	records_build(&W3, &W1, cuts, 1);
	assert_int_equal(W3.n, W2.n + 5);
	assert_int_equal(parse(&W3), TLS_OK);
	assert_int_equal(H.records, 2);
	assert_int_equal(H.consumed, W3.n);
	assert_string_equal(H.sni, "allowed.test");
	assert_int_equal(H.alpn_count, 2);
	assert_int_equal(H.max_version, 0x0304);
	assert_prefixes_need_more(W3.b, W3.n);

	/* Three: one byte of header, then a cut in the middle of the name. */
	cuts[0] = 1;
	cuts[1] = name + 5;
	records_build(&W3, &W1, cuts, 2);
	assert_int_equal(parse(&W3), TLS_OK);
	assert_int_equal(H.records, 3);
	assert_int_equal(H.consumed, W3.n);
	assert_string_equal(H.sni, "allowed.test");
	assert_string_equal(H.alpn[1], "http/1.1");
	assert_prefixes_need_more(W3.b, W3.n);

	/* Three: the header whole in the first, the SNI length cut in two. */
	cuts[0] = 4;
	cuts[1] = name - 1;
	records_build(&W3, &W1, cuts, 2);
	assert_int_equal(parse(&W3), TLS_OK);
	assert_string_equal(H.sni, "allowed.test");

	/* One byte per record, the pathological extreme. */
	{
		size_t n = W2.n - 5, *many = calloc(n, sizeof(*many));

		assert_non_null(many);
		for (i = 0; i + 1 < n; i++)
			many[i] = i + 1;
		records_build(&W3, &W1, many, n - 1);
		free(many);
	}
	assert_int_equal(parse(&W3), TLS_OK);
	assert_int_equal(H.records, W2.n - 5);
	assert_int_equal(H.consumed, W3.n);
	assert_string_equal(H.sni, "allowed.test");
}

static void
test_prefixes_need_more(void **state)
{
	static struct bw e;

	(void)state;
	usual_exts(&e);
	body_build(&W1, 32, &e);
	records_build(&W2, &W1, NULL, 0);
	assert_prefixes_need_more(W2.b, W2.n);
	assert_int_equal(parse(&W2), TLS_OK);
	assert_int_equal(tls_parse_client_hello(NULL, 0, NULL, &H),
	    TLS_NEED_MORE);
}

/* What follows the hello (here a CCS and early data) is not read. */
static void
test_trailing_records(void **state)
{
	static struct bw e;
	size_t hello_len;

	(void)state;
	usual_exts(&e);
	body_build(&W1, 32, &e);
	records_build(&W2, &W1, NULL, 0);
	hello_len = W2.n;
	put(&W2, "\x14\x03\x03\x00\x01\x01", 6);
	put(&W2, "\x17\x03\x03\x00\x03xyz", 8);
	assert_int_equal(parse(&W2), TLS_OK);
	assert_int_equal(H.consumed, hello_len);
	assert_string_equal(H.sni, "allowed.test");
}

static void
test_bad_records(void **state)
{
	static struct bw e;
	size_t cuts[1] = { 20 };

	(void)state;
	e.n = 0;
	ext_sni(&e, "allowed.test");
	body_build(&W1, 0, &e);

	records_build(&W2, &W1, NULL, 0);
	W2.b[0] = 23;
	assert_bad(&W2, "not a handshake record");
	/* Decided on the very first byte. */
	assert_int_equal(tls_parse_client_hello(W2.b, 1, NULL, &H), TLS_BAD);

	records_build(&W2, &W1, NULL, 0);
	W2.b[1] = 2;
	assert_bad(&W2, "record version major is not 3");
	assert_int_equal(tls_parse_client_hello(W2.b, 2, NULL, &H), TLS_BAD);

	records_build(&W2, &W1, NULL, 0);
	W2.b[3] = 0;
	W2.b[4] = 0;
	assert_bad(&W2, "empty handshake record");

	/* A zero-length record in the middle of the hello. */
	records_build(&W2, &W1, cuts, 1);
	memmove(W2.b + 25 + 5, W2.b + 25, W2.n - 25);
	memcpy(W2.b + 25, "\x16\x03\x01\x00\x00", 5);
	W2.n += 5;
	assert_bad(&W2, "empty handshake record");

	/* An alert (or CCS, or data) before the hello is complete. */
	records_build(&W2, &W1, cuts, 1);
	W2.b[25] = 21;
	assert_bad(&W2, "non-handshake record before the ClientHello ended");
	records_build(&W2, &W1, cuts, 1);
	W2.b[25] = 20;
	assert_bad(&W2, "non-handshake record before the ClientHello ended");

	W2.n = 0;
	put(&W2, "\x16\x03\x01\x40\x01", 5);
	assert_bad(&W2, "record longer than 16384");

	records_build(&W2, &W1, NULL, 0);
	W2.b[5] = 2;
	assert_bad(&W2, "handshake is not a ClientHello");

	/* A second handshake message after the hello, in the same record. */
	records_build(&W2, &W1, NULL, 0);
	put(&W2, "\x0b\x00\x00\x00", 4);
	W2.b[3] = (uint8_t)((W2.n - 5) >> 8);
	W2.b[4] = (uint8_t)(W2.n - 5);
	assert_bad(&W2, "data after the ClientHello in its record");
}

static void
test_bad_body(void **state)
{
	static struct bw e;

	(void)state;
	e.n = 0;
	ext_sni(&e, "allowed.test");

	body_build(&W1, 0, &e);
	W1.b[0] = 2;
	records_build(&W2, &W1, NULL, 0);
	assert_bad(&W2, "legacy_version major is not 3");

	body_build(&W1, 33, &e);
	records_build(&W2, &W1, NULL, 0);
	assert_bad(&W2, "session_id longer than 32");

	/* Odd cipher_suites: 3 bytes (the 4th byte becomes compression). */
	body_build(&W1, 0, &e);
	W1.b[2 + 32 + 1 + 1] = 3;
	records_build(&W2, &W1, NULL, 0);
	assert_bad(&W2, "bad cipher_suites length");

	body_build(&W1, 0, &e);
	W1.b[2 + 32 + 1 + 1] = 0;
	records_build(&W2, &W1, NULL, 0);
	assert_bad(&W2, "bad cipher_suites length");

	body_build(&W1, 0, &e);
	W1.b[2 + 32 + 1 + 2 + 4] = 0;
	records_build(&W2, &W1, NULL, 0);
	assert_bad(&W2, "no compression methods");

	/* The body ends inside the random. */
	body_build(&W1, 0, &e);
	W1.n = 20;
	records_build(&W2, &W1, NULL, 0);
	assert_bad(&W2, "ClientHello truncated");

	W1.n = 0;
	records_build(&W2, &W1, NULL, 0);
	assert_bad(&W2, "ClientHello truncated");

	/* The session_id runs past the body. */
	body_build(&W1, 0, NULL);
	W1.n = 2 + 32 + 1;
	W1.b[34] = 5;
	put(&W1, "abc", 3);
	records_build(&W2, &W1, NULL, 0);
	assert_bad(&W2, "ClientHello truncated");
}

/* Offset of the extensions block's length in a body_build() body. */
#define EXTS_AT	(2 + 32 + 1 + 2 + 4 + 1 + 1)

static void
test_bad_extensions(void **state)
{
	static struct bw e;

	(void)state;

	/* The block's total one more, one less, and a lone trailing byte. */
	e.n = 0;
	ext_sni(&e, "allowed.test");
	body_build(&W1, 0, &e);
	W1.b[EXTS_AT + 1]++;
	records_build(&W2, &W1, NULL, 0);
	assert_bad(&W2, "extensions length mismatch");
	W1.b[EXTS_AT + 1] -= 2;
	records_build(&W2, &W1, NULL, 0);
	assert_bad(&W2, "extensions length mismatch");
	body_build(&W1, 0, NULL);
	put8(&W1, 0);
	records_build(&W2, &W1, NULL, 0);
	assert_bad(&W2, "extensions length mismatch");

	/* The last extension's length overflows the block by one. */
	e.n = 0;
	ext_sni(&e, "allowed.test");
	ext_opaque(&e, 0x0017, 0x33, 3);
	e.b[e.n - 3 - 1]++;
	body_build(&W1, 0, &e);
	records_build(&W2, &W1, NULL, 0);
	assert_bad(&W2, "extension longer than the extensions");

	/* Three bytes left: not even an extension header. */
	e.n = 0;
	ext_sni(&e, "allowed.test");
	put(&e, "\x00\x17\x00", 3);
	body_build(&W1, 0, &e);
	records_build(&W2, &W1, NULL, 0);
	assert_bad(&W2, "extension header truncated");

	e.n = 0;
	ext_sni(&e, "allowed.test");
	ext_sni(&e, "other.test");
	body_build(&W1, 0, &e);
	records_build(&W2, &W1, NULL, 0);
	assert_bad(&W2, "duplicate extension");

	e.n = 0;
	ext_opaque(&e, 0xfe0d, 0, 1);
	ext_sni(&e, "allowed.test");
	ext_opaque(&e, 0xfe0d, 0, 1);
	body_build(&W1, 0, &e);
	records_build(&W2, &W1, NULL, 0);
	assert_bad(&W2, "duplicate extension");
}

static void
sni_hello(const void *ext, size_t len)
{
	static struct bw e;

	e.n = 0;
	put(&e, ext, len);
	body_build(&W1, 0, &e);
	records_build(&W2, &W1, NULL, 0);
}

static void
test_bad_sni(void **state)
{
	static struct bw e;
	char name[300];

	(void)state;

	/* Two host_name entries in one list. */
	sni_hello("\x00\x00\x00\x0d\x00\x0b"
	    "\x00\x00\x03" "a.b" "\x00\x00\x02" "cd", 17);
	assert_bad(&W2, "more than one host_name");

	sni_hello("\x00\x00\x00\x02\x00\x00", 6);
	assert_bad(&W2, "empty server_name list");
	sni_hello("\x00\x00\x00\x00", 4);
	assert_bad(&W2, "server_name list length mismatch");
	sni_hello("\x00\x00\x00\x08\x00\x07\x00\x00\x03" "a.b", 12);
	assert_bad(&W2, "server_name list length mismatch");
	sni_hello("\x00\x00\x00\x07\x00\x05\x00\x00\x03" "ab", 11);
	assert_bad(&W2, "server_name entry truncated");
	sni_hello("\x00\x00\x00\x08\x00\x06\x01\x00\x03" "a.b", 12);
	assert_bad(&W2, "server_name type is not host_name");

	e.n = 0;
	ext_sni_raw(&e, "", 0);
	sni_hello(e.b, e.n);
	assert_bad(&W2, "empty host_name");

	memset(name, 'a', sizeof(name));
	e.n = 0;
	ext_sni_raw(&e, name, 256);
	sni_hello(e.b, e.n);
	assert_bad(&W2, "host_name longer than 255");
	e.n = 0;
	ext_sni_raw(&e, name, 255);
	sni_hello(e.b, e.n);
	assert_int_equal(parse(&W2), TLS_OK);
	assert_int_equal(H.sni_len, 255);
	assert_int_equal(strlen(H.sni), 255);

	e.n = 0;
	ext_sni_raw(&e, "allowed.test\0.evil", 18);
	sni_hello(e.b, e.n);
	assert_bad(&W2, "host_name is not printable ASCII");
	e.n = 0;
	ext_sni_raw(&e, "allowed.test ", 13);
	sni_hello(e.b, e.n);
	assert_bad(&W2, "host_name is not printable ASCII");
	e.n = 0;
	ext_sni_raw(&e, "b\xc3\xbc" "cher.test", 11);
	sni_hello(e.b, e.n);
	assert_bad(&W2, "host_name is not printable ASCII");

	/* Passed raw: case and a trailing dot are the caller's to fold. */
	e.n = 0;
	ext_sni(&e, "Allowed.TEST.");
	sni_hello(e.b, e.n);
	assert_int_equal(parse(&W2), TLS_OK);
	assert_string_equal(H.sni, "Allowed.TEST.");
}

static void
test_bad_alpn_versions(void **state)
{
	(void)state;
	sni_hello("\x00\x10\x00\x02\x00\x00", 6);
	assert_bad(&W2, "empty ALPN list");
	sni_hello("\x00\x10\x00\x01\x00", 5);
	assert_bad(&W2, "ALPN list length mismatch");
	sni_hello("\x00\x10\x00\x05\x00\x04\x02h2", 9);
	assert_bad(&W2, "ALPN list length mismatch");
	sni_hello("\x00\x10\x00\x05\x00\x03\x00\x01x", 9);
	assert_bad(&W2, "empty ALPN protocol name");
	sni_hello("\x00\x10\x00\x05\x00\x03\x03h2", 9);
	assert_bad(&W2, "ALPN protocol name truncated");

	sni_hello("\x00\x2b\x00\x04\x03\x03\x04\x03", 8);
	assert_bad(&W2, "bad supported_versions length");
	sni_hello("\x00\x2b\x00\x01\x00", 5);
	assert_bad(&W2, "bad supported_versions length");
	sni_hello("\x00\x2b\x00\x03\x04\x03\x04", 7);
	assert_bad(&W2, "supported_versions length mismatch");
	sni_hello("\x00\x2b\x00\x00", 4);
	assert_bad(&W2, "supported_versions length mismatch");
}

static void
test_limits(void **state)
{
	static struct bw e;
	struct tls_limits lim = { 0 };
	size_t cuts[4], i;

	(void)state;

	/* A body of exactly the default limit is fine; one more is not. */
	e.n = 0;
	ext_sni(&e, "allowed.test");
	ext_opaque(&e, 0x0015, 0, 0);
	body_build(&W1, 0, &e);
	i = TLS_HELLO_DEFAULT - W1.n;
	e.b[e.n - 2] = (uint8_t)(i >> 8);
	e.b[e.n - 1] = (uint8_t)i;
	putfill(&e, 0, i);
	body_build(&W1, 0, &e);
	assert_int_equal(W1.n, TLS_HELLO_DEFAULT);
	cuts[0] = TLS_RECORD_MAX;
	records_build(&W2, &W1, cuts, 1);
	assert_int_equal(parse(&W2), TLS_OK);
	assert_int_equal(H.records, 2);
	assert_string_equal(H.sni, "allowed.test");

	e.b[e.n - i - 1]++;
	put8(&e, 0);
	body_build(&W1, 0, &e);
	assert_int_equal(W1.n, TLS_HELLO_DEFAULT + 1);
	records_build(&W2, &W1, cuts, 1);
	assert_bad(&W2, "ClientHello too large");
	/* Known from the first record, before the rest arrives. */
	assert_int_equal(tls_parse_client_hello(W2.b, TLS_RECORD_MAX + 5,
	    NULL, &H), TLS_BAD);

	lim.max_hello = TLS_HELLO_DEFAULT + 1;
	assert_int_equal(tls_parse_client_hello(W2.b, W2.n, &lim, &H), TLS_OK);
	lim.max_hello = 0;
	assert_int_equal(tls_parse_client_hello(W2.b, W2.n, &lim, &H), TLS_BAD);

	/* A small configured limit. */
	lim.max_hello = 100;
	e.n = 0;
	ext_sni(&e, "allowed.test");
	body_build(&W1, 32, &e);
	records_build(&W2, &W1, NULL, 0);
	assert_int_equal(tls_parse_client_hello(W2.b, W2.n, &lim, &H), TLS_OK);
	ext_opaque(&e, 0x0015, 0, 100);
	body_build(&W1, 32, &e);
	records_build(&W2, &W1, NULL, 0);
	assert_int_equal(tls_parse_client_hello(W2.b, W2.n, &lim, &H), TLS_BAD);
	assert_string_equal(H.why, "ClientHello too large");

	/* Above the cap, the cap: a 64 KiB body in five records passes,
	 * a handshake length of 64 KiB + 1 does not. */
	lim.max_hello = 1u << 20;
	e.n = 0;
	ext_sni(&e, "allowed.test");
	ext_opaque(&e, 0x0015, 0, 0);
	body_build(&W1, 0, &e);
	i = TLS_HELLO_CAP - W1.n;
	e.b[e.n - 2] = (uint8_t)(i >> 8);
	e.b[e.n - 1] = (uint8_t)i;
	putfill(&e, 0, i);
	body_build(&W1, 0, &e);
	assert_int_equal(W1.n, TLS_HELLO_CAP);
	for (i = 0; i < 4; i++)
		cuts[i] = (i + 1) * TLS_RECORD_MAX;
	records_build(&W2, &W1, cuts, 4);
	assert_int_equal(tls_parse_client_hello(W2.b, W2.n, &lim, &H), TLS_OK);
	assert_int_equal(H.records, 5);
	assert_string_equal(H.sni, "allowed.test");
	W2.b[5 + 1] = 0x01;
	W2.b[5 + 2] = 0x00;
	W2.b[5 + 3] = 0x01;
	assert_int_equal(tls_parse_client_hello(W2.b, W2.n, &lim, &H), TLS_BAD);
	assert_string_equal(H.why, "ClientHello too large");
}

/* A committed corpus file, found as the replay driver finds it. */
static size_t
corpus_read(const char *name, uint8_t *buf, size_t size)
{
	const char *top = getenv("abs_top_srcdir");
	char path[4096];
	FILE *f;
	size_t n;
	int len;

	if (top != NULL && *top != '\0') {
		len = snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/tls/%s",
		    top, name);
	} else {
		const char *file = __FILE__, *slash = strrchr(file, '/');

		len = snprintf(path, sizeof(path),
		    "%.*s/../fuzz/corpus/tls/%s",
		    slash != NULL ? (int)(slash - file) : 1,
		    slash != NULL ? file : ".", name);
	}
	assert_true(len > 0 && (size_t)len < sizeof(path));
	if ((f = fopen(path, "rb")) == NULL)
		fail_msg("cannot open %s (set abs_top_srcdir)", path);
	n = fread(buf, 1, size, f);
	assert_false(ferror(f));
	fclose(f);
	assert_true(n > 0 && n < size);
	return n;
}

static void
test_real_openssl(void **state)
{
	size_t n;

	(void)state;
	/* openssl s_client -servername allowed.test -alpn h2,http/1.1 */
	n = corpus_read("real_openssl_sni_alpn", W1.b, sizeof(W1.b));
	W1.n = n;
	assert_int_equal(parse(&W1), TLS_OK);
	assert_int_equal(H.consumed, n);
	assert_int_equal(H.has_sni, 1);
	assert_string_equal(H.sni, "allowed.test");
	assert_int_equal(H.alpn_count, 2);
	assert_string_equal(H.alpn[0], "h2");
	assert_string_equal(H.alpn[1], "http/1.1");
	assert_int_equal(H.has_tls13, 1);
	assert_int_equal(H.max_version, 0x0304);
	assert_int_equal(H.legacy_version, 0x0303);
	assert_int_equal(H.record_version, 0x0301);
	assert_int_equal(H.has_ech, 0);
	assert_prefixes_need_more(W1.b, W1.n);

	/* openssl s_client -noservername */
	W1.n = corpus_read("real_openssl_nosni", W1.b, sizeof(W1.b));
	assert_int_equal(parse(&W1), TLS_OK);
	assert_int_equal(H.has_sni, 0);
	assert_int_equal(H.has_alpn, 0);

	/* openssl s_client -tls1_2: no supported_versions */
	W1.n = corpus_read("real_openssl_tls12", W1.b, sizeof(W1.b));
	assert_int_equal(parse(&W1), TLS_OK);
	assert_string_equal(H.sni, "allowed.test");
	assert_int_equal(H.has_supported_versions, 0);
	assert_int_equal(H.max_version, 0x0303);

	/* curl https://allowed.test/ (padded to 512 bytes) */
	W1.n = corpus_read("real_curl", W1.b, sizeof(W1.b));
	assert_int_equal(parse(&W1), TLS_OK);
	assert_string_equal(H.sni, "allowed.test");
	assert_int_equal(H.has_tls13, 1);
	assert_int_equal(H.alpn_count, 2);
	assert_string_equal(H.alpn[0], "h2");
	assert_int_equal(H.consumed, W1.n);
}

static void
test_alert_record(void **state)
{
	uint8_t out[TLS_ALERT_RECORD_LEN];

	(void)state;
	assert_int_equal(tls_alert_record(out, TLS_ALERT_FATAL,
	    TLS_ALERT_ACCESS_DENIED), 7);
	assert_memory_equal(out, "\x15\x03\x03\x00\x02\x02\x31", 7);
	tls_alert_record(out, TLS_ALERT_FATAL, TLS_ALERT_UNRECOGNIZED_NAME);
	assert_memory_equal(out, "\x15\x03\x03\x00\x02\x02\x70", 7);
}

static void
test_result_names(void **state)
{
	(void)state;
	assert_string_equal(tls_result_name(TLS_NEED_MORE), "need_more");
	assert_string_equal(tls_result_name(TLS_OK), "ok");
	assert_string_equal(tls_result_name(TLS_BAD), "bad");
	assert_string_equal(tls_result_name((enum tls_result)42), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sni_minimal),
		cmocka_unit_test(test_no_sni),
		cmocka_unit_test(test_alpn),
		cmocka_unit_test(test_ech_and_versions),
		cmocka_unit_test(test_fragmented),
		cmocka_unit_test(test_prefixes_need_more),
		cmocka_unit_test(test_trailing_records),
		cmocka_unit_test(test_bad_records),
		cmocka_unit_test(test_bad_body),
		cmocka_unit_test(test_bad_extensions),
		cmocka_unit_test(test_bad_sni),
		cmocka_unit_test(test_bad_alpn_versions),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_real_openssl),
		cmocka_unit_test(test_alert_record),
		cmocka_unit_test(test_result_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
