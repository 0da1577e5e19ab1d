#ifndef ENCLAVE_PROXYD_SERVER_H
#define ENCLAVE_PROXYD_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "proxyd/config.h"
#include "proxyd/events.h"
#include "proxyd/metrics.h"
#include "proxyd/sessions.h"

struct intercept_ctx;

/*
 * What every worker shares: the live config (swapped whole on reload),
 * the session table and the event stream. Workers own everything else
 * (event loop, resolver, connections).
 */

/* A config with the connections that still use it. */
struct server_config {
	atomic_uint refs;
	struct proxyd_config *cfg;
};

struct server {
	pthread_mutex_t cfg_lock;		/* guards cur only */
	struct server_config *cur;
	struct session_table *sessions;
	struct events *events;
	struct metrics *metrics;		/* NULL-safe: calls do nothing */
	/* TLS interception for bound hosts; NULL without a CA (config), so
	 * bound TLS hosts are refused. Fixed for the daemon's life. */
	struct intercept_ctx *intercept;
	atomic_uint conns;			/* live, all workers */
	atomic_ullong conns_total;
	atomic_ullong denied_total;
	atomic_ullong allowed_total;
};

/* The config new connections should use, with a reference. */
struct server_config *server_config_get(struct server *srv);
void server_config_put(struct server_config *sc);
/* Publishes cfg (owned from now on) for new connections. */
int server_config_set(struct server *srv, struct proxyd_config *cfg);

#endif
