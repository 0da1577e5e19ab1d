#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "proxyd/sniff.h"

static enum sniff_kind
classify_str(const char *s)
{
	return sniff_classify((const uint8_t *)s, strlen(s));
}

static void
test_http_methods(void **state)
{
	(void)state;
	assert_int_equal(classify_str("GET / HTTP/1.1\r\n"), SNIFF_HTTP);
	assert_int_equal(classify_str("POST /x HTTP/1.0\r\n"), SNIFF_HTTP);
	assert_int_equal(classify_str("CONNECT a:443 HTTP/1.1\r\n"), SNIFF_HTTP);
	assert_int_equal(classify_str("GET "), SNIFF_HTTP);
	assert_int_equal(classify_str("PATCH "), SNIFF_HTTP);
}

static void
test_http_prefixes_need_more(void **state)
{
	(void)state;
	assert_int_equal(sniff_classify(NULL, 0), SNIFF_NEED_MORE);
	assert_int_equal(classify_str("G"), SNIFF_NEED_MORE);
	assert_int_equal(classify_str("GE"), SNIFF_NEED_MORE);
	assert_int_equal(classify_str("GET"), SNIFF_NEED_MORE);
	assert_int_equal(classify_str("P"), SNIFF_NEED_MORE);
	assert_int_equal(classify_str("CONNEC"), SNIFF_NEED_MORE);
}

static void
test_not_http(void **state)
{
	(void)state;
	assert_int_equal(classify_str("SSH-2.0-OpenSSH_9.2\r\n"), SNIFF_RAW);
	assert_int_equal(classify_str("SSH-2.0-OpenSSH_9.2 x\r\n"), SNIFF_RAW);
	assert_int_equal(sniff_classify((const uint8_t *)"\0probe\n", 7), SNIFF_RAW);
	assert_int_equal(classify_str(" GET / HTTP/1.1"), SNIFF_RAW);
	assert_int_equal(classify_str("GET\t/ HTTP/1.1"), SNIFF_RAW);
	assert_int_equal(classify_str("get key\r\n"), SNIFF_RAW);
	assert_int_equal(classify_str("set k 0 0 1\r\n"), SNIFF_RAW);
	assert_int_equal(classify_str("BREW host:80 SPDY/3\r\n"), SNIFF_RAW);
	assert_int_equal(classify_str("*3\r\n$3\r\nSET\r\n"), SNIFF_RAW);
}

/* Methods we have no name for are HTTP once the line says so: servers
 * take them, and as raw TCP their Host would pass unjudged. */
static void
test_any_method(void **state)
{
	(void)state;
	assert_int_equal(classify_str("BREW /host HTTP/1.1\r\n"), SNIFF_HTTP);
	assert_int_equal(classify_str("PROPFIND /"), SNIFF_HTTP);
	assert_int_equal(classify_str("get / HTTP/1.1\r\n"), SNIFF_HTTP);
	assert_int_equal(classify_str("GETX / HTTP/1.1"), SNIFF_HTTP);
	assert_int_equal(classify_str("BREW  /x"), SNIFF_HTTP);
	assert_int_equal(classify_str("BREW http://exfil.example/"), SNIFF_HTTP);
	assert_int_equal(classify_str("BREW exfil.example:80 HTTP/1.1"), SNIFF_HTTP);
	assert_int_equal(classify_str("BREW exfil.example:80  HTTP/"), SNIFF_HTTP);
	/* h2c prior knowledge: HTTP, so the parser refuses what it cannot judge. */
	assert_int_equal(classify_str("PRI * HTTP/2.0\r\n"), SNIFF_HTTP);
	/* Prefixes of such a line wait for more. */
	assert_int_equal(classify_str("BREW"), SNIFF_NEED_MORE);
	assert_int_equal(classify_str("BREW "), SNIFF_NEED_MORE);
	assert_int_equal(classify_str("BREW http:/"), SNIFF_NEED_MORE);
	assert_int_equal(classify_str("BREW exfil.example:80"), SNIFF_NEED_MORE);
	assert_int_equal(classify_str("BREW exfil.example:80 HTT"), SNIFF_NEED_MORE);
}

/* Servers skip empty lines (even bare LFs) before a request: so does the
 * sniffer, and the parser refuses all but one CRLF. */
static void
test_leading_empty_lines(void **state)
{
	(void)state;
	assert_int_equal(classify_str("\r\nGET / HTTP/1.1"), SNIFF_HTTP);
	assert_int_equal(classify_str("\r\n\r\nBREW / HTTP/1.1"), SNIFF_HTTP);
	assert_int_equal(classify_str("\nGET / HTTP/1.1"), SNIFF_HTTP);
	assert_int_equal(classify_str("\r"), SNIFF_HTTP);
}

static void
test_tls_client_hello(void **state)
{
	static const uint8_t hello[] = { 0x16, 0x03, 0x01, 0x00, 0x20, 0x01, 0x00 };
	static const uint8_t tls13_rec[] = { 0x16, 0x03, 0x03, 0x00, 0x20, 0x01 };
	static const uint8_t server_hello[] = { 0x16, 0x03, 0x03, 0x00, 0x20, 0x02 };
	static const uint8_t bad_major[] = { 0x16, 0x02, 0x00 };
	static const uint8_t bad_minor[] = { 0x16, 0x03, 0x05 };
	static const uint8_t alert[] = { 0x15, 0x03, 0x01, 0x00, 0x02 };
	size_t i;

	(void)state;
	assert_int_equal(sniff_classify(hello, sizeof(hello)), SNIFF_TLS);
	assert_int_equal(sniff_classify(tls13_rec, sizeof(tls13_rec)), SNIFF_TLS);
	for (i = 1; i < 6; i++)
		assert_int_equal(sniff_classify(hello, i), SNIFF_NEED_MORE);
	assert_int_equal(sniff_classify(server_hello, sizeof(server_hello)), SNIFF_RAW);
	assert_int_equal(sniff_classify(bad_major, sizeof(bad_major)), SNIFF_RAW);
	assert_int_equal(sniff_classify(bad_minor, sizeof(bad_minor)), SNIFF_RAW);
	assert_int_equal(sniff_classify(alert, sizeof(alert)), SNIFF_RAW);
}

static void
test_kind_names(void **state)
{
	(void)state;
	assert_string_equal(sniff_kind_name(SNIFF_HTTP), "http");
	assert_string_equal(sniff_kind_name(SNIFF_TLS), "tls");
	assert_string_equal(sniff_kind_name(SNIFF_RAW), "raw");
	assert_string_equal(sniff_kind_name(SNIFF_NEED_MORE), "need_more");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_methods),
		cmocka_unit_test(test_http_prefixes_need_more),
		cmocka_unit_test(test_not_http),
		cmocka_unit_test(test_any_method),
		cmocka_unit_test(test_leading_empty_lines),
		cmocka_unit_test(test_tls_client_hello),
		cmocka_unit_test(test_kind_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
