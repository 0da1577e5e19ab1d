#ifndef ENCLAVE_CTL_CTL_H
#define ENCLAVE_CTL_CTL_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>

/* Exit statuses of enclavectl. */
#define CTL_EXIT_OK	0
#define CTL_EXIT_FAIL	1	/* the command ran and found a problem */
#define CTL_EXIT_USAGE	2	/* bad arguments, or it could not run */

/* The whole CLI, writing to out/err so tests can drive it in-process. */
int ctl_main(int argc, char **argv, FILE *out, FILE *err);

/*
 * What every command gets: the streams, and the global options as given
 * on the command line (NULL when absent; the environment is consulted by
 * ctl_client()).
 */
struct ctl_ctx {
	FILE		*out;
	FILE		*err;
	const char	*socket;	/* --socket PATH */
	const char	*url;		/* --url URL */
	const char	*api_key;	/* --api-key KEY; never printed */
};

struct apic;

/*
 * Sets up the API client: --url, else --socket, else ENCLAVE_URL, else
 * ENCLAVE_SOCKET, else the default socket; the key from --api-key, else
 * ENCLAVE_API_KEY. On -1 it has printed why.
 */
int ctl_client(const struct ctl_ctx *ctx, struct apic *c);

/*
 * "--name VALUE" and "--name=VALUE" at argv[*i]: 1 and *val set (and *i
 * moved past it), 0 when argv[*i] is something else, -1 when the value is
 * missing (printed).
 */
int ctl_opt_value(const struct ctl_ctx *ctx, int argc, char **argv, int *i,
    const char *name, const char **val);

/* 1 if s is -h or --help. */
int ctl_is_help(const char *s);

/* The commands: argv[0] is the command's name. */
int ctl_cmd_run(const struct ctl_ctx *ctx, int argc, char **argv);
int ctl_cmd_ls(const struct ctl_ctx *ctx, int argc, char **argv);
int ctl_cmd_get(const struct ctl_ctx *ctx, int argc, char **argv);
int ctl_cmd_rm(const struct ctl_ctx *ctx, int argc, char **argv);
int ctl_cmd_backends(const struct ctl_ctx *ctx, int argc, char **argv);
/* "audit ID [--json]" and "audit verify" without a FILE. */
int ctl_cmd_audit_session(const struct ctl_ctx *ctx, int argc, char **argv);
int ctl_cmd_audit_verify_remote(const struct ctl_ctx *ctx);
int ctl_cmd_lab(const struct ctl_ctx *ctx, int argc, char **argv);
int ctl_cmd_demo(const struct ctl_ctx *ctx, int argc, char **argv);

/* The exit status `run` gives for a finished session object. */
struct json_t;
int ctl_run_exit(const struct json_t *session);

/*
 * The lab script: ENCLAVE_LAB_SCRIPT, else the path configure chose. Runs
 * it with args (args[0] is its first argument: "up", "down"), copying its
 * stdout to out (and keeping it in captured when capture is set) and its
 * stderr to err; with ENCLAVE_BUILDDIR set from the build when the
 * environment does not set it.
 */
struct ctl_lab_run {
	FILE		*out;		/* may be NULL */
	FILE		*err;		/* may be NULL */
	int		 capture;
	int		 timeout_ms;	/* 0: none */
	int		 own_group;	/* a process group of its own, killed whole */
	int		 null_stdin;
	volatile sig_atomic_t *cancel;	/* stop it once nonzero; may be NULL */
	int		 status;	/* exit status, 128+N for signal N */
	char		*captured;	/* free() it */
	size_t		 captured_len;
};

const char *ctl_lab_script(void);

/*
 * 0 when the script ran to its end (r->status says how it went); -1 when it
 * could not start, or was stopped for the timeout or cancel (it is killed
 * and reaped first), with the reason in msg.
 */
int ctl_lab_run(const char *const *args, struct ctl_lab_run *r, char *msg,
    size_t msglen);

/* Prints an audit_verify_* outcome for name the way `audit verify` does. */
struct audit_verify_result;
int ctl_verify_report(const struct ctl_ctx *ctx, const char *name, int rc,
    const struct audit_verify_result *res);

#endif
