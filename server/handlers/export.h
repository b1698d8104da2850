/*
 * export.h: the admin API's exports (docs/api.md, "Exports"): scans,
 * claims, members and the ledger for a date range, as CSV or JSON Lines,
 * streamed from one COPY ... TO STDOUT with flow control, so that memory
 * stays flat however many rows there are. Every export is audited.
 */
#ifndef PACKCODE_SERVER_HANDLERS_EXPORT_H
#define PACKCODE_SERVER_HANDLERS_EXPORT_H

#include <stddef.h>

#include "edge/http.h"

#define EXPORT_TIME_MAX 35 /* "2026-12-03T06:14:30.123456+08:00" and room */

/* GET /api/v1/admin/exports/{kind}?from=...&to=...&format=csv|jsonl */
void admin_route_export(struct request *r);

struct worker;
/* The worker's export connections for a COPY stream (made on first use);
 * NULL when it has none (--export-connections 0). Each stream counts in
 * w->exports while it runs. */
struct pool *export_pool(struct worker *w);

/* ---- decoded without side effects (export_input.c) ---- */

enum export_kind { EXPORT_SCANS, EXPORT_CLAIMS, EXPORT_MEMBERS, EXPORT_LEDGER };
enum export_format { EXPORT_CSV, EXPORT_JSONL };

struct export_in {
	enum export_kind kind;
	enum export_format format;
	char from[EXPORT_TIME_MAX + 1], to[EXPORT_TIME_MAX + 1]; /* as given, checked */
};

/* The names in URLs and in the database: "scans", ...; "csv", "jsonl". */
const char *export_kind_name(enum export_kind k);
const char *export_format_name(enum export_format f);
/* A kind by name (kind[0..len)): 0 with *out, or -1. */
int export_kind_parse(const char *kind, size_t len, enum export_kind *out);

/*
 * A time of a range: a date "2026-12-01" (midnight UTC) or an RFC 3339
 * time with its offset ("2026-12-01T08:00:00Z", "...+08:00", seconds and
 * fractions optional); a real day of a real month. 0 or -1.
 */
int export_time_check(const char *s);

/*
 * Fill *out's format, from and to from a query string (kind is the
 * path's): from and to are required, format is csv unless jsonl. 0, or -1
 * with err (for a 400 reply). Whether from is before to is the database's
 * to say (it compares instants).
 */
int export_decode_query(const char *query, struct export_in *out, char *err, size_t errlen);

/*
 * A background job's JSON body {"kind", "from", "to", "format"} into *out
 * (kind, from and to required; format csv unless jsonl; no other field).
 * 0, or -1 with err (for a 400 reply). Pure (fuzzed).
 */
int export_job_decode(const char *body, size_t len, struct export_in *out, char *err,
                      size_t errlen);

#endif
