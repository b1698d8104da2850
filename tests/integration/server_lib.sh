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

# server_kill: SIGKILL the server (if still running) and reap it.
server_kill() {
	if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill -KILL "$SERVER_PID" 2>/dev/null
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	SERVER_PID=
	return 0
}
# Stop the server (if still running) before the harness stops PostgreSQL.
server_exit() {
	local rc=$?
	set +e
	server_kill
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
	[ -z "${PC_CITUS:-}" ] || citus_locked timeout --foreground 120 "$PACKCODE_GEN" db distribute >/dev/null || fail "db distribute failed"
	pcgen keygen >/dev/null || fail "keygen failed"
	pcgen product add --sku TEA --name "Green tea" --brand "Packcode Tea" --points 10 \
		--gtin 06901234567892 >/dev/null || fail "product add failed"
	claims_token >/dev/null
	# loadgen's claims carry it too
	export LOADGEN_HEADER="Authorization: Bearer $(claims_token)"
}

# claims_token: the harness's admin token with the claims and read scopes
# (made once per test, before the server starts when setup made it): what
# claim, claim_bg, claim_header and member_read send, as an integration
# that verified its members does.
claims_token() {
	if [ ! -s "$T/claims_token" ]; then
		pcgen token add --name "harness-claims" --scopes claims,read >"$T/claims_token" 2>/dev/null ||
			fail "token add harness-claims failed"
	fi
	cat "$T/claims_token"
}

# member_read ID [QUERY]: GET /api/v1/members/ID with the harness's token; sets STATUS, $T/body.
member_read() {
	STATUS=$(curl -s "${CURL_ARGS[@]}" --max-time 10 -o "$T/body" -w '%{http_code}' \
		-H "Authorization: Bearer $(claims_token)" "$BASE/api/v1/members/$1${2:-}")
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

# code N [FILE]: line N of FILE, by default $T/codes, where a test keeps its
# first print run's codes (cp "$CODES" "$T/codes": $CODES follows the last mint).
code() { sed -n "${1}p" "${2:-$T/codes}"; }

# gone PID: true once process PID has exited (and the shell has reaped it).
gone() { ! kill -0 "$1" 2>/dev/null; }

# server_start ARGS...: packcode-server ARGS on a free port of 127.0.0.1, its
# log in $T/server.log; returns once /readyz answers 200. Sets SERVER_PID,
# PORT and BASE.
server_start() {
	: >"$T/server.log"
	"$SERVER" --listen 127.0.0.1:0 "$@" >>"$T/server.log" 2>&1 &
	SERVER_PID=$!
	wait_until 15 "the server to listen" server_listening
	PORT=$(sed -n 's/.*event=listening addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/server.log" | tail -n 1)
	BASE="$SCHEME://127.0.0.1:$PORT"
	wait_until 15 "the server to be ready (/readyz 200)" http_is 200 /readyz
}
server_listening() {
	gone "$SERVER_PID" && fail "the server exited: $(cat "$T/server.log")"
	grep -q 'event=listening' "$T/server.log"
}

# server_wait_exit SECONDS WHAT: wait for the server to exit (WHAT names why
# it should: "the server to exit after SIGTERM"); sets SERVER_RC to its exit
# status and clears SERVER_PID.
server_wait_exit() {
	wait_until "$1" "$2" gone "$SERVER_PID"
	SERVER_RC=0
	wait "$SERVER_PID" || SERVER_RC=$?
	SERVER_PID=
}

# server_stop: SIGTERM; the server must exit 0 within 15 s.
server_stop() {
	kill -TERM "$SERVER_PID"
	server_wait_exit 15 "the server to exit after SIGTERM"
	[ $SERVER_RC -eq 0 ] || fail "server exited $SERVER_RC on SIGTERM"
}

# http_status PATH [CURL-ARGS...]: print the status of a GET of PATH (000: no
# reply within 5 s). http_is STATUS PATH [CURL-ARGS...]: it is STATUS (a
# condition to wait for; prints the status it got otherwise).
http_status() {
	local path=$1
	shift
	curl -s "${CURL_ARGS[@]}" --max-time 5 -o /dev/null -w '%{http_code}' "$@" "$BASE$path" || true
}
http_is() {
	local want=$1 got
	shift
	got=$(http_status "$@")
	[ "$got" = "$want" ] || { echo "$1: $got"; return 1; }
}

# metric SERIES: its value in a fresh /metrics ('packcode_connections',
# 'packcode_claims_total{outcome="awarded"}'); empty if absent.
metric() { curl -s "${CURL_ARGS[@]}" --max-time 10 "$BASE/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }

# as_integration PATH: the curl arguments of the harness's claims token for
# the claims API and the members' admin read (as an integration sends it),
# none for other paths or with NOAUTH=1 (to test what a stranger gets).
as_integration() {
	case "$1" in
	/api/v1/claims* | /api/v1/members/*)
		[ -n "${NOAUTH:-}" ] || [ ! -s "$T/claims_token" ] ||
			printf '%s\n' -H "Authorization: Bearer $(cat "$T/claims_token")"
		;;
	esac
}

# req METHOD PATH [CONTENT-TYPE BODY]: sets STATUS; the body is in $T/body.
# The claims API and the members' read get the harness's token (as_integration).
req() {
	local auth=()
	mapfile -t auth < <(as_integration "$2")
	if [ $# -ge 4 ]; then
		STATUS=$(curl -s "${CURL_ARGS[@]}" "${auth[@]}" --max-time 10 -o "$T/body" -w '%{http_code}' \
			-X "$1" -H "Content-Type: $3" --data-binary "$4" "$BASE$2")
	else
		STATUS=$(curl -s "${CURL_ARGS[@]}" "${auth[@]}" --max-time 10 -o "$T/body" -w '%{http_code}' \
			-X "$1" "$BASE$2")
	fi
}

# answers STATUS METHOD PATH [CONTENT-TYPE BODY]: req, and the reply is
# STATUS (a condition to wait for; prints what came otherwise).
answers() {
	local want=$1
	shift
	req "$@"
	[ "$STATUS" = "$want" ] || { echo "$STATUS $(head -c 300 "$T/body")"; return 1; }
}

# page PATH [CURL-ARGS...]: GET (or what the arguments say) into $T/page; sets STATUS.
page() {
	local path=$1
	shift
	STATUS=$(curl -s "${CURL_ARGS[@]}" --max-time 10 -o "$T/page" -w '%{http_code}' "$@" "$BASE$path")
}

# claim CODE MEMBER [PIN]: POST /api/v1/claims with the harness's claims token
# (claims_token); the member is resolved through its identity, so the reply's
# member is its key ("m-...", or the id itself for a member made before 011).
claim() {
	local body
	if [ $# -ge 3 ]; then
		body=$(jq -cn --arg c "$1" --arg m "$2" --arg p "$3" '{code: $c, member: $m, pin: $p}')
	else
		body=$(jq -cn --arg c "$1" --arg m "$2" '{code: $c, member: $m}')
	fi
	STATUS=$(curl -s "${CURL_ARGS[@]}" --max-time 10 -o "$T/body" -w '%{http_code}' -X POST \
		-H "Authorization: Bearer $(claims_token)" -H "Content-Type: application/json" \
		--data-binary "$body" "$BASE/api/v1/claims")
}

# claim_bg NAME CODE MEMBER: the claim sent in the background (a client that
# waits up to 30 s); its status goes to $T/NAME.status, its headers to
# $T/NAME.headers, its body to $T/NAME.body; BG_PID is the curl's pid.
claim_bg() {
	curl -s --max-time 30 -D "$T/$1.headers" -o "$T/$1.body" -w '%{http_code}' \
		-H 'Content-Type: application/json' -H "Authorization: Bearer $(claims_token)" \
		--data-binary "$(jq -cn --arg c "$2" --arg m "$3" '{code: $c, member: $m}')" \
		"$BASE/api/v1/claims" >"$T/$1.status" &
	BG_PID=$!
}

# scans_since BEFORE N: at least N scan records written since the scans
# table held BEFORE (the server writes them every 100 ms).
scans_since() {
	local n
	n=$(sql "SELECT count(*) FROM scans")
	[ $((n - $1)) -ge "$2" ] || { echo "$((n - $1)) scans written"; return 1; }
}

# requests_read N: N connections to the server (or more) and each read to the
# end (nothing waits in its receive queue): the requests on them are being
# handled (a claim is queued for the database). Prints what it saw.
requests_read() {
	command -v ss >/dev/null || fail "no ss (iproute2)"
	ss -Htn state established "( sport = :$PORT )" >"$T/ss.out" || fail "ss failed"
	awk -v n="$1" '{ all++ } $1 == 0 { read++ }
		END { printf "%d connections, %d read to the end\n", all, read; exit !(all >= n && read == all) }' \
		"$T/ss.out"
}

# from ADDRESS PATH [CURL-ARGS...]: a request sent from ADDRESS (a loopback
# address, 127.0.0.N); sets STATUS; body in $T/body, headers in $T/h.
from() {
	local ip=$1 path=$2 auth=()
	shift 2
	mapfile -t auth < <(as_integration "$path")
	STATUS=$(curl -s "${CURL_ARGS[@]}" "${auth[@]}" --max-time 10 --interface "$ip" -D "$T/h" \
		-o "$T/body" -w '%{http_code}' "$@" "$BASE$path") || true
}
# hdr NAME [FILE]: header NAME of the reply whose headers are in FILE (default
# $T/h); the last one if repeated.
hdr() { tr -d '\r' <"${2:-$T/h}" | sed -n "s/^$1: //Ip" | tail -n 1; }

# claim_header NAME CODE MEMBER [PIN]: header NAME of a fresh claim's reply.
claim_header() {
	local name=$1 body
	shift
	if [ $# -ge 3 ]; then
		body=$(jq -cn --arg c "$1" --arg m "$2" --arg p "$3" '{code: $c, member: $m, pin: $p}')
	else
		body=$(jq -cn --arg c "$1" --arg m "$2" '{code: $c, member: $m}')
	fi
	curl -s "${CURL_ARGS[@]}" --max-time 10 -o /dev/null -D "$T/headers" -H 'Content-Type: application/json' \
		-H "Authorization: Bearer $(claims_token)" --data-binary "$body" "$BASE/api/v1/claims"
	hdr "$name" "$T/headers"
}

# FORM: the curl arguments of a page's form before sign-in: its CSRF token in
# the field and the double-submit cookie (as a browser that loaded the page sends).
FORM_CSRF=harnessformtokenharnessformtokenharnessform
FORM=(-b "pc_csrf=$FORM_CSRF" --data-urlencode "csrf=$FORM_CSRF")

# member_session MEMBER: a session of MEMBER (made if new) written to the
# database as a sign-in writes it (the SHA-256 of the cookie's secret), for
# tests whose subject is not signing in (test_member_auth.sh tests that).
# Sets MEMBER_COOKIE, MEMBER_CSRF and MEMBER_FORM (the curl arguments of a
# form posted by that member: the cookie and the form's csrf field).
member_session() {
	MEMBER_COOKIE=pcm_$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
	local h
	h=$(printf '%s' "$MEMBER_COOKIE" | sha256sum | cut -d' ' -f1)
	sql "INSERT INTO members (member, balance) VALUES ('$1', 0) ON CONFLICT DO NOTHING" >/dev/null
	sql "INSERT INTO member_sessions (hash, member, kind, expires_at)
	     VALUES ('\\x$h', '$1', 'external', now() + interval '1 hour')" >/dev/null
	MEMBER_CSRF=$(printf 'packcode-csrf:%s' "$MEMBER_COOKIE" | openssl dgst -sha256 -binary |
		base64 | tr '+/' '-_' | tr -d '=\n')
	MEMBER_FORM=(-b "pc_member=$MEMBER_COOKIE" --data-urlencode "csrf=$MEMBER_CSRF")
}

# field FILTER: from the last JSON body.
field() { jq -r "$1" "$T/body"; }

expect() {
	[ "$STATUS" = "$1" ] || fail "$2: status $STATUS, expected $1: $(head -c 400 "$T/body")"
}
