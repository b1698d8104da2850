#!/bin/bash
# bench_scans.sh: what writing scans costs once scans holds many rows over
# many codes, against the same writes into an empty scans in the same run
# (sql/035_scan_storage.sql, docs/scaling.md "What a scan costs to write").
#
# Two databases on one throwaway PostgreSQL (fsync on), both migrated: "full",
# whose scans holds BENCH_FILL rows of the last 25 days over BENCH_CODES codes
# (code_stats and code_scanners as those scans would have left them), and
# "empty", the reference, emptied before each measurement. The monthly
# partitions are dropped in both, so every scan is in scans_default: scans
# as they are late in a month, when that month's partition holds most of the
# month's codes (an index is per partition), whatever the day the bench runs.
#
# A measurement writes BENCH_FLUSHES flushes of BENCH_FLUSH scans of today,
# each a transaction as the scan writer's, with a CHECKPOINT every BENCH_CKPT
# flushes (a busy server checkpoints every few seconds, and the first change
# of a page after one is a full-page image in the WAL). Timed: the flushes
# and their commits, not the checkpoints; WAL: pg_current_wal_insert_lsn()
# before and after each flush. Serials random over BENCH_CODES (15% serial
# 0). Two writes:
#   scans   INSERT INTO scans SELECT, from a prepared table (what scan_ingest()
#           does from its stage): the scans table and its indexes alone;
#   ingest  the stage, then scan_ingest() itself (scans, code_stats,
#           code_scanners, roll-ups).
# and two layouts of scans: before (001's scans_serial_at) and after (035's
# scans_day_serial). Each measurement is taken BENCH_REPEAT times, empty and
# full alternated (the machine is shared: each pair sees the same load);
# printed min .. max, ratios of medians.
# Goal: after, the full table's scans rate >= BENCH_GOAL of the empty one's
# (0.6: on the shared machine a rate swings by a third from one measurement
# to the next; the WAL does not) and its WAL per row <= 1.5x. Prints the CPU.
# Exits 1 on a miss.
#
# Measured: see docs/scaling.md, "What a scan costs to write".
PC_TIMEOUT=${BENCH_TIMEOUT:-3600}
PC_PG_FSYNC=on
. "$(dirname "$0")/../tests/integration/harness.sh"

FILL=${BENCH_FILL:-3000000}
CODES=${BENCH_CODES:-1500000}
FLUSH=${BENCH_FLUSH:-5000}
FLUSHES=${BENCH_FLUSHES:-20}
CKPT=${BENCH_CKPT:-10}
REPEAT=${BENCH_REPEAT:-3}
GOAL=${BENCH_GOAL:-0.6}
calc() { awk "BEGIN { $1 }"; }
psql_() { timeout --foreground "$PC_TIMEOUT" psql -X -q -At -v ON_ERROR_STOP=1 -d "$PACKCODE_DB" "$@"; }

echo "# cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(nproc) cores; $(free -g | awk '/^Mem:/ { print $2 }') GiB"
for setting in "shared_buffers = '1GB'" "work_mem = '256MB'" "maintenance_work_mem = '512MB'" \
	"max_wal_size = '8GB'" "checkpoint_timeout = '1h'"; do
	pc_psql "ALTER SYSTEM SET $setting" || fail "ALTER SYSTEM SET $setting"
done
pg_restart fast
EMPTY=$(pc_dbinfo empty)
FULL=$PACKCODE_DB
pc_createdb empty
db() { # db full|empty ARGS...: psql on that database
	local d=$FULL
	[ "$1" = empty ] && d=$EMPTY
	shift
	timeout --foreground "$PC_TIMEOUT" psql -X -q -At -v ON_ERROR_STOP=1 -d "$d" "$@"
}
for d in full empty; do
	if [ $d = full ]; then dbc=$FULL; else dbc=$EMPTY; fi
	PACKCODE_DB=$dbc pcgen db migrate >/dev/null || fail "db migrate failed ($d)"
	PACKCODE_DB=$dbc pcgen keygen >/dev/null || fail "keygen failed ($d)"
	PACKCODE_DB=$dbc pcgen product add --sku P1 --name "Product 1" --brand "Brand 1" --points 5 \
		>/dev/null || fail "product add failed ($d)"
	# print runs of 100,000 codes over the codes scanned (scan_ingest looks each serial's up)
	db $d -c "INSERT INTO batches (key_id, serial_first, serial_last, product_sku, status)
	          SELECT 1, i * 100000 + 1, (i + 1) * 100000, 'P1', 'active'
	            FROM generate_series(0, ($CODES - 1) / 100000) i" || fail "batches ($d)"
	db $d -c "DO \$\$ DECLARE p text; BEGIN
	  FOR p IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
	            WHERE i.inhparent = 'scans'::regclass AND c.relname ~ '^scans_[0-9]{6}\$' LOOP
	    EXECUTE format('DROP TABLE %I', p);
	  END LOOP; END \$\$" || fail "partitions ($d)"
	# the flushes' rows, the same in both: (flush, at, serial, kind, scanner), at 20 us apart
	db $d -c "CREATE TABLE bench_rows AS
	  SELECT (i - 1) / $FLUSH AS flush, now() + (i - 1) * interval '20 microseconds' AS at,
	         CASE WHEN i % 20 < 3 THEN 0 ELSE 1 + (hashint8(i) & 1099511627775) % $CODES END AS serial,
	         (ARRAY['lookup', 'landing', 'landing', 'claim'])[1 + i % 4] AS kind,
	         (hashint8(-i) & 65535) * 7919 AS scanner
	    FROM generate_series(1::bigint, $FLUSH * $FLUSHES) i" \
		-c "CREATE INDEX ON bench_rows (flush)" -c "VACUUM ANALYZE bench_rows" || fail "bench_rows ($d)"
done

echo "# filling the full database: $FILL scans over $CODES codes, the last 25 days"
T0=$(date +%s.%N)
db full -c "DROP INDEX scans_day_serial" -c "INSERT INTO scans (at, serial, code, kind, outcome, scanner)
  SELECT now() - interval '1 day' - random() * interval '24 days', x.s, 'f' || x.s,
         'landing', 'genuine', floor(random() * 100000)::bigint * 7919
    FROM (SELECT 1 + floor(random() * $CODES)::bigint AS s FROM generate_series(1, $FILL)) x" \
	-c "INSERT INTO code_scanners (serial, scanner, counted_at, last_seen, claimed)
	    SELECT serial, scanner, min(at), max(at), false FROM scans GROUP BY serial, scanner" \
	-c "INSERT INTO code_stats (serial, scan_count, first_scan, last_scan, scanners)
	    SELECT serial, count(*), min(at), max(at), count(DISTINCT scanner) FROM scans GROUP BY serial" \
	-c "VACUUM ANALYZE scans, code_stats, code_scanners" || fail "fill"
printf '# filled in %.0f s: %s scans, %s codes\n' "$(calc "print $(date +%s.%N) - $T0")" \
	"$(db full -c "SELECT count(*) FROM scans")" "$(db full -c "SELECT count(*) FROM code_stats")"

# measure DB WHAT: FLUSHES flushes; prints "rows/s bytes/row" (the flushes'
# time and WAL only). WHAT: scans (INSERT INTO scans) or ingest (scan_ingest()).
measure() {
	local body
	if [ "$2" = scans ]; then
		body="INSERT INTO scans (at, serial, code, kind, outcome, scanner, batch_id)
		      SELECT r.at, r.serial, CASE WHEN r.serial > 0 THEN 'm' || r.serial ELSE 'bad' END, r.kind,
		             CASE WHEN r.serial > 0 THEN 'genuine' ELSE 'not_genuine' END, r.scanner,
		             CASE WHEN r.serial > 0 THEN (r.serial - 1) / 100000 + 1 END
		        FROM bench_rows r WHERE r.flush = f;"
	else
		body="INSERT INTO scan_stage (tag, at, serial, code, kind, outcome, scanner)
		      SELECT 'bench-' || k || '-' || f, r.at, r.serial,
		             CASE WHEN r.serial > 0 THEN 'm' || r.serial ELSE 'bad' END, r.kind,
		             CASE WHEN r.serial > 0 THEN 'genuine' ELSE 'not_genuine' END, r.scanner
		        FROM bench_rows r WHERE r.flush = f;
		      PERFORM scan_ingest();"
	fi
	db "$1" -c "SELECT scan_writer_session()" -c "DO \$\$
DECLARE t0 timestamptz; l0 pg_lsn; secs double precision := 0; bytes numeric := 0;
        k text := md5(random()::text);
BEGIN
    CHECKPOINT;
    FOR f IN 0 .. $FLUSHES - 1 LOOP
        IF f > 0 AND f % $CKPT = 0 THEN
            CHECKPOINT;
        END IF;
        t0 := clock_timestamp();
        l0 := pg_current_wal_insert_lsn();
        $body
        COMMIT;
        secs := secs + extract(epoch FROM clock_timestamp() - t0);
        bytes := bytes + (pg_current_wal_insert_lsn() - l0);
    END LOOP;
    RAISE NOTICE 'result=% %', round($FLUSH * $FLUSHES / secs), round(bytes / ($FLUSH * $FLUSHES));
END \$\$" 2>&1 | sed -n 's/.*result=//p'
}
# forget DB: the measured rows gone (the empty database emptied), the tables as they were
forget() {
	if [ "$1" = empty ]; then
		db empty -c "TRUNCATE scans, code_stats, code_scanners, scan_writes, scan_rollups, scan_batch_days,
		                      scan_region_days, scan_day_totals, scan_day_scanners, scan_hour_days"
	else
		db full -c "DELETE FROM scans WHERE code LIKE 'm%'" \
			-c "DELETE FROM code_scanners WHERE counted_at >= now() - interval '12 hours'" \
			-c "UPDATE code_stats SET scan_count = x.n, last_scan = x.l, scanners = x.s
			      FROM (SELECT serial, count(*) AS n, max(at) AS l, count(DISTINCT scanner) AS s
			              FROM scans WHERE serial IN (SELECT serial FROM bench_rows) GROUP BY serial) x
			     WHERE code_stats.serial = x.serial" \
			-c "DELETE FROM code_stats c WHERE NOT EXISTS (SELECT 1 FROM scans s WHERE s.serial = c.serial)
			       AND c.first_scan >= now() - interval '12 hours'" \
			-c "VACUUM scans, code_stats, code_scanners"
	fi >/dev/null || fail "forget $1"
}
# pair LABEL WHAT: REPEAT measurements of each database, alternated; prints
# "LABEL, empty|full  rate-min .. rate-max  wal-min .. wal-max" and keeps them
# in $PC_TMP/"LABEL, empty|full"
pair() {
	local label=$1 what=$2 i d r
	: >"$PC_TMP/$label, empty"
	: >"$PC_TMP/$label, full"
	for i in $(seq "$REPEAT"); do
		for d in empty full; do
			forget $d
			r=$(measure $d "$what") || fail "$label, $d: measure"
			[ -n "$r" ] || fail "$label, $d: no result"
			echo "$r" >>"$PC_TMP/$label, $d"
		done
	done
	for d in empty full; do
		awk -v l="$label, $d" 'NR == 1 { a = b = $1; c = d = $2 }
			{ if ($1 < a) a = $1; if ($1 > b) b = $1; if ($2 < c) c = $2; if ($2 > d) d = $2 }
			END { printf "%-34s %9d .. %-9d %7d .. %-7d\n", l, a, b, c, d }' "$PC_TMP/$label, $d"
	done
}
# the median of a column of LABEL's measurements
med() { sort -n -k"$2" "$PC_TMP/$1" | awk -v c="$2" '{ v[NR] = $c } END { print v[int((NR + 1) / 2)] }'; }
layout() { # before (001's index) or after (035's), in both databases
	local d
	for d in empty full; do
		if [ "$1" = before ]; then
			db $d -c "DROP INDEX IF EXISTS scans_day_serial" \
				-c "CREATE INDEX IF NOT EXISTS scans_serial_at ON scans (serial, at)"
		else
			db $d -c "DROP INDEX IF EXISTS scans_serial_at" \
				-c "CREATE INDEX IF NOT EXISTS scans_day_serial ON scans (((at AT TIME ZONE 'UTC')::date), serial, at)
				    WHERE serial > 0"
		fi || fail "layout $1 ($d)"
	done
}

printf '%-34s %22s %18s\n' "# $FLUSHES flushes of $FLUSH scans" "rows/s (min .. max)" "WAL B/row"
layout before
echo "# scans_serial_at of the full database: $(db full -c "SELECT pg_size_pretty(pg_relation_size(i.indexrelid))
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname LIKE 'scans_default%serial%'")"
pair "before, scans" scans
pair "before, scan_ingest" ingest
layout after
pair "after, scans" scans
pair "after, scan_ingest" ingest

bad=
check() { # LABEL [goal]: full against empty, medians
	local rf re wf we ratio wr
	rf=$(med "$1, full" 1) re=$(med "$1, empty" 1) wf=$(med "$1, full" 2) we=$(med "$1, empty" 2)
	ratio=$(calc "printf \"%.2f\", $rf / $re")
	wr=$(calc "printf \"%.2f\", $wf / $we")
	printf '%-34s full: rate %s of empty, WAL/row %sx\n' "$1" "$ratio" "$wr"
	[ "${2:-}" = goal ] || return 0
	[ "$(calc "print ($ratio >= $GOAL && $wr <= 1.5)")" = 1 ] || bad="$bad $1"
}
check "before, scans"
check "after, scans" goal
check "before, scan_ingest"
check "after, scan_ingest"
[ -z "$bad" ] || fail "missed the goal (full: rate >= ${GOAL} of empty, WAL/row <= 1.5x):$bad"
echo "bench_scans: with 035's index a full scans is written at the empty one's cost"
