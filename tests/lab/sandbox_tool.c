/*
 * sandbox-tool: drives sessiond/sandbox from the lab tests.
 *
 *   sandbox-tool run --netns NAME --lang python|sh|node --code-file F
 *       [--memory-mb N] [--pids N] [--cpu-pct N] [--workspace-mb N]
 *       [--timeout-ms N] [--helpers DIR] [--gateway A] [--uid U] [--gid G]
 *       [--name N] [--max-output BYTES] [--out-dir DIR]
 *
 * Runs the code in a sandbox joined to /run/netns/NAME, reads its stdout,
 * stderr and result pipe (each kept up to --max-output bytes, the rest
 * drained and counted), kills it at --timeout-ms, frees it, then prints
 * the three captures and one line "status {json}" with exit_code, signal,
 * killed, timed_out, oom, cpu_ms, mem_peak, wall_ms, the host pids that
 * were in the sandbox, its mount namespace's inode and its cgroup
 * directories (so a test can check that nothing is left). --out-dir also writes stdout, stderr, result and
 * status.json there. Exit 0 when the sandbox ran, 1 when it could not
 * start (the reason on stderr), 2 on usage errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/name.h"
#include "sessiond/sandbox.h"

#define TOOL_MAX_PIDS 64
#define TOOL_CODE_MAX (8u << 20)

struct capture {
	const char *label;
	int fd;
	char *buf;
	size_t len, cap;
	unsigned long long dropped;
};

struct tool_opts {
	const char *netns, *lang, *code_file, *helpers, *gateway, *name;
	const char *out_dir;
	struct sandbox_limits lim;
	long timeout_ms;
	unsigned long uid, gid;
	size_t max_output;
};

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: sandbox-tool run --netns NAME --lang python|sh|node "
	    "--code-file F\n"
	    "           [--memory-mb N] [--pids N] [--cpu-pct N] "
	    "[--workspace-mb N]\n"
	    "           [--timeout-ms N] [--helpers DIR] [--gateway A] "
	    "[--uid U] [--gid G]\n"
	    "           [--name N] [--max-output BYTES] [--out-dir DIR]\n");
	exit(2);
}

static unsigned long
num(const char *s, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v > max) {
		fprintf(stderr, "sandbox-tool: bad number %s\n", s);
		exit(2);
	}
	return v;
}

static void
parse(int argc, char **argv, struct tool_opts *o)
{
	static const struct option lo[] = {
		{ "netns", required_argument, NULL, 'n' },
		{ "lang", required_argument, NULL, 'l' },
		{ "code-file", required_argument, NULL, 'c' },
		{ "memory-mb", required_argument, NULL, 'm' },
		{ "pids", required_argument, NULL, 'p' },
		{ "cpu-pct", required_argument, NULL, 'C' },
		{ "workspace-mb", required_argument, NULL, 'w' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "helpers", required_argument, NULL, 'H' },
		{ "gateway", required_argument, NULL, 'g' },
		{ "uid", required_argument, NULL, 'u' },
		{ "gid", required_argument, NULL, 'G' },
		{ "name", required_argument, NULL, 'N' },
		{ "max-output", required_argument, NULL, 'o' },
		{ "out-dir", required_argument, NULL, 'O' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->timeout_ms = 10000;
	o->uid = o->gid = 65534;
	o->max_output = 64 * 1024;
	if (argc < 2 || strcmp(argv[1], "run") != 0)
		usage();
	optind = 2;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'n': o->netns = optarg; break;
		case 'l': o->lang = optarg; break;
		case 'c': o->code_file = optarg; break;
		case 'm': o->lim.memory_mb = (unsigned int)num(optarg, UINT_MAX); break;
		case 'p': o->lim.pids = (unsigned int)num(optarg, UINT_MAX); break;
		case 'C': o->lim.cpu_pct = (unsigned int)num(optarg, UINT_MAX); break;
		case 'w':
			o->lim.workspace_mb = o->lim.tmp_mb =
			    (unsigned int)num(optarg, UINT_MAX);
			break;
		case 't': o->timeout_ms = (long)num(optarg, INT_MAX); break;
		case 'H': o->helpers = optarg; break;
		case 'g': o->gateway = optarg; break;
		case 'u': o->uid = num(optarg, UINT_MAX - 1); break;
		case 'G': o->gid = num(optarg, UINT_MAX - 1); break;
		case 'N': o->name = optarg; break;
		case 'o': o->max_output = num(optarg, 1u << 30); break;
		case 'O': o->out_dir = optarg; break;
		default: usage();
		}
	}
	if (optind != argc || o->netns == NULL || o->lang == NULL ||
	    o->code_file == NULL)
		usage();
}

static char *
read_code(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;

	if (f == NULL || (buf = malloc(TOOL_CODE_MAX)) == NULL) {
		fprintf(stderr, "sandbox-tool: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	*len = fread(buf, 1, TOOL_CODE_MAX, f);
	if (ferror(f) || !feof(f)) {
		fprintf(stderr, "sandbox-tool: %s: unreadable or too big\n", path);
		exit(1);
	}
	fclose(f);
	return buf;
}

/* One read; 1 while the pipe is open, 0 at EOF. */
static int
capture_read(struct capture *c)
{
	char tmp[16384];
	size_t keep;
	ssize_t n;

	n = read(c->fd, tmp, sizeof(tmp));
	if (n == -1)
		return errno == EINTR || errno == EAGAIN;
	if (n == 0)
		return 0;
	keep = c->cap - c->len < (size_t)n ? c->cap - c->len : (size_t)n;
	memcpy(c->buf + c->len, tmp, keep);
	c->len += keep;
	c->dropped += (size_t)n - keep;
	return 1;
}

/* The host pids in the sandbox, from its memory cgroup. */
static int
tool_pids(const struct sandbox *sb, long *pids, int max)
{
	char path[SANDBOX_CG_PATH_MAX + 16];
	FILE *f;
	int n = 0;

	if (sb->cg.memory < 0)
		return 0;
	snprintf(path, sizeof(path), "%s/cgroup.procs", sb->cg.dir[sb->cg.memory]);
	if ((f = fopen(path, "re")) == NULL)
		return 0;
	while (n < max && fscanf(f, "%ld", &pids[n]) == 1)
		n++;
	fclose(f);
	return n;
}

static void
write_file(const char *dir, const char *name, const char *buf, size_t len)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "wb")) == NULL ||
	    fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "sandbox-tool: write %s: %s\n", path,
		    strerror(errno));
		exit(1);
	}
}

int
main(int argc, char **argv)
{
	struct capture cap[3] = {
		{ "stdout", -1, NULL, 0, 0, 0 },
		{ "stderr", -1, NULL, 0, 0, 0 },
		{ "result", -1, NULL, 0, 0, 0 },
	};
	char err[512], nspath[PATH_MAX], name[SANDBOX_NAME_MAX + 1];
	char *status = NULL;
	size_t slen = 0;
	struct sandbox_status st;
	struct sandbox_spec spec;
	struct sandbox sb;
	struct pollfd pfd[4];
	struct tool_opts o;
	const char *why;
	long pids[TOOL_MAX_PIDS];
	int wfd[3], i, npids, timed_out = 0, freed;
	struct sandbox_cgroup cg;
	struct stat nsst;
	unsigned long long mntns;
	uint64_t deadline;
	FILE *sf;

	log_init("sandbox-tool", 0, LOG_LEVEL_WARN);
	parse(argc, argv, &o);
	if (netns_path(o.netns, nspath, sizeof(nspath), &why) == -1) {
		fprintf(stderr, "sandbox-tool: netns %s: %s\n", o.netns, why);
		return 2;
	}
	if (o.name == NULL) {
		snprintf(name, sizeof(name), "tool%ld", (long)getpid());
		o.name = name;
	}
	memset(&spec, 0, sizeof(spec));
	spec.name = o.name;
	spec.netns_path = nspath;
	spec.language = o.lang;
	spec.code = read_code(o.code_file, &spec.code_len);
	spec.limits = o.lim;
	spec.uid = (uid_t)o.uid;
	spec.gid = (gid_t)o.gid;
	spec.gateway = o.gateway;
	spec.helpers_dir = o.helpers;
	for (i = 0; i < 3; i++) {
		int p[2];

		if (pipe2(p, O_CLOEXEC) == -1 ||
		    (cap[i].buf = malloc(o.max_output + 1)) == NULL) {
			perror("sandbox-tool: pipe");
			return 1;
		}
		cap[i].fd = p[0];
		cap[i].cap = o.max_output;
		wfd[i] = p[1];
	}
	spec.stdout_fd = wfd[0];
	spec.stderr_fd = wfd[1];
	spec.result_fd = wfd[2];
	if (sandbox_spawn(&spec, &sb, err, sizeof(err)) == -1) {
		fprintf(stderr, "sandbox-tool: %s\n", err);
		for (i = 0; i < 3; i++) {
			close(wfd[i]);
			close(cap[i].fd);
			free(cap[i].buf);
		}
		free((void *)spec.code);
		return 1;
	}
	for (i = 0; i < 3; i++)
		close(wfd[i]);
	npids = tool_pids(&sb, pids, TOOL_MAX_PIDS);
	snprintf(err, sizeof(err), "/proc/%d/ns/mnt", (int)sb.pid);
	mntns = stat(err, &nsst) == 0 ? (unsigned long long)nsst.st_ino : 0;

	/* Read while it runs; the pipes reach EOF once all its processes die. */
	deadline = clock_monotonic_ms() + (uint64_t)o.timeout_ms;
	for (;;) {
		uint64_t now = clock_monotonic_ms();
		int n = 0, rc, pi = -1, wait_ms;

		for (i = 0; i < 3; i++)
			if (cap[i].fd != -1) {
				pfd[n].fd = cap[i].fd;
				pfd[n++].events = POLLIN;
			}
		if (!sb.reaped) {
			pi = n;
			pfd[n].fd = sb.pidfd;
			pfd[n++].events = POLLIN;
		}
		if (n == 0)
			break;
		/* Until the deadline; then for the kill; then for the drain. */
		if (!sb.reaped && !timed_out)
			wait_ms = now >= deadline ? 0 : (int)(deadline - now);
		else
			wait_ms = 5000;
		rc = poll(pfd, (nfds_t)n, wait_ms);
		if (rc == -1 && errno == EINTR)
			continue;
		if (rc == -1) {
			perror("sandbox-tool: poll");
			break;
		}
		if (rc == 0 && !sb.reaped && !timed_out) {
			timed_out = 1;
			sandbox_kill(&sb);
			continue;
		}
		if (rc == 0) {
			fprintf(stderr, "sandbox-tool: %s\n", sb.reaped ?
			    "pipes still open after the sandbox ended" :
			    "sandbox did not die after SIGKILL");
			break;
		}
		if (pi >= 0 && (pfd[pi].revents & POLLIN))
			(void)sandbox_wait(&sb, 0, &st);
		for (i = 0, n = 0; i < 3; i++) {
			if (cap[i].fd == -1)
				continue;
			if (pfd[n++].revents != 0 && !capture_read(&cap[i])) {
				close(cap[i].fd);
				cap[i].fd = -1;
			}
		}
	}
	if (!sb.reaped && sandbox_wait(&sb, -1, &st) != 0) {
		perror("sandbox-tool: wait");
		return 1;
	}
	cg = sb.cg;	/* the directories free removes, for the report */
	freed = sandbox_free(&sb) == 0;

	if ((sf = open_memstream(&status, &slen)) == NULL)
		return 1;
	fprintf(sf, "{\"exit_code\":");
	if (st.exited)
		fprintf(sf, "%d", st.exit_code);
	else
		fprintf(sf, "null");
	fprintf(sf, ",\"signal\":%d,\"killed\":%s,\"timed_out\":%s,\"oom\":%s,"
	    "\"cpu_ms\":%llu,\"mem_peak\":%llu,\"wall_ms\":%llu,"
	    "\"init_pid\":%d,\"pids\":[", st.signal,
	    st.killed ? "true" : "false", timed_out ? "true" : "false",
	    st.oom ? "true" : "false", (unsigned long long)st.cpu_ms,
	    (unsigned long long)st.mem_peak_bytes,
	    (unsigned long long)st.wall_ms, (int)sb.pid);
	for (i = 0; i < npids; i++)
		fprintf(sf, "%s%ld", i ? "," : "", pids[i]);
	fprintf(sf, "],\"cgroups\":[");
	for (i = 0; i < cg.n; i++)
		fprintf(sf, "%s\"%s\"", i ? "," : "", cg.dir[i]);
	fprintf(sf, "],\"mnt_ns\":%llu,\"freed\":%s", mntns,
	    freed ? "true" : "false");
	for (i = 0; i < 3; i++)
		fprintf(sf, ",\"%s_bytes\":%zu,\"%s_dropped\":%llu", cap[i].label,
		    cap[i].len, cap[i].label, cap[i].dropped);
	fprintf(sf, "}");
	fclose(sf);

	for (i = 0; i < 3; i++) {
		printf("== %s (%zu bytes%s) ==\n", cap[i].label, cap[i].len,
		    cap[i].dropped ? ", truncated" : "");
		fwrite(cap[i].buf, 1, cap[i].len, stdout);
		if (cap[i].len > 0 && cap[i].buf[cap[i].len - 1] != '\n')
			putchar('\n');
	}
	printf("status %s\n", status);
	if (o.out_dir != NULL) {
		for (i = 0; i < 3; i++)
			write_file(o.out_dir, cap[i].label, cap[i].buf, cap[i].len);
		write_file(o.out_dir, "status.json", status, slen);
	}
	for (i = 0; i < 3; i++)
		free(cap[i].buf);
	free(status);
	free((void *)spec.code);
	return 0;
}
