#!/bin/bash
# check_citus.sh: `make check-citus`. Starts a Citus cluster on this machine
# (a coordinator and two workers on 127.0.0.1, three private data
# directories), runs the integration tests listed below against it (each in
# a database of its own: tests/citus/citus_lib.sh) and stops it, whatever
# happens. Citus comes from ../shared/citus/install.sh beside the project
# (CI has it, installed as root, idempotently); where that is absent this
# prints "skipped" and passes. The whole run is bounded (CITUS_TIMEOUT
# seconds, default 1500); each test keeps its own limit (harness.sh).
#
# Environment: top_builddir, top_srcdir (set by make), CITUS_TESTS (a
# space-separated subset of the list below, for a quicker run).
set -u -o pipefail

if [ -z "${PC_CITUS_UNDER_TIMEOUT:-}" ]; then
	export PC_CITUS_UNDER_TIMEOUT=1
	exec timeout -k 30 "${CITUS_TIMEOUT:-1500}" bash "$0" "$@"
fi

me=check-citus
say() { printf '%s: %s\n' "$me" "$*"; }
die() {
	printf '%s: FAIL: %s\n' "$me" "$*" >&2
	exit 1
}

[ -n "${top_builddir:-}" ] || die "top_builddir is not set: run 'make check-citus'"
B=$(cd "$top_builddir" && pwd)
S=$(cd "${top_srcdir:-$top_builddir}" && pwd)
INSTALL=$S/../shared/citus/install.sh

# The tests, in the order they run: the consumer and admin API (recalls
# reaching the servers within a second among them), packcode-gen's audited
# changes, the exactly-once race and the random workload, the faults (a
# worker's among them); then the plans of the hot statements (one task each).
# CITUS_JOBS at a time (default 2), the two that restart a node alone at the end.
ALL_TESTS="integration/test_server_api.sh integration/test_server_admin.sh
integration/test_server_admin_reads.sh integration/test_cli_audit.sh
integration/test_server_concurrency.sh integration/test_fault_kill.sh
integration/test_fault_pg_restart.sh integration/test_fault_claim_tx.sh
integration/test_fault_sigterm.sh integration/test_fault_drain_timeout.sh
integration/test_bad_input.sh integration/test_server_phone_pin.sh
integration/test_server_landing.sh integration/test_server_scopes.sh
integration/test_server_brands.sh integration/test_server_staff.sh
integration/test_server_webhooks.sh integration/test_supply_states.sh integration/test_server_analytics.sh integration/test_member_auth.sh
integration/test_server_exports.sh integration/test_server_alerts.sh integration/test_server_oauth.sh
integration/test_privacy_scans.sh integration/test_campaigns.sh
integration/test_packing.sh integration/test_epcis.sh
integration/test_server_insights.sh
integration/test_mall.sh
integration/test_referrals.sh
integration/test_redpackets.sh
integration/test_payout_query.sh
citus/test_citus_worker_restart.sh citus/test_citus_plans.sh"

if [ ! -f "$INSTALL" ]; then
	say "skipped: no $INSTALL (Citus for the tests is not beside this project)"
	exit 0
fi
PG_BINDIR=${PACKCODE_PG_BINDIR:-$(sed -n 's/^#define PG_BINDIR "\(.*\)"$/\1/p' "$B/config.h")}
export PATH="$PG_BINDIR:$PATH"
if [ "$(id -u)" = 0 ]; then
	sh "$S/scripts/setup-citus.sh" >/dev/null || die "scripts/setup-citus.sh failed"
	id postgres >/dev/null 2>&1 || die "running as root and there is no postgres user"
	as_pg() { runuser -u postgres -- "$@"; }
	pg_own() { chown postgres: "$@"; }
else
	as_pg() { "$@"; }
	pg_own() { :; }
fi
[ -f "$("$PG_BINDIR/pg_config" --pkglibdir 2>/dev/null || echo "$PG_BINDIR/../lib")/citus.so" ] ||
	die "Citus is not installed in $PG_BINDIR/..: run scripts/setup-citus.sh as root"

. "$S/tests/citus/cluster.sh"
W=$(mktemp -d "${TMPDIR:-/tmp}/pc-citus.XXXXXX")
chmod 755 "$W"
cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM HUP
	citus_cluster_stop "$W"
	rm -rf "$W"
	exit "$rc"
}
trap cleanup EXIT
trap 'die "interrupted (timed out after ${CITUS_TIMEOUT:-1500} s?)"' INT TERM HUP

START=$(date +%s)
citus_cluster_start "$W"
set -- $CITUS_PORTS
V=$(psql -X -At -d "host=$W/sock port=$1 dbname=postgres user=packcode" \
	-c "SELECT current_setting('server_version')" 2>&1) || die "coordinator: $V"
say "Citus cluster: coordinator 127.0.0.1:$1, workers 127.0.0.1:$2 and :$3 (PostgreSQL $V)"

export PACKCODE_TEST_CITUS=$W top_builddir=$B top_srcdir=$S
passed=0
failed=0
failures=""
# run_one TEST: runs it, its log beside the build's; prints its line and,
# if it failed, its log's end; leaves its exit status in $W/TEST.rc
run_one() {
	local t=$1 log t0 rc res
	log=$B/tests/citus/$(basename "$t" .sh).log
	t0=$(date +%s)
	bash "$S/tests/$t" >"$log" 2>&1
	rc=$?
	case $rc in
	0) res=PASS ;;
	77) res=SKIP ;;
	*) res=FAIL ;;
	esac
	# one write, whole: two tests' reports do not interleave
	{
		printf '%s: %s (%ss)\n' "$res" "${t##*/}" "$(($(date +%s) - t0))"
		if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
			tail -n 40 "$log"
		fi
	} >"$W/$(basename "$t").out"
	cat "$W/$(basename "$t").out"
	echo "$rc" >"$W/$(basename "$t").rc"
}
# The tests share the cluster, each in its own database, so CITUS_JOBS of
# them run at once (default 2: the 2-core machine's cores; 30 of 30 passed
# two at once in 663 s with other work running, against 830 s one at a
# time); the ones that stop or restart a node of the cluster run afterwards,
# alone.
EXCLUSIVE="test_fault_pg_restart.sh test_citus_worker_restart.sh"
mkdir -p "$B/tests/citus"
shared= alone=
for t in ${CITUS_TESTS:-$ALL_TESTS}; do
	case $t in */*) ;; *) t=integration/$t ;; esac
	case " $EXCLUSIVE " in
	*" ${t##*/} "*) alone="$alone $t" ;;
	*) shared="$shared $t" ;;
	esac
done
running=0
for t in $shared; do
	run_one "$t" &
	running=$((running + 1))
	if [ "$running" -ge "${CITUS_JOBS:-2}" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait
for t in $alone; do
	run_one "$t"
done
for t in $shared $alone; do
	rc=$(cat "$W/$(basename "$t").rc" 2>/dev/null || echo 1)
	case $rc in
	0) passed=$((passed + 1)) ;;
	77) ;;
	*) failed=$((failed + 1)) failures="$failures ${t##*/}" ;;
	esac
done
say "$passed passed, $failed failed on Citus in $(($(date +%s) - START)) s${failures:+ (failed:$failures)}"
[ "$failed" = 0 ]
