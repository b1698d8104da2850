#!/bin/bash
# test_server_limits.sh: what faces the internet, over plain HTTP: rate limits
# per client address and per member (429, Retry-After, refill, the counters
# in /metrics), slow clients cut off while others are served, request line
# and header limits, the connection cap, the security headers, and no secret
# in the log or /metrics of a busy server.
#
# Each part speaks from a loopback address of its own (curl --interface
# 127.0.0.N), so each is a client with its own buckets.
PC_TIMEOUT=240
. "$(dirname "$0")/harness.sh"
. "$(dirname "$0")/server_lib.sh"

command -v python3 >/dev/null || skip "no python3"
rc=0
curl -s --max-time 2 --interface 127.0.0.2 -o /dev/null http://127.0.0.1:1/ 2>/dev/null || rc=$?
[ $rc != 45 ] || skip "cannot send from 127.0.0.2"

setup
mint 12
mapfile -t G <"$CODES"
elsewhere "$T/other.keyring" 1 20 >"$T/forged"
mapfile -t F <"$T/forged"
TOKEN=$(pcgen token add --name edge-test) || fail "token add failed"
[ ${#TOKEN} -ge 20 ] || fail "token add printed '$TOKEN'"

server_start --log-level debug --rate-lookups 0.5/10 --rate-claims 1/4 \
	--rate-member-claims 0.5/3 --request-timeout 2 --idle-timeout 30

# many IP N URL [CURL-ARGS...]: N requests for URL on one keep-alive
# connection from IP; prints "STATUS RETRY-AFTER" a line each, the last body in $T/body.
many() {
	local ip=$1 n=$2 url=$3 i
	shift 3
	local args=()
	for ((i = 1; i < n; i++)); do args+=(-o /dev/null "$url"); done
	curl -s --max-time 20 --interface "$ip" "$@" -w '%{http_code} %header{retry-after}\n' \
		"${args[@]}" -o "$T/body" "$url"
}
json_claim() { jq -cn --arg c "$1" --arg m "$2" '{code: $c, member: $m}'; }
# api_claim IP CODE MEMBER: POST /api/v1/claims from IP (from: sets STATUS)
api_claim() { from "$1" /api/v1/claims -H 'Content-Type: application/json' --data-binary "$(json_claim "$2" "$3")"; }

# tally OUTPUT: count forged-code lookups answered (404) and refused (429)
L404=0 L429=0
tally() {
	L404=$((L404 + $(grep -c '^404' <<<"$1" || true)))
	L429=$((L429 + $(grep -c '^429' <<<"$1" || true)))
}

# ---- lookups per address: a burst of 10, then 429 until a token comes back ----
OUT=$(many 127.0.0.2 13 "$BASE/api/v1/codes/${F[0]}")
tally "$OUT"
[ "$(head -n 10 <<<"$OUT" | grep -c '^404 $')" = 10 ] || fail "the burst of lookups: $OUT"
[ "$(tail -n 3 <<<"$OUT" | grep -c '^429 2$')" = 3 ] || fail "lookups over the burst: $OUT"
jq -e '.error == "rate_limited" and .retry_after == 2 and (.message | test("try again in 2 s"))' \
	"$T/body" >/dev/null || fail "429 body: $(cat "$T/body")"
ok "lookups: 10 served, then 429 with Retry-After: 2 (a token every 2 s) and a JSON error"
# landing pages and member pages share the lookups bucket; health and metrics do not
from 127.0.0.2 "/c/${G[0]}"
[ "$STATUS" = 429 ] || fail "landing page over the limit: $STATUS"
case $(hdr content-type) in text/html*) ;; *) fail "429 landing page is $(hdr content-type)" ;; esac
grep -q 'Too many attempts' "$T/body" || fail "429 page: $(head -c 300 "$T/body")"
[ "$(hdr retry-after)" -ge 1 ] || fail "429 page without Retry-After"
from 127.0.0.2 /api/v1/members/alice
[ "$STATUS" = 429 ] || fail "member page over the limit"
from 127.0.0.2 /healthz
[ "$STATUS" = 200 ] || fail "healthz is not limited"
from 127.0.0.3 "/api/v1/codes/${F[0]}"
[ "$STATUS" = 404 ] || fail "another address has its own bucket"
L404=$((L404 + 1))
ok "landing and member pages share the bucket (429 page in HTML); other addresses do not"
# empty the bucket; after its Retry-After there is one token (less than two), no more
OUT=$(many 127.0.0.2 2 "$BASE/api/v1/codes/${F[1]}")
tally "$OUT"
RA=$(tail -n 1 <<<"$OUT")
case $RA in "429 1" | "429 2") RA=${RA#429 } ;; *) fail "the bucket is not empty: $OUT" ;; esac
# the behaviour under test: after its Retry-After (and a little) the bucket
# holds one token; nothing to poll, the time passing is what is tested
sleep "$RA"
sleep 0.2
OUT=$(many 127.0.0.2 2 "$BASE/api/v1/codes/${F[1]}")
tally "$OUT"
case $OUT in $'404 \n429 1' | $'404 \n429 2') ;; *) fail "$RA s after a 429, not one token: $OUT" ;; esac
ok "the bucket refills at its rate"

# ---- claims per address: a burst of 4 (forged codes: no database) ----
OUT=$(many 127.0.0.4 6 "$BASE/api/v1/claims" -H 'Content-Type: application/json' \
	-H "Authorization: Bearer $(claims_token)" \
	--data-binary "$(json_claim "${F[2]}" bob)")
[ "$OUT" = $'404 \n404 \n404 \n404 \n429 1\n429 1' ] || fail "claims per address: $OUT"
jq -e '.error == "rate_limited"' "$T/body" >/dev/null || fail "claim 429 body: $(cat "$T/body")"
from 127.0.0.4 "/c/${F[2]}/claim" "${FORM[@]}"
[ "$STATUS" = 429 ] || fail "claim form over the address limit: $STATUS"
grep -q 'Too many attempts' "$T/body" || fail "claim form 429 page"
ok "claims per address: 4, then 429 (JSON for the API, a page for the form)"

# ---- claims per member: 3, then 429, counted only for claims that reach the database ----
api_claim 127.0.0.9 "${F[3]}" m1
[ "$STATUS" = 404 ] || fail "forged claim for m1"
for i in 0 1 2; do
	api_claim "127.0.0.1$i" "${G[$i]}" m1
	[ "$STATUS" = 200 ] || fail "claim $i for m1: $STATUS $(cat "$T/body")"
done
api_claim 127.0.0.13 "${G[3]}" m1
[ "$STATUS" = 429 ] || fail "4th claim for m1: $STATUS $(cat "$T/body")"
RA=$(hdr retry-after)
[ "$RA" -ge 1 ] && [ "$RA" -le 2 ] || fail "member Retry-After: '$RA'"
jq -e --argjson ra "$RA" '.error == "rate_limited" and .retry_after == $ra and (.message | test("member"))' \
	"$T/body" >/dev/null || fail "member 429 body: $(cat "$T/body")"
[ "$(sql "SELECT count(*) FROM redemptions WHERE member = 'm1'")" = 3 ] || fail "m1 has not 3 redemptions"
api_claim 127.0.0.14 "${G[3]}" m2
[ "$STATUS" = 200 ] || fail "m2 is limited by m1's bucket"
member_session m1
from 127.0.0.15 "/c/${G[4]}/claim" "${MEMBER_FORM[@]}"
[ "$STATUS" = 429 ] || fail "claim form for m1 over the member limit: $STATUS"
grep -q 'Too many attempts' "$T/body" || fail "member 429 page"
# the behaviour under test: the member's bucket refills in Retry-After (and a
# little): nothing to poll, the time passing is what is tested
sleep "$RA"
sleep 0.2
api_claim 127.0.0.16 "${G[5]}" m1
[ "$STATUS" = 200 ] || fail "m1 after Retry-After: $(cat "$T/body")"
[ "$(sql "SELECT count(*) FROM redemptions WHERE member = 'm1'")" = 4 ] || fail "m1 has not 4 redemptions"
ok "claims per member: 3, then 429 with Retry-After (forged claims not counted), refilled after it"

# ---- the counters ----
curl -s --max-time 10 "$BASE/metrics" >"$T/metrics"
mget() { awk -v m="$1" '$1 == m { print $2 }' "$T/metrics"; }
[ "$(mget 'packcode_rate_limited_total{route="lookup",by="address"}')" = $L429 ] || fail "lookup 429s, not $L429: $(grep rate_limited "$T/metrics")"
[ "$(mget 'packcode_rate_limited_total{route="landing",by="address"}')" = 1 ] || fail "landing 429s"
[ "$(mget 'packcode_rate_limited_total{route="member",by="address"}')" = 1 ] || fail "member page 429s"
[ "$(mget 'packcode_rate_limited_total{route="claim",by="address"}')" = 2 ] || fail "claim 429s"
[ "$(mget 'packcode_rate_limited_total{route="landing_claim",by="address"}')" = 1 ] || fail "form 429s"
[ "$(mget 'packcode_rate_limited_total{route="claim",by="member"}')" = 1 ] || fail "member claim 429s"
[ "$(mget 'packcode_rate_limited_total{route="landing_claim",by="member"}')" = 1 ] || fail "member form 429s"
[ "$(mget 'packcode_http_requests_total{route="lookup",status="429"}')" = $L429 ] || fail "429 in the request counts"
# forged codes judged: the lookups answered, 4 claims, 1 claim for m1
[ "$(mget packcode_forged_total)" = $((L404 + 5)) ] || fail "packcode_forged_total $(mget packcode_forged_total), not $((L404 + 5))"
ok "/metrics counts every 429 by route and by address or member, and forged codes"

# ---- slow clients: a request must arrive whole within --request-timeout (2 s) ----
cat >"$T/slow.py" <<'EOF'
# slow.py PORT MODE: a client that trickles a request one byte every 0.4 s;
# prints "SECONDS BYTES-RECEIVED" when the server closes, or "open" after 12 s.
import socket, sys, time
port, mode = int(sys.argv[1]), sys.argv[2]
first = b""
if mode == "headers":
    msg = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200
elif mode == "body":
    first = b"POST /api/v1/claims HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n"
    msg = b"{" * 200
elif mode == "second":  # a whole first request, then a slow second one on the same connection
    first = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    msg = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200
else:  # silent
    msg = b""
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(0.4)
start = time.time()
s.sendall(first)
got, i = b"", 0
while time.time() - start < 12:
    try:
        if i < len(msg):
            s.send(msg[i:i + 1])
            i += 1
        d = s.recv(65536)
        if not d:
            print("%.2f %d" % (time.time() - start, len(got)))
            sys.exit(0)
        got += d
    except socket.timeout:
        pass
    except OSError:
        print("%.2f %d" % (time.time() - start, len(got)))
        sys.exit(0)
print("open")
EOF
SLOW=()
for mode in headers body second silent; do
	timeout --foreground 20 python3 "$T/slow.py" "$PORT" $mode >"$T/slow.$mode" &
	SLOW+=($!)
done
# the four slow clients connected (and the metrics request's own connection)
connections_at_least() { local n; n=$(metric packcode_connections); [ "${n:-0}" -ge "$1" ] || { echo "$n connections"; return 1; }; }
connections_are() { local n; n=$(metric packcode_connections); [ "$n" = "$1" ] || { echo "$n connections"; return 1; }; }
wait_until 5 "the four slow clients to connect" connections_at_least 5
for i in 1 2 3; do
	S=$(curl -s --max-time 2 -o /dev/null -w '%{http_code} %{time_total}' "$BASE/healthz")
	[ "${S%% *}" = 200 ] || fail "a normal client during the slow ones: $S"
done
wait "${SLOW[@]}"
for mode in headers body silent; do
	read -r secs bytes <"$T/slow.$mode" || fail "slow client $mode: no result"
	[ "$secs" != open ] || fail "slow client ($mode) still connected after 12 s"
	awk -v s="$secs" 'BEGIN { exit !(s >= 1.5 && s < 4.5) }' || fail "slow client ($mode) cut after $secs s"
	[ "$bytes" = 0 ] || fail "slow client ($mode) got a reply ($bytes bytes)"
done
read -r secs bytes <"$T/slow.second"
awk -v s="$secs" 'BEGIN { exit !(s >= 1.5 && s < 4.5) }' || fail "slow second request cut after $secs s"
[ "$bytes" -gt 0 ] || fail "the first request on the slow connection got no reply"
note "cut after (s): headers $(cut -d' ' -f1 "$T/slow.headers"), body $(cut -d' ' -f1 "$T/slow.body"), second $(cut -d' ' -f1 "$T/slow.second"), silent $(cut -d' ' -f1 "$T/slow.silent")"
ok "slow headers, slow body, a slow second request and silence: cut after 2 s; others served meanwhile"
# a request that a handler holds longer than the timeout (the database is slow) is not cut
(pc_psql "BEGIN; LOCK TABLE redemptions IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(3.5); COMMIT;" \
	>/dev/null) &
LOCKER=$!
wait_until 5 "the lock on redemptions" sql_is 1 "SELECT count(*) FROM pg_locks
	WHERE relation = 'redemptions'::regclass AND mode = 'AccessExclusiveLock' AND granted"
S=$(curl -s --max-time 15 -o "$T/body" -w '%{http_code} %{time_total}' -H 'Content-Type: application/json' \
	-H "Authorization: Bearer $(claims_token)" \
	--data-binary "$(json_claim "${G[6]}" m9)" "$BASE/api/v1/claims")
wait $LOCKER
[ "${S%% *}" = 200 ] || fail "a claim waiting 3 s on the database: $S $(cat "$T/body")"
awk -v s="${S#* }" 'BEGIN { exit !(s >= 2.5) }' || fail "the claim did not wait for the lock ($S)"
ok "a request in a handler for longer than --request-timeout is answered"
T1=$(metric packcode_request_timeouts_total)
[ "$T1" -ge 4 ] || fail "packcode_request_timeouts_total $T1"

# ---- request line and header limits ----
HDRS=()
for i in $(seq 70); do HDRS+=(-H "X-H$i: $i"); done
S=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' "${HDRS[@]}" "$BASE/healthz")
[ "$S" = 431 ] && jq -e '.error == "too_many_headers"' "$T/body" >/dev/null || fail "70 headers: $S $(cat "$T/body")"
S=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' "${HDRS[@]:0:100}" "$BASE/healthz")
[ "$S" = 200 ] || fail "50 headers: $S"
S=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' "$BASE/healthz?q=$(head -c 5000 /dev/zero | tr '\0' a)")
[ "$S" = 414 ] && jq -e '.error == "uri_too_long"' "$T/body" >/dev/null || fail "5000-byte query: $S"
S=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' "$BASE/c/$(head -c 3000 /dev/zero | tr '\0' a)")
[ "$S" = 414 ] || fail "3000-byte path: $S"
S=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' "$BASE/healthz?q=$(head -c 9000 /dev/zero | tr '\0' a)")
[ "$S" = 400 ] || fail "9000-byte request line: $S (libevent answers 400 itself)"
S=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 9000 /dev/zero | tr '\0' a)" "$BASE/healthz")
[ "$S" = 400 ] || fail "a 9000-byte header: $S"
S=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' "$BASE/healthz")
[ "$S" = 200 ] || fail "the server after oversized requests: $S"
ok "70 headers 431, long request target 414, over 8 KiB of headers 400 (libevent)"

# ---- security headers on every reply; the page's one stylesheet allowed by its hash ----
for path in /healthz /metrics "/api/v1/codes/${F[5]}" "/c/${G[7]}"; do
	S=$(curl -s --max-time 10 -D "$T/h" -o "$T/body" -w '%{http_code}' "$BASE$path")
	[ "$(hdr x-content-type-options)" = nosniff ] || fail "$path: no X-Content-Type-Options"
	[ "$(hdr referrer-policy)" = no-referrer ] || fail "$path: no Referrer-Policy"
	[ -z "$(hdr strict-transport-security)" ] || fail "$path: HSTS on plain HTTP"
done
CSP=$(hdr content-security-policy)
case $CSP in *"default-src 'none'"*"style-src 'sha256-"*"frame-ancestors 'none'"*) ;; *) fail "CSP: $CSP" ;; esac
case $CSP in *unsafe-inline* | *script-src*) fail "CSP allows too much: $CSP" ;; esac
! grep -qi '<script\| style=\| on[a-z]*=' "$T/body" || fail "the page has a script, style attribute or handler"
python3 - "$T/body" "$CSP" <<'EOF' || fail "the page's <style> does not match the CSP hash"
import base64, hashlib, re, sys
page = open(sys.argv[1], encoding="utf-8").read()
styles = re.findall(r"<style>(.*?)</style>", page, re.S)
want = re.search(r"'sha256-([^']+)'", sys.argv[2]).group(1)
assert len(styles) == 1, styles
assert base64.b64encode(hashlib.sha256(styles[0].encode()).digest()).decode() == want
EOF
ok "nosniff and no-referrer everywhere, no HSTS on HTTP, CSP hash matches the page's only style"

# ---- the connection cap ----
server_stop
server_start --max-connections 4 --request-timeout 30
cat >"$T/cap.py" <<'EOF'
# cap.py PORT: 4 idle connections fill the cap; a 5th is closed at once;
# the 4 still work; after one closes, a new connection is served.
import socket, sys, time
port = int(sys.argv[1])
def conn():
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    return s
def ask(s):
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    got = b""
    while b"\r\n\r\n" not in got or not got.rstrip().endswith(b"}"):
        d = s.recv(4096)
        if not d:
            break
        got += d
    return got.split(b"\r\n")[0].decode()
held = [conn() for _ in range(4)]
for s in held:  # each answered once: the server holds all four
    ask(s)
extra = conn()
extra.settimeout(3)
t = time.time()
try:
    d = extra.recv(100)
    print("over cap: closed" if not d else "over cap: got %r" % d[:40], "%.2f" % (time.time() - t))
except ConnectionResetError:
    print("over cap: closed", "%.2f" % (time.time() - t))
except socket.timeout:
    print("over cap: still open")
print("held:", ask(held[0]), ask(held[3]))
held[1].close()
# the server frees the slot when it sees the close: until then a new
# connection is still over the cap (closed at once); try for up to 5 s
deadline = time.time() + 5
while True:
    n = conn()
    try:
        got = ask(n)
    except OSError:
        got = ""
    if got or time.time() > deadline:
        break
    n.close()
    time.sleep(0.05)
print("after close:", got)
EOF
timeout --foreground 30 python3 "$T/cap.py" "$PORT" >"$T/cap.out" || fail "cap.py: $(cat "$T/cap.out")"
grep -q '^over cap: closed 0\.' "$T/cap.out" || fail "a 5th connection over the cap: $(cat "$T/cap.out")"
grep -q '^held: HTTP/1.1 200 OK HTTP/1.1 200 OK$' "$T/cap.out" || fail "held connections: $(cat "$T/cap.out")"
grep -q '^after close: HTTP/1.1 200 OK$' "$T/cap.out" || fail "after a close: $(cat "$T/cap.out")"
[ "$(metric packcode_connections_refused_total)" -ge 1 ] || fail "refused connections not counted"
# cap.py's connections are closed: once the server has seen that, the only one is the metrics request's own
wait_until 5 "open connections to be 1 (the metrics request's own)" connections_are 1
ok "over --max-connections a new connection is closed at once; held ones work; freed slots reused"

# ---- a busy server's log and /metrics hold no secret ----
server_stop
mint 5 --pin
mapfile -t P <"$CODES"
server_start --log-level debug
SECRET=$(awk '!/^#/ { print $4 }' "$PACKCODE_KEYRING")
[ ${#SECRET} = 64 ] || fail "keyring secret not found"
AUTH=(-H "Authorization: Bearer $TOKEN" -H "Cookie: session=$TOKEN")
for p in "/api/v1/codes/${G[8]}" "/c/${G[8]}" "/api/v1/codes/${F[6]}?token=$TOKEN" \
	"/api/v1/members/m1?limit=1&token=$TOKEN" /api/v1/admin/products "/nope?access_token=$TOKEN"; do
	curl -s --max-time 10 -o /dev/null "${AUTH[@]}" "$BASE$p"
done
curl -s --max-time 10 -o /dev/null "${AUTH[@]}" -H 'Content-Type: application/json' \
	--data-binary "{\"name\":\"x\",\"sku\":\"Y\",\"points\":1}" "$BASE/api/v1/admin/products"
claim "${P[0]%%,*}" m5 000000
claim "${P[0]%%,*}" m5 "${P[0]#*,}"
claim "${G[9]}" m5
for c in "${F[@]}" "${G[@]}"; do printf 'GET\t/api/v1/codes/%s\n' "$c"; done >"$T/busy.req"
"$LOADGEN" --port "$PORT" -c 8 -n 2000 --cycle "$T/busy.req" >/dev/null || fail "loadgen failed"
kill -HUP "$SERVER_PID"
wait_until 5 "the keyring reload after SIGHUP" grep -q 'event=keyring_reloaded' "$T/server.log"
curl -s --max-time 10 "$BASE/metrics" >"$T/metrics"
server_stop
grep -q 'event=keyring_reloaded' "$T/server.log" || fail "no keyring reload in the log"
[ "$(wc -l <"$T/server.log")" -ge 5 ] || fail "the log is nearly empty"
for s in "$SECRET" "$TOKEN" "${TOKEN#pct_}"; do
	! grep -qiF "$s" "$T/server.log" || fail "a secret is in the log: $(grep -iF "$s" "$T/server.log" | head -n 2)"
	! grep -qiF "$s" "$T/metrics" || fail "a secret is in /metrics"
done
ok "neither the keyring secret nor a token reaches the log (debug level) or /metrics"
