/*
 * Service-binding credentials at the boundary: what a request to a bound
 * host looks like after the proxy is done with it, and just enough of the
 * responses to frame them.
 *
 * Toward a bound host the proxy (1) judges each request: its Host must be
 * the host the connection was judged for (the TLS SNI when intercepting:
 * 421 otherwise, so no request fronts to another name), TRACE is refused
 * (405: it would echo the injected secret back) and so is CONNECT; (2)
 * strips every credential the client sent itself: Authorization,
 * Proxy-Authorization, Cookie, X-Api-Key and the binding's own header, all
 * copies, any case; (3) adds the binding's credential when asked to
 * (inside intercepted TLS always; in plain HTTP only with allow_http).
 * Stripping also happens when nothing is injected: a sandbox may not
 * smuggle a credential of its own to a bound host either, because what
 * reaches a bound service is meant to be exactly what the operator bound.
 *
 * Pure: no libevent, no logging, no global state. The rewritten head is
 * malloc'd and holds the secret: inject_request_clear() wipes it.
 */
#ifndef ENCLAVE_PROXYD_INJECT_H
#define ENCLAVE_PROXYD_INJECT_H

#include <stddef.h>
#include <stdint.h>

#include "proxyd/ctlmsg.h"
#include "proxyd/decide.h"
#include "proxyd/http.h"

/* Most we add: "Authorization: Basic " + base64 of user ":" secret and its
 * CRLF, then INJECT_IDENTITY. */
#define INJECT_FIELD_MAX \
	(32 + 4 * ((CTL_HEADER_NAME_MAX + 1 + CTL_SECRET_MAX + 2) / 3) + 2 + \
	sizeof(INJECT_IDENTITY))

enum inject_verdict {
	INJECT_NEED_MORE = 0,	/* a prefix of an acceptable head */
	INJECT_FORWARD,		/* send out->head instead of the head */
	INJECT_REFUSE,		/* answer out->status and stop */
	INJECT_ERROR,		/* an unusable binding, or out of memory */
};

struct inject_opts {
	const struct http_limits *limits;	/* default_port is taken from port */
	const char *host;	/* the canonical name the connection was judged for */
	uint16_t port;
	const struct ctl_binding *binding;	/* NULL: strip only */
	int inject;		/* add the binding's credential */
};

struct inject_request {
	/* INJECT_FORWARD */
	char		*head;		/* malloc'd; may hold the secret */
	size_t		 head_len;
	size_t		 consumed;	/* bytes of input the head took */
	int		 injected;	/* the credential (and INJECT_IDENTITY)
					   were added */
	unsigned int	 stripped;	/* client fields dropped: credentials,
					   and Accept-Encoding when injecting */
	/* INJECT_REFUSE */
	int		 status;	/* 400, 405, 421, 431, 501 */
	enum decide_reason reason;
	const char	*why;		/* static */
};

/*
 * One request head at the start of buf[0..len): parse (http.h), judge,
 * rewrite. req is scratch (it is large) and describes the original head
 * afterwards. out must be zeroed or cleared before each call.
 */
enum inject_verdict inject_request(const char *buf, size_t len,
    const struct inject_opts *o, struct http_req *req,
    struct inject_request *out);

/*
 * Just the rewrite, for a head the caller parsed and judged already
 * (plain HTTP, whose flow checks Host itself). 0, or -1 (ENOMEM, or
 * EINVAL for a binding whose fields could split a header).
 */
int inject_rewrite_head(const char *buf, const struct http_req *req,
    const struct ctl_binding *b, int inject, struct inject_request *out);

/* 1 if the client may not send this field to a bound host. */
int inject_strips(const char *buf, const struct http_header *h,
    const struct ctl_binding *b);
/* The field a request that gets the credential asks for instead of the
 * client's Accept-Encoding (all of which are dropped). */
#define INJECT_IDENTITY		"Accept-Encoding: identity\r\n"

/* Wipes and frees out->head; zeroes out. */
void inject_request_clear(struct inject_request *out);

/*
 * Responses: a bound service may reflect what it received (an /echo
 * endpoint, an error page quoting the request), so the proxy masks the
 * credential it added wherever it comes back, in heads, bodies and
 * upgraded streams alike: the whole injected value ("Bearer S", "Basic
 * B64", or S for a custom header) and S alone, each byte replaced by '*'.
 * The length never changes, so framing (Content-Length, chunk sizes) stays
 * right. Matches may straddle reads: a tail that could begin one is held
 * back until the next bytes show it does not, or until the caller knows
 * the stream paused at a message boundary (flush), where a held part of 8
 * bytes or more is masked too. Bound requests also ask for identity
 * content coding (inject_request), so a compressed echo cannot slip by.
 */
#define INJECT_REDACT_PATTERNS	2
#define INJECT_REDACT_PARTIAL	8	/* a flushed tail this long is masked */

struct inject_redactor {
	char		*pat[INJECT_REDACT_PATTERNS];	/* longest first */
	size_t		 plen[INJECT_REDACT_PATTERNS];
	size_t		 npat;
	size_t		 maxlen;
	char		*hold;		/* maxlen - 1 bytes of room */
	size_t		 holdlen;
	uint64_t	 masked;	/* matches masked so far */
};

/* For b's credential (NULL b: a redactor that passes everything). 0, or
 * -1 (ENOMEM, or EINVAL for a binding inject_request would refuse). */
int inject_redactor_init(struct inject_redactor *r,
    const struct ctl_binding *b);
/* Wipes what r holds (patterns and held bytes); r may be zeroed. */
void inject_redactor_fini(struct inject_redactor *r);
/*
 * Feeds in[0..len): writes the bytes now safe to release to out, which
 * needs r->holdlen + len bytes of room, and returns how many; keeps the
 * undecided tail.
 */
size_t inject_redact_feed(struct inject_redactor *r, const char *in,
    size_t len, char *out);
/* Releases the held tail (at most maxlen - 1 bytes) into out, masked if
 * INJECT_REDACT_PARTIAL bytes or longer; returns how many. */
size_t inject_redact_flush(struct inject_redactor *r, char *out);

/*
 * A response head from a bound host's server, read only to frame it: the
 * bytes are passed on unchanged. Lenient where it costs nothing (bare LF
 * line ends, a missing reason phrase), strict where framing is at stake
 * (conflicting Content-Length, NUL, obs-fold).
 */
enum inject_rbody {
	INJECT_RBODY_NONE = 0,	/* head only: 1xx, 204, 304, or to a HEAD */
	INJECT_RBODY_LENGTH,
	INJECT_RBODY_CHUNKED,
	INJECT_RBODY_CLOSE,	/* until the server closes */
};

struct inject_response {
	size_t		 head_len;
	int		 status;	/* 100..999 */
	enum inject_rbody body;
	uint64_t	 content_length;
	const char	*why;		/* HTTP_BAD */
};

/* HTTP_OK, HTTP_NEED_MORE, or HTTP_BAD (also when no head fits max_head). */
enum http_result inject_parse_response(const char *buf, size_t len,
    size_t max_head, int head_request, struct inject_response *out);

#endif /* ENCLAVE_PROXYD_INJECT_H */
