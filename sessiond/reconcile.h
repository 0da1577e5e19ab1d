/* Start-up reconciliation of what a previous sessiond left (reconcile.c). */
#ifndef ENCLAVE_SESSIOND_RECONCILE_H
#define ENCLAVE_SESSIOND_RECONCILE_H

#include <stddef.h>

struct sessiond;

/* -1 only when the nft table cannot be made right (err says why). */
int reconcile_startup(struct sessiond *sd, char *err, size_t errlen);

#endif
