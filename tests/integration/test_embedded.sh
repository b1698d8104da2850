#!/bin/bash
# test_embedded.sh: the embedded default (PACKCODE_DB unset): first use creates,
# starts and migrates var/pg; db status/stop/start; concurrent first uses; a
# killed initdb is not taken for a cluster; clear errors for an unreachable or
# too long PACKCODE_HOME.
PC_TIMEOUT=300
PC_NO_PG=1
. "$(dirname "$0")/harness.sh"

n=$(pc_migrations | grep -c .)
home=$PACKCODE_HOME

# Absent: status says so (exit 3) and creates nothing.
run pcgen db status
[ "$rc" = 3 ] || fail "db status of a fresh home exited $rc, not 3: $out $err"
grep -q <<<"$out" "state: absent" || fail "db status does not say absent: $out"
[ ! -e "$home/var" ] || fail "db status created $home/var"

# First use: product add creates, starts and migrates the cluster.
run pcgen product add --sku E1 --name "Embedded one" --points 5
[ "$rc" = 0 ] || fail "first product add exited $rc: $err"
[ -f "$home/var/pg/data/PG_VERSION" ] || fail "no cluster in $home/var/pg/data"
[ -S "$home/var/pg/run/.s.PGSQL.5432" ] || fail "no socket in $home/var/pg/run"
[ -f "$home/var/pg/log/postgresql.log" ] || fail "no log in $home/var/pg/log"
[ "$(stat -c %a "$home/var/pg/data")" = 700 ] || fail "data directory is not mode 700"
[ "$(stat -c %a "$home/var/pg/run")" = 700 ] || fail "socket directory is not mode 700"
if [ "$(id -u)" = 0 ]; then
	[ "$(stat -c %U "$home/var/pg/data")" = postgres ] || fail "as root, data is not owned by postgres"
fi
# unix socket only: no TCP listener
grep -q "listening on IPv" "$home/var/pg/log/postgresql.log" && fail "the embedded cluster listens on TCP"
sock="host=$home/var/pg/run dbname=packcode user=packcode"
[ "$(PACKCODE_DB=$sock pc_psql "SELECT count(*) FROM schema_migrations")" = "$n" ] ||
	fail "the embedded cluster is not migrated"
[ "$(PACKCODE_DB=$sock pc_psql "SELECT name FROM products")" = "Embedded one" ] ||
	fail "the product is not in the embedded cluster"
# sized for this machine: a quarter of its memory in shared buffers (128 MB
# to 8 GB), checkpoints on time rather than forced by WAL, compressed WAL
mem_mb=$(($(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024))
want=$((mem_mb / 4 < 128 ? 128 : mem_mb / 4 > 8192 ? 8192 : mem_mb / 4))
[ "$(PACKCODE_DB=$sock pc_psql "SELECT setting::bigint * 8 / 1024 FROM pg_settings WHERE name = 'shared_buffers'")" = "$want" ] ||
	fail "shared_buffers is not ${want}MB: $(PACKCODE_DB=$sock pc_psql "SHOW shared_buffers")"
[ "$(PACKCODE_DB=$sock pc_psql "SELECT current_setting('max_wal_size') || ' ' || current_setting('checkpoint_timeout') || ' ' || current_setting('wal_compression') || ' ' || current_setting('random_page_cost') || ' ' || current_setting('synchronous_commit')")" = "8GB 15min pglz 1.1 on" ] ||
	fail "the embedded cluster is not tuned: $(PACKCODE_DB=$sock pc_psql "SELECT current_setting('max_wal_size'), current_setting('checkpoint_timeout'), current_setting('wal_compression')")"

run pcgen db status
[ "$rc" = 0 ] || fail "db status of a running cluster exited $rc"
grep -q <<<"$out" "state: running" || fail "db status does not say running: $out"
grep -q <<<"$out" "schema: $n of $n migrations applied" || fail "db status: $out"

run pcgen db stop
[ "$rc" = 0 ] || fail "db stop exited $rc: $err"
run pcgen db status
[ "$rc" = 3 ] || fail "db status after stop exited $rc, not 3"
grep -q <<<"$out" "state: stopped" || fail "db status does not say stopped: $out"
run pcgen db stop
[ "$rc" = 0 ] || fail "db stop of a stopped cluster exited $rc: $err"

run pcgen db start
[ "$rc" = 0 ] || fail "db start exited $rc: $err"
grep -q <<<"$out" "^started:" || fail "db start said: $out"
run pcgen db start
[ "$rc" = 0 ] || fail "second db start exited $rc: $err"
grep -q <<<"$out" "^already running:" || fail "second db start said: $out"
run pcgen product list
grep -q <<<"$out" "^E1 .*Embedded one$" || fail "product lost across stop/start: $out"
run pcgen db migrate
[ "$out" = "schema is up to date ($n migration$([ "$n" = 1 ] || echo s))" ] || fail "db migrate: $out"
note "absent -> first use -> running -> stopped -> started"

# Stopped cluster: the next command starts it by itself.
pcgen db stop >/dev/null 2>&1
run pcgen product list
[ "$rc" = 0 ] || fail "product list did not start the stopped cluster: $err"
pcgen db stop >/dev/null 2>&1

# Concurrent first uses on a fresh home: all succeed, one cluster.
export PACKCODE_HOME=$PC_TMP/home2
for i in 1 2 3; do
	PACKCODE_LOG_LEVEL=debug timeout --foreground 120 "$PACKCODE_GEN" product add --sku "C$i" --name "Concurrent $i" --points "$i" \
		>"$PC_TMP/c$i.out" 2>"$PC_TMP/c$i.err" &
	eval "pid$i=$!"
done
for i in 1 2 3; do
	eval "wait \$pid$i" || fail "concurrent first use $i failed: $(cat "$PC_TMP/c$i.err")"
done
run pcgen product list
[ "$(printf '%s\n' "$out" | grep -c '^C[123] ')" = 3 ] || fail "concurrent first uses: $out"
[ -z "$(ls -d "$PACKCODE_HOME"/var/pg/data.tmp* 2>/dev/null)" ] || fail "a data.tmp was left behind"
[ "$(cat "$PC_TMP"/c[123].err | grep -c 'event=db_initdb')" = 1 ] || fail "initdb did not run exactly once"
note "3 concurrent first uses succeeded with one initdb"
pcgen db stop >/dev/null 2>&1

# A killed first use leaves no cluster: the next one starts afresh.
export PACKCODE_HOME=$PC_TMP/home3
mkdir "$PACKCODE_HOME"
"$PACKCODE_GEN" db start >"$PC_TMP/k.out" 2>&1 &
kpid=$!
data_tmp() { ls -d "$PACKCODE_HOME"/var/pg/data.tmp.* >/dev/null 2>&1; }
wait_until 10 "initdb's data.tmp" data_tmp
kill -KILL "$kpid"
wait "$kpid" 2>/dev/null || true
run pcgen db status
[ "$rc" = 3 ] && grep -q <<<"$out" "state: absent" ||
	fail "a killed initdb was taken for a cluster: $out"
run pcgen db start
[ "$rc" = 0 ] || fail "db start after a killed initdb failed: $err"
grep -q <<<"$err" "event=db_remove_unfinished" || fail "the unfinished data.tmp was not removed: $err"
[ -z "$(ls -d "$PACKCODE_HOME"/var/pg/data.tmp* 2>/dev/null)" ] || fail "a data.tmp was left behind"
run pcgen product add --sku K1 --name "After kill" --points 1
[ "$rc" = 0 ] || fail "product add after a killed initdb failed: $err"
pcgen db stop >/dev/null 2>&1
note "a killed initdb is cleaned up, not mistaken for a cluster"

# A socket path over the unix limit: one clear line, nothing created.
long=$PC_TMP/$(printf 'd%.0s' $(seq 1 100))
expect_error 1 "over the 107 a unix socket path allows: set PACKCODE_HOME" \
	env PACKCODE_HOME="$long" timeout --foreground 60 "$PACKCODE_GEN" db start
[ ! -e "$long" ] || fail "a refused db start created $long"

# As root, a home the postgres user cannot reach: one clear line.
if [ "$(id -u)" = 0 ]; then
	mkdir -m 700 "$PC_TMP/private"
	expect_error 1 "user postgres .*cannot enter .*not searchable.*PACKCODE_HOME.*PACKCODE_DB" \
		env PACKCODE_HOME="$PC_TMP/private/home" timeout --foreground 60 "$PACKCODE_GEN" product list
	[ -z "$(ls -d "$PC_TMP"/private/home/var/pg/data* 2>/dev/null)" ] ||
		fail "a failed initdb left a data directory"
	note "unreachable home refused clearly"
fi
