#!/bin/bash
# test_fault_pg_restart.sh: PostgreSQL restarts under the server while
# clients claim, look codes up and open landing pages: `pg_ctl restart -m
# fast`, `-m immediate`, then a stop long enough to probe. The server never
# crashes or drops a connection, answers 503 (quickly: no hang) while the
# database is away, /readyz fails then recovers, its pools and the catalog's
# LISTEN connection reconnect by themselves, 200s resume within seconds, and
# afterwards every acknowledged claim is recorded and the ledger invariants
# hold. PostgreSQL runs with fsync=off (harness.sh); an immediate stop
# crash-recovers from its WAL, which the OS still has: nothing is lost.
PC_TIMEOUT=240
. "$(dirname "$0")/harness.sh"
. "$(dirname "$0")/server_lib.sh"
. "$(dirname "$0")/fault_lib.sh"

setup
mint 30000
F=$FIRST
cp "$CODES" "$T/codes"
awk -v first="$F" '{ printf "%s\t%d\n", $1, first + NR - 1 }' "$T/codes" >"$T/serials"
# claims of codes 1..20000, lookups of 20001..25000, landing pages of 25001..30000
awk 'NR <= 20000 { claim[NR] = $1 } NR > 20000 && NR <= 25000 { look[NR - 20000] = $1 }
	NR > 25000 { land[NR - 25000] = $1 }
	END {
		for (i = 1; i <= 20000; i++) {
			printf "POST\t/api/v1/claims\tapplication/json\t{\"code\":\"%s\",\"member\":\"m%d\"}\n", claim[i], i % 53
			k = (i % 5000) + 1
			if (i % 2) printf "GET\t/api/v1/codes/%s\n", look[k]
			else printf "GET\t/c/%s\n", land[k]
		}
	}' "$T/codes" >"$T/load"
server_start --threads 2 --pool 4
: >"$T/acked_codes"

# load PHASE SECONDS: clients in the background, 32 connections
load() {
	"$LOADGEN" --port "$PORT" -c 32 -d "$2" --cycle --out "$T/$1.out" "$T/load" >"$T/$1.txt" 2>&1 &
	LOAD=$!
}

# load_check PHASE: the load ran through the fault: no broken connection, no
# reply but 200 or 503 (no 500: a lost connection is "unavailable", not an
# error), no request over 3 s; the awards it saw are noted.
load_check() {
	local max
	wait $LOAD || fail "$1: the load saw broken connections: $(cat "$T/$1.txt")"
	echo "# $1: $(cat "$T/$1.txt")"
	awk -F'\t' '$2 != 200 && $2 != 503 { bad++ } END { exit bad > 0 }' "$T/$1.out" ||
		fail "$1: replies other than 200 and 503: $(awk -F'\t' '$2 != 200 && $2 != 503' "$T/$1.out" | head -n 3)"
	max=$(sed -n 's/.*max_ms=\([0-9]*\).*/\1/p' "$T/$1.txt")
	[ "$max" -lt 3000 ] || fail "$1: a request took $max ms: a hang"
	awk -F'\t' '$2 == 200 && $3 ~ /"outcome":"awarded"/ { print $3 }' "$T/$1.out" |
		jq -r '[.code, .member] | @tsv' >>"$T/acked_codes"
	kill -0 "$SERVER_PID" || fail "$1: the server died"
}

# service_check PHASE: after the fault, 2 s of the same load are served in
# full: every reply 200, claims awarded.
service_check() {
	"$LOADGEN" --port "$PORT" -c 32 -d 2 --cycle --out "$T/$1-after.out" "$T/load" \
		>"$T/$1-after.txt" 2>&1 || fail "$1, afterwards: $(cat "$T/$1-after.txt")"
	echo "# $1, afterwards: $(cat "$T/$1-after.txt")"
	awk -F'\t' '$2 != 200 { bad++ } END { exit bad > 0 }' "$T/$1-after.out" ||
		fail "$1, afterwards: replies other than 200: $(awk -F'\t' '$2 != 200' "$T/$1-after.out" | head -n 3)"
	awk -F'\t' '$3 ~ /"outcome":"awarded"/ { print $3 }' "$T/$1-after.out" |
		jq -r '[.code, .member] | @tsv' >"$T/after_codes"
	[ -s "$T/after_codes" ] || fail "$1, afterwards: no claim awarded"
	cat "$T/after_codes" >>"$T/acked_codes"
}

# back_in_service WHAT: after PostgreSQL is back, /readyz and a fresh claim
# answer 200 and every pool connection of every worker is up again, within
# 8 s (reconnection backs off 2 s at most; the rest is a loaded CI machine).
FRESH=30000
back_in_service() {
	local t0 t1 code pools
	t0=$(date +%s%N)
	within() { [ $(($(date +%s%N) - t0)) -lt 8000000000 ] || fail "$1: not back within 8 s"; }
	until [ "$(curl -s --max-time 2 -o /dev/null -w '%{http_code}' "$BASE/readyz")" = 200 ]; do
		within "$1: /readyz"
		sleep 0.1
	done
	code=$(sed -n "${FRESH}p" "$T/codes")
	FRESH=$((FRESH - 1))
	until claim "$code" fresh && [ "$STATUS" = 200 ]; do
		[ "$STATUS" = 503 ] || fail "$1: a claim after the restart: $STATUS $(cat "$T/body")"
		within "$1: claims"
		sleep 0.1
	done
	t1=$(date +%s%N)
	printf '%s\t%s\n' "$code" fresh >>"$T/acked_codes"
	until pools=$(curl -s --max-time 2 "$BASE/metrics" |
		sed -n 's/^packcode_pool_connections{state="\(configured\|connected\)"} //p' | uniq | wc -l) &&
		[ "$pools" = 1 ]; do
		within "$1: every pool connection"
		sleep 0.1
	done
	ok "$1: ready and claiming again $(((t1 - t0) / 1000000)) ms after PostgreSQL was back; all connections up after $((($(date +%s%N) - t0) / 1000000)) ms"
}

# 1. pg_ctl restart -m fast under load
load fast 10
sleep 2
as_pg timeout --foreground 60 pg_ctl -D "$PC_PGDATA" -m fast -w restart >/dev/null ||
	fail "pg_ctl restart -m fast failed"
back_in_service "restart -m fast"
load_check fast
service_check fast

# 2. pg_ctl restart -m immediate under load (PostgreSQL recovers from its WAL)
load immediate 10
sleep 2
as_pg timeout --foreground 60 pg_ctl -D "$PC_PGDATA" -m immediate -w restart >/dev/null ||
	fail "pg_ctl restart -m immediate failed"
back_in_service "restart -m immediate"
load_check immediate
service_check immediate

# 3. a longer outage, probed while PostgreSQL is down
load down 12
sleep 2
pg_stop immediate
i=0
until [ "$(curl -s --max-time 2 -o "$T/body" -w '%{http_code}' "$BASE/readyz")" = 503 ]; do
	i=$((i + 1))
	[ $i -gt 50 ] && fail "/readyz still 200 with PostgreSQL down"
	sleep 0.1
done
jq -e '.error == "unavailable"' "$T/body" >/dev/null || fail "readyz 503 body: $(cat "$T/body")"
req GET /healthz
expect 200 "healthz while PostgreSQL is down"
code=$(sed -n 2p "$T/codes")
for what in claim lookup landing; do
	case $what in
	claim) args=(-H 'Content-Type: application/json' -d "{\"code\":\"$(sed -n 29000p "$T/codes")\",\"member\":\"x\"}" "$BASE/api/v1/claims") ;;
	lookup) args=("$BASE/api/v1/codes/$(sed -n 20001p "$T/codes")") ;;
	landing) args=("$BASE/c/$(sed -n 25001p "$T/codes")") ;;
	esac
	out=$(curl -s --max-time 5 -o "$T/body" -D "$T/headers" -w '%{http_code} %{time_total}' "${args[@]}" || true)
	[ "${out% *}" = 503 ] || fail "$what while PostgreSQL is down: $out $(head -c 300 "$T/body")"
	awk -v t="${out#* }" 'BEGIN { exit !(t < 1.0) }' || fail "$what 503 took ${out#* } s"
	tr -d '\r' <"$T/headers" | grep -qi '^Retry-After: 1$' || fail "$what 503 without Retry-After: 1"
done
jq -e '.error == "unavailable"' "$T/body" >/dev/null 2>&1 && fail "the landing 503 should be a page"
grep -qi '<html' "$T/body" || fail "the landing 503 is not a page"
ok "PostgreSQL down: /readyz, claims, lookups and landing pages answer 503 at once; /healthz 200"
sleep 1
pg_start_again
back_in_service "stop -m immediate, start"
load_check down
service_check down
grep -q '	503	' "$T/down.out" || fail "no 503 in the load while PostgreSQL was down"

# the catalog's LISTEN connection reconnected too: a print run made now is served
mint 5
NEW=$(head -n 1 "$CODES")
i=0
until claim "$NEW" late && [ "$STATUS" = 200 ]; do
	i=$((i + 1))
	[ $i -gt 50 ] && fail "a batch minted after the restarts is not served: $STATUS $(cat "$T/body")"
	sleep 0.1
done
ok "the catalog follows new print runs after the restarts"
kill -0 "$SERVER_PID" || fail "the server died"

awk -F'\t' 'FNR == NR { serial[$1] = $2; next } { print serial[$1] "\t" $2 }' \
	"$T/serials" "$T/acked_codes" >"$T/acked.tsv"
acked_check "$T/acked.tsv" "after the restarts"
ledger_check "after the restarts"
ok "$(wc -l <"$T/acked.tsv") acknowledged awards recorded; balances = sum(ledger) = points x redemptions"
server_stop
