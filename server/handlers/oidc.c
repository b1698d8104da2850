/*
 * oidc.c: OpenID Connect's and WeChat's protocol pieces (oidc.h), pure:
 * every byte they read came from outside (a provider, a browser), so each
 * length is checked before it is used and a key verifies only the algorithm
 * its type allows (RS256 with RSA of 2048 bits or more, ES256 with P-256).
 */
#include "handlers/oidc.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

long oidc_b64url_decode(const char *in, size_t len, unsigned char *out, size_t outlen)
{
	if (len % 4 == 1)
		return -1;
	size_t n = 0;
	unsigned acc = 0;
	int bits = 0;
	for (size_t i = 0; i < len; i++) {
		int v = b64url_value((unsigned char)in[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= outlen)
				return -1;
			out[n++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0) /* the unused bits of the last character must be zero */
		return -1;
	return (long)n;
}

long oidc_b64url_encode(const unsigned char *in, size_t len, char *out, size_t outlen)
{
	static const char abc[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t need = (len * 8 + 5) / 6;
	if (need + 1 > outlen)
		return -1;
	size_t n = 0;
	unsigned acc = 0;
	int bits = 0;
	for (size_t i = 0; i < len; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[n++] = abc[(acc >> bits) & 63];
		}
		acc &= (1u << bits) - 1;
	}
	if (bits > 0)
		out[n++] = abc[(acc << (6 - bits)) & 63];
	out[n] = '\0';
	return (long)n;
}

int oidc_random(char out[OIDC_RANDOM_LEN + 1])
{
	unsigned char b[32];
	if (RAND_bytes(b, sizeof b) != 1)
		return -1;
	return oidc_b64url_encode(b, sizeof b, out, OIDC_RANDOM_LEN + 1) == OIDC_RANDOM_LEN ? 0
	                                                                                    : -1;
}

int oidc_pkce_s256(const char *verifier, char out[OIDC_S256_LEN + 1])
{
	unsigned char d[SHA256_DIGEST_LENGTH];
	size_t n = strlen(verifier);
	/* RFC 7636 §4.1: 43 to 128 unreserved characters */
	if (n < 43 || n > 128)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)verifier[i];
		if (!(b64url_value(c) >= 0 || c == '.' || c == '~'))
			return -1;
	}
	SHA256((const unsigned char *)verifier, n, d);
	return oidc_b64url_encode(d, sizeof d, out, OIDC_S256_LEN + 1) == OIDC_S256_LEN ? 0 : -1;
}

/* ---- JWKS ---- */

enum key_alg { KEY_RS256, KEY_ES256 };

struct jwk {
	char kid[OIDC_KID_MAX + 1];
	enum key_alg alg;
	EVP_PKEY *pkey;
};

struct jwks {
	size_t n;
	struct jwk keys[];
};

#define JWKS_MAX 32

/* A base64url member of a JWK into a fresh buffer: its length, or -1. */
static long jwk_bytes(const json_t *jwk, const char *name, unsigned char *out, size_t outlen)
{
	const char *s = json_string_value(json_object_get(jwk, name));
	if (!s)
		return -1;
	return oidc_b64url_decode(s, strlen(s), out, outlen);
}

static EVP_PKEY *pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
	EVP_PKEY *pkey = NULL;
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	if (params && ctx && EVP_PKEY_fromdata_init(ctx) == 1)
		if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
			pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pkey;
}

static EVP_PKEY *jwk_rsa(const json_t *jwk)
{
	unsigned char n[1024], e[16];
	long nlen = jwk_bytes(jwk, "n", n, sizeof n), elen = jwk_bytes(jwk, "e", e, sizeof e);
	if (nlen < 256 || elen < 1) /* 2048 bits at least */
		return NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *bn = BN_bin2bn(n, (int)nlen, NULL), *be = BN_bin2bn(e, (int)elen, NULL);
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	if (bn && be && bld && BN_num_bits(bn) >= 2048 &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) == 1 &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) == 1)
		pkey = pkey_fromdata("RSA", bld);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	return pkey;
}

static EVP_PKEY *jwk_p256(const json_t *jwk)
{
	const char *crv = json_string_value(json_object_get(jwk, "crv"));
	unsigned char pub[65];
	if (!crv || strcmp(crv, "P-256") != 0)
		return NULL;
	pub[0] = 0x04; /* uncompressed point: x then y, 32 bytes each */
	if (jwk_bytes(jwk, "x", pub + 1, 32) != 32 || jwk_bytes(jwk, "y", pub + 33, 32) != 32)
		return NULL;
	EVP_PKEY *pkey = NULL;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	if (bld &&
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ==
	        1 &&
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub) == 1)
		pkey = pkey_fromdata("EC", bld);
	OSSL_PARAM_BLD_free(bld);
	if (pkey) { /* the point must be on the curve */
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
		int ok = ctx && EVP_PKEY_public_check(ctx) == 1;
		EVP_PKEY_CTX_free(ctx);
		if (!ok) {
			EVP_PKEY_free(pkey);
			pkey = NULL;
		}
	}
	return pkey;
}

struct jwks *jwks_parse(const char *json, size_t len, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	json_t *keys = json_object_get(doc, "keys");
	struct jwks *k = NULL;
	if (!json_is_array(keys)) {
		snprintf(err, errlen, "%s", "not a JWKS: expected {\"keys\": [...]}");
		goto out;
	}
	k = calloc(1, sizeof *k + JWKS_MAX * sizeof k->keys[0]);
	if (!k) {
		snprintf(err, errlen, "%s", "out of memory");
		goto out;
	}
	size_t i;
	json_t *jwk;
	json_array_foreach(keys, i, jwk)
	{
		if (k->n == JWKS_MAX)
			break;
		const char *kty = json_string_value(json_object_get(jwk, "kty"));
		const char *use = json_string_value(json_object_get(jwk, "use"));
		const char *alg = json_string_value(json_object_get(jwk, "alg"));
		const char *kid = json_string_value(json_object_get(jwk, "kid"));
		json_t *kidv = json_object_get(jwk, "kid");
		if (!kty || (use && strcmp(use, "sig") != 0) || (kidv && !kid) ||
		    (kid &&
		     (strlen(kid) > OIDC_KID_MAX || strlen(kid) != json_string_length(kidv))))
			continue;
		struct jwk *d = &k->keys[k->n];
		if (strcmp(kty, "RSA") == 0 && (!alg || strcmp(alg, "RS256") == 0)) {
			d->alg = KEY_RS256;
			d->pkey = jwk_rsa(jwk);
		} else if (strcmp(kty, "EC") == 0 && (!alg || strcmp(alg, "ES256") == 0)) {
			d->alg = KEY_ES256;
			d->pkey = jwk_p256(jwk);
		}
		if (!d->pkey)
			continue;
		snprintf(d->kid, sizeof d->kid, "%s", kid ? kid : "");
		k->n++;
	}
	if (k->n == 0) {
		snprintf(err, errlen, "%s", "the JWKS holds no RS256 or ES256 signing key");
		free(k);
		k = NULL;
	}
out:
	json_decref(doc);
	return k;
}

size_t jwks_count(const struct jwks *k)
{
	return k ? k->n : 0;
}

int jwks_has_kid(const struct jwks *k, const char *kid)
{
	for (size_t i = 0; k && i < k->n; i++)
		if (strcmp(k->keys[i].kid, kid) == 0)
			return 1;
	return 0;
}

void jwks_free(struct jwks *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->n; i++)
		EVP_PKEY_free(k->keys[i].pkey);
	free(k);
}

/* ---- JWS ---- */

/* An ES256 signature (R || S, 32 bytes each) as the DER OpenSSL verifies: its length, or -1. */
static int es256_der(const unsigned char *sig, size_t len, unsigned char *der, size_t derlen)
{
	if (len != 64)
		return -1;
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, 32, NULL), *ss = BN_bin2bn(sig + 32, 32, NULL);
	int n = -1;
	if (s && r && ss && ECDSA_SIG_set0(s, r, ss) == 1) {
		r = ss = NULL; /* s owns them */
		int need = i2d_ECDSA_SIG(s, NULL);
		if (need > 0 && (size_t)need <= derlen) {
			unsigned char *p = der;
			n = i2d_ECDSA_SIG(s, &p);
		}
	}
	BN_free(r);
	BN_free(ss);
	ECDSA_SIG_free(s);
	return n;
}

static int verify_with(const struct jwk *key, const char *input, size_t inlen,
                       const unsigned char *sig, size_t siglen)
{
	unsigned char der[80];
	if (key->alg == KEY_ES256) {
		int n = es256_der(sig, siglen, der, sizeof der);
		if (n < 0)
			return 0;
		sig = der;
		siglen = (size_t)n;
	}
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key->pkey) == 1 &&
	         EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)input, inlen) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

/* A base64url part holding a JSON object, parsed; NULL if it is not one. */
static json_t *json_part(const char *s, size_t len)
{
	unsigned char buf[OIDC_TOKEN_MAX];
	long n = oidc_b64url_decode(s, len, buf, sizeof buf);
	if (n < 0)
		return NULL;
	json_t *j = json_loadb((const char *)buf, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

enum jws_result jws_verify(const char *token, size_t len, const struct jwks *keys, json_t **payload,
                           char kid[OIDC_KID_MAX + 1], char *err, size_t errlen)
{
	enum jws_result res = JWS_MALFORMED;
	json_t *header = NULL;
	*payload = NULL;
	if (kid)
		kid[0] = '\0';
	const char *dot1 = len <= OIDC_TOKEN_MAX ? memchr(token, '.', len) : NULL;
	const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
	if (!dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token))) {
		snprintf(err, errlen, "%s", "not a JWS: expected three parts");
		return JWS_MALFORMED;
	}
	if (!(header = json_part(token, (size_t)(dot1 - token)))) {
		snprintf(err, errlen, "%s", "the JWS header is not a JSON object");
		goto out;
	}
	const char *alg = json_string_value(json_object_get(header, "alg"));
	json_t *kidv = json_object_get(header, "kid");
	const char *hkid = json_string_value(kidv);
	if ((kidv && !hkid) || (hkid && strlen(hkid) > OIDC_KID_MAX) ||
	    (hkid && strlen(hkid) != json_string_length(kidv)) || json_object_get(header, "crit")) {
		snprintf(err, errlen, "%s", "the JWS header's kid or crit is not acceptable");
		goto out;
	}
	if (kid && hkid)
		snprintf(kid, OIDC_KID_MAX + 1, "%s", hkid);
	enum key_alg want;
	if (alg && strcmp(alg, "RS256") == 0)
		want = KEY_RS256;
	else if (alg && strcmp(alg, "ES256") == 0)
		want = KEY_ES256;
	else {
		snprintf(err, errlen, "%s", "the JWS algorithm is not RS256 or ES256");
		res = JWS_BAD_ALG;
		goto out;
	}
	unsigned char sig[1024];
	long siglen =
	    oidc_b64url_decode(dot2 + 1, len - (size_t)(dot2 + 1 - token), sig, sizeof sig);
	if (siglen <= 0) {
		snprintf(err, errlen, "%s", "the JWS signature is not base64url");
		goto out;
	}
	int candidates = 0, verified = 0;
	for (size_t i = 0; keys && i < keys->n && !verified; i++) {
		const struct jwk *k = &keys->keys[i];
		if (k->alg != want || (hkid && strcmp(k->kid, hkid) != 0))
			continue;
		candidates++;
		verified = verify_with(k, token, (size_t)(dot2 - token), sig, (size_t)siglen);
	}
	if (!candidates) {
		snprintf(err, errlen, "%s", "no key of the JWKS has the token's kid");
		res = JWS_UNKNOWN_KID;
		goto out;
	}
	if (!verified) {
		snprintf(err, errlen, "%s", "the JWS signature does not verify");
		res = JWS_BAD_SIGNATURE;
		goto out;
	}
	if (!(*payload = json_part(dot1 + 1, (size_t)(dot2 - dot1 - 1)))) {
		snprintf(err, errlen, "%s", "the JWS payload is not a JSON object");
		goto out;
	}
	res = JWS_OK;
out:
	json_decref(header);
	return res;
}

/* ---- claims ---- */

const char *oidc_claims_name(enum oidc_claims c)
{
	switch (c) {
	case OIDC_CLAIMS_OK:
		return "ok";
	case OIDC_CLAIMS_MALFORMED:
		return "malformed";
	case OIDC_CLAIMS_ISSUER:
		return "issuer";
	case OIDC_CLAIMS_AUDIENCE:
		return "audience";
	case OIDC_CLAIMS_EXPIRED:
		return "expired";
	case OIDC_CLAIMS_IAT:
		return "iat";
	case OIDC_CLAIMS_NONCE:
		return "nonce";
	}
	return "?";
}

static int str_eq(const json_t *j, const char *want)
{
	const char *s = json_string_value(j);
	return s && want && strlen(s) == json_string_length(j) && strcmp(s, want) == 0;
}

enum oidc_claims oidc_claims_check(const json_t *claims, const struct oidc_expect *e,
                                   char sub[OIDC_SUB_MAX + 1], char *err, size_t errlen)
{
	json_t *aud = json_object_get(claims, "aud"), *exp = json_object_get(claims, "exp"),
	       *iat = json_object_get(claims, "iat"), *s = json_object_get(claims, "sub");
	sub[0] = '\0';
	if (!str_eq(json_object_get(claims, "iss"), e->issuer)) {
		snprintf(err, errlen, "%s", "the ID token's iss is not the issuer");
		return OIDC_CLAIMS_ISSUER;
	}
	int aud_ok = str_eq(aud, e->client_id);
	if (json_is_array(aud)) {
		size_t i;
		json_t *a;
		json_array_foreach(aud, i, a) aud_ok |= str_eq(a, e->client_id);
		json_t *azp = json_object_get(claims, "azp");
		if (json_array_size(aud) > 1 || azp)
			aud_ok &= str_eq(azp, e->client_id);
	}
	if (!aud_ok) {
		snprintf(err, errlen, "%s", "the ID token is not for this client (aud, azp)");
		return OIDC_CLAIMS_AUDIENCE;
	}
	if (!json_is_number(exp) || !json_is_number(iat)) {
		snprintf(err, errlen, "%s", "the ID token lacks exp or iat");
		return OIDC_CLAIMS_MALFORMED;
	}
	double expv = json_number_value(exp), iatv = json_number_value(iat);
	if ((double)e->now >= expv + e->leeway_s) {
		snprintf(err, errlen, "%s", "the ID token has expired");
		return OIDC_CLAIMS_EXPIRED;
	}
	if (iatv > (double)(e->now + e->leeway_s) || iatv < (double)(e->now - e->max_age_s)) {
		snprintf(err, errlen, "%s",
		         "the ID token was issued in the future or too long ago");
		return OIDC_CLAIMS_IAT;
	}
	if (!str_eq(json_object_get(claims, "nonce"), e->nonce)) {
		snprintf(err, errlen, "%s", "the ID token's nonce is not the one sent");
		return OIDC_CLAIMS_NONCE;
	}
	const char *subv = json_string_value(s);
	size_t sublen = subv ? strlen(subv) : 0;
	if (!subv || sublen == 0 || sublen > OIDC_SUB_MAX || sublen != json_string_length(s)) {
		snprintf(err, errlen, "%s", "the ID token's sub is missing or too long");
		return OIDC_CLAIMS_MALFORMED;
	}
	for (size_t i = 0; i < sublen; i++)
		if ((unsigned char)subv[i] < 0x20 || (unsigned char)subv[i] > 0x7e) {
			snprintf(err, errlen, "%s", "the ID token's sub is not printable ASCII");
			return OIDC_CLAIMS_MALFORMED;
		}
	memcpy(sub, subv, sublen + 1);
	return OIDC_CLAIMS_OK;
}

/* ---- discovery and token replies ---- */

static int url_member(const json_t *doc, const char *name, char out[OIDC_URL_MAX + 1], char *err,
                      size_t errlen)
{
	json_t *v = json_object_get(doc, name);
	const char *s = json_string_value(v);
	size_t n = s ? strlen(s) : 0;
	if (!s || n != json_string_length(v) || n > OIDC_URL_MAX ||
	    (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0)) {
		snprintf(err, errlen, "the discovery document's %s is not an http(s) URL", name);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f) {
			snprintf(err, errlen, "the discovery document's %s is not a plain URL",
			         name);
			return -1;
		}
	memcpy(out, s, n + 1);
	return 0;
}

static int lists(const json_t *doc, const char *name, const char *want)
{
	json_t *a = json_object_get(doc, name);
	if (!a)
		return 1; /* not listed: not refused */
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v) if (str_eq(v, want)) return 1;
	return 0;
}

int oidc_discovery_parse(const char *json, size_t len, const char *expected_issuer,
                         struct oidc_discovery *out, char *err, size_t errlen)
{
	int rc = -1;
	memset(out, 0, sizeof *out);
	json_t *doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(doc)) {
		snprintf(err, errlen, "%s", "the discovery document is not a JSON object");
		goto out;
	}
	if (!str_eq(json_object_get(doc, "issuer"), expected_issuer)) {
		snprintf(err, errlen, "%s", "the discovery document's issuer is not --oidc-issuer");
		goto out;
	}
	if (url_member(doc, "issuer", out->issuer, err, errlen) < 0 ||
	    url_member(doc, "authorization_endpoint", out->authorization_endpoint, err, errlen) <
	        0 ||
	    url_member(doc, "token_endpoint", out->token_endpoint, err, errlen) < 0 ||
	    url_member(doc, "jwks_uri", out->jwks_uri, err, errlen) < 0)
		goto out;
	if (!lists(doc, "response_types_supported", "code") ||
	    !lists(doc, "code_challenge_methods_supported", "S256")) {
		snprintf(err, errlen, "%s",
		         "the provider offers no authorization code flow with S256");
		goto out;
	}
	rc = 0;
out:
	json_decref(doc);
	if (rc < 0)
		memset(out, 0, sizeof *out);
	return rc;
}

int oidc_token_reply(const char *json, size_t len, char **id_token, char *err, size_t errlen)
{
	*id_token = NULL;
	json_t *doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
	json_t *t = json_object_get(doc, "id_token");
	const char *e = json_string_value(json_object_get(doc, "error"));
	int rc = -1;
	if (!json_is_object(doc))
		snprintf(err, errlen, "%s", "the token endpoint's reply is not a JSON object");
	else if (e)
		snprintf(err, errlen, "the token endpoint refused: %.64s", e);
	else if (!json_is_string(t) || json_string_length(t) > OIDC_TOKEN_MAX ||
	         strlen(json_string_value(t)) != json_string_length(t))
		snprintf(err, errlen, "%s", "the token endpoint's reply has no id_token");
	else if (!(*id_token = strdup(json_string_value(t))))
		snprintf(err, errlen, "%s", "out of memory");
	else
		rc = 0;
	json_decref(doc);
	return rc;
}

/* An identifier WeChat gives: printable ASCII without spaces, at most WECHAT_ID_MAX. */
static int wechat_id(const json_t *v, char out[WECHAT_ID_MAX + 1])
{
	const char *s = json_string_value(v);
	size_t n = s ? strlen(s) : 0;
	if (!s || n == 0 || n > WECHAT_ID_MAX || n != json_string_length(v))
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return -1;
	memcpy(out, s, n + 1);
	return 0;
}

int wechat_token_reply(const char *json, size_t len, struct wechat_token *out, char *err,
                       size_t errlen)
{
	memset(out, 0, sizeof *out);
	json_t *doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
	json_t *code = json_object_get(doc, "errcode"), *union_v = json_object_get(doc, "unionid");
	int rc = -1;
	if (!json_is_object(doc))
		snprintf(err, errlen, "%s", "WeChat's reply is not a JSON object");
	else if (code && json_integer_value(code) != 0)
		snprintf(err, errlen, "WeChat refused: errcode %lld", json_integer_value(code));
	else if (wechat_id(json_object_get(doc, "openid"), out->openid) < 0)
		snprintf(err, errlen, "%s", "WeChat's reply has no openid");
	else if (union_v && wechat_id(union_v, out->unionid) < 0)
		snprintf(err, errlen, "%s", "WeChat's unionid is not an identifier");
	else
		rc = 0;
	json_decref(doc);
	if (rc < 0)
		memset(out, 0, sizeof *out);
	return rc;
}

int wechat_user_agent(const char *ua)
{
	return ua && strstr(ua, "MicroMessenger") != NULL;
}
