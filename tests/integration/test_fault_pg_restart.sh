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

# load PHASE SECONDS: clients in the background, 32 connections; returns
# once the load is under way (500 more requests answered by the server).
# Answered, not yet written as scans: after a restart the scan writer may
# still be writing what it kept through the outage (on Citus, seconds), and
# the next fault must come while the clients are running.
load() {
	local before
	before=$(answered_total)
	"$LOADGEN" --port "$PORT" -c 32 -d "$2" --cycle --out "$T/$1.out" "$T/load" >"$T/$1.txt" 2>&1 &
	LOAD=$!
	wait_until 10 "the $1 load to be under way" answered_since "$before" 500
}
answered_total() {
	curl -s --max-time 5 "$BASE/metrics" |
		awk '$1 ~ /^packcode_http_requests_total\{route="(claim|lookup|landing)",/ { n += $2 }
			END { print n + 0 }'
}
answered_since() { local n; n=$(answered_total); [ $((n - $1)) -ge "$2" ] || { echo "$((n - $1)) answered"; return 1; }; }

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
	local t0 t1 c
	t0=$(date +%s%N)
	# within WHAT COMMAND...: COMMAND succeeds within what is left of the 8 s
	within() {
		local left=$((8000 - ($(date +%s%N) - t0) / 1000000))
		[ $left -gt 0 ] || left=0
		wait_until "$((left / 1000)).$(printf '%03d' $((left % 1000)))" "$1 (8 s after PostgreSQL was back)" \
			"${@:2}"
	}
	within "$1: /readyz 200" http_is 200 /readyz
	c=$(code $FRESH)
	FRESH=$((FRESH - 1))
	within "$1: a claim awarded" claim_awarded "$c" "$1"
	t1=$(date +%s%N)
	printf '%s\t%s\n' "$c" fresh >>"$T/acked_codes"
	within "$1: every pool connection up" pools_up
	ok "$1: ready and claiming again $(((t1 - t0) / 1000000)) ms after PostgreSQL was back; all connections up after $((($(date +%s%N) - t0) / 1000000)) ms"
}
# claim_awarded CODE WHAT: a claim of CODE for member fresh is awarded (200);
# while PostgreSQL is on its way back it may be 503, nothing else.
claim_awarded() {
	claim "$1" fresh
	[ "$STATUS" = 200 ] && return 0
	[ "$STATUS" = 503 ] || fail "$2: a claim after the restart: $STATUS $(cat "$T/body")"
	echo "503"
	return 1
}
# pools_up: every configured pool connection is connected.
pools_up() {
	local pools
	pools=$(curl -s --max-time 2 "$BASE/metrics" |
		sed -n 's/^packcode_pool_connections{state="\(configured\|connected\)"} //p' | uniq | wc -l) &&
		[ "$pools" = 1 ]
}
# unavailable_total: the 503s answered so far to claims, lookups and landing pages.
unavailable_total() {
	curl -s --max-time 5 "$BASE/metrics" |
		awk '$1 ~ /^packcode_http_requests_total\{route="(claim|lookup|landing)",status="503"\}$/ { n += $2 }
			END { print n + 0 }'
}
unavailable_since() { local n; n=$(unavailable_total); [ $((n - $1)) -ge "$2" ] || { echo "$((n - $1)) 503s"; return 1; }; }

# 1. pg_ctl restart -m fast under load
load fast 10
pg_restart fast
back_in_service "restart -m fast"
load_check fast
service_check fast

# 2. pg_ctl restart -m immediate under load (PostgreSQL recovers from its WAL)
load immediate 10
pg_restart immediate
back_in_service "restart -m immediate"
load_check immediate
service_check immediate

# 3. a longer outage, probed while PostgreSQL is down
load down 12
DOWN0=$(unavailable_total)
pg_stop immediate
wait_until 5 "/readyz to answer 503 with PostgreSQL down" answers 503 GET /readyz
jq -e '.error == "unavailable"' "$T/body" >/dev/null || fail "readyz 503 body: $(cat "$T/body")"
req GET /healthz
expect 200 "healthz while PostgreSQL is down"
for what in claim lookup landing; do
	case $what in
	claim) args=(-H 'Content-Type: application/json' -H "Authorization: Bearer $(claims_token)" -d "{\"code\":\"$(code 29000)\",\"member\":\"x\"}" "$BASE/api/v1/claims") ;;
	lookup) args=("$BASE/api/v1/codes/$(code 20001)") ;;
	landing) args=("$BASE/c/$(code 25001)") ;;
	esac
	out=$(curl -s --max-time 5 -o "$T/body" -D "$T/headers" -w '%{http_code} %{time_total}' "${args[@]}" || true)
	[ "${out% *}" = 503 ] || fail "$what while PostgreSQL is down: $out $(head -c 300 "$T/body")"
	awk -v t="${out#* }" 'BEGIN { exit !(t < 1.0) }' || fail "$what 503 took ${out#* } s"
	tr -d '\r' <"$T/headers" | grep -qi '^Retry-After: 1$' || fail "$what 503 without Retry-After: 1"
done
jq -e '.error == "unavailable"' "$T/body" >/dev/null 2>&1 && fail "the landing 503 should be a page"
grep -qi '<html' "$T/body" || fail "the landing 503 is not a page"
ok "PostgreSQL down: /readyz, claims, lookups and landing pages answer 503 at once; /healthz 200"
# the outage lasts until the load has met it: 503s beyond the three above
wait_until 10 "the load to get 503s while PostgreSQL is down" unavailable_since "$DOWN0" 13
pg_start_again
back_in_service "stop -m immediate, start"
load_check down
service_check down
grep -q '	503	' "$T/down.out" || fail "no 503 in the load while PostgreSQL was down"

# the catalog's LISTEN connection reconnected too: a print run made now is served
mint 5
NEW=$(code 1 "$CODES")
wait_until 5 "a batch minted after the restarts to be served" answers 200 POST /api/v1/claims \
	application/json "$(jq -cn --arg c "$NEW" '{code: $c, member: "late"}')"
ok "the catalog follows new print runs after the restarts"
kill -0 "$SERVER_PID" || fail "the server died"

awk -F'\t' 'FNR == NR { serial[$1] = $2; next } { print serial[$1] "\t" $2 }' \
	"$T/serials" "$T/acked_codes" >"$T/acked.tsv"
acked_check "$T/acked.tsv" "after the restarts"
ledger_check "after the restarts"
ok "$(wc -l <"$T/acked.tsv") acknowledged awards recorded; balances = sum(ledger) = points x redemptions"
server_stop
