#!/usr/bin/env bash
# test_console_browser.sh: the brand console (/console) in a real browser:
# headless Chromium from Debian (chromium, chromium-driver, python3-selenium,
# fonts-noto-cjk), driven by tests/integration/console_check.py, the same
# approach as test_browser.sh. Seeded: print runs of two brands (TEA of
# Packcode Tea, COLA of Packcode Cola), scans from addresses that the test's
# MaxMind-format database (make_geoip.pl) places in Zhejiang, Guangdong and
# California, forged codes and typos, claims through the claims API, and
# scans of earlier days in more provinces and countries written through the
# scan writer's own scan_ingest() (as test_server_analytics.sh does).
# 1. alice (every brand, every scope) at 1366x900, in English, then in
#    Chinese through the switch: the overview's totals equal SQL over the raw
#    scans and the ledger, the product and region tables equal SQL, both maps
#    drawn, print run B2 recalled through its typed confirmation (the
#    database says recalled, audited as staff:alice), every other page draws
#    or says "not available" (an endpoint of the contract not deployed).
#    Campaigns: the list, a campaign with prizes made in the editor and
#    ended (audited as staff:alice), Tea's campaign's burn-down chart and
#    its 3 winners, masked.
# 2. tea (limited to Packcode Tea) on a 390x844 phone, in Chinese then
#    English: the same checks against SQL of Tea's scans only, no COLA
#    anywhere (campaigns included, and no editor: no campaigns scope), recalls B3; and the API itself refuses tea COLA's batch.
# Screenshots: tests/artifacts/console/{desktop,phone}-{en,zh-CN}-*.png.
PC_TIMEOUT=240
. "$(dirname "$0")/harness.sh"

PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
browser_ready() {
	[ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] &&
		"$PY" -c 'import selenium' 2>/dev/null &&
		[ "$(fc-list 2>/dev/null | grep -ci 'Noto Sans CJK')" -gt 0 ] # -q would SIGPIPE fc-list (pipefail)
}
if ! browser_ready; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		note "installing chromium, chromium-driver, python3-selenium, fonts-noto-cjk"
		export DEBIAN_FRONTEND=noninteractive
		timeout --foreground 400 apt-get install -y -qq --no-install-recommends \
			chromium chromium-driver python3-selenium fonts-noto-cjk fontconfig >"$PC_TMP/apt.log" 2>&1 || true
	fi
	browser_ready || skip "Chromium cannot be installed here (apt-get install chromium chromium-driver python3-selenium fonts-noto-cjk)"
fi
perl -MMaxMind::DB::Writer::Tree -e 1 2>/dev/null || skip "libmaxmind-db-writer-perl is not installed"

. "$(dirname "$0")/server_lib.sh"
setup
pcgen product add --sku COLA --name "Cola" --brand "Packcode Cola" --points 7 >/dev/null || fail "product COLA"
mint 60
cp "$CODES" "$T/b1"
B1=$BATCH
mint 20
cp "$CODES" "$T/b2"
B2=$BATCH
mint 20
cp "$CODES" "$T/b3"
B3=$BATCH
pcgen mint --product COLA --count 40 --out "$T/cola" --host pack.example --short -q || fail "mint COLA"
tail -n +2 "$T/cola/codes.csv" | cut -d, -f1 >"$T/bc"
BC=$(jq -r .batch "$T/cola/batch.json")
elsewhere "$T/other.keyring" 1 10 >"$T/forged"
PW='correct horse battery staple'
printf '%s\n' "$PW" | pcgen user add alice --scopes all --password-stdin 2>/dev/null || fail "user add alice"
printf '%s\n' "$PW" | pcgen user add tea --scopes read,operate --brands "Packcode Tea" --password-stdin 2>/dev/null ||
	fail "user add tea"

perl "$(dirname "$0")/make_geoip.pl" "$T/geo.mmdb" || fail "make_geoip.pl"
server_start --geoip "$T/geo.mmdb"

BEFORE=$(sql "SELECT count(*) FROM scans")
# an alert rule (a Tea code seen by more than 2 scanners in 10 minutes),
# then one code scanned from 3 addresses: a suspicious code and an alert
TOP=$(pcgen token add --name console-ops --scopes operate 2>/dev/null) || fail "token console-ops"
STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $TOP" -H 'Content-Type: application/json' \
	--data-binary '{"kind":"scanners","threshold":2,"window_s":600,"brand":"Packcode Tea"}' "$BASE/api/v1/admin/alert-rules")
[ "$STATUS" = 201 ] || fail "alert rule: $STATUS $(cat "$T/body")"
for i in 70 71 72; do
	curl -s -o /dev/null --max-time 5 --interface 127.0.1.$i -A "console-test clone $i" "$BASE/api/v1/codes/$(code 50 "$T/b1")"
done
# a webhook subscription whose receiver is not there (port 9: refused), so
# the recall below leaves a delivery with failed attempts to show
TADM=$(pcgen token add --name console-admin --scopes admin 2>/dev/null) || fail "token console-admin"
STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $TADM" -H 'Content-Type: application/json' \
	--data-binary '{"url":"http://127.0.0.1:9/hooks","events":["batch.recalled"]}' "$BASE/api/v1/admin/webhooks")
[ "$STATUS" = 201 ] || fail "webhook: $STATUS $(cat "$T/body")"
alerted() { [ "$(sql "SELECT count(*) FROM alerts")" -ge 1 ]; }
wait_until 10 "the scanners alert" alerted
ALERT=$(sql "SELECT min(id) FROM alerts")

# campaigns (sql/021_campaigns.sql): Tea's with one prize tier that every
# claim wins while 3 are left and a red packet of 1.50 a claim from 20.00
# (028: no --payout-url, so its payouts stay requested), and Cola's; made
# through the admin API
TCAMP=$(pcgen token add --name console-campaigns --scopes campaigns 2>/dev/null) || fail "token console-campaigns"
ENDS=$(date -u -d '+30 days' +%Y-%m-%dT%H:%M:%SZ)
camp() {
	STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $TCAMP" \
		-H 'Content-Type: application/json' --data-binary "$1" "$BASE/api/v1/admin/campaigns")
	[ "$STATUS" = 201 ] || fail "campaign: $STATUS $(cat "$T/body")"
	jq -r .id "$T/body"
}
CT=$(camp "{\"brand\":\"Packcode Tea\",\"name\":\"Tea set draw\",\"ends_at\":\"$ENDS\",\"prizes\":[{\"name\":\"Tea set\",\"count\":3,\"probability_ppm\":1000000}],\"red_packet\":{\"amount\":150,\"budget\":2000}}")
CC=$(camp "{\"brand\":\"Packcode Cola\",\"name\":\"Cola double\",\"ends_at\":\"$ENDS\",\"multiplier\":2}")
campaigns_live() { [ "$(sql "SELECT count(*) FROM campaigns_live()")" = 2 ]; }
wait_until 10 "the campaigns made" campaigns_live

# today's scans from three regions (the test database places 127.0.1.x in
# Zhejiang, 127.0.2.x in Guangdong, 127.0.3.x in California), claims
sent=0
look() { # look ADDR FILE LINE: a lookup of a code from ADDR
	curl -s -o /dev/null --max-time 5 --interface "$1" -A "console-test $1" "$BASE/api/v1/codes/$(code "$3" "$2")"
	sent=$((sent + 1))
}
for i in $(seq 1 12); do look 127.0.1.$i "$T/b1" "$i"; done
for i in $(seq 1 7); do look 127.0.2.$i "$T/b1" "$((i + 20))"; done
for i in $(seq 1 4); do look 127.0.3.$i "$T/b2" "$i"; done
for i in $(seq 1 9); do look 127.0.1.$((i + 30)) "$T/bc" "$i"; done
for i in $(seq 1 5); do look 127.0.2.$((i + 40)) "$T/forged" "$i"; done
for i in 1 2 3; do
	curl -s -o /dev/null --max-time 5 --interface 127.0.1.99 "$BASE/api/v1/codes/ABCDEFGHJKMNPQRSTVWX$i"
	sent=$((sent + 1))
done
for i in $(seq 1 6); do
	claim "$(code "$i" "$T/b1")" "139000010$((10 + i))"
	[ "$STATUS" = 200 ] || fail "claim $i: $STATUS $(cat "$T/body")"
	sent=$((sent + 1))
done
for i in 1 2; do
	claim "$(code "$i" "$T/bc")" "1390000200$i"
	[ "$STATUS" = 200 ] || fail "cola claim $i: $STATUS"
	sent=$((sent + 1))
done
wait_until 10 "the $((sent + 3)) scans to be written" scans_since "$BEFORE" "$((sent + 3))"

# earlier days, through the writer's own function (8 days ago: last week's
# side of the week-over-week change; 3 days ago in more provinces and countries)
ingest() { # ingest TAG DAYS-AGO SERIAL OUTCOME N COUNTRY SUBDIVISION
	sql "SELECT scan_writer_session();
	     INSERT INTO scan_stage (tag, at, serial, code, kind, outcome, client, scanner, country, subdivision, city)
	     SELECT '$1', now() - interval '$2 days', $3, 'c$3', 'lookup', '$4', '198.51.100.9', g % 4,
	            $([ "$6" = - ] && echo NULL || echo "'$6'"), $([ "$7" = - ] && echo NULL || echo "'$7'"), NULL
	       FROM generate_series(1, $5) g;
	     SELECT scan_ingest()" | tail -n 1
}
F1=$(sql "SELECT serial_first FROM batches WHERE id = $B1")
FC=$(sql "SELECT serial_first FROM batches WHERE id = $BC")
n=0
while read -r days serial outcome count country sub; do
	n=$((n + 1))
	[ "$(ingest "console$n" "$days" "$serial" "$outcome" "$count" "$country" "$sub")" = written ] || fail "ingest $n"
done <<ROWS
8 $((F1 + 40)) genuine 18 CN CN-ZJ
8 $((F1 + 41)) genuine 6 CN CN-BJ
3 $((F1 + 42)) genuine 11 CN CN-SH
3 $((F1 + 43)) genuine 5 CN CN-SC
3 $((F1 + 44)) genuine 4 JP -
3 $((F1 + 45)) genuine 3 DE -
3 $((FC + 20)) genuine 8 CN CN-GD
2 0 not_genuine 4 CN CN-GD
2 0 typo 6 - -
ROWS
# spends (025_spent.sql): the group's points spent on the overview
for m in $(sql "SELECT member FROM members WHERE balance > 1 ORDER BY member LIMIT 3"); do
	[ "$(sql "SELECT outcome FROM member_spend('test', NULL, '$m', 'console-$m', 2, 'coupon')")" = spent ] ||
		fail "spend of $m"
done
[ "$(sql "SELECT count(*) FROM spends")" -gt 0 ] || fail "no spend made"
ok "seeded: $sent scans today from Zhejiang, Guangdong and California (lookups, forged, typos, claims), $n flushes of earlier days"

# ---- what SQL says the pages must show ----
TEA_BATCHES="SELECT b.id FROM batches b JOIN products p ON p.sku = b.product_sku WHERE p.brand = 'Packcode Tea'"
RANGE="at >= (((now() AT TIME ZONE 'UTC')::date - 13)::timestamp AT TIME ZONE 'UTC')"
expect_json() { # expect_json BRAND-FILTER SKUS-JSON BATCHES-SQL RECALL ACK CAMPAIGNS-WHERE MAKE-CAMPAIGN
	local f=$1
	sql "SELECT json_build_object(
	  'overview', (SELECT json_build_object(
	      'scans', count(*),
	      'genuine', count(*) FILTER (WHERE outcome = 'genuine' OR (kind = 'claim' AND outcome IN ('awarded', 'repeat', 'already_claimed'))),
	      'not_genuine', count(*) FILTER (WHERE outcome = 'not_genuine'),
	      'typo', count(*) FILTER (WHERE outcome = 'typo'),
	      'claims', count(*) FILTER (WHERE kind = 'claim' AND outcome = 'awarded'))
	    FROM scans WHERE $RANGE $f)::jsonb
	    || jsonb_build_object('scanners', (SELECT count(DISTINCT scanner) FROM scans
	         WHERE at >= ((now() AT TIME ZONE 'UTC')::date::timestamp AT TIME ZONE 'UTC') $f))
	    || jsonb_build_object('points', (SELECT coalesce(sum(l.delta), 0) FROM ledger l
	         WHERE l.kind = 'claim' AND l.created_at >= (((now() AT TIME ZONE 'UTC')::date - 13)::timestamp AT TIME ZONE 'UTC')
	           $(echo "$f" | sed 's/batch_id IN/l.serial IN (SELECT s FROM batches bb, generate_series(bb.serial_first, bb.serial_last) s WHERE bb.id IN/; s/)$/))/'))),
	  'skus', '$2'::json,
	  'batches', (SELECT json_agg(id ORDER BY id) FROM ($3) b),
	  'recall', $4,
	  'ack', $5,
	  'phone', '13900001011',
	  'campaigns', (SELECT json_agg(c.id ORDER BY c.id) FROM campaigns c JOIN brands br ON br.id = c.brand_id
	      WHERE $6),
	  'campaign', $CT, 'winners', (SELECT count(*) FROM campaign_claims WHERE campaign_id = $CT AND prize_tier IS NOT NULL),
	  'make_campaign', $7,
	  'payouts', (SELECT json_build_object('requested', count(*), 'left', (SELECT budget_left FROM campaign_red_packets WHERE campaign_id = $CT))
	      FROM payouts WHERE campaign_id = $CT),
	  'webhook', $([ "$5" = null ] && echo false || echo true),
	  'product_scans', (SELECT json_object_agg(b.product_sku, n) FROM (SELECT b.product_sku, count(*) n FROM scans s
	      JOIN batches b ON b.id = s.batch_id WHERE s.$RANGE $f GROUP BY 1) b),
	  'regions', (SELECT coalesce(json_object_agg(r, n), '{}') FROM (SELECT coalesce(subdivision, 'unknown') r, count(*) n
	      FROM scans WHERE country = 'CN' AND $RANGE $f GROUP BY 1) x),
	  'countries', (SELECT coalesce(json_object_agg(r, n), '{}') FROM (SELECT coalesce(country, 'unknown') r, count(*) n
	      FROM scans WHERE $RANGE $f GROUP BY 1) x),
	  'cities', (SELECT coalesce(json_object_agg(city, n), '{}') FROM (SELECT city, count(*) n
	      FROM scans WHERE country = 'CN' AND city IS NOT NULL AND $RANGE $f GROUP BY 1) x))"
}
expect_json "" '["COLA","TEA"]' "SELECT id FROM batches" "$B2" "$ALERT" true true >"$T/alice.json" || fail "SQL for alice"
expect_json "AND batch_id IN ($TEA_BATCHES)" '["TEA"]' "$TEA_BATCHES" "$B3" null "br.name = 'Packcode Tea'" false >"$T/tea.json" ||
	fail "SQL for tea"
[ "$(jq .winners "$T/alice.json")" = 3 ] && [ "$(jq -c .payouts "$T/alice.json")" = '{"requested":6,"left":1100}' ] ||
	fail "Tea's campaign: $(jq .winners "$T/alice.json") winners, not 3; payouts $(jq -c .payouts "$T/alice.json")"
# points spent: the group's SUM over spends; null (no card value) for a brand
SPENT=$(sql "SELECT coalesce(sum(points), 0) FROM spends WHERE created_at >= (((now() AT TIME ZONE 'UTC')::date - 13)::timestamp AT TIME ZONE 'UTC')")
jq --argjson n "$SPENT" '.overview.points_spent = $n' "$T/alice.json" >"$T/x.json" && mv "$T/x.json" "$T/alice.json"
jq '.overview.points_spent = null' "$T/tea.json" >"$T/x.json" && mv "$T/x.json" "$T/tea.json"
note "alice: $(jq -c .overview "$T/alice.json"); tea: $(jq -c .overview "$T/tea.json")"
[ "$(jq .overview.scans "$T/alice.json")" -gt "$(jq .overview.scans "$T/tea.json")" ] || fail "the brands' scans are not apart"

ART=$abs_top_builddir/tests/artifacts/console
mkdir -p "$ART"
rm -f "$ART"/*.png
run_browser() { # VIEW LANG NAME EXPECT
	HOME=$PC_TMP timeout --foreground -s INT -k 10 120 "$PY" -u "$abs_top_srcdir/tests/integration/console_check.py" \
		"$BASE" "$ART" "$1" "$2" "$3" "$PW" "$4" || fail "$1 $2 as $3 in Chromium"
}
run_browser desktop en alice "$T/alice.json"
[ "$(sql "SELECT status FROM batches WHERE id = $B2")" = recalled ] || fail "B2 is not recalled in the database"
[ "$(sql "SELECT actor || ' ' || target FROM audit WHERE action = 'batch.recall'")" = "staff:alice $B2" ] ||
	fail "the recall's audit row: $(sql "SELECT actor, target FROM audit WHERE action = 'batch.recall'")"
[ "$(sql "SELECT actor FROM audit WHERE action = 'webhook.replay'")" = staff:alice ] ||
	fail "the delivery replayed from the console: $(sql "SELECT actor, target FROM audit WHERE action = 'webhook.replay'")"
[ "$(sql "SELECT string_agg(action, ' ' ORDER BY id) FROM audit WHERE actor = 'staff:alice' AND action LIKE 'campaign.%'")" = "campaign.create campaign.red_packet campaign.end" ] &&
	[ "$(sql "SELECT ended_at IS NOT NULL FROM campaigns WHERE name = 'Browser campaign'")" = t ] ||
	fail "the campaign made and ended in the console: $(sql "SELECT actor, action, target FROM audit WHERE action LIKE 'campaign.%'")"
[ "$(sql "SELECT acknowledged_by FROM alerts WHERE id = $ALERT")" = staff:alice ] ||
	fail "alert $ALERT not acknowledged by alice: $(sql "SELECT acknowledged_at, acknowledged_by FROM alerts WHERE id = $ALERT")"
ok "1366x900, en then zh-CN: signed in, overview = SQL, products and regions = SQL, both maps drawn, B2 recalled by typing TEA-$B2 (database: recalled, audited as staff:alice), alert $ALERT acknowledged, the recall's webhook delivery replayed (audited), a campaign made with a prize tier and a red packet (its reconciliation shown, adding up) and ended (audited), Tea's campaign's burn-down and its 3 winners masked, the suspicious code listed, every page drawn or 'not available'"

run_browser phone zh-CN tea "$T/tea.json"
[ "$(sql "SELECT status FROM batches WHERE id = $B3")" = recalled ] || fail "B3 is not recalled in the database"
[ "$(sql "SELECT status FROM batches WHERE id = $BC")" = active ] || fail "COLA's batch changed"
ok "390x844, zh-CN then en, tea (Packcode Tea only): overview = SQL of Tea's scans, no COLA on any page (nor Cola's campaign), B3 recalled"

# the API itself, with tea's session: no COLA whatever is asked
curl -s --max-time 10 -D "$T/h" -o "$T/body" -H 'Content-Type: application/json' \
	--data-binary "$(jq -cn --arg p "$PW" '{name: "tea", password: $p}')" "$BASE/api/v1/admin/session"
COOKIE=$(hdr Set-Cookie | sed -n 's/^pc_session=\([^;]*\);.*/\1/p')
CSRF=$(jq -r .csrf "$T/body")
[ -n "$COOKIE" ] && [ "$CSRF" != null ] || fail "tea's sign-in: $(cat "$T/body")"
as_tea() { curl -s --max-time 10 -o "$T/body" -w '%{http_code}' -H "Cookie: pc_session=$COOKIE" "$@"; }
[ "$(as_tea "$BASE/api/v1/admin/batches?limit=100")" = 200 ] || fail "tea's batches"
! jq -e '.batches[] | select(.product.sku == "COLA")' "$T/body" >/dev/null || fail "tea sees COLA's batch"
[ "$(as_tea "$BASE/api/v1/admin/batches/$BC")" = 404 ] || fail "tea reads COLA's batch"
[ "$(as_tea "$BASE/api/v1/admin/analytics/batches")" = 200 ] || fail "tea's analytics"
[ "$(jq -c '[.products[].sku]' "$T/body")" = '["TEA"]' ] || fail "tea's analytics products: $(cat "$T/body")"
s=$(as_tea -X POST -H "X-CSRF-Token: $CSRF" -H 'Content-Type: application/json' --data-binary '{"reason":"not mine"}' \
	"$BASE/api/v1/admin/batches/$BC/recall")
[ "$s" = 403 ] || [ "$s" = 404 ] || fail "tea recalling COLA's batch: $s $(cat "$T/body")"
[ "$(sql "SELECT status FROM batches WHERE id = $BC")" = active ] || fail "COLA's batch was recalled"
ok "tea's session through the API: COLA's batch neither listed, read, counted nor recallable ($s)"

n=$(find "$ART" -name '*.png' | wc -l)
[ "$n" -ge 30 ] || fail "only $n screenshots in $ART"
ok "$n screenshots in $ART"
server_stop
