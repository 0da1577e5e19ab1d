#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "netns/link.h"
#include "netns/ns.h"
#include "netns/rtnl.h"
#include "netns/session.h"

/* Long enough for one step's message plus the kernel's text. */
#define SESSION_ERR_MAX	256

/* Append "; msg" to a non-empty err (or start it). */
static void __attribute__((format(printf, 3, 4)))
session_errcat(char *err, size_t errlen, const char *fmt, ...)
{
	size_t used;
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	used = strnlen(err, errlen);
	if (used >= errlen - 1)
		return;
	if (used > 0) {
		snprintf(err + used, errlen - used, "; ");
		used = strnlen(err, errlen);
	}
	va_start(ap, fmt);
	vsnprintf(err + used, errlen - used, fmt, ap);
	va_end(ap);
}

static int
session_sysctl_write(const char *path, const char *value)
{
	size_t len = strlen(value);
	ssize_t n;
	int fd, rc = 0;

	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return -errno;
	n = write(fd, value, len);
	if (n == -1)
		rc = -errno;
	else if ((size_t)n != len)
		rc = -EIO;
	if (close(fd) == -1 && rc == 0)
		rc = -errno;
	return rc;
}

/*
 * Written before the veth exists so the session end is born with IPv6 off
 * (via default/) and never sends a router solicitation or DAD probe.
 * /proc/sys/net shows the netns of the thread that opens it, hence setns.
 */
static int
session_ipv6_off(int nsfd, const char *name, char *err, size_t errlen)
{
	static const char *const paths[] = {
		"/proc/sys/net/ipv6/conf/all/disable_ipv6",
		"/proc/sys/net/ipv6/conf/default/disable_ipv6",
	};
	int saved, rc;
	size_t i;

	if ((rc = netns_enter(nsfd, &saved)) < 0) {
		snprintf(err, errlen, "disable IPv6 in netns %s: setns: %s",
		    name, strerror(-rc));
		return rc;
	}
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		rc = session_sysctl_write(paths[i], "1\n");
		/* No /proc/sys/net/ipv6: the kernel runs without IPv6. */
		if (rc == -ENOENT && i == 0) {
			rc = 0;
			break;
		}
		if (rc < 0) {
			snprintf(err, errlen, "disable IPv6 in netns %s: %s: %s",
			    name, paths[i], strerror(-rc));
			break;
		}
	}
	if (netns_leave(saved) < 0)
		fatal("netns session %s: cannot return to the original netns",
		    name);
	return rc;
}

static int
session_cfg_check(const struct netns_session_cfg *cfg, char *err,
    size_t errlen)
{
	const char *why = NULL, *what = "session netns name";

	if (netns_name_valid(cfg->name, &why) == 0) {
		what = "host interface name";
		if (netns_ifname_valid(cfg->host_if, &why) == 0) {
			what = "session interface name";
			if (netns_ifname_valid(cfg->sess_if, &why) == 0)
				why = NULL;
		}
	}
	if (why != NULL) {
		snprintf(err, errlen, "%s: %s", what, why);
		return -1;
	}
	if (cfg->host_addr.family != AF_INET ||
	    cfg->sess_addr.family != AF_INET ||
	    ip_equal(&cfg->host_addr, &cfg->sess_addr)) {
		snprintf(err, errlen, "session addresses: need two distinct "
		    "IPv4 addresses");
		return -1;
	}
	return 0;
}

int
netns_session_init(struct netns_session *s, int appliance_nsfd,
    const char *name, const char *host_if, char *err, size_t errlen)
{
	const char *why = NULL;

	memset(s, 0, sizeof(*s));
	s->appliance_nsfd = -1;
	if (netns_name_valid(name, &why) == -1 ||
	    netns_ifname_valid(host_if, &why) == -1) {
		snprintf(err, errlen, "netns session: %s", why);
		return -1;
	}
	s->appliance_nsfd = appliance_nsfd;
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->host_if, sizeof(s->host_if), "%s", host_if);
	return 0;
}

int
netns_session_setup(const struct netns_session_cfg *cfg,
    struct netns_session *s, char *err, size_t errlen)
{
	struct rtnl host = { 0 }, sess = { 0 };
	char uerr[SESSION_ERR_MAX];
	int nsfd = -1, hidx, sidx, rc;

	err[0] = '\0';
	if (netns_session_init(s, cfg->appliance_nsfd, cfg->name, cfg->host_if,
	    err, errlen) == -1 || session_cfg_check(cfg, err, errlen) == -1)
		return -1;
	if ((rc = rtnl_open(&host, cfg->appliance_nsfd)) < 0) {
		snprintf(err, errlen, "open rtnetlink in the appliance netns: %s",
		    strerror(-rc));
		return -1;
	}
	if (netns_create(cfg->name, err, errlen) < 0)
		goto fail_rtnl;
	if ((nsfd = netns_open(cfg->name, err, errlen)) < 0)
		goto fail_ns;
	if (!cfg->ipv6_enabled &&
	    session_ipv6_off(nsfd, cfg->name, err, errlen) < 0)
		goto fail_ns;
	if (link_veth_create(&host, cfg->host_if, cfg->sess_if, nsfd, err,
	    errlen) < 0)
		goto fail_ns;
	if (link_index(&host, cfg->host_if, &hidx, err, errlen) < 0 ||
	    link_addr_add(&host, hidx, cfg->host_if, &cfg->host_addr,
	    NETNS_SESSION_PREFIXLEN, err, errlen) < 0 ||
	    link_up(&host, hidx, cfg->host_if, err, errlen) < 0)
		goto fail_veth;
	if ((rc = rtnl_open(&sess, nsfd)) < 0) {
		snprintf(err, errlen, "open rtnetlink in netns %s: %s",
		    cfg->name, strerror(-rc));
		goto fail_veth;
	}
	if (link_up(&sess, 0, "lo", err, errlen) < 0 ||
	    link_index(&sess, cfg->sess_if, &sidx, err, errlen) < 0 ||
	    link_addr_add(&sess, sidx, cfg->sess_if, &cfg->sess_addr,
	    NETNS_SESSION_PREFIXLEN, err, errlen) < 0 ||
	    link_up(&sess, sidx, cfg->sess_if, err, errlen) < 0 ||
	    link_route_default(&sess, sidx, cfg->sess_if, &cfg->host_addr,
	    err, errlen) < 0)
		goto fail_sess;
	rtnl_close(&sess);
	close(nsfd);
	rtnl_close(&host);
	return 0;

fail_sess:
	rtnl_close(&sess);
fail_veth:
	/* The session end goes with it. */
	if ((rc = link_delete(&host, cfg->host_if, uerr, sizeof(uerr))) < 0 &&
	    rc != -ENODEV)
		session_errcat(err, errlen, "unwind: %s", uerr);
fail_ns:
	if (nsfd >= 0)
		close(nsfd);
	if (netns_delete(cfg->name, uerr, sizeof(uerr)) < 0)
		session_errcat(err, errlen, "unwind: %s", uerr);
fail_rtnl:
	rtnl_close(&host);
	memset(s, 0, sizeof(*s));
	s->appliance_nsfd = -1;
	return -1;
}

int
netns_session_teardown(struct netns_session *s, char *err, size_t errlen)
{
	char e[SESSION_ERR_MAX];
	struct rtnl r;
	int rc, failed = 0;

	err[0] = '\0';
	if (s->name[0] == '\0')
		return 0;
	if ((rc = rtnl_open(&r, s->appliance_nsfd)) < 0) {
		session_errcat(err, errlen, "open rtnetlink in the appliance "
		    "netns: %s", strerror(-rc));
		failed = 1;
	} else {
		if ((rc = link_delete(&r, s->host_if, e, sizeof(e))) < 0 &&
		    rc != -ENODEV) {
			session_errcat(err, errlen, "%s", e);
			failed = 1;
		}
		rtnl_close(&r);
	}
	if ((rc = netns_delete(s->name, e, sizeof(e))) < 0 && rc != -ENOENT) {
		session_errcat(err, errlen, "%s", e);
		failed = 1;
	}
	return failed ? -1 : 0;
}
