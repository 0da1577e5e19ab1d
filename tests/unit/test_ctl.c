#include <config.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <setjmp.h>
#include <signal.h>
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
	char outbuf[16384];
	char errbuf[16384];
	char sock[128];
	pid_t server;
};

/* The environment enclavectl reads; a test sets what it needs. */
static const char *const ctl_env[] = {
	"ENCLAVE_SOCKET", "ENCLAVE_URL", "ENCLAVE_API_KEY", "ENCLAVE_LAB_SCRIPT",
	"ENCLAVE_BUILDDIR", "ENCLAVE_PARITY_BASE_URLS", "ENCLAVE_PARITY_API_KEYS",
	"ENCLAVE_BASE_URL", "ENCLAVE_BACKEND", "ENCLAVE_EVIDENCE_DIR", "NO_COLOR",
	NULL
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	size_t i;

	assert_non_null(f);
	strcpy(f->dir, "/tmp/enclave-test-ctl.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->log, sizeof(f->log), "%s/audit.log", f->dir);
	assert_non_null(f->out = tmpfile());
	assert_non_null(f->err = tmpfile());
	snprintf(f->sock, sizeof(f->sock), "%s/s.sock", f->dir);
	f->server = -1;
	for (i = 0; ctl_env[i] != NULL; i++)
		unsetenv(ctl_env[i]);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	char cmd[256];

	if (f->server > 0) {
		kill(f->server, SIGKILL);
		waitpid(f->server, NULL, 0);
	}
	fclose(f->out);
	fclose(f->err);
	unlink(f->log);
	unlink(f->sock);
	/* Tests leave scripts and evidence here; the dir is ours alone. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
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


/* A canned answer for requests whose first line starts with match. */
struct route {
	const char *match;
	const char *reply;
};

/* Builds "HTTP/1.1 <status>" with a JSON body and its length. */
static char *
reply_json(int status, const char *body)
{
	char *r;

	assert_true(asprintf(&r, "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", status,
	    strlen(body), body) > 0);
	return r;
}

/*
 * A sessiond stand-in in a child process on f->sock: answers each
 * connection from routes (404 JSON otherwise), one request per connection,
 * until killed in teardown.
 */
static void
serve(struct fixture *f, const struct route *routes)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	static const char nf[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 51\r\n\r\n"
	    "{\"error\":{\"code\":\"not_found\",\"message\":\"no route\"}}";
	int lfd, cfd;

	strcpy(sun.sun_path, f->sock);
	assert_true((lfd = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(lfd, 8), 0);
	fflush(NULL);
	assert_true((f->server = fork()) >= 0);
	if (f->server > 0) {
		close(lfd);
		return;
	}
	for (;;) {
		char buf[65536], *end, *cl;
		const char *reply = nf;
		size_t have = 0, need;
		ssize_t n;
		int i;

		if ((cfd = accept(lfd, NULL, NULL)) < 0)
			_exit(1);
		while (have < sizeof(buf) - 1 &&
		    (n = read(cfd, buf + have, sizeof(buf) - 1 - have)) > 0) {
			have += (size_t)n;
			buf[have] = '\0';
			if ((end = strstr(buf, "\r\n\r\n")) == NULL)
				continue;
			cl = strcasestr(buf, "Content-Length: ");
			need = (size_t)(end + 4 - buf) + (cl ? strtoul(cl + 16, NULL, 10) : 0);
			if (have >= need)
				break;
		}
		for (i = 0; routes[i].match != NULL; i++)
			if (strncmp(buf, routes[i].match, strlen(routes[i].match)) == 0) {
				reply = routes[i].reply;
				break;
			}
		if (write(cfd, reply, strlen(reply)) < 0)
			_exit(1);
		close(cfd);
	}
}

static void
test_global_options(void **state)
{
	struct fixture *f = *state;
	const char *nosock[] = { "enclavectl", "ls", "--socket", NULL };
	const char *both[] = { "enclavectl", "--socket", "/a", "--url", "http://h:1",
		"ls", NULL };
	const char *missing[] = { "enclavectl", "ls", "--socket=/nonexistent/enclave/s.sock",
		NULL };
	const char *tls[] = { "enclavectl", "--url", "https://h:1", "backends", NULL };
	const char *rel[] = { "enclavectl", "--socket", "rel.sock", "ls", NULL };
	const char *extra[] = { "enclavectl", "ls", "x", NULL };

	assert_int_equal(run(f, 3, nosock), CTL_EXIT_USAGE);
	assert_non_null(strstr(f->errbuf, "--socket needs a value"));
	assert_int_equal(run(f, 6, both), CTL_EXIT_USAGE);
	assert_non_null(strstr(f->errbuf, "exclude each other"));
	assert_int_equal(run(f, 3, missing), CTL_EXIT_USAGE);
	assert_non_null(strstr(f->errbuf, "cannot connect to /nonexistent/enclave/s.sock: "
	    "No such file or directory (is enclave-sessiond running? use --socket or "
	    "ENCLAVE_SOCKET)"));
	setenv("ENCLAVE_SOCKET", "/nonexistent/enclave/env.sock", 1);
	assert_int_equal(run(f, 2, (const char *[]){ "enclavectl", "ls", NULL }),
	    CTL_EXIT_USAGE);
	assert_non_null(strstr(f->errbuf, "env.sock"));
	assert_int_equal(run(f, 4, tls), CTL_EXIT_USAGE);
	assert_non_null(strstr(f->errbuf, "TLS"));
	assert_int_equal(run(f, 4, rel), CTL_EXIT_USAGE);
	assert_int_equal(run(f, 3, extra), CTL_EXIT_USAGE);
}

static void
test_help_everywhere(void **state)
{
	struct fixture *f = *state;
	static const char *const cmds[] = {
		"run", "ls", "get", "rm", "backends", "audit", "lab", "demo", "rules", NULL
	};
	const char *argv[] = { "enclavectl", NULL, "--help", NULL };
	size_t i;

	for (i = 0; cmds[i] != NULL; i++) {
		argv[1] = cmds[i];
		assert_int_equal(run(f, 3, argv), CTL_EXIT_OK);
		assert_non_null(strstr(f->outbuf, "usage: enclavectl "));
		assert_non_null(strstr(f->outbuf, cmds[i]));
	}
}

static void
test_run_usage_errors(void **state)
{
	struct fixture *f = *state;
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/code.rb", f->dir);
	assert_non_null(fp = fopen(path, "w"));
	fputs("puts 1\n", fp);
	fclose(fp);
	assert_int_equal(run(f, 2, (const char *[]){ "enclavectl", "run", NULL }),
	    CTL_EXIT_USAGE);
	assert_int_equal(run(f, 3, (const char *[]){ "enclavectl", "run", path, NULL }),
	    CTL_EXIT_USAGE);
	assert_non_null(strstr(f->errbuf, "pass --language"));
	assert_int_equal(run(f, 4, (const char *[]){ "enclavectl", "run", "--frob",
	    path, NULL }), CTL_EXIT_USAGE);
	assert_int_equal(run(f, 5, (const char *[]){ "enclavectl", "run", "--timeout",
	    "-1", path, NULL }), CTL_EXIT_USAGE);
	assert_int_equal(run(f, 4, (const char *[]){ "enclavectl", "run",
	    "--memory=0", path, NULL }), CTL_EXIT_USAGE);
	assert_int_equal(run(f, 4, (const char *[]){ "enclavectl", "run",
	    "/nonexistent/x.py", "y.py", NULL }), CTL_EXIT_USAGE);
	assert_int_equal(run(f, 3, (const char *[]){ "enclavectl", "run",
	    "/nonexistent/x.py", NULL }), CTL_EXIT_USAGE);
	assert_non_null(strstr(f->errbuf, "/nonexistent/x.py: No such file"));
}

static void
write_code(struct fixture *f, const char *name, const char *text, char *path,
    size_t len)
{
	FILE *fp;

	snprintf(path, len, "%s/%s", f->dir, name);
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
}

static void
test_run_against_server(void **state)
{
	struct fixture *f = *state;
	char *failed = reply_json(201, "{\"id\":\"ses_7\",\"phase\":\"failed\","
	    "\"exit_code\":3,\"signal\":null,\"result\":{\"n\":[1,2]},"
	    "\"stdout\":\"out\",\"stderr\":\"err\\n\",\"error\":null,"
	    "\"usage\":{\"wall_ms\":412}}");
	char *toolarge = reply_json(413, "{\"error\":{\"code\":\"too_large\","
	    "\"message\":\"code over 1 MiB\"}}");
	const struct route routes[] = {
		{ "POST /v1/sessions HTTP/1.1\r\n", failed },
		{ NULL, NULL },
	};
	char path[256];

	write_code(f, "job.sh", "exit 3\n", path, sizeof(path));
	serve(f, routes);
	assert_int_equal(run(f, 5, (const char *[]){ "enclavectl", "run", path,
	    "--socket", f->sock, NULL }), 3);
	/* Workload stdout, then the result on a line of its own. */
	assert_string_equal(f->outbuf, "out\n{\"n\":[1,2]}\n");
	assert_non_null(strstr(f->errbuf, "err\n"));
	assert_non_null(strstr(f->errbuf, "enclavectl: ses_7 failed with exit code 3 "
	    "in 412 ms"));
	assert_int_equal(run(f, 6, (const char *[]){ "enclavectl", "--socket",
	    f->sock, "run", "--json", path, NULL }), 3);
	assert_non_null(strstr(f->outbuf, "  \"id\": \"ses_7\",\n"));
	kill(f->server, SIGKILL);
	waitpid(f->server, NULL, 0);
	unlink(f->sock);

	const struct route routes2[] = {
		{ "POST /v1/sessions HTTP/1.1\r\n", toolarge },
		{ NULL, NULL },
	};
	serve(f, routes2);
	setenv("ENCLAVE_SOCKET", f->sock, 1);
	assert_int_equal(run(f, 3, (const char *[]){ "enclavectl", "run", path, NULL }),
	    CTL_EXIT_FAIL);
	assert_non_null(strstr(f->errbuf, "enclavectl: 413 too_large: code over 1 MiB"));
	assert_int_equal(run(f, 3, (const char *[]){ "enclavectl", "get", "ses_1",
	    NULL }), CTL_EXIT_FAIL);
	assert_non_null(strstr(f->errbuf, "enclavectl: 404 not_found: no route"));
	free(failed);
	free(toolarge);
}

static void
test_lab_script(void **state)
{
	struct fixture *f = *state;
	char path[256];

	write_code(f, "lab.sh", "#!/bin/sh\necho \"ENCLAVE_LAB=$3 args=$*\"\n"
	    "echo \"builddir=${ENCLAVE_BUILDDIR-unset}\"\necho oops >&2\nexit 3\n",
	    path, sizeof(path));
	assert_int_equal(chmod(path, 0755), 0);
	setenv("ENCLAVE_LAB_SCRIPT", path, 1);
	setenv("ENCLAVE_BUILDDIR", "/b", 1);
	/* Its arguments are its own: --socket goes to the script as it is. */
	assert_int_equal(run(f, 6, (const char *[]){ "enclavectl", "lab", "up",
	    "--name", "t1", "--socket", NULL }), 3);
	assert_string_equal(f->outbuf, "ENCLAVE_LAB=t1 args=up --name t1 --socket\n"
	    "builddir=/b\n");
	assert_string_equal(f->errbuf, "oops\n");
	assert_int_equal(run(f, 2, (const char *[]){ "enclavectl", "lab", NULL }),
	    CTL_EXIT_USAGE);
	assert_int_equal(run(f, 3, (const char *[]){ "enclavectl", "lab", "down",
	    NULL }), CTL_EXIT_USAGE);
	setenv("ENCLAVE_LAB_SCRIPT", "/nonexistent/enclave-lab", 1);
	assert_int_equal(run(f, 4, (const char *[]){ "enclavectl", "lab", "down",
	    "t1", NULL }), CTL_EXIT_USAGE);
	assert_non_null(strstr(f->errbuf, "/nonexistent/enclave-lab: No such file"));
}

static void
test_demo_usage(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, 2, (const char *[]){ "enclavectl", "demo", NULL }),
	    CTL_EXIT_USAGE);
	assert_int_equal(run(f, 3, (const char *[]){ "enclavectl", "demo", "other",
	    NULL }), CTL_EXIT_USAGE);
	setenv("ENCLAVE_PARITY_BASE_URLS", "a=http://h:1,a=http://h:2", 1);
	assert_int_equal(run(f, 3, (const char *[]){ "enclavectl", "demo",
	    "backend-parity", NULL }), CTL_EXIT_USAGE);
	assert_non_null(strstr(f->errbuf, "given twice"));
	setenv("ENCLAVE_PARITY_BASE_URLS", "a=https://h:1", 1);
	assert_int_equal(run(f, 3, (const char *[]){ "enclavectl", "demo",
	    "backend-parity", NULL }), CTL_EXIT_USAGE);
}

static void
test_demo_single(void **state)
{
	struct fixture *f = *state;
	char *post = reply_json(201, "{\"id\":\"ses_p\",\"phase\":\"succeeded\","
	    "\"exit_code\":0,\"result\":{\"egressAttempted\":true},"
	    "\"stdout\":\"metadata fetch blocked\\n\",\"stderr\":\"\"}");
	char *audit = reply_json(200, "{\"events\":["
	    "{\"seq\":1,\"type\":\"session_created\",\"data\":{}},"
	    "{\"seq\":2,\"type\":\"sandbox_started\",\"data\":{}},"
	    "{\"seq\":3,\"type\":\"egress_denied\",\"data\":{\"host\":\"169.254.169.254\"}},"
	    "{\"seq\":4,\"type\":\"egress_denied\",\"data\":{\"host\":\"exfil.attacker.example\"}},"
	    "{\"seq\":5,\"type\":\"result_collected\",\"data\":{}},"
	    "{\"seq\":6,\"type\":\"workload_exited\",\"data\":{}},"
	    "{\"seq\":7,\"type\":\"usage_metered\",\"data\":{}}]}");
	const struct route routes[] = {
		{ "POST /v1/sessions HTTP/1.1\r\n", post },
		{ "GET /v1/sessions/ses_p/audit ", audit },
		{ "DELETE /v1/sessions/ses_p ", "HTTP/1.1 204 No Content\r\n\r\n" },
		{ NULL, NULL },
	};
	char url[200], ev[200], file[300], buf[8192];
	FILE *fp;
	size_t n;

	serve(f, routes);
	snprintf(url, sizeof(url), "unix:%s", f->sock);
	snprintf(ev, sizeof(ev), "%s/ev/deeper", f->dir);
	setenv("ENCLAVE_BASE_URL", url, 1);
	setenv("ENCLAVE_BACKEND", "namespace", 1);
	setenv("ENCLAVE_EVIDENCE_DIR", ev, 1);
	assert_int_equal(run(f, 3, (const char *[]){ "enclavectl", "demo",
	    "backend-parity", NULL }), CTL_EXIT_OK);
	assert_non_null(strstr(f->outbuf, "mode: real:single  ·  backends: namespace\n"));
	assert_non_null(strstr(f->outbuf, "│ ✓ egress_denied  169.254.169.254, "
	    "exfil.attacker.example\n"));
	assert_non_null(strstr(f->outbuf, "✓ backend parity proven across 1 backend(s)"));
	assert_null(strstr(f->outbuf, "\033["));	/* not a tty: no colour */
	snprintf(file, sizeof(file), "%s/backend-parity-report.json", ev);
	assert_non_null(fp = fopen(file, "r"));
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	assert_non_null(strstr(buf, "\"summary\": {\n    \"mode\": \"real:single\",\n"
	    "    \"passed\": true,\n    \"failures\": 0,\n    \"backendCount\": 1,\n"
	    "    \"parity\": true,\n    \"distinctVerdictShapes\": 1\n  },"));
	assert_non_null(strstr(buf, "\"label\": \"namespace\""));
	snprintf(file, sizeof(file), "%s/backend-parity-report.md", ev);
	assert_int_equal(access(file, R_OK), 0);
	free(post);
	free(audit);
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
		cmocka_unit_test_setup_teardown(test_global_options, setup, teardown),
		cmocka_unit_test_setup_teardown(test_help_everywhere, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_usage_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_against_server, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lab_script, setup, teardown),
		cmocka_unit_test_setup_teardown(test_demo_usage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_demo_single, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
