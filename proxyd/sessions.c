#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/hash.h"
#include "proxyd/sessions.h"
#include "rules/policy.h"

#define BUCKETS 4096
#define SESSIONS_MAX 65536

/* One entry per session, on two hash chains: by source and by id. */
struct entry {
	struct entry *next;
	struct entry *next_id;
	struct px_session *s;
};

struct session_table {
	pthread_rwlock_t lock;
	struct entry *buckets[BUCKETS];
	struct entry *ids[BUCKETS];
	size_t n;
	struct px_session **sources;	/* config sources, file order */
	size_t nsources;
};

struct px_session *
px_session_new(const char *id, const char *tenant, const struct cidr *source,
    struct policy *allow, uint32_t max_connections)
{
	struct px_session *s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		policy_free(allow);
		return NULL;
	}
	atomic_init(&s->refs, 1);
	atomic_init(&s->conns, 0);
	snprintf(s->id, sizeof(s->id), "%s", id);
	snprintf(s->tenant, sizeof(s->tenant), "%s", tenant);
	s->source = *source;
	s->allow = allow;
	s->max_connections = max_connections;
	pthread_mutex_init(&s->lock, NULL);
	resolved_init(&s->resolved);
	return s;
}

struct px_session *
px_session_new_borrowed(const char *tenant, const struct cidr *source,
    struct policy *allow, uint32_t max_connections, void (*release)(void *),
    void *arg)
{
	struct px_session *s = px_session_new("", tenant, source, NULL,
	    max_connections);

	if (s == NULL)
		return NULL;
	s->allow = allow;
	s->release = release;
	s->release_arg = arg;
	return s;
}

/* Frees what ctlmsg_decode() allocated for v; ctl_binding_clear() wipes
 * each secret before its memory goes back. */
static void
bindings_free(struct ctl_binding *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		ctl_binding_clear(&v[i]);
	free(v);
}

static void
bpolicy_free(struct policy **v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		policy_free(v[i]);
	free(v);
}

int
px_session_set_bindings(struct px_session *s, struct ctl_binding *v, size_t n)
{
	char err[256];
	size_t i, j;

	s->bindings = v;
	s->nbindings = n;
	if (n == 0)
		return 0;
	if ((s->bpolicy = calloc(n, sizeof(*s->bpolicy))) == NULL ||
	    (s->bound = policy_new()) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if ((s->bpolicy[i] = policy_new()) == NULL)
			return -1;
		for (j = 0; j < v[i].nhosts; j++) {
			if (policy_add(s->bpolicy[i], v[i].hosts[j],
			    strlen(v[i].hosts[j]), err, sizeof(err)) == -1 ||
			    policy_add(s->bound, v[i].hosts[j],
			    strlen(v[i].hosts[j]), err, sizeof(err)) == -1) {
				errno = EINVAL;
				return -1;
			}
		}
	}
	return 0;
}

const struct ctl_binding *
px_session_binding(const struct px_session *s, const char *canon_host,
    uint16_t port)
{
	size_t i;

	if (s == NULL || s->bound == NULL)
		return NULL;
	for (i = 0; i < s->nbindings; i++)
		if (policy_check(s->bpolicy[i], canon_host, strlen(canon_host),
		    port, NULL) == POLICY_ALLOW)
			return &s->bindings[i];
	return NULL;
}

void
px_session_ref(struct px_session *s)
{
	atomic_fetch_add(&s->refs, 1);
}

void
px_session_unref(struct px_session *s)
{
	if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	if (s->release != NULL)
		s->release(s->release_arg);
	else
		policy_free(s->allow);
	bpolicy_free(s->bpolicy, s->nbindings);
	policy_free(s->bound);
	bindings_free(s->bindings, s->nbindings);
	resolved_free(&s->resolved);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void
px_session_resolved_add(struct px_session *s, const char *name,
    const struct ip_addr *addr, uint32_t ttl_s, uint64_t now_ms)
{
	pthread_mutex_lock(&s->lock);
	/* Out of memory only costs a later raw-TCP allow; nothing to undo. */
	(void)resolved_add(&s->resolved, name, addr, ttl_s, now_ms);
	pthread_mutex_unlock(&s->lock);
}

static size_t
addr_hash(const struct ip_addr *a)
{
	return hash_bytes(hash_bytes(HASH_INIT, a->a, sizeof(a->a)), &a->family,
	    sizeof(a->family)) % BUCKETS;
}

static size_t
id_hash(const char *id)
{
	return hash_str(HASH_INIT, id) % BUCKETS;
}

static int
is_host_cidr(const struct cidr *c)
{
	return c->prefix == (c->addr.family == AF_INET ? 32u : 128u);
}

struct session_table *
session_table_new(void)
{
	struct session_table *t = calloc(1, sizeof(*t));

	if (t != NULL)
		pthread_rwlock_init(&t->lock, NULL);
	return t;
}

static void
sources_release(struct px_session **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		px_session_unref(v[i]);
	free(v);
}

void
session_table_free(struct session_table *t)
{
	struct entry *e, *en;
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < BUCKETS; i++) {
		for (e = t->buckets[i]; e != NULL; e = en) {
			en = e->next;
			px_session_unref(e->s);
			free(e);
		}
	}
	sources_release(t->sources, t->nsources);
	pthread_rwlock_destroy(&t->lock);
	free(t);
}

/* Caller holds the lock. Returns the id-chain link that points at it. */
static struct entry **
find_id(struct session_table *t, const char *id)
{
	struct entry **pp;

	for (pp = &t->ids[id_hash(id)]; *pp != NULL; pp = &(*pp)->next_id)
		if (strcmp((*pp)->s->id, id) == 0)
			return pp;
	return NULL;
}

/* Caller holds the lock. Returns the address-chain link that points at e. */
static struct entry **
addr_link(struct session_table *t, const struct entry *e)
{
	struct entry **pp = &t->buckets[addr_hash(&e->s->source.addr)];

	while (*pp != e)
		pp = &(*pp)->next;
	return pp;
}

static struct entry *
find_addr(struct session_table *t, const struct ip_addr *a)
{
	struct entry *e;

	for (e = t->buckets[addr_hash(a)]; e != NULL; e = e->next)
		if (ip_equal(&e->s->source.addr, a))
			return e;
	return NULL;
}

int
session_table_add(struct session_table *t, struct px_session *s)
{
	struct entry *e;
	size_t b;
	int rc = -1;

	if (!is_host_cidr(&s->source) || s->id[0] == '\0') {
		errno = EINVAL;
		return -1;
	}
	pthread_rwlock_wrlock(&t->lock);
	if (find_addr(t, &s->source.addr) != NULL || find_id(t, s->id) != NULL) {
		errno = EEXIST;
		goto out;
	}
	if (t->n >= SESSIONS_MAX) {
		errno = ENOSPC;
		goto out;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL)
		goto out;
	px_session_ref(s);
	e->s = s;
	b = addr_hash(&s->source.addr);
	e->next = t->buckets[b];
	t->buckets[b] = e;
	b = id_hash(s->id);
	e->next_id = t->ids[b];
	t->ids[b] = e;
	t->n++;
	rc = 0;
out:
	pthread_rwlock_unlock(&t->lock);
	return rc;
}

int
session_table_update(struct session_table *t, struct px_session *s)
{
	struct entry **pp, *e, *other;
	struct px_session *old;
	size_t b;
	int rc = -1;

	if (!is_host_cidr(&s->source)) {
		errno = EINVAL;
		return -1;
	}
	pthread_rwlock_wrlock(&t->lock);
	if ((pp = find_id(t, s->id)) == NULL) {
		errno = ENOENT;
		goto out;
	}
	e = *pp;
	other = find_addr(t, &s->source.addr);
	if (other != NULL && other != e) {
		errno = EEXIST;
		goto out;
	}
	old = e->s;
	px_session_ref(s);
	if (!ip_equal(&old->source.addr, &s->source.addr)) {
		/* The source moved: rehash the entry by its new address. */
		pp = addr_link(t, e);
		*pp = e->next;
		b = addr_hash(&s->source.addr);
		e->next = t->buckets[b];
		t->buckets[b] = e;
	}
	e->s = s;
	px_session_unref(old);
	rc = 0;
out:
	pthread_rwlock_unlock(&t->lock);
	return rc;
}

int
session_table_del(struct session_table *t, const char *id)
{
	struct entry **pp, *e;

	pthread_rwlock_wrlock(&t->lock);
	if ((pp = find_id(t, id)) == NULL) {
		pthread_rwlock_unlock(&t->lock);
		errno = ENOENT;
		return -1;
	}
	e = *pp;
	*pp = e->next_id;
	pp = addr_link(t, e);
	*pp = e->next;
	t->n--;
	pthread_rwlock_unlock(&t->lock);
	px_session_unref(e->s);
	free(e);
	return 0;
}

int
session_table_set_sources(struct session_table *t, struct px_session *const *v,
    size_t n)
{
	struct px_session **nv = NULL, **old;
	size_t i, oldn;

	if (n > 0 && (nv = calloc(n, sizeof(*nv))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		px_session_ref(v[i]);
		nv[i] = v[i];
	}
	pthread_rwlock_wrlock(&t->lock);
	old = t->sources;
	oldn = t->nsources;
	t->sources = nv;
	t->nsources = n;
	pthread_rwlock_unlock(&t->lock);
	sources_release(old, oldn);
	return 0;
}

struct px_session *
session_table_lookup(struct session_table *t, const struct ip_addr *src)
{
	struct px_session *s = NULL;
	struct entry *e;
	size_t i;

	pthread_rwlock_rdlock(&t->lock);
	if ((e = find_addr(t, src)) != NULL) {
		s = e->s;
	} else {
		for (i = 0; i < t->nsources; i++) {
			if (cidr_contains(&t->sources[i]->source, src)) {
				s = t->sources[i];
				break;
			}
		}
	}
	if (s != NULL)
		px_session_ref(s);
	pthread_rwlock_unlock(&t->lock);
	return s;
}

size_t
session_table_count(struct session_table *t)
{
	size_t n;

	pthread_rwlock_rdlock(&t->lock);
	n = t->n;
	pthread_rwlock_unlock(&t->lock);
	return n;
}
