# citus_lib.sh: sourced by tests/integration/harness.sh when PACKCODE_TEST_CITUS
# names a running Citus cluster (started by tests/citus/check_citus.sh): the
# test gets a database of its own on the coordinator and both workers, with
# the citus extension and the nodes registered, instead of a private
# PostgreSQL. server_lib.sh's setup() then migrates and distributes it
# (packcode-gen db distribute). The database is dropped on every node when
# the test ends; the cluster itself belongs to check_citus.sh.
#
# The test's database is owned by packcode_app, a role that is no superuser,
# and the test (and the programs it runs) connect as that role, as an
# application should: the superuser packcode only creates the database and
# sets Citus up in it. So the rules that rest on privileges hold in the
# tests as in production (ledger and spends are append-only by privilege on
# Citus: docs/scaling.md).
#
# $PACKCODE_TEST_CITUS/cluster.env sets CITUS_DIR (data directories
# coord/, worker1/, worker2/, their logs, the socket directory sock/) and
# CITUS_PORTS (coordinator first). Nodes talk to each other over TCP on
# 127.0.0.1; the test reaches the coordinator on its unix socket.

[ -r "$PACKCODE_TEST_CITUS/cluster.env" ] || fail "PACKCODE_TEST_CITUS: no $PACKCODE_TEST_CITUS/cluster.env"
. "$PACKCODE_TEST_CITUS/cluster.env"
PC_CITUS=1
set -- $CITUS_PORTS
PC_PGSOCK=$CITUS_DIR/sock
PC_PGPORT=$1
PC_PGDATA=$CITUS_DIR/coord
PC_PGLOG=$CITUS_DIR/coord.log
PC_PG_OPTS="" # the coordinator's settings are in its postgresql.conf
PC_CITUS_DB=t_${0##*/}
PC_CITUS_DB=${PC_CITUS_DB%.sh}_$$

PC_APP=packcode_app

# citus_sql PORT DB SQL: one statement on one node, as the superuser.
citus_sql() {
	timeout --foreground 60 psql -X -q -At -v ON_ERROR_STOP=1 \
		-d "host=$PC_PGSOCK port=$1 dbname=$2 user=packcode" -c "$3"
}

# citus_locked COMMAND...: COMMAND while no other test of this cluster sets
# its database up (check_citus.sh runs two tests at once; Citus's node
# registration of two new databases at the same moment can fail with
# "tuple concurrently updated")
citus_locked() { flock "$CITUS_DIR/setup.lock" "$@"; }

# A database named for the test on every node, citus in it, the workers
# registered with the coordinator.
pc_citus_db() {
	exec {PC_CITUS_LOCK}>>"$CITUS_DIR/setup.lock"
	flock "$PC_CITUS_LOCK"
	pc_citus_db_unlocked
	flock -u "$PC_CITUS_LOCK"
	exec {PC_CITUS_LOCK}>&-
}
pc_citus_db_unlocked() {
	local p
	for p in $CITUS_PORTS; do
		citus_sql "$p" postgres "CREATE DATABASE \"$PC_CITUS_DB\" OWNER $PC_APP" >/dev/null &&
			citus_sql "$p" "$PC_CITUS_DB" "SET client_min_messages = warning; CREATE EXTENSION citus" \
				>/dev/null || fail "cannot create database $PC_CITUS_DB with citus on port $p"
	done
	set -- $CITUS_PORTS
	citus_sql "$1" "$PC_CITUS_DB" "SELECT citus_set_coordinator_host('127.0.0.1', $1);
		SELECT citus_add_node('127.0.0.1', $2); SELECT citus_add_node('127.0.0.1', $3)" >/dev/null ||
		fail "cannot register the Citus nodes"
	export PACKCODE_DB="host=$PC_PGSOCK port=$PC_PGPORT dbname=$PC_CITUS_DB user=$PC_APP"
}

# Other databases a test makes (codes minted elsewhere): plain ones on the
# coordinator, owned by the application role too.
pc_dbinfo() { printf 'host=%s port=%s dbname=%s user=%s' "$PC_PGSOCK" "$PC_PGPORT" "$1" "$PC_APP"; }
pc_createdb() {
	citus_sql "$PC_PGPORT" postgres "CREATE DATABASE \"$1\" OWNER $PC_APP" >/dev/null ||
		fail "cannot create database $1"
}

# Drop the test's database everywhere (pc_cleanup calls it).
pc_citus_drop() {
	local p
	for p in $CITUS_PORTS; do
		citus_sql "$p" postgres "DROP DATABASE IF EXISTS \"$PC_CITUS_DB\" WITH (FORCE)" >/dev/null 2>&1
	done
}

pc_citus_db
