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

/* ---- SSCC: the code of a case or a pallet (GS1 AI 00) --------------------- */

#define SSCC_LEN 18
#define GCP_MIN  4 /* GS1 Company Prefix lengths */
#define GCP_MAX  12

/*
 * An SSCC: the extension digit (0-9, the brand's choice), the brand's GS1
 * Company Prefix (4-12 digits), the serial reference (the 16 - prefix-length
 * digits left, zero padded; reference must fit them) and the GS1 mod-10
 * check digit: 18 digits. 0, or -1 with err.
 */
int sscc_make(char out[SSCC_LEN + 1], unsigned extension, const char *company_prefix,
              unsigned long long reference, char *err, size_t errlen);

/* 18 digits with the right check digit: 0, or -1 with err ("SSCC check digit is 3, expected 8"). */
int sscc_valid(const char *sscc, char *err, size_t errlen);

/* "https://host/00/SSCC" (host in lower case). The length, or -1 (bad host or SSCC, no room). */
int url_sscc(char *out, size_t outlen, const char *host, const char *sscc);

/*
 * Parse "/00/{sscc}" (one trailing slash tolerated, a query ignored; path
 * need not be NUL-terminated) into out. 0, or -1 for anything else.
 */
int dl_parse_sscc_path(const char *path, size_t len, char out[SSCC_LEN + 1]);

/* ---- the resolver's side: any GS1 Digital Link URI of a GTIN ------------- */

#define DL_CPV_MAX 20 /* GS1 AI 22, consumer product variant */

/*
 * The link types the resolver knows (GS1 Web Vocabulary, namespace
 * DL_VOC): gs1:defaultLink and gs1:verificationService are the resolver's
 * own; a brand sets the others per product (DL_LT_BRAND_FIRST onwards).
 */
enum dl_link_type {
	DL_LT_NONE,    /* no linkType in the request: the default */
	DL_LT_LINKSET, /* linkType=linkset or linkType=all: every link, as a linkset */
	DL_LT_UNKNOWN, /* a link type this resolver has no links of (404) */
	DL_LT_DEFAULT, /* gs1:defaultLink */
	DL_LT_VERIFICATION,
	DL_LT_PIP,
	DL_LT_BRAND_FIRST = DL_LT_PIP,
	DL_LT_CERTIFICATION,
	DL_LT_INSTRUCTIONS,
	DL_LT_SAFETY,
	DL_LT_SUSTAINABILITY,
	DL_LT_RECYCLING,
	DL_LT_PROMOTION,
	DL_LT_EPIL,
	DL_LT_SUPPORT,
	DL_LT_REGISTER,
	DL_LT_REVIEW,
	DL_LT_VIDEO,
	DL_LT_RECIPE,
	DL_LT_NUTRITION,
	DL_LT_ALLERGEN,
	DL_LT_FAQS,
	DL_LT_MASTER_DATA,
	DL_LT_TRACEABILITY,
	DL_LT_SOCIAL,
	DL_LT_COUNT
};

/* The namespace of GS1's link types, as the resolver writes them. */
#define DL_VOC "https://ref.gs1.org/voc/"

/* The term of a link type ("pip" for gs1:pip), NULL for NONE, LINKSET and UNKNOWN. */
const char *dl_link_type_term(enum dl_link_type t);

/*
 * A link type as a request or a brand writes it: "gs1:pip", or the term
 * under https://ref.gs1.org/voc/, https://gs1.org/voc/ (http too, and www.);
 * "linkset" and "all" are DL_LT_LINKSET. DL_LT_UNKNOWN for anything else.
 */
enum dl_link_type dl_link_type_parse(const char *s, size_t n);

#define DL_HREF_MAX       1000
#define DL_TITLE_MAX      200
#define DL_HREFLANG_MAX   35
#define DL_MEDIA_TYPE_MAX 127

/*
 * A brand's link, checked as the CHECK constraints of product_links
 * (sql/014_resolver.sql) check it, in words the CLI and the admin API show:
 * type one of the brand's link types (gs1:pip, pip or the full IRI; *out
 * set), href an absolute https URL of at most 1000 characters, nothing a
 * Link header or a page would need escaped; title 1-200 bytes of UTF-8
 * without controls, '"' or '\'; hreflang "" or a language tag (en, zh-CN);
 * media_type type/subtype. 0, or -1 with err.
 */
int dl_link_check(const char *type, const char *href, const char *title, const char *hreflang,
                  const char *media_type, enum dl_link_type *out, char *err, size_t errlen);

/* What a resolver request asks: the URI's key and qualifiers, its query. */
struct dl_request {
	struct dl_path key;             /* key.code "" when the URI names no serial (GTIN level) */
	char cpv[DL_CPV_MAX + 1];       /* AI 22, "" when absent */
	char expiry[DL_EXPIRY_LEN + 1]; /* ?17=YYMMDD, "" when absent */
	enum dl_link_type link_type;
	int all;                 /* linkType=all (DL_LT_LINKSET) */
	char link_type_text[64]; /* linkType as given (decoded, cut), for messages */
};

/*
 * Parse a GS1 Digital Link request of a GTIN: the path "/01/{gtin}" and
 * the qualifiers the standard allows after it, in its order
 * ("/22/{cpv}", "/10/{lot}", "/21/{serial}", each optional; also the serial
 * before the lot, as dl_parse_path has always taken), one trailing slash
 * tolerated; and the query: linkType, data attributes as AIs (11, 13, 15,
 * 16 and 17 dates checked; a key qualifier there is an error; other AIs of
 * 2-4 digits with set 82 values), other parameters ignored. path and query
 * need not be NUL-terminated. 0, or -1 for a URI the standard rejects (the
 * resolver's 400).
 */
int dl_parse_request(const char *path, size_t len, const char *query, size_t qlen,
                     struct dl_request *out);

/*
 * The request's URI without its query, canonical (GTIN-14, qualifiers in
 * the standard's order, scheme and host in lower case): the anchor of its
 * links. Returns the length, or -1 if it does not fit or host is not valid.
 */
int dl_request_uri(char *out, size_t outlen, const char *host, const struct dl_request *r);

#endif
