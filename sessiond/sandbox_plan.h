/*
 * The sandbox's plan: the spec checked, and everything the children need
 * (strings, the seccomp program, the netns fd) computed by the caller
 * before clone, so the children never allocate.
 *
 * Its pieces are also what a workload finds on every other backend (the
 * OCI bundle, the docker backend): the languages, the limits' defaults
 * and bounds, the tmpfs options, the environment, the generated /etc and
 * the host paths exposed. Said once here, a request means the same
 * everywhere.
 */
#ifndef ENCLAVE_SESSIOND_SANDBOX_PLAN_H
#define ENCLAVE_SESSIOND_SANDBOX_PLAN_H

#include <limits.h>
#include <linux/filter.h>
#include <stddef.h>
#include <sys/types.h>

#include "sessiond/sandbox_spec.h"

/* Where the host's tree stays reachable while the root is built. */
#define SANDBOX_OLDROOT		"/oldroot"
/* The workload's host name, and the name hosts gives it. */
#define SANDBOX_HOSTNAME	"sandbox"
/* The environment: at most this many variables and the NULL, in a buffer
 * of this size. */
#define SANDBOX_ENV_MAX		20
/* Inside every sandbox: helpers_dir/ca-bundle.pem, bound at /opt/enclave. */
#define SANDBOX_CA_BUNDLE	"/opt/enclave/ca-bundle.pem"
#define SANDBOX_ENV_BUF		1024
/* sandbox_plan_host_paths[]' length, without its NULL. */
#define SANDBOX_HOST_PATHS	12
#define SANDBOX_ETC_TEXT_MAX	256

/* A language: its interpreter and where the workload's file goes. */
struct sandbox_lang {
	const char *name;	/* "python", "sh", "node" */
	const char *interp;	/* "/usr/bin/python3" */
	const char *file;	/* "/workspace/main.py" */
};

/* The generated files of the workload's /etc, in this order. */
enum {
	SANDBOX_ETC_PASSWD,
	SANDBOX_ETC_GROUP,
	SANDBOX_ETC_HOSTS,
	SANDBOX_ETC_HOSTNAME,
	SANDBOX_ETC_NSSWITCH,
	SANDBOX_ETC_RESOLV,	/* last: a backend may leave it out */
	SANDBOX_ETC_FILES
};

/* One of them: /etc/NAME holding TEXT. */
struct sandbox_etc_file {
	const char *name;
	char text[SANDBOX_ETC_TEXT_MAX];
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
	char *envp[SANDBOX_ENV_MAX];
	char env_buf[SANDBOX_ENV_BUF];
	char helpers_src[PATH_MAX + sizeof(SANDBOX_OLDROOT)];
	char root_opts[64], dev_opts[64], ws_opts[128], tmp_opts[96];
	/* The /etc files the child writes from the plan; resolv "": none. */
	char passwd[SANDBOX_ETC_TEXT_MAX], group[SANDBOX_ETC_TEXT_MAX];
	char resolv[SANDBOX_ETC_TEXT_MAX];
};

/*
 * The host's paths a workload's root exposes, relative, in mount order,
 * NULL-terminated: the runtime (the first, "usr", is required; the rest
 * are exposed when present, a symlink as a symlink) and what of the host's
 * /etc a runtime needs. Not passwd, shadow, hosts or anything naming the
 * host.
 */
extern const char *const sandbox_plan_host_paths[SANDBOX_HOST_PATHS + 1];

/* The names of the generated /etc files, by SANDBOX_ETC_*. */
extern const char *const sandbox_plan_etc_names[SANDBOX_ETC_FILES];

/*
 * Check SPEC and plan its sandbox (spec is borrowed: it must outlive the
 * plan); NULL with err set to why not.
 */
struct sandbox_plan *sandbox_plan_new(const struct sandbox_spec *spec,
    char *err, size_t errlen);

/* Close the plan's netns fd and free it; NULL is fine. */
void sandbox_plan_free(struct sandbox_plan *p);

/* 1 when NAME is [A-Za-z0-9_-]{1,SANDBOX_NAME_MAX}, else 0. */
int sandbox_plan_name_ok(const char *name);

/* The language called NAME, or NULL. */
const struct sandbox_lang *sandbox_plan_lang(const char *name);

/*
 * IN with zero fields replaced by the defaults (256 MiB, 128 pids, 64 MiB
 * /workspace and /tmp) into *OUT; -1 with err set when one is out of
 * bounds.
 */
int sandbox_plan_limits(const struct sandbox_limits *in,
    struct sandbox_limits *out, char *err, size_t errlen);

/*
 * The options of the /workspace and /tmp tmpfs for LIM (filled in): size,
 * inodes, mode, and /workspace's owner. Backends add their own flags.
 */
void sandbox_plan_fs_opts(const struct sandbox_limits *lim, uid_t uid,
    gid_t gid, char *ws, size_t wslen, char *tmp, size_t tmplen);

/*
 * The workload's environment: "K=V" strings in BUF, ENVP pointing at them,
 * NULL-terminated. HELPERS: they are bound at /opt/enclave; RESULT: fd 3
 * is the result channel.
 */
void sandbox_plan_env(char *envp[SANDBOX_ENV_MAX], char buf[SANDBOX_ENV_BUF],
    int helpers, int result);

/*
 * The generated /etc: passwd and group naming the workload's ids, hosts
 * and hostname naming the sandbox, nsswitch.conf, and resolv.conf naming
 * GATEWAY, an address the caller has checked ("" without one).
 */
void sandbox_plan_etc(uid_t uid, gid_t gid, const char *gateway,
    struct sandbox_etc_file out[SANDBOX_ETC_FILES]);

#endif
