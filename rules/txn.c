#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netlink.h>

#include <libnftnl/batch.h>
#include <libnftnl/common.h>

#include "rules/table.h"
#include "rules/txn.h"

/* Batch pages; one message (elem.c puts at most 64 elements in one)
 * always fits the overrun. */
#define TXN_PAGE	(32 * 1024)
#define TXN_OVERRUN	(32 * 1024)

int
rules_txn_init(struct rules_txn *t, uint32_t seq)
{
	memset(t, 0, sizeof(*t));
	if ((t->batch = nftnl_batch_alloc(TXN_PAGE, TXN_OVERRUN)) == NULL)
		return -1;
	t->seq_begin = seq;
	nftnl_batch_begin(nftnl_batch_buffer(t->batch), seq);
	if (nftnl_batch_update(t->batch) < 0) {
		nftnl_batch_free(t->batch);
		t->batch = NULL;
		return -1;
	}
	t->seq = seq + 1;
	return 0;
}

int
rules_txn_finish(struct rules_txn *t)
{
	if (t->finished) {
		errno = EALREADY;
		return -1;
	}
	nftnl_batch_end(nftnl_batch_buffer(t->batch), t->seq);
	if (nftnl_batch_update(t->batch) < 0)
		return -1;
	t->seq++;
	t->finished = 1;
	return 0;
}

size_t
rules_txn_count(const struct rules_txn *t)
{
	return t->nwhat;
}

const char *
rules_txn_what(const void *txn, uint32_t seq)
{
	const struct rules_txn *t = txn;
	uint32_t i = seq - t->seq_begin - 1;

	if (seq <= t->seq_begin || i >= t->nwhat)
		return NULL;
	return t->what[i];
}

void
rules_txn_free(struct rules_txn *t)
{
	if (t->batch != NULL)
		nftnl_batch_free(t->batch);
	free(t->what);
	memset(t, 0, sizeof(*t));
}

struct nlmsghdr *
rules_txn_msg(struct rules_txn *t, uint16_t type, uint16_t flags,
    const char *fmt, ...)
{
	va_list ap;

	if (t->finished) {
		errno = EALREADY;
		return NULL;
	}
	if (t->nwhat == t->capwhat) {
		size_t cap = t->capwhat ? t->capwhat * 2 : 32;
		void *p = reallocarray(t->what, cap, sizeof(*t->what));

		if (p == NULL)
			return NULL;
		t->what = p;
		t->capwhat = cap;
	}
	va_start(ap, fmt);
	vsnprintf(t->what[t->nwhat], RULES_WHAT_MAX, fmt, ap);
	va_end(ap);
	t->nwhat++;
	return nftnl_nlmsg_build_hdr(nftnl_batch_buffer(t->batch), type,
	    RULES_FAMILY, flags | NLM_F_ACK, t->seq++);
}

int
rules_txn_commit(struct rules_txn *t)
{
	return nftnl_batch_update(t->batch) < 0 ? -1 : 0;
}
