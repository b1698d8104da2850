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

#define STMT_BEGIN    "BEGIN"
#define STMT_COMMIT   "COMMIT"
#define STMT_ROLLBACK "ROLLBACK"

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

/* $1 actor, $2 sku, $3 link type (term), $4 href (NULL: remove), $5 title, $6 hreflang,
 * $7 media type. outcome: set | removed | unchanged | no_product (sql/014_resolver.sql) */
#define STMT_PRODUCT_LINK_SET                                                                      \
	"SELECT outcome FROM product_link_set($1, NULL, $2, $3, $4, $5, $6, $7)"
/* $1 sku: the product's links (term, href, hreflang, media type, title); one row of
 * NULLs for a product without links, none for no product */
#define STMT_PRODUCT_LINKS                                                                         \
	"SELECT l.link_type, l.href, l.hreflang, l.media_type, l.title "                           \
	"  FROM products p LEFT JOIN product_links l ON l.product_sku = p.sku "                    \
	" WHERE p.sku = $1 ORDER BY l.link_type COLLATE \"C\", l.hreflang"

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
 * required, $9 inactive (NULL: the product's default), $10 lot, $11 expiry YYYYMMDD:
 * id, serial_first, created, inactive, expiry YYYY-MM-DD or '' (a new batch, status
 * minting; 22023 for a lot or an expiry of a product without a GTIN) */
#define STMT_BATCH_CREATE                                                                          \
	"SELECT id, serial_first, " STMT_UTC(                                                      \
	    "created_at") ", inactive, coalesce(to_char(expiry, 'YYYY-MM-DD'), '') "               \
	                  "  FROM batch_create($1, NULL, $2, $3::bigint, $4::smallint, $5, $6, "   \
	                  "$7, $8::boolean, $9::boolean, $10, $11)"

/* ---- the supply chain (cmd_supply.c, sql/013_supply.sql) ---- */

/* $1 actor, $2 sku, $3 inactive by default. outcome: done | unchanged | unknown_product */
#define STMT_PRODUCT_INACTIVE_DEFAULT                                                              \
	"SELECT outcome FROM product_set_inactive_default($1, NULL, $2, $3::boolean)"

/* $1 actor, $2 batch, $3 $4 first and last seq (NULL NULL: all), $5 reason:
 * outcome, change_id, serial_first, serial_last */
#define STMT_BATCH_ACTIVATE                                                                        \
	"SELECT outcome, change_id, serial_first, serial_last "                                    \
	"  FROM batch_activate($1, NULL, $2::bigint, $3::bigint, $4::bigint, $5)"

/* $1 actor, $2 batch, $3 reason: outcome, change_id */
#define STMT_BATCH_EXPIRE "SELECT outcome, change_id FROM batch_expire($1, NULL, $2::bigint, $3)"

/* $1 serial: the batch holding it and its key */
#define STMT_BATCH_OF_SERIAL                                                                       \
	"SELECT id, key_id FROM batches WHERE $1::bigint BETWEEN serial_first AND serial_last"

/* $1 actor, $2 serial, $3 batch, $4 state, $5 reason: outcome, change_id, previous, state */
#define STMT_CODE_STATE_SET                                                                        \
	"SELECT outcome, change_id, previous, state "                                              \
	"  FROM code_state_set($1, NULL, $2::bigint, $3::bigint, $4, $5)"

/* $1 actor, $2 change, $3 reason: outcome, kind, batch_id, restored */
#define STMT_SUPPLY_UNDO                                                                           \
	"SELECT outcome, kind, batch_id, restored FROM supply_undo($1, NULL, $2::bigint, $3)"

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
 * code was claimed: member, points, claimed at; then the supply chain's say
 * (inactive, void, stolen, destroyed, sample, expired; '' for none:
 * sql/013_supply.sql). No row: no batch holds it. */
#define STMT_CODE_LOOKUP                                                                           \
	"SELECT b.id, b.status, b.product_sku, p.name, " STMT_UTC(                                 \
	    "b.created_at") ", "                                                                   \
	                    "       b.key_id, r.member, r.points, " STMT_UTC(                      \
	                        "r.claimed_at") ", "                                               \
	                                        "       "                                          \
	                                        "coalesce((claim_supply_refusals(ARRAY[$1::"       \
	                                        "bigint], ARRAY[b.id]))[1], '') "                  \
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

/* ---- exports (cmd_export.c; sql/016_alerts.sql) ---- */

/* Times read in UTC (a date is midnight UTC), as the server's are. */
#define STMT_EXPORT_SESSION "SET TimeZone = 'UTC'"
/* $1 actor, $2 kind, $3 format, $4 from, $5 to, $6 brand names "A,B" (NULL: every
 * brand), $7 pii. Records the export and its audit row; id, copy_sql (the
 * COPY ... TO STDOUT to run: the one statement not written here, see
 * export_sql()). An unknown brand is SQLSTATE 22023. */
#define STMT_EXPORT_BEGIN                                                                          \
	"SELECT id, copy_sql FROM export_begin($1, NULL, $2, $3, $4::timestamptz, "                \
	"$5::timestamptz, "                                                                        \
	"brand_ids(string_to_array($6, ',')), $7::boolean)"
/* $1 export id, $2 rows, $3 status (done, aborted, failed). Audited. */
#define STMT_EXPORT_FINISH "SELECT outcome FROM export_finish($1::bigint, $2::bigint, $3)"

/* ---- cases, pallets, distributors, shipments (cmd_pack.c; sql/018, sql/019) ---- */

/* $1 actor, $2 sku, $3 packaging (item | case): outcome done | unchanged | unknown_product
 * | no_gtin */
#define STMT_PRODUCT_PACKAGING "SELECT outcome FROM product_set_packaging($1, NULL, $2, $3)"
/* the batches as the packing line's codes find them: id, serial_first, serial_last */
#define STMT_PACK_BATCHES "SELECT id, serial_first, serial_last FROM batches ORDER BY serial_first"
/* the pallet runs: id, body_first, body_last */
#define STMT_PACK_RUNS "SELECT id, body_first, body_last FROM pallet_runs ORDER BY body_first"
/* $1 actor, $2 brand, $3 count, $4 extension, $5 prefix (NULL: the brand's):
 * outcome, run_id, sscc_first, sscc_last, body_first, company prefix */
#define STMT_PALLET_MINT                                                                           \
	"SELECT outcome, run_id, sscc_first, sscc_last, body_first, company_prefix "               \
	"  FROM pallet_mint($1, NULL, $2, $3::bigint, $4::smallint, $5, NULL)"
/* The transaction's staging table, then COPY into it (line, child, child_last, child_batch,
 * child_key, pallet, parent, parent_ref, parent_key): a row a line, or a run of lines
 * (sql/034_pack_runs.sql) */
#define STMT_PACK_STAGE "SELECT pack_stage_begin()"
#define STMT_PACK_COPY                                                                             \
	"COPY pack_stage (line, child, child_last, child_batch, child_key, pallet, parent, "       \
	"parent_ref, parent_key) FROM STDIN"
/* pack load (sql/018, pack_load_open): $1 actor: the load's id */
#define STMT_PACK_LOAD_OPEN "SELECT pack_load_open($1, 'file')"
/* then the stage (runs of lines), and: $1 actor, $2 load, $3 links: outcome, load_id, links */
#define STMT_PACK_LOAD_CLOSE                                                                       \
	"SELECT outcome, load_id, links FROM pack_load_close($1, NULL, NULL, $2::bigint, "         \
	"$3::bigint)"
/* $1 actor, $2 reason: load_id, packed, repacked, change_id */
#define STMT_PACK_MOVE                                                                             \
	"SELECT load_id, packed, repacked, change_id FROM pack_put($1, NULL, NULL, 'cli', $2)"
/* $1 actor, $2 pallet (bool), $3 parent, $4 reason: outcome, children */
#define STMT_PACK_UNPACK                                                                           \
	"SELECT outcome, children FROM pack_unpack($1, NULL, NULL, $2::boolean, $3::bigint, $4)"
/* $1 actor, $2 pallet, $3 parent, $4 reason: outcome, codes, ranges, changes */
#define STMT_PACK_ACTIVATE                                                                         \
	"SELECT outcome, codes, ranges, array_to_string(changes, ',') "                            \
	"  FROM pack_activate($1, NULL, NULL, $2::boolean, $3::bigint, $4)"
/* $1 serial: batch, case serial, case key, pallet, shipment, shipped_at, distributor id,
 * distributor, territory ("33,3301"), received_at (sql/026_receiving.sql); '' for none */
#define STMT_PACK_CHAIN                                                                            \
	"SELECT batch_id, coalesce(case_serial::text, ''), coalesce(case_key::text, ''), "         \
	"       coalesce(pallet, ''), coalesce(shipment_id::text, ''), "                           \
	"       coalesce(" STMT_UTC(                                                               \
	    "shipped_at") ", ''), coalesce(distributor_id::text, ''), "                            \
	                  "       coalesce(distributor, ''), "                                     \
	                  "coalesce(array_to_string(territory, ','), ''), "                        \
	                  "       coalesce(" STMT_UTC(                                             \
	                      "received_at") ", '') "                                              \
	                                     "  FROM pack_chain($1::bigint, NULL)"
/* $1 actor, $2 brand, $3 name, $4 territory "33,CN-GD" ('' none): outcome, id */
#define STMT_DISTRIBUTOR_ADD                                                                       \
	"SELECT outcome, id FROM distributor_add($1, NULL, $2, $3, "                               \
	"string_to_array(nullif($4, ''), ','), NULL)"
/* $1 actor, $2 id, $3 name (NULL: kept), $4 territory (NULL: kept, '': none): outcome */
#define STMT_DISTRIBUTOR_CHANGE                                                                    \
	"SELECT outcome FROM distributor_change($1, NULL, $2::bigint, $3, "                        \
	"coalesce(string_to_array(nullif($4, ''), ','), CASE WHEN $4 = '' THEN '{}'::text[] "      \
	"END), "                                                                                   \
	"NULL)"
/* $1 actor, $2 id: outcome */
#define STMT_DISTRIBUTOR_DELETE "SELECT outcome FROM distributor_delete($1, NULL, $2::bigint, NULL)"
/* id, brand, name, territory */
#define STMT_DISTRIBUTOR_LIST                                                                      \
	"SELECT id, brand, name, array_to_string(territory, ',') FROM distributors_list(NULL)"
/* $1 actor, $2 distributor, $3 reference, $4 kinds, $5 values, $6 firsts, $7 lasts (arrays
 * as text): outcome, id */
#define STMT_SHIPMENT_ADD                                                                          \
	"SELECT outcome, id FROM shipment_add($1, NULL, $2::bigint, $3, $4::text[], "              \
	"$5::bigint[], "                                                                           \
	"$6::bigint[], $7::bigint[], NULL)"
/* $1 actor, $2 pallet (bool), $3 parent (NULL with $4), $4 shipment (NULL: by the parent):
 * outcome (received, already_received, not_shipped, unknown_parent, unknown_shipment),
 * shipment, distributor, received_at, received_by (sql/026_receiving.sql) */
#define STMT_SHIPMENT_RECEIVE                                                                      \
	"SELECT outcome, coalesce(shipment_id::text, ''), coalesce(distributor_id::text, ''), "    \
	"       coalesce(" STMT_UTC("received_at") ", ''), coalesce(received_by, '') "             \
	                                           "  FROM shipment_receive($1, NULL, NULL, "      \
	                                           "$2::boolean, $3::bigint, $4::bigint)"

/* ---- EPCIS events (cmd_events.c; sql/020_epcis.sql) ---- */

/* $1 brand names "A,B" (NULL: every brand), $2 from, $3 to (NULL: open),
 * $4 batch (NULL: all), $5 kinds "a,b" (NULL: the default ones). outcome
 * (ok, unknown_batch) and copy_sql, the COPY ... TO STDOUT of the events
 * (epcis_sql()). An unknown brand or kind is 22023, from not before to 23514. */
#define STMT_EPCIS_BEGIN                                                                           \
	"SELECT outcome, copy_sql FROM epcis_begin(brand_ids(string_to_array($1, ',')), "          \
	"$2::timestamptz, $3::timestamptz, $4::bigint, string_to_array($5, ','))"
/* $1 actor, $2 brand, $3 GLN (NULL: none). outcome. Audited (brand.gln). */
#define STMT_BRAND_SET_GLN "SELECT outcome FROM brand_set_gln($1, NULL, $2, $3)"

#endif
