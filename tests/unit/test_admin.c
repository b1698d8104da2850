/*
 * test_admin.c: the admin API's request bodies: what is accepted
 * (and how it is normalised), and that every malformed or out-of-range body
 * is refused as bad JSON or a bad request with a message, before any query.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "handlers/admin.h"

static char err[256];

static enum admin_decode product(const char *body, struct admin_product_in *p)
{
	err[0] = '\0';
	return admin_decode_product(body, strlen(body), p, err, sizeof err);
}

static void test_product_body_is_checked_and_gtin_normalised(void **state)
{
	struct admin_product_in p;
	(void)state;
	assert_int_equal(product("{\"sku\":\"COLA-330\",\"name\":\"Cola\",\"points\":25,"
	                         "\"gtin\":\"4006381333931\",\"brand\":\"Acme\",\"other\":1}",
	                         &p),
	                 ADMIN_DECODE_OK);
	assert_string_equal(p.sku, "COLA-330");
	assert_string_equal(p.gtin, "04006381333931");
	assert_string_equal(p.name, "Cola");
	assert_string_equal(p.brand, "Acme");
	assert_int_equal(p.points, 25);
	assert_int_equal(product("{\"sku\":\"T\",\"name\":\"茶\",\"points\":0,\"gtin\":null}", &p),
	                 ADMIN_DECODE_OK);
	assert_string_equal(p.gtin, "");
	assert_string_equal(p.brand, "");
}

static void test_product_refusals_say_why(void **state)
{
	static const struct {
		const char *body;
		enum admin_decode why;
		const char *says;
	} cases[] = {
	    {"{\"sku\":\"T\",\"name\":\"N\"", ADMIN_DECODE_BAD_JSON, "malformed JSON"},
	    {"{\"sku\":\"T\",\"sku\":\"U\",\"name\":\"N\",\"points\":1}", ADMIN_DECODE_BAD_JSON,
	     "malformed JSON"},
	    {"[1]", ADMIN_DECODE_BAD_REQUEST, "JSON object"},
	    {"{\"name\":\"N\",\"points\":1}", ADMIN_DECODE_BAD_REQUEST, "sku is required"},
	    {"{\"sku\":5,\"name\":\"N\",\"points\":1}", ADMIN_DECODE_BAD_REQUEST,
	     "sku must be a string"},
	    {"{\"sku\":\"a b\",\"name\":\"N\",\"points\":1}", ADMIN_DECODE_BAD_REQUEST,
	     "SKU \"a b\""},
	    {"{\"sku\":\"T\",\"name\":\"\",\"points\":1}", ADMIN_DECODE_BAD_REQUEST, "not 0"},
	    {"{\"sku\":\"T\",\"name\":\"a\\tb\",\"points\":1}", ADMIN_DECODE_BAD_REQUEST,
	     "control characters"},
	    {"{\"sku\":\"T\",\"name\":\"N\",\"points\":-1}", ADMIN_DECODE_BAD_REQUEST, "points"},
	    {"{\"sku\":\"T\",\"name\":\"N\",\"points\":1000001}", ADMIN_DECODE_BAD_REQUEST,
	     "points"},
	    {"{\"sku\":\"T\",\"name\":\"N\",\"points\":true}", ADMIN_DECODE_BAD_REQUEST, "points"},
	    {"{\"sku\":\"T\",\"name\":\"N\",\"points\":1,\"gtin\":\"4006381333932\"}",
	     ADMIN_DECODE_BAD_REQUEST, "check digit"},
	    {"{\"sku\":\"T\",\"name\":\"N\",\"points\":1,\"gtin\":7}", ADMIN_DECODE_BAD_REQUEST,
	     "gtin must be a string"},
	};
	struct admin_product_in p;
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(product(cases[i].body, &p), cases[i].why);
		assert_non_null(strstr(err, cases[i].says));
	}
}

static void test_overlong_name_is_refused_not_cut(void **state)
{
	char body[2048], name[1024];
	struct admin_product_in p;
	(void)state;
	memset(name, 'n', 201);
	name[201] = '\0';
	snprintf(body, sizeof body, "{\"sku\":\"T\",\"name\":\"%s\",\"points\":1}", name);
	assert_int_equal(product(body, &p), ADMIN_DECODE_BAD_REQUEST);
	assert_non_null(strstr(err, "not 201"));
	memset(name, 'n', 900);
	name[900] = '\0';
	snprintf(body, sizeof body, "{\"sku\":\"T\",\"name\":\"%s\",\"points\":1}", name);
	assert_int_equal(product(body, &p), ADMIN_DECODE_BAD_REQUEST);
	assert_non_null(strstr(err, "too long"));
}

static void test_adjust_needs_nonzero_points_and_a_reason(void **state)
{
	struct admin_points_in in;
	(void)state;
#define ADJ(s) admin_decode_adjust(s, strlen(s), &in, err, sizeof err)
	assert_int_equal(ADJ("{\"points\":-30,\"reason\":\"returned\"}"), ADMIN_DECODE_OK);
	assert_int_equal(in.points, -30);
	assert_string_equal(in.text, "returned");
	assert_int_equal(ADJ("{\"points\":0,\"reason\":\"x\"}"), ADMIN_DECODE_BAD_REQUEST);
	assert_int_equal(ADJ("{\"points\":5}"), ADMIN_DECODE_BAD_REQUEST);
	assert_int_equal(ADJ("{\"points\":5,\"reason\":\"\"}"), ADMIN_DECODE_BAD_REQUEST);
	assert_int_equal(ADJ("{\"points\":1000000001,\"reason\":\"x\"}"), ADMIN_DECODE_BAD_REQUEST);
	assert_int_equal(ADJ("{\"points\":-1000000001,\"reason\":\"x\"}"),
	                 ADMIN_DECODE_BAD_REQUEST);
	assert_int_equal(ADJ("{\"points\":2.0,\"reason\":\"x\"}"), ADMIN_DECODE_BAD_REQUEST);
#undef ADJ
}

static void test_spend_needs_positive_points_reference_optional(void **state)
{
	struct admin_points_in in;
	(void)state;
#define SPEND(s) admin_decode_spend(s, strlen(s), &in, err, sizeof err)
	assert_int_equal(SPEND("{\"points\":10}"), ADMIN_DECODE_OK);
	assert_int_equal(in.has_text, 0);
	assert_int_equal(SPEND("{\"points\":10,\"reference\":\"order 7\"}"), ADMIN_DECODE_OK);
	assert_int_equal(in.has_text, 1);
	assert_string_equal(in.text, "order 7");
	assert_int_equal(SPEND("{\"points\":0}"), ADMIN_DECODE_BAD_REQUEST);
	assert_int_equal(SPEND("{\"points\":-10}"), ADMIN_DECODE_BAD_REQUEST);
	assert_int_equal(SPEND("{\"points\":\"10\"}"), ADMIN_DECODE_BAD_REQUEST);
	assert_int_equal(SPEND("{\"points\":10,\"reference\":[]}"), ADMIN_DECODE_BAD_REQUEST);
	assert_int_equal(SPEND("{\"points\":10,\"reference\":\"a\\nb\"}"),
	                 ADMIN_DECODE_BAD_REQUEST);
	assert_int_equal(SPEND("points=10"), ADMIN_DECODE_BAD_JSON);
#undef SPEND
}

static void test_recall_needs_a_reason(void **state)
{
	char reason[ADMIN_TEXT_BYTES + 1];
	(void)state;
#define REASON(s) admin_decode_reason(s, strlen(s), reason, err, sizeof err)
	assert_int_equal(REASON("{\"reason\":\"contaminated lot\"}"), ADMIN_DECODE_OK);
	assert_string_equal(reason, "contaminated lot");
	assert_int_equal(REASON("{}"), ADMIN_DECODE_BAD_REQUEST);
	assert_int_equal(REASON("{\"reason\":null}"), ADMIN_DECODE_BAD_REQUEST);
	assert_int_equal(REASON("{\"reason\":\"\"}"), ADMIN_DECODE_BAD_REQUEST);
	assert_int_equal(REASON(""), ADMIN_DECODE_BAD_JSON);
#undef REASON
}

static void test_idempotency_key_is_1_to_64_printable(void **state)
{
	char key[80];
	(void)state;
	assert_int_equal(admin_idempotency_key_check("a"), 0);
	assert_int_equal(admin_idempotency_key_check("order 7/2026-11-23"), 0);
	memset(key, 'k', 64);
	key[64] = '\0';
	assert_int_equal(admin_idempotency_key_check(key), 0);
	key[64] = 'k';
	key[65] = '\0';
	assert_int_equal(admin_idempotency_key_check(key), -1);
	assert_int_equal(admin_idempotency_key_check(""), -1);
	assert_int_equal(admin_idempotency_key_check("tab\there"), -1);
	assert_int_equal(admin_idempotency_key_check("caf\xc3\xa9"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_product_body_is_checked_and_gtin_normalised),
	    cmocka_unit_test(test_product_refusals_say_why),
	    cmocka_unit_test(test_overlong_name_is_refused_not_cut),
	    cmocka_unit_test(test_adjust_needs_nonzero_points_and_a_reason),
	    cmocka_unit_test(test_spend_needs_positive_points_reference_optional),
	    cmocka_unit_test(test_recall_needs_a_reason),
	    cmocka_unit_test(test_idempotency_key_is_1_to_64_printable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
