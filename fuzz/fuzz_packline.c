/*
 * fuzz_packline.c: a packing line's file, line by line (lib/packline.c):
 * the CSV split and the SSCC forms. An accepted SSCC has a right check
 * digit and 18 digits; a split gives two non-empty fields inside the line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "packline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_packline: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[512], sscc[SSCC_LEN + 1], *a, *b;
	if (size >= sizeof line)
		return 0;
	memcpy(line, data, size);
	line[size] = 0;
	int k = packline_sscc(line, sscc);
	if (k == 1)
		check(strlen(sscc) == SSCC_LEN && sscc_valid(sscc, NULL, 0) == 0,
		      "a bad SSCC accepted");
	if (packline_split(line, &a, &b) == 0) {
		check(*a && *b, "an empty field");
		check(a >= line && b > a && b < line + size + 1, "a field outside the line");
		(void)packline_sscc(a, sscc);
		(void)packline_sscc(b, sscc);
	}
	return 0;
}
