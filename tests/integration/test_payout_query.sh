#!/bin/bash
# test_payout_query.sh: a payout the provider took but never called back
# about (docs/campaigns.md, the payout state machine) is asked about again
# after --payout-callback-wait: the real server and PostgreSQL, and
# payment_provider.py swallowing every callback (--no-callbacks) and
# answering "pending" to the first question about each key.
#  1. Claims give red packets; the provider accepts, refuses, fails, errs
#     and times out at random (seeded: PC_SEED); no callback ever comes.
#  2. Every payout ends paid or returned by the answers alone: the provider
#     paid exactly the payouts the database says paid, each once; each
#     question was the same bytes under the same Idempotency-Key as the
#     payout's request; the "pending" answers changed nothing; each payout
#     settled by a question once (payout_events, audit payout.query); the
#     failed ones returned once; the reconciliation adds up.
#  3. A callback that comes after all is a duplicate and changes nothing.
#  4. /metrics shows the payouts (attempts, questions by answer, settled,
#     open states, callbacks), read by the strict Prometheus parser.
PC_TIMEOUT=90
. "$(dirname "$0")/harness.sh"
. "$(dirname "$0")/server_lib.sh"

command -v python3 >/dev/null || skip "no python3"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
IT=$abs_top_srcdir/tests/integration
SEED=${PC_SEED:-$((RANDOM % 10000 + 1))}
note "seed $SEED (PC_SEED=$SEED repeats this run)"
N=60 AMOUNT=100 BUDGET=100000

PROVIDER_PID=
pq_exit() {
	local rc=$?
	set +e
	if [ -n "$PROVIDER_PID" ]; then
		kill -KILL "$PROVIDER_PID" 2>/dev/null
		wait "$PROVIDER_PID" 2>/dev/null
	fi
	(exit "$rc")
	server_exit
}
trap pq_exit EXIT

setup # TEA of brand "Packcode Tea"
mint $N
cp "$CODES" "$T/codes"
TA=$(pcgen token add --name tea --scopes read,campaigns --brands "Packcode Tea" 2>/dev/null) || fail "token tea"

(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/payout.secret")
python3 "$IT/payment_provider.py" "$T/provider.port" "$T/payout.secret" "@$T/callback.url" \
	--seed "$SEED" --client-timeout 1 --fail-every 0 --lifetime 80 --no-callbacks \
	--pending-answers 1 --timeout-every 7 2>"$T/provider.err" &
PROVIDER_PID=$!
wait_until 10 "the provider to listen" test -s "$T/provider.port"
PROVIDER="http://127.0.0.1:$(cat "$T/provider.port")"

server_start --threads 2 --pool 4 --webhook-concurrency 0 --payout-url "$PROVIDER/payouts" \
	--payout-secret-file "$T/payout.secret" --payout-timeout 1 --payout-tries 4 --payout-retry 1 \
	--payout-callback-wait 1
echo "$BASE/api/v1/payouts/callback" >"$T/callback.url"
grep -q 'event=payouts_started.*query_wait_ms=1000' "$T/server.log" ||
	fail "no payout dispatcher asking after 1 s: $(grep payouts_started "$T/server.log")"

as() {
	local args=(-s --max-time 10 -o "$T/body" -w '%{http_code}' -X "$2" -H "Authorization: Bearer $1")
	[ $# -ge 4 ] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
	STATUS=$(curl "${args[@]}" "$BASE$3")
}
sql_eq() { local got; got=$(sql "$1"); [ "$got" = "$2" ] || fail "$1: got '$got', expected '$2'"; }
FUTURE=$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)

# ---- 1. red packets, and no callback ever ----
as "$TA" POST /api/v1/admin/campaigns '{"brand":"Packcode Tea","name":"Asked again","ends_at":"'$FUTURE'",
  "red_packet":{"amount":'$AMOUNT',"budget":'$BUDGET'}}'
expect 201 "a campaign with a red packet"
C=$(field .id)
TOKEN=$(claims_token)
for i in $(seq 1 $N); do
	printf '%s m%02d\n' "$(code "$i" "$T/codes")" $((i % 10))
done >"$T/work"
claim_one() {
	curl -s --max-time 20 -o /dev/null -w '%{http_code}\n' -X POST \
		-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
		--data-binary "{\"code\":\"$1\",\"member\":\"$2\"}" "$BASE/api/v1/claims"
}
export -f claim_one
export TOKEN BASE
xargs -P 8 -L 1 bash -c 'claim_one "$@"' _ <"$T/work" >"$T/statuses" || fail "the claims"
[ "$(sort -u "$T/statuses" | tr '\n' ' ')" = "200 " ] ||
	fail "claims not all 200: $(sort "$T/statuses" | uniq -c | tr '\n' ' ')"
sql_eq "SELECT count(*) FROM payouts WHERE campaign_id = $C" $N
ok "$N red packets given"

# ---- 2. settled by the answers alone ----
settled() {
	[ "$(sql "SELECT count(*) FROM payouts WHERE status IN ('requested', 'sent', 'failed')")" = 0 ]
}
wait_until 60 "every payout paid or returned without a callback" settled
curl -s --max-time 10 "$PROVIDER/state" >"$T/state" || fail "the provider's state"
note "provider: $(jq -c '{paid: (.paid | length), failed: (.failed | length), swallowed, pending_answers,
	asked_again: ([.requests[] | select(. > 1)] | length)}' "$T/state")"
[ "$(jq .callbacks "$T/state")" = 0 ] || fail "a callback was sent: $(jq -c . "$T/state")"
[ "$(jq .bad_signatures "$T/state")" = 0 ] || fail "the provider refused our signature"
[ "$(jq .swallowed "$T/state")" -gt 0 ] || fail "no callback was swallowed"
sql_eq "SELECT count(*) FROM payout_events WHERE kind = 'callback'" 0
# the same bytes, the same key, on every request of a key
[ "$(jq '[.bodies[] | select(length != 1)] | length' "$T/state")" = 0 ] ||
	fail "a key was sent different bodies: $(jq -c '.bodies' "$T/state" | head -c 400)"
jq -r '.paid | to_entries[] | "\(.key) \(.value)"' "$T/state" | sort >"$T/provider_paid"
sql "SELECT idempotency_key || ' ' || amount FROM payouts WHERE status = 'paid'" | sort >"$T/db_paid"
[ -s "$T/db_paid" ] || fail "nothing was paid"
cmp -s "$T/provider_paid" "$T/db_paid" ||
	fail "paid at the provider is not paid here: $(diff "$T/provider_paid" "$T/db_paid" | head)"
# each paid payout was settled by a question: the provider's "pending" first, then "paid"
sql_eq "SELECT count(*) FROM payouts p WHERE status = 'paid' AND NOT EXISTS (SELECT 1
        FROM payout_events e WHERE e.payout_id = p.id AND e.kind = 'query' AND e.outcome = 'applied'
        AND e.status_after = 'paid')" 0
sql_eq "SELECT count(*) FROM payouts p WHERE status = 'paid' AND NOT EXISTS (SELECT 1
        FROM payout_events e WHERE e.payout_id = p.id AND e.kind = 'query' AND e.outcome = 'pending'
        AND e.status_after = 'sent')" 0
PENDING=$(jq .pending_answers "$T/state")
sql_eq "SELECT count(*) FROM payout_events WHERE kind = 'query' AND outcome = 'pending'" "$PENDING"
# settled once: one applied answer per payout, each audited
sql_eq "SELECT count(*) FROM (SELECT payout_id FROM payout_events WHERE kind = 'query'
        AND outcome = 'applied' GROUP BY 1 HAVING count(*) > 1) x" 0
APPLIED=$(sql "SELECT count(*) FROM payout_events WHERE kind = 'query' AND outcome = 'applied'")
sql_eq "SELECT count(*) FROM audit WHERE action = 'payout.query'" "$APPLIED"
# the provider's "failed": failed by the answer, then returned once
FAILED_Q=$(sql "SELECT count(*) FROM payout_events WHERE kind = 'query' AND outcome = 'applied'
                AND status_after = 'failed'")
note "settled by questions: $APPLIED ($FAILED_Q failed); pending answers: $PENDING"
sql_eq "SELECT count(*) FROM payouts p JOIN payout_events e ON e.payout_id = p.id AND e.kind = 'query'
        AND e.status_after = 'failed' WHERE p.status <> 'returned'" 0
sql_eq "SELECT count(*) FROM (SELECT payout_id FROM payout_events WHERE kind = 'return'
        GROUP BY payout_id HAVING count(*) > 1) x" 0
PAID=$(awk '{ s += $2 } END { print s + 0 }' "$T/provider_paid")
sql_eq "SELECT budget_left FROM campaign_red_packets WHERE campaign_id = $C" "$((BUDGET - PAID))"
as "$TA" GET "/api/v1/admin/campaigns/$C/payouts"
expect 200 "the reconciliation"
jq -e '.balanced == true and .paid.amount == '"$PAID"' and .pending.count == 0 and .sent.count == 0' \
	"$T/body" >/dev/null || fail "the reconciliation: $(cat "$T/body")"
ok "$(wc -l <"$T/db_paid") paid and the rest returned by the provider's answers, each once, the same request each time"

# the provider paid every seventh payout on its first request and answered
# none of their requests in time: the tries used up on an unknown outcome,
# each was asked about (sent), never returned, and is paid
LATE=$(jq .always_late "$T/state")
[ "$LATE" -gt 0 ] || fail "no payout of a serial divisible by 7"
sql_eq "SELECT count(*) FROM payouts WHERE campaign_id = $C AND serial % 7 = 0 AND status = 'paid'" "$LATE"
sql_eq "SELECT count(*) FROM payouts p WHERE p.serial % 7 = 0 AND NOT EXISTS (SELECT 1 FROM payout_events e
        WHERE e.payout_id = p.id AND e.kind = 'attempt' AND e.attempt = 4 AND e.outcome = 'unknown'
        AND e.status_before = 'requested' AND e.status_after = 'sent')" 0
sql_eq "SELECT count(*) FROM payout_events e JOIN payouts p ON p.id = e.payout_id
        WHERE p.serial % 7 = 0 AND e.kind = 'return'" 0
grep -q 'event=payout_unconfirmed' "$T/server.log" || fail "no payout_unconfirmed in the log"
ok "$LATE payouts whose every request timed out (paid at the first): asked about, paid, none returned"

# ---- 3. a callback after all: a duplicate ----
KEY=$(head -n 1 "$T/db_paid" | cut -d' ' -f1)
B='{"idempotency_key":"'$KEY'","status":"paid"}'
NOW=$(date +%s)
SIG="t=$NOW,v1=$(printf '%s' "$NOW.$B" | openssl dgst -sha256 -hmac "$(cat "$T/payout.secret")" -r | cut -d' ' -f1)"
LEFT=$(sql "SELECT budget_left FROM campaign_red_packets WHERE campaign_id = $C")
STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
	-H "Packcode-Signature: $SIG" --data-binary "$B" "$BASE/api/v1/payouts/callback")
[ "$STATUS/$(field .outcome)/$(field .status)" = 200/duplicate/paid ] || fail "a late callback: $STATUS $(cat "$T/body")"
sql_eq "SELECT budget_left FROM campaign_red_packets WHERE campaign_id = $C" "$LEFT"
ok "a callback after the answer is a duplicate"

# ---- 4. /metrics ----
curl -s --max-time 10 -o "$T/metrics" "$BASE/metrics" || fail "GET /metrics"
sample() { awk -v m="$1" '$1 == m { print $2 }' "$T/metrics"; }
[ "$(sample 'packcode_payouts_settled_by_query_total')" = "$APPLIED" ] ||
	fail "settled_by_query: $(grep '^packcode_payout' "$T/metrics" | tr '\n' ' ')"
[ "$(sample 'packcode_payout_queries_total{answer="pending"}')" = "$PENDING" ] ||
	fail "pending answers: $(grep '^packcode_payout_queries' "$T/metrics" | tr '\n' ' ')"
[ "$(sample 'packcode_payout_queries_total{answer="paid"}')" -ge "$(wc -l <"$T/db_paid")" ] ||
	fail "paid answers: $(grep '^packcode_payout_queries' "$T/metrics" | tr '\n' ' ')"
[ "$(sample 'packcode_payout_attempts_total{outcome="accepted"}')" -gt 0 ] ||
	fail "attempts: $(grep '^packcode_payout_attempts' "$T/metrics" | tr '\n' ' ')"
[ "$(sample 'packcode_payout_callbacks_total{outcome="duplicate"}')" = 1 ] ||
	fail "callbacks: $(grep '^packcode_payout_callbacks' "$T/metrics" | tr '\n' ' ')"
[ "$(sample 'packcode_payouts_returned_total')" = "$(sql "SELECT count(*) FROM payouts WHERE status = 'returned'")" ] ||
	fail "returned: $(grep '^packcode_payouts_returned' "$T/metrics")"
wait_until 10 "the open payouts counted at 0" sh -c \
	"curl -s --max-time 5 '$BASE/metrics' | grep -q '^packcode_payouts{state=\"sent\"} 0\$'"
PY=
for p in python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null && "$p" -c 'import prometheus_client.parser' 2>/dev/null; then
		PY=$p
		break
	fi
done
if [ -n "$PY" ]; then
	curl -s --max-time 10 -o "$T/metrics" "$BASE/metrics" || fail "GET /metrics"
	timeout --foreground 30 "$PY" "$IT/metrics_check.py" "$T/metrics" >/dev/null 2>"$T/problems" ||
		fail "/metrics with the payout dispatcher is not valid: $(head -n 3 "$T/problems")"
	ok "/metrics: the payouts counted, the exposition valid (prometheus_client)"
else
	ok "/metrics: the payouts counted (no prometheus_client here to parse it)"
fi
