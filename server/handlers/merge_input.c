/*
 * merge_input.c: the body of POST /api/v1/admin/members/{member}/merge,
 * decoded by a pure function that the handler, its unit test and the fuzz
 * target (fuzz/fuzz_oidc.c) share. {"from": m} and {"into": m} are the two
 * directions of one merge (the second is the members branch's contract).
 * The member id is found by the handler (auth_find), as every member id
 * that comes in.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "handlers/merge.h"

int merge_request_decode(const char *body, size_t len, char *other, size_t otherlen, size_t *outlen,
                         int *into, char *err, size_t errlen)
{
	json_error_t jerr;
	int rc = -1;
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	json_t *f = json_object_get(j, "from");
	*into = f == NULL;
	if (!f)
		f = json_object_get(j, "into");
	const char *s = json_string_value(f);
	if (!j)
		snprintf(err, errlen, "malformed JSON: %s", jerr.text);
	else if (!json_is_object(j) || json_object_size(j) != 1 || !s)
		snprintf(err, errlen, "%s", "expected {\"from\": member} or {\"into\": member}");
	else if (json_string_length(f) == 0 || json_string_length(f) >= otherlen ||
	         strlen(s) != json_string_length(f))
		snprintf(err, errlen, "%s", "not a member id");
	else {
		*outlen = json_string_length(f);
		memcpy(other, s, *outlen + 1);
		rc = 0;
	}
	json_decref(j);
	return rc;
}
