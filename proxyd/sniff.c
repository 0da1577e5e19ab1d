#include <string.h>

#include "proxyd/sniff.h"

/* Methods of RFC 9110 plus PATCH. Unknown methods are not HTTP to us: the
 * connection is judged as raw TCP, which is the stricter rule. */
static const char *const http_methods[] = {
	"GET ", "HEAD ", "POST ", "PUT ", "DELETE ", "CONNECT ", "OPTIONS ",
	"TRACE ", "PATCH ",
};

static enum sniff_kind
sniff_http(const uint8_t *buf, size_t len)
{
	size_t i, mlen;
	int prefix = 0;

	for (i = 0; i < sizeof(http_methods) / sizeof(http_methods[0]); i++) {
		mlen = strlen(http_methods[i]);
		if (len >= mlen) {
			if (memcmp(buf, http_methods[i], mlen) == 0)
				return SNIFF_HTTP;
		} else if (memcmp(buf, http_methods[i], len) == 0) {
			prefix = 1;
		}
	}
	return prefix ? SNIFF_NEED_MORE : SNIFF_RAW;
}

/* A TLS record header: type 22 (handshake), legacy version 3.x where x is
 * 0..4; the first handshake message must be a ClientHello (type 1). */
static enum sniff_kind
sniff_tls(const uint8_t *buf, size_t len)
{
	if (buf[0] != 0x16)
		return SNIFF_RAW;
	if (len < 2)
		return SNIFF_NEED_MORE;
	if (buf[1] != 0x03)
		return SNIFF_RAW;
	if (len < 3)
		return SNIFF_NEED_MORE;
	if (buf[2] > 0x04)
		return SNIFF_RAW;
	if (len < 6)
		return SNIFF_NEED_MORE;
	return buf[5] == 0x01 ? SNIFF_TLS : SNIFF_RAW;
}

enum sniff_kind
sniff_classify(const uint8_t *buf, size_t len)
{
	if (len == 0)
		return SNIFF_NEED_MORE;
	if (buf[0] == 0x16)
		return sniff_tls(buf, len);
	return sniff_http(buf, len);
}

const char *
sniff_kind_name(enum sniff_kind kind)
{
	switch (kind) {
	case SNIFF_NEED_MORE:
		return "need_more";
	case SNIFF_HTTP:
		return "http";
	case SNIFF_TLS:
		return "tls";
	case SNIFF_RAW:
		return "raw";
	}
	return "unknown";
}
