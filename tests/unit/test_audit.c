#include <sys/resource.h>
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/audit.h"

#define ZERO_HASH \
	"0000000000000000000000000000000000000000000000000000000000000000"

struct fixture {
	char	dir[64];
	char	path[128];
	struct timespec now;	/* the test clock, +1 ms per event */
};

struct collected {
	uint64_t seqs[16];
	size_t	 n;
	int	 stop_after;	/* return 1 after this many; 0 never */
	int	 fail;		/* return -1 at once */
	char	 session[256];
};

static int
fixture_setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_audit.XXXXXX");
	if (mkdtemp(fx->dir) == NULL) {
		free(fx);
		return -1;
	}
	snprintf(fx->path, sizeof(fx->path), "%s/audit.log", fx->dir);
	fx->now.tv_sec = 1795899600;	/* 2026-11-28T21:00:00Z */
	fx->now.tv_nsec = 123000000;
	*state = fx;
	return 0;
}

static int
fixture_teardown(void **state)
{
	struct fixture *fx = *state;
	char p[512];
	struct dirent *de;
	DIR *d;

	if ((d = opendir(fx->dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(p, sizeof(p), "%s/%s", fx->dir, de->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(fx->dir);
	free(fx);
	return 0;
}

static int
test_clock(struct timespec *now, void *arg)
{
	struct fixture *fx = arg;

	*now = fx->now;
	fx->now.tv_nsec += 1000000;
	if (fx->now.tv_nsec >= 1000000000) {
		fx->now.tv_sec++;
		fx->now.tv_nsec -= 1000000000;
	}
	return 0;
}

static struct audit_log *
open_log(struct fixture *fx)
{
	char err[256];
	struct audit_log *log = audit_open(fx->path, err, sizeof(err));

	if (log == NULL)
		fail_msg("audit_open: %s", err);
	audit_set_clock(log, test_clock, fx);
	return log;
}

/* Writes n events, host "hN.example" in each one's data. */
static void
write_events(struct fixture *fx, int n)
{
	struct audit_log *log = open_log(fx);
	char host[32];
	uint64_t seq;
	json_t *data;
	int i;

	for (i = 0; i < n; i++) {
		snprintf(host, sizeof(host), "h%d.example",
		    (int)audit_last_seq(log) + 1);
		data = json_pack("{s:s, s:i}", "host", host, "port", 443);
		assert_int_equal(audit_write(log, "ses_test", "default",
		    "egress_allowed", data, &seq), 0);
		assert_int_equal(seq, audit_last_seq(log));
		json_decref(data);
	}
	audit_close(log);
}

static char *
slurp(const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	int fd;

	assert_return_code(fd = open(path, O_RDONLY), 0);
	assert_return_code(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	buf[st.st_size] = '\0';
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

static void
spew(const char *path, const char *buf, size_t len)
{
	int fd;

	assert_return_code(fd = open(path, O_WRONLY | O_TRUNC), 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

/* Start of line n (1-based) in buf. */
static char *
line_at(char *buf, int n)
{
	while (--n > 0) {
		buf = strchr(buf, '\n');
		assert_non_null(buf);
		buf++;
	}
	return buf;
}

/* Both verifiers and audit_open must refuse, naming the same line. */
static void
expect_damage(struct fixture *fx, uint64_t line, const char *what)
{
	struct audit_verify_result res, bres;
	char err[256], *buf;
	size_t len;

	assert_int_equal(audit_verify_file(fx->path, &res), -1);
	assert_int_equal(res.bad_line, line);
	if (strstr(res.message, what) == NULL)
		fail_msg("expected \"%s\", got \"%s\"", what, res.message);
	assert_int_equal(res.events, line - 1);

	buf = slurp(fx->path, &len);
	assert_int_equal(audit_verify_buf(buf, len, &bres), -1);
	assert_string_equal(bres.message, res.message);
	assert_int_equal(bres.good_bytes, res.good_bytes);
	free(buf);

	assert_null(audit_open(fx->path, err, sizeof(err)));
	if (strstr(err, res.message) == NULL)
		fail_msg("open error \"%s\" lacks \"%s\"", err, res.message);
}

/*
 * Expected hash obtained once with:
 *   printf '%s' '{"seq":1,"ts":"2026-11-28T21:00:00.123Z","session":"ses_test",
 *   "tenant":"default","type":"egress_denied","data":{"host":"169.254.169.254",
 *   "port":80},"prev":"<64 zeros>"' | sha256sum
 * (one line, no spaces between fields).
 */
static void
test_known_hash(void **state)
{
	static const char expect[] =
	    "{\"seq\":1,\"ts\":\"2026-11-28T21:00:00.123Z\",\"session\":"
	    "\"ses_test\",\"tenant\":\"default\",\"type\":\"egress_denied\","
	    "\"data\":{\"host\":\"169.254.169.254\",\"port\":80},\"prev\":\""
	    ZERO_HASH "\",\"hash\":\""
	    "3ec0cdfb38a00867ee1de2059accb491a7c71b11525e7594251923cb02d0972b"
	    "\"}\n";
	struct fixture *fx = *state;
	struct audit_log *log = open_log(fx);
	json_t *data;
	size_t len;
	char *buf;

	data = json_pack("{s:s, s:i}", "host", "169.254.169.254", "port", 80);
	assert_int_equal(audit_write(log, "ses_test", "default",
	    "egress_denied", data, NULL), 0);
	json_decref(data);
	assert_string_equal(audit_last_hash(log),
	    "3ec0cdfb38a00867ee1de2059accb491a7c71b11525e7594251923cb02d0972b");
	audit_close(log);
	buf = slurp(fx->path, &len);
	assert_string_equal(buf, expect);
	free(buf);
}

static void
test_chain_verifies(void **state)
{
	struct fixture *fx = *state;
	struct audit_verify_result res;
	struct audit_log *log;
	char hash[AUDIT_HASH_HEX + 1];
	struct stat st;

	write_events(fx, 6);
	assert_int_equal(audit_verify_file(fx->path, &res), 0);
	assert_int_equal(res.events, 6);
	assert_int_equal(res.last_seq, 6);
	assert_int_equal(res.bad_line, 0);
	assert_string_equal(res.message, "");
	assert_return_code(stat(fx->path, &st), 0);
	assert_int_equal(res.good_bytes, st.st_size);
	assert_int_equal(st.st_mode & 0777, 0600);

	log = open_log(fx);
	assert_int_equal(audit_last_seq(log), 6);
	memcpy(hash, audit_last_hash(log), sizeof(hash));
	assert_string_equal(hash, res.last_hash);
	audit_close(log);
}

static void
test_empty_log(void **state)
{
	struct fixture *fx = *state;
	struct audit_verify_result res;
	struct audit_log *log;

	assert_int_equal(audit_verify_buf("", 0, &res), 0);
	assert_int_equal(res.events, 0);
	assert_string_equal(res.last_hash, ZERO_HASH);

	log = open_log(fx);	/* creates it */
	assert_int_equal(audit_last_seq(log), 0);
	assert_string_equal(audit_last_hash(log), ZERO_HASH);
	assert_int_equal(audit_flush(log), 0);	/* nothing buffered */
	audit_close(log);
	assert_int_equal(audit_verify_file(fx->path, &res), 0);
	assert_int_equal(res.events, 0);
}

static void
test_reopen_continues(void **state)
{
	struct fixture *fx = *state;
	struct audit_verify_result res;
	char prev2[AUDIT_HASH_HEX + 1];
	struct audit_log *log;
	uint64_t seq;
	size_t len;
	char *buf, *l3;

	write_events(fx, 2);
	log = open_log(fx);
	assert_int_equal(audit_last_seq(log), 2);
	memcpy(prev2, audit_last_hash(log), sizeof(prev2));
	assert_int_equal(audit_write(log, "ses_x", "t", "session_torn_down",
	    NULL, &seq), 0);
	assert_int_equal(seq, 3);
	audit_close(log);

	assert_int_equal(audit_verify_file(fx->path, &res), 0);
	assert_int_equal(res.events, 3);
	buf = slurp(fx->path, &len);
	l3 = line_at(buf, 3);
	assert_non_null(strstr(l3, "\"data\":{},\"prev\":\""));
	assert_memory_equal(strstr(l3, "\"prev\":\"") + 8, prev2,
	    AUDIT_HASH_HEX);
	free(buf);
}

static void
test_batch_flush(void **state)
{
	struct fixture *fx = *state;
	struct audit_verify_result res;
	struct audit_log *log = open_log(fx);
	uint64_t seq;
	struct stat st;
	int i;

	for (i = 1; i <= 3; i++) {
		assert_int_equal(audit_append(log, "ses_b", "default",
		    "sandbox_started", NULL, &seq), 0);
		assert_int_equal(seq, (uint64_t)i);
	}
	assert_int_equal(audit_pending(log), 3);
	assert_int_equal(audit_last_seq(log), 0);	/* not durable yet */
	assert_return_code(stat(fx->path, &st), 0);
	assert_int_equal(st.st_size, 0);

	assert_int_equal(audit_flush(log), 0);
	assert_int_equal(audit_pending(log), 0);
	assert_int_equal(audit_last_seq(log), 3);
	assert_int_equal(audit_verify_file(fx->path, &res), 0);
	assert_int_equal(res.events, 3);
	assert_string_equal(res.last_hash, audit_last_hash(log));
	audit_close(log);
}

static void
test_unknown_type(void **state)
{
	struct fixture *fx = *state;
	struct audit_log *log = open_log(fx);
	json_t *arr = json_array();
	uint64_t seq = 0;

	assert_int_equal(audit_append(log, "s", "t", "egress_maybe", NULL,
	    &seq), -1);
	assert_string_equal(audit_error(log), "unknown event type");
	assert_int_equal(audit_append(log, "s", "t", "", NULL, &seq), -1);
	assert_int_equal(audit_append(log, "s", "t", NULL, NULL, &seq), -1);
	assert_int_equal(audit_append(log, "s", "t", "usage_metered", arr,
	    &seq), -1);
	assert_string_equal(audit_error(log), "data must be an object");
	assert_int_equal(audit_append(log, "\xc3\x28", "t", "usage_metered",
	    NULL, &seq), -1);
	assert_int_equal(audit_pending(log), 0);
	assert_int_equal(seq, 0);
	assert_int_equal(audit_write(log, "s", "t", "usage_metered", NULL,
	    &seq), 0);
	assert_int_equal(seq, 1);
	json_decref(arr);
	audit_close(log);
}

static int
collect_cb(json_t *ev, void *arg)
{
	struct collected *c = arg;
	const char *s = json_string_value(json_object_get(ev, "session"));

	if (c->fail)
		return -1;
	c->seqs[c->n++] = (uint64_t)json_integer_value(json_object_get(ev,
	    "seq"));
	snprintf(c->session, sizeof(c->session), "%s", s);
	return c->stop_after != 0 && (int)c->n >= c->stop_after;
}

static void
test_hostile_strings(void **state)
{
	static const char hostile[] = "ses\"},\"hash\":\"x\n{\"seq\":2\r\t\x01"
	    "\x1b[31m\\\xc3\xa9\xe2\x80\xa8";
	struct fixture *fx = *state;
	struct audit_verify_result res;
	struct collected c = { .n = 0 };
	struct audit_log *log = open_log(fx);
	json_t *data;
	size_t len, i, lines = 0;
	char *buf;

	data = json_pack("{s:s, s:{s:s}}", "reason", hostile, "nested",
	    "\n", hostile);
	assert_int_equal(audit_write(log, hostile, hostile, "egress_denied",
	    data, NULL), 0);
	assert_int_equal(audit_write(log, "ses_ok", "default",
	    "workload_exited", NULL, NULL), 0);
	json_decref(data);
	audit_close(log);

	buf = slurp(fx->path, &len);
	for (i = 0; i < len; i++) {
		lines += buf[i] == '\n';
		/* escaped to ASCII: nothing for a terminal to interpret */
		assert_true(buf[i] == '\n' ||
		    (buf[i] >= 0x20 && buf[i] < 0x7f));
	}
	assert_int_equal(lines, 2);
	free(buf);

	assert_int_equal(audit_read(fx->path, 0, collect_cb, &c, &res), 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(res.events, 2);
	c.n = 0;
	c.stop_after = 1;
	assert_int_equal(audit_read(fx->path, 0, collect_cb, &c, &res), 0);
	assert_string_equal(c.session, hostile);
}

static void
test_read_after(void **state)
{
	struct fixture *fx = *state;
	struct audit_verify_result res;
	struct collected c = { .n = 0 };

	write_events(fx, 5);
	assert_int_equal(audit_read(fx->path, 2, collect_cb, &c, &res), 0);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.seqs[0], 3);
	assert_int_equal(c.seqs[2], 5);
	assert_int_equal(res.events, 5);

	memset(&c, 0, sizeof(c));
	c.stop_after = 2;
	assert_int_equal(audit_read(fx->path, 0, collect_cb, &c, &res), 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(res.last_seq, 2);

	memset(&c, 0, sizeof(c));
	assert_int_equal(audit_read(fx->path, 5, collect_cb, &c, &res), 0);
	assert_int_equal(c.n, 0);

	c.fail = 1;
	assert_int_equal(audit_read(fx->path, 0, collect_cb, &c, &res), -1);
	assert_non_null(strstr(res.message, "callback failed"));
}

static void
test_damage_flipped_data(void **state)
{
	struct fixture *fx = *state;
	size_t len;
	char *buf, *p;

	write_events(fx, 5);
	buf = slurp(fx->path, &len);
	p = strstr(line_at(buf, 3), "h3.example");
	assert_non_null(p);
	p[0] = 'x';
	spew(fx->path, buf, len);
	free(buf);
	expect_damage(fx, 3, "line 3: hash mismatch");
}

static void
test_damage_deleted_line(void **state)
{
	struct fixture *fx = *state;
	size_t len;
	char *buf, *l3, *l4;

	write_events(fx, 5);
	buf = slurp(fx->path, &len);
	l3 = line_at(buf, 3);
	l4 = line_at(buf, 4);
	memmove(l3, l4, len - (size_t)(l4 - buf));
	spew(fx->path, buf, len - (size_t)(l4 - l3));
	free(buf);
	expect_damage(fx, 3, "line 3: seq 4 after 2");
}

static void
test_damage_swapped_lines(void **state)
{
	struct fixture *fx = *state;
	size_t len, n2, n3;
	char *buf, *l2, *l3, *l4, *tmp;

	write_events(fx, 5);
	buf = slurp(fx->path, &len);
	l2 = line_at(buf, 2);
	l3 = line_at(buf, 3);
	l4 = line_at(buf, 4);
	n2 = (size_t)(l3 - l2);
	n3 = (size_t)(l4 - l3);
	tmp = malloc(n2 + n3);
	memcpy(tmp, l3, n3);
	memcpy(tmp + n3, l2, n2);
	memcpy(l2, tmp, n2 + n3);
	free(tmp);
	spew(fx->path, buf, len);
	free(buf);
	expect_damage(fx, 2, "line 2: seq 3 after 1");
}

static void
test_damage_prev(void **state)
{
	struct fixture *fx = *state;
	size_t len;
	char *buf, *p;

	write_events(fx, 5);
	buf = slurp(fx->path, &len);
	p = strstr(line_at(buf, 4), "\"prev\":\"") + 8;
	*p = *p == 'a' ? 'b' : 'a';
	spew(fx->path, buf, len);
	free(buf);
	expect_damage(fx, 4, "line 4: prev does not match");
}

static void
test_damage_hash_field(void **state)
{
	struct fixture *fx = *state;
	size_t len;
	char *buf, *p;

	write_events(fx, 3);
	buf = slurp(fx->path, &len);
	p = strstr(line_at(buf, 2), "\"hash\":\"") + 8;
	*p = *p == 'a' ? 'b' : 'a';
	spew(fx->path, buf, len);
	free(buf);
	expect_damage(fx, 2, "line 2: hash mismatch");
}

static void
test_damage_torn(void **state)
{
	struct fixture *fx = *state;
	size_t len;
	char *buf;

	write_events(fx, 5);
	buf = slurp(fx->path, &len);
	spew(fx->path, buf, len - 30);
	expect_damage(fx, 5, "line 5: torn last line (no newline; crash "
	    "mid-write?)");
	/* a whole line that only lost its newline is still torn */
	spew(fx->path, buf, len - 1);
	expect_damage(fx, 5, "line 5: torn last line");
	free(buf);
}

static void
test_damage_garbage(void **state)
{
	static const char *const junk[] = {
		"garbage\n", "\n", "{}\n", "[1,2]\n", "\r\n",
	};
	struct fixture *fx = *state;
	size_t len, i;
	char *buf, *big;

	write_events(fx, 4);
	buf = slurp(fx->path, &len);
	big = malloc(len + 64);
	for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		memcpy(big, buf, len);
		memcpy(big + len, junk[i], strlen(junk[i]));
		spew(fx->path, big, len + strlen(junk[i]));
		expect_damage(fx, 5, "line 5: ");
	}
	free(big);
	free(buf);
}

static void
test_damage_overlong(void **state)
{
	struct fixture *fx = *state;
	size_t len, n = AUDIT_LINE_MAX + 10;
	char *buf, *big;

	write_events(fx, 2);
	buf = slurp(fx->path, &len);
	big = malloc(len + n + 1);
	memcpy(big, buf, len);
	memset(big + len, 'x', n);
	big[len + n] = '\n';
	spew(fx->path, big, len + n + 1);
	expect_damage(fx, 3, "line 3: longer than 1048576 bytes");
	spew(fx->path, big, len + n);	/* and without its newline */
	expect_damage(fx, 3, "line 3: longer than 1048576 bytes");
	free(big);
	free(buf);
}

static void
test_damage_field_order(void **state)
{
	struct fixture *fx = *state;
	size_t len;
	char *buf, *p;

	write_events(fx, 2);
	buf = slurp(fx->path, &len);
	p = strstr(line_at(buf, 2), "\"session\":\"ses_test\",\"tenant\":"
	    "\"default\"");
	assert_non_null(p);
	memcpy(p, "\"tenant\":\"default\",\"session\":\"ses_test\"", 39);
	spew(fx->path, buf, len);
	free(buf);
	expect_damage(fx, 2, "line 2: fields are not exactly");
}

/* The streaming fd reader must agree with the buffer verifier across
 * read boundaries. */
static void
test_verify_fd_large(void **state)
{
	struct fixture *fx = *state;
	struct audit_verify_result a, b;
	struct audit_log *log = open_log(fx);
	char *pad, *buf;
	json_t *data;
	size_t len;
	int i, fd;

	pad = malloc(200001);
	memset(pad, 'p', 200000);
	pad[200000] = '\0';
	for (i = 0; i < 40; i++) {
		pad[i * 997 % 200000] = '\0';
		data = json_pack("{s:s}", "pad", pad);
		pad[i * 997 % 200000] = 'p';
		assert_int_equal(audit_append(log, "ses_big", "default",
		    "usage_metered", data, NULL), 0);
		json_decref(data);
	}
	assert_int_equal(audit_flush(log), 0);
	audit_close(log);
	free(pad);

	buf = slurp(fx->path, &len);
	assert_int_equal(audit_verify_buf(buf, len, &a), 0);
	free(buf);
	assert_return_code(fd = open(fx->path, O_RDONLY), 0);
	assert_int_equal(audit_verify_fd(fd, &b), 0);
	close(fd);
	assert_int_equal(a.events, 40);
	assert_int_equal(b.events, 40);
	assert_string_equal(a.last_hash, b.last_hash);
	assert_int_equal(a.good_bytes, len);
	assert_int_equal(b.good_bytes, len);
}

static void
test_symlink_refused(void **state)
{
	struct fixture *fx = *state;
	struct audit_verify_result res;
	char link[160], err[256];

	write_events(fx, 1);
	snprintf(link, sizeof(link), "%s/link.log", fx->dir);
	assert_return_code(symlink(fx->path, link), 0);
	assert_null(audit_open(link, err, sizeof(err)));
	assert_non_null(strstr(err, "symlink"));
	assert_int_equal(audit_verify_file(link, &res), -1);
}

static void
test_not_regular_refused(void **state)
{
	struct fixture *fx = *state;
	char fifo[160], err[256];

	snprintf(fifo, sizeof(fifo), "%s/fifo", fx->dir);
	assert_return_code(mkfifo(fifo, 0600), 0);
	assert_null(audit_open(fifo, err, sizeof(err)));
	assert_non_null(strstr(err, "not a regular file"));
	assert_null(audit_open(fx->dir, err, sizeof(err)));
}

static void
test_second_writer_locked(void **state)
{
	struct fixture *fx = *state;
	struct audit_log *log = open_log(fx);
	char err[256];

	assert_null(audit_open(fx->path, err, sizeof(err)));
	assert_non_null(strstr(err, "another writer"));
	audit_close(log);
	log = open_log(fx);
	audit_close(log);
}

/* A write that fails midway (RLIMIT_FSIZE) must leave the file and the
 * chain head exactly as they were after the last good flush. */
static void
test_write_failure_rolls_back(void **state)
{
	struct fixture *fx = *state;
	struct audit_verify_result res;
	struct rlimit old, lim;
	struct audit_log *log;
	void (*oldsig)(int);
	char hash[AUDIT_HASH_HEX + 1];
	struct stat st;
	uint64_t seq;
	off_t size;

	write_events(fx, 2);
	assert_return_code(stat(fx->path, &st), 0);
	size = st.st_size;
	log = open_log(fx);
	memcpy(hash, audit_last_hash(log), sizeof(hash));

	assert_int_equal(audit_append(log, "s", "t", "sandbox_failed", NULL,
	    &seq), 0);
	assert_int_equal(audit_append(log, "s", "t", "sandbox_failed", NULL,
	    &seq), 0);
	assert_int_equal(seq, 4);
	oldsig = signal(SIGXFSZ, SIG_IGN);
	assert_return_code(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)size + 100;	/* the batch is cut midway */
	assert_return_code(setrlimit(RLIMIT_FSIZE, &lim), 0);
	assert_int_equal(audit_flush(log), -1);
	assert_return_code(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, oldsig);
	assert_non_null(strstr(audit_error(log), "batch dropped"));

	assert_int_equal(audit_pending(log), 0);
	assert_int_equal(audit_last_seq(log), 2);
	assert_string_equal(audit_last_hash(log), hash);
	assert_return_code(stat(fx->path, &st), 0);
	assert_int_equal(st.st_size, size);
	assert_int_equal(audit_verify_file(fx->path, &res), 0);
	assert_int_equal(res.events, 2);

	assert_int_equal(audit_write(log, "s", "t", "sandbox_failed", NULL,
	    &seq), 0);
	assert_int_equal(seq, 3);
	audit_close(log);
	assert_int_equal(audit_verify_file(fx->path, &res), 0);
	assert_int_equal(res.events, 3);
}

static int
bad_clock(struct timespec *now, void *arg)
{
	(void)arg;
	now->tv_sec = 0;
	now->tv_nsec = 1000000000;	/* out of range */
	return 0;
}

static void
test_clock_injection(void **state)
{
	struct fixture *fx = *state;
	struct audit_log *log = open_log(fx);
	size_t len;
	char *buf;

	fx->now.tv_sec = 1795899600 + 59;
	fx->now.tv_nsec = 5999999;
	assert_int_equal(audit_write(log, "s", "t", "result_collected", NULL,
	    NULL), 0);
	audit_set_clock(log, bad_clock, NULL);
	assert_int_equal(audit_append(log, "s", "t", "result_collected", NULL,
	    NULL), -1);
	audit_set_clock(log, NULL, NULL);	/* real time again */
	assert_int_equal(audit_write(log, "s", "t", "result_collected", NULL,
	    NULL), 0);
	audit_close(log);
	buf = slurp(fx->path, &len);
	assert_non_null(strstr(buf, "\"ts\":\"2026-11-28T21:00:59.005Z\""));
	assert_non_null(strstr(line_at(buf, 2), "Z\",\"session\""));
	free(buf);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, fixture_setup, fixture_teardown)
	const struct CMUnitTest tests[] = {
		T(test_known_hash),
		T(test_chain_verifies),
		T(test_empty_log),
		T(test_reopen_continues),
		T(test_batch_flush),
		T(test_unknown_type),
		T(test_hostile_strings),
		T(test_read_after),
		T(test_damage_flipped_data),
		T(test_damage_deleted_line),
		T(test_damage_swapped_lines),
		T(test_damage_prev),
		T(test_damage_hash_field),
		T(test_damage_torn),
		T(test_damage_garbage),
		T(test_damage_overlong),
		T(test_damage_field_order),
		T(test_verify_fd_large),
		T(test_symlink_refused),
		T(test_not_regular_refused),
		T(test_second_writer_locked),
		T(test_write_failure_rolls_back),
		T(test_clock_injection),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
