#include <stdio.h>
#include <string.h>

#include "common/json.h"

int
json_check_keys(const json_t *obj, const char *const allowed[],
    const char **bad_key)
{
	const char *key;
	json_t *value;
	size_t i;

	*bad_key = NULL;
	if (!json_is_object(obj))
		return -1;
	json_object_foreach((json_t *)obj, key, value) {
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(key, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL) {
			*bad_key = key;
			return -1;
		}
	}
	return 0;
}

/* Walks a dotted path so nested fields are reported by their full name. */
static int
json_lookup(const json_t *obj, const char *key, json_t **out, char *err,
    size_t errlen)
{
	const char *seg = key, *dot;

	*out = NULL;
	if (!json_is_object(obj)) {
		snprintf(err, errlen, "body: must be an object");
		return -1;
	}
	while ((dot = strchr(seg, '.')) != NULL) {
		obj = json_object_getn(obj, seg, (size_t)(dot - seg));
		if (obj == NULL)
			return 0;
		if (!json_is_object(obj)) {
			snprintf(err, errlen, "%.*s: must be an object",
			    (int)(dot - key), key);
			return -1;
		}
		seg = dot + 1;
	}
	*out = json_object_get(obj, seg);
	return 0;
}

/* Shared prologue of the getters: the value, or ABSENT, or a reported error. */
static int
json_fetch(const json_t *obj, const char *key, int required, json_t **out,
    char *err, size_t errlen)
{
	if (json_lookup(obj, key, out, err, errlen) == -1)
		return -1;
	if (*out != NULL)
		return JSON_GET_OK;
	if (required) {
		snprintf(err, errlen, "%s: required", key);
		return -1;
	}
	return JSON_GET_ABSENT;
}

int
json_get_string(const json_t *obj, const char *key, const char **out,
    int required, char *err, size_t errlen)
{
	json_t *v;
	int rc;

	if ((rc = json_fetch(obj, key, required, &v, err, errlen)) != JSON_GET_OK)
		return rc;
	if (!json_is_string(v)) {
		snprintf(err, errlen, "%s: must be a string", key);
		return -1;
	}
	if (strlen(json_string_value(v)) != json_string_length(v)) {
		snprintf(err, errlen, "%s: must not contain NUL", key);
		return -1;
	}
	*out = json_string_value(v);
	return JSON_GET_OK;
}

int
json_get_int(const json_t *obj, const char *key, json_int_t min,
    json_int_t max, json_int_t *out, int required, char *err, size_t errlen)
{
	json_int_t n;
	json_t *v;
	int rc;

	if ((rc = json_fetch(obj, key, required, &v, err, errlen)) != JSON_GET_OK)
		return rc;
	if (!json_is_integer(v) || (n = json_integer_value(v)) < min ||
	    n > max) {
		snprintf(err, errlen,
		    "%s: must be an integer in %" JSON_INTEGER_FORMAT
		    "..%" JSON_INTEGER_FORMAT, key, min, max);
		return -1;
	}
	*out = n;
	return JSON_GET_OK;
}

int
json_get_bool(const json_t *obj, const char *key, int *out, int required,
    char *err, size_t errlen)
{
	json_t *v;
	int rc;

	if ((rc = json_fetch(obj, key, required, &v, err, errlen)) != JSON_GET_OK)
		return rc;
	if (!json_is_boolean(v)) {
		snprintf(err, errlen, "%s: must be a boolean", key);
		return -1;
	}
	*out = json_is_true(v);
	return JSON_GET_OK;
}

int
json_get_string_array(const json_t *obj, const char *key,
    const char **items, size_t max_items, size_t *count, int required,
    char *err, size_t errlen)
{
	json_t *v, *item;
	size_t i;
	int rc;

	*count = 0;
	if ((rc = json_fetch(obj, key, required, &v, err, errlen)) != JSON_GET_OK)
		return rc;
	if (!json_is_array(v) || json_array_size(v) > max_items) {
		snprintf(err, errlen, "%s: must be an array of at most %zu strings",
		    key, max_items);
		return -1;
	}
	json_array_foreach(v, i, item) {
		if (!json_is_string(item) ||
		    strlen(json_string_value(item)) != json_string_length(item)) {
			snprintf(err, errlen, "%s[%zu]: must be a string without NUL",
			    key, i);
			return -1;
		}
		items[i] = json_string_value(item);
	}
	*count = json_array_size(v);
	return JSON_GET_OK;
}

char *
json_dump_line(const json_t *value)
{
	/* PRESERVE_ORDER is the default since jansson 2.8; kept for clarity. */
	return json_dumps(value, JSON_COMPACT | JSON_PRESERVE_ORDER |
	    JSON_ENCODE_ANY);
}

json_t *
json_error_body(const char *code, const char *message)
{
	return json_pack("{s:{s:s, s:s}}", "error", "code", code,
	    "message", message);
}
