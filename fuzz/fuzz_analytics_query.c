/*
 * fuzz_analytics_query.c: libFuzzer target for the analytics endpoints'
 * query strings (server/handlers/analytics_query.c).
 *
 * Beyond "does not crash": what is accepted is what the SQL functions may
 * be given: dates of ten characters whose range runs forward and spans at
 * most ANALYTICS_DAYS_MAX days, a country of two capitals, a SKU of
 * [A-Za-z0-9._-], a known level.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/analytics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_analytics_query: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *query = malloc(size + 1), err[128];
	struct analytics_query q;
	check(query != NULL, "out of memory");
	memcpy(query, data, size);
	query[size] = '\0';
	if (analytics_query_decode(query, &q, err, sizeof err) == 0) {
		check(!q.from[0] || strlen(q.from) == 10, "from");
		check(!q.to[0] || strlen(q.to) == 10, "to");
		if (q.from[0] && q.to[0]) {
			long d = analytics_days_between(q.from, q.to);
			check(d >= 0 && d < ANALYTICS_DAYS_MAX, "range");
		}
		check(!q.country[0] ||
		          (strlen(q.country) == 2 && q.country[0] >= 'A' && q.country[0] <= 'Z' &&
		           q.country[1] >= 'A' && q.country[1] <= 'Z'),
		      "country");
		check(strspn(q.product,
		             "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
		          strlen(q.product),
		      "product");
		check(q.batch >= 0, "batch");
		check(q.level == ANALYTICS_COUNTRY || q.level == ANALYTICS_SUBDIVISION ||
		          q.level == ANALYTICS_CITY,
		      "level");
	} else {
		check(err[0] != '\0', "refused without a reason");
	}
	free(query);
	return 0;
}
