/*
 * health.c: /healthz, /readyz and /metrics. Readiness is a real round trip
 * to the database on the worker's own pool, so a worker that cannot reach
 * it says so; but /readyz answers from the last one, refreshed once a
 * second (health_tick), never a query per request: a load balancer's
 * checks cost nothing, and a database that stops answering (a frozen
 * host) shows as not ready once a ping is PING_TIMEOUT_MS late. A draining
 * worker is not ready whatever the database says.
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

#define PING_EVERY_MS   1000 /* a ping at most this often */
#define PING_TIMEOUT_MS 800  /* unanswered this long: not ready (so within 2 s of a freeze) */

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

/* The ping in flight is late: the database does not answer, as far as we can tell. */
static int ping_late(const struct worker *w, long long now)
{
	return w->ping_sent_ms && now - w->ping_sent_ms > PING_TIMEOUT_MS;
}

void health_tick(struct worker *w)
{
	static const struct pool_query ping = {.stmt = "ping", .nparams = 0};
	long long now = clock_ms();
	if (ping_late(w, now))
		w->ready = 0;
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
	else if (w->ready && !ping_late(w, clock_ms()))
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
	struct metrics_view v = {workers, s->nworkers, &s->labels,
	                         catalog_snapshot_size(worker_catalog(r->w))};
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
