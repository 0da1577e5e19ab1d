noinst_LIBRARIES += rules/librules.a
rules_librules_a_SOURCES = \
	rules/policy.c rules/policy.h \
	rules/nft.c rules/nft.h \
	rules/ruleset.c rules/ruleset.h \
	rules/nflog.c rules/nflog.h \
	rules/dump.c rules/dump.h

RULES_LIBS = rules/librules.a $(LIBNFTABLES_LIBS) $(LIBNFTNL_LIBS) $(LIBMNL_LIBS)
