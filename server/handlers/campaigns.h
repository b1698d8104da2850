/*
 * campaigns.h (handlers): the admin API's campaigns (docs/campaigns.md,
 * docs/api.md): read with `read`, created and ended with `campaigns`, each
 * of the identity's brands; and GET /campaigns/{id}, a campaign's public
 * rules page (HTML or JSON, landing.c), which anyone may read. The rules are applied
 * by claim_many (sql/021_campaigns.sql), not here.
 */
#ifndef PACKCODE_SERVER_HANDLERS_CAMPAIGNS_H
#define PACKCODE_SERVER_HANDLERS_CAMPAIGNS_H

#include <stddef.h>

#include "edge/http.h"
#include "handlers/admin.h"

#define CAMPAIGN_LIST_MAX   100 /* products, print runs, regions */
#define CAMPAIGN_PRIZES_MAX 20
#define CAMPAIGN_POINTS_MAX 1000000
#define CAMPAIGN_MONEY_MAX  1000000000000000LL /* minor units: a red packet's budget */

void admin_route_campaigns(struct request *r);        /* GET campaigns */
void admin_route_campaign_create(struct request *r);  /* POST campaigns */
void admin_route_campaign(struct request *r);         /* GET campaigns/{id} */
void admin_route_campaign_end(struct request *r);     /* POST campaigns/{id}/end */
void admin_route_campaign_payouts(struct request *r); /* GET campaigns/{id}/payouts */
/* GET campaigns/{id}/winners: prizes won per day, the last 100 winners, masked */
void admin_route_campaign_winners(struct request *r);

/* ---- decoded without side effects (campaigns_input.c) ---- */

/*
 * POST campaigns: the body's shape checked (docs/api.md: every field, its
 * type and range; unknown fields refused); the values that need the
 * database (the brand, its products and print runs, the times) are checked
 * by campaign_create. On ADMIN_DECODE_OK *canon is the body as compact JSON
 * for the database (the caller frees it); otherwise err says why.
 */
enum admin_decode campaign_decode(const char *body, size_t len, char **canon, char *err,
                                  size_t errlen);

#endif
