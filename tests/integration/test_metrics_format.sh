#!/bin/bash
# test_metrics_format.sh: /metrics is Prometheus text format, read by an
# independent parser (prometheus_client, Debian's python3-prometheus-client)
# and held to what Prometheus itself refuses and that parser lets through
# (metrics_check.py): no sample twice with the same labels, every sample
# under its family's # TYPE, HELP and TYPE once a family. The traffic before
# it touches every route kind and claim outcome that is cheap to make (an
# award, a repeat by the same member, a claim of another member's code, a
# typo, a forged code, a lookup, a landing and a member page, admin calls
# with a token and without, a 404, a 405), and each outcome is counted under
# its own label: a repeat is outcome="repeat", not a second "awarded".
PC_TIMEOUT=120
. "$(dirname "$0")/harness.sh"
. "$(dirname "$0")/server_lib.sh"

# Debian installs the parser for its own python3, which may not be first in PATH
PY=
for p in python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null && "$p" -c 'import prometheus_client.parser' 2>/dev/null; then
		PY=$p
		break
	fi
done
[ -n "$PY" ] || skip "no python3 with prometheus_client (python3-prometheus-client)"

setup
mint 10
cp "$CODES" "$T/codes"
FORGED=$(elsewhere "$T/other-keyring" 1 1)
C1=$(code 1)
TYPO=$(printf '%s' "$C1" | sed 's/^\(.\)\(.\)/\2\1/')
[ "$TYPO" != "$C1" ] || TYPO=$(printf '%s' "$C1" | sed 's/^\(....\)\(.\)/\1Z/')
TOKEN=$(pcgen token add --name metrics-test 2>/dev/null) || fail "token add"
server_start --threads 2 --pool 2

# ---- traffic: each line one route kind or claim outcome ----
claim "$C1" alice
expect 200 "an awarded claim"
[ "$(field .outcome)" = awarded ] && [ "$(field .repeat)" = false ] || fail "award: $(cat "$T/body")"
claim "$C1" alice
expect 200 "a repeat claim by the same member"
[ "$(field .repeat)" = true ] || fail "repeat: $(cat "$T/body")"
claim "$C1" bob
expect 409 "a claim of another member's code"
claim "$TYPO" bob
expect 400 "a claim of a typo"
claim "$FORGED" bob
expect 404 "a claim of a forged code"
req GET "/api/v1/codes/$(code 2)"
expect 200 "a lookup"
page "/c/$(code 3)"
[ "$STATUS" = 200 ] || fail "a landing page: $STATUS"
req GET /api/v1/members/alice
expect 200 "a member page"
STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
	"$BASE/api/v1/admin/products")
expect 200 "an admin call with a token"
req GET /api/v1/admin/products
expect 401 "an admin call without a token"
req GET /no/such/page
expect 404 "a path that is no route"
req DELETE /api/v1/claims
expect 405 "a method the claims route does not take"
ok "traffic: award, repeat, 409, typo, forged, lookup, landing, member page, admin with and without a token, 404, 405"

# ---- the exposition, parsed ----
curl -s --max-time 10 -D "$T/h" -o "$T/metrics" "$BASE/metrics" || fail "GET /metrics failed"
case $(hdr content-type) in text/plain*) ;; *) fail "/metrics Content-Type: $(hdr content-type)" ;; esac
if ! timeout --foreground 30 "$PY" "$abs_top_srcdir/tests/integration/metrics_check.py" "$T/metrics" \
	>"$T/samples" 2>"$T/problems"; then
	cat "$T/problems" >&2
	fail "/metrics is not valid Prometheus text format: $(head -n 1 "$T/problems")"
fi
ok "/metrics parses (prometheus_client), no duplicate series, every sample under its # TYPE, HELP/TYPE once: $(wc -l <"$T/samples") samples"

# ---- each outcome under its own label ----
sample() { awk -v m="$1" '$1 == m { print $2 }' "$T/samples"; }
outcome() {
	[ "$(sample "packcode_claims_total{outcome=\"$1\"}")" = "$2" ] ||
		fail "packcode_claims_total{outcome=\"$1\"} is '$(sample "packcode_claims_total{outcome=\"$1\"}")', not $2: $(grep '^packcode_claims_total' "$T/samples" | tr '\n' ' ')"
}
outcome awarded 1
outcome repeat 1
outcome already_claimed 1
outcome typo 1
outcome not_genuine 1
ok "claims counted by outcome: awarded 1, repeat 1, already_claimed 1, typo 1, not_genuine 1"
requests() {
	[ "$(sample "packcode_http_requests_total{route=\"$1\",status=\"$2\"}")" = "$3" ] ||
		fail "requests of route $1 with status $2: '$(sample "packcode_http_requests_total{route=\"$1\",status=\"$2\"}")', not $3"
}
requests claim 200 2
requests claim 409 1
requests claim 400 1
requests claim 404 1
requests claim 405 1
requests lookup 200 1
requests landing 200 1
requests member 200 1
requests admin_products 200 1
requests admin_products 401 1
requests other 404 1
ok "requests counted by route and status, one series each"
server_stop
