#include <nftables/libnftables.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "rules/dump.h"
#include "rules/table.h"

/* Copies nft's error text without its trailing newline. */
static void
dump_error(char *err, size_t errlen, const char *what, const char *nft_err)
{
	size_t n;

	if (nft_err == NULL || *nft_err == '\0')
		nft_err = "unknown error";
	err_set(err, errlen, "%s: %s", what, nft_err);
	n = strlen(err);
	while (n > 0 && err[n - 1] == '\n')
		err[--n] = '\0';
}

int
rules_dump(enum rules_dump_format fmt, char **out, char *err, size_t errlen)
{
	struct nft_ctx *ctx;
	const char *cmd = "list table inet " RULES_TABLE;
	const char *buf;
	int rc = -1;

	*out = NULL;
	if ((ctx = nft_ctx_new(NFT_CTX_DEFAULT)) == NULL) {
		err_set(err, errlen, "cannot create an nftables context");
		return -1;
	}
	if (nft_ctx_buffer_output(ctx) != 0 || nft_ctx_buffer_error(ctx) != 0) {
		err_set(err, errlen, "cannot buffer nftables output");
		goto out;
	}
	if (fmt == RULES_DUMP_JSON)
		nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON);
	if (nft_run_cmd_from_buffer(ctx, cmd) != 0) {
		dump_error(err, errlen, cmd, nft_ctx_get_error_buffer(ctx));
		goto out;
	}
	buf = nft_ctx_get_output_buffer(ctx);
	if ((*out = strdup(buf ? buf : "")) == NULL) {
		err_set(err, errlen, "out of memory");
		goto out;
	}
	rc = 0;
out:
	nft_ctx_free(ctx);
	return rc;
}
