#!/bin/bash
# test_member_auth.sh: members signing in by SMS against real PostgreSQL and
# HTTP, the brand's SMS gateway played by webhook_receiver.py on 127.0.0.1
# (signed JSON POSTs) and then by a --sms-command script. The whole flow
# (code, session cookie, /me, a claim with the session and its CSRF token),
# and its abuse: impossible numbers, the resend cool-down, wrong codes x5,
# expiry, budgets per phone and per address, session fixation, a tampered
# cookie, CSRF, claims without a session, enumeration (the same answer for
# known and unknown numbers and members, and response times alike: medians
# of 30 each), sign-out; the admin read (masked
# with read, unmasked and audited with pii), the member's download and erasure.
PC_TIMEOUT=120
. "$(dirname "$0")/harness.sh"
. "$(dirname "$0")/server_lib.sh"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
IT=$abs_top_srcdir/tests/integration
PY=python3

RECEIVER_PID=
ma_exit() {
	local rc=$?
	set +e
	[ -z "$RECEIVER_PID" ] || { kill -KILL "$RECEIVER_PID" 2>/dev/null; wait "$RECEIVER_PID" 2>/dev/null; }
	(exit "$rc")
	server_exit
}
trap ma_exit EXIT

setup
MERGE_TOK=$(pcgen token add --name merger --scopes admin 2>/dev/null) || fail "token add merger"
mint 5 --pin
cp "$CODES" "$T/codes"
"$PY" "$IT/webhook_receiver.py" "$T/gw.port" "$T/gw.log" --mode accept --lifetime 110 \
	2>"$T/gw.err" &
RECEIVER_PID=$!
: >>"$T/gw.log"
wait_until 10 "the SMS gateway to listen" test -s "$T/gw.port"
GW="http://127.0.0.1:$(cat "$T/gw.port")/sms"
server_start --sms-webhook "$GW" --sms-secret gw-secret --sms-per-phone 2 --sms-per-address 8 \
	--sms-cooldown 30

# jar NAME: a curl cookie jar file
J() { echo "$T/jar.$1"; }
# post PATH BODY [CURL-ARGS...]: JSON POST; STATUS, $T/body, headers in $T/h
post() {
	local path=$1 body=$2
	shift 2
	STATUS=$(curl -s --max-time 10 -D "$T/h" -o "$T/body" -w '%{http_code}' \
		-H 'Content-Type: application/json' --data-binary "$body" "$@" "$BASE$path")
}
get() {
	local path=$1
	shift
	STATUS=$(curl -s --max-time 10 -D "$T/h" -o "$T/body" -w '%{http_code}' "$@" "$BASE$path")
}
texts() { grep -c "${1:-}" "$T/gw.log"; }
# texts_are N [NUMBER]: at least N texts (to NUMBER) reached the gateway
texts_are() { [ "$(texts "${2:-}")" -ge "$1" ] || { echo "$(texts "${2:-}") texts"; return 1; }; }
# last_code [NUMBER]: the number and code of the gateway's last text (to NUMBER), its signature checked
last_code() {
	grep "${1:-}" "$T/gw.log" | tail -n 1 | "$PY" -c '
import hashlib, hmac, json, re, sys
e = json.loads(sys.stdin.read())
t, v1 = [p.split("=", 1)[1] for p in e["signature"].split(",")]
want = hmac.new(b"gw-secret", (t + "." + e["body"]).encode(), hashlib.sha256).hexdigest()
assert hmac.compare_digest(want, v1), "bad signature"
b = json.loads(e["body"])
print(b["to"], re.search(r"\b(\d{6})\b", b["text"]).group(1))'
}

# ---- a code for every number: the same 202; impossible numbers refused ----
post /api/v1/auth/sms '{"phone":"139 0000 0000"}'
expect 202 "code for 139 0000 0000"
first=$(cat "$T/body")
wait_until 10 "the gateway to get the text" texts_are 1
read -r TO CODE <<<"$(last_code)" || fail "the gateway's text"
[ "$TO" = "+8613900000000" ] || fail "sent to $TO"
ok "a code is sent to the number in E.164 through the signed gateway"
post /api/v1/auth/sms '{"phone":"+86 1390000"}'
expect 400 "an impossible number"
[ "$(field .error)" = bad_phone ] && grep -q "digits" "$T/body" || fail "why: $(cat "$T/body")"
post /api/v1/auth/sms '{"phone":13900000000}'
expect 400 "a number that is no string"
ok "impossible numbers are refused with the reason"
post /api/v1/auth/sms '{"phone":"13900000000"}'
expect 429 "a second code within the cool-down"
[ -n "$(hdr Retry-After)" ] || fail "no Retry-After"
ok "the cool-down refuses a resend, with Retry-After"

# ---- wrong code, then the right one: a session; a cookie set before is not promoted ----
wrong=$(printf '%06d' $(((10#$CODE + 1) % 1000000)))
post /api/v1/auth/sms/verify "{\"phone\":\"13900000000\",\"code\":\"$wrong\"}"
expect 401 "a wrong code"
[ "$(field .error)" = code_wrong ] || fail "wrong code: $(cat "$T/body")"
FIXED=pcm_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
printf '127.0.0.1\tFALSE\t/\tFALSE\t0\tpc_member\t%s\n' "$FIXED" >"$(J a)"
post /api/v1/auth/sms/verify "{\"phone\":\"+86 139-0000-0000\",\"code\":\"$CODE\",\"consent\":true}" \
	-b "$(J a)" -c "$(J a)"
expect 200 "the right code"
MEMBER=$(field .member)
CSRF=$(field .csrf)
[[ $MEMBER == m-* ]] || fail "member $MEMBER: not an opaque key"
[ "$(field .phone)" = "+86 139****0000" ] || fail "phone shown $(field .phone)"
sc=$(hdr Set-Cookie)
echo "$sc" | grep -q 'HttpOnly' && echo "$sc" | grep -q 'SameSite=Lax' || fail "cookie: $sc"
COOKIE=$(awk '$6 == "pc_member" { print $7 }' "$(J a)")
[[ $COOKIE == pcm_* ]] && [ "$COOKIE" != "$FIXED" ] || fail "the session cookie: $COOKIE"
[ "$(sql "SELECT count(*) FROM member_sessions WHERE member = '$MEMBER'")" = 1 ] || fail "sessions"
[ "$(sql "SELECT version FROM member_consents WHERE member = '$MEMBER'")" = 2026-12-01 ] ||
	fail "consent not recorded"
[ "$(sql "SELECT count(*) FROM member_identities WHERE masked = '+86 139****0000' AND kind = 'phone'")" = 1 ] ||
	fail "identity"
grep -q 13900000000 <<<"$(sql "SELECT encode(sealed, 'escape') FROM member_identities")" &&
	fail "the phone is stored in clear"
grep -q 13900000000 <<<"$(sql "SELECT * FROM audit")" && fail "the phone is in the audit trail"
grep -q 13900000000 "$T/server.log" && fail "the phone is in the log"
ok "the right code signs in: a new opaque member, HttpOnly SameSite=Lax cookie, consent, phone sealed"
post /api/v1/auth/sms/verify "{\"phone\":\"13900000000\",\"code\":\"$CODE\"}"
expect 401 "a code used once"
ok "a code works once"

# ---- the session: /me, claims with CSRF, tampering ----
get /api/v1/members/me -b "$(J a)"
expect 200 "/me"
[ "$(field .member)" = "$MEMBER" ] && [ "$(field .balance)" = 0 ] &&
	[ "$(field '.identities[0].masked')" = "+86 139****0000" ] &&
	[ "$(field '.identities[0].value')" = null ] || fail "/me: $(cat "$T/body")"
BADCOOKIE=${COOKIE%?}x
[ "$BADCOOKIE" != "$COOKIE" ] || BADCOOKIE=${COOKIE%?}y
get /api/v1/members/me -b "pc_member=$BADCOOKIE"
expect 401 "a tampered cookie"
get /api/v1/members/me -b "pc_member=$FIXED"
expect 401 "the fixed cookie"
get /api/v1/members/me
expect 401 "no cookie"
ok "/me answers the signed-in member only; a tampered or planted cookie is no session"

IFS=, read -r C1 P1 <<<"$(code 1)"
IFS=, read -r C2 P2 <<<"$(code 2)"
post /api/v1/claims "{\"code\":\"$C1\",\"pin\":\"$P1\"}"
expect 401 "a claim without a session or token"
post /api/v1/claims "{\"code\":\"$C1\",\"member\":\"+8613900000001\",\"pin\":\"$P1\"}"
expect 401 "a claim for free text"
post /api/v1/claims "{\"code\":\"$C1\",\"pin\":\"$P1\"}" -b "$(J a)"
expect 403 "a claim with the session but no CSRF token"
[ "$(field .error)" = csrf ] || fail "csrf: $(cat "$T/body")"
# the token with its last character changed (to A, or B when it was A: 1 in 64)
BADCSRF=${CSRF%?}A
[ "$BADCSRF" != "$CSRF" ] || BADCSRF=${CSRF%?}B
post /api/v1/claims "{\"code\":\"$C1\",\"pin\":\"$P1\"}" -b "$(J a)" -H "X-CSRF-Token: $BADCSRF"
expect 403 "a wrong CSRF token"
post /api/v1/claims "{\"code\":\"$C1\",\"pin\":\"$P1\",\"member\":\"alice\"}" -b "$(J a)" \
	-H "X-CSRF-Token: $CSRF"
expect 400 "a session claim naming a member"
post /api/v1/claims "{\"code\":\"$C1\",\"pin\":\"$P1\"}" -b "$(J a)" -H "X-CSRF-Token: $CSRF"
expect 200 "a claim with the session"
[ "$(field .member)" = "$MEMBER" ] && [ "$(field .balance)" = 10 ] || fail "claim: $(cat "$T/body")"
ok "claims need a session (with its CSRF token) or a claims token; free text is no member"

# a stranger fails PINs from this address: the signed-in buyer's right PIN still passes
for i in 1 2 3 4 5 6; do claim "$C2" stranger 000000 >/dev/null; done
claim "$C2" stranger 000000
[ "$STATUS" = 429 ] || [ "$STATUS" = 403 ] || fail "stranger: $STATUS $(cat "$T/body")"
post /api/v1/claims "{\"code\":\"$C2\",\"pin\":\"$P2\"}" -b "$(J a)" -H "X-CSRF-Token: $CSRF"
expect 200 "the buyer's right PIN through the backoff"
ok "the signed-in buyer with the right PIN gets through the strangers' backoff"

# ---- the admin read: enumeration, masked, unmasked and audited ----
get /api/v1/members/+8613900000000
s1=$STATUS b1=$(cat "$T/body")
get /api/v1/members/+8613900000099
[ "$s1" = 401 ] && [ "$STATUS" = 401 ] && [ "$b1" = "$(cat "$T/body")" ] ||
	fail "known $s1 / unknown $STATUS differ"
member_read +8613900000000
expect 200 "the admin read"
[ "$(field .member)" = "$MEMBER" ] && [ "$(field .balance)" = 20 ] &&
	[ "$(field '.identities[0].value')" = null ] || fail "masked read: $(cat "$T/body")"
PII=$(pcgen token add --name pii-reader --scopes read,pii 2>/dev/null) || fail "token add"
pii_ok() {
	STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $PII" \
		"$BASE/api/v1/members/13900000000")
	[ "$STATUS" = 200 ] || { echo "$STATUS"; return 1; }
}
wait_until 5 "the pii token to be known" pii_ok
[ "$(field '.identities[0].value')" = "+8613900000000" ] || fail "pii read: $(cat "$T/body")"
[ "$(sql "SELECT count(*) FROM audit WHERE action = 'member.pii_read' AND actor = 'pii-reader'")" -ge 1 ] ||
	fail "the pii read is not audited"
ok "members/{id}: 401 alike for known and unknown; read masked; pii unmasked and audited"

# the same answer for a member's number and a stranger's
post /api/v1/auth/sms '{"phone":"13900000077"}'
expect 202 "a code for an unknown number"
[ "$(cat "$T/body")" = "$first" ] || fail "answers differ: $first / $(cat "$T/body")"
ok "a code request answers the same for every number"

# ---- wrong code x5, expiry, budgets ----
wait_until 10 "the text to 13900000077" texts_are 1 13900000077
read -r TO CODE2 <<<"$(last_code 13900000077)"
wrong=$(printf '%06d' $(((10#$CODE2 + 1) % 1000000)))
for i in 1 2 3 4; do
	post /api/v1/auth/sms/verify "{\"phone\":\"13900000077\",\"code\":\"$wrong\"}"
	expect 401 "wrong code $i"
done
post /api/v1/auth/sms/verify "{\"phone\":\"13900000077\",\"code\":\"$wrong\"}"
[ "$(field .error)" = code_exhausted ] || fail "5th wrong: $(cat "$T/body")"
post /api/v1/auth/sms/verify "{\"phone\":\"13900000077\",\"code\":\"$CODE2\"}"
expect 401 "the right code after 5 wrong ones"
ok "5 wrong codes end the code: the right one is refused after"

sql "UPDATE sms_challenges SET sent_at = '2000-01-01 00:00:00+00'" >/dev/null
post /api/v1/auth/sms '{"phone":"13900000077"}'
expect 202 "a new code"
wait_until 10 "the text" texts_are 2 13900000077
read -r TO CODE3 <<<"$(last_code 13900000077)"
sql "UPDATE sms_challenges SET expires_at = '2000-01-01 00:00:00+00'" >/dev/null
post /api/v1/auth/sms/verify "{\"phone\":\"13900000077\",\"code\":\"$CODE3\"}"
expect 401 "an expired code"
ok "an expired code is refused"

sql "UPDATE sms_challenges SET sent_at = '2000-01-01 00:00:00+00'" >/dev/null
post /api/v1/auth/sms '{"phone":"13900000077"}'
expect 429 "the phone's 3rd text in the hour (--sms-per-phone 2)"
ok "the budget per phone holds"
for i in 1 2 3 4 5 6; do post /api/v1/auth/sms "{\"phone\":\"1390000100$i\"}"; done
expect 429 "the address's 9th request (--sms-per-address 8)"
STATUS=$(curl -s --max-time 10 --interface 127.0.0.2 -o "$T/body" -w '%{http_code}' \
	-H 'Content-Type: application/json' --data-binary '{"phone":"13900002000"}' "$BASE/api/v1/auth/sms")
expect 202 "another address"
[ "$(sql "SELECT sent FROM sms_budgets WHERE subject = 'addr:127.0.0.1'")" -ge 9 ] ||
	fail "the address budget is not counted in the database"
ok "the budget per address holds, counted in PostgreSQL"

# ---- export, sign-out, erase ----
get /api/v1/members/me/export -b "$(J a)"
expect 200 "the download"
[ "$(field '.identities[0].value')" = "+8613900000000" ] && [ "$(field '.entries | length')" = 2 ] ||
	fail "export: $(cat "$T/body")"
ok "the member downloads their data, phone included"
STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' -X DELETE -b "$(J a)" \
	"$BASE/api/v1/auth/session")
expect 403 "sign-out without the CSRF token"
STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' -X DELETE -b "$(J a)" \
	-H "X-CSRF-Token: $CSRF" "$BASE/api/v1/auth/session")
expect 200 "sign-out"
get /api/v1/members/me -b "$(J a)"
expect 401 "/me after sign-out"
ok "sign-out revokes the session"

sql "UPDATE sms_challenges SET sent_at = '2000-01-01 00:00:00+00'" >/dev/null # past the cool-down
post /api/v1/auth/sms '{"phone":"13900000000"}' --interface 127.0.0.3
expect 202 "a code to sign in again"
wait_until 10 "the text" texts_are 2 8613900000000
read -r TO CODE4 <<<"$(last_code 8613900000000)"
[ "$TO" = "+8613900000000" ] || fail "to $TO"
post /api/v1/auth/sms/verify "{\"phone\":\"13900000000\",\"code\":\"$CODE4\"}" -c "$(J b)" \
	--interface 127.0.0.3
expect 200 "signing in again"
[ "$(field .member)" = "$MEMBER" ] && [ "$(field .created)" = false ] || fail "again: $(cat "$T/body")"
CSRF=$(field .csrf)
post /api/v1/members/me/erase '{}' -b "$(J b)" -H "X-CSRF-Token: $CSRF"
expect 200 "erase"
[ "$(sql "SELECT count(*) FROM member_identities WHERE member = '$MEMBER'")" = 0 ] &&
	[ "$(sql "SELECT sum(delta) FROM ledger WHERE member = '$MEMBER'")" = \
		"$(sql "SELECT balance FROM members WHERE member = '$MEMBER'")" ] ||
	fail "erasure"
get /api/v1/members/me -b "$(J b)"
expect 401 "/me after erasure"
ok "erasure removes identities and sessions; the pseudonymous ledger still adds up"

# ---- the landing page: phone -> code -> claimed, on one page, no script ----
IFS=, read -r C3 P3 <<<"$(code 3)"
L=$(J landing)
lpage() { STATUS=$(curl -s --max-time 10 -b "$L" -c "$L" -D "$T/h" -o "$T/page" -w '%{http_code}' \
	--interface 127.0.0.5 -H 'Accept-Language: zh-CN' "$@"); }
csrf_of() { sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' "$T/page" | head -n 1; }
lpage "$BASE/c/$C3"
expect_page() { [ "$STATUS" = "$1" ] || fail "$2: $STATUS $(head -c 600 "$T/page")"; }
expect_page 200 "the landing page"
grep -q 'name="phone" type="tel" inputmode="tel"' "$T/page" || fail "no phone field: $(cat "$T/page")"
grep -q 'name="member"' "$T/page" && fail "a free-text member field is still there"
F=$(csrf_of)
[ -n "$F" ] || fail "no CSRF token on the form"
lpage "$BASE/c/$C3/claim" --data-urlencode "csrf=wrong$F" --data-urlencode step=sms \
	--data-urlencode phone=13900005000 --data-urlencode "pin=$P3"
expect_page 403 "a form with a wrong CSRF token"
lpage "$BASE/c/$C3/claim" --data-urlencode "csrf=$F" --data-urlencode step=sms \
	--data-urlencode phone=1390000 --data-urlencode "pin=$P3"
expect_page 400 "an impossible number in the form"
grep -q '手机号' "$T/page" || fail "no Chinese reason"
lpage "$BASE/c/$C3/claim" --data-urlencode "csrf=$F" --data-urlencode step=sms \
	--data-urlencode "phone=139 0000 5000" --data-urlencode "pin=$P3"
expect_page 200 "the code's form"
grep -q 'autocomplete="one-time-code"' "$T/page" && grep -q '+86 139\*\*\*\*5000' "$T/page" ||
	fail "the code form: $(cat "$T/page")"
grep -q '隐私声明（版本 2026-12-01）' "$T/page" && grep -q '<a href="/privacy"[^>]*>阅读隐私声明</a>' "$T/page" ||
	fail "the consent does not link the privacy notice: $(cat "$T/page")"
wait_until 10 "the text to 13900005000" texts_are 1 13900005000
read -r TO CODE5 <<<"$(last_code 13900005000)"
lpage "$BASE/c/$C3/claim" --data-urlencode "csrf=$F" --data-urlencode step=verify \
	--data-urlencode "phone=139 0000 5000" --data-urlencode "pin=$P3" --data-urlencode otp=000000 \
	--data-urlencode consent=1
[ "$CODE5" = 000000 ] || expect_page 401 "a wrong code in the form"
lpage "$BASE/c/$C3/claim" --data-urlencode "csrf=$F" --data-urlencode step=verify \
	--data-urlencode "phone=139 0000 5000" --data-urlencode "pin=$P3" --data-urlencode "otp=$CODE5" \
	--data-urlencode consent=1
expect_page 200 "signed in and claimed"
grep -q '已获得 10 积分' "$T/page" || fail "not awarded: $(cat "$T/page")"
grep -q 'pc_member=pcm_' "$T/h" || fail "no session cookie"
lpage "$BASE/me"
expect_page 200 "my points"
grep -q '10 积分' "$T/page" && grep -q 'Green tea' "$T/page" && grep -q '+86 139\*\*\*\*5000' "$T/page" ||
	fail "my points: $(cat "$T/page")"
grep -q '<a href="/api/v1/members/me/export" download>下载我的数据</a>' "$T/page" &&
	grep -q '<a href="/privacy">隐私声明</a>' "$T/page" || fail "my points' links: $(cat "$T/page")"
# (the claim's scan, which marks this phone the claimer's, is written within 100 ms or so)
rescan_mine() { lpage "$BASE/c/$C3"; grep -q '积分已领取' "$T/page" || { echo "not yet"; return 1; }; }
wait_until 10 "the claimer's rescan to say it is theirs" rescan_mine
ok "the landing page signs in inline (phone, code, consent) and claims; /me shows the points"
# signed in inline with a wrong PIN: the form comes back with the new session's token
IFS=, read -r C5 P5 <<<"$(code 5)"
L2=$(J landing2)
lpage2() { STATUS=$(curl -s --max-time 10 -b "$L2" -c "$L2" -D "$T/h" -o "$T/page" -w '%{http_code}' \
	--interface 127.0.0.6 "$@"); }
lpage2 "$BASE/c/$C5"
F=$(csrf_of)
lpage2 "$BASE/c/$C5/claim" --data-urlencode "csrf=$F" --data-urlencode step=sms \
	--data-urlencode phone=13900006000 --data-urlencode pin=00000000
expect_page 200 "the code's form (a PIN kept for the next step)"
wait_until 10 "the text to 13900006000" texts_are 1 13900006000
read -r TO CODE6 <<<"$(last_code 13900006000)"
lpage2 "$BASE/c/$C5/claim" --data-urlencode "csrf=$F" --data-urlencode step=verify \
	--data-urlencode phone=13900006000 --data-urlencode pin=00000000 --data-urlencode "otp=$CODE6" \
	--data-urlencode consent=1
expect_page 403 "signed in, a wrong PIN"
grep -q 'name="pin"' "$T/page" || fail "the PIN form again: $(cat "$T/page")"
F=$(csrf_of)
lpage2 "$BASE/c/$C5/claim" --data-urlencode "csrf=$F" --data-urlencode "pin=$P5"
expect_page 200 "the right PIN, signed in, with the token of the form that came back"
grep -q '10 points added' "$T/page" || fail "not awarded: $(cat "$T/page")"
ok "signed in inline with a wrong PIN: the form comes back signed in, and the right PIN claims"

lpage "$BASE/me"
F=$(csrf_of)
lpage "$BASE/me/sign-out" --data-urlencode "csrf=$F"
expect_page 303 "sign-out from the page"
lpage "$BASE/me"
grep -q 'name="phone"' "$T/page" || fail "/me after sign-out: $(cat "$T/page")"
ok "signing out from /me"

# ---- merging two members (the data model: sql/011_members.sql member_merge) ----
IFS=, read -r C4 P4 <<<"$(code 4)"
post /api/v1/claims "{\"code\":\"$C4\",\"member\":\"crm:merge-a\",\"pin\":\"$P4\"}" \
	--interface 127.0.0.9 -H "Authorization: Bearer $(claims_token)"
expect 200 "a claim for crm:merge-a"
FROM=$(field .member)
B5=$(sql "SELECT balance FROM members WHERE member = '$MEMBER'")
TOTAL=$(sql "SELECT sum(balance) FROM members")
STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $MERGE_TOK" \
	-H 'Content-Type: application/json' -d "{\"into\":\"$MEMBER\"}" \
	"$BASE/api/v1/admin/members/crm:merge-a/merge")
expect 200 "merge crm:merge-a into the signed-in member"
[ "$(field .outcome)" = merged ] && [ "$(field .points)" = 10 ] && [ "$(field .from)" = "$FROM" ] ||
	fail "merge: $(cat "$T/body")"
STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $(claims_token)" \
	-H 'Content-Type: application/json' -d "{\"into\":\"$MEMBER\"}" \
	"$BASE/api/v1/admin/members/crm:merge-a/merge")
expect 403 "a merge without the admin scope"
[ "$(sql "SELECT balance FROM members WHERE member = '$MEMBER'")" = $((B5 + 10)) ] &&
	[ "$(sql "SELECT balance FROM members WHERE member = '$FROM'")" = 0 ] &&
	[ "$(sql "SELECT sum(balance) FROM members")" = "$TOTAL" ] &&
	[ "$(sql "SELECT count(*) FROM members m JOIN (SELECT member, sum(delta) s FROM ledger GROUP BY member) l
	          USING (member) WHERE m.balance <> l.s")" = 0 ] &&
	[ "$(sql "SELECT count(*) FROM member_identities WHERE member = '$FROM'")" = 0 ] &&
	[ "$(sql "SELECT count(*) FROM audit WHERE action = 'member.merge' AND target = '$MEMBER' AND actor = 'merger'")" = 1 ] ||
	fail "after the merge: points lost or doubled, or identities left"
ok "an admin merges two members: identities and points move (two ledger rows), audited; totals unchanged"

# ---- --sms-command ----
server_stop
cat >"$T/sms.sh" <<EOF
#!/bin/sh
printf '%s %s\n' "\$PACKCODE_SMS_TO" "\$PACKCODE_SMS_TEXT" >>"$T/cmd.log"
EOF
chmod +x "$T/sms.sh"
server_start --sms-command "$T/sms.sh"
post /api/v1/auth/sms '{"phone":"13900003000"}' --interface 127.0.0.4 -H 'Accept-Language: zh-CN'
expect 202 "a code through the command"
wait_until 10 "the command to run" test -s "$T/cmd.log"
grep -q '^+8613900003000 您的登录验证码是 [0-9]\{6\}' "$T/cmd.log" || fail "command: $(cat "$T/cmd.log")"
ok "--sms-command gets the number and the text (in the client's language)"

# ---- enumeration timing: known and unknown numbers take alike ----
# 30 members made by claims (a claims-scoped integration naming them, a
# code each), 30 numbers nobody has; each asked for a code once, interleaved,
# each pair from its own address (no budget or limit in the way), and read
# without authorisation. The medians must lie within a factor of 3 of each
# other (plus 5 ms for a loaded machine): a lookup that only a member's
# number costs would show as a gap, a noisy run does not fail.
mint 30
for i in $(seq 10 39); do
	claim "$(code $((i - 9)) "$CODES")" "+86139000050$i"
	expect 200 "a claim making member $i"
done
member_read +8613900005039
expect 200 "a member made by a claim"
member_read +8613900006039
expect 404 "a number nobody has"
: >"$T/t.sms.known" && : >"$T/t.sms.unknown" && : >"$T/t.get.known" && : >"$T/t.get.unknown"
timed() { # timed FILE ARGS...: the request's seconds appended to FILE; STATUS
	local out
	out=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code} %{time_total}' "${@:2}") || true
	STATUS=${out% *}
	echo "${out#* }" >>"$1"
}
for i in $(seq 10 39); do
	for who in known unknown; do
		[ $who = known ] && n=+86139000050$i || n=+86139000060$i
		timed "$T/t.sms.$who" --interface "127.0.1.$i" -H 'Content-Type: application/json' \
			--data-binary "{\"phone\":\"$n\"}" "$BASE/api/v1/auth/sms"
		[ "$STATUS" = 202 ] || fail "a code for the $who $n: $STATUS $(cat "$T/body")"
		timed "$T/t.get.$who" --interface 127.0.0.6 "$BASE/api/v1/members/$n"
		[ "$STATUS" = 401 ] || fail "the $who $n read without authorisation: $STATUS"
	done
done
median() { sort -g "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
alike() { # alike WHAT KNOWN-FILE UNKNOWN-FILE
	local k u
	k=$(median "$2") u=$(median "$3")
	note "$1: median known ${k}s, unknown ${u}s"
	awk -v k="$k" -v u="$u" 'BEGIN { exit !(k <= 3 * u + 0.005 && u <= 3 * k + 0.005) }' ||
		fail "$1: known numbers take ${k}s, unknown ${u}s (median of 30)"
}
alike "POST /api/v1/auth/sms" "$T/t.sms.known" "$T/t.sms.unknown"
alike "GET /api/v1/members/{id} unauthorised" "$T/t.get.known" "$T/t.get.unknown"
ok "enumeration timing: codes asked for and unauthorised reads take alike for members and strangers (medians of 30)"
