#!/bin/bash
# bench_scale.sh: `make bench-scale`, packcode-server as the database grows
# (issue 12, item 5). Not in CI nor in `make bench`: at the default sizes it
# needs about 30 GB of disk and hours.
#
# One throwaway PostgreSQL (default durability; shared_buffers 2 GB) is
# seeded set-based, in SQL, to each size of BENCH_SCALE_SIZES in turn
# (default "1000000 10000000 30000000" redemptions), growing from one to the
# next, and measured at each:
#
#   100 print runs over 6 products of 2 brands; redemptions spread over all
#   of them; members (one per 10 redemptions, the base growing with the
#   data), each redemption's ledger row with the balance after it, the
#   members' balances equal to their ledgers; code_stats and code_scanners
#   rows and 3 scans per redemption (landing page, lookup, claim), written
#   straight into their tables (the roll-ups are not: nothing measured here
#   reads them, and bench_rollups.sh measures them).
#
#   spread workload: codes of random serials across every print run (their
#   strings made by bench/serial_codes with the keyring); claims of
#   unclaimed codes of the old print runs by 10,000 members signed in, drawn
#   across the whole member base; lookups and landing pages of codes drawn
#   across every print run, about half of them claimed
#   fresh workload, as bench_server.sh: codes just minted; claims by
#   members m0 to m9999, lookups and landing pages of another fresh print run
#   COPY into scans: the scan writer's transaction (COPY into the stage,
#   scan_ingest()) of BENCH_COPY_ROWS rows (200,000) in flushes of 10,000
#   codes drawn across the seeded data; rows/s
#
# Goals, against the first size's figures in the same run (the reference):
# spread claims/s, lookups/s and landing pages/s >= 0.8x at a size up to 10
# times the first, with every p99 of them < 20 ms there and at the first;
# >= 0.5x at a larger size (30 M: more data than this machine's RAM).
#
# Then Citus, where ../shared/citus is beside the project (else one line
# says it is skipped): a coordinator and two workers on this machine
# (tests/citus/cluster.sh, fsync on), seeded to the first size the same way,
# the same spread lookups and claims; goals against the single node's
# figures at that size: lookups/s >= 0.5x, claims/s >= 0.3x.
#
# Knobs: BENCH_SCALE_SIZES, BENCH_SECONDS (10 per measurement),
# BENCH_CLAIM_CODES (100,000 codes per claim workload), BENCH_COPY_ROWS,
# BENCH_THREADS, BENCH_POOL (lib.sh). Prints progress on stderr (rows/s
# while seeding), the table on stdout; exit status 1 if a goal is missed.
set -eu -o pipefail

B=$(cd "${top_builddir:-.}" && pwd)
S=$(cd "${top_srcdir:-$B}" && pwd)
BENCH=bench_scale
. "$S/bench/lib.sh"
SIZES=${BENCH_SCALE_SIZES:-1000000 10000000 30000000}
CLAIM_N=${BENCH_CLAIM_CODES:-100000}
COPY_ROWS=${BENCH_COPY_ROWS:-200000}
LOOKUP_N=100000
CHUNK=1000000 # redemptions seeded per transaction
RUNS=100
CODES=$B/bench/serial_codes
bench_need "$GEN" "$B/server/packcode-server" "$LOADGEN" "$CODES" initdb pg_ctl psql python3

NSIZES=0
prev=0
for n in $SIZES; do
	case $n in '' | *[!0-9]*) echo "$BENCH: BENCH_SCALE_SIZES: \"$n\" is not a count" >&2; exit 2 ;; esac
	[ "$n" -gt "$prev" ] && [ "$n" -ge $((RUNS * 10)) ] ||
		{ echo "$BENCH: BENCH_SCALE_SIZES: ascending, each at least $((RUNS * 10))" >&2; exit 2; }
	prev=$n NSIZES=$((NSIZES + 1))
done
MAXN=$prev
FIRST=${SIZES%% *}
# Each print run: serials 0 .. MAXN/RUNS - 1 seeded (redemption g is run
# g % RUNS, position g / RUNS), as many after them never claimed, and at the
# top one slice of CLAIM_N / RUNS per size (and one for Citus) that only the
# measured spread claims take.
SLICE=$(((CLAIM_N + RUNS - 1) / RUNS))
RUN_LEN=$((MAXN / RUNS * 2 + (NSIZES + 1) * SLICE))

bench_workdir
CITUS_W=
cleanup() {
	if [ -n "$CITUS_W" ]; then citus_cluster_stop "$CITUS_W"; fi
	bench_cleanup
}
trap cleanup EXIT
trap 'exit 1' INT TERM
T_START=$(date +%s)
elapsed() { echo "$(($(date +%s) - T_START)) s"; }

export PACKCODE_HOME=$W/home PACKCODE_KEYRING=$W/home/keyring
mkdir "$W/home"
"$GEN" keygen >/dev/null

# setup_db: migrated, the products and the print runs (the same serials
# wherever it runs: the allocator starts at 1), all active
setup_db() {
	local b p
	"$GEN" db migrate >/dev/null
	if [ "${1:-}" = citus ]; then "$GEN" db distribute >/dev/null; fi
	for b in 1 2; do
		for p in 1 2 3; do
			"$GEN" product add --sku "P$b$p" --name "Product $b.$p" --brand "Brand $b" \
				--points "$((b * 10 + p))" >/dev/null
		done
	done
	sql "SELECT count(*) FROM generate_series(0, $RUNS - 1) r,
	       LATERAL allocate_batch('P' || (r % 2 + 1) || (r / 2 % 3 + 1), $RUN_LEN, 1::smallint,
	                              'F' || (r % 4), '', NULL, false) a" >/dev/null
	sql "UPDATE batches SET status = 'active', printed_at = now()" >/dev/null
}

# seed N0 N1: redemptions N0 .. N1 - 1 and what goes with them, CHUNK a
# transaction; members 'm' || i for i < N1 / 10
seed() {
	local n0=$1 n1=$2 a b t0 members=$(($2 / 10))
	t0=$(date +%s.%N)
	sql "INSERT INTO members (member, created_at)
	     SELECT 'm' || i, now() - interval '30 days' FROM generate_series($((n0 / 10)), $((members - 1))) i
	     ON CONFLICT (member) DO NOTHING" >/dev/null
	a=$n0
	while [ "$a" -lt "$n1" ]; do
		b=$((a + CHUNK < n1 ? a + CHUNK : n1))
		# the chunk's redemptions: print run, serial, member (a hash of g
		# over the base), the run's product's points, a time in the last 30 days
		psql -XAtq -v ON_ERROR_STOP=1 -d "$PACKCODE_DB" <<SQL >/dev/null
SET work_mem = '512MB';
BEGIN;
CREATE TEMP TABLE s ON COMMIT DROP AS
SELECT x.g, bt.id AS batch_id, bt.serial_first + x.g / $RUNS AS serial,
       'm' || ((x.g * 48271) % 2147483647) % $members AS member, pr.points,
       now() - interval '30 days' + random() * interval '29 days' AS at,
       (x.g * 2654435761) % 1000000007 AS scanner, b.id AS brand_id
  FROM generate_series($a::bigint, $((b - 1))) x(g)
  JOIN batches bt ON bt.id = x.g % $RUNS + 1
  JOIN products pr ON pr.sku = bt.product_sku
  JOIN brands b ON b.name = pr.brand;
INSERT INTO redemptions (serial, batch_id, member, points, claimed_at)
SELECT serial, batch_id, member, points, at FROM s;
-- each member's ledger rows in order, balance_after from their balance so far
INSERT INTO ledger (member, delta, balance_after, kind, serial, created_at)
SELECT s.member, s.points,
       m.balance + sum(s.points) OVER (PARTITION BY s.member ORDER BY s.g), 'claim', s.serial, s.at
  FROM s JOIN (SELECT mb.member, mb.balance FROM members mb
                WHERE mb.member IN (SELECT DISTINCT member FROM s)) m ON m.member = s.member;
INSERT INTO members AS mb (member, balance)
SELECT member, sum(points) FROM s GROUP BY member
ON CONFLICT (member) DO UPDATE SET balance = mb.balance + excluded.balance;
-- three scans each, by the claimer's phone: landing page, lookup, claim
INSERT INTO code_stats (serial, scan_count, first_scan, last_scan, scanners)
SELECT serial, 3, at - interval '2 minutes', at, 1 FROM s ON CONFLICT (serial) DO NOTHING;
INSERT INTO code_scanners (serial, scanner, counted_at, last_seen, claimed)
SELECT serial, scanner, at - interval '2 minutes', at, true FROM s ON CONFLICT DO NOTHING;
INSERT INTO scans (at, serial, code, kind, outcome, member, scanner, batch_id, country, subdivision)
SELECT s.at - k.ago, s.serial, lpad(upper(to_hex(s.serial)), 20, 'P'), k.kind, k.outcome,
       CASE WHEN k.kind = 'claim' THEN s.member END, s.scanner, s.batch_id, 'CN',
       'CN-' || (ARRAY['BJ','SH','ZJ','GD','JS','SC'])[s.g % 6 + 1]
  FROM s CROSS JOIN (VALUES ('landing', 'genuine', interval '2 minutes'),
                            ('lookup', 'genuine', interval '1 minute'),
                            ('claim', 'awarded', interval '0')) k(kind, outcome, ago);
COMMIT;
SQL
		a=$b
		say "$BENCH: seeded $a redemptions ($((3 * a)) scans), $(awk -v n=$((a - n0)) -v t0="$t0" -v t1="$(date +%s.%N)" \
			'BEGIN { printf "%.0f", n / (t1 - t0) }') redemptions/s; $(elapsed)"
	done
	sql "VACUUM ANALYZE" >/dev/null
	# what was seeded holds together: every balance is its ledger's sum
	[ "$(sql "SELECT count(*) FROM members m
	          LEFT JOIN (SELECT member, sum(delta) AS s FROM ledger GROUP BY member) l ON l.member = m.member
	         WHERE m.balance <> coalesce(l.s, 0)")" = 0 ] || { say "$BENCH: a balance is not its ledger's sum"; exit 1; }
}

# codes FILE SQL: the codes of the serials SQL selects, one a line
codes() {
	sql "$2" | "$CODES" >"$1"
	[ -s "$1" ] || { say "$BENCH: no codes for $1"; exit 1; }
}
# spread_claim_codes FILE K: the codes of slice K of every print run, in random order
spread_claim_codes() {
	codes "$1" "SELECT bt.serial_first + $RUN_LEN - 1 - $2 * $SLICE - p
	              FROM batches bt, generate_series(0, $SLICE - 1) p
	             WHERE bt.id <= $RUNS ORDER BY random() LIMIT $CLAIM_N"
}
# spread_lookup_codes FILE N [COUNT]: COUNT (LOOKUP_N) random serials over
# every print run, half of them (positions below N / RUNS) claimed
spread_lookup_codes() {
	codes "$1" "SELECT bt.serial_first + x.p
	              FROM (SELECT 1 + floor(random() * $RUNS)::bigint AS b,
	                           floor(random() * $(($2 / RUNS * 2)))::bigint AS p
	                      FROM generate_series(1, ${3:-$LOOKUP_N}) i) x
	              JOIN batches bt ON bt.id = x.b"
}
req_get() { awk -v p="$1" '{ printf "GET\t%s%s\n", p, $1 }' "$2"; }
mint() { # mint COUNT DIR: codes.csv in DIR
	"$GEN" mint --product P11 --count "$1" --out "$2" --host pack.example --short -q >/dev/null
	tail -n +2 "$2/codes.csv" | cut -d, -f1 >"$2/codes"
}
# claims FILE: claims/s and p99 of one load, all awarded
claims() {
	local r
	r=$(load "$PORT" "$1")
	all_ok "claims ($1)" "$r"
	echo "$r"
}

# measure TAG N K [citus]: the workloads at size N (claim slice K); on
# Citus the spread claims and lookups and the fresh lookups only; figures in
# $W/fig.TAG.NAME (rate) and $W/fig.TAG.NAME.p99
fig() { rate <<<"$3" >"$W/fig.$1.$2"; p99 <<<"$3" >"$W/fig.$1.$2.p99"; }
get() { cat "$W/fig.$1.$2" 2>/dev/null || echo 0; }
measure() {
	local tag=$1 n=$2 k=$3 citus=${4:-} r d=$W/m.$1
	mkdir "$d"
	# 10,000 sessions of members drawn across the whole base
	bench_sessions "$d/sessions" 10000 "random.randrange($((n / 10)))"
	spread_claim_codes "$d/claim.codes" "$k"
	bench_claims_req "$d/claim.codes" "$d/sessions.hdr" >"$d/claims.req"
	spread_lookup_codes "$d/lookup.codes" "$n"
	req_get /api/v1/codes/ "$d/lookup.codes" >"$d/lookups.req"
	req_get /c/ "$d/lookup.codes" >"$d/landing.req"
	spread_lookup_codes "$d/warm.codes" "$n" 5000
	req_get /c/ "$d/warm.codes" >"$d/warm.req"
	mint "$LOOKUP_N" "$d/fresh_lookups"
	req_get /api/v1/codes/ "$d/fresh_lookups/codes" >"$d/fresh_lookups.req"
	if [ -z "$citus" ]; then
		mint "$CLAIM_N" "$d/fresh_claims"
		bench_sessions "$d/fresh_sessions" 10000
		bench_claims_req "$d/fresh_claims/codes" "$d/fresh_sessions.hdr" >"$d/fresh_claims.req"
		req_get /c/ "$d/fresh_lookups/codes" >"$d/fresh_landing.req"
	fi
	start_server
	# warm up: the server's connections and plans, on 5,000 other spread codes
	"$LOADGEN" --port "$PORT" -c $CONNS -n 5000 "$d/warm.req" >/dev/null
	say "$BENCH: $tag: measuring, $SECONDS_EACH s each; $(elapsed)"
	fig "$tag" claims "$(claims "$d/claims.req")"
	r=$(load "$PORT" "$d/lookups.req" --cycle)
	all_ok "lookups" "$r"
	fig "$tag" lookups "$r"
	r=$(load "$PORT" "$d/fresh_lookups.req" --cycle)
	all_ok "fresh lookups" "$r"
	fig "$tag" fresh_lookups "$r"
	if [ -z "$citus" ]; then
		r=$(load "$PORT" "$d/landing.req" --cycle)
		all_ok "landing pages" "$r"
		fig "$tag" landing "$r"
		fig "$tag" fresh_claims "$(claims "$d/fresh_claims.req")"
		r=$(load "$PORT" "$d/fresh_landing.req" --cycle)
		all_ok "fresh landing pages" "$r"
		fig "$tag" fresh_landing "$r"
	fi
	stop_server
	[ -n "$citus" ] || copy_scans "$tag" "$n"
	sql "SELECT pg_database_size(current_database())" >"$W/fig.$tag.dbsize"
}

# copy_scans TAG N: the scan writer's transactions, COPY_ROWS rows in
# flushes of 10,000 (the stage, scan_ingest()); rows/s
copy_scans() {
	local tag=$1 n=$2 i flushes=$(((COPY_ROWS + 9999) / 10000)) t0 t1
	sql "COPY (SELECT 'bench-$tag-' || (x.i / 10000), now(), bt.serial_first + x.p, 'X', 'lookup', 'genuine',
	              '10.0.0.1'::inet, 'bench', NULL, x.scanner, 'CN', 'CN-ZJ', 'Hangzhou', bt.id, bt.product_sku,
	              br.id, NULL
	         FROM (SELECT i, 1 + floor(random() * $RUNS)::bigint AS b,
	                      floor(random() * $((n / RUNS)))::bigint AS p, floor(random() * 1e9)::bigint AS scanner
	                 FROM generate_series(0, $((flushes * 10000 - 1))) i) x
	         JOIN batches bt ON bt.id = x.b
	         JOIN products p ON p.sku = bt.product_sku JOIN brands br ON br.name = p.brand
	        ORDER BY x.i) TO STDOUT" | split -l 10000 -d -a 4 - "$W/copy.$tag."
	t0=$(date +%s.%N)
	for i in "$W/copy.$tag."*; do
		[ "$(psql -XAtq -1 -v ON_ERROR_STOP=1 -d "$PACKCODE_DB" -c "SELECT scan_writer_session()" \
			-c "\\copy scan_stage (tag, at, serial, code, kind, outcome, client, user_agent, member,
			    scanner, country, subdivision, city, batch_id, product_sku, brand_id, points) FROM '$i'" \
			-c "SELECT scan_ingest()" | tail -n 1)" = written ] || { say "$BENCH: scan_ingest of $i"; exit 1; }
	done
	t1=$(date +%s.%N)
	awk -v n=$((flushes * 10000)) -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }' >"$W/fig.$tag.copy"
	rm -f "$W/copy.$tag."*
}

# ---- single node ----
say "$BENCH: sizes $SIZES; print runs of $RUN_LEN serials; $(cpu_model), $(nproc) cores"
bench_pg "shared_buffers=2GB" "max_wal_size=8GB" "checkpoint_timeout=30min"
setup_db
n0=0 k=0
for n in $SIZES; do
	say "$BENCH: growing to $n redemptions; $(elapsed)"
	seed "$n0" "$n"
	measure "$n" "$n" "$k"
	n0=$n k=$((k + 1))
done
as_pg pg_ctl -D "$W/pgdata" -m fast -w stop >/dev/null

# ---- the single node's figures, printed before Citus runs ----
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
fails=
printf '%-10s %-22s %10s %9s %7s  %s\n' size measurement "per second" "p99 ms" "x first" goal
for n in $SIZES; do
	if [ "$n" = "$FIRST" ]; then goal= ; elif [ "$n" -le $((FIRST * 10)) ]; then goal=0.8; else goal=0.5; fi
	for w in claims lookups landing fresh_claims fresh_lookups fresh_landing; do
		x=$(ratio "$(get "$n" $w)" "$(get "$FIRST" $w)")
		l=$(get "$n" $w.p99)
		g=
		case $w in
		fresh_*) g="(fresh codes: for comparison)" ;;
		*)
			if [ -n "$goal" ]; then
				g=">= $goal"
				ge "$x" "$goal" || fails="$fails $n:$w"
			fi
			if [ "$goal" != 0.5 ]; then
				g="${g:+$g, }p99 < 20"
				lt "$l" 20 || fails="$fails $n:$w-p99"
			fi
			;;
		esac
		printf '%-10s %-22s %10.0f %9s %7s  %s\n' "$n" "$w" "$(get "$n" $w)" "$l" "$x" "$g"
	done
	printf '%-10s %-22s %10.0f %9s %7s  %s\n' "$n" "COPY into scans rows" "$(get "$n" copy)" "" \
		"$(ratio "$(get "$n" copy)" "$(get "$FIRST" copy)")" "(the scan writer's transaction)"
	echo "$n: database $(awk -v b="$(get "$n" dbsize)" 'BEGIN { printf "%.1f", b / 1073741824 }') GiB"
done

# ---- Citus ----
CITUS=skipped
if [ ! -f "$S/../shared/citus/install.sh" ]; then
	say "$BENCH: Citus part skipped: no ../shared/citus/install.sh beside the project"
else
	CITUS=ran
	if [ "$(id -u)" = 0 ]; then
		sh "$S/scripts/setup-citus.sh" >/dev/null
		pg_own() { chown postgres: "$@"; }
	else
		pg_own() { :; }
	fi
	die() { say "$BENCH: $*"; exit 1; }
	. "$S/tests/citus/cluster.sh"
	CITUS_W=$W/citus
	mkdir -m 755 "$CITUS_W"
	citus_cluster_start "$CITUS_W" "fsync = on" "shared_buffers = 1GB" "max_wal_size = 8GB" \
		"max_connections = $((DBCONNS * 4 + 100))"
	set -- $CITUS_PORTS
	for p in $CITUS_PORTS; do
		psql -Xq -v ON_ERROR_STOP=1 -d "host=$CITUS_W/sock port=$p dbname=postgres user=packcode" \
			-c "CREATE DATABASE packcode" -c "\\c packcode" -c "SET client_min_messages = warning" \
			-c "CREATE EXTENSION citus"
	done
	export PACKCODE_DB="host=$CITUS_W/sock port=$1 dbname=packcode user=packcode"
	sql "SELECT citus_set_coordinator_host('127.0.0.1', $1);
	     SELECT citus_add_node('127.0.0.1', $2); SELECT citus_add_node('127.0.0.1', $3)" >/dev/null
	say "$BENCH: Citus: coordinator 127.0.0.1:$1, workers :$2 and :$3; growing to $FIRST; $(elapsed)"
	setup_db citus
	seed 0 "$FIRST"
	measure citus "$FIRST" "$NSIZES" citus
	citus_cluster_stop "$CITUS_W"
	CITUS_W=
fi


if [ "$CITUS" = ran ]; then
	for w in claims lookups fresh_lookups; do
		case $w in
		claims) goal=0.3 ;;
		lookups) goal=0.5 ;;
		*) goal= ;;
		esac
		x=$(ratio "$(get citus $w)" "$(get "$FIRST" $w)")
		[ -z "$goal" ] || ge "$x" "$goal" || fails="$fails citus:$w"
		printf '%-10s %-22s %10.0f %9s %7s  %s\n' "Citus" "$w at $FIRST" "$(get citus $w)" "$(get citus $w.p99)" \
			"$x" "${goal:+>= $goal }(x the single node at $FIRST)"
	done
else
	echo "Citus: skipped (no ../shared/citus beside the project)"
fi
echo "machine: $(nproc) cores ($(cpu_model)), $(free -g | awk '/^Mem:/ { print $2 }') GiB; load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; $(elapsed)"
if [ -n "$fails" ]; then
	echo "$BENCH: missed:$fails"
	exit 1
fi
