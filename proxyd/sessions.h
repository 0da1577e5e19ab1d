#ifndef ENCLAVE_PROXYD_SESSIONS_H
#define ENCLAVE_PROXYD_SESSIONS_H

#include <stdatomic.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ip.h"
#include "proxyd/ctlmsg.h"
#include "proxyd/resolved.h"

struct policy;

/*
 * Who a connection belongs to. Sessions come from sessiond over the
 * control socket (one source address each, looked up in O(1)) or from the
 * config file's `source CIDR` lines (standalone mode, id ""). A session is
 * immutable once published except for its counters and its resolved
 * table; connections hold a reference, so removing or replacing a session
 * never pulls it from under a live connection.
 *
 * Service bindings (ctlmsg.h) come with sessiond's sessions: the secrets
 * proxyd injects toward the bound hosts. They live here, in this process
 * only, and are wiped when the session's last reference goes. A bound
 * host is allowed for its session whatever the allow list says.
 */
struct px_session {
	atomic_uint refs;
	char id[CTL_ID_MAX + 1];		/* "" for config sources */
	char tenant[CTL_TENANT_MAX + 1];
	struct cidr source;
	struct policy *allow;			/* owned unless release is set */
	void (*release)(void *);		/* frees what allow borrows from */
	void *release_arg;
	uint32_t max_connections;
	atomic_uint conns;			/* live connections */
	pthread_mutex_t lock;			/* guards resolved */
	struct resolved_table resolved;
	struct ctl_binding *bindings;		/* owned; secrets wiped at the end */
	size_t nbindings;
	struct policy **bpolicy;		/* bindings[i]'s hosts */
	struct policy *bound;			/* every binding's hosts; NULL: none */
};

struct session_table;

/* Takes ownership of allow (even on failure). */
struct px_session *px_session_new(const char *id, const char *tenant,
    const struct cidr *source, struct policy *allow, uint32_t max_connections);
/* A config source's session: allow belongs to the config, which release
 * (called with arg when the session goes) keeps alive until then. */
struct px_session *px_session_new_borrowed(const char *tenant,
    const struct cidr *source, struct policy *allow,
    uint32_t max_connections, void (*release)(void *), void *arg);
/*
 * Gives s the bindings (an array of n, as ctlmsg_decode() made it) before
 * s is published; s owns them from now on, even when this fails (-1:
 * out of memory, or a host pattern that does not parse).
 */
int px_session_set_bindings(struct px_session *s, struct ctl_binding *v,
    size_t n);
/* The first binding whose hosts allow canon_host on port, or NULL. */
const struct ctl_binding *px_session_binding(const struct px_session *s,
    const char *canon_host, uint16_t port);
void px_session_ref(struct px_session *s);
/* The one teardown: frees on the last reference. NULL is fine. */
void px_session_unref(struct px_session *s);
/* Thread-safe wrappers over the session's resolved table. */
void px_session_resolved_add(struct px_session *s, const char *name,
    const struct ip_addr *addr, uint32_t ttl_s, uint64_t now_ms);

struct session_table *session_table_new(void);
void session_table_free(struct session_table *t);
/*
 * Adds a sessiond session (source must be one address). -1 with errno
 * EEXIST if the id or the source is taken. The table takes a reference.
 */
int session_table_add(struct session_table *t, struct px_session *s);
/* Replaces the session with s's id (its allow list and limits change for
 * new connections at once). -1 ENOENT if there is none. */
int session_table_update(struct session_table *t, struct px_session *s);
/* -1 ENOENT if there is no such id. */
int session_table_del(struct session_table *t, const char *id);
/* Swaps in the config sources (file order, first match wins); the table
 * takes a reference on each. */
int session_table_set_sources(struct session_table *t,
    struct px_session *const *v, size_t n);
/* The session owning src, with a reference the caller drops; NULL if none.
 * sessiond sessions win over config sources. */
struct px_session *session_table_lookup(struct session_table *t,
    const struct ip_addr *src);
size_t session_table_count(struct session_table *t);

#endif
