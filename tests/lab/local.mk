# Lab integration tests: real namespaces, dnsmasq and nginx. They need
# root and print a TAP SKIP with the reason otherwise. The *-tool programs
# drive the C libraries from the shell tests.
lab_tests = \
	tests/lab/hostile.sh \
	tests/lab/load.sh \
	tests/lab/proxyd.sh \
	tests/lab/smoke.sh \
	tests/lab/services.sh \
	tests/lab/netns.sh \
	tests/lab/rules.sh \
	tests/lab/nflog.sh \
	tests/lab/dump.sh \
	tests/lab/sandbox.sh \
	tests/lab/sessiond.sh \
	tests/lab/parity.sh \
	tests/lab/docker.sh \
	tests/lab/microvm.sh \
	tests/lab/intercept.sh \
	tests/lab/bindings.sh \
	tests/lab/faults.sh \
	tests/lab/dnsfaults.sh \
	tests/lab/hostile-flood.sh \
	tests/lab/integrity.sh
TESTS += $(lab_tests)
check_PROGRAMS += tests/lab/netns-tool tests/lab/rules-tool tests/lab/nflog-tool \
	tests/lab/sandbox-tool
tests_lab_netns_tool_SOURCES = tests/lab/netns_tool.c
tests_lab_rules_tool_SOURCES = tests/lab/rules_tool.c
tests_lab_nflog_tool_SOURCES = tests/lab/nflog_tool.c
tests_lab_sandbox_tool_SOURCES = tests/lab/sandbox_tool.c
EXTRA_DIST += $(lab_tests) tests/lab/lib.sh tests/lab/README.md tests/lab/golden \
	tests/lab/hostile
