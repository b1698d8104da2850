/*
 * alerts.h (handlers): the admin API's alert rules and alerts
 * (docs/alerts.md, docs/api.md): rules are read with `read` and changed
 * with `operate`; alerts are listed with `read` and acknowledged with
 * `operate`. All of them are of the identity's brands. engine/alerts.c
 * raises the alerts; this is only their administration.
 */
#ifndef PACKCODE_SERVER_HANDLERS_ALERTS_H
#define PACKCODE_SERVER_HANDLERS_ALERTS_H

#include <stddef.h>

#include "edge/http.h"
#include "handlers/admin.h"

#define ALERT_THRESHOLD_MAX 1000000
#define ALERT_WINDOW_MIN_S  60
#define ALERT_WINDOW_MAX_S  2592000 /* 30 days */
#define ALERT_BRAND_MAX     800     /* bytes: 200 characters of UTF-8 */
#define ALERT_REGION_MAX    16      /* an ISO 3166 code: CN, CN-ZJ, US-CA */
#define ALERT_TRAVEL_KMH    900     /* a travel rule's speed without threshold: an airliner's */

void admin_route_alert_rules(struct request *r);       /* GET alert-rules */
void admin_route_alert_rule_add(struct request *r);    /* POST alert-rules */
void admin_route_alert_rule_delete(struct request *r); /* DELETE alert-rules/{id} */
void admin_route_alerts(struct request *r);            /* GET alerts */
void admin_route_alert_ack(struct request *r);         /* POST alerts/{id}/acknowledge */

/* ---- decoded without side effects (alerts_input.c) ---- */

/*
 * POST alert-rules: {"kind", "threshold", "window_s", "brand" (optional),
 * "region" (optional, not_genuine only)}. A travel rule's threshold is a
 * speed in km/h (ALERT_TRAVEL_KMH when omitted).
 */
struct alert_rule_in {
	char kind[16]; /* scanners, not_genuine, travel */
	int threshold;
	int window_s;
	char brand[ALERT_BRAND_MAX + 1];
	int has_brand;
	char region[ALERT_REGION_MAX + 1]; /* "" for none: over all */
};

enum admin_decode alert_rule_decode(const char *body, size_t len, struct alert_rule_in *out,
                                    char *err, size_t errlen);

#endif
