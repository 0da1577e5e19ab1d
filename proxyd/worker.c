#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "proxyd/conn.h"
#include "proxyd/dnsserver.h"
#include "proxyd/http.h"
#include "proxyd/intercept.h"
#include "proxyd/listen.h"
#include "proxyd/mint.h"
#include "proxyd/relay.h"
#include "proxyd/resolve.h"
#include "proxyd/tls.h"
#include "proxyd/worker.h"

#define TICK_MS 500
/* Empty pipes kept per loop: two per relay, enough for a burst of new
 * connections replacing ended ones, little next to the fd limit. */
#define WORKER_PIPES_MAX 64

static void
accept_any(struct worker *w, evutil_socket_t fd, struct sockaddr *sa,
    int salen, enum conn_listener how)
{
	if (w->draining) {
		close(fd);
		return;
	}
	conn_accept(w, fd, sa, (socklen_t)salen, how);
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	(void)l;
	accept_any(arg, fd, sa, salen, CONN_TRANSPARENT);
}

static void
accept_explicit_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	(void)l;
	accept_any(arg, fd, sa, salen, CONN_EXPLICIT);
}

static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct worker *w = arg;

	(void)l;
	metrics_error(w->srv->metrics, METRICS_ERR_ACCEPT);
	/* EMFILE and friends: one connection's problem, not the daemon's. */
	log_warn("accept");
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	events_tick(w->srv->events, 0);
}

int
worker_init(struct worker *w, struct server *srv, int index,
    const struct proxyd_config *cfg, const char *resolver_servers, char *err,
    size_t errlen)
{
	size_t i;
	int fd, one = 1;

	memset(w, 0, sizeof(*w));
	w->srv = srv;
	w->index = index;
	TAILQ_INIT(&w->conns);
	if ((w->base = event_base_new()) == NULL) {
		snprintf(err, errlen, "worker %d: event_base_new failed", index);
		return -1;
	}
	if ((w->hello = malloc(sizeof(*w->hello))) == NULL ||
	    (w->req = malloc(sizeof(*w->req))) == NULL) {
		snprintf(err, errlen, "worker %d: out of memory", index);
		goto fail;
	}
	/* Both families: sessions' AAAA queries are answered from it too. */
	w->resolver = resolver_new(w->base, resolver_servers, AF_UNSPEC, err,
	    errlen);
	if (w->resolver == NULL)
		goto fail;
	if ((w->pipes = relay_pipes_new(WORKER_PIPES_MAX)) == NULL) {
		snprintf(err, errlen, "worker %d: out of memory", index);
		goto fail;
	}
	for (i = 0; i < cfg->transparent.n + cfg->explicit_proxy.n; i++) {
		int expl = i >= cfg->transparent.n;
		const struct ctl_endpoint *ep = expl ?
		    &cfg->explicit_proxy.v[i - cfg->transparent.n] :
		    &cfg->transparent.v[i];

		if ((fd = listen_socket(ep, SOCK_STREAM, "listen", err, errlen)) == -1)
			goto fail;
		/* Accepted sockets inherit it (Linux): a small TLS record or
		 * response must not wait ~40 ms for the peer's delayed ACK. */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		/* Never LEV_OPT_LEAVE_SOCKETS_BLOCKING: conn.c and the relay
		 * take accepted sockets as non-blocking without checking. */
		w->listeners[i] = evconnlistener_new(w->base,
		    expl ? accept_explicit_cb : accept_cb, w,
		    LEV_OPT_CLOSE_ON_FREE, -1, fd);
		if (w->listeners[i] == NULL) {
			close(fd);
			snprintf(err, errlen, "worker %d: listener failed", index);
			goto fail;
		}
		evconnlistener_set_error_cb(w->listeners[i], accept_error_cb);
		w->nlisteners++;
	}
	if (cfg->dns.n > 0 &&
	    (w->dns = dnsserver_new(w, &cfg->dns, err, errlen)) == NULL)
		goto fail;
	/* One leaf cache per loop: minting never takes a lock. */
	if (srv->intercept != NULL &&
	    (w->mint = intercept_cache_new(srv->intercept, err, errlen)) == NULL)
		goto fail;
	if (index == 0) {
		struct timeval tv = { 0, TICK_MS * 1000 };

		w->tick = event_new(w->base, -1, EV_PERSIST, tick_cb, w);
		if (w->tick == NULL) {
			snprintf(err, errlen, "worker 0: timer failed");
			goto fail;
		}
		event_add(w->tick, &tv);
	}
	return 0;
fail:
	worker_fini(w);
	return -1;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	event_base_dispatch(w->base);
	return NULL;
}

int
worker_start(struct worker *w)
{
	return pthread_create(&w->thread, NULL, worker_main, w) == 0 ? 0 : -1;
}

static void
drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	size_t i;

	(void)fd;
	(void)what;
	if (!w->draining) {
		w->draining = 1;
		for (i = 0; i < w->nlisteners; i++)
			evconnlistener_disable(w->listeners[i]);
	}
	if (w->nconns == 0) {
		event_base_loopbreak(w->base);
		return;
	}
	/* Check again shortly; the deadline timer ends the wait. */
	{
		struct timeval tv = { 0, 100 * 1000 };

		event_base_once(w->base, -1, EV_TIMEOUT, drain_cb, w, &tv);
	}
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	conn_close_all(w);
	event_base_loopbreak(w->base);
}

void
worker_stop(struct worker *w, unsigned int deadline_ms)
{
	struct timeval now = { 0, 0 }, dl = clock_ms_timeval(deadline_ms);

	/* event_base_once is safe from another thread with evthread locking. */
	event_base_once(w->base, -1, EV_TIMEOUT, drain_cb, w, &now);
	event_base_once(w->base, -1, EV_TIMEOUT, deadline_cb, w, &dl);
}

void
worker_join(struct worker *w)
{
	pthread_join(w->thread, NULL);
}

void
worker_fini(struct worker *w)
{
	size_t i;

	if (w->base != NULL)
		conn_close_all(w);
	relay_pipes_free(w->pipes);	/* after the relays that use it */
	dnsserver_free(w->dns);
	w->dns = NULL;
	mint_cache_free(w->mint);
	for (i = 0; i < w->nlisteners; i++)
		evconnlistener_free(w->listeners[i]);
	w->nlisteners = 0;
	if (w->tick != NULL)
		event_free(w->tick);
	resolver_free(w->resolver);
	free(w->hello);
	free(w->req);
	if (w->base != NULL)
		event_base_free(w->base);
	memset(w, 0, sizeof(*w));
}
