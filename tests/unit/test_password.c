/*
 * test_password.c: staff passwords are argon2id (PHC strings libsodium
 * makes and checks), a hash verifies its password and no other, and a
 * name without an account costs a verification too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "password.h"

static void test_hash_is_argon2id_and_verifies_its_password(void **state)
{
	char h[PASSWORD_HASH_MAX];
	(void)state;
	assert_int_equal(password_hash("correct horse", 13, h), 0);
	assert_memory_equal(h, "$argon2id$v=19$m=65536,t=2,p=1$", 31);
	assert_int_equal(password_verify(h, "correct horse", 13), 1);
}

static void test_other_password_does_not_verify(void **state)
{
	char h[PASSWORD_HASH_MAX];
	(void)state;
	assert_int_equal(password_hash("correct horse", 13, h), 0);
	assert_int_equal(password_verify(h, "correct horsf", 13), 0);
	assert_int_equal(password_verify(h, "correct hors", 12), 0);
	assert_int_equal(password_verify(h, "", 0), 0);
}

static void test_two_hashes_of_one_password_differ_by_salt(void **state)
{
	char a[PASSWORD_HASH_MAX], b[PASSWORD_HASH_MAX];
	(void)state;
	assert_int_equal(password_hash("same password", 13, a), 0);
	assert_int_equal(password_hash("same password", 13, b), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(password_verify(a, "same password", 13), 1);
	assert_int_equal(password_verify(b, "same password", 13), 1);
}

static void test_non_argon2id_hash_never_verifies(void **state)
{
	(void)state;
	/* an argon2i string and a bcrypt one: refused whatever the password */
	assert_int_equal(password_verify("$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$"
	                                 "iWh06vD8Fy27wf9npn6FXWiCX4K6pW6Ue1Bnzz07Z8A",
	                                 "password", 8),
	                 0);
	assert_int_equal(password_verify("$2b$10$abcdefghijklmnopqrstuu", "password", 8), 0);
}

static void test_no_account_costs_a_verification_and_fails(void **state)
{
	(void)state;
	assert_int_equal(password_verify(NULL, "anything at all", 15), 0);
}

static void test_password_rules(void **state)
{
	char err[128];
	(void)state;
	assert_int_equal(password_check("short", 5, err, sizeof err), -1);
	assert_non_null(strstr(err, "10 to 1024"));
	assert_int_equal(password_check("ten chars!", 10, err, sizeof err), 0);
	assert_int_equal(password_check("with a\nnewline", 14, err, sizeof err), -1);
	assert_int_equal(password_check("with\0a nul byte", 15, err, sizeof err), -1);
	assert_int_equal(
	    password_check("日本語のパスワード", strlen("日本語のパスワード"), err, sizeof err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hash_is_argon2id_and_verifies_its_password),
	    cmocka_unit_test(test_other_password_does_not_verify),
	    cmocka_unit_test(test_two_hashes_of_one_password_differ_by_salt),
	    cmocka_unit_test(test_non_argon2id_hash_never_verifies),
	    cmocka_unit_test(test_no_account_costs_a_verification_and_fails),
	    cmocka_unit_test(test_password_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
