#!/bin/bash
# test_server_concurrency.sh: exactly-once claims under concurrency.
# 1. 64 concurrent claims of one code by 64 members: one awarded, 63 "already
#    claimed". 2. A random workload of 10,000 claims over 1,000 codes and 200
#    members on 64 connections and two worker threads: every member's balance
#    equals the sum of their ledger equals points x codes awarded to them, and
#    every reply agrees with the database.
PC_TIMEOUT=180
. "$(dirname "$0")/harness.sh"
. "$(dirname "$0")/server_lib.sh"

setup
mint 1001
F=$FIRST
cp "$CODES" "$T/codes"
server_start --threads 2 --pool 6

ONE=$(head -n 1 "$T/codes")
for i in $(seq 1 64); do
	printf 'POST\t/api/v1/claims\tapplication/json\t{"code":"%s","member":"racer%d"}\n' "$ONE" "$i"
done >"$T/race"
"$LOADGEN" --port "$PORT" -c 64 --out "$T/race.out" "$T/race" >"$T/race.txt"
[ "$(cut -f2 "$T/race.out" | grep -c '^200$')" = 1 ] || fail "64 racers: $(cat "$T/race.txt")"
[ "$(cut -f2 "$T/race.out" | grep -c '^409$')" = 63 ] || fail "63 already claimed: $(cat "$T/race.txt")"
grep -q '"outcome":"already_claimed"' "$T/race.out" || fail "409 body"
WINNER=$(awk -F'\t' '$2 == 200 {print $1 + 1}' "$T/race.out")
[ "$(sql "SELECT member FROM redemptions WHERE serial = $F")" = "racer$WINNER" ] ||
	fail "the winner is the one recorded"
[ "$(sql "SELECT count(*) || ' ' || sum(balance) FROM members")" = "1 10" ] || fail "one balance"
ok "64 concurrent claims of one code: exactly one awarded, 63 already claimed"

# 10,000 claims: code i (serial F+i, 1..1000; the racers' code is F) by member j (1..200)
tail -n 1000 "$T/codes" >"$T/pool"
awk -v seed=42 -v first="$F" -v pairs="$T/pairs" 'BEGIN { srand(seed) }
	{ code[NR] = $1 }
	END {
		for (k = 0; k < 10000; k++) {
			i = int(rand() * 1000) + 1; j = int(rand() * 200) + 1
			printf "POST\t/api/v1/claims\tapplication/json\t{\"code\":\"%s\",\"member\":\"m%d\"}\n", code[i], j
			printf "%d\t%d\tm%d\n", k, first + i, j > pairs
		}
	}' "$T/pool" >"$T/load"
START=$(date +%s)
"$LOADGEN" --port "$PORT" -c 64 --out "$T/load.out" "$T/load" >"$T/load.txt" ||
	fail "load: $(cat "$T/load.txt")"
echo "# $(cat "$T/load.txt")"
[ $(($(date +%s) - START)) -lt 60 ] || fail "10,000 claims took a minute or more"
[ "$(wc -l <"$T/load.out")" = 10000 ] || fail "replies missing"
awk -F'\t' '$2 != 200 && $2 != 409 { bad++ } END { exit bad > 0 }' "$T/load.out" ||
	fail "a reply other than 200 or 409: $(awk -F'\t' '$2 != 200 && $2 != 409' "$T/load.out" | head -n 3)"

# balance = sum(ledger) = 10 x codes awarded, for every member
[ "$(sql "SELECT count(*) FROM members m
          LEFT JOIN (SELECT member, sum(delta) s, count(*) n FROM ledger GROUP BY member) l USING (member)
          LEFT JOIN (SELECT member, count(*) n FROM redemptions GROUP BY member) r USING (member)
          WHERE m.balance <> coalesce(l.s, 0) OR m.balance <> 10 * coalesce(r.n, 0)
             OR coalesce(l.n, 0) <> coalesce(r.n, 0)")" = 0 ] || fail "balance, ledger and redemptions disagree"
[ "$(sql "SELECT count(*) FROM members")" -gt 150 ] || fail "too few members awarded"

# every reply agrees with the database: a 200 went to the recorded owner, a 409 to anyone else,
# and there are as many first-time awards as redemptions
awk -F'\t' 'FNR == NR { serial[$1] = $2; member[$1] = $3; next }
	{ rep = ($3 ~ /"repeat":true/) ? "t" : "f"; print serial[$1] "\t" member[$1] "\t" $2 "\t" rep }' \
	"$T/pairs" "$T/load.out" >"$T/replies.tsv"
sql "CREATE TABLE replies (serial bigint, member text, status int, repeat boolean)"
psql "$PACKCODE_DB" -Xq -c "\\copy replies FROM '$T/replies.tsv'"
[ "$(sql "SELECT count(*) FROM replies p LEFT JOIN redemptions r USING (serial)
          WHERE (p.status = 200 AND p.member IS DISTINCT FROM r.member)
             OR (p.status = 409 AND p.member = r.member)")" = 0 ] ||
	fail "a reply disagrees with the recorded owner"
[ "$(sql "SELECT count(*) FROM replies WHERE status = 200 AND NOT repeat")" = \
  "$(sql "SELECT count(*) FROM redemptions WHERE serial > $F")" ] || fail "awards vs redemptions"
ok "10,000 random claims: balance = sum(ledger) = points x codes awarded; replies match the database"
server_stop
