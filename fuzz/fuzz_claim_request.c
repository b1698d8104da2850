/*
 * fuzz_claim_request.c: libFuzzer target for claim_request_decode, which
 * reads the JSON body of every POST /api/v1/claims.
 *
 * Beyond "does not crash": an accepted body yields a code of at most
 * CODE_INPUT_MAX bytes and code, member and pin strings whose C length is
 * their JSON length (no NUL hidden inside); a refused one says why.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/claim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_claim_request: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct claim_request cr;
	char err[200];
	err[0] = '\0';
	enum claim_decode d = claim_request_decode((const char *)data, size, &cr, err, sizeof err);
	if (d != CLAIM_DECODE_OK) {
		check(d == CLAIM_DECODE_BAD_JSON || d == CLAIM_DECODE_BAD_REQUEST,
		      "unknown outcome");
		check(err[0] != '\0' && strlen(err) < sizeof err, "a refusal without a reason");
		check(!cr.json && !cr.code && !cr.member && !cr.pin,
		      "a refusal left something behind");
		return 0;
	}
	check(json_is_object(cr.json), "accepted a body that is no object");
	check(cr.code && strlen(cr.code) == cr.codelen && cr.codelen <= CODE_INPUT_MAX,
	      "code too long or with a NUL inside");
	check(cr.member ? strlen(cr.member) == cr.memberlen : cr.memberlen == 0,
	      "member with a NUL inside");
	check(json_string_value(json_object_get(cr.json, "code")) == cr.code,
	      "code is not the body's");
	const json_t *pin = json_object_get(cr.json, "pin");
	check(cr.pin ? json_is_string(pin) && strlen(cr.pin) == json_string_length(pin)
	             : !pin || json_is_null(pin),
	      "pin does not match the body's");
	claim_request_release(&cr);
	check(!cr.json, "release left the JSON");
	return 0;
}
