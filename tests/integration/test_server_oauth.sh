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
# links a second identity; an admin merges two members, balances adding up.
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
server_start --oidc-issuer "$OP" --oidc-client-id packcode --oidc-redirect "http://127.0.0.1:1/auth/oidc/callback" \
	--wechat-appid wx0123456789 --wechat-redirect "http://127.0.0.1:1/auth/wechat/callback" \
	--wechat-authorize-url "$OP/connect/oauth2/authorize" --wechat-token-url "$OP/sns/oauth2/access_token" \
	--oauth-timeout 5
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
