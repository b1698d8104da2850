/*
 * fuzz_referral_input.c: libFuzzer target for what comes in for referrals
 * (server/handlers/referrals_input.c): the body of POST
 * /api/v1/members/me/referral, the staff list's query, the rules' body,
 * codes and device cookies.
 *
 * Beyond "does not crash": a code the body gives is a valid code, and the
 * body made of it decodes to the same code again (a fixed point); a query
 * accepted has its numbers in range.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/referrals.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256], code[REFERRAL_CODE_LEN + 1], again[REFERRAL_CODE_LEN + 1];
	(void)referral_code_valid((const char *)data, size);
	(void)referral_device_valid((const char *)data, size);
	if (referral_body_decode((const char *)data, size, code, err, sizeof err) == 0) {
		char body[64];
		int n = snprintf(body, sizeof body, "{\"code\":\"%s\"}", code);
		if (!referral_code_valid(code, strlen(code)) ||
		    referral_body_decode(body, (size_t)n, again, err, sizeof err) != 0 ||
		    strcmp(code, again) != 0) {
			fprintf(stderr,
			        "fuzz_referral_input: an accepted code is not accepted again\n");
			abort();
		}
	}
	struct referral_rules_input in;
	if (referral_rules_decode((const char *)data, size, &in, err, sizeof err) == 0 &&
	    (in.referee_points < 0 || in.referee_points > REFERRAL_POINTS_MAX ||
	     in.referrer_points < 0 || in.referrer_points > REFERRAL_POINTS_MAX ||
	     (in.brand[0] && (in.daily_max || in.window_hours)))) {
		fprintf(stderr, "fuzz_referral_input: rules accepted out of range\n");
		abort();
	}
	char *q = malloc(size + 1);
	if (!q)
		return 0;
	memcpy(q, data, size);
	q[size] = '\0';
	int flagged, limit;
	long long before;
	if (referral_query_decode(q, &flagged, &before, &limit, err, sizeof err) == 0 &&
	    (flagged < 0 || flagged > 1 || before < 0 || limit < 1 || limit > REFERRAL_LIMIT_MAX)) {
		fprintf(stderr, "fuzz_referral_input: a query accepted out of range\n");
		abort();
	}
	free(q);
	return 0;
}
