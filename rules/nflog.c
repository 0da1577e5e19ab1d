#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <linux/netlink.h>

#include "common/err.h"
#include "rules/nflog.h"

#define NFLOG_MSG_PACKET	((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET)
#define NFLOG_MSG_CONFIG	((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG)
#define NFLOG_HDRLEN	(NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg)))
/* Receive buffer: far more than a kernel batch of 128-byte copies. */
#define NFLOG_RECV_BUFSIZE	65536
/* Socket buffer we ask for, so bursts of drops are not lost at once. */
#define NFLOG_SO_RCVBUF		(1 << 20)
/* Datagrams one nflog_read() call handles before yielding to the loop. */
#define NFLOG_READ_BATCH	64
/* How long nflog_open() waits for each config ACK. */
#define NFLOG_ACK_TIMEOUT_MS	1000

/* IPv6 extension headers we step over (RFC 8200 section 4, plus the
 * ones later RFCs registered with the same layout). */
#define NFLOG_IPPROTO_MH	135
#define NFLOG_IPPROTO_HIP	139
#define NFLOG_IPPROTO_SHIM6	140

struct nflog {
	struct mnl_socket *sock;
	uint16_t group;
	uint32_t next_seq;	/* NFULA_SEQ we expect next; starts at 0
				 * because we created the instance */
	struct nflog_stats st;
	uint8_t *buf;
};

/* ------------------------------------------------------------------ */
/* Pure parser                                                        */
/* ------------------------------------------------------------------ */

static uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void
addr_set(struct ip_addr *ip, int family, const uint8_t *p)
{
	memset(ip, 0, sizeof(*ip));
	ip->family = family;
	memcpy(ip->a, p, family == AF_INET ? 4 : 16);
}

/* The prefix goes into logs and audit events: keep printable ASCII only,
 * whatever the (possibly unterminated) attribute holds. */
static void
prefix_copy(char *dst, const uint8_t *src, size_t len)
{
	size_t i;

	for (i = 0; i < len && i < NFLOG_PREFIX_MAX - 1 && src[i] != '\0'; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char)src[i] : '?';
	dst[i] = '\0';
}

/* Ports or ICMP type from what is left after the IP header(s); a cut
 * header is not an error, only a flag (see nflog.h). */
static void
parse_l4(const uint8_t *p, size_t len, struct nflog_record *rec)
{
	switch (rec->proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
	case IPPROTO_SCTP:
	case IPPROTO_DCCP:
		/* All five start with source and destination port. */
		if (len < 4) {
			rec->flags |= NFLOG_REC_TRUNCATED;
			return;
		}
		rec->sport = rd16(p);
		rec->dport = rd16(p + 2);
		rec->flags |= NFLOG_REC_PORTS;
		return;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if (len < 1) {
			rec->flags |= NFLOG_REC_TRUNCATED;
			return;
		}
		rec->icmp_type = p[0];
		rec->flags |= NFLOG_REC_ICMP;
		return;
	default:
		return;
	}
}

static int
parse_ipv4(const uint8_t *p, size_t cap, struct nflog_record *rec,
    char *err, size_t errlen)
{
	size_t ihl, tot, avail;
	uint16_t frag;

	if (cap < 20)
		return err_set(err, errlen,
		    "IPv4 header truncated (%zu of 20 bytes)", cap);
	ihl = (size_t)(p[0] & 0x0f) * 4;
	if (ihl < 20)
		return err_set(err, errlen, "IPv4 IHL %zu below 20", ihl);
	if (ihl > cap)
		return err_set(err, errlen,
		    "IPv4 header truncated (%zu of %zu bytes)", cap, ihl);
	tot = rd16(p + 2);
	if (tot < ihl)
		return err_set(err, errlen,
		    "IPv4 total length %zu shorter than its header (%zu)",
		    tot, ihl);
	rec->family = AF_INET;
	rec->pkt_len = (uint32_t)tot;
	rec->proto = p[9];
	addr_set(&rec->src, AF_INET, p + 12);
	addr_set(&rec->dst, AF_INET, p + 16);
	frag = rd16(p + 6);
	if ((frag & 0x1fff) != 0) {
		rec->flags |= NFLOG_REC_FRAGMENT;
		return 0;
	}
	/* Bytes past the total length are link padding, not L4. */
	avail = cap < tot ? cap : tot;
	parse_l4(p + ihl, avail - ihl, rec);
	return 0;
}

/* Walks at most NFLOG_MAX_EXTHDRS extension headers; anything it cannot
 * step over leaves proto at that header's type, flagged truncated. */
static int
parse_ipv6(const uint8_t *p, size_t cap, struct nflog_record *rec,
    char *err, size_t errlen)
{
	size_t off = 40, avail, hlen, plen;
	uint8_t nh;
	int i;

	if (cap < 40)
		return err_set(err, errlen,
		    "IPv6 header truncated (%zu of 40 bytes)", cap);
	plen = rd16(p + 4);
	rec->family = AF_INET6;
	rec->pkt_len = (uint32_t)(40 + plen);
	addr_set(&rec->src, AF_INET6, p + 8);
	addr_set(&rec->dst, AF_INET6, p + 24);
	/* Payload length 0 is a jumbogram (or lies): trust the capture. */
	avail = (plen != 0 && 40 + plen < cap) ? 40 + plen : cap;
	nh = p[6];
	for (i = 0; i <= NFLOG_MAX_EXTHDRS; i++) {
		rec->proto = nh;
		switch (nh) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
		case IPPROTO_AH:
		case NFLOG_IPPROTO_MH:
		case NFLOG_IPPROTO_HIP:
		case NFLOG_IPPROTO_SHIM6:
			if (i == NFLOG_MAX_EXTHDRS || avail - off < 8)
				goto cut;
			if (nh == IPPROTO_AH)
				hlen = ((size_t)p[off + 1] + 2) * 4;
			else
				hlen = ((size_t)p[off + 1] + 1) * 8;
			if (hlen > avail - off)
				goto cut;
			nh = p[off];
			off += hlen;
			break;
		case IPPROTO_FRAGMENT:
			if (i == NFLOG_MAX_EXTHDRS || avail - off < 8)
				goto cut;
			nh = p[off];
			if ((rd16(p + off + 2) & 0xfff8) != 0) {
				rec->proto = nh;
				rec->flags |= NFLOG_REC_FRAGMENT;
				return 0;
			}
			off += 8;
			break;
		default:
			parse_l4(p + off, avail - off, rec);
			return 0;
		}
	}
cut:
	rec->flags |= NFLOG_REC_TRUNCATED;
	return 0;
}

static int
parse_payload(const uint8_t *p, size_t cap, uint8_t nfgen_family,
    struct nflog_record *rec, char *err, size_t errlen)
{
	uint8_t version;

	if (cap < 1)
		return err_set(err, errlen, "empty payload");
	version = p[0] >> 4;
	if (version != 4 && version != 6)
		return err_set(err, errlen, "IP version %u in payload",
		    version);
	/* inet tables log with the real family; a mismatch is corruption.
	 * Other families (bridge, netdev) carry no claim to check. */
	if ((nfgen_family == AF_INET && version != 4) ||
	    (nfgen_family == AF_INET6 && version != 6))
		return err_set(err, errlen,
		    "IPv%u payload in a family %u message", version,
		    nfgen_family);
	if (version == 4)
		return parse_ipv4(p, cap, rec, err, errlen);
	return parse_ipv6(p, cap, rec, err, errlen);
}

/* A fixed-size attribute that lies about its size is corruption, not a
 * value to guess at. */
static int
attr_u32(const uint8_t *data, size_t len, const char *name, uint32_t *out,
    char *err, size_t errlen)
{
	if (len != 4)
		return err_set(err, errlen, "%s: %zu bytes, want 4", name,
		    len);
	*out = rd32(data);
	return 0;
}

int
nflog_parse(const void *buf, size_t len, struct nflog_record *rec,
    char *err, size_t errlen)
{
	const uint8_t *p = buf;
	const uint8_t *payload = NULL;
	struct nlmsghdr nlh;
	struct nfgenmsg nfg;
	struct nlattr nla;
	size_t end, off, plen, payload_len = 0;
	uint32_t seen = 0;
	uint16_t type;

	memset(rec, 0, sizeof(*rec));
	if (p == NULL || len < NFLOG_HDRLEN)
		return err_set(err, errlen, "message too short (%zu bytes)",
		    len);
	memcpy(&nlh, p, sizeof(nlh));
	if (nlh.nlmsg_len < NFLOG_HDRLEN || nlh.nlmsg_len > len)
		return err_set(err, errlen,
		    "nlmsg_len %u does not fit %zu bytes", nlh.nlmsg_len, len);
	if (nlh.nlmsg_type != NFLOG_MSG_PACKET)
		return err_set(err, errlen,
		    "not an NFLOG packet message (type 0x%04x)",
		    nlh.nlmsg_type);
	memcpy(&nfg, p + NLMSG_HDRLEN, sizeof(nfg));
	if (nfg.version != NFNETLINK_V0)
		return err_set(err, errlen, "nfnetlink version %u",
		    nfg.version);
	rec->group = ntohs(nfg.res_id);

	end = nlh.nlmsg_len;
	off = NFLOG_HDRLEN;
	while (end - off >= NLA_HDRLEN) {
		memcpy(&nla, p + off, sizeof(nla));
		type = nla.nla_type & NLA_TYPE_MASK;
		if (nla.nla_len < NLA_HDRLEN)
			return err_set(err, errlen,
			    "attribute %u: length %u below its header", type,
			    nla.nla_len);
		if (nla.nla_len > end - off)
			return err_set(err, errlen,
			    "attribute %u: length %u overruns the message",
			    type, nla.nla_len);
		plen = nla.nla_len - NLA_HDRLEN;
		if (type < 32) {
			if (seen & (1u << type))
				return err_set(err, errlen,
				    "attribute %u repeated", type);
			seen |= 1u << type;
		}
		switch (type) {
		case NFULA_MARK:
			if (attr_u32(p + off + NLA_HDRLEN, plen, "NFULA_MARK",
			    &rec->mark, err, errlen) == -1)
				return -1;
			rec->flags |= NFLOG_REC_MARK;
			break;
		case NFULA_IFINDEX_INDEV:
			if (attr_u32(p + off + NLA_HDRLEN, plen,
			    "NFULA_IFINDEX_INDEV", &rec->indev, err,
			    errlen) == -1)
				return -1;
			rec->flags |= NFLOG_REC_INDEV;
			break;
		case NFULA_SEQ:
			if (attr_u32(p + off + NLA_HDRLEN, plen, "NFULA_SEQ",
			    &rec->seq, err, errlen) == -1)
				return -1;
			rec->flags |= NFLOG_REC_SEQ;
			break;
		case NFULA_PREFIX:
			prefix_copy(rec->prefix, p + off + NLA_HDRLEN, plen);
			break;
		case NFULA_PAYLOAD:
			payload = p + off + NLA_HDRLEN;
			payload_len = plen;
			break;
		default:
			break;
		}
		if (NLA_ALIGN((size_t)nla.nla_len) >= end - off)
			break;
		off += NLA_ALIGN((size_t)nla.nla_len);
	}
	if (payload == NULL)
		return err_set(err, errlen, "no NFULA_PAYLOAD");
	rec->cap_len = (uint32_t)payload_len;
	if (parse_payload(payload, payload_len, nfg.nfgen_family, rec, err,
	    errlen) == -1) {
		/* Leave no half-filled record behind for a careless caller. */
		memset(rec, 0, sizeof(*rec));
		return -1;
	}
	return 0;
}

const char *
nflog_reason_name(const char *prefix)
{
	static const struct {
		const char *prefix;
		const char *reason;
	} map[] = {
		{ "ipv6", "ipv6_disabled" },
		{ "spoof", "spoofed_source" },
		{ "proto", "protocol_not_allowed" },
		{ "input", "host_port" },
		{ "forward", "forward" },
	};
	size_t i;

	if (prefix == NULL)
		return "unknown";
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(prefix, map[i].prefix) == 0)
			return map[i].reason;
	return "unknown";
}

const char *
nflog_proto_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_ICMPV6:
		return "icmpv6";
	default:
		return "other";
	}
}

/* ------------------------------------------------------------------ */
/* Pure config builders                                               */
/* ------------------------------------------------------------------ */

static struct nlmsghdr *
cfg_start(void *buf, size_t buflen, uint32_t seq, uint8_t family,
    uint16_t res_id)
{
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;

	if (buf == NULL || buflen < NFLOG_CFG_BUFSIZE) {
		errno = ENOSPC;
		return NULL;
	}
	memset(buf, 0, NFLOG_HDRLEN);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = NFLOG_MSG_CONFIG;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(res_id);
	return nlh;
}

static int
cfg_cmd(void *buf, size_t buflen, uint32_t seq, uint8_t family,
    uint16_t group, uint8_t cmd)
{
	struct nfulnl_msg_config_cmd c = { .command = cmd };
	struct nlmsghdr *nlh;

	if ((nlh = cfg_start(buf, buflen, seq, family, group)) == NULL)
		return -1;
	if (!mnl_attr_put_check(nlh, buflen, NFULA_CFG_CMD, sizeof(c), &c)) {
		errno = ENOSPC;
		return -1;
	}
	return (int)nlh->nlmsg_len;
}

int
nflog_build_pf(void *buf, size_t buflen, uint32_t seq, uint8_t cmd,
    uint8_t family)
{
	return cfg_cmd(buf, buflen, seq, family, 0, cmd);
}

int
nflog_build_unbind(void *buf, size_t buflen, uint32_t seq, uint16_t group)
{
	return cfg_cmd(buf, buflen, seq, AF_UNSPEC, group,
	    NFULNL_CFG_CMD_UNBIND);
}

int
nflog_build_bind(void *buf, size_t buflen, uint32_t seq, uint16_t group,
    uint32_t copy_range)
{
	struct nfulnl_msg_config_cmd c = { .command = NFULNL_CFG_CMD_BIND };
	struct nfulnl_msg_config_mode m = {
		.copy_range = htonl(copy_range),
		.copy_mode = NFULNL_COPY_PACKET,
	};
	struct nlmsghdr *nlh;

	if ((nlh = cfg_start(buf, buflen, seq, AF_UNSPEC, group)) == NULL)
		return -1;
	if (!mnl_attr_put_check(nlh, buflen, NFULA_CFG_CMD, sizeof(c), &c) ||
	    !mnl_attr_put_check(nlh, buflen, NFULA_CFG_MODE, sizeof(m), &m) ||
	    !mnl_attr_put_u32_check(nlh, buflen, NFULA_CFG_QTHRESH,
	    htonl(1)) ||
	    !mnl_attr_put_u16_check(nlh, buflen, NFULA_CFG_FLAGS,
	    htons(NFULNL_CFG_F_SEQ))) {
		errno = ENOSPC;
		return -1;
	}
	return (int)nlh->nlmsg_len;
}

/* ------------------------------------------------------------------ */
/* Socket I/O                                                         */
/* ------------------------------------------------------------------ */

/* One datagram into nl->buf. Only the kernel may speak for NFLOG: any
 * process in the namespace could unicast forged records or ACKs to our
 * port, so those are dropped (0). Returns the length, 0, or -1 with errno
 * (EAGAIN when nothing is queued). */
static ssize_t
nflog_recv(struct nflog *nl)
{
	struct sockaddr_nl sa;
	struct iovec iov = { .iov_base = nl->buf,
	    .iov_len = NFLOG_RECV_BUFSIZE };
	struct msghdr mh = { .msg_name = &sa, .msg_namelen = sizeof(sa),
	    .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	memset(&sa, 0, sizeof(sa));
	if ((n = recvmsg(mnl_socket_get_fd(nl->sock), &mh, MSG_DONTWAIT)) ==
	    -1)
		return -1;
	if (mh.msg_namelen != sizeof(sa) || sa.nl_pid != 0) {
		nl->st.bad++;
		explicit_bzero(nl->buf, (size_t)n);
		return 0;
	}
	/* A cut datagram still yields its complete messages. */
	if (mh.msg_flags & MSG_TRUNC)
		nl->st.bad++;
	return n;
}

/* Sends one config request and waits (bounded) for its ACK. A record
 * that races in ahead of the ACK is dropped here; its sequence number
 * makes it count as lost at the next nflog_read(). */
static int
nflog_request(struct nflog *nl, const void *msg, int len, const char *step,
    int bind, char *err, size_t errlen)
{
	const struct nlmsghdr *req = msg;
	const struct nlmsghdr *nlh;
	struct pollfd pfd;
	const struct nlmsgerr *e;
	ssize_t n;
	int fd = mnl_socket_get_fd(nl->sock), tries, code, rem;

	if (len < 0)
		return err_set(err, errlen, "%s: build: %s", step,
		    strerror(errno));
	if (mnl_socket_sendto(nl->sock, msg, (size_t)len) == -1)
		return err_set(err, errlen, "%s: send: %s", step,
		    strerror(errno));
	for (tries = 0; tries < 16; tries++) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		n = poll(&pfd, 1, NFLOG_ACK_TIMEOUT_MS);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return err_set(err, errlen, "%s: poll: %s", step,
			    strerror(errno));
		if (n == 0)
			break;
		n = nflog_recv(nl);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n == -1 && errno == ENOBUFS) {
			nl->st.overruns++;
			continue;
		}
		if (n == -1)
			return err_set(err, errlen, "%s: recv: %s", step,
			    strerror(errno));
		code = 1;
		rem = (int)n;
		for (nlh = (const struct nlmsghdr *)nl->buf;
		    mnl_nlmsg_ok(nlh, rem); nlh = mnl_nlmsg_next(nlh, &rem)) {
			if (nlh->nlmsg_type != NLMSG_ERROR ||
			    nlh->nlmsg_seq != req->nlmsg_seq)
				continue;
			if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*e)) {
				code = -EBADMSG;
				break;
			}
			e = mnl_nlmsg_get_payload(nlh);
			code = e->error;
			break;
		}
		explicit_bzero(nl->buf, (size_t)n);
		if (code == 0)
			return 0;
		/* The PF requests already proved CAP_NET_ADMIN, so EPERM on
		 * the bind means another socket owns the group. */
		if (code < 0 && bind && (code == -EPERM || code == -EBUSY))
			return err_set(err, errlen, "%s: %s: group already "
			    "bound by another socket in this namespace", step,
			    strerror(-code));
		if (code < 0)
			return err_set(err, errlen, "%s: %s", step,
			    strerror(-code));
	}
	return err_set(err, errlen, "%s: no answer from the kernel", step);
}

struct nflog *
nflog_open(uint16_t group, char *err, size_t errlen)
{
	static const uint8_t families[] = { AF_INET, AF_INET6 };
	static const uint8_t pf_cmds[] = {
		NFULNL_CFG_CMD_PF_UNBIND, NFULNL_CFG_CMD_PF_BIND,
	};
	uint8_t msg[NFLOG_CFG_BUFSIZE] __attribute__((aligned(8)));
	struct nflog *nl;
	uint32_t seq = 1;
	int rcvbuf = NFLOG_SO_RCVBUF, len;
	size_t f, c;

	if ((nl = calloc(1, sizeof(*nl))) == NULL) {
		err_set(err, errlen, "nflog: %s", strerror(errno));
		return NULL;
	}
	nl->group = group;
	if ((nl->buf = malloc(NFLOG_RECV_BUFSIZE)) == NULL) {
		err_set(err, errlen, "nflog: %s", strerror(errno));
		goto fail;
	}
	nl->sock = mnl_socket_open2(NETLINK_NETFILTER,
	    SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (nl->sock == NULL) {
		err_set(err, errlen, "nflog: socket(NETLINK_NETFILTER): %s",
		    strerror(errno));
		goto fail;
	}
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) == -1) {
		err_set(err, errlen, "nflog: bind: %s", strerror(errno));
		goto fail;
	}
	/* Best effort: the default may be capped by rmem_max; overruns are
	 * counted, not fatal. */
	(void)setsockopt(mnl_socket_get_fd(nl->sock), SOL_SOCKET, SO_RCVBUF,
	    &rcvbuf, sizeof(rcvbuf));

	for (f = 0; f < sizeof(families); f++) {
		for (c = 0; c < sizeof(pf_cmds); c++) {
			len = nflog_build_pf(msg, sizeof(msg), seq++,
			    pf_cmds[c], families[f]);
			if (nflog_request(nl, msg, len,
			    c == 0 ? "nflog: unbind pf" : "nflog: bind pf", 0,
			    err, errlen) == -1)
				goto fail;
		}
	}
	len = nflog_build_bind(msg, sizeof(msg), seq++, group,
	    NFLOG_COPY_RANGE);
	if (nflog_request(nl, msg, len, "nflog: bind group", 1, err,
	    errlen) == -1)
		goto fail;
	return nl;
fail:
	nflog_close(nl);
	return NULL;
}

int
nflog_fd(const struct nflog *nl)
{
	return mnl_socket_get_fd(nl->sock);
}

void
nflog_stats(const struct nflog *nl, struct nflog_stats *out)
{
	*out = nl->st;
}

/* Sequence numbers come from the instance we created, so any gap (and
 * only a gap) is a record the kernel built but we never received. */
static void
nflog_seq_account(struct nflog *nl, const struct nflog_record *rec)
{
	uint32_t gap;

	if (!(rec->flags & NFLOG_REC_SEQ))
		return;
	gap = rec->seq - nl->next_seq;
	/* A "gap" of more than 2^31 is a reordered or replayed record. */
	if (gap < 0x80000000u) {
		nl->st.lost += gap;
		nl->next_seq = rec->seq + 1;
	}
}

/* Handles one datagram; returns 1 if the callback asked to stop. */
static int
nflog_dispatch(struct nflog *nl, size_t len,
    int (*cb)(const struct nflog_record *, void *), void *arg,
    int *delivered)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)nl->buf;
	struct nflog_record rec;
	char err[128];
	int rem = (int)len;

	for (; mnl_nlmsg_ok(nlh, rem); nlh = mnl_nlmsg_next(nlh, &rem)) {
		switch (nlh->nlmsg_type) {
		case NLMSG_NOOP:
		case NLMSG_DONE:
		case NLMSG_ERROR:	/* late ACKs; we send nothing else */
			continue;
		case NLMSG_OVERRUN:
			nl->st.overruns++;
			continue;
		case NFLOG_MSG_PACKET:
			break;
		default:
			nl->st.bad++;
			continue;
		}
		if (nflog_parse(nlh, nlh->nlmsg_len, &rec, err,
		    sizeof(err)) == -1 || rec.group != nl->group) {
			nl->st.bad++;
			continue;
		}
		nflog_seq_account(nl, &rec);
		nl->st.records++;
		(*delivered)++;
		if (cb(&rec, arg) != 0)
			return 1;
	}
	return 0;
}

int
nflog_read(struct nflog *nl,
    int (*cb)(const struct nflog_record *, void *), void *arg)
{
	ssize_t n;
	int i, delivered = 0, stop;

	for (i = 0; i < NFLOG_READ_BATCH; i++) {
		if ((n = nflog_recv(nl)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == ENOBUFS) {
				/* The gap shows in the next record's seq. */
				nl->st.overruns++;
				continue;
			}
			return -1;
		}
		stop = nflog_dispatch(nl, (size_t)n, cb, arg, &delivered);
		/* Payload bytes may hold secrets: keep them no longer. */
		explicit_bzero(nl->buf, (size_t)n);
		if (stop)
			break;
	}
	return delivered;
}

void
nflog_close(struct nflog *nl)
{
	if (nl == NULL)
		return;
	if (nl->sock != NULL)
		mnl_socket_close(nl->sock);
	if (nl->buf != NULL) {
		explicit_bzero(nl->buf, NFLOG_RECV_BUFSIZE);
		free(nl->buf);
	}
	free(nl);
}
