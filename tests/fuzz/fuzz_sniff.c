#include <stdint.h>
#include <stdlib.h>

#include "proxyd/sniff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Invariant: once a verdict is reached, more bytes never change it — the
 * proxy decides on a prefix and must not be second-guessed by later data. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum sniff_kind final = sniff_classify(data, size), k;
	size_t i;

	for (i = 0; i <= size; i++) {
		k = sniff_classify(data, i);
		if (k != SNIFF_NEED_MORE && k != final)
			abort();
	}
	return 0;
}
