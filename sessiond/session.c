/*
 * One session's lifecycle (session.h). Setup runs synchronously in the
 * event loop (each step is milliseconds); the workload's end, its pipes
 * and its timeout are events.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/file.h"
#include "common/log.h"
#include "netns/addrpool.h"
#include "netns/session.h"
#include "rules/nft.h"
#include "rules/policy.h"
#include "rules/ruleset.h"
#include "rules/txn.h"
#include "sessiond/fault.h"
#include "sessiond/proxyc.h"
#include "sessiond/sdconfig.h"
#include "sessiond/session.h"
#include "sessiond/sessiond.h"

static void session_finish(struct session *s);
static void session_fail(struct session *s, const char *step,
    const char *msg);

int
session_id_new(char *out, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[12];
	size_t i;

	if (len < SESSION_ID_LEN + 1)
		return -1;
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return -1;
	memcpy(out, "ses_", 4);
	for (i = 0; i < sizeof(r); i++) {
		out[4 + 2 * i] = hex[r[i] >> 4];
		out[4 + 2 * i + 1] = hex[r[i] & 15];
	}
	out[SESSION_ID_LEN] = '\0';
	return 0;
}

/* Length of the valid UTF-8 sequence at p, or 0. */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
	size_t need, i;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		need = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		need = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		need = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if (n < need)
		return 0;
	for (i = 1; i < need; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((need == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (need == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return need;
}

json_t *
session_json_bytes(const char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)buf;
	char *out;
	size_t i = 0, o = 0, k;
	json_t *j;

	/* Worst case every byte becomes the 3-byte U+FFFD. */
	if (len > (SIZE_MAX - 1) / 3 || (out = malloc(len * 3 + 1)) == NULL)
		return NULL;
	while (i < len) {
		k = p[i] == 0 ? 0 : utf8_seq(p + i, len - i);
		if (k == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(out + o, p + i, k);
		o += k;
		i += k;
	}
	j = json_stringn(out, o);
	free(out);
	return j;
}

static void
ts_format(int64_t ms, char *buf, size_t len)
{
	struct tm tm;
	time_t t = (time_t)(ms / 1000);

	if (gmtime_r(&t, &tm) == NULL || tm.tm_year > 8000 ||
	    (size_t)snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(ms % 1000)) >= len)
		snprintf(buf, len, "1970-01-01T00:00:00.000Z");
}

static json_t *
ts_json(int64_t ms)
{
	char buf[32];

	if (ms <= 0)
		return json_null();
	ts_format(ms, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *
allow_json(const struct session_request *r)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < r->nallow; i++)
		json_array_append_new(a, json_string(r->allow[i]));
	return a;
}

json_t *
session_to_json(const struct session *s)
{
	json_t *o, *bind;
	size_t i;

	bind = json_array();
	for (i = 0; bind != NULL && i < s->req.nbindings; i++)
		json_array_append_new(bind, json_string(s->req.bindings[i]));
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o,"
	    " s:o, s:b, s:b, s:o, s:{s:I, s:I, s:I, s:I, s:I}, s:o, s:o,"
	    " s:{s:o}, s:o, s:{s:I, s:I, s:I, s:I}}",
	    "id", s->id,
	    "tenant", s->tenant,
	    "backend", s->backend,
	    "language", session_language_name(s->language),
	    "phase", phase_name(s->phase),
	    "exit_code", s->has_exit ? json_integer(s->exit_code) : json_null(),
	    "signal", s->signal ? json_integer(s->signal) : json_null(),
	    "result", s->result ? json_incref(s->result) : json_null(),
	    "result_error", s->result_error ?
		json_string(s->result_error) : json_null(),
	    "stdout", session_json_bytes(s->cap[SP_STDOUT].buf,
		s->cap[SP_STDOUT].len),
	    "stderr", session_json_bytes(s->cap[SP_STDERR].buf,
		s->cap[SP_STDERR].len),
	    "stdout_truncated", s->cap[SP_STDOUT].truncated,
	    "stderr_truncated", s->cap[SP_STDERR].truncated,
	    "error", s->error ? json_string(s->error) : json_null(),
	    "usage",
		"cpu_ms", (json_int_t)s->cpu_ms,
		"wall_ms", (json_int_t)s->wall_ms,
		"mem_peak_bytes", (json_int_t)s->mem_peak_bytes,
		"egress_bytes", (json_int_t)s->egress_bytes,
		"boot_ms", (json_int_t)s->boot_ms,
	    "created_at", ts_json(s->created_ms),
	    "finished_at", ts_json(s->finished_ms),
	    "egress", "allow", allow_json(&s->req),
	    "bindings", bind ? bind : json_array(),
	    "limits",
		"timeout_ms", (json_int_t)s->req.limits.timeout_ms,
		"memory_mb", (json_int_t)s->req.limits.memory_mb,
		"pids", (json_int_t)s->req.limits.pids,
		"output_bytes", (json_int_t)s->req.limits.output_bytes);
	return o;
}

static void
set_phase(struct session *s, enum phase to)
{
	if (phase_transition_ok(s->phase, to) == -1) {
		/* A bug, not the workload's doing: keep the record honest. */
		log_warnx("session %s: illegal phase change %s -> %s", s->id,
		    phase_name(s->phase), phase_name(to));
		return;
	}
	s->phase = to;
}

static void
capture_close(struct session_capture *c)
{
	if (c->ev != NULL) {
		event_free(c->ev);
		c->ev = NULL;
	}
	if (c->fd != -1) {
		close(c->fd);
		c->fd = -1;
	}
}

static bool
captures_done(const struct session *s)
{
	int i;

	for (i = 0; i < SP_N; i++)
		if (s->cap[i].fd != -1)
			return false;
	return true;
}

/* Undo every step that was done, in reverse; errors are logged, the rest
 * still runs, and the first one is kept in err. Returns 0 or -1. */
static int
session_teardown(struct session *s, char *err, size_t errlen)
{
	struct sessiond *sd = s->sd;
	struct rules_txn t = { 0 };
	char e[512];
	int rc = 0, i;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	fault_point("teardown.begin");
	if (s->wait_ev != NULL) {
		event_free(s->wait_ev);
		s->wait_ev = NULL;
	}
	if (s->timer != NULL) {
		event_free(s->timer);
		s->timer = NULL;
	}
	for (i = 0; i < SP_N; i++)
		capture_close(&s->cap[i]);
	if (s->run != NULL) {
		if (s->be->free(s->run) == -1) {
			err_set(e, sizeof(e), "backend %s left objects behind",
			    s->be->name);
			log_warnx("session %s: %s", s->id, e);
			if (rc == 0)
				err_set(err, errlen, "%s", e);
			rc = -1;
		}
		s->run = NULL;
		fault_point("teardown.sandbox");
	}
	if (s->have_proxy) {
		if (sd->proxy == NULL ||
		    proxyc_session_del(sd->proxy, s->id,
		    SESSIOND_PROXY_TIMEOUT_MS, NULL, e, sizeof(e)) == -1) {
			if (sd->proxy == NULL)
				err_set(e, sizeof(e), "proxyd not connected");
			log_warnx("session %s: proxyd session_del: %s", s->id,
			    e);
			if (rc == 0)
				err_set(err, errlen, "proxy: %s", e);
			rc = -1;
		}
		s->have_proxy = false;
		fault_point("teardown.proxy");
	}
	if (s->have_rules) {
		if (rules_txn_init(&t, nft_seq(sd->nft)) == -1 ||
		    rules_session_del(&sd->rcfg, &s->rs, &t, e, sizeof(e)) == -1 ||
		    rules_txn_finish(&t) == -1 ||
		    nft_send(sd->nft, t.batch, rules_txn_what, &t, e,
		    sizeof(e)) == -1) {
			log_warnx("session %s: remove nft elements: %s", s->id,
			    e);
			if (rc == 0)
				err_set(err, errlen, "rules: %s", e);
			rc = -1;
		}
		rules_txn_free(&t);
		s->have_rules = false;
		fault_point("teardown.rules");
	}
	if (s->have_net) {
		if (netns_session_teardown(&s->net, e, sizeof(e)) == -1) {
			log_warnx("session %s: netns teardown: %s", s->id, e);
			if (rc == 0)
				err_set(err, errlen, "netns: %s", e);
			rc = -1;
		}
		s->have_net = false;
	}
	if (s->have_addr) {
		(void)addrpool_free(&sd->pool, &s->sess_addr);
		s->have_addr = false;
	}
	fault_point("teardown.netns");
	return rc;
}

/* Ends a session that never ran (or whose running broke): sandbox_failed,
 * unwind, error. */
static void
session_fail(struct session *s, const char *step, const char *msg)
{
	char e[512];

	log_warnx("session %s: %s: %s", s->id, step, msg);
	free(s->error);
	if (asprintf(&s->error, "%s: %s", step, msg) == -1)
		s->error = NULL;
	sessiond_audit(s->sd, s, "sandbox_failed",
	    json_pack("{s:s, s:s}", "step", step, "error", msg));
	(void)session_teardown(s, e, sizeof(e));
	s->finished_ms = clock_realtime_ms();
	if (s->start_mono != 0)
		s->wall_ms = clock_monotonic_ms() - s->start_mono;
	set_phase(s, PHASE_ERROR);
	sessiond_session_ended(s->sd, s);
}

static void
session_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	int i;

	(void)fd;
	(void)what;
	if (!s->exited) {
		/* The deadline: kill it; its wait fd says when it is gone. */
		s->timed_out = true;
		(void)s->be->kill(s->run);
		return;
	}
	/* Ended, but something still holds a pipe: stop waiting for it. */
	for (i = 0; i < SP_N; i++)
		capture_close(&s->cap[i]);
	session_finish(s);
}

static void
session_wait_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	struct timeval tv = { SESSION_DRAIN_MS / 1000,
	    (SESSION_DRAIN_MS % 1000) * 1000 };
	int rc;

	(void)fd;
	(void)what;
	rc = s->be->wait(s->run, &s->status);
	if (rc == 1)
		return;
	event_free(s->wait_ev);
	s->wait_ev = NULL;
	if (rc == -1) {
		char e[256];

		err_set(e, sizeof(e), "wait: %s", strerror(errno));
		session_fail(s, "sandbox", e);
		return;
	}
	s->exited = true;
	if (captures_done(s)) {
		session_finish(s);
		return;
	}
	evtimer_del(s->timer);
	evtimer_add(s->timer, &tv);
}

static void
session_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session_capture *c = arg;
	char buf[65536];
	ssize_t n;
	size_t keep;

	(void)what;
	n = read(fd, buf, sizeof(buf));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		c->total += (uint64_t)n;
		keep = c->cap - c->len;
		if ((size_t)n < keep)
			keep = (size_t)n;
		/* Grown on demand: most workloads print little. */
		if (c->len + keep > c->alloc) {
			size_t want = c->alloc ? c->alloc : 4096;
			char *nb;

			while (want < c->len + keep)
				want *= 2;
			if (want > c->cap)
				want = c->cap;
			if ((nb = realloc(c->buf, want)) == NULL) {
				c->truncated = true;
				return;
			}
			c->buf = nb;
			c->alloc = want;
		}
		memcpy(c->buf + c->len, buf, keep);
		c->len += keep;
		if (keep < (size_t)n)
			c->truncated = true;
		return;
	}
	/* EOF or an error: this stream is over. */
	capture_close(c);
}

/* The capture's owning session: captures live in s->cap[]. */
static struct session *
capture_session(struct session_capture *c, int idx)
{
	return (struct session *)((char *)(c - idx) -
	    offsetof(struct session, cap));
}

static void
stream_cb(evutil_socket_t fd, short what, void *arg, int idx)
{
	struct session_capture *c = arg;
	struct session *s = capture_session(c, idx);

	session_read_cb(fd, what, arg);
	if (c->fd == -1 && s->exited && captures_done(s))
		session_finish(s);
}

static void
stdout_cb(evutil_socket_t fd, short what, void *arg)
{
	stream_cb(fd, what, arg, SP_STDOUT);
}

static void
stderr_cb(evutil_socket_t fd, short what, void *arg)
{
	stream_cb(fd, what, arg, SP_STDERR);
}

static void
result_cb(evutil_socket_t fd, short what, void *arg)
{
	stream_cb(fd, what, arg, SP_RESULT);
}

static void
session_collect_result(struct session *s)
{
	struct session_capture *c = &s->cap[SP_RESULT];
	json_error_t jerr;

	if (c->total == 0)
		return;
	if (c->truncated) {
		if (asprintf(&s->result_error, "result over %d bytes",
		    SESSION_RESULT_MAX) == -1)
			s->result_error = NULL;
		return;
	}
	s->result = json_loadb(c->buf, c->len,
	    JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (s->result == NULL &&
	    asprintf(&s->result_error, "result is not valid JSON: %s "
	    "(line %d, column %d)", jerr.text, jerr.line, jerr.column) == -1)
		s->result_error = NULL;
}

/* The workload has ended and its pipes are drained (or given up on). */
static void
session_finish(struct session *s)
{
	struct backend_usage u = { 0, 0, 0 };
	struct sessiond *sd = s->sd;
	json_t *d;
	char e[512];

	if (phase_is_terminal(s->phase))
		return;
	/* Everything proxyd decided before now reaches the audit first. */
	sessiond_proxy_sync(sd);
	session_collect_result(s);
	d = json_pack("{s:b, s:I, s:I, s:I, s:b, s:b}",
	    "result", s->result != NULL,
	    "result_bytes", (json_int_t)s->cap[SP_RESULT].total,
	    "stdout_bytes", (json_int_t)s->cap[SP_STDOUT].total,
	    "stderr_bytes", (json_int_t)s->cap[SP_STDERR].total,
	    "stdout_truncated", s->cap[SP_STDOUT].truncated,
	    "stderr_truncated", s->cap[SP_STDERR].truncated);
	if (d != NULL && s->result_error != NULL)
		json_object_set_new(d, "error", json_string(s->result_error));
	sessiond_audit(sd, s, "result_collected", d);
	fault_point("finish.result");

	s->has_exit = s->status.exited;
	s->exit_code = s->status.exit_code;
	s->signal = s->status.signal;
	s->oom = s->status.oom;
	sessiond_audit(sd, s, "workload_exited",
	    json_pack("{s:o, s:o, s:b, s:b, s:b}",
	    "exit_code", s->has_exit ? json_integer(s->exit_code) : json_null(),
	    "signal", s->signal ? json_integer(s->signal) : json_null(),
	    "oom", s->oom, "timed_out", s->timed_out, "killed", s->killed));

	if (s->be->usage(s->run, &u) == 0) {
		s->cpu_ms = u.cpu_ms;
		s->mem_peak_bytes = u.mem_peak_bytes;
		s->boot_ms = u.boot_ms;
	}
	s->wall_ms = clock_monotonic_ms() - s->start_mono;
	sessiond_audit(sd, s, "usage_metered",
	    json_pack("{s:I, s:I, s:I, s:I, s:I}",
	    "cpu_ms", (json_int_t)s->cpu_ms,
	    "wall_ms", (json_int_t)s->wall_ms,
	    "mem_peak_bytes", (json_int_t)s->mem_peak_bytes,
	    "egress_bytes", (json_int_t)s->egress_bytes,
	    "boot_ms", (json_int_t)s->boot_ms));
	fault_point("finish.metered");

	if (s->killed)
		set_phase(s, PHASE_KILLED);
	else if (s->timed_out)
		set_phase(s, PHASE_TIMED_OUT);
	else if (s->has_exit && s->exit_code == 0)
		set_phase(s, PHASE_SUCCEEDED);
	else
		set_phase(s, PHASE_FAILED);
	if (s->oom && s->error == NULL &&
	    (s->error = strdup("memory limit reached (OOM kill)")) == NULL)
		log_warnx("session %s: out of memory", s->id);
	if (session_teardown(s, e, sizeof(e)) == -1)
		sessiond_audit(sd, s, "sandbox_failed",
		    json_pack("{s:s, s:s}", "step", "teardown", "error", e));
	s->finished_ms = clock_realtime_ms();
	sessiond_session_ended(sd, s);
}

static int
capture_init(struct session *s, int idx, size_t cap,
    event_callback_fn cb, int *wfd, char *err, size_t errlen)
{
	struct session_capture *c = &s->cap[idx];
	int p[2];

	c->fd = -1;
	c->cap = cap;
	if (pipe2(p, O_CLOEXEC) == -1)
		return err_set(err, errlen, "pipe: %s", strerror(errno));
	(void)fcntl(p[0], F_SETFL, O_NONBLOCK);
	c->fd = p[0];
	*wfd = p[1];
	if ((c->ev = event_new(s->sd->base, c->fd, EV_READ | EV_PERSIST, cb,
	    c)) == NULL)
		return err_set(err, errlen, "out of memory");
	return 0;
}

static int
step_address(struct session *s, char *err, size_t errlen)
{
	struct sessiond *sd = s->sd;
	struct addrpool_pair pair;
	uint32_t host;
	int rc;

	if ((rc = addrpool_alloc(&sd->pool, &pair)) < 0)
		return err_set(err, errlen, "%s", rc == -ENOSPC ?
		    "address pool exhausted" : strerror(-rc));
	s->have_addr = true;
	s->host_addr = pair.host;
	s->sess_addr = pair.sess;
	host = ((uint32_t)pair.host.a[0] << 24) | ((uint32_t)pair.host.a[1] << 16) |
	    ((uint32_t)pair.host.a[2] << 8) | pair.host.a[3];
	s->slot = (host - sd->pool.base) / 2;
	snprintf(s->netns_name, sizeof(s->netns_name), "%ss%" PRIu32,
	    sd->cfg->name_prefix, s->slot);
	snprintf(s->host_if, sizeof(s->host_if), "%sh%" PRIu32,
	    sd->cfg->name_prefix, s->slot);
	memset(&s->rs, 0, sizeof(s->rs));
	snprintf(s->rs.ifname, sizeof(s->rs.ifname), "%s", s->host_if);
	s->rs.mark = s->slot + 1;
	s->rs.src4 = s->sess_addr;
	return 0;
}

static int
step_netns(struct session *s, char *err, size_t errlen)
{
	struct netns_session_cfg nc;

	memset(&nc, 0, sizeof(nc));
	nc.appliance_nsfd = s->sd->appliance_nsfd;
	nc.name = s->netns_name;
	nc.host_if = s->host_if;
	nc.sess_if = "eth0";
	nc.host_addr = s->host_addr;
	nc.sess_addr = s->sess_addr;
	nc.ipv6_enabled = false;
	if (netns_session_setup(&nc, &s->net, err, errlen) == -1)
		return -1;
	s->have_net = true;
	return 0;
}

static int
step_rules(struct session *s, char *err, size_t errlen)
{
	struct sessiond *sd = s->sd;
	struct rules_txn t = { 0 };
	int rc = -1;

	if (rules_txn_init(&t, nft_seq(sd->nft)) == -1) {
		err_set(err, errlen, "out of memory");
		goto out;
	}
	if (rules_session_add(&sd->rcfg, &s->rs, &t, err, errlen) == -1)
		goto out;
	if (rules_txn_finish(&t) == -1) {
		err_set(err, errlen, "out of memory");
		goto out;
	}
	if (nft_send(sd->nft, t.batch, rules_txn_what, &t, err, errlen) == -1)
		goto out;
	s->have_rules = true;
	rc = 0;
out:
	rules_txn_free(&t);
	return rc;
}

/* A binding's secret, from its file or variable: visible ASCII, one
 * trailing newline dropped. Errors never quote it. */
static char *
binding_secret(const struct sdconfig_binding *b, char *err, size_t errlen)
{
	char *buf = NULL, *sec = NULL;
	size_t len, got, i;
	const char *v;

	/* buf is not a C string (a file's bytes): everything below goes by
	 * len, and got is what to wipe. */
	if (b->secret_file != NULL) {
		if (file_read_bounded(b->secret_file, CTL_SECRET_MAX + 2, &buf,
		    &len, err, errlen) == -1)
			return NULL;
	} else {
		if ((v = getenv(b->secret_env)) == NULL) {
			err_set(err, errlen, "binding %s: $%s is not set",
			    b->name, b->secret_env);
			return NULL;
		}
		if ((buf = strndup(v, CTL_SECRET_MAX + 2)) == NULL) {
			err_set(err, errlen, "out of memory");
			return NULL;
		}
		len = strlen(buf);
	}
	got = len;
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	for (i = 0; i < len; i++)
		if ((unsigned char)buf[i] < 0x21 || (unsigned char)buf[i] > 0x7e)
			break;
	if (len == 0 || len > CTL_SECRET_MAX || i < len)
		err_set(err, errlen, "binding %s: the secret must be 1..%d "
		    "visible ASCII characters", b->name, CTL_SECRET_MAX);
	else if ((sec = strndup(buf, len)) == NULL)
		err_set(err, errlen, "out of memory");
	explicit_bzero(buf, got);
	free(buf);
	return sec;
}

void
session_bindings_free(struct ctl_binding *b, size_t n)
{
	size_t i;

	for (i = 0; b != NULL && i < n; i++) {
		/* hosts point into the config: not the decoder's to free. */
		b[i].hosts = NULL;
		b[i].nhosts = 0;
		ctl_binding_clear(&b[i]);
	}
	free(b);
}

int
session_bindings(const struct session *s, struct ctl_binding **out,
    size_t *nout, char *err, size_t errlen)
{
	const struct sdconfig_binding *cb;
	struct ctl_binding *b;
	size_t i;

	*out = NULL;
	*nout = 0;
	if (s->req.nbindings == 0)
		return 0;
	if ((b = calloc(s->req.nbindings, sizeof(*b))) == NULL)
		return err_set(err, errlen, "out of memory");
	for (i = 0; i < s->req.nbindings; i++) {
		if ((cb = sdconfig_binding(s->sd->cfg, s->req.bindings[i])) ==
		    NULL) {
			err_set(err, errlen, "binding %s is no longer configured",
			    s->req.bindings[i]);
			goto fail;
		}
		snprintf(b[i].name, sizeof(b[i].name), "%s", cb->name);
		b[i].hosts = (char **)cb->host_ptrs;
		b[i].nhosts = cb->nhosts;
		b[i].inject = (enum ctl_inject)cb->inject;
		snprintf(b[i].user, sizeof(b[i].user), "%s", cb->user);
		snprintf(b[i].header, sizeof(b[i].header), "%s", cb->header);
		b[i].allow_http = cb->allow_http;
		if ((b[i].secret = binding_secret(cb, err, errlen)) == NULL)
			goto fail;
	}
	*out = b;
	*nout = s->req.nbindings;
	return 0;
fail:
	session_bindings_free(b, s->req.nbindings);
	return -1;
}

static int
step_proxy(struct session *s, char *err, size_t errlen)
{
	struct sessiond *sd = s->sd;
	struct ctl_binding *b;
	size_t nb;
	int rc;

	if (sd->proxy == NULL)
		return err_set(err, errlen, "proxyd is not connected");
	if (session_bindings(s, &b, &nb, err, errlen) == -1)
		return -1;
	rc = proxyc_session_add_bound(sd->proxy, s->id, s->tenant,
	    &s->sess_addr, s->req.allow, s->req.nallow, b, nb,
	    SESSIOND_PROXY_TIMEOUT_MS, NULL, err, errlen);
	session_bindings_free(b, nb);
	if (rc == -1)
		return -1;
	s->have_proxy = true;
	return 0;
}

/* A binding's hosts are allowed for the session that names it. */
static int
allow_binding_hosts(struct session *s, char *err, size_t errlen)
{
	const struct sdconfig_binding *cb;
	char pe[256];
	size_t i, k;

	if (s->req.nbindings == 0)
		return 0;
	for (i = 0; i < s->req.nbindings; i++) {
		if ((cb = sdconfig_binding(s->sd->cfg, s->req.bindings[i])) ==
		    NULL)
			return err_set(err, errlen, "binding %s is not "
			    "configured", s->req.bindings[i]);
		for (k = 0; k < cb->nhosts; k++)
			if (policy_add(s->req.policy, cb->hosts[k],
			    strlen(cb->hosts[k]), pe, sizeof(pe)) == -1)
				return err_set(err, errlen, "binding %s: %s",
				    cb->name, pe);
	}
	policy_patterns_free(s->req.allow, s->req.nallow);
	s->req.allow = NULL;
	s->req.nallow = 0;
	if (policy_patterns(s->req.policy, &s->req.allow, &s->req.nallow) == -1)
		return err_set(err, errlen, "out of memory");
	return 0;
}

static int
step_sandbox(struct session *s, char *err, size_t errlen)
{
	struct sessiond *sd = s->sd;
	struct backend_spec spec;
	char nspath[64], gw[IP_STRLEN], name[SANDBOX_NAME_MAX + 1];
	char run_dir[PATH_MAX];
	int wfd[SP_N] = { -1, -1, -1 }, i, rc = -1;
	struct timeval tv;
	size_t out_cap;

	out_cap = (size_t)s->req.limits.output_bytes;
	if (capture_init(s, SP_STDOUT, out_cap, stdout_cb, &wfd[SP_STDOUT],
	    err, errlen) == -1 ||
	    capture_init(s, SP_STDERR, out_cap, stderr_cb, &wfd[SP_STDERR],
	    err, errlen) == -1 ||
	    capture_init(s, SP_RESULT, SESSION_RESULT_MAX, result_cb,
	    &wfd[SP_RESULT], err, errlen) == -1)
		goto out;
	snprintf(nspath, sizeof(nspath), "/run/netns/%s", s->netns_name);
	(void)ip_format(&s->host_addr, gw, sizeof(gw));
	/* The prefix keeps two appliances on one host out of each other's
	 * cgroups (reconcile sweeps only its own). */
	snprintf(name, sizeof(name), "%s-%s", sd->cfg->name_prefix, s->id);
	memset(&spec, 0, sizeof(spec));
	spec.name = name;
	spec.netns_path = nspath;
	spec.netns_name = s->netns_name;
	spec.sess_if = "eth0";
	spec.sess_addr = s->sess_addr;
	spec.gateway_addr = s->host_addr;
	spec.prefixlen = NETNS_SESSION_PREFIXLEN;
	if ((size_t)snprintf(run_dir, sizeof(run_dir), "%s/%s",
	    sd->run_dir, s->id) >= sizeof(run_dir)) {
		err_set(err, errlen, "state_dir too long");
		goto out;
	}
	spec.run_dir = run_dir;
	spec.language = session_language_name(s->language);
	spec.code = s->req.code;
	spec.code_len = s->req.code_len;
	spec.limits.memory_mb = s->req.limits.memory_mb;
	spec.limits.pids = s->req.limits.pids;
	spec.uid = sd->cfg->workload_uid;
	spec.gid = sd->cfg->workload_gid;
	spec.gateway = gw;
	spec.helpers_dir = sd->sandbox_files;
	spec.stdout_fd = wfd[SP_STDOUT];
	spec.stderr_fd = wfd[SP_STDERR];
	spec.result_fd = wfd[SP_RESULT];
	s->start_mono = clock_monotonic_ms();
	if (s->be->start(sd->cfg, &spec, &s->run, err, errlen) == -1)
		goto out;
	if ((s->wait_ev = event_new(sd->base, s->be->wait_fd(s->run),
	    EV_READ | EV_PERSIST, session_wait_cb, s)) == NULL ||
	    (s->timer = evtimer_new(sd->base, session_timer_cb, s)) == NULL) {
		err_set(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < SP_N; i++)
		event_add(s->cap[i].ev, NULL);
	event_add(s->wait_ev, NULL);
	tv = clock_ms_timeval(s->req.limits.timeout_ms);
	evtimer_add(s->timer, &tv);
	rc = 0;
out:
	for (i = 0; i < SP_N; i++)
		if (wfd[i] != -1)
			close(wfd[i]);
	return rc;
}

static json_t *
created_data(const struct session *s)
{
	unsigned char md[32];
	char hex[65];
	unsigned int mdlen = 0, i;
	json_t *bind = json_array();
	size_t k;

	(void)EVP_Digest(s->req.code, s->req.code_len, md, &mdlen,
	    EVP_sha256(), NULL);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	for (k = 0; bind != NULL && k < s->req.nbindings; k++)
		json_array_append_new(bind, json_string(s->req.bindings[k]));
	return json_pack("{s:s, s:s, s:o, s:o, s:I, s:s, s:{s:I, s:I, s:I, s:I}}",
	    "backend", s->backend,
	    "language", session_language_name(s->language),
	    "allow", allow_json(&s->req),
	    "bindings", bind ? bind : json_array(),
	    "code_bytes", (json_int_t)s->req.code_len,
	    "code_sha256", hex,
	    "limits",
		"timeout_ms", (json_int_t)s->req.limits.timeout_ms,
		"memory_mb", (json_int_t)s->req.limits.memory_mb,
		"pids", (json_int_t)s->req.limits.pids,
		"output_bytes", (json_int_t)s->req.limits.output_bytes);
}

struct session *
session_start(struct sessiond *sd, const char *tenant,
    struct session_request *req, char *err, size_t errlen)
{
	struct session *s;
	char e[512], addr[IP_STRLEN];
	int i;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		err_set(err, errlen, "out of memory");
		return NULL;
	}
	if (session_id_new(s->id, sizeof(s->id)) == -1) {
		free(s);
		err_set(err, errlen, "getrandom: %s", strerror(errno));
		return NULL;
	}
	for (i = 0; i < SP_N; i++)
		s->cap[i].fd = -1;
	TAILQ_INIT(&s->waiters);
	s->sd = sd;
	snprintf(s->tenant, sizeof(s->tenant), "%s", tenant);
	snprintf(s->backend, sizeof(s->backend), "%s", req->backend);
	s->language = req->language;
	s->req = *req;
	memset(req, 0, sizeof(*req));
	s->created_ms = clock_realtime_ms();
	s->phase = PHASE_PENDING;
	TAILQ_INSERT_TAIL(&sd->sessions, s, entry);
	sd->live++;
	sd->sessions_started++;
	if (sessiond_audit(sd, s, "session_created", created_data(s)) == -1) {
		/* Never started: nothing to undo but the record. */
		TAILQ_REMOVE(&sd->sessions, s, entry);
		sd->live--;
		sd->sessions_started--;
		*req = s->req;
		memset(&s->req, 0, sizeof(s->req));
		session_free(s);
		err_set(err, errlen, "the audit log is unavailable");
		return NULL;
	}

	set_phase(s, PHASE_STARTING);
	/* Written at once, before anything is built: a crash from here on
	 * leaves a state file, so the restart ends the session in the audit
	 * too. It is rewritten with the netns and veth names once they are
	 * chosen. */
	if (sessiond_state_write(sd, s) == -1) {
		session_fail(s, "state", "cannot write the state file");
		return s;
	}
	fault_point("setup.created");
	if ((s->be = backend_find(s->backend)) == NULL) {
		session_fail(s, "backend", "no such backend");
		return s;
	}
	if (!s->be->probe(sd->cfg, e, sizeof(e))) {
		session_fail(s, "backend", e);
		return s;
	}
	if (allow_binding_hosts(s, e, sizeof(e)) == -1) {
		session_fail(s, "bindings", e);
		return s;
	}
	if (step_address(s, e, sizeof(e)) == -1) {
		session_fail(s, "address", e);
		return s;
	}
	fault_point("setup.address");
	if (sessiond_state_write(sd, s) == -1) {
		session_fail(s, "state", "cannot write the state file");
		return s;
	}
	fault_point("setup.state");
	if (step_netns(s, e, sizeof(e)) == -1) {
		session_fail(s, "netns", e);
		return s;
	}
	fault_point("setup.netns");
	if (step_rules(s, e, sizeof(e)) == -1) {
		session_fail(s, "rules", e);
		return s;
	}
	fault_point("setup.rules");
	if (step_proxy(s, e, sizeof(e)) == -1) {
		session_fail(s, "proxy", e);
		return s;
	}
	fault_point("setup.proxy");
	if (step_sandbox(s, e, sizeof(e)) == -1) {
		session_fail(s, "sandbox", e);
		return s;
	}
	fault_point("setup.sandbox");
	set_phase(s, PHASE_RUNNING);
	(void)ip_format(&s->sess_addr, addr, sizeof(addr));
	sessiond_audit(sd, s, "sandbox_started",
	    json_pack("{s:s, s:s, s:s}", "backend", s->be->name,
	    "isolation", s->be->isolation, "address", addr));
	(void)sessiond_state_write(sd, s);
	fault_point("setup.running");
	return s;
}

void
session_kill(struct session *s)
{
	if (phase_is_terminal(s->phase) || s->run == NULL)
		return;
	s->killed = true;
	(void)s->be->kill(s->run);
}

void
session_free(struct session *s)
{
	int i;

	if (s == NULL)
		return;
	if (!phase_is_terminal(s->phase))
		(void)session_teardown(s, NULL, 0);
	for (i = 0; i < SP_N; i++) {
		capture_close(&s->cap[i]);
		free(s->cap[i].buf);
	}
	session_request_clear(&s->req);
	json_decref(s->result);
	free(s->result_error);
	free(s->error);
	free(s);
}
