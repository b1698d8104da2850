#!/bin/bash
# test_server_oauth.sh: members signing in through OpenID Connect and WeChat,
# against a provider on 127.0.0.1 speaking both protocols
# (oauth_provider.py: discovery, authorize, token with PKCE, JWKS; WeChat's
# authorize and /sns/oauth2/access_token), through the real server and its
# outbound client. A browser is played by curl with a cookie jar, following
# the redirects by hand: a good sign-in ends in a member session; a wrong or
# missing state cookie, an unknown or used state, a replayed code, a bad
# signature, another audience, an expired token are refused with nothing
# signed in; a key rotation (unknown kid) refetches the JWKS once; a WeChat
# browser on the landing page is signed in silently; a signed-in member
# links a second identity, and a WeChat member adds a phone by its texted
# code (another member's phone: 409); an admin merges two members, balances adding up.
PC_TIMEOUT=120
. "$(dirname "$0")/harness.sh"
. "$(dirname "$0")/server_lib.sh"

python3 -c 'import cryptography' 2>/dev/null || skip "no python3-cryptography"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
IT=$abs_top_srcdir/tests/integration

PROVIDER_PID=
op_exit() {
	local rc=$?
	set +e
	[ -z "$PROVIDER_PID" ] || { kill -KILL "$PROVIDER_PID" 2>/dev/null; wait "$PROVIDER_PID" 2>/dev/null; }
	(exit "$rc")
	server_exit
}
trap op_exit EXIT

python3 "$IT/oauth_provider.py" "$T/op.port" --lifetime 110 2>"$T/op.err" &
PROVIDER_PID=$!
wait_until 10 "the provider to listen" test -s "$T/op.port"
OP="http://127.0.0.1:$(cat "$T/op.port")"

setup
mint 4
export PACKCODE_OIDC_CLIENT_SECRET=s3cret PACKCODE_WECHAT_SECRET=wxsecret
OPTS=(--oidc-issuer "$OP" --oidc-client-id packcode --oidc-redirect "http://127.0.0.1:1/auth/oidc/callback"
	--wechat-appid wx0123456789 --wechat-redirect "http://127.0.0.1:1/auth/wechat/callback" \
	--wechat-authorize-url "$OP/connect/oauth2/authorize" --wechat-token-url "$OP/sns/oauth2/access_token"
	--oauth-timeout 5 --sms-command "printf '%s %s\\n' \"\$PACKCODE_SMS_TO\" \"\$PACKCODE_SMS_TEXT\" >>$T/sms.log")
server_start "${OPTS[@]}"
# the redirect URIs name port 1: the browser here takes their path and query to $BASE

control() { curl -s --max-time 5 -o /dev/null -X POST -H 'Content-Type: application/json' --data-binary "$1" "$OP/control"; }
stat() { curl -s --max-time 5 "$OP/stats" | jq -r ".$1"; }
loc() { tr -d '\r' <"$1" | sed -n 's/^Location: //Ip' | tail -n 1; }
# on_server URL: the path and query of a redirect URI naming port 1, on $BASE
on_server() { printf '%s%s' "$BASE" "${1#http://127.0.0.1:1}"; }

# begin PROVIDER JAR [QUERY] [CURL-ARGS...]: GET /auth/PROVIDER?QUERY with the jar; then the
# provider's authorize page; CALLBACK is the URL it sends the browser back to.
begin() {
	local prov=$1 jar=$2 q=${3:-}
	shift 3 2>/dev/null || shift $#
	STATUS=$(curl -s --max-time 10 -c "$jar" -b "$jar" -D "$T/h1" -o "$T/body" -w '%{http_code}' "$@" \
		"$BASE/auth/$prov${q:+?$q}")
	[ "$STATUS" = 302 ] || fail "GET /auth/$prov: $STATUS $(cat "$T/body")"
	AUTHZ=$(loc "$T/h1")
	curl -s --max-time 10 -D "$T/h2" -o /dev/null "${AUTHZ%%#*}"
	CALLBACK=$(loc "$T/h2")
	[ -n "$CALLBACK" ] || fail "the provider did not send the browser back: $(cat "$T/h2")"
}
# back JAR [URL]: the browser comes back (CALLBACK by default); STATUS, $T/h3, $T/body.
back() {
	STATUS=$(curl -s --max-time 10 -c "$1" -b "$1" -D "$T/h3" -o "$T/body" -w '%{http_code}' \
		"$(on_server "${2:-$CALLBACK}")")
}
err_is() { [ "$(jq -r .error "$T/body")" = "$1" ] || fail "expected error $1, got $STATUS $(cat "$T/body")"; }

# ---- the redirect to the provider carries what OIDC and PKCE need ----
begin oidc "$T/jar1" "return=/c/$(code 1 "$CODES")"
case $AUTHZ in "$OP/authorize?"*) ;; *) fail "not sent to the provider: $AUTHZ" ;; esac
for p in response_type=code client_id=packcode scope=openid code_challenge_method=S256 state= nonce= code_challenge=; do
	case $AUTHZ in *"$p"*) ;; *) fail "the authorize URL lacks $p: $AUTHZ" ;; esac
done
grep -qi '^Set-Cookie: pc_oauth=[0-9a-f]\{64\}; Path=/auth/; Max-Age=600; HttpOnly; SameSite=Lax' "$T/h1" ||
	fail "no state cookie: $(cat "$T/h1")"
ok "GET /auth/oidc: to the provider with state, nonce and an S256 challenge; the state in a cookie"
sql_is 1 "SELECT count(*) FROM oauth_states WHERE provider = 'oidc'"
[ "$(sql "SELECT count(*) FROM oauth_states WHERE return_to = '/c/$(code 1 "$CODES")' AND expires_at > now() + interval '9 minutes'")" = 1 ] ||
	fail "the state row is not as expected"
ok "the flow's secrets wait server-side, by the state's hash, ten minutes"

# ---- refusals before the provider is asked: no cookie, another browser's state ----
back "$T/nojar"
[ "$STATUS" = 400 ] && err_is bad_state
begin oidc "$T/jar2" ""
OTHER=$CALLBACK
back "$T/jar1" "$OTHER" # jar1's cookie holds another state
[ "$STATUS" = 400 ] && err_is bad_state
ok "a callback without the browser's state cookie, or with another flow's state: 400 bad_state"

# signin PROVIDER JAR [QUERY] [CURL-ARGS...]: a whole flow; STATUS, $T/h3, $T/body of the return.
signin() {
	begin "$@"
	back "$2"
}
refused() { # refused ERROR WHAT: the last flow was refused so, and nobody was signed in
	[ "$STATUS" = 400 ] || fail "$2: $STATUS $(cat "$T/body")"
	err_is "$1"
	! grep -qi "^Set-Cookie: $SESSION_COOKIE=[^;]" "$T/h3" || fail "$2: a session was given"
}
SESSION_COOKIE=pc_member

# ---- the provider's token refused by its checks ----
control '{"tamper": "signature"}'
signin oidc "$T/jar4" ""
refused sign_in_failed "a bad signature"
control '{"aud": "another-client"}'
signin oidc "$T/jar4" ""
refused sign_in_failed "another audience"
control '{"exp": -120}'
signin oidc "$T/jar4" ""
refused sign_in_failed "an expired token"
control '{"iss": "http://evil.example"}'
signin oidc "$T/jar4" ""
refused sign_in_failed "another issuer"
control '{"nonce": "not-the-one-we-sent"}'
signin oidc "$T/jar4" ""
refused sign_in_failed "another nonce"
control '{"alg": "ES256", "tamper": "signature"}'
signin oidc "$T/jar4" ""
refused sign_in_failed "a bad ES256 signature"
grep -q 'event=oidc_token_rejected reason="the JWS signature does not verify"' "$T/server.log" ||
	fail "the rejection is not logged with its reason"
for c in audience expired issuer nonce; do
	grep -q "event=oidc_token_rejected .*claim=$c" "$T/server.log" || fail "no rejection for claim $c"
done
ok "bad RS256 and ES256 signatures, another audience, issuer or nonce, an expired token: 400, no session"
control '{}'

# ---- a code or a state used twice ----
begin oidc "$T/jar5" ""
FIRST=$CALLBACK
back "$T/jar5"
FIRST_STATUS=$STATUS
[ "$FIRST_STATUS" = 302 ] || fail "the first return: $FIRST_STATUS $(cat "$T/body")"
back "$T/jar5" "$FIRST"
refused bad_state "the same return twice"
# even with the state's cookie: the row was taken
FIRST_STATE=$(printf '%s' "$FIRST" | sed -n 's/.*[?&]state=\([^&]*\).*/\1/p')
STATUS=$(curl -s --max-time 10 -D "$T/h3" -o "$T/body" -w '%{http_code}' -H "Cookie: pc_oauth=$FIRST_STATE" "$(on_server "$FIRST")")
refused bad_state "the same return twice, cookie and all"
begin oidc "$T/jar5" ""
# the second flow's state, with the first flow's (used) code
OLD_CODE=$(printf '%s' "$FIRST" | sed -n 's/.*[?&]code=\([^&]*\).*/\1/p')
REPLAY=$(printf '%s' "$CALLBACK" | sed "s/\([?&]code=\)[^&]*/\1$OLD_CODE/")
back "$T/jar5" "$REPLAY"
refused sign_in_failed "a replayed code"
back "$T/jar5" "$CALLBACK"
refused bad_state "a state whose flow failed"
ok "a return used twice is bad_state; a used code under a fresh state is refused by the provider"

# ---- a good sign-in: a member session, back where the member was ----
signed_in() { # signed_in WHAT RETURN: the last flow signed the browser in and went back to RETURN
	[ "$STATUS" = 302 ] || fail "$1: $STATUS $(cat "$T/body")"
	[ "$(loc "$T/h3")" = "$2" ] || fail "$1: back to $(loc "$T/h3"), not $2"
	grep -qi "^Set-Cookie: $SESSION_COOKIE=pcm_[^;]*; Path=/; .*HttpOnly; SameSite=Lax" "$T/h3" ||
		fail "$1: no member session: $(cat "$T/h3")"
}
me() { # me JAR: the member signed in with JAR's cookies
	curl -s --max-time 10 -b "$1" "$BASE/api/v1/members/me" | jq -r .member
}
C1=$(code 1 "$CODES")
signin oidc "$T/alice" "return=/c/$C1&consent=1"
signed_in "an OIDC sign-in (RS256)" "/c/$C1"
ALICE=$(me "$T/alice")
case $ALICE in m-*) ;; *) fail "not signed in as a new member: $ALICE" ;; esac
sql_is 1 "SELECT count(*) FROM member_consents WHERE member = '$ALICE'"
sql_is 1 "SELECT count(*) FROM member_identities WHERE kind = 'oidc' AND member = '$ALICE'"
control '{"alg": "ES256"}'
signin oidc "$T/alice2" ""
signed_in "an OIDC sign-in (ES256)" "/"
[ "$(me "$T/alice2")" = "$ALICE" ] || fail "the same subject is another member"
sql_is 1 "SELECT count(*) FROM member_identities WHERE kind = 'oidc'"
ok "OIDC sign-in (RS256, ES256): a member session (pc_member), back to the page, consent recorded; one subject, one member"
# the two flows begun at the top and never finished are left; every other one was taken
[ "$(sql "SELECT count(*) FROM oauth_states")" = 2 ] || fail "states left behind: $(sql 'SELECT provider, return_to FROM oauth_states')"

# ---- key rotation: an unknown kid refetches the JWKS (bounded) ----
control '{"rotate": true, "stale_once": true}'
J0=$(stat jwks)
signin oidc "$T/rot" ""
refused sign_in_failed "a kid the (stale) JWKS does not hold"
grep -q 'event=oidc_token_rejected reason="no key of the JWKS has the token.s kid" kid=rsa-2' "$T/server.log" ||
	fail "no unknown-kid rejection logged"
rotated() { signin oidc "$T/rot" ""; [ "$STATUS" = 302 ] || { echo "$STATUS $(cat "$T/body")"; return 1; }; }
wait_until 10 "the rotated key to be fetched and to verify" rotated
signed_in "a sign-in with the rotated key" "/"
J1=$(stat jwks)
[ $((J1 - J0)) -ge 1 ] && [ $((J1 - J0)) -le 3 ] || fail "JWKS fetched $((J1 - J0)) times for one rotation"
ok "a rotated key: the unknown kid refetched the JWKS (at most once a second: $((J1 - J0)) fetches), then verified"
control '{}'

# ---- WeChat: inside WeChat, the landing page signs the member in silently ----
WX_UA='Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN'
control '{"openid": "oWX-0001", "unionid": "uWX-0001"}'
C2=$(code 2 "$CODES")
STATUS=$(curl -s --max-time 10 -c "$T/wx" -b "$T/wx" -A "$WX_UA" -D "$T/h0" -o /dev/null -w '%{http_code}' "$BASE/c/$C2")
[ "$STATUS" = 302 ] && [ "$(loc "$T/h0")" = "/auth/wechat?return=%2Fc%2F$C2" ] ||
	fail "a WeChat browser was not sent to sign in: $STATUS $(loc "$T/h0")"
begin wechat "$T/wx" "return=%2Fc%2F$C2" -A "$WX_UA"
case $AUTHZ in "$OP/connect/oauth2/authorize?appid=wx0123456789&"*"scope=snsapi_base"*"#wechat_redirect") ;;
*) fail "not WeChat's authorize URL: $AUTHZ" ;; esac
back "$T/wx"
signed_in "a WeChat sign-in" "/c/$C2"
WX=$(me "$T/wx")
sql_is 1 "SELECT count(*) FROM member_identities WHERE kind = 'wechat' AND member = '$WX'"
page "/c/$C2" -b "$T/wx" -A "$WX_UA"
[ "$STATUS" = 200 ] || fail "a signed-in WeChat browser: $STATUS"
page "/c/$C2" -A 'Mozilla/5.0 (iPhone) Safari/604.1'
[ "$STATUS" = 200 ] || fail "another browser: $STATUS"
ok "a WeChat browser: landing -> WeChat (snsapi_base) -> signed in -> the landing page; other browsers not redirected"
# a failed attempt does not loop: the pc_wx cookie stops the redirect for a while
control '{"openid": "oWX-0002"}'
begin wechat "$T/wx2" "return=%2Fc%2F$C2" -A "$WX_UA"
curl -s --max-time 5 -o /dev/null "$OP/sns/oauth2/access_token?appid=wx0123456789&secret=wxsecret&code=$(printf '%s' "$CALLBACK" | sed -n 's/.*code=\([^&]*\).*/\1/p')&grant_type=authorization_code"
back "$T/wx2"
refused sign_in_failed "a WeChat code used before"
page "/c/$C2" -b "$T/wx2" -A "$WX_UA"
[ "$STATUS" = 200 ] || fail "a WeChat browser whose sign-in failed is redirected again: $STATUS"
ok "a WeChat code used twice is refused (errcode 40029), and the page is then shown without another redirect"

# ---- a signed-in member adds an identity by proving it ----
PHONE=+8613900000007
STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' -H 'Content-Type: application/json' \
	--data-binary "{\"phone\": \"$PHONE\"}" "$BASE/api/v1/auth/sms")
[ "$STATUS" = 202 ] || fail "POST /api/v1/auth/sms: $STATUS $(cat "$T/body")"
wait_until 10 "the text to be sent" grep -q "^$PHONE " "$T/sms.log"
OTP=$(grep "^$PHONE " "$T/sms.log" | tail -n 1 | cut -d' ' -f2- | grep -o '\b[0-9]\{6\}\b' | head -n 1)
STATUS=$(curl -s --max-time 10 -c "$T/sms" -o "$T/body" -w '%{http_code}' -H 'Content-Type: application/json' \
	--data-binary "{\"phone\": \"$PHONE\", \"code\": \"$OTP\"}" "$BASE/api/v1/auth/sms/verify")
[ "$STATUS" = 200 ] || fail "SMS verify: $STATUS $(cat "$T/body")"
SMS_MEMBER=$(me "$T/sms")
control '{"sub": "carol"}'
signin oidc "$T/sms" "link=1&return=/mine"
[ "$STATUS" = 302 ] && [ "$(loc "$T/h3")" = /mine ] || fail "linking OIDC: $STATUS $(cat "$T/body")"
[ "$(me "$T/sms")" = "$SMS_MEMBER" ] || fail "linking changed who is signed in"
sql_is "oidc phone" "SELECT string_agg(kind, ' ' ORDER BY kind) FROM member_identities WHERE member = '$SMS_MEMBER'"
control '{"openid": "oWX-0003"}'
signin wechat "$T/sms" "link=1"
[ "$STATUS" = 302 ] || fail "linking WeChat: $STATUS $(cat "$T/body")"
sql_is "oidc phone wechat" "SELECT string_agg(kind, ' ' ORDER BY kind) FROM member_identities WHERE member = '$SMS_MEMBER'"
sql_is 2 "SELECT count(*) FROM audit WHERE action = 'member.identity_add' AND target = '$SMS_MEMBER'"
# carol's OIDC identity now signs in as the SMS member
control '{"sub": "carol"}'
signin oidc "$T/carol" ""
signed_in "carol's linked identity" "/"
[ "$(me "$T/carol")" = "$SMS_MEMBER" ] || fail "the linked identity signs in as another member"
ok "signed in by SMS, a member links OIDC and WeChat (audited); the linked identity then signs in as them"
# alice's identity is another member's: refused, nothing changes
control '{"sub": "alice"}'
signin oidc "$T/sms" "link=1"
[ "$STATUS" = 409 ] && err_is identity_taken
sql_is 3 "SELECT count(*) FROM member_identities WHERE member = '$SMS_MEMBER'"
STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' "$BASE/auth/oidc?link=1")
[ "$STATUS" = 401 ] || fail "linking without a session: $STATUS"
ok "an identity of another member cannot be linked (409 identity_taken); linking needs a session (401)"

texts_more_than() { [ "$(grep -c "^$1 " "$T/sms.log")" -gt "$2" ]; }
# text_code PHONE: a code sent to PHONE (its cool-down passed first); prints it
text_code() {
	sql "UPDATE sms_challenges SET sent_at = now() - interval '1 hour'" >/dev/null # a constant: Citus takes no stable function of a column in an UPDATE
	local n
	n=$(grep -c "^$1 " "$T/sms.log")
	STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' -H 'Content-Type: application/json' \
		--data-binary "{\"phone\": \"$1\"}" "$BASE/api/v1/auth/sms")
	[ "$STATUS" = 202 ] || fail "POST /api/v1/auth/sms $1: $STATUS $(cat "$T/body")"
	# (a function: wait_until runs it again each time; "$(grep -c ...)" as
	# its argument was counted once, before the wait, and a text the sender
	# wrote a moment later was never seen: on Citus, where sending takes a
	# little longer, the first text "never arrived")
	wait_until 10 "the text to $1" texts_more_than "$1" "$n"
	grep "^$1 " "$T/sms.log" | tail -n 1 | cut -d' ' -f2- | grep -o '\b[0-9]\{6\}\b' | head -n 1
}
# verify JAR PHONE CODE [CSRF]: POST /api/v1/auth/sms/verify with JAR's cookies
verify() {
	STATUS=$(curl -s --max-time 10 -b "$1" -o "$T/body" -w '%{http_code}' -H 'Content-Type: application/json' \
		${4:+-H "X-CSRF-Token: $4"} --data-binary "{\"phone\": \"$2\", \"code\": \"$3\"}" \
		"$BASE/api/v1/auth/sms/verify")
}
# ---- a member signed in by WeChat adds a phone by proving it ----
WXCSRF=$(curl -s --max-time 10 -b "$T/wx" "$BASE/me" | grep -o 'name="csrf" value="[^"]*"' | head -n 1 |
	sed 's/.*value="//; s/"$//')
[ -n "$WXCSRF" ] || fail "no CSRF token on the WeChat member's page"
OTP=$(text_code +8613900000008)
verify "$T/wx" +8613900000008 "$OTP"
[ "$STATUS" = 403 ] && err_is csrf
sql_is 0 "SELECT tries FROM sms_challenges WHERE used_at IS NULL AND sent_at > now() - interval '1 minute'"
verify "$T/wx" "139 0000 0008" "$OTP" "$WXCSRF"
[ "$STATUS" = 200 ] && [ "$(jq -c . "$T/body")" = "{\"member\":\"$WX\",\"phone\":\"+86 139****0008\",\"linked\":true}" ] ||
	fail "adding a phone: $STATUS $(cat "$T/body")"
[ "$(me "$T/wx")" = "$WX" ] || fail "adding a phone changed who is signed in"
sql_is "phone wechat" "SELECT string_agg(kind, ' ' ORDER BY kind) FROM member_identities WHERE member = '$WX'"
sql_is 1 "SELECT count(*) FROM audit WHERE action = 'member.identity_add' AND target = '$WX'"
verify "$T/wx" +8613900000008 "$OTP" "$WXCSRF"
[ "$STATUS" = 401 ] && err_is code_wrong
# the phone now signs in as the WeChat member
OTP=$(text_code +8613900000008)
verify /dev/null +8613900000008 "$OTP"
[ "$STATUS" = 200 ] && [ "$(jq -r .member "$T/body")" = "$WX" ] || fail "the added phone signs in as: $(cat "$T/body")"
ok "a member signed in by WeChat adds a phone by its texted code (CSRF token needed, audited); the phone then signs in as them"
# the SMS member's phone: 409, nothing changes, the code stays good for its owner
OTP=$(text_code $PHONE)
verify "$T/wx" $PHONE "$OTP" "$WXCSRF"
[ "$STATUS" = 409 ] && err_is identity_taken
sql_is "phone wechat" "SELECT string_agg(kind, ' ' ORDER BY kind) FROM member_identities WHERE member = '$WX'"
sql_is 3 "SELECT count(*) FROM member_identities WHERE member = '$SMS_MEMBER'"
[ "$(me "$T/wx")" = "$WX" ] || fail "a refused link changed who is signed in"
verify /dev/null $PHONE "$OTP"
[ "$STATUS" = 200 ] && [ "$(jq -r .member "$T/body")" = "$SMS_MEMBER" ] || fail "the owner's code after a refused link: $(cat "$T/body")"
ok "another member's phone cannot be added (409 identity_taken): nothing changes, the code still signs its owner in"

# ---- an admin merges two members: one balance, points neither lost nor doubled ----
ADMIN=$(pcgen token add --name merger --scopes admin 2>/dev/null) || fail "token add"
POINTS=$(pcgen token add --name pointer --scopes points 2>/dev/null) || fail "token add"
TEA=$(pcgen token add --name tea-admin --scopes admin --brands "Packcode Tea" 2>/dev/null) || fail "token add"
adm() { # adm TOKEN PATH BODY
	STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $1" \
		-H 'Content-Type: application/json' --data-binary "$3" "$BASE$2")
}
# each claims a pack on its landing page, as the signed-in member (the form's CSRF token)
claim_as() { # claim_as JAR CODE
	local csrf
	page "/c/$2" -b "$1"
	csrf=$(grep -o 'name="csrf" value="[^"]*"' "$T/page" | head -n 1 | sed 's/.*value="//; s/"$//')
	[ -n "$csrf" ] || fail "no claim form for $2: $(head -c 300 "$T/page")"
	STATUS=$(curl -s --max-time 10 -b "$1" -o "$T/page" -w '%{http_code}' -H 'Accept: application/json' \
		--data-urlencode "csrf=$csrf" "$BASE/c/$2/claim")
	[ "$STATUS" = 200 ] && grep -q '"awarded"' "$T/page" || fail "claim $2: $STATUS $(head -c 300 "$T/page")"
}
claim_as "$T/alice" "$(code 3 "$CODES")"
claim_as "$T/sms" "$(code 4 "$CODES")"
sql_is 10 "SELECT balance FROM members WHERE member = '$SMS_MEMBER'"
# (subqueries in FROM, not in the target list: Citus plans these)
TOTAL="SELECT b.s || ' ' || l.s FROM (SELECT sum(balance) s FROM members) b, (SELECT sum(delta) s FROM ledger) l"
BEFORE=$(sql "$TOTAL")
adm "$POINTS" "/api/v1/admin/members/$ALICE/merge" "{\"from\": \"$SMS_MEMBER\"}"
[ "$STATUS" = 403 ] || fail "a merge with the points scope only: $STATUS"
adm "$TEA" "/api/v1/admin/members/$ALICE/merge" "{\"from\": \"$SMS_MEMBER\"}"
[ "$STATUS" = 403 ] && err_is forbidden
adm "$ADMIN" "/api/v1/admin/members/$ALICE/merge" '{"from": "m-nobody"}'
[ "$STATUS" = 404 ] && err_is unknown_member
adm "$ADMIN" "/api/v1/admin/members/$ALICE/merge" '{"from": "139 0000 0000 0000"}'
[ "$STATUS" = 400 ] && err_is bad_member
adm "$ADMIN" "/api/v1/admin/members/$ALICE/merge" "{\"from\": \"$ALICE\"}"
[ "$STATUS" = 400 ] || fail "a merge into itself: $STATUS"
adm "$ADMIN" "/api/v1/admin/members/$ALICE/merge" '{"from": 5}'
[ "$STATUS" = 400 ] || fail "a bad body: $STATUS"
[ "$(sql "$TOTAL")" = "$BEFORE" ] || fail "a refused merge changed the totals"
# the member to merge named by its phone, as typed: the member of that identity
adm "$ADMIN" "/api/v1/admin/members/$ALICE/merge" '{"from": "139 0000 0007"}'
[ "$STATUS" = 200 ] || fail "merge: $STATUS $(cat "$T/body")"
[ "$(jq -r .from "$T/body")" = "$SMS_MEMBER" ] || fail "merged another member: $(cat "$T/body")"
[ "$(jq -c '[.outcome, .points, .balance, .identities]' "$T/body")" = '["merged",10,20,3]' ] ||
	fail "merge reply: $(cat "$T/body")"
[ "$(sql "$TOTAL")" = "$BEFORE" ] || fail "the totals changed: $BEFORE, now $(sql "$TOTAL")"
sql_is 20 "SELECT balance FROM members WHERE member = '$ALICE'"
sql_is 0 "SELECT balance FROM members WHERE member = '$SMS_MEMBER'"
sql_is 0 "SELECT count(*) FROM members m LEFT JOIN (SELECT member, sum(delta) s FROM ledger GROUP BY member) l
	ON l.member = m.member WHERE m.balance <> coalesce(l.s, 0)"
sql_is "-10 10" "SELECT string_agg(delta::text, ' ' ORDER BY delta) FROM ledger WHERE kind = 'merge'"
sql_is 4 "SELECT count(*) FROM member_identities WHERE member = '$ALICE'"
sql_is 1 "SELECT count(*) FROM audit WHERE action = 'member.merge' AND target = '$ALICE' AND detail->>'from' = '$SMS_MEMBER' AND actor = 'merger'"
# a worker trusts a session it checked for 10 s (engine/msession.c): the revocation shows by then
wait_until 15 "the merged member's session to end" http_is 401 /api/v1/members/me -b "$T/sms"
control '{"sub": "carol"}'
signin oidc "$T/carol3" ""
[ "$(me "$T/carol3")" = "$ALICE" ] || fail "the merged member's identity does not sign in as the merged-into member"
ok "merge: the transfer pair (-10, +10), balances 20 and 0, totals equal before and after, identities moved, sessions ended, audited"
adm "$ADMIN" "/api/v1/admin/members/$ALICE/merge" "{\"from\": \"$SMS_MEMBER\"}"
[ "$STATUS" = 409 ] && err_is already_merged
ok "merge refusals: points scope 403, a brand's admin 403, unknown 404, itself 400, a bad body 400, twice 409; none changed a total"

# ---- a provider that does not answer: a timeout is a 503; SIGTERM aborts what is in flight ----
control '{"delay": 7}'
signin oidc "$T/slow" ""
[ "$STATUS" = 503 ] && err_is unavailable
grep -q 'event=oauth_provider_failed provider=oidc' "$T/server.log" || fail "the timeout is not logged"
ok "a token endpoint silent past --oauth-timeout: 503, logged"
server_stop
server_start "${OPTS[@]}" --drain-timeout 1
begin oidc "$T/slow2" ""
T0=$(stat token)
curl -s --max-time 15 -b "$T/slow2" -o /dev/null -w '%{http_code}' "$(on_server "$CALLBACK")" >"$T/slow.status" &
SLOW=$!
token_asked() { [ "$(stat token)" -gt "$T0" ]; }
wait_until 5 "the token request to reach the provider" token_asked
server_stop # the drain gives up after 1 s, the request to the provider is aborted, exit 0
wait "$SLOW" || true
case $(cat "$T/slow.status") in 503 | 000) ;; *) fail "a flow aborted by SIGTERM: $(cat "$T/slow.status")" ;; esac
ok "SIGTERM with a token request in flight: aborted after the drain, the server exits 0"
