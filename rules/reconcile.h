/*
 * Making the kernel's table match what we want without losing a live
 * session's counters: read it, compare its structure with the one we
 * build, then either diff the elements or replace the table.
 */
#ifndef ENCLAVE_RULES_RECONCILE_H
#define ENCLAVE_RULES_RECONCILE_H

#include <stddef.h>

struct nft_sock;
struct rules_config;
struct rules_session;
struct rules_state;
struct rules_txn;

/* How a reconcile went. */
struct rules_reconcile_result {
	int replaced;		/* the table was missing or differed */
	size_t elems_added;	/* elements (not sessions) added */
	size_t elems_deleted;	/* stale elements deleted */
	char diff[160];		/* when replaced: first line that differed */
};

/*
 * Pure part of a reconcile: given the kernel's state whose structure
 * matches, add to t the deletion of every element no live session owns,
 * then the addition of every missing one; live elements stay untouched so
 * their counters survive.
 */
int rules_plan_elems(const struct rules_config *cfg,
    const struct rules_state *kernel, const struct rules_session *live,
    size_t n, struct rules_txn *t, struct rules_reconcile_result *res,
    char *err, size_t errlen);

/* Read the table, its sets with their elements, chains and rules. */
int rules_state_read(struct nft_sock *s, struct rules_state *st, char *err,
    size_t errlen);

/*
 * Make the kernel's table match cfg and the live sessions, in one
 * transaction: keep it and diff the elements when its structure is what
 * rules_state_build() makes, else replace it with the live sessions'
 * elements included. Start-up calls this, so after a crash nothing stale
 * stays and nothing live is lost.
 */
int rules_reconcile(struct nft_sock *s, const struct rules_config *cfg,
    const struct rules_session *live, size_t n,
    struct rules_reconcile_result *res, char *err, size_t errlen);

#endif /* ENCLAVE_RULES_RECONCILE_H */
