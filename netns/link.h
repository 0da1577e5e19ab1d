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

#endif
