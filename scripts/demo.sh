#!/bin/sh
# demo.sh: from a fresh Debian 12 machine to a working packcode in one command:
# install what is missing, build, make a key and a product, mint a small print
# run (CSV, PNG and SVG), start the server on its embedded PostgreSQL, and
# show a code, its landing URL, its QR, a verification and a claim.
#
# Environment: PACKCODE_HOME (default ./demo), PORT (default 8080).
# On a terminal the server keeps running until Ctrl-C; otherwise the demo
# stops it (and the embedded PostgreSQL) when done.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
PORT=${PORT:-8080}
HOST=127.0.0.1:$PORT
BASE=http://$HOST

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "installing packages (apt-get, only what is missing)"
"$top/scripts/setup-debian.sh"

step "building"
[ -x configure ] || autoreconf -fi >/dev/null 2>&1
mkdir -p build/demo
(cd build/demo && { [ -f Makefile ] || "$top/configure" -q; } && make -s -j"$(nproc)" >/dev/null)
GEN=$top/build/demo/codegen/packcode-gen
SERVER=$top/build/demo/server/packcode-server

# PostgreSQL cannot run as root: as root the embedded cluster runs as the
# postgres user, which must be able to reach PACKCODE_HOME.
home=${PACKCODE_HOME:-$top/demo}
if [ "$(id -u)" = 0 ] && [ -z "${PACKCODE_HOME:-}" ] && ! runuser -u postgres -- test -x "$top" 2>/dev/null; then
	home=/var/tmp/packcode-demo
fi
mkdir -p "$home"
export PACKCODE_HOME="$home"
unset PACKCODE_DB
echo "state directory: $PACKCODE_HOME (keyring, var/pg)"

server_pid=
stop_all() {
	[ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
	"$GEN" db stop >/dev/null 2>&1 || true
}
trap stop_all EXIT
trap 'exit 130' INT TERM

step "a signing key"
[ -f "$PACKCODE_HOME/keyring" ] || "$GEN" keygen
"$GEN" keys

step "a product (starts the embedded PostgreSQL on first use)"
"$GEN" product list | grep -q '^DEMO-TEA ' ||
	"$GEN" product add --sku DEMO-TEA --gtin 4006381333931 --name "Green Tea 500 ml" --brand "Demo Brand" --points 10
"$GEN" product list

step "minting a print run of 12 codes"
out=$PACKCODE_HOME/print-runs/run-$(date +%Y%m%d-%H%M%S)
mkdir -p "$PACKCODE_HOME/print-runs"
"$GEN" mint --product DEMO-TEA --count 12 --out "$out" --host "$HOST" --short --format csv,png,svg
head -3 "$out/codes.csv"

step "starting packcode-server on $BASE"
"$SERVER" --listen "$HOST" --log-level warn &
server_pid=$!
for _ in $(seq 100); do
	curl -fsS "$BASE/healthz" >/dev/null 2>&1 && break
	sleep 0.1
done
# ready once its database has answered a ping (within a second of starting)
for _ in $(seq 100); do
	curl -fsS "$BASE/readyz" >/dev/null 2>&1 && break
	sleep 0.1
done
curl -fsS "$BASE/readyz" >/dev/null || { echo "demo: the server did not become ready" >&2; exit 1; }

code=$(sed -n '2s/,.*//p' "$out/codes.csv")
step "one code"
echo "code:          $code ($(sed -n '2p' "$out/codes.csv" | cut -d, -f2) as printed for people)"
echo "QR content:    $(sed -n '2p' "$out/codes.csv" | cut -d, -f3)"
echo "QR images:     $out/png/$code.png and $out/svg/$code.svg"
echo "landing page:  $BASE/c/$code   (open it in a browser on this machine)"
"$GEN" render --host "$HOST" "$code" | tail -n +2

step "verification lookup (consumes nothing)"
curl -sS "$BASE/api/v1/codes/$code"
step "a forged code and a typo"
curl -sS "$BASE/api/v1/codes/08NDYQW9146XWQN1ANSB"
curl -sS "$BASE/api/v1/codes/$(echo "$code" | cut -c1-19)X"

step "claiming the points, twice (a retry gets the same answer), then by someone else"
body="{\"code\":\"$code\",\"member\":\"+86 138 0013 8000\"}"
curl -sS -X POST -H 'Content-Type: application/json' -d "$body" "$BASE/api/v1/claims"
curl -sS -X POST -H 'Content-Type: application/json' -d "$body" "$BASE/api/v1/claims"
curl -sS -X POST -H 'Content-Type: application/json' -d "{\"code\":\"$code\",\"member\":\"someone-else\"}" "$BASE/api/v1/claims"
step "the member's balance"
curl -sS "$BASE/api/v1/members/%2B8613800138000"

if [ -t 0 ] && [ -t 1 ]; then
	step "packcode-server is running: $BASE/c/$code  (Ctrl-C stops it and PostgreSQL)"
	wait "$server_pid" || true
else
	step "done: stopping the server and the embedded PostgreSQL"
fi
