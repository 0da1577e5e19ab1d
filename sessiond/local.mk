# enclave-sessiond's library; the daemon's main() links it like the tests do.
noinst_LIBRARIES += sessiond/libsessiond.a
sessiond_libsessiond_a_SOURCES = \
	sessiond/fault.c sessiond/fault.h \
	sessiond/phase.c sessiond/phase.h \
	sessiond/request.c sessiond/request.h \
	sessiond/sandbox.c sessiond/sandbox.h \
	sessiond/sandbox_cgroup.c sessiond/sandbox_cgroup.h \
	sessiond/sandbox_child.c sessiond/sandbox_child.h \
	sessiond/sandbox_plan.c sessiond/sandbox_plan.h \
	sessiond/sandbox_seccomp.c sessiond/sandbox_seccomp.h \
	sessiond/sandbox_spec.h \
	sessiond/sdconfig.c sessiond/sdconfig.h \
	sessiond/proxyc.c sessiond/proxyc.h \
	sessiond/backend.c sessiond/backend.h \
	sessiond/backends/namespace.c \
	sessiond/oci_bundle.c sessiond/oci_bundle.h \
	sessiond/backends/oci.c \
	sessiond/dockerapi.c sessiond/dockerapi.h \
	sessiond/backends/docker.c \
	sessiond/vmframe.c sessiond/vmframe.h \
	sessiond/vmrun.c sessiond/vmrun.h \
	sessiond/backends/microvm.c \
	sessiond/fcapi.c sessiond/fcapi.h \
	sessiond/backends/firecracker.c \
	sessiond/session.c sessiond/session.h \
	sessiond/sessiond.h \
	sessiond/api.c sessiond/api.h \
	sessiond/reconcile.c sessiond/reconcile.h \
	sessiond/daemon.c sessiond/daemon.h

SESSIOND_LIBS = sessiond/libsessiond.a $(LIBSECCOMP_LIBS)

sbin_PROGRAMS += sessiond/enclave-sessiond
sessiond_enclave_sessiond_SOURCES = sessiond/main.c
# The helpers the sandbox binds at /opt/enclave, unless the config names
# another directory: the source tree's, for a build that is not installed.
sessiond_enclave_sessiond_CPPFLAGS = $(AM_CPPFLAGS) \
	-DENCLAVE_HELPERS_DIR='"$(abs_top_srcdir)/sessiond/helpers"'
sessiond_enclave_sessiond_LDADD = $(SESSIOND_LIBS) $(PROXYD_LIBS) \
	$(RULES_LIBS) $(NETNS_LIBS) $(COMMON_LIBS)

# The in-sandbox result helpers, bound read-only into every sandbox.
EXTRA_DIST += sessiond/helpers
EXTRA_DIST += contrib/sessiond.conf.example
EXTRA_DIST += contrib/microvm-image contrib/microvm-init.c
