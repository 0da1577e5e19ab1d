#include <errno.h>
#include <libmnl/libmnl.h>
#include <limits.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include "common/log.h"
#include "netns/ns.h"
#include "netns/rtnl.h"

/* Big enough for one dump datagram, which the kernel sizes to the reader. */
#define RTNL_RX_MAX	32768

int
rtnl_open(struct rtnl *r, int nsfd)
{
	struct timeval tv = {
		.tv_sec = RTNL_TIMEOUT_MS / 1000,
		.tv_usec = (RTNL_TIMEOUT_MS % 1000) * 1000,
	};
	int one = 1, saved = -1, rc;

	memset(r, 0, sizeof(*r));
	if (nsfd >= 0 && (rc = netns_enter(nsfd, &saved)) < 0)
		return rc;
	r->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	rc = r->nl == NULL ? -errno : 0;
	if (saved >= 0 && netns_leave(saved) < 0)
		fatal("rtnl_open: cannot return to the original netns");
	if (rc < 0)
		return rc;
	if (mnl_socket_bind(r->nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    setsockopt(mnl_socket_get_fd(r->nl), SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)) == -1) {
		rc = -errno;
		rtnl_close(r);
		return rc;
	}
	/* Best effort: older kernels just give no error text. */
	(void)mnl_socket_setsockopt(r->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)mnl_socket_setsockopt(r->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	r->portid = mnl_socket_get_portid(r->nl);
	r->seq = (uint32_t)time(NULL);
	return 0;
}

void
rtnl_close(struct rtnl *r)
{
	if (r->nl != NULL)
		mnl_socket_close(r->nl);
	r->nl = NULL;
}

static int
rtnl_ext_attr(const struct nlattr *attr, void *data)
{
	const char **msg = data;

	if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
		*msg = mnl_attr_get_str(attr);
	return MNL_CB_OK;
}

/* The kernel's extended-ack text that follows an error, if it sent one. */
static void
rtnl_ext_text(const struct nlmsghdr *nlh, size_t ofs, char *ext,
    size_t extlen)
{
	const char *msg = NULL;
	size_t plen = mnl_nlmsg_get_payload_len(nlh);

	if (ext == NULL || extlen == 0 || !(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (ofs > plen)
		return;
	mnl_attr_parse_payload((const char *)mnl_nlmsg_get_payload(nlh) + ofs,
	    plen - ofs, rtnl_ext_attr, &msg);
	if (msg != NULL)
		snprintf(ext, extlen, "%s", msg);
}

/* An NLMSG_ERROR: 1 for the ACK, else the kernel's -errno. */
static int
rtnl_error_msg(const struct nlmsghdr *nlh, char *ext, size_t extlen)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t ofs = sizeof(*e);

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e))
		return -EBADMSG;
	if (e->error == 0)
		return 1;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED) &&
	    e->msg.nlmsg_len >= sizeof(struct nlmsghdr))
		ofs += NLMSG_ALIGN(e->msg.nlmsg_len) - sizeof(struct nlmsghdr);
	rtnl_ext_text(nlh, ofs, ext, extlen);
	return e->error < 0 ? e->error : -EPROTO;
}

/* NLMSG_DONE carries the dump's status as an int. */
static int
rtnl_done_msg(const struct nlmsghdr *nlh, char *ext, size_t extlen)
{
	int status;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(status))
		return 1;
	memcpy(&status, mnl_nlmsg_get_payload(nlh), sizeof(status));
	if (status >= 0)
		return 1;
	rtnl_ext_text(nlh, NLMSG_ALIGN(sizeof(status)), ext, extlen);
	return status;
}

int
rtnl_parse_reply(const void *buf, size_t len, uint32_t seq, uint32_t portid,
    rtnl_cb_t cb, void *data, char *ext, size_t extlen)
{
	const struct nlmsghdr *nlh = buf;
	int rem, rc;

	if (len > INT_MAX)
		return -EMSGSIZE;
	rem = (int)len;
	for (; mnl_nlmsg_ok(nlh, rem); nlh = mnl_nlmsg_next(nlh, &rem)) {
		if (nlh->nlmsg_seq != seq || !mnl_nlmsg_portid_ok(nlh, portid))
			continue;
		switch (nlh->nlmsg_type) {
		case NLMSG_NOOP:
			continue;
		case NLMSG_ERROR:
			return rtnl_error_msg(nlh, ext, extlen);
		case NLMSG_DONE:
			return rtnl_done_msg(nlh, ext, extlen);
		case NLMSG_OVERRUN:
			return -EOVERFLOW;
		}
		/* A dump that raced a change may have missed entries. */
		if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
			return -EINTR;
		if (cb != NULL && (rc = cb(nlh, data)) != 0)
			return rc < 0 ? rc : -ECANCELED;
	}
	return rem == 0 ? 0 : -EBADMSG;
}

int
rtnl_talk(struct rtnl *r, void *req, rtnl_cb_t cb, void *data, char *ext,
    size_t extlen)
{
	uint64_t rx[RTNL_RX_MAX / sizeof(uint64_t)];
	struct nlmsghdr *nlh = req;
	ssize_t n;
	int rc;

	if (ext != NULL && extlen > 0)
		ext[0] = '\0';
	if (r->nl == NULL)
		return -EBADF;
	nlh->nlmsg_seq = ++r->seq;
	if ((nlh->nlmsg_flags & NLM_F_DUMP) != NLM_F_DUMP)
		nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(r->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(r->nl, rx, sizeof(rx));
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return -ETIMEDOUT;
			return -errno;
		}
		rc = rtnl_parse_reply(rx, (size_t)n, nlh->nlmsg_seq, r->portid,
		    cb, data, ext, extlen);
		if (rc != 0)
			return rc < 0 ? rc : 0;
	}
}

/* Header plus the family header, zeroed; NULL if len can't hold them. */
static struct nlmsghdr *
rtnl_put_hdr(void *buf, size_t len, uint16_t type, uint16_t flags,
    size_t extra)
{
	struct nlmsghdr *nlh;

	if (len < MNL_NLMSG_HDRLEN + MNL_ALIGN(extra))
		return NULL;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	mnl_nlmsg_put_extra_header(nlh, extra);
	return nlh;
}

/* An ifinfomsg request naming the link by index, or by IFLA_IFNAME. */
static struct nlmsghdr *
rtnl_put_link(void *buf, size_t len, uint16_t type, uint16_t flags,
    int ifindex, const char *ifname, struct ifinfomsg **ifmp)
{
	struct ifinfomsg *ifm;
	struct nlmsghdr *nlh;

	if (ifindex <= 0 && ifname == NULL)
		return NULL;
	nlh = rtnl_put_hdr(buf, len, type, flags, sizeof(*ifm));
	if (nlh == NULL)
		return NULL;
	ifm = mnl_nlmsg_get_payload(nlh);
	ifm->ifi_family = AF_UNSPEC;
	if (ifindex > 0)
		ifm->ifi_index = ifindex;
	else if (!mnl_attr_put_strz_check(nlh, len, IFLA_IFNAME, ifname))
		return NULL;
	if (ifmp != NULL)
		*ifmp = ifm;
	return nlh;
}

int
rtnl_build_veth(void *buf, size_t len, const char *ifname, const char *peer,
    int peer_nsfd)
{
	struct nlattr *info, *data, *pnest;
	struct nlmsghdr *nlh;

	if (ifname == NULL || peer == NULL)
		return -EINVAL;
	nlh = rtnl_put_link(buf, len, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL,
	    0, ifname, NULL);
	if (nlh == NULL ||
	    (info = mnl_attr_nest_start_check(nlh, len, IFLA_LINKINFO)) == NULL ||
	    !mnl_attr_put_strz_check(nlh, len, IFLA_INFO_KIND, "veth") ||
	    (data = mnl_attr_nest_start_check(nlh, len, IFLA_INFO_DATA)) == NULL ||
	    (pnest = mnl_attr_nest_start_check(nlh, len, VETH_INFO_PEER)) == NULL)
		return -ENOBUFS;
	/* The peer's attributes follow its own ifinfomsg. */
	if (nlh->nlmsg_len + MNL_ALIGN(sizeof(struct ifinfomsg)) > len)
		return -ENOBUFS;
	((struct ifinfomsg *)mnl_nlmsg_put_extra_header(nlh,
	    sizeof(struct ifinfomsg)))->ifi_family = AF_UNSPEC;
	if (!mnl_attr_put_strz_check(nlh, len, IFLA_IFNAME, peer))
		return -ENOBUFS;
	if (peer_nsfd >= 0 && !mnl_attr_put_u32_check(nlh, len,
	    IFLA_NET_NS_FD, (uint32_t)peer_nsfd))
		return -ENOBUFS;
	mnl_attr_nest_end(nlh, pnest);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	return 0;
}

int
rtnl_build_link_up(void *buf, size_t len, int ifindex, const char *ifname)
{
	struct ifinfomsg *ifm;

	if (ifindex <= 0 && ifname == NULL)
		return -EINVAL;
	if (rtnl_put_link(buf, len, RTM_SETLINK, 0, ifindex, ifname,
	    &ifm) == NULL)
		return -ENOBUFS;
	ifm->ifi_flags = IFF_UP;
	ifm->ifi_change = IFF_UP;
	return 0;
}

int
rtnl_build_link_del(void *buf, size_t len, int ifindex, const char *ifname)
{
	if (ifindex <= 0 && ifname == NULL)
		return -EINVAL;
	if (rtnl_put_link(buf, len, RTM_DELLINK, 0, ifindex, ifname,
	    NULL) == NULL)
		return -ENOBUFS;
	return 0;
}

int
rtnl_build_link_get(void *buf, size_t len, const char *ifname)
{
	struct nlmsghdr *nlh;

	if (ifname == NULL)
		return -EINVAL;
	nlh = rtnl_put_link(buf, len, RTM_GETLINK, 0, 0, ifname, NULL);
	/* Only the index and name are wanted, not the statistics. */
	if (nlh == NULL || !mnl_attr_put_u32_check(nlh, len, IFLA_EXT_MASK,
	    RTEXT_FILTER_SKIP_STATS))
		return -ENOBUFS;
	return 0;
}

/* RTM_NEWLINK without NLM_F_CREATE: a change to an existing link. */
int
rtnl_build_link_netns(void *buf, size_t len, int ifindex, const char *ifname,
    int nsfd)
{
	struct nlmsghdr *nlh;

	if ((ifindex <= 0 && ifname == NULL) || nsfd < 0)
		return -EINVAL;
	nlh = rtnl_put_link(buf, len, RTM_NEWLINK, 0, ifindex, ifname, NULL);
	if (nlh == NULL || !mnl_attr_put_u32_check(nlh, len, IFLA_NET_NS_FD,
	    (uint32_t)nsfd))
		return -ENOBUFS;
	return 0;
}

int
rtnl_build_addr_add(void *buf, size_t len, int ifindex,
    const struct ip_addr *addr, unsigned int prefixlen)
{
	struct ifaddrmsg *ifa;
	struct nlmsghdr *nlh;

	if (addr->family != AF_INET || prefixlen > 32 || ifindex <= 0)
		return -EINVAL;
	nlh = rtnl_put_hdr(buf, len, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL,
	    sizeof(*ifa));
	if (nlh == NULL)
		return -ENOBUFS;
	ifa = mnl_nlmsg_get_payload(nlh);
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)prefixlen;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned int)ifindex;
	if (!mnl_attr_put_check(nlh, len, IFA_LOCAL, 4, addr->a) ||
	    !mnl_attr_put_check(nlh, len, IFA_ADDRESS, 4, addr->a))
		return -ENOBUFS;
	return 0;
}

int
rtnl_build_route_add(void *buf, size_t len, int oif,
    const struct ip_addr *dst, unsigned int dst_len,
    const struct ip_addr *gw)
{
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;

	if ((dst != NULL && (dst->family != AF_INET || dst_len > 32)) ||
	    (dst == NULL && dst_len != 0) ||
	    (gw != NULL && gw->family != AF_INET) || oif <= 0)
		return -EINVAL;
	nlh = rtnl_put_hdr(buf, len, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL,
	    sizeof(*rtm));
	if (nlh == NULL)
		return -ENOBUFS;
	rtm = mnl_nlmsg_get_payload(nlh);
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = (unsigned char)dst_len;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = gw != NULL ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	if (dst != NULL && !mnl_attr_put_check(nlh, len, RTA_DST, 4, dst->a))
		return -ENOBUFS;
	if (gw != NULL && !mnl_attr_put_check(nlh, len, RTA_GATEWAY, 4, gw->a))
		return -ENOBUFS;
	if (!mnl_attr_put_u32_check(nlh, len, RTA_OIF, (uint32_t)oif))
		return -ENOBUFS;
	return 0;
}

int
rtnl_build_addr_dump(void *buf, size_t len, int family)
{
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;

	nlh = rtnl_put_hdr(buf, len, RTM_GETADDR, NLM_F_DUMP, sizeof(*ifa));
	if (nlh == NULL)
		return -ENOBUFS;
	ifa = mnl_nlmsg_get_payload(nlh);
	ifa->ifa_family = (unsigned char)family;
	return 0;
}

struct rtnl_attrs {
	const struct nlattr **tb;
	int max;
};

static int
rtnl_attr_collect(const struct nlattr *attr, void *data)
{
	struct rtnl_attrs *a = data;
	int type = mnl_attr_get_type(attr);

	if (type <= a->max)
		a->tb[type] = attr;
	return MNL_CB_OK;
}

/* Index attributes after a family header of hdrlen bytes; -EINVAL if short. */
static int
rtnl_attrs_index(const struct nlmsghdr *nlh, size_t hdrlen,
    const struct nlattr **tb, int max)
{
	struct rtnl_attrs a = { tb, max };

	memset(tb, 0, sizeof(*tb) * (size_t)(max + 1));
	if (mnl_nlmsg_get_payload_len(nlh) < hdrlen)
		return -EINVAL;
	if (mnl_attr_parse(nlh, (unsigned int)hdrlen, rtnl_attr_collect,
	    &a) < 0)
		return -EINVAL;
	return 0;
}

int
rtnl_parse_link(const struct nlmsghdr *nlh, int *ifindex, char *ifname,
    size_t ifnamelen)
{
	const struct nlattr *tb[IFLA_MAX + 1];
	const struct ifinfomsg *ifm;

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    rtnl_attrs_index(nlh, sizeof(*ifm), tb, IFLA_MAX) < 0)
		return -EINVAL;
	ifm = mnl_nlmsg_get_payload(nlh);
	if (ifm->ifi_index <= 0 || tb[IFLA_IFNAME] == NULL ||
	    mnl_attr_validate(tb[IFLA_IFNAME], MNL_TYPE_NUL_STRING) < 0)
		return -EINVAL;
	*ifindex = ifm->ifi_index;
	if (ifname != NULL &&
	    (size_t)snprintf(ifname, ifnamelen, "%s",
	    mnl_attr_get_str(tb[IFLA_IFNAME])) >= ifnamelen)
		return -EINVAL;
	return 0;
}

int
rtnl_parse_addr(const struct nlmsghdr *nlh, struct rtnl_addr *out)
{
	const struct nlattr *tb[IFA_MAX + 1], *a;
	const struct ifaddrmsg *ifa;

	if (nlh->nlmsg_type != RTM_NEWADDR ||
	    rtnl_attrs_index(nlh, sizeof(*ifa), tb, IFA_MAX) < 0)
		return -EINVAL;
	ifa = mnl_nlmsg_get_payload(nlh);
	if (ifa->ifa_family != AF_INET)
		return 1;
	/* IFA_LOCAL is the address itself; IFA_ADDRESS is the peer's on p2p. */
	a = tb[IFA_LOCAL] != NULL ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (a == NULL || mnl_attr_get_payload_len(a) != 4 ||
	    ifa->ifa_prefixlen > 32)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->ifindex = (int)ifa->ifa_index;
	out->prefixlen = ifa->ifa_prefixlen;
	out->local.family = AF_INET;
	memcpy(out->local.a, mnl_attr_get_payload(a), 4);
	if (tb[IFA_LABEL] != NULL) {
		if (mnl_attr_validate(tb[IFA_LABEL], MNL_TYPE_NUL_STRING) < 0 ||
		    (size_t)snprintf(out->label, sizeof(out->label), "%s",
		    mnl_attr_get_str(tb[IFA_LABEL])) >= sizeof(out->label))
			return -EINVAL;
	}
	return 0;
}

int
rtnl_build_bridge(void *buf, size_t len, const char *ifname)
{
	struct nlattr *info, *data;
	struct nlmsghdr *nlh;

	if (ifname == NULL)
		return -EINVAL;
	nlh = rtnl_put_link(buf, len, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL,
	    0, ifname, NULL);
	if (nlh == NULL ||
	    (info = mnl_attr_nest_start_check(nlh, len,
	    IFLA_LINKINFO)) == NULL ||
	    !mnl_attr_put_strz_check(nlh, len, IFLA_INFO_KIND, "bridge") ||
	    (data = mnl_attr_nest_start_check(nlh, len,
	    IFLA_INFO_DATA)) == NULL ||
	    !mnl_attr_put_u8_check(nlh, len, IFLA_BR_MCAST_SNOOPING, 0))
		return -ENOBUFS;
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	return 0;
}

int
rtnl_build_link_master(void *buf, size_t len, int ifindex,
    const char *ifname, int master_ifindex)
{
	struct nlmsghdr *nlh;

	if ((ifindex <= 0 && ifname == NULL) || master_ifindex < 0)
		return -EINVAL;
	nlh = rtnl_put_link(buf, len, RTM_SETLINK, 0, ifindex, ifname, NULL);
	if (nlh == NULL || !mnl_attr_put_u32_check(nlh, len, IFLA_MASTER,
	    (uint32_t)master_ifindex))
		return -ENOBUFS;
	return 0;
}

int
rtnl_build_addr_del(void *buf, size_t len, int ifindex,
    const struct ip_addr *addr, unsigned int prefixlen)
{
	struct ifaddrmsg *ifa;
	struct nlmsghdr *nlh;

	if (addr->family != AF_INET || prefixlen > 32 || ifindex <= 0)
		return -EINVAL;
	nlh = rtnl_put_hdr(buf, len, RTM_DELADDR, 0, sizeof(*ifa));
	if (nlh == NULL)
		return -ENOBUFS;
	ifa = mnl_nlmsg_get_payload(nlh);
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)prefixlen;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned int)ifindex;
	if (!mnl_attr_put_check(nlh, len, IFA_LOCAL, 4, addr->a) ||
	    !mnl_attr_put_check(nlh, len, IFA_ADDRESS, 4, addr->a))
		return -ENOBUFS;
	return 0;
}
