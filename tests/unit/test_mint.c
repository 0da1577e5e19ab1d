#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "proxyd/mint.h"

static char dir[64];
static char cert_path[128];
static char key_path[128];
static char err[1024];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_mint.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(cert_path, sizeof(cert_path), "%s/ca.pem", dir);
	snprintf(key_path, sizeof(key_path), "%s/ca.key", dir);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct mint_ca *
open_ok(void)
{
	struct mint_ca *ca;

	err[0] = '\0';
	ca = mint_ca_open(cert_path, key_path, (uid_t)-1, (gid_t)-1, err,
	    sizeof(err));
	if (ca == NULL)
		fail_msg("mint_ca_open: %s", err);
	return ca;
}

static void
open_err(const char *want_part)
{
	err[0] = '\0';
	assert_null(mint_ca_open(cert_path, key_path, (uid_t)-1, (gid_t)-1, err,
	    sizeof(err)));
	if (strstr(err, want_part) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want_part);
}

/* The chain a client builds: leaf → CA, for host, as a TLS server (host
 * NULL: just the signatures and dates). */
static int
verify(X509 *ca, X509 *leaf, const char *host)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509_VERIFY_PARAM *vp;
	int rc;

	assert_non_null(st);
	assert_non_null(ctx);
	assert_int_equal(X509_STORE_add_cert(st, ca), 1);
	assert_int_equal(X509_STORE_CTX_init(ctx, st, leaf, NULL), 1);
	vp = X509_STORE_CTX_get0_param(ctx);
	if (host != NULL) {
		X509_VERIFY_PARAM_set_purpose(vp, X509_PURPOSE_SSL_SERVER);
		assert_int_equal(X509_VERIFY_PARAM_set1_host(vp, host, 0), 1);
	}
	rc = X509_verify_cert(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	return rc;
}

static void
test_create_and_reload(void **state)
{
	struct mint_ca *ca, *again;
	BASIC_CONSTRAINTS *bc;
	ASN1_BIT_STRING *ku;
	struct stat st;
	char cn[256];

	(void)state;
	ca = open_ok();
	assert_int_equal(stat(key_path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(cert_path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);

	bc = X509_get_ext_d2i(mint_ca_cert(ca), NID_basic_constraints, NULL, NULL);
	assert_non_null(bc);
	assert_true(bc->ca);
	assert_non_null(bc->pathlen);
	assert_int_equal(ASN1_INTEGER_get(bc->pathlen), 0);
	BASIC_CONSTRAINTS_free(bc);
	ku = X509_get_ext_d2i(mint_ca_cert(ca), NID_key_usage, NULL, NULL);
	assert_non_null(ku);
	assert_true(ASN1_BIT_STRING_get_bit(ku, 5));	/* keyCertSign */
	assert_false(ASN1_BIT_STRING_get_bit(ku, 0));	/* not a server */
	ASN1_BIT_STRING_free(ku);
	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(
	    mint_ca_cert(ca)), NID_commonName, cn, sizeof(cn)) > 0);
	assert_memory_equal(cn, "Enclave interception CA ", 24);
	assert_int_equal(strlen(cn), 24 + 16);
	/* Self-signed and good for about ten years. */
	assert_int_equal(verify(mint_ca_cert(ca), mint_ca_cert(ca), NULL), 1);

	/* A restart loads the same CA rather than making a new one. */
	again = open_ok();
	assert_int_equal(X509_cmp(mint_ca_cert(ca), mint_ca_cert(again)), 0);
	mint_ca_free(again);
	mint_ca_free(ca);
}

static void
test_leaf_chains_to_ca(void **state)
{
	struct mint_ca *ca = open_ok(), *other;
	struct mint_cache *mc;
	GENERAL_NAMES *gens;
	const GENERAL_NAME *gn;
	X509 *leaf;
	char cn[256];

	(void)state;
	mc = mint_cache_new(ca, 0, err, sizeof(err));
	assert_non_null(mc);
	leaf = mint_leaf(mc, "api.test");
	assert_non_null(leaf);
	assert_int_equal(verify(mint_ca_cert(ca), leaf, "api.test"), 1);
	assert_int_equal(verify(mint_ca_cert(ca), leaf, "other.test"), 0);
	assert_int_equal(X509_check_private_key(leaf, mint_cache_key(mc)), 1);
	assert_int_equal(X509_check_ca(leaf), 0);

	gens = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
	assert_non_null(gens);
	assert_int_equal(sk_GENERAL_NAME_num(gens), 1);
	gn = sk_GENERAL_NAME_value(gens, 0);
	assert_int_equal(gn->type, GEN_DNS);
	assert_int_equal(ASN1_STRING_length(gn->d.dNSName), 8);
	assert_memory_equal(ASN1_STRING_get0_data(gn->d.dNSName), "api.test", 8);
	GENERAL_NAMES_free(gens);
	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(leaf),
	    NID_commonName, cn, sizeof(cn)) > 0);
	assert_string_equal(cn, "api.test");
	/* Short-lived: valid now, gone within eight days. */
	assert_true(X509_cmp_current_time(X509_get0_notBefore(leaf)) < 0);
	assert_true(X509_cmp_time(X509_get0_notAfter(leaf),
	    &(time_t){ time(NULL) + 8 * 24 * 3600 }) < 0);

	/* A long name gets no CN (ub 64) but its SAN still verifies. */
	leaf = mint_leaf(mc, "a-rather-long-label-that-goes-on-and-on.and-another-long-label"
	    ".example.test");
	assert_non_null(leaf);
	assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(leaf)), 0);
	assert_int_equal(verify(mint_ca_cert(ca), leaf,
	    "a-rather-long-label-that-goes-on-and-on.and-another-long-label"
	    ".example.test"), 1);
	mint_cache_free(mc);

	/* Another appliance's CA does not vouch for our leaves. */
	assert_int_equal(unlink(cert_path), 0);
	assert_int_equal(unlink(key_path), 0);
	other = open_ok();
	mc = mint_cache_new(other, 0, err, sizeof(err));
	assert_non_null(mc);
	leaf = mint_leaf(mc, "api.test");
	assert_int_equal(verify(mint_ca_cert(ca), leaf, "api.test"), 0);
	assert_int_equal(verify(mint_ca_cert(other), leaf, "api.test"), 1);
	mint_cache_free(mc);
	mint_ca_free(other);
	mint_ca_free(ca);
}

static void
test_cache(void **state)
{
	struct mint_ca *ca = open_ok();
	struct mint_cache *mc;
	struct mint_stats st;
	X509 *a, *b;

	(void)state;
	mc = mint_cache_new(ca, 2, err, sizeof(err));
	assert_non_null(mc);
	a = mint_leaf(mc, "a.test");
	assert_non_null(a);
	assert_ptr_equal(mint_leaf(mc, "a.test"), a);
	mint_cache_stats(mc, &st);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.misses, 1);
	assert_int_equal(st.size, 1);

	b = mint_leaf(mc, "b.test");
	assert_non_null(b);
	assert_ptr_equal(mint_leaf(mc, "a.test"), a);	/* a is now the newest */
	assert_non_null(mint_leaf(mc, "c.test"));	/* evicts b, not a */
	mint_cache_stats(mc, &st);
	assert_int_equal(st.evictions, 1);
	assert_int_equal(st.size, 2);
	assert_int_equal(st.misses, 3);
	assert_ptr_equal(mint_leaf(mc, "a.test"), a);
	mint_cache_stats(mc, &st);
	assert_int_equal(st.hits, 3);
	assert_non_null(mint_leaf(mc, "b.test"));	/* minted again */
	mint_cache_stats(mc, &st);
	assert_int_equal(st.misses, 4);
	assert_int_equal(st.evictions, 2);
	assert_int_equal(st.size, 2);

	/* Only canonical DNS names get a leaf. */
	assert_null(mint_leaf(mc, ""));
	assert_null(mint_leaf(mc, "198.18.1.10"));
	assert_null(mint_leaf(mc, "API.test"));
	assert_null(mint_leaf(mc, "api.test."));
	assert_null(mint_leaf(mc, "a,DNS:evil.test"));
	assert_null(mint_leaf(mc, "*.test"));
	mint_cache_stats(mc, &st);
	assert_int_equal(st.misses, 4);
	mint_cache_free(mc);
	mint_ca_free(ca);
}

static void
test_bad_files(void **state)
{
	struct mint_ca *ca;
	X509 *keep;
	FILE *f;

	(void)state;
	ca = open_ok();
	keep = X509_dup(mint_ca_cert(ca));
	mint_ca_free(ca);

	/* One file without the other. */
	assert_int_equal(unlink(key_path), 0);
	open_err("exists but");
	open_err(key_path);
	assert_int_equal(rename(cert_path, key_path), 0);
	open_err("exists but");
	assert_int_equal(unlink(key_path), 0);

	/* A key others can read is refused. */
	ca = open_ok();
	mint_ca_free(ca);
	assert_int_equal(chmod(key_path, 0640), 0);
	open_err("must be mode 0600");
	assert_int_equal(chmod(key_path, 0600), 0);

	/* A certificate from another CA does not match this key. */
	f = fopen(cert_path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_X509(f, keep), 1);
	fclose(f);
	open_err("does not match");

	/* Garbage in either file; the message never quotes the bytes. */
	f = fopen(key_path, "w");
	assert_non_null(f);
	fputs("not-a-key SECRETBYTES\n", f);
	fclose(f);
	open_err("not a PEM private key");
	assert_null(strstr(err, "SECRETBYTES"));
	assert_int_equal(unlink(key_path), 0);
	assert_int_equal(unlink(cert_path), 0);

	/* A directory that does not exist: nothing is created. */
	snprintf(cert_path, sizeof(cert_path), "%s/nope/ca.pem", dir);
	snprintf(key_path, sizeof(key_path), "%s/nope/ca.key", dir);
	open_err("cannot create");
	snprintf(cert_path, sizeof(cert_path), "%s/ca.pem", dir);
	snprintf(key_path, sizeof(key_path), "%s/ca.key", dir);

	/* A directory where the certificate should be. */
	assert_int_equal(mkdir(cert_path, 0700), 0);
	f = fopen(key_path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(chmod(key_path, 0600), 0);
	open_err("not a PEM private key");
	assert_int_equal(rmdir(cert_path), 0);
	assert_int_equal(unlink(key_path), 0);
	X509_free(keep);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_and_reload, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_leaf_chains_to_ca, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_files, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
