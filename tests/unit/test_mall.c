/*
 * test_mall.c: the points mall's bodies as the server checks them
 * (handlers/mall_input.c): an order's address made canonical and masked,
 * a reward's fields within the table's CHECKs, unknown fields refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/mall.h"

static enum admin_decode order(const char *body, struct mall_order_in *in)
{
	char err[256];
	return mall_order_decode(body, strlen(body), in, err, sizeof err);
}

static enum admin_decode reward(const char *body, int create, char **canon)
{
	char err[256];
	return mall_reward_decode(body, strlen(body), create, canon, err, sizeof err);
}

static void test_order_address_is_canonical_and_masked(void **state)
{
	struct mall_order_in in;
	(void)state;
	assert_int_equal(
	    order("{\"address\":{\"phone\":\"+86 139 0000 1234\",\"name\":\"张三\","
	          "\"line1\":\"文三路 100 号\",\"city\":\"杭州\",\"postcode\":\"310000\"},"
	          "\"reward\":7}",
	          &in),
	    ADMIN_DECODE_OK);
	assert_int_equal(in.reward, 7);
	assert_string_equal(in.address,
	                    "{\"city\":\"杭州\",\"line1\":\"文三路 100 号\",\"name\":\"张三\","
	                    "\"phone\":\"+86 139 0000 1234\",\"postcode\":\"310000\"}");
	assert_string_equal(in.masked, "{\"city\":\"杭州\",\"line1\":\"***\",\"name\":\"张**\","
	                               "\"phone\":\"861****1234\"}");
	mall_order_in_free(&in);
	mall_order_in_free(&in); /* twice: nothing left to free */
}

static void test_short_phone_is_masked_whole(void **state)
{
	struct mall_order_in in;
	(void)state;
	assert_int_equal(order("{\"reward\":1,\"address\":{\"name\":\"Al\",\"phone\":\"1234\","
	                       "\"line1\":\"x\"}}",
	                       &in),
	                 ADMIN_DECODE_OK);
	assert_string_equal(in.masked, "{\"line1\":\"***\",\"name\":\"A**\",\"phone\":\"****\"}");
	mall_order_in_free(&in);
}

static void test_bad_orders_are_refused(void **state)
{
	struct mall_order_in in;
	static const char *bad[] = {
	    "{\"reward\":1}",
	    "{\"reward\":0,\"address\":{\"name\":\"a\",\"phone\":\"13900001111\",\"line1\":\"x\"}}",
	    "{\"reward\":\"1\",\"address\":{\"name\":\"a\",\"phone\":\"13900001111\",\"line1\":"
	    "\"x\"}}",
	    "{\"reward\":1,\"address\":{\"name\":\"\",\"phone\":\"13900001111\",\"line1\":\"x\"}}",
	    "{\"reward\":1,\"address\":{\"name\":\"a\",\"phone\":\"139x0001111\",\"line1\":\"x\"}}",
	    "{\"reward\":1,\"address\":{\"name\":\"a\",\"phone\":\"+-()\",\"line1\":\"x\"}}",
	    "{\"reward\":1,\"address\":{\"name\":\"a\\n\",\"phone\":\"13900001111\",\"line1\":"
	    "\"x\"}}",
	    "{\"reward\":1,\"address\":{\"name\":\"a\",\"phone\":\"13900001111\",\"line1\":\"x\","
	    "\"floor\":\"3\"}}",
	    "{\"reward\":1,\"address\":{\"name\":\"a\",\"phone\":\"13900001111\",\"line1\":\"x\","
	    "\"city\":3}}",
	    "{\"reward\":1,\"address\":{\"name\":\"a\",\"phone\":\"13900001111\",\"line1\":\"x\"},"
	    "\"note\":\"\"}",
	    "[]",
	};
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(order(bad[i], &in), ADMIN_DECODE_BAD_REQUEST);
		assert_null(in.address);
		assert_null(in.masked);
	}
	assert_int_equal(order("{\"reward\":1,", &in), ADMIN_DECODE_BAD_JSON);
	assert_int_equal(order("{\"reward\":1,\"reward\":2}", &in), ADMIN_DECODE_BAD_JSON);
}

static void test_reward_bodies_within_the_checks(void **state)
{
	char *canon = NULL;
	(void)state;
	assert_int_equal(
	    reward("{\"brand\":\"B\",\"name\":\"Cup\",\"points\":100,\"stock\":0}", 1, &canon),
	    ADMIN_DECODE_OK);
	assert_string_equal(canon, "{\"brand\":\"B\",\"name\":\"Cup\",\"points\":100,\"stock\":0}");
	free(canon);
	assert_int_equal(reward("{\"active\":false}", 0, &canon), ADMIN_DECODE_OK);
	free(canon);
	static const char *bad_new[] = {
	    "{\"brand\":\"B\",\"name\":\"Cup\",\"points\":0,\"stock\":1}",
	    "{\"brand\":\"B\",\"name\":\"Cup\",\"points\":1000000001,\"stock\":1}",
	    "{\"brand\":\"B\",\"name\":\"Cup\",\"points\":1,\"stock\":-1}",
	    "{\"brand\":\"B\",\"name\":\"Cup\",\"points\":1}",
	    "{\"name\":\"Cup\",\"points\":1,\"stock\":1}",
	    "{\"brand\":\"B\",\"name\":\"Cup\",\"points\":1,\"stock\":1,\"active\":1}",
	    "{\"brand\":\"B\",\"name\":\"Cup\",\"points\":1,\"stock\":1,\"price\":1}",
	};
	for (size_t i = 0; i < sizeof bad_new / sizeof bad_new[0]; i++) {
		assert_int_equal(reward(bad_new[i], 1, &canon), ADMIN_DECODE_BAD_REQUEST);
		assert_null(canon);
	}
	assert_int_equal(reward("{}", 0, &canon), ADMIN_DECODE_BAD_REQUEST);
	assert_int_equal(reward("{\"brand\":\"B\"}", 0, &canon), ADMIN_DECODE_BAD_REQUEST);
	assert_int_equal(mall_status_check("shipped"), 0);
	assert_int_equal(mall_status_check("lost"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_order_address_is_canonical_and_masked),
	    cmocka_unit_test(test_short_phone_is_masked_whole),
	    cmocka_unit_test(test_bad_orders_are_refused),
	    cmocka_unit_test(test_reward_bodies_within_the_checks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
