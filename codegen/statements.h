/*
 * statements.h: every SQL statement packcode-gen runs (but lib/db.c's own
 * migration bookkeeping). Each change is one call of a function of
 * sql/006_write_path.sql, the same the server's admin API calls, which writes
 * the change and its audit row together; $1 of a change is the actor
 * (cli_actor()) and the client address is NULL. Values travel only as
 * parameters, $N, never in the text.
 */
#ifndef PACKCODE_CODEGEN_STATEMENTS_H
#define PACKCODE_CODEGEN_STATEMENTS_H

/* A timestamptz column as ISO 8601 UTC text: 2026-01-02T03:04:05Z. */
#define STMT_UTC(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

#define STMT_BEGIN  "BEGIN"
#define STMT_COMMIT "COMMIT"

/* ---- the database (cmd_db.c) ---- */

/* On a Citus coordinator, once: distribute the tables (sql/010_citus.sql). What it did. */
#define STMT_DB_DISTRIBUTE "SELECT packcode_distribute()"

/* ---- products (cmd_product.c) ---- */

/* $1 actor, $2 sku, $3 gtin (GTIN-14 or NULL), $4 name, $5 brand, $6 points.
 * outcome: added | sku_exists | gtin_exists */
#define STMT_PRODUCT_ADD "SELECT outcome FROM product_add($1, NULL, $2, $3, $4, $5, $6::integer)"

/* sku, gtin, points, brand, name: '-' for none */
#define STMT_PRODUCT_LIST                                                                          \
	"SELECT sku, coalesce(gtin, '-'), points, "                                                \
	"       CASE WHEN brand = '' THEN '-' ELSE brand END, name "                               \
	"  FROM products ORDER BY sku"

/* $1 sku: a row if the product exists */
#define STMT_PRODUCT_EXISTS "SELECT 1 FROM products WHERE sku = $1"

/* $1 sku: sku, gtin ('' for none), name, points (mint) */
#define STMT_PRODUCT_GET "SELECT sku, coalesce(gtin, ''), name, points FROM products WHERE sku = $1"

/* ---- print runs (cmd_product.c, mint.c) ---- */

/* $1 sku or NULL for all: id, sku, key, count, status, created, printed ('-') */
#define STMT_BATCH_LIST                                                                            \
	"SELECT id, product_sku, key_id, serial_last - serial_first + 1, status, "                 \
	"       " STMT_UTC("created_at") ", coalesce(" STMT_UTC(                                   \
	    "printed_at") ", '-') "                                                                \
	                  "  FROM batches WHERE $1::text IS NULL OR product_sku = $1 ORDER BY id"

/* $1 actor, $2 sku, $3 count, $4 key id, $5 factory, $6 line, $7 region, $8 pin
 * required: id, serial_first, created (a new batch, status minting) */
#define STMT_BATCH_CREATE                                                                          \
	"SELECT id, serial_first, " STMT_UTC(                                                      \
	    "created_at") " "                                                                      \
	                  "  FROM batch_create($1, NULL, $2, $3::bigint, $4::smallint, $5, $6, "   \
	                  "$7, $8::boolean)"

/* $1 actor, $2 batch id, $3 new status, $4 reason, $5 the status it must have.
 * outcome: done | unknown_batch | wrong_status */
#define STMT_BATCH_SET_STATUS                                                                      \
	"SELECT outcome FROM batch_set_status($1, NULL, $2::bigint, $3, $4, $5)"

/* ---- admin API tokens (cmd_token.c) ---- */

/* $1 actor, $2 name, $3 SHA-256 of the token (binary), $4 scopes "read,points", $5 brand
 * names "A,B" or NULL for every brand. outcome: added | name_taken (22023: unknown brand) */
#define STMT_TOKEN_ADD                                                                             \
	"SELECT outcome FROM token_add($1, NULL, $2, $3::bytea, string_to_array($4, ','), "        \
	"string_to_array($5, ','))"

/* brand_ids as "A,B" (names), or "all" */
#define STMT_BRAND_NAMES(col)                                                                      \
	"coalesce((SELECT string_agg(CASE WHEN b.name = '' THEN '\"\"' ELSE b.name END, ',' "      \
	"ORDER BY b.name) FROM brands b WHERE b.id = ANY (" col ")), 'all')"

/* $1 actor, $2 name. outcome: revoked | unknown_token */
#define STMT_TOKEN_REVOKE "SELECT outcome FROM token_revoke($1, NULL, $2)"

/* name, created, last used ('-'), revoked ('-'), scopes, brands */
#define STMT_TOKEN_LIST_COLS                                                                       \
	"name, " STMT_UTC("created_at") ", coalesce(" STMT_UTC(                                    \
	    "last_used_at") ", '-'), "                                                             \
	                    "coalesce(" STMT_UTC("revoked_at") ", '-'), "
#define STMT_TOKEN_LIST                                                                            \
	"SELECT " STMT_TOKEN_LIST_COLS "array_to_string(scopes, ','), " STMT_BRAND_NAMES(          \
	    "brand_ids") " FROM admin_tokens ORDER BY id"

/* ---- staff accounts (cmd_user.c) ---- */

/* $1 actor, $2 name, $3 argon2id hash, $4 TOTP secret (binary) or NULL, $5 scopes, $6 brand
 * names or NULL. outcome: added | name_taken (22023: unknown brand) */
#define STMT_STAFF_ADD                                                                             \
	"SELECT outcome FROM staff_add($1, NULL, $2, $3, $4::bytea, string_to_array($5, ','), "    \
	"string_to_array($6, ','))"

/* $1 actor, $2 name. outcome: disabled | unknown_staff | already_disabled; sessions revoked */
#define STMT_STAFF_DISABLE "SELECT outcome, sessions FROM staff_disable($1, NULL, $2)"

/* name, scopes, brands, totp (yes/no), created, disabled ('-'), locked until ('-') */
#define STMT_STAFF_LOCKED "CASE WHEN locked_until > now() THEN " STMT_UTC("locked_until") " END"
#define STMT_STAFF_LIST                                                                            \
	"SELECT name, array_to_string(scopes, ','), " STMT_BRAND_NAMES(                            \
	    "brand_ids") ", CASE WHEN totp_secret IS NULL THEN 'no' ELSE 'yes' END, "              \
	                 "" STMT_UTC("created_at") ", coalesce(" STMT_UTC(                         \
	                     "disabled_at") ", '-'), "                                             \
	                                    "coalesce(" STMT_STAFF_LOCKED                          \
	                                    ", '-') FROM staff ORDER BY name"

/* ---- keys (cmd_keys.c) ---- */

/* $1 actor, $2 action (key.add | key.retire | key.revoke), $3 key id, $4 detail (JSON) */
#define STMT_KEY_AUDIT "SELECT key_audit($1, NULL, $2, $3::integer, $4::jsonb)"

/* ---- codes (cmd_verify.c) ---- */

/* $1 serial: batch id, status, sku, product name, created, key id, and if the
 * code was claimed: member, points, claimed at. No row: no batch holds it. */
#define STMT_CODE_LOOKUP                                                                           \
	"SELECT b.id, b.status, b.product_sku, p.name, " STMT_UTC(                                 \
	    "b.created_at") ", "                                                                   \
	                    "       b.key_id, r.member, r.points, " STMT_UTC(                      \
	                        "r.claimed_at") " "                                                \
	                                        "  FROM batches b JOIN products p ON p.sku = "     \
	                                        "b.product_sku "                                   \
	                                        "  LEFT JOIN redemptions r ON r.serial = "         \
	                                        "$1::bigint "                                      \
	                                        " WHERE int8range(b.serial_first, b.serial_last, " \
	                                        "'[]') @> $1::bigint"

/* Members (cmd_member.c): one, and all of them for 'member check'. */
#define STMT_MEMBER_GET  "SELECT balance FROM members WHERE member = $1"
#define STMT_MEMBER_LIST "SELECT member, balance FROM members ORDER BY member"
/* The member of an identity's keyed hash (sql/011_members.sql). */
#define STMT_MEMBER_BY_IDENTITY "SELECT member FROM member_by_identity($1::bytea)"

#endif
