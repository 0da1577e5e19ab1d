/*
 * Fuzz target for sessiond/vmframe.c: the input is what a hostile guest
 * writes to its serial port. Parsed whole and in pieces (split where the
 * first byte says), it must give the same frames; every frame must be
 * well-formed and really in the input; every byte is a frame's, noise or
 * still buffered. The input as a kernel command line must read back as
 * it formats, and as a cpio path must never escape the guest's root.
 * Every broken invariant aborts.
 */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sessiond/vmframe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)	do { if (!(x)) abort(); } while (0)
#define FUZZ_FRAMES_MAX	4096

struct fuzz_log {
	size_t n;
	uint64_t framed;	/* header and payload bytes of good frames */
	uint32_t sum[FUZZ_FRAMES_MAX];
	const uint8_t *in;
	size_t in_len;
};

static int
fuzz_frame(unsigned int type, const uint8_t *p, size_t len, void *arg)
{
	struct fuzz_log *l = arg;
	uint8_t f[VMFRAME_MAX], b[VMFRAME_EXIT_LEN];
	struct vmframe_exit e;
	uint64_t v;
	size_t n;

	CHECK(type >= VMFRAME_HELLO && type <= VMFRAME_TYPE_MAX);
	CHECK(len <= VMFRAME_PAYLOAD_MAX);
	/* The frame, encoded again, is a piece of the input. */
	n = vmframe_encode(f, sizeof(f), type, p, len);
	CHECK(n == VMFRAME_HDR_LEN + len);
	CHECK(memmem(l->in, l->in_len, f, n) != NULL);
	if (type == VMFRAME_EXIT && vmframe_exit_decode(p, len, &e) == 0) {
		vmframe_exit_encode(b, &e);
		CHECK(memcmp(b, p, sizeof(b)) == 0);
	}
	if ((type == VMFRAME_HELLO || type == VMFRAME_STARTED) &&
	    vmframe_u64_decode(p, len, &v) == 0)
		CHECK(len == 8);
	l->framed += n;
	if (l->n < FUZZ_FRAMES_MAX)
		l->sum[l->n] = vmframe_crc32((uint32_t)type, p, len);
	l->n++;
	return 0;
}

static void
fuzz_parse(const uint8_t *data, size_t size, size_t step,
    struct vmframe_parser *p, struct fuzz_log *l)
{
	size_t off, n;

	vmframe_parser_init(p);
	l->in = data;
	l->in_len = size;
	for (off = 0; off < size; off += n) {
		n = size - off < step ? size - off : step;
		CHECK(vmframe_parser_feed(p, data + off, n, fuzz_frame, l) == 0);
		CHECK(p->have < VMFRAME_MAX);
		CHECK(p->tail_len <= VMFRAME_TAIL_MAX);
	}
	CHECK(p->frames == l->n);
	CHECK(p->noise + l->framed + p->have == size);
}

/* Relative, and no component climbs or is empty. */
static int
fuzz_path_inside(const char *s)
{
	const char *c = s, *e;
	size_t n;

	if (s[0] == '/' || s[0] == '\0')
		return 0;
	for (;;) {
		e = strchr(c, '/');
		n = e != NULL ? (size_t)(e - c) : strlen(c);
		if (n == 0 || (n == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		if (e == NULL)
			return 1;
		c = e + 1;
	}
}

static void
fuzz_text(const uint8_t *data, size_t size)
{
	struct vmframe_guest g, back;
	struct vmframe_cpio c;
	char *s, words[512];
	const char *why;

	if ((s = malloc(size + 1)) == NULL)
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	if (vmframe_guest_parse(s, &g, &why) == 0) {
		CHECK(vmframe_guest_format(&g, words, sizeof(words)) == 0);
		CHECK(vmframe_guest_parse(words, &back, &why) == 0);
		CHECK(strcmp(g.addr, back.addr) == 0 &&
		    strcmp(g.gateway, back.gateway) == 0 &&
		    strcmp(g.lang, back.lang) == 0 &&
		    strcmp(g.usr, back.usr) == 0 &&
		    g.prefixlen == back.prefixlen && g.uid == back.uid &&
		    g.gid == back.gid && g.memory_mb == back.memory_mb &&
		    g.pids == back.pids && g.workspace_mb == back.workspace_mb &&
		    g.tmp_mb == back.tmp_mb && g.debug == back.debug);
	} else {
		CHECK(why != NULL);
	}
	memset(&c, 0, sizeof(c));
	if (vmframe_cpio_file(&c, s, 0644, data, size) == 0) {
		CHECK(fuzz_path_inside(s));
		CHECK(c.len % 4 == 0);
	}
	vmframe_cpio_free(&c);
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmframe_parser *p1, *p2;
	struct fuzz_log *l1, *l2;
	size_t step, i;

	p1 = malloc(sizeof(*p1));
	p2 = malloc(sizeof(*p2));
	l1 = calloc(1, sizeof(*l1));
	l2 = calloc(1, sizeof(*l2));
	if (p1 == NULL || p2 == NULL || l1 == NULL || l2 == NULL)
		goto out;
	step = size > 0 ? (size_t)data[0] % 97 + 1 : 1;
	fuzz_parse(data, size, size > 0 ? size : 1, p1, l1);
	fuzz_parse(data, size, step, p2, l2);
	/* Where the bytes were split changes nothing. */
	CHECK(l1->n == l2->n);
	CHECK(p1->noise == p2->noise && p1->bad == p2->bad);
	CHECK(p1->have == p2->have);
	for (i = 0; i < l1->n && i < FUZZ_FRAMES_MAX; i++)
		CHECK(l1->sum[i] == l2->sum[i]);
	fuzz_text(data, size);
out:
	free(p1);
	free(p2);
	free(l1);
	free(l2);
	return 0;
}
