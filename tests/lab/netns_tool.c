/*
 * netns-tool: drives netns/ from the lab tests. --appliance NS names the
 * appliance (lab) netns; the tool itself stays where it is and reaches NS
 * and the session namespaces through netlink sockets bound to them. Don't
 * run it under `ip netns exec`: that gives it a private (slave) mount
 * namespace, so the session netns bind mounts it makes would vanish with
 * it. Session namespaces are named ones in /run/netns, as `ip netns add`
 * makes them.
 *
 *   netns-tool setup --appliance NS --name NS --host-if IF --sess-if IF
 *       --pool CIDR [--ipv6] [--host-addr A --sess-addr B]
 *   netns-tool teardown --appliance NS --name NS --host-if IF
 *   netns-tool scan --appliance NS --pool CIDR
 *
 * Without --appliance the current netns is the appliance.
 *
 * setup rebuilds the pool from the addresses on the appliance's links
 * (as a restarted daemon would) and takes the lowest free pair, unless
 * --host-addr/--sess-addr force one (a non-pair forces a late failure, for
 * the unwind test). Output is key=value lines; errors go to stderr, exit 1.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ip.h"
#include "common/log.h"
#include "netns/addrpool.h"
#include "netns/link.h"
#include "netns/ns.h"
#include "netns/rtnl.h"
#include "netns/session.h"

struct tool_opts {
	int appliance_nsfd;
	const char *name, *host_if, *sess_if, *pool, *host_addr, *sess_addr;
	bool ipv6;
};

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: netns-tool setup [--appliance NS] --name NS --host-if IF "
	    "--sess-if IF\n"
	    "           --pool CIDR [--ipv6] [--host-addr A --sess-addr B]\n"
	    "       netns-tool teardown [--appliance NS] --name NS --host-if IF\n"
	    "       netns-tool scan [--appliance NS] --pool CIDR\n");
	exit(2);
}

static int
tool_mark(const struct rtnl_addr *a, void *data)
{
	int rc = addrpool_mark_used(data, &a->local);

	return rc == -ERANGE ? 0 : rc;
}

/* The pool as a restarted daemon rebuilds it: every pair on our links. */
static int
tool_scan_pool(struct addrpool *pool, const char *cidr, int nsfd)
{
	char err[256];
	struct rtnl r;
	int rc;

	if (addrpool_init(pool, cidr, err, sizeof(err)) < 0) {
		fprintf(stderr, "netns-tool: %s\n", err);
		return -1;
	}
	if ((rc = rtnl_open(&r, nsfd)) < 0) {
		fprintf(stderr, "netns-tool: open rtnetlink: %s\n",
		    strerror(-rc));
		return -1;
	}
	rc = link_addr_dump(&r, tool_mark, pool, err, sizeof(err));
	rtnl_close(&r);
	if (rc < 0) {
		fprintf(stderr, "netns-tool: %s\n", err);
		return -1;
	}
	return 0;
}

static int
tool_addr(const char *s, struct ip_addr *a)
{
	const char *why;

	if (ip_parse(s, strlen(s), a, &why) == -1) {
		fprintf(stderr, "netns-tool: %s: %s\n", s, why);
		return -1;
	}
	return 0;
}

static int
cmd_setup(const struct tool_opts *o)
{
	struct netns_session_cfg cfg = { .appliance_nsfd = o->appliance_nsfd };
	struct netns_session s;
	struct addrpool_pair pair;
	struct addrpool pool;
	char err[512], h[IP_STRLEN], x[IP_STRLEN];

	if (o->name == NULL || o->host_if == NULL || o->sess_if == NULL ||
	    (o->pool == NULL && o->host_addr == NULL) ||
	    (o->host_addr == NULL) != (o->sess_addr == NULL))
		usage();
	if (o->host_addr != NULL) {
		if (tool_addr(o->host_addr, &pair.host) < 0 ||
		    tool_addr(o->sess_addr, &pair.sess) < 0)
			return 1;
	} else {
		if (tool_scan_pool(&pool, o->pool, o->appliance_nsfd) < 0)
			return 1;
		if (addrpool_alloc(&pool, &pair) < 0) {
			fprintf(stderr, "netns-tool: pool %s exhausted\n",
			    o->pool);
			return 1;
		}
	}
	cfg.name = o->name;
	cfg.host_if = o->host_if;
	cfg.sess_if = o->sess_if;
	cfg.host_addr = pair.host;
	cfg.sess_addr = pair.sess;
	cfg.ipv6_enabled = o->ipv6;
	if (netns_session_setup(&cfg, &s, err, sizeof(err)) < 0) {
		fprintf(stderr, "netns-tool: setup: %s\n", err);
		return 1;
	}
	if (ip_format(&pair.host, h, sizeof(h)) == -1 ||
	    ip_format(&pair.sess, x, sizeof(x)) == -1)
		return 1;
	printf("name=%s\nhost_if=%s\nsess_if=%s\nhost_addr=%s\nsess_addr=%s\n",
	    o->name, o->host_if, o->sess_if, h, x);
	return 0;
}

static int
cmd_teardown(const struct tool_opts *o)
{
	struct netns_session s;
	char err[512];

	if (o->name == NULL || o->host_if == NULL)
		usage();
	if (netns_session_init(&s, o->appliance_nsfd, o->name, o->host_if, err,
	    sizeof(err)) < 0 || netns_session_teardown(&s, err,
	    sizeof(err)) < 0) {
		fprintf(stderr, "netns-tool: teardown: %s\n", err);
		return 1;
	}
	return 0;
}

static int
cmd_scan(const struct tool_opts *o)
{
	struct addrpool_pair pair;
	struct addrpool pool;
	char h[IP_STRLEN], x[IP_STRLEN];
	uint32_t k;

	if (o->pool == NULL)
		usage();
	if (tool_scan_pool(&pool, o->pool, o->appliance_nsfd) < 0)
		return 1;
	for (k = 0; k < addrpool_size(&pool); k++) {
		if (addrpool_pair_at(&pool, k, &pair) < 0)
			return 1;
		if (addrpool_in_use(&pool, &pair.host) != 1)
			continue;
		if (ip_format(&pair.host, h, sizeof(h)) == -1 ||
		    ip_format(&pair.sess, x, sizeof(x)) == -1)
			return 1;
		printf("%s %s\n", h, x);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "host-if", required_argument, NULL, 'h' },
		{ "sess-if", required_argument, NULL, 's' },
		{ "pool", required_argument, NULL, 'p' },
		{ "host-addr", required_argument, NULL, 'H' },
		{ "sess-addr", required_argument, NULL, 'S' },
		{ "ipv6", no_argument, NULL, '6' },
		{ "appliance", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	struct tool_opts o = { .appliance_nsfd = -1 };
	const char *cmd, *appliance = NULL;
	char err[256];
	int c;

	log_init("netns-tool", 0, LOG_LEVEL_WARN);
	if (argc < 2)
		usage();
	cmd = argv[1];
	while ((c = getopt_long(argc - 1, argv + 1, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': o.name = optarg; break;
		case 'h': o.host_if = optarg; break;
		case 's': o.sess_if = optarg; break;
		case 'p': o.pool = optarg; break;
		case 'H': o.host_addr = optarg; break;
		case 'S': o.sess_addr = optarg; break;
		case '6': o.ipv6 = true; break;
		case 'a': appliance = optarg; break;
		default: usage();
		}
	}
	if (optind != argc - 1)
		usage();
	if (appliance != NULL &&
	    (o.appliance_nsfd = netns_open(appliance, err, sizeof(err))) < 0) {
		fprintf(stderr, "netns-tool: %s\n", err);
		return 1;
	}
	if (strcmp(cmd, "setup") == 0)
		return cmd_setup(&o);
	if (strcmp(cmd, "teardown") == 0)
		return cmd_teardown(&o);
	if (strcmp(cmd, "scan") == 0)
		return cmd_scan(&o);
	usage();
}
