/*
 * The TLS ClientHello, read (never answered) by the transparent proxy.
 *
 * The proxy peeks at a client's first bytes, learns the SNI, ALPN and a few
 * flags from the ClientHello, decides, and then forwards the very same bytes
 * to the server. TLS is never terminated here. Pure functions: no
 * allocation, no logging, no global state; input is never read past len.
 */
#ifndef ENCLAVE_PROXYD_TLS_H
#define ENCLAVE_PROXYD_TLS_H

#include <stddef.h>
#include <stdint.h>

/* tls_parse_client_hello() results. */
enum tls_result {
	TLS_NEED_MORE = 0,	/* a valid prefix: call again with more bytes */
	TLS_OK,			/* a whole ClientHello was read; out is filled */
	TLS_BAD,		/* not a ClientHello we accept; out->why says */
};

#define TLS_RECORD_MAX		16384	/* plaintext record payload (RFC 8446) */
#define TLS_HELLO_DEFAULT	16384	/* default tls_limits.max_hello */
#define TLS_HELLO_CAP		65536	/* largest max_hello; size of scratch */
#define TLS_SNI_MAX		255	/* bytes of the host_name */
#define TLS_ALPN_MAX		8	/* protocols kept */
#define TLS_ALPN_NAME_MAX	32	/* bytes of a kept protocol name */

#define TLS_EXT_SERVER_NAME		0x0000
#define TLS_EXT_ALPN			0x0010
#define TLS_EXT_SUPPORTED_VERSIONS	0x002b
#define TLS_EXT_ECH			0xfe0d

struct tls_limits {
	/* Largest ClientHello body (the handshake length field) accepted;
	 * 0 means TLS_HELLO_DEFAULT, larger than TLS_HELLO_CAP is clamped. */
	size_t		max_hello;
};

/*
 * What a ClientHello says. Everything is a copy: nothing points into the
 * caller's buffer or into scratch once the call returns, so one struct per
 * event-loop thread (it is ~66 KiB: heap or static, not a small stack)
 * serves every connection.
 */
struct tls_hello {
	const char	*why;		/* TLS_BAD: static reason; else NULL */
	size_t		 consumed;	/* TLS_OK: bytes of the records that
					   carried the ClientHello */
	size_t		 records;	/* TLS_OK: how many records that was */
	uint16_t	 record_version; /* of the first record */
	uint16_t	 legacy_version; /* ClientHello.legacy_version */
	uint16_t	 max_version;	/* highest 3.x in supported_versions
					   (GREASE ignored), else
					   legacy_version */
	int		 has_supported_versions;
	int		 has_tls13;	/* supported_versions lists 0x0304 */
	int		 has_ech;	/* encrypted_client_hello (0xfe0d) */

	int		 has_sni;	/* 0: no server_name extension */
	size_t		 sni_len;	/* 1..TLS_SNI_MAX when has_sni */
	char		 sni[TLS_SNI_MAX + 1]; /* raw bytes 0x21..0x7e, NUL-
					   terminated; canonicalise with
					   hostname_canon() */

	int		 has_alpn;	/* the ALPN extension is present */
	size_t		 alpn_count;	/* protocols kept, <= TLS_ALPN_MAX */
	int		 alpn_truncated; /* more, or longer, protocols were
					   offered than were kept */
	size_t		 alpn_len[TLS_ALPN_MAX];
	char		 alpn[TLS_ALPN_MAX][TLS_ALPN_NAME_MAX + 1];
					/* NUL-terminated; opaque bytes, so
					   use alpn_len, not strlen() */

	/* Reassembly space for a ClientHello split across records. */
	uint8_t		 scratch[TLS_HELLO_CAP];
};

/*
 * Read the ClientHello at the start of buf[0..len), the raw client-to-
 * server byte stream (TLS records; the handshake message may be split
 * across several). lim may be NULL for the defaults. Returns TLS_NEED_MORE
 * for a valid prefix (no bytes of a verdict are missing: call again with
 * the same start and more bytes), TLS_OK with out filled in, or TLS_BAD
 * with out->why set. A verdict on a prefix never changes with more bytes.
 */
enum tls_result tls_parse_client_hello(const uint8_t *buf, size_t len,
    const struct tls_limits *lim, struct tls_hello *out);

/* Alert levels and the descriptions the deny path uses (RFC 8446 6). */
#define TLS_ALERT_WARNING		1
#define TLS_ALERT_FATAL			2
#define TLS_ALERT_HANDSHAKE_FAILURE	40
#define TLS_ALERT_ACCESS_DENIED		49
#define TLS_ALERT_DECODE_ERROR		50
#define TLS_ALERT_PROTOCOL_VERSION	70
#define TLS_ALERT_INTERNAL_ERROR	80
#define TLS_ALERT_UNRECOGNIZED_NAME	112

#define TLS_ALERT_RECORD_LEN	7

/*
 * Write a plaintext alert record (type 21, version 0x0303, length 2, level,
 * description) into out; returns TLS_ALERT_RECORD_LEN.
 */
size_t tls_alert_record(uint8_t out[TLS_ALERT_RECORD_LEN], uint8_t level,
    uint8_t description);

/* "need_more", "ok", "bad" — for logs and tests. */
const char *tls_result_name(enum tls_result result);

#endif /* ENCLAVE_PROXYD_TLS_H */
