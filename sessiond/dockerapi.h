/*
 * The pieces of the Docker Engine API the docker backend uses, over
 * common/httpc.h on the engine's unix socket (API version 1.41: Docker
 * 20.10 and everything since, and podman's compat service).
 *
 * Pure, and unit tested and fuzzed alone: the ustar writer that builds
 * the base image, the demuxer of the multiplexed log stream, the seccomp
 * profile and the container-create body. The rest are one blocking
 * exchange each, bounded by a timeout; none logs, each fills err.
 *
 *	struct dockerapi d;
 *	dockerapi_init(&d, "/run/docker.sock", err, sizeof(err));
 *	dockerapi_ping(&d, 1000, err, sizeof(err));
 *	dockerapi_container_create(&d, "enc-ses_1", body, id, sizeof(id), ...);
 *	dockerapi_container_start(&d, id, ...);
 *	dockerapi_container_wait(&d, id, 5000, &cancel, &code, ...);
 *	dockerapi_container_logs(&d, id, &buf, &len, ...);
 *	dockerapi_logs_demux(buf, len, &used, cb, arg, ...);
 *	dockerapi_container_remove(&d, id, ...);
 */
#ifndef ENCLAVE_SESSIOND_DOCKERAPI_H
#define ENCLAVE_SESSIOND_DOCKERAPI_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/httpc.h"

#define DOCKERAPI_VERSION	"/v1.41"
#define DOCKERAPI_ID_MAX	64	/* hex digits of a container id */
/* One ustar member's name or link target, without a NUL. */
#define DOCKERAPI_TAR_NAME_MAX	99
/* A frame header of the multiplexed stream: stream, 0, 0, 0, size BE32. */
#define DOCKERAPI_FRAME_HDR	8

/* ------------------------------------------------------------------ */
/* ustar: an in-memory archive, for POST /images/create?fromSrc=-     */

struct dockerapi_tar {
	char	*buf;
	size_t	 len;
	size_t	 cap;
	int	 failed;	/* a call failed: finish() refuses */
};

void dockerapi_tar_init(struct dockerapi_tar *t);
/*
 * Members are owned by root, dated the epoch (the archive is the same
 * bytes for the same tree). name is relative ("etc/passwd", no leading
 * '/', no ".." component), at most DOCKERAPI_TAR_NAME_MAX bytes. 0 or -1
 * (EINVAL, ENOMEM); after a failure every later call fails too.
 */
int dockerapi_tar_dir(struct dockerapi_tar *t, const char *name, mode_t mode);
int dockerapi_tar_file(struct dockerapi_tar *t, const char *name, mode_t mode,
    const void *data, size_t len);
int dockerapi_tar_symlink(struct dockerapi_tar *t, const char *name,
    const char *target);
/* The two zero blocks that end an archive; 0, or -1 after a failure. */
int dockerapi_tar_finish(struct dockerapi_tar *t);
void dockerapi_tar_free(struct dockerapi_tar *t);

/* ------------------------------------------------------------------ */
/* The multiplexed stream of GET /containers/ID/logs and attach         */

enum dockerapi_stream {
	DOCKERAPI_STDIN = 0,
	DOCKERAPI_STDOUT = 1,
	DOCKERAPI_STDERR = 2,
};

/* One frame's payload (len may be 0); non-zero stops the walk. */
typedef int (*dockerapi_frame_cb)(enum dockerapi_stream stream,
    const char *data, size_t len, void *arg);

/*
 * Walk the frames in buf[0..len): [stream, 0, 0, 0, size BE32] then size
 * bytes. Every whole frame goes to cb, in order; *used says how far they
 * reached. 0: buf ended on a frame boundary. 1: a frame was cut short
 * (more bytes would complete it; at the end of a stream, it is
 * truncated). -1 with err: a header that is not a frame (a stream byte
 * above 2, non-zero padding; a TTY container's raw stream looks so), or
 * cb's non-zero return (err says "stopped"). Pure.
 */
int dockerapi_logs_demux(const char *buf, size_t len, size_t *used,
    dockerapi_frame_cb cb, void *arg, char *err, size_t errlen);

/* ------------------------------------------------------------------ */
/* The seccomp profile and the create body                              */

/*
 * The namespace sandbox's seccomp rules as a Docker seccomp profile: an
 * OCI bundle's linux.seccomp (oci_bundle_seccomp()), which Docker's format
 * shares, without naming the architecture. A malloc'd JSON string for
 * SecurityOpt "seccomp=...", or NULL (ENOMEM).
 */
char *dockerapi_seccomp_profile(void);

struct dockerapi_mount {
	const char *source;		/* absolute, on the host */
	const char *target;		/* absolute, in the container */
	int	    readonly;
};

struct dockerapi_ulimit {
	const char *name;		/* "nofile", "fsize", "core" */
	uint64_t    soft, hard;
};

#define DOCKERAPI_MOUNTS_MAX	32
#define DOCKERAPI_ULIMITS_MAX	4

/* What POST /containers/create gets; strings are borrowed. */
struct dockerapi_create {
	const char *image;
	const char *const *cmd;		/* argv, NULL-terminated */
	char *const *env;		/* "K=V", NULL-terminated */
	uid_t	    uid;
	gid_t	    gid;
	const char *hostname;
	const char *workdir;
	const char *label_prefix;	/* the label enclave.prefix */
	struct dockerapi_mount mounts[DOCKERAPI_MOUNTS_MAX];
	size_t	    nmounts;
	const char *workspace_opts;	/* tmpfs options of /workspace */
	const char *tmp_opts;		/* ... and of /tmp */
	uint64_t    memory_bytes;	/* also memory+swap: no swap */
	unsigned int pids;
	uint64_t    nano_cpus;		/* 0: no CPU cap */
	int	    oom_score_adj;
	struct dockerapi_ulimit ulimits[DOCKERAPI_ULIMITS_MAX];
	size_t	    nulimits;
	const char *cgroup_parent;	/* NULL: the engine's default */
	int	    ipv6_off;		/* disable IPv6 in its netns */
	const char *log_max_size;	/* json-file max-size, "16m" */
	const char *seccomp;		/* the profile's JSON, or NULL */
};

/* The JSON body for POST /containers/create, malloc'd; NULL (ENOMEM or
 * EINVAL for a missing image, cmd or env). Pure. */
char *dockerapi_create_body(const struct dockerapi_create *c);

/* ------------------------------------------------------------------ */
/* Exchanges with the engine                                            */

struct dockerapi {
	struct httpc_endpoint ep;
};

/* What GET /containers/ID/json says of State. */
struct dockerapi_state {
	int	 running;
	pid_t	 pid;		/* its init, in our pid namespace; 0 if not running */
	int	 exit_code;
	int	 oom_killed;
};

struct dockerapi_info {
	char	 cgroup_driver[16];	/* "cgroupfs", "systemd" */
	int	 cgroup_version;	/* 1 or 2; 0: not said */
};

/* Called once per container of a list; non-zero stops it. */
typedef int (*dockerapi_container_cb)(const char *id, const char *name,
    void *arg);

int dockerapi_init(struct dockerapi *d, const char *socket_path, char *err,
    size_t errlen);
/* GET /_ping: 0 when the engine answers OK. */
int dockerapi_ping(const struct dockerapi *d, int timeout_ms, char *err,
    size_t errlen);
int dockerapi_info(const struct dockerapi *d, struct dockerapi_info *out,
    char *err, size_t errlen);
/* 0 with the value of LABEL (label may be NULL; "" when absent) copied
 * to val, 1 when there is no such image, -1 on an error. */
int dockerapi_image_label(const struct dockerapi *d, const char *ref,
    const char *label, char *val, size_t vallen, char *err, size_t errlen);
/* POST /images/create?fromSrc=-: tar becomes repo:tag with LABEL
 * label=value (label may be NULL). */
int dockerapi_image_import(const struct dockerapi *d, const char *repo,
    const char *tag, const char *label, const char *value, const char *tar,
    size_t tarlen, char *err, size_t errlen);
/* 0 with the new container's id, 1 when the name is taken (409), -1. */
int dockerapi_container_create(const struct dockerapi *d, const char *name,
    const char *body, char *id, size_t idlen, char *err, size_t errlen);
int dockerapi_container_start(const struct dockerapi *d, const char *id,
    char *err, size_t errlen);
/*
 * POST /containers/ID/wait, for at most timeout_ms or until *cancel (may
 * be NULL) is set. 0 with its exit code once it is not running, 1 when
 * it is gone (404), -1 on an error or timeout.
 */
int dockerapi_container_wait(const struct dockerapi *d, const char *id,
    int timeout_ms, volatile sig_atomic_t *cancel, int *code, char *err,
    size_t errlen);
/* 0 with State filled, 1 when it is gone (404), -1. */
int dockerapi_container_inspect(const struct dockerapi *d, const char *id,
    struct dockerapi_state *st, char *err, size_t errlen);
/* The multiplexed stdout and stderr so far; *buf malloc'd. 1: gone. */
int dockerapi_container_logs(const struct dockerapi *d, const char *id,
    char **buf, size_t *len, char *err, size_t errlen);
/* SIGNAL to its init; 0 also when it was not running or is gone. */
int dockerapi_container_kill(const struct dockerapi *d, const char *id,
    const char *signal, char *err, size_t errlen);
/* Forced, with its anonymous volumes; 0 also when it was gone. */
int dockerapi_container_remove(const struct dockerapi *d, const char *id,
    char *err, size_t errlen);
/* Every container (running or not) carrying label KEY=VALUE whose name
 * starts with PREFIX (of [A-Za-z0-9_-]; the engine matches a regex). */
int dockerapi_container_list(const struct dockerapi *d, const char *key,
    const char *value, const char *prefix, dockerapi_container_cb cb,
    void *arg, char *err, size_t errlen);

#endif /* ENCLAVE_SESSIOND_DOCKERAPI_H */
