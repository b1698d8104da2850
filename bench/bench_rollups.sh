#!/bin/bash
# bench_rollups.sh: the analytics dashboard's queries answered from the
# roll-ups (sql/015_scans.sql) against the same answers computed by GROUP BY
# over the raw scans (bench/rollups_raw.sql), in one run on this machine:
#
#   BENCH_SCANS (default 10,000,000) scans over 30 UTC days, 5 brands,
#   20 products, 100 print runs of 100,000 codes, 36 regions (the 31
#   provinces of mainland China, 3 cities in Zhejiang and Guangdong, 3 US
#   states, unknown), 100,000 scanners; 85% genuine (lookups, landing
#   pages, claims), 10% not genuine, 5% typos.
#   Seeded set-based through scan_ingest(), the scan writer's own
#   function, 1,000,000 rows a transaction: the roll-ups are kept exactly
#   as the server keeps them.
#
# Then each dashboard query (overview per day with week-over-week for the
# group, one brand and two brands; print runs for the group and one brand;
# regions by province, by Chinese city, by country for one brand, by
# province for one print run) runs from
# the roll-ups (best of 5) and from the raw scans (best of BENCH_RAW_RUNS,
# default 1: a raw answer over 10 million rows takes tens of seconds). Every answer
# must be equal (jsonb equality of the whole reply: every number), and the
# roll-ups' total time must be >= 50x faster (BENCH_GOAL). Prints the CPU.
# Not run in CI (seeding alone takes half an hour on 2 cores); `make bench`
# runs it. Exits 1 on a difference or a missed goal.
#
# Measured (AMD EPYC, 2 cores shared with other work, 23 GiB; PostgreSQL 15,
# shared_buffers 2 GB): 10,000,000 scans seeded in 1783 s; 121,964 roll-up
# rows, 9,463,281 scanner-set rows; every answer equal (3,661 numbers);
# the dashboard 1.1 s from the roll-ups against 381 s from the raw scans,
# 345x. Per query from 2,099x to 30,917x, except the overview for two
# brands together, 12x: their distinct scanners are counted over the union
# of their day sets (1.0 s), where one brand or the group reads a kept count.
PC_TIMEOUT=${BENCH_TIMEOUT:-3600}
PC_PG_FSYNC=on
. "$(dirname "$0")/../tests/integration/harness.sh"

N=${BENCH_SCANS:-10000000}
GOAL=${BENCH_GOAL:-50}
CHUNK=1000000
calc() { awk "BEGIN { $1 }"; }
psql_() { timeout --foreground "$PC_TIMEOUT" psql -X -q -At -v ON_ERROR_STOP=1 -d "$PACKCODE_DB" "$@"; }

echo "# cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(nproc) cores; $(free -g | awk '/^Mem:/ { print $2 }') GiB"
for setting in "shared_buffers = '2GB'" "work_mem = '256MB'" "max_wal_size = '8GB'" "synchronous_commit = off"; do
	pc_psql "ALTER SYSTEM SET $setting" || fail "ALTER SYSTEM SET $setting"
done
pg_restart fast
pcgen db migrate >/dev/null || fail "db migrate failed"
pcgen keygen >/dev/null || fail "keygen failed"
for b in 1 2 3 4 5; do
	for p in 1 2 3 4; do
		pcgen product add --sku "P$b$p" --name "Product $b.$p" --brand "Brand $b" --points "$((b * p))" \
			>/dev/null || fail "product add failed"
	done
done
# 100 print runs of 100,000 codes, 5 per product (what mint would allocate, without the files)
pc_psql "INSERT INTO batches (key_id, serial_first, serial_last, product_sku, status)
         SELECT 1, i * 100000 + 1, (i + 1) * 100000, 'P' || (i % 5 + 1) || (i / 5 % 4 + 1),
                CASE WHEN i % 17 = 3 THEN 'recalled' ELSE 'active' END
           FROM generate_series(0, 99) i" || fail "batches"

echo "# seeding $N scans through scan_ingest(), $CHUNK a transaction"
T0=$(date +%s.%N)
left=$N
k=0
while [ "$left" -gt 0 ]; do
	n=$((left < CHUNK ? left : CHUNK))
	k=$((k + 1))
	psql_ -c "SELECT scan_writer_session();
	  INSERT INTO scan_stage (tag, at, serial, code, kind, outcome, client, user_agent, member, scanner,
	                          country, subdivision, city)
	  SELECT 'bench-$k', x.at, x.serial, CASE WHEN x.serial > 0 THEN 's' || x.serial ELSE 'bad' END,
	         x.kind,
	         CASE WHEN x.r < 0.10 THEN 'not_genuine' WHEN x.r < 0.15 THEN 'typo'
	              WHEN x.kind <> 'claim' THEN 'genuine'
	              WHEN x.r2 < 0.3 THEN 'awarded' WHEN x.r2 < 0.4 THEN 'repeat' ELSE 'already_claimed' END,
	         NULL, NULL, NULL, x.scanner,
	         CASE WHEN x.reg < 31 THEN 'CN' WHEN x.reg < 34 THEN 'US' END,
	         CASE WHEN x.reg < 31 THEN 'CN-' || (ARRAY['BJ','TJ','HE','SX','NM','LN','JL','HL','SH','JS',
	              'ZJ','AH','FJ','JX','SD','HA','HB','HN','GD','GX','HI','CQ','SC','GZ','YN','XZ','SN',
	              'GS','QH','NX','XJ'])[x.reg + 1]
	              WHEN x.reg < 34 THEN 'US-' || (ARRAY['CA','NY','TX'])[x.reg - 30] END,
	         CASE WHEN x.reg = 10 THEN (ARRAY['Hangzhou','Ningbo','Wenzhou'])[1 + x.c]
	              WHEN x.reg = 18 THEN (ARRAY['Guangzhou','Shenzhen','Dongguan'])[1 + x.c] END
	    FROM (SELECT now() - random() * interval '30 days' AS at, y.r, random() AS r2,
	                 CASE WHEN y.r < 0.15 THEN 0 ELSE 1 + floor(random() * 10000000)::bigint END AS serial,
	                 CASE WHEN y.k < 0.45 THEN 'lookup' WHEN y.k < 0.85 THEN 'landing' ELSE 'claim' END AS kind,
	                 floor(random() * 100000)::bigint * 7919 AS scanner,
	                 least(floor(random() * random() * 36)::int, 34) AS reg,
	                 floor(random() * 3)::int AS c
	            FROM (SELECT random() AS r, random() AS k FROM generate_series(1, $n)) y) x;
	  SELECT scan_ingest()" >/dev/null || fail "seeding chunk $k failed"
	left=$((left - n))
	printf '# %d scans, %.0f s\n' $((N - left)) "$(calc "print $(date +%s.%N) - $T0")"
done
pc_psql "VACUUM ANALYZE" || fail "vacuum"
psql_ -f "$abs_top_srcdir/bench/rollups_raw.sql" || fail "bench/rollups_raw.sql"
echo "# scans: $(pc_psql "SELECT count(*) FROM scans"); roll-up rows: $(pc_psql "SELECT count(*) FROM scan_rollups"),"\
"day totals: $(pc_psql "SELECT count(*) FROM scan_day_totals"), scanner-set rows: $(pc_psql "SELECT count(*) FROM scan_day_scanners")"
B1=$(pc_psql "SELECT id FROM brands WHERE name = 'Brand 1'")
B2=$(pc_psql "SELECT id FROM brands WHERE name = 'Brand 2'")
TO=$(pc_psql "SELECT (now() AT TIME ZONE 'UTC')::date")
FROM=$(pc_psql "SELECT (now() AT TIME ZONE 'UTC')::date - 29")

# name|the roll-ups' call|the raw call: the dashboard
cat >"$PC_TMP/queries" <<Q
overview, group|analytics_overview('$FROM', '$TO', NULL)|raw_overview('$FROM', '$TO', NULL)
overview, one brand|analytics_overview('$FROM', '$TO', '{$B1}')|raw_overview('$FROM', '$TO', '{$B1}')
overview, two brands|analytics_overview('$FROM', '$TO', '{$B1,$B2}')|raw_overview('$FROM', '$TO', '{$B1,$B2}')
print runs, group|analytics_batches('$FROM', '$TO', NULL, NULL)|raw_batches('$FROM', '$TO', NULL, NULL)
print runs, one brand|analytics_batches('$FROM', '$TO', '{$B1}', NULL)|raw_batches('$FROM', '$TO', '{$B1}', NULL)
provinces, group|analytics_regions('$FROM', '$TO', NULL, 'subdivision', NULL, NULL)|raw_regions('$FROM', '$TO', NULL, 'subdivision', NULL, NULL)
Chinese cities, group|analytics_regions('$FROM', '$TO', NULL, 'city', 'CN', NULL)|raw_regions('$FROM', '$TO', NULL, 'city', 'CN', NULL)
countries, one brand|analytics_regions('$FROM', '$TO', '{$B1}', 'country', NULL, NULL)|raw_regions('$FROM', '$TO', '{$B1}', 'country', NULL, NULL)
provinces, one print run|analytics_regions('$FROM', '$TO', NULL, 'subdivision', NULL, 7)|raw_regions('$FROM', '$TO', NULL, 'subdivision', NULL, 7)
Q

# best_ms RUNS EXPR: the best time in ms of RUNS runs of SELECT EXPR (the
# result is kept in the table answers under the key given in KEY)
pc_psql "CREATE TABLE answers (key text PRIMARY KEY, value jsonb)"
best_ms() {
	local runs=$1 expr=$2 key=$3
	psql_ -c "DO \$\$
DECLARE t0 timestamptz; best double precision := 1e12; v jsonb;
BEGIN
    FOR i IN 1 .. $runs LOOP
        t0 := clock_timestamp();
        SELECT $expr INTO v;
        best := least(best, extract(epoch FROM clock_timestamp() - t0) * 1000);
    END LOOP;
    INSERT INTO answers VALUES ('$key', v) ON CONFLICT (key) DO UPDATE SET value = excluded.value;
    RAISE NOTICE 'ms=%', round(best::numeric, 3);
END \$\$" 2>&1 | sed -n 's/.*ms=//p'
}
printf '%-24s %12s %12s %9s  %s\n' query "roll-ups ms" "raw ms" ratio equal
TR=0
TW=0
i=0
bad=0
while IFS='|' read -r name roll raw; do
	i=$((i + 1))
	r=$(best_ms 5 "$roll" "roll$i") || fail "$name: $roll"
	w=$(best_ms "${BENCH_RAW_RUNS:-1}" "$raw" "raw$i") || fail "$name: $raw"
	eq=$(pc_psql "SELECT (SELECT value FROM answers WHERE key = 'roll$i') = (SELECT value FROM answers WHERE key = 'raw$i')")
	numbers=$(pc_psql "SELECT count(*) FROM jsonb_path_query((SELECT value FROM answers WHERE key = 'roll$i'), 'strict \$.**') j
	                   WHERE jsonb_typeof(j) = 'number'")
	[ "$eq" = t ] || bad=$((bad + 1))
	printf '%-24s %12.3f %12.3f %8.0fx  %s (%s numbers)\n' "$name" "$r" "$w" "$(calc "print $w / $r")" \
		"$([ "$eq" = t ] && echo yes || echo NO)" "$numbers"
	TR=$(calc "print $TR + $r")
	TW=$(calc "print $TW + $w")
done <"$PC_TMP/queries"
RATIO=$(calc "printf \"%.0f\", $TW / $TR")
printf '%-24s %12.3f %12.3f %8sx  goal >= %sx\n' "the dashboard" "$TR" "$TW" "$RATIO" "$GOAL"
[ "$bad" = 0 ] || fail "$bad answers differ between the roll-ups and the raw scans"
[ "$(calc "print ($RATIO >= $GOAL)")" = 1 ] || fail "the roll-ups are ${RATIO}x faster, the goal is ${GOAL}x"
echo "bench_rollups: every answer equal; roll-ups ${RATIO}x faster than GROUP BY over $N raw scans"
