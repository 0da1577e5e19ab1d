/*
 * Fuzz target for sessiond/request.c: the whole input is a POST
 * /v1/sessions body, decoded with the default limits and again with tight
 * ones. An accepted request must satisfy every documented invariant and
 * survive session_request_to_json() → decode unchanged; a refused one must
 * carry a known status and code and a message that makes a valid error
 * body. Every broken invariant aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/hostname.h"
#include "rules/policy.h"
#include "sessiond/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)	do { if (!(x)) abort(); } while (0)

static void
fuzz_check_error(const struct api_error *err)
{
	static const struct {
		int status;
		const char *code;
	} known[] = {
		{ 400, API_ERR_INVALID_JSON },
		{ 400, API_ERR_INVALID_REQUEST },
		{ 400, API_ERR_UNKNOWN_LANGUAGE },
		{ 400, API_ERR_INVALID_ALLOW_PATTERN },
		{ 413, API_ERR_TOO_LARGE },
		{ 500, API_ERR_INTERNAL },	/* only ENOMEM here */
	};
	const unsigned char *m = (const unsigned char *)err->message;
	size_t i;
	json_t *j;

	CHECK(err->code != NULL);
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (err->status == known[i].status &&
		    strcmp(err->code, known[i].code) == 0)
			break;
	CHECK(i < sizeof(known) / sizeof(known[0]));
	CHECK(m[0] != '\0');
	for (i = 0; m[i] != '\0'; i++)
		CHECK(m[i] >= 0x20 && m[i] != 0x7f);
	/* Valid UTF-8 is what json_error_body() insists on. */
	j = api_error_json(err);
	CHECK(j != NULL);
	json_decref(j);
}

static void
fuzz_check_request(const struct session_request *r,
    const struct request_limits *lim)
{
	char canon[HOST_PATTERN_FORMAT_MAX];
	struct host_pattern hp;
	size_t i, k;

	CHECK(strcmp(session_language_name(r->language), "invalid") != 0);
	CHECK(r->code != NULL && r->code_len >= 1 &&
	    r->code_len <= lim->max_code_bytes);
	CHECK(r->code[r->code_len] == '\0' && strlen(r->code) == r->code_len);
	CHECK(request_name_valid(r->backend, strlen(r->backend)));
	CHECK(r->policy != NULL && policy_count(r->policy) == r->nallow);
	CHECK(r->nallow <= REQUEST_ALLOW_MAX);
	for (i = 0; i < r->nallow; i++) {
		CHECK(host_pattern_parse(r->allow[i], strlen(r->allow[i]), &hp,
		    NULL) == 0);
		host_pattern_format(&hp, canon, sizeof(canon));
		CHECK(strcmp(canon, r->allow[i]) == 0);
		for (k = 0; k < i; k++)
			CHECK(strcmp(r->allow[k], r->allow[i]) != 0);
	}
	CHECK(r->nbindings <= REQUEST_BINDINGS_MAX);
	for (i = 0; i < r->nbindings; i++) {
		CHECK(request_name_valid(r->bindings[i],
		    strlen(r->bindings[i])));
		for (k = 0; k < i; k++)
			CHECK(strcmp(r->bindings[k], r->bindings[i]) != 0);
	}
	CHECK(r->limits.timeout_ms >= REQUEST_MIN_TIMEOUT_MS &&
	    r->limits.timeout_ms <= lim->max_timeout_ms);
	CHECK(r->limits.memory_mb >= REQUEST_MIN_MEMORY_MB &&
	    r->limits.memory_mb <= lim->max_memory_mb);
	CHECK(r->limits.pids >= REQUEST_MIN_PIDS &&
	    r->limits.pids <= lim->max_pids);
	CHECK(r->limits.output_bytes >= REQUEST_MIN_OUTPUT_BYTES &&
	    r->limits.output_bytes <= lim->max_output_bytes);
}

/* The canonical echo must decode to the very same request. */
static void
fuzz_round_trip(const struct session_request *r,
    const struct request_limits *lim)
{
	struct request_limits relaxed;
	struct session_request again;
	struct api_error err;
	json_t *j;
	char *line;
	size_t i;

	if ((j = session_request_to_json(r)) == NULL)
		abort();
	line = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	CHECK(line != NULL);
	/* The echo spells out every default, so it may outgrow the body cap
	 * the original fitted under; only the cap is relaxed. */
	relaxed = *lim;
	if (relaxed.max_body_bytes < strlen(line))
		relaxed.max_body_bytes = strlen(line);
	CHECK(session_request_decode(line, strlen(line), &relaxed, &again,
	    &err) == 0);
	CHECK(again.language == r->language);
	CHECK(again.code_len == r->code_len &&
	    memcmp(again.code, r->code, r->code_len) == 0);
	CHECK(strcmp(again.backend, r->backend) == 0);
	CHECK(again.nallow == r->nallow &&
	    policy_count(again.policy) == policy_count(r->policy));
	for (i = 0; i < r->nallow; i++)
		CHECK(strcmp(again.allow[i], r->allow[i]) == 0);
	CHECK(again.nbindings == r->nbindings);
	for (i = 0; i < r->nbindings; i++)
		CHECK(strcmp(again.bindings[i], r->bindings[i]) == 0);
	CHECK(memcmp(&again.limits, &r->limits, sizeof(r->limits)) == 0);
	CHECK(again.wait == r->wait);
	session_request_clear(&again);
	free(line);
}

/* Returns the decode result after checking whichever outcome it was. */
static int
fuzz_decode(const char *body, size_t len, const struct request_limits *lim,
    struct session_request *r)
{
	struct api_error err;
	int rc;

	memset(&err, 0, sizeof(err));
	rc = session_request_decode(body, len, lim, r, &err);
	CHECK(rc == 0 || rc == -1);
	if (rc == -1) {
		fuzz_check_error(&err);
		CHECK(r->code == NULL && r->policy == NULL && r->allow == NULL);
		CHECK(err.status != 413 || len > lim->max_body_bytes ||
		    strncmp(err.message, "code:", 5) == 0);
		return -1;
	}
	fuzz_check_request(r, lim);
	fuzz_round_trip(r, lim);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct request_limits def, tight;
	struct session_request r, t;
	int rc;

	request_limits_default(&def);
	request_limits_default(&tight);
	tight.max_body_bytes = 512;
	tight.max_code_bytes = 16;
	tight.max_timeout_ms = 1000;
	tight.max_memory_mb = 64;
	tight.max_pids = 16;
	tight.max_output_bytes = 2048;
	tight.defaults.timeout_ms = 500;
	tight.defaults.memory_mb = 32;
	tight.defaults.pids = 8;
	tight.defaults.output_bytes = 1024;
	tight.default_backend = NULL;

	rc = fuzz_decode((const char *)data, size, &def, &r);
	/* Tighter limits can only refuse more, never accept more. */
	if (fuzz_decode((const char *)data, size, &tight, &t) == 0) {
		CHECK(rc == 0);
		CHECK(t.language == r.language && t.code_len == r.code_len &&
		    t.nallow == r.nallow && t.nbindings == r.nbindings &&
		    t.wait == r.wait);
		session_request_clear(&t);
	}
	session_request_clear(&r);
	session_request_clear(&r);
	return 0;
}
