/*
 * resolver_input.c: a brand's resolver link as the admin API's body says
 * it, decoded and checked without side effects (unit-tested and fuzzed);
 * what it accepts meets product_links' CHECK constraints (dl_link_check).
 */
#include "handlers/resolver.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

/* Copy string field name into out: 1, 0 absent or null, -1 with err. */
static int field(json_t *o, const char *name, char *out, size_t outlen, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, name);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		snprintf(err, errlen, "%s must be a string", name);
		return -1;
	}
	size_t n = json_string_length(v);
	if (memchr(json_string_value(v), '\0', n) || n >= outlen) {
		snprintf(err, errlen, "%s is too long or holds a NUL", name);
		return -1;
	}
	memcpy(out, json_string_value(v), n + 1);
	return 1;
}

int resolver_link_decode(const char *body, size_t len, struct resolver_link_in *out, int *bad_json,
                         char *err, size_t errlen)
{
	static const char *const known[] = {"link_type", "href", "title", "hreflang", "type"};
	json_error_t je;
	char type[80] = "";
	const char *key;
	json_t *v, *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	int rc = -1;
	*bad_json = 0;
	if (errlen)
		err[0] = '\0';
	memset(out, 0, sizeof *out);
	if (!o) {
		*bad_json = 1;
		snprintf(err, errlen, "malformed JSON: %s", je.text);
		return -1;
	}
	if (!json_is_object(o)) {
		snprintf(err, errlen, "the body must be a JSON object");
		goto out;
	}
	json_object_foreach(o, key, v)
	{
		size_t i = 0;
		while (i < sizeof known / sizeof known[0] && strcmp(known[i], key) != 0)
			i++;
		if (i == sizeof known / sizeof known[0]) {
			snprintf(err, errlen, "unknown field \"%.40s\"", key);
			goto out;
		}
	}
	if (field(o, "link_type", type, sizeof type, err, errlen) <= 0 ||
	    field(o, "href", out->href, sizeof out->href, err, errlen) <= 0 ||
	    field(o, "title", out->title, sizeof out->title, err, errlen) <= 0) {
		if (!err[0] || strstr(err, "must") == NULL)
			snprintf(err, errlen, "link_type, href and title are required strings");
		goto out;
	}
	if (field(o, "hreflang", out->hreflang, sizeof out->hreflang, err, errlen) < 0)
		goto out;
	int has_type = field(o, "type", out->media_type, sizeof out->media_type, err, errlen);
	if (has_type < 0)
		goto out;
	if (!has_type)
		snprintf(out->media_type, sizeof out->media_type, "text/html");
	if (dl_link_check(type, out->href, out->title, out->hreflang, out->media_type, &out->type,
	                  err, errlen) < 0)
		goto out;
	rc = 0;
out:
	json_decref(o);
	return rc;
}
