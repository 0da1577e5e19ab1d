# enclave-proxyd's library; the daemon's main() links it like the tests do.
noinst_LIBRARIES += proxyd/libproxyd.a
proxyd_libproxyd_a_SOURCES = \
	proxyd/sniff.c proxyd/sniff.h \
	proxyd/resolved.c proxyd/resolved.h \
	proxyd/decide.c proxyd/decide.h \
	proxyd/resolve.c proxyd/resolve.h \
	proxyd/tls.c proxyd/tls.h \
	proxyd/sessions.c proxyd/sessions.h \
	proxyd/relay.c proxyd/relay.h \
	proxyd/events.c proxyd/events.h \
	proxyd/ctlmsg.c proxyd/ctlmsg.h \
	proxyd/config.c proxyd/config.h \
	proxyd/http.c proxyd/http.h \
	proxyd/httpflow.c proxyd/httpflow.h \
	proxyd/server.c proxyd/server.h \
	proxyd/conn.c proxyd/conn.h \
	proxyd/listen.c proxyd/listen.h \
	proxyd/worker.c proxyd/worker.h \
	proxyd/control.c proxyd/control.h \
	proxyd/metrics.c proxyd/metrics.h \
	proxyd/dns.c proxyd/dns.h \
	proxyd/dnsserver.c proxyd/dnsserver.h \
	proxyd/mint.c proxyd/mint.h \
	proxyd/inject.c proxyd/inject.h \
	proxyd/intercept.c proxyd/intercept.h \
	proxyd/daemon.c proxyd/daemon.h

PROXYD_LIBS = proxyd/libproxyd.a $(CARES_LIBS) $(LIBEVENT_OPENSSL_LIBS) \
	$(LIBEVENT_EXTRA_LIBS) $(LIBEVENT_PTHREADS_LIBS) $(LIBEVENT_LIBS)

sbin_PROGRAMS += proxyd/enclave-proxyd
proxyd_enclave_proxyd_SOURCES = proxyd/main.c
proxyd_enclave_proxyd_LDADD = $(PROXYD_LIBS) $(RULES_LIBS) $(COMMON_LIBS)
