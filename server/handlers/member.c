/*
 * member.c: the member
 * endpoint: balance plus ledger entries, newest first, paged by ledger id
 * (keyset: ?before=ID), so a page never shifts while claims come in.
 */
#include "handlers/member.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "engine/catalog.h"
#include "engine/timefmt.h"
#include "edge/http.h"
#include "log.h"
#include "server.h"

#define PAGE_DEFAULT 20
#define PAGE_MAX     100

struct member_req {
	struct request *r;
	char member[MEMBER_MAX + 1];
	int limit;
};

static void member_done(void *arg, const struct pool_result *res)
{
	struct member_req *m = arg;
	struct request *r = m->r;
	PGresult *pg = res->res;

	if (res->status == POOL_UNAVAILABLE) {
		http_reply_error(r, 503, "unavailable", "database unavailable, try again");
		goto out;
	}
	if (res->status != POOL_OK) {
		log_error("event=member_query_failed sqlstate=%s", res->sqlstate);
		http_reply_error(r, 500, "internal", "member lookup failed");
		goto out;
	}
	int rows = PQntuples(pg);
	if (rows == 0) {
		http_reply_error(r, 404, "unknown_member", "no such member: nothing claimed yet");
		goto out;
	}
	struct catalog_snapshot *snap = worker_catalog(r->w);
	json_t *o = json_object(), *entries = json_array();
	json_object_set_new(o, "member", json_string(m->member));
	json_object_set_new(o, "balance", json_integer(strtoll(PQgetvalue(pg, 0, 0), NULL, 10)));
	long long last_id = 0;
	int shown = 0;
	for (int i = 0; i < rows && shown < m->limit; i++) {
		if (PQgetisnull(pg, i, 1))
			break;
		json_t *e = json_object();
		char at[TIMEFMT_ISO_LEN];
		last_id = strtoll(PQgetvalue(pg, i, 1), NULL, 10);
		timefmt_pg_to_iso(PQgetvalue(pg, i, 6), at);
		json_object_set_new(e, "id", json_integer(last_id));
		json_object_set_new(e, "at", json_string(at));
		json_object_set_new(e, "kind", json_string(PQgetvalue(pg, i, 4)));
		json_object_set_new(e, "delta",
		                    json_integer(strtoll(PQgetvalue(pg, i, 2), NULL, 10)));
		json_object_set_new(e, "balance_after",
		                    json_integer(strtoll(PQgetvalue(pg, i, 3), NULL, 10)));
		if (!PQgetisnull(pg, i, 5)) {
			const struct catalog_batch *b =
			    catalog_find(snap, strtoull(PQgetvalue(pg, i, 5), NULL, 10));
			if (b)
				json_object_set_new(
				    e, "product",
				    json_pack("{s:s,s:s}", "sku", b->sku, "name", b->name));
		}
		json_array_append_new(entries, e);
		shown++;
	}
	json_object_set_new(o, "entries", entries);
	if (rows > m->limit && last_id > 0)
		json_object_set_new(o, "next_before", json_integer(last_id));
	else
		json_object_set_new(o, "next_before", json_null());
	http_reply_json(r, 200, o);
out:
	free(m);
}

void member_handle(struct request *r, const char *member, size_t len, const char *query)
{
	struct member_req *m = calloc(1, sizeof *m);
	long long limit = PAGE_DEFAULT, before = 0;
	char lim[24], bef[24];

	if (!m) {
		http_reply_error(r, 503, "unavailable", "out of memory");
		return;
	}
	m->r = r;
	enum phone_result why;
	if (member_id_normalize(member, len, r->w->srv->cfg.default_country, m->member, &why) < 0) {
		http_reply_error(r, 400, "bad_member", member_id_message(why));
		free(m);
		return;
	}
	if (http_query_int(query, "limit", PAGE_MAX, &limit) < 0 ||
	    http_query_int(query, "before", (1LL << 62), &before) < 0) {
		http_reply_error(r, 400, "bad_request", "limit is 1 to 100; before is a ledger id");
		free(m);
		return;
	}
	m->limit = (int)limit;
	snprintf(lim, sizeof lim, "%lld", limit + 1);
	snprintf(bef, sizeof bef, "%lld", before);
	struct pool_query q = {
	    .stmt = "member_get",
	    .nparams = 3,
	    .values = {m->member, lim, before ? bef : NULL},
	};
	if (pool_submit(r->w->pool, &q, member_done, m) < 0) {
		http_reply_error(r, 503, "unavailable", "database unavailable, try again");
		free(m);
	}
}

/* GET /api/v1/members/{member}: the capture is the rest of the path. */
void member_route(struct request *r)
{
	char member[MEMBER_SEGMENT_MAX + 1];
	const struct route_capture *c = &r->cap[0];
	long n =
	    memchr(c->s, '/', c->len) ? -1 : http_decode(c->s, c->len, 0, member, sizeof member);
	if (n < 0) {
		http_reply_error(r, 400, "bad_request", "malformed member id");
		return;
	}
	member_handle(r, member, (size_t)n, r->query);
}
