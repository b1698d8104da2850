# shellcheck shell=bash
# cluster.sh: a Citus cluster on this machine, a coordinator and two workers
# on 127.0.0.1 in three private data directories; sourced by check_citus.sh
# (the tests) and bench/bench_scale.sh (the benchmark). The caller defines
# as_pg (run as the cluster's owner), pg_own (give it a path) and die, puts
# PostgreSQL's programs on PATH, and calls citus_cluster_stop in its exit
# trap: a cluster is never left running.

# citus_cluster_start DIR [SETTING...]: the three nodes under DIR (coord/,
# worker1/, worker2/, their logs, the socket directory sock/), trusted on
# the socket and on 127.0.0.1, the role packcode_app on each; DIR/cluster.env
# sets CITUS_DIR and CITUS_PORTS (coordinator first), and so do these
# variables. Each SETTING is one more line of every node's postgresql.conf.
citus_cluster_start() {
	local dir=$1 d i=0 port s
	shift
	CITUS_DIR=$dir
	# Three free TCP ports on 127.0.0.1.
	CITUS_PORTS=$(python3 -c '
import socket
ss = [socket.socket() for _ in range(3)]
for s in ss:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))
') || die "cannot find free ports"
	mkdir -m 700 "$dir/sock"
	pg_own "$dir/sock"
	for d in coord worker1 worker2; do
		i=$((i + 1))
		port=$(echo "$CITUS_PORTS" | cut -d' ' -f$i)
		mkdir -m 700 "$dir/$d"
		touch "$dir/$d.log"
		pg_own "$dir/$d" "$dir/$d.log"
		(cd "$dir" && as_pg timeout --foreground 120 initdb -D "$dir/$d" -U packcode -E UTF8 --locale=C \
			--auth-local=trust --auth-host=trust >"$dir/initdb.log" 2>&1) ||
			{ cat "$dir/initdb.log" >&2; die "initdb $d failed"; }
		# host connections: 127.0.0.1 only (the nodes' own), trusted like the socket
		cat >>"$dir/$d/postgresql.conf" <<CONF
shared_preload_libraries = 'citus'
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir/sock'
fsync = off
max_connections = 200
max_prepared_transactions = 200
max_worker_processes = 32
shared_buffers = 64MB
citus.shard_count = ${CITUS_SHARD_COUNT:-32}
CONF
		for s in "$@"; do printf '%s\n' "$s" >>"$dir/$d/postgresql.conf"; done
		(cd "$dir" && as_pg timeout --foreground 90 pg_ctl -D "$dir/$d" -l "$dir/$d.log" -w -t 60 start \
			>/dev/null) || { tail -n 20 "$dir/$d.log" >&2; die "$d did not start"; }
	done
	printf 'CITUS_DIR=%s\nCITUS_PORTS="%s"\n' "$dir" "$CITUS_PORTS" >"$dir/cluster.env"
	# the role the tests connect as (citus_lib.sh): it owns their databases, no more
	for port in $CITUS_PORTS; do
		psql -X -q -d "host=$dir/sock port=$port dbname=postgres user=packcode" -v ON_ERROR_STOP=1 \
			-c "CREATE ROLE packcode_app LOGIN" || die "cannot create the role packcode_app"
	done
}

# citus_cluster_stop DIR: every node of DIR that runs, stopped at once
citus_cluster_stop() {
	local d
	for d in coord worker1 worker2; do
		[ -f "$1/$d/postmaster.pid" ] &&
			as_pg timeout --foreground 60 pg_ctl -D "$1/$d" -m immediate -w stop >/dev/null 2>&1
	done
	return 0
}
