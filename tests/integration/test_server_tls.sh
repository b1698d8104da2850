#!/bin/bash
# test_server_tls.sh: HTTPS on packcode-server's own listener (--tls-cert,
# --tls-key) with a self-signed certificate made here: pages and claims over
# TLS 1.2 and 1.3 with HSTS and the security headers, TLS 1.1 and 1.0 refused,
# plain HTTP to the TLS port failing cleanly, a silent client cut off,
# start-up errors for bad certificates and keys, and SIGHUP reloading the
# certificate.
PC_TIMEOUT=180
. "$(dirname "$0")/harness.sh"
. "$(dirname "$0")/server_lib.sh"

command -v openssl >/dev/null || skip "no openssl"
command -v python3 >/dev/null || skip "no python3"

# selfsigned NAME: $T/NAME.crt and $T/NAME.key (P-256) for 127.0.0.1 and localhost.
selfsigned() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=packcode test $1" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
		-keyout "$T/$1.key" -out "$T/$1.crt" 2>/dev/null || fail "openssl req failed"
	chmod 600 "$T/$1.key"
}
selfsigned a
selfsigned b
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/stray.key" 2>/dev/null
chmod 600 "$T/stray.key"

setup
mint 4
mapfile -t G <"$CODES"

# ---- start-up errors: exit 1, one line on stderr saying which file and why ----
# start_error PATTERN ARGS...: packcode-server ARGS exits 1 with one line matching PATTERN.
start_error() {
	local pattern=$1
	shift
	set +e
	timeout --foreground 20 "$SERVER" --listen 127.0.0.1:0 "$@" >"$T/out" 2>"$T/err"
	local rc=$?
	set -e
	[ $rc = 1 ] || fail "'$*' exited $rc, not 1: $(cat "$T/err")"
	[ "$(grep -c . "$T/err")" = 1 ] || fail "'$*' did not print one line: $(cat "$T/err")"
	grep -Eq "^packcode-server: $pattern" "$T/err" || fail "'$*': $(cat "$T/err")"
	[ ! -s "$T/out" ] || fail "'$*' wrote to stdout"
}
start_error "--tls-key .*stray.key does not match the certificate .*a.crt$" \
	--tls-cert "$T/a.crt" --tls-key "$T/stray.key"
start_error "--tls-key .*b.key does not match the certificate .*a.crt$" \
	--tls-cert "$T/a.crt" --tls-key "$T/b.key"
start_error "--tls-cert .*missing.crt: No such file or directory$" \
	--tls-cert "$T/missing.crt" --tls-key "$T/a.key"
start_error "--tls-cert .*a.key: not a usable PEM certificate" --tls-cert "$T/a.key" --tls-key "$T/a.key"
start_error "--tls-key .*a.crt: not a usable PEM private key" --tls-cert "$T/a.crt" --tls-key "$T/a.crt"
set +e
"$SERVER" --tls-cert "$T/a.crt" >/dev/null 2>"$T/err"
rc=$?
set -e
[ $rc = 2 ] && grep -q 'go together' "$T/err" || fail "--tls-cert alone: $rc $(cat "$T/err")"
ok "a key not matching the certificate, a missing or non-PEM file: exit 1, one line"

# ---- HTTPS ----
cp "$T/a.crt" "$T/server.crt"
cp "$T/a.key" "$T/server.key"
SCHEME=https
CURL_ARGS=(--cacert "$T/a.crt")
server_start --tls-cert "$T/server.crt" --tls-key "$T/server.key" --request-timeout 2 \
	--rate-lookups 0.5/3
grep -q 'event=listening .*tls=on' "$T/server.log" || fail "the log does not say tls=on"

for v in 1.2 1.3; do
	S=$(curl -sv "${CURL_ARGS[@]}" --max-time 10 --tlsv$v --tls-max $v -D "$T/h" -o "$T/page" \
		-w '%{http_code}' "$BASE/c/${G[0]}" 2>"$T/verbose")
	[ "$S" = 200 ] || fail "TLS $v landing page: $S"
	grep -q "SSL connection using TLSv$v" "$T/verbose" || fail "not TLS $v: $(grep SSL "$T/verbose")"
	grep -q 'Genuine' "$T/page" || fail "TLS $v: not the page"
	[ "$(hdr strict-transport-security)" = "max-age=31536000" ] || fail "TLS $v: HSTS: $(hdr strict-transport-security)"
	[ "$(hdr x-content-type-options)" = nosniff ] || fail "TLS $v: no nosniff"
	[ "$(hdr referrer-policy)" = no-referrer ] || fail "TLS $v: no Referrer-Policy"
	case $(hdr content-security-policy) in "default-src 'none'; style-src 'sha256-"*) ;;
	*) fail "TLS $v: CSP $(hdr content-security-policy)" ;; esac
done
grep -q 'ECDHE-ECDSA-AES128-GCM-SHA256\|ECDHE-ECDSA-AES256-GCM-SHA384\|ECDHE-ECDSA-CHACHA20' "$T/verbose" ||
	grep -q 'TLS_AES\|TLS_CHACHA20' "$T/verbose" || fail "cipher: $(grep SSL "$T/verbose")"
ok "landing page over TLS 1.2 and 1.3, with HSTS, nosniff, no-referrer and the CSP"

S=$(curl -s "${CURL_ARGS[@]}" --max-time 10 -D "$T/h" -o "$T/body" -w '%{http_code}' \
	-H 'Content-Type: application/json' -H "Authorization: Bearer $(claims_token)" \
	--data-binary "$(jq -cn --arg c "${G[1]}" '{code: $c, member: "tls-member"}')" "$BASE/api/v1/claims")
[ "$S" = 200 ] && jq -e '.outcome == "awarded"' "$T/body" >/dev/null || fail "claim over TLS: $S $(cat "$T/body")"
[ "$(hdr strict-transport-security)" = "max-age=31536000" ] || fail "no HSTS on a JSON reply"
[ "$(sql "SELECT count(*) FROM redemptions WHERE member = 'tls-member'")" = 1 ] || fail "the claim is not in the database"
ok "a claim over HTTPS (JSON with HSTS too)"

# rate limits see each client's own address through TLS
for i in 1 2 3 4; do
	curl -s "${CURL_ARGS[@]}" --max-time 10 --interface 127.0.0.2 -o /dev/null -w '%{http_code}\n' \
		"$BASE/api/v1/codes/${G[3]}"
done >"$T/codes"
[ "$(tr '\n' ' ' <"$T/codes")" = "200 200 200 429 " ] || fail "lookups over TLS from 127.0.0.2: $(cat "$T/codes")"
S=$(curl -s "${CURL_ARGS[@]}" --max-time 10 --interface 127.0.0.3 -o /dev/null -w '%{http_code}' \
	"$BASE/api/v1/codes/${G[3]}")
[ "$S" = 200 ] || fail "127.0.0.3 limited by 127.0.0.2's bucket over TLS: $S"
ok "over TLS too, each client address has its own bucket"

# ---- old protocols and plain HTTP are refused ----
for old in tls1_1 tls1; do
	set +e
	timeout --foreground 10 openssl s_client -connect "127.0.0.1:$PORT" -"$old" \
		-cipher 'DEFAULT:@SECLEVEL=0' </dev/null >"$T/sc" 2>&1
	rc=$?
	set -e
	[ $rc != 0 ] || fail "openssl s_client -$old connected: $(grep -i 'protocol\|cipher' "$T/sc" | head -n 3)"
	# the server's alert, not the client's own refusal ("no protocols available")
	grep -qi 'alert protocol version' "$T/sc" || fail "-$old: $(tail -n 5 "$T/sc")"
done
ok "TLS 1.1 and 1.0 handshakes are refused by the server"

set +e
S=$(curl -s --max-time 10 -o /dev/null -w '%{http_code} %{time_total}' "http://127.0.0.1:$PORT/healthz")
rc=$?
set -e
[ $rc != 0 ] && [ "${S%% *}" = 000 ] || fail "plain HTTP to the TLS port: curl $rc, $S"
awk -v s="${S#* }" 'BEGIN { exit !(s < 3) }' || fail "plain HTTP took ${S#* } s to fail"
page /healthz
[ "$STATUS" = 200 ] || fail "the server after a plain HTTP request: $STATUS"
ok "plain HTTP to the TLS port fails at once (curl $rc), the server carries on"

# a TCP client that never starts the handshake is cut at --request-timeout
python3 - "$PORT" >"$T/silent" <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(10)
t = time.time()
try:
    d = s.recv(100)
except OSError:
    d = b""
print("%.2f %d" % (time.time() - t, len(d)))
EOF
read -r secs bytes <"$T/silent"
awk -v s="$secs" 'BEGIN { exit !(s >= 1.5 && s < 4.5) }' && [ "$bytes" = 0 ] ||
	fail "a silent client on the TLS port: closed after $secs s with $bytes bytes"
ok "a client that never starts the handshake is closed after --request-timeout"

# ---- SIGHUP: a new certificate for new connections; a bad one is refused ----
cp "$T/b.crt" "$T/server.crt"
cp "$T/b.key" "$T/server.key"
kill -HUP "$SERVER_PID"
wait_until 5 "tls_reloaded in the log after SIGHUP" grep -q 'event=tls_reloaded' "$T/server.log"
CURL_ARGS=(--cacert "$T/b.crt")
page /healthz
[ "$STATUS" = 200 ] || fail "after reloading certificate b: $STATUS"
set +e
curl -s --cacert "$T/a.crt" --max-time 10 -o /dev/null "$BASE/healthz"
rc=$?
set -e
[ $rc = 60 ] || fail "the old certificate is still served (curl $rc)"
cp "$T/stray.key" "$T/server.key"
kill -HUP "$SERVER_PID"
wait_until 5 "tls_reload_failed in the log after SIGHUP" grep -q 'event=tls_reload_failed' "$T/server.log"
page /healthz
[ "$STATUS" = 200 ] || fail "after a failed reload: $STATUS"
ok "SIGHUP serves a new certificate; a mismatched key is logged and the old one kept"

server_stop
ok "stopped cleanly"
