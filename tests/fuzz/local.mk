# Every parser has a fuzz target. With --enable-fuzzing (clang) each target
# links libFuzzer; otherwise it links replay.c and replays its committed
# corpus as a TAP test, so every corpus entry also runs in `make check`.
fuzz_targets = ip hostname audit sniff
fuzz_ldadd = $(RULES_LIBS) $(PROXYD_LIBS) $(COMMON_LIBS)

EXTRA_DIST += tests/fuzz/corpus

if FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_ip tests/fuzz/fuzz_hostname \
	tests/fuzz/fuzz_audit tests/fuzz/fuzz_sniff
fuzz_cflags = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS)
fuzz_ldflags = $(AM_LDFLAGS) -fsanitize=fuzzer

tests_fuzz_fuzz_ip_SOURCES = tests/fuzz/fuzz_ip.c
tests_fuzz_fuzz_ip_CFLAGS = $(fuzz_cflags)
tests_fuzz_fuzz_ip_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_ip_LDADD = $(fuzz_ldadd)

tests_fuzz_fuzz_hostname_SOURCES = tests/fuzz/fuzz_hostname.c
tests_fuzz_fuzz_hostname_CFLAGS = $(fuzz_cflags)
tests_fuzz_fuzz_hostname_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_hostname_LDADD = $(fuzz_ldadd)

tests_fuzz_fuzz_audit_SOURCES = tests/fuzz/fuzz_audit.c
tests_fuzz_fuzz_audit_CFLAGS = $(fuzz_cflags)
tests_fuzz_fuzz_audit_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_audit_LDADD = $(fuzz_ldadd)

tests_fuzz_fuzz_sniff_SOURCES = tests/fuzz/fuzz_sniff.c
tests_fuzz_fuzz_sniff_CFLAGS = $(fuzz_cflags)
tests_fuzz_fuzz_sniff_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_sniff_LDADD = $(fuzz_ldadd)
else
replay_programs = tests/fuzz/replay_ip tests/fuzz/replay_hostname \
	tests/fuzz/replay_audit tests/fuzz/replay_sniff
check_PROGRAMS += $(replay_programs)
TESTS += $(replay_programs)
UNIT_TESTS += $(replay_programs)
replay_cflags = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS)

tests_fuzz_replay_ip_SOURCES = tests/fuzz/fuzz_ip.c tests/fuzz/replay.c
tests_fuzz_replay_ip_CPPFLAGS = $(AM_CPPFLAGS) -DCORPUS_DIR='"$(abs_top_srcdir)/tests/fuzz/corpus/ip"'
tests_fuzz_replay_ip_CFLAGS = $(replay_cflags)
tests_fuzz_replay_ip_LDADD = $(fuzz_ldadd)

tests_fuzz_replay_hostname_SOURCES = tests/fuzz/fuzz_hostname.c tests/fuzz/replay.c
tests_fuzz_replay_hostname_CPPFLAGS = $(AM_CPPFLAGS) -DCORPUS_DIR='"$(abs_top_srcdir)/tests/fuzz/corpus/hostname"'
tests_fuzz_replay_hostname_CFLAGS = $(replay_cflags)
tests_fuzz_replay_hostname_LDADD = $(fuzz_ldadd)

tests_fuzz_replay_audit_SOURCES = tests/fuzz/fuzz_audit.c tests/fuzz/replay.c
tests_fuzz_replay_audit_CPPFLAGS = $(AM_CPPFLAGS) -DCORPUS_DIR='"$(abs_top_srcdir)/tests/fuzz/corpus/audit"'
tests_fuzz_replay_audit_CFLAGS = $(replay_cflags)
tests_fuzz_replay_audit_LDADD = $(fuzz_ldadd)

tests_fuzz_replay_sniff_SOURCES = tests/fuzz/fuzz_sniff.c tests/fuzz/replay.c
tests_fuzz_replay_sniff_CPPFLAGS = $(AM_CPPFLAGS) -DCORPUS_DIR='"$(abs_top_srcdir)/tests/fuzz/corpus/sniff"'
tests_fuzz_replay_sniff_CFLAGS = $(replay_cflags)
tests_fuzz_replay_sniff_LDADD = $(fuzz_ldadd)
endif
