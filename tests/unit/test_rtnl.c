#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "common/ip.h"
#include "netns/rtnl.h"

#define SEQ	4242u
#define PORTID	77u

struct attrs {
	const struct nlattr *tb[64];
};

static int
collect(const struct nlattr *attr, void *data)
{
	struct attrs *a = data;
	int type = mnl_attr_get_type(attr);

	assert_true(type < 64);
	assert_null(a->tb[type]);	/* each attribute once */
	a->tb[type] = attr;
	return MNL_CB_OK;
}

/* Parse a request's attributes, checking its length adds up. */
static void
parse_msg(const void *buf, size_t hdrlen, uint16_t type, struct attrs *a)
{
	const struct nlmsghdr *nlh = buf;

	memset(a, 0, sizeof(*a));
	assert_true(mnl_nlmsg_ok(nlh, (int)nlh->nlmsg_len));
	assert_int_equal(nlh->nlmsg_type, type);
	assert_true(nlh->nlmsg_flags & NLM_F_REQUEST);
	assert_true(mnl_nlmsg_get_payload_len(nlh) >= hdrlen);
	assert_int_equal(mnl_attr_parse(nlh, (unsigned int)hdrlen, collect, a),
	    MNL_CB_OK);
}

static struct ip_addr
addr(const char *s)
{
	struct ip_addr a;
	const char *why;

	assert_int_equal(ip_parse(s, strlen(s), &a, &why), 0);
	return a;
}

static void
test_veth(void **state)
{
	char buf[RTNL_REQ_MAX] RTNL_REQ_ALIGN = { 0 };
	struct attrs a, info, data, peer;
	const struct ifinfomsg *pifm;
	const struct nlmsghdr *nlh = (const void *)buf;
	const char *p;
	size_t plen;

	(void)state;
	assert_int_equal(rtnl_build_veth(buf, sizeof(buf), "e1s1h", "eth0", 7),
	    0);
	parse_msg(buf, sizeof(struct ifinfomsg), RTM_NEWLINK, &a);
	assert_int_equal(nlh->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL),
	    NLM_F_CREATE | NLM_F_EXCL);
	assert_non_null(a.tb[IFLA_IFNAME]);
	assert_string_equal(mnl_attr_get_str(a.tb[IFLA_IFNAME]), "e1s1h");
	assert_null(a.tb[IFLA_NET_NS_FD]);	/* the host end stays here */
	assert_non_null(a.tb[IFLA_LINKINFO]);

	memset(&info, 0, sizeof(info));
	assert_int_equal(mnl_attr_parse_nested(a.tb[IFLA_LINKINFO], collect,
	    &info), MNL_CB_OK);
	assert_non_null(info.tb[IFLA_INFO_KIND]);
	assert_string_equal(mnl_attr_get_str(info.tb[IFLA_INFO_KIND]), "veth");
	assert_non_null(info.tb[IFLA_INFO_DATA]);

	memset(&data, 0, sizeof(data));
	assert_int_equal(mnl_attr_parse_nested(info.tb[IFLA_INFO_DATA],
	    collect, &data), MNL_CB_OK);
	assert_non_null(data.tb[VETH_INFO_PEER]);

	/* VETH_INFO_PEER: an ifinfomsg, then the peer's own attributes. */
	p = mnl_attr_get_payload(data.tb[VETH_INFO_PEER]);
	plen = mnl_attr_get_payload_len(data.tb[VETH_INFO_PEER]);
	assert_true(plen >= sizeof(struct ifinfomsg));
	pifm = (const void *)p;
	assert_int_equal(pifm->ifi_family, AF_UNSPEC);
	assert_int_equal(pifm->ifi_index, 0);
	memset(&peer, 0, sizeof(peer));
	assert_int_equal(mnl_attr_parse_payload(p + sizeof(struct ifinfomsg),
	    plen - sizeof(struct ifinfomsg), collect, &peer), MNL_CB_OK);
	assert_non_null(peer.tb[IFLA_IFNAME]);
	assert_string_equal(mnl_attr_get_str(peer.tb[IFLA_IFNAME]), "eth0");
	assert_non_null(peer.tb[IFLA_NET_NS_FD]);
	assert_int_equal(mnl_attr_get_u32(peer.tb[IFLA_NET_NS_FD]), 7);

	assert_int_equal(rtnl_build_veth(buf, sizeof(buf), NULL, "eth0", 7),
	    -EINVAL);
}

static void
test_link_requests(void **state)
{
	char buf[RTNL_REQ_MAX] RTNL_REQ_ALIGN = { 0 };
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload((void *)buf);
	struct attrs a;

	(void)state;
	assert_int_equal(rtnl_build_link_up(buf, sizeof(buf), 12, NULL), 0);
	parse_msg(buf, sizeof(*ifm), RTM_SETLINK, &a);
	assert_int_equal(ifm->ifi_index, 12);
	assert_int_equal(ifm->ifi_flags, IFF_UP);
	assert_int_equal(ifm->ifi_change, IFF_UP);
	assert_null(a.tb[IFLA_IFNAME]);

	assert_int_equal(rtnl_build_link_up(buf, sizeof(buf), 0, "lo"), 0);
	parse_msg(buf, sizeof(*ifm), RTM_SETLINK, &a);
	assert_int_equal(ifm->ifi_index, 0);
	assert_string_equal(mnl_attr_get_str(a.tb[IFLA_IFNAME]), "lo");

	assert_int_equal(rtnl_build_link_del(buf, sizeof(buf), 0, "e1s1h"), 0);
	parse_msg(buf, sizeof(*ifm), RTM_DELLINK, &a);
	assert_string_equal(mnl_attr_get_str(a.tb[IFLA_IFNAME]), "e1s1h");

	assert_int_equal(rtnl_build_link_get(buf, sizeof(buf), "eth0"), 0);
	parse_msg(buf, sizeof(*ifm), RTM_GETLINK, &a);
	assert_string_equal(mnl_attr_get_str(a.tb[IFLA_IFNAME]), "eth0");
	assert_int_equal(mnl_attr_get_u32(a.tb[IFLA_EXT_MASK]),
	    RTEXT_FILTER_SKIP_STATS);

	assert_int_equal(rtnl_build_link_up(buf, sizeof(buf), 0, NULL), -EINVAL);
	assert_int_equal(rtnl_build_link_del(buf, sizeof(buf), -1, NULL),
	    -EINVAL);
}

/* The session's veth end handed to a container engine's netns. */
static void
test_link_netns(void **state)
{
	char buf[RTNL_REQ_MAX] RTNL_REQ_ALIGN = { 0 };
	const struct nlmsghdr *nlh = (const void *)buf;
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload((void *)buf);
	struct attrs a;

	(void)state;
	assert_int_equal(rtnl_build_link_netns(buf, sizeof(buf), 0, "eth0", 9),
	    0);
	parse_msg(buf, sizeof(*ifm), RTM_NEWLINK, &a);
	/* A change to an existing link: never a create. */
	assert_int_equal(nlh->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL), 0);
	assert_int_equal(ifm->ifi_family, AF_UNSPEC);
	assert_int_equal(ifm->ifi_index, 0);
	assert_int_equal(ifm->ifi_change, 0);
	assert_non_null(a.tb[IFLA_IFNAME]);
	assert_string_equal(mnl_attr_get_str(a.tb[IFLA_IFNAME]), "eth0");
	assert_non_null(a.tb[IFLA_NET_NS_FD]);
	assert_int_equal(mnl_attr_get_payload_len(a.tb[IFLA_NET_NS_FD]), 4);
	assert_int_equal(mnl_attr_get_u32(a.tb[IFLA_NET_NS_FD]), 9);
	assert_null(a.tb[IFLA_NET_NS_PID]);
	assert_null(a.tb[IFLA_LINKINFO]);

	assert_int_equal(rtnl_build_link_netns(buf, sizeof(buf), 23, NULL, 0),
	    0);
	parse_msg(buf, sizeof(*ifm), RTM_NEWLINK, &a);
	assert_int_equal(ifm->ifi_index, 23);
	assert_null(a.tb[IFLA_IFNAME]);
	assert_int_equal(mnl_attr_get_u32(a.tb[IFLA_NET_NS_FD]), 0);

	assert_int_equal(rtnl_build_link_netns(buf, sizeof(buf), 0, NULL, 9),
	    -EINVAL);
	assert_int_equal(rtnl_build_link_netns(buf, sizeof(buf), 0, "eth0", -1),
	    -EINVAL);
}

static void
test_addr_add(void **state)
{
	char buf[RTNL_REQ_MAX] RTNL_REQ_ALIGN = { 0 };
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload((void *)buf);
	struct ip_addr a = addr("198.19.0.1"), v6 = addr("2001:db8::1");
	struct attrs at;

	(void)state;
	assert_int_equal(rtnl_build_addr_add(buf, sizeof(buf), 5, &a, 31), 0);
	parse_msg(buf, sizeof(*ifa), RTM_NEWADDR, &at);
	assert_int_equal(ifa->ifa_family, AF_INET);
	assert_int_equal(ifa->ifa_prefixlen, 31);
	assert_int_equal(ifa->ifa_index, 5);
	assert_non_null(at.tb[IFA_LOCAL]);
	assert_non_null(at.tb[IFA_ADDRESS]);
	assert_int_equal(mnl_attr_get_payload_len(at.tb[IFA_LOCAL]), 4);
	assert_memory_equal(mnl_attr_get_payload(at.tb[IFA_LOCAL]), a.a, 4);
	assert_memory_equal(mnl_attr_get_payload(at.tb[IFA_ADDRESS]), a.a, 4);

	assert_int_equal(rtnl_build_addr_add(buf, sizeof(buf), 5, &v6, 31),
	    -EINVAL);
	assert_int_equal(rtnl_build_addr_add(buf, sizeof(buf), 0, &a, 31),
	    -EINVAL);
	assert_int_equal(rtnl_build_addr_add(buf, sizeof(buf), 5, &a, 33),
	    -EINVAL);
}

static void
test_route_add(void **state)
{
	char buf[RTNL_REQ_MAX] RTNL_REQ_ALIGN = { 0 };
	const struct rtmsg *rtm = mnl_nlmsg_get_payload((void *)buf);
	struct ip_addr gw = addr("198.19.0.0");
	struct attrs a;

	(void)state;
	assert_int_equal(rtnl_build_route_add(buf, sizeof(buf), 3, NULL, 0, &gw),
	    0);
	parse_msg(buf, sizeof(*rtm), RTM_NEWROUTE, &a);
	assert_int_equal(rtm->rtm_family, AF_INET);
	assert_int_equal(rtm->rtm_dst_len, 0);
	assert_int_equal(rtm->rtm_table, RT_TABLE_MAIN);
	assert_int_equal(rtm->rtm_type, RTN_UNICAST);
	assert_int_equal(rtm->rtm_scope, RT_SCOPE_UNIVERSE);
	assert_null(a.tb[RTA_DST]);
	assert_non_null(a.tb[RTA_GATEWAY]);
	assert_memory_equal(mnl_attr_get_payload(a.tb[RTA_GATEWAY]), gw.a, 4);
	assert_int_equal(mnl_attr_get_u32(a.tb[RTA_OIF]), 3);

	/* The on-link /32 to the gateway, should a setup ever need it. */
	assert_int_equal(rtnl_build_route_add(buf, sizeof(buf), 3, &gw, 32,
	    NULL), 0);
	parse_msg(buf, sizeof(*rtm), RTM_NEWROUTE, &a);
	assert_int_equal(rtm->rtm_dst_len, 32);
	assert_int_equal(rtm->rtm_scope, RT_SCOPE_LINK);
	assert_null(a.tb[RTA_GATEWAY]);
	assert_memory_equal(mnl_attr_get_payload(a.tb[RTA_DST]), gw.a, 4);

	assert_int_equal(rtnl_build_route_add(buf, sizeof(buf), 3, NULL, 8,
	    &gw), -EINVAL);
	assert_int_equal(rtnl_build_route_add(buf, sizeof(buf), 0, NULL, 0,
	    &gw), -EINVAL);
}

static void
test_addr_dump_request(void **state)
{
	char buf[RTNL_REQ_MAX] RTNL_REQ_ALIGN = { 0 };
	const struct nlmsghdr *nlh = (const void *)buf;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload((void *)buf);
	struct attrs a;

	(void)state;
	assert_int_equal(rtnl_build_addr_dump(buf, sizeof(buf), AF_INET), 0);
	parse_msg(buf, sizeof(*ifa), RTM_GETADDR, &a);
	assert_int_equal(nlh->nlmsg_flags & NLM_F_DUMP, NLM_F_DUMP);
	assert_int_equal(ifa->ifa_family, AF_INET);
}

/* Every builder, at every length short of what it needs: -ENOBUFS, and no
 * byte written past len (ASan watches the exact-size heap buffer). */
static void
test_buffer_too_small(void **state)
{
	struct ip_addr a = addr("198.19.0.1"), gw = addr("198.19.0.0");
	size_t need = 0, len;
	char *b;
	int kind;

	(void)state;
	for (kind = 0; kind < 8; kind++) {
		for (len = 0;; len++) {
			int rc;

			b = malloc(len > 0 ? len : 1);
			assert_non_null(b);
			switch (kind) {
			case 0: rc = rtnl_build_veth(b, len, "e1s1h", "eth0", 9); break;
			case 1: rc = rtnl_build_link_up(b, len, 0, "e1s1h"); break;
			case 2: rc = rtnl_build_link_del(b, len, 0, "e1s1h"); break;
			case 3: rc = rtnl_build_link_get(b, len, "e1s1h"); break;
			case 4: rc = rtnl_build_addr_add(b, len, 2, &a, 31); break;
			case 5: rc = rtnl_build_route_add(b, len, 2, NULL, 0, &gw); break;
			case 6: rc = rtnl_build_link_netns(b, len, 0, "eth0", 9); break;
			default: rc = rtnl_build_addr_dump(b, len, AF_INET); break;
			}
			if (rc == 0) {
				need = ((struct nlmsghdr *)(void *)b)->nlmsg_len;
				assert_true(need <= len);
				free(b);
				break;
			}
			free(b);
			assert_int_equal(rc, -ENOBUFS);
			assert_true(len < RTNL_REQ_MAX);
		}
		assert_true(need > 0);
	}
}

/* A reply message appended at *off in buf. */
static struct nlmsghdr *
put_msg(char *buf, size_t *off, uint16_t type, uint16_t flags, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf + *off);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_pid = PORTID;
	return nlh;
}

static void
put_addr(char *buf, size_t *off, uint32_t seq, int family, int ifindex,
    const char *local, unsigned int plen, const char *label)
{
	struct nlmsghdr *nlh = put_msg(buf, off, RTM_NEWADDR, NLM_F_MULTI, seq);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	struct ip_addr a = addr(local);

	ifa->ifa_family = (unsigned char)family;
	ifa->ifa_prefixlen = (unsigned char)plen;
	ifa->ifa_index = (unsigned int)ifindex;
	mnl_attr_put(nlh, IFA_ADDRESS, family == AF_INET ? 4 : 16, a.a);
	mnl_attr_put(nlh, IFA_LOCAL, family == AF_INET ? 4 : 16, a.a);
	if (label != NULL)
		mnl_attr_put_strz(nlh, IFA_LABEL, label);
	*off += nlh->nlmsg_len;
}

static void
put_done(char *buf, size_t *off, uint32_t seq, int status)
{
	struct nlmsghdr *nlh = put_msg(buf, off, NLMSG_DONE, NLM_F_MULTI, seq);
	int *p = mnl_nlmsg_put_extra_header(nlh, sizeof(int));

	*p = status;
	*off += nlh->nlmsg_len;
}

struct seen {
	struct rtnl_addr a[8];
	int n;
};

static int
addr_cb(const struct nlmsghdr *nlh, void *data)
{
	struct seen *s = data;
	int rc = rtnl_parse_addr(nlh, &s->a[s->n]);

	if (rc < 0)
		return rc;
	if (rc == 0)
		s->n++;
	return 0;
}

static void
test_addr_dump_parse(void **state)
{
	uint64_t store[1024];
	char *buf = (char *)store, text[IP_STRLEN];
	struct seen s = { .n = 0 };
	size_t off = 0;

	(void)state;
	put_addr(buf, &off, SEQ, AF_INET, 1, "127.0.0.1", 8, "lo");
	put_addr(buf, &off, SEQ, AF_INET6, 4, "fe80::1", 64, NULL);
	/* A late answer to an older request: not ours. */
	put_addr(buf, &off, SEQ - 1, AF_INET, 9, "198.19.0.8", 31, "stale");
	put_addr(buf, &off, SEQ, AF_INET, 4, "198.19.0.0", 31, "e1s1h");
	/* First datagram: no DONE yet, more to read. */
	assert_int_equal(rtnl_parse_reply(buf, off, SEQ, PORTID, addr_cb, &s,
	    NULL, 0), 0);
	assert_int_equal(s.n, 2);

	off = 0;
	put_addr(buf, &off, SEQ, AF_INET, 5, "198.19.0.2", 31, "e1s2h");
	put_done(buf, &off, SEQ, 0);
	assert_int_equal(rtnl_parse_reply(buf, off, SEQ, PORTID, addr_cb, &s,
	    NULL, 0), 1);
	assert_int_equal(s.n, 3);

	assert_int_equal(s.a[0].ifindex, 1);
	assert_int_equal(s.a[0].prefixlen, 8);
	assert_string_equal(s.a[0].label, "lo");
	assert_int_equal(s.a[1].ifindex, 4);
	assert_int_equal(s.a[1].prefixlen, 31);
	assert_string_equal(s.a[1].label, "e1s1h");
	assert_int_equal(ip_format(&s.a[1].local, text, sizeof(text)), 0);
	assert_string_equal(text, "198.19.0.0");
	assert_int_equal(ip_format(&s.a[2].local, text, sizeof(text)), 0);
	assert_string_equal(text, "198.19.0.2");
}

static void
test_reply_errors(void **state)
{
	uint64_t store[256];
	char *buf = (char *)store, ext[RTNL_EXT_MAX];
	struct nlmsghdr *nlh;
	struct nlmsgerr *e;
	struct seen s = { .n = 0 };
	struct rtnl_addr ra;
	size_t off = 0;

	(void)state;
	/* The ACK. */
	nlh = put_msg(buf, &off, NLMSG_ERROR, NLM_F_CAPPED, SEQ);
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	e->msg.nlmsg_len = 40;
	off += nlh->nlmsg_len;
	assert_int_equal(rtnl_parse_reply(buf, off, SEQ, PORTID, NULL, NULL,
	    NULL, 0), 1);
	/* ...for someone else's sequence number: still waiting. */
	assert_int_equal(rtnl_parse_reply(buf, off, SEQ + 1, PORTID, NULL,
	    NULL, NULL, 0), 0);

	/* A refusal with the kernel's extended-ack text. */
	off = 0;
	nlh = put_msg(buf, &off, NLMSG_ERROR, NLM_F_CAPPED | NLM_F_ACK_TLVS,
	    SEQ);
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	e->error = -EEXIST;
	e->msg.nlmsg_len = 64;
	mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, "name already taken");
	off += nlh->nlmsg_len;
	ext[0] = '\0';
	assert_int_equal(rtnl_parse_reply(buf, off, SEQ, PORTID, NULL, NULL,
	    ext, sizeof(ext)), -EEXIST);
	assert_string_equal(ext, "name already taken");

	/* A dump that raced a change. */
	off = 0;
	put_addr(buf, &off, SEQ, AF_INET, 4, "198.19.0.0", 31, "x");
	((struct nlmsghdr *)(void *)buf)->nlmsg_flags |= NLM_F_DUMP_INTR;
	assert_int_equal(rtnl_parse_reply(buf, off, SEQ, PORTID, addr_cb, &s,
	    NULL, 0), -EINTR);

	/* A failed dump. */
	off = 0;
	put_done(buf, &off, SEQ, -ENOBUFS);
	assert_int_equal(rtnl_parse_reply(buf, off, SEQ, PORTID, NULL, NULL,
	    NULL, 0), -ENOBUFS);

	/* Truncated: the header claims more than the datagram holds. */
	off = 0;
	put_addr(buf, &off, SEQ, AF_INET, 4, "198.19.0.0", 31, "x");
	assert_int_equal(rtnl_parse_reply(buf, off - 4, SEQ, PORTID, addr_cb,
	    &s, NULL, 0), -EBADMSG);

	/* An address attribute of the wrong size. */
	off = 0;
	nlh = put_msg(buf, &off, RTM_NEWADDR, 0, SEQ);
	((struct ifaddrmsg *)mnl_nlmsg_put_extra_header(nlh,
	    sizeof(struct ifaddrmsg)))->ifa_family = AF_INET;
	mnl_attr_put(nlh, IFA_LOCAL, 3, "abc");
	assert_int_equal(rtnl_parse_addr(nlh, &ra), -EINVAL);
	/* A header too short for its ifaddrmsg. */
	nlh->nlmsg_len = MNL_NLMSG_HDRLEN + 2;
	assert_int_equal(rtnl_parse_addr(nlh, &ra), -EINVAL);
	/* The callback's error stops the walk. */
	off = 0;
	nlh = put_msg(buf, &off, RTM_NEWADDR, 0, SEQ);
	((struct ifaddrmsg *)mnl_nlmsg_put_extra_header(nlh,
	    sizeof(struct ifaddrmsg)))->ifa_family = AF_INET;
	mnl_attr_put(nlh, IFA_LOCAL, 3, "abc");
	off += nlh->nlmsg_len;
	assert_int_equal(rtnl_parse_reply(buf, off, SEQ, PORTID, addr_cb, &s,
	    NULL, 0), -EINVAL);
}

static void
test_link_parse(void **state)
{
	uint64_t store[128];
	char *buf = (char *)store, name[IF_NAMESIZE];
	struct ifinfomsg *ifm;
	struct nlmsghdr *nlh;
	size_t off = 0;
	int idx = 0;

	(void)state;
	nlh = put_msg(buf, &off, RTM_NEWLINK, 0, SEQ);
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_index = 17;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "eth0");
	assert_int_equal(rtnl_parse_link(nlh, &idx, name, sizeof(name)), 0);
	assert_int_equal(idx, 17);
	assert_string_equal(name, "eth0");
	assert_int_equal(rtnl_parse_link(nlh, &idx, name, 3), -EINVAL);
	ifm->ifi_index = 0;
	assert_int_equal(rtnl_parse_link(nlh, &idx, NULL, 0), -EINVAL);
}

/* A microVM's bridge: created, never replacing one, snooping off. */
static void
test_bridge(void **state)
{
	char buf[RTNL_REQ_MAX] RTNL_REQ_ALIGN = { 0 };
	const struct nlmsghdr *nlh = (const void *)buf;
	struct attrs a, info, data;

	(void)state;
	assert_int_equal(rtnl_build_bridge(buf, sizeof(buf), "br0"), 0);
	parse_msg(buf, sizeof(struct ifinfomsg), RTM_NEWLINK, &a);
	assert_int_equal(nlh->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL),
	    NLM_F_CREATE | NLM_F_EXCL);
	assert_non_null(a.tb[IFLA_IFNAME]);
	assert_string_equal(mnl_attr_get_str(a.tb[IFLA_IFNAME]), "br0");
	assert_non_null(a.tb[IFLA_LINKINFO]);
	memset(&info, 0, sizeof(info));
	assert_int_equal(mnl_attr_parse_nested(a.tb[IFLA_LINKINFO], collect,
	    &info), MNL_CB_OK);
	assert_string_equal(mnl_attr_get_str(info.tb[IFLA_INFO_KIND]),
	    "bridge");
	assert_non_null(info.tb[IFLA_INFO_DATA]);
	memset(&data, 0, sizeof(data));
	assert_int_equal(mnl_attr_parse_nested(info.tb[IFLA_INFO_DATA],
	    collect, &data), MNL_CB_OK);
	assert_non_null(data.tb[IFLA_BR_MCAST_SNOOPING]);
	assert_int_equal(mnl_attr_get_u8(data.tb[IFLA_BR_MCAST_SNOOPING]), 0);

	assert_int_equal(rtnl_build_bridge(buf, sizeof(buf), NULL), -EINVAL);
	assert_int_equal(rtnl_build_bridge(buf, 24, "br0"), -ENOBUFS);
}

static void
test_link_master(void **state)
{
	char buf[RTNL_REQ_MAX] RTNL_REQ_ALIGN = { 0 };
	const struct nlmsghdr *nlh = (const void *)buf;
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload((void *)buf);
	struct attrs a;

	(void)state;
	assert_int_equal(rtnl_build_link_master(buf, sizeof(buf), 4, NULL, 9),
	    0);
	parse_msg(buf, sizeof(*ifm), RTM_SETLINK, &a);
	assert_int_equal(nlh->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL), 0);
	assert_int_equal(ifm->ifi_index, 4);
	assert_null(a.tb[IFLA_IFNAME]);
	assert_non_null(a.tb[IFLA_MASTER]);
	assert_int_equal(mnl_attr_get_u32(a.tb[IFLA_MASTER]), 9);

	/* By name; master 0 releases the port. */
	memset(buf, 0, sizeof(buf));
	assert_int_equal(rtnl_build_link_master(buf, sizeof(buf), 0, "tap0", 0),
	    0);
	parse_msg(buf, sizeof(*ifm), RTM_SETLINK, &a);
	assert_int_equal(ifm->ifi_index, 0);
	assert_string_equal(mnl_attr_get_str(a.tb[IFLA_IFNAME]), "tap0");
	assert_int_equal(mnl_attr_get_u32(a.tb[IFLA_MASTER]), 0);

	assert_int_equal(rtnl_build_link_master(buf, sizeof(buf), 0, NULL, 9),
	    -EINVAL);
	assert_int_equal(rtnl_build_link_master(buf, sizeof(buf), 4, NULL, -1),
	    -EINVAL);
}

static void
test_addr_del(void **state)
{
	char buf[RTNL_REQ_MAX] RTNL_REQ_ALIGN = { 0 };
	const struct nlmsghdr *nlh = (const void *)buf;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload((void *)buf);
	struct ip_addr a = addr("198.19.0.3"), v6 = addr("2001:db8::1");
	struct attrs at;

	(void)state;
	assert_int_equal(rtnl_build_addr_del(buf, sizeof(buf), 7, &a, 31), 0);
	parse_msg(buf, sizeof(*ifa), RTM_DELADDR, &at);
	assert_int_equal(nlh->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL), 0);
	assert_int_equal(ifa->ifa_family, AF_INET);
	assert_int_equal(ifa->ifa_prefixlen, 31);
	assert_int_equal(ifa->ifa_index, 7);
	assert_memory_equal(mnl_attr_get_payload(at.tb[IFA_LOCAL]), a.a, 4);

	assert_int_equal(rtnl_build_addr_del(buf, sizeof(buf), 7, &v6, 31),
	    -EINVAL);
	assert_int_equal(rtnl_build_addr_del(buf, sizeof(buf), 0, &a, 31),
	    -EINVAL);
	assert_int_equal(rtnl_build_addr_del(buf, sizeof(buf), 7, &a, 33),
	    -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_veth),
		cmocka_unit_test(test_link_requests),
		cmocka_unit_test(test_link_netns),
		cmocka_unit_test(test_addr_add),
		cmocka_unit_test(test_route_add),
		cmocka_unit_test(test_addr_dump_request),
		cmocka_unit_test(test_buffer_too_small),
		cmocka_unit_test(test_addr_dump_parse),
		cmocka_unit_test(test_reply_errors),
		cmocka_unit_test(test_link_parse),
		cmocka_unit_test(test_bridge),
		cmocka_unit_test(test_link_master),
		cmocka_unit_test(test_addr_del),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
