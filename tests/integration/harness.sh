# harness.sh: sourced by every integration test (tests/integration/test_*.sh).
#
# Gives the test a private temp dir (removed on exit), a throwaway PostgreSQL
# on a unix socket inside it (PACKCODE_DB points at its database "packcode"),
# PACKCODE_HOME and PACKCODE_KEYRING inside it, the built programs, and an
# overall time limit; whatever happens, servers it started are stopped.
#
# Set before sourcing:  PC_TIMEOUT  seconds for the whole test (default 240)
#                       PC_NO_PG=1  start no server (the test uses the embedded one)
#                       PC_PG_FSYNC=on  a durable server (benchmarks; tests run with fsync off)
# Exit status: 0 pass, 1 fail, 77 skip (a tool is missing; a failure under CI=true).

# The whole test runs under timeout(1), in its own process group, so a hang
# cannot stall CI: on expiry everything in the group gets SIGTERM (the test's
# trap then stops the servers it started: pg_ctl put them in their own session)
# and 30 s later SIGKILL. Inner timeouts are --foreground so that they, and
# what they run, stay in the group.
if [ -z "${PC_UNDER_TIMEOUT:-}" ]; then
	export PC_UNDER_TIMEOUT=1
	exec timeout -k 30 "${PC_TIMEOUT:-240}" bash "$0" "$@"
fi

set -eu -o pipefail

note() { printf '%s: %s\n' "${0##*/}" "$*"; }
fail() {
	printf '%s: FAIL: %s\n' "${0##*/}" "$*" >&2
	exit 1
}
skip() {
	if [ -n "${CI:-}" ] && [ "${CI:-}" != false ]; then
		fail "cannot run under CI: $*"
	fi
	printf '%s: SKIP: %s\n' "${0##*/}" "$*" >&2
	exit 77
}

# ---- where things are ----
[ -n "${top_builddir:-}" ] || fail "top_builddir is not set: run the tests with 'make check'"
abs_top_builddir=$(cd "$top_builddir" && pwd)
abs_top_srcdir=$(cd "${top_srcdir:-$top_builddir}" && pwd)
PACKCODE_GEN=$abs_top_builddir/codegen/packcode-gen
[ -x "$PACKCODE_GEN" ] || fail "$PACKCODE_GEN is not built"
PG_BINDIR=${PACKCODE_PG_BINDIR:-$(sed -n 's/^#define PG_BINDIR "\(.*\)"$/\1/p' "$abs_top_builddir/config.h")}
for p in initdb pg_ctl psql pg_dump; do
	[ -x "$PG_BINDIR/$p" ] || skip "no $PG_BINDIR/$p (set PACKCODE_PG_BINDIR)"
done
export PATH="$PG_BINDIR:$PATH"

# Server programs refuse to run as root: then they run as postgres.
if [ "$(id -u)" = 0 ]; then
	id postgres >/dev/null 2>&1 || skip "running as root and there is no postgres user"
	command -v runuser >/dev/null || skip "running as root and there is no runuser"
	as_pg() { runuser -u postgres -- "$@"; }
	pg_own() { chown postgres: "$@"; }
else
	as_pg() { "$@"; }
	pg_own() { :; }
fi

# ---- the private directory, and cleanup whatever happens ----
PC_TMP=$(mktemp -d "${TMPDIR:-/tmp}/pc-it.XXXXXX")
chmod 755 "$PC_TMP" # the postgres user must pass through it
pc_cleanup() {
	local rc=$? pid log
	set +e
	trap - EXIT INT TERM HUP
	if [ "$rc" != 0 ]; then
		for log in $(find "$PC_TMP" -maxdepth 1 -name pg.log) $(find "$PC_TMP" -path '*/var/pg/log/postgresql.log'); do
			echo "--- last lines of $log:" >&2
			tail -n 15 "$log" >&2
		done
	fi
	# every cluster under our directory: the harness's and embedded ones a test made
	for pid in $(find "$PC_TMP" -name postmaster.pid); do
		as_pg timeout --foreground 30 pg_ctl -D "${pid%/postmaster.pid}" -m immediate -w stop \
			>/dev/null 2>&1
	done
	for log in $(find "${PC_SANITIZER_DIR:-/nonexistent}" -type f 2>/dev/null); do
		printf '%s: FAIL: sanitizer report %s:\n' "${0##*/}" "${log##*/}" >&2
		head -n 60 "$log" >&2
		rc=1
	done
	rm -rf "$PC_TMP"
	exit "$rc"
}
trap pc_cleanup EXIT
trap 'fail "interrupted (timed out after ${PC_TIMEOUT:-240} s?)"' INT TERM HUP

# Sanitizer builds (--enable-sanitizers): every ASan, LeakSanitizer or UBSan
# report of every program the test runs goes to a file here, and any such
# file fails the test in pc_cleanup, whatever the test thought of the exit
# status (a server killed at the end, a report on a stderr nobody reads).
PC_SANITIZER_DIR=$PC_TMP/sanitizer
mkdir -m 777 "$PC_SANITIZER_DIR"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$PC_SANITIZER_DIR/report"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$PC_SANITIZER_DIR/report"

export PACKCODE_HOME=$PC_TMP/home
export PACKCODE_KEYRING=$PACKCODE_HOME/keyring
mkdir -m 755 "$PACKCODE_HOME"
unset PGHOST PGPORT PGDATABASE PGUSER PGPASSWORD PGSERVICE PGOPTIONS

# ---- the throwaway server ----
PC_PGSOCK=$PC_TMP/pgsock
pc_pg_start() {
	mkdir -m 700 "$PC_TMP/pgdata" "$PC_PGSOCK"
	touch "$PC_TMP/pg.log"
	pg_own "$PC_TMP/pgdata" "$PC_PGSOCK" "$PC_TMP/pg.log"
	(cd "$PC_TMP" && as_pg timeout --foreground 120 initdb -D "$PC_TMP/pgdata" -U packcode -E UTF8 \
		--locale=C --auth-local=trust --auth-host=reject >"$PC_TMP/initdb.log" 2>&1) ||
		{ cat "$PC_TMP/initdb.log" >&2; fail "initdb failed"; }
	pg_start_again
	pc_createdb packcode
	export PACKCODE_DB="host=$PC_PGSOCK dbname=packcode user=packcode"
}

# pg_start_again: start the throwaway server's cluster (made by pc_pg_start),
# the one place that says how it runs. pg_stop [MODE]: stop it (-m MODE,
# default fast). pg_restart MODE: pg_ctl restart -m MODE. Each waits (-w).
pg_start_again() {
	(cd "$PC_TMP" && as_pg timeout --foreground 90 pg_ctl -D "$PC_TMP/pgdata" -l "$PC_TMP/pg.log" -w -t 60 \
		-o "-c listen_addresses='' -c unix_socket_directories=$PC_PGSOCK -c fsync=${PC_PG_FSYNC:-off}" \
		start >/dev/null) || fail "pg_ctl start failed"
}
pg_stop() {
	as_pg timeout --foreground 60 pg_ctl -D "$PC_TMP/pgdata" -m "${1:-fast}" -w stop >/dev/null ||
		fail "pg_ctl stop -m ${1:-fast} failed"
}
pg_restart() {
	as_pg timeout --foreground 60 pg_ctl -D "$PC_TMP/pgdata" -m "$1" -w restart >/dev/null ||
		fail "pg_ctl restart -m $1 failed"
}

# The conninfo of database NAME on the throwaway server.
pc_dbinfo() { printf 'host=%s dbname=%s user=packcode' "$PC_PGSOCK" "$1"; }
pc_createdb() {
	timeout --foreground 30 psql -X -q -d "$(pc_dbinfo postgres)" -v ON_ERROR_STOP=1 \
		-c "CREATE DATABASE \"$1\"" >/dev/null || fail "cannot create database $1"
}

if [ -z "${PC_NO_PG:-}" ]; then
	pc_pg_start
else
	unset PACKCODE_DB
fi

# ---- helpers ----

# wait_until SECONDS WHAT COMMAND...: run COMMAND until it succeeds, every
# 10 ms at first and backing off to every 100 ms; once SECONDS (fractions
# allowed) have passed without success, fail the test: "timed out after
# SECONDS s waiting for WHAT", with what COMMAND printed on stdout on its last
# try (a condition can print what it saw instead). COMMAND runs in this shell
# (it may set variables: STATUS, ...) with its stdout in a file; it may call
# fail itself to stop waiting for what will never come. Sets WAITED_MS, how
# long it took. The one way a test waits for something: never a fixed sleep.
wait_until() {
	local secs=$1 what=$2 start deadline nap=0.01 i=${1%%.*} f=
	shift 2
	case $secs in *.*) f=${secs#*.} ;; esac
	f=${f}000000
	start=${EPOCHREALTIME/[.,]/}
	deadline=$((start + ${i:-0} * 1000000 + 10#${f:0:6}))
	while :; do
		if "$@" >"$PC_TMP/wait_until.out"; then
			WAITED_MS=$(((${EPOCHREALTIME/[.,]/} - start) / 1000))
			return 0
		fi
		[ "${EPOCHREALTIME/[.,]/}" -lt $deadline ] || break
		sleep $nap
		case $nap in 0.01) nap=0.02 ;; 0.02) nap=0.05 ;; *) nap=0.1 ;; esac
	done
	local last
	last=$(head -c 600 "$PC_TMP/wait_until.out")
	fail "timed out after $secs s waiting for $what${last:+ (last try: $last)}"
}

# pc_psql SQL: run SQL on $PACKCODE_DB, unaligned tuples only, stop at the first error.
pc_psql() { timeout --foreground 60 psql -X -q -At -v ON_ERROR_STOP=1 -d "$PACKCODE_DB" -c "$1"; }

# sql_is VALUE SQL: pc_psql SQL prints VALUE (a condition to wait for; prints
# what it got otherwise).
sql_is() {
	local got
	got=$(pc_psql "$2")
	[ "$got" = "$1" ] || { echo "got '$got', not '$1'"; return 1; }
}

# pcgen ARGS: packcode-gen, bounded in time.
pcgen() { timeout --foreground 120 "$PACKCODE_GEN" "$@"; }

# run CMD...: runs it, keeping its exit status in $rc, stdout in $out, stderr in $err.
run() {
	set +e
	"$@" >"$PC_TMP/out" 2>"$PC_TMP/err"
	rc=$?
	set -e
	out=$(cat "$PC_TMP/out")
	err=$(cat "$PC_TMP/err")
}

# expect_error STATUS PATTERN CMD...: CMD exits STATUS with exactly one line
# on stderr, "packcode-gen: ...", that matches the extended regex PATTERN.
expect_error() {
	local want=$1 pattern=$2
	shift 2
	run "$@"
	[ "$rc" = "$want" ] || fail "'$*' exited $rc, not $want (stderr: $err)"
	[ "$(printf '%s\n' "$err" | grep -c .)" = 1 ] || fail "'$*' did not print one line: $err"
	case $err in packcode-gen:*) ;; *) fail "'$*': error not in 'packcode-gen: ...' form: $err" ;; esac
	grep -Eq <<<"$err" -- "$pattern" || fail "'$*': '$err' does not match /$pattern/"
}

# The migrations the sources have, as "NNN_name", one a line, in order.
pc_migrations() {
	(cd "$abs_top_srcdir/sql" && ls [0-9][0-9][0-9]_*.sql) | sed 's/\.sql$//' | LC_ALL=C sort
}
