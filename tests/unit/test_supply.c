/*
 * test_supply.c: the supply chain's admin bodies (server/handlers/supply_input.c):
 * what each accepts, and that every refusal says why.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "handlers/supply.h"

static enum admin_decode decode(enum supply_body kind, const char *body, struct supply_in *in,
                                char *err)
{
	return supply_decode(kind, body, strlen(body), in, err, 256);
}

static void test_an_activation_takes_a_range_or_none(void **state)
{
	struct supply_in in;
	char err[256];
	(void)state;
	assert_int_equal(decode(SUPPLY_BODY_ACTIVATE, "{}", &in, err), ADMIN_DECODE_OK);
	assert_false(in.has_range);
	assert_int_equal(decode(SUPPLY_BODY_ACTIVATE,
	                        "{\"first\":3,\"last\":9,\"reason\":\"pallet\"}", &in, err),
	                 ADMIN_DECODE_OK);
	assert_true(in.has_range);
	assert_int_equal(in.first, 3);
	assert_int_equal(in.last, 9);
	assert_string_equal(in.reason, "pallet");
}

static void test_a_half_or_backward_or_zero_range_is_refused(void **state)
{
	struct supply_in in;
	char err[256];
	(void)state;
	assert_int_equal(decode(SUPPLY_BODY_ACTIVATE, "{\"first\":3}", &in, err),
	                 ADMIN_DECODE_BAD_REQUEST);
	assert_int_equal(decode(SUPPLY_BODY_ACTIVATE, "{\"first\":9,\"last\":3}", &in, err),
	                 ADMIN_DECODE_BAD_REQUEST);
	assert_int_equal(decode(SUPPLY_BODY_ACTIVATE, "{\"first\":0,\"last\":3}", &in, err),
	                 ADMIN_DECODE_BAD_REQUEST);
	assert_int_equal(decode(SUPPLY_BODY_ACTIVATE, "{\"first\":\"1\",\"last\":3}", &in, err),
	                 ADMIN_DECODE_BAD_REQUEST);
	assert_true(strlen(err) > 0);
}

static void test_a_state_must_be_known(void **state)
{
	struct supply_in in;
	char err[256];
	(void)state;
	assert_int_equal(decode(SUPPLY_BODY_STATE, "{\"state\":\"stolen\"}", &in, err),
	                 ADMIN_DECODE_OK);
	assert_string_equal(in.state, "stolen");
	assert_int_equal(decode(SUPPLY_BODY_STATE, "{\"state\":\"lost\"}", &in, err),
	                 ADMIN_DECODE_BAD_REQUEST);
	assert_int_equal(decode(SUPPLY_BODY_STATE, "{}", &in, err), ADMIN_DECODE_BAD_REQUEST);
	assert_int_equal(decode(SUPPLY_BODY_STATE, "{\"state\":\"destroyedx\"}", &in, err),
	                 ADMIN_DECODE_BAD_REQUEST);
}

static void test_bad_json_and_bad_reasons_are_refused(void **state)
{
	struct supply_in in;
	char err[256];
	(void)state;
	assert_int_equal(decode(SUPPLY_BODY_REASON, "{", &in, err), ADMIN_DECODE_BAD_JSON);
	assert_int_equal(decode(SUPPLY_BODY_REASON, "[]", &in, err), ADMIN_DECODE_BAD_REQUEST);
	assert_int_equal(decode(SUPPLY_BODY_REASON, "{\"reason\":\"\"}", &in, err),
	                 ADMIN_DECODE_BAD_REQUEST);
	assert_int_equal(decode(SUPPLY_BODY_REASON, "{\"reason\":\"a\\u0001b\"}", &in, err),
	                 ADMIN_DECODE_BAD_REQUEST);
	assert_int_equal(decode(SUPPLY_BODY_REASON, "{\"reason\":1}", &in, err),
	                 ADMIN_DECODE_BAD_REQUEST);
	assert_int_equal(
	    decode(SUPPLY_BODY_REASON, "{\"reason\":\"ok\",\"reason\":\"x\"}", &in, err),
	    ADMIN_DECODE_BAD_JSON);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_an_activation_takes_a_range_or_none),
	    cmocka_unit_test(test_a_half_or_backward_or_zero_range_is_refused),
	    cmocka_unit_test(test_a_state_must_be_known),
	    cmocka_unit_test(test_bad_json_and_bad_reasons_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
