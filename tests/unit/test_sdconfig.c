#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "common/ip.h"
#include "sessiond/request.h"
#include "sessiond/sdconfig.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* The four required directives, lines 1..4. */
#define REQ \
	"proxyd_control /run/enclave/proxyd.sock\n" \
	"tproxy_port 15001\n" \
	"dns_port 15053\n" \
	"pool 198.19.0.0/16\n"

/* An api_key value: the SHA-256 of the key "k1". */
#define K1_HEX "sha256:6ab9f1eb8f7d3388f4f9d586f66e99fd54080df2c446f0e58668b09c08a16dd0"

static char err[1024];

static struct sdconfig *
parse_ok(const char *text)
{
	struct sdconfig *cfg = NULL;

	err[0] = '\0';
	if (sdconfig_parse(text, strlen(text), "t.conf", &cfg, err,
	    sizeof(err)) != 0)
		fail_msg("unexpected error: %s\nin:\n%s", err, text);
	assert_non_null(cfg);
	return cfg;
}

/* The exact message, file:line and all. */
static void
parse_err_len(const char *text, size_t len, const char *want)
{
	struct sdconfig *cfg = (struct sdconfig *)1;

	err[0] = '\0';
	if (sdconfig_parse(text, len, "t.conf", &cfg, err, sizeof(err)) != -1)
		fail_msg("accepted:\n%.*s", (int)(len > 400 ? 400 : len), text);
	assert_null(cfg);
	if (strcmp(err, want) != 0)
		fail_msg("for:\n%.*s\ngot  \"%s\"\nwant \"%s\"",
		    (int)(len > 400 ? 400 : len), text, err, want);
}

static void
parse_err(const char *text, const char *want)
{
	parse_err_len(text, strlen(text), want);
}

/* "sha256:" and the hex SHA-256 of key, as an api_key line wants it. */
static void
key_hash(const char *key, char out[7 + 64 + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	assert_int_equal(EVP_Digest(key, strlen(key), md, &mdlen, EVP_sha256(),
	    NULL), 1);
	assert_int_equal(mdlen, 32);
	memcpy(out, "sha256:", 7);
	for (i = 0; i < mdlen; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
}

/*
 * first, as line 1, then the required directives it does not replace,
 * then extra: so an error about first is always on line 1.
 */
static void
build(char *buf, size_t len, const char *first, const char *extra)
{
	static const char *const req[] = {
		"proxyd_control /run/enclave/proxyd.sock\n",
		"tproxy_port 15001\n",
		"dns_port 15053\n",
		"pool 198.19.0.0/16\n",
	};
	size_t n, i, w;

	n = (size_t)snprintf(buf, len, "%s\n", first);
	w = strcspn(first, " \t");
	for (i = 0; i < NELEM(req); i++)
		if (strncmp(req[i], first, w) != 0 || req[i][w] != ' ')
			n += (size_t)snprintf(buf + n, len - n, "%s", req[i]);
	snprintf(buf + n, len - n, "%s", extra ? extra : "");
}

static uint64_t
field_value(const struct sdconfig *cfg, size_t off, size_t size)
{
	const char *p = (const char *)cfg + off;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;

	switch (size) {
	case 2:
		memcpy(&v16, p, 2);
		return v16;
	case 4:
		memcpy(&v32, p, 4);
		return v32;
	case 8:
		memcpy(&v64, p, 8);
		return v64;
	}
	fail_msg("field size %zu", size);
	return 0;
}

static void
test_backend_opts(void **state)
{
	struct sdconfig *cfg;

	(void)state;
	cfg = parse_ok(REQ
	    "backend oci-runc runtime /usr/sbin/runc\n"
	    "backend gvisor network host\n"
	    "backend gvisor runtime /usr/bin/runsc\n");
	assert_int_equal(cfg->nbackend_opts, 3);
	assert_string_equal(sdconfig_backend_opt(cfg, "gvisor", "network"),
	    "host");
	assert_string_equal(sdconfig_backend_opt(cfg, "oci-runc", "runtime"),
	    "/usr/sbin/runc");
	assert_null(sdconfig_backend_opt(cfg, "oci-runc", "network"));
	assert_null(sdconfig_backend_opt(cfg, "docker", "runtime"));
	sdconfig_free(cfg);
	parse_err(REQ "backend gvisor network\n",
	    "t.conf:5: backend: expected NAME KEY VALUE, got 2 values");
	parse_err(REQ "backend Gvisor network host\n",
	    "t.conf:5: backend: invalid name \"Gvisor\": must be 1..32 of "
	    "a-z 0-9 _ -");
	parse_err(REQ "backend gvisor net.work host\n",
	    "t.conf:5: backend: invalid key \"net.work\": must be 1..32 of "
	    "a-z 0-9 _ -");
	parse_err(REQ "backend gvisor network host\n"
	    "backend gvisor network sandbox\n",
	    "t.conf:6: backend: gvisor network given twice (first on line 5)");
}

static void
test_minimal_defaults(void **state)
{
	struct sdconfig *cfg = parse_ok(REQ);
	struct request_limits def;
	char buf[CIDR_STRLEN];

	(void)state;
	request_limits_default(&def);
	assert_string_equal(cfg->socket, "/run/enclave/sessiond.sock");
	assert_int_equal(cfg->socket_mode, 0666);
	assert_int_equal(cfg->ntenants, 0);
	assert_int_equal(cfg->nkeys, 0);
	assert_int_equal(cfg->tcp_listen.addr.family, 0);
	assert_string_equal(cfg->appliance_netns, "");
	assert_string_equal(cfg->proxyd_control, "/run/enclave/proxyd.sock");
	assert_int_equal(cfg->tproxy_port, 15001);
	assert_int_equal(cfg->dns_port, 15053);
	assert_int_equal(cfg->nflog_group, 7);
	assert_int_equal(cidr_format(&cfg->pool, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "198.19.0.0/16");
	assert_string_equal(cfg->name_prefix, "enc");
	assert_string_equal(cfg->state_dir, "/var/lib/enclave");
	assert_string_equal(cfg->audit_log, "/var/log/enclave/audit.log");
	assert_string_equal(cfg->helpers_dir,
	    "/usr/local/libexec/enclave/helpers");
	assert_false(cfg->helpers_dir_given);
	assert_int_equal(cfg->workload_uid, 65534);
	assert_int_equal(cfg->workload_gid, 65534);
	assert_int_equal(cfg->max_sessions, 64);
	assert_int_equal(cfg->max_sessions_per_tenant, 64);
	assert_int_equal(cfg->retain_sessions, 1024);
	assert_int_equal(cfg->limits.max_body_bytes, def.max_body_bytes);
	assert_int_equal(cfg->limits.max_code_bytes, def.max_code_bytes);
	assert_int_equal(cfg->limits.max_timeout_ms, def.max_timeout_ms);
	assert_int_equal(cfg->limits.max_memory_mb, def.max_memory_mb);
	assert_int_equal(cfg->limits.max_pids, def.max_pids);
	assert_int_equal(cfg->limits.max_output_bytes, def.max_output_bytes);
	assert_memory_equal(&cfg->limits.defaults, &def.defaults,
	    sizeof(def.defaults));
	assert_string_equal(cfg->limits.default_backend, "namespace");
	/* The config owns what it points to. */
	assert_ptr_equal(cfg->limits.default_backend, cfg->default_backend);
	assert_int_equal(request_limits_check(&cfg->limits, err, sizeof(err)),
	    0);
	assert_int_equal(cfg->nbindings, 0);
	assert_null(sdconfig_binding(cfg, "github"));
	assert_null(sdconfig_tenant_by_uid(cfg, 0));
	assert_null(sdconfig_key_lookup(cfg, "k1", 2));
	sdconfig_free(cfg);
	sdconfig_free(NULL);
}

static void
test_full_config(void **state)
{
	char k1[80], k2[80], text[4096];
	struct sdconfig *cfg;
	const struct sdconfig_tenant_map *t;
	const struct sdconfig_key *k;
	char buf[CTL_ENDPOINT_STRLEN];

	(void)state;
	key_hash("key-one", k1);
	key_hash("key-two", k2);
	snprintf(text, sizeof(text),
	    "# sessiond\n"
	    "socket /run/enclave/api.sock\n"
	    "socket_mode 0660\n"
	    "tenant default uid 1000\n"
	    "tenant ci uid 1001\n"
	    "tenant ci uid 1002\n"
	    "tenant ops uid 0 operator\n"
	    "api_key ci %s\n"
	    "api_key ops %s operator\n"
	    "tcp_listen [2001:2::1]:8080\n"
	    "appliance_netns enclave-lab\n"
	    "proxyd_control /run/enclave/proxyd.sock\n"
	    "tproxy_port 15001\n"
	    "dns_port 15053\n"
	    "nflog_group 0\n"
	    "pool 198.19.0.0/20\n"
	    "name_prefix e1\n"
	    "state_dir /srv/enclave/state\n"
	    "audit_log /srv/enclave/audit.jsonl\n"
	    "helpers_dir /opt/enclave/helpers\n"
	    "workload_uid 60000\n"
	    "workload_gid 60001\n"
	    "max_sessions 100\n"
	    "max_sessions_per_tenant 10\n"
	    "retain_sessions 0\n"
	    "max_body_bytes 2097152\n"
	    "max_code_bytes 262144\n"
	    "max_timeout_ms 120000\n"
	    "max_memory_mb 1024\n"
	    "max_pids 512\n"
	    "max_output_bytes 4194304\n"
	    "default_timeout_ms 10000\n"
	    "default_memory_mb 128\n"
	    "default_pids 64\n"
	    "default_output_bytes 65536\n"
	    "default_backend oci\n"
	    "binding github secret_file /etc/enclave/secrets/github\n"
	    "binding pypi_mirror secret_file /etc/enclave/secrets/pypi\n"
	    "binding github host git.test\n"
	    "binding pypi_mirror host pypi.test\n",
	    k1, k2);
	cfg = parse_ok(text);
	assert_string_equal(cfg->socket, "/run/enclave/api.sock");
	assert_int_equal(cfg->socket_mode, 0660);
	assert_int_equal(cfg->ntenants, 4);
	assert_int_equal(cfg->tenants[2].uid, 1002);
	assert_string_equal(cfg->tenants[2].tenant, "ci");
	assert_int_equal(cfg->tenants[2].line, 6);
	assert_false(cfg->tenants[2].operator);
	assert_non_null(t = sdconfig_tenant_by_uid(cfg, 1001));
	assert_string_equal(t->tenant, "ci");
	assert_non_null(t = sdconfig_tenant_by_uid(cfg, 0));
	assert_string_equal(t->tenant, "ops");
	assert_true(t->operator);
	assert_non_null(t = sdconfig_tenant_by_uid(cfg, 1000));
	assert_false(t->operator);
	assert_null(sdconfig_tenant_by_uid(cfg, 1003));
	assert_null(sdconfig_tenant_by_uid(cfg, 65534));
	assert_int_equal(cfg->nkeys, 2);
	assert_non_null(k = sdconfig_key_lookup(cfg, "key-one", 7));
	assert_string_equal(k->tenant, "ci");
	assert_false(k->operator);
	assert_int_equal(k->line, 8);
	assert_non_null(k = sdconfig_key_lookup(cfg, "key-two", 7));
	assert_string_equal(k->tenant, "ops");
	assert_true(k->operator);
	assert_int_equal(ctl_endpoint_format(&cfg->tcp_listen, buf,
	    sizeof(buf)), 0);
	assert_string_equal(buf, "[2001:2::1]:8080");
	assert_string_equal(cfg->appliance_netns, "enclave-lab");
	assert_int_equal(cfg->nflog_group, 0);
	assert_int_equal(cfg->pool.addr.family, AF_INET);
	assert_int_equal(cfg->pool.prefix, 20);
	assert_string_equal(cfg->name_prefix, "e1");
	assert_string_equal(cfg->state_dir, "/srv/enclave/state");
	assert_string_equal(cfg->audit_log, "/srv/enclave/audit.jsonl");
	assert_string_equal(cfg->helpers_dir, "/opt/enclave/helpers");
	assert_true(cfg->helpers_dir_given);
	assert_int_equal(cfg->workload_uid, 60000);
	assert_int_equal(cfg->workload_gid, 60001);
	assert_int_equal(cfg->max_sessions, 100);
	assert_int_equal(cfg->max_sessions_per_tenant, 10);
	assert_int_equal(cfg->retain_sessions, 0);
	assert_int_equal(cfg->limits.max_body_bytes, 2097152);
	assert_int_equal(cfg->limits.max_code_bytes, 262144);
	assert_int_equal(cfg->limits.max_timeout_ms, 120000);
	assert_int_equal(cfg->limits.max_memory_mb, 1024);
	assert_int_equal(cfg->limits.max_pids, 512);
	assert_int_equal(cfg->limits.max_output_bytes, 4194304);
	assert_int_equal(cfg->limits.defaults.timeout_ms, 10000);
	assert_int_equal(cfg->limits.defaults.memory_mb, 128);
	assert_int_equal(cfg->limits.defaults.pids, 64);
	assert_int_equal(cfg->limits.defaults.output_bytes, 65536);
	assert_string_equal(cfg->limits.default_backend, "oci");
	assert_ptr_equal(cfg->limits.default_backend, cfg->default_backend);
	assert_int_equal(cfg->nbindings, 2);
	assert_string_equal(sdconfig_binding(cfg, "github")->secret_file,
	    "/etc/enclave/secrets/github");
	assert_string_equal(sdconfig_binding(cfg, "pypi_mirror")->secret_file,
	    "/etc/enclave/secrets/pypi");
	assert_int_equal(sdconfig_binding(cfg, "pypi_mirror")->line, 38);
	assert_null(sdconfig_binding(cfg, "gitlab"));
	assert_null(sdconfig_binding(cfg, "githu"));
	assert_null(sdconfig_binding(cfg, NULL));
	sdconfig_free(cfg);
}

struct num_case {
	const char	*name;
	size_t		 off, size;
	uint32_t	 min, max;
	const char	*extra;		/* lines the edges need */
};

#define NUM(f, lo, hi, extra) \
	{ #f, offsetof(struct sdconfig, f), \
	  sizeof(((struct sdconfig *)0)->f), lo, hi, extra }
#define LIM(n, f) \
	{ n, offsetof(struct sdconfig, limits.f), \
	  sizeof(((struct sdconfig *)0)->limits.f), 0, 4294967295u, NULL }

static const char *const num_junk[] = {
	"0x10", "+5", "-1", "010", "00", "1e3", "5k", "1.5", "99999999999",
	"4294967296", "18446744073709551617", "\xc2\xb9",
};

/* Every number's edges, off-by-ones, junk and argument counts. */
static void
test_number_edges(void **state)
{
	static const struct num_case cases[] = {
		NUM(tproxy_port, 1, 65535, NULL),
		NUM(dns_port, 1, 65535, NULL),
		NUM(nflog_group, 0, 65535, NULL),
		NUM(workload_uid, 1, 4294967294u, NULL),
		NUM(workload_gid, 1, 4294967294u, NULL),
		NUM(max_sessions, 1, 4096, NULL),
		NUM(max_sessions_per_tenant, 1, 4096, "max_sessions 4096\n"),
		NUM(retain_sessions, 0, 100000, NULL),
	};
	char line[128], text[1024], want[256];
	struct sdconfig *cfg;
	size_t i, j;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		const struct num_case *c = &cases[i];
		uint32_t edges[2] = { c->min, c->max };

		for (j = 0; j < 2; j++) {
			snprintf(line, sizeof(line), "%s %u", c->name, edges[j]);
			build(text, sizeof(text), line, c->extra);
			cfg = parse_ok(text);
			assert_int_equal(field_value(cfg, c->off, c->size),
			    edges[j]);
			sdconfig_free(cfg);
		}
		snprintf(want, sizeof(want),
		    "t.conf:1: %s: must be an integer in %u..%u", c->name,
		    c->min, c->max);
		if (c->min > 0) {
			snprintf(line, sizeof(line), "%s %u", c->name,
			    c->min - 1);
			build(text, sizeof(text), line, c->extra);
			parse_err(text, want);
		}
		snprintf(line, sizeof(line), "%s %llu", c->name,
		    (unsigned long long)c->max + 1);
		build(text, sizeof(text), line, c->extra);
		parse_err(text, want);
		for (j = 0; j < NELEM(num_junk); j++) {
			snprintf(line, sizeof(line), "%s %s", c->name,
			    num_junk[j]);
			build(text, sizeof(text), line, c->extra);
			parse_err(text, want);
		}
		snprintf(line, sizeof(line), "%s", c->name);
		build(text, sizeof(text), line, c->extra);
		snprintf(want, sizeof(want),
		    "t.conf:1: %s: expected 1 value, got 0", c->name);
		parse_err(text, want);
		snprintf(line, sizeof(line), "%s 5 6", c->name);
		build(text, sizeof(text), line, c->extra);
		snprintf(want, sizeof(want),
		    "t.conf:1: %s: expected 1 value, got 2", c->name);
		parse_err(text, want);
		/* And each once-only number once only. */
		snprintf(line, sizeof(line), "%s 5\n%s 5", c->name, c->name);
		build(text, sizeof(text), line, c->extra);
		snprintf(want, sizeof(want),
		    "t.conf:2: duplicate %s (first on line 1)", c->name);
		parse_err(text, want);
	}
}

/* Request limits: any 32-bit number on the line, the set checked after. */
static void
test_request_limits(void **state)
{
	static const struct num_case cases[] = {
		LIM("max_body_bytes", max_body_bytes),
		LIM("max_code_bytes", max_code_bytes),
		LIM("max_timeout_ms", max_timeout_ms),
		LIM("max_memory_mb", max_memory_mb),
		LIM("max_pids", max_pids),
		LIM("max_output_bytes", max_output_bytes),
		LIM("default_timeout_ms", defaults.timeout_ms),
		LIM("default_memory_mb", defaults.memory_mb),
		LIM("default_pids", defaults.pids),
		LIM("default_output_bytes", defaults.output_bytes),
	};
	/* A value inside every range, for the set to pass the check. */
	static const uint32_t good[] = {
		4194304, 1048576, 600000, 4096, 4096, 16777216, 30000, 256, 128,
		1048576,
	};
	static const struct {
		const char *lines;
		const char *want;
	} bad[] = {
		{ "max_code_bytes 0", "t.conf: limits: max code bytes 0 not in "
		  "1..67108864" },
		{ "max_code_bytes 4294967295", "t.conf: limits: max code bytes "
		  "4294967295 not in 1..67108864" },
		{ "max_body_bytes 1000\nmax_code_bytes 2000",
		  "t.conf: limits: max body bytes 1000 not in 2000..268435456" },
		{ "max_timeout_ms 99", "t.conf: limits: max timeout_ms 99 not in "
		  "100..86400000" },
		{ "default_timeout_ms 700000", "t.conf: limits: default "
		  "timeout_ms 700000 not in 100..600000" },
		{ "max_memory_mb 128", "t.conf: limits: default memory_mb 256 "
		  "not in 16..128" },
		{ "default_pids 7", "t.conf: limits: default pids 7 not in "
		  "8..4096" },
		{ "max_output_bytes 1023", "t.conf: limits: max output_bytes "
		  "1023 not in 1024..1073741824" },
	};
	char line[128], text[1024], want[256];
	struct sdconfig *cfg;
	size_t i, j;

	(void)state;
	assert_int_equal(NELEM(good), NELEM(cases));
	for (i = 0; i < NELEM(cases); i++) {
		const struct num_case *c = &cases[i];

		snprintf(line, sizeof(line), "%s %u", c->name, good[i]);
		build(text, sizeof(text), line, NULL);
		cfg = parse_ok(text);
		assert_int_equal(field_value(cfg, c->off, c->size), good[i]);
		sdconfig_free(cfg);
		snprintf(want, sizeof(want),
		    "t.conf:1: %s: must be an integer in 0..4294967295",
		    c->name);
		for (j = 0; j < NELEM(num_junk); j++) {
			snprintf(line, sizeof(line), "%s %s", c->name,
			    num_junk[j]);
			build(text, sizeof(text), line, NULL);
			parse_err(text, want);
		}
		snprintf(line, sizeof(line), "%s 5\n%s 5", c->name, c->name);
		build(text, sizeof(text), line, NULL);
		snprintf(want, sizeof(want),
		    "t.conf:2: duplicate %s (first on line 1)", c->name);
		parse_err(text, want);
	}
	for (i = 0; i < NELEM(bad); i++) {
		build(text, sizeof(text), bad[i].lines, NULL);
		parse_err(text, bad[i].want);
	}
	/* A raised max lets a raised default through. */
	cfg = parse_ok(REQ "max_memory_mb 8192\ndefault_memory_mb 8192\n");
	assert_int_equal(cfg->limits.max_memory_mb, 8192);
	assert_int_equal(cfg->limits.defaults.memory_mb, 8192);
	sdconfig_free(cfg);
}

struct err_case {
	const char *text;
	const char *want;
};

/* Line 5 is the first line after REQ. */
static const struct err_case err_cases[] = {
	/* Directives. */
	{ REQ "sockets /x\n", "t.conf:5: unknown directive \"sockets\"" },
	{ REQ "Socket /x\n", "t.conf:5: unknown directive \"Socket\"" },
	{ REQ "uid 5\n", "t.conf:5: unknown directive \"uid\"" },
	{ REQ "operator\n", "t.conf:5: unknown directive \"operator\"" },
	/* socket */
	{ REQ "socket\n", "t.conf:5: socket: expected 1 value, got 0" },
	{ REQ "socket /a /b\n", "t.conf:5: socket: expected 1 value, got 2" },
	{ REQ "socket run/s.sock\n", "t.conf:5: socket: must be an absolute path" },
	{ REQ "socket /a\n\nsocket /b\n",
	  "t.conf:7: duplicate socket (first on line 5)" },
	/* socket_mode */
	{ REQ "socket_mode 666\n", "t.conf:5: socket_mode: must be an octal "
	  "mode in 0600..0777, like 0660" },
	{ REQ "socket_mode 0599\n", "t.conf:5: socket_mode: must be an octal "
	  "mode in 0600..0777, like 0660" },
	{ REQ "socket_mode 0500\n", "t.conf:5: socket_mode: must be an octal "
	  "mode in 0600..0777, like 0660" },
	{ REQ "socket_mode 0000\n", "t.conf:5: socket_mode: must be an octal "
	  "mode in 0600..0777, like 0660" },
	{ REQ "socket_mode 01666\n", "t.conf:5: socket_mode: must be an octal "
	  "mode in 0600..0777, like 0660" },
	{ REQ "socket_mode 00666\n", "t.conf:5: socket_mode: must be an octal "
	  "mode in 0600..0777, like 0660" },
	{ REQ "socket_mode 0x1b6\n", "t.conf:5: socket_mode: must be an octal "
	  "mode in 0600..0777, like 0660" },
	{ REQ "socket_mode 0o666\n", "t.conf:5: socket_mode: must be an octal "
	  "mode in 0600..0777, like 0660" },
	{ REQ "socket_mode 0666 0600\n",
	  "t.conf:5: socket_mode: expected 1 value, got 2" },
	{ REQ "socket_mode 0600\nsocket_mode 0600\n",
	  "t.conf:6: duplicate socket_mode (first on line 5)" },
	/* tenant */
	{ REQ "tenant ci\n", "t.conf:5: tenant: expected NAME uid UID "
	  "[operator], got 1 values" },
	{ REQ "tenant ci uid\n", "t.conf:5: tenant: expected NAME uid UID "
	  "[operator], got 2 values" },
	{ REQ "tenant ci uid 5 operator x\n", "t.conf:5: tenant: expected "
	  "NAME uid UID [operator], got 5 values" },
	{ REQ "tenant CI uid 5\n", "t.conf:5: tenant: invalid tenant \"CI\": "
	  "must be 1..64 of a-z 0-9 _ -" },
	{ REQ "tenant c.i uid 5\n", "t.conf:5: tenant: invalid tenant "
	  "\"c.i\": must be 1..64 of a-z 0-9 _ -" },
	{ REQ "tenant ci user 5\n", "t.conf:5: tenant: expected \"uid\" after "
	  "the name, got \"user\"" },
	{ REQ "tenant ci uid 4294967295\n", "t.conf:5: tenant: uid must be an "
	  "integer in 0..4294967294" },
	{ REQ "tenant ci uid -1\n", "t.conf:5: tenant: uid must be an "
	  "integer in 0..4294967294" },
	{ REQ "tenant ci uid 01000\n", "t.conf:5: tenant: uid must be an "
	  "integer in 0..4294967294" },
	{ REQ "tenant ci uid root\n", "t.conf:5: tenant: uid must be an "
	  "integer in 0..4294967294" },
	{ REQ "tenant ci uid 5 admin\n", "t.conf:5: tenant: expected "
	  "\"operator\" or nothing after the uid, got \"admin\"" },
	{ REQ "tenant ci uid 5\ntenant ci uid 5\n", "t.conf:6: tenant: uid 5 "
	  "given twice (first on line 5)" },
	{ REQ "tenant ci uid 5\n# x\ntenant other uid 5 operator\n",
	  "t.conf:7: tenant: uid 5 given twice (first on line 5)" },
	/* api_key: never quoted */
	{ REQ "api_key ci\n", "t.conf:5: api_key: expected TENANT sha256:HEX "
	  "[operator], got 1 values" },
	{ REQ "api_key ci " K1_HEX " operator x\n", "t.conf:5: api_key: "
	  "expected TENANT sha256:HEX [operator], got 4 values" },
	{ REQ "api_key Ci " K1_HEX "\n", "t.conf:5: api_key: invalid tenant: "
	  "must be 1..64 of a-z 0-9 _ -" },
	{ REQ "api_key ci sk-live-0123456789abcdef\n", "t.conf:5: api_key: "
	  "expected \"sha256:\" and 64 lowercase hex digits (the key's hash, "
	  "not the key)" },
	{ REQ "api_key ci sha256:6AB9F1EB8F7D3388F4F9D586F66E99FD54080DF2C446F0E58668B09C08A16DD0\n",
	  "t.conf:5: api_key: expected \"sha256:\" and 64 lowercase hex "
	  "digits (the key's hash, not the key)" },
	{ REQ "api_key ci sha256:6ab9f1eb8f7d3388f4f9d586f66e99fd54080df2c446f0e58668b09c08a16dd\n",
	  "t.conf:5: api_key: expected \"sha256:\" and 64 lowercase hex "
	  "digits (the key's hash, not the key)" },
	{ REQ "api_key ci sha256:6ab9f1eb8f7d3388f4f9d586f66e99fd54080df2c446f0e58668b09c08a16dd00\n",
	  "t.conf:5: api_key: expected \"sha256:\" and 64 lowercase hex "
	  "digits (the key's hash, not the key)" },
	{ REQ "api_key ci sha256:6ab9f1eb8f7d3388f4f9d586f66e99fd54080df2c446f0e58668b09c08a16ddg\n",
	  "t.conf:5: api_key: expected \"sha256:\" and 64 lowercase hex "
	  "digits (the key's hash, not the key)" },
	{ REQ "api_key ci SHA256:6ab9f1eb8f7d3388f4f9d586f66e99fd54080df2c446f0e58668b09c08a16dd0\n",
	  "t.conf:5: api_key: expected \"sha256:\" and 64 lowercase hex "
	  "digits (the key's hash, not the key)" },
	{ REQ "api_key ci 6ab9f1eb8f7d3388f4f9d586f66e99fd54080df2c446f0e58668b09c08a16dd0\n",
	  "t.conf:5: api_key: expected \"sha256:\" and 64 lowercase hex "
	  "digits (the key's hash, not the key)" },
	{ REQ "api_key ci sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n",
	  "t.conf:5: api_key: that is the hash of an empty key" },
	{ REQ "api_key ci " K1_HEX " admin\n", "t.conf:5: api_key: expected "
	  "\"operator\" or nothing after the hash" },
	{ REQ "api_key ci " K1_HEX "\napi_key ops " K1_HEX " operator\n",
	  "t.conf:6: api_key: the same key as on line 5" },
	/* tcp_listen */
	{ REQ "api_key ci " K1_HEX "\ntcp_listen 198.18.0.1\n",
	  "t.conf:6: tcp_listen: invalid address \"198.18.0.1\": missing "
	  "\":port\"" },
	{ REQ "api_key ci " K1_HEX "\ntcp_listen 198.18.0.1:0\n",
	  "t.conf:6: tcp_listen: invalid address \"198.18.0.1:0\": port "
	  "must be 1..65535" },
	{ REQ "api_key ci " K1_HEX "\ntcp_listen ::1:8080\n",
	  "t.conf:6: tcp_listen: invalid address \"::1:8080\": an IPv6 "
	  "address needs [brackets]" },
	{ REQ "api_key ci " K1_HEX "\ntcp_listen localhost:8080\n",
	  "t.conf:6: tcp_listen: invalid address \"localhost:8080\": IPv4 "
	  "address must be four decimal parts" },
	{ REQ "tcp_listen 198.18.0.1:1\ntcp_listen 198.18.0.1:2\n",
	  "t.conf:6: duplicate tcp_listen (first on line 5)" },
	{ REQ "tcp_listen 198.18.0.1:8080\n", "t.conf:5: tcp_listen: no "
	  "api_key is configured, so no TCP caller could authenticate" },
	{ "tcp_listen [::1]:8080\n" REQ "tenant ci uid 5\n", "t.conf:1: "
	  "tcp_listen: no api_key is configured, so no TCP caller could "
	  "authenticate" },
	/* appliance_netns */
	{ REQ "appliance_netns -lab\n", "t.conf:5: appliance_netns: invalid "
	  "name \"-lab\": name must not start with '-' or '.'" },
	{ REQ "appliance_netns ..\n", "t.conf:5: appliance_netns: invalid "
	  "name \"..\": name must not start with '-' or '.'" },
	{ REQ "appliance_netns a/b\n", "t.conf:5: appliance_netns: invalid "
	  "name \"a/b\": name may hold only letters, digits, '-', '_' and '.'" },
	{ REQ "appliance_netns "
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	  "t.conf:5: appliance_netns: invalid name "
	  "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\": "
	  "name too long" },
	{ REQ "appliance_netns a\nappliance_netns a\n",
	  "t.conf:6: duplicate appliance_netns (first on line 5)" },
	/* proxyd_control */
	{ "proxyd_control proxyd.sock\n", "t.conf:1: proxyd_control: must be "
	  "an absolute path" },
	{ REQ "proxyd_control /x\n", "t.conf:5: duplicate proxyd_control "
	  "(first on line 1)" },
	/* pool */
	{ "pool 198.18.0.0/15\n", "t.conf:1: pool: prefix length must be "
	  "16..30" },
	{ "pool 10.0.0.0/8\n", "t.conf:1: pool: prefix length must be "
	  "16..30" },
	{ "pool 198.19.0.0/31\n", "t.conf:1: pool: prefix length must be "
	  "16..30" },
	{ "pool 2001:2::/64\n", "t.conf:1: pool: must be an IPv4 range" },
	{ "pool 198.19.0.1/16\n", "t.conf:1: pool: invalid range "
	  "\"198.19.0.1/16\": host bits set" },
	{ "pool 198.19.0.0\n", "t.conf:1: pool: invalid range \"198.19.0.0\": "
	  "missing prefix length" },
	{ "pool 198.019.0.0/16\n", "t.conf:1: pool: invalid range "
	  "\"198.019.0.0/16\": ipv4 must be dotted decimal" },
	{ "pool 198.19.0.0/016\n", "t.conf:1: pool: invalid range "
	  "\"198.19.0.0/016\": invalid prefix length" },
	{ REQ "pool 198.18.0.0/16\n", "t.conf:5: duplicate pool (first on "
	  "line 4)" },
	/* name_prefix */
	{ REQ "name_prefix abcdefghi\n", "t.conf:5: name_prefix: invalid "
	  "prefix \"abcdefghi\": must be 1..8 of a-z 0-9" },
	{ REQ "name_prefix Enc\n", "t.conf:5: name_prefix: invalid prefix "
	  "\"Enc\": must be 1..8 of a-z 0-9" },
	{ REQ "name_prefix e-1\n", "t.conf:5: name_prefix: invalid prefix "
	  "\"e-1\": must be 1..8 of a-z 0-9" },
	{ REQ "name_prefix e_1\n", "t.conf:5: name_prefix: invalid prefix "
	  "\"e_1\": must be 1..8 of a-z 0-9" },
	{ REQ "name_prefix\n", "t.conf:5: name_prefix: expected 1 value, "
	  "got 0" },
	/* paths */
	{ REQ "state_dir var/lib\n", "t.conf:5: state_dir: must be an "
	  "absolute path" },
	{ REQ "audit_log ./audit.log\n", "t.conf:5: audit_log: must be an "
	  "absolute path" },
	{ REQ "helpers_dir ~/helpers\n", "t.conf:5: helpers_dir: must be an "
	  "absolute path" },
	{ REQ "state_dir /a\nstate_dir /a\n", "t.conf:6: duplicate state_dir "
	  "(first on line 5)" },
	{ REQ "audit_log /a\naudit_log /a\n", "t.conf:6: duplicate audit_log "
	  "(first on line 5)" },
	{ REQ "helpers_dir /a\nhelpers_dir /a\n", "t.conf:6: duplicate "
	  "helpers_dir (first on line 5)" },
	/* max_sessions_per_tenant against max_sessions */
	{ REQ "max_sessions_per_tenant 65\n", "t.conf:5: "
	  "max_sessions_per_tenant 65 is more than max_sessions (64)" },
	{ REQ "max_sessions_per_tenant 11\n\nmax_sessions 10\n", "t.conf:5: "
	  "max_sessions_per_tenant 11 is more than max_sessions (10)" },
	/* default_backend */
	{ REQ "default_backend Docker\n", "t.conf:5: default_backend: "
	  "invalid name \"Docker\": must be 1..32 of a-z 0-9 _ -" },
	{ REQ "default_backend aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	  "t.conf:5: default_backend: invalid name "
	  "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\": must be 1..32 of a-z 0-9 _ -" },
	{ REQ "default_backend oci\ndefault_backend oci\n", "t.conf:6: "
	  "duplicate default_backend (first on line 5)" },
	/* binding */
	{ REQ "binding github\n", "t.conf:5: binding: expected NAME KEY "
	  "VALUE, got 1 values" },
	{ REQ "binding github secret_file /a /b\n", "t.conf:5: binding: "
	  "expected NAME KEY VALUE, got 4 values" },
	{ REQ "binding GitHub secret_file /a\n", "t.conf:5: binding: invalid "
	  "name \"GitHub\": must be 1..32 of a-z 0-9 _ -" },
	{ REQ "binding github secret /a\n", "t.conf:5: binding github: "
	  "unknown key \"secret\" (secret_file, secret_env, host, inject, "
	  "allow_http, tenant)" },
	{ REQ "binding github secret_file token\n", "t.conf:5: binding: "
	  "secret_file must be an absolute path" },
	{ REQ "binding github secret_file /a\nbinding github secret_file /b\n",
	  "t.conf:6: binding github: its secret is already given" },
	{ REQ "binding github secret_file /a\nbinding github secret_env T\n",
	  "t.conf:6: binding github: its secret is already given" },
	{ REQ "binding github secret_env A-B\n", "t.conf:5: binding: "
	  "secret_env: not a variable name" },
	{ REQ "binding github secret_file /a\n", "t.conf:5: binding github: "
	  "no host" },
	{ REQ "binding github host git.test\n", "t.conf:5: binding github: "
	  "no secret_file or secret_env" },
	{ REQ "binding github host *.\n", "t.conf:5: binding github: host "
	  "\"*.\": not an allow pattern" },
	{ REQ "binding github inject magic\n", "t.conf:5: binding github: "
	  "inject: bearer, basic:USER or header:NAME" },
	{ REQ "binding github inject basic:a:b\n", "t.conf:5: binding github: "
	  "inject: bearer, basic:USER or header:NAME" },
	{ REQ "binding github inject header:X Y\n", "t.conf:5: binding: "
	  "expected NAME KEY VALUE, got 4 values" },
	{ REQ "binding github allow_http maybe\n", "t.conf:5: binding github: "
	  "allow_http: yes or no" },
	{ REQ "binding github tenant Ops\n", "t.conf:5: binding github: "
	  "tenant: must be 1..64 of a-z 0-9 _ -" },
	/* Rules for the whole file. */
	{ "", "t.conf: no proxyd_control directive" },
	{ "# nothing\n\n", "t.conf: no proxyd_control directive" },
};

static void
test_error_messages(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(err_cases); i++)
		parse_err(err_cases[i].text, err_cases[i].want);
}

/* Each required directive, left out alone. */
static void
test_required(void **state)
{
	static const char *const req[] = {
		"proxyd_control /run/enclave/proxyd.sock\n",
		"tproxy_port 15001\n",
		"dns_port 15053\n",
		"pool 198.19.0.0/16\n",
	};
	static const char *const name[] = {
		"proxyd_control", "tproxy_port", "dns_port", "pool",
	};
	char text[512], want[128];
	size_t i, j, n;

	(void)state;
	for (i = 0; i < NELEM(req); i++) {
		n = 0;
		text[0] = '\0';
		for (j = 0; j < NELEM(req); j++)
			if (j != i)
				n += (size_t)snprintf(text + n, sizeof(text) - n,
				    "%s", req[j]);
		snprintf(want, sizeof(want), "t.conf: no %s directive", name[i]);
		parse_err(text, want);
	}
}

static void
test_good_values(void **state)
{
	static const struct {
		const char *line;
		size_t off;
		const char *want;
	} strs[] = {
		{ "socket /s", offsetof(struct sdconfig, socket), "/s" },
		{ "appliance_netns Lab.1_x", offsetof(struct sdconfig,
		  appliance_netns), "Lab.1_x" },
		{ "name_prefix a", offsetof(struct sdconfig, name_prefix), "a" },
		{ "name_prefix abcdefgh", offsetof(struct sdconfig, name_prefix),
		  "abcdefgh" },
		{ "name_prefix 0", offsetof(struct sdconfig, name_prefix), "0" },
		{ "state_dir /", offsetof(struct sdconfig, state_dir), "/" },
		{ "audit_log /a/b/c.log", offsetof(struct sdconfig, audit_log),
		  "/a/b/c.log" },
		{ "default_backend gvisor", offsetof(struct sdconfig,
		  default_backend), "gvisor" },
		{ "default_backend a_b-9", offsetof(struct sdconfig,
		  default_backend), "a_b-9" },
	};
	static const struct {
		const char *line;
		mode_t mode;
	} modes[] = {
		{ "socket_mode 0600", 0600 }, { "socket_mode 0777", 0777 },
		{ "socket_mode 0640", 0640 }, { "socket_mode 0606", 0606 },
	};
	static const struct {
		const char *line;
		unsigned int prefix;
	} pools[] = {
		{ "pool 198.18.0.0/16", 16 }, { "pool 198.19.255.252/30", 30 },
		{ "pool 203.0.113.0/24", 24 },
	};
	char text[512];
	struct sdconfig *cfg;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(strs); i++) {
		build(text, sizeof(text), strs[i].line, NULL);
		cfg = parse_ok(text);
		assert_string_equal((const char *)cfg + strs[i].off,
		    strs[i].want);
		sdconfig_free(cfg);
	}
	for (i = 0; i < NELEM(modes); i++) {
		build(text, sizeof(text), modes[i].line, NULL);
		cfg = parse_ok(text);
		assert_int_equal(cfg->socket_mode, modes[i].mode);
		sdconfig_free(cfg);
	}
	for (i = 0; i < NELEM(pools); i++) {
		build(text, sizeof(text), pools[i].line, NULL);
		cfg = parse_ok(text);
		assert_int_equal(cfg->pool.prefix, pools[i].prefix);
		sdconfig_free(cfg);
	}
	cfg = parse_ok(REQ "max_sessions 10\nmax_sessions_per_tenant 10\n");
	assert_int_equal(cfg->max_sessions_per_tenant, 10);
	sdconfig_free(cfg);
	cfg = parse_ok(REQ "max_sessions 10\n");
	assert_int_equal(cfg->max_sessions_per_tenant, 10);
	sdconfig_free(cfg);
	cfg = parse_ok(REQ "helpers_dir /usr/local/libexec/enclave/helpers\n");
	assert_true(cfg->helpers_dir_given);
	sdconfig_free(cfg);
}

static void
test_path_lengths(void **state)
{
	char path[SDCONFIG_PATH_MAX + 2], line[SDCONFIG_PATH_MAX + 64];
	char text[2 * SDCONFIG_PATH_MAX + 256], want[256];
	static const char *const sockets[] = { "socket", "proxyd_control" };
	static const char *const files[] = {
		"state_dir", "audit_log", "helpers_dir",
	};
	struct sdconfig *cfg;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(sockets); i++) {
		memset(path, 'a', sizeof(path));
		path[0] = '/';
		path[SDCONFIG_SOCKET_PATH_MAX] = '\0';
		snprintf(line, sizeof(line), "%s %s", sockets[i], path);
		build(text, sizeof(text), line, NULL);
		cfg = parse_ok(text);
		sdconfig_free(cfg);
		path[SDCONFIG_SOCKET_PATH_MAX] = 'a';
		path[SDCONFIG_SOCKET_PATH_MAX + 1] = '\0';
		snprintf(line, sizeof(line), "%s %s", sockets[i], path);
		build(text, sizeof(text), line, NULL);
		snprintf(want, sizeof(want), "t.conf:1: %s: longer than 107 bytes",
		    sockets[i]);
		parse_err(text, want);
	}
	for (i = 0; i < NELEM(files); i++) {
		memset(path, 'a', sizeof(path));
		path[0] = '/';
		path[SDCONFIG_PATH_MAX] = '\0';
		snprintf(line, sizeof(line), "%s %s", files[i], path);
		build(text, sizeof(text), line, NULL);
		cfg = parse_ok(text);
		sdconfig_free(cfg);
		path[SDCONFIG_PATH_MAX] = 'a';
		path[SDCONFIG_PATH_MAX + 1] = '\0';
		snprintf(line, sizeof(line), "%s %s", files[i], path);
		build(text, sizeof(text), line, NULL);
		snprintf(want, sizeof(want), "t.conf:1: %s: longer than 1024 bytes",
		    files[i]);
		parse_err(text, want);
	}
	path[SDCONFIG_PATH_MAX] = '\0';
	snprintf(line, sizeof(line), "binding b secret_file %s", path);
	build(text, sizeof(text), line, "binding b host b.test\n");
	cfg = parse_ok(text);
	assert_int_equal(strlen(sdconfig_binding(cfg, "b")->secret_file),
	    SDCONFIG_PATH_MAX);
	sdconfig_free(cfg);
	path[SDCONFIG_PATH_MAX] = 'a';
	snprintf(line, sizeof(line), "binding b secret_file %s", path);
	build(text, sizeof(text), line, NULL);
	parse_err(text, "t.conf:1: binding: secret_file longer than 1024 bytes");
}

static void
test_tenants(void **state)
{
	size_t cap = 64 * (SDCONFIG_TENANTS_MAX + 2) + sizeof(REQ), n, i;
	char *text = malloc(cap);
	const struct sdconfig_tenant_map *t;
	struct sdconfig *cfg;

	(void)state;
	assert_non_null(text);
	cfg = parse_ok(REQ "tenant root uid 0 operator\n"
	    "tenant max uid 4294967294\n"
	    "tenant a uid 1\ntenant a uid 2 operator\ntenant b uid 3\n");
	assert_int_equal(cfg->ntenants, 5);
	assert_non_null(t = sdconfig_tenant_by_uid(cfg, 0));
	assert_string_equal(t->tenant, "root");
	assert_true(t->operator);
	assert_non_null(t = sdconfig_tenant_by_uid(cfg, 4294967294u));
	assert_string_equal(t->tenant, "max");
	assert_non_null(t = sdconfig_tenant_by_uid(cfg, 1));
	assert_string_equal(t->tenant, "a");
	assert_false(t->operator);
	/* Operator is per uid, not per tenant. */
	assert_non_null(t = sdconfig_tenant_by_uid(cfg, 2));
	assert_string_equal(t->tenant, "a");
	assert_true(t->operator);
	assert_null(sdconfig_tenant_by_uid(cfg, 4));
	assert_null(sdconfig_tenant_by_uid(cfg, (uid_t)-1));
	sdconfig_free(cfg);

	n = (size_t)snprintf(text, cap, REQ);
	for (i = 0; i < SDCONFIG_TENANTS_MAX; i++)
		n += (size_t)snprintf(text + n, cap - n, "tenant t%zu uid %zu\n",
		    i % 7, 1000 + i);
	cfg = parse_ok(text);
	assert_int_equal(cfg->ntenants, SDCONFIG_TENANTS_MAX);
	assert_non_null(t = sdconfig_tenant_by_uid(cfg, 1000 + 255));
	assert_string_equal(t->tenant, "t3");
	sdconfig_free(cfg);
	snprintf(text + n, cap - n, "tenant x uid 99\n");
	parse_err(text, "t.conf:261: tenant: at most 256 uids");
	free(text);
}

static void
test_api_keys(void **state)
{
	char k1[80], k2[80], text[1024];
	const struct sdconfig_key *k;
	struct sdconfig *cfg;

	(void)state;
	key_hash("k1", k1);
	assert_string_equal(k1, K1_HEX);
	key_hash("a much longer key \x01\xff with any bytes", k2);
	snprintf(text, sizeof(text), REQ "api_key ci %s\n"
	    "api_key ops %s operator\n", k1, k2);
	cfg = parse_ok(text);
	assert_int_equal(cfg->nkeys, 2);
	assert_non_null(k = sdconfig_key_lookup(cfg, "k1", 2));
	assert_ptr_equal(k, &cfg->keys[0]);
	assert_string_equal(k->tenant, "ci");
	assert_false(k->operator);
	assert_non_null(k = sdconfig_key_lookup(cfg,
	    "a much longer key \x01\xff with any bytes",
	    strlen("a much longer key \x01\xff with any bytes")));
	assert_string_equal(k->tenant, "ops");
	assert_true(k->operator);
	/* Wrong, truncated, extended, differently cased, empty. */
	assert_null(sdconfig_key_lookup(cfg, "k2", 2));
	assert_null(sdconfig_key_lookup(cfg, "k", 1));
	assert_null(sdconfig_key_lookup(cfg, "k1 ", 3));
	assert_null(sdconfig_key_lookup(cfg, "K1", 2));
	assert_null(sdconfig_key_lookup(cfg, "k1\0", 3));
	assert_null(sdconfig_key_lookup(cfg, "", 0));
	assert_null(sdconfig_key_lookup(cfg, NULL, 0));
	/* The hash of the hash is not the key. */
	assert_null(sdconfig_key_lookup(cfg, k1, strlen(k1)));
	assert_null(sdconfig_key_lookup(cfg, k1 + 7, strlen(k1 + 7)));
	sdconfig_free(cfg);

	/* Several keys may share a tenant; tcp_listen is then fine. */
	snprintf(text, sizeof(text), REQ "tcp_listen 198.18.0.1:8080\n"
	    "api_key ci %s\napi_key ci %s\n", k1, k2);
	cfg = parse_ok(text);
	assert_int_equal(cfg->nkeys, 2);
	assert_string_equal(sdconfig_key_lookup(cfg, "k1", 2)->tenant, "ci");
	assert_int_equal(cfg->tcp_listen.port, 8080);
	sdconfig_free(cfg);
}

static void
test_key_limit(void **state)
{
	size_t cap = 128 * (SDCONFIG_KEYS_MAX + 2) + sizeof(REQ), n, i;
	char *text = malloc(cap), hash[80], key[32];
	struct sdconfig *cfg;
	const struct sdconfig_key *k;

	(void)state;
	assert_non_null(text);
	n = (size_t)snprintf(text, cap, REQ);
	for (i = 0; i < SDCONFIG_KEYS_MAX; i++) {
		snprintf(key, sizeof(key), "key-%zu", i);
		key_hash(key, hash);
		n += (size_t)snprintf(text + n, cap - n, "api_key t%zu %s\n", i,
		    hash);
	}
	cfg = parse_ok(text);
	assert_int_equal(cfg->nkeys, SDCONFIG_KEYS_MAX);
	for (i = 0; i < SDCONFIG_KEYS_MAX; i += 51) {
		snprintf(key, sizeof(key), "key-%zu", i);
		assert_non_null(k = sdconfig_key_lookup(cfg, key, strlen(key)));
		assert_ptr_equal(k, &cfg->keys[i]);
	}
	assert_null(sdconfig_key_lookup(cfg, "key-256", 7));
	sdconfig_free(cfg);
	key_hash("key-256", hash);
	snprintf(text + n, cap - n, "api_key x %s\n", hash);
	parse_err(text, "t.conf:261: api_key: at most 256 keys");
	free(text);
}

/* A key pasted where its hash belongs never reaches the message. */
static void
test_api_key_not_echoed(void **state)
{
	static const char *const lines[] = {
		"api_key ci sk-SECRET\n",
		"api_key ci sha256:SECRET\n",
		"api_key SECRET\n",
		"api_key SECRET " K1_HEX "\n",
		"api_key ci " K1_HEX " SECRET\n",
		"api_key ci SECRET operator x\n",
	};
	struct sdconfig *cfg = NULL;
	char text[512];
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(lines); i++) {
		snprintf(text, sizeof(text), REQ "%s", lines[i]);
		assert_int_equal(sdconfig_parse(text, strlen(text), "t.conf",
		    &cfg, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "t.conf:5: api_key: "));
		if (strstr(err, "SECRET") != NULL)
			fail_msg("echoed: %s", err);
	}
}

static void
test_tcp_listen(void **state)
{
	char text[512], buf[CTL_ENDPOINT_STRLEN];
	struct sdconfig *cfg;

	(void)state;
	snprintf(text, sizeof(text), "tcp_listen 198.18.0.1:8080\n" REQ
	    "api_key ci %s\n", K1_HEX);
	cfg = parse_ok(text);
	assert_int_equal(cfg->tcp_listen.addr.family, AF_INET);
	assert_int_equal(ctl_endpoint_format(&cfg->tcp_listen, buf,
	    sizeof(buf)), 0);
	assert_string_equal(buf, "198.18.0.1:8080");
	sdconfig_free(cfg);
	snprintf(text, sizeof(text), REQ "api_key ci %s\n"
	    "tcp_listen [::1]:65535\n", K1_HEX);
	cfg = parse_ok(text);
	assert_int_equal(cfg->tcp_listen.addr.family, AF_INET6);
	assert_int_equal(cfg->tcp_listen.port, 65535);
	sdconfig_free(cfg);
}

static void
test_bindings(void **state)
{
	size_t cap = 128 * (SDCONFIG_BINDINGS_MAX + 2) + sizeof(REQ), n, i;
	char *text = malloc(cap), name[16];
	const struct sdconfig_binding *b;
	struct sdconfig *cfg;

	(void)state;
	assert_non_null(text);
	n = (size_t)snprintf(text, cap, REQ);
	for (i = 0; i < SDCONFIG_BINDINGS_MAX; i++)
		n += (size_t)snprintf(text + n, cap - n,
		    "binding b%zu secret_file /etc/enclave/s%zu\n"
		    "binding b%zu host b%zu.test\n", i, i, i, i);
	cfg = parse_ok(text);
	assert_int_equal(cfg->nbindings, SDCONFIG_BINDINGS_MAX);
	for (i = 0; i < SDCONFIG_BINDINGS_MAX; i++) {
		char want[64];

		snprintf(name, sizeof(name), "b%zu", i);
		snprintf(want, sizeof(want), "/etc/enclave/s%zu", i);
		assert_non_null(b = sdconfig_binding(cfg, name));
		assert_string_equal(b->name, name);
		assert_string_equal(b->secret_file, want);
		assert_int_equal(b->line, 5 + 2 * i);
	}
	assert_null(sdconfig_binding(cfg, "b64"));
	assert_null(sdconfig_binding(cfg, ""));
	sdconfig_free(cfg);
	snprintf(text + n, cap - n, "binding b64 secret_file /x\n");
	parse_err(text, "t.conf:133: binding: at most 64 bindings");
	free(text);
	cfg = parse_ok(REQ
	    "binding github secret_env GH_TOKEN\n"
	    "binding github host GIT.test.\n"
	    "binding github host *.github.com:443\n"
	    "binding github inject basic:x-access-token\n"
	    "binding github tenant ci\n"
	    "binding api secret_file /s/api\n"
	    "binding api host api.test\n"
	    "binding api inject header:X-Api-Key\n"
	    "binding api allow_http yes\n");
	assert_non_null(b = sdconfig_binding(cfg, "github"));
	assert_string_equal(b->secret_env, "GH_TOKEN");
	assert_null(b->secret_file);
	assert_int_equal(b->nhosts, 2);
	assert_string_equal(b->hosts[0], "git.test");
	assert_string_equal(b->hosts[1], "*.github.com:443");
	assert_int_equal(b->inject, SDCONFIG_INJECT_BASIC);
	assert_string_equal(b->user, "x-access-token");
	assert_false(b->allow_http);
	assert_true(sdconfig_binding_allowed(b, "ci"));
	assert_false(sdconfig_binding_allowed(b, "default"));
	assert_non_null(b = sdconfig_binding(cfg, "api"));
	assert_int_equal(b->inject, SDCONFIG_INJECT_HEADER);
	assert_string_equal(b->header, "X-Api-Key");
	assert_true(b->allow_http);
	assert_true(sdconfig_binding_allowed(b, "default"));
	sdconfig_free(cfg);
}

static void
test_layout(void **state)
{
	struct sdconfig *cfg;

	(void)state;
	cfg = parse_ok("  # comment\r\n\r\n\t\r\n"
	    "proxyd_control\t/run/p.sock   # trailing comment\r\n"
	    "tproxy_port 1#glued comment\r\n"
	    "dns_port\t \t2\r\n"
	    "pool 198.19.0.0/16\r\n"
	    "tenant ci uid 5 \t operator  \r\n"
	    "#last line without a newline, with a CR\r");
	assert_string_equal(cfg->proxyd_control, "/run/p.sock");
	assert_int_equal(cfg->tproxy_port, 1);
	assert_int_equal(cfg->dns_port, 2);
	assert_int_equal(cfg->tenants[0].line, 8);
	assert_true(cfg->tenants[0].operator);
	sdconfig_free(cfg);

	cfg = parse_ok("proxyd_control /p\ntproxy_port 1\ndns_port 2\n"
	    "pool 198.19.0.0/16");
	sdconfig_free(cfg);

	parse_err(REQ "max_sessions 5\r7\n",
	    "t.conf:5: control character 0x0d in line");
	parse_err(REQ "max_sessions 5\r\r\n",
	    "t.conf:5: control character 0x0d in line");
	parse_err(REQ "# a \033[2J comment\n",
	    "t.conf:5: control character 0x1b in line");
	parse_err(REQ "# \x7f\n", "t.conf:5: control character 0x7f in line");
	parse_err(REQ "\v\n", "t.conf:5: control character 0x0b in line");
	parse_err(REQ "\f\n", "t.conf:5: control character 0x0c in line");
	/* '#' always starts a comment, even glued to a value. */
	cfg = parse_ok(REQ "socket /run/a#b.sock\n");
	assert_string_equal(cfg->socket, "/run/a");
	sdconfig_free(cfg);
	parse_err(REQ "#\nsocket#/x\n", "t.conf:6: socket: expected 1 value, "
	    "got 0");
	/* UTF-8 in comments is fine; elsewhere it is a bad value. */
	cfg = parse_ok(REQ "# caf\xc3\xa9\n");
	sdconfig_free(cfg);
	parse_err(REQ "name_prefix caf\xc3\xa9\n", "t.conf:5: name_prefix: "
	    "invalid prefix \"caf\xc3\xa9\": must be 1..8 of a-z 0-9");
}

static void
test_nul_byte(void **state)
{
	static const char text[] = REQ "max_sessions 5\0\n";

	(void)state;
	parse_err_len(text, sizeof(text) - 1, "t.conf:5: NUL byte in line");
	/* Never read past len: the same text cut short is another file. */
	parse_err_len(text, sizeof(REQ) - 1 + 2,
	    "t.conf:5: unknown directive \"ma\"");
	parse_err_len("\0", 1, "t.conf:1: NUL byte in line");
}

static void
test_long_lines(void **state)
{
	char *text = malloc(SDCONFIG_LINE_MAX + sizeof(REQ) + 64);
	struct sdconfig *cfg;
	size_t n;

	(void)state;
	assert_non_null(text);
	n = (size_t)sprintf(text, REQ);
	memset(text + n, '#', SDCONFIG_LINE_MAX);
	text[n + SDCONFIG_LINE_MAX] = '\r';
	text[n + SDCONFIG_LINE_MAX + 1] = '\n';
	text[n + SDCONFIG_LINE_MAX + 2] = '\0';
	cfg = parse_ok(text);
	sdconfig_free(cfg);

	memset(text + n, '#', SDCONFIG_LINE_MAX + 1);
	text[n + SDCONFIG_LINE_MAX + 1] = '\n';
	text[n + SDCONFIG_LINE_MAX + 2] = '\0';
	parse_err(text, "t.conf:5: line too long (more than 4096 bytes)");

	/* Many words: counted right though only a few are kept. */
	n = (size_t)sprintf(text, REQ "socket");
	while (n < sizeof(REQ) + 2000)
		n += (size_t)sprintf(text + n, " /x");
	text[n] = '\0';
	parse_err(text, "t.conf:5: socket: expected 1 value, got 665");
	free(text);
}

static void
test_file_too_large(void **state)
{
	size_t len = SDCONFIG_FILE_MAX + 1;
	char *text = malloc(len);
	struct sdconfig *cfg = NULL;

	(void)state;
	assert_non_null(text);
	memset(text, '\n', len);
	memcpy(text, REQ, sizeof(REQ) - 1);
	parse_err_len(text, len,
	    "t.conf: file too large (more than 1048576 bytes)");
	/* Exactly the limit is fine. */
	assert_int_equal(sdconfig_parse(text, len - 1, "t.conf", &cfg, err,
	    sizeof(err)), 0);
	sdconfig_free(cfg);
	free(text);
}

static void
test_load(void **state)
{
	char path[] = "/tmp/test_sdconfig.XXXXXX";
	static const char text[] = REQ "tenant ci uid 5\nbogus\n";
	struct sdconfig *cfg = NULL;
	char want[256], *big;
	int fd;

	(void)state;
	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), sizeof(text) - 1);
	close(fd);
	assert_int_equal(sdconfig_load(path, &cfg, err, sizeof(err)), -1);
	assert_null(cfg);
	snprintf(want, sizeof(want), "%s:6: unknown directive \"bogus\"", path);
	assert_string_equal(err, want);

	assert_int_equal(truncate(path, sizeof(text) - 1 - 6), 0);
	assert_int_equal(sdconfig_load(path, &cfg, err, sizeof(err)), 0);
	assert_non_null(cfg);
	assert_int_equal(cfg->ntenants, 1);
	sdconfig_free(cfg);

	/* One byte over the limit, however it is read. */
	assert_non_null(big = malloc(SDCONFIG_FILE_MAX + 1));
	memset(big, '\n', SDCONFIG_FILE_MAX + 1);
	memcpy(big, REQ, sizeof(REQ) - 1);
	assert_true((fd = open(path, O_WRONLY | O_TRUNC)) >= 0);
	assert_int_equal(write(fd, big, SDCONFIG_FILE_MAX + 1),
	    SDCONFIG_FILE_MAX + 1);
	close(fd);
	free(big);
	assert_int_equal(sdconfig_load(path, &cfg, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: file too large (more than 1048576 "
	    "bytes)", path);
	assert_string_equal(err, want);
	assert_int_equal(truncate(path, SDCONFIG_FILE_MAX), 0);
	assert_int_equal(sdconfig_load(path, &cfg, err, sizeof(err)), 0);
	sdconfig_free(cfg);
	unlink(path);

	assert_int_equal(sdconfig_load(path, &cfg, err, sizeof(err)), -1);
	assert_null(cfg);
	snprintf(want, sizeof(want), "cannot open %s: No such file or directory",
	    path);
	assert_string_equal(err, want);
	assert_int_equal(sdconfig_load("/tmp", &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "/tmp: not a regular file");
	assert_int_equal(sdconfig_load("/dev/null", &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "/dev/null: not a regular file");
}

/* The documented example parses; it is the file operators copy. */
static void
test_example(void **state)
{
	const char *top = getenv("abs_top_srcdir");
	char path[4096];
	struct sdconfig *cfg = NULL;

	(void)state;
	if (top == NULL)
		skip();
	snprintf(path, sizeof(path), "%s/contrib/sessiond.conf.example", top);
	if (sdconfig_load(path, &cfg, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_true(cfg->ntenants > 0);
	assert_true(cfg->nkeys > 0);
	/* No TCP listener unless the operator uncomments it. */
	assert_int_equal(cfg->tcp_listen.addr.family, 0);
	assert_false(cfg->helpers_dir_given);
	assert_non_null(sdconfig_binding(cfg, "github"));
	sdconfig_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal_defaults),
		cmocka_unit_test(test_backend_opts),
		cmocka_unit_test(test_full_config),
		cmocka_unit_test(test_number_edges),
		cmocka_unit_test(test_request_limits),
		cmocka_unit_test(test_error_messages),
		cmocka_unit_test(test_required),
		cmocka_unit_test(test_good_values),
		cmocka_unit_test(test_path_lengths),
		cmocka_unit_test(test_tenants),
		cmocka_unit_test(test_api_keys),
		cmocka_unit_test(test_key_limit),
		cmocka_unit_test(test_api_key_not_echoed),
		cmocka_unit_test(test_tcp_listen),
		cmocka_unit_test(test_bindings),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_file_too_large),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_example),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
