#!/bin/bash
# test_pack_runs.sh: sql/034_pack_runs.sql on a database that holds links
# already (a row per child, as sql/018_packing.sql made them): after `db
# migrate` each run of consecutive children of one parent and load is one
# row of pack_runs, the view pack_links shows exactly the links there were,
# and the functions that read them (pack_parents, pack_descendants) agree.
PC_TIMEOUT=90
. "$(dirname "$0")/harness.sh"
# the migrations before 034 are applied by psql here: on a plain server only
if [ -n "${PACKCODE_TEST_CITUS:-}" ]; then
	note "Citus: not run (the migrations before 034 applied by psql)"
	exit 0
fi

# every migration before 034, one transaction each, recorded as db migrate does
pc_psql "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now())"
for m in $(pc_migrations); do
	v=$((10#${m%%_*}))
	[ "$v" -lt 34 ] || continue
	timeout --foreground 60 psql -X -q -1 -v ON_ERROR_STOP=1 -d "$PACKCODE_DB" \
		-f "$abs_top_srcdir/sql/$m.sql" >"$PC_TMP/psql.out" 2>&1 || fail "migration $m: $(cat "$PC_TMP/psql.out")"
	pc_psql "INSERT INTO schema_migrations (version, name) VALUES ($v, '$m')"
done
# links as 018 stored them: case 7000 holds 100-123 and 300 (111 by another
# load), case 7001 124-127, a pallet both cases
PALLET=69012300000000030
pc_psql "INSERT INTO pack_loads (actor, source, links) VALUES ('t', 'file', 31), ('t', 'api', 1);
         INSERT INTO pack_links (child, parent, pallet, load_id)
         SELECT c, 7000, false, 1 FROM generate_series(100, 123) c WHERE c <> 111
         UNION ALL SELECT 111, 7000, false, 2
         UNION ALL SELECT 300, 7000, false, 1
         UNION ALL SELECT c, 7001, false, 1 FROM generate_series(124, 127) c
         UNION ALL SELECT c, $PALLET, true, 1 FROM generate_series(7000, 7001) c"
links="SELECT string_agg(child || ':' || parent || ':' || pallet || ':' || load_id, ',' ORDER BY child) FROM pack_links"
before=$(pc_psql "$links")
[ "$(pc_psql "SELECT count(*) FROM pack_links")" = 31 ] || fail "the fixture"

pcgen db migrate >"$PC_TMP/out" || fail "db migrate: $(cat "$PC_TMP/out")"
[ "$(head -n 1 "$PC_TMP/out")" = "applied 034_pack_runs" ] || fail "db migrate: $(cat "$PC_TMP/out")"
sql_is "100-110:7000:1,111-111:7000:2,112-123:7000:1,124-127:7001:1,300-300:7000:1,7000-7001:$PALLET:1" \
	"SELECT string_agg(child_first || '-' || child_last || ':' || parent || ':' || load_id, ',' ORDER BY child_first) FROM pack_runs" ||
	fail "the runs: $(pc_psql "SELECT * FROM pack_runs")"
[ "$(pc_psql "$links")" = "$before" ] || fail "pack_links changed: $(pc_psql "$links")"
sql_is "7000|$(pc_psql "SELECT sscc_text($PALLET / 10)")" "SELECT case_serial || '|' || pallet FROM pack_parents(111)" ||
	fail "pack_parents(111): its case and the case's pallet"
sql_is 7001 "SELECT case_serial FROM pack_parents(127)" || fail "pack_parents(127)"
sql_is "|" "SELECT coalesce(case_serial::text, '') || '|' || coalesce(pallet, '') FROM pack_parents(128)" ||
	fail "pack_parents(128): packed in nothing"
sql_is "31|100|7001" "SELECT count(*) || '|' || min(serial) || '|' || max(serial) FROM pack_descendants(true, $PALLET)" ||
	fail "the pallet's descendants"
sql_is 26 "SELECT count(*) FROM pack_descendants(false, 7000)" || fail "the case's descendants and itself"
note "ok - 034 on existing links: $(pc_psql "SELECT count(*) FROM pack_runs") runs for 31 links, the same links"
