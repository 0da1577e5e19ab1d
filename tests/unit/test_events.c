#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "proxyd/events.h"

static int64_t fake_now;

static int64_t
fake_clock(void)
{
	return fake_now;
}

struct capture {
	int n;
	struct ctl_event last;
	char lines[16][1024];
};

static void
sink(const char *line, size_t len, void *arg)
{
	struct capture *c = arg;
	char err[256];

	assert_int_equal(strlen(line), len);
	assert_null(memchr(line, '\n', len));
	assert_int_equal(ctlmsg_event_decode(line, len, &c->last, err, sizeof(err)), 0);
	if (c->n < 16)
		snprintf(c->lines[c->n], sizeof(c->lines[0]), "%s", line);
	c->n++;
}

/* One event of ses_a's, to host:443 over TLS. */
static struct ctl_event
event(enum ctl_event_type type, const char *host, const char *reason)
{
	struct ctl_event e;

	memset(&e, 0, sizeof(e));
	e.type = type;
	snprintf(e.session, sizeof(e.session), "ses_a");
	snprintf(e.tenant, sizeof(e.tenant), "default");
	snprintf(e.host, sizeof(e.host), "%s", host);
	e.port = 443;
	e.proto = CTL_PROTO_TLS;
	snprintf(e.reason, sizeof(e.reason), "%s", reason);
	return e;
}

/* A denial of plain HTTP to host:80. */
static struct ctl_event
denial(const char *host, const char *reason)
{
	struct ctl_event e = event(CTL_EVENT_EGRESS_DENIED, host, reason);

	e.port = 80;
	e.proto = CTL_PROTO_HTTP;
	return e;
}

/* Events on the fake clock, written to c (NULL: no sink). */
static struct events *
events_on_fake_clock(struct capture *c)
{
	struct events *ev;
	char err[128];

	ev = events_new(NULL, err, sizeof(err));
	assert_non_null(ev);
	events_set_clock(ev, fake_clock);
	if (c != NULL)
		events_set_sink(ev, sink, c);
	return ev;
}

static void
test_denials_coalesce(void **state)
{
	struct capture c = { 0 };
	struct events *ev;
	struct ctl_event e;
	int i;

	(void)state;
	ev = events_on_fake_clock(&c);
	fake_now = 1700000000000;

	for (i = 0; i < 5; i++) {
		e = denial("169.254.169.254", "blocked_range");
		events_emit(ev, &e);
		fake_now += 100;
	}
	/* The first goes out at once, the other four wait for the window. */
	assert_int_equal(c.n, 1);
	assert_int_equal(c.last.count, 1);
	assert_int_equal(events_folded(ev), 4);

	/* A different reason or host is its own event. */
	e = denial("169.254.169.254", "not_allowlisted");
	events_emit(ev, &e);
	e = denial("exfil.attacker.example", "blocked_range");
	events_emit(ev, &e);
	assert_int_equal(c.n, 3);

	events_tick(ev, 0);		/* window still open */
	assert_int_equal(c.n, 3);
	fake_now += EVENTS_COALESCE_MS;
	events_tick(ev, 0);
	assert_int_equal(c.n, 4);	/* only the folded four, as one */
	assert_int_equal(c.last.count, 4);
	assert_string_equal(c.last.host, "169.254.169.254");

	/* After the window a new identical denial is reported at once. */
	e = denial("169.254.169.254", "blocked_range");
	events_emit(ev, &e);
	assert_int_equal(c.n, 5);
	assert_int_equal(c.last.count, 1);
	events_tick(ev, 1);
	assert_int_equal(c.n, 5);	/* nothing folded, nothing extra */
	assert_int_equal(events_written(ev), 5);
	events_free(ev);
}

static void
test_allowed_never_folded_and_log_file(void **state)
{
	struct capture c = { 0 };
	char dir[] = "/tmp/enclave-test-events.XXXXXX", path[128], buf[8192];
	struct events *ev;
	struct ctl_event e;
	char err[128];
	FILE *f;
	size_t n;
	int i, lines = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/events.log", dir);
	assert_non_null(ev = events_new(path, err, sizeof(err)));
	events_set_clock(ev, fake_clock);
	events_set_sink(ev, sink, &c);
	for (i = 0; i < 3; i++) {
		e = denial("allowed.test", "allowed");
		e.type = CTL_EVENT_EGRESS_ALLOWED;
		e.bytes_up = 10;
		e.bytes_down = 20;
		events_emit(ev, &e);
	}
	e = denial("a\"b\nc", "not_allowlisted");	/* hostile host */
	events_emit(ev, &e);
	events_free(ev);
	assert_int_equal(c.n, 4);
	assert_string_equal(c.last.host, "a\"b\nc");

	assert_non_null(f = fopen(path, "r"));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	for (i = 0; buf[i]; i++)
		lines += buf[i] == '\n';
	assert_int_equal(lines, 4);
	assert_non_null(strstr(buf, "\"egress_allowed\""));
	unlink(path);
	rmdir(dir);

	assert_null(events_new("/nonexistent-dir/x.log", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent-dir/x.log"));
}

static void
test_windows_are_bounded(void **state)
{
	struct capture c = { 0 };
	struct events *ev;
	struct ctl_event e;
	char host[64];
	int i;

	(void)state;
	ev = events_on_fake_clock(&c);
	for (i = 0; i < EVENTS_COALESCE_MAX + 100; i++) {
		snprintf(host, sizeof(host), "h%d.test", i);
		e = denial(host, "not_allowlisted");
		events_emit(ev, &e);
	}
	/* Every distinct denial was written; memory stayed bounded. */
	assert_int_equal(c.n, EVENTS_COALESCE_MAX + 100);
	events_tick(ev, 1);
	events_free(ev);
}

/* A barrier (the control socket's ping) sends folded counts at once and
 * keeps the window open: nothing is counted twice, nothing waits. */
static void
test_flush_sends_folded_counts(void **state)
{
	struct capture c = { 0 };
	struct events *ev;
	struct ctl_event e;
	int i;

	(void)state;
	ev = events_on_fake_clock(&c);
	fake_now = 1700000000000;
	for (i = 0; i < 3; i++) {
		e = denial("other.test", "not_allowlisted");
		events_emit(ev, &e);
	}
	assert_int_equal(c.n, 1);
	events_flush(ev);		/* well inside the window */
	assert_int_equal(c.n, 2);
	assert_int_equal(c.last.count, 2);
	events_flush(ev);		/* nothing new: nothing written */
	assert_int_equal(c.n, 2);
	/* The window is still open: the next one is folded, not written. */
	e = denial("other.test", "not_allowlisted");
	events_emit(ev, &e);
	assert_int_equal(c.n, 2);
	fake_now += EVENTS_COALESCE_MS;
	events_tick(ev, 0);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.last.count, 1);
	events_tick(ev, 1);
	assert_int_equal(c.n, 3);
	events_free(ev);
}

/*
 * Lines are encoded only for someone (the log file, or a sink with a
 * reader: events_set_sink_live). Skipping the encoding must change nothing
 * else: every event is still counted, denials still fold, the log file
 * still gets every line, and a reader that comes back gets the next ones,
 * folded counts included.
 */
/* Nobody at all: counted, never encoded, nothing breaks. */
static void
test_no_reader(void **state)
{
	struct events *ev;
	struct ctl_event e;
	int i;

	(void)state;
	fake_now = 1700000000000;
	ev = events_on_fake_clock(NULL);
	for (i = 0; i < 3; i++) {
		e = event(CTL_EVENT_EGRESS_ALLOWED, "allowed.test", "allowed");
		events_emit(ev, &e);
	}
	for (i = 0; i < 3; i++) {
		e = event(CTL_EVENT_EGRESS_DENIED, "other.test", "not_allowlisted");
		events_emit(ev, &e);
	}
	assert_int_equal(events_written(ev), 4);
	assert_int_equal(events_folded(ev), 2);
	events_tick(ev, 1);
	assert_int_equal(events_written(ev), 5);	/* the folded count */
	events_free(ev);
}

/* A sink whose reader left gets nothing; back, it gets what follows. */
static void
test_sink_reader_comes_and_goes(void **state)
{
	struct capture c = { 0 };
	struct events *ev;
	struct ctl_event e;
	int i;

	(void)state;
	fake_now = 1700000000000;
	ev = events_on_fake_clock(&c);
	/* A sink is live until told otherwise. */
	e = event(CTL_EVENT_EGRESS_ALLOWED, "allowed.test", "allowed");
	events_emit(ev, &e);
	assert_int_equal(c.n, 1);

	events_set_sink_live(ev, 0);
	e = event(CTL_EVENT_EGRESS_ALLOWED, "allowed.test", "allowed");
	events_emit(ev, &e);
	for (i = 0; i < 3; i++) {
		e = event(CTL_EVENT_EGRESS_DENIED, "other.test", "not_allowlisted");
		events_emit(ev, &e);
	}
	assert_int_equal(c.n, 1);
	assert_int_equal(events_written(ev), 3);
	assert_int_equal(events_folded(ev), 2);

	/* Back: the window opened meanwhile still folds, and its count goes
	 * to the reader now present. */
	events_set_sink_live(ev, 1);
	e = event(CTL_EVENT_EGRESS_DENIED, "other.test", "not_allowlisted");
	events_emit(ev, &e);
	assert_int_equal(c.n, 1);
	events_flush(ev);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.last.type, CTL_EVENT_EGRESS_DENIED);
	assert_int_equal(c.last.count, 3);
	assert_string_equal(c.last.host, "other.test");

	e = event(CTL_EVENT_EGRESS_ALLOWED, "api.allowed.test", "allowed");
	events_emit(ev, &e);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.last.host, "api.allowed.test");
	events_free(ev);
}

/* The log file is a reader of its own: it gets every line whatever the
 * sink's state. */
static void
test_log_without_reader(void **state)
{
	struct capture c = { 0 };
	char path[] = "/tmp/test_events_live.XXXXXX", err[128], buf[4096];
	struct events *ev;
	struct ctl_event e;
	FILE *f;
	int fd, lines = 0;

	(void)state;
	fake_now = 1700000000000;
	assert_true((fd = mkstemp(path)) >= 0);
	close(fd);
	assert_non_null(ev = events_new(path, err, sizeof(err)));
	events_set_clock(ev, fake_clock);
	events_set_sink(ev, sink, &c);
	events_set_sink_live(ev, 0);
	e = event(CTL_EVENT_EGRESS_ALLOWED, "allowed.test", "allowed");
	events_emit(ev, &e);
	e = event(CTL_EVENT_EGRESS_DENIED, "other.test", "not_allowlisted");
	events_emit(ev, &e);
	events_free(ev);
	assert_int_equal(c.n, 0);
	assert_non_null(f = fopen(path, "r"));
	while (fgets(buf, sizeof(buf), f) != NULL) {
		assert_non_null(strstr(buf, lines == 0 ? "allowed.test" :
		    "other.test"));
		lines++;
	}
	fclose(f);
	unlink(path);
	assert_int_equal(lines, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_denials_coalesce),
		cmocka_unit_test(test_allowed_never_folded_and_log_file),
		cmocka_unit_test(test_windows_are_bounded),
		cmocka_unit_test(test_flush_sends_folded_counts),
		cmocka_unit_test(test_no_reader),
		cmocka_unit_test(test_sink_reader_comes_and_goes),
		cmocka_unit_test(test_log_without_reader),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
