/*
 * mall_input.c: the points mall's bodies checked (mall.h), pure, fuzzed
 * (fuzz/fuzz_mall_input.c): a body accepted has only known fields, each of
 * its type and within the CHECK constraints of sql/027_mall.sql, so the
 * database refuses only what needs it (an unknown brand or reward). The
 * address's masked copy is made here, from the same checked text.
 */
#include "handlers/mall.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADDRESS_JSON_MAX 2048 /* PII_TEXT_MAX: what pii_seal_text takes */

/* A string of min..max bytes, no NUL and no control character. */
static int text_ok(json_t *v, size_t min, size_t max)
{
	if (!json_is_string(v))
		return 0;
	size_t n = json_string_length(v);
	const unsigned char *s = (const unsigned char *)json_string_value(v);
	if (n < min || n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

static int int_ok(json_t *v, long long min, long long max)
{
	return json_is_integer(v) && json_integer_value(v) >= min && json_integer_value(v) <= max;
}

/* Only the fields named in allowed (space-separated, each followed by a space). */
static int known_fields(json_t *o, const char *allowed)
{
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v)
	{
		size_t n = strlen(key);
		int found = 0;
		for (const char *p = allowed; *p && !found; p += strcspn(p, " ") + 1)
			found = strcspn(p, " ") == n && memcmp(p, key, n) == 0;
		if (!found)
			return 0;
	}
	return 1;
}

static int phone_ok(json_t *v)
{
	int digits = 0;
	if (!text_ok(v, 4, 32))
		return 0;
	for (const char *p = json_string_value(v); *p; p++) {
		if (*p >= '0' && *p <= '9')
			digits++;
		else if (!strchr("+ -()", *p))
			return 0;
	}
	return digits >= 4;
}

/* The name's first UTF-8 character and "**". */
static json_t *mask_name(const char *s)
{
	char out[8];
	size_t n = 1;
	while (s[n] && ((unsigned char)s[n] & 0xc0) == 0x80 && n < 4)
		n++;
	memcpy(out, s, n);
	memcpy(out + n, "**", 3);
	return json_string(out);
}

/* The phone's digits: the first three and the last four, "****" between (fewer: "****"). */
static json_t *mask_phone(const char *s)
{
	char d[33], out[16];
	size_t n = 0;
	for (; *s && n < sizeof d - 1; s++)
		if (*s >= '0' && *s <= '9')
			d[n++] = *s;
	d[n] = '\0';
	if (n < 8)
		return json_string("****");
	snprintf(out, sizeof out, "%.3s****%s", d, d + n - 4);
	return json_string(out);
}

void mall_order_in_free(struct mall_order_in *in)
{
	if (!in)
		return;
	free(in->address);
	free(in->masked);
	in->address = in->masked = NULL;
}

enum admin_decode mall_order_decode(const char *body, size_t len, struct mall_order_in *out,
                                    char *err, size_t errlen)
{
	json_error_t je;
	enum admin_decode why = ADMIN_DECODE_BAD_REQUEST;
	json_t *a, *m = NULL;
	memset(out, 0, sizeof *out);
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		snprintf(err, errlen, "malformed JSON: %s", je.text);
		return ADMIN_DECODE_BAD_JSON;
	}
	if (!json_is_object(j) || !known_fields(j, "reward address ")) {
		snprintf(err, errlen,
		         "the body is {\"reward\": id, \"address\": {...}}, nothing else");
		goto out;
	}
	if (!int_ok(json_object_get(j, "reward"), 1, (1LL << 62))) {
		snprintf(err, errlen, "reward is a reward's id (a positive integer)");
		goto out;
	}
	a = json_object_get(j, "address");
	if (!json_is_object(a) ||
	    !known_fields(a, "name phone line1 line2 city region country postcode ")) {
		snprintf(err, errlen,
		         "address is an object of name, phone, line1 and optionally line2, city, "
		         "region, country, postcode");
		goto out;
	}
	if (!text_ok(json_object_get(a, "name"), 1, 100) ||
	    !phone_ok(json_object_get(a, "phone")) ||
	    !text_ok(json_object_get(a, "line1"), 1, 300)) {
		snprintf(
		    err, errlen,
		    "address needs name (1-100 characters), phone (4-32 of digits, + - ( ) and "
		    "spaces) and line1 (1-300 characters)");
		goto out;
	}
	static const struct {
		const char *name;
		size_t max;
	} optional[] = {
	    {"line2", 300}, {"city", 100}, {"region", 100}, {"country", 100}, {"postcode", 20}};
	for (size_t i = 0; i < sizeof optional / sizeof optional[0]; i++) {
		json_t *v = json_object_get(a, optional[i].name);
		if (v && !text_ok(v, 1, optional[i].max)) {
			snprintf(err, errlen, "address.%s is text of 1 to %zu characters",
			         optional[i].name, optional[i].max);
			goto out;
		}
	}
	out->address = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS);
	if (!out->address || strlen(out->address) > ADDRESS_JSON_MAX) {
		snprintf(err, errlen, "the address is too long");
		goto out;
	}
	m = json_pack("{s:o,s:o,s:s}", "name",
	              mask_name(json_string_value(json_object_get(a, "name"))), "phone",
	              mask_phone(json_string_value(json_object_get(a, "phone"))), "line1", "***");
	const char *kept[] = {"city", "region", "country"};
	for (size_t i = 0; m && i < 3; i++) {
		json_t *v = json_object_get(a, kept[i]);
		if (v)
			json_object_set(m, kept[i], v);
	}
	out->masked = m ? json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	if (!out->masked) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	out->reward = json_integer_value(json_object_get(j, "reward"));
	why = ADMIN_DECODE_OK;
out:
	if (why != ADMIN_DECODE_OK)
		mall_order_in_free(out);
	json_decref(m);
	json_decref(j);
	return why;
}

enum admin_decode mall_reward_decode(const char *body, size_t len, int create, char **canon,
                                     char *err, size_t errlen)
{
	json_error_t je;
	enum admin_decode why = ADMIN_DECODE_BAD_REQUEST;
	json_t *v;
	*canon = NULL;
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		snprintf(err, errlen, "malformed JSON: %s", je.text);
		return ADMIN_DECODE_BAD_JSON;
	}
	if (!json_is_object(j) ||
	    !known_fields(j, create ? "brand name description points stock active "
	                            : "name description points stock active ")) {
		snprintf(err, errlen,
		         create
		             ? "a reward is an object of brand, name, points, stock and optionally "
		               "description, active"
		             : "a change is an object of name, description, points, stock, active");
		goto out;
	}
	if (create && (!json_object_get(j, "brand") || !json_object_get(j, "name") ||
	               !json_object_get(j, "points") || !json_object_get(j, "stock"))) {
		snprintf(err, errlen, "a new reward needs brand, name, points and stock");
		goto out;
	}
	if (!create && json_object_size(j) == 0) {
		snprintf(err, errlen, "a change names one field at least");
		goto out;
	}
	if ((v = json_object_get(j, "brand")) && !text_ok(v, 1, 200)) {
		snprintf(err, errlen, "brand is a brand's name");
		goto out;
	}
	if ((v = json_object_get(j, "name")) && !text_ok(v, 1, MALL_NAME_MAX)) {
		snprintf(err, errlen, "name is 1 to %d characters", MALL_NAME_MAX);
		goto out;
	}
	if ((v = json_object_get(j, "description")) && !text_ok(v, 0, MALL_DESC_MAX)) {
		snprintf(err, errlen, "description is at most %d characters", MALL_DESC_MAX);
		goto out;
	}
	if ((v = json_object_get(j, "points")) && !int_ok(v, 1, MALL_POINTS_MAX)) {
		snprintf(err, errlen, "points (the price) is an integer of 1 to %lld",
		         MALL_POINTS_MAX);
		goto out;
	}
	if ((v = json_object_get(j, "stock")) && !int_ok(v, 0, MALL_POINTS_MAX)) {
		snprintf(err, errlen, "stock is an integer of 0 to %lld", MALL_POINTS_MAX);
		goto out;
	}
	if ((v = json_object_get(j, "active")) && !json_is_boolean(v)) {
		snprintf(err, errlen, "active is true or false");
		goto out;
	}
	*canon = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	if (!*canon) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	why = ADMIN_DECODE_OK;
out:
	json_decref(j);
	return why;
}

int mall_status_check(const char *s)
{
	static const char *const ok[] = {"placed", "shipped", "cancelled", "refunded"};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		if (strcmp(s, ok[i]) == 0)
			return 0;
	return -1;
}
