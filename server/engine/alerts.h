/*
 * alerts.h: the alert evaluator (docs/alerts.md), in the control thread:
 * every interval it calls alerts_evaluate() (sql/016_alerts.sql) on a
 * connection of its own, off every request's path. The function does the
 * work set-based under a lease (an advisory lock taken without waiting),
 * so that of several servers one evaluates at a time; alerts are
 * deduplicated in the database, so a double run raises nothing twice.
 */
#ifndef PACKCODE_SERVER_ENGINE_ALERTS_H
#define PACKCODE_SERVER_ENGINE_ALERTS_H

#include <event2/event.h>

struct alerts;

/* An evaluator every interval_ms on base; NULL for out of memory. */
struct alerts *alerts_new(struct event_base *base, const char *conninfo, int interval_ms);
/* Its connection first (an evaluation in flight fails: rolled back), then it. NULL is fine. */
void alerts_free(struct alerts *a);

#endif
