#include <stddef.h>
#include <string.h>

#include "proxyd/tls.h"

#define TLS_CT_HANDSHAKE	22
#define TLS_CT_ALERT		21
#define TLS_HS_CLIENT_HELLO	1
#define TLS_RECORD_HDR		5
#define TLS_HS_HDR		4
#define TLS_RANDOM_LEN		32
#define TLS_SESSION_ID_MAX	32

/* A bounded reader over one byte range; every read checks what is left. */
struct tls_cur {
	const uint8_t	*p;
	size_t		 len;
	size_t		 off;
};

static size_t
cur_left(const struct tls_cur *c)
{
	return c->len - c->off;
}

static int
cur_u8(struct tls_cur *c, size_t *v)
{
	if (cur_left(c) < 1)
		return -1;
	*v = c->p[c->off++];
	return 0;
}

static int
cur_u16(struct tls_cur *c, size_t *v)
{
	if (cur_left(c) < 2)
		return -1;
	*v = (size_t)c->p[c->off] << 8 | c->p[c->off + 1];
	c->off += 2;
	return 0;
}

/* Carves the next n bytes off c as their own reader, so a length-prefixed
 * field can never be parsed past its own end. */
static int
cur_sub(struct tls_cur *c, size_t n, struct tls_cur *sub)
{
	if (cur_left(c) < n)
		return -1;
	sub->p = c->p + c->off;
	sub->len = n;
	sub->off = 0;
	c->off += n;
	return 0;
}

static void
hello_clear(struct tls_hello *out)
{
	memset(out, 0, offsetof(struct tls_hello, scratch));
}

static enum tls_result
hello_bad(struct tls_hello *out, const char *why)
{
	hello_clear(out);
	out->why = why;
	return TLS_BAD;
}

/*
 * Walks the records at the start of buf and finds the ClientHello body.
 * Only whole records are read, so a verdict depends on bytes that a longer
 * input has too. A body inside one record is used in place; one split
 * across records is copied into out->scratch.
 */
static enum tls_result
hello_gather(const uint8_t *buf, size_t len, size_t max_hello,
    struct tls_hello *out, const uint8_t **body, size_t *body_len)
{
	uint8_t hdr[TLS_HS_HDR];
	size_t hdr_got = 0, body_got = 0, hs_len = 0, pos = 0;
	size_t avail, rlen, off, n;
	const uint8_t *frag;

	*body = out->scratch;
	for (;;) {
		if (pos == len)
			return TLS_NEED_MORE;
		avail = len - pos;
		if (buf[pos] != TLS_CT_HANDSHAKE)
			return hello_bad(out, out->records == 0 ?
			    "not a handshake record" :
			    "non-handshake record before the ClientHello ended");
		if (avail < 2)
			return TLS_NEED_MORE;
		if (buf[pos + 1] != 3)
			return hello_bad(out, "record version major is not 3");
		if (avail < TLS_RECORD_HDR)
			return TLS_NEED_MORE;
		rlen = (size_t)buf[pos + 3] << 8 | buf[pos + 4];
		if (rlen == 0)
			return hello_bad(out, "empty handshake record");
		if (rlen > TLS_RECORD_MAX)
			return hello_bad(out, "record longer than 16384");
		if (avail - TLS_RECORD_HDR < rlen)
			return TLS_NEED_MORE;

		if (out->records++ == 0)
			out->record_version =
			    (uint16_t)(buf[pos + 1] << 8 | buf[pos + 2]);
		frag = buf + pos + TLS_RECORD_HDR;
		pos += TLS_RECORD_HDR + rlen;
		off = 0;

		if (hdr_got < TLS_HS_HDR) {
			while (hdr_got < TLS_HS_HDR && off < rlen)
				hdr[hdr_got++] = frag[off++];
			if (hdr_got < TLS_HS_HDR)
				continue;
			if (hdr[0] != TLS_HS_CLIENT_HELLO)
				return hello_bad(out, "handshake is not a ClientHello");
			hs_len = (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
			if (hs_len > max_hello)
				return hello_bad(out, "ClientHello too large");
			if (rlen - off >= hs_len) {
				*body = frag + off;
				off += hs_len;
				body_got = hs_len;
			}
		}

		if (body_got < hs_len) {
			n = rlen - off;
			if (n > hs_len - body_got)
				n = hs_len - body_got;
			memcpy(out->scratch + body_got, frag + off, n);
			body_got += n;
			off += n;
		}
		if (body_got < hs_len)
			continue;
		/* No client sends a second handshake message in its first
		 * flight; the server might read one we never judged. */
		if (off != rlen)
			return hello_bad(out, "data after the ClientHello in its record");
		out->consumed = pos;
		*body_len = hs_len;
		return TLS_OK;
	}
}

/* RFC 6066 3: a list with exactly one host_name, the only name type there
 * is; an unknown type could not even be skipped reliably. */
static const char *
hello_sni(struct tls_cur *ext, struct tls_hello *out)
{
	struct tls_cur list, name;
	size_t list_len, type, nlen, i;
	uint8_t ch;

	if (cur_u16(ext, &list_len) == -1 || list_len != cur_left(ext))
		return "server_name list length mismatch";
	if (list_len == 0)
		return "empty server_name list";
	(void)cur_sub(ext, list_len, &list);
	while (cur_left(&list) > 0) {
		if (cur_u8(&list, &type) == -1 || cur_u16(&list, &nlen) == -1 ||
		    cur_sub(&list, nlen, &name) == -1)
			return "server_name entry truncated";
		if (type != 0)
			return "server_name type is not host_name";
		if (out->has_sni)
			return "more than one host_name";
		if (nlen == 0)
			return "empty host_name";
		if (nlen > TLS_SNI_MAX)
			return "host_name longer than 255";
		for (i = 0; i < nlen; i++) {
			ch = name.p[i];
			if (ch < 0x21 || ch > 0x7e)
				return "host_name is not printable ASCII";
			out->sni[i] = (char)ch;
		}
		out->sni[nlen] = '\0';
		out->sni_len = nlen;
		out->has_sni = 1;
	}
	return NULL;
}

/* RFC 7301 3.1: a non-empty list of non-empty names. All of it is checked;
 * what does not fit the fixed table is dropped and flagged. */
static const char *
hello_alpn(struct tls_cur *ext, struct tls_hello *out)
{
	struct tls_cur list, name;
	size_t list_len, nlen, k;

	if (cur_u16(ext, &list_len) == -1 || list_len != cur_left(ext))
		return "ALPN list length mismatch";
	if (list_len == 0)
		return "empty ALPN list";
	(void)cur_sub(ext, list_len, &list);
	out->has_alpn = 1;
	while (cur_left(&list) > 0) {
		if (cur_u8(&list, &nlen) == -1 || cur_sub(&list, nlen, &name) == -1)
			return "ALPN protocol name truncated";
		if (nlen == 0)
			return "empty ALPN protocol name";
		if (out->alpn_count == TLS_ALPN_MAX || nlen > TLS_ALPN_NAME_MAX) {
			out->alpn_truncated = 1;
			continue;
		}
		k = out->alpn_count++;
		memcpy(out->alpn[k], name.p, nlen);
		out->alpn[k][nlen] = '\0';
		out->alpn_len[k] = nlen;
	}
	return NULL;
}

/* RFC 8446 4.2.1, the ClientHello form. GREASE values (0x?a?a) and
 * anything not 3.x do not count toward the maximum. */
static const char *
hello_versions(struct tls_cur *ext, struct tls_hello *out)
{
	size_t vlen, v;

	if (cur_u8(ext, &vlen) == -1 || vlen != cur_left(ext))
		return "supported_versions length mismatch";
	if (vlen < 2 || vlen % 2 != 0)
		return "bad supported_versions length";
	out->has_supported_versions = 1;
	while (cur_u16(ext, &v) == 0) {
		if (v >> 8 != 3)
			continue;
		if (v == 0x0304)
			out->has_tls13 = 1;
		if (v > out->max_version)
			out->max_version = (uint16_t)v;
	}
	return NULL;
}

/* Extension types already seen, one bit each: exact duplicate detection
 * without a cap on how many extensions a hello may carry. */
struct ext_seen {
	uint8_t	bits[65536 / 8];
};

static const char *
hello_extensions(struct tls_cur *c, struct tls_hello *out)
{
	struct ext_seen seen;
	struct tls_cur ext;
	size_t total, type, elen;
	const char *why = NULL;

	if (cur_u16(c, &total) == -1 || total != cur_left(c))
		return "extensions length mismatch";
	memset(&seen, 0, sizeof(seen));
	while (why == NULL && cur_left(c) > 0) {
		if (cur_u16(c, &type) == -1 || cur_u16(c, &elen) == -1)
			return "extension header truncated";
		if (cur_sub(c, elen, &ext) == -1)
			return "extension longer than the extensions";
		if (seen.bits[type / 8] & (1u << (type % 8)))
			return "duplicate extension";
		seen.bits[type / 8] |= (uint8_t)(1u << (type % 8));
		switch (type) {
		case TLS_EXT_SERVER_NAME:
			why = hello_sni(&ext, out);
			break;
		case TLS_EXT_ALPN:
			why = hello_alpn(&ext, out);
			break;
		case TLS_EXT_SUPPORTED_VERSIONS:
			why = hello_versions(&ext, out);
			break;
		case TLS_EXT_ECH:
			out->has_ech = 1;
			break;
		default:
			break;
		}
	}
	return why;
}

/* RFC 8446 4.1.2 with the TLS 1.2 fields' own bounds; extensions are
 * optional but, when present, must fill the rest of the body exactly. */
static const char *
hello_body(const uint8_t *body, size_t body_len, struct tls_hello *out)
{
	struct tls_cur c = { body, body_len, 0 }, skip;
	size_t version, n;

	if (cur_u16(&c, &version) == -1)
		return "ClientHello truncated";
	if (version >> 8 != 3)
		return "legacy_version major is not 3";
	out->legacy_version = (uint16_t)version;
	if (cur_sub(&c, TLS_RANDOM_LEN, &skip) == -1)
		return "ClientHello truncated";
	if (cur_u8(&c, &n) == -1)
		return "ClientHello truncated";
	if (n > TLS_SESSION_ID_MAX)
		return "session_id longer than 32";
	if (cur_sub(&c, n, &skip) == -1)
		return "ClientHello truncated";
	if (cur_u16(&c, &n) == -1)
		return "ClientHello truncated";
	if (n < 2 || n % 2 != 0)
		return "bad cipher_suites length";
	if (cur_sub(&c, n, &skip) == -1)
		return "ClientHello truncated";
	if (cur_u8(&c, &n) == -1)
		return "ClientHello truncated";
	if (n < 1)
		return "no compression methods";
	if (cur_sub(&c, n, &skip) == -1)
		return "ClientHello truncated";
	if (cur_left(&c) == 0)
		return NULL;
	return hello_extensions(&c, out);
}

enum tls_result
tls_parse_client_hello(const uint8_t *buf, size_t len,
    const struct tls_limits *lim, struct tls_hello *out)
{
	size_t max_hello = TLS_HELLO_DEFAULT, body_len = 0;
	const uint8_t *body;
	const char *why;
	enum tls_result rc;

	if (lim != NULL && lim->max_hello != 0)
		max_hello = lim->max_hello < TLS_HELLO_CAP ?
		    lim->max_hello : TLS_HELLO_CAP;
	hello_clear(out);
	if ((rc = hello_gather(buf, len, max_hello, out, &body,
	    &body_len)) != TLS_OK) {
		if (rc == TLS_NEED_MORE)
			hello_clear(out);
		return rc;
	}
	if ((why = hello_body(body, body_len, out)) != NULL)
		return hello_bad(out, why);
	if (out->max_version == 0)
		out->max_version = out->legacy_version;
	return TLS_OK;
}

size_t
tls_alert_record(uint8_t out[TLS_ALERT_RECORD_LEN], uint8_t level,
    uint8_t description)
{
	out[0] = TLS_CT_ALERT;
	out[1] = 0x03;
	out[2] = 0x03;
	out[3] = 0x00;
	out[4] = 0x02;
	out[5] = level;
	out[6] = description;
	return TLS_ALERT_RECORD_LEN;
}

const char *
tls_result_name(enum tls_result result)
{
	switch (result) {
	case TLS_NEED_MORE:
		return "need_more";
	case TLS_OK:
		return "ok";
	case TLS_BAD:
		return "bad";
	}
	return "unknown";
}
