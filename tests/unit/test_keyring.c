/*
 * test_keyring.c: the keyring file: round trip, refusal of loose permissions
 * and malformed text, rotation and revocation (property 5 of docs/code-format.md).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keyring.h"

static char dir[] = "/tmp/packcode-test-keyring-XXXXXX";
static char path[256];

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof path, "%s/keyring", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	rmdir(dir);
	return 0;
}

static struct keyring *fresh_saved(int keys)
{
	char err[KEYRING_ERR_LEN];
	struct keyring *kr = keyring_new();
	unsigned id;
	for (int i = 0; i < keys; i++)
		assert_int_equal(keyring_generate(kr, &id, err, sizeof err), 0);
	unlink(path);
	assert_int_equal(keyring_save(kr, path, err, sizeof err), 0);
	return kr;
}

static void test_saved_keyring_loads_back_identically(void **state)
{
	(void)state;
	char err[KEYRING_ERR_LEN];
	struct keyring *kr = fresh_saved(3);
	struct keyring *back = keyring_load(path, err, sizeof err);
	assert_non_null(back);
	assert_int_equal(back->n, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(back->keys[i].id, kr->keys[i].id);
		assert_int_equal(back->keys[i].status, kr->keys[i].status);
		assert_int_equal(back->keys[i].created, kr->keys[i].created);
		assert_memory_equal(back->keys[i].secret, kr->keys[i].secret, CODE_SECRET_LEN);
	}
	keyring_free(kr);
	keyring_free(back);
}

static void test_keyring_file_is_created_private(void **state)
{
	(void)state;
	struct stat st;
	keyring_free(fresh_saved(1));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_readable_keyring_is_refused(void **state)
{
	(void)state;
	char err[KEYRING_ERR_LEN];
	keyring_free(fresh_saved(1));
	int modes[] = {0644, 0640, 0604, 0660, 0606};
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		assert_int_equal(chmod(path, (mode_t)modes[i]), 0);
		assert_null(keyring_load(path, err, sizeof err));
		assert_non_null(strstr(err, "chmod 600"));
	}
	chmod(path, 0600);
}

static void test_missing_keyring_says_how_to_make_one(void **state)
{
	(void)state;
	char err[KEYRING_ERR_LEN];
	unlink(path);
	assert_null(keyring_load(path, err, sizeof err));
	assert_non_null(strstr(err, "packcode-gen keygen"));
}

static void test_new_key_takes_over_and_old_codes_still_verify(void **state)
{
	(void)state;
	char err[KEYRING_ERR_LEN], code[CODE_LEN + 1];
	struct verification v;
	unsigned id;
	struct keyring *kr = keyring_new();
	assert_int_equal(keyring_generate(kr, &id, err, sizeof err), 0);
	assert_int_equal(id, 1);
	assert_int_equal(code_encode(keyring_signer(keyring_active(kr)), 77, code, NULL), 0);

	assert_int_equal(keyring_generate(kr, &id, err, sizeof err), 0);
	assert_int_equal(id, 2);
	assert_int_equal(keyring_active(kr)->id, 2);
	assert_int_equal(keyring_find(kr, 1)->status, KEY_VERIFY_ONLY);
	assert_int_equal(keyring_verify(kr, code, strlen(code), &v), VERDICT_GENUINE);
	assert_int_equal(v.serial, 77);

	keyring_find(kr, 1)->status = KEY_REVOKED;
	assert_int_equal(keyring_verify(kr, code, strlen(code), &v), VERDICT_REVOKED);
	keyring_free(kr);
}

static void test_unknown_key_id_is_not_genuine(void **state)
{
	(void)state;
	char err[KEYRING_ERR_LEN], code[CODE_LEN + 1];
	struct verification v;
	unsigned id;
	struct keyring *a = keyring_new(), *b = keyring_new();
	assert_int_equal(keyring_generate(a, &id, err, sizeof err), 0);
	assert_int_equal(keyring_generate(b, &id, err, sizeof err), 0);
	assert_int_equal(keyring_generate(b, &id, err, sizeof err), 0);
	/* key 2 of b: a has no key 2 at all */
	assert_int_equal(code_encode(keyring_signer(keyring_active(b)), 5, code, NULL), 0);
	assert_int_equal(keyring_verify(a, code, strlen(code), &v), VERDICT_FORGED);
	/* key 1 of a is a different secret from key 1 of b */
	assert_int_equal(code_encode(keyring_signer(keyring_find(a, 1)), 5, code, NULL), 0);
	assert_int_equal(keyring_verify(b, code, strlen(code), &v), VERDICT_FORGED);
	assert_int_equal(keyring_verify(a, "not a code", 10, &v), VERDICT_TYPO);
	keyring_free(a);
	keyring_free(b);
}

/* the bad lines are printf templates with the secret filled in */
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void test_malformed_keyring_text_is_refused(void **state)
{
	(void)state;
	char err[KEYRING_ERR_LEN];
	const char *hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
	char good[200], buf[400];
	snprintf(good, sizeof good, "1 active 2026-01-02T03:04:05Z %s\n", hex);
	struct keyring *kr = keyring_parse(good, strlen(good), err, sizeof err);
	assert_non_null(kr);
	assert_int_equal(kr->n, 1);
	keyring_free(kr);

	const char *bad[] = {
	    "1 active 2026-01-02T03:04:05Z\n",
	    "0 active 2026-01-02T03:04:05Z %s\n",
	    "128 active 2026-01-02T03:04:05Z %s\n",
	    "x active 2026-01-02T03:04:05Z %s\n",
	    "1 sleeping 2026-01-02T03:04:05Z %s\n",
	    "1 active 2026-13-02T03:04:05Z %s\n",
	    "1 active yesterday %s\n",
	    "1 active 2026-01-02T03:04:05Z %s extra\n",
	    "1 active 2026-01-02T03:04:05Z %s\n1 revoked 2026-01-02T03:04:05Z %s\n",
	    "1 active 2026-01-02T03:04:05Z %s\n2 active 2026-01-02T03:04:05Z %s\n",
	    "1 active 2026-01-02T03:04:05Z %.62s\n",
	    "1 active 2026-01-02T03:04:05Z %.62szz\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(buf, sizeof buf, bad[i], hex, hex);
		assert_null(keyring_parse(buf, strlen(buf), err, sizeof err));
		assert_true(strlen(err) > 0);
	}
	char nul[] = "# comment\0 with NUL\n";
	assert_null(keyring_parse(nul, sizeof nul - 1, err, sizeof err));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_saved_keyring_loads_back_identically),
	    cmocka_unit_test(test_keyring_file_is_created_private),
	    cmocka_unit_test(test_readable_keyring_is_refused),
	    cmocka_unit_test(test_missing_keyring_says_how_to_make_one),
	    cmocka_unit_test(test_new_key_takes_over_and_old_codes_still_verify),
	    cmocka_unit_test(test_unknown_key_id_is_not_genuine),
	    cmocka_unit_test(test_malformed_keyring_text_is_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
