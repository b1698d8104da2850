/*
 * fuzz_dl_request.c: libFuzzer target for dl_parse_request, the resolver's
 * reading of a GS1 Digital Link request (path and query) from the internet.
 * The input is split at its first '?' into path and query, neither
 * NUL-terminated.
 *
 * Beyond "does not crash": every accepted request holds well-formed fields,
 * and its canonical URI parses again to the same key and qualifiers. The
 * same input also goes to dl_parse_sscc_path (the /00/ of pallets): what it
 * accepts is a valid SSCC whose URL reads back the same.
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
		fprintf(stderr, "fuzz_dl_request: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *q = memchr(s, '?', size);
	size_t plen = q ? (size_t)(q - s) : size;
	struct dl_request r, again;
	char uri[URL_MAX], gtin[GTIN_LEN + 1];

	/* path and query in buffers of their own, so ASan sees any read past either */
	char *path = malloc(plen ? plen : 1), *query = malloc(q ? size - plen - 1 + 1 : 1);
	if (!path || !query)
		goto out;
	memcpy(path, s, plen);
	if (q)
		memcpy(query, q + 1, size - plen - 1);
	char sscc[SSCC_LEN + 1], sscc_again[SSCC_LEN + 1];
	if (dl_parse_sscc_path(path, plen, sscc) == 0) {
		check(sscc_valid(sscc, NULL, 0) == 0, "an accepted SSCC is not valid");
		check(url_sscc(uri, sizeof uri, "example.com", sscc) > 0, "no URL for an SSCC");
		const char *sp = uri + strlen("https://example.com");
		check(dl_parse_sscc_path(sp, strlen(sp), sscc_again) == 0 &&
		          strcmp(sscc, sscc_again) == 0,
		      "an SSCC's URL does not read back");
	}
	if (dl_parse_request(path, plen, query, q ? size - plen - 1 : 0, &r) != 0)
		goto out;

	check(gtin_normalize(r.key.gtin, gtin, NULL, 0) == 0 && strcmp(gtin, r.key.gtin) == 0,
	      "gtin is not a GTIN-14");
	check(r.key.code[0] == '\0' || dl_value_valid(r.key.code) == 0, "bad serial");
	check(r.key.lot[0] == '\0' || dl_value_valid(r.key.lot) == 0, "bad lot");
	check(r.cpv[0] == '\0' || dl_value_valid(r.cpv) == 0, "bad variant");
	check(r.expiry[0] == '\0' || dl_expiry_valid(r.expiry) == 0, "bad expiry");
	check(r.link_type >= DL_LT_NONE && r.link_type < DL_LT_COUNT, "link type out of range");

	int n = dl_request_uri(uri, sizeof uri, "example.com", &r);
	check(n > 0, "an accepted request has no canonical URI");
	const char *p = uri + strlen("https://example.com");
	check(dl_parse_request(p, strlen(p), "", 0, &again) == 0,
	      "the canonical URI does not parse");
	check(strcmp(r.key.gtin, again.key.gtin) == 0 && strcmp(r.key.code, again.key.code) == 0 &&
	          strcmp(r.key.lot, again.key.lot) == 0 && strcmp(r.cpv, again.cpv) == 0,
	      "round trip changed a field");
out:
	free(path);
	free(query);
	return 0;
}
