/*
 * Start-up reconciliation: whatever a previous sessiond left behind (it
 * crashed, was killed, the host lost power) is ended and removed before
 * anything new starts. Sessions named in state files end as `error` with
 * the reason audited; netns, veths, nft elements and cgroups with our name
 * prefix that no session owns are removed.
 */
#include <config.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "netns/link.h"
#include "netns/ns.h"
#include "netns/rtnl.h"
#include "netns/session.h"
#include "rules/reconcile.h"
#include "sessiond/proxyc.h"
#include "sessiond/reconcile.h"
#include "sessiond/sandbox_cgroup.h"
#include "sessiond/sdconfig.h"
#include "sessiond/sessiond.h"

#define RESTART_REASON \
	"sessiond restarted while the session was running; its sandbox " \
	"was killed and its network removed"

/* "PREFIX" + c + digits, exactly. */
static int
ours(const char *name, const char *prefix, char c)
{
	size_t pl = strlen(prefix);
	const char *p;

	if (strncmp(name, prefix, pl) != 0 || name[pl] != c ||
	    name[pl + 1] == '\0')
		return 0;
	for (p = name + pl + 1; *p != '\0'; p++)
		if (!isdigit((unsigned char)*p))
			return 0;
	return 1;
}

/* One state file: the session it names ends in error, fully cleaned. */
static void
reconcile_state(struct sessiond *sd, const char *path)
{
	struct session *s;
	struct netns_session ns;
	json_t *j;
	const char *id, *tenant, *backend, *lang, *netns, *host_if;
	enum session_language l = SESSION_LANG_PYTHON;
	const char *code = "";
	char err[512];

	if ((j = json_load_file(path, 0, NULL)) == NULL ||
	    json_unpack(j, "{s:s, s:s, s:s, s:s, s:s, s:s}", "id", &id,
	    "tenant", &tenant, "backend", &backend, "language", &lang,
	    "netns", &netns, "host_if", &host_if) == -1 ||
	    strlen(id) != SESSION_ID_LEN) {
		log_warnx("reconcile: %s: unreadable state file, removed "
		    "(the sweep below still cleans its objects)", path);
		json_decref(j);
		(void)unlink(path);
		return;
	}
	(void)session_language_parse(lang, &l);
	if (sd->proxy != NULL &&
	    proxyc_session_del(sd->proxy, id, SESSIOND_PROXY_TIMEOUT_MS, &code,
	    err, sizeof(err)) == -1 && strcmp(code, CTL_ERR_NOT_FOUND) != 0)
		log_warnx("reconcile: %s: proxyd: %s", id, err);
	if (netns_session_init(&ns, sd->appliance_nsfd, netns, host_if, err,
	    sizeof(err)) == 0 &&
	    netns_session_teardown(&ns, err, sizeof(err)) == -1)
		log_warnx("reconcile: %s: %s", id, err);

	/* A record, so GET says what happened to it. */
	if ((s = calloc(1, sizeof(*s))) != NULL) {
		int i;

		for (i = 0; i < SP_N; i++)
			s->cap[i].fd = -1;
		TAILQ_INIT(&s->waiters);
		s->sd = sd;
		snprintf(s->id, sizeof(s->id), "%s", id);
		snprintf(s->tenant, sizeof(s->tenant), "%s", tenant);
		snprintf(s->backend, sizeof(s->backend), "%s", backend);
		s->language = l;
		s->created_ms = (int64_t)json_integer_value(
		    json_object_get(j, "created_ms"));
		s->finished_ms = clock_realtime_ms();
		s->phase = PHASE_ERROR;
		s->error = strdup(RESTART_REASON);
		TAILQ_INSERT_TAIL(&sd->sessions, s, entry);
		sd->finished++;
		sessiond_audit(sd, s, "sandbox_failed",
		    json_pack("{s:s, s:s}", "step", "restart", "error",
		    RESTART_REASON));
	}
	log_info("reconcile: session %s ended (%s)", id, RESTART_REASON);
	json_decref(j);
	if (unlink(path) == -1)
		log_warn("reconcile: remove %s", path);
}

static void
reconcile_states(struct sessiond *sd)
{
	char path[PATH_MAX];
	struct dirent *de;
	size_t n;
	DIR *d;

	if ((d = opendir(sd->state_dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", sd->state_dir,
		    de->d_name) >= sizeof(path))
			continue;
		if (n > 4 && strcmp(de->d_name + n - 4, ".tmp") == 0) {
			(void)unlink(path);
			continue;
		}
		if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0)
			continue;
		reconcile_state(sd, path);
	}
	closedir(d);
}

/* Session netns without a live owner: ours by name. */
static void
sweep_netns(struct sessiond *sd)
{
	struct dirent *de;
	char err[256];
	DIR *d;

	if ((d = opendir("/run/netns")) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (!ours(de->d_name, sd->cfg->name_prefix, 's'))
			continue;
		if (netns_delete(de->d_name, err, sizeof(err)) < 0)
			log_warnx("reconcile: %s", err);
		else
			log_info("reconcile: removed netns %s", de->d_name);
	}
	closedir(d);
}

/* Host-side veths whose session netns is gone are normally gone with it;
 * one that is not would hold its address and its name. */
static void
sweep_links(struct sessiond *sd)
{
	struct if_nameindex *ifs = NULL, *i;
	struct rtnl r;
	char err[256];
	int saved = -1;

	if (sd->appliance_nsfd != -1 &&
	    netns_enter(sd->appliance_nsfd, &saved) == -1)
		return;
	ifs = if_nameindex();
	if (saved != -1 && netns_leave(saved) == -1)
		fatal("cannot return from the appliance netns");
	if (ifs == NULL)
		return;
	if (rtnl_open(&r, sd->appliance_nsfd) < 0) {
		if_freenameindex(ifs);
		return;
	}
	for (i = ifs; i->if_index != 0; i++) {
		if (!ours(i->if_name, sd->cfg->name_prefix, 'h'))
			continue;
		if (link_delete(&r, i->if_name, err, sizeof(err)) < 0)
			log_warnx("reconcile: %s", err);
		else
			log_info("reconcile: removed link %s", i->if_name);
	}
	rtnl_close(&r);
	if_freenameindex(ifs);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if ((flag == FTW_DP ? rmdir(path) : unlink(path)) == -1 &&
	    errno != ENOENT)
		log_warn("reconcile: remove %s", path);
	return 0;
}

/* Backends' per-run directories (bundles, sockets) of dead sessions. */
static void
sweep_run_dirs(struct sessiond *sd)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if ((d = opendir(sd->run_dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "ses_", 4) != 0)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", sd->run_dir,
		    de->d_name) >= sizeof(path))
			continue;
		/* FTW_PHYS: never follow a link out of the directory. */
		(void)nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
		log_info("reconcile: removed %s", path);
	}
	closedir(d);
}

int
reconcile_startup(struct sessiond *sd, char *err, size_t errlen)
{
	const struct session_backend *const *all;
	struct rules_reconcile_result res;
	char cgname[SDCONFIG_PREFIX_MAX + 2];
	unsigned int cgs = 0;
	size_t n, i;

	reconcile_states(sd);
	all = backend_all(&n);
	for (i = 0; i < n; i++)
		if (all[i]->sweep != NULL)
			all[i]->sweep(sd->cfg, sd->cfg->name_prefix);
	sweep_run_dirs(sd);
	sweep_netns(sd);
	sweep_links(sd);
	/* After the backends' own: every "enclave-PREFIX-*" still here (the
	 * namespace sandbox's), with what still runs there. */
	snprintf(cgname, sizeof(cgname), "%s-", sd->cfg->name_prefix);
	if (sandbox_cg_sweep(cgname, SANDBOX_CG_PREFIXED | SANDBOX_CG_KILL,
	    &cgs) == -1)
		log_warnx("reconcile: some cgroups could not be removed");
	if (cgs > 0)
		log_info("reconcile: removed %u cgroups", cgs);
	/* No session is live now: the table keeps its shape and loses every
	 * element, or is made when missing. */
	memset(&res, 0, sizeof(res));
	if (rules_reconcile(sd->nft, &sd->rcfg, NULL, 0, &res, err,
	    errlen) == -1)
		return -1;
	return 0;
}
