/*
 * test_claim_request.c: the JSON body of POST /api/v1/claims as
 * claim_request_decode reads it: what it accepts, and for what it refuses,
 * which error (bad_json or bad_request).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "handlers/claim.h"

static enum claim_decode decode(const char *body, struct claim_request *cr)
{
	char err[200];
	return claim_request_decode(body, strlen(body), cr, err, sizeof err);
}

static void test_code_member_and_pin_are_read(void **state)
{
	struct claim_request cr;
	(void)state;
	assert_int_equal(decode("{\"code\":\"09W8H-8S4FB\",\"member\":\"alice\",\"pin\":\"12 34\","
	                        "\"other\":[1]}",
	                        &cr),
	                 CLAIM_DECODE_OK);
	assert_string_equal(cr.code, "09W8H-8S4FB");
	assert_int_equal(cr.codelen, 11);
	assert_string_equal(cr.member, "alice");
	assert_int_equal(cr.memberlen, 5);
	assert_string_equal(cr.pin, "12 34");
	claim_request_release(&cr);
	assert_null(cr.json);
}

static void test_absent_or_null_pin_is_no_pin(void **state)
{
	struct claim_request cr;
	(void)state;
	assert_int_equal(decode("{\"code\":\"A\",\"member\":\"b\"}", &cr), CLAIM_DECODE_OK);
	assert_null(cr.pin);
	claim_request_release(&cr);
	assert_int_equal(decode("{\"code\":\"A\",\"member\":\"b\",\"pin\":null}", &cr),
	                 CLAIM_DECODE_OK);
	assert_null(cr.pin);
	claim_request_release(&cr);
}

static void test_malformed_json_and_duplicate_keys_are_bad_json(void **state)
{
	struct claim_request cr;
	(void)state;
	assert_int_equal(decode("{\"code\":\"A\",", &cr), CLAIM_DECODE_BAD_JSON);
	assert_int_equal(decode("{\"code\":\"A\",\"member\":\"b\",\"member\":\"c\"}", &cr),
	                 CLAIM_DECODE_BAD_JSON);
	assert_int_equal(decode("", &cr), CLAIM_DECODE_BAD_JSON);
	assert_null(cr.json);
}

static void test_wrong_types_are_bad_requests(void **state)
{
	struct claim_request cr;
	(void)state;
	assert_int_equal(decode("[\"A\",\"b\"]", &cr), CLAIM_DECODE_BAD_REQUEST);
	assert_int_equal(decode("{\"code\":5,\"member\":\"b\"}", &cr), CLAIM_DECODE_BAD_REQUEST);
	assert_int_equal(decode("{\"code\":\"A\",\"member\":{}}", &cr), CLAIM_DECODE_BAD_REQUEST);
	assert_int_equal(decode("{\"code\":\"A\",\"member\":\"b\",\"pin\":1}", &cr),
	                 CLAIM_DECODE_BAD_REQUEST);
	assert_int_equal(decode("{\"member\":\"b\"}", &cr), CLAIM_DECODE_BAD_REQUEST);
	assert_null(cr.json);
}

/* a member session claims for its member: the body names none */
static void test_member_may_be_absent_or_null(void **state)
{
	struct claim_request cr;
	(void)state;
	assert_int_equal(decode("{\"code\":\"A\"}", &cr), CLAIM_DECODE_OK);
	assert_null(cr.member);
	assert_int_equal(cr.memberlen, 0);
	claim_request_release(&cr);
	assert_int_equal(decode("{\"code\":\"A\",\"member\":null}", &cr), CLAIM_DECODE_OK);
	assert_null(cr.member);
	claim_request_release(&cr);
}

/* jansson refuses \u0000 (no JSON_ALLOW_NUL): no C string is cut short */
static void test_nul_inside_a_string_is_refused(void **state)
{
	struct claim_request cr;
	(void)state;
	assert_int_equal(decode("{\"code\":\"A\\u0000B\",\"member\":\"b\"}", &cr),
	                 CLAIM_DECODE_BAD_JSON);
	assert_int_equal(decode("{\"code\":\"A\",\"member\":\"b\\u0000\"}", &cr),
	                 CLAIM_DECODE_BAD_JSON);
	assert_int_equal(decode("{\"code\":\"A\",\"member\":\"b\",\"pin\":\"1\\u00002\"}", &cr),
	                 CLAIM_DECODE_BAD_JSON);
	assert_null(cr.json);
}

static void test_code_over_64_bytes_is_a_bad_request(void **state)
{
	struct claim_request cr;
	char body[200];
	(void)state;
	snprintf(body, sizeof body, "{\"code\":\"%064d\",\"member\":\"b\"}", 0);
	assert_int_equal(decode(body, &cr), CLAIM_DECODE_OK);
	claim_request_release(&cr);
	snprintf(body, sizeof body, "{\"code\":\"%065d\",\"member\":\"b\"}", 0);
	assert_int_equal(decode(body, &cr), CLAIM_DECODE_BAD_REQUEST);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_code_member_and_pin_are_read),
	    cmocka_unit_test(test_absent_or_null_pin_is_no_pin),
	    cmocka_unit_test(test_malformed_json_and_duplicate_keys_are_bad_json),
	    cmocka_unit_test(test_wrong_types_are_bad_requests),
	    cmocka_unit_test(test_member_may_be_absent_or_null),
	    cmocka_unit_test(test_nul_inside_a_string_is_refused),
	    cmocka_unit_test(test_code_over_64_bytes_is_a_bad_request),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
