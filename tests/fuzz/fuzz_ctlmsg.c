#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxyd/ctlmsg.h"
#include "rules/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_check(int ok)
{
	if (!ok)
		abort();
}

/* Whatever was refused can be answered, and the answer reads back. */
static void
fuzz_refused(const struct ctl_request *r, const char *err)
{
	struct ctl_reply rep;
	char *line, rerr[256];

	fuzz_check(r->err_code != NULL && r->op == CTL_OP_INVALID &&
	    r->policy == NULL && r->allow == NULL);
	fuzz_check(ctlmsg_reply_err(r->req, r->err_code, err, &line) == 0);
	fuzz_check(strchr(line, '\n') == NULL);
	fuzz_check(ctlmsg_reply_decode(line, strlen(line), &rep, rerr,
	    sizeof(rerr)) == 0);
	fuzz_check(!rep.ok && rep.req == r->req &&
	    strcmp(rep.code, r->err_code) == 0);
	free(line);
}

/* A decoded request, re-encoded (as session_add when it is a session),
 * decodes to the same thing. */
static void
fuzz_reencode(const struct ctl_request *r)
{
	struct ctl_request copy = *r, again;
	char *line, err[512];
	size_t i;

	if (copy.op == CTL_OP_SESSION_UPDATE)
		copy.op = CTL_OP_SESSION_ADD;
	fuzz_check(ctlmsg_request_encode(&copy, &line) == 0);
	fuzz_check(strchr(line, '\n') == NULL && strlen(line) <= CTL_LINE_MAX);
	fuzz_check(ctlmsg_decode(line, strlen(line), &again, err,
	    sizeof(err)) == 0);
	free(line);
	fuzz_check(again.op == copy.op && again.req == r->req);
	fuzz_check(strcmp(again.id, r->id) == 0);
	fuzz_check(strcmp(again.tenant, r->tenant) == 0);
	fuzz_check(again.source.family == r->source.family &&
	    memcmp(again.source.a, r->source.a, 16) == 0);
	fuzz_check(again.nallow == r->nallow);
	for (i = 0; i < r->nallow; i++)
		fuzz_check(strcmp(again.allow[i], r->allow[i]) == 0);
	fuzz_check(again.limits.max_connections == r->limits.max_connections);
	fuzz_check(again.nbindings == r->nbindings);
	for (i = 0; i < r->nbindings; i++) {
		size_t k;

		fuzz_check(strcmp(again.bindings[i].name,
		    r->bindings[i].name) == 0 &&
		    again.bindings[i].inject == r->bindings[i].inject &&
		    strcmp(again.bindings[i].secret,
		    r->bindings[i].secret) == 0 &&
		    strcmp(again.bindings[i].user, r->bindings[i].user) == 0 &&
		    strcmp(again.bindings[i].header,
		    r->bindings[i].header) == 0 &&
		    again.bindings[i].allow_http == r->bindings[i].allow_http &&
		    again.bindings[i].nhosts == r->bindings[i].nhosts);
		for (k = 0; k < r->bindings[i].nhosts; k++)
			fuzz_check(strcmp(again.bindings[i].hosts[k],
			    r->bindings[i].hosts[k]) == 0);
	}
	if (r->policy != NULL)
		fuzz_check(policy_count(again.policy) == policy_count(r->policy) &&
		    policy_count(r->policy) == r->nallow);
	ctl_request_clear(&again);
}

static void
fuzz_event(const char *s, size_t size)
{
	struct ctl_event ev, again;
	char *line, err[512];
	int rc;

	rc = ctlmsg_event_decode(s, size, &ev, err, sizeof(err));
	if (rc != 0)
		return;
	fuzz_check(ctlmsg_event_encode(&ev, &line) == 0);
	fuzz_check(strchr(line, '\n') == NULL);
	fuzz_check(ctlmsg_event_decode(line, strlen(line), &again, err,
	    sizeof(err)) == 0);
	free(line);
	fuzz_check(again.type == ev.type && again.proto == ev.proto &&
	    again.port == ev.port && again.count == ev.count &&
	    again.ts_ms == ev.ts_ms && again.bytes_up == ev.bytes_up &&
	    again.bytes_down == ev.bytes_down);
	fuzz_check(strcmp(again.host, ev.host) == 0 &&
	    strcmp(again.session, ev.session) == 0 &&
	    strcmp(again.tenant, ev.tenant) == 0 &&
	    strcmp(again.reason, ev.reason) == 0 &&
	    strcmp(again.binding, ev.binding) == 0);
	fuzz_check(memcmp(&again.source, &ev.source, sizeof(ev.source)) == 0 &&
	    memcmp(&again.orig_dst, &ev.orig_dst, sizeof(ev.orig_dst)) == 0 &&
	    memcmp(&again.connected, &ev.connected, sizeof(ev.connected)) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct ctl_request r;
	struct ctl_reply rep;
	char err[512];

	err[0] = '\0';
	if (ctlmsg_decode(s, size, &r, err, sizeof(err)) == -1)
		fuzz_refused(&r, err);
	else
		fuzz_reencode(&r);
	ctl_request_clear(&r);
	fuzz_event(s, size);
	(void)ctlmsg_reply_decode(s, size, &rep, err, sizeof(err));
	return 0;
}
