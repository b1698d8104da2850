/*
 * analytics_query.c: the analytics endpoints' query strings (analytics.h).
 * Pure: no I/O, no clock; the handler fills in what is not given.
 */
#include <stdio.h>
#include <string.h>

#include "edge/http.h"
#include "handlers/analytics.h"

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static long days_from_civil(long y, unsigned m, unsigned d)
{
	y -= m <= 2;
	long era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long)doe - 719468;
}

/* "YYYY-MM-DD", a real date from 2000 to 2999: 0 and *days, or -1. */
static int date_parse(const char *s, long *days)
{
	static const unsigned mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return -1;
	long y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	unsigned m = (unsigned)((s[5] - '0') * 10 + (s[6] - '0'));
	unsigned d = (unsigned)((s[8] - '0') * 10 + (s[9] - '0'));
	if (y < 2000 || y > 2999 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return -1;
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (m == 2 && d == 29 && !leap)
		return -1;
	*days = days_from_civil(y, m, d);
	return 0;
}

long analytics_days_between(const char *a, const char *b)
{
	long x = 0, y = 0;
	date_parse(a, &x);
	date_parse(b, &y);
	return y - x;
}

/* The field's value into out: 1 found, 0 absent, -1 bad or given twice. */
static int one_field(const char *query, const char *name, char *out, size_t outlen)
{
	size_t nlen = strlen(name);
	int seen = 0;
	for (const char *p = query; *p;) {
		size_t pair = strcspn(p, "&");
		if (pair > nlen && p[nlen] == '=' && memcmp(p, name, nlen) == 0)
			seen++;
		p += pair;
		if (*p == '&')
			p++;
	}
	if (seen > 1)
		return -1;
	return http_form_field(query, strlen(query), name, out, outlen);
}

int analytics_query_decode(const char *query, struct analytics_query *out, char *err, size_t errlen)
{
	char level[16] = "";
	long from = 0, to = 0;
	memset(out, 0, sizeof *out);
	out->level = ANALYTICS_SUBDIVISION;
	if (!query)
		return 0;
	int f;
	if ((f = one_field(query, "from", out->from, sizeof out->from)) < 0 ||
	    (f && date_parse(out->from, &from) < 0)) {
		snprintf(err, errlen, "from is a date, YYYY-MM-DD");
		return -1;
	}
	if ((f = one_field(query, "to", out->to, sizeof out->to)) < 0 ||
	    (f && date_parse(out->to, &to) < 0)) {
		snprintf(err, errlen, "to is a date, YYYY-MM-DD");
		return -1;
	}
	if (out->from[0] && out->to[0] && (to < from || to - from >= ANALYTICS_DAYS_MAX)) {
		snprintf(err, errlen, "to is from or later, at most %d days in all",
		         ANALYTICS_DAYS_MAX);
		return -1;
	}
	if ((f = one_field(query, "product", out->product, sizeof out->product)) < 0 ||
	    (f && (!out->product[0] ||
	           strspn(out->product, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                                "0123456789._-") != strlen(out->product)))) {
		snprintf(err, errlen, "product is a SKU");
		return -1;
	}
	if ((f = one_field(query, "country", out->country, sizeof out->country)) < 0 ||
	    (f && (strlen(out->country) != 2 ||
	           strspn(out->country, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 2))) {
		snprintf(err, errlen, "country is two capital letters (ISO 3166-1)");
		return -1;
	}
	char num[24];
	if ((f = one_field(query, "batch", num, sizeof num)) < 0 ||
	    (f && http_query_int(query, "batch", 1LL << 62, &out->batch) != 1)) {
		snprintf(err, errlen, "batch is a print run's id");
		return -1;
	}
	if ((f = one_field(query, "level", level, sizeof level)) < 0) {
		snprintf(err, errlen, "level is country, subdivision or city");
		return -1;
	}
	if (f) {
		if (strcmp(level, "country") == 0)
			out->level = ANALYTICS_COUNTRY;
		else if (strcmp(level, "subdivision") == 0)
			out->level = ANALYTICS_SUBDIVISION;
		else if (strcmp(level, "city") == 0)
			out->level = ANALYTICS_CITY;
		else {
			snprintf(err, errlen, "level is country, subdivision or city");
			return -1;
		}
	}
	return 0;
}
