/*
 * Fuzz target for sessiond/sdconfig.c: the whole input is a config file.
 * A refused file must leave no config and one "fuzz:..." line; an accepted
 * one must satisfy every rule the header documents, and the input, taken
 * as an API key, may only match a line holding its own hash. Every broken
 * invariant aborts.
 */
#include <config.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/evp.h>

#include "proxyd/ctlmsg.h"
#include "sessiond/request.h"
#include "sessiond/sdconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)	do { if (!(x)) abort(); } while (0)

static bool
fuzz_absolute(const char *path, size_t max)
{
	size_t n = strnlen(path, max + 1);

	return path[0] == '/' && n <= max;
}

static void
fuzz_check_config(const struct sdconfig *cfg)
{
	const char *why;
	char msg[256];
	size_t i, n;

	CHECK(fuzz_absolute(cfg->socket, SDCONFIG_SOCKET_PATH_MAX));
	CHECK(fuzz_absolute(cfg->proxyd_control, SDCONFIG_SOCKET_PATH_MAX));
	CHECK(fuzz_absolute(cfg->state_dir, SDCONFIG_PATH_MAX));
	CHECK(fuzz_absolute(cfg->audit_log, SDCONFIG_PATH_MAX));
	CHECK(fuzz_absolute(cfg->helpers_dir, SDCONFIG_PATH_MAX));
	CHECK(cfg->socket_mode >= 0600 && cfg->socket_mode <= 0777);
	CHECK(cfg->tproxy_port >= 1 && cfg->dns_port >= 1);
	CHECK(cfg->pool.addr.family == AF_INET);
	CHECK(cfg->pool.prefix >= SDCONFIG_POOL_MIN_PREFIX &&
	    cfg->pool.prefix <= SDCONFIG_POOL_MAX_PREFIX);
	n = strlen(cfg->name_prefix);
	CHECK(n >= 1 && n <= SDCONFIG_PREFIX_MAX);
	CHECK(strspn(cfg->name_prefix, "abcdefghijklmnopqrstuvwxyz0123456789")
	    == n);
	CHECK(cfg->workload_uid >= 1 && cfg->workload_uid != (uid_t)-1);
	CHECK(cfg->workload_gid >= 1 && cfg->workload_gid != (gid_t)-1);
	CHECK(cfg->max_sessions >= 1 &&
	    cfg->max_sessions <= SDCONFIG_SESSIONS_MAX);
	CHECK(cfg->max_sessions_per_tenant >= 1 &&
	    cfg->max_sessions_per_tenant <= cfg->max_sessions);
	CHECK(cfg->retain_sessions <= SDCONFIG_RETAIN_MAX);
	CHECK(cfg->limits.default_backend == cfg->default_backend);
	CHECK(request_limits_check(&cfg->limits, msg, sizeof(msg)) == 0);
	CHECK(cfg->tcp_listen.addr.family == 0 || cfg->nkeys >= 1);
	if (cfg->appliance_netns[0] != '\0')
		CHECK(netns_name_valid(cfg->appliance_netns, &why) == 0);

	CHECK(cfg->ntenants <= SDCONFIG_TENANTS_MAX);
	for (i = 0; i < cfg->ntenants; i++) {
		const struct sdconfig_tenant_map *t = &cfg->tenants[i];

		CHECK(ctl_tenant_valid(t->tenant, strlen(t->tenant)));
		CHECK(t->uid != (uid_t)-1);
		/* uids are unique, so each finds its own line. */
		CHECK(sdconfig_tenant_by_uid(cfg, t->uid) == t);
	}
	CHECK(cfg->nkeys <= SDCONFIG_KEYS_MAX);
	for (i = 0; i < cfg->nkeys; i++)
		CHECK(ctl_tenant_valid(cfg->keys[i].tenant,
		    strlen(cfg->keys[i].tenant)));
	CHECK(cfg->nbindings <= SDCONFIG_BINDINGS_MAX);
	for (i = 0; i < cfg->nbindings; i++) {
		const struct sdconfig_binding *b = &cfg->bindings[i];

		CHECK(request_name_valid(b->name, strlen(b->name)));
		CHECK(b->secret_file != NULL);
		CHECK(fuzz_absolute(b->secret_file, SDCONFIG_PATH_MAX));
		CHECK(sdconfig_binding(cfg, b->name) == b);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sdconfig *cfg = NULL;
	const struct sdconfig_key *k;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char err[512];

	err[0] = '\0';
	if (sdconfig_parse((const char *)data, size, "fuzz", &cfg, err,
	    sizeof(err)) == -1) {
		CHECK(cfg == NULL);
		CHECK(strncmp(err, "fuzz:", 5) == 0);
		CHECK(strchr(err, '\n') == NULL);
		return 0;
	}
	CHECK(cfg != NULL);
	fuzz_check_config(cfg);

	CHECK(sdconfig_key_lookup(cfg, "", 0) == NULL);
	if ((k = sdconfig_key_lookup(cfg, (const char *)data, size)) != NULL) {
		CHECK(size > 0);
		CHECK(EVP_Digest(data, size, md, &mdlen, EVP_sha256(), NULL) == 1);
		CHECK(mdlen == SDCONFIG_SHA256_LEN);
		CHECK(memcmp(md, k->sha256, SDCONFIG_SHA256_LEN) == 0);
	}
	sdconfig_free(cfg);
	return 0;
}
