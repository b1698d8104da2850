#!/bin/bash
# test_server_analytics.sh: scans carry their region, the roll-ups equal the
# raw scans, and the analytics endpoints answer from them.
# 1. Geolocation: --geoip with a small MaxMind-format database this test
#    writes (make_geoip.pl, with MaxMind's writer: Debian's
#    libmaxmind-db-writer-perl; checked with mmdblookup). A scan from
#    127.0.1.x is stored as CN / CN-ZJ / Hangzhou, from 127.0.3.x as US /
#    US-CA, from 127.0.0.1 (in no network) with no region; behind a trusted
#    proxy, the X-Forwarded-For address counts. The file replaced is read
#    again by itself; SIGHUP reads it too.
# 2. A random workload (scan_workload.py: lookups, landing pages, claims,
#    typos, forgeries, from Zhejiang, Guangdong, California, elsewhere) over
#    two brands, plus scans of earlier days written through scan_ingest()
#    directly (a week ago: week-over-week) and one flush sent twice (counted
#    once): every roll-up row equals the GROUP BY over the raw scans
#    (bench/rollups_raw.sql, raw_rollup_diff).
# 3. The endpoints: overview, batches and regions for the group, for one
#    brand and for two, each reply equal to the same answer computed from the
#    raw scans; brand B's token sees nothing of brand A; scope and input
#    checks. Points spent per day (spend_days, 025_spent.sql) after random
#    spends through the API: the group's equal SUM over spends by day; a
#    brand-limited token gets null.
PC_TIMEOUT=120
. "$(dirname "$0")/harness.sh"
. "$(dirname "$0")/server_lib.sh"

command -v mmdblookup >/dev/null || skip "mmdblookup (mmdb-bin) is not installed"
perl -MMaxMind::DB::Writer::Tree -e 1 2>/dev/null || skip "libmaxmind-db-writer-perl is not installed"

setup # TEA of brand "Packcode Tea"
pcgen product add --sku COLA --name "Cola" --brand "Packcode Cola" --points 7 >/dev/null || fail "product COLA"
mint 200
cp "$CODES" "$T/tea1"
TEA1=$BATCH
mint 100
cp "$CODES" "$T/tea2"
pcgen mint --product COLA --count 150 --out "$T/cola" --host pack.example --short -q || fail "mint COLA"
tail -n +2 "$T/cola/codes.csv" | cut -d, -f1 >"$T/cola.codes"
COLA=$(jq -r .batch "$T/cola/batch.json")
elsewhere "$T/other.keyring" 1 50 >"$T/forged"
BTEA=$(sql "SELECT id FROM brands WHERE name = 'Packcode Tea'")
BCOLA=$(sql "SELECT id FROM brands WHERE name = 'Packcode Cola'")
TTEA=$(pcgen token add --name tea --scopes read --brands "Packcode Tea" 2>/dev/null) || fail "token tea"
TCOLA=$(pcgen token add --name cola --scopes read --brands "Packcode Cola" 2>/dev/null) || fail "token cola"
TBOTH=$(pcgen token add --name both --scopes read --brands "Packcode Tea,Packcode Cola" 2>/dev/null) || fail "token both"
TALL=$(pcgen token add --name group --scopes read 2>/dev/null) || fail "token group"
TPTS=$(pcgen token add --name points --scopes points 2>/dev/null) || fail "token points"

perl "$(dirname "$0")/make_geoip.pl" "$T/geo.mmdb" || fail "make_geoip.pl"
mmdblookup -f "$T/geo.mmdb" -i 127.0.1.9 country iso_code | grep -q '"CN"' ||
	fail "mmdblookup does not read the test database"

# ---- 1. geolocation
server_start --threads 2 --pool 3 --geoip "$T/geo.mmdb" --trusted-proxy 127.0.0.1/32
# scan_of UA: "country|subdivision|city" of the scan made with User-Agent UA
scan_of() { sql "SELECT concat_ws('|', coalesce(country, '-'), coalesce(subdivision, '-'), coalesce(city, '-'))
                 FROM scans WHERE user_agent = '$1'"; }
written() { [ -n "$(scan_of "$1")" ]; }
curl -s -o /dev/null --interface 127.0.1.7 -A geo-zj "$BASE/api/v1/codes/$(code 1 "$T/tea1")"
curl -s -o /dev/null --interface 127.0.3.7 -A geo-us "$BASE/c/$(code 2 "$T/tea1")"
curl -s -o /dev/null -A geo-none "$BASE/api/v1/codes/$(code 3 "$T/tea1")"
curl -s -o /dev/null -A geo-gd -H 'X-Forwarded-For: 198.51.100.200' "$BASE/api/v1/codes/$(code 4 "$T/tea1")"
curl -s -o /dev/null --interface 127.0.1.8 -A geo-untrusted -H 'X-Forwarded-For: 203.0.113.5' \
	"$BASE/api/v1/codes/$(code 5 "$T/tea1")"
for ua in geo-zj geo-us geo-none geo-gd geo-untrusted; do wait_until 5 "the scan of $ua" written $ua; done
[ "$(scan_of geo-zj)" = "CN|CN-ZJ|Hangzhou" ] || fail "127.0.1.7: $(scan_of geo-zj)"
[ "$(scan_of geo-us)" = "US|US-CA|Mountain View" ] || fail "127.0.3.7: $(scan_of geo-us)"
[ "$(scan_of geo-none)" = "-|-|-" ] || fail "127.0.0.1: $(scan_of geo-none)"
[ "$(scan_of geo-gd)" = "CN|CN-GD|Shenzhen" ] || fail "X-Forwarded-For via a trusted proxy: $(scan_of geo-gd)"
[ "$(scan_of geo-untrusted)" = "CN|CN-ZJ|Hangzhou" ] || fail "an untrusted peer's X-Forwarded-For counted: $(scan_of geo-untrusted)"
ok "regions stored on the scan: 127.0.1.x Zhejiang, 127.0.3.x California, X-Forwarded-For only from a trusted proxy, unknown: none"

# the file replaced (a new inode): read again without a signal
perl "$(dirname "$0")/make_geoip.pl" --v2 "$T/geo.mmdb" || fail "make_geoip.pl --v2"
for w in 0 1; do # each worker looks at the file once a second on its own
	wait_until 5 "worker $w to read the replaced database" grep -q "event=geoip_reloaded worker=$w why=file_changed" "$T/server.log"
done
curl -s -o /dev/null -A geo-gd2 -H 'X-Forwarded-For: 198.51.100.201' "$BASE/api/v1/codes/$(code 6 "$T/tea1")"
wait_until 5 "the scan of geo-gd2" written geo-gd2
[ "$(scan_of geo-gd2)" = "CN|CN-GD|Guangzhou" ] || fail "after the file changed: $(scan_of geo-gd2)"
kill -HUP "$SERVER_PID"
wait_until 5 "SIGHUP to read the database again" grep -q 'event=geoip_reloaded worker=0 why=signal' "$T/server.log"
ok "the database is read again when its file changes, and on SIGHUP"

# ---- 2. a random workload; roll-ups = raw GROUP BY
BEFORE=$(sql "SELECT count(*) FROM scans")
SENT=$(python3 "$(dirname "$0")/scan_workload.py" "$PORT" 3000 "${PC_SEED:-$RANDOM}" \
	"$T/tea1" "$T/tea2" "$T/cola.codes" "$T/forged") || fail "the workload failed"
wait_until 10 "the workload's $SENT scans to be written" scans_since "$BEFORE" "$SENT"
# earlier days, through the writer's own function: 8 and 1 days ago, Tea and Cola
ingest() { # ingest TAG DAYS-AGO SERIAL KIND OUTCOME N: N scans of SERIAL, one flush
	sql "SELECT scan_writer_session();
	     INSERT INTO scan_stage (tag, at, serial, code, kind, outcome, client, scanner, country, subdivision, city)
	     SELECT '$1', now() - interval '$2 days', $3, 'c$3', '$4', '$5', '198.51.100.9', g % 5, 'CN', 'CN-ZJ', 'Hangzhou'
	       FROM generate_series(1, $6) g;
	     SELECT scan_ingest()"
}
FT=$(sql "SELECT serial_first FROM batches WHERE id = $TEA1")
FC=$(sql "SELECT serial_first FROM batches WHERE id = $COLA")
[ "$(ingest t1 8 "$FT" lookup genuine 40 | tail -n 1)" = written ] || fail "ingest t1"
[ "$(ingest t2 7 "$((FC + 1))" claim awarded 3 | tail -n 1)" = written ] || fail "ingest t2"
[ "$(ingest t3 1 0 lookup typo 9 | tail -n 1)" = written ] || fail "ingest t3"
TOTAL=$(sql "SELECT sum(scans) FROM scan_day_totals WHERE brand_id = 0")
[ "$(ingest t2 7 "$((FC + 1))" claim awarded 3 | tail -n 1)" = duplicate ] || fail "a flush sent again was not recognised"
sql_is "$TOTAL" "SELECT sum(scans) FROM scan_day_totals WHERE brand_id = 0" || fail "a flush sent again was counted twice"
ok "a flush sent again (its commit's reply lost) is written once"

psql "$PACKCODE_DB" -Xq -v ON_ERROR_STOP=1 -f "$abs_top_srcdir/bench/rollups_raw.sql" || fail "bench/rollups_raw.sql"
DIFF=$(sql "SELECT what || ' ' || row_ FROM raw_rollup_diff() LIMIT 5")
[ -z "$DIFF" ] || fail "roll-ups differ from the raw scans: $DIFF"
ROWS=$(sql "SELECT count(*) FROM scan_rollups")
ok "$SENT random scans (+52 of earlier days): $ROWS roll-up rows and the day totals with their distinct scanners equal GROUP BY over the raw scans"

# ---- 2b. random spends through the API (025_spent.sql): a spend, a repeat
# of it (counted once) and a refused one (not counted)
SPENT=0
i=0
while IFS='|' read -r m bal; do
	i=$((i + 1))
	n=$((RANDOM % bal + 1))
	for k in 1 2; do # the second is a repeat: the same key and request
		ST=$(curl -s --max-time 10 -o "$T/spend" -w '%{http_code}' -H "Authorization: Bearer $TPTS" \
			-H 'Content-Type: application/json' -H "Idempotency-Key: s-$i" \
			-d "{\"points\":$n}" "$BASE/api/v1/admin/members/$m/spend")
		[ "$ST" = 200 ] || fail "spend $n of $m: $ST $(cat "$T/spend")"
	done
	ST=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TPTS" \
		-H 'Content-Type: application/json' -H "Idempotency-Key: big-$i" \
		-d '{"points":1000000000}' "$BASE/api/v1/admin/members/$m/spend")
	[ "$ST" = 409 ] || fail "an insufficient spend of $m: $ST"
	SPENT=$((SPENT + n))
done < <(sql "SELECT member || '|' || balance FROM members WHERE balance > 0 ORDER BY random() LIMIT 12")
[ "$SPENT" -gt 0 ] || fail "no member with points to spend"
sql_is "$SPENT" "SELECT coalesce(sum(points), 0) FROM spends" || fail "spends: $(sql "SELECT sum(points) FROM spends") points, sent $SPENT"
sql_is "$SPENT" "SELECT sum(points) FROM spend_days" || fail "spend_days: $(sql "SELECT sum(points) FROM spend_days"), spends $SPENT"
ok "$i random spends (and their repeats, and refused ones): spend_days holds each once"

# ---- 3. the endpoints
as() { # as TOKEN PATH: GET, status in STATUS, body in $T/body
	STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $1" "$BASE$2")
}
TODAY=$(sql "SELECT (now() AT TIME ZONE 'UTC')::date")
FROM=$(sql "SELECT (now() AT TIME ZONE 'UTC')::date - 13")
# same TOKEN PATH RAW-SQL: the reply (200) equals RAW-SQL's JSON
same() {
	as "$1" "$2"
	[ "$STATUS" = 200 ] || fail "GET $2: $STATUS $(cat "$T/body")"
	local eq
	eq=$(sql "SELECT \$j\$$(cat "$T/body")\$j\$::jsonb = $3") || fail "GET $2: not JSON: $(head -c 300 "$T/body")"
	if [ "$eq" != t ]; then
		sql "SELECT $3" | jq -S . >"$T/raw.json"
		jq -S . "$T/body" >"$T/got.json"
		fail "GET $2 differs from the raw scans ($3): $(diff "$T/got.json" "$T/raw.json" | head -n 30)"
	fi
}
for who in "TALL:NULL" "TTEA:'{$BTEA}'" "TCOLA:'{$BCOLA}'" "TBOTH:'{$BTEA,$BCOLA}'"; do
	var=${who%%:*}
	tok=${!var}
	b=${who#*:}
	same "$tok" /api/v1/admin/analytics/overview "raw_overview('$FROM', '$TODAY', $b)"
	same "$tok" "/api/v1/admin/analytics/overview?from=$FROM&to=$TODAY" "raw_overview('$FROM', '$TODAY', $b)"
	same "$tok" /api/v1/admin/analytics/batches "raw_batches('$FROM', '$TODAY', $b, NULL)"
	same "$tok" /api/v1/admin/analytics/batches?product=TEA "raw_batches('$FROM', '$TODAY', $b, 'TEA')"
	for level in country subdivision city; do
		same "$tok" "/api/v1/admin/analytics/regions?level=$level" \
			"raw_regions('$FROM', '$TODAY', $b, '$level', NULL, NULL)"
	done
	same "$tok" "/api/v1/admin/analytics/regions?country=CN&level=city" \
		"raw_regions('$FROM', '$TODAY', $b, 'city', 'CN', NULL)"
	same "$tok" "/api/v1/admin/analytics/regions?batch=$TEA1&level=city" \
		"raw_regions('$FROM', '$TODAY', $b, 'city', NULL, $TEA1)"
done
ok "overview, batches and regions equal the raw scans' answers for the group, each brand and both"

# what the numbers say
as "$TALL" "/api/v1/admin/analytics/overview?from=$TODAY&to=$TODAY"
jq -e --argjson n "$(sql "SELECT count(*) FROM scans WHERE at >= (now() AT TIME ZONE 'UTC')::date::timestamp AT TIME ZONE 'UTC'")" \
	'.days | length == 1 and .[0].counts.scans == $n and .[0].counts.scanners > 1' "$T/body" >/dev/null ||
	fail "today's overview: $(cat "$T/body")"
D7=$(sql "SELECT (now() AT TIME ZONE 'UTC')::date - 1")
as "$TALL" "/api/v1/admin/analytics/overview?from=$D7&to=$D7"
jq -e '.days[0].counts.typo == 9 and .days[0].week_before.genuine == 40 and .days[0].change_pct.genuine == -100
	and .days[0].change_pct.scans == -77.5 and .days[0].change_pct.typo == null' "$T/body" >/dev/null ||
	fail "week over week: $(cat "$T/body")"
as "$TCOLA" "/api/v1/admin/analytics/overview?from=$TODAY&to=$TODAY"
jq -e '.days[0].week_before.claims == 3 and .days[0].week_before.points == 21' "$T/body" >/dev/null ||
	fail "a week before, Cola: $(cat "$T/body")"
as "$TTEA" /api/v1/admin/analytics/batches
jq -e --argjson c "$COLA" '[.products[].sku] == ["TEA"] and ([.products[].batches[].id] | index($c) == null)' "$T/body" >/dev/null ||
	fail "the Tea token sees Cola: $(cat "$T/body")"
as "$TCOLA" /api/v1/admin/analytics/regions
jq -e '[.regions[].scans] | add > 0' "$T/body" >/dev/null || fail "the Cola token's regions: $(cat "$T/body")"
as "$TALL" "/api/v1/admin/analytics/regions?level=subdivision&country=CN"
jq -e '[.regions[].subdivision] | sort == ["CN-GD", "CN-ZJ"]' "$T/body" >/dev/null ||
	fail "Chinese provinces: $(cat "$T/body")"
as "$TALL" "/api/v1/admin/analytics/overview?from=$TODAY&to=$TODAY"
jq -e --argjson p "$(sql "SELECT sum(points) FROM spends WHERE (created_at AT TIME ZONE 'UTC')::date = '$TODAY'")" \
	--argjson n "$(sql "SELECT count(*) FROM spends WHERE (created_at AT TIME ZONE 'UTC')::date = '$TODAY'")" \
	'.days[0].counts.points_spent == $p and .days[0].counts.spends == $n and .days[0].week_before.points_spent == 0
	 and .days[0].change_pct.points_spent == null and .points_spent_note == null' "$T/body" >/dev/null ||
	fail "points spent today: $(cat "$T/body")"
as "$TTEA" "/api/v1/admin/analytics/overview?from=$TODAY&to=$TODAY"
jq -e '.days[0].counts.points_spent == null and .days[0].counts.spends == null
	and (.days[0].counts | has("points_spent")) and (.points_spent_note | type) == "string"' "$T/body" >/dev/null ||
	fail "a brand's token sees the group's spends: $(cat "$T/body")"
ok "week-over-week change, one brand's print runs only, provinces of China; points spent for the group, null for a brand"

# refusals
for q in "from=2026-13-01" "to=20260101" "from=2026-02-30" "level=planet" "country=cn" "product=a%20b" \
	"from=2026-03-01&to=2026-02-01" "from=2024-01-01&to=2026-01-01" "from=2026-01-01&from=2026-01-02"; do
	as "$TALL" "/api/v1/admin/analytics/regions?$q"
	[ "$STATUS" = 400 ] && jq -e '.error == "bad_request"' "$T/body" >/dev/null ||
		fail "?$q: $STATUS $(cat "$T/body")"
done
as "$TALL" "/api/v1/admin/analytics/overview?from=2000-01-01"
[ "$STATUS" = 400 ] || fail "a range of 26 years: $STATUS $(cat "$T/body")"
as "$TPTS" /api/v1/admin/analytics/overview
[ "$STATUS" = 403 ] || fail "a token without read: $STATUS"
STATUS=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/api/v1/admin/analytics/overview")
[ "$STATUS" = 401 ] || fail "no token: $STATUS"
ok "bad dates, ranges, levels and countries are 400; no read scope 403; no token 401"
server_stop
