/*
 * payouts_reply.c: the payment provider's answer when a sent payout is
 * asked about again (payouts.h), pure, fuzzed (fuzz/fuzz_payout_callback.c).
 * Only an exact "paid" or "failed" settles a payout; whatever else comes
 * back leaves it sent, to be asked about again.
 */
#include "engine/payouts.h"

#include <jansson.h>
#include <string.h>

enum payouts_answer payouts_answer_of(const char *body, size_t len)
{
	enum payouts_answer a = PAYOUTS_ANSWER_PENDING;
	if (!body || !len)
		return a;
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	json_t *st = json_is_object(j) ? json_object_get(j, "status") : NULL;
	if (json_is_string(st)) {
		const char *v = json_string_value(st);
		size_t n = json_string_length(st);
		if (n == 4 && memcmp(v, "paid", 4) == 0)
			a = PAYOUTS_ANSWER_PAID;
		else if (n == 6 && memcmp(v, "failed", 6) == 0)
			a = PAYOUTS_ANSWER_FAILED;
	}
	json_decref(j);
	return a;
}

const char *payouts_answer_label(enum payouts_answer a)
{
	switch (a) {
	case PAYOUTS_ANSWER_PAID:
		return "paid";
	case PAYOUTS_ANSWER_FAILED:
		return "failed";
	case PAYOUTS_ANSWER_PENDING:
		break;
	}
	return "pending";
}
