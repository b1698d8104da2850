#!/bin/bash
# test_server_malformed.sh: malformed requests get a 4xx with a JSON error
# and change nothing: no redemption, ledger row, member, or scan record.
PC_TIMEOUT=120
. "$(dirname "$0")/harness.sh"
. "$(dirname "$0")/server_lib.sh"

setup
mint 10
C=$(code 1 "$CODES")
server_start

state() {
	sql "SELECT (SELECT count(*) FROM redemptions) || '/' || (SELECT count(*) FROM ledger) || '/' ||
	            (SELECT count(*) FROM members) || '/' || (SELECT count(*) FROM scans) || '/' ||
	            (SELECT count(*) FROM pin_failures)"
}

# json_error STATUS WHAT: the last reply had STATUS and a JSON body with "error".
json_error() {
	expect "$1" "$2"
	jq -e '.error | type == "string"' "$T/body" >/dev/null || fail "$2: no JSON error: $(head -c 200 "$T/body")"
}

BEFORE=$(state)

req POST /api/v1/claims application/json '{"code": "'"$C"'", "member": '
json_error 400 "truncated JSON"
[ "$(field .error)" = bad_json ] || fail "bad_json"
req POST /api/v1/claims application/json '[1, 2, 3]'
json_error 400 "JSON array"
req POST /api/v1/claims application/json '{"code": 5, "member": "alice"}'
json_error 400 "code not a string"
req POST /api/v1/claims application/json '{"code": "'"$C"'"}'
json_error 400 "member missing"
req POST /api/v1/claims application/json '{"code": "'"$C"'", "member": "alice", "member": "bob"}'
json_error 400 "duplicate keys"
req POST /api/v1/claims application/json ''
json_error 400 "empty body"

# a body over 16 KiB, whatever it holds
PAD=$(head -c 17000 /dev/zero | tr '\0' 'x')
req POST /api/v1/claims application/json '{"code": "'"$C"'", "member": "alice", "pad": "'"$PAD"'"}'
json_error 413 "body over 16 KiB"
head -c 200000 /dev/zero | tr '\0' 'x' >"$T/raw"
STATUS=$(curl -s -o "$T/body" -w '%{http_code}' -H 'Content-Type: application/json' \
	-H "Authorization: Bearer $(claims_token)" --data-binary @"$T/raw" "$BASE/api/v1/claims")
json_error 413 "body of 200 KB"
# beyond 256 KiB libevent refuses the body itself, before reading it (see docs/api.md)
head -c 3000000 /dev/zero | tr '\0' 'x' >"$T/raw"
STATUS=$(curl -s -o "$T/body" -w '%{http_code}' -H 'Content-Type: application/json' \
	-H "Authorization: Bearer $(claims_token)" --data-binary @"$T/raw" "$BASE/api/v1/claims")
[ "$STATUS" = 413 ] || fail "body of 3 MB: $STATUS"

req POST /api/v1/claims text/plain '{"code": "'"$C"'", "member": "alice"}'
json_error 415 "wrong content type"
req POST /api/v1/claims application/x-www-form-urlencoded "code=$C&member=alice"
json_error 415 "form to the JSON endpoint"
req POST "/c/$C/claim" application/json '{"member": "alice"}'
json_error 415 "JSON to the form endpoint"

req GET /nowhere
json_error 404 "unknown route"
req GET /api/v1/claims
json_error 405 "GET on claims"
req DELETE "/api/v1/codes/$C"
json_error 405 "DELETE on a code"
req GET "/api/v1/codes/$C/extra"
json_error 404 "path below a code"

LONG=$(head -c 65 /dev/zero | tr '\0' '7')
claim "$LONG" alice
json_error 400 "overlong code in a claim"
req GET "/api/v1/codes/$LONG"
json_error 400 "overlong code in a lookup"
[ "$(field .verdict)" = typo ] || fail "overlong lookup is a typo"
req GET "/api/v1/codes/$(head -c 3000 /dev/zero | tr '\0' 'A')"
[ "$STATUS" -ge 400 ] && [ "$STATUS" -lt 500 ] || fail "3000-character code: $STATUS"

# non-UTF-8 member: raw bytes in the JSON, and an escape that is no character
printf '{"code": "%s", "member": "al\377ice"}' "$C" >"$T/raw"
STATUS=$(curl -s -o "$T/body" -w '%{http_code}' -H 'Content-Type: application/json' \
	-H "Authorization: Bearer $(claims_token)" --data-binary @"$T/raw" "$BASE/api/v1/claims")
json_error 400 "non-UTF-8 member"
req POST /api/v1/claims application/json '{"code": "'"$C"'", "member": "al\ud800ice"}'
json_error 400 "lone surrogate in member"
req POST /api/v1/claims application/json '{"code": "'"$C"'", "member": "al\u0000ice"}'
json_error 400 "NUL in member"
req POST /api/v1/claims application/json '{"code": "'"$C"'", "member": "李雷"}'
json_error 400 "member that is no id"
STATUS=$(curl -s -o "$T/body" -w '%{http_code}' --data-binary 'phone=al%FFice' "$BASE/c/$C/claim")
json_error 400 "non-UTF-8 member in the form"
req GET "/api/v1/members/al%FFice"
json_error 400 "non-UTF-8 member in a path"
req GET "/api/v1/members/al%ZZice"
json_error 400 "bad percent-encoding"

kill -0 "$SERVER_PID" || fail "the server died"
# SIGTERM writes anything buffered (a scan record) before the server exits:
# nothing is still on its way when the database is compared
server_stop
AFTER=$(state)
[ "$BEFORE" = "$AFTER" ] || fail "malformed requests changed something: $BEFORE -> $AFTER"
ok "malformed requests: 4xx with a JSON error, nothing changed ($AFTER)"

# the server is still fine on that database
server_start
claim "$C" alice
expect 200 "a good claim after all that"
server_stop
ok "server healthy afterwards: exit 0 on SIGTERM after them, a good claim served on the same database"
