#include <config.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/file.h"
#include "sessiond/sandbox_plan.h"
#include "sessiond/vmframe.h"

/* ---- frames ---- */

#define SEEN_MAX	32

struct seen {
	int n;
	unsigned int type[SEEN_MAX];
	size_t len[SEEN_MAX];
	uint8_t data[SEEN_MAX][VMFRAME_PAYLOAD_MAX];
	int stop_at;		/* return 7 on this frame (1-based), 0: never */
};

static int
collect(unsigned int type, const uint8_t *p, size_t len, void *arg)
{
	struct seen *s = arg;

	assert_true(s->n < SEEN_MAX);
	s->type[s->n] = type;
	s->len[s->n] = len;
	memcpy(s->data[s->n], p, len);
	s->n++;
	return s->stop_at == s->n ? 7 : 0;
}

static size_t
frame(uint8_t *out, size_t outlen, unsigned int type, const char *text)
{
	size_t n = vmframe_encode(out, outlen, type, text, strlen(text));

	assert_true(n > 0);
	return n;
}

/* Feeds buf[0..len) in pieces of step bytes. */
static void
feed(struct vmframe_parser *p, const uint8_t *buf, size_t len, size_t step,
    struct seen *s)
{
	size_t off, n;

	for (off = 0; off < len; off += n) {
		n = len - off < step ? len - off : step;
		assert_int_equal(vmframe_parser_feed(p, buf + off, n, collect,
		    s), 0);
	}
}

static void
test_crc32(void **state)
{
	(void)state;
	/* The check value of CRC-32/ISO-HDLC, zlib's crc32(). */
	assert_int_equal(vmframe_crc32(0, "123456789", 9), 0xcbf43926u);
	assert_int_equal(vmframe_crc32(0, "", 0), 0);
	/* Continuing equals one pass. */
	assert_int_equal(vmframe_crc32(vmframe_crc32(0, "1234", 4), "56789", 5),
	    0xcbf43926u);
}

static void
test_encode_layout(void **state)
{
	uint8_t f[VMFRAME_MAX];
	size_t n;

	(void)state;
	n = vmframe_encode(f, sizeof(f), VMFRAME_STDOUT, "hi", 2);
	assert_int_equal(n, VMFRAME_HDR_LEN + 2);
	assert_memory_equal(f, "\xc5" "EVF", 4);
	assert_int_equal(f[4], VMFRAME_STDOUT);
	assert_int_equal(f[5], 0);
	assert_int_equal(f[6], 0);
	assert_int_equal(f[7], 2);
	assert_memory_equal(f + 12, "hi", 2);
	/* CRC over type, flags, length and payload, big-endian. */
	{
		uint8_t c[6] = { VMFRAME_STDOUT, 0, 0, 2, 'h', 'i' };
		uint32_t crc = vmframe_crc32(0, c, sizeof(c));

		assert_int_equal(f[8], crc >> 24);
		assert_int_equal(f[11], crc & 0xff);
	}

	/* Refused: unknown types, too long, no room, NULL with a length. */
	assert_int_equal(vmframe_encode(f, sizeof(f), 0, "x", 1), 0);
	assert_int_equal(vmframe_encode(f, sizeof(f), VMFRAME_TYPE_MAX + 1,
	    "x", 1), 0);
	assert_int_equal(vmframe_encode(f, sizeof(f), VMFRAME_STDOUT, f,
	    VMFRAME_PAYLOAD_MAX + 1), 0);
	assert_int_equal(vmframe_encode(f, VMFRAME_HDR_LEN + 1,
	    VMFRAME_STDOUT, "hi", 2), 0);
	assert_int_equal(vmframe_encode(f, sizeof(f), VMFRAME_STDOUT, NULL, 1),
	    0);
	/* An empty payload is a frame. */
	assert_int_equal(vmframe_encode(f, sizeof(f), VMFRAME_RESULT, NULL, 0),
	    VMFRAME_HDR_LEN);
}

/* Frames among kernel text, in every split, come out whole and in order. */
static void
test_parse_noise_and_splits(void **state)
{
	static const char *const noise[] = {
		"[    1.23] reboot: Restarting system\r\n",
		"\xc5",		/* a magic's first byte, then nothing */
		("\xc5" "EV"),	/* most of a magic */
		"",
	};
	uint8_t buf[8192];
	struct vmframe_parser p;
	struct seen *s = calloc(1, sizeof(*s));
	size_t len = 0, step;
	int i;

	(void)state;
	assert_non_null(s);
	for (i = 0; i < 4; i++) {
		memcpy(buf + len, noise[i], strlen(noise[i]));
		len += strlen(noise[i]);
		len += frame(buf + len, sizeof(buf) - len, VMFRAME_STDOUT + (i % 3),
		    i == 0 ? "first" : i == 1 ? "second" : i == 2 ? "" : "last");
	}
	for (step = 1; step <= len; step = step < 16 ? step + 1 : step * 3) {
		memset(s, 0, sizeof(*s));
		vmframe_parser_init(&p);
		feed(&p, buf, len, step, s);
		assert_int_equal(s->n, 4);
		assert_int_equal(s->type[0], VMFRAME_STDOUT);
		assert_int_equal(s->len[0], 5);
		assert_memory_equal(s->data[0], "first", 5);
		assert_int_equal(s->type[1], VMFRAME_STDERR);
		assert_memory_equal(s->data[1], "second", 6);
		assert_int_equal(s->type[2], VMFRAME_RESULT);
		assert_int_equal(s->len[2], 0);
		assert_memory_equal(s->data[3], "last", 4);
		assert_int_equal(p.frames, 4);
		assert_int_equal(p.noise, strlen(noise[0]) + 1 + 3);
		assert_int_equal(p.have, 0);
		/* The guest's last words are kept for the log. */
		assert_non_null(memmem(p.tail, p.tail_len, "reboot:", 7));
	}
	free(s);
}

static void
test_parse_rejects(void **state)
{
	uint8_t buf[4 * VMFRAME_MAX], *f;
	struct vmframe_parser p;
	struct seen *s = calloc(1, sizeof(*s));
	size_t len = 0, n;

	(void)state;
	assert_non_null(s);
	/* A flipped payload bit: the CRC refuses it. */
	f = buf + len;
	n = frame(f, sizeof(buf) - len, VMFRAME_STDOUT, "corrupt");
	f[14] ^= 1;
	len += n;
	/* Flags set. */
	f = buf + len;
	n = frame(f, sizeof(buf) - len, VMFRAME_STDOUT, "flags");
	f[5] = 1;
	len += n;
	/* An unknown type. */
	f = buf + len;
	n = frame(f, sizeof(buf) - len, VMFRAME_STDOUT, "type");
	f[4] = 99;
	len += n;
	/* A length over the maximum. */
	f = buf + len;
	n = frame(f, sizeof(buf) - len, VMFRAME_STDOUT, "long");
	f[6] = 0xff;
	len += n;
	/* Then a good one: found again after all that. */
	len += frame(buf + len, sizeof(buf) - len, VMFRAME_STDERR, "good");

	vmframe_parser_init(&p);
	feed(&p, buf, len, 5, s);
	assert_int_equal(s->n, 1);
	assert_int_equal(s->type[0], VMFRAME_STDERR);
	assert_memory_equal(s->data[0], "good", 4);
	assert_int_equal(p.bad, 4);
	free(s);
}

/* A frame inside a good frame's payload is data, never a frame. */
static void
test_parse_no_nested_frames(void **state)
{
	uint8_t inner[64], outer[128];
	struct vmframe_parser p;
	struct seen *s = calloc(1, sizeof(*s));
	struct vmframe_exit ex = { 1, 0, 0, 0, 0, 0 };
	size_t in, out;

	(void)state;
	assert_non_null(s);
	{
		uint8_t pl[VMFRAME_EXIT_LEN];

		vmframe_exit_encode(pl, &ex);
		in = vmframe_encode(inner, sizeof(inner), VMFRAME_EXIT, pl,
		    sizeof(pl));
	}
	out = vmframe_encode(outer, sizeof(outer), VMFRAME_STDOUT, inner, in);
	vmframe_parser_init(&p);
	feed(&p, outer, out, 1, s);
	assert_int_equal(s->n, 1);
	assert_int_equal(s->type[0], VMFRAME_STDOUT);
	assert_int_equal(s->len[0], in);
	free(s);
}

static void
test_parse_stop_and_full(void **state)
{
	uint8_t *buf = malloc(3 * VMFRAME_MAX), big[VMFRAME_PAYLOAD_MAX];
	struct vmframe_parser p;
	struct seen *s = calloc(1, sizeof(*s));
	size_t len = 0;

	(void)state;
	assert_non_null(buf);
	assert_non_null(s);
	memset(big, 'b', sizeof(big));
	len += vmframe_encode(buf + len, VMFRAME_MAX, VMFRAME_STDOUT, big,
	    sizeof(big));
	len += vmframe_encode(buf + len, VMFRAME_MAX, VMFRAME_STDERR, big,
	    sizeof(big));
	len += frame(buf + len, VMFRAME_MAX, VMFRAME_RESULT, "{}");
	/* The callback's non-zero value stops the feed and comes back. */
	s->stop_at = 1;
	vmframe_parser_init(&p);
	assert_int_equal(vmframe_parser_feed(&p, buf, len, collect, s), 7);
	assert_int_equal(s->n, 1);
	assert_int_equal(s->len[0], VMFRAME_PAYLOAD_MAX);
	/* Largest frames, whole input at once. */
	memset(s, 0, sizeof(*s));
	vmframe_parser_init(&p);
	assert_int_equal(vmframe_parser_feed(&p, buf, len, collect, s), 0);
	assert_int_equal(s->n, 3);
	assert_int_equal(s->len[1], VMFRAME_PAYLOAD_MAX);
	assert_int_equal(p.noise, 0);
	/* Only noise: kept to the tail's size, counted in full. */
	memset(buf, 'n', 3 * VMFRAME_MAX);
	vmframe_parser_init(&p);
	assert_int_equal(vmframe_parser_feed(&p, buf, 3 * VMFRAME_MAX, collect,
	    s), 0);
	assert_int_equal(p.noise, 3 * VMFRAME_MAX);
	assert_int_equal(p.tail_len, VMFRAME_TAIL_MAX);
	assert_int_equal(p.have, 0);
	free(buf);
	free(s);
}

static void
test_exit_payload(void **state)
{
	struct vmframe_exit e = { 1, 3, 0, 1, 1234, 5678 }, d;
	uint8_t b[VMFRAME_EXIT_LEN];

	(void)state;
	vmframe_exit_encode(b, &e);
	assert_int_equal(vmframe_exit_decode(b, sizeof(b), &d), 0);
	assert_int_equal(d.exited, 1);
	assert_int_equal(d.code, 3);
	assert_int_equal(d.signal, 0);
	assert_int_equal(d.oom, 1);
	assert_int_equal(d.cpu_ms, 1234);
	assert_int_equal(d.mem_peak_bytes, 5678);

	e.exited = 0;
	e.code = 0;
	e.signal = 9;
	vmframe_exit_encode(b, &e);
	assert_int_equal(vmframe_exit_decode(b, sizeof(b), &d), 0);
	assert_int_equal(d.exited, 0);
	assert_int_equal(d.signal, 9);

	/* Wrong length; a kill with a code; an exit with a signal; a code
	 * over 255; a signal 0 kill; bytes that are not 0 or 1. */
	assert_int_equal(vmframe_exit_decode(b, sizeof(b) - 1, &d), -1);
	b[7] = 1;
	assert_int_equal(vmframe_exit_decode(b, sizeof(b), &d), -1);
	e.exited = 1;
	e.code = 0;
	e.signal = 9;
	vmframe_exit_encode(b, &e);
	assert_int_equal(vmframe_exit_decode(b, sizeof(b), &d), -1);
	e.signal = 0;
	e.code = 256;
	vmframe_exit_encode(b, &e);
	assert_int_equal(vmframe_exit_decode(b, sizeof(b), &d), -1);
	e.exited = 0;
	e.code = 0;
	e.signal = 0;
	vmframe_exit_encode(b, &e);
	assert_int_equal(vmframe_exit_decode(b, sizeof(b), &d), -1);
	e.signal = 9;
	vmframe_exit_encode(b, &e);
	b[2] = 2;
	assert_int_equal(vmframe_exit_decode(b, sizeof(b), &d), -1);
}

static void
test_u64(void **state)
{
	uint8_t b[8];
	uint64_t v;

	(void)state;
	vmframe_u64_encode(b, 0x0102030405060708ULL);
	assert_int_equal(b[0], 1);
	assert_int_equal(b[7], 8);
	assert_int_equal(vmframe_u64_decode(b, 8, &v), 0);
	assert_int_equal(v, 0x0102030405060708ULL);
	assert_int_equal(vmframe_u64_decode(b, 7, &v), -1);
}

/* ---- the guest's settings ---- */

static void
guest_example(struct vmframe_guest *g)
{
	memset(g, 0, sizeof(*g));
	snprintf(g->addr, sizeof(g->addr), "198.19.0.3");
	snprintf(g->gateway, sizeof(g->gateway), "198.19.0.2");
	g->prefixlen = 31;
	snprintf(g->lang, sizeof(g->lang), "python");
	g->uid = 65534;
	g->gid = 65534;
	g->memory_mb = 256;
	g->pids = 128;
	g->workspace_mb = 64;
	g->tmp_mb = 64;
	snprintf(g->usr, sizeof(g->usr), "9p");
}

static void
guest_equal(const struct vmframe_guest *a, const struct vmframe_guest *b)
{
	assert_string_equal(a->addr, b->addr);
	assert_string_equal(a->gateway, b->gateway);
	assert_int_equal(a->prefixlen, b->prefixlen);
	assert_string_equal(a->lang, b->lang);
	assert_int_equal(a->uid, b->uid);
	assert_int_equal(a->gid, b->gid);
	assert_int_equal(a->memory_mb, b->memory_mb);
	assert_int_equal(a->pids, b->pids);
	assert_int_equal(a->workspace_mb, b->workspace_mb);
	assert_int_equal(a->tmp_mb, b->tmp_mb);
	assert_string_equal(a->usr, b->usr);
	assert_int_equal(a->debug, b->debug);
}

static void
test_guest_roundtrip(void **state)
{
	struct vmframe_guest g, back;
	char words[512], line[1024];
	const char *why;

	(void)state;
	guest_example(&g);
	assert_int_equal(vmframe_guest_format(&g, words, sizeof(words)), 0);
	assert_string_equal(words, "enclave.addr=198.19.0.3 enclave.prefix=31 "
	    "enclave.gw=198.19.0.2 enclave.lang=python enclave.uid=65534 "
	    "enclave.gid=65534 enclave.mem=256 enclave.pids=128 enclave.ws=64 "
	    "enclave.tmp=64 enclave.usr=9p");
	/* Among the kernel's own words, as /proc/cmdline shows them. */
	snprintf(line, sizeof(line), "console=ttyS0 panic=-1 %s "
	    "virtio_mmio.device=4K@0xd0000000:5\n", words);
	assert_int_equal(vmframe_guest_parse(line, &back, &why), 0);
	guest_equal(&g, &back);

	g.debug = 1;
	snprintf(g.usr, sizeof(g.usr), "vda");
	snprintf(g.lang, sizeof(g.lang), "node");
	assert_int_equal(vmframe_guest_format(&g, words, sizeof(words)), 0);
	assert_non_null(strstr(words, " enclave.debug=1"));
	assert_int_equal(vmframe_guest_parse(words, &back, &why), 0);
	guest_equal(&g, &back);

	/* Too small a buffer, out-of-range fields: refused. */
	assert_int_equal(vmframe_guest_format(&g, words, 40), -1);
	g.prefixlen = 33;
	assert_int_equal(vmframe_guest_format(&g, words, sizeof(words)), -1);
	guest_example(&g);
	g.uid = 0;
	assert_int_equal(vmframe_guest_format(&g, words, sizeof(words)), -1);
	guest_example(&g);
	snprintf(g.addr, sizeof(g.addr), "198.19.0");
	assert_int_equal(vmframe_guest_format(&g, words, sizeof(words)), -1);
	guest_example(&g);
	snprintf(g.lang, sizeof(g.lang), "ruby");
	assert_int_equal(vmframe_guest_format(&g, words, sizeof(words)), -1);
}

static void
test_guest_parse_errors(void **state)
{
	static const struct {
		const char *line, *why;
	} bad[] = {
		{ "", "addr" },
		{ "enclave.addr=198.19.0.3", "prefix" },
		{ "enclave.addr=1.2.3.4 enclave.addr=1.2.3.4", "addr" },
		{ "enclave.bogus=1", "an unknown enclave.* setting" },
		{ "enclave.addr", "an enclave.* word without '='" },
		{ "enclave.prefix=031", "prefix" },
		{ "enclave.prefix=+31", "prefix" },
		{ "enclave.prefix=", "prefix" },
		{ "enclave.uid=4294967295", "uid" },
		{ "enclave.mem=99999999999", "mem" },
		{ "enclave.lang=abcdefghijklmnopq", "lang" },
	};
	struct vmframe_guest g;
	char words[512], line[1024];
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(vmframe_guest_parse(bad[i].line, &g, &why), -1);
		assert_non_null(why);
		assert_string_equal(why, bad[i].why);
	}
	/* Well-formed but out of range: the whole is checked too. */
	guest_example(&g);
	assert_int_equal(vmframe_guest_format(&g, words, sizeof(words)), 0);
	snprintf(line, sizeof(line), "%s", words);
	memcpy(strstr(line, "prefix=31"), "prefix=40", 9);
	assert_int_equal(vmframe_guest_parse(line, &g, &why), -1);
	assert_string_equal(why, "a setting out of range");
	snprintf(line, sizeof(line), "%s", words);
	memcpy(strstr(line, "usr=9p"), "usr=nf", 6);
	assert_int_equal(vmframe_guest_parse(line, &g, &why), -1);
}

static void
test_lang(void **state)
{
	const char *interp, *file;

	(void)state;
	assert_int_equal(vmframe_lang("python", &interp, &file), 0);
	assert_string_equal(interp, "/usr/bin/python3");
	assert_string_equal(file, "main.py");
	assert_int_equal(vmframe_lang("sh", &interp, &file), 0);
	assert_string_equal(interp, "/bin/sh");
	assert_int_equal(vmframe_lang("node", NULL, &file), 0);
	assert_string_equal(file, "main.js");
	assert_int_equal(vmframe_lang("perl", &interp, &file), -1);
	assert_int_equal(vmframe_lang(NULL, &interp, &file), -1);
}

/* ---- the run's cpio ---- */

static unsigned long
hex8(const uint8_t *p)
{
	char s[9];

	memcpy(s, p, 8);
	s[8] = '\0';
	return strtoul(s, NULL, 16);
}

static void
test_cpio(void **state)
{
	struct vmframe_cpio c;
	const char *names[] = { "enclave/run", "enclave/run/main.py",
	    "TRAILER!!!" };
	size_t off = 0, namesz, size;
	unsigned long mode;
	int i;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(vmframe_cpio_dir(&c, "enclave/run", 0755), 0);
	assert_int_equal(vmframe_cpio_file(&c, "enclave/run/main.py", 04755,
	    "print(1)\n", 9), 0);
	assert_int_equal(vmframe_cpio_finish(&c), 0);
	assert_int_equal(c.len % 512, 0);
	/* Read it back as the kernel's unpacker does. */
	for (i = 0; i < 3; i++) {
		assert_true(off + 110 <= c.len);
		assert_memory_equal(c.buf + off, "070701", 6);
		mode = hex8(c.buf + off + 14);
		assert_int_equal(hex8(c.buf + off + 22), 0);	/* uid */
		size = hex8(c.buf + off + 54);
		namesz = hex8(c.buf + off + 94);
		assert_int_equal(namesz, strlen(names[i]) + 1);
		assert_string_equal((const char *)c.buf + off + 110, names[i]);
		off = (off + 110 + namesz + 3) & ~(size_t)3;
		if (i == 0)
			assert_int_equal(mode, 040755);
		if (i == 1) {
			/* Permission bits only: no setuid from a caller. */
			assert_int_equal(mode, 0100755);
			assert_int_equal(size, 9);
			assert_memory_equal(c.buf + off, "print(1)\n", 9);
		}
		off = (off + size + 3) & ~(size_t)3;
	}
	vmframe_cpio_free(&c);
	assert_null(c.buf);

	/* Paths that could land outside the guest's root, or nowhere. */
	assert_int_equal(vmframe_cpio_file(&c, "/etc/passwd", 0644, "", 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(vmframe_cpio_file(&c, "a/../b", 0644, "", 0), -1);
	assert_int_equal(vmframe_cpio_file(&c, "a//b", 0644, "", 0), -1);
	assert_int_equal(vmframe_cpio_file(&c, "./a", 0644, "", 0), -1);
	assert_int_equal(vmframe_cpio_file(&c, "a/", 0644, "", 0), -1);
	assert_int_equal(vmframe_cpio_file(&c, "", 0644, "", 0), -1);
	assert_int_equal(vmframe_cpio_file(&c, "a b", 0644, "", 0), -1);
	assert_int_equal(vmframe_cpio_dir(&c, "..", 0755), -1);
	assert_int_equal(vmframe_cpio_file(&c, "x", 0644, NULL, 1), -1);
	/* A cap on the archive's size. */
	c.max = 256;
	assert_int_equal(vmframe_cpio_file(&c, "big", 0644, "", 0), 0);
	{
		char blob[300];

		memset(blob, 'x', sizeof(blob));
		assert_int_equal(vmframe_cpio_file(&c, "bigger", 0644, blob,
		    sizeof(blob)), -1);
		assert_int_equal(errno, EFBIG);
	}
	vmframe_cpio_free(&c);
}

/* The guest init keeps its own copy of the sandbox environment (it is a
 * static program without sessiond's libraries): every variable the
 * namespace sandbox gets must be in it, or the backends drift apart. */
static void
test_guest_env_matches_plan(void **state)
{
	const char *top = getenv("abs_top_srcdir");
	char *envp[SANDBOX_ENV_MAX], buf[SANDBOX_ENV_BUF], path[4096];
	char err[256], quoted[SANDBOX_ENV_BUF + 3], *text;
	size_t len, i;

	(void)state;
	if (top == NULL)
		skip();
	snprintf(path, sizeof(path), "%s/contrib/microvm-init.c", top);
	assert_int_equal(file_read_bounded(path, 1 << 20, &text, &len, err,
	    sizeof(err)), 0);
	text[len < (1u << 20) ? len : (1u << 20)] = '\0';
	sandbox_plan_env(envp, buf, 1, 1);
	for (i = 0; envp[i] != NULL; i++) {
		snprintf(quoted, sizeof(quoted), "\"%s\"", envp[i]);
		if (strstr(text, quoted) == NULL)
			fail_msg("contrib/microvm-init.c lacks %s", quoted);
	}
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32),
		cmocka_unit_test(test_encode_layout),
		cmocka_unit_test(test_parse_noise_and_splits),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_parse_no_nested_frames),
		cmocka_unit_test(test_parse_stop_and_full),
		cmocka_unit_test(test_exit_payload),
		cmocka_unit_test(test_u64),
		cmocka_unit_test(test_guest_roundtrip),
		cmocka_unit_test(test_guest_parse_errors),
		cmocka_unit_test(test_lang),
		cmocka_unit_test(test_cpio),
		cmocka_unit_test(test_guest_env_matches_plan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
