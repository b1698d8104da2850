#!/bin/bash
# test_server_insights.sh: the console's members and counterfeit reads and
# the background export jobs (docs/api.md, "Insights"), over real HTTP and
# PostgreSQL.
# 1. Members: three members claim Tea and Cola codes (one claim moved 40
#    days back): segments (new, repeat, lapsed, top) for the group, for the
#    Tea token and the Cola token equal what was built; cohorts equal a
#    GROUP BY over the raw claims. Search by phone: masked without pii,
#    unmasked with it (and audited member.pii_read); the Cola token does not
#    find a Tea-only member. Timeline: the group sees every event, the Tea
#    token only Tea's, the Cola token gets 404 for a Tea-only member.
# 2. Not-genuine scans: forged codes scanned from two regions (--geoip with
#    make_geoip.pl's database) and flushes of other hours through
#    scan_ingest() directly (one sent twice): scan_hour_days equals the
#    GROUP BY over raw scans, and the reply's by_region and by_hour equal it.
# 3. Export jobs: queued (202), run off the request path into --export-dir,
#    rows and rows_total equal the SQL count (400,000 seeded scans make one
#    last some seconds: its progress is read while it runs), the download is the file
#    (attachment) and is audited with who queued it; a brand token sees
#    neither the group's job nor its download; a job queued while no server
#    runs jobs, and one left running by a "crash", are both run after a
#    restart.
PC_TIMEOUT=120
. "$(dirname "$0")/harness.sh"
. "$(dirname "$0")/server_lib.sh"

unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
command -v mmdblookup >/dev/null || skip "mmdblookup (mmdb-bin) is not installed"
perl -MMaxMind::DB::Writer::Tree -e 1 2>/dev/null || skip "libmaxmind-db-writer-perl is not installed"

setup # TEA of brand "Packcode Tea"
pcgen product add --sku COLA --name "Cola" --brand "Packcode Cola" --points 7 >/dev/null || fail "product COLA"
mint 20
cp "$CODES" "$T/tea"
pcgen mint --product COLA --count 20 --out "$T/cola" --host pack.example --short -q || fail "mint COLA"
tail -n +2 "$T/cola/codes.csv" | cut -d, -f1 >"$T/cola.codes"
elsewhere "$T/other.keyring" 1 20 >"$T/forged"
tok() { pcgen token add --name "$1" --scopes "$2" ${3:+--brands "$3"} 2>/dev/null || fail "token $1"; }
TALL=$(tok group read,export)
TPII=$(tok pii read,pii)
TTEA=$(tok tea read,export "Packcode Tea")
TCOLA=$(tok cola read,export "Packcode Cola")
perl "$(dirname "$0")/make_geoip.pl" "$T/geo.mmdb" || fail "make_geoip.pl"

server_start --threads 1 --pool 3 --geoip "$T/geo.mmdb" --export-dir "$T/exports"
get() { # get TOKEN PATH: sets STATUS, $T/body
	STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $1" "$BASE$2")
}
want() { [ "$STATUS" = "$1" ] || fail "$2: $STATUS $(head -c 300 "$T/body")"; }

# ---- 1. members
claim "$(code 1 "$T/tea")" 13900000001 && claim "$(code 2 "$T/tea")" 13900000001 &&
	claim "$(code 3 "$T/tea")" 13900000001 || fail "claims of m1"
[ "$STATUS" = 200 ] || fail "claim: $STATUS $(cat "$T/body")"
M1=$(jq -r .member "$T/body")
claim "$(code 4 "$T/tea")" 13900000002
M2=$(jq -r .member "$T/body")
claim "$(code 1 "$T/cola.codes")" 13900000002
claim "$(code 2 "$T/cola.codes")" 13900000003
claim "$(code 3 "$T/cola.codes")" 13900000003
[ "$STATUS" = 200 ] || fail "claim: $STATUS $(cat "$T/body")"
TEA4=$(sql "SELECT serial_first + 3 FROM batches WHERE product_sku = 'TEA'")
sql "UPDATE redemptions SET claimed_at = now() - interval '40 days' WHERE serial = $TEA4"

segs() { jq -c '[.segments[] | [.segment, .members]]' "$T/body"; }
get "$TALL" /api/v1/admin/analytics/members
want 200 "members analytics"
[ "$(segs)" = '[["new",2],["repeat",2],["lapsed",0],["top",3]]' ] || fail "group segments: $(segs)"
[ "$(jq -r '.segments[0].definition' "$T/body")" = "first claim of the brand within the range" ] ||
	fail "definition: $(cat "$T/body")"
[ "$(jq -r '.to' "$T/body")" = "$(date -u +%F)" ] || fail "default to: $(jq -r .to "$T/body")"
[ "$(jq -r '.from' "$T/body")" = "$(date -u -d '29 days ago' +%F)" ] || fail "default from: $(jq -r .from "$T/body")"
get "$TTEA" /api/v1/admin/analytics/members
[ "$(segs)" = '[["new",1],["repeat",1],["lapsed",1],["top",1]]' ] || fail "tea segments: $(segs)"
get "$TCOLA" /api/v1/admin/analytics/members
[ "$(segs)" = '[["new",2],["repeat",1],["lapsed",0],["top",2]]' ] || fail "cola segments: $(segs)"
get "$TALL" "/api/v1/admin/analytics/members?brand=Packcode%20Cola"
[ "$(segs)" = '[["new",2],["repeat",1],["lapsed",0],["top",2]]' ] || fail "?brand= segments: $(segs)"
get "$TCOLA" "/api/v1/admin/analytics/members?brand=Packcode%20Tea"
[ "$(segs)" = '[["new",0],["repeat",0],["lapsed",0],["top",0]]' ] || fail "cola asking for tea: $(segs)"
# cohorts over 60 days against the raw claims
FROM=$(date -u -d '60 days ago' +%F)
get "$TALL" "/api/v1/admin/analytics/members?from=$FROM"
want 200 "members over 60 days"
got=$(jq -c '[.cohorts[] | select(.members > 0) | [.month, .members, .active[0]]]' "$T/body")
raw=$(sql "WITH f AS (SELECT member, date_trunc('month', min(claimed_at) AT TIME ZONE 'UTC') AS c
                        FROM redemptions GROUP BY member)
           SELECT coalesce(json_agg(json_build_array(to_char(c, 'YYYY-MM'), n, n) ORDER BY c), '[]')
             FROM (SELECT c, count(*) AS n FROM f WHERE c >= date_trunc('month', '$FROM'::date)
                    GROUP BY c) x" | jq -c .)
[ "$got" = "$raw" ] || fail "cohorts $got, raw $raw"
get "$TALL" "/api/v1/admin/analytics/members?from=2026-13-01"
want 400 "a bad date"
ok "members: segments by brand and ?brand=, cohorts equal raw SQL, bad dates refused"

# search by phone
get "$TALL" "/api/v1/admin/members/search?phone=139%200000%200001"
want 200 search
[ "$(jq -c '[.members[] | [.member, .phone, .balance]]' "$T/body")" = "[[\"$M1\",\"+86 139****0001\",30]]" ] ||
	fail "masked search: $(cat "$T/body")"
before=$(sql "SELECT count(*) FROM audit WHERE action = 'member.pii_read'")
get "$TPII" "/api/v1/admin/members/search?phone=13900000001"
[ "$(jq -r '.members[0].phone' "$T/body")" = "+8613900000001" ] || fail "pii search: $(cat "$T/body")"
[ "$(sql "SELECT count(*) FROM audit WHERE action = 'member.pii_read'")" = $((before + 1)) ] ||
	fail "the unmasked search was not audited"
get "$TCOLA" "/api/v1/admin/members/search?phone=13900000001"
[ "$(jq -c .members "$T/body")" = "[]" ] || fail "cola finds a tea-only member: $(cat "$T/body")"
get "$TCOLA" "/api/v1/admin/members/search?phone=13900000002"
[ "$(jq -c '[.members[] | [.member, .balance]]' "$T/body")" = "[[\"$M2\",null]]" ] ||
	fail "cola's member m2: $(cat "$T/body")"
get "$TALL" "/api/v1/admin/members/search?phone=13900000001&brand=Packcode%20Cola"
[ "$(jq -c .members "$T/body")" = "[]" ] || fail "?brand= narrows the search: $(cat "$T/body")"
get "$TALL" "/api/v1/admin/members/search?phone=12"
want 400 "a bad phone"
get "$TALL" "/api/v1/admin/members/search"
want 400 "no phone"
ok "search: masked, unmasked with pii and audited, brand-limited"

# timeline
get "$TALL" "/api/v1/admin/members/$M2/timeline"
want 200 timeline
[ "$(jq -c '[.events[] | select(.kind == "claim") | .product] | sort' "$T/body")" = '["COLA","TEA"]' ] ||
	fail "group timeline: $(cat "$T/body")"
[ "$(jq '[.events[] | select(.kind == "scan")] | length' "$T/body")" = 2 ] ||
	fail "group timeline scans: $(cat "$T/body")"
get "$TTEA" "/api/v1/admin/members/$M2/timeline"
want 200 "tea timeline"
[ "$(jq -c '[.events[] | .product] | unique' "$T/body")" = '["TEA"]' ] || fail "tea timeline: $(cat "$T/body")"
get "$TALL" "/api/v1/admin/members/$M2/timeline?brand=Packcode%20Cola"
[ "$(jq -c '[.events[] | .product] | unique' "$T/body")" = '["COLA"]' ] || fail "?brand= timeline: $(cat "$T/body")"
get "$TCOLA" "/api/v1/admin/members/$M1/timeline"
want 404 "cola reading a tea-only member"
get "$TALL" "/api/v1/admin/members/13900000001/timeline?limit=2"
[ "$(jq -r .member "$T/body")" = "$M1" ] && [ "$(jq '.events | length' "$T/body")" = 2 ] ||
	fail "timeline by phone, limit 2: $(cat "$T/body")"
get "$TALL" "/api/v1/admin/members/m-nobody/timeline"
want 404 "no such member"
ok "timeline: every event for the group, a brand's own only, 404 across brands"

# ---- 2. not-genuine scans by region and hour
BEFORE=$(sql "SELECT count(*) FROM scans")
for i in 1 2 3 4 5; do
	curl -s -o /dev/null --interface 127.0.1.7 "$BASE/api/v1/codes/$(code $i "$T/forged")"
done
for i in 6 7; do
	curl -s -o /dev/null --interface 127.0.3.7 "$BASE/c/$(code $i "$T/forged")"
done
wait_until 10 "7 scans written" scans_since "$BEFORE" 7
ingest() { # ingest TAG HOURS-AGO N: N not-genuine scans, one flush
	sql "SELECT scan_writer_session();
	     INSERT INTO scan_stage (tag, at, serial, code, kind, outcome, client, scanner, country, subdivision, city)
	     SELECT '$1', now() - interval '$2 hours', 0, 'x', 'lookup', 'not_genuine', '198.51.100.200', g, 'CN', 'CN-GD', 'Shenzhen'
	       FROM generate_series(1, $3) g;
	     SELECT scan_ingest()" | tail -n 1
}
[ "$(ingest h1 5 4)" = written ] && [ "$(ingest h2 30 3)" = written ] && [ "$(ingest h2 30 3)" = duplicate ] ||
	fail "ingest"
diff <(sql "SELECT day, hour, brand_id, not_genuine FROM scan_hour_days ORDER BY 1, 2, 3") \
	<(sql "SELECT (at AT TIME ZONE 'UTC')::date, extract(hour FROM at AT TIME ZONE 'UTC'), 0, count(*)
	         FROM scans WHERE outcome = 'not_genuine' GROUP BY 1, 2 ORDER BY 1, 2") >"$T/diff" ||
	fail "scan_hour_days differs from raw scans: $(cat "$T/diff")"
get "$TALL" "/api/v1/admin/analytics/not-genuine?from=$(date -u -d '2 days ago' +%F)"
want 200 not-genuine
[ "$(jq '.by_hour | length' "$T/body")" = 24 ] || fail "by_hour rows: $(cat "$T/body")"
raw=$(sql "WITH r AS (SELECT extract(hour FROM at AT TIME ZONE 'UTC')::integer AS h, count(*) AS n
                      FROM scans WHERE outcome = 'not_genuine'
                       AND at >= (current_date - 2)::timestamp AT TIME ZONE 'UTC' GROUP BY 1)
           SELECT json_agg(json_build_object('hour', g, 'scans', coalesce(r.n, 0)) ORDER BY g)
             FROM generate_series(0, 23) g LEFT JOIN r ON r.h = g" | jq -c .)
[ "$(jq -c .by_hour "$T/body")" = "$raw" ] || fail "by_hour $(jq -c .by_hour "$T/body"), raw $raw"
raw=$(sql "SELECT json_agg(json_build_object('region', r, 'scans', n) ORDER BY n DESC, r)
             FROM (SELECT coalesce(subdivision, country, 'unknown') AS r, count(*) AS n FROM scans
                    WHERE outcome = 'not_genuine' AND at >= (current_date - 2)::timestamp AT TIME ZONE 'UTC'
                    GROUP BY 1) x" | jq -c .)
[ "$(jq -cS .by_region "$T/body")" = "$(jq -cS . <<<"$raw")" ] || fail "by_region $(jq -c .by_region "$T/body"), raw $raw"
[ "$(jq -c '[.by_region[].region]' "$T/body")" = '["CN-GD","CN-ZJ","US-CA"]' ] || fail "regions: $(cat "$T/body")"
get "$TTEA" "/api/v1/admin/analytics/not-genuine"
[ "$(jq -c '[.by_region, ([.by_hour[].scans] | add)]' "$T/body")" = '[[],0]' ] ||
	fail "a brand sees not-genuine scans (they name no brand): $(cat "$T/body")"
ok "not-genuine: the hour roll-up equals raw scans (a duplicate flush counted once), by region and hour equal raw SQL"

# ---- 3. export jobs
post() { # post TOKEN BODY: sets STATUS, $T/body
	STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $1" \
		-H 'Content-Type: application/json' --data-binary "$2" "$BASE/api/v1/admin/export-jobs")
}
job_state() { get "$1" "/api/v1/admin/export-jobs/$2" && jq -r .state "$T/body"; }
job_done() { [ "$(job_state "$1" "$2")" = done ]; }
RANGE="\"from\":\"$(date -u -d '60 days ago' +%F)\",\"to\":\"$(date -u -d tomorrow +%F)\""
post "$TALL" "{\"kind\":\"claims\",$RANGE,\"format\":\"csv\"}"
want 202 "queue a job"
J1=$(jq -r .job "$T/body")
[ "$(jq -r '.state + " " + .href' "$T/body")" = "queued /api/v1/admin/export-jobs/$J1" ] || fail "202: $(cat "$T/body")"
wait_until 15 "job $J1 to be done" job_done "$TALL" "$J1"
N=$(sql "SELECT count(*) FROM redemptions")
[ "$(jq -c '[.rows, .rows_total, .progress, .error, .download]' "$T/body")" = \
	"[$N,$N,1,null,\"/api/v1/admin/export-jobs/$J1/download\"]" ] || fail "job done: $(cat "$T/body")"
STATUS=$(curl -s --max-time 10 -D "$T/h" -o "$T/file" -w '%{http_code}' -H "Authorization: Bearer $TALL" \
	"$BASE/api/v1/admin/export-jobs/$J1/download")
[ "$STATUS" = 200 ] || fail "download: $STATUS"
[ "$(hdr Content-Disposition)" = "attachment; filename=\"export-$J1.csv\"" ] || fail "disposition: $(hdr Content-Disposition)"
[ "$(($(wc -l <"$T/file") - 1))" = "$N" ] && head -n 1 "$T/file" | grep -q '^claimed_at,serial' ||
	fail "the file: $(head -c 300 "$T/file")"
[ "$(sql "SELECT actor || ' ' || (detail->>'requested_by') FROM audit WHERE action = 'export.download'")" = "group group" ] ||
	fail "download audit"
[ "$(sql "SELECT count(*) FROM audit WHERE action IN ('export.queue', 'export.finish') AND target = 'claims'")" = 2 ] ||
	fail "queue and finish audited"
# the Tea token: its own job has Tea's claims only; the group's is not there for it
post "$TTEA" "{\"kind\":\"claims\",$RANGE,\"format\":\"jsonl\"}"
want 202 "tea's job"
J2=$(jq -r .job "$T/body")
wait_until 15 "job $J2 to be done" job_done "$TTEA" "$J2"
[ "$(jq -r .rows "$T/body")" = 4 ] || fail "tea's rows: $(cat "$T/body")"
get "$TTEA" /api/v1/admin/export-jobs
[ "$(jq -c '[.jobs[].job]' "$T/body")" = "[$J2]" ] || fail "tea's list: $(cat "$T/body")"
get "$TALL" /api/v1/admin/export-jobs
[ "$(jq -c '[.jobs[].job]' "$T/body")" = "[$J2,$J1]" ] || fail "group's list: $(cat "$T/body")"
get "$TTEA" "/api/v1/admin/export-jobs/$J1"
want 404 "tea reading the group's job"
get "$TCOLA" "/api/v1/admin/export-jobs/$J2/download"
want 404 "cola downloading tea's job"
get "$TTEA" "/api/v1/admin/export-jobs/$J2/download"
want 200 "tea's download"
[ "$(wc -l <"$T/body")" = 4 ] && jq -e -s 'length == 4' "$T/body" >/dev/null || fail "tea's jsonl: $(cat "$T/body")"
post "$TALL" '{"kind":"nope","from":"2026-01-01","to":"2026-02-01"}'
want 400 "a bad kind"
post "$TALL" '{"kind":"scans","from":"2026-02-01","to":"2026-01-01"}'
want 400 "to before from"
# progress while running: 400,000 scans two days ago make a job of a second
# or more (250,000 took 0.75 s on Citus: counting them after queueing the
# job, as this did, left the poll too late), counted before it is queued
sql "INSERT INTO scans (at, serial, code, kind, outcome) SELECT now() - interval '2 days', g, 'x', 'lookup', 'genuine'
     FROM generate_series(1, 400000) g"
NS=$(sql "SELECT count(*) FROM scans")
post "$TALL" "{\"kind\":\"scans\",$RANGE}"
J5=$(jq -r .job "$T/body")
midway() {
	get "$TALL" "/api/v1/admin/export-jobs/$J5"
	jq -e --argjson n "$NS" '.state == "running" and .rows > 0 and .rows < .rows_total and .rows_total == $n
		and .progress > 0 and .progress < 1 and .download == null' "$T/body"
}
wait_until 20 "job $J5 to show its progress while running" midway
wait_until 30 "job $J5 to be done" job_done "$TALL" "$J5"
[ "$(jq -c '[.rows, .progress]' "$T/body")" = "[$NS,1]" ] || fail "the big job: $(cat "$T/body")"
sql "DELETE FROM scans WHERE code = 'x' AND serial > 0 AND at < now() - interval '1 day'" # the rest stays quick
rm -f "$T/exports/export-$J5.csv"
ok "jobs: run into a file, rows = SQL count, progress readable while running, download audited, brand-limited"

# restart: a job queued while no server runs jobs, one left running by a crash
server_stop
server_start --threads 1 --pool 3 --export-jobs 0 --export-dir "$T/exports"
post "$TALL" "{\"kind\":\"scans\",$RANGE}"
J3=$(jq -r .job "$T/body")
post "$TALL" "{\"kind\":\"ledger\",$RANGE}"
J4=$(jq -r .job "$T/body")
sql "UPDATE exports SET status = 'running', rows = 3, tries = 1 WHERE id = $J4"
sleep 0.5
[ "$(job_state "$TALL" "$J3")" = queued ] || fail "a job ran on a server with --export-jobs 0"
server_stop
server_start --threads 1 --pool 3 --export-dir "$T/exports"
wait_until 15 "job $J3 to be done" job_done "$TALL" "$J3"
[ "$(jq -r .rows "$T/body")" = "$(sql "SELECT count(*) FROM scans")" ] || fail "scans job: $(cat "$T/body")"
wait_until 15 "job $J4 (left running) to be done" job_done "$TALL" "$J4"
[ "$(jq -r .rows "$T/body")" = "$(sql "SELECT count(*) FROM ledger")" ] || fail "ledger job: $(cat "$T/body")"
[ ! -e "$T/exports/export-$J4.csv.part" ] && [ -s "$T/exports/export-$J4.csv" ] || fail "the ledger job's file"
ok "restart: a queued job and one left running are run"
server_stop

# ---- 4. alert rules: travel, not_genuine in a region
server_start --threads 1 --pool 3 --geoip "$T/geo.mmdb" --export-dir "$T/exports" --alert-interval 1 \
	--webhook-concurrency 0
rule() { # rule TOKEN BODY: sets STATUS, $T/body
	STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $1" \
		-H 'Content-Type: application/json' --data-binary "$2" "$BASE/api/v1/admin/alert-rules")
}
TOPS=$(tok ops operate,admin)
STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $TOPS" \
	-H 'Content-Type: application/json' --data-binary '{"url":"http://127.0.0.1:9/","events":["code.suspicious"]}' \
	"$BASE/api/v1/admin/webhooks")
want 201 "a webhook subscription"
rule "$TOPS" '{"kind":"travel","window_s":3600}'
want 201 "a travel rule"
[ "$(jq -c '[.kind, .threshold, .region]' "$T/body")" = '["travel",900,null]' ] || fail "travel rule: $(cat "$T/body")"
rule "$TOPS" '{"kind":"not_genuine","threshold":6,"window_s":600,"region":"CN-ZJ"}'
want 201 "a region's not_genuine rule"
[ "$(jq -r .region "$T/body")" = CN-ZJ ] || fail "region rule: $(cat "$T/body")"
for bad in '{"kind":"not_genuine","threshold":2,"window_s":600,"region":"cn-zj"}' \
	'{"kind":"scanners","threshold":2,"window_s":600,"region":"CN-ZJ"}' '{"kind":"travel","threshold":0,"window_s":600}'; do
	rule "$TOPS" "$bad"
	want 400 "$bad"
done
get "$TALL" /api/v1/admin/alert-rules
[ "$(jq -c '[.rules[] | [.kind, .region]]' "$T/body")" = '[["travel",null],["not_genuine","CN-ZJ"]]' ] ||
	fail "rules: $(cat "$T/body")"
# a Tea code in Zhejiang then California a moment later; a Cola code twice in Zhejiang
TC=$(code 10 "$T/tea")
curl -s -o /dev/null --interface 127.0.1.8 "$BASE/api/v1/codes/$TC"
curl -s -o /dev/null --interface 127.0.1.8 "$BASE/api/v1/codes/$(code 10 "$T/cola.codes")"
sleep 0.3
curl -s -o /dev/null --interface 127.0.3.8 "$BASE/api/v1/codes/$TC"
curl -s -o /dev/null --interface 127.0.1.9 "$BASE/api/v1/codes/$(code 10 "$T/cola.codes")"
# not genuine in Zhejiang: 5 before, 2 more is over 6
for i in 8 9; do curl -s -o /dev/null --interface 127.0.1.7 "$BASE/api/v1/codes/$(code $i "$T/forged")"; done
alerts_of() { sql "SELECT count(*) FROM alerts WHERE kind = '$1'"; }
wait_until 15 "a travel alert" eval '[ "$(alerts_of travel)" = 1 ]'
wait_until 15 "a region's not_genuine alert" eval '[ "$(alerts_of not_genuine)" = 1 ]'
TS=$(sql "SELECT serial_first + 9 FROM batches WHERE product_sku = 'TEA'")
[ "$(sql "SELECT subject || ' ' || brand || ' ' || (detail->>'from_region') || ' ' || (detail->>'to_region') FROM alerts WHERE kind = 'travel'")" = \
	"code:$TS Packcode Tea CN-ZJ US-CA" ] || fail "travel alert: $(sql "SELECT detail FROM alerts WHERE kind = 'travel'")"
[ "$(sql "SELECT subject || ' ' || (detail->>'scans') FROM alerts WHERE kind = 'not_genuine'")" = "region:CN-ZJ 7" ] ||
	fail "region alert: $(sql "SELECT subject, detail FROM alerts WHERE kind = 'not_genuine'")"
[ "$(sql "SELECT string_agg(subject, ' ' ORDER BY id) FROM webhook_events WHERE type = 'code.suspicious'")" = \
	"$(sql "SELECT string_agg(subject, ' ' ORDER BY id) FROM alerts")" ] || fail "alerts not in the outbox"
get "$TTEA" /api/v1/admin/alerts
[ "$(jq -c '[.alerts[].kind]' "$T/body")" = '["travel"]' ] || fail "tea's alerts: $(cat "$T/body")"
get "$TCOLA" /api/v1/admin/alerts
[ "$(jq -c '.alerts' "$T/body")" = '[]' ] || fail "cola sees: $(cat "$T/body")"
ok "alerts: travel (ZJ to CA in a moment) and not_genuine in CN-ZJ raised once, in the outbox, by brand"
# travel over two UTC days: a Tea code scanned in Zhejiang 25 hours ago (the
# row as the scan writer wrote it then), now in California: 10,000 km in 25
# hours is over 100 km/h. The window's scans are read by UTC day and code
# (scans_day_serial, sql/035_scan_storage.sql): yesterday's must be read too.
rule "$TOPS" '{"kind":"travel","threshold":100,"window_s":172800}'
want 201 "a two-day travel rule"
R2=$(jq -r .id "$T/body")
TC2=$(code 11 "$T/tea")
sql "INSERT INTO scans (at, serial, code, kind, outcome, country, subdivision)
     VALUES (now() - interval '25 hours', $TS + 1, '$TC2', 'lookup', 'genuine', 'CN', 'CN-ZJ')" >/dev/null
curl -s -o /dev/null --interface 127.0.3.8 "$BASE/api/v1/codes/$TC2"
wait_until 15 "a travel alert over two days" \
	eval '[ "$(sql "SELECT count(*) FROM alerts WHERE rule_id = $R2 AND subject = '"'code:'"' || ($TS + 1)")" = 1 ]'
[ "$(sql "SELECT (detail->>'from_region') || ' ' || (detail->>'to_region') || ' '
                 || ((detail->>'kmh')::numeric BETWEEN 300 AND 500)::text
          FROM alerts WHERE rule_id = $R2 AND subject = 'code:' || ($TS + 1)")" = "CN-ZJ US-CA true" ] ||
	fail "travel over two days: $(sql "SELECT detail FROM alerts WHERE rule_id = $R2")"
ok "travel: a scan of yesterday and one of today, read by day and code, raise one alert"
server_stop
