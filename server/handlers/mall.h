/*
 * mall.h (handlers): the points mall (docs/campaigns.md, "Points mall";
 * docs/api.md): the public catalogue, a signed-in member's orders (placed
 * with an Idempotency-Key, cancelled while not shipped), and the admin
 * API's rewards (scope campaigns, of the identity's brands) and orders
 * (read; shipped and refunded with campaigns). Each change is one call of a
 * write-path function of sql/027_mall.sql; the address is sealed here.
 */
#ifndef PACKCODE_SERVER_HANDLERS_MALL_H
#define PACKCODE_SERVER_HANDLERS_MALL_H

#include <stddef.h>

#include "edge/http.h"
#include "handlers/admin.h"

#define MALL_POINTS_MAX 1000000000LL /* a reward's price, its stock */
#define MALL_NAME_MAX   200
#define MALL_DESC_MAX   2000

void mall_route_public(struct request *r);        /* GET /api/v1/mall */
void mall_route_my_orders(struct request *r);     /* GET /api/v1/members/me/orders */
void mall_route_order(struct request *r);         /* POST /api/v1/members/me/orders */
void mall_route_cancel(struct request *r);        /* POST .../me/orders/{id}/cancel */
void mall_route_rewards(struct request *r);       /* GET admin/mall/rewards */
void mall_route_reward_create(struct request *r); /* POST admin/mall/rewards */
void mall_route_reward_update(struct request *r); /* POST admin/mall/rewards/{id} */
void mall_route_admin_orders(struct request *r);  /* GET admin/orders */
void mall_route_order_ship(struct request *r);    /* POST admin/orders/{id}/ship */
void mall_route_order_refund(struct request *r);  /* POST admin/orders/{id}/refund */

/* ---- decoded without side effects (mall_input.c, fuzzed) ---- */

/*
 * An order's body: {"reward": id, "address": {"name", "phone", "line1"
 * required; "line2", "city", "region", "country", "postcode" optional}},
 * nothing else. On ADMIN_DECODE_OK: reward, address (the address as
 * compact JSON, keys sorted: what is sealed) and masked (what staff
 * without pii see: the name's first character, the phone's first three
 * and last four digits, country, region and city; the street and postcode
 * hidden); the caller frees both with mall_order_in_free.
 */
struct mall_order_in {
	long long reward;
	char *address;
	char *masked;
};
enum admin_decode mall_order_decode(const char *body, size_t len, struct mall_order_in *out,
                                    char *err, size_t errlen);
void mall_order_in_free(struct mall_order_in *in);

/*
 * A reward's body: create needs brand, name, points (the price, 1 to
 * MALL_POINTS_MAX) and stock (0 to MALL_POINTS_MAX), and may have
 * description and active; an update has one or more of name, description,
 * points, stock, active, and no brand. On ADMIN_DECODE_OK *canon is the
 * body as compact JSON (the caller frees it).
 */
enum admin_decode mall_reward_decode(const char *body, size_t len, int create, char **canon,
                                     char *err, size_t errlen);

/* An order's status as the admin list filters it: 0 if one of placed, shipped, cancelled, refunded.
 */
int mall_status_check(const char *s);

#endif
