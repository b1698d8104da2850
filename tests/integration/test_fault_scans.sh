#!/bin/bash
# test_fault_scans.sh: scan records survive PostgreSQL crashing under load
# and the server restarting. Every scan is a lookup of a typo whose text is
# unique (DUR<n>), answered from the keyring alone, so the server keeps
# answering while PostgreSQL is down and each acknowledged reply names one
# row that must be in scans afterwards.
# 1. `pg_ctl stop -m immediate` under load, then start: the flushes that
#    failed are kept and written when the database is back; every reply the
#    clients got is one row of scans (none missing, none twice), nothing is
#    counted as dropped (the buffer, 400000 rows a thread, holds the whole
#    load), and the roll-ups count every row once.
# 2. SIGTERM under load: the server flushes before it exits; a restart finds
#    every acknowledged scan.
# 3. A small --scan-buffer with the database away: beyond it, scans are
#    dropped, counted with reason="overflow" and logged; the rest is written.
PC_TIMEOUT=120
. "$(dirname "$0")/harness.sh"
. "$(dirname "$0")/server_lib.sh"

setup
awk 'BEGIN { for (i = 1; i <= 200000; i++) printf "GET\t/api/v1/codes/DUR%d\n", i }' >"$T/load"

# dropped REASON: packcode_scans_dropped_total{reason="REASON"}.
dropped() { metric "packcode_scans_dropped_total{reason=\"$1\"}"; }
# acked OUT: the codes of the requests answered (status not 0) in loadgen's OUT.
acked() { awk -F'\t' '$2 != 0 { printf "DUR%d\n", $1 + 1 }' "$1" | sort -u; }
# load_acked FILE: the codes of FILE into the table acked (replacing it).
load_acked() {
	sql "SET client_min_messages = warning; DROP TABLE IF EXISTS acked; CREATE TABLE acked (code text)"
	psql "$PACKCODE_DB" -Xq -v ON_ERROR_STOP=1 -c "\\copy acked FROM '$1'" || fail "cannot load $1"
}
# all_written: every code of acked is in scans (else prints how many are not).
all_written() {
	local n
	n=$(sql "SELECT count(*) FROM acked a WHERE NOT EXISTS (SELECT 1 FROM scans s WHERE s.code = a.code)")
	[ "$n" = 0 ] || { echo "$n not written yet"; return 1; }
}
# dur_rows: rows of scans of this test's codes.
dur_rows() { sql "SELECT count(*) FROM scans WHERE code LIKE 'DUR%'"; }

# ---- 1. PostgreSQL stops -m immediate under load, then starts again
server_start --threads 2 --pool 3 --scan-buffer 400000
"$LOADGEN" --port "$PORT" -c 16 -d 6 --out "$T/crash.out" "$T/load" >"$T/crash.txt" 2>&1 &
LOAD=$!
wait_until 10 "scans to be written under load" scans_since 0 2000
pg_stop immediate
sleep 1.5 # the load goes on against a server whose database is away: scans are buffered
pg_start_again
wait $LOAD || true
echo "# load: $(cat "$T/crash.txt")"
acked "$T/crash.out" >"$T/crash.codes"
N=$(wc -l <"$T/crash.codes")
[ "$N" -gt 5000 ] || fail "too little load to judge: $N replies"
load_acked "$T/crash.codes"
wait_until 20 "every acknowledged scan to be written" all_written
[ "$(sql "SELECT count(*) - count(DISTINCT code) FROM scans WHERE code LIKE 'DUR%'")" = 0 ] ||
	fail "a scan was written twice"
for r in overflow rejected shutdown; do
	[ "$(dropped $r)" = 0 ] || fail "scans dropped ($r) across a PostgreSQL crash: $(dropped $r)"
done
grep -Eq 'event=(scan_write_failed|db_disconnected pool=packcode-server-[0-9]+-scans)' "$T/server.log" ||
	fail "the scan writers never lost their database: PostgreSQL was not stopped under load"
ALL=$(sql "SELECT count(*) FROM scans")
sql_is "$ALL" "SELECT sum(scans) FROM scan_day_totals WHERE brand_id = 0" ||
	fail "the day totals do not count every written scan once"
sql_is "$ALL" "SELECT sum(scans) FROM scan_rollups" ||
	fail "the roll-ups do not count every written scan once"
ok "PostgreSQL crash under load: $N acknowledged scans, all written once, none dropped"

# ---- 2. SIGTERM under load, then a restart
BEFORE=$(dur_rows)
awk 'BEGIN { for (i = 300001; i <= 400000; i++) printf "GET\t/api/v1/codes/DUR%d\n", i }' >"$T/load2"
"$LOADGEN" --port "$PORT" -c 16 -d 2 --out "$T/term.out" "$T/load2" >"$T/term.txt" 2>&1 || true
kill -TERM "$SERVER_PID"
server_wait_exit 15 "the server to exit after SIGTERM"
[ "$SERVER_RC" = 0 ] || fail "the server exited $SERVER_RC on SIGTERM"
awk -F'\t' '$2 != 0 { printf "DUR%d\n", $1 + 300001 }' "$T/term.out" | sort -u >"$T/term.codes"
M=$(wc -l <"$T/term.codes")
load_acked "$T/term.codes"
all_written || fail "SIGTERM: acknowledged scans missing"
server_start --threads 2 --pool 3 --scan-buffer 400000
sql_is "$((BEFORE + M))" "SELECT count(*) FROM scans WHERE code LIKE 'DUR%'" ||
	fail "after the restart: not every acknowledged scan is there once"
ok "SIGTERM: $M acknowledged scans flushed before exit, found after a restart"
server_stop

# ---- 3. overflow: a buffer of 1000 rows with the database away
server_start --threads 1 --pool 2 --scan-buffer 1000
pg_stop immediate
awk 'BEGIN { for (i = 500001; i <= 503000; i++) printf "GET\t/api/v1/codes/DUR%d\n", i }' >"$T/load3"
"$LOADGEN" --port "$PORT" -c 4 -n 3000 --out "$T/over.out" "$T/load3" >"$T/over.txt" 2>&1 || true
[ "$(dropped overflow)" = 2000 ] || fail "overflow: dropped $(dropped overflow), not 2000"
grep -q 'event=scans_dropped worker=0 reason=overflow' "$T/server.log" || fail "the overflow was not logged"
pg_start_again
wait_until 20 "the 1000 buffered scans to be written" sql_is 1000 \
	"SELECT count(*) FROM scans WHERE code LIKE 'DUR50____'"
ok "overflow: 1000 kept and written, 2000 dropped, counted (reason=overflow) and logged"
server_stop
