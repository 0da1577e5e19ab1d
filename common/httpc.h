/*
 * A small blocking HTTP/1.1 client (enclavectl to sessiond, sessiond to a
 * container engine's API): one request per connection (Connection: close),
 * over a unix socket or plain TCP, every step bounded by one deadline.
 *
 * The response parser is pure (no I/O, no global state) and incremental:
 * the caller hands it the bytes it has, it takes what it can and says how
 * many, and the caller keeps the rest for the next call. It is stricter
 * than a browser where two readings are possible (conflicting
 * Content-Length, obs-fold, unknown transfer codings are refused) and
 * bounded everywhere: head 64 KiB, body 64 MiB.
 */
#ifndef ENCLAVE_COMMON_HTTPC_H
#define ENCLAVE_COMMON_HTTPC_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/un.h>

#define HTTPC_HEAD_MAX		(64u * 1024)	/* status line + fields, per head */
#define HTTPC_BODY_MAX		(64u * 1024 * 1024)
#define HTTPC_CHUNK_LINE_MAX	4096		/* size + extensions + CRLF */
#define HTTPC_TIMEOUT_MS	10000

enum httpc_result {
	HTTPC_BAD = -1,		/* refused; the parser's why says why */
	HTTPC_MORE = 0,		/* give it more bytes (or eof) */
	HTTPC_DONE = 1,		/* the response is complete */
};

/* One response; the parser fills it, httpc_response_clear() frees it. */
struct httpc_response {
	int	 status;
	char	 reason[128];		/* the reason phrase, may be empty */
	char	*body;			/* decoded, NUL-terminated; never NULL once DONE */
	size_t	 body_len;
};

/* Private state of one response being parsed; see httpc_parser_feed(). */
struct httpc_parser {
	int	 state;
	int	 no_body;		/* the request was HEAD */
	size_t	 body_max;
	size_t	 body_cap;
	uint64_t left;			/* body or chunk bytes still to come */
	int	 have_length;
	uint64_t length;		/* Content-Length, when have_length */
	int	 chunked;
	size_t	 trailer_len;
	struct httpc_response *resp;
	char	 why[160];		/* when HTTPC_BAD */
};

/*
 * Starts parsing into resp (zeroed here). no_body: the request was HEAD.
 * body_max 0 means HTTPC_BODY_MAX.
 */
void httpc_parser_init(struct httpc_parser *p, struct httpc_response *resp,
    int no_body, size_t body_max);

/*
 * Takes bytes from buf[0..len), which starts where the last call stopped
 * (*used tells how far that was): the caller drops buf[0..*used), keeps
 * the rest and appends what it reads next. eof: no byte will follow len.
 * HTTPC_DONE: the response ended; bytes after it are ignored. HTTPC_BAD:
 * p->why says why. Once DONE or BAD it stays so.
 */
enum httpc_result httpc_parser_feed(struct httpc_parser *p, const char *buf,
    size_t len, int eof, size_t *used);

/* The parser over a whole buffer at once; why (may be NULL) on HTTPC_BAD. */
enum httpc_result httpc_response_parse(const char *buf, size_t len, int eof,
    struct httpc_response *resp, char *why, size_t whylen);

/* Frees the body and zeroes resp; a zeroed resp is fine. */
void httpc_response_clear(struct httpc_response *resp);

enum httpc_kind {
	HTTPC_UNIX = 0,
	HTTPC_TCP,
};

/* Where the daemon listens, from "unix:/path", "/path" or "http://h[:p][/base]". */
struct httpc_endpoint {
	enum httpc_kind kind;
	char	 path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char	 host[256];		/* name or literal, IPv6 without brackets */
	char	 port[6];
	char	 base[256];		/* path prefix without a trailing '/'; "" */
	char	 hosthdr[272];		/* the Host field */
	char	 display[600];		/* for messages: the path, or the URL */
	const char *hint;		/* appended to "cannot connect" messages */
};

int httpc_endpoint_parse(const char *spec, struct httpc_endpoint *ep,
    char *err, size_t errlen);

struct httpc_request {
	const char *method;
	const char *path;		/* origin-form: "/v1/sessions?x=1" */
	const char *body;		/* sent as application/json; NULL: none */
	size_t	    body_len;
	const char *bearer;		/* API key, or NULL; never in a message */
	int	    timeout_ms;		/* for the whole exchange; 0: default */
	volatile sig_atomic_t *cancel;	/* give up once it is nonzero; may be NULL */
};

/*
 * Connects, sends req, reads the whole response into resp. -1 with a
 * one-line reason in err (connection, timeout, a malformed response); any
 * HTTP status, error or not, is a 0 for the caller to judge.
 */
int httpc_exchange(const struct httpc_endpoint *ep,
    const struct httpc_request *req, struct httpc_response *resp,
    char *err, size_t errlen);

#endif /* ENCLAVE_COMMON_HTTPC_H */
