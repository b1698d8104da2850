#!/bin/bash
# test_plans_fresh.sh: the hot statements' plans on a new deployment
# (docs/scaling.md, "Plans"). A fresh database with one small print run,
# VACUUM ANALYZE (the statistics of almost empty tables), then the server
# (which prepares its statements and forces generic plans on its pool)
# under a short bounded load of claims (new and repeated), landing pages and
# code lookups, with auto_explain logging every statement's plan, nested
# ones (inside plpgsql, foreign key checks) too, on the server's own
# connections; then a member's session and lookup_codes read with generic
# plans. No plan reads a big table (redemptions, ledger, members, sessions,
# identities, code_stats, code_scanners, code_states, scans, campaign
# claims) by a sequential scan.
PC_TIMEOUT=120
. "$(dirname "$0")/harness.sh"
. "$(dirname "$0")/server_lib.sh"

# Citus plans its own way (custom plans, shards: tests/citus/test_citus_plans.sh)
if [ -n "${PC_CITUS:-}" ]; then
	note "Citus: custom plans, checked by tests/citus/test_citus_plans.sh"
	exit 0
fi

setup
mint 1000
cp "$CODES" "$T/codes"
member_session m1
sql "VACUUM ANALYZE" >/dev/null
DB=$(sql "SELECT current_database()")
sql "ALTER DATABASE \"$DB\" SET session_preload_libraries = 'auto_explain';
     ALTER DATABASE \"$DB\" SET auto_explain.log_min_duration = 0;
     ALTER DATABASE \"$DB\" SET auto_explain.log_nested_statements = on" >/dev/null
server_start --threads 2 --pool 4

# 500 codes claimed by 50 members, 100 of them again; 200 landing pages and lookups
head -n 500 "$T/codes" |
	awk '{ printf "POST\t/api/v1/claims\tapplication/json\t{\"code\":\"%s\",\"member\":\"m%d\"}\n", $1, NR % 50 }' >"$T/load"
head -n 100 "$T/codes" |
	awk '{ printf "POST\t/api/v1/claims\tapplication/json\t{\"code\":\"%s\",\"member\":\"m%d\"}\n", $1, NR % 50 }' >>"$T/load"
sed -n 501,700p "$T/codes" | awk '{ printf "GET\t/c/%s\nGET\t/api/v1/codes/%s\n", $1, $1 }' >>"$T/load"
"$LOADGEN" --port "$PORT" -c 8 --out "$T/load.out" "$T/load" >"$T/load.txt" 2>&1 ||
	fail "load: $(cat "$T/load.txt")"
[ "$(cut -f2 "$T/load.out" | grep -c '^200$')" = 1000 ] || fail "load: $(cat "$T/load.txt")"
server_stop

# a member's session and lookup_codes as the server's pool plans them (generic, cached)
H=$(printf '%s' "$MEMBER_COOKIE" | sha256sum | cut -d' ' -f1)
sql "SET plan_cache_mode = force_generic_plan;
     SELECT count(*) FROM member_session_get('\\x$H'); SELECT count(*) FROM member_session_get('\\x$H');
     SELECT count(*) FROM lookup_codes(ARRAY[$FIRST, $FIRST + 1]::bigint[])" >/dev/null

grep -q 'Query Text' "$PC_PGLOG" || fail "auto_explain logged no plan"
BIG='redemptions|ledger|members|member_sessions|member_identities|code_stats|code_scanners|code_states|scans|campaign_claim_sets|campaign_wins'
python3 -c '
import re, sys
log = open(sys.argv[1], errors="replace").read()
for e in re.split(r"\n(?=\S.*LOG:  duration)", log):
    m = re.search(r"Seq Scan on (%s)\b" % sys.argv[2], e)
    if m:
        f = re.search(r"PL/pgSQL function (\S+)", e) or re.search(r"Query Text: (.{0,80})", e)
        print(m.group(1), "in", f.group(1) if f else "?")
' "$PC_PGLOG" "$BIG" >"$T/seq" || fail "reading the plans"
[ ! -s "$T/seq" ] || fail "sequential scans of big tables: $(sort "$T/seq" | uniq -c)"
ok "claims, landing pages, lookups, sessions on a freshly analysed database: index scans only"
