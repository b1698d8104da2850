/*
 * totp.c: RFC 6238 over RFC 4226 (HOTP) with OpenSSL's HMAC-SHA1, and the
 * otpauth:// URI of the secret. Pure but for the clock the caller passes.
 */
#include "totp.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

unsigned totp_code(const unsigned char *secret, size_t len, uint64_t step)
{
	unsigned char msg[8], mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	for (int i = 7; i >= 0; i--, step >>= 8)
		msg[i] = (unsigned char)(step & 0xff);
	if (!HMAC(EVP_sha1(), secret, (int)len, msg, sizeof msg, mac, &maclen) || maclen != 20)
		return 1000000; /* no 6-digit code matches it */
	unsigned off = mac[19] & 0x0f;
	uint32_t bin = (uint32_t)(mac[off] & 0x7f) << 24 | (uint32_t)mac[off + 1] << 16 |
	               (uint32_t)mac[off + 2] << 8 | (uint32_t)mac[off + 3];
	return bin % 1000000;
}

int totp_verify(const unsigned char *secret, size_t len, const char *code, time_t now,
                int64_t *step)
{
	char want[TOTP_DIGITS + 1];
	int found = 0;
	if (strlen(code) != TOTP_DIGITS || strspn(code, "0123456789") != TOTP_DIGITS || now < 0)
		return 0;
	int64_t t = (int64_t)now / TOTP_PERIOD;
	/* every candidate is computed and compared, whichever matched */
	for (int64_t s = t - 1; s <= t + 1; s++) {
		snprintf(want, sizeof want, "%06u", totp_code(secret, len, (uint64_t)s));
		if (CRYPTO_memcmp(want, code, TOTP_DIGITS) == 0 && !found) {
			found = 1;
			*step = s;
		}
	}
	return found;
}

size_t totp_base32(const unsigned char *in, size_t len, char *out, size_t outlen)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	size_t n = 0;
	unsigned buf = 0;
	int bits = 0;
	for (size_t i = 0; i < len; i++) {
		buf = (buf << 8 | in[i]) & 0xffff;
		bits += 8;
		while (bits >= 5) {
			if (n + 1 >= outlen)
				return 0;
			out[n++] = alphabet[(buf >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0) {
		if (n + 1 >= outlen)
			return 0;
		out[n++] = alphabet[(buf << (5 - bits)) & 31];
	}
	if (n >= outlen)
		return 0;
	out[n] = '\0';
	return n;
}

int totp_uri(const unsigned char *secret, size_t len, const char *issuer, const char *account,
             char *out, size_t outlen)
{
	char b32[128];
	if (!totp_base32(secret, len, b32, sizeof b32))
		return -1;
	int n =
	    snprintf(out, outlen,
	             "otpauth://totp/%s:%s?secret=%s&issuer=%s&algorithm=SHA1&digits=%d&period=%d",
	             issuer, account, b32, issuer, TOTP_DIGITS, TOTP_PERIOD);
	OPENSSL_cleanse(b32, sizeof b32);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}
