/*
 * One session, from POST to the end of its record: the lifecycle of
 * DESIGN.md on top of netns/, rules/, proxyd's control socket and a
 * SessionBackend.
 *
 *   session_start()  pending → starting: address, state file, netns + veth,
 *                    nft elements, proxyd policy, backend start → running;
 *                    any failure unwinds every earlier step → error
 *   (event loop)     output and result pipes read with caps; the backend's
 *                    wait fd; the timeout timer
 *   session_end()    barrier with proxyd, result_collected, workload_exited,
 *                    usage_metered, teardown → succeeded | failed |
 *                    timed_out | killed
 *   session_free()   the one teardown of the object (after its record is
 *                    dropped or at shutdown)
 *
 * Every step is an audit event; nothing here branches on the backend.
 */
#ifndef ENCLAVE_SESSIOND_SESSION_H
#define ENCLAVE_SESSIOND_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <jansson.h>

#include "common/ip.h"
#include "netns/session.h"
#include "rules/table.h"
#include "sessiond/backend.h"
#include "sessiond/phase.h"
#include "sessiond/request.h"

struct sessiond;
struct event;
struct evhttp_request;

#define SESSION_ID_LEN		(4 + 24)	/* "ses_" + 24 hex */
#define SESSION_RESULT_MAX	(1024 * 1024)	/* result JSON, bytes */
/* After the workload ended, how long its pipes may stay open. */
#define SESSION_DRAIN_MS	2000

enum session_pipe { SP_STDOUT = 0, SP_STDERR, SP_RESULT, SP_N };

struct session_capture {
	int		 fd;		/* read end; -1 at EOF */
	struct event	*ev;
	char		*buf;
	size_t		 len;		/* kept */
	size_t		 alloc;		/* size of buf */
	size_t		 cap;		/* keep at most this */
	uint64_t	 total;		/* read, kept or not */
	bool		 truncated;
};

/* A request held open until the session ends: a POST with "wait":true
 * (answered with the session) or a DELETE (204, then the record goes). */
enum { WAITER_CREATE = 0, WAITER_DELETE };

struct session_waiter {
	struct evhttp_request	*req;
	struct session		*s;
	int			 kind;
	TAILQ_ENTRY(session_waiter) entry;
};

struct session {
	struct sessiond		*sd;
	TAILQ_ENTRY(session)	 entry;
	char			 id[SESSION_ID_LEN + 1];
	char			 tenant[65];
	char			 backend[REQUEST_NAME_MAX + 1];
	enum session_language	 language;
	enum phase		 phase;
	struct session_request	 req;		/* code, allow, limits */
	int64_t			 created_ms;	/* realtime */
	int64_t			 finished_ms;	/* 0 while live */
	uint64_t		 start_mono;	/* monotonic, for wall_ms */

	/* Outcome. */
	bool			 has_exit;
	int			 exit_code;
	int			 signal;
	bool			 oom;
	bool			 timed_out;
	bool			 killed;	/* DELETE */
	char			*error;		/* why it ended in error */
	json_t			*result;
	char			*result_error;
	uint64_t		 cpu_ms, wall_ms, mem_peak_bytes, boot_ms;
	uint64_t		 egress_bytes;

	/* What is set up, for the unwinding and the teardown. */
	bool			 have_addr;
	bool			 have_state;
	bool			 have_net;
	bool			 have_rules;
	bool			 have_proxy;
	uint32_t		 slot;		/* address pair index */
	struct ip_addr		 host_addr, sess_addr;
	char			 netns_name[32];
	char			 host_if[16];
	struct netns_session	 net;
	struct rules_session	 rs;
	const struct session_backend *be;
	struct backend_run	*run;
	struct event		*wait_ev;
	struct event		*timer;
	bool			 exited;	/* backend reported the end */
	struct backend_status	 status;
	struct session_capture	 cap[SP_N];
	unsigned int		 nflog_audited;
	uint64_t		 nflog_unaudited;
	TAILQ_HEAD(, session_waiter) waiters;
};

/*
 * Take the decoded request (moved out of *req) and run the session's setup
 * and start. Returns the session (in the daemon's table) even when it
 * ended in error during setup; NULL only when it could not be created at
 * all (ENOMEM), with err set.
 */
struct session *session_start(struct sessiond *sd, const char *tenant,
    struct session_request *req, char *err, size_t errlen);

/* DELETE of a live session: kill it; it ends as killed. */
void session_kill(struct session *s);

/* The API's view (DESIGN.md, GET /v1/sessions/{id}). New reference. */
json_t *session_to_json(const struct session *s);

/* Terminal sessions only: the one teardown of the object. */
void session_free(struct session *s);

struct ctl_binding;

/*
 * The session's bindings as proxyd takes them, secrets read from their
 * files or variables now (never kept). session_bindings_free() wipes the
 * secrets. 0, or -1 with err (which never holds a secret).
 */
int session_bindings(const struct session *s, struct ctl_binding **out,
    size_t *nout, char *err, size_t errlen);
void session_bindings_free(struct ctl_binding *b, size_t n);

/* A new session's id: "ses_" + 24 hex digits from getrandom(). */
int session_id_new(char *out, size_t len);

/* Bytes as a JSON string: invalid UTF-8 becomes U+FFFD. New reference. */
json_t *session_json_bytes(const char *buf, size_t len);

#endif
