#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "netns/addrpool.h"

static uint32_t
addrpool_v4(const struct ip_addr *a)
{
	return (uint32_t)a->a[0] << 24 | (uint32_t)a->a[1] << 16 |
	    (uint32_t)a->a[2] << 8 | a->a[3];
}

static void
addrpool_set_v4(struct ip_addr *a, uint32_t v)
{
	memset(a, 0, sizeof(*a));
	a->family = AF_INET;
	a->a[0] = (uint8_t)(v >> 24);
	a->a[1] = (uint8_t)(v >> 16);
	a->a[2] = (uint8_t)(v >> 8);
	a->a[3] = (uint8_t)v;
}

int
addrpool_init(struct addrpool *p, const char *cidr, char *err, size_t errlen)
{
	const char *why = NULL;
	uint32_t mask;

	memset(p, 0, sizeof(*p));
	if (cidr == NULL || cidr_parse(cidr, strlen(cidr), &p->net, &why) == -1) {
		snprintf(err, errlen, "address pool %s: %s",
		    cidr != NULL ? cidr : "(null)", why != NULL ? why : "invalid");
		return -EINVAL;
	}
	if (p->net.addr.family != AF_INET) {
		snprintf(err, errlen, "address pool %s: only IPv4 pools are "
		    "supported", cidr);
		return -EINVAL;
	}
	if (p->net.prefix < ADDRPOOL_MIN_PREFIX) {
		snprintf(err, errlen, "address pool %s: larger than a /%d",
		    cidr, ADDRPOOL_MIN_PREFIX);
		return -EINVAL;
	}
	if (p->net.prefix > 31) {
		snprintf(err, errlen, "address pool %s: smaller than a /31 "
		    "pair", cidr);
		return -EINVAL;
	}
	/* cidr_parse() refuses host bits; a second check costs nothing. */
	mask = ~(uint32_t)0 << (32 - p->net.prefix);
	p->base = addrpool_v4(&p->net.addr);
	if ((p->base & ~mask) != 0) {
		snprintf(err, errlen, "address pool %s: host bits set", cidr);
		return -EINVAL;
	}
	p->npairs = (uint32_t)1 << (31 - p->net.prefix);
	return 0;
}

/* Index of the pair holding addr, or -ERANGE. */
static int
addrpool_index(const struct addrpool *p, const struct ip_addr *addr,
    uint32_t *k)
{
	uint32_t v;

	if (addr->family != AF_INET || p->npairs == 0)
		return -ERANGE;
	v = addrpool_v4(addr);
	if (v < p->base || (v - p->base) / 2 >= p->npairs)
		return -ERANGE;
	*k = (v - p->base) / 2;
	return 0;
}

static int
addrpool_bit(const struct addrpool *p, uint32_t k)
{
	return (p->used[k / 64] >> (k % 64)) & 1;
}

static void
addrpool_pair_fill(const struct addrpool *p, uint32_t k,
    struct addrpool_pair *out)
{
	addrpool_set_v4(&out->host, p->base + 2 * k);
	addrpool_set_v4(&out->sess, p->base + 2 * k + 1);
}

int
addrpool_alloc(struct addrpool *p, struct addrpool_pair *out)
{
	uint32_t w, k;

	for (w = 0; w * 64 < p->npairs; w++) {
		if (p->used[w] == ~(uint64_t)0)
			continue;
		k = w * 64 + (uint32_t)__builtin_ctzll(~p->used[w]);
		if (k >= p->npairs)
			break;
		p->used[w] |= (uint64_t)1 << (k % 64);
		p->nused++;
		addrpool_pair_fill(p, k, out);
		return 0;
	}
	return -ENOSPC;
}

int
addrpool_free(struct addrpool *p, const struct ip_addr *addr)
{
	uint32_t k;

	if (addrpool_index(p, addr, &k) < 0)
		return -ERANGE;
	if (!addrpool_bit(p, k))
		return -ENOENT;
	p->used[k / 64] &= ~((uint64_t)1 << (k % 64));
	p->nused--;
	return 0;
}

int
addrpool_mark_used(struct addrpool *p, const struct ip_addr *addr)
{
	uint32_t k;

	if (addrpool_index(p, addr, &k) < 0)
		return -ERANGE;
	if (!addrpool_bit(p, k)) {
		p->used[k / 64] |= (uint64_t)1 << (k % 64);
		p->nused++;
	}
	return 0;
}

int
addrpool_pair_of(const struct addrpool *p, const struct ip_addr *addr,
    struct addrpool_pair *out)
{
	uint32_t k;

	if (addrpool_index(p, addr, &k) < 0)
		return -ERANGE;
	addrpool_pair_fill(p, k, out);
	return 0;
}

int
addrpool_pair_at(const struct addrpool *p, uint32_t k,
    struct addrpool_pair *out)
{
	if (k >= p->npairs)
		return -ERANGE;
	addrpool_pair_fill(p, k, out);
	return 0;
}

int
addrpool_in_use(const struct addrpool *p, const struct ip_addr *addr)
{
	uint32_t k;

	if (addrpool_index(p, addr, &k) < 0)
		return -ERANGE;
	return addrpool_bit(p, k);
}

uint32_t
addrpool_size(const struct addrpool *p)
{
	return p->npairs;
}

uint32_t
addrpool_used(const struct addrpool *p)
{
	return p->nused;
}
