/*
 * tidy.c: the scans' privacy job (tidy.h). One timer, one connection, at
 * most one run in flight: a slow one delays the next, never piles up. A
 * crash mid-way loses nothing: the transaction rolls back and the next run
 * does the work.
 */
#include "engine/tidy.h"

#include <stdio.h>
#include <stdlib.h>

#include "engine/pool.h"
#include "log.h"
#include "statements.h"

struct tidy {
	struct pool *pool;
	struct event *timer;
	char address_days[16];
	char retention_days[16];
	int busy;
};

static void tidied(void *arg, const struct pool_result *res)
{
	struct tidy *t = arg;
	t->busy = 0;
	if (res->status != POOL_OK) {
		log_warn("event=scans_tidy_failed sqlstate=%s reason=%s", res->sqlstate,
		         LOG_Q(res->message));
		return;
	}
	if (PQntuples(res->res) != 1) /* another server holds the lease */
		return;
	long addresses = strtol(PQgetvalue(res->res, 0, 0), NULL, 10);
	long deleted = strtol(PQgetvalue(res->res, 0, 1), NULL, 10);
	long partitions = strtol(PQgetvalue(res->res, 0, 2), NULL, 10);
	if (addresses > 0 || deleted > 0)
		log_info("event=scans_tidied addresses_truncated=%ld scans_deleted=%ld "
		         "partitions_dropped=%ld",
		         addresses, deleted, partitions);
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
	struct tidy *t = arg;
	(void)fd;
	(void)what;
	if (t->busy || !pool_has_idle(t->pool))
		return;
	struct pool_query q = {
	    .stmt = "scans_tidy", .nparams = 2, .values = {t->address_days, t->retention_days}};
	if (pool_submit(t->pool, &q, tidied, t) == 0)
		t->busy = 1;
}

struct tidy *tidy_new(struct event_base *base, const char *conninfo, int interval_ms,
                      int address_days, int retention_days)
{
	struct tidy *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	snprintf(t->address_days, sizeof t->address_days, "%d", address_days);
	snprintf(t->retention_days, sizeof t->retention_days, "%d", retention_days);
	struct pool_config pc = {
	    .conninfo = conninfo,
	    .name = "packcode-tidy",
	    .size = 1,
	    .queue_max = 1,
	    .setup_sql = STATEMENTS_TIDY_SETUP,
	    .query_timeout_ms = 660000, /* statement_timeout's 600 s, and a margin */
	};
	struct timeval tv = {interval_ms / 1000, (interval_ms % 1000) * 1000};
	t->pool = pool_new(base, &pc);
	t->timer = event_new(base, -1, EV_PERSIST, tick, t);
	if (!t->pool || !t->timer || event_add(t->timer, &tv) < 0) {
		tidy_free(t);
		return NULL;
	}
	return t;
}

void tidy_free(struct tidy *t)
{
	if (!t)
		return;
	pool_free(t->pool);
	if (t->timer)
		event_free(t->timer);
	free(t);
}
