#!/bin/bash
# test_server_admin.sh: the admin API against a real PostgreSQL over real
# HTTP: bearer tokens (missing, wrong, revoked: refused within a second, also
# by the database), every endpoint's success and refusals, an audit row with
# the right actor for each change and none for a refusal, recall and unrecall
# flipping claims and landing pages within a second, idempotent spends (the
# same key 20 times at once spends once), 50 concurrent spends against a
# balance of 200 (exactly 20 succeed, never below 0), and no token in the log.
PC_TIMEOUT=240
. "$(dirname "$0")/harness.sh"
. "$(dirname "$0")/server_lib.sh"

setup
mint 40
B1=$BATCH
cp "$CODES" "$T/codes"
TOK=$(pcgen token add --name ops 2>/dev/null) || fail "token add ops"
TOK2=$(pcgen token add --name partner-shop 2>/dev/null) || fail "token add partner-shop"
case $TOK in pct_*) ;; *) fail "token add printed '$TOK'" ;; esac

server_start --threads 2 --pool 4 --log-level debug

AUTH=$TOK
# admin METHOD PATH [BODY [CURL-ARGS...]]: with "Authorization: Bearer $AUTH"
# (none if AUTH is empty). Sets STATUS; body in $T/body, headers in $T/h (hdr).
admin() {
	local m=$1 p=$2 args=(-s --max-time 10 -o "$T/body" -D "$T/h" -w '%{http_code}' -X "$1")
	shift 2
	[ -n "$AUTH" ] && args+=(-H "Authorization: Bearer $AUTH")
	if [ $# -ge 1 ]; then
		args+=(-H 'Content-Type: application/json' --data-binary "$1")
		shift
	fi
	STATUS=$(curl "${args[@]}" "$@" "$BASE$p")
}
# (the members the harness's claims token makes, member.add, are not this test's subject)
audits() { sql "SELECT count(*) FROM audit WHERE actor <> 'harness-claims'"; }
# the newest audit row: actor|action|target|client
last_audit() { sql "SELECT actor || '|' || action || '|' || coalesce(target, '') || '|' || coalesce(host(client), '') FROM audit WHERE actor <> 'harness-claims' ORDER BY id DESC LIMIT 1"; }

# ---- authentication ----
A0=$(audits)
P0=$(sql "SELECT count(*) FROM products")
AUTH=
admin GET /api/v1/admin/products
expect 401 "no token"
[ "$(field .error)" = unauthorized ] || fail "401 body: $(cat "$T/body")"
hdr WWW-Authenticate | grep -q '^Bearer' || fail "no WWW-Authenticate: Bearer"
admin POST /api/v1/admin/products '{"sku":"NOAUTH","name":"x","points":1}'
expect 401 "a change without a token"
AUTH="pct_$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
WRONG=$AUTH
admin GET /api/v1/admin/batches
expect 401 "wrong token"
hdr WWW-Authenticate | grep -q 'error="invalid_token"' || fail "invalid_token in WWW-Authenticate"
! grep -qF "$WRONG" "$T/body" "$T/h" || fail "the presented token is echoed"
AUTH="${TOK}x"
admin POST /api/v1/admin/members/alice/adjust '{"points":5,"reason":"x"}'
expect 401 "a token with one character more"
STATUS=$(curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: Basic $(printf 'ops:%s' "$TOK" | base64 -w0)" "$BASE/api/v1/admin/products")
expect 401 "Basic authentication"
STATUS=$(curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $TOK" -H "Authorization: Bearer $WRONG" "$BASE/api/v1/admin/products")
expect 401 "two Authorization headers"
STATUS=$(curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: bearer   $TOK  " "$BASE/api/v1/admin/products")
expect 200 "scheme in lower case, spaces around the token"
AUTH=$TOK
admin GET /api/v1/admin/nothing/here
expect 404 "unknown admin path with a token"
AUTH=
admin GET /api/v1/admin/nothing/here
expect 401 "unknown admin path without a token: 401, routes are not revealed"
AUTH=$TOK
[ "$(audits)" = "$A0" ] && [ "$(sql "SELECT count(*) FROM products")" = "$P0" ] ||
	fail "a refused request wrote something"
ok "401 for no token, a wrong one, Basic, two headers; WWW-Authenticate; nothing written"

# ---- products ----
admin GET /api/v1/admin/products
expect 200 "list products"
[ "$(field '.products[0].sku')" = TEA ] && [ "$(field '.products[0].gtin')" = 06901234567892 ] ||
	fail "products: $(cat "$T/body")"
admin POST /api/v1/admin/products '{"sku":"COLA-330","name":"Cola 330 ml","points":25,"gtin":"4006381333931","brand":"Acme"}'
expect 201 "add a product"
[ "$(field .gtin)" = 04006381333931 ] && [ "$(field .points)" = 25 ] && [ "$(field .created)" != null ] ||
	fail "product reply: $(cat "$T/body")"
[ "$(sql "SELECT gtin || '|' || name || '|' || brand || '|' || points FROM products WHERE sku = 'COLA-330'")" = \
	"04006381333931|Cola 330 ml|Acme|25" ] || fail "product row"
[ "$(last_audit)" = "ops|product.add|COLA-330|127.0.0.1" ] || fail "audit of product.add: $(last_audit)"
[ "$(sql "SELECT detail->>'points' FROM audit ORDER BY id DESC LIMIT 1")" = 25 ] || fail "audit detail"
admin POST /api/v1/admin/products '{"sku":"NOGTIN","name":"Ünïcödé ✓","points":0}'
expect 201 "a product without GTIN or brand"
[ "$(field .gtin)" = null ] && [ "$(field .name)" = "Ünïcödé ✓" ] || fail "NOGTIN reply"
A1=$(audits)
P1=$(sql "SELECT count(*) FROM products")
refused() { # STATUS ERROR BODY [CONTENT-TYPE]
	if [ $# -ge 4 ]; then
		STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $TOK" \
			-H "Content-Type: $4" --data-binary "$3" "$BASE/api/v1/admin/products")
	else
		admin POST /api/v1/admin/products "$3"
	fi
	expect "$1" "product $3"
	[ "$(field .error)" = "$2" ] || fail "product $3: error $(field .error), expected $2"
}
refused 409 sku_exists '{"sku":"COLA-330","name":"Other","points":1}'
refused 409 gtin_exists '{"sku":"OTHER","name":"Other","points":1,"gtin":"04006381333931"}'
refused 400 bad_request '{"sku":"-x","name":"N","points":1}'
refused 400 bad_request '{"sku":"X1","name":"N","points":1,"gtin":"4006381333932"}'
grep -q 'check digit is 2, expected 1' "$T/body" || fail "the GTIN message is packcode-gen's: $(cat "$T/body")"
refused 400 bad_request '{"sku":"X1","name":"","points":1}'
grep -q 'the name must be 1 to 200 characters, not 0' "$T/body" || fail "name message"
refused 400 bad_request "{\"sku\":\"X1\",\"name\":\"$(printf 'é%.0s' $(seq 1 201))\",\"points\":1}"
refused 400 bad_request '{"sku":"X1","name":"two\nlines","points":1}'
refused 400 bad_request '{"sku":"X1","name":"N","points":1000001}'
refused 400 bad_request '{"sku":"X1","name":"N","points":"5"}'
refused 400 bad_request '{"sku":"X1","name":"N","points":1.5}'
refused 400 bad_request '{"sku":"X1","points":1}'
refused 400 bad_json '{"sku":"X\u0000","name":"N","points":1}'
refused 400 bad_request '["sku"]'
refused 400 bad_json '{"sku":"X1","name":"N","points":1'
refused 400 bad_json '{"sku":"X1","sku":"X2","name":"N","points":1}'
refused 415 unsupported_media_type 'sku=X1' application/x-www-form-urlencoded
refused 400 bad_request "{\"sku\":\"X1'); DROP TABLE products; --\",\"name\":\"N\",\"points\":1}"
[ "$(audits)" = "$A1" ] && [ "$(sql "SELECT count(*) FROM products")" = "$P1" ] ||
	fail "a refused product wrote something"
admin GET '/api/v1/admin/products?limit=1'
[ "$(field '.products | length')" = 1 ] && [ "$(field .next_after)" = COLA-330 ] || fail "page 1 of products"
admin GET '/api/v1/admin/products?limit=2&after=COLA-330'
[ "$(field '[.products[].sku] | join(",")')" = NOGTIN,TEA ] && [ "$(field .next_after)" = null ] ||
	fail "page 2 of products: $(cat "$T/body")"
admin GET '/api/v1/admin/products?limit=0'
expect 400 "limit 0"
admin DELETE /api/v1/admin/products
expect 405 "DELETE products"
[ "$(hdr Allow)" = "GET, HEAD, POST" ] || fail "Allow: $(hdr Allow)"
ok "products: list (paged), add 201 + audit row, 409 on SKU or GTIN taken, 400/415 for bad input, nothing written"

# ---- batches and their counts ----
mint 10
B2=$BATCH
cp "$CODES" "$T/codes2"
for i in 1 2 3; do req GET "/api/v1/codes/$(code 1 "$T/codes2")"; done
req GET "/api/v1/codes/$(code 2 "$T/codes2")"
claim "$(code 1 "$T/codes2")" "+8613800138000"
expect 200 "claim in batch 2"
claim "$(code 3 "$T/codes2")" "+8613800138000"
# scans are written off the request path every 100 ms, then summed per code
# (code_stats, which the batch counts read): all 6 of batch 2
wait_until 5 "the 6 scans of batch 2 in code_stats" sql_is 6 "SELECT coalesce(sum(c.scan_count), 0)
	FROM code_stats c JOIN batches b ON c.serial BETWEEN b.serial_first AND b.serial_last WHERE b.id = $B2"
admin GET /api/v1/admin/batches
expect 200 "list batches"
[ "$(field '.batches[0].id')" = "$B2" ] && [ "$(field '.batches[1].id')" = "$B1" ] || fail "newest first"
b2() { field ".batches[0].$1"; }
[ "$(b2 count)" = 10 ] && [ "$(b2 status)" = active ] && [ "$(b2 key_id)" = 1 ] &&
	[ "$(b2 product.sku)" = TEA ] && [ "$(b2 product.name)" = "Green tea" ] || fail "batch fields: $(cat "$T/body")"
[ "$(b2 claims)" = 2 ] && [ "$(b2 scans)" = 6 ] && [ "$(b2 codes_scanned)" = 3 ] ||
	fail "batch counts claims=$(b2 claims) scans=$(b2 scans) codes=$(b2 codes_scanned), expected 2, 6, 3"
[ "$(b2 created)" != null ] && [ "$(b2 printed)" != null ] && [ "$(b2 factory)" = "Factory 1" ] || fail "batch times"
[ "$(field '.batches[1].claims')" = 0 ] && [ "$(field '.batches[1].scans')" = 0 ] || fail "batch 1 counts"
admin GET '/api/v1/admin/batches?limit=1'
[ "$(field '.batches | length')" = 1 ] && [ "$(field .next_before)" = "$B2" ] || fail "page 1 of batches"
admin GET "/api/v1/admin/batches?limit=1&before=$B2"
[ "$(field '.batches[0].id')" = "$B1" ] && [ "$(field .next_before)" = null ] || fail "page 2 of batches"
admin GET '/api/v1/admin/batches?product=COLA-330'
[ "$(field '.batches | length')" = 0 ] || fail "product filter"
admin GET '/api/v1/admin/batches?before=x'
expect 400 "before=x"
ok "batches: newest first, paged, filtered; counts of claims (2), scans (6) and codes scanned (3)"

# ---- recall and unrecall, honoured within a second ----
C=$(code 5)
CLAIM_BODY=$(jq -cn --arg c "$C" '{code: $c, member: "bob"}')
# claim_is STATUS OUTCOME: light enough to poll (one curl; jq only once it matches)
claim_is() {
	req POST /api/v1/claims application/json "$CLAIM_BODY"
	[ "$STATUS" = "$1" ] && [ "$(field .outcome)" = "$2" ] || { echo "$STATUS $(field .outcome)"; return 1; }
}
landing_is() { page "/c/$C"; [ "$STATUS" = "$1" ] || { echo "$STATUS"; return 1; }; }
A2=$(audits)
admin POST "/api/v1/admin/batches/$B1/recall" '{"reason":"contaminated lot"}'
expect 200 recall
[ "$(field .status)" = recalled ] && [ "$(field .previous)" = active ] && [ "$(field .reason)" = "contaminated lot" ] ||
	fail "recall reply: $(cat "$T/body")"
wait_until 1 "a claim in the recalled batch to be refused (410 recalled)" claim_is 410 recalled
wait_until 1 "the landing page to say recalled (410)" landing_is 410
grep -q 'Batch recalled' "$T/page" || fail "landing text for a recalled batch"
[ "$(sql "SELECT status || '|' || status_reason FROM batches WHERE id = $B1")" = "recalled|contaminated lot" ] ||
	fail "batch row after recall"
[ "$(last_audit)" = "ops|batch.recall|$B1|127.0.0.1" ] || fail "audit of recall: $(last_audit)"
[ "$(sql "SELECT detail->>'reason' FROM audit ORDER BY id DESC LIMIT 1")" = "contaminated lot" ] || fail "recall reason audited"
A3=$(audits)
admin POST "/api/v1/admin/batches/$B1/recall" '{"reason":"again"}'
expect 409 "recall a recalled batch"
[ "$(field .error)" = wrong_status ] && [ "$(field .status)" = recalled ] || fail "409 body"
admin POST /api/v1/admin/batches/999999/recall '{"reason":"x"}'
expect 404 "recall an unknown batch"
admin POST /api/v1/admin/batches/abc/recall '{"reason":"x"}'
expect 404 "recall batch abc"
admin POST "/api/v1/admin/batches/$B2/recall" '{}'
expect 400 "recall without a reason"
admin POST "/api/v1/admin/batches/$B2/recall" "{\"reason\":\"$(printf 'r%.0s' $(seq 1 201))\"}"
expect 400 "a reason of 201 characters"
admin POST "/api/v1/admin/batches/$B2/unrecall" '{"reason":"x"}'
expect 409 "unrecall an active batch"
MINTING=$(sql "SELECT id FROM allocate_batch('TEA', 5, 1::smallint, '', '', NULL, false)")
admin POST "/api/v1/admin/batches/$MINTING/recall" '{"reason":"x"}'
expect 409 "recall a batch still minting"
[ "$(field .status)" = minting ] || fail "minting status in 409"
admin GET "/api/v1/admin/batches/$B1/recall"
expect 405 "GET recall"
[ "$(audits)" = "$A3" ] || fail "a refused recall wrote an audit row"
admin POST "/api/v1/admin/batches/$B1/unrecall" '{"reason":"lab test negative"}'
expect 200 unrecall
[ "$(field .status)" = active ] && [ "$(field .previous)" = recalled ] || fail "unrecall reply"
wait_until 1 "the landing page to be back (200) after unrecall" landing_is 200
wait_until 1 "a claim to be accepted (200 awarded) after unrecall" claim_is 200 awarded
[ "$(last_audit)" = "ops|batch.unrecall|$B1|127.0.0.1" ] || fail "audit of unrecall: $(last_audit)"
[ "$(audits)" = $((A2 + 2)) ] || fail "recall + unrecall: $(($(audits) - A2)) audit rows, expected 2"
ok "recall and unrecall: flip claims (410/200) and landing pages within a second; 409, 404, 400, 405; audited"

# ---- adjust ----
A4=$(audits)
admin POST /api/v1/admin/members/crm:42/adjust '{"points":200,"reason":"welcome bonus"}'
expect 200 "adjust +200 opens the account"
[ "$(field .balance)" = 200 ] && [ "$(field .member)" = crm:42 ] && [ "$(field .entry)" != null ] || fail "adjust reply"
[ "$(sql "SELECT kind || '|' || delta || '|' || balance_after || '|' || reference FROM ledger WHERE member = 'crm:42'")" = \
	"adjust|200|200|welcome bonus" ] || fail "adjust ledger row"
[ "$(last_audit)" = "ops|member.adjust|crm:42|127.0.0.1" ] || fail "audit of adjust: $(last_audit)"
admin POST /api/v1/admin/members/crm:42/adjust '{"points":-30,"reason":"returned goods"}'
expect 200 "adjust -30"
[ "$(field .balance)" = 170 ] || fail "balance after -30"
A5=$(audits)
admin POST /api/v1/admin/members/crm:42/adjust '{"points":-171,"reason":"too much"}'
expect 409 "adjust below 0"
[ "$(field .error)" = insufficient_balance ] && [ "$(field .balance)" = 170 ] || fail "409 body: $(cat "$T/body")"
admin POST /api/v1/admin/members/nobody/adjust '{"points":-1,"reason":"x"}'
expect 404 "take points from an unknown member"
admin POST /api/v1/admin/members/crm:42/adjust '{"points":0,"reason":"x"}'
expect 400 "adjust by 0"
admin POST /api/v1/admin/members/crm:42/adjust '{"points":5}'
expect 400 "adjust without a reason"
admin POST /api/v1/admin/members/crm:42/adjust '{"points":1000000001,"reason":"x"}'
expect 400 "adjust over the limit"
admin POST '/api/v1/admin/members/bad%20id!/adjust' '{"points":5,"reason":"x"}'
expect 400 "adjust a malformed member id"
[ "$(field .error)" = bad_member ] || fail "bad_member"
[ "$(audits)" = "$A5" ] && [ "$(sql "SELECT balance FROM members WHERE member = 'crm:42'")" = 170 ] ||
	fail "a refused adjustment wrote something"
# (crm:42's first credit made the member: member.add)
[ "$(audits)" = $((A4 + 3)) ] || fail "two adjustments and a new member, three audit rows"
ok "adjust: +/- with a reason, a ledger row of kind adjust, never below 0 (409), 404, 400; audited"

# ---- spend ----
spend() { # MEMBER KEY BODY
	admin POST "/api/v1/admin/members/$1/spend" "$3" -H "Idempotency-Key: $2"
}
A6=$(audits)
admin POST /api/v1/admin/members/crm:42/spend '{"points":10}'
expect 400 "spend without Idempotency-Key"
[ "$(field .error)" = bad_idempotency_key ] || fail "missing key error"
spend crm:42 "$(printf 'k%.0s' $(seq 1 65))" '{"points":10}'
expect 400 "an Idempotency-Key of 65 characters"
spend crm:42 order-1 '{"points":0}'
expect 400 "spend 0"
spend crm:42 order-1 '{"points":-5}'
expect 400 "spend -5"
spend crm:42 order-1 '{"points":10,"reference":7}'
expect 400 "a reference that is not a string"
[ "$(audits)" = "$A6" ] || fail "a refused spend wrote an audit row"
spend crm:42 order-1 '{"points":70,"reference":"reward #1"}'
expect 200 "spend 70"
[ "$(field .repeat)" = false ] && [ "$(field .balance)" = 100 ] && [ "$(field .reference)" = "reward #1" ] ||
	fail "spend reply: $(cat "$T/body")"
ENTRY=$(field .entry)
[ "$(last_audit)" = "ops|member.spend|crm:42|127.0.0.1" ] || fail "audit of spend: $(last_audit)"
[ "$(sql "SELECT detail->>'idempotency_key' FROM audit ORDER BY id DESC LIMIT 1")" = order-1 ] || fail "key audited"
A7=$(audits)
spend crm:42 order-1 '{"points":70,"reference":"reward #1"}'
expect 200 "the same spend again"
[ "$(field .repeat)" = true ] && [ "$(field .entry)" = "$ENTRY" ] && [ "$(field .balance)" = 100 ] ||
	fail "repeat reply: $(cat "$T/body")"
spend crm:42 order-1 '{"points":71,"reference":"reward #1"}'
expect 422 "the key with another amount"
[ "$(field .error)" = idempotency_key_reused ] || fail "422 error"
spend crm:42 order-1 '{"points":70}'
expect 422 "the key without the reference"
AUTH=$TOK2
spend crm:42 order-1 '{"points":70,"reference":"reward #1"}'
expect 422 "the key used by another partner"
AUTH=$TOK
spend crm:42 order-2 '{"points":101}'
expect 409 "spend more than the balance"
[ "$(field .error)" = insufficient_balance ] && [ "$(field .balance)" = 100 ] || fail "409 body: $(cat "$T/body")"
spend nobody order-3 '{"points":1}'
expect 404 "spend of an unknown member"
[ "$(audits)" = "$A7" ] || fail "a repeat or refused spend wrote an audit row"
[ "$(sql "SELECT count(*) FROM ledger WHERE member = 'crm:42' AND kind = 'spend'")" = 1 ] || fail "one spend row"
spend crm:42 order-2 '{"points":100}'
expect 200 "a key refused earlier (409) is free to use"
[ "$(field .balance)" = 0 ] || fail "balance 0"
ok "spend: Idempotency-Key required, repeat (200, repeat:true, same entry), 422 on reuse, 409, 404; audited once"

# the curls started in the background, waited for by pid (the server is a background job too)
PIDS=()
wait_curls() {
	local pid
	for pid in "${PIDS[@]}"; do wait "$pid" || true; done
	PIDS=()
}

# the same key 20 times at once: one spend
admin POST /api/v1/admin/members/same-key/adjust '{"points":100,"reason":"test"}'
expect 200 "fund same-key"
for i in $(seq 1 20); do
	curl -s --max-time 20 -o "$T/dup.$i" -w '%{http_code}\n' -H "Authorization: Bearer $TOK" \
		-H 'Content-Type: application/json' -H 'Idempotency-Key: one-order' \
		--data-binary '{"points":10,"reference":"once"}' \
		"$BASE/api/v1/admin/members/same-key/spend" >"$T/dup.status.$i" &
	PIDS+=($!)
done
wait_curls
[ "$(cat "$T"/dup.status.* | sort | uniq -c | awk '{print $1 "x" $2}')" = 20x200 ] ||
	fail "20 identical spends: $(cat "$T"/dup.status.* | sort | uniq -c)"
[ "$(cat "$T"/dup.[0-9]* | jq -r .repeat | sort | uniq -c | awk '{print $1 $2}' | paste -sd,)" = 1false,19true ] ||
	fail "exactly one first spend: $(cat "$T"/dup.[0-9]* | jq -c '{repeat, entry}' | sort | uniq -c)"
[ "$(cat "$T"/dup.[0-9]* | jq -r .entry | sort -u | wc -l)" = 1 ] || fail "all 20 name the same ledger entry"
[ "$(sql "SELECT count(*) FROM ledger WHERE member = 'same-key' AND kind = 'spend'")" = 1 ] ||
	fail "20 identical spends made $(sql "SELECT count(*) FROM ledger WHERE member = 'same-key' AND kind = 'spend'") ledger rows"
[ "$(sql "SELECT balance FROM members WHERE member = 'same-key'")" = 90 ] || fail "same-key balance"
ok "the same Idempotency-Key 20 times at once: 20 x 200, one spend, one ledger row"

# 50 spends of 10 at once against a balance of 200: exactly 20
admin POST /api/v1/admin/members/+8613900001111/adjust '{"points":200,"reason":"test"}'
expect 200 "fund +8613900001111"
M=$(field .member) # a phone is an identity: the member is its opaque key
[[ $M == m-* ]] || fail "the funded member: $M"
for i in $(seq 1 50); do
	curl -s --max-time 20 -o "$T/race.$i" -w '%{http_code}\n' -H "Authorization: Bearer $TOK" \
		-H 'Content-Type: application/json' -H "Idempotency-Key: race-$i" \
		--data-binary '{"points":10}' \
		"$BASE/api/v1/admin/members/+8613900001111/spend" >"$T/race.status.$i" &
	PIDS+=($!)
done
wait_curls
[ "$(cat "$T"/race.status.* | grep -c '^200$')" = 20 ] && [ "$(cat "$T"/race.status.* | grep -c '^409$')" = 30 ] ||
	fail "50 spends: $(cat "$T"/race.status.* | sort | uniq -c)"
[ "$(sql "SELECT balance FROM members WHERE member = '$M'")" = 0 ] || fail "balance after the race"
[ "$(sql "SELECT count(*) || '|' || sum(delta) || '|' || min(balance_after) FROM ledger WHERE member = '$M'")" = "21|0|0" ] ||
	fail "ledger after the race: $(sql "SELECT count(*) || '|' || sum(delta) || '|' || min(balance_after) FROM ledger WHERE member = '$M'")"
[ "$(sql "SELECT count(*) FROM spends WHERE member = '$M'")" = 20 ] || fail "20 spends recorded"
! sql "DELETE FROM spends WHERE member = '$M'" 2>/dev/null || fail "spends are not append-only"
[ "$(sql "SELECT bool_and(m.balance = l.total) FROM members m JOIN (SELECT member, sum(delta) total FROM ledger GROUP BY member) l USING (member)")" = t ] ||
	fail "a balance differs from the sum of its ledger"
ok "50 concurrent spends of 10 against 200: 20 x 200, 30 x 409, balance 0, never negative, ledger sums match"

# ---- the audit trail over the API ----
admin GET '/api/v1/admin/audit?limit=2'
expect 200 "audit"
[ "$(field '.entries | length')" = 2 ] && [ "$(field '.entries[0].action')" = member.spend ] &&
	[ "$(field '.entries[0].actor')" = ops ] && [ "$(field '.entries[0].client')" = 127.0.0.1 ] &&
	[ "$(field '.entries[0].target')" = "$M" ] && [ "$(field '.entries[0].detail.points')" = 10 ] ||
	fail "audit page: $(cat "$T/body")"
NEXT=$(field .next_before)
[ "$(field '.entries[1].id')" = "$NEXT" ] || fail "next_before"
admin GET "/api/v1/admin/audit?limit=100&before=$NEXT"
[ "$(field '.entries[0].id')" -lt "$NEXT" ] || fail "audit page 2"
[ "$(field '[.entries[] | select(.action == "token.add" and .target != "harness-claims")] | length')" = 2 ] ||
	fail "token.add rows from the CLI"
[ "$(sql "SELECT count(*) FROM audit WHERE actor = 'partner-shop'")" = 0 ] || fail "partner-shop made no change"
ok "audit: newest first, paged, actor, client and detail"

# ---- revocation ----
AUTH=$TOK2
admin GET /api/v1/admin/batches
expect 200 "partner token works"
pcgen token revoke partner-shop >/dev/null || fail "token revoke"
revoked() { admin GET /api/v1/admin/batches; [ "$STATUS" = 401 ]; }
wait_until 1 "a revoked token to be refused (401)" revoked
A8=$(audits)
admin POST /api/v1/admin/members/crm:42/adjust '{"points":5,"reason":"after revocation"}'
expect 401 "a change with a revoked token"
# the database checks too: a revocation the servers have not heard of yet
AUTH=$TOK
sql "ALTER TABLE admin_tokens DISABLE TRIGGER admin_tokens_changed; UPDATE admin_tokens SET revoked_at = now() WHERE name = 'ops' AND revoked_at IS NULL; ALTER TABLE admin_tokens ENABLE TRIGGER admin_tokens_changed" >/dev/null
admin POST /api/v1/admin/members/crm:42/adjust '{"points":5,"reason":"revoked, not yet told"}'
expect 401 "a change with a token revoked in the database only"
[ "$(audits)" = "$A8" ] && [ "$(sql "SELECT balance FROM members WHERE member = 'crm:42'")" = 0 ] ||
	fail "a revoked token changed something"
ok "revoked tokens: refused within a second (NOTIFY), and by the database before it"

# ---- last use, metrics, and no token in the log ----
# the server writes last_used_at every second
wait_until 3 "last_used_at of both tokens" \
	sql_is 2 "SELECT count(*) FROM admin_tokens WHERE last_used_at > now() - interval '5 minutes' AND name <> 'harness-claims'"
[ "$(sql "SELECT last_used_at IS NOT NULL FROM admin_tokens WHERE name = 'ops'")" = t ] || fail "ops last_used_at"
req GET /metrics
grep -Eq '^packcode_admin_auth_failures_total\{reason="missing"\} [1-9]' "$T/body" || fail "missing-token metric"
grep -Eq '^packcode_admin_auth_failures_total\{reason="invalid"\} [1-9]' "$T/body" || fail "invalid-token metric"
grep -Eq '^packcode_http_requests_total\{route="admin_spend",status="422"\} 3$' "$T/body" || fail "admin_spend 422 count"
grep -Eq '^packcode_http_requests_total\{route="admin_products",status="201"\} 2$' "$T/body" || fail "admin_products 201"
server_stop
for t in "$TOK" "$TOK2" "$WRONG" "${TOK#pct_}"; do
	! grep -qF -- "$t" "$T/server.log" || fail "a token is in the server log"
	! grep -qF -- "$t" "$PC_TMP/pg.log" || fail "a token is in the PostgreSQL log"
	! grep -qF -- "$t" "$T/body" || fail "a token is in /metrics"
done
grep -q 'event=admin_action actor=ops action=member.spend' "$T/server.log" || fail "admin actions logged by actor"
ok "last_used_at written; auth failures and admin routes in /metrics; no token in any log"
