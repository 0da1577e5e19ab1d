#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <libnftnl/expr.h>
#include <libnftnl/set.h>

#include "common/err.h"
#include "common/ip.h"
#include "rules/counters.h"
#include "rules/elem.h"
#include "rules/nft.h"
#include "rules/table.h"

struct ctr {
	uint64_t packets, bytes;
	int found;
};

static int
ctr_cb(struct nftnl_expr *e, void *arg)
{
	struct ctr *c = arg;

	if (strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "counter") == 0) {
		c->packets = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
		c->bytes = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_BYTES);
	}
	return 0;
}

static int
counter_of(struct nft_sock *s, const char *set, const struct ip_addr *addr,
    struct ctr *c, char *err, size_t errlen)
{
	uint32_t alen = addr->family == AF_INET ? 4 : 16;
	struct nftnl_set *st;
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *el;
	int r = -1;

	memset(c, 0, sizeof(*c));
	if ((st = nftnl_set_alloc()) == NULL) {
		err_set(err, errlen, "read counters: %s", strerror(errno));
		return -1;
	}
	nftnl_set_set_u32(st, NFTNL_SET_FAMILY, RULES_FAMILY);
	nftnl_set_set_str(st, NFTNL_SET_TABLE, RULES_TABLE);
	nftnl_set_set_str(st, NFTNL_SET_NAME, set);
	if (nft_get_elems(s, st, err, errlen) == -1)
		goto out;
	if ((it = nftnl_set_elems_iter_create(st)) == NULL) {
		err_set(err, errlen, "read counters: %s", strerror(errno));
		goto out;
	}
	while ((el = nftnl_set_elems_iter_next(it)) != NULL) {
		struct elem_bytes e;

		elem_from_nftnl(el, &e);
		if (e.klen == alen && memcmp(e.key, addr->a, alen) == 0) {
			c->found = 1;
			nftnl_set_elem_expr_foreach(el, ctr_cb, c);
			break;
		}
	}
	nftnl_set_elems_iter_destroy(it);
	r = 0;
out:
	nftnl_set_free(st);
	return r;
}

int
rules_counters_read(struct nft_sock *s, const struct ip_addr *addr,
    struct rules_counters *out, char *err, size_t errlen)
{
	struct ctr tx, rx;
	int v6;

	memset(out, 0, sizeof(*out));
	if (addr->family != AF_INET && addr->family != AF_INET6) {
		err_set(err, errlen, "read counters: not an IP address");
		errno = EINVAL;
		return -1;
	}
	v6 = addr->family == AF_INET6;
	if (counter_of(s, v6 ? RULES_SET_TX6 : RULES_SET_TX4, addr, &tx, err,
	    errlen) == -1 ||
	    counter_of(s, v6 ? RULES_SET_RX6 : RULES_SET_RX4, addr, &rx, err,
	    errlen) == -1)
		return -1;
	if (!tx.found && !rx.found) {
		char a[IP_STRLEN] = "?";

		ip_format(addr, a, sizeof(a));
		err_set(err, errlen, "read counters: %s is no session address",
		    a);
		errno = ENOENT;
		return -1;
	}
	out->tx_packets = tx.packets;
	out->tx_bytes = tx.bytes;
	out->rx_packets = rx.packets;
	out->rx_bytes = rx.bytes;
	return 0;
}
