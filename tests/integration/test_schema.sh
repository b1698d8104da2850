#!/bin/bash
# test_schema.sh: the invariants sql/ puts in the database itself, checked in
# psql: the ledger is append-only, batches never overlap, allocate_batch from
# concurrent sessions never hands out a serial twice, a serial is redeemed once.
PC_TIMEOUT=180
. "$(dirname "$0")/harness.sh"

pcgen db migrate >/dev/null || fail "db migrate failed"
pc_psql "INSERT INTO products (sku, name, points) VALUES ('S1', 'Schema', 10)"

# refused SQL: psql fails and the message matches
refused() {
	local pattern=$1 sql=$2
	run pc_psql "$sql"
	[ "$rc" != 0 ] || fail "accepted: $sql"
	grep -Eq <<<"$err" "$pattern" || fail "'$sql' refused for another reason: $err"
}

# Ledger: append-only.
pc_psql "INSERT INTO members (member, balance) VALUES ('+15550000001', 10);
         INSERT INTO ledger (member, delta, balance_after, kind, serial) VALUES ('+15550000001', 10, 10, 'claim', 1)"
refused "the ledger is append-only: UPDATE refused" "UPDATE ledger SET delta = 1000"
refused "the ledger is append-only: DELETE refused" "DELETE FROM ledger"
refused "the ledger is append-only: TRUNCATE refused" "TRUNCATE ledger"
[ "$(pc_psql "SELECT count(*), sum(delta) FROM ledger")" = "1|10" ] || fail "the ledger changed"
refused "violates check constraint" "UPDATE members SET balance = -1"
note "ledger UPDATE, DELETE, TRUNCATE refused; balances never negative"

# Redemptions: a serial is claimed once.
pc_psql "INSERT INTO redemptions (serial, batch_id, member, points) VALUES (42, 1, '+15550000001', 10)"
refused "duplicate key value violates unique constraint \"redemptions_pkey\"" \
	"INSERT INTO redemptions (serial, batch_id, member, points) VALUES (42, 1, '+15550000002', 10)"

# Batches: ranges never overlap, whoever inserts them.
pc_psql "INSERT INTO batches (key_id, serial_first, serial_last, product_sku) VALUES (1, 100000, 100099, 'S1')"
for range in "100050 100149" "99950 100000" "100099 100099" "100010 100020" "1 1099511627775"; do
	set -- $range
	refused "conflicting key value violates exclusion constraint" \
		"INSERT INTO batches (key_id, serial_first, serial_last, product_sku) VALUES (2, $1, $2, 'S1')"
done
pc_psql "INSERT INTO batches (key_id, serial_first, serial_last, product_sku) VALUES (1, 100100, 100100, 'S1')"
refused "conflicting key value violates exclusion constraint" \
	"UPDATE batches SET serial_last = 100100 WHERE serial_first = 100000"
note "overlapping batch ranges refused (insert and update)"
pc_psql "DELETE FROM batches"

# allocate_batch: two sessions, each 60 allocations in its own transaction, at once.
for s in 1 2; do
	for i in $(seq 1 60); do
		echo "SELECT id FROM allocate_batch('S1', $((s * 7 + i)), ${s}::smallint, 'f', 'l', NULL, false);"
	done >"$PC_TMP/alloc$s.sql"
	timeout --foreground 90 psql -X -q -At -v ON_ERROR_STOP=1 -d "$PACKCODE_DB" -f "$PC_TMP/alloc$s.sql" \
		>"$PC_TMP/alloc$s.out" 2>"$PC_TMP/alloc$s.err" &
	eval "apid$s=$!"
done
# and a third that holds the allocator row while the others queue behind it
run pc_psql "BEGIN; SELECT id FROM allocate_batch('S1', 1000, 3::smallint, '', '', NULL, false);
             SELECT pg_sleep(1); COMMIT;"
[ "$rc" = 0 ] || fail "the slow allocation failed: $err"
for s in 1 2; do
	eval "wait \$apid$s" || fail "allocation session $s failed: $(cat "$PC_TMP/alloc$s.err")"
done
total=$(( $(seq 1 60 | awk '{ s += 7 + $1 + 14 + $1 } END { print s }') + 1000 ))
[ "$(pc_psql "SELECT count(*), sum(serial_last - serial_first + 1) FROM batches")" = "121|$total" ] ||
	fail "concurrent allocate_batch did not make 121 batches of $total serials"
[ "$(pc_psql "SELECT count(*) FROM batches a JOIN batches b ON a.id < b.id
              AND int8range(a.serial_first, a.serial_last, '[]') && int8range(b.serial_first, b.serial_last, '[]')")" = 0 ] ||
	fail "concurrent allocations overlap"
# contiguous from 1: no serial lost, none given twice
[ "$(pc_psql "SELECT min(serial_first), max(serial_last) FROM batches")" = "1|$total" ] ||
	fail "allocations are not contiguous from 1 to $total"
[ "$(pc_psql "SELECT next_serial FROM serial_allocator")" = $((total + 1)) ] || fail "serial_allocator is off"
note "121 concurrent allocations: no overlap, no gap"

# allocate_batch refuses nonsense.
refused "count must be at least 1" "SELECT * FROM allocate_batch('S1', 0, 1::smallint, '', '', NULL, false)"
refused "serial space exhausted" "SELECT * FROM allocate_batch('S1', 1099511627000, 1::smallint, '', '', NULL, false)"
refused "violates foreign key constraint" "SELECT * FROM allocate_batch('NOPE', 1, 1::smallint, '', '', NULL, false)"
[ "$(pc_psql "SELECT next_serial FROM serial_allocator")" = $((total + 1)) ] || fail "a refused allocation moved the allocator"

# The supply chain (013_supply.sql): states and lots within their rules, a
# lot or an expiry only for a product with a GTIN, GS1 dates, one row per
# activation whatever its size.
refused "violates check constraint" "INSERT INTO code_states VALUES (7, 1, 'lost', now(), 1)"
refused "violates check constraint" "UPDATE batches SET lot = 'A B'"
refused "violates check constraint" "UPDATE batches SET status = 'sold'"
refused "has no GTIN" "SELECT * FROM batch_create('t', NULL, 'S1', 5, 1::smallint, '', '', NULL, false, NULL, 'L1', NULL)"
refused "an expiry is YYMMDD" "SELECT gs1_date('2026-01-01')"
refused "no such day" "SELECT gs1_date('260230')"
[ "$(pc_psql "SELECT gs1_date('260200') || ' ' || gs1_date('991231') || ' ' || gs1_date('451231')")" = \
	"2026-02-28 1999-12-31 2045-12-31" ] || fail "gs1_date: day 00, the sliding century"
b=$(pc_psql "SELECT id FROM batch_create('t', NULL, 'S1', 1000000, 1::smallint, '', '', NULL, false, true, NULL, NULL)")
[ "$(pc_psql "SELECT outcome FROM batch_activate('t', NULL, $b, NULL, NULL, 'all')")" = activated ] ||
	fail "activating a million codes"
[ "$(pc_psql "SELECT count(*) FROM batch_activations WHERE batch_id = $b")" = 1 ] || fail "one row per activation"
[ "$(pc_psql "SELECT outcome FROM batch_activate('t', NULL, $b, 0, 5, NULL)")" = bad_range ] || fail "seq 0"
note "supply chain: states, lots and dates checked; a million codes activated in one row"
# 012_oauth.sql: a flow's state is taken once and not after it expired; the
# ledger takes kind 'merge'; a member is merged into another only once.
h="'\\x$(printf '%064d' 1)'::bytea"
pc_psql "SELECT oauth_state_put($h, 'oidc', repeat('v', 43), 'n', '/c/X', NULL, false)" >/dev/null
[ "$(pc_psql "SELECT return_to FROM oauth_state_take($h, 'wechat')")" = "" ] || fail "a state taken by another provider"
[ "$(pc_psql "SELECT return_to FROM oauth_state_take($h, 'oidc')")" = "/c/X" ] || fail "a state not taken"
[ "$(pc_psql "SELECT count(*) FROM oauth_state_take($h, 'oidc')")" = 0 ] || fail "a state taken twice"
pc_psql "INSERT INTO oauth_states (state_hash, provider, return_to, expires_at) VALUES ($h, 'wechat', '/', now() - interval '1 second')"
[ "$(pc_psql "SELECT count(*) FROM oauth_state_take($h, 'wechat')")" = 0 ] || fail "an expired state taken"
refused "oauth_states_return_to_check" "SELECT oauth_state_put($h, 'oidc', NULL, NULL, '//evil.example', NULL, false)"
pc_psql "SELECT member_adjust('t', NULL, 'mA', 5, 'x'); SELECT member_adjust('t', NULL, 'mB', 7, 'x')" >/dev/null
totals="SELECT b.s, l.s FROM (SELECT sum(balance) s FROM members) b, (SELECT sum(delta) s FROM ledger) l"
before=$(pc_psql "$totals")
[ "$(pc_psql "SELECT outcome, points, balance FROM member_merge('t', NULL, 'mA', 'mB')")" = "merged|7|12" ] ||
	fail "member_merge"
[ "$(pc_psql "SELECT outcome FROM member_merge('t', NULL, 'mA', 'mB')")" = already_merged ] || fail "merged twice"
[ "$(pc_psql "$totals")" = "$before" ] || fail "a merge changed the totals: $before, now $(pc_psql "$totals")"
[ "$(pc_psql "SELECT string_agg(member || ':' || balance, ' ' ORDER BY member) FROM members WHERE member IN ('mA', 'mB')")" = "mA:12 mB:0" ] ||
	fail "the balances after a merge"
note "oauth_states taken once, by its provider, not after expiry; member_merge: a transfer pair, once"
