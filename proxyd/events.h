#ifndef ENCLAVE_PROXYD_EVENTS_H
#define ENCLAVE_PROXYD_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "proxyd/ctlmsg.h"

/*
 * Every decision becomes one JSON line, written to proxyd's own event log
 * and handed to a sink (the control socket, for sessiond). Identical
 * denials (same session, host, port, proto, reason) within
 * EVENTS_COALESCE_MS are folded: the first goes out at once, the rest
 * leave as one event with their count when the window closes, so a flood
 * of attempts cannot flood the audit log. Thread-safe.
 */

#define EVENTS_COALESCE_MS 2000
#define EVENTS_COALESCE_MAX 4096	/* windows tracked at once */

struct events;

/* Called with one encoded line (no '\n'), under the events lock. */
typedef void (*events_sink)(const char *line, size_t len, void *arg);

/* log_path may be NULL or "" for no file. */
struct events *events_new(const char *log_path, char *err, size_t errlen);
void events_free(struct events *ev);
void events_set_sink(struct events *ev, events_sink sink, void *arg);
/* Whether the sink has anyone to read it now (the control socket's
 * clients come and go); while it has none and there is no log file,
 * events are counted but not encoded. A sink is live until told. */
void events_set_sink_live(struct events *ev, int live);
/* ev->ts_ms and ev->count are filled in here. */
void events_emit(struct events *ev, struct ctl_event *e);
/* Closes windows older than EVENTS_COALESCE_MS, emitting their counts.
 * Call periodically (a timer) and at shutdown with flush_all set. */
void events_tick(struct events *ev, int flush_all);
/* Emits the counts folded so far without closing their windows: after it
 * returns, every decision made before it has been written. */
void events_flush(struct events *ev);
/* Events written, and denials folded into a later count (metrics, tests). */
uint64_t events_written(struct events *ev);
uint64_t events_folded(struct events *ev);
void events_set_clock(struct events *ev, int64_t (*now_ms)(void));

#endif
