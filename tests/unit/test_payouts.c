/*
 * test_payouts.c: red packets' payouts as the server decides them without
 * the database: the provider's callback checked (handlers/payouts_input.c:
 * its signature, its body), an attempt's reply classified
 * (engine/payouts.c) and the answer to a question read (payouts_reply.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "engine/payouts.h"
#include "engine/webhooks.h"
#include "handlers/payouts.h"

#define SECRET "0123456789abcdef0123456789abcdef"
#define NOW    1764720000LL
#define BODY   "{\"idempotency_key\":\"pc-rp-3-17\",\"status\":\"paid\",\"provider_ref\":\"wx-9\"}"

static void test_a_signature_made_like_a_webhooks_is_accepted(void **state)
{
	char sig[WEBHOOKS_SIGNATURE_LEN];
	(void)state;
	assert_int_equal(webhooks_sign(SECRET, NOW - 10, BODY, strlen(BODY), sig, sizeof sig), 0);
	assert_int_equal(payout_signature_ok(SECRET, sig, BODY, strlen(BODY), NOW), 1);
}

static void test_a_signature_of_another_body_secret_or_time_is_refused(void **state)
{
	char sig[WEBHOOKS_SIGNATURE_LEN], forged[WEBHOOKS_SIGNATURE_LEN];
	(void)state;
	webhooks_sign(SECRET, NOW, BODY, strlen(BODY), sig, sizeof sig);
	assert_int_equal(payout_signature_ok(SECRET, sig, BODY, strlen(BODY) - 1, NOW), 0);
	assert_int_equal(
	    payout_signature_ok("another secret of 32 bytes......", sig, BODY, strlen(BODY), NOW),
	    0);
	/* the same MAC under another time */
	snprintf(forged, sizeof forged, "t=%lld%s", NOW + 1, strchr(sig, ','));
	assert_int_equal(payout_signature_ok(SECRET, forged, BODY, strlen(BODY), NOW), 0);
	/* too old, or from the future */
	webhooks_sign(SECRET, NOW - PAYOUT_SIGNATURE_AGE - 1, BODY, strlen(BODY), sig, sizeof sig);
	assert_int_equal(payout_signature_ok(SECRET, sig, BODY, strlen(BODY), NOW), 0);
	webhooks_sign(SECRET, NOW + PAYOUT_SIGNATURE_AGE + 1, BODY, strlen(BODY), sig, sizeof sig);
	assert_int_equal(payout_signature_ok(SECRET, sig, BODY, strlen(BODY), NOW), 0);
}

static void test_a_malformed_or_missing_signature_is_refused(void **state)
{
	char sig[WEBHOOKS_SIGNATURE_LEN], upper[WEBHOOKS_SIGNATURE_LEN];
	(void)state;
	webhooks_sign(SECRET, NOW, BODY, strlen(BODY), sig, sizeof sig);
	snprintf(upper, sizeof upper, "%s", sig);
	for (char *p = strstr(upper, "v1=") + 3; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	const char *bad[] = {NULL, "", "t=,v1=00", "v1=abc", "t=12x,v1=00", upper};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(payout_signature_ok(SECRET, bad[i], BODY, strlen(BODY), NOW), 0);
	assert_int_equal(payout_signature_ok("", sig, BODY, strlen(BODY), NOW), 0);
	assert_int_equal(payout_signature_ok(NULL, sig, BODY, strlen(BODY), NOW), 0);
}

static void test_a_callback_body_is_its_key_status_and_reference(void **state)
{
	struct payout_callback cb;
	char err[256];
	(void)state;
	assert_int_equal(payout_callback_decode(BODY, strlen(BODY), &cb, err, sizeof err), 0);
	assert_string_equal(cb.key, "pc-rp-3-17");
	assert_int_equal(cb.status, PAYOUT_PAID);
	assert_string_equal(cb.ref, "wx-9");
	const char *failed = "{\"status\":\"failed\",\"idempotency_key\":\"k\",\"extra\":[1]}";
	assert_int_equal(payout_callback_decode(failed, strlen(failed), &cb, err, sizeof err), 0);
	assert_int_equal(cb.status, PAYOUT_FAILED);
	assert_string_equal(cb.ref, "");
}

static void test_a_bad_callback_body_is_refused_with_a_reason(void **state)
{
	struct payout_callback cb;
	char err[256];
	(void)state;
	const char *bad[] = {
	    "",
	    "[]",
	    "{\"status\":\"paid\"}",
	    "{\"idempotency_key\":\"k\"}",
	    "{\"idempotency_key\":\"k\",\"status\":\"PAID\"}",
	    "{\"idempotency_key\":\"a b\",\"status\":\"paid\"}",
	    "{\"idempotency_key\":\"\",\"status\":\"paid\"}",
	    "{\"idempotency_key\":7,\"status\":\"paid\"}",
	    "{\"idempotency_key\":\"k\",\"status\":\"paid\",\"provider_ref\":5}",
	    "{\"idempotency_key\":\"k\",\"idempotency_key\":\"j\",\"status\":\"paid\"}"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		assert_int_equal(
		    payout_callback_decode(bad[i], strlen(bad[i]), &cb, err, sizeof err), -1);
		assert_true(err[0] != '\0');
	}
}

static void test_an_attempt_is_retried_on_timeouts_5xx_and_throttling_only(void **state)
{
	(void)state;
	assert_string_equal(payouts_classify(1, 1, 200), "accepted");
	assert_string_equal(payouts_classify(1, 1, 202), "accepted");
	assert_string_equal(payouts_classify(1, 1, 400), "refused");
	assert_string_equal(payouts_classify(1, 1, 422), "refused");
	assert_string_equal(payouts_classify(1, 1, 429), "retry");
	assert_string_equal(payouts_classify(1, 1, 408), "retry");
	assert_string_equal(payouts_classify(1, 1, 503), "retry");
	assert_string_equal(payouts_classify(1, 1, 302), "retry");
	/* the provider may have paid it: asked about, never returned unasked */
	assert_string_equal(payouts_classify(1, 1, 500), "unknown");
	assert_string_equal(payouts_classify(1, 1, 502), "unknown");
	assert_string_equal(payouts_classify(1, 1, 504), "unknown");
	assert_string_equal(payouts_classify(0, 1, 0), "unknown");
	/* no connection: it never reached the provider */
	assert_string_equal(payouts_classify(0, 0, 0), "retry");
}

static void test_an_answer_settles_only_on_an_exact_paid_or_failed(void **state)
{
	(void)state;
#define ANSWER(s) payouts_answer_of(s, sizeof s - 1)
	assert_int_equal(ANSWER("{\"status\":\"paid\"}"), PAYOUTS_ANSWER_PAID);
	assert_int_equal(ANSWER("{\"idempotency_key\":\"pc-rp-1-2\",\"status\":\"failed\"}"),
	                 PAYOUTS_ANSWER_FAILED);
	assert_int_equal(ANSWER("{\"status\":\"pa\\u0069d\"}"), PAYOUTS_ANSWER_PAID);
	assert_int_equal(ANSWER("{\"status\":\"pending\"}"), PAYOUTS_ANSWER_PENDING);
	assert_int_equal(ANSWER("{\"status\":\"accepted\"}"), PAYOUTS_ANSWER_PENDING);
	assert_int_equal(ANSWER("{\"status\":\"PAID\"}"), PAYOUTS_ANSWER_PENDING);
	assert_int_equal(ANSWER("{\"status\":\"paid\\u0000\"}"), PAYOUTS_ANSWER_PENDING);
	assert_int_equal(ANSWER("{\"status\":\"paid\",\"status\":\"failed\"}"),
	                 PAYOUTS_ANSWER_PENDING);
	assert_int_equal(ANSWER("{\"status\":true}"), PAYOUTS_ANSWER_PENDING);
	assert_int_equal(ANSWER("[\"paid\"]"), PAYOUTS_ANSWER_PENDING);
	assert_int_equal(ANSWER("paid"), PAYOUTS_ANSWER_PENDING);
	assert_int_equal(ANSWER("{\"status\":\"paid\""), PAYOUTS_ANSWER_PENDING);
	assert_int_equal(payouts_answer_of(NULL, 0), PAYOUTS_ANSWER_PENDING);
#undef ANSWER
	assert_string_equal(payouts_answer_label(PAYOUTS_ANSWER_PAID), "paid");
	assert_string_equal(payouts_answer_label(PAYOUTS_ANSWER_FAILED), "failed");
	assert_string_equal(payouts_answer_label(PAYOUTS_ANSWER_PENDING), "pending");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_a_signature_made_like_a_webhooks_is_accepted),
	    cmocka_unit_test(test_a_signature_of_another_body_secret_or_time_is_refused),
	    cmocka_unit_test(test_a_malformed_or_missing_signature_is_refused),
	    cmocka_unit_test(test_a_callback_body_is_its_key_status_and_reference),
	    cmocka_unit_test(test_a_bad_callback_body_is_refused_with_a_reason),
	    cmocka_unit_test(test_an_attempt_is_retried_on_timeouts_5xx_and_throttling_only),
	    cmocka_unit_test(test_an_answer_settles_only_on_an_exact_paid_or_failed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
