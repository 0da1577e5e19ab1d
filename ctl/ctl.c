#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/audit.h"
#include "ctl/api.h"
#include "ctl/ctl.h"
#include "netns/ns.h"
#include "rules/dump.h"

static void
ctl_usage(FILE *f)
{
	fprintf(f,
	    "usage: enclavectl [--socket PATH | --url URL] [--api-key KEY] COMMAND [ARGS]\n"
	    "\n"
	    "sessions (ask enclave-sessiond):\n"
	    "  run [OPTIONS] FILE|-  run code in a sandbox, wait for it, print its stdout,\n"
	    "                      stderr and result; exits with the workload's status\n"
	    "  ls                  list your sessions\n"
	    "  get ID              print one session as JSON\n"
	    "  audit ID [--json]   print one session's audit events, one a line\n"
	    "  rm ID               kill a session and tear it down\n"
	    "  backends            list the sandbox backends and whether they run here\n"
	    "\n"
	    "audit log:\n"
	    "  audit verify FILE   check an audit log's hash chain; names the first bad line\n"
	    "  audit verify        the same for the daemon's log, fetched over the API\n"
	    "\n"
	    "enforcement:\n"
	    "  rules dump [--json] [--netns NAME]\n"
	    "                      print the live enforcement table (inet enclave) as nft\n"
	    "                      prints it; --netns reads it in the named appliance netns\n"
	    "\n"
	    "test lab and demo:\n"
	    "  lab up [--name N] [ARGS...]  boot a throw-away appliance in namespaces\n"
	    "  lab down NAME       tear it down again\n"
	    "  demo backend-parity one hostile workload on every backend, one verdict;\n"
	    "                      writes evidence/backend-parity-report.{json,md}\n"
	    "\n"
	    "  version             print the version\n"
	    "  help                this text\n"
	    "\n"
	    "global options (before or after the command):\n"
	    "  --socket PATH       sessiond's unix socket (env ENCLAVE_SOCKET;\n"
	    "                      default " APIC_DEFAULT_SOCKET ")\n"
	    "  --url URL           sessiond over TCP: http://HOST:PORT (env ENCLAVE_URL)\n"
	    "  --api-key KEY       bearer key for the TCP listener (env ENCLAVE_API_KEY;\n"
	    "                      prefer it: other users can read command lines)\n"
	    "\n"
	    "exit status: 0 ok; 1 the command ran and found a problem; 2 usage error,\n"
	    "or sessiond could not be reached. `enclavectl COMMAND --help` tells more.\n");
}

int
ctl_is_help(const char *s)
{
	return strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0;
}

int
ctl_opt_value(const struct ctl_ctx *ctx, int argc, char **argv, int *i,
    const char *name, const char **val)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	if (strncmp(a, name, n) != 0)
		return 0;
	if (a[n] == '=') {
		*val = a + n + 1;
		return 1;
	}
	if (a[n] != '\0')
		return 0;
	if (*i + 1 >= argc) {
		fprintf(ctx->err, "enclavectl: %s needs a value\n", name);
		return -1;
	}
	*val = argv[++*i];
	return 1;
}

static const char *
env_nonempty(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

int
ctl_client(const struct ctl_ctx *ctx, struct apic *c)
{
	static const char hint_sock[] =
	    "is enclave-sessiond running? use --socket or ENCLAVE_SOCKET";
	static const char hint_url[] =
	    "is enclave-sessiond listening there? check --url or ENCLAVE_URL";
	const char *spec, *from, *key;
	char msg[512];

	if (ctx->url != NULL) {
		spec = ctx->url;
		from = "--url";
	} else if (ctx->socket != NULL) {
		spec = ctx->socket;
		from = "--socket";
	} else if ((spec = env_nonempty("ENCLAVE_URL")) != NULL) {
		from = "ENCLAVE_URL";
	} else if ((spec = env_nonempty("ENCLAVE_SOCKET")) != NULL) {
		from = "ENCLAVE_SOCKET";
	} else {
		spec = APIC_DEFAULT_SOCKET;
		from = "default socket";
	}
	/* A bare relative path is a socket too; only the URL form says TCP. */
	if (strcmp(from, "--socket") == 0 || strcmp(from, "ENCLAVE_SOCKET") == 0) {
		if (spec[0] != '/' && strncmp(spec, "unix:", 5) != 0) {
			fprintf(ctx->err, "enclavectl: %s: %s: the socket path must be "
			    "absolute\n", from, spec);
			return -1;
		}
	}
	key = ctx->api_key != NULL ? ctx->api_key : env_nonempty("ENCLAVE_API_KEY");
	if (apic_init(c, spec, key, strncmp(spec, "http", 4) == 0 ? hint_url :
	    hint_sock, msg, sizeof(msg)) == -1) {
		fprintf(ctx->err, "enclavectl: %s: %s\n", from, msg);
		return -1;
	}
	return 0;
}

int
ctl_verify_report(const struct ctl_ctx *ctx, const char *name, int rc,
    const struct audit_verify_result *res)
{
	if (rc == 0) {
		fprintf(ctx->out, "%s: %llu events, chain intact (last seq %llu, hash %s)\n",
		    name, (unsigned long long)res->events,
		    (unsigned long long)res->last_seq, res->last_hash);
		return CTL_EXIT_OK;
	}
	if (res->bad_line == 0) {
		fprintf(ctx->err, "enclavectl: %s: %s\n", name, res->message);
		return CTL_EXIT_USAGE;
	}
	fprintf(ctx->out, "%s: DAMAGED: %s (%llu good events before it)\n", name,
	    res->message, (unsigned long long)res->events);
	return CTL_EXIT_FAIL;
}

static void
audit_usage(FILE *f)
{
	fprintf(f,
	    "usage: enclavectl audit ID [--json]\n"
	    "       enclavectl audit verify [FILE]\n"
	    "\n"
	    "audit ID prints a session's audit events, one a line: seq, time, type\n"
	    "and data; --json prints the API's answer as it came.\n"
	    "\n"
	    "audit verify FILE checks a log's hash chain (seq, prev and hash of every\n"
	    "line) and names the first bad line. Without FILE it fetches the daemon's\n"
	    "whole log (operator only) and checks that.\n"
	    "\n"
	    "exit: 0 intact, 1 damaged or the daemon refused, 2 unreadable or unreachable.\n");
}

/* Exit 0 intact, 1 damaged (the message names the line), 2 unreadable. */
static int
ctl_audit(const struct ctl_ctx *ctx, int argc, char **argv)
{
	struct audit_verify_result res;
	int rc;

	if (argc >= 2 && ctl_is_help(argv[1])) {
		audit_usage(ctx->out);
		return CTL_EXIT_OK;
	}
	if (argc >= 2 && strcmp(argv[1], "verify") == 0) {
		if (argc == 3 && ctl_is_help(argv[2])) {
			audit_usage(ctx->out);
			return CTL_EXIT_OK;
		}
		if (argc == 2)
			return ctl_cmd_audit_verify_remote(ctx);
		if (argc == 3) {
			rc = audit_verify_file(argv[2], &res);
			return ctl_verify_report(ctx, argv[2], rc, &res);
		}
	} else if (argc >= 2) {
		return ctl_cmd_audit_session(ctx, argc, argv);
	}
	fprintf(ctx->err, "enclavectl: usage: enclavectl audit ID [--json] | "
	    "audit verify [FILE]\n");
	return CTL_EXIT_USAGE;
}

static void
rules_usage(FILE *f)
{
	fprintf(f,
	    "usage: enclavectl rules dump [--json] [--netns NAME]\n"
	    "\n"
	    "Prints the live enforcement table (table inet enclave) as the kernel holds\n"
	    "it, rendered by nft itself so it diffs against `nft list table inet enclave`;\n"
	    "--json in nft's JSON. --netns reads it inside the named appliance netns.\n"
	    "Needs CAP_NET_ADMIN (and CAP_SYS_ADMIN for --netns).\n");
}

/* Prints the table as the kernel holds it now; the rendering is nft's own,
 * so auditors can diff it against `nft list table inet enclave`. */
static int
ctl_rules_dump(const struct ctl_ctx *ctx, int argc, char **argv)
{
	enum rules_dump_format fmt = RULES_DUMP_TEXT;
	const char *netns = NULL;
	char msg[512], *text = NULL;
	int i, nsfd = -1, saved = -1, rc;

	for (i = 2; i < argc; i++) {
		if (ctl_is_help(argv[i])) {
			rules_usage(ctx->out);
			return CTL_EXIT_OK;
		} else if (strcmp(argv[i], "--json") == 0) {
			fmt = RULES_DUMP_JSON;
		} else if (strcmp(argv[i], "--netns") == 0 && i + 1 < argc) {
			netns = argv[++i];
		} else {
			fprintf(ctx->err, "enclavectl: usage: enclavectl rules dump [--json] [--netns NAME]\n");
			return CTL_EXIT_USAGE;
		}
	}
	if (netns != NULL) {
		if ((nsfd = netns_open(netns, msg, sizeof(msg))) < 0) {
			fprintf(ctx->err, "enclavectl: %s\n", msg);
			return CTL_EXIT_USAGE;
		}
		if ((rc = netns_enter(nsfd, &saved)) < 0) {
			fprintf(ctx->err, "enclavectl: enter netns %s: %s\n", netns, strerror(-rc));
			close(nsfd);
			return CTL_EXIT_USAGE;
		}
	}
	rc = rules_dump(fmt, &text, msg, sizeof(msg));
	if (netns != NULL) {
		/* Still in the other netns if this fails; stop rather than act there. */
		if (netns_leave(saved) < 0) {
			fprintf(ctx->err, "enclavectl: cannot return from netns %s\n", netns);
			free(text);
			close(nsfd);
			return CTL_EXIT_USAGE;
		}
		close(nsfd);
	}
	if (rc == -1) {
		fprintf(ctx->err, "enclavectl: %s\n", msg);
		return CTL_EXIT_FAIL;
	}
	fputs(text, ctx->out);
	free(text);
	return CTL_EXIT_OK;
}

static int
ctl_rules(const struct ctl_ctx *ctx, int argc, char **argv)
{
	if (argc >= 2 && ctl_is_help(argv[1])) {
		rules_usage(ctx->out);
		return CTL_EXIT_OK;
	}
	if (argc >= 2 && strcmp(argv[1], "dump") == 0)
		return ctl_rules_dump(ctx, argc, argv);
	fprintf(ctx->err, "enclavectl: usage: enclavectl rules dump [--json] [--netns NAME]\n");
	return CTL_EXIT_USAGE;
}

/*
 * Takes the global options out of argv (anywhere before "--", and before
 * the command word of `lab`, whose arguments belong to the lab script) and
 * leaves the rest in args[0..*nargs). -1 when one is malformed (printed).
 */
static int
ctl_globals(struct ctl_ctx *ctx, int argc, char **argv, char **args,
    int *nargs)
{
	const char *val;
	int i, n = 0, rc, verbatim = 0, cmd_seen = 0;

	for (i = 1; i < argc; i++) {
		if (verbatim || strcmp(argv[i], "--") == 0) {
			verbatim = 1;
			args[n++] = argv[i];
			continue;
		}
		if ((rc = ctl_opt_value(ctx, argc, argv, &i, "--socket", &val)) != 0) {
			if (rc == -1)
				return -1;
			ctx->socket = val;
		} else if ((rc = ctl_opt_value(ctx, argc, argv, &i, "--url", &val)) != 0) {
			if (rc == -1)
				return -1;
			ctx->url = val;
		} else if ((rc = ctl_opt_value(ctx, argc, argv, &i, "--api-key", &val)) != 0) {
			if (rc == -1)
				return -1;
			ctx->api_key = val;
		} else {
			if (!cmd_seen && argv[i][0] != '-' && strcmp(argv[i], "lab") == 0)
				verbatim = 1;
			if (argv[i][0] != '-')
				cmd_seen = 1;
			args[n++] = argv[i];
		}
	}
	if (ctx->socket != NULL && ctx->url != NULL) {
		fprintf(ctx->err, "enclavectl: --socket and --url exclude each other\n");
		return -1;
	}
	if ((ctx->socket != NULL && ctx->socket[0] == '\0') ||
	    (ctx->url != NULL && ctx->url[0] == '\0')) {
		fprintf(ctx->err, "enclavectl: --socket and --url need a non-empty value\n");
		return -1;
	}
	args[n] = NULL;
	*nargs = n;
	return 0;
}

static int
ctl_dispatch(const struct ctl_ctx *ctx, int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(const struct ctl_ctx *, int, char **);
	} cmds[] = {
		{ "run", ctl_cmd_run },
		{ "ls", ctl_cmd_ls },
		{ "get", ctl_cmd_get },
		{ "rm", ctl_cmd_rm },
		{ "backends", ctl_cmd_backends },
		{ "audit", ctl_audit },
		{ "rules", ctl_rules },
		{ "lab", ctl_cmd_lab },
		{ "demo", ctl_cmd_demo },
	};
	const char *cmd;
	size_t i;

	if (argc < 1) {
		ctl_usage(ctx->err);
		return CTL_EXIT_USAGE;
	}
	cmd = argv[0];
	if (strcmp(cmd, "help") == 0 || ctl_is_help(cmd)) {
		ctl_usage(ctx->out);
		return CTL_EXIT_OK;
	}
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		fprintf(ctx->out, "enclavectl %s\n", PACKAGE_VERSION);
		return CTL_EXIT_OK;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmd, cmds[i].name) == 0)
			return cmds[i].fn(ctx, argc, argv);
	fprintf(ctx->err, "enclavectl: unknown command \"%s\" (try: enclavectl help)\n", cmd);
	return CTL_EXIT_USAGE;
}

int
ctl_main(int argc, char **argv, FILE *out, FILE *err)
{
	struct ctl_ctx ctx = { .out = out, .err = err };
	char **args;
	int nargs, rc;

	if ((args = calloc((size_t)argc + 1, sizeof(*args))) == NULL) {
		fprintf(err, "enclavectl: out of memory\n");
		return CTL_EXIT_USAGE;
	}
	if (ctl_globals(&ctx, argc, argv, args, &nargs) == -1)
		rc = CTL_EXIT_USAGE;
	else
		rc = ctl_dispatch(&ctx, nargs, args);
	free(args);
	return rc;
}
