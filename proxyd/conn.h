#ifndef ENCLAVE_PROXYD_CONN_H
#define ENCLAVE_PROXYD_CONN_H

#include <sys/socket.h>

struct worker;

/*
 * One sandbox connection, from accept to close: who sent it, what it
 * speaks, whether policy allows it, where the proxy connects instead, and
 * the relay. conn_close() is its one teardown; every path ends there and
 * every decision is an event.
 */

/* Takes ownership of fd (accepted on a transparent listener). */
void conn_accept(struct worker *w, int fd, const struct sockaddr *peer,
    socklen_t peerlen);
/* Shutdown: ends every connection of w now. */
void conn_close_all(struct worker *w);

#endif
