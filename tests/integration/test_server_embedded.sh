#!/bin/bash
# test_server_embedded.sh: with no database configured, packcode-server uses
# the private cluster under ./var/pg, creating, starting and migrating it
# itself, and serves claims from it.
PC_TIMEOUT=240
PC_NO_PG=1
. "$(dirname "$0")/harness.sh"
. "$(dirname "$0")/server_lib.sh"

APP=$T/app
mkdir -m 755 "$APP"
cd "$APP"
unset PACKCODE_DB PACKCODE_HOME
export PACKCODE_KEYRING=$APP/keyring
pcgen keygen >/dev/null || fail "keygen"
[ ! -e var/pg ] || fail "var/pg exists before the server ran"

server_start
[ -d var/pg ] || fail "no cluster under ./var/pg"
grep -q 'event=listening' "$T/server.log" || fail "not listening"
ok "no database configured: the server made ./var/pg, started and migrated it"

# the same cluster serves packcode-gen: a print run, then a claim over HTTP
pcgen product add --sku TEA --name "Green tea" --points 7 >/dev/null || fail "product add"
pcgen mint --product TEA --count 3 --out "$APP/run" --host pack.example -q || fail "mint"
C=$(code 2 "$APP/run/codes.csv" | cut -d, -f1)
# the new batch reaches the server's catalog by NOTIFY, within a second
wait_until 1 "the new batch to be served (lookup 200)" answers 200 GET "/api/v1/codes/$C"
# the claims token, made after the server started, reaches it by NOTIFY too
claims_token >/dev/null
token_known() { member_read nobody; [ "$STATUS" != 401 ]; }
wait_until 2 "the new token to be known (not 401)" token_known
claim "$C" "+8613800138000"
expect 200 "claim on the embedded database"
[ "$(field .points)" = 7 ] || fail "points"
req GET "/api/v1/codes/$C"
expect 200 "lookup"
[ "$(field .claimed)" = true ] || fail "claimed"
server_stop
ok "claims and lookups served from the embedded cluster; SIGTERM exits 0"
