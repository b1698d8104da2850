/*
 * resolver_admin.c: the admin API of the resolver's links: a product's
 * links listed (scope read), set or replaced one type at a time, removed
 * (scope catalog). Each change is one call of admin_product_link_set
 * (sql/014_resolver.sql), audited in its transaction; the servers' caches
 * follow by NOTIFY. A product of another brand is answered as unknown.
 */
#include "handlers/resolver.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/http.h"
#include "engine/pool.h"
#include "log.h"
#include "product.h"
#include "server.h"

struct link_req {
	struct request *r;
	char tok[24];
	char brands[TOKENS_BRANDS_MAX * 21 + 3]; /* "{1,2}", or "" for every brand */
	const char *client;
	char sku[PRODUCT_SKU_MAX + 1];
	struct resolver_link_in in;
	int remove;
	int one_lang; /* remove: only the link of in.hreflang */
};

/* A request of an authenticated identity for the product in {sku}, or NULL when answered. */
static struct link_req *start(struct request *r)
{
	struct link_req *a = calloc(1, sizeof *a);
	long n;
	if (!a) {
		http_reply_error(r, 503, "unavailable", "out of memory");
		return NULL;
	}
	a->r = r;
	snprintf(a->tok, sizeof a->tok, "%lld", r->admin.id);
	a->client = http_client_inet(r);
	if (r->admin.nbrands >= 0) {
		size_t k = 0;
		for (int i = 0; i < r->admin.nbrands; i++)
			k += (size_t)snprintf(a->brands + k, sizeof a->brands - k, "%s%lld",
			                      i ? "," : "{", r->admin.brands[i]);
		snprintf(a->brands + k, sizeof a->brands - k, k ? "}" : "{}");
	}
	n = http_percent_decode(r->cap[0].s, r->cap[0].len, a->sku, sizeof a->sku);
	if (n < 0 || product_sku_check(a->sku) < 0) {
		http_reply_error(r, 404, "no_product", "no such product");
		free(a);
		return NULL;
	}
	return a;
}

static int failed(struct link_req *a, const struct pool_result *res)
{
	if (res->status == POOL_OK)
		return 0;
	if (res->status == POOL_UNAVAILABLE) {
		http_reply_error(a->r, 503, "unavailable", "database unavailable, try again");
	} else if (strcmp(res->sqlstate, "28000") == 0) {
		http_reply_unauthorized(a->r, TOKENS_INVALID);
	} else {
		log_error("event=admin_query_failed route=%s sqlstate=%s message=%s",
		          http_route_id(a->r), res->sqlstate, LOG_Q(res->message));
		http_reply_error(a->r, 500, "internal", "the request failed; nothing was changed");
	}
	return -1;
}

static void submit(struct link_req *a, const struct pool_query *q, pool_cb cb)
{
	if (pool_submit(a->r->w->pool, q, cb, a) < 0) {
		http_reply_error(a->r, 503, "unavailable", "database unavailable, try again");
		free(a);
	}
}

/* ---- GET .../links ---- */

static void listed(void *arg, const struct pool_result *res)
{
	struct link_req *a = arg;
	if (failed(a, res))
		goto out;
	int rows = PQntuples(res->res);
	/* the first row says whether the product is there (and the identity's) */
	if (rows == 0) {
		http_reply_error(a->r, 404, "no_product", "no such product");
		goto out;
	}
	json_t *list = json_array();
	for (int i = 0; i < rows; i++) {
		if (PQgetisnull(res->res, i, 1))
			continue; /* the product, without links */
		json_t *l = json_pack(
		    "{s:s,s:s,s:s,s:s,s:s}", "link_type", PQgetvalue(res->res, i, 1), "href",
		    PQgetvalue(res->res, i, 2), "title", PQgetvalue(res->res, i, 3), "type",
		    PQgetvalue(res->res, i, 5), "updated", PQgetvalue(res->res, i, 6));
		if (l && PQgetvalue(res->res, i, 4)[0])
			json_object_set_new(l, "hreflang", json_string(PQgetvalue(res->res, i, 4)));
		json_array_append_new(list, l);
	}
	http_reply_json(a->r, 200,
	                json_pack("{s:s,s:s?,s:o}", "sku", a->sku, "gtin",
	                          PQgetisnull(res->res, 0, 0) ? NULL : PQgetvalue(res->res, 0, 0),
	                          "links", list));
out:
	free(a);
}

void resolver_route_links(struct request *r)
{
	struct link_req *a = start(r);
	if (!a)
		return;
	struct pool_query q = {.stmt = "admin_product_links",
	                       .nparams = 2,
	                       .values = {a->sku, a->brands[0] ? a->brands : NULL}};
	submit(a, &q, listed);
}

/* ---- POST .../links, DELETE .../links/{type} ---- */

static void changed(void *arg, const struct pool_result *res)
{
	struct link_req *a = arg;
	if (failed(a, res))
		goto out;
	const char *outcome = PQgetvalue(res->res, 0, 0);
	const char *term = dl_link_type_term(a->in.type);
	char curie[64];
	snprintf(curie, sizeof curie, "gs1:%s", term);
	log_info("event=admin_action actor=%s action=%s outcome=%s", LOG_Q(a->r->admin.name),
	         a->remove ? "product.unlink" : "product.link", outcome);
	if (strcmp(outcome, "no_product") == 0) {
		http_reply_error(a->r, 404, "no_product", "no such product");
	} else if (strcmp(outcome, "unchanged") == 0) {
		http_reply_error(a->r, 404, "no_link", "the product has no link of this type");
	} else if (a->remove) {
		json_t *o = json_pack("{s:s,s:s,s:s}", "sku", a->sku, "link_type", curie, "outcome",
		                      "removed");
		if (o && a->one_lang)
			json_object_set_new(o, "hreflang", json_string(a->in.hreflang));
		http_reply_json(a->r, 200, o);
	} else {
		json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "sku", a->sku, "link_type",
		                      curie, "href", a->in.href, "title", a->in.title, "type",
		                      a->in.media_type, "outcome", outcome);
		if (o && a->in.hreflang[0])
			json_object_set_new(o, "hreflang", json_string(a->in.hreflang));
		http_reply_json(a->r, 200, o);
	}
out:
	free(a);
}

static void change(struct link_req *a)
{
	struct pool_query q = {.stmt = "admin_product_link_set",
	                       .nparams = 8,
	                       .values = {a->tok, a->client, a->sku, dl_link_type_term(a->in.type),
	                                  a->remove ? NULL : a->in.href,
	                                  a->remove ? NULL : a->in.title,
	                                  a->remove && !a->one_lang ? NULL : a->in.hreflang,
	                                  a->remove ? NULL : a->in.media_type}};
	submit(a, &q, changed);
}

void resolver_route_link_set(struct request *r)
{
	struct link_req *a = start(r);
	size_t len;
	char err[256];
	int bad_json;
	if (!a)
		return;
	const char *body = http_body(r, "application/json", &len);
	if (!body) {
		free(a);
		return;
	}
	if (resolver_link_decode(body, len, &a->in, &bad_json, err, sizeof err) < 0) {
		http_reply_error(r, 400, bad_json ? "bad_json" : "bad_request", err);
		free(a);
		return;
	}
	change(a);
}

void resolver_route_link_delete(struct request *r)
{
	struct link_req *a = start(r);
	char type[80];
	if (!a)
		return;
	long n = http_percent_decode(r->cap[1].s, r->cap[1].len, type, sizeof type);
	enum dl_link_type t = n < 0 ? DL_LT_UNKNOWN : dl_link_type_parse(type, (size_t)n);
	if (t == DL_LT_UNKNOWN && n > 0 && n < 64) {
		char curie[72];
		snprintf(curie, sizeof curie, "gs1:%.64s", type);
		t = dl_link_type_parse(curie, strlen(curie));
	}
	if (t < DL_LT_BRAND_FIRST || t >= DL_LT_COUNT) {
		http_reply_error(r, 404, "no_link", "not a link type a brand sets");
		free(a);
		return;
	}
	int got = http_form_field(r->query, strlen(r->query), "hreflang", a->in.hreflang,
	                          sizeof a->in.hreflang);
	if (got < 0 || (got == 1 && dl_link_check("gs1:pip", "https://x", "x", a->in.hreflang, NULL,
	                                          NULL, NULL, 0) < 0)) {
		http_reply_error(r, 400, "bad_request",
		                 "hreflang must be a language tag such as en");
		free(a);
		return;
	}
	a->one_lang = got == 1;
	a->in.type = t;
	a->remove = 1;
	change(a);
}
