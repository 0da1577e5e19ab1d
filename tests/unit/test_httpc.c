#include <config.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/clock.h"
#include "ctl/api.h"
#include "common/httpc.h"

/* ---- the response parser ---- */

static enum httpc_result
parse(const char *text, int eof, struct httpc_response *r, char *why)
{
	why[0] = '\0';
	return httpc_response_parse(text, strlen(text), eof, r, why, 160);
}

/* Feeds text one byte at a time, keeping the unconsumed tail as a client
 * does, then eof. */
static enum httpc_result
parse_bytewise(const char *text, size_t len, int eof, size_t body_max,
    struct httpc_response *r, char *why)
{
	struct httpc_parser p;
	enum httpc_result rc = HTTPC_MORE;
	char *buf = malloc(len + 1);
	size_t have = 0, used, i;

	assert_non_null(buf);
	httpc_parser_init(&p, r, 0, body_max);
	for (i = 0; i < len && rc == HTTPC_MORE; i++) {
		buf[have++] = text[i];
		rc = httpc_parser_feed(&p, buf, have, 0, &used);
		assert_true(used <= have);
		memmove(buf, buf + used, have - used);
		have -= used;
	}
	if (rc == HTTPC_MORE && eof) {
		rc = httpc_parser_feed(&p, buf, have, 1, &used);
	}
	strcpy(why, p.why);
	free(buf);
	return rc;
}

static void
test_parse_content_length(void **state)
{
	static const char ok[] = "HTTP/1.1 201 Created\r\nContent-Type: "
	    "application/json\r\ncontent-length:  7 \r\n\r\n{\"a\":1}";
	struct httpc_response r;
	char why[160];

	(void)state;
	assert_int_equal(parse(ok, 0, &r, why), HTTPC_DONE);
	assert_int_equal(r.status, 201);
	assert_string_equal(r.reason, "Created");
	assert_int_equal(r.body_len, 7);
	assert_string_equal(r.body, "{\"a\":1}");
	httpc_response_clear(&r);

	/* Byte by byte, the same answer. */
	assert_int_equal(parse_bytewise(ok, strlen(ok), 0, 0, &r, why), HTTPC_DONE);
	assert_string_equal(r.body, "{\"a\":1}");
	httpc_response_clear(&r);

	/* Bytes after the body are not part of it. */
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA",
	    0, &r, why), HTTPC_DONE);
	assert_string_equal(r.body, "ok");
	httpc_response_clear(&r);

	/* Zero length, same length twice, bare LF, no reason phrase. */
	assert_int_equal(parse("HTTP/1.0 200\nContent-Length: 0\nContent-Length: 0\n\n",
	    0, &r, why), HTTPC_DONE);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.reason, "");
	assert_int_equal(r.body_len, 0);
	assert_non_null(r.body);
	httpc_response_clear(&r);

	/* A partial body waits for more. */
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab",
	    0, &r, why), HTTPC_MORE);
	httpc_response_clear(&r);
}

static void
test_parse_no_body(void **state)
{
	struct httpc_parser p;
	struct httpc_response r;
	char why[160];
	size_t used;
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n";

	(void)state;
	assert_int_equal(parse("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
	    0, &r, why), HTTPC_DONE);
	assert_int_equal(r.status, 204);
	assert_int_equal(r.body_len, 0);
	httpc_response_clear(&r);

	/* The answer to HEAD has a length but no body. */
	httpc_parser_init(&p, &r, 1, 0);
	assert_int_equal(httpc_parser_feed(&p, head, strlen(head), 0, &used),
	    HTTPC_DONE);
	assert_int_equal(used, strlen(head));
	httpc_response_clear(&r);
}

static void
test_parse_chunked(void **state)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"
	    "5;name=value;x=\"q\"\r\nhello\r\n"
	    "19 \r\n, chunked world, 25 bytes\r\n"
	    "0;last\r\n"
	    "X-Trailer: one\r\nX-Other: two\r\n\r\n";
	struct httpc_response r;
	char why[160];

	(void)state;
	assert_int_equal(parse(ok, 0, &r, why), HTTPC_DONE);
	assert_int_equal(r.body_len, 30);
	assert_string_equal(r.body, "hello, chunked world, 25 bytes");
	httpc_response_clear(&r);

	assert_int_equal(parse_bytewise(ok, strlen(ok), 0, 0, &r, why), HTTPC_DONE);
	assert_string_equal(r.body, "hello, chunked world, 25 bytes");
	httpc_response_clear(&r);

	/* Transfer-Encoding wins over Content-Length; bare LF; no trailers. */
	assert_int_equal(parse("HTTP/1.1 200 OK\nContent-Length: 1\n"
	    "transfer-encoding: Chunked\n\n3\nabc\n0\n\n", 0, &r, why), HTTPC_DONE);
	assert_string_equal(r.body, "abc");
	httpc_response_clear(&r);

	/* Until the last chunk's blank line, more is needed. */
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "3\r\nabc\r\n0\r\nX: y\r\n", 0, &r, why), HTTPC_MORE);
	httpc_response_clear(&r);
}

static void
test_parse_chunked_bad(void **state)
{
	static const char *const bad[] = {
		"zz\r\n",				/* not hex */
		"\r\n",					/* no size */
		"3 x\r\nabc\r\n",			/* junk after the size */
		"3\r\nabcd\r\n0\r\n\r\n",		/* data longer than its size */
		"11111111111111111\r\n",		/* 17 digits */
		"3;a\001b\r\nabc\r\n",			/* control byte in an extension */
		"0\r\nno colon here\r\n\r\n",		/* malformed trailer */
	};
	char text[256], why[160];
	struct httpc_response r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "HTTP/1.1 200 OK\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n%s", bad[i]);
		assert_int_equal(parse(text, 0, &r, why), HTTPC_BAD);
		assert_true(why[0] != '\0');
		httpc_response_clear(&r);
	}
	/* Only chunked can come: we send no TE or Accept-Encoding. */
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked"
	    "\r\n\r\n", 0, &r, why), HTTPC_BAD);
	assert_non_null(strstr(why, "gzip"));
	httpc_response_clear(&r);
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", 0, &r, why), HTTPC_BAD);
	httpc_response_clear(&r);
}

static void
test_parse_until_close(void **state)
{
	static const char text[] = "HTTP/1.0 200 OK\r\nServer: x\r\n\r\n{\"ok\":true}";
	struct httpc_response r;
	char why[160];

	(void)state;
	assert_int_equal(parse(text, 0, &r, why), HTTPC_MORE);
	httpc_response_clear(&r);
	assert_int_equal(parse(text, 1, &r, why), HTTPC_DONE);
	assert_string_equal(r.body, "{\"ok\":true}");
	httpc_response_clear(&r);
	assert_int_equal(parse_bytewise(text, strlen(text), 1, 0, &r, why),
	    HTTPC_DONE);
	assert_string_equal(r.body, "{\"ok\":true}");
	httpc_response_clear(&r);
}

static void
test_parse_truncated(void **state)
{
	struct httpc_response r;
	char why[160];

	(void)state;
	assert_int_equal(parse("", 1, &r, why), HTTPC_BAD);
	assert_non_null(strstr(why, "without a response"));
	httpc_response_clear(&r);
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Le", 1, &r, why), HTTPC_BAD);
	assert_non_null(strstr(why, "head"));
	httpc_response_clear(&r);
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 1,
	    &r, why), HTTPC_BAD);
	assert_non_null(strstr(why, "closed inside the response body"));
	httpc_response_clear(&r);
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "5\r\nab", 1, &r, why), HTTPC_BAD);
	httpc_response_clear(&r);
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "5\r\nabcde\r\n", 1, &r, why), HTTPC_BAD);
	httpc_response_clear(&r);
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "0\r\n", 1, &r, why), HTTPC_BAD);
	httpc_response_clear(&r);
}

static void
test_parse_oversize(void **state)
{
	struct httpc_parser p;
	struct httpc_response r;
	char why[160], *big;
	size_t used, n;

	(void)state;
	/* A head without end past 64 KiB is refused, not waited for. */
	n = HTTPC_HEAD_MAX + 16;
	assert_non_null(big = malloc(n + 1));
	memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
	memset(big + 20, 'a', n - 20);
	big[n] = '\0';
	assert_int_equal(parse(big, 0, &r, why), HTTPC_BAD);
	assert_non_null(strstr(why, "larger than"));
	httpc_response_clear(&r);
	free(big);

	/* A body announced above the cap is refused before it comes. */
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 67108865\r\n\r\n",
	    0, &r, why), HTTPC_BAD);
	assert_non_null(strstr(why, "larger than"));
	httpc_response_clear(&r);
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: "
	    "99999999999999999999\r\n\r\n", 0, &r, why), HTTPC_BAD);
	httpc_response_clear(&r);

	/* With a small cap: chunked and close-delimited bodies past it. */
	static const char ch[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "4\r\nabcd\r\n4\r\nefgh\r\n0\r\n\r\n";
	assert_int_equal(parse_bytewise(ch, strlen(ch), 0, 6, &r, why), HTTPC_BAD);
	assert_non_null(strstr(why, "larger than 6"));
	httpc_response_clear(&r);
	static const char cl[] = "HTTP/1.1 200 OK\r\n\r\n0123456789";
	httpc_parser_init(&p, &r, 0, 6);
	assert_int_equal(httpc_parser_feed(&p, cl, strlen(cl), 0, &used), HTTPC_BAD);
	httpc_response_clear(&r);
	/* Exactly the cap is fine. */
	assert_int_equal(parse_bytewise(ch, strlen(ch), 0, 8, &r, why), HTTPC_DONE);
	assert_string_equal(r.body, "abcdefgh");
	httpc_response_clear(&r);

	/* A chunk size line that never ends. */
	n = HTTPC_CHUNK_LINE_MAX + 64;
	assert_non_null(big = malloc(n + 64));
	n = (size_t)sprintf(big, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;");
	memset(big + n, 'x', HTTPC_CHUNK_LINE_MAX);
	big[n + HTTPC_CHUNK_LINE_MAX] = '\0';
	assert_int_equal(parse(big, 0, &r, why), HTTPC_BAD);
	assert_non_null(strstr(why, "too long"));
	httpc_response_clear(&r);
	free(big);
}

static void
test_parse_bad_status(void **state)
{
	static const char *const bad[] = {
		"HTTP/2 200 OK\r\n\r\n",
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n",
		"HTTP/1.1 2x0 OK\r\n\r\n",
		"HTTP/1.1 099 Low\r\n\r\n",
		"HTTP/1.1 600 High\r\n\r\n",
		"HTTP/1.2 200 OK\r\n\r\n",
		"HTTX/1.1 200 OK\r\n\r\n",
		"http/1.1 200 OK\r\n\r\n",
		"HTTP/1.1  200 OK\r\n\r\n",
		"\r\nHTTP/1.1 200 OK\r\n\r\n",
		"SSH-2.0-OpenSSH_9.2\r\n",
		"SSH",				/* refused before any newline */
		"HTTP/1.1 200 OK\r\n folded: no\r\n\r\n",
		"HTTP/1.1 200 OK\r\nNo-Colon\r\n\r\n",
		"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1a\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n",
		"HTTP/1.1 101 Switching Protocols\r\n\r\n",
	};
	struct httpc_response r;
	char why[160];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], 0, &r, why) != HTTPC_BAD)
			fail_msg("accepted: %s", bad[i]);
		assert_true(why[0] != '\0');
		httpc_response_clear(&r);
	}
}

static void
test_parse_interim(void **state)
{
	static const char text[] = "HTTP/1.1 100 Continue\r\n\r\n"
	    "HTTP/1.1 102 Processing\r\nX: 1\r\n\r\n"
	    "HTTP/1.1 413 Content Too Large\r\nContent-Length: 2\r\n\r\n{}";
	struct httpc_response r;
	char why[160];

	(void)state;
	assert_int_equal(parse(text, 0, &r, why), HTTPC_DONE);
	assert_int_equal(r.status, 413);
	assert_string_equal(r.reason, "Content Too Large");
	assert_string_equal(r.body, "{}");
	httpc_response_clear(&r);
	assert_int_equal(parse_bytewise(text, strlen(text), 0, 0, &r, why), HTTPC_DONE);
	assert_int_equal(r.status, 413);
	httpc_response_clear(&r);
	/* A reason phrase cannot put escapes on the terminal. */
	assert_int_equal(parse("HTTP/1.1 500 a\033[2Jb\r\nContent-Length: 0\r\n\r\n",
	    0, &r, why), HTTPC_DONE);
	assert_string_equal(r.reason, "a?[2Jb");
	httpc_response_clear(&r);
}

/* ---- endpoints ---- */

static void
test_endpoint_parse(void **state)
{
	struct httpc_endpoint ep;
	char err[256];

	(void)state;
	assert_int_equal(httpc_endpoint_parse("unix:/run/x.sock", &ep, err,
	    sizeof(err)), 0);
	assert_int_equal(ep.kind, HTTPC_UNIX);
	assert_string_equal(ep.path, "/run/x.sock");
	assert_string_equal(ep.display, "/run/x.sock");
	assert_int_equal(httpc_endpoint_parse("/run/y.sock", &ep, err, sizeof(err)), 0);
	assert_string_equal(ep.path, "/run/y.sock");

	assert_int_equal(httpc_endpoint_parse("http://127.0.0.1:8090", &ep, err,
	    sizeof(err)), 0);
	assert_int_equal(ep.kind, HTTPC_TCP);
	assert_string_equal(ep.host, "127.0.0.1");
	assert_string_equal(ep.port, "8090");
	assert_string_equal(ep.base, "");
	assert_string_equal(ep.hosthdr, "127.0.0.1:8090");
	assert_string_equal(ep.display, "http://127.0.0.1:8090");

	assert_int_equal(httpc_endpoint_parse("HTTP://[::1]:81/enclave//", &ep, err,
	    sizeof(err)), 0);
	assert_string_equal(ep.host, "::1");
	assert_string_equal(ep.port, "81");
	assert_string_equal(ep.base, "/enclave");
	assert_string_equal(ep.hosthdr, "[::1]:81");

	assert_int_equal(httpc_endpoint_parse("http://sessiond.lab/", &ep, err,
	    sizeof(err)), 0);
	assert_string_equal(ep.port, "80");
	assert_string_equal(ep.base, "");

	assert_int_equal(httpc_endpoint_parse("https://h:1", &ep, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "TLS"));
	assert_int_equal(httpc_endpoint_parse("http://user:hunter2@h:1/", &ep, err,
	    sizeof(err)), -1);
	assert_null(strstr(err, "hunter2"));
	assert_int_equal(httpc_endpoint_parse("unix:relative", &ep, err, sizeof(err)), -1);
	assert_int_equal(httpc_endpoint_parse("ftp://h", &ep, err, sizeof(err)), -1);
	assert_int_equal(httpc_endpoint_parse("http://h:0", &ep, err, sizeof(err)), -1);
	assert_int_equal(httpc_endpoint_parse("http://h:65536", &ep, err, sizeof(err)), -1);
	assert_int_equal(httpc_endpoint_parse("http://h:-1", &ep, err, sizeof(err)), -1);
	assert_int_equal(httpc_endpoint_parse("http://h:80x", &ep, err, sizeof(err)), -1);
	assert_int_equal(httpc_endpoint_parse("http://:80", &ep, err, sizeof(err)), -1);
	assert_int_equal(httpc_endpoint_parse("http://[::1", &ep, err, sizeof(err)), -1);
	assert_int_equal(httpc_endpoint_parse("http://h/?q=1", &ep, err, sizeof(err)), -1);
	{
		char longp[200];

		memset(longp, 'a', sizeof(longp));
		longp[0] = '/';
		longp[sizeof(longp) - 1] = '\0';
		assert_int_equal(httpc_endpoint_parse(longp, &ep, err, sizeof(err)), -1);
	}
}

/* ---- exchanges over a real socket ---- */

struct server {
	char	dir[64];
	char	sock[128];
	char	reqfile[128];
	pid_t	pid;
};

/* A one-shot server in a child: saves the request it gets (head and
 * Content-Length body), answers with reply (NULL: never answers). */
static void
server_start(struct server *s, const char *reply)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int lfd, cfd;

	strcpy(s->dir, "/tmp/enclave-test-ctl-http.XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->sock, sizeof(s->sock), "%s/s.sock", s->dir);
	snprintf(s->reqfile, sizeof(s->reqfile), "%s/req", s->dir);
	strcpy(sun.sun_path, s->sock);
	assert_true((lfd = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	assert_true((s->pid = fork()) >= 0);
	if (s->pid == 0) {
		char buf[65536], *end;
		size_t have = 0, clen = 0;
		ssize_t n;
		FILE *f;

		if ((cfd = accept(lfd, NULL, NULL)) < 0)
			_exit(1);
		while (have < sizeof(buf) - 1 &&
		    (n = read(cfd, buf + have, sizeof(buf) - 1 - have)) > 0) {
			have += (size_t)n;
			buf[have] = '\0';
			if ((end = strstr(buf, "\r\n\r\n")) != NULL) {
				char *cl = strcasestr(buf, "Content-Length: ");

				clen = cl ? strtoul(cl + 16, NULL, 10) : 0;
				if (have >= (size_t)(end + 4 - buf) + clen)
					break;
			}
		}
		if ((f = fopen(s->reqfile, "w")) != NULL) {
			fwrite(buf, 1, have, f);
			fclose(f);
		}
		if (reply == NULL)
			pause();
		else if (write(cfd, reply, strlen(reply)) < 0)
			_exit(1);
		close(cfd);
		_exit(0);
	}
	close(lfd);
}

static void
server_stop(struct server *s)
{
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	unlink(s->sock);
	unlink(s->reqfile);
	rmdir(s->dir);
}

static void
slurp_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static void
test_exchange_roundtrip(void **state)
{
	struct server s;
	struct apic c;
	json_t *body, *reply = NULL;
	char err[512], req[65536];
	int status;

	(void)state;
	server_start(&s, "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "4\r\n{\"id\r\na\r\n\":\"ses_1\"}\r\n0\r\n\r\n");
	snprintf(req, sizeof(req), "unix:%s", s.sock);
	assert_int_equal(apic_init(&c, req, "k3y-value", "hint", err, sizeof(err)), 0);
	body = json_pack("{s:s, s:s}", "language", "sh", "code", "echo hi");
	assert_int_equal(apic_call(&c, "POST", "/v1/sessions", body, 5000, &status,
	    &reply, err, sizeof(err)), APIC_OK);
	assert_int_equal(status, 201);
	assert_string_equal(json_string_value(json_object_get(reply, "id")), "ses_1");
	json_decref(reply);
	json_decref(body);
	/* The server saved the request before it answered. */
	slurp_file(s.reqfile, req, sizeof(req));
	assert_non_null(strstr(req, "POST /v1/sessions HTTP/1.1\r\n"));
	assert_non_null(strstr(req, "\r\nHost: localhost\r\n"));
	assert_non_null(strstr(req, "\r\nConnection: close\r\n"));
	assert_non_null(strstr(req, "\r\nAuthorization: Bearer k3y-value\r\n"));
	assert_non_null(strstr(req, "\r\nContent-Type: application/json\r\n"));
	assert_non_null(strstr(req, "\r\nContent-Length: 34\r\n"));
	assert_non_null(strstr(req, "\r\n\r\n{\"language\":\"sh\",\"code\":\"echo hi\"}"));
	server_stop(&s);
}

static void
test_exchange_api_error(void **state)
{
	struct server s;
	struct apic c;
	json_t *reply = NULL;
	char err[512], spec[160];

	(void)state;
	server_start(&s, "HTTP/1.1 404 Not Found\r\nContent-Length: 59\r\n\r\n"
	    "{\"error\":{\"code\":\"not_found\",\"message\":\"no session ses_9\"}}");
	snprintf(spec, sizeof(spec), "unix:%s", s.sock);
	assert_int_equal(apic_init(&c, spec, NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(apic_call(&c, "GET", "/v1/sessions/ses_9", NULL, 5000, NULL,
	    &reply, err, sizeof(err)), APIC_EREPLY);
	assert_null(reply);
	assert_string_equal(err, "404 not_found: no session ses_9");
	server_stop(&s);
}

static void
test_exchange_timeout_and_cancel(void **state)
{
	struct server s;
	struct httpc_request req = { .method = "GET", .path = "/v1/health",
	    .timeout_ms = 300 };
	struct httpc_response resp;
	struct httpc_endpoint ep;
	volatile sig_atomic_t stop = 1;
	char err[512], spec[160];
	uint64_t t0;

	(void)state;
	server_start(&s, NULL);
	snprintf(spec, sizeof(spec), "unix:%s", s.sock);
	assert_int_equal(httpc_endpoint_parse(spec, &ep, err, sizeof(err)), 0);
	t0 = clock_monotonic_ms();
	assert_int_equal(httpc_exchange(&ep, &req, &resp, err, sizeof(err)), -1);
	assert_true(clock_monotonic_ms() - t0 < 3000);
	assert_non_null(strstr(err, "within 300 ms"));
	assert_null(resp.body);

	req.cancel = &stop;
	req.timeout_ms = 60000;
	assert_int_equal(httpc_exchange(&ep, &req, &resp, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "interrupted"));
	server_stop(&s);
}

static void
test_exchange_connect_errors(void **state)
{
	struct httpc_request req = { .method = "GET", .path = "/v1/health" };
	struct httpc_response resp;
	struct httpc_endpoint ep;
	char err[512];

	(void)state;
	assert_int_equal(httpc_endpoint_parse("/nonexistent/enclave/s.sock", &ep, err,
	    sizeof(err)), 0);
	ep.hint = "is enclave-sessiond running? use --socket or ENCLAVE_SOCKET";
	assert_int_equal(httpc_exchange(&ep, &req, &resp, err, sizeof(err)), -1);
	assert_string_equal(err, "cannot connect to /nonexistent/enclave/s.sock: "
	    "No such file or directory (is enclave-sessiond running? use --socket "
	    "or ENCLAVE_SOCKET)");

	/* Nothing that could end a header line gets into one. */
	req.bearer = "key\r\nX-Evil: 1";
	assert_int_equal(httpc_exchange(&ep, &req, &resp, err, sizeof(err)), -1);
	assert_null(strstr(err, "Evil"));
	req.bearer = NULL;
	req.path = "/v1/x HTTP/1.1\r\nX: y";
	assert_int_equal(httpc_exchange(&ep, &req, &resp, err, sizeof(err)), -1);
	req.path = "no-slash";
	assert_int_equal(httpc_exchange(&ep, &req, &resp, err, sizeof(err)), -1);
}

/* ---- api helpers ---- */


int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_content_length),
		cmocka_unit_test(test_parse_no_body),
		cmocka_unit_test(test_parse_chunked),
		cmocka_unit_test(test_parse_chunked_bad),
		cmocka_unit_test(test_parse_until_close),
		cmocka_unit_test(test_parse_truncated),
		cmocka_unit_test(test_parse_oversize),
		cmocka_unit_test(test_parse_bad_status),
		cmocka_unit_test(test_parse_interim),
		cmocka_unit_test(test_endpoint_parse),
		cmocka_unit_test(test_exchange_roundtrip),
		cmocka_unit_test(test_exchange_api_error),
		cmocka_unit_test(test_exchange_timeout_and_cancel),
		cmocka_unit_test(test_exchange_connect_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
