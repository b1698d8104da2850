#!/bin/bash
# test_packing.sh: cases, pallets, distributors and diversion end to end
# (docs/supply-chain.md, "Packing" and "Distributors"), against real
# PostgreSQL and HTTP with the geolocation test database (make_geoip.pl):
# mint inactive -> pack items into cases -> cases onto a pallet (a bulk
# load) -> ship the pallet to a distributor of Zhejiang -> activate by the
# pallet -> a scan from a Zhejiang address is genuine with no alert, one
# from a Guangdong address raises the diversion alert (and its webhook
# event). A bulk load with a bad line in the middle changes nothing and
# names the line; unpack and repack keep their history; the chain for
# staff (and never the public); distributors and shipments isolated by
# brand; every change audited.
PC_TIMEOUT=90
. "$(dirname "$0")/harness.sh"
. "$(dirname "$0")/server_lib.sh"

command -v perl >/dev/null && perl -MMaxMind::DB::Writer::Tree -e1 2>/dev/null ||
	skip "no MaxMind::DB::Writer (libmaxmind-db-writer-perl)"
command -v python3 >/dev/null || skip "no python3 (the webhook receiver)"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
IT=$abs_top_srcdir/tests/integration
RECEIVER_PID=
pk_exit() {
	local rc=$?
	set +e
	[ -z "$RECEIVER_PID" ] || { kill -KILL "$RECEIVER_PID" 2>/dev/null; wait "$RECEIVER_PID" 2>/dev/null; }
	(exit "$rc")
	server_exit
}
trap pk_exit EXIT

setup # TEA of brand "Packcode Tea", GTIN 06901234567892
pcgen product add --sku TEACASE --name "Tea, case of 24" --brand "Packcode Tea" --points 0 \
	--gtin 16901234567899 >/dev/null || fail "product TEACASE"
pcgen product add --sku BEAN --name Beans --brand "Bean Co" --points 3 >/dev/null || fail "product BEAN"
expect_error 1 'has no GTIN' pcgen product set BEAN --case
pcgen product set TEACASE --case >/dev/null || fail "product set --case"
sql_is case "SELECT packaging FROM products WHERE sku = 'TEACASE'" || fail "TEACASE is a case product"

# ---- mint inactive: 48 items, 2 cases, 2 pallets ----------------------------------
pcgen mint --product TEA --count 48 --out "$T/items" --host pack.example --inactive -q || fail "mint items"
pcgen mint --product TEACASE --count 3 --out "$T/cases" --host pack.example --inactive -q || fail "mint cases"
pcgen mint --product BEAN --count 2 --out "$T/bean" --host pack.example -q || fail "mint bean"
expect_error 1 'no GS1 Company Prefix' pcgen pallet mint --brand "Packcode Tea" --count 2
pcgen pallet mint --brand "Packcode Tea" --count 2 --prefix 0690123 --host pack.example >"$T/pallets" ||
	fail "pallet mint"
[ "$(wc -l <"$T/pallets")" = 2 ] || fail "two SSCCs: $(cat "$T/pallets")"
P1=$(sed -n 1p "$T/pallets" | cut -d, -f1)
P2=$(sed -n 2p "$T/pallets" | cut -d, -f1)
[ "$(sed -n 1p "$T/pallets" | cut -d, -f2)" = "https://pack.example/00/$P1" ] || fail "the pallet's Digital Link URL"
[[ "$P1" =~ ^00690123[0-9]{10}$ ]] || fail "SSCC $P1: extension 0, prefix 0690123"
pcgen pallet mint --brand "Packcode Tea" --count 1 >"$T/p3" || fail "a second run takes the brand's prefix"
sql_is 2 "SELECT count(*) FROM pallet_runs" || fail "one row per pallet run"
item() { sed -n "$(($1 + 1))p" "$T/items/codes.csv" | cut -d, -f"${2:-1}"; }
C1=$(sed -n 2p "$T/cases/codes.csv" | cut -d, -f1)
C2=$(sed -n 3p "$T/cases/codes.csv" | cut -d, -f1)
C3=$(sed -n 4p "$T/cases/codes.csv" | cut -d, -f1)
BEAN1=$(sed -n 2p "$T/bean/codes.csv" | cut -d, -f1)

# ---- a bulk load with a bad line in the middle changes nothing ------------------
links() { sql "SELECT count(*) FROM pack_links"; }
{
	echo parent,child
	for i in $(seq 1 24); do echo "$C1,$(item "$i")"; done
	for i in $(seq 25 48); do echo "$C2,$(item "$i" 3)"; done # as Digital Link URLs
	echo "$P1,$C1"
	echo "(00)$P1,$C2"
} >"$T/good.csv"
# a typo, a code of no case product as parent, a repeated child, a case in a case,
# another brand's code, a bad SSCC check digit: each in the middle, each refused
bad_load() { # LINE-TEXT EXPECTED-MESSAGE
	{ head -n 20 "$T/good.csv"; echo "$1"; tail -n +21 "$T/good.csv"; } >"$T/bad.csv"
	expect_error 1 "line 21: .*$2" pcgen pack load "$T/bad.csv"
	[ "$(links)" = 0 ] || fail "a load with a bad line ($1) packed $(links) links"
}
bad_load "$C1,$(item 1 | tr 0-9A-Z 1-9A-Z0)" 'is not a code of ours'
bad_load "$(item 40),$(item 39)" 'the parent is not a case'
bad_load "$C3,$(item 2)" 'the child is on line 3 already'
bad_load "$C3,$C1" 'a case goes onto a pallet'
bad_load "$C3,$BEAN1" 'another brand'
bad_load "${P1%?}$(((${P1: -1} + 1) % 10)),$C3" 'is not an SSCC'
bad_load "$C3" 'not PARENT,CHILD'
sql_is 0 "SELECT count(*) FROM pack_loads" || fail "a refused load left a pack_loads row"
pcgen pack load "$T/good.csv" >"$T/out" || fail "pack load: $(cat "$T/out")"
grep -q '50 links packed' "$T/out" || fail "load: $(cat "$T/out")"
expect_error 1 'line 2: the child is packed already' pcgen pack load "$T/good.csv"
# JSON Lines
printf '{"parent": "%s", "child": "%s"}\n' "$P2" "$C3" >"$T/one.jsonl"
pcgen pack load "$T/one.jsonl" >/dev/null || fail "pack load of JSON Lines"
printf '{"parent": "%s"}\n' "$P2" >"$T/bad.jsonl"
expect_error 1 'line 1: not {"parent"' pcgen pack load "$T/bad.jsonl"
sql_is 51 "SELECT count(*) FROM pack_links" || fail "51 links"
audited() { [ "$(sql "SELECT count(*) FROM audit WHERE action = '$1'")" -ge "${2:-1}" ] || fail "no audit row $1"; }
audited pack.load 2
ok "bulk loads (CSV, JSON Lines): all or nothing, the bad line named"

# ---- distributors and the shipment ------------------------------------------------
expect_error 1 'region 99' pcgen distributor add --brand "Packcode Tea" --name Nowhere --territory 99
D1=$(pcgen distributor add --brand "Packcode Tea" --name "Zhejiang Trading" --territory 330000) ||
	fail "distributor add"
D2=$(pcgen distributor add --brand "Packcode Tea" --name "Hangzhou only" --territory 3301,CN-SH) ||
	fail "distributor add (city)"
expect_error 1 'has a distributor of that name' pcgen distributor add --brand "Packcode Tea" --name "Zhejiang Trading"
pcgen distributor list | grep -q "^$D1	Packcode Tea	Zhejiang Trading	330000$" || fail "distributor list: $(pcgen distributor list)"
sql_is "CN|CN-ZJ|Hangzhou" "SELECT concat_ws('|', country, subdivision, city) FROM distributor_regions
                             WHERE distributor_id = $D2 AND code = '3301'" || fail "3301 is Hangzhou, Zhejiang"
expect_error 1 'of no pallet run of ours' pcgen ship --distributor "$D1" \
	--pallet "$(sql "SELECT sscc_text(690123000099999)")"
S1=$(pcgen ship --distributor "$D1" --pallet "$P1" --reference DN-1 | cut -d" " -f2) || fail "ship"
sql_is 1 "SELECT count(*) FROM shipment_items" || fail "a shipment of a pallet is one row"
audited distributor.add 2
audited shipment.add

# ---- activate by the pallet -----------------------------------------------------
I1=$(item 1)
I30=$(item 30)
perl "$(dirname "$0")/make_geoip.pl" "$T/geo.mmdb" || fail "make_geoip.pl"
python3 "$IT/webhook_receiver.py" "$T/r.port" "$T/r.log" --mode accept --lifetime 80 2>"$T/r.err" &
RECEIVER_PID=$!
: >>"$T/r.log"
wait_until 10 "the receiver to listen" test -s "$T/r.port"
TADMIN=$(pcgen token add --name ops --scopes read,operate,admin 2>/dev/null) || fail "token ops"
server_start --threads 1 --pool 3 --geoip "$T/geo.mmdb" --alert-interval 1
STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $TADMIN" \
	-H 'Content-Type: application/json' --data-binary "{\"url\":\"http://127.0.0.1:$(cat "$T/r.port")/\",\"events\":[\"code.diverted\"]}" \
	"$BASE/api/v1/admin/webhooks")
[ "$STATUS" = 201 ] || fail "webhook subscription: $STATUS $(cat "$T/body")"
req GET "/api/v1/codes/$I1"
[ "$STATUS" = 410 ] && [ "$(field .verdict)" = inactive ] || fail "before activation: $STATUS $(cat "$T/body")"
pcgen pack activate "$P1" --reason "pallet to Zhejiang" >"$T/out" || fail "pack activate: $(cat "$T/out")"
grep -q '50 codes in 2 ranges, activated' "$T/out" || fail "activate: $(cat "$T/out")"
sql_is 2 "SELECT count(*) FROM batch_activations" || fail "a pallet's activation: one row per run of serials"
audited pack.activate
verdict_is() { # CODE VERDICT [ADDRESS]
	STATUS=$(curl -s --max-time 10 ${3:+--interface "$3"} -o "$T/body" -w '%{http_code}' "$BASE/api/v1/codes/$1")
	[ "$(field .verdict)" = "$2" ]
}
wait_until 5 "the catalog to reload" verdict_is "$I1" genuine
verdict_is "$C1" genuine || fail "the case is released too"
verdict_is "$C3" inactive || fail "a case on another pallet stays inactive"

# ---- scans: Zhejiang genuine, no alert; Guangdong: the diversion alert ------------
verdict_is "$I1" genuine 127.0.1.7 || fail "scan from Zhejiang: $STATUS $(cat "$T/body")"
verdict_is "$I30" genuine 127.0.1.8 || fail "scan from Zhejiang"
wait_until 10 "the Zhejiang scans to be written" \
	sh -c "[ \"\$(psql -X -At -d \"$PACKCODE_DB\" -c \"SELECT count(*) FROM scans WHERE subdivision = 'CN-ZJ'\")\" = 2 ]"
sleep 2 # an evaluation or two after the scans
sql_is 0 "SELECT count(*) FROM alerts WHERE kind = 'diversion'" || fail "a scan inside the territory raised an alert"
verdict_is "$I30" genuine 127.0.2.9 || fail "scan from Guangdong: genuine all the same: $(cat "$T/body")"
wait_until 10 "the diversion alert" \
	sh -c "[ \"\$(psql -X -At -d \"$PACKCODE_DB\" -c \"SELECT count(*) FROM alerts WHERE kind = 'diversion'\")\" = 1 ]"
S30=$(sql "SELECT serial FROM scans WHERE subdivision = 'CN-GD'")
sql_is "code:$S30|Packcode Tea|Zhejiang Trading|[\"330000\"]|CN-GD|Shenzhen|$(printf '%s' "$P1")" \
	"SELECT concat_ws('|', subject, brand, detail->'distributor'->>'name', detail->>'territory',
	                  detail->'scanned_in'->>'subdivision', detail->'scanned_in'->>'city', detail->>'pallet')
	   FROM alerts WHERE kind = 'diversion'" || fail "the alert names distributor, territory, place"
sql_is 1 "SELECT count(*) FROM alerts WHERE kind = 'diversion' AND detail ? 'scanned_at'" || fail "when it was scanned"
wait_until 10 "the code.diverted webhook" grep -q '"code.diverted"' "$T/r.log"
jq -e --arg p "$P1" 'select(.event == "code.diverted") | .body | fromjson | .data
	| .distributor.name == "Zhejiang Trading" and .scanned_in.subdivision == "CN-GD" and .pallet == $p' "$T/r.log" >/dev/null ||
	fail "code.diverted payload: $(cat "$T/r.log")"
verdict_is "$I30" genuine 127.0.2.10 || fail "again from Guangdong"
sleep 2
sql_is 1 "SELECT count(*) FROM alerts WHERE kind = 'diversion'" || fail "one alert per code and shipment"
ok "mint inactive -> cases -> pallet -> ship to Zhejiang -> activate by the pallet -> Zhejiang genuine, Guangdong diverted"

# ---- the chain for staff; never the public ---------------------------------------
pcgen pack chain "$I30" >"$T/chain" || fail "pack chain"
grep -q "^case $C2 " "$T/chain" && grep -q "^pallet $P1$" "$T/chain" &&
	grep -q "^shipment $S1 .* to distributor $D1 \"Zhejiang Trading\" (territory 330000)$" "$T/chain" ||
	fail "chain: $(cat "$T/chain")"
req GET "/api/v1/codes/$I30"
! grep -q "$P1\|Zhejiang Trading\|shipment" "$T/body" || fail "the public lookup tells the chain: $(cat "$T/body")"
ok "an item's chain: case, pallet, shipment, distributor (staff only)"

# ---- receiving: the distributor's warehouse scans the pallet (sql/026_receiving.sql) --
expect_error 1 'in no shipment: nothing received' pcgen ship receive "$P2"
sql_is 0 "SELECT count(*) FROM shipment_receipts" || fail "an unshipped pallet received"
sql_is 0 "SELECT count(*) FROM audit WHERE action = 'shipment.receive'" || fail "an unshipped pallet's receipt audited"
pcgen ship receive "$P1" >"$T/out" || fail "ship receive: $(cat "$T/out")"
grep -q "^shipment $S1 to distributor $D1 received at .* by " "$T/out" || fail "receive: $(cat "$T/out")"
RAT1=$(sed 's/.* at \([^ ]*\) by .*/\1/' "$T/out")
pcgen ship receive "$P1" >"$T/out2" || fail "ship receive again"
grep -q "^shipment $S1 to distributor $D1 already received at $RAT1 " "$T/out2" ||
	fail "again: $(cat "$T/out2") after $(cat "$T/out")"
pcgen ship receive "$C2" | grep -q "already received" || fail "a case on a received pallet"
pcgen ship receive --shipment "$S1" | grep -q "^shipment $S1 .* received at" || fail "the whole shipment"
expect_error 1 'no shipment 999' pcgen ship receive --shipment 999
sql_is 2 "SELECT count(*) FROM shipment_receipts" || fail "receipts: one per unit, once"
audited shipment.receive 2
pcgen pack chain "$I30" | grep -q "^received at $RAT1$" || fail "chain: received at: $(pcgen pack chain "$I30")"
ok "receiving: the pallet received once (again: the first receipt), unshipped refused, in the chain"

# ---- unpack and repack -------------------------------------------------------------
pcgen pack unpack "$C1" --reason "damaged case" >"$T/out" || fail "unpack"
grep -q '24 children unpacked' "$T/out" || fail "unpack: $(cat "$T/out")"
sql_is 24 "SELECT count(*) FROM pack_changes WHERE kind = 'unpack' AND reason = 'damaged case'" || fail "unpack history"
pcgen pack chain "$I1" | grep -q '^case' && fail "I1 still in a case"
pcgen pack move "$I1" "$C3" >"$T/out" || fail "pack move (not packed: packed)"
grep -q '^packed' "$T/out" || fail "move: $(cat "$T/out")"
pcgen pack move "$I30" "$C3" --reason "repack" >"$T/out" || fail "pack move (repack)"
grep -q '^repacked (change' "$T/out" || fail "repack: $(cat "$T/out")"
sql_is "1|$(sql "SELECT serial_first + 1 FROM batches WHERE product_sku = 'TEACASE'")" \
	"SELECT count(*) || '|' || min(parent_before) FROM pack_changes WHERE kind = 'repack'" || fail "repack history: the old case"
expect_error 1 'in that parent already' pcgen pack move "$I30" "$C3"
pcgen pack chain "$I30" | grep -q "^pallet $P2$" || fail "repacked into C3: on pallet 2 now"
# runs (sql/034_pack_runs.sql): a case's items in print order are one row; a
# repack cuts the run; a packed child in the middle of a run is named by its line
C1S=$(sql "SELECT serial_first FROM batches WHERE product_sku = 'TEACASE'")
c1_runs() { sql "SELECT count(*) || '|' || coalesce(sum(child_last - child_first + 1), 0) FROM pack_runs WHERE parent = $C1S AND NOT pallet"; }
{ echo parent,child; for i in $(seq 2 24); do echo "$C1,$(item "$i")"; done; } >"$T/c1.csv"
pcgen pack load "$T/c1.csv" >"$T/out" || fail "reload C1: $(cat "$T/out")"
[ "$(c1_runs)" = "1|23" ] || fail "C1's 23 items are not one run: $(c1_runs)"
pcgen pack move "$(item 12)" "$C3" >/dev/null || fail "repack item 12"
[ "$(c1_runs)" = "2|22" ] || fail "the repack did not cut the run in two: $(c1_runs)"
pcgen pack chain "$(item 11)" | grep -q "(serial $C1S)" || fail "item 11 left C1: $(pcgen pack chain "$(item 11)")"
pcgen pack chain "$(item 13)" | grep -q "(serial $C1S)" || fail "item 13 left C1"
pcgen pack chain "$(item 12)" | grep -q "(serial $((C1S + 2)))" || fail "item 12 not in C3"
pcgen pack unpack "$C1" >/dev/null || fail "unpack C1 again"
[ "$(c1_runs)" = "0|0" ] || fail "unpack left runs: $(c1_runs)"
expect_error 1 'line 12: the child is packed already' pcgen pack load "$T/c1.csv"
[ "$(c1_runs)" = "0|0" ] || fail "a refused load packed: $(c1_runs)"
# two loads at once with overlapping runs (items 2-11, items 5-11): both wait
# on pack_runs_lock() held by a session of the test's, then one packs and the
# other finds its children packed
{ echo parent,child; for i in $(seq 2 11); do echo "$C1,$(item "$i")"; done; } >"$T/ra.csv"
{ echo parent,child; for i in $(seq 5 11); do echo "$C1,$(item "$i")"; done; } >"$T/rb.csv"
mkfifo "$T/lock.fifo"
psql -X -q -d "$PACKCODE_DB" <"$T/lock.fifo" >/dev/null 2>&1 &
LOCKER=$!
exec 7>"$T/lock.fifo"
echo "BEGIN; SELECT pack_runs_lock();" >&7
runs_locks() { # GRANTED: how many such locks on pack_runs
	[ "$(sql "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
	          WHERE c.relname = 'pack_runs' AND l.mode = 'ShareRowExclusiveLock' AND l.granted = $1")" = "$2" ]
}
wait_until 10 "the test's session to hold the lock" runs_locks true 1
pcgen pack load "$T/ra.csv" >"$T/ra.out" 2>&1 &
LA=$!
pcgen pack load "$T/rb.csv" >"$T/rb.out" 2>&1 &
LB=$!
wait_until 20 "both loads to wait for the lock" runs_locks false 2
echo "COMMIT;" >&7
exec 7>&-
wait "$LOCKER" || true
ra=0 rb=0
wait "$LA" || ra=$?
wait "$LB" || rb=$?
case "$ra$rb" in
01) grep -q 'line 2: the child is packed already' "$T/rb.out" || fail "the second load: $(cat "$T/rb.out")"
	[ "$(c1_runs)" = "1|10" ] || fail "the first load's run: $(c1_runs)" ;;
10) grep -q 'line 5: the child is packed already' "$T/ra.out" || fail "the second load: $(cat "$T/ra.out")"
	[ "$(c1_runs)" = "1|7" ] || fail "the first load's run: $(c1_runs)" ;;
*) fail "two overlapping loads at once exited $ra and $rb: $(cat "$T/ra.out" "$T/rb.out")" ;;
esac
pcgen pack unpack "$C1" >/dev/null || fail "unpack C1 after the race"
audited pack.unpack
audited pack.repack
ok "unpack and repack, with their history"

# ---- brands: distributors and shipments are the brand's own ----------------------
pcgen token add --name bean --scopes read,operate --brands "Bean Co" >/dev/null || fail "token bean"
TBEAN=$(sql "SELECT id FROM admin_tokens WHERE name = 'bean'")
sql_is forbidden_brand "SELECT outcome FROM admin_distributor_add($TBEAN, NULL, 'Packcode Tea', 'X', '{33}')" ||
	fail "bean adds a tea distributor"
sql_is added "SELECT outcome FROM admin_distributor_add($TBEAN, NULL, 'Bean Co', 'Bean GD', '{44}')" ||
	fail "bean adds its own"
sql_is unknown_distributor "SELECT outcome FROM admin_distributor_change($TBEAN, NULL, $D1, 'mine', NULL)" ||
	fail "bean changes a tea distributor"
sql_is unknown_distributor "SELECT outcome FROM admin_distributor_delete($TBEAN, NULL, $D1)" ||
	fail "bean deletes a tea distributor"
sql_is unknown_distributor "SELECT outcome FROM admin_shipment_add($TBEAN, NULL, $D1, NULL, '{batch}', '{1}', '{NULL}', '{NULL}')" ||
	fail "bean ships to a tea distributor"
BD=$(sql "SELECT id FROM distributors WHERE name = 'Bean GD'")
expect_sql_error() { ! pc_psql "$1" >/dev/null 2>"$T/err" && grep -q "$2" "$T/err" || fail "$1: $(cat "$T/err")"; }
expect_sql_error "SELECT * FROM admin_shipment_add($TBEAN, NULL, $BD, NULL, '{pallet}', '{${P1#00}}', '{NULL}', '{NULL}')" \
	'no pallet of brand Bean Co'
sql_is "Bean Co" "SELECT string_agg(brand, ',') FROM distributors_list(ARRAY[(SELECT id FROM brands WHERE name = 'Bean Co')])" ||
	fail "bean lists only its own"
sql_is forbidden_brand "SELECT outcome FROM admin_pack_activate($TBEAN, NULL, true, ${P1#00}, NULL)" ||
	fail "bean activates a tea pallet"
sql_is forbidden_brand "SELECT outcome FROM admin_pack_unpack($TBEAN, NULL, true, ${P1#00}, NULL)" ||
	fail "bean unpacks a tea pallet"
sql_is forbidden_brand "SELECT outcome FROM shipment_receive('bean', NULL, ARRAY[(SELECT id FROM brands WHERE name = 'Bean Co')], true, ${P1#00}, NULL)" ||
	fail "bean receives a tea pallet"
sql_is unknown_shipment "SELECT outcome FROM shipment_receive('bean', NULL, ARRAY[(SELECT id FROM brands WHERE name = 'Bean Co')], NULL, NULL, $S1)" ||
	fail "bean receives a tea shipment"
sql_is 0 "SELECT count(*) FROM pack_chain($S30, ARRAY[(SELECT id FROM brands WHERE name = 'Bean Co')])" ||
	fail "bean reads a tea code's chain"
ok "distributors, shipments and packs isolated by brand"

# ---- the admin API: a warehouse scans a parent, distributors, shipments, the chain --
TWH=$(pcgen token add --name warehouse --scopes operate --brands "Packcode Tea" 2>/dev/null) || fail "token warehouse"
TRD=$(pcgen token add --name viewer --scopes read --brands "Packcode Tea" 2>/dev/null) || fail "token viewer"
TBN=$(pcgen token add --name bean-ops --scopes read,operate --brands "Bean Co" 2>/dev/null) || fail "token bean-ops"
api() { # TOKEN METHOD PATH [BODY]: STATUS, $T/body
	local args=(-s --max-time 10 -o "$T/body" -w '%{http_code}' -X "$2" -H "Authorization: Bearer $1")
	[ $# -ge 4 ] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
	STATUS=$(curl "${args[@]}" "$BASE$3")
}
is() { [ "$STATUS" = "$1" ] || fail "$2: $STATUS $(head -c 400 "$T/body")"; }
verdict_is "$C3" inactive || fail "C3 before the warehouse scans its pallet"
api "$TBN" POST "/api/v1/admin/packs/$P2/activate" '{}'
is 403 "another brand's warehouse scans the pallet"
api "$TWH" POST "/api/v1/admin/packs/${P2%?}$(((${P2: -1} + 1) % 10))/activate" '{}'
is 400 "a bad SSCC"
api "$TWH" POST "/api/v1/admin/packs/$P2/activate" '{"reason":"received at Hangzhou"}'
is 200 "the warehouse scans pallet 2"
[ "$(field .outcome)|$(field .kind)|$(field .parent)" = "activated|pallet|$P2" ] || fail "activate reply: $(cat "$T/body")"
wait_until 5 "C3 released" verdict_is "$C3" genuine
api "$TWH" POST "/api/v1/admin/packs/$C3/activate" '{}'
is 200 "scanning the case again"
[ "$(field .outcome)" = already_active ] || fail "again: $(cat "$T/body")"
api "$TRD" POST "/api/v1/admin/packs/$C3/activate" '{}'
is 403 "a read token activates"

api "$TWH" POST /api/v1/admin/distributors '{"brand":"Packcode Tea","name":"Guangdong Co","territory":["44","CN-HI"]}'
is 201 "distributor by API"
DG=$(field .id)
[ "$(jq -c .territory "$T/body")" = '["44","CN-HI"]' ] || fail "territory: $(cat "$T/body")"
api "$TWH" POST /api/v1/admin/distributors '{"brand":"Packcode Tea","name":"X","territory":["ZZZ9"]}'
is 400 "a bad region"
grep -q 'region ZZZ9' "$T/body" || fail "the bad region named: $(cat "$T/body")"
api "$TWH" POST /api/v1/admin/distributors '{"brand":"Packcode Tea","name":7}'
is 400 "a name that is no string"
api "$TBN" POST /api/v1/admin/distributors '{"brand":"Packcode Tea","name":"Y"}'
is 403 "bean adds a tea distributor by API"
api "$TBN" POST "/api/v1/admin/distributors/$DG" '{"name":"mine"}'
is 404 "bean renames a tea distributor"
api "$TWH" POST "/api/v1/admin/distributors/$DG" '{"territory":["4403"]}'
is 200 "territory changed"
api "$TBN" GET /api/v1/admin/distributors
is 200 "bean lists"
[ "$(jq -r '[.distributors[].brand] | unique | join(",")' "$T/body")" = "Bean Co" ] || fail "bean sees: $(cat "$T/body")"
api "$TRD" GET /api/v1/admin/distributors
[ "$(jq -r '.distributors[] | select(.id == '"$DG"') | .territory | join(",")' "$T/body")" = 4403 ] ||
	fail "tea's list: $(cat "$T/body")"

I5=$(item 5)
api "$TWH" POST /api/v1/admin/packs/"$C1"/children "{\"children\":[\"$I1\",\"$(item 2)\"],\"reason\":\"back into C1\"}"
is 200 "pack by API (one repack, one new)"
[ "$(field .packed)|$(field .repacked)" = "1|1" ] || fail "children: $(cat "$T/body")"
api "$TWH" POST /api/v1/admin/packs/"$C1"/children "{\"children\":[\"$(item 3)\",\"$BEAN1\"]}"
is 400 "a child of another brand"
grep -q 'line 2: ' "$T/body" || fail "the bad child named: $(cat "$T/body")"
sql_is 0 "SELECT count(*) FROM pack_links WHERE child = $(sql "SELECT serial_first + 2 FROM batches WHERE product_sku = 'TEA'")" ||
	fail "a refused API pack packed something"
api "$TWH" POST /api/v1/admin/shipments "{\"distributor\":$DG,\"cases\":[\"$C1\"],\"ranges\":[{\"batch\":$(sql "SELECT id FROM batches WHERE product_sku = 'TEA'"),\"first\":5,\"last\":5}],\"reference\":\"DN-2\"}"
is 201 "shipment by API"
[ "$(jq -r '[.items[].kind] | join(",")' "$T/body")" = "case,range" ] || fail "shipment: $(cat "$T/body")"
sql_is 2 "SELECT count(*) FROM shipment_receipts" || fail "receipts before the API"
api "$TWH" POST "/api/v1/admin/packs/$P2/receive"
is 409 "receiving an unshipped pallet"
[ "$(field .error)" = not_shipped ] || fail "unshipped: $(cat "$T/body")"
sql_is 2 "SELECT count(*) FROM shipment_receipts" || fail "an unshipped pallet received by API"
api "$TWH" POST /api/v1/admin/shipments "{\"distributor\":$DG,\"pallets\":[\"$P2\"]}"
is 201 "a pallet shipped by API"
[ "$(jq -r '.items[0].sscc' "$T/body")" = "$P2" ] || fail "pallet shipment: $(cat "$T/body")"
api "$TBN" POST "/api/v1/admin/packs/$P2/receive"
is 403 "another brand's warehouse receives the pallet"
api "$TRD" POST "/api/v1/admin/packs/$P2/receive"
is 403 "a read token receives"
api "$TWH" POST "/api/v1/admin/packs/$P2/receive"
is 200 "the distributor's warehouse receives pallet 2"
[ "$(field .outcome)|$(field .kind)|$(field .parent)|$(field .distributor)" = "received|pallet|$P2|$DG" ] ||
	fail "receive reply: $(cat "$T/body")"
RAT=$(field .received_at)
api "$TWH" POST "/api/v1/admin/packs/$P2/receive"
is 200 "received twice"
[ "$(field .outcome)|$(field .received_at)|$(field .received_by)" = "already_received|$RAT|warehouse" ] ||
	fail "twice: $(cat "$T/body")"
sql_is 3 "SELECT count(*) FROM shipment_receipts" || fail "received twice: one row"
SP2=$(sql "SELECT max(shipment_id) FROM shipment_receipts")
api "$TBN" POST "/api/v1/admin/shipments/$SP2/receive"
is 404 "another brand receives a tea shipment"
api "$TWH" POST "/api/v1/admin/shipments/$SP2/receive"
is 200 "the whole shipment received"
[ "$(field .outcome)|$(field .kind)|$(field .shipment)" = "received|shipment|$SP2" ] || fail "shipment receipt: $(cat "$T/body")"
api "$TWH" POST "/api/v1/admin/shipments/$SP2/receive"
[ "$(field .outcome)" = already_received ] || fail "the shipment twice: $(cat "$T/body")"
api "$TWH" POST "/api/v1/admin/shipments/99999/receive"
is 404 "no such shipment"
sql_is 4 "SELECT count(*) FROM shipment_receipts" || fail "receipts after the whole shipment"
api "$TRD" GET "/api/v1/admin/codes/$I30/chain"
[ "$(field .shipment.received_at)" = "$RAT" ] || fail "chain received_at: $(cat "$T/body")"
api "$TWH" POST /api/v1/admin/shipments "{\"distributor\":$DG,\"pallets\":[\"${P2%?}$(((${P2: -1} + 1) % 10))\"]}"
is 400 "a bad SSCC shipped"
api "$TBN" POST /api/v1/admin/shipments "{\"distributor\":$DG,\"batches\":[1]}"
is 404 "bean ships to a tea distributor"
api "$TRD" GET "/api/v1/admin/codes/$I1/chain"
is 200 "chain by API"
[ "$(field .case.serial)|$(field .shipment.distributor.name)|$(field .shipment.reference)" = \
	"$(sql "SELECT serial_first FROM batches WHERE product_sku = 'TEACASE'")|Guangdong Co|DN-2" ] ||
	fail "chain: $(cat "$T/body")"
api "$TBN" GET "/api/v1/admin/codes/$I1/chain"
is 404 "bean reads a tea code's chain"
api "$TRD" GET "/api/v1/admin/codes/$I5/chain"
[ "$(field .shipment.reference)" = DN-2 ] || fail "I5's range shipped in DN-2: $(cat "$T/body")"
api "$TWH" DELETE "/api/v1/admin/distributors/$DG"
is 200 "delete"
api "$TWH" DELETE "/api/v1/admin/distributors/$DG"
is 404 "deleted twice"
api "$TWH" POST "/api/v1/admin/packs/$C1/unpack" '{"reason":"api"}'
is 200 "unpack by API"
[ "$(field .children)" = 2 ] || fail "unpack: $(cat "$T/body")"
audited distributor.delete
ok "the admin API: a warehouse scanning a pallet activates it, distributors, shipments, packing and the chain, by brand"
