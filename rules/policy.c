#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/policy.h"

struct policy {
	struct host_pattern *pats;
	size_t n;
	size_t cap;
};

struct policy *
policy_new(void)
{
	return calloc(1, sizeof(struct policy));
}

void
policy_free(struct policy *p)
{
	if (p == NULL)
		return;
	free(p->pats);
	free(p);
}

size_t
policy_count(const struct policy *p)
{
	return p->n;
}

static int
pattern_equal(const struct host_pattern *a, const struct host_pattern *b)
{
	return a->wildcard == b->wildcard && a->port == b->port &&
	    strcmp(a->suffix, b->suffix) == 0;
}

int
policy_add(struct policy *p, const char *pattern, size_t len, char *err,
    size_t errlen)
{
	struct host_pattern hp;
	const char *why = NULL;
	size_t i;

	if (host_pattern_parse(pattern, len, &hp, &why) == -1) {
		/* %.*s with a bound: the pattern came from an API caller. */
		snprintf(err, errlen, "invalid allow pattern \"%.*s\": %s",
		    (int)(len > 128 ? 128 : len), pattern, why ? why : "invalid");
		return -1;
	}
	for (i = 0; i < p->n; i++)
		if (pattern_equal(&p->pats[i], &hp))
			return 0;
	if (p->n == POLICY_MAX_PATTERNS) {
		snprintf(err, errlen, "too many allow patterns (at most %d)",
		    POLICY_MAX_PATTERNS);
		return -1;
	}
	if (p->n == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 8;
		struct host_pattern *np;

		if ((np = realloc(p->pats, ncap * sizeof(*np))) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		p->pats = np;
		p->cap = ncap;
	}
	p->pats[p->n++] = hp;
	return 0;
}

/* An IPv6 literal (bare or bracketed) never reaches the name checks: it is
 * reported as a literal, so the proxy applies the IP-literal rule to it. */
static int
looks_like_ipv6(const char *host, size_t len)
{
	size_t i;
	int colons = 0;

	if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
		host++;
		len -= 2;
	}
	for (i = 0; i < len; i++) {
		char c = host[i];

		if (c == ':')
			colons++;
		else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		    (c >= 'A' && c <= 'F') || c == '.'))
			return 0;
	}
	return colons >= 2;
}

enum policy_verdict
policy_check(const struct policy *p, const char *host, size_t len,
    uint16_t port, char canon[HOSTNAME_MAX + 1])
{
	char buf[HOSTNAME_MAX + 1];
	size_t i;
	int r;

	if (canon != NULL)
		canon[0] = '\0';
	if (looks_like_ipv6(host, len))
		return POLICY_DENY_IP_LITERAL;
	r = hostname_canon(host, len, buf, NULL);
	if (r == -1)
		return POLICY_DENY_INVALID_HOST;
	if (canon != NULL)
		memcpy(canon, buf, strlen(buf) + 1);
	if (r == HOSTNAME_IS_IP_LITERAL)
		return POLICY_DENY_IP_LITERAL;
	for (i = 0; i < p->n; i++)
		if (host_pattern_match(&p->pats[i], buf, port))
			return POLICY_ALLOW;
	return POLICY_DENY_NOT_ALLOWED;
}

int
policy_patterns(const struct policy *p, char ***out, size_t *n)
{
	char buf[HOST_PATTERN_FORMAT_MAX], **v = NULL;
	size_t i;

	*out = NULL;
	*n = 0;
	if (p->n == 0)
		return 0;
	if ((v = calloc(p->n, sizeof(*v))) == NULL)
		return -1;
	for (i = 0; i < p->n; i++) {
		host_pattern_format(&p->pats[i], buf, sizeof(buf));
		if ((v[i] = strdup(buf)) == NULL) {
			policy_patterns_free(v, i);
			return -1;
		}
	}
	*out = v;
	*n = p->n;
	return 0;
}

void
policy_patterns_free(char **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int
policy_name_allowed(const struct policy *p, const char *canon_host)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (host_pattern_match(&p->pats[i], canon_host,
		    p->pats[i].port ? p->pats[i].port : 80))
			return 1;
	return 0;
}

const char *
policy_verdict_reason(enum policy_verdict v)
{
	switch (v) {
	case POLICY_ALLOW:
		return "allowed";
	case POLICY_DENY_NOT_ALLOWED:
		return "not_allowlisted";
	case POLICY_DENY_INVALID_HOST:
		return "invalid_host";
	case POLICY_DENY_IP_LITERAL:
		return "ip_literal";
	}
	return "unknown";
}
