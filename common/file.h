/* Reading whole small files (configs) with a bound. */
#ifndef ENCLAVE_COMMON_FILE_H
#define ENCLAVE_COMMON_FILE_H

#include <stddef.h>

/*
 * Read the regular file at path into *buf (malloc'd; free()), at most
 * max + 1 bytes: a length of max + 1 tells the caller the file is over
 * its limit, so the parser can say so with its own words. A NUL follows
 * the bytes (the file itself may hold NULs: go by *len). 0, or -1 with
 * err "cannot open PATH: …", "PATH: not a regular file", "cannot read
 * PATH: …" and *buf NULL.
 */
int file_read_bounded(const char *path, size_t max, char **buf, size_t *len,
    char *err, size_t errlen);

#endif
