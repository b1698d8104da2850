/*
 * statements.h: every statement packcode-server runs, prepared once per
 * connection: the one registry of the server's SQL. The logic lives in the
 * functions of sql/; these are their calls.
 */
#ifndef PACKCODE_SERVER_STATEMENTS_H
#define PACKCODE_SERVER_STATEMENTS_H

/*
 * Run on every worker connection after it connects. The plan cache mode (and
 * on Citus the connections per node) are the database's choice
 * (sql/010_citus.sql, packcode_session): on a single PostgreSQL generic
 * plans, the statements being written so that one plan fits every call
 * (index probes) where a custom plan per call would re-plan each time; on
 * Citus custom ones, which are what let Citus send a statement only to the
 * shards its values name. member_get names its member to both tables, so
 * that Citus runs it on that member's one shard.
 */
#define STATEMENTS_SETUP                                                                           \
	"SET TimeZone = 'UTC'; SET DateStyle = 'ISO'; SET statement_timeout = '10s'; "             \
	"SELECT packcode_session(); "                                                              \
	"PREPARE ping AS SELECT 1; "                                                               \
	"PREPARE claim_many(bigint[], bigint[], text[], smallint[], inet[], text[]) AS "           \
	"  SELECT * FROM claim_many($1, $2, $3, $4, $5, $6); "                                     \
	"PREPARE code_facts(bigint[], bigint[]) AS SELECT * FROM code_facts($1, $2); "             \
	"PREPARE code_inactive_scanned(bigint, bigint, text, inet) AS "                            \
	"  SELECT code_inactive_scanned($1, $2, $3, $4); "                                         \
	"PREPARE report_file(bigint, bigint, text, text, inet, text) AS "                          \
	"  SELECT * FROM report_file($1, $2, $3, $4, $5, $6); "                                    \
	"PREPARE member_get(text, integer, bigint) AS "                                            \
	"  SELECT m.balance, l.id, l.delta, l.balance_after, l.kind, l.serial, l.created_at "      \
	"    FROM members m LEFT JOIN ("                                                           \
	"      SELECT id, delta, balance_after, kind, serial, created_at FROM ledger "             \
	"       WHERE member = $1 AND ($3 IS NULL OR id < $3) "                                    \
	"       ORDER BY id DESC LIMIT $2) l ON true "                                             \
	"   WHERE m.member = $1 ORDER BY l.id DESC; " STATEMENTS_ADMIN                             \
	"; " STATEMENTS_ADMIN_WEBHOOKS "; " STATEMENTS_ADMIN_SUPPLY "; " STATEMENTS_ANALYTICS      \
	"; " STATEMENTS_MEMBERS "; " STATEMENTS_OAUTH "; " STATEMENTS_CAMPAIGNS                    \
	"; " STATEMENTS_INSIGHTS "; " STATEMENTS_MALL "; " STATEMENTS_REFERRALS                    \
	"; " STATEMENTS_PAYOUTS

/*
 * The analytics reads (server/handlers/analytics.c, sql/015_scans.sql): the
 * roll-ups over a range of UTC days (analytics_range: the defaults and the
 * checks), limited to the identity's brands.
 */
#define STATEMENTS_ANALYTICS                                                                       \
	"PREPARE analytics_overview(date, date, bigint[]) AS "                                     \
	"  SELECT analytics_overview(r.f, r.t, $3) FROM analytics_range($1, $2) r; "               \
	"PREPARE analytics_batches(date, date, bigint[], text) AS "                                \
	"  SELECT analytics_batches(r.f, r.t, $3, $4) FROM analytics_range($1, $2) r; "            \
	"PREPARE analytics_regions(date, date, bigint[], text, text, bigint) AS "                  \
	"  SELECT analytics_regions(r.f, r.t, $3, $4, $5, $6) FROM analytics_range($1, $2) r"

/*
 * Campaigns (server/handlers/campaigns.c, sql/021_campaigns.sql): changes
 * take the identity and the client first; the body of a new campaign goes
 * as jsonb (its shape checked by campaigns_input.c, its values by
 * campaign_create) with the 32 random bytes of its secret; reads take the
 * identity's brands last (NULL: every brand). campaign_public is the rules
 * page's: what anyone may see.
 */
#define STATEMENTS_CAMPAIGNS                                                                       \
	"PREPARE admin_campaign_create(bigint, inet, jsonb, bytea) AS "                            \
	"  SELECT * FROM admin_campaign_create($1, $2, $3, $4); "                                  \
	"PREPARE admin_campaign_end(bigint, inet, bigint) AS "                                     \
	"  SELECT * FROM admin_campaign_end($1, $2, $3); "                                         \
	"PREPARE admin_campaigns(bigint[]) AS SELECT admin_campaigns($1); "                        \
	"PREPARE admin_campaign(bigint, bigint[]) AS SELECT admin_campaign($1, $2); "              \
	"PREPARE admin_campaign_winners(bigint, bigint[]) AS "                                     \
	"  SELECT admin_campaign_winners($1, $2, 100); "                                           \
	"PREPARE campaign_public(bigint) AS SELECT campaign_json($1, false)"

/*
 * Red packets' payouts (server/handlers/payouts.c, campaigns.c;
 * sql/028_redpackets.sql): the provider's callback, its signature checked
 * first, with the client's address; a campaign's reconciliation, with the
 * identity's brands last (NULL: every brand).
 */
#define STATEMENTS_PAYOUTS                                                                         \
	"PREPARE payout_callback(inet, text, text, text) AS "                                      \
	"  SELECT * FROM payout_callback($1, $2, $3, $4); "                                        \
	"PREPARE admin_campaign_payouts(bigint, bigint[]) AS "                                     \
	"  SELECT admin_campaign_payouts($1, $2)"

/*
 * The payout dispatcher's own connection (engine/payouts.c, one per server,
 * in the control thread): claim due payouts, record attempts, return the
 * failed ones' amounts.
 */
#define STATEMENTS_PAYOUTS_SETUP                                                                   \
	"SET TimeZone = 'UTC'; SET DateStyle = 'ISO'; SET statement_timeout = '20s'; "             \
	"PREPARE payout_claim(integer, integer) AS SELECT * FROM payout_claim($1, $2); "           \
	"PREPARE payout_record(bigint, integer, text, integer, text, integer, integer) AS "        \
	"  SELECT payout_record($1, $2, $3, $4, $5, $6, $7); "                                     \
	"PREPARE payouts_return(integer) AS SELECT payouts_return($1); "                           \
	"PREPARE payout_query_claim(integer, integer, integer) AS "                                \
	"  SELECT * FROM payout_query_claim($1, $2, $3); "                                         \
	"PREPARE payout_query_record(bigint, integer, text, integer, text) AS "                    \
	"  SELECT payout_query_record($1, $2, $3, $4, $5); "                                       \
	"PREPARE payouts_open AS SELECT * FROM payouts_open()"

/*
 * The console's members and counterfeit reads and the export jobs
 * (server/handlers/insights.c, export_jobs.c; sql/022_insights.sql): the
 * range defaults to the last 30 days (insights_range), ?brand= narrows the
 * identity's brands (insights_brands).
 */
#define STATEMENTS_INSIGHTS                                                                        \
	"PREPARE analytics_members(date, date, bigint[], text) AS "                                \
	"  SELECT analytics_members(r.f, r.t, insights_brands($3, $4)) "                           \
	"    FROM insights_range($1, $2) r; "                                                      \
	"PREPARE analytics_not_genuine(date, date, bigint[], text) AS "                            \
	"  SELECT analytics_not_genuine(r.f, r.t, insights_brands($3, $4)) "                       \
	"    FROM insights_range($1, $2) r; "                                                      \
	"PREPARE admin_member_search(bytea, bigint[], text) AS "                                   \
	"  SELECT * FROM admin_member_search($1, insights_brands($2, $3)); "                       \
	"PREPARE admin_member_timeline(text, bytea, integer, bigint[], text) AS "                  \
	"  SELECT admin_member_timeline($1, $2, $3, insights_brands($4, $5)); "                    \
	"PREPARE admin_export_job_add(bigint, inet, text, text, timestamptz, timestamptz, "        \
	"  boolean) AS SELECT * FROM admin_export_job_add($1, $2, $3, $4, $5, $6, $7); "           \
	"PREPARE admin_export_jobs(bigint[]) AS SELECT admin_export_jobs($1); "                    \
	"PREPARE admin_export_job(bigint, bigint[]) AS SELECT admin_export_job($1, $2); "          \
	"PREPARE admin_export_job_download(bigint, inet, bigint) AS "                              \
	"  SELECT * FROM admin_export_job_download($1, $2, $3)"

/*
 * The points mall (server/handlers/mall.c, sql/027_mall.sql): a member's
 * order and cancel take the member (the session's), an admin change the
 * identity and the client first; reads take the identity's brands (NULL:
 * every brand). Addresses travel sealed (bytea) with their masked copy.
 */
#define STATEMENTS_MALL                                                                            \
	"PREPARE mall_public(text) AS SELECT mall_public($1); "                                    \
	"PREPARE mall_balance(text) AS SELECT balance FROM members WHERE member = $1; "            \
	"PREPARE mall_orders_of(text, bigint, integer) AS "                                        \
	"  SELECT * FROM mall_orders_of($1, $2, $3); "                                             \
	"PREPARE mall_order(text, text, bigint, bytea, bytea, jsonb, inet) AS "                    \
	"  SELECT * FROM mall_order($1, $2, $3, $4, $5, $6, $7); "                                 \
	"PREPARE mall_order_cancel(text, bigint, inet) AS "                                        \
	"  SELECT * FROM mall_order_cancel($1, $2, $3); "                                          \
	"PREPARE admin_mall_rewards(bigint[]) AS SELECT admin_mall_rewards($1); "                  \
	"PREPARE admin_mall_reward_create(bigint, inet, jsonb) AS "                                \
	"  SELECT * FROM admin_mall_reward_create($1, $2, $3); "                                   \
	"PREPARE admin_mall_reward_update(bigint, inet, bigint, jsonb) AS "                        \
	"  SELECT * FROM admin_mall_reward_update($1, $2, $3, $4); "                               \
	"PREPARE admin_mall_orders(bigint[], text, bigint, integer) AS "                           \
	"  SELECT * FROM admin_mall_orders($1, $2, $3, $4); "                                      \
	"PREPARE admin_mall_order_act(bigint, inet, bigint, text) AS "                             \
	"  SELECT * FROM admin_mall_order_act($1, $2, $3, $4); "                                   \
	"PREPARE admin_mall_pii_read(bigint, inet, bigint[]) AS "                                  \
	"  SELECT admin_mall_pii_read($1, $2, $3)"

/*
 * The export jobs' runner (engine/jobs.c, its own thread): both its
 * connections; a job's COPY runs as long as it needs (no statement timeout).
 */
#define STATEMENTS_JOBS_SETUP                                                                      \
	"SET TimeZone = 'UTC'; SET DateStyle = 'ISO'; SET statement_timeout = 0; "                 \
	"SELECT packcode_session(); "                                                              \
	"PREPARE export_job_take AS SELECT * FROM export_job_take(); "                             \
	"PREPARE export_job_progress(bigint, bigint, bigint) AS "                                  \
	"  SELECT export_job_progress($1, $2, $3); "                                               \
	"PREPARE export_job_finish(bigint, text, bigint, text, text) AS "                          \
	"  SELECT export_job_finish($1, $2, $3, $4, $5)"

/*
 * Members signing in and their own data (server/handlers/auth.c, member.c;
 * sql/011_members.sql). Identities travel as keyed hashes and sealed values
 * (lib/pii.h), never in clear.
 */
#define STATEMENTS_MEMBERS                                                                         \
	"PREPARE member_session_get(bytea) AS SELECT * FROM member_session_get($1); "              \
	"PREPARE sms_challenge_start(bytea, bytea, text, inet, integer, integer, integer, "        \
	"integer) AS SELECT * FROM sms_challenge_start($1, $2, $3, $4, $5, $6, $7, $8); "          \
	"PREPARE member_sign_in_sms(bytea, bytea, bytea, text, text, text, bytea, inet, text) AS " \
	"  SELECT * FROM member_sign_in_sms($1, $2, $3, $4, $5, $6, $7, $8, $9); "                 \
	"PREPARE member_link_sms(text, bytea, bytea, bytea, text, text, inet) AS "                 \
	"  SELECT * FROM member_link_sms($1, $2, $3, $4, $5, $6, $7); "                            \
	"PREPARE member_sign_in(text, bytea, bytea, text, text, text, bytea, inet, text) AS "      \
	"  SELECT outcome, member, created, expires_at, expires_unix "                             \
	"    FROM member_sign_in($1, $2, $3, $4, $5, $6, $7, $8, $9); "                            \
	"PREPARE member_resolve(text, bytea, bytea, text, text, text, text, inet) AS "             \
	"  SELECT * FROM member_resolve($1, $2, $3, $4, $5, $6, $7, $8); "                         \
	"PREPARE member_sign_out(bytea, inet) AS SELECT * FROM member_sign_out($1, $2); "          \
	"PREPARE member_identities_of(text) AS SELECT kind, masked, sealed, created_at, "          \
	"  verified_at FROM member_identities_of($1); "                                            \
	"PREPARE member_by_identity(bytea) AS SELECT * FROM member_by_identity($1); "              \
	"PREPARE member_consents_of(text) AS SELECT version, at FROM member_consents "             \
	"   WHERE member = $1 ORDER BY at; "                                                       \
	"PREPARE member_erase(text, text, inet) AS SELECT * FROM member_erase($1, $2, $3)"

/*
 * The admin API (server/admin.c): each change is one call of a function of
 * sql/004_admin_api.sql, which writes the change and its audit row in one
 * transaction; the first two parameters of a change are the identity (a
 * token's id, or a staff session's id negated: admin_identity() of
 * sql/008_staff.sql) and the client address. Keyset pages: a read asks for
 * one row more than it shows. The reads of sql/005_admin_reads.sql: the
 * suspicious codes and the stats. Every read takes the brand ids the
 * identity is limited to, NULL for every brand (sql/008_staff.sql).
 */
#define STATEMENTS_ADMIN                                                                           \
	"PREPARE admin_product_links(text, bigint[]) AS "                                          \
	"  SELECT p.gtin, 'gs1:' || l.link_type, l.href, l.title, l.hreflang, l.media_type, "      \
	"         to_char(l.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "     \
	"    FROM products p LEFT JOIN product_links l ON l.product_sku = p.sku "                  \
	"   WHERE p.sku = $1 AND brand_allowed($2, p.brand) ORDER BY l.link_type COLLATE \"C\", "  \
	"l.hreflang; "                                                                             \
	"PREPARE admin_product_link_set(bigint, inet, text, text, text, text, text, text) AS "     \
	"  SELECT * FROM admin_product_link_set($1, $2, $3, $4, $5, $6, $7, $8); "                 \
	"PREPARE admin_products(text, integer, bigint[]) AS "                                      \
	"  SELECT sku, gtin, name, brand, points, created_at FROM products "                       \
	"   WHERE sku > coalesce($1, '') AND brand_allowed($3, brand) ORDER BY sku LIMIT $2; "     \
	"PREPARE admin_product_add(bigint, inet, text, text, text, text, integer) AS "             \
	"  SELECT * FROM admin_product_add($1, $2, $3, $4, $5, $6, $7); "                          \
	"PREPARE admin_batches(bigint, text, integer, bigint[]) AS "                               \
	"  SELECT * FROM admin_batches($1, $2, $3, $4); "                                          \
	"PREPARE admin_batch(bigint, bigint[]) AS "                                                \
	"  SELECT * FROM admin_batches($1 + 1, NULL, 1, $2) WHERE id = $1; "                       \
	"PREPARE admin_batch_status(bigint, inet, bigint, text, text) AS "                         \
	"  SELECT * FROM admin_batch_status($1, $2, $3, $4, $5); "                                 \
	"PREPARE admin_adjust(bigint, inet, text, bigint, text) AS "                               \
	"  SELECT * FROM admin_adjust($1, $2, $3, $4, $5); "                                       \
	"PREPARE admin_spend(bigint, inet, text, text, bigint, text) AS "                          \
	"  SELECT * FROM admin_spend($1, $2, $3, $4, $5, $6); "                                    \
	"PREPARE admin_audit(bigint, integer, text) AS "                                           \
	"  SELECT id, at, actor, action, target, detail, host(client) FROM audit "                 \
	"   WHERE id < coalesce($1, 9223372036854775807) AND ($3::text IS NULL OR actor = $3) "    \
	"   ORDER BY id DESC LIMIT $2; "                                                           \
	"PREPARE admin_suspicious(integer, integer, bigint, integer, bigint[]) AS "                \
	"  SELECT * FROM admin_suspicious_codes($1, $2, $3, $4, $5); "                             \
	"PREPARE admin_stats(integer, bigint[]) AS SELECT admin_stats($1, $2); "                   \
	"PREPARE admin_pii_read(bigint, inet, text, integer) AS "                                  \
	"  SELECT audit_append(admin_actor($1), $2, 'member.pii_read', $3, "                       \
	"                      jsonb_build_object('members', $4)); "                               \
	"PREPARE admin_me_brands(bigint[]) AS "                                                    \
	"  SELECT id, name FROM brands WHERE $1::bigint[] IS NULL OR id = ANY ($1) ORDER BY "      \
	"name; " STATEMENTS_EXPORTS "; " STATEMENTS_ALERTS "; " STATEMENTS_STAFF                   \
	"; " STATEMENTS_EPCIS

/*
 * Exports (handlers/export.c, sql/016_alerts.sql): admin_export_begin
 * records the export and its audit row and returns the COPY ... TO STDOUT
 * to run on an export connection: the one statement of the server not in
 * this registry, written by export_sql() from checked values quoted with
 * format('%L') (COPY takes no parameters). export_finish records its end.
 */
#define STATEMENTS_EXPORTS                                                                         \
	"PREPARE admin_export_begin(bigint, inet, text, text, timestamptz, timestamptz, boolean) " \
	"AS SELECT * FROM admin_export_begin($1, $2, $3, $4, $5, $6, $7); "                        \
	"PREPARE export_finish(bigint, bigint, text) AS SELECT * FROM export_finish($1, $2, $3)"

/*
 * EPCIS events (handlers/events.c, sql/020_epcis.sql): admin_epcis_begin
 * checks the batch against the identity's brands and returns the COPY ...
 * TO STDOUT of the events (epcis_sql(), values quoted with format('%L'),
 * as export_sql()'s), to run on an export connection.
 */
#define STATEMENTS_EPCIS                                                                           \
	"PREPARE admin_epcis_begin(bigint, timestamptz, timestamptz, bigint, text) AS "            \
	"  SELECT * FROM admin_epcis_begin($1, $2, $3, $4, string_to_array($5, ','))"

/*
 * Alerts (handlers/alerts.c, sql/016_alerts.sql): rules and alerts of the
 * identity's brands; changes take the identity and the client first.
 */
#define STATEMENTS_ALERTS                                                                          \
	"PREPARE admin_alert_rules(bigint[]) AS SELECT * FROM admin_alert_rules($1); "             \
	"PREPARE admin_alert_rule_add(bigint, inet, text, integer, integer, text, text) AS "       \
	"  SELECT * FROM admin_alert_rule_add($1, $2, $3, $4, $5, $6, $7); "                       \
	"PREPARE admin_alert_rule_delete(bigint, inet, bigint) AS "                                \
	"  SELECT * FROM admin_alert_rule_delete($1, $2, $3); "                                    \
	"PREPARE admin_alerts(bigint, integer, boolean, bigint[]) AS "                             \
	"  SELECT * FROM admin_alerts($1, $2, $3, $4); "                                           \
	"PREPARE admin_alert_acknowledge(bigint, inet, bigint) AS "                                \
	"  SELECT * FROM admin_alert_acknowledge($1, $2, $3)"

/*
 * An export connection (one per --export-connections, per worker): a COPY
 * streams as long as its client reads, so no statement timeout (the
 * stream's own idle timeout, in the pool, stands for it).
 */
#define STATEMENTS_EXPORT_SETUP                                                                    \
	"SET TimeZone = 'UTC'; SET DateStyle = 'ISO'; SET statement_timeout = 0; "                 \
	"SELECT packcode_session()"

/*
 * The alert evaluator's connection (engine/alerts.c, the control thread);
 * on Citus, like the workers', one connection per node.
 */
#define STATEMENTS_ALERTS_SETUP                                                                    \
	"SET TimeZone = 'UTC'; SET statement_timeout = '60s'; SELECT packcode_session(); "         \
	"PREPARE alerts_evaluate AS SELECT alerts_evaluate()"

/*
 * The scans' privacy job's connection (engine/tidy.c, the control thread):
 * scans_tidy(address days, retention days) of sql/017_privacy.sql. The
 * first run after a long pause may truncate many rows: up to 10 minutes.
 */
#define STATEMENTS_TIDY_SETUP                                                                      \
	"SET TimeZone = 'UTC'; SET statement_timeout = '600s'; SELECT packcode_session(); "        \
	"PREPARE scans_tidy(integer, integer) AS SELECT * FROM scans_tidy($1, $2)"

/*
 * Staff sign-in and sign-out (server/handlers/staff.c, sql/008_staff.sql):
 * the account's password hash is read, checked off the loop, and the
 * outcome written (a session, or a failure counted towards the lock).
 */
#define STATEMENTS_STAFF                                                                           \
	"PREPARE staff_sign_in_get(text) AS SELECT * FROM staff_sign_in_get($1); "                 \
	"PREPARE staff_sign_in_finish(bigint, text, inet, boolean, text, bytea, bigint) AS "       \
	"  SELECT * FROM staff_sign_in_finish($1, $2, $3, $4, $5, $6, $7); "                       \
	"PREPARE staff_sign_out(bigint, inet) AS SELECT * FROM staff_sign_out($1, $2)"

/*
 * The admin API's webhook subscriptions (handlers/webhooks.c; the functions
 * of sql/009_webhooks.sql): changes take the identity and the client
 * address first, like the others; $4 of webhook_add is a text[] of event
 * types the handler has checked; reads take the identity's brands last
 * (NULL: every brand).
 */
#define STATEMENTS_ADMIN_WEBHOOKS                                                                  \
	"PREPARE admin_webhooks(bigint[]) AS SELECT * FROM admin_webhooks($1); "                   \
	"PREPARE admin_webhook_add(bigint, inet, text, text[], text) AS "                          \
	"  SELECT * FROM admin_webhook_add($1, $2, $3, $4, $5); "                                  \
	"PREPARE admin_webhook_delete(bigint, inet, bigint) AS "                                   \
	"  SELECT * FROM admin_webhook_delete($1, $2, $3); "                                       \
	"PREPARE admin_webhook_deliveries(bigint, bigint, text, integer, bigint[]) AS "            \
	"  SELECT * FROM admin_webhook_deliveries($1, $2, $3, $4, $5); "                           \
	"PREPARE admin_webhook_replay(bigint, inet, bigint, bigint) AS "                           \
	"  SELECT * FROM admin_webhook_replay($1, $2, $3, $4)"

/*
 * The supply chain's changes (handlers/supply.c; sql/013_supply.sql): the
 * identity and the client address first, like the others. Each returns its
 * outcome first; a forbidden brand is the outcome 'forbidden'.
 */
#define STATEMENTS_ADMIN_SUPPLY                                                                    \
	"PREPARE admin_batch_activate(bigint, inet, bigint, bigint, bigint, text) AS "             \
	"  SELECT * FROM admin_batch_activate($1, $2, $3, $4, $5, $6); "                           \
	"PREPARE admin_batch_expire(bigint, inet, bigint, text) AS "                               \
	"  SELECT * FROM admin_batch_expire($1, $2, $3, $4); "                                     \
	"PREPARE admin_code_state(bigint, inet, bigint, bigint, text, text) AS "                   \
	"  SELECT * FROM admin_code_state($1, $2, $3, $4, $5, $6); "                               \
	"PREPARE admin_supply_undo(bigint, inet, bigint, text) AS "                                \
	"  SELECT * FROM admin_supply_undo($1, $2, $3, $4); "                                      \
	"PREPARE api_packing(bigint, inet, text, text, jsonb) AS "                                 \
	"  SELECT status, body FROM api_packing($1, $2, $3, $4, $5)"

/*
 * Sign-in through a provider (handlers/oauth.c, sql/012_oauth.sql): a
 * flow's state hash, secrets and return path kept, then taken once.
 */
#define STATEMENTS_OAUTH                                                                           \
	"PREPARE oauth_state_put(bytea, text, text, text, text, text, boolean) AS "                \
	"  SELECT oauth_state_put($1, $2, $3, $4, $5, $6, $7); "                                   \
	"PREPARE oauth_state_take(bytea, text) AS SELECT * FROM oauth_state_take($1, $2); "        \
	"PREPARE member_identity_link(text, text, bytea, bytea, text, inet) AS "                   \
	"  SELECT * FROM member_identity_link($1, $2, $3, $4, $5, $6); "                           \
	"PREPARE admin_member_merge(bigint, inet, text, text) AS "                                 \
	"  SELECT * FROM admin_member_merge($1, $2, $3, $4)"

/*
 * The webhook dispatcher's own connection (engine/webhooks.c, one per
 * server, in the control thread): claim due deliveries, record attempts.
 */
#define STATEMENTS_WEBHOOKS_SETUP                                                                  \
	"SET TimeZone = 'UTC'; SET DateStyle = 'ISO'; SET statement_timeout = '20s'; "             \
	"PREPARE webhook_claim(integer, integer) AS SELECT * FROM webhook_claim($1, $2); "         \
	"PREPARE webhook_record(bigint[], bigint[], integer[], text[], integer[], integer[], "     \
	"  text[], integer[], integer) AS "                                                        \
	"  SELECT * FROM webhook_record($1, $2, $3, $4, $5, $6, $7, $8, $9)"

/*
 * The scan writer's own connection (one per worker), with its stage
 * (sql/015_scans.sql). Its commits wait for the disk like every other: a
 * flush the database acknowledged survives a crash of the database, and a
 * flush that failed is sent again (scanlog.c). Settings as above.
 */
#define STATEMENTS_SCAN_SETUP                                                                      \
	"SET TimeZone = 'UTC'; SET DateStyle = 'ISO'; SET statement_timeout = '120s'; "            \
	"SELECT packcode_session(); SELECT scan_writer_session()"

/*
 * The control thread's connection (engine/listen.c): LISTEN, and the caches'
 * loads; tokens' last_used_at goes out on it too. The two loads also run
 * once, blocking, at start-up.
 */
#define STATEMENT_CATALOG_LOAD                                                                     \
	"SELECT b.id, b.key_id, b.serial_first, b.serial_last, b.status, b.pin_required, "         \
	"b.factory, b.line, "                                                                      \
	"to_char(b.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "             \
	"p.sku, coalesce(p.gtin, ''), p.name, p.brand, p.points, "                                 \
	"b.inactive, coalesce(b.lot, ''), coalesce(to_char(b.expiry, 'YYYY-MM-DD'), ''), "         \
	"CASE WHEN b.inactive THEN coalesce((SELECT string_agg(a.serial_first || '-' || "          \
	"a.serial_last, ',' ORDER BY a.serial_first) FROM batch_activations a "                    \
	"WHERE a.batch_id = b.id), '') ELSE '' END "                                               \
	"FROM batches b JOIN products p ON p.sku = b.product_sku ORDER BY b.serial_first"
#define STATEMENT_TOKENS_LOAD                                                                      \
	"SELECT id, name, hash, array_to_string(scopes, ','), array_to_string(brand_ids, ','), "   \
	"NULL FROM admin_tokens WHERE revoked_at IS NULL"
/* a session's id negated: the identity admin_identity() takes */
#define STATEMENT_SESSIONS_LOAD                                                                    \
	"SELECT -s.id, st.name, s.hash, array_to_string(st.scopes, ','), "                         \
	"array_to_string(st.brand_ids, ','), floor(extract(epoch FROM s.expires_at))::bigint "     \
	"FROM staff_sessions s JOIN staff st ON st.id = s.staff_id "                               \
	"WHERE s.revoked_at IS NULL AND s.expires_at > now() AND st.disabled_at IS NULL"
/* the resolver's links (engine/links.c): products without a GTIN have no Digital Link */
#define STATEMENT_LINKS_LOAD                                                                       \
	"SELECT p.gtin, 'gs1:' || l.link_type, l.href, l.title, l.hreflang, l.media_type, p.name " \
	"FROM product_links l JOIN products p ON p.sku = l.product_sku "                           \
	"WHERE p.gtin IS NOT NULL ORDER BY p.gtin COLLATE \"C\", l.link_type COLLATE \"C\", "      \
	"l.hreflang"
/* the campaigns not ended (engine/campaigns.c), for the landing page's link */
#define STATEMENT_CAMPAIGNS_LOAD "SELECT * FROM campaigns_live()"
#define STATEMENTS_LISTEN_SETUP                                                                    \
	"SET TimeZone = 'UTC'; LISTEN packcode_catalog; "                                          \
	"PREPARE campaigns_load AS " STATEMENT_CAMPAIGNS_LOAD "; "                                 \
	"PREPARE links_load AS " STATEMENT_LINKS_LOAD "; "                                         \
	"PREPARE catalog_load AS " STATEMENT_CATALOG_LOAD "; "                                     \
	"PREPARE tokens_load AS " STATEMENT_TOKENS_LOAD "; "                                       \
	"PREPARE sessions_load AS " STATEMENT_SESSIONS_LOAD "; "                                   \
	"PREPARE tokens_used(bigint[], double precision[]) AS SELECT token_used($1, $2)"

/*
 * A flush: one simple query, so one transaction: the rows into the stage,
 * then scan_ingest() writes them, their summary and the roll-ups, or
 * nothing if their tag was written before.
 */
#define STATEMENTS_SCAN_COPY_STAGE                                                                 \
	"COPY scan_stage (tag, at, serial, code, kind, outcome, client, user_agent, member, "      \
	"scanner, country, subdivision, city) FROM STDIN"
#define STATEMENTS_SCAN_INGEST "SELECT scan_ingest()"
#define STATEMENTS_SCAN_COPY   STATEMENTS_SCAN_COPY_STAGE "; " STATEMENTS_SCAN_INGEST

/*
 * Referrals (server/handlers/referrals.c, sql/029_referrals.sql): the
 * member's code (made once: the server's random one the first time) and
 * counts; a referral recorded (explicitly, or noted after a sign-in or a
 * claim: recorded and settled at once); the staff's list, limited to the
 * identity's brands last (NULL: every brand).
 */
#define STATEMENTS_REFERRALS                                                                       \
	"PREPARE referral_code(text, text, inet, text) AS "                                        \
	"  SELECT referral_code($1, $2, $3, $4), referral_of($1); "                                \
	"PREPARE referral_record(text, text, text, inet, text, bigint) AS "                        \
	"  SELECT * FROM referral_record($1, $2, $3, $4, $5, $6); "                                \
	"PREPARE referral_note(text, text, text, inet, text, bigint) AS "                          \
	"  SELECT * FROM referral_note($1, $2, $3, $4, $5, $6); "                                  \
	"PREPARE admin_referrals(boolean, bigint, integer, bigint[]) AS "                          \
	"  SELECT admin_referrals($1, $2, $3, $4); "                                               \
	"PREPARE admin_referral_rules(bigint[]) AS SELECT admin_referral_rules($1); "              \
	"PREPARE admin_referral_rules_set(bigint, inet, text, integer, integer, integer, "         \
	"integer) "                                                                                \
	"  AS SELECT * FROM admin_referral_rules_set($1, $2, $3, $4, $5, $6, $7)"

/* The referrals' sweep (engine/referral_sweep.c): its own connection's setup. */
#define STATEMENTS_REFERRAL_SWEEP_SETUP                                                            \
	"SET TimeZone = 'UTC'; SET statement_timeout = '60s'; SELECT packcode_session(); "         \
	"PREPARE referral_settle_due(integer) AS SELECT referral_settle_due($1)"

#endif
