/*
 * The table as a set of libnftnl objects: what the kernel holds
 * (rules_state_read, reconcile.h) or what we would build
 * (rules_state_build, build.h); and its structure as text, so the two can
 * be compared.
 */
#ifndef ENCLAVE_RULES_STATE_H
#define ENCLAVE_RULES_STATE_H

#include <stddef.h>
#include <stdint.h>

struct nftnl_table;
struct nftnl_chain_list;
struct nftnl_rule_list;
struct nftnl_set;
struct nftnl_set_list;

/* table is NULL when there is no table. Each set object in sets carries
 * its elements. */
struct rules_state {
	struct nftnl_table *table;
	struct nftnl_chain_list *chains;
	struct nftnl_rule_list *rules;
	struct nftnl_set_list *sets;
};

void rules_state_free(struct rules_state *st);

/*
 * The set named name; for an anonymous set's name ("__set%d"), the one
 * whose id is id. NULL when there is none.
 */
struct nftnl_set *rules_state_set(const struct rules_state *st,
    const char *name, uint32_t id);

/*
 * The structure of a state as text, one line per object: table flags; each
 * named set's definition (flags, key and data type and length,
 * expressions), sorted by name; each chain's hook, priority, type and
 * policy followed by its rules in order, every rule as its expressions'
 * text. Anonymous sets appear inside the rule that uses them, as their
 * elements. Named sets' elements, handles, counter values and user data
 * are left out: they are not structure. Two states have the same structure
 * exactly when these texts are equal. *out is malloc'd.
 */
int rules_state_text(const struct rules_state *st, char **out, char *err,
    size_t errlen);

#endif /* ENCLAVE_RULES_STATE_H */
