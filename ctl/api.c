#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "ctl/api.h"

/* Shorter keys would mask ordinary words; real keys are far longer. */
#define APIC_MASK_MIN	4

int
apic_init(struct apic *c, const char *spec, const char *api_key,
    const char *hint, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	if (httpc_endpoint_parse(spec, &c->ep, err, errlen) == -1)
		return -1;
	c->ep.hint = hint;
	c->api_key = api_key != NULL && api_key[0] != '\0' ? api_key : NULL;
	c->timeout_ms = HTTPC_TIMEOUT_MS;
	return 0;
}

int
apic_path(char *buf, size_t len, const char *prefix, const char *seg,
    const char *suffix)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0, i;
	unsigned char ch;

	if (seg[0] == '\0' || strcmp(seg, ".") == 0 || strcmp(seg, "..") == 0)
		return -1;
	if (strlen(prefix) >= len)
		return -1;
	o = strlen(prefix);
	memcpy(buf, prefix, o);
	for (i = 0; seg[i] != '\0'; i++) {
		ch = (unsigned char)seg[i];
		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || strchr("-._~", ch) != NULL) {
			if (o + 1 >= len)
				return -1;
			buf[o++] = (char)ch;
		} else {
			if (o + 3 >= len)
				return -1;
			buf[o++] = '%';
			buf[o++] = hex[ch >> 4];
			buf[o++] = hex[ch & 15];
		}
	}
	if (o + strlen(suffix) >= len)
		return -1;
	strcpy(buf + o, suffix);
	return 0;
}

void
apic_sanitize(char *s)
{
	unsigned char *u = (unsigned char *)s;

	for (; *u != '\0'; u++) {
		if (*u < 0x20 || *u == 0x7f)
			*u = '?';
		/* U+0080..U+009F: C1 controls, which some terminals obey. */
		else if (*u == 0xc2 && u[1] >= 0x80 && u[1] <= 0x9f) {
			u[0] = '?';
			u[1] = '?';
			u++;
		}
	}
}

/*
 * A copy of s with every occurrence of key replaced by "[redacted]"; s
 * itself when there is nothing to mask (check before free()ing), NULL on
 * ENOMEM. Done on whole strings, before anything truncates them, so no
 * prefix of a key can survive a cut.
 */
static char *
mask_key(const char *s, const char *key)
{
	static const char mask[] = "[redacted]";
	size_t klen, n = 0, o = 0;
	const char *p;
	char *out;

	if (key == NULL || (klen = strlen(key)) < APIC_MASK_MIN ||
	    strstr(s, key) == NULL)
		return (char *)s;
	for (p = s; (p = strstr(p, key)) != NULL; p += klen)
		n++;
	if ((out = malloc(strlen(s) + n * sizeof(mask) + 1)) == NULL)
		return NULL;
	while (*s != '\0') {
		if (strncmp(s, key, klen) == 0) {
			memcpy(out + o, mask, sizeof(mask) - 1);
			o += sizeof(mask) - 1;
			s += klen;
		} else {
			out[o++] = *s++;
		}
	}
	out[o] = '\0';
	return out;
}

void
apic_error_format(const struct httpc_response *resp, const char *api_key,
    char *err, size_t errlen)
{
	const char *code = NULL, *msg = NULL;
	char *mcode = NULL, *mmsg = NULL;
	json_t *root = NULL, *e;

	if (errlen == 0)
		return;
	if (resp->body != NULL && resp->body_len > 0 &&
	    (root = json_loadb(resp->body, resp->body_len, 0, NULL)) != NULL &&
	    json_is_object(e = json_object_get(root, "error"))) {
		code = json_string_value(json_object_get(e, "code"));
		msg = json_string_value(json_object_get(e, "message"));
	}
	if (code == NULL || code[0] == '\0') {
		code = "http_error";
		msg = resp->reason[0] != '\0' ? resp->reason : "unexpected response";
	} else if (msg == NULL) {
		msg = "(no message)";
	}
	mcode = mask_key(code, api_key);
	mmsg = mask_key(msg, api_key);
	if (mcode == NULL || mmsg == NULL)
		snprintf(err, errlen, "%d (error text withheld: out of memory)",
		    resp->status);
	else
		snprintf(err, errlen, "%d %s: %s", resp->status, mcode, mmsg);
	if (mcode != code)
		free(mcode);
	if (mmsg != msg)
		free(mmsg);
	json_decref(root);
	apic_sanitize(err);
}

int
apic_call_raw(struct apic *c, const char *method, const char *path,
    int timeout_ms, struct httpc_response *resp, char *err, size_t errlen)
{
	struct httpc_request req = {
		.method = method,
		.path = path,
		.bearer = c->api_key,
		.timeout_ms = timeout_ms > 0 ? timeout_ms : c->timeout_ms,
		.cancel = c->cancel,
	};

	if (httpc_exchange(&c->ep, &req, resp, err, errlen) == -1)
		return APIC_ETRANSPORT;
	if (resp->status < 200 || resp->status > 299) {
		apic_error_format(resp, c->api_key, err, errlen);
		httpc_response_clear(resp);
		return APIC_EREPLY;
	}
	return APIC_OK;
}

int
apic_call(struct apic *c, const char *method, const char *path,
    const json_t *body, int timeout_ms, int *status, json_t **reply,
    char *err, size_t errlen)
{
	struct httpc_response resp;
	struct httpc_request req = {
		.method = method,
		.path = path,
		.bearer = c->api_key,
		.timeout_ms = timeout_ms > 0 ? timeout_ms : c->timeout_ms,
		.cancel = c->cancel,
	};
	json_error_t jerr;
	char *text = NULL;
	int rc = APIC_ETRANSPORT;

	*reply = NULL;
	if (status != NULL)
		*status = 0;
	if (body != NULL) {
		if ((text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
			return err_set(err, errlen, "cannot encode the request as JSON");
		req.body = text;
		req.body_len = strlen(text);
	}
	if (httpc_exchange(&c->ep, &req, &resp, err, errlen) == -1)
		goto out;
	if (status != NULL)
		*status = resp.status;
	if (resp.status < 200 || resp.status > 299) {
		apic_error_format(&resp, c->api_key, err, errlen);
		rc = APIC_EREPLY;
		goto out;
	}
	if (resp.body_len > 0 &&
	    (*reply = json_loadb(resp.body, resp.body_len, 0, &jerr)) == NULL) {
		err_set(err, errlen, "bad response from %s: %d reply is not JSON "
		    "(%s)", c->ep.display, resp.status, jerr.text);
		apic_sanitize(err);
		goto out;
	}
	rc = APIC_OK;
out:
	httpc_response_clear(&resp);
	free(text);
	return rc;
}
