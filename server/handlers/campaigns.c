/*
 * campaigns.c (handlers): the admin API's campaigns (campaigns.h). Like
 * alerts.c: a body is checked in full first (campaigns_input.c), then each
 * request is one prepared statement; a change is one call of a write-path
 * function of sql/021_campaigns.sql that writes its audit row with it. The
 * database answers in JSON (campaign_json), passed through as it is. A new
 * campaign's secret is 32 bytes from the kernel's generator, made here and
 * never logged: only its SHA-256 is shown until the campaign ends.
 */
#include "handlers/campaigns.h"

#include <jansson.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "engine/tokens.h"
#include "log.h"
#include "server.h"

#define ID_MAX (1LL << 62)

struct campaign_req {
	struct request *r;
	struct tokens_identity who;
	char tok[24];
	char brands[TOKENS_BRANDS_MAX * 21 + 3];
	const char *brands_param; /* NULL: every brand */
	long long id;
};

/* 0 if the query succeeded; else the reply is sent (401, 503 or 500), a freed, -1. */
static int db_failed(struct campaign_req *a, const struct pool_result *res)
{
	if (res->status == POOL_OK)
		return 0;
	if (res->status == POOL_UNAVAILABLE) {
		http_reply_error(a->r, 503, "unavailable", "database unavailable, try again");
	} else if (strcmp(res->sqlstate, "28000") == 0) {
		http_reply_unauthorized(a->r, TOKENS_INVALID);
	} else {
		log_error("event=admin_query_failed route=%s actor=%s sqlstate=%s message=%s",
		          http_route_id(a->r), LOG_Q(a->who.name), res->sqlstate,
		          LOG_Q(res->message));
		http_reply_error(a->r, 500, "internal", "the request failed; nothing was changed");
	}
	free(a);
	return -1;
}

static void submit(struct campaign_req *a, const struct pool_query *q, pool_cb cb)
{
	if (pool_submit(a->r->w->pool, q, cb, a) < 0) {
		http_reply_error(a->r, 503, "unavailable", "database unavailable, try again");
		free(a);
	}
}

static struct campaign_req *start(struct request *r)
{
	struct campaign_req *a = calloc(1, sizeof *a);
	if (!a) {
		http_reply_error(r, 503, "unavailable", "out of memory");
		return NULL;
	}
	a->r = r;
	a->who = r->admin;
	snprintf(a->tok, sizeof a->tok, "%lld", a->who.id);
	a->brands_param = tokens_brands_param(&a->who, a->brands, sizeof a->brands);
	return a;
}

/* Capture 0 as an id: 0, or -1 with r answered 404 (a freed). */
static int capture_id(struct campaign_req *a)
{
	const struct route_capture *c = &a->r->cap[0];
	char id[24];
	if (c->len < 1 || c->len >= 20 || strspn(c->s, "0123456789") < c->len) {
		http_reply_error(a->r, 404, "unknown_campaign", "a campaign id is a number");
		free(a);
		return -1;
	}
	memcpy(id, c->s, c->len);
	id[c->len] = '\0';
	a->id = strtoll(id, NULL, 10);
	if (a->id < 1 || a->id > ID_MAX) {
		http_reply_error(a->r, 404, "unknown_campaign", "no such campaign");
		free(a);
		return -1;
	}
	return 0;
}

/* Reply with the JSON of column col of row 0 (NULL: 404), as status. */
static void reply_json_column(struct campaign_req *a, const PGresult *pg, int col, int status)
{
	json_t *o = PQntuples(pg) > 0 && !PQgetisnull(pg, 0, col)
	                ? json_loads(PQgetvalue(pg, 0, col), 0, NULL)
	                : NULL;
	if (!o)
		http_reply_error(a->r, 404, "unknown_campaign", "no such campaign");
	else
		http_reply_json(a->r, status, o);
}

static void listed(void *arg, const struct pool_result *res)
{
	struct campaign_req *a = arg;
	if (db_failed(a, res))
		return;
	json_t *list = json_loads(PQgetvalue(res->res, 0, 0), 0, NULL);
	http_reply_json(a->r, 200, json_pack("{s:o}", "campaigns", list ? list : json_array()));
	free(a);
}

void admin_route_campaigns(struct request *r)
{
	struct campaign_req *a = start(r);
	if (!a)
		return;
	struct pool_query q = {
	    .stmt = "admin_campaigns", .nparams = 1, .values = {a->brands_param}};
	submit(a, &q, listed);
}

static void got(void *arg, const struct pool_result *res)
{
	struct campaign_req *a = arg;
	if (db_failed(a, res))
		return;
	reply_json_column(a, res->res, 0, 200);
	free(a);
}

void admin_route_campaign(struct request *r)
{
	char id[24];
	struct campaign_req *a = start(r);
	if (!a || capture_id(a) < 0)
		return;
	snprintf(id, sizeof id, "%lld", a->id);
	struct pool_query q = {
	    .stmt = "admin_campaign", .nparams = 2, .values = {id, a->brands_param}};
	submit(a, &q, got);
}

void admin_route_campaign_winners(struct request *r)
{
	char id[24];
	struct campaign_req *a = start(r);
	if (!a || capture_id(a) < 0)
		return;
	snprintf(id, sizeof id, "%lld", a->id);
	struct pool_query q = {
	    .stmt = "admin_campaign_winners", .nparams = 2, .values = {id, a->brands_param}};
	submit(a, &q, got);
}

/* columns: outcome, message, campaign */
static void created(void *arg, const struct pool_result *res)
{
	struct campaign_req *a = arg;
	if (db_failed(a, res))
		return;
	PGresult *pg = res->res;
	const char *outcome = PQgetvalue(pg, 0, 0), *message = PQgetvalue(pg, 0, 1);
	log_info("event=admin_action actor=%s action=campaign.create outcome=%s",
	         LOG_Q(a->who.name), outcome);
	if (strcmp(outcome, "created") == 0)
		reply_json_column(a, pg, 2, 201);
	else if (strcmp(outcome, "forbidden_brand") == 0)
		http_reply_error(a->r, 403, "forbidden_brand",
		                 "an identity limited to brands makes campaigns of its brands");
	else
		http_reply_error(a->r, 400, outcome, message);
	free(a);
}

void admin_route_campaign_create(struct request *r)
{
	size_t len;
	char err[256], *canon = NULL;
	unsigned char secret[32];
	char hex[2 + 64 + 1];
	struct campaign_req *a = start(r);
	if (!a)
		return;
	const char *body = http_body(r, "application/json", &len);
	if (!body) {
		free(a);
		return;
	}
	enum admin_decode why = campaign_decode(body, len, &canon, err, sizeof err);
	if (why != ADMIN_DECODE_OK) {
		http_reply_error(r, 400, why == ADMIN_DECODE_BAD_JSON ? "bad_json" : "bad_request",
		                 err);
		free(a);
		return;
	}
	if (RAND_priv_bytes(secret, sizeof secret) != 1) {
		http_reply_error(r, 503, "unavailable", "no random bytes, try again");
		free(canon);
		free(a);
		return;
	}
	memcpy(hex, "\\x", 2);
	for (size_t i = 0; i < sizeof secret; i++)
		snprintf(hex + 2 + 2 * i, 3, "%02x", secret[i]);
	struct pool_query q = {.stmt = "admin_campaign_create",
	                       .nparams = 4,
	                       .values = {a->tok, http_client_inet(r), canon, hex}};
	submit(a, &q, created);
	free(canon);
	OPENSSL_cleanse(secret, sizeof secret);
	OPENSSL_cleanse(hex, sizeof hex);
}

/* columns: outcome, campaign */
static void ended(void *arg, const struct pool_result *res)
{
	struct campaign_req *a = arg;
	if (db_failed(a, res))
		return;
	PGresult *pg = res->res;
	const char *outcome = PQgetvalue(pg, 0, 0);
	log_info("event=admin_action actor=%s action=campaign.end outcome=%s id=%lld",
	         LOG_Q(a->who.name), outcome, a->id);
	if (strcmp(outcome, "unknown_campaign") == 0)
		http_reply_error(a->r, 404, "unknown_campaign", "no such campaign");
	else if (strcmp(outcome, "already_ended") == 0)
		http_reply_error(a->r, 409, "already_ended", "the campaign has ended already");
	else
		reply_json_column(a, pg, 1, 200);
	free(a);
}

void admin_route_campaign_end(struct request *r)
{
	char id[24];
	struct campaign_req *a = start(r);
	if (!a || capture_id(a) < 0)
		return;
	snprintf(id, sizeof id, "%lld", a->id);
	struct pool_query q = {.stmt = "admin_campaign_end",
	                       .nparams = 3,
	                       .values = {a->tok, http_client_inet(r), id}};
	submit(a, &q, ended);
}

/* GET campaigns/{id}/payouts: the red packet's reconciliation (sql/028_redpackets.sql) */
void admin_route_campaign_payouts(struct request *r)
{
	char id[24];
	struct campaign_req *a = start(r);
	if (!a || capture_id(a) < 0)
		return;
	snprintf(id, sizeof id, "%lld", a->id);
	struct pool_query q = {
	    .stmt = "admin_campaign_payouts", .nparams = 2, .values = {id, a->brands_param}};
	submit(a, &q, got);
}
