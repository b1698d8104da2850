/*
 * webhooks.c (handlers): the admin API's webhook subscriptions
 * (webhooks.h). Like admin.c: the body is decoded in full first
 * (webhooks_input.c), then each request is one prepared statement, a change
 * one call of a write-path function that writes its audit row with it. A
 * secret is shown once, in the reply that created it, and never logged.
 */
#include "handlers/webhooks.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "engine/timefmt.h"
#include "engine/tokens.h"
#include "log.h"
#include "server.h"

#define DELIVERIES_PAGE     20
#define DELIVERIES_PAGE_MAX 100
#define ID_MAX              (1LL << 62)

enum webhook_op { OP_LIST, OP_ADD, OP_DELETE, OP_DELIVERIES, OP_REPLAY };

struct webhook_req {
	struct request *r;
	enum webhook_op op;
	struct tokens_identity who;
	char tok[24]; /* the identity for the SQL functions (admin_identity) */
	char brands[TOKENS_BRANDS_MAX * 21 + 3]; /* "{1,2}": the brands it is limited to */
	const char *brands_param;                /* brands, or NULL for every brand */
	const char *client;
	long long id, event;
	int limit;
	struct webhook_in in;
};

/* ---- replies ------------------------------------------------------------------------ */

static json_t *time_or_null(const PGresult *pg, int row, int col)
{
	char iso[TIMEFMT_ISO_LEN];
	if (PQgetisnull(pg, row, col))
		return json_null();
	timefmt_pg_to_iso(PQgetvalue(pg, row, col), iso);
	return json_string(iso);
}

static json_t *int_at(const PGresult *pg, int row, int col)
{
	return PQgetisnull(pg, row, col)
	           ? json_null()
	           : json_integer(strtoll(PQgetvalue(pg, row, col), NULL, 10));
}

/* A text[] of event type names as PostgreSQL sends it ("{a.b,c.d}"): a JSON array. */
static json_t *events_json(const char *pg)
{
	json_t *a = json_array();
	const char *p = pg[0] == '{' ? pg + 1 : pg;
	while (*p && *p != '}') {
		size_t n = strcspn(p, ",}");
		json_array_append_new(a, json_stringn(p, n));
		p += n;
		if (*p == ',')
			p++;
	}
	return a;
}

/* 0 if the query succeeded; else the reply is sent (401, 503 or 500) and -1. */
static int db_failed(struct webhook_req *a, const struct pool_result *res)
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
	return -1;
}

static void log_action(const struct webhook_req *a, const char *action, const char *outcome)
{
	log_info("event=admin_action actor=%s action=%s outcome=%s webhook=%lld",
	         LOG_Q(a->who.name), action, outcome, a->id);
}

/* ---- list ------------------------------------------------------------------------------- */

/* columns: id, url, events, created_at, created_by, pending, failed */
static void listed(void *arg, const struct pool_result *res)
{
	struct webhook_req *a = arg;
	if (db_failed(a, res))
		goto out;
	PGresult *pg = res->res;
	json_t *list = json_array();
	for (int i = 0; i < PQntuples(pg); i++) {
		json_t *w = json_object();
		json_object_set_new(w, "id", int_at(pg, i, 0));
		json_object_set_new(w, "url", json_string(PQgetvalue(pg, i, 1)));
		json_object_set_new(w, "events", events_json(PQgetvalue(pg, i, 2)));
		json_object_set_new(w, "created", time_or_null(pg, i, 3));
		json_object_set_new(w, "created_by", json_string(PQgetvalue(pg, i, 4)));
		json_object_set_new(w, "pending", int_at(pg, i, 5));
		json_object_set_new(w, "failed", int_at(pg, i, 6));
		json_array_append_new(list, w);
	}
	json_t *o = json_object();
	json_object_set_new(o, "webhooks", list);
	http_reply_json(a->r, 200, o);
out:
	free(a);
}

/* ---- add -------------------------------------------------------------------------------- */

/* "whsec_" and 32 random bytes in base64url: 0 or -1. */
static int make_secret(char out[WEBHOOK_SECRET_MAX + 1])
{
	unsigned char raw[32], b64[48];
	if (RAND_priv_bytes(raw, sizeof raw) != 1)
		return -1;
	int n = EVP_EncodeBlock(b64, raw, sizeof raw);
	OPENSSL_cleanse(raw, sizeof raw);
	while (n > 0 && b64[n - 1] == '=')
		n--;
	for (int i = 0; i < n; i++)
		b64[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
	snprintf(out, WEBHOOK_SECRET_MAX + 1, WEBHOOK_SECRET_PREFIX "%.*s", n, b64);
	OPENSSL_cleanse(b64, sizeof b64);
	return 0;
}

/* columns: outcome, id, created_at, detail */
static void added(void *arg, const struct pool_result *res)
{
	struct webhook_req *a = arg;
	char msg[160];
	if (db_failed(a, res))
		goto out;
	PGresult *pg = res->res;
	const char *outcome = PQgetvalue(pg, 0, 0);
	a->id = PQgetisnull(pg, 0, 1) ? 0 : strtoll(PQgetvalue(pg, 0, 1), NULL, 10);
	log_action(a, "webhook.add", outcome);
	if (strcmp(outcome, "unknown_event") == 0) {
		snprintf(msg, sizeof msg, "no event type %s (docs/webhooks.md lists them)",
		         PQgetvalue(pg, 0, 3));
		json_t *o = json_pack("{s:s,s:s,s:s}", "error", "unknown_event", "message", msg,
		                      "event", PQgetvalue(pg, 0, 3));
		http_reply_json(a->r, 400, o);
		goto out;
	}
	if (strcmp(outcome, "too_many") == 0) {
		http_reply_error(a->r, 409, "too_many_webhooks",
		                 "100 subscriptions exist already: delete one first");
		goto out;
	}
	json_t *events = json_array();
	for (int i = 0; i < a->in.nevents; i++)
		json_array_append_new(events, json_string(a->in.events[i]));
	json_t *o = json_object();
	json_object_set_new(o, "id", json_integer(a->id));
	json_object_set_new(o, "url", json_string(a->in.url));
	json_object_set_new(o, "events", events);
	json_object_set_new(o, "secret", json_string(a->in.secret));
	json_object_set_new(o, "created", time_or_null(pg, 0, 2));
	http_reply_json(a->r, 201, o);
out:
	OPENSSL_cleanse(a->in.secret, sizeof a->in.secret);
	free(a);
}

/* ---- delete ------------------------------------------------------------------------------- */

/* columns: outcome, cancelled */
static void deleted(void *arg, const struct pool_result *res)
{
	struct webhook_req *a = arg;
	if (db_failed(a, res))
		goto out;
	const char *outcome = PQgetvalue(res->res, 0, 0);
	log_action(a, "webhook.delete", outcome);
	if (strcmp(outcome, "unknown_webhook") == 0) {
		http_reply_error(a->r, 404, "unknown_webhook", "no such webhook subscription");
		goto out;
	}
	json_t *o = json_object();
	json_object_set_new(o, "id", json_integer(a->id));
	json_object_set_new(o, "deleted", json_true());
	json_object_set_new(o, "cancelled", int_at(res->res, 0, 1));
	http_reply_json(a->r, 200, o);
out:
	free(a);
}

/* ---- deliveries --------------------------------------------------------------------------- */

/* columns: event_id, type, subject, created_at, status, attempts, next_at, done_at, tries */
static json_t *delivery_json(const PGresult *pg, int i)
{
	json_t *d = json_object();
	json_object_set_new(d, "event",
	                    json_pack("{s:o,s:s,s:s,s:o}", "id", int_at(pg, i, 0), "type",
	                              PQgetvalue(pg, i, 1), "subject", PQgetvalue(pg, i, 2),
	                              "created", time_or_null(pg, i, 3)));
	json_object_set_new(d, "status", json_string(PQgetvalue(pg, i, 4)));
	json_object_set_new(d, "next_attempt", time_or_null(pg, i, 6));
	json_object_set_new(d, "done", time_or_null(pg, i, 7));
	json_t *tries = json_loads(PQgetvalue(pg, i, 8), 0, NULL);
	json_object_set_new(d, "attempts", tries ? tries : json_array());
	return d;
}

static void deliveries_listed(void *arg, const struct pool_result *res)
{
	struct webhook_req *a = arg;
	if (db_failed(a, res))
		goto out;
	PGresult *pg = res->res;
	int rows = PQntuples(pg);
	if (rows == 0) {
		http_reply_error(a->r, 404, "unknown_webhook", "no such webhook subscription");
		goto out;
	}
	if (PQgetisnull(pg, 0, 0))
		rows = 0; /* the subscription, without deliveries */
	int shown = rows > a->limit ? a->limit : rows;
	json_t *list = json_array();
	for (int i = 0; i < shown; i++)
		json_array_append_new(list, delivery_json(pg, i));
	json_t *o = json_object();
	json_object_set_new(o, "webhook", json_integer(a->id));
	json_object_set_new(o, "deliveries", list);
	json_object_set_new(o, "next_before",
	                    rows > shown ? int_at(pg, shown - 1, 0) : json_null());
	http_reply_json(a->r, 200, o);
out:
	free(a);
}

/* ---- replay ------------------------------------------------------------------------------- */

/* columns: outcome, previous */
static void replayed(void *arg, const struct pool_result *res)
{
	struct webhook_req *a = arg;
	if (db_failed(a, res))
		goto out;
	const char *outcome = PQgetvalue(res->res, 0, 0);
	log_action(a, "webhook.replay", outcome);
	if (strcmp(outcome, "unknown_webhook") == 0) {
		http_reply_error(a->r, 404, "unknown_webhook", "no such webhook subscription");
		goto out;
	}
	if (strcmp(outcome, "unknown_delivery") == 0) {
		http_reply_error(a->r, 404, "unknown_delivery",
		                 "this event was never sent to this subscription");
		goto out;
	}
	if (strcmp(outcome, "in_flight") == 0) {
		http_reply_error(a->r, 409, "in_flight",
		                 "the delivery is being sent now: see its outcome, then replay");
		goto out;
	}
	json_t *o = json_object();
	json_object_set_new(o, "webhook", json_integer(a->id));
	json_object_set_new(o, "event", json_integer(a->event));
	json_object_set_new(o, "status", json_string("pending"));
	json_object_set_new(o, "previous", json_string(PQgetvalue(res->res, 0, 1)));
	http_reply_json(a->r, 202, o);
out:
	free(a);
}

/* ---- dispatch ------------------------------------------------------------------------------- */

static void submit(struct webhook_req *a, const struct pool_query *q, pool_cb cb)
{
	if (pool_submit(a->r->w->pool, q, cb, a) < 0) {
		http_reply_error(a->r, 503, "unavailable", "database unavailable, try again");
		OPENSSL_cleanse(a->in.secret, sizeof a->in.secret);
		free(a);
	}
}

/* Capture i as an id (1 to 2^62): 0, or -1 with r answered 404 as `what`. */
static int capture_id(struct webhook_req *a, int i, long long *out, const char *error)
{
	const struct route_capture *c = &a->r->cap[i];
	char id[24];
	if (c->len < 1 || c->len >= 20 || strspn(c->s, "0123456789") < c->len) {
		http_reply_error(a->r, 404, error, "an id is a number");
		return -1;
	}
	memcpy(id, c->s, c->len);
	id[c->len] = '\0';
	*out = strtoll(id, NULL, 10);
	if (*out < 1 || *out > ID_MAX) {
		http_reply_error(a->r, 404, error, "no such id");
		return -1;
	}
	return 0;
}

static void add(struct webhook_req *a)
{
	size_t len;
	char err[256], events[WEBHOOK_EVENTS_MAX * (WEBHOOK_EVENT_MAX + 1) + 3];
	const char *body = http_body(a->r, "application/json", &len);
	if (!body)
		goto fail;
	enum admin_decode why = webhook_decode(body, len, &a->in, err, sizeof err);
	if (why != ADMIN_DECODE_OK) {
		http_reply_error(a->r, 400,
		                 why == ADMIN_DECODE_BAD_JSON ? "bad_json" : "bad_request", err);
		goto fail;
	}
	if (!a->in.has_secret && make_secret(a->in.secret) < 0) {
		http_reply_error(a->r, 503, "unavailable", "no randomness for a secret, try again");
		goto fail;
	}
	/* a text[] literal: the names are lower-case words and dots, nothing to quote */
	size_t at = 0;
	events[at++] = '{';
	for (int i = 0; i < a->in.nevents; i++)
		at += (size_t)snprintf(events + at, sizeof events - at, "%s%s", i ? "," : "",
		                       a->in.events[i]);
	snprintf(events + at, sizeof events - at, "}");
	struct pool_query q = {.stmt = "admin_webhook_add",
	                       .nparams = 5,
	                       .values = {a->tok, a->client, a->in.url, events, a->in.secret}};
	submit(a, &q, added);
	return;
fail:
	OPENSSL_cleanse(a->in.secret, sizeof a->in.secret);
	free(a);
}

static void list_deliveries(struct webhook_req *a, const char *query)
{
	long long limit = DELIVERIES_PAGE, before = 0;
	char lim[24], bef[24], id[24], status[16];
	if (capture_id(a, 0, &a->id, "unknown_webhook") < 0)
		goto fail;
	int has_status = http_form_field(query, strlen(query), "status", status, sizeof status);
	if (http_query_int(query, "limit", DELIVERIES_PAGE_MAX, &limit) < 0 ||
	    http_query_int(query, "before", ID_MAX, &before) < 0 || has_status < 0 ||
	    (has_status && strcmp(status, "pending") != 0 && strcmp(status, "delivered") != 0 &&
	     strcmp(status, "failed") != 0 && strcmp(status, "cancelled") != 0)) {
		http_reply_error(a->r, 400, "bad_request",
		                 "limit is 1 to 100; before is an event id; status is pending, "
		                 "delivered, failed or cancelled");
		goto fail;
	}
	a->limit = (int)limit;
	snprintf(lim, sizeof lim, "%lld", limit + 1);
	snprintf(bef, sizeof bef, "%lld", before);
	snprintf(id, sizeof id, "%lld", a->id);
	struct pool_query q = {
	    .stmt = "admin_webhook_deliveries",
	    .nparams = 5,
	    .values = {id, before ? bef : NULL, has_status ? status : NULL, lim, a->brands_param}};
	submit(a, &q, deliveries_listed);
	return;
fail:
	free(a);
}

static void change(struct webhook_req *a)
{
	char id[24], ev[24];
	if (capture_id(a, 0, &a->id, "unknown_webhook") < 0 ||
	    (a->op == OP_REPLAY && capture_id(a, 1, &a->event, "unknown_delivery") < 0)) {
		free(a);
		return;
	}
	snprintf(id, sizeof id, "%lld", a->id);
	snprintf(ev, sizeof ev, "%lld", a->event);
	struct pool_query q = {
	    .stmt = "admin_webhook_delete", .nparams = 3, .values = {a->tok, a->client, id}};
	if (a->op == OP_REPLAY)
		q = (struct pool_query){.stmt = "admin_webhook_replay",
		                        .nparams = 4,
		                        .values = {a->tok, a->client, id, ev}};
	submit(a, &q, a->op == OP_REPLAY ? replayed : deleted);
}

/* The client address for the audit row, if it is one (inet); else NULL. */
static const char *client_inet(const struct request *r)
{
	unsigned char buf[16];
	if (inet_pton(AF_INET, r->client, buf) == 1 || inet_pton(AF_INET6, r->client, buf) == 1)
		return r->client;
	return NULL;
}

static struct webhook_req *start(struct request *r, enum webhook_op op)
{
	struct webhook_req *a = calloc(1, sizeof *a);
	if (!a) {
		http_reply_error(r, 503, "unavailable", "out of memory");
		return NULL;
	}
	a->r = r;
	a->op = op;
	a->who = r->admin;
	snprintf(a->tok, sizeof a->tok, "%lld", a->who.id);
	a->client = client_inet(r);
	a->brands_param = tokens_brands_param(&a->who, a->brands, sizeof a->brands);
	return a;
}

void admin_route_webhooks(struct request *r)
{
	struct webhook_req *a = start(r, OP_LIST);
	if (!a)
		return;
	struct pool_query q = {.stmt = "admin_webhooks", .nparams = 1, .values = {a->brands_param}};
	submit(a, &q, listed);
}

void admin_route_webhook_add(struct request *r)
{
	struct webhook_req *a = start(r, OP_ADD);
	if (a)
		add(a);
}

void admin_route_webhook_delete(struct request *r)
{
	struct webhook_req *a = start(r, OP_DELETE);
	if (a)
		change(a);
}

void admin_route_webhook_deliveries(struct request *r)
{
	struct webhook_req *a = start(r, OP_DELIVERIES);
	if (a)
		list_deliveries(a, r->query);
}

void admin_route_webhook_replay(struct request *r)
{
	struct webhook_req *a = start(r, OP_REPLAY);
	if (a)
		change(a);
}
