#!/bin/bash
# test_citus_worker_restart.sh (make check-citus only): a Citus worker
# crashes and restarts (pg_ctl restart -m immediate) while clients claim,
# look codes up and open landing pages. The coordinator stays up, so
# /readyz stays 200; what needs the lost worker answers 503 (unavailable,
# never 500), nothing hangs past the statement timeout, the server keeps
# running and serves everything again once the worker is back. A claim is
# one transaction over two shards, committed by Citus with two-phase commit:
# a claim acknowledged while the worker went down is committed there by
# Citus's recovery of prepared transactions (recover_prepared_transactions(),
# which its maintenance daemon runs every citus.recover_2pc_interval), and
# then every acknowledged claim is recorded, once, and the ledger invariants
# hold.
PC_TIMEOUT=240
. "$(dirname "$0")/../integration/harness.sh"
. "$(dirname "$0")/../integration/server_lib.sh"
. "$(dirname "$0")/../integration/fault_lib.sh"
[ -n "${PC_CITUS:-}" ] || skip "needs a Citus cluster (make check-citus)"

setup
mint 20000
F=$FIRST
cp "$CODES" "$T/codes"
awk -v first="$F" '{ printf "%s\t%d\n", $1, first + NR - 1 }' "$T/codes" >"$T/serials"
# claims of codes 1..15000 by 53 members, lookups of 15001..17500, landing pages of 17501..20000
awk 'NR <= 15000 { claim[NR] = $1 } NR > 15000 && NR <= 17500 { look[NR - 15000] = $1 }
	NR > 17500 { land[NR - 17500] = $1 }
	END {
		for (i = 1; i <= 15000; i++) {
			printf "POST\t/api/v1/claims\tapplication/json\t{\"code\":\"%s\",\"member\":\"m%d\"}\n", claim[i], i % 53
			k = (i % 2500) + 1
			if (i % 2) printf "GET\t/api/v1/codes/%s\n", look[k]
			else printf "GET\t/c/%s\n", land[k]
		}
	}' "$T/codes" >"$T/load"
server_start --threads 2 --pool 4

"$LOADGEN" --port "$PORT" -c 32 -d 12 --cycle --out "$T/load.out" "$T/load" >"$T/load.txt" 2>&1 &
LOAD=$!
sleep 3
as_pg timeout --foreground 60 pg_ctl -D "$CITUS_DIR/worker1" -m immediate -w restart >/dev/null ||
	fail "pg_ctl restart of worker1 failed"
# what the crash left prepared is settled now, as Citus's daemon would within a minute
citus_sql "$PC_PGPORT" "$PC_CITUS_DB" "SELECT recover_prepared_transactions()" >/dev/null ||
	fail "recover_prepared_transactions failed"
wait $LOAD || fail "the load saw broken connections: $(cat "$T/load.txt")"
echo "# $(cat "$T/load.txt")"
kill -0 "$SERVER_PID" || fail "the server died"
awk -F'\t' '$2 != 200 && $2 != 503 { bad++ } END { exit bad > 0 }' "$T/load.out" ||
	fail "replies other than 200 and 503: $(awk -F'\t' '$2 != 200 && $2 != 503' "$T/load.out" | head -n 3)"
max=$(sed -n 's/.*max_ms=\([0-9]*\).*/\1/p' "$T/load.txt")
[ "$max" -lt 11000 ] || fail "a request took $max ms: longer than the statement timeout"
req GET /readyz
expect 200 "readyz with the coordinator up"
ok "worker1 restarted under load: only 200 and 503, none over the statement timeout, the server up"

# served in full again: 2 s of the same load, every reply 200
"$LOADGEN" --port "$PORT" -c 32 -d 2 --cycle --out "$T/after.out" "$T/load" >"$T/after.txt" 2>&1 ||
	fail "the load after: $(cat "$T/after.txt")"
awk -F'\t' '$2 != 200 { bad++ } END { exit bad > 0 }' "$T/after.out" ||
	fail "after the restart: $(awk -F'\t' '$2 != 200' "$T/after.out" | head -n 3)"
ok "served in full once the worker is back"

# settle whatever is still prepared, then nothing is left in doubt on either worker
citus_sql "$PC_PGPORT" "$PC_CITUS_DB" "SELECT recover_prepared_transactions()" >/dev/null
for p in $CITUS_PORTS; do
	[ "$(citus_sql "$p" "$PC_CITUS_DB" "SELECT count(*) FROM pg_prepared_xacts")" = 0 ] ||
		fail "prepared transactions left on port $p"
done
awk -F'\t' '$2 == 200 && $3 ~ /"outcome":"awarded"/ { print $3 }' "$T/load.out" "$T/after.out" |
	jq -r '[.code, .member] | @tsv' >"$T/acked_codes"
awk -F'\t' 'FNR == NR { serial[$1] = $2; next } { print serial[$1] "\t" $2 }' \
	"$T/serials" "$T/acked_codes" >"$T/acked.tsv"
acked_check "$T/acked.tsv" "after the worker restart"
ledger_check "after the worker restart"
ok "$(wc -l <"$T/acked.tsv") acknowledged awards recorded once; balances = sum(ledger) = points x redemptions"
server_stop
