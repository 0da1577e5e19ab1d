# enclave-sessiond's library; the daemon's main() arrives with the API and
# links this library like the tests do.
noinst_LIBRARIES += sessiond/libsessiond.a
sessiond_libsessiond_a_SOURCES = \
	sessiond/phase.c sessiond/phase.h \
	sessiond/sandbox.c sessiond/sandbox.h

SESSIOND_LIBS = sessiond/libsessiond.a $(LIBSECCOMP_LIBS)

# The in-sandbox result helpers, bound read-only into every sandbox.
EXTRA_DIST += sessiond/helpers
