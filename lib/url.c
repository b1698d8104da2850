/*
 * url.c: placeholder until the implementation lands (see lib/url.h). Holds
 * only gtin_normalize() for now, which packcode-gen product add needs; the
 * url.c being written elsewhere replaces this whole file.
 */
#include "url.h"

#include <stdio.h>
#include <string.h>

int gtin_normalize(const char *in, char out[GTIN_LEN + 1], char *err, size_t errlen)
{
	size_t n = strlen(in);
	int sum = 0;

	if (n != 8 && n != 12 && n != 13 && n != 14) {
		snprintf(err, errlen, "a GTIN has 8, 12, 13 or 14 digits, not %zu", n);
		return -1;
	}
	if (strspn(in, "0123456789") != n) {
		snprintf(err, errlen, "a GTIN has only digits");
		return -1;
	}
	/* GS1 mod 10: from the right, excluding the check digit, weights 3, 1, 3, ... */
	for (size_t i = 0; i + 1 < n; i++)
		sum += (in[n - 2 - i] - '0') * (i % 2 == 0 ? 3 : 1);
	int check = (10 - sum % 10) % 10;
	if (in[n - 1] - '0' != check) {
		snprintf(err, errlen, "GTIN %s has a wrong check digit (%c, expected %d)", in,
		         in[n - 1], check);
		return -1;
	}
	memset(out, '0', GTIN_LEN - n);
	memcpy(out + GTIN_LEN - n, in, n + 1);
	return 0;
}
