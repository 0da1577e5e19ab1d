#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/event_struct.h>	/* events embedded: no malloc each */

#include "common/clock.h"
#include "proxyd/relay.h"

/* Most bytes one callback moves in one direction before it yields, so one
 * fast connection cannot starve the others on the same loop. */
#define RELAY_BUDGET	(256 * 1024)

/*
 * One socket and its one event, registered once, edge-triggered, for both
 * reading and writing: rd and wr say what the kernel last reported and are
 * cleared only by EAGAIN, so interest never changes while the relay runs
 * (no epoll_ctl per transfer). A new edge follows any new data or space.
 */
struct relay_sock {
	struct relay *r;
	int fd;
	enum relay_side side;
	bool rd;		/* may have bytes (or EOF, an error) to read */
	bool wr;		/* may take bytes */
	bool assigned;		/* ev was event_assign()ed */
	struct event ev;
};

/*
 * One direction: src → pipe → dst, or src → buf → dst after a fallback.
 * buf also carries the prefix. Whatever is in flight (buf_len + inpipe) is
 * at most cap (or the prefix length): src is read only when nothing is in
 * flight, and dst is written until it would block.
 */
struct relay_dir {
	struct relay *r;
	struct relay_sock *src;
	struct relay_sock *dst;
	int pipe[2];
	size_t cap;
	size_t inpipe;
	uint8_t *buf;
	size_t buf_size;
	size_t buf_off;
	size_t buf_len;
	bool copy;		/* splice refused: read/write through buf */
	bool eof;		/* src said end of stream */
	bool shut;		/* ... and dst was told with shutdown() */
	uint64_t bytes;
	size_t peak;
};

struct relay_pipe {
	int fd[2];
	size_t cap;		/* what F_SETPIPE_SZ was asked for */
};

struct relay_pipes {
	size_t n;
	size_t max;
	struct relay_pipe v[];
};

/* Events and timer are embedded: a relay costs one allocation, and its
 * sockets are registered with the loop once each. */
struct relay {
	struct relay_pipes *pipes;
	struct relay_sock client;
	struct relay_sock upstream;
	struct relay_dir up;
	struct relay_dir down;
	struct event idle_ev;
	bool idle_assigned;
	unsigned int idle_ms;
	uint64_t last_ms;
	bool owned;		/* the sockets are ours to close */
	bool finished;
	relay_done_cb done;
	void *arg;
};

static size_t
dir_inflight(const struct relay_dir *d)
{
	return d->buf_len + d->inpipe;
}

/* An abortive close: the peer gets a RST, not a FIN it would take for a
 * clean end of stream. */
static void
relay_close_fd(int *fd, bool reset)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (*fd == -1)
		return;
	if (reset)
		(void)setsockopt(*fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(*fd);
	*fd = -1;
}

struct relay_pipes *
relay_pipes_new(size_t max)
{
	struct relay_pipes *p;

	if ((p = calloc(1, sizeof(*p) + max * sizeof(p->v[0]))) == NULL)
		return NULL;
	p->max = max;
	return p;
}

void
relay_pipes_free(struct relay_pipes *p)
{
	if (p == NULL)
		return;
	while (p->n > 0) {
		p->n--;
		close(p->v[p->n].fd[0]);
		close(p->v[p->n].fd[1]);
	}
	free(p);
}

size_t
relay_pipes_count(const struct relay_pipes *p)
{
	return p != NULL ? p->n : 0;
}

int
relay_pipe_take(struct relay_pipes *p, int fd[2], size_t cap)
{
	size_t i;

	for (i = p != NULL ? p->n : 0; i > 0; i--) {
		if (p->v[i - 1].cap != cap)
			continue;
		fd[0] = p->v[i - 1].fd[0];
		fd[1] = p->v[i - 1].fd[1];
		p->v[i - 1] = p->v[--p->n];
		return 0;
	}
	if (pipe2(fd, O_NONBLOCK | O_CLOEXEC) == -1) {
		fd[0] = fd[1] = -1;
		return -1;
	}
	/* A smaller pipe still works; cap bounds what is in flight anyway. */
	(void)fcntl(fd[1], F_SETPIPE_SZ, (int)cap);
	return 0;
}

/* Not our count of what is in it: a miscount must not hand bytes to
 * another connection. */
void
relay_pipe_give(struct relay_pipes *p, int fd[2], size_t cap)
{
	int queued = -1;

	if (fd[0] == -1 || fd[1] == -1) {
		if (fd[0] != -1)
			close(fd[0]);
		if (fd[1] != -1)
			close(fd[1]);
	} else if (p != NULL && p->n < p->max &&
	    ioctl(fd[0], FIONREAD, &queued) == 0 && queued == 0) {
		p->v[p->n].fd[0] = fd[0];
		p->v[p->n].fd[1] = fd[1];
		p->v[p->n].cap = cap;
		p->n++;
	} else {
		close(fd[0]);
		close(fd[1]);
	}
	fd[0] = fd[1] = -1;
}

static void
dir_release(struct relay_dir *d)
{
	relay_pipe_give(d->r != NULL ? d->r->pipes : NULL, d->pipe, d->cap);
	free(d->buf);
	d->buf = NULL;
	d->buf_size = d->buf_off = d->buf_len = d->inpipe = 0;
}

/* Out of the loop first (event_del also unqueues an active event), then
 * closed if it is ours. */
static void
sock_release(struct relay_sock *s, bool owned, bool reset)
{
	if (s->assigned)
		(void)event_del(&s->ev);
	s->assigned = false;
	if (owned)
		relay_close_fd(&s->fd, reset);
	s->fd = -1;
}

/* Releases every kernel resource; the struct stays for relay_free(). */
static void
relay_release(struct relay *r, bool reset)
{
	if (r->idle_assigned)
		(void)event_del(&r->idle_ev);
	r->idle_assigned = false;
	dir_release(&r->up);
	dir_release(&r->down);
	sock_release(&r->client, r->owned, reset);
	sock_release(&r->upstream, r->owned, reset);
	r->owned = false;
}

/* Always returns -1 so callers can `return relay_finish(...)`; after it the
 * relay may be freed already (done may call relay_free). */
static int
relay_finish(struct relay *r, enum relay_reason reason, int error,
    enum relay_side side)
{
	struct relay_result res;
	bool reset;

	reset = reason == RELAY_ERROR || reason == RELAY_ABORTED ||
	    (reason == RELAY_IDLE &&
	    (dir_inflight(&r->up) > 0 || dir_inflight(&r->down) > 0));
	memset(&res, 0, sizeof(res));
	res.bytes_up = r->up.bytes;
	res.bytes_down = r->down.bytes;
	res.reason = reason;
	res.error = reason == RELAY_ERROR ? error : 0;
	res.side = reason == RELAY_ERROR ? side : RELAY_SIDE_NONE;
	relay_release(r, reset);
	r->finished = true;
	r->done(r, &res, r->arg);
	return -1;
}

/* splice() said EINVAL: this fd pair can't be spliced, so move what is in
 * the pipe to a buffer and read/write from now on. buf is empty here. */
static int
dir_fallback(struct relay_dir *d)
{
	ssize_t n;

	if (d->buf_size < d->cap) {
		free(d->buf);
		d->buf_size = 0;
		if ((d->buf = malloc(d->cap)) == NULL)
			return -1;
		d->buf_size = d->cap;
	}
	d->buf_off = d->buf_len = 0;
	while (d->inpipe > 0) {
		n = read(d->pipe[0], d->buf + d->buf_len, d->inpipe);
		if (n <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			if (n == 0)
				errno = EIO;
			return -1;
		}
		d->buf_len += (size_t)n;
		d->inpipe -= (size_t)n;
	}
	close(d->pipe[0]);
	close(d->pipe[1]);
	d->pipe[0] = d->pipe[1] = -1;
	d->copy = true;
	return 0;
}

static int
dir_fail(struct relay_dir *d, int error, enum relay_side side)
{
	return relay_finish(d->r, RELAY_ERROR, error, side);
}

/*
 * Moves bytes until a side would block, src ends or the budget is spent.
 * Read src only when nothing is in flight, write dst only while something
 * is: that is the whole of backpressure. Only EAGAIN clears a socket's
 * flag: a short splice may have stopped at a full pipe or before a FIN,
 * not at an empty socket, and no new edge would come for what is already
 * there. Returns -1 when the relay finished (it may be freed already).
 */
static int
dir_pump(struct relay_dir *d)
{
	struct relay *r = d->r;
	size_t moved = 0;
	bool active = false;
	ssize_t n;
	int err;

	for (;;) {
		if (d->buf_len > 0) {
			if (!d->dst->wr)
				break;
			n = write(d->dst->fd, d->buf + d->buf_off, d->buf_len);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN || errno == EWOULDBLOCK) {
					d->dst->wr = false;
					break;
				}
				return dir_fail(d, errno, d->dst->side);
			}
			d->buf_off += (size_t)n;
			d->buf_len -= (size_t)n;
			if (d->buf_len == 0 && !d->copy) {
				/* The prefix is out; don't hold its copy. */
				free(d->buf);
				d->buf = NULL;
				d->buf_size = d->buf_off = 0;
			} else if (d->buf_len == 0) {
				d->buf_off = 0;
			}
			d->bytes += (uint64_t)n;
			moved += (size_t)n;
			active = true;
			continue;
		}
		if (d->inpipe > 0) {
			if (!d->dst->wr)
				break;
			n = splice(d->pipe[0], NULL, d->dst->fd, NULL,
			    d->inpipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n < 0) {
				err = errno;
				if (err == EINTR)
					continue;
				if (err == EAGAIN || err == EWOULDBLOCK) {
					d->dst->wr = false;
					break;
				}
				if (err != EINVAL)
					return dir_fail(d, err, d->dst->side);
				if (dir_fallback(d) == 0)
					continue;
				return dir_fail(d, errno, RELAY_SIDE_NONE);
			}
			d->inpipe -= (size_t)n;
			d->bytes += (uint64_t)n;
			moved += (size_t)n;
			active = true;
			continue;
		}
		if (d->eof) {
			/* A failing shutdown() means dst is gone already;
			 * a write in the other direction reports that. */
			if (!d->shut)
				(void)shutdown(d->dst->fd, SHUT_WR);
			d->shut = true;
			break;
		}
		if (!d->src->rd)
			break;
		if (moved >= RELAY_BUDGET) {
			/* src may still be readable, and no new edge says so:
			 * come back once the loop has served the others. */
			event_active(&d->src->ev, 0, 0);
			break;
		}
		if (d->copy) {
			n = read(d->src->fd, d->buf, d->cap);
			if (n > 0)
				d->buf_len = (size_t)n;
		} else {
			n = splice(d->src->fd, NULL, d->pipe[1], NULL, d->cap,
			    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0)
				d->inpipe = (size_t)n;
			if (n < 0 && errno == EINVAL) {
				if (dir_fallback(d) == 0)
					continue;
				return dir_fail(d, errno, RELAY_SIDE_NONE);
			}
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				d->src->rd = false;
				break;
			}
			return dir_fail(d, errno, d->src->side);
		}
		if (n == 0) {
			d->eof = true;
			continue;
		}
		active = true;
		if (dir_inflight(d) > d->peak)
			d->peak = dir_inflight(d);
	}
	if (active)
		r->last_ms = clock_monotonic_ms();
	if (r->up.shut && r->down.shut)
		return relay_finish(r, RELAY_EOF, 0, RELAY_SIDE_NONE);
	return 0;
}

/* Either socket's news may move either direction (it is one's src and
 * the other's dst); a direction with nothing to do costs no syscall. */
static void
relay_on_io(evutil_socket_t fd, short what, void *arg)
{
	struct relay_sock *s = arg;
	struct relay *r = s->r;

	(void)fd;
	if (what & EV_READ)
		s->rd = true;
	if (what & EV_WRITE)
		s->wr = true;
	if (dir_pump(&r->up) == -1)
		return;
	(void)dir_pump(&r->down);
}

/* One timer per relay, re-armed lazily from the last activity instead of
 * being reset on every byte. */
static void
relay_on_idle(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;
	struct timeval tv;
	uint64_t quiet;

	(void)fd;
	(void)what;
	quiet = clock_monotonic_ms() - r->last_ms;
	if (quiet >= r->idle_ms) {
		(void)relay_finish(r, RELAY_IDLE, 0, RELAY_SIDE_NONE);
		return;
	}
	tv = clock_ms_timeval(r->idle_ms - quiet);
	if (event_add(&r->idle_ev, &tv) == -1)
		(void)relay_finish(r, RELAY_ERROR, errno, RELAY_SIDE_NONE);
}

static int
dir_init(struct relay *r, struct relay_dir *d, struct relay_sock *src,
    struct relay_sock *dst, size_t cap)
{
	d->r = r;
	d->src = src;
	d->dst = dst;
	d->cap = cap;
	return relay_pipe_take(r->pipes, d->pipe, cap);
}

/* Nothing is assumed ready: adding an edge-triggered event reports what
 * the socket can do already, so the first callback sets the flags. */
static int
sock_init(struct relay *r, struct relay_sock *s, struct event_base *base,
    int fd, enum relay_side side)
{
	s->r = r;
	s->fd = fd;
	s->side = side;
	if (event_assign(&s->ev, base, fd, EV_READ | EV_WRITE | EV_PERSIST |
	    EV_ET, relay_on_io, s) == -1) {
		errno = EINVAL;
		return -1;
	}
	s->assigned = true;
	return event_add(&s->ev, NULL);
}

static int
relay_set_nonblock(int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return -1;
	if (fl & O_NONBLOCK)
		return 0;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

struct relay *
relay_new(struct event_base *base, int client_fd, int upstream_fd,
    const struct relay_opts *opts, relay_done_cb done, void *arg)
{
	static const struct relay_opts defaults;
	struct relay *r;
	struct timeval tv;
	size_t cap;
	int saved;

	if (opts == NULL)
		opts = &defaults;
	cap = opts->pipe_bytes != 0 ? opts->pipe_bytes : RELAY_PIPE_DEFAULT;
	if (base == NULL || done == NULL || client_fd < 0 || upstream_fd < 0 ||
	    client_fd == upstream_fd || opts->prefix_len > RELAY_PREFIX_MAX ||
	    (opts->prefix_len > 0 && opts->prefix == NULL) ||
	    cap < RELAY_PIPE_MIN || cap > RELAY_PIPE_MAX) {
		errno = EINVAL;
		return NULL;
	}
	if (!opts->nonblocking && (relay_set_nonblock(client_fd) == -1 ||
	    relay_set_nonblock(upstream_fd) == -1))
		return NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	/* Not ours until we succeed (r->owned): a failure leaves the
	 * sockets open. */
	r->client.fd = r->upstream.fd = -1;
	r->up.pipe[0] = r->up.pipe[1] = r->down.pipe[0] = r->down.pipe[1] = -1;
	r->done = done;
	r->arg = arg;
	r->pipes = opts->pipes;
	r->idle_ms = opts->idle_ms;
	r->last_ms = clock_monotonic_ms();

	if (dir_init(r, &r->up, &r->client, &r->upstream, cap) == -1 ||
	    dir_init(r, &r->down, &r->upstream, &r->client, cap) == -1)
		goto fail;
	if (opts->prefix_len > 0) {
		if ((r->up.buf = malloc(opts->prefix_len)) == NULL)
			goto fail;
		memcpy(r->up.buf, opts->prefix, opts->prefix_len);
		r->up.buf_size = r->up.buf_len = opts->prefix_len;
		r->up.peak = opts->prefix_len;
	}
	if (r->idle_ms > 0) {
		if (evtimer_assign(&r->idle_ev, base, relay_on_idle, r) == -1) {
			errno = EINVAL;
			goto fail;
		}
		r->idle_assigned = true;
		tv = clock_ms_timeval(r->idle_ms);
		if (event_add(&r->idle_ev, &tv) == -1)
			goto fail;
	}
	if (sock_init(r, &r->client, base, client_fd,
	    RELAY_SIDE_CLIENT) == -1 ||
	    sock_init(r, &r->upstream, base, upstream_fd,
	    RELAY_SIDE_UPSTREAM) == -1)
		goto fail;
	r->owned = true;
	return r;

fail:
	saved = errno;
	relay_release(r, false);
	free(r);
	errno = saved;
	return NULL;
}

void
relay_abort(struct relay *r)
{
	if (r == NULL || r->finished)
		return;
	(void)relay_finish(r, RELAY_ABORTED, 0, RELAY_SIDE_NONE);
}

void
relay_free(struct relay *r)
{
	if (r == NULL)
		return;
	if (!r->finished)
		relay_release(r, true);
	free(r);
}

void
relay_get_stats(const struct relay *r, struct relay_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->bytes_up = r->up.bytes;
	st->bytes_down = r->down.bytes;
	st->inflight_up = dir_inflight(&r->up);
	st->inflight_down = dir_inflight(&r->down);
	st->peak_up = r->up.peak;
	st->peak_down = r->down.peak;
	st->copy_up = r->up.copy;
	st->copy_down = r->down.copy;
}

const char *
relay_reason_name(enum relay_reason reason)
{
	switch (reason) {
	case RELAY_EOF:
		return "eof";
	case RELAY_ERROR:
		return "error";
	case RELAY_IDLE:
		return "idle";
	case RELAY_ABORTED:
		return "aborted";
	}
	return "unknown";
}
