/*
 * test_totp.c: TOTP against the test vectors of RFC 6238 (appendix B,
 * SHA-1, the last 6 of their 8 digits), the window of one step either side,
 * base32 (RFC 4648) and the otpauth:// URI; and the scope names (scope.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "scope.h"
#include "totp.h"

static const unsigned char rfc_secret[] = "12345678901234567890";

static void test_rfc6238_sha1_vectors(void **state)
{
	static const struct {
		long long t;
		unsigned code;
	} v[] = {{59, 287082},       {1111111109, 81804},  {1111111111, 50471},
	         {1234567890, 5924}, {2000000000, 279037}, {20000000000LL, 353130}};
	(void)state;
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
		assert_int_equal(totp_code(rfc_secret, 20, (uint64_t)(v[i].t / 30)), v[i].code);
}

static void test_code_of_this_step_or_a_neighbour_verifies(void **state)
{
	int64_t step = 0;
	(void)state;
	assert_int_equal(totp_verify(rfc_secret, 20, "081804", 1111111109, &step), 1);
	assert_int_equal(step, 1111111109 / 30);
	/* 30 s later: the code of the step before still works, as that step */
	assert_int_equal(totp_verify(rfc_secret, 20, "081804", 1111111109 + 30, &step), 1);
	assert_int_equal(step, 1111111109 / 30);
	/* 60 s later it does not */
	assert_int_equal(totp_verify(rfc_secret, 20, "081804", 1111111109 + 60, &step), 0);
}

static void test_malformed_codes_are_refused(void **state)
{
	int64_t step;
	(void)state;
	assert_int_equal(totp_verify(rfc_secret, 20, "81804", 1111111109, &step), 0);
	assert_int_equal(totp_verify(rfc_secret, 20, "0818040", 1111111109, &step), 0);
	assert_int_equal(totp_verify(rfc_secret, 20, "08180a", 1111111109, &step), 0);
	assert_int_equal(totp_verify(rfc_secret, 20, "", 1111111109, &step), 0);
}

static void test_base32_rfc4648(void **state)
{
	char out[64];
	(void)state;
	assert_int_equal(totp_base32(rfc_secret, 20, out, sizeof out), 32);
	assert_string_equal(out, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
	assert_int_equal(totp_base32((const unsigned char *)"foob", 4, out, sizeof out), 7);
	assert_string_equal(out, "MZXW6YQ"); /* "MZXW6YQ=" without padding */
	assert_int_equal(totp_base32(rfc_secret, 20, out, 10), 0);
}

static void test_otpauth_uri(void **state)
{
	char uri[TOTP_URI_MAX];
	(void)state;
	assert_int_equal(totp_uri(rfc_secret, 20, "packcode", "alice", uri, sizeof uri), 0);
	assert_string_equal(uri, "otpauth://totp/packcode:alice?secret="
	                         "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=packcode&algorithm=SHA1&"
	                         "digits=6&period=30");
}

static void test_scope_lists(void **state)
{
	unsigned bits;
	char err[160], out[SCOPE_LIST_MAX];
	(void)state;
	assert_int_equal(scope_parse("points,read", &bits, err, sizeof err), 0);
	assert_int_equal(bits, SCOPE_READ | SCOPE_POINTS);
	assert_string_equal(scope_format(bits, out, sizeof out), "read,points");
	assert_int_equal(scope_parse("all", &bits, err, sizeof err), 0);
	assert_int_equal(bits, SCOPE_ALL);
	assert_string_equal(scope_format(bits, out, sizeof out),
	                    "read,catalog,operate,points,claims,pii,export,admin,campaigns");
	assert_int_equal(scope_parse("read,,points", &bits, err, sizeof err), -1);
	assert_int_equal(scope_parse("read,root", &bits, err, sizeof err), -1);
	assert_non_null(strstr(err, "\"root\""));
	assert_int_equal(scope_parse("", &bits, err, sizeof err), -1);
	assert_int_equal(scope_bit("pii", 3), SCOPE_PII);
	assert_string_equal(scope_name(SCOPE_EXPORT), "export");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc6238_sha1_vectors),
	    cmocka_unit_test(test_code_of_this_step_or_a_neighbour_verifies),
	    cmocka_unit_test(test_malformed_codes_are_refused),
	    cmocka_unit_test(test_base32_rfc4648),
	    cmocka_unit_test(test_otpauth_uri),
	    cmocka_unit_test(test_scope_lists),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
