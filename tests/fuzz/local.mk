# Every parser has a fuzz target, tests/fuzz/fuzz_<name>.c, with a corpus in
# tests/fuzz/corpus/<name>/. With --enable-fuzzing (clang) each target links
# libFuzzer; otherwise it links replay.c as replay_<name>, which replays
# the committed corpus as a TAP test, so every entry runs in `make check`.
EXTRA_DIST += tests/fuzz/corpus

if FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_ip tests/fuzz/fuzz_hostname \
	tests/fuzz/fuzz_audit tests/fuzz/fuzz_sniff tests/fuzz/fuzz_nflog \
	tests/fuzz/fuzz_tls tests/fuzz/fuzz_http tests/fuzz/fuzz_config \
	tests/fuzz/fuzz_ctlmsg tests/fuzz/fuzz_dns tests/fuzz/fuzz_request \
	tests/fuzz/fuzz_sdconfig tests/fuzz/fuzz_dockerlog \
	tests/fuzz/fuzz_vmframe tests/fuzz/fuzz_inject
fuzz_ldflags = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_ip_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_hostname_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_audit_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_sniff_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_nflog_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_tls_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_http_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_config_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_ctlmsg_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_dns_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_request_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_sdconfig_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_dockerlog_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_vmframe_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_inject_LDFLAGS = $(fuzz_ldflags)
else
replay_programs = tests/fuzz/replay_ip tests/fuzz/replay_hostname \
	tests/fuzz/replay_audit tests/fuzz/replay_sniff tests/fuzz/replay_nflog \
	tests/fuzz/replay_tls tests/fuzz/replay_http tests/fuzz/replay_config \
	tests/fuzz/replay_ctlmsg tests/fuzz/replay_dns tests/fuzz/replay_request \
	tests/fuzz/replay_sdconfig tests/fuzz/replay_dockerlog \
	tests/fuzz/replay_vmframe tests/fuzz/replay_inject
check_PROGRAMS += $(replay_programs)
TESTS += $(replay_programs)
UNIT_TESTS += $(replay_programs)
tests_fuzz_replay_ip_SOURCES = tests/fuzz/fuzz_ip.c tests/fuzz/replay.c
tests_fuzz_replay_hostname_SOURCES = tests/fuzz/fuzz_hostname.c tests/fuzz/replay.c
tests_fuzz_replay_audit_SOURCES = tests/fuzz/fuzz_audit.c tests/fuzz/replay.c
tests_fuzz_replay_sniff_SOURCES = tests/fuzz/fuzz_sniff.c tests/fuzz/replay.c
tests_fuzz_replay_nflog_SOURCES = tests/fuzz/fuzz_nflog.c tests/fuzz/replay.c
tests_fuzz_replay_tls_SOURCES = tests/fuzz/fuzz_tls.c tests/fuzz/replay.c
tests_fuzz_replay_http_SOURCES = tests/fuzz/fuzz_http.c tests/fuzz/replay.c
tests_fuzz_replay_config_SOURCES = tests/fuzz/fuzz_config.c tests/fuzz/replay.c
tests_fuzz_replay_ctlmsg_SOURCES = tests/fuzz/fuzz_ctlmsg.c tests/fuzz/replay.c
tests_fuzz_replay_sdconfig_SOURCES = tests/fuzz/fuzz_sdconfig.c tests/fuzz/replay.c
tests_fuzz_replay_dockerlog_SOURCES = tests/fuzz/fuzz_dockerlog.c tests/fuzz/replay.c
tests_fuzz_replay_vmframe_SOURCES = tests/fuzz/fuzz_vmframe.c tests/fuzz/replay.c
tests_fuzz_replay_inject_SOURCES = tests/fuzz/fuzz_inject.c tests/fuzz/replay.c
tests_fuzz_replay_dns_SOURCES = tests/fuzz/fuzz_dns.c tests/fuzz/replay.c
tests_fuzz_replay_request_SOURCES = tests/fuzz/fuzz_request.c tests/fuzz/replay.c
endif
