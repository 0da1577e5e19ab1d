#ifndef ENCLAVE_COMMON_NAME_H
#define ENCLAVE_COMMON_NAME_H

#include <stddef.h>

/*
 * Names of the kernel objects Enclave creates, network namespaces and
 * interfaces; shared by netns/ (which creates them) and rules/ (which
 * names interfaces in nft sets).
 */

/* Named namespaces are bind mounts here, as `ip netns` keeps them. */
#define NETNS_RUN_DIR "/run/netns"
#define NETNS_NAME_MAX 64
/* Linux interface names: IFNAMSIZ (16) including the NUL. */
#define NETNS_IFNAME_MAX 15

int netns_name_valid(const char *name, const char **why);
int netns_path(const char *name, char *buf, size_t len, const char **why);
int netns_ifname_valid(const char *name, const char **why);

#endif
