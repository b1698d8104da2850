/*
 * metrics.h: per-worker counters, rendered for /metrics in the Prometheus
 * text format by summing over workers.
 *
 * Each counter has one writer (its worker) and is read by whichever worker
 * serves /metrics, so plain relaxed atomic loads and stores suffice.
 */
#ifndef PACKCODE_SERVER_METRICS_H
#define PACKCODE_SERVER_METRICS_H

#include <event2/buffer.h>
#include <stdatomic.h>
#include <stddef.h>

#define METRICS_NSTATUS          22
#define METRICS_NBUCKETS         12
#define METRICS_ROUTES           96 /* route ids (the route table's, and "other") */
#define METRICS_OUTCOMES         24 /* claim outcomes */
#define METRICS_WEBHOOK_OUTCOMES 8  /* how a webhook delivery attempt ended */

enum metrics_auth {
	METRICS_AUTH_MISSING, /* 401: no credentials */
	METRICS_AUTH_INVALID, /* 401: unknown, malformed, revoked or expired */
	METRICS_AUTH_SCOPE,   /* 403: the identity lacks the route's scope */
	METRICS_AUTH_CSRF,    /* 403: a session's change without its CSRF token */
	METRICS_AUTH_COUNT
};

/*
 * The label values of the indexed counters, set once at start-up by whoever
 * knows them (the route table, the claim outcomes): the metrics know no
 * route or outcome themselves. Each label value names one index.
 */
struct metrics_labels {
	int nroutes;
	const char *route[METRICS_ROUTES];
	unsigned char route_limited[METRICS_ROUTES]; /* bit 0: by address, bit 1: by member */
	int noutcomes;
	const char *outcome[METRICS_OUTCOMES];
	int nwebhook_outcomes;
	const char *webhook_outcome[METRICS_WEBHOOK_OUTCOMES];
};

/* Why scan records were dropped (packcode_scans_dropped_total's reason label). */
enum metrics_scan_drop {
	METRICS_SCAN_DROP_OVERFLOW, /* the buffer was full (the database away too long) */
	METRICS_SCAN_DROP_REJECTED, /* the database refused the flush three times (not a lost
	                               connection) */
	METRICS_SCAN_DROP_SHUTDOWN, /* still buffered when the server stopped, the database away */
	METRICS_SCAN_DROPS
};

/* How the payment provider's callbacks were answered (packcode_payout_callbacks_total). */
enum metrics_payout_callback {
	METRICS_PAYOUT_CB_APPLIED,   /* the payout moved (payout_callback's outcomes: */
	METRICS_PAYOUT_CB_DUPLICATE, /*  docs/campaigns.md's state machine) */
	METRICS_PAYOUT_CB_CONFLICT,
	METRICS_PAYOUT_CB_LATE_PAID,
	METRICS_PAYOUT_CB_LATE,
	METRICS_PAYOUT_CB_UNKNOWN,       /* 404: no payout has the key */
	METRICS_PAYOUT_CB_BAD_SIGNATURE, /* 401: refused, nothing read */
	METRICS_PAYOUT_CB_BAD_REQUEST,   /* 400: signed, but not a callback */
	METRICS_PAYOUT_CALLBACKS
};

struct metrics {
	atomic_ullong requests[METRICS_ROUTES][METRICS_NSTATUS];
	atomic_ullong latency[METRICS_ROUTES][METRICS_NBUCKETS + 1]; /* + the +Inf bucket */
	atomic_ullong latency_sum_us[METRICS_ROUTES];
	atomic_ullong claims[METRICS_OUTCOMES];
	atomic_ullong claim_batches, claim_batch_items;
	atomic_ullong scans_written;
	atomic_ullong scans_dropped[METRICS_SCAN_DROPS]; /* by enum metrics_scan_drop */
	atomic_ullong auth_failures[METRICS_AUTH_COUNT]; /* admin API */
	atomic_int pool_size, pool_connected, pool_busy, pool_waiting;
	/* the edge */
	atomic_ullong rate_limited[METRICS_ROUTES][2]; /* [route][0 by address, 1 by member] */
	atomic_ullong forged;                          /* codes judged not genuine by the keyring */
	atomic_ullong unknown_key; /* codes of a key id the keyring does not hold: 503 */
	atomic_ullong connections_refused, request_timeouts;
	atomic_ullong connections_refused_address; /* over --max-connections-per-address */
	atomic_ullong malformed;                   /* requests refused for their framing */
	atomic_int connections;                    /* open now */
	/* the payment provider's callbacks, by enum metrics_payout_callback */
	atomic_ullong payout_callbacks[METRICS_PAYOUT_CALLBACKS];
};

/*
 * The webhook dispatcher's counters (engine/webhooks.c): one per process,
 * written by the control thread alone.
 */
struct metrics_webhooks {
	atomic_ullong attempts[METRICS_WEBHOOK_OUTCOMES]; /* by outcome */
	atomic_ullong failed; /* deliveries given up after their last try */
	atomic_int in_flight; /* requests to receivers running now */
};

/* The payout dispatcher's results (packcode_payout_*). */
enum metrics_payout_attempt { /* an attempt to send, as payouts_classify() takes it */
	                      METRICS_PAYOUT_ACCEPTED,
	                      METRICS_PAYOUT_REFUSED,
	                      METRICS_PAYOUT_RETRY,
	                      METRICS_PAYOUT_UNKNOWN,
	                      METRICS_PAYOUT_ATTEMPTS
};
enum metrics_payout_answer { /* the provider asked again about a sent payout */
	                     METRICS_PAYOUT_ANSWER_PAID,
	                     METRICS_PAYOUT_ANSWER_FAILED,
	                     METRICS_PAYOUT_ANSWER_PENDING,
	                     METRICS_PAYOUT_ANSWER_ERROR, /* no answer: a timeout, no connection,
	                                                     not a 2xx */
	                     METRICS_PAYOUT_ANSWERS
};
enum metrics_payout_state { /* the open states, counted in the database */
	                    METRICS_PAYOUT_REQUESTED,
	                    METRICS_PAYOUT_SENT,
	                    METRICS_PAYOUT_FAILED,
	                    METRICS_PAYOUT_STATES
};

/*
 * The payout dispatcher's counters (engine/payouts.c): one per process,
 * written by the control thread alone; rendered only when it runs here.
 */
struct metrics_payouts {
	atomic_int running;                              /* --payout-url: it runs here */
	atomic_ullong attempts[METRICS_PAYOUT_ATTEMPTS]; /* by enum metrics_payout_attempt */
	atomic_ullong failed;                            /* attempts that failed their payout */
	atomic_ullong returned;                          /* failed payouts returned */
	atomic_ullong queries[METRICS_PAYOUT_ANSWERS];   /* by enum metrics_payout_answer */
	atomic_ullong settled_by_query;                  /* answers that moved a payout */
	atomic_int in_flight;                            /* requests to the provider now */
	atomic_llong open[METRICS_PAYOUT_STATES];        /* -1: not counted yet */
};

/* Indexes out of range are counted nowhere. */
void metrics_request(struct metrics *m, int route, int status, long long us);
void metrics_claim(struct metrics *m, int outcome);
void metrics_add(atomic_ullong *counter, unsigned long long n);
void metrics_auth_failure(struct metrics *m, enum metrics_auth why);

/* What /metrics shows: every worker's counters under their labels, and gauges. */
struct metrics_view {
	const struct metrics *const *workers;
	int nworkers;
	const struct metrics_labels *labels;
	size_t batches; /* in the cached catalog */
	const struct metrics_webhooks *webhooks;
	const struct metrics_payouts *payouts; /* NULL: none shown */
};

/* The Prometheus text exposition of v, each series exactly once. */
void metrics_render(const struct metrics_view *v, struct evbuffer *out);

#endif
