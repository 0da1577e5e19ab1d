/*
 * Fuzz target for common/hostname.c.
 *
 * Input convention (corpus files in tests/fuzz/corpus/hostname/):
 *   first byte with the low bit set, e.g. 'C':  the rest is a host name to
 *       canonicalise;
 *   first byte with the low bit clear, e.g. 'P':  the rest is
 *       "<pattern>\n<host>\n<port>"; the pattern is parsed, the host
 *       canonicalised and matched against it on <port> (decimal, taken
 *       modulo 65536; 443 if absent).
 * Every broken invariant aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/hostname.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)	do { if (!(x)) abort(); } while (0)

static void
fuzz_check_canonical(const char *s)
{
	size_t i, n = strlen(s);

	CHECK(n > 0 && n <= HOSTNAME_MAX);
	CHECK(s[0] != '.' && s[n - 1] != '.');
	for (i = 0; i < n; i++) {
		CHECK((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '.');
		CHECK(!(s[i] == '.' && s[i + 1] == '.'));
	}
}

/* True if in[0..len) could be read as a pattern without ports or stars. */
static int
fuzz_plain_name(const char *in, size_t len)
{
	return memchr(in, ':', len) == NULL && memchr(in, '*', len) == NULL &&
	    (len == 0 || in[0] != '[');
}

static void
fuzz_canon(const char *in, size_t len)
{
	char out[HOSTNAME_MAX + 1], again[HOSTNAME_MAX + 1];
	char dotted[HOSTNAME_MAX + 2], sub[HOSTNAME_MAX + 3];
	struct host_pattern p;
	const char *why = NULL;
	size_t n;
	int rc, rc2;

	rc = hostname_canon(in, len, out, &why);
	if (rc == -1) {
		CHECK(why != NULL && out[0] == '\0');
		if (fuzz_plain_name(in, len))
			CHECK(host_pattern_parse(in, len, &p, NULL) == -1);
		return;
	}
	CHECK(rc == HOSTNAME_OK || rc == HOSTNAME_IS_IP_LITERAL);
	fuzz_check_canonical(out);
	n = strlen(out);
	CHECK(n <= len);

	rc2 = hostname_canon(out, n, again, NULL);
	CHECK(rc2 == rc && strcmp(again, out) == 0);
	memcpy(dotted, out, n);
	dotted[n] = '.';
	rc2 = hostname_canon(dotted, n + 1, again, NULL);
	CHECK(rc2 == rc && strcmp(again, out) == 0);

	if (fuzz_plain_name(in, len)) {
		rc2 = host_pattern_parse(in, len, &p, NULL);
		if (rc == HOSTNAME_IS_IP_LITERAL) {
			CHECK(rc2 == -1);
			return;
		}
		CHECK(rc2 == 0 && !p.wildcard && p.port == 0 &&
		    strcmp(p.suffix, out) == 0);
		CHECK(host_pattern_match(&p, out, 80) == 1);
		CHECK(host_pattern_match(&p, out, 443) == 1);
		CHECK(host_pattern_match(&p, out, 8443) == 0);
		p.wildcard = 1;
		CHECK(host_pattern_match(&p, out, 443) == 0);
		if (n + 2 <= HOSTNAME_MAX) {
			sub[0] = 'a';
			sub[1] = '.';
			memcpy(sub + 2, out, n + 1);
			CHECK(host_pattern_match(&p, sub, 443) == 1);
			sub[0] = '-';
			sub[1] = 'x';
			CHECK(host_pattern_match(&p, sub, 443) == 0);
		}
	}
}

/* A second, obviously correct matcher to compare against. */
static int
fuzz_reference_match(const struct host_pattern *p, const char *host,
    uint16_t port)
{
	const char *dot;

	if (p->port == 0 && port != 80 && port != 443)
		return 0;
	if (p->port != 0 && port != p->port)
		return 0;
	if (!p->wildcard)
		return strcmp(host, p->suffix) == 0;
	for (dot = strchr(host, '.'); dot != NULL; dot = strchr(dot + 1, '.'))
		if (dot != host && strcmp(dot + 1, p->suffix) == 0)
			return 1;
	return 0;
}

static void
fuzz_pattern(const char *in, size_t len)
{
	char buf[HOST_PATTERN_FORMAT_MAX], canon[HOSTNAME_MAX + 1];
	char raw[HOSTNAME_MAX + 8];
	const char *host = "", *nl, *portp = NULL;
	size_t plen = len, hlen = 0, i;
	struct host_pattern p, q;
	const char *why = NULL;
	unsigned int port = 443;
	int n;

	if ((nl = memchr(in, '\n', len)) != NULL) {
		plen = (size_t)(nl - in);
		host = nl + 1;
		hlen = len - plen - 1;
		if ((nl = memchr(host, '\n', hlen)) != NULL) {
			portp = nl + 1;
			hlen = (size_t)(nl - host);
		}
	}
	if (portp != NULL) {
		port = 0;
		for (i = 0; portp + i < in + len; i++)
			if (portp[i] >= '0' && portp[i] <= '9')
				port = (port * 10 + (unsigned)(portp[i] - '0')) %
				    65536;
	}

	if (host_pattern_parse(in, plen, &p, &why) == -1) {
		CHECK(why != NULL && p.suffix[0] == '\0');
		return;
	}
	CHECK(hostname_canon(p.suffix, strlen(p.suffix), canon, NULL) ==
	    HOSTNAME_OK && strcmp(canon, p.suffix) == 0);
	CHECK(p.wildcard == 0 || p.wildcard == 1);

	n = host_pattern_format(&p, buf, sizeof(buf));
	CHECK(n > 0 && (size_t)n < sizeof(buf) && strlen(buf) == (size_t)n);
	CHECK(host_pattern_parse(buf, (size_t)n, &q, NULL) == 0);
	CHECK(q.wildcard == p.wildcard && q.port == p.port &&
	    strcmp(q.suffix, p.suffix) == 0);

	if (hostname_canon(host, hlen, canon, NULL) >= 0)
		CHECK(host_pattern_match(&p, canon, (uint16_t)port) ==
		    fuzz_reference_match(&p, canon, (uint16_t)port));

	/* Non-canonical input must not crash the matcher. */
	if (hlen > sizeof(raw) - 1)
		hlen = sizeof(raw) - 1;
	memcpy(raw, host, hlen);
	raw[hlen] = '\0';
	(void)host_pattern_match(&p, raw, (uint16_t)port);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 1)
		fuzz_canon((const char *)data + 1, size - 1);
	else
		fuzz_pattern((const char *)data + 1, size - 1);
	return 0;
}
