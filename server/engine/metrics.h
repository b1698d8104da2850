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

#include "handlers/claim.h"
#include "edge/http.h"
#include "engine/tokens.h"

#define METRICS_NSTATUS  22
#define METRICS_NBUCKETS 12

struct metrics {
	atomic_ullong requests[ROUTE_COUNT][METRICS_NSTATUS];
	atomic_ullong latency[ROUTE_COUNT][METRICS_NBUCKETS + 1]; /* + the +Inf bucket */
	atomic_ullong latency_sum_us[ROUTE_COUNT];
	atomic_ullong claims[CLAIM_OUTCOME_COUNT];
	atomic_ullong claim_batches, claim_batch_items;
	atomic_ullong scans_written, scans_dropped;
	atomic_ullong auth_failures[AUTH_INVALID + 1]; /* admin API, by enum auth_result */
	atomic_int pool_size, pool_connected, pool_busy, pool_waiting;
	/* the edge */
	atomic_ullong rate_limited[ROUTE_COUNT][2]; /* [route][0 by address, 1 by member] */
	atomic_ullong forged;                       /* codes judged not genuine by the keyring */
	atomic_ullong connections_refused, request_timeouts;
	atomic_int connections; /* open now */
};

struct server;

void metrics_request(struct metrics *m, enum route route, int status, long long us);
void metrics_claim(struct metrics *m, enum claim_outcome o);
void metrics_add(atomic_ullong *counter, unsigned long long n);
void metrics_auth_failure(struct metrics *m, enum auth_result why);

/* The Prometheus exposition of every worker's counters. */
void metrics_render(struct server *s, size_t batches, struct evbuffer *out);

#endif
