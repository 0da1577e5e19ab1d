/*
 * The microVM's wire formats (see vmframe.h). No <config.h>: the guest's
 * init compiles this file too, outside the configured tree, so it uses
 * nothing but ISO C and inet_pton().
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sessiond/vmframe.h"

#define VMFRAME_CPIO_DEFAULT_MAX	(256u * 1024 * 1024)
#define VMFRAME_CPIO_PATH_MAX		255

static const uint8_t vmframe_magic[4] = { 0xc5, 'E', 'V', 'F' };

/* Four bits at a time: 16 entries are enough for the few MiB a run moves. */
static const uint32_t vmframe_crc_tab[16] = {
	0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac,
	0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
	0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
	0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
};

static const struct {
	const char *name, *interp, *file;
} vmframe_langs[] = {
	{ "python", "/usr/bin/python3", "main.py" },
	{ "sh", "/bin/sh", "main.sh" },
	{ "node", "/usr/bin/node", "main.js" },
};

uint32_t
vmframe_crc32(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	crc = ~crc;
	while (len-- > 0) {
		crc ^= *p++;
		crc = (crc >> 4) ^ vmframe_crc_tab[crc & 15];
		crc = (crc >> 4) ^ vmframe_crc_tab[crc & 15];
	}
	return ~crc;
}

static void
put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

void
vmframe_u64_encode(uint8_t out[8], uint64_t v)
{
	put_be32(out, (uint32_t)(v >> 32));
	put_be32(out + 4, (uint32_t)v);
}

static uint64_t
get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

int
vmframe_u64_decode(const uint8_t *p, size_t len, uint64_t *v)
{
	if (len != 8)
		return -1;
	*v = get_be64(p);
	return 0;
}

size_t
vmframe_encode(uint8_t *out, size_t outlen, unsigned int type,
    const void *payload, size_t len)
{
	uint32_t crc;

	if (type < VMFRAME_HELLO || type > VMFRAME_TYPE_MAX ||
	    len > VMFRAME_PAYLOAD_MAX || outlen < VMFRAME_HDR_LEN + len ||
	    (payload == NULL && len > 0))
		return 0;
	memcpy(out, vmframe_magic, sizeof(vmframe_magic));
	out[4] = (uint8_t)type;
	out[5] = 0;
	put_be16(out + 6, (uint16_t)len);
	if (len > 0)
		memcpy(out + VMFRAME_HDR_LEN, payload, len);
	crc = vmframe_crc32(0, out + 4, 4);
	crc = vmframe_crc32(crc, out + VMFRAME_HDR_LEN, len);
	put_be32(out + 8, crc);
	return VMFRAME_HDR_LEN + len;
}

/*
 * exited, signal, oom (one byte each), a zero byte, the code (be32), then
 * cpu_ms and mem_peak_bytes (be64 each).
 */
void
vmframe_exit_encode(uint8_t *out, const struct vmframe_exit *e)
{
	out[0] = e->exited ? 1 : 0;
	out[1] = (uint8_t)e->signal;
	out[2] = e->oom ? 1 : 0;
	out[3] = 0;
	put_be32(out + 4, (uint32_t)e->code);
	vmframe_u64_encode(out + 8, e->cpu_ms);
	vmframe_u64_encode(out + 16, e->mem_peak_bytes);
}

int
vmframe_exit_decode(const uint8_t *p, size_t len, struct vmframe_exit *e)
{
	uint32_t code;

	if (len != VMFRAME_EXIT_LEN || p[0] > 1 || p[2] > 1 || p[3] != 0)
		return -1;
	code = get_be32(p + 4);
	/* An exit has a code and no signal; a kill the other way round. */
	if (p[0] == 1 ? (code > 255 || p[1] != 0) :
	    (code != 0 || p[1] == 0 || p[1] > 127))
		return -1;
	e->exited = p[0];
	e->signal = p[1];
	e->oom = p[2];
	e->code = (int)code;
	e->cpu_ms = get_be64(p + 8);
	e->mem_peak_bytes = get_be64(p + 16);
	return 0;
}

void
vmframe_parser_init(struct vmframe_parser *p)
{
	memset(p, 0, sizeof(*p));
}

/* Count bytes outside any frame and keep the newest of them. */
static void
vmframe_noise(struct vmframe_parser *p, const uint8_t *b, size_t n)
{
	size_t drop;

	p->noise += n;
	if (n >= VMFRAME_TAIL_MAX) {
		memcpy(p->tail, b + n - VMFRAME_TAIL_MAX, VMFRAME_TAIL_MAX);
		p->tail_len = VMFRAME_TAIL_MAX;
		return;
	}
	if (p->tail_len + n > VMFRAME_TAIL_MAX) {
		drop = p->tail_len + n - VMFRAME_TAIL_MAX;
		memmove(p->tail, p->tail + drop, p->tail_len - drop);
		p->tail_len -= drop;
	}
	memcpy(p->tail + p->tail_len, b, n);
	p->tail_len += n;
}

/* Where the next possible frame starts in b[0..n): a whole magic, or a
 * prefix of one at the very end; n when there is none. */
static size_t
vmframe_find(const uint8_t *b, size_t n)
{
	const uint8_t *c;
	size_t i = 0, m;

	while (i < n) {
		if ((c = memchr(b + i, vmframe_magic[0], n - i)) == NULL)
			return n;
		i = (size_t)(c - b);
		m = n - i < sizeof(vmframe_magic) ? n - i :
		    sizeof(vmframe_magic);
		if (memcmp(b + i, vmframe_magic, m) == 0)
			return i;
		i++;
	}
	return n;
}

/* Deliver every complete frame in p->buf and keep the incomplete rest. */
static int
vmframe_drain(struct vmframe_parser *p, vmframe_cb cb, void *arg)
{
	const uint8_t *b;
	size_t off = 0, avail, skip, len;
	uint32_t crc;
	int rc = 0;

	while (rc == 0) {
		b = p->buf + off;
		avail = p->have - off;
		if ((skip = vmframe_find(b, avail)) > 0) {
			vmframe_noise(p, b, skip);
			off += skip;
			continue;
		}
		if (avail < VMFRAME_HDR_LEN)
			break;
		len = (size_t)b[6] << 8 | b[7];
		if (b[5] != 0 || b[4] < VMFRAME_HELLO ||
		    b[4] > VMFRAME_TYPE_MAX || len > VMFRAME_PAYLOAD_MAX) {
			/* Not a frame: step past this magic and look again. */
			p->bad++;
			vmframe_noise(p, b, 1);
			off++;
			continue;
		}
		if (avail < VMFRAME_HDR_LEN + len)
			break;
		crc = vmframe_crc32(0, b + 4, 4);
		crc = vmframe_crc32(crc, b + VMFRAME_HDR_LEN, len);
		if (crc != get_be32(b + 8)) {
			p->bad++;
			vmframe_noise(p, b, 1);
			off++;
			continue;
		}
		p->frames++;
		off += VMFRAME_HDR_LEN + len;
		rc = cb(b[4], b + VMFRAME_HDR_LEN, len, arg);
	}
	memmove(p->buf, p->buf + off, p->have - off);
	p->have -= off;
	return rc;
}

int
vmframe_parser_feed(struct vmframe_parser *p, const uint8_t *data,
    size_t len, vmframe_cb cb, void *arg)
{
	size_t n;
	int rc;

	/* After a drain fewer than VMFRAME_MAX bytes stay (a frame that
	 * fills the buffer is complete), so every pass takes some input. */
	while (len > 0) {
		n = sizeof(p->buf) - p->have;
		if (n > len)
			n = len;
		memcpy(p->buf + p->have, data, n);
		p->have += n;
		data += n;
		len -= n;
		if ((rc = vmframe_drain(p, cb, arg)) != 0)
			return rc;
	}
	return 0;
}

int
vmframe_lang(const char *lang, const char **interp, const char **file)
{
	size_t i;

	for (i = 0; lang != NULL &&
	    i < sizeof(vmframe_langs) / sizeof(vmframe_langs[0]); i++)
		if (strcmp(lang, vmframe_langs[i].name) == 0) {
			if (interp != NULL)
				*interp = vmframe_langs[i].interp;
			if (file != NULL)
				*file = vmframe_langs[i].file;
			return 0;
		}
	return -1;
}

static int
vmframe_ipv4_ok(const char *s)
{
	unsigned char a[4];

	return strlen(s) < VMFRAME_GUEST_STR && inet_pton(AF_INET, s, a) == 1;
}

static int
vmframe_guest_ok(const struct vmframe_guest *g)
{
	return vmframe_ipv4_ok(g->addr) && vmframe_ipv4_ok(g->gateway) &&
	    g->prefixlen >= 1 && g->prefixlen <= 32 &&
	    vmframe_lang(g->lang, NULL, NULL) == 0 &&
	    g->uid >= 1 && g->uid <= 4294967294UL &&
	    g->gid >= 1 && g->gid <= 4294967294UL &&
	    g->memory_mb >= 16 && g->memory_mb <= (1u << 20) &&
	    g->pids >= 4 && g->pids <= (1u << 16) &&
	    g->workspace_mb >= 1 && g->workspace_mb <= (1u << 16) &&
	    g->tmp_mb >= 1 && g->tmp_mb <= (1u << 16) &&
	    (strcmp(g->usr, "9p") == 0 || strcmp(g->usr, "vda") == 0) &&
	    (g->debug == 0 || g->debug == 1);
}

int
vmframe_guest_format(const struct vmframe_guest *g, char *out, size_t len)
{
	int n;

	if (!vmframe_guest_ok(g))
		return -1;
	n = snprintf(out, len, "enclave.addr=%s enclave.prefix=%u "
	    "enclave.gw=%s enclave.lang=%s enclave.uid=%lu enclave.gid=%lu "
	    "enclave.mem=%u enclave.pids=%u enclave.ws=%u enclave.tmp=%u "
	    "enclave.usr=%s%s", g->addr, g->prefixlen, g->gateway, g->lang,
	    g->uid, g->gid, g->memory_mb, g->pids, g->workspace_mb, g->tmp_mb,
	    g->usr, g->debug ? " enclave.debug=1" : "");
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Plain decimal, no sign, no leading zero, at most max. */
static int
vmframe_number(const char *s, size_t n, unsigned long max, unsigned long *v)
{
	unsigned long x = 0;
	size_t i;

	if (n == 0 || n > 10 || (n > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		x = x * 10 + (unsigned long)(s[i] - '0');
	}
	if (x > max)
		return -1;
	*v = x;
	return 0;
}

static int
vmframe_string(const char *s, size_t n, char *out)
{
	if (n == 0 || n >= VMFRAME_GUEST_STR || memchr(s, '\0', n) != NULL)
		return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

enum {
	G_ADDR, G_PREFIX, G_GW, G_LANG, G_UID, G_GID, G_MEM, G_PIDS, G_WS,
	G_TMP, G_USR, G_DEBUG, G_N
};
static const char *const vmframe_keys[G_N] = {
	"addr", "prefix", "gw", "lang", "uid", "gid", "mem", "pids", "ws",
	"tmp", "usr", "debug",
};

static int
vmframe_guest_set(struct vmframe_guest *g, int k, const char *v, size_t n)
{
	unsigned long x;

	switch (k) {
	case G_ADDR:
		return vmframe_string(v, n, g->addr);
	case G_GW:
		return vmframe_string(v, n, g->gateway);
	case G_LANG:
		return vmframe_string(v, n, g->lang);
	case G_USR:
		return vmframe_string(v, n, g->usr);
	case G_UID:
		return vmframe_number(v, n, 4294967294UL, &g->uid);
	case G_GID:
		return vmframe_number(v, n, 4294967294UL, &g->gid);
	}
	if (vmframe_number(v, n, UINT_MAX, &x) == -1)
		return -1;
	switch (k) {
	case G_PREFIX:
		g->prefixlen = (unsigned int)x;
		break;
	case G_MEM:
		g->memory_mb = (unsigned int)x;
		break;
	case G_PIDS:
		g->pids = (unsigned int)x;
		break;
	case G_WS:
		g->workspace_mb = (unsigned int)x;
		break;
	case G_TMP:
		g->tmp_mb = (unsigned int)x;
		break;
	default:
		g->debug = (int)(x > 1 ? 2 : x);
		break;
	}
	return 0;
}

int
vmframe_guest_parse(const char *cmdline, struct vmframe_guest *g,
    const char **why)
{
	static const char pfx[] = "enclave.";
	int seen[G_N] = { 0 }, k;
	const char *w = cmdline, *end, *eq;
	size_t wl, kl;

	memset(g, 0, sizeof(*g));
	*why = NULL;
	for (;;) {
		while (*w == ' ' || *w == '\t' || *w == '\n')
			w++;
		if (*w == '\0')
			break;
		end = w + strcspn(w, " \t\n");
		wl = (size_t)(end - w);
		if (wl > sizeof(pfx) - 1 &&
		    memcmp(w, pfx, sizeof(pfx) - 1) == 0) {
			w += sizeof(pfx) - 1;
			wl -= sizeof(pfx) - 1;
			if ((eq = memchr(w, '=', wl)) == NULL) {
				*why = "an enclave.* word without '='";
				return -1;
			}
			kl = (size_t)(eq - w);
			for (k = 0; k < G_N; k++)
				if (strlen(vmframe_keys[k]) == kl &&
				    memcmp(vmframe_keys[k], w, kl) == 0)
					break;
			if (k == G_N) {
				*why = "an unknown enclave.* setting";
				return -1;
			}
			if (seen[k]++) {
				*why = vmframe_keys[k];
				return -1;
			}
			if (vmframe_guest_set(g, k, eq + 1,
			    wl - kl - 1) == -1) {
				*why = vmframe_keys[k];
				return -1;
			}
		}
		w = end;
	}
	for (k = 0; k < G_N; k++)
		if (!seen[k] && k != G_DEBUG) {
			*why = vmframe_keys[k];
			return -1;
		}
	if (!vmframe_guest_ok(g)) {
		*why = "a setting out of range";
		return -1;
	}
	return 0;
}

static int
vmframe_cpio_grow(struct vmframe_cpio *c, size_t more)
{
	size_t max = c->max ? c->max : VMFRAME_CPIO_DEFAULT_MAX, want;
	uint8_t *nb;

	if (more > max || c->len > max - more) {
		errno = EFBIG;
		return -1;
	}
	if (c->len + more <= c->cap)
		return 0;
	want = c->cap ? c->cap : 4096;
	while (want < c->len + more)
		want = want > max / 2 ? max : want * 2;
	if ((nb = realloc(c->buf, want)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	c->buf = nb;
	c->cap = want;
	return 0;
}

/* Relative, no empty, "." or ".." component, printable. */
static int
vmframe_cpio_path_ok(const char *path)
{
	const char *p = path, *e;
	size_t n = strlen(path), i;

	if (n == 0 || n > VMFRAME_CPIO_PATH_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)path[i] <= ' ' || path[i] == 0x7f)
			return 0;
	for (;;) {
		e = strchr(p, '/');
		n = e != NULL ? (size_t)(e - p) : strlen(p);
		if (n == 0 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		if (e == NULL)
			return 1;
		p = e + 1;
	}
}

static int
vmframe_cpio_entry(struct vmframe_cpio *c, const char *path,
    unsigned int mode, unsigned int nlink, const void *data, size_t len)
{
	size_t namesz = strlen(path) + 1, hdr, pad;
	char h[111];

	if (len > 0xffffffffu) {
		errno = EFBIG;
		return -1;
	}
	hdr = 110 + namesz;
	hdr = (hdr + 3) & ~(size_t)3;
	pad = ((len + 3) & ~(size_t)3) - len;
	if (vmframe_cpio_grow(c, hdr + len + pad) == -1)
		return -1;
	snprintf(h, sizeof(h), "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X"
	    "%08X%08X%08X%08X", ++c->ino, mode, 0u, 0u, nlink, 0u,
	    (unsigned int)len, 0u, 0u, 0u, 0u, (unsigned int)namesz, 0u);
	memcpy(c->buf + c->len, h, 110);
	memcpy(c->buf + c->len + 110, path, namesz);
	memset(c->buf + c->len + 110 + namesz, 0, hdr - 110 - namesz);
	c->len += hdr;
	if (len > 0)
		memcpy(c->buf + c->len, data, len);
	memset(c->buf + c->len + len, 0, pad);
	c->len += len + pad;
	return 0;
}

int
vmframe_cpio_dir(struct vmframe_cpio *c, const char *path, unsigned int mode)
{
	if (!vmframe_cpio_path_ok(path)) {
		errno = EINVAL;
		return -1;
	}
	return vmframe_cpio_entry(c, path, 0040000 | (mode & 0777), 2, NULL,
	    0);
}

int
vmframe_cpio_file(struct vmframe_cpio *c, const char *path,
    unsigned int mode, const void *data, size_t len)
{
	if (!vmframe_cpio_path_ok(path) || (data == NULL && len > 0)) {
		errno = EINVAL;
		return -1;
	}
	return vmframe_cpio_entry(c, path, 0100000 | (mode & 0777), 1, data,
	    len);
}

int
vmframe_cpio_finish(struct vmframe_cpio *c)
{
	size_t pad;

	if (vmframe_cpio_entry(c, "TRAILER!!!", 0, 1, NULL, 0) == -1)
		return -1;
	pad = ((c->len + 511) & ~(size_t)511) - c->len;
	if (vmframe_cpio_grow(c, pad) == -1)
		return -1;
	memset(c->buf + c->len, 0, pad);
	c->len += pad;
	return 0;
}

void
vmframe_cpio_free(struct vmframe_cpio *c)
{
	free(c->buf);
	memset(c, 0, sizeof(*c));
}
