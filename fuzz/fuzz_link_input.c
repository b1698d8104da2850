/*
 * fuzz_link_input.c: libFuzzer target for resolver_link_decode, the admin
 * API's body of a brand's resolver link. Beyond "does not crash": what it
 * accepts passes dl_link_check again (the database's CHECK constraints).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "handlers/resolver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct resolver_link_in in;
	char err[256];
	int bad_json;
	if (resolver_link_decode((const char *)data, size, &in, &bad_json, err, sizeof err) != 0)
		return 0;
	if (dl_link_check(dl_link_type_term(in.type), in.href, in.title, in.hreflang, in.media_type,
	                  NULL, err, sizeof err) != 0) {
		fprintf(stderr, "fuzz_link_input: accepted a link the check refuses: %s\n", err);
		abort();
	}
	return 0;
}
