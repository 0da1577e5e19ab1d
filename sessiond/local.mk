# enclave-sessiond's library; the daemon's main() arrives with the API
# (issue 6), and links this library like the tests do.
noinst_LIBRARIES += sessiond/libsessiond.a
sessiond_libsessiond_a_SOURCES = \
	sessiond/phase.c sessiond/phase.h

SESSIOND_LIBS = sessiond/libsessiond.a
