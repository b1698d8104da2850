#!/bin/bash
# test_mall.sh: the points mall (docs/campaigns.md, "Points mall") end to
# end, over HTTP against the real server and PostgreSQL.
#  1. Rewards: made and changed with the campaigns scope, listed with read,
#     of the identity's brands only; bad bodies refused with nothing
#     written; the public catalogue shows the active rewards with stock.
#  2. Concurrency: 50 members order at once a reward with stock 10 ->
#     exactly 10 orders, stock 0, 10 x price spent; a member with points for
#     2 orders 5 at once -> exactly 2; every balance is its ledger's sum.
#  3. Idempotency: the same key and body -> one order (also 5 at once); the
#     same key with another body -> 409; bad input -> 400, nothing changed.
#  4. Cancel (the member) and refund (staff) return the points once (a
#     ledger row of kind refund), the stock unless shipped, also with 5
#     cancels and 5 refunds of one order at once; another brand's staff
#     sees and changes nothing.
#  5. The address: in full for the member and for pii (audited), masked for
#     read; sealed in the database; wiped by the member's erasure. The
#     order.created event in the outbox.
PC_TIMEOUT=90
. "$(dirname "$0")/harness.sh"
. "$(dirname "$0")/server_lib.sh"

unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

setup # TEA of brand "Packcode Tea"
pcgen product add --sku BEAN --name "Beans" --brand "Bean Co" --points 3 >/dev/null || fail "product BEAN"
TALL=$(pcgen token add --name group 2>/dev/null) || fail "token group"
TA=$(pcgen token add --name tea --scopes read,campaigns --brands "Packcode Tea" 2>/dev/null) || fail "token tea"
TPII=$(pcgen token add --name teapii --scopes read,campaigns,pii --brands "Packcode Tea" 2>/dev/null) ||
	fail "token teapii"
TB=$(pcgen token add --name bean --scopes read,campaigns --brands "Bean Co" 2>/dev/null) || fail "token bean"
TREAD=$(pcgen token add --name reader --scopes read 2>/dev/null) || fail "token reader"
# a subscription to order.created: the event is written to the outbox with the order
sql "INSERT INTO webhooks (url, events, secret, created_by)
     VALUES ('http://127.0.0.1:9/hook', '{order.created}', 'mallsecretmallsecret', 'test')" >/dev/null

server_start --threads 2 --pool 4 --max-connections-per-address 5000 \
	--rate-claims 1000000000/1000000000 --rate-member-claims 1000000000/1000000000 \
	--rate-lookups 1000000000/1000000000

# as TOKEN METHOD PATH [BODY]
as() {
	local args=(-s --max-time 10 -o "$T/body" -w '%{http_code}' -X "$2" -H "Authorization: Bearer $1")
	[ $# -ge 4 ] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
	STATUS=$(curl "${args[@]}" "$BASE$3")
}
sql_eq() { local got; got=$(sql "$1"); [ "$got" = "$2" ] || fail "$1: got '$got', expected '$2'"; }

# Members m-N with a session each, and POINTS points (an adjust ledger row):
# members N..M. Their cookies and CSRF tokens in $T/cookie.N and $T/csrf.N.
members() {
	local i c h values=
	for i in $(seq "$1" "$2"); do
		c=pcm_$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
		h=$(printf '%s' "$c" | sha256sum | cut -d' ' -f1)
		printf '%s' "$c" >"$T/cookie.$i"
		printf 'packcode-csrf:%s' "$c" | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' |
			tr -d '=\n' >"$T/csrf.$i"
		values+="${values:+,}('\\x$h', 'm-$i')"
	done
	sql "INSERT INTO members (member, balance) SELECT 'm-' || i, $3 FROM generate_series($1, $2) i;
	     INSERT INTO ledger (member, delta, balance_after, kind, reference)
	     SELECT 'm-' || i, $3, $3, 'adjust', 'test' FROM generate_series($1, $2) i;
	     INSERT INTO member_sessions (hash, member, kind, expires_at)
	     SELECT v.h::bytea, v.m, 'external', now() + interval '1 hour' FROM (VALUES $values) v(h, m)" >/dev/null
}
# order N KEY BODY [OUT]: member N orders (status in $STATUS, body in OUT or $T/body)
order() {
	STATUS=$(curl -s --max-time 20 -o "${4:-$T/body}" -w '%{http_code}' -X POST \
		-b "pc_member=$(cat "$T/cookie.$1")" -H "X-CSRF-Token: $(cat "$T/csrf.$1")" \
		-H "Idempotency-Key: $2" -H 'Content-Type: application/json' --data-binary "$3" \
		"$BASE/api/v1/members/me/orders")
}
# member N METHOD PATH
member() {
	STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' -X "$2" \
		-b "pc_member=$(cat "$T/cookie.$1")" -H "X-CSRF-Token: $(cat "$T/csrf.$1")" "$BASE$3")
}
# wait_all: the orders sent in the background ($PIDS; not the server)
PIDS=()
wait_all() {
	wait "${PIDS[@]}"
	PIDS=()
}
ADDR='{"name":"张三","phone":"+86 139 0000 1234","line1":"西湖区文三路 100 号 5 楼","city":"杭州","region":"CN-ZJ","country":"CN","postcode":"310000"}'
body() { printf '{"reward":%s,"address":%s}' "$1" "${2:-$ADDR}"; }
# balances equal their ledger's sums, none negative
ledger_adds_up() {
	sql_eq "SELECT count(*) FROM members m WHERE m.balance < 0 OR m.balance <> coalesce(
	          (SELECT sum(l.delta) FROM ledger l WHERE l.member = m.member), 0)" 0
}

# the ledger's kinds: the earlier ones and refund, each quoted (what a later migration reads back)
# (later migrations add their own kinds after these: 029's referral)
KINDS=$(sql "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'ledger_kind_check'")
[[ $KINDS =~ ^"CHECK ((kind = ANY (ARRAY['claim'::text, 'spend'::text, 'adjust'::text, 'merge'::text, 'refund'::text"(, \'[a-z_]+\'::text)*"])))"$ ]] ||
	fail "the ledger's kinds: $KINDS"

# ---- 1. rewards ----
as "$TREAD" POST /api/v1/admin/mall/rewards '{"brand":"Packcode Tea","name":"Cup","points":100,"stock":10}'
expect 403 "a reward without the campaigns scope"
as "$TB" POST /api/v1/admin/mall/rewards '{"brand":"Packcode Tea","name":"Cup","points":100,"stock":10}'
expect 403 "bean's reward for tea"
for bad in '{"brand":"Packcode Tea","name":"Cup","points":0,"stock":10}' \
	'{"brand":"Packcode Tea","name":"Cup","points":100,"stock":-1}' \
	'{"brand":"Packcode Tea","name":"Cup","points":1.5,"stock":1}' \
	'{"brand":"Packcode Tea","name":"","points":100,"stock":1}' \
	'{"brand":"Packcode Tea","name":"Cup","points":100}' \
	'{"brand":"Packcode Tea","name":"Cup","points":100,"stock":1,"colour":"red"}' \
	'{"brand":"Nobody","name":"Cup","points":100,"stock":1}' \
	'{"brand":"Packcode Tea","name":"Cup","points":100,"stock":1,"active":"yes"}' \
	'[1]' '{"brand":'; do
	as "$TA" POST /api/v1/admin/mall/rewards "$bad"
	[ "$STATUS" = 400 ] || fail "bad reward accepted ($STATUS): $bad: $(cat "$T/body")"
done
sql_eq "SELECT count(*) FROM mall_rewards" 0
as "$TA" POST /api/v1/admin/mall/rewards '{"brand":"Packcode Tea","name":"Tea cup","description":"A cup","points":100,"stock":10}'
expect 201 "reward 1"
R1=$(field .id)
[ "$(field .points)" = 100 ] && [ "$(field .stock)" = 10 ] && [ "$(field .active)" = true ] || fail "reward 1: $(cat "$T/body")"
as "$TA" POST /api/v1/admin/mall/rewards '{"brand":"Packcode Tea","name":"Tea towel","points":40,"stock":100}'
expect 201 "reward 2"
R2=$(field .id)
as "$TA" POST /api/v1/admin/mall/rewards '{"brand":"Packcode Tea","name":"Hidden","points":1,"stock":5,"active":false}'
expect 201 "reward 3, inactive"
R3=$(field .id)
as "$TB" POST /api/v1/admin/mall/rewards '{"brand":"Bean Co","name":"Bean bag","points":10,"stock":3}'
expect 201 "bean's reward"
RB=$(field .id)
as "$TA" POST "/api/v1/admin/mall/rewards/$R2" '{"points":50}'
expect 200 "tea changes reward 2's price"
[ "$(field .points)" = 50 ] || fail "reward 2: $(cat "$T/body")"
as "$TB" POST "/api/v1/admin/mall/rewards/$R2" '{"points":1}'
expect 404 "bean changes tea's reward"
as "$TA" POST "/api/v1/admin/mall/rewards/$R2" '{"brand":"Bean Co"}'
expect 400 "a reward's brand changed"
as "$TA" POST "/api/v1/admin/mall/rewards/$R2" '{}'
expect 400 "an empty change"
sql_eq "SELECT price FROM mall_rewards WHERE id = $R2" 50
as "$TB" GET /api/v1/admin/mall/rewards
expect 200 "bean's rewards"
[ "$(field '[.rewards[].id] | join(",")')" = "$RB" ] || fail "bean's rewards: $(cat "$T/body")"
as "$TA" GET /api/v1/admin/mall/rewards
[ "$(field '.rewards | length')" = 3 ] || fail "tea's rewards: $(cat "$T/body")"
sql_eq "SELECT count(*) FROM audit WHERE action IN ('mall.reward_create', 'mall.reward_update')" 5
STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' "$BASE/api/v1/mall")
expect 200 "the public catalogue"
[ "$(field '[.rewards[].id] | sort | join(",")')" = "$(printf '%s\n' "$R1" "$R2" "$RB" | sort | paste -sd,)" ] ||
	fail "the catalogue shows $(field '[.rewards[].id]'), not $R1 $R2 $RB (not $R3)"
[ "$(field '.rewards[0] | has("active") or has("created_by")')" = false ] || fail "the catalogue shows staff fields"
STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' "$BASE/api/v1/mall?brand=Bean%20Co")
[ "$(field '[.rewards[].id] | join(",")')" = "$RB" ] || fail "bean's catalogue: $(cat "$T/body")"
ok "rewards: scopes, brands, bad bodies, the public catalogue"

# ---- 2. concurrency ----
members 1 50 150
for i in $(seq 1 50); do
	order "$i" "k$i" "$(body "$R1")" "$T/o.$i" &
	PIDS+=($!)
done
wait_all
created=$(grep -l '"order"' "$T"/o.* | wc -l)
oos=$(grep -l '"out_of_stock"' "$T"/o.* | wc -l)
[ "$created" = 10 ] && [ "$oos" = 40 ] || fail "50 orders for stock 10: $created created, $oos out of stock"
sql_eq "SELECT stock FROM mall_rewards WHERE id = $R1" 0
sql_eq "SELECT count(*), sum(points) FROM mall_orders WHERE reward_id = $R1" "10|1000"
sql_eq "SELECT count(*), sum(s.points) FROM spends s JOIN mall_orders o ON s.member = o.member
        AND s.idempotency_key = 'order:' || o.id WHERE o.reward_id = $R1" "10|1000"
sql_eq "SELECT sum(balance) FROM members WHERE member LIKE 'm-%'" $((50 * 150 - 1000))
ledger_adds_up
# a member with points for 2 (m-51: 100 points, reward 2 at 50) orders 5 at once
members 51 51 100
for k in 1 2 3 4 5; do
	order 51 "two$k" "$(body "$R2")" "$T/p.$k" &
	PIDS+=($!)
done
wait_all
created=$(grep -l '"order"' "$T"/p.* | wc -l)
poor=$(grep -l '"insufficient_points"' "$T"/p.* | wc -l)
[ "$created" = 2 ] && [ "$poor" = 3 ] || fail "5 orders with points for 2: $created created, $poor refused"
sql_eq "SELECT balance FROM members WHERE member = 'm-51'" 0
sql_eq "SELECT stock FROM mall_rewards WHERE id = $R2" 98
ledger_adds_up
ok "concurrency: 50 orders for 10 in stock -> 10; points for 2 of 5 -> 2"

# ---- 3. idempotency and bad input ----
members 52 53 1000
order 52 same "$(body "$R2")"
expect 201 "m-52's order"
O1=$(field .order.id)
[ "$(field .balance)" = 950 ] && [ "$(field .order.address.name)" = 张三 ] || fail "m-52's order: $(cat "$T/body")"
order 52 same "$(body "$R2")"
expect 200 "the same order again"
[ "$(field .order.id)" = "$O1" ] && [ "$(field .repeat)" = true ] || fail "a repeat: $(cat "$T/body")"
order 52 same "$(body "$R2" '{"name":"李四","phone":"13900001111","line1":"Elsewhere 1"}')"
expect 409 "the same key, another address"
[ "$(field .error)" = idempotency_key_reused ] || fail "key reused: $(cat "$T/body")"
order 52 same "$(body "$RB")"
expect 409 "the same key, another reward"
for k in 1 2 3 4 5; do
	order 53 once "$(body "$R2")" "$T/q.$k" &
	PIDS+=($!)
done
wait_all
sql_eq "SELECT count(*) FROM mall_orders WHERE member = 'm-53'" 1
[ "$(cat "$T"/q.* | jq -r .order.id | sort -u | wc -l)" = 1 ] || fail "5 at once with one key: $(cat "$T"/q.*)"
sql_eq "SELECT balance FROM members WHERE member = 'm-53'" 950
before=$(sql "SELECT (SELECT count(*) FROM mall_orders), (SELECT count(*) FROM ledger), (SELECT sum(stock) FROM mall_rewards), (SELECT count(*) FROM audit)")
order 52 '' "$(body "$R2")"
expect 400 "no Idempotency-Key"
[ "$(field .error)" = bad_idempotency_key ] || fail "no key: $(cat "$T/body")"
for bad in '{"reward":'"$R2"'}' '{"reward":0,"address":'"$ADDR"'}' '{"reward":"1","address":'"$ADDR"'}' \
	'{"reward":'"$R2"',"address":'"$ADDR"',"points":1}' \
	'{"reward":'"$R2"',"address":{"name":"x","phone":"12","line1":"y"}}' \
	'{"reward":'"$R2"',"address":{"name":"x","phone":"13900001111"}}' \
	'{"reward":'"$R2"',"address":{"name":"x","phone":"13900001111","line1":"y","floor":3}}' \
	'{"reward":'"$R2"',"address":{"name":"x\u0001","phone":"13900001111","line1":"y"}}' \
	'[1]' '{"reward":'; do
	order 52 "bad$RANDOM" "$bad"
	[ "$STATUS" = 400 ] || fail "bad order accepted ($STATUS): $bad: $(cat "$T/body")"
done
order 52 nosuch "$(body 999999)"
expect 404 "an unknown reward"
order 52 hidden "$(body "$R3")"
expect 404 "an inactive reward"
after=$(sql "SELECT (SELECT count(*) FROM mall_orders), (SELECT count(*) FROM ledger), (SELECT sum(stock) FROM mall_rewards), (SELECT count(*) FROM audit)")
[ "$before" = "$after" ] || fail "bad input changed something: $before -> $after"
STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' -X POST -H "Idempotency-Key: x" \
	-H 'Content-Type: application/json' --data-binary "$(body "$R2")" "$BASE/api/v1/members/me/orders")
expect 401 "an order without a session"
STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' -X POST -b "pc_member=$(cat "$T/cookie.52")" \
	-H "Idempotency-Key: nocsrf" -H 'Content-Type: application/json' --data-binary "$(body "$R2")" \
	"$BASE/api/v1/members/me/orders")
expect 403 "an order without the CSRF token"
ok "idempotency: one order per key; bad input refused, nothing changed"

# ---- 4. cancel, ship, refund ----
stock=$(sql "SELECT stock FROM mall_rewards WHERE id = $R2")
member 52 POST "/api/v1/members/me/orders/$O1/cancel"
expect 200 "m-52 cancels"
[ "$(field .order.status)" = cancelled ] && [ "$(field .balance)" = 1000 ] || fail "cancel: $(cat "$T/body")"
member 52 POST "/api/v1/members/me/orders/$O1/cancel"
expect 409 "a second cancel"
member 53 POST "/api/v1/members/me/orders/$O1/cancel"
expect 404 "m-53 cancels m-52's order"
sql_eq "SELECT stock FROM mall_rewards WHERE id = $R2" $((stock + 1))
sql_eq "SELECT count(*), sum(delta) FROM ledger WHERE member = 'm-52' AND kind = 'refund'" "1|50"
order 52 second "$(body "$R2")"
expect 201 "m-52's second order"
O2=$(field .order.id)
order 52 third "$(body "$R2")"
O3=$(field .order.id)
as "$TB" POST "/api/v1/admin/orders/$O2/ship"
expect 404 "bean ships tea's order"
as "$TB" POST "/api/v1/admin/orders/$O2/refund"
expect 404 "bean refunds tea's order"
as "$TREAD" POST "/api/v1/admin/orders/$O2/ship"
expect 403 "read ships"
as "$TA" POST "/api/v1/admin/orders/$O2/ship"
expect 200 "tea ships"
[ "$(field .status)" = shipped ] && [ "$(field .address.line1)" = '***' ] || fail "ship: $(cat "$T/body")"
as "$TA" POST "/api/v1/admin/orders/$O2/ship"
expect 409 "shipped twice"
member 52 POST "/api/v1/members/me/orders/$O2/cancel"
expect 409 "a shipped order cancelled"
[ "$(field .error)" = shipped ] || fail "cancel shipped: $(cat "$T/body")"
stock=$(sql "SELECT stock FROM mall_rewards WHERE id = $R2")
as "$TA" POST "/api/v1/admin/orders/$O2/refund"
expect 200 "a shipped order refunded"
[ "$(field .status)" = refunded ] && [ "$(field .stock_returned)" = false ] || fail "refund: $(cat "$T/body")"
as "$TA" POST "/api/v1/admin/orders/$O2/refund"
expect 409 "refunded twice"
sql_eq "SELECT stock FROM mall_rewards WHERE id = $R2" "$stock"
as "$TA" POST "/api/v1/admin/orders/$O3/refund"
expect 200 "a placed order refunded"
[ "$(field .stock_returned)" = true ] || fail "refund placed: $(cat "$T/body")"
sql_eq "SELECT stock FROM mall_rewards WHERE id = $R2" $((stock + 1))
sql_eq "SELECT balance FROM members WHERE member = 'm-52'" 1000
sql_eq "SELECT count(*) FROM ledger WHERE member = 'm-52' AND kind = 'refund'" 3
sql_eq "SELECT string_agg(action, ',' ORDER BY id) FROM audit WHERE target IN ('$O1', '$O2', '$O3') AND action LIKE 'order.%'" \
	"order.create,order.cancel,order.create,order.create,order.ship,order.refund,order.refund"
ledger_adds_up
ok "cancel and refund once; stock back unless shipped; bean changes nothing"

# ---- 5. the address, the lists, the event ----
sql_eq "SELECT count(*) FROM mall_orders WHERE position(convert_to('文三路', 'UTF8') IN address_sealed) > 0
          OR position(convert_to('310000', 'UTF8') IN address_sealed) > 0" 0
as "$TA" GET "/api/v1/admin/orders?status=refunded"
expect 200 "tea's refunded orders"
[ "$(field '[.orders[].id] | join(",")')" = "$O3,$O2" ] || fail "refunded: $(cat "$T/body")"
jq -e '.orders[0].address == {"city":"杭州","country":"CN","line1":"***","name":"张**","phone":"861****1234","region":"CN-ZJ"}' \
	"$T/body" >/dev/null || fail "masked address: $(field .orders[0].address)"
grep -q '文三路\|310000\|139 0000' "$T/body" && fail "the address in clear without pii: $(cat "$T/body")"
as "$TA" GET "/api/v1/admin/orders?status=lost"
expect 400 "a bad status"
as "$TA" GET "/api/v1/admin/orders?limit=5"
[ "$(field '.orders | length')" = 5 ] && [ "$(field .next_before)" != null ] || fail "a page: $(cat "$T/body")"
as "$TA" GET "/api/v1/admin/orders?limit=5&before=$(field .next_before)"
[ "$(field '.orders | length')" = 5 ] || fail "page 2: $(cat "$T/body")"
as "$TB" GET /api/v1/admin/orders
[ "$(field '.orders | length')" = 0 ] || fail "bean sees tea's orders: $(cat "$T/body")"
audits=$(sql "SELECT count(*) FROM audit WHERE action = 'order.pii_read'")
as "$TPII" GET "/api/v1/admin/orders?status=refunded"
expect 200 "pii reads"
jq -e ".orders[0].address == $ADDR" "$T/body" >/dev/null || fail "pii address: $(field .orders[0].address)"
sql_eq "SELECT count(*), max(detail->>'orders') FROM audit WHERE action = 'order.pii_read' AND actor = 'teapii'" "$((audits + 1))|2"
member 52 GET "/api/v1/members/me/orders"
expect 200 "m-52's orders"
[ "$(field .balance)" = 1000 ] && [ "$(field '.orders | length')" = 3 ] || fail "my orders: $(cat "$T/body")"
jq -e ".orders[0].address == $ADDR" "$T/body" >/dev/null || fail "my address: $(field .orders[0].address)"
[ "$(field '[.orders[].status] | join(",")')" = refunded,refunded,cancelled ] || fail "my statuses: $(cat "$T/body")"
sql_eq "SELECT count(*) FROM webhook_events WHERE type = 'order.created'" \
	"$(sql "SELECT count(*) FROM mall_orders")"
sql_eq "SELECT data->>'points', data->'address'->>'line1', brand FROM webhook_events
         WHERE type = 'order.created' AND (data->>'order')::bigint = $O1" "50|***|Packcode Tea"
ledger_adds_up
# 5 cancels by the member and 5 refunds by staff at once: the points come back once
order 52 fourth "$(body "$R2")"
O4=$(field .order.id)
for k in 1 2 3 4 5; do
	curl -s --max-time 20 -o "$T/c.$k" -w '%{http_code}\n' -X POST -b "pc_member=$(cat "$T/cookie.52")" \
		-H "X-CSRF-Token: $(cat "$T/csrf.52")" "$BASE/api/v1/members/me/orders/$O4/cancel" >"$T/cs.$k" &
	PIDS+=($!)
	curl -s --max-time 20 -o "$T/f.$k" -w '%{http_code}\n' -X POST -H "Authorization: Bearer $TA" \
		"$BASE/api/v1/admin/orders/$O4/refund" >"$T/fs.$k" &
	PIDS+=($!)
done
wait_all
[ "$(cat "$T"/cs.* "$T"/fs.* | grep -c '^200$')" = 1 ] && [ "$(cat "$T"/cs.* "$T"/fs.* | grep -c '^409$')" = 9 ] ||
	fail "10 cancels and refunds at once: $(cat "$T"/cs.* "$T"/fs.* | sort | uniq -c | tr '\n' ' ')"
sql_eq "SELECT count(*), sum(delta) FROM ledger WHERE member = 'm-52' AND reference LIKE 'mall order $O4 %'" "1|50"
sql_eq "SELECT balance FROM members WHERE member = 'm-52'" 1000
ledger_adds_up
# the member's erasure wipes their addresses; the orders stay (m-53's identity, as a sign-in makes it)
sql "INSERT INTO member_identities (hash, kind, member, masked)
     VALUES (sha256('m-53'), 'external', 'm-53', 'm-***')" >/dev/null
STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' -X POST -b "pc_member=$(cat "$T/cookie.53")" \
	-H "X-CSRF-Token: $(cat "$T/csrf.53")" -H 'Content-Type: application/json' --data-binary '{}' \
	"$BASE/api/v1/members/me/erase")
expect 200 "m-53's erasure"
sql_eq "SELECT count(*), count(address_sealed) FROM mall_orders WHERE member = 'm-53'" "1|0"
sql_eq "SELECT detail->>'addresses' FROM audit WHERE action = 'member.erase' AND target = 'm-53'" 1
as "$TPII" GET "/api/v1/admin/orders?limit=100"
[ "$(field '[.orders[] | select(.member == "m-53") | .address.erased] | join(",")')" = true ] ||
	fail "m-53's erased address: $(cat "$T/body")"
ok "the address sealed, masked, opened with pii and audited, erased; order.created in the outbox"

server_stop
