#include <stdlib.h>

#include "proxyd/server.h"

struct server_config *
server_config_get(struct server *srv)
{
	struct server_config *sc;

	pthread_mutex_lock(&srv->cfg_lock);
	sc = srv->cur;
	atomic_fetch_add(&sc->refs, 1);
	pthread_mutex_unlock(&srv->cfg_lock);
	return sc;
}

void
server_config_put(struct server_config *sc)
{
	if (sc == NULL || atomic_fetch_sub(&sc->refs, 1) != 1)
		return;
	config_free(sc->cfg);
	free(sc);
}

int
server_config_set(struct server *srv, struct proxyd_config *cfg)
{
	struct server_config *sc, *old;

	if ((sc = calloc(1, sizeof(*sc))) == NULL) {
		config_free(cfg);
		return -1;
	}
	atomic_init(&sc->refs, 1);
	sc->cfg = cfg;
	pthread_mutex_lock(&srv->cfg_lock);
	old = srv->cur;
	srv->cur = sc;
	pthread_mutex_unlock(&srv->cfg_lock);
	/* Connections accepted under the old config keep it until they end. */
	server_config_put(old);
	return 0;
}
