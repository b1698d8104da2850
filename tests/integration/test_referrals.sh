#!/bin/bash
# test_referrals.sh: referrals (docs/campaigns.md, "Referrals") against real
# PostgreSQL and HTTP, members signed in by SMS (--sms-command, as
# test_member_auth.sh), each from its own loopback address: the share link
# (stable), the link's cookies, a referral recorded at sign-in, refused for
# oneself and given once per referee; the reward, once for both, whether
# settled by the referee's concurrent claims carrying the cookie, by
# concurrent settles, or by the sweep, and the consumer's journey (the link,
# then the landing page's form signing in and claiming); farms flagged (the same address or
# device within the window, the referrer's own address, too many a day) and
# never rewarded; the staff's list (masked, brand-limited); balances equal
# the ledger's sums; a merge of two members (the admin API's) moves the
# merged one's share code, the referrals they made and the one they were
# referred by to the member kept (one referee, ever: the rewarded, else the
# earlier, kept, the other set aside), and a pending referral of one by the
# other is flagged.
PC_TIMEOUT=90
. "$(dirname "$0")/harness.sh"
. "$(dirname "$0")/server_lib.sh"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

setup
mint 30
cp "$CODES" "$T/codes"
READ_TOK=$(pcgen token add --name ref-reader --scopes read 2>/dev/null) || fail "token add"
TEA_TOK=$(pcgen token add --name ref-tea --scopes read,campaigns --brands "Packcode Tea" 2>/dev/null) ||
	fail "token add --brands"
cat >"$T/sms.sh" <<EOF
#!/bin/sh
printf '%s %s\n' "\$PACKCODE_SMS_TO" "\$PACKCODE_SMS_TEXT" >>"$T/sms.log"
EOF
chmod +x "$T/sms.sh"
: >"$T/sms.log"
# On Citus: a database distributed before 029 had the referral tables on
# the coordinator; 033's packcode_distribute_rewards() distributes each as
# packcode_distribute() does now, once. (referrals itself cannot be made
# local again to try it: undistribute_table refuses its identity column.)
if [ -n "${PC_CITUS:-}" ]; then
	exec {RL}>>"$CITUS_DIR/setup.lock"
	flock "$RL"
	sql "SELECT undistribute_table('referral_codes')" >/dev/null || fail "undistribute referral_codes"
	GOT=$(sql "SELECT packcode_distribute_rewards()") || fail "packcode_distribute_rewards"
	flock -u "$RL"
	exec {RL}>&-
	[ "$GOT" = referral_codes ] || fail "distributed late: '$GOT'"
	[ "$(sql "SELECT string_agg(logicalrelid::text || ':' || partmethod::text, ' ' ORDER BY logicalrelid::text)
	          FROM pg_dist_partition WHERE logicalrelid::text IN ('referrals', 'referral_codes',
	          'referral_rules', 'mall_orders')")" = "mall_orders:h referral_codes:n referral_rules:n referrals:h" ] ||
		fail "the rewards' tables on Citus: $(sql "SELECT logicalrelid, partmethod FROM pg_dist_partition")"
	[ "$(sql "SELECT count(*) FROM pg_dist_partition p, pg_dist_partition m
	          WHERE p.logicalrelid::text IN ('referrals', 'mall_orders') AND m.logicalrelid = 'members'::regclass
	            AND p.colocationid = m.colocationid")" = 2 ] || fail "referrals, mall_orders not with members"
	[ "$(sql "SELECT coalesce(packcode_distribute_rewards(), 'none')")" = none ] || fail "distributed twice"
	ok "Citus: a referral table left on the coordinator is distributed as packcode_distribute() does, once"
fi
server_start --sms-command "$T/sms.sh" --sms-per-address 50 --referral-interval 1

J() { echo "$T/jar.$1"; }
# req IP METHOD PATH [CURL-ARGS...]: STATUS, body in $T/body, headers in $T/h
req_from() {
	local ip=$1 method=$2 path=$3
	shift 3
	STATUS=$(curl -s --max-time 10 --interface "$ip" -X "$method" -D "$T/h" -o "$T/body" \
		-w '%{http_code}' "$@" "$BASE$path") || true
}
# signin NAME PHONE IP: NAME signs in with PHONE from IP (jar NAME); sets
# M_NAME (the member) and X_NAME (its CSRF token)
signin() {
	local name=$1 phone=$2 ip=$3 code
	req_from "$ip" POST /api/v1/auth/sms -b "$(J "$name")" -c "$(J "$name")" \
		-H 'Content-Type: application/json' --data-binary "{\"phone\":\"$phone\"}"
	expect 202 "a code for $name"
	wait_until 10 "the text to $name" grep -q "^+86$phone " "$T/sms.log"
	code=$(grep "^+86$phone " "$T/sms.log" | tail -n 1 | grep -o '[0-9]\{6\}' | tail -n 1)
	req_from "$ip" POST /api/v1/auth/sms/verify -b "$(J "$name")" -c "$(J "$name")" \
		-H 'Content-Type: application/json' \
		--data-binary "{\"phone\":\"$phone\",\"code\":\"$code\",\"consent\":true}"
	expect 200 "$name signs in"
	printf -v "M_$name" '%s' "$(field .member)"
	printf -v "X_$name" '%s' "$(field .csrf)"
}
# claim_as NAME IP N: NAME claims code N with its jar
claim_as() {
	local x="X_$1"
	req_from "$2" POST /api/v1/claims -b "$(J "$1")" -H "X-CSRF-Token: ${!x}" \
		-H 'Content-Type: application/json' --data-binary "{\"code\":\"$(code "$3")\"}"
}
status_of() { sql "SELECT status || coalesce('/' || flag, '') FROM referrals WHERE referee = '$1'"; }
# status_is REFEREE WANT: the referral's status (and flag) is WANT ("" for none yet: any)
status_is() {
	local got
	got=$(status_of "$1")
	echo "$got"
	if [ -z "$2" ]; then [ -n "$got" ]; else [ "$got" = "$2" ]; fi
}
rewards() { sql "SELECT count(*) FROM ledger WHERE kind = 'referral' AND member = '$1'"; }
balance() { sql "SELECT coalesce((SELECT balance FROM members WHERE member = '$1'), 0)"; }

# ---- the share link: stable, the member's own code refused ----
signin A 13900001001 127.0.0.2
req_from 127.0.0.2 GET /api/v1/members/me/referral -b "$(J A)"
expect 200 "the share link"
CODE=$(field .code)
[[ $CODE =~ ^[a-z2-7]{10}$ ]] || fail "code: $(cat "$T/body")"
[ "$(field .url)" = "https://127.0.0.1:$PORT/r/$CODE" ] || fail "url: $(field .url)"
req_from 127.0.0.2 GET /api/v1/members/me/referral -b "$(J A)"
[ "$(field .code)" = "$CODE" ] || fail "the code changed: $(cat "$T/body")"
req_from 127.0.0.2 GET /api/v1/members/me/referral
expect 401 "the link without a session"
req_from 127.0.0.2 POST /api/v1/members/me/referral -b "$(J A)" -H "X-CSRF-Token: $X_A" \
	-H 'Content-Type: application/json' --data-binary "{\"code\":\"$CODE\"}"
expect 409 "a member's own code"
[ "$(field .error)" = self_referral ] || fail "self: $(cat "$T/body")"
[ "$(sql "SELECT count(*) FROM referrals")" = 0 ] || fail "a self-referral was recorded"
ok "a member's share link is stable (https://HOST/r/CODE); referring oneself is refused"

# ---- the link: cookies, then the friend's sign-in records the referral ----
req_from 127.0.0.3 GET "/r/$CODE" -c "$(J B)"
expect 303 "the link"
[ "$(hdr Location)" = /me ] || fail "Location: $(hdr Location)"
grep -i "^set-cookie: pc_ref=$CODE;" "$T/h" | grep -q 'HttpOnly' &&
	grep -i "^set-cookie: pc_ref=" "$T/h" | grep -q 'SameSite=Lax' || fail "cookie: $(cat "$T/h")"
grep -qi '^set-cookie: pc_dev=[0-9a-f]\{32\};' "$T/h" || fail "no device cookie"
req_from 127.0.0.3 GET "/r/not-a-code"
expect 404 "a link of no code"
signin B 13900001002 127.0.0.3
wait_until 10 "B's referral" status_is "$M_B" pending
[ "$(sql "SELECT referrer || ' ' || via FROM referrals WHERE referee = '$M_B'")" = "$M_A sign_in" ] ||
	fail "B's referral: $(sql "SELECT * FROM referrals")"
req_from 127.0.0.3 POST /api/v1/members/me/referral -b "$(J B)" -H "X-CSRF-Token: $X_B" \
	-H 'Content-Type: application/json' --data-binary "{\"code\":\"$CODE\"}"
expect 409 "a second referral of B"
[ "$(field .error)" = already_referred ] || fail "again: $(cat "$T/body")"
for body in '{"code":"zzzzzzzzzz"}' '{"code":1}' '{"code":"abc"}' 'nope'; do
	req_from 127.0.0.3 POST /api/v1/members/me/referral -b "$(J B)" -H "X-CSRF-Token: $X_B" \
		-H 'Content-Type: application/json' --data-binary "$body"
	[ "$STATUS" = 404 ] || [ "$STATUS" = 400 ] || fail "$body: $STATUS $(cat "$T/body")"
	[ "$(field .error)" != null ] || fail "$body: no error"
done
ok "the link leaves its code (HttpOnly, SameSite=Lax) and a device id; the friend's sign-in records one referral"

# ---- the reward: the referee's concurrent claims (with the cookie), settled once ----
[ "$(rewards "$M_A")$(rewards "$M_B")" = 00 ] || fail "rewarded before a claim"
pids=()
for n in 1 2 3 4 5 6 7 8; do
	claim_as B 127.0.0.3 "$n" >/dev/null &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
[ "$(sql "SELECT count(*) FROM redemptions WHERE member = '$M_B'")" = 8 ] || fail "B's claims"
wait_until 10 "B's referral rewarded" status_is "$M_B" rewarded
pids=()
for i in 1 2 3 4 5 6; do
	sql "SELECT outcome FROM referral_settle('$M_B', NULL)" >"$T/settle.$i" &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
cat "$T"/settle.* | sort -u | grep -qx done || fail "settles: $(cat "$T"/settle.*)"
sleep 1.5 # a sweep more
[ "$(rewards "$M_A") $(rewards "$M_B")" = "1 1" ] || fail "rewards: $(rewards "$M_A") $(rewards "$M_B")"
[ "$(balance "$M_A") $(balance "$M_B")" = "100 180" ] ||
	fail "balances: $(balance "$M_A") $(balance "$M_B")"
[ "$(sql "SELECT count(*) FROM audit WHERE action = 'referral.reward' AND target = '$M_B'")" = 1 ] ||
	fail "audit"
ok "the referee's first claim rewards both once (100 points each), 8 concurrent claims and 6 settles alike"

# ---- the sweep: a referral recorded at sign-in, a claim without the cookie ----
req_from 127.0.0.4 GET "/r/$CODE" -c "$(J C)"
signin C 13900001003 127.0.0.4
wait_until 10 "C's referral" status_is "$M_C" pending
sed -i '/pc_ref/d' "$(J C)"
claim_as C 127.0.0.4 9
expect 200 "C's claim"
wait_until 10 "the sweep to reward C" status_is "$M_C" rewarded
[ "$(rewards "$M_C") $(balance "$M_C") $(balance "$M_A")" = "1 110 200" ] ||
	fail "C: $(rewards "$M_C") $(balance "$M_C") $(balance "$M_A")"
ok "the sweep settles a referral whose claim came without the cookie"

# ---- the consumer's journey: the link, then the landing page's form signs in and claims ----
LK=$(J K)
lpage() { STATUS=$(curl -s --max-time 10 -b "$LK" -c "$LK" -D "$T/h" -o "$T/page" -w '%{http_code}' \
	--interface 127.0.0.8 "$@"); }
lpage "$BASE/r/$CODE"
[ "$STATUS" = 303 ] || fail "the link: $STATUS"
C12=$(code 12)
lpage "$BASE/c/$C12"
F=$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' "$T/page" | head -n 1)
lpage "$BASE/c/$C12/claim" --data-urlencode "csrf=$F" --data-urlencode step=sms \
	--data-urlencode phone=13900001009
[ "$STATUS" = 200 ] || fail "the code's form: $STATUS $(head -c 400 "$T/page")"
wait_until 10 "the text to K" grep -q "^+8613900001009 " "$T/sms.log"
OTP=$(grep "^+8613900001009 " "$T/sms.log" | tail -n 1 | grep -o '[0-9]\{6\}' | tail -n 1)
lpage "$BASE/c/$C12/claim" --data-urlencode "csrf=$F" --data-urlencode step=verify \
	--data-urlencode phone=13900001009 --data-urlencode "otp=$OTP" --data-urlencode consent=1
[ "$STATUS" = 200 ] || fail "signed in and claimed: $STATUS $(head -c 400 "$T/page")"
M_K=$(sql "SELECT member FROM redemptions WHERE serial = $((FIRST + 11))")
wait_until 10 "K's referral rewarded" status_is "$M_K" rewarded
[ "$(rewards "$M_K") $(balance "$M_K") $(balance "$M_A")" = "1 110 300" ] ||
	fail "K: $(rewards "$M_K") $(balance "$M_K") $(balance "$M_A")"
ok "the link, then the landing page's form (sign-in and claim in one request): both rewarded once"

# ---- farms: the same address, the same device, the referrer's address, too many ----
req_from 127.0.0.5 GET "/r/$CODE" -c "$(J D)"
signin D 13900001004 127.0.0.5
wait_until 10 "D's referral" status_is "$M_D" pending
req_from 127.0.0.5 GET "/r/$CODE" -c "$(J E)"
signin E 13900001005 127.0.0.5
wait_until 10 "E's referral" status_is "$M_E" ""
[ "$(status_of "$M_E")" = flagged/same_address ] || fail "E: $(status_of "$M_E")"
# F from a new address, with D's device cookie
grep pc_dev "$(J D)" >>"$(J F)"
req_from 127.0.0.6 GET "/r/$CODE" -b "$(J F)" -c "$(J F)"
signin F 13900001006 127.0.0.6
wait_until 10 "F's referral" status_is "$M_F" ""
[ "$(status_of "$M_F")" = flagged/same_device ] || fail "F: $(status_of "$M_F")"
# G from the referrer's address, explicitly
signin G 13900001007 127.0.0.2
req_from 127.0.0.2 POST /api/v1/members/me/referral -b "$(J G)" -H "X-CSRF-Token: $X_G" \
	-H 'Content-Type: application/json' --data-binary "{\"code\":\"$CODE\"}"
expect 403 "a referral from the referrer's address"
[ "$(field .error)" = referral_refused ] || fail "G: $(cat "$T/body")"
[ "$(status_of "$M_G")" = flagged/same_address ] || fail "G: $(status_of "$M_G")"
# H: one more than the day allows
sql "UPDATE referral_rules SET daily_max = (SELECT count(*) FROM referrals) WHERE brand_id IS NULL" >/dev/null
signin H 13900001008 127.0.0.7
req_from 127.0.0.7 POST /api/v1/members/me/referral -b "$(J H)" -H "X-CSRF-Token: $X_H" \
	-H 'Content-Type: application/json' --data-binary "{\"code\":\"$CODE\"}"
expect 403 "a referral over the day's limit"
[ "$(status_of "$M_H")" = flagged/daily_max ] || fail "H: $(status_of "$M_H")"
# the brand's own bonus (its identity), for D's claim of its pack
rules() { req_from 127.0.0.1 POST /api/v1/admin/referrals/rules -H "Authorization: Bearer $1" \
	-H 'Content-Type: application/json' --data-binary "$2"; }
rules "$TEA_TOK" '{"referee_points":50,"referrer_points":70}'
expect 403 "a brand's identity setting the group's bonus"
[ "$(field .error)" = forbidden_brand ] || fail "group: $(cat "$T/body")"
rules "$READ_TOK" '{"brand":"Packcode Tea","referee_points":50,"referrer_points":70}'
expect 403 "the bonus without the campaigns scope"
rules "$TEA_TOK" '{"brand":"Packcode Tea","referee_points":50,"referrer_points":70,"daily_max":3}'
expect 400 "a brand's daily limit"
rules "$TEA_TOK" '{"brand":"Packcode Tea","referee_points":-1,"referrer_points":70}'
expect 400 "negative points"
rules "$TEA_TOK" '{"brand":"Packcode Tea","referee_points":50,"referrer_points":70}'
expect 200 "the brand's bonus"
[ "$(field .brand) $(field .referee_points) $(field .referrer_points)" = "Packcode Tea 50 70" ] ||
	fail "rules: $(cat "$T/body")"
req_from 127.0.0.1 GET /api/v1/admin/referrals/rules -H "Authorization: Bearer $TEA_TOK"
[ "$(jq -r '[.rules[] | (.brand // "group") + ":" + (.referee_points | tostring)] | join(" ")' "$T/body")" = \
	"group:100 Packcode Tea:50" ] || fail "rules list: $(cat "$T/body")"
[ "$(sql "SELECT count(*) FROM audit WHERE action = 'referral.rules'")" = 1 ] || fail "rules audit"
claim_as E 127.0.0.5 10
expect 200 "E's claim"
claim_as D 127.0.0.5 11
expect 200 "D's claim"
wait_until 10 "D rewarded" status_is "$M_D" rewarded
[ "$(balance "$M_D") $(balance "$M_A")" = "60 370" ] ||
	fail "the brand's bonus: $(balance "$M_D") $(balance "$M_A")"
sleep 1.5 # a sweep more
[ "$(status_of "$M_E")" = flagged/same_address ] && [ "$(rewards "$M_E")" = 0 ] ||
	fail "a flagged referral was rewarded"
[ "$(sql "SELECT count(*) FROM audit WHERE action = 'referral.flag'")" = 4 ] || fail "flag audit"
ok "farms are refused and flagged (same address or device in the window, the referrer's address, over the day's limit); a brand sets its own bonus"

# ---- staff: the flagged list, masked; brand-limited ----
req_from 127.0.0.1 GET "/api/v1/admin/referrals?flagged=true" -H "Authorization: Bearer $READ_TOK"
expect 200 "the flagged referrals"
[ "$(jq -r '[.referrals[].flag] | sort | join(" ")' "$T/body")" = \
	"daily_max same_address same_address same_device" ] || fail "list: $(cat "$T/body")"
[ "$(jq -r '.referrals[0].referrer.masked' "$T/body")" = "+86 139****1001" ] || fail "mask: $(cat "$T/body")"
grep -q 1390000100 "$T/body" && fail "a phone in clear"
req_from 127.0.0.1 GET "/api/v1/admin/referrals" -H "Authorization: Bearer $TEA_TOK"
expect 200 "a brand's referrals"
[ "$(jq -r '[.referrals[] | .status + ":" + .brand] | unique | join(" ")' "$T/body")" = \
	"flagged:Packcode Tea rewarded:Packcode Tea" ] && [ "$(jq '.referrals | length' "$T/body")" = 5 ] ||
	fail "brand-limited: $(cat "$T/body")"
req_from 127.0.0.1 GET "/api/v1/admin/referrals?flagged=maybe" -H "Authorization: Bearer $READ_TOK"
expect 400 "a bad query"
req_from 127.0.0.1 GET "/api/v1/admin/referrals?limit=2" -H "Authorization: Bearer $READ_TOK"
[ "$(jq '.referrals | length' "$T/body")" = 2 ] || fail "limit: $(cat "$T/body")"
req_from 127.0.0.1 GET "/api/v1/admin/referrals"
expect 401 "the list without a token"
ok "staff list the flagged referrals with masked identities; a brand's identity sees its brand's (a farm's claim of its pack)"

# ---- every balance is its ledger's sum ----
[ "$(sql "SELECT count(*) FROM members m WHERE m.balance <> (SELECT coalesce(sum(delta), 0) FROM ledger l
          WHERE l.member = m.member)")" = 0 ] || fail "a balance is not its ledger's sum"
[ "$(sql "SELECT count(*) FROM ledger l WHERE l.balance_after <> (SELECT sum(delta) FROM ledger k
          WHERE k.member = l.member AND k.id <= l.id)")" = 0 ] || fail "balance_after"
req_from 127.0.0.2 GET /api/v1/members/me/referral -b "$(J A)"
[ "$(field .referred.rewarded) $(field .referred.flagged)" = "4 4" ] || fail "A's counts: $(cat "$T/body")"
EARNED=$(sql "SELECT sum(delta) FROM ledger WHERE member = '$M_A' AND kind = 'referral'")
[ "$(field .earned)" = "$EARNED" ] || fail "A's earned: $(cat "$T/body") (the ledger: $EARNED)"
# A's page (/me) shows the same link and what it earned, in the member's language
req_from 127.0.0.2 GET /me -b "$(J A)" -H 'Accept: text/html' -H 'Accept-Language: zh-TW'
expect 200 "A's page"
grep -q "id=\"share-link\" readonly aria-label=\"邀請好友\" value=\"https://127.0.0.1:$PORT/r/$CODE\"" "$T/body" &&
	grep -q "<dd id=\"share-friends\">4</dd>" "$T/body" && grep -q "<dd id=\"share-earned\">$EARNED</dd>" "$T/body" ||
	fail "A's page has not the share card: $(grep -o '<section class="card" id="share">.*</section>' "$T/body")"
case $(grep -i '^content-security-policy:' "$T/h") in *"script-src 'sha256-"*) ;; *) fail "/me's CSP: no script hash" ;; esac
ok "balances equal the ledger's sums; the referrer sees their counts and earnings, on /me too (its share link)"

# ---- a referral pending for 30 days lapses ----
sql "INSERT INTO referrals (referee, referrer, code, status, via, recorded_at)
     VALUES ('m-old', '$M_A', '$CODE', 'pending', 'explicit', now() - interval '31 days')" >/dev/null
wait_until 5 "the old referral to lapse" status_is m-old lapsed
[ "$(sql "SELECT count(*) FROM audit WHERE action = 'referral.lapse'")" = 1 ] || fail "lapse audit"
ok "a referral pending for 30 days lapses (audited)"

# ---- a merge moves the referrals ----
# P (its code pppppppppp) referred R1 and was referred by X (first); Q (its
# code qqqqqqqqqq) was referred by Y (later). P merged into Q.
MERGE_TOK=$(pcgen token add --name ref-merger --scopes admin 2>/dev/null) || fail "token add admin"
sql "INSERT INTO members (member, balance) VALUES ('m-p', 0), ('m-q', 0), ('m-x', 0), ('m-y', 0),
       ('m-r1', 0), ('m-u', 0), ('m-v', 0);
     SELECT referral_code(m, c, NULL, NULL) FROM (VALUES ('m-p', 'pppppppppp'), ('m-q', 'qqqqqqqqqq'),
       ('m-x', 'xxxxxxxxxx'), ('m-y', 'yyyyyyyyyy'), ('m-u', 'uuuuuuuuuu')) v(m, c);
     SELECT outcome FROM referral_record('m-r1', 'pppppppppp', 'explicit', NULL, NULL, NULL);
     SELECT outcome FROM referral_record('m-p', 'xxxxxxxxxx', 'explicit', NULL, NULL, NULL);
     SELECT pg_sleep(0.01);
     SELECT outcome FROM referral_record('m-q', 'yyyyyyyyyy', 'explicit', NULL, NULL, NULL);
     SELECT outcome FROM referral_record('m-v', 'uuuuuuuuuu', 'explicit', NULL, NULL, NULL)" >/dev/null
[ "$(sql "SELECT string_agg(referee || ':' || status, ' ' ORDER BY referee) FROM referrals
          WHERE referee IN ('m-r1', 'm-p', 'm-q', 'm-v')")" = "m-p:pending m-q:pending m-r1:pending m-v:pending" ] ||
	fail "the referrals before the merge: $(sql "SELECT referee, status, flag FROM referrals")"
P_ID=$(sql "SELECT id FROM referrals WHERE referee = 'm-p'")
Q_ID=$(sql "SELECT id FROM referrals WHERE referee = 'm-q'")
merge() { # merge INTO FROM
	STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' -X POST \
		-H "Authorization: Bearer $MERGE_TOK" -H 'Content-Type: application/json' \
		--data-binary "{\"from\":\"$2\"}" "$BASE/api/v1/admin/members/$1/merge")
}
merge m-q m-p
expect 200 "P merged into Q"
[ "$(field .outcome)" = merged ] || fail "merge: $(cat "$T/body")"
[ "$(sql "SELECT member || '/' || coalesce(merged_from, '-') FROM referral_codes WHERE code = 'pppppppppp'")" = m-q/m-p ] ||
	fail "P's code: $(sql "SELECT * FROM referral_codes WHERE code = 'pppppppppp'")"
[ "$(sql "SELECT referral_code('m-q', 'zzzzzzzzzz', NULL, NULL)")" = qqqqqqqqqq ] || fail "Q's own code changed"
[ "$(sql "SELECT referrer FROM referrals WHERE referee = 'm-r1'")" = m-q ] || fail "R1's referrer"
[ "$(sql "SELECT count(*) FROM referrals WHERE referee = 'm-p' OR referrer = 'm-p'")" = 0 ] ||
	fail "P still has referrals"
[ "$(sql "SELECT id || ' ' || referrer || ' ' || status FROM referrals WHERE referee = 'm-q'")" = "$P_ID m-x pending" ] ||
	fail "Q's referral is not P's earlier one: $(sql "SELECT * FROM referrals WHERE referee = 'm-q'")"
[ "$(sql "SELECT id || ' ' || referee || ' ' || merged_into || ' ' || referrer FROM referral_merges")" = "$Q_ID m-q m-q m-y" ] ||
	fail "Q's later referral not set aside: $(sql "SELECT * FROM referral_merges")"
[ "$(sql "SELECT count(*) FROM audit WHERE action = 'referral.merge' AND target = 'm-q'
          AND detail->>'from' = 'm-p' AND detail->>'referred_by' = 'from'")" = 1 ] || fail "referral.merge audit"
# a link shared by P before the merge now refers friends to Q; Q cannot be referred again
[ "$(sql "SELECT outcome || ' ' || referrer FROM referral_record('m-r2', 'pppppppppp', 'explicit', NULL, NULL, NULL)")" = "pending m-q" ] ||
	fail "P's old link"
[ "$(sql "SELECT outcome FROM referral_record('m-q', 'uuuuuuuuuu', 'explicit', NULL, NULL, NULL)")" = already ] ||
	fail "Q referred twice"
# U referred V (pending); U merged into V: nobody rewarded for referring themselves
merge m-v m-u
expect 200 "U merged into V"
[ "$(sql "SELECT referrer || ' ' || status || ' ' || flag FROM referrals WHERE referee = 'm-v'")" = "m-v flagged same_member" ] ||
	fail "V's referral by U: $(sql "SELECT * FROM referrals WHERE referee = 'm-v'")"
[ "$(sql "SELECT member || '/' || coalesce(merged_from, '-') FROM referral_codes WHERE code = 'uuuuuuuuuu'")" = m-v/- ] ||
	fail "U's code is not V's own (V had none)"
[ "$(sql "SELECT s.outcome FROM referral_settle('m-v', NULL) s")" = flagged ] || fail "V's referral settles"
# W referred first (pending), Z later but rewarded: the rewarded one is kept, never a second reward
sql "INSERT INTO members (member, balance) VALUES ('m-w', 0), ('m-z', 0);
     SELECT outcome FROM referral_record('m-w', 'xxxxxxxxxx', 'explicit', NULL, NULL, NULL);
     SELECT pg_sleep(0.01);
     SELECT outcome FROM referral_record('m-z', 'yyyyyyyyyy', 'explicit', NULL, NULL, NULL);
     UPDATE referrals SET status = 'rewarded', rewarded_at = now() WHERE referee = 'm-z'" >/dev/null
Z_ID=$(sql "SELECT id FROM referrals WHERE referee = 'm-z'")
merge m-z m-w
expect 200 "W merged into Z"
[ "$(sql "SELECT id || ' ' || status FROM referrals WHERE referee = 'm-z'")" = "$Z_ID rewarded" ] ||
	fail "Z's rewarded referral not kept: $(sql "SELECT * FROM referrals WHERE referee = 'm-z'")"
[ "$(sql "SELECT referee || ' ' || status FROM referral_merges WHERE merged_into = 'm-z'")" = "m-w pending" ] ||
	fail "W's referral not set aside"
ok "a merge moves the share codes and referrals to the member kept: one referee, ever (the rewarded, else the earlier, kept); a referral of oneself flagged"
