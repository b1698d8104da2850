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

#define GTIN_LEN 14
#define URL_MAX 256
#define HOST_MAX 100
#define DL_LOT_MAX 20 /* GS1 AI 10 */

/* GTIN-8, -12, -13 or -14 with a right check digit, as GTIN-14 (zero padded). 0 or -1 with err. */
int gtin_normalize(const char *in, char out[GTIN_LEN + 1], char *err, size_t errlen);

/* A host name (optionally with :port) fit to print in a URL: 0 or -1. */
int host_valid(const char *host);

/* "HTTPS://HOST/C/CODE", upper case. Returns the length, or -1 if it does not fit. */
int url_short(char *out, size_t outlen, const char *host, const char *code);

/*
 * "https://host/01/GTIN14/21/CODE", plus "/10/LOT" when lot is not NULL and
 * "?17=YYMMDD" when expiry is not NULL. Returns the length, or -1.
 */
int url_digital_link(char *out, size_t outlen, const char *host, const char *gtin14,
		     const char *code, const char *lot, const char *expiry);

/* A GS1 Digital Link request path as the server sees it. */
struct dl_path {
	char gtin[GTIN_LEN + 1];
	char code[65];             /* the AI 21 value as sent (percent-decoded), not yet parsed */
	char lot[DL_LOT_MAX + 1];  /* empty when absent */
};

/*
 * Parse "/01/{gtin}/21/{serial}[/10/{lot}]" (any case, percent-encoding
 * decoded, a query string ignored). 0, or -1 if it is not such a path.
 */
int dl_parse_path(const char *path, size_t len, struct dl_path *out);

#endif
