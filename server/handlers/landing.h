/*
 * landing.h: the consumer's pages: GET / and /c/ (a field for the code),
 * GET /c/{code} (and the GS1 Digital Link path), the claim form's POST
 * /c/{code}/claim and the report's POST /c/{code}/report.
 *
 * Server-rendered HTML for a phone, English, Simplified or Traditional
 * Chinese by Accept-Language, no external assets and no JavaScript, every
 * interpolated value escaped; JSON for a client whose Accept asks for it.
 */
#ifndef PACKCODE_SERVER_LANDING_H
#define PACKCODE_SERVER_LANDING_H

#include <stddef.h>

struct request;

/* A decoded path segment longer than this is refused. */
#define LANDING_SEGMENT_MAX 200

/* The route table's handlers: GET /, GET /c/{code?}, POST /c/{code?}/claim and
 * /c/{code?}/report, GET /01/... */
void landing_route_home(struct request *r);
void landing_route_page(struct request *r);
void landing_route_claim(struct request *r);
void landing_route_report(struct request *r);
void landing_route_digital_link(struct request *r);
/* GET /me (my points, or the sign-in form), POST /me/sign-in and /me/sign-out. */
void landing_route_me(struct request *r);
/* GET /privacy: the privacy notice (--privacy-version), HTML or JSON. */
void landing_route_privacy(struct request *r);
/* GET /campaigns/{id}: a campaign's rules, public (HTML or JSON) */
void landing_route_campaign(struct request *r);
void landing_route_me_sign_in(struct request *r);
void landing_route_me_sign_out(struct request *r);

/*
 * gtin: the GTIN-14 of a Digital Link path, or NULL for /c/{code}; lot: its
 * AI 10, or NULL (lookup_dl_mismatch).
 */
void landing_handle(struct request *r, const char *code, size_t len, const char *gtin,
                    const char *lot);
void landing_claim(struct request *r, const char *code, size_t len);
/* A consumer's report that a genuine code looks copied (form field reason). */
void landing_report(struct request *r, const char *code, size_t len);

/*
 * The "no such page" answer of a consumer route, with status: a page with
 * the code field, or {"error": error, "message": message} for an API client.
 */
void landing_not_found(struct request *r, int status, const char *error, const char *message);

/* A 429 page: "too many attempts, wait retry_after seconds" (Retry-After is the caller's). */
void landing_too_many(struct request *r, int retry_after);

/* The Content-Security-Policy header of the pages (static storage). */
const char *landing_csp(void);

#endif
