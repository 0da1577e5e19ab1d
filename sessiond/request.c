#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hostname.h"
#include "common/json.h"
#include "rules/policy.h"
#include "sessiond/request.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* Sanity ceilings for operator-set maxima: far above any real use, low
 * enough that the sizes fit every type they pass through. */
#define REQUEST_CEIL_BODY_BYTES		(256u << 20)
#define REQUEST_CEIL_CODE_BYTES		(64u << 20)
#define REQUEST_CEIL_TIMEOUT_MS		(24u * 3600 * 1000)
#define REQUEST_CEIL_MEMORY_MB		(1u << 20)
#define REQUEST_CEIL_PIDS		(1u << 22)
#define REQUEST_CEIL_OUTPUT_BYTES	(1ull << 30)

#define REQUEST_DEFAULT_BACKEND		"namespace"
#define REQUEST_NAME_RULE		"1..32 of a-z 0-9 _ -"

static const char *const request_keys[] = {
	"language", "code", "backend", "egress", "bindings", "limits", "wait",
	NULL
};
static const char *const request_keys_egress[] = { "allow", NULL };
static const char *const request_keys_limits[] = {
	"timeout_ms", "memory_mb", "pids", "output_bytes", NULL
};

static const char *const language_names[] = {
	[SESSION_LANG_PYTHON] = "python",
	[SESSION_LANG_SH] = "sh",
	[SESSION_LANG_NODE] = "node",
};

/* Length of the well-formed UTF-8 sequence at s[0..len), or 0 if there is
 * none: no overlongs, no surrogates, nothing above U+10FFFF. */
static size_t
utf8_seq_len(const unsigned char *s, size_t len)
{
	unsigned int c = s[0];
	size_t n, i;
	unsigned int cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else
		return 0;
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

/* Messages quote what the caller sent, and may be cut mid-character by the
 * size cap; they must stay one printable line of valid UTF-8 (C1 controls
 * included, since some terminals act on them). */
static void
api_error_sanitize(char *msg)
{
	unsigned char *s = (unsigned char *)msg;
	size_t len = strlen(msg), i = 0, n;

	while (i < len) {
		if (s[i] < 0x20 || s[i] == 0x7f) {
			s[i++] = '?';
			continue;
		}
		if ((n = utf8_seq_len(s + i, len - i)) == 0) {
			s[i++] = '?';
			continue;
		}
		if (n == 2 && s[i] == 0xc2 && s[i + 1] < 0xa0) {
			s[i] = '?';
			s[i + 1] = '?';
		}
		i += n;
	}
}

void
api_error_set(struct api_error *err, int status, const char *code,
    const char *fmt, ...)
{
	va_list ap;

	err->status = status;
	err->code = code;
	va_start(ap, fmt);
	(void)vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	api_error_sanitize(err->message);
}

json_t *
api_error_json(const struct api_error *err)
{
	char msg[API_ERROR_MESSAGE_MAX];

	/* A hand-filled api_error gets the same guarantee as api_error_set's. */
	snprintf(msg, sizeof(msg), "%.*s", (int)sizeof(msg) - 1, err->message);
	api_error_sanitize(msg);
	return json_error_body(err->code ? err->code : API_ERR_INTERNAL, msg);
}

const char *
session_language_name(enum session_language lang)
{
	if ((unsigned)lang >= NELEM(language_names))
		return "invalid";
	return language_names[lang];
}

int
session_language_parse(const char *name, enum session_language *out)
{
	size_t i;

	for (i = 0; i < NELEM(language_names); i++) {
		if (strcmp(name, language_names[i]) == 0) {
			*out = (enum session_language)i;
			return 0;
		}
	}
	return -1;
}

bool
request_name_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > REQUEST_NAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

void
request_limits_default(struct request_limits *lim)
{
	memset(lim, 0, sizeof(*lim));
	lim->max_body_bytes = 4u << 20;
	lim->max_code_bytes = 1u << 20;
	lim->max_timeout_ms = 600000;
	lim->max_memory_mb = 4096;
	lim->max_pids = 4096;
	lim->max_output_bytes = 16u << 20;
	lim->defaults.timeout_ms = 30000;
	lim->defaults.memory_mb = 256;
	lim->defaults.pids = 128;
	lim->defaults.output_bytes = 1u << 20;
	lim->default_backend = REQUEST_DEFAULT_BACKEND;
}

/* One limit's max against its floor and ceiling, its default within both. */
static int
limit_check(const char *name, uint64_t min, uint64_t max, uint64_t ceil,
    uint64_t def, char *err, size_t errlen)
{
	if (max < min || max > ceil) {
		snprintf(err, errlen, "max %s %llu not in %llu..%llu", name,
		    (unsigned long long)max, (unsigned long long)min,
		    (unsigned long long)ceil);
		return -1;
	}
	if (def < min || def > max) {
		snprintf(err, errlen, "default %s %llu not in %llu..%llu", name,
		    (unsigned long long)def, (unsigned long long)min,
		    (unsigned long long)max);
		return -1;
	}
	return 0;
}

int
request_limits_check(const struct request_limits *lim, char *err,
    size_t errlen)
{
	const char *b = lim->default_backend;

	if (lim->max_code_bytes < 1 ||
	    lim->max_code_bytes > REQUEST_CEIL_CODE_BYTES) {
		snprintf(err, errlen, "max code bytes %zu not in 1..%u",
		    lim->max_code_bytes, REQUEST_CEIL_CODE_BYTES);
		return -1;
	}
	if (lim->max_body_bytes < lim->max_code_bytes ||
	    lim->max_body_bytes > REQUEST_CEIL_BODY_BYTES) {
		snprintf(err, errlen, "max body bytes %zu not in %zu..%u",
		    lim->max_body_bytes, lim->max_code_bytes,
		    REQUEST_CEIL_BODY_BYTES);
		return -1;
	}
	if (limit_check("timeout_ms", REQUEST_MIN_TIMEOUT_MS,
	    lim->max_timeout_ms, REQUEST_CEIL_TIMEOUT_MS,
	    lim->defaults.timeout_ms, err, errlen) == -1 ||
	    limit_check("memory_mb", REQUEST_MIN_MEMORY_MB, lim->max_memory_mb,
	    REQUEST_CEIL_MEMORY_MB, lim->defaults.memory_mb, err, errlen) == -1 ||
	    limit_check("pids", REQUEST_MIN_PIDS, lim->max_pids,
	    REQUEST_CEIL_PIDS, lim->defaults.pids, err, errlen) == -1 ||
	    limit_check("output_bytes", REQUEST_MIN_OUTPUT_BYTES,
	    lim->max_output_bytes, REQUEST_CEIL_OUTPUT_BYTES,
	    lim->defaults.output_bytes, err, errlen) == -1)
		return -1;
	if (b != NULL && !request_name_valid(b, strnlen(b, REQUEST_NAME_MAX + 1))) {
		snprintf(err, errlen, "default backend is not %s",
		    REQUEST_NAME_RULE);
		return -1;
	}
	return 0;
}

/* json.h helpers report into a plain buffer; every such failure is 400. */
static int
request_invalid(struct api_error *err, const char *msg)
{
	api_error_set(err, 400, API_ERR_INVALID_REQUEST, "%s", msg);
	return -1;
}

static int
request_nomem(struct api_error *err)
{
	api_error_set(err, 500, API_ERR_INTERNAL, "out of memory");
	return -1;
}

/* An optional sub-object: absent (*out NULL), or an object with known keys. */
static int
request_get_object(const json_t *root, const char *key,
    const char *const keys[], const json_t **out, struct api_error *err)
{
	const char *bad;

	*out = json_object_get(root, key);
	if (*out == NULL)
		return 0;
	if (json_check_keys(*out, keys, &bad) == 0)
		return 0;
	if (bad == NULL)
		api_error_set(err, 400, API_ERR_INVALID_REQUEST,
		    "%s: must be an object", key);
	else
		api_error_set(err, 400, API_ERR_INVALID_REQUEST,
		    "%s: unknown field \"%.64s\"", key, bad);
	return -1;
}

static int
request_get_language(const json_t *root, struct session_request *out,
    struct api_error *err)
{
	char msg[256];
	const char *s;

	if (json_get_string(root, "language", &s, 1, msg, sizeof(msg)) == -1)
		return request_invalid(err, msg);
	if (session_language_parse(s, &out->language) == -1) {
		api_error_set(err, 400, API_ERR_UNKNOWN_LANGUAGE,
		    "language: unknown language \"%.32s\" (expected python, sh or "
		    "node)", s);
		return -1;
	}
	return 0;
}

/* Not json_get_string(): code is sized before anything else is said. */
static int
request_get_code(const json_t *root, const struct request_limits *lim,
    struct session_request *out, struct api_error *err)
{
	json_t *v = json_object_get(root, "code");
	size_t n;

	if (v == NULL)
		return request_invalid(err, "code: required");
	if (!json_is_string(v))
		return request_invalid(err, "code: must be a string");
	n = json_string_length(v);
	if (n == 0)
		return request_invalid(err, "code: must not be empty");
	if (n > lim->max_code_bytes) {
		api_error_set(err, 413, API_ERR_TOO_LARGE,
		    "code: too large (%zu bytes, at most %zu)", n,
		    lim->max_code_bytes);
		return -1;
	}
	if (memchr(json_string_value(v), '\0', n) != NULL)
		return request_invalid(err, "code: must not contain NUL bytes");
	if ((out->code = malloc(n + 1)) == NULL)
		return request_nomem(err);
	memcpy(out->code, json_string_value(v), n);
	out->code[n] = '\0';
	out->code_len = n;
	return 0;
}

static int
request_get_backend(const json_t *root, const struct request_limits *lim,
    struct session_request *out, struct api_error *err)
{
	const char *s = lim->default_backend ? lim->default_backend :
	    REQUEST_DEFAULT_BACKEND;
	char msg[256];

	if (json_get_string(root, "backend", &s, 0, msg, sizeof(msg)) == -1)
		return request_invalid(err, msg);
	if (!request_name_valid(s, strlen(s))) {
		api_error_set(err, 400, API_ERR_INVALID_REQUEST,
		    "backend: invalid name \"%.64s\" (%s)", s, REQUEST_NAME_RULE);
		return -1;
	}
	snprintf(out->backend, sizeof(out->backend), "%s", s);
	return 0;
}

/* Builds the policy, then takes its canonical, de-duplicated pattern
 * list, so the list re-encodes to exactly the policy the daemon holds. */
static int
request_get_egress(const json_t *root, struct session_request *out,
    struct api_error *err)
{
	const char *items[REQUEST_ALLOW_MAX];
	char msg[256];
	struct host_pattern hp;
	const json_t *egress;
	size_t n = 0, i, len;

	if (request_get_object(root, "egress", request_keys_egress, &egress,
	    err) == -1)
		return -1;
	if (egress != NULL && json_get_string_array(root, "egress.allow", items,
	    REQUEST_ALLOW_MAX, &n, 0, msg, sizeof(msg)) == -1)
		return request_invalid(err, msg);
	if ((out->policy = policy_new()) == NULL)
		return request_nomem(err);
	for (i = 0; i < n; i++) {
		len = strlen(items[i]);
		if (policy_add(out->policy, items[i], len, msg,
		    sizeof(msg)) == -1) {
			/* policy_add() also fails for ENOMEM on a valid one. */
			if (host_pattern_parse(items[i], len, &hp, NULL) == 0)
				return request_nomem(err);
			api_error_set(err, 400, API_ERR_INVALID_ALLOW_PATTERN,
			    "egress.allow[%zu]: %s", i, msg);
			return -1;
		}
	}
	if (policy_patterns(out->policy, &out->allow, &out->nallow) == -1)
		return request_nomem(err);
	return 0;
}

static int
request_get_bindings(const json_t *root, struct session_request *out,
    struct api_error *err)
{
	const char *items[REQUEST_BINDINGS_MAX];
	char msg[256];
	size_t n, i, k;

	if (json_get_string_array(root, "bindings", items, REQUEST_BINDINGS_MAX,
	    &n, 0, msg, sizeof(msg)) == -1)
		return request_invalid(err, msg);
	for (i = 0; i < n; i++) {
		if (!request_name_valid(items[i], strlen(items[i]))) {
			api_error_set(err, 400, API_ERR_INVALID_REQUEST,
			    "bindings[%zu]: invalid name \"%.64s\" (%s)", i,
			    items[i], REQUEST_NAME_RULE);
			return -1;
		}
		for (k = 0; k < i; k++) {
			if (strcmp(items[k], items[i]) == 0) {
				api_error_set(err, 400, API_ERR_INVALID_REQUEST,
				    "bindings[%zu]: duplicate \"%s\"", i,
				    items[i]);
				return -1;
			}
		}
		snprintf(out->bindings[i], sizeof(out->bindings[i]), "%s",
		    items[i]);
	}
	out->nbindings = n;
	return 0;
}

/* One optional limit; *val holds the default on entry. */
static int
request_get_limit(const json_t *root, const char *key, json_int_t min,
    json_int_t max, uint64_t *val, struct api_error *err)
{
	char msg[256];
	json_int_t n;
	int rc;

	rc = json_get_int(root, key, min, max, &n, 0, msg, sizeof(msg));
	if (rc == -1)
		return request_invalid(err, msg);
	if (rc == JSON_GET_OK)
		*val = (uint64_t)n;
	return 0;
}

static int
request_get_limits(const json_t *root, const struct request_limits *lim,
    struct session_request *out, struct api_error *err)
{
	uint64_t timeout = lim->defaults.timeout_ms;
	uint64_t memory = lim->defaults.memory_mb;
	uint64_t pids = lim->defaults.pids;
	uint64_t output = lim->defaults.output_bytes;
	const json_t *limits;

	if (request_get_object(root, "limits", request_keys_limits, &limits,
	    err) == -1)
		return -1;
	if (limits != NULL &&
	    (request_get_limit(root, "limits.timeout_ms", REQUEST_MIN_TIMEOUT_MS,
	    lim->max_timeout_ms, &timeout, err) == -1 ||
	    request_get_limit(root, "limits.memory_mb", REQUEST_MIN_MEMORY_MB,
	    lim->max_memory_mb, &memory, err) == -1 ||
	    request_get_limit(root, "limits.pids", REQUEST_MIN_PIDS,
	    lim->max_pids, &pids, err) == -1 ||
	    request_get_limit(root, "limits.output_bytes",
	    REQUEST_MIN_OUTPUT_BYTES, (json_int_t)lim->max_output_bytes,
	    &output, err) == -1))
		return -1;
	/* request_limits_check() bounded every max, so these fit. */
	out->limits.timeout_ms = (uint32_t)timeout;
	out->limits.memory_mb = (uint32_t)memory;
	out->limits.pids = (uint32_t)pids;
	out->limits.output_bytes = output;
	return 0;
}

static int
request_get_wait(const json_t *root, struct session_request *out,
    struct api_error *err)
{
	char msg[256];
	int w = 0;

	if (json_get_bool(root, "wait", &w, 0, msg, sizeof(msg)) == -1)
		return request_invalid(err, msg);
	out->wait = w != 0;
	return 0;
}

static int
request_parse(const char *body, size_t len, json_t **root,
    struct api_error *err)
{
	json_error_t jerr;

	/* ALLOW_NUL so that "\u0000" in code is refused by name, not as JSON;
	 * every string getter refuses NUL itself. */
	*root = json_loadb(len ? body : "", len, JSON_REJECT_DUPLICATES |
	    JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (*root == NULL) {
		if (len == 0)
			api_error_set(err, 400, API_ERR_INVALID_JSON,
			    "empty body: expected a JSON object");
		else
			api_error_set(err, 400, API_ERR_INVALID_JSON,
			    "invalid JSON at line %d, column %d: %s", jerr.line,
			    jerr.column, jerr.text);
		return -1;
	}
	if (!json_is_object(*root)) {
		api_error_set(err, 400, API_ERR_INVALID_REQUEST,
		    "body: must be a JSON object");
		return -1;
	}
	return 0;
}

int
session_request_decode(const char *body, size_t len,
    const struct request_limits *lim, struct session_request *out,
    struct api_error *err)
{
	struct request_limits deflim;
	json_t *root = NULL;
	const char *bad;
	char msg[256];

	memset(out, 0, sizeof(*out));
	if (lim == NULL) {
		request_limits_default(&deflim);
		lim = &deflim;
	}
	if (request_limits_check(lim, msg, sizeof(msg)) == -1) {
		api_error_set(err, 500, API_ERR_INTERNAL,
		    "request limits misconfigured: %s", msg);
		return -1;
	}
	if (len > lim->max_body_bytes) {
		api_error_set(err, 413, API_ERR_TOO_LARGE,
		    "body too large (%zu bytes, at most %zu)", len,
		    lim->max_body_bytes);
		return -1;
	}
	if (request_parse(body, len, &root, err) == -1)
		goto fail;
	if (json_check_keys(root, request_keys, &bad) == -1) {
		api_error_set(err, 400, API_ERR_INVALID_REQUEST,
		    "unknown field \"%.64s\"", bad);
		goto fail;
	}
	if (request_get_language(root, out, err) == -1 ||
	    request_get_code(root, lim, out, err) == -1 ||
	    request_get_backend(root, lim, out, err) == -1 ||
	    request_get_egress(root, out, err) == -1 ||
	    request_get_bindings(root, out, err) == -1 ||
	    request_get_limits(root, lim, out, err) == -1 ||
	    request_get_wait(root, out, err) == -1)
		goto fail;
	json_decref(root);
	return 0;

fail:
	json_decref(root);
	session_request_clear(out);
	return -1;
}

void
session_request_clear(struct session_request *r)
{
	free(r->code);
	policy_patterns_free(r->allow, r->nallow);
	policy_free(r->policy);
	memset(r, 0, sizeof(*r));
}

/* json_object_set_new() steals even on failure; remember that one failed. */
static void
request_set(json_t *obj, const char *key, json_t *value, int *bad)
{
	if (value == NULL || json_object_set_new(obj, key, value) == -1)
		*bad = 1;
}

static void
request_append(json_t *arr, json_t *value, int *bad)
{
	if (value == NULL || json_array_append_new(arr, value) == -1)
		*bad = 1;
}

json_t *
session_request_to_json(const struct session_request *r)
{
	json_t *root, *egress, *allow, *bindings, *limits;
	size_t i;
	int bad = 0;

	if ((root = json_object()) == NULL)
		return NULL;
	request_set(root, "language",
	    json_string(session_language_name(r->language)), &bad);
	request_set(root, "code", r->code ? json_stringn(r->code, r->code_len) :
	    json_string(""), &bad);
	request_set(root, "backend", json_string(r->backend), &bad);
	request_set(root, "egress", egress = json_object(), &bad);
	if (egress != NULL) {
		request_set(egress, "allow", allow = json_array(), &bad);
		for (i = 0; allow != NULL && i < r->nallow; i++)
			request_append(allow, json_string(r->allow[i]), &bad);
	}
	request_set(root, "bindings", bindings = json_array(), &bad);
	for (i = 0; bindings != NULL && i < r->nbindings; i++)
		request_append(bindings, json_string(r->bindings[i]), &bad);
	request_set(root, "limits", limits = json_object(), &bad);
	if (limits != NULL) {
		request_set(limits, "timeout_ms",
		    json_integer(r->limits.timeout_ms), &bad);
		request_set(limits, "memory_mb",
		    json_integer(r->limits.memory_mb), &bad);
		request_set(limits, "pids", json_integer(r->limits.pids), &bad);
		request_set(limits, "output_bytes",
		    json_integer((json_int_t)r->limits.output_bytes), &bad);
	}
	request_set(root, "wait", json_boolean(r->wait), &bad);
	if (bad) {
		json_decref(root);
		return NULL;
	}
	return root;
}
