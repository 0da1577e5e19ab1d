/*
 * Fault injection for the crash tests (tests/lab/faults.sh): sessiond
 * kills itself at a named point of session setup or teardown, so a test
 * can prove that a restart leaves nothing stale. Inert unless the
 * ENCLAVE_FAULT environment variable names a point.
 *
 * ENCLAVE_FAULT=NAME kills at NAME's first pass, NAME:N at its N-th
 * (N in 1..1000000), counted over every session of the process.
 *
 * The points, in the order a session passes them:
 *
 *   setup.created    session_created audited, first state file written
 *                    (no names in it yet), nothing built
 *   setup.address    address and slot taken, the state file not yet
 *                    rewritten with them
 *   setup.state      state file rewritten with netns and veth names,
 *                    no netns yet
 *   setup.netns      netns and veth made, no nft elements yet
 *   setup.rules      nft elements added, proxyd not told yet
 *   setup.proxy      session added to proxyd, no sandbox yet
 *   setup.sandbox    sandbox started, sandbox_started not audited yet
 *   setup.running    running, its state file rewritten
 *   finish.result    workload ended, result_collected audited
 *   finish.metered   usage_metered audited, teardown not begun
 *   teardown.begin   teardown entered, nothing undone yet
 *   teardown.sandbox sandbox freed (killed, cgroup gone)
 *   teardown.proxy   session removed from proxyd
 *   teardown.rules   nft elements removed
 *   teardown.netns   netns and veth removed, address returned
 *   teardown.state   session ended, its state file not yet removed
 *   teardown.ended   state file removed, the ending not yet answered
 */
#ifndef ENCLAVE_SESSIOND_FAULT_H
#define ENCLAVE_SESSIOND_FAULT_H

#include <stddef.h>

#define FAULT_NAME_MAX	64
#define FAULT_NTH_MAX	1000000UL

/* Parses "NAME" or "NAME:N" (NAME of [a-z0-9_.], N in 1..FAULT_NTH_MAX)
 * into name and *nth (1 without ":N"). Returns 0, or -1 when spec is
 * malformed (name and *nth are then untouched). */
int fault_parse(const char *spec, char *name, size_t namelen,
    unsigned long *nth);

/* Reads ENCLAVE_FAULT once; call at start-up. */
void fault_init(void);

/* SIGKILLs the daemon when NAME is the armed point. */
void fault_point(const char *name);

#endif
