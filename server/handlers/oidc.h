/*
 * oidc.h: the protocol pieces of OpenID Connect and WeChat web authorization,
 * as pure functions (no I/O, no state but what the caller holds), shared by
 * handlers/oauth.c, the unit tests and the fuzz target: base64url, a JWKS
 * (RSA and P-256 keys) made into OpenSSL keys, JWS compact verification
 * (RS256, ES256; never "none" or an HMAC), the ID token's claims, PKCE S256,
 * the discovery document and the token endpoints' replies. Debian 12's
 * libjwt (1.10) reads no JWKS and cjose rests on OpenSSL's deprecated RSA/EC
 * APIs, so the keys go through OpenSSL 3's EVP and the JSON through jansson.
 */
#ifndef PACKCODE_SERVER_OIDC_H
#define PACKCODE_SERVER_OIDC_H

#include <jansson.h>
#include <stddef.h>

#define OIDC_TOKEN_MAX  16384 /* an ID token longer than this is refused */
#define OIDC_URL_MAX    1024
#define OIDC_KID_MAX    128
#define OIDC_SUB_MAX    255 /* OIDC Core: a subject has at most 255 ASCII characters */
#define OIDC_RANDOM_LEN 43  /* oidc_random: 32 random bytes in base64url */
#define OIDC_S256_LEN   43  /* a PKCE S256 challenge: SHA-256 in base64url */

/* base64url without padding (RFC 7515 §2): the decoded length, or -1 (bad alphabet, too long). */
long oidc_b64url_decode(const char *in, size_t len, unsigned char *out, size_t outlen);
/* Encode without padding into out (NUL-terminated): the length, or -1 if it does not fit. */
long oidc_b64url_encode(const unsigned char *in, size_t len, char *out, size_t outlen);

/* 32 random bytes in base64url (a state, a nonce, a PKCE verifier). 0, or -1. */
int oidc_random(char out[OIDC_RANDOM_LEN + 1]);
/* The PKCE S256 challenge of verifier (RFC 7636 §4.2). 0, or -1. */
int oidc_pkce_s256(const char *verifier, char out[OIDC_S256_LEN + 1]);

/* A JWKS: the keys it holds that can verify RS256 or ES256, the others skipped. */
struct jwks;
/* NULL with err if the document is not a JWKS or holds no usable key. */
struct jwks *jwks_parse(const char *json, size_t len, char *err, size_t errlen);
size_t jwks_count(const struct jwks *k);
/* 1 if k has a key with this kid. */
int jwks_has_kid(const struct jwks *k, const char *kid);
void jwks_free(struct jwks *k);

enum jws_result {
	JWS_OK,
	JWS_MALFORMED,   /* not three base64url parts, a header that is not JSON, too long */
	JWS_BAD_ALG,     /* not RS256 or ES256 ("none", HS256: refused) */
	JWS_UNKNOWN_KID, /* no key of the JWKS has the header's kid (refetch the JWKS) */
	JWS_BAD_SIGNATURE,
};

/*
 * Verify a JWS in compact serialisation against keys. JWS_OK: *payload is
 * its payload, parsed (a JSON object; the caller frees it). Whatever the
 * result, kid (if not NULL) gets the header's kid ("" if none or unreadable).
 */
enum jws_result jws_verify(const char *token, size_t len, const struct jwks *keys, json_t **payload,
                           char kid[OIDC_KID_MAX + 1], char *err, size_t errlen);

struct oidc_expect {
	const char *issuer;    /* iss, exactly */
	const char *client_id; /* in aud; azp if there are several audiences */
	const char *nonce;     /* nonce, exactly */
	long long now;         /* seconds since the epoch */
	int leeway_s;          /* clock skew allowed on exp and iat */
	int max_age_s;         /* an iat older than this is refused */
};

enum oidc_claims {
	OIDC_CLAIMS_OK,
	OIDC_CLAIMS_MALFORMED, /* a claim of the wrong type, no sub */
	OIDC_CLAIMS_ISSUER,
	OIDC_CLAIMS_AUDIENCE,
	OIDC_CLAIMS_EXPIRED,
	OIDC_CLAIMS_IAT, /* issued in the future or too long ago */
	OIDC_CLAIMS_NONCE,
};

/* Check an ID token's claims (OIDC Core §3.1.3.7); OIDC_CLAIMS_OK copies sub. */
enum oidc_claims oidc_claims_check(const json_t *claims, const struct oidc_expect *e,
                                   char sub[OIDC_SUB_MAX + 1], char *err, size_t errlen);
const char *oidc_claims_name(enum oidc_claims c);

struct oidc_discovery {
	char issuer[OIDC_URL_MAX + 1];
	char authorization_endpoint[OIDC_URL_MAX + 1];
	char token_endpoint[OIDC_URL_MAX + 1];
	char jwks_uri[OIDC_URL_MAX + 1];
};

/*
 * A discovery document (OpenID Connect Discovery §3): its issuer must be
 * expected_issuer exactly (§4.3), the endpoints http(s) URLs, "code" among
 * response_types_supported and S256 among code_challenge_methods_supported
 * when they are listed. 0, or -1 with err.
 */
int oidc_discovery_parse(const char *json, size_t len, const char *expected_issuer,
                         struct oidc_discovery *out, char *err, size_t errlen);

/*
 * A token endpoint's JSON reply (RFC 6749 §5): 0 with *id_token (the
 * caller frees it), or -1 with err (an error reply, no id_token, not JSON).
 */
int oidc_token_reply(const char *json, size_t len, char **id_token, char *err, size_t errlen);

#define WECHAT_ID_MAX 128

struct wechat_token {
	char openid[WECHAT_ID_MAX + 1];
	char unionid[WECHAT_ID_MAX + 1]; /* "" when the app is in no open platform account */
};

/*
 * WeChat's /sns/oauth2/access_token reply: {"access_token": ..., "openid":
 * ..., "unionid": ...} or {"errcode": N, "errmsg": ...}. 0, or -1 with err.
 */
int wechat_token_reply(const char *json, size_t len, struct wechat_token *out, char *err,
                       size_t errlen);

/* 1 if a User-Agent is WeChat's in-app browser (it carries "MicroMessenger"). */
int wechat_user_agent(const char *ua);

#endif
