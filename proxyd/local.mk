# enclave-proxyd's library; the daemon's main() arrives with the proxy
# itself (issue 4), and links this library like the tests do.
noinst_LIBRARIES += proxyd/libproxyd.a
proxyd_libproxyd_a_SOURCES = \
	proxyd/sniff.c proxyd/sniff.h

PROXYD_LIBS = proxyd/libproxyd.a
