#ifndef ENCLAVE_PROXYD_CONTROL_H
#define ENCLAVE_PROXYD_CONTROL_H

#include <stddef.h>

#include "proxyd/server.h"

/*
 * The control socket: sessiond adds, updates and removes sessions in
 * JSON lines (proxyd/ctlmsg.h) and receives every decision event on the
 * same connection. A unix socket, mode 0600: only its owner may steer the
 * proxy. Changes apply to new connections at once.
 */

#define CONTROL_CLIENTS_MAX 16
/* Events queued for a reader that does not keep up; past it, they are
 * dropped for that reader and counted, never buffered without bound. */
#define CONTROL_BACKLOG_MAX (4u << 20)

struct event_base;
struct control;

struct control *control_new(struct event_base *base, struct server *srv,
    const char *path, char *err, size_t errlen);
/* The one teardown: closes every client and removes the socket file. */
void control_free(struct control *ctl);
/* An events sink (events_set_sink): hands a line to every client. */
void control_broadcast(const char *line, size_t len, void *arg);
unsigned long long control_dropped(struct control *ctl);

#endif
