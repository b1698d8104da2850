/*
 * mall.c (handlers): the points mall (mall.h). Like campaigns.c: a body is
 * checked in full first (mall_input.c), then each request is one prepared
 * statement of a sql/027_mall.sql function that writes its change, audit
 * row and event in one transaction. The address never reaches the database
 * in clear: it is sealed here (pii_seal_text, "address"), with an HMAC of
 * the whole request for the idempotency check; it is opened here for the
 * member and for staff with pii (audited as order.pii_read), else staff
 * see the masked copy made when the order was placed.
 */
#include "handlers/mall.h"

#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include "engine/tokens.h"
#include "hex.h"
#include "log.h"
#include "pii.h"
#include "scope.h"
#include "server.h"

#define ID_MAX       (1LL << 62)
#define PAGE_DEFAULT 20
#define PAGE_MAX     100
#define SEALED_HEX   (2 + 2 * PII_TEXT_SEALED_MAX + 1)

enum mall_view {
	VIEW_MEMBER, /* the member's own orders: the address opened */
	VIEW_STAFF,  /* staff without pii: the masked copy */
	VIEW_PII,    /* staff with pii: opened, audited */
};

struct mall_req {
	struct request *r;
	enum mall_view view;
	struct tokens_identity who;
	char tok[24];
	char brands[TOKENS_BRANDS_MAX * 21 + 3];
	const char *brands_param; /* NULL: every brand */
	long long id;
	char idbuf[24], lim[24], bef[24], status[16], brand[256];
	int limit;
	const char *action; /* ship, refund */
	char key[72];
	char reward[24];
	char hash[2 + 2 * PII_HASH_LEN + 1];
	char *sealed; /* "\\x...", the sealed address */
	struct mall_order_in in;
	json_t *o;    /* a reply waiting for the pii audit */
	char *opened; /* the ids of orders shown unmasked: "{1,2}" */
};

static void req_free(struct mall_req *a)
{
	if (!a)
		return;
	mall_order_in_free(&a->in);
	free(a->sealed);
	free(a->opened);
	json_decref(a->o);
	free(a);
}

/* 0 if the query succeeded; else the reply is sent (401, 503 or 500), a freed, -1. */
static int db_failed(struct mall_req *a, const struct pool_result *res)
{
	if (res->status == POOL_OK)
		return 0;
	if (res->status == POOL_UNAVAILABLE) {
		http_reply_error(a->r, 503, "unavailable", "database unavailable, try again");
	} else if (strcmp(res->sqlstate, "28000") == 0) {
		http_reply_unauthorized(a->r, TOKENS_INVALID);
	} else if (strcmp(res->sqlstate, "40001") == 0 || strcmp(res->sqlstate, "40P01") == 0) {
		http_header(a->r, "Retry-After", "1");
		http_reply_error(a->r, 503, "unavailable", "busy, try again; nothing was changed");
	} else {
		log_error("event=mall_query_failed route=%s sqlstate=%s message=%s",
		          http_route_id(a->r), res->sqlstate, LOG_Q(res->message));
		http_reply_error(a->r, 500, "internal", "the request failed; nothing was changed");
	}
	req_free(a);
	return -1;
}

static void submit(struct mall_req *a, const struct pool_query *q, pool_cb cb)
{
	if (pool_submit(a->r->w->pool, q, cb, a) < 0) {
		http_reply_error(a->r, 503, "unavailable", "database unavailable, try again");
		req_free(a);
	}
}

static struct mall_req *start(struct request *r, enum mall_view view)
{
	struct mall_req *a = calloc(1, sizeof *a);
	if (!a) {
		http_reply_error(r, 503, "unavailable", "out of memory");
		return NULL;
	}
	a->r = r;
	a->view = view;
	if (view == VIEW_MEMBER)
		return a;
	a->who = r->admin;
	if (a->who.scopes & SCOPE_PII)
		a->view = VIEW_PII;
	snprintf(a->tok, sizeof a->tok, "%lld", a->who.id);
	a->brands_param = tokens_brands_param(&r->admin, a->brands, sizeof a->brands);
	return a;
}

/* Capture 0 as an id into a->id and a->idbuf: 0, or -1 with r answered 404 (a freed). */
static int capture_id(struct mall_req *a, const char *error)
{
	const struct route_capture *c = &a->r->cap[0];
	char id[24];
	if (c->len < 1 || c->len >= 20 || strspn(c->s, "0123456789") < c->len)
		goto bad;
	memcpy(id, c->s, c->len);
	id[c->len] = '\0';
	a->id = strtoll(id, NULL, 10);
	if (a->id < 1 || a->id > ID_MAX)
		goto bad;
	snprintf(a->idbuf, sizeof a->idbuf, "%lld", a->id);
	return 0;
bad:
	http_reply_error(a->r, 404, error, "no such id");
	req_free(a);
	return -1;
}

/* "\\x..." (bytea as text) into out: its length, or -1 (lib/hex.h's digits). */
static long unhex(const char *s, unsigned char *out, size_t outlen)
{
	if (strncmp(s, "\\x", 2) != 0)
		return -1;
	s += 2;
	size_t len = strlen(s), n = len / 2;
	if (len % 2 || n > outlen)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int hi = hex_digit((unsigned char)s[2 * i]),
		    lo = hex_digit((unsigned char)s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return (long)n;
}

static void hex_into(const unsigned char *b, size_t n, char *out)
{
	out[0] = '\\';
	out[1] = 'x';
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 + 2 * i, 3, "%02x", b[i]);
}

/*
 * An order's JSON (column ord of row i) with its address as the view says:
 * opened from column sealed for the member and pii (1 returned when it was
 * opened), else the masked copy it holds. NULL if ord is NULL.
 */
static json_t *order_json(const struct mall_req *a, const PGresult *pg, int i, int ord, int sealed,
                          int *opened)
{
	if (PQgetisnull(pg, i, ord))
		return NULL;
	json_t *o = json_loads(PQgetvalue(pg, i, ord), 0, NULL);
	if (!o || a->view == VIEW_STAFF || PQgetisnull(pg, i, sealed))
		return o;
	unsigned char *buf = malloc(PII_TEXT_SEALED_MAX);
	char *text = malloc(PII_TEXT_MAX + 1);
	long n = buf ? unhex(PQgetvalue(pg, i, sealed), buf, PII_TEXT_SEALED_MAX) : -1;
	json_t *addr = NULL;
	if (n > 0 && text &&
	    pii_open_text(&a->r->w->srv->pii, "address", buf, (size_t)n, text, PII_TEXT_MAX + 1) >=
	        0)
		addr = json_loads(text, 0, NULL);
	json_object_set_new(o, "address", addr ? addr : json_null()); /* null: another key */
	if (addr && opened)
		*opened = 1;
	if (text)
		OPENSSL_cleanse(text, PII_TEXT_MAX + 1);
	free(text);
	free(buf);
	return o;
}

/* ---- the public catalogue ---------------------------------------------------------- */

static void public_listed(void *arg, const struct pool_result *res)
{
	struct mall_req *a = arg;
	if (db_failed(a, res))
		return;
	json_t *list = json_loads(PQgetvalue(res->res, 0, 0), 0, NULL);
	http_reply_json(a->r, 200, json_pack("{s:o}", "rewards", list ? list : json_array()));
	req_free(a);
}

void mall_route_public(struct request *r)
{
	struct mall_req *a = start(r, VIEW_MEMBER);
	if (!a)
		return;
	int f = http_form_field(r->query, strlen(r->query), "brand", a->brand, sizeof a->brand);
	if (f < 0 || (f > 0 && !http_utf8_valid(a->brand, strlen(a->brand)))) {
		http_reply_error(r, 400, "bad_request", "brand is a brand's name");
		req_free(a);
		return;
	}
	struct pool_query q = {
	    .stmt = "mall_public", .nparams = 1, .values = {f > 0 ? a->brand : NULL}};
	submit(a, &q, public_listed);
}

/* ---- the member's orders ------------------------------------------------------------- */

/* columns: ord, sealed */
static void my_orders_listed(void *arg, const struct pool_result *res)
{
	struct mall_req *a = arg;
	if (db_failed(a, res))
		return;
	const PGresult *pg = res->res;
	json_t *list = json_array();
	int rows = PQntuples(pg);
	long long last = 0;
	for (int i = 0; i < rows && i < a->limit; i++) {
		json_t *o = order_json(a, pg, i, 0, 1, NULL);
		if (!o)
			continue;
		last = json_integer_value(json_object_get(o, "id"));
		json_array_append_new(list, o);
	}
	json_t *reply = json_pack("{s:s,s:O,s:o,s:o}", "member", a->r->member, "balance",
	                          json_object_get(a->o, "balance"), "orders", list, "next_before",
	                          rows > a->limit && last ? json_integer(last) : json_null());
	http_reply_json(a->r, 200, reply);
	req_free(a);
}

static void my_balance(void *arg, const struct pool_result *res)
{
	struct mall_req *a = arg;
	if (db_failed(a, res))
		return;
	a->o = json_pack(
	    "{s:I}", "balance",
	    (json_int_t)(PQntuples(res->res) ? strtoll(PQgetvalue(res->res, 0, 0), NULL, 10) : 0));
	struct pool_query q = {.stmt = "mall_orders_of",
	                       .nparams = 3,
	                       .values = {a->r->member, a->bef[0] ? a->bef : NULL, a->lim}};
	submit(a, &q, my_orders_listed);
}

/* ?limit=N&before=ID: 0, or -1 with r answered 400 (a freed). */
static int page_args(struct mall_req *a)
{
	long long limit = PAGE_DEFAULT, before = 0;
	if (http_query_int(a->r->query, "limit", PAGE_MAX, &limit) < 0 ||
	    http_query_int(a->r->query, "before", ID_MAX, &before) < 0) {
		http_reply_error(a->r, 400, "bad_request",
		                 "limit is 1 to 100; before is an order id");
		req_free(a);
		return -1;
	}
	a->limit = (int)limit;
	snprintf(a->lim, sizeof a->lim, "%d", a->limit + 1);
	if (before)
		snprintf(a->bef, sizeof a->bef, "%lld", before);
	return 0;
}

void mall_route_my_orders(struct request *r)
{
	struct mall_req *a = start(r, VIEW_MEMBER);
	if (!a || page_args(a) < 0)
		return;
	struct pool_query q = {.stmt = "mall_balance", .nparams = 1, .values = {r->member}};
	submit(a, &q, my_balance);
}

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

/* columns: outcome, balance, ord, sealed (mall_order and mall_order_cancel) */
static void ordered(void *arg, const struct pool_result *res)
{
	struct mall_req *a = arg;
	struct request *r = a->r;
	if (db_failed(a, res))
		return;
	const PGresult *pg = res->res;
	const char *outcome = PQgetvalue(pg, 0, 0);
	json_int_t balance = PQgetisnull(pg, 0, 1) ? 0 : strtoll(PQgetvalue(pg, 0, 1), NULL, 10);
	log_info("event=mall_order member=%s action=%s outcome=%s client=%s", LOG_Q(r->member),
	         a->id ? "cancel" : "order", outcome, LOG_Q(r->client));
	json_t *o = order_json(a, pg, 0, 2, 3, NULL);
	if (strcmp(outcome, "created") == 0 || strcmp(outcome, "repeat") == 0 ||
	    strcmp(outcome, "cancelled") == 0) {
		http_reply_json(r, strcmp(outcome, "created") == 0 ? 201 : 200,
		                json_pack("{s:o,s:I,s:b}", "order", o ? o : json_null(), "balance",
		                          balance, "repeat", strcmp(outcome, "repeat") == 0));
		o = NULL;
	} else if (strcmp(outcome, "key_reused") == 0) {
		http_reply_error(r, 409, "idempotency_key_reused",
		                 "this Idempotency-Key was used for another order");
	} else if (strcmp(outcome, "unknown_reward") == 0) {
		http_reply_error(r, 404, "unknown_reward", "no such reward on sale");
	} else if (strcmp(outcome, "out_of_stock") == 0) {
		http_reply_error(r, 409, "out_of_stock", "the reward is out of stock");
	} else if (strcmp(outcome, "insufficient_points") == 0) {
		http_reply_error(r, 409, "insufficient_points",
		                 "the member's balance is below the reward's price");
	} else if (strcmp(outcome, "unknown_order") == 0) {
		http_reply_error(r, 404, "unknown_order", "no such order");
	} else if (strcmp(outcome, "shipped") == 0) {
		http_reply_error(r, 409, "shipped",
		                 "the order has shipped: it cannot be cancelled");
	} else {
		http_reply_error(r, 409, "closed", "the order was cancelled or refunded already");
	}
	json_decref(o);
	req_free(a);
}

void mall_route_order(struct request *r)
{
	size_t len;
	int dup = 0;
	char err[256];
	unsigned char mac[PII_HASH_LEN];
	struct mall_req *a = start(r, VIEW_MEMBER);
	if (!a)
		return;
	const char *key = only_header(r, "Idempotency-Key", &dup);
	if (!key || dup || admin_idempotency_key_check(key) < 0) {
		http_reply_error(
		    r, 400, "bad_idempotency_key",
		    "an order needs one Idempotency-Key header: 1 to 64 printable ASCII "
		    "characters");
		goto fail;
	}
	snprintf(a->key, sizeof a->key, "%s", key);
	const char *body = http_body(r, "application/json", &len);
	if (!body)
		goto fail;
	enum admin_decode why = mall_order_decode(body, len, &a->in, err, sizeof err);
	if (why != ADMIN_DECODE_OK) {
		http_reply_error(r, 400, why == ADMIN_DECODE_BAD_JSON ? "bad_json" : "bad_request",
		                 err);
		goto fail;
	}
	snprintf(a->reward, sizeof a->reward, "%lld", a->in.reward);
	/* the request's fingerprint: the reward and the address, as decoded */
	size_t flen = strlen(a->reward) + 1 + strlen(a->in.address);
	char *fp = malloc(flen + 1);
	unsigned char *sealed = malloc(PII_TEXT_SEALED_MAX);
	a->sealed = malloc(SEALED_HEX);
	long n = -1;
	if (fp && sealed && a->sealed) {
		snprintf(fp, flen + 1, "%s:%s", a->reward, a->in.address);
		if (pii_mac(&r->w->srv->pii, "order", fp, flen, mac) == 0)
			n = pii_seal_text(&r->w->srv->pii, "address", a->in.address,
			                  strlen(a->in.address), sealed, PII_TEXT_SEALED_MAX);
	}
	if (n > 0) {
		hex_into(mac, sizeof mac, a->hash);
		hex_into(sealed, (size_t)n, a->sealed);
	}
	if (fp)
		OPENSSL_cleanse(fp, flen);
	free(fp);
	free(sealed);
	if (n <= 0) {
		http_reply_error(r, 503, "unavailable", "could not seal the address, try again");
		goto fail;
	}
	struct pool_query q = {.stmt = "mall_order",
	                       .nparams = 7,
	                       .values = {r->member, a->key, a->reward, a->hash, a->sealed,
	                                  a->in.masked, http_client_inet(r)}};
	submit(a, &q, ordered);
	return;
fail:
	req_free(a);
}

void mall_route_cancel(struct request *r)
{
	struct mall_req *a = start(r, VIEW_MEMBER);
	if (!a || capture_id(a, "unknown_order") < 0)
		return;
	struct pool_query q = {.stmt = "mall_order_cancel",
	                       .nparams = 3,
	                       .values = {r->member, a->idbuf, http_client_inet(r)}};
	submit(a, &q, ordered);
}

/* ---- the admin API: rewards ------------------------------------------------------------ */

static void rewards_listed(void *arg, const struct pool_result *res)
{
	struct mall_req *a = arg;
	if (db_failed(a, res))
		return;
	json_t *list = json_loads(PQgetvalue(res->res, 0, 0), 0, NULL);
	http_reply_json(a->r, 200, json_pack("{s:o}", "rewards", list ? list : json_array()));
	req_free(a);
}

void mall_route_rewards(struct request *r)
{
	struct mall_req *a = start(r, VIEW_STAFF);
	if (!a)
		return;
	struct pool_query q = {
	    .stmt = "admin_mall_rewards", .nparams = 1, .values = {a->brands_param}};
	submit(a, &q, rewards_listed);
}

/* columns: outcome, reward */
static void reward_changed(void *arg, const struct pool_result *res)
{
	struct mall_req *a = arg;
	if (db_failed(a, res))
		return;
	const PGresult *pg = res->res;
	const char *outcome = PQgetvalue(pg, 0, 0);
	log_info("event=admin_action actor=%s action=mall.reward_%s outcome=%s", LOG_Q(a->who.name),
	         a->id ? "update" : "create", outcome);
	json_t *o = PQgetisnull(pg, 0, 1) ? NULL : json_loads(PQgetvalue(pg, 0, 1), 0, NULL);
	if (o)
		http_reply_json(a->r, a->id ? 200 : 201, o);
	else if (strcmp(outcome, "unknown_reward") == 0)
		http_reply_error(a->r, 404, "unknown_reward", "no such reward");
	else if (strcmp(outcome, "unknown_brand") == 0)
		http_reply_error(a->r, 400, "unknown_brand", "no such brand");
	else if (strcmp(outcome, "forbidden_brand") == 0)
		http_reply_error(a->r, 403, "forbidden_brand",
		                 "an identity limited to brands makes rewards of its brands");
	else
		http_reply_error(a->r, 400, "bad_request", "a value is out of range");
	req_free(a);
}

static void reward_change(struct request *r, int create)
{
	size_t len;
	char err[256], *canon = NULL;
	struct mall_req *a = start(r, VIEW_STAFF);
	if (!a || (!create && capture_id(a, "unknown_reward") < 0))
		return;
	const char *body = http_body(r, "application/json", &len);
	if (!body) {
		req_free(a);
		return;
	}
	enum admin_decode why = mall_reward_decode(body, len, create, &canon, err, sizeof err);
	if (why != ADMIN_DECODE_OK) {
		http_reply_error(r, 400, why == ADMIN_DECODE_BAD_JSON ? "bad_json" : "bad_request",
		                 err);
		req_free(a);
		return;
	}
	a->sealed = canon; /* kept until the reply: freed with a */
	struct pool_query q = {
	    .stmt = create ? "admin_mall_reward_create" : "admin_mall_reward_update",
	    .nparams = create ? 3 : 4,
	    .values = {a->tok, http_client_inet(r), create ? canon : a->idbuf, canon}};
	submit(a, &q, reward_changed);
}

void mall_route_reward_create(struct request *r)
{
	reward_change(r, 1);
}

void mall_route_reward_update(struct request *r)
{
	reward_change(r, 0);
}

/* ---- the admin API: orders ------------------------------------------------------------ */

static void pii_audited(void *arg, const struct pool_result *res)
{
	struct mall_req *a = arg;
	if (db_failed(a, res))
		return;
	http_reply_json(a->r, 200, a->o);
	a->o = NULL;
	req_free(a);
}

/* Reply a->o, after the pii audit of the orders in a->opened if there are any. */
static void reply_audited(struct mall_req *a)
{
	if (a->opened && strcmp(a->opened, "{}") != 0) {
		struct pool_query q = {.stmt = "admin_mall_pii_read",
		                       .nparams = 3,
		                       .values = {a->tok, http_client_inet(a->r), a->opened}};
		submit(a, &q, pii_audited);
		return;
	}
	http_reply_json(a->r, 200, a->o);
	a->o = NULL;
	req_free(a);
}

/* Append id to the "{...}" list of opened orders. */
static void note_opened(struct mall_req *a, json_int_t id)
{
	size_t n = a->opened ? strlen(a->opened) : 0;
	char *s = realloc(a->opened, n + 24);
	if (!s)
		return;
	if (n == 0)
		snprintf(s, 24, "{%lld}", (long long)id);
	else
		snprintf(s + n - 1, 25, ",%lld}", (long long)id);
	a->opened = s;
}

/* columns: ord, sealed */
static void orders_listed(void *arg, const struct pool_result *res)
{
	struct mall_req *a = arg;
	if (db_failed(a, res))
		return;
	const PGresult *pg = res->res;
	json_t *list = json_array();
	int rows = PQntuples(pg);
	long long last = 0;
	for (int i = 0; i < rows && i < a->limit; i++) {
		int opened = 0;
		json_t *o = order_json(a, pg, i, 0, 1, &opened);
		if (!o)
			continue;
		last = json_integer_value(json_object_get(o, "id"));
		if (opened)
			note_opened(a, last);
		json_array_append_new(list, o);
	}
	a->o = json_pack("{s:o,s:o}", "orders", list, "next_before",
	                 rows > a->limit && last ? json_integer(last) : json_null());
	reply_audited(a);
}

void mall_route_admin_orders(struct request *r)
{
	struct mall_req *a = start(r, VIEW_STAFF);
	if (!a || page_args(a) < 0)
		return;
	int f = http_form_field(r->query, strlen(r->query), "status", a->status, sizeof a->status);
	if (f < 0 || (f > 0 && mall_status_check(a->status) < 0)) {
		http_reply_error(r, 400, "bad_request",
		                 "status is placed, shipped, cancelled or refunded");
		req_free(a);
		return;
	}
	struct pool_query q = {.stmt = "admin_mall_orders",
	                       .nparams = 4,
	                       .values = {a->brands_param, f > 0 ? a->status : NULL,
	                                  a->bef[0] ? a->bef : NULL, a->lim}};
	submit(a, &q, orders_listed);
}

/* columns: outcome, ord, sealed */
static void order_acted(void *arg, const struct pool_result *res)
{
	struct mall_req *a = arg;
	struct request *r = a->r;
	if (db_failed(a, res))
		return;
	const PGresult *pg = res->res;
	const char *outcome = PQgetvalue(pg, 0, 0);
	log_info("event=admin_action actor=%s action=order.%s outcome=%s id=%lld",
	         LOG_Q(a->who.name), a->action, outcome, a->id);
	if (strcmp(outcome, "unknown_order") == 0) {
		http_reply_error(r, 404, "unknown_order", "no such order");
	} else if (strcmp(outcome, "closed") == 0) {
		http_reply_error(r, 409, "closed", "the order was cancelled or refunded already");
	} else if (strcmp(outcome, "shipped_already") == 0) {
		http_reply_error(r, 409, "shipped", "the order has shipped already");
	} else {
		int opened = 0;
		a->o = order_json(a, pg, 0, 1, 2, &opened);
		if (!a->o)
			a->o = json_object();
		if (opened)
			note_opened(a, a->id);
		reply_audited(a);
		return;
	}
	req_free(a);
}

static void order_act(struct request *r, const char *action)
{
	struct mall_req *a = start(r, VIEW_STAFF);
	if (!a || capture_id(a, "unknown_order") < 0)
		return;
	a->action = action;
	struct pool_query q = {.stmt = "admin_mall_order_act",
	                       .nparams = 4,
	                       .values = {a->tok, http_client_inet(r), a->idbuf, action}};
	submit(a, &q, order_acted);
}

void mall_route_order_ship(struct request *r)
{
	order_act(r, "ship");
}

void mall_route_order_refund(struct request *r)
{
	order_act(r, "refund");
}
