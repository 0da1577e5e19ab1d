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

/* How the connection reached us. */
enum conn_listener {
	CONN_TRANSPARENT = 0,	/* redirected by nft: SO_ORIGINAL_DST says where to */
	CONN_EXPLICIT,		/* a proxy-aware client: CONNECT, absolute URIs */
};

/* Takes ownership of fd. */
void conn_accept(struct worker *w, int fd, const struct sockaddr *peer,
    socklen_t peerlen, enum conn_listener how);
/* Shutdown: ends every connection of w now. */
void conn_close_all(struct worker *w);

#endif
