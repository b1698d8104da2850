/*
 * events.h: the admin API's EPCIS events (docs/epcis.md, docs/api.md
 * "EPCIS events"): the chain of custody of the identity's brands as one
 * GS1 EPCIS 2.0 document, streamed from one COPY ... TO STDOUT on the
 * export connections with flow control, so memory stays flat whatever the
 * number of events.
 */
#ifndef PACKCODE_SERVER_HANDLERS_EVENTS_H
#define PACKCODE_SERVER_HANDLERS_EVENTS_H

#include <stddef.h>

#include "edge/http.h"
#include "handlers/export.h"

#define EVENTS_KINDS_MAX 200 /* "commissioning,activation,..." */

/* GET /api/v1/admin/events?from=&to=&batch=&kind= */
void admin_route_events(struct request *r);

/* ---- decoded without side effects (events_input.c) ---- */

struct events_in {
	char from[EXPORT_TIME_MAX + 1], to[EXPORT_TIME_MAX + 1]; /* "" when not given */
	char batch[24];                                          /* digits, "" for every batch */
	char kinds[EVENTS_KINDS_MAX + 1];                        /* "a,b", "" for the default */
};

/*
 * Fill *out from a query string: from and to optional (export_time_check's
 * forms), batch a positive number, kind a comma-separated list of names
 * ([a-z_]); which kinds exist is the database's to say. 0, or -1 with err
 * (for a 400 reply).
 */
int events_decode_query(const char *query, struct events_in *out, char *err, size_t errlen);

#endif
