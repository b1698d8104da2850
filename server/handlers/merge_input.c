/*
 * merge_input.c: the body of POST /api/v1/admin/members/{member}/merge,
 * decoded by a pure function that the handler, its unit test and the fuzz
 * target (fuzz/fuzz_oidc.c) share. The member id is normalised by the
 * handler (lib/member_id.c), as every member id that comes in.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "handlers/merge.h"

int merge_request_decode(const char *body, size_t len, char *from, size_t fromlen, size_t *outlen,
                         char *err, size_t errlen)
{
	json_error_t jerr;
	int rc = -1;
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	json_t *f = json_object_get(j, "from");
	const char *s = json_string_value(f);
	if (!j)
		snprintf(err, errlen, "malformed JSON: %s", jerr.text);
	else if (!json_is_object(j) || json_object_size(j) != 1 || !s)
		snprintf(err, errlen, "%s", "expected {\"from\": member}");
	else if (json_string_length(f) == 0 || json_string_length(f) >= fromlen ||
	         strlen(s) != json_string_length(f))
		snprintf(err, errlen, "%s", "from is not a member id");
	else {
		*outlen = json_string_length(f);
		memcpy(from, s, *outlen + 1);
		rc = 0;
	}
	json_decref(j);
	return rc;
}
