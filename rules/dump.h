#ifndef ENCLAVE_RULES_DUMP_H
#define ENCLAVE_RULES_DUMP_H

#include <stddef.h>

enum rules_dump_format {
	RULES_DUMP_TEXT = 0,	/* nft syntax, as `nft list table` prints it */
	RULES_DUMP_JSON,	/* nft's JSON schema, as `nft -j list table` */
};

/*
 * The live table of the current network namespace, rendered by nft's own
 * library so an auditor's diff against `nft list table inet enclave` is
 * exact. *out is malloc'd; -1 with err set if the table is missing or the
 * kernel refuses.
 */
int rules_dump(enum rules_dump_format fmt, char **out, char *err, size_t errlen);

#endif
