#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/hostname.h"

/* Canonicalises a C string, asserting the result code and output. */
static void
canon_ok(const char *in, int want_rc, const char *want)
{
	char out[HOSTNAME_MAX + 1];
	const char *why = NULL;

	assert_int_equal(hostname_canon(in, strlen(in), out, &why), want_rc);
	assert_string_equal(out, want);
}

static void
canon_bad(const char *in, size_t len, const char *want_why)
{
	char out[HOSTNAME_MAX + 1];
	const char *why = NULL;

	assert_int_equal(hostname_canon(in, len, out, &why), -1);
	assert_non_null(why);
	assert_string_equal(out, "");
	if (want_why != NULL)
		assert_string_equal(why, want_why);
}

static void
canon_bad_str(const char *in, const char *want_why)
{
	canon_bad(in, strlen(in), want_why);
}

/* n bytes of c, NUL-terminated, into buf. */
static char *
fill(char *buf, char c, size_t n)
{
	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

/* A name of exactly total bytes: 63-byte labels, then a shorter last one. */
static char *
name_of_length(char *buf, size_t total)
{
	size_t i = 0, lab = 0;

	for (i = 0; i < total; i++) {
		if (lab == 63 && i + 1 < total) {
			buf[i] = '.';
			lab = 0;
		} else {
			buf[i] = 'a';
			lab++;
		}
	}
	buf[total] = '\0';
	return buf;
}

static void
test_canon_case_and_trailing_dot(void **state)
{
	(void)state;
	canon_ok("Example.COM", HOSTNAME_OK, "example.com");
	canon_ok("LOGIN.INTERNAL.EXAMPLE.COM.", HOSTNAME_OK,
	    "login.internal.example.com");
	canon_ok("localhost", HOSTNAME_OK, "localhost");
	canon_ok("a-b.c--d.e9", HOSTNAME_OK, "a-b.c--d.e9");
	canon_bad_str("example.com..", "empty label");
	canon_bad_str(".", "empty name");
	canon_bad_str("", "empty name");
	canon_bad_str("..", "empty label");
	canon_bad_str(".example.com", "empty label");
	canon_bad_str("a..b", "empty label");
}

static void
test_canon_hyphens(void **state)
{
	(void)state;
	canon_bad_str("-a.com", "label starts with a hyphen");
	canon_bad_str("a.-b.com", "label starts with a hyphen");
	canon_bad_str("a-.com", "label ends with a hyphen");
	canon_bad_str("a.com-", "label ends with a hyphen");
	canon_bad_str("-", "label starts with a hyphen");
}

static void
test_canon_label_length(void **state)
{
	char label[70], name[80];

	(void)state;
	fill(label, 'A', 63);
	snprintf(name, sizeof(name), "%s.com", label);
	canon_ok(name, HOSTNAME_OK, strcat(fill(label, 'a', 63), ".com"));

	fill(label, 'a', 64);
	snprintf(name, sizeof(name), "%s.com", label);
	canon_bad_str(name, "label longer than 63 bytes");
	snprintf(name, sizeof(name), "x.%s", label);
	canon_bad_str(name, "label longer than 63 bytes");
}

static void
test_canon_name_length(void **state)
{
	char name[260], dotted[270];

	(void)state;
	name_of_length(name, 253);
	assert_int_equal(strlen(name), 253);
	canon_ok(name, HOSTNAME_OK, name);

	snprintf(dotted, sizeof(dotted), "%s.", name);
	assert_int_equal(strlen(dotted), 254);
	canon_ok(dotted, HOSTNAME_OK, name);

	snprintf(dotted, sizeof(dotted), "%s..", name);
	canon_bad_str(dotted, NULL);

	name_of_length(name, 254);
	canon_bad_str(name, "name longer than 253 bytes");
	snprintf(dotted, sizeof(dotted), "%s.", name);
	canon_bad_str(dotted, "name longer than 253 bytes");
}

static void
test_canon_charset(void **state)
{
	(void)state;
	canon_bad_str("b\xc3\xbc" "cher.de", "non-ASCII byte in name (use xn-- punycode)");
	canon_bad_str("\xff.com", NULL);
	canon_ok("xn--bcher-kva.de", HOSTNAME_OK, "xn--bcher-kva.de");
	canon_ok("XN--BCHER-KVA.DE.", HOSTNAME_OK, "xn--bcher-kva.de");
	canon_bad_str("xn--.de", "empty punycode label");
	canon_bad_str("www.xn--", "empty punycode label");
	canon_bad_str("_dmarc.example.com", "underscore in name");
	canon_bad_str("a_b.com", "underscore in name");
	canon_bad_str("a b.com", "invalid character in name");
	canon_bad_str("*.com", "invalid character in name");
	canon_bad_str("a.com:80", "invalid character in name");
	canon_bad_str("a/b", "invalid character in name");
	canon_bad_str("a\tb", "invalid character in name");
}

static void
test_canon_embedded_nul(void **state)
{
	(void)state;
	canon_bad("a\0b.com", 7, "NUL byte in name");
	canon_bad("example.com\0", 12, "NUL byte in name");
	canon_bad("\0", 1, "NUL byte in name");
}

/* The input is a heap buffer with no NUL, so ASan catches any over-read. */
static void
test_canon_no_overread(void **state)
{
	static const char src[] = "Example.COMevil";
	char out[HOSTNAME_MAX + 1];
	char *buf;

	(void)state;
	buf = malloc(sizeof(src) - 1);
	assert_non_null(buf);
	memcpy(buf, src, sizeof(src) - 1);

	assert_int_equal(hostname_canon(buf, 11, out, NULL), HOSTNAME_OK);
	assert_string_equal(out, "example.com");
	assert_int_equal(hostname_canon(buf, 7, out, NULL), HOSTNAME_OK);
	assert_string_equal(out, "example");
	assert_int_equal(hostname_canon(buf, sizeof(src) - 1, out, NULL),
	    HOSTNAME_OK);
	assert_string_equal(out, "example.comevil");
	assert_int_equal(hostname_canon(buf, 0, out, NULL), -1);
	free(buf);
}

static void
test_canon_ip_literals(void **state)
{
	(void)state;
	canon_ok("1.2.3.4", HOSTNAME_IS_IP_LITERAL, "1.2.3.4");
	canon_ok("1.2.3.4.", HOSTNAME_IS_IP_LITERAL, "1.2.3.4");
	canon_ok("2852039166", HOSTNAME_IS_IP_LITERAL, "2852039166");
	canon_ok("0x7f000001", HOSTNAME_IS_IP_LITERAL, "0x7f000001");
	canon_ok("0X7F.1", HOSTNAME_IS_IP_LITERAL, "0x7f.1");
	canon_ok("0177.0.0.01", HOSTNAME_IS_IP_LITERAL, "0177.0.0.01");
	canon_ok("example.0x", HOSTNAME_IS_IP_LITERAL, "example.0x");
	canon_ok("a.b.123", HOSTNAME_IS_IP_LITERAL, "a.b.123");

	canon_ok("1.2.3.com", HOSTNAME_OK, "1.2.3.com");
	canon_ok("123abc", HOSTNAME_OK, "123abc");
	canon_ok("a.0xg", HOSTNAME_OK, "a.0xg");
	canon_ok("a.1x", HOSTNAME_OK, "a.1x");
	canon_ok("1-2", HOSTNAME_OK, "1-2");
	canon_bad_str("::1", "invalid character in name");
	canon_bad_str("[::1]", "invalid character in name");
}

static void
test_canon_why_optional(void **state)
{
	char out[HOSTNAME_MAX + 1];

	(void)state;
	assert_int_equal(hostname_canon("a..b", 4, out, NULL), -1);
	assert_int_equal(hostname_canon(NULL, 0, out, NULL), -1);
}

static void
pattern_ok(const char *s, const char *suffix, int wildcard, uint16_t port)
{
	struct host_pattern p;
	const char *why = NULL;

	assert_int_equal(host_pattern_parse(s, strlen(s), &p, &why), 0);
	assert_string_equal(p.suffix, suffix);
	assert_int_equal(p.wildcard, wildcard);
	assert_int_equal(p.port, port);
}

static void
pattern_bad(const char *s, size_t len, const char *want_why)
{
	struct host_pattern p;
	const char *why = NULL;

	assert_int_equal(host_pattern_parse(s, len, &p, &why), -1);
	assert_non_null(why);
	assert_string_equal(p.suffix, "");
	if (want_why != NULL && strcmp(why, want_why) != 0)
		fail_msg("\"%.*s\": got \"%s\", want \"%s\"", (int)len, s,
		    why, want_why);
}

static void
pattern_bad_str(const char *s, const char *want_why)
{
	pattern_bad(s, strlen(s), want_why);
}

static void
test_pattern_parse_ok(void **state)
{
	(void)state;
	pattern_ok("example.com", "example.com", 0, 0);
	pattern_ok("Example.COM.", "example.com", 0, 0);
	pattern_ok("*.example.com", "example.com", 1, 0);
	pattern_ok("*.Example.com.", "example.com", 1, 0);
	pattern_ok("*.github.com:443", "github.com", 1, 443);
	pattern_ok("example.com.:8443", "example.com", 0, 8443);
	pattern_ok("x.com:1", "x.com", 0, 1);
	pattern_ok("x.com:65535", "x.com", 0, 65535);
	pattern_ok("xn--bcher-kva.de", "xn--bcher-kva.de", 0, 0);
	pattern_ok("pypi.org", "pypi.org", 0, 0);
}

static void
test_pattern_parse_wildcards(void **state)
{
	(void)state;
	pattern_bad_str("*", "bare wildcard");
	pattern_bad_str("*:443", "bare wildcard");
	pattern_bad_str("*.", "wildcard without a domain");
	pattern_bad_str("*.*.x", "wildcard allowed only as the first label");
	pattern_bad_str("a.*.x", "wildcard allowed only as the first label");
	pattern_bad_str("x.*", "wildcard allowed only as the first label");
	pattern_bad_str("*x.com", "wildcard must be a whole leading label");
	pattern_bad_str("x*.com", "wildcard allowed only as the first label");
	pattern_bad_str("**.com", "wildcard must be a whole leading label");
	pattern_bad_str("*..com", "empty label");
}

static void
test_pattern_parse_names(void **state)
{
	char label[70], name[300];

	(void)state;
	pattern_bad_str("", "empty pattern");
	pattern_bad_str("a..b", "empty label");
	pattern_bad_str(".example.com", "empty label");
	pattern_bad_str("example.com..", "empty label");
	pattern_bad_str("b\xc3\xbc" "cher.de", NULL);
	pattern_bad_str("a_b.com", "underscore in name");
	pattern_bad_str("-a.com", "label starts with a hyphen");
	pattern_bad_str(":80", "empty name");
	pattern_bad("x\0.com", 6, "NUL byte in name");
	snprintf(name, sizeof(name), "%s.com", fill(label, 'a', 64));
	pattern_bad_str(name, "label longer than 63 bytes");
	name_of_length(name, 254);
	pattern_bad_str(name, "name longer than 253 bytes");
	name_of_length(name, 253);
	pattern_ok(name, name, 0, 0);
}

static void
test_pattern_parse_ip_literals(void **state)
{
	static const char *ips[] = {
		"1.2.3.4", "1.2.3.4:80", "1.2.3.4.", "[::1]", "[::1]:443",
		"::1", "::", "fe80::1", "2852039166", "0x7f000001", "0x7f.1",
		"*.1.2.3.4", "*.10", "169.254.169.254:80",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ips) / sizeof(ips[0]); i++)
		pattern_bad_str(ips[i], "IP literals cannot be allowed");
}

static void
test_pattern_parse_ports(void **state)
{
	(void)state;
	pattern_bad_str("x.com:", "empty port");
	pattern_bad_str("x.com:0", "port out of range (1..65535)");
	pattern_bad_str("x.com:65536", "port out of range (1..65535)");
	pattern_bad_str("x.com:100000", "port out of range (1..65535)");
	pattern_bad_str("x.com:99999999999999999999",
	    "port out of range (1..65535)");
	pattern_bad_str("x.com:abc", "port is not a decimal number");
	pattern_bad_str("x.com:+80", "port is not a decimal number");
	pattern_bad_str("x.com:-1", "port is not a decimal number");
	pattern_bad_str("x.com: 80", "port is not a decimal number");
	pattern_bad_str("x.com:80 ", "port is not a decimal number");
	pattern_bad_str("x.com:0x50", "port is not a decimal number");
	pattern_bad_str("x.com:080", "port has a leading zero");
	pattern_bad_str("x.com:00", "port has a leading zero");
	pattern_bad("x.com:8\0", 8, "port is not a decimal number");
}

/* Parses a pattern that must be valid. */
static struct host_pattern
pattern(const char *s)
{
	struct host_pattern p;

	assert_int_equal(host_pattern_parse(s, strlen(s), &p, NULL), 0);
	return p;
}

/* Canonicalises host, then matches; the host must be a valid name. */
static int
match(const struct host_pattern *p, const char *host, uint16_t port)
{
	char canon[HOSTNAME_MAX + 1];

	assert_true(hostname_canon(host, strlen(host), canon, NULL) >= 0);
	return host_pattern_match(p, canon, port);
}

static void
test_match_exact(void **state)
{
	struct host_pattern p = pattern("Example.com");

	(void)state;
	assert_true(match(&p, "example.com", 443));
	assert_true(match(&p, "example.com", 80));
	assert_true(match(&p, "EXAMPLE.COM.", 443));
	assert_false(match(&p, "example.com", 8080));
	assert_false(match(&p, "example.com", 0));
	assert_false(match(&p, "www.example.com", 443));
	assert_false(match(&p, "example.co", 443));
	assert_false(match(&p, "example.com.evil", 443));
	assert_false(match(&p, "xexample.com", 443));
}

static void
test_match_wildcard(void **state)
{
	struct host_pattern p = pattern("*.internal.example.com");

	(void)state;
	assert_true(match(&p, "login.internal.example.com", 443));
	assert_true(match(&p, "LOGIN.INTERNAL.EXAMPLE.COM.", 443));
	assert_true(match(&p, "a.b.c.internal.example.com", 80));
	assert_true(match(&p, "x.internal.example.com", 80));
	assert_false(match(&p, "internal.example.com", 443));
	assert_false(match(&p, "internal.example.com.", 443));
	assert_false(match(&p, "internal.example.com.evil", 443));
	assert_false(match(&p, "login.internal.example.com.evil", 443));
	assert_false(match(&p, "xinternal.example.com", 443));
	assert_false(match(&p, "example.com", 443));
	assert_false(match(&p, "login.internal.example.com", 22));
	/* Not canonical: rejected rather than matched. */
	assert_false(host_pattern_match(&p, ".internal.example.com", 443));
	assert_false(host_pattern_match(&p, "", 443));
}

static void
test_match_ports(void **state)
{
	struct host_pattern gh = pattern("*.github.com:443");
	struct host_pattern alt = pattern("x.com:8080");
	struct host_pattern http = pattern("x.com:80");

	(void)state;
	assert_true(match(&gh, "api.github.com", 443));
	assert_false(match(&gh, "api.github.com", 80));
	assert_false(match(&gh, "github.com", 443));
	assert_true(match(&alt, "x.com", 8080));
	assert_false(match(&alt, "x.com", 80));
	assert_false(match(&alt, "x.com", 443));
	assert_true(match(&http, "x.com", 80));
	assert_false(match(&http, "x.com", 443));
}

static void
test_format_round_trip(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "example.com", "example.com" },
		{ "EXAMPLE.com.", "example.com" },
		{ "*.Example.COM", "*.example.com" },
		{ "*.github.com.:443", "*.github.com:443" },
		{ "x.com:65535", "x.com:65535" },
	};
	char buf[HOST_PATTERN_FORMAT_MAX];
	struct host_pattern p, q;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = pattern(cases[i].in);
		assert_int_equal(host_pattern_format(&p, buf, sizeof(buf)),
		    strlen(cases[i].out));
		assert_string_equal(buf, cases[i].out);
		q = pattern(buf);
		assert_memory_equal(&p, &q, sizeof(p));
	}
}

static void
test_format_limits(void **state)
{
	char name[260], in[280], buf[HOST_PATTERN_FORMAT_MAX], small[4];
	struct host_pattern p;

	(void)state;
	name_of_length(name, 253);
	snprintf(in, sizeof(in), "*.%s:65535", name);
	p = pattern(in);
	assert_int_equal(host_pattern_format(&p, buf, sizeof(buf)),
	    HOST_PATTERN_FORMAT_MAX - 1);
	assert_string_equal(buf, in);

	p = pattern("example.com");
	assert_int_equal(host_pattern_format(&p, small, sizeof(small)), 11);
	assert_string_equal(small, "exa");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canon_case_and_trailing_dot),
		cmocka_unit_test(test_canon_hyphens),
		cmocka_unit_test(test_canon_label_length),
		cmocka_unit_test(test_canon_name_length),
		cmocka_unit_test(test_canon_charset),
		cmocka_unit_test(test_canon_embedded_nul),
		cmocka_unit_test(test_canon_no_overread),
		cmocka_unit_test(test_canon_ip_literals),
		cmocka_unit_test(test_canon_why_optional),
		cmocka_unit_test(test_pattern_parse_ok),
		cmocka_unit_test(test_pattern_parse_wildcards),
		cmocka_unit_test(test_pattern_parse_names),
		cmocka_unit_test(test_pattern_parse_ip_literals),
		cmocka_unit_test(test_pattern_parse_ports),
		cmocka_unit_test(test_match_exact),
		cmocka_unit_test(test_match_wildcard),
		cmocka_unit_test(test_match_ports),
		cmocka_unit_test(test_format_round_trip),
		cmocka_unit_test(test_format_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
