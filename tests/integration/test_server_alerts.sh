#!/bin/bash
# test_server_alerts.sh: alerts (docs/alerts.md) end to end. Rules through
# the admin API (read to list, operate to change; brand-scoped: a brand's
# token makes rules for its brand only; a region only on a not_genuine
# rule: travel and per-region rules are tested in test_server_insights.sh). Two
# servers evaluate every second on one database: a code of brand A scanned
# by more scanners than the rule allows raises exactly one alert, however
# many more scan it within the window and whichever server evaluates; a
# code of brand B does not fire A's rule; not-genuine scans over the rate
# raise one; a consumer's report always raises one (reports.alerted_at
# set); a window later the code raises again. Each alert reaches the local webhook receiver once as
# code.suspicious or code.reported. The list is brand-scoped and paged;
# acknowledging needs operate, is audited, and holds its first answer.
PC_TIMEOUT=120
. "$(dirname "$0")/harness.sh"
. "$(dirname "$0")/server_lib.sh"

command -v python3 >/dev/null || skip "no python3"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
IT=$abs_top_srcdir/tests/integration

RECEIVER_PID=
SERVER2_PID=
al_exit() {
	local rc=$? pid
	set +e
	for pid in $RECEIVER_PID $SERVER2_PID; do
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	(exit "$rc")
	server_exit
}
trap al_exit EXIT

setup # TEA of brand "Packcode Tea"
pcgen product add --sku BEAN --name "Beans" --brand "Bean Co" --points 3 >/dev/null || fail "product BEAN"
mint 6
cp "$CODES" "$T/codes"
SA=$FIRST
pcgen mint --product BEAN --count 4 --out "$T/bean" --host pack.example --short -q || fail "mint BEAN"
BCODE=$(sed -n 2p "$T/bean/codes.csv" | cut -d, -f1)

elsewhere "$T/other.keyring" 1 5 >"$T/forged" # signed by a key not ours: not genuine
TALL=$(pcgen token add --name group 2>/dev/null) || fail "token group"
TA=$(pcgen token add --name tea --scopes read,operate --brands "Packcode Tea" 2>/dev/null) || fail "token tea"
TB=$(pcgen token add --name bean --scopes read,operate --brands "Bean Co" 2>/dev/null) || fail "token bean"
TREAD=$(pcgen token add --name reader --scopes read 2>/dev/null) || fail "token reader"

python3 "$IT/webhook_receiver.py" "$T/r.port" "$T/r.log" --mode accept --lifetime 110 2>"$T/r.err" &
RECEIVER_PID=$!
: >>"$T/r.log"
wait_until 10 "the receiver to listen" test -s "$T/r.port"
RPORT=$(cat "$T/r.port")

server_start --threads 1 --pool 3 --alert-interval 1
"$SERVER" --listen 127.0.0.1:0 --threads 1 --pool 2 --alert-interval 1 >"$T/server2.log" 2>&1 &
SERVER2_PID=$!

# as TOKEN METHOD PATH [BODY]
as() {
	local args=(-s --max-time 10 -o "$T/body" -w '%{http_code}' -X "$2" -H "Authorization: Bearer $1")
	[ $# -ge 4 ] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
	STATUS=$(curl "${args[@]}" "$BASE$3")
}

as "$TALL" POST /api/v1/admin/webhooks "{\"url\":\"http://127.0.0.1:$RPORT/\",\"events\":[\"code.suspicious\",\"code.reported\"]}"
expect 201 "subscription"

# ---- rules ----
as "$TA" POST /api/v1/admin/alert-rules '{"kind":"scanners","threshold":3,"window_s":600,"brand":"Packcode Tea"}'
expect 201 "tea's scanners rule"
RULE=$(field .id)
as "$TB" POST /api/v1/admin/alert-rules '{"kind":"scanners","threshold":1,"window_s":600,"brand":"Packcode Tea"}'
expect 403 "bean's rule for tea"
as "$TB" POST /api/v1/admin/alert-rules '{"kind":"scanners","threshold":1,"window_s":600}'
expect 403 "bean's rule for every brand"
as "$TREAD" POST /api/v1/admin/alert-rules '{"kind":"scanners","threshold":1,"window_s":600}'
expect 403 "a rule without operate"
as "$TALL" POST /api/v1/admin/alert-rules '{"kind":"travel","threshold":1,"window_s":600,"region":"CN-ZJ"}'
expect 400 "a region on a travel rule"
as "$TALL" POST /api/v1/admin/alert-rules '{"kind":"not_genuine","threshold":4,"window_s":600,"brand":"Bean Co"}'
expect 400 "a brand's not_genuine rule"
for bad in '{"kind":"scanners","threshold":0,"window_s":600}' '{"kind":"scanners","threshold":3,"window_s":5}' \
	'{"kind":"scanners","threshold":3}' '{"kind":"x","threshold":3,"window_s":600}' \
	'{"kind":"scanners","threshold":3,"window_s":600,"extra":1}' '{"kind":"scanners","kind":"scanners"}' 'nope'; do
	as "$TALL" POST /api/v1/admin/alert-rules "$bad"
	[[ $STATUS == 400 ]] || fail "$bad: $STATUS"
done
as "$TALL" POST /api/v1/admin/alert-rules '{"kind":"not_genuine","threshold":4,"window_s":600}'
expect 201 "the group's not_genuine rule"
NGRULE=$(field .id)
[ "$(sql "SELECT count(*) FROM alert_rules")" = 2 ] || fail "refused rules were stored"
as "$TB" GET /api/v1/admin/alert-rules
[ "$(field '.rules | length')" = 0 ] || fail "bean sees rules: $(cat "$T/body")"
as "$TA" GET /api/v1/admin/alert-rules
[ "$(field '[.rules[].id] | map(tostring) | join(",")')" = "$RULE" ] || fail "tea sees: $(cat "$T/body")"
as "$TREAD" GET /api/v1/admin/alert-rules
[ "$(field '.rules | length')" = 2 ] || fail "reader sees: $(cat "$T/body")"
[ "$(sql "SELECT count(*) FROM audit WHERE action = 'alert_rule.add'")" = 2 ] || fail "rules not audited"
ok "rules: made with operate for the identity's brands only; a region on travel 400; bad bodies 400; listed by brand"

wait_until 15 "the second server to listen" grep -q 'event=listening' "$T/server2.log"

# ---- scanners: one alert per code and window ----
scan_as() { curl -s --max-time 5 -o /dev/null -A "$2" "$BASE/c/$1"; }
for i in 1 2 3 4 5; do scan_as "$(code 1)" "phone-$i"; done
for i in 1 2 3 4 5; do scan_as "$BCODE" "phone-$i"; done
wait_until 15 "tea's code to raise an alert" sql_is 1 \
	"SELECT count(*) FROM alerts WHERE rule_id = $RULE AND subject = 'code:$SA'"
for i in 6 7 8; do scan_as "$(code 1)" "phone-$i"; done
wait_until 10 "the new scanners counted" sql_is 8 "SELECT scanners FROM code_stats WHERE serial = $SA"
e0=$(sql "SELECT evaluated_at FROM alert_state")
wait_until 10 "two evaluations more" sql_is t "SELECT evaluated_at > '$e0'::timestamptz + interval '1 second' FROM alert_state"
[ "$(sql "SELECT count(*) FROM alerts WHERE rule_id = $RULE")" = 1 ] ||
	fail "alerts of the rule: $(sql "SELECT subject, raised_at FROM alerts WHERE rule_id = $RULE")"
[ "$(sql "SELECT (detail->>'scanners')::int > 3 AND detail->>'sku' = 'TEA' FROM alerts WHERE rule_id = $RULE")" = t ] ||
	fail "alert detail: $(sql "SELECT detail FROM alerts")"
ok "a code past the rule's scanners: one alert, not again within the window; the other brand's code none"

# ---- not genuine, and a report ----
for c in $(cat "$T/forged"); do curl -s --max-time 5 -o /dev/null "$BASE/c/$c"; done
wait_until 15 "the not-genuine alert" sql_is 1 "SELECT count(*) FROM alerts WHERE rule_id = $NGRULE"
from 127.0.0.8 "/c/$(code 2)/report" -H 'Accept: application/json' -d 'reason=copied'
[ "$(field .outcome)" = filed ] || fail "report: $(cat "$T/body")"
wait_until 15 "the report's alert" sql_is 1 "SELECT count(*) FROM alerts WHERE kind = 'report'"
[ "$(sql "SELECT count(*) FROM reports WHERE alerted_at IS NULL")" = 0 ] || fail "a report not alerted"
sleep 1.5 # more evaluations by both servers: nothing more
[ "$(sql "SELECT count(*) FROM alerts")" = 3 ] || fail "alerts: $(sql "SELECT kind, subject FROM alerts")"
ok "not-genuine scans over the rate: one alert; a report: one alert; two evaluating servers raise nothing twice"

# ---- webhooks ----
got() { jq -r --arg e "$1" 'select(.event == $e) | .event_id' "$T/r.log" | sort -u | wc -l; }
# (a function: wait_until runs it again each time; "$(got ...)" as its
# arguments would be counted once, before the wait)
webhooks_in() { [ "$(got code.suspicious)" = 2 ] && [ "$(got code.reported)" = 1 ]; }
wait_until 20 "the webhooks" webhooks_in
sleep 1
[ "$(jq -r .event_id "$T/r.log" | sort | uniq -d | wc -l)" = 0 ] || fail "an event delivered twice"
jq -s -e --arg s "$SA" '[.[] | select(.event == "code.suspicious") | .body | fromjson | .data | select(.serial == ($s | tonumber) and .reason == "scanners" and .rule > 0)] | length == 1' \
	"$T/r.log" >/dev/null || fail "code.suspicious payload: $(cat "$T/r.log")"
jq -s -e '[.[] | select(.event == "code.reported") | .body | fromjson | .data | select(.reason == "copied" and .alert > 0)] | length == 1' \
	"$T/r.log" >/dev/null || fail "code.reported payload: $(cat "$T/r.log")"
ok "code.suspicious (2) and code.reported (1) reached the receiver once each"

# ---- the list and acknowledgement ----
as "$TALL" GET "/api/v1/admin/alerts?limit=2"
expect 200 "alerts"
[ "$(field '.alerts | length')" = 2 ] && [ "$(field .next_before)" != null ] || fail "page 1: $(cat "$T/body")"
as "$TALL" GET "/api/v1/admin/alerts?limit=2&before=$(field .next_before)"
[ "$(field '.alerts | length')" = 1 ] && [ "$(field .next_before)" = null ] || fail "page 2: $(cat "$T/body")"
as "$TB" GET /api/v1/admin/alerts
[ "$(field '.alerts | length')" = 0 ] || fail "bean sees: $(cat "$T/body")"
as "$TA" GET /api/v1/admin/alerts
[ "$(field '[.alerts[].kind] | sort | join(",")')" = report,scanners ] || fail "tea sees: $(cat "$T/body")"
AID=$(field '.alerts[] | select(.kind == "scanners") | .id')
as "$TREAD" POST "/api/v1/admin/alerts/$AID/acknowledge"
expect 403 "acknowledge without operate"
as "$TB" POST "/api/v1/admin/alerts/$AID/acknowledge"
expect 404 "bean acknowledges tea's alert"
as "$TA" POST "/api/v1/admin/alerts/$AID/acknowledge"
expect 200 "tea acknowledges"
[ "$(field .already)" = false ] && [ "$(field .acknowledged_by)" = tea ] || fail "ack: $(cat "$T/body")"
as "$TALL" POST "/api/v1/admin/alerts/$AID/acknowledge"
[ "$(field .already)" = true ] && [ "$(field .acknowledged_by)" = tea ] || fail "ack again: $(cat "$T/body")"
as "$TA" GET "/api/v1/admin/alerts?status=open"
[ "$(field '[.alerts[].kind] | join(",")')" = report ] || fail "open: $(cat "$T/body")"
[ "$(sql "SELECT count(*) FROM audit WHERE action = 'alert.acknowledge' AND actor = 'tea'")" = 1 ] ||
	fail "acknowledgement not audited once"
# a window later (the alert made older than the rule's window), a new scanner raises again
sql "UPDATE alerts SET raised_at = raised_at - interval '601 seconds', bucket = bucket - 2
      WHERE rule_id = $RULE" >/dev/null
scan_as "$(code 1)" phone-9
wait_until 15 "a second alert, a window later" sql_is 2 "SELECT count(*) FROM alerts WHERE rule_id = $RULE"
ok "a window after its alert, a code still past the rule raises again"

as "$TB" DELETE "/api/v1/admin/alert-rules/$RULE"
expect 404 "bean deletes tea's rule"
as "$TA" DELETE "/api/v1/admin/alert-rules/$RULE"
expect 200 "tea deletes its rule"
as "$TA" DELETE "/api/v1/admin/alert-rules/$RULE"
expect 404 "deleted twice"
ok "alerts listed by brand and paged; acknowledged with operate once (audited); rules deleted by their brand"

kill -TERM "$SERVER2_PID"
wait "$SERVER2_PID" || fail "the second server exited $?"
SERVER2_PID=
server_stop
