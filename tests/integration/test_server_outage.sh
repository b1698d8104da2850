#!/bin/bash
# test_server_outage.sh: PostgreSQL stops while clients claim. The server
# answers 503 quickly (no hang, no crash), /readyz fails, and when PostgreSQL
# is back the server reconnects by itself. Afterwards no claim is
# half-recorded and every claim acknowledged as awarded is in the database.
PC_TIMEOUT=180
. "$(dirname "$0")/harness.sh"
. "$(dirname "$0")/server_lib.sh"

setup
mint 60000
F=$FIRST
cp "$CODES" "$T/codes"
awk '{ printf "POST\t/api/v1/claims\tapplication/json\t{\"code\":\"%s\",\"member\":\"m%d\"}\n", $1, NR % 97 }' \
	"$T/codes" >"$T/load"
server_start --pool 4
# claims answered 503 so far
unavailable() { metric 'packcode_http_requests_total{route="claim",status="503"}'; }
unavailable_since() { local n; n=$(unavailable); [ $((${n:-0} - $1)) -ge "$2" ] || { echo "${n:-0} 503s"; return 1; }; }

SCANS0=$(sql "SELECT count(*) FROM scans")
"$LOADGEN" --port "$PORT" -c 32 -d 9 --cycle --out "$T/load.out" "$T/load" >"$T/load.txt" 2>&1 &
LOAD=$!
wait_until 10 "the load to be under way" scans_since "$SCANS0" 500
DOWN0=$(unavailable)
pg_stop fast
wait_until 5 "/readyz to answer 503 with PostgreSQL down" answers 503 GET /readyz
jq -e '.error == "unavailable"' "$T/body" >/dev/null || fail "readyz 503 body"
claim "$(code 59000)" someone
expect 503 "claim while PostgreSQL is down"
[ "$(field .error)" = unavailable ] || fail "503 body"
RA=$(claim_header Retry-After "$(code 59001)" x1)
[ "$RA" = 1 ] || fail "Retry-After on 503: '$RA'"
ok "PostgreSQL down: claims and /readyz answer 503 at once"
# the outage lasts until the load has met it: 503s beyond the two above
wait_until 10 "the load to get 503s while PostgreSQL is down" unavailable_since "${DOWN0:-0}" 12
pg_start_again
wait_until 10 "/readyz 200 again after PostgreSQL's return (a reconnect)" http_is 200 /readyz
ok "reconnected by itself after $((WAITED_MS / 1000)).$((WAITED_MS % 1000 / 100)) s"
wait $LOAD || true
echo "# $(cat "$T/load.txt")"
kill -0 "$SERVER_PID" || fail "the server died"
# normal service again: a second load, after the reconnect whatever the timing was
"$LOADGEN" --port "$PORT" -c 32 -d 3 --cycle --out "$T/load2.out" "$T/load" >"$T/load2.txt" 2>&1 ||
	fail "the load after the restart failed: $(cat "$T/load2.txt")"
echo "# $(cat "$T/load2.txt")"

awk -F'\t' '$2 != 200 && $2 != 503 { bad++ } END { exit bad > 0 }' "$T/load.out" ||
	fail "replies other than 200 and 503: $(awk -F'\t' '$2 != 200 && $2 != 503' "$T/load.out" | head -n 3)"
grep -q '	503	' "$T/load.out" || fail "no 503 during the outage"
MAX=$(sed -n 's/.*max_ms=\([0-9]*\).*/\1/p' "$T/load.txt")
[ "$MAX" -lt 5000 ] || fail "a request took ${MAX} ms: a hang"
# the load after the restart got through
grep -q '	200	' "$T/load2.out" || fail "no claims awarded after the restart"
awk -F'\t' '$2 != 200 { bad++ } END { exit bad > 0 }' "$T/load2.out" ||
	fail "replies other than 200 after the restart: $(awk -F'\t' '$2 != 200' "$T/load2.out" | head -n 3)"

# every acknowledged award is recorded, for the member it was given to
# (--cycle: a code may come round again, answered as a repeat for the same member)
awk -F'\t' -v first="$F" '$2 == 200 { printf "%d\tm%d\n", first + $1, ($1 + 1) % 97 }' \
	"$T/load.out" "$T/load2.out" >"$T/acked.tsv"
sql "CREATE TABLE acked (serial bigint, member text)"
psql "$PACKCODE_DB" -Xq -c "\\copy acked FROM '$T/acked.tsv'"
[ "$(sql "SELECT count(*) FROM acked")" -gt 0 ] || fail "nothing acknowledged"
[ "$(sql "SELECT count(*) FROM acked a LEFT JOIN redemptions r USING (serial)
          WHERE r.member IS DISTINCT FROM a.member")" = 0 ] || fail "an acknowledged claim is lost"
# nothing half-recorded: each redemption has its ledger row, balances are ledger sums
[ "$(sql "SELECT count(*) FROM redemptions r FULL JOIN ledger l USING (serial)
          WHERE r.serial IS NULL OR l.serial IS NULL OR r.member <> l.member")" = 0 ] ||
	fail "a redemption without its ledger row or the reverse"
[ "$(sql "SELECT count(*) FROM members m LEFT JOIN (SELECT member, sum(delta) s FROM ledger GROUP BY member) l
          USING (member) WHERE m.balance <> coalesce(l.s, 0)")" = 0 ] || fail "balance <> sum(ledger)"
ok "$(sql "SELECT count(*) FROM acked") acknowledged claims all recorded; none half-recorded"
server_stop
