#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/audit.h"
#include "common/clock.h"
#include "ctl/api.h"
#include "ctl/ctl.h"

#define RUN_CODE_MAX		(1024 * 1024)
#define RUN_DEFAULT_TIMEOUT_MS	30000	/* the daemon's default (DESIGN.md) */
#define RUN_WAIT_GRACE_MS	30000	/* beyond the session's own limit */
#define RUN_POLL_MS		250

/* Exit statuses of `run` that do not come from the workload (as timeout(1),
 * env(1) and shells use them). */
#define RUN_EXIT_TIMED_OUT	124
#define RUN_EXIT_ERROR		125
#define RUN_EXIT_KILLED		137

static const char *const terminal_phases[] = {
	"succeeded", "failed", "timed_out", "killed", "error", NULL
};

static int
phase_terminal(const char *phase)
{
	size_t i;

	for (i = 0; phase != NULL && terminal_phases[i] != NULL; i++)
		if (strcmp(phase, terminal_phases[i]) == 0)
			return 1;
	return 0;
}

/* A string field for a terminal: "-" when absent, control bytes masked. */
static char *
field_text(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	char *s;

	if (json_is_string(v))
		s = strdup(json_string_value(v));
	else if (json_is_integer(v))
		s = json_dumps(v, JSON_ENCODE_ANY);
	else if (json_is_boolean(v))
		s = strdup(json_is_true(v) ? "yes" : "no");
	else
		s = strdup("-");
	if (s != NULL)
		apic_sanitize(s);
	return s;
}

/* Prints rows of ncols cells under a header, columns padded to fit. */
static void
print_table(FILE *out, size_t ncols, const char *const *header, char **cells,
    size_t nrows)
{
	size_t w[8] = { 0 }, r, c, n;
	const char *cell;

	for (c = 0; c < ncols; c++)
		w[c] = strlen(header[c]);
	for (r = 0; r < nrows; r++)
		for (c = 0; c < ncols; c++)
			if ((n = strlen(cells[r * ncols + c])) > w[c])
				w[c] = n;
	for (r = 0; r <= nrows; r++) {
		for (c = 0; c < ncols; c++) {
			cell = r == 0 ? header[c] : cells[(r - 1) * ncols + c];
			if (c + 1 < ncols)
				fprintf(out, "%-*s  ", (int)w[c], cell);
			else
				fprintf(out, "%s\n", cell);
		}
	}
}

/* A table of the listed fields of each object in arr. */
static int
print_objects(const struct ctl_ctx *ctx, const json_t *arr, size_t ncols,
    const char *const *keys, const char *const *header)
{
	size_t nrows = json_array_size(arr), i, c, ncells = 0;
	char **cells;
	int rc = -1;

	if ((cells = calloc(nrows * ncols + 1, sizeof(*cells))) == NULL)
		goto out;
	for (i = 0; i < nrows; i++)
		for (c = 0; c < ncols; c++, ncells++)
			if ((cells[ncells] = field_text(json_array_get(arr, i),
			    keys[c])) == NULL)
				goto out;
	print_table(ctx->out, ncols, header, cells, nrows);
	rc = 0;
out:
	if (rc == -1)
		fprintf(ctx->err, "enclavectl: out of memory\n");
	for (i = 0; cells != NULL && i < ncells; i++)
		free(cells[i]);
	free(cells);
	return rc;
}

static int
api_exit(int rc)
{
	return rc == APIC_EREPLY ? CTL_EXIT_FAIL : CTL_EXIT_USAGE;
}

static void
print_pretty(FILE *out, const json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
	    JSON_ENCODE_ANY);

	if (s != NULL) {
		fprintf(out, "%s\n", s);
		free(s);
	}
}

/* "/v1/sessions/ID" + suffix, or a usage error (printed). */
static int
session_path(const struct ctl_ctx *ctx, char *buf, size_t len, const char *id,
    const char *suffix)
{
	if (apic_path(buf, len, "/v1/sessions/", id, suffix) == -1) {
		fprintf(ctx->err, "enclavectl: \"%s\" is not a session id\n", id);
		return -1;
	}
	return 0;
}

static int
bad_reply(const struct ctl_ctx *ctx, const struct apic *c, const char *what)
{
	fprintf(ctx->err, "enclavectl: bad response from %s: %s\n", c->ep.display,
	    what);
	return CTL_EXIT_USAGE;
}

/* ---- run ---- */

static void
run_usage(FILE *f)
{
	fprintf(f,
	    "usage: enclavectl run [OPTIONS] FILE|-\n"
	    "\n"
	    "Runs FILE (or standard input) in a fresh sandbox, waits for it, prints\n"
	    "its stdout to stdout and its stderr to stderr, then its result (what it\n"
	    "passed to enclave.result()) as one line of compact JSON, and a summary\n"
	    "to stderr. Nothing but the allowed hosts is reachable from inside.\n"
	    "\n"
	    "options:\n"
	    "  --language L   python, sh or node (default: from FILE's extension,\n"
	    "                 .py .sh .js)\n"
	    "  --backend B    the sandbox backend (see enclavectl backends;\n"
	    "                 default: the daemon's)\n"
	    "  --allow P      let the code reach P: host, *.domain or host:port;\n"
	    "                 repeatable (default: nothing)\n"
	    "  --binding N    a service binding whose secret the proxy injects;\n"
	    "                 repeatable\n"
	    "  --timeout S    wall-clock limit in seconds, e.g. 10 or 2.5\n"
	    "                 (default: the daemon's, 30 s)\n"
	    "  --memory MB    memory limit in MiB\n"
	    "  --json         print only the whole session object, as JSON\n"
	    "\n"
	    "exit: 0 succeeded; the workload's exit code (1..125) if it failed;\n"
	    "124 timed out; 137 killed; 125 the sandbox failed; 2 usage error or\n"
	    "sessiond unreachable.\n");
}

int
ctl_run_exit(const json_t *session)
{
	const char *phase = json_string_value(json_object_get(session, "phase"));
	const json_t *ec = json_object_get(session, "exit_code");
	json_int_t code;

	if (phase == NULL)
		return CTL_EXIT_FAIL;
	if (strcmp(phase, "succeeded") == 0)
		return CTL_EXIT_OK;
	if (strcmp(phase, "failed") == 0) {
		code = json_is_integer(ec) ? json_integer_value(ec) : 0;
		if (code <= 0)
			return 1;
		return code > 125 ? 125 : (int)code;
	}
	if (strcmp(phase, "timed_out") == 0)
		return RUN_EXIT_TIMED_OUT;
	if (strcmp(phase, "killed") == 0)
		return RUN_EXIT_KILLED;
	if (strcmp(phase, "error") == 0)
		return RUN_EXIT_ERROR;
	return CTL_EXIT_FAIL;
}

/* The language a file's name implies, or NULL. */
static const char *
run_language_of(const char *path)
{
	const char *base = strrchr(path, '/'), *dot;

	base = base ? base + 1 : path;
	if ((dot = strrchr(base, '.')) == NULL || dot == base)
		return NULL;
	if (strcmp(dot, ".py") == 0)
		return "python";
	if (strcmp(dot, ".sh") == 0)
		return "sh";
	if (strcmp(dot, ".js") == 0)
		return "node";
	return NULL;
}

/* The code, at most RUN_CODE_MAX bytes of UTF-8 without NUL. */
static json_t *
run_read_code(const struct ctl_ctx *ctx, const char *path)
{
	const char *name = strcmp(path, "-") == 0 ? "standard input" : path;
	size_t len = 0;
	json_t *code = NULL;
	ssize_t n;
	char *buf;
	int fd;

	if ((buf = malloc(RUN_CODE_MAX + 1)) == NULL) {
		fprintf(ctx->err, "enclavectl: out of memory\n");
		return NULL;
	}
	fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		fprintf(ctx->err, "enclavectl: %s: %s\n", path, strerror(errno));
		goto out;
	}
	while (len <= RUN_CODE_MAX &&
	    (n = read(fd, buf + len, RUN_CODE_MAX + 1 - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			fprintf(ctx->err, "enclavectl: %s: %s\n", name, strerror(errno));
			goto out;
		}
		len += (size_t)n;
	}
	if (len > RUN_CODE_MAX)
		fprintf(ctx->err, "enclavectl: %s: larger than %d bytes (1 MiB)\n",
		    name, RUN_CODE_MAX);
	else if (memchr(buf, '\0', len) != NULL)
		fprintf(ctx->err, "enclavectl: %s: contains a NUL byte; not source "
		    "code\n", name);
	else if ((code = json_stringn(buf, len)) == NULL)
		fprintf(ctx->err, "enclavectl: %s: not UTF-8 text\n", name);
out:
	if (fd > STDIN_FILENO)
		close(fd);
	free(buf);
	return code;
}

/* "10", "2.5", "0.25": seconds to milliseconds, at most 86400 s and
 * three decimals; -1 if unusable. No strtod: no locale, no libm. */
static long long
run_parse_seconds(const char *s)
{
	long long ms = 0, scale = 100;
	int digits = 0;

	for (; *s >= '0' && *s <= '9'; s++, digits++) {
		if ((ms = ms * 10 + (*s - '0') * 1000) > 86400000LL)
			return -1;
	}
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9' && scale > 0; s++, digits++) {
			ms += (*s - '0') * scale;
			scale /= 10;
		}
	}
	if (*s != '\0' || digits == 0 || ms <= 0 || ms > 86400000LL)
		return -1;
	return ms;
}

static long long
run_parse_uint(const char *s, long long max)
{
	char *end;
	long long v;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0' || errno != 0 || v < 1 || v > max)
		return -1;
	return v;
}

struct run_opts {
	const char	*file;
	const char	*language;
	const char	*backend;
	long long	 timeout_ms;	/* 0: the daemon's default */
	long long	 memory_mb;
	int		 json;
	json_t		*allow;
	json_t		*bindings;
};

/* 0 parsed, 1 --help shown, -1 usage error (printed). */
static int
run_parse(const struct ctl_ctx *ctx, int argc, char **argv, struct run_opts *o)
{
	const char *val;
	int i, rc, only_files = 0;

	for (i = 1; i < argc; i++) {
		if (!only_files && ctl_is_help(argv[i])) {
			run_usage(ctx->out);
			return 1;
		}
		if (only_files || argv[i][0] != '-' || strcmp(argv[i], "-") == 0) {
			if (o->file != NULL) {
				fprintf(ctx->err, "enclavectl: run takes one FILE\n");
				return -1;
			}
			o->file = argv[i];
			continue;
		}
		if (strcmp(argv[i], "--") == 0) {
			only_files = 1;
			continue;
		}
		if (strcmp(argv[i], "--json") == 0) {
			o->json = 1;
			continue;
		}
		if ((rc = ctl_opt_value(ctx, argc, argv, &i, "--language", &val)) != 0) {
			o->language = val;
		} else if ((rc = ctl_opt_value(ctx, argc, argv, &i, "--backend", &val)) != 0) {
			o->backend = val;
		} else if ((rc = ctl_opt_value(ctx, argc, argv, &i, "--allow", &val)) != 0) {
			if (rc == 1 && json_array_append_new(o->allow, json_string(val)) == -1) {
				fprintf(ctx->err, "enclavectl: --allow %s: not UTF-8\n", val);
				return -1;
			}
		} else if ((rc = ctl_opt_value(ctx, argc, argv, &i, "--binding", &val)) != 0) {
			if (rc == 1 && json_array_append_new(o->bindings, json_string(val)) == -1) {
				fprintf(ctx->err, "enclavectl: --binding %s: not UTF-8\n", val);
				return -1;
			}
		} else if ((rc = ctl_opt_value(ctx, argc, argv, &i, "--timeout", &val)) != 0) {
			if (rc == 1 && (o->timeout_ms = run_parse_seconds(val)) < 0) {
				fprintf(ctx->err, "enclavectl: --timeout %s: want "
				    "seconds, more than 0 and at most 86400, up to 3 "
				    "decimals\n", val);
				return -1;
			}
		} else if ((rc = ctl_opt_value(ctx, argc, argv, &i, "--memory", &val)) != 0) {
			if (rc == 1 && (o->memory_mb = run_parse_uint(val, 1 << 20)) < 0) {
				fprintf(ctx->err, "enclavectl: --memory %s: want MiB, "
				    "1 to 1048576\n", val);
				return -1;
			}
		} else {
			fprintf(ctx->err, "enclavectl: run: unknown option %s "
			    "(see enclavectl run --help)\n", argv[i]);
			return -1;
		}
		if (rc == -1)
			return -1;
	}
	if (o->file == NULL) {
		fprintf(ctx->err, "enclavectl: usage: enclavectl run [OPTIONS] FILE|- "
		    "(see enclavectl run --help)\n");
		return -1;
	}
	if (o->language == NULL && (o->language = run_language_of(o->file)) == NULL) {
		fprintf(ctx->err, "enclavectl: cannot tell the language of %s from its "
		    "name; pass --language python, sh or node\n",
		    strcmp(o->file, "-") == 0 ? "standard input" : o->file);
		return -1;
	}
	return 0;
}

/* The POST body, keys in the order DESIGN.md lists them. */
static json_t *
run_body(const struct run_opts *o, json_t *code)
{
	json_t *body = json_object(), *limits = NULL;

	if (body == NULL)
		goto fail;
	if (json_object_set_new(body, "language", json_string(o->language)) == -1 ||
	    json_object_set(body, "code", code) == -1)
		goto fail;
	if (o->backend != NULL &&
	    json_object_set_new(body, "backend", json_string(o->backend)) == -1)
		goto fail;
	if (json_array_size(o->allow) > 0 &&
	    json_object_set_new(body, "egress", json_pack("{s:O}", "allow",
	    o->allow)) == -1)
		goto fail;
	if (json_array_size(o->bindings) > 0 &&
	    json_object_set(body, "bindings", o->bindings) == -1)
		goto fail;
	if (o->timeout_ms > 0 || o->memory_mb > 0) {
		if ((limits = json_object()) == NULL ||
		    json_object_set_new(body, "limits", limits) == -1)
			goto fail;
		if (o->timeout_ms > 0 && json_object_set_new(limits, "timeout_ms",
		    json_integer(o->timeout_ms)) == -1)
			goto fail;
		if (o->memory_mb > 0 && json_object_set_new(limits, "memory_mb",
		    json_integer(o->memory_mb)) == -1)
			goto fail;
	}
	if (json_object_set_new(body, "wait", json_true()) == -1)
		goto fail;
	return body;
fail:
	json_decref(body);
	return NULL;
}

/* Writes a JSON string's bytes as they are (they may hold anything). */
static void
put_stream(FILE *f, const json_t *s)
{
	if (json_is_string(s) && json_string_length(s) > 0)
		fwrite(json_string_value(s), 1, json_string_length(s), f);
}

static void
run_print(const struct ctl_ctx *ctx, const json_t *ses, int as_json)
{
	const json_t *so = json_object_get(ses, "stdout");
	const json_t *result = json_object_get(ses, "result");
	char *text;

	if (as_json) {
		print_pretty(ctx->out, ses);
		return;
	}
	put_stream(ctx->out, so);
	put_stream(ctx->err, json_object_get(ses, "stderr"));
	if (result != NULL && !json_is_null(result)) {
		if (json_is_string(so) && json_string_length(so) > 0 &&
		    json_string_value(so)[json_string_length(so) - 1] != '\n')
			fputc('\n', ctx->out);
		if ((text = json_dumps(result, JSON_COMPACT | JSON_ENCODE_ANY |
		    JSON_PRESERVE_ORDER)) != NULL) {
			fprintf(ctx->out, "%s\n", text);
			free(text);
		}
	}
	fflush(ctx->out);
}

/* "enclavectl: ses_x succeeded in 412 ms", and notes about cut output. */
static void
run_summary(const struct ctl_ctx *ctx, const json_t *ses)
{
	char *id = field_text(ses, "id"), *phase = field_text(ses, "phase");
	const json_t *wall = json_object_get(json_object_get(ses, "usage"), "wall_ms");
	const json_t *ec = json_object_get(ses, "exit_code");
	const json_t *sig = json_object_get(ses, "signal");
	char took[64] = "", *why;
	const char *p = phase ? phase : "-";

	if (id == NULL || phase == NULL)
		goto out;
	if (json_is_true(json_object_get(ses, "stdout_truncated")))
		fprintf(ctx->err, "enclavectl: %s: stdout was cut at the output limit\n", id);
	if (json_is_true(json_object_get(ses, "stderr_truncated")))
		fprintf(ctx->err, "enclavectl: %s: stderr was cut at the output limit\n", id);
	if (json_is_integer(wall))
		snprintf(took, sizeof(took), " %s %lld ms",
		    strcmp(p, "succeeded") == 0 || strcmp(p, "failed") == 0 ?
		    "in" : "after", (long long)json_integer_value(wall));
	if (strcmp(p, "error") == 0) {
		why = field_text(ses, "error");
		fprintf(ctx->err, "enclavectl: %s error: %s\n", id,
		    why && strcmp(why, "-") != 0 ? why : "(no reason given)");
		free(why);
	} else if (strcmp(p, "failed") == 0 && json_is_integer(ec)) {
		fprintf(ctx->err, "enclavectl: %s failed with exit code %lld%s\n", id,
		    (long long)json_integer_value(ec), took);
	} else if ((strcmp(p, "failed") == 0 || strcmp(p, "killed") == 0) &&
	    json_is_integer(sig)) {
		fprintf(ctx->err, "enclavectl: %s %s by signal %lld%s\n", id, p,
		    (long long)json_integer_value(sig), took);
	} else {
		fprintf(ctx->err, "enclavectl: %s %s%s\n", id, p, took);
	}
out:
	free(id);
	free(phase);
}

/*
 * The daemon answers a waiting POST when the session ends; should an
 * answer come early anyway, ask again until the phase is final or the
 * deadline passes. Returns the final session (a new reference) or NULL.
 */
static json_t *
run_wait(const struct ctl_ctx *ctx, struct apic *c, json_t *ses,
    uint64_t deadline, int *exit_rc)
{
	const char *id = json_string_value(json_object_get(ses, "id"));
	char path[512], msg[1024];
	json_t *next;
	int rc;

	json_incref(ses);
	while (!phase_terminal(json_string_value(json_object_get(ses, "phase")))) {
		if (id == NULL || session_path(ctx, path, sizeof(path), id, "") == -1) {
			*exit_rc = bad_reply(ctx, c, "a session without a usable id");
			goto fail;
		}
		if (clock_monotonic_ms() >= deadline) {
			fprintf(ctx->err, "enclavectl: %s still %s; it may finish later "
			    "(enclavectl get %s)\n", id,
			    json_string_value(json_object_get(ses, "phase")) ?: "?", id);
			*exit_rc = CTL_EXIT_FAIL;
			goto fail;
		}
		(void)poll(NULL, 0, RUN_POLL_MS);
		rc = apic_call(c, "GET", path, NULL, 0, NULL, &next, msg, sizeof(msg));
		if (rc != APIC_OK) {
			fprintf(ctx->err, "enclavectl: %s\n", msg);
			*exit_rc = api_exit(rc);
			goto fail;
		}
		if (!json_is_object(next)) {
			json_decref(next);
			*exit_rc = bad_reply(ctx, c, "expected a session object");
			goto fail;
		}
		json_decref(ses);
		ses = next;
		id = json_string_value(json_object_get(ses, "id"));
	}
	return ses;
fail:
	json_decref(ses);
	return NULL;
}

int
ctl_cmd_run(const struct ctl_ctx *ctx, int argc, char **argv)
{
	struct run_opts o = { .allow = json_array(), .bindings = json_array() };
	json_t *code = NULL, *body = NULL, *ses = NULL, *fin = NULL;
	struct apic c;
	char msg[1024];
	long long wait_ms;
	uint64_t deadline;
	int rc = CTL_EXIT_USAGE, arc;

	if (o.allow == NULL || o.bindings == NULL) {
		fprintf(ctx->err, "enclavectl: out of memory\n");
		goto out;
	}
	if ((arc = run_parse(ctx, argc, argv, &o)) != 0) {
		rc = arc == 1 ? CTL_EXIT_OK : CTL_EXIT_USAGE;
		goto out;
	}
	if ((code = run_read_code(ctx, o.file)) == NULL)
		goto out;
	if ((body = run_body(&o, code)) == NULL) {
		fprintf(ctx->err, "enclavectl: cannot build the request (bad UTF-8 "
		    "in an option?)\n");
		goto out;
	}
	if (ctl_client(ctx, &c) == -1)
		goto out;
	wait_ms = (o.timeout_ms > 0 ? o.timeout_ms : RUN_DEFAULT_TIMEOUT_MS) +
	    RUN_WAIT_GRACE_MS;
	deadline = clock_monotonic_ms() + (uint64_t)wait_ms;
	arc = apic_call(&c, "POST", "/v1/sessions", body, (int)wait_ms, NULL, &ses,
	    msg, sizeof(msg));
	if (arc != APIC_OK) {
		fprintf(ctx->err, "enclavectl: %s\n", msg);
		rc = api_exit(arc);
		goto out;
	}
	if (!json_is_object(ses)) {
		rc = bad_reply(ctx, &c, "expected a session object");
		goto out;
	}
	if ((fin = run_wait(ctx, &c, ses, deadline, &rc)) == NULL)
		goto out;
	run_print(ctx, fin, o.json);
	run_summary(ctx, fin);
	rc = ctl_run_exit(fin);
out:
	json_decref(fin);
	json_decref(ses);
	json_decref(body);
	json_decref(code);
	json_decref(o.allow);
	json_decref(o.bindings);
	return rc;
}

/* ---- ls, get, rm, backends ---- */

/* Commands of the form `NAME [ID]` with only --help as an option. */
static int
simple_args(const struct ctl_ctx *ctx, int argc, char **argv, int want_id,
    const char *usage, const char *about)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (ctl_is_help(argv[i])) {
			fprintf(ctx->out, "usage: %s\n\n%s", usage, about);
			return 1;
		}
	}
	if (argc != 1 + want_id || (want_id && argv[1][0] == '-')) {
		fprintf(ctx->err, "enclavectl: usage: %s\n", usage);
		return -1;
	}
	return 0;
}

int
ctl_cmd_ls(const struct ctl_ctx *ctx, int argc, char **argv)
{
	static const char *const keys[] = { "id", "backend", "phase", "created_at" };
	static const char *const header[] = { "ID", "BACKEND", "PHASE", "CREATED" };
	json_t *reply = NULL, *list;
	struct apic c;
	char msg[1024];
	int rc, arc;

	if ((arc = simple_args(ctx, argc, argv, 0, "enclavectl ls",
	    "Lists your sessions (the tenant your socket peer or API key maps to):\n"
	    "id, backend, phase and when each was created.\n")) != 0)
		return arc == 1 ? CTL_EXIT_OK : CTL_EXIT_USAGE;
	if (ctl_client(ctx, &c) == -1)
		return CTL_EXIT_USAGE;
	if ((arc = apic_call(&c, "GET", "/v1/sessions", NULL, 0, NULL, &reply,
	    msg, sizeof(msg))) != APIC_OK) {
		fprintf(ctx->err, "enclavectl: %s\n", msg);
		return api_exit(arc);
	}
	list = json_object_get(reply, "sessions");
	if (!json_is_array(list))
		rc = bad_reply(ctx, &c, "no \"sessions\" list");
	else
		rc = print_objects(ctx, list, 4, keys, header) == 0 ?
		    CTL_EXIT_OK : CTL_EXIT_USAGE;
	json_decref(reply);
	return rc;
}

int
ctl_cmd_get(const struct ctl_ctx *ctx, int argc, char **argv)
{
	json_t *reply = NULL;
	char path[512], msg[1024];
	struct apic c;
	int arc;

	if ((arc = simple_args(ctx, argc, argv, 1, "enclavectl get ID",
	    "Prints one session as the API returns it: phase, exit code, result,\n"
	    "stdout, stderr, usage and times, as indented JSON.\n")) != 0)
		return arc == 1 ? CTL_EXIT_OK : CTL_EXIT_USAGE;
	if (session_path(ctx, path, sizeof(path), argv[1], "") == -1 ||
	    ctl_client(ctx, &c) == -1)
		return CTL_EXIT_USAGE;
	if ((arc = apic_call(&c, "GET", path, NULL, 0, NULL, &reply, msg,
	    sizeof(msg))) != APIC_OK) {
		fprintf(ctx->err, "enclavectl: %s\n", msg);
		return api_exit(arc);
	}
	if (!json_is_object(reply)) {
		json_decref(reply);
		return bad_reply(ctx, &c, "expected a session object");
	}
	print_pretty(ctx->out, reply);
	json_decref(reply);
	return CTL_EXIT_OK;
}

int
ctl_cmd_rm(const struct ctl_ctx *ctx, int argc, char **argv)
{
	json_t *reply = NULL;
	char path[512], msg[1024];
	struct apic c;
	int arc;

	if ((arc = simple_args(ctx, argc, argv, 1, "enclavectl rm ID",
	    "Kills the session if it still runs, tears its sandbox and network\n"
	    "down, and removes it. The audit log keeps its events. Prints ID.\n")) != 0)
		return arc == 1 ? CTL_EXIT_OK : CTL_EXIT_USAGE;
	if (session_path(ctx, path, sizeof(path), argv[1], "") == -1 ||
	    ctl_client(ctx, &c) == -1)
		return CTL_EXIT_USAGE;
	if ((arc = apic_call(&c, "DELETE", path, NULL, 0, NULL, &reply, msg,
	    sizeof(msg))) != APIC_OK) {
		fprintf(ctx->err, "enclavectl: %s\n", msg);
		return api_exit(arc);
	}
	json_decref(reply);
	fprintf(ctx->out, "%s\n", argv[1]);
	return CTL_EXIT_OK;
}

int
ctl_cmd_backends(const struct ctl_ctx *ctx, int argc, char **argv)
{
	static const char *const keys[] = { "name", "isolation", "available", "reason" };
	static const char *const header[] = { "NAME", "ISOLATION", "AVAILABLE", "REASON" };
	json_t *reply = NULL, *list;
	struct apic c;
	char msg[1024];
	int rc, arc;

	if ((arc = simple_args(ctx, argc, argv, 0, "enclavectl backends",
	    "Lists the sandbox backends sessiond knows: name, isolation technology,\n"
	    "whether it can run on this machine, and if not, why.\n")) != 0)
		return arc == 1 ? CTL_EXIT_OK : CTL_EXIT_USAGE;
	if (ctl_client(ctx, &c) == -1)
		return CTL_EXIT_USAGE;
	if ((arc = apic_call(&c, "GET", "/v1/backends", NULL, 0, NULL, &reply,
	    msg, sizeof(msg))) != APIC_OK) {
		fprintf(ctx->err, "enclavectl: %s\n", msg);
		return api_exit(arc);
	}
	/* {"backends":[…]}, or the bare list DESIGN.md's table shows. */
	list = json_is_array(reply) ? reply : json_object_get(reply, "backends");
	if (!json_is_array(list))
		rc = bad_reply(ctx, &c, "no \"backends\" list");
	else
		rc = print_objects(ctx, list, 4, keys, header) == 0 ?
		    CTL_EXIT_OK : CTL_EXIT_USAGE;
	json_decref(reply);
	return rc;
}

/* ---- audit ---- */

int
ctl_cmd_audit_session(const struct ctl_ctx *ctx, int argc, char **argv)
{
	static const char usage[] = "enclavectl audit ID [--json]";
	struct httpc_response raw = { 0 };
	json_t *reply = NULL, *events, *ev;
	const char *id = NULL;
	char path[512], msg[1024], *seq, *ts, *type, *data;
	struct apic c;
	int i, as_json = 0, arc, rc = CTL_EXIT_USAGE;
	size_t k;

	for (i = 1; i < argc; i++) {
		if (ctl_is_help(argv[i])) {
			fprintf(ctx->out, "usage: %s\n\nPrints the session's audit "
			    "events in order, one a line: seq, time, type and data.\n"
			    "--json prints the API's answer as it came.\n", usage);
			return CTL_EXIT_OK;
		}
		if (strcmp(argv[i], "--json") == 0)
			as_json = 1;
		else if (argv[i][0] != '-' && id == NULL)
			id = argv[i];
		else
			id = "";
	}
	if (id == NULL || id[0] == '\0') {
		fprintf(ctx->err, "enclavectl: usage: %s | enclavectl audit verify "
		    "[FILE]\n", usage);
		return CTL_EXIT_USAGE;
	}
	if (session_path(ctx, path, sizeof(path), id, "/audit") == -1 ||
	    ctl_client(ctx, &c) == -1)
		return CTL_EXIT_USAGE;
	if (as_json) {
		if ((arc = apic_call_raw(&c, "GET", path, 0, &raw, msg,
		    sizeof(msg))) != APIC_OK) {
			fprintf(ctx->err, "enclavectl: %s\n", msg);
			return api_exit(arc);
		}
		fwrite(raw.body, 1, raw.body_len, ctx->out);
		if (raw.body_len == 0 || raw.body[raw.body_len - 1] != '\n')
			fputc('\n', ctx->out);
		httpc_response_clear(&raw);
		return CTL_EXIT_OK;
	}
	if ((arc = apic_call(&c, "GET", path, NULL, 0, NULL, &reply, msg,
	    sizeof(msg))) != APIC_OK) {
		fprintf(ctx->err, "enclavectl: %s\n", msg);
		return api_exit(arc);
	}
	if (!json_is_array(events = json_object_get(reply, "events"))) {
		rc = bad_reply(ctx, &c, "no \"events\" list");
		goto out;
	}
	json_array_foreach(events, k, ev) {
		seq = field_text(ev, "seq");
		ts = field_text(ev, "ts");
		type = field_text(ev, "type");
		/* ASCII only: the data quotes what a workload sent. */
		data = json_dumps(json_object_get(ev, "data") ?: json_null(),
		    JSON_COMPACT | JSON_ENCODE_ANY | JSON_ENSURE_ASCII |
		    JSON_PRESERVE_ORDER);
		if (seq && ts && type && data)
			fprintf(ctx->out, "%s %s %s %s\n", seq, ts, type, data);
		free(seq);
		free(ts);
		free(type);
		free(data);
	}
	rc = CTL_EXIT_OK;
out:
	json_decref(reply);
	return rc;
}

int
ctl_cmd_audit_verify_remote(const struct ctl_ctx *ctx)
{
	struct audit_verify_result res;
	struct httpc_response raw = { 0 };
	char msg[1024], name[700];
	struct apic c;
	int arc, rc;

	if (ctl_client(ctx, &c) == -1)
		return CTL_EXIT_USAGE;
	/* The whole log can be large and slow to read; give it time. */
	if ((arc = apic_call_raw(&c, "GET", "/v1/audit?format=jsonl", 60000,
	    &raw, msg, sizeof(msg))) != APIC_OK) {
		fprintf(ctx->err, "enclavectl: %s\n", msg);
		return api_exit(arc);
	}
	snprintf(name, sizeof(name), "audit log of %s", c.ep.display);
	rc = audit_verify_buf(raw.body, raw.body_len, &res);
	rc = ctl_verify_report(ctx, name, rc, &res);
	httpc_response_clear(&raw);
	return rc;
}
