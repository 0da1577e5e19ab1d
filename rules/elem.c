#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>

#include <libnftnl/set.h>

#include "rules/elem.h"
#include "rules/table.h"
#include "rules/txn.h"

/* Elements in one message; it always fits the batch's overrun. */
#define RULES_ELEMS_PER_MSG 64

const char *const elem_set_name[SI_COUNT] = {
	[SI_IFACES] = RULES_SET_IFACES, [SI_MARK] = RULES_SET_MARK,
	[SI_SRC4] = RULES_SET_SRC4, [SI_TX4] = RULES_SET_TX4,
	[SI_RX4] = RULES_SET_RX4, [SI_SRC6] = RULES_SET_SRC6,
	[SI_TX6] = RULES_SET_TX6, [SI_RX6] = RULES_SET_RX6,
};

bool
elem_set_used(const struct rules_config *cfg, int i)
{
	return i < SI_SRC6 || cfg->ipv6;
}

/* Laid out as nft does: ifname zero-padded to IFNAMSIZ, concatenation
 * components back to back, mark in host order. */
bool
elem_of_session(const struct rules_session *s, int i, struct elem_bytes *e)
{
	memset(e, 0, sizeof(*e));
	switch (i) {
	case SI_IFACES:
	case SI_MARK:
		memcpy(e->key, s->ifname, strnlen(s->ifname, IFNAMSIZ - 1));
		e->klen = IFNAMSIZ;
		if (i == SI_MARK) {
			memcpy(e->data, &s->mark, sizeof(s->mark));
			e->dlen = sizeof(s->mark);
		}
		return true;
	case SI_SRC4:
		memcpy(e->key, s->ifname, strnlen(s->ifname, IFNAMSIZ - 1));
		memcpy(e->key + IFNAMSIZ, s->src4.a, 4);
		e->klen = IFNAMSIZ + 4;
		return true;
	case SI_TX4:
	case SI_RX4:
		memcpy(e->key, s->src4.a, 4);
		e->klen = 4;
		return true;
	case SI_SRC6:
		if (s->src6.family != AF_INET6)
			return false;
		memcpy(e->key, s->ifname, strnlen(s->ifname, IFNAMSIZ - 1));
		memcpy(e->key + IFNAMSIZ, s->src6.a, 16);
		e->klen = IFNAMSIZ + 16;
		return true;
	case SI_TX6:
	case SI_RX6:
		if (s->src6.family != AF_INET6)
			return false;
		memcpy(e->key, s->src6.a, 16);
		e->klen = 16;
		return true;
	}
	return false;
}

bool
elem_equal(const struct elem_bytes *a, const struct elem_bytes *b)
{
	return a->klen == b->klen && a->dlen == b->dlen &&
	    memcmp(a->key, b->key, a->klen) == 0 &&
	    memcmp(a->data, b->data, a->dlen) == 0;
}

void
elem_from_nftnl(struct nftnl_set_elem *el, struct elem_bytes *e)
{
	const void *p;
	uint32_t len = 0;

	memset(e, 0, sizeof(*e));
	p = nftnl_set_elem_get(el, NFTNL_SET_ELEM_KEY, &len);
	if (p != NULL && len <= ELEM_KEY_MAX) {
		memcpy(e->key, p, len);
		e->klen = len;
	}
	p = nftnl_set_elem_get(el, NFTNL_SET_ELEM_DATA, &len);
	if (p != NULL && len <= sizeof(e->data)) {
		memcpy(e->data, p, len);
		e->dlen = len;
	}
}

int
elem_emit(struct rules_txn *t, int i, uint16_t type,
    const struct elem_bytes *v, size_t n)
{
	const char *verb = type == NFT_MSG_NEWSETELEM ? "add" : "delete";
	uint16_t flags = type == NFT_MSG_NEWSETELEM ?
	    NLM_F_CREATE | NLM_F_EXCL : 0;
	size_t at = 0, k;

	while (at < n) {
		struct nftnl_set *holder;
		struct nlmsghdr *nlh;

		if ((holder = nftnl_set_alloc()) == NULL)
			return -1;
		nftnl_set_set_u32(holder, NFTNL_SET_FAMILY, RULES_FAMILY);
		nftnl_set_set_str(holder, NFTNL_SET_TABLE, RULES_TABLE);
		nftnl_set_set_str(holder, NFTNL_SET_NAME, elem_set_name[i]);
		for (k = at; k < n && k < at + RULES_ELEMS_PER_MSG; k++) {
			struct nftnl_set_elem *el = nftnl_set_elem_alloc();

			if (el == NULL) {
				nftnl_set_free(holder);
				return -1;
			}
			nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, v[k].key,
			    v[k].klen);
			if (v[k].dlen != 0 && type == NFT_MSG_NEWSETELEM)
				nftnl_set_elem_set(el, NFTNL_SET_ELEM_DATA,
				    v[k].data, v[k].dlen);
			nftnl_set_elem_add(holder, el);
		}
		nlh = rules_txn_msg(t, type, flags, "%s elements %s", verb,
		    elem_set_name[i]);
		if (nlh == NULL) {
			nftnl_set_free(holder);
			return -1;
		}
		nftnl_set_elems_nlmsg_build_payload(nlh, holder);
		nftnl_set_free(holder);
		if (rules_txn_commit(t) == -1)
			return -1;
		at = k;
	}
	return 0;
}

int
elem_emit_live(const struct rules_config *cfg,
    const struct rules_session *live, size_t n, struct rules_txn *t)
{
	struct elem_bytes *v;
	size_t k, m;
	int i, r = 0;

	if (n == 0)
		return 0;
	if ((v = calloc(n, sizeof(*v))) == NULL)
		return -1;
	for (i = 0; i < SI_COUNT && r == 0; i++) {
		if (!elem_set_used(cfg, i))
			continue;
		for (k = 0, m = 0; k < n; k++)
			if (elem_of_session(&live[k], i, &v[m]))
				m++;
		if (m > 0)
			r = elem_emit(t, i, NFT_MSG_NEWSETELEM, v, m);
	}
	free(v);
	return r;
}
