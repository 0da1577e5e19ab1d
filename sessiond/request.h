/*
 * The strict decoder for `POST /v1/sessions` bodies (DESIGN.md, Session
 * API):
 *
 *   {"language":"python"|"sh"|"node", "code":"…", "backend":"namespace",
 *    "egress":{"allow":["pypi.org","*.github.com:443"]},
 *    "bindings":["github"],
 *    "limits":{"timeout_ms":30000,"memory_mb":256,"pids":128,
 *              "output_bytes":1048576},
 *    "wait":true}
 *
 * language and code are required; everything else is optional and takes
 * its default from struct request_limits. Unknown keys (top level, in
 * egress, in limits), wrong types, duplicate keys, trailing bytes, JSON
 * null and out-of-range values are refused with an error naming the field.
 *
 * Pure: no I/O, no logging, no global state. Whether the backend exists or
 * is available and whether a binding is known are the caller's checks: the
 * decoder only checks that they are well-formed names.
 */
#ifndef ENCLAVE_SESSIOND_REQUEST_H
#define ENCLAVE_SESSIOND_REQUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct policy;

/* Error codes of the API; the daemon adds its own (not_found, …). */
#define API_ERR_INVALID_JSON		"invalid_json"		/* 400 */
#define API_ERR_INVALID_REQUEST		"invalid_request"	/* 400 */
#define API_ERR_UNKNOWN_LANGUAGE	"unknown_language"	/* 400 */
#define API_ERR_INVALID_ALLOW_PATTERN	"invalid_allow_pattern"	/* 400 */
#define API_ERR_TOO_LARGE		"too_large"		/* 413 */
#define API_ERR_INTERNAL		"internal"		/* 500 */

#define API_ERROR_MESSAGE_MAX	512

/*
 * A failed request's answer. message is always one line of valid UTF-8
 * without control characters (bytes from the caller that are not are
 * shown as '?'), so it can go to a log and into JSON as it is.
 */
struct api_error {
	int		 status;
	const char	*code;		/* static string, an API_ERR_* */
	char		 message[API_ERROR_MESSAGE_MAX];
};

/* Sets all three fields; message is printf-formatted and sanitised. */
void api_error_set(struct api_error *err, int status, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* New reference to {"error":{"code":…,"message":…}}; NULL on ENOMEM. */
json_t *api_error_json(const struct api_error *err);

enum session_language {
	SESSION_LANG_PYTHON = 0,
	SESSION_LANG_SH,
	SESSION_LANG_NODE,
};

/* "python", "sh", "node"; "invalid" for anything else. */
const char *session_language_name(enum session_language lang);
int session_language_parse(const char *name, enum session_language *out);

/* Backend and binding names: 1..32 of [a-z0-9_-]. */
#define REQUEST_NAME_MAX	32
#define REQUEST_BINDINGS_MAX	16
#define REQUEST_ALLOW_MAX	256	/* = POLICY_MAX_PATTERNS */

bool request_name_valid(const char *s, size_t len);

/* Fixed lower bounds of the per-session limits. */
#define REQUEST_MIN_TIMEOUT_MS		100
#define REQUEST_MIN_MEMORY_MB		16
#define REQUEST_MIN_PIDS		8
#define REQUEST_MIN_OUTPUT_BYTES	1024

struct session_limits {
	uint32_t	timeout_ms;
	uint32_t	memory_mb;
	uint32_t	pids;
	uint64_t	output_bytes;	/* stdout and stderr, each */
};

/*
 * What the operator allows (daemon config). request_limits_default() sets:
 *   max_body_bytes 4 MiB, max_code_bytes 1 MiB,
 *   max_timeout_ms 600000, max_memory_mb 4096, max_pids 4096,
 *   max_output_bytes 16 MiB,
 *   defaults: timeout_ms 30000, memory_mb 256, pids 128,
 *   output_bytes 1 MiB, backend "namespace".
 * The body cap is above the code cap because JSON escaping makes a string
 * up to six times its decoded size; keep it so when changing either.
 */
struct request_limits {
	size_t			 max_body_bytes;
	size_t			 max_code_bytes;
	uint32_t		 max_timeout_ms;
	uint32_t		 max_memory_mb;
	uint32_t		 max_pids;
	uint64_t		 max_output_bytes;
	struct session_limits	 defaults;
	const char		*default_backend;	/* NULL: "namespace" */
};

void request_limits_default(struct request_limits *lim);
/*
 * 0 if every max is at least its minimum (and under a sanity ceiling),
 * every default within its range and default_backend a valid name; else
 * -1 with err saying which. For the config loader; decode checks it too.
 */
int request_limits_check(const struct request_limits *lim, char *err,
    size_t errlen);

/*
 * A decoded request. After a successful decode it owns code, policy and
 * allow; session_request_clear() is its one teardown.
 *
 * policy holds the allow patterns (policy_add, deny by default: empty when
 * egress.allow is absent or []). allow holds the canonical form of each
 * distinct pattern (host_pattern_format), in first-seen order, so
 * nallow == policy_count(policy); it is what the API echoes and what goes
 * into proxyd's session_add ("allow" of struct ctl_request has the same
 * type). The daemon may take policy or allow by copying the pointer and
 * setting the field to NULL (and nallow to 0 for allow) before clearing.
 */
struct session_request {
	enum session_language	 language;
	char			*code;		/* NUL-terminated, no inner NUL */
	size_t			 code_len;	/* 1..max_code_bytes */
	char			 backend[REQUEST_NAME_MAX + 1];
	struct policy		*policy;
	char			**allow;
	size_t			 nallow;
	char			 bindings[REQUEST_BINDINGS_MAX][REQUEST_NAME_MAX + 1];
	size_t			 nbindings;	/* distinct, in request order */
	struct session_limits	 limits;
	bool			 wait;		/* default false */
};

/*
 * Decode body[0..len). lim NULL means request_limits_default(). Returns 0
 * and fills out, or -1 with err set and out holding nothing to free (clear
 * is still harmless). out is overwritten, not cleared: clear a previous
 * request first.
 *
 * Statuses and codes:
 *   413 too_large       body over max_body_bytes (checked before parsing),
 *                       code over max_code_bytes
 *   400 invalid_json    malformed JSON (with line and column), not UTF-8,
 *                       duplicate key, trailing bytes, nesting too deep
 *   400 unknown_language  language is a string but not a known one
 *   400 invalid_allow_pattern  "egress.allow[1]: invalid allow pattern
 *                       \"*.\": wildcard without a domain"
 *   400 invalid_request everything else: not an object, unknown key,
 *                       missing field, wrong type, null, out of range,
 *                       empty code, NUL in code, bad or duplicate name
 *   500 internal        out of memory, or lim fails request_limits_check()
 * Fields are checked in a fixed order (language, code, backend, egress,
 * bindings, limits, wait) after the unknown-key check, so the same body
 * always gets the same error.
 */
int session_request_decode(const char *body, size_t len,
    const struct request_limits *lim, struct session_request *out,
    struct api_error *err);

/* Frees what decode allocated and zeroes out; safe on a zeroed struct and
 * when called twice. */
void session_request_clear(struct session_request *r);

/*
 * New reference to the canonical request: every field present, defaults
 * filled in, allow patterns canonical and distinct. Decoding its dump
 * gives the same request back. NULL on ENOMEM.
 */
json_t *session_request_to_json(const struct session_request *r);

#endif /* ENCLAVE_SESSIOND_REQUEST_H */
