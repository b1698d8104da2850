/*
 * packing.c: the admin API of cases, pallets, distributors and shipments
 * (packing.h; docs/api.md, "Packing and distributors"). The server judges
 * what only it can: codes by the keyring and the catalog (lookup_check),
 * SSCCs by their check digit; the request, with its codes replaced by
 * their serials, is then one call of api_packing() (sql/019_distributors.sql),
 * which checks the rest, writes the change with its audit row and answers
 * the status and the reply. A bad body is the database's 22023: 400.
 */
#include "handlers/packing.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/http.h"
#include "handlers/lookup.h"
#include "log.h"
#include "server.h"
#include "url.h"

enum arg { ARG_NONE, ARG_ID, ARG_PARENT, ARG_CODE, ARG_SHIPMENT };

struct packing_req {
	struct request *r;
	char *body; /* the JSON sent to the database */
	char arg[48];
};

static void done(void *arg, const struct pool_result *res)
{
	struct packing_req *p = arg;
	if (res->status == POOL_OK && PQntuples(res->res) == 1) {
		json_t *o = json_loads(PQgetvalue(res->res, 0, 1), 0, NULL);
		int status = atoi(PQgetvalue(res->res, 0, 0));
		if (o)
			http_reply_json(p->r, status, o);
		else
			http_reply_error(p->r, 500, "internal", "the reply could not be read");
	} else if (res->status == POOL_UNAVAILABLE) {
		http_reply_error(p->r, 503, "unavailable", "database unavailable, try again");
	} else if (res->status == POOL_SQL_ERROR && strcmp(res->sqlstate, "28000") == 0) {
		http_reply_unauthorized(p->r, TOKENS_INVALID);
	} else if (res->status == POOL_SQL_ERROR && strcmp(res->sqlstate, "22023") == 0) {
		http_reply_error(p->r, 400, "bad_request", res->message);
	} else {
		log_error("event=packing_failed sqlstate=%s",
		          res->status == POOL_SQL_ERROR ? res->sqlstate : "");
		http_reply_error(p->r, 500, "internal", "the change could not be made");
	}
	free(p->body);
	free(p);
}

/* A code of ours: its serial, batch and key into *c (release it); 0, or -1 answered. */
static int code_of(struct request *r, const char *text, size_t len, struct lookup_check *c)
{
	if (len > CODE_INPUT_MAX) {
		http_reply_error(r, 400, "typo", "a code has at most 20 characters");
		return -1;
	}
	lookup_check(r->w, text, len, c);
	if (c->verdict == VERDICT_TYPO) {
		lookup_check_release(c);
		http_reply_error(
		    r, 400, "typo",
		    "check the characters: one is mistyped or two neighbours are swapped");
		return -1;
	}
	if (!c->batch) {
		lookup_check_release(c);
		http_reply_error(r, 404, "unknown_code", "no batch of ours holds this code");
		return -1;
	}
	return 0;
}

/* A parent as the path names it: 'P:SSCC' (18 digits) or 'C:SERIAL'. 0, or -1 answered. */
static int parent_of(struct request *r, const char *text, size_t len, char out[48])
{
	char sscc[SSCC_LEN + 1];
	if (len == SSCC_LEN && strspn(text, "0123456789") >= len) {
		memcpy(sscc, text, SSCC_LEN);
		sscc[SSCC_LEN] = 0;
		if (sscc_valid(sscc, NULL, 0) < 0) {
			http_reply_error(r, 400, "bad_sscc", "the SSCC's check digit is wrong");
			return -1;
		}
		snprintf(out, 48, "P:%lld", strtoll(sscc, NULL, 10));
		return 0;
	}
	struct lookup_check c;
	if (code_of(r, text, len, &c) < 0)
		return -1;
	snprintf(out, 48, "C:%llu", (unsigned long long)c.v.serial);
	lookup_check_release(&c);
	return 0;
}

/* Replace the array of codes at key with what mk makes of each; 0, or -1 answered. */
static int resolve_codes(struct request *r, json_t *o, const char *key, const char *into, int full)
{
	json_t *a = json_object_get(o, key);
	if (!a)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > 10000) {
		char msg[80];
		snprintf(msg, sizeof msg, "%s must be an array of at most 10000 codes", key);
		http_reply_error(r, 400, "bad_request", msg);
		return -1;
	}
	json_t *out = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
	{
		struct lookup_check c;
		if (!json_is_string(v)) {
			json_decref(out);
			http_reply_error(r, 400, "bad_request", "a code is a string");
			return -1;
		}
		if (code_of(r, json_string_value(v), json_string_length(v), &c) < 0) {
			json_decref(out);
			return -1;
		}
		if (full)
			json_array_append_new(out, json_pack("{s:I,s:I,s:i}", "serial",
			                                     (json_int_t)c.v.serial, "batch",
			                                     (json_int_t)c.batch->id, "key",
			                                     (int)c.v.fields.key_id));
		else
			json_array_append_new(out, json_integer((json_int_t)c.v.serial));
		lookup_check_release(&c);
	}
	json_object_del(o, key);
	json_object_set_new(o, into, out);
	return 0;
}

/* "pallets": SSCCs as 18-digit strings, replaced by their numbers; 0, or -1 answered. */
static int resolve_ssccs(struct request *r, json_t *o)
{
	json_t *a = json_object_get(o, "pallets"), *v;
	size_t i;
	if (!a)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > 1000) {
		http_reply_error(r, 400, "bad_request",
		                 "pallets must be an array of at most 1000 SSCCs");
		return -1;
	}
	json_t *out = json_array();
	json_array_foreach(a, i, v)
	{
		const char *t = json_string_value(v);
		if (!t || strlen(t) != SSCC_LEN || sscc_valid(t, NULL, 0) < 0) {
			json_decref(out);
			http_reply_error(
			    r, 400, "bad_sscc",
			    "a pallet is an SSCC: 18 digits with its check digit, as a string");
			return -1;
		}
		json_array_append_new(out, json_integer(strtoll(t, NULL, 10)));
	}
	json_object_set_new(o, "pallets", out);
	return 0;
}

static void packing_start(struct request *r, const char *op, enum arg kind, int with_body)
{
	struct packing_req *p = calloc(1, sizeof *p);
	json_t *o = NULL;
	char tok[24];
	if (!p) {
		http_reply_error(r, 503, "unavailable", "out of memory");
		return;
	}
	p->r = r;
	if (kind != ARG_NONE) {
		char seg[LOOKUP_SEGMENT_MAX + 1];
		long n = http_decode(r->cap[0].s, r->cap[0].len, 0, seg, sizeof seg);
		if (n < 0) {
			http_reply_error(r, 400, "bad_request", "a path segment is malformed");
			goto fail;
		}
		if (kind == ARG_ID || kind == ARG_SHIPMENT) {
			if (n < 1 || n > 18 || strspn(seg, "0123456789") < (size_t)n) {
				http_reply_error(r, 404,
				                 kind == ARG_ID ? "unknown_distributor"
				                                : "unknown_shipment",
				                 "an id is a number");
				goto fail;
			}
			/* a shipment as api_packing's 'S:ID' (sql/026_receiving.sql) */
			snprintf(p->arg, sizeof p->arg, "%s%.18s", kind == ARG_SHIPMENT ? "S:" : "",
			         seg);
		} else if (kind == ARG_PARENT) {
			if (parent_of(r, seg, (size_t)n, p->arg) < 0)
				goto fail;
		} else {
			struct lookup_check c;
			if (code_of(r, seg, (size_t)n, &c) < 0)
				goto fail;
			snprintf(p->arg, sizeof p->arg, "%llu", (unsigned long long)c.v.serial);
			lookup_check_release(&c);
		}
	}
	if (with_body) {
		size_t len;
		json_error_t je;
		const char *body = http_body(r, "application/json", &len);
		if (!body)
			goto fail;
		o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
		if (!o) {
			char msg[200];
			snprintf(msg, sizeof msg, "malformed JSON: %s", je.text);
			http_reply_error(r, 400, "bad_json", msg);
			goto fail;
		}
		if (!json_is_object(o)) {
			http_reply_error(r, 400, "bad_request", "the body must be a JSON object");
			goto fail;
		}
		json_object_del(o, "case_serials"); /* only the server's */
		if (resolve_ssccs(r, o) < 0 ||
		    resolve_codes(r, o, "cases", "case_serials", 0) < 0 ||
		    resolve_codes(r, o, "children", "children", 1) < 0)
			goto fail;
		p->body = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		o = NULL;
		if (!p->body) {
			http_reply_error(r, 503, "unavailable", "out of memory");
			goto fail;
		}
	}
	snprintf(tok, sizeof tok, "%lld", r->admin.id);
	struct pool_query q = {
	    .stmt = "api_packing",
	    .nparams = 5,
	    .values = {tok, http_client_inet(r), op, *p->arg ? p->arg : NULL, p->body}};
	log_info("event=admin_action actor=%s action=%s", LOG_Q(r->admin.name), op);
	if (pool_submit(r->w->pool, &q, done, p) < 0) {
		http_reply_error(r, 503, "unavailable", "database unavailable, try again");
		goto fail;
	}
	return;
fail:
	json_decref(o);
	free(p->body);
	free(p);
}

void packing_route_distributors(struct request *r)
{
	packing_start(r, "distributors", ARG_NONE, 0);
}

void packing_route_distributor_add(struct request *r)
{
	packing_start(r, "distributor_add", ARG_NONE, 1);
}

void packing_route_distributor_change(struct request *r)
{
	packing_start(r, "distributor_change", ARG_ID, 1);
}

void packing_route_distributor_delete(struct request *r)
{
	packing_start(r, "distributor_delete", ARG_ID, 0);
}

void packing_route_shipment_add(struct request *r)
{
	packing_start(r, "shipment_add", ARG_NONE, 1);
}

void packing_route_activate(struct request *r)
{
	packing_start(r, "pack_activate", ARG_PARENT, 1);
}

void packing_route_unpack(struct request *r)
{
	packing_start(r, "pack_unpack", ARG_PARENT, 1);
}

void packing_route_children(struct request *r)
{
	packing_start(r, "pack_children", ARG_PARENT, 1);
}

void packing_route_chain(struct request *r)
{
	packing_start(r, "chain", ARG_CODE, 0);
}

void packing_route_receive(struct request *r)
{
	packing_start(r, "receive", ARG_PARENT, 0);
}

void packing_route_shipment_receive(struct request *r)
{
	packing_start(r, "receive", ARG_SHIPMENT, 0);
}
