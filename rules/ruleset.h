/*
 * The transactions sessiond's rules come down to: replace the whole table
 * (start-up, or a reconcile that found it wrong), and add or delete one
 * session. Each adds messages to a struct rules_txn; nft_send() commits it.
 * See rules/table.h for the table itself.
 */
#ifndef ENCLAVE_RULES_RULESET_H
#define ENCLAVE_RULES_RULESET_H

#include <stddef.h>

struct rules_config;
struct rules_session;
struct rules_txn;

/*
 * Replace the table in one transaction: add table (idempotent), delete it,
 * then add table, sets, chains, rules, and the elements of the n live
 * sessions. Whatever was there before, the result is exactly what we build.
 */
int rules_build_table(const struct rules_config *cfg,
    const struct rules_session *live, size_t n, struct rules_txn *t,
    char *err, size_t errlen);
/* Add (or delete) exactly one session's elements; nothing else. Adding
 * fails if any of its keys (interface, address) is already there. */
int rules_session_add(const struct rules_config *cfg,
    const struct rules_session *s, struct rules_txn *t, char *err,
    size_t errlen);
int rules_session_del(const struct rules_config *cfg,
    const struct rules_session *s, struct rules_txn *t, char *err,
    size_t errlen);

#endif /* ENCLAVE_RULES_RULESET_H */
