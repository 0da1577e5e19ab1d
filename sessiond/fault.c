/*
 * Fault injection (fault.h). An environment variable may make sessiond
 * kill itself: harmless, since whoever sets sessiond's environment
 * already controls it (and could SIGKILL it, or run another binary).
 * SIGKILL and not abort(): nothing may run on the way out (no atexit, no
 * flush, no core), exactly like the OOM killer or a power cut.
 */
#include <config.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "sessiond/fault.h"

static char fault_name[FAULT_NAME_MAX + 1];
static unsigned long fault_nth, fault_seen;

int
fault_parse(const char *spec, char *name, size_t namelen, unsigned long *nth)
{
	const char *colon, *p;
	unsigned long n = 1;
	size_t len;

	if (spec == NULL)
		return -1;
	colon = strchr(spec, ':');
	len = colon != NULL ? (size_t)(colon - spec) : strlen(spec);
	if (len == 0 || len > FAULT_NAME_MAX || len >= namelen)
		return -1;
	for (p = spec; p < spec + len; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '_' || *p == '.'))
			return -1;
	if (colon != NULL) {
		/* Digits only: strtoul would take signs, spaces and hex. */
		if (colon[1] == '\0')
			return -1;
		n = 0;
		for (p = colon + 1; *p != '\0'; p++) {
			if (*p < '0' || *p > '9')
				return -1;
			n = n * 10 + (unsigned long)(*p - '0');
			if (n > FAULT_NTH_MAX)
				return -1;
		}
		if (n == 0)
			return -1;
	}
	memcpy(name, spec, len);
	name[len] = '\0';
	*nth = n;
	return 0;
}

void
fault_init(void)
{
	const char *spec = getenv("ENCLAVE_FAULT");

	fault_name[0] = '\0';
	fault_nth = fault_seen = 0;
	if (spec == NULL || spec[0] == '\0')
		return;
	if (fault_parse(spec, fault_name, sizeof(fault_name), &fault_nth) ==
	    -1) {
		fault_name[0] = '\0';
		log_warnx("ENCLAVE_FAULT=%s: not NAME or NAME:N; ignored", spec);
		return;
	}
	log_warnx("fault injection armed: SIGKILL at %s, pass %lu",
	    fault_name, fault_nth);
}

void
fault_point(const char *name)
{
	if (fault_name[0] == '\0' || strcmp(name, fault_name) != 0)
		return;
	if (++fault_seen < fault_nth)
		return;
	log_warnx("fault injection: SIGKILL at %s (pass %lu)", name,
	    fault_seen);
	(void)raise(SIGKILL);
}
