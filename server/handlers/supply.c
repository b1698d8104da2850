/*
 * supply.c: the supply chain's admin endpoints (supply.h). A request is
 * decoded and checked in full (supply_input.c), a code judged by the
 * keyring and the catalog (lookup_check: only a code of one of our batches
 * can change state), then one prepared statement runs the change with its
 * audit row; the reply is built from the row it returns.
 */
#include "handlers/supply.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "edge/http.h"
#include "engine/catalog.h"
#include "engine/timefmt.h"
#include "handlers/lookup.h"
#include "log.h"
#include "server.h"

#define ID_MAX (1LL << 62)

enum supply_op { OP_ACTIVATE, OP_EXPIRE, OP_CODE_STATE, OP_UNDO };

struct supply_req {
	struct request *r;
	enum supply_op op;
	long long id; /* the batch, or the change undone */
	char code[CODE_LEN + 1];
	struct supply_in in;
};

static json_t *text_or_null(const PGresult *pg, int col)
{
	return PQgetisnull(pg, 0, col) ? json_null() : json_string(PQgetvalue(pg, 0, col));
}

static json_t *int_or_null(const PGresult *pg, int col)
{
	return PQgetisnull(pg, 0, col) ? json_null()
	                               : json_integer(strtoll(PQgetvalue(pg, 0, col), NULL, 10));
}

static json_t *time_or_null(const PGresult *pg, int col)
{
	char iso[TIMEFMT_ISO_LEN];
	if (PQgetisnull(pg, 0, col))
		return json_null();
	timefmt_pg_to_iso(PQgetvalue(pg, 0, col), iso);
	return json_string(iso);
}

/* The database failed or refused the request: answered, 1; else 0. */
static int db_failed(struct supply_req *s, const struct pool_result *res)
{
	if (res->status == POOL_OK && PQntuples(res->res) == 1)
		return 0;
	if (res->status == POOL_UNAVAILABLE) {
		http_reply_error(s->r, 503, "unavailable", "database unavailable, try again");
	} else if (res->status == POOL_SQL_ERROR && strcmp(res->sqlstate, "28000") == 0) {
		http_reply_unauthorized(s->r, TOKENS_INVALID);
	} else {
		log_error("event=supply_failed sqlstate=%s",
		          res->status == POOL_OK ? "" : res->sqlstate);
		http_reply_error(s->r, 500, "internal", "the change could not be made");
	}
	return 1;
}

/* The refusals every change shares; 1 if answered. */
static int refused(struct supply_req *s, const char *outcome)
{
	char msg[160];
	if (strcmp(outcome, "forbidden") == 0) {
		http_reply_error(s->r, 403, "forbidden_brand",
		                 "this is of a brand this identity may not change");
		return 1;
	}
	if (strcmp(outcome, "unknown_batch") == 0) {
		snprintf(msg, sizeof msg, "no batch %lld", s->id);
		http_reply_error(s->r, 404, "unknown_batch", msg);
		return 1;
	}
	return 0;
}

static void done(void *arg, const struct pool_result *res)
{
	struct supply_req *s = arg;
	json_t *o = NULL;
	if (db_failed(s, res))
		goto out;
	const PGresult *pg = res->res;
	const char *outcome = PQgetvalue(pg, 0, 0);
	static const char *const actions[] = {"codes.activate", "batch.expire", "code.state",
	                                      "supply.undo"};
	log_info("event=admin_action actor=%s action=%s outcome=%s", LOG_Q(s->r->admin.name),
	         actions[s->op], outcome);
	if (refused(s, outcome))
		goto out;
	switch (s->op) {
	case OP_ACTIVATE:
		/* outcome, change_id, serial_first, serial_last, activated_at */
		if (strcmp(outcome, "bad_range") == 0) {
			http_reply_error(
			    s->r, 400, "bad_range",
			    "first and last are codes of the batch, numbered from 1 in "
			    "print order (codes.csv's seq): nothing was activated");
			goto out;
		}
		if (strcmp(outcome, "wrong_status") == 0) {
			http_reply_error(s->r, 409, "wrong_status",
			                 "a void batch cannot be activated");
			goto out;
		}
		o = json_pack("{s:I,s:s}", "batch", (json_int_t)s->id, "outcome", outcome);
		json_object_set_new(o, "change", int_or_null(pg, 1));
		json_object_set_new(o, "serial_first", int_or_null(pg, 2));
		json_object_set_new(o, "serial_last", int_or_null(pg, 3));
		if (!PQgetisnull(pg, 0, 2) && !PQgetisnull(pg, 0, 3))
			json_object_set_new(o, "count",
			                    json_integer(strtoll(PQgetvalue(pg, 0, 3), NULL, 10) -
			                                 strtoll(PQgetvalue(pg, 0, 2), NULL, 10) +
			                                 1));
		json_object_set_new(o, "activated_at", time_or_null(pg, 4));
		break;
	case OP_EXPIRE:
		/* outcome, change_id, changed_at */
		if (strcmp(outcome, "wrong_status") == 0) {
			http_reply_error(
			    s->r, 409, "wrong_status",
			    "only an active batch can be taken out of sale as expired");
			goto out;
		}
		o = json_pack("{s:I,s:s,s:s}", "batch", (json_int_t)s->id, "outcome", outcome,
		              "status", "expired");
		json_object_set_new(o, "change", int_or_null(pg, 1));
		json_object_set_new(o, "changed_at", time_or_null(pg, 2));
		break;
	case OP_CODE_STATE:
		/* outcome, change_id, previous, state, changed_at */
		o = json_pack("{s:s,s:I,s:s}", "code", s->code, "batch", (json_int_t)s->id,
		              "outcome", outcome);
		json_object_set_new(
		    o, "state", PQgetisnull(pg, 0, 3) ? json_string("none") : text_or_null(pg, 3));
		json_object_set_new(o, "previous",
		                    PQgetisnull(pg, 0, 2) ? json_string("none")
		                                          : text_or_null(pg, 2));
		json_object_set_new(o, "change", int_or_null(pg, 1));
		json_object_set_new(o, "changed_at", time_or_null(pg, 4));
		break;
	case OP_UNDO: {
		/* outcome, kind, batch_id, restored, undone_at */
		static const struct {
			const char *outcome, *error, *message;
			int status;
		} undo_refusals[] = {
		    {"unknown_change", "unknown_change", "no such change", 404},
		    {"already_undone", "already_undone", "this change was undone already", 409},
		    {"too_late", "undo_window_passed",
		     "this change is older than the undo window (packcode.undo_window)", 409},
		    {"superseded", "superseded",
		     "a later change of the same code or batch stands: undo it first", 409},
		};
		for (size_t i = 0; i < sizeof undo_refusals / sizeof undo_refusals[0]; i++)
			if (strcmp(outcome, undo_refusals[i].outcome) == 0) {
				http_reply_error(s->r, undo_refusals[i].status,
				                 undo_refusals[i].error, undo_refusals[i].message);
				goto out;
			}
		o = json_pack("{s:I,s:s}", "change", (json_int_t)s->id, "outcome", outcome);
		json_object_set_new(o, "kind", text_or_null(pg, 1));
		json_object_set_new(o, "batch", int_or_null(pg, 2));
		json_object_set_new(o, "restored", text_or_null(pg, 3));
		json_object_set_new(o, "undone_at", time_or_null(pg, 4));
		break;
	}
	}
	if (s->in.has_reason)
		json_object_set_new(o, "reason", json_string(s->in.reason));
	http_reply_json(s->r, 200, o);
out:
	free(s);
}

/* The {id} captured: 0, or -1 with r answered 404. */
static int captured_id(struct supply_req *s, const char *what, char id[24])
{
	const struct route_capture *c = &s->r->cap[0];
	char msg[64];
	if (c->len == 0 || c->len >= 24 || strspn(c->s, "0123456789") < c->len ||
	    (s->id = strtoll(c->s, NULL, 10)) < 1 || s->id > ID_MAX) {
		snprintf(msg, sizeof msg, "a %s id is a number", what);
		http_reply_error(s->r, 404,
		                 strcmp(what, "batch") == 0 ? "unknown_batch" : "unknown_change",
		                 msg);
		return -1;
	}
	snprintf(id, 24, "%lld", s->id);
	return 0;
}

static void supply_start(struct request *r, enum supply_op op)
{
	static const enum supply_body bodies[] = {[OP_ACTIVATE] = SUPPLY_BODY_ACTIVATE,
	                                          [OP_EXPIRE] = SUPPLY_BODY_REASON,
	                                          [OP_CODE_STATE] = SUPPLY_BODY_STATE,
	                                          [OP_UNDO] = SUPPLY_BODY_REASON};
	char err[256], tok[24], id[24] = "", first[24], last[24], serial[24];
	size_t len;
	struct supply_req *s = calloc(1, sizeof *s);
	if (!s) {
		http_reply_error(r, 503, "unavailable", "out of memory");
		return;
	}
	s->r = r;
	s->op = op;
	if (op != OP_CODE_STATE && captured_id(s, op == OP_UNDO ? "change" : "batch", id) < 0)
		goto fail;
	const char *body = http_body(r, "application/json", &len);
	if (!body)
		goto fail;
	enum admin_decode why = supply_decode(bodies[op], body, len, &s->in, err, sizeof err);
	if (why != ADMIN_DECODE_OK) {
		http_reply_error(r, 400, why == ADMIN_DECODE_BAD_JSON ? "bad_json" : "bad_request",
		                 err);
		goto fail;
	}
	snprintf(tok, sizeof tok, "%lld", r->admin.id);
	const char *client = http_client_inet(r);
	const char *reason = s->in.has_reason ? s->in.reason : NULL;
	struct pool_query q = {0};
	switch (op) {
	case OP_ACTIVATE:
		snprintf(first, sizeof first, "%lld", s->in.first);
		snprintf(last, sizeof last, "%lld", s->in.last);
		q = (struct pool_query){.stmt = "admin_batch_activate",
		                        .nparams = 6,
		                        .values = {tok, client, id, s->in.has_range ? first : NULL,
		                                   s->in.has_range ? last : NULL, reason}};
		break;
	case OP_EXPIRE:
		q = (struct pool_query){.stmt = "admin_batch_expire",
		                        .nparams = 4,
		                        .values = {tok, client, id, reason}};
		break;
	case OP_UNDO:
		q = (struct pool_query){
		    .stmt = "admin_supply_undo", .nparams = 4, .values = {tok, client, id, reason}};
		break;
	case OP_CODE_STATE: {
		char code[LOOKUP_SEGMENT_MAX + 1];
		struct lookup_check c;
		long n = http_decode(r->cap[0].s, r->cap[0].len, 0, code, sizeof code);
		if (n < 0 || n > CODE_INPUT_MAX) {
			http_reply_error(r, 400, "typo", "a code has at most 20 characters");
			goto fail;
		}
		lookup_check(r->w, code, (size_t)n, &c);
		if (c.verdict == VERDICT_TYPO) {
			http_reply_error(r, 400, "typo",
			                 "check the characters: one is mistyped or two neighbours "
			                 "are swapped");
			lookup_check_release(&c);
			goto fail;
		}
		if (!c.batch) {
			http_reply_error(r, 404, "unknown_code",
			                 c.verdict == VERDICT_UNKNOWN_KEY
			                     ? "this server does not know the key of this code yet"
			                     : "no batch of ours holds this code");
			lookup_check_release(&c);
			goto fail;
		}
		snprintf(s->code, sizeof s->code, "%s", c.v.fields.text);
		snprintf(serial, sizeof serial, "%llu", (unsigned long long)c.v.serial);
		s->id = c.batch->id;
		snprintf(id, sizeof id, "%lld", s->id);
		lookup_check_release(&c);
		q = (struct pool_query){.stmt = "admin_code_state",
		                        .nparams = 6,
		                        .values = {tok, client, serial, id, s->in.state, reason}};
		break;
	}
	}
	if (pool_submit(r->w->pool, &q, done, s) < 0) {
		http_reply_error(r, 503, "unavailable", "database unavailable, try again");
		goto fail;
	}
	return;
fail:
	free(s);
}

void supply_route_activate(struct request *r)
{
	supply_start(r, OP_ACTIVATE);
}

void supply_route_expire(struct request *r)
{
	supply_start(r, OP_EXPIRE);
}

void supply_route_code_state(struct request *r)
{
	supply_start(r, OP_CODE_STATE);
}

void supply_route_undo(struct request *r)
{
	supply_start(r, OP_UNDO);
}
