/*
 * claim.c: POST /api/v1/claims and the claim engine the landing page shares.
 *
 * Claims that reach the database are queued in a batcher: whatever queued
 * while the previous claim_many was running goes out as the next one, in one
 * transaction (group commit). The outcome of each claim is its own row, and
 * nobody hears "awarded" before the transaction committed. A deadlock or
 * serialization failure is retried once; it rolled everything back. Any other
 * error of a batch (one bad claim fails the whole statement) runs each of its
 * claims again alone, so that only the failing one is refused.
 */
#include "handlers/claim.h"
#include "text.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "engine/batch.h"
#include "engine/catalog.h"
#include "edge/http.h"
#include "keyring.h"
#include "log.h"
#include "scope.h"
#include "handlers/auth.h"
#include "handlers/lookup.h"
#include "handlers/member.h"
#include "handlers/referrals.h"
#include "engine/scanlog.h"
#include "server.h"

#define CLAIM_BATCH_MAX 512
#define PIN_NONE        0
#define PIN_RIGHT       1
#define PIN_WRONG       2

struct claims {
	struct worker *w;
	struct batcher *batcher;
};

struct claim {
	struct batch_item item; /* first: items are cast back */
	struct request *r;
	struct lookup_check c;
	char input[CODE_INPUT_MAX + 1]; /* the code as typed, printable, for the scan record */
	char member[MEMBER_MAX + 1];
	char region[24]; /* "CN-GD", "CN", "" unknown: where campaigns apply (--geoip) */
	int pin_state;
	int signed_in; /* the member proved who they are (a session): a right PIN always passes */
	int retries;
	claim_done_fn done;
	void *arg;
};

/* CLAIM_UNAVAILABLE's message when the code's key is unknown to this server (yet). */
static const char cannot_verify[] =
    "this server does not know the key of this code yet: try again shortly";

static const char *const outcome_names[CLAIM_OUTCOME_COUNT] = {
    [CLAIM_AWARDED] = "awarded",
    [CLAIM_REPEAT] = "awarded",
    [CLAIM_ALREADY_CLAIMED] = "already_claimed",
    [CLAIM_TYPO] = "typo",
    [CLAIM_NOT_GENUINE] = "not_genuine",
    [CLAIM_RECALLED] = "recalled",
    [CLAIM_VOID] = "void_batch",
    [CLAIM_REVOKED] = "revoked_key",
    [CLAIM_PIN_REQUIRED] = "pin_required",
    [CLAIM_PIN_WRONG] = "pin_wrong",
    [CLAIM_THROTTLED] = "throttled",
    [CLAIM_RATE_LIMITED] = "rate_limited",
    [CLAIM_BAD_REQUEST] = "bad_request",
    [CLAIM_UNAVAILABLE] = "unavailable",
    [CLAIM_INTERNAL] = "internal",
    [CLAIM_INACTIVE] = "inactive",
    [CLAIM_CODE_VOID] = "void",
    [CLAIM_STOLEN] = "stolen",
    [CLAIM_DESTROYED] = "destroyed",
    [CLAIM_SAMPLE] = "sample",
    [CLAIM_EXPIRED] = "expired",
};

/* The supply chain's refusals and their verdicts, both ways. */
static const struct {
	enum claim_outcome o;
	enum verdict v;
} supply_refusals[] = {
    {CLAIM_INACTIVE, VERDICT_INACTIVE}, {CLAIM_CODE_VOID, VERDICT_CODE_VOID},
    {CLAIM_STOLEN, VERDICT_STOLEN},     {CLAIM_DESTROYED, VERDICT_DESTROYED},
    {CLAIM_SAMPLE, VERDICT_SAMPLE},     {CLAIM_EXPIRED, VERDICT_EXPIRED},
};

enum verdict claim_outcome_verdict(enum claim_outcome o)
{
	for (size_t i = 0; i < sizeof supply_refusals / sizeof supply_refusals[0]; i++)
		if (supply_refusals[i].o == o)
			return supply_refusals[i].v;
	return VERDICT_FORGED;
}

const char *claim_outcome_name(enum claim_outcome o)
{
	return o < CLAIM_OUTCOME_COUNT ? outcome_names[o] : "internal";
}

const char *claim_outcome_label(enum claim_outcome o)
{
	/* a repeat answers like an award (docs/api.md) but is counted apart */
	return o == CLAIM_REPEAT ? "repeat" : claim_outcome_name(o);
}

int claim_http_status(enum claim_outcome o)
{
	switch (o) {
	case CLAIM_AWARDED:
	case CLAIM_REPEAT:
		return 200;
	case CLAIM_ALREADY_CLAIMED:
		return 409;
	case CLAIM_TYPO:
	case CLAIM_BAD_REQUEST:
		return 400;
	case CLAIM_NOT_GENUINE:
		return 404;
	case CLAIM_RECALLED:
	case CLAIM_VOID:
	case CLAIM_REVOKED:
	case CLAIM_INACTIVE:
	case CLAIM_CODE_VOID:
	case CLAIM_STOLEN:
	case CLAIM_DESTROYED:
	case CLAIM_EXPIRED:
		return 410;
	case CLAIM_SAMPLE:
		return 403;
	case CLAIM_PIN_REQUIRED:
	case CLAIM_PIN_WRONG:
		return 403;
	case CLAIM_THROTTLED:
	case CLAIM_RATE_LIMITED:
		return 429;
	case CLAIM_UNAVAILABLE:
		return 503;
	case CLAIM_INTERNAL:
	case CLAIM_OUTCOME_COUNT:
		break;
	}
	return 500;
}

/* Finish a claim: record the scan, count it, tell the caller, free it. */
static void claim_finish(struct claim *cl, struct claim_result *res)
{
	struct worker *w = cl->r->w;
	const char *shown = cl->c.verdict == VERDICT_TYPO ? cl->input : cl->c.v.fields.text;
	if (res->outcome != CLAIM_BAD_REQUEST)
		scanlog_add(w->scanlog, &(struct scanlog_client){cl->r->client, cl->r->user_agent},
		            SCANLOG_CLAIM, shown, lookup_check_serial(&cl->c),
		            claim_outcome_label(res->outcome), cl->member[0] ? cl->member : NULL);
	metrics_claim(&w->metrics, res->outcome);
	snprintf(res->code, sizeof res->code, "%s",
	         cl->c.verdict == VERDICT_TYPO ? "" : cl->c.v.fields.text);
	snprintf(res->member, sizeof res->member, "%s", cl->member);
	res->batch = cl->c.batch;
	if (res->outcome == CLAIM_AWARDED && cl->signed_in) {
		/* a browser that came through a share link: the referral, settled by this claim */
		char serial[24];
		snprintf(serial, sizeof serial, "%llu",
		         (unsigned long long)lookup_check_serial(&cl->c));
		referral_note(cl->r, cl->member, serial);
	}
	cl->done(cl->arg, res);
	json_decref(res->campaign);
	lookup_check_release(&cl->c);
	free(cl);
}

static void finish_with(struct claim *cl, enum claim_outcome o)
{
	struct claim_result res = {.outcome = o};
	if (o == CLAIM_UNAVAILABLE)
		res.retry_after = 1;
	claim_finish(cl, &res);
}

static enum claim_outcome outcome_parse(const char *s)
{
	static const struct {
		const char *name;
		enum claim_outcome o;
	} map[] = {
	    {"awarded", CLAIM_AWARDED},
	    {"repeat", CLAIM_REPEAT},
	    {"claimed", CLAIM_ALREADY_CLAIMED},
	    {"not_genuine", CLAIM_NOT_GENUINE},
	    {"recalled", CLAIM_RECALLED},
	    {"void_batch", CLAIM_VOID},
	    {"pin_required", CLAIM_PIN_REQUIRED},
	    {"pin_wrong", CLAIM_PIN_WRONG},
	    {"throttled", CLAIM_THROTTLED},
	    {"inactive", CLAIM_INACTIVE},
	    {"void", CLAIM_CODE_VOID},
	    {"stolen", CLAIM_STOLEN},
	    {"destroyed", CLAIM_DESTROYED},
	    {"sample", CLAIM_SAMPLE},
	    {"expired", CLAIM_EXPIRED},
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strcmp(s, map[i].name) == 0)
			return map[i].o;
	return CLAIM_INTERNAL;
}

/* ---- the batcher's side ------------------------------------------------------- */

static void claims_add(struct batch_params *bp, struct batch_item *item)
{
	struct claim *cl = (struct claim *)item;
	batch_param_uint(bp, 0, cl->c.v.serial);
	batch_param_int(bp, 1, cl->c.batch->id);
	batch_param_str(bp, 2, cl->member);
	batch_param_int(bp, 3, cl->pin_state);
	/*
	 * the address the wrong PINs are counted against (sql/007_consumer.sql);
	 * none for a signed-in member with the right PIN, whom no address's
	 * backoff may hold up (a stranger failing from the same network included)
	 */
	batch_param_str(bp, 4,
	                cl->r->client[0] && !(cl->signed_in && cl->pin_state == PIN_RIGHT)
	                    ? cl->r->client
	                    : NULL);
	batch_param_str(bp, 5, cl->region[0] ? cl->region : NULL);
}

static int retryable(const char *sqlstate)
{
	return strcmp(sqlstate, "40P01") == 0 || strcmp(sqlstate, "40001") == 0;
}

/* Errors about the database's state, not about a claim: connection (08),
 * resources (53), operator intervention and timeouts (57), system (58). */
static int unavailable_state(const char *sqlstate)
{
	static const char *const classes[] = {"08", "53", "57", "58"};
	for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
		if (strncmp(sqlstate, classes[i], 2) == 0)
			return 1;
	return 0;
}

static void claims_done(void *ctx, struct batch_item **items, size_t n, const struct pool_result *r)
{
	struct claims *cs = ctx;
	if (r->status == POOL_SQL_ERROR && retryable(r->sqlstate) &&
	    ((struct claim *)items[0])->retries == 0) {
		log_warn("event=claim_retry sqlstate=%s claims=%zu", r->sqlstate, n);
		for (size_t i = 0; i < n; i++)
			((struct claim *)items[i])->retries++;
		batch_retry(cs->batcher, items, n);
		return;
	}
	int rows = r->status == POOL_OK ? PQntuples(r->res) : 0;
	if (r->status == POOL_OK && (size_t)rows != n) {
		log_error("event=claim_rows_mismatch rows=%d claims=%zu", rows, n);
		rows = -1;
	}
	int unavailable = r->status == POOL_UNAVAILABLE ||
	                  (r->status == POOL_SQL_ERROR && unavailable_state(r->sqlstate));
	if (r->status == POOL_SQL_ERROR) {
		char q[256];
		log_error("event=claim_failed sqlstate=%s claims=%zu reason=%s", r->sqlstate, n,
		          log_quote(r->message, q, sizeof q));
	}
	if (r->status == POOL_SQL_ERROR && !unavailable && n > 1) {
		/*
		 * One claim can fail the whole statement (and nothing committed):
		 * run each again on its own, so that only the failing one fails.
		 */
		log_warn("event=claim_batch_split claims=%zu", n);
		for (size_t i = 0; i < n; i++)
			items[i]->alone = 1;
		batch_retry(cs->batcher, items, n);
		return;
	}
	if (r->status == POOL_OK) {
		metrics_add(&cs->w->metrics.claim_batches, 1);
		metrics_add(&cs->w->metrics.claim_batch_items, n);
	}
	for (size_t i = 0; i < n; i++) {
		struct claim *cl = (struct claim *)items[i];
		struct claim_result res = {.outcome = CLAIM_INTERNAL};
		if (unavailable) {
			res.outcome = CLAIM_UNAVAILABLE;
			res.retry_after = 1;
		} else if (r->status == POOL_OK && rows >= 0) {
			/* claim_many returns one row per input, in input order */
			PGresult *pg = r->res;
			int row = (int)i;
			res.outcome = outcome_parse(PQgetvalue(pg, row, 1));
			if (!PQgetisnull(pg, row, 2))
				res.points = atoi(PQgetvalue(pg, row, 2));
			if (!PQgetisnull(pg, row, 3))
				res.balance = strtoll(PQgetvalue(pg, row, 3), NULL, 10);
			if (!PQgetisnull(pg, row, 4))
				timefmt_pg_to_iso(PQgetvalue(pg, row, 4), res.claimed_at);
			if (!PQgetisnull(pg, row, 5))
				res.retry_after = atoi(PQgetvalue(pg, row, 5));
			if (!PQgetisnull(pg, row, 6)) /* the campaigns' part (021_campaigns.sql) */
				res.campaign = json_loads(PQgetvalue(pg, row, 6), 0, NULL);
		}
		claim_finish(cl, &res);
	}
}

static const struct batch_ops claim_ops = {
    .stmt = "claim_many",
    .ncols = 6,
    .add = claims_add,
    .done = claims_done,
};

struct claims *claims_new(struct worker *w)
{
	struct claims *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->w = w;
	/* claims that arrive while these transactions run commit together in the next */
	c->batcher =
	    batcher_new(w->pool, &claim_ops, c, w->srv->cfg.claim_batches, CLAIM_BATCH_MAX);
	if (!c->batcher) {
		free(c);
		return NULL;
	}
	return c;
}

void claims_free(struct claims *c)
{
	if (!c)
		return;
	batcher_free(c->batcher);
	free(c);
}

size_t claims_pending(const struct claims *c)
{
	return batch_pending(c->batcher);
}

/* ---- the engine ----------------------------------------------------------------- */

static int pin_valid(const char *pin)
{
	size_t n = strlen(pin);
	return n <= PIN_INPUT_MAX && strspn(pin, "0123456789 -") == n;
}

void claim_start(struct request *r, const char *code, size_t codelen, const char *member,
                 size_t memberlen, const char *pin, claim_done_fn done, void *arg)
{
	struct worker *w = r->w;
	struct claim *cl = calloc(1, sizeof *cl);
	if (!cl) {
		struct claim_result res = {.outcome = CLAIM_UNAVAILABLE, .retry_after = 1};
		done(arg, &res);
		return;
	}
	cl->r = r;
	cl->done = done;
	cl->arg = arg;
	cl->c.verdict = VERDICT_TYPO;
	text_printable(code, codelen, cl->input, sizeof cl->input);

	lookup_check(w, code, codelen, &cl->c);
	enum phone_result why;
	if (member && member_id_normalize(member, memberlen, w->srv->cfg.default_country,
	                                  cl->member, &why) < 0) {
		struct claim_result res = {
		    .outcome = CLAIM_BAD_REQUEST,
		    .message = member_id_message(why),
		    .member_why = why,
		    .bad_member = 1,
		};
		cl->member[0] = '\0';
		claim_finish(cl, &res);
		return;
	}
	cl->signed_in = r->member[0] && strcmp(r->member, cl->member) == 0;
	if (pin && !pin_valid(pin)) {
		struct claim_result res = {.outcome = CLAIM_BAD_REQUEST,
		                           .message =
		                               "a PIN is the digits printed inside the pack"};
		claim_finish(cl, &res);
		return;
	}
	switch (cl->c.verdict) {
	case VERDICT_TYPO:
		finish_with(cl, CLAIM_TYPO);
		return;
	case VERDICT_FORGED:
		finish_with(cl, CLAIM_NOT_GENUINE);
		return;
	case VERDICT_REVOKED:
		finish_with(cl, CLAIM_REVOKED);
		return;
	case VERDICT_RECALLED:
		finish_with(cl, CLAIM_RECALLED);
		return;
	case VERDICT_VOID:
		finish_with(cl, CLAIM_VOID);
		return;
	case VERDICT_UNKNOWN_KEY: {
		/* this server cannot verify the code yet: "try again", never "not genuine" */
		struct claim_result res = {
		    .outcome = CLAIM_UNAVAILABLE, .retry_after = 1, .message = cannot_verify};
		claim_finish(cl, &res);
		return;
	}
	case VERDICT_INACTIVE:
	case VERDICT_CODE_VOID:
	case VERDICT_STOLEN:
	case VERDICT_DESTROYED:
	case VERDICT_SAMPLE:
	case VERDICT_EXPIRED:
		for (size_t i = 0; i < sizeof supply_refusals / sizeof supply_refusals[0]; i++)
			if (supply_refusals[i].v == cl->c.verdict) {
				finish_with(cl, supply_refusals[i].o);
				return;
			}
		break;
	case VERDICT_GENUINE:
		break;
	}
	if (cl->c.batch->pin_required) {
		char digits[PIN_INPUT_MAX + 1];
		size_t o = 0;
		for (const char *p = pin ? pin : ""; *p; p++)
			if (*p >= '0' && *p <= '9')
				digits[o++] = *p;
		digits[o] = '\0';
		if (o == 0) {
			finish_with(cl, CLAIM_PIN_REQUIRED);
			return;
		}
		cl->pin_state = code_pin_equal(cl->c.v.pin, digits) ? PIN_RIGHT : PIN_WRONG;
	}
	if (!member) { /* the caller's precheck said the member would not matter */
		finish_with(cl, CLAIM_INTERNAL);
		return;
	}
	/* only claims that would reach the database count against the member */
	int wait = ratelimit_take(w->ratelimit, RATELIMIT_MEMBER_CLAIMS,
	                          ratelimit_str_key(cl->member, strlen(cl->member)), r->start_us);
	if (wait > 0) {
		struct claim_result res = {.outcome = CLAIM_RATE_LIMITED, .retry_after = wait};
		metrics_add(&w->metrics.rate_limited[r->slot][1], 1);
		claim_finish(cl, &res);
		return;
	}
	scanlog_region(w->scanlog, r->client, cl->region, sizeof cl->region);
	if (batch_add(w->claims->batcher, &cl->item) < 0)
		finish_with(cl, CLAIM_UNAVAILABLE);
}

int claim_would_reach_db(struct worker *w, const char *code, size_t codelen, const char *pin)
{
	/* lookup_check's judgement without its counting: claim_start counts it */
	struct verification v;
	if (keyring_verify(w->keys.kr, code, codelen, &v) != VERDICT_GENUINE)
		return 0;
	struct catalog_snapshot *snap = catalog_snapshot_ref(worker_catalog(w));
	const struct catalog_batch *b = catalog_find(snap, v.serial);
	int go = b && b->key_id == v.fields.key_id && b->status == BATCH_ACTIVE &&
	         (!b->pin_required || (pin && strpbrk(pin, "0123456789"))) &&
	         (!pin || pin_valid(pin));
	catalog_snapshot_unref(snap);
	return go;
}

/* ---- POST /api/v1/claims ----------------------------------------------------------- */

static void api_done(void *arg, const struct claim_result *res)
{
	claim_reply_json(arg, res);
}

void claim_reply_json(struct request *r, const struct claim_result *res)
{
	int status = claim_http_status(res->outcome);
	char num[16];

	switch (res->outcome) {
	case CLAIM_BAD_REQUEST:
		http_reply_error(r, 400, "bad_request", res->message);
		return;
	case CLAIM_UNAVAILABLE:
		if (res->message == cannot_verify)
			http_reply_error(r, 503, "cannot_verify", res->message);
		else
			http_reply_error(r, 503, "unavailable", "database unavailable, try again");
		return;
	case CLAIM_INTERNAL:
		http_reply_error(r, 500, "internal", "the claim could not be processed");
		return;
	case CLAIM_RATE_LIMITED:
		http_reply_too_many(r, res->retry_after, "too many claims for this member");
		return;
	default:
		break;
	}
	json_t *o = json_object();
	json_object_set_new(o, "outcome", json_string(claim_outcome_name(res->outcome)));
	if (res->code[0])
		json_object_set_new(o, "code", json_string(res->code));
	switch (res->outcome) {
	case CLAIM_AWARDED:
	case CLAIM_REPEAT:
		json_object_set_new(o, "repeat", json_boolean(res->outcome == CLAIM_REPEAT));
		json_object_set_new(o, "member", json_string(res->member));
		json_object_set_new(o, "points", json_integer(res->points));
		json_object_set_new(o, "balance", json_integer(res->balance));
		json_object_set_new(o, "claimed_at", json_string(res->claimed_at));
		if (res->batch)
			json_object_set_new(o, "product",
			                    json_pack("{s:s,s:s}", "sku", res->batch->sku, "name",
			                              res->batch->name));
		if (res->campaign)
			json_object_set(o, "campaign", res->campaign);
		break;
	case CLAIM_ALREADY_CLAIMED:
		json_object_set_new(o, "claimed_at", json_string(res->claimed_at));
		break;
	case CLAIM_TYPO:
		json_object_set_new(o, "message",
		                    json_string("check the characters: one is mistyped or two "
		                                "neighbours are swapped"));
		break;
	case CLAIM_THROTTLED:
		json_object_set_new(o, "retry_after", json_integer(res->retry_after));
		snprintf(num, sizeof num, "%d", res->retry_after > 0 ? res->retry_after : 1);
		http_header(r, "Retry-After", num);
		break;
	case CLAIM_PIN_WRONG:
		/* this failure made this address and member wait before their next PIN */
		if (res->retry_after > 0) {
			json_object_set_new(o, "retry_after", json_integer(res->retry_after));
			snprintf(num, sizeof num, "%d", res->retry_after);
			http_header(r, "Retry-After", num);
		}
		break;
	default:
		break;
	}
	http_reply_json(r, status, o);
}

/*
 * POST /api/v1/claims: who the member is comes from the caller, never from
 * free text: a bearer token with the claims scope names a member it
 * verified itself (a phone or an external id, resolved to the member of
 * that identity, made if new: auth_resolve); otherwise the member signed
 * in (a session cookie, with its CSRF token), and the body names none.
 */
struct api_claim {
	struct request *r;
	struct claim_request cr;
};

static void api_claim_free(struct api_claim *a)
{
	claim_request_release(&a->cr);
	free(a);
}

/* 0 with a->cr decoded, or -1 with r answered (a freed). */
static int api_decode(struct api_claim *a)
{
	size_t len;
	char err[200];
	const char *body = http_body(a->r, "application/json", &len);
	if (!body) {
		free(a);
		return -1;
	}
	switch (claim_request_decode(body, len, &a->cr, err, sizeof err)) {
	case CLAIM_DECODE_BAD_JSON:
		http_reply_error(a->r, 400, "bad_json", err);
		free(a);
		return -1;
	case CLAIM_DECODE_BAD_REQUEST:
		http_reply_error(a->r, 400, "bad_request", err);
		free(a);
		return -1;
	case CLAIM_DECODE_OK:
		break;
	}
	return 0;
}

static void api_resolved(void *arg, struct request *r, const struct auth_result *res)
{
	struct api_claim *a = arg;
	switch (res->outcome) {
	case AUTH_OK:
		claim_start(r, a->cr.code, a->cr.codelen, res->member, strlen(res->member),
		            a->cr.pin, api_done, r);
		break;
	case AUTH_BAD_INPUT:
		http_reply_error(r, 400, "bad_request", res->message);
		break;
	case AUTH_UNAVAILABLE:
		http_reply_error(r, 503, "unavailable", "database unavailable, try again");
		break;
	default:
		http_reply_error(r, 500, "internal", "the member could not be resolved");
		break;
	}
	api_claim_free(a);
}

static void api_signed_in(struct request *r)
{
	if (!r->member[0]) {
		http_header(r, "WWW-Authenticate", "Bearer realm=\"packcode-admin\"");
		http_reply_error(r, 401, "unauthorized",
		                 "sign in first (a member session), or claim with an admin token "
		                 "that has the claims scope");
		return;
	}
	if (!http_member_csrf_ok(r, NULL)) {
		http_reply_member_csrf(r);
		return;
	}
	struct api_claim *a = calloc(1, sizeof *a);
	if (!a) {
		http_reply_error(r, 503, "unavailable", "out of memory");
		return;
	}
	a->r = r;
	if (api_decode(a) < 0)
		return;
	if (a->cr.member) {
		http_reply_error(r, 400, "bad_request",
		                 "a member session claims for its member: leave member out");
		api_claim_free(a);
		return;
	}
	claim_start(r, a->cr.code, a->cr.codelen, r->member, strlen(r->member), a->cr.pin, api_done,
	            r);
	api_claim_free(a);
}

void claim_handle_api(struct request *r)
{
	enum tokens_auth t = http_bearer(r);
	if (t == TOKENS_MISSING) {
		http_member(r, api_signed_in);
		return;
	}
	if (t != TOKENS_OK) {
		http_reply_unauthorized(r, t);
		return;
	}
	if (!(r->admin.scopes & SCOPE_CLAIMS)) {
		http_header(r, "WWW-Authenticate",
		            "Bearer realm=\"packcode-admin\", error=\"insufficient_scope\", "
		            "scope=\"claims\"");
		http_reply_json(r, 403,
		                json_pack("{s:s,s:s,s:s}", "error", "insufficient_scope", "message",
		                          "claiming for a member needs the claims scope", "scope",
		                          "claims"));
		return;
	}
	struct api_claim *a = calloc(1, sizeof *a);
	if (!a) {
		http_reply_error(r, 503, "unavailable", "out of memory");
		return;
	}
	a->r = r;
	if (api_decode(a) < 0)
		return;
	if (!a->cr.member) {
		http_reply_error(r, 400, "bad_request",
		                 "a claim with an admin token names the member it verified");
		api_claim_free(a);
		return;
	}
	/*
	 * A claim the keyring and the catalog refuse (a typo, a forgery, a missing
	 * PIN...) is answered without its member: nobody is made for it.
	 */
	char id[MEMBER_MAX + 1];
	enum phone_result why;
	if (member_id_normalize(a->cr.member, a->cr.memberlen, r->w->srv->cfg.default_country, id,
	                        &why) == 0 &&
	    !claim_would_reach_db(r->w, a->cr.code, a->cr.codelen, a->cr.pin)) {
		claim_start(r, a->cr.code, a->cr.codelen, NULL, 0, a->cr.pin, api_done, r);
		api_claim_free(a);
		return;
	}
	auth_resolve(r, a->cr.member, a->cr.memberlen, api_resolved, a);
}
