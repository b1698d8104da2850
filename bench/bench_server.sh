#!/bin/bash
# bench_server.sh: packcode-server's speed, each figure beside its reference
# measured in the same run on the same machine, against a throwaway
# PostgreSQL with the default durability (fsync on, synchronous commit):
#
#   claims/s over HTTP (64 connections, every claim a fresh genuine code, by
#     10,000 signed-in members: their session cookies and CSRF tokens)
#     vs pgbench running the same claim SQL (claim(), prepared, one
#     transaction per claim) with as many connections as the server's pool;
#     goal >= 1.0
#   the same claims by an integration (an admin token with the claims scope
#     naming the member: resolved through its identity), for comparison: the
#     sessions' claims/s are to be >= 0.9 of these
#   the same claims with two campaigns of the product's brand running (a
#     points multiplier and an instant win: sql/021_campaigns.sql, applied in
#     claim_many's transaction) vs the same claims with none; goal >= 0.8.
#     Measured as four loads in a row, none / campaigns / campaigns / none
#     (the campaigns ended for the last), each on fresh codes, and the
#     campaigns' two rates against the two rates without: every claim makes
#     the tables and the WAL since the last checkpoint bigger, so a rate
#     measured later is lower whatever it measures, and in this order that
#     drift falls on both sides alike (measured once each, one after the
#     other, the later load of the same claims without campaigns ran at
#     0.71-0.9 of the earlier one). Each of the four starts from a VACUUM
#     and a CHECKPOINT: a checkpoint forced by WAL volume (every minute or
#     so at these rates) or an autovacuum of members or redemptions inside
#     one 10 s load moved that load by 20-30%, whichever side it fell on
#   forged-code lookups/s vs a bare libevent responder (bench/bare_http)
#     returning a fixed 60-byte JSON; goal >= 0.8
#   genuine-code lookups/s vs pgbench doing the same primary-key lookups
#     (lookup_codes(), prepared); goal >= 0.8
#   landing pages/s for genuine codes and their p99 latency at 64
#     connections; goal p99 < 20 ms
#   lookups/s of codes minted inactive and released in 100 ranges
#     (docs/supply-chain.md: activated pallets) vs the genuine-code lookups
#     above; goal >= 0.9
#
# Run by `make bench`. Knobs: BENCH_SECONDS (10 per measurement),
# BENCH_THREADS (server threads, 2), BENCH_POOL (connections per thread, 4).
# Exit status 1 if a goal is missed.
set -eu -o pipefail

B=$(cd "${top_builddir:-.}" && pwd)
S=$(cd "${top_srcdir:-$B}" && pwd)
BENCH=bench_server
. "$S/bench/lib.sh"
bench_need "$GEN" "$B/server/packcode-server" "$LOADGEN" "$B/bench/bare_http" initdb pg_ctl pgbench psql

bench_workdir
trap bench_cleanup EXIT
trap 'exit 1' INT TERM

# ---- a throwaway PostgreSQL, default durability ----
bench_pg
export PACKCODE_HOME=$W/home PACKCODE_KEYRING=$W/home/keyring
mkdir "$W/home"
"$GEN" db migrate >/dev/null
"$GEN" keygen >/dev/null
"$GEN" product add --sku TEA --name "Green tea" --points 10 >/dev/null

# ---- codes ----
say "bench_server: minting codes"
mint() { # mint COUNT DIR: codes.csv in DIR; prints the first serial
	"$GEN" mint --product TEA --count "$1" --out "$2" --host pack.example --short -q
	sed -n 's/.*"serial_first": \([0-9]*\).*/\1/p' "$2/batch.json"
}
CLAIM_CODES=${BENCH_CLAIM_CODES:-400000}
mint "$CLAIM_CODES" "$W/claims" >/dev/null
mint "$CLAIM_CODES" "$W/claims_token" >/dev/null
for f in none_a camp_a camp_b none_b; do mint $((CLAIM_CODES / 2)) "$W/claims_$f" >/dev/null; done
LOOKUP_FIRST=$(mint 100000 "$W/lookups")
# minted inactive, then released in 100 ranges of 1,000 (one row each)
"$GEN" mint --product TEA --count 100000 --out "$W/released" --host pack.example --short --inactive -q
REL_BATCH=$(sed -n 's/.*"batch": \([0-9]*\).*/\1/p' "$W/released/batch.json")
# forged: well-formed codes signed by a key of another keyring, minted in another database
psql -Xq -d "host=$W/sock dbname=postgres user=packcode" -c "CREATE DATABASE other"
(
	export PACKCODE_DB="host=$W/sock dbname=other user=packcode" PACKCODE_KEYRING=$W/home/other
	"$GEN" keygen >/dev/null && "$GEN" db migrate >/dev/null &&
		"$GEN" product add --sku X --name X --points 1 >/dev/null &&
		"$GEN" mint --product X --count 100000 --out "$W/forged" --host pack.example --short -q
)
# the pgbench claims' serials: a batch of 50 million (one row: nothing else is written)
PGB_BATCH=$(sql "SELECT id FROM allocate_batch('TEA', 50000000, 1::smallint, '', '', NULL, false)")
PGB_FIRST=$(sql "SELECT serial_first FROM batches WHERE id = $PGB_BATCH")
sql "UPDATE batches SET status = 'active'"
[ "$(sql "SELECT count(*) FROM generate_series(0, 99) g,
             LATERAL batch_activate('bench', NULL, $REL_BATCH, g * 1000 + 1, g * 1000 + 1000, NULL) a
           WHERE a.outcome = 'activated'")" = 100 ] || { say "bench_server: activation failed"; exit 1; }

# 10,000 members signed in (m0 to m9999)
bench_sessions "$W/sessions" 10000
TOKEN=$("$GEN" token add --name bench-claims --scopes claims)
tail -n +2 "$W/claims/codes.csv" | cut -d, -f1 | bench_claims_req - "$W/sessions.hdr" >"$W/claims.req"
for f in none_a camp_a camp_b none_b; do
	tail -n +2 "$W/claims_$f/codes.csv" | cut -d, -f1 | bench_claims_req - "$W/sessions.hdr" >"$W/claims_$f.req"
done
tail -n +2 "$W/claims_token/codes.csv" | cut -d, -f1 | awk '{
	printf "POST\t/api/v1/claims\tapplication/json\t{\"code\":\"%s\",\"member\":\"m%d\"}\n", $1, (NR * 7919) % 10000 }' >"$W/claims_token.req"
tail -n +2 "$W/lookups/codes.csv" | cut -d, -f1 | awk '{ printf "GET\t/api/v1/codes/%s\n", $1 }' >"$W/lookups.req"
tail -n +2 "$W/lookups/codes.csv" | cut -d, -f1 | awk '{ printf "GET\t/c/%s\n", $1 }' >"$W/landing.req"
tail -n +2 "$W/forged/codes.csv" | cut -d, -f1 | awk '{ printf "GET\t/api/v1/codes/%s\n", $1 }' >"$W/forged.req"
tail -n +2 "$W/released/codes.csv" | cut -d, -f1 | awk '{ printf "GET\t/api/v1/codes/%s\n", $1 }' >"$W/released.req"
tail -n +2 "$W/released/codes.csv" | cut -d, -f1 | awk '{ printf "GET\t/c/%s\n", $1 }' >"$W/released_landing.req"
cat >"$W/claim.sql" <<EOF
\set s random($PGB_FIRST, $PGB_FIRST + 49999999)
\set m random(0, 9999)
SELECT * FROM claim(:s, $PGB_BATCH, 'm' || :m, 0::smallint);
EOF
cat >"$W/lookup.sql" <<EOF
\set s random($LOOKUP_FIRST, $LOOKUP_FIRST + 99999)
SELECT * FROM lookup_codes(ARRAY[:s]::bigint[]);
EOF

# ---- helpers (and lib.sh's) ----
pgb() { # pgb SCRIPT: pgbench tps, same connections and plan cache mode as the server's pool
	PGOPTIONS="-c plan_cache_mode=force_generic_plan" pgbench -h "$W/sock" -U packcode -n -M prepared -c "$DBCONNS" -j 2 -T "$SECONDS_EACH" \
		-f "$1" packcode 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}

start_server
say "bench_server: server threads=$THREADS pool=$POOL, $CONNS HTTP connections, $SECONDS_EACH s per measurement"
# warm up: the landing pages of the lookup codes (code_stats rows, caches)
"$LOADGEN" --port "$PORT" -c $CONNS -n 100000 "$W/landing.req" >/dev/null
"$LOADGEN" --port "$PORT" -c $CONNS -n 100000 "$W/released_landing.req" >/dev/null

# 1. claims
CLAIMS=$(load "$PORT" "$W/claims.req")
all_ok "claims" "$CLAIMS"
CLAIMED=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$CLAIMS")
[ "$CLAIMED" -lt "$CLAIM_CODES" ] || say "bench_server: warning: every minted code was used (BENCH_CLAIM_CODES)"
CLAIMS_TOKEN=$(LOADGEN_HEADER="Authorization: Bearer $TOKEN" load "$PORT" "$W/claims_token.req")
all_ok "claims by token" "$CLAIMS_TOKEN"
PGB_CLAIMS=$(pgb "$W/claim.sql")
# 1b. the same claims with two campaigns of TEA's brand (x2, and an instant
# win at 1%) against none: none, campaigns, campaigns, none (ended)
sql "VACUUM"; sql "CHECKPOINT"
NONE_A=$(load "$PORT" "$W/claims_none_a.req")
all_ok "claims without campaigns" "$NONE_A"
for c in '"multiplier": 2' '"prizes": [{"name": "Cup", "count": 10000000, "probability_ppm": 10000}]'; do
	[ "$(sql "SELECT outcome FROM campaign_create('bench', NULL, '{\"brand\": \"\", \"name\": \"bench\",
	      \"ends_at\": \"2999-01-01T00:00:00Z\", $c}'::jsonb,
	      decode(md5(random()::text) || md5(random()::text), 'hex'), NULL)")" = created ] ||
		{ say "bench_server: campaign: $c"; exit 1; }
done
sql "VACUUM"; sql "CHECKPOINT"
CAMP_A=$(load "$PORT" "$W/claims_camp_a.req")
all_ok "claims with campaigns" "$CAMP_A"
sql "VACUUM"; sql "CHECKPOINT"
CAMP_B=$(load "$PORT" "$W/claims_camp_b.req")
all_ok "claims with campaigns" "$CAMP_B"
WON=$(sql "SELECT count(*) FROM campaign_claims WHERE prize_tier IS NOT NULL")
[ "$(sql "SELECT count(*) FROM campaign_claims")" -gt 0 ] || { say "bench_server: no campaign applied"; exit 1; }
[ "$(sql "SELECT count(*) FROM campaigns c, LATERAL campaign_end('bench', NULL, c.id, NULL) e
           WHERE e.outcome = 'ended'")" = 2 ] || { say "bench_server: the campaigns did not end"; exit 1; }
sql "VACUUM"; sql "CHECKPOINT"
NONE_B=$(load "$PORT" "$W/claims_none_b.req")
all_ok "claims without campaigns (after)" "$NONE_B"
[ "$(sql "SELECT count(*) FROM campaign_claims WHERE claimed_at > (SELECT max(ended_at) FROM campaigns)")" = 0 ] ||
	{ say "bench_server: a campaign applied after it ended"; exit 1; }
TX=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '
	/^packcode_claim_transactions_total / { t = $2 } /^packcode_claim_transaction_claims_total / { c = $2 }
	END { if (t > 0) printf "%.1f", c / t }')

# 2. forged lookups vs a bare responder
FORGED=$(load "$PORT" "$W/forged.req" --cycle)
grep -q 'status_404=' <<<"$FORGED" && ! grep -Eq 'status_(200|5[0-9]{2})=' <<<"$FORGED" ||
	{ say "bench_server: forged lookups: $FORGED"; exit 1; }
"$B/bench/bare_http" "$THREADS" >"$W/bare.port" &
BARE_PID=$!
until grep -q port= "$W/bare.port"; do sleep 0.05; done
BARE=$(load "$(cut -d= -f2 "$W/bare.port")" "$W/forged.req" --cycle)
kill "$BARE_PID"
wait "$BARE_PID" 2>/dev/null || true
BARE_PID=

# 3. genuine lookups vs pgbench primary-key lookups
LOOKUPS=$(load "$PORT" "$W/lookups.req" --cycle)
all_ok "lookups" "$LOOKUPS"
PGB_LOOKUPS=$(pgb "$W/lookup.sql")
# 3b. the same lookups of codes released by range from an inactive batch
RELEASED=$(load "$PORT" "$W/released.req" --cycle)
all_ok "released lookups" "$RELEASED"

# 4. landing pages
LANDING=$(load "$PORT" "$W/landing.req" --cycle)
all_ok "landing pages" "$LANDING"

stop_server

r1=$(ratio "$(rate <<<"$CLAIMS")" "$PGB_CLAIMS")
r1b=$(ratio "$(rate <<<"$CLAIMS")" "$(rate <<<"$CLAIMS_TOKEN")")
CAMP_RATE=$(awk -v a="$(rate <<<"$CAMP_A")" -v b="$(rate <<<"$CAMP_B")" 'BEGIN { printf "%.1f", (a + b) / 2 }')
NONE_RATE=$(awk -v a="$(rate <<<"$NONE_A")" -v b="$(rate <<<"$NONE_B")" 'BEGIN { printf "%.1f", (a + b) / 2 }')
r1c=$(ratio "$CAMP_RATE" "$NONE_RATE")
r2=$(ratio "$(rate <<<"$FORGED")" "$(rate <<<"$BARE")")
r3=$(ratio "$(rate <<<"$LOOKUPS")" "$PGB_LOOKUPS")
l99=$(p99 <<<"$LANDING")
r5=$(ratio "$(rate <<<"$RELEASED")" "$(rate <<<"$LOOKUPS")")
fails=
ge "$r1" 1.0 || fails="$fails claims"
ge "$r1b" 0.9 || fails="$fails claims-with-sessions"
ge "$r1c" 0.8 || fails="$fails claims-with-campaigns"
ge "$r2" 0.8 || fails="$fails forged-lookups"
ge "$r3" 0.8 || fails="$fails genuine-lookups"
ge "$r5" 0.9 || fails="$fails released-lookups"
ge 20 "$l99" || fails="$fails landing-p99"

printf '%-44s %10s %12s %8s  %s\n' "measurement" "per second" "reference" "ratio" "goal"
printf '%-44s %10.0f %12.0f %8s  %s\n' "claims over HTTP (member sessions)" "$(rate <<<"$CLAIMS")" "$PGB_CLAIMS" "$r1" ">= 1.0 (pgbench, claim(), $DBCONNS conns)"
printf '%-44s %10.0f %12.0f %8s  %s\n' "claims with sessions vs by a claims token" "$(rate <<<"$CLAIMS")" "$(rate <<<"$CLAIMS_TOKEN")" "$r1b" ">= 0.9 (the same claims, an integration's token)"
printf '%-44s %10.0f %12.0f %8s  %s\n' "claims with two campaigns vs none" "$CAMP_RATE" "$NONE_RATE" "$r1c" ">= 0.8 (x2 and an instant win: $WON prizes won)"
printf '%-44s %10.0f %12.0f %8s  %s\n' "forged-code lookups" "$(rate <<<"$FORGED")" "$(rate <<<"$BARE")" "$r2" ">= 0.8 (bare libevent, 60-byte JSON)"
printf '%-44s %10.0f %12.0f %8s  %s\n' "genuine-code lookups" "$(rate <<<"$LOOKUPS")" "$PGB_LOOKUPS" "$r3" ">= 0.8 (pgbench, lookup_codes(), $DBCONNS conns)"
printf '%-44s %10.0f %12.0f %8s  %s\n' "lookups of released codes (inactive batch)" "$(rate <<<"$RELEASED")" "$(rate <<<"$LOOKUPS")" "$r5" ">= 0.9 (the genuine-code lookups above)"
printf '%-44s %10.0f %12s %8s  %s\n' "landing pages (genuine codes)" "$(rate <<<"$LANDING")" "p99 ${l99} ms" "" "p99 < 20 ms"
echo "claims per claim_many transaction (group commit): ${TX:-?}"
echo "claims/s in order, without / with campaigns / with / without: $(rate <<<"$NONE_A") / $(rate <<<"$CAMP_A") / $(rate <<<"$CAMP_B") / $(rate <<<"$NONE_B")"
echo "latency p50/p99 ms: claims $(sed -n 's/.*p50_ms=\([0-9.]*\).*p99_ms=\([0-9.]*\).*/\1\/\2/p' <<<"$CLAIMS"), forged $(sed -n 's/.*p50_ms=\([0-9.]*\).*p99_ms=\([0-9.]*\).*/\1\/\2/p' <<<"$FORGED"), lookups $(sed -n 's/.*p50_ms=\([0-9.]*\).*p99_ms=\([0-9.]*\).*/\1\/\2/p' <<<"$LOOKUPS"), landing $(sed -n 's/.*p50_ms=\([0-9.]*\).*p99_ms=\([0-9.]*\).*/\1\/\2/p' <<<"$LANDING")"
echo "machine: $(nproc) cores ($(cpu_model)), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
if [ -n "$fails" ]; then
	echo "bench_server: missed:$fails"
	exit 1
fi
