#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "common/err.h"
#include "common/name.h"
#include "rules/table.h"

int
rules_config_check(const struct rules_config *cfg, char *err, size_t errlen)
{
	if (cfg->tproxy_port == 0 || cfg->dns_port == 0 ||
	    cfg->tproxy_port == cfg->dns_port) {
		err_set(err, errlen, "config: proxy ports must be non-zero "
		    "and distinct (tproxy %u, dns %u)", cfg->tproxy_port,
		    cfg->dns_port);
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int
rules_session_check(const struct rules_config *cfg,
    const struct rules_session *s, char *err, size_t errlen)
{
	const char *why = NULL;

	if (memchr(s->ifname, '\0', sizeof(s->ifname)) == NULL ||
	    netns_ifname_valid(s->ifname, &why) == -1) {
		err_set(err, errlen, "session interface: %s",
		    why != NULL ? why : "not terminated");
		goto invalid;
	}
	if (s->mark == 0) {
		err_set(err, errlen, "session %s: mark must not be 0",
		    s->ifname);
		goto invalid;
	}
	if (s->src4.family != AF_INET) {
		err_set(err, errlen, "session %s: source address must be IPv4",
		    s->ifname);
		goto invalid;
	}
	if (s->src6.family != 0 &&
	    (s->src6.family != AF_INET6 || !cfg->ipv6)) {
		err_set(err, errlen, "session %s: %s", s->ifname,
		    cfg->ipv6 ? "second source address must be IPv6" :
		    "IPv6 address given but IPv6 is disabled");
		goto invalid;
	}
	return 0;
invalid:
	errno = EINVAL;
	return -1;
}

int
rules_sessions_check(const struct rules_config *cfg,
    const struct rules_session *live, size_t n, char *err, size_t errlen)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		if (rules_session_check(cfg, &live[i], err, errlen) == -1)
			return -1;
		for (j = 0; j < i; j++) {
			const struct rules_session *a = &live[i], *b = &live[j];

			if (strcmp(a->ifname, b->ifname) == 0 ||
			    a->mark == b->mark ||
			    ip_equal(&a->src4, &b->src4) ||
			    (a->src6.family != 0 &&
			    ip_equal(&a->src6, &b->src6))) {
				err_set(err, errlen, "sessions %s and %s share "
				    "an interface, mark or address",
				    b->ifname, a->ifname);
				errno = EINVAL;
				return -1;
			}
		}
	}
	return 0;
}
