/*
 * url.h: what goes in the QR, and reading it back: GTINs, the short landing
 * URL, and GS1 Digital Link URLs and paths.
 *
 * The short form is upper case (HTTPS://HOST/C/CODE) so that a QR encoder
 * can use alphanumeric mode; the server matches paths case-insensitively.
 */
#ifndef PACKCODE_URL_H
#define PACKCODE_URL_H

#include <stddef.h>

#define GTIN_LEN      14
#define URL_MAX       256
#define HOST_MAX      100 /* characters of host[:port] */
#define DL_SERIAL_MAX 20  /* GS1 AI 21 */
#define DL_LOT_MAX    20  /* GS1 AI 10 */
#define DL_EXPIRY_LEN 6   /* GS1 AI 17, YYMMDD */

/*
 * GTIN-8, -12, -13 or -14 (digits only, GS1 mod-10 check digit right) as a
 * GTIN-14, zero padded on the left. 0, or -1 with err ("GTIN check digit is
 * 3, expected 7"). err may be NULL.
 */
int gtin_normalize(const char *in, char out[GTIN_LEN + 1], char *err, size_t errlen);

/*
 * A host fit to print in a URL: a DNS name (labels of letters, digits and
 * inner hyphens, at most 63 each, the last not all digits) or a dotted-quad
 * IPv4 address, optionally with ":port" (1-65535), at most HOST_MAX
 * characters in all. 0 or -1.
 */
int host_valid(const char *host);

/*
 * "HTTPS://HOST/C/CODE", all upper case. code is 1-20 letters and digits.
 * Returns the length, or -1 if an argument is not valid or it does not fit.
 */
int url_short(char *out, size_t outlen, const char *host, const char *code);

/* A GS1 AI 10 (lot) or AI 21 (serial) value: 1-20 characters of GS1 set 82, not "." or "..". */
int dl_value_valid(const char *value);

/* A GS1 AI 17 date YYMMDD (DD 00 means the end of the month): 0 or -1. */
int dl_expiry_valid(const char *yymmdd);

/*
 * "https://host/01/GTIN14/21/CODE", scheme and host in lower case; with a
 * lot "https://host/01/GTIN14/10/LOT/21/CODE" (the order of key qualifiers
 * the GS1 Digital Link standard prescribes for a GTIN); "?17=YYMMDD" when
 * expiry is not NULL. gtin is any GTIN gtin_normalize takes; lot and code are
 * percent-encoded where a URI needs it. Returns the length, or -1 if an
 * argument is not valid or it does not fit.
 */
int url_digital_link(char *out, size_t outlen, const char *host, const char *gtin, const char *code,
                     const char *lot, const char *expiry);

/* A GS1 Digital Link request path as the server sees it. */
struct dl_path {
	char gtin[GTIN_LEN + 1];      /* normalised to 14 digits */
	char code[DL_SERIAL_MAX + 1]; /* the AI 21 value, percent-decoded, not yet parsed */
	char lot[DL_LOT_MAX + 1];     /* empty when absent */
};

/*
 * Parse "/01/{gtin}/21/{serial}", "/01/{gtin}/10/{lot}/21/{serial}" or
 * "/01/{gtin}/21/{serial}/10/{lot}" (percent-encoding decoded, hex digits in
 * either case, a query string ignored). path need not be NUL-terminated;
 * nothing past len is read. 0, or -1 if it is not such a path: a bad GTIN,
 * an empty, overlong or repeated field, a character outside GS1 set 82 (NUL,
 * control, space, non-ASCII), a broken escape, a missing or extra segment.
 */
int dl_parse_path(const char *path, size_t len, struct dl_path *out);

#endif
