/*
 * fuzz_supply_input.c: libFuzzer target for the supply chain's admin
 * bodies (server/handlers/supply_input.c). The first byte picks the kind of
 * body, the rest is the body.
 *
 * Beyond "does not crash", whatever the decoder accepts must meet the rules
 * the database enforces: a range of two numbers from 1, first <= last; a
 * known state; a reason of text within its length.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/supply.h"
#include "product.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_supply_input: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const states[] = {"void", "stolen", "destroyed", "sample", "none"};
	char err[256];
	struct supply_in in;
	if (size < 1)
		return 0;
	enum supply_body kind = (enum supply_body)(data[0] % 3);
	if (supply_decode(kind, (const char *)data + 1, size - 1, &in, err, sizeof err) !=
	    ADMIN_DECODE_OK) {
		check(strlen(err) > 0, "a refusal without a reason");
		return 0;
	}
	if (in.has_reason) {
		long n = product_text_chars(in.reason);
		check(n >= 1 && n <= ADMIN_TEXT_MAX, "an accepted reason breaks the text rule");
	}
	if (kind == SUPPLY_BODY_ACTIVATE && in.has_range)
		check(in.first >= 1 && in.first <= in.last, "an accepted range is not a range");
	if (kind == SUPPLY_BODY_STATE) {
		int known = 0;
		for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
			known |= strcmp(in.state, states[i]) == 0;
		check(known, "an accepted state is unknown");
	}
	return 0;
}
