#include <stdlib.h>
#include <string.h>

#include "proxyd/resolved.h"

void
resolved_init(struct resolved_table *t)
{
	memset(t, 0, sizeof(*t));
}

void
resolved_free(struct resolved_table *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}

/* Drops expired entries in place; order does not matter to lookups. */
static void
resolved_expire(struct resolved_table *t, uint64_t now_ms)
{
	size_t i = 0;

	while (i < t->n) {
		if (t->v[i].expires_ms <= now_ms)
			t->v[i] = t->v[--t->n];
		else
			i++;
	}
}

int
resolved_add(struct resolved_table *t, const char *name,
    const struct ip_addr *addr, uint32_t ttl_s, uint64_t now_ms)
{
	struct resolved_entry *e;
	size_t i, victim;

	if (ttl_s > RESOLVED_TTL_MAX)
		ttl_s = RESOLVED_TTL_MAX;
	if (ttl_s < RESOLVED_TTL_MIN)
		ttl_s = RESOLVED_TTL_MIN;
	for (i = 0; i < t->n; i++) {
		e = &t->v[i];
		if (ip_equal(&e->addr, addr) && strcmp(e->name, name) == 0) {
			e->expires_ms = now_ms + (uint64_t)ttl_s * 1000;
			return 0;
		}
	}
	if (t->n == RESOLVED_MAX)
		resolved_expire(t, now_ms);
	if (t->n == RESOLVED_MAX) {
		victim = 0;
		for (i = 1; i < t->n; i++)
			if (t->v[i].expires_ms < t->v[victim].expires_ms)
				victim = i;
		t->v[victim] = t->v[--t->n];
	}
	if (t->n == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 16;

		if (ncap > RESOLVED_MAX)
			ncap = RESOLVED_MAX;
		if ((e = realloc(t->v, ncap * sizeof(*e))) == NULL)
			return -1;
		t->v = e;
		t->cap = ncap;
	}
	e = &t->v[t->n++];
	memset(e, 0, sizeof(*e));
	e->addr = *addr;
	e->expires_ms = now_ms + (uint64_t)ttl_s * 1000;
	strncpy(e->name, name, HOSTNAME_MAX);
	return 0;
}

size_t
resolved_names(const struct resolved_table *t, const struct ip_addr *addr,
    uint64_t now_ms, const char *names[], size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < t->n && n < max; i++)
		if (t->v[i].expires_ms > now_ms && ip_equal(&t->v[i].addr, addr))
			names[n++] = t->v[i].name;
	return n;
}
