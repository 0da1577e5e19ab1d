#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "common/log.h"

static const char *log_ident = "enclave";
static int log_syslog;
static enum log_level log_level = LOG_LEVEL_INFO;
static FILE *log_stream;

void
log_init(const char *ident, int to_syslog, enum log_level level)
{
	if (ident != NULL)
		log_ident = ident;
	log_syslog = to_syslog;
	log_level = level;
	if (to_syslog)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level
log_get_level(void)
{
	return log_level;
}

void
log_set_stream(FILE *stream)
{
	log_stream = stream;
}

int
log_level_parse(const char *name, enum log_level *out)
{
	static const char *const names[] = { "warn", "info", "debug" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(name, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

/* The single sink: formats once, adds the errno text when asked, and never
 * lets a log call change errno under the caller's feet. */
static void LOG_PRINTF(4, 0)
log_emit(int prio, int with_errno, int saved_errno, const char *fmt, va_list ap)
{
	char msg[1024];
	FILE *out = log_stream ? log_stream : stderr;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_syslog && log_stream == NULL) {
		if (with_errno)
			syslog(prio, "%s: %s", msg, strerror(saved_errno));
		else
			syslog(prio, "%s", msg);
	} else {
		if (with_errno)
			fprintf(out, "%s: %s: %s\n", log_ident, msg, strerror(saved_errno));
		else
			fprintf(out, "%s: %s\n", log_ident, msg);
		fflush(out);
	}
	errno = saved_errno;
}

#define LOG_BODY(prio, with_errno, min_level)                     \
	do {                                                      \
		int saved = errno;                                \
		va_list ap;                                       \
		if (log_level < (min_level)) {                    \
			errno = saved;                            \
			return;                                   \
		}                                                 \
		va_start(ap, fmt);                                \
		log_emit((prio), (with_errno), saved, fmt, ap);   \
		va_end(ap);                                       \
	} while (0)

void
log_warn(const char *fmt, ...)
{
	LOG_BODY(LOG_WARNING, 1, LOG_LEVEL_WARN);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_WARNING, 0, LOG_LEVEL_WARN);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_INFO, 0, LOG_LEVEL_INFO);
}

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_DEBUG, 0, LOG_LEVEL_DEBUG);
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_CRIT, 1, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_CRIT, 0, saved, fmt, ap);
	va_end(ap);
	exit(1);
}
