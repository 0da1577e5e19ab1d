/*
 * enclavectl's side of the Session API (DESIGN.md): one endpoint, an
 * optional API key, JSON in and out, and the API's error bodies
 * {"error":{"code":"…","message":"…"}} turned into one printable line.
 *
 * Calls return APIC_OK, APIC_EREPLY when the daemon answered with an
 * error (the command ran and found a problem: exit 1), or APIC_ETRANSPORT
 * when it could not be reached or did not speak the API (exit 2). The API
 * key is never put into a message: where a reply quotes it, it is masked.
 */
#ifndef ENCLAVE_CTL_API_H
#define ENCLAVE_CTL_API_H

#include <signal.h>
#include <stddef.h>

#include <jansson.h>

#include "common/httpc.h"

#define APIC_DEFAULT_SOCKET	"/run/enclave/sessiond.sock"

#define APIC_OK			0
#define APIC_EREPLY		1
#define APIC_ETRANSPORT		(-1)

struct apic {
	struct httpc_endpoint ep;
	const char	*api_key;	/* borrowed; NULL: none */
	int		 timeout_ms;	/* per call unless the call says otherwise */
	volatile sig_atomic_t *cancel;	/* may be NULL */
};

/* spec as httpc_endpoint_parse() reads it; hint goes into connect errors. */
int apic_init(struct apic *c, const char *spec, const char *api_key,
    const char *hint, char *err, size_t errlen);

/*
 * prefix + seg percent-encoded (all but A-Z a-z 0-9 - . _ ~) + suffix
 * into buf, so an ID can never step into another path. -1 when seg is
 * empty, "." or "..", or it does not fit.
 */
int apic_path(char *buf, size_t len, const char *prefix, const char *seg,
    const char *suffix);

/*
 * The one line for a non-2xx response: "<status> <code>: <message>" from
 * the API's error body, "<status> http_error: <reason>" from anything
 * else. Control bytes become '?'; occurrences of api_key (may be NULL)
 * are masked.
 */
void apic_error_format(const struct httpc_response *resp, const char *api_key,
    char *err, size_t errlen);

/*
 * Sends body (NULL: none) and decodes the reply: *reply is a new
 * reference, or NULL when the reply had no body (204). timeout_ms 0 means
 * c->timeout_ms. *status (may be NULL) gets the HTTP status.
 */
int apic_call(struct apic *c, const char *method, const char *path,
    const json_t *body, int timeout_ms, int *status, json_t **reply,
    char *err, size_t errlen);

/* The same for a reply that is not JSON: resp holds the raw body. */
int apic_call_raw(struct apic *c, const char *method, const char *path,
    int timeout_ms, struct httpc_response *resp, char *err, size_t errlen);

/* Replaces control bytes (and DEL) in s with '?': for text from the wire. */
void apic_sanitize(char *s);

#endif /* ENCLAVE_CTL_API_H */
