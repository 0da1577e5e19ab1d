#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <jansson.h>

#include "common/hostname.h"
#include "common/json.h"
#include "proxyd/ctlmsg.h"
#include "rules/policy.h"

static const char *const ctl_op_names[] = {
	[CTL_OP_INVALID] = "invalid",
	[CTL_OP_HELLO] = "hello",
	[CTL_OP_PING] = "ping",
	[CTL_OP_SESSION_ADD] = "session_add",
	[CTL_OP_SESSION_UPDATE] = "session_update",
	[CTL_OP_SESSION_DEL] = "session_del",
};

static const char *const ctl_keys_plain[] = { "v", "req", "op", NULL };
static const char *const ctl_keys_del[] = { "v", "req", "op", "id", NULL };
static const char *const ctl_keys_session[] = {
	"v", "req", "op", "id", "tenant", "source", "allow", "limits",
	"bindings", NULL
};
static const char *const ctl_keys_binding[] = {
	"name", "hosts", "inject", "secret", "allow_http", NULL
};
static const char *const ctl_keys_inject[] = { "type", "user", "header", NULL };
static const char *const ctl_inject_names[] = {
	[CTL_INJECT_BEARER] = "bearer",
	[CTL_INJECT_BASIC] = "basic",
	[CTL_INJECT_HEADER] = "header",
};
static const char *const ctl_keys_limits[] = { "max_connections", NULL };
static const char *const ctl_keys_reply[] = {
	"v", "req", "ok", "error", "versions", NULL
};
static const char *const ctl_keys_error[] = { "code", "message", NULL };
static const char *const ctl_keys_event[] = {
	"type", "session", "tenant", "source", "host", "port", "proto",
	"reason", "binding", "orig_dst", "connected", "bytes_up", "bytes_down",
	"count", "ts", NULL
};

static const char *const ctl_event_type_names[] = {
	[CTL_EVENT_EGRESS_ALLOWED] = "egress_allowed",
	[CTL_EVENT_EGRESS_DENIED] = "egress_denied",
	[CTL_EVENT_SECRET_INJECTED] = "secret_injected",
};

static const char *const ctl_proto_names[] = {
	[CTL_PROTO_HTTP] = "http",
	[CTL_PROTO_TLS] = "tls",
	[CTL_PROTO_TCP] = "tcp",
	[CTL_PROTO_DNS] = "dns",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static int
ctl_fail(const char **why, const char *reason)
{
	if (why != NULL)
		*why = reason;
	return -1;
}

static bool
ctl_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Same rule as allow pattern ports, so "080" never quietly means 80. */
static int
ctl_port_parse(const char *s, size_t len, uint16_t *port, const char **why)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0 || len > 5)
		return ctl_fail(why, "port must be 1..65535");
	for (i = 0; i < len; i++) {
		if (!ctl_is_digit(s[i]))
			return ctl_fail(why, "port is not a decimal number");
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (s[0] == '0' || v > 65535)
		return ctl_fail(why, "port must be 1..65535");
	*port = (uint16_t)v;
	return 0;
}

/* ip_parse() takes inet_aton()'s octal and hex forms; configuration and
 * events are written by people and programs that mean plain dotted quads. */
static bool
ctl_ipv4_dotted(const char *s, size_t len)
{
	size_t i = 0, parts = 0, start, n;
	unsigned int v;

	for (;;) {
		start = i;
		v = 0;
		while (i < len && i - start < 4 && ctl_is_digit(s[i]))
			v = v * 10 + (unsigned int)(s[i++] - '0');
		n = i - start;
		if (n == 0 || n > 3 || (n > 1 && s[start] == '0') || v > 255)
			return false;
		parts++;
		if (i == len)
			return parts == 4;
		if (parts == 4 || s[i++] != '.')
			return false;
	}
}

int
ctl_endpoint_parse(const char *s, size_t len, struct ctl_endpoint *out,
    const char **why)
{
	struct ctl_endpoint ep;
	const char *addr = s, *colon;
	size_t alen;

	memset(&ep, 0, sizeof(ep));
	if (len == 0)
		return ctl_fail(why, "empty address");
	if (s[0] == '[') {
		const char *close = memchr(s, ']', len);

		if (close == NULL)
			return ctl_fail(why, "missing \"]\"");
		addr = s + 1;
		alen = (size_t)(close - addr);
		colon = close + 1;
		if (colon == s + len || *colon != ':')
			return ctl_fail(why, "missing \":port\"");
		if (memchr(addr, ':', alen) == NULL)
			return ctl_fail(why, "brackets are for IPv6 addresses");
		if (ip_parse(addr, alen, &ep.addr, why) == -1)
			return -1;
	} else {
		colon = NULL;
		for (alen = 0; alen < len; alen++)
			if (s[alen] == ':') {
				if (colon != NULL)
					return ctl_fail(why,
					    "an IPv6 address needs [brackets]");
				colon = s + alen;
			}
		if (colon == NULL)
			return ctl_fail(why, "missing \":port\"");
		alen = (size_t)(colon - s);
		if (!ctl_ipv4_dotted(s, alen))
			return ctl_fail(why,
			    "IPv4 address must be four decimal parts");
		if (ip_parse(s, alen, &ep.addr, why) == -1)
			return -1;
	}
	if (ctl_port_parse(colon + 1, (size_t)(s + len - colon - 1), &ep.port,
	    why) == -1)
		return -1;
	*out = ep;
	return 0;
}

int
ctl_endpoint_format(const struct ctl_endpoint *ep, char *buf, size_t len)
{
	char ip[IP_STRLEN];
	int n;

	if (ep->addr.family != AF_INET && ep->addr.family != AF_INET6)
		return -1;
	if (ip_format(&ep->addr, ip, sizeof(ip)) == -1)
		return -1;
	if (ep->addr.family == AF_INET6)
		n = snprintf(buf, len, "[%s]:%u", ip, ep->port);
	else
		n = snprintf(buf, len, "%s:%u", ip, ep->port);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static bool
ctl_charset(const char *s, size_t len, size_t max, bool upper)
{
	size_t i;
	char c;

	if (len == 0 || len > max)
		return false;
	for (i = 0; i < len; i++) {
		c = s[i];
		if (!((c >= 'a' && c <= 'z') || ctl_is_digit(c) || c == '_' ||
		    c == '-' || (upper && c >= 'A' && c <= 'Z')))
			return false;
	}
	return true;
}

bool
ctl_session_id_valid(const char *s, size_t len)
{
	size_t plen = sizeof(CTL_ID_PREFIX) - 1;

	return len > plen && memcmp(s, CTL_ID_PREFIX, plen) == 0 &&
	    ctl_charset(s + plen, len - plen, CTL_ID_MAX - plen, true);
}

bool
ctl_tenant_valid(const char *s, size_t len)
{
	return ctl_charset(s, len, CTL_TENANT_MAX, false);
}

/* Reasons become audit values and metric labels: keep them identifiers. */
static bool
ctl_reason_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > CTL_REASON_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || ctl_is_digit(s[i]) ||
		    s[i] == '_'))
			return false;
	return true;
}

const char *
ctl_op_name(enum ctl_op op)
{
	if ((unsigned int)op >= NELEM(ctl_op_names))
		return "invalid";
	return ctl_op_names[op];
}

const char *
ctl_event_type_name(enum ctl_event_type t)
{
	if ((unsigned int)t >= NELEM(ctl_event_type_names))
		return "unknown";
	return ctl_event_type_names[t];
}

const char *
ctl_proto_name(enum ctl_proto p)
{
	if ((unsigned int)p >= NELEM(ctl_proto_names))
		return "unknown";
	return ctl_proto_names[p];
}

static int
ctl_lookup_name(const char *const names[], size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (names[i] != NULL && strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

/* Framing and syntax: one line, one JSON object, within the size cap. */
static int
ctl_parse(const char *line, size_t len, json_t **root, const char **code,
    char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *obj;

	*root = NULL;
	*code = CTL_ERR_BAD_REQUEST;
	if (len > CTL_LINE_MAX) {
		*code = CTL_ERR_TOO_LARGE;
		snprintf(err, errlen, "line too long (more than %d bytes)",
		    CTL_LINE_MAX);
		return -1;
	}
	if (memchr(line, '\n', len) != NULL) {
		snprintf(err, errlen, "a message must be one line");
		return -1;
	}
	if ((obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		snprintf(err, errlen, "invalid JSON at byte %d: %s",
		    jerr.position, jerr.text);
		return -1;
	}
	if (!json_is_object(obj)) {
		json_decref(obj);
		snprintf(err, errlen, "a message must be a JSON object");
		return -1;
	}
	*root = obj;
	return 0;
}

/* "v" is checked before any other key, so that a newer peer's message is
 * refused for its version and not for the keys that version added. */
static int
ctl_check_version(const json_t *root, const char **code, char *err,
    size_t errlen)
{
	json_t *v = json_object_get(root, "v");

	*code = CTL_ERR_BAD_REQUEST;
	if (v == NULL) {
		snprintf(err, errlen, "v: required");
		return -1;
	}
	if (!json_is_integer(v)) {
		snprintf(err, errlen, "v: must be an integer");
		return -1;
	}
	if (json_integer_value(v) != CTL_VERSION) {
		*code = CTL_ERR_UNSUPPORTED_VERSION;
		snprintf(err, errlen, "unsupported version %" JSON_INTEGER_FORMAT
		    " (supported: %d)", json_integer_value(v), CTL_VERSION);
		return -1;
	}
	return 0;
}

/* Both steps; for decoders that need nothing from a refused line. */
static int
ctl_load(const char *line, size_t len, json_t **root, char *err,
    size_t errlen)
{
	const char *code;

	if (ctl_parse(line, len, root, &code, err, errlen) == -1)
		return -1;
	if (ctl_check_version(*root, &code, err, errlen) == -1) {
		json_decref(*root);
		*root = NULL;
		return -1;
	}
	return 0;
}

static int
ctl_check_keys(const json_t *obj, const char *const keys[], const char *what,
    char *err, size_t errlen)
{
	const char *bad;

	if (json_check_keys(obj, keys, &bad) == 0)
		return 0;
	if (bad == NULL)
		snprintf(err, errlen, "%s: must be an object", what);
	else if (*what == '\0')
		snprintf(err, errlen, "unknown key \"%.64s\"", bad);
	else
		snprintf(err, errlen, "%s: unknown key \"%.64s\"", what, bad);
	return -1;
}

/* Copies a validated string field into a fixed buffer. */
static int
ctl_get_checked(const json_t *obj, const char *key, int required,
    bool (*valid)(const char *, size_t), const char *rule, char *dst,
    size_t dstlen, char *err, size_t errlen)
{
	const char *s;
	size_t n;
	int rc;

	rc = json_get_string(obj, key, &s, required, err, errlen);
	if (rc != JSON_GET_OK)
		return rc;
	n = strlen(s);
	if (!valid(s, n) || n >= dstlen) {
		snprintf(err, errlen, "%s: must be %s", key, rule);
		return -1;
	}
	memcpy(dst, s, n + 1);
	return JSON_GET_OK;
}

static int
ctl_get_id(const json_t *obj, char *dst, char *err, size_t errlen)
{
	return ctl_get_checked(obj, "id", 1, ctl_session_id_valid,
	    "\"ses_\" followed by 1..64 of A-Z a-z 0-9 _ -", dst,
	    CTL_ID_MAX + 1, err, errlen);
}

static int
ctl_get_source(const json_t *obj, const char *key, int required,
    struct ip_addr *out, char *err, size_t errlen)
{
	const char *s, *why = NULL;
	int rc;

	rc = json_get_string(obj, key, &s, required, err, errlen);
	if (rc != JSON_GET_OK)
		return rc;
	if (strchr(s, '/') != NULL) {
		snprintf(err, errlen, "%s: must be an address, not a range", key);
		return -1;
	}
	if (ip_parse(s, strlen(s), out, &why) == -1) {
		snprintf(err, errlen, "%s: %s", key, why ? why : "invalid address");
		return -1;
	}
	return JSON_GET_OK;
}

/* Builds the policy, then takes its canonical, de-duplicated pattern
 * list, so the list re-encodes to exactly the policy the daemon holds. */
static int
ctl_get_allow(const json_t *obj, struct ctl_request *out, char *err,
    size_t errlen)
{
	const char *items[CTL_ALLOW_MAX];
	char pe[256];
	size_t n, i;

	if (json_get_string_array(obj, "allow", items, CTL_ALLOW_MAX, &n, 1,
	    err, errlen) != JSON_GET_OK)
		return -1;
	if ((out->policy = policy_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (policy_add(out->policy, items[i], strlen(items[i]), pe,
		    sizeof(pe)) == -1) {
			snprintf(err, errlen, "allow[%zu]: %s", i, pe);
			return -1;
		}
	}
	if (policy_patterns(out->policy, &out->allow, &out->nallow) == -1) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int
ctl_get_limits(const json_t *obj, struct ctl_limits *out, char *err,
    size_t errlen)
{
	json_t *lim = json_object_get(obj, "limits");
	json_int_t n;
	int rc;

	memset(out, 0, sizeof(*out));
	if (lim == NULL)
		return 0;
	if (ctl_check_keys(lim, ctl_keys_limits, "limits", err, errlen) == -1)
		return -1;
	rc = json_get_int(obj, "limits.max_connections", 1,
	    CTL_MAX_CONNECTIONS_MAX, &n, 0, err, errlen);
	if (rc == -1)
		return -1;
	if (rc == JSON_GET_OK)
		out->max_connections = (uint32_t)n;
	return 0;
}

bool
ctl_binding_name_valid(const char *s, size_t len)
{
	return len >= 1 && len <= CTL_BINDING_NAME_MAX &&
	    ctl_charset(s, len, CTL_BINDING_NAME_MAX, false);
}

/* Secrets and basic-auth users: visible ASCII, so neither can split or
 * end a header line. */
static bool
ctl_visible(const char *s, size_t len, size_t max, bool colon_ok)
{
	size_t i;

	if (len < 1 || len > max)
		return false;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e ||
		    (!colon_ok && s[i] == ':'))
			return false;
	return true;
}

/* RFC 9110 token characters. */
bool
ctl_header_name_valid(const char *s, size_t len)
{
	size_t i;

	if (len < 1 || len > CTL_HEADER_NAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) &&
		    strchr("!#$%&'*+-.^_`|~", s[i]) == NULL)
			return false;
	return true;
}

void
ctl_binding_clear(struct ctl_binding *b)
{
	if (b->secret != NULL) {
		/* Not memset: the compiler may drop a store to dying memory. */
		explicit_bzero(b->secret, strlen(b->secret));
		free(b->secret);
	}
	policy_patterns_free(b->hosts, b->nhosts);
	memset(b, 0, sizeof(*b));
}

static void
ctl_bindings_free(struct ctl_binding *b, size_t n)
{
	size_t i;

	for (i = 0; b != NULL && i < n; i++)
		ctl_binding_clear(&b[i]);
	free(b);
}

/* One binding; errors name the field, never quote the secret. */
static int
ctl_get_binding(const json_t *bj, size_t idx, struct ctl_binding *b,
    char *err, size_t errlen)
{
	const json_t *hosts, *inj, *v;
	struct policy *pol = NULL;
	const char *str;
	char pe[256];
	size_t i, n;
	int k, rc = -1;

	if (!json_is_object(bj)) {
		snprintf(err, errlen, "bindings[%zu]: must be an object", idx);
		return -1;
	}
	if (ctl_check_keys(bj, ctl_keys_binding, "bindings[]", err,
	    errlen) == -1)
		return -1;
	v = json_object_get(bj, "name");
	if (!json_is_string(v) || !ctl_binding_name_valid(json_string_value(v),
	    json_string_length(v))) {
		snprintf(err, errlen, "bindings[%zu].name: must be 1..%d of "
		    "a-z 0-9 _ -", idx, CTL_BINDING_NAME_MAX);
		return -1;
	}
	memcpy(b->name, json_string_value(v), json_string_length(v) + 1);
	hosts = json_object_get(bj, "hosts");
	n = json_array_size(hosts);
	if (!json_is_array(hosts) || n < 1 || n > CTL_BINDING_HOSTS_MAX) {
		snprintf(err, errlen, "bindings[%zu].hosts: must be 1..%d allow "
		    "patterns", idx, CTL_BINDING_HOSTS_MAX);
		return -1;
	}
	if ((pol = policy_new()) == NULL)
		goto oom;
	for (i = 0; i < n; i++) {
		v = json_array_get(hosts, i);
		if (!json_is_string(v) || policy_add(pol, json_string_value(v),
		    json_string_length(v), pe, sizeof(pe)) == -1) {
			snprintf(err, errlen, "bindings[%zu].hosts[%zu]: %s", idx,
			    i, json_is_string(v) ? pe : "must be a string");
			goto out;
		}
	}
	if (policy_patterns(pol, &b->hosts, &b->nhosts) == -1)
		goto oom;
	inj = json_object_get(bj, "inject");
	if (!json_is_object(inj) || ctl_check_keys(inj, ctl_keys_inject,
	    "bindings[].inject", err, errlen) == -1) {
		if (!json_is_object(inj))
			snprintf(err, errlen, "bindings[%zu].inject: must be an "
			    "object", idx);
		goto out;
	}
	str = json_string_value(json_object_get(inj, "type"));
	if (str == NULL || (k = ctl_lookup_name(ctl_inject_names,
	    NELEM(ctl_inject_names), str)) == -1) {
		snprintf(err, errlen, "bindings[%zu].inject.type: bearer, basic "
		    "or header", idx);
		goto out;
	}
	b->inject = (enum ctl_inject)k;
	v = json_object_get(inj, "user");
	if ((b->inject == CTL_INJECT_BASIC) != (v != NULL) ||
	    (v != NULL && (!json_is_string(v) ||
	    !ctl_visible(json_string_value(v), json_string_length(v),
	    CTL_HEADER_NAME_MAX, false)))) {
		snprintf(err, errlen, "bindings[%zu].inject.user: required for "
		    "basic (and only there): 1..%d visible characters, no ':'",
		    idx, CTL_HEADER_NAME_MAX);
		goto out;
	}
	if (v != NULL)
		memcpy(b->user, json_string_value(v), json_string_length(v) + 1);
	v = json_object_get(inj, "header");
	if ((b->inject == CTL_INJECT_HEADER) != (v != NULL) ||
	    (v != NULL && (!json_is_string(v) ||
	    !ctl_header_name_valid(json_string_value(v),
	    json_string_length(v))))) {
		snprintf(err, errlen, "bindings[%zu].inject.header: required for "
		    "header (and only there): an HTTP field name", idx);
		goto out;
	}
	if (v != NULL)
		memcpy(b->header, json_string_value(v),
		    json_string_length(v) + 1);
	v = json_object_get(bj, "secret");
	if (!json_is_string(v) || !ctl_visible(json_string_value(v),
	    json_string_length(v), CTL_SECRET_MAX, true)) {
		snprintf(err, errlen, "bindings[%zu].secret: must be 1..%d "
		    "visible ASCII characters", idx, CTL_SECRET_MAX);
		goto out;
	}
	if ((b->secret = strdup(json_string_value(v))) == NULL)
		goto oom;
	v = json_object_get(bj, "allow_http");
	if (v != NULL && !json_is_boolean(v)) {
		snprintf(err, errlen, "bindings[%zu].allow_http: must be a "
		    "boolean", idx);
		goto out;
	}
	b->allow_http = json_is_true(v);
	rc = 0;
	goto out;
oom:
	snprintf(err, errlen, "out of memory");
out:
	policy_free(pol);
	return rc;
}

static int
ctl_get_bindings(const json_t *obj, struct ctl_request *out, char *err,
    size_t errlen)
{
	const json_t *arr = json_object_get(obj, "bindings");
	size_t n, i, j;

	if (arr == NULL)
		return 0;
	n = json_array_size(arr);
	if (!json_is_array(arr) || n > CTL_BINDINGS_MAX) {
		snprintf(err, errlen, "bindings: must be an array of at most %d",
		    CTL_BINDINGS_MAX);
		return -1;
	}
	if (n == 0)
		return 0;
	if ((out->bindings = calloc(n, sizeof(*out->bindings))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		out->nbindings = i + 1;
		if (ctl_get_binding(json_array_get(arr, i), i, &out->bindings[i],
		    err, errlen) == -1)
			return -1;
		for (j = 0; j < i; j++)
			if (strcmp(out->bindings[j].name,
			    out->bindings[i].name) == 0) {
				snprintf(err, errlen, "bindings[%zu].name: \"%s\" "
				    "given twice", i, out->bindings[i].name);
				return -1;
			}
	}
	return 0;
}

static int
ctl_get_req(const json_t *obj, long long *req, char *err, size_t errlen)
{
	json_int_t n;
	int rc;

	rc = json_get_int(obj, "req", 0, CTL_REQ_MAX, &n, 0, err, errlen);
	if (rc == JSON_GET_OK)
		*req = n;
	return rc == -1 ? -1 : 0;
}

void
ctl_request_clear(struct ctl_request *r)
{
	ctl_bindings_free(r->bindings, r->nbindings);
	policy_patterns_free(r->allow, r->nallow);
	policy_free(r->policy);
	memset(r, 0, sizeof(*r));
	r->req = -1;
}

int
ctlmsg_decode(const char *line, size_t len, struct ctl_request *out,
    char *err, size_t errlen)
{
	const char *code, *op;
	json_t *root = NULL;
	long long req;
	int k;

	memset(out, 0, sizeof(*out));
	out->req = -1;
	if (ctl_parse(line, len, &root, &code, err, errlen) == -1) {
		out->err_code = code;
		return -1;
	}
	/* Best effort first, so that even a refused version is correlated. */
	(void)ctl_get_req(root, &out->req, NULL, 0);
	if (ctl_check_version(root, &code, err, errlen) == -1) {
		json_decref(root);
		out->err_code = code;
		return -1;
	}
	if (ctl_get_req(root, &out->req, err, errlen) == -1 ||
	    json_get_string(root, "op", &op, 1, err, errlen) != JSON_GET_OK)
		goto fail;
	k = ctl_lookup_name(ctl_op_names, NELEM(ctl_op_names), op);
	if (k <= CTL_OP_INVALID) {
		snprintf(err, errlen, "unknown op \"%.64s\"", op);
		goto fail;
	}
	out->op = (enum ctl_op)k;

	switch (out->op) {
	case CTL_OP_HELLO:
	case CTL_OP_PING:
		if (ctl_check_keys(root, ctl_keys_plain, "", err, errlen) == -1)
			goto fail;
		break;
	case CTL_OP_SESSION_DEL:
		if (ctl_check_keys(root, ctl_keys_del, "", err, errlen) == -1 ||
		    ctl_get_id(root, out->id, err, errlen) == -1)
			goto fail;
		break;
	case CTL_OP_SESSION_ADD:
	case CTL_OP_SESSION_UPDATE:
		if (ctl_check_keys(root, ctl_keys_session, "", err, errlen) == -1 ||
		    ctl_get_id(root, out->id, err, errlen) == -1 ||
		    ctl_get_checked(root, "tenant", 1, ctl_tenant_valid,
		    "1..64 of a-z 0-9 _ -", out->tenant, sizeof(out->tenant),
		    err, errlen) == -1 ||
		    ctl_get_source(root, "source", 1, &out->source, err,
		    errlen) == -1 ||
		    ctl_get_allow(root, out, err, errlen) == -1 ||
		    ctl_get_limits(root, &out->limits, err, errlen) == -1 ||
		    ctl_get_bindings(root, out, err, errlen) == -1)
			goto fail;
		break;
	case CTL_OP_INVALID:
		goto fail;
	}
	json_decref(root);
	return 0;

fail:
	json_decref(root);
	req = out->req;
	ctl_request_clear(out);
	out->req = req;
	out->err_code = CTL_ERR_BAD_REQUEST;
	return -1;
}

/* json_object_set_new() that remembers a failure instead of leaking. */
static void
ctl_set(json_t *obj, const char *key, json_t *value, int *bad)
{
	if (value == NULL || json_object_set_new(obj, key, value) == -1)
		*bad = 1;
}

static json_t *
ctl_ip_string(const struct ip_addr *ip)
{
	char buf[IP_STRLEN];

	if (ip_format(ip, buf, sizeof(buf)) == -1)
		return NULL;
	return json_string(buf);
}

static json_t *
ctl_endpoint_string(const struct ctl_endpoint *ep)
{
	char buf[CTL_ENDPOINT_STRLEN];

	if (ep->port == 0 || ctl_endpoint_format(ep, buf, sizeof(buf)) == -1)
		return NULL;
	return json_string(buf);
}

/* JSON strings are UTF-8; hostile bytes that aren't become '?', never a
 * dropped event. */
static json_t *
ctl_utf8_string(const char *s, size_t len)
{
	json_t *j;
	char *copy;
	size_t i;

	if ((j = json_stringn(s, len)) != NULL)
		return j;
	if ((copy = malloc(len + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; i++)
		copy[i] = (unsigned char)s[i] >= 0x80 ? '?' : s[i];
	j = json_stringn(copy, len);
	free(copy);
	return j;
}

static int
ctl_dump(json_t *obj, int bad, char **line)
{
	*line = NULL;
	if (!bad)
		*line = json_dump_line(obj);
	json_decref(obj);
	return *line != NULL ? 0 : -1;
}

static json_t *
ctl_head(long long req, int *bad)
{
	json_t *obj = json_object();

	*bad = obj == NULL;
	if (obj == NULL)
		return NULL;
	ctl_set(obj, "v", json_integer(CTL_VERSION), bad);
	if (req > CTL_REQ_MAX)
		*bad = 1;
	else if (req >= 0)
		ctl_set(obj, "req", json_integer(req), bad);
	return obj;
}

/* NULL when a field is invalid (the same rules as decode). */
static json_t *
ctl_binding_json(const struct ctl_binding *b)
{
	json_t *o, *hosts, *inj;
	struct host_pattern hp;
	size_t i;
	int bad = 0;

	if (!ctl_binding_name_valid(b->name, strnlen(b->name, sizeof(b->name))) ||
	    b->nhosts < 1 || b->nhosts > CTL_BINDING_HOSTS_MAX ||
	    b->hosts == NULL || b->secret == NULL ||
	    !ctl_visible(b->secret, strlen(b->secret), CTL_SECRET_MAX, true) ||
	    (unsigned int)b->inject >= NELEM(ctl_inject_names) ||
	    (b->inject == CTL_INJECT_BASIC && !ctl_visible(b->user,
	    strnlen(b->user, sizeof(b->user)), CTL_HEADER_NAME_MAX, false)) ||
	    (b->inject == CTL_INJECT_HEADER && !ctl_header_name_valid(b->header,
	    strnlen(b->header, sizeof(b->header)))))
		return NULL;
	if ((o = json_object()) == NULL)
		return NULL;
	ctl_set(o, "name", json_string(b->name), &bad);
	ctl_set(o, "hosts", hosts = json_array(), &bad);
	for (i = 0; !bad && i < b->nhosts; i++)
		if (b->hosts[i] == NULL || host_pattern_parse(b->hosts[i],
		    strlen(b->hosts[i]), &hp, NULL) == -1 ||
		    json_array_append_new(hosts, json_string(b->hosts[i])) == -1)
			bad = 1;
	ctl_set(o, "inject", inj = json_object(), &bad);
	if (!bad) {
		ctl_set(inj, "type", json_string(ctl_inject_names[b->inject]),
		    &bad);
		if (b->inject == CTL_INJECT_BASIC)
			ctl_set(inj, "user", json_string(b->user), &bad);
		if (b->inject == CTL_INJECT_HEADER)
			ctl_set(inj, "header", json_string(b->header), &bad);
	}
	ctl_set(o, "secret", json_string(b->secret), &bad);
	ctl_set(o, "allow_http", json_boolean(b->allow_http), &bad);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int
ctlmsg_request_encode(const struct ctl_request *r, char **line)
{
	struct host_pattern hp;
	json_t *obj, *arr, *lim;
	size_t i;
	int bad;

	*line = NULL;
	if ((unsigned int)r->op <= CTL_OP_INVALID ||
	    (unsigned int)r->op >= NELEM(ctl_op_names))
		return -1;
	if ((obj = ctl_head(r->req, &bad)) == NULL)
		return -1;
	ctl_set(obj, "op", json_string(ctl_op_name(r->op)), &bad);
	if (r->op == CTL_OP_SESSION_DEL || r->op == CTL_OP_SESSION_ADD ||
	    r->op == CTL_OP_SESSION_UPDATE) {
		if (!ctl_session_id_valid(r->id, strnlen(r->id, sizeof(r->id))))
			bad = 1;
		ctl_set(obj, "id", json_string(r->id), &bad);
	}
	if (r->op == CTL_OP_SESSION_ADD || r->op == CTL_OP_SESSION_UPDATE) {
		if (!ctl_tenant_valid(r->tenant,
		    strnlen(r->tenant, sizeof(r->tenant))) ||
		    r->nallow > CTL_ALLOW_MAX ||
		    (r->nallow > 0 && r->allow == NULL) ||
		    r->limits.max_connections > CTL_MAX_CONNECTIONS_MAX)
			bad = 1;
		ctl_set(obj, "tenant", json_string(r->tenant), &bad);
		ctl_set(obj, "source", ctl_ip_string(&r->source), &bad);
		ctl_set(obj, "allow", arr = json_array(), &bad);
		for (i = 0; !bad && i < r->nallow; i++) {
			if (r->allow[i] == NULL ||
			    host_pattern_parse(r->allow[i], strlen(r->allow[i]),
			    &hp, NULL) == -1 ||
			    json_array_append_new(arr,
			    json_string(r->allow[i])) == -1)
				bad = 1;
		}
		if (r->limits.max_connections != 0) {
			ctl_set(obj, "limits", lim = json_object(), &bad);
			if (!bad)
				ctl_set(lim, "max_connections",
				    json_integer(r->limits.max_connections), &bad);
		}
		if (r->nbindings > CTL_BINDINGS_MAX ||
		    (r->nbindings > 0 && r->bindings == NULL))
			bad = 1;
		if (!bad && r->nbindings > 0) {
			ctl_set(obj, "bindings", arr = json_array(), &bad);
			for (i = 0; !bad && i < r->nbindings; i++)
				if (json_array_append_new(arr,
				    ctl_binding_json(&r->bindings[i])) == -1)
					bad = 1;
		}
	}
	return ctl_dump(obj, bad, line);
}

int
ctlmsg_reply_ok(long long req, char **line)
{
	json_t *obj;
	int bad;

	*line = NULL;
	if ((obj = ctl_head(req, &bad)) == NULL)
		return -1;
	ctl_set(obj, "ok", json_true(), &bad);
	return ctl_dump(obj, bad, line);
}

static json_t *
ctl_versions(void)
{
	return json_pack("[i]", CTL_VERSION);
}

int
ctlmsg_reply_hello(long long req, char **line)
{
	json_t *obj;
	int bad;

	*line = NULL;
	if ((obj = ctl_head(req, &bad)) == NULL)
		return -1;
	ctl_set(obj, "ok", json_true(), &bad);
	ctl_set(obj, "versions", ctl_versions(), &bad);
	return ctl_dump(obj, bad, line);
}

int
ctlmsg_reply_err(long long req, const char *code, const char *message,
    char **line)
{
	json_t *obj, *e;
	size_t mlen = strlen(message);
	int bad;

	*line = NULL;
	if (mlen > CTL_ERR_MESSAGE_MAX)
		mlen = CTL_ERR_MESSAGE_MAX;
	if ((obj = ctl_head(req, &bad)) == NULL)
		return -1;
	ctl_set(obj, "ok", json_false(), &bad);
	ctl_set(obj, "error", e = json_object(), &bad);
	if (!bad) {
		ctl_set(e, "code", json_string(code), &bad);
		ctl_set(e, "message", ctl_utf8_string(message, mlen), &bad);
	}
	if (strcmp(code, CTL_ERR_UNSUPPORTED_VERSION) == 0)
		ctl_set(obj, "versions", ctl_versions(), &bad);
	return ctl_dump(obj, bad, line);
}

static int
ctl_get_versions(const json_t *obj, unsigned int *out, char *err,
    size_t errlen)
{
	json_t *arr = json_object_get(obj, "versions"), *v;
	size_t i;

	*out = 0;
	if (arr == NULL)
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > 31)
		goto bad;
	json_array_foreach(arr, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 31)
			goto bad;
		*out |= 1u << json_integer_value(v);
	}
	return 0;
bad:
	snprintf(err, errlen, "versions: must be an array of integers in 1..31");
	return -1;
}

int
ctlmsg_reply_decode(const char *line, size_t len, struct ctl_reply *out,
    char *err, size_t errlen)
{
	const char *code, *s;
	json_t *root = NULL, *e;
	int ok, rc = -1;
	size_t n;

	memset(out, 0, sizeof(*out));
	out->req = -1;
	if (ctl_parse(line, len, &root, &code, err, errlen) == -1)
		return -1;
	if (ctl_check_version(root, &code, err, errlen) == -1) {
		/* A newer proxyd still says which versions it speaks. */
		(void)ctl_get_versions(root, &out->versions, NULL, 0);
		(void)ctl_get_req(root, &out->req, NULL, 0);
		goto out;
	}
	if (ctl_check_keys(root, ctl_keys_reply, "", err, errlen) == -1 ||
	    ctl_get_req(root, &out->req, err, errlen) == -1 ||
	    json_get_bool(root, "ok", &ok, 1, err, errlen) != JSON_GET_OK ||
	    ctl_get_versions(root, &out->versions, err, errlen) == -1)
		goto out;
	out->ok = ok;
	e = json_object_get(root, "error");
	if (ok) {
		if (e != NULL) {
			snprintf(err, errlen, "error: not allowed when ok");
			goto out;
		}
		rc = 0;
		goto out;
	}
	if (e == NULL) {
		snprintf(err, errlen, "error: required when not ok");
		goto out;
	}
	if (ctl_check_keys(e, ctl_keys_error, "error", err, errlen) == -1 ||
	    json_get_string(root, "error.code", &s, 1, err, errlen) != JSON_GET_OK)
		goto out;
	n = strlen(s);
	if (!ctl_reason_valid(s, n) || n >= sizeof(out->code)) {
		snprintf(err, errlen, "error.code: must be 1..31 of a-z 0-9 _");
		goto out;
	}
	memcpy(out->code, s, n + 1);
	if (json_get_string(root, "error.message", &s, 1, err, errlen) !=
	    JSON_GET_OK)
		goto out;
	n = strlen(s);
	if (n > CTL_ERR_MESSAGE_MAX) {
		snprintf(err, errlen, "error.message: longer than %d bytes",
		    CTL_ERR_MESSAGE_MAX);
		goto out;
	}
	memcpy(out->message, s, n + 1);
	rc = 0;
out:
	json_decref(root);
	return rc;
}

/* RFC 3339 UTC with milliseconds, the audit log's "ts" shape. */
static int
ctl_ts_format(int64_t ms, char out[CTL_TS_LEN + 1])
{
	time_t sec;
	struct tm tm;

	if (ms < 0)
		return -1;
	sec = (time_t)(ms / 1000);
	if (gmtime_r(&sec, &tm) == NULL || tm.tm_year > 9999 - 1900)
		return -1;
	if (strftime(out, CTL_TS_LEN + 1, "%Y-%m-%dT%H:%M:%S", &tm) != 19)
		return -1;
	snprintf(out + 19, CTL_TS_LEN + 1 - 19, ".%03dZ", (int)(ms % 1000));
	return 0;
}

/* Strict inverse of ctl_ts_format(); 31 February is refused, not moved on. */
static int
ctl_ts_parse(const char *s, int64_t *ms)
{
	static const char pat[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	struct tm tm, back;
	time_t sec;
	size_t i;

	if (strlen(s) != CTL_TS_LEN)
		return -1;
	for (i = 0; i < CTL_TS_LEN; i++)
		if (pat[i] == 'd' ? !ctl_is_digit(s[i]) : s[i] != pat[i])
			return -1;
#define NUM2(p) ((s[p] - '0') * 10 + (s[(p) + 1] - '0'))
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = NUM2(0) * 100 + NUM2(2) - 1900;
	tm.tm_mon = NUM2(5) - 1;
	tm.tm_mday = NUM2(8);
	tm.tm_hour = NUM2(11);
	tm.tm_min = NUM2(14);
	tm.tm_sec = NUM2(17);
#undef NUM2
	if (tm.tm_year < 70 || tm.tm_mon < 0 || tm.tm_mon > 11 ||
	    tm.tm_mday < 1 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 59)
		return -1;
	back = tm;
	if ((sec = timegm(&tm)) == (time_t)-1 || tm.tm_mday != back.tm_mday ||
	    tm.tm_mon != back.tm_mon)
		return -1;
	*ms = (int64_t)sec * 1000 + (s[20] - '0') * 100 + (s[21] - '0') * 10 +
	    (s[22] - '0');
	return 0;
}

static bool
ctl_field_ok(const char *s, size_t size, bool (*valid)(const char *, size_t))
{
	size_t n = strnlen(s, size);

	return n < size && (n == 0 || valid(s, n));
}

int
ctlmsg_event_encode(const struct ctl_event *ev, char **line)
{
	char ts[CTL_TS_LEN + 1];
	json_t *obj, *e;
	size_t hlen = strnlen(ev->host, sizeof(ev->host));
	int bad;

	*line = NULL;
	if ((unsigned int)ev->type >= NELEM(ctl_event_type_names) ||
	    (unsigned int)ev->proto >= NELEM(ctl_proto_names) ||
	    !ctl_field_ok(ev->session, sizeof(ev->session),
	    ctl_session_id_valid) ||
	    !ctl_field_ok(ev->tenant, sizeof(ev->tenant), ctl_tenant_valid) ||
	    !ctl_field_ok(ev->binding, sizeof(ev->binding),
	    ctl_binding_name_valid) ||
	    hlen >= sizeof(ev->host) ||
	    !ctl_reason_valid(ev->reason, strnlen(ev->reason,
	    sizeof(ev->reason))) ||
	    ev->port == 0 || ev->count == 0 ||
	    ev->bytes_up > INT64_MAX || ev->bytes_down > INT64_MAX ||
	    ctl_ts_format(ev->ts_ms, ts) == -1)
		return -1;
	if ((obj = ctl_head(-1, &bad)) == NULL)
		return -1;
	ctl_set(obj, "event", e = json_object(), &bad);
	if (bad)
		return ctl_dump(obj, bad, line);
	ctl_set(e, "type", json_string(ctl_event_type_name(ev->type)), &bad);
	if (ev->session[0] != '\0')
		ctl_set(e, "session", json_string(ev->session), &bad);
	if (ev->tenant[0] != '\0')
		ctl_set(e, "tenant", json_string(ev->tenant), &bad);
	if (ev->source.family != 0)
		ctl_set(e, "source", ctl_ip_string(&ev->source), &bad);
	ctl_set(e, "host", ctl_utf8_string(ev->host, hlen), &bad);
	ctl_set(e, "port", json_integer(ev->port), &bad);
	ctl_set(e, "proto", json_string(ctl_proto_name(ev->proto)), &bad);
	ctl_set(e, "reason", json_string(ev->reason), &bad);
	if (ev->binding[0] != '\0')
		ctl_set(e, "binding", json_string(ev->binding), &bad);
	if (ev->orig_dst.addr.family != 0)
		ctl_set(e, "orig_dst", ctl_endpoint_string(&ev->orig_dst), &bad);
	if (ev->connected.addr.family != 0)
		ctl_set(e, "connected", ctl_endpoint_string(&ev->connected),
		    &bad);
	ctl_set(e, "bytes_up", json_integer((json_int_t)ev->bytes_up), &bad);
	ctl_set(e, "bytes_down", json_integer((json_int_t)ev->bytes_down),
	    &bad);
	ctl_set(e, "count", json_integer(ev->count), &bad);
	ctl_set(e, "ts", json_string(ts), &bad);
	return ctl_dump(obj, bad, line);
}

static int
ctl_get_endpoint(const json_t *obj, const char *key, struct ctl_endpoint *out,
    char *err, size_t errlen)
{
	const char *s, *why = NULL;
	int rc;

	rc = json_get_string(obj, key, &s, 0, err, errlen);
	if (rc != JSON_GET_OK)
		return rc == JSON_GET_ABSENT ? 0 : -1;
	if (ctl_endpoint_parse(s, strlen(s), out, &why) == -1) {
		snprintf(err, errlen, "%s: %s", key, why ? why : "invalid");
		return -1;
	}
	return 0;
}

static int
ctl_get_enum(const json_t *obj, const char *key, const char *const names[],
    size_t n, int *out, char *err, size_t errlen)
{
	const char *s;

	if (json_get_string(obj, key, &s, 1, err, errlen) != JSON_GET_OK)
		return -1;
	if ((*out = ctl_lookup_name(names, n, s)) == -1) {
		snprintf(err, errlen, "%s: unknown value \"%.64s\"", key, s);
		return -1;
	}
	return 0;
}

int
ctlmsg_event_decode(const char *line, size_t len, struct ctl_event *out,
    char *err, size_t errlen)
{
	static const char *const root_keys[] = { "v", "event", NULL };
	const char *s;
	json_t *root = NULL, *e;
	json_int_t n;
	int k, rc = -1;

	memset(out, 0, sizeof(*out));
	if (ctl_load(line, len, &root, err, errlen) == -1)
		return -1;
	if ((e = json_object_get(root, "event")) == NULL) {
		rc = 1;
		goto out;
	}
	if (ctl_check_keys(root, root_keys, "", err, errlen) == -1 ||
	    ctl_check_keys(e, ctl_keys_event, "event", err, errlen) == -1)
		goto out;
	if (ctl_get_enum(root, "event.type", ctl_event_type_names,
	    NELEM(ctl_event_type_names), &k, err, errlen) == -1)
		goto out;
	out->type = (enum ctl_event_type)k;
	if (ctl_get_enum(root, "event.proto", ctl_proto_names,
	    NELEM(ctl_proto_names), &k, err, errlen) == -1)
		goto out;
	out->proto = (enum ctl_proto)k;
	if (ctl_get_checked(root, "event.session", 0, ctl_session_id_valid,
	    "\"ses_\" followed by 1..64 of A-Z a-z 0-9 _ -", out->session,
	    sizeof(out->session), err, errlen) == -1 ||
	    ctl_get_checked(root, "event.tenant", 0, ctl_tenant_valid,
	    "1..64 of a-z 0-9 _ -", out->tenant, sizeof(out->tenant), err,
	    errlen) == -1 ||
	    ctl_get_checked(root, "event.reason", 1, ctl_reason_valid,
	    "1..63 of a-z 0-9 _", out->reason, sizeof(out->reason), err,
	    errlen) == -1 ||
	    ctl_get_checked(root, "event.binding", 0, ctl_binding_name_valid,
	    "1..32 of a-z 0-9 _ -", out->binding, sizeof(out->binding), err,
	    errlen) == -1 ||
	    ctl_get_source(root, "event.source", 0, &out->source, err,
	    errlen) == -1 ||
	    ctl_get_endpoint(root, "event.orig_dst", &out->orig_dst, err,
	    errlen) == -1 ||
	    ctl_get_endpoint(root, "event.connected", &out->connected, err,
	    errlen) == -1)
		goto out;
	if (json_get_string(root, "event.host", &s, 1, err, errlen) !=
	    JSON_GET_OK)
		goto out;
	if (strlen(s) > CTL_HOST_MAX) {
		snprintf(err, errlen, "event.host: longer than %d bytes",
		    CTL_HOST_MAX);
		goto out;
	}
	memcpy(out->host, s, strlen(s) + 1);
	if (json_get_int(root, "event.port", 1, 65535, &n, 1, err, errlen) !=
	    JSON_GET_OK)
		goto out;
	out->port = (uint16_t)n;
	if (json_get_int(root, "event.bytes_up", 0, INT64_MAX, &n, 1, err,
	    errlen) != JSON_GET_OK)
		goto out;
	out->bytes_up = (uint64_t)n;
	if (json_get_int(root, "event.bytes_down", 0, INT64_MAX, &n, 1, err,
	    errlen) != JSON_GET_OK)
		goto out;
	out->bytes_down = (uint64_t)n;
	if (json_get_int(root, "event.count", 1, UINT32_MAX, &n, 1, err,
	    errlen) != JSON_GET_OK)
		goto out;
	out->count = (uint32_t)n;
	if (json_get_string(root, "event.ts", &s, 1, err, errlen) !=
	    JSON_GET_OK)
		goto out;
	if (ctl_ts_parse(s, &out->ts_ms) == -1) {
		snprintf(err, errlen, "event.ts: not an RFC 3339 UTC time with ms");
		goto out;
	}
	rc = 0;
out:
	json_decref(root);
	if (rc == -1)
		memset(out, 0, sizeof(*out));
	return rc;
}
