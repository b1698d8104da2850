/*
 * payouts.h: the payout dispatcher (docs/campaigns.md, "Red packets"), in
 * the control thread, built like the webhook dispatcher (webhooks.h). It
 * claims requested payouts from the outbox (payout_claim of
 * sql/028_redpackets.sql: FOR UPDATE SKIP LOCKED and a lease), POSTs each
 * to the payment provider (--payout-url) with its Idempotency-Key and the
 * body signed with --payout-secret-file (Packcode-Signature, as webhooks
 * are), and records each attempt (payout_record): a 2xx is sent, another
 * 4xx failed, a timeout or a 5xx due again after a backoff, failed after
 * --payout-tries. Each tick it also returns the failed payouts' amounts to
 * their budgets (payouts_return: exactly once). A payout is sent at least
 * once; the idempotency key makes the provider pay it at most once. A sent
 * payout whose callback has not come within --payout-callback-wait is asked
 * about again (payout_query_claim of sql/033_rewards_fixes.sql: the same
 * request, the same key), and the status in the provider's answer settles
 * it as a callback would (payout_query_record), once.
 */
#ifndef PACKCODE_SERVER_PAYOUTS_H
#define PACKCODE_SERVER_PAYOUTS_H

#include <event2/event.h>
#include <stddef.h>

#include "engine/metrics.h"

#define PAYOUTS_SECRET_MAX 256 /* bytes of the shared secret */

struct payouts_config {
	const char *conninfo;
	const char *url;    /* the provider's payout endpoint; NULL: this server sends none */
	const char *secret; /* signs the requests (and checks the callbacks: handlers/payouts.c) */
	int concurrency;    /* payouts in flight at once */
	int timeout_ms;     /* one attempt, whole */
	int max_tries;      /* a payout is failed after this many attempts */
	int retry_ms;       /* the delay after the first failed try; doubles after each */
	int retry_max_ms;   /* ... up to this */
	int poll_ms;        /* the longest wait between looks for due payouts */
	int query_wait_ms;  /* a sent payout without a callback is asked about after this */
};

struct payouts;

/* A dispatcher on base's loop, counting into m (the caller's). NULL if out of memory. */
struct payouts *payouts_new(struct event_base *base, const struct payouts_config *cfg,
                            struct metrics_payouts *m);
/* Connect and start sending (nothing when cfg->url is NULL). 0 or -1. */
int payouts_start(struct payouts *po);
/* Claim no more; what is in flight goes on and is recorded. */
void payouts_stop(struct payouts *po);
/* Payouts being sent, or sent and not yet recorded. */
int payouts_busy(const struct payouts *po);
/* Stop at once (leases expire: sent again, the same key). NULL is fine. */
void payouts_free(struct payouts *po);

/*
 * The shared secret from FILE: its first line, 16 to PAYOUTS_SECRET_MAX
 * bytes, the file readable by its owner only (like the keyring). 0 with
 * *out (the caller frees), or -1 with err.
 */
int payouts_secret_load(const char *path, char **out, char *err, size_t errlen);

/*
 * How an attempt's reply is taken (pure): "accepted" (2xx), "refused" (a 4xx
 * but 408, 409, 425 and 429: not paid), "retry" (not taken now: no
 * connection, 503, 408, 409, 425, 429, a redirect) or "unknown": the request
 * may have reached the provider and nobody said what came of it (no reply
 * in time or a broken one, when sent is set; a 500, 502 or 504). Tries used
 * up, "retry" is failed and its amount returned; "unknown" is asked about
 * (sent), never returned unasked: the provider may have paid it.
 */
const char *payouts_classify(int replied, int sent, long http_status);

/* The provider's answer about a payout it took (payouts_reply.c). */
enum payouts_answer {
	PAYOUTS_ANSWER_PENDING, /* not settled yet, or a reply without a status we know */
	PAYOUTS_ANSWER_PAID,
	PAYOUTS_ANSWER_FAILED
};

/*
 * The status of a 2xx reply's body, len bytes of outside input (pure,
 * fuzzed): a JSON object whose "status" is "paid" or "failed" (as the
 * callback says it); anything else is pending.
 */
enum payouts_answer payouts_answer_of(const char *body, size_t len);
/* "paid", "failed" or "pending": payout_query_record's p_answer. */
const char *payouts_answer_label(enum payouts_answer a);

#endif
