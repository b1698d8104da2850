/*
 * alerts.c: the alert evaluator (alerts.h). One timer, one connection, at
 * most one evaluation in flight: a slow one delays the next, never piles
 * up. What it raised is logged; the alerts and their webhooks are the
 * database's (the outbox), so a crash mid-way loses nothing: the
 * transaction rolls back and the next evaluation raises them.
 */
#include "engine/alerts.h"

#include <stdlib.h>

#include "engine/pool.h"
#include "log.h"
#include "statements.h"

struct alerts {
	struct pool *pool;
	struct event *timer;
	int busy;
};

static void evaluated(void *arg, const struct pool_result *res)
{
	struct alerts *a = arg;
	a->busy = 0;
	if (res->status != POOL_OK) {
		log_warn("event=alerts_evaluate_failed sqlstate=%s reason=%s", res->sqlstate,
		         LOG_Q(res->message));
		return;
	}
	long raised = strtol(PQgetvalue(res->res, 0, 0), NULL, 10);
	if (raised > 0)
		log_info("event=alerts_raised alerts=%ld", raised);
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
	struct alerts *a = arg;
	(void)fd;
	(void)what;
	if (a->busy || !pool_has_idle(a->pool))
		return;
	struct pool_query q = {.stmt = "alerts_evaluate", .nparams = 0};
	if (pool_submit(a->pool, &q, evaluated, a) == 0)
		a->busy = 1;
}

struct alerts *alerts_new(struct event_base *base, const char *conninfo, int interval_ms)
{
	struct alerts *a = calloc(1, sizeof *a);
	if (!a)
		return NULL;
	struct pool_config pc = {
	    .conninfo = conninfo,
	    .name = "packcode-alerts",
	    .size = 1,
	    .queue_max = 1,
	    .setup_sql = STATEMENTS_ALERTS_SETUP,
	    .query_timeout_ms = 90000,
	};
	struct timeval tv = {interval_ms / 1000, (interval_ms % 1000) * 1000};
	a->pool = pool_new(base, &pc);
	a->timer = event_new(base, -1, EV_PERSIST, tick, a);
	if (!a->pool || !a->timer || event_add(a->timer, &tv) < 0) {
		alerts_free(a);
		return NULL;
	}
	return a;
}

void alerts_free(struct alerts *a)
{
	if (!a)
		return;
	pool_free(a->pool);
	if (a->timer)
		event_free(a->timer);
	free(a);
}
