#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/audit.h"

#define HASH_KEY	",\"hash\":\""
#define HASH_KEY_LEN	(sizeof(HASH_KEY) - 1)
/* ,"hash":"<64 hex>"} — the fixed tail after the hashed bytes. */
#define HASH_TAIL_LEN	(HASH_KEY_LEN + AUDIT_HASH_HEX + 2)
#define ZERO_HASH \
	"0000000000000000000000000000000000000000000000000000000000000000"
#define TS_LEN		24	/* 2026-11-28T21:00:00.123Z */

struct audit_log {
	int		 fd;
	int		 broken;	/* file state unknown: refuse work */
	uint64_t	 seq;		/* last durable event */
	char		 hash[AUDIT_HASH_HEX + 1];
	uint64_t	 size;		/* file length up to that event */
	uint64_t	 pend_seq;	/* head of the chain incl. buffered */
	char		 pend_hash[AUDIT_HASH_HEX + 1];
	char		*buf;		/* buffered lines */
	size_t		 len;
	size_t		 cap;
	size_t		 npending;
	audit_clock_fn	 clock;
	void		*clock_arg;
	char		 err[256];
};

/* One verification pass, over a buffer or an fd. */
struct audit_verifier {
	struct audit_verify_result *res;
	uint64_t	 lineno;
	uint64_t	 after;
	audit_event_fn	 cb;
	void		*arg;
};

static const char *const audit_types[] = {
	"session_created", "sandbox_started", "egress_allowed", "egress_denied",
	"secret_injected", "result_collected", "workload_exited",
	"usage_metered", "session_torn_down", "sandbox_failed", NULL
};

static const char *const audit_keys[] = {
	"seq", "ts", "session", "tenant", "type", "data", "prev", "hash"
};
#define AUDIT_NKEYS	(sizeof(audit_keys) / sizeof(audit_keys[0]))

int
audit_type_known(const char *type)
{
	size_t i;

	for (i = 0; audit_types[i] != NULL; i++)
		if (strcmp(type, audit_types[i]) == 0)
			return 1;
	return 0;
}

static int
audit_sha256_hex(const void *data, size_t len, char hex[AUDIT_HASH_HEX + 1])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen * 2 != AUDIT_HASH_HEX)
		return -1;
	for (i = 0; i < mdlen; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 0xf];
	}
	hex[AUDIT_HASH_HEX] = '\0';
	return 0;
}

static int
audit_hex_valid(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* Strict shape of what the writer emits: YYYY-MM-DDTHH:MM:SS.mmmZ. */
static int
audit_ts_valid(const char *s, size_t n)
{
	static const char pat[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	size_t i;

	if (n != TS_LEN)
		return 0;
	for (i = 0; i < TS_LEN; i++) {
		if (pat[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pat[i])
			return 0;
	}
#define TWO(p) ((s[p] - '0') * 10 + (s[p + 1] - '0'))
	return TWO(5) >= 1 && TWO(5) <= 12 && TWO(8) >= 1 && TWO(8) <= 31 &&
	    TWO(11) <= 23 && TWO(14) <= 59 && TWO(17) <= 60;
#undef TWO
}

static int
audit_format_ts(const struct timespec *now, char out[TS_LEN + 1])
{
	struct tm tm;
	long ms;

	if (now->tv_nsec < 0 || now->tv_nsec > 999999999 ||
	    gmtime_r(&now->tv_sec, &tm) == NULL ||
	    tm.tm_year < 1000 - 1900 || tm.tm_year > 9999 - 1900)
		return -1;
	if (strftime(out, TS_LEN + 1, "%Y-%m-%dT%H:%M:%S", &tm) != 19)
		return -1;
	ms = now->tv_nsec / 1000000;
	out[19] = '.';
	out[20] = (char)('0' + ms / 100);
	out[21] = (char)('0' + ms / 10 % 10);
	out[22] = (char)('0' + ms % 10);
	out[23] = 'Z';
	out[24] = '\0';
	return 0;
}

static int
audit_clock_realtime(struct timespec *now, void *arg)
{
	(void)arg;
	return clock_gettime(CLOCK_REALTIME, now);
}

/*
 * Checks one line (without its '\n') against the chain head; shared by the
 * verifier and the writer's self-check so the writer can never emit a line
 * the verifier rejects. On success *ev_out owns the parsed event.
 */
static int
audit_check_line(const char *line, size_t len, uint64_t last_seq,
    const char *last_hash, json_t **ev_out, char *why, size_t whylen)
{
	const char *tail, *key, *s;
	char hex[AUDIT_HASH_HEX + 1];
	json_t *ev, *v;
	json_error_t jerr;
	json_int_t seq;
	size_t i = 0;

	*ev_out = NULL;
	if (len < HASH_TAIL_LEN + 1 || line[0] != '{') {
		snprintf(why, whylen, "not an audit event");
		return -1;
	}
	tail = line + len - HASH_TAIL_LEN;
	if (memcmp(tail, HASH_KEY, HASH_KEY_LEN) != 0 ||
	    !audit_hex_valid(tail + HASH_KEY_LEN, AUDIT_HASH_HEX) ||
	    memcmp(line + len - 2, "\"}", 2) != 0) {
		snprintf(why, whylen, "does not end with a \"hash\" field");
		return -1;
	}
	ev = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (ev == NULL) {
		snprintf(why, whylen, "not valid JSON (%s at column %d)",
		    jerr.text, jerr.column);
		return -1;
	}
	if (!json_is_object(ev))
		goto bad_fields;
	json_object_foreach(ev, key, v) {
		if (i >= AUDIT_NKEYS || strcmp(key, audit_keys[i]) != 0)
			goto bad_fields;
		i++;
	}
	if (i != AUDIT_NKEYS)
		goto bad_fields;

	v = json_object_get(ev, "seq");
	if (!json_is_integer(v) || (seq = json_integer_value(v)) < 1) {
		snprintf(why, whylen, "seq: must be a positive integer");
		goto fail;
	}
	v = json_object_get(ev, "ts");
	if (!json_is_string(v) ||
	    !audit_ts_valid(json_string_value(v), json_string_length(v))) {
		snprintf(why, whylen, "ts: not an RFC 3339 UTC time with ms");
		goto fail;
	}
	if (!json_is_string(json_object_get(ev, "session")) ||
	    !json_is_string(json_object_get(ev, "tenant"))) {
		snprintf(why, whylen, "session and tenant must be strings");
		goto fail;
	}
	v = json_object_get(ev, "type");
	if (!json_is_string(v) || !audit_type_known(json_string_value(v))) {
		snprintf(why, whylen, "type: unknown event type");
		goto fail;
	}
	if (!json_is_object(json_object_get(ev, "data"))) {
		snprintf(why, whylen, "data: must be an object");
		goto fail;
	}
	v = json_object_get(ev, "prev");
	if (!json_is_string(v) || json_string_length(v) != AUDIT_HASH_HEX ||
	    !audit_hex_valid(json_string_value(v), AUDIT_HASH_HEX)) {
		snprintf(why, whylen, "prev: must be 64 lower-case hex digits");
		goto fail;
	}
	v = json_object_get(ev, "hash");
	if (!json_is_string(v) || json_string_length(v) != AUDIT_HASH_HEX ||
	    memcmp(json_string_value(v), tail + HASH_KEY_LEN,
	    AUDIT_HASH_HEX) != 0) {
		snprintf(why, whylen, "hash: malformed");
		goto fail;
	}

	if ((uint64_t)seq != last_seq + 1) {
		snprintf(why, whylen, "seq %" JSON_INTEGER_FORMAT " after %"
		    PRIu64, seq, last_seq);
		goto fail;
	}
	s = json_string_value(json_object_get(ev, "prev"));
	if (memcmp(s, last_hash, AUDIT_HASH_HEX) != 0) {
		snprintf(why, whylen, "prev does not match the previous hash");
		goto fail;
	}
	if (audit_sha256_hex(line, len - HASH_TAIL_LEN, hex) == -1) {
		snprintf(why, whylen, "SHA-256 failed");
		goto fail;
	}
	if (memcmp(hex, tail + HASH_KEY_LEN, AUDIT_HASH_HEX) != 0) {
		snprintf(why, whylen, "hash mismatch");
		goto fail;
	}
	*ev_out = ev;
	return 0;

bad_fields:
	snprintf(why, whylen,
	    "fields are not exactly seq,ts,session,tenant,type,data,prev,hash");
fail:
	json_decref(ev);
	return -1;
}

/* Messages quote hostile input (jansson echoes it): keep them printable. */
static void
audit_sanitize(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = '?';
}

static void
audit_result_init(struct audit_verify_result *res)
{
	memset(res, 0, sizeof(*res));
	memcpy(res->last_hash, ZERO_HASH, sizeof(res->last_hash));
}

static int __attribute__((format(printf, 2, 3)))
audit_verifier_fail(struct audit_verifier *vs, const char *fmt, ...)
{
	struct audit_verify_result *res = vs->res;
	char why[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	res->bad_line = vs->lineno;
	snprintf(res->message, sizeof(res->message), "line %" PRIu64 ": %s",
	    vs->lineno, why);
	audit_sanitize(res->message);
	return -1;
}

/* A complete line (without '\n'): 0 go on, 1 the callback stopped, -1 bad. */
static int
audit_verifier_line(struct audit_verifier *vs, const char *line, size_t len)
{
	struct audit_verify_result *res = vs->res;
	char why[200];
	json_t *ev;
	int rc = 0;

	vs->lineno++;
	if (len > AUDIT_LINE_MAX)
		return audit_verifier_fail(vs, "longer than %d bytes",
		    AUDIT_LINE_MAX);
	if (audit_check_line(line, len, res->last_seq, res->last_hash, &ev,
	    why, sizeof(why)) == -1)
		return audit_verifier_fail(vs, "%s", why);
	res->events++;
	res->last_seq++;
	memcpy(res->last_hash, line + len - AUDIT_HASH_HEX - 2, AUDIT_HASH_HEX);
	res->good_bytes += len + 1;
	if (vs->cb != NULL && res->last_seq > vs->after) {
		rc = vs->cb(ev, vs->arg);
		if (rc < 0) {
			snprintf(res->message, sizeof(res->message),
			    "line %" PRIu64 ": callback failed", vs->lineno);
			rc = -1;
		} else if (rc > 0)
			rc = 1;
	}
	json_decref(ev);
	return rc;
}

/* Bytes left at EOF without a '\n'. */
static int
audit_verifier_tail(struct audit_verifier *vs, size_t len)
{
	vs->lineno++;
	if (len > AUDIT_LINE_MAX)
		return audit_verifier_fail(vs, "longer than %d bytes",
		    AUDIT_LINE_MAX);
	return audit_verifier_fail(vs,
	    "torn last line (no newline; crash mid-write?)");
}

static int
audit_verify_buf_cb(const char *buf, size_t len, struct audit_verifier *vs)
{
	const char *p = buf, *end = buf + len, *nl;
	int rc;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			return audit_verifier_tail(vs, (size_t)(end - p));
		rc = audit_verifier_line(vs, p, (size_t)(nl - p));
		if (rc != 0)
			return rc < 0 ? -1 : 0;
		p = nl + 1;
	}
	return 0;
}

int
audit_verify_buf(const char *buf, size_t len, struct audit_verify_result *res)
{
	struct audit_verifier vs = { .res = res };

	audit_result_init(res);
	return audit_verify_buf_cb(buf, len, &vs);
}

/* Streams fd from its current offset with one line-sized buffer. */
static int
audit_verify_fd_cb(int fd, struct audit_verifier *vs)
{
	const size_t cap = AUDIT_LINE_MAX + 1;
	size_t have = 0, off;
	char *buf, *nl;
	ssize_t n;
	int rc = -1, r;

	if ((buf = malloc(cap)) == NULL) {
		snprintf(vs->res->message, sizeof(vs->res->message),
		    "out of memory");
		return -1;
	}
	for (;;) {
		n = read(fd, buf + have, cap - have);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			snprintf(vs->res->message, sizeof(vs->res->message),
			    "read: %s", strerror(errno));
			goto out;
		}
		if (n == 0) {
			rc = have == 0 ? 0 : audit_verifier_tail(vs, have);
			goto out;
		}
		have += (size_t)n;
		off = 0;
		while ((nl = memchr(buf + off, '\n', have - off)) != NULL) {
			r = audit_verifier_line(vs, buf + off,
			    (size_t)(nl - (buf + off)));
			if (r != 0) {
				rc = r < 0 ? -1 : 0;
				goto out;
			}
			off = (size_t)(nl - buf) + 1;
		}
		memmove(buf, buf + off, have - off);
		have -= off;
		if (have == cap) {
			rc = audit_verifier_tail(vs, have);
			goto out;
		}
	}
out:
	free(buf);
	return rc;
}

int
audit_verify_fd(int fd, struct audit_verify_result *res)
{
	struct audit_verifier vs = { .res = res };

	audit_result_init(res);
	return audit_verify_fd_cb(fd, &vs);
}

int
audit_read(const char *path, uint64_t after, audit_event_fn cb, void *arg,
    struct audit_verify_result *res)
{
	struct audit_verifier vs = {
		.res = res, .after = after, .cb = cb, .arg = arg
	};
	int fd, rc;

	audit_result_init(res);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd == -1) {
		snprintf(res->message, sizeof(res->message), "open: %s",
		    strerror(errno));
		return -1;
	}
	rc = audit_verify_fd_cb(fd, &vs);
	close(fd);
	return rc;
}

int
audit_verify_file(const char *path, struct audit_verify_result *res)
{
	return audit_read(path, 0, NULL, NULL, res);
}

static int __attribute__((format(printf, 2, 3)))
audit_fail(struct audit_log *log, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(log->err, sizeof(log->err), fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * Reads through the same fd it appends to (O_RDWR rather than O_WRONLY), so
 * the file verified is the file continued.
 */
struct audit_log *
audit_open(const char *path, char *err, size_t errlen)
{
	struct audit_verify_result res;
	struct audit_log *log;
	struct stat st;

	if ((log = calloc(1, sizeof(*log))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	log->clock = audit_clock_realtime;
	log->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW | O_NOCTTY, 0600);
	if (log->fd == -1) {
		snprintf(err, errlen, "%s: %s", path, errno == ELOOP ?
		    "is a symlink, refused" : strerror(errno));
		goto fail_free;
	}
	if (fstat(log->fd, &st) == -1) {
		snprintf(err, errlen, "%s: fstat: %s", path, strerror(errno));
		goto fail_close;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto fail_close;
	}
	if (flock(log->fd, LOCK_EX | LOCK_NB) == -1) {
		snprintf(err, errlen, "%s: %s", path, errno == EWOULDBLOCK ?
		    "open by another writer" : strerror(errno));
		goto fail_close;
	}
	if (audit_verify_fd(log->fd, &res) == -1) {
		snprintf(err, errlen, "%s: %s", path, res.message);
		goto fail_close;
	}
	log->seq = log->pend_seq = res.last_seq;
	memcpy(log->hash, res.last_hash, sizeof(log->hash));
	memcpy(log->pend_hash, res.last_hash, sizeof(log->pend_hash));
	log->size = res.good_bytes;
	return log;

fail_close:
	close(log->fd);
fail_free:
	free(log);
	return NULL;
}

void
audit_close(struct audit_log *log)
{
	if (log == NULL)
		return;
	close(log->fd);
	free(log->buf);
	free(log);
}

void
audit_set_clock(struct audit_log *log, audit_clock_fn fn, void *arg)
{
	log->clock = fn != NULL ? fn : audit_clock_realtime;
	log->clock_arg = fn != NULL ? arg : NULL;
}

/* A C string as a JSON string literal, escaped by jansson; free(). */
static char *
audit_quote(const char *s)
{
	json_t *j;
	char *out;

	if ((j = json_string(s)) == NULL)
		return NULL;
	out = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(j);
	return out;
}

/* The full line for the next event, '\n' included; free(). */
static char *
audit_build(struct audit_log *log, const char *session, const char *tenant,
    const char *type, json_t *data, size_t *len_out)
{
	char ts[TS_LEN + 1], hex[AUDIT_HASH_HEX + 1], why[200];
	char *qsession = NULL, *qtenant = NULL, *qdata = NULL, *line = NULL;
	struct timespec now;
	json_t *ev;
	int n;

	if (session == NULL || tenant == NULL || type == NULL) {
		audit_fail(log, "session, tenant and type are required");
		return NULL;
	}
	if (!audit_type_known(type)) {
		audit_fail(log, "unknown event type");
		return NULL;
	}
	if (strlen(session) > AUDIT_FIELD_MAX || strlen(tenant) > AUDIT_FIELD_MAX) {
		audit_fail(log, "session or tenant longer than %d bytes",
		    AUDIT_FIELD_MAX);
		return NULL;
	}
	if (data != NULL && !json_is_object(data)) {
		audit_fail(log, "data must be an object");
		return NULL;
	}
	if (log->pend_seq >= (uint64_t)INT64_MAX) {
		audit_fail(log, "seq exhausted");
		return NULL;
	}
	if (log->clock(&now, log->clock_arg) == -1 ||
	    audit_format_ts(&now, ts) == -1) {
		audit_fail(log, "clock failed or out of range");
		return NULL;
	}
	if ((qsession = audit_quote(session)) == NULL ||
	    (qtenant = audit_quote(tenant)) == NULL) {
		audit_fail(log, "session or tenant is not valid UTF-8");
		goto out;
	}
	qdata = data == NULL ? strdup("{}") : json_dumps(data,
	    JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	if (qdata == NULL) {
		audit_fail(log, "data cannot be encoded");
		goto out;
	}
	n = snprintf(NULL, 0, "{\"seq\":%" PRIu64 ",\"ts\":\"%s\",\"session\":%s,"
	    "\"tenant\":%s,\"type\":\"%s\",\"data\":%s,\"prev\":\"%s\"",
	    log->pend_seq + 1, ts, qsession, qtenant, type, qdata,
	    log->pend_hash);
	if (n < 0 || (size_t)n + HASH_TAIL_LEN > AUDIT_LINE_MAX) {
		audit_fail(log, "event longer than %d bytes", AUDIT_LINE_MAX);
		goto out;
	}
	if ((line = malloc((size_t)n + HASH_TAIL_LEN + 2)) == NULL) {
		audit_fail(log, "out of memory");
		goto out;
	}
	snprintf(line, (size_t)n + 1, "{\"seq\":%" PRIu64 ",\"ts\":\"%s\","
	    "\"session\":%s,\"tenant\":%s,\"type\":\"%s\",\"data\":%s,"
	    "\"prev\":\"%s\"", log->pend_seq + 1, ts, qsession, qtenant, type,
	    qdata, log->pend_hash);
	if (audit_sha256_hex(line, (size_t)n, hex) == -1) {
		audit_fail(log, "SHA-256 failed");
		goto fail_line;
	}
	snprintf(line + n, HASH_TAIL_LEN + 2, "%s%s\"}\n", HASH_KEY, hex);
	*len_out = (size_t)n + HASH_TAIL_LEN + 1;
	if (audit_check_line(line, *len_out - 1, log->pend_seq, log->pend_hash,
	    &ev, why, sizeof(why)) == -1) {
		audit_fail(log, "built an invalid event: %s", why);
		goto fail_line;
	}
	json_decref(ev);
	goto out;

fail_line:
	free(line);
	line = NULL;
out:
	free(qdata);
	free(qtenant);
	free(qsession);
	return line;
}

int
audit_append(struct audit_log *log, const char *session, const char *tenant,
    const char *type, json_t *data, uint64_t *seq_out)
{
	size_t len, cap;
	char *line, *nbuf;

	if (log->broken)
		return audit_fail(log, "log is in an unknown state; reopen it");
	if ((line = audit_build(log, session, tenant, type, data, &len)) == NULL)
		return -1;
	if (log->len + len > AUDIT_PENDING_MAX) {
		audit_fail(log, "too many unflushed events; flush first");
		goto fail;
	}
	if (log->len + len > log->cap) {
		cap = log->cap == 0 ? 4096 : log->cap;
		while (cap < log->len + len)
			cap *= 2;
		if ((nbuf = realloc(log->buf, cap)) == NULL) {
			audit_fail(log, "out of memory");
			goto fail;
		}
		log->buf = nbuf;
		log->cap = cap;
	}
	memcpy(log->buf + log->len, line, len);
	log->len += len;
	log->npending++;
	log->pend_seq++;
	memcpy(log->pend_hash, line + len - 1 - AUDIT_HASH_HEX - 2,
	    AUDIT_HASH_HEX);
	if (seq_out != NULL)
		*seq_out = log->pend_seq;
	free(line);
	return 0;

fail:
	free(line);
	return -1;
}

/* Forgets the batch and cuts the file back to the last durable event. */
static int
audit_rollback(struct audit_log *log, const char *what, int saved)
{
	char cause[128];

	snprintf(cause, sizeof(cause), "%s", strerror(saved));
	log->len = 0;
	log->npending = 0;
	log->pend_seq = log->seq;
	memcpy(log->pend_hash, log->hash, sizeof(log->pend_hash));
	if (ftruncate(log->fd, (off_t)log->size) == -1 || fsync(log->fd) == -1) {
		log->broken = 1;
		return audit_fail(log, "%s: %s; truncating back failed: %s",
		    what, cause, strerror(errno));
	}
	return audit_fail(log, "%s: %s; batch dropped", what, cause);
}

int
audit_flush(struct audit_log *log)
{
	size_t off = 0;
	ssize_t n;

	if (log->broken)
		return audit_fail(log, "log is in an unknown state; reopen it");
	if (log->len == 0)
		return 0;
	while (off < log->len) {
		n = write(log->fd, log->buf + off, log->len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return audit_rollback(log, "write",
			    n == 0 ? EIO : errno);
		off += (size_t)n;
	}
	if (fsync(log->fd) == -1)
		return audit_rollback(log, "fsync", errno);
	log->seq = log->pend_seq;
	memcpy(log->hash, log->pend_hash, sizeof(log->hash));
	log->size += log->len;
	log->len = 0;
	log->npending = 0;
	return 0;
}

int
audit_write(struct audit_log *log, const char *session, const char *tenant,
    const char *type, json_t *data, uint64_t *seq_out)
{
	if (audit_append(log, session, tenant, type, data, seq_out) == -1)
		return -1;
	return audit_flush(log);
}

size_t
audit_pending(const struct audit_log *log)
{
	return log->npending;
}

uint64_t
audit_last_seq(const struct audit_log *log)
{
	return log->seq;
}

const char *
audit_last_hash(const struct audit_log *log)
{
	return log->hash;
}

const char *
audit_error(const struct audit_log *log)
{
	return log->err;
}
