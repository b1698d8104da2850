#!/bin/bash
# test_supply_states.sh: the supply chain (docs/supply-chain.md) against
# real PostgreSQL and HTTP. Lot and expiry stored (refused for a product
# without a GTIN); mint --inactive and a product's default; a consumer scan
# of an inactive code: 410 "inactive", the page in en, zh-CN and zh-Hant,
# the claim refused, the alert delivered as a webhook (code.inactive_scanned)
# to a receiver on 127.0.0.1; activation by serial range from the CLI and
# the admin API (in memory: the servers' catalog reloads on NOTIFY), a bad
# range changing nothing; every pack state (void, stolen, destroyed, sample)
# and batch expired, set from the CLI and the API, with its verdict, page and
# claim refusal; undo inside the window (default and configured) and outside
# it, superseded; Digital Link lot and GTIN checks; concurrent void and
# claim never awarding a void code; every change audited with its actor.
PC_TIMEOUT=120
. "$(dirname "$0")/harness.sh"
. "$(dirname "$0")/server_lib.sh"

command -v python3 >/dev/null || skip "no python3 (the webhook receiver)"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
IT=$abs_top_srcdir/tests/integration
RECEIVER_PID=
supply_exit() {
	local rc=$?
	set +e
	[ -z "$RECEIVER_PID" ] || { kill -KILL "$RECEIVER_PID" 2>/dev/null; wait "$RECEIVER_PID" 2>/dev/null; }
	(exit "$rc")
	server_exit
}
trap supply_exit EXIT

GTIN=06901234567892
setup
TOK=$(pcgen token add --name ops --scopes read,operate,admin 2>/dev/null) || fail "token add"
TOK_READ=$(pcgen token add --name viewer --scopes read 2>/dev/null) || fail "token add viewer"
pcgen product add --sku NOG --name "No GTIN" --points 5 >/dev/null || fail "product add NOG"
pcgen product add --sku BOX --name "Boxed tea" --points 7 --gtin 96385074 --inactive-by-default \
	>/dev/null || fail "product add --inactive-by-default"
sql_is t "SELECT inactive_by_default FROM products WHERE sku = 'BOX'" || fail "BOX's default"

# admin METHOD PATH [BODY] [TOKEN]: the admin API; STATUS, body in $T/body.
admin() {
	local args=(-s --max-time 10 -o "$T/body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer ${4:-$TOK}")
	[ $# -ge 3 ] && [ -n "$3" ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
	STATUS=$(curl "${args[@]}" "$BASE$2")
}
# verdict CODE STATUS VERDICT: the lookup answers STATUS with VERDICT (a condition).
verdict() {
	req GET "/api/v1/codes/$1"
	[ "$STATUS" = "$2" ] && [ "$(field .verdict)" = "$3" ] || { echo "$STATUS $(head -c 200 "$T/body")"; return 1; }
}
# page_says CODE LANG TEXT: the landing page in LANG holds TEXT.
page_says() {
	page "/c/$1" -H "Accept-Language: $2"
	grep -qF -- "$3" "$T/page" || fail "the $2 page of $1 ($STATUS) lacks '$3': $(head -c 600 "$T/page")"
}
# claim_is CODE MEMBER STATUS OUTCOME
claim_is() {
	claim "$1" "$2"
	[ "$STATUS" = "$3" ] && [ "$(field .outcome)" = "$4" ] ||
		fail "claim of $1 by $2: $STATUS $(head -c 200 "$T/body"), expected $3 $4"
}
audited() { # ACTION ACTOR-PATTERN: at least one audit row
	[ "$(sql "SELECT count(*) FROM audit WHERE action = '$1' AND actor LIKE '$2'")" -ge 1 ] ||
		fail "no audit row $1 by $2"
}

# ---- lot and expiry -----------------------------------------------------------------
n0=$(sql "SELECT count(*) FROM batches")
expect_error 1 'product NOG has no GTIN' pcgen mint --product NOG --count 3 --out "$T/nog" --host pack.example --lot L1 -q
expect_error 1 'has no GTIN' pcgen mint --product NOG --count 3 --out "$T/nog" --host pack.example --expiry 301231 -q
[ "$(sql "SELECT count(*) FROM batches")" = "$n0" ] || fail "a refused mint made a batch"
[ ! -e "$T/nog" ] || fail "a refused mint left files"
expect_error 2 'lot' pcgen mint --product TEA --count 3 --out "$T/badlot" --host pack.example --lot 'A B' -q
pcgen mint --product TEA --count 4 --out "$T/old" --host pack.example --lot LOT7 --expiry 200100 -q ||
	fail "mint --lot --expiry"
B_OLD=$(jq -r .batch "$T/old/batch.json")
sql_is "LOT7|2020-01-31" "SELECT lot || '|' || expiry FROM batches WHERE id = $B_OLD" || fail "lot and expiry stored"
[ "$(jq -r .expiry_date "$T/old/batch.json")" = 2020-01-31 ] || fail "batch.json's expiry_date"
grep -q "/10/LOT7/21/" "$T/old/codes.csv" && grep -q '?17=200100' "$T/old/codes.csv" || fail "the URLs' lot and expiry"
OLD1=$(sed -n 2p "$T/old/codes.csv" | cut -d, -f1)
pcgen mint --product TEA --count 4 --out "$T/lot8" --host pack.example --lot LOT8 --expiry 451231 -q ||
	fail "mint LOT8"
LOT1=$(sed -n 2p "$T/lot8/codes.csv" | cut -d, -f1)
pcgen mint --product NOG --count 2 --out "$T/nog2" --host pack.example -q || fail "mint NOG"
NOG1=$(sed -n 2p "$T/nog2/codes.csv" | cut -d, -f1)
ok "lot and expiry stored; refused without a GTIN, nothing made"

# ---- inactive mints ---------------------------------------------------------------------
pcgen mint --product TEA --count 20 --out "$T/inact" --host pack.example --short --inactive -q || fail "mint --inactive"
B_IN=$(jq -r .batch "$T/inact/batch.json")
[ "$(jq -r .inactive "$T/inact/batch.json")" = true ] || fail "batch.json says inactive"
tail -n +2 "$T/inact/codes.csv" | cut -d, -f1 >"$T/in.codes"
in_code() { sed -n "${1}p" "$T/in.codes"; }
pcgen mint --product BOX --count 2 --out "$T/box1" --host pack.example -q || fail "mint BOX"
pcgen mint --product BOX --count 2 --out "$T/box2" --host pack.example --active -q || fail "mint BOX --active"
sql_is "true false" "SELECT string_agg(inactive::text, ' ' ORDER BY id) FROM batches WHERE product_sku = 'BOX'" ||
	fail "the product's default, and --active over it"
pcgen product set BOX --active-by-default >/dev/null || fail "product set --active-by-default"
sql_is f "SELECT inactive_by_default FROM products WHERE sku = 'BOX'" || fail "BOX's default changed"
audited product.inactive_by_default 'cli:%'
expect_error 1 'unknown product' pcgen product set NOPE --inactive-by-default
expect_error 2 'set needs' pcgen product set BOX
mint 40
B1=$BATCH
FIRST1=$FIRST
cp "$CODES" "$T/codes"
mint 3
B2=$BATCH
cp "$CODES" "$T/codes2"
ok "mint --inactive, --inactive-by-default, --active"

# ---- the server and a webhook receiver ------------------------------------------------------
python3 "$IT/webhook_receiver.py" "$T/rcv.port" "$T/rcv.log" --mode accept --lifetime 110 2>"$T/rcv.err" &
RECEIVER_PID=$!
: >>"$T/rcv.log"
wait_until 10 "the receiver to listen" test -s "$T/rcv.port"
server_start --threads 2 --pool 4
admin POST /api/v1/admin/webhooks "$(jq -cn --arg u "http://127.0.0.1:$(cat "$T/rcv.port")/hook" \
	'{url: $u, events: ["code.inactive_scanned", "codes.activated", "code.state_changed", "batch.expired", "supply.undone"]}')"
[ "$STATUS" = 201 ] || [ "$STATUS" = 200 ] || fail "webhook add: $STATUS $(cat "$T/body")"
# got_event TYPE: the receiver was sent an event of TYPE (a condition).
got_event() { jq -s -e --arg e "$1" 'any(.[]; .event == $e)' "$T/rcv.log" >/dev/null || { echo "no $1 yet"; return 1; }; }

# ---- inactive: verdict, pages, claim refused, alert -----------------------------------------------
C1=$(in_code 1)
verdict "$C1" 410 inactive || fail "an inactive code's lookup: $STATUS $(cat "$T/body")"
[ "$(field .genuine)" = false ] || fail "inactive is not genuine"
page_says "$C1" en "never released this pack for sale"
page_says "$C1" zh-CN "未放行销售"
page_says "$C1" zh-TW "未放行銷售"
[ "$STATUS" = 410 ] || fail "the inactive page's status $STATUS"
claim_is "$C1" m1 410 inactive
sql_is 0 "SELECT count(*) FROM redemptions WHERE batch_id = $B_IN" || fail "an inactive code was redeemed"
wait_until 20 "the code.inactive_scanned webhook" got_event code.inactive_scanned
jq -r 'select(.event == "code.inactive_scanned") | .body' "$T/rcv.log" | head -n 1 |
	jq -e --arg c "$C1" '.data.code == $c and .data.batch > 0 and .subject == "code:" + (.data.serial|tostring)' >/dev/null ||
	fail "the alert's payload: $(head -c 400 "$T/rcv.log")"
ok "inactive: 410, pages in en/zh-CN/zh-Hant, claim refused, alert delivered"

# ---- activation: CLI and API, bad ranges change nothing ---------------------------------------
acts() { sql "SELECT count(*) FROM batch_activations"; }
audits() { sql "SELECT count(*) FROM audit"; }
a0=$(acts)
u0=$(audits)
expect_error 2 'serials' pcgen batch activate "$B_IN" --serials 0-5
expect_error 2 'serials' pcgen batch activate "$B_IN" --serials 9-3
expect_error 2 'serials' pcgen batch activate "$B_IN" --serials 5
expect_error 1 'nothing activated' pcgen batch activate "$B_IN" --serials 15-21
expect_error 1 'no batch' pcgen batch activate 99999
admin POST "/api/v1/admin/batches/$B_IN/activate" '{"first": 15, "last": 99}'
[ "$STATUS" = 400 ] && [ "$(field .error)" = bad_range ] || fail "API bad range: $STATUS $(cat "$T/body")"
admin POST "/api/v1/admin/batches/$B_IN/activate" '{"first": 3}'
[ "$STATUS" = 400 ] || fail "API first without last: $STATUS"
admin POST "/api/v1/admin/batches/$B_IN/activate" '{"first": 1, "last": 2}' "$TOK_READ"
[ "$STATUS" = 403 ] || fail "activate with a read token: $STATUS"
[ "$(acts)" = "$a0" ] && [ "$(audits)" = "$u0" ] || fail "a refused activation changed something"
run pcgen batch activate "$B_IN" --serials 1-5 --reason "shipment 1"
[ "$rc" = 0 ] || fail "batch activate: $err"
grep -q '5 codes activated (change [0-9]*)' <<<"$out" || fail "activate said: $out"
wait_until 5 "code 1 to be genuine (catalog reload)" verdict "$C1" 200 genuine
verdict "$(in_code 5)" 200 genuine || fail "code 5 of the range"
verdict "$(in_code 6)" 410 inactive || fail "code 6 outside the range"
admin POST "/api/v1/admin/batches/$B_IN/activate" '{"first": 6, "last": 10, "reason": "pallet 7"}'
[ "$STATUS" = 200 ] && [ "$(field .outcome)" = activated ] && [ "$(field .count)" = 5 ] ||
	fail "API activate: $STATUS $(cat "$T/body")"
CH_ACT=$(field .change)
wait_until 5 "code 6 to be genuine" verdict "$(in_code 6)" 200 genuine
verdict "$(in_code 11)" 410 inactive || fail "code 11"
admin POST "/api/v1/admin/batches/$B_IN/activate" '{"first": 7, "last": 8}'
[ "$(field .outcome)" = already_active ] || fail "a covered range: $(cat "$T/body")"
claim_is "$C1" m1 200 awarded
audited codes.activate 'cli:%'
audited codes.activate ops
wait_until 20 "the codes.activated webhook" got_event codes.activated
# undo the API's activation: codes 6-10 inactive again, 1-5 stay
admin POST "/api/v1/admin/supply/changes/$CH_ACT/undo" '{"reason": "wrong pallet"}'
[ "$STATUS" = 200 ] && [ "$(field .restored)" = inactive ] || fail "undo activation: $STATUS $(cat "$T/body")"
wait_until 5 "code 6 inactive again" verdict "$(in_code 6)" 410 inactive
verdict "$(in_code 5)" 200 genuine || fail "code 5 after the undo"
admin POST "/api/v1/admin/supply/changes/$CH_ACT/undo" '{}'
[ "$STATUS" = 409 ] && [ "$(field .error)" = already_undone ] || fail "undo twice: $STATUS"
# the whole batch, one row
run pcgen batch activate "$B_IN"
[ "$rc" = 0 ] && grep -q '20 codes activated' <<<"$out" || fail "activate the whole batch: $out $err"
wait_until 5 "code 20 to be genuine" verdict "$(in_code 20)" 200 genuine
sql_is 2 "SELECT count(*) FROM batch_activations WHERE batch_id = $B_IN" || fail "one row per activation"
ok "activation by range (CLI, API), whole batch; bad ranges change nothing; undo"

# ---- pack states --------------------------------------------------------------------------
# code_set CODE STATE: from the CLI; CHANGE is its change number.
code_set() {
	run pcgen code set "$1" "$2" --reason "test"
	[ "$rc" = 0 ] || fail "code set $1 $2: $err"
	CHANGE=$(sed -n 's/.*(change \([0-9]*\)).*/\1/p' <<<"$out")
}
api_set() {
	admin POST "/api/v1/admin/codes/$1/state" "$(jq -cn --arg s "$2" '{state: $s, reason: "api"}')"
	[ "$STATUS" = 200 ] || fail "API state $2 of $1: $STATUS $(cat "$T/body")"
	CHANGE=$(field .change)
}
V=$(code 1)
S=$(code 2)
D=$(code 3)
P=$(code 4)
code_set "$V" void
CH_V=$CHANGE
code_set "$S" stolen
CH_S=$CHANGE
api_set "$D" destroyed
api_set "$P" sample
CH_P=$CHANGE
verdict "$V" 410 void || fail "void: $STATUS $(cat "$T/body")"
verdict "$S" 410 stolen || fail "stolen"
verdict "$D" 410 destroyed || fail "destroyed"
verdict "$P" 200 sample || fail "sample"
[ "$(field .genuine)" = true ] || fail "a sample is genuine"
page_says "$V" en "voided this code"
page_says "$V" zh-CN "此码已作废"
page_says "$S" en "reported stolen"
page_says "$S" zh-CN "已报失窃"
page_says "$S" zh-TW "已報失竊"
page_says "$D" en "recorded this pack as destroyed"
page_says "$D" zh-CN "已登记销毁"
page_says "$P" en "genuine sample"
page_says "$P" zh-CN "正品试用装"
[ "$STATUS" = 200 ] || fail "a sample's page: $STATUS"
grep -q 'action="/c/[^"]*/claim"' "$T/page" && fail "a sample's page offers the claim form"
claim_is "$V" m2 410 void
claim_is "$S" m2 410 stolen
claim_is "$D" m2 410 destroyed
claim_is "$P" m2 403 sample
member_session m2
from 127.0.0.9 "/c/$S/claim" "${MEMBER_FORM[@]}"
[ "$STATUS" = 410 ] && grep -q "reported stolen" "$T/body" || fail "the claim form's page for a stolen code: $STATUS"
sql_is 0 "SELECT count(*) FROM redemptions WHERE serial IN (SELECT serial FROM code_states)" ||
	fail "a code with a state was redeemed"
audited code.state 'cli:%'
audited code.state ops
wait_until 20 "the code.state_changed webhook" got_event code.state_changed
# a state from the code's batch JSON and the JSON claim of a typo'd code: unchanged
admin POST "/api/v1/admin/codes/NOTACODE/state" '{"state": "void"}'
[ "$STATUS" = 400 ] || fail "a typo's state: $STATUS"
admin POST "/api/v1/admin/codes/$V/state" '{"state": "lost"}'
[ "$STATUS" = 400 ] || fail "an unknown state: $STATUS"
ok "void, stolen, destroyed, sample: verdicts, pages, claims refused, audited"

# ---- undo: inside, outside, configured, superseded ----------------------------------------------
run pcgen undo "$CH_S"
[ "$rc" = 0 ] || fail "undo stolen: $err"
verdict "$S" 200 genuine || fail "undone stolen is genuine again"
claim_is "$S" m2 200 awarded
audited supply.undo 'cli:%'
# superseded: void then stolen; the void cannot be undone before the stolen
code_set "$(code 5)" void
CH_A=$CHANGE
code_set "$(code 5)" stolen
expect_error 1 'undo it first' pcgen undo "$CH_A"
verdict "$(code 5)" 410 stolen || fail "a refused undo changed the state"
# outside the default window (10 days)
sql "UPDATE supply_changes SET at = now() - interval '11 days' WHERE id = $CH_V"
expect_error 1 'older than the undo window' pcgen undo "$CH_V"
admin POST "/api/v1/admin/supply/changes/$CH_V/undo" '{}'
[ "$STATUS" = 409 ] && [ "$(field .error)" = undo_window_passed ] || fail "API undo too late: $STATUS $(cat "$T/body")"
verdict "$V" 410 void || fail "a refused undo changed the state"
# a configured window: one hour; a change two hours old
sql "UPDATE supply_changes SET at = now() - interval '2 hours' WHERE id = $CH_P"
# (a session setting here; ALTER DATABASE ... SET needs a superuser, which Citus's test role is not)
PGOPTIONS='-c packcode.undo_window=1h' expect_error 1 'older than the undo window' pcgen undo "$CH_P"
admin POST "/api/v1/admin/supply/changes/$CH_P/undo" '{"reason": "not a sample"}'
[ "$STATUS" = 200 ] && [ "$(field .restored)" = none ] || fail "API undo inside the window: $STATUS $(cat "$T/body")"
verdict "$P" 200 genuine || fail "the undone sample"
admin POST "/api/v1/admin/supply/changes/999999/undo" '{}'
[ "$STATUS" = 404 ] || fail "undo of no change: $STATUS"
audited supply.undo ops
ok "undo inside the window, refused outside it (default and configured) and when superseded"

# ---- batch expired, and the expiry date -------------------------------------------------------
admin POST "/api/v1/admin/batches/$B2/expire" '{"reason": "heat damage"}'
[ "$STATUS" = 200 ] || fail "expire: $STATUS $(cat "$T/body")"
CH_E=$(field .change)
E=$(code 1 "$T/codes2")
wait_until 5 "batch $B2 expired" verdict "$E" 410 expired
[ "$(field .expired_on)" = null ] || fail "expired without a date"
page_says "$E" en "taken out of sale as expired"
claim_is "$E" m3 410 expired
admin POST "/api/v1/admin/batches/$B2/expire" '{}'
[ "$STATUS" = 409 ] || fail "expire twice: $STATUS"
run pcgen undo "$CH_E"
[ "$rc" = 0 ] || fail "undo expire: $err"
wait_until 5 "batch $B2 active again" verdict "$E" 200 genuine
audited batch.expire ops
verdict "$OLD1" 410 expired || fail "past its AI 17 date: $STATUS $(cat "$T/body")"
[ "$(field .expired_on)" = 2020-01-31 ] || fail "expired_on: $(cat "$T/body")"
[ "$(field .batch.lot)" = LOT7 ] || fail "the batch's lot in the lookup"
page_says "$OLD1" en "expired on 31 Jan 2020"
page_says "$OLD1" zh-CN "已于 2020年1月31日过期"
page_says "$OLD1" zh-TW "已於 2020年1月31日過期"
claim_is "$OLD1" m3 410 expired
ok "batch expired (set, undone) and past the expiry date: verdict, pages, claims"

# ---- Digital Link: lot and GTIN ---------------------------------------------------------------
# dl PATH STATUS VERDICT: the Digital Link path answers (JSON) STATUS with VERDICT.
dl() {
	page "$1" -H 'Accept: application/json'
	[ "$STATUS" = "$2" ] && [ "$(jq -r .verdict "$T/page")" = "$3" ] ||
		fail "$1: $STATUS $(head -c 300 "$T/page"), expected $2 $3"
}
dl "/01/$GTIN/10/LOT8/21/$LOT1" 200 genuine
dl "/01/$GTIN/21/$LOT1" 200 genuine
dl "/01/$GTIN/10/LOT9/21/$LOT1" 404 not_genuine
dl "/01/96385074/21/$LOT1" 404 not_genuine
dl "/01/$GTIN/21/$NOG1" 404 not_genuine
page "/01/$GTIN/10/LOT9/21/$LOT1" -H 'Accept-Language: en'
[ "$STATUS" = 404 ] && grep -q "Not a genuine code" "$T/page" || fail "the page of another lot: $STATUS"
ok "Digital Link: a lot or a GTIN that is not the batch's is not genuine"

# ---- concurrent void and claim ------------------------------------------------------------------
# codes 20-39 of the first batch: each claimed and voided at the same time
pids=()
for i in $(seq 20 39); do
	claim_bg "c$i" "$(code "$i")" "racer$i"
	pids+=($BG_PID)
	curl -s --max-time 30 -o "$T/v$i.body" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOK" \
		-H 'Content-Type: application/json' --data-binary '{"state": "void"}' \
		"$BASE/api/v1/admin/codes/$(code "$i")/state" >"$T/v$i.status" &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
for i in $(seq 20 39); do
	[ "$(cat "$T/v$i.status")" = 200 ] || fail "void of code $i: $(cat "$T/v$i.status") $(cat "$T/v$i.body")"
	st=$(cat "$T/c$i.status")
	oc=$(jq -r .outcome "$T/c$i.body")
	s=$(sql "SELECT count(*) FROM redemptions WHERE serial = $((FIRST1 + i - 1))")
	case "$st $oc" in
	"200 awarded") [ "$s" = 1 ] || fail "code $i: awarded without a redemption" ;;
	"410 void") [ "$s" = 0 ] || fail "code $i: refused as void but redeemed" ;;
	*) fail "code $i: claim answered $st $oc" ;;
	esac
	# once the void answered, nobody is awarded the code
	claim_is "$(code "$i")" "late$i" 410 void
	claim_is "$(code "$i")" "racer$i" 410 void
done
sql_is 0 "SELECT count(*) FROM redemptions r JOIN supply_changes c ON c.serial = r.serial
            WHERE c.next = 'void' AND r.claimed_at > c.at + interval '1 second'" ||
	fail "a code redeemed after its void"
ok "concurrent void and claim: a void code is never awarded after its void"

server_stop
