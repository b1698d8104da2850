#!/bin/sh
# test.sh: install what is missing, build packcode and run every test, the way
# CI does (.ci/run calls this). Steps: a gcc build and `make check`; a clang
# build with AddressSanitizer + UndefinedBehaviorSanitizer and `make check`;
# `make distcheck`; every libFuzzer target for FUZZ_SECONDS (default 15, a
# smoke run; `make fuzz FUZZ_SECONDS=N` runs longer); and `make check-citus`
# (skipped without ../shared/citus/install.sh).
# Ends with one line "N passed, N failed"; exits 1 if anything failed.
#
# Environment: JOBS (default: cores), FUZZ_SECONDS, SKIP_DISTCHECK=1,
# SKIP_SANITIZERS=1, SKIP_FUZZ=1, SKIP_CITUS=1 (for quicker local runs; CI
# sets none).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
JOBS=${JOBS:-$(nproc)}
FUZZ_SECONDS=${FUZZ_SECONDS:-15}
passed=0
failed=0
failures=""

say() { printf '\n=== %s\n' "$*"; }

# Count the automake test results of a build directory.
count_suite() {
	log="$1/test-suite.log"
	if [ ! -f "$log" ]; then
		failed=$((failed + 1))
		failures="$failures $2:no-test-log"
		return
	fi
	p=$(sed -n 's/^# PASS: *//p' "$log")
	f=$(sed -n 's/^# FAIL: *//p' "$log")
	e=$(sed -n 's/^# ERROR: *//p' "$log")
	x=$(sed -n 's/^# XPASS: *//p' "$log")
	passed=$((passed + ${p:-0}))
	bad=$((${f:-0} + ${e:-0} + ${x:-0}))
	failed=$((failed + bad))
	if [ "$bad" -gt 0 ]; then
		failures="$failures $2:$(grep -E '^(FAIL|ERROR|XPASS):' "$log" | sed 's/^[A-Z]*: //' | tr '\n' ' ')"
		# show why, in CI's log
		for t in $(grep -E '^(FAIL|ERROR):' "$log" | sed 's/^[A-Z]*: //'); do
			echo "--- $2: $t.log (last 60 lines)"
			tail -n 60 "$1/$t.log" 2>/dev/null
		done
	fi
}

# One pass/fail step.
step() {
	name=$1
	shift
	if "$@"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failures="$failures $name"
	fi
}

# Build in $1 with configure arguments $2..., then make check.
build_and_check() {
	dir=$1
	shift
	rm -rf "$dir"
	mkdir -p "$dir"
	if ! (cd "$dir" && "$top/configure" -q "$@" && make -s -j"$JOBS" >make.out 2>&1); then
		cat "$dir/make.out" 2>/dev/null | tail -n 80
		failed=$((failed + 1))
		failures="$failures $dir:build"
		return 1
	fi
	(cd "$dir" && make -s -j"$JOBS" check >check.out 2>&1)
	grep -E '^(PASS|FAIL|ERROR|SKIP|XFAIL|XPASS):' "$dir/check.out"
	count_suite "$dir" "$dir"
}

say "installing packages"
"$top/scripts/setup-debian.sh" || { echo "0 passed, 1 failed"; exit 1; }

# Citus next, before any PostgreSQL cluster starts (the builds' make check
# start many): setup-citus.sh may upgrade postgresql-15 (the Citus build
# needs 15.20), which breaks the clusters running at that moment.
# check_citus.sh runs it again later (idempotent: then it changes nothing).
if [ "${SKIP_CITUS:-0}" != 1 ] && [ -f "$top/../shared/citus/install.sh" ] && [ "$(id -u)" = 0 ]; then
	say "installing Citus"
	sh "$top/scripts/setup-citus.sh" || { echo "0 passed, 1 failed"; exit 1; }
fi

say "autoreconf"
autoreconf -fi >/dev/null 2>&1 || { autoreconf -fi; echo "0 passed, 1 failed"; exit 1; }

say "gcc build, make check"
build_and_check build/gcc CC=gcc

# ---- Citus: the integration tests against a coordinator and two workers
# (make check-citus, tests/citus/check_citus.sh). It says "skipped" and passes
# where ../shared/citus/install.sh is not beside the project.
if [ "${SKIP_CITUS:-0}" != 1 ]; then
	say "gcc build, make check-citus"
	step check-citus sh -c "cd build/gcc && { make -s check-citus >check-citus.out 2>&1; rc=\$?; }; \
		grep -E '^(PASS|FAIL|SKIP):|^check-citus:' check-citus.out; \
		[ \$rc = 0 ] || tail -n 80 check-citus.out; exit \$rc"
fi
# ---- end of the Citus step

if [ "${SKIP_SANITIZERS:-0}" != 1 ]; then
	say "clang build with ASan+UBSan, make check"
	# any report stops the program with a failure status; the integration
	# harness also fails a test that left a report (tests/integration/harness.sh)
	ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		build_and_check build/sanitizers CC=clang --enable-sanitizers
fi

if [ "${SKIP_DISTCHECK:-0}" != 1 ]; then
	say "make distcheck"
	# The tarball must build, install and pass its checks; the whole suite
	# already ran twice above, so here the unit tests, the tree checks and
	# one integration test of each program prove the tarball has what they
	# need (DISTCHECK_TESTS=all runs everything).
	dtests=${DISTCHECK_TESTS:-}
	if [ -z "$dtests" ]; then
		dtests=$(cd build/gcc && make -s print-unit-tests 2>/dev/null)
		dtests="$dtests tests/check_includes.py tests/format_check.sh tests/integration/test_migrations.sh tests/integration/test_mint.sh tests/integration/test_server_api.sh"
	fi
	[ "$dtests" = all ] && dtests=
	step distcheck sh -c "cd build/gcc && make -s -j$JOBS distcheck ${dtests:+TESTS=\"$dtests\"} >distcheck.out 2>&1 || { tail -n 80 distcheck.out; exit 1; }"
fi

if [ "${SKIP_FUZZ:-0}" != 1 ] && grep -q '^fuzz-build:' build/gcc/Makefile 2>/dev/null; then
	say "fuzzing each target for ${FUZZ_SECONDS}s"
	if (cd build/gcc && make -s fuzz-build >fuzz-build.out 2>&1); then
		# JOBS targets at a time: each still gets FUZZ_SECONDS of its own
		targets=$(cd build/gcc && ls fuzz/fuzz_* | grep -v '\.o$')
		n=0
		for t in $targets; do
			name=$(basename "$t")
			(cd build/gcc && make -s fuzz FUZZ_TARGETS="$t" FUZZ_SECONDS="$FUZZ_SECONDS" \
				>"$name.out" 2>&1; echo $? >"$name.rc") &
			n=$((n + 1))
			[ $((n % JOBS)) -eq 0 ] && wait
		done
		wait
		for t in $targets; do
			name=$(basename "$t")
			rc=$(cat "build/gcc/$name.rc")
			grep -E '^(Done|fuzz:)|ERROR|SUMMARY' "build/gcc/$name.out"
			[ "$rc" = 0 ] || tail -n 60 "build/gcc/$name.out"
			step "$name" test "$rc" = 0
		done
	else
		tail -n 40 build/gcc/fuzz-build.out
		failed=$((failed + 1))
		failures="$failures fuzz-build"
	fi
fi

say "summary"
[ -n "$failures" ] && echo "failed:$failures"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
