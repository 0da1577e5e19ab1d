/* enclave-sessiond's start, event loop and stop (daemon.c). */
#ifndef ENCLAVE_SESSIOND_DAEMON_H
#define ENCLAVE_SESSIOND_DAEMON_H

#include <stddef.h>

struct sessiond;
struct sdconfig;

/* Everything up to a listening API; cfg is borrowed. -1 with err. */
int sessiond_init(struct sessiond *sd, struct sdconfig *cfg, char *err,
    size_t errlen);
/* Until SIGTERM/SIGINT and the last session has ended. */
int sessiond_run(struct sessiond *sd);
/* The one teardown; safe after a failed init. */
void sessiond_fini(struct sessiond *sd);

#endif
