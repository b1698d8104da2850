/*
 * secret.c: random secrets and what derives from them (secret.h).
 */
#include "secret.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

/* in[0..32) as base64url without padding (43 characters) into out[44]. */
static void b64url(const unsigned char in[32], char out[44])
{
	unsigned char b64[48];
	int n = EVP_EncodeBlock(b64, in, 32);
	while (n > 0 && b64[n - 1] == '=')
		n--;
	for (int i = 0; i < n; i++)
		out[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : (char)b64[i];
	out[n] = '\0';
}

int secret_new(const char *prefix, char *out, size_t outlen, unsigned char hash[SECRET_HASH_LEN])
{
	unsigned char raw[32];
	char text[44];
	unsigned int hl = 0;
	int rc = -1;
	if (RAND_priv_bytes(raw, sizeof raw) != 1)
		return -1;
	b64url(raw, text);
	if (snprintf(out, outlen, "%s%s", prefix, text) < (int)outlen &&
	    EVP_Digest(out, strlen(out), hash, &hl, EVP_sha256(), NULL) && hl == SECRET_HASH_LEN)
		rc = 0;
	OPENSSL_cleanse(raw, sizeof raw);
	OPENSSL_cleanse(text, sizeof text);
	return rc;
}

int secret_csrf(const char *s, size_t len, char out[SECRET_CSRF_LEN + 1])
{
	static const char label[] = "packcode-csrf:";
	unsigned char h[32];
	unsigned int hl = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) &&
	         EVP_DigestUpdate(c, label, sizeof label - 1) && EVP_DigestUpdate(c, s, len) &&
	         EVP_DigestFinal_ex(c, h, &hl) && hl == 32;
	EVP_MD_CTX_free(c);
	if (!ok)
		return -1;
	b64url(h, out);
	return 0;
}
