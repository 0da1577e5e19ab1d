#ifndef ENCLAVE_TESTS_UNIT_SOCKTEST_H
#define ENCLAVE_TESTS_UNIT_SOCKTEST_H

/*
 * What the socket-level unit tests (test_relay, test_httpflow) share:
 * loopback TCP pairs, buffer sizes, an fd count for leak checks, and a
 * pseudo-random byte pattern so that a dropped, repeated or reordered
 * chunk of a stream shows. Helpers assert (cmocka) instead of returning
 * errors.
 */

#include <stddef.h>
#include <stdint.h>

/* A prime, so no power-of-two chunking can line a dropped or repeated
 * chunk up with the pattern's period. */
#define PATTERN_LEN	65537

extern uint8_t pattern[PATTERN_LEN];

/* Fills pattern (once per test program, before any test). */
void pattern_init(void);
/* Bytes off .. off + len of stream `seed`: byte i is
 * pattern[(i + seed) % PATTERN_LEN]. */
void pattern_fill(void *out, uint64_t off, size_t len, unsigned int seed);

/* Open fds of this process, for leak checks. */
int count_fds(void);
void set_nonblock(int fd);
/* SO_SNDBUF and SO_RCVBUF (the kernel doubles them). */
void set_bufs(int fd, int bytes);
/* A connected TCP pair on 127.0.0.1 (blocking, close-on-exec). */
void tcp_pair(int *a, int *b);

#endif
