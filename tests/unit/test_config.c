#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/ip.h"
#include "proxyd/config.h"
#include "rules/policy.h"

#define LISTEN "transparent_listen 198.18.0.1:15001\n"

static char err[1024];

static struct proxyd_config *
parse_ok(const char *text)
{
	struct proxyd_config *cfg = NULL;

	err[0] = '\0';
	if (config_parse(text, strlen(text), "t.conf", &cfg, err,
	    sizeof(err)) != 0)
		fail_msg("unexpected error: %s", err);
	assert_non_null(cfg);
	return cfg;
}

/* The exact message, file:line and all. */
static void
parse_err_len(const char *text, size_t len, const char *want)
{
	struct proxyd_config *cfg = (struct proxyd_config *)1;

	err[0] = '\0';
	assert_int_equal(config_parse(text, len, "t.conf", &cfg, err,
	    sizeof(err)), -1);
	assert_null(cfg);
	assert_string_equal(err, want);
}

static void
parse_err(const char *text, const char *want)
{
	parse_err_len(text, strlen(text), want);
}

static struct ip_addr
addr(const char *s)
{
	struct ip_addr ip;

	assert_int_equal(ip_parse(s, strlen(s), &ip, NULL), 0);
	return ip;
}

static void
assert_endpoint(const struct ctl_endpoint *ep, const char *want)
{
	char buf[CTL_ENDPOINT_STRLEN];

	assert_int_equal(ctl_endpoint_format(ep, buf, sizeof(buf)), 0);
	assert_string_equal(buf, want);
}

static enum policy_verdict
check(const struct config_source *s, const char *host, uint16_t port)
{
	return policy_check(s->policy, host, strlen(host), port, NULL);
}

static void
test_full_config(void **state)
{
	static const char text[] =
	    "# proxyd\n"
	    "transparent_listen 198.18.0.1:15001\n"
	    "transparent_listen [2001:2::1]:15001\n"
	    "dns_listen 198.18.0.1:15053\n"
	    "explicit_listen 198.18.0.1:3128\n"
	    "metrics_listen 198.18.0.1:9464\n"
	    "control_socket /run/enclave/proxyd.sock\n"
	    "event_log /var/log/enclave/proxyd.jsonl\n"
	    "user enclave\n"
	    "exempt 198.18.0.0/15\n"
	    "exempt 2001:2::/48\n"
	    "max_connections 100\n"
	    "max_connections_per_session 10\n"
	    "sniff_timeout_ms 500\n"
	    "sniff_max_bytes 8192\n"
	    "connect_timeout_ms 2000\n"
	    "idle_timeout_ms 60000\n"
	    "max_header_bytes 16384\n"
	    "source 198.19.0.0/24 tenant ci allow allowed.test *.allowed.test:443\n"
	    "source 198.19.1.0/24 allow other.test\n"
	    "source 198.19.2.0/28 tenant quarantine\n"
	    "source 2001:2:0:1::/64 tenant v6 allow allowed.test\n";
	struct proxyd_config *cfg = parse_ok(text);
	struct ip_addr a;

	(void)state;
	assert_int_equal(cfg->transparent.n, 2);
	assert_endpoint(&cfg->transparent.v[0], "198.18.0.1:15001");
	assert_endpoint(&cfg->transparent.v[1], "[2001:2::1]:15001");
	assert_int_equal(cfg->dns.n, 1);
	assert_endpoint(&cfg->dns.v[0], "198.18.0.1:15053");
	assert_int_equal(cfg->explicit_proxy.n, 1);
	assert_endpoint(&cfg->explicit_proxy.v[0], "198.18.0.1:3128");
	assert_endpoint(&cfg->metrics, "198.18.0.1:9464");
	assert_string_equal(cfg->control_socket, "/run/enclave/proxyd.sock");
	assert_string_equal(cfg->event_log, "/var/log/enclave/proxyd.jsonl");
	assert_string_equal(cfg->user, "enclave");
	assert_int_equal(cfg->exempt.n, 2);
	a = addr("198.18.1.10");
	assert_int_equal(ip_classify(&a, &cfg->exempt), IP_CLASS_EXEMPT);
	a = addr("169.254.169.254");
	assert_int_equal(ip_classify(&a, &cfg->exempt), IP_CLASS_METADATA);
	assert_int_equal(cfg->limits.max_connections, 100);
	assert_int_equal(cfg->limits.max_connections_per_session, 10);
	assert_int_equal(cfg->limits.sniff_timeout_ms, 500);
	assert_int_equal(cfg->limits.sniff_max_bytes, 8192);
	assert_int_equal(cfg->limits.connect_timeout_ms, 2000);
	assert_int_equal(cfg->limits.idle_timeout_ms, 60000);
	assert_int_equal(cfg->limits.max_header_bytes, 16384);

	assert_int_equal(cfg->nsources, 4);
	assert_string_equal(cfg->sources[0].tenant, "ci");
	assert_int_equal(cfg->sources[0].line, 19);
	assert_int_equal(policy_count(cfg->sources[0].policy), 2);
	assert_int_equal(check(&cfg->sources[0], "allowed.test", 80), POLICY_ALLOW);
	assert_int_equal(check(&cfg->sources[0], "api.allowed.test", 443), POLICY_ALLOW);
	assert_int_equal(check(&cfg->sources[0], "api.allowed.test", 80),
	    POLICY_DENY_NOT_ALLOWED);
	assert_string_equal(cfg->sources[1].tenant, "default");
	assert_string_equal(cfg->sources[2].tenant, "quarantine");
	assert_int_equal(policy_count(cfg->sources[2].policy), 0);
	assert_int_equal(check(&cfg->sources[2], "allowed.test", 443),
	    POLICY_DENY_NOT_ALLOWED);
	assert_string_equal(cfg->sources[3].tenant, "v6");
	config_free(cfg);
}

static void
test_defaults(void **state)
{
	struct proxyd_config *cfg = parse_ok(LISTEN);

	(void)state;
	assert_int_equal(cfg->transparent.n, 1);
	assert_int_equal(cfg->dns.n, 0);
	assert_int_equal(cfg->explicit_proxy.n, 0);
	assert_int_equal(cfg->metrics.addr.family, 0);
	assert_string_equal(cfg->control_socket, "");
	assert_string_equal(cfg->event_log, "");
	assert_string_equal(cfg->user, "");
	assert_string_equal(cfg->intercept_ca_cert, "");
	assert_string_equal(cfg->intercept_ca_key, "");
	assert_string_equal(cfg->upstream_ca, "");
	assert_int_equal(cfg->exempt.n, 0);
	assert_int_equal(cfg->nsources, 0);
	assert_int_equal(cfg->limits.max_connections, 4096);
	assert_int_equal(cfg->limits.max_connections_per_session, 256);
	assert_int_equal(cfg->limits.sniff_timeout_ms, 1000);
	assert_int_equal(cfg->limits.sniff_max_bytes, 16384);
	assert_int_equal(cfg->limits.connect_timeout_ms, 10000);
	assert_int_equal(cfg->limits.idle_timeout_ms, 300000);
	assert_int_equal(cfg->limits.max_header_bytes, 32768);
	config_free(cfg);
	config_free(NULL);
}

struct limit_case {
	const char	*name;
	size_t		 off;
	uint32_t	 min, max;
};

#define LIMIT(f, lo, hi) \
	{ #f, offsetof(struct config_limits, f), lo, hi }

static void
test_limit_edges(void **state)
{
	static const struct limit_case cases[] = {
		LIMIT(max_connections, 1, 1000000),
		LIMIT(max_connections_per_session, 1, 1000000),
		LIMIT(sniff_timeout_ms, 1, 60000),
		LIMIT(sniff_max_bytes, 512, 262144),
		LIMIT(connect_timeout_ms, 100, 300000),
		LIMIT(idle_timeout_ms, 1000, 86400000),
		LIMIT(max_header_bytes, 1024, 1048576),
	};
	static const char *const junk[] = {
		"0x10", "+5", "-1", "010", "1e3", "5k", "99999999999", "4294967297",
	};
	char text[256], want[256];
	struct proxyd_config *cfg;
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct limit_case *c = &cases[i];
		uint32_t edges[2] = { c->min, c->max };

		for (j = 0; j < 2; j++) {
			snprintf(text, sizeof(text), LISTEN "%s %u\n", c->name,
			    edges[j]);
			cfg = parse_ok(text);
			assert_int_equal(*(uint32_t *)((char *)&cfg->limits +
			    c->off), edges[j]);
			config_free(cfg);
		}
		snprintf(want, sizeof(want),
		    "t.conf:2: %s: must be an integer in %u..%u", c->name,
		    c->min, c->max);
		snprintf(text, sizeof(text), LISTEN "%s %u\n", c->name,
		    c->min - 1);
		parse_err(text, want);
		snprintf(text, sizeof(text), LISTEN "%s %u\n", c->name,
		    c->max + 1);
		parse_err(text, want);
		for (j = 0; j < sizeof(junk) / sizeof(junk[0]); j++) {
			snprintf(text, sizeof(text), LISTEN "%s %s\n", c->name,
			    junk[j]);
			parse_err(text, want);
		}
		snprintf(text, sizeof(text), LISTEN "%s\n", c->name);
		snprintf(want, sizeof(want), "t.conf:2: %s: expected 1 value, got 0",
		    c->name);
		parse_err(text, want);
		snprintf(text, sizeof(text), LISTEN "%s 5 6\n", c->name);
		snprintf(want, sizeof(want), "t.conf:2: %s: expected 1 value, got 2",
		    c->name);
		parse_err(text, want);
	}
}

struct err_case {
	const char *text;
	const char *want;
};

static void
test_error_messages(void **state)
{
	static const struct err_case cases[] = {
		{ "", "t.conf: no transparent_listen directive" },
		{ "# nothing\n\n", "t.conf: no transparent_listen directive" },
		{ LISTEN "lisen 1.2.3.4:5\n", "t.conf:2: unknown directive \"lisen\"" },
		{ LISTEN "Max_connections 5\n",
		  "t.conf:2: unknown directive \"Max_connections\"" },
		{ "transparent_listen 198.18.0.1\n",
		  "t.conf:1: transparent_listen: invalid address \"198.18.0.1\": "
		  "missing \":port\"" },
		{ "transparent_listen 198.18.0.1:0\n",
		  "t.conf:1: transparent_listen: invalid address "
		  "\"198.18.0.1:0\": port must be 1..65535" },
		{ "transparent_listen 198.18.0.1:65536\n",
		  "t.conf:1: transparent_listen: invalid address "
		  "\"198.18.0.1:65536\": port must be 1..65535" },
		{ "transparent_listen 198.18.0.1:080\n",
		  "t.conf:1: transparent_listen: invalid address "
		  "\"198.18.0.1:080\": port must be 1..65535" },
		{ "transparent_listen 0x7f.1:80\n",
		  "t.conf:1: transparent_listen: invalid address \"0x7f.1:80\": "
		  "IPv4 address must be four decimal parts" },
		{ "transparent_listen 198.018.0.1:80\n",
		  "t.conf:1: transparent_listen: invalid address "
		  "\"198.018.0.1:80\": IPv4 address must be four decimal parts" },
		{ "transparent_listen 2001:2::1:80\n",
		  "t.conf:1: transparent_listen: invalid address "
		  "\"2001:2::1:80\": an IPv6 address needs [brackets]" },
		{ "transparent_listen [198.18.0.1]:80\n",
		  "t.conf:1: transparent_listen: invalid address "
		  "\"[198.18.0.1]:80\": brackets are for IPv6 addresses" },
		{ "transparent_listen [2001:2::1:80\n",
		  "t.conf:1: transparent_listen: invalid address "
		  "\"[2001:2::1:80\": missing \"]\"" },
		{ "transparent_listen [2001:2::1]\n",
		  "t.conf:1: transparent_listen: invalid address "
		  "\"[2001:2::1]\": missing \":port\"" },
		{ LISTEN LISTEN,
		  "t.conf:2: transparent_listen: \"198.18.0.1:15001\" given twice" },
		{ LISTEN "dns_listen x:53\n",
		  "t.conf:2: dns_listen: invalid address \"x:53\": "
		  "IPv4 address must be four decimal parts" },
		{ LISTEN "metrics_listen 198.18.0.1:1\nmetrics_listen 198.18.0.1:2\n",
		  "t.conf:3: duplicate metrics_listen (first on line 2)" },
		{ LISTEN "control_socket run/x.sock\n",
		  "t.conf:2: control_socket: must be an absolute path" },
		{ LISTEN "control_socket /a\n\ncontrol_socket /b\n",
		  "t.conf:4: duplicate control_socket (first on line 2)" },
		{ LISTEN "event_log log.jsonl\n",
		  "t.conf:2: event_log: must be an absolute path" },
		{ LISTEN "event_log /a /b\n",
		  "t.conf:2: event_log: expected 1 value, got 2" },
		{ LISTEN "user Root\n", "t.conf:2: user: invalid user name \"Root\"" },
		{ LISTEN "user 1x\n", "t.conf:2: user: invalid user name \"1x\"" },
		{ LISTEN "user a\nuser b\n", "t.conf:3: duplicate user (first on line 2)" },
		{ LISTEN "max_connections 5\nmax_connections 5\n",
		  "t.conf:3: duplicate max_connections (first on line 2)" },
		{ LISTEN "exempt 198.18.0.1/15\n",
		  "t.conf:2: exempt: invalid range \"198.18.0.1/15\": host bits set" },
		{ LISTEN "exempt 198.18.0.0\n",
		  "t.conf:2: exempt: invalid range \"198.18.0.0\": "
		  "missing prefix length" },
		{ LISTEN "exempt\n", "t.conf:2: exempt: expected 1 value, got 0" },
		{ LISTEN "source\n", "t.conf:2: source: missing range" },
		{ LISTEN "source 198.19.0.1 allow a.test\n",
		  "t.conf:2: source: invalid range \"198.19.0.1\": "
		  "missing prefix length" },
		{ LISTEN "source 198.19.0.1/24 allow a.test\n",
		  "t.conf:2: source: invalid range \"198.19.0.1/24\": host bits set" },
		{ LISTEN "source 010.0.0.0/8\n",
		  "t.conf:2: source: invalid range \"010.0.0.0/8\": "
		  "ipv4 must be dotted decimal" },
		{ LISTEN "source 198.19.0.0/24 allow\n",
		  "t.conf:2: source: \"allow\" needs at least one pattern "
		  "(leave it out to deny everything)" },
		{ LISTEN "source 198.19.0.0/24 tenant\n",
		  "t.conf:2: source: \"tenant\" needs a name" },
		{ LISTEN "source 198.19.0.0/24 tenant CI allow a.test\n",
		  "t.conf:2: source: invalid tenant \"CI\": must be 1..64 of "
		  "a-z 0-9 _ -" },
		{ LISTEN "source 198.19.0.0/24 a.test\n",
		  "t.conf:2: source: expected \"tenant\" or \"allow\", got \"a.test\"" },
		{ LISTEN "source 198.19.0.0/24 allow a.test *.\n",
		  "t.conf:2: invalid allow pattern \"*.\": wildcard without a domain" },
		{ LISTEN "source 198.19.0.0/24 allow 169.254.169.254\n",
		  "t.conf:2: invalid allow pattern \"169.254.169.254\": "
		  "IP literals cannot be allowed" },
		{ LISTEN "source 198.19.0.0/24 allow a.test:0\n",
		  "t.conf:2: invalid allow pattern \"a.test:0\": "
		  "port out of range (1..65535)" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		parse_err(cases[i].text, cases[i].want);
}

static void
test_overlapping_sources(void **state)
{
	static const struct err_case cases[] = {
		{ LISTEN "source 198.19.0.0/16\nsource 198.19.1.0/24\n",
		  "t.conf:3: source 198.19.1.0/24 overlaps line 2" },
		{ LISTEN "source 198.19.1.0/24\n\n# x\nsource 198.19.0.0/16\n",
		  "t.conf:5: source 198.19.0.0/16 overlaps line 2" },
		{ LISTEN "source 198.19.1.0/24\nsource 198.19.1.0/24\n",
		  "t.conf:3: source 198.19.1.0/24 overlaps line 2" },
		{ LISTEN "source 198.19.1.7/32\nsource 0.0.0.0/0\n",
		  "t.conf:3: source 0.0.0.0/0 overlaps line 2" },
		{ LISTEN "source 2001:2::/48\nsource 2001:2:0:5::/64\n",
		  "t.conf:3: source 2001:2:0:5::/64 overlaps line 2" },
	};
	struct proxyd_config *cfg;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		parse_err(cases[i].text, cases[i].want);
	/* Adjacent ranges and different families never overlap. */
	cfg = parse_ok(LISTEN "source 198.19.0.0/24\nsource 198.19.1.0/24\n"
	    "source 198.19.2.0/23\n" "source ::/0\n");
	config_free(cfg);
	parse_err(LISTEN "source ::/0\nsource ::ffff:0:0/96\n",
	    "t.conf:3: source ::ffff:0:0/96 overlaps line 2");
}

static void
test_layout(void **state)
{
	struct proxyd_config *cfg;

	(void)state;
	cfg = parse_ok("  # comment\r\n\r\n\t\r\n"
	    "transparent_listen\t198.18.0.1:1   # trailing comment\r\n"
	    "max_connections 7#glued comment\r\n"
	    "source 198.19.0.0/24 allow a.test\t b.test  \r\n"
	    "#last line without a newline, with a CR\r");
	assert_int_equal(cfg->limits.max_connections, 7);
	assert_int_equal(cfg->nsources, 1);
	assert_int_equal(cfg->sources[0].line, 6);
	assert_int_equal(policy_count(cfg->sources[0].policy), 2);
	config_free(cfg);

	cfg = parse_ok("transparent_listen 198.18.0.1:1");
	assert_int_equal(cfg->transparent.n, 1);
	config_free(cfg);

	parse_err(LISTEN "max_connections 5\r7\n",
	    "t.conf:2: control character 0x0d in line");
	parse_err(LISTEN "max_connections 5\r\r\n",
	    "t.conf:2: control character 0x0d in line");
	parse_err(LISTEN "# a \033[2J comment\n",
	    "t.conf:2: control character 0x1b in line");
	parse_err(LISTEN "# \x7f\n", "t.conf:2: control character 0x7f in line");
	parse_err(LISTEN "\v\n", "t.conf:2: control character 0x0b in line");
	/* UTF-8 in comments is fine; in a pattern it is a bad pattern. */
	cfg = parse_ok(LISTEN "# caf\xc3\xa9\n");
	config_free(cfg);
}

static void
test_nul_byte(void **state)
{
	static const char text[] = LISTEN "max_connections 5\0\n";

	(void)state;
	parse_err_len(text, sizeof(text) - 1, "t.conf:2: NUL byte in line");
	/* Never read past len: the same text cut short is another file. */
	parse_err_len(text, sizeof(LISTEN) - 1 + 2,
	    "t.conf:2: unknown directive \"ma\"");
	parse_err_len("\0", 1, "t.conf:1: NUL byte in line");
}

static void
test_long_lines(void **state)
{
	char *text = malloc(CONFIG_LINE_MAX + 64);
	struct proxyd_config *cfg;
	size_t n;

	(void)state;
	assert_non_null(text);
	n = (size_t)sprintf(text, LISTEN);
	memset(text + n, '#', CONFIG_LINE_MAX);
	text[n + CONFIG_LINE_MAX] = '\r';
	text[n + CONFIG_LINE_MAX + 1] = '\n';
	text[n + CONFIG_LINE_MAX + 2] = '\0';
	cfg = parse_ok(text);
	config_free(cfg);

	memset(text + n, '#', CONFIG_LINE_MAX + 1);
	text[n + CONFIG_LINE_MAX + 1] = '\n';
	text[n + CONFIG_LINE_MAX + 2] = '\0';
	parse_err(text, "t.conf:2: line too long (more than 4096 bytes)");
	free(text);
}

static void
test_file_too_large(void **state)
{
	size_t len = CONFIG_FILE_MAX + 1;
	char *text = malloc(len);

	(void)state;
	assert_non_null(text);
	memset(text, '\n', len);
	memcpy(text, LISTEN, sizeof(LISTEN) - 1);
	parse_err_len(text, len,
	    "t.conf: file too large (more than 1048576 bytes)");
	/* Exactly the limit is fine. */
	{
		struct proxyd_config *cfg = NULL;

		assert_int_equal(config_parse(text, len - 1, "t.conf", &cfg, err,
		    sizeof(err)), 0);
		config_free(cfg);
	}
	free(text);
}

static void
test_listener_limit(void **state)
{
	char text[1024];
	size_t n = 0;
	int i;

	(void)state;
	for (i = 1; i <= CONFIG_LISTEN_MAX; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
		    "transparent_listen 198.18.0.1:%d\n", i);
	config_free(parse_ok(text));
	snprintf(text + n, sizeof(text) - n, "transparent_listen 198.18.0.1:99\n");
	parse_err(text, "t.conf:9: transparent_listen: at most 8 addresses");
}

static void
test_pattern_and_source_limits(void **state)
{
	size_t cap = 64 * 4097 + 4096, n, i;
	char *text = malloc(cap);
	struct proxyd_config *cfg;

	(void)state;
	assert_non_null(text);
	n = (size_t)snprintf(text, cap, LISTEN "source 198.19.0.0/24 allow");
	for (i = 0; i < POLICY_MAX_PATTERNS; i++)
		n += (size_t)snprintf(text + n, cap - n, " h%zu.test", i);
	text[n] = '\0';
	cfg = parse_ok(text);
	assert_int_equal(policy_count(cfg->sources[0].policy), POLICY_MAX_PATTERNS);
	config_free(cfg);
	snprintf(text + n, cap - n, " one-more.test\n");
	parse_err(text, "t.conf:2: too many allow patterns (at most 256)");

	n = (size_t)snprintf(text, cap, LISTEN);
	for (i = 0; i < CONFIG_SOURCES_MAX; i++)
		n += (size_t)snprintf(text + n, cap - n,
		    "source 198.19.%zu.%zu/32\n", i / 256, i % 256);
	cfg = parse_ok(text);
	assert_int_equal(cfg->nsources, CONFIG_SOURCES_MAX);
	config_free(cfg);
	snprintf(text + n, cap - n, "source 198.20.0.0/24\n");
	parse_err(text, "t.conf:4098: source: at most 4096 sources");
	free(text);
}

static void
test_source_find(void **state)
{
	struct proxyd_config *cfg = parse_ok(LISTEN
	    "source 198.19.0.0/24 tenant a allow a.test\n"
	    "source 198.19.1.128/25 tenant b\n"
	    "source 2001:2:0:1::/64 tenant c allow c.test\n");
	const struct config_source *s;
	struct ip_addr ip;

	(void)state;
	ip = addr("198.19.0.200");
	assert_non_null(s = config_source_find(cfg, &ip));
	assert_string_equal(s->tenant, "a");
	ip = addr("198.19.1.128");
	assert_non_null(s = config_source_find(cfg, &ip));
	assert_string_equal(s->tenant, "b");
	ip = addr("198.19.1.127");
	assert_null(config_source_find(cfg, &ip));
	ip = addr("2001:2:0:1::77");
	assert_non_null(s = config_source_find(cfg, &ip));
	assert_string_equal(s->tenant, "c");
	ip = addr("2001:2:0:2::1");
	assert_null(config_source_find(cfg, &ip));
	/* A v4-mapped client is not the v4 client: no family crossing. */
	ip = addr("::ffff:198.19.0.1");
	assert_null(config_source_find(cfg, &ip));
	config_free(cfg);
}

static void
test_load(void **state)
{
	char path[] = "/tmp/test_config.XXXXXX";
	static const char text[] = LISTEN "source 198.19.0.0/24 allow a.test\n"
	    "bogus\n";
	struct proxyd_config *cfg = NULL;
	char want[256];
	int fd;

	(void)state;
	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), sizeof(text) - 1);
	close(fd);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -1);
	assert_null(cfg);
	snprintf(want, sizeof(want), "%s:3: unknown directive \"bogus\"", path);
	assert_string_equal(err, want);

	assert_int_equal(truncate(path, sizeof(text) - 1 - 6), 0);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), 0);
	assert_non_null(cfg);
	assert_int_equal(cfg->nsources, 1);
	config_free(cfg);
	unlink(path);

	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "cannot open %s: No such file or directory",
	    path);
	assert_string_equal(err, want);
	assert_int_equal(config_load("/tmp", &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "/tmp: not a regular file");
}

/* The interception CA goes in pairs; upstream_ca stands alone. */
static void
test_intercept(void **state)
{
	struct proxyd_config *cfg;

	(void)state;
	cfg = parse_ok(LISTEN "intercept_ca_cert /var/lib/enclave/ca.pem\n"
	    "intercept_ca_key /var/lib/enclave/ca.key  # 0600, proxyd's\n"
	    "upstream_ca /etc/enclave/lab-ca.pem\n");
	assert_string_equal(cfg->intercept_ca_cert, "/var/lib/enclave/ca.pem");
	assert_string_equal(cfg->intercept_ca_key, "/var/lib/enclave/ca.key");
	assert_string_equal(cfg->upstream_ca, "/etc/enclave/lab-ca.pem");
	config_free(cfg);
	cfg = parse_ok(LISTEN "upstream_ca /etc/enclave/lab-ca.pem\n");
	assert_string_equal(cfg->intercept_ca_cert, "");
	config_free(cfg);

	parse_err(LISTEN "intercept_ca_cert /ca.pem\n",
	    "t.conf: intercept_ca_cert and intercept_ca_key go together");
	parse_err(LISTEN "intercept_ca_key /ca.key\n",
	    "t.conf: intercept_ca_cert and intercept_ca_key go together");
	parse_err(LISTEN "intercept_ca_cert ca.pem\nintercept_ca_key /ca.key\n",
	    "t.conf:2: intercept_ca_cert: must be an absolute path");
	parse_err(LISTEN "intercept_ca_cert /a\nintercept_ca_key /b\n"
	    "intercept_ca_key /c\n",
	    "t.conf:4: duplicate intercept_ca_key (first on line 3)");
	parse_err(LISTEN "upstream_ca\n",
	    "t.conf:2: upstream_ca: expected 1 value, got 0");
	parse_err(LISTEN "upstream_ca /a /b\n",
	    "t.conf:2: upstream_ca: expected 1 value, got 2");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_config),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_limit_edges),
		cmocka_unit_test(test_error_messages),
		cmocka_unit_test(test_overlapping_sources),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_file_too_large),
		cmocka_unit_test(test_listener_limit),
		cmocka_unit_test(test_pattern_and_source_limits),
		cmocka_unit_test(test_source_find),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_intercept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
