/*
 * analytics.c: the admin API's analytics reads (analytics.h). Each request
 * is one prepared statement calling an analytics_* function of
 * sql/015_scans.sql, which reads the roll-ups kept by the scan writer and
 * builds the reply's JSON; the identity's brands go with it (NULL: every
 * brand). Dates are UTC days; without from and to, the last 14 days.
 */
#include "handlers/analytics.h"

#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

#include "edge/http.h"
#include "engine/tokens.h"
#include "log.h"
#include "server.h"

enum analytics_op { OP_OVERVIEW, OP_BATCHES, OP_REGIONS };

struct analytics_req {
	struct request *r;
	struct tokens_identity who;
	char brands[TOKENS_BRANDS_MAX * 21 + 3]; /* "{1,2}": the brands it is limited to */
	const char *brands_param;                /* brands, or NULL for every brand */
	struct analytics_query q;
};

static void done(void *arg, const struct pool_result *res)
{
	struct analytics_req *a = arg;
	if (res->status == POOL_UNAVAILABLE) {
		http_reply_error(a->r, 503, "unavailable", "database unavailable, try again");
	} else if (res->status != POOL_OK && strcmp(res->sqlstate, "22023") == 0) {
		http_reply_error(a->r, 400, "bad_request", res->message);
	} else if (res->status != POOL_OK) {
		log_error("event=admin_query_failed route=%s actor=%s sqlstate=%s message=%s",
		          http_route_id(a->r), LOG_Q(a->who.name), res->sqlstate,
		          LOG_Q(res->message));
		http_reply_error(a->r, 500, "internal", "the request failed");
	} else if (PQntuples(res->res) != 1 || PQgetisnull(res->res, 0, 0)) {
		http_reply_error(a->r, 500, "internal", "the analytics could not be read");
	} else {
		/*
		 * One row, one column: the jsonb the function built, sent as it is
		 * (a number such as 33.3 stays what PostgreSQL wrote, not a double).
		 */
		evbuffer_add(http_out(a->r), PQgetvalue(res->res, 0, 0),
		             (size_t)PQgetlength(res->res, 0, 0));
		http_reply_json_out(a->r, 200);
	}
	free(a);
}

static void run(struct request *r, enum analytics_op op)
{
	static const char *const stmts[] = {"analytics_overview", "analytics_batches",
	                                    "analytics_regions"};
	static const char *const levels[] = {"country", "subdivision", "city"};
	char err[128], batch[24];
	struct analytics_req *a = calloc(1, sizeof *a);
	if (!a) {
		http_reply_error(r, 503, "unavailable", "out of memory");
		return;
	}
	a->r = r;
	a->who = r->admin;
	if (analytics_query_decode(r->query, &a->q, err, sizeof err) < 0) {
		http_reply_error(r, 400, "bad_request", err);
		free(a);
		return;
	}
	a->brands_param = tokens_brands_param(&a->who, a->brands, sizeof a->brands);
	struct pool_query q = {.stmt = stmts[op],
	                       .nparams = 3,
	                       .values = {a->q.from[0] ? a->q.from : NULL,
	                                  a->q.to[0] ? a->q.to : NULL, a->brands_param}};
	if (op == OP_BATCHES) {
		q.nparams = 4;
		q.values[3] = a->q.product[0] ? a->q.product : NULL;
	} else if (op == OP_REGIONS) {
		q.nparams = 6;
		q.values[3] = levels[a->q.level];
		q.values[4] = a->q.country[0] ? a->q.country : NULL;
		snprintf(batch, sizeof batch, "%lld", a->q.batch);
		q.values[5] = a->q.batch ? batch : NULL;
	}
	if (pool_submit(r->w->pool, &q, done, a) < 0) {
		http_reply_error(r, 503, "unavailable", "database unavailable, try again");
		free(a);
	}
}

void admin_route_analytics_overview(struct request *r)
{
	run(r, OP_OVERVIEW);
}

void admin_route_analytics_batches(struct request *r)
{
	run(r, OP_BATCHES);
}

void admin_route_analytics_regions(struct request *r)
{
	run(r, OP_REGIONS);
}
