/*
 * The sandbox's children: init (pid 1 of the new pid namespace, which
 * builds the root file system, forks the workload and reaps) and the
 * workload (which drops privileges and execs the interpreter). Between
 * clone and execve they make system calls only.
 */
#ifndef ENCLAVE_SESSIOND_SANDBOX_CHILD_H
#define ENCLAVE_SESSIOND_SANDBOX_CHILD_H

#include <stdint.h>
#include <sys/types.h>

#include "sessiond/sandbox_plan.h"

/* What a child tells the caller: a failed step, or the workload's end. */
enum { SANDBOX_MSG_ERROR = 1, SANDBOX_MSG_STATUS = 2 };
struct sandbox_msg {
	int kind;
	int errnum;
	int wstatus;
	char what[116];
};

/*
 * clone3() with FLAGS, a pidfd in *pidfd unless it is NULL, and SIGCHLD at
 * exit: 0 in the child, as fork() does.
 */
pid_t sandbox_clone(uint64_t flags, int *pidfd);

/* Be the sandbox's init, in the child of sandbox_clone(); never returns. */
void sandbox_child_init(struct sandbox_plan *p) __attribute__((noreturn));

#endif
