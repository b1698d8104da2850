/*
 * admin_input.c: what an admin request says, decoded and checked without
 * side effects: its JSON body and headers. Everything here is
 * pure, so that the unit tests and the fuzzer can drive it alone; a body it
 * accepts meets every rule the database's CHECK constraints stand behind.
 */
#include "handlers/admin.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- request bodies --------------------------------------------------------- */

/* The body as a JSON object, or NULL with err and *why set. */
static json_t *load_object(const char *body, size_t len, enum admin_decode *why, char *err,
                           size_t errlen)
{
	json_error_t je;
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		*why = ADMIN_DECODE_BAD_JSON;
		snprintf(err, errlen, "malformed JSON: %s", je.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		*why = ADMIN_DECODE_BAD_REQUEST;
		snprintf(err, errlen, "the body must be a JSON object");
		return NULL;
	}
	return j;
}

/*
 * Copy string field name (absent or null: optional says whether that is
 * fine) into out. 1 copied, 0 absent, -1 with err: not a string, a NUL, or
 * over outlen - 1 bytes.
 */
static int get_string(json_t *o, const char *name, int optional, char *out, size_t outlen,
                      char *err, size_t errlen)
{
	json_t *v = json_object_get(o, name);
	if (!v || json_is_null(v)) {
		if (optional)
			return 0;
		snprintf(err, errlen, "%s is required", name);
		return -1;
	}
	if (!json_is_string(v)) {
		snprintf(err, errlen, "%s must be a string", name);
		return -1;
	}
	size_t n = json_string_length(v);
	const char *s = json_string_value(v);
	if (memchr(s, '\0', n)) {
		snprintf(err, errlen, "%s contains a NUL character", name);
		return -1;
	}
	if (n >= outlen) {
		snprintf(err, errlen, "%s is too long", name);
		return -1;
	}
	memcpy(out, s, n + 1);
	return 1;
}

/* Integer field name in [min, max]: 0 or -1 with err. */
static int get_int(json_t *o, const char *name, long long min, long long max, long long *out,
                   char *err, size_t errlen)
{
	json_t *v = json_object_get(o, name);
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		snprintf(err, errlen, "%s must be a whole number from %lld to %lld", name, min,
		         max);
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

/* Free text (a reason, a reference): UTF-8 without control characters, min to 200 characters. */
static int text_ok(const char *what, const char *s, long min, char *err, size_t errlen)
{
	long n = product_text_chars(s);
	if (n < 0) {
		snprintf(err, errlen, "%s must be text without control characters", what);
		return -1;
	}
	if (n < min || n > ADMIN_TEXT_MAX) {
		snprintf(err, errlen, "%s must be %ld to %d characters, not %ld", what, min,
		         ADMIN_TEXT_MAX, n);
		return -1;
	}
	return 0;
}

enum admin_decode admin_decode_product(const char *body, size_t len, struct admin_product_in *out,
                                       char *err, size_t errlen)
{
	enum admin_decode why = ADMIN_DECODE_BAD_REQUEST;
	char gtin[32] = "";
	long long points;
	json_t *o = load_object(body, len, &why, err, errlen);
	if (!o)
		return why;
	memset(out, 0, sizeof *out);
	int has_gtin;
	if (get_string(o, "sku", 0, out->sku, sizeof out->sku, err, errlen) < 0 ||
	    get_string(o, "name", 0, out->name, sizeof out->name, err, errlen) < 0 ||
	    get_string(o, "brand", 1, out->brand, sizeof out->brand, err, errlen) < 0 ||
	    (has_gtin = get_string(o, "gtin", 1, gtin, sizeof gtin, err, errlen)) < 0 ||
	    get_int(o, "points", 0, PRODUCT_POINTS_MAX, &points, err, errlen) < 0 ||
	    product_check(out->sku, out->name, out->brand, points, has_gtin ? gtin : NULL,
	                  out->gtin, err, errlen) < 0)
		goto out;
	out->points = (int)points;
	why = ADMIN_DECODE_OK;
out:
	json_decref(o);
	return why;
}

enum admin_decode admin_decode_reason(const char *body, size_t len,
                                      char reason[ADMIN_TEXT_BYTES + 1], char *err, size_t errlen)
{
	enum admin_decode why = ADMIN_DECODE_BAD_REQUEST;
	json_t *o = load_object(body, len, &why, err, errlen);
	if (!o)
		return why;
	if (get_string(o, "reason", 0, reason, ADMIN_TEXT_BYTES + 1, err, errlen) == 1 &&
	    text_ok("reason", reason, 1, err, errlen) == 0)
		why = ADMIN_DECODE_OK;
	json_decref(o);
	return why;
}

enum admin_decode admin_decode_adjust(const char *body, size_t len, struct admin_points_in *out,
                                      char *err, size_t errlen)
{
	enum admin_decode why = ADMIN_DECODE_BAD_REQUEST;
	json_t *o = load_object(body, len, &why, err, errlen);
	if (!o)
		return why;
	memset(out, 0, sizeof *out);
	if (get_int(o, "points", -ADMIN_POINTS_MAX, ADMIN_POINTS_MAX, &out->points, err, errlen) <
	        0 ||
	    get_string(o, "reason", 0, out->text, sizeof out->text, err, errlen) < 0 ||
	    text_ok("reason", out->text, 1, err, errlen) < 0)
		goto out;
	if (out->points == 0) {
		snprintf(err, errlen, "points must not be 0");
		goto out;
	}
	out->has_text = 1;
	why = ADMIN_DECODE_OK;
out:
	json_decref(o);
	return why;
}

enum admin_decode admin_decode_spend(const char *body, size_t len, struct admin_points_in *out,
                                     char *err, size_t errlen)
{
	enum admin_decode why = ADMIN_DECODE_BAD_REQUEST;
	json_t *o = load_object(body, len, &why, err, errlen);
	if (!o)
		return why;
	memset(out, 0, sizeof *out);
	int has;
	if (get_int(o, "points", 1, ADMIN_POINTS_MAX, &out->points, err, errlen) < 0 ||
	    (has = get_string(o, "reference", 1, out->text, sizeof out->text, err, errlen)) < 0 ||
	    (has && text_ok("reference", out->text, 0, err, errlen) < 0))
		goto out;
	out->has_text = has;
	why = ADMIN_DECODE_OK;
out:
	json_decref(o);
	return why;
}

int admin_idempotency_key_check(const char *key)
{
	size_t n = strlen(key);
	if (n < 1 || n > ADMIN_KEY_MAX)
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)key[i] < 0x20 || (unsigned char)key[i] > 0x7e)
			return -1;
	return 0;
}

int admin_name_check(const char *name)
{
	size_t n = strlen(name);
	if (n < 1 || n > ADMIN_NAME_MAX || strchr("._@-", name[0]))
		return -1;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._@-") ==
	               n
	           ? 0
	           : -1;
}

enum admin_decode admin_decode_sign_in(const char *body, size_t len, struct admin_sign_in *out,
                                       char *err, size_t errlen)
{
	enum admin_decode why = ADMIN_DECODE_BAD_REQUEST;
	json_t *o = load_object(body, len, &why, err, errlen);
	if (!o)
		return why;
	memset(out, 0, sizeof *out);
	if (get_string(o, "name", 0, out->name, sizeof out->name, err, errlen) < 0 ||
	    get_string(o, "password", 0, out->password, sizeof out->password, err, errlen) < 0)
		goto out;
	if (admin_name_check(out->name) < 0) {
		snprintf(err, errlen, "a name is 1 to 64 letters, digits and ._@- (not first)");
		goto out;
	}
	out->password_len = strlen(out->password);
	int has = get_string(o, "totp", 1, out->totp, sizeof out->totp, err, errlen);
	if (has < 0)
		goto out;
	if (has && (strlen(out->totp) != 6 || strspn(out->totp, "0123456789") != 6)) {
		snprintf(err, errlen, "totp is the 6 digits of the authenticator app");
		goto out;
	}
	why = ADMIN_DECODE_OK;
out:
	json_decref(o);
	if (why != ADMIN_DECODE_OK)
		memset(out->password, 0, sizeof out->password);
	return why;
}
