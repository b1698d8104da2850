/*
 * timefmt.h: timestamps as PostgreSQL sends them and as packcode shows them.
 *
 * Server connections run with TimeZone UTC and DateStyle ISO, so a value is
 * "2026-11-23 14:46:17.58237+00"; JSON shows "2026-11-23T14:46:17Z".
 */
#ifndef PACKCODE_SERVER_TIMEFMT_H
#define PACKCODE_SERVER_TIMEFMT_H

#include <stddef.h>
#include <time.h>

#define TIMEFMT_ISO_LEN 21 /* "YYYY-MM-DDTHH:MM:SSZ" plus NUL */

/* Parse a PostgreSQL timestamptz in UTC: 0, or -1 if it is not one. */
int timefmt_parse_pg(const char *s, time_t *out);

/* "2026-11-23T14:46:17Z". */
void timefmt_iso(time_t t, char out[TIMEFMT_ISO_LEN]);

/* A PostgreSQL timestamp straight to ISO 8601; "" if it does not parse. */
void timefmt_pg_to_iso(const char *pg, char out[TIMEFMT_ISO_LEN]);

/* "2026-11-23 14:46:17.123456+00" for now, to send back to PostgreSQL (40 bytes suffice). */
void timefmt_pg_now(char *out, size_t outlen);

/* timefmt_iso(now), cheaply (formatted once a second per thread). */
void timefmt_now_iso(char out[TIMEFMT_ISO_LEN]);

#endif
