#ifndef ENCLAVE_COMMON_LOG_H
#define ENCLAVE_COMMON_LOG_H

#include <stdio.h>

/*
 * One log API with fixed meanings:
 *   log_warn   something failed; appends ": strerror(errno)"
 *   log_warnx  something failed; no errno
 *   log_info   normal but significant
 *   log_debug  for developers; off unless the level says so
 *   fatal/fatalx  start-up failure or a broken invariant only: logs and
 *              exits(1). Never for one connection's or one session's failure.
 * Every function preserves errno.
 */

enum log_level {
	LOG_LEVEL_WARN = 0,
	LOG_LEVEL_INFO = 1,
	LOG_LEVEL_DEBUG = 2,
};

#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* ident prefixes every line; to_syslog sends lines to syslog(3) instead. */
void log_init(const char *ident, int to_syslog, enum log_level level);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Redirect stderr output (tests); NULL restores stderr. */
void log_set_stream(FILE *stream);
int log_level_parse(const char *name, enum log_level *out);

void log_warn(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_debug(const char *fmt, ...) LOG_PRINTF(1, 2);
void fatal(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));
void fatalx(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));

#endif
