/*
 * test_oidc.c: OIDC's and WeChat's protocol pieces (server/handlers/oidc.c):
 * ID tokens signed here with freshly made RSA and P-256 keys, published as a
 * JWKS, verified or refused (bad signature, alg none or HS256, unknown kid),
 * their claims checked one by one, PKCE's RFC 7636 vector, discovery and
 * token replies good and bad.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/oidc.h"

static EVP_PKEY *rsa_key, *rsa_key2, *ec_key;

static void b64(const unsigned char *in, size_t len, char *out, size_t outlen)
{
	assert_true(oidc_b64url_encode(in, len, out, outlen) >= 0);
}

static void bn_b64(EVP_PKEY *k, const char *name, size_t pad, char *out, size_t outlen)
{
	BIGNUM *bn = NULL;
	unsigned char buf[512];
	assert_int_equal(EVP_PKEY_get_bn_param(k, name, &bn), 1);
	size_t n = pad ? pad : (size_t)BN_num_bytes(bn);
	assert_true(BN_bn2binpad(bn, buf, (int)n) > 0);
	b64(buf, n, out, outlen);
	BN_free(bn);
}

/* A JWK of k's public key, with kid. */
static json_t *jwk_of(EVP_PKEY *k, const char *kid)
{
	char a[800], b[800];
	if (EVP_PKEY_is_a(k, "RSA")) {
		bn_b64(k, OSSL_PKEY_PARAM_RSA_N, 0, a, sizeof a);
		bn_b64(k, OSSL_PKEY_PARAM_RSA_E, 0, b, sizeof b);
		return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "kty", "RSA", "kid", kid, "use",
		                 "sig", "alg", "RS256", "n", a, "e", b);
	}
	bn_b64(k, OSSL_PKEY_PARAM_EC_PUB_X, 32, a, sizeof a);
	bn_b64(k, OSSL_PKEY_PARAM_EC_PUB_Y, 32, b, sizeof b);
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "kty", "EC", "kid", kid, "crv", "P-256", "x",
	                 a, "y", b);
}

static struct jwks *jwks_of(json_t *keys)
{
	json_t *doc = json_pack("{s:o}", "keys", keys);
	char *s = json_dumps(doc, JSON_COMPACT);
	char err[200];
	struct jwks *k = jwks_parse(s, strlen(s), err, sizeof err);
	free(s);
	json_decref(doc);
	return k;
}

/* A compact JWS of payload with header {alg, kid}, signed by k (NULL: signature "AAAA"). */
static char *sign(EVP_PKEY *k, const char *alg, const char *kid, json_t *payload)
{
	json_t *h =
	    kid ? json_pack("{s:s, s:s}", "alg", alg, "kid", kid) : json_pack("{s:s}", "alg", alg);
	char *hs = json_dumps(h, JSON_COMPACT), *ps = json_dumps(payload, JSON_COMPACT);
	static char out[OIDC_TOKEN_MAX];
	char hb[2048], pb[4096], sb[1024];
	b64((unsigned char *)hs, strlen(hs), hb, sizeof hb);
	b64((unsigned char *)ps, strlen(ps), pb, sizeof pb);
	snprintf(out, sizeof out, "%s.%s", hb, pb);
	unsigned char sig[600];
	size_t siglen = sizeof sig;
	if (k) {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k), 1);
		assert_int_equal(
		    EVP_DigestSign(ctx, sig, &siglen, (unsigned char *)out, strlen(out)), 1);
		EVP_MD_CTX_free(ctx);
		if (EVP_PKEY_is_a(k, "EC")) { /* DER to R || S */
			const unsigned char *p = sig;
			ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
			assert_non_null(es);
			BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32);
			BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32);
			siglen = 64;
			ECDSA_SIG_free(es);
		}
		b64(sig, siglen, sb, sizeof sb);
	} else
		snprintf(sb, sizeof sb, "AAAA");
	size_t n = strlen(out);
	snprintf(out + n, sizeof out - n, ".%s", sb);
	free(hs);
	free(ps);
	json_decref(h);
	json_decref(payload);
	return out;
}

static json_t *claims(long long now)
{
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "iss", "https://id.example", "aud",
	                 "packcode", "sub", "user-42", "iat", now, "exp", now + 300, "nonce", "n0");
}

static const struct oidc_expect expect = {.issuer = "https://id.example",
                                          .client_id = "packcode",
                                          .nonce = "n0",
                                          .now = 1700000000,
                                          .leeway_s = 60,
                                          .max_age_s = 600};

static enum jws_result verify(const char *tok, struct jwks *k, json_t **payload)
{
	char kid[OIDC_KID_MAX + 1], err[200];
	return jws_verify(tok, strlen(tok), k, payload, kid, err, sizeof err);
}

static struct jwks *both(void)
{
	return jwks_of(json_pack("[o, o]", jwk_of(rsa_key, "r1"), jwk_of(ec_key, "e1")));
}

static void test_rs256_token_verifies(void **state)
{
	(void)state;
	struct jwks *k = both();
	assert_int_equal(jwks_count(k), 2);
	json_t *p;
	assert_int_equal(verify(sign(rsa_key, "RS256", "r1", claims(1)), k, &p), JWS_OK);
	assert_string_equal(json_string_value(json_object_get(p, "sub")), "user-42");
	json_decref(p);
	jwks_free(k);
}

static void test_es256_token_verifies(void **state)
{
	(void)state;
	struct jwks *k = both();
	json_t *p;
	assert_int_equal(verify(sign(ec_key, "ES256", "e1", claims(1)), k, &p), JWS_OK);
	json_decref(p);
	jwks_free(k);
}

static void test_a_token_without_kid_tries_keys_of_its_type(void **state)
{
	(void)state;
	struct jwks *k = both();
	json_t *p;
	assert_int_equal(verify(sign(ec_key, "ES256", NULL, claims(1)), k, &p), JWS_OK);
	json_decref(p);
	jwks_free(k);
}

static void test_another_keys_signature_is_bad(void **state)
{
	(void)state;
	struct jwks *k = both();
	json_t *p;
	assert_int_equal(verify(sign(rsa_key2, "RS256", "r1", claims(1)), k, &p),
	                 JWS_BAD_SIGNATURE);
	assert_null(p);
	jwks_free(k);
}

static void test_a_changed_payload_is_a_bad_signature(void **state)
{
	(void)state;
	struct jwks *k = both();
	char *t = strdup(sign(ec_key, "ES256", "e1", claims(1)));
	char *dot = strchr(t, '.') + 1;
	*dot = *dot == 'e' ? 'f' : 'e';
	json_t *p;
	assert_int_equal(verify(t, k, &p), JWS_BAD_SIGNATURE);
	free(t);
	jwks_free(k);
}

static void test_unknown_kid_is_told_apart(void **state)
{
	(void)state;
	struct jwks *k = both();
	json_t *p;
	char kid[OIDC_KID_MAX + 1], err[200];
	const char *t = sign(rsa_key2, "RS256", "r2", claims(1));
	assert_int_equal(jws_verify(t, strlen(t), k, &p, kid, err, sizeof err), JWS_UNKNOWN_KID);
	assert_string_equal(kid, "r2");
	jwks_free(k);
	/* the rotated JWKS has it */
	k = jwks_of(json_pack("[o]", jwk_of(rsa_key2, "r2")));
	assert_true(jwks_has_kid(k, "r2"));
	assert_int_equal(verify(t, k, &p), JWS_OK);
	json_decref(p);
	jwks_free(k);
}

static void test_none_and_hmac_are_refused(void **state)
{
	(void)state;
	struct jwks *k = both();
	json_t *p;
	assert_int_equal(verify(sign(NULL, "none", "r1", claims(1)), k, &p), JWS_BAD_ALG);
	assert_int_equal(verify(sign(NULL, "HS256", "r1", claims(1)), k, &p), JWS_BAD_ALG);
	/* an RSA key does not verify ES256, whatever the signature */
	assert_int_equal(verify(sign(ec_key, "ES256", "r1", claims(1)), k, &p), JWS_UNKNOWN_KID);
	jwks_free(k);
}

static void test_malformed_tokens_are_malformed(void **state)
{
	(void)state;
	struct jwks *k = both();
	json_t *p;
	const char *bad[] = {
	    "", "a.b", "a.b.c.d", "!!.e30.AAAA", "e30.e30.AAAA", "bm90anNvbg.e30.AAAA"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_not_equal(verify(bad[i], k, &p), JWS_OK);
	assert_int_equal(verify("a.b", k, &p), JWS_MALFORMED);
	jwks_free(k);
}

static void test_weak_and_foreign_keys_are_skipped(void **state)
{
	(void)state;
	char err[200];
	const char *doc = "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"},"
	                  "{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"},"
	                  "{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"AA\",\"y\":\"AA\"}]}";
	assert_null(jwks_parse(doc, strlen(doc), err, sizeof err));
	assert_null(jwks_parse("[]", 2, err, sizeof err));
	/* a point off the curve */
	const char *off = "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\","
	                  "\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
	                  "\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE\"}]}";
	assert_null(jwks_parse(off, strlen(off), err, sizeof err));
}

static enum oidc_claims check(json_t *c)
{
	char sub[OIDC_SUB_MAX + 1], err[200];
	enum oidc_claims r = oidc_claims_check(c, &expect, sub, err, sizeof err);
	json_decref(c);
	return r;
}

static void test_good_claims_pass_with_the_subject(void **state)
{
	(void)state;
	char sub[OIDC_SUB_MAX + 1], err[200];
	json_t *c = claims(expect.now);
	assert_int_equal(oidc_claims_check(c, &expect, sub, err, sizeof err), OIDC_CLAIMS_OK);
	assert_string_equal(sub, "user-42");
	json_decref(c);
	c = claims(expect.now);
	json_object_set_new(c, "aud", json_pack("[s]", "packcode"));
	assert_int_equal(check(c), OIDC_CLAIMS_OK);
}

static void test_each_claim_is_checked(void **state)
{
	(void)state;
	long long now = expect.now;
	json_t *c = claims(now);
	json_object_set_new(c, "iss", json_string("https://evil.example"));
	assert_int_equal(check(c), OIDC_CLAIMS_ISSUER);
	c = claims(now);
	json_object_set_new(c, "aud", json_string("another-client"));
	assert_int_equal(check(c), OIDC_CLAIMS_AUDIENCE);
	c = claims(now); /* several audiences need azp = us */
	json_object_set_new(c, "aud", json_pack("[s, s]", "packcode", "other"));
	assert_int_equal(check(c), OIDC_CLAIMS_AUDIENCE);
	c = claims(now);
	json_object_set_new(c, "aud", json_pack("[s, s]", "packcode", "other"));
	json_object_set_new(c, "azp", json_string("packcode"));
	assert_int_equal(check(c), OIDC_CLAIMS_OK);
	c = claims(now - 400); /* exp = now - 100 */
	assert_int_equal(check(c), OIDC_CLAIMS_EXPIRED);
	c = claims(now + 120); /* issued two minutes ahead, beyond the leeway */
	assert_int_equal(check(c), OIDC_CLAIMS_IAT);
	c = claims(now);
	json_object_set_new(c, "iat", json_integer(now - 3600));
	assert_int_equal(check(c), OIDC_CLAIMS_IAT);
	c = claims(now);
	json_object_set_new(c, "nonce", json_string("replayed"));
	assert_int_equal(check(c), OIDC_CLAIMS_NONCE);
	c = claims(now);
	json_object_del(c, "nonce");
	assert_int_equal(check(c), OIDC_CLAIMS_NONCE);
	c = claims(now);
	json_object_del(c, "exp");
	assert_int_equal(check(c), OIDC_CLAIMS_MALFORMED);
	c = claims(now);
	json_object_set_new(c, "sub", json_string("line\nbreak"));
	assert_int_equal(check(c), OIDC_CLAIMS_MALFORMED);
}

static void test_pkce_s256_matches_rfc7636(void **state)
{
	(void)state;
	char out[OIDC_S256_LEN + 1];
	assert_int_equal(oidc_pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", out), 0);
	assert_string_equal(out, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
	assert_int_equal(oidc_pkce_s256("short", out), -1);
	assert_int_equal(oidc_pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjX!", out), -1);
}

static void test_random_tokens_are_43_characters_and_differ(void **state)
{
	(void)state;
	char a[OIDC_RANDOM_LEN + 1], b[OIDC_RANDOM_LEN + 1], c[OIDC_S256_LEN + 1];
	assert_int_equal(oidc_random(a), 0);
	assert_int_equal(oidc_random(b), 0);
	assert_int_equal(strlen(a), 43);
	assert_string_not_equal(a, b);
	assert_int_equal(oidc_pkce_s256(a, c), 0);
}

static void test_base64url_round_trips_and_refuses_padding(void **state)
{
	(void)state;
	unsigned char out[16];
	char enc[32];
	assert_int_equal(oidc_b64url_decode("aGk", 3, out, sizeof out), 2);
	assert_memory_equal(out, "hi", 2);
	assert_int_equal(oidc_b64url_decode("aGk=", 4, out, sizeof out), -1);
	assert_int_equal(oidc_b64url_decode("aGl", 3, out, sizeof out), -1); /* stray bits */
	assert_int_equal(oidc_b64url_decode("a", 1, out, sizeof out), -1);
	assert_int_equal(oidc_b64url_encode((const unsigned char *)"\xfb\xff", 2, enc, sizeof enc),
	                 3);
	assert_string_equal(enc, "-_8");
}

static void test_discovery_is_checked(void **state)
{
	(void)state;
	struct oidc_discovery d;
	char err[200];
	const char *good = "{\"issuer\":\"http://127.0.0.1:9/\",\"authorization_endpoint\":"
	                   "\"http://127.0.0.1:9/authorize\",\"token_endpoint\":"
	                   "\"http://127.0.0.1:9/token\",\"jwks_uri\":\"http://127.0.0.1:9/jwks\","
	                   "\"response_types_supported\":[\"code\"],"
	                   "\"code_challenge_methods_supported\":[\"plain\",\"S256\"]}";
	assert_int_equal(
	    oidc_discovery_parse(good, strlen(good), "http://127.0.0.1:9/", &d, err, sizeof err),
	    0);
	assert_string_equal(d.token_endpoint, "http://127.0.0.1:9/token");
	assert_int_equal(
	    oidc_discovery_parse(good, strlen(good), "http://127.0.0.1:9", &d, err, sizeof err),
	    -1);
	const char *nopkce = "{\"issuer\":\"https://i\",\"authorization_endpoint\":\"https://i/a\","
	                     "\"token_endpoint\":\"https://i/t\",\"jwks_uri\":\"https://i/k\","
	                     "\"code_challenge_methods_supported\":[\"plain\"]}";
	assert_int_equal(
	    oidc_discovery_parse(nopkce, strlen(nopkce), "https://i", &d, err, sizeof err), -1);
	const char *js = "{\"issuer\":\"https://i\",\"authorization_endpoint\":\"javascript:x\","
	                 "\"token_endpoint\":\"https://i/t\",\"jwks_uri\":\"https://i/k\"}";
	assert_int_equal(oidc_discovery_parse(js, strlen(js), "https://i", &d, err, sizeof err),
	                 -1);
	assert_int_equal(oidc_discovery_parse("[", 1, "https://i", &d, err, sizeof err), -1);
}

static void test_token_replies(void **state)
{
	(void)state;
	char err[200], *t;
	const char *ok =
	    "{\"access_token\":\"x\",\"token_type\":\"Bearer\",\"id_token\":\"a.b.c\"}";
	assert_int_equal(oidc_token_reply(ok, strlen(ok), &t, err, sizeof err), 0);
	assert_string_equal(t, "a.b.c");
	free(t);
	const char *no = "{\"error\":\"invalid_grant\"}";
	assert_int_equal(oidc_token_reply(no, strlen(no), &t, err, sizeof err), -1);
	assert_non_null(strstr(err, "invalid_grant"));
	assert_null(t);
}

static void test_wechat_replies(void **state)
{
	(void)state;
	struct wechat_token w;
	char err[200];
	const char *ok = "{\"access_token\":\"AT\",\"expires_in\":7200,\"refresh_token\":\"RT\","
	                 "\"openid\":\"oABC-123\",\"scope\":\"snsapi_base\",\"unionid\":\"uXYZ\"}";
	assert_int_equal(wechat_token_reply(ok, strlen(ok), &w, err, sizeof err), 0);
	assert_string_equal(w.openid, "oABC-123");
	assert_string_equal(w.unionid, "uXYZ");
	const char *nounion = "{\"access_token\":\"AT\",\"openid\":\"o1\"}";
	assert_int_equal(wechat_token_reply(nounion, strlen(nounion), &w, err, sizeof err), 0);
	assert_string_equal(w.unionid, "");
	const char *no = "{\"errcode\":40029,\"errmsg\":\"invalid code\"}";
	assert_int_equal(wechat_token_reply(no, strlen(no), &w, err, sizeof err), -1);
	assert_non_null(strstr(err, "40029"));
	const char *sp = "{\"openid\":\"a b\"}";
	assert_int_equal(wechat_token_reply(sp, strlen(sp), &w, err, sizeof err), -1);
	assert_true(wechat_user_agent("Mozilla/5.0 (iPhone) MicroMessenger/8.0.47 NetType/WIFI"));
	assert_false(wechat_user_agent("Mozilla/5.0 (iPhone) Safari/604.1"));
}

static int setup(void **state)
{
	(void)state;
	rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	rsa_key2 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	ec_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	return rsa_key && rsa_key2 && ec_key ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(rsa_key);
	EVP_PKEY_free(rsa_key2);
	EVP_PKEY_free(ec_key);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rs256_token_verifies),
	    cmocka_unit_test(test_es256_token_verifies),
	    cmocka_unit_test(test_a_token_without_kid_tries_keys_of_its_type),
	    cmocka_unit_test(test_another_keys_signature_is_bad),
	    cmocka_unit_test(test_a_changed_payload_is_a_bad_signature),
	    cmocka_unit_test(test_unknown_kid_is_told_apart),
	    cmocka_unit_test(test_none_and_hmac_are_refused),
	    cmocka_unit_test(test_malformed_tokens_are_malformed),
	    cmocka_unit_test(test_weak_and_foreign_keys_are_skipped),
	    cmocka_unit_test(test_good_claims_pass_with_the_subject),
	    cmocka_unit_test(test_each_claim_is_checked),
	    cmocka_unit_test(test_pkce_s256_matches_rfc7636),
	    cmocka_unit_test(test_random_tokens_are_43_characters_and_differ),
	    cmocka_unit_test(test_base64url_round_trips_and_refuses_padding),
	    cmocka_unit_test(test_discovery_is_checked),
	    cmocka_unit_test(test_token_replies),
	    cmocka_unit_test(test_wechat_replies),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
