#!/bin/bash
# test_server_edge.sh: the edge's slots and clocks against the real server:
# the per-address connection cap (trusted proxies exempt), the first-byte
# timeout, the admin listener (what it serves, what the public one then does
# not, and its slots that a flood of the public port cannot take), rate
# limits per forwarded client behind a trusted proxy, and /readyz while the
# database is frozen (kill -STOP on every PostgreSQL process): it keeps
# answering at once from its cached state, says "not ready" within 2 s, and
# claims and lookups fail within --query-timeout instead of waiting; after
# kill -CONT everything is ready again.
PC_TIMEOUT=240
. "$(dirname "$0")/harness.sh"
. "$(dirname "$0")/server_lib.sh"
command -v python3 >/dev/null || skip "no python3"
rc=0
curl -s --max-time 2 --interface 127.0.0.2 -o /dev/null http://127.0.0.1:1/ 2>/dev/null || rc=$?
[ $rc != 45 ] || skip "cannot send from 127.0.0.2"

# a frozen PostgreSQL is always thawed before the harness stops it
FROZEN=()
thaw() {
	[ ${#FROZEN[@]} -gt 0 ] && kill -CONT "${FROZEN[@]}" 2>/dev/null
	FROZEN=()
	return 0
}
edge_exit() {
	local rc=$?
	thaw
	(exit "$rc")
	server_exit
}
trap edge_exit EXIT

setup
mint 10
cp "$CODES" "$T/codes"
TOKEN=$(pcgen token add --name edge) || fail "token add"

# conns.py PORT: connection slots, held from loopback addresses
cat >"$T/conns.py" <<'EOF'
# conns.py PORT ADMIN-PORT: prints one line per check.
import socket, sys, time
port, aport = int(sys.argv[1]), int(sys.argv[2])
def conn(src, p=port):
    s = socket.socket()
    s.settimeout(3)
    s.bind((src, 0))
    s.connect(("127.0.0.1", p))
    return s
def ask(s, path="/healthz"):
    s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    got = b""
    while b"\r\n\r\n" not in got or not got.rstrip().endswith(b"}"):
        d = s.recv(4096)
        if not d:
            break
        got += d
    return got.split(b"\r\n")[0].decode() or "closed"
def closed_at_once(s):
    t = time.time()
    try:
        d = s.recv(100)
        return not d and time.time() - t < 1
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False
held = [conn("127.0.0.2") for _ in range(3)]
for s in held:  # each answered: the server has counted it
    ask(s)
extra = conn("127.0.0.2")
print("4th from 127.0.0.2:", "closed" if closed_at_once(extra) else "open")
other = conn("127.0.0.3")
print("from 127.0.0.3:", ask(other))
print("held:", " ".join(ask(s) for s in held))
proxy = [conn("127.0.0.1") for _ in range(5)]
print("5 from the trusted proxy:", " ".join(ask(s) for s in proxy))
held[0].close()
# the server frees the slot when it sees the close: until then a new
# connection is still one too many (closed at once); try for up to 5 s
deadline = time.time() + 5
while True:
    try:
        got = ask(conn("127.0.0.2"))
    except OSError:
        got = "closed"
    if got != "closed" or time.time() > deadline:
        break
    time.sleep(0.05)
print("after a close from 127.0.0.2:", got)
EOF

# ---- connections per address ----
server_start --max-connections-per-address 3 --trusted-proxy 127.0.0.1 --admin-listen 127.0.0.1:0
APORT=$(sed -n 's/.*event=admin_listening addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/server.log")
timeout --foreground 30 python3 "$T/conns.py" "$PORT" "$APORT" >"$T/conns.out" || fail "conns.py: $(cat "$T/conns.out")"
grep -qx '4th from 127.0.0.2: closed' "$T/conns.out" || fail "over the per-address cap: $(cat "$T/conns.out")"
grep -qx 'from 127.0.0.3: HTTP/1.1 200 OK' "$T/conns.out" || fail "another address: $(cat "$T/conns.out")"
grep -qx 'held: HTTP/1.1 200 OK HTTP/1.1 200 OK HTTP/1.1 200 OK' "$T/conns.out" ||
	fail "held connections: $(cat "$T/conns.out")"
grep -qx '5 from the trusted proxy: HTTP/1.1 200 OK HTTP/1.1 200 OK HTTP/1.1 200 OK HTTP/1.1 200 OK HTTP/1.1 200 OK' "$T/conns.out" ||
	fail "a trusted proxy is capped: $(cat "$T/conns.out")"
grep -qx 'after a close from 127.0.0.2: HTTP/1.1 200 OK' "$T/conns.out" || fail "after a close: $(cat "$T/conns.out")"
PUBLIC=$BASE
BASE=http://127.0.0.1:$APORT
[ "$(metric packcode_connections_refused_per_address_total)" -ge 1 ] || fail "not counted"
ok "--max-connections-per-address: a 4th connection from one address closed at once, others served, the trusted proxy exempt, a freed slot reused"

# ---- the admin listener: what it serves, and what the public one then does not ----
BASE=$PUBLIC
for p in /metrics /api/v1/admin/batches /api/v1/admin/nothing; do
	S=$(http_status "$p" -H "Authorization: Bearer $TOKEN")
	[ "$S" = 404 ] || fail "$p on the public listener beside an admin one: $S"
done
for p in /healthz /readyz "/c/$(code 1)" "/api/v1/codes/$(code 1)"; do
	S=$(http_status "$p")
	[ "$S" = 200 ] || fail "$p on the public listener: $S"
done
BASE=http://127.0.0.1:$APORT
for p in /metrics /healthz /readyz; do
	S=$(http_status "$p")
	[ "$S" = 200 ] || fail "$p on the admin listener: $S"
done
S=$(http_status /api/v1/admin/batches -H "Authorization: Bearer $TOKEN")
[ "$S" = 200 ] || fail "the admin API on the admin listener: $S"
S=$(http_status /api/v1/admin/batches)
[ "$S" = 401 ] || fail "the admin API without a token on the admin listener: $S"
for p in "/c/$(code 1)" "/api/v1/codes/$(code 1)" /api/v1/members/alice; do
	S=$(http_status "$p")
	[ "$S" = 404 ] || fail "$p on the admin listener: $S"
done
ok "--admin-listen: /metrics and the admin API only there (404 on the public listener), probes on both, consumers only public"
server_stop

# ---- admin slots a flood cannot take; the first-byte timeout ----
server_start --max-connections 6 --max-connections-per-address 100 --admin-listen 127.0.0.1:0 \
	--first-byte-timeout 1 --request-timeout 10
APORT=$(sed -n 's/.*event=admin_listening addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/server.log")
cat >"$T/flood.py" <<'EOF'
# flood.py PORT ADMIN-PORT: fill the public listener's slots with silent
# connections, then ask on both; and time how long the silent ones live.
import socket, sys, time
port, aport = int(sys.argv[1]), int(sys.argv[2])
def conn(p, src="127.0.0.4"):
    s = socket.socket()
    s.settimeout(5)
    s.bind((src, 0))
    s.connect(("127.0.0.1", p))
    return s
def ask(s, path):
    s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    got = b""
    try:
        while True:
            d = s.recv(4096)
            if not d:
                break
            got += d
    except (socket.timeout, ConnectionResetError):
        pass
    return got.split(b"\r\n")[0].decode() or "closed"
start = time.time()
flood = [conn(port) for _ in range(6)]
# until the server has counted all six, a 7th may still be served: ask until
# one is refused (the cap is full), for up to 5 s
deadline = time.time() + 5
while True:
    try:
        over = ask(conn(port, "127.0.0.5"), b"/healthz")
    except OSError:
        over = "closed"
    if over == "closed" or time.time() > deadline:
        break
    time.sleep(0.05)
print("public over the cap:", over)
print("admin readyz:", ask(conn(aport), b"/readyz"))
print("admin metrics:", ask(conn(aport), b"/metrics"))
lives = []
for s in flood:
    try:
        d = s.recv(100)
    except (socket.timeout, ConnectionResetError):
        d = b""
    lives.append(time.time() - start)
print("silent ones closed after: %.2f to %.2f s" % (min(lives), max(lives)))
# one that says a little at once is not cut by the first-byte timeout
start = time.time()
talker = conn(port, "127.0.0.6")
talker.sendall(b"GET /hea")
time.sleep(1.5)
talker.sendall(b"lthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
got = b""
while True:
    d = talker.recv(4096)
    if not d:
        break
    got += d
print("a slow talker after %.2f s:" % (time.time() - start), got.split(b"\r\n")[0].decode())
EOF
timeout --foreground 30 python3 "$T/flood.py" "$PORT" "$APORT" >"$T/flood.out" || fail "flood.py: $(cat "$T/flood.out")"
grep -qx 'public over the cap: closed' "$T/flood.out" || fail "the public cap: $(cat "$T/flood.out")"
grep -qx 'admin readyz: HTTP/1.1 200 OK' "$T/flood.out" || fail "/readyz on the admin listener during the flood: $(cat "$T/flood.out")"
grep -qx 'admin metrics: HTTP/1.1 200 OK' "$T/flood.out" || fail "/metrics during the flood: $(cat "$T/flood.out")"
read -r lo hi < <(sed -n 's/^silent ones closed after: \([0-9.]*\) to \([0-9.]*\) s$/\1 \2/p' "$T/flood.out")
awk -v lo="$lo" -v hi="$hi" 'BEGIN { exit !(lo >= 0.8 && hi < 3) }' ||
	fail "silent connections (--first-byte-timeout 1, --request-timeout 10): $(cat "$T/flood.out")"
grep -q '^a slow talker after .*: HTTP/1.1 200 OK$' "$T/flood.out" || fail "a slow talker: $(cat "$T/flood.out")"
ok "a flood of silent connections fills the public cap; the admin listener still answers /readyz and /metrics; the silent ones are closed after ${lo}-${hi} s (--first-byte-timeout 1), one that spoke is not"
server_stop

# ---- rate limits per forwarded client ----
server_start --rate-lookups 1/2 --trusted-proxy 127.0.0.1
C=$(code 2)
limited() { # limited IP XFF: the status of three lookups from IP claiming XFF
	local i out=
	for i in 1 2 3; do
		out="$out $(curl -s --max-time 5 --interface "$1" -H "X-Forwarded-For: $2" -o /dev/null \
			-w '%{http_code}' "$BASE/api/v1/codes/$C")"
	done
	echo "${out# }"
}
[ "$(limited 127.0.0.1 198.51.100.1)" = "200 200 429" ] || fail "forwarded client 1: $(limited 127.0.0.1 198.51.100.1)"
[ "$(limited 127.0.0.1 198.51.100.2)" = "200 200 429" ] || fail "forwarded client 2 has its own bucket"
# from an untrusted peer the header is nobody's word: one bucket, the peer's
out="$(limited 127.0.0.8 198.51.100.3) $(limited 127.0.0.8 198.51.100.4)"
[ "$out" = "200 200 429 429 429 429" ] || fail "an untrusted peer's X-Forwarded-For counted: $out"
ok "behind a trusted proxy each forwarded client has its own rate-limit bucket; an untrusted peer's header changes nothing"
server_stop

# ---- a frozen database: /readyz from its cache, not ready within 2 s; queries bounded ----
server_start --query-timeout 2
C=$(code 3)
req GET "/api/v1/codes/$C"
expect 200 "a lookup before the freeze"
PGPID=$(head -n 1 "$PC_TMP/pgdata/postmaster.pid")
mapfile -t FROZEN < <(pgrep -P "$PGPID")
FROZEN+=("$PGPID")
kill -STOP "${FROZEN[@]}"
ready_fast() { # /readyz answers within 0.5 s (from its cache), and says STATUS
	local out
	out=$(curl -s --max-time 0.5 -o /dev/null -w '%{http_code}' "$BASE/readyz") || true
	[ "$out" = 000 ] && fail "/readyz did not answer within 0.5 s while the database is frozen"
	[ "$out" = "$1" ] || { echo "$out"; return 1; }
}
wait_until 2 "/readyz to say not ready" ready_fast 503
ok "a frozen database shows as not ready within 2 s (here ${WAITED_MS} ms); /readyz keeps answering at once"
claim_bg frozen "$(code 4)" alice
CLAIM_PID=$BG_PID
req GET "/api/v1/codes/$(code 5)"
[ "$STATUS" = 503 ] || fail "a lookup while frozen: $STATUS $(cat "$T/body")"
wait_until 6 "the claim to be answered" gone "$CLAIM_PID"
[ "$(cat "$T/frozen.status")" = 503 ] || fail "a claim while frozen: $(cat "$T/frozen.status") $(cat "$T/frozen.body")"
ok "lookups and claims fail (503) within --query-timeout while the database is frozen, none waits for ever"
thaw
wait_until 15 "/readyz after the thaw" http_is 200 /readyz
claim "$(code 6)" bob
expect 200 "a claim after the thaw"
ok "after kill -CONT the server is ready again (${WAITED_MS} ms) and claims work"
server_stop
