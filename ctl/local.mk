noinst_LIBRARIES += ctl/libctl.a
ctl_libctl_a_SOURCES = \
	ctl/ctl.c ctl/ctl.h \
	ctl/api.c ctl/api.h \
	ctl/cmd_session.c \
	ctl/lab.c \
	ctl/demo.c ctl/demo.h
# The lab script and the daemons of this build tree: enclavectl is run from
# where it was built, never installed, so the source tree's script is the
# one (ENCLAVE_LAB_SCRIPT overrides it).
ctl_libctl_a_CPPFLAGS = $(AM_CPPFLAGS) \
	-DENCLAVE_LAB_SCRIPT_PATH='"$(abs_top_srcdir)/ctl/enclave-lab"' \
	-DENCLAVE_BUILDDIR='"$(abs_top_builddir)"'

CTL_LIBS = ctl/libctl.a

bin_PROGRAMS += ctl/enclavectl
ctl_enclavectl_SOURCES = ctl/main.c
ctl_enclavectl_LDADD = $(CTL_LIBS) $(RULES_LIBS) $(NETNS_LIBS) $(COMMON_LIBS)
EXTRA_DIST += ctl/enclave-lab contrib/enclave-proxyd.service \
	contrib/enclave-sessiond.service
