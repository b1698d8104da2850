/*
 * product.h: what makes a product acceptable, the CHECK constraints of
 * products (sql/001_core.sql) checked before the database is touched.
 * packcode-gen product add and the server's admin API share these rules, so
 * the same input is refused by both with the same words.
 */
#ifndef PACKCODE_PRODUCT_H
#define PACKCODE_PRODUCT_H

#include <stddef.h>

#include "url.h"

#define PRODUCT_SKU_MAX    64
#define PRODUCT_NAME_MAX   200 /* characters */
#define PRODUCT_BRAND_MAX  200 /* characters */
#define PRODUCT_POINTS_MAX 1000000

/* ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$, as products.sku's CHECK: 0 or -1. */
int product_sku_check(const char *sku);

/*
 * Characters in s if it is well-formed UTF-8 (no overlong forms, surrogates
 * or code points past U+10FFFF) without control characters; else -1. The
 * rule for names and brands, and for any free text an operator types.
 */
long product_text_chars(const char *s);

/*
 * Check a product to add: sku, name (1-200 characters), brand (0-200, NULL
 * for none), points (0-1000000), gtin (NULL for none; any GTIN
 * gtin_normalize takes). On success gtin14 is the GTIN-14, or "" when gtin
 * is NULL. 0, or -1 with err ("the name must be 1 to 200 characters, not 0").
 */
int product_check(const char *sku, const char *name, const char *brand, long long points,
                  const char *gtin, char gtin14[GTIN_LEN + 1], char *err, size_t errlen);

#endif
