#!/bin/bash
# test_fault_kill.sh: packcode-server is killed with SIGKILL while 64 clients
# claim. After a restart: every claim a client saw acknowledged (200, with the
# code and member of its body) is a redemption of that member, no serial is
# recorded twice, every balance = sum(ledger) = points x redemptions, and the
# claims in flight when it died are either all there or not at all. Then the
# clients retry what was not acknowledged, which is always safe: each retry is
# awarded (or a repeat, if it had committed unacknowledged) or already claimed.
# PostgreSQL runs with fsync=off (harness.sh): only the server process dies
# here, PostgreSQL keeps what it committed.
PC_TIMEOUT=240
. "$(dirname "$0")/harness.sh"
. "$(dirname "$0")/server_lib.sh"
. "$(dirname "$0")/fault_lib.sh"

setup
N=20000
mint $N
F=$FIRST
cp "$CODES" "$T/codes"
# claim i: code i for member m(i%97); every 7th code is also wanted by
# m((i+1)%97) right after, so some replies are 409s and the race is real
awk -v first="$F" -v pairs="$T/pairs" '{
	k = NR - 1; m = "m" (NR % 97)
	printf "POST\t/api/v1/claims\tapplication/json\t{\"code\":\"%s\",\"member\":\"%s\"}\n", $1, m
	printf "%d\t%s\n", first + k, m > pairs
	if (NR % 7 == 0) {
		m = "m" ((NR + 1) % 97)
		printf "POST\t/api/v1/claims\tapplication/json\t{\"code\":\"%s\",\"member\":\"%s\"}\n", $1, m
		printf "%d\t%s\n", first + k, m > pairs
	}
}' "$T/codes" >"$T/load"
# code -> serial, for the replies' bodies
awk -v first="$F" '{ printf "%s\t%d\n", $1, first + NR - 1 }' "$T/codes" >"$T/serials"

server_start --threads 2 --pool 4
"$LOADGEN" --port "$PORT" -c 64 --out "$T/load.out" "$T/load" >"$T/load.txt" 2>&1 &
LOAD=$!
# kill it in the middle: once a few thousand claims have committed
committed_2000() {
	gone $LOAD && fail "the load finished before the kill: $(cat "$T/load.txt")"
	[ "$(sql "SELECT count(*) >= 2000 FROM redemptions")" = t ] || { tail -n 5 "$T/server.log"; return 1; }
}
wait_until 30 "2000 claims to commit" committed_2000
server_kill
cp "$T/server.log" "$T/server1.log"
wait $LOAD || true # it saw broken connections: exit status 1
echo "# before the kill and after: $(cat "$T/load.txt")"
[ "$(cut -f1 "$T/load.out" | sort | uniq -d | wc -l)" = 0 ] || fail "a request answered twice"

# what the clients saw: acknowledged awards (from the bodies), 409s, and the
# requests sent whose reply never came (in flight at the kill)
jq -r 'select(.outcome == "awarded") | [.code, .member] | @tsv' \
	< <(awk -F'\t' '$2 == 200 { print $3 }' "$T/load.out") >"$T/acked_codes"
awk -F'\t' 'FNR == NR { serial[$1] = $2; next } { print serial[$1] "\t" $2 }' \
	"$T/serials" "$T/acked_codes" >"$T/acked.tsv"
ACKED=$(wc -l <"$T/acked.tsv")
[ "$ACKED" = "$(awk -F'\t' '$2 == 200' "$T/load.out" | wc -l)" ] || fail "a 200 that is not an award"
[ "$ACKED" -ge 1000 ] || fail "only $ACKED claims acknowledged before the kill"
awk -F'\t' '$2 == 409 { print $1 }' "$T/load.out" >"$T/lost_lines"
INFLIGHT=$(awk -F'\t' '$2 == 0 && $3 == "connection error"' "$T/load.out" | wc -l)
UNSENT=$(awk -F'\t' '$2 == 0 && $3 == "not sent"' "$T/load.out" | wc -l)
awk -F'\t' '$2 != 0 && $2 != 200 && $2 != 409 { bad++ } END { exit bad > 0 }' "$T/load.out" ||
	fail "replies other than 200 and 409: $(awk -F'\t' '$2 != 0 && $2 != 200 && $2 != 409' "$T/load.out" | head -n 3)"
[ "$INFLIGHT" -ge 1 ] || fail "no claim was in flight at the kill: the test proved nothing"
NOTTRIED=$(($(wc -l <"$T/load") - $(wc -l <"$T/load.out")))
note "$ACKED awards acknowledged, $INFLIGHT claims in flight at the kill, $UNSENT not sent, $NOTTRIED not tried"

# ---- the database, before anything else touches it ----
acked_check "$T/acked.tsv" "after SIGKILL"
ledger_check "after SIGKILL"
# a 409 means another member holds the code
awk -F'\t' 'FNR == NR { pair[NR - 1] = $0; next } { print pair[$1] }' "$T/pairs" "$T/lost_lines" \
	>"$T/lost.tsv"
sql "CREATE TABLE lost (serial bigint, member text)"
psql "$PACKCODE_DB" -Xq -v ON_ERROR_STOP=1 -c "\\copy lost FROM '$T/lost.tsv'"
[ "$(sql "SELECT count(*) FROM lost l LEFT JOIN redemptions r USING (serial)
          WHERE r.member IS NULL OR r.member = l.member")" = 0 ] ||
	fail "a 409 for a code that is not someone else's"
ok "after SIGKILL: $ACKED acknowledged claims recorded; no serial twice; balances = sum(ledger) = points x redemptions; $(sql "SELECT count(*) FROM redemptions") redemptions, nothing half-written"

# ---- restart; the clients retry what they did not see acknowledged ----
server_start --threads 2 --pool 4
# everything not answered 200 or 409: lost in flight, refused, or not tried
awk -F'\t' 'FNR == NR { if ($2 == 200 || $2 == 409) done[$1] = 1; next }
	!((FNR - 1) in done) { print FNR - 1 }' "$T/load.out" "$T/load" >"$T/retry_lines"
awk -F'\t' 'FNR == NR { want[$1] = 1; next } (FNR - 1) in want' "$T/retry_lines" "$T/load" >"$T/retry"
"$LOADGEN" --port "$PORT" -c 64 --out "$T/retry.out" "$T/retry" >"$T/retry.txt" 2>&1 ||
	fail "retries: $(cat "$T/retry.txt")"
echo "# retries: $(cat "$T/retry.txt")"
awk -F'\t' '$2 != 200 && $2 != 409 { bad++ } END { exit bad > 0 }' "$T/retry.out" ||
	fail "a retry answered other than 200 or 409: $(awk -F'\t' '$2 != 200 && $2 != 409' "$T/retry.out" | head -n 3)"
# a claim that committed but was never acknowledged comes back as a repeat for the same member
REPEATS=$(grep -c '"repeat":true' "$T/retry.out" || true)
jq -r 'select(.outcome == "awarded") | [.code, .member] | @tsv' \
	< <(awk -F'\t' '$2 == 200 { print $3 }' "$T/retry.out") |
	awk -F'\t' 'FNR == NR { serial[$1] = $2; next } { print serial[$1] "\t" $2 }' "$T/serials" - \
		>>"$T/acked.tsv"
acked_check "$T/acked.tsv" "after the retries"
ledger_check "after the retries"
# every code of the run is claimed now, by one of the members who asked for it
[ "$(sql "SELECT count(*) FROM redemptions")" = $N ] || fail "not every code is claimed after the retries"
ok "retried after the restart: $(wc -l <"$T/retry") claims, $REPEATS of them had committed unacknowledged (repeat); all $N codes claimed once"
server_stop
