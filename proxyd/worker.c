#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "proxyd/conn.h"
#include "proxyd/dnsserver.h"
#include "proxyd/resolve.h"
#include "proxyd/tls.h"
#include "proxyd/worker.h"

#define TICK_MS 500

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

/* Every worker binds the same address with SO_REUSEPORT; the kernel
 * spreads connections across them. */
static int
listen_on(const struct ctl_endpoint *ep, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl;
	char txt[CTL_ENDPOINT_STRLEN];
	int fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (ep->addr.family == AF_INET) {
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, ep->addr.a, 4);
		sin->sin_port = htons(ep->port);
		sl = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, ep->addr.a, 16);
		sin6->sin6_port = htons(ep->port);
		sl = sizeof(*sin6);
	}
	ctl_endpoint_format(ep, txt, sizeof(txt));
	fd = socket(ep->addr.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "listen %s: socket: %s", txt, strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1 ||
	    (ep->addr.family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) == -1) ||
	    bind(fd, (struct sockaddr *)&ss, sl) == -1 || listen(fd, 1024) == -1) {
		snprintf(err, errlen, "listen %s: %s", txt, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
worker_init(struct worker *w, struct server *srv, int index,
    const struct proxyd_config *cfg, const char *resolver_servers, char *err,
    size_t errlen)
{
	size_t i;
	int fd;

	memset(w, 0, sizeof(*w));
	w->srv = srv;
	w->index = index;
	TAILQ_INIT(&w->conns);
	if ((w->base = event_base_new()) == NULL) {
		snprintf(err, errlen, "worker %d: event_base_new failed", index);
		return -1;
	}
	if ((w->hello = malloc(sizeof(*w->hello))) == NULL) {
		snprintf(err, errlen, "worker %d: out of memory", index);
		goto fail;
	}
	/* Both families: sessions' AAAA queries are answered from it too. */
	w->resolver = resolver_new(w->base, resolver_servers, AF_UNSPEC, err,
	    errlen);
	if (w->resolver == NULL)
		goto fail;
	for (i = 0; i < cfg->transparent.n + cfg->explicit_proxy.n; i++) {
		int expl = i >= cfg->transparent.n;
		const struct ctl_endpoint *ep = expl ?
		    &cfg->explicit_proxy.v[i - cfg->transparent.n] :
		    &cfg->transparent.v[i];

		if ((fd = listen_on(ep, err, errlen)) == -1)
			goto fail;
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
	struct timeval now = { 0, 0 }, dl;

	dl.tv_sec = deadline_ms / 1000;
	dl.tv_usec = (deadline_ms % 1000) * 1000;
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
	dnsserver_free(w->dns);
	w->dns = NULL;
	for (i = 0; i < w->nlisteners; i++)
		evconnlistener_free(w->listeners[i]);
	w->nlisteners = 0;
	if (w->tick != NULL)
		event_free(w->tick);
	resolver_free(w->resolver);
	free(w->hello);
	if (w->base != NULL)
		event_base_free(w->base);
	memset(w, 0, sizeof(*w));
}
