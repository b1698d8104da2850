# server_lib.sh: sourced by tests/integration/test_server_*.sh, after
# harness.sh (private temp dir, throwaway PostgreSQL, time limit, cleanup).
# Adds: a migrated database with a keyring and product TEA, print runs minted
# with packcode-gen mint, codes from elsewhere (forged, never minted),
# packcode-server on a free port (stopped on exit), and small HTTP helpers
# (curl, jq).

command -v curl >/dev/null || skip "no curl"
command -v jq >/dev/null || skip "no jq"

T=$PC_TMP
SERVER=$abs_top_builddir/server/packcode-server
LOADGEN=$abs_top_builddir/tests/loadgen
[ -x "$SERVER" ] || fail "$SERVER is not built"
[ -x "$LOADGEN" ] || fail "$LOADGEN is not built (make check builds it)"
SERVER_PID=
PORT=
BASE=
# The tests send far more requests from 127.0.0.1 than a client would: rate
# limits high enough never to refuse them, while every request still goes
# through the limiter (test_server_limits.sh sets its own with options).
export PACKCODE_RATE_LOOKUPS=1000000/1000000 PACKCODE_RATE_CLAIMS=1000000/1000000
export PACKCODE_RATE_MEMBER_CLAIMS=1000000/1000000
# HTTPS (test_server_tls.sh): SCHEME=https and CURL_ARGS=(--cacert FILE).
SCHEME=http
CURL_ARGS=()

# Stop the server (if still running) before the harness stops PostgreSQL.
server_cleanup() {
	if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill -KILL "$SERVER_PID" 2>/dev/null
		wait "$SERVER_PID" 2>/dev/null
	fi
}
server_exit() {
	local rc=$?
	set +e
	server_cleanup
	if [ "$rc" != 0 ] && [ -f "$T/server.log" ]; then
		echo "--- last lines of the server log:" >&2
		tail -n 30 "$T/server.log" >&2
	fi
	(exit "$rc")
	pc_cleanup
}
trap server_exit EXIT

ok() { note "ok - $*"; }

sql() { pc_psql "$1"; }

# setup: migrate (and distribute, on Citus), a keyring, product TEA (10
# points, GTIN 06901234567892).
setup() {
	pcgen db migrate >/dev/null || fail "db migrate failed"
	[ -z "${PC_CITUS:-}" ] || pcgen db distribute >/dev/null || fail "db distribute failed"
	pcgen keygen >/dev/null || fail "keygen failed"
	pcgen product add --sku TEA --name "Green tea" --brand "Packcode Tea" --points 10 \
		--gtin 06901234567892 >/dev/null || fail "product add failed"
}

# mint COUNT [--pin]: an active print run of TEA. Sets BATCH, FIRST (its first
# serial) and CODES (a file of its codes, "CODE,PIN" with --pin, in serial order).
mint() {
	local dir=$T/mint.$RANDOM$RANDOM
	pcgen mint --product TEA --count "$1" --out "$dir" --host pack.example --short -q \
		--factory "Factory 1" --line "Line 2" ${2:-} || fail "mint failed"
	BATCH=$(jq -r .batch "$dir/batch.json")
	FIRST=$(jq -r .serial_first "$dir/batch.json")
	CODES=$dir/codes
	if [ "${2:-}" = --pin ]; then
		tail -n +2 "$dir/codes.csv" | cut -d, -f1,4 >"$CODES"
	else
		tail -n +2 "$dir/codes.csv" | cut -d, -f1 >"$CODES"
	fi
}

# elsewhere KEYRING FIRST-SERIAL COUNT: codes minted in another database, with
# KEYRING (created if missing) from serial FIRST-SERIAL on: not ours to the server.
elsewhere() {
	local db dir=$T/else.$RANDOM$RANDOM
	db=else$RANDOM$RANDOM
	pc_createdb "$db"
	(
		export PACKCODE_DB=$(pc_dbinfo "$db") PACKCODE_KEYRING=$1
		[ -f "$1" ] || pcgen keygen >/dev/null
		pcgen db migrate >/dev/null
		pc_psql "UPDATE serial_allocator SET next_serial = $2"
		pcgen product add --sku TEA --name Elsewhere --points 1 >/dev/null
		pcgen mint --product TEA --count "$3" --out "$dir" --host pack.example -q
	) || fail "minting elsewhere failed"
	tail -n +2 "$dir/codes.csv" | cut -d, -f1
}

# The harness's PostgreSQL (on Citus, the coordinator), stopped and started
# again (the outage tests).
pg_stop() {
	as_pg timeout --foreground 60 pg_ctl -D "$PC_PGDATA" -m "${1:-fast}" -w stop >/dev/null ||
		fail "pg_ctl stop failed"
}
pg_start_again() {
	(cd "$PC_TMP" && as_pg timeout --foreground 90 pg_ctl -D "$PC_PGDATA" -l "$PC_PGLOG" \
		-w -t 60 -o "$PC_PG_OPTS" start >/dev/null) || fail "pg_ctl start failed"
}

server_start() {
	: >"$T/server.log"
	"$SERVER" --listen 127.0.0.1:0 "$@" >>"$T/server.log" 2>&1 &
	SERVER_PID=$!
	local i=0
	while ! grep -q 'event=listening' "$T/server.log"; do
		i=$((i + 1))
		[ $i -gt 150 ] && fail "server did not start: $(cat "$T/server.log")"
		kill -0 "$SERVER_PID" 2>/dev/null || fail "server exited: $(cat "$T/server.log")"
		sleep 0.1
	done
	PORT=$(sed -n 's/.*event=listening addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/server.log" | tail -n 1)
	BASE="$SCHEME://127.0.0.1:$PORT"
	i=0
	until [ "$(curl -s "${CURL_ARGS[@]}" --max-time 5 -o /dev/null -w '%{http_code}' "$BASE/readyz")" = 200 ]; do
		i=$((i + 1))
		[ $i -gt 100 ] && fail "server not ready"
		sleep 0.1
	done
}

# server_stop: SIGTERM; the server must exit 0 within 15 s.
server_stop() {
	kill -TERM "$SERVER_PID"
	local i=0 rc=0
	while kill -0 "$SERVER_PID" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 150 ] && fail "server did not stop on SIGTERM"
		sleep 0.1
	done
	wait "$SERVER_PID" || rc=$?
	SERVER_PID=
	[ $rc -eq 0 ] || fail "server exited $rc on SIGTERM"
}

# req METHOD PATH [CONTENT-TYPE BODY]: sets STATUS; the body is in $T/body.
req() {
	if [ $# -ge 4 ]; then
		STATUS=$(curl -s "${CURL_ARGS[@]}" --max-time 10 -o "$T/body" -w '%{http_code}' -X "$1" \
			-H "Content-Type: $3" --data-binary "$4" "$BASE$2")
	else
		STATUS=$(curl -s "${CURL_ARGS[@]}" --max-time 10 -o "$T/body" -w '%{http_code}' -X "$1" "$BASE$2")
	fi
}

# page PATH [CURL-ARGS...]: GET (or what the arguments say) into $T/page; sets STATUS.
page() {
	local path=$1
	shift
	STATUS=$(curl -s "${CURL_ARGS[@]}" --max-time 10 -o "$T/page" -w '%{http_code}' "$@" "$BASE$path")
}

# claim CODE MEMBER [PIN]: POST /api/v1/claims.
claim() {
	local body
	if [ $# -ge 3 ]; then
		body=$(jq -cn --arg c "$1" --arg m "$2" --arg p "$3" '{code: $c, member: $m, pin: $p}')
	else
		body=$(jq -cn --arg c "$1" --arg m "$2" '{code: $c, member: $m}')
	fi
	req POST /api/v1/claims application/json "$body"
}

# header NAME: that header of a fresh claim reply, for CODE MEMBER [PIN] in $2...
claim_header() {
	local name=$1 body
	shift
	body=$(jq -cn --arg c "$1" --arg m "$2" --arg p "${3:-}" '{code: $c, member: $m, pin: $p}')
	curl -s --max-time 10 -o /dev/null -D "$T/headers" -H 'Content-Type: application/json' \
		--data-binary "$body" "$BASE/api/v1/claims"
	tr -d '\r' <"$T/headers" | sed -n "s/^$name: //Ip"
}

# field FILTER: from the last JSON body.
field() { jq -r "$1" "$T/body"; }

expect() {
	[ "$STATUS" = "$1" ] || fail "$2: status $STATUS, expected $1: $(head -c 400 "$T/body")"
}
