/*
 * benchtool: the two clients bench/run needs that wrk and curl are not.
 *
 *   benchtool hold ADDR PORT HOST N SECONDS
 *	Open N connections to ADDR:PORT, send one keep-alive GET /1k with
 *	Host: HOST on each and read the whole response, so that a proxy in
 *	the path holds N judged, idle, relayed connections. Prints
 *	"held N" once all are up, then keeps them until stdin reaches EOF or
 *	SECONDS pass. Exit 1 (with a message) if any connection fails.
 *
 *   benchtool dns ADDR PORT NAME SECONDS CONCURRENCY
 *	Send A queries for NAME over UDP, CONCURRENCY outstanding at a time,
 *	for SECONDS; print one JSON object: answered, lost, qps, p50_us,
 *	p99_us (latency of answered queries). A query unanswered after 1 s
 *	counts as lost and is replaced.
 *
 * Built by bench/run with one cc line; no dependencies beyond libc.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
parse_addr(const char *addr, const char *port, struct sockaddr_in *sin)
{
	char *end;
	long p = strtol(port, &end, 10);

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	if (*end != '\0' || p < 1 || p > 65535 ||
	    inet_pton(AF_INET, addr, &sin->sin_addr) != 1) {
		fprintf(stderr, "benchtool: bad address %s:%s\n", addr, port);
		return -1;
	}
	sin->sin_port = htons((uint16_t)p);
	return 0;
}

/* Reads one HTTP response with a Content-Length from fd (blocking, with a
 * 5 s receive timeout set by the caller). 0 on a complete 200, -1 else. */
static int
read_response(int fd)
{
	char buf[8192];
	size_t have = 0;
	char *eoh = NULL;
	long clen = -1;

	while (eoh == NULL) {
		ssize_t n;

		if (have == sizeof(buf) - 1)
			return -1;
		n = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);
		if (n <= 0)
			return -1;
		have += (size_t)n;
		buf[have] = '\0';
		eoh = strstr(buf, "\r\n\r\n");
	}
	if (strncmp(buf, "HTTP/1.1 200", 12) != 0)
		return -1;
	for (char *p = strstr(buf, "\r\n"); p != NULL && p < eoh;
	    p = strstr(p + 2, "\r\n")) {
		if (strncasecmp(p + 2, "Content-Length:", 15) == 0) {
			clen = strtol(p + 17, NULL, 10);
			break;
		}
	}
	if (clen < 0)
		return -1;
	size_t body = have - (size_t)(eoh + 4 - buf);
	while ((long)body < clen) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n <= 0)
			return -1;
		body += (size_t)n;
	}
	return 0;
}

static int
cmd_hold(char **argv)
{
	struct sockaddr_in sin;
	const char *host = argv[2];
	long n = strtol(argv[3], NULL, 10);
	long secs = strtol(argv[4], NULL, 10);
	char req[512];
	int reqlen;
	int *fds;

	if (parse_addr(argv[0], argv[1], &sin) == -1)
		return 1;
	if (n < 1 || n > 100000 || secs < 1 || secs > 3600) {
		fprintf(stderr, "benchtool: hold: bad N or SECONDS\n");
		return 1;
	}
	reqlen = snprintf(req, sizeof(req),
	    "GET /1k HTTP/1.1\r\nHost: %s\r\nUser-Agent: benchtool\r\n\r\n",
	    host);
	if (reqlen < 0 || (size_t)reqlen >= sizeof(req))
		return 1;
	fds = calloc((size_t)n, sizeof(*fds));
	if (fds == NULL)
		return 1;
	for (long i = 0; i < n; i++) {
		struct timeval tv = { .tv_sec = 5 };
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd == -1) {
			fprintf(stderr, "benchtool: socket %ld: %s\n", i,
			    strerror(errno));
			return 1;
		}
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		errno = 0;
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
		    send(fd, req, (size_t)reqlen, MSG_NOSIGNAL) != reqlen ||
		    read_response(fd) == -1) {
			fprintf(stderr, "benchtool: connection %ld failed: %s\n",
			    i, errno ? strerror(errno) : "bad response");
			return 1;
		}
		fds[i] = fd;
	}
	printf("held %ld\n", n);
	fflush(stdout);
	/* Idle until the caller closes our stdin (or the time bound). */
	struct pollfd pfd = { .fd = 0, .events = POLLIN };
	uint64_t end = now_ns() + (uint64_t)secs * 1000000000u;
	while (now_ns() < end) {
		char c[64];

		if (poll(&pfd, 1, 200) == 1 && read(0, c, sizeof(c)) <= 0)
			break;
	}
	for (long i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
	return 0;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

#define DNS_MAXQ	256

static int
cmd_dns(char **argv)
{
	struct sockaddr_in sin;
	const char *name = argv[2];
	long secs = strtol(argv[3], NULL, 10);
	long conc = strtol(argv[4], NULL, 10);
	unsigned char q[300];
	size_t qlen = 12;
	static uint64_t sent_at[65536];	/* 0: not outstanding */
	uint64_t *lat;
	size_t nlat = 0, maxlat = 4000000;
	long lost = 0, outstanding = 0;
	uint16_t next_id = 1;
	int fd;

	if (parse_addr(argv[0], argv[1], &sin) == -1)
		return 1;
	if (secs < 1 || secs > 60 || conc < 1 || conc > DNS_MAXQ) {
		fprintf(stderr, "benchtool: dns: bad SECONDS or CONCURRENCY\n");
		return 1;
	}
	/* The query: header (RD), QNAME as labels, QTYPE A, QCLASS IN. */
	memset(q, 0, sizeof(q));
	q[2] = 0x01;
	q[5] = 1;
	for (const char *p = name; *p != '\0';) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);

		if (l == 0 || l > 63 || qlen + l + 6 > sizeof(q))
			return 1;
		q[qlen++] = (unsigned char)l;
		memcpy(q + qlen, p, l);
		qlen += l;
		p += l + (dot ? 1 : 0);
	}
	q[qlen++] = 0;
	q[qlen++] = 0; q[qlen++] = 1;
	q[qlen++] = 0; q[qlen++] = 1;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		return 1;
	lat = malloc(maxlat * sizeof(*lat));
	if (lat == NULL)
		return 1;
	uint64_t start = now_ns(), end = start + (uint64_t)secs * 1000000000u;
	uint64_t last_sweep = start;
	for (;;) {
		uint64_t t = now_ns();

		if (t >= end)
			break;
		while (outstanding < conc) {
			uint16_t id = next_id++;

			if (next_id == 0)
				next_id = 1;
			if (sent_at[id] != 0)
				continue;
			q[0] = (unsigned char)(id >> 8);
			q[1] = (unsigned char)id;
			if (send(fd, q, qlen, 0) != (ssize_t)qlen)
				break;
			sent_at[id] = now_ns();
			outstanding++;
		}
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, 50) == 1) {
			unsigned char r[1500];
			ssize_t n;

			while ((n = recv(fd, r, sizeof(r), MSG_DONTWAIT)) >= 12) {
				uint16_t id = (uint16_t)(r[0] << 8 | r[1]);
				uint64_t at = sent_at[id];

				if (at == 0 || (r[3] & 0x0f) != 0 ||
				    (r[6] << 8 | r[7]) == 0)
					continue;	/* late, or not an answer */
				sent_at[id] = 0;
				outstanding--;
				if (nlat < maxlat)
					lat[nlat++] = now_ns() - at;
			}
		}
		t = now_ns();
		if (t - last_sweep > 100000000u) {
			for (size_t i = 1; i < 65536; i++) {
				if (sent_at[i] != 0 &&
				    t - sent_at[i] > 1000000000u) {
					sent_at[i] = 0;
					outstanding--;
					lost++;
				}
			}
			last_sweep = t;
		}
	}
	double dur = (double)(now_ns() - start) / 1e9;
	qsort(lat, nlat, sizeof(*lat), cmp_u64);
	printf("{\"answered\":%zu,\"lost\":%ld,\"qps\":%.1f,"
	    "\"p50_us\":%.1f,\"p99_us\":%.1f}\n", nlat, lost,
	    (double)nlat / dur,
	    nlat ? (double)lat[nlat / 2] / 1000.0 : 0.0,
	    nlat ? (double)lat[nlat * 99 / 100] / 1000.0 : 0.0);
	free(lat);
	close(fd);
	return nlat > 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	if (argc == 7 && strcmp(argv[1], "hold") == 0)
		return cmd_hold(argv + 2);
	if (argc == 7 && strcmp(argv[1], "dns") == 0)
		return cmd_dns(argv + 2);
	fprintf(stderr, "usage: benchtool hold ADDR PORT HOST N SECONDS\n"
	    "       benchtool dns ADDR PORT NAME SECONDS CONCURRENCY\n");
	return 2;
}
