/*
 * The table we want, as libnftnl objects: its sets (without elements),
 * chains and rules for one config. Pure: nothing here touches a socket.
 */
#ifndef ENCLAVE_RULES_BUILD_H
#define ENCLAVE_RULES_BUILD_H

#include <stddef.h>

struct rules_config;
struct rules_state;

int rules_state_build(const struct rules_config *cfg, struct rules_state *st,
    char *err, size_t errlen);

#endif /* ENCLAVE_RULES_BUILD_H */
