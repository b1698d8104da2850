#!/bin/bash
# test_fault_drain_timeout.sh: SIGTERM while a claim (then a lookup) waits on
# a database lock that outlasts --drain-timeout 1. The server must give up on
# it and exit 0 within a few seconds, with no sanitizer report: the worker's
# teardown must not fail the still-pending job into a batcher it already
# freed (heap-use-after-free at batch.c run_done <- pool.c job_fail <-
# pool_free <- main.c worker_free, exit 134 under AddressSanitizer). The
# waiting client gets a complete 503 (Retry-After: 1): the claim could not
# finish and may be retried safely (docs/api.md); a closed connection with no
# reply is a failure, it leaves the client guessing. And the database holds
# that claim whole or not at all: redemption, ledger row and balance agree.
# (harness.sh fails any test that left a sanitizer report.)
PC_TIMEOUT=120
. "$(dirname "$0")/harness.sh"
. "$(dirname "$0")/server_lib.sh"
. "$(dirname "$0")/fault_lib.sh"

setup
mint 10
F=$FIRST
cp "$CODES" "$T/codes"

# sigterm_after_timeout WHAT: SIGTERM now; the server exits 0 within 5 s
# (--drain-timeout 1), after giving up on what it was waiting for.
sigterm_after_timeout() {
	local t0 ms
	t0=$(date +%s%N)
	kill -TERM "$SERVER_PID"
	server_wait_exit 5 "$1: the server to exit within 5 s of SIGTERM (--drain-timeout 1)"
	ms=$((($(date +%s%N) - t0) / 1000000))
	[ "$SERVER_RC" = 0 ] || fail "$1: exit status $SERVER_RC after SIGTERM ($ms ms): $(grep -m 3 'ERROR: AddressSanitizer\|SUMMARY\|runtime error' "$PC_SANITIZER_DIR"/* 2>/dev/null)"
	grep -q 'event=drain_timeout' "$T/server.log" ||
		fail "$1: no drain_timeout in the log: the request did not outlast the drain, the test proved nothing"
	note "$1: exit 0 $ms ms after SIGTERM"
}

# answered_503 NAME WHAT: the background request NAME got a complete 503.
answered_503() {
	local st
	st=$(cat "$T/$1.status")
	[ "$st" = 503 ] || fail "$2: the waiting client got '$st' (000: the connection closed with no reply), not 503: $(head -c 300 "$T/$1.body")"
	jq -e '.error | type == "string"' "$T/$1.body" >/dev/null || fail "$2: 503 without a JSON error: $(head -c 300 "$T/$1.body")"
	[ "$(hdr Retry-After "$T/$1.headers")" = 1 ] || fail "$2: 503 without Retry-After: 1"
}

# the server's database sessions all ended (a statement it left waiting has
# finished or been cancelled: only then is the database's answer final)
no_server_sessions() {
	sql_is 0 "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'packcode-server%'"
}

# ---- a claim waiting on a member's row lock ----
server_start --threads 1 --pool 2 --drain-timeout 1
claim "$(code 1)" held
expect 200 "held's first claim"
lock_member held
claim_bg held "$(code 2)" held
wait_until 10 "held's claim to wait on the row lock" waiting_on_locks 1
sigterm_after_timeout "a claim held past the drain"
wait "$BG_PID" || true
# the lock goes; whatever the server left behind in PostgreSQL ends
unlock
wait_until 10 "the server's database sessions to end" no_server_sessions
R=$(sql "SELECT count(*) FROM redemptions WHERE serial = $((F + 1))")
L=$(sql "SELECT count(*) FROM ledger WHERE serial = $((F + 1))")
B=$(sql "SELECT balance FROM members WHERE member = 'held'")
case "$R/$L/$B" in
0/0/10) note "the held claim is not recorded (redemption, ledger row, balance 10)" ;;
1/1/20) note "the held claim is recorded whole (redemption, ledger row, balance 20)" ;;
*) fail "the held claim is half recorded: $R redemption, $L ledger row, balance $B" ;;
esac
ledger_check "after the drain timeout"
answered_503 held "a claim held past the drain"
ok "a claim held past --drain-timeout: exit 0, the client answered 503, the claim whole or absent ($R/$L/$B)"

# ---- a lookup waiting on a table lock ----
server_start --threads 1 --pool 2 --drain-timeout 1
lock_table redemptions
curl -s --max-time 30 -D "$T/look.headers" -o "$T/look.body" -w '%{http_code}' \
	"$BASE/api/v1/codes/$(code 3)" >"$T/look.status" &
LOOK=$!
wait_until 10 "the lookup to wait on the table lock" waiting_on_locks 1
sigterm_after_timeout "a lookup held past the drain"
wait "$LOOK" || true
unlock
wait_until 10 "the server's database sessions to end" no_server_sessions
answered_503 look "a lookup held past the drain"
ledger_check "after the second drain timeout"
ok "a lookup held past --drain-timeout: exit 0, the client answered 503"
