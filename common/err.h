#ifndef ENCLAVE_COMMON_ERR_H
#define ENCLAVE_COMMON_ERR_H

#include <stddef.h>

/*
 * The caller's error buffer, as library functions that take
 * (char *err, size_t errlen) fill it: printf-style, truncated to errlen,
 * nothing when err is NULL or errlen is 0. Preserves errno, so a caller
 * can set errno first and describe the failure after. Returns -1, so a
 * failing function can end with `return err_set(...)`.
 */
int err_set(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
