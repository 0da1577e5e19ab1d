/*
 * The control protocol between enclave-sessiond and enclave-proxyd: JSON
 * lines on a unix stream socket, every object carrying "v":1.
 *
 * sessiond → proxyd, requests (each may carry "req":N, an integer in
 * 0..2^53-1, echoed in the reply so replies can be matched to requests):
 *
 *   {"v":1,"op":"hello"}          → {"v":1,"ok":true,"versions":[1]}
 *   {"v":1,"op":"ping"}           → {"v":1,"ok":true}
 *   {"v":1,"op":"session_add","id":"ses_x","tenant":"default",
 *    "source":"198.19.0.1","allow":["allowed.test","*.github.com:443"],
 *    "limits":{"max_connections":64}}
 *   {"v":1,"op":"session_update", ...the same keys...}
 *   {"v":1,"op":"session_del","id":"ses_x"}
 *
 * "allow" is required ([] denies everything); "limits" and its keys are
 * optional (absent: proxyd's configured default). Keys not listed for an op
 * are an error, so a typo never silently widens or drops a policy.
 *
 * proxyd → sessiond, replies, in request order:
 *
 *   {"v":1,"req":N,"ok":true}
 *   {"v":1,"req":N,"ok":false,"error":{"code":"bad_request","message":"…"}}
 *
 * and events, interleaved with replies at line boundaries (a line with an
 * "event" key is an event, any other is a reply):
 *
 *   {"v":1,"event":{"type":"egress_denied","session":"ses_x",
 *    "tenant":"default","source":"198.19.0.1","host":"other.test",
 *    "port":443,"proto":"tls","reason":"not_allowlisted",
 *    "orig_dst":"198.18.1.11:443","bytes_up":0,"bytes_down":0,"count":1,
 *    "ts":"2026-11-28T21:00:00.123Z"}}
 *
 * Versioning: "v" is checked before anything else, so a newer peer gets
 * "unsupported_version" (with "versions":[1] in the error reply) rather
 * than a complaint about keys it added; it then speaks 1 or hangs up.
 *
 * Everything here is pure (no I/O, no logging, no global state). Lines are
 * passed without their '\n'; a '\n' inside one is an error. No secret has a
 * field in these structures, and none may be added: events reach the audit
 * log and the API.
 */
#ifndef ENCLAVE_PROXYD_CTLMSG_H
#define ENCLAVE_PROXYD_CTLMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ip.h"

struct policy;

#define CTL_VERSION		1
#define CTL_LINE_MAX		(64 * 1024)	/* bytes, without the '\n' */
#define CTL_REQ_MAX		9007199254740991LL	/* 2^53 - 1 */
#define CTL_ID_PREFIX		"ses_"
#define CTL_ID_MAX		(4 + 64)	/* "ses_" + 1..64 of [A-Za-z0-9_-] */
#define CTL_TENANT_MAX		64		/* 1..64 of [a-z0-9_-] */
#define CTL_ALLOW_MAX		256		/* = POLICY_MAX_PATTERNS */
#define CTL_MAX_CONNECTIONS_MAX	1000000
#define CTL_HOST_MAX		255		/* event host, bytes */
#define CTL_REASON_MAX		63		/* 1..63 of [a-z0-9_] */
#define CTL_TS_LEN		24		/* 2026-11-28T21:00:00.123Z */
#define CTL_ERR_MESSAGE_MAX	1024

/* Error codes for replies. decode sets the first three; the daemon the rest. */
#define CTL_ERR_BAD_REQUEST		"bad_request"
#define CTL_ERR_UNSUPPORTED_VERSION	"unsupported_version"
#define CTL_ERR_TOO_LARGE		"too_large"
#define CTL_ERR_NOT_FOUND		"not_found"	/* no such session id */
#define CTL_ERR_EXISTS			"exists"	/* id or source in use */
#define CTL_ERR_LIMIT			"limit"		/* too many sessions */
#define CTL_ERR_INTERNAL		"internal"

/* An address and port, "198.18.1.10:443" or "[2001:db8::1]:443". */
struct ctl_endpoint {
	struct ip_addr	addr;		/* addr.family == 0: absent */
	uint16_t	port;
};

/* "[" + IPv6 + "]:" + port + NUL */
#define CTL_ENDPOINT_STRLEN	(IP_STRLEN + 8)

/*
 * Parse "a.b.c.d:port" (four decimal parts, no leading zeros) or
 * "[ipv6]:port"; port is decimal 1..65535 without leading zeros. Returns 0,
 * or -1 with *why (if why) set to a static reason.
 */
int ctl_endpoint_parse(const char *s, size_t len, struct ctl_endpoint *out,
    const char **why);
/* The form ctl_endpoint_parse() reads; -1 if it does not fit or is absent. */
int ctl_endpoint_format(const struct ctl_endpoint *ep, char *buf, size_t len);

bool ctl_session_id_valid(const char *s, size_t len);
bool ctl_binding_name_valid(const char *s, size_t len);
/* An HTTP field name (RFC 9110 token), 1..CTL_HEADER_NAME_MAX. */
bool ctl_header_name_valid(const char *s, size_t len);
bool ctl_tenant_valid(const char *s, size_t len);

enum ctl_op {
	CTL_OP_INVALID = 0,
	CTL_OP_HELLO,
	CTL_OP_PING,
	CTL_OP_SESSION_ADD,
	CTL_OP_SESSION_UPDATE,
	CTL_OP_SESSION_DEL,
};

const char *ctl_op_name(enum ctl_op op);

/* 0 means "not given": proxyd applies its configured default. */
struct ctl_limits {
	uint32_t	max_connections;	/* 1..CTL_MAX_CONNECTIONS_MAX */
};

/*
 * A decoded request. Which fields are set depends on op: id for the
 * session ops; tenant, source, allow, policy and limits for session_add and
 * session_update.
 *
 * Ownership: after a successful decode, policy (built with policy_add, one
 * pattern per distinct allow entry) and allow belong to the request and
 * ctl_request_clear() frees them. The daemon may take the policy instead by
 * copying the pointer and setting req->policy = NULL before clearing.
 * allow holds the canonical form of each distinct pattern
 * (host_pattern_format), so nallow == policy_count(policy).
 *
 * For ctlmsg_request_encode() a caller may fill the fields itself (allow
 * pointing at its own strings, policy NULL); it must then not call
 * ctl_request_clear() on that struct.
 */
/*
 * A service binding as sessiond hands it to proxyd in session_add and
 * session_update ("bindings":[{...}], at most CTL_BINDINGS_MAX):
 *
 *   {"name":"github","hosts":["git.test","*.github.com"],
 *    "inject":{"type":"bearer"} | {"type":"basic","user":"x-access-token"}
 *            | {"type":"header","header":"X-Api-Key"},
 *    "secret":"…","allow_http":false}
 *
 * The secret travels only this way, sessiond to proxyd on the 0600
 * control socket: never in a reply, an event, a log line or an error
 * message (decode errors name the field, never quote the value). It is
 * 1..CTL_SECRET_MAX bytes of visible ASCII (0x21..0x7e), so it can never
 * split a header. hosts are allow patterns (host_pattern_*), 1..16 each;
 * they are implicitly allowed for the session. header is an HTTP field
 * name (token characters), user a basic-auth user (visible ASCII without
 * ':'). allow_http: inject into plain HTTP too (default: only inside TLS,
 * which proxyd then intercepts).
 */
#define CTL_BINDINGS_MAX	16
#define CTL_BINDING_HOSTS_MAX	16
#define CTL_BINDING_NAME_MAX	32
#define CTL_SECRET_MAX		4096
#define CTL_HEADER_NAME_MAX	64

enum ctl_inject {
	CTL_INJECT_BEARER = 0,	/* Authorization: Bearer SECRET */
	CTL_INJECT_BASIC,	/* Authorization: Basic base64(user:SECRET) */
	CTL_INJECT_HEADER,	/* HEADER: SECRET */
};

struct ctl_binding {
	char		 name[CTL_BINDING_NAME_MAX + 1];
	char		**hosts;	/* canonical patterns */
	size_t		 nhosts;
	enum ctl_inject	 inject;
	char		 header[CTL_HEADER_NAME_MAX + 1];	/* HEADER only */
	char		 user[CTL_HEADER_NAME_MAX + 1];		/* BASIC only */
	char		*secret;	/* NUL-terminated; wiped when freed */
	bool		 allow_http;
};

/* Frees what a decoded binding holds, wiping the secret first. */
void ctl_binding_clear(struct ctl_binding *b);

struct ctl_request {
	enum ctl_op	 op;
	long long	 req;		/* -1: the request carried no "req" */
	char		 id[CTL_ID_MAX + 1];
	char		 tenant[CTL_TENANT_MAX + 1];
	struct ip_addr	 source;
	char		**allow;
	size_t		 nallow;
	struct policy	*policy;
	struct ctl_limits limits;
	struct ctl_binding *bindings;	/* session_add/update; owned */
	size_t		 nbindings;
	const char	*err_code;	/* after a failed decode: a CTL_ERR_* */
};

/*
 * Decode one request line (without its '\n'). On success returns 0 and out
 * owns what it holds. On failure returns -1, err holds a message for the
 * reply ("id: must be …", "unknown key \"x\"", "allow[2]: invalid allow
 * pattern \"*.\": …"), out->err_code the reply code and out->req the
 * request's "req" if it could be read (else -1), so the daemon can always
 * answer with ctlmsg_reply_err(out->req, out->err_code, err, …); nothing
 * else in out needs freeing, though ctl_request_clear() is harmless.
 * out is overwritten, not cleared: clear a previous request first.
 */
int ctlmsg_decode(const char *line, size_t len, struct ctl_request *out,
    char *err, size_t errlen);

/* Frees what decode allocated and zeroes the struct (req becomes -1). */
void ctl_request_clear(struct ctl_request *r);

/*
 * Encode a request as one line without '\n' into *line (malloc'd; free()).
 * Returns 0, or -1 if a field is invalid (the same rules as decode) or on
 * ENOMEM. req->req < 0 omits "req"; zero limits are omitted.
 */
int ctlmsg_request_encode(const struct ctl_request *req, char **line);

/* Replies; req < 0 omits "req". Each returns 0 and a malloc'd line, or -1. */
int ctlmsg_reply_ok(long long req, char **line);
/* The answer to hello: ok plus "versions":[1]. */
int ctlmsg_reply_hello(long long req, char **line);
/* code CTL_ERR_UNSUPPORTED_VERSION also gets "versions":[1]. A message
 * that is not valid UTF-8 has its bytes >= 0x80 replaced by '?'. */
int ctlmsg_reply_err(long long req, const char *code, const char *message,
    char **line);

/* A decoded reply, for sessiond. */
struct ctl_reply {
	long long	req;		/* -1: absent */
	bool		ok;
	char		code[32];	/* "" when ok */
	char		message[CTL_ERR_MESSAGE_MAX + 1];
	unsigned int	versions;	/* bit v set: version v offered (1..31) */
};

int ctlmsg_reply_decode(const char *line, size_t len, struct ctl_reply *out,
    char *err, size_t errlen);

enum ctl_event_type {
	CTL_EVENT_EGRESS_ALLOWED = 0,
	CTL_EVENT_EGRESS_DENIED,
	CTL_EVENT_SECRET_INJECTED,	/* binding names which; never the value */
};

enum ctl_proto {
	CTL_PROTO_HTTP = 0,
	CTL_PROTO_TLS,
	CTL_PROTO_TCP,
	CTL_PROTO_DNS,
};

/*
 * One decision. Strings are NUL-terminated. host is what the client asked
 * for (a name, an address, or "" for raw TCP judged on the destination) and
 * is hostile: any bytes but NUL, which the encoder escapes so the event
 * stays one line. session and tenant are "" for a source that belongs to no
 * session (reason "unknown_source"); then source says who it was.
 */
struct ctl_event {
	enum ctl_event_type type;
	char		 session[CTL_ID_MAX + 1];	/* "" : omitted */
	char		 tenant[CTL_TENANT_MAX + 1];	/* "" : omitted */
	struct ip_addr	 source;			/* family 0: omitted */
	char		 host[CTL_HOST_MAX + 1];
	uint16_t	 port;
	enum ctl_proto	 proto;
	char		 reason[CTL_REASON_MAX + 1];	/* "allowed", "not_allowlisted", … */
	/* secret_injected: which binding ("" : omitted); never its secret. */
	char		 binding[CTL_BINDING_NAME_MAX + 1];
	struct ctl_endpoint orig_dst;			/* absent: omitted */
	struct ctl_endpoint connected;			/* absent: omitted */
	uint64_t	 bytes_up;			/* at most INT64_MAX */
	uint64_t	 bytes_down;
	uint32_t	 count;				/* >= 1; coalesced denials */
	int64_t		 ts_ms;				/* ms since the epoch, UTC */
};

const char *ctl_event_type_name(enum ctl_event_type t);
const char *ctl_proto_name(enum ctl_proto p);

/*
 * One line without '\n' into *line (malloc'd; free()). A host that is not
 * valid UTF-8 has its bytes >= 0x80 replaced by '?' (JSON strings are
 * UTF-8); anything else round-trips through ctlmsg_event_decode().
 * Returns -1 on an invalid field or ENOMEM.
 */
int ctlmsg_event_encode(const struct ctl_event *ev, char **line);

/*
 * Decode an event line. Returns 0, or 1 if the line is a well-formed
 * version-1 object without an "event" key (a reply: try
 * ctlmsg_reply_decode()), or -1 with err set.
 */
int ctlmsg_event_decode(const char *line, size_t len, struct ctl_event *out,
    char *err, size_t errlen);

#endif /* ENCLAVE_PROXYD_CTLMSG_H */
