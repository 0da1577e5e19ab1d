#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "netns/link.h"
#include "netns/ns.h"

/* A dump that raced a change is retried this many times. */
#define LINK_DUMP_TRIES	3

/* "step: strerror (kernel text)" into err; returns rc. */
static int __attribute__((format(printf, 5, 6)))
link_fail(char *err, size_t errlen, int rc, const char *ext,
    const char *fmt, ...)
{
	va_list ap;
	int n;

	if (err == NULL || errlen == 0)
		return rc;
	va_start(ap, fmt);
	n = vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= errlen)
		return rc;
	snprintf(err + n, errlen - (size_t)n, ": %s%s%s%s", strerror(-rc),
	    ext != NULL && ext[0] != '\0' ? " (" : "",
	    ext != NULL ? ext : "",
	    ext != NULL && ext[0] != '\0' ? ")" : "");
	return rc;
}

int
link_veth_create(struct rtnl *r, const char *ifname, const char *peer,
    int peer_nsfd, char *err, size_t errlen)
{
	char req[RTNL_REQ_MAX] RTNL_REQ_ALIGN, ext[RTNL_EXT_MAX] = "";
	int rc;

	if ((rc = rtnl_build_veth(req, sizeof(req), ifname, peer,
	    peer_nsfd)) == 0)
		rc = rtnl_talk(r, req, NULL, NULL, ext, sizeof(ext));
	if (rc < 0)
		return link_fail(err, errlen, rc, ext, "create veth %s/%s",
		    ifname, peer);
	return 0;
}

int
link_up(struct rtnl *r, int ifindex, const char *ifname, char *err,
    size_t errlen)
{
	char req[RTNL_REQ_MAX] RTNL_REQ_ALIGN, ext[RTNL_EXT_MAX] = "";
	int rc;

	if ((rc = rtnl_build_link_up(req, sizeof(req), ifindex, ifname)) == 0)
		rc = rtnl_talk(r, req, NULL, NULL, ext, sizeof(ext));
	if (rc < 0)
		return link_fail(err, errlen, rc, ext, "set link %s up",
		    ifname != NULL ? ifname : "?");
	return 0;
}

int
link_delete(struct rtnl *r, const char *ifname, char *err, size_t errlen)
{
	char req[RTNL_REQ_MAX] RTNL_REQ_ALIGN, ext[RTNL_EXT_MAX] = "";
	int rc;

	if ((rc = rtnl_build_link_del(req, sizeof(req), 0, ifname)) == 0)
		rc = rtnl_talk(r, req, NULL, NULL, ext, sizeof(ext));
	if (rc < 0)
		return link_fail(err, errlen, rc, ext, "delete link %s", ifname);
	return 0;
}

int
link_move(struct rtnl *r, const char *ifname, int target_nsfd, char *err,
    size_t errlen)
{
	char req[RTNL_REQ_MAX] RTNL_REQ_ALIGN, ext[RTNL_EXT_MAX] = "";
	int rc;

	if ((rc = rtnl_build_link_netns(req, sizeof(req), 0, ifname,
	    target_nsfd)) == 0)
		rc = rtnl_talk(r, req, NULL, NULL, ext, sizeof(ext));
	if (rc < 0)
		return link_fail(err, errlen, rc, ext, "move link %s to netns fd %d",
		    ifname != NULL ? ifname : "?", target_nsfd);
	return 0;
}

static int
link_index_cb(const struct nlmsghdr *nlh, void *data)
{
	return rtnl_parse_link(nlh, data, NULL, 0);
}

/* RTM_GETLINK rather than if_nametoindex(): it asks r's netns, not ours. */
int
link_index(struct rtnl *r, const char *ifname, int *ifindex, char *err,
    size_t errlen)
{
	char req[RTNL_REQ_MAX] RTNL_REQ_ALIGN, ext[RTNL_EXT_MAX] = "";
	int rc;

	*ifindex = 0;
	if ((rc = rtnl_build_link_get(req, sizeof(req), ifname)) == 0)
		rc = rtnl_talk(r, req, link_index_cb, ifindex, ext,
		    sizeof(ext));
	if (rc == 0 && *ifindex <= 0)
		rc = -ENODEV;
	if (rc < 0)
		return link_fail(err, errlen, rc, ext, "find link %s", ifname);
	return 0;
}

int
link_addr_add(struct rtnl *r, int ifindex, const char *ifname,
    const struct ip_addr *addr, unsigned int prefixlen, char *err,
    size_t errlen)
{
	char req[RTNL_REQ_MAX] RTNL_REQ_ALIGN, ext[RTNL_EXT_MAX] = "";
	char text[IP_STRLEN];
	int rc;

	if ((rc = rtnl_build_addr_add(req, sizeof(req), ifindex, addr,
	    prefixlen)) == 0)
		rc = rtnl_talk(r, req, NULL, NULL, ext, sizeof(ext));
	if (rc < 0) {
		if (ip_format(addr, text, sizeof(text)) == -1)
			snprintf(text, sizeof(text), "?");
		return link_fail(err, errlen, rc, ext, "add address %s/%u to %s",
		    text, prefixlen, ifname != NULL ? ifname : "?");
	}
	return 0;
}

int
link_route_default(struct rtnl *r, int ifindex, const char *ifname,
    const struct ip_addr *gw, char *err, size_t errlen)
{
	char req[RTNL_REQ_MAX] RTNL_REQ_ALIGN, ext[RTNL_EXT_MAX] = "";
	char text[IP_STRLEN];
	int rc;

	if ((rc = rtnl_build_route_add(req, sizeof(req), ifindex, NULL, 0,
	    gw)) == 0)
		rc = rtnl_talk(r, req, NULL, NULL, ext, sizeof(ext));
	if (rc < 0) {
		if (ip_format(gw, text, sizeof(text)) == -1)
			snprintf(text, sizeof(text), "?");
		return link_fail(err, errlen, rc, ext,
		    "add default route via %s dev %s", text,
		    ifname != NULL ? ifname : "?");
	}
	return 0;
}

struct link_dump {
	link_addr_cb_t cb;
	void *data;
};

static int
link_addr_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_dump *d = data;
	struct rtnl_addr a;
	int rc;

	if ((rc = rtnl_parse_addr(nlh, &a)) != 0)
		return rc > 0 ? 0 : rc;
	return d->cb(&a, d->data);
}

/* cb may see an address twice when a dump that raced a change is redone. */
int
link_addr_dump(struct rtnl *r, link_addr_cb_t cb, void *data, char *err,
    size_t errlen)
{
	char req[RTNL_REQ_MAX] RTNL_REQ_ALIGN, ext[RTNL_EXT_MAX] = "";
	struct link_dump d = { cb, data };
	int rc = -EINTR, i;

	for (i = 0; i < LINK_DUMP_TRIES && rc == -EINTR; i++) {
		if ((rc = rtnl_build_addr_dump(req, sizeof(req), AF_INET)) == 0)
			rc = rtnl_talk(r, req, link_addr_cb, &d, ext,
			    sizeof(ext));
	}
	if (rc < 0)
		return link_fail(err, errlen, rc, ext, "dump addresses");
	return 0;
}

int
link_bridge_create(struct rtnl *r, const char *ifname, char *err,
    size_t errlen)
{
	char req[RTNL_REQ_MAX] RTNL_REQ_ALIGN, ext[RTNL_EXT_MAX] = "";
	int rc;

	if ((rc = rtnl_build_bridge(req, sizeof(req), ifname)) == 0)
		rc = rtnl_talk(r, req, NULL, NULL, ext, sizeof(ext));
	if (rc < 0)
		return link_fail(err, errlen, rc, ext, "create bridge %s",
		    ifname != NULL ? ifname : "?");
	return 0;
}

int
link_set_master(struct rtnl *r, int ifindex, const char *ifname,
    int master_ifindex, char *err, size_t errlen)
{
	char req[RTNL_REQ_MAX] RTNL_REQ_ALIGN, ext[RTNL_EXT_MAX] = "";
	int rc;

	if ((rc = rtnl_build_link_master(req, sizeof(req), ifindex, ifname,
	    master_ifindex)) == 0)
		rc = rtnl_talk(r, req, NULL, NULL, ext, sizeof(ext));
	if (rc < 0)
		return link_fail(err, errlen, rc, ext, "set master of %s",
		    ifname != NULL ? ifname : "?");
	return 0;
}

int
link_addr_del(struct rtnl *r, int ifindex, const char *ifname,
    const struct ip_addr *addr, unsigned int prefixlen, char *err,
    size_t errlen)
{
	char req[RTNL_REQ_MAX] RTNL_REQ_ALIGN, ext[RTNL_EXT_MAX] = "";
	char text[IP_STRLEN];
	int rc;

	if ((rc = rtnl_build_addr_del(req, sizeof(req), ifindex, addr,
	    prefixlen)) == 0)
		rc = rtnl_talk(r, req, NULL, NULL, ext, sizeof(ext));
	if (rc < 0) {
		if (ip_format(addr, text, sizeof(text)) == -1)
			snprintf(text, sizeof(text), "?");
		return link_fail(err, errlen, rc, ext,
		    "remove address %s/%u from %s", text, prefixlen,
		    ifname != NULL ? ifname : "?");
	}
	return 0;
}

/*
 * A tap is made by ioctl, not rtnetlink: /dev/net/tun creates it in the
 * netns of whoever opened it, so the open happens inside nsfd's.
 */
int
link_tap_create(int nsfd, const char *ifname, uid_t uid, gid_t gid,
    int *fdp, char *err, size_t errlen)
{
	struct ifreq ifr;
	int fd, saved = -1, rc = 0;

	if (ifname == NULL || strlen(ifname) >= IFNAMSIZ)
		return link_fail(err, errlen, -EINVAL, NULL, "create tap %s",
		    ifname != NULL ? ifname : "?");
	if ((rc = netns_enter(nsfd, &saved)) < 0)
		return link_fail(err, errlen, rc, NULL, "create tap %s: "
		    "enter netns", ifname);
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	rc = fd == -1 ? -errno : 0;
	if (netns_leave(saved) < 0)
		fatal("link_tap_create: cannot return to the original netns");
	if (rc < 0)
		return link_fail(err, errlen, rc, NULL, "open /dev/net/tun");
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) == -1)
		rc = link_fail(err, errlen, -errno, NULL, "create tap %s",
		    ifname);
	else if (ioctl(fd, TUNSETOWNER, (unsigned long)uid) == -1 ||
	    ioctl(fd, TUNSETGROUP, (unsigned long)gid) == -1 ||
	    ioctl(fd, TUNSETPERSIST, 1UL) == -1)
		/* Not yet persistent: closing fd below removes it again. */
		rc = link_fail(err, errlen, -errno, NULL, "set up tap %s",
		    ifname);
	if (rc == 0 && fdp != NULL) {
		*fdp = fd;
		return 0;
	}
	close(fd);
	return rc;
}
