/*
 * rules-tool: drives the enclave table (rules/ruleset.h, reconcile.h,
 * counters.h) and rules/nft.c from the lab tests. It works on the network
 * namespace it runs in (ip netns exec NS ...).
 *
 *   rules-tool init      [CONFIG]
 *   rules-tool add       [CONFIG] --if IF --mark N --addr A.B.C.D [--addr6 A]
 *   rules-tool del       [CONFIG] --if IF --mark N --addr A.B.C.D [--addr6 A]
 *   rules-tool counters  --addr A
 *   rules-tool reconcile [CONFIG] [--live IF,MARK,ADDR[,ADDR6]]...
 *   rules-tool text      [CONFIG] [--built]
 *
 * CONFIG: --tproxy-port P (15001) --dns-port P (5353) --nflog-group G (7)
 * --ipv6. Any command takes --netns PATH to work on that namespace's table
 * while running elsewhere (nft_open's netns_fd). Exit 0 on success, 1 on
 * failure (reason on stderr), 2 on usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/ip.h"
#include "rules/build.h"
#include "rules/counters.h"
#include "rules/nft.h"
#include "rules/reconcile.h"
#include "rules/ruleset.h"
#include "rules/state.h"
#include "rules/table.h"
#include "rules/txn.h"

#define MAX_LIVE 256

static void
usage(void)
{
	fprintf(stderr, "usage: rules-tool init|add|del|counters|reconcile|text"
	    " [--tproxy-port P] [--dns-port P] [--nflog-group G] [--ipv6]"
	    " [--if IF --mark N --addr A [--addr6 A]] [--live IF,MARK,ADDR]"
	    " [--built] [--netns PATH]\n");
	exit(2);
}

static unsigned long
num(const char *s, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v > max) {
		fprintf(stderr, "rules-tool: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

static void
addr(const char *s, int family, struct ip_addr *out)
{
	const char *why = "wrong family";

	if (ip_parse(s, strlen(s), out, &why) == -1 || out->family != family) {
		fprintf(stderr, "rules-tool: bad address '%s': %s\n", s, why);
		exit(2);
	}
}

/* IF,MARK,ADDR[,ADDR6] */
static void
live_parse(char *arg, struct rules_session *s)
{
	char *f[4] = { 0 }, *save = NULL, *p;
	int n = 0;

	memset(s, 0, sizeof(*s));
	for (p = strtok_r(arg, ",", &save); p != NULL && n < 4;
	    p = strtok_r(NULL, ",", &save))
		f[n++] = p;
	if (n < 3 || strlen(f[0]) >= sizeof(s->ifname))
		usage();
	strcpy(s->ifname, f[0]);
	s->mark = (uint32_t)num(f[1], UINT32_MAX);
	addr(f[2], AF_INET, &s->src4);
	if (n == 4)
		addr(f[3], AF_INET6, &s->src6);
}

static int
send_txn(struct nft_sock *ns, struct rules_txn *t, char *err, size_t errlen)
{
	if (rules_txn_finish(t) == -1) {
		snprintf(err, errlen, "finish batch: %s", strerror(errno));
		return -1;
	}
	return nft_send(ns, t->batch, rules_txn_what, t, err, errlen);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tproxy-port", required_argument, NULL, 'T' },
		{ "dns-port", required_argument, NULL, 'D' },
		{ "nflog-group", required_argument, NULL, 'G' },
		{ "ipv6", no_argument, NULL, '6' },
		{ "if", required_argument, NULL, 'i' },
		{ "mark", required_argument, NULL, 'm' },
		{ "addr", required_argument, NULL, 'a' },
		{ "addr6", required_argument, NULL, 'A' },
		{ "live", required_argument, NULL, 'l' },
		{ "built", no_argument, NULL, 'b' },
		{ "netns", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	struct rules_config cfg = { .tproxy_port = 15001, .dns_port = 5353,
	    .nflog_group = 7 };
	static struct rules_session live[MAX_LIVE];
	struct rules_session one = { 0 };
	struct rules_txn t = { 0 };
	struct nft_sock *ns = NULL;
	const char *cmd;
	char err[256] = "";
	size_t nlive = 0;
	const char *netns = NULL;
	int c, built = 0, have_addr = 0, nsfd = -1, ret = 1;

	if (argc < 2)
		usage();
	cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'T': cfg.tproxy_port = (uint16_t)num(optarg, 65535); break;
		case 'D': cfg.dns_port = (uint16_t)num(optarg, 65535); break;
		case 'G': cfg.nflog_group = (uint16_t)num(optarg, 65535); break;
		case '6': cfg.ipv6 = 1; break;
		case 'i':
			if (strlen(optarg) >= sizeof(one.ifname))
				usage();
			strcpy(one.ifname, optarg);
			break;
		case 'm': one.mark = (uint32_t)num(optarg, UINT32_MAX); break;
		case 'a':
			/* counters takes either family */
			addr(optarg, strchr(optarg, ':') ? AF_INET6 : AF_INET,
			    &one.src4);
			have_addr = 1;
			break;
		case 'A': addr(optarg, AF_INET6, &one.src6); break;
		case 'l':
			if (nlive == MAX_LIVE)
				usage();
			live_parse(optarg, &live[nlive++]);
			break;
		case 'b': built = 1; break;
		case 'n': netns = optarg; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();

	if (netns != NULL &&
	    (nsfd = open(netns, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, sizeof(err), "open %s: %s", netns, strerror(errno));
		goto out;
	}
	if (nft_open(&ns, nsfd, err, sizeof(err)) == -1)
		goto out;
	if (rules_txn_init(&t, nft_seq(ns)) == -1) {
		snprintf(err, sizeof(err), "batch: %s", strerror(errno));
		goto out;
	}
	if (strcmp(cmd, "init") == 0) {
		if (rules_build_table(&cfg, NULL, 0, &t, err, sizeof(err)) == -1 ||
		    send_txn(ns, &t, err, sizeof(err)) == -1)
			goto out;
	} else if (strcmp(cmd, "add") == 0 || strcmp(cmd, "del") == 0) {
		int r = cmd[0] == 'a' ?
		    rules_session_add(&cfg, &one, &t, err, sizeof(err)) :
		    rules_session_del(&cfg, &one, &t, err, sizeof(err));

		if (r == -1 || send_txn(ns, &t, err, sizeof(err)) == -1)
			goto out;
	} else if (strcmp(cmd, "counters") == 0) {
		struct rules_counters k;

		if (!have_addr)
			usage();
		if (rules_counters_read(ns, &one.src4, &k, err,
		    sizeof(err)) == -1)
			goto out;
		printf("tx_packets=%llu tx_bytes=%llu rx_packets=%llu "
		    "rx_bytes=%llu\n", (unsigned long long)k.tx_packets,
		    (unsigned long long)k.tx_bytes,
		    (unsigned long long)k.rx_packets,
		    (unsigned long long)k.rx_bytes);
	} else if (strcmp(cmd, "reconcile") == 0) {
		struct rules_reconcile_result res;

		if (rules_reconcile(ns, &cfg, live, nlive, &res, err,
		    sizeof(err)) == -1)
			goto out;
		printf("replaced=%d added=%zu deleted=%zu%s%s\n", res.replaced,
		    res.elems_added, res.elems_deleted,
		    res.replaced ? " diff: " : "", res.replaced ? res.diff : "");
	} else if (strcmp(cmd, "text") == 0) {
		struct rules_state st;
		char *text;
		int r;

		r = built ? rules_state_build(&cfg, &st, err, sizeof(err)) :
		    rules_state_read(ns, &st, err, sizeof(err));
		if (r == -1)
			goto out;
		r = rules_state_text(&st, &text, err, sizeof(err));
		rules_state_free(&st);
		if (r == -1)
			goto out;
		fputs(text, stdout);
		free(text);
	} else {
		usage();
	}
	ret = 0;
out:
	if (ret != 0)
		fprintf(stderr, "rules-tool %s: %s\n", cmd, err);
	rules_txn_free(&t);
	nft_close(ns);
	if (nsfd != -1)
		close(nsfd);
	return ret;
}
