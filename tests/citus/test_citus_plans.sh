#!/bin/bash
# test_citus_plans.sh (make check-citus only): on Citus the hot statements run
# on one shard each, as docs/scaling.md says. In a session prepared with the
# server's own setup (server/statements.h, printed by statements_dump), with
# Citus logging every command it sends to a worker:
# - a lookup (the landing page's and the API's code_facts) of one code is
#   one command, on the shards of that code's serial (redemptions,
#   code_stats, code_scanners and code_states, co-located);
# - a claim is two halves: the redemption on the serial's shard, the member
#   and the ledger on the member's; when those are on two nodes the claim is
#   one transaction committed with two-phase commit (PREPARE, COMMIT PREPARED);
# - a member page (member_get) is one task on the member's shard (EXPLAIN);
# - an admin change of a member and its audit row are one 2PC transaction;
# - the scan writer's COPY and scan_summary use one connection per node.
# And the distribution itself: which tables are distributed by what, the
# append-only rule of ledger, spends and audit (privileges, as no trigger
# can be kept on a distributed table) against the role that owns them, and
# a second packcode-gen db distribute a no-op.
PC_TIMEOUT=180
. "$(dirname "$0")/../integration/harness.sh"
. "$(dirname "$0")/../integration/server_lib.sh"
[ -n "${PC_CITUS:-}" ] || skip "needs a Citus cluster (make check-citus)"
DUMP=$abs_top_builddir/tests/citus/statements_dump
[ -x "$DUMP" ] || fail "$DUMP is not built"

setup
mint 20
S=$FIRST
B=$BATCH

# ---- the distribution ----
# table:distribution column (- for a reference table):co-location group,
# the groups numbered in the order packcode_distribute() made them
got=$(sql "SELECT string_agg(t || ':' || col || ':' || dense_rank, ' ' ORDER BY t COLLATE \"C\")
           FROM (SELECT logicalrelid::text AS t,
                        coalesce(column_to_column_name(logicalrelid, partkey), '-') AS col,
                        dense_rank() OVER (ORDER BY colocationid)
                   FROM pg_dist_partition WHERE logicalrelid::text NOT LIKE 'scans\\_%') d")
want="audit:-:3 code_scanners:serial:1 code_states:serial:1 code_stats:serial:1 ledger:member:2"
want="$want mall_orders:member:2"
want="$want member_consents:member:2 member_identities:hash:5 member_merges:from_member:2"
want="$want member_sessions:hash:5 members:member:2"
want="$want pin_backoff:subject:4 pin_failures:serial:1 redemptions:serial:1"
want="$want referral_codes:-:3 referral_rules:-:3 referrals:referee:2 scans:serial:1"
want="$want sms_budgets:subject:6 sms_challenges:phone_hash:5 spends:member:2"
[ "$got" = "$want" ] || fail "distribution: $got"
[ "$(sql "SELECT count(*) FROM pg_dist_partition WHERE logicalrelid IN
          ('products'::regclass, 'batches'::regclass, 'serial_allocator'::regclass,
           'admin_tokens'::regclass, 'brands'::regclass, 'staff'::regclass,
           'staff_sessions'::regclass, 'reports'::regclass, 'campaigns'::regclass,
           'campaign_prizes'::regclass, 'campaign_claim_sets'::regclass, 'campaign_wins'::regclass,
           'mall_rewards'::regclass)")" = 0 ] || fail "a coordinator table was distributed"
got=$(sql "SELECT string_agg(t.tgname, ' ' ORDER BY t.tgname) FROM pg_trigger t
           JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal
            AND c.relnamespace = 'public'::regnamespace")
[ "$got" = "admin_tokens_changed batch_activations_changed batches_changed campaigns_changed product_links_changed products_changed staff_changed staff_sessions_changed webhook_deliveries_changed" ] ||
	fail "the coordinator tables' triggers: $got"
run pcgen db distribute
[ "$rc" = 0 ] && [ "$out" = "already distributed" ] || fail "a second distribute: $rc $out $err"
ok "distributed by serial and by member, co-located, pin_backoff by subject, identities, SMS codes and member sessions by hash, SMS budgets by subject; audit on every node; catalog, tokens, brands, staff and reports on the coordinator, their NOTIFY triggers kept"

# append-only: the tests' role owns ledger, spends and audit and is no
# superuser (citus_lib.sh): it may insert into them, not update, delete or
# truncate them
sql "INSERT INTO members VALUES ('append', 5)"
sql "INSERT INTO ledger (member, delta, balance_after, kind) VALUES ('append', 5, 5, 'adjust')"
[ "$(sql "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")" = f ] || fail "the tests' role is a superuser"
for t in ledger spends audit; do
	for q in "UPDATE $t SET created_at = now()" "DELETE FROM $t" "TRUNCATE $t"; do
		[ $t = audit ] && q=${q/created_at/at}
		run sql "$q"
		[ "$rc" != 0 ] && grep -q 'permission denied' <<<"$err" || fail "'$q' by the owner: $rc $err"
	done
done
ok "ledger, spends, audit: UPDATE, DELETE, TRUNCATE refused to their owner"

# ---- the hot statements, as the server prepares them ----
"$DUMP" >"$T/setup.sql"
# node (port) and shard of a distribution value
shard() { sql "SELECT get_shard_id_for_distribution_column('$1', $2)"; }
node() { sql "SELECT nodeport FROM pg_dist_shard_placement WHERE shardid = $1"; }
RS=$(shard redemptions "$S")
CS=$(shard code_stats "$S")
# a member whose shard is on the other node than the serial's: a two-node claim
for i in $(seq 1 50); do
	M=member$i
	MS=$(shard members "'$M'")
	[ "$(node "$MS")" != "$(node "$RS")" ] && break
done
LS=$(shard ledger "'$M'")
[ "$(node "$MS")" != "$(node "$RS")" ] || fail "no member on the other node"

# session: the server's setup, then each statement with Citus's remote commands logged
explain() {
	{
		cat "$T/setup.sql"
		echo "SET citus.log_remote_commands = on; SET client_min_messages = log;"
		echo "$1"
	} | timeout --foreground 60 psql -X -q -v ON_ERROR_STOP=1 -d "$PACKCODE_DB" >"$T/plan.out" 2>&1 ||
		fail "$1: $(cat "$T/plan.out")"
}
# the shard tables named by the commands sent to workers, one a line, sorted
shards() { grep -o 'issuing .*' "$T/plan.out" | grep -oE 'public\.[a-z_]+_[0-9]+' | sort -u; }
commands() { grep -c 'issuing ' "$T/plan.out"; }

explain "SHOW plan_cache_mode; SHOW citus.max_adaptive_executor_pool_size;"
[ "$(grep -cxE ' (auto|1)' "$T/plan.out")" = 2 ] || fail "the server's session settings: $(cat "$T/plan.out")"

explain "EXECUTE code_facts('{$S}', '{7}');"
CSC=$(shard code_scanners "$S")
CST=$(shard code_states "$S")
[ "$(shards)" = "$(printf 'public.code_scanners_%s\npublic.code_states_%s\npublic.code_stats_%s\npublic.redemptions_%s' "$CSC" "$CST" "$CS" "$RS")" ] ||
	fail "a lookup touched $(shards | tr '\n' ' ')"
[ "$(commands)" = 1 ] || fail "a lookup sent $(commands) commands: $(grep issuing "$T/plan.out")"
ok "a lookup (landing page, API) of one code: one command, on its serial's shards"

explain "EXECUTE claim_many('{$S}', '{$B}', '{$M}', '{0}', NULL, NULL);"
grep -q 'awarded' "$T/plan.out" || fail "the claim: $(cat "$T/plan.out")"
# (the code's supply-chain state is read on the serial's shard: code_states, co-located)
[ "$(shards)" = "$(printf 'public.code_states_%s\npublic.ledger_%s\npublic.members_%s\npublic.redemptions_%s' "$CST" "$LS" "$MS" "$RS")" ] ||
	fail "a claim touched $(shards | tr '\n' ' ')"
grep 'issuing INSERT INTO public.redemptions' "$T/plan.out" | grep -q "redemptions_$RS " ||
	fail "the redemption half is not on the serial's shard"
[ "$(grep -c 'issuing PREPARE TRANSACTION' "$T/plan.out")" = 2 ] &&
	[ "$(grep -c 'issuing COMMIT PREPARED' "$T/plan.out")" = 2 ] ||
	fail "a claim over two nodes is not one two-phase commit: $(grep issuing "$T/plan.out")"
ok "a claim: the redemption on its serial's shard, member and ledger on the member's; one 2PC transaction"

explain "EXPLAIN EXECUTE member_get('$M', 20, NULL);"
grep -q 'Task Count: 1$' "$T/plan.out" || fail "member page: $(cat "$T/plan.out")"
grep -qE "members_$MS |members_$MS\$" "$T/plan.out" && grep -q "ledger_$LS" "$T/plan.out" ||
	fail "member page not on the member's shard: $(cat "$T/plan.out")"
explain "EXECUTE member_get('$M', 20, NULL);"
[ "$(commands)" = 1 ] || fail "a member page sent $(commands) commands"
ok "a member page: one task, on the member's shard"

pcgen token add --name ops >/dev/null
TOKEN=$(sql "SELECT id FROM admin_tokens WHERE name = 'ops'")
explain "EXECUTE admin_adjust($TOKEN, NULL, '$M', 5, 'plans');"
grep -q 'adjusted' "$T/plan.out" || fail "the adjustment: $(cat "$T/plan.out")"
[ "$(grep -c 'issuing PREPARE TRANSACTION' "$T/plan.out")" = 2 ] &&
	[ "$(grep -c 'issuing COMMIT PREPARED' "$T/plan.out")" = 2 ] ||
	fail "an admin change and its audit row are not one two-phase commit: $(grep issuing "$T/plan.out")"
grep -q "issuing INSERT INTO public.members_$MS " "$T/plan.out" || fail "the adjustment is not on the member's shard"
ok "an admin change on a member's shard and its audit row (every node): one 2PC transaction"

# the scan writer: a flush of scans over 64 serials (most shards): COPY
# into its stage, then scan_ingest() (the rows into scans, scan_summary,
# the roll-ups on the coordinator), over one connection per node
day="$(date -u +%F) 00:00:00+00"
{
	echo "SET citus.log_remote_commands = on; SET client_min_messages = log;"
	"$DUMP" scan
	for i in $(seq 1 64); do
		printf 'plans-1\t%s\t%s\tC%s\tlookup\tgenuine\t\\N\t\\N\t\\N\t%s\tCN\tCN-ZJ\t\\N\n' \
			"$day" "$((S + i))" "$i" "$((i % 7))"
	done
	echo '\.'
	echo "SELECT scan_ingest(); COMMIT;"
} >"$T/scan.sql"
timeout --foreground 60 psql -X -q -v ON_ERROR_STOP=1 -d "$PACKCODE_DB" -f "$T/scan.sql" >"$T/plan.out" 2>&1 ||
	fail "scans: $(cat "$T/plan.out")"
[ "$(grep -c 'issuing COPY public.scans' "$T/plan.out")" -gt 2 ] || fail "the COPY: $(grep issuing "$T/plan.out")"
conns=$(grep -o 'on server .*connectionId: [0-9]*' "$T/plan.out" | sort -u | wc -l)
[ "$conns" = 2 ] || fail "the scan writer used $conns connections: $(grep -o 'on server .*' "$T/plan.out" | sort | uniq -c)"
[ "$(sql "SELECT count(*) FROM scans WHERE code LIKE 'C%'")" = 64 ] || fail "scans not written"
[ "$(sql "SELECT sum(scans) FROM scan_rollups")" = 64 ] || fail "the roll-ups of the flush: $(sql "SELECT sum(scans) FROM scan_rollups")"
ok "the scan writer: its flush to every shard, scan_summary and the roll-ups over one connection per node"

# the same through the server: 200s, not 500s
server_start
CODE=$(sed -n 2p "$CODES")
page "/c/$CODE"
[ "$STATUS" = 200 ] || fail "landing page: $STATUS"
req GET "/api/v1/codes/$CODE"
expect 200 lookup
claim "$CODE" "$M"
expect 200 claim
req GET "/api/v1/members/$M"
expect 200 "member page"
[ "$(field .balance)" = 25 ] || fail "balance: $(cat "$T/body")" # 10 + 5 adjusted + 10
server_stop
ok "landing page, lookup, claim and member page over HTTP"
