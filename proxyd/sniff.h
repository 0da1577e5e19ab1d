#ifndef ENCLAVE_PROXYD_SNIFF_H
#define ENCLAVE_PROXYD_SNIFF_H

#include <stddef.h>
#include <stdint.h>

/*
 * What a client's first bytes say it speaks. The proxy peeks (bounded in
 * size and time) and picks the parser: HTTP/1.x → Host, TLS → SNI, anything
 * else → raw TCP judged on the destination alone.
 */
enum sniff_kind {
	SNIFF_NEED_MORE = 0,	/* a prefix of something we recognise */
	SNIFF_HTTP,		/* an HTTP/1.x request line starts here */
	SNIFF_TLS,		/* a TLS handshake record starts here */
	SNIFF_RAW,		/* neither: raw TCP */
};

enum sniff_kind sniff_classify(const uint8_t *buf, size_t len);
const char *sniff_kind_name(enum sniff_kind kind);

#endif
