/*
 * timefmt.c: parsing PostgreSQL's ISO timestamps (always UTC on our
 * connections) and printing ISO 8601 without depending on the C locale.
 */
#include "engine/timefmt.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>

static int digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int timefmt_parse_pg(const char *s, time_t *out)
{
	struct tm tm = {0};
	int y, mo, d, h, mi, se;
	if (!s || strlen(s) < 19 || s[4] != '-' || s[7] != '-' || (s[10] != ' ' && s[10] != 'T') ||
	    s[13] != ':' || s[16] != ':')
		return -1;
	if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
	    digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) || digits(s + 17, 2, &se))
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*out = timegm(&tm);
	return 0;
}

void timefmt_iso(time_t t, char out[TIMEFMT_ISO_LEN])
{
	struct tm tm;
	char tmp[64];
	gmtime_r(&t, &tm);
	snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	snprintf(out, TIMEFMT_ISO_LEN, "%.20s", tmp);
}

void timefmt_pg_to_iso(const char *pg, char out[TIMEFMT_ISO_LEN])
{
	time_t t;
	if (timefmt_parse_pg(pg, &t) < 0)
		out[0] = '\0';
	else
		timefmt_iso(t, out);
}

/* This thread's clock, formatted once per second. */
struct clock_cache {
	time_t sec;
	char pg[24]; /* "YYYY-MM-DD HH:MM:SS" */
	char iso[TIMEFMT_ISO_LEN];
};
static __thread struct clock_cache clock_cache = {.sec = -1};

static struct clock_cache *tick(long *usec)
{
	struct timeval tv;
	struct clock_cache *c = &clock_cache;
	gettimeofday(&tv, NULL);
	if (tv.tv_sec != c->sec) {
		struct tm tm;
		char tmp[64];
		gmtime_r(&tv.tv_sec, &tm);
		snprintf(tmp, sizeof tmp, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900,
		         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		snprintf(c->pg, sizeof c->pg, "%.19s", tmp);
		timefmt_iso(tv.tv_sec, c->iso);
		c->sec = tv.tv_sec;
	}
	if (usec)
		*usec = (long)tv.tv_usec;
	return c;
}

void timefmt_pg_now(char *out, size_t outlen)
{
	long us;
	struct clock_cache *c = tick(&us);
	char frac[11] = ".000000+00";
	for (int i = 6; i >= 1; i--, us /= 10)
		frac[i] = (char)('0' + us % 10);
	if (outlen < 30) {
		if (outlen)
			out[0] = '\0';
		return;
	}
	memcpy(out, c->pg, 19);
	memcpy(out + 19, frac, 11); /* with its NUL */
}

void timefmt_now_iso(char out[TIMEFMT_ISO_LEN])
{
	memcpy(out, tick(NULL)->iso, TIMEFMT_ISO_LEN);
}
