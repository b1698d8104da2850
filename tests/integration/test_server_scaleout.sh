#!/bin/bash
# test_server_scaleout.sh: three packcode-servers on one database behind
# HAProxy, as docs/operations.md sets them up: each with its own copy of the
# keyring (replaced by a rename, as a deployment tool would), HAProxy as their
# trusted proxy, health-checked on the admin listener. Without any signal:
# a recall, a new key (a code of it is "cannot verify now", 503, never "not
# genuine", until the key arrives; then genuine everywhere) and a revoked key
# each reach all three within 2 s. The address in the scan records and audit
# rows is the client's only where the proxy is trusted.
PC_TIMEOUT=240
. "$(dirname "$0")/harness.sh"
. "$(dirname "$0")/server_lib.sh"
command -v haproxy >/dev/null || skip "no haproxy (scripts/setup-debian.sh installs it)"
command -v python3 >/dev/null || skip "no python3"

NODES=(1 2 3)   # behind HAProxy, trusting it
S_PID=() S_PORT=() S_APORT=()
HA_PID=

scaleout_exit() {
	local rc=$? p
	set +e
	[ -n "$HA_PID" ] && kill -KILL "$HA_PID" 2>/dev/null
	for p in "${S_PID[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	if [ "$rc" != 0 ]; then
		for p in "$T"/s*.log "$T/haproxy.log"; do
			[ -f "$p" ] && { echo "--- last lines of $p:" >&2; tail -n 15 "$p" >&2; }
		done
	fi
	(exit "$rc")
	server_exit
}
trap scaleout_exit EXIT

# distribute: every server's keyring replaced by the current one, by a rename
distribute() {
	local n
	for n in 1 2 3 4; do
		mkdir -p "$T/s$n"
		cp "$PACKCODE_KEYRING" "$T/s$n/keyring.new"
		chmod 600 "$T/s$n/keyring.new"
		mv -f "$T/s$n/keyring.new" "$T/s$n/keyring"
	done
}

node_listening() {
	gone "${S_PID[$1]}" && fail "server $1 exited: $(tail -n 5 "$T/s$1.log")"
	grep -qs 'event=admin_listening' "$T/s$1.log"
}

# node_start N ARGS...: server N with its own keyring copy, a public and an admin port.
node_start() {
	local n=$1
	shift
	"$SERVER" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --keyring "$T/s$n/keyring" \
		"$@" >"$T/s$n.log" 2>&1 &
	S_PID[$n]=$!
	wait_until 15 "server $n to listen" node_listening "$n"
	S_PORT[$n]=$(sed -n 's/.*event=listening addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/s$n.log")
	S_APORT[$n]=$(sed -n 's/.*event=admin_listening addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/s$n.log")
	BASE=http://127.0.0.1:${S_APORT[$n]}
	wait_until 15 "server $n to be ready" http_is 200 /readyz
}

# on N PATH [CURL-ARGS...]: GET on server N's public port. via PORT PATH ...: on HAProxy's.
# Set STATUS; body in $T/body, headers in $T/h.
get() {
	local url=$1
	shift
	STATUS=$(curl -s --max-time 5 -D "$T/h" -o "$T/body" -w '%{http_code}' "$@" "$url") || true
}
on() {
	local n=$1 path=$2
	shift 2
	get "http://127.0.0.1:${S_PORT[$n]}$path" "$@"
}
via() {
	local port=$1 path=$2
	shift 2
	get "http://127.0.0.1:$port$path" "$@"
}

# everywhere CODE STATUS VERDICT: servers 1 to 3, each asked directly, answer
# the lookup of CODE so (a condition). A "not genuine" is never what a code of
# ours may be called on the way: that fails at once.
everywhere() {
	local code=$1 want=$2 verdict=$3 n
	for n in "${NODES[@]}"; do
		on "$n" "/api/v1/codes/$code"
		[ "$STATUS" = 404 ] && fail "server $n called $code not genuine: $(cat "$T/body")"
		if [ "$STATUS" != "$want" ] || [ "$(field .verdict)" != "$verdict" ]; then
			echo "server $n: $STATUS $(head -c 200 "$T/body")"
			return 1
		fi
	done
}

# through_haproxy CODE STATUS VERDICT: six lookups through HAProxy (each
# server twice, round robin) answer so, at once.
through_haproxy() {
	local i
	for i in 1 2 3 4 5 6; do
		via "$HPORT" "/api/v1/codes/$1"
		[ "$STATUS" = "$2" ] && [ "$(field .verdict)" = "$3" ] ||
			fail "lookup $i through HAProxy: $STATUS, not $2 $3: $(head -c 300 "$T/body")"
	done
}

# admin N METHOD PATH [BODY]: the admin API on server N's admin port (from
# 127.0.0.1, a trusted proxy); sets STATUS, body in $T/body. More curl
# arguments in ADMIN_ARGS.
ADMIN_ARGS=()
admin() {
	STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' -X "$2" "${ADMIN_ARGS[@]}" \
		-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
		${4:+--data-binary "$4"} "http://127.0.0.1:${S_APORT[$1]}$3")
}

setup
mint 10
cp "$CODES" "$T/codes"
RECALL_BATCH=$BATCH
mint 10
cp "$CODES" "$T/codes2"
TOKEN=$(pcgen token add --name ops) || fail "token add"

# ---- three servers trusting HAProxy (127.0.0.1), a fourth that does not ----
distribute
for n in "${NODES[@]}"; do
	node_start "$n" --trusted-proxy 127.0.0.1
done
node_start 4
FORGED0=$(BASE=http://127.0.0.1:${S_APORT[1]} metric packcode_forged_total)

read -r HPORT HPORT2 < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s:
    x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
cat >"$T/haproxy.cfg" <<EOF
global
    maxconn 256
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
    option forwardfor
frontend packcode
    bind 127.0.0.1:$HPORT
    default_backend servers
backend servers
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    server s1 127.0.0.1:${S_PORT[1]} check port ${S_APORT[1]} inter 500ms
    server s2 127.0.0.1:${S_PORT[2]} check port ${S_APORT[2]} inter 500ms
    server s3 127.0.0.1:${S_PORT[3]} check port ${S_APORT[3]} inter 500ms
frontend untrusting
    bind 127.0.0.1:$HPORT2
    default_backend untrusting
backend untrusting
    server s4 127.0.0.1:${S_PORT[4]}
EOF
haproxy -c -q -f "$T/haproxy.cfg" || fail "haproxy refuses the configuration"
timeout --foreground 200 haproxy -db -f "$T/haproxy.cfg" >"$T/haproxy.log" 2>&1 &
HA_PID=$!
haproxy_up() {
	gone "$HA_PID" && fail "haproxy exited: $(cat "$T/haproxy.log")"
	via "$HPORT" /healthz
	[ "$STATUS" = 200 ] || { echo "$STATUS"; return 1; }
}
wait_until 15 "HAProxy to answer" haproxy_up

C1=$(code 1)
wait_until 5 "a code of the first key genuine everywhere" everywhere "$C1" 200 genuine
through_haproxy "$C1" 200 genuine
ok "three servers on one database behind HAProxy (health-checked on their admin listeners)"

# ---- a recall reaches every server within 2 s (NOTIFY) ----
ADMIN_ARGS=(--interface 127.0.0.7 -H 'X-Forwarded-For: 6.6.6.6')
admin 1 POST "/api/v1/admin/batches/$RECALL_BATCH/recall" '{"reason":"scale-out test"}'
expect 200 "the recall"
wait_until 2 "the recall on all three servers" everywhere "$C1" 410 recalled
through_haproxy "$C1" 410 recalled
ok "a recall made on one server reaches all three within 2 s (here ${WAITED_MS} ms)"

# ---- a new key: "cannot verify now" until each server has it, never "not genuine" ----
pcgen keygen >/dev/null || fail "keygen"
mint 5
NEW=$(head -n 1 "$CODES")
everywhere "$NEW" 503 unknown_key || fail "a code of a key not yet distributed: $(everywhere "$NEW" 503 unknown_key)"
[ "$(hdr Retry-After)" = 1 ] || fail "no Retry-After on the 503"
[ "$(field .error)" = cannot_verify ] || fail "the 503's error: $(cat "$T/body")"
via "$HPORT" "/api/v1/codes/$NEW"
[ "$STATUS" = 503 ] || fail "through HAProxy, a code of an unknown key: $STATUS"
on 1 "/c/$NEW"
[ "$STATUS" = 503 ] && grep -q '<html' "$T/body" && [ "$(hdr Retry-After)" = 1 ] ||
	fail "the landing page of a code of an unknown key: $STATUS $(hdr Content-Type)"
BASE=http://127.0.0.1:${S_PORT[1]}
claim "$NEW" alice
[ "$STATUS" = 503 ] && [ "$(field .error)" = cannot_verify ] || fail "a claim of it: $STATUS $(cat "$T/body")"
BASE=http://127.0.0.1:${S_APORT[1]}
[ "$(metric packcode_forged_total)" = "$FORGED0" ] || fail "codes of an unknown key counted as forged"
[ "$(metric packcode_unknown_key_total)" -ge 3 ] || fail "unknown keys not counted"
ok "a code of a key not yet on the servers: 503 cannot_verify with Retry-After (API, page, claim), not counted as forged"

distribute
wait_until 2 "the new key on all three servers" everywhere "$NEW" 200 genuine
through_haproxy "$NEW" 200 genuine
ok "the new key's codes are genuine on all three within 2 s of the keyring's arrival, no signal (here ${WAITED_MS} ms)"

# ---- a revoked key reaches every server within 2 s, no signal ----
pcgen key revoke 2 >/dev/null || fail "key revoke"
distribute
wait_until 2 "the revocation on all three servers" everywhere "$NEW" 410 revoked_key
through_haproxy "$NEW" 410 revoked_key
ok "a revoked key reaches all three within 2 s, no signal (here ${WAITED_MS} ms)"
for n in "${NODES[@]}"; do
	grep -q 'event=keyring_changed' "$T/s$n.log" || fail "server $n: no keyring_changed logged"
	! grep -q 'signal=HUP\|why=signal' "$T/s$n.log" || fail "server $n had a signal"
done

# ---- the client's address: the proxy's word only where the proxy is trusted ----
C2=$(code 1 "$T/codes2")
UA=scaleout-$RANDOM
via "$HPORT" "/api/v1/codes/$C2" --interface 127.0.0.5 -A "$UA-trusted"
via "$HPORT" "/api/v1/codes/$C2" --interface 127.0.0.5 -A "$UA-spoofed" -H 'X-Forwarded-For: 6.6.6.6'
via "$HPORT2" "/api/v1/codes/$C2" --interface 127.0.0.5 -A "$UA-untrusting"
on 1 "/api/v1/codes/$C2" --interface 127.0.0.6 -A "$UA-direct" -H 'X-Forwarded-For: 6.6.6.6'
wait_until 5 "the four scan records" sql_is 4 "SELECT count(*) FROM scans WHERE user_agent LIKE '$UA-%'"
client_of() { sql "SELECT host(client) FROM scans WHERE user_agent = '$UA-$1'"; }
[ "$(client_of trusted)" = 127.0.0.5 ] || fail "behind the trusted proxy the scan names $(client_of trusted)"
[ "$(client_of spoofed)" = 127.0.0.5 ] || fail "a client's own X-Forwarded-For believed: $(client_of spoofed)"
[ "$(client_of untrusting)" = 127.0.0.1 ] || fail "a server that does not trust HAProxy saw $(client_of untrusting)"
[ "$(client_of direct)" = 127.0.0.6 ] || fail "X-Forwarded-For from an untrusted peer believed: $(client_of direct)"
# audit rows: the recall came from 127.0.0.7 (not trusted) claiming 6.6.6.6;
# an unrecall from 127.0.0.1 (trusted) forwarding for 198.51.100.7
ADMIN_ARGS=(-H 'X-Forwarded-For: 198.51.100.7')
admin 2 POST "/api/v1/admin/batches/$RECALL_BATCH/unrecall" '{"reason":"done"}'
expect 200 "the unrecall"
[ "$(sql "SELECT host(client) FROM audit WHERE action = 'batch.recall'")" = 127.0.0.7 ] ||
	fail "the recall's audit row: $(sql "SELECT client FROM audit WHERE action = 'batch.recall'")"
[ "$(sql "SELECT host(client) FROM audit WHERE action = 'batch.unrecall'")" = 198.51.100.7 ] ||
	fail "the unrecall's audit row: $(sql "SELECT client FROM audit WHERE action = 'batch.unrecall'")"
ok "scans and audit rows name the client behind a trusted proxy, the peer otherwise; a client's own X-Forwarded-For is never believed"

# ---- everything stops cleanly ----
kill -TERM "$HA_PID"
wait_until 10 "HAProxy to exit" gone "$HA_PID"
HA_PID=
for n in 1 2 3 4; do
	kill -TERM "${S_PID[$n]}"
done
for n in 1 2 3 4; do
	wait_until 15 "server $n to exit after SIGTERM" gone "${S_PID[$n]}"
	rc=0
	wait "${S_PID[$n]}" || rc=$?
	[ $rc = 0 ] || fail "server $n exited $rc on SIGTERM"
done
S_PID=()
ok "HAProxy and the four servers stopped"
