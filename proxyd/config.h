/*
 * enclave-proxyd's configuration file, which is also the whole policy in
 * standalone ("drop-in egress firewall") use without sessiond.
 *
 * Format: one directive per line, words separated by spaces or tabs, '#'
 * starts a comment that runs to the end of the line (anywhere on it: no
 * value contains '#'), blank lines are fine, no include files, no quoting
 * (so paths cannot contain spaces). CRLF line endings are accepted: one CR
 * right before a LF (or at the end of the file) is dropped. Any other
 * control byte, CR or NUL included, is an error. Limits: 1 MiB per file,
 * 4 KiB per line.
 *
 *   transparent_listen ADDR:PORT   required; repeatable (at most 8)
 *   dns_listen ADDR:PORT           repeatable (at most 8)
 *   explicit_listen ADDR:PORT      repeatable (at most 8)
 *   metrics_listen ADDR:PORT       once
 *   control_socket PATH            once; absolute, shorter than sun_path
 *   event_log PATH                 once; absolute
 *   intercept_ca_cert PATH         once; absolute; with intercept_ca_key
 *   intercept_ca_key PATH          once; absolute; with intercept_ca_cert
 *   upstream_ca PATH               once; absolute
 *   user NAME                      once; [a-z_][a-z0-9_-]{0,31}
 *   exempt CIDR                    repeatable (at most CIDR_SET_MAX)
 *   max_connections N              and the other limits below: once each
 *   source CIDR [tenant NAME] [allow PATTERN...]
 *
 * ADDR:PORT is "198.18.0.1:8080" (dotted decimal) or "[2001:db8::1]:8080".
 * CIDRs are strict (cidr_parse). Patterns are DESIGN.md's allow patterns.
 *
 * A source maps a client range to an allow list and a tenant (default
 * "default"). A source without "allow" denies everything but is still a
 * known source (its denials say not_allowlisted, not unknown_source);
 * "allow" with nothing after it is an error, so an accident can't read as
 * deny-all. Sources may not overlap, so a client matches at most one.
 *
 * intercept_ca_cert and intercept_ca_key name the TLS interception CA
 * (PEM), used only for hosts a session has a service binding for; they go
 * together, and without them bound TLS hosts are refused
 * (intercept_unavailable). If neither file exists at start the daemon
 * creates the CA (mint.h). upstream_ca is a PEM bundle that verifies
 * upstream servers of intercepted connections instead of the system store.
 *
 * Every error is "NAME:LINE: message" (NAME as given to config_parse(), the
 * path for config_load()); errors about the whole file are "NAME: message".
 */
#ifndef ENCLAVE_PROXYD_CONFIG_H
#define ENCLAVE_PROXYD_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "common/ip.h"
#include "proxyd/ctlmsg.h"

struct policy;

#define CONFIG_FILE_MAX		(1024 * 1024)
#define CONFIG_LINE_MAX		4096	/* bytes, without the line ending */
#define CONFIG_LISTEN_MAX	8	/* per kind of listener */
#define CONFIG_SOURCES_MAX	4096
#define CONFIG_PATH_MAX		1024
#define CONFIG_SOCKET_PATH_MAX	107	/* sizeof(sun_path) - 1 */
#define CONFIG_USER_MAX		32
#define CONFIG_DEFAULT_TENANT	"default"

/* Each limit, with its range and default, is listed in config.c. */
struct config_limits {
	uint32_t	max_connections;		/* 1..1000000, 4096 */
	uint32_t	max_connections_per_session;	/* 1..1000000, 256 */
	uint32_t	sniff_timeout_ms;		/* 1..60000, 1000 */
	uint32_t	sniff_max_bytes;		/* 512..262144, 16384 */
	uint32_t	connect_timeout_ms;		/* 100..300000, 10000 */
	uint32_t	idle_timeout_ms;		/* 1000..86400000, 300000 */
	uint32_t	max_header_bytes;		/* 1024..1048576, 32768 */
};

struct config_source {
	struct cidr	 cidr;
	char		 tenant[CTL_TENANT_MAX + 1];
	struct policy	*policy;	/* owned by the config */
	unsigned int	 line;
};

struct config_listeners {
	struct ctl_endpoint	v[CONFIG_LISTEN_MAX];
	size_t			n;
};

/*
 * Immutable once config_parse() returns it: nothing here is written again
 * and policy_check() only reads, so any number of threads may use one
 * config at a time without locks.
 *
 * Reload (SIGHUP): parse the new file into a new config; on error log the
 * message and keep the old one. On success publish the new pointer for new
 * connections and keep the old one alive until every connection that took
 * it has ended (a connection holds the config it was accepted under, e.g.
 * through a reference count the daemon keeps next to the pointer), then
 * config_free() it. Listener and user changes take a restart; the daemon
 * should say so when they differ.
 */
struct proxyd_config {
	struct config_listeners	 transparent;	/* n >= 1 */
	struct config_listeners	 dns;
	struct config_listeners	 explicit_proxy;
	struct ctl_endpoint	 metrics;	/* addr.family 0: none */
	char			 control_socket[CONFIG_SOCKET_PATH_MAX + 1];
	char			 event_log[CONFIG_PATH_MAX + 1];
	char			 intercept_ca_cert[CONFIG_PATH_MAX + 1];	/* "": none */
	char			 intercept_ca_key[CONFIG_PATH_MAX + 1];
	char			 upstream_ca[CONFIG_PATH_MAX + 1];	/* "": system store */
	char			 user[CONFIG_USER_MAX + 1];	/* "": none */
	struct cidr_set		 exempt;	/* for ip_classify() */
	struct config_limits	 limits;
	struct config_source	*sources;	/* in file order */
	size_t			 nsources;
};

/*
 * Parse text[0..len) (need not be NUL-terminated; never read past len).
 * name is used in error messages. Returns 0 with *out set (release with
 * config_free()), or -1 with err set and *out NULL.
 */
int config_parse(const char *text, size_t len, const char *name,
    struct proxyd_config **out, char *err, size_t errlen);

/* Reads path (a regular file of at most CONFIG_FILE_MAX bytes) and parses
 * it; "cannot open PATH: reason" when it can't be read. */
int config_load(const char *path, struct proxyd_config **out, char *err,
    size_t errlen);

void config_free(struct proxyd_config *cfg);

/*
 * The source whose range holds src, or NULL (the caller denies with
 * unknown_source). A linear scan: O(sources), at most 4096 cidr_contains()
 * calls of a few byte compares each. sessiond-fed sessions are looked up in
 * the daemon's own hash table, not here.
 */
const struct config_source *config_source_find(const struct proxyd_config *cfg,
    const struct ip_addr *src);

#endif /* ENCLAVE_PROXYD_CONFIG_H */
