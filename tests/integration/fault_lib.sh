# fault_lib.sh: sourced by tests/integration/test_fault_*.sh after harness.sh
# and server_lib.sh. The money invariants every fault must leave intact, the
# bookkeeping of what clients saw acknowledged, and a member row held locked
# to make claims wait.
#
# harness.sh runs PostgreSQL with fsync=off: these tests crash or restart the
# server process or PostgreSQL's processes, never the machine, so what
# PostgreSQL committed stays committed and fsync does not matter here.

# ledger_check WHAT: fail unless the database is consistent:
# - each redemption has exactly one claim row in the ledger, same member and
#   points, and each claim row its redemption (a claim is all there or absent);
# - no serial is in the ledger twice;
# - each member's balance = sum(ledger) = sum of the points of their
#   redemptions, and every balance_after is the running sum of the ledger;
# - every member has a ledger (no member row left over by a failed claim).
ledger_check() {
	local what=$1 n
	n=$(sql "SELECT count(*) FROM redemptions r FULL JOIN (SELECT * FROM ledger WHERE kind = 'claim') l
	         USING (serial)
	         WHERE r.serial IS NULL OR l.serial IS NULL OR r.member <> l.member OR r.points <> l.delta")
	[ "$n" = 0 ] || fail "$what: $n redemptions without their ledger row (or the reverse)"
	n=$(sql "SELECT count(*) FROM (SELECT serial FROM ledger WHERE serial IS NOT NULL
	         GROUP BY serial HAVING count(*) > 1) d")
	[ "$n" = 0 ] || fail "$what: $n serials in the ledger twice"
	n=$(sql "SELECT count(*) FROM members m
	         LEFT JOIN (SELECT member, sum(delta) s FROM ledger GROUP BY member) l USING (member)
	         LEFT JOIN (SELECT member, sum(points) p FROM redemptions GROUP BY member) r USING (member)
	         WHERE m.balance <> coalesce(l.s, 0) OR m.balance <> coalesce(r.p, 0)
	            OR l.member IS NULL")
	[ "$n" = 0 ] || fail "$what: $n members whose balance is not sum(ledger) = their points"
	n=$(sql "SELECT count(*) FROM (SELECT balance_after,
	         sum(delta) OVER (PARTITION BY member ORDER BY id) s FROM ledger) x
	         WHERE balance_after <> s")
	[ "$n" = 0 ] || fail "$what: $n ledger rows whose balance_after is not the running sum"
}

# acked_check FILE WHAT: FILE holds "SERIAL<TAB>MEMBER" lines, claims a client
# saw acknowledged (200): each must be a redemption of that member.
acked_check() {
	local file=$1 what=$2 n
	sql "SET client_min_messages = warning; DROP TABLE IF EXISTS acked; CREATE TABLE acked (serial bigint, member text)"
	psql "$PACKCODE_DB" -Xq -v ON_ERROR_STOP=1 -c "\\copy acked FROM '$file'" ||
		fail "$what: cannot load $file"
	n=$(sql "SELECT count(*) FROM acked a LEFT JOIN redemptions r USING (serial)
	         WHERE r.member IS DISTINCT FROM a.member")
	[ "$n" = 0 ] || fail "$what: $n acknowledged claims are not recorded for their member:
$(sql "SELECT a.serial, a.member, r.member FROM acked a LEFT JOIN redemptions r USING (serial)
       WHERE r.member IS DISTINCT FROM a.member LIMIT 5")"
	sql "DROP TABLE acked"
}

# table_state: row counts of every table of ours and the ledger's sum, one
# line (what a request that changes nothing must leave as it was).
table_state() {
	local t q="SELECT concat_ws(' '"
	for t in $(sql "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	                WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
	                ORDER BY 1"); do
		q="$q, '$t=' || (SELECT count(*) FROM \"$t\")"
	done
	sql "$q, 'ledger_sum=' || (SELECT coalesce(sum(delta), 0) FROM ledger))"
}

# server_lock_waits: how many of packcode-server's sessions wait on the lock
# that lock_hold holds (not on each other: two claims of one member in two
# batches wait on each other for a moment under load). On Citus the wait is
# on a worker: citus_lock_waits (as the superuser) has a row per session
# waiting anywhere in the cluster.
server_lock_waits() {
	if [ -n "${PC_CITUS:-}" ]; then
		citus_sql "$PC_PGPORT" "$PC_CITUS_DB" "SELECT count(*) FROM citus_lock_waits"
	else
		sql "SELECT count(*) FROM pg_stat_activity a WHERE a.wait_event_type = 'Lock'
		     AND a.application_name LIKE 'packcode-server%'
		     AND EXISTS (SELECT 1 FROM pg_stat_activity b WHERE b.application_name = 'packcode-test-locker'
		                  AND b.pid = ANY (pg_blocking_pids(a.pid)))"
	fi
}

# lock_member MEMBER: hold MEMBER's row FOR UPDATE in a psql session of its
# own, so that a claim for MEMBER waits inside claim_many (and the claims
# sent meanwhile queue up behind it); returns once the lock is held.
# lock_table TABLE: the same with the whole table (ACCESS EXCLUSIVE: even
# reads of it wait). unlock commits that session and waits for it.
lock_member() { lock_hold "$1's row" "SELECT member FROM members WHERE member = '$1' FOR UPDATE"; }
lock_table() { lock_hold "table $1" "LOCK TABLE $1 IN ACCESS EXCLUSIVE MODE"; }
lock_hold() {
	mkfifo "$T/locker"
	PGAPPNAME=packcode-test-locker psql -X -q -d "$PACKCODE_DB" <"$T/locker" >"$T/locker.out" 2>&1 &
	LOCKER=$!
	exec 3>"$T/locker"
	echo "BEGIN; $2;" >&3
	wait_until 10 "the lock on $1" lock_held
}
lock_held() {
	gone "$LOCKER" && fail "the locking session ended: $(cat "$T/locker.out")"
	# past BEGIN, the lock statement done (idle in its transaction)
	[ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'
	          AND application_name = 'packcode-test-locker' AND query NOT ILIKE 'BEGIN%'")" = 1 ]
}
unlock() {
	echo "COMMIT;" >&3
	exec 3>&-
	wait $LOCKER || fail "the locking session: $(cat "$T/locker.out")"
	rm -f "$T/locker"
}

# waiting_on_locks N: true when N (or more, with "N+") of the server's
# database sessions wait on a lock.
waiting_on_locks() {
	local n
	n=$(server_lock_waits)
	case $1 in
	*+) [ "$n" -ge "${1%+}" ] ;;
	*) [ "$n" = "$1" ] ;;
	esac || { echo "$n sessions wait on a lock"; return 1; }
}
