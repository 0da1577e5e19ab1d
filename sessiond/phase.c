#include <string.h>

#include "sessiond/phase.h"

static const char *const phase_names[] = {
	[PHASE_PENDING] = "pending",
	[PHASE_STARTING] = "starting",
	[PHASE_RUNNING] = "running",
	[PHASE_SUCCEEDED] = "succeeded",
	[PHASE_FAILED] = "failed",
	[PHASE_TIMED_OUT] = "timed_out",
	[PHASE_KILLED] = "killed",
	[PHASE_ERROR] = "error",
};

#define PHASE_COUNT (sizeof(phase_names) / sizeof(phase_names[0]))

const char *
phase_name(enum phase p)
{
	if ((unsigned)p >= PHASE_COUNT)
		return "invalid";
	return phase_names[p];
}

int
phase_parse(const char *name, enum phase *out)
{
	size_t i;

	for (i = 0; i < PHASE_COUNT; i++) {
		if (strcmp(name, phase_names[i]) == 0) {
			*out = (enum phase)i;
			return 0;
		}
	}
	return -1;
}

int
phase_is_terminal(enum phase p)
{
	return p >= PHASE_SUCCEEDED && (unsigned)p < PHASE_COUNT;
}

int
phase_transition_ok(enum phase from, enum phase to)
{
	if ((unsigned)from >= PHASE_COUNT || (unsigned)to >= PHASE_COUNT)
		return -1;
	if (phase_is_terminal(from))
		return -1;
	/* Killing or failing is possible from every live phase. */
	if (to == PHASE_KILLED || to == PHASE_ERROR)
		return 0;
	switch (from) {
	case PHASE_PENDING:
		return to == PHASE_STARTING ? 0 : -1;
	case PHASE_STARTING:
		return to == PHASE_RUNNING ? 0 : -1;
	case PHASE_RUNNING:
		return (to == PHASE_SUCCEEDED || to == PHASE_FAILED ||
		    to == PHASE_TIMED_OUT) ? 0 : -1;
	default:
		return -1;
	}
}
