/*
 * payouts_input.c: the payment provider's callback checked (payouts.h),
 * pure, fuzzed (fuzz/fuzz_payout_callback.c): its signature header parsed
 * strictly and compared in constant time, then its JSON body decoded.
 */
#include "handlers/payouts.h"

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* HMAC-SHA256 under secret of "T." and the body, in lower-case hex (as webhooks.c signs). */
static int mac_hex(const char *secret, const char *t, size_t tlen, const char *body, size_t len,
                   char out[65])
{
	unsigned char mac[32];
	size_t maclen = 0;
	int ok = 0;
	EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
	    OSSL_PARAM_construct_end()};
	if (ctx && EVP_MAC_init(ctx, (const unsigned char *)secret, strlen(secret), params) &&
	    EVP_MAC_update(ctx, (const unsigned char *)t, tlen) &&
	    EVP_MAC_update(ctx, (const unsigned char *)".", 1) &&
	    EVP_MAC_update(ctx, (const unsigned char *)body, len) &&
	    EVP_MAC_final(ctx, mac, &maclen, sizeof mac) && maclen == sizeof mac)
		ok = 1;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(hmac);
	for (size_t i = 0; ok && i < sizeof mac; i++)
		snprintf(out + 2 * i, 3, "%02x", mac[i]);
	return ok ? 0 : -1;
}

int payout_signature_ok(const char *secret, const char *header, const char *body, size_t len,
                        long long now)
{
	char want[65];
	long long t = 0;
	size_t i = 2;
	if (!secret || !*secret || !header || strncmp(header, "t=", 2) != 0)
		return 0;
	for (; header[i] >= '0' && header[i] <= '9' && i < 2 + 12; i++)
		t = t * 10 + (header[i] - '0');
	if (i == 2 || strncmp(header + i, ",v1=", 4) != 0)
		return 0;
	const char *hex = header + i + 4;
	if (strlen(hex) != 64 || strspn(hex, "0123456789abcdef") != 64)
		return 0;
	if (t < now - PAYOUT_SIGNATURE_AGE || t > now + PAYOUT_SIGNATURE_AGE)
		return 0;
	if (mac_hex(secret, header + 2, i - 2, body, len, want) < 0)
		return 0;
	return CRYPTO_memcmp(want, hex, 64) == 0;
}

static int text_ok(json_t *v, size_t min, size_t max)
{
	size_t n = json_string_length(v);
	if (!json_is_string(v) || n < min || n > max)
		return 0;
	for (const char *s = json_string_value(v); n--; s++)
		if (*s < 0x21 || *s > 0x7e)
			return 0;
	return 1;
}

int payout_callback_decode(const char *body, size_t len, struct payout_callback *out, char *err,
                           size_t errlen)
{
	json_error_t je;
	int rc = -1;
	memset(out, 0, sizeof *out);
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		snprintf(err, errlen, "malformed JSON: %s", je.text);
		return -1;
	}
	json_t *k = json_object_get(j, "idempotency_key"), *s = json_object_get(j, "status");
	json_t *ref = json_object_get(j, "provider_ref");
	if (!json_is_object(j) || !text_ok(k, 1, PAYOUT_KEY_MAX)) {
		snprintf(err, errlen,
		         "idempotency_key must be the payout's key (1 to %d characters)",
		         PAYOUT_KEY_MAX);
		goto out;
	}
	if (!json_is_string(s) || (strcmp(json_string_value(s), "paid") != 0 &&
	                           strcmp(json_string_value(s), "failed") != 0)) {
		snprintf(err, errlen, "status must be \"paid\" or \"failed\"");
		goto out;
	}
	if (ref && !json_is_null(ref) && !text_ok(ref, 1, PAYOUT_REF_MAX)) {
		snprintf(err, errlen, "provider_ref must be 1 to %d printable characters",
		         PAYOUT_REF_MAX);
		goto out;
	}
	snprintf(out->key, sizeof out->key, "%s", json_string_value(k));
	out->status = strcmp(json_string_value(s), "paid") == 0 ? PAYOUT_PAID : PAYOUT_FAILED;
	if (ref && json_is_string(ref))
		snprintf(out->ref, sizeof out->ref, "%s", json_string_value(ref));
	rc = 0;
out:
	json_decref(j);
	return rc;
}
