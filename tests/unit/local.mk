# cmocka unit tests: one binary per module, TAP on stdout.
unit_cflags = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS)
unit_ldadd = $(COMMON_LIBS) $(CMOCKA_LIBS)

unit_programs = \
	tests/unit/test_log \
	tests/unit/test_ip \
	tests/unit/test_hostname \
	tests/unit/test_json \
	tests/unit/test_audit \
	tests/unit/test_policy \
	tests/unit/test_netns_name \
	tests/unit/test_sniff \
	tests/unit/test_phase \
	tests/unit/test_ctl

check_PROGRAMS += $(unit_programs)
TESTS += $(unit_programs)
UNIT_TESTS += $(unit_programs)

tests_unit_test_log_SOURCES = tests/unit/test_log.c
tests_unit_test_log_CFLAGS = $(unit_cflags)
tests_unit_test_log_LDADD = $(unit_ldadd)

tests_unit_test_ip_SOURCES = tests/unit/test_ip.c
tests_unit_test_ip_CFLAGS = $(unit_cflags)
tests_unit_test_ip_LDADD = $(unit_ldadd)

tests_unit_test_hostname_SOURCES = tests/unit/test_hostname.c
tests_unit_test_hostname_CFLAGS = $(unit_cflags)
tests_unit_test_hostname_LDADD = $(unit_ldadd)

tests_unit_test_json_SOURCES = tests/unit/test_json.c
tests_unit_test_json_CFLAGS = $(unit_cflags)
tests_unit_test_json_LDADD = $(unit_ldadd)

tests_unit_test_audit_SOURCES = tests/unit/test_audit.c
tests_unit_test_audit_CFLAGS = $(unit_cflags)
tests_unit_test_audit_LDADD = $(unit_ldadd)

tests_unit_test_policy_SOURCES = tests/unit/test_policy.c
tests_unit_test_policy_CFLAGS = $(unit_cflags)
tests_unit_test_policy_LDADD = $(RULES_LIBS) $(unit_ldadd)

tests_unit_test_netns_name_SOURCES = tests/unit/test_netns_name.c
tests_unit_test_netns_name_CFLAGS = $(unit_cflags)
tests_unit_test_netns_name_LDADD = $(NETNS_LIBS) $(unit_ldadd)

tests_unit_test_sniff_SOURCES = tests/unit/test_sniff.c
tests_unit_test_sniff_CFLAGS = $(unit_cflags)
tests_unit_test_sniff_LDADD = $(PROXYD_LIBS) $(unit_ldadd)

tests_unit_test_phase_SOURCES = tests/unit/test_phase.c
tests_unit_test_phase_CFLAGS = $(unit_cflags)
tests_unit_test_phase_LDADD = $(SESSIOND_LIBS) $(unit_ldadd)

tests_unit_test_ctl_SOURCES = tests/unit/test_ctl.c
tests_unit_test_ctl_CFLAGS = $(unit_cflags)
tests_unit_test_ctl_LDADD = $(CTL_LIBS) $(unit_ldadd)
