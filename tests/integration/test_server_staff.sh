#!/bin/bash
# test_server_staff.sh: staff accounts over real HTTP. Sign-in with a
# password (and a TOTP code, computed here by Python's hmac as RFC 6238
# says), the session cookie's flags (HttpOnly, SameSite=Strict, Secure only
# under TLS), the session used for reads and, with its CSRF token, for
# changes (refused without it), its scopes enforced; wrong passwords,
# unknown names, missing, wrong and replayed TOTP codes refused and audited;
# the lock after 5 failures and its backoff; a session's expiry, sign-out
# and the account disabled all refuse the cookie; nothing secret logged.
PC_TIMEOUT=200
. "$(dirname "$0")/harness.sh"
. "$(dirname "$0")/server_lib.sh"
command -v python3 >/dev/null || skip "no python3"
command -v openssl >/dev/null || skip "no openssl"

PW='correct horse battery'
setup
mint 4
cp "$CODES" "$T/codes"
printf '%s\n' "$PW" | pcgen user add alice --scopes read,operate --password-stdin 2>/dev/null ||
	fail "user add alice"
printf '%s\n' "$PW" | pcgen user add carol --scopes read --password-stdin 2>/dev/null || fail "user add carol"
URI=$(printf '%s\n' "$PW" | pcgen user add bob --scopes all --totp --password-stdin 2>/dev/null) ||
	fail "user add bob"
case $URI in otpauth://totp/packcode:bob\?secret=*) ;; *) fail "user add --totp printed '$URI'" ;; esac
SECRET=$(sed 's/.*secret=\([A-Z2-7]*\).*/\1/' <<<"$URI")
[ "$(sql "SELECT left(password_hash, 31) FROM staff WHERE name = 'alice'")" = '$argon2id$v=19$m=65536,t=2,p=1$' ] ||
	fail "the stored hash is not argon2id"

# totp [OFFSET-STEPS]: bob's code now (RFC 6238, HMAC-SHA1, 6 digits).
totp() {
	python3 -c '
import base64, hashlib, hmac, struct, sys, time
key = base64.b32decode(sys.argv[1] + "=" * (-len(sys.argv[1]) % 8))
step = int(time.time()) // 30 + int(sys.argv[2])
mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
off = mac[-1] & 15
print("%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7fffffff) % 1000000))' "$SECRET" "${1:-0}"
}

server_start --threads 1 --pool 3

# sign_in NAME PASSWORD [TOTP]: POST /session; STATUS, $T/body, headers in $T/h,
# COOKIE (the session cookie's value) and CSRF when signed in.
sign_in() {
	local body
	if [ $# -ge 3 ]; then
		body=$(jq -cn --arg n "$1" --arg p "$2" --arg t "$3" '{name: $n, password: $p, totp: $t}')
	else
		body=$(jq -cn --arg n "$1" --arg p "$2" '{name: $n, password: $p}')
	fi
	STATUS=$(curl -s "${CURL_ARGS[@]}" --max-time 20 -D "$T/h" -o "$T/body" -w '%{http_code}' \
		-H 'Content-Type: application/json' --data-binary "$body" "$BASE/api/v1/admin/session")
	COOKIE=$(hdr Set-Cookie | sed -n 's/^pc_session=\([^;]*\);.*/\1/p')
	CSRF=$(jq -r '.csrf // empty' "$T/body")
}
# with COOKIE METHOD PATH [CSRF [BODY]]: a request carrying the session cookie.
with() {
	local args=(-H "Cookie: theme=dark; pc_session=$1")
	[ -n "${4:-}" ] && args+=(-H "X-CSRF-Token: $4")
	[ -n "${5:-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$5")
	STATUS=$(curl -s "${CURL_ARGS[@]}" --max-time 10 -D "$T/h" -o "$T/body" -w '%{http_code}' -X "$2" \
		"${args[@]}" "$BASE$3")
}
audited() { sql "SELECT count(*) FROM audit WHERE action = '$1' AND target = '$2'"; }

# ---- a password sign-in, the cookie, reads and changes ----
sign_in alice "$PW"
expect 200 "alice signs in"
SETC=$(hdr Set-Cookie)
case $SETC in pc_session=pcs_*"; Path=/; Max-Age="*"; HttpOnly; SameSite=Strict") ;; *) fail "Set-Cookie: $SETC" ;; esac
age=$(sed -n 's/.*Max-Age=\([0-9]*\).*/\1/p' <<<"$SETC")
[ "$age" -gt 28700 ] && [ "$age" -le 28800 ] || fail "the session lasts $age s, not 8 h"
[ "$(field '.scopes | join(",")')" = read,operate ] && [ ${#CSRF} = 43 ] || fail "sign-in reply: $(cat "$T/body")"
[ "$(audited staff.sign_in alice)" = 1 ] || fail "the sign-in was not audited"
A1=$COOKIE
A1CSRF=$CSRF
with "$A1" GET /api/v1/admin/me
expect 200 "/me with the cookie"
[ "$(field .kind) $(field .name) $(field .all_brands) $(field .csrf)" = "staff alice true $A1CSRF" ] ||
	fail "/me: $(cat "$T/body")"
with "$A1" GET /api/v1/admin/batches
expect 200 "a read with the cookie"
ok "password sign-in: an HttpOnly SameSite=Strict cookie for 8 h, reads with it, /me"

with "$A1" POST "/api/v1/admin/batches/$BATCH/recall" "" '{"reason":"no csrf"}'
expect 403 "a change without the CSRF token"
[ "$(field .error)" = csrf ] || fail "no CSRF: $(cat "$T/body")"
BADCSRF=${A1CSRF%?}x
[ "$BADCSRF" != "$A1CSRF" ] || BADCSRF=${A1CSRF%?}y # the token may end in x (1 in 64)
with "$A1" POST "/api/v1/admin/batches/$BATCH/recall" "$BADCSRF" '{"reason":"bad csrf"}'
expect 403 "a change with a wrong CSRF token"
[ "$(sql "SELECT status FROM batches WHERE id = $BATCH")" = active ] || fail "a refused change was made"
with "$A1" POST "/api/v1/admin/batches/$BATCH/recall" "$A1CSRF" '{"reason":"staff recall"}'
expect 200 "a change with the CSRF token"
[ "$(sql "SELECT actor FROM audit WHERE action = 'batch.recall'")" = staff:alice ] || fail "recall's actor"
with "$A1" POST /api/v1/admin/products "$A1CSRF" '{"sku":"X","name":"X","points":1}'
expect 403 "alice has no catalog scope"
[ "$(field .error)" = insufficient_scope ] || fail "scope: $(cat "$T/body")"
# the session cookie sent twice is refused
STATUS=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' -H "Cookie: pc_session=$A1; pc_session=$A1" \
	"$BASE/api/v1/admin/me")
[ "$STATUS" = 401 ] || fail "two session cookies: $STATUS"
ok "changes need the CSRF token (403 csrf without or wrong), the account's scopes hold, actor staff:alice"

# ---- failures ----
sign_in alice 'wrong password!'
expect 401 "a wrong password"
[ "$(field .error)" = sign_in_failed ] && [ -z "$COOKIE" ] || fail "wrong password: $(cat "$T/body")"
sign_in nobody "$PW"
expect 401 "an unknown name"
[ "$(sql "SELECT actor FROM audit WHERE action = 'staff.sign_in_failed' AND target = 'nobody'")" = anonymous ] ||
	fail "the unknown name was not audited"
sign_in 'bad name!' "$PW"
expect 400 "a malformed name"
sign_in bob "$PW"
expect 401 "bob without his TOTP code"
sign_in bob "$PW" 000000
[ "$(totp)" != 000000 ] || sign_in bob "$PW" 111111
expect 401 "bob with a wrong code"
[ "$(sql "SELECT string_agg(detail->>'reason', ',' ORDER BY id) FROM audit WHERE action = 'staff.sign_in_failed' AND target IN ('alice', 'bob')")" = \
	password,totp_missing,totp_wrong ] || fail "failure reasons audited: $(sql "SELECT string_agg(detail->>'reason', ',') FROM audit WHERE action = 'staff.sign_in_failed'")"
CODE=$(totp)
sign_in bob "$PW" "$CODE"
expect 200 "bob with password and TOTP code"
B1=$COOKIE
sign_in bob "$PW" "$CODE"
expect 401 "the same TOTP code again"
[ "$(sql "SELECT detail->>'reason' FROM audit WHERE action = 'staff.sign_in_failed' ORDER BY id DESC LIMIT 1")" = totp_replayed ] ||
	fail "a replayed code was not audited as such"
ok "wrong password, unknown name, missing, wrong and replayed TOTP codes: 401, audited with their reason"

# ---- the lock and its backoff ----
for i in 1 2 3 4; do
	sign_in carol "wrong password $i"
	expect 401 "carol's failure $i"
done
sign_in carol 'wrong password 5'
expect 401 "carol's 5th failure"
[ "$(hdr Retry-After)" -ge 59 ] && [ "$(hdr Retry-After)" -le 60 ] || fail "the lock: Retry-After $(hdr Retry-After)"
sign_in carol "$PW"
expect 429 "carol, locked, with the right password"
[ "$(field .error)" = locked ] && [ -z "$COOKIE" ] || fail "locked: $(cat "$T/body")"
[ "$(audited staff.locked carol)" = 1 ] || fail "the lock was not audited"
grep -q 'event=staff_sign_in outcome=locked name=carol' "$T/server.log" || fail "the locked attempt was not logged"
sql "UPDATE staff SET locked_until = now() - interval '1 second' WHERE name = 'carol'" # a minute passes
sign_in carol 'wrong password 6'
expect 401 "carol's 6th failure"
[ "$(hdr Retry-After)" -ge 119 ] && [ "$(hdr Retry-After)" -le 120 ] || fail "the backoff: Retry-After $(hdr Retry-After)"
sql "UPDATE staff SET locked_until = now() - interval '1 second' WHERE name = 'carol'"
sign_in carol "$PW"
expect 200 "carol once the lock is over"
[ "$(sql "SELECT failures FROM staff WHERE name = 'carol'")" = 0 ] || fail "failures not reset"
ok "5 failures lock for 1 minute (429 even with the right password), the next for 2; a sign-in resets"

# ---- the session ends: expiry, sign-out, the account disabled ----
sql "UPDATE staff_sessions SET expires_at = now() WHERE id = (SELECT max(s.id) FROM staff_sessions s JOIN staff st ON st.id = s.staff_id WHERE st.name = 'carol')"
C1=$COOKIE
wait_until 5 "carol's expired session refused" eval 'with "$C1" GET /api/v1/admin/me; [ "$STATUS" = 401 ]'
with "$A1" DELETE /api/v1/admin/session
expect 403 "sign-out without the CSRF token"
with "$A1" DELETE /api/v1/admin/session "$A1CSRF"
expect 200 "sign-out"
case $(hdr Set-Cookie) in "pc_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict") ;; *) fail "sign-out cookie: $(hdr Set-Cookie)" ;; esac
with "$A1" GET /api/v1/admin/me
expect 401 "the signed-out session, at once"
[ "$(audited staff.sign_out alice)" = 1 ] || fail "the sign-out was not audited"
with "$B1" GET /api/v1/admin/me
expect 200 "bob's session"
pcgen user disable bob >/dev/null || fail "user disable bob"
wait_until 5 "bob's session refused once he is disabled" eval 'with "$B1" GET /api/v1/admin/me; [ "$STATUS" = 401 ]'
sign_in bob "$PW" "$(totp 1)"
expect 401 "a disabled account signs in"
STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' -X DELETE -H "Authorization: Bearer $(pcgen token add --name t 2>/dev/null)" \
	"$BASE/api/v1/admin/session")
[ "$STATUS" = 400 ] || fail "sign-out with a token: $STATUS"
ok "a session expired, signed out (at once) or of a disabled account is refused"

for s in "$PW" "$SECRET" "$A1" "$B1" "$A1CSRF"; do
	! grep -qF -- "$s" "$T/server.log" || fail "a secret reached the log"
	[ "$(sql "SELECT count(*) FROM audit WHERE detail::text LIKE '%' || \$\$$s\$\$ || '%'")" = 0 ] ||
		fail "a secret reached the audit trail"
done
[ "$(metric 'packcode_admin_auth_failures_total{reason="csrf"}')" = 3 ] ||
	fail "csrf refusals: $(metric 'packcode_admin_auth_failures_total{reason="csrf"}')"
ok "no password, TOTP secret, session or CSRF token in the log or the audit trail"
server_stop

# ---- under TLS the cookie is Secure ----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=packcode test" \
	-addext "subjectAltName=IP:127.0.0.1" -keyout "$T/tls.key" -out "$T/tls.crt" 2>/dev/null ||
	fail "openssl req failed"
chmod 600 "$T/tls.key"
SCHEME=https
CURL_ARGS=(--cacert "$T/tls.crt")
server_start --threads 1 --pool 2 --tls-cert "$T/tls.crt" --tls-key "$T/tls.key"
sign_in alice "$PW"
expect 200 "alice over HTTPS"
case $(hdr Set-Cookie) in *"; HttpOnly; SameSite=Strict; Secure") ;; *) fail "HTTPS Set-Cookie: $(hdr Set-Cookie)" ;; esac
server_stop
ok "over HTTPS the cookie is Secure"
