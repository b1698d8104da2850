/*
 * test_pii.c: the PII key file (made 0600, refused when loose or malformed,
 * never replaced), keyed hashes, sealing with AES-256-GCM (tampering and the
 * wrong kind refused) and masking.
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

#include "pii.h"

static char dir[] = "/tmp/test_pii.XXXXXX";
static char path[256];

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof path, "%s/pii.key", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	rmdir(dir);
	return 0;
}

static void load(struct pii_key *k)
{
	char err[PII_ERR_LEN];
	unlink(path);
	assert_int_equal(pii_key_create(path, err, sizeof err), 0);
	assert_int_equal(pii_key_load(k, path, 0, NULL, err, sizeof err), 0);
}

static void test_created_key_file_is_0600_and_never_replaced(void **state)
{
	char err[PII_ERR_LEN];
	struct stat st;
	(void)state;
	unlink(path);
	assert_int_equal(pii_key_create(path, err, sizeof err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(pii_key_create(path, err, sizeof err), -1);
	assert_non_null(strstr(err, "exists"));
}

static void test_load_creates_on_first_need_and_agrees_after(void **state)
{
	struct pii_key a, b;
	unsigned char ha[PII_HASH_LEN], hb[PII_HASH_LEN];
	char err[PII_ERR_LEN];
	int created = 0;
	(void)state;
	unlink(path);
	assert_int_equal(pii_key_load(&a, path, 0, NULL, err, sizeof err), -1);
	assert_non_null(strstr(err, "packcode-gen pii-key"));
	assert_int_equal(pii_key_load(&a, path, 1, &created, err, sizeof err), 0);
	assert_int_equal(created, 1);
	assert_int_equal(pii_key_load(&b, path, 1, &created, err, sizeof err), 0);
	assert_int_equal(created, 0);
	pii_hash(&a, PII_PHONE, "+8613900000000", 14, ha);
	pii_hash(&b, PII_PHONE, "+8613900000000", 14, hb);
	assert_memory_equal(ha, hb, PII_HASH_LEN);
}

static void test_loose_key_file_is_refused(void **state)
{
	struct pii_key k;
	char err[PII_ERR_LEN];
	(void)state;
	load(&k);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(pii_key_load(&k, path, 0, NULL, err, sizeof err), -1);
	assert_non_null(strstr(err, "chmod 600"));
}

static void test_malformed_key_file_is_refused(void **state)
{
	struct pii_key k;
	char err[PII_ERR_LEN];
	(void)state;
	unlink(path);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("# comment\nnot hex\n", f);
	fclose(f);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(pii_key_load(&k, path, 0, NULL, err, sizeof err), -1);
	assert_non_null(strstr(err, "64 hex digits"));
}

static void test_hash_depends_on_kind_value_and_key(void **state)
{
	struct pii_key k1, k2;
	unsigned char a[PII_HASH_LEN], b[PII_HASH_LEN];
	(void)state;
	load(&k1);
	load(&k2);
	pii_hash(&k1, PII_PHONE, "+8613900000000", 14, a);
	pii_hash(&k1, PII_EXTERNAL, "+8613900000000", 14, b);
	assert_memory_not_equal(a, b, PII_HASH_LEN);
	pii_hash(&k2, PII_PHONE, "+8613900000000", 14, b);
	assert_memory_not_equal(a, b, PII_HASH_LEN);
	pii_hash(&k1, PII_PHONE, "+8613900000001", 14, b);
	assert_memory_not_equal(a, b, PII_HASH_LEN);
	pii_code_hash(&k1, a, "123456", b);
	unsigned char c[PII_HASH_LEN];
	pii_code_hash(&k1, a, "123457", c);
	assert_memory_not_equal(b, c, PII_HASH_LEN);
}

static void test_sealed_value_opens_with_its_key_and_kind_only(void **state)
{
	struct pii_key k, other;
	unsigned char s1[PII_SEALED_MAX], s2[PII_SEALED_MAX];
	char out[PII_VALUE_MAX + 1];
	(void)state;
	load(&k);
	load(&other);
	long n = pii_seal(&k, PII_PHONE, "+8613900000000", 14, s1, sizeof s1);
	assert_int_equal(n, 14 + PII_SEAL_OVERHEAD);
	/* a fresh nonce each time: the same value never seals the same */
	assert_int_equal(pii_seal(&k, PII_PHONE, "+8613900000000", 14, s2, sizeof s2), n);
	assert_memory_not_equal(s1, s2, (size_t)n);
	assert_int_equal(pii_open(&k, PII_PHONE, s1, (size_t)n, out, sizeof out), 14);
	assert_string_equal(out, "+8613900000000");
	assert_int_equal(pii_open(&k, PII_EXTERNAL, s1, (size_t)n, out, sizeof out), -1);
	assert_int_equal(pii_open(&other, PII_PHONE, s1, (size_t)n, out, sizeof out), -1);
	s1[20] ^= 1;
	assert_int_equal(pii_open(&k, PII_PHONE, s1, (size_t)n, out, sizeof out), -1);
	assert_int_equal(pii_open(&k, PII_PHONE, s1, 5, out, sizeof out), -1);
}

static void test_sealed_text_opens_with_its_key_and_purpose_only(void **state)
{
	struct pii_key k, other;
	static unsigned char s[PII_TEXT_SEALED_MAX];
	static char long_text[PII_TEXT_MAX + 2], out[PII_TEXT_MAX + 1];
	const char *addr = "{\"line1\":\"西湖区文三路 100 号\",\"name\":\"张三\"}";
	size_t len = strlen(addr);
	(void)state;
	load(&k);
	load(&other);
	long n = pii_seal_text(&k, "address", addr, len, s, sizeof s);
	assert_int_equal(n, (long)(len + PII_SEAL_OVERHEAD));
	assert_int_equal(pii_open_text(&k, "address", s, (size_t)n, out, sizeof out), (long)len);
	assert_string_equal(out, addr);
	/* the purpose is the associated data: an address is not a phone, nor another's */
	assert_int_equal(pii_open_text(&k, "phone", s, (size_t)n, out, sizeof out), -1);
	assert_int_equal(pii_open(&k, PII_PHONE, s, (size_t)n, out, sizeof out), -1);
	assert_int_equal(pii_open_text(&other, "address", s, (size_t)n, out, sizeof out), -1);
	/* up to PII_TEXT_MAX bytes, beyond PII_VALUE_MAX */
	memset(long_text, 'x', PII_TEXT_MAX + 1);
	assert_int_equal(pii_seal_text(&k, "address", long_text, PII_TEXT_MAX, s, sizeof s),
	                 PII_TEXT_MAX + PII_SEAL_OVERHEAD);
	assert_int_equal(pii_seal_text(&k, "address", long_text, PII_TEXT_MAX + 1, s, sizeof s),
	                 -1);
}

static void test_mac_depends_on_purpose_text_and_key(void **state)
{
	struct pii_key k1, k2;
	unsigned char a[PII_HASH_LEN], b[PII_HASH_LEN];
	static char big[5000];
	(void)state;
	load(&k1);
	load(&k2);
	assert_int_equal(pii_mac(&k1, "order", "1:{}", 4, a), 0);
	assert_int_equal(pii_mac(&k1, "order", "1:{}", 4, b), 0);
	assert_memory_equal(a, b, PII_HASH_LEN);
	assert_int_equal(pii_mac(&k1, "order", "2:{}", 4, b), 0);
	assert_memory_not_equal(a, b, PII_HASH_LEN);
	assert_int_equal(pii_mac(&k1, "other", "1:{}", 4, b), 0);
	assert_memory_not_equal(a, b, PII_HASH_LEN);
	assert_int_equal(pii_mac(&k2, "order", "1:{}", 4, b), 0);
	assert_memory_not_equal(a, b, PII_HASH_LEN);
	/* any length: the last byte of a long text counts */
	memset(big, 'y', sizeof big);
	assert_int_equal(pii_mac(&k1, "order", big, sizeof big, a), 0);
	big[sizeof big - 1] = 'z';
	assert_int_equal(pii_mac(&k1, "order", big, sizeof big, b), 0);
	assert_memory_not_equal(a, b, PII_HASH_LEN);
}

static void test_phone_masked_by_its_country_code(void **state)
{
	char m[PII_MASK_MAX + 1];
	(void)state;
	assert_int_equal(pii_mask(PII_PHONE, "+8613900000000", m, sizeof m), 0);
	assert_string_equal(m, "+86 139****0000");
	assert_int_equal(pii_mask(PII_PHONE, "+14155552671", m, sizeof m), 0);
	assert_string_equal(m, "+1 415***2671");
	assert_int_equal(pii_mask(PII_PHONE, "+886912345678", m, sizeof m), 0);
	assert_string_equal(m, "+886 912**5678");
	assert_int_equal(pii_mask(PII_EXTERNAL, "crm:42", m, sizeof m), 0);
	assert_string_equal(m, "cr***");
	assert_int_equal(pii_mask(PII_PHONE, "+8613900000000", m, 8), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_created_key_file_is_0600_and_never_replaced),
	    cmocka_unit_test(test_load_creates_on_first_need_and_agrees_after),
	    cmocka_unit_test(test_loose_key_file_is_refused),
	    cmocka_unit_test(test_malformed_key_file_is_refused),
	    cmocka_unit_test(test_hash_depends_on_kind_value_and_key),
	    cmocka_unit_test(test_sealed_value_opens_with_its_key_and_kind_only),
	    cmocka_unit_test(test_sealed_text_opens_with_its_key_and_purpose_only),
	    cmocka_unit_test(test_mac_depends_on_purpose_text_and_key),
	    cmocka_unit_test(test_phone_masked_by_its_country_code),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
