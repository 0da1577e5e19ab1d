#include <string.h>

#include "common/audit.h"
#include "config.h"
#include "ctl/ctl.h"

static void
ctl_usage(FILE *f)
{
	fprintf(f,
	    "usage: enclavectl COMMAND [ARGS]\n"
	    "\n"
	    "commands:\n"
	    "  audit verify FILE   check an audit log's hash chain; names the first bad line\n"
	    "  version             print the version\n"
	    "  help                this text\n");
}

/* Exit 0 intact, 1 damaged (the message names the line), 2 unreadable. */
static int
ctl_audit_verify(const char *path, FILE *out, FILE *err)
{
	struct audit_verify_result res;

	if (audit_verify_file(path, &res) == 0) {
		fprintf(out, "%s: %llu events, chain intact (last seq %llu, hash %s)\n",
		    path, (unsigned long long)res.events,
		    (unsigned long long)res.last_seq, res.last_hash);
		return CTL_EXIT_OK;
	}
	if (res.bad_line == 0) {
		fprintf(err, "enclavectl: %s: %s\n", path, res.message);
		return CTL_EXIT_USAGE;
	}
	fprintf(out, "%s: DAMAGED: %s (%llu good events before it)\n", path,
	    res.message, (unsigned long long)res.events);
	return CTL_EXIT_FAIL;
}

static int
ctl_audit(int argc, char **argv, FILE *out, FILE *err)
{
	if (argc == 3 && strcmp(argv[1], "verify") == 0)
		return ctl_audit_verify(argv[2], out, err);
	fprintf(err, "enclavectl: usage: enclavectl audit verify FILE\n");
	return CTL_EXIT_USAGE;
}

int
ctl_main(int argc, char **argv, FILE *out, FILE *err)
{
	const char *cmd;

	if (argc < 2) {
		ctl_usage(err);
		return CTL_EXIT_USAGE;
	}
	cmd = argv[1];
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ||
	    strcmp(cmd, "-h") == 0) {
		ctl_usage(out);
		return CTL_EXIT_OK;
	}
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		fprintf(out, "enclavectl %s\n", PACKAGE_VERSION);
		return CTL_EXIT_OK;
	}
	if (strcmp(cmd, "audit") == 0)
		return ctl_audit(argc - 1, argv + 1, out, err);
	fprintf(err, "enclavectl: unknown command \"%s\" (try: enclavectl help)\n", cmd);
	return CTL_EXIT_USAGE;
}
