#include <arpa/inet.h>
#include <ares.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/hash.h"
#include "common/hostname.h"
#include "common/log.h"
#include "proxyd/decide.h"
#include "proxyd/dns.h"
#include "proxyd/dnsserver.h"
#include "proxyd/listen.h"
#include "proxyd/resolve.h"
#include "proxyd/worker.h"
#include "rules/policy.h"

#define DNS_UDP_BUF 1232
#define DNS_TCP_BUF (65535 + 2)
#define DNS_TTL_CAP 300

struct dns_tcp;

/* A query waiting for the resolver; it knows where the answer goes. */
struct dnsreq {
	LIST_ENTRY(dnsreq) link;
	struct dnsserver *ds;
	struct px_session *s;
	struct resolve_req *rreq;
	struct dns_query q;
	struct ip_addr src;
	int udp_fd;			/* -1 for TCP */
	struct sockaddr_storage from;
	socklen_t fromlen;
	struct dns_tcp *tcp;
	uint64_t start_ms;
};

struct dns_tcp {
	LIST_ENTRY(dns_tcp) link;
	struct dnsserver *ds;
	struct bufferevent *bev;
	struct ip_addr src;
	struct dnsreq *pending;		/* one query at a time per connection */
};

struct dnsserver {
	struct worker *w;
	struct event *udp_ev[CONFIG_LISTEN_MAX];
	int udp_fd[CONFIG_LISTEN_MAX];
	size_t nudp;
	struct evconnlistener *tcp_l[CONFIG_LISTEN_MAX];
	size_t ntcp;
	LIST_HEAD(, dnsreq) pending;
	size_t npending;
	LIST_HEAD(, dns_tcp) tcps;
	size_t ntcps;
	struct dns_dedupe recent;
};

static void tcp_close(struct dns_tcp *t);
static void tcp_read_cb(struct bufferevent *bev, void *arg);

/* One decision per session, name and outcome per window: getaddrinfo's
 * A and AAAA (and its retries) must not become several audit events. The
 * whole key is kept and compared: a hash collision, or a session record
 * reused at the same address, must never swallow a decision. */
int
dns_dedupe_seen(struct dns_dedupe *t, const struct px_session *s,
    const char *name, const char *reason, uint64_t now)
{
	const struct px_session *who = s->id[0] != '\0' ? NULL : s;
	uint32_t k = hash_str(hash_str(hash_str(hash_bytes(HASH_INIT, &who,
	    sizeof(who)), s->id), name), reason);
	struct dns_dedupe_slot *d = &t->slot[k % DNSSERVER_DEDUPE_SLOTS];

	if (d->at_ms != 0 && now - d->at_ms < DNSSERVER_DEDUPE_MS &&
	    d->s == who && strcmp(d->id, s->id) == 0 &&
	    strcmp(d->name, name) == 0 && strcmp(d->reason, reason) == 0)
		return 1;
	d->at_ms = now;
	d->s = who;
	snprintf(d->id, sizeof(d->id), "%s", s->id);
	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(d->reason, sizeof(d->reason), "%s", reason);
	return 0;
}

static void
dns_event(struct dnsserver *ds, const struct px_session *s,
    const struct ip_addr *src, const char *name, int denied, const char *reason)
{
	struct ctl_event e;

	if (s != NULL && dns_dedupe_seen(&ds->recent, s, name, reason,
	    clock_monotonic_ms()))
		return;
	memset(&e, 0, sizeof(e));
	e.type = denied ? CTL_EVENT_EGRESS_DENIED : CTL_EVENT_EGRESS_ALLOWED;
	if (s != NULL) {
		snprintf(e.session, sizeof(e.session), "%s", s->id);
		snprintf(e.tenant, sizeof(e.tenant), "%s", s->tenant);
	}
	e.source = *src;
	snprintf(e.host, sizeof(e.host), "%s", name);
	e.port = 53;
	e.proto = CTL_PROTO_DNS;
	snprintf(e.reason, sizeof(e.reason), "%s", reason);
	events_emit(ds->w->srv->events, &e);
	metrics_decision(ds->w->srv->metrics, denied, "dns", reason);
}

/* Sends one response to wherever the query came from. */
static void
dns_send(struct dnsserver *ds, int udp_fd, const struct sockaddr *to,
    socklen_t tolen, struct dns_tcp *tcp, const uint8_t *msg, size_t len)
{
	uint8_t pfx[2];

	(void)ds;
	if (tcp != NULL) {
		dns_tcp_frame_put(pfx, len);
		bufferevent_write(tcp->bev, pfx, 2);
		bufferevent_write(tcp->bev, msg, len);
		return;
	}
	if (sendto(udp_fd, msg, len, 0, to, tolen) == -1)
		log_debug("dns: sendto: %s", strerror(errno));
}

static size_t
reply_cap(const struct dns_query *q, int tcp)
{
	size_t m = dns_query_udp_max(q);

	if (tcp)
		return 65535;
	return m < DNS_UDP_BUF ? m : DNS_UDP_BUF;
}

static void
metrics_outcome(struct dnsserver *ds, int rcode, size_t nans)
{
	enum metrics_dns o = rcode == DNS_RCODE_NXDOMAIN ? METRICS_DNS_NXDOMAIN :
	    rcode == DNS_RCODE_REFUSED ? METRICS_DNS_REFUSED :
	    rcode == DNS_RCODE_SERVFAIL ? METRICS_DNS_SERVFAIL :
	    rcode == DNS_RCODE_FORMERR || rcode == DNS_RCODE_NOTIMP ?
	    METRICS_DNS_FORMERR : nans ? METRICS_DNS_ANSWERED : METRICS_DNS_NODATA;

	metrics_dns_query(ds->w->srv->metrics, o);
}

static void
reply_error(struct dnsserver *ds, const struct dns_query *q, int rcode,
    int udp_fd, const struct sockaddr *to, socklen_t tolen, struct dns_tcp *tcp)
{
	uint8_t out[512];
	size_t len;

	metrics_outcome(ds, rcode, 0);
	if (dns_build_error(q, rcode, out, sizeof(out), &len) == 0)
		dns_send(ds, udp_fd, to, tolen, tcp, out, len);
}

static void
req_free(struct dnsreq *r)
{
	if (r->rreq != NULL)
		resolve_cancel(r->rreq);
	if (r->tcp != NULL) {
		r->tcp->pending = NULL;
		bufferevent_enable(r->tcp->bev, EV_READ);
	}
	LIST_REMOVE(r, link);
	r->ds->npending--;
	px_session_unref(r->s);
	free(r);
}

/* The resolver answered an allowed name: keep what policy allows, tell
 * the client, and remember the addresses as ones this proxy resolved. */
static void
dns_resolved(const struct resolve_answer *ans, void *arg)
{
	struct dnsreq *r = arg;
	struct dnsserver *ds = r->ds;
	const struct cidr_set *exempt;
	struct server_config *sc;
	struct dns_rr rr[RESOLVE_MAX_ADDRS];
	size_t i, n = 0, blocked = 0, len;
	int fam = r->q.qtype == DNS_TYPE_A ? AF_INET : AF_INET6;
	/* One per thread: each worker builds answers on its own loop, and a
	 * buffer shared between them mixed one client's answer into
	 * another's (found by tests/lab/load.sh). */
	static _Thread_local uint8_t out[DNS_TCP_BUF];
	uint64_t now = clock_monotonic_ms();
	struct dns_tcp *tcp = r->tcp;
	/* Set only once resolver_lookup() returned: a cache hit answers
	 * from inside it, while the caller still holds the message. */
	int async = r->rreq != NULL;

	r->rreq = NULL;
	if (!ans->from_cache)
		metrics_resolver_latency(ds->w->srv->metrics, (now - r->start_ms) * 1000);
	if (ans->status != 0 && ans->status != ARES_ENOTFOUND &&
	    ans->status != ARES_ENODATA) {
		/* A resolver fault, not a policy decision: SERVFAIL, no event. */
		log_debug("dns: %s: %s", r->q.name, ans->error);
		metrics_error(ds->w->srv->metrics, METRICS_ERR_RESOLVER);
		reply_error(ds, &r->q, DNS_RCODE_SERVFAIL, r->udp_fd,
		    (struct sockaddr *)&r->from, r->fromlen, tcp);
		req_free(r);
		return;
	}
	sc = server_config_get(ds->w->srv);
	exempt = &sc->cfg->exempt;
	for (i = 0; ans->status == 0 && i < ans->n; i++) {
		if (ip_class_blocked(ip_classify(&ans->addrs[i], exempt))) {
			blocked++;
			continue;
		}
		px_session_resolved_add(r->s, r->q.name, &ans->addrs[i],
		    ans->ttls[i], now);
		if (ans->addrs[i].family != fam)
			continue;
		rr[n].addr = ans->addrs[i];
		rr[n].ttl = ans->ttls[i];
		n++;
	}
	server_config_put(sc);
	if (blocked > 0 && blocked == ans->n) {
		dns_event(ds, r->s, &r->src, r->q.name, 1, "resolves_to_blocked");
		reply_error(ds, &r->q, DNS_RCODE_REFUSED, r->udp_fd,
		    (struct sockaddr *)&r->from, r->fromlen, tcp);
	} else if (ans->status != 0) {
		/* The allowed name does not exist upstream. */
		reply_error(ds, &r->q, DNS_RCODE_NXDOMAIN, r->udp_fd,
		    (struct sockaddr *)&r->from, r->fromlen, tcp);
	} else if (dns_build_answer(&r->q, rr, n, DNS_TTL_CAP, out,
	    reply_cap(&r->q, tcp != NULL), &len) == 0) {
		dns_event(ds, r->s, &r->src, r->q.name, 0, "allowed");
		metrics_outcome(ds, DNS_RCODE_NOERROR, n);
		dns_send(ds, r->udp_fd, (struct sockaddr *)&r->from, r->fromlen,
		    tcp, out, len);
	}
	req_free(r);
	if (tcp != NULL && async)
		tcp_read_cb(tcp->bev, tcp);	/* a pipelined next query */
}

/*
 * One query from a session: parsed, judged, and either answered at once
 * (refusals, cache hits) or handed to the resolver.
 */
static void
dns_handle(struct dnsserver *ds, const uint8_t *msg, size_t len,
    const struct ip_addr *src, int udp_fd, const struct sockaddr *from,
    socklen_t fromlen, struct dns_tcp *tcp)
{
	struct dns_query q;
	enum dns_result res;
	struct px_session *s;
	struct dnsreq *r;
	char canon[HOSTNAME_MAX + 1], shown[DNS_NAME_FORMAT_MAX];
	const char *why;
	int rc;

	res = dns_parse_query(msg, len, &q, &why);
	if (res == DNS_DROP)
		return;
	s = session_table_lookup(ds->w->srv->sessions, src);
	if (s == NULL) {
		dns_event(ds, NULL, src, "", 1, "unknown_source");
		if (q.have_header)
			reply_error(ds, &q, DNS_RCODE_REFUSED, udp_fd, from, fromlen, tcp);
		return;
	}
	if (res != DNS_OK) {
		if (q.have_header)
			reply_error(ds, &q, dns_result_rcode(res), udp_fd, from,
			    fromlen, tcp);
		if (res == DNS_FORMERR || res == DNS_REFUSED) {
			/* It returns the length written: only -1 is a failure. */
			if (dns_name_format(&q, shown, sizeof(shown)) < 0)
				shown[0] = '\0';
			dns_event(ds, s, src, shown, 1, "bad_request");
		}
		px_session_unref(s);
		return;
	}
	rc = hostname_canon(q.name, q.name_len, canon, NULL);
	/* A bound host is allowed for its session whatever the list says. */
	if (rc != HOSTNAME_OK || (!policy_name_allowed(s->allow, canon) &&
	    (s->bound == NULL || !policy_name_allowed(s->bound, canon)))) {
		/* Never sent upstream: this is what closes DNS exfiltration.
		 * A name that is no host name is audited as asked (escaped),
		 * so two such attempts are two events, not one blank one. */
		if (rc != HOSTNAME_OK &&
		    dns_name_format(&q, shown, sizeof(shown)) < 0)
			shown[0] = '\0';
		dns_event(ds, s, src, rc != HOSTNAME_OK ? shown : canon, 1,
		    rc == -1 ? "invalid_host" : "not_allowlisted");
		reply_error(ds, &q, DNS_RCODE_NXDOMAIN, udp_fd, from, fromlen, tcp);
		px_session_unref(s);
		return;
	}
	if (q.qclass != DNS_CLASS_IN ||
	    (q.qtype != DNS_TYPE_A && q.qtype != DNS_TYPE_AAAA)) {
		dns_event(ds, s, src, canon, 1, decide_reason_name(DECIDE_DNS_TYPE));
		reply_error(ds, &q, DNS_RCODE_REFUSED, udp_fd, from, fromlen, tcp);
		px_session_unref(s);
		return;
	}
	if (ds->npending >= DNSSERVER_PENDING_MAX ||
	    (r = calloc(1, sizeof(*r))) == NULL) {
		reply_error(ds, &q, DNS_RCODE_SERVFAIL, udp_fd, from, fromlen, tcp);
		px_session_unref(s);
		return;
	}
	r->ds = ds;
	r->s = s;
	r->q = q;
	/* Canonical from here on: events, the resolver and the table agree. */
	snprintf(r->q.name, sizeof(r->q.name), "%s", canon);
	r->src = *src;
	r->udp_fd = udp_fd;
	if (from != NULL) {
		memcpy(&r->from, from, fromlen);
		r->fromlen = fromlen;
	}
	r->tcp = tcp;
	r->start_ms = clock_monotonic_ms();
	LIST_INSERT_HEAD(&ds->pending, r, link);
	ds->npending++;
	if (tcp != NULL)
		tcp->pending = r;
	/* A cache hit answers (and frees r) before this returns. */
	{
		struct resolve_req *rr = resolver_lookup(ds->w->resolver, canon,
		    dns_resolved, r);

		if (rr != NULL)
			r->rreq = rr;
	}
}

static void
udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dnsserver *ds = arg;
	uint8_t buf[DNS_UDP_BUF + 1];
	struct sockaddr_storage from;
	socklen_t fl;
	struct ip_addr src;
	ssize_t n;
	int i;

	(void)what;
	/* Bounded batch, so one flooding session cannot starve the loop. */
	for (i = 0; i < 32; i++) {
		fl = sizeof(from);
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n < 0)
			return;
		if (ip_from_sockaddr((struct sockaddr *)&from, &src) == -1)
			continue;
		dns_handle(ds, buf, (size_t)n, &src, fd, (struct sockaddr *)&from,
		    fl, NULL);
	}
}

static void
tcp_read_cb(struct bufferevent *bev, void *arg)
{
	struct dns_tcp *t = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t avail, msglen = 0;
	uint8_t *p;

	while (t->pending == NULL && (avail = evbuffer_get_length(in)) >= 2) {
		p = evbuffer_pullup(in, 2);
		switch (dns_tcp_frame_len(p, avail, &msglen)) {
		case DNS_FRAME_BAD:
			tcp_close(t);
			return;
		case DNS_FRAME_NEED_MORE:
			return;
		case DNS_FRAME_OK:
			break;
		}
		if ((p = evbuffer_pullup(in, (ssize_t)(msglen + 2))) == NULL)
			return;
		/* Stop reading while this one waits for the resolver. */
		bufferevent_disable(bev, EV_READ);
		dns_handle(t->ds, p + 2, msglen, &t->src, -1, NULL, 0, t);
		evbuffer_drain(in, msglen + 2);
		if (t->pending == NULL)
			bufferevent_enable(bev, EV_READ);
	}
}

static void
tcp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		tcp_close(arg);
}

static void
tcp_close(struct dns_tcp *t)
{
	if (t->pending != NULL) {
		t->pending->tcp = NULL;
		req_free(t->pending);
	}
	LIST_REMOVE(t, link);
	t->ds->ntcps--;
	bufferevent_free(t->bev);
	free(t);
}

static void
tcp_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct dnsserver *ds = arg;
	struct dns_tcp *t;
	struct timeval idle = { DNSSERVER_TCP_IDLE_MS / 1000, 0 };

	(void)l;
	(void)salen;
	if (ds->ntcps >= DNSSERVER_TCP_MAX || (t = calloc(1, sizeof(*t))) == NULL) {
		close(fd);
		return;
	}
	t->ds = ds;
	if (ip_from_sockaddr(sa, &t->src) == -1 ||
	    (t->bev = bufferevent_socket_new(ds->w->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		close(fd);
		free(t);
		return;
	}
	LIST_INSERT_HEAD(&ds->tcps, t, link);
	ds->ntcps++;
	bufferevent_setcb(t->bev, tcp_read_cb, NULL, tcp_event_cb, t);
	bufferevent_set_timeouts(t->bev, &idle, &idle);
	/* A message is at most 64 KiB plus its length. */
	bufferevent_setwatermark(t->bev, EV_READ, 0, DNS_TCP_BUF);
	bufferevent_enable(t->bev, EV_READ | EV_WRITE);
}

struct dnsserver *
dnsserver_new(struct worker *w, const struct config_listeners *listen,
    char *err, size_t errlen)
{
	struct dnsserver *ds;
	size_t i;
	int fd;

	if ((ds = calloc(1, sizeof(*ds))) == NULL) {
		snprintf(err, errlen, "dns: out of memory");
		return NULL;
	}
	ds->w = w;
	LIST_INIT(&ds->pending);
	LIST_INIT(&ds->tcps);
	for (i = 0; i < listen->n; i++) {
		if ((fd = listen_socket(&listen->v[i], SOCK_DGRAM, "dns listen", err, errlen)) == -1)
			goto fail;
		ds->udp_fd[ds->nudp] = fd;
		ds->udp_ev[ds->nudp] = event_new(w->base, fd, EV_READ | EV_PERSIST,
		    udp_read_cb, ds);
		ds->nudp++;
		if (ds->udp_ev[ds->nudp - 1] == NULL) {
			snprintf(err, errlen, "dns: event failed");
			goto fail;
		}
		event_add(ds->udp_ev[ds->nudp - 1], NULL);
		if ((fd = listen_socket(&listen->v[i], SOCK_STREAM, "dns listen", err, errlen)) == -1)
			goto fail;
		ds->tcp_l[ds->ntcp] = evconnlistener_new(w->base, tcp_accept_cb, ds,
		    LEV_OPT_CLOSE_ON_FREE, -1, fd);
		if (ds->tcp_l[ds->ntcp] == NULL) {
			close(fd);
			snprintf(err, errlen, "dns: listener failed");
			goto fail;
		}
		ds->ntcp++;
	}
	return ds;
fail:
	dnsserver_free(ds);
	return NULL;
}

void
dnsserver_free(struct dnsserver *ds)
{
	size_t i;

	if (ds == NULL)
		return;
	while (!LIST_EMPTY(&ds->tcps))
		tcp_close(LIST_FIRST(&ds->tcps));
	while (!LIST_EMPTY(&ds->pending))
		req_free(LIST_FIRST(&ds->pending));
	for (i = 0; i < ds->nudp; i++) {
		if (ds->udp_ev[i] != NULL)
			event_free(ds->udp_ev[i]);
		close(ds->udp_fd[i]);
	}
	for (i = 0; i < ds->ntcp; i++)
		evconnlistener_free(ds->tcp_l[i]);
	free(ds);
}
