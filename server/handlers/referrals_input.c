/*
 * referrals_input.c: what comes in for referrals, checked by pure
 * functions that the handler, the unit test and the fuzz target share: a
 * code (from a path, a cookie or a body), a device cookie, the body of
 * POST .../me/referral and the staff list's query.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "edge/http.h"
#include "handlers/referrals.h"

int referral_code_valid(const char *s, size_t len)
{
	if (len != REFERRAL_CODE_LEN)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '2' && s[i] <= '7')))
			return 0;
	return 1;
}

int referral_device_valid(const char *s, size_t len)
{
	if (len != REFERRAL_DEVICE_LEN)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int referral_body_decode(const char *body, size_t len, char code[REFERRAL_CODE_LEN + 1], char *err,
                         size_t errlen)
{
	json_error_t jerr;
	int rc = -1;
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	json_t *c = json_object_get(j, "code");
	const char *s = json_string_value(c);
	if (!j) {
		snprintf(err, errlen, "malformed JSON: %s", jerr.text);
		goto out;
	}
	if (!json_is_object(j) || json_object_size(j) != 1 || !s) {
		snprintf(err, errlen, "%s", "expected {\"code\": the code of a share link}");
		goto out;
	}
	size_t n = json_string_length(c);
	char low[REFERRAL_CODE_LEN];
	for (size_t i = 0; i < n && i < sizeof low; i++)
		low[i] = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
	if (n != REFERRAL_CODE_LEN || !referral_code_valid(low, n)) {
		snprintf(err, errlen, "%s", "not a referral code (10 letters and digits 2-7)");
		goto out;
	}
	memcpy(code, low, n);
	code[n] = '\0';
	rc = 0;
out:
	json_decref(j);
	return rc;
}

int referral_query_decode(const char *query, int *flagged, long long *before, int *limit, char *err,
                          size_t errlen)
{
	char f[8];
	long long v = 0;
	*flagged = 0;
	*before = 0;
	*limit = 50;
	int got = http_form_field(query, strlen(query), "flagged", f, sizeof f);
	if (got < 0 || (got == 1 && strcmp(f, "true") != 0 && strcmp(f, "false") != 0)) {
		snprintf(err, errlen, "%s", "flagged is true or false");
		return -1;
	}
	*flagged = got == 1 && f[0] == 't';
	got = http_query_int(query, "before", 1LL << 62, &v);
	if (got < 0) {
		snprintf(err, errlen, "%s", "before is a referral id");
		return -1;
	}
	*before = got ? v : 0;
	got = http_query_int(query, "limit", REFERRAL_LIMIT_MAX, &v);
	if (got < 0) {
		snprintf(err, errlen, "limit is 1 to %d", REFERRAL_LIMIT_MAX);
		return -1;
	}
	if (got)
		*limit = (int)v;
	return 0;
}

/* Integer field name of o in [min, max] into *out (absent: 0 if optional). 0 or -1 with err. */
static int int_field(json_t *o, const char *name, long long min, long long max, int optional,
                     int *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, name);
	if (!v && optional) {
		*out = 0;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		snprintf(err, errlen, "%s must be a whole number from %lld to %lld", name, min,
		         max);
		return -1;
	}
	*out = (int)json_integer_value(v);
	return 0;
}

int referral_rules_decode(const char *body, size_t len, struct referral_rules_input *in, char *err,
                          size_t errlen)
{
	static const char *const known[] = {"brand", "referee_points", "referrer_points",
	                                    "daily_max", "window_hours"};
	json_error_t jerr;
	int rc = -1;
	const char *key;
	json_t *v;
	memset(in, 0, sizeof *in);
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		snprintf(err, errlen, "malformed JSON: %s", jerr.text);
		return -1;
	}
	if (!json_is_object(j)) {
		snprintf(err, errlen, "%s", "expected an object");
		goto out;
	}
	json_object_foreach(j, key, v)
	{
		size_t k = 0;
		while (k < sizeof known / sizeof known[0] && strcmp(key, known[k]) != 0)
			k++;
		if (k == sizeof known / sizeof known[0]) {
			snprintf(err, errlen, "unknown field \"%.40s\"", key);
			goto out;
		}
	}
	json_t *b = json_object_get(j, "brand");
	if (b && !json_is_null(b)) {
		const char *s = json_string_value(b);
		size_t n = s ? json_string_length(b) : 0;
		if (!s || n < 1 || n > REFERRAL_BRAND_MAX || strlen(s) != n) {
			snprintf(err, errlen,
			         "brand is a brand's name (1 to %d characters) or null",
			         REFERRAL_BRAND_MAX);
			goto out;
		}
		memcpy(in->brand, s, n + 1);
	}
	if (int_field(j, "referee_points", 0, REFERRAL_POINTS_MAX, 0, &in->referee_points, err,
	              errlen) < 0 ||
	    int_field(j, "referrer_points", 0, REFERRAL_POINTS_MAX, 0, &in->referrer_points, err,
	              errlen) < 0 ||
	    int_field(j, "daily_max", 1, 100000, 1, &in->daily_max, err, errlen) < 0 ||
	    int_field(j, "window_hours", 1, 8760, 1, &in->window_hours, err, errlen) < 0)
		goto out;
	if (in->brand[0] && (in->daily_max || in->window_hours)) {
		snprintf(
		    err, errlen, "%s",
		    "daily_max and window_hours are the group's (a referral has no brand yet)");
		goto out;
	}
	rc = 0;
out:
	json_decref(j);
	return rc;
}
