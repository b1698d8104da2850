/*
 * alerts_input.c: an alert rule's body decoded and checked (alerts.h),
 * pure, fuzzed (fuzz/fuzz_export_input.c drives it too): a body it accepts
 * meets the CHECK constraints of alert_rules.
 */
#include "handlers/alerts.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static int get_int(json_t *o, const char *name, long long min, long long max, int *out, char *err,
                   size_t errlen)
{
	json_t *v = json_object_get(o, name);
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		snprintf(err, errlen, "%s must be a whole number from %lld to %lld", name, min,
		         max);
		return -1;
	}
	*out = (int)json_integer_value(v);
	return 0;
}

enum admin_decode alert_rule_decode(const char *body, size_t len, struct alert_rule_in *out,
                                    char *err, size_t errlen)
{
	json_error_t je;
	enum admin_decode why = ADMIN_DECODE_BAD_REQUEST;
	const char *key;
	json_t *v;
	memset(out, 0, sizeof *out);
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		snprintf(err, errlen, "malformed JSON: %s", je.text);
		return ADMIN_DECODE_BAD_JSON;
	}
	if (!json_is_object(j)) {
		snprintf(err, errlen, "the body must be a JSON object");
		goto out;
	}
	json_object_foreach(j, key, v)
	{
		if (strcmp(key, "kind") && strcmp(key, "threshold") && strcmp(key, "window_s") &&
		    strcmp(key, "brand")) {
			snprintf(err, errlen, "unknown field (kind, threshold, window_s, brand)");
			goto out;
		}
	}
	const char *kind = json_string_value(json_object_get(j, "kind"));
	if (!kind ||
	    (strcmp(kind, "scanners") && strcmp(kind, "not_genuine") && strcmp(kind, "travel"))) {
		snprintf(err, errlen, "kind is scanners, not_genuine or travel");
		goto out;
	}
	snprintf(out->kind, sizeof out->kind, "%s", kind);
	if (get_int(j, "threshold", 1, ALERT_THRESHOLD_MAX, &out->threshold, err, errlen) < 0 ||
	    get_int(j, "window_s", ALERT_WINDOW_MIN_S, ALERT_WINDOW_MAX_S, &out->window_s, err,
	            errlen) < 0)
		goto out;
	v = json_object_get(j, "brand");
	if (v && !json_is_null(v)) {
		size_t n = json_string_length(v);
		if (!json_is_string(v) || n > ALERT_BRAND_MAX ||
		    memchr(json_string_value(v), '\0', n)) {
			snprintf(err, errlen, "brand must be a brand's name");
			goto out;
		}
		memcpy(out->brand, json_string_value(v), n + 1);
		out->has_brand = 1;
	}
	why = ADMIN_DECODE_OK;
out:
	json_decref(j);
	return why;
}
