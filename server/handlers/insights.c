/*
 * insights.c: the console's members and counterfeit reads (insights.h).
 * A phone is normalised as everywhere (lib/member_id.h) and found by its
 * keyed hash (lib/pii.h): the number never reaches the database. Without
 * the pii scope the reply shows it masked; with it, the number searched is
 * shown and that read is audited (member.pii_read), as member reads are.
 */
#include "handlers/insights.h"

#include <event2/buffer.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "edge/http.h"
#include "engine/timefmt.h"
#include "engine/tokens.h"
#include "handlers/analytics.h"
#include "handlers/member.h"
#include "log.h"
#include "member_id.h"
#include "pii.h"
#include "scope.h"
#include "server.h"

#define BRANDS_PARAM_MAX (TOKENS_BRANDS_MAX * 21 + 3)
#define TIMELINE_DEFAULT 100
#define TIMELINE_MAX     1000

struct call {
	struct request *r;
	const char *error404, *message404;
	/* the member search */
	char typed[MEMBER_MAX + 1];
	char tok[24], n[16];
	json_t *o;
};

static void call_free(struct call *c)
{
	json_decref(c->o);
	free(c);
}

/* 1 (r answered, c freed) if the query failed. */
static int failed(struct call *c, const struct pool_result *res)
{
	if (res->status == POOL_OK)
		return 0;
	if (res->status == POOL_UNAVAILABLE) {
		http_reply_error(c->r, 503, "unavailable", "database unavailable, try again");
	} else if (strcmp(res->sqlstate, "22023") == 0) {
		http_reply_error(c->r, 400, "bad_request", res->message);
	} else {
		log_error("event=admin_query_failed route=%s actor=%s sqlstate=%s message=%s",
		          http_route_id(c->r), LOG_Q(c->r->admin.name), res->sqlstate,
		          LOG_Q(res->message));
		http_reply_error(c->r, 500, "internal", "the request failed");
	}
	call_free(c);
	return 1;
}

static void submit(struct call *c, struct pool_query *q, pool_cb cb)
{
	if (pool_submit(c->r->w->pool, q, cb, c) < 0) {
		http_reply_error(c->r, 503, "unavailable", "database unavailable, try again");
		call_free(c);
	}
}

static struct call *call_new(struct request *r)
{
	struct call *c = calloc(1, sizeof *c);
	if (!c)
		http_reply_error(r, 503, "unavailable", "out of memory");
	else
		c->r = r;
	return c;
}

static void json_done(void *arg, const struct pool_result *res)
{
	struct call *c = arg;
	if (failed(c, res))
		return;
	if (PQntuples(res->res) != 1 || PQgetisnull(res->res, 0, 0)) {
		http_reply_error(c->r, 404, c->error404 ? c->error404 : "not_found",
		                 c->message404 ? c->message404 : "nothing here");
	} else {
		/* one row, one column: the jsonb the function built, sent as it is */
		evbuffer_add(http_out(c->r), PQgetvalue(res->res, 0, 0),
		             (size_t)PQgetlength(res->res, 0, 0));
		http_reply_json_out(c->r, 200);
	}
	call_free(c);
}

void insights_json_call(struct request *r, const char *stmt, int n, const char *const *values,
                        const char *error404, const char *message404)
{
	struct call *c = call_new(r);
	if (!c)
		return;
	c->error404 = error404;
	c->message404 = message404;
	struct pool_query q = {.stmt = stmt, .nparams = n};
	for (int i = 0; i < n; i++)
		q.values[i] = values[i];
	submit(c, &q, json_done);
}

/* ?brand=NAME narrows to one brand (of the identity's): "" when absent, NULL when bad. */
static const char *brand_param(struct request *r, char *out, size_t outlen)
{
	const char *query = r->query ? r->query : "";
	int f = http_form_field(query, strlen(query), "brand", out, outlen);
	if (f < 0 || (f > 0 && !out[0])) {
		http_reply_error(r, 400, "bad_request", "brand is a brand's name");
		return NULL;
	}
	if (f == 0)
		out[0] = '\0';
	return out;
}

static void analytics(struct request *r, const char *stmt)
{
	struct analytics_query aq;
	char err[128], brands[BRANDS_PARAM_MAX], brand[201];
	if (analytics_query_decode(r->query, &aq, err, sizeof err) < 0) {
		http_reply_error(r, 400, "bad_request", err);
		return;
	}
	if (!brand_param(r, brand, sizeof brand))
		return;
	const char *v[] = {aq.from[0] ? aq.from : NULL, aq.to[0] ? aq.to : NULL,
	                   tokens_brands_param(&r->admin, brands, sizeof brands),
	                   brand[0] ? brand : NULL};
	insights_json_call(r, stmt, 4, v, NULL, NULL);
}

void admin_route_analytics_members(struct request *r)
{
	analytics(r, "analytics_members");
}

void admin_route_analytics_not_genuine(struct request *r)
{
	analytics(r, "analytics_not_genuine");
}

/* ---- a member by phone ------------------------------------------------------------ */

static void search_audited(void *arg, const struct pool_result *res)
{
	struct call *c = arg;
	if (failed(c, res))
		return;
	http_reply_json(c->r, 200, c->o);
	c->o = NULL;
	call_free(c);
}

/* member, masked, balance, created_at */
static void searched(void *arg, const struct pool_result *res)
{
	struct call *c = arg;
	if (failed(c, res))
		return;
	const PGresult *pg = res->res;
	int pii = (c->r->admin.scopes & SCOPE_PII) != 0;
	json_t *list = json_array();
	for (int i = 0; i < PQntuples(pg); i++) {
		char at[TIMEFMT_ISO_LEN];
		timefmt_pg_to_iso(PQgetvalue(pg, i, 3), at);
		json_array_append_new(
		    list, json_pack("{s:s,s:s,s:o,s:s}", "member", PQgetvalue(pg, i, 0), "phone",
		                    pii ? c->typed : PQgetvalue(pg, i, 1), "balance",
		                    PQgetisnull(pg, i, 2)
		                        ? json_null()
		                        : json_integer(strtoll(PQgetvalue(pg, i, 2), NULL, 10)),
		                    "created", at));
	}
	c->o = json_pack("{s:o}", "members", list);
	if (pii && PQntuples(pg) > 0) {
		snprintf(c->tok, sizeof c->tok, "%lld", c->r->admin.id);
		snprintf(c->n, sizeof c->n, "%d", PQntuples(pg));
		struct pool_query q = {
		    .stmt = "admin_pii_read",
		    .nparams = 4,
		    .values = {c->tok, http_client_inet(c->r), http_route_id(c->r), c->n}};
		submit(c, &q, search_audited);
		return;
	}
	http_reply_json(c->r, 200, c->o);
	c->o = NULL;
	call_free(c);
}

static void hash_hex(const struct request *r, const char *typed, char *hex)
{
	unsigned char h[PII_HASH_LEN];
	pii_hash(&r->w->srv->pii, typed[0] == '+' ? PII_PHONE : PII_EXTERNAL, typed, strlen(typed),
	         h);
	hex[0] = '\\';
	hex[1] = 'x';
	for (size_t i = 0; i < sizeof h; i++)
		snprintf(hex + 2 + 2 * i, 3, "%02x", h[i]);
}

void admin_route_member_search(struct request *r)
{
	char phone[MEMBER_SEGMENT_MAX + 1], hex[3 + 2 * PII_HASH_LEN], brands[BRANDS_PARAM_MAX];
	char brand[201];
	enum phone_result why;
	const char *query = r->query ? r->query : "";
	if (http_form_field(query, strlen(query), "phone", phone, sizeof phone) != 1 || !phone[0]) {
		http_reply_error(r, 400, "bad_request", "phone is required");
		return;
	}
	struct call *c = call_new(r);
	if (!c)
		return;
	if (member_id_normalize(phone, strlen(phone), r->w->srv->cfg.default_country, c->typed,
	                        &why) < 0 ||
	    c->typed[0] != '+') {
		http_reply_error(r, 400, "bad_phone",
		                 c->typed[0] == '+' || why != PHONE_OK ? member_id_message(why)
		                                                       : "phone is a phone number");
		call_free(c);
		return;
	}
	if (!brand_param(r, brand, sizeof brand)) {
		call_free(c);
		return;
	}
	hash_hex(r, c->typed, hex);
	struct pool_query q = {.stmt = "admin_member_search",
	                       .nparams = 3,
	                       .values = {hex,
	                                  tokens_brands_param(&r->admin, brands, sizeof brands),
	                                  brand[0] ? brand : NULL}};
	submit(c, &q, searched);
}

/* ---- a member's timeline -------------------------------------------------------------- */

void admin_route_member_timeline(struct request *r)
{
	char member[MEMBER_SEGMENT_MAX + 1], typed[MEMBER_MAX + 1], hex[3 + 2 * PII_HASH_LEN];
	char brands[BRANDS_PARAM_MAX], lim[24], brand[201];
	enum phone_result why;
	long long limit = TIMELINE_DEFAULT;
	const struct route_capture *cap = &r->cap[0];
	long n = memchr(cap->s, '/', cap->len)
	             ? -1
	             : http_decode(cap->s, cap->len, 0, member, sizeof member);
	if (n < 0 || member_id_normalize(member, (size_t)n, r->w->srv->cfg.default_country, typed,
	                                 &why) < 0) {
		http_reply_error(r, 400, "bad_member",
		                 n < 0 ? "malformed member id" : member_id_message(why));
		return;
	}
	if (http_query_int(r->query ? r->query : "", "limit", TIMELINE_MAX, &limit) < 0) {
		http_reply_error(r, 400, "bad_request", "limit is 1 to 1000");
		return;
	}
	if (!brand_param(r, brand, sizeof brand))
		return;
	snprintf(lim, sizeof lim, "%lld", limit);
	int key = strncmp(typed, "m-", 2) == 0;
	if (!key)
		hash_hex(r, typed, hex);
	const char *v[] = {typed, key ? NULL : hex, lim,
	                   tokens_brands_param(&r->admin, brands, sizeof brands),
	                   brand[0] ? brand : NULL};
	insights_json_call(r, "admin_member_timeline", 5, v, "unknown_member", "no such member");
}
