/*
 * auth_input.c: the bodies of POST /api/v1/auth/sms and .../verify, decoded
 * by a pure function shared with the fuzz target (fuzz/fuzz_auth_input.c).
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "handlers/auth.h"

int auth_input_decode(const char *body, size_t len, int need_code, struct auth_input *out,
                      char *err, size_t errlen)
{
	json_error_t jerr;
	memset(out, 0, sizeof *out);
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		snprintf(err, errlen, "malformed JSON: %s", jerr.text);
		return -1;
	}
	json_t *phone = json_object_get(j, "phone"), *code = json_object_get(j, "code"),
	       *consent = json_object_get(j, "consent");
	if (!json_is_object(j) || !json_is_string(phone) || (need_code && !json_is_string(code)) ||
	    (consent && !json_is_boolean(consent))) {
		snprintf(err, errlen, "%s",
		         need_code ? "expected {\"phone\": string, \"code\": string}"
		                   : "expected {\"phone\": string}");
		goto bad;
	}
	size_t pl = json_string_length(phone);
	if (pl > PII_VALUE_MAX || strlen(json_string_value(phone)) != pl) {
		snprintf(err, errlen, "%s", "a phone number has at most 256 characters, no NUL");
		goto bad;
	}
	memcpy(out->phone, json_string_value(phone), pl + 1);
	out->phone_len = pl;
	if (need_code) {
		const char *c = json_string_value(code);
		size_t cl = json_string_length(code);
		if (cl != 6 || strspn(c, "0123456789") != 6) {
			snprintf(err, errlen, "%s", "a code is the 6 digits of the text message");
			goto bad;
		}
		memcpy(out->code, c, 7);
	}
	out->consent = json_is_true(consent);
	json_decref(j);
	return 0;
bad:
	json_decref(j);
	memset(out, 0, sizeof *out);
	return -1;
}
