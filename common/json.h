/*
 * Strict helpers over jansson for decoding API bodies and building events.
 *
 * Getters take a key that may be a dotted path ("limits.timeout_ms"): each
 * segment but the last must name an object. They return JSON_GET_OK, or
 * JSON_GET_ABSENT when an optional field is missing (*out untouched), or -1
 * with a message in err naming the field and the problem. JSON null counts
 * as the wrong type, not as absent.
 */
#ifndef ENCLAVE_COMMON_JSON_H
#define ENCLAVE_COMMON_JSON_H

#include <stddef.h>

#include <jansson.h>

#define JSON_GET_OK	0
#define JSON_GET_ABSENT	1

/*
 * 0 if every key of obj is in allowed (NULL-terminated); else -1 with
 * *bad_key pointing at the first unknown key (borrowed from obj), or at
 * NULL when obj is not an object.
 */
int json_check_keys(const json_t *obj, const char *const allowed[],
    const char **bad_key);

/* *out is borrowed from obj; strings with an embedded NUL are refused. */
int json_get_string(const json_t *obj, const char *key, const char **out,
    int required, char *err, size_t errlen);

/* An integer (not a real) within [min, max]. */
int json_get_int(const json_t *obj, const char *key, json_int_t min,
    json_int_t max, json_int_t *out, int required, char *err, size_t errlen);

/* *out becomes 0 or 1. */
int json_get_bool(const json_t *obj, const char *key, int *out, int required,
    char *err, size_t errlen);

/*
 * An array of at most max_items strings; items[0..*count) are borrowed from
 * obj. On JSON_GET_ABSENT *count is set to 0.
 */
int json_get_string_array(const json_t *obj, const char *key,
    const char **items, size_t max_items, size_t *count, int required,
    char *err, size_t errlen);

/* Compact, order-preserving, single-line dump (no trailing newline); free(). */
char *json_dump_line(const json_t *value);

/*
 * New reference to {"error":{"code":code,"message":message}}; NULL on ENOMEM
 * or when a string is not valid UTF-8.
 */
json_t *json_error_body(const char *code, const char *message);

#endif /* ENCLAVE_COMMON_JSON_H */
