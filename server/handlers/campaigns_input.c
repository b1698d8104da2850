/*
 * campaigns_input.c: a new campaign's body checked (campaigns.h), pure,
 * fuzzed (fuzz/fuzz_campaign_input.c): a body it accepts has only known
 * fields, each of its type and within the CHECK constraints of campaigns
 * and campaign_prizes, so that the database refuses only what needs it.
 */
#include "handlers/campaigns.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int text_ok(json_t *v, size_t min, size_t max)
{
	size_t n = json_string_length(v);
	return json_is_string(v) && n >= min && n <= max && !memchr(json_string_value(v), '\0', n);
}

static int int_ok(json_t *v, long long min, long long max)
{
	return json_is_integer(v) && json_integer_value(v) >= min && json_integer_value(v) <= max;
}

/* Only the fields named in allowed (space-separated, each followed by a space). */
static int known_fields(json_t *o, const char *allowed)
{
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v)
	{
		size_t n = strlen(key);
		int found = 0;
		for (const char *p = allowed; *p && !found; p += strcspn(p, " ") + 1)
			found = strcspn(p, " ") == n && memcmp(p, key, n) == 0;
		if (!found)
			return 0;
	}
	return 1;
}

/* An absent or null list, or an array of at most CAMPAIGN_LIST_MAX items of one kind. */
static int list_ok(json_t *o, const char *name, int integers, size_t maxlen)
{
	json_t *a = json_object_get(o, name), *v;
	size_t i;
	if (!a || json_is_null(a))
		return 1;
	if (!json_is_array(a) || json_array_size(a) < 1 || json_array_size(a) > CAMPAIGN_LIST_MAX)
		return 0;
	json_array_foreach(a, i, v)
	{
		if (integers ? !int_ok(v, 1, (1LL << 62)) : !text_ok(v, 1, maxlen))
			return 0;
	}
	return 1;
}

enum admin_decode campaign_decode(const char *body, size_t len, char **canon, char *err,
                                  size_t errlen)
{
	json_error_t je;
	enum admin_decode why = ADMIN_DECODE_BAD_REQUEST;
	json_t *v, *t;
	size_t i;
	*canon = NULL;
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		snprintf(err, errlen, "malformed JSON: %s", je.text);
		return ADMIN_DECODE_BAD_JSON;
	}
	if (!json_is_object(j)) {
		snprintf(err, errlen, "the body must be a JSON object");
		goto out;
	}
	if (!known_fields(j, "brand name starts_at ends_at products batches regions multiplier "
	                     "bonus first_claim_bonus ladder daily_limit prizes red_packet ")) {
		snprintf(
		    err, errlen,
		    "unknown field (brand, name, starts_at, ends_at, products, batches, regions, "
		    "multiplier, bonus, first_claim_bonus, ladder, daily_limit, prizes, "
		    "red_packet)");
		goto out;
	}
	if (!text_ok(json_object_get(j, "brand"), 0, 800)) {
		snprintf(err, errlen, "brand must be a brand's name");
		goto out;
	}
	if (!text_ok(json_object_get(j, "name"), 1, 800)) {
		snprintf(err, errlen, "name must be 1 to 200 characters");
		goto out;
	}
	v = json_object_get(j, "starts_at");
	if ((v && !json_is_null(v) && !text_ok(v, 1, 40)) ||
	    !text_ok(json_object_get(j, "ends_at"), 1, 40)) {
		snprintf(err, errlen, "ends_at (and starts_at, if given) must be ISO 8601 times");
		goto out;
	}
	if (!list_ok(j, "products", 0, 64) || !list_ok(j, "batches", 1, 0) ||
	    !list_ok(j, "regions", 0, 16)) {
		snprintf(
		    err, errlen,
		    "products (SKUs), batches (print run ids) and regions (ISO 3166 codes) are "
		    "lists of 1 to %d items",
		    CAMPAIGN_LIST_MAX);
		goto out;
	}
	v = json_object_get(j, "multiplier");
	if (v && !(json_is_number(v) && json_number_value(v) >= 1 && json_number_value(v) <= 100)) {
		snprintf(err, errlen, "multiplier must be a number from 1 to 100 (2 decimals)");
		goto out;
	}
	if ((v = json_object_get(j, "bonus")) && !int_ok(v, 0, CAMPAIGN_POINTS_MAX)) {
		snprintf(err, errlen, "bonus must be a whole number of points from 0 to %d",
		         CAMPAIGN_POINTS_MAX);
		goto out;
	}
	if ((v = json_object_get(j, "first_claim_bonus")) && !int_ok(v, 0, CAMPAIGN_POINTS_MAX)) {
		snprintf(err, errlen,
		         "first_claim_bonus must be a whole number of points from 0 to %d",
		         CAMPAIGN_POINTS_MAX);
		goto out;
	}
	if ((v = json_object_get(j, "daily_limit")) && !int_ok(v, 1, CAMPAIGN_POINTS_MAX)) {
		snprintf(err, errlen, "daily_limit must be a whole number of claims from 1 to %d",
		         CAMPAIGN_POINTS_MAX);
		goto out;
	}
	if ((v = json_object_get(j, "ladder")) &&
	    (!json_is_object(v) || !known_fields(v, "every bonus ") ||
	     !int_ok(json_object_get(v, "every"), 2, CAMPAIGN_POINTS_MAX) ||
	     !int_ok(json_object_get(v, "bonus"), 1, CAMPAIGN_POINTS_MAX))) {
		snprintf(
		    err, errlen,
		    "ladder must be {\"every\": N (2 or more), \"bonus\": points (1 or more)}");
		goto out;
	}
	if ((v = json_object_get(j, "prizes"))) {
		if (!json_is_array(v) || json_array_size(v) < 1 ||
		    json_array_size(v) > CAMPAIGN_PRIZES_MAX) {
			snprintf(err, errlen, "prizes must be a list of 1 to %d tiers",
			         CAMPAIGN_PRIZES_MAX);
			goto out;
		}
		json_array_foreach(v, i, t)
		{
			if (!json_is_object(t) || !known_fields(t, "name count probability_ppm ") ||
			    !text_ok(json_object_get(t, "name"), 1, 800) ||
			    !int_ok(json_object_get(t, "count"), 1, 100000000) ||
			    !int_ok(json_object_get(t, "probability_ppm"), 1, 1000000)) {
				snprintf(err, errlen,
				         "each prize is {\"name\", \"count\" (1 to 100000000), "
				         "\"probability_ppm\" (1 to 1000000: parts per million)}");
				goto out;
			}
		}
	}
	if ((v = json_object_get(j, "red_packet")) && !json_is_null(v)) {
		/* money in integer minor units; how they combine is campaign_create's to check */
		const char *key;
		json_t *x;
		int bad = !json_is_object(v) ||
		          !known_fields(v, "amount min max budget member_cap daily_cap currency ");
		if (!bad)
			json_object_foreach(v, key, x)
			{
				if (strcmp(key, "currency") == 0
				        ? !text_ok(x, 3, 3)
				        : !int_ok(x, 1, CAMPAIGN_MONEY_MAX))
					bad = 1;
			}
		if (bad) {
			snprintf(err, errlen,
			         "red_packet is {\"amount\" or \"min\" and \"max\", \"budget\", "
			         "\"member_cap\", \"daily_cap\" (whole minor units: fen, cents), "
			         "\"currency\" (CNY)}");
			goto out;
		}
	}
	*canon = json_dumps(j, JSON_COMPACT);
	if (!*canon) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	why = ADMIN_DECODE_OK;
out:
	json_decref(j);
	return why;
}
