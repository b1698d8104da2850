/*
 * analytics.h: the admin API's reads of the scan roll-ups (sql/015_scans.sql):
 * the overview per day with week-over-week change, by product and print
 * run, by region. Each is one call of an analytics_* SQL function over the
 * roll-ups (never the raw scans), limited to the identity's brands; the
 * query string is decoded by a pure function first (analytics_query.c).
 */
#ifndef PACKCODE_SERVER_ANALYTICS_H
#define PACKCODE_SERVER_ANALYTICS_H

#include <stddef.h>

struct request;

void admin_route_analytics_overview(struct request *r); /* GET analytics/overview */
void admin_route_analytics_batches(struct request *r);  /* GET analytics/batches */
void admin_route_analytics_regions(struct request *r);  /* GET analytics/regions */

#define ANALYTICS_DAYS_MAX 366 /* a range longer is refused */

enum analytics_level { ANALYTICS_COUNTRY, ANALYTICS_SUBDIVISION, ANALYTICS_CITY };

/* A request's query, decoded. Dates are "YYYY-MM-DD" (UTC days). */
struct analytics_query {
	char from[11], to[11]; /* "" if not given: the handler's defaults */
	char product[65];      /* a SKU, or "" */
	char country[3];       /* ISO 3166-1 alpha-2, or "" */
	long long batch;       /* a print run's id, or 0 */
	enum analytics_level level;
};

/*
 * Decode from=, to=, product=, level=, country=, batch= (each optional). 0, or -1
 * with err set: a date that is no calendar date, to before from, a range
 * over ANALYTICS_DAYS_MAX days, a SKU or country that cannot be one, an
 * unknown level, a batch that is no id, a parameter given twice. Pure (fuzzed).
 */
int analytics_query_decode(const char *query, struct analytics_query *out, char *err,
                           size_t errlen);

/* Days from a to b (dates as decoded), b - a; both valid. */
long analytics_days_between(const char *a, const char *b);

#endif
