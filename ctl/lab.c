#include <config.h>

#include <sys/types.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "ctl/ctl.h"

#ifndef ENCLAVE_LAB_SCRIPT_PATH
#define ENCLAVE_LAB_SCRIPT_PATH	"/usr/local/libexec/enclave/enclave-lab"
#endif
#ifndef ENCLAVE_BUILDDIR
#define ENCLAVE_BUILDDIR	""
#endif

#define LAB_ARGS_MAX		256
#define LAB_CAPTURE_MAX		(1024 * 1024)
#define LAB_KILL_GRACE_MS	5000	/* TERM to KILL */
#define LAB_POLL_MS		100

const char *
ctl_lab_script(void)
{
	const char *s = getenv("ENCLAVE_LAB_SCRIPT");

	return s != NULL && s[0] != '\0' ? s : ENCLAVE_LAB_SCRIPT_PATH;
}

/* The child's half: never returns. Only async-signal-safe calls but for
 * setenv(), which is safe here because the CLI runs one thread. */
static void
lab_child(const char *script, char *const *argv, const struct ctl_lab_run *r,
    int outfd, int errfd)
{
	int fd;

	if (r->own_group)
		(void)setpgid(0, 0);
	/* An ignored SIGPIPE would survive exec and upset the script's pipes. */
	(void)signal(SIGPIPE, SIG_DFL);
	if (r->null_stdin && (fd = open("/dev/null", O_RDONLY)) != -1) {
		(void)dup2(fd, STDIN_FILENO);
		if (fd != STDIN_FILENO)
			close(fd);
	}
	if (dup2(outfd, STDOUT_FILENO) == -1 ||
	    (errfd != -1 && dup2(errfd, STDERR_FILENO) == -1))
		_exit(127);
	if (getenv("ENCLAVE_BUILDDIR") == NULL && ENCLAVE_BUILDDIR[0] != '\0')
		(void)setenv("ENCLAVE_BUILDDIR", ENCLAVE_BUILDDIR, 1);
	execv(script, argv);
	dprintf(STDERR_FILENO, "enclavectl: exec %s: %s\n", script, strerror(errno));
	_exit(127);
}

static void
lab_status(struct ctl_lab_run *r, int wstatus)
{
	if (WIFEXITED(wstatus))
		r->status = WEXITSTATUS(wstatus);
	else if (WIFSIGNALED(wstatus))
		r->status = 128 + WTERMSIG(wstatus);
	else
		r->status = 1;
}

/* TERM, a grace period, then KILL; always reaps. */
static void
lab_kill(pid_t pid, const struct ctl_lab_run *r, int *wstatus)
{
	pid_t target = r->own_group ? -pid : pid;
	uint64_t until = clock_monotonic_ms() + LAB_KILL_GRACE_MS;

	(void)kill(target, SIGTERM);
	while (clock_monotonic_ms() < until) {
		if (waitpid(pid, wstatus, WNOHANG) == pid)
			return;
		(void)poll(NULL, 0, 50);
	}
	(void)kill(target, SIGKILL);
	while (waitpid(pid, wstatus, 0) == -1 && errno == EINTR)
		;
}

/* Reads what is there now; 0 at EOF or on error (fd closed), 1 open. */
static int
lab_pump(int *fd, FILE *copy, struct ctl_lab_run *r, int capture)
{
	char buf[8192], *nb;
	ssize_t n;

	for (;;) {
		n = read(*fd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return 1;
		if (n <= 0) {
			close(*fd);
			*fd = -1;
			return 0;
		}
		if (copy != NULL) {
			fwrite(buf, 1, (size_t)n, copy);
			fflush(copy);
		}
		/* Past the cap (or out of memory) the rest is passed on only. */
		if (capture && r->captured_len + (size_t)n <= LAB_CAPTURE_MAX &&
		    (nb = realloc(r->captured, r->captured_len + (size_t)n + 1)) != NULL) {
			r->captured = nb;
			memcpy(r->captured + r->captured_len, buf, (size_t)n);
			r->captured_len += (size_t)n;
			r->captured[r->captured_len] = '\0';
		}
	}
}

/* What a stopped script said on its way out, for the user to read. */
static void
lab_drain(struct ctl_lab_run *r, int *outfd, int *errfd)
{
	if (*outfd != -1)
		(void)lab_pump(outfd, r->out, r, 0);
	if (*errfd != -1)
		(void)lab_pump(errfd, r->err, r, 0);
}

int
ctl_lab_run(const char *const *args, struct ctl_lab_run *r, char *msg,
    size_t msglen)
{
	const char *script = ctl_lab_script();
	char *argv[LAB_ARGS_MAX + 2];
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, wstatus = 0, rc = -1;
	uint64_t deadline;
	struct pollfd pfd[2];
	size_t i, n;
	pid_t pid = -1;

	r->status = -1;
	r->captured = NULL;
	r->captured_len = 0;
	for (n = 0; args[n] != NULL; n++)
		if (n == LAB_ARGS_MAX)
			return err_set(msg, msglen, "too many arguments for the lab script");
	argv[0] = (char *)script;
	for (i = 0; i < n; i++)
		argv[i + 1] = (char *)args[i];
	argv[n + 1] = NULL;
	if (access(script, X_OK) == -1)
		return err_set(msg, msglen, "lab script %s: %s (set ENCLAVE_LAB_SCRIPT "
		    "to its path)", script, strerror(errno));
	if (pipe2(outp, O_CLOEXEC) == -1 ||
	    (r->err != NULL && pipe2(errp, O_CLOEXEC) == -1)) {
		err_set(msg, msglen, "pipe: %s", strerror(errno));
		goto out;
	}
	/* Buffered output would otherwise be written twice, once by the child. */
	fflush(NULL);
	if ((pid = fork()) == -1) {
		err_set(msg, msglen, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0)
		lab_child(script, argv, r, outp[1], errp[1]);
	if (r->own_group)
		(void)setpgid(pid, pid);	/* either of us may win the race */
	close(outp[1]);
	outp[1] = -1;
	if (errp[1] != -1) {
		close(errp[1]);
		errp[1] = -1;
	}
	(void)fcntl(outp[0], F_SETFL, O_NONBLOCK);
	if (errp[0] != -1)
		(void)fcntl(errp[0], F_SETFL, O_NONBLOCK);
	deadline = r->timeout_ms > 0 ?
	    clock_monotonic_ms() + (uint64_t)r->timeout_ms : UINT64_MAX;
	/*
	 * Stop when the script exits, not at EOF: daemons that `up` leaves
	 * running may hold the pipes open for as long as they live.
	 */
	for (;;) {
		if (r->cancel != NULL && *r->cancel) {
			lab_kill(pid, r, &wstatus);
			lab_drain(r, &outp[0], &errp[0]);
			err_set(msg, msglen, "lab script %s interrupted", args[0]);
			goto out;
		}
		if (clock_monotonic_ms() >= deadline) {
			lab_kill(pid, r, &wstatus);
			lab_drain(r, &outp[0], &errp[0]);
			err_set(msg, msglen, "lab script %s gave no answer within %d s; "
			    "stopped it", args[0], r->timeout_ms / 1000);
			goto out;
		}
		pfd[0] = (struct pollfd){ .fd = outp[0], .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = errp[0], .events = POLLIN };
		(void)poll(pfd, 2, LAB_POLL_MS);
		if (outp[0] != -1)
			(void)lab_pump(&outp[0], r->out, r, r->capture);
		if (errp[0] != -1)
			(void)lab_pump(&errp[0], r->err, r, 0);
		if (waitpid(pid, &wstatus, WNOHANG) == pid)
			break;
	}
	pid = -1;
	/* What it wrote just before exiting. */
	if (outp[0] != -1)
		(void)lab_pump(&outp[0], r->out, r, r->capture);
	if (errp[0] != -1)
		(void)lab_pump(&errp[0], r->err, r, 0);
	lab_status(r, wstatus);
	rc = 0;
out:
	for (i = 0; i < 2; i++) {
		if (outp[i] != -1)
			close(outp[i]);
		if (errp[i] != -1)
			close(errp[i]);
	}
	if (rc == -1) {
		free(r->captured);
		r->captured = NULL;
		r->captured_len = 0;
	}
	return rc;
}

static void
lab_usage(FILE *f)
{
	fprintf(f,
	    "usage: enclavectl lab up [--name N] [ARGS...]\n"
	    "       enclavectl lab down N\n"
	    "       enclavectl lab status N\n"
	    "\n"
	    "Boots a throw-away appliance (proxyd and sessiond in network namespaces\n"
	    "of their own, a fake internet beside them, every address in\n"
	    "198.18.0.0/15, no link to the real network), shows it, or tears it\n"
	    "down. Runs the lab script with the same arguments:\n"
	    "  %s\n"
	    "(ENCLAVE_LAB_SCRIPT overrides the path). `up` prints\n"
	    "\n"
	    "  ENCLAVE_SOCKET=PATH    the appliance's API socket\n"
	    "  ENCLAVE_LAB=N          what to give `lab down`\n"
	    "  ENCLAVE_LAB_DIR=DIR    its run files and logs\n"
	    "  ENCLAVE_DOCKER_SOCKET=PATH  with --docker, its private dockerd's socket\n"
	    "\n"
	    "so that `eval \"$(enclavectl lab up)\"` points enclavectl at it. Needs\n"
	    "root. `enclavectl lab up --help` shows the script's own options.\n"
	    "Exit status: the script's.\n", ctl_lab_script());
}

int
ctl_cmd_lab(const struct ctl_ctx *ctx, int argc, char **argv)
{
	struct ctl_lab_run r = { .out = ctx->out, .err = ctx->err };
	const char *sub = argc >= 2 ? argv[1] : "";
	char msg[1024];
	int ok;

	if (argc >= 2 && (ctl_is_help(sub) || strcmp(sub, "help") == 0)) {
		lab_usage(ctx->out);
		return CTL_EXIT_OK;
	}
	/* `up` takes the script's options as they are; the others one name
	 * (or --help, which the script answers). */
	ok = strcmp(sub, "up") == 0 ||
	    ((strcmp(sub, "down") == 0 || strcmp(sub, "status") == 0) &&
	    argc == 3 && (argv[2][0] != '-' || ctl_is_help(argv[2])));
	if (!ok) {
		fprintf(ctx->err, "enclavectl: usage: enclavectl lab up [--name N] "
		    "[ARGS...] | lab down N | lab status N\n");
		return CTL_EXIT_USAGE;
	}
	if (ctl_lab_run((const char *const *)argv + 1, &r, msg, sizeof(msg)) == -1) {
		fprintf(ctx->err, "enclavectl: %s\n", msg);
		return CTL_EXIT_USAGE;
	}
	return r.status;
}
