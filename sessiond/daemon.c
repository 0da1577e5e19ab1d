/*
 * enclave-sessiond's daemon: brings up the audit log, the kernel side
 * (nft table, NFLOG), the proxyd connection and the API, reconciles what a
 * previous run left, runs the event loop and shuts down by ending every
 * session.
 */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/audit.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "netns/ns.h"
#include "rules/nflog.h"
#include "rules/nft.h"
#include "sessiond/api.h"
#include "sessiond/daemon.h"
#include "sessiond/fault.h"
#include "sessiond/proxyc.h"
#include "sessiond/reconcile.h"
#include "sessiond/sdconfig.h"
#include "sessiond/sessiond.h"

/* NFLOG denials audited per session; past it they are only counted. */
#define NFLOG_AUDIT_MAX		1000
#define SHUTDOWN_GRACE_S	15
#define PROXY_RETRY_S		1
/*
 * A connected proxyd is pinged this often: a hung one (stopped, spinning)
 * keeps its socket open and would otherwise look healthy. Calls block the
 * loop (proxyc.h), so the ping's and the reconnect's own bound is short:
 * a hung proxyd costs the API at most that much per period.
 */
#define PROXY_PING_S		2
#define PROXY_PING_TIMEOUT_MS	1000

int
sessiond_audit(struct sessiond *sd, const struct session *s,
    const char *type, json_t *data)
{
	int rc = 0;

	if (data == NULL)
		data = json_object();
	if (data == NULL || sd->audit == NULL || audit_write(sd->audit,
	    s ? s->id : "", s ? s->tenant : "", type, data, NULL) == -1) {
		sd->audit_errors++;
		sd->audit_ok = false;
		log_warnx("audit: %s %s: %s", s ? s->id : "-", type,
		    data == NULL ? "out of memory" : sd->audit == NULL ?
		    "the log is closed" : audit_error(sd->audit));
		rc = -1;
		/* Fail closed: a session whose decisions cannot be recorded
		 * does not go on running. */
		if (s != NULL && !phase_is_terminal(s->phase))
			session_kill((struct session *)s);
	}
	json_decref(data);
	return rc;
}

int
sessiond_audit_ready(struct sessiond *sd)
{
	char err[512];

	if (sd->audit_ok)
		return 1;
	/* The log refuses appends once one failed (its tail is unknown);
	 * reopening verifies the chain again and finds the true tail. Our
	 * own handle holds the writer's lock, so it goes first. */
	if (sd->audit != NULL) {
		audit_close(sd->audit);
		sd->audit = NULL;
	}
	if ((sd->audit = audit_open(sd->audit_path, err, sizeof(err))) ==
	    NULL) {
		log_warnx("audit: still unavailable: %s", err);
		return 0;
	}
	sd->audit_ok = true;
	log_info("audit: log %s is writable again", sd->audit_path);
	return 1;
}

struct session *
sessiond_find(struct sessiond *sd, const char *id)
{
	struct session *s;

	TAILQ_FOREACH(s, &sd->sessions, entry)
		if (strcmp(s->id, id) == 0)
			return s;
	return NULL;
}

struct session *
sessiond_find_mark(struct sessiond *sd, uint32_t mark)
{
	struct session *s;

	TAILQ_FOREACH(s, &sd->sessions, entry)
		if (s->have_rules && s->rs.mark == mark)
			return s;
	return NULL;
}

unsigned int
sessiond_live_for(struct sessiond *sd, const char *tenant)
{
	struct session *s;
	unsigned int n = 0;

	TAILQ_FOREACH(s, &sd->sessions, entry)
		if (!phase_is_terminal(s->phase) &&
		    strcmp(s->tenant, tenant) == 0)
			n++;
	return n;
}

static int
state_path(struct sessiond *sd, const char *id, char *buf, size_t len)
{
	if ((size_t)snprintf(buf, len, "%s/%s.json", sd->state_dir, id) >= len)
		return -1;
	return 0;
}

int
sessiond_state_write(struct sessiond *sd, const struct session *s)
{
	char path[PATH_MAX], tmp[PATH_MAX], addr[IP_STRLEN];
	json_t *j;
	int rc;

	/* Before the address step there is none: an empty string, never
	 * whatever the stack held (json_pack refused it, failing the rest). */
	if (ip_format(&s->sess_addr, addr, sizeof(addr)) == -1)
		addr[0] = '\0';
	j = json_pack("{s:i, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s}",
	    "v", 1, "id", s->id, "tenant", s->tenant, "backend", s->backend,
	    "language", session_language_name(s->language),
	    "created_ms", (json_int_t)s->created_ms,
	    "slot", (json_int_t)s->slot, "netns", s->netns_name,
	    "host_if", s->host_if, "addr", addr);
	if (j == NULL)
		return -1;
	if (state_path(sd, s->id, path, sizeof(path)) == -1 ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		json_decref(j);
		return -1;
	}
	/* Written whole and renamed, so a crash leaves the old or the new. */
	rc = json_dump_file(j, tmp, JSON_COMPACT);
	json_decref(j);
	if (rc == -1 || rename(tmp, path) == -1) {
		log_warn("state file %s", path);
		(void)unlink(tmp);
		return -1;
	}
	((struct session *)s)->have_state = true;
	return 0;
}

void
sessiond_state_remove(struct sessiond *sd, const struct session *s)
{
	char path[PATH_MAX];

	if (state_path(sd, s->id, path, sizeof(path)) == 0 && unlink(path) == -1 && errno != ENOENT)
		log_warn("remove %s", path);
}

/*
 * Finished records beyond retain_sessions go, oldest first; never the one
 * that just ended, which its caller (a POST handler that started it) may
 * still be answering with.
 */
static void
sessiond_retain(struct sessiond *sd, const struct session *keep)
{
	struct session *s, *next;

	for (s = TAILQ_FIRST(&sd->sessions);
	    s != NULL && sd->finished > sd->cfg->retain_sessions; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (s == keep || !phase_is_terminal(s->phase) ||
		    !TAILQ_EMPTY(&s->waiters))
			continue;
		TAILQ_REMOVE(&sd->sessions, s, entry);
		sd->finished--;
		session_free(s);
	}
}

void
sessiond_session_ended(struct sessiond *sd, struct session *s)
{
	fault_point("teardown.state");
	if (s->have_state) {
		sessiond_state_remove(sd, s);
		s->have_state = false;
	}
	fault_point("teardown.ended");
	sd->live--;
	sd->finished++;
	if (s->phase == PHASE_ERROR)
		sd->sessions_failed++;
	log_info("session %s (%s, %s) %s in %" PRIu64 " ms", s->id, s->tenant,
	    s->backend, phase_name(s->phase), s->wall_ms);
	/* A DELETE waiting for it removes it here: s is gone after this. */
	if (api_session_ended(s) == 1)
		s = NULL;
	sessiond_retain(sd, s);
	if (sd->stopping && sd->live == 0)
		event_base_loopexit(sd->base, NULL);
}

void
sessiond_session_remove(struct sessiond *sd, struct session *s)
{
	sessiond_audit(sd, s, "session_torn_down", NULL);
	TAILQ_REMOVE(&sd->sessions, s, entry);
	sd->finished--;
	session_free(s);
}

/* --- proxyd --------------------------------------------------------- */

static void
proxy_event(const struct ctl_event *ev, void *arg)
{
	struct sessiond *sd = arg;
	struct session *s = NULL;
	char od[CTL_ENDPOINT_STRLEN], cn[CTL_ENDPOINT_STRLEN];
	json_t *d;

	if (ev->session[0] != '\0')
		s = sessiond_find(sd, ev->session);
	d = json_pack("{s:s, s:i, s:s, s:s, s:I}",
	    "host", ev->host, "port", (int)ev->port,
	    "proto", ctl_proto_name(ev->proto), "reason", ev->reason,
	    "count", (json_int_t)ev->count);
	if (d == NULL) {
		sd->audit_errors++;
		return;
	}
	if (ev->binding[0] != '\0')
		json_object_set_new(d, "binding", json_string(ev->binding));
	if (ctl_endpoint_format(&ev->orig_dst, od, sizeof(od)) == 0)
		json_object_set_new(d, "orig_dst", json_string(od));
	if (ctl_endpoint_format(&ev->connected, cn, sizeof(cn)) == 0)
		json_object_set_new(d, "connected", json_string(cn));
	if (ev->type == CTL_EVENT_EGRESS_ALLOWED) {
		json_object_set_new(d, "bytes_up",
		    json_integer((json_int_t)ev->bytes_up));
		json_object_set_new(d, "bytes_down",
		    json_integer((json_int_t)ev->bytes_down));
		if (s != NULL)
			s->egress_bytes += ev->bytes_up + ev->bytes_down;
	}
	if (s == NULL) {
		char src[IP_STRLEN];

		/* Not ours (a source no session holds): still audited. */
		if (ip_format(&ev->source, src, sizeof(src)) == 0)
			json_object_set_new(d, "source", json_string(src));
		if (ev->session[0] != '\0')
			json_object_set_new(d, "session_gone",
			    json_string(ev->session));
	}
	sessiond_audit(sd, s, ctl_event_type_name(ev->type), d);
}

static void proxy_connect(struct sessiond *sd);

static void
proxy_lost(struct sessiond *sd, const char *why)
{
	struct timeval tv = { PROXY_RETRY_S, 0 };

	log_warnx("proxyd control connection lost: %s", why);
	if (sd->proxy_ev != NULL) {
		event_free(sd->proxy_ev);
		sd->proxy_ev = NULL;
	}
	proxyc_close(sd->proxy);
	sd->proxy = NULL;
	evtimer_add(sd->proxy_retry, &tv);
}

static void
proxy_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sessiond *sd = arg;
	char err[512];

	(void)fd;
	(void)what;
	if (proxyc_drain(sd->proxy, err, sizeof(err)) == -1)
		proxy_lost(sd, err);
}

/* One timer for both: reconnect while proxyd is gone, ping while it is
 * connected. */
static void
proxy_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sessiond *sd = arg;
	struct timeval tv = { PROXY_PING_S, 0 };
	char err[512];

	(void)fd;
	(void)what;
	if (sd->proxy == NULL) {
		proxy_connect(sd);
		return;
	}
	if (proxyc_ping(sd->proxy, PROXY_PING_TIMEOUT_MS, err,
	    sizeof(err)) == -1) {
		proxy_lost(sd, err);
		return;
	}
	evtimer_add(sd->proxy_retry, &tv);
}

/*
 * Sessions live in proxyd too; after a reconnect (proxyd restarted) ours
 * are gone there, so they are added again. A proxyd that was only hung
 * or unreachable may instead still hold sessions that ended meanwhile
 * (their del never reached it, or an add that timed out was applied
 * late): those ended ones that we still know are removed, or their
 * addresses would stay taken there.
 */
static void
proxy_readd(struct sessiond *sd)
{
	struct session *s;
	struct ctl_binding *b;
	const char *code;
	size_t nb;
	char err[512];

	TAILQ_FOREACH(s, &sd->sessions, entry) {
		if (phase_is_terminal(s->phase)) {
			code = "";
			if (proxyc_session_del(sd->proxy, s->id,
			    PROXY_PING_TIMEOUT_MS, &code, err, sizeof(err)) ==
			    0)
				log_info("session %s: removed from proxyd, "
				    "where it outlived its end", s->id);
			else if (strcmp(code, CTL_ERR_NOT_FOUND) != 0)
				log_warnx("session %s: proxyd session_del: %s",
				    s->id, err);
			continue;
		}
		if (!s->have_proxy)
			continue;
		if (session_bindings(s, &b, &nb, err, sizeof(err)) == -1 ||
		    proxyc_session_add_bound(sd->proxy, s->id, s->tenant,
		    &s->sess_addr, s->req.allow, s->req.nallow, b, nb,
		    SESSIOND_PROXY_TIMEOUT_MS, NULL, err, sizeof(err)) == -1)
			log_warnx("session %s: re-add to proxyd: %s", s->id,
			    err);
		session_bindings_free(b, nb);
	}
}

static void
proxy_connect(struct sessiond *sd)
{
	struct timeval tv = { PROXY_RETRY_S, 0 }, ping = { PROXY_PING_S, 0 };
	char err[512];

	sd->proxy = proxyc_open(sd->cfg->proxyd_control,
	    PROXY_PING_TIMEOUT_MS, proxy_event, sd, err, sizeof(err));
	if (sd->proxy == NULL) {
		log_debug("proxyd: %s", err);
		evtimer_add(sd->proxy_retry, &tv);
		return;
	}
	if ((sd->proxy_ev = event_new(sd->base, proxyc_fd(sd->proxy),
	    EV_READ | EV_PERSIST, proxy_read_cb, sd)) == NULL) {
		proxy_lost(sd, "out of memory");
		return;
	}
	event_add(sd->proxy_ev, NULL);
	log_info("connected to proxyd at %s", sd->cfg->proxyd_control);
	proxy_readd(sd);
	if (sd->proxy != NULL)
		evtimer_add(sd->proxy_retry, &ping);
}

/* --- NFLOG: what the nft table dropped (UDP, ICMP, other protocols) -- */

static const char *
proto_name(uint8_t p, char *buf, size_t len)
{
	switch (p) {
	case 1:
		return "icmp";
	case 6:
		return "tcp";
	case 17:
		return "udp";
	case 58:
		return "icmpv6";
	case 132:
		return "sctp";
	default:
		snprintf(buf, len, "ip_proto_%u", p);
		return buf;
	}
}

static int
nflog_record_cb(const struct nflog_record *rec, void *arg)
{
	struct sessiond *sd = arg;
	struct session *s;
	char dst[IP_STRLEN], pb[24];
	json_t *d;

	if (rec->mark == 0 || (s = sessiond_find_mark(sd, rec->mark)) == NULL) {
		sd->nflog_unmatched++;
		return 0;
	}
	if (s->nflog_audited >= NFLOG_AUDIT_MAX) {
		s->nflog_unaudited++;
		return 0;
	}
	s->nflog_audited++;
	(void)ip_format(&rec->dst, dst, sizeof(dst));
	d = json_pack("{s:s, s:s, s:s}", "host", dst,
	    "proto", proto_name(rec->proto, pb, sizeof(pb)),
	    "reason", nflog_reason_name(rec->prefix));
	if (d != NULL && (rec->flags & NFLOG_REC_PORTS))
		json_object_set_new(d, "port", json_integer(rec->dport));
	sessiond_audit(sd, s, "egress_denied", d);
	return 0;
}

static void
nflog_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sessiond *sd = arg;

	(void)fd;
	(void)what;
	if (nflog_read(sd->nflog, nflog_record_cb, sd) == -1 &&
	    errno != EAGAIN && errno != ENOBUFS)
		log_warn("nflog read");
}

void
sessiond_proxy_sync(struct sessiond *sd)
{
	char err[512];

	if (sd->nflog != NULL)
		(void)nflog_read(sd->nflog, nflog_record_cb, sd);
	if (sd->proxy != NULL &&
	    proxyc_ping(sd->proxy, SESSIOND_PROXY_TIMEOUT_MS, err,
	    sizeof(err)) == -1)
		proxy_lost(sd, err);
}

/* --- start and stop -------------------------------------------------- */

static int
mkdirs(const char *path, mode_t mode)
{
	char buf[PATH_MAX], *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, mode) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

static int
parent_dir(const char *path, char *buf, size_t len)
{
	char *slash;

	snprintf(buf, len, "%s", path);
	if ((slash = strrchr(buf, '/')) == NULL || slash == buf)
		return -1;
	*slash = '\0';
	return 0;
}

/* Append the file at path to f; -1 with err. */
static int
copy_into(FILE *f, const char *path, char *err, size_t errlen)
{
	char buf[65536];
	size_t n;
	FILE *in;

	if ((in = fopen(path, "re")) == NULL)
		return err_set(err, errlen, "%s: %s", path, strerror(errno));
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, f) != n) {
			fclose(in);
			return err_set(err, errlen, "write: %s", strerror(errno));
		}
	fclose(in);
	return 0;
}

/*
 * What every sandbox gets at /opt/enclave, whatever its backend: the
 * result helpers, copied from helpers_dir, and ca-bundle.pem, the system
 * roots plus the interception CA, so clients inside trust the leaves
 * proxyd mints for bound hosts (and only proxyd can mint them).
 */
static int
stage_sandbox_files(struct sessiond *sd, char *err, size_t errlen)
{
	static const char system_roots[] = "/etc/ssl/certs/ca-certificates.crt";
	const struct sdconfig *cfg = sd->cfg;
	char src[PATH_MAX], dst[PATH_MAX], tmp[PATH_MAX];
	struct dirent *de;
	struct stat st;
	FILE *f;
	DIR *d;

	if (errlen > 0)
		err[0] = '\0';
	snprintf(sd->sandbox_files, sizeof(sd->sandbox_files),
	    "%s/sandbox-files", cfg->state_dir);
	if (mkdirs(sd->sandbox_files, 0755) == -1 ||
	    chmod(sd->sandbox_files, 0755) == -1)
		return err_set(err, errlen, "%s: %s", sd->sandbox_files,
		    strerror(errno));
	if ((d = opendir(cfg->helpers_dir)) == NULL)
		return err_set(err, errlen, "helpers_dir %s: %s",
		    cfg->helpers_dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' ||
		    (size_t)snprintf(src, sizeof(src), "%s/%s", cfg->helpers_dir,
		    de->d_name) >= sizeof(src) ||
		    (size_t)snprintf(dst, sizeof(dst), "%s/%s",
		    sd->sandbox_files, de->d_name) >= sizeof(dst) ||
		    stat(src, &st) == -1 || !S_ISREG(st.st_mode))
			continue;
		if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", dst) >=
		    sizeof(tmp))
			continue;
		if ((f = fopen(tmp, "we")) == NULL ||
		    copy_into(f, src, err, errlen) == -1 ||
		    fchmod(fileno(f), (st.st_mode & 0111) ? 0755 : 0644) == -1 ||
		    fclose(f) != 0 || rename(tmp, dst) == -1) {
			closedir(d);
			return err[0] ? -1 : err_set(err, errlen, "%s: %s", dst,
			    strerror(errno));
		}
	}
	closedir(d);
	if ((size_t)snprintf(dst, sizeof(dst), "%s/ca-bundle.pem",
	    sd->sandbox_files) >= sizeof(dst) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", dst) >= sizeof(tmp))
		return err_set(err, errlen, "state_dir too long");
	if ((f = fopen(tmp, "we")) == NULL)
		return err_set(err, errlen, "%s: %s", tmp, strerror(errno));
	if ((access(system_roots, R_OK) == 0 &&
	    copy_into(f, system_roots, err, errlen) == -1) ||
	    (cfg->intercept_ca[0] != '\0' &&
	    copy_into(f, cfg->intercept_ca, err, errlen) == -1) ||
	    fchmod(fileno(f), 0644) == -1) {
		fclose(f);
		(void)unlink(tmp);
		return -1;
	}
	if (fclose(f) != 0 || rename(tmp, dst) == -1)
		return err_set(err, errlen, "%s: %s", dst, strerror(errno));
	return 0;
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct sessiond *sd = arg;
	struct session *s;
	struct timeval tv = { SHUTDOWN_GRACE_S, 0 };

	(void)what;
	if (sig == SIGHUP) {
		log_info("SIGHUP: configuration reload is not supported; "
		    "restart the service to apply changes");
		return;
	}
	if (sd->stopping)
		return;
	log_info("signal %d: ending %u live sessions and stopping",
	    (int)sig, sd->live);
	sd->stopping = true;
	TAILQ_FOREACH(s, &sd->sessions, entry)
		session_kill(s);
	if (sd->live == 0)
		event_base_loopexit(sd->base, NULL);
	else
		event_base_loopexit(sd->base, &tv);
}

int
sessiond_init(struct sessiond *sd, struct sdconfig *cfg, char *err,
    size_t errlen)
{
	char dir[PATH_MAX], pool[64];
	int saved = -1, rc;

	memset(sd, 0, sizeof(*sd));
	fault_init();
	sd->cfg = cfg;
	sd->appliance_nsfd = -1;
	sd->unix_fd = -1;
	TAILQ_INIT(&sd->sessions);
	if ((sd->base = event_base_new()) == NULL)
		return err_set(err, errlen, "event_base_new failed");
	if (cfg->appliance_netns[0] != '\0' &&
	    (sd->appliance_nsfd = netns_open(cfg->appliance_netns, err,
	    errlen)) < 0) {
		sd->appliance_nsfd = -1;
		return -1;
	}

	snprintf(sd->audit_path, sizeof(sd->audit_path), "%s", cfg->audit_log);
	if (parent_dir(cfg->audit_log, dir, sizeof(dir)) == 0 &&
	    mkdirs(dir, 0750) == -1)
		return err_set(err, errlen, "mkdir %s: %s", dir, strerror(errno));
	if ((sd->audit = audit_open(cfg->audit_log, err, errlen)) == NULL)
		return -1;
	sd->audit_ok = true;
	snprintf(sd->state_dir, sizeof(sd->state_dir), "%s/sessions",
	    cfg->state_dir);
	if (mkdirs(sd->state_dir, 0700) == -1)
		return err_set(err, errlen, "mkdir %s: %s", sd->state_dir,
		    strerror(errno));
	if (stage_sandbox_files(sd, err, errlen) == -1)
		return -1;
	snprintf(sd->run_dir, sizeof(sd->run_dir), "%s/run", cfg->state_dir);
	if (mkdirs(sd->run_dir, 0711) == -1)
		return err_set(err, errlen, "mkdir %s: %s", sd->run_dir,
		    strerror(errno));

	if (cidr_format(&cfg->pool, pool, sizeof(pool)) == -1 ||
	    (rc = addrpool_init(&sd->pool, pool, err, errlen)) < 0)
		return -1;
	sd->rcfg.tproxy_port = cfg->tproxy_port;
	sd->rcfg.dns_port = cfg->dns_port;
	sd->rcfg.nflog_group = cfg->nflog_group;
	sd->rcfg.ipv6 = 0;
	if (nft_open(&sd->nft, sd->appliance_nsfd, err, errlen) == -1)
		return -1;
	if ((sd->proxy_retry = evtimer_new(sd->base, proxy_retry_cb, sd)) ==
	    NULL)
		return err_set(err, errlen, "out of memory");
	proxy_connect(sd);

	/* What a previous run left behind goes before anything new starts. */
	if (reconcile_startup(sd, err, errlen) == -1)
		return -1;


	if (sd->appliance_nsfd != -1 &&
	    netns_enter(sd->appliance_nsfd, &saved) == -1)
		return err_set(err, errlen, "enter appliance netns: %s",
		    strerror(errno));
	sd->nflog = nflog_open(cfg->nflog_group, err, errlen);
	if (saved != -1 && netns_leave(saved) == -1)
		fatal("cannot return from the appliance netns");
	if (sd->nflog == NULL)
		return -1;
	if ((sd->nflog_ev = event_new(sd->base, nflog_fd(sd->nflog),
	    EV_READ | EV_PERSIST, nflog_cb, sd)) == NULL)
		return err_set(err, errlen, "out of memory");
	event_add(sd->nflog_ev, NULL);


	/* The TCP listener, if any, belongs in the appliance netns. */
	if (sd->appliance_nsfd != -1 &&
	    netns_enter(sd->appliance_nsfd, &saved) == -1)
		return err_set(err, errlen, "enter appliance netns: %s",
		    strerror(errno));
	rc = api_start(sd, err, errlen);
	if (saved != -1 && netns_leave(saved) == -1)
		fatal("cannot return from the appliance netns");
	if (rc == -1)
		return -1;

	if ((sd->sig_term = evsignal_new(sd->base, SIGTERM, signal_cb, sd)) ==
	    NULL ||
	    (sd->sig_int = evsignal_new(sd->base, SIGINT, signal_cb, sd)) ==
	    NULL ||
	    (sd->sig_hup = evsignal_new(sd->base, SIGHUP, signal_cb, sd)) ==
	    NULL)
		return err_set(err, errlen, "out of memory");
	evsignal_add(sd->sig_term, NULL);
	evsignal_add(sd->sig_int, NULL);
	evsignal_add(sd->sig_hup, NULL);
	return 0;
}

int
sessiond_run(struct sessiond *sd)
{
	log_info("listening on %s", sd->cfg->socket);
	return event_base_dispatch(sd->base) == -1 ? -1 : 0;
}

void
sessiond_fini(struct sessiond *sd)
{
	struct session *s;
	char e[256];

	api_stop(sd);
	/* Sessions that outlived the grace period are torn down hard. */
	while ((s = TAILQ_FIRST(&sd->sessions)) != NULL) {
		TAILQ_REMOVE(&sd->sessions, s, entry);
		if (!phase_is_terminal(s->phase)) {
			err_set(e, sizeof(e), "sessiond stopped");
			sessiond_audit(sd, s, "sandbox_failed",
			    json_pack("{s:s, s:s}", "step", "shutdown",
			    "error", e));
			sessiond_state_remove(sd, s);
		}
		session_free(s);
	}
	if (sd->sig_term != NULL)
		event_free(sd->sig_term);
	if (sd->sig_int != NULL)
		event_free(sd->sig_int);
	if (sd->sig_hup != NULL)
		event_free(sd->sig_hup);
	if (sd->proxy_ev != NULL)
		event_free(sd->proxy_ev);
	if (sd->proxy_retry != NULL)
		event_free(sd->proxy_retry);
	proxyc_close(sd->proxy);
	if (sd->nflog_ev != NULL)
		event_free(sd->nflog_ev);
	if (sd->nflog != NULL)
		nflog_close(sd->nflog);
	if (sd->nft != NULL)
		nft_close(sd->nft);
	if (sd->audit != NULL) {
		(void)audit_flush(sd->audit);
		audit_close(sd->audit);
	}
	if (sd->appliance_nsfd != -1)
		close(sd->appliance_nsfd);
	if (sd->base != NULL)
		event_base_free(sd->base);
	memset(sd, 0, sizeof(*sd));
}
