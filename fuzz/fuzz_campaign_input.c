/*
 * fuzz_campaign_input.c: libFuzzer target for a new campaign's body
 * (server/handlers/campaigns_input.c), the admin API's outside input.
 *
 * Beyond "does not crash": a body accepted is given back as JSON that
 * parses again, and that the check accepts again (a fixed point).
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/campaigns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256], *canon = NULL, *again = NULL;
	if (campaign_decode((const char *)data, size, &canon, err, sizeof err) != ADMIN_DECODE_OK)
		return 0;
	if (!canon ||
	    campaign_decode(canon, strlen(canon), &again, err, sizeof err) != ADMIN_DECODE_OK ||
	    strcmp(canon, again) != 0) {
		fprintf(stderr, "fuzz_campaign_input: an accepted body is not accepted again\n");
		abort();
	}
	free(canon);
	free(again);
	return 0;
}
