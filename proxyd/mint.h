/*
 * The TLS interception CA and the leaf certificates it signs.
 *
 * proxyd terminates a sandbox's TLS only toward hosts the session holds a
 * service binding for (intercept.h); there it presents a leaf minted on
 * demand for the ClientHello's SNI and signed by this CA, which the
 * sandbox's CA bundle trusts. Everything else stays SNI pass-through and
 * never sees this CA.
 *
 * The CA (EC P-256, CA:TRUE, pathlen 0, keyCertSign, ten years) is created
 * at first start when neither of its files exists: the key 0600 and owned
 * by the daemon's user, the certificate 0644 (sessiond reads it to build
 * the sandbox's bundle). A key readable by group or others is refused.
 *
 * Leaves: one name (SAN dNSName, CN when it fits), serverAuth, valid from a
 * day back (clock skew) to seven days ahead and never past the CA. One EC
 * P-256 key per cache serves every leaf of that cache; caches are per
 * event loop (no locks) and bounded (least recently used goes first).
 *
 * A mint_ca is read-only once opened, so every worker may sign with it at
 * once; a mint_cache belongs to one thread.
 */
#ifndef ENCLAVE_PROXYD_MINT_H
#define ENCLAVE_PROXYD_MINT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#define MINT_CACHE_DEFAULT	256
#define MINT_CA_DAYS		3650
#define MINT_LEAF_BACKDATE_S	(24 * 3600)
#define MINT_LEAF_LIFETIME_S	(7 * 24 * 3600)

struct mint_ca;
struct mint_cache;

/*
 * Loads the CA from cert_path and key_path, or creates and writes it when
 * neither exists. uid/gid own the new key ((uid_t)-1: leave it to the
 * caller). Returns the CA, or NULL with err saying which file and why
 * (never any key material). Exactly one of the two files existing is an
 * error: the other was lost, and a new CA would silently distrust every
 * sandbox bundle built from the old one.
 */
struct mint_ca *mint_ca_open(const char *cert_path, const char *key_path,
    uid_t uid, gid_t gid, char *err, size_t errlen);
void mint_ca_free(struct mint_ca *ca);
/* The CA certificate; borrowed, lives as long as ca. */
X509 *mint_ca_cert(const struct mint_ca *ca);

/* A cache of at most max leaves (0: MINT_CACHE_DEFAULT) with its own key. */
struct mint_cache *mint_cache_new(const struct mint_ca *ca, size_t max,
    char *err, size_t errlen);
void mint_cache_free(struct mint_cache *mc);

/*
 * The leaf for host, a canonical DNS name (hostname_canon(); IP literals
 * and anything else are refused with NULL), minted or from the cache.
 * Borrowed: valid until the next mint_leaf() on mc, which may evict it
 * (SSL_use_certificate() takes its own reference). NULL on failure.
 */
X509 *mint_leaf(struct mint_cache *mc, const char *host);
/* The private key of every leaf mc mints; borrowed. */
EVP_PKEY *mint_cache_key(const struct mint_cache *mc);

struct mint_stats {
	uint64_t	hits;
	uint64_t	misses;		/* leaves minted */
	uint64_t	evictions;
	size_t		size;
};

void mint_cache_stats(const struct mint_cache *mc, struct mint_stats *st);

#endif /* ENCLAVE_PROXYD_MINT_H */
