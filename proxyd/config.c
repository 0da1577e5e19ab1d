#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cfglex.h"
#include "common/file.h"
#include "proxyd/config.h"
#include "rules/policy.h"

/* A line of CONFIG_LINE_MAX bytes has at most this many words. */
#define CONFIG_WORDS_MAX	(CONFIG_LINE_MAX / 2 + 1)
/* Longest slice of a word quoted back in a message. */

struct config_parser;
struct config_directive;

typedef int (*config_handler)(struct config_parser *,
    const struct config_directive *, const struct cfg_word *, size_t);

struct config_directive {
	const char	*name;
	config_handler	 fn;
	bool		 once;
	size_t		 off;	/* of the field in struct proxyd_config */
	uint32_t	 min, max, def;	/* limits; for paths max is the length */
};

struct config_parser {
	const char		*name;
	unsigned int		 line;
	struct proxyd_config	*cfg;
	size_t			 sources_cap;
	char			*err;
	size_t			 errlen;
};

static int config_listen(struct config_parser *,
    const struct config_directive *, const struct cfg_word *, size_t);
static int config_metrics(struct config_parser *,
    const struct config_directive *, const struct cfg_word *, size_t);
static int config_path(struct config_parser *,
    const struct config_directive *, const struct cfg_word *, size_t);
static int config_user(struct config_parser *,
    const struct config_directive *, const struct cfg_word *, size_t);
static int config_exempt(struct config_parser *,
    const struct config_directive *, const struct cfg_word *, size_t);
static int config_limit(struct config_parser *,
    const struct config_directive *, const struct cfg_word *, size_t);
static int config_source(struct config_parser *,
    const struct config_directive *, const struct cfg_word *, size_t);

#define CFG_OFF(field)	offsetof(struct proxyd_config, field)

static const struct config_directive config_directives[] = {
	{ "transparent_listen", config_listen, false, CFG_OFF(transparent), 0, 0, 0 },
	{ "dns_listen", config_listen, false, CFG_OFF(dns), 0, 0, 0 },
	{ "explicit_listen", config_listen, false, CFG_OFF(explicit_proxy), 0, 0, 0 },
	{ "metrics_listen", config_metrics, true, CFG_OFF(metrics), 0, 0, 0 },
	{ "control_socket", config_path, true, CFG_OFF(control_socket), 0,
	    CONFIG_SOCKET_PATH_MAX, 0 },
	{ "event_log", config_path, true, CFG_OFF(event_log), 0,
	    CONFIG_PATH_MAX, 0 },
	{ "intercept_ca_cert", config_path, true, CFG_OFF(intercept_ca_cert), 0,
	    CONFIG_PATH_MAX, 0 },
	{ "intercept_ca_key", config_path, true, CFG_OFF(intercept_ca_key), 0,
	    CONFIG_PATH_MAX, 0 },
	{ "upstream_ca", config_path, true, CFG_OFF(upstream_ca), 0,
	    CONFIG_PATH_MAX, 0 },
	{ "user", config_user, true, CFG_OFF(user), 0, 0, 0 },
	{ "exempt", config_exempt, false, CFG_OFF(exempt), 0, 0, 0 },
	{ "max_connections", config_limit, true,
	    CFG_OFF(limits.max_connections), 1, 1000000, 4096 },
	{ "max_connections_per_session", config_limit, true,
	    CFG_OFF(limits.max_connections_per_session), 1, 1000000, 256 },
	{ "sniff_timeout_ms", config_limit, true,
	    CFG_OFF(limits.sniff_timeout_ms), 1, 60000, 1000 },
	{ "sniff_max_bytes", config_limit, true,
	    CFG_OFF(limits.sniff_max_bytes), 512, 262144, 16384 },
	{ "connect_timeout_ms", config_limit, true,
	    CFG_OFF(limits.connect_timeout_ms), 100, 300000, 10000 },
	{ "idle_timeout_ms", config_limit, true,
	    CFG_OFF(limits.idle_timeout_ms), 1000, 86400000, 300000 },
	{ "max_header_bytes", config_limit, true,
	    CFG_OFF(limits.max_header_bytes), 1024, 1048576, 32768 },
	{ "source", config_source, false, 0, 0, 0, 0 },
};

#define CONFIG_NDIRECTIVES \
	(sizeof(config_directives) / sizeof(config_directives[0]))

static int __attribute__((format(printf, 2, 3)))
config_error(struct config_parser *p, const char *fmt, ...)
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
config_field(struct config_parser *p, const struct config_directive *d)
{
	return (char *)p->cfg + d->off;
}

static int
config_one_arg(struct config_parser *p, const struct config_directive *d,
    size_t nargs)
{
	if (nargs != 1)
		return config_error(p, "%s: expected 1 value, got %zu", d->name,
		    nargs);
	return 0;
}

static int
config_listen(struct config_parser *p, const struct config_directive *d,
    const struct cfg_word *args, size_t nargs)
{
	struct config_listeners *l = config_field(p, d);
	struct ctl_endpoint ep;
	const char *why = NULL;
	size_t i;

	if (config_one_arg(p, d, nargs) == -1)
		return -1;
	if (ctl_endpoint_parse(args[0].s, args[0].n, &ep, &why) == -1)
		return config_error(p, "%s: invalid address \"%.*s\": %s",
		    d->name, cfg_quote_len(&args[0]), args[0].s, why);
	for (i = 0; i < l->n; i++)
		if (ip_equal(&l->v[i].addr, &ep.addr) && l->v[i].port == ep.port)
			return config_error(p, "%s: \"%.*s\" given twice",
			    d->name, cfg_quote_len(&args[0]), args[0].s);
	if (l->n == CONFIG_LISTEN_MAX)
		return config_error(p, "%s: at most %d addresses", d->name,
		    CONFIG_LISTEN_MAX);
	l->v[l->n++] = ep;
	return 0;
}

static int
config_metrics(struct config_parser *p, const struct config_directive *d,
    const struct cfg_word *args, size_t nargs)
{
	const char *why = NULL;

	if (config_one_arg(p, d, nargs) == -1)
		return -1;
	if (ctl_endpoint_parse(args[0].s, args[0].n, config_field(p, d),
	    &why) == -1)
		return config_error(p, "%s: invalid address \"%.*s\": %s",
		    d->name, cfg_quote_len(&args[0]), args[0].s, why);
	return 0;
}

/* Absolute, because the daemon may chdir("/") before opening them. */
static int
config_path(struct config_parser *p, const struct config_directive *d,
    const struct cfg_word *args, size_t nargs)
{
	char *dst = config_field(p, d);

	if (config_one_arg(p, d, nargs) == -1)
		return -1;
	if (args[0].s[0] != '/')
		return config_error(p, "%s: must be an absolute path", d->name);
	if (args[0].n > d->max)
		return config_error(p, "%s: longer than %u bytes", d->name,
		    d->max);
	memcpy(dst, args[0].s, args[0].n);
	dst[args[0].n] = '\0';
	return 0;
}

/* The portable user name shape; the daemon looks the name up itself. */
static int
config_user(struct config_parser *p, const struct config_directive *d,
    const struct cfg_word *args, size_t nargs)
{
	const struct cfg_word *w = &args[0];
	size_t i;
	char c;

	if (config_one_arg(p, d, nargs) == -1)
		return -1;
	for (i = 0; i < w->n; i++) {
		c = w->s[i];
		if (!((c >= 'a' && c <= 'z') || c == '_' ||
		    (i > 0 && ((c >= '0' && c <= '9') || c == '-'))))
			break;
	}
	if (i < w->n || w->n > CONFIG_USER_MAX)
		return config_error(p, "user: invalid user name \"%.*s\"",
		    cfg_quote_len(w), w->s);
	memcpy(p->cfg->user, w->s, w->n);
	p->cfg->user[w->n] = '\0';
	return 0;
}

static int
config_exempt(struct config_parser *p, const struct config_directive *d,
    const struct cfg_word *args, size_t nargs)
{
	struct cidr c;
	const char *why = NULL;

	if (config_one_arg(p, d, nargs) == -1)
		return -1;
	if (cidr_parse(args[0].s, args[0].n, &c, &why) == -1)
		return config_error(p, "exempt: invalid range \"%.*s\": %s",
		    cfg_quote_len(&args[0]), args[0].s, why);
	if (cidr_set_add(&p->cfg->exempt, &c) == -1) {
		if (errno == E2BIG)
			return config_error(p, "exempt: at most %d ranges",
			    CIDR_SET_MAX);
		return config_error(p, "exempt: %s", strerror(errno));
	}
	return 0;
}

/* Plain decimal: "0x10", "+5", "010" and "1e3" are all refused. */
static int
config_limit(struct config_parser *p, const struct config_directive *d,
    const struct cfg_word *args, size_t nargs)
{
	uint32_t *dst = config_field(p, d);
	const struct cfg_word *w = &args[0];
	uint64_t v = 0;
	size_t i;

	if (config_one_arg(p, d, nargs) == -1)
		return -1;
	if (w->n > 10 || (w->n > 1 && w->s[0] == '0'))
		goto bad;
	for (i = 0; i < w->n; i++) {
		if (w->s[i] < '0' || w->s[i] > '9')
			goto bad;
		v = v * 10 + (uint64_t)(w->s[i] - '0');
	}
	if (v < d->min || v > d->max)
		goto bad;
	*dst = (uint32_t)v;
	return 0;
bad:
	return config_error(p, "%s: must be an integer in %u..%u", d->name,
	    d->min, d->max);
}

static bool
cidr_overlap(const struct cidr *a, const struct cidr *b)
{
	return cidr_contains(a, &b->addr) || cidr_contains(b, &a->addr);
}

static int
config_source(struct config_parser *p, const struct config_directive *d,
    const struct cfg_word *args, size_t nargs)
{
	struct proxyd_config *cfg = p->cfg;
	struct config_source src, *grown;
	const char *why = NULL;
	char perr[256];
	size_t i = 1, k;

	(void)d;
	memset(&src, 0, sizeof(src));
	src.line = p->line;
	memcpy(src.tenant, CONFIG_DEFAULT_TENANT, sizeof(CONFIG_DEFAULT_TENANT));
	if (nargs == 0)
		return config_error(p, "source: missing range");
	if (cidr_parse(args[0].s, args[0].n, &src.cidr, &why) == -1)
		return config_error(p, "source: invalid range \"%.*s\": %s",
		    cfg_quote_len(&args[0]), args[0].s, why);
	for (k = 0; k < cfg->nsources; k++)
		if (cidr_overlap(&cfg->sources[k].cidr, &src.cidr))
			return config_error(p, "source %.*s overlaps line %u",
			    cfg_quote_len(&args[0]), args[0].s,
			    cfg->sources[k].line);
	if (cfg->nsources == CONFIG_SOURCES_MAX)
		return config_error(p, "source: at most %d sources",
		    CONFIG_SOURCES_MAX);

	if (i < nargs && cfg_word_is(&args[i], "tenant")) {
		if (++i == nargs)
			return config_error(p, "source: \"tenant\" needs a name");
		if (!ctl_tenant_valid(args[i].s, args[i].n))
			return config_error(p, "source: invalid tenant \"%.*s\": "
			    "must be 1..%d of a-z 0-9 _ -", cfg_quote_len(&args[i]),
			    args[i].s, CTL_TENANT_MAX);
		memcpy(src.tenant, args[i].s, args[i].n);
		src.tenant[args[i].n] = '\0';
		i++;
	}
	if (i < nargs && !cfg_word_is(&args[i], "allow"))
		return config_error(p, "source: expected \"tenant\" or \"allow\", "
		    "got \"%.*s\"", cfg_quote_len(&args[i]), args[i].s);
	if (i < nargs && ++i == nargs)
		return config_error(p, "source: \"allow\" needs at least one "
		    "pattern (leave it out to deny everything)");

	if ((src.policy = policy_new()) == NULL)
		return config_error(p, "out of memory");
	for (; i < nargs; i++) {
		if (policy_add(src.policy, args[i].s, args[i].n, perr,
		    sizeof(perr)) == -1) {
			policy_free(src.policy);
			return config_error(p, "%s", perr);
		}
	}
	if (cfg->nsources == p->sources_cap) {
		size_t ncap = p->sources_cap ? p->sources_cap * 2 : 16;

		if ((grown = reallocarray(cfg->sources, ncap,
		    sizeof(*grown))) == NULL) {
			policy_free(src.policy);
			return config_error(p, "out of memory");
		}
		cfg->sources = grown;
		p->sources_cap = ncap;
	}
	cfg->sources[cfg->nsources++] = src;
	return 0;
}

static int
config_line(struct config_parser *p, const char *s, size_t n,
    unsigned int seen[CONFIG_NDIRECTIVES])
{
	struct cfg_word words[CONFIG_WORDS_MAX];
	const struct config_directive *d = NULL;
	const char *why;
	char bad[64];
	size_t nw, i;

	if (n > CONFIG_LINE_MAX)
		return config_error(p, "line too long (more than %d bytes)",
		    CONFIG_LINE_MAX);
	if ((why = cfg_check_bytes(s, n, bad, sizeof(bad))) != NULL)
		return config_error(p, "%s", why);
	if ((nw = cfg_split(s, n, words, CONFIG_WORDS_MAX)) == 0)
		return 0;
	for (i = 0; i < CONFIG_NDIRECTIVES; i++)
		if (cfg_word_is(&words[0], config_directives[i].name)) {
			d = &config_directives[i];
			break;
		}
	if (d == NULL)
		return config_error(p, "unknown directive \"%.*s\"",
		    cfg_quote_len(&words[0]), words[0].s);
	if (d->once && seen[i] != 0)
		return config_error(p, "duplicate %s (first on line %u)",
		    d->name, seen[i]);
	seen[i] = p->line;
	return d->fn(p, d, words + 1, nw - 1);
}

static void
config_defaults(struct proxyd_config *cfg)
{
	size_t i;

	for (i = 0; i < CONFIG_NDIRECTIVES; i++)
		if (config_directives[i].fn == config_limit)
			*(uint32_t *)((char *)cfg + config_directives[i].off) =
			    config_directives[i].def;
}

int
config_parse(const char *text, size_t len, const char *name,
    struct proxyd_config **out, char *err, size_t errlen)
{
	struct config_parser p;
	unsigned int seen[CONFIG_NDIRECTIVES];
	const char *s;
	size_t n, pos = 0;

	*out = NULL;
	memset(&p, 0, sizeof(p));
	memset(seen, 0, sizeof(seen));
	p.name = name;
	p.err = err;
	p.errlen = errlen;
	if (len > CONFIG_FILE_MAX)
		return config_error(&p, "file too large (more than %d bytes)",
		    CONFIG_FILE_MAX);
	if ((p.cfg = calloc(1, sizeof(*p.cfg))) == NULL)
		return config_error(&p, "out of memory");
	config_defaults(p.cfg);

	while (cfg_next_line(text, len, &pos, &s, &n)) {
		p.line++;
		if (config_line(&p, s, n, seen) == -1)
			goto fail;
	}
	p.line = 0;
	if (p.cfg->transparent.n == 0) {
		config_error(&p, "no transparent_listen directive");
		goto fail;
	}
	/* Half a CA is a typo, not a wish to run without interception. */
	if ((p.cfg->intercept_ca_cert[0] == '\0') !=
	    (p.cfg->intercept_ca_key[0] == '\0')) {
		config_error(&p, "intercept_ca_cert and intercept_ca_key go "
		    "together");
		goto fail;
	}
	*out = p.cfg;
	return 0;

fail:
	config_free(p.cfg);
	return -1;
}

int
config_load(const char *path, struct proxyd_config **out, char *err,
    size_t errlen)
{
	char *buf;
	size_t len;
	int rc;

	*out = NULL;
	if (file_read_bounded(path, CONFIG_FILE_MAX, &buf, &len, err, errlen) == -1)
		return -1;
	rc = config_parse(buf, len, path, out, err, errlen);
	free(buf);
	return rc;
}

void
config_free(struct proxyd_config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->nsources; i++)
		policy_free(cfg->sources[i].policy);
	free(cfg->sources);
	cidr_set_free(&cfg->exempt);
	free(cfg);
}

const struct config_source *
config_source_find(const struct proxyd_config *cfg, const struct ip_addr *src)
{
	size_t i;

	for (i = 0; i < cfg->nsources; i++)
		if (cidr_contains(&cfg->sources[i].cidr, src))
			return &cfg->sources[i];
	return NULL;
}
