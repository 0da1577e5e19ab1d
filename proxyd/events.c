#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/hash.h"
#include "proxyd/events.h"

#define WINDOW_BUCKETS 1024

/* One open coalescing window: the denial that opened it and how many
 * identical ones arrived since. */
struct window {
	struct window *next;
	struct ctl_event first;
	uint32_t folded;
	size_t bucket;
};

struct events {
	pthread_mutex_t lock;
	int fd;
	events_sink sink;
	void *sink_arg;
	/* Read unlocked, to skip encoding a line nobody would read. */
	atomic_int has_sink;
	atomic_int sink_live;
	struct window *buckets[WINDOW_BUCKETS];
	size_t nwindows;
	_Atomic uint64_t written;
	uint64_t folded;
	uint64_t log_errors;
	int64_t (*now_ms)(void);
};

struct events *
events_new(const char *log_path, char *err, size_t errlen)
{
	struct events *ev;

	if ((ev = calloc(1, sizeof(*ev))) == NULL) {
		snprintf(err, errlen, "events: out of memory");
		return NULL;
	}
	ev->fd = -1;
	ev->now_ms = clock_realtime_ms;
	atomic_init(&ev->has_sink, 0);
	atomic_init(&ev->sink_live, 1);
	atomic_init(&ev->written, 0);
	if (log_path != NULL && log_path[0] != '\0') {
		ev->fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
		    O_NOFOLLOW, 0600);
		if (ev->fd == -1) {
			snprintf(err, errlen, "event log %s: %s", log_path,
			    strerror(errno));
			free(ev);
			return NULL;
		}
	}
	pthread_mutex_init(&ev->lock, NULL);
	return ev;
}

void
events_free(struct events *ev)
{
	struct window *w, *wn;
	size_t i;

	if (ev == NULL)
		return;
	for (i = 0; i < WINDOW_BUCKETS; i++) {
		for (w = ev->buckets[i]; w != NULL; w = wn) {
			wn = w->next;
			free(w);
		}
	}
	if (ev->fd != -1)
		close(ev->fd);
	pthread_mutex_destroy(&ev->lock);
	free(ev);
}

void
events_set_sink(struct events *ev, events_sink sink, void *arg)
{
	pthread_mutex_lock(&ev->lock);
	ev->sink = sink;
	ev->sink_arg = arg;
	atomic_store(&ev->has_sink, sink != NULL);
	pthread_mutex_unlock(&ev->lock);
}

void
events_set_sink_live(struct events *ev, int live)
{
	atomic_store(&ev->sink_live, live != 0);
}

void
events_set_clock(struct events *ev, int64_t (*now_ms)(void))
{
	ev->now_ms = now_ms ? now_ms : clock_realtime_ms;
}

/* Whether a line would reach anyone: with no log file and no reader
 * behind the sink, encoding it is wasted work on every decision. */
static int
events_wanted(struct events *ev)
{
	return ev->fd != -1 || (atomic_load(&ev->has_sink) &&
	    atomic_load(&ev->sink_live));
}

/* Caller holds the lock; line is an encoded event, or NULL when nobody
 * wanted it (then only counted). A log write that fails is not retried:
 * the sink (sessiond's audit log) is the record of truth. */
static void
output_line(struct events *ev, char *line)
{
	size_t len;

	if (line != NULL) {
		len = strlen(line);
		if (ev->sink != NULL && atomic_load(&ev->sink_live))
			ev->sink(line, len, ev->sink_arg);
		if (ev->fd != -1) {
			line[len] = '\n';	/* replaces the NUL; we own the buffer */
			if (write(ev->fd, line, len + 1) != (ssize_t)(len + 1))
				ev->log_errors++;
		}
	}
	atomic_fetch_add(&ev->written, 1);
}

/* Caller holds the lock. */
static void
write_line(struct events *ev, const struct ctl_event *e)
{
	char *line = NULL;

	if (events_wanted(ev) && ctlmsg_event_encode(e, &line) == -1)
		return;
	output_line(ev, line);
	free(line);
}

static size_t
window_hash(const struct ctl_event *e)
{
	uint32_t h = HASH_INIT;

	h = hash_str(h, e->session);
	h = hash_str(h, e->host);
	h = hash_str(h, e->reason);
	h = hash_str(h, e->tenant);
	h = hash_bytes(h, &e->port, sizeof(e->port));
	h = hash_bytes(h, &e->proto, sizeof(e->proto));
	return h % WINDOW_BUCKETS;
}

static int
same_denial(const struct ctl_event *a, const struct ctl_event *b)
{
	return a->port == b->port && a->proto == b->proto &&
	    strcmp(a->session, b->session) == 0 &&
	    strcmp(a->tenant, b->tenant) == 0 &&
	    strcmp(a->host, b->host) == 0 &&
	    strcmp(a->reason, b->reason) == 0 &&
	    (a->session[0] != '\0' || ip_equal(&a->source, &b->source));
}

void
events_emit(struct events *ev, struct ctl_event *e)
{
	struct window *w;
	size_t b;

	e->ts_ms = ev->now_ms();
	e->count = 1;
	if (e->type != CTL_EVENT_EGRESS_DENIED) {
		/* Never folded: encoded outside the lock, so workers queue only
		 * behind the write, and not at all when nobody reads. */
		char *line = NULL;

		if (!events_wanted(ev)) {
			atomic_fetch_add(&ev->written, 1);
			return;
		}
		if (ctlmsg_event_encode(e, &line) == -1)
			return;
		pthread_mutex_lock(&ev->lock);
		output_line(ev, line);
		pthread_mutex_unlock(&ev->lock);
		free(line);
		return;
	}
	pthread_mutex_lock(&ev->lock);
	b = window_hash(e);
	for (w = ev->buckets[b]; w != NULL; w = w->next) {
		if (same_denial(&w->first, e) &&
		    e->ts_ms - w->first.ts_ms < EVENTS_COALESCE_MS) {
			w->folded++;
			ev->folded++;
			goto out;
		}
	}
	write_line(ev, e);
	/* Full: this denial is written uncoalesced rather than grow memory. */
	if (ev->nwindows < EVENTS_COALESCE_MAX &&
	    (w = calloc(1, sizeof(*w))) != NULL) {
		w->first = *e;
		w->bucket = b;
		w->next = ev->buckets[b];
		ev->buckets[b] = w;
		ev->nwindows++;
	}
out:
	pthread_mutex_unlock(&ev->lock);
}

void
events_tick(struct events *ev, int flush_all)
{
	struct window **pp, *w;
	int64_t now = ev->now_ms();
	size_t i;

	pthread_mutex_lock(&ev->lock);
	for (i = 0; i < WINDOW_BUCKETS && ev->nwindows > 0; i++) {
		pp = &ev->buckets[i];
		while ((w = *pp) != NULL) {
			if (!flush_all && now - w->first.ts_ms < EVENTS_COALESCE_MS) {
				pp = &w->next;
				continue;
			}
			if (w->folded > 0) {
				struct ctl_event tail = w->first;

				tail.count = w->folded;
				tail.ts_ms = now;
				write_line(ev, &tail);
			}
			*pp = w->next;
			free(w);
			ev->nwindows--;
		}
	}
	pthread_mutex_unlock(&ev->lock);
}

/*
 * Emits every folded count now, leaving the windows open: a barrier (the
 * control socket's ping) promises sessiond everything decided so far, and
 * a count held back until the window closes would reach the audit after
 * its session ended, or, once the session is deleted, under no session.
 */
void
events_flush(struct events *ev)
{
	struct window *w;
	int64_t now = ev->now_ms();
	size_t i;

	pthread_mutex_lock(&ev->lock);
	for (i = 0; i < WINDOW_BUCKETS && ev->nwindows > 0; i++) {
		for (w = ev->buckets[i]; w != NULL; w = w->next) {
			if (w->folded > 0) {
				struct ctl_event tail = w->first;

				tail.count = w->folded;
				tail.ts_ms = now;
				write_line(ev, &tail);
				w->folded = 0;
			}
		}
	}
	pthread_mutex_unlock(&ev->lock);
}

uint64_t
events_written(struct events *ev)
{
	return atomic_load(&ev->written);
}

uint64_t
events_folded(struct events *ev)
{
	uint64_t n;

	pthread_mutex_lock(&ev->lock);
	n = ev->folded;
	pthread_mutex_unlock(&ev->lock);
	return n;
}
