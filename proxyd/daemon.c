#include <errno.h>
#include <event2/thread.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include <config.h>
#include "proxyd/control.h"
#include "proxyd/daemon.h"
#include "proxyd/intercept.h"
#include "proxyd/server.h"
#include "proxyd/worker.h"

#define WORKERS_MAX 64
#define DRAIN_MS_DEFAULT 5000

struct options {
	const char *config;
	const char *resolver;
	int workers;
	int check_only;
	int allow_root;
	unsigned int drain_ms;
	enum log_level level;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: enclave-proxyd -c CONFIG [-t] [-d] [-R] [-w WORKERS] [-r SERVERS]\n"
	    "                      [-D DRAIN_MS]\n"
	    "  -c CONFIG   configuration file (see contrib/proxyd.conf.example)\n"
	    "  -t          check the configuration and exit\n"
	    "  -d          debug logging\n"
	    "  -R          keep running as root when the config names no user\n"
	    "  -w N        event loops (default: one per online CPU)\n"
	    "  -r SERVERS  DNS servers as ADDR:PORT[,...] (default: resolv.conf)\n"
	    "  -D MS       on SIGTERM, wait this long for connections (default 5000)\n");
}

static int
parse_options(int argc, char **argv, struct options *o)
{
	int ch;
	long v;
	char *end;

	memset(o, 0, sizeof(*o));
	o->level = LOG_LEVEL_INFO;
	o->drain_ms = DRAIN_MS_DEFAULT;
	while ((ch = getopt(argc, argv, "c:tdRw:r:D:hV")) != -1) {
		switch (ch) {
		case 'c':
			o->config = optarg;
			break;
		case 't':
			o->check_only = 1;
			break;
		case 'd':
			o->level = LOG_LEVEL_DEBUG;
			break;
		case 'R':
			o->allow_root = 1;
			break;
		case 'w':
			v = strtol(optarg, &end, 10);
			if (*end != '\0' || v < 1 || v > WORKERS_MAX) {
				fprintf(stderr, "enclave-proxyd: -w must be 1..%d\n",
				    WORKERS_MAX);
				return -1;
			}
			o->workers = (int)v;
			break;
		case 'r':
			o->resolver = optarg;
			break;
		case 'D':
			v = strtol(optarg, &end, 10);
			if (*end != '\0' || v < 0 || v > 600000) {
				fprintf(stderr, "enclave-proxyd: -D must be 0..600000\n");
				return -1;
			}
			o->drain_ms = (unsigned int)v;
			break;
		case 'V':
			printf("enclave-proxyd %s\n", PACKAGE_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc || o->config == NULL) {
		usage(stderr);
		return -1;
	}
	if (o->workers == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		o->workers = n < 1 ? 1 : n > WORKERS_MAX ? WORKERS_MAX : (int)n;
	}
	return 0;
}

/*
 * Everything privileged (binding, the control socket, the event log) is
 * done; from here on the proxy parses hostile bytes, so it does it as an
 * unprivileged user with no way back and no way to gain privileges.
 */
static int
drop_privileges(const char *user, int allow_root, char *err, size_t errlen)
{
	struct passwd *pw;
	uid_t r, e, s;

	if (user[0] == '\0') {
		if (allow_root || geteuid() != 0)
			return 0;
		snprintf(err, errlen, "refusing to run as root without -R");
		return -1;
	}
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errlen, "user %s: no such user", user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "user %s: must not be root", user);
		return -1;
	}
	if (geteuid() != 0) {
		if (geteuid() == pw->pw_uid)
			return 0;
		snprintf(err, errlen, "cannot become %s: not started as root", user);
		return -1;
	}
	if (setgroups(0, NULL) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1) {
		snprintf(err, errlen, "becoming %s: %s", user, strerror(errno));
		return -1;
	}
	if (getresuid(&r, &e, &s) == -1 || r != pw->pw_uid || e != pw->pw_uid ||
	    s != pw->pw_uid || setuid(0) != -1) {
		snprintf(err, errlen, "becoming %s: root could be regained", user);
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		snprintf(err, errlen, "no_new_privs: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * The interception CA, loaded or created while we are still root: the key
 * is then owned by the user we become, readable by nobody else.
 */
static int
intercept_setup(struct server *srv, char *err, size_t errlen)
{
	const struct proxyd_config *cfg = srv->cur->cfg;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	struct passwd *pw;

	if (cfg->user[0] != '\0' && geteuid() == 0) {
		if ((pw = getpwnam(cfg->user)) == NULL) {
			snprintf(err, errlen, "user %s: no such user", cfg->user);
			return -1;
		}
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	srv->intercept = intercept_ctx_new(cfg->intercept_ca_cert,
	    cfg->intercept_ca_key, cfg->upstream_ca, uid, gid, err, errlen);
	if (srv->intercept == NULL)
		return -1;
	log_info("TLS interception for bound hosts, CA %s",
	    cfg->intercept_ca_cert);
	return 0;
}

static void
sources_release(void *arg)
{
	server_config_put(arg);
}

/* The config's `source` lines become sessions that borrow its policies
 * and keep the config alive while any connection holds one. */
static int
publish_sources(struct server *srv)
{
	struct server_config *sc = server_config_get(srv);
	const struct proxyd_config *cfg = sc->cfg;
	struct px_session **v = NULL;
	size_t i, n = 0;
	int rc = -1;

	if (cfg->nsources > 0 && (v = calloc(cfg->nsources, sizeof(*v))) == NULL)
		goto out;
	for (i = 0; i < cfg->nsources; i++) {
		atomic_fetch_add(&sc->refs, 1);
		v[n] = px_session_new_borrowed(cfg->sources[i].tenant,
		    &cfg->sources[i].cidr, cfg->sources[i].policy,
		    cfg->limits.max_connections_per_session, sources_release, sc);
		if (v[n] == NULL) {
			server_config_put(sc);
			goto out;
		}
		n++;
	}
	rc = session_table_set_sources(srv->sessions, v, n);
out:
	for (i = 0; i < n; i++)
		px_session_unref(v[i]);
	free(v);
	server_config_put(sc);
	return rc;
}

static int
listeners_equal(const struct config_listeners *a, const struct config_listeners *b)
{
	size_t i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (!ip_equal(&a->v[i].addr, &b->v[i].addr) || a->v[i].port != b->v[i].port)
			return 0;
	return 1;
}

/* SIGHUP: a bad file is refused with its file:line message and the old
 * config stays; live connections keep the config they started with. */
static void
reload(struct server *srv, const char *path)
{
	struct proxyd_config *cfg;
	struct server_config *old;
	char err[1024];

	if (config_load(path, &cfg, err, sizeof(err)) == -1) {
		log_warnx("reload refused, old configuration stays: %s", err);
		return;
	}
	old = server_config_get(srv);
	if (!listeners_equal(&old->cfg->transparent, &cfg->transparent))
		log_warnx("reload: listener changes take effect after a restart");
	if (strcmp(old->cfg->intercept_ca_cert, cfg->intercept_ca_cert) != 0 ||
	    strcmp(old->cfg->intercept_ca_key, cfg->intercept_ca_key) != 0 ||
	    strcmp(old->cfg->upstream_ca, cfg->upstream_ca) != 0)
		log_warnx("reload: interception CA changes take effect after a "
		    "restart");
	server_config_put(old);
	if (server_config_set(srv, cfg) == -1 || publish_sources(srv) == -1) {
		log_warnx("reload: out of memory");
		return;
	}
	log_info("configuration reloaded from %s", path);
}

int
proxyd_main(int argc, char **argv)
{
	struct options o;
	struct server srv;
	struct proxyd_config *cfg;
	struct worker *workers = NULL;
	struct control *ctl = NULL;
	struct metrics_server *msrv = NULL;
	sigset_t sigs;
	char err[1024];
	int i, sig, started = 0, status = 1;

	if (parse_options(argc, argv, &o) == -1)
		return 2;
	log_init("enclave-proxyd", 0, o.level);
	if (config_load(o.config, &cfg, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		return 1;
	}
	if (o.check_only) {
		printf("%s: configuration OK\n", o.config);
		config_free(cfg);
		return 0;
	}
	/* Decided before anything is bound, so a refused start disturbs
	 * nothing a running instance owns. */
	if (cfg->user[0] == '\0' && geteuid() == 0 && !o.allow_root) {
		log_warnx("refusing to run as root: name an unprivileged user in "
		    "the config (user NAME) or pass -R");
		config_free(cfg);
		return 1;
	}
	if (evthread_use_pthreads() == -1)
		fatalx("libevent has no thread support");
	signal(SIGPIPE, SIG_IGN);
	/* Signals are taken by the main thread alone, with sigwait. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	memset(&srv, 0, sizeof(srv));
	pthread_mutex_init(&srv.cfg_lock, NULL);
	if ((srv.sessions = session_table_new()) == NULL ||
	    (srv.metrics = metrics_new()) == NULL)
		fatalx("out of memory");
	if ((srv.events = events_new(cfg->event_log, err, sizeof(err))) == NULL) {
		log_warnx("%s", err);
		config_free(cfg);
		goto out;
	}
	if (server_config_set(&srv, cfg) == -1 || publish_sources(&srv) == -1)
		fatalx("out of memory");
	if (srv.cur->cfg->intercept_ca_cert[0] != '\0' &&
	    intercept_setup(&srv, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		goto out;
	}
	if ((workers = calloc((size_t)o.workers, sizeof(*workers))) == NULL)
		fatalx("out of memory");
	for (i = 0; i < o.workers; i++) {
		if (worker_init(&workers[i], &srv, i, srv.cur->cfg, o.resolver, err,
		    sizeof(err)) == -1) {
			log_warnx("%s", err);
			goto out;
		}
		started++;
	}
	if (srv.cur->cfg->control_socket[0] != '\0') {
		ctl = control_new(workers[0].base, &srv, srv.cur->cfg->control_socket,
		    err, sizeof(err));
		if (ctl == NULL) {
			log_warnx("%s", err);
			goto out;
		}
		events_set_sink(srv.events, control_broadcast, ctl);
	}
	if (srv.cur->cfg->metrics.addr.family != 0) {
		char where[CTL_ENDPOINT_STRLEN];

		ctl_endpoint_format(&srv.cur->cfg->metrics, where, sizeof(where));
		msrv = metrics_server_new(workers[0].base, srv.metrics, where, err,
		    sizeof(err));
		if (msrv == NULL) {
			log_warnx("%s", err);
			goto out;
		}
	}
	if (drop_privileges(srv.cur->cfg->user, o.allow_root, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		goto out;
	}
	for (i = 0; i < o.workers; i++)
		if (worker_start(&workers[i]) == -1)
			fatalx("cannot start worker %d", i);
	log_info("listening with %d event loops as uid %u", o.workers,
	    (unsigned int)geteuid());

	for (;;) {
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			reload(&srv, o.config);
			continue;
		}
		log_info("signal %d: draining for up to %u ms", sig, o.drain_ms);
		break;
	}
	for (i = 0; i < o.workers; i++)
		worker_stop(&workers[i], o.drain_ms);
	for (i = 0; i < o.workers; i++)
		worker_join(&workers[i]);
	status = 0;
out:
	if (ctl != NULL) {
		events_set_sink(srv.events, NULL, NULL);
		control_free(ctl);
	}
	metrics_server_free(msrv);
	for (i = 0; i < started; i++)
		worker_fini(&workers[i]);
	free(workers);
	if (srv.events != NULL) {
		events_tick(srv.events, 1);
		events_free(srv.events);
	}
	session_table_free(srv.sessions);
	intercept_ctx_free(srv.intercept);
	metrics_free(srv.metrics);
	server_config_put(srv.cur);
	pthread_mutex_destroy(&srv.cfg_lock);
	return status;
}
