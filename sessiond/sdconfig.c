#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/cfglex.h"
#include "common/file.h"
#include "common/hostname.h"
#include "netns/addrpool.h"
#include "sessiond/sdconfig.h"

/* Longest directive: "tenant NAME uid UID operator". Words past this are
 * counted, so "expected N values, got M" stays right, but not stored. */
#define SDCONFIG_WORDS_MAX	8
/* (uid_t)-1 and (gid_t)-1 mean "no change" to setresuid() and chown(). */
#define SDCONFIG_ID_MAX		4294967294u
#define SDCONFIG_TENANT_RULE	"must be 1..64 of a-z 0-9 _ -"
#define SDCONFIG_NAME_RULE	"must be 1..32 of a-z 0-9 _ -"

_Static_assert(SDCONFIG_SOCKET_PATH_MAX + 1 ==
    sizeof(((struct sockaddr_un *)0)->sun_path), "sun_path size");
_Static_assert(SDCONFIG_POOL_MIN_PREFIX == ADDRPOOL_MIN_PREFIX,
    "a pool the address allocator refuses");
_Static_assert(sizeof(uid_t) == sizeof(uint32_t) &&
    sizeof(gid_t) == sizeof(uint32_t), "32-bit ids");

struct sdconfig_parser;
struct sdconfig_directive;

typedef int (*sdconfig_handler)(struct sdconfig_parser *,
    const struct sdconfig_directive *, const struct cfg_word *, size_t);

struct sdconfig_directive {
	const char		*name;
	sdconfig_handler	 fn;
	bool			 once;
	bool			 required;
	size_t			 off;	/* of its field in struct sdconfig */
	size_t			 size;	/* of a numeric field: 2, 4, 8 */
	uint32_t		 min, max, def;	/* paths: max length */
};

static int sdconfig_path(struct sdconfig_parser *,
    const struct sdconfig_directive *, const struct cfg_word *, size_t);
static int sdconfig_mode(struct sdconfig_parser *,
    const struct sdconfig_directive *, const struct cfg_word *, size_t);
static int sdconfig_tenant(struct sdconfig_parser *,
    const struct sdconfig_directive *, const struct cfg_word *, size_t);
static int sdconfig_api_key(struct sdconfig_parser *,
    const struct sdconfig_directive *, const struct cfg_word *, size_t);
static int sdconfig_endpoint(struct sdconfig_parser *,
    const struct sdconfig_directive *, const struct cfg_word *, size_t);
static int sdconfig_netns(struct sdconfig_parser *,
    const struct sdconfig_directive *, const struct cfg_word *, size_t);
static int sdconfig_number(struct sdconfig_parser *,
    const struct sdconfig_directive *, const struct cfg_word *, size_t);
static int sdconfig_limit(struct sdconfig_parser *,
    const struct sdconfig_directive *, const struct cfg_word *, size_t);
static int sdconfig_pool(struct sdconfig_parser *,
    const struct sdconfig_directive *, const struct cfg_word *, size_t);
static int sdconfig_prefix(struct sdconfig_parser *,
    const struct sdconfig_directive *, const struct cfg_word *, size_t);
static int sdconfig_backend(struct sdconfig_parser *,
    const struct sdconfig_directive *, const struct cfg_word *, size_t);
static int sdconfig_binding_add(struct sdconfig_parser *,
    const struct sdconfig_directive *, const struct cfg_word *, size_t);
static int sdconfig_backend_opt_add(struct sdconfig_parser *,
    const struct sdconfig_directive *, const struct cfg_word *, size_t);

#define SD_OFF(f)	offsetof(struct sdconfig, f)
#define SD_NUM(f)	SD_OFF(f), sizeof(((struct sdconfig *)0)->f)
/* Operator-set request limits: any 32-bit number on the line, then the
 * whole set goes through request_limits_check(), which knows the ranges. */
#define SD_LIMIT(n, f) \
	{ n, sdconfig_limit, true, false, SD_NUM(limits.f), 0, UINT32_MAX, 0 }

static const struct sdconfig_directive sdconfig_directives[] = {
	{ "socket", sdconfig_path, true, false, SD_OFF(socket), 0,
	    0, SDCONFIG_SOCKET_PATH_MAX, 0 },
	{ "socket_mode", sdconfig_mode, true, false, 0, 0, 0, 0, 0 },
	{ "tenant", sdconfig_tenant, false, false, 0, 0, 0, 0, 0 },
	{ "api_key", sdconfig_api_key, false, false, 0, 0, 0, 0, 0 },
	{ "tcp_listen", sdconfig_endpoint, true, false, SD_OFF(tcp_listen), 0,
	    0, 0, 0 },
	{ "appliance_netns", sdconfig_netns, true, false, 0, 0, 0, 0, 0 },
	{ "proxyd_control", sdconfig_path, true, true, SD_OFF(proxyd_control),
	    0, 0, SDCONFIG_SOCKET_PATH_MAX, 0 },
	{ "tproxy_port", sdconfig_number, true, true, SD_NUM(tproxy_port),
	    1, 65535, 0 },
	{ "dns_port", sdconfig_number, true, true, SD_NUM(dns_port),
	    1, 65535, 0 },
	{ "nflog_group", sdconfig_number, true, false, SD_NUM(nflog_group),
	    0, 65535, 7 },
	{ "pool", sdconfig_pool, true, true, 0, 0, 0, 0, 0 },
	{ "name_prefix", sdconfig_prefix, true, false, 0, 0, 0, 0, 0 },
	{ "state_dir", sdconfig_path, true, false, SD_OFF(state_dir), 0,
	    0, SDCONFIG_PATH_MAX, 0 },
	{ "audit_log", sdconfig_path, true, false, SD_OFF(audit_log), 0,
	    0, SDCONFIG_PATH_MAX, 0 },
	{ "helpers_dir", sdconfig_path, true, false, SD_OFF(helpers_dir), 0,
	    0, SDCONFIG_PATH_MAX, 0 },
	{ "intercept_ca", sdconfig_path, true, false, SD_OFF(intercept_ca), 0,
	    0, SDCONFIG_PATH_MAX, 0 },
	{ "workload_uid", sdconfig_number, true, false, SD_NUM(workload_uid),
	    1, SDCONFIG_ID_MAX, 65534 },
	{ "workload_gid", sdconfig_number, true, false, SD_NUM(workload_gid),
	    1, SDCONFIG_ID_MAX, 65534 },
	{ "max_sessions", sdconfig_number, true, false, SD_NUM(max_sessions),
	    1, SDCONFIG_SESSIONS_MAX, 64 },
	/* Default 0 stands for "max_sessions", filled in after the file. */
	{ "max_sessions_per_tenant", sdconfig_number, true, false,
	    SD_NUM(max_sessions_per_tenant), 1, SDCONFIG_SESSIONS_MAX, 0 },
	{ "retain_sessions", sdconfig_number, true, false,
	    SD_NUM(retain_sessions), 0, SDCONFIG_RETAIN_MAX, 1024 },
	SD_LIMIT("max_body_bytes", max_body_bytes),
	SD_LIMIT("max_code_bytes", max_code_bytes),
	SD_LIMIT("max_timeout_ms", max_timeout_ms),
	SD_LIMIT("max_memory_mb", max_memory_mb),
	SD_LIMIT("max_pids", max_pids),
	SD_LIMIT("max_output_bytes", max_output_bytes),
	SD_LIMIT("default_timeout_ms", defaults.timeout_ms),
	SD_LIMIT("default_memory_mb", defaults.memory_mb),
	SD_LIMIT("default_pids", defaults.pids),
	SD_LIMIT("default_output_bytes", defaults.output_bytes),
	{ "default_backend", sdconfig_backend, true, false, 0, 0, 0, 0, 0 },
	{ "binding", sdconfig_binding_add, false, false, 0, 0, 0, 0, 0 },
	{ "backend", sdconfig_backend_opt_add, false, false, 0, 0, 0, 0, 0 },
};

#define SDCONFIG_NDIRECTIVES \
	(sizeof(sdconfig_directives) / sizeof(sdconfig_directives[0]))

struct sdconfig_parser {
	const char	*name;
	unsigned int	 line;
	struct sdconfig	*cfg;
	unsigned int	 seen[SDCONFIG_NDIRECTIVES];	/* first line or 0 */
	char		*err;
	size_t		 errlen;
};

/* SHA-256 of "": such a line would let an empty bearer token in. */
static const unsigned char sdconfig_empty_sha256[SDCONFIG_SHA256_LEN] = {
	0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14,
	0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
	0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c,
	0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
};

static int __attribute__((format(printf, 2, 3)))
sdconfig_error(struct sdconfig_parser *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->line > 0)
		n = snprintf(p->err, p->errlen, "%s:%u: ", p->name, p->line);
	else
		n = snprintf(p->err, p->errlen, "%s: ", p->name);
	if (n < 0 || (size_t)n >= p->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static void *
sdconfig_field(struct sdconfig_parser *p, const struct sdconfig_directive *d)
{
	return (char *)p->cfg + d->off;
}

static void
sdconfig_word_copy(char *dst, const struct cfg_word *w)
{
	memcpy(dst, w->s, w->n);
	dst[w->n] = '\0';
}

static int
sdconfig_one_arg(struct sdconfig_parser *p, const struct sdconfig_directive *d,
    size_t nargs)
{
	if (nargs != 1)
		return sdconfig_error(p, "%s: expected 1 value, got %zu", d->name,
		    nargs);
	return 0;
}

/* Plain decimal: "0x10", "+5", "010" and "1e3" are all refused. */
static int
sdconfig_decimal(const struct cfg_word *w, uint32_t min, uint32_t max,
    uint32_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (w->n > 10 || (w->n > 1 && w->s[0] == '0'))
		return -1;
	for (i = 0; i < w->n; i++) {
		if (w->s[i] < '0' || w->s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(w->s[i] - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* Numeric fields are unsigned integers of 2, 4 or 8 bytes (uint16_t,
 * uint32_t, uid_t, gid_t, size_t, uint64_t); the table records which. */
static void
sdconfig_store(void *dst, size_t size, uint32_t v)
{
	uint16_t v16 = (uint16_t)v;
	uint64_t v64 = v;

	switch (size) {
	case sizeof(v16):
		memcpy(dst, &v16, sizeof(v16));
		break;
	case sizeof(v):
		memcpy(dst, &v, sizeof(v));
		break;
	case sizeof(v64):
		memcpy(dst, &v64, sizeof(v64));
		break;
	}
}

static int
sdconfig_number(struct sdconfig_parser *p, const struct sdconfig_directive *d,
    const struct cfg_word *args, size_t nargs)
{
	uint32_t v;

	if (sdconfig_one_arg(p, d, nargs) == -1)
		return -1;
	if (sdconfig_decimal(&args[0], d->min, d->max, &v) == -1)
		return sdconfig_error(p, "%s: must be an integer in %u..%u",
		    d->name, d->min, d->max);
	sdconfig_store(sdconfig_field(p, d), d->size, v);
	return 0;
}

/* The same on the line; only the defaults differ (see sdconfig_defaults). */
static int
sdconfig_limit(struct sdconfig_parser *p, const struct sdconfig_directive *d,
    const struct cfg_word *args, size_t nargs)
{
	return sdconfig_number(p, d, args, nargs);
}

/* Absolute, because the daemon may chdir("/") before opening them. */
static int
sdconfig_path(struct sdconfig_parser *p, const struct sdconfig_directive *d,
    const struct cfg_word *args, size_t nargs)
{
	if (sdconfig_one_arg(p, d, nargs) == -1)
		return -1;
	if (args[0].s[0] != '/')
		return sdconfig_error(p, "%s: must be an absolute path", d->name);
	if (args[0].n > d->max)
		return sdconfig_error(p, "%s: longer than %u bytes", d->name,
		    d->max);
	sdconfig_word_copy(sdconfig_field(p, d), &args[0]);
	return 0;
}

/* Always "0" and three octal digits, so a mode can't be misread as
 * decimal. The owner (the daemon) keeps read and write; setuid, setgid
 * and sticky mean nothing on a socket. */
static int
sdconfig_mode(struct sdconfig_parser *p, const struct sdconfig_directive *d,
    const struct cfg_word *args, size_t nargs)
{
	const struct cfg_word *w = &args[0];
	mode_t m = 0;
	size_t i;

	if (sdconfig_one_arg(p, d, nargs) == -1)
		return -1;
	if (w->n != 4 || w->s[0] != '0')
		goto bad;
	for (i = 1; i < w->n; i++) {
		if (w->s[i] < '0' || w->s[i] > '7')
			goto bad;
		m = m * 8 + (mode_t)(w->s[i] - '0');
	}
	if (m < 0600)
		goto bad;
	p->cfg->socket_mode = m;
	return 0;
bad:
	return sdconfig_error(p, "socket_mode: must be an octal mode in "
	    "0600..0777, like 0660");
}

static int
sdconfig_tenant(struct sdconfig_parser *p, const struct sdconfig_directive *d,
    const struct cfg_word *args, size_t nargs)
{
	struct sdconfig *cfg = p->cfg;
	struct sdconfig_tenant_map *t;
	uint32_t uid;
	size_t i;

	(void)d;
	if (nargs < 3 || nargs > 4)
		return sdconfig_error(p, "tenant: expected NAME uid UID "
		    "[operator], got %zu values", nargs);
	if (!ctl_tenant_valid(args[0].s, args[0].n))
		return sdconfig_error(p, "tenant: invalid tenant \"%.*s\": %s",
		    cfg_quote_len(&args[0]), args[0].s,
		    SDCONFIG_TENANT_RULE);
	if (!cfg_word_is(&args[1], "uid"))
		return sdconfig_error(p, "tenant: expected \"uid\" after the "
		    "name, got \"%.*s\"", cfg_quote_len(&args[1]),
		    args[1].s);
	if (sdconfig_decimal(&args[2], 0, SDCONFIG_ID_MAX, &uid) == -1)
		return sdconfig_error(p, "tenant: uid must be an integer in "
		    "0..%u", SDCONFIG_ID_MAX);
	if (nargs == 4 && !cfg_word_is(&args[3], "operator"))
		return sdconfig_error(p, "tenant: expected \"operator\" or "
		    "nothing after the uid, got \"%.*s\"",
		    cfg_quote_len(&args[3]), args[3].s);
	for (i = 0; i < cfg->ntenants; i++)
		if (cfg->tenants[i].uid == uid)
			return sdconfig_error(p, "tenant: uid %u given twice "
			    "(first on line %u)", uid, cfg->tenants[i].line);
	if (cfg->ntenants == SDCONFIG_TENANTS_MAX)
		return sdconfig_error(p, "tenant: at most %d uids",
		    SDCONFIG_TENANTS_MAX);
	t = &cfg->tenants[cfg->ntenants++];
	t->uid = uid;
	sdconfig_word_copy(t->tenant, &args[0]);
	t->operator = nargs == 4;
	t->line = p->line;
	return 0;
}

static int
sdconfig_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* "sha256:" and 64 lowercase hex digits. */
static int
sdconfig_sha256(const struct cfg_word *w,
    unsigned char out[SDCONFIG_SHA256_LEN])
{
	static const char tag[] = "sha256:";
	const char *hex = w->s + sizeof(tag) - 1;
	int hi, lo;
	size_t i;

	if (w->n != sizeof(tag) - 1 + 2 * SDCONFIG_SHA256_LEN ||
	    memcmp(w->s, tag, sizeof(tag) - 1) != 0)
		return -1;
	for (i = 0; i < SDCONFIG_SHA256_LEN; i++) {
		if ((hi = sdconfig_hexval(hex[2 * i])) == -1 ||
		    (lo = sdconfig_hexval(hex[2 * i + 1])) == -1)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* No message here quotes a value: an operator who pasted a key where its
 * hash belongs must not find the key in the daemon's log. */
static int
sdconfig_api_key(struct sdconfig_parser *p, const struct sdconfig_directive *d,
    const struct cfg_word *args, size_t nargs)
{
	struct sdconfig *cfg = p->cfg;
	struct sdconfig_key k;
	size_t i;

	(void)d;
	if (nargs < 2 || nargs > 3)
		return sdconfig_error(p, "api_key: expected TENANT sha256:HEX "
		    "[operator], got %zu values", nargs);
	if (!ctl_tenant_valid(args[0].s, args[0].n))
		return sdconfig_error(p, "api_key: invalid tenant: %s",
		    SDCONFIG_TENANT_RULE);
	memset(&k, 0, sizeof(k));
	if (sdconfig_sha256(&args[1], k.sha256) == -1)
		return sdconfig_error(p, "api_key: expected \"sha256:\" and 64 "
		    "lowercase hex digits (the key's hash, not the key)");
	if (memcmp(k.sha256, sdconfig_empty_sha256, sizeof(k.sha256)) == 0)
		return sdconfig_error(p, "api_key: that is the hash of an "
		    "empty key");
	if (nargs == 3 && !cfg_word_is(&args[2], "operator"))
		return sdconfig_error(p, "api_key: expected \"operator\" or "
		    "nothing after the hash");
	for (i = 0; i < cfg->nkeys; i++)
		if (memcmp(cfg->keys[i].sha256, k.sha256,
		    sizeof(k.sha256)) == 0)
			return sdconfig_error(p, "api_key: the same key as on "
			    "line %u", cfg->keys[i].line);
	if (cfg->nkeys == SDCONFIG_KEYS_MAX)
		return sdconfig_error(p, "api_key: at most %d keys",
		    SDCONFIG_KEYS_MAX);
	sdconfig_word_copy(k.tenant, &args[0]);
	k.operator = nargs == 3;
	k.line = p->line;
	cfg->keys[cfg->nkeys++] = k;
	return 0;
}

static int
sdconfig_endpoint(struct sdconfig_parser *p, const struct sdconfig_directive *d,
    const struct cfg_word *args, size_t nargs)
{
	const char *why = NULL;

	if (sdconfig_one_arg(p, d, nargs) == -1)
		return -1;
	if (ctl_endpoint_parse(args[0].s, args[0].n, sdconfig_field(p, d),
	    &why) == -1)
		return sdconfig_error(p, "%s: invalid address \"%.*s\": %s",
		    d->name, cfg_quote_len(&args[0]), args[0].s, why);
	return 0;
}

static int
sdconfig_netns(struct sdconfig_parser *p, const struct sdconfig_directive *d,
    const struct cfg_word *args, size_t nargs)
{
	char name[NETNS_NAME_MAX + 1];
	const char *why = "name too long";

	if (sdconfig_one_arg(p, d, nargs) == -1)
		return -1;
	if (args[0].n > NETNS_NAME_MAX)
		goto bad;
	sdconfig_word_copy(name, &args[0]);
	if (netns_name_valid(name, &why) == -1)
		goto bad;
	memcpy(p->cfg->appliance_netns, name, args[0].n + 1);
	return 0;
bad:
	return sdconfig_error(p, "appliance_netns: invalid name \"%.*s\": %s",
	    cfg_quote_len(&args[0]), args[0].s, why);
}

static int
sdconfig_pool(struct sdconfig_parser *p, const struct sdconfig_directive *d,
    const struct cfg_word *args, size_t nargs)
{
	struct cidr c;
	const char *why = NULL;

	if (sdconfig_one_arg(p, d, nargs) == -1)
		return -1;
	if (cidr_parse(args[0].s, args[0].n, &c, &why) == -1)
		return sdconfig_error(p, "pool: invalid range \"%.*s\": %s",
		    cfg_quote_len(&args[0]), args[0].s, why);
	if (c.addr.family != AF_INET)
		return sdconfig_error(p, "pool: must be an IPv4 range");
	if (c.prefix < SDCONFIG_POOL_MIN_PREFIX ||
	    c.prefix > SDCONFIG_POOL_MAX_PREFIX)
		return sdconfig_error(p, "pool: prefix length must be %d..%d",
		    SDCONFIG_POOL_MIN_PREFIX, SDCONFIG_POOL_MAX_PREFIX);
	p->cfg->pool = c;
	return 0;
}

/* Short, so prefix + "h" + six digits fits an interface name. */
static int
sdconfig_prefix(struct sdconfig_parser *p, const struct sdconfig_directive *d,
    const struct cfg_word *args, size_t nargs)
{
	const struct cfg_word *w = &args[0];
	size_t i;

	if (sdconfig_one_arg(p, d, nargs) == -1)
		return -1;
	for (i = 0; i < w->n; i++)
		if (!((w->s[i] >= 'a' && w->s[i] <= 'z') ||
		    (w->s[i] >= '0' && w->s[i] <= '9')))
			break;
	if (i < w->n || w->n > SDCONFIG_PREFIX_MAX)
		return sdconfig_error(p, "name_prefix: invalid prefix "
		    "\"%.*s\": must be 1..%d of a-z 0-9", cfg_quote_len(w),
		    w->s, SDCONFIG_PREFIX_MAX);
	sdconfig_word_copy(p->cfg->name_prefix, w);
	return 0;
}

static int
sdconfig_backend(struct sdconfig_parser *p, const struct sdconfig_directive *d,
    const struct cfg_word *args, size_t nargs)
{
	if (sdconfig_one_arg(p, d, nargs) == -1)
		return -1;
	if (!request_name_valid(args[0].s, args[0].n))
		return sdconfig_error(p, "default_backend: invalid name "
		    "\"%.*s\": %s", cfg_quote_len(&args[0]), args[0].s,
		    SDCONFIG_NAME_RULE);
	sdconfig_word_copy(p->cfg->default_backend, &args[0]);
	p->cfg->limits.default_backend = p->cfg->default_backend;
	return 0;
}

/* Only the path (or variable name) is kept: the secret is read by the
 * daemon when a session needs it, never by the parser, so it is in no
 * config dump or error. One binding spans several lines, a key each. */
static int
sdconfig_binding_add(struct sdconfig_parser *p,
    const struct sdconfig_directive *d, const struct cfg_word *args,
    size_t nargs)
{
	struct sdconfig *cfg = p->cfg;
	struct sdconfig_binding *b = NULL;
	const struct cfg_word *v = &args[2];
	struct host_pattern hp;
	char why[128];
	size_t i;

	(void)d;
	if (nargs != 3)
		return sdconfig_error(p, "binding: expected NAME KEY VALUE, got "
		    "%zu values", nargs);
	if (!request_name_valid(args[0].s, args[0].n))
		return sdconfig_error(p, "binding: invalid name \"%.*s\": %s",
		    cfg_quote_len(&args[0]), args[0].s,
		    SDCONFIG_NAME_RULE);
	for (i = 0; i < cfg->nbindings; i++)
		if (cfg_word_is(&args[0], cfg->bindings[i].name))
			b = &cfg->bindings[i];
	if (b == NULL) {
		if (cfg->nbindings == SDCONFIG_BINDINGS_MAX)
			return sdconfig_error(p, "binding: at most %d bindings",
			    SDCONFIG_BINDINGS_MAX);
		b = &cfg->bindings[cfg->nbindings++];
		sdconfig_word_copy(b->name, &args[0]);
		b->line = p->line;
	}
	if (cfg_word_is(&args[1], "secret_file")) {
		if (b->secret_file != NULL || b->secret_env[0] != '\0')
			return sdconfig_error(p, "binding %s: its secret is "
			    "already given", b->name);
		if (v->s[0] != '/')
			return sdconfig_error(p, "binding: secret_file must be "
			    "an absolute path");
		if (v->n > SDCONFIG_PATH_MAX)
			return sdconfig_error(p, "binding: secret_file longer "
			    "than %d bytes", SDCONFIG_PATH_MAX);
		if ((b->secret_file = strndup(v->s, v->n)) == NULL)
			return sdconfig_error(p, "out of memory");
	} else if (cfg_word_is(&args[1], "secret_env")) {
		if (b->secret_file != NULL || b->secret_env[0] != '\0')
			return sdconfig_error(p, "binding %s: its secret is "
			    "already given", b->name);
		if (v->n >= sizeof(b->secret_env))
			return sdconfig_error(p, "binding: secret_env: name too "
			    "long");
		for (i = 0; i < v->n; i++)
			if (!(isalnum((unsigned char)v->s[i]) || v->s[i] == '_'))
				return sdconfig_error(p, "binding: secret_env: "
				    "not a variable name");
		sdconfig_word_copy(b->secret_env, v);
	} else if (cfg_word_is(&args[1], "host")) {
		if (b->nhosts == SDCONFIG_BINDING_HOSTS_MAX)
			return sdconfig_error(p, "binding %s: at most %d hosts",
			    b->name, SDCONFIG_BINDING_HOSTS_MAX);
		if (v->n >= sizeof(b->hosts[0]) ||
		    host_pattern_parse(v->s, v->n, &hp, NULL) == -1 ||
		    host_pattern_format(&hp, b->hosts[b->nhosts],
		    sizeof(b->hosts[0])) == -1) {
			snprintf(why, sizeof(why), "not an allow pattern");
			return sdconfig_error(p, "binding %s: host \"%.*s\": %s",
			    b->name, cfg_quote_len(v), v->s, why);
		}
		b->host_ptrs[b->nhosts] = b->hosts[b->nhosts];
		b->nhosts++;
	} else if (cfg_word_is(&args[1], "inject")) {
		if (cfg_word_is(v, "bearer")) {
			b->inject = SDCONFIG_INJECT_BEARER;
		} else if (v->n > 6 && strncmp(v->s, "basic:", 6) == 0 &&
		    v->n - 6 < sizeof(b->user) &&
		    memchr(v->s + 6, ':', v->n - 6) == NULL) {
			b->inject = SDCONFIG_INJECT_BASIC;
			memcpy(b->user, v->s + 6, v->n - 6);
			b->user[v->n - 6] = '\0';
		} else if (v->n > 7 && strncmp(v->s, "header:", 7) == 0 &&
		    v->n - 7 < sizeof(b->header) &&
		    ctl_header_name_valid(v->s + 7, v->n - 7)) {
			b->inject = SDCONFIG_INJECT_HEADER;
			memcpy(b->header, v->s + 7, v->n - 7);
			b->header[v->n - 7] = '\0';
		} else {
			return sdconfig_error(p, "binding %s: inject: bearer, "
			    "basic:USER or header:NAME", b->name);
		}
	} else if (cfg_word_is(&args[1], "allow_http")) {
		if (cfg_word_is(v, "yes"))
			b->allow_http = true;
		else if (cfg_word_is(v, "no"))
			b->allow_http = false;
		else
			return sdconfig_error(p, "binding %s: allow_http: yes or "
			    "no", b->name);
	} else if (cfg_word_is(&args[1], "tenant")) {
		if (!ctl_tenant_valid(v->s, v->n))
			return sdconfig_error(p, "binding %s: tenant: %s",
			    b->name, SDCONFIG_TENANT_RULE);
		if (b->ntenants == SDCONFIG_BINDING_TENANTS_MAX)
			return sdconfig_error(p, "binding %s: at most %d tenants",
			    b->name, SDCONFIG_BINDING_TENANTS_MAX);
		sdconfig_word_copy(b->tenants[b->ntenants++], v);
	} else {
		return sdconfig_error(p, "binding %s: unknown key \"%.*s\" "
		    "(secret_file, secret_env, host, inject, allow_http, "
		    "tenant)", b->name, cfg_quote_len(&args[1]),
		    args[1].s);
	}
	return 0;
}

int
sdconfig_binding_allowed(const struct sdconfig_binding *b,
    const char *tenant)
{
	size_t i;

	if (b->ntenants == 0)
		return 1;
	for (i = 0; i < b->ntenants; i++)
		if (strcmp(b->tenants[i], tenant) == 0)
			return 1;
	return 0;
}

/* "backend NAME KEY VALUE": an option of one backend, which checks its
 * own keys (the parser does not know which backends are built in). */
static int
sdconfig_backend_opt_add(struct sdconfig_parser *p,
    const struct sdconfig_directive *d, const struct cfg_word *args,
    size_t nargs)
{
	struct sdconfig *cfg = p->cfg;
	struct sdconfig_backend_opt *o;
	size_t i;

	(void)d;
	if (nargs != 3)
		return sdconfig_error(p, "backend: expected NAME KEY VALUE, got "
		    "%zu values", nargs);
	if (!request_name_valid(args[0].s, args[0].n))
		return sdconfig_error(p, "backend: invalid name \"%.*s\": %s",
		    cfg_quote_len(&args[0]), args[0].s,
		    SDCONFIG_NAME_RULE);
	if (!request_name_valid(args[1].s, args[1].n))
		return sdconfig_error(p, "backend: invalid key \"%.*s\": %s",
		    cfg_quote_len(&args[1]), args[1].s,
		    SDCONFIG_NAME_RULE);
	if (args[2].n > SDCONFIG_PATH_MAX)
		return sdconfig_error(p, "backend: value longer than %d bytes",
		    SDCONFIG_PATH_MAX);
	for (i = 0; i < cfg->nbackend_opts; i++)
		if (cfg_word_is(&args[0], cfg->backend_opts[i].backend) &&
		    cfg_word_is(&args[1], cfg->backend_opts[i].key))
			return sdconfig_error(p, "backend: %s %s given twice "
			    "(first on line %u)", cfg->backend_opts[i].backend,
			    cfg->backend_opts[i].key, cfg->backend_opts[i].line);
	if (cfg->nbackend_opts == SDCONFIG_BACKEND_OPTS_MAX)
		return sdconfig_error(p, "backend: at most %d options",
		    SDCONFIG_BACKEND_OPTS_MAX);
	o = &cfg->backend_opts[cfg->nbackend_opts];
	if ((o->value = strndup(args[2].s, args[2].n)) == NULL)
		return sdconfig_error(p, "out of memory");
	sdconfig_word_copy(o->backend, &args[0]);
	sdconfig_word_copy(o->key, &args[1]);
	o->line = p->line;
	cfg->nbackend_opts++;
	return 0;
}

const char *
sdconfig_backend_opt(const struct sdconfig *cfg, const char *backend,
    const char *key)
{
	size_t i;

	for (i = 0; i < cfg->nbackend_opts; i++)
		if (strcmp(cfg->backend_opts[i].backend, backend) == 0 &&
		    strcmp(cfg->backend_opts[i].key, key) == 0)
			return cfg->backend_opts[i].value;
	return NULL;
}

static int
sdconfig_line(struct sdconfig_parser *p, const char *s, size_t n)
{
	struct cfg_word words[SDCONFIG_WORDS_MAX];
	const struct sdconfig_directive *d = NULL;
	const char *why;
	char bad[64];
	size_t nw, i;

	if (n > SDCONFIG_LINE_MAX)
		return sdconfig_error(p, "line too long (more than %d bytes)",
		    SDCONFIG_LINE_MAX);
	if ((why = cfg_check_bytes(s, n, bad, sizeof(bad))) != NULL)
		return sdconfig_error(p, "%s", why);
	if ((nw = cfg_split(s, n, words, SDCONFIG_WORDS_MAX)) == 0)
		return 0;
	for (i = 0; i < SDCONFIG_NDIRECTIVES; i++)
		if (cfg_word_is(&words[0], sdconfig_directives[i].name)) {
			d = &sdconfig_directives[i];
			break;
		}
	if (d == NULL)
		return sdconfig_error(p, "unknown directive \"%.*s\"",
		    cfg_quote_len(&words[0]), words[0].s);
	if (d->once && p->seen[i] != 0)
		return sdconfig_error(p, "duplicate %s (first on line %u)",
		    d->name, p->seen[i]);
	if (p->seen[i] == 0)
		p->seen[i] = p->line;
	return d->fn(p, d, words + 1, nw - 1);
}

static void
sdconfig_defaults(struct sdconfig *cfg)
{
	const struct sdconfig_directive *d;
	size_t i;

	snprintf(cfg->socket, sizeof(cfg->socket), "%s",
	    SDCONFIG_DEFAULT_SOCKET);
	cfg->socket_mode = SDCONFIG_DEFAULT_SOCKET_MODE;
	snprintf(cfg->name_prefix, sizeof(cfg->name_prefix), "%s",
	    SDCONFIG_DEFAULT_NAME_PREFIX);
	snprintf(cfg->state_dir, sizeof(cfg->state_dir), "%s",
	    SDCONFIG_DEFAULT_STATE_DIR);
	snprintf(cfg->audit_log, sizeof(cfg->audit_log), "%s",
	    SDCONFIG_DEFAULT_AUDIT_LOG);
	snprintf(cfg->helpers_dir, sizeof(cfg->helpers_dir), "%s",
	    SDCONFIG_DEFAULT_HELPERS_DIR);
	for (i = 0; i < SDCONFIG_NDIRECTIVES; i++) {
		d = &sdconfig_directives[i];
		if (d->fn == sdconfig_number)
			sdconfig_store((char *)cfg + d->off, d->size, d->def);
	}
	/* The backend name is copied in: the config owns what it points to. */
	request_limits_default(&cfg->limits);
	if (cfg->limits.default_backend != NULL) {
		snprintf(cfg->default_backend, sizeof(cfg->default_backend),
		    "%s", cfg->limits.default_backend);
		cfg->limits.default_backend = cfg->default_backend;
	}
}

static unsigned int
sdconfig_seen(const struct sdconfig_parser *p, const char *name)
{
	size_t i;

	for (i = 0; i < SDCONFIG_NDIRECTIVES; i++)
		if (strcmp(sdconfig_directives[i].name, name) == 0)
			return p->seen[i];
	return 0;
}

/* Rules that span lines, checked once the whole file is read. */
static int
sdconfig_finish(struct sdconfig_parser *p)
{
	struct sdconfig *cfg = p->cfg;
	char msg[256];
	size_t i;

	p->line = 0;
	for (i = 0; i < SDCONFIG_NDIRECTIVES; i++)
		if (sdconfig_directives[i].required && p->seen[i] == 0)
			return sdconfig_error(p, "no %s directive",
			    sdconfig_directives[i].name);
	if ((p->line = sdconfig_seen(p, "max_sessions_per_tenant")) == 0)
		cfg->max_sessions_per_tenant = cfg->max_sessions;
	else if (cfg->max_sessions_per_tenant > cfg->max_sessions)
		return sdconfig_error(p, "max_sessions_per_tenant %u is more "
		    "than max_sessions (%u)", cfg->max_sessions_per_tenant,
		    cfg->max_sessions);
	if ((p->line = sdconfig_seen(p, "tcp_listen")) != 0 && cfg->nkeys == 0)
		return sdconfig_error(p, "tcp_listen: no api_key is "
		    "configured, so no TCP caller could authenticate");
	cfg->helpers_dir_given = sdconfig_seen(p, "helpers_dir") != 0;
	for (i = 0; i < cfg->nbindings; i++) {
		p->line = cfg->bindings[i].line;
		if (cfg->bindings[i].secret_file == NULL &&
		    cfg->bindings[i].secret_env[0] == '\0')
			return sdconfig_error(p, "binding %s: no secret_file or "
			    "secret_env", cfg->bindings[i].name);
		if (cfg->bindings[i].nhosts == 0)
			return sdconfig_error(p, "binding %s: no host",
			    cfg->bindings[i].name);
	}
	p->line = 0;
	if (request_limits_check(&cfg->limits, msg, sizeof(msg)) == -1)
		return sdconfig_error(p, "limits: %s", msg);
	return 0;
}

int
sdconfig_parse(const char *text, size_t len, const char *name,
    struct sdconfig **out, char *err, size_t errlen)
{
	struct sdconfig_parser p;
	const char *s;
	size_t n, pos = 0;

	*out = NULL;
	memset(&p, 0, sizeof(p));
	p.name = name;
	p.err = err;
	p.errlen = errlen;
	if (len > SDCONFIG_FILE_MAX)
		return sdconfig_error(&p, "file too large (more than %d bytes)",
		    SDCONFIG_FILE_MAX);
	if ((p.cfg = calloc(1, sizeof(*p.cfg))) == NULL)
		return sdconfig_error(&p, "out of memory");
	sdconfig_defaults(p.cfg);

	while (cfg_next_line(text, len, &pos, &s, &n)) {
		p.line++;
		if (sdconfig_line(&p, s, n) == -1)
			goto fail;
	}
	if (sdconfig_finish(&p) == -1)
		goto fail;
	*out = p.cfg;
	return 0;

fail:
	sdconfig_free(p.cfg);
	return -1;
}

int
sdconfig_load(const char *path, struct sdconfig **out, char *err,
    size_t errlen)
{
	char *buf;
	size_t len;
	int rc;

	*out = NULL;
	if (file_read_bounded(path, SDCONFIG_FILE_MAX, &buf, &len, err, errlen) == -1)
		return -1;
	rc = sdconfig_parse(buf, len, path, out, err, errlen);
	free(buf);
	return rc;
}

void
sdconfig_free(struct sdconfig *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->nbindings; i++)
		free(cfg->bindings[i].secret_file);
	for (i = 0; i < cfg->nbackend_opts; i++)
		free(cfg->backend_opts[i].value);
	free(cfg);
}

const struct sdconfig_tenant_map *
sdconfig_tenant_by_uid(const struct sdconfig *cfg, uid_t uid)
{
	size_t i;

	for (i = 0; i < cfg->ntenants; i++)
		if (cfg->tenants[i].uid == uid)
			return &cfg->tenants[i];
	return NULL;
}

const struct sdconfig_key *
sdconfig_key_lookup(const struct sdconfig *cfg, const char *key, size_t len)
{
	const struct sdconfig_key *found = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t i;

	if (len == 0)
		return NULL;
	if (EVP_Digest(key, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != SDCONFIG_SHA256_LEN)
		return NULL;
	/* No early exit: every hash costs the same whatever the key. */
	for (i = 0; i < cfg->nkeys; i++)
		if (CRYPTO_memcmp(md, cfg->keys[i].sha256,
		    SDCONFIG_SHA256_LEN) == 0)
			found = &cfg->keys[i];
	OPENSSL_cleanse(md, sizeof(md));
	return found;
}

const struct sdconfig_binding *
sdconfig_binding(const struct sdconfig *cfg, const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < cfg->nbindings; i++)
		if (strcmp(cfg->bindings[i].name, name) == 0)
			return &cfg->bindings[i];
	return NULL;
}
