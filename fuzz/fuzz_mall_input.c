/*
 * fuzz_mall_input.c: libFuzzer target for the points mall's bodies
 * (server/handlers/mall_input.c), outside input from members (an order)
 * and the admin API (a reward). The first byte picks the parser: an order,
 * a new reward or a reward's change; the rest is the body.
 *
 * Beyond "does not crash": what an accepted body becomes (the order's
 * address, the reward's canonical JSON) is accepted again and comes out the
 * same (a fixed point), and the masked address never holds the street.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/mall.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void order(const char *body, size_t len)
{
	char err[256], again[4096];
	struct mall_order_in in, in2;
	if (mall_order_decode(body, len, &in, err, sizeof err) != ADMIN_DECODE_OK)
		return;
	int n = snprintf(again, sizeof again, "{\"reward\":%lld,\"address\":%s}", in.reward,
	                 in.address);
	if (n < 0 || (size_t)n >= sizeof again ||
	    mall_order_decode(again, (size_t)n, &in2, err, sizeof err) != ADMIN_DECODE_OK ||
	    strcmp(in.address, in2.address) != 0 || strcmp(in.masked, in2.masked) != 0) {
		fprintf(stderr, "fuzz_mall_input: an accepted order is not accepted again\n");
		abort();
	}
	json_t *m = json_loads(in.masked, 0, NULL);
	if (!m || strcmp(json_string_value(json_object_get(m, "line1")), "***") != 0 ||
	    json_object_get(m, "postcode") || json_object_get(m, "line2")) {
		fprintf(stderr, "fuzz_mall_input: the masked address shows the street\n");
		abort();
	}
	json_decref(m);
	mall_order_in_free(&in);
	mall_order_in_free(&in2);
}

static void reward(const char *body, size_t len, int create)
{
	char err[256], *canon = NULL, *again = NULL;
	if (mall_reward_decode(body, len, create, &canon, err, sizeof err) != ADMIN_DECODE_OK)
		return;
	if (!canon ||
	    mall_reward_decode(canon, strlen(canon), create, &again, err, sizeof err) !=
	        ADMIN_DECODE_OK ||
	    strcmp(canon, again) != 0) {
		fprintf(stderr, "fuzz_mall_input: an accepted reward is not accepted again\n");
		abort();
	}
	free(canon);
	free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *body = (const char *)data + 1;
	switch (data[0] % 3) {
	case 0:
		order(body, size - 1);
		break;
	case 1:
		reward(body, size - 1, 1);
		break;
	default:
		reward(body, size - 1, 0);
		break;
	}
	return 0;
}
