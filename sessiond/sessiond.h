/*
 * The daemon's shared state: what the session layer, the API and the
 * reconciler all reach through one pointer. One instance per process,
 * owned by daemon.c; nothing here is global.
 */
#ifndef ENCLAVE_SESSIOND_SESSIOND_H
#define ENCLAVE_SESSIOND_SESSIOND_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <jansson.h>

#include "netns/addrpool.h"
#include "rules/table.h"
#include "sessiond/session.h"

struct audit_log;
struct event;
struct event_base;
struct evhttp;
struct nflog;
struct nft_sock;
struct proxyc;
struct sdconfig;

/* How long one call to proxyd may take before the step fails. */
#define SESSIOND_PROXY_TIMEOUT_MS	3000

TAILQ_HEAD(session_list, session);

struct sessiond {
	struct sdconfig		*cfg;
	struct event_base	*base;
	struct audit_log	*audit;
	char			 audit_path[PATH_MAX];
	struct proxyc		*proxy;
	struct event		*proxy_ev;
	struct event		*proxy_retry;
	struct nflog		*nflog;
	struct event		*nflog_ev;
	struct nft_sock		*nft;
	struct rules_config	 rcfg;
	struct addrpool		 pool;
	int			 appliance_nsfd;	/* -1: our own netns */
	char			 state_dir[PATH_MAX];	/* .../sessions */
	char			 run_dir[PATH_MAX];	/* .../run: backends' */
	/* What every sandbox gets at /opt/enclave: the result helpers and
	 * the trust bundle (helpers + ca-bundle.pem), made at start. */
	char			 sandbox_files[PATH_MAX];
	struct session_list	 sessions;	/* newest last */
	unsigned int		 live;		/* non-terminal sessions */
	unsigned int		 finished;	/* terminal records kept */
	struct evhttp		*http_unix;
	struct evhttp		*http_tcp;
	int			 unix_fd;
	char			 socket_path[PATH_MAX];
	struct event		*sig_term, *sig_int, *sig_hup;
	bool			 stopping;
	uint64_t		 sessions_started;
	uint64_t		 sessions_failed;
	uint64_t		 audit_errors;
	bool			 audit_ok;	/* false after a failed append */
	uint64_t		 nflog_unmatched;
};

/*
 * Append one audit event for s (NULL: a daemon-level event) and take the
 * reference to data (NULL: {}). 0, or -1 when it could not be written:
 * then the log is marked unavailable (new sessions are refused, health
 * says 503) and s, if still running, is killed: nothing runs unaudited.
 */
int sessiond_audit(struct sessiond *sd, const struct session *s,
    const char *type, json_t *data);
/* 1 when the audit log takes appends (reopening it after a failure). */
int sessiond_audit_ready(struct sessiond *sd);

struct session *sessiond_find(struct sessiond *sd, const char *id);
/* The live session whose nft mark is mark, or NULL. */
struct session *sessiond_find_mark(struct sessiond *sd, uint32_t mark);
unsigned int sessiond_live_for(struct sessiond *sd, const char *tenant);

/* Called by the session layer when s reaches a terminal phase. */
void sessiond_session_ended(struct sessiond *sd, struct session *s);

/* DELETE: audit session_torn_down and drop the record (terminal only). */
void sessiond_session_remove(struct sessiond *sd, struct session *s);

/* State files, so a restarted daemon can clean up what a dead one
 * left running (reconcile.c). */
int sessiond_state_write(struct sessiond *sd, const struct session *s);
void sessiond_state_remove(struct sessiond *sd, const struct session *s);

/* Deliver any events proxyd has queued (a barrier when sync is set). */
void sessiond_proxy_sync(struct sessiond *sd);

#endif
