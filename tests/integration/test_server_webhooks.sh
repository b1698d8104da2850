#!/bin/bash
# test_server_webhooks.sh: webhooks end to end, two servers sharing the
# outbox, against receivers on 127.0.0.1 (webhook_receiver.py): one that
# at random fails (500), times out (answers after the client gave up),
# answers slowly or accepts, one that always accepts. After a random
# workload of claims (from several members, with repeats and lost races),
# recalls, unrecalls and new products: every award has its outbox event,
# every event reached each subscription to its type at least once (none
# other did), retries carry the same event id and body, every signature
# verifies with the documented snippets (docs/webhooks.md, Python and
# Node), events of one subject arrive in order; /metrics counts attempts by
# outcome (metrics_check.py: no duplicate series). Then the admin API: the
# subscriptions' refusals, the deliveries with their attempts, a delivery
# failed after --webhook-tries and visible, replay re-sends (same id and
# body), a deleted subscription gets nothing more, a brand-limited
# subscription gets its brands' events only, CORS for listed origins only,
# and SIGTERM with a delivery in flight (drained, or aborted).
PC_TIMEOUT=300
. "$(dirname "$0")/harness.sh"
. "$(dirname "$0")/server_lib.sh"

# Debian installs prometheus_client for its own python3, which may not be first in PATH
PY=
for p in python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null && "$p" -c 'import prometheus_client.parser' 2>/dev/null; then
		PY=$p
		break
	fi
done
[ -n "$PY" ] || skip "no python3 with prometheus_client (python3-prometheus-client)"
command -v node >/dev/null || skip "no node (the Node verification snippet)"
# the receivers are on 127.0.0.1: never through a proxy of the environment
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
IT=$abs_top_srcdir/tests/integration

# ---- receivers, and a second server: stopped whatever happens ----
RECEIVERS=()
SERVER2_PID=
wh_exit() {
	local rc=$? pid
	set +e
	for pid in "${RECEIVERS[@]}" $SERVER2_PID; do
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	if [ "$rc" != 0 ] && [ -f "$T/server2.log" ]; then
		echo "--- last lines of the second server's log:" >&2
		tail -n 20 "$T/server2.log" >&2
	fi
	(exit "$rc")
	server_exit
}
trap wh_exit EXIT

# receiver NAME MODE: start one (bounded: it exits after 280 s); sets RPORT.
receiver() {
	"$PY" "$IT/webhook_receiver.py" "$T/$1.port" "$T/$1.log" --mode "$2" --seed "$SEED" \
		--client-timeout 1 --lifetime 280 2>"$T/$1.err" &
	RECEIVERS+=($!)
	: >>"$T/$1.log"
	wait_until 10 "receiver $1 to listen" test -s "$T/$1.port"
	RPORT=$(cat "$T/$1.port")
}
# arrived NAME EVENT-ID: the receiver NAME accepted event EVENT-ID at least N (default 1) times.
arrived() {
	local n
	n=$(jq -c --arg e "$2" 'select(.event_id == $e and (.action == "accept" or .action == "slow"))' "$T/$1.log" | wc -l)
	[ "$n" -ge "${3:-1}" ] || { echo "event $2 arrived $n times at $1"; return 1; }
}
# reached NAME EVENT-ID: the receiver NAME was sent event EVENT-ID, whatever it answered (the random
# receiver may fail both tries of a server started with --webhook-tries 2)
reached() {
	local n
	n=$(jq -c --arg e "$2" 'select(.event_id == $e)' "$T/$1.log" | wc -l)
	[ "$n" -ge 1 ] || { echo "event $2 reached $1 $n times"; return 1; }
}

# snippets of docs/webhooks.md: the code block after "<!-- snippet: NAME -->"
snippet() {
	awk -v m="<!-- snippet: $1 -->" '$0 == m { on = 1; next } on && /^```/ { if (fence++) exit; next } on && fence' \
		"$abs_top_srcdir/docs/webhooks.md"
}
snippet verify.py >"$T/verify.py"
snippet verify.js >"$T/verify.js"
grep -q 'def verify' "$T/verify.py" && grep -q 'function verify' "$T/verify.js" ||
	fail "docs/webhooks.md has no verification snippets"

SEED=${PC_WEBHOOK_SEED:-$RANDOM}
note "seed $SEED (PC_WEBHOOK_SEED=$SEED repeats the receivers' choices)"
RANDOM=$SEED

setup
mint 80
B1=$BATCH
FIRST1=$FIRST
cp "$CODES" "$T/codes"
mint 5
B2=$BATCH
TOK=$(pcgen token add --name hooks 2>/dev/null) || fail "token add"

# admin METHOD PATH [BODY]: with the token; STATUS, body in $T/body, headers in $T/h.
admin() {
	local args=(-s --max-time 10 -o "$T/body" -D "$T/h" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $TOK")
	[ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
	STATUS=$(curl "${args[@]}" "$BASE$2")
}

# cors ORIGIN METHOD PATH [CURL-ARGS...]: a request from a page of ORIGIN.
cors() {
	local o=$1 m=$2 p=$3
	shift 3
	STATUS=$(curl -s --max-time 10 -o "$T/body" -D "$T/h" -w '%{http_code}' -X "$m" -H "Origin: $o" "$@" "$BASE$p")
}

receiver random random
R1=$RPORT
receiver steady accept
R2=$RPORT
WH_ARGS=(--webhook-timeout 1 --webhook-retry 1 --webhook-tries 10 --webhook-concurrency 8)
server_start --threads 2 --pool 3 "${WH_ARGS[@]}" --log-level debug
# a second server on the same database: the two share the deliveries
"$SERVER" --listen 127.0.0.1:0 --threads 1 --pool 2 "${WH_ARGS[@]}" --log-level debug >"$T/server2.log" 2>&1 &
SERVER2_PID=$!
wait_until 15 "the second server to start" grep -q 'event=webhooks_started' "$T/server2.log"

# ---- subscriptions: refused and made ----
admin POST /api/v1/admin/webhooks '{"url":"ftp://127.0.0.1/x","events":["claim.awarded"]}'
expect 400 "an ftp:// receiver"
[ "$(field .error)" = bad_request ] && field .message | grep -q 'http:// or https://' ||
	fail "ftp refusal: $(cat "$T/body")"
admin POST /api/v1/admin/webhooks '{"url":"http://user:pw@127.0.0.1/x","events":["claim.awarded"]}'
expect 400 "a receiver URL with a password"
admin POST /api/v1/admin/webhooks "{\"url\":\"http://127.0.0.1:$R1/\",\"events\":[]}"
expect 400 "no events"
admin POST /api/v1/admin/webhooks "{\"url\":\"http://127.0.0.1:$R1/\",\"events\":[\"code.teleported\"]}"
expect 400 "an unknown event type"
[ "$(field .error)" = unknown_event ] && [ "$(field .event)" = code.teleported ] ||
	fail "unknown event: $(cat "$T/body")"
admin POST /api/v1/admin/webhooks "{\"url\":\"http://127.0.0.1:$R1/\",\"events\":[\"claim.awarded\"],\"secret\":\"short\"}"
expect 400 "a short secret"
admin POST /api/v1/admin/webhooks '{"url":"http://127.0.0.1/x","events":["claim.awarded"]'
expect 400 "malformed JSON"
[ "$(field .error)" = bad_json ] || fail "malformed JSON: $(cat "$T/body")"
[ "$(sql "SELECT count(*) FROM webhooks")" = 0 ] || fail "a refused subscription was stored"

admin POST /api/v1/admin/webhooks "{\"url\":\"HTTP://127.0.0.1:$R1/hooks?src=packcode\",\"events\":[\"claim.awarded\",\"batch.recalled\",\"batch.unrecalled\",\"product.created\",\"claim.awarded\"]}"
expect 201 "a subscription with a secret made for it"
W1=$(field .id)
S1=$(field .secret)
case $S1 in whsec_???????????????????????????????????????????) ;; *) fail "the made secret: $S1" ;; esac
[ "$(field .url)" = "http://127.0.0.1:$R1/hooks?src=packcode" ] || fail "the scheme in lower case: $(field .url)"
[ "$(field '.events | length')" = 4 ] || fail "events deduplicated: $(cat "$T/body")"
S2="my-own-secret-$RANDOM$RANDOM-0123456789"
admin POST /api/v1/admin/webhooks "{\"url\":\"http://127.0.0.1:$R2/\",\"events\":[\"claim.awarded\"],\"secret\":\"$S2\"}"
expect 201 "a subscription with its own secret"
W2=$(field .id)
[ "$(field .secret)" = "$S2" ] || fail "the given secret is not echoed once"
admin GET /api/v1/admin/webhooks
expect 200 "list the subscriptions"
[ "$(field '.webhooks | length')" = 2 ] && [ "$(field '.webhooks[0].created_by')" = hooks ] ||
	fail "list: $(cat "$T/body")"
! grep -q 'secret' "$T/body" || fail "a listing shows a secret"
! grep -qF -e "$S1" -e "$S2" "$T/server.log" "$T/server2.log" || fail "a secret reached a log"
[ "$(sql "SELECT action FROM audit ORDER BY id DESC LIMIT 1")" = webhook.add ] &&
	! grep -q secret <<<"$(sql "SELECT detail::text FROM audit WHERE action = 'webhook.add'")" ||
	fail "webhook.add audit"
cors https://console.example OPTIONS /api/v1/admin/webhooks -H 'Access-Control-Request-Method: GET'
[ "$STATUS" = 401 ] && [ -z "$(hdr Access-Control-Allow-Origin)" ] || fail "CORS is on by default: $STATUS"
ok "subscriptions: ftp, credentials, no events, unknown type, short secret, bad JSON refused; secrets made and shown once; CORS off by default"

# ---- a random workload: claims from 9 members, repeats, lost races; recalls; products ----
: >"$T/claims"
for i in $(seq 1 60); do
	printf '%s m%d\n' "$(code "$i")" $((RANDOM % 9)) >>"$T/claims"
	case $((RANDOM % 5)) in
	0) printf '%s m%d\n' "$(code "$i")" $((RANDOM % 9)) >>"$T/claims" ;; # a second claim: repeat or lost
	esac
done
claim_one() {
	curl -s --max-time 20 -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/json' \
		-H "$LOADGEN_HEADER" --data-binary "{\"code\":\"$1\",\"member\":\"$2\"}" "$3/api/v1/claims"
}
export -f claim_one
BASE2=http://127.0.0.1:$(sed -n 's/.*event=listening addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/server2.log" | tail -n 1)
(
	# claims over both servers, four at a time
	awk -v a="$BASE" -v b="$BASE2" '{ print $1, $2, (NR % 2 ? a : b) }' "$T/claims" |
		xargs -P 4 -n 3 bash -c 'claim_one "$@"' _ >"$T/claim.statuses"
) &
CLAIMS_PID=$!
for k in 1 2 3; do
	admin POST "/api/v1/admin/batches/$B2/recall" '{"reason":"test recall"}'
	expect 200 "recall $k"
	admin POST "/api/v1/admin/batches/$B2/unrecall" '{"reason":"test unrecall"}'
	expect 200 "unrecall $k"
done
admin POST /api/v1/admin/products '{"sku":"HOOK-1","name":"Hooked","points":3}'
expect 201 "a product from the admin API"
pcgen product add --sku HOOK-2 --name "Hooked too" --points 4 >/dev/null || fail "product add"
wait "$CLAIMS_PID" || fail "the claims failed"
grep -qv '^200$\|^409$' "$T/claim.statuses" && fail "a claim failed: $(sort "$T/claim.statuses" | uniq -c | tr '\n' ' ')"
AWARDS=$(sql "SELECT count(*) FROM redemptions")
[ "$AWARDS" -ge 50 ] || fail "only $AWARDS awards"
[ "$(sql "SELECT count(*) FROM webhook_events WHERE type = 'claim.awarded'")" = "$AWARDS" ] ||
	fail "awards $AWARDS, claim.awarded events $(sql "SELECT count(*) FROM webhook_events WHERE type = 'claim.awarded'")"
# (as a set difference: Citus runs no correlated subquery from a distributed
# table, redemptions, to the coordinator's webhook_events)
[ "$(sql "SELECT count(*) FROM (SELECT r.serial, r.member, r.points FROM redemptions r EXCEPT SELECT (e.data->>'serial')::bigint, e.data->>'member', (e.data->>'points')::int FROM webhook_events e WHERE e.type = 'claim.awarded') x")" = 0 ] ||
	fail "an award without its own event"
[ "$(sql "SELECT string_agg(type, ',' ORDER BY id) FROM webhook_events WHERE subject = 'batch:$B2'")" = \
	"batch.recalled,batch.unrecalled,batch.recalled,batch.unrecalled,batch.recalled,batch.unrecalled" ] ||
	fail "batch events: $(sql "SELECT string_agg(type, ',' ORDER BY id) FROM webhook_events WHERE subject = 'batch:$B2'")"
[ "$(sql "SELECT string_agg(subject, ',' ORDER BY id) FROM webhook_events WHERE type = 'product.created'")" = "product:HOOK-1,product:HOOK-2" ] ||
	fail "product events"
# balances in events follow each member's ledger
# (a set difference again, for Citus)
[ "$(sql "SELECT count(*) FROM (SELECT e.data->>'member', (e.data->>'serial')::bigint, (e.data->>'balance')::bigint FROM webhook_events e WHERE e.type = 'claim.awarded' EXCEPT SELECT l.member, l.serial, l.balance_after FROM ledger l) x")" = 0 ] ||
	fail "an event's balance is not its ledger row's"
ok "$AWARDS awards, each with its outbox event (member, serial, points, balance as the ledger); 6 batch moves; 2 products"

# ---- every delivery done; what each receiver got ----
deliveries_done() { sql_is 0 "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'"; }
wait_until 150 "every delivery to be done" deliveries_done
[ "$(sql "SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered'")" = 0 ] ||
	fail "deliveries not delivered: $(sql "SELECT status, count(*) FROM webhook_deliveries GROUP BY 1")"
sql "SELECT e.id, e.type, e.subject FROM webhook_events e JOIN webhook_deliveries d ON d.event_id = e.id WHERE d.webhook_id = $W1" |
	tr '|' ' ' >"$T/expect1"
sql "SELECT e.id, e.type, e.subject FROM webhook_events e JOIN webhook_deliveries d ON d.event_id = e.id WHERE d.webhook_id = $W2" |
	tr '|' ' ' >"$T/expect2"
[ "$(wc -l <"$T/expect1")" = $((AWARDS + 8)) ] && [ "$(wc -l <"$T/expect2")" = "$AWARDS" ] ||
	fail "deliveries: $(wc -l <"$T/expect1") to the first, $(wc -l <"$T/expect2") to the second"
"$PY" "$IT/webhook_check.py" "$T/random.log" "$S1" "$T/verify.py" "$T/expect1" --exact >"$T/check1" ||
	fail "the random receiver's requests (seed $SEED)"
"$PY" "$IT/webhook_check.py" "$T/steady.log" "$S2" "$T/verify.py" "$T/expect2" --exact >"$T/check2" ||
	fail "the steady receiver's requests"
note "random receiver: $(cat "$T/check1"); steady: $(cat "$T/check2")"
grep -q 'retried=[1-9]' "$T/check1" || fail "no retry happened (seed $SEED): $(cat "$T/check1")"
grep -q 'retried=0 ' "$T/check2" || fail "the steady receiver saw retries: $(cat "$T/check2")"
# the Node snippet over every request too
cat "$T/verify.js" - >"$T/verify-all.js" <<'EOF'
const fs = require("fs");
const [secret, log] = process.argv.slice(2);
let n = 0;
for (const line of fs.readFileSync(log, "utf8").split("\n")) {
  if (!line) continue;
  const r = JSON.parse(line);
  const body = Buffer.from(r.body, "utf8");
  if (!verify(secret, r.signature, body)) { console.error("does not verify: event " + r.event_id); process.exit(1); }
  if (verify(secret, r.signature, Buffer.concat([body, Buffer.from(" ")]))) { console.error("a changed body verifies"); process.exit(1); }
  n++;
}
console.log(n);
EOF
N1=$(node "$T/verify-all.js" "$S1" "$T/random.log") || fail "the Node snippet refuses a signature"
N2=$(node "$T/verify-all.js" "$S2" "$T/steady.log") || fail "the Node snippet refuses a signature"
ok "every event at each subscription at least once, no other; retries with the same id and body; $N1 + $N2 signatures verify (Python and Node snippets); order per subject kept"
[ "$(grep -c 'event=webhook_claimed' "$T/server2.log")" -ge 1 ] && [ "$(grep -c 'event=webhook_claimed' "$T/server.log")" -ge 1 ] ||
	fail "the two servers did not share the deliveries"
ok "both servers sent deliveries"

# ---- /metrics: attempts by outcome, no duplicate series ----
curl -s --max-time 10 -o "$T/metrics" "$BASE/metrics" || fail "GET /metrics"
curl -s --max-time 10 -o "$T/metrics2" "$BASE2/metrics" || fail "GET /metrics of the second server"
for m in metrics metrics2; do
	timeout --foreground 30 "$PY" "$IT/metrics_check.py" "$T/$m" >"$T/$m.samples" 2>"$T/problems" ||
		fail "/metrics is not valid: $(head -n 3 "$T/problems")"
done
sample() { awk -v m="$2" '$1 == m { print $2 }' "$T/$1.samples"; }
total=0
for oc in delivered http_error timeout connect_error error; do
	a=$(sample metrics "packcode_webhook_attempts_total{outcome=\"$oc\"}")
	b=$(sample metrics2 "packcode_webhook_attempts_total{outcome=\"$oc\"}")
	[ -n "$a" ] && [ -n "$b" ] || fail "no packcode_webhook_attempts_total{outcome=\"$oc\"}"
	total=$((total + ${a%.*} + ${b%.*}))
	eval "N_$oc=$((${a%.*} + ${b%.*}))"
done
[ "$total" = "$(sql "SELECT count(*) FROM webhook_attempts")" ] ||
	fail "attempts counted $total, recorded $(sql "SELECT count(*) FROM webhook_attempts")"
[ "$N_delivered" = "$(sql "SELECT count(*) FROM webhook_deliveries")" ] || fail "delivered attempts $N_delivered"
[ "$N_http_error" -ge 1 ] && [ "$N_timeout" -ge 1 ] ||
	fail "http_error $N_http_error, timeout $N_timeout (seed $SEED)"
[ "$(sql "SELECT count(*) FROM webhook_attempts WHERE outcome = 'http_error' AND (http_status <> 500 OR error NOT LIKE 'HTTP 500%')")" = 0 ] ||
	fail "an http_error recorded without its status"
[ "$(sample metrics packcode_webhook_deliveries_failed_total)" -eq 0 ] || fail "failed deliveries counted"
ok "/metrics parses, one series each: $total attempts ($N_delivered delivered, $N_http_error http_error, $N_timeout timeout), as recorded"

# ---- the deliveries, with their attempts ----
admin GET "/api/v1/admin/webhooks/$W1/deliveries?limit=5"
expect 200 "deliveries"
[ "$(field '.deliveries | length')" = 5 ] && [ "$(field .next_before)" != null ] ||
	fail "deliveries page: $(head -c 600 "$T/body")"
[ "$(field '.deliveries[0].status')" = delivered ] && [ "$(field '.deliveries[0].attempts[-1].outcome')" = delivered ] ||
	fail "a delivery: $(head -c 600 "$T/body")"
RETRIED=$(sql "SELECT event_id FROM webhook_deliveries WHERE webhook_id = $W1 AND attempts > 1 ORDER BY event_id LIMIT 1")
admin GET "/api/v1/admin/webhooks/$W1/deliveries?before=$((RETRIED + 1))&limit=1"
expect 200 "a retried delivery"
[ "$(field '.deliveries[0].event.id')" = "$RETRIED" ] && [ "$(field '.deliveries[0].attempts | length')" -ge 2 ] &&
	[ "$(field '.deliveries[0].attempts[0].attempt')" = 1 ] && [ "$(field '.deliveries[0].attempts[0].outcome')" != delivered ] &&
	[ "$(field '.deliveries[0].attempts[0].duration_ms | type')" = number ] ||
	fail "a retried delivery's attempts: $(cat "$T/body")"
admin GET "/api/v1/admin/webhooks/$W1/deliveries?status=failed"
expect 200 "no failed deliveries"
[ "$(field '.deliveries | length')" = 0 ] || fail "failed: $(cat "$T/body")"
admin GET "/api/v1/admin/webhooks/999/deliveries"
expect 404 "deliveries of no subscription"
admin GET "/api/v1/admin/webhooks/$W1/deliveries?status=lost"
expect 400 "an unknown status"
ok "deliveries listed with their attempts (status, outcome, duration), paged, by status; 404 and 400"

# ---- replay: the same event again ----
EV=$(head -n 1 "$T/expect2" | cut -d' ' -f1)
admin POST "/api/v1/admin/webhooks/$W2/deliveries/$EV/replay"
expect 202 "replay"
[ "$(field .previous)" = delivered ] || fail "replay: $(cat "$T/body")"
wait_until 15 "the replayed event to arrive again" arrived steady "$EV" 2
[ "$(jq -r --arg e "$EV" 'select(.event_id == $e) | .body' "$T/steady.log" | sort -u | wc -l)" = 1 ] ||
	fail "the replay's body differs"
[ "$(sql "SELECT status || ' ' || attempts || ' ' || tries FROM webhook_deliveries WHERE webhook_id = $W2 AND event_id = $EV")" = "delivered 2 1" ] ||
	fail "after the replay: $(sql "SELECT status, attempts, tries FROM webhook_deliveries WHERE webhook_id = $W2 AND event_id = $EV")"
admin POST "/api/v1/admin/webhooks/$W2/deliveries/999999/replay"
expect 404 "replay of an event never sent there"
[ "$(field .error)" = unknown_delivery ] || fail "replay unknown: $(cat "$T/body")"
admin POST "/api/v1/admin/webhooks/999/deliveries/$EV/replay"
expect 404 "replay on no subscription"
[ "$(sql "SELECT count(*) FROM audit WHERE action = 'webhook.replay'")" = 1 ] || fail "replay audit"
ok "replay re-sends the same event (id and body), audited; 404 for an unknown delivery or subscription"

# ---- SIGTERM; then a server that gives up after 2 tries, with CORS ----
kill -TERM "$SERVER2_PID"
wait_until 15 "the second server to stop" gone "$SERVER2_PID"
wait "$SERVER2_PID" || fail "the second server exited $? on SIGTERM"
SERVER2_PID=
server_stop
server_start --threads 1 --pool 2 --webhook-timeout 1 --webhook-retry 1 --webhook-tries 2 \
	--cors-origin https://console.example --cors-origin http://localhost:3000
# a port where nothing listens
DEAD=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
admin POST /api/v1/admin/webhooks "{\"url\":\"http://127.0.0.1:$DEAD/\",\"events\":[\"product.created\"]}"
expect 201 "a subscription to a dead port"
W3=$(field .id)
pcgen product add --sku HOOK-3 --name "Nobody listens" --points 1 >/dev/null || fail "product add"
failed_once() { sql_is failed "SELECT status FROM webhook_deliveries WHERE webhook_id = $W3"; }
wait_until 20 "the delivery to fail after 2 tries" failed_once
admin GET "/api/v1/admin/webhooks/$W3/deliveries?status=failed"
expect 200 "failed deliveries"
[ "$(field '.deliveries | length')" = 1 ] && [ "$(field '.deliveries[0].attempts | length')" = 2 ] &&
	[ "$(field '.deliveries[0].attempts[1].outcome')" = connect_error ] && [ "$(field '.deliveries[0].done')" != null ] ||
	fail "the failed delivery: $(cat "$T/body")"
admin GET /api/v1/admin/webhooks
[ "$(field ".webhooks[] | select(.id == $W3) | .failed")" = 1 ] || fail "failed count: $(cat "$T/body")"
# the dead port's delivery, and the random receiver's of the same event when it failed both tries
failed_counted() {
	local n m
	n=$(grep -c 'event=webhook_failed' "$T/server.log")
	m=$(metric packcode_webhook_deliveries_failed_total)
	[ "$n" -ge 1 ] && [ "$m" = "$n" ] || { echo "failed_total $m, $n failed in the log"; return 1; }
}
wait_until 10 "failed_total to count the failed deliveries" failed_counted
EV3=$(sql "SELECT event_id FROM webhook_deliveries WHERE webhook_id = $W3")
admin POST "/api/v1/admin/webhooks/$W3/deliveries/$EV3/replay"
expect 202 "replay of a failed delivery"
failed_again() { sql_is "failed 4" "SELECT status || ' ' || attempts FROM webhook_deliveries WHERE webhook_id = $W3"; }
wait_until 20 "the replayed delivery to fail after 2 more tries" failed_again
ok "a delivery fails after --webhook-tries (connect_error), visible in the API and /metrics; a replay tries it afresh"

# ---- a deleted subscription gets nothing more ----
admin DELETE "/api/v1/admin/webhooks/$W2"
expect 200 "delete"
[ "$(field .deleted)" = true ] || fail "delete: $(cat "$T/body")"
admin DELETE "/api/v1/admin/webhooks/$W2"
expect 404 "delete again"
STEADY=$(wc -l <"$T/steady.log")
claim "$(code 70)" m1
expect 200 "a claim after the delete"
EV4=$(sql "SELECT max(id) FROM webhook_events WHERE type = 'claim.awarded'")
[ "$(sql "SELECT count(*) FROM webhook_deliveries WHERE event_id = $EV4")" = 1 ] ||
	fail "the new event went to a deleted subscription"
wait_until 30 "the random receiver to be sent the new event" reached random "$EV4"
[ "$(wc -l <"$T/steady.log")" = "$STEADY" ] || fail "the deleted subscription's receiver got more"
admin GET /api/v1/admin/webhooks
[ "$(field "[.webhooks[].id] | index($W2)")" = null ] || fail "a deleted subscription is listed"
ok "a deleted subscription is not listed and gets nothing more; delete twice is 404"

# ---- brands: a subscription made by a brand-limited token gets its brands' events only ----
pcgen product add --sku BEAN --name Beans --brand "Bean Co" --points 3 >/dev/null || fail "product BEAN"
pcgen mint --product BEAN --count 2 --out "$T/bean" --host pack.example --short -q || fail "mint BEAN"
BEAN=$(tail -n +2 "$T/bean/codes.csv" | head -n 1 | cut -d, -f1)
TEA_ONLY=$(pcgen token add --name tea-hooks --brands "Packcode Tea" 2>/dev/null) || fail "token tea-hooks"
receiver teaonly accept
ALL_TOK=$TOK
TOK=$TEA_ONLY
admin POST /api/v1/admin/webhooks "{\"url\":\"http://127.0.0.1:$RPORT/\",\"events\":[\"claim.awarded\",\"product.created\"]}"
expect 201 "a subscription of a brand-limited token"
W5=$(field .id)
admin GET /api/v1/admin/webhooks
[ "$(field '[.webhooks[].id] | map(tostring) | join(",")')" = "$W5" ] || fail "a brand-limited token sees others' subscriptions: $(cat "$T/body")"
admin DELETE "/api/v1/admin/webhooks/$W1"
expect 404 "a brand-limited token deletes another's subscription"
admin GET "/api/v1/admin/webhooks/$W1/deliveries"
expect 404 "a brand-limited token reads another's deliveries"
TOK=$ALL_TOK
bean_listed() { http_is 200 "/api/v1/codes/$BEAN"; }
wait_until 10 "the new print run in the catalog" bean_listed
claim "$BEAN" m2
expect 200 "a claim of another brand's code"
claim "$(code 71)" m2
expect 200 "a claim of a Packcode Tea code"
EV_BEAN=$(sql "SELECT id FROM webhook_events WHERE type = 'claim.awarded' AND brand = 'Bean Co'")
EV_TEA=$(sql "SELECT max(id) FROM webhook_events WHERE type = 'claim.awarded' AND brand = 'Packcode Tea'")
[ -n "$EV_BEAN" ] && [ "$(sql "SELECT string_agg(webhook_id::text, ',' ORDER BY webhook_id) FROM webhook_deliveries WHERE event_id = $EV_BEAN")" = "$W1" ] ||
	fail "another brand's event went to: $(sql "SELECT string_agg(webhook_id::text, ',') FROM webhook_deliveries WHERE event_id = $EV_BEAN")"
wait_until 30 "the brand's event at its subscription" arrived teaonly "$EV_TEA"
wait_until 30 "the other brand's event at the unlimited subscription" reached random "$EV_BEAN"
[ "$(jq -r .event_id "$T/teaonly.log" | sort -u | tr '\n' ' ')" = "$EV_TEA " ] ||
	fail "the brand-limited subscription got: $(jq -r .event_id "$T/teaonly.log" | tr '\n' ' ')"
# claim(), the one-claim function of the pgbench reference, emits as claim_many does
[ "$(sql "SELECT outcome FROM claim($((FIRST1 + 72)), $B1, 'm3')")" = awarded ] || fail "claim() did not award"
[ "$(sql "SELECT e.subject || ' ' || (e.data->>'points') || ' ' || string_agg(d.webhook_id::text, ',' ORDER BY d.webhook_id) FROM webhook_events e JOIN webhook_deliveries d ON d.event_id = e.id WHERE (e.data->>'serial')::bigint = $((FIRST1 + 72)) GROUP BY e.id")" = "member:m3 10 $W1,$W5" ] ||
	fail "claim()'s event: $(sql "SELECT * FROM webhook_events WHERE (data->>'serial')::bigint = $((FIRST1 + 72))")"
ok "brands: a brand-limited token's subscription gets its brand's events only, and it sees and changes no other subscription"

# ---- CORS: listed origins only ----
cors https://console.example OPTIONS "/api/v1/admin/webhooks/$W1" -H 'Access-Control-Request-Method: DELETE' \
	-H 'Access-Control-Request-Headers: authorization'
expect 204 "a preflight from a listed origin"
[ "$(hdr Access-Control-Allow-Origin)" = https://console.example ] &&
	hdr Access-Control-Allow-Methods | grep -q DELETE && hdr Access-Control-Allow-Headers | grep -qi authorization &&
	[ -n "$(hdr Access-Control-Max-Age)" ] && hdr Vary | grep -q Origin ||
	fail "preflight headers: $(tr -d '\r' <"$T/h")"
cors https://evil.example OPTIONS /api/v1/admin/webhooks -H 'Access-Control-Request-Method: GET'
[ "$STATUS" != 204 ] && [ -z "$(hdr Access-Control-Allow-Origin)" ] || fail "a preflight from another origin: $STATUS"
cors https://console.example.evil OPTIONS /api/v1/admin/webhooks -H 'Access-Control-Request-Method: GET'
[ -z "$(hdr Access-Control-Allow-Origin)" ] || fail "an origin that only starts like a listed one"
cors http://localhost:3000 GET /api/v1/admin/webhooks -H "Authorization: Bearer $TOK"
expect 200 "a GET from a listed origin"
[ "$(hdr Access-Control-Allow-Origin)" = http://localhost:3000 ] || fail "no Allow-Origin on the reply"
cors http://localhost:3000 GET /api/v1/admin/webhooks
expect 401 "a GET from a listed origin without a token"
[ "$(hdr Access-Control-Allow-Origin)" = http://localhost:3000 ] || fail "no Allow-Origin on a 401"
cors https://console.example GET "/api/v1/codes/$(code 1)"
[ -z "$(hdr Access-Control-Allow-Origin)" ] || fail "CORS on a route that is not the admin API"
ok "CORS: preflight 204 for listed origins (methods of the path, Authorization allowed), none for others, Allow-Origin on admin replies only"

# ---- SIGTERM with a delivery in flight: drained and recorded; or, without time to drain, left to its lease ----
receiver hang hang
admin POST /api/v1/admin/webhooks "{\"url\":\"http://127.0.0.1:$RPORT/\",\"events\":[\"batch.recalled\"]}"
expect 201 "a subscription to a receiver that never answers in time"
W4=$(field .id)
admin POST "/api/v1/admin/batches/$B2/recall" '{"reason":"in flight at SIGTERM"}'
expect 200 "a recall"
hang_requests() { local n; n=$(wc -l <"$T/hang.log"); [ "$n" -ge "$1" ] || { echo "$n requests"; return 1; }; }
wait_until 10 "the delivery to be in flight" hang_requests 1
server_stop
[ "$(sql "SELECT string_agg(outcome, ',') FROM webhook_attempts WHERE webhook_id = $W4")" = timeout ] &&
	[ "$(sql "SELECT status || ' ' || (leased_until IS NULL) FROM webhook_deliveries WHERE webhook_id = $W4")" = "pending true" ] ||
	fail "the attempt in flight at SIGTERM was not drained and recorded: $(sql "SELECT * FROM webhook_deliveries WHERE webhook_id = $W4"); attempts: $(sql "SELECT * FROM webhook_attempts WHERE webhook_id = $W4")"
server_start --threads 1 --pool 2 --webhook-timeout 1 --webhook-retry 1 --webhook-tries 5 --drain-timeout 0
wait_until 10 "the retry to be in flight" hang_requests 2
server_stop
[ "$(sql "SELECT count(*) FROM webhook_attempts WHERE webhook_id = $W4")" = 1 ] &&
	# its lease kept, not released (whether it is still running depends on how long this took)
	[ "$(sql "SELECT status || ' ' || attempts || ' ' || (leased_until IS NOT NULL) FROM webhook_deliveries WHERE webhook_id = $W4")" = "pending 2 true" ] ||
	fail "the attempt aborted at SIGTERM: $(sql "SELECT * FROM webhook_deliveries WHERE webhook_id = $W4")"
ok "SIGTERM: a delivery in flight is drained and recorded; without time to drain it is aborted and left to its lease (sent again when it expires)"
