/*
 * A session's network: its own named netns, joined to the appliance netns
 * by a veth pair whose session end is born inside the session netns. The
 * session's only route is a default route via the appliance end, where the
 * enforcement rules live.
 */
#ifndef ENCLAVE_NETNS_SESSION_H
#define ENCLAVE_NETNS_SESSION_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/ip.h"
#include "common/name.h"

/* Both ends of the pair get this prefix length. */
#define NETNS_SESSION_PREFIXLEN	31

struct netns_session_cfg {
	int appliance_nsfd;		/* the host side's netns; -1: ours */
	const char *name;		/* session netns name */
	const char *host_if;		/* veth end in the appliance netns */
	const char *sess_if;		/* veth end in the session netns */
	struct ip_addr host_addr;	/* /31 pair from addrpool_alloc() */
	struct ip_addr sess_addr;
	bool ipv6_enabled;
};

/* What teardown needs; appliance_nsfd is borrowed from the caller. */
struct netns_session {
	int appliance_nsfd;
	char name[NETNS_NAME_MAX + 1];
	char host_if[IF_NAMESIZE];
};

/*
 * Build the session's network. On any failure every completed step is
 * undone and err says which step failed and why, e.g.
 * "create veth e1s1h/eth0: File exists". Returns 0 or -1.
 */
int netns_session_setup(const struct netns_session_cfg *cfg,
    struct netns_session *s, char *err, size_t errlen);

/*
 * Fill s for netns_session_teardown() of a session set up by an earlier
 * process (after a restart). Returns 0, or -1 if a name is invalid.
 */
int netns_session_init(struct netns_session *s, int appliance_nsfd,
    const char *name, const char *host_if, char *err, size_t errlen);

/*
 * Remove the veth pair (deleting the host end deletes its peer) and the
 * netns. Pieces already gone are fine; other failures are reported in err
 * and the remaining pieces are still removed. Returns 0 or -1.
 */
int netns_session_teardown(struct netns_session *s, char *err,
    size_t errlen);

#endif
