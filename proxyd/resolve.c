#include <ares.h>
#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/clock.h"
#include "common/hash.h"
#include "common/hostname.h"
#include "proxyd/resolve.h"

#define CACHE_BUCKETS 1024

struct cache_entry {
	struct cache_entry *next;	/* hash chain */
	uint64_t expires_ms;
	struct resolve_answer ans;
	char name[HOSTNAME_MAX + 1];
};

/* A c-ares socket and the libevent event that watches it. */
struct rsock {
	struct rsock *next;
	ares_socket_t fd;
	struct event *ev;
};

struct resolve_req {
	struct resolver *r;
	resolve_cb cb;
	void *arg;
	int cancelled;
	int in_call;		/* inside ares_getaddrinfo() */
	int done_in_call;	/* c-ares answered before returning */
	struct resolve_answer ans;
	char name[HOSTNAME_MAX + 1];
};

struct resolver {
	struct event_base *base;
	ares_channel chan;
	int family;
	int destroying;
	struct event *timer;
	struct rsock *socks;
	struct cache_entry *buckets[CACHE_BUCKETS];
	/* Insertion order, for evicting the oldest entry when full. */
	struct cache_entry *ring[RESOLVE_CACHE_MAX];
	size_t ring_head;
	size_t cache_n;
	uint64_t (*now_ms)(void);
};

static size_t
name_hash(const char *s)
{
	return hash_str(HASH_INIT, s) % CACHE_BUCKETS;
}

static struct cache_entry *
cache_find(struct resolver *r, const char *name)
{
	struct cache_entry *e;

	for (e = r->buckets[name_hash(name)]; e != NULL; e = e->next)
		if (strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

static void
cache_unlink(struct resolver *r, struct cache_entry *victim)
{
	struct cache_entry **pp = &r->buckets[name_hash(victim->name)];

	while (*pp != NULL && *pp != victim)
		pp = &(*pp)->next;
	if (*pp != NULL)
		*pp = victim->next;
}

/* Keeps at most RESOLVE_CACHE_MAX names; the oldest insertion goes first. */
static void
cache_store(struct resolver *r, const char *name, const struct resolve_answer *ans,
    uint32_t ttl_s)
{
	struct cache_entry *e = cache_find(r, name);
	size_t slot;

	if (e == NULL) {
		slot = r->ring_head;
		if (r->cache_n == RESOLVE_CACHE_MAX) {
			e = r->ring[slot];
			cache_unlink(r, e);
		} else {
			if ((e = calloc(1, sizeof(*e))) == NULL)
				return;
			r->cache_n++;
		}
		r->ring[slot] = e;
		r->ring_head = (slot + 1) % RESOLVE_CACHE_MAX;
		snprintf(e->name, sizeof(e->name), "%s", name);
		e->next = r->buckets[name_hash(name)];
		r->buckets[name_hash(name)] = e;
	}
	e->ans = *ans;
	e->ans.from_cache = 1;
	e->expires_ms = r->now_ms() + (uint64_t)ttl_s * 1000;
}

static void
rsock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct resolver *r = arg;

	ares_process_fd(r->chan, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
	    (what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
}

/* c-ares tells us which sockets it wants watched; mirror that in libevent. */
static void
sock_state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
	struct resolver *r = data;
	struct rsock **pp, *s;
	short what = EV_PERSIST;

	for (pp = &r->socks; *pp != NULL && (*pp)->fd != fd; pp = &(*pp)->next)
		;
	s = *pp;
	if (!readable && !writable) {
		if (s != NULL) {
			*pp = s->next;
			event_free(s->ev);
			free(s);
		}
		return;
	}
	if (readable)
		what |= EV_READ;
	if (writable)
		what |= EV_WRITE;
	if (s == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			return;
		s->fd = fd;
		s->next = r->socks;
		r->socks = s;
	} else {
		event_free(s->ev);
	}
	s->ev = event_new(r->base, fd, what, rsock_cb, r);
	if (s->ev != NULL)
		event_add(s->ev, NULL);
}

static void
timer_arm(struct resolver *r)
{
	struct timeval max = { 1, 0 }, tv, *t;

	t = ares_timeout(r->chan, &max, &tv);
	evtimer_add(r->timer, t);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct resolver *r = arg;

	(void)fd;
	(void)what;
	ares_process_fd(r->chan, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	timer_arm(r);
}

static void
answer_fill(struct resolve_answer *ans, int status, const struct ares_addrinfo *res)
{
	const struct ares_addrinfo_node *n;

	memset(ans, 0, sizeof(*ans));
	ans->status = status;
	ans->error = ares_strerror(status);
	if (status != ARES_SUCCESS || res == NULL)
		return;
	for (n = res->nodes; n != NULL && ans->n < RESOLVE_MAX_ADDRS; n = n->ai_next) {
		if (ip_from_sockaddr(n->ai_addr, &ans->addrs[ans->n]) == -1)
			continue;
		ans->ttls[ans->n] = n->ai_ttl > 0 ? (uint32_t)n->ai_ttl : 0;
		ans->n++;
	}
	if (ans->n == 0) {
		ans->status = ARES_ENODATA;
		ans->error = ares_strerror(ARES_ENODATA);
	}
}

static void
addrinfo_cb(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	struct resolve_req *req = arg;
	struct resolver *r = req->r;
	uint32_t ttl = RESOLVE_TTL_MAX;
	size_t i;

	(void)timeouts;
	answer_fill(&req->ans, status, res);
	if (res != NULL)
		ares_freeaddrinfo(res);
	if (status == ARES_EDESTRUCTION || r->destroying) {
		free(req);
		return;
	}
	if (req->ans.status == ARES_SUCCESS) {
		for (i = 0; i < req->ans.n; i++)
			if (req->ans.ttls[i] < ttl)
				ttl = req->ans.ttls[i];
		cache_store(r, req->name, &req->ans, ttl);
	} else if (req->ans.status == ARES_ENOTFOUND || req->ans.status == ARES_ENODATA) {
		cache_store(r, req->name, &req->ans, RESOLVE_NEGATIVE_TTL);
	}
	if (req->in_call) {
		/* Answered synchronously: resolver_lookup() finishes the job. */
		req->done_in_call = 1;
		return;
	}
	if (!req->cancelled)
		req->cb(&req->ans, req->arg);
	free(req);
}

struct resolver *
resolver_new(struct event_base *base, const char *servers, int family,
    char *err, size_t errlen)
{
	struct resolver *r;
	struct ares_options opts;
	int rc;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		snprintf(err, errlen, "resolver: out of memory");
		return NULL;
	}
	r->base = base;
	r->family = family;
	r->now_ms = clock_monotonic_ms;
	memset(&opts, 0, sizeof(opts));
	opts.sock_state_cb = sock_state_cb;
	opts.sock_state_cb_data = r;
	/* DNS only: /etc/hosts must not answer for sandbox traffic. */
	opts.lookups = (char *)"b";
	opts.timeout = 2000;
	opts.tries = 2;
	rc = ares_init_options(&r->chan, &opts, ARES_OPT_SOCK_STATE_CB |
	    ARES_OPT_LOOKUPS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
	if (rc != ARES_SUCCESS) {
		snprintf(err, errlen, "resolver: %s", ares_strerror(rc));
		free(r);
		return NULL;
	}
	if (servers != NULL &&
	    (rc = ares_set_servers_ports_csv(r->chan, servers)) != ARES_SUCCESS) {
		snprintf(err, errlen, "resolver servers \"%s\": %s", servers,
		    ares_strerror(rc));
		ares_destroy(r->chan);
		free(r);
		return NULL;
	}
	if ((r->timer = evtimer_new(base, timer_cb, r)) == NULL) {
		snprintf(err, errlen, "resolver: cannot create timer");
		ares_destroy(r->chan);
		free(r);
		return NULL;
	}
	return r;
}

void
resolver_free(struct resolver *r)
{
	struct rsock *s, *sn;
	size_t i;

	if (r == NULL)
		return;
	r->destroying = 1;
	ares_destroy(r->chan);
	for (s = r->socks; s != NULL; s = sn) {
		sn = s->next;
		event_free(s->ev);
		free(s);
	}
	for (i = 0; i < r->cache_n; i++)
		free(r->ring[i]);
	event_free(r->timer);
	free(r);
}

struct resolve_req *
resolver_lookup(struct resolver *r, const char *name, resolve_cb cb, void *arg)
{
	struct ares_addrinfo_hints hints;
	struct cache_entry *e;
	struct resolve_req *req;
	struct resolve_answer fail;

	if ((e = cache_find(r, name)) != NULL && e->expires_ms > r->now_ms()) {
		cb(&e->ans, arg);
		return NULL;
	}
	if (strlen(name) > HOSTNAME_MAX || (req = calloc(1, sizeof(*req))) == NULL) {
		memset(&fail, 0, sizeof(fail));
		fail.status = ARES_ENOMEM;
		fail.error = ares_strerror(ARES_ENOMEM);
		cb(&fail, arg);
		return NULL;
	}
	req->r = r;
	req->cb = cb;
	req->arg = arg;
	snprintf(req->name, sizeof(req->name), "%s", name);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = r->family;
	hints.ai_flags = ARES_AI_NOSORT;
	req->in_call = 1;
	ares_getaddrinfo(r->chan, name, NULL, &hints, addrinfo_cb, req);
	req->in_call = 0;
	if (req->done_in_call) {
		cb(&req->ans, arg);
		free(req);
		return NULL;
	}
	timer_arm(r);
	return req;
}

void
resolve_cancel(struct resolve_req *req)
{
	if (req != NULL)
		req->cancelled = 1;
}

size_t
resolver_cache_size(const struct resolver *r)
{
	return r->cache_n;
}

void
resolver_set_clock(struct resolver *r, uint64_t (*now_ms)(void))
{
	r->now_ms = now_ms ? now_ms : clock_monotonic_ms;
}
