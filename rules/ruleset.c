#include <errno.h>
#include <string.h>

#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>

#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "common/err.h"
#include "rules/build.h"
#include "rules/elem.h"
#include "rules/ruleset.h"
#include "rules/state.h"
#include "rules/table.h"
#include "rules/txn.h"

static int
session_emit(const struct rules_config *cfg, const struct rules_session *s,
    struct rules_txn *t, uint16_t type, char *err, size_t errlen)
{
	struct elem_bytes e;
	int i;

	if (rules_session_check(cfg, s, err, errlen) == -1)
		return -1;
	for (i = 0; i < SI_COUNT; i++) {
		if (!elem_set_used(cfg, i) || !elem_of_session(s, i, &e))
			continue;
		if (elem_emit(t, i, type, &e, 1) == -1) {
			err_set(err, errlen, "session %s: build %s: %s",
			    s->ifname, elem_set_name[i], strerror(errno));
			return -1;
		}
	}
	return 0;
}

int
rules_session_add(const struct rules_config *cfg,
    const struct rules_session *s, struct rules_txn *t, char *err,
    size_t errlen)
{
	return session_emit(cfg, s, t, NFT_MSG_NEWSETELEM, err, errlen);
}

int
rules_session_del(const struct rules_config *cfg,
    const struct rules_session *s, struct rules_txn *t, char *err,
    size_t errlen)
{
	return session_emit(cfg, s, t, NFT_MSG_DELSETELEM, err, errlen);
}

/* Emitting a built state: one message per object, rules numbered per
 * chain for error reports. */
struct emit_ctx {
	struct rules_txn *t;
	const char *chain;	/* for rule numbering */
	unsigned int nth;
};

static int
emit_set(struct nftnl_set *s, void *arg)
{
	struct emit_ctx *ec = arg;
	const char *name = nftnl_set_get_str(s, NFTNL_SET_NAME);
	struct nlmsghdr *nlh;

	nlh = rules_txn_msg(ec->t, NFT_MSG_NEWSET, NLM_F_CREATE, "add set %s",
	    name);
	if (nlh == NULL)
		return -1;
	nftnl_set_nlmsg_build_payload(nlh, s);
	if (rules_txn_commit(ec->t) == -1)
		return -1;
	if (nftnl_set_get_u32(s, NFTNL_SET_FLAGS) & NFT_SET_ANONYMOUS) {
		nlh = rules_txn_msg(ec->t, NFT_MSG_NEWSETELEM, NLM_F_CREATE,
		    "add elements %s", name);
		if (nlh == NULL)
			return -1;
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
		if (rules_txn_commit(ec->t) == -1)
			return -1;
	}
	return 0;
}

static int
emit_chain(struct nftnl_chain *c, void *arg)
{
	struct emit_ctx *ec = arg;
	struct nlmsghdr *nlh;

	nlh = rules_txn_msg(ec->t, NFT_MSG_NEWCHAIN, NLM_F_CREATE,
	    "add chain %s", nftnl_chain_get_str(c, NFTNL_CHAIN_NAME));
	if (nlh == NULL)
		return -1;
	nftnl_chain_nlmsg_build_payload(nlh, c);
	return rules_txn_commit(ec->t);
}

static int
emit_rule(struct nftnl_rule *r, void *arg)
{
	struct emit_ctx *ec = arg;
	const char *chain = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN);
	struct nlmsghdr *nlh;

	if (ec->chain == NULL || strcmp(ec->chain, chain) != 0) {
		ec->chain = chain;
		ec->nth = 0;
	}
	ec->nth++;
	nlh = rules_txn_msg(ec->t, NFT_MSG_NEWRULE,
	    NLM_F_CREATE | NLM_F_APPEND, "add rule %s #%u", chain, ec->nth);
	if (nlh == NULL)
		return -1;
	nftnl_rule_nlmsg_build_payload(nlh, r);
	return rules_txn_commit(ec->t);
}

static int
emit_table(struct rules_txn *t, const struct nftnl_table *table,
    uint16_t type, const char *verb)
{
	struct nlmsghdr *nlh;

	nlh = rules_txn_msg(t, type,
	    type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0, "%s table %s", verb,
	    RULES_TABLE);
	if (nlh == NULL)
		return -1;
	nftnl_table_nlmsg_build_payload(nlh, table);
	return rules_txn_commit(t);
}

int
rules_build_table(const struct rules_config *cfg,
    const struct rules_session *live, size_t n, struct rules_txn *t,
    char *err, size_t errlen)
{
	struct rules_state st;
	struct emit_ctx ec = { .t = t };
	int r = -1;

	if (rules_sessions_check(cfg, live, n, err, errlen) == -1)
		return -1;
	if (rules_state_build(cfg, &st, err, errlen) == -1)
		return -1;
	/* add (so delete cannot fail on a missing table), delete, add: a
	 * replace in one transaction. */
	if (emit_table(t, st.table, NFT_MSG_NEWTABLE, "add") == -1 ||
	    emit_table(t, st.table, NFT_MSG_DELTABLE, "delete") == -1 ||
	    emit_table(t, st.table, NFT_MSG_NEWTABLE, "add") == -1 ||
	    nftnl_set_list_foreach(st.sets, emit_set, &ec) == -1 ||
	    nftnl_chain_list_foreach(st.chains, emit_chain, &ec) == -1 ||
	    nftnl_rule_list_foreach(st.rules, emit_rule, &ec) == -1 ||
	    elem_emit_live(cfg, live, n, t) == -1) {
		err_set(err, errlen, "build table: %s", strerror(errno));
		goto out;
	}
	r = 0;
out:
	rules_state_free(&st);
	return r;
}
