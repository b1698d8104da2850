/*
 * auth.h: members signing in. An SMS one-time code (sql/011_members.sql:
 * 6 digits, 5 minutes, 5 tries, cool-down and budgets counted in the
 * database), or any identity another handler proved (WeChat, OIDC: call
 * auth_sign_in). Either way the member is the one that identity belongs to,
 * made if new (an opaque key "m-..."), and the session is a new random
 * secret in an HttpOnly, SameSite=Lax cookie (Secure under TLS): a cookie
 * the client had before is never promoted (no session fixation). The
 * server keeps the secret's hash only; the CSRF token is derived from it.
 */
#ifndef PACKCODE_SERVER_AUTH_H
#define PACKCODE_SERVER_AUTH_H

#include <stddef.h>

#include "edge/negotiate.h"
#include "member_id.h"
#include "phone.h"
#include "pii.h"
#include "secret.h"

struct request;

enum auth_outcome {
	AUTH_OK,          /* signed in (auth_sign_in, auth_sms_verify), sent (auth_sms_send) */
	AUTH_BAD_INPUT,   /* message says why (an impossible phone number, a malformed code) */
	AUTH_WRONG,       /* the code is wrong, expired, used or was never sent (one answer) */
	AUTH_EXHAUSTED,   /* 5 wrong codes: ask for a new one */
	AUTH_THROTTLED,   /* cool-down or a budget: retry_after */
	AUTH_UNAVAILABLE, /* the database (503) */
	AUTH_TAKEN,       /* auth_sms_link: the phone is another member's (nothing changed) */
	AUTH_INTERNAL,
};

struct auth_result {
	enum auth_outcome outcome;
	const char *message;            /* AUTH_BAD_INPUT, AUTH_THROTTLED: for people */
	enum phone_result phone_why;    /* AUTH_BAD_INPUT of a phone: why */
	const char *member;             /* AUTH_OK of a sign-in: the member's key */
	int created;                    /* the member is new */
	long long expires;              /* the session's end, Unix seconds */
	char csrf[SECRET_CSRF_LEN + 1]; /* the new session's CSRF token */
	int retry_after;                /* AUTH_THROTTLED: seconds */
	char masked[PII_MASK_MAX + 1];  /* the phone, masked ("" if none) */
};

/* Called once, on the loop, with r still unanswered. */
typedef void (*auth_done_fn)(void *arg, struct request *r, const struct auth_result *res);

/*
 * Sign r's client in as the member of identity (kind, value[0..len)),
 * which the caller has proven (value normalised: a phone in E.164). The
 * Set-Cookie header is added to r; the caller replies. Consent to the
 * privacy notice (--privacy-version) is recorded when consent is set.
 */
void auth_sign_in(struct request *r, enum pii_kind kind, const char *value, size_t len, int consent,
                  auth_done_fn done, void *arg);

/*
 * Send a code to phone[0..len) (as typed: normalised here), in language
 * lang. AUTH_OK whether or not the number belongs to anyone (the same
 * answer for every number).
 */
void auth_sms_send(struct request *r, const char *phone, size_t len, enum lang lang,
                   auth_done_fn done, void *arg);

/* Check code for phone and sign in (as auth_sign_in) if it is right. */
void auth_sms_verify(struct request *r, const char *phone, size_t len, const char *code,
                     int consent, auth_done_fn done, void *arg);

/*
 * Check code for phone and add the phone to r's signed-in member
 * (r->member) if it is right: AUTH_OK (res->created: 1 if it was added, 0
 * if it was theirs already; res->member, res->masked), AUTH_TAKEN when it is
 * another member's (nothing changed), or the refusals of auth_sms_verify.
 * No session is made and the cookie is left alone.
 */
void auth_sms_link(struct request *r, const char *phone, size_t len, const char *code,
                   auth_done_fn done, void *arg);

/*
 * The member of an identity, made if new, without a session: for an
 * integration that verified the member itself (a claims-scoped token).
 * member_in is as typed: a phone (normalised), or an external id. done
 * gets AUTH_OK with res->member, or AUTH_BAD_INPUT.
 */
void auth_resolve(struct request *r, const char *member_in, size_t len, auth_done_fn done,
                  void *arg);

/*
 * The member member_in names, made by nobody: a member's key ("m-..."), or
 * a phone or external id (as typed), the member of that identity, else the
 * id itself (members made before 011 were keyed so). AUTH_OK with
 * res->member, or AUTH_BAD_INPUT.
 */
void auth_find(struct request *r, const char *member_in, size_t len, auth_done_fn done, void *arg);

/* Revoke r's member session (r->member set by http_member) and clear its cookie. */
void auth_sign_out(struct request *r, auth_done_fn done, void *arg);

/* The Set-Cookie of a member session (value NULL: cleared). */
void auth_set_cookie(struct request *r, const char *value, long long max_age);

/* POST /api/v1/auth/sms {"phone"}: 202 for every possible number. */
void auth_route_sms(struct request *r);
/* POST /api/v1/auth/sms/verify {"phone", "code"}: the session cookie and the member. */
void auth_route_sms_verify(struct request *r);
/* DELETE /api/v1/auth/session: sign out (the member's session, CSRF token needed). */
void auth_route_sign_out(struct request *r);

/* The body of the two POSTs, decoded (auth_input.c, pure, fuzzed). */
struct auth_input {
	char phone[PII_VALUE_MAX + 1];
	size_t phone_len;
	char code[8]; /* "" when absent */
	int consent;  /* "consent": true */
};
/* 0, or -1 with err: bad JSON, not an object, a field of the wrong type or size. */
int auth_input_decode(const char *body, size_t len, int need_code, struct auth_input *out,
                      char *err, size_t errlen);

#endif
