#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/audit.h"
#include <config.h>
#include "ctl/ctl.h"
#include "netns/ns.h"
#include "rules/dump.h"

static void
ctl_usage(FILE *f)
{
	fprintf(f,
	    "usage: enclavectl COMMAND [ARGS]\n"
	    "\n"
	    "commands:\n"
	    "  audit verify FILE   check an audit log's hash chain; names the first bad line\n"
	    "  rules dump [--json] [--netns NAME]\n"
	    "                      print the live enforcement table (inet enclave) as nft\n"
	    "                      prints it; --netns reads it in the named appliance netns\n"
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

/* Prints the table as the kernel holds it now; the rendering is nft's own,
 * so auditors can diff it against `nft list table inet enclave`. */
static int
ctl_rules_dump(int argc, char **argv, FILE *out, FILE *err)
{
	enum rules_dump_format fmt = RULES_DUMP_TEXT;
	const char *netns = NULL;
	char msg[512], *text = NULL;
	int i, nsfd = -1, saved = -1, rc;

	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			fmt = RULES_DUMP_JSON;
		} else if (strcmp(argv[i], "--netns") == 0 && i + 1 < argc) {
			netns = argv[++i];
		} else {
			fprintf(err, "enclavectl: usage: enclavectl rules dump [--json] [--netns NAME]\n");
			return CTL_EXIT_USAGE;
		}
	}
	if (netns != NULL) {
		if ((nsfd = netns_open(netns, msg, sizeof(msg))) < 0) {
			fprintf(err, "enclavectl: %s\n", msg);
			return CTL_EXIT_USAGE;
		}
		if ((rc = netns_enter(nsfd, &saved)) < 0) {
			fprintf(err, "enclavectl: enter netns %s: %s\n", netns, strerror(-rc));
			close(nsfd);
			return CTL_EXIT_USAGE;
		}
	}
	rc = rules_dump(fmt, &text, msg, sizeof(msg));
	if (netns != NULL) {
		/* Still in the other netns if this fails; stop rather than act there. */
		if (netns_leave(saved) < 0) {
			fprintf(err, "enclavectl: cannot return from netns %s\n", netns);
			free(text);
			close(nsfd);
			return CTL_EXIT_USAGE;
		}
		close(nsfd);
	}
	if (rc == -1) {
		fprintf(err, "enclavectl: %s\n", msg);
		return CTL_EXIT_FAIL;
	}
	fputs(text, out);
	free(text);
	return CTL_EXIT_OK;
}

static int
ctl_rules(int argc, char **argv, FILE *out, FILE *err)
{
	if (argc >= 2 && strcmp(argv[1], "dump") == 0)
		return ctl_rules_dump(argc, argv, out, err);
	fprintf(err, "enclavectl: usage: enclavectl rules dump [--json] [--netns NAME]\n");
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
	if (strcmp(cmd, "rules") == 0)
		return ctl_rules(argc - 1, argv + 1, out, err);
	fprintf(err, "enclavectl: unknown command \"%s\" (try: enclavectl help)\n", cmd);
	return CTL_EXIT_USAGE;
}
