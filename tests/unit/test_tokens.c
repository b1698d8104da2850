/*
 * test_tokens.c: admin bearer tokens and staff sessions: the Authorization
 * header, and a secret matched by the SHA-256 hash of the whole string
 * against every live hash, whatever its position, with its scopes and
 * brands; a token gone from a reload is refused, a session past its end too.
 * Tables are loaded from in-memory PGresults shaped like the load queries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "engine/tokens.h"
#include "scope.h"

/* The load query's row for (id, name, token, scopes, brands, expires): the hash as bytea text. */
static void row_full(PGresult *r, int i, const char *id, const char *name, const char *token,
                     const char *scopes, const char *brands, const char *expires)
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
	PQsetvalue(r, i, 3, (char *)scopes, (int)strlen(scopes));
	PQsetvalue(r, i, 4, (char *)brands, brands ? (int)strlen(brands) : -1);
	PQsetvalue(r, i, 5, (char *)expires, expires ? (int)strlen(expires) : -1);
}

/* A token of every scope and brand. */
static void row(PGresult *r, int i, const char *id, const char *name, const char *token)
{
	row_full(r, i, id, name, token,
	         "read,catalog,operate,points,claims,pii,export,admin,campaigns", NULL, NULL);
}

static PGresult *result(void)
{
	static const char *names[6] = {"id", "name", "hash", "scopes", "brands", "expires"};
	PGresAttDesc attrs[6];
	PGresult *r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	memset(attrs, 0, sizeof attrs);
	for (int c = 0; c < 6; c++) {
		attrs[c].name = (char *)names[c];
		attrs[c].typlen = -1;
		attrs[c].atttypmod = -1;
	}
	PQsetResultAttrs(r, 6, attrs);
	return r;
}

/* A table of three tokens: ops (7), shop (8), crm (9). */
static struct tokens *three(void)
{
	struct tokens *t = tokens_new_empty(TOKENS_BEARER);
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
	assert_int_equal(who.id, 7);
	assert_int_equal(tokens_authenticate(t, "Bearer pct_shop", &who), TOKENS_OK);
	assert_string_equal(who.name, "shop");
	assert_int_equal(tokens_authenticate(t, "Bearer pct_crm", &who), TOKENS_OK);
	assert_string_equal(who.name, "crm");
	assert_int_equal(who.id, 9);
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
	struct tokens *t = tokens_new_empty(TOKENS_BEARER);
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

static void test_scopes_and_brands_come_with_the_identity(void **state)
{
	struct tokens *t = tokens_new_empty(TOKENS_BEARER);
	struct tokens_identity who;
	PGresult *r = result();
	(void)state;
	row_full(r, 0, "3", "reader", "pct_reader", "read,pii", "4,9", NULL);
	row(r, 1, "5", "all", "pct_all");
	assert_int_equal(tokens_set(t, r), 0);
	PQclear(r);
	assert_int_equal(tokens_authenticate(t, "Bearer pct_reader", &who), TOKENS_OK);
	assert_int_equal(who.scopes, SCOPE_READ | SCOPE_PII);
	assert_int_equal(who.nbrands, 2);
	assert_int_equal(who.brands[0], 4);
	assert_int_equal(who.brands[1], 9);
	assert_int_equal(who.kind, TOKENS_BEARER);
	assert_int_equal(tokens_authenticate(t, "Bearer pct_all", &who), TOKENS_OK);
	assert_int_equal(who.scopes, SCOPE_ALL);
	assert_int_equal(who.nbrands, -1);
	tokens_free(t);
}

static void test_unknown_scope_is_a_malformed_row(void **state)
{
	struct tokens *t = three();
	PGresult *r = result();
	(void)state;
	row_full(r, 0, "3", "odd", "pct_odd", "read,root", NULL, NULL);
	assert_int_equal(tokens_set(t, r), -1);
	PQclear(r);
	assert_int_equal(tokens_count(t), 3);
	tokens_free(t);
}

static void test_session_past_its_end_is_refused(void **state)
{
	struct tokens *t = tokens_new_empty(TOKENS_SESSION);
	struct tokens_identity who;
	char later[24], earlier[24];
	PGresult *r = result();
	(void)state;
	snprintf(later, sizeof later, "%lld", (long long)time(NULL) + 3600);
	snprintf(earlier, sizeof earlier, "%lld", (long long)time(NULL) - 1);
	row_full(r, 0, "-1", "alice", "pcs_alive", "read", NULL, later);
	row_full(r, 1, "-2", "bob", "pcs_gone", "read", NULL, earlier);
	assert_int_equal(tokens_set(t, r), 0);
	PQclear(r);
	assert_int_equal(tokens_lookup(t, "pcs_alive", 9, &who), TOKENS_OK);
	assert_int_equal(who.kind, TOKENS_SESSION);
	assert_int_equal(who.id, -1);
	assert_int_equal(tokens_lookup(t, "pcs_gone", 8, &who), TOKENS_INVALID);
	tokens_free(t);
}

static void test_added_session_is_known_until_removed(void **state)
{
	struct tokens *t = tokens_new_empty(TOKENS_SESSION);
	struct tokens_identity who = {.kind = TOKENS_SESSION,
	                              .id = -7,
	                              .scopes = SCOPE_READ,
	                              .nbrands = -1,
	                              .expires = (long long)time(NULL) + 60};
	unsigned char h[32];
	unsigned int hl;
	(void)state;
	snprintf(who.name, sizeof who.name, "carol");
	EVP_Digest("pcs_new", 7, h, &hl, EVP_sha256(), NULL);
	assert_int_equal(tokens_add(t, h, &who), 0);
	memset(&who, 0, sizeof who);
	assert_int_equal(tokens_lookup(t, "pcs_new", 7, &who), TOKENS_OK);
	assert_string_equal(who.name, "carol");
	tokens_remove(t, -7);
	assert_int_equal(tokens_lookup(t, "pcs_new", 7, &who), TOKENS_INVALID);
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
	    cmocka_unit_test(test_scopes_and_brands_come_with_the_identity),
	    cmocka_unit_test(test_unknown_scope_is_a_malformed_row),
	    cmocka_unit_test(test_session_past_its_end_is_refused),
	    cmocka_unit_test(test_added_session_is_known_until_removed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
