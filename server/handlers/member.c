/*
 * member.c: a member's points and data. GET /api/v1/members/me (the member
 * signed in) and GET /api/v1/members/{id} (an admin scope: read shows the
 * identities masked, pii unmasked and audited): balance plus ledger entries,
 * newest first, paged by ledger id (keyset: ?before=ID), so a page never
 * shifts while claims come in; then the member's identities. The member's
 * own download (export) and erasure are here too.
 */
#include "handlers/member.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "edge/http.h"
#include "engine/catalog.h"
#include "engine/msession.h"
#include "engine/timefmt.h"
#include "handlers/auth.h"
#include "log.h"
#include "pii.h"
#include "scope.h"
#include "server.h"

#define PAGE_DEFAULT 20
#define PAGE_MAX     100
#define EXPORT_MAX   100000

enum member_view {
	VIEW_SELF,   /* the member signed in */
	VIEW_MASKED, /* an admin with read */
	VIEW_PII,    /* an admin with pii: identities unmasked, audited */
	VIEW_EXPORT, /* the member's own download: everything, unmasked */
};

struct member_req {
	struct request *r;
	char member[MEMBER_MAX + 1];
	char typed[MEMBER_MAX + 1]; /* the admin's id, normalised */
	enum pii_kind kind;
	enum member_view view;
	int limit;
	char lim[24], bef[24], tok[24], n[16];
	long long before;
	json_t *o;
	member_page_fn page;
	void *page_arg;
};

static void req_free(struct member_req *m)
{
	json_decref(m->o);
	free(m);
}

/* 1 (r answered, m freed) if the query failed. */
static int failed(struct member_req *m, const struct pool_result *res)
{
	if (res->status == POOL_OK)
		return 0;
	if (res->status == POOL_UNAVAILABLE)
		http_reply_error(m->r, 503, "unavailable", "database unavailable, try again");
	else {
		log_error("event=member_query_failed sqlstate=%s", res->sqlstate);
		http_reply_error(m->r, 500, "internal", "member lookup failed");
	}
	req_free(m);
	return 1;
}

static void hex_of(const unsigned char *b, size_t n, char *out)
{
	out[0] = '\\';
	out[1] = 'x';
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 + 2 * i, 3, "%02x", b[i]);
}

/* "\\x..." (bytea as text) into out: its length, or -1. */
static long unhex(const char *s, unsigned char *out, size_t outlen)
{
	if (strncmp(s, "\\x", 2) != 0)
		return -1;
	s += 2;
	size_t n = strlen(s) / 2;
	if (n > outlen)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	return (long)n;
}

static void submit(struct member_req *m, struct pool_query *q, pool_cb cb)
{
	if (pool_submit(m->r->w->pool, q, cb, m) < 0) {
		http_reply_error(m->r, 503, "unavailable", "database unavailable, try again");
		req_free(m);
	}
}

static void pii_audited(void *arg, const struct pool_result *res)
{
	struct member_req *m = arg;
	if (failed(m, res))
		return;
	http_reply_json(m->r, 200, m->o);
	m->o = NULL;
	req_free(m);
}

/* kind, masked, sealed, created_at, verified_at */
static void got_identities(void *arg, const struct pool_result *res)
{
	struct member_req *m = arg;
	if (failed(m, res))
		return;
	const PGresult *pg = res->res;
	const struct pii_key *k = &m->r->w->srv->pii;
	json_t *ids = json_array();
	int unmasked = 0;
	for (int i = 0; i < PQntuples(pg); i++) {
		char at[TIMEFMT_ISO_LEN];
		const char *kind = PQgetvalue(pg, i, 0);
		json_t *e = json_pack("{s:s,s:s}", "kind", kind, "masked", PQgetvalue(pg, i, 1));
		timefmt_pg_to_iso(PQgetvalue(pg, i, 3), at);
		json_object_set_new(e, "since", json_string(at));
		if ((m->view == VIEW_PII || m->view == VIEW_EXPORT) && !PQgetisnull(pg, i, 2)) {
			unsigned char sealed[PII_SEALED_MAX];
			char value[PII_VALUE_MAX + 1];
			enum pii_kind pk = PII_EXTERNAL;
			for (int j = 0; j < PII_KIND_COUNT; j++)
				if (strcmp(kind, pii_kind_name((enum pii_kind)j)) == 0)
					pk = (enum pii_kind)j;
			long n = unhex(PQgetvalue(pg, i, 2), sealed, sizeof sealed);
			if (n > 0 && pii_open(k, pk, sealed, (size_t)n, value, sizeof value) >= 0) {
				json_object_set_new(e, "value", json_string(value));
				unmasked++;
			} else {
				json_object_set_new(e, "value",
				                    json_null()); /* another key sealed it */
			}
		}
		json_array_append_new(ids, e);
	}
	json_object_set_new(m->o, "identities", ids);
	if (m->view == VIEW_PII && unmasked) {
		snprintf(m->tok, sizeof m->tok, "%lld", m->r->admin.id);
		snprintf(m->n, sizeof m->n, "%d", unmasked);
		struct pool_query q = {
		    .stmt = "admin_pii_read",
		    .nparams = 4,
		    .values = {m->tok, http_client_inet(m->r), http_route_id(m->r), m->n}};
		submit(m, &q, pii_audited);
		return;
	}
	if (m->view == VIEW_EXPORT)
		http_header(m->r, "Content-Disposition", "attachment; filename=\"my-data.json\"");
	if (m->page) {
		m->page(m->page_arg, m->r, m->o); /* it does not take o: req_free drops it */
	} else {
		http_reply_json(m->r, 200, m->o);
		m->o = NULL;
	}
	req_free(m);
}

static void got_ledger(void *arg, const struct pool_result *res)
{
	struct member_req *m = arg;
	struct request *r = m->r;
	if (failed(m, res))
		return;
	PGresult *pg = res->res;
	int rows = PQntuples(pg);
	if (rows == 0 && m->view != VIEW_SELF && m->view != VIEW_EXPORT) {
		http_reply_error(r, 404, "unknown_member", "no such member");
		req_free(m);
		return;
	}
	struct catalog_snapshot *snap = worker_catalog(r->w);
	json_t *o = json_object(), *entries = json_array();
	m->o = o;
	json_object_set_new(o, "member", json_string(m->member));
	json_object_set_new(o, "balance",
	                    json_integer(rows ? strtoll(PQgetvalue(pg, 0, 0), NULL, 10) : 0));
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
	struct pool_query q = {.stmt = "member_identities_of", .nparams = 1, .values = {m->member}};
	submit(m, &q, got_identities);
}

static void read_ledger(struct member_req *m)
{
	snprintf(m->lim, sizeof m->lim, "%d", m->limit + 1);
	snprintf(m->bef, sizeof m->bef, "%lld", m->before);
	struct pool_query q = {
	    .stmt = "member_get",
	    .nparams = 3,
	    .values = {m->member, m->lim, m->before ? m->bef : NULL},
	};
	submit(m, &q, got_ledger);
}

/* member_by_identity: the member of the admin's id, else the id as a key (made before 011). */
static void got_member(void *arg, const struct pool_result *res)
{
	struct member_req *m = arg;
	if (failed(m, res))
		return;
	snprintf(m->member, sizeof m->member, "%s",
	         PQntuples(res->res) == 1 ? PQgetvalue(res->res, 0, 0) : m->typed);
	read_ledger(m);
}

static struct member_req *req_new(struct request *r, const char *query, enum member_view view)
{
	long long limit = PAGE_DEFAULT, before = 0;
	if (http_query_int(query, "limit", view == VIEW_EXPORT ? EXPORT_MAX : PAGE_MAX, &limit) <
	        0 ||
	    http_query_int(query, "before", (1LL << 62), &before) < 0) {
		http_reply_error(r, 400, "bad_request", "limit is 1 to 100; before is a ledger id");
		return NULL;
	}
	struct member_req *m = calloc(1, sizeof *m);
	if (!m) {
		http_reply_error(r, 503, "unavailable", "out of memory");
		return NULL;
	}
	m->r = r;
	m->view = view;
	m->limit = view == VIEW_EXPORT ? EXPORT_MAX : (int)limit;
	m->before = before;
	return m;
}

void member_handle(struct request *r, const char *member, size_t len, const char *query)
{
	enum phone_result why;
	char hex[3 + 2 * PII_HASH_LEN];
	unsigned char h[PII_HASH_LEN];
	struct member_req *m =
	    req_new(r, query, (r->admin.scopes & SCOPE_PII) ? VIEW_PII : VIEW_MASKED);
	if (!m)
		return;
	if (member_id_normalize(member, len, r->w->srv->cfg.default_country, m->typed, &why) < 0) {
		http_reply_error(r, 400, "bad_member", member_id_message(why));
		req_free(m);
		return;
	}
	if (strncmp(m->typed, "m-", 2) == 0) { /* a member's own key */
		snprintf(m->member, sizeof m->member, "%s", m->typed);
		read_ledger(m);
		return;
	}
	pii_hash(&r->w->srv->pii, m->typed[0] == '+' ? PII_PHONE : PII_EXTERNAL, m->typed,
	         strlen(m->typed), h);
	hex_of(h, sizeof h, hex);
	struct pool_query q = {.stmt = "member_by_identity", .nparams = 1, .values = {hex}};
	submit(m, &q, got_member);
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

void member_page(struct request *r, member_page_fn page, void *arg)
{
	struct member_req *m = req_new(r, r->query, VIEW_SELF);
	if (!m)
		return;
	snprintf(m->member, sizeof m->member, "%s", r->member);
	m->page = page;
	m->page_arg = arg;
	read_ledger(m);
}

void member_route_me(struct request *r)
{
	member_page(r, NULL, NULL);
}

void member_route_export(struct request *r)
{
	struct member_req *m = req_new(r, "", VIEW_EXPORT);
	if (!m)
		return;
	snprintf(m->member, sizeof m->member, "%s", r->member);
	read_ledger(m);
}

/* ---- erasure --------------------------------------------------------------------------- */

static void erased(void *arg, const struct pool_result *res)
{
	struct member_req *m = arg;
	struct request *r = m->r;
	if (failed(m, res))
		return;
	int n = PQntuples(res->res) == 1 && !PQgetisnull(res->res, 0, 1)
	            ? atoi(PQgetvalue(res->res, 0, 1))
	            : 0;
	msessions_remove(r->w->msessions, r->member_hash);
	log_info("event=member_erase member=%s identities=%d client=%s", LOG_Q(m->member), n,
	         LOG_Q(r->client));
	auth_set_cookie(r, NULL, 0);
	http_reply_json(r, 200, json_pack("{s:b,s:i}", "erased", 1, "identities", n));
	req_free(m);
}

void member_route_erase(struct request *r)
{
	struct member_req *m = req_new(r, "", VIEW_SELF);
	char actor[MEMBER_MAX + 8];
	if (!m)
		return;
	snprintf(m->member, sizeof m->member, "%s", r->member);
	snprintf(actor, sizeof actor, "member:%s", r->member);
	struct pool_query q = {.stmt = "member_erase",
	                       .nparams = 3,
	                       .values = {m->member, actor, http_client_inet(r)}};
	submit(m, &q, erased);
}
