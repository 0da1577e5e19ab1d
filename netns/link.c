#include <errno.h>
#include <libmnl/libmnl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "netns/link.h"

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
