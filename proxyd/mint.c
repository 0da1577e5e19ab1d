#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "common/hash.h"
#include "common/hostname.h"
#include "proxyd/mint.h"

#define MINT_BUCKETS		512
/* A cached leaf older than this is minted again, so one in use never has
 * less than six days left. */
#define MINT_REFRESH_S		(24 * 3600)
#define MINT_CN_MAX		64	/* ub-common-name (RFC 5280) */

struct mint_ca {
	X509		*cert;
	EVP_PKEY	*key;
};

struct mint_entry {
	TAILQ_ENTRY(mint_entry) lru;		/* most recent first */
	struct mint_entry *next;		/* hash chain */
	size_t		 bucket;
	time_t		 minted;
	X509		*leaf;
	char		 host[HOSTNAME_MAX + 1];
};

struct mint_cache {
	const struct mint_ca *ca;
	EVP_PKEY	*key;
	size_t		 max;
	size_t		 n;
	TAILQ_HEAD(mint_lru, mint_entry) lru;
	struct mint_entry *buckets[MINT_BUCKETS];
	uint64_t	 hits;
	uint64_t	 misses;
	uint64_t	 evictions;
};

/* The first OpenSSL error, for messages; drains the queue. */
static const char *
mint_ssl_error(void)
{
	unsigned long e = ERR_get_error();
	const char *r;

	ERR_clear_error();
	if (e == 0)
		return "unknown error";
	r = ERR_reason_error_string(e);
	return r != NULL ? r : "unknown error";
}

static EVP_PKEY *
mint_new_key(void)
{
	return EVP_EC_gen("P-256");
}

/* 127 random bits: positive, unique enough that no two leaves share one. */
static int
mint_set_serial(X509 *x)
{
	unsigned char raw[16];
	BIGNUM *bn;
	int rc = -1;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -1;
	raw[0] &= 0x7f;
	raw[0] |= 0x40;		/* never a short or zero serial */
	if ((bn = BN_bin2bn(raw, sizeof(raw), NULL)) == NULL)
		return -1;
	if (BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL)
		rc = 0;
	BN_free(bn);
	return rc;
}

static int
mint_add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int rc;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return -1;
	rc = X509_add_ext(x, ext, -1) == 1 ? 0 : -1;
	X509_EXTENSION_free(ext);
	return rc;
}

/* Built by hand rather than from a config string: no name can inject
 * another entry through a comma. */
static int
mint_add_san(X509 *x, const char *host)
{
	GENERAL_NAMES *gens;
	GENERAL_NAME *gn;
	ASN1_IA5STRING *ia5;
	int rc = -1;

	if ((gens = sk_GENERAL_NAME_new_null()) == NULL)
		return -1;
	if ((gn = GENERAL_NAME_new()) == NULL)
		goto out;
	if ((ia5 = ASN1_IA5STRING_new()) == NULL ||
	    ASN1_STRING_set(ia5, host, (int)strlen(host)) != 1) {
		ASN1_IA5STRING_free(ia5);
		GENERAL_NAME_free(gn);
		goto out;
	}
	GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
	if (sk_GENERAL_NAME_push(gens, gn) == 0) {
		GENERAL_NAME_free(gn);
		goto out;
	}
	if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0,
	    X509V3_ADD_DEFAULT) == 1)
		rc = 0;
out:
	GENERAL_NAMES_free(gens);
	return rc;
}

static X509 *
mint_ca_make(EVP_PKEY *key)
{
	unsigned char raw[8];
	char cn[64];
	X509_NAME *name;
	X509 *x;

	if (RAND_bytes(raw, sizeof(raw)) != 1 || (x = X509_new()) == NULL)
		return NULL;
	/* A random suffix: two appliances' CAs are never confused in a
	 * trust store or an auditor's report. */
	snprintf(cn, sizeof(cn), "Enclave interception CA "
	    "%02x%02x%02x%02x%02x%02x%02x%02x", raw[0], raw[1], raw[2], raw[3],
	    raw[4], raw[5], raw[6], raw[7]);
	if (X509_set_version(x, X509_VERSION_3) != 1 || mint_set_serial(x) == -1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -MINT_LEAF_BACKDATE_S) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), MINT_CA_DAYS, 0, NULL) == NULL ||
	    (name = X509_get_subject_name(x)) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"Enclave", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 ||
	    X509_set_pubkey(x, key) != 1 ||
	    mint_add_ext(x, x, NID_basic_constraints,
	    "critical,CA:TRUE,pathlen:0") == -1 ||
	    mint_add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") == -1 ||
	    mint_add_ext(x, x, NID_subject_key_identifier, "hash") == -1 ||
	    mint_add_ext(x, x, NID_authority_key_identifier, "keyid:always") == -1 ||
	    X509_sign(x, key, EVP_sha256()) == 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/*
 * Writes via a temporary name and rename(), so a crash never leaves a
 * half-written file that a restart would take for the CA.
 */
static int
mint_write(const char *path, mode_t mode, uid_t uid, gid_t gid, X509 *cert,
    EVP_PKEY *key, char *err, size_t errlen)
{
	char tmp[4096];
	FILE *f = NULL;
	int fd = -1, ok;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd == -1) {
		snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
		return -1;
	}
	/* open() obeys the umask; the modes are the contract, not a hint. */
	if (fchmod(fd, mode) == -1 ||
	    (uid != (uid_t)-1 && fchown(fd, uid, gid) == -1)) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto fail;
	}
	if ((f = fdopen(fd, "w")) == NULL) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	ok = key != NULL ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL,
	    NULL) : PEM_write_X509(f, cert);
	if (ok != 1 || fflush(f) != 0 || fsync(fileno(f)) == -1) {
		snprintf(err, errlen, "cannot write %s", tmp);
		goto fail;
	}
	if (fclose(f) != 0) {
		f = NULL;
		snprintf(err, errlen, "cannot write %s", tmp);
		goto fail;
	}
	f = NULL;
	if (rename(tmp, path) == -1) {
		snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, path,
		    strerror(errno));
		goto fail;
	}
	return 0;
fail:
	if (f != NULL)
		fclose(f);
	if (fd != -1)
		close(fd);
	unlink(tmp);
	ERR_clear_error();
	return -1;
}

static int
mint_ca_create(struct mint_ca *ca, const char *cert_path, const char *key_path,
    uid_t uid, gid_t gid, char *err, size_t errlen)
{
	if ((ca->key = mint_new_key()) == NULL ||
	    (ca->cert = mint_ca_make(ca->key)) == NULL) {
		snprintf(err, errlen, "creating the interception CA: %s",
		    mint_ssl_error());
		return -1;
	}
	if (mint_write(key_path, 0600, uid, gid, NULL, ca->key, err,
	    errlen) == -1)
		return -1;
	if (mint_write(cert_path, 0644, (uid_t)-1, (gid_t)-1, ca->cert, NULL,
	    err, errlen) == -1) {
		/* Without its certificate the key is useless and would block
		 * the next start: take it back. */
		unlink(key_path);
		return -1;
	}
	return 0;
}

static FILE *
mint_open_read(const char *path, struct stat *st, char *err, size_t errlen)
{
	FILE *f;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, st) == -1 || !S_ISREG(st->st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return NULL;
	}
	if ((f = fdopen(fd, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
	}
	return f;
}

static int
mint_ca_load(struct mint_ca *ca, const char *cert_path, const char *key_path,
    char *err, size_t errlen)
{
	struct stat st;
	FILE *f;

	if ((f = mint_open_read(key_path, &st, err, errlen)) == NULL)
		return -1;
	if ((st.st_mode & 077) != 0) {
		snprintf(err, errlen, "%s: readable by group or others; it must be "
		    "mode 0600", key_path);
		fclose(f);
		return -1;
	}
	ca->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (ca->key == NULL) {
		/* The reason only: the key file's bytes never reach a log. */
		snprintf(err, errlen, "%s: not a PEM private key (%s)", key_path,
		    mint_ssl_error());
		return -1;
	}
	if ((f = mint_open_read(cert_path, &st, err, errlen)) == NULL)
		return -1;
	ca->cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (ca->cert == NULL) {
		snprintf(err, errlen, "%s: not a PEM certificate (%s)", cert_path,
		    mint_ssl_error());
		return -1;
	}
	if (X509_check_ca(ca->cert) < 1) {
		snprintf(err, errlen, "%s: not a CA certificate", cert_path);
		return -1;
	}
	if (X509_check_private_key(ca->cert, ca->key) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "%s does not match %s", key_path, cert_path);
		return -1;
	}
	if (X509_cmp_current_time(X509_get0_notAfter(ca->cert)) <= 0) {
		snprintf(err, errlen, "%s: expired", cert_path);
		return -1;
	}
	return 0;
}

struct mint_ca *
mint_ca_open(const char *cert_path, const char *key_path, uid_t uid, gid_t gid,
    char *err, size_t errlen)
{
	struct mint_ca *ca;
	struct stat st;
	int have_cert, have_key, rc;

	have_cert = lstat(cert_path, &st) == 0;
	have_key = lstat(key_path, &st) == 0;
	if (have_cert != have_key) {
		snprintf(err, errlen, "%s exists but %s does not: restore it, or "
		    "remove both to create a new CA", have_cert ? cert_path :
		    key_path, have_cert ? key_path : cert_path);
		return NULL;
	}
	if ((ca = calloc(1, sizeof(*ca))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (have_cert)
		rc = mint_ca_load(ca, cert_path, key_path, err, errlen);
	else
		rc = mint_ca_create(ca, cert_path, key_path, uid, gid, err,
		    errlen);
	if (rc == -1) {
		mint_ca_free(ca);
		return NULL;
	}
	return ca;
}

void
mint_ca_free(struct mint_ca *ca)
{
	if (ca == NULL)
		return;
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
	free(ca);
}

X509 *
mint_ca_cert(const struct mint_ca *ca)
{
	return ca->cert;
}

static X509 *
mint_make_leaf(const struct mint_cache *mc, const char *host)
{
	const struct mint_ca *ca = mc->ca;
	X509_NAME *name;
	X509 *x;

	if ((x = X509_new()) == NULL)
		return NULL;
	if (X509_set_version(x, X509_VERSION_3) != 1 || mint_set_serial(x) == -1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -MINT_LEAF_BACKDATE_S) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), MINT_LEAF_LIFETIME_S) == NULL)
		goto fail;
	/* A leaf outliving its CA would fail validation anyway; say so. */
	if (ASN1_TIME_compare(X509_get0_notAfter(x),
	    X509_get0_notAfter(ca->cert)) > 0 &&
	    X509_set1_notAfter(x, X509_get0_notAfter(ca->cert)) != 1)
		goto fail;
	name = X509_get_subject_name(x);
	if (strlen(host) <= MINT_CN_MAX &&
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)host, -1, -1, 0) != 1)
		goto fail;
	if (X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) != 1 ||
	    X509_set_pubkey(x, mc->key) != 1 ||
	    mint_add_ext(x, ca->cert, NID_basic_constraints, "critical,CA:FALSE") == -1 ||
	    mint_add_ext(x, ca->cert, NID_key_usage, "critical,digitalSignature") == -1 ||
	    mint_add_ext(x, ca->cert, NID_ext_key_usage, "serverAuth") == -1 ||
	    mint_add_ext(x, ca->cert, NID_subject_key_identifier, "hash") == -1 ||
	    mint_add_ext(x, ca->cert, NID_authority_key_identifier, "keyid") == -1 ||
	    mint_add_san(x, host) == -1 ||
	    X509_sign(x, ca->key, EVP_sha256()) == 0)
		goto fail;
	return x;
fail:
	ERR_clear_error();
	X509_free(x);
	return NULL;
}

struct mint_cache *
mint_cache_new(const struct mint_ca *ca, size_t max, char *err, size_t errlen)
{
	struct mint_cache *mc;

	if ((mc = calloc(1, sizeof(*mc))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	mc->ca = ca;
	mc->max = max ? max : MINT_CACHE_DEFAULT;
	TAILQ_INIT(&mc->lru);
	if ((mc->key = mint_new_key()) == NULL) {
		snprintf(err, errlen, "leaf key: %s", mint_ssl_error());
		free(mc);
		return NULL;
	}
	return mc;
}

static void
mint_entry_remove(struct mint_cache *mc, struct mint_entry *e)
{
	struct mint_entry **pp;

	for (pp = &mc->buckets[e->bucket]; *pp != e; pp = &(*pp)->next)
		;
	*pp = e->next;
	TAILQ_REMOVE(&mc->lru, e, lru);
	mc->n--;
	X509_free(e->leaf);
	free(e);
}

void
mint_cache_free(struct mint_cache *mc)
{
	struct mint_entry *e;

	if (mc == NULL)
		return;
	while ((e = TAILQ_FIRST(&mc->lru)) != NULL)
		mint_entry_remove(mc, e);
	EVP_PKEY_free(mc->key);
	free(mc);
}

X509 *
mint_leaf(struct mint_cache *mc, const char *host)
{
	char canon[HOSTNAME_MAX + 1];
	struct mint_entry *e;
	time_t now = time(NULL);
	size_t b;
	X509 *x;

	if (hostname_canon(host, strlen(host), canon, NULL) != HOSTNAME_OK ||
	    strcmp(canon, host) != 0)
		return NULL;
	b = hash_str(HASH_INIT, host) % MINT_BUCKETS;
	for (e = mc->buckets[b]; e != NULL; e = e->next) {
		if (strcmp(e->host, host) != 0)
			continue;
		if (now - e->minted < MINT_REFRESH_S && now >= e->minted) {
			TAILQ_REMOVE(&mc->lru, e, lru);
			TAILQ_INSERT_HEAD(&mc->lru, e, lru);
			mc->hits++;
			return e->leaf;
		}
		mint_entry_remove(mc, e);
		break;
	}
	if ((x = mint_make_leaf(mc, host)) == NULL)
		return NULL;
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		X509_free(x);
		return NULL;
	}
	mc->misses++;
	while (mc->n >= mc->max) {
		mint_entry_remove(mc, TAILQ_LAST(&mc->lru, mint_lru));
		mc->evictions++;
	}
	snprintf(e->host, sizeof(e->host), "%s", host);
	e->leaf = x;
	e->minted = now;
	e->bucket = b;
	e->next = mc->buckets[b];
	mc->buckets[b] = e;
	TAILQ_INSERT_HEAD(&mc->lru, e, lru);
	mc->n++;
	return x;
}

EVP_PKEY *
mint_cache_key(const struct mint_cache *mc)
{
	return mc->key;
}

void
mint_cache_stats(const struct mint_cache *mc, struct mint_stats *st)
{
	st->hits = mc->hits;
	st->misses = mc->misses;
	st->evictions = mc->evictions;
	st->size = mc->n;
}
