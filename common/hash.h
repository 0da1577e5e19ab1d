#ifndef ENCLAVE_COMMON_HASH_H
#define ENCLAVE_COMMON_HASH_H

#include <stddef.h>
#include <stdint.h>

/*
 * FNV-1a, for spreading in-memory hash tables (names, addresses, ids).
 * Not for anything an attacker may choose to collide at will: bound every
 * chain instead, as the tables here do.
 */
#define HASH_INIT 2166136261u

static inline uint32_t
hash_bytes(uint32_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= b[i];
		h *= 16777619u;
	}
	return h;
}

static inline uint32_t
hash_str(uint32_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= 16777619u;
	}
	return h;
}

#endif
