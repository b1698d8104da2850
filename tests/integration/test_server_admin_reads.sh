#!/bin/bash
# test_server_admin_reads.sh: the admin API's reads of the scans against a real
# PostgreSQL over real HTTP: GET /api/v1/admin/codes/suspicious and
# GET /api/v1/admin/stats. Scans come from different loopback addresses
# (curl --interface 127.0.0.N): a code looked up from 4 addresses is listed
# with min_clients=3 and not with 5; a code claimed by one member and then
# tried by another is listed first, with its refused claim, the scans after
# its claim and who claimed it; a code scanned from one address only is not
# listed; the batch filter, the limit, bad parameters (400), no token (401),
# a wrong method (405). The stats count the same scans by kind and outcome,
# a forgery among them, and the print runs, codes, claims and members.
PC_TIMEOUT=120
. "$(dirname "$0")/harness.sh"
. "$(dirname "$0")/server_lib.sh"

setup
mint 10
B1=$BATCH
cp "$CODES" "$T/codes"
mint 5
B2=$BATCH
TOK=$(pcgen token add --name inspector 2>/dev/null) || fail "token add"

server_start --threads 2 --pool 4

# suspicious QUERY: the admin listing into $T/body; sets STATUS.
suspicious() {
	STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' \
		-H "Authorization: Bearer $TOK" "$BASE/api/v1/admin/codes/suspicious$1")
}
from 127.0.0.2 /healthz
[ "$STATUS" = 200 ] || skip "cannot connect from 127.0.0.2 (no loopback /8 here)"

CLONED=$(code 1) # looked up from four addresses
CLAIMED=$(code 2) # claimed by alice, then tried by bob from elsewhere
QUIET=$(code 3)  # scanned three times, all from one address
OTHER=$(code 1 "$CODES") # batch B2: three addresses
for n in 2 3 4 5; do
	from 127.0.0.$n "/api/v1/codes/$CLONED"
	expect 200 "lookup of $CLONED from 127.0.0.$n"
done
for n in 1 1 1; do
	from 127.0.0.$n "/c/$QUIET"
	expect 200 "landing of $QUIET"
done
for n in 6 7 8; do
	from 127.0.0.$n "/api/v1/codes/$OTHER"
	expect 200 "lookup of $OTHER"
done
from 127.0.0.2 /api/v1/claims -H 'Content-Type: application/json' \
	--data-binary "{\"code\":\"$CLAIMED\",\"member\":\"alice\"}"
expect 200 "alice claims"
from 127.0.0.9 "/c/$CLAIMED"
expect 200 "a landing page after the claim"
from 127.0.0.9 /api/v1/claims -H 'Content-Type: application/json' \
	--data-binary "{\"code\":\"$CLAIMED\",\"member\":\"bob\"}"
expect 409 "bob claims a claimed code"
from 127.0.0.3 /api/v1/codes/08NDYQW9146XWQN1ANSB
expect 404 "a forged code"

# the scans are written off the request path: wait for all 14
wait_until 10 "the 14 scans to be written" sql_is 14 "SELECT count(*) FROM scans"
[ "$(sql "SELECT count(*) FROM scans WHERE serial > 0")" = 13 ] || fail "13 scans of genuine codes"

suspicious ""
expect 200 "the default listing"
note "listing: $(head -c 3000 "$T/body")"
[ "$(field '.days')|$(field '.min_clients')" = "30|3" ] || fail "defaults: $(cat "$T/body")"
[ "$(field '[.codes[].code] | join(",")')" = "$CLAIMED,$CLONED,$OTHER" ] ||
	fail "listed, in order: expected $CLAIMED,$CLONED,$OTHER: $(cat "$T/body")"
[ "$(field '.codes[0] | "\(.refused_claims)|\(.scans_after_claim)|\(.claimed_by)|\(.clients)|\(.scans)|\(.batch)"')" = "1|2|alice|2|3|$B1" ] ||
	fail "the claimed code's row: $(field '.codes[0]')"
[ "$(field '.codes[0].claimed_at | test("^20[0-9-]+T[0-9:]+Z$")')" = true ] ||
	fail "claimed_at: $(field '.codes[0].claimed_at')"
[ "$(field '.codes[1] | "\(.refused_claims)|\(.clients)|\(.scans)|\(.claimed_at)|\(.product.sku)"')" = "0|4|4|null|TEA" ] ||
	fail "the cloned code's row: $(field '.codes[1]')"
ok "a refused claim first, then four addresses, then three; one address is not suspicious"

suspicious "?min_clients=4"
expect 200 "min_clients=4"
[ "$(field '[.codes[].code] | join(",")')" = "$CLAIMED,$CLONED" ] || fail "min_clients=4: $(cat "$T/body")"
suspicious "?min_clients=5&limit=1"
[ "$(field '[.codes[].code] | join(",")')" = "$CLAIMED" ] || fail "min_clients=5: $(cat "$T/body")"
suspicious "?batch=$B2"
[ "$(field '[.codes[].code] | join(",")')" = "$OTHER" ] || fail "batch=$B2: $(cat "$T/body")"
suspicious "?limit=2&days=1"
[ "$(field '.codes | length')" = 2 ] || fail "limit=2: $(cat "$T/body")"
suspicious "?min_clients=1"
[ "$(field '.codes | length')" = 4 ] || fail "min_clients=1 lists every scanned code: $(cat "$T/body")"
ok "min_clients, batch, limit"

# a print run's codes are read per UTC day of the window (sql/035_scan_storage.sql):
# a scan of OTHER 40 hours ago (the row as the scan writer wrote it then)
# counts in a 2-day window, not in a 1-day one; the row goes after
sql "INSERT INTO scans (at, serial, code, kind, outcome, client)
     SELECT now() - interval '40 hours', serial, code, 'lookup', 'genuine', '127.0.0.10'
       FROM scans WHERE code = '$OTHER' LIMIT 1" >/dev/null
suspicious "?batch=$B2&days=2&min_clients=1"
[ "$(field '.codes[0] | "\(.code)|\(.scans)|\(.clients)"')" = "$OTHER|4|4" ] ||
	fail "batch=$B2, 2 days: $(cat "$T/body")"
suspicious "?batch=$B2&days=1&min_clients=1"
[ "$(field '.codes[0] | "\(.code)|\(.scans)|\(.clients)"')" = "$OTHER|3|3" ] ||
	fail "batch=$B2, 1 day: $(cat "$T/body")"
sql "DELETE FROM scans WHERE code = '$OTHER' AND at < now() - interval '1 day'" >/dev/null
ok "a print run's suspicious codes count the scans of each day of the window"

for q in "?days=0" "?days=367" "?limit=501" "?min_clients=x" "?batch=-1" "?limit="; do
	suspicious "$q"
	expect 400 "bad parameters $q"
	[ "$(field .error)" = bad_request ] || fail "$q: $(cat "$T/body")"
done
STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' "$BASE/api/v1/admin/codes/suspicious")
expect 401 "no token"
STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' -X POST \
	-H "Authorization: Bearer $TOK" "$BASE/api/v1/admin/codes/suspicious")
expect 405 "POST"
ok "bad parameters 400, no token 401, POST 405"

# ---- stats ----
STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $TOK" \
	"$BASE/api/v1/admin/stats")
expect 200 "stats"
note "stats: $(cat "$T/body")"
[ "$(field '"\(.days)|\(.products)|\(.batches.active)|\(.codes_minted)|\(.codes_claimed)|\(.points_held)"')" = "1|1|2|15|1|10" ] ||
	fail "stats: $(cat "$T/body")"
[ "$(field '"\(.scans.lookup.genuine)|\(.scans.lookup.not_genuine)|\(.scans.claim.awarded)|\(.scans.claim.already_claimed)"')" = "7|1|1|1" ] ||
	fail "stats of the scans: $(field .scans)"
[ "$(field '[.scans[][]] | add')" = 14 ] || fail "the scans by kind and outcome do not add up to 14: $(field .scans)"
[ "$(field .members)" = "$(sql "SELECT count(*) FROM members")" ] || fail "members: $(field .members)"
sql "UPDATE batches SET status = 'recalled' WHERE id = $B2"
STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $TOK" \
	"$BASE/api/v1/admin/stats?days=366")
expect 200 "stats?days=366"
[ "$(field '"\(.days)|\(.batches.active)|\(.batches.recalled)|\(.codes_minted)"')" = "366|1|1|15" ] ||
	fail "stats after a recall: $(cat "$T/body")"
for q in "?days=0" "?days=367" "?days=x"; do
	STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $TOK" \
		"$BASE/api/v1/admin/stats$q")
	expect 400 "stats$q"
done
STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' "$BASE/api/v1/admin/stats")
expect 401 "stats without a token"
ok "stats: print runs, codes, claims, points, scans by kind and outcome"

# reads: no audit row, but for the reads of unmasked member ids (the token holds pii)
# (the members the harness's claims made are member.add rows of its token: writes, not reads)
[ "$(sql "SELECT count(*) FROM audit WHERE actor NOT LIKE 'cli:%' AND action <> 'member.pii_read'
          AND actor <> 'harness-claims'")" = 0 ] ||
	fail "a read wrote an audit row: $(sql "SELECT action FROM audit WHERE actor NOT LIKE 'cli:%'")"
[ "$(sql "SELECT count(*) FROM audit WHERE action = 'member.pii_read' AND actor = 'inspector'")" -ge 1 ] ||
	fail "reading claimed_by unmasked was not audited"
server_stop
