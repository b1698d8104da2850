/*
 * referrals.c: members bringing friends (referrals.h). Each request is one
 * call of a function of sql/029_referrals.sql, which holds the rules: one
 * referral per referee, never one's own, farms flagged, the reward given
 * once. A referral noted after a sign-in or a claim goes out on the pool
 * without its request: the reply never waits for it, and its result is
 * only logged (the sweep of engine/referral_sweep.c settles what it did
 * not).
 */
#include "handlers/referrals.h"

#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/http.h"
#include "engine/tokens.h"
#include "log.h"
#include "server.h"
#include "url.h"

#define COOKIE_DAYS 30
/* the link's page: no style, no script, nothing loaded */
#define VISIT_CSP "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

struct referral_req {
	struct request *r;
	referral_share_cb share_cb; /* referral_share's: hand the object over, answer nothing */
	void *share_arg;
	char member[MEMBER_ID_MAX + 1];
	char code[REFERRAL_CODE_LEN + 1];
	char device[REFERRAL_DEVICE_LEN + 1];
	char brands[TOKENS_BRANDS_MAX * 21 + 3];
	char nums[3][24];
};

static struct referral_req *req_new(struct request *r)
{
	struct referral_req *q = calloc(1, sizeof *q);
	if (!q)
		http_reply_error(r, 503, "unavailable", "out of memory");
	else
		q->r = r;
	return q;
}

/* 0 if the query succeeded; else r is answered (503 or 500), q freed, -1. */
static int db_failed(struct referral_req *q, const struct pool_result *res)
{
	if (res->status == POOL_OK)
		return 0;
	if (res->status == POOL_UNAVAILABLE) {
		http_reply_error(q->r, 503, "unavailable", "database unavailable, try again");
	} else {
		log_error("event=referral_query_failed route=%s sqlstate=%s message=%s",
		          http_route_id(q->r), res->sqlstate, LOG_Q(res->message));
		http_reply_error(q->r, 500, "internal", "the request failed; nothing was changed");
	}
	free(q);
	return -1;
}

static void submit(struct referral_req *q, const struct pool_query *pq, pool_cb cb)
{
	if (pool_submit(q->r->w->pool, pq, cb, q) < 0) {
		http_reply_error(q->r, 503, "unavailable", "database unavailable, try again");
		free(q);
	}
}

/* The device cookie of r into out (""), if it is a valid one. */
static void device_of(struct request *r, char out[REFERRAL_DEVICE_LEN + 1])
{
	const char *v;
	size_t n;
	out[0] = '\0';
	if (http_request_cookie(r, REFERRAL_DEVICE, &v, &n) == 1 && referral_device_valid(v, n)) {
		memcpy(out, v, n);
		out[n] = '\0';
	}
}

/* A new code: REFERRAL_CODE_LEN base32 characters from 50 random bits. 0 or -1. */
static int code_new(char out[REFERRAL_CODE_LEN + 1])
{
	static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
	unsigned char rnd[REFERRAL_CODE_LEN];
	if (RAND_bytes(rnd, sizeof rnd) != 1)
		return -1;
	for (int i = 0; i < REFERRAL_CODE_LEN; i++)
		out[i] = b32[rnd[i] & 31];
	out[REFERRAL_CODE_LEN] = '\0';
	return 0;
}

/* ---- the member's share link -------------------------------------------------------- */

/* The share object of referral_code's row: code, url and referral_of's facts. */
static json_t *share_json(struct request *r, const PGresult *pg)
{
	const char *code = PQgetvalue(pg, 0, 0);
	const char *cfg = r->w->srv->cfg.public_host;
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(r->req), "Host");
	const char *host = cfg ? cfg : (h && host_valid(h) == 0 ? h : "localhost");
	char url[300];
	snprintf(url, sizeof url, "https://%s/r/%s", host, code);
	json_t *o = json_pack("{s:s,s:s}", "code", code, "url", url);
	json_t *facts = json_loads(PQgetvalue(pg, 0, 1), 0, NULL);
	if (o && facts)
		json_object_update(o, facts);
	json_decref(facts);
	return o;
}

/* referral_code($1..$4), referral_of($1) */
static void got_code(void *arg, const struct pool_result *res)
{
	struct referral_req *q = arg;
	if (q->share_cb) {
		json_t *o = NULL;
		if (res->status != POOL_OK)
			log_error("event=referral_query_failed route=%s sqlstate=%s message=%s",
			          http_route_id(q->r), res->sqlstate, LOG_Q(res->message));
		else if (PQntuples(res->res) == 1 && !PQgetisnull(res->res, 0, 0))
			o = share_json(q->r, res->res);
		q->share_cb(q->share_arg, q->r, o);
		free(q);
		return;
	}
	if (db_failed(q, res))
		return;
	const PGresult *pg = res->res;
	if (PQntuples(pg) != 1 || PQgetisnull(pg, 0, 0)) {
		/* the random code was another member's (50 bits: once in a lifetime) */
		http_header(q->r, "Retry-After", "1");
		http_reply_error(q->r, 503, "unavailable", "try again");
		free(q);
		return;
	}
	http_reply_json(q->r, 200, share_json(q->r, pg));
	free(q);
}

/* GET .../me/referral, or (cb) referral_share: referral_code for r's member. */
static void share_start(struct request *r, referral_share_cb cb, void *arg)
{
	struct referral_req *q = calloc(1, sizeof *q);
	if (!q) {
		if (cb)
			cb(arg, r, NULL);
		else
			http_reply_error(r, 503, "unavailable", "out of memory");
		return;
	}
	q->r = r;
	q->share_cb = cb;
	q->share_arg = arg;
	snprintf(q->member, sizeof q->member, "%s", r->member);
	device_of(r, q->device);
	if (code_new(q->code) < 0) {
		free(q);
		if (cb)
			cb(arg, r, NULL);
		else
			http_reply_error(r, 500, "internal", "no random bytes");
		return;
	}
	struct pool_query pq = {
	    .stmt = "referral_code",
	    .nparams = 4,
	    .values = {q->member, q->code, http_client_inet(r), q->device[0] ? q->device : NULL},
	};
	if (pool_submit(r->w->pool, &pq, got_code, q) < 0) {
		free(q);
		if (cb)
			cb(arg, r, NULL);
		else
			http_reply_error(r, 503, "unavailable", "database unavailable, try again");
	}
}

void referral_route_me(struct request *r)
{
	share_start(r, NULL, NULL);
}

void referral_share(struct request *r, referral_share_cb cb, void *arg)
{
	share_start(r, cb, arg);
}

/* ---- recording a referral ------------------------------------------------------------ */

/* referral_record: outcome, flag, referrer, status */
static void recorded(void *arg, const struct pool_result *res)
{
	struct referral_req *q = arg;
	if (db_failed(q, res))
		return;
	const PGresult *pg = res->res;
	const char *outcome = PQntuples(pg) == 1 ? PQgetvalue(pg, 0, 0) : "";
	log_info("event=referral_record via=explicit outcome=%s member=%s client=%s", outcome,
	         LOG_Q(q->member), LOG_Q(q->r->client));
	if (strcmp(outcome, "pending") == 0) {
		http_reply_json(q->r, 201, json_pack("{s:s}", "status", "pending"));
	} else if (strcmp(outcome, "unknown_code") == 0) {
		http_reply_error(q->r, 404, "unknown_code", "no member has this referral code");
	} else if (strcmp(outcome, "self") == 0) {
		http_reply_error(q->r, 409, "self_referral", "a member cannot refer themselves");
	} else if (strcmp(outcome, "already") == 0) {
		http_reply_error(q->r, 409, "already_referred",
		                 "this member was referred before: a member is referred once");
	} else if (strcmp(outcome, "flagged") == 0) {
		/* the reason stays with staff: a farm learns nothing of the rule it broke */
		http_reply_error(q->r, 403, "referral_refused",
		                 "this referral cannot be accepted; it was recorded for review");
	} else {
		http_reply_error(q->r, 500, "internal", "the request failed; nothing was changed");
	}
	free(q);
}

void referral_route_record(struct request *r)
{
	size_t len;
	char err[200];
	const char *body = http_body(r, "application/json", &len);
	if (!body)
		return;
	struct referral_req *q = req_new(r);
	if (!q)
		return;
	if (referral_body_decode(body, len, q->code, err, sizeof err) < 0) {
		http_reply_error(r, 400, "bad_request", err);
		free(q);
		return;
	}
	snprintf(q->member, sizeof q->member, "%s", r->member);
	device_of(r, q->device);
	struct pool_query pq = {
	    .stmt = "referral_record",
	    .nparams = 6,
	    .values = {q->member, q->code, "explicit", http_client_inet(r),
	               q->device[0] ? q->device : NULL, NULL},
	};
	submit(q, &pq, recorded);
}

/* referral_note: outcome, flag, settled (only logged: no request waits) */
static void noted(void *arg, const struct pool_result *res)
{
	(void)arg;
	if (res->status == POOL_SQL_ERROR)
		log_error("event=referral_note_failed sqlstate=%s message=%s", res->sqlstate,
		          LOG_Q(res->message));
	else if (res->status != POOL_OK)
		log_warn("event=referral_note_failed reason=%s", LOG_Q(res->message));
	else if (PQntuples(res->res) == 1)
		log_info("event=referral_note outcome=%s flag=%s settled=%s",
		         PQgetvalue(res->res, 0, 0), PQgetvalue(res->res, 0, 1),
		         PQgetvalue(res->res, 0, 2));
}

void referral_note(struct request *r, const char *member, const char *serial)
{
	const char *v;
	size_t n;
	char code[REFERRAL_CODE_LEN + 1], device[REFERRAL_DEVICE_LEN + 1];
	if (!member || !member[0] || http_request_cookie(r, REFERRAL_COOKIE, &v, &n) != 1 ||
	    !referral_code_valid(v, n))
		return;
	memcpy(code, v, n);
	code[n] = '\0';
	device_of(r, device);
	struct pool_query pq = {
	    .stmt = "referral_note",
	    .nparams = 6,
	    .values = {member, code, serial ? "claim" : "sign_in", http_client_inet(r),
	               device[0] ? device : NULL, serial},
	};
	if (pool_submit(r->w->pool, &pq, noted, NULL) < 0)
		log_warn("event=referral_note_failed reason=unavailable member=%s", LOG_Q(member));
}

/* ---- the link ------------------------------------------------------------------------ */

void referral_route_visit(struct request *r)
{
	const struct route_capture *c = &r->cap[0];
	struct evbuffer *b = evbuffer_new();
	if (!b) {
		http_reply_error(r, 503, "unavailable", "out of memory");
		return;
	}
	evbuffer_add_printf(b, "<!doctype html><html><head><meta charset=\"utf-8\">"
	                       "<title>packcode</title></head><body>");
	if (!referral_code_valid(c->s, c->len)) {
		evbuffer_add_printf(b, "<p><a href=\"/\">packcode</a></p></body></html>");
		http_header(r, "Content-Security-Policy", VISIT_CSP);
		http_reply_html(r, 404, b);
		evbuffer_free(b);
		return;
	}
	const int secure = r->w->srv->tls != NULL;
	char cookie[200], device[REFERRAL_DEVICE_LEN + 1];
	snprintf(cookie, sizeof cookie, "%s=%.*s; Path=/; Max-Age=%d; HttpOnly; SameSite=Lax%s",
	         REFERRAL_COOKIE, (int)c->len, c->s, COOKIE_DAYS * 86400, secure ? "; Secure" : "");
	http_header(r, "Set-Cookie", cookie);
	device_of(r, device);
	if (!device[0]) {
		static const char hex[] = "0123456789abcdef";
		unsigned char rnd[REFERRAL_DEVICE_LEN / 2];
		if (RAND_bytes(rnd, sizeof rnd) == 1) {
			for (size_t i = 0; i < sizeof rnd; i++) {
				device[2 * i] = hex[rnd[i] >> 4];
				device[2 * i + 1] = hex[rnd[i] & 15];
			}
			device[REFERRAL_DEVICE_LEN] = '\0';
			snprintf(cookie, sizeof cookie,
			         "%s=%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Lax%s",
			         REFERRAL_DEVICE, device, 400 * 86400, secure ? "; Secure" : "");
			http_header(r, "Set-Cookie", cookie);
		}
	}
	log_info("event=referral_visit code=%.*s client=%s", (int)c->len, c->s, LOG_Q(r->client));
	evbuffer_add_printf(b, "<p><a href=\"/me\">/me</a></p></body></html>");
	http_header(r, "Location", "/me");
	http_header(r, "Content-Security-Policy", VISIT_CSP);
	http_reply_html(r, 303, b);
	evbuffer_free(b);
}

/* ---- staff --------------------------------------------------------------------------- */

static void listed(void *arg, const struct pool_result *res)
{
	struct referral_req *q = arg;
	if (db_failed(q, res))
		return;
	json_t *o =
	    PQntuples(res->res) == 1 ? json_loads(PQgetvalue(res->res, 0, 0), 0, NULL) : NULL;
	http_reply_json(q->r, 200, o ? o : json_pack("{s:[]}", "referrals"));
	free(q);
}

void referral_route_admin(struct request *r)
{
	int flagged, limit;
	long long before;
	char err[200];
	if (referral_query_decode(r->query, &flagged, &before, &limit, err, sizeof err) < 0) {
		http_reply_error(r, 400, "bad_request", err);
		return;
	}
	struct referral_req *q = req_new(r);
	if (!q)
		return;
	const char *brands = tokens_brands_param(&q->r->admin, q->brands, sizeof q->brands);
	snprintf(q->nums[0], sizeof q->nums[0], "%s", flagged ? "true" : "false");
	snprintf(q->nums[1], sizeof q->nums[1], "%lld", before);
	snprintf(q->nums[2], sizeof q->nums[2], "%d", limit);
	struct pool_query pq = {
	    .stmt = "admin_referrals",
	    .nparams = 4,
	    .values = {q->nums[0], before ? q->nums[1] : NULL, q->nums[2], brands},
	};
	submit(q, &pq, listed);
}

void referral_route_rules(struct request *r)
{
	struct referral_req *q = req_new(r);
	if (!q)
		return;
	struct pool_query pq = {
	    .stmt = "admin_referral_rules",
	    .nparams = 1,
	    .values = {tokens_brands_param(&q->r->admin, q->brands, sizeof q->brands)}};
	submit(q, &pq, listed);
}

/* admin_referral_rules_set: outcome, rules */
static void rules_set(void *arg, const struct pool_result *res)
{
	struct referral_req *q = arg;
	if (res->status == POOL_SQL_ERROR && strcmp(res->sqlstate, "28000") == 0) {
		http_reply_unauthorized(q->r, TOKENS_INVALID);
		free(q);
		return;
	}
	if (db_failed(q, res))
		return;
	const PGresult *pg = res->res;
	const char *outcome = PQntuples(pg) == 1 ? PQgetvalue(pg, 0, 0) : "";
	json_t *o = strcmp(outcome, "set") == 0 ? json_loads(PQgetvalue(pg, 0, 1), 0, NULL) : NULL;
	if (o)
		http_reply_json(q->r, 200, o);
	else if (strcmp(outcome, "unknown_brand") == 0)
		http_reply_error(q->r, 404, "unknown_brand", "no brand of this name");
	else if (strcmp(outcome, "forbidden_brand") == 0)
		http_reply_error(
		    q->r, 403, "forbidden_brand",
		    "an identity limited to brands sets only its brands' referral bonus");
	else
		http_reply_error(q->r, 500, "internal", "the request failed; nothing was changed");
	free(q);
}

void referral_route_rules_set(struct request *r)
{
	size_t len;
	char err[200], tok[24];
	struct referral_rules_input in;
	const char *body = http_body(r, "application/json", &len);
	if (!body)
		return;
	if (referral_rules_decode(body, len, &in, err, sizeof err) < 0) {
		http_reply_error(r, 400, "bad_request", err);
		return;
	}
	struct referral_req *q = req_new(r);
	if (!q)
		return;
	snprintf(tok, sizeof tok, "%lld", r->admin.id);
	snprintf(q->nums[0], sizeof q->nums[0], "%d", in.referee_points);
	snprintf(q->nums[1], sizeof q->nums[1], "%d", in.referrer_points);
	snprintf(q->nums[2], sizeof q->nums[2], "%d", in.daily_max);
	char window[16];
	snprintf(window, sizeof window, "%d", in.window_hours);
	struct pool_query pq = {
	    .stmt = "admin_referral_rules_set",
	    .nparams = 7,
	    .values = {tok, http_client_inet(r), in.brand[0] ? in.brand : NULL, q->nums[0],
	               q->nums[1], in.daily_max ? q->nums[2] : NULL,
	               in.window_hours ? window : NULL},
	};
	submit(q, &pq, rules_set);
}
