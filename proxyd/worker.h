#ifndef ENCLAVE_PROXYD_WORKER_H
#define ENCLAVE_PROXYD_WORKER_H

#include <pthread.h>
#include <sys/queue.h>

#include "proxyd/config.h"
#include "proxyd/server.h"

struct event_base;
struct evconnlistener;
struct resolver;
struct http_req;
struct tls_hello;
struct conn;
struct dnsserver;
struct mint_cache;
struct relay_pipes;

/*
 * One event loop on one thread, with its own SO_REUSEPORT listeners, its
 * own resolver, and the connections it accepted. The kernel spreads new
 * connections over the workers; nothing but the server is shared.
 */
struct worker {
	struct server *srv;
	int index;
	pthread_t thread;
	struct event_base *base;
	struct resolver *resolver;
	struct tls_hello *hello;		/* parse scratch, one per loop */
	struct http_req *req;			/* likewise (3 KiB: not per conn) */
	struct evconnlistener *listeners[2 * CONFIG_LISTEN_MAX];
	size_t nlisteners;
	struct event *tick;			/* coalescing windows, on worker 0 */
	struct dnsserver *dns;			/* NULL without dns_listen */
	struct mint_cache *mint;		/* leaves; NULL without interception */
	struct relay_pipes *pipes;		/* empty pipes for the next relays */
	TAILQ_HEAD(, conn) conns;
	unsigned int nconns;
	int draining;
};

/* Binds this worker's listeners for cfg; -1 with err. */
int worker_init(struct worker *w, struct server *srv, int index,
    const struct proxyd_config *cfg, const char *resolver_servers, char *err,
    size_t errlen);
int worker_start(struct worker *w);
/* Asks the loop to stop accepting and to end once its connections have
 * (or, with deadline_ms 0, at once); thread-safe. */
void worker_stop(struct worker *w, unsigned int deadline_ms);
void worker_join(struct worker *w);
void worker_fini(struct worker *w);

#endif
