#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/ip.h"
#include "proxyd/config.h"
#include "rules/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_check(int ok)
{
	if (!ok)
		abort();
}

static const char *const fuzz_probes[] = {
	"198.19.0.1", "198.18.0.1", "0.0.0.0", "255.255.255.255", "::",
	"2001:2::1", "::ffff:198.19.0.1",
};

/*
 * Invariants: an error is one "fuzz:..." line; a config has 1..8
 * transparent listeners and every source's own address finds that source
 * (sources never overlap), and any address found lies in what found it.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxyd_config *cfg = NULL;
	const struct config_source *s;
	struct ip_addr ip;
	char err[512];
	size_t i;

	err[0] = '\0';
	if (config_parse((const char *)data, size, "fuzz", &cfg, err,
	    sizeof(err)) == -1) {
		fuzz_check(cfg == NULL);
		fuzz_check(strncmp(err, "fuzz:", 5) == 0);
		fuzz_check(strchr(err, '\n') == NULL);
		return 0;
	}
	fuzz_check(cfg != NULL);
	fuzz_check(cfg->transparent.n >= 1 &&
	    cfg->transparent.n <= CONFIG_LISTEN_MAX);
	fuzz_check(cfg->dns.n <= CONFIG_LISTEN_MAX);
	fuzz_check(cfg->explicit_proxy.n <= CONFIG_LISTEN_MAX);
	fuzz_check(cfg->nsources <= CONFIG_SOURCES_MAX);
	for (i = 0; i < cfg->nsources; i++) {
		fuzz_check(cfg->sources[i].policy != NULL);
		fuzz_check(policy_count(cfg->sources[i].policy) <=
		    POLICY_MAX_PATTERNS);
		fuzz_check(config_source_find(cfg, &cfg->sources[i].cidr.addr) ==
		    &cfg->sources[i]);
	}
	for (i = 0; i < sizeof(fuzz_probes) / sizeof(fuzz_probes[0]); i++) {
		fuzz_check(ip_parse(fuzz_probes[i], strlen(fuzz_probes[i]), &ip,
		    NULL) == 0);
		if ((s = config_source_find(cfg, &ip)) != NULL)
			fuzz_check(cidr_contains(&s->cidr, &ip));
		(void)ip_classify(&ip, &cfg->exempt);
	}
	config_free(cfg);
	return 0;
}
