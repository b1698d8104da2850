#!/bin/bash
# test_bad_input.sh: a table of malformed and hostile requests (bad JSON,
# wrong types, overlong fields, NUL bytes, invalid UTF-8, SQL and HTML
# injection in every field, path traversal, unknown methods, duplicate and
# lying headers, oversized bodies), sent by bad_input.py over raw sockets.
# Each gets the status its row states with a JSON error (HTML pages escape
# what they show; libevent's own replies are as docs/api.md says), the server
# answers /healthz after every row, and the database is unchanged: the same
# row counts in every table and the same ledger sum, and exactly the scan
# records the rows must leave (a code that is no code is still a scan).
PC_TIMEOUT=180
. "$(dirname "$0")/harness.sh"
. "$(dirname "$0")/server_lib.sh"
. "$(dirname "$0")/fault_lib.sh"
command -v python3 >/dev/null || skip "no python3"

setup
mint 10
CODE=$(code 1 "$CODES")
mint 5 --pin
PINCODE=$(code 1 "$CODES" | cut -d, -f1)
# a product whose name and brand are markup: the landing page must escape them
pcgen product add --sku XSS --name "<script>alert('name')</script>" \
	--brand '"><img src=x onerror=alert(1)>' --points 1 >/dev/null || fail "product add"
pcgen mint --product XSS --count 2 --out "$T/xss" --host pack.example -q || fail "mint XSS"
XSSCODE=$(code 2 "$T/xss/codes.csv" | cut -d, -f1)
server_start --threads 2

# everything but the scan records and their per-code summary (and scanners) must stay as it is
state() { table_state | tr ' ' '\n' | grep -v '^scans=\|^code_stats=\|^code_scanners=' | tr '\n' ' '; }
BEFORE=$(state)
SCANS0=$(sql "SELECT count(*) FROM scans")

python3 "$abs_top_srcdir/tests/integration/bad_input.py" "$PORT" "$CODE" "$PINCODE" "$XSSCODE" \
	"$(claims_token)" \
	>"$T/rows.out" 2>&1 || { cat "$T/rows.out"; fail "bad input rows failed"; }
grep -c '^ok - ' "$T/rows.out" | sed 's/^/# rows passed: /'
kill -0 "$SERVER_PID" || fail "the server died"
WANT=$(sed -n 's/^scans=//p' "$T/rows.out")

# SIGTERM writes every buffered scan record before the server exits (exit 0
# after all that): then the count is exact, with nothing still on its way
server_stop
AFTER=$(state)
[ "$BEFORE" = "$AFTER" ] || fail "the database changed: $BEFORE -> $AFTER"
SCANS=$(($(sql "SELECT count(*) FROM scans") - SCANS0))
[ "$SCANS" = "$WANT" ] || fail "$SCANS scan records written, the rows call for $WANT"
[ "$(sql "SELECT count(*) FROM scans WHERE user_agent LIKE '%DROP TABLE redemptions%<script>%'")" = 1 ] ||
	fail "the hostile User-Agent is not recorded as text"
ok "$(grep -c '^ok - ' "$T/rows.out") hostile requests: each its status and error, server up, database unchanged ($AFTER), $SCANS scans as due"

# and the server still does its job on that database
server_start --threads 2
claim "$CODE" alice
expect 200 "a good claim after all that"
server_stop
