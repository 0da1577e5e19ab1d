noinst_LIBRARIES += rules/librules.a
rules_librules_a_SOURCES = \
	rules/policy.c rules/policy.h \
	rules/nft.c rules/nft.h \
	rules/table.c rules/table.h \
	rules/txn.c rules/txn.h \
	rules/elem.c rules/elem.h \
	rules/expr.c rules/expr.h \
	rules/state.c rules/state.h \
	rules/build.c rules/build.h \
	rules/ruleset.c rules/ruleset.h \
	rules/reconcile.c rules/reconcile.h \
	rules/counters.c rules/counters.h \
	rules/nflog.c rules/nflog.h \
	rules/dump.c rules/dump.h

RULES_LIBS = rules/librules.a $(LIBNFTABLES_LIBS) $(LIBNFTNL_LIBS) $(LIBMNL_LIBS)
