/*
 * admin.c: the admin API's handlers and replies. A request is authenticated
 * first (tokens.c), then decoded and checked in full (admin_input.c), and
 * only then sent to the database as one prepared statement; the reply is
 * built from the row the SQL function returns. The token itself goes no
 * further than tokens_authenticate: only its id and name travel on.
 */
#include "handlers/admin.h"
#include "handlers/auth.h"

#include <arpa/inet.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include "log.h"
#include "scope.h"
#include "handlers/member.h"
#include "server.h"
#include "engine/timefmt.h"
#include "engine/tokens.h"

#define PRODUCTS_PAGE      100
#define PRODUCTS_PAGE_MAX  1000
#define BATCHES_PAGE       20
#define BATCHES_PAGE_MAX   100
#define AUDIT_PAGE         50
#define AUDIT_PAGE_MAX     100
#define SUSPICIOUS_PAGE    50
#define SUSPICIOUS_MAX     500
#define SUSPICIOUS_DAYS    30 /* the window of scans looked at, by default */
#define SUSPICIOUS_CLIENTS 3  /* addresses that make a code suspicious, by default */
#define STATS_DAYS         1  /* the window of scans counted, by default */
#define ID_MAX             (1LL << 62)

enum admin_op {
	OP_PRODUCTS,
	OP_PRODUCT_ADD,
	OP_BATCHES,
	OP_RECALL,
	OP_UNRECALL,
	OP_ADJUST,
	OP_SPEND,
	OP_AUDIT,
	OP_SUSPICIOUS,
	OP_STATS,
	OP_BATCH,
};

/* A request on its way to the database and back. */
struct admin_req {
	struct request *r;
	enum admin_op op;
	struct tokens_identity who;
	char tok[24]; /* the identity for the SQL functions (admin_identity) */
	char brands[TOKENS_BRANDS_MAX * 21 + 3]; /* "{1,2}": the brands it is limited to */
	const char *brands_param;                /* brands, or NULL for every brand */
	json_t *reply;                           /* a read waiting for its pii audit row */
	int pii_members;                         /* unmasked member ids in it */
	const char *client;                      /* the client address for the audit row, or NULL */
	int limit;
	int days, min_clients; /* the suspicious codes' window and threshold */
	long long batch;
	char member[MEMBER_MAX + 1];
	char key[72]; /* a spend's Idempotency-Key */
	union {
		struct admin_points_in in;       /* adjust, spend; in.text: recall's reason */
		struct admin_product_in product; /* add a product */
	};
};

/* ---- replies ----------------------------------------------------------------- */

static void reply_bad(struct request *r, enum admin_decode why, const char *message)
{
	http_reply_error(r, 400, why == ADMIN_DECODE_BAD_JSON ? "bad_json" : "bad_request",
	                 message);
}

/* {"error", "message", name: value} */
static void reply_error_with(struct request *r, int status, const char *error, const char *message,
                             const char *name, json_t *value)
{
	json_t *o = json_pack("{s:s,s:s}", "error", error, "message", message);
	if (o && name)
		json_object_set_new(o, name, value);
	else
		json_decref(value);
	http_reply_json(r, status, o);
}

static json_t *text_or_null(const PGresult *pg, int row, int col)
{
	return PQgetisnull(pg, row, col) ? json_null() : json_string(PQgetvalue(pg, row, col));
}

static json_t *int_or_null(const PGresult *pg, int row, int col)
{
	return PQgetisnull(pg, row, col)
	           ? json_null()
	           : json_integer(strtoll(PQgetvalue(pg, row, col), NULL, 10));
}

static json_t *time_or_null(const PGresult *pg, int row, int col)
{
	char iso[TIMEFMT_ISO_LEN];
	if (PQgetisnull(pg, row, col))
		return json_null();
	timefmt_pg_to_iso(PQgetvalue(pg, row, col), iso);
	return json_string(iso);
}

/* The first n rows of pg, each made JSON by row. */
static json_t *rows_json(const PGresult *pg, int n, json_t *(*row)(const PGresult *, int))
{
	json_t *list = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(list, row(pg, i));
	return list;
}

/*
 * A keyset page: the query asked for a->limit + 1 rows; the first a->limit
 * go out as name, and cursor_name is the first column of the last one shown
 * (made JSON by cursor) when there are more, else null.
 */
static void reply_page(struct admin_req *a, const PGresult *pg, const char *name,
                       json_t *(*row)(const PGresult *, int), const char *cursor_name,
                       json_t *(*cursor)(const PGresult *, int, int))
{
	int rows = PQntuples(pg), shown = rows > a->limit ? a->limit : rows;
	json_t *o = json_object();
	json_object_set_new(o, name, rows_json(pg, shown, row));
	json_object_set_new(o, cursor_name, rows > shown ? cursor(pg, shown - 1, 0) : json_null());
	http_reply_json(a->r, 200, o);
}

/* 0 if the query succeeded; else the reply is sent (401, 503 or 500) and -1. */
static int db_failed(struct admin_req *a, const struct pool_result *res)
{
	struct request *r = a->r;
	if (res->status == POOL_OK)
		return 0;
	if (res->status == POOL_UNAVAILABLE) {
		http_reply_error(r, 503, "unavailable", "database unavailable, try again");
	} else if (strcmp(res->sqlstate, "28000") == 0) {
		/* revoked after this server last loaded the tokens: the database knew */
		http_reply_unauthorized(r, TOKENS_INVALID);
	} else if (strcmp(res->sqlstate, "57014") == 0) {
		/* statement_timeout: a read over too many rows (suspicious codes, stats) */
		http_reply_error(r, 504, "timeout",
		                 "the query took too long: narrow it (fewer days, one batch)");
	} else {
		log_error("event=admin_query_failed route=%s actor=%s sqlstate=%s message=%s",
		          http_route_id(r), LOG_Q(a->who.name), res->sqlstate, LOG_Q(res->message));
		http_reply_error(r, 500, "internal", "the request failed; nothing was changed");
	}
	return -1;
}

static void log_action(const struct admin_req *a, const char *action, const char *outcome)
{
	log_info("event=admin_action actor=%s action=%s outcome=%s", LOG_Q(a->who.name), action,
	         outcome);
}

/* ---- products ------------------------------------------------------------------ */

/* columns: sku, gtin, name, brand, points, created_at */
static json_t *product_json(const PGresult *pg, int i)
{
	json_t *p = json_object();
	json_object_set_new(p, "sku", json_string(PQgetvalue(pg, i, 0)));
	json_object_set_new(p, "gtin", text_or_null(pg, i, 1));
	json_object_set_new(p, "name", json_string(PQgetvalue(pg, i, 2)));
	json_object_set_new(p, "brand", json_string(PQgetvalue(pg, i, 3)));
	json_object_set_new(p, "points", int_or_null(pg, i, 4));
	json_object_set_new(p, "created", time_or_null(pg, i, 5));
	return p;
}

static void products_done(void *arg, const struct pool_result *res)
{
	struct admin_req *a = arg;
	if (!db_failed(a, res))
		reply_page(a, res->res, "products", product_json, "next_after", text_or_null);
	free(a);
}

static void product_added(void *arg, const struct pool_result *res)
{
	struct admin_req *a = arg;
	const struct admin_product_in *p = &a->product;
	if (db_failed(a, res))
		goto out;
	const char *outcome = PQgetvalue(res->res, 0, 0);
	log_action(a, "product.add", outcome);
	if (strcmp(outcome, "sku_exists") == 0) {
		reply_error_with(a->r, 409, "sku_exists", "a product with this SKU exists already",
		                 "sku", json_string(p->sku));
		goto out;
	}
	if (strcmp(outcome, "gtin_exists") == 0) {
		reply_error_with(a->r, 409, "gtin_exists", "another product has this GTIN already",
		                 "gtin", json_string(p->gtin));
		goto out;
	}
	if (strcmp(outcome, "forbidden_brand") == 0) {
		reply_error_with(a->r, 403, "forbidden_brand",
		                 "this identity may not add products under this brand", "brand",
		                 json_string(p->brand));
		goto out;
	}
	json_t *o = json_object();
	json_object_set_new(o, "sku", json_string(p->sku));
	json_object_set_new(o, "gtin", p->gtin[0] ? json_string(p->gtin) : json_null());
	json_object_set_new(o, "name", json_string(p->name));
	json_object_set_new(o, "brand", json_string(p->brand));
	json_object_set_new(o, "points", json_integer(p->points));
	json_object_set_new(o, "created", time_or_null(res->res, 0, 1));
	http_reply_json(a->r, 201, o);
out:
	free(a);
}

/* ---- batches ----------------------------------------------------------------------- */

/* columns of admin_batches(): id, sku, product_name, key_id, count, status, created_at,
 * printed_at, status_changed_at, status_reason, factory, line, pin_required, claims,
 * scans, codes_scanned */
static json_t *batch_json(const PGresult *pg, int i)
{
	json_t *b = json_object();
	json_object_set_new(b, "id", int_or_null(pg, i, 0));
	json_object_set_new(
	    b, "product",
	    json_pack("{s:s,s:s}", "sku", PQgetvalue(pg, i, 1), "name", PQgetvalue(pg, i, 2)));
	json_object_set_new(b, "key_id", int_or_null(pg, i, 3));
	json_object_set_new(b, "count", int_or_null(pg, i, 4));
	json_object_set_new(b, "status", json_string(PQgetvalue(pg, i, 5)));
	json_object_set_new(b, "created", time_or_null(pg, i, 6));
	json_object_set_new(b, "printed", time_or_null(pg, i, 7));
	json_object_set_new(b, "status_changed", time_or_null(pg, i, 8));
	json_object_set_new(b, "status_reason", text_or_null(pg, i, 9));
	json_object_set_new(b, "factory", json_string(PQgetvalue(pg, i, 10)));
	json_object_set_new(b, "line", json_string(PQgetvalue(pg, i, 11)));
	json_object_set_new(b, "pin_required", json_boolean(PQgetvalue(pg, i, 12)[0] == 't'));
	json_object_set_new(b, "claims", int_or_null(pg, i, 13));
	json_object_set_new(b, "scans", int_or_null(pg, i, 14));
	json_object_set_new(b, "codes_scanned", int_or_null(pg, i, 15));
	return b;
}

static void batches_done(void *arg, const struct pool_result *res)
{
	struct admin_req *a = arg;
	if (!db_failed(a, res))
		reply_page(a, res->res, "batches", batch_json, "next_before", int_or_null);
	free(a);
}

static void batch_done(void *arg, const struct pool_result *res)
{
	struct admin_req *a = arg;
	char msg[64];
	if (db_failed(a, res))
		goto out;
	if (PQntuples(res->res) != 1) {
		/* none, or another brand's: the same answer */
		snprintf(msg, sizeof msg, "no batch %lld", a->batch);
		http_reply_error(a->r, 404, "unknown_batch", msg);
		goto out;
	}
	http_reply_json(a->r, 200, batch_json(res->res, 0));
out:
	free(a);
}

static void batch_status_done(void *arg, const struct pool_result *res)
{
	struct admin_req *a = arg;
	int recall = a->op == OP_RECALL;
	char msg[160];
	if (db_failed(a, res))
		goto out;
	/* outcome, status, previous, changed_at */
	PGresult *pg = res->res;
	const char *outcome = PQgetvalue(pg, 0, 0);
	log_action(a, recall ? "batch.recall" : "batch.unrecall", outcome);
	if (strcmp(outcome, "unknown_batch") == 0) {
		snprintf(msg, sizeof msg, "no batch %lld", a->batch);
		http_reply_error(a->r, 404, "unknown_batch", msg);
		goto out;
	}
	if (strcmp(outcome, "forbidden") == 0) {
		snprintf(msg, sizeof msg, "batch %lld is of a brand this identity may not change",
		         a->batch);
		http_reply_error(a->r, 403, "forbidden_brand", msg);
		goto out;
	}
	if (strcmp(outcome, "wrong_status") == 0) {
		snprintf(msg, sizeof msg, "only %s batch can be %s; batch %lld is %s",
		         recall ? "an active" : "a recalled", recall ? "recalled" : "unrecalled",
		         a->batch, PQgetvalue(pg, 0, 1));
		reply_error_with(a->r, 409, "wrong_status", msg, "status",
		                 json_string(PQgetvalue(pg, 0, 1)));
		goto out;
	}
	json_t *o = json_object();
	json_object_set_new(o, "batch", json_integer(a->batch));
	json_object_set_new(o, "status", json_string(PQgetvalue(pg, 0, 1)));
	json_object_set_new(o, "previous", json_string(PQgetvalue(pg, 0, 2)));
	json_object_set_new(o, "reason", json_string(a->in.text));
	json_object_set_new(o, "changed", time_or_null(pg, 0, 3));
	http_reply_json(a->r, 200, o);
out:
	free(a);
}

/* ---- members: adjust and spend ------------------------------------------------------ */

/* The shared refusals of adjust and spend; 1 if replied. */
static int member_refused(struct admin_req *a, const PGresult *pg, const char *outcome)
{
	char msg[160];
	if (strcmp(outcome, "unknown_member") == 0) {
		http_reply_error(a->r, 404, "unknown_member", "no such member");
		return 1;
	}
	if (strcmp(outcome, "insufficient") == 0) {
		snprintf(msg, sizeof msg, "the balance is %s points: it cannot go below 0",
		         PQgetvalue(pg, 0, 1));
		reply_error_with(a->r, 409, "insufficient_balance", msg, "balance",
		                 int_or_null(pg, 0, 1));
		return 1;
	}
	return 0;
}

static void points_done(void *arg, const struct pool_result *res)
{
	struct admin_req *a = arg;
	int spend = a->op == OP_SPEND;
	if (db_failed(a, res))
		goto out;
	/* outcome, balance, ledger_id, at */
	PGresult *pg = res->res;
	const char *outcome = PQgetvalue(pg, 0, 0);
	log_action(a, spend ? "member.spend" : "member.adjust", outcome);
	if (member_refused(a, pg, outcome))
		goto out;
	if (strcmp(outcome, "key_reused") == 0) {
		http_reply_error(a->r, 422, "idempotency_key_reused",
		                 "this Idempotency-Key was used for another request");
		goto out;
	}
	json_t *o = json_object();
	json_object_set_new(o, "member", json_string(a->member));
	json_object_set_new(o, "points", json_integer(a->in.points));
	if (spend)
		json_object_set_new(o, "reference",
		                    a->in.has_text ? json_string(a->in.text) : json_null());
	else
		json_object_set_new(o, "reason", json_string(a->in.text));
	json_object_set_new(o, "balance", int_or_null(pg, 0, 1));
	json_object_set_new(o, "entry", int_or_null(pg, 0, 2));
	json_object_set_new(o, "at", time_or_null(pg, 0, 3));
	if (spend)
		json_object_set_new(o, "repeat", json_boolean(strcmp(outcome, "repeat") == 0));
	http_reply_json(a->r, 200, o);
out:
	free(a);
}

/* ---- member data: masked without the pii scope ----------------------------------- */

/* A member id with its middle hidden ("+86*******8000"); short ones wholly. */
static json_t *masked(const char *m)
{
	char out[MEMBER_MAX + 1];
	size_t n = strnlen(m, MEMBER_MAX);
	for (size_t i = 0; i < n; i++)
		out[i] = n >= 8 && (i < 3 || i >= n - 4) ? m[i] : '*';
	out[n] = '\0';
	return json_string(out);
}

/*
 * The member id in field name of object o (a string, or null): masked
 * unless the identity holds the pii scope, and then counted, for the audit
 * row that read will write.
 */
static void member_field(struct admin_req *a, json_t *o, const char *name)
{
	const char *m = json_string_value(json_object_get(o, name));
	if (!m)
		return;
	if (a->who.scopes & SCOPE_PII)
		a->pii_members++;
	else
		json_object_set_new(o, name, masked(m));
}

static void pii_audited(void *arg, const struct pool_result *res)
{
	struct admin_req *a = arg;
	if (!db_failed(a, res)) {
		http_reply_json(a->r, 200, a->reply);
		a->reply = NULL;
	}
	json_decref(a->reply);
	free(a);
}

static void submit(struct admin_req *a, struct pool_query *q, pool_cb cb);

/*
 * Reply o (200), once the read of unmasked member ids in it is audited
 * (member.pii_read: who, which route, how many). Frees a.
 */
static void reply_read(struct admin_req *a, json_t *o)
{
	char n[16];
	if (!a->pii_members) {
		http_reply_json(a->r, 200, o);
		free(a);
		return;
	}
	a->reply = o;
	snprintf(n, sizeof n, "%d", a->pii_members);
	struct pool_query q = {.stmt = "admin_pii_read",
	                       .nparams = 4,
	                       .values = {a->tok, a->client, http_route_id(a->r), n}};
	submit(a, &q, pii_audited);
}

/* ---- audit ------------------------------------------------------------------------------ */

/* columns: id, at, actor, action, target, detail, client */
static json_t *audit_json(const PGresult *pg, int i)
{
	json_t *e = json_object();
	json_object_set_new(e, "id", int_or_null(pg, i, 0));
	json_object_set_new(e, "at", time_or_null(pg, i, 1));
	json_object_set_new(e, "actor", json_string(PQgetvalue(pg, i, 2)));
	json_object_set_new(e, "action", json_string(PQgetvalue(pg, i, 3)));
	json_object_set_new(e, "target", text_or_null(pg, i, 4));
	json_t *detail = PQgetisnull(pg, i, 5) ? NULL : json_loads(PQgetvalue(pg, i, 5), 0, NULL);
	json_object_set_new(e, "detail", detail ? detail : json_null());
	json_object_set_new(e, "client", text_or_null(pg, i, 6));
	return e;
}

static void audit_done(void *arg, const struct pool_result *res)
{
	struct admin_req *a = arg;
	if (db_failed(a, res)) {
		free(a);
		return;
	}
	int rows = PQntuples(res->res), shown = rows > a->limit ? a->limit : rows;
	json_t *list = rows_json(res->res, shown, audit_json), *e;
	size_t i;
	json_array_foreach(list, i, e)
	{
		const char *action = json_string_value(json_object_get(e, "action"));
		if (action && strncmp(action, "member.", 7) == 0)
			member_field(a, e, "target");
	}
	json_t *o = json_object();
	json_object_set_new(o, "entries", list);
	json_object_set_new(o, "next_before",
	                    rows > shown ? int_or_null(res->res, shown - 1, 0) : json_null());
	reply_read(a, o);
}

/* ---- suspicious codes ---------------------------------------------------------------- */

/* columns: serial, code, batch_id, sku, product_name, scans, clients, refused_claims,
 * scans_after_claim, first_scan, last_scan, claimed_at, claimed_by */
static json_t *suspicious_json(const PGresult *pg, int i)
{
	json_t *c = json_object();
	json_object_set_new(c, "code", json_string(PQgetvalue(pg, i, 1)));
	json_object_set_new(c, "batch", int_or_null(pg, i, 2));
	json_object_set_new(
	    c, "product",
	    json_pack("{s:s,s:s}", "sku", PQgetvalue(pg, i, 3), "name", PQgetvalue(pg, i, 4)));
	json_object_set_new(c, "scans", int_or_null(pg, i, 5));
	json_object_set_new(c, "clients", int_or_null(pg, i, 6));
	json_object_set_new(c, "refused_claims", int_or_null(pg, i, 7));
	json_object_set_new(c, "scans_after_claim", int_or_null(pg, i, 8));
	json_object_set_new(c, "first_scan", time_or_null(pg, i, 9));
	json_object_set_new(c, "last_scan", time_or_null(pg, i, 10));
	json_object_set_new(c, "claimed_at", time_or_null(pg, i, 11));
	json_object_set_new(c, "claimed_by", text_or_null(pg, i, 12));
	return c;
}

static void suspicious_done(void *arg, const struct pool_result *res)
{
	struct admin_req *a = arg;
	if (db_failed(a, res))
		goto out;
	json_t *o = json_object(),
	       *codes = rows_json(res->res, PQntuples(res->res), suspicious_json), *c;
	size_t i;
	json_array_foreach(codes, i, c) member_field(a, c, "claimed_by");
	json_object_set_new(o, "days", json_integer(a->days));
	json_object_set_new(o, "min_clients", json_integer(a->min_clients));
	json_object_set_new(o, "codes", codes);
	reply_read(a, o);
	return;
out:
	free(a);
}

/* ---- stats ------------------------------------------------------------------------------ */

static void stats_done(void *arg, const struct pool_result *res)
{
	struct admin_req *a = arg;
	if (db_failed(a, res))
		goto out;
	/* one row, one column: the jsonb admin_stats() built */
	json_t *o =
	    PQntuples(res->res) == 1 ? json_loads(PQgetvalue(res->res, 0, 0), 0, NULL) : NULL;
	if (!o) {
		http_reply_error(a->r, 500, "internal", "the stats could not be read");
		goto out;
	}
	http_reply_json(a->r, 200, o);
out:
	free(a);
}

/* ---- dispatch ------------------------------------------------------------------------------ */

/* The header's only value: NULL if absent; *dup set if it came more than once. */
static const char *only_header(struct request *r, const char *name, int *dup)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(r->req);
	const char *value = NULL;
	struct evkeyval *kv;
	TAILQ_FOREACH(kv, h, next)
	{
		if (strcasecmp(kv->key, name) != 0)
			continue;
		if (value)
			*dup = 1;
		value = kv->value;
	}
	return value;
}

static void submit(struct admin_req *a, struct pool_query *q, pool_cb cb)
{
	if (pool_submit(a->r->w->pool, q, cb, a) < 0) {
		http_reply_error(a->r, 503, "unavailable", "database unavailable, try again");
		free(a);
	}
}

static void list_products(struct admin_req *a, const char *query)
{
	long long limit = PRODUCTS_PAGE;
	char after[PRODUCT_SKU_MAX + 1], lim[24];
	int has_after = http_form_field(query, strlen(query), "after", after, sizeof after);
	if (http_query_int(query, "limit", PRODUCTS_PAGE_MAX, &limit) < 0 || has_after < 0 ||
	    (has_after && product_sku_check(after) < 0)) {
		http_reply_error(a->r, 400, "bad_request", "limit is 1 to 1000; after is a SKU");
		free(a);
		return;
	}
	a->limit = (int)limit;
	snprintf(lim, sizeof lim, "%lld", limit + 1);
	struct pool_query q = {.stmt = "admin_products",
	                       .nparams = 3,
	                       .values = {has_after ? after : NULL, lim, a->brands_param}};
	submit(a, &q, products_done);
}

static void add_product(struct admin_req *a)
{
	size_t len;
	char err[256], pts[16];
	struct admin_product_in *p = &a->product;
	const char *body = http_body(a->r, "application/json", &len);
	if (!body)
		goto fail;
	enum admin_decode why = admin_decode_product(body, len, p, err, sizeof err);
	if (why != ADMIN_DECODE_OK) {
		reply_bad(a->r, why, err);
		goto fail;
	}
	snprintf(pts, sizeof pts, "%d", p->points);
	struct pool_query q = {.stmt = "admin_product_add",
	                       .nparams = 7,
	                       .values = {a->tok, a->client, p->sku, p->gtin[0] ? p->gtin : NULL,
	                                  p->name, p->brand, pts}};
	submit(a, &q, product_added);
	return;
fail:
	free(a);
}

static void list_batches(struct admin_req *a, const char *query)
{
	long long limit = BATCHES_PAGE, before = 0;
	char product[PRODUCT_SKU_MAX + 1], lim[24], bef[24];
	int has_product = http_form_field(query, strlen(query), "product", product, sizeof product);
	if (http_query_int(query, "limit", BATCHES_PAGE_MAX, &limit) < 0 ||
	    http_query_int(query, "before", ID_MAX, &before) < 0 || has_product < 0 ||
	    (has_product && product_sku_check(product) < 0)) {
		http_reply_error(a->r, 400, "bad_request",
		                 "limit is 1 to 100; before is a batch id; product is a SKU");
		free(a);
		return;
	}
	a->limit = (int)limit;
	snprintf(lim, sizeof lim, "%lld", limit + 1);
	snprintf(bef, sizeof bef, "%lld", before);
	struct pool_query q = {
	    .stmt = "admin_batches",
	    .nparams = 4,
	    .values = {before ? bef : NULL, has_product ? product : NULL, lim, a->brands_param}};
	submit(a, &q, batches_done);
}

/* The batch id captured as {id}: 0, or -1 with r answered 404 (not a batch id). */
static int batch_id(struct admin_req *a, char id[24])
{
	const struct route_capture *c = &a->r->cap[0];
	if (c->len >= 24 || strspn(c->s, "0123456789") < c->len) {
		http_reply_error(a->r, 404, "unknown_batch", "a batch id is a number");
		return -1;
	}
	memcpy(id, c->s, c->len);
	id[c->len] = '\0';
	a->batch = strtoll(id, NULL, 10);
	if (a->batch < 1 || a->batch > ID_MAX) {
		http_reply_error(a->r, 404, "unknown_batch", "no such batch");
		return -1;
	}
	snprintf(id, 24, "%lld", a->batch);
	return 0;
}

static void show_batch(struct admin_req *a)
{
	char id[24];
	if (batch_id(a, id) < 0) {
		free(a);
		return;
	}
	struct pool_query q = {
	    .stmt = "admin_batch", .nparams = 2, .values = {id, a->brands_param}};
	submit(a, &q, batch_done);
}

static void set_batch_status(struct admin_req *a)
{
	size_t len;
	char err[256], id[24];
	if (batch_id(a, id) < 0)
		goto fail;
	const char *body = http_body(a->r, "application/json", &len);
	if (!body)
		goto fail;
	enum admin_decode why = admin_decode_reason(body, len, a->in.text, err, sizeof err);
	if (why != ADMIN_DECODE_OK) {
		reply_bad(a->r, why, err);
		goto fail;
	}
	struct pool_query q = {.stmt = "admin_batch_status",
	                       .nparams = 5,
	                       .values = {a->tok, a->client, id,
	                                  a->op == OP_RECALL ? "recall" : "unrecall", a->in.text}};
	submit(a, &q, batch_status_done);
	return;
fail:
	free(a);
}

/* The member's key is known: the change, in one call. */
static void points_member(void *arg, struct request *r, const struct auth_result *res)
{
	struct admin_req *a = arg;
	char pts[24];
	if (res->outcome != AUTH_OK) {
		if (res->outcome == AUTH_BAD_INPUT)
			http_reply_error(r, 400, "bad_member", res->message);
		else
			http_reply_error(r, 503, "unavailable", "database unavailable, try again");
		free(a);
		return;
	}
	snprintf(a->member, sizeof a->member, "%s", res->member);
	snprintf(pts, sizeof pts, "%lld", a->in.points);
	const char *text = a->in.has_text ? a->in.text : NULL;
	struct pool_query q = {.stmt = "admin_adjust",
	                       .nparams = 5,
	                       .values = {a->tok, a->client, a->member, pts, text}};
	if (a->op == OP_SPEND)
		q = (struct pool_query){
		    .stmt = "admin_spend",
		    .nparams = 6,
		    .values = {a->tok, a->client, a->member, a->key, pts, text}};
	submit(a, &q, points_done);
}

static void change_points(struct admin_req *a)
{
	size_t len;
	char err[256], seg[3 * MEMBER_MAX + 1];
	const char *key = NULL;
	enum phone_result bad = PHONE_OK;
	long n = http_percent_decode(a->r->cap[0].s, a->r->cap[0].len, seg, sizeof seg);
	if (n < 0 || member_id_normalize(seg, (size_t)n, a->r->w->srv->cfg.default_country,
	                                 a->member, &bad) < 0) {
		http_reply_error(a->r, 400, "bad_member", member_id_message(bad));
		goto fail;
	}
	if (a->op == OP_SPEND) {
		int dup = 0;
		key = only_header(a->r, "Idempotency-Key", &dup);
		if (!key || dup || admin_idempotency_key_check(key) < 0) {
			http_reply_error(
			    a->r, 400, "bad_idempotency_key",
			    "a spend needs one Idempotency-Key header: 1 to 64 printable "
			    "ASCII characters");
			goto fail;
		}
	}
	const char *body = http_body(a->r, "application/json", &len);
	if (!body)
		goto fail;
	enum admin_decode why = a->op == OP_SPEND
	                            ? admin_decode_spend(body, len, &a->in, err, sizeof err)
	                            : admin_decode_adjust(body, len, &a->in, err, sizeof err);
	if (why != ADMIN_DECODE_OK) {
		reply_bad(a->r, why, err);
		goto fail;
	}
	if (key)
		snprintf(a->key, sizeof a->key, "%s", key);
	/* the member of the identity the path names (sql/011_members.sql): a credit may open
	 * the account, a spend needs one */
	if (a->op == OP_ADJUST && a->in.points > 0)
		auth_resolve(a->r, seg, (size_t)n, points_member, a);
	else
		auth_find(a->r, seg, (size_t)n, points_member, a);
	return;
fail:
	free(a);
}

static void list_audit(struct admin_req *a, const char *query)
{
	long long limit = AUDIT_PAGE, before = 0;
	char lim[24], bef[24];
	if (http_query_int(query, "limit", AUDIT_PAGE_MAX, &limit) < 0 ||
	    http_query_int(query, "before", ID_MAX, &before) < 0) {
		http_reply_error(a->r, 400, "bad_request",
		                 "limit is 1 to 100; before is an entry id");
		free(a);
		return;
	}
	a->limit = (int)limit;
	snprintf(lim, sizeof lim, "%lld", limit + 1);
	snprintf(bef, sizeof bef, "%lld", before);
	/* an identity limited to brands sees its own actions only */
	char actor[TOKEN_NAME_MAX + 8];
	snprintf(actor, sizeof actor, "%s%s", a->who.kind == TOKENS_SESSION ? "staff:" : "",
	         a->who.name);
	struct pool_query q = {
	    .stmt = "admin_audit",
	    .nparams = 3,
	    .values = {before ? bef : NULL, lim, a->who.nbrands < 0 ? NULL : actor}};
	submit(a, &q, audit_done);
}

static void list_suspicious(struct admin_req *a, const char *query)
{
	long long limit = SUSPICIOUS_PAGE, days = SUSPICIOUS_DAYS, clients = SUSPICIOUS_CLIENTS,
	          batch = 0;
	char lim[24], d[24], cl[24], b[24];
	if (http_query_int(query, "limit", SUSPICIOUS_MAX, &limit) < 0 ||
	    http_query_int(query, "days", 366, &days) < 0 ||
	    http_query_int(query, "min_clients", 1000, &clients) < 0 ||
	    http_query_int(query, "batch", ID_MAX, &batch) < 0) {
		http_reply_error(a->r, 400, "bad_request",
		                 "limit is 1 to 500; days 1 to 366; min_clients 1 to 1000; "
		                 "batch is a batch id");
		free(a);
		return;
	}
	a->days = (int)days;
	a->min_clients = (int)clients;
	snprintf(lim, sizeof lim, "%lld", limit);
	snprintf(d, sizeof d, "%lld", days);
	snprintf(cl, sizeof cl, "%lld", clients);
	snprintf(b, sizeof b, "%lld", batch);
	struct pool_query q = {.stmt = "admin_suspicious",
	                       .nparams = 5,
	                       .values = {d, cl, batch ? b : NULL, lim, a->brands_param}};
	submit(a, &q, suspicious_done);
}

static void show_stats(struct admin_req *a, const char *query)
{
	long long days = STATS_DAYS;
	char d[24];
	if (http_query_int(query, "days", 366, &days) < 0) {
		http_reply_error(a->r, 400, "bad_request", "days is 1 to 366");
		free(a);
		return;
	}
	snprintf(d, sizeof d, "%lld", days);
	struct pool_query q = {.stmt = "admin_stats", .nparams = 2, .values = {d, a->brands_param}};
	submit(a, &q, stats_done);
}

/* A request of an authenticated token (the edge checked it), or NULL when answered. */
static struct admin_req *admin_start(struct request *r, enum admin_op op)
{
	struct admin_req *a = calloc(1, sizeof *a);
	if (!a) {
		http_reply_error(r, 503, "unavailable", "out of memory");
		return NULL;
	}
	a->r = r;
	a->op = op;
	a->who = r->admin;
	snprintf(a->tok, sizeof a->tok, "%lld", a->who.id);
	a->client = http_client_inet(r);
	if (a->who.nbrands >= 0) {
		size_t n = 0;
		for (int i = 0; i < a->who.nbrands; i++)
			n += (size_t)snprintf(a->brands + n, sizeof a->brands - n, "%s%lld",
			                      i ? "," : "{", a->who.brands[i]);
		snprintf(a->brands + n, sizeof a->brands - n, "}");
		a->brands_param = a->brands;
	}
	return a;
}

/* The route table's handlers, one per endpoint (docs/api.md, "Admin API"). */
#define ADMIN_ROUTE(name, op, call)                                                                \
	void name(struct request *r)                                                               \
	{                                                                                          \
		struct admin_req *a = admin_start(r, op);                                          \
		if (a)                                                                             \
			call;                                                                      \
	}

ADMIN_ROUTE(admin_route_products, OP_PRODUCTS, list_products(a, r->query))
ADMIN_ROUTE(admin_route_product_add, OP_PRODUCT_ADD, add_product(a))
ADMIN_ROUTE(admin_route_batches, OP_BATCHES, list_batches(a, r->query))
ADMIN_ROUTE(admin_route_batch, OP_BATCH, show_batch(a))
ADMIN_ROUTE(admin_route_recall, OP_RECALL, set_batch_status(a))
ADMIN_ROUTE(admin_route_unrecall, OP_UNRECALL, set_batch_status(a))
ADMIN_ROUTE(admin_route_adjust, OP_ADJUST, change_points(a))
ADMIN_ROUTE(admin_route_spend, OP_SPEND, change_points(a))
ADMIN_ROUTE(admin_route_audit, OP_AUDIT, list_audit(a, r->query))
ADMIN_ROUTE(admin_route_suspicious, OP_SUSPICIOUS, list_suspicious(a, r->query))
ADMIN_ROUTE(admin_route_stats, OP_STATS, show_stats(a, r->query))

void admin_route_not_found(struct request *r)
{
	http_reply_error(r, 404, "not_found", "no such resource");
}
