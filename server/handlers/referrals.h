/*
 * referrals.h: members bringing friends (docs/campaigns.md, "Referrals"). A
 * member's share link names their code; /r/{code} leaves it in a cookie
 * (with a device cookie) for the friend's sign-in or claim, which records a
 * referral (sql/029_referrals.sql); the friend's first awarded claim after
 * it rewards both, once. Farms are refused and flagged by the database
 * when the referral is recorded; staff list them.
 */
#ifndef PACKCODE_SERVER_REFERRALS_H
#define PACKCODE_SERVER_REFERRALS_H

#include <stddef.h>

#define REFERRAL_COOKIE     "pc_ref" /* the code of the link the browser came through */
#define REFERRAL_DEVICE     "pc_dev" /* a random device id: 32 lowercase hex digits */
#define REFERRAL_CODE_LEN   10       /* base32, lowercase: 50 random bits */
#define REFERRAL_DEVICE_LEN 32
#define REFERRAL_LIMIT_MAX  100

struct request;
struct json_t;

/*
 * The share of the signed-in member of r, for a page (/me): their code,
 * made once as GET .../me/referral makes it (and the request remembered
 * for the farm checks), the link, and their referral facts. cb gets the
 * object {"code", "url", "referred", "referred_by", "earned"} (cb's to
 * keep: it decrefs it), or NULL if the database failed (logged); r is not
 * answered here.
 */
typedef void (*referral_share_cb)(void *arg, struct request *r, struct json_t *share);
void referral_share(struct request *r, referral_share_cb cb, void *arg);

/* GET /api/v1/members/me/referral: {"code", "url"} (made once), and the member's counts. */
void referral_route_me(struct request *r);
/* POST /api/v1/members/me/referral {"code": ...}: the signed-in member was referred. */
void referral_route_record(struct request *r);
/* GET /r/{code}: the cookies, and a redirect to the sign-in page (a page route). */
void referral_route_visit(struct request *r);
/* GET /api/v1/admin/referrals[?flagged=true][&before=ID][&limit=N] */
void referral_route_admin(struct request *r);
/* GET /api/v1/admin/referrals/rules: the group's bonus and limits, and the brands' bonuses */
void referral_route_rules(struct request *r);
/* POST /api/v1/admin/referrals/rules: set the group's or a brand's (scope campaigns) */
void referral_route_rules_set(struct request *r);

/*
 * After member signed in (serial NULL) or had a claim of serial awarded:
 * if r carries a referral cookie, record the referral (and settle it, after
 * a claim), without delaying r's reply: nothing of r is used after this
 * returns. Errors are logged.
 */
void referral_note(struct request *r, const char *member, const char *serial);

/* ---- pure (referrals_input.c, fuzzed: fuzz/fuzz_referral_input.c) ---- */

/* 1 if s[0..len) is a referral code: REFERRAL_CODE_LEN of [a-z2-7]. */
int referral_code_valid(const char *s, size_t len);
/* 1 if s[0..len) is a device id: REFERRAL_DEVICE_LEN of [0-9a-f]. */
int referral_device_valid(const char *s, size_t len);
/*
 * The body {"code": string} of POST .../me/referral: 0 with the code (as a
 * valid code, uppercase taken as lowercase) in code, or -1 with err.
 */
int referral_body_decode(const char *body, size_t len, char code[REFERRAL_CODE_LEN + 1], char *err,
                         size_t errlen);
/*
 * The admin list's query: flagged=true|false, before=ID, limit=1..100
 * (default 50). 0, or -1 with err.
 */
int referral_query_decode(const char *query, int *flagged, long long *before, int *limit, char *err,
                          size_t errlen);

#define REFERRAL_POINTS_MAX 1000000
#define REFERRAL_BRAND_MAX  200

/* The body of POST /api/v1/admin/referrals/rules, checked. */
struct referral_rules_input {
	char brand[REFERRAL_BRAND_MAX + 1]; /* "" (group): the group's rules */
	int referee_points, referrer_points;
	int daily_max, window_hours; /* the group's only; 0: unchanged */
};
/*
 * {"brand": name or null, "referee_points": 0..1000000, "referrer_points":
 * 0..1000000, and for the group (no brand) "daily_max": 1..100000,
 * "window_hours": 1..8760}: 0 with in, or -1 with err.
 */
int referral_rules_decode(const char *body, size_t len, struct referral_rules_input *in, char *err,
                          size_t errlen);

#endif
