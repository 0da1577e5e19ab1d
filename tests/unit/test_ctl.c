#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/audit.h"
#include "ctl/ctl.h"

struct fixture {
	char dir[64];
	char log[128];
	FILE *out;
	FILE *err;
	char outbuf[4096];
	char errbuf[4096];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->dir, "/tmp/enclave-test-ctl.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->log, sizeof(f->log), "%s/audit.log", f->dir);
	assert_non_null(f->out = tmpfile());
	assert_non_null(f->err = tmpfile());
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	fclose(f->out);
	fclose(f->err);
	unlink(f->log);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void
slurp(FILE *fp, char *buf, size_t len)
{
	size_t n;

	fflush(fp);
	rewind(fp);
	n = fread(buf, 1, len - 1, fp);
	buf[n] = '\0';
}

/* Runs the CLI in-process and captures what it printed. */
static int
run(struct fixture *f, int argc, const char **argv)
{
	int rc;

	rewind(f->out);
	rewind(f->err);
	assert_int_equal(ftruncate(fileno(f->out), 0), 0);
	assert_int_equal(ftruncate(fileno(f->err), 0), 0);
	rc = ctl_main(argc, (char **)argv, f->out, f->err);
	slurp(f->out, f->outbuf, sizeof(f->outbuf));
	slurp(f->err, f->errbuf, sizeof(f->errbuf));
	return rc;
}

static void
write_log(const char *path, int events)
{
	char err[256];
	struct audit_log *log = audit_open(path, err, sizeof(err));
	int i;

	assert_non_null(log);
	for (i = 0; i < events; i++)
		assert_int_equal(audit_append(log, "ses_1", "default",
		    i == 0 ? "session_created" : "egress_denied", NULL, NULL), 0);
	assert_int_equal(audit_flush(log), 0);
	audit_close(log);
}

static void
test_usage_and_version(void **state)
{
	struct fixture *f = *state;
	const char *none[] = { "enclavectl", NULL };
	const char *ver[] = { "enclavectl", "version", NULL };
	const char *help[] = { "enclavectl", "help", NULL };
	const char *bogus[] = { "enclavectl", "frobnicate", NULL };
	const char *half[] = { "enclavectl", "audit", NULL };
	const char *extra[] = { "enclavectl", "audit", "verify", "a", "b", NULL };

	assert_int_equal(run(f, 1, none), CTL_EXIT_USAGE);
	assert_non_null(strstr(f->errbuf, "usage:"));
	assert_int_equal(run(f, 2, ver), CTL_EXIT_OK);
	assert_non_null(strstr(f->outbuf, "enclavectl "));
	assert_int_equal(run(f, 2, help), CTL_EXIT_OK);
	assert_non_null(strstr(f->outbuf, "audit verify FILE"));
	assert_int_equal(run(f, 2, bogus), CTL_EXIT_USAGE);
	assert_non_null(strstr(f->errbuf, "unknown command \"frobnicate\""));
	assert_int_equal(run(f, 2, half), CTL_EXIT_USAGE);
	assert_int_equal(run(f, 5, extra), CTL_EXIT_USAGE);
}

static void
test_rules_usage_errors(void **state)
{
	struct fixture *f = *state;
	const char *bare[] = { "enclavectl", "rules", NULL };
	const char *bogus[] = { "enclavectl", "rules", "dump", "--yaml", NULL };
	const char *noname[] = { "enclavectl", "rules", "dump", "--netns", NULL };
	const char *badname[] = { "enclavectl", "rules", "dump", "--netns", "../etc", NULL };
	const char *missing[] = { "enclavectl", "rules", "dump", "--netns",
		"enclave-test-no-such-netns", NULL };

	assert_int_equal(run(f, 2, bare), CTL_EXIT_USAGE);
	assert_non_null(strstr(f->errbuf, "rules dump"));
	assert_int_equal(run(f, 4, bogus), CTL_EXIT_USAGE);
	assert_int_equal(run(f, 4, noname), CTL_EXIT_USAGE);
	assert_int_equal(run(f, 5, badname), CTL_EXIT_USAGE);
	assert_non_null(strstr(f->errbuf, "../etc"));
	assert_int_equal(run(f, 5, missing), CTL_EXIT_USAGE);
	assert_non_null(strstr(f->errbuf, "enclave-test-no-such-netns"));
}

static void
test_verify_intact(void **state)
{
	struct fixture *f = *state;
	const char *argv[] = { "enclavectl", "audit", "verify", f->log, NULL };

	write_log(f->log, 3);
	assert_int_equal(run(f, 4, argv), CTL_EXIT_OK);
	assert_non_null(strstr(f->outbuf, "3 events, chain intact (last seq 3"));
}

static void
test_verify_damaged_names_line(void **state)
{
	struct fixture *f = *state;
	const char *argv[] = { "enclavectl", "audit", "verify", f->log, NULL };
	FILE *fp;
	char buf[8192], *p;
	size_t n;

	write_log(f->log, 3);
	/* Change the second event's type without fixing its hash. */
	assert_non_null(fp = fopen(f->log, "r+"));
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	p = strchr(buf, '\n') + 1;
	p = strstr(p, "egress_denied");
	assert_non_null(p);
	memcpy(p, "egress_allowd", 13);
	rewind(fp);
	assert_int_equal(fwrite(buf, 1, n, fp), n);
	fclose(fp);

	assert_int_equal(run(f, 4, argv), CTL_EXIT_FAIL);
	assert_non_null(strstr(f->outbuf, "DAMAGED: line 2"));
	assert_non_null(strstr(f->outbuf, "1 good events"));
}

static void
test_verify_torn_last_line(void **state)
{
	struct fixture *f = *state;
	const char *argv[] = { "enclavectl", "audit", "verify", f->log, NULL };
	FILE *fp;

	write_log(f->log, 2);
	assert_non_null(fp = fopen(f->log, "a"));
	fputs("{\"seq\":3,\"ts\":\"2026-", fp);
	fclose(fp);
	assert_int_equal(run(f, 4, argv), CTL_EXIT_FAIL);
	assert_non_null(strstr(f->outbuf, "line 3"));
	assert_non_null(strstr(f->outbuf, "torn"));
}

static void
test_verify_missing_file(void **state)
{
	struct fixture *f = *state;
	const char *argv[] = { "enclavectl", "audit", "verify",
		"/nonexistent/enclave/audit.log", NULL };

	assert_int_equal(run(f, 4, argv), CTL_EXIT_USAGE);
	assert_non_null(strstr(f->errbuf, "/nonexistent/enclave/audit.log"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_usage_and_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rules_usage_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_intact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_damaged_names_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_torn_last_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_missing_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
