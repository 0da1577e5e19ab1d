/*
 * The session API (DESIGN.md, "Session API") on sessiond's unix socket and
 * optional TCP listener. Routing, authentication (peer uid or bearer key),
 * tenancy (another tenant's session is a 404) and JSON errors live here;
 * sessions themselves are session.c's.
 */
#ifndef ENCLAVE_SESSIOND_API_H
#define ENCLAVE_SESSIOND_API_H

#include <stddef.h>

struct sessiond;
struct session;

/* Bind the unix socket (a stale one is replaced, a live one refused) and
 * the TCP listener if configured. */
int api_start(struct sessiond *sd, char *err, size_t errlen);
/* Close the listeners and remove the socket. */
void api_stop(struct sessiond *sd);
/* Answer the requests waiting for s (called when it ends). 1 when a
 * DELETE was among them and s has been removed (freed), else 0. */
int api_session_ended(struct session *s);

#endif
