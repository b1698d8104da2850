/*
 * health.h: what operators and load balancers ask: /healthz (the process
 * answers), /readyz (it can reach the database and is not draining) and
 * /metrics (the Prometheus text of every worker's counters).
 */
#ifndef PACKCODE_SERVER_HEALTH_H
#define PACKCODE_SERVER_HEALTH_H

struct request;

void health_live(struct request *r);
void health_ready(struct request *r);
void health_metrics(struct request *r);

#endif
