#!/bin/bash
# test_privacy_scans.sh: the scans' privacy job (docs/privacy.md,
# "Retention"; sql/017_privacy.sql, server/engine/tidy.c). Scans seeded by
# SQL with old timestamps (one month wholly past retention in a partition of
# its own, older rows in the default partition, rows past the address window,
# rows within it) and real scans through the server; then two servers run the
# job every second: addresses of scans older than --scan-address-days are cut
# to /24 (IPv4) and /48 (IPv6), younger ones untouched; scans older than
# --scan-retention-days are gone (the old partition dropped); the roll-ups
# are unchanged; one audit row (scans.tidy), one log line, and a second run
# does nothing more. The privacy notice (/privacy) in zh-CN, zh-Hant and en,
# its version --privacy-version and the retention as configured; JSON for
# API clients.
PC_TIMEOUT=60
. "$(dirname "$0")/harness.sh"
. "$(dirname "$0")/server_lib.sh"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

SERVER2_PID=
ps_exit() {
	local rc=$?
	set +e
	if [ -n "$SERVER2_PID" ]; then
		kill -KILL "$SERVER2_PID" 2>/dev/null
		wait "$SERVER2_PID" 2>/dev/null
	fi
	(exit "$rc")
	server_exit
}
trap ps_exit EXIT

# check QUERY EXPECTED: the query answers EXPECTED, or the test fails
check() { sql_is "$2" "$1" || fail "$1"; }

setup
mint 2
C1=$(code 1 "$CODES")

# real scans through the writer (roll-ups made), the job off
server_start --threads 1 --pool 2 --privacy-interval 0
for i in 1 2 3; do
	curl -s -o /dev/null --max-time 10 -H 'Accept: application/json' "$BASE/c/$C1" ||
		fail "scan $i"
done
wait_until 20 "the real scans to be written" sql_is t "SELECT count(*) >= 3 FROM scans WHERE serial = $FIRST"
server_stop

# old scans, by SQL: a month's partition wholly past retention (90 days), the
# default partition's rows past it, rows past the address window (30 days),
# rows within it
sql "CREATE TABLE scans_202501 PARTITION OF scans FOR VALUES FROM ('2025-01-01') TO ('2025-02-01')"
sql "INSERT INTO scans (at, serial, code, kind, outcome, client, user_agent) VALUES
	('2025-01-15', $FIRST, 'old-partition', 'landing', 'genuine', '10.0.0.1', 'ua'),
	('2025-01-16', $FIRST, 'old-partition', 'landing', 'genuine', '10.0.0.2', 'ua'),
	(now() - interval '100 days', $FIRST, 'past-retention', 'landing', 'genuine', '10.1.2.3', 'ua'),
	(now() - interval '40 days', $FIRST, 'past-window-4', 'landing', 'genuine', '192.0.2.77', 'ua'),
	(now() - interval '40 days', $FIRST, 'past-window-6', 'landing', 'genuine', '2001:db8:1234:5678::9', 'ua'),
	(now() - interval '31 days', $FIRST, 'past-window-null', 'lookup', 'genuine', NULL, 'ua'),
	(now() - interval '10 days', $FIRST, 'within-4', 'landing', 'genuine', '198.51.100.23', 'ua'),
	(now() - interval '10 days', $FIRST, 'within-6', 'landing', 'genuine', '2001:db8:aaaa:bbbb::1', 'ua')"
ROLLUPS="SELECT md5(string_agg(x::text, ',' ORDER BY x::text)) FROM (
	SELECT r::text AS x FROM scan_rollups r UNION ALL SELECT r::text FROM scan_batch_days r
	UNION ALL SELECT r::text FROM scan_region_days r UNION ALL SELECT r::text FROM scan_day_totals r
	UNION ALL SELECT r::text FROM code_stats r) y"
BEFORE=$(sql "$ROLLUPS")
[ "$(sql "SELECT count(*) FROM scan_rollups")" -gt 0 ] || fail "no roll-ups made by the real scans"
LIVE_CLIENTS=$(sql "SELECT string_agg(host(client), ',' ORDER BY at) FROM scans WHERE at > now() - interval '1 day'")

# bad settings are refused at start
"$SERVER" --listen 127.0.0.1:0 --scan-retention-days -1 >"$T/bad.log" 2>&1 &&
	fail "--scan-retention-days -1 accepted"
ok "bad settings refused"

# two servers, the job every second on both: one runs at a time
ARGS=(--threads 1 --pool 2 --privacy-interval 1 --scan-address-days 30 --scan-retention-days 90)
server_start "${ARGS[@]}"
"$SERVER" --listen 127.0.0.1:0 "${ARGS[@]}" >"$T/server2.log" 2>&1 &
SERVER2_PID=$!
wait_until 20 "the job to run" sql_is t "SELECT count(*) >= 1 FROM audit WHERE action = 'scans.tidy'"
sleep 2.5 # two more runs each: nothing more to do

check "SELECT count(*) FROM audit WHERE action = 'scans.tidy'" 1
check "SELECT to_regclass('scans_202501') IS NULL" t
check "SELECT count(*) FROM scans WHERE code IN ('old-partition', 'past-retention')" 0
check "SELECT host(client) || '/' || masklen(client) FROM scans WHERE code = 'past-window-4'" 192.0.2.0/24
check "SELECT host(client) || '/' || masklen(client) FROM scans WHERE code = 'past-window-6'" 2001:db8:1234::/48
check "SELECT count(*) FROM scans WHERE code = 'past-window-null' AND client IS NULL" 1
check "SELECT host(client) || '/' || masklen(client) FROM scans WHERE code = 'within-4'" 198.51.100.23/32
check "SELECT host(client) || '/' || masklen(client) FROM scans WHERE code = 'within-6'" 2001:db8:aaaa:bbbb::1/128
check "SELECT string_agg(host(client), ',' ORDER BY at) FROM scans WHERE at > now() - interval '1 day'" \
	"$LIVE_CLIENTS"
ok "addresses cut past the window (/24, /48), whole within it; scans past retention gone, partition dropped"

check "$ROLLUPS" "$BEFORE"
ok "roll-ups and code summaries unchanged"

check "SELECT actor || ' ' || target || ' ' || (detail->>'addresses_truncated') || ' ' ||
	(detail->>'scans_deleted') || ' ' || (detail->'partitions_dropped')::text
	FROM audit WHERE action = 'scans.tidy'" 'packcode-server scans 2 3 ["scans_202501"]'
N=$(cat "$T/server.log" "$T/server2.log" | grep -c 'event=scans_tidied addresses_truncated=2 scans_deleted=3 partitions_dropped=1')
[ "$N" = 1 ] || fail "expected one log line of the run, got $N"
check "SELECT tidied_at > now() - interval '5 seconds' FROM scan_privacy_state" t
ok "audited once (scans.tidy), logged once; later runs find nothing to do"

# ---- the privacy notice ----
# notice LANG [CURL-ARGS...]: GET /privacy in LANG into $T/body; sets STATUS
notice() {
	local lang=$1
	shift
	STATUS=$(curl -s --max-time 10 -D "$T/h" -o "$T/body" -w '%{http_code}' \
		-H "Accept-Language: $lang" "$@" "$BASE/privacy")
}
has() { grep -qF -- "$1" "$T/body"; }
notice zh-CN
[ "$STATUS" = 200 ] && has '<h1>隐私声明</h1>' && has '版本 2026-12-01' && has '30 天后，地址将被截短' &&
	has '90 天后删除' && has '<html lang="zh-CN"' || fail "zh-CN notice: $STATUS $(cat "$T/body")"
notice zh-TW
[ "$STATUS" = 200 ] && has '<h1>隱私聲明</h1>' && has '30 天後，位址將被截短' || fail "zh-Hant notice"
notice en
[ "$STATUS" = 200 ] && has '<h1>Privacy notice</h1>' && has 'Version 2026-12-01' &&
	has 'After 30 days the address is shortened' && has 'deleted after 90 days' || fail "en notice"
notice en -H 'Accept: application/json'
[ "$STATUS" = 200 ] && [ "$(jq -c . "$T/body")" = \
	'{"version":"2026-12-01","url":"/privacy","languages":["zh-CN","zh-Hant","en"],"scan_address_days":30,"scan_retention_days":90}' ] ||
	fail "notice as JSON: $STATUS $(cat "$T/body")"
kill -TERM "$SERVER2_PID" && wait "$SERVER2_PID"
SERVER2_PID=
server_stop
server_start --threads 1 --pool 2 --privacy-version 2027-01-15 --scan-address-days 0
notice en
has 'Version 2027-01-15' && has 'The brand keeps these records' && ! has 'shortened' ||
	fail "the notice follows the options: $(cat "$T/body")"
ok "the privacy notice: zh-CN, zh-Hant, en; its version and retention as configured; JSON to API clients"
