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
