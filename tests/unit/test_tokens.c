/*
 * test_tokens.c: admin bearer tokens: the Authorization header, and a token
 * matched by the SHA-256 hash of the whole string against every live hash,
 * whatever its position; a token gone from a reload is refused.
 * Tables are loaded from in-memory PGresults shaped like the tokens query.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "engine/tokens.h"

/* The tokens query's row for (id, name, token): the hash as bytea text. */
static void row(PGresult *r, int i, const char *id, const char *name, const char *token)
{
	unsigned char h[32];
	unsigned int hl;
	char hex[2 + 64 + 1] = "\\x";
	EVP_Digest(token, strlen(token), h, &hl, EVP_sha256(), NULL);
	for (int k = 0; k < 32; k++)
		snprintf(hex + 2 + 2 * k, 3, "%02x", h[k]);
	PQsetvalue(r, i, 0, (char *)id, (int)strlen(id));
	PQsetvalue(r, i, 1, (char *)name, (int)strlen(name));
	PQsetvalue(r, i, 2, hex, (int)strlen(hex));
}

static PGresult *result(void)
{
	static const char *names[3] = {"id", "name", "hash"};
	PGresAttDesc attrs[3];
	PGresult *r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	memset(attrs, 0, sizeof attrs);
	for (int c = 0; c < 3; c++) {
		attrs[c].name = (char *)names[c];
		attrs[c].typlen = -1;
		attrs[c].atttypmod = -1;
	}
	PQsetResultAttrs(r, 3, attrs);
	return r;
}

/* A table of three tokens: ops (7), shop (8), crm (9). */
static struct tokens *three(void)
{
	struct tokens *t = tokens_new_empty();
	PGresult *r = result();
	row(r, 0, "7", "ops", "pct_ops");
	row(r, 1, "8", "shop", "pct_shop");
	row(r, 2, "9", "crm", "pct_crm");
	assert_int_equal(tokens_set(t, r), 0);
	PQclear(r);
	return t;
}

static void test_bearer_scheme_any_case_spaces_trimmed(void **state)
{
	const char *tok;
	size_t len;
	(void)state;
	assert_int_equal(tokens_bearer("Bearer abc", &tok, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(tok, "abc", 3);
	assert_int_equal(tokens_bearer("  bEaReR \t abc  ", &tok, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(tok, "abc", 3);
}

static void test_other_schemes_are_not_bearer(void **state)
{
	const char *tok;
	size_t len;
	(void)state;
	assert_int_equal(tokens_bearer("Basic b3BzOnNlY3JldA==", &tok, &len), -1);
	assert_int_equal(tokens_bearer("Bearer", &tok, &len), -1);
	assert_int_equal(tokens_bearer("Bearerabc", &tok, &len), -1);
	assert_int_equal(tokens_bearer("", &tok, &len), -1);
}

static void test_each_live_token_maps_to_its_name(void **state)
{
	struct tokens *t = three();
	struct tokens_identity who;
	(void)state;
	assert_int_equal(tokens_authenticate(t, "Bearer pct_ops", &who), TOKENS_OK);
	assert_string_equal(who.name, "ops");
	assert_int_equal(who.token_id, 7);
	assert_int_equal(tokens_authenticate(t, "Bearer pct_shop", &who), TOKENS_OK);
	assert_string_equal(who.name, "shop");
	assert_int_equal(tokens_authenticate(t, "Bearer pct_crm", &who), TOKENS_OK);
	assert_string_equal(who.name, "crm");
	assert_int_equal(who.token_id, 9);
	tokens_free(t);
}

static void test_unknown_or_altered_token_is_invalid(void **state)
{
	struct tokens *t = three();
	struct tokens_identity who;
	(void)state;
	assert_int_equal(tokens_authenticate(t, "Bearer pct_op", &who), TOKENS_INVALID);
	assert_int_equal(tokens_authenticate(t, "Bearer pct_opsx", &who), TOKENS_INVALID);
	assert_int_equal(tokens_authenticate(t, "Bearer PCT_OPS", &who), TOKENS_INVALID);
	assert_int_equal(tokens_authenticate(t, "Bearer ", &who), TOKENS_INVALID);
	tokens_free(t);
}

static void test_missing_header_or_other_scheme_is_missing(void **state)
{
	struct tokens *t = three();
	struct tokens_identity who;
	(void)state;
	assert_int_equal(tokens_authenticate(t, NULL, &who), TOKENS_MISSING);
	assert_int_equal(tokens_authenticate(t, "Basic pct_ops", &who), TOKENS_MISSING);
	tokens_free(t);
}

static void test_control_bytes_or_overlong_token_is_invalid(void **state)
{
	struct tokens *t = three();
	struct tokens_identity who;
	char longer[TOKEN_INPUT_MAX + 16] = "Bearer ";
	(void)state;
	assert_int_equal(tokens_authenticate(t, "Bearer pct_\x01ops", &who), TOKENS_INVALID);
	assert_int_equal(tokens_authenticate(t, "Bearer pct_ops\x7f", &who), TOKENS_INVALID);
	assert_int_equal(tokens_authenticate(t, "Bearer pct_ o", &who), TOKENS_INVALID);
	memset(longer + 7, 'a', TOKEN_INPUT_MAX + 1);
	assert_int_equal(tokens_authenticate(t, longer, &who), TOKENS_INVALID);
	tokens_free(t);
}

static void test_token_gone_from_a_reload_is_refused(void **state)
{
	struct tokens *t = three();
	struct tokens_identity who;
	PGresult *r = result();
	(void)state;
	row(r, 0, "7", "ops", "pct_ops");
	row(r, 1, "9", "crm", "pct_crm");
	assert_int_equal(tokens_set(t, r), 0);
	PQclear(r);
	assert_int_equal(tokens_count(t), 2);
	assert_int_equal(tokens_authenticate(t, "Bearer pct_shop", &who), TOKENS_INVALID);
	assert_int_equal(tokens_authenticate(t, "Bearer pct_crm", &who), TOKENS_OK);
	assert_string_equal(who.name, "crm");
	tokens_free(t);
}

static void test_empty_table_refuses_everything(void **state)
{
	struct tokens *t = tokens_new_empty();
	struct tokens_identity who;
	(void)state;
	assert_int_equal(tokens_authenticate(t, "Bearer pct_ops", &who), TOKENS_INVALID);
	tokens_free(t);
}

static void test_malformed_row_leaves_the_table_as_it_was(void **state)
{
	struct tokens *t = three();
	struct tokens_identity who;
	PGresult *r = result();
	(void)state;
	row(r, 0, "10", "new", "pct_new");
	PQsetvalue(r, 0, 2, "\\x00ff", 6); /* a hash of 2 bytes */
	assert_int_equal(tokens_set(t, r), -1);
	PQclear(r);
	assert_int_equal(tokens_count(t), 3);
	assert_int_equal(tokens_authenticate(t, "Bearer pct_shop", &who), TOKENS_OK);
	tokens_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bearer_scheme_any_case_spaces_trimmed),
	    cmocka_unit_test(test_other_schemes_are_not_bearer),
	    cmocka_unit_test(test_each_live_token_maps_to_its_name),
	    cmocka_unit_test(test_unknown_or_altered_token_is_invalid),
	    cmocka_unit_test(test_missing_header_or_other_scheme_is_missing),
	    cmocka_unit_test(test_control_bytes_or_overlong_token_is_invalid),
	    cmocka_unit_test(test_token_gone_from_a_reload_is_refused),
	    cmocka_unit_test(test_empty_table_refuses_everything),
	    cmocka_unit_test(test_malformed_row_leaves_the_table_as_it_was),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
