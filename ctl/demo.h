/*
 * `enclavectl demo backend-parity`: the seed's headline demo. One hostile
 * workload (SSRF to the cloud metadata address, exfiltration to an
 * attacker's host) runs byte-identical on every target; each run is
 * distilled into a verdict from public surfaces only (the session, its
 * audit events, its result), each verdict must be the safe one, and all
 * must be the same. The report keeps the seed's JSON shape (DESIGN.md).
 *
 * The pieces below are pure, for the unit tests; ctl_cmd_demo() (ctl.h)
 * does the I/O.
 */
#ifndef ENCLAVE_CTL_DEMO_H
#define ENCLAVE_CTL_DEMO_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#define PARITY_METADATA_IP	"169.254.169.254"
#define PARITY_ATTACKER_HOST	"exfil.attacker.example"
#define PARITY_TARGETS_MAX	16
#define PARITY_LATENCY_RUNS	3	/* trivial sessions per backend */

/* The Python workload, the same bytes for every target. */
extern const char parity_workload[];

/* The audit event types every backend must produce, in order; NULL-ended. */
extern const char *const parity_audit_types[];

/* 1 if s[0..len) holds eyJ and at least 8 more of [A-Za-z0-9_-]: a JWT. */
int parity_jwt_found(const char *s, size_t len);

struct parity_target {
	char	*label;
	char	*url;		/* http://HOST:PORT or unix:/PATH */
	char	*api_key;	/* NULL: none; never printed */
	char	*backend;	/* sent as "backend" (lab mode); NULL: not sent */
};

/*
 * Adds targets from ENCLAVE_PARITY_BASE_URLS-style "label=url,label=url"
 * (blanks around items ignored) and keys from "label=key,..." (may be
 * NULL). Duplicate or empty labels, keys for unknown labels, URLs with
 * credentials in them and more than max targets are refused; messages
 * never quote a key.
 */
int parity_targets_parse(const char *urls, const char *keys,
    struct parity_target *t, size_t max, size_t *n, char *err, size_t errlen);

/* Appends one target (copies its strings); -1 on ENOMEM or when full. */
int parity_target_add(struct parity_target *t, size_t max, size_t *n,
    const char *label, const char *url, const char *api_key,
    const char *backend);

void parity_targets_free(struct parity_target *t, size_t n);

/* The request body: {"language","code","egress":{"allow":[…]},"wait"}
 * plus "backend" when given. */
json_t *parity_request(const char *backend);

/*
 * One run as a report entry: {"label","baseUrl","startMs","verdict":
 * {"egressDenied","deniedHosts","tokenWithheld","phase"},"auditTypes"}.
 * audit is the API's {"events":[…]} (or the bare list). New reference.
 */
json_t *parity_record(const char *label, const char *base_url,
    long long start_ms, const json_t *session, const json_t *audit);

/* A run that ended before a verdict: the same shape, nothing proven, and
 * "error" saying why. */
json_t *parity_record_failed(const char *label, const char *base_url,
    long long start_ms, const char *error);

/*
 * Checks every record (safe verdict, phase succeeded, the expected audit
 * types) and their parity; appends one line to failures (a JSON array) per
 * failed check. Returns the report {"summary":{…},"backends":records}.
 */
json_t *parity_report(const char *mode, json_t *records, json_t *failures);

/* The report as Markdown; free(). */
char *parity_markdown(const json_t *report, const json_t *failures);

/* Terminal rendering in the seed's layout; colour adds ANSI escapes. */
void parity_print_header(FILE *out, const char *mode, const json_t *labels,
    int colour);
void parity_print_tile(FILE *out, const json_t *record, int colour);
void parity_print_verdict(FILE *out, const json_t *report,
    const json_t *failures, int colour);

#endif /* ENCLAVE_CTL_DEMO_H */
