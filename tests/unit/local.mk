# cmocka unit tests: one binary per module (tests/unit/test_<module>.c),
# TAP on stdout. They link the global LDADD.
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
