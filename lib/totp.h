/*
 * totp.h: time-based one-time passwords (RFC 6238: HMAC-SHA1, 6 digits,
 * 30-second steps), as authenticator apps make them, and the otpauth:// URI
 * that hands an app its secret. A code is accepted one step either side of
 * now (clocks drift); the caller makes sure a step is used once.
 */
#ifndef PACKCODE_LIB_TOTP_H
#define PACKCODE_LIB_TOTP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define TOTP_SECRET_LEN 20 /* bytes: 160 bits, as RFC 4226 recommends */
#define TOTP_PERIOD     30 /* seconds a step lasts */
#define TOTP_DIGITS     6
#define TOTP_URI_MAX    256

/* The code of step (unix time / 30), 0 to 999999. */
unsigned totp_code(const unsigned char *secret, size_t len, uint64_t step);

/*
 * 1 if code (6 digits) is the code of now's step or of the step before or
 * after, with that step in *step; 0 otherwise (compared in constant time).
 */
int totp_verify(const unsigned char *secret, size_t len, const char *code, time_t now,
                int64_t *step);

/* in[0..len) in RFC 4648 base32 without padding, NUL-terminated: its length, or 0 if it does not
 * fit. */
size_t totp_base32(const unsigned char *in, size_t len, char *out, size_t outlen);

/*
 * otpauth://totp/ISSUER:ACCOUNT?secret=...&issuer=ISSUER&algorithm=SHA1&digits=6&period=30
 * into out (account and issuer are letters, digits and ._@-): 0, or -1 if it does not fit.
 */
int totp_uri(const unsigned char *secret, size_t len, const char *issuer, const char *account,
             char *out, size_t outlen);

#endif
