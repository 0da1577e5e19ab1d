#ifndef ENCLAVE_SESSIOND_PHASE_H
#define ENCLAVE_SESSIOND_PHASE_H

/*
 * A session's life, as DESIGN.md fixes it:
 *   pending → starting → running → succeeded | failed | timed_out | killed | error
 * Any non-terminal phase may also end in killed (DELETE) or error (a step
 * failed and was unwound). Terminal phases never change again.
 */
enum phase {
	PHASE_PENDING = 0,
	PHASE_STARTING,
	PHASE_RUNNING,
	PHASE_SUCCEEDED,
	PHASE_FAILED,
	PHASE_TIMED_OUT,
	PHASE_KILLED,
	PHASE_ERROR,
};

const char *phase_name(enum phase p);
int phase_parse(const char *name, enum phase *out);
int phase_is_terminal(enum phase p);
/* 0 when from → to is a legal step, -1 otherwise. */
int phase_transition_ok(enum phase from, enum phase to);

#endif
