/*
 * admin.h: the admin API under /api/v1/admin/ (docs/api.md, "Admin API"):
 * products, batches with their counts of scans and claims, recall and
 * unrecall, point adjustments and idempotent spends, the audit trail.
 *
 * Every request needs a live bearer token (tokens.h), checked before the
 * path is even looked at. Every change is one call of a SQL function
 * (sql/004_admin_api.sql) that writes the change and its audit row in one
 * transaction; a refused request writes nothing.
 */
#ifndef PACKCODE_SERVER_ADMIN_H
#define PACKCODE_SERVER_ADMIN_H

#include <stddef.h>

#include "edge/http.h"
#include "password.h"
#include "product.h"

#define ADMIN_TEXT_MAX   200                  /* characters of a reason or a reference */
#define ADMIN_TEXT_BYTES (4 * ADMIN_TEXT_MAX) /* UTF-8 */
#define ADMIN_POINTS_MAX 1000000000LL         /* one adjustment or spend */
#define ADMIN_KEY_MAX    64                   /* Idempotency-Key */
#define ADMIN_NAME_MAX   64                   /* a staff account's or a token's name */

/*
 * The route table's handlers (routes.c), one per endpoint; the edge has
 * checked the token (r->admin) and the method before any of them runs.
 */
void admin_route_products(struct request *r);    /* GET products */
void admin_route_product_add(struct request *r); /* POST products */
void admin_route_batches(struct request *r);     /* GET batches */
void admin_route_recall(struct request *r);      /* POST batches/{id}/recall */
void admin_route_unrecall(struct request *r);    /* POST batches/{id}/unrecall */
void admin_route_adjust(struct request *r);      /* POST members/{member}/adjust */
void admin_route_spend(struct request *r);       /* POST members/{member}/spend */
void admin_route_audit(struct request *r);       /* GET audit */
void admin_route_suspicious(struct request *r);  /* GET codes/suspicious */
void admin_route_stats(struct request *r);       /* GET stats */
void admin_route_batch(struct request *r);       /* GET batches/{id} */
void admin_route_not_found(struct request *r);   /* anything else under /api/v1/admin/ */

/* ---- bodies, decoded without side effects (admin_input.c) ---- */

enum admin_decode {
	ADMIN_DECODE_OK,
	ADMIN_DECODE_BAD_JSON,    /* not JSON, or duplicate keys */
	ADMIN_DECODE_BAD_REQUEST, /* JSON, but a field is missing, of the wrong type or invalid */
};

/* POST products: {"sku", "name", "points", "gtin" (optional), "brand" (optional)}. */
struct admin_product_in {
	char sku[PRODUCT_SKU_MAX + 1];
	char gtin[GTIN_LEN + 1]; /* GTIN-14, "" for none */
	char name[4 * PRODUCT_NAME_MAX + 1];
	char brand[4 * PRODUCT_BRAND_MAX + 1];
	int points;
};

/* adjust: {"points": ±N, "reason"}; spend: {"points": N, "reference" (optional)}. */
struct admin_points_in {
	long long points;
	char text[ADMIN_TEXT_BYTES + 1]; /* the reason or the reference */
	int has_text;
};

/*
 * Each fills *out, or says in err (for a 400 reply) what is wrong. The
 * bodies are JSON objects; fields not named are ignored.
 */
enum admin_decode admin_decode_product(const char *body, size_t len, struct admin_product_in *out,
                                       char *err, size_t errlen);
/* recall, unrecall: {"reason": 1-200 characters}; reason gets it. */
enum admin_decode admin_decode_reason(const char *body, size_t len,
                                      char reason[ADMIN_TEXT_BYTES + 1], char *err, size_t errlen);
enum admin_decode admin_decode_adjust(const char *body, size_t len, struct admin_points_in *out,
                                      char *err, size_t errlen);
enum admin_decode admin_decode_spend(const char *body, size_t len, struct admin_points_in *out,
                                     char *err, size_t errlen);

/* An Idempotency-Key: 1 to 64 printable ASCII characters. 0 or -1. */
int admin_idempotency_key_check(const char *key);

/* A staff sign-in: {"name", "password", "totp" (optional: 6 digits)}. */
struct admin_sign_in {
	char name[ADMIN_NAME_MAX + 1];
	char password[PASSWORD_MAX + 1];
	size_t password_len;
	char totp[8]; /* "" when absent */
};
/* The password is wiped from out when the body is refused. */
enum admin_decode admin_decode_sign_in(const char *body, size_t len, struct admin_sign_in *out,
                                       char *err, size_t errlen);

/* A staff account's or a token's name: 1 to 64 of A-Z a-z 0-9 . _ @ -, not first. 0 or -1. */
int admin_name_check(const char *name);

#endif
