# cmocka unit tests: one binary per module (tests/unit/test_<module>.c),
# TAP on stdout. They link the global LDADD.
unit_programs = \
	tests/unit/test_log \
	tests/unit/test_clock \
	tests/unit/test_err \
	tests/unit/test_ip \
	tests/unit/test_hostname \
	tests/unit/test_json \
	tests/unit/test_audit \
	tests/unit/test_policy \
	tests/unit/test_ruleset \
	tests/unit/test_nflog \
	tests/unit/test_addrpool \
	tests/unit/test_rtnl \
	tests/unit/test_name \
	tests/unit/test_sniff \
	tests/unit/test_decide \
	tests/unit/test_resolve \
	tests/unit/test_tls \
	tests/unit/test_sessions \
	tests/unit/test_relay \
	tests/unit/test_httpflow \
	tests/unit/test_events \
	tests/unit/test_metrics \
	tests/unit/test_dns \
	tests/unit/test_ctlmsg \
	tests/unit/test_config \
	tests/unit/test_http \
	tests/unit/test_phase \
	tests/unit/test_request \
	tests/unit/test_sdconfig \
	tests/unit/test_proxyc \
	tests/unit/test_session \
	tests/unit/test_dockerapi \
	tests/unit/test_oci_bundle \
	tests/unit/test_vmframe \
	tests/unit/test_fault \
	tests/unit/test_fcapi \
	tests/unit/test_mint \
	tests/unit/test_intercept \
	tests/unit/test_httpc \
	tests/unit/test_ctl_api \
	tests/unit/test_ctl

check_PROGRAMS += $(unit_programs)
TESTS += $(unit_programs)
UNIT_TESTS += $(unit_programs)
EXTRA_DIST += tests/unit/golden
# libresolv parses the DNS builder's output: an independent check.
tests_unit_test_dns_LDADD = $(LDADD) -lresolv
# The socket-level tests share loopback pairs and a byte pattern.
tests_unit_test_relay_SOURCES = tests/unit/test_relay.c tests/unit/socktest.c \
	tests/unit/socktest.h
tests_unit_test_httpflow_SOURCES = tests/unit/test_httpflow.c \
	tests/unit/socktest.c tests/unit/socktest.h
