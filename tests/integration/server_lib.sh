# server_lib.sh: sourced by tests/integration/test_server_*.sh.
# Starts a throwaway PostgreSQL on a unix socket in a private temporary
# directory, makes a keyring, a product and active batches, runs
# packcode-server on a free port, and stops and removes all of it on exit.
# Every test is bounded by a watchdog (TEST_TIMEOUT seconds).

set -eu

BUILD=$(pwd)
SRC=${srcdir:-.}
PG_BINDIR=${PACKCODE_PG_BINDIR:-/usr/lib/postgresql/15/bin}
GEN="$BUILD/codegen/packcode-gen"
SERVER="$BUILD/server/packcode-server"
LOADGEN="$BUILD/tests/loadgen"
MKCODES="$BUILD/tests/mkcodes"
T=$(mktemp -d "${TMPDIR:-/tmp}/packcode-srvtest.XXXXXX")
chmod 755 "$T"
SERVER_PID=
PORT=
WATCHDOG=

cleanup() {
	status=$?
	set +e
	if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill -KILL "$SERVER_PID" 2>/dev/null
		wait "$SERVER_PID" 2>/dev/null
	fi
	if [ -f "$T/pg/data/postmaster.pid" ]; then
		as_pg "$PG_BINDIR/pg_ctl" -D "$T/pg/data" -m immediate -w stop >/dev/null 2>&1
	fi
	[ -n "$WATCHDOG" ] && kill "$WATCHDOG" 2>/dev/null
	if [ $status -ne 0 ] && [ -f "$T/server.log" ]; then
		echo "--- server log (last 30 lines) ---" >&2
		tail -n 30 "$T/server.log" >&2
	fi
	rm -rf "$T"
	exit $status
}
trap cleanup EXIT
trap 'echo "FAIL: interrupted or timed out" >&2; exit 1' INT TERM

# Kill this test if it runs too long. The watchdog holds no output open, so
# nothing waits for it once the test is over.
(
	trap 'kill $sp 2>/dev/null; exit 0' TERM
	sleep "${TEST_TIMEOUT:-240}" &
	sp=$!
	wait $sp && kill -TERM $$
) </dev/null >/dev/null 2>&1 &
WATCHDOG=$!

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

ok() {
	echo "ok - $*"
}

# PostgreSQL refuses to run as root: run its programs as postgres then.
as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

pg_start() {
	if [ ! -d "$T/pg/data" ]; then
		mkdir -p "$T/pg"
		[ "$(id -u)" = 0 ] && chown postgres "$T/pg"
		as_pg "$PG_BINDIR/initdb" -D "$T/pg/data" -A trust -U postgres -E UTF8 \
			--no-sync >/dev/null
	fi
	as_pg "$PG_BINDIR/pg_ctl" -D "$T/pg/data" -l "$T/pg/log" -w \
		-o "-k $T/pg -c listen_addresses='' -c max_connections=300" start >/dev/null
	export PACKCODE_DB="host=$T/pg dbname=postgres user=postgres"
}

pg_stop() {
	as_pg "$PG_BINDIR/pg_ctl" -D "$T/pg/data" -m "${1:-fast}" -w stop >/dev/null
}

sql() {
	psql "$PACKCODE_DB" -XAtq -v ON_ERROR_STOP=1 -c "$1"
}

migrate() {
	for f in "$SRC"/sql/0*.sql; do
		psql "$PACKCODE_DB" -Xq -v ON_ERROR_STOP=1 -f "$f" >/dev/null
	done
}

# setup: database, schema, keyring, product TEA (10 points).
setup() {
	pg_start
	migrate
	export PACKCODE_KEYRING="$T/keyring"
	"$GEN" keygen >/dev/null
	sql "INSERT INTO products (sku, gtin, name, brand, points)
	     VALUES ('TEA', '06901234567892', 'Green tea', 'Packcode Tea', 10)"
}

# add_batch COUNT [PIN-REQUIRED] [SKU]: prints "BATCH-ID FIRST-SERIAL" of a new active batch.
add_batch() {
	sql "SELECT id || ' ' || serial_first FROM allocate_batch('${3:-TEA}', $1, 1::smallint,
	     'Factory 1', 'Line 2', NULL, ${2:-false});
	     UPDATE batches SET status = 'active' WHERE status = 'minting';" | head -n 1
}

# codes FIRST COUNT [KEYRING]: "CODE,PIN" lines.
codes() {
	"$MKCODES" "${3:-$T/keyring}" 1 "$1" "$2"
}

server_start() {
	: >"$T/server.log"
	"$SERVER" --listen 127.0.0.1:0 "$@" >>"$T/server.log" 2>&1 &
	SERVER_PID=$!
	i=0
	while ! grep -q 'event=listening' "$T/server.log"; do
		i=$((i + 1))
		[ $i -gt 100 ] && fail "server did not start: $(cat "$T/server.log")"
		kill -0 "$SERVER_PID" 2>/dev/null || fail "server exited: $(cat "$T/server.log")"
		sleep 0.1
	done
	PORT=$(sed -n 's/.*event=listening addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/server.log" | tail -n 1)
	BASE="http://127.0.0.1:$PORT"
	i=0
	until [ "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$BASE/readyz")" = 200 ]; do
		i=$((i + 1))
		[ $i -gt 100 ] && fail "server not ready"
		sleep 0.1
	done
}

# server_stop: SIGTERM, and the server must exit 0 within 15 s.
server_stop() {
	kill -TERM "$SERVER_PID"
	i=0
	while kill -0 "$SERVER_PID" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 150 ] && fail "server did not stop on SIGTERM"
		sleep 0.1
	done
	rc=0
	wait "$SERVER_PID" || rc=$?
	SERVER_PID=
	[ $rc -eq 0 ] || fail "server exited $rc on SIGTERM"
}

# req METHOD PATH [CONTENT-TYPE BODY]: sets STATUS; the body is in $T/body.
req() {
	if [ $# -ge 4 ]; then
		STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' -X "$1" -H "Content-Type: $3" \
			--data-binary "$4" "$BASE$2")
	else
		STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' -X "$1" "$BASE$2")
	fi
}

# claim CODE MEMBER [PIN]: POST /api/v1/claims.
claim() {
	if [ $# -ge 3 ]; then
		body=$(jq -cn --arg c "$1" --arg m "$2" --arg p "$3" '{code: $c, member: $m, pin: $p}')
	else
		body=$(jq -cn --arg c "$1" --arg m "$2" '{code: $c, member: $m}')
	fi
	req POST /api/v1/claims application/json "$body"
}

# field NAME: a field of the last JSON body (raw).
field() {
	jq -r "$1" "$T/body"
}

expect() {
	[ "$STATUS" = "$1" ] || fail "$2: status $STATUS, expected $1: $(head -c 400 "$T/body")"
}
