/*
 * referral_sweep.c: the referrals' sweep (referral_sweep.h). One timer, one
 * connection, at most one sweep in flight, as tidy.c: a slow one delays the
 * next, never piles up; a sweep that fails rolls back and the next one does
 * its work.
 */
#include "engine/referral_sweep.h"

#include <stdio.h>
#include <stdlib.h>

#include "engine/pool.h"
#include "log.h"
#include "statements.h"

struct referral_sweep {
	struct pool *pool;
	struct event *timer;
	char batch[16];
	int busy;
};

static void swept(void *arg, const struct pool_result *res)
{
	struct referral_sweep *s = arg;
	s->busy = 0;
	if (res->status != POOL_OK) {
		log_warn("event=referral_sweep_failed sqlstate=%s reason=%s", res->sqlstate,
		         LOG_Q(res->message));
		return;
	}
	long n = PQntuples(res->res) == 1 ? strtol(PQgetvalue(res->res, 0, 0), NULL, 10) : 0;
	if (n > 0)
		log_info("event=referrals_settled count=%ld", n);
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
	struct referral_sweep *s = arg;
	(void)fd;
	(void)what;
	if (s->busy || !pool_has_idle(s->pool))
		return;
	struct pool_query q = {.stmt = "referral_settle_due", .nparams = 1, .values = {s->batch}};
	if (pool_submit(s->pool, &q, swept, s) == 0)
		s->busy = 1;
}

struct referral_sweep *referral_sweep_new(struct event_base *base, const char *conninfo,
                                          int interval_ms, int batch)
{
	struct referral_sweep *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	snprintf(s->batch, sizeof s->batch, "%d", batch);
	struct pool_config pc = {
	    .conninfo = conninfo,
	    .name = "packcode-referrals",
	    .size = 1,
	    .queue_max = 1,
	    .setup_sql = STATEMENTS_REFERRAL_SWEEP_SETUP,
	    .query_timeout_ms = 70000, /* statement_timeout's 60 s, and a margin */
	};
	struct timeval tv = {interval_ms / 1000, (interval_ms % 1000) * 1000};
	s->pool = pool_new(base, &pc);
	s->timer = event_new(base, -1, EV_PERSIST, tick, s);
	if (!s->pool || !s->timer || event_add(s->timer, &tv) < 0) {
		referral_sweep_free(s);
		return NULL;
	}
	return s;
}

void referral_sweep_free(struct referral_sweep *s)
{
	if (!s)
		return;
	pool_free(s->pool);
	if (s->timer)
		event_free(s->timer);
	free(s);
}
