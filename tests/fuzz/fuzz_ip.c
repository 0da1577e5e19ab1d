#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/ip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(int ok)
{
	if (!ok)
		abort();
}

/* Without whitespace (which inet_aton forgives), both parsers must agree. */
static void fuzz_vs_inet_aton(const char *s, size_t size,
    const struct ip_addr *ip, int parsed)
{
	char buf[IP_PARSE_MAX + 1];
	struct in_addr ref;
	size_t i;
	int want;

	if (size == 0 || size > IP_PARSE_MAX)
		return;
	for (i = 0; i < size; i++)
		if (s[i] == '\0' || s[i] == ':' || s[i] == '%' ||
		    s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r'))
			return;
	memcpy(buf, s, size);
	buf[size] = '\0';
	want = inet_aton(buf, &ref);
	fuzz_check(want == parsed);
	if (parsed)
		fuzz_check(ip->family == AF_INET &&
		    memcmp(ip->a, &ref, 4) == 0);
}

static void fuzz_classify(const struct ip_addr *ip,
    const struct cidr_set *exempt, const struct cidr_set *all)
{
	enum ip_class c = ip_classify(ip, NULL);
	enum ip_class e = ip_classify(ip, exempt);
	enum ip_class a = ip_classify(ip, all);
	struct ip_addr v4;

	fuzz_check(strcmp(ip_class_name(c), "unknown") != 0);
	fuzz_check(c != IP_CLASS_EXEMPT);
	/* Metadata survives any exemption; everything else yields to ::/0. */
	if (c == IP_CLASS_METADATA)
		fuzz_check(e == IP_CLASS_METADATA && a == IP_CLASS_METADATA);
	else
		fuzz_check(a == IP_CLASS_EXEMPT);
	if (!ip_class_blocked(c))
		fuzz_check(!ip_class_blocked(e));
	if (ip_embedded_v4(ip, &v4) == 0) {
		fuzz_check(ip->family == AF_INET6 && v4.family == AF_INET);
		if (ip_classify(&v4, NULL) == IP_CLASS_METADATA)
			fuzz_check(c == IP_CLASS_METADATA);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct cidr_set exempt = { 0 }, all = { 0 };
	struct ip_addr ip, back;
	struct cidr c, cback;
	char buf[CIDR_STRLEN];
	const char *why = NULL;
	int parsed;

	if (cidr_parse("198.18.0.0/15", 13, &c, NULL) < 0 ||
	    cidr_set_add(&exempt, &c) < 0 ||
	    cidr_parse("169.254.0.0/16", 14, &c, NULL) < 0 ||
	    cidr_set_add(&exempt, &c) < 0 ||
	    cidr_parse("0.0.0.0/0", 9, &c, NULL) < 0 ||
	    cidr_set_add(&all, &c) < 0 ||
	    cidr_parse("::/0", 4, &c, NULL) < 0 ||
	    cidr_set_add(&all, &c) < 0)
		abort();

	parsed = ip_parse(s, size, &ip, &why) == 0;
	fuzz_check(parsed || why != NULL);
	fuzz_vs_inet_aton(s, size, &ip, parsed);
	if (parsed) {
		fuzz_check(ip_format(&ip, buf, IP_STRLEN) == 0);
		fuzz_check(ip_parse(buf, strlen(buf), &back, NULL) == 0);
		fuzz_check(ip_equal(&ip, &back));
		fuzz_classify(&ip, &exempt, &all);
	}

	why = NULL;
	if (cidr_parse(s, size, &c, &why) == 0) {
		fuzz_check(cidr_contains(&c, &c.addr));
		fuzz_check(cidr_format(&c, buf, sizeof(buf)) == 0);
		fuzz_check(cidr_parse(buf, strlen(buf), &cback, NULL) == 0);
		fuzz_check(ip_equal(&c.addr, &cback.addr) &&
		    c.prefix == cback.prefix);
		fuzz_check(cidr_set_add(&exempt, &c) == 0);
		fuzz_check(cidr_set_contains(&exempt, &c.addr));
	} else {
		fuzz_check(why != NULL);
	}

	cidr_set_free(&exempt);
	cidr_set_free(&all);
	return 0;
}
