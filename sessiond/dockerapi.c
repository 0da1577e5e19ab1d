/*
 * The Docker Engine API pieces of the docker backend: pure builders and
 * parsers first, then one function per exchange with the engine.
 */
#include <config.h>

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/httpc.h"
#include "sessiond/dockerapi.h"
#include "sessiond/oci_bundle.h"

#define TAR_BLOCK	512
/* Largest member: the 11 octal digits of the size field. */
#define TAR_SIZE_MAX	077777777777ULL
/* An error message quoted from the engine, at most. */
#define API_MSG_MAX	200
#define API_TIMEOUT_MS	30000

/* ------------------------------------------------------------------ */
/* ustar                                                                */

void
dockerapi_tar_init(struct dockerapi_tar *t)
{
	memset(t, 0, sizeof(*t));
}

void
dockerapi_tar_free(struct dockerapi_tar *t)
{
	free(t->buf);
	memset(t, 0, sizeof(*t));
}

static int
tar_fail(struct dockerapi_tar *t, int errnum)
{
	t->failed = 1;
	errno = errnum;
	return -1;
}

/* Room for n more bytes, zeroed. */
static char *
tar_grow(struct dockerapi_tar *t, size_t n)
{
	size_t cap = t->cap ? t->cap : 16 * TAR_BLOCK;
	char *nb;

	if (n > SIZE_MAX / 2 - t->len)
		return NULL;
	while (cap < t->len + n)
		cap *= 2;
	if (cap != t->cap) {
		if ((nb = realloc(t->buf, cap)) == NULL)
			return NULL;
		t->buf = nb;
		t->cap = cap;
	}
	memset(t->buf + t->len, 0, n);
	t->len += n;
	return t->buf + t->len - n;
}

/* Relative, no empty or dot-dot component, printable ASCII, short. */
static int
tar_name_ok(const char *name, size_t max)
{
	const char *p = name, *c;
	size_t n;

	if (name == NULL || (n = strlen(name)) == 0 || n > max)
		return 0;
	for (; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e ||
		    *p == '\\')
			return 0;
	for (p = name;; p = c + 1) {
		c = strchr(p, '/');
		n = c != NULL ? (size_t)(c - p) : strlen(p);
		if (n == 0 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		if (c == NULL)
			return 1;
	}
}

static void
tar_octal(char *field, size_t width, uint64_t v)
{
	/* width - 1 digits and a NUL, as GNU tar writes them. */
	snprintf(field, width, "%0*llo", (int)(width - 1), (unsigned long long)v);
}

static int
tar_member(struct dockerapi_tar *t, const char *name, char type, mode_t mode,
    const char *link, const void *data, size_t len)
{
	size_t nlen, pad;
	unsigned int sum = 0;
	char *h, *body;
	int i;

	if (t->failed)
		return tar_fail(t, EINVAL);
	/* A directory's name ends in '/', which needs one more byte. */
	if (!tar_name_ok(name, DOCKERAPI_TAR_NAME_MAX - (type == '5')) ||
	    (link != NULL && (strlen(link) == 0 ||
	    strlen(link) > DOCKERAPI_TAR_NAME_MAX)) ||
	    (uint64_t)len > TAR_SIZE_MAX || (mode & ~07777) != 0)
		return tar_fail(t, EINVAL);
	pad = (TAR_BLOCK - len % TAR_BLOCK) % TAR_BLOCK;
	if (len > SIZE_MAX - TAR_BLOCK - pad ||
	    (h = tar_grow(t, TAR_BLOCK + len + pad)) == NULL)
		return tar_fail(t, ENOMEM);
	nlen = strlen(name);
	memcpy(h, name, nlen);
	if (type == '5')
		h[nlen] = '/';
	tar_octal(h + 100, 8, mode);
	tar_octal(h + 108, 8, 0);
	tar_octal(h + 116, 8, 0);
	tar_octal(h + 124, 12, len);
	tar_octal(h + 136, 12, 0);
	h[156] = type;
	if (link != NULL)
		memcpy(h + 157, link, strlen(link));
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memcpy(h + 265, "root", 4);
	memcpy(h + 297, "root", 4);
	tar_octal(h + 329, 8, 0);
	tar_octal(h + 337, 8, 0);
	/* The checksum counts its own field as eight spaces. */
	memset(h + 148, ' ', 8);
	for (i = 0; i < TAR_BLOCK; i++)
		sum += (unsigned char)h[i];
	snprintf(h + 148, 8, "%06o", sum);
	h[155] = ' ';
	body = h + TAR_BLOCK;
	if (len > 0)
		memcpy(body, data, len);
	return 0;
}

int
dockerapi_tar_dir(struct dockerapi_tar *t, const char *name, mode_t mode)
{
	return tar_member(t, name, '5', mode, NULL, NULL, 0);
}

int
dockerapi_tar_file(struct dockerapi_tar *t, const char *name, mode_t mode,
    const void *data, size_t len)
{
	if (data == NULL && len > 0)
		return tar_fail(t, EINVAL);
	return tar_member(t, name, '0', mode, NULL, data, len);
}

int
dockerapi_tar_symlink(struct dockerapi_tar *t, const char *name,
    const char *target)
{
	if (target == NULL)
		return tar_fail(t, EINVAL);
	return tar_member(t, name, '2', 0777, target, NULL, 0);
}

int
dockerapi_tar_finish(struct dockerapi_tar *t)
{
	if (t->failed)
		return tar_fail(t, EINVAL);
	if (tar_grow(t, 2 * TAR_BLOCK) == NULL)
		return tar_fail(t, ENOMEM);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The multiplexed stream                                               */

int
dockerapi_logs_demux(const char *buf, size_t len, size_t *used,
    dockerapi_frame_cb cb, void *arg, char *err, size_t errlen)
{
	const unsigned char *h;
	size_t off = 0, size;

	*used = 0;
	while (len - off >= DOCKERAPI_FRAME_HDR) {
		h = (const unsigned char *)buf + off;
		if (h[0] > DOCKERAPI_STDERR || h[1] != 0 || h[2] != 0 ||
		    h[3] != 0)
			return err_set(err, errlen, "not a multiplexed stream at "
			    "byte %zu (header %02x %02x %02x %02x)", off, h[0],
			    h[1], h[2], h[3]);
		size = (size_t)h[4] << 24 | (size_t)h[5] << 16 |
		    (size_t)h[6] << 8 | (size_t)h[7];
		if (size > len - off - DOCKERAPI_FRAME_HDR)
			return 1;
		if (cb((enum dockerapi_stream)h[0], buf + off +
		    DOCKERAPI_FRAME_HDR, size, arg) != 0)
			return err_set(err, errlen, "stopped at byte %zu", off);
		off += DOCKERAPI_FRAME_HDR + size;
		*used = off;
	}
	return off == len ? 0 : 1;
}

/* ------------------------------------------------------------------ */
/* The seccomp profile                                                  */

char *
dockerapi_seccomp_profile(void)
{
	json_t *p;
	char *s = NULL;

	/* No "architectures": the native one only, as libseccomp's default
	 * in the namespace sandbox; other ABIs fail the arch check. */
	if ((p = oci_bundle_seccomp(0)) != NULL)
		s = json_dumps(p, JSON_COMPACT);
	json_decref(p);
	if (s == NULL)
		errno = ENOMEM;
	return s;
}

/* ------------------------------------------------------------------ */
/* The create body                                                      */

static json_t *
strv_json(const char *const *v)
{
	json_t *a = json_array();

	for (; a != NULL && *v != NULL; v++)
		if (json_array_append_new(a, json_string(*v)) == -1) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *
host_config(const struct dockerapi_create *c)
{
	json_t *h, *mounts, *tmpfs, *ulimits, *secopt, *sysctls, *m;
	size_t i;
	int bad = 0;

	h = json_pack("{s:s, s:b, s:b, s:[s], s:I, s:I, s:I, s:i, s:s, s:s, "
	    "s:{s:s, s:{s:s, s:s}}, s:{s:s}, s:b, s:b}",
	    "NetworkMode", "none",
	    "ReadonlyRootfs", 1,
	    "Privileged", 0,
	    "CapDrop", "ALL",
	    "Memory", (json_int_t)c->memory_bytes,
	    "MemorySwap", (json_int_t)c->memory_bytes,
	    "PidsLimit", (json_int_t)c->pids,
	    "OomScoreAdj", c->oom_score_adj,
	    "CgroupnsMode", "private",
	    "IpcMode", "private",
	    "LogConfig", "Type", "json-file", "Config",
		"max-size", c->log_max_size ? c->log_max_size : "16m",
		"max-file", "1",
	    "RestartPolicy", "Name", "no",
	    "AutoRemove", 0,
	    "Init", 0);
	if (h == NULL)
		return NULL;
	mounts = json_array();
	tmpfs = json_object();
	ulimits = json_array();
	secopt = json_array();
	sysctls = json_object();
	bad |= json_object_set_new(h, "Mounts", mounts);
	bad |= json_object_set_new(h, "Tmpfs", tmpfs);
	bad |= json_object_set_new(h, "Ulimits", ulimits);
	bad |= json_object_set_new(h, "SecurityOpt", secopt);
	bad |= json_object_set_new(h, "Sysctls", sysctls);
	if (bad)
		goto fail;
	for (i = 0; i < c->nmounts && i < DOCKERAPI_MOUNTS_MAX; i++) {
		m = json_pack("{s:s, s:s, s:s, s:b, s:{s:s}}",
		    "Type", "bind",
		    "Source", c->mounts[i].source,
		    "Target", c->mounts[i].target,
		    "ReadOnly", c->mounts[i].readonly,
		    "BindOptions", "Propagation", "rprivate");
		bad |= json_array_append_new(mounts, m);
	}
	if (c->workspace_opts != NULL)
		bad |= json_object_set_new(tmpfs, "/workspace",
		    json_string(c->workspace_opts));
	if (c->tmp_opts != NULL)
		bad |= json_object_set_new(tmpfs, "/tmp",
		    json_string(c->tmp_opts));
	for (i = 0; i < c->nulimits && i < DOCKERAPI_ULIMITS_MAX; i++)
		bad |= json_array_append_new(ulimits, json_pack("{s:s, s:I, s:I}",
		    "Name", c->ulimits[i].name,
		    "Soft", (json_int_t)c->ulimits[i].soft,
		    "Hard", (json_int_t)c->ulimits[i].hard));
	bad |= json_array_append_new(secopt, json_string("no-new-privileges"));
	if (c->seccomp != NULL) {
		char *s;

		if (asprintf(&s, "seccomp=%s", c->seccomp) == -1)
			goto fail;
		bad |= json_array_append_new(secopt, json_string(s));
		free(s);
	}
	if (c->ipv6_off) {
		bad |= json_object_set_new(sysctls,
		    "net.ipv6.conf.all.disable_ipv6", json_string("1"));
		bad |= json_object_set_new(sysctls,
		    "net.ipv6.conf.default.disable_ipv6", json_string("1"));
	}
	if (c->nano_cpus > 0)
		bad |= json_object_set_new(h, "NanoCpus",
		    json_integer((json_int_t)c->nano_cpus));
	if (c->cgroup_parent != NULL)
		bad |= json_object_set_new(h, "CgroupParent",
		    json_string(c->cgroup_parent));
	if (bad)
		goto fail;
	return h;
fail:
	json_decref(h);
	return NULL;
}

char *
dockerapi_create_body(const struct dockerapi_create *c)
{
	json_t *b = NULL, *cmd = NULL, *env = NULL, *hc = NULL;
	char user[64], *s = NULL;

	if (c->image == NULL || c->cmd == NULL || c->cmd[0] == NULL ||
	    c->env == NULL || c->nmounts > DOCKERAPI_MOUNTS_MAX ||
	    c->nulimits > DOCKERAPI_ULIMITS_MAX) {
		errno = EINVAL;
		return NULL;
	}
	snprintf(user, sizeof(user), "%u:%u", (unsigned int)c->uid,
	    (unsigned int)c->gid);
	if ((cmd = strv_json(c->cmd)) == NULL ||
	    (env = strv_json((const char *const *)c->env)) == NULL ||
	    (hc = host_config(c)) == NULL)
		goto out;
	b = json_pack("{s:s, s:O, s:O, s:s, s:s, s:s, s:{s:s}, s:b, s:b, "
	    "s:b, s:b, s:b, s:O}",
	    "Image", c->image,
	    "Cmd", cmd,
	    "Env", env,
	    "User", user,
	    "WorkingDir", c->workdir ? c->workdir : "/",
	    "Hostname", c->hostname ? c->hostname : "sandbox",
	    "Labels", "enclave.prefix", c->label_prefix ? c->label_prefix : "",
	    "AttachStdin", 0,
	    "AttachStdout", 0,
	    "AttachStderr", 0,
	    "OpenStdin", 0,
	    "Tty", 0,
	    "HostConfig", hc);
	if (b != NULL)
		s = json_dumps(b, JSON_COMPACT);
out:
	json_decref(b);
	json_decref(hc);
	json_decref(env);
	json_decref(cmd);
	if (s == NULL)
		errno = ENOMEM;
	return s;
}

/* ------------------------------------------------------------------ */
/* Exchanges                                                            */

int
dockerapi_init(struct dockerapi *d, const char *socket_path, char *err,
    size_t errlen)
{
	if (socket_path == NULL || socket_path[0] != '/')
		return err_set(err, errlen, "docker socket must be an absolute "
		    "path");
	return httpc_endpoint_parse(socket_path, &d->ep, err, errlen);
}

/* A container id or name, or an image reference, as a path segment. */
static int
path_safe(const char *s)
{
	if (s == NULL || *s == '\0' || strlen(s) > 255)
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr("_-.:", *s) != NULL))
			return 0;
	return 1;
}

/* Percent-encode all but RFC 3986's unreserved bytes. */
static int
url_escape(const char *s, char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("-._~", ch) != NULL) {
			if (o + 1 >= len)
				return -1;
			out[o++] = (char)ch;
		} else {
			if (o + 3 >= len)
				return -1;
			out[o++] = '%';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 0xf];
		}
	}
	out[o] = '\0';
	return 0;
}

/*
 * "what: HTTP 404: <the engine's message>": the message is the engine's
 * JSON "message", cut short and stripped of control bytes.
 */
static int
api_fail(const struct httpc_response *r, char *err, size_t errlen,
    const char *what)
{
	char msg[API_MSG_MAX + 1] = "";
	json_t *j, *m;
	size_t i;

	if (r->body != NULL &&
	    (j = json_loadb(r->body, r->body_len, 0, NULL)) != NULL) {
		if ((m = json_object_get(j, "message")) != NULL &&
		    json_is_string(m))
			snprintf(msg, sizeof(msg), "%s", json_string_value(m));
		json_decref(j);
	} else if (r->body != NULL) {
		snprintf(msg, sizeof(msg), "%.*s", (int)r->body_len, r->body);
	}
	for (i = 0; msg[i] != '\0'; i++)
		if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
			msg[i] = ' ';
	while (i > 0 && msg[i - 1] == ' ')
		msg[--i] = '\0';
	return err_set(err, errlen, "%s: HTTP %d%s%s", what, r->status,
	    msg[0] ? ": " : "", msg);
}

/* One exchange; 0 with resp filled (any status), -1 with err. */
static int
api_call(const struct dockerapi *d, const char *method, const char *path,
    const char *body, size_t body_len, int timeout_ms,
    volatile sig_atomic_t *cancel, struct httpc_response *resp, char *err,
    size_t errlen)
{
	struct httpc_request req;
	char full[1024];

	if ((size_t)snprintf(full, sizeof(full), "%s%s",
	    strcmp(path, "/_ping") == 0 ? "" : DOCKERAPI_VERSION, path) >=
	    sizeof(full))
		return err_set(err, errlen, "request path too long");
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.path = full;
	req.body = body;
	req.body_len = body_len;
	req.timeout_ms = timeout_ms;
	req.cancel = cancel;
	return httpc_exchange(&d->ep, &req, resp, err, errlen);
}

/* resp's body as a JSON object; NULL with err set. */
static json_t *
api_json(const struct httpc_response *r, const char *what, char *err,
    size_t errlen)
{
	json_error_t je;
	json_t *j;

	if ((j = json_loadb(r->body, r->body_len, 0, &je)) == NULL ||
	    !json_is_object(j)) {
		json_decref(j);
		err_set(err, errlen, "%s: the engine's answer is not a JSON "
		    "object", what);
		return NULL;
	}
	return j;
}

/*
 * One exchange answered by a JSON object: 0 with *j (the caller's) on
 * status OK; 1 on status SOFT, an answer rather than an error (404: it is
 * gone; 409: the name is taken; 0: none), err saying so; -1 with err.
 */
static int
api_call_json(const struct dockerapi *d, const char *method, const char *path,
    const char *body, int timeout_ms, volatile sig_atomic_t *cancel, int ok,
    int soft, const char *what, json_t **j, char *err, size_t errlen)
{
	struct httpc_response r;
	int rc = -1;

	*j = NULL;
	if (api_call(d, method, path, body, body != NULL ? strlen(body) : 0,
	    timeout_ms, cancel, &r, err, errlen) == -1)
		return -1;
	if (r.status == ok) {
		if ((*j = api_json(&r, what, err, errlen)) != NULL)
			rc = 0;
	} else {
		api_fail(&r, err, errlen, what);
		if (r.status == soft)
			rc = 1;
	}
	httpc_response_clear(&r);
	return rc;
}

int
dockerapi_ping(const struct dockerapi *d, int timeout_ms, char *err,
    size_t errlen)
{
	struct httpc_response r;
	int rc = 0;

	if (api_call(d, "GET", "/_ping", NULL, 0, timeout_ms, NULL, &r, err,
	    errlen) == -1)
		return -1;
	if (r.status != 200)
		rc = api_fail(&r, err, errlen, "ping");
	httpc_response_clear(&r);
	return rc;
}

int
dockerapi_info(const struct dockerapi *d, struct dockerapi_info *out,
    char *err, size_t errlen)
{
	const char *drv = NULL, *ver = NULL;
	json_t *j;

	memset(out, 0, sizeof(*out));
	if (api_call_json(d, "GET", "/info", NULL, 0, NULL, 200, 0, "info", &j,
	    err, errlen) != 0)
		return -1;
	(void)json_unpack(j, "{s?s, s?s}", "CgroupDriver", &drv,
	    "CgroupVersion", &ver);
	snprintf(out->cgroup_driver, sizeof(out->cgroup_driver), "%s",
	    drv ? drv : "");
	out->cgroup_version = ver != NULL && strcmp(ver, "2") == 0 ? 2 :
	    ver != NULL && strcmp(ver, "1") == 0 ? 1 : 0;
	json_decref(j);
	return 0;
}

int
dockerapi_image_label(const struct dockerapi *d, const char *ref,
    const char *label, char *val, size_t vallen, char *err, size_t errlen)
{
	char path[512];
	json_t *j, *v;
	int rc;

	if (vallen > 0)
		val[0] = '\0';
	if (!path_safe(ref))
		return err_set(err, errlen, "bad image reference");
	snprintf(path, sizeof(path), "/images/%s/json", ref);
	if ((rc = api_call_json(d, "GET", path, NULL, 0, NULL, 200, 404,
	    "inspect image", &j, err, errlen)) != 0)
		return rc;
	v = json_object_get(json_object_get(json_object_get(j, "Config"),
	    "Labels"), label != NULL ? label : "");
	if (label != NULL && json_is_string(v))
		snprintf(val, vallen, "%s", json_string_value(v));
	json_decref(j);
	return 0;
}

/* The import's answer is a stream of JSON messages, one an error if any. */
static int
import_errors(const struct httpc_response *r, char *err, size_t errlen)
{
	const char *p = r->body, *end = r->body + r->body_len, *nl;
	json_t *j, *e;
	int rc = 0;

	for (; rc == 0 && p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if ((j = json_loadb(p, (size_t)(nl - p), 0, NULL)) == NULL)
			continue;
		if ((e = json_object_get(j, "error")) != NULL &&
		    json_is_string(e))
			rc = err_set(err, errlen, "import image: %.*s",
			    API_MSG_MAX, json_string_value(e));
		json_decref(j);
	}
	return rc;
}

int
dockerapi_image_import(const struct dockerapi *d, const char *repo,
    const char *tag, const char *label, const char *value, const char *tar,
    size_t tarlen, char *err, size_t errlen)
{
	struct httpc_response r;
	char path[1024], erepo[256], etag[256], change[512], echange[1536];
	int rc = -1;

	if (!path_safe(repo) || !path_safe(tag))
		return err_set(err, errlen, "bad image name");
	echange[0] = '\0';
	if (label != NULL) {
		snprintf(change, sizeof(change), "LABEL %s=%s", label,
		    value ? value : "");
		if (url_escape(change, echange, sizeof(echange)) == -1)
			return err_set(err, errlen, "image label too long");
	}
	if (url_escape(repo, erepo, sizeof(erepo)) == -1 ||
	    url_escape(tag, etag, sizeof(etag)) == -1 ||
	    (size_t)snprintf(path, sizeof(path),
	    "/images/create?fromSrc=-&repo=%s&tag=%s%s%s", erepo, etag,
	    echange[0] ? "&changes=" : "", echange) >= sizeof(path))
		return err_set(err, errlen, "image name too long");
	if (api_call(d, "POST", path, tar, tarlen, API_TIMEOUT_MS, NULL, &r,
	    err, errlen) == -1)
		return -1;
	if (r.status != 200)
		api_fail(&r, err, errlen, "import image");
	else if (import_errors(&r, err, errlen) == 0)
		rc = 0;
	httpc_response_clear(&r);
	return rc;
}

int
dockerapi_container_create(const struct dockerapi *d, const char *name,
    const char *body, char *id, size_t idlen, char *err, size_t errlen)
{
	const char *v = NULL;
	char path[512];
	json_t *j;
	int rc;

	if (idlen > 0)
		id[0] = '\0';
	if (!path_safe(name))
		return err_set(err, errlen, "bad container name");
	snprintf(path, sizeof(path), "/containers/create?name=%s", name);
	if ((rc = api_call_json(d, "POST", path, body, API_TIMEOUT_MS, NULL,
	    201, 409, "create container", &j, err, errlen)) != 0)
		return rc;
	if (json_unpack(j, "{s:s}", "Id", &v) == 0 && path_safe(v) &&
	    strlen(v) <= DOCKERAPI_ID_MAX && strlen(v) < idlen)
		strcpy(id, v);
	else
		rc = err_set(err, errlen, "create container: no usable Id in "
		    "the answer");
	json_decref(j);
	return rc;
}

/* A POST to /containers/ID/VERB?QUERY that answers 204 (ok also lists
 * statuses taken as done, 0-terminated). 0, 1 for 404, -1. */
static int
container_post(const struct dockerapi *d, const char *method,
    const char *id, const char *verb, const char *query, const int *ok,
    const char *what, char *err, size_t errlen)
{
	struct httpc_response r;
	char path[512];
	int rc = -1;

	if (!path_safe(id))
		return err_set(err, errlen, "%s: bad container id", what);
	snprintf(path, sizeof(path), "/containers/%s%s%s%s%s", id,
	    verb[0] ? "/" : "", verb, query[0] ? "?" : "", query);
	if (api_call(d, method, path, NULL, 0, API_TIMEOUT_MS, NULL, &r, err,
	    errlen) == -1)
		return -1;
	if (r.status == 204 || r.status == 200)
		rc = 0;
	else if (r.status == 404)
		rc = 1;
	for (; rc == -1 && ok != NULL && *ok != 0; ok++)
		if (r.status == *ok)
			rc = 0;
	if (rc == -1)
		api_fail(&r, err, errlen, what);
	httpc_response_clear(&r);
	return rc;
}

int
dockerapi_container_start(const struct dockerapi *d, const char *id,
    char *err, size_t errlen)
{
	int rc = container_post(d, "POST", id, "start", "", NULL,
	    "start container", err, errlen);

	if (rc == 1)
		return err_set(err, errlen, "start container: it is gone");
	return rc;
}

int
dockerapi_container_kill(const struct dockerapi *d, const char *id,
    const char *signal, char *err, size_t errlen)
{
	/* 409: it is not running, which is what a kill wants. */
	static const int ok[] = { 409, 0 };
	char q[64];

	if (!path_safe(signal))
		return err_set(err, errlen, "kill container: bad signal");
	snprintf(q, sizeof(q), "signal=%s", signal);
	return container_post(d, "POST", id, "kill", q, ok, "kill container",
	    err, errlen) == -1 ? -1 : 0;
}

int
dockerapi_container_remove(const struct dockerapi *d, const char *id,
    char *err, size_t errlen)
{
	return container_post(d, "DELETE", id, "", "force=1&v=1", NULL,
	    "remove container", err, errlen) == -1 ? -1 : 0;
}

int
dockerapi_container_wait(const struct dockerapi *d, const char *id,
    int timeout_ms, volatile sig_atomic_t *cancel, int *code, char *err,
    size_t errlen)
{
	json_int_t sc = 0;
	char path[512];
	json_t *j;
	int rc;

	if (!path_safe(id))
		return err_set(err, errlen, "wait: bad container id");
	snprintf(path, sizeof(path), "/containers/%s/wait?condition=not-running",
	    id);
	if ((rc = api_call_json(d, "POST", path, NULL, timeout_ms, cancel, 200,
	    404, "wait", &j, err, errlen)) != 0)
		return rc;
	if (json_unpack(j, "{s:I}", "StatusCode", &sc) == 0 && sc >= INT_MIN &&
	    sc <= INT_MAX)
		*code = (int)sc;
	else
		rc = err_set(err, errlen, "wait: no StatusCode in the answer");
	json_decref(j);
	return rc;
}

int
dockerapi_container_inspect(const struct dockerapi *d, const char *id,
    struct dockerapi_state *st, char *err, size_t errlen)
{
	json_int_t pid = 0, code = 0;
	int running = 0, oom = 0;
	char path[512];
	json_t *j;
	int rc;

	memset(st, 0, sizeof(*st));
	if (!path_safe(id))
		return err_set(err, errlen, "inspect: bad container id");
	snprintf(path, sizeof(path), "/containers/%s/json", id);
	if ((rc = api_call_json(d, "GET", path, NULL, 0, NULL, 200, 404,
	    "inspect container", &j, err, errlen)) != 0)
		return rc;
	if (json_unpack(j, "{s:{s:b, s:I, s:I, s:b}}", "State",
	    "Running", &running, "Pid", &pid, "ExitCode", &code,
	    "OOMKilled", &oom) == 0 && pid >= 0 && pid <= INT_MAX &&
	    code >= INT_MIN && code <= INT_MAX) {
		st->running = running;
		st->pid = (pid_t)pid;
		st->exit_code = (int)code;
		st->oom_killed = oom;
	} else {
		rc = err_set(err, errlen, "inspect container: no usable State");
	}
	json_decref(j);
	return rc;
}

int
dockerapi_container_logs(const struct dockerapi *d, const char *id,
    char **buf, size_t *len, char *err, size_t errlen)
{
	struct httpc_response r;
	char path[512];
	int rc = -1;

	*buf = NULL;
	*len = 0;
	if (!path_safe(id))
		return err_set(err, errlen, "logs: bad container id");
	snprintf(path, sizeof(path), "/containers/%s/logs?stdout=1&stderr=1",
	    id);
	if (api_call(d, "GET", path, NULL, 0, API_TIMEOUT_MS, NULL, &r, err,
	    errlen) == -1)
		return -1;
	if (r.status == 404) {
		rc = 1;
	} else if (r.status != 200) {
		api_fail(&r, err, errlen, "logs");
	} else {
		*buf = r.body;
		*len = r.body_len;
		r.body = NULL;
		rc = 0;
	}
	httpc_response_clear(&r);
	return rc;
}

int
dockerapi_container_list(const struct dockerapi *d, const char *key,
    const char *value, const char *prefix, dockerapi_container_cb cb,
    void *arg, char *err, size_t errlen)
{
	struct httpc_response r;
	char filter[512], efilter[1536], path[2048];
	const char *id, *name, *p;
	json_t *j = NULL, *c, *names;
	size_t i;
	int rc = -1;

	/* Plain characters only: they go into a JSON string and a regex. */
	for (p = prefix; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			return err_set(err, errlen, "list containers: bad name "
			    "prefix");
	if (!path_safe(key) || !path_safe(value) || prefix[0] == '\0' ||
	    (size_t)snprintf(filter, sizeof(filter), "{\"label\":[\"%s=%s\"],"
	    "\"name\":[\"^/?%s\"]}", key, value, prefix) >= sizeof(filter) ||
	    url_escape(filter, efilter, sizeof(efilter)) == -1)
		return err_set(err, errlen, "list containers: bad label");
	snprintf(path, sizeof(path), "/containers/json?all=1&filters=%s",
	    efilter);
	if (api_call(d, "GET", path, NULL, 0, 0, NULL, &r, err, errlen) == -1)
		return -1;
	if (r.status != 200) {
		api_fail(&r, err, errlen, "list containers");
		goto out;
	}
	if ((j = json_loadb(r.body, r.body_len, 0, NULL)) == NULL ||
	    !json_is_array(j)) {
		err_set(err, errlen, "list containers: not a JSON array");
		goto out;
	}
	rc = 0;
	json_array_foreach(j, i, c) {
		id = json_string_value(json_object_get(c, "Id"));
		names = json_object_get(c, "Names");
		name = json_string_value(json_array_get(names, 0));
		if (id == NULL || !path_safe(id))
			continue;
		/* Names carry a leading '/'; the engine's match is a search. */
		if (name != NULL && name[0] == '/')
			name++;
		if (name == NULL || strncmp(name, prefix, strlen(prefix)) != 0)
			continue;
		if (cb(id, name, arg) != 0)
			break;
	}
out:
	json_decref(j);
	httpc_response_clear(&r);
	return rc;
}
