/*
 * events: lines are encoded only for someone (the log file, or a sink with
 * a reader: events_set_sink_live). Skipping the encoding must change
 * nothing else: every event is still counted, denials still fold, the log
 * file still gets every line, and a reader that comes back gets the next
 * ones, folded counts included.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "proxyd/events.h"

static int64_t fake_now = 1700000000000;

static int64_t
fake_clock(void)
{
	return fake_now;
}

struct capture {
	int n;
	struct ctl_event last;
};

static void
sink(const char *line, size_t len, void *arg)
{
	struct capture *c = arg;
	char err[256];

	assert_int_equal(ctlmsg_event_decode(line, len, &c->last, err,
	    sizeof(err)), 0);
	c->n++;
}

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

/* Nobody at all: counted, never encoded, nothing breaks. */
static void
test_no_reader(void **state)
{
	struct events *ev;
	struct ctl_event e;
	char err[128];
	int i;

	(void)state;
	assert_non_null(ev = events_new(NULL, err, sizeof(err)));
	events_set_clock(ev, fake_clock);
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
	char err[128];
	int i;

	(void)state;
	assert_non_null(ev = events_new(NULL, err, sizeof(err)));
	events_set_clock(ev, fake_clock);
	events_set_sink(ev, sink, &c);
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
		cmocka_unit_test(test_no_reader),
		cmocka_unit_test(test_sink_reader_comes_and_goes),
		cmocka_unit_test(test_log_without_reader),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
