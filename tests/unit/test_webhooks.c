/*
 * test_webhooks.c: the pure parts of webhooks: the Packcode-Signature
 * (against HMAC-SHA256 computed by Python's hmac module), the retry
 * backoff, a subscription's body, receiver URLs and event type names, and
 * the CORS origins the admin API answers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "edge/cors.h"
#include "engine/webhooks.h"
#include "handlers/webhooks.h"

static char err[256];

/* ---- the signature ---- */

static void test_signature_is_hmac_sha256_over_timestamp_dot_body(void **state)
{
	static const char body[] = "{\"id\": 1, \"type\": \"claim.awarded\"}";
	char sig[WEBHOOKS_SIGNATURE_LEN];
	(void)state;
	/* python3: hmac.new(secret, b"1764698400." + body, hashlib.sha256).hexdigest() */
	assert_int_equal(webhooks_sign("whsec_test-secret-0123", 1764698400, body, strlen(body),
	                               sig, sizeof sig),
	                 0);
	assert_string_equal(
	    sig,
	    "t=1764698400,v1=10bf601994b8d6b60994e50ac1060a2cd18bd37078c015ab0da6f47d1ccd4971");
	assert_int_equal(webhooks_sign("kkkkkkkkkkkkkkkkkkkk", 0, "", 0, sig, sizeof sig), 0);
	assert_string_equal(
	    sig, "t=0,v1=a55e84cbbed6bec3fa2f37e18da8019e5b7c3bbd762e0a63f9e132e0de8309f9");
}

static void test_signature_changes_with_body_secret_and_time(void **state)
{
	char a[WEBHOOKS_SIGNATURE_LEN], b[WEBHOOKS_SIGNATURE_LEN];
	(void)state;
	webhooks_sign("secret-secret-secret", 100, "{}", 2, a, sizeof a);
	webhooks_sign("secret-secret-secret", 100, "{} ", 3, b, sizeof b);
	assert_string_not_equal(strchr(a, ','), strchr(b, ','));
	webhooks_sign("secret-secret-secreT", 100, "{}", 2, b, sizeof b);
	assert_string_not_equal(strchr(a, ','), strchr(b, ','));
	webhooks_sign("secret-secret-secret", 101, "{}", 2, b, sizeof b);
	assert_string_not_equal(strchr(a, ','), strchr(b, ','));
	webhooks_sign("secret-secret-secret", 100, "{}", 2, b, sizeof b);
	assert_string_equal(a, b);
}

static void test_signature_fits_its_buffer_or_fails(void **state)
{
	char sig[WEBHOOKS_SIGNATURE_LEN];
	(void)state;
	assert_int_equal(webhooks_sign("s", -9223372036854775807LL - 1, "x", 1, sig, sizeof sig),
	                 0);
	assert_int_equal(strlen(sig), WEBHOOKS_SIGNATURE_LEN - 1);
	assert_int_equal(webhooks_sign("s", 1, "x", 1, sig, sizeof sig - 1), -1);
}

/* ---- the backoff ---- */

static void test_backoff_doubles_with_jitter_up_to_the_cap(void **state)
{
	(void)state;
	for (int tries = 1; tries <= 30; tries++) {
		long long full = 1000LL << (tries - 1 < 20 ? tries - 1 : 20);
		if (full > 60000)
			full = 60000;
		long long lo = webhooks_backoff_ms(tries, 1000, 60000, 0);
		long long hi = webhooks_backoff_ms(tries, 1000, 60000, 0xffffffffu);
		assert_int_equal(lo, full - full / 2);
		assert_true(hi <= full && hi >= lo);
		for (unsigned r = 0; r < 1000; r += 37) {
			long long d = webhooks_backoff_ms(tries, 1000, 60000, r * 2654435761u);
			assert_true(d >= lo && d <= full);
		}
	}
	assert_int_equal(webhooks_backoff_ms(1, 1000, 60000, 500), 1000);
	assert_int_equal(webhooks_backoff_ms(3, 1000, 60000, 0), 2000);
}

/* ---- a subscription's body ---- */

static enum admin_decode decode(const char *body, struct webhook_in *in)
{
	err[0] = '\0';
	return webhook_decode(body, strlen(body), in, err, sizeof err);
}

static void test_subscription_body_is_decoded_and_normalised(void **state)
{
	static struct webhook_in in;
	(void)state;
	assert_int_equal(
	    decode("{\"url\":\"HTTPS://hooks.example.com:8443/p?q=1\","
	           "\"events\":[\"claim.awarded\",\"batch.recalled\",\"claim.awarded\"],"
	           "\"other\":1}",
	           &in),
	    ADMIN_DECODE_OK);
	assert_string_equal(in.url, "https://hooks.example.com:8443/p?q=1");
	assert_int_equal(in.nevents, 2);
	assert_string_equal(in.events[0], "claim.awarded");
	assert_string_equal(in.events[1], "batch.recalled");
	assert_int_equal(in.has_secret, 0);
	assert_int_equal(decode("{\"url\":\"http://[::1]:9/\",\"events\":[\"a.b\"],"
	                        "\"secret\":\"0123456789abcdef\"}",
	                        &in),
	                 ADMIN_DECODE_OK);
	assert_int_equal(in.has_secret, 1);
	assert_string_equal(in.secret, "0123456789abcdef");
	assert_int_equal(
	    decode("{\"url\":\"http://h/\",\"events\":[\"a.b\"],\"secret\":null}", &in),
	    ADMIN_DECODE_OK);
	assert_int_equal(in.has_secret, 0);
}

static void test_subscription_refusals_say_why(void **state)
{
	static const struct {
		const char *body;
		enum admin_decode why;
		const char *says;
	} cases[] = {
	    {"{\"url\":", ADMIN_DECODE_BAD_JSON, "malformed JSON"},
	    {"{\"url\":\"http://h/\",\"url\":\"http://i/\",\"events\":[\"a.b\"]}",
	     ADMIN_DECODE_BAD_JSON, "malformed JSON"},
	    {"[]", ADMIN_DECODE_BAD_REQUEST, "JSON object"},
	    {"{\"events\":[\"a.b\"]}", ADMIN_DECODE_BAD_REQUEST, "url is required"},
	    {"{\"url\":5,\"events\":[\"a.b\"]}", ADMIN_DECODE_BAD_REQUEST, "url must be a string"},
	    {"{\"url\":\"ftp://h/\",\"events\":[\"a.b\"]}", ADMIN_DECODE_BAD_REQUEST,
	     "http:// or https://"},
	    {"{\"url\":\"file:///etc/passwd\",\"events\":[\"a.b\"]}", ADMIN_DECODE_BAD_REQUEST,
	     "http:// or https://"},
	    {"{\"url\":\"http://u:p@h/\",\"events\":[\"a.b\"]}", ADMIN_DECODE_BAD_REQUEST,
	     "user or password"},
	    {"{\"url\":\"http://h/\"}", ADMIN_DECODE_BAD_REQUEST, "events must be"},
	    {"{\"url\":\"http://h/\",\"events\":[]}", ADMIN_DECODE_BAD_REQUEST, "events must be"},
	    {"{\"url\":\"http://h/\",\"events\":\"a.b\"}", ADMIN_DECODE_BAD_REQUEST,
	     "events must be"},
	    {"{\"url\":\"http://h/\",\"events\":[\"a.b\",7]}", ADMIN_DECODE_BAD_REQUEST,
	     "events[1]"},
	    {"{\"url\":\"http://h/\",\"events\":[\"Claim.Awarded\"]}", ADMIN_DECODE_BAD_REQUEST,
	     "events[0]"},
	    {"{\"url\":\"http://h/\",\"events\":[\"a.b\"],\"secret\":\"short\"}",
	     ADMIN_DECODE_BAD_REQUEST, "secret must be"},
	    {"{\"url\":\"http://h/\",\"events\":[\"a.b\"],\"secret\":\"with a space in it!\"}",
	     ADMIN_DECODE_BAD_REQUEST, "secret must be"},
	    {"{\"url\":\"http://h/\",\"events\":[\"a.b\"],\"secret\":12345678901234567}",
	     ADMIN_DECODE_BAD_REQUEST, "secret must be a string"},
	};
	static struct webhook_in in;
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		enum admin_decode why = decode(cases[i].body, &in);
		if (why != cases[i].why || !strstr(err, cases[i].says))
			fail_msg("%s: %d \"%s\", expected %d \"...%s...\"", cases[i].body, why, err,
			         cases[i].why, cases[i].says);
	}
}

static void test_thirty_three_event_types_are_too_many(void **state)
{
	static struct webhook_in in;
	char body[2048];
	size_t at = (size_t)snprintf(body, sizeof body, "{\"url\":\"http://h/\",\"events\":[");
	(void)state;
	for (int i = 0; i < 33; i++)
		at += (size_t)snprintf(body + at, sizeof body - at, "%s\"e.%c%c\"", i ? "," : "",
		                       'a' + i / 26, 'a' + i % 26);
	snprintf(body + at, sizeof body - at, "]}");
	assert_int_equal(decode(body, &in), ADMIN_DECODE_BAD_REQUEST);
	assert_non_null(strstr(err, "at most 32"));
}

static void test_receiver_urls(void **state)
{
	static const char *const good[] = {"http://127.0.0.1:8080/hook",
	                                   "https://hooks.example.com",
	                                   "HTTPS://H.EXAMPLE/x",
	                                   "http://[2001:db8::1]:443/a?b=c#d",
	                                   "http://my_host.internal/",
	                                   "http://h:65535",
	                                   "https://h/?q=%20"};
	static const char *const bad[] = {"",
	                                  "http://",
	                                  "http:///x",
	                                  "https://:80/",
	                                  "http://h:0/",
	                                  "http://h:65536/",
	                                  "http://h:80a/",
	                                  "http://h:/",
	                                  "http://a b/",
	                                  "http://h/a b",
	                                  "http://h/\x7f",
	                                  "http://h/\xc3\xa9",
	                                  "http://u@h/",
	                                  "http://[::1/",
	                                  "http://[zz]/",
	                                  "http://[::1]x/",
	                                  "gopher://h/",
	                                  "javascript:alert(1)",
	                                  "//h/",
	                                  "http:/h/"};
	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		if (webhook_url_check(good[i], err, sizeof err) != 0)
			fail_msg("refused %s: %s", good[i], err);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (webhook_url_check(bad[i], err, sizeof err) != -1)
			fail_msg("accepted %s", bad[i]);
	char longest[WEBHOOK_URL_MAX + 2];
	memset(longest, 'a', sizeof longest);
	memcpy(longest, "http://h/", 9);
	longest[WEBHOOK_URL_MAX] = '\0';
	assert_int_equal(webhook_url_check(longest, err, sizeof err), 0);
	longest[WEBHOOK_URL_MAX] = 'a';
	longest[WEBHOOK_URL_MAX + 1] = '\0';
	assert_int_equal(webhook_url_check(longest, err, sizeof err), -1);
}

static void test_event_type_names(void **state)
{
	static const char *const good[] = {"claim.awarded", "code.suspicious", "a.b.c",
	                                   "member.created", "x_y.z_w"};
	static const char *const bad[] = {"",     "claim", ".a",    "a.",           "a..b",
	                                  "A.b",  "a.B",   "1.a",   "a.1",          "_a.b",
	                                  "a._b", "a b.c", "a.b\n", "claim-awarded"};
	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		if (webhook_event_check(good[i]) != 0)
			fail_msg("refused %s", good[i]);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (webhook_event_check(bad[i]) != -1)
			fail_msg("accepted %s", bad[i]);
}

/* ---- CORS ---- */

static void test_cors_origins_as_browsers_send_them(void **state)
{
	static const char *const good[] = {"https://console.example", "http://localhost:3000",
	                                   "https://127.0.0.1:8443", "http://[::1]:8080",
	                                   "https://a-b.c.example"};
	static const char *const bad[] = {"",
	                                  "*",
	                                  "null",
	                                  "console.example",
	                                  "https://",
	                                  "https://Console.example",
	                                  "https://console.example/",
	                                  "https://console.example/app",
	                                  "https://console.example:",
	                                  "https://console.example:0",
	                                  "https://console.example:123456",
	                                  "ftp://console.example",
	                                  "https://u@console.example",
	                                  "https://[::1",
	                                  "HTTPS://console.example"};
	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		if (cors_origin_check(good[i], err, sizeof err) != 0)
			fail_msg("refused %s: %s", good[i], err);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (cors_origin_check(bad[i], err, sizeof err) != -1)
			fail_msg("accepted %s", bad[i]);
}

static void test_cors_allows_listed_origins_whole(void **state)
{
	static const char *const listed[] = {"https://console.example", "http://localhost:3000"};
	(void)state;
	assert_true(cors_allowed(listed, 2, "https://console.example"));
	assert_true(cors_allowed(listed, 2, "http://localhost:3000"));
	assert_false(cors_allowed(listed, 2, NULL));
	assert_false(cors_allowed(listed, 2, "https://console.example.evil"));
	assert_false(cors_allowed(listed, 2, "https://console.exampl"));
	assert_false(cors_allowed(listed, 2, "http://console.example"));
	assert_false(cors_allowed(listed, 2, "http://localhost:30000"));
	assert_false(cors_allowed(listed, 0, "https://console.example"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_signature_is_hmac_sha256_over_timestamp_dot_body),
	    cmocka_unit_test(test_signature_changes_with_body_secret_and_time),
	    cmocka_unit_test(test_signature_fits_its_buffer_or_fails),
	    cmocka_unit_test(test_backoff_doubles_with_jitter_up_to_the_cap),
	    cmocka_unit_test(test_subscription_body_is_decoded_and_normalised),
	    cmocka_unit_test(test_subscription_refusals_say_why),
	    cmocka_unit_test(test_thirty_three_event_types_are_too_many),
	    cmocka_unit_test(test_receiver_urls),
	    cmocka_unit_test(test_event_type_names),
	    cmocka_unit_test(test_cors_origins_as_browsers_send_them),
	    cmocka_unit_test(test_cors_allows_listed_origins_whole),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
