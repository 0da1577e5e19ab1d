/*
 * The sandbox workload's seccomp filter: libseccomp's rules compiled to
 * plain BPF in the caller, so loading it in the child allocates nothing.
 */
#ifndef ENCLAVE_SESSIOND_SANDBOX_SECCOMP_H
#define ENCLAVE_SESSIOND_SANDBOX_SECCOMP_H

#include <stddef.h>
#include <linux/filter.h>

/* Fill *prog (its filter malloc'd, the caller frees it); -1 with err set. */
int sandbox_seccomp_build(struct sock_fprog *prog, char *err, size_t errlen);

#endif
