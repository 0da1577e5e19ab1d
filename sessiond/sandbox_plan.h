/*
 * The sandbox's plan: the spec checked, and everything the children need
 * (strings, the seccomp program, the netns fd) computed by the caller
 * before clone, so the children never allocate.
 */
#ifndef ENCLAVE_SESSIOND_SANDBOX_PLAN_H
#define ENCLAVE_SESSIOND_SANDBOX_PLAN_H

#include <limits.h>
#include <linux/filter.h>
#include <stddef.h>

#include "sessiond/sandbox_spec.h"

/* Where the host's tree stays reachable while the root is built. */
#define SANDBOX_OLDROOT		"/oldroot"

struct sandbox_lang {
	const char *name, *interp, *file;
};

/* Everything the children need, computed by the caller before clone. */
struct sandbox_plan {
	const struct sandbox_spec *spec;
	const struct sandbox_lang *lang;
	struct sandbox_limits lim;
	int netfd, sync_r, err_w, status_w;
	int out_fd, errout_fd, result_fd;
	struct sock_fprog prog;
	const char *argv[3];
	char *envp[12];
	char env_buf[640];
	char helpers_src[PATH_MAX + sizeof(SANDBOX_OLDROOT)];
	char root_opts[64], dev_opts[64], ws_opts[128], tmp_opts[96];
	char passwd[192], group[128], resolv[96];
};

/*
 * Check SPEC and plan its sandbox (spec is borrowed: it must outlive the
 * plan); NULL with err set to why not.
 */
struct sandbox_plan *sandbox_plan_new(const struct sandbox_spec *spec,
    char *err, size_t errlen);

/* Close the plan's netns fd and free it; NULL is fine. */
void sandbox_plan_free(struct sandbox_plan *p);

#endif
