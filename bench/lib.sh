# shellcheck shell=bash
# lib.sh: what the server benchmarks share (bench_server.sh, bench_scale.sh),
# sourced after they set B (the build directory) and BENCH (their name, for
# messages): a throwaway PostgreSQL with the default durability, member
# sessions written as a sign-in writes them, packcode-server started on
# 127.0.0.1, loadgen and the figures of its report line.
# Every helper that fails says why and exits 1; the caller's cleanup trap
# stops what was started (bench_cleanup does it for what this file starts).

PG_BINDIR=${PACKCODE_PG_BINDIR:-$(sed -n 's/^#define PG_BINDIR "\(.*\)"$/\1/p' "$B/config.h")}
export PATH="$PG_BINDIR:$PATH"
GEN=$B/codegen/packcode-gen
LOADGEN=$B/tests/loadgen
THREADS=${BENCH_THREADS:-2}
POOL=${BENCH_POOL:-4}
CONNS=64
DBCONNS=$((THREADS * POOL))
SECONDS_EACH=${BENCH_SECONDS:-10}

if [ "$(id -u)" = 0 ]; then
	as_pg() { runuser -u postgres -- "$@"; }
else
	as_pg() { "$@"; }
fi

say() { printf '%s\n' "$*" >&2; }

# bench_need PROGRAM...: each built (a path) or on PATH (a name), or stop
bench_need() {
	local p
	for p in "$@"; do
		case $p in
		*/*) [ -x "$p" ] || { echo "$BENCH: $p is not built" >&2; exit 1; } ;;
		*) command -v "$p" >/dev/null || { echo "$BENCH: no $p" >&2; exit 1; } ;;
		esac
	done
}

# bench_workdir: W, a fresh directory under TMPDIR that bench_cleanup removes
bench_workdir() {
	W=$(mktemp -d "${TMPDIR:-/tmp}/pc-bench.XXXXXX")
	chmod 755 "$W"
	SERVER_PID='' BARE_PID=''
}
bench_cleanup() {
	set +e
	[ -n "$SERVER_PID" ] && kill -KILL "$SERVER_PID" 2>/dev/null
	[ -n "$BARE_PID" ] && kill -KILL "$BARE_PID" 2>/dev/null
	wait 2>/dev/null
	[ -f "$W/pgdata/postmaster.pid" ] && as_pg pg_ctl -D "$W/pgdata" -m immediate -w stop >/dev/null 2>&1
	rm -rf "$W"
}

# bench_pg [SETTING...]: PostgreSQL in $W/pgdata on the socket directory
# $W/sock, no TCP, default durability, the database packcode; exports
# PACKCODE_DB. Each SETTING is one -c name=value of the server's command line.
bench_pg() {
	local opts="-c listen_addresses='' -c unix_socket_directories=$W/sock -c max_connections=$((DBCONNS * 2 + 40))" s
	for s in "$@"; do opts="$opts -c $s"; done
	mkdir -m 700 "$W/pgdata" "$W/sock"
	[ "$(id -u)" = 0 ] && chown postgres "$W/pgdata" "$W/sock"
	as_pg initdb -D "$W/pgdata" -U packcode -E UTF8 --locale=C --auth-local=trust --auth-host=reject >/dev/null
	as_pg pg_ctl -D "$W/pgdata" -l "$W/sock/pg.log" -w -o "$opts" start >/dev/null
	psql -Xq -d "host=$W/sock dbname=postgres user=packcode" -c "CREATE DATABASE packcode"
	export PACKCODE_DB="host=$W/sock dbname=packcode user=packcode"
}
sql() { psql -XAtq -v ON_ERROR_STOP=1 -d "$PACKCODE_DB" -c "$1"; }

# bench_sessions OUT N [MEMBER_EXPR]: N members signed in, sessions written
# as a sign-in writes them (the SHA-256 of the cookie's secret; the CSRF
# token derived from it) into the database, and OUT.hdr: one line a session,
# its Cookie and X-CSRF-Token headers for loadgen. Session i is member
# m<i>, or m<MEMBER_EXPR> with MEMBER_EXPR a Python expression of i (and
# random).
bench_sessions() {
	python3 - "$1" "$2" "${3:-i}" <<'PY'
import base64, hashlib, os, random, sys
out, n, expr = sys.argv[1], int(sys.argv[2]), sys.argv[3]
b64 = lambda b: base64.urlsafe_b64encode(b).decode().rstrip("=")
with open(f"{out}.copy", "w") as s, open(f"{out}.hdr", "w") as h:
    for i in range(n):
        secret = "pcm_" + b64(os.urandom(32))
        csrf = b64(hashlib.sha256(b"packcode-csrf:" + secret.encode()).digest())
        m = eval(expr, {"i": i, "random": random})
        s.write(f"\\\\x{hashlib.sha256(secret.encode()).hexdigest()}\tm{m}\texternal\t2099-01-01\n")
        h.write(f"Cookie: pc_member={secret}\tX-CSRF-Token: {csrf}\n")
PY
	psql -Xq -v ON_ERROR_STOP=1 -d "$PACKCODE_DB" \
		-c "\\copy member_sessions (hash, member, kind, expires_at) FROM '$1.copy'"
}

# bench_claims_req CODES HDR: loadgen's requests, one claim of each code (a
# file of one code a line) by the sessions of HDR in turn (spread by a prime)
bench_claims_req() {
	awk -v hdr="$2" '
		BEGIN { while ((getline l < hdr) > 0) h[n++] = l }
		{ printf "POST\t/api/v1/claims\tapplication/json\t{\"code\":\"%s\"}\t%s\n", $1, h[(NR * 7919) % n] }' "$1"
}

# Rate limits stay on, far above what this one address sends, so that their
# cost is in the figures.
LIMITS="--rate-lookups 1000000000/1000000000 --rate-claims 1000000000/1000000000
	--rate-member-claims 1000000000/1000000000"
# start_server: packcode-server on 127.0.0.1 (PORT), its log $W/server.log
start_server() {
	# shellcheck disable=SC2086
	"$B/server/packcode-server" --listen 127.0.0.1:0 --threads "$THREADS" --pool "$POOL" $LIMITS \
		>"$W/server.log" 2>&1 &
	SERVER_PID=$!
	local i=0
	until grep -q 'event=listening' "$W/server.log"; do
		i=$((i + 1))
		[ $i -gt 100 ] && { cat "$W/server.log" >&2; exit 1; }
		sleep 0.1
	done
	PORT=$(sed -n 's/.*addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$W/server.log")
	until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/readyz")" = 200 ]; do sleep 0.1; done
}
stop_server() {
	kill -TERM "$SERVER_PID"
	wait "$SERVER_PID" || true
	SERVER_PID=
}
# load PORT FILE [--cycle]: loadgen on the server; prints its report line
load() {
	"$LOADGEN" --port "$1" -c $CONNS -d "$SECONDS_EACH" ${3:-} "$2"
}
# all_ok WHAT REPORT: a load's report with 200s and no 4xx or 5xx, or stop
all_ok() {
	grep -q 'status_200=' <<<"$2" && ! grep -Eq 'status_(4|5)[0-9]{2}=' <<<"$2" ||
		{ say "$BENCH: $1 failed: $2"; exit 1; }
}
rate() { sed -n 's/.*rate=\([0-9.]*\).*/\1/p'; }
p99() { sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
cpu_model() { sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1; }
