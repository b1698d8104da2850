/*
 * claim_request.c: the body of POST /api/v1/claims, decoded and checked by a
 * pure function (no I/O, no state), which the handler and the fuzz target
 * (fuzz/fuzz_claim_request.c) share. The strings it yields have no NUL
 * inside, so C string functions see all of them.
 */
#include <stdio.h>
#include <string.h>

#include "handlers/claim.h"

/* A JSON string's value if it holds no NUL byte, else NULL. */
static const char *nul_free(const json_t *s)
{
	const char *v = json_string_value(s);
	return v && strlen(v) == json_string_length(s) ? v : NULL;
}

enum claim_decode claim_request_decode(const char *body, size_t len, struct claim_request *out,
                                       char *err, size_t errlen)
{
	json_error_t jerr;
	memset(out, 0, sizeof *out);
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		snprintf(err, errlen, "malformed JSON: %s", jerr.text);
		return CLAIM_DECODE_BAD_JSON;
	}
	json_t *code = json_object_get(j, "code"), *member = json_object_get(j, "member"),
	       *pin = json_object_get(j, "pin");
	if (!json_is_object(j) || !json_is_string(code) ||
	    (member && !json_is_string(member) && !json_is_null(member)) ||
	    (pin && !json_is_string(pin) && !json_is_null(pin))) {
		snprintf(err, errlen, "%s",
		         "expected {\"code\": string, \"member\": string, \"pin\": string}");
		goto bad;
	}
	out->codelen = json_string_length(code);
	if (out->codelen > CODE_INPUT_MAX || !(out->code = nul_free(code))) {
		snprintf(err, errlen, "%s",
		         "a code has at most 20 characters (64 with separators)");
		goto bad;
	}
	out->memberlen = json_is_string(member) ? json_string_length(member) : 0;
	if (json_is_string(member) && !(out->member = nul_free(member))) {
		snprintf(err, errlen, "%s", "member contains a NUL character");
		goto bad;
	}
	if (json_is_string(pin) && !(out->pin = nul_free(pin))) {
		snprintf(err, errlen, "%s", "pin contains a NUL character");
		goto bad;
	}
	out->json = j;
	return CLAIM_DECODE_OK;
bad:
	json_decref(j);
	memset(out, 0, sizeof *out);
	return CLAIM_DECODE_BAD_REQUEST;
}

void claim_request_release(struct claim_request *req)
{
	if (!req)
		return;
	json_decref(req->json);
	memset(req, 0, sizeof *req);
}
