#include <string.h>

#include "proxyd/sniff.h"

/* Methods of RFC 9110 plus PATCH: HTTP from their first bytes. Other
 * methods are HTTP too once the request line shows it (below). */
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

/* RFC 9110 tchar. */
static int
sniff_is_tchar(uint8_t c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int
sniff_is_alpha(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/*
 * A request line whatever its method: token SP+, then a target that
 * starts like one ('/', '*' or scheme "://"), or any target followed by
 * SP+ "HTTP/". Origin servers take methods we have no name for (nginx
 * answers "BREW /host" with the Host it was given), so were such a request
 * raw TCP it would be spliced, unjudged, to an address resolved for an
 * allowed name: another site on a shared address (domain fronting). As
 * HTTP its Host is judged, and what the parser cannot read is refused.
 */
static enum sniff_kind
sniff_request_line(const uint8_t *buf, size_t len)
{
	static const char version[] = "HTTP/";
	size_t i = 0, t, v;

	while (i < len && sniff_is_tchar(buf[i]))
		i++;
	if (i == len)
		return SNIFF_NEED_MORE;
	if (i == 0 || buf[i] != ' ')
		return SNIFF_RAW;
	while (i < len && buf[i] == ' ')
		i++;
	if (i == len)
		return SNIFF_NEED_MORE;
	if (buf[i] == '/' || buf[i] == '*')
		return SNIFF_HTTP;
	if (sniff_is_alpha(buf[i])) {
		for (t = i + 1; t < len && (sniff_is_alpha(buf[t]) ||
		    (buf[t] >= '0' && buf[t] <= '9') || buf[t] == '+' ||
		    buf[t] == '-' || buf[t] == '.'); t++)
			;
		if (t + 3 <= len && memcmp(buf + t, "://", 3) == 0)
			return SNIFF_HTTP;
	}
	while (i < len && buf[i] > 0x20 && buf[i] < 0x7f)
		i++;
	if (i == len)
		return SNIFF_NEED_MORE;
	if (buf[i] != ' ')
		return SNIFF_RAW;
	while (i < len && buf[i] == ' ')
		i++;
	for (v = 0; v < sizeof(version) - 1; v++, i++) {
		if (i == len)
			return SNIFF_NEED_MORE;
		if (buf[i] != (uint8_t)version[v])
			return SNIFF_RAW;
	}
	return SNIFF_HTTP;
}

enum sniff_kind
sniff_classify(const uint8_t *buf, size_t len)
{
	enum sniff_kind k;

	if (len == 0)
		return SNIFF_NEED_MORE;
	if (buf[0] == 0x16)
		return sniff_tls(buf, len);
	/* Empty lines before a request: servers skip any number of them
	 * (and bare LFs); the parser allows one CRLF and refuses the rest. */
	if (buf[0] == '\r' || buf[0] == '\n')
		return SNIFF_HTTP;
	k = sniff_http(buf, len);
	if (k == SNIFF_HTTP)
		return k;
	return sniff_request_line(buf, len);
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
