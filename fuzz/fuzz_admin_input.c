/*
 * fuzz_admin_input.c: libFuzzer target for the admin API's request bodies
 * (server/handlers/admin_input.c) and every request path against the
 * server's own route table (server/routes.def, server/edge/router.c). The
 * first byte picks the decoder, the rest is the body (or the path).
 *
 * Beyond "does not crash", whatever a decoder accepts must meet the rules
 * the database enforces: a valid SKU, text without control characters within
 * its length, points in range, a GTIN-14 of digits.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/admin.h"
#include "routes.h"

static void handler(struct request *r)
{
	(void)r;
}

static const struct route table[] = {
#define ROUTE(id, methods, pattern, limit, auth, scope, flags, h, page)                            \
	ROUTE_ROW(id, methods, pattern, limit, auth, scope, flags, handler, NULL),
#include "routes.def"
#undef ROUTE
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_admin_input: %s\n", what);
		abort();
	}
}

static void check_text(const char *s, long min, long max)
{
	long n = product_text_chars(s);
	check(n >= min && n <= max, "accepted text breaks the text rule");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256], reason[ADMIN_TEXT_BYTES + 1];
	struct admin_product_in p;
	struct admin_points_in in;
	if (size < 1)
		return 0;
	const char *body = (const char *)data + 1;
	size_t len = size - 1;
	switch (data[0] % 5) {
	case 0:
		if (admin_decode_product(body, len, &p, err, sizeof err) == ADMIN_DECODE_OK) {
			check(product_sku_check(p.sku) == 0, "accepted a bad SKU");
			check_text(p.name, 1, PRODUCT_NAME_MAX);
			check_text(p.brand, 0, PRODUCT_BRAND_MAX);
			check(p.points >= 0 && p.points <= PRODUCT_POINTS_MAX,
			      "points out of range");
			check(p.gtin[0] == '\0' || (strlen(p.gtin) == GTIN_LEN &&
			                            strspn(p.gtin, "0123456789") == GTIN_LEN),
			      "accepted a bad GTIN");
		} else {
			check(err[0] != '\0', "a refusal without a message");
		}
		break;
	case 1:
		if (admin_decode_reason(body, len, reason, err, sizeof err) == ADMIN_DECODE_OK)
			check_text(reason, 1, ADMIN_TEXT_MAX);
		break;
	case 2:
		if (admin_decode_adjust(body, len, &in, err, sizeof err) == ADMIN_DECODE_OK) {
			check(in.points != 0 && in.points >= -ADMIN_POINTS_MAX &&
			          in.points <= ADMIN_POINTS_MAX,
			      "adjustment out of range");
			check_text(in.text, 1, ADMIN_TEXT_MAX);
		}
		break;
	case 3:
		if (admin_decode_spend(body, len, &in, err, sizeof err) == ADMIN_DECODE_OK) {
			check(in.points >= 1 && in.points <= ADMIN_POINTS_MAX,
			      "spend out of range");
			if (in.has_text)
				check_text(in.text, 0, ADMIN_TEXT_MAX);
		}
		break;
	default: {
		/* a path, any method: a match's captures lie inside it, in order */
		struct route_match m;
		unsigned method = 1u << (data[0] % 9);
		enum router_result res = router_match(table, sizeof table / sizeof table[0], body,
		                                      len, method, ROUTER_ONLY, &m);
		check((res == ROUTER_NOT_FOUND) == (m.row == NULL), "a row without a match");
		check(res != ROUTER_FOUND || (m.row->methods & method), "a method the row refuses");
		check(res != ROUTER_BAD_METHOD || (m.allow && !(m.allow & method)),
		      "405 for a method the path takes");
		const char *end = body;
		for (int i = 0; m.row && i < m.ncap; i++) {
			check(m.cap[i].s >= end && m.cap[i].s + m.cap[i].len <= body + len,
			      "a capture outside the path");
			end = m.cap[i].s + m.cap[i].len;
		}
		break;
	}
	}
	return 0;
}
