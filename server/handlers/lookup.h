/*
 * lookup.h: what a code is (keyring + catalog, no database) and what the
 * database knows about it (claimed? scanned how often, since when?), and
 * GET /api/v1/codes/{code}, which consumes nothing.
 *
 * Database lookups that arrive while the pool is busy are sent together as
 * one lookup_codes call.
 */
#ifndef PACKCODE_SERVER_LOOKUP_H
#define PACKCODE_SERVER_LOOKUP_H

#include <stddef.h>
#include <stdint.h>

#include "keyring.h"
#include "engine/pool.h"
#include "engine/timefmt.h"
#include "verdict.h"

struct catalog_batch;
struct catalog_snapshot;
struct request;
struct worker;

struct lookup_check {
	enum verdict verdict;
	struct verification v;             /* v.fields.text: the canonical code unless a typo */
	const struct catalog_batch *batch; /* the batch, when the serial is in one of this key */
	struct catalog_snapshot *snap;     /* a reference keeping batch valid */
};

/*
 * Judge a code from the keyring and the catalog alone (an inactive or
 * expired batch included). Release with lookup_check_release.
 */
void lookup_check(struct worker *w, const char *in, size_t len, struct lookup_check *out);
/*
 * The code's own state from the database (lookup_facts_row.state: "void",
 * "stolen", "destroyed", "sample", or "" for its batch's): it outranks
 * genuine, inactive and expired, not a revoked key or a void or recalled batch.
 */
void lookup_apply_state(struct lookup_check *c, const char *state);
/*
 * 1 if a Digital Link's key qualifiers disagree with the code's batch: a
 * GTIN that is not its product's (also when the product has none), or a
 * lot (AI 10; NULL or "" when absent) that is not its batch's. Not genuine.
 */
int lookup_dl_mismatch(const struct catalog_batch *b, const char *gtin, const char *lot);
/*
 * A consumer scanned a code that was never released for sale: file the
 * alert (the outbox event code.inactive_scanned; sql/013_supply.sql),
 * without waiting for it. Nothing for any other verdict.
 */
void lookup_alert_inactive(struct worker *w, const struct lookup_check *c, const char *client);
void lookup_check_release(struct lookup_check *c);
/* The serial to record in scans: 0 unless the code is ours. */
uint64_t lookup_check_serial(const struct lookup_check *c);

struct lookup_facts_row {
	int claimed;
	char claimed_at[TIMEFMT_ISO_LEN];
	long long scan_count;             /* recorded scans (requests), not counting this one */
	char first_scan[TIMEFMT_ISO_LEN]; /* "" if never scanned before */
	long long scanners;               /* distinct scanners recorded (scanlog_scanner) */
	int known;                        /* this request's scanner is one of them */
	int claimed_here;                 /* this request's scanner claimed the code */
	char state[16];                   /* the code's own state (lookup_apply_state), "" none */
};

/* The scanners to show: the recorded ones, and this one if it is new and a scan. */
long long lookup_scanners_now(const struct lookup_facts_row *f, int is_scan);

/* status is POOL_OK (f filled), POOL_UNAVAILABLE or POOL_SQL_ERROR. */
typedef void (*lookup_facts_fn)(void *arg, enum pool_status status,
                                const struct lookup_facts_row *f);

struct lookups;
struct lookups *lookups_new(struct worker *w);
void lookups_free(struct lookups *l);
size_t lookups_pending(const struct lookups *l);

/*
 * Fetch the facts for serial, as seen by scanner (scanlog_scanner); -1 (fn
 * not called) when the database is unavailable.
 */
int lookup_facts(struct worker *w, uint64_t serial, int64_t scanner, lookup_facts_fn fn, void *arg);

/*
 * 1 if r is a scan, to record and count: not a HEAD, nor a link preview or
 * a crawler (lookup_preview_bot). Its verdict is answered all the same.
 */
int lookup_is_scan(const struct request *r);
/* 1 if user_agent is a known link-preview fetcher or crawler (WhatsApp, Slackbot, ...). */
int lookup_preview_bot(const char *user_agent);

/*
 * HTTP status of a verdict: 200 genuine or sample, 400 typo, 404 not
 * genuine, 410 revoked/void/recalled/inactive/stolen/destroyed/expired,
 * 503 unknown key (cannot verify now).
 */
int lookup_http_status(enum verdict v);

/*
 * 503 "cannot verify now" for a code of a key this server does not hold:
 * Retry-After: 1 and {"error":"cannot_verify",...,"code","verdict":"unknown_key"}.
 */
void lookup_reply_unknown_key(struct request *r, const struct lookup_check *c);

/* GET /api/v1/codes/{code} */
void lookup_handle(struct request *r, const char *code, size_t len);
/*
 * The same JSON answer for another route: the scan is recorded as kind
 * (enum scanlog_kind), and a code of ours under another product's GTIN or
 * another batch's lot (gtin not NULL: a Digital Link; lookup_dl_mismatch)
 * is not genuine.
 */
void lookup_answer(struct request *r, const char *code, size_t len, int kind, const char *gtin,
                   const char *lot);

/* A decoded path segment longer than this is refused. */
#define LOOKUP_SEGMENT_MAX 200

/* The route table's handler: GET /api/v1/codes/{code?}. */
void lookup_route(struct request *r);

#endif
