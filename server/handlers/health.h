/*
 * health.h: what operators and load balancers ask: /healthz (the process
 * answers), /readyz (it can reach the database and is not draining: the
 * answer of the last ping, refreshed by health_tick) and /metrics (the
 * Prometheus text of every worker's counters).
 */
#ifndef PACKCODE_SERVER_HEALTH_H
#define PACKCODE_SERVER_HEALTH_H

struct request;
struct worker;

void health_live(struct request *r);
void health_ready(struct request *r);
void health_metrics(struct request *r);

/* The worker's timer (every 100 ms): ping the database a second after its last answer. */
void health_tick(struct worker *w);

#endif
