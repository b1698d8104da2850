/*
 * fuzz_auth_input.c: libFuzzer target for auth_input_decode, which reads the
 * JSON bodies of POST /api/v1/auth/sms and /api/v1/auth/sms/verify.
 *
 * Beyond "does not crash": an accepted body yields a phone whose C length is
 * its length (no NUL inside, at most PII_VALUE_MAX) and, when a code is
 * needed, exactly 6 digits; a refused one says why and leaves nothing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_auth_input: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int need = 0; need < 2; need++) {
		struct auth_input in;
		char err[200];
		err[0] = '\0';
		if (auth_input_decode((const char *)data, size, need, &in, err, sizeof err) < 0) {
			check(err[0] != '\0' && strlen(err) < sizeof err,
			      "a refusal without a reason");
			check(!in.phone[0] && !in.code[0], "a refusal left something behind");
			continue;
		}
		check(strlen(in.phone) == in.phone_len && in.phone_len <= PII_VALUE_MAX,
		      "phone too long or with a NUL inside");
		check(need ? strlen(in.code) == 6 && strspn(in.code, "0123456789") == 6
		           : !in.code[0],
		      "a code that is not 6 digits");
		check(in.consent == 0 || in.consent == 1, "consent not a boolean");
	}
	return 0;
}
