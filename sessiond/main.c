/* enclave-sessiond: the control plane (sessiond/daemon.c does the work). */
#include <config.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "sessiond/daemon.h"
#include "sessiond/sdconfig.h"
#include "sessiond/sessiond.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: enclave-sessiond -c CONFIG [-t] [-d]\n"
	    "\n"
	    "  -c CONFIG  configuration file (see contrib/sessiond.conf.example)\n"
	    "  -t         check the configuration and exit\n"
	    "  -d         log debug messages\n"
	    "\n"
	    "Runs as root: it creates network namespaces, nft rules and "
	    "cgroups.\n"
	    "Stops on SIGTERM or SIGINT after ending every session.\n");
}

int
main(int argc, char **argv)
{
	struct sessiond sd;
	struct sdconfig *cfg = NULL;
	const char *path = NULL;
	char err[1024];
	int c, test = 0, debug = 0, rc = 1;

	while ((c = getopt(argc, argv, "c:tdh")) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 't':
			test = 1;
			break;
		case 'd':
			debug = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (path == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	log_init("enclave-sessiond", 0, debug ? LOG_LEVEL_DEBUG :
	    LOG_LEVEL_INFO);
	if (sdconfig_load(path, &cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "enclave-sessiond: %s\n", err);
		return 2;
	}
#ifdef ENCLAVE_HELPERS_DIR
	if (!cfg->helpers_dir_given)
		snprintf(cfg->helpers_dir, sizeof(cfg->helpers_dir), "%s",
		    ENCLAVE_HELPERS_DIR);
#endif
	if (test) {
		printf("enclave-sessiond: %s: configuration ok\n", path);
		sdconfig_free(cfg);
		return 0;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "enclave-sessiond: must run as root (it creates "
		    "network namespaces, nft rules and cgroups)\n");
		sdconfig_free(cfg);
		return 2;
	}
	/* The sandbox's root is built with explicit modes that assume it: a
	 * stricter inherited umask would make /opt/enclave unreadable. */
	umask(022);
	/* evhttp writes to callers that may have gone. */
	signal(SIGPIPE, SIG_IGN);
	if (sessiond_init(&sd, cfg, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		goto out;
	}
	rc = sessiond_run(&sd) == 0 ? 0 : 1;
out:
	sessiond_fini(&sd);
	sdconfig_free(cfg);
	return rc;
}
