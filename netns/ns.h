/*
 * Named network namespaces, kept as `ip netns` keeps them: a bind mount of
 * the namespace on /run/netns/NAME, so `ip netns list/exec` see ours and we
 * see theirs.
 *
 * Functions return 0 (or an fd) on success and -errno on failure; those
 * taking err/errlen also write "step NAME: strerror" there.
 */
#ifndef ENCLAVE_NETNS_NS_H
#define ENCLAVE_NETNS_NS_H

#include <stddef.h>

/* Create NAME; -EEXIST if it exists. The caller's netns never changes. */
int netns_create(const char *name, char *err, size_t errlen);

/* Unmount and remove NAME; -ENOENT (and nothing else) if it is missing. */
int netns_delete(const char *name, char *err, size_t errlen);

/* An O_RDONLY|O_CLOEXEC fd on NAME (for setns, IFLA_NET_NS_FD), or -errno. */
int netns_open(const char *name, char *err, size_t errlen);

/*
 * Move the calling thread into nsfd; *saved_fd gets an fd on the thread's
 * previous netns, for netns_leave(). Sockets opened in between stay bound
 * to nsfd's netns after leaving; /proc/sys/net opened in between is nsfd's.
 */
int netns_enter(int nsfd, int *saved_fd);

/*
 * Return to the netns netns_enter() saved and close saved_fd. A failure
 * leaves the thread in the wrong netns: the caller must treat it as fatal.
 */
int netns_leave(int saved_fd);

#endif
