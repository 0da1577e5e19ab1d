#ifndef ENCLAVE_PROXYD_LISTEN_H
#define ENCLAVE_PROXYD_LISTEN_H

#include <stddef.h>

#include "proxyd/ctlmsg.h"

/*
 * A socket bound to ep with SO_REUSEPORT, so every worker binds the same
 * address and the kernel spreads the load; IPv6 sockets are v6-only.
 * type is SOCK_STREAM (also listened on) or SOCK_DGRAM. what names it in
 * errors ("listen", "dns listen"). Returns the fd, or -1 with err set.
 */
int listen_socket(const struct ctl_endpoint *ep, int type, const char *what,
    char *err, size_t errlen);

#endif
