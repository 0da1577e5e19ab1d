/* The registry of compiled-in SessionBackends. */
#include <config.h>

#include <string.h>

#include "sessiond/backend.h"

static const struct session_backend *const backends[] = {
	&backend_namespace,
	&backend_oci_runc,
	&backend_oci_crun,
	&backend_gvisor,
	&backend_docker,
	&backend_microvm,
	&backend_firecracker,
};

const struct session_backend *const *
backend_all(size_t *n)
{
	*n = sizeof(backends) / sizeof(backends[0]);
	return backends;
}

const struct session_backend *
backend_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (strcmp(backends[i]->name, name) == 0)
			return backends[i];
	return NULL;
}
