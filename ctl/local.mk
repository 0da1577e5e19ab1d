noinst_LIBRARIES += ctl/libctl.a
ctl_libctl_a_SOURCES = \
	ctl/ctl.c ctl/ctl.h

CTL_LIBS = ctl/libctl.a

bin_PROGRAMS += ctl/enclavectl
ctl_enclavectl_SOURCES = ctl/main.c
ctl_enclavectl_LDADD = $(CTL_LIBS) $(RULES_LIBS) $(NETNS_LIBS) $(COMMON_LIBS)
