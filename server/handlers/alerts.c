/*
 * alerts.c (handlers): alert rules and alerts (alerts.h). Like
 * webhooks.c: a body is decoded in full first (alerts_input.c), then each
 * request is one prepared statement; a change is one call of a write-path
 * function of sql/016_alerts.sql that writes its audit row with it.
 */
#include "handlers/alerts.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "engine/timefmt.h"
#include "engine/tokens.h"
#include "log.h"
#include "server.h"

#define ALERTS_PAGE     50
#define ALERTS_PAGE_MAX 500
#define ID_MAX          (1LL << 62)

struct alert_req {
	struct request *r;
	struct tokens_identity who;
	char tok[24];
	char brands[TOKENS_BRANDS_MAX * 21 + 3];
	const char *brands_param; /* NULL: every brand */
	long long id;
	int limit;
	struct alert_rule_in in;
};

static json_t *time_or_null(const PGresult *pg, int row, int col)
{
	char iso[TIMEFMT_ISO_LEN];
	if (PQgetisnull(pg, row, col))
		return json_null();
	timefmt_pg_to_iso(PQgetvalue(pg, row, col), iso);
	return json_string(iso);
}

static json_t *int_or_null(const PGresult *pg, int row, int col)
{
	return PQgetisnull(pg, row, col)
	           ? json_null()
	           : json_integer(strtoll(PQgetvalue(pg, row, col), NULL, 10));
}

static json_t *text_or_null(const PGresult *pg, int row, int col)
{
	return PQgetisnull(pg, row, col) ? json_null() : json_string(PQgetvalue(pg, row, col));
}

/* 0 if the query succeeded; else the reply is sent (401, 503 or 500), a freed, -1. */
static int db_failed(struct alert_req *a, const struct pool_result *res)
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

static void submit(struct alert_req *a, const struct pool_query *q, pool_cb cb)
{
	if (pool_submit(a->r->w->pool, q, cb, a) < 0) {
		http_reply_error(a->r, 503, "unavailable", "database unavailable, try again");
		free(a);
	}
}

static struct alert_req *start(struct request *r)
{
	struct alert_req *a = calloc(1, sizeof *a);
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

/* Capture 0 as an id: 0, or -1 with r answered 404 as error (a freed). */
static int capture_id(struct alert_req *a, const char *error)
{
	const struct route_capture *c = &a->r->cap[0];
	char id[24];
	if (c->len < 1 || c->len >= 20 || strspn(c->s, "0123456789") < c->len) {
		http_reply_error(a->r, 404, error, "an id is a number");
		free(a);
		return -1;
	}
	memcpy(id, c->s, c->len);
	id[c->len] = '\0';
	a->id = strtoll(id, NULL, 10);
	if (a->id < 1 || a->id > ID_MAX) {
		http_reply_error(a->r, 404, error, "no such id");
		free(a);
		return -1;
	}
	return 0;
}

static void log_action(const struct alert_req *a, const char *action, const char *outcome)
{
	log_info("event=admin_action actor=%s action=%s outcome=%s id=%lld", LOG_Q(a->who.name),
	         action, outcome, a->id);
}

/* ---- rules ---- */

/* columns: id, kind, threshold, window_s, brand, created_at, created_by */
static void rules_listed(void *arg, const struct pool_result *res)
{
	struct alert_req *a = arg;
	if (db_failed(a, res))
		return;
	PGresult *pg = res->res;
	json_t *list = json_array();
	for (int i = 0; i < PQntuples(pg); i++) {
		json_t *o = json_object();
		json_object_set_new(o, "id", int_or_null(pg, i, 0));
		json_object_set_new(o, "kind", json_string(PQgetvalue(pg, i, 1)));
		json_object_set_new(o, "threshold", int_or_null(pg, i, 2));
		json_object_set_new(o, "window_s", int_or_null(pg, i, 3));
		json_object_set_new(o, "brand", text_or_null(pg, i, 4));
		json_object_set_new(o, "created", time_or_null(pg, i, 5));
		json_object_set_new(o, "created_by", json_string(PQgetvalue(pg, i, 6)));
		json_object_set_new(o, "region", text_or_null(pg, i, 7));
		json_array_append_new(list, o);
	}
	http_reply_json(a->r, 200, json_pack("{s:o}", "rules", list));
	free(a);
}

void admin_route_alert_rules(struct request *r)
{
	struct alert_req *a = start(r);
	if (!a)
		return;
	struct pool_query q = {
	    .stmt = "admin_alert_rules", .nparams = 1, .values = {a->brands_param}};
	submit(a, &q, rules_listed);
}

/* columns: outcome, id, created_at */
static void rule_added(void *arg, const struct pool_result *res)
{
	struct alert_req *a = arg;
	if (db_failed(a, res))
		return;
	PGresult *pg = res->res;
	const char *outcome = PQgetvalue(pg, 0, 0);
	a->id = PQgetisnull(pg, 0, 1) ? 0 : strtoll(PQgetvalue(pg, 0, 1), NULL, 10);
	log_action(a, "alert_rule.add", outcome);
	if (strcmp(outcome, "unknown_brand") == 0) {
		http_reply_error(a->r, 400, "unknown_brand", "no such brand");
	} else if (strcmp(outcome, "forbidden_brand") == 0) {
		http_reply_error(a->r, 403, "forbidden_brand",
		                 "an identity limited to brands makes rules for one of its brands "
		                 "(name it in brand)");
	} else if (strcmp(outcome, "brand_not_allowed") == 0) {
		http_reply_error(
		    a->r, 400, "bad_request",
		    "a not_genuine rule is of every brand: not-genuine scans name no code, "
		    "so no brand");
	} else {
		json_t *o = json_object();
		json_object_set_new(o, "id", json_integer(a->id));
		json_object_set_new(o, "kind", json_string(a->in.kind));
		json_object_set_new(o, "threshold", json_integer(a->in.threshold));
		json_object_set_new(o, "window_s", json_integer(a->in.window_s));
		json_object_set_new(o, "brand",
		                    a->in.has_brand ? json_string(a->in.brand) : json_null());
		json_object_set_new(o, "region",
		                    a->in.region[0] ? json_string(a->in.region) : json_null());
		json_object_set_new(o, "created", time_or_null(pg, 0, 2));
		http_reply_json(a->r, 201, o);
	}
	free(a);
}

void admin_route_alert_rule_add(struct request *r)
{
	size_t len;
	char err[256], threshold[16], window[16];
	struct alert_req *a = start(r);
	if (!a)
		return;
	const char *body = http_body(r, "application/json", &len);
	if (!body) {
		free(a);
		return;
	}
	enum admin_decode why = alert_rule_decode(body, len, &a->in, err, sizeof err);
	if (why != ADMIN_DECODE_OK) {
		http_reply_error(r, 400, why == ADMIN_DECODE_BAD_JSON ? "bad_json" : "bad_request",
		                 err);
		free(a);
		return;
	}
	snprintf(threshold, sizeof threshold, "%d", a->in.threshold);
	snprintf(window, sizeof window, "%d", a->in.window_s);
	struct pool_query q = {.stmt = "admin_alert_rule_add",
	                       .nparams = 7,
	                       .values = {a->tok, http_client_inet(r), a->in.kind, threshold,
	                                  window, a->in.has_brand ? a->in.brand : NULL,
	                                  a->in.region[0] ? a->in.region : NULL}};
	submit(a, &q, rule_added);
}

static void rule_deleted(void *arg, const struct pool_result *res)
{
	struct alert_req *a = arg;
	if (db_failed(a, res))
		return;
	const char *outcome = PQgetvalue(res->res, 0, 0);
	log_action(a, "alert_rule.delete", outcome);
	if (strcmp(outcome, "unknown_rule") == 0)
		http_reply_error(a->r, 404, "unknown_rule", "no such alert rule");
	else
		http_reply_json(a->r, 200,
		                json_pack("{s:I,s:b}", "id", (json_int_t)a->id, "deleted", 1));
	free(a);
}

void admin_route_alert_rule_delete(struct request *r)
{
	char id[24];
	struct alert_req *a = start(r);
	if (!a || capture_id(a, "unknown_rule") < 0)
		return;
	snprintf(id, sizeof id, "%lld", a->id);
	struct pool_query q = {.stmt = "admin_alert_rule_delete",
	                       .nparams = 3,
	                       .values = {a->tok, http_client_inet(r), id}};
	submit(a, &q, rule_deleted);
}

/* ---- alerts ---- */

/* columns: id, kind, rule_id, subject, serial, brand, detail, raised_at, acknowledged_at, by */
static json_t *alert_json(const PGresult *pg, int i)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", int_or_null(pg, i, 0));
	json_object_set_new(o, "kind", json_string(PQgetvalue(pg, i, 1)));
	json_object_set_new(o, "rule", int_or_null(pg, i, 2));
	json_object_set_new(o, "subject", json_string(PQgetvalue(pg, i, 3)));
	json_object_set_new(o, "serial", int_or_null(pg, i, 4));
	json_object_set_new(o, "brand", json_string(PQgetvalue(pg, i, 5)));
	json_t *detail = json_loads(PQgetvalue(pg, i, 6), 0, NULL);
	json_object_set_new(o, "detail", detail ? detail : json_object());
	json_object_set_new(o, "raised", time_or_null(pg, i, 7));
	json_object_set_new(o, "acknowledged", time_or_null(pg, i, 8));
	json_object_set_new(o, "acknowledged_by", text_or_null(pg, i, 9));
	return o;
}

static void alerts_listed(void *arg, const struct pool_result *res)
{
	struct alert_req *a = arg;
	if (db_failed(a, res))
		return;
	PGresult *pg = res->res;
	int rows = PQntuples(pg), shown = rows > a->limit ? a->limit : rows;
	json_t *list = json_array();
	for (int i = 0; i < shown; i++)
		json_array_append_new(list, alert_json(pg, i));
	json_t *o = json_object();
	json_object_set_new(o, "alerts", list);
	json_object_set_new(o, "next_before",
	                    rows > shown ? int_or_null(pg, shown - 1, 0) : json_null());
	http_reply_json(a->r, 200, o);
	free(a);
}

void admin_route_alerts(struct request *r)
{
	long long limit = ALERTS_PAGE, before = 0;
	char lim[24], bef[24], status[16];
	struct alert_req *a = start(r);
	if (!a)
		return;
	int has_status =
	    http_form_field(r->query, strlen(r->query), "status", status, sizeof status);
	if (http_query_int(r->query, "limit", ALERTS_PAGE_MAX, &limit) < 0 ||
	    http_query_int(r->query, "before", ID_MAX, &before) < 0 || has_status < 0 ||
	    (has_status && strcmp(status, "open") != 0 && strcmp(status, "all") != 0)) {
		http_reply_error(r, 400, "bad_request",
		                 "limit is 1 to 500; before is an alert id; status is open or all");
		free(a);
		return;
	}
	a->limit = (int)limit;
	snprintf(lim, sizeof lim, "%lld", limit + 1);
	snprintf(bef, sizeof bef, "%lld", before);
	struct pool_query q = {
	    .stmt = "admin_alerts",
	    .nparams = 4,
	    .values = {before ? bef : NULL, lim,
	               has_status && strcmp(status, "open") == 0 ? "true" : "false",
	               a->brands_param}};
	submit(a, &q, alerts_listed);
}

/* columns: outcome, acknowledged_at, acknowledged_by */
static void acknowledged(void *arg, const struct pool_result *res)
{
	struct alert_req *a = arg;
	if (db_failed(a, res))
		return;
	PGresult *pg = res->res;
	const char *outcome = PQgetvalue(pg, 0, 0);
	log_action(a, "alert.acknowledge", outcome);
	if (strcmp(outcome, "unknown_alert") == 0) {
		http_reply_error(a->r, 404, "unknown_alert", "no such alert");
	} else {
		json_t *o = json_object();
		json_object_set_new(o, "id", json_integer(a->id));
		json_object_set_new(o, "acknowledged", time_or_null(pg, 0, 1));
		json_object_set_new(o, "acknowledged_by", text_or_null(pg, 0, 2));
		json_object_set_new(o, "already", json_boolean(strcmp(outcome, "already") == 0));
		http_reply_json(a->r, 200, o);
	}
	free(a);
}

void admin_route_alert_ack(struct request *r)
{
	char id[24];
	struct alert_req *a = start(r);
	if (!a || capture_id(a, "unknown_alert") < 0)
		return;
	snprintf(id, sizeof id, "%lld", a->id);
	struct pool_query q = {.stmt = "admin_alert_acknowledge",
	                       .nparams = 3,
	                       .values = {a->tok, http_client_inet(r), id}};
	submit(a, &q, acknowledged);
}
