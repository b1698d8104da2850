#!/bin/bash
# test_campaigns.sh: campaigns and instant-win prizes (docs/campaigns.md)
# end to end, over HTTP against the real server and PostgreSQL.
#  1. The admin API: created and ended with the campaigns scope, read with
#     read; bad bodies refused with nothing written; brand isolation (brand
#     B neither sees, reads, ends nor makes brand A's); audited.
#  2. Matching and combination: product, print run, region (--geoip: the
#     claim's address), time; multipliers multiply the base, bonuses add
#     (bonus, first claim of the brand, ladder); a daily limit per member
#     stops a campaign, not the claim; a repeat answers the same.
#  3. The consumer: the landing page links the rules page; the claim form's
#     result shows points x multiplier + bonus and the prize in en, zh-Hans
#     and zh-Hant; /campaigns/{id} in HTML and JSON.
#  4. Fairness: 100,000 draws (serials 1..100000 under a campaign's secret)
#     by the SQL the claims use, each tier's win rate within 4.5 sigma of its
#     probability; after the campaign ends its secret is public, its SHA-256
#     is the hash published at the start, and python3's hmac re-derives every
#     one of those draws and every real claim's.
#  5. A prize won through the claim form is shown on its result page; then
#     the last 10 prizes: 1,000 claims sent at once over HTTP (1,000
#     members) give exactly 10 winners, the inventory 0, never below.
PC_TIMEOUT=170
. "$(dirname "$0")/harness.sh"
. "$(dirname "$0")/server_lib.sh"

command -v python3 >/dev/null || skip "no python3"
command -v perl >/dev/null && perl -MMaxMind::DB::Writer::Tree -e 1 2>/dev/null ||
	skip "no MaxMind::DB::Writer (libmaxmind-db-writer-perl)"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
IT=$abs_top_srcdir/tests/integration

setup # TEA of brand "Packcode Tea", 10 points
pcgen product add --sku BEAN --name "Beans" --brand "Bean Co" --points 3 >/dev/null || fail "product BEAN"
pcgen product add --sku MATCHA --name "Matcha" --brand "Packcode Tea" --points 4 >/dev/null || fail "product MATCHA"
mint 30
cp "$CODES" "$T/codes"
B1=$BATCH
mint 5
cp "$CODES" "$T/codes2"
B2=$BATCH
pcgen mint --product MATCHA --count 5 --out "$T/matcha" --host pack.example --short -q || fail "mint MATCHA"
tail -n +2 "$T/matcha/codes.csv" | cut -d, -f1 >"$T/codes_matcha"
pcgen mint --product BEAN --count 1010 --out "$T/bean" --host pack.example --short -q || fail "mint BEAN"
tail -n +2 "$T/bean/codes.csv" | cut -d, -f1 >"$T/codes_bean"

TALL=$(pcgen token add --name group 2>/dev/null) || fail "token group"
TA=$(pcgen token add --name tea --scopes read,campaigns --brands "Packcode Tea" 2>/dev/null) || fail "token tea"
TB=$(pcgen token add --name bean --scopes read,campaigns --brands "Bean Co" 2>/dev/null) || fail "token bean"
TREAD=$(pcgen token add --name reader --scopes read 2>/dev/null) || fail "token reader"

perl "$IT/make_geoip.pl" "$T/geo.mmdb" || fail "make_geoip.pl"
server_start --threads 2 --pool 4 --geoip "$T/geo.mmdb" --max-connections-per-address 5000 \
	--rate-claims 1000000000/1000000000 --rate-member-claims 1000000000/1000000000 \
	--rate-lookups 1000000000/1000000000

# as TOKEN METHOD PATH [BODY]
as() {
	local args=(-s --max-time 10 -o "$T/body" -w '%{http_code}' -X "$2" -H "Authorization: Bearer $1")
	[ $# -ge 4 ] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
	STATUS=$(curl "${args[@]}" "$BASE$3")
}
# claim_from ADDRESS CODE MEMBER: a claim by the harness's integration token, from ADDRESS
claim_from() {
	STATUS=$(curl -s --max-time 10 --interface "$1" -o "$T/body" -w '%{http_code}' -X POST \
		-H "Authorization: Bearer $(claims_token)" -H "Content-Type: application/json" \
		--data-binary "$(jq -cn --arg c "$2" --arg m "$3" '{code: $c, member: $m}')" \
		"$BASE/api/v1/claims")
}
# points_are ADDRESS CODE MEMBER POINTS [JQ-CHECK]: the claim is awarded POINTS
points_are() {
	claim_from "$1" "$2" "$3"
	expect 200 "claim of $2 by $3"
	[ "$(field .points)" = "$4" ] || fail "claim of $2 by $3 from $1: $(field .points) points, expected $4: $(cat "$T/body")"
	if [ $# -ge 5 ]; then
		jq -e "$5" "$T/body" >/dev/null || fail "claim of $2 by $3: not $5: $(cat "$T/body")"
	fi
}
# sql_eq SQL VALUE: it prints VALUE, or the test fails
sql_eq() { local got; got=$(sql "$1"); [ "$got" = "$2" ] || fail "$1: got '$got', expected '$2'"; }
FUTURE=$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)
PAST=$(date -u -d '-1 day' +%Y-%m-%dT%H:%M:%SZ)

# ---- 1. the admin API ----
C1_BODY='{"brand":"Packcode Tea","name":"Double points in Zhejiang","ends_at":"'$FUTURE'",
  "products":["TEA"],"regions":["CN-ZJ"],"multiplier":2,"daily_limit":2}'
as "$TREAD" POST /api/v1/admin/campaigns "$C1_BODY"
expect 403 "a campaign without the campaigns scope"
[ "$(field .error)" = insufficient_scope ] || fail "not insufficient_scope: $(cat "$T/body")"
as "$TB" POST /api/v1/admin/campaigns "$C1_BODY"
expect 403 "bean's campaign for tea"
for bad in '{"brand":"Packcode Tea","name":"x","ends_at":"'$FUTURE'","colour":"red"}' \
	'{"brand":"Packcode Tea","name":"x","ends_at":"'$PAST'"}' \
	'{"brand":"Packcode Tea","name":"x","ends_at":"not a time"}' \
	'{"brand":"Packcode Tea","name":"x","ends_at":"'$FUTURE'","products":["BEAN"]}' \
	'{"brand":"Packcode Tea","name":"x","ends_at":"'$FUTURE'","regions":["Zhejiang"]}' \
	'{"brand":"Packcode Tea","name":"x","ends_at":"'$FUTURE'","multiplier":0.5}' \
	'{"brand":"Packcode Tea","name":"x","ends_at":"'$FUTURE'","ladder":{"every":1,"bonus":2}}' \
	'{"brand":"Packcode Tea","name":"x","ends_at":"'$FUTURE'","prizes":[{"name":"a","count":1,"probability_ppm":600000},{"name":"b","count":1,"probability_ppm":600000}]}' \
	'{"brand":"Packcode Tea","name":"","ends_at":"'$FUTURE'"}' \
	'[1]' '{"brand":'; do
	as "$TA" POST /api/v1/admin/campaigns "$bad"
	[ "$STATUS" = 400 ] || fail "bad body accepted ($STATUS): $bad: $(cat "$T/body")"
done
sql_eq "SELECT count(*) FROM campaigns" 0
as "$TA" POST /api/v1/admin/campaigns "$C1_BODY"
expect 201 "tea's campaign 1"
C1=$(field .id)
[ "$(field .status)" = active ] && [ "$(field .secret)" = null ] && [ "$(field .secret_sha256 | wc -c)" = 65 ] ||
	fail "campaign 1: $(cat "$T/body")"
as "$TA" POST /api/v1/admin/campaigns '{"brand":"Packcode Tea","name":"Tea club","ends_at":"'$FUTURE'",
  "batches":['"$B1"'],"bonus":5,"first_claim_bonus":100,"ladder":{"every":3,"bonus":7}}'
expect 201 "tea's campaign 2"
C2=$(field .id)
as "$TA" POST /api/v1/admin/campaigns '{"brand":"Packcode Tea","name":"Next week","starts_at":"'$FUTURE'",
  "ends_at":"'$(date -u -d '+8 days' +%Y-%m-%dT%H:%M:%SZ)'","multiplier":10}'
expect 201 "tea's campaign 3, not started"
[ "$(field .status)" = scheduled ] || fail "campaign 3: $(cat "$T/body")"
as "$TB" GET /api/v1/admin/campaigns
expect 200 "bean's list"
[ "$(field '.campaigns | length')" = 0 ] || fail "bean sees tea's campaigns: $(cat "$T/body")"
as "$TB" GET "/api/v1/admin/campaigns/$C1"
expect 404 "bean reads tea's campaign"
as "$TB" POST "/api/v1/admin/campaigns/$C1/end"
expect 404 "bean ends tea's campaign"
as "$TA" GET /api/v1/admin/campaigns
[ "$(field '[.campaigns[].id] | sort | join(",")')" = "$C1,$C2,$((C2 + 1))" ] || fail "tea's list: $(cat "$T/body")"
as "$TREAD" GET "/api/v1/admin/campaigns/$C2"
expect 200 "reading a campaign with read"
[ "$(field .ladder.every)/$(field .first_claim_bonus)/$(field .created_by)" = "3/100/tea" ] ||
	fail "campaign 2: $(cat "$T/body")"
sql_eq "SELECT count(*) FROM audit WHERE action = 'campaign.create' AND actor = 'tea'" 3
ok "admin API, scopes and brands"

# ---- 2. matching and combination ----
wait_until 10 "the servers to cache the campaigns" \
	grep -q 'event=campaigns_loaded rows=3' "$T/server.log"
ZJ=127.0.1.5 GD=127.0.2.5
# C1 (x2, TEA, CN-ZJ, 2 a day) and C2 (+5, print run B1, first +100, every 3rd +7)
points_are $ZJ "$(code 1)" ma 125 \
	".campaign.base_points == 10 and .campaign.multiplier == 2 and .campaign.bonus == 105 and .campaign.campaigns == [$C1,$C2]"
points_are $ZJ "$(code 2)" ma 25
points_are $ZJ "$(code 3)" ma 22 ".campaign.campaigns == [$C2]"  # C1's daily limit; ladder: 3rd
points_are $GD "$(code 4)" ma 15                                  # not Zhejiang
points_are 127.0.0.1 "$(code 5)" ma 15                            # region unknown
points_are $ZJ "$(code 1 "$T/codes2")" ma 10 '.campaign == null'  # 6th: not C2's print run, C1's limit
points_are $ZJ "$(code 6)" ma 15                                  # the brand's 7th: no ladder
points_are $ZJ "$(code 1 "$T/codes_matcha")" mb 4 '.campaign == null' # another product, mb's first
points_are $ZJ "$(code 7)" mb 25 ".campaign.campaigns == [$C1, $C2]" # mb's 2nd: no first-claim bonus
points_are $ZJ "$(code 1 "$T/codes_bean")" ma 3 '.campaign == null' # another brand
# a repeat answers as the award did
points_are $ZJ "$(code 1)" ma 125 ".repeat == true and (.campaign.campaigns == [$C1,$C2])"
MA=$(sql "SELECT member FROM redemptions WHERE serial = $FIRST")
sql_eq "SELECT balance FROM members WHERE member = '$MA'" $((125 + 25 + 22 + 15 + 15 + 10 + 15 + 3))
sql_eq "SELECT sum(delta) FROM ledger WHERE member = '$MA'" $((125 + 25 + 22 + 15 + 15 + 10 + 15 + 3))
# the claims C1 applied to that day (neither those its limit refused nor the repeat)
sql_eq "SELECT claims FROM campaign_member_days WHERE campaign_id = $C1 AND member = '$MA'" 2
ok "matching, combination, limits"

# ---- 3. the consumer ----
page "/c/$(code 10)" -H 'Accept-Language: en'
grep -q "href=\"/campaigns/$C1\"" "$T/page" && grep -q "href=\"/campaigns/$C2\"" "$T/page" ||
	fail "the landing page does not link the campaigns: $(cat "$T/page")"
page "/c/$(code 1 "$T/codes_matcha")" -H 'Accept-Language: en'
grep -q 'href="/campaigns/' "$T/page" && fail "a campaign linked from a product it does not cover"
n=10
for lang in en zh-CN zh-TW; do
	n=$((n + 1))
	member_session "m$lang" # a first claim of the brand each
	page "/c/$(code $n)/claim" "${MEMBER_FORM[@]}" -H "Accept-Language: $lang" --interface $ZJ
	[ "$STATUS" = 200 ] || fail "claim form ($lang): $STATUS: $(cat "$T/page")"
	case $lang in
	en) want='10 points × 2 + 105 bonus points' ;;
	zh-CN) want='基础积分 10 × 2 + 奖励积分 105' ;;
	zh-TW) want='基礎積分 10 × 2 + 獎勵積分 105' ;;
	esac
	grep -qF "$want" "$T/page" || fail "claim result ($lang) lacks \"$want\": $(cat "$T/page")"
	grep -q "href=\"/campaigns/$C1\"" "$T/page" || fail "claim result ($lang) does not link the rules"
done
page "/campaigns/$C1" -H 'Accept-Language: zh-CN'
[ "$STATUS" = 200 ] && grep -q '积分 × 2' "$T/page" && grep -q 'CN-ZJ' "$T/page" &&
	grep -q '每位会员每天最多 2 次' "$T/page" || fail "rules page zh-CN: $STATUS $(cat "$T/page")"
page "/campaigns/$C2" -H 'Accept-Language: zh-TW'
grep -q '首次領取該品牌獎勵 100 積分' "$T/page" || fail "rules page zh-Hant: $(cat "$T/page")"
page "/campaigns/$C1" -H 'Accept: application/json'
[ "$STATUS" = 200 ] && jq -e '.multiplier == 2 and .created_by == null and .secret == null' "$T/page" >/dev/null ||
	fail "rules page JSON: $STATUS $(cat "$T/page")"
page "/campaigns/999999"
[ "$STATUS" = 404 ] || fail "an unknown campaign's page: $STATUS"
page "/campaigns/x1"
[ "$STATUS" = 404 ] || fail "a bad campaign id's page: $STATUS"
ok "landing page, claim result in three languages, rules page"

# ---- 4. fairness of the draw ----
as "$TB" POST /api/v1/admin/campaigns '{"brand":"Bean Co","name":"Scan to win","ends_at":"'$FUTURE'",
  "prizes":[{"name":"Tea set","count":100000,"probability_ppm":100000},
            {"name":"Cup","count":100000,"probability_ppm":250000},
            {"name":"Grand prize","count":5,"probability_ppm":1000}]}'
expect 201 "bean's instant win"
C4=$(field .id)
HASH=$(field .secret_sha256)
page "/campaigns/$C4" -H 'Accept-Language: en'
grep -q "$HASH" "$T/page" || fail "the rules page does not publish the secret's hash"
# the claims draw with campaign_tier_of(campaign_draw_value(campaign_hmac(...)))
sql "COPY (SELECT s, coalesce(campaign_tier_of($C4, campaign_draw_value(
              campaign_hmac(c.k_ipad, c.k_opad, s::text))), 0)
             FROM campaigns c, generate_series(1, 100000) s WHERE c.id = $C4 ORDER BY s)
     TO STDOUT" >"$T/draws"
[ "$(wc -l <"$T/draws")" = 100000 ] || fail "draws: $(wc -l <"$T/draws")"
for i in 2 3 4 5 6; do
	points_are 127.0.0.1 "$(code $i "$T/codes_bean")" "bean$i" 3
done
as "$TB" POST "/api/v1/admin/campaigns/$C4/end"
expect 200 "ending bean's campaign"
SECRET=$(field .secret)
[ "$(field .status)" = ended ] && [ ${#SECRET} = 64 ] || fail "ended: $(cat "$T/body")"
as "$TB" POST "/api/v1/admin/campaigns/$C4/end"
expect 409 "ending it again"
sql_eq "SELECT count(*) FROM audit WHERE action = 'campaign.end' AND target = '$C4'" 1
sql "COPY (SELECT x.serial, x.prize_tier FROM campaign_claims x WHERE x.campaign_id = $C4
            AND x.prize_tier IS NOT NULL) TO STDOUT" >"$T/won"
sql "COPY (SELECT x.serial FROM campaign_claims x WHERE x.campaign_id = $C4) TO STDOUT" >"$T/drawn"
python3 - "$SECRET" "$HASH" "$T/draws" "$T/won" "$T/drawn" <<'EOF' || fail "fairness"
import hashlib, hmac, math, sys
secret, published, draws, won, drawn = bytes.fromhex(sys.argv[1]), sys.argv[2], *sys.argv[3:]
assert hashlib.sha256(secret).hexdigest() == published, "the revealed secret is not the published hash's"
ppm = [100000, 250000, 1000]
def tier(serial):
    v = int.from_bytes(hmac.new(secret, str(serial).encode(), hashlib.sha256).digest()[:4], "big")
    cum = 0
    for k, p in enumerate(ppm, 1):
        cum += p
        if v * 1000000 < cum * 2**32:
            return k
    return 0
n = 0
count = [0] * (len(ppm) + 1)
for line in open(draws):
    s, t = map(int, line.split())
    assert tier(s) == t, f"serial {s}: the database drew {t}, python {tier(s)}"
    count[t] += 1
    n += 1
assert n == 100000
for k, p in enumerate(ppm, 1):
    q = p / 1e6
    sigma = math.sqrt(n * q * (1 - q))
    dev = abs(count[k] - n * q)
    assert dev <= 4.5 * sigma, f"tier {k}: {count[k]} wins in {n}, expected {n*q:.0f} +- {4.5*sigma:.0f}"
    print(f"tier {k}: {count[k]} of {n} (expected {n*q:.0f}, bound 4.5 sigma = {4.5*sigma:.0f})")
for line in open(won):
    s, t = map(int, line.split())
    assert tier(s) == t, f"claim of serial {s} won tier {t}, python says {tier(s)}"
for line in open(drawn):
    s = int(line)
    w = [l for l in open(won) if int(l.split()[0]) == s]
    assert bool(w) == (tier(s) != 0), f"claim of serial {s}: drawn {tier(s)}, won {w}"
EOF
ok "100,000 draws within 4.5 sigma, each re-derived from the revealed secret"

# ---- 5. the last 10 prizes, 1,000 claims at once ----
as "$TB" POST /api/v1/admin/campaigns '{"brand":"Bean Co","name":"Last ten","ends_at":"'$FUTURE'",
  "prizes":[{"name":"Bicycle","count":11,"probability_ppm":1000000}]}'
expect 201 "the last eleven"
C5=$(field .id)
# one won through the claim form: the result page says so (zh-Hant), then 10 are left
member_session winner
links_c5() { page "/c/$(code 8 "$T/codes_bean")"; grep -q "href=\"/campaigns/$C5\"" "$T/page"; }
wait_until 10 "the landing page to link the new campaign" links_c5
page "/c/$(code 7 "$T/codes_bean")/claim" "${MEMBER_FORM[@]}" -H 'Accept-Language: zh-TW'
[ "$STATUS" = 200 ] && grep -qF '恭喜您獲得：Bicycle' "$T/page" && grep -q "href=\"/campaigns/$C5\"" "$T/page" ||
	fail "the prize on the claim result: $STATUS $(cat "$T/page")"
sql_eq "SELECT remaining FROM campaign_prizes WHERE campaign_id = $C5" 10
tail -n +11 "$T/codes_bean" | head -n 1000 >"$T/rush"
python3 - "$BASE" "$(claims_token)" "$T/rush" "$T/rush.out" <<'EOF' || fail "the rush"
import http.client, json, sys, threading, urllib.parse
base, token, codes, out = sys.argv[1:]
u = urllib.parse.urlparse(base)
codes = [l.strip() for l in open(codes)]
go = threading.Barrier(len(codes))
results = [None] * len(codes)
def one(i):
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    c.connect()
    go.wait()
    c.request("POST", "/api/v1/claims", json.dumps({"code": codes[i], "member": f"rush{i}"}),
              {"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    r = c.getresponse()
    results[i] = (r.status, json.loads(r.read()))
    c.close()
ts = [threading.Thread(target=one, args=(i,)) for i in range(len(codes))]
for t in ts: t.start()
for t in ts: t.join()
with open(out, "w") as f:
    for s, b in results:
        f.write(json.dumps([s, b]) + "\n")
EOF
[ "$(jq -c 'select(.[0] == 200 and .[1].outcome == "awarded")' "$T/rush.out" | wc -l)" = 1000 ] ||
	fail "not 1000 awards: $(jq -c '.[0]' "$T/rush.out" | sort | uniq -c)"
WINNERS=$(jq -c '.[1].campaign.prizes // [] | .[] | select(.name == "Bicycle")' "$T/rush.out" | wc -l)
[ "$WINNERS" = 10 ] || fail "$WINNERS winners in the answers, expected 10"
sql_eq "SELECT count(*) FROM campaign_claims WHERE campaign_id = $C5 AND prize_tier = 1" 11
sql_eq "SELECT remaining FROM campaign_prizes WHERE campaign_id = $C5" 0
ok "a prize on the claim form's page; 1000 claims at once for the last 10 prizes: 10 winners"
server_stop
