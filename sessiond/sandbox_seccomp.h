/*
 * The sandbox workload's seccomp filter, said once as data: the system
 * calls refused whatever their arguments, and the rules that look at
 * arguments. sandbox_seccomp_build() compiles them with libseccomp to
 * plain BPF in the caller, so loading it in the child allocates nothing;
 * the container backends say the same rules as an OCI seccomp profile
 * (oci_bundle_seccomp()).
 */
#ifndef ENCLAVE_SESSIOND_SANDBOX_SECCOMP_H
#define ENCLAVE_SESSIOND_SANDBOX_SECCOMP_H

#include <stddef.h>
#include <linux/filter.h>
#include <seccomp.h>

#define SANDBOX_SECCOMP_ARGS_MAX	2

/*
 * NAME refused with ERRNUM when all NARGS conditions hold. A condition is
 * as libseccomp (and the OCI profile) takes it: for SCMP_CMP_MASKED_EQ,
 * datum_a is the mask and datum_b what the masked argument must equal.
 */
struct sandbox_seccomp_rule {
	const char *name;
	int errnum;
	unsigned int nargs;
	struct scmp_arg_cmp args[SANDBOX_SECCOMP_ARGS_MAX];
};

/* System calls refused with EPERM whatever their arguments; NULL ends it. */
extern const char *const sandbox_seccomp_denied[];

/*
 * The rules that look at arguments, added after the denied calls and in
 * this order (the tests compare compiled programs); a NULL name ends it.
 */
extern const struct sandbox_seccomp_rule sandbox_seccomp_rules[];

/* Fill *prog (its filter malloc'd, the caller frees it); -1 with err set. */
int sandbox_seccomp_build(struct sock_fprog *prog, char *err, size_t errlen);

#endif
