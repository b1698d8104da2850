/*
 * auth.c: members signing in (auth.h). Each operation is one call of a
 * function of sql/011_members.sql, given only keyed hashes, sealed values
 * and masks made here with the PII key: the database never sees a phone
 * number in clear. An SMS code's answer does not depend on whether the
 * number belongs to a member (the same 202, the same work), and a wrong,
 * expired, used or never-sent code is one answer too.
 */
#include "handlers/auth.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edge/http.h"
#include "engine/msession.h"
#include "engine/sms.h"
#include "handlers/referrals.h"
#include "clock.h"
#include "log.h"
#include "phone.h"
#include "server.h"

#define SESSION_PREFIX HTTP_MEMBER_PREFIX
#define HEX_BYTES(n)   (3 + 2 * (n))
#define NEW_MEMBER_LEN 18 /* "m-" and 16 base32 characters: 80 random bits */

struct auth {
	struct request *r;
	enum pii_kind kind;
	char value[PII_VALUE_MAX + 1]; /* normalised (a phone in E.164) */
	size_t len;
	char code[8];
	int consent;
	enum lang lang;
	char hash_hex[HEX_BYTES(PII_HASH_LEN)];
	char code_hex[HEX_BYTES(PII_HASH_LEN)];
	char sealed_hex[HEX_BYTES(PII_SEALED_MAX)];
	char session_hex[HEX_BYTES(SECRET_HASH_LEN)];
	char session[SECRET_LEN_MAX];
	unsigned char session_hash[SECRET_HASH_LEN];
	unsigned char id_hash[PII_HASH_LEN]; /* auth_resolve: the identity's keyed hash */
	char new_member[MEMBER_ID_MAX + 1];  /* "m-" and 16 base32 characters, or an external id */
	struct auth_result res;
	char member[MEMBER_ID_MAX + 1];
	char nums[4][16];
	auth_done_fn done;
	void *arg;
};

static void hex_of(const unsigned char *b, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	out[0] = '\\';
	out[1] = 'x';
	for (size_t i = 0; i < n; i++) {
		out[2 + 2 * i] = d[b[i] >> 4];
		out[3 + 2 * i] = d[b[i] & 15];
	}
	out[2 + 2 * n] = '\0';
}

static void auth_free(struct auth *a)
{
	if (a) {
		OPENSSL_cleanse(a, sizeof *a);
		free(a);
	}
}

/* Tell the caller, free a. */
static void finish(struct auth *a, enum auth_outcome o)
{
	a->res.outcome = o;
	a->done(a->arg, a->r, &a->res);
	auth_free(a);
}

static struct auth *auth_new(struct request *r, auth_done_fn done, void *arg)
{
	struct auth *a = calloc(1, sizeof *a);
	if (!a) {
		struct auth_result res = {.outcome = AUTH_UNAVAILABLE};
		done(arg, r, &res);
		return NULL;
	}
	a->r = r;
	a->done = done;
	a->arg = arg;
	return a;
}

/* The E.164 of phone[0..len) into a->value, else AUTH_BAD_INPUT (a freed). 0 or -1. */
static int take_phone(struct auth *a, const char *phone, size_t len)
{
	char e164[PHONE_E164_MAX + 1];
	enum phone_result why =
	    phone_looks_like(phone, len)
	        ? phone_normalize(phone, len, a->r->w->srv->cfg.default_country, e164)
	        : PHONE_NOT_A_NUMBER;
	if (why != PHONE_OK) {
		a->res.message = phone_result_message(why);
		a->res.phone_why = why;
		finish(a, AUTH_BAD_INPUT);
		return -1;
	}
	a->kind = PII_PHONE;
	a->len = strlen(e164);
	memcpy(a->value, e164, a->len + 1);
	return 0;
}

/* The identity's hash, sealed value and mask; the session secret; a new member key. */
static int prepare(struct auth *a, int with_session)
{
	const struct pii_key *k = &a->r->w->srv->pii;
	unsigned char h[PII_HASH_LEN], sealed[PII_SEALED_MAX], rnd[10];
	static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
	pii_hash(k, a->kind, a->value, a->len, h);
	hex_of(h, sizeof h, a->hash_hex);
	long n = pii_seal(k, a->kind, a->value, a->len, sealed, sizeof sealed);
	if (n < 0 || pii_mask(a->kind, a->value, a->res.masked, sizeof a->res.masked) < 0 ||
	    RAND_bytes(rnd, sizeof rnd) != 1)
		return -1;
	hex_of(sealed, (size_t)n, a->sealed_hex);
	memcpy(a->new_member, "m-", 2);
	for (int i = 0; i < 16; i++) {
		int bit = i * 5,
		    v = ((rnd[bit / 8] << 8 | (bit / 8 + 1 < 10 ? rnd[bit / 8 + 1] : 0)) >>
		         (11 - bit % 8)) &
		        31;
		a->new_member[2 + i] = b32[v];
	}
	a->new_member[NEW_MEMBER_LEN] = '\0';
	if (with_session) {
		if (secret_new(SESSION_PREFIX, a->session, sizeof a->session, a->session_hash) < 0)
			return -1;
		hex_of(a->session_hash, SECRET_HASH_LEN, a->session_hex);
	}
	if (a->code[0]) {
		unsigned char c[PII_HASH_LEN];
		pii_code_hash(k, h, a->code, c);
		hex_of(c, sizeof c, a->code_hex);
	}
	return 0;
}

/* A query failed: 1 (a finished) or 0. */
static int failed(struct auth *a, const struct pool_result *res, const char *what)
{
	if (res->status == POOL_OK)
		return 0;
	/* the database's state, not the request: connection, resources, operator, system,
	 * serialization (a retry is safe) */
	static const char *const transient[] = {"08", "53", "57", "58", "40"};
	int busy = 0;
	for (size_t i = 0; res->status == POOL_SQL_ERROR && i < 5; i++)
		busy |= strncmp(res->sqlstate, transient[i], 2) == 0;
	if (res->status == POOL_SQL_ERROR && !busy) {
		log_error("event=%s_failed sqlstate=%s reason=%s", what, res->sqlstate,
		          LOG_Q(res->message));
		finish(a, AUTH_INTERNAL);
	} else {
		finish(a, AUTH_UNAVAILABLE);
	}
	return 1;
}

void auth_set_cookie(struct request *r, const char *value, long long max_age)
{
	char c[256];
	snprintf(c, sizeof c, "%s=%s; Path=/; Max-Age=%lld; HttpOnly; SameSite=Lax%s",
	         HTTP_MEMBER_COOKIE, value ? value : "", max_age, r->w->srv->tls ? "; Secure" : "");
	http_header(r, "Set-Cookie", c);
}

/* After member_sign_in or member_sign_in_sms: the cookie, the caches, the caller. */
static void signed_in(void *arg, const struct pool_result *res)
{
	struct auth *a = arg;
	struct request *r = a->r;
	if (failed(a, res, "member_sign_in"))
		return;
	const PGresult *pg = res->res;
	const char *outcome = PQntuples(pg) == 1 ? PQgetvalue(pg, 0, 0) : "";
	if (strcmp(outcome, "signed_in") != 0) {
		int exhausted = strcmp(outcome, "exhausted") == 0;
		log_info("event=member_sign_in outcome=%s kind=sms to=%s client=%s", outcome,
		         LOG_Q(a->res.masked), LOG_Q(r->client));
		finish(a, exhausted ? AUTH_EXHAUSTED : AUTH_WRONG);
		return;
	}
	snprintf(a->member, sizeof a->member, "%s", PQgetvalue(pg, 0, 1));
	a->res.member = a->member;
	a->res.created = PQgetvalue(pg, 0, 2)[0] == 't';
	a->res.expires = strtoll(PQgetvalue(pg, 0, 4), NULL, 10);
	msessions_put(r->w->msessions, a->session_hash, a->member, a->res.expires, 0);
	secret_csrf(a->session, strlen(a->session), a->res.csrf);
	/* the request now carries the new session, for a handler that goes on (the landing claim)
	 */
	snprintf(r->member, sizeof r->member, "%s", a->member);
	memcpy(r->member_hash, a->session_hash, SECRET_HASH_LEN);
	snprintf(r->member_new, sizeof r->member_new, "%s", a->session);
	r->member_cookie = r->member_new; /* a form on the reply carries the new session's token */
	r->member_cookie_len = strlen(r->member_new);
	auth_set_cookie(r, a->session, a->res.expires - (long long)time(NULL));
	referral_note(r, a->member, NULL); /* came through a share link: the referral */
	log_info("event=member_sign_in outcome=signed_in kind=%s member=%s created=%d client=%s",
	         pii_kind_name(a->kind), LOG_Q(a->member), a->res.created, LOG_Q(r->client));
	finish(a, AUTH_OK);
}

void auth_sign_in(struct request *r, enum pii_kind kind, const char *value, size_t len, int consent,
                  auth_done_fn done, void *arg)
{
	struct auth *a = auth_new(r, done, arg);
	if (!a)
		return;
	if (len > PII_VALUE_MAX) {
		a->res.message = "the identity is too long";
		finish(a, AUTH_BAD_INPUT);
		return;
	}
	a->kind = kind;
	memcpy(a->value, value, len);
	a->value[len] = '\0';
	a->len = len;
	a->consent = consent;
	if (prepare(a, 1) < 0) {
		finish(a, AUTH_INTERNAL);
		return;
	}
	const struct server_config *cfg = &r->w->srv->cfg;
	struct pool_query q = {
	    .stmt = "member_sign_in",
	    .nparams = 9,
	    .values = {pii_kind_name(kind), a->hash_hex, a->sealed_hex, a->res.masked,
	               a->new_member, kind == PII_PHONE || kind == PII_EXTERNAL ? a->value : NULL,
	               a->session_hex, http_client_inet(r), consent ? cfg->privacy_version : NULL},
	};
	if (pool_submit(r->w->pool, &q, signed_in, a) < 0)
		finish(a, AUTH_UNAVAILABLE);
}

void auth_sms_verify(struct request *r, const char *phone, size_t len, const char *code,
                     int consent, auth_done_fn done, void *arg)
{
	struct auth *a = auth_new(r, done, arg);
	if (!a)
		return;
	if (strlen(code) != 6 || strspn(code, "0123456789") != 6) {
		a->res.message = "a code is the 6 digits of the text message";
		finish(a, AUTH_BAD_INPUT);
		return;
	}
	if (take_phone(a, phone, len) < 0)
		return;
	memcpy(a->code, code, 7);
	a->consent = consent;
	if (prepare(a, 1) < 0) {
		finish(a, AUTH_INTERNAL);
		return;
	}
	const struct server_config *cfg = &r->w->srv->cfg;
	struct pool_query q = {
	    .stmt = "member_sign_in_sms",
	    .nparams = 9,
	    .values = {a->hash_hex, a->code_hex, a->sealed_hex, a->res.masked, a->new_member,
	               a->value, a->session_hex, http_client_inet(r),
	               consent ? cfg->privacy_version : NULL},
	};
	if (pool_submit(r->w->pool, &q, signed_in, a) < 0)
		finish(a, AUTH_UNAVAILABLE);
}

/* After member_link_sms: the phone added to the signed-in member, or why not. */
static void linked(void *arg, const struct pool_result *res)
{
	struct auth *a = arg;
	struct request *r = a->r;
	if (failed(a, res, "member_link_sms"))
		return;
	const PGresult *pg = res->res;
	const char *outcome = PQntuples(pg) == 1 ? PQgetvalue(pg, 0, 0) : "";
	log_info("event=member_identity_link provider=sms outcome=%s member=%s to=%s client=%s",
	         outcome, LOG_Q(r->member), LOG_Q(a->res.masked), LOG_Q(r->client));
	if (strcmp(outcome, "linked") == 0 || strcmp(outcome, "already") == 0) {
		snprintf(a->member, sizeof a->member, "%s", r->member);
		a->res.member = a->member;
		a->res.created = outcome[0] == 'l';
		finish(a, AUTH_OK);
	} else if (strcmp(outcome, "taken") == 0) {
		finish(a, AUTH_TAKEN);
	} else {
		finish(a, strcmp(outcome, "exhausted") == 0 ? AUTH_EXHAUSTED : AUTH_WRONG);
	}
}

void auth_sms_link(struct request *r, const char *phone, size_t len, const char *code,
                   auth_done_fn done, void *arg)
{
	struct auth *a = auth_new(r, done, arg);
	if (!a)
		return;
	if (strlen(code) != 6 || strspn(code, "0123456789") != 6) {
		a->res.message = "a code is the 6 digits of the text message";
		finish(a, AUTH_BAD_INPUT);
		return;
	}
	if (take_phone(a, phone, len) < 0)
		return;
	memcpy(a->code, code, 7);
	if (prepare(a, 0) < 0) {
		finish(a, AUTH_INTERNAL);
		return;
	}
	struct pool_query q = {
	    .stmt = "member_link_sms",
	    .nparams = 7,
	    .values = {r->member, a->hash_hex, a->code_hex, a->sealed_hex, a->res.masked, a->value,
	               http_client_inet(r)},
	};
	if (pool_submit(r->w->pool, &q, linked, a) < 0)
		finish(a, AUTH_UNAVAILABLE);
}

/* ---- sending a code ----------------------------------------------------------------- */

/* The text around the code, in each language. */
static const char *const sms_texts[][2] = {
    [LANG_EN] = {"Your sign-in code is ", ". It expires in 5 minutes. If you did not ask for "
                                          "it, ignore this message."},
    [LANG_ZH] = {"您的登录验证码是 ", "，5 分钟内有效。如非本人操作，请忽略本短信。"},
    [LANG_ZH_HANT] = {"您的登入驗證碼是 ", "，5 分鐘內有效。如非本人操作，請忽略本簡訊。"},
};

static void challenge_made(void *arg, const struct pool_result *res)
{
	struct auth *a = arg;
	char text[512];
	if (failed(a, res, "sms_challenge"))
		return;
	const PGresult *pg = res->res;
	const char *outcome = PQntuples(pg) == 1 ? PQgetvalue(pg, 0, 0) : "";
	log_info("event=sms_challenge outcome=%s to=%s client=%s", outcome, LOG_Q(a->res.masked),
	         LOG_Q(a->r->client));
	if (strcmp(outcome, "send") != 0) {
		a->res.retry_after = PQgetisnull(pg, 0, 1) ? 60 : atoi(PQgetvalue(pg, 0, 1));
		a->res.message = strcmp(outcome, "cooldown") == 0
		                     ? "a code was sent to this number a moment ago: wait before "
		                       "asking for another"
		                     : "too many codes asked for: try again later";
		finish(a, AUTH_THROTTLED);
		return;
	}
	snprintf(text, sizeof text, "%s%s%s", sms_texts[a->lang][0], a->code,
	         sms_texts[a->lang][1]);
	sms_send(a->r->w, a->value, text); /* logged there; the answer is the same either way */
	finish(a, AUTH_OK);
}

void auth_sms_send(struct request *r, const char *phone, size_t len, enum lang lang,
                   auth_done_fn done, void *arg)
{
	struct auth *a = auth_new(r, done, arg);
	uint32_t v;
	if (!a)
		return;
	if (take_phone(a, phone, len) < 0)
		return;
	if (!sms_configured(r->w)) {
		a->res.message = "signing in by text message is not configured on this server";
		finish(a, AUTH_INTERNAL);
		return;
	}
	do { /* uniform over 000000..999999 */
		if (RAND_bytes((unsigned char *)&v, sizeof v) != 1) {
			finish(a, AUTH_INTERNAL);
			return;
		}
	} while (v >= 4294000000u);
	snprintf(a->code, sizeof a->code, "%06u", v % 1000000u);
	a->lang = lang;
	if (prepare(a, 0) < 0) {
		finish(a, AUTH_INTERNAL);
		return;
	}
	const struct server_config *cfg = &r->w->srv->cfg;
	snprintf(a->nums[0], sizeof a->nums[0], "%d", cfg->sms_per_phone);
	snprintf(a->nums[1], sizeof a->nums[1], "%d", cfg->sms_per_address);
	snprintf(a->nums[2], sizeof a->nums[2], "%d", cfg->sms_per_hour);
	snprintf(a->nums[3], sizeof a->nums[3], "%d", cfg->sms_cooldown_ms / 1000);
	struct pool_query q = {
	    .stmt = "sms_challenge_start",
	    .nparams = 8,
	    .values = {a->hash_hex, a->code_hex, a->res.masked, http_client_inet(r), a->nums[0],
	               a->nums[1], a->nums[2], a->nums[3]},
	};
	if (pool_submit(r->w->pool, &q, challenge_made, a) < 0)
		finish(a, AUTH_UNAVAILABLE);
}

/* ---- resolving a member for an integration ---------------------------------------- */

static void resolved(void *arg, const struct pool_result *res)
{
	struct auth *a = arg;
	if (failed(a, res, "member_resolve"))
		return;
	if (PQntuples(res->res) != 1) {
		finish(a, AUTH_INTERNAL);
		return;
	}
	snprintf(a->member, sizeof a->member, "%s", PQgetvalue(res->res, 0, 0));
	msessions_put(a->r->w->identities, a->id_hash, a->member, (long long)time(NULL) + 3600,
	              clock_ms());
	a->res.member = a->member;
	a->res.created = PQgetvalue(res->res, 0, 1)[0] == 't';
	finish(a, AUTH_OK);
}

/* member_by_identity: the identity's member, else the id itself (a key made before 011). */
static void found(void *arg, const struct pool_result *res)
{
	struct auth *a = arg;
	if (failed(a, res, "member_by_identity"))
		return;
	/* a->member holds the id already: the key of a member made before 011 */
	if (PQntuples(res->res) == 1)
		snprintf(a->member, sizeof a->member, "%s", PQgetvalue(res->res, 0, 0));
	a->res.member = a->member;
	finish(a, AUTH_OK);
}

void auth_find(struct request *r, const char *member_in, size_t len, auth_done_fn done, void *arg)
{
	struct auth *a = auth_new(r, done, arg);
	enum phone_result why;
	if (!a)
		return;
	if (member_id_normalize(member_in, len, r->w->srv->cfg.default_country, a->member, &why) <
	    0) {
		a->res.message = member_id_message(why);
		finish(a, AUTH_BAD_INPUT);
		return;
	}
	if (strncmp(a->member, "m-", 2) == 0) { /* a member's own key */
		a->res.member = a->member;
		finish(a, AUTH_OK);
		return;
	}
	a->kind = a->member[0] == '+' ? PII_PHONE : PII_EXTERNAL;
	a->len = strlen(a->member);
	memcpy(a->value, a->member, a->len + 1);
	unsigned char h[PII_HASH_LEN];
	pii_hash(&r->w->srv->pii, a->kind, a->value, a->len, h);
	hex_of(h, sizeof h, a->hash_hex);
	struct pool_query q = {.stmt = "member_by_identity", .nparams = 1, .values = {a->hash_hex}};
	if (pool_submit(r->w->pool, &q, found, a) < 0)
		finish(a, AUTH_UNAVAILABLE);
}

void auth_resolve(struct request *r, const char *member_in, size_t len, auth_done_fn done,
                  void *arg)
{
	struct auth *a = auth_new(r, done, arg);
	char id[MEMBER_ID_MAX + 1];
	enum phone_result why;
	if (!a)
		return;
	if (member_id_normalize(member_in, len, r->w->srv->cfg.default_country, id, &why) < 0) {
		a->res.message = member_id_message(why);
		finish(a, AUTH_BAD_INPUT);
		return;
	}
	a->kind = id[0] == '+' ? PII_PHONE : PII_EXTERNAL;
	if (a->kind == PII_EXTERNAL && strncmp(id, "m-", 2) == 0) {
		a->res.message = "an external id may not start with m- (members' own keys do)";
		finish(a, AUTH_BAD_INPUT);
		return;
	}
	a->len = strlen(id);
	memcpy(a->value, id, a->len + 1);
	/* an identity resolved lately on this worker needs no query (msession.h) */
	pii_hash(&r->w->srv->pii, a->kind, a->value, a->len, a->id_hash);
	if (msessions_get(r->w->identities, a->id_hash, clock_ms(), (long long)time(NULL),
	                  a->member)) {
		a->res.member = a->member;
		finish(a, AUTH_OK);
		return;
	}
	if (prepare(a, 0) < 0) {
		finish(a, AUTH_INTERNAL);
		return;
	}
	/*
	 * An external id is a pseudonym the brand chose already: it stays the
	 * member's key, as before 011. A phone number never becomes one.
	 */
	if (a->kind == PII_EXTERNAL)
		memcpy(a->new_member, id, strlen(id) + 1); /* id: at most MEMBER_ID_MAX */
	struct pool_query q = {
	    .stmt = "member_resolve",
	    .nparams = 8,
	    .values = {pii_kind_name(a->kind), a->hash_hex, a->sealed_hex, a->res.masked,
	               a->new_member, a->value, r->admin.name, http_client_inet(r)},
	};
	if (pool_submit(r->w->pool, &q, resolved, a) < 0)
		finish(a, AUTH_UNAVAILABLE);
}

/* ---- the JSON routes ------------------------------------------------------------------ */

/* Answer an auth_result that is no success as JSON. */
static void reply_refusal(struct request *r, const struct auth_result *res)
{
	char num[16];
	switch (res->outcome) {
	case AUTH_BAD_INPUT:
		http_reply_error(r, 400, "bad_phone", res->message);
		return;
	case AUTH_WRONG:
		http_reply_error(r, 401, "code_wrong",
		                 "the code is wrong or expired: check it, or ask for a new one");
		return;
	case AUTH_EXHAUSTED:
		http_reply_error(r, 401, "code_exhausted",
		                 "too many wrong codes: ask for a new one");
		return;
	case AUTH_THROTTLED:
		snprintf(num, sizeof num, "%d", res->retry_after > 0 ? res->retry_after : 1);
		http_header(r, "Retry-After", num);
		http_reply_json(r, 429,
		                json_pack("{s:s,s:s,s:i}", "error", "rate_limited", "message",
		                          res->message, "retry_after",
		                          res->retry_after > 0 ? res->retry_after : 1));
		return;
	case AUTH_UNAVAILABLE:
		http_reply_error(r, 503, "unavailable", "database unavailable, try again");
		return;
	case AUTH_TAKEN:
		http_reply_error(
		    r, 409, "identity_taken",
		    "this phone belongs to another member: sign in with it, or ask for "
		    "the two accounts to be merged");
		return;
	case AUTH_INTERNAL:
	case AUTH_OK:
		break;
	}
	http_reply_error(r, 500, "internal",
	                 res->message ? res->message : "the sign-in could not be processed");
}

static void sms_sent(void *arg, struct request *r, const struct auth_result *res)
{
	(void)arg;
	if (res->outcome != AUTH_OK) {
		reply_refusal(r, res);
		return;
	}
	http_reply_json(
	    r, 202,
	    json_pack("{s:s,s:i,s:s}", "status", "sent", "expires_in", 300, "message",
	              "if this number can receive text messages, a code is on its way"));
}

void auth_route_sms(struct request *r)
{
	size_t len;
	char err[200];
	struct auth_input in;
	const char *body = http_body(r, "application/json", &len);
	if (!body)
		return;
	if (auth_input_decode(body, len, 0, &in, err, sizeof err) < 0) {
		http_reply_error(r, 400, "bad_request", err);
		return;
	}
	const char *al =
	    evhttp_find_header(evhttp_request_get_input_headers(r->req), "Accept-Language");
	auth_sms_send(r, in.phone, in.phone_len, negotiate_lang(al), sms_sent, NULL);
}

/* The member as a JSON object: key, the masked phone, the session's end, the CSRF token. */
static void verified(void *arg, struct request *r, const struct auth_result *res)
{
	(void)arg;
	if (res->outcome != AUTH_OK) {
		reply_refusal(r, res);
		return;
	}
	char pg[32];
	struct tm tm;
	time_t t = (time_t)res->expires;
	gmtime_r(&t, &tm);
	strftime(pg, sizeof pg, "%Y-%m-%dT%H:%M:%SZ", &tm);
	http_reply_json(r, 200,
	                json_pack("{s:s,s:s,s:b,s:s,s:s}", "member", res->member, "phone",
	                          res->masked, "created", res->created, "expires", pg, "csrf",
	                          res->csrf));
}

/* A signed-in member's phone added: the member, the phone masked, whether it is new to them. */
static void phone_linked(void *arg, struct request *r, const struct auth_result *res)
{
	(void)arg;
	if (res->outcome != AUTH_OK) {
		reply_refusal(r, res);
		return;
	}
	http_reply_json(r, 200,
	                json_pack("{s:s,s:s,s:b}", "member", res->member, "phone", res->masked,
	                          "linked", res->created));
}

/*
 * With a member session (and its CSRF token) the proven phone is added to
 * that member; without one, the phone's member is signed in.
 */
static void verify_member_known(struct request *r)
{
	size_t len;
	char err[200];
	struct auth_input in;
	const char *body = http_body(r, "application/json", &len);
	if (!body)
		return;
	if (auth_input_decode(body, len, 1, &in, err, sizeof err) < 0) {
		http_reply_error(r, 400, "bad_request", err);
		return;
	}
	if (!r->member[0]) {
		auth_sms_verify(r, in.phone, in.phone_len, in.code, in.consent, verified, NULL);
		return;
	}
	if (!http_member_csrf_ok(r, NULL)) {
		http_reply_member_csrf(r);
		return;
	}
	auth_sms_link(r, in.phone, in.phone_len, in.code, phone_linked, NULL);
}

void auth_route_sms_verify(struct request *r)
{
	http_member(r, verify_member_known);
}

/* ---- sign-out ------------------------------------------------------------------------- */

struct sign_out {
	struct request *r;
	auth_done_fn done;
	void *arg;
};

static void signed_out(void *arg, const struct pool_result *res)
{
	struct sign_out *so = arg;
	struct request *r = so->r;
	struct auth_result ar = {.outcome = AUTH_OK};
	if (res->status != POOL_OK) {
		ar.outcome = AUTH_UNAVAILABLE;
	} else {
		msessions_remove(r->w->msessions, r->member_hash);
		log_info("event=member_sign_out member=%s client=%s", LOG_Q(r->member),
		         LOG_Q(r->client));
		auth_set_cookie(r, NULL, 0);
	}
	so->done(so->arg, r, &ar);
	free(so);
}

void auth_sign_out(struct request *r, auth_done_fn done, void *arg)
{
	char hex[HEX_BYTES(SECRET_HASH_LEN)];
	struct sign_out *so = malloc(sizeof *so);
	if (!so) {
		struct auth_result ar = {.outcome = AUTH_UNAVAILABLE};
		done(arg, r, &ar);
		return;
	}
	so->r = r;
	so->done = done;
	so->arg = arg;
	hex_of(r->member_hash, SECRET_HASH_LEN, hex);
	struct pool_query q = {
	    .stmt = "member_sign_out", .nparams = 2, .values = {hex, http_client_inet(r)}};
	if (pool_submit(r->w->pool, &q, signed_out, so) < 0) {
		free(so);
		struct auth_result ar = {.outcome = AUTH_UNAVAILABLE};
		done(arg, r, &ar);
	}
}

static void api_signed_out(void *arg, struct request *r, const struct auth_result *res)
{
	(void)arg;
	if (res->outcome != AUTH_OK) {
		http_reply_error(r, 503, "unavailable", "database unavailable, try again");
		return;
	}
	http_reply_json(r, 200, json_pack("{s:b}", "signed_out", 1));
}

void auth_route_sign_out(struct request *r)
{
	auth_sign_out(r, api_signed_out, NULL);
}
