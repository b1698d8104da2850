#!/bin/bash
# test_server_api.sh: packcode-server's endpoints against a real PostgreSQL
# over real HTTP: every verdict and claim outcome with its status code, PINs
# and their throttle, recalls and revoked keys picked up while running, the
# member ledger, the landing page in both languages, scan records, metrics,
# SIGHUP and a graceful SIGTERM.
PC_TIMEOUT=240
. "$(dirname "$0")/harness.sh"
. "$(dirname "$0")/server_lib.sh"

setup
mint 100
B1=$BATCH F1=$FIRST
cp "$CODES" "$T/codes"
mint 20 --pin
B2=$BATCH F2=$FIRST
cp "$CODES" "$T/pincodes"
pincode() { code "$1" "$T/pincodes" | cut -d, -f1; }
pin() { code "$1" "$T/pincodes" | cut -d, -f2; }
# a well-formed code signed by a key that is not ours
FORGED=$(elsewhere "$T/other-keyring" 1 1)
# signed by our key, but no print run of ours holds its serial
NEVER=$(elsewhere "$PACKCODE_KEYRING" 900000 1)
# a genuine code with one character changed is a typo
C1=$(code 1)
TYPO=$(printf '%s' "$C1" | sed 's/^\(.\)\(.\)/\2\1/')
[ "$TYPO" != "$C1" ] || TYPO=$(printf '%s' "$C1" | sed 's/^\(....\)\(.\)/\1Z/')

server_start --threads 2 --pool 4

# ---- health ----
req GET /healthz
expect 200 healthz
req GET /readyz
expect 200 readyz
[ "$(field .status)" = ready ] || fail "readyz body"
ok "healthz and readyz"

# ---- lookups ----
req GET "/api/v1/codes/$C1"
expect 200 "genuine lookup"
[ "$(field .verdict)" = genuine ] && [ "$(field .genuine)" = true ] || fail "genuine verdict"
[ "$(field .product.sku)" = TEA ] && [ "$(field .product.name)" = "Green tea" ] || fail "product"
[ "$(field .batch.id)" = "$B1" ] && [ "$(field .factory)" = "Factory 1" ] || fail "batch, factory"
[ "$(field .claimed)" = false ] && [ "$(field .scan_count)" = 1 ] || fail "first lookup facts"
[ "$(field .created)" != null ] && [ "$(field .first_scan)" != null ] || fail "times"
# the same code as a person types it: lower case, grouped
GROUPED=$(printf '%s' "$C1" | tr 'A-Z' 'a-z' | sed 's/\(.....\)/\1-/g; s/-$//')
req GET "/api/v1/codes/$GROUPED"
expect 200 "grouped lower-case lookup"
[ "$(field .code)" = "$C1" ] || fail "canonical code in reply"
# the two lookups' scan records, written off the request path every 100 ms
wait_until 5 "the scans of the 2 lookups" sql_is 2 "SELECT coalesce(sum(scan_count), 0) FROM code_stats WHERE serial = $F1"
req GET "/api/v1/codes/$C1"
[ "$(field .scan_count)" = 3 ] || fail "scan count after 3 lookups: $(field .scan_count)"
req GET "/api/v1/codes/$TYPO"
expect 400 "typo lookup"
[ "$(field .verdict)" = typo ] || fail "typo verdict"
req GET "/api/v1/codes/$FORGED"
expect 404 "forged lookup"
[ "$(field .verdict)" = not_genuine ] && [ "$(field .genuine)" = false ] || fail "forged verdict"
req GET "/api/v1/codes/$NEVER"
expect 404 "never minted"
ok "lookups: genuine 200, typo 400, not genuine 404"

# ---- claims ----
claim "$C1" "+86 138-0013-8000"
expect 200 "first claim"
[ "$(field .outcome)" = awarded ] && [ "$(field .repeat)" = false ] || fail "awarded"
[ "$(field .points)" = 10 ] && [ "$(field .balance)" = 10 ] || fail "points, balance"
# a phone is an identity, never a key: the member is an opaque key (sql/011_members.sql)
PM=$(field .member)
[[ $PM == m-* ]] || fail "member: $PM"
AT=$(field .claimed_at)
claim "$C1" "+8613800138000"
expect 200 "repeat claim"
[ "$(field .member)" = "$PM" ] || fail "the number typed another way is another member: $(field .member)"
[ "$(field .outcome)" = awarded ] && [ "$(field .repeat)" = true ] || fail "repeat"
[ "$(field .balance)" = 10 ] && [ "$(field .claimed_at)" = "$AT" ] || fail "repeat is the same answer"
claim "$C1" "alice@example"
expect 409 "claim by another member"
[ "$(field .outcome)" = already_claimed ] && [ "$(field .claimed_at)" = "$AT" ] || fail "409 body"
claim "$TYPO" "alice@example"
expect 400 "typo claim"
[ "$(field .outcome)" = typo ] || fail "typo outcome"
claim "$FORGED" "alice@example"
expect 404 "forged claim"
[ "$(field .outcome)" = not_genuine ] || fail "forged outcome"
claim "$(code 2)" "not valid!"
expect 400 "bad member"
[ "$(field .error)" = bad_request ] || fail "bad member error"
claim "$(code 2)" "alice@example"
expect 200 "second member"
[ "$(field .balance)" = 10 ] || fail "alice balance"
claim "$(code 3)" "+8613800138000"
[ "$(field .balance)" = 20 ] || fail "balance adds up"
ok "claims: awarded, repeat, 409, typo, not genuine, bad member"

# ---- PINs ----
P1=$(pincode 1)
claim "$P1" "alice@example"
expect 403 "pin missing"
[ "$(field .outcome)" = pin_required ] || fail "pin_required"
claim "$P1" "alice@example" "$(pin 2)"
expect 403 "pin wrong"
[ "$(field .outcome)" = pin_wrong ] || fail "pin_wrong"
req GET "/api/v1/codes/$P1"
expect 200 "the verdict on a PIN code stays public"
[ "$(field .batch.pin_required)" = true ] || fail "pin_required in lookup"
claim "$P1" "alice@example" "$(pin 1)"
expect 200 "right pin"
P2=$(pincode 2)
for i in 1 2; do
	claim "$P2" "mallory" "0000000$i"
	expect 403 "wrong pin $i"
done
claim "$P2" "mallory" "00000003"
expect 403 "this address's fourth wrong PIN (alice's was the first): wrong, and a wait"
[ "$(field .outcome)" = pin_wrong ] && [ "$(field .retry_after)" = 10 ] || fail "backoff body"
claim "$P2" "mallory" "00000004"
expect 429 "inside the wait: throttled"
[ "$(field .outcome)" = throttled ] && [ "$(field .retry_after)" -gt 0 ] || fail "throttle body"
RA=$(claim_header Retry-After "$P2" mallory "$(pin 2)")
[ -n "$RA" ] && [ "$RA" -gt 0 ] || fail "Retry-After on 429: '$RA'"
claim "$P2" "bob" "$(pin 2)"
expect 429 "the failing address waits, even with the right PIN"
[ "$(sql "SELECT count(*) FROM redemptions WHERE serial = $F2 + 1")" = 0 ] || fail "throttled claim recorded"
# (test_server_phone_pin.sh: other addresses are not slowed; here the rest runs from 127.0.0.1)
sql "DELETE FROM pin_backoff" >/dev/null
ok "PINs: required, wrong, right; 3 wrong free, then the address waits (429 + Retry-After)"

# ---- members ----
req GET "/api/v1/members/+86%20138%200013%208000"
expect 200 "member"
[ "$(field .balance)" = 20 ] && [ "$(field '.entries | length')" = 2 ] || fail "member entries"
[ "$(field '.entries[0].balance_after')" = 20 ] && [ "$(field '.entries[0].product.sku')" = TEA ] ||
	fail "newest entry first"
for i in 4 5 6 7 8; do claim "$(code $i)" "+8613800138000" >/dev/null; done
req GET "/api/v1/members/+8613800138000?limit=3"
expect 200 "page 1"
[ "$(field '.entries | length')" = 3 ] && [ "$(field .balance)" = 70 ] || fail "page 1"
NEXT=$(field .next_before)
req GET "/api/v1/members/+8613800138000?limit=3&before=$NEXT"
[ "$(field '.entries | length')" = 3 ] || fail "page 2"
NEXT=$(field .next_before)
req GET "/api/v1/members/+8613800138000?limit=3&before=$NEXT"
[ "$(field '.entries | length')" = 1 ] && [ "$(field .next_before)" = null ] || fail "last page"
[ "$(field '.entries[0].balance_after')" = 10 ] || fail "oldest entry"
req GET "/api/v1/members/nobody"
expect 404 "unknown member"
req GET "/api/v1/members/+12"
expect 400 "bad member id"
req GET "/api/v1/members/x?limit=0"
expect 400 "bad limit"
ok "members: balance, ledger newest first, keyset pages, 404, 400"

# ---- landing page ----
C9=$(code 9)
page "/C/$C9"
[ "$STATUS" = 200 ] || fail "landing status $STATUS"
grep -q 'Genuine' "$T/page" && grep -q 'Green tea' "$T/page" || fail "landing content"
grep -q "action=\"/c/$C9/claim\"" "$T/page" || fail "claim form"
! grep -qi '<script' "$T/page" || fail "landing has a script"
! grep -Eqi '(src|href)="https?:' "$T/page" || fail "landing has an external asset"
[ "$(wc -c <"$T/page")" -lt 30720 ] || fail "landing over 30 KB"
page "/c/$C9" -H 'Accept-Language: zh-CN,zh;q=0.9,en;q=0.5'
grep -q '正品' "$T/page" && grep -q 'lang="zh-CN"' "$T/page" || fail "Chinese landing"
page "/c/$C9" -H 'Accept-Language: fr, en;q=0.4, zh;q=0.2'
grep -q 'lang="en"' "$T/page" || fail "q-values"
page "/c/$FORGED"
[ "$STATUS" = 404 ] && grep -q 'Not a genuine code' "$T/page" || fail "forged landing"
page "/c/$TYPO"
[ "$STATUS" = 400 ] && grep -q 'Check the characters' "$T/page" || fail "typo landing"
page "/c/$(head -c 300 /dev/zero | tr '\0' 'A')"
[ "$STATUS" = 400 ] && grep -q 'Check the characters' "$T/page" || fail "overlong code landing"
# claim through the form (a signed-in member), then the page says claimed
page "/c/$C9/claim" -d ''
[ "$STATUS" = 403 ] && grep -q 'name="phone"' "$T/page" || fail "a form without its CSRF token: $STATUS"
member_session form-member
page "/c/$C9/claim" "${MEMBER_FORM[@]}"
[ "$STATUS" = 200 ] && grep -q '10 points added' "$T/page" || fail "form claim: $STATUS"
page "/c/$C9"
grep -qi 'claimed' "$T/page" || fail "landing after claim"
! grep -q '/claim"' "$T/page" || fail "claim form shown for a claimed code"
page "/c/$(code 10)/claim" "${FORM[@]}" --data-urlencode step=sms --data-urlencode phone=
[ "$STATUS" = 400 ] && grep -q 'name="phone"' "$T/page" || fail "form error shows the form again"
page "/c/$(pincode 3)/claim" "${MEMBER_FORM[@]}"
[ "$STATUS" = 403 ] && grep -q 'name="pin"' "$T/page" || fail "PIN form"
page "/c/$(pincode 3)/claim" "${MEMBER_FORM[@]}" --data-urlencode "pin=$(pin 3)"
[ "$STATUS" = 200 ] || fail "PIN form claim"
# GS1 Digital Link path (GTIN-14 or -13, with a lot)
page "/01/06901234567892/21/$(code 11)"
[ "$STATUS" = 200 ] && grep -q 'Genuine' "$T/page" || fail "digital link landing"
page "/01/6901234567892/21/$(code 11)/10/LOT7"
[ "$STATUS" = 200 ] || fail "digital link with a GTIN-13 and a lot: $STATUS"
page "/01/00000000000000/21/$(code 11)"
[ "$STATUS" = 404 ] || fail "digital link with another product's GTIN: $STATUS"
ok "landing: en/zh, verdicts, claim form, PIN form, Digital Link, no scripts or external assets"

# every interpolated value is escaped
sql "UPDATE products SET name = '<script>alert(1)</script>&\"''' WHERE sku = 'TEA'"
page_has() { page "$1"; grep -qF -- "$2" "$T/page"; }
wait_until 1.2 "the landing page to show the new product name" page_has "/c/$(code 12)" '&lt;script&gt;alert(1)'
page "/c/$(code 12)"
! grep -q '<script>alert' "$T/page" || fail "product name not escaped"
grep -q '&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;&#39;' "$T/page" || fail "escaped name missing"
sql "UPDATE products SET name = 'Green tea' WHERE sku = 'TEA'"
ok "landing escapes product names (catalog change picked up by NOTIFY)"

# ---- recall, seen within a second ----
C13=$(code 13)
sql "UPDATE batches SET status = 'recalled' WHERE id = $B1"
claim "$C13" "alice@example"
expect 410 "claim in a batch just recalled"
[ "$(field .outcome)" = recalled ] || fail "recalled outcome"
wait_until 1 "a lookup of a code just recalled to answer 410" answers 410 GET "/api/v1/codes/$C13"
[ "$(field .verdict)" = recalled ] || fail "recalled verdict"
sql "UPDATE batches SET status = 'active' WHERE id = $B1"
wait_until 1 "a lookup of a code no longer recalled to answer 200" answers 200 GET "/api/v1/codes/$C13"
ok "recall honoured within a second, and its end"

# ---- scans ----
server_stop # flushes the buffered scan records
[ "$(sql "SELECT count(*) FROM scans WHERE kind = 'lookup' AND outcome = 'not_genuine' AND serial = 0")" -ge 2 ] ||
	fail "forged lookups recorded"
[ "$(sql "SELECT count(*) FROM scans WHERE kind = 'claim' AND outcome = 'awarded' AND member = '$PM'")" = 7 ] ||
	fail "claims recorded with member"
[ "$(sql "SELECT count(*) FROM scans WHERE kind = 'claim' AND outcome = 'repeat'")" = 1 ] ||
	fail "repeat claim recorded"
[ "$(sql "SELECT count(*) FROM scans WHERE kind = 'landing' AND client = '127.0.0.1' AND user_agent LIKE 'curl/%'")" -ge 5 ] ||
	fail "landing scans with client and user agent"
[ "$(sql "SELECT scan_count FROM code_stats WHERE serial = $F1")" = "$(sql "SELECT count(*) FROM scans WHERE serial = $F1")" ] ||
	fail "code_stats agrees with scans"
[ "$(sql "SELECT bool_and(m.balance = l.total) FROM members m JOIN (SELECT member, sum(delta) total FROM ledger GROUP BY member) l USING (member)")" = t ] ||
	fail "balances = ledger sums"
ok "scans recorded with outcome, client, user agent, member; flushed on SIGTERM (exit 0)"

# ---- metrics, SIGHUP: a revoked key ----
server_start
req GET /metrics
expect 200 metrics
grep -q '^packcode_http_requests_total{route="readyz",status="200"} [1-9]' "$T/body" || fail "requests metric"
grep -q '^packcode_http_request_duration_seconds_bucket{route="readyz",le="+Inf"}' "$T/body" || fail "histogram"
grep -q '^packcode_pool_connections{state="in_use"}' "$T/body" || fail "pool metric"
grep -q '^packcode_claims_total{outcome="awarded"}' "$T/body" || fail "claims metric"
pcgen keygen >/dev/null
pcgen key revoke 1 >/dev/null
kill -HUP "$SERVER_PID"
wait_until 5 "the keyring reload after SIGHUP" grep -q 'event=keyring_reloaded' "$T/server.log"
claim "$(code 14)" "alice@example"
expect 410 "claim of a revoked key's code"
[ "$(field .outcome)" = revoked_key ] || fail "revoked outcome"
req GET "/api/v1/codes/$(code 14)"
expect 410 "lookup of a revoked key's code"
server_stop
ok "metrics; SIGHUP reloads the keyring (revoked key refused)"
