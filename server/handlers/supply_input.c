/*
 * supply_input.c: the supply chain's admin bodies decoded and checked
 * (pure: no I/O, fuzzed). Unknown fields are ignored, as in admin_input.c.
 */
#include "handlers/supply.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "product.h"

#define SEQ_MAX 1099511627775LL /* the serial space */

/* Optional whole number field name in [1, SEQ_MAX]: 1 got, 0 absent, -1 with err. */
static int get_seq(json_t *o, const char *name, long long *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, name);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > SEQ_MAX) {
		snprintf(err, errlen, "%s must be a whole number from 1 to %lld", name, SEQ_MAX);
		return -1;
	}
	*out = json_integer_value(v);
	return 1;
}

/* Optional string field name into out: 1 got, 0 absent, -1 with err. */
static int get_text(json_t *o, const char *name, char *out, size_t outlen, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, name);
	if (!v || json_is_null(v))
		return 0;
	size_t n = json_is_string(v) ? json_string_length(v) : 0;
	if (!json_is_string(v) || memchr(json_string_value(v), '\0', n) || n >= outlen) {
		snprintf(err, errlen, "%s must be a string of at most %zu bytes", name, outlen - 1);
		return -1;
	}
	memcpy(out, json_string_value(v), n + 1);
	return 1;
}

enum admin_decode supply_decode(enum supply_body kind, const char *body, size_t len,
                                struct supply_in *out, char *err, size_t errlen)
{
	static const char *const states[] = {"void", "stolen", "destroyed", "sample", "none"};
	enum admin_decode why = ADMIN_DECODE_BAD_REQUEST;
	json_error_t je;
	memset(out, 0, sizeof *out);
	json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!o) {
		snprintf(err, errlen, "malformed JSON: %s", je.text);
		return ADMIN_DECODE_BAD_JSON;
	}
	if (!json_is_object(o)) {
		snprintf(err, errlen, "the body must be a JSON object");
		goto out;
	}
	int got = get_text(o, "reason", out->reason, sizeof out->reason, err, errlen);
	if (got < 0)
		goto out;
	if (got) {
		long n = product_text_chars(out->reason);
		if (n < 1 || n > ADMIN_TEXT_MAX) {
			snprintf(err, errlen, "reason must be 1 to %d characters of text",
			         ADMIN_TEXT_MAX);
			goto out;
		}
		out->has_reason = 1;
	}
	if (kind == SUPPLY_BODY_ACTIVATE) {
		int f = get_seq(o, "first", &out->first, err, errlen);
		int l = f < 0 ? -1 : get_seq(o, "last", &out->last, err, errlen);
		if (f < 0 || l < 0)
			goto out;
		if (f != l || (f && out->first > out->last)) {
			snprintf(err, errlen, "first and last go together, first <= last");
			goto out;
		}
		out->has_range = f;
	} else if (kind == SUPPLY_BODY_STATE) {
		got = get_text(o, "state", out->state, sizeof out->state, err, errlen);
		int known = 0;
		for (size_t i = 0; got > 0 && i < sizeof states / sizeof states[0]; i++)
			known |= strcmp(out->state, states[i]) == 0;
		if (!known) {
			snprintf(err, errlen,
			         "state is one of void, stolen, destroyed, sample, none");
			goto out;
		}
	}
	why = ADMIN_DECODE_OK;
out:
	json_decref(o);
	return why;
}
