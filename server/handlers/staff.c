/*
 * staff.c: sign-in, sign-out and /me. A sign-in reads the account
 * (staff_sign_in_get), checks the password off the loop (offload.h; an
 * unknown name costs the same argon2id work), then the TOTP code on the
 * loop, and writes the outcome in one call (staff_sign_in_finish): a
 * session, or a failure counted towards the lock, audited either way. The
 * session's secret goes to the client once, in an HttpOnly, SameSite=Strict
 * cookie; the server keeps only its hash.
 */
#include "handlers/staff.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edge/http.h"
#include "engine/offload.h"
#include "engine/timefmt.h"
#include "engine/tokens.h"
#include "handlers/admin.h"
#include "hex.h"
#include "log.h"
#include "password.h"
#include "scope.h"
#include "secret.h"
#include "server.h"
#include "totp.h"

#define SESSION_PREFIX "pcs_"

struct sign_in {
	struct request *r;
	struct admin_sign_in in;
	const char *client;
	char staff_id[24]; /* "" for a name that has no account */
	char hash[PASSWORD_HASH_MAX];
	unsigned char secret[TOTP_SECRET_LEN];
	int has_secret;
	struct tokens_identity who; /* the session, once signed in */
	int ok;
	const char *why; /* what was wrong: password, totp_missing, totp_wrong */
	char step[24];   /* the TOTP step used, "" without TOTP */
	char session[SECRET_LEN_MAX];
	unsigned char session_hash[SECRET_HASH_LEN];
	char session_hex[2 + 2 * SECRET_HASH_LEN + 1];
};

static void sign_in_free(struct sign_in *si)
{
	OPENSSL_cleanse(si, sizeof *si);
	free(si);
}

/* 0 if the query succeeded; else r is answered 503 or 500 and -1. */
static int failed(struct request *r, const struct pool_result *res)
{
	if (res->status == POOL_OK)
		return 0;
	if (res->status == POOL_UNAVAILABLE) {
		http_reply_error(r, 503, "unavailable", "database unavailable, try again");
		return -1;
	}
	if (strcmp(res->sqlstate, "28000") == 0) {
		http_reply_unauthorized(r, TOKENS_INVALID);
		return -1;
	}
	log_error("event=staff_query_failed route=%s sqlstate=%s message=%s", http_route_id(r),
	          res->sqlstate, LOG_Q(res->message));
	http_reply_error(r, 500, "internal", "the request failed; nothing was changed");
	return -1;
}

/* The session cookie: value (NULL: cleared), for max_age seconds. */
static void set_cookie(struct request *r, const char *value, long long max_age)
{
	char c[256];
	snprintf(c, sizeof c, "%s=%s; Path=/; Max-Age=%lld; HttpOnly; SameSite=Strict%s",
	         HTTP_SESSION_COOKIE, value ? value : "", max_age,
	         r->w->srv->tls ? "; Secure" : "");
	http_header(r, "Set-Cookie", c);
}

static json_t *scopes_json(unsigned bits)
{
	json_t *a = json_array();
	for (unsigned b = 1; b <= SCOPE_ALL; b <<= 1)
		if (bits & b)
			json_array_append_new(a, json_string(scope_name(b)));
	return a;
}

static json_t *unix_iso(long long t)
{
	char pg[32], iso[TIMEFMT_ISO_LEN];
	struct tm tm;
	time_t tt = (time_t)t;
	gmtime_r(&tt, &tm);
	strftime(pg, sizeof pg, "%Y-%m-%d %H:%M:%S+00", &tm);
	timefmt_pg_to_iso(pg, iso);
	return json_string(iso);
}

/* "1,2" (NULL: every brand) into who. 0 or -1. */
static int brands_of(const char *list, struct tokens_identity *who)
{
	who->nbrands = -1;
	if (!list)
		return 0;
	who->nbrands = 0;
	for (const char *p = list; *p;) {
		char *end;
		long long id = strtoll(p, &end, 10);
		if (end == p || who->nbrands == TOKENS_BRANDS_MAX)
			return -1;
		who->brands[who->nbrands++] = id;
		p = *end == ',' ? end + 1 : end;
	}
	return 0;
}

/* ---- sign-in ---------------------------------------------------------------------- */

static void finished(void *arg, const struct pool_result *res)
{
	struct sign_in *si = arg;
	struct request *r = si->r;
	char num[16];
	if (failed(r, res))
		goto out;
	/* outcome, session_id, expires_at, retry_after, expires_unix */
	const PGresult *pg = res->res;
	const char *outcome = PQntuples(pg) == 1 ? PQgetvalue(pg, 0, 0) : "";
	int retry = PQntuples(pg) == 1 && !PQgetisnull(pg, 0, 3) ? atoi(PQgetvalue(pg, 0, 3)) : 0;
	log_info("event=staff_sign_in outcome=%s name=%s reason=%s locked_for=%d client=%s",
	         outcome, LOG_Q(si->in.name), si->ok ? "-" : si->why, retry, LOG_Q(r->client));
	if (strcmp(outcome, "signed_in") != 0) {
		if (retry > 0) {
			snprintf(num, sizeof num, "%d", retry);
			http_header(r, "Retry-After", num);
		}
		if (strcmp(outcome, "locked") == 0)
			http_reply_error(
			    r, 429, "locked",
			    "too many failed sign-ins: the account is locked for a while");
		else
			http_reply_error(r, 401, "sign_in_failed",
			                 "the name, password or code is wrong");
		goto out;
	}
	si->who.id = -strtoll(PQgetvalue(pg, 0, 1), NULL, 10);
	si->who.expires = strtoll(PQgetvalue(pg, 0, 4), NULL, 10);
	if (tokens_add(r->w->srv->sessions, si->session_hash, &si->who) < 0)
		log_warn("event=staff_session_cache_full");
	char csrf[SECRET_CSRF_LEN + 1];
	secret_csrf(si->session, strlen(si->session), csrf);
	set_cookie(r, si->session, si->who.expires - (long long)time(NULL));
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string(si->who.name));
	json_object_set_new(o, "scopes", scopes_json(si->who.scopes));
	json_object_set_new(o, "expires", unix_iso(si->who.expires));
	json_object_set_new(o, "csrf", json_string(csrf));
	http_reply_json(r, 200, o);
out:
	sign_in_free(si);
}

/* Write the outcome: a session (si->ok) or a failure. */
static void finish(struct sign_in *si)
{
	struct request *r = si->r;
	if (si->ok &&
	    secret_new(SESSION_PREFIX, si->session, sizeof si->session, si->session_hash) < 0) {
		http_reply_error(r, 500, "internal", "no random numbers");
		sign_in_free(si);
		return;
	}
	snprintf(si->session_hex, sizeof si->session_hex, "\\x");
	for (int i = 0; i < SECRET_HASH_LEN; i++)
		snprintf(si->session_hex + 2 + 2 * i, 3, "%02x", si->session_hash[i]);
	struct pool_query q = {.stmt = "staff_sign_in_finish",
	                       .nparams = 7,
	                       .values = {si->staff_id[0] ? si->staff_id : NULL, si->in.name,
	                                  si->client, si->ok ? "true" : "false",
	                                  si->ok ? NULL : si->why, si->ok ? si->session_hex : NULL,
	                                  si->step[0] ? si->step : NULL}};
	if (pool_submit(r->w->pool, &q, finished, si) < 0) {
		http_reply_error(r, 503, "unavailable", "database unavailable, try again");
		sign_in_free(si);
	}
}

/* The helper thread: argon2id. */
static void verify(void *arg)
{
	struct sign_in *si = arg;
	si->ok = password_verify(si->staff_id[0] ? si->hash : NULL, si->in.password,
	                         si->in.password_len);
	OPENSSL_cleanse(si->in.password, sizeof si->in.password);
}

/* Back on the loop: the TOTP code, then the outcome. */
static void verified(void *arg)
{
	struct sign_in *si = arg;
	int64_t step;
	if (!si->ok) {
		si->why = "password";
	} else if (si->has_secret && !si->in.totp[0]) {
		si->ok = 0;
		si->why = "totp_missing";
	} else if (si->has_secret) {
		if (totp_verify(si->secret, sizeof si->secret, si->in.totp, time(NULL), &step))
			snprintf(si->step, sizeof si->step, "%lld", (long long)step);
		else {
			si->ok = 0;
			si->why = "totp_wrong";
		}
	}
	finish(si);
}

static void got_account(void *arg, const struct pool_result *res)
{
	struct sign_in *si = arg;
	struct request *r = si->r;
	char err[128], num[16];
	if (failed(r, res))
		goto fail;
	/* id, password_hash, totp_secret (hex), retry_after, scopes, brand_ids */
	const PGresult *pg = res->res;
	if (PQntuples(pg) == 1) {
		snprintf(si->staff_id, sizeof si->staff_id, "%s", PQgetvalue(pg, 0, 0));
		snprintf(si->hash, sizeof si->hash, "%s", PQgetvalue(pg, 0, 1));
		int retry = atoi(PQgetvalue(pg, 0, 3));
		if (retry > 0) {
			/* locked: no password is even looked at */
			log_info(
			    "event=staff_sign_in outcome=locked name=%s locked_for=%d client=%s",
			    LOG_Q(si->in.name), retry, LOG_Q(r->client));
			snprintf(num, sizeof num, "%d", retry);
			http_header(r, "Retry-After", num);
			http_reply_error(
			    r, 429, "locked",
			    "too many failed sign-ins: the account is locked for a while");
			goto fail;
		}
		const char *hex = PQgetvalue(pg, 0, 2);
		if (!PQgetisnull(pg, 0, 2)) {
			if (strlen(hex) != 2 * TOTP_SECRET_LEN)
				goto malformed;
			for (int i = 0; i < TOTP_SECRET_LEN; i++) {
				int h = hex_digit((unsigned char)hex[2 * i]),
				    l = hex_digit((unsigned char)hex[2 * i + 1]);
				if (h < 0 || l < 0)
					goto malformed;
				si->secret[i] = (unsigned char)(h << 4 | l);
			}
			si->has_secret = 1;
		}
		si->who.kind = TOKENS_SESSION;
		snprintf(si->who.name, sizeof si->who.name, "%s", si->in.name);
		if (scope_parse(PQgetvalue(pg, 0, 4), &si->who.scopes, err, sizeof err) < 0 ||
		    brands_of(PQgetisnull(pg, 0, 5) ? NULL : PQgetvalue(pg, 0, 5), &si->who) < 0)
			goto malformed;
	}
	if (offload_submit(r->w->offload, verify, verified, si) < 0) {
		log_warn("event=staff_sign_in outcome=busy client=%s", LOG_Q(r->client));
		http_reply_error(r, 503, "unavailable", "too many sign-ins at once, try again");
		goto fail;
	}
	return;
malformed:
	log_error("event=staff_account_malformed name=%s", LOG_Q(si->in.name));
	http_reply_error(r, 500, "internal", "the account cannot be read");
fail:
	sign_in_free(si);
}

void staff_route_sign_in(struct request *r)
{
	size_t len;
	char err[256];
	struct sign_in *si = calloc(1, sizeof *si);
	if (!si) {
		http_reply_error(r, 503, "unavailable", "out of memory");
		return;
	}
	si->r = r;
	si->client = http_client_inet(r);
	const char *body = http_body(r, "application/json", &len);
	if (!body)
		goto fail;
	enum admin_decode why = admin_decode_sign_in(body, len, &si->in, err, sizeof err);
	if (why != ADMIN_DECODE_OK) {
		http_reply_error(r, 400, why == ADMIN_DECODE_BAD_JSON ? "bad_json" : "bad_request",
		                 err);
		goto fail;
	}
	struct pool_query q = {.stmt = "staff_sign_in_get", .nparams = 1, .values = {si->in.name}};
	if (pool_submit(r->w->pool, &q, got_account, si) < 0) {
		http_reply_error(r, 503, "unavailable", "database unavailable, try again");
		goto fail;
	}
	return;
fail:
	sign_in_free(si);
}

/* ---- sign-out -------------------------------------------------------------------- */

struct staff_req {
	struct request *r;
	long long id;
};

static void signed_out(void *arg, const struct pool_result *res)
{
	struct staff_req *a = arg;
	struct request *r = a->r;
	if (failed(r, res))
		goto out;
	tokens_remove(r->w->srv->sessions, a->id);
	log_info("event=staff_sign_out name=%s client=%s", LOG_Q(r->admin.name), LOG_Q(r->client));
	set_cookie(r, NULL, 0);
	http_reply_json(r, 200, json_pack("{s:b}", "signed_out", 1));
out:
	free(a);
}

void staff_route_sign_out(struct request *r)
{
	char id[24];
	if (r->admin.kind != TOKENS_SESSION) {
		http_reply_error(r, 400, "not_a_session",
		                 "sign-out ends a staff session; revoke a token with packcode-gen "
		                 "token revoke");
		return;
	}
	struct staff_req *a = calloc(1, sizeof *a);
	if (!a) {
		http_reply_error(r, 503, "unavailable", "out of memory");
		return;
	}
	a->r = r;
	a->id = r->admin.id;
	snprintf(id, sizeof id, "%lld", -a->id);
	struct pool_query q = {
	    .stmt = "staff_sign_out", .nparams = 2, .values = {id, http_client_inet(r)}};
	if (pool_submit(r->w->pool, &q, signed_out, a) < 0) {
		http_reply_error(r, 503, "unavailable", "database unavailable, try again");
		free(a);
	}
}

/* ---- who am I ---------------------------------------------------------------------- */

static void me_done(void *arg, const struct pool_result *res)
{
	struct staff_req *a = arg;
	struct request *r = a->r;
	const struct tokens_identity *who = &r->admin;
	if (failed(r, res))
		goto out;
	json_t *o = json_object(), *brands = json_array();
	for (int i = 0; i < PQntuples(res->res); i++)
		json_array_append_new(
		    brands, json_pack("{s:I,s:s}", "id",
		                      (json_int_t)strtoll(PQgetvalue(res->res, i, 0), NULL, 10),
		                      "name", PQgetvalue(res->res, i, 1)));
	json_object_set_new(o, "kind",
	                    json_string(who->kind == TOKENS_SESSION ? "staff" : "token"));
	json_object_set_new(o, "name", json_string(who->name));
	json_object_set_new(o, "scopes", scopes_json(who->scopes));
	json_object_set_new(o, "all_brands", json_boolean(who->nbrands < 0));
	json_object_set_new(o, "brands", brands);
	if (who->kind == TOKENS_SESSION) {
		const char *cookie;
		size_t len;
		char csrf[SECRET_CSRF_LEN + 1];
		json_object_set_new(o, "expires", unix_iso(who->expires));
		if (http_session_cookie(r, &cookie, &len) == 1 &&
		    secret_csrf(cookie, len, csrf) == 0)
			json_object_set_new(o, "csrf", json_string(csrf));
	}
	http_reply_json(r, 200, o);
out:
	free(a);
}

void staff_route_me(struct request *r)
{
	char brands[TOKENS_BRANDS_MAX * 21 + 3];
	size_t n = 0;
	const struct tokens_identity *who = &r->admin;
	struct staff_req *a = calloc(1, sizeof *a);
	if (!a) {
		http_reply_error(r, 503, "unavailable", "out of memory");
		return;
	}
	a->r = r;
	for (int i = 0; i < who->nbrands; i++)
		n += (size_t)snprintf(brands + n, sizeof brands - n, "%s%lld", i ? "," : "{",
		                      who->brands[i]);
	snprintf(brands + n, sizeof brands - n, "}");
	struct pool_query q = {
	    .stmt = "admin_me_brands", .nparams = 1, .values = {who->nbrands < 0 ? NULL : brands}};
	if (pool_submit(r->w->pool, &q, me_done, a) < 0) {
		http_reply_error(r, 503, "unavailable", "database unavailable, try again");
		free(a);
	}
}
