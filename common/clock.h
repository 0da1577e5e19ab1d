#ifndef ENCLAVE_COMMON_CLOCK_H
#define ENCLAVE_COMMON_CLOCK_H

#include <stdint.h>
#include <sys/time.h>

/* Milliseconds for timeouts and TTLs: never jumps with the wall clock. */
uint64_t clock_monotonic_ms(void);
/* Milliseconds since the epoch, UTC: for timestamps people read. */
int64_t clock_realtime_ms(void);
/* ms as the struct timeval libevent's timeouts take. */
struct timeval clock_ms_timeval(uint64_t ms);

#endif
