# enclave-sessiond's library; the daemon's main() arrives with the API and
# links this library like the tests do.
noinst_LIBRARIES += sessiond/libsessiond.a
sessiond_libsessiond_a_SOURCES = \
	sessiond/phase.c sessiond/phase.h \
	sessiond/request.c sessiond/request.h \
	sessiond/sandbox.c sessiond/sandbox.h \
	sessiond/sandbox_cgroup.c sessiond/sandbox_cgroup.h \
	sessiond/sandbox_child.c sessiond/sandbox_child.h \
	sessiond/sandbox_plan.c sessiond/sandbox_plan.h \
	sessiond/sandbox_seccomp.c sessiond/sandbox_seccomp.h \
	sessiond/sandbox_spec.h

SESSIOND_LIBS = sessiond/libsessiond.a $(LIBSECCOMP_LIBS)

# The in-sandbox result helpers, bound read-only into every sandbox.
EXTRA_DIST += sessiond/helpers
