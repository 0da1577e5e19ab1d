# Lab integration tests: real namespaces, dnsmasq and nginx. They need
# root and print a TAP SKIP with the reason otherwise.
lab_tests = tests/lab/smoke.sh
TESTS += $(lab_tests)
EXTRA_DIST += $(lab_tests) tests/lab/lib.sh tests/lab/README.md
