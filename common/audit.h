/*
 * The append-only, SHA-256 hash-chained audit log: one JSON event per line,
 *
 *   {"seq":N,"ts":"…","session":…,"tenant":…,"type":"…","data":{…},
 *    "prev":"<64 hex>","hash":"<64 hex>"}\n
 *
 * keys in exactly that order. hash is the lower-case hex SHA-256 of the line's
 * bytes up to and including the prev field (everything before ,"hash":"),
 * prev is the previous event's hash (64 '0' for the first), seq starts at 1
 * and grows by exactly 1. The chain proves order and integrity of what is in
 * the file; anchoring its head elsewhere is what proves nothing was cut off
 * the end.
 */
#ifndef ENCLAVE_COMMON_AUDIT_H
#define ENCLAVE_COMMON_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#define AUDIT_LINE_MAX		(1024 * 1024)	/* bytes, excluding '\n' */
#define AUDIT_PENDING_MAX	(8 * 1024 * 1024) /* unflushed bytes */
#define AUDIT_FIELD_MAX		1024		/* session and tenant */
#define AUDIT_HASH_HEX		64

struct audit_log;

struct audit_verify_result {
	uint64_t events;	/* good events before the first bad line */
	uint64_t last_seq;	/* of the last good event, 0 if none */
	char	 last_hash[AUDIT_HASH_HEX + 1];	/* 64 '0' if none */
	uint64_t good_bytes;	/* length of the verified prefix */
	uint64_t bad_line;	/* 1-based first bad line; 0 if none */
	char	 message[256];	/* "line 7: hash mismatch"; "" when valid */
};

/* Returns 0 and fills *now; a test clock may fail with -1. */
typedef int (*audit_clock_fn)(struct timespec *now, void *arg);

/* Called with each verified event (borrowed: json_incref to keep it).
 * Return 0 to go on, >0 to stop early (not an error), <0 to fail. */
typedef int (*audit_event_fn)(json_t *ev, void *arg);

/*
 * Opens (creating, mode 0600) the log for appending, refusing symlinks and
 * non-regular files, takes an exclusive flock, and verifies the whole file
 * to recover the last seq and hash. A damaged or torn file makes it fail
 * with a message naming the line: the chain is never continued blindly.
 */
struct audit_log *audit_open(const char *path, char *err, size_t errlen);

/* Discards unflushed events; flush first to keep them. NULL is fine. */
void audit_close(struct audit_log *log);

/* Injects the clock used for "ts" (tests); NULL restores CLOCK_REALTIME. */
void audit_set_clock(struct audit_log *log, audit_clock_fn fn, void *arg);

/*
 * Builds and buffers one event; nothing reaches the file before
 * audit_flush(). data is borrowed and must be an object or NULL ({}). type
 * must be one of the known event types. On -1 nothing is buffered and the
 * reason is in audit_error().
 */
int audit_append(struct audit_log *log, const char *session,
    const char *tenant, const char *type, json_t *data, uint64_t *seq_out);

/*
 * Writes every buffered event and fsync()s once. All or nothing: on -1 the
 * file is truncated back to the last durable event, the buffered events are
 * dropped and seq/prev roll back, so their seq numbers will be reused. If
 * even that truncation fails the log refuses all further work; reopening
 * then reports the torn line.
 */
int audit_flush(struct audit_log *log);

/* audit_append() then audit_flush(). */
int audit_write(struct audit_log *log, const char *session,
    const char *tenant, const char *type, json_t *data, uint64_t *seq_out);

/* Buffered, not yet written events. */
size_t audit_pending(const struct audit_log *log);

/* seq and hash of the last durable event (0 and 64 '0' when none). */
uint64_t audit_last_seq(const struct audit_log *log);
const char *audit_last_hash(const struct audit_log *log);

/* Why the last call on log failed. */
const char *audit_error(const struct audit_log *log);

/* 1 if type is a known event type. */
int audit_type_known(const char *type);

/*
 * Verifiers: 0 when every line is good (an empty log is valid), -1 with
 * res->bad_line and res->message otherwise (bad_line is 0 for I/O and
 * callback errors). A last line without '\n' is reported torn, never
 * accepted. audit_verify_fd reads from the fd's current offset to EOF.
 */
int audit_verify_buf(const char *buf, size_t len,
    struct audit_verify_result *res);
int audit_verify_fd(int fd, struct audit_verify_result *res);
int audit_verify_file(const char *path, struct audit_verify_result *res);

/*
 * Verifies path from its start and calls cb for each event with seq > after.
 * Events are delivered as they are verified: if it returns -1, discard what
 * cb collected.
 */
int audit_read(const char *path, uint64_t after, audit_event_fn cb,
    void *arg, struct audit_verify_result *res);

#endif /* ENCLAVE_COMMON_AUDIT_H */
