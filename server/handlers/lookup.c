/*
 * lookup.c: the verdict on a code and the facts the database holds about it;
 * GET /api/v1/codes/{code}.
 *
 * Typos and forgeries are answered from the keyring alone, never touching
 * the database. A genuine code's facts come from lookup_codes(), many
 * serials per call when lookups pile up.
 */
#include "handlers/lookup.h"
#include "text.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "clock.h"
#include "engine/batch.h"
#include "engine/catalog.h"
#include "edge/http.h"
#include "log.h"
#include "engine/scanlog.h"
#include "server.h"

#define LOOKUP_BATCH_MAX 256

struct lookups {
	struct worker *w;
	struct batcher *batcher;
};

struct fact_req {
	struct batch_item item; /* first: items are cast back */
	uint64_t serial;
	int64_t scanner;
	lookup_facts_fn fn;
	void *arg;
};

/*
 * A code of a key id the worker's keyring does not hold: the keyring file
 * may have a new key the control loop has not told us of yet. Look at it
 * now (at most once a second: a flood of made-up key ids costs a stat a
 * second) and judge the code again. VERDICT_UNKNOWN_KEY if still unknown.
 */
static enum verdict unknown_key(struct worker *w, const char *in, size_t len,
                                struct lookup_check *out)
{
	char err[KEYRING_ERR_LEN];
	switch (keyfile_refresh(&w->keys, w->srv->cfg.keyring_path, clock_ms(), 1000, err,
	                        sizeof err)) {
	case KEYFILE_RELOADED:
		log_info("event=keyring_reloaded worker=%d keys=%zu why=unknown_key key=%u", w->id,
		         w->keys.kr->n, out->v.fields.key_id);
		out->verdict = keyring_verify(w->keys.kr, in, len, &out->v);
		if (out->verdict != VERDICT_FORGED ||
		    keyring_find(w->keys.kr, out->v.fields.key_id))
			return out->verdict;
		break;
	case KEYFILE_FAILED:
		log_error("event=keyring_reload_failed worker=%d reason=%s", w->id, LOG_Q(err));
		break;
	case KEYFILE_SAME:
	case KEYFILE_TOO_SOON:
		break;
	}
	metrics_add(&w->metrics.unknown_key, 1);
	return out->verdict = VERDICT_UNKNOWN_KEY;
}

/* 1 if b's expiry date is before today (UTC). */
static int expired_today(const struct catalog_batch *b)
{
	char today[40];
	struct tm tm;
	time_t now = time(NULL);
	gmtime_r(&now, &tm);
	snprintf(today, sizeof today, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday);
	return catalog_expired(b, today);
}

void lookup_check(struct worker *w, const char *in, size_t len, struct lookup_check *out)
{
	memset(out, 0, sizeof *out);
	out->verdict = keyring_verify(w->keys.kr, in, len, &out->v);
	if (out->verdict == VERDICT_FORGED && !keyring_find(w->keys.kr, out->v.fields.key_id) &&
	    unknown_key(w, in, len, out) == VERDICT_UNKNOWN_KEY)
		return; /* never "not genuine": this server cannot say */
	if (out->verdict == VERDICT_FORGED)
		metrics_add(&w->metrics.forged, 1);
	if (out->verdict != VERDICT_GENUINE && out->verdict != VERDICT_REVOKED)
		return;
	out->snap = catalog_snapshot_ref(worker_catalog(w));
	const struct catalog_batch *b = catalog_find(out->snap, out->v.serial);
	if (!b || b->key_id != out->v.fields.key_id) {
		/* signed by us, but no print run of that key holds it: never minted */
		out->verdict = VERDICT_FORGED;
		metrics_add(&w->metrics.forged, 1);
		return;
	}
	out->batch = b;
	if (out->verdict == VERDICT_REVOKED)
		return;
	if (b->status == BATCH_RECALLED)
		out->verdict = VERDICT_RECALLED;
	else if (b->status != BATCH_ACTIVE && b->status != BATCH_EXPIRED)
		out->verdict = VERDICT_VOID;
	else if (!catalog_released(b, out->v.serial))
		out->verdict = VERDICT_INACTIVE;
	else if (b->status == BATCH_EXPIRED || (b->expiry[0] && expired_today(b)))
		out->verdict = VERDICT_EXPIRED;
}

void lookup_apply_state(struct lookup_check *c, const char *state)
{
	static const struct {
		const char *name;
		enum verdict v;
	} states[] = {{"void", VERDICT_CODE_VOID},
	              {"stolen", VERDICT_STOLEN},
	              {"destroyed", VERDICT_DESTROYED},
	              {"sample", VERDICT_SAMPLE}};
	if (!state || !state[0] ||
	    (c->verdict != VERDICT_GENUINE && c->verdict != VERDICT_INACTIVE &&
	     c->verdict != VERDICT_EXPIRED))
		return;
	for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
		if (strcmp(state, states[i].name) == 0)
			c->verdict = states[i].v;
}

int lookup_dl_mismatch(const struct catalog_batch *b, const char *gtin, const char *lot)
{
	if (!b || !gtin)
		return 0;
	if (!b->gtin[0] || strcmp(gtin, b->gtin) != 0)
		return 1;
	return lot && lot[0] && strcmp(lot, b->lot) != 0;
}

static void inactive_alerted(void *arg, const struct pool_result *res)
{
	(void)arg;
	if (res->status == POOL_SQL_ERROR)
		log_error("event=inactive_alert_failed sqlstate=%s", res->sqlstate);
}

void lookup_alert_inactive(struct worker *w, const struct lookup_check *c, const char *client)
{
	char serial[24], batch[24];
	if (c->verdict != VERDICT_INACTIVE || !c->batch)
		return;
	snprintf(serial, sizeof serial, "%llu", (unsigned long long)c->v.serial);
	snprintf(batch, sizeof batch, "%lld", (long long)c->batch->id);
	struct pool_query q = {
	    .stmt = "code_inactive_scanned",
	    .nparams = 4,
	    .values = {serial, batch, c->v.fields.text, client && client[0] ? client : NULL}};
	log_warn("event=inactive_scanned serial=%s batch=%s", serial, batch);
	if (pool_submit(w->pool, &q, inactive_alerted, NULL) < 0)
		log_error("event=inactive_alert_failed reason=unavailable");
}

void lookup_check_release(struct lookup_check *c)
{
	catalog_snapshot_unref(c->snap);
	c->snap = NULL;
	c->batch = NULL;
}

uint64_t lookup_check_serial(const struct lookup_check *c)
{
	return c->batch ? c->v.serial : 0;
}

int lookup_http_status(enum verdict v)
{
	switch (v) {
	case VERDICT_GENUINE:
	case VERDICT_SAMPLE:
		return 200;
	case VERDICT_TYPO:
		return 400;
	case VERDICT_FORGED:
		return 404;
	case VERDICT_REVOKED:
	case VERDICT_VOID:
	case VERDICT_RECALLED:
	case VERDICT_INACTIVE:
	case VERDICT_CODE_VOID:
	case VERDICT_STOLEN:
	case VERDICT_DESTROYED:
	case VERDICT_EXPIRED:
		return 410;
	case VERDICT_UNKNOWN_KEY:
		return 503;
	}
	return 500;
}

/* ---- batched fact lookups --------------------------------------------------- */

static void facts_add(struct batch_params *bp, struct batch_item *item)
{
	batch_param_uint(bp, 0, ((struct fact_req *)item)->serial);
	batch_param_int(bp, 1, ((struct fact_req *)item)->scanner);
}

static void facts_done(void *ctx, struct batch_item **items, size_t n, const struct pool_result *r)
{
	(void)ctx;
	int rows = r->status == POOL_OK ? PQntuples(r->res) : 0;
	enum pool_status st = r->status;
	if (st == POOL_OK && (size_t)rows != n) {
		log_error("event=lookup_rows_mismatch rows=%d items=%zu", rows, n);
		st = POOL_SQL_ERROR;
	}
	if (st == POOL_SQL_ERROR)
		log_error("event=lookup_failed sqlstate=%s", r->sqlstate);
	for (size_t i = 0; i < n; i++) {
		struct fact_req *q = (struct fact_req *)items[i];
		struct lookup_facts_row f = {0};
		if (st == POOL_OK) {
			int row = (int)i; /* code_facts keeps input order */
			f.claimed = !PQgetisnull(r->res, row, 2);
			if (f.claimed)
				timefmt_pg_to_iso(PQgetvalue(r->res, row, 2), f.claimed_at);
			f.scan_count = strtoll(PQgetvalue(r->res, row, 3), NULL, 10);
			if (!PQgetisnull(r->res, row, 4))
				timefmt_pg_to_iso(PQgetvalue(r->res, row, 4), f.first_scan);
			f.scanners = strtoll(PQgetvalue(r->res, row, 5), NULL, 10);
			f.known = PQgetvalue(r->res, row, 6)[0] == 't';
			f.claimed_here = PQgetvalue(r->res, row, 7)[0] == 't';
			if (PQnfields(r->res) > 8 && !PQgetisnull(r->res, row, 8))
				snprintf(f.state, sizeof f.state, "%s", PQgetvalue(r->res, row, 8));
		}
		q->fn(q->arg, st, &f);
		free(q);
	}
}

static const struct batch_ops facts_ops = {
    .stmt = "code_facts",
    .ncols = 2,
    .add = facts_add,
    .done = facts_done,
};

struct lookups *lookups_new(struct worker *w)
{
	struct lookups *l = calloc(1, sizeof *l);
	if (!l)
		return NULL;
	l->w = w;
	/* few queries in flight, each for many codes: far less work per lookup */
	l->batcher =
	    batcher_new(w->pool, &facts_ops, l, w->srv->cfg.lookup_batches, LOOKUP_BATCH_MAX);
	if (!l->batcher) {
		free(l);
		return NULL;
	}
	return l;
}

void lookups_free(struct lookups *l)
{
	if (!l)
		return;
	batcher_free(l->batcher);
	free(l);
}

size_t lookups_pending(const struct lookups *l)
{
	return batch_pending(l->batcher);
}

int lookup_facts(struct worker *w, uint64_t serial, int64_t scanner, lookup_facts_fn fn, void *arg)
{
	struct fact_req *q = calloc(1, sizeof *q);
	if (!q)
		return -1;
	q->serial = serial;
	q->scanner = scanner;
	q->fn = fn;
	q->arg = arg;
	if (batch_add(w->lookups->batcher, &q->item) < 0) {
		free(q);
		return -1;
	}
	return 0;
}

long long lookup_scanners_now(const struct lookup_facts_row *f, int is_scan)
{
	return f->scanners + (is_scan && !f->known);
}

/* ---- what is a scan ------------------------------------------------------------ */

/*
 * Link-preview fetchers and crawlers, by a token of their User-Agent (any
 * case). A chat app fetching a shared link, a search engine: nobody looked
 * at the pack. WeChat's own browser (MicroMessenger) is a person and counts.
 */
static const char *const preview_bots[] = {
    "WhatsApp",
    "facebookexternalhit",
    "Facebot",
    "meta-externalagent",
    "Slackbot",
    "Slack-ImgProxy",
    "Twitterbot",
    "TelegramBot",
    "Discordbot",
    "LinkedInBot",
    "SkypeUriPreview",
    "Googlebot",
    "Google-InspectionTool",
    "bingbot",
    "Applebot",
    "Baiduspider",
    "Sogou",
    "YandexBot",
    "DuckDuckBot",
    "Bytespider",
    "redditbot",
    "Pinterest",
    "vkShare",
    "Embedly",
    "Iframely",
    "WeChatShareExtension",
    "Wechat-Spider",
    "WeChatBot",
    "QQ-URL-Manager",
    "Line/",
    "bot/",
    "spider",
    "crawler",
    "preview",
};

static int contains_nocase(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return 1;
	return 0;
}

int lookup_preview_bot(const char *user_agent)
{
	if (!user_agent)
		return 0;
	for (size_t i = 0; i < sizeof preview_bots / sizeof preview_bots[0]; i++)
		if (contains_nocase(user_agent, preview_bots[i]))
			return 1;
	return 0;
}

int lookup_is_scan(const struct request *r)
{
	return evhttp_request_get_command(r->req) != EVHTTP_REQ_HEAD &&
	       !lookup_preview_bot(r->user_agent);
}

/* ---- GET /api/v1/codes/{code} ------------------------------------------------ */

void lookup_reply_unknown_key(struct request *r, const struct lookup_check *c)
{
	http_header(r, "Retry-After", "1");
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:i}", "error", "cannot_verify", "message",
	                      "this server does not know the key of this code yet: try again "
	                      "shortly",
	                      "code", c->v.fields.text, "verdict", verdict_name(c->verdict),
	                      "retry_after", 1);
	http_reply_json(r, 503, o);
}

struct lookup_req {
	struct request *r;
	struct lookup_check c;
	int is_scan;
};

/* The reply for a code the keyring and catalog judged alone: typo or not genuine. */
static json_t *verdict_json(const struct lookup_check *c, const char *input)
{
	json_t *o = json_object();
	if (c->verdict == VERDICT_TYPO) {
		char shown[CODE_INPUT_MAX + 1];
		text_printable(input, strlen(input), shown, sizeof shown);
		json_object_set_new(o, "code", json_string(shown));
	} else {
		json_object_set_new(o, "code", json_string(c->v.fields.text));
	}
	json_object_set_new(o, "verdict", json_string(verdict_name(c->verdict)));
	json_object_set_new(o, "genuine", json_false());
	if (c->verdict == VERDICT_TYPO)
		json_object_set_new(o, "message",
		                    json_string("check the characters: one is mistyped or two "
		                                "neighbours are swapped"));
	return o;
}

static void lookup_facts_done(void *arg, enum pool_status st, const struct lookup_facts_row *f)
{
	struct lookup_req *l = arg;
	struct request *r = l->r;
	if (st != POOL_OK) {
		if (st == POOL_UNAVAILABLE)
			http_reply_error(r, 503, "unavailable", "database unavailable, try again");
		else
			http_reply_error(r, 500, "internal", "lookup failed");
		goto out;
	}
	lookup_apply_state(&l->c, f->state);
	/* an expired pack says since when (a YYYY-MM-DD, or null: taken out of sale early) */
	char expired[48] = "";
	if (l->c.verdict == VERDICT_EXPIRED)
		snprintf(expired, sizeof expired, ",\"expired_on\":%s%s%s",
		         l->c.batch->expiry[0] ? "\"" : "",
		         l->c.batch->expiry[0] ? l->c.batch->expiry : "null",
		         l->c.batch->expiry[0] ? "\"" : "");
	/*
	 * Every value here is safe in a JSON string as is (a canonical code, fixed
	 * names, ISO times) and the batch's part is rendered by jansson once per
	 * catalog snapshot: no JSON tree per reply on this hot path.
	 */
	char now[TIMEFMT_ISO_LEN + 2];
	now[0] = '"';
	timefmt_now_iso(now + 1);
	strcat(now, "\"");
	/* this lookup is a scan too (unless a HEAD or a bot): it is being recorded as we answer */
	evbuffer_add_printf(
	    http_out(r),
	    "{\"code\":\"%s\",\"verdict\":\"%s\",\"genuine\":%s,%s%s,\"scan_count\":%lld,"
	    "\"scanners\":%lld,\"first_scan\":%s%s%s,\"claimed\":%s,\"claimed_at\":%s%s%s}\n",
	    l->c.v.fields.text, verdict_name(l->c.verdict),
	    l->c.verdict == VERDICT_GENUINE || l->c.verdict == VERDICT_SAMPLE ? "true" : "false",
	    l->c.batch->json, expired, f->scan_count + l->is_scan,
	    lookup_scanners_now(f, l->is_scan), f->first_scan[0] ? "\"" : "",
	    f->first_scan[0] ? f->first_scan : (l->is_scan ? now : "null"),
	    f->first_scan[0] ? "\"" : "", f->claimed ? "true" : "false", f->claimed ? "\"" : "",
	    f->claimed ? f->claimed_at : "null", f->claimed ? "\"" : "");
	http_reply_json_out(r, lookup_http_status(l->c.verdict));
out:
	lookup_check_release(&l->c);
	free(l);
}

void lookup_handle(struct request *r, const char *code, size_t len)
{
	lookup_answer(r, code, len, SCANLOG_LOOKUP, NULL, NULL);
}

void lookup_answer(struct request *r, const char *code, size_t len, int kind, const char *gtin,
                   const char *lot)
{
	struct lookup_check c;
	struct scanlog_client who = {r->client, r->user_agent};
	int is_scan = lookup_is_scan(r);
	lookup_check(r->w, code, len, &c);
	if (lookup_dl_mismatch(c.batch, gtin, lot)) {
		/* a code of ours on a Digital Link of another product or lot: not what we printed
		 */
		lookup_check_release(&c);
		c.verdict = VERDICT_FORGED;
	}
	const char *shown = c.verdict == VERDICT_TYPO ? code : c.v.fields.text;
	if (is_scan) {
		scanlog_add(r->w->scanlog, &who, (enum scanlog_kind)kind, shown,
		            lookup_check_serial(&c), verdict_name(c.verdict), NULL);
		lookup_alert_inactive(r->w, &c, r->client);
	}
	if (c.verdict == VERDICT_UNKNOWN_KEY) {
		lookup_reply_unknown_key(r, &c);
		lookup_check_release(&c);
		return;
	}
	if (c.verdict == VERDICT_FORGED) {
		/* the commonest answer to an attack: the canonical code needs no escaping */
		evbuffer_add_printf(
		    http_out(r),
		    "{\"code\":\"%s\",\"verdict\":\"not_genuine\",\"genuine\":false}\n",
		    c.v.fields.text);
		http_reply_json_out(r, 404);
		lookup_check_release(&c);
		return;
	}
	if (!c.batch) {
		/* a typo: the keyring said it all */
		http_reply_json(r, lookup_http_status(c.verdict), verdict_json(&c, code));
		lookup_check_release(&c);
		return;
	}
	struct lookup_req *l = calloc(1, sizeof *l);
	if (!l) {
		http_reply_error(r, 503, "unavailable", "out of memory");
		lookup_check_release(&c);
		return;
	}
	l->r = r;
	l->c = c; /* the snapshot reference moves with it */
	l->is_scan = is_scan;
	if (lookup_facts(r->w, l->c.v.serial, scanlog_scanner(&who), lookup_facts_done, l) < 0) {
		http_reply_error(r, 503, "unavailable", "database unavailable, try again");
		lookup_check_release(&l->c);
		free(l);
	}
}

/* GET /api/v1/codes/{code?} */
void lookup_route(struct request *r)
{
	char code[LOOKUP_SEGMENT_MAX + 1];
	long n = http_decode(r->cap[0].s, r->cap[0].len, 0, code, sizeof code);
	if (n < 0 || n > CODE_INPUT_MAX) {
		json_t *o =
		    json_pack("{s:s,s:s,s:s}", "verdict", "typo", "error", "bad_request", "message",
		              "a code has at most 20 characters (64 with separators)");
		http_reply_json(r, 400, o);
		return;
	}
	lookup_handle(r, code, (size_t)n);
}
