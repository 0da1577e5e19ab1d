#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "common/err.h"
#include "common/clock.h"
#include "rules/nft.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* Big enough for any dump message the kernel builds (it sizes them by our
 * receive buffer, capped at 32 KiB) and for a burst of ACKs. */
#define NFT_RXBUF	(64 * 1024)
/* Bounded retries of a dump the kernel reports as interrupted. */
#define NFT_DUMP_TRIES	4
/* How long to wait for the rest of the answers once one error arrived. */
#define NFT_ERR_GRACE_MS 500

struct nft_sock {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	int sndbuf;
	char *rx;
};

/* Callback for one parsed message of a dump; returns 0 or -1 (errno). */
typedef int (*nft_msg_fn)(const struct nlmsghdr *nlh, void *arg);

/* Keep a large batch in one sendmsg: the kernel takes a transaction only
 * as one skb, which must fit the socket's send buffer. */
static int
nft_sndbuf_fit(struct nft_sock *s, size_t len)
{
	int want;

	if (len + 4096 <= (size_t)s->sndbuf)
		return 0;
	if (len > 64u * 1024 * 1024) {
		errno = EMSGSIZE;
		return -1;
	}
	want = (int)(len * 2 + 4096);
	if (setsockopt(mnl_socket_get_fd(s->nl), SOL_SOCKET, SO_SNDBUFFORCE,
	    &want, sizeof(want)) == -1 &&
	    setsockopt(mnl_socket_get_fd(s->nl), SOL_SOCKET, SO_SNDBUF,
	    &want, sizeof(want)) == -1)
		return -1;
	s->sndbuf = want;
	return 0;
}

static int
nft_socket_setup(struct nft_sock *s, char *err, size_t errlen)
{
	int fd = mnl_socket_get_fd(s->nl), one = 1, rcv = 1024 * 1024;
	socklen_t sl = sizeof(s->sndbuf);

	if (mnl_socket_bind(s->nl, 0, MNL_SOCKET_AUTOPID) == -1) {
		err_set(err, errlen, "bind netlink socket: %s", strerror(errno));
		return -1;
	}
	s->portid = mnl_socket_get_portid(s->nl);
	/* ACKs without the echoed request: many fit one read. */
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) == -1)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &s->sndbuf, &sl) == -1)
		s->sndbuf = 0;
	return 0;
}

int
nft_open(struct nft_sock **out, int netns_fd, char *err, size_t errlen)
{
	struct nft_sock *s;
	int self = -1, saved;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->rx = malloc(NFT_RXBUF)) == NULL) {
		err_set(err, errlen, "nft socket: %s", strerror(errno));
		goto fail_alloc;
	}
	s->seq = (uint32_t)time(NULL);
	if (netns_fd >= 0) {
		self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
		if (self == -1) {
			err_set(err, errlen, "open own netns: %s",
			    strerror(errno));
			goto fail_alloc;
		}
		if (setns(netns_fd, CLONE_NEWNET) == -1) {
			err_set(err, errlen, "enter netns: %s", strerror(errno));
			goto fail_self;
		}
	}
	s->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	saved = errno;
	if (self != -1 && setns(self, CLONE_NEWNET) == -1) {
		/* The thread is stranded in the other netns: say so loudly. */
		err_set(err, errlen, "return to own netns: %s", strerror(errno));
		goto fail_sock;
	}
	if (s->nl == NULL) {
		err_set(err, errlen, "open NETLINK_NETFILTER socket: %s",
		    strerror(saved));
		goto fail_self;
	}
	if (nft_socket_setup(s, err, errlen) == -1)
		goto fail_sock;
	if (self != -1)
		close(self);
	*out = s;
	return 0;

fail_sock:
	if (s->nl != NULL)
		mnl_socket_close(s->nl);
fail_self:
	if (self != -1)
		close(self);
fail_alloc:
	if (s != NULL)
		free(s->rx);
	free(s);
	return -1;
}

void
nft_close(struct nft_sock *s)
{
	if (s == NULL)
		return;
	mnl_socket_close(s->nl);
	free(s->rx);
	free(s);
}

uint32_t
nft_seq(const struct nft_sock *s)
{
	return s->seq;
}

/* One read with a deadline: >0 bytes, 0 on timeout, -1 on error. */
static ssize_t
nft_recv(struct nft_sock *s, int64_t deadline)
{
	struct pollfd pfd = { .fd = mnl_socket_get_fd(s->nl), .events = POLLIN };
	struct sockaddr_nl sa;
	struct iovec iov = { .iov_base = s->rx, .iov_len = NFT_RXBUF };
	struct msghdr mh = {
		.msg_name = &sa, .msg_namelen = sizeof(sa),
		.msg_iov = &iov, .msg_iovlen = 1,
	};
	ssize_t n;
	int64_t left;
	int r;

	for (;;) {
		left = deadline - (int64_t)clock_monotonic_ms();
		if (left <= 0)
			return 0;
		r = poll(&pfd, 1, (int)left);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0)
			return 0;
		n = recvmsg(pfd.fd, &mh, 0);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == -1)
			return -1;
		if (mh.msg_flags & MSG_TRUNC) {
			errno = EMSGSIZE;
			return -1;
		}
		if (sa.nl_pid != 0)	/* only the kernel talks to us */
			continue;
		return n;
	}
}

struct batch_scan {
	size_t len;
	uint32_t lo, hi;
	unsigned int acks;
};

/* How many answers a batch asks for, and which sequence numbers it uses. */
static int
batch_scan(const struct iovec *iov, int n, struct batch_scan *bs)
{
	int i;

	memset(bs, 0, sizeof(*bs));
	bs->lo = UINT32_MAX;
	for (i = 0; i < n; i++) {
		const struct nlmsghdr *nlh = iov[i].iov_base;
		int left = (int)iov[i].iov_len;

		bs->len += iov[i].iov_len;
		while (mnl_nlmsg_ok(nlh, left)) {
			if (nlh->nlmsg_seq < bs->lo)
				bs->lo = nlh->nlmsg_seq;
			if (nlh->nlmsg_seq > bs->hi)
				bs->hi = nlh->nlmsg_seq;
			if (nlh->nlmsg_flags & NLM_F_ACK)
				bs->acks++;
			nlh = mnl_nlmsg_next(nlh, &left);
		}
		if (left != 0) {
			errno = EINVAL;
			return -1;
		}
	}
	if (bs->lo == UINT32_MAX) {
		errno = ENODATA;
		return -1;
	}
	return 0;
}

int
nft_send(struct nft_sock *s, struct nftnl_batch *b, nft_what_fn what,
    const void *arg, char *err, size_t errlen)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct batch_scan bs;
	struct iovec *iov = NULL;
	struct msghdr mh = { .msg_name = &kernel, .msg_namelen = sizeof(kernel) };
	unsigned int got = 0;
	uint32_t err_seq = 0;
	int err_code = 0, niov, ret = -1;
	int64_t deadline;
	ssize_t n;

	niov = nftnl_batch_iovec_len(b);
	if ((iov = calloc((size_t)niov, sizeof(*iov))) == NULL) {
		err_set(err, errlen, "send batch: %s", strerror(errno));
		return -1;
	}
	nftnl_batch_iovec(b, iov, (uint32_t)niov);
	if (batch_scan(iov, niov, &bs) == -1) {
		err_set(err, errlen, "send batch: malformed batch: %s",
		    strerror(errno));
		goto out;
	}
	if (nft_sndbuf_fit(s, bs.len) == -1) {
		err_set(err, errlen, "send batch of %zu bytes: %s", bs.len,
		    strerror(errno));
		goto out;
	}
	mh.msg_iov = iov;
	mh.msg_iovlen = (size_t)niov;
	if (sendmsg(mnl_socket_get_fd(s->nl), &mh, 0) == -1) {
		err_set(err, errlen, "send batch: %s", strerror(errno));
		goto out;
	}
	s->seq = bs.hi + 1;
	deadline = (int64_t)clock_monotonic_ms() + NFT_TIMEOUT_MS;
	while (got < bs.acks) {
		const struct nlmsghdr *nlh;
		int left;

		if ((n = nft_recv(s, deadline)) == -1) {
			err_set(err, errlen, "receive batch answers: %s",
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		nlh = (const struct nlmsghdr *)s->rx;
		left = (int)n;
		for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
			const struct nlmsgerr *e;

			if (nlh->nlmsg_seq < bs.lo || nlh->nlmsg_seq > bs.hi ||
			    nlh->nlmsg_type != NLMSG_ERROR)
				continue;	/* stale, or not an answer */
			if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
				continue;
			e = mnl_nlmsg_get_payload(nlh);
			got++;
			if (e->error != 0 &&
			    (err_code == 0 || nlh->nlmsg_seq < err_seq)) {
				err_code = -e->error;
				err_seq = nlh->nlmsg_seq;
			}
		}
		if (err_code != 0 && deadline > (int64_t)clock_monotonic_ms() + NFT_ERR_GRACE_MS)
			deadline = (int64_t)clock_monotonic_ms() + NFT_ERR_GRACE_MS;
	}
	if (err_code != 0) {
		const char *w = what != NULL ? what(arg, err_seq) : NULL;

		if (w != NULL)
			err_set(err, errlen, "%s: %s", w, strerror(err_code));
		else
			err_set(err, errlen, "batch message %u: %s",
			    err_seq - bs.lo, strerror(err_code));
		errno = err_code;
		goto out;
	}
	if (got < bs.acks) {
		err_set(err, errlen, "batch: %u of %u answers within %d ms",
		    got, bs.acks, NFT_TIMEOUT_MS);
		errno = ETIMEDOUT;
		goto out;
	}
	ret = 0;
out:
	free(iov);
	return ret;
}

/*
 * Send one dump request and feed every answer to fn. Answers to older
 * requests are skipped by sequence number; an interrupted dump fails with
 * EINTR so the caller can start over with a fresh result.
 */
static int
nft_dump(struct nft_sock *s, struct nlmsghdr *req, nft_msg_fn fn, void *arg)
{
	uint32_t seq = req->nlmsg_seq;
	int intr = 0;
	int64_t deadline;
	ssize_t n;

	if (mnl_socket_sendto(s->nl, req, req->nlmsg_len) == -1)
		return -1;
	s->seq = seq + 1;
	deadline = (int64_t)clock_monotonic_ms() + NFT_TIMEOUT_MS;
	for (;;) {
		const struct nlmsghdr *nlh;
		int left;

		if ((n = nft_recv(s, deadline)) == -1)
			return -1;
		if (n == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		nlh = (const struct nlmsghdr *)s->rx;
		left = (int)n;
		for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
			if (nlh->nlmsg_seq != seq)
				continue;
			if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
				intr = 1;
			if (nlh->nlmsg_type == NLMSG_DONE) {
				if (intr) {
					errno = EINTR;
					return -1;
				}
				return 0;
			}
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e;

				if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
					errno = EPROTO;
					return -1;
				}
				e = mnl_nlmsg_get_payload(nlh);
				if (e->error == 0)
					return 0;
				errno = -e->error;
				return -1;
			}
			if (nlh->nlmsg_type < NLMSG_MIN_TYPE)
				continue;
			if (!intr && fn(nlh, arg) == -1)
				return -1;
		}
	}
}

/*
 * One kind of object a dump lists into a libnftnl list: the kernel's
 * answers are parsed one by one and kept when they belong to the table
 * (for tables: when they are the table).
 */
struct nft_kind {
	uint16_t msg;		/* NFT_MSG_GET... */
	uint16_t table_attr;	/* != 0: ask for the table's objects only */
	void *(*list_new)(void);
	void (*list_free)(void *list);
	int (*parse)(const struct nlmsghdr *nlh, const char *table, void *list);
};

struct nft_list_ctx {
	const struct nft_kind *kind;
	const char *table;
	void *list;
};

static int
nft_list_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct nft_list_ctx *lc = arg;

	return lc->kind->parse(nlh, lc->table, lc->list);
}

/* Dump table's objects of one kind into *out; an interrupted dump starts
 * over with a fresh list, NFT_DUMP_TRIES times at most. */
static int
nft_list(struct nft_sock *s, const struct nft_kind *kind, uint16_t family,
    const char *table, void **out)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nft_list_ctx lc = { kind, table, NULL };
	struct nlmsghdr *nlh;
	int i, r = -1, saved;

	*out = NULL;
	nlh = nftnl_nlmsg_build_hdr(buf, kind->msg, family, NLM_F_DUMP, 0);
	if (kind->table_attr != 0)
		mnl_attr_put_strz(nlh, kind->table_attr, table);
	for (i = 0; i < NFT_DUMP_TRIES; i++) {
		nlh->nlmsg_seq = s->seq;
		if (lc.list != NULL)
			kind->list_free(lc.list);
		if ((lc.list = kind->list_new()) == NULL)
			break;
		if ((r = nft_dump(s, nlh, nft_list_cb, &lc)) == 0 ||
		    errno != EINTR)
			break;
	}
	if (r == -1) {
		saved = errno;
		if (lc.list != NULL)
			kind->list_free(lc.list);
		errno = saved;
		return -1;
	}
	*out = lc.list;
	return 0;
}

static void *
table_list_new(void)
{
	return nftnl_table_list_alloc();
}

static void
table_list_free(void *list)
{
	nftnl_table_list_free(list);
}

static int
table_parse(const struct nlmsghdr *nlh, const char *table, void *list)
{
	struct nftnl_table *t;

	if ((t = nftnl_table_alloc()) == NULL)
		return -1;
	if (nftnl_table_nlmsg_parse(nlh, t) < 0) {
		nftnl_table_free(t);
		errno = EPROTO;
		return -1;
	}
	if (strcmp(nftnl_table_get_str(t, NFTNL_TABLE_NAME), table) != 0)
		nftnl_table_free(t);
	else
		nftnl_table_list_add_tail(t, list);
	return 0;
}

static const struct nft_kind table_kind = {
	NFT_MSG_GETTABLE, 0, table_list_new, table_list_free,
	table_parse,
};

static int
table_first(struct nftnl_table *t, void *arg)
{
	*(struct nftnl_table **)arg = t;
	return -1;	/* stop */
}

int
nft_get_table(struct nft_sock *s, uint16_t family, const char *table,
    struct nftnl_table **out, char *err, size_t errlen)
{
	void *list;

	*out = NULL;
	if (nft_list(s, &table_kind, family, table, &list) == -1)
		return err_set(err, errlen, "list tables: %s", strerror(errno));
	nftnl_table_list_foreach(list, table_first, out);
	if (*out != NULL)
		nftnl_table_list_del(*out);
	nftnl_table_list_free(list);
	return 0;
}

static void *
chain_list_new(void)
{
	return nftnl_chain_list_alloc();
}

static void
chain_list_free(void *list)
{
	nftnl_chain_list_free(list);
}

static int
chain_parse(const struct nlmsghdr *nlh, const char *table, void *list)
{
	struct nftnl_chain *c;

	if ((c = nftnl_chain_alloc()) == NULL)
		return -1;
	if (nftnl_chain_nlmsg_parse(nlh, c) < 0) {
		nftnl_chain_free(c);
		errno = EPROTO;
		return -1;
	}
	if (strcmp(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE), table) != 0)
		nftnl_chain_free(c);
	else
		nftnl_chain_list_add_tail(c, list);
	return 0;
}

static const struct nft_kind chain_kind = {
	NFT_MSG_GETCHAIN, 0, chain_list_new, chain_list_free,
	chain_parse,
};

int
nft_get_chains(struct nft_sock *s, uint16_t family, const char *table,
    struct nftnl_chain_list **out, char *err, size_t errlen)
{
	void *list;

	*out = NULL;
	if (nft_list(s, &chain_kind, family, table, &list) == -1)
		return err_set(err, errlen, "list chains of %s: %s", table,
		    strerror(errno));
	*out = list;
	return 0;
}

static void *
rule_list_new(void)
{
	return nftnl_rule_list_alloc();
}

static void
rule_list_free(void *list)
{
	nftnl_rule_list_free(list);
}

static int
rule_parse(const struct nlmsghdr *nlh, const char *table, void *list)
{
	struct nftnl_rule *r;

	if ((r = nftnl_rule_alloc()) == NULL)
		return -1;
	if (nftnl_rule_nlmsg_parse(nlh, r) < 0) {
		nftnl_rule_free(r);
		errno = EPROTO;
		return -1;
	}
	if (strcmp(nftnl_rule_get_str(r, NFTNL_RULE_TABLE), table) != 0)
		nftnl_rule_free(r);
	else
		nftnl_rule_list_add_tail(r, list);
	return 0;
}

static const struct nft_kind rule_kind = {
	NFT_MSG_GETRULE, NFTA_RULE_TABLE, rule_list_new,
	rule_list_free, rule_parse,
};

int
nft_get_rules(struct nft_sock *s, uint16_t family, const char *table,
    struct nftnl_rule_list **out, char *err, size_t errlen)
{
	void *list;

	*out = NULL;
	if (nft_list(s, &rule_kind, family, table, &list) == -1)
		return err_set(err, errlen, "list rules of %s: %s", table,
		    strerror(errno));
	*out = list;
	return 0;
}

static void *
set_list_new(void)
{
	return nftnl_set_list_alloc();
}

static void
set_list_free(void *list)
{
	nftnl_set_list_free(list);
}

static int
set_parse(const struct nlmsghdr *nlh, const char *table, void *list)
{
	struct nftnl_set *st;

	if ((st = nftnl_set_alloc()) == NULL)
		return -1;
	if (nftnl_set_nlmsg_parse(nlh, st) < 0) {
		nftnl_set_free(st);
		errno = EPROTO;
		return -1;
	}
	if (strcmp(nftnl_set_get_str(st, NFTNL_SET_TABLE), table) != 0)
		nftnl_set_free(st);
	else
		nftnl_set_list_add_tail(st, list);
	return 0;
}

static const struct nft_kind set_kind = {
	NFT_MSG_GETSET, NFTA_SET_TABLE, set_list_new, set_list_free,
	set_parse,
};

int
nft_get_sets(struct nft_sock *s, uint16_t family, const char *table,
    struct nftnl_set_list **out, char *err, size_t errlen)
{
	void *list;

	*out = NULL;
	if (nft_list(s, &set_kind, family, table, &list) == -1)
		return err_set(err, errlen, "list sets of %s: %s", table,
		    strerror(errno));
	*out = list;
	return 0;
}

static int
elem_cb(const struct nlmsghdr *nlh, void *arg)
{
	if (nftnl_set_elems_nlmsg_parse(nlh, arg) < 0) {
		errno = EPROTO;
		return -1;
	}
	return 0;
}

int
nft_get_elems(struct nft_sock *s, struct nftnl_set *set, char *err,
    size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM,
	    (uint16_t)nftnl_set_get_u32(set, NFTNL_SET_FAMILY), NLM_F_DUMP,
	    s->seq);
	nftnl_set_elems_nlmsg_build_payload(nlh, set);
	if (nft_dump(s, nlh, elem_cb, set) == -1) {
		err_set(err, errlen, "list elements of set %s: %s",
		    nftnl_set_get_str(set, NFTNL_SET_NAME), strerror(errno));
		return -1;
	}
	return 0;
}
