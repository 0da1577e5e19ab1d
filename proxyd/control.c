#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "proxyd/control.h"
#include "proxyd/ctlmsg.h"
#include "rules/policy.h"

struct control_client {
	struct control *ctl;
	struct bufferevent *bev;
};

struct control {
	struct event_base *base;
	struct server *srv;
	struct evconnlistener *listener;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	pthread_mutex_t lock;		/* guards clients: events come from any worker */
	struct control_client *clients[CONTROL_CLIENTS_MAX];
	unsigned long long dropped;
};

/* Caller holds ctl->lock. With no client to broadcast to, the events
 * need not be encoded for us (an atomic: the events lock is not taken
 * under ours, the broadcast takes them in the other order). */
static void
clients_changed(struct control *ctl)
{
	size_t i;

	for (i = 0; i < CONTROL_CLIENTS_MAX && ctl->clients[i] == NULL; i++)
		;
	events_set_sink_live(ctl->srv->events, i < CONTROL_CLIENTS_MAX);
}

static void
client_free(struct control_client *cc)
{
	struct control *ctl = cc->ctl;
	size_t i;

	pthread_mutex_lock(&ctl->lock);
	for (i = 0; i < CONTROL_CLIENTS_MAX; i++)
		if (ctl->clients[i] == cc)
			ctl->clients[i] = NULL;
	clients_changed(ctl);
	pthread_mutex_unlock(&ctl->lock);
	bufferevent_free(cc->bev);
	free(cc);
}

static void
client_send(struct control_client *cc, char *line)
{
	if (line == NULL)
		return;
	/* One line, whole: workers broadcast events into the same buffer,
	 * and one landing between a reply and its newline glued two JSON
	 * documents together (sessiond's ping every 2 s made it common). */
	bufferevent_lock(cc->bev);
	bufferevent_write(cc->bev, line, strlen(line));
	bufferevent_write(cc->bev, "\n", 1);
	bufferevent_unlock(cc->bev);
	free(line);
}

/* Applies one decoded request to the session table; the reply says how. */
static char *
control_apply(struct control *ctl, struct ctl_request *req)
{
	struct px_session *s;
	struct cidr src;
	char *line = NULL;
	int rc;

	switch (req->op) {
	case CTL_OP_HELLO:
		ctlmsg_reply_hello(req->req, &line);
		return line;
	case CTL_OP_PING:
		/* A barrier for sessiond: denials still being folded go out
		 * first, ahead of the reply on the same stream. */
		events_flush(ctl->srv->events);
		ctlmsg_reply_ok(req->req, &line);
		return line;
	case CTL_OP_SESSION_DEL:
		if (session_table_del(ctl->srv->sessions, req->id) == -1) {
			ctlmsg_reply_err(req->req, CTL_ERR_NOT_FOUND, "no such session",
			    &line);
			return line;
		}
		ctlmsg_reply_ok(req->req, &line);
		return line;
	case CTL_OP_SESSION_ADD:
	case CTL_OP_SESSION_UPDATE:
		break;
	default:
		ctlmsg_reply_err(req->req, CTL_ERR_BAD_REQUEST, "unknown op", &line);
		return line;
	}
	memset(&src, 0, sizeof(src));
	src.addr = req->source;
	src.prefix = req->source.family == AF_INET ? 32 : 128;
	/* The session takes the decoded policy. */
	s = px_session_new(req->id, req->tenant, &src, req->policy,
	    req->limits.max_connections);
	req->policy = NULL;
	if (s == NULL) {
		ctlmsg_reply_err(req->req, CTL_ERR_INTERNAL, "out of memory", &line);
		return line;
	}
	/* ... and its bindings, secrets included: from here on they are
	 * wiped when the session goes, not when the request is cleared. */
	rc = px_session_set_bindings(s, req->bindings, req->nbindings);
	req->bindings = NULL;
	req->nbindings = 0;
	if (rc == -1) {
		ctlmsg_reply_err(req->req, errno == EINVAL ? CTL_ERR_BAD_REQUEST :
		    CTL_ERR_INTERNAL, errno == EINVAL ? "invalid binding host" :
		    "out of memory", &line);
		px_session_unref(s);
		return line;
	}
	if (req->op == CTL_OP_SESSION_ADD)
		rc = session_table_add(ctl->srv->sessions, s);
	else
		rc = session_table_update(ctl->srv->sessions, s);
	if (rc == -1) {
		const char *code = errno == EEXIST ? CTL_ERR_EXISTS :
		    errno == ENOENT ? CTL_ERR_NOT_FOUND :
		    errno == ENOSPC ? CTL_ERR_LIMIT : CTL_ERR_BAD_REQUEST;
		const char *msg = errno == EEXIST ? "session id or source in use" :
		    errno == ENOENT ? "no such session" :
		    errno == ENOSPC ? "too many sessions" : "invalid session";

		ctlmsg_reply_err(req->req, code, msg, &line);
	} else {
		ctlmsg_reply_ok(req->req, &line);
	}
	px_session_unref(s);
	return line;
}

static void
client_read_cb(struct bufferevent *bev, void *arg)
{
	struct control_client *cc = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct ctl_request req;
	char err[512], *line, *reply;
	size_t len;

	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) != NULL) {
		memset(&req, 0, sizeof(req));
		if (ctlmsg_decode(line, len, &req, err, sizeof(err)) == -1) {
			reply = NULL;
			ctlmsg_reply_err(req.req, req.err_code ? req.err_code :
			    CTL_ERR_BAD_REQUEST, err, &reply);
		} else {
			reply = control_apply(cc->ctl, &req);
		}
		ctl_request_clear(&req);
		free(line);
		client_send(cc, reply);
	}
	/* A line longer than the protocol allows ends the conversation. */
	if (evbuffer_get_length(in) > CTL_LINE_MAX) {
		reply = NULL;
		ctlmsg_reply_err(-1, CTL_ERR_TOO_LARGE, "line too long", &reply);
		client_send(cc, reply);
		bufferevent_disable(bev, EV_READ);
		evbuffer_drain(in, evbuffer_get_length(in));
	}
}

static void
client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		client_free(arg);
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct control *ctl = arg;
	struct control_client *cc;
	size_t i;

	(void)l;
	(void)sa;
	(void)salen;
	if ((cc = calloc(1, sizeof(*cc))) == NULL) {
		close(fd);
		return;
	}
	cc->ctl = ctl;
	/*
	 * Thread-safe: events are written into it from every worker. Our
	 * callbacks run deferred and unlocked, so the lock order is always
	 * ctl->lock before the bufferevent's lock.
	 */
	cc->bev = bufferevent_socket_new(ctl->base, fd, BEV_OPT_CLOSE_ON_FREE |
	    BEV_OPT_THREADSAFE | BEV_OPT_DEFER_CALLBACKS | BEV_OPT_UNLOCK_CALLBACKS);
	if (cc->bev == NULL) {
		close(fd);
		free(cc);
		return;
	}
	pthread_mutex_lock(&ctl->lock);
	for (i = 0; i < CONTROL_CLIENTS_MAX && ctl->clients[i] != NULL; i++)
		;
	if (i < CONTROL_CLIENTS_MAX)
		ctl->clients[i] = cc;
	clients_changed(ctl);
	pthread_mutex_unlock(&ctl->lock);
	if (i == CONTROL_CLIENTS_MAX) {
		log_warnx("control: too many clients");
		bufferevent_free(cc->bev);
		free(cc);
		return;
	}
	bufferevent_setcb(cc->bev, client_read_cb, NULL, client_event_cb, cc);
	bufferevent_enable(cc->bev, EV_READ | EV_WRITE);
}

void
control_broadcast(const char *line, size_t len, void *arg)
{
	struct control *ctl = arg;
	struct evbuffer *out;
	size_t i;

	pthread_mutex_lock(&ctl->lock);
	for (i = 0; i < CONTROL_CLIENTS_MAX; i++) {
		if (ctl->clients[i] == NULL)
			continue;
		out = bufferevent_get_output(ctl->clients[i]->bev);
		if (evbuffer_get_length(out) + len + 1 > CONTROL_BACKLOG_MAX) {
			ctl->dropped++;
			metrics_events_dropped(ctl->srv->metrics, 1);
			continue;
		}
		bufferevent_lock(ctl->clients[i]->bev);	/* client_send's */
		bufferevent_write(ctl->clients[i]->bev, line, len);
		bufferevent_write(ctl->clients[i]->bev, "\n", 1);
		bufferevent_unlock(ctl->clients[i]->bev);
	}
	pthread_mutex_unlock(&ctl->lock);
}

struct control *
control_new(struct event_base *base, struct server *srv, const char *path,
    char *err, size_t errlen)
{
	struct control *ctl;
	struct sockaddr_un sun;
	struct stat st;
	mode_t old;
	int fd;

	if ((ctl = calloc(1, sizeof(*ctl))) == NULL) {
		snprintf(err, errlen, "control: out of memory");
		return NULL;
	}
	ctl->base = base;
	ctl->srv = srv;
	pthread_mutex_init(&ctl->lock, NULL);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "control socket %s: path too long", path);
		goto fail;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	/* A stale socket from a crash is replaced; a live one (another proxyd)
	 * or anything that is not a socket is left alone. */
	if (lstat(path, &st) == 0) {
		int probe;

		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "control socket %s: exists and is not a socket",
			    path);
			goto fail;
		}
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe != -1 && connect(probe, (struct sockaddr *)&sun,
		    sizeof(sun)) == 0) {
			close(probe);
			snprintf(err, errlen, "control socket %s: in use by a running "
			    "process", path);
			goto fail;
		}
		if (probe != -1)
			close(probe);
		unlink(path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "control socket: %s", strerror(errno));
		goto fail;
	}
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(fd, 16) == -1) {
		snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
		umask(old);
		close(fd);
		goto fail;
	}
	umask(old);
	snprintf(ctl->path, sizeof(ctl->path), "%s", path);
	ctl->listener = evconnlistener_new(base, accept_cb, ctl,
	    LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (ctl->listener == NULL) {
		snprintf(err, errlen, "control socket %s: listener failed", path);
		close(fd);
		unlink(path);
		ctl->path[0] = '\0';
		goto fail;
	}
	pthread_mutex_lock(&ctl->lock);
	clients_changed(ctl);		/* none yet */
	pthread_mutex_unlock(&ctl->lock);
	return ctl;
fail:
	pthread_mutex_destroy(&ctl->lock);
	free(ctl);
	return NULL;
}

void
control_free(struct control *ctl)
{
	size_t i;

	if (ctl == NULL)
		return;
	if (ctl->listener != NULL)
		evconnlistener_free(ctl->listener);
	for (i = 0; i < CONTROL_CLIENTS_MAX; i++) {
		if (ctl->clients[i] != NULL) {
			bufferevent_free(ctl->clients[i]->bev);
			free(ctl->clients[i]);
		}
	}
	if (ctl->path[0] != '\0')
		unlink(ctl->path);
	pthread_mutex_destroy(&ctl->lock);
	free(ctl);
}

unsigned long long
control_dropped(struct control *ctl)
{
	unsigned long long n;

	pthread_mutex_lock(&ctl->lock);
	n = ctl->dropped;
	pthread_mutex_unlock(&ctl->lock);
	return n;
}
