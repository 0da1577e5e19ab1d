/*
 * enclave-sessiond's configuration file.
 *
 * Format, as proxyd's (proxyd/config.h): one directive per line, words
 * separated by spaces or tabs, '#' starts a comment that runs to the end of
 * the line, blank lines are fine, no include files, no quoting (so paths
 * cannot contain spaces). CRLF line endings are accepted: one CR right
 * before a LF (or at the end of the file) is dropped. Any other control
 * byte, CR or NUL included, is an error. Limits: 1 MiB per file, 4 KiB per
 * line. Numbers are plain decimal: no sign, no leading zeros but "0".
 *
 * Each directive may appear once unless marked repeatable:
 *
 *   socket PATH               absolute, fits sun_path;
 *                             /run/enclave/sessiond.sock
 *   socket_mode MODE          "0" + three octal digits, 0600..0777; 0666
 *   tenant NAME uid UID [operator]        repeatable (at most 256);
 *                             UID 0..4294967294, each uid on one line only
 *   api_key TENANT sha256:HEX [operator]  repeatable (at most 256); HEX is
 *                             64 lowercase digits, each hash on one line
 *                             only, never the hash of the empty string
 *   tcp_listen ADDR:PORT      needs at least one api_key
 *   appliance_netns NAME      netns_name_valid(); "" (none): sessiond's own
 *   proxyd_control PATH       REQUIRED; absolute, fits sun_path
 *   tproxy_port N             REQUIRED; 1..65535
 *   dns_port N                REQUIRED; 1..65535
 *   nflog_group N             0..65535; 7
 *   pool CIDR                 REQUIRED; IPv4, prefix length 16..30
 *   name_prefix P             1..8 of a-z 0-9; "enc"
 *   state_dir PATH            absolute; /var/lib/enclave
 *   audit_log PATH            absolute; /var/log/enclave/audit.log
 *   helpers_dir PATH          absolute; /usr/local/libexec/enclave/helpers
 *   workload_uid N            1..4294967294; 65534
 *   workload_gid N            1..4294967294; 65534
 *   max_sessions N            1..4096; 64
 *   max_sessions_per_tenant N 1..max_sessions; max_sessions
 *   retain_sessions N         0..100000; 1024
 *   max_body_bytes N, max_code_bytes N, max_timeout_ms N, max_memory_mb N,
 *   max_pids N, max_output_bytes N, default_timeout_ms N,
 *   default_memory_mb N, default_pids N, default_output_bytes N
 *                             0..4294967295 on the line, then the set must
 *                             pass request_limits_check(); defaults from
 *                             request_limits_default()
 *   default_backend NAME      1..32 of a-z 0-9 _ -; "namespace"
 *   intercept_ca PATH         proxyd's interception CA certificate, put
 *                             in every sandbox's trust bundle
 *   binding NAME KEY VALUE    repeatable (at most 64 names); KEY one of
 *                             secret_file PATH | secret_env VAR (one of the
 *                             two, once), host PATTERN (1..16), inject
 *                             bearer | basic:USER | header:NAME (once;
 *                             default bearer), allow_http yes|no (once),
 *                             tenant NAME (0..16; none: every tenant)
 *   backend NAME KEY VALUE    repeatable (at most 128 in all); NAME and KEY
 *                             1..32 of a-z 0-9 _ -, each NAME KEY once
 *
 * Tenancy: a caller on the unix socket is the tenant its peer uid maps to
 * ("tenant" lines; several uids may share a tenant, one uid has one
 * tenant); a caller on tcp_listen is the tenant of its bearer key. A uid or
 * key line marked "operator" may also use the operator-only endpoints.
 * api_key holds the SHA-256 of the key, never the key: the file may then be
 * readable by more than the daemon, and no error message ever quotes an
 * api_key line's values, in case a key was pasted in place of its hash.
 *
 * A binding names the file holding a service binding's secret. The parser
 * stores the path only and never opens it.
 *
 * Pool prefix lengths stop at 16 because netns/addrpool.h does; session
 * netns names are name_prefix + "s" + N and host veths name_prefix + "h" +
 * N with N up to 6 digits, so a prefix of 8 keeps names within IFNAMSIZ.
 *
 * Every error is "NAME:LINE: message" (NAME as given to sdconfig_parse(),
 * the path for sdconfig_load()); errors about the whole file are
 * "NAME: message". Pure: no I/O but sdconfig_load()'s read, no logging, no
 * global state.
 */
#ifndef ENCLAVE_SESSIOND_SDCONFIG_H
#define ENCLAVE_SESSIOND_SDCONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/ip.h"
#include "common/name.h"
#include "proxyd/ctlmsg.h"
#include "sessiond/request.h"

#define SDCONFIG_FILE_MAX		(1024 * 1024)
#define SDCONFIG_LINE_MAX		4096	/* bytes, without the line ending */
#define SDCONFIG_PATH_MAX		1024
#define SDCONFIG_SOCKET_PATH_MAX	107	/* sizeof(sun_path) - 1 */
#define SDCONFIG_TENANTS_MAX		256	/* tenant lines */
#define SDCONFIG_KEYS_MAX		256
#define SDCONFIG_BINDINGS_MAX		64
#define SDCONFIG_BACKEND_OPTS_MAX	128
#define SDCONFIG_PREFIX_MAX		8
#define SDCONFIG_SESSIONS_MAX		4096
#define SDCONFIG_RETAIN_MAX		100000
#define SDCONFIG_POOL_MIN_PREFIX	16	/* = ADDRPOOL_MIN_PREFIX */
#define SDCONFIG_POOL_MAX_PREFIX	30
#define SDCONFIG_SHA256_LEN		32

#define SDCONFIG_DEFAULT_SOCKET		"/run/enclave/sessiond.sock"
#define SDCONFIG_DEFAULT_SOCKET_MODE	0666
#define SDCONFIG_DEFAULT_NAME_PREFIX	"enc"
#define SDCONFIG_DEFAULT_STATE_DIR	"/var/lib/enclave"
#define SDCONFIG_DEFAULT_AUDIT_LOG	"/var/log/enclave/audit.log"
#define SDCONFIG_DEFAULT_HELPERS_DIR	"/usr/local/libexec/enclave/helpers"

struct sdconfig_tenant_map {
	uid_t		 uid;
	char		 tenant[CTL_TENANT_MAX + 1];
	bool		 operator;
	unsigned int	 line;
};

struct sdconfig_key {
	unsigned char	 sha256[SDCONFIG_SHA256_LEN];
	char		 tenant[CTL_TENANT_MAX + 1];
	bool		 operator;
	unsigned int	 line;
};

#define SDCONFIG_BINDING_HOSTS_MAX	16	/* = CTL_BINDING_HOSTS_MAX */
#define SDCONFIG_BINDING_TENANTS_MAX	16

enum sdconfig_inject {
	SDCONFIG_INJECT_BEARER = 0,	/* = enum ctl_inject */
	SDCONFIG_INJECT_BASIC,
	SDCONFIG_INJECT_HEADER,
};

struct sdconfig_binding {
	char		 name[REQUEST_NAME_MAX + 1];
	char		*secret_file;	/* absolute; owned by the config */
	char		 secret_env[REQUEST_NAME_MAX * 2 + 1];	/* or this */
	char		 hosts[SDCONFIG_BINDING_HOSTS_MAX][256];
	size_t		 nhosts;
	/* hosts[i], as an array of pointers (for struct ctl_binding). */
	const char	*host_ptrs[SDCONFIG_BINDING_HOSTS_MAX];
	enum sdconfig_inject inject;
	char		 user[65];	/* basic */
	char		 header[65];	/* header */
	bool		 allow_http;
	char		 tenants[SDCONFIG_BINDING_TENANTS_MAX][CTL_TENANT_MAX + 1];
	size_t		 ntenants;	/* 0: every tenant */
	unsigned int	 line;		/* its first line */
};

/*
 * Immutable once sdconfig_parse() returns it, so threads may share it
 * without locks. limits.default_backend points into the struct itself:
 * use the config through its pointer, never a copy of the struct.
 */
/* "backend NAME KEY VALUE": one option of one backend (runtime paths,
 * sockets, network modes); each backend checks its own keys. */
struct sdconfig_backend_opt {
	char		 backend[REQUEST_NAME_MAX + 1];
	char		 key[REQUEST_NAME_MAX + 1];
	char		*value;		/* owned by the config */
	unsigned int	 line;
};

struct sdconfig {
	char			 socket[SDCONFIG_SOCKET_PATH_MAX + 1];
	mode_t			 socket_mode;
	struct sdconfig_tenant_map tenants[SDCONFIG_TENANTS_MAX];
	size_t			 ntenants;	/* in file order */
	struct sdconfig_key	 keys[SDCONFIG_KEYS_MAX];
	size_t			 nkeys;		/* in file order */
	struct ctl_endpoint	 tcp_listen;	/* addr.family 0: none */
	char			 appliance_netns[NETNS_NAME_MAX + 1]; /* "": none */
	char			 proxyd_control[SDCONFIG_SOCKET_PATH_MAX + 1];
	uint16_t		 tproxy_port;
	uint16_t		 dns_port;
	uint16_t		 nflog_group;
	struct cidr		 pool;		/* AF_INET */
	char			 name_prefix[SDCONFIG_PREFIX_MAX + 1];
	char			 state_dir[SDCONFIG_PATH_MAX + 1];
	char			 audit_log[SDCONFIG_PATH_MAX + 1];
	char			 helpers_dir[SDCONFIG_PATH_MAX + 1];
	/* proxyd's interception CA certificate, added to the sandboxes'
	 * trust bundle; "": none. */
	char			 intercept_ca[SDCONFIG_PATH_MAX + 1];
	/* False: helpers_dir is the default, which the daemon replaces with
	 * its compile-time path; true: the file named it, keep it. */
	bool			 helpers_dir_given;
	uid_t			 workload_uid;
	gid_t			 workload_gid;
	uint32_t		 max_sessions;
	uint32_t		 max_sessions_per_tenant;
	uint32_t		 retain_sessions;
	struct request_limits	 limits;	/* passed request_limits_check() */
	char			 default_backend[REQUEST_NAME_MAX + 1];
	struct sdconfig_binding	 bindings[SDCONFIG_BINDINGS_MAX];
	size_t			 nbindings;	/* in file order */
	struct sdconfig_backend_opt backend_opts[SDCONFIG_BACKEND_OPTS_MAX];
	size_t			 nbackend_opts;	/* in file order */
};

/*
 * Parse text[0..len) (need not be NUL-terminated; never read past len).
 * name is used in error messages. Returns 0 with *out set (release with
 * sdconfig_free()), or -1 with err set and *out NULL.
 */
int sdconfig_parse(const char *text, size_t len, const char *name,
    struct sdconfig **out, char *err, size_t errlen);

/* Reads path (a regular file of at most SDCONFIG_FILE_MAX bytes) and
 * parses it; "cannot open PATH: reason" when it can't be read. */
int sdconfig_load(const char *path, struct sdconfig **out, char *err,
    size_t errlen);

void sdconfig_free(struct sdconfig *cfg);

/* The mapping of a peer uid, or NULL: the daemon refuses unknown uids. */
const struct sdconfig_tenant_map *sdconfig_tenant_by_uid(
    const struct sdconfig *cfg, uid_t uid);

/*
 * The api_key line whose hash is SHA-256(key[0..len)), or NULL (also for an
 * empty key). Every configured hash is compared, each with CRYPTO_memcmp(),
 * so the time taken says nothing about how close a guess came.
 */
const struct sdconfig_key *sdconfig_key_lookup(const struct sdconfig *cfg,
    const char *key, size_t len);

/* 1 when tenant may use binding b. */
int sdconfig_binding_allowed(const struct sdconfig_binding *b,
    const char *tenant);
/* The binding called name (NUL-terminated), or NULL. */
const struct sdconfig_binding *sdconfig_binding(const struct sdconfig *cfg,
    const char *name);

/* The value of backend NAME's KEY, or NULL when not configured. */
const char *sdconfig_backend_opt(const struct sdconfig *cfg,
    const char *backend, const char *key);

#endif /* ENCLAVE_SESSIOND_SDCONFIG_H */
