#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxyd/tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Inputs up to this size have every prefix re-parsed; longer ones a sample. */
#define FUZZ_ALL_PREFIXES	512
#define FUZZ_PREFIX_SAMPLES	64

/* ~66 KiB each: too big for the stack of a fuzzer's callback. */
static struct tls_hello full, part;

/* What a proxy decision depends on: equal, or the parser is not a function
 * of the bytes it judged. */
static int
hello_same(const struct tls_hello *a, const struct tls_hello *b)
{
	size_t k;

	if (a->consumed != b->consumed || a->records != b->records ||
	    a->has_sni != b->has_sni || a->sni_len != b->sni_len ||
	    strcmp(a->sni, b->sni) != 0 || a->has_ech != b->has_ech ||
	    a->max_version != b->max_version || a->has_tls13 != b->has_tls13 ||
	    a->has_alpn != b->has_alpn || a->alpn_count != b->alpn_count ||
	    a->alpn_truncated != b->alpn_truncated)
		return 0;
	for (k = 0; k < a->alpn_count; k++)
		if (a->alpn_len[k] != b->alpn_len[k] ||
		    memcmp(a->alpn[k], b->alpn[k], a->alpn_len[k]) != 0)
			return 0;
	return 1;
}

static void
check_hello(enum tls_result rc, const struct tls_hello *h, size_t size)
{
	size_t i, k;

	switch (rc) {
	case TLS_NEED_MORE:
		if (h->why != NULL || h->has_sni)
			abort();
		return;
	case TLS_BAD:
		if (h->why == NULL || h->has_sni || h->consumed != 0)
			abort();
		return;
	case TLS_OK:
		break;
	default:
		abort();
	}
	if (h->why != NULL || h->records == 0 || h->consumed > size ||
	    h->consumed < 5 + 4 + 41)
		abort();
	if (h->has_sni) {
		if (h->sni_len == 0 || h->sni_len > TLS_SNI_MAX ||
		    strlen(h->sni) != h->sni_len)
			abort();
		for (i = 0; i < h->sni_len; i++)
			if ((uint8_t)h->sni[i] < 0x21 || (uint8_t)h->sni[i] > 0x7e)
				abort();
	} else if (h->sni_len != 0 || h->sni[0] != '\0') {
		abort();
	}
	if (h->alpn_count > TLS_ALPN_MAX || (!h->has_alpn && h->alpn_count))
		abort();
	for (k = 0; k < h->alpn_count; k++)
		if (h->alpn_len[k] == 0 || h->alpn_len[k] > TLS_ALPN_NAME_MAX ||
		    h->alpn[k][h->alpn_len[k]] != '\0')
			abort();
	if (h->has_tls13 && h->max_version < 0x0304)
		abort();
}

/*
 * Invariants: results are well-formed; a verdict reached on a prefix is
 * the verdict on the whole (the proxy decides on a prefix and forwards the
 * rest unread); an OK is decided exactly at `consumed`; a smaller limit
 * only ever turns an answer into "too large".
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct tls_limits small = { 256 };
	size_t i, step;
	enum tls_result rc, prc;

	rc = tls_parse_client_hello(data, size, NULL, &full);
	check_hello(rc, &full, size);

	step = size <= FUZZ_ALL_PREFIXES ? 1 : size / FUZZ_PREFIX_SAMPLES;
	for (i = 0; i < size; i += step) {
		prc = tls_parse_client_hello(data, i, NULL, &part);
		check_hello(prc, &part, i);
		if (prc == TLS_NEED_MORE)
			continue;
		if (prc != rc)
			abort();
		if (prc == TLS_OK && !hello_same(&part, &full))
			abort();
		if (prc == TLS_BAD && strcmp(part.why, full.why) != 0)
			abort();
	}
	if (rc == TLS_OK) {
		if (tls_parse_client_hello(data, full.consumed - 1, NULL,
		    &part) != TLS_NEED_MORE)
			abort();
		if (tls_parse_client_hello(data, full.consumed, NULL,
		    &part) != TLS_OK || !hello_same(&part, &full))
			abort();
	}

	prc = tls_parse_client_hello(data, size, &small, &part);
	check_hello(prc, &part, size);
	if (prc == TLS_OK && (rc != TLS_OK || !hello_same(&part, &full)))
		abort();
	if (prc == TLS_NEED_MORE && rc != TLS_NEED_MORE)
		abort();
	if (prc == TLS_BAD && strcmp(part.why, "ClientHello too large") != 0 &&
	    (rc != TLS_BAD || strcmp(part.why, full.why) != 0))
		abort();
	return 0;
}
