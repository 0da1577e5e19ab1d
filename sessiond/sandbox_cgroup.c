/*
 * cgroups: v2 when /sys/fs/cgroup is cgroup2, else the v1 memory, pids,
 * cpu and cpuacct hierarchies. The sandbox's cgroups sit below the
 * caller's own, so a daemon confined by systemd confines its sandboxes.
 * The hierarchies, the reading and the removal serve the container
 * backends too.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "sessiond/sandbox_cgroup.h"

#define SANDBOX_RMDIR_TRIES	200	/* x 5 ms */
#define SANDBOX_CG_DEPTH	4	/* cgroups below one we remove */
#define CGROUP_ROOT		"/sys/fs/cgroup"

static int
cg_write(const char *dir, const char *file, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
cg_write(const char *dir, const char *file, const char *fmt, ...)
{
	char path[SANDBOX_CG_PATH_MAX + 64], buf[64];
	va_list ap;
	ssize_t n;
	int fd, len, saved;

	va_start(ap, fmt);
	len = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= sizeof(buf) ||
	    snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	n = write(fd, buf, (size_t)len);
	saved = errno;
	close(fd);
	errno = saved;
	return n == len ? 0 : -1;
}

int
sandbox_cg_read_u64(const char *dir, const char *file, const char *key,
    uint64_t *out)
{
	char path[PATH_MAX], line[256], *end;
	size_t klen = key != NULL ? strlen(key) : 0;
	int rc = -1;
	FILE *f;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >=
	    sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *v = line;

		if (key != NULL) {
			if (strncmp(line, key, klen) != 0 || line[klen] != ' ')
				continue;
			v = line + klen + 1;
		}
		errno = 0;
		*out = strtoull(v, &end, 10);
		if (errno == 0 && end != v)
			rc = 0;
		break;
	}
	fclose(f);
	if (rc == -1 && errno == 0)
		errno = ENODATA;
	return rc;
}

/* Is TOKEN one of the comma-separated words of LIST? */
static int
cg_has_word(const char *list, size_t len, const char *token)
{
	size_t tl = strlen(token);
	const char *p = list, *end = list + len, *c;

	while (p < end) {
		c = memchr(p, ',', (size_t)(end - p));
		if (c == NULL)
			c = end;
		if ((size_t)(c - p) == tl && memcmp(p, token, tl) == 0)
			return 1;
		p = c + 1;
	}
	return 0;
}

/* Our cgroup in the hierarchy holding CTRL ("" for v2), from /proc/self. */
static int
cg_self_path(const char *ctrl, char *out, size_t len)
{
	char line[1024], *a, *b;
	int rc = -1;
	FILE *f;

	if ((f = fopen("/proc/self/cgroup", "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if ((a = strchr(line, ':')) == NULL ||
		    (b = strchr(a + 1, ':')) == NULL)
			continue;
		if (ctrl[0] == '\0' ? a != line + 1 || line[0] != '0' || b != a + 1 :
		    !cg_has_word(a + 1, (size_t)(b - a - 1), ctrl))
			continue;
		if (strlen(b + 1) < len) {
			strcpy(out, b + 1);
			rc = 0;
		}
		break;
	}
	fclose(f);
	if (rc == -1)
		errno = ENOENT;
	return rc;
}

/*
 * Where the hierarchy holding CTRL (v1; "" for cgroup2) is mounted, and
 * which of its cgroups the mount shows as its root.
 */
static int
cg_mount(const char *ctrl, char *mnt, char *root, size_t len)
{
	char line[2048], *sep, *f[5], *save, *fstype, *opts;
	int rc = -1, i, v2 = ctrl[0] == '\0';
	FILE *fp;

	if ((fp = fopen("/proc/self/mountinfo", "re")) == NULL)
		return -1;
	while (rc == -1 && fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if ((sep = strstr(line, " - ")) == NULL)
			continue;
		*sep = '\0';
		fstype = strtok_r(sep + 3, " ", &save);
		(void)strtok_r(NULL, " ", &save);	/* source */
		opts = strtok_r(NULL, " ", &save);
		if (fstype == NULL || opts == NULL ||
		    strcmp(fstype, v2 ? "cgroup2" : "cgroup") != 0 ||
		    (!v2 && !cg_has_word(opts, strlen(opts), ctrl)))
			continue;
		f[0] = strtok_r(line, " ", &save);
		for (i = 1; i < 5 && f[i - 1] != NULL; i++)
			f[i] = strtok_r(NULL, " ", &save);
		/* Escaped names (\040) never name a cgroup mount we can use. */
		if (f[4] == NULL || strchr(f[3], '\\') || strchr(f[4], '\\') ||
		    strlen(f[3]) >= len || strlen(f[4]) >= len)
			continue;
		strcpy(root, f[3]);
		strcpy(mnt, f[4]);
		rc = 0;
	}
	fclose(fp);
	if (rc == -1)
		errno = ENOENT;
	return rc;
}

/*
 * H from one line of /proc/self/cgroup ("ID:CONTROLLERS:PATH"), if its
 * hierarchy holds CTRL (NULL: any): 0, or -1 when it does not, or is not
 * mounted where sessiond's cgroup shows.
 */
static int
cg_hier_line(char *line, const char *ctrl, struct sandbox_cg_hier *h)
{
	char mnt[PATH_MAX], root[PATH_MAX], first[sizeof(h->ctrl)], *a, *b;
	const char *rel;
	size_t rl;

	line[strcspn(line, "\n")] = '\0';
	if ((a = strchr(line, ':')) == NULL ||
	    (b = strchr(a + 1, ':')) == NULL ||
	    (size_t)(b - a - 1) >= sizeof(h->ctrl))
		return -1;
	memcpy(h->ctrl, a + 1, (size_t)(b - a - 1));
	h->ctrl[b - a - 1] = '\0';
	h->v2 = h->ctrl[0] == '\0';
	if (ctrl != NULL && (ctrl[0] == '\0' ? !h->v2 :
	    !cg_has_word(h->ctrl, strlen(h->ctrl), ctrl)))
		return -1;
	/* The hierarchy's first controller (or name=) finds its mount. */
	strcpy(first, h->ctrl);
	first[strcspn(first, ",")] = '\0';
	if (cg_mount(first, mnt, root, sizeof(mnt)) == -1)
		return -1;
	rel = b + 1;
	if (strcmp(root, "/") != 0) {
		rl = strlen(root);
		if (strncmp(rel, root, rl) != 0 ||
		    (rel[rl] != '/' && rel[rl] != '\0'))
			return -1;	/* our cgroup is not below that mount */
		rel += rl;
	}
	if (strcmp(rel, "/") == 0)
		rel = "";
	if ((size_t)snprintf(h->own, sizeof(h->own), "%s%s", mnt, rel) >=
	    sizeof(h->own) || strlen(mnt) >= sizeof(h->mnt))
		return -1;
	strcpy(h->mnt, mnt);
	h->root = strcmp(root, "/") == 0;
	return 0;
}

int
sandbox_cg_hiers(struct sandbox_cg_hier *h, int max)
{
	char line[1024];
	int n = 0;
	FILE *f;

	if ((f = fopen("/proc/self/cgroup", "re")) == NULL)
		return -1;
	while (n < max && fgets(line, sizeof(line), f) != NULL)
		if (cg_hier_line(line, NULL, &h[n]) == 0)
			n++;
	fclose(f);
	return n;
}

int
sandbox_cg_hier(const char *ctrl, struct sandbox_cg_hier *out)
{
	char line[1024];
	int rc = -1;
	FILE *f;

	if ((f = fopen("/proc/self/cgroup", "re")) == NULL)
		return -1;
	while (rc == -1 && fgets(line, sizeof(line), f) != NULL)
		rc = cg_hier_line(line, ctrl, out);
	fclose(f);
	if (rc == -1)
		errno = ENOENT;
	return rc;
}

static int
cg_v1_dir(const char *ctrl, const char *name, char *dir, size_t len)
{
	struct sandbox_cg_hier h;

	if (sandbox_cg_hier(ctrl, &h) == -1)
		return -1;
	if ((size_t)snprintf(dir, len, "%s/%s%s", h.own, SANDBOX_CG_PREFIX,
	    name) >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* Index of DIR in cg, adding it (not yet created) when new; -1 when full. */
static int
cg_slot(struct sandbox_cgroup *cg, const char *dir)
{
	int i;

	for (i = 0; i < cg->n; i++)
		if (strcmp(cg->dir[i], dir) == 0)
			return i;
	if (cg->n == SANDBOX_CG_MAX)
		return -1;
	strcpy(cg->dir[cg->n], dir);
	return cg->n++;
}

static int
cg_v1_layout(struct sandbox_cgroup *cg, const char *name, int want_cpu,
    char *err, size_t errlen)
{
	char dir[SANDBOX_CG_PATH_MAX];

	if (cg_v1_dir("memory", name, dir, sizeof(dir)) == -1)
		return err_set(err, errlen, "cgroup v1 memory controller: %s",
		    strerror(errno));
	cg->memory = cg_slot(cg, dir);
	if (cg_v1_dir("pids", name, dir, sizeof(dir)) == -1)
		return err_set(err, errlen, "cgroup v1 pids controller: %s",
		    strerror(errno));
	cg->pids = cg_slot(cg, dir);
	if (cg_v1_dir("cpuacct", name, dir, sizeof(dir)) == 0)
		cg->cpuacct = cg_slot(cg, dir);
	if (want_cpu) {
		if (cg_v1_dir("cpu", name, dir, sizeof(dir)) == -1)
			return err_set(err, errlen, "cgroup v1 cpu controller: %s",
			    strerror(errno));
		cg->cpu = cg_slot(cg, dir);
	}
	return 0;
}

static int
cg_v2_layout(struct sandbox_cgroup *cg, const char *name, int want_cpu,
    char *err, size_t errlen)
{
	char self[PATH_MAX], base[SANDBOX_CG_PATH_MAX], dir[SANDBOX_CG_PATH_MAX];

	if (cg_self_path("", self, sizeof(self)) == -1)
		return err_set(err, errlen, "cgroup v2: own cgroup: %s",
		    strerror(errno));
	if ((size_t)snprintf(base, sizeof(base), "%s%s", CGROUP_ROOT,
	    strcmp(self, "/") == 0 ? "" : self) >= sizeof(base) ||
	    (size_t)snprintf(dir, sizeof(dir), "%s/%s%s", base,
	    SANDBOX_CG_PREFIX, name) >= sizeof(dir))
		return err_set(err, errlen, "cgroup v2: path too long");
	/* EBUSY: our cgroup holds processes; run sessiond in a leaf below it. */
	if (cg_write(base, "cgroup.subtree_control", "+memory") == -1 ||
	    cg_write(base, "cgroup.subtree_control", "+pids") == -1 ||
	    (want_cpu && cg_write(base, "cgroup.subtree_control", "+cpu") == -1))
		return err_set(err, errlen,
		    "cgroup v2: enable controllers in %s: %s", base,
		    strerror(errno));
	cg->v2 = 1;
	cg->memory = cg->pids = cg->cpuacct = cg_slot(cg, dir);
	if (want_cpu)
		cg->cpu = cg->memory;
	return 0;
}

/* SIGKILL what is left in the cgroup DIR: PDEATHSIG normally got it, but
 * a cgroup must never keep a workload alive. */
static void
cg_kill_tasks(const char *dir)
{
	char path[PATH_MAX], line[32];
	FILE *f;

	if ((size_t)snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >=
	    sizeof(path) || (f = fopen(path, "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		long pid = strtol(line, NULL, 10);

		if (pid > 1)
			(void)kill((pid_t)pid, SIGKILL);
	}
	fclose(f);
}

/*
 * rmdir DIR, again while it is busy (EBUSY while its last tasks are
 * released; FLAGS may kill them first, or allow one try only). 0 removed,
 * 1 there was none, -1 it stays (logged).
 */
static int
cg_rmdir(const char *dir, unsigned int flags)
{
	int tries = flags & SANDBOX_CG_ONCE ? 1 : SANDBOX_RMDIR_TRIES;

	for (;;) {
		if (rmdir(dir) == 0)
			return 0;
		if (errno == ENOENT)
			return 1;
		if (errno != EBUSY || --tries == 0)
			break;
		if (flags & SANDBOX_CG_KILL)
			cg_kill_tasks(dir);
		usleep(5000);
	}
	log_warn("cgroup: remove %s", dir);
	return -1;
}

/* DIR after the cgroups below it (a container's); as cg_rmdir(). */
static int
cg_rmtree(const char *dir, unsigned int flags, int depth)
{
	char sub[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if (depth < SANDBOX_CG_DEPTH && (d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_type != DT_DIR ||
			    strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0 ||
			    (size_t)snprintf(sub, sizeof(sub), "%s/%s", dir,
			    de->d_name) >= sizeof(sub))
				continue;
			(void)cg_rmtree(sub, flags, depth + 1);
		}
		closedir(d);
	}
	return cg_rmdir(dir, flags);
}

int
sandbox_cg_remove(struct sandbox_cgroup *cg)
{
	int i, rc = 0;

	for (i = cg->n - 1; i >= 0; i--) {
		if (cg_rmdir(cg->dir[i], 0) == -1) {
			rc = -1;
			continue;
		}
		cg->dir[i][0] = '\0';
	}
	if (rc == 0)
		cg->n = 0;
	return rc;
}

static int
cg_limits(const struct sandbox_cgroup *cg, const struct sandbox_limits *lim,
    char *err, size_t errlen)
{
	uint64_t mem = (uint64_t)lim->memory_mb * 1024 * 1024;
	const char *m = cg->dir[cg->memory], *pd = cg->dir[cg->pids];
	const char *file;

	if (cg->v2) {
		if (cg_write(m, file = "memory.max", "%llu",
		    (unsigned long long)mem) == -1)
			goto fail;
		if (cg_write(m, file = "memory.swap.max", "0") == -1 &&
		    errno != ENOENT)
			goto fail;
		if (cg_write(pd, file = "pids.max", "%u", lim->pids) == -1)
			goto fail;
		if (lim->cpu_pct > 0 && cg_write(cg->dir[cg->cpu],
		    file = "cpu.max", "%u 100000", lim->cpu_pct * 1000) == -1)
			goto fail;
		return 0;
	}
	if (cg_write(m, file = "memory.limit_in_bytes", "%llu",
	    (unsigned long long)mem) == -1)
		goto fail;
	/* Absent without swap accounting; then there is no swap to cap. */
	if (cg_write(m, file = "memory.memsw.limit_in_bytes", "%llu",
	    (unsigned long long)mem) == -1 && errno != ENOENT)
		goto fail;
	if (cg_write(pd, file = "pids.max", "%u", lim->pids) == -1)
		goto fail;
	if (lim->cpu_pct > 0) {
		if (cg_write(cg->dir[cg->cpu], file = "cpu.cfs_period_us",
		    "100000") == -1 ||
		    cg_write(cg->dir[cg->cpu], file = "cpu.cfs_quota_us", "%u",
		    lim->cpu_pct * 1000) == -1)
			goto fail;
	}
	return 0;
fail:
	return err_set(err, errlen, "cgroup: set %s: %s", file, strerror(errno));
}

/* Make the sandbox's cgroups and set their limits; nothing left on error. */
int
sandbox_cg_create(struct sandbox_cgroup *cg, const char *name,
    const struct sandbox_limits *lim, char *err, size_t errlen)
{
	struct statfs sf;
	int i, rc;

	memset(cg, 0, sizeof(*cg));
	cg->memory = cg->pids = cg->cpu = cg->cpuacct = -1;
	if (statfs(CGROUP_ROOT, &sf) == -1)
		return err_set(err, errlen, "cgroup: %s: %s", CGROUP_ROOT,
		    strerror(errno));
	if (sf.f_type == CGROUP2_SUPER_MAGIC)
		rc = cg_v2_layout(cg, name, lim->cpu_pct > 0, err, errlen);
	else
		rc = cg_v1_layout(cg, name, lim->cpu_pct > 0, err, errlen);
	if (rc == -1)
		return -1;
	for (i = 0; i < cg->n; i++)
		if (mkdir(cg->dir[i], 0755) == -1) {
			err_set(err, errlen, "cgroup: mkdir %s: %s", cg->dir[i],
			    strerror(errno));
			cg->n = i;	/* remove only what we made */
			goto fail;
		}
	if (cg_limits(cg, lim, err, errlen) == -1)
		goto fail;
	return 0;
fail:
	sandbox_cg_remove(cg);
	return -1;
}

int
sandbox_cg_attach(const struct sandbox_cgroup *cg, pid_t pid, char *err,
    size_t errlen)
{
	int i;

	for (i = 0; i < cg->n; i++)
		if (cg_write(cg->dir[i], "cgroup.procs", "%d", (int)pid) == -1)
			return err_set(err, errlen, "cgroup: attach to %s: %s",
			    cg->dir[i], strerror(errno));
	return 0;
}

int
sandbox_cg_usage(const struct sandbox_cgroup *cg, struct sandbox_usage *u)
{
	uint64_t v;
	int rc = 0;

	memset(u, 0, sizeof(*u));
	if (cg->n == 0) {
		errno = ENOENT;
		return -1;
	}
	if (cg->cpuacct >= 0) {
		/* v2 counts microseconds, v1's cpuacct nanoseconds. */
		if (cg->v2 && sandbox_cg_read_u64(cg->dir[cg->cpuacct],
		    "cpu.stat", "usage_usec", &v) == 0)
			u->cpu_ms = v / 1000;
		else if (!cg->v2 && sandbox_cg_read_u64(cg->dir[cg->cpuacct],
		    "cpuacct.usage", NULL, &v) == 0)
			u->cpu_ms = v / 1000000;
		else
			rc = -1;
	}
	/* memory.peak needs Linux 5.19; older v2 kernels report 0. */
	if (sandbox_cg_read_u64(cg->dir[cg->memory], cg->v2 ? "memory.peak" :
	    "memory.max_usage_in_bytes", NULL, &v) == 0)
		u->mem_peak_bytes = v;
	else if (!cg->v2)
		rc = -1;
	if (sandbox_cg_read_u64(cg->dir[cg->memory], cg->v2 ? "memory.events" :
	    "memory.oom_control", "oom_kill", &v) == 0)
		u->oom_kills = v;
	else
		rc = -1;
	return rc;
}

/* BASE/ENTRY, as sandbox_cg_sweep() says: *rc -1 when it stays. */
static void
cg_sweep_one(const char *base, const char *entry, unsigned int flags,
    int *rc, unsigned int *removed)
{
	char dir[PATH_MAX];

	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", base, entry) >=
	    sizeof(dir)) {
		*rc = -1;
		return;
	}
	switch (cg_rmtree(dir, flags, 0)) {
	case 0:
		if (removed != NULL)
			(*removed)++;
		break;
	case -1:
		*rc = -1;
		break;
	}
}

int
sandbox_cg_sweep(const char *name, unsigned int flags, unsigned int *removed)
{
	struct sandbox_cg_hier h[SANDBOX_CG_HIER_MAX];
	char want[SANDBOX_CG_PATH_MAX];
	const char *base;
	struct dirent *de;
	size_t wl;
	int n, i, rc = 0;
	DIR *d;

	if (removed != NULL)
		*removed = 0;
	if ((size_t)snprintf(want, sizeof(want), "%s%s", SANDBOX_CG_PREFIX,
	    name) >= sizeof(want)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	wl = strlen(want);
	if ((n = sandbox_cg_hiers(h, SANDBOX_CG_HIER_MAX)) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if ((flags & SANDBOX_CG_AT_ROOT) && !h[i].root)
			continue;
		base = flags & SANDBOX_CG_AT_ROOT ? h[i].mnt : h[i].own;
		if (!(flags & SANDBOX_CG_PREFIXED)) {
			cg_sweep_one(base, want, flags, &rc, removed);
			continue;
		}
		if ((d = opendir(base)) == NULL)
			continue;
		while ((de = readdir(d)) != NULL)
			if (de->d_type == DT_DIR &&
			    strncmp(de->d_name, want, wl) == 0)
				cg_sweep_one(base, de->d_name, flags, &rc,
				    removed);
		closedir(d);
	}
	return rc;
}
