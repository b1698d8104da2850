/*
 * fuzz_oidc.c: libFuzzer target for what a provider or a browser hands the
 * OIDC and WeChat code (server/handlers/oidc.c). The first byte picks the
 * parser (an admin's merge body too); for a JWS, the input is a JWKS, a newline, then the token, so
 * the keys and the token are both the fuzzer's. Beyond "does not crash": base64url round-trips, and
 * an accepted token has an object for its payload.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/merge.h"
#include "handlers/oidc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_oidc: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	if (size < 1)
		return 0;
	const char *in = (const char *)data + 1;
	size_t len = size - 1;
	switch (data[0] % 7) {
	case 0: {
		const char *nl = memchr(in, '\n', len);
		if (!nl)
			return 0;
		struct jwks *k = jwks_parse(in, (size_t)(nl - in), err, sizeof err);
		json_t *p = NULL;
		char kid[OIDC_KID_MAX + 1];
		enum jws_result r =
		    jws_verify(nl + 1, len - (size_t)(nl + 1 - in), k, &p, kid, err, sizeof err);
		check(r != JWS_OK || json_is_object(p),
		      "an accepted JWS without an object payload");
		check(strlen(kid) <= OIDC_KID_MAX, "kid too long");
		if (p) {
			struct oidc_expect e = {"https://i", "c", "n", 1700000000, 60, 600};
			char sub[OIDC_SUB_MAX + 1];
			if (oidc_claims_check(p, &e, sub, err, sizeof err) == OIDC_CLAIMS_OK)
				check(sub[0] != '\0', "a subject that is empty");
		}
		json_decref(p);
		jwks_free(k);
		break;
	}
	case 1: {
		struct oidc_discovery d;
		if (oidc_discovery_parse(in, len, "https://i", &d, err, sizeof err) == 0)
			check(strcmp(d.issuer, "https://i") == 0, "another issuer accepted");
		break;
	}
	case 2: {
		char *t = NULL;
		if (oidc_token_reply(in, len, &t, err, sizeof err) == 0)
			check(t != NULL, "no id_token");
		free(t);
		break;
	}
	case 3: {
		struct wechat_token w;
		if (wechat_token_reply(in, len, &w, err, sizeof err) == 0)
			check(w.openid[0] != '\0', "no openid");
		break;
	}
	case 4: {
		unsigned char buf[4096];
		char enc[8192];
		unsigned char back[4096];
		long n = oidc_b64url_decode(in, len, buf, sizeof buf);
		if (n >= 0) {
			long e = oidc_b64url_encode(buf, (size_t)n, enc, sizeof enc);
			check(e == (long)len && memcmp(enc, in, len) == 0,
			      "base64url does not round-trip");
			check(oidc_b64url_decode(enc, (size_t)e, back, sizeof back) == n,
			      "decode again");
		}
		break;
	}
	case 5: {
		char from[3 * MEMBER_ID_MAX + 1];
		size_t n;
		int into;
		if (merge_request_decode(in, len, from, sizeof from, &n, &into, err, sizeof err) ==
		    0)
			check(n > 0 && n < sizeof from && strlen(from) == n, "a bad from accepted");
		break;
	}
	default: {
		char v[256], out[OIDC_S256_LEN + 1];
		if (len < sizeof v) {
			memcpy(v, in, len);
			v[len] = '\0';
			(void)oidc_pkce_s256(v, out);
			(void)wechat_user_agent(v);
		}
		break;
	}
	}
	return 0;
}
