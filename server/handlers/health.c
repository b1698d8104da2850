/*
 * health.c: /healthz, /readyz and /metrics. Readiness is a real round trip
 * to the database on the worker's own pool, so a worker that cannot reach
 * it says so; a draining worker is not ready whatever the database says.
 */
#include "handlers/health.h"

#include <event2/buffer.h>
#include <jansson.h>

#include "edge/http.h"
#include "engine/catalog.h"
#include "engine/metrics.h"
#include "engine/pool.h"
#include "server.h"

void health_live(struct request *r)
{
	http_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

static void ready_done(void *arg, const struct pool_result *res)
{
	struct request *r = arg;
	if (res->status == POOL_OK)
		http_reply_json(r, 200, json_pack("{s:s}", "status", "ready"));
	else
		http_reply_error(r, 503, "unavailable", "database unreachable");
}

void health_ready(struct request *r)
{
	static const struct pool_query ping = {.stmt = "ping", .nparams = 0};
	if (r->w->draining) {
		http_reply_error(r, 503, "draining", "shutting down");
		return;
	}
	if (pool_submit(r->w->pool, &ping, ready_done, r) < 0)
		http_reply_error(r, 503, "unavailable", "database unreachable");
}

void health_metrics(struct request *r)
{
	struct server *s = r->w->srv;
	const struct metrics *workers[SERVER_THREADS_MAX];
	struct metrics_view v = {workers, s->nworkers, &s->labels,
	                         catalog_snapshot_size(worker_catalog(r->w)), &s->webhook_metrics};
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
