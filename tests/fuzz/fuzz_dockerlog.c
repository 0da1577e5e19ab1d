/*
 * Fuzz target for the demuxer of Docker's multiplexed log stream
 * (dockerapi_logs_demux() in sessiond/dockerapi.c): the bytes an engine
 * sends back for GET /containers/ID/logs, whose payload the workload chose.
 *
 * The whole input is one stream. It is walked whole, then again in two
 * pieces cut where its first byte says (as a reader that got it in two
 * reads would), and both walks must see the same frames. Every broken
 * invariant aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sessiond/dockerapi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)	do { if (!(x)) abort(); } while (0)

/* What a walk saw: enough to tell two walks apart. */
struct seen {
	const char *base;	/* the input: frames must lie inside it */
	size_t	 size;
	size_t	 frames;
	size_t	 bytes[3];
	uint32_t hash;
};

static int
fuzz_frame(enum dockerapi_stream s, const char *p, size_t len, void *arg)
{
	struct seen *w = arg;
	size_t i;

	CHECK(s == DOCKERAPI_STDIN || s == DOCKERAPI_STDOUT ||
	    s == DOCKERAPI_STDERR);
	CHECK(p >= w->base && len <= w->size &&
	    (size_t)(p - w->base) <= w->size - len);
	w->frames++;
	w->bytes[s] += len;
	w->hash = w->hash * 31 + (uint32_t)s;
	for (i = 0; i < len; i++)
		w->hash = w->hash * 31 + (unsigned char)p[i];
	return 0;
}

/* One walk over buf[0..len), its tally from zero but for the hash, which
 * goes on from w's; returns what demux returned. */
static int
fuzz_walk(const char *buf, size_t len, struct seen *w, size_t *used)
{
	char err[128];
	int rc;

	w->frames = 0;
	memset(w->bytes, 0, sizeof(w->bytes));
	w->base = buf;
	w->size = len;
	err[0] = '\0';
	rc = dockerapi_logs_demux(buf, len, used, fuzz_frame, w, err,
	    sizeof(err));
	CHECK(rc >= -1 && rc <= 1);
	CHECK(*used <= len);
	if (rc == -1)
		CHECK(err[0] != '\0');
	if (rc == 0)
		CHECK(*used == len);
	if (rc == 1)
		CHECK(*used < len);
	/* Every frame is a header and its payload, back to back. */
	CHECK(*used == w->frames * DOCKERAPI_FRAME_HDR + w->bytes[0] +
	    w->bytes[1] + w->bytes[2]);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct seen whole, a, b;
	size_t used, ua, ub, cut;
	int rc, ra, rb;

	memset(&whole, 0, sizeof(whole));
	rc = fuzz_walk(buf, size, &whole, &used);

	/* The prefix that was consumed walks again to the same frames. */
	memset(&a, 0, sizeof(a));
	CHECK(fuzz_walk(buf, used, &a, &ua) == 0);
	CHECK(ua == used && a.frames == whole.frames && a.hash == whole.hash);

	/* Two reads: walk the first piece, keep the rest, walk that. */
	cut = size > 0 ? (size_t)data[0] * size / 256 : 0;
	memset(&a, 0, sizeof(a));
	ra = fuzz_walk(buf, cut, &a, &ua);
	if (ra == -1) {
		CHECK(rc == -1);
		return 0;
	}
	b = a;			/* the hash goes on from the first piece's */
	rb = fuzz_walk(buf + ua, size - ua, &b, &ub);
	CHECK(rb == rc);
	CHECK(ua + ub == used);
	CHECK(a.frames + b.frames == whole.frames && b.hash == whole.hash);
	CHECK(a.bytes[1] + b.bytes[1] == whole.bytes[1] &&
	    a.bytes[2] + b.bytes[2] == whole.bytes[2]);
	return 0;
}
