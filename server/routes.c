/*
 * routes.c: the route table, made of routes.def's rows and the handlers
 * they name. The only file that knows both the edge's row type and every
 * handler: the edge gets the table as data (http_routes).
 */
#include "routes.h"

#include "handlers/admin.h"
#include "handlers/analytics.h"
#include "handlers/auth.h"
#include "handlers/alerts.h"
#include "handlers/campaigns.h"
#include "handlers/claim.h"
#include "handlers/events.h"
#include "handlers/console.h"
#include "handlers/export.h"
#include "handlers/health.h"
#include "handlers/insights.h"
#include "handlers/landing.h"
#include "handlers/lookup.h"
#include "handlers/mall.h"
#include "handlers/member.h"
#include "handlers/resolver.h"
#include "handlers/merge.h"
#include "handlers/referrals.h"
#include "handlers/oauth.h"
#include "handlers/staff.h"
#include "handlers/packing.h"
#include "handlers/payouts.h"
#include "handlers/supply.h"
#include "handlers/webhooks.h"

const struct route routes[] = {
#define ROUTE(...) ROUTE_ROW(__VA_ARGS__),
#include "routes.def"
#undef ROUTE
};

const size_t routes_count = sizeof routes / sizeof routes[0];
