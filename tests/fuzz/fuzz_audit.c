#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The verifier is the parser that reads a file an attacker may have edited. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct audit_verify_result res;
	int rc;

	rc = audit_verify_buf((const char *)data, size, &res);
	if (rc == 0 && (res.bad_line != 0 || res.good_bytes != size))
		__builtin_trap();
	if (rc == -1 && res.bad_line != 0 &&
	    (res.good_bytes > size || res.events != res.bad_line - 1 ||
	    memchr(res.message, '\0', sizeof(res.message)) == NULL))
		__builtin_trap();
	return 0;
}
