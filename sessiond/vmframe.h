/*
 * What a microVM's host and guest say to each other, both ways, as pure
 * functions: the daemon and the guest's init (contrib/microvm-init.c,
 * built static by contrib/microvm-image) compile this same file, so the
 * two ends cannot disagree on a byte.
 *
 * Host to guest, before boot:
 *   - the guest's settings, as "enclave.*" words on the kernel command
 *     line (vmframe_guest_format(), vmframe_guest_parse());
 *   - the run's files (the workload's code, the result helpers), as a
 *     newc cpio archive the host appends to the image's initramfs
 *     (vmframe_cpio_*()); the kernel unpacks both into the guest's root.
 *
 * Guest to host, while it runs: frames on the serial console (ttyS0 under
 * QEMU and Firecracker alike), interleaved with whatever else reaches that
 * port (the kernel's emergency messages), so the parser resynchronises on
 * the magic and trusts a frame only when its CRC holds:
 *
 *	offset	size	field
 *	0	4	magic "\xc5" "EVF"
 *	4	1	type (enum vmframe_type)
 *	5	1	flags, always 0
 *	6	2	payload length, big-endian, <= VMFRAME_PAYLOAD_MAX
 *	8	4	CRC-32 (IEEE, as zlib's) of bytes 4..7 and the payload,
 *			big-endian
 *	12	len	payload
 *
 * The guest is hostile once the workload runs (a kernel exploit makes it
 * root in the guest): nothing it sends is believed beyond what the parser
 * checks, and every length is bounded here.
 */
#ifndef ENCLAVE_SESSIOND_VMFRAME_H
#define ENCLAVE_SESSIOND_VMFRAME_H

#include <stddef.h>
#include <stdint.h>

#define VMFRAME_HDR_LEN		12
#define VMFRAME_PAYLOAD_MAX	4096
#define VMFRAME_MAX		(VMFRAME_HDR_LEN + VMFRAME_PAYLOAD_MAX)
/* Noise (bytes outside any frame) the parser keeps for diagnostics. */
#define VMFRAME_TAIL_MAX	512

enum vmframe_type {
	VMFRAME_HELLO = 1,	/* init runs; payload: u64 guest boot ms */
	VMFRAME_STARTED,	/* the workload was exec'd; u64 guest boot ms */
	VMFRAME_STDOUT,		/* bytes the workload wrote to fd 1 */
	VMFRAME_STDERR,		/* ... to fd 2 */
	VMFRAME_RESULT,		/* ... to fd 3 (ENCLAVE_RESULT_FD) */
	VMFRAME_EXIT,		/* the workload ended: struct vmframe_exit */
	VMFRAME_FAIL,		/* init could not run it: "step: reason" text */
	VMFRAME_TYPE_MAX = VMFRAME_FAIL
};

/* The end of a workload as the guest saw it. */
struct vmframe_exit {
	int exited;		/* 1: exited with code; 0: killed by signal */
	int code;		/* 0..255 */
	int signal;		/* 1..127 when !exited */
	int oom;		/* the guest's memory cgroup OOM-killed in it */
	uint64_t cpu_ms;	/* the workload's cgroup, guest time */
	uint64_t mem_peak_bytes;
};
#define VMFRAME_EXIT_LEN	24

/*
 * One frame into out[0..outlen); its length, or 0 when type is unknown,
 * len is over VMFRAME_PAYLOAD_MAX or out is too small.
 */
size_t vmframe_encode(uint8_t *out, size_t outlen, unsigned int type,
    const void *payload, size_t len);

/* The EXIT payload, VMFRAME_EXIT_LEN bytes; out must hold that many. */
void vmframe_exit_encode(uint8_t *out, const struct vmframe_exit *e);
/* 0, or -1 when the payload is not one vmframe_exit_encode() makes. */
int vmframe_exit_decode(const uint8_t *p, size_t len, struct vmframe_exit *e);

/* HELLO and STARTED carry one big-endian u64. */
void vmframe_u64_encode(uint8_t out[8], uint64_t v);
int vmframe_u64_decode(const uint8_t *p, size_t len, uint64_t *v);

/* CRC-32 (IEEE 802.3, reflected, as zlib's crc32()), continued from crc. */
uint32_t vmframe_crc32(uint32_t crc, const void *buf, size_t len);

/*
 * Called once per good frame, in order; payload is valid during the call
 * only. Non-zero stops vmframe_parser_feed(), which returns it.
 */
typedef int (*vmframe_cb)(unsigned int type, const uint8_t *payload,
    size_t len, void *arg);

/* Incremental: bytes may arrive in any split. Zero-initialise or _init(). */
struct vmframe_parser {
	uint8_t buf[VMFRAME_MAX];
	size_t have;
	uint64_t frames;	/* good frames delivered */
	uint64_t noise;		/* bytes that were in no good frame */
	uint64_t bad;		/* candidate frames refused (header, CRC) */
	/* The last noise bytes, oldest first: a guest's last words. */
	char tail[VMFRAME_TAIL_MAX];
	size_t tail_len;
};

void vmframe_parser_init(struct vmframe_parser *p);

/*
 * Feed data[0..len). Delivers every frame that is complete; keeps at most
 * VMFRAME_MAX - 1 bytes of an incomplete one for the next call. Returns 0,
 * or the callback's non-zero value (the rest of data is then not parsed).
 */
int vmframe_parser_feed(struct vmframe_parser *p, const uint8_t *data,
    size_t len, vmframe_cb cb, void *arg);

/* The guest's settings: what its init needs besides the run's files. */
#define VMFRAME_GUEST_STR	16
struct vmframe_guest {
	char addr[VMFRAME_GUEST_STR];	/* dotted quad */
	char gateway[VMFRAME_GUEST_STR];	/* also its DNS server */
	unsigned int prefixlen;		/* 1..32 */
	char lang[VMFRAME_GUEST_STR];	/* "python", "sh", "node" */
	unsigned long uid, gid;		/* 1..4294967294 */
	unsigned int memory_mb;		/* the workload's cgroup; >= 16 */
	unsigned int pids;		/* >= 4 */
	unsigned int workspace_mb;	/* /workspace tmpfs, RLIMIT_FSIZE */
	unsigned int tmp_mb;		/* /tmp tmpfs */
	char usr[VMFRAME_GUEST_STR];	/* "9p": tag usr; "vda": a drive */
	int debug;			/* 1: trace, then a shell */
};

/*
 * The "enclave.*" words for g, space-separated, into out; 0, or -1 when a
 * field is out of range or out is too small.
 */
int vmframe_guest_format(const struct vmframe_guest *g, char *out,
    size_t len);

/*
 * Read g back from a whole kernel command line (other words are skipped).
 * 0, or -1 with why set to the first missing or malformed setting.
 */
int vmframe_guest_parse(const char *cmdline, struct vmframe_guest *g,
    const char **why);

/* The interpreter and file of a language, or -1 when there is none. */
int vmframe_lang(const char *lang, const char **interp, const char **file);

/* A newc cpio archive being built in memory. Zero-initialise. */
struct vmframe_cpio {
	uint8_t *buf;
	size_t len, cap;
	size_t max;		/* refuse to grow past this; 0: 256 MiB */
	unsigned int ino;
};

/*
 * Append a directory or a regular file (mode's permission bits only;
 * owned by root). path is relative ("enclave/run/main.py"), without ".."
 * or empty components. 0, or -1 (errno EINVAL, ENOMEM, EFBIG).
 */
int vmframe_cpio_dir(struct vmframe_cpio *c, const char *path,
    unsigned int mode);
int vmframe_cpio_file(struct vmframe_cpio *c, const char *path,
    unsigned int mode, const void *data, size_t len);
/* The TRAILER!!! entry, padded to 512 bytes. */
int vmframe_cpio_finish(struct vmframe_cpio *c);
void vmframe_cpio_free(struct vmframe_cpio *c);

#endif
