/*
 * The session API (DESIGN.md) over libevent's evhttp: a unix socket whose
 * peer uid names the tenant, and an optional TCP listener that wants a
 * bearer key. Every answer is JSON; every failure is
 * {"error":{"code","message"}} with its status.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "common/audit.h"
#include "common/err.h"
#include "common/log.h"
#include "netns/ns.h"
#include "rules/dump.h"
#include "sessiond/api.h"
#include "sessiond/proxyc.h"
#include "sessiond/sdconfig.h"
#include "sessiond/session.h"
#include "sessiond/sessiond.h"

#define API_HEADERS_MAX		(16 * 1024)
#define API_IDLE_TIMEOUT_S	60

struct caller {
	char tenant[65];
	bool operator;
};

/* Which listener a request came in on. */
struct api_listener {
	struct sessiond *sd;
	bool tcp;
};

static struct api_listener unix_listener, tcp_listener;

static void
reply_json(struct evhttp_request *req, int status, json_t *body)
{
	struct evbuffer *b;
	char *text = NULL;

	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	if ((b = evbuffer_new()) == NULL) {
		json_decref(body);
		evhttp_send_error(req, 500, NULL);
		return;
	}
	if (body != NULL)
		text = json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (text == NULL)
		status = 500, text = strdup("{\"error\":{\"code\":\"internal\","
		    "\"message\":\"out of memory\"}}");
	if (text != NULL) {
		evbuffer_add(b, text, strlen(text));
		evbuffer_add(b, "\n", 1);
	}
	evhttp_send_reply(req, status, NULL, b);
	evbuffer_free(b);
	free(text);
	json_decref(body);
}

static void
reply_error(struct evhttp_request *req, int status, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
reply_error(struct evhttp_request *req, int status, const char *code,
    const char *fmt, ...)
{
	struct api_error e;
	char msg[API_ERROR_MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	api_error_set(&e, status, code, "%s", msg);
	reply_json(req, status, api_error_json(&e));
}

static void
reply_api_error(struct evhttp_request *req, const struct api_error *e)
{
	reply_json(req, e->status, api_error_json(e));
}

/* Who is calling: the unix peer's uid, or the bearer key. */
static int
authenticate(struct api_listener *l, struct evhttp_request *req,
    struct caller *c)
{
	const struct sdconfig *cfg = l->sd->cfg;
	struct evhttp_connection *evcon;
	struct bufferevent *bev;
	struct ucred uc;
	socklen_t ulen = sizeof(uc);
	const char *h;

	memset(c, 0, sizeof(*c));
	if (l->tcp) {
		const struct sdconfig_key *k;

		h = evhttp_find_header(evhttp_request_get_input_headers(req),
		    "Authorization");
		if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
			evhttp_add_header(evhttp_request_get_output_headers(req),
			    "WWW-Authenticate", "Bearer");
			reply_error(req, 401, "unauthorized",
			    "this listener needs Authorization: Bearer <key>");
			return -1;
		}
		if ((k = sdconfig_key_lookup(cfg, h + 7, strlen(h + 7))) ==
		    NULL) {
			reply_error(req, 401, "unauthorized", "unknown API key");
			return -1;
		}
		snprintf(c->tenant, sizeof(c->tenant), "%s", k->tenant);
		c->operator = k->operator;
		return 0;
	}
	evcon = evhttp_request_get_connection(req);
	bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	if (bev == NULL || getsockopt(bufferevent_getfd(bev), SOL_SOCKET,
	    SO_PEERCRED, &uc, &ulen) == -1) {
		reply_error(req, 500, "internal", "cannot read peer credentials");
		return -1;
	}
	{
		const struct sdconfig_tenant_map *t;

		if ((t = sdconfig_tenant_by_uid(cfg, uc.uid)) == NULL) {
			reply_error(req, 401, "unauthorized",
			    "uid %u is not mapped to a tenant (add a "
			    "\"tenant NAME uid %u\" line to sessiond's config)",
			    (unsigned)uc.uid, (unsigned)uc.uid);
			return -1;
		}
		snprintf(c->tenant, sizeof(c->tenant), "%s", t->tenant);
		c->operator = t->operator;
	}
	return 0;
}

static char *
request_body(struct evhttp_request *req, size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	char *buf;

	*len = evbuffer_get_length(in);
	if ((buf = malloc(*len + 1)) == NULL)
		return NULL;
	evbuffer_copyout(in, buf, *len);
	buf[*len] = '\0';
	return buf;
}

static void
waiter_closed(struct evhttp_connection *evcon, void *arg)
{
	struct session_waiter *w = arg;

	(void)evcon;
	/* The caller hung up: the session runs on, nobody is told. */
	TAILQ_REMOVE(&w->s->waiters, w, entry);
	free(w);
}

static int
add_waiter(struct session *s, struct evhttp_request *req, int kind)
{
	struct session_waiter *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return -1;
	w->req = req;
	w->s = s;
	w->kind = kind;
	TAILQ_INSERT_TAIL(&s->waiters, w, entry);
	evhttp_connection_set_closecb(evhttp_request_get_connection(req),
	    waiter_closed, w);
	return 0;
}

static int
check_bindings(struct sessiond *sd, const struct session_request *r,
    const char *tenant, struct api_error *e)
{
	const struct sdconfig_binding *b;
	size_t i;

	for (i = 0; i < r->nbindings; i++) {
		if ((b = sdconfig_binding(sd->cfg, r->bindings[i])) == NULL) {
			api_error_set(e, 400, "unknown_binding",
			    "bindings[%zu]: no binding named \"%s\" is "
			    "configured", i, r->bindings[i]);
			return -1;
		}
		if (!sdconfig_binding_allowed(b, tenant)) {
			api_error_set(e, 403, "forbidden_binding",
			    "bindings[%zu]: tenant %s may not use binding "
			    "\"%s\"", i, tenant, r->bindings[i]);
			return -1;
		}
	}
	return 0;
}

static void
post_session(struct sessiond *sd, struct evhttp_request *req,
    const struct caller *c)
{
	struct session_request r;
	const struct session_backend *be;
	struct api_error e;
	struct session *s;
	char *body, why[256], err[256];
	size_t len;

	if (sd->stopping) {
		reply_error(req, 503, "unavailable", "sessiond is shutting down");
		return;
	}
	if ((body = request_body(req, &len)) == NULL) {
		reply_error(req, 500, "internal", "out of memory");
		return;
	}
	memset(&r, 0, sizeof(r));
	if (session_request_decode(body, len, &sd->cfg->limits, &r, &e) ==
	    -1) {
		free(body);
		reply_api_error(req, &e);
		return;
	}
	free(body);
	if ((be = backend_find(r.backend)) == NULL) {
		reply_error(req, 400, "unknown_backend",
		    "backend: no backend named \"%s\" (GET /v1/backends "
		    "lists them)", r.backend);
		goto out;
	}
	if (!be->probe(sd->cfg, why, sizeof(why))) {
		reply_error(req, 503, "backend_unavailable",
		    "backend %s is not available here: %s", be->name, why);
		goto out;
	}
	if (check_bindings(sd, &r, c->tenant, &e) == -1) {
		reply_api_error(req, &e);
		goto out;
	}
	if (sd->live >= sd->cfg->max_sessions) {
		reply_error(req, 429, "too_many_sessions",
		    "%u sessions are running, the limit is %u; retry later",
		    sd->live, sd->cfg->max_sessions);
		goto out;
	}
	if (sessiond_live_for(sd, c->tenant) >=
	    sd->cfg->max_sessions_per_tenant) {
		reply_error(req, 429, "too_many_sessions",
		    "tenant %s has %u sessions running, its limit; retry later",
		    c->tenant, sd->cfg->max_sessions_per_tenant);
		goto out;
	}
	if (!sessiond_audit_ready(sd)) {
		reply_error(req, 503, "audit_unavailable", "the audit log cannot "
		    "be written; no session runs unaudited (see sessiond's log)");
		goto out;
	}
	if ((s = session_start(sd, c->tenant, &r, err, sizeof(err))) == NULL) {
		if (!sd->audit_ok)
			reply_error(req, 503, "audit_unavailable", "%s; no session "
			    "runs unaudited (see sessiond's log)", err);
		else
			reply_error(req, 500, "internal", "%s", err);
		goto out;
	}
	if (s->req.wait && !phase_is_terminal(s->phase) &&
	    add_waiter(s, req, WAITER_CREATE) == 0)
		return;
	reply_json(req, 201, session_to_json(s));
out:
	session_request_clear(&r);
}

/* A session the caller may see, or a 404 that says nothing more. */
static struct session *
caller_session(struct sessiond *sd, struct evhttp_request *req,
    const struct caller *c, const char *id)
{
	struct session *s = sessiond_find(sd, id);

	if (s == NULL || strcmp(s->tenant, c->tenant) != 0) {
		reply_error(req, 404, "not_found", "no session %s", id);
		return NULL;
	}
	return s;
}

struct audit_filter {
	const char *session;
	const char *tenant;
	json_t *events;
	bool foreign;		/* the session exists under another tenant */
};

static int
audit_filter_cb(json_t *ev, void *arg)
{
	struct audit_filter *f = arg;
	const char *sess, *ten;

	if (f->session != NULL) {
		sess = json_string_value(json_object_get(ev, "session"));
		if (sess == NULL || strcmp(sess, f->session) != 0)
			return 0;
		ten = json_string_value(json_object_get(ev, "tenant"));
		if (ten == NULL || strcmp(ten, f->tenant) != 0) {
			f->foreign = true;
			return 0;
		}
	}
	json_array_append(f->events, ev);
	return 0;
}

/* A session's events come from the log itself, so they outlive DELETE and
 * a restart; the tenant check uses the tenant each event was written with. */
static void
get_session_audit(struct sessiond *sd, struct evhttp_request *req,
    const struct caller *c, const char *id)
{
	struct audit_filter f = { id, c->tenant, json_array(), false };
	struct audit_verify_result res;

	if (f.events == NULL) {
		reply_error(req, 500, "internal", "out of memory");
		return;
	}
	if (sd->audit != NULL && audit_flush(sd->audit) == -1)
		log_warnx("audit: flush: %s", audit_error(sd->audit));
	if (audit_read(sd->audit_path, 0, audit_filter_cb, &f, &res) == -1 &&
	    res.bad_line != 0) {
		json_decref(f.events);
		reply_error(req, 500, "audit_corrupt", "audit log: %s",
		    res.message);
		return;
	}
	if (json_array_size(f.events) == 0) {
		json_decref(f.events);
		reply_error(req, 404, "not_found", "no session %s", id);
		return;
	}
	reply_json(req, 200, json_pack("{s:o}", "events", f.events));
}

static void
get_global_audit(struct sessiond *sd, struct evhttp_request *req,
    const char *query)
{
	struct audit_filter f = { NULL, NULL, json_array(), false };
	struct audit_verify_result res;
	struct evkeyvalq q;
	const char *v;
	unsigned long long after = 0;
	bool raw = false;
	char *end;

	TAILQ_INIT(&q);
	if (query != NULL && evhttp_parse_query_str(query, &q) == -1) {
		json_decref(f.events);
		reply_error(req, 400, "invalid_request", "malformed query");
		return;
	}
	if ((v = evhttp_find_header(&q, "after")) != NULL) {
		errno = 0;
		after = strtoull(v, &end, 10);
		if (errno != 0 || *v < '0' || *v > '9' || *end != '\0') {
			evhttp_clear_headers(&q);
			json_decref(f.events);
			reply_error(req, 400, "invalid_request",
			    "after: must be a sequence number");
			return;
		}
	}
	if ((v = evhttp_find_header(&q, "format")) != NULL) {
		if (strcmp(v, "jsonl") == 0) {
			raw = true;
		} else if (strcmp(v, "json") != 0) {
			evhttp_clear_headers(&q);
			json_decref(f.events);
			reply_error(req, 400, "invalid_request",
			    "format: json or jsonl");
			return;
		}
	}
	evhttp_clear_headers(&q);
	if (sd->audit != NULL)
		(void)audit_flush(sd->audit);
	if (raw) {
		struct evbuffer *b = evbuffer_new();
		FILE *fp = fopen(sd->audit_path, "re");
		char chunk[65536];
		size_t n;

		json_decref(f.events);
		if (b == NULL || fp == NULL) {
			if (b != NULL)
				evbuffer_free(b);
			if (fp != NULL)
				fclose(fp);
			reply_error(req, 500, "internal", "cannot read the log");
			return;
		}
		while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
			evbuffer_add(b, chunk, n);
		fclose(fp);
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Content-Type", "application/jsonl");
		evhttp_send_reply(req, 200, NULL, b);
		evbuffer_free(b);
		return;
	}
	if (audit_read(sd->audit_path, after, audit_filter_cb, &f, &res) ==
	    -1 && res.bad_line != 0) {
		json_decref(f.events);
		reply_error(req, 500, "audit_corrupt", "audit log: %s",
		    res.message);
		return;
	}
	reply_json(req, 200, json_pack("{s:o, s:b}", "events", f.events,
	    "verified", 1));
}

static void
delete_session(struct sessiond *sd, struct evhttp_request *req,
    const struct caller *c, const char *id)
{
	struct session *s;

	if ((s = caller_session(sd, req, c, id)) == NULL)
		return;
	if (!phase_is_terminal(s->phase)) {
		if (add_waiter(s, req, WAITER_DELETE) == -1) {
			reply_error(req, 500, "internal", "out of memory");
			return;
		}
		session_kill(s);
		return;
	}
	sessiond_session_remove(sd, s);
	evhttp_send_reply(req, 204, NULL, NULL);
}

static void
get_backends(struct sessiond *sd, struct evhttp_request *req)
{
	const struct session_backend *const *all;
	json_t *a = json_array();
	char why[256];
	size_t n, i;
	int ok;

	all = backend_all(&n);
	for (i = 0; a != NULL && i < n; i++) {
		ok = all[i]->probe(sd->cfg, why, sizeof(why));
		json_array_append_new(a, json_pack("{s:s, s:s, s:b, s:s?}",
		    "name", all[i]->name, "isolation", all[i]->isolation,
		    "available", ok, "reason", ok ? NULL : why));
	}
	reply_json(req, 200, json_pack("{s:o}", "backends", a));
}

static void
get_rules(struct sessiond *sd, struct evhttp_request *req)
{
	char *text = NULL, *js = NULL, err[512];
	json_t *j;
	int saved = -1, rc;

	if (sd->appliance_nsfd != -1 &&
	    netns_enter(sd->appliance_nsfd, &saved) == -1) {
		reply_error(req, 500, "internal", "enter appliance netns: %s",
		    strerror(errno));
		return;
	}
	rc = rules_dump(RULES_DUMP_TEXT, &text, err, sizeof(err));
	if (rc == 0)
		rc = rules_dump(RULES_DUMP_JSON, &js, err, sizeof(err));
	if (saved != -1 && netns_leave(saved) == -1)
		fatal("cannot return from the appliance netns");
	if (rc == -1) {
		free(text);
		reply_error(req, 500, "internal", "rules dump: %s", err);
		return;
	}
	j = json_loads(js, 0, NULL);
	reply_json(req, 200, json_pack("{s:s, s:o}", "text", text,
	    "json", j ? j : json_null()));
	free(text);
	free(js);
}

static void
get_health(struct sessiond *sd, struct evhttp_request *req)
{
	bool proxy = sd->proxy != NULL, audit = sd->audit_ok;

	reply_json(req, proxy && audit ? 200 : 503,
	    json_pack("{s:b, s:b, s:b, s:I, s:I}", "ok", proxy && audit,
	    "proxyd", proxy, "audit", audit, "sessions_live",
	    (json_int_t)sd->live, "audit_errors",
	    (json_int_t)sd->audit_errors));
}

static void
get_metrics(struct sessiond *sd, struct evhttp_request *req)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	evbuffer_add_printf(b,
	    "# HELP enclave_sessiond_sessions_live Sessions not yet ended.\n"
	    "# TYPE enclave_sessiond_sessions_live gauge\n"
	    "enclave_sessiond_sessions_live %u\n"
	    "# HELP enclave_sessiond_sessions_started_total Sessions created.\n"
	    "# TYPE enclave_sessiond_sessions_started_total counter\n"
	    "enclave_sessiond_sessions_started_total %" PRIu64 "\n"
	    "# HELP enclave_sessiond_sessions_failed_total Sessions ended in "
	    "error.\n"
	    "# TYPE enclave_sessiond_sessions_failed_total counter\n"
	    "enclave_sessiond_sessions_failed_total %" PRIu64 "\n"
	    "# HELP enclave_sessiond_audit_errors_total Audit appends that "
	    "failed.\n"
	    "# TYPE enclave_sessiond_audit_errors_total counter\n"
	    "enclave_sessiond_audit_errors_total %" PRIu64 "\n"
	    "# HELP enclave_sessiond_proxyd_up 1 while the proxyd control "
	    "connection is up.\n"
	    "# TYPE enclave_sessiond_proxyd_up gauge\n"
	    "enclave_sessiond_proxyd_up %d\n",
	    sd->live, sd->sessions_started, sd->sessions_failed,
	    sd->audit_errors, sd->proxy != NULL);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; version=0.0.4");
	evhttp_send_reply(req, 200, NULL, b);
	evbuffer_free(b);
}

static void
list_sessions(struct sessiond *sd, struct evhttp_request *req,
    const struct caller *c)
{
	json_t *a = json_array();
	struct session *s;

	TAILQ_FOREACH(s, &sd->sessions, entry)
		if (a != NULL && strcmp(s->tenant, c->tenant) == 0)
			json_array_append_new(a, session_to_json(s));
	reply_json(req, 200, json_pack("{s:o}", "sessions", a));
}

static bool
id_ok(const char *id)
{
	size_t i;

	if (strlen(id) != SESSION_ID_LEN || strncmp(id, "ses_", 4) != 0)
		return false;
	for (i = 4; i < SESSION_ID_LEN; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		    (id[i] >= 'a' && id[i] <= 'f')))
			return false;
	return true;
}

static void
method_not_allowed(struct evhttp_request *req, const char *allow)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
	    allow);
	reply_error(req, 405, "method_not_allowed", "use %s", allow);
}

static void
api_cb(struct evhttp_request *req, void *arg)
{
	struct api_listener *l = arg;
	struct sessiond *sd = l->sd;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	char id[SESSION_ID_LEN + 16];
	struct caller c;
	struct session *s;
	const char *rest;
	size_t n;

	if (path == NULL) {
		reply_error(req, 400, "invalid_request", "malformed URI");
		return;
	}
	if (strcmp(path, "/v1/health") == 0) {
		if (m != EVHTTP_REQ_GET)
			method_not_allowed(req, "GET");
		else
			get_health(sd, req);
		return;
	}
	if (authenticate(l, req, &c) == -1)
		return;
	if (strcmp(path, "/metrics") == 0) {
		if (m != EVHTTP_REQ_GET)
			method_not_allowed(req, "GET");
		else
			get_metrics(sd, req);
		return;
	}
	if (strcmp(path, "/v1/sessions") == 0) {
		if (m == EVHTTP_REQ_POST)
			post_session(sd, req, &c);
		else if (m == EVHTTP_REQ_GET)
			list_sessions(sd, req, &c);
		else
			method_not_allowed(req, "GET, POST");
		return;
	}
	if (strcmp(path, "/v1/backends") == 0) {
		if (m != EVHTTP_REQ_GET)
			method_not_allowed(req, "GET");
		else
			get_backends(sd, req);
		return;
	}
	if (strcmp(path, "/v1/rules") == 0 || strcmp(path, "/v1/audit") == 0) {
		if (!c.operator) {
			reply_error(req, 403, "forbidden",
			    "%s is for operators only", path);
			return;
		}
		if (m != EVHTTP_REQ_GET)
			method_not_allowed(req, "GET");
		else if (path[4] == 'r')
			get_rules(sd, req);
		else
			get_global_audit(sd, req, evhttp_uri_get_query(uri));
		return;
	}
	if (strncmp(path, "/v1/sessions/", 13) == 0) {
		rest = path + 13;
		n = strcspn(rest, "/");
		if (n >= sizeof(id)) {
			reply_error(req, 404, "not_found", "no such session");
			return;
		}
		memcpy(id, rest, n);
		id[n] = '\0';
		rest += n;
		if (!id_ok(id)) {
			reply_error(req, 404, "not_found", "no such session");
			return;
		}
		if (strcmp(rest, "/audit") == 0) {
			if (m != EVHTTP_REQ_GET)
				method_not_allowed(req, "GET");
			else
				get_session_audit(sd, req, &c, id);
			return;
		}
		if (*rest != '\0') {
			reply_error(req, 404, "not_found", "no such endpoint");
			return;
		}
		if (m == EVHTTP_REQ_GET) {
			if ((s = caller_session(sd, req, &c, id)) != NULL)
				reply_json(req, 200, session_to_json(s));
		} else if (m == EVHTTP_REQ_DELETE) {
			delete_session(sd, req, &c, id);
		} else {
			method_not_allowed(req, "GET, DELETE");
		}
		return;
	}
	reply_error(req, 404, "not_found", "no such endpoint: %s", path);
}

int
api_session_ended(struct session *s)
{
	struct session_waiter *w;
	bool remove = false;

	while ((w = TAILQ_FIRST(&s->waiters)) != NULL) {
		TAILQ_REMOVE(&s->waiters, w, entry);
		evhttp_connection_set_closecb(
		    evhttp_request_get_connection(w->req), NULL, NULL);
		if (w->kind == WAITER_DELETE) {
			evhttp_send_reply(w->req, 204, NULL, NULL);
			remove = true;
		} else {
			reply_json(w->req, 201, session_to_json(s));
		}
		free(w);
	}
	if (remove) {
		sessiond_session_remove(s->sd, s);
		return 1;
	}
	return 0;
}

static struct evhttp *
api_http_new(struct sessiond *sd, struct api_listener *l)
{
	struct evhttp *h;

	if ((h = evhttp_new(sd->base)) == NULL)
		return NULL;
	/* Above the decoder's cap, so a body just over it gets the decoder's
	 * JSON 413; far bigger ones get evhttp's own 413. */
	evhttp_set_max_body_size(h, (ev_ssize_t)sd->cfg->limits.max_body_bytes * 2);
	evhttp_set_max_headers_size(h, API_HEADERS_MAX);
	evhttp_set_timeout(h, API_IDLE_TIMEOUT_S);
	evhttp_set_allowed_methods(h, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_DELETE | EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_OPTIONS);
	evhttp_set_gencb(h, api_cb, l);
	return h;
}

int
api_start(struct sessiond *sd, char *err, size_t errlen)
{
	const struct sdconfig *cfg = sd->cfg;
	struct sockaddr_un sun;
	struct stat st;
	mode_t old;
	int fd;

	unix_listener.sd = sd;
	unix_listener.tcp = false;
	tcp_listener.sd = sd;
	tcp_listener.tcp = true;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(cfg->socket) >= sizeof(sun.sun_path))
		return err_set(err, errlen, "socket path too long");
	strcpy(sun.sun_path, cfg->socket);
	/* A stale socket from a dead daemon goes; a live one is refused. */
	if (lstat(cfg->socket, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return err_set(err, errlen, "%s exists and is not a "
			    "socket", cfg->socket);
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) != -1) {
			if (connect(fd, (struct sockaddr *)&sun,
			    sizeof(sun)) == 0) {
				close(fd);
				return err_set(err, errlen, "%s: another "
				    "sessiond is listening", cfg->socket);
			}
			close(fd);
		}
		(void)unlink(cfg->socket);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1)
		return err_set(err, errlen, "socket: %s", strerror(errno));
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		close(fd);
		return err_set(err, errlen, "bind %s: %s", cfg->socket,
		    strerror(errno));
	}
	umask(old);
	if (chmod(cfg->socket, cfg->socket_mode) == -1 ||
	    listen(fd, 128) == -1) {
		close(fd);
		(void)unlink(cfg->socket);
		return err_set(err, errlen, "%s: %s", cfg->socket,
		    strerror(errno));
	}
	snprintf(sd->socket_path, sizeof(sd->socket_path), "%s", cfg->socket);
	if ((sd->http_unix = api_http_new(sd, &unix_listener)) == NULL ||
	    evhttp_accept_socket_with_handle(sd->http_unix, fd) == NULL) {
		close(fd);
		return err_set(err, errlen, "evhttp: out of memory");
	}
	if (cfg->tcp_listen.addr.family != 0) {
		char host[IP_STRLEN];

		if ((sd->http_tcp = api_http_new(sd, &tcp_listener)) == NULL)
			return err_set(err, errlen, "evhttp: out of memory");
		(void)ip_format(&cfg->tcp_listen.addr, host, sizeof(host));
		if (evhttp_bind_socket_with_handle(sd->http_tcp, host,
		    cfg->tcp_listen.port) == NULL)
			return err_set(err, errlen, "listen on %s port %u: %s",
			    host, cfg->tcp_listen.port, strerror(errno));
	}
	return 0;
}

void
api_stop(struct sessiond *sd)
{
	if (sd->http_unix != NULL) {
		evhttp_free(sd->http_unix);
		sd->http_unix = NULL;
		if (sd->socket_path[0] != '\0')
			(void)unlink(sd->socket_path);
	}
	if (sd->http_tcp != NULL) {
		evhttp_free(sd->http_tcp);
		sd->http_tcp = NULL;
	}
}
