#!/usr/bin/env bash
# test_server_phone_pin.sh: packcode-server over real HTTP, from several
# client addresses (127.0.0.N):
# 1. phone numbers: four spellings are one member wherever a member comes in
#    (claims API, landing form, member and admin paths, packcode-gen); an impossible
#    number is refused with the reason; ids that are no number keep working;
#    --default-country reads national numbers (and refuses an unknown region);
# 2. wrong PINs back off per code, per address and per member: a stranger's
#    50 wrong PINs from other addresses, some naming the buyer's own number,
#    never stop the right PIN from a new address; the failing address waits
#    (right PIN or not), and its wait doubles from 10 s up to a cap of 1 hour.
PC_TIMEOUT=300
. "$(dirname "$0")/harness.sh"
. "$(dirname "$0")/server_lib.sh"

setup
mint 10
cp "$CODES" "$T/codes"
mint 10 --pin
cp "$CODES" "$T/pincodes"
pincode() { code "$1" "$T/pincodes" | cut -d, -f1; }
pin() { code "$1" "$T/pincodes" | cut -d, -f2; }
PF=$FIRST
TOK=$(pcgen token add --name consumer-test 2>/dev/null) || fail "token add"

# --default-country must be a region with phone numbers: a usage error, exit 2
run "$SERVER" --default-country XX
[ "$rc" = 2 ] && grep -q 'default-country XX' <<<"$err" || fail "--default-country XX: $rc $err"
ok "--default-country XX is refused before start-up"

server_start

# body_claim ADDRESS CODE MEMBER [PIN]: POST /api/v1/claims from ADDRESS.
body_claim() {
	local body
	if [ $# -ge 4 ]; then
		body=$(jq -cn --arg c "$2" --arg m "$3" --arg p "$4" '{code: $c, member: $m, pin: $p}')
	else
		body=$(jq -cn --arg c "$2" --arg m "$3" '{code: $c, member: $m}')
	fi
	from "$1" /api/v1/claims -H 'Content-Type: application/json' --data-binary "$body"
}

# ---- 1. phone numbers ----
# a phone is an identity (sql/011_members.sql): every spelling finds the same
# member, whose key is opaque ("m-..."), never the number
i=0
PM=
for m in '13900000000' '139 0000 0000' '+86 139-0000-0000' '008613900000000'; do
	i=$((i + 1))
	claim "$(code $i)" "$m"
	expect 200 "claim as '$m'"
	[ -n "$PM" ] || PM=$(field .member)
	[[ $PM == m-* ]] && [ "$(field .member)" = "$PM" ] || fail "'$m' is member $(field .member)"
done
[ "$(sql "SELECT member || ' ' || balance FROM members")" = "$PM 40" ] ||
	fail "four spellings, one member: $(sql "SELECT member, balance FROM members")"
claim "$(code 5)" '139-0000-0000'
[ "$STATUS" = 200 ] && [ "$(field .balance)" = 50 ] || fail "fifth claim: $STATUS"
for m in 13900000000 '139%200000%200000' 008613900000000 '%2B86%20139-0000-0000'; do
	req GET "/api/v1/members/$m"
	expect 200 "member page of $m"
	[ "$(field .member)" = "$PM" ] && [ "$(field .balance)" = 50 ] || fail "member $m"
done
STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $TOK" \
	-H 'Content-Type: application/json' -d '{"points":5,"reason":"goodwill"}' \
	"$BASE/api/v1/admin/members/139%200000%200000/adjust")
expect 200 "admin adjust by a national number"
[ "$(field .member)" = "$PM" ] && [ "$(field .balance)" = 55 ] || fail "admin adjust member: $(cat "$T/body")"
[ "$(sql "SELECT target FROM audit WHERE action = 'member.adjust'")" = "$PM" ] ||
	fail "audit target not the member"
[ "$(sql "SELECT count(*) FROM members WHERE member LIKE '+%'")" = 0 ] || fail "a phone became a key"
ok "13900000000, 139 0000 0000, +86 139-0000-0000, 008613900000000: one member (API, member and admin paths)"

claim "$(code 6)" "12345"
expect 400 "too short"
[ "$(field .error)" = bad_request ] && field .message | grep -q 'too few digits' || fail "too short: $(cat "$T/body")"
claim "$(code 6)" "+999 1234 5678"
expect 400 "no such country"
field .message | grep -q 'no country has that calling code' || fail "bad country: $(cat "$T/body")"
claim "$(code 6)" "100 0000 0000"
expect 400 "no such range"
field .message | grep -q 'starts with those digits' || fail "no such range: $(cat "$T/body")"
req GET "/api/v1/members/1234"
expect 400 "member path, too short"
[ "$(field .error)" = bad_member ] && field .message | grep -q 'too few digits' || fail "member 1234"
page "/c/$(code 6)/claim" "${FORM[@]}" --data-urlencode step=sms --data-urlencode 'phone=12345'
[ "$STATUS" = 400 ] && grep -q 'That phone number is too short' "$T/page" || fail "form: too short"
grep -q 'type="tel" inputmode="tel"' "$T/page" && grep -q 'value="12345"' "$T/page" ||
	fail "the form again, with the number kept and a phone keyboard"
page "/c/$(code 6)/claim" "${FORM[@]}" --data-urlencode step=sms --data-urlencode 'phone=12345' \
	-H 'Accept-Language: zh-CN'
grep -q '手机号位数不足' "$T/page" || fail "form: too short in Chinese"
[ "$(sql "SELECT count(*) FROM redemptions WHERE serial = $FIRST + 5")" = 0 ] || fail "refused claim recorded"
ok "impossible numbers refused with the reason (API, member path, form in en and zh)"

claim "$(code 6)" "crm:42"
expect 200 "external id"
[ "$(field .member)" = crm:42 ] || fail "crm:42"
claim "$(code 7)" "alice@example.com"
expect 200 "e-mail id"
ok "ids that are no phone number (crm:42, alice@example.com) are kept as typed"

# ---- 2. PIN backoff ----
P1=$(pincode 1)
# a stranger who read the outer code: 50 wrong PINs from ten other addresses,
# half of them naming the buyer's own number
n403=0 n429=0
for a in 11 12 13 14 15 16 17 18 19 20; do
	m=mallory
	[ $a -gt 15 ] && m='137 0000 0000'
	for t in 1 2 3 4 5; do
		body_claim "127.0.0.$a" "$P1" "$m" "0000000$t"
		case $STATUS in
		403) n403=$((n403 + 1)) ;;
		429) n429=$((n429 + 1)) ;;
		*) fail "stranger's wrong PIN answered $STATUS: $(cat "$T/body")" ;;
		esac
	done
done
[ $((n403 + n429)) = 50 ] && [ $n429 -gt 0 ] || fail "50 wrong PINs: $n403 wrong, $n429 throttled"
# the buyer, from a new address, with the right PIN: never refused for the stranger's failures
body_claim 127.0.0.30 "$P1" '137 0000 0000' "$(pin 1)"
expect 200 "the right PIN from a new address after 50 wrong ones from others"
[ "$(field .outcome)" = awarded ] && [[ $(field .member) == m-* ]] || fail "buyer award"
ok "50 wrong PINs from 10 other addresses ($n403 judged, $n429 throttled) do not stop the right PIN from a new address"

P2=$(pincode 2)
for a in 11 12 13 14 15 16 17 18 19 20; do
	for t in 1 2 3 4 5; do body_claim "127.0.0.$a" "$P2" "mallory" "1111111$t"; done
done
body_claim 127.0.0.31 "$P2" "buyer2" "$(pin 2)"
expect 200 "a second code, the same stranger, another buyer"
ok "the code is never locked for everyone: the buyer of a second attacked code gets through too"

# the failing address waits, whatever its PIN; Retry-After says how long
body_claim 127.0.0.11 "$(pincode 3)" mallory "$(pin 3)"
expect 429 "the stranger's address, right PIN"
[ "$(field .outcome)" = throttled ] && [ "$(field .retry_after)" -gt 0 ] || fail "throttled body"
[ "$(hdr retry-after)" -gt 0 ] || fail "Retry-After on 429"
# (the form, signed in as mallory, with a wrong PIN: a signed-in member's right PIN
# would pass, test_member_auth.sh)
member_session mallory
from 127.0.0.11 "/c/$(pincode 3)/claim" "${MEMBER_FORM[@]}" --data-urlencode "pin=000000"
[ "$STATUS" = 429 ] && grep -q 'Too many wrong PINs came from here' "$T/body" || fail "throttled page: $STATUS"
[ "$(sql "SELECT count(*) FROM redemptions WHERE serial = $PF + 2")" = 0 ] || fail "throttled claim recorded"
ok "the failing address is slowed: 429 with Retry-After, even with the right PIN (API; the form)"

# the wait grows with the failures (3 free, then 10 s doubling) and is capped at 1 hour
P4=$(pincode 4)
expire() { sql "UPDATE pin_backoff SET blocked_until = now() WHERE subject IN ('addr:127.0.0.40', 'member:eve')" >/dev/null; }
waits=
for t in 1 2 3 4 5 6; do
	body_claim 127.0.0.40 "$P4" eve "2222222$t"
	expect 403 "wrong PIN $t"
	[ "$(field .outcome)" = pin_wrong ] || fail "wrong PIN $t: $(cat "$T/body")"
	waits="$waits $(field '.retry_after // 0')"
	expire
done
[ "$waits" = " 0 0 0 10 20 40" ] || fail "waits after each wrong PIN:$waits"
body_claim 127.0.0.40 "$P4" eve 22222227
body_claim 127.0.0.40 "$P4" eve 22222228
expect 429 "inside the wait"
sql "UPDATE pin_backoff SET failures = 40, blocked_until = now() WHERE subject IN ('addr:127.0.0.40', 'member:eve')" >/dev/null
body_claim 127.0.0.40 "$P4" eve 22222229
[ "$(field .retry_after)" = 3600 ] && [ "$(hdr retry-after)" = 3600 ] || fail "cap: $(cat "$T/body")"
# the member eve waits on an address that failed too; from a clean address she gets through
sql "UPDATE pin_backoff SET blocked_until = now() WHERE subject = 'addr:127.0.0.40'" >/dev/null
body_claim 127.0.0.40 "$P4" eve "$(pin 4)"
expect 429 "a failing member, from an address that failed too (its own wait over)"
body_claim 127.0.0.41 "$P4" eve "$(pin 4)"
expect 200 "the failing member with the right PIN from a clean address"
ok "the wait grows: 0 0 0 10 20 40 s, capped at 3600 s; a failing member waits on failing addresses only"

# packcode-gen takes members the same way; 'member check' finds those stored in an old form
run pcgen member show '139 0000 0000'
[ "$rc" = 0 ] && [ "$out" = "$PM	55 points" ] || fail "member show: $rc $out $err"
expect_error 2 'too few digits' pcgen member show 12345
sql "INSERT INTO members (member, balance) VALUES ('13900000000', 7), ('12345', 1)" >/dev/null
run pcgen member check
[ "$rc" = 0 ] && grep -q '^13900000000	+8613900000000	7$' <<<"$out" &&
	grep -q '^12345	refused: .*too few digits' <<<"$out" && ! grep -q '^+8613900000000' <<<"$out" ||
	fail "member check: $out"
sql "DELETE FROM members WHERE member IN ('13900000000', '12345')" >/dev/null
ok "packcode-gen member show normalises as the server; member check lists members stored in an old form"

# --default-country TW: national numbers are Taiwan's
server_stop
server_start --default-country TW
claim "$(code 8)" "0912 345 678"
expect 200 "a Taiwanese number under --default-country TW"
TWM=$(field .member)
[ "$(sql "SELECT count(*) FROM member_identities WHERE member = '$TWM' AND masked = '+886 912**5678'")" = 1 ] ||
	fail "TW member: $(field .member)"
claim "$(code 9)" "+86 139 0000 0000"
[ "$(field .member)" = "$PM" ] || fail "a number with its country code is that country's"
ok "--default-country TW: 0912 345 678 is +886912345678"
server_stop
