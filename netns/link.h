/*
 * Link, address and route operations over an rtnl socket. The socket
 * decides the netns: open it with rtnl_open(r, nsfd) to act inside another
 * namespace.
 *
 * Each returns 0 or -errno and, on failure, writes "step object: strerror"
 * (plus the kernel's extended-ack text, if any) to err.
 */
#ifndef ENCLAVE_NETNS_LINK_H
#define ENCLAVE_NETNS_LINK_H

#include <stddef.h>
#include <sys/types.h>

#include "common/ip.h"
#include "netns/rtnl.h"

/* A veth pair; the peer is created directly in peer_nsfd's netns. */
int link_veth_create(struct rtnl *r, const char *ifname, const char *peer,
    int peer_nsfd, char *err, size_t errlen);
/* Bring a link up by ifindex if > 0, else by ifname. */
int link_up(struct rtnl *r, int ifindex, const char *ifname, char *err,
    size_t errlen);
/* -ENODEV if it does not exist. */
int link_delete(struct rtnl *r, const char *ifname, char *err,
    size_t errlen);
/*
 * Move ifname from r's netns into target_nsfd's (a container engine's netns
 * the workload runs in). The link arrives down and without addresses.
 */
int link_move(struct rtnl *r, const char *ifname, int target_nsfd, char *err,
    size_t errlen);
/* -ENODEV if it does not exist. */
int link_index(struct rtnl *r, const char *ifname, int *ifindex, char *err,
    size_t errlen);
int link_addr_add(struct rtnl *r, int ifindex, const char *ifname,
    const struct ip_addr *addr, unsigned int prefixlen, char *err,
    size_t errlen);
int link_route_default(struct rtnl *r, int ifindex, const char *ifname,
    const struct ip_addr *gw, char *err, size_t errlen);

/* Called once per IPv4 address; non-zero (-errno) stops the dump. */
typedef int (*link_addr_cb_t)(const struct rtnl_addr *a, void *data);
/* Every IPv4 address in the socket's netns, with its interface label. */
int link_addr_dump(struct rtnl *r, link_addr_cb_t cb, void *data, char *err,
    size_t errlen);

/* A bridge without multicast snooping (rtnl_build_bridge()), down. */
int link_bridge_create(struct rtnl *r, const char *ifname, char *err,
    size_t errlen);
/* Make the link a port of master_ifindex (0: release it). */
int link_set_master(struct rtnl *r, int ifindex, const char *ifname,
    int master_ifindex, char *err, size_t errlen);
/* -EADDRNOTAVAIL if the link does not hold that address. */
int link_addr_del(struct rtnl *r, int ifindex, const char *ifname,
    const struct ip_addr *addr, unsigned int prefixlen, char *err,
    size_t errlen);
/*
 * A persistent tap (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR) called ifname in
 * nsfd's netns, owned by uid and gid so an unprivileged VMM may attach to
 * it by name; created down. *fd (when fd is not NULL) gets the queue it
 * was made with, to hand to a VMM that cannot open /dev/net/tun itself.
 * Remove it with link_delete().
 */
int link_tap_create(int nsfd, const char *ifname, uid_t uid, gid_t gid,
    int *fd, char *err, size_t errlen);

#endif
