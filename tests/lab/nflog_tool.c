/*
 * nflog-tool: drives rules/nflog from the lab tests. Run it inside the
 * appliance netns (`ip netns exec`): NFLOG groups are per namespace.
 *
 *   nflog-tool listen --group G --count N --timeout-ms T [--debug]
 *
 * Prints one JSON line per record, {"mark","reason","proto","src","dst",
 * "dport","indev"} (dport null when the record has no ports), and exits
 * after N records (status 0) or after T ms (status 2), whichever is first.
 * Once bound it says "nflog-tool: listening on group G" on stderr, so a
 * test knows when to start sending; the counters follow on exit.
 * --debug adds prefix, sport, icmp_type, flags, seq, cap_len (payload bytes
 * the kernel copied to us) and pkt_len (the packet's length).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/ip.h"
#include "common/json.h"
#include "common/clock.h"
#include "rules/nflog.h"

#define TOOL_MAX_COUNT		100000
#define TOOL_MAX_TIMEOUT_MS	600000

struct tool_ctx {
	long count;
	long printed;
	int debug;
	int failed;
};

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: nflog-tool listen --group G --count N "
	    "--timeout-ms T [--debug]\n");
	exit(1);
}

static long
parse_num(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "nflog-tool: bad number \"%s\" (%ld..%ld)\n",
		    s, min, max);
		exit(1);
	}
	return v;
}

/* json_object_set_new() steals a NULL quietly; count it as a failure. */
static int
set(json_t *o, const char *key, json_t *v)
{
	return v == NULL ? -1 : json_object_set_new(o, key, v);
}

static json_t *
record_json(const struct nflog_record *r, int debug)
{
	char src[IP_STRLEN], dst[IP_STRLEN];
	json_t *o;
	int rc = 0;

	if (ip_format(&r->src, src, sizeof(src)) == -1 ||
	    ip_format(&r->dst, dst, sizeof(dst)) == -1 ||
	    (o = json_object()) == NULL)
		return NULL;
	rc |= set(o, "mark", json_integer(r->mark));
	rc |= set(o, "reason", json_string(nflog_reason_name(r->prefix)));
	rc |= set(o, "proto", json_string(nflog_proto_name(r->proto)));
	rc |= set(o, "src", json_string(src));
	rc |= set(o, "dst", json_string(dst));
	rc |= set(o, "dport", (r->flags & NFLOG_REC_PORTS) ?
	    json_integer(r->dport) : json_null());
	rc |= set(o, "indev", json_integer(r->indev));
	if (debug) {
		rc |= set(o, "prefix", json_string(r->prefix));
		rc |= set(o, "sport", (r->flags & NFLOG_REC_PORTS) ?
		    json_integer(r->sport) : json_null());
		rc |= set(o, "icmp_type", (r->flags & NFLOG_REC_ICMP) ?
		    json_integer(r->icmp_type) : json_null());
		rc |= set(o, "flags", json_integer(r->flags));
		rc |= set(o, "seq", json_integer(r->seq));
		rc |= set(o, "cap_len", json_integer(r->cap_len));
		rc |= set(o, "pkt_len", json_integer(r->pkt_len));
	}
	if (rc != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int
print_record(const struct nflog_record *r, void *arg)
{
	struct tool_ctx *ctx = arg;
	json_t *o;
	char *line;

	if ((o = record_json(r, ctx->debug)) == NULL ||
	    (line = json_dump_line(o)) == NULL) {
		json_decref(o);
		fprintf(stderr, "nflog-tool: cannot encode a record\n");
		ctx->failed = 1;
		return 1;
	}
	json_decref(o);
	printf("%s\n", line);
	fflush(stdout);
	free(line);
	return ++ctx->printed >= ctx->count;
}

static int
listen_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "group", required_argument, NULL, 'g' },
		{ "count", required_argument, NULL, 'c' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "debug", no_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	struct tool_ctx ctx = { 0 };
	struct nflog_stats st;
	struct pollfd pfd;
	struct nflog *nl;
	char err[256];
	long group = -1, timeout = -1;
	int64_t deadline, left;
	int c, rc = 0;

	ctx.count = -1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'g':
			group = parse_num(optarg, 0, UINT16_MAX);
			break;
		case 'c':
			ctx.count = parse_num(optarg, 1, TOOL_MAX_COUNT);
			break;
		case 't':
			timeout = parse_num(optarg, 1, TOOL_MAX_TIMEOUT_MS);
			break;
		case 'd':
			ctx.debug = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || group < 0 || ctx.count < 0 || timeout < 0)
		usage();

	deadline = (int64_t)clock_monotonic_ms() + timeout;
	if ((nl = nflog_open((uint16_t)group, err, sizeof(err))) == NULL) {
		fprintf(stderr, "nflog-tool: %s\n", err);
		return 1;
	}
	fprintf(stderr, "nflog-tool: listening on group %ld\n", group);
	fflush(stderr);
	while (ctx.printed < ctx.count && !ctx.failed) {
		if ((left = deadline - (int64_t)clock_monotonic_ms()) <= 0)
			break;
		pfd.fd = nflog_fd(nl);
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left) == -1) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "nflog-tool: poll: %s\n",
			    strerror(errno));
			rc = 1;
			break;
		}
		if (nflog_read(nl, print_record, &ctx) == -1) {
			fprintf(stderr, "nflog-tool: read: %s\n",
			    strerror(errno));
			rc = 1;
			break;
		}
	}
	nflog_stats(nl, &st);
	fprintf(stderr, "nflog-tool: records=%" PRIu64 " lost=%" PRIu64
	    " overruns=%" PRIu64 " bad=%" PRIu64 "\n", st.records, st.lost,
	    st.overruns, st.bad);
	nflog_close(nl);
	if (rc == 0 && ctx.failed)
		rc = 1;
	if (rc == 0 && ctx.printed < ctx.count) {
		fprintf(stderr, "nflog-tool: timeout after %ld of %ld "
		    "records\n", ctx.printed, ctx.count);
		rc = 2;
	}
	return rc;
}

int
main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "listen") != 0)
		usage();
	return listen_main(argc - 1, argv + 1);
}
