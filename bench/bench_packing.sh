#!/bin/bash
# bench_packing.sh: cases and pallets (docs/supply-chain.md, "Packing"), each
# figure beside its reference measured in the same run on the same machine,
# against a throwaway PostgreSQL with the default durability:
#
#   packcode-gen pack load of 1,000,000 links from the packing line (960,000
#     items in 40,000 cases, the cases on 1,000 pallets; every code checked
#     by the keyring, the runs of consecutive children of one parent
#     COPYed into a stage, checked as one set and written as ~41,000 rows
#     of pack_runs: sql/034_pack_runs.sql) vs a bare COPY of the same file
#     into a table of two text columns (psql \copy: no check, no index);
#     goal >= 0.5
#   lookups/s of codes in activated pallets (minted inactive, packed,
#     released by 'pack activate' of their pallets: a few batch_activations
#     rows each) vs lookups/s of codes of a plain active batch; goal >= 0.9
#     (within 10%)
#
# Run by `make bench`. Knobs: BENCH_SECONDS (10 per lookup measurement),
# BENCH_THREADS (server threads, 2), BENCH_POOL (connections per thread, 4),
# BENCH_LINKS_ITEMS (960000). Exit status 1 if a goal is missed.
set -eu -o pipefail

B=$(cd "${top_builddir:-.}" && pwd)
SECONDS_EACH=${BENCH_SECONDS:-10}
THREADS=${BENCH_THREADS:-2}
POOL=${BENCH_POOL:-4}
CONNS=64
ITEMS=${BENCH_LINKS_ITEMS:-960000}
CASES=$((ITEMS / 24))
PALLETS=$(((CASES + 39) / 40))
PG_BINDIR=${PACKCODE_PG_BINDIR:-$(sed -n 's/^#define PG_BINDIR "\(.*\)"$/\1/p' "$B/config.h")}
export PATH="$PG_BINDIR:$PATH"
GEN=$B/codegen/packcode-gen
LOADGEN=$B/tests/loadgen
for p in "$GEN" "$B/server/packcode-server" "$LOADGEN"; do
	[ -x "$p" ] || { echo "bench_packing: $p is not built" >&2; exit 1; }
done
if [ "$(id -u)" = 0 ]; then
	as_pg() { runuser -u postgres -- "$@"; }
else
	as_pg() { "$@"; }
fi

W=$(mktemp -d "${TMPDIR:-/tmp}/pc-bench.XXXXXX")
chmod 755 "$W"
SERVER_PID=
cleanup() {
	set +e
	[ -n "$SERVER_PID" ] && kill -KILL "$SERVER_PID" 2>/dev/null
	wait 2>/dev/null
	[ -f "$W/pgdata/postmaster.pid" ] && as_pg pg_ctl -D "$W/pgdata" -m immediate -w stop >/dev/null 2>&1
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
say() { printf '%s\n' "$*" >&2; }
now() { date +%s.%N; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }

mkdir -m 700 "$W/pgdata" "$W/sock"
[ "$(id -u)" = 0 ] && chown postgres "$W/pgdata" "$W/sock"
as_pg initdb -D "$W/pgdata" -U packcode -E UTF8 --locale=C --auth-local=trust --auth-host=reject >/dev/null
as_pg pg_ctl -D "$W/pgdata" -l "$W/sock/pg.log" -w -o "-c listen_addresses='' \
	-c unix_socket_directories=$W/sock -c max_connections=60" start >/dev/null
psql -Xq -d "host=$W/sock dbname=postgres user=packcode" -c "CREATE DATABASE packcode"
export PACKCODE_DB="host=$W/sock dbname=packcode user=packcode"
export PACKCODE_HOME=$W/home PACKCODE_KEYRING=$W/home/keyring
mkdir "$W/home"
sql() { psql -XAtq -v ON_ERROR_STOP=1 -d "$PACKCODE_DB" -c "$1"; }
"$GEN" db migrate >/dev/null
"$GEN" keygen >/dev/null
"$GEN" product add --sku TEA --name "Green tea" --points 10 --gtin 06901234567892 --brand B >/dev/null
"$GEN" product add --sku CASE --name "Case of 24" --points 0 --gtin 16901234567899 --brand B >/dev/null
"$GEN" product set CASE --case >/dev/null

# ---- 1. the load ----
say "bench_packing: minting $ITEMS items, $CASES cases, $PALLETS pallets"
"$GEN" mint --product TEA --count "$ITEMS" --out "$W/items" --host pack.example --short --inactive -q
"$GEN" mint --product CASE --count "$CASES" --out "$W/cases" --host pack.example --short --inactive -q
"$GEN" pallet mint --brand B --count "$PALLETS" --prefix 0690123 >"$W/pallets"
tail -n +2 "$W/items/codes.csv" | cut -d, -f1 >"$W/items.txt"
tail -n +2 "$W/cases/codes.csv" | cut -d, -f1 >"$W/cases.txt"
awk -v cases="$W/cases.txt" -v pallets="$W/pallets" '
	BEGIN { while ((getline c < cases) > 0) case_[++nc] = c; while ((getline p < pallets) > 0) pal[++np] = p }
	{ printf "%s,%s\n", case_[int((NR - 1) / 24) + 1], $1 }
	END { for (i = 1; i <= nc; i++) printf "%s,%s\n", pal[int((i - 1) / 40) + 1], case_[i] }' \
	"$W/items.txt" >"$W/links.csv"
LINKS=$(wc -l <"$W/links.csv")
say "bench_packing: $LINKS links"
sql "CREATE TABLE bare (parent text, child text)"
sql "CHECKPOINT"
t0=$(now)
psql -Xq -d "$PACKCODE_DB" -c "\\copy bare FROM '$W/links.csv' WITH (FORMAT csv)"
t1=$(now)
BARE=$(awk -v n="$LINKS" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
sql "CHECKPOINT"
t0=$(now)
"$GEN" pack load "$W/links.csv" >/dev/null
t1=$(now)
LOAD=$(awk -v n="$LINKS" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
say "bench_packing: bare COPY $BARE links/s, pack load $LOAD links/s"
LOAD_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
[ "$(sql "SELECT count(*) FROM pack_links")" = "$LINKS" ] || { say "bench_packing: the load lost links"; exit 1; }
# for information: a bare COPY of the rows as stored (pack_runs' columns and indexes)
RUNS=$(sql "SELECT count(*) FROM pack_runs")
sql "CREATE TABLE bare_runs (LIKE pack_runs INCLUDING ALL)"
psql -Xq -d "$PACKCODE_DB" -c "\\copy (SELECT * FROM pack_runs) TO '$W/runs.tsv'"
sql "CHECKPOINT"
t0=$(now)
psql -Xq -d "$PACKCODE_DB" -c "\\copy bare_runs FROM '$W/runs.tsv'"
t1=$(now)
BARE2_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')

# ---- 2. lookups: codes in activated pallets vs a plain active batch ----
say "bench_packing: activating 100 pallets"
"$GEN" mint --product TEA --count 100000 --out "$W/plain" --host pack.example --short -q
t0=$(now)
for p in $(awk 'NR <= 100' "$W/pallets"); do "$GEN" pack activate "$p" >/dev/null; done
say "bench_packing: 100 pallets activated in $(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }') s"
ACTIVATIONS=$(sql "SELECT count(*) FROM batch_activations")
awk 'NR <= 96000 { printf "GET\t/api/v1/codes/%s\n", $1 }' "$W/items.txt" >"$W/pallet.req"
awk -F, 'NR > 1 && NR <= 96001 { printf "GET\t/api/v1/codes/%s\n", $1 }' "$W/plain/codes.csv" >"$W/plain.req"
LIMITS="--rate-lookups 1000000000/1000000000"
# shellcheck disable=SC2086
"$B/server/packcode-server" --listen 127.0.0.1:0 --threads "$THREADS" --pool "$POOL" $LIMITS >"$W/server.log" 2>&1 &
SERVER_PID=$!
i=0
until grep -q 'event=listening' "$W/server.log"; do
	i=$((i + 1))
	[ $i -gt 100 ] && { cat "$W/server.log" >&2; exit 1; }
	sleep 0.1
done
PORT=$(sed -n 's/.*addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$W/server.log")
until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/readyz")" = 200 ]; do sleep 0.1; done
check() { grep -q 'status_200=' <<<"$1" && ! grep -Eq 'status_(4|5)[0-9]{2}=' <<<"$1" || { say "bench_packing: $2: $1"; exit 1; }; }
rate() { sed -n 's/.*rate=\([0-9.]*\).*/\1/p'; }
"$LOADGEN" --port "$PORT" -c $CONNS -n 50000 "$W/plain.req" >/dev/null
"$LOADGEN" --port "$PORT" -c $CONNS -n 50000 "$W/pallet.req" >/dev/null
best_plain=0 best_pallet=0
for _ in 1 2; do # alternated, best of two each
	out=$("$LOADGEN" --port "$PORT" -c $CONNS -d "$SECONDS_EACH" --cycle "$W/plain.req")
	check "$out" "plain lookups"
	r=$(rate <<<"$out")
	if ge "$r" "$best_plain"; then best_plain=$r; fi
	out=$("$LOADGEN" --port "$PORT" -c $CONNS -d "$SECONDS_EACH" --cycle "$W/pallet.req")
	check "$out" "pallet lookups"
	r=$(rate <<<"$out")
	if ge "$r" "$best_pallet"; then best_pallet=$r; fi
done

r1=$(ratio "$LOAD" "$BARE")
r2=$(ratio "$best_pallet" "$best_plain")
echo "CPU: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1) ($(nproc) cores)"
printf '%-44s %10s %12s %8s  %s\n' "measurement" "per second" "reference" "ratio" "goal"
printf '%-44s %10.0f %12.0f %8s  %s\n' "pack load, $LINKS links ($LOAD_S s)" "$LOAD" "$BARE" "$r1" ">= 0.5 (bare psql \\copy of the file, 2 text columns)"
printf '%-44s %10s %12s %8s  %s\n' "COPY of the $RUNS rows stored ($BARE2_S s)" "" "" "" "(for information: pack_runs' shape, 2 indexes, no checks)"
printf '%-44s %10.0f %12.0f %8s  %s\n' "lookups in activated pallets ($ACTIVATIONS ranges)" "$best_pallet" "$best_plain" "$r2" ">= 0.9 (lookups of a plain active batch)"
fails=
ge "$r1" 0.5 || fails="$fails pack-load"
ge "$r2" 0.9 || fails="$fails pallet-lookups"
if [ -n "$fails" ]; then
	echo "bench_packing: missed:$fails"
	exit 1
fi
