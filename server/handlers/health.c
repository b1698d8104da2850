/*
 * health.c: /healthz, /readyz and /metrics. Readiness is a real round trip
 * to the database on the worker's own pool, so a worker that cannot reach
 * it says so; but /readyz answers from the last one, refreshed once a
 * second (health_tick), never a query per request: a load balancer's
 * checks cost nothing. Ready means the last answer was good and is at most
 * STALE_MS old, so a database that stops answering (a frozen host, a hung
 * network) shows as not ready within STALE_MS of its last answer, however
 * long the ping in flight would wait. A draining worker is not ready
 * whatever the database says.
 */
#include "handlers/health.h"

#include <event2/buffer.h>
#include <jansson.h>

#include "clock.h"
#include "edge/http.h"
#include "engine/catalog.h"
#include "engine/metrics.h"
#include "engine/pool.h"
#include "server.h"

#define PING_EVERY_MS 1000 /* the next ping this long after the last answer */
#define STALE_MS      1500 /* no answer for this long: not ready (within 2 s of a freeze) */

void health_live(struct request *r)
{
	http_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

static void ping_done(void *arg, const struct pool_result *res)
{
	struct worker *w = arg;
	w->ready = res->status == POOL_OK;
	w->ping_sent_ms = 0;
	w->ping_done_ms = clock_ms();
}

void health_tick(struct worker *w)
{
	static const struct pool_query ping = {.stmt = "ping", .nparams = 0};
	long long now = clock_ms();
	if (w->ping_sent_ms || (w->ping_done_ms && now - w->ping_done_ms < PING_EVERY_MS))
		return;
	w->ping_sent_ms = now;
	if (pool_submit(w->pool, &ping, ping_done, w) < 0) {
		/* no connection at all, or a full queue */
		w->ready = 0;
		w->ping_sent_ms = 0;
		w->ping_done_ms = now;
	}
}

void health_ready(struct request *r)
{
	struct worker *w = r->w;
	if (w->draining)
		http_reply_error(r, 503, "draining", "shutting down");
	else if (w->ready && clock_ms() - w->ping_done_ms <= STALE_MS)
		http_reply_json(r, 200, json_pack("{s:s}", "status", "ready"));
	else if (!w->ping_done_ms)
		http_reply_error(r, 503, "unavailable",
		                 "starting: the database has not answered yet");
	else
		http_reply_error(r, 503, "unavailable", "database unreachable or not answering");
}

void health_metrics(struct request *r)
{
	struct server *s = r->w->srv;
	const struct metrics *workers[SERVER_THREADS_MAX];
	struct metrics_view v = {workers,
	                         s->nworkers,
	                         &s->labels,
	                         catalog_snapshot_size(worker_catalog(r->w)),
	                         &s->webhook_metrics,
	                         &s->payout_metrics};
	for (int i = 0; i < s->nworkers && i < SERVER_THREADS_MAX; i++)
		workers[i] = &s->workers[i].metrics;
	struct evbuffer *b = evbuffer_new();
	if (!b) {
		http_reply_error(r, 500, "internal", "out of memory");
		return;
	}
	metrics_render(&v, b);
	http_reply_text(r, 200, "text/plain; version=0.0.4; charset=utf-8", b);
	evbuffer_free(b);
}
