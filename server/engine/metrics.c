/*
 * metrics.c: counting requests, latencies and claim outcomes; /metrics.
 * Status codes outside the fixed list are counted as "other".
 */
#include "engine/metrics.h"

#include <stddef.h>

static const int statuses[METRICS_NSTATUS] = {200, 201, 202, 204, 303, 400, 401, 403, 404, 405, 409,
                                              410, 413, 414, 415, 422, 429, 431, 500, 503, 504, 0};
#define OTHER_STATUS (METRICS_NSTATUS - 1)

/* Upper bounds of the latency buckets, in microseconds. */
static const long long bounds_us[METRICS_NBUCKETS] = {
    250, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 250000, 500000, 1000000};

static void bump(atomic_ullong *c, unsigned long long n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
	                      memory_order_relaxed);
}

void metrics_add(atomic_ullong *counter, unsigned long long n)
{
	bump(counter, n);
}

void metrics_request(struct metrics *m, int route, int status, long long us)
{
	int s = OTHER_STATUS;
	if (route < 0 || route >= METRICS_ROUTES)
		return;
	for (int i = 0; i < OTHER_STATUS; i++)
		if (statuses[i] == status) {
			s = i;
			break;
		}
	bump(&m->requests[route][s], 1);
	int b = 0;
	while (b < METRICS_NBUCKETS && us > bounds_us[b])
		b++;
	bump(&m->latency[route][b], 1);
	bump(&m->latency_sum_us[route], (unsigned long long)(us > 0 ? us : 0));
}

void metrics_claim(struct metrics *m, int outcome)
{
	if (outcome >= 0 && outcome < METRICS_OUTCOMES)
		bump(&m->claims[outcome], 1);
}

void metrics_auth_failure(struct metrics *m, enum metrics_auth why)
{
	if (why < METRICS_AUTH_COUNT)
		bump(&m->auth_failures[why], 1);
}

static unsigned long long load(const atomic_ullong *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

static long long sum_int(const struct metrics_view *s, size_t offset)
{
	long long v = 0;
	for (int i = 0; i < s->nworkers; i++) {
		const atomic_int *p = (const atomic_int *)((const char *)s->workers[i] + offset);
		v += atomic_load_explicit(p, memory_order_relaxed);
	}
	return v;
}

#define SUM(field)                                                                                 \
	({                                                                                         \
		unsigned long long v_ = 0;                                                         \
		for (int i_ = 0; i_ < s->nworkers; i_++)                                           \
			v_ += load(&s->workers[i_]->field);                                        \
		v_;                                                                                \
	})

/* Rate limits, forged codes, connections (the edge: conn.c, ratelimit.c). */
static void metrics_render_edge(const struct metrics_view *s, struct evbuffer *out)
{
	const struct metrics_labels *l = s->labels;
	evbuffer_add_printf(out, "# HELP packcode_rate_limited_total Requests refused with 429 by "
	                         "a rate limit, per client address or per member.\n"
	                         "# TYPE packcode_rate_limited_total counter\n");
	for (int by = 0; by < 2; by++)
		for (int r = 0; r < l->nroutes; r++)
			if (l->route_limited[r] & (1u << by))
				evbuffer_add_printf(
				    out,
				    "packcode_rate_limited_total{route=\"%s\",by=\"%s\"} %llu\n",
				    l->route[r], by ? "member" : "address",
				    SUM(rate_limited[r][by]));
	evbuffer_add_printf(out,
	                    "# HELP packcode_forged_total Well-formed codes not signed by our keys "
	                    "(or in no print run), answered without the database.\n"
	                    "# TYPE packcode_forged_total counter\n"
	                    "packcode_forged_total %llu\n"
	                    "# HELP packcode_connections Open HTTP connections.\n"
	                    "# TYPE packcode_connections gauge\n"
	                    "packcode_connections %lld\n"
	                    "# HELP packcode_connections_refused_total Connections closed at once: "
	                    "over --max-connections.\n"
	                    "# TYPE packcode_connections_refused_total counter\n"
	                    "packcode_connections_refused_total %llu\n"
	                    "# HELP packcode_request_timeouts_total Connections closed because a "
	                    "request was not read whole within --request-timeout.\n"
	                    "# TYPE packcode_request_timeouts_total counter\n"
	                    "packcode_request_timeouts_total %llu\n",
	                    SUM(forged), sum_int(s, offsetof(struct metrics, connections)),
	                    SUM(connections_refused), SUM(request_timeouts));
	evbuffer_add_printf(out,
	                    "# HELP packcode_unknown_key_total Well-formed codes of a key id this "
	                    "server's keyring does not hold, answered 503 (cannot verify now).\n"
	                    "# TYPE packcode_unknown_key_total counter\n"
	                    "packcode_unknown_key_total %llu\n"
	                    "# HELP packcode_connections_refused_per_address_total Connections "
	                    "closed at once: over --max-connections-per-address.\n"
	                    "# TYPE packcode_connections_refused_per_address_total counter\n"
	                    "packcode_connections_refused_per_address_total %llu\n"
	                    "# HELP packcode_http_malformed_total Requests refused with 400 before "
	                    "routing for their framing (header names, Transfer-Encoding, "
	                    "Content-Length, Host, the HTTP version).\n"
	                    "# TYPE packcode_http_malformed_total counter\n"
	                    "packcode_http_malformed_total %llu\n",
	                    SUM(unknown_key), SUM(connections_refused_address), SUM(malformed));
}

/* The webhook dispatcher's attempts by outcome, give-ups and requests in flight. */
static void metrics_render_webhooks(const struct metrics_view *s, struct evbuffer *out)
{
	const struct metrics_labels *l = s->labels;
	const struct metrics_webhooks *w = s->webhooks;
	if (!w)
		return;
	evbuffer_add_printf(out, "# HELP packcode_webhook_attempts_total Webhook delivery attempts "
	                         "by outcome.\n"
	                         "# TYPE packcode_webhook_attempts_total counter\n");
	for (int o = 0; o < l->nwebhook_outcomes && o < METRICS_WEBHOOK_OUTCOMES; o++)
		evbuffer_add_printf(out, "packcode_webhook_attempts_total{outcome=\"%s\"} %llu\n",
		                    l->webhook_outcome[o], load(&w->attempts[o]));
	evbuffer_add_printf(out,
	                    "# HELP packcode_webhook_deliveries_failed_total Webhook deliveries "
	                    "given up after their last try (failed: replayable).\n"
	                    "# TYPE packcode_webhook_deliveries_failed_total counter\n"
	                    "packcode_webhook_deliveries_failed_total %llu\n"
	                    "# HELP packcode_webhook_requests_in_flight Webhook requests to "
	                    "receivers running now.\n"
	                    "# TYPE packcode_webhook_requests_in_flight gauge\n"
	                    "packcode_webhook_requests_in_flight %d\n",
	                    load(&w->failed),
	                    atomic_load_explicit(&w->in_flight, memory_order_relaxed));
}

/* The provider's callbacks (every server takes them), and the payout dispatcher's work. */
static void metrics_render_payouts(const struct metrics_view *s, struct evbuffer *out)
{
	static const char *const cb[METRICS_PAYOUT_CALLBACKS] = {
	    "applied", "duplicate",      "conflict",      "late_paid",
	    "late",    "unknown_payout", "bad_signature", "bad_request"};
	static const char *const attempt[METRICS_PAYOUT_ATTEMPTS] = {"accepted", "refused", "retry",
	                                                             "unknown"};
	static const char *const answer[METRICS_PAYOUT_ANSWERS] = {"paid", "failed", "pending",
	                                                           "error"};
	static const char *const state[METRICS_PAYOUT_STATES] = {"requested", "sent", "failed"};
	const struct metrics_payouts *p = s->payouts;
	evbuffer_add_printf(out, "# HELP packcode_payout_callbacks_total The payment provider's "
	                         "callbacks by outcome: applied (the payout moved), duplicate, "
	                         "conflict, late_paid, late (docs/campaigns.md), unknown_payout "
	                         "(404), bad_signature (401), bad_request (400).\n"
	                         "# TYPE packcode_payout_callbacks_total counter\n");
	for (int c = 0; c < METRICS_PAYOUT_CALLBACKS; c++)
		evbuffer_add_printf(out, "packcode_payout_callbacks_total{outcome=\"%s\"} %llu\n",
		                    cb[c], SUM(payout_callbacks[c]));
	if (!p || !atomic_load_explicit(&p->running, memory_order_relaxed))
		return;
	evbuffer_add_printf(out, "# HELP packcode_payout_attempts_total Payout requests sent to "
	                         "the provider by this server, by outcome: accepted (2xx: sent), "
	                         "refused (another 4xx), retry (a timeout, no connection, 5xx, "
	                         "408, 409, 425, 429).\n"
	                         "# TYPE packcode_payout_attempts_total counter\n");
	for (int a = 0; a < METRICS_PAYOUT_ATTEMPTS; a++)
		evbuffer_add_printf(out, "packcode_payout_attempts_total{outcome=\"%s\"} %llu\n",
		                    attempt[a], load(&p->attempts[a]));
	evbuffer_add_printf(out, "# HELP packcode_payout_queries_total Sent payouts this server "
	                         "asked the provider about again (no callback within "
	                         "--payout-callback-wait), by answer.\n"
	                         "# TYPE packcode_payout_queries_total counter\n");
	for (int a = 0; a < METRICS_PAYOUT_ANSWERS; a++)
		evbuffer_add_printf(out, "packcode_payout_queries_total{answer=\"%s\"} %llu\n",
		                    answer[a], load(&p->queries[a]));
	evbuffer_add_printf(out,
	                    "# HELP packcode_payouts_failed_total Payouts this server's attempts "
	                    "failed (refused, or --payout-tries used up).\n"
	                    "# TYPE packcode_payouts_failed_total counter\n"
	                    "packcode_payouts_failed_total %llu\n"
	                    "# HELP packcode_payouts_returned_total Failed payouts whose amounts "
	                    "this server returned to their budgets.\n"
	                    "# TYPE packcode_payouts_returned_total counter\n"
	                    "packcode_payouts_returned_total %llu\n"
	                    "# HELP packcode_payouts_settled_by_query_total Sent payouts settled "
	                    "(paid or failed) by the provider's answer to this server's "
	                    "question.\n"
	                    "# TYPE packcode_payouts_settled_by_query_total counter\n"
	                    "packcode_payouts_settled_by_query_total %llu\n"
	                    "# HELP packcode_payout_requests_in_flight Requests to the payment "
	                    "provider running now.\n"
	                    "# TYPE packcode_payout_requests_in_flight gauge\n"
	                    "packcode_payout_requests_in_flight %d\n",
	                    load(&p->failed), load(&p->returned), load(&p->settled_by_query),
	                    atomic_load_explicit(&p->in_flight, memory_order_relaxed));
	int any = 0;
	for (int k = 0; k < METRICS_PAYOUT_STATES; k++)
		if (atomic_load_explicit(&p->open[k], memory_order_relaxed) >= 0)
			any = 1;
	if (!any)
		return;
	evbuffer_add_printf(out, "# HELP packcode_payouts Payouts of every server waiting in an "
	                         "open state (failed: not yet returned), as the database counted "
	                         "them a few seconds ago.\n"
	                         "# TYPE packcode_payouts gauge\n");
	for (int k = 0; k < METRICS_PAYOUT_STATES; k++) {
		long long v = atomic_load_explicit(&p->open[k], memory_order_relaxed);
		if (v >= 0)
			evbuffer_add_printf(out, "packcode_payouts{state=\"%s\"} %lld\n", state[k],
			                    v);
	}
}

void metrics_render(const struct metrics_view *s, struct evbuffer *out)
{
	const struct metrics_labels *l = s->labels;
	evbuffer_add_printf(out, "# HELP packcode_http_requests_total HTTP requests by route and "
	                         "status.\n# TYPE packcode_http_requests_total counter\n");
	for (int r = 0; r < l->nroutes; r++)
		for (int k = 0; k < METRICS_NSTATUS; k++) {
			if (k != OTHER_STATUS && statuses[k] == 0)
				continue;
			unsigned long long v = SUM(requests[r][k]);
			if (!v)
				continue;
			if (k == OTHER_STATUS)
				evbuffer_add_printf(out,
				                    "packcode_http_requests_total{route=\"%s\","
				                    "status=\"other\"} %llu\n",
				                    l->route[r], v);
			else
				evbuffer_add_printf(out,
				                    "packcode_http_requests_total{route=\"%s\","
				                    "status=\"%d\"} %llu\n",
				                    l->route[r], statuses[k], v);
		}

	evbuffer_add_printf(out, "# HELP packcode_http_request_duration_seconds Time from request "
	                         "to reply.\n# TYPE packcode_http_request_duration_seconds "
	                         "histogram\n");
	for (int r = 0; r < l->nroutes; r++) {
		unsigned long long cum = 0;
		for (int b = 0; b <= METRICS_NBUCKETS; b++)
			cum += SUM(latency[r][b]);
		if (!cum)
			continue;
		const char *name = l->route[r];
		cum = 0;
		for (int b = 0; b < METRICS_NBUCKETS; b++) {
			cum += SUM(latency[r][b]);
			evbuffer_add_printf(out,
			                    "packcode_http_request_duration_seconds_bucket{route="
			                    "\"%s\",le=\"%g\"} %llu\n",
			                    name, (double)bounds_us[b] / 1e6, cum);
		}
		cum += SUM(latency[r][METRICS_NBUCKETS]);
		evbuffer_add_printf(out,
		                    "packcode_http_request_duration_seconds_bucket{route=\"%s\",le="
		                    "\"+Inf\"} %llu\n",
		                    name, cum);
		evbuffer_add_printf(
		    out, "packcode_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", name,
		    (double)SUM(latency_sum_us[r]) / 1e6);
		evbuffer_add_printf(
		    out, "packcode_http_request_duration_seconds_count{route=\"%s\"} %llu\n", name,
		    cum);
	}

	evbuffer_add_printf(out, "# HELP packcode_claims_total Claims by outcome.\n"
	                         "# TYPE packcode_claims_total counter\n");
	for (int o = 0; o < l->noutcomes; o++)
		evbuffer_add_printf(out, "packcode_claims_total{outcome=\"%s\"} %llu\n",
		                    l->outcome[o], SUM(claims[o]));
	evbuffer_add_printf(out,
	                    "# HELP packcode_claim_transactions_total claim_many transactions "
	                    "(several claims commit together under load).\n"
	                    "# TYPE packcode_claim_transactions_total counter\n"
	                    "packcode_claim_transactions_total %llu\n"
	                    "# HELP packcode_claim_transaction_claims_total Claims sent in those "
	                    "transactions.\n"
	                    "# TYPE packcode_claim_transaction_claims_total counter\n"
	                    "packcode_claim_transaction_claims_total %llu\n",
	                    SUM(claim_batches), SUM(claim_batch_items));
	evbuffer_add_printf(out,
	                    "# HELP packcode_scans_written_total Scan records written.\n"
	                    "# TYPE packcode_scans_written_total counter\n"
	                    "packcode_scans_written_total %llu\n"
	                    "# HELP packcode_scans_dropped_total Scan records dropped, by reason: "
	                    "overflow (buffer full while the database was away), rejected (the "
	                    "database refused the flush), shutdown (buffered at exit, the database "
	                    "away).\n"
	                    "# TYPE packcode_scans_dropped_total counter\n",
	                    SUM(scans_written));
	static const char *const drop_reasons[METRICS_SCAN_DROPS] = {"overflow", "rejected",
	                                                             "shutdown"};
	for (int d = 0; d < METRICS_SCAN_DROPS; d++)
		evbuffer_add_printf(out, "packcode_scans_dropped_total{reason=\"%s\"} %llu\n",
		                    drop_reasons[d], SUM(scans_dropped[d]));
	evbuffer_add_printf(
	    out,
	    "# HELP packcode_admin_auth_failures_total Admin API requests refused "
	    "for who sent them: 401 missing or invalid (unknown, malformed, "
	    "revoked, expired) token or session; 403 scope (the route's scope "
	    "not held) or csrf (a session's change without its CSRF token).\n"
	    "# TYPE packcode_admin_auth_failures_total counter\n"
	    "packcode_admin_auth_failures_total{reason=\"missing\"} %llu\n"
	    "packcode_admin_auth_failures_total{reason=\"invalid\"} %llu\n"
	    "packcode_admin_auth_failures_total{reason=\"scope\"} %llu\n"
	    "packcode_admin_auth_failures_total{reason=\"csrf\"} %llu\n",
	    SUM(auth_failures[METRICS_AUTH_MISSING]), SUM(auth_failures[METRICS_AUTH_INVALID]),
	    SUM(auth_failures[METRICS_AUTH_SCOPE]), SUM(auth_failures[METRICS_AUTH_CSRF]));
	evbuffer_add_printf(out,
	                    "# HELP packcode_pool_connections Database connections by state.\n"
	                    "# TYPE packcode_pool_connections gauge\n"
	                    "packcode_pool_connections{state=\"configured\"} %lld\n"
	                    "packcode_pool_connections{state=\"connected\"} %lld\n"
	                    "packcode_pool_connections{state=\"in_use\"} %lld\n"
	                    "# HELP packcode_pool_waiting Queries waiting for a connection.\n"
	                    "# TYPE packcode_pool_waiting gauge\n"
	                    "packcode_pool_waiting %lld\n",
	                    sum_int(s, offsetof(struct metrics, pool_size)),
	                    sum_int(s, offsetof(struct metrics, pool_connected)),
	                    sum_int(s, offsetof(struct metrics, pool_busy)),
	                    sum_int(s, offsetof(struct metrics, pool_waiting)));
	evbuffer_add_printf(out,
	                    "# HELP packcode_catalog_batches Batches in the cached catalog.\n"
	                    "# TYPE packcode_catalog_batches gauge\n"
	                    "packcode_catalog_batches %zu\n"
	                    "# HELP packcode_worker_threads Event loops serving requests.\n"
	                    "# TYPE packcode_worker_threads gauge\n"
	                    "packcode_worker_threads %d\n",
	                    s->batches, s->nworkers);
	metrics_render_edge(s, out);
	metrics_render_webhooks(s, out);
	metrics_render_payouts(s, out);
}
