# enclave-proxyd's library; the daemon's main() links it like the tests do.
noinst_LIBRARIES += proxyd/libproxyd.a
proxyd_libproxyd_a_SOURCES = \
	proxyd/sniff.c proxyd/sniff.h \
	proxyd/resolved.c proxyd/resolved.h \
	proxyd/decide.c proxyd/decide.h \
	proxyd/resolve.c proxyd/resolve.h

PROXYD_LIBS = proxyd/libproxyd.a $(CARES_LIBS) $(LIBEVENT_OPENSSL_LIBS) \
	$(LIBEVENT_EXTRA_LIBS) $(LIBEVENT_LIBS)
