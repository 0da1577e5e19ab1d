/*
 * The pass-through relay: once a connection is allowed and its upstream is
 * connected, pump bytes both ways with splice(2) through one pipe per
 * direction, with backpressure, half-close, reset propagation and an idle
 * timeout. No parsing and no policy here: the proxy has decided already.
 *
 * Ownership:
 *  - relay_new() takes both sockets on success (it sets O_NONBLOCK on them,
 *    unless opts->nonblocking says they have it); on failure it returns NULL
 *    with errno set and the caller still owns them.
 *  - done is called once, from the event loop or from relay_abort(), never
 *    from relay_new(). By then both sockets and pipes are closed; only the
 *    struct remains. The owner must then call relay_free(), from inside done
 *    or later. The relay never frees itself.
 *  - relay_free() is the one teardown and may be called at any time. On a
 *    relay still running it resets both sockets (the stream was cut, so no
 *    peer may see a clean end of stream) and does not call done.
 *  - The relay registers each socket with the loop once, edge-triggered,
 *    for its whole life; the caller must have no event of its own left on
 *    either (libevent cannot mix edge- and level-triggered on one fd).
 *
 * Closing:
 *  - RELAY_EOF: both directions saw end of stream and were drained; each
 *    EOF was passed on with shutdown(SHUT_WR) as soon as its direction
 *    drained. Sockets are closed normally.
 *  - RELAY_ERROR: a read or write failed (ECONNRESET, EPIPE, ...). Both
 *    sockets are reset (SO_LINGER {1, 0}, then close), so a reset on one side
 *    becomes a reset towards the other, in both directions.
 *  - RELAY_IDLE: no byte moved in either direction for idle_ms. Sockets are
 *    closed normally, unless bytes were still stranded in a pipe or buffer:
 *    then they are reset so the loss is visible.
 *  - RELAY_ABORTED: relay_abort(); both sockets are reset.
 *
 * Byte counters count bytes delivered to the destination socket (not merely
 * read), prefix bytes included. In flight per direction is at most
 * pipe_bytes (or, while the prefix goes out, prefix_len): the source is read
 * only when its pipe is empty. Each relay holds two pipes (four fds) next to
 * its sockets; splice() to a reset socket can raise SIGPIPE, so the daemon
 * must ignore SIGPIPE.
 */
#ifndef ENCLAVE_PROXYD_RELAY_H
#define ENCLAVE_PROXYD_RELAY_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct relay;
struct relay_pipes;

/* Largest prefix relay_new() accepts (the sniffer's bound). */
#define RELAY_PREFIX_MAX	(64 * 1024)
/* Per-direction pipe size when opts->pipe_bytes is 0, and its bounds. */
#define RELAY_PIPE_DEFAULT	(64 * 1024)
#define RELAY_PIPE_MIN		4096
#define RELAY_PIPE_MAX		(1024 * 1024)

struct relay_opts {
	/* Bytes already read from the client (while sniffing), sent upstream
	 * before anything else; copied by relay_new(). */
	const void *prefix;
	size_t prefix_len;		/* 0..RELAY_PREFIX_MAX */
	/* Most bytes in flight per direction; 0 means RELAY_PIPE_DEFAULT. */
	size_t pipe_bytes;
	/* Close after this long without a byte moving; 0 disables. */
	unsigned int idle_ms;
	/* Where pipes come from and go back to; NULL: made and closed per
	 * relay. Must outlive the relay. */
	struct relay_pipes *pipes;
	/* Non-zero: the caller promises both sockets are O_NONBLOCK already
	 * (accept4() or socket() with SOCK_NONBLOCK), so relay_new() spends
	 * no fcntl() checking. A blocking socket here would stall the loop. */
	int nonblocking;
};

enum relay_reason {
	RELAY_EOF = 0,
	RELAY_ERROR,
	RELAY_IDLE,
	RELAY_ABORTED,
};

/* Which socket an error came from. */
enum relay_side {
	RELAY_SIDE_NONE = 0,
	RELAY_SIDE_CLIENT,
	RELAY_SIDE_UPSTREAM,
};

struct relay_result {
	uint64_t bytes_up;		/* client → upstream, prefix included */
	uint64_t bytes_down;		/* upstream → client */
	enum relay_reason reason;
	int error;			/* errno for RELAY_ERROR, else 0 */
	enum relay_side side;		/* for RELAY_ERROR */
};

/* A snapshot for metrics and tests. */
struct relay_stats {
	uint64_t bytes_up;
	uint64_t bytes_down;
	size_t inflight_up;		/* read from the client, not yet delivered */
	size_t inflight_down;
	size_t peak_up;			/* highest inflight_up seen */
	size_t peak_down;
	int copy_up;			/* 1 once the direction fell back to read/write */
	int copy_down;
};

/* res is valid only during the call; relay_get_stats() still works here. */
typedef void (*relay_done_cb)(struct relay *r, const struct relay_result *res,
    void *arg);

struct relay *relay_new(struct event_base *base, int client_fd,
    int upstream_fd, const struct relay_opts *opts, relay_done_cb done,
    void *arg);
/* Stop now, reset both sockets, and call done with RELAY_ABORTED before
 * returning (so the relay may be freed when it returns). No-op once done. */
void relay_abort(struct relay *r);
void relay_free(struct relay *r);
void relay_get_stats(const struct relay *r, struct relay_stats *st);
const char *relay_reason_name(enum relay_reason reason);

/*
 * A bounded cache of empty pipes for the relays of one event loop (not
 * thread-safe: one per worker), so a connection costs no pipe2(),
 * F_SETPIPE_SZ and close() each way. A pipe goes back only when the
 * kernel says it is empty: a byte left behind would reach the next
 * connection. Beyond max, or not empty, it is closed.
 */
struct relay_pipes *relay_pipes_new(size_t max);
/* Closes every cached pipe; no relay may still use it. */
void relay_pipes_free(struct relay_pipes *p);
/* Pipes cached now (tests). */
size_t relay_pipes_count(const struct relay_pipes *p);
/* A cached pipe of this size (non-blocking, close-on-exec), else a new
 * one; p may be NULL. -1 with errno, fd[] then -1. */
int relay_pipe_take(struct relay_pipes *p, int fd[2], size_t cap);
/* Back to p if there is room and the kernel says it is empty, else
 * closed; fd[] becomes -1 either way. Ends of -1 are skipped. */
void relay_pipe_give(struct relay_pipes *p, int fd[2], size_t cap);

#endif
