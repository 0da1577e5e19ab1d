/*
 * A small rtnetlink client over libmnl.
 *
 * Message builders and reply parsers are pure: they work on a caller's
 * buffer and never touch a socket, so tests run them without a kernel.
 * I/O functions return 0 or -errno (the kernel's error for a refused
 * request, -ETIMEDOUT when no answer came within RTNL_TIMEOUT_MS).
 */
#ifndef ENCLAVE_NETNS_RTNL_H
#define ENCLAVE_NETNS_RTNL_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ip.h"

struct mnl_socket;
struct nlmsghdr;

/* Enough for any request built here; builders return -ENOBUFS past len. */
#define RTNL_REQ_MAX	512
/* How long one request may wait for its answer. */
#define RTNL_TIMEOUT_MS	2000
/* Room for the kernel's extended-ack text. */
#define RTNL_EXT_MAX	128

/* Request buffers must be aligned for struct nlmsghdr. */
#define RTNL_REQ_ALIGN	__attribute__((aligned(8)))

struct rtnl {
	struct mnl_socket *nl;
	uint32_t seq;
	uint32_t portid;
};

/* One IPv4 address as an RTM_GETADDR dump reports it. */
struct rtnl_addr {
	int ifindex;
	unsigned int prefixlen;
	struct ip_addr local;
	char label[IF_NAMESIZE];	/* IFA_LABEL: the ifname unless aliased */
};

/* Called for each data message of a reply; non-zero (-errno) aborts. */
typedef int (*rtnl_cb_t)(const struct nlmsghdr *nlh, void *data);

/* Open in the current netns (nsfd -1) or bound for good to nsfd's. */
int rtnl_open(struct rtnl *r, int nsfd);
void rtnl_close(struct rtnl *r);

/*
 * Send the request in req (NLM_F_ACK is added unless it is a dump) and
 * collect the answer: data messages go to cb (may be NULL), until the ACK
 * or NLMSG_DONE. ext (may be NULL) gets the kernel's extended-ack text.
 */
int rtnl_talk(struct rtnl *r, void *req, rtnl_cb_t cb, void *data,
    char *ext, size_t extlen);

/*
 * Walk one received datagram for request seq. Returns 1 when the answer is
 * complete, 0 if more datagrams follow, -errno for the kernel's error or
 * cb's. Messages for other sequence numbers (late answers to a request
 * that timed out) are skipped.
 */
int rtnl_parse_reply(const void *buf, size_t len, uint32_t seq,
    uint32_t portid, rtnl_cb_t cb, void *data, char *ext, size_t extlen);

/*
 * Builders: the request starts at buf (RTNL_REQ_ALIGN). 0, -ENOBUFS if len
 * is too small, -EINVAL for arguments that make no request.
 */
int rtnl_build_veth(void *buf, size_t len, const char *ifname,
    const char *peer, int peer_nsfd);
/* ifindex if > 0, else ifname. */
int rtnl_build_link_up(void *buf, size_t len, int ifindex,
    const char *ifname);
int rtnl_build_link_del(void *buf, size_t len, int ifindex,
    const char *ifname);
int rtnl_build_link_get(void *buf, size_t len, const char *ifname);
/* Move a link (ifindex if > 0, else ifname) into nsfd's netns; -EINVAL for
 * a negative nsfd. */
int rtnl_build_link_netns(void *buf, size_t len, int ifindex,
    const char *ifname, int nsfd);
int rtnl_build_addr_add(void *buf, size_t len, int ifindex,
    const struct ip_addr *addr, unsigned int prefixlen);
/* dst NULL: the default route. gw NULL: on-link (scope link). */
int rtnl_build_route_add(void *buf, size_t len, int oif,
    const struct ip_addr *dst, unsigned int dst_len,
    const struct ip_addr *gw);
int rtnl_build_addr_dump(void *buf, size_t len, int family);

/* Parse an RTM_NEWLINK reply: ifindex and name. -EINVAL if malformed. */
int rtnl_parse_link(const struct nlmsghdr *nlh, int *ifindex, char *ifname,
    size_t ifnamelen);
/*
 * Parse one RTM_NEWADDR dump message: 0 filled, 1 not IPv4 (skip it),
 * -EINVAL malformed.
 */
int rtnl_parse_addr(const struct nlmsghdr *nlh, struct rtnl_addr *out);

/*
 * A bridge, created down, with multicast snooping off: a snooping bridge
 * joins the all-snoopers group and reports it (IGMP from 0.0.0.0), which
 * a session's enforcement point would log as a spoofed packet.
 */
int rtnl_build_bridge(void *buf, size_t len, const char *ifname);
/* Enslave a link (ifindex if > 0, else ifname) to master_ifindex; 0
 * releases it. */
int rtnl_build_link_master(void *buf, size_t len, int ifindex,
    const char *ifname, int master_ifindex);
int rtnl_build_addr_del(void *buf, size_t len, int ifindex,
    const struct ip_addr *addr, unsigned int prefixlen);

#endif
