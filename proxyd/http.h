/*
 * HTTP/1.x request heads and chunked bodies, as the proxy judges them.
 *
 * Pure: no allocation, no logging, no global state. Inputs are (buf, len)
 * and are never read past len. Results are (offset, length) spans into the
 * caller's buffer, so they stay valid if the buffer moves. Stricter than
 * RFC 9112 on purpose: anything two parsers could read two ways is refused,
 * so the name the proxy judged is the name the origin server sees.
 */
#ifndef ENCLAVE_PROXYD_HTTP_H
#define ENCLAVE_PROXYD_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_HEAD_MAX_DEFAULT		(16u * 1024)
#define HTTP_LINE_MAX_DEFAULT		(8u * 1024)
#define HTTP_HEADERS_MAX		100	/* default, and the array size */
#define HTTP_CONTENT_LENGTH_MAX		(UINT64_C(1) << 53)
#define HTTP_CHUNK_MAX			(UINT64_C(1) << 30)
#define HTTP_CHUNK_SIZE_DIGITS_MAX	16
#define HTTP_CHUNK_EXT_MAX		4096	/* bytes from ';' to CR, per chunk */
#define HTTP_TRAILERS_MAX		8192	/* bytes of the trailer section */

/* Results of http_parse_head() (never DONE) and http_chunked_feed() (never OK). */
enum http_result {
	HTTP_NEED_MORE = 0,	/* a prefix of something acceptable */
	HTTP_OK,		/* a complete, acceptable head */
	HTTP_DONE,		/* the chunked body ended */
	HTTP_BAD,		/* refuse; status and why say how */
};

/* Zero fields take the defaults; a NULL pointer means all defaults. */
struct http_limits {
	size_t		max_head;	/* bytes incl. the blank line; 16 KiB */
	size_t		max_headers;	/* fields; 100, never more */
	size_t		max_line;	/* request line without CRLF; 8 KiB */
	uint16_t	default_port;	/* Host without a port, origin-form; 80 */
};

/* buf + off .. buf + off + len. */
struct http_span {
	size_t		off;
	size_t		len;
};

struct http_header {
	struct http_span name;
	struct http_span value;		/* without leading and trailing OWS */
};

enum http_method {
	HTTP_METHOD_OTHER = 0,		/* a valid token we have no name for */
	HTTP_METHOD_GET,
	HTTP_METHOD_HEAD,
	HTTP_METHOD_POST,
	HTTP_METHOD_PUT,
	HTTP_METHOD_DELETE,
	HTTP_METHOD_CONNECT,
	HTTP_METHOD_OPTIONS,
	HTTP_METHOD_TRACE,
	HTTP_METHOD_PATCH,
};

enum http_form {
	HTTP_FORM_ORIGIN = 0,		/* /path?query */
	HTTP_FORM_ABSOLUTE,		/* http://host[:port]/path?query */
	HTTP_FORM_AUTHORITY,		/* host:port, CONNECT only */
	HTTP_FORM_ASTERISK,		/* *, OPTIONS only */
};

enum http_body {
	HTTP_BODY_NONE = 0,
	HTTP_BODY_LENGTH,		/* content_length bytes (may be 0) */
	HTTP_BODY_CHUNKED,		/* feed it to http_chunked_feed() */
};

#define HTTP_CONN_CLOSE		0x1
#define HTTP_CONN_KEEP_ALIVE	0x2
#define HTTP_CONN_UPGRADE	0x4

/*
 * A host and port from the request target or the Host header. host is
 * not canonicalised (give it to hostname_canon() or, when ip_literal, to
 * ip_parse()); for a bracketed IPv6 literal it excludes the brackets.
 */
struct http_hostport {
	struct http_span host;
	uint16_t	port;		/* explicit, or the default */
	uint8_t		present;
	uint8_t		port_explicit;
	uint8_t		ip_literal;	/* was [IPv6]; dotted or decimal IPv4 is not */
};

/* On HTTP_OK every field is set; otherwise only status and why mean anything. */
struct http_req {
	size_t		head_len;	/* through the blank line, when HTTP_OK */
	int		status;		/* 400, 431 or 501, when HTTP_BAD */
	const char	*why;		/* static, short, when HTTP_BAD */

	enum http_method method;
	struct http_span method_raw;
	enum http_form	form;
	struct http_span target;	/* as sent */
	struct http_span path;		/* absolute-form: after the authority,
					 * may be empty or start with '?';
					 * origin-form: the target */
	int		version_minor;	/* HTTP/1.0 or HTTP/1.1 */

	struct http_hostport target_auth; /* absolute- and authority-form */
	struct http_hostport host_hdr;	/* the Host header */
	struct http_hostport host;	/* the one to judge: target, else Host */

	enum http_body	body;
	uint64_t	content_length;
	unsigned int	conn;		/* HTTP_CONN_* tokens seen */
	int		keep_alive;	/* another request may follow the body */

	size_t		nheaders;
	struct http_header headers[HTTP_HEADERS_MAX];
};

/*
 * Parse the request head at the start of buf[0..len). Returns HTTP_OK with
 * req->head_len set, HTTP_NEED_MORE while buf is an acceptable prefix
 * within the limits, or HTTP_BAD with req->status and req->why. A verdict
 * on a prefix never changes with more bytes, so callers may re-parse from
 * the start as data arrives. One empty line before the request line is
 * skipped (RFC 9112 2.2) and counted in head_len; a second one is BAD.
 */
enum http_result http_parse_head(const char *buf, size_t len,
    const struct http_limits *lim, struct http_req *req);

/* 1 if h's name is name (ASCII case-insensitive), else 0. */
int http_header_is(const char *buf, const struct http_header *h,
    const char *name);

/* The state of one chunked body; set up with http_chunked_init(). */
struct http_chunked {
	uint64_t	max_body;	/* data bytes in all chunks */
	uint64_t	total;		/* data bytes announced so far */
	uint64_t	left;		/* chunk size being read, or data left */
	size_t		count;		/* size digits, or extension bytes */
	size_t		trailer_len;
	int		state;
	uint8_t		name_len;	/* of a trailer field name, capped */
	char		name[18];	/* its first bytes, lower case */
	const char	*why;		/* static, when HTTP_BAD */
};

/* max_body 0 means HTTP_CONTENT_LENGTH_MAX. */
void http_chunked_init(struct http_chunked *st, uint64_t max_body);

/*
 * Consume the next bytes of a chunked body. HTTP_NEED_MORE: all len bytes
 * consumed, the body goes on. HTTP_DONE: the body (last chunk and trailer
 * section included) ended after *consumed bytes; the rest is the next
 * request. HTTP_BAD: st->why says why; *consumed is where it stopped.
 * Once DONE or BAD, later calls consume nothing and return the same.
 */
enum http_result http_chunked_feed(struct http_chunked *st, const char *buf,
    size_t len, size_t *consumed);

#endif /* ENCLAVE_PROXYD_HTTP_H */
