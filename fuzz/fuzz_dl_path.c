/*
 * fuzz_dl_path.c: libFuzzer target for dl_parse_path, the GS1 Digital Link
 * path parser that faces the internet.
 *
 * Beyond "does not crash", every accepted path must hold well-formed fields
 * and survive a round trip: url_digital_link of the fields, parsed again,
 * gives the same fields.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_dl_path: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dl_path p, again;
	char url[URL_MAX], gtin[GTIN_LEN + 1];
	const char *path;
	int n;

	if (dl_parse_path((const char *)data, size, &p) != 0)
		return 0;

	check(strlen(p.gtin) == GTIN_LEN, "gtin is not 14 digits");
	check(gtin_normalize(p.gtin, gtin, NULL, 0) == 0 && strcmp(gtin, p.gtin) == 0,
	      "gtin does not normalise to itself");
	check(dl_value_valid(p.code) == 0, "serial is not a valid AI 21 value");
	check(p.lot[0] == '\0' || dl_value_valid(p.lot) == 0, "lot is not a valid AI 10 value");

	n = url_digital_link(url, sizeof url, "example.com", p.gtin, p.code,
	                     p.lot[0] ? p.lot : NULL, NULL);
	check(n > 0, "accepted fields do not make a URL");
	path = url + strlen("https://example.com");
	check(dl_parse_path(path, strlen(path), &again) == 0, "generated path does not parse");
	check(strcmp(p.gtin, again.gtin) == 0 && strcmp(p.code, again.code) == 0 &&
	          strcmp(p.lot, again.lot) == 0,
	      "round trip changed a field");
	return 0;
}
