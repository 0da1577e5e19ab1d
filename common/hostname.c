/*
 * Host names as they reach the proxy (HTTP Host, TLS SNI) and as tenants
 * write them in allow lists.  DNS hostnames only: no underscores, no raw
 * UTF-8, no IP literals in patterns.
 */
#include <stdio.h>
#include <string.h>

#include "common/hostname.h"

static int
hostname_fail(const char **why, const char *msg)
{
	if (why != NULL)
		*why = msg;
	return -1;
}

static int
hostname_is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int
hostname_is_hex(unsigned char c)
{
	return hostname_is_digit(c) || (c >= 'a' && c <= 'f');
}

/* Mirrors what inet_aton() and URL parsers treat as a number: 123, 0x7f, 0x. */
static int
hostname_label_is_numeric(const char *label, size_t len)
{
	size_t i = 0;

	if (len >= 2 && label[0] == '0' && label[1] == 'x') {
		for (i = 2; i < len; i++)
			if (!hostname_is_hex((unsigned char)label[i]))
				return 0;
		return 1;
	}
	for (i = 0; i < len; i++)
		if (!hostname_is_digit((unsigned char)label[i]))
			return 0;
	return 1;
}

/* Checks a finished label in out[start..end); NULL if it is fine. */
static const char *
hostname_label_check(const char *out, size_t start, size_t end)
{
	size_t n = end - start;

	if (n == 0)
		return "empty label";
	if (n == 4 && memcmp(out + start, "xn--", 4) == 0)
		return "empty punycode label";
	if (out[end - 1] == '-')
		return "label ends with a hyphen";
	return NULL;
}

int
hostname_canon(const char *in, size_t len, char out[HOSTNAME_MAX + 1],
    const char **why)
{
	const char *msg;
	size_t n = len, i, label = 0;
	unsigned char c;

	out[0] = '\0';
	if (n > 0 && in[n - 1] == '.')
		n--;
	if (n == 0)
		return hostname_fail(why, "empty name");
	if (n > HOSTNAME_MAX)
		return hostname_fail(why, "name longer than 253 bytes");

	for (i = 0; i < n; i++) {
		c = (unsigned char)in[i];
		if (c == '.') {
			if ((msg = hostname_label_check(out, label, i)) != NULL)
				goto fail;
			out[i] = '.';
			label = i + 1;
			continue;
		}
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (c == '\0')
			msg = "NUL byte in name";
		else if (c >= 0x80)
			msg = "non-ASCII byte in name (use xn-- punycode)";
		else if (c == '_')
			msg = "underscore in name";
		else if (!(hostname_is_digit(c) || (c >= 'a' && c <= 'z') ||
		    c == '-'))
			msg = "invalid character in name";
		else if (c == '-' && i == label)
			msg = "label starts with a hyphen";
		else if (i - label >= HOSTNAME_LABEL_MAX)
			msg = "label longer than 63 bytes";
		else
			msg = NULL;
		if (msg != NULL)
			goto fail;
		out[i] = (char)c;
	}
	if ((msg = hostname_label_check(out, label, n)) != NULL)
		goto fail;
	out[n] = '\0';

	if (hostname_label_is_numeric(out + label, n - label))
		return HOSTNAME_IS_IP_LITERAL;
	return HOSTNAME_OK;

fail:
	out[0] = '\0';
	return hostname_fail(why, msg);
}

/* Strict decimal so "x.com:080" or "x.com:+80" never means something odd. */
static int
host_pattern_parse_port(const char *s, size_t len, uint16_t *port,
    const char **why)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0)
		return hostname_fail(why, "empty port");
	for (i = 0; i < len; i++)
		if (!hostname_is_digit((unsigned char)s[i]))
			return hostname_fail(why, "port is not a decimal number");
	if (s[0] == '0' && len > 1)
		return hostname_fail(why, "port has a leading zero");
	if (len > 5)
		return hostname_fail(why, "port out of range (1..65535)");
	for (i = 0; i < len; i++)
		v = v * 10 + (unsigned long)(s[i] - '0');
	if (v < 1 || v > 65535)
		return hostname_fail(why, "port out of range (1..65535)");
	*port = (uint16_t)v;
	return 0;
}

int
host_pattern_parse(const char *s, size_t len, struct host_pattern *out,
    const char **why)
{
	const char *ip = "IP literals cannot be allowed";
	const char *colon = NULL;
	size_t hlen = len, i, ncolon = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return hostname_fail(why, "empty pattern");
	if (s[0] == '[')
		return hostname_fail(why, ip);
	for (i = 0; i < len; i++) {
		if (s[i] == ':') {
			if (colon == NULL)
				colon = s + i;
			ncolon++;
		}
	}
	if (ncolon > 1)
		return hostname_fail(why, ip);
	if (colon != NULL) {
		hlen = (size_t)(colon - s);
		if (host_pattern_parse_port(colon + 1, len - hlen - 1,
		    &out->port, why) == -1)
			goto fail;
	}

	if (hlen > 0 && s[0] == '*') {
		if (hlen == 1) {
			hostname_fail(why, "bare wildcard");
			goto fail;
		}
		if (s[1] != '.') {
			hostname_fail(why,
			    "wildcard must be a whole leading label");
			goto fail;
		}
		s += 2;
		hlen -= 2;
		if (hlen == 0) {
			hostname_fail(why, "wildcard without a domain");
			goto fail;
		}
		out->wildcard = 1;
	}
	if (memchr(s, '*', hlen) != NULL) {
		hostname_fail(why, "wildcard allowed only as the first label");
		goto fail;
	}

	rc = hostname_canon(s, hlen, out->suffix, why);
	if (rc == HOSTNAME_IS_IP_LITERAL) {
		hostname_fail(why, ip);
		goto fail;
	}
	if (rc != HOSTNAME_OK)
		goto fail;
	return 0;

fail:
	memset(out, 0, sizeof(*out));
	return -1;
}

int
host_pattern_match(const struct host_pattern *p, const char *canon_host,
    uint16_t port)
{
	size_t hl, sl;

	if (p->port == 0 ? port != 80 && port != 443 : port != p->port)
		return 0;
	hl = strnlen(canon_host, HOSTNAME_MAX + 1);
	if (hl > HOSTNAME_MAX)
		return 0;
	if (!p->wildcard)
		return strcmp(canon_host, p->suffix) == 0;
	/* At least one whole label, ending at a dot, in front of the suffix. */
	sl = strlen(p->suffix);
	return hl > sl + 1 && canon_host[hl - sl - 1] == '.' &&
	    memcmp(canon_host + hl - sl, p->suffix, sl) == 0;
}

int
host_pattern_format(const struct host_pattern *p, char *buf, size_t size)
{
	const char *star = p->wildcard ? "*." : "";

	if (p->port != 0)
		return snprintf(buf, size, "%s%s:%u", star, p->suffix,
		    (unsigned int)p->port);
	return snprintf(buf, size, "%s%s", star, p->suffix);
}
