noinst_LIBRARIES += rules/librules.a
rules_librules_a_SOURCES = \
	rules/policy.c rules/policy.h

RULES_LIBS = rules/librules.a
