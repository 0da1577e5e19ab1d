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
	assert_int_equal(classify_str("get / HTTP/1.1\r\n"), SNIFF_RAW);
	assert_int_equal(classify_str("GETX / HTTP/1.1"), SNIFF_RAW);
	assert_int_equal(classify_str("SSH-2.0-OpenSSH_9.2\r\n"), SNIFF_RAW);
	assert_int_equal(classify_str("PRI * HTTP/2.0\r\n"), SNIFF_RAW);
	assert_int_equal(classify_str("\r\nGET / HTTP/1.1"), SNIFF_RAW);
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
		cmocka_unit_test(test_tls_client_hello),
		cmocka_unit_test(test_kind_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
