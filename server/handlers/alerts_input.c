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
		    strcmp(key, "brand") && strcmp(key, "region")) {
			snprintf(err, errlen,
			         "unknown field (kind, threshold, window_s, brand, region)");
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
	int travel = strcmp(kind, "travel") == 0;
	if (travel && !json_object_get(j, "threshold"))
		out->threshold = ALERT_TRAVEL_KMH;
	else if (get_int(j, "threshold", 1, ALERT_THRESHOLD_MAX, &out->threshold, err, errlen) < 0)
		goto out;
	if (get_int(j, "window_s", ALERT_WINDOW_MIN_S, ALERT_WINDOW_MAX_S, &out->window_s, err,
	            errlen) < 0)
		goto out;
	v = json_object_get(j, "region");
	if (v && !json_is_null(v)) {
		const char *g = json_string_value(v);
		size_t n = g ? strlen(g) : 0;
		if (strcmp(kind, "not_genuine") != 0) {
			snprintf(err, errlen, "region is for not_genuine rules");
			goto out;
		}
		/* ISO 3166-1 alpha-2, or -2: two letters, '-', one to three letters or digits */
		if (!g || !(n == 2 || (n >= 4 && n <= 6 && g[2] == '-')) ||
		    strspn(g, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") < 2 ||
		    (n > 2 && strspn(g + 3, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != n - 3)) {
			snprintf(err, errlen, "region is an ISO 3166 code: CN, CN-ZJ, US-CA");
			goto out;
		}
		memcpy(out->region, g, n + 1);
	}
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
