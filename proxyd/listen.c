#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxyd/listen.h"

int
listen_socket(const struct ctl_endpoint *ep, int type, const char *what,
    char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	char txt[CTL_ENDPOINT_STRLEN];
	socklen_t sl;
	int fd, one = 1;

	ctl_endpoint_format(ep, txt, sizeof(txt));
	if ((sl = ip_to_sockaddr(&ep->addr, ep->port, &ss)) == 0) {
		snprintf(err, errlen, "%s %s: %s", what, txt, strerror(errno));
		return -1;
	}
	fd = socket(ep->addr.family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "%s %s: socket: %s", what, txt, strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1 ||
	    (ep->addr.family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) == -1) ||
	    bind(fd, (struct sockaddr *)&ss, sl) == -1 ||
	    (type == SOCK_STREAM && listen(fd, 1024) == -1)) {
		snprintf(err, errlen, "%s %s: %s", what, txt, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}
