#!/bin/bash
# test_migrations.sh: `db migrate` on an external database (PACKCODE_DB):
# applies every migration once, a second run changes nothing, concurrent runs
# on a fresh database both succeed, an unmigrated database is refused, and
# db distribute refuses a database without Citus.
PC_TIMEOUT=180
. "$(dirname "$0")/harness.sh"

expected=$(pc_migrations)
n=$(printf '%s\n' "$expected" | grep -c .)
[ "$n" -ge 1 ] || fail "no sql/NNN_*.sql migrations found in $abs_top_srcdir/sql"

# An external database without migrations is refused, and left untouched.
expect_error 1 "database has 0 of $n migrations applied: run 'packcode-gen db migrate'" \
	pcgen product list
expect_error 1 "database has 0 of $n migrations applied" \
	pcgen product add --sku A1 --name "A" --points 1
[ "$(pc_psql "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" = 0 ] ||
	fail "a refused command created tables"

# start and stop are for the embedded cluster only.
expect_error 1 "start does not apply: PACKCODE_DB is set" pcgen db start
expect_error 1 "stop does not apply: PACKCODE_DB is set" pcgen db stop
run pcgen db status
[ "$rc" = 0 ] || fail "db status on a running external database exited $rc: $out $err"
grep -q <<<"$out" "schema: 0 of $n migrations applied" ||
	fail "db status does not say 0 of $n: $out"

# Fresh database: migrate applies each migration, in order, once.
run pcgen db migrate
[ "$rc" = 0 ] || fail "db migrate exited $rc: $err"
[ "$out" = "$(printf '%s\n' "$expected" | sed 's/^/applied /')" ] ||
	fail "db migrate printed '$out', expected every migration applied in order"
[ "$(pc_psql "SELECT string_agg(name, ',' ORDER BY version) FROM schema_migrations")" = \
	"$(printf '%s\n' "$expected" | paste -sd,)" ] || fail "schema_migrations does not list every migration"
note "migrate applied $n migration(s)"

# Now commands work.
run pcgen product list
[ "$rc" = 0 ] || fail "product list after migrate exited $rc: $err"

# A second migrate changes nothing: same schema, same data, says so.
# (without the \restrict lines newer pg_dumps add with a random key)
snapshot() {
	timeout --foreground 60 pg_dump --schema-only -d "$PACKCODE_DB" | grep -Ev '^\\(un)?restrict ' >"$PC_TMP/schema.$1"
	timeout --foreground 60 pg_dump --data-only -d "$PACKCODE_DB" | grep -Ev '^\\(un)?restrict ' >"$PC_TMP/data.$1"
}
snapshot before
run pcgen db migrate
[ "$rc" = 0 ] || fail "second db migrate exited $rc: $err"
[ "$out" = "schema is up to date ($n migration$([ "$n" = 1 ] || echo s))" ] ||
	fail "second db migrate printed '$out'"
snapshot after
cmp -s "$PC_TMP/schema.before" "$PC_TMP/schema.after" || fail "second migrate changed the schema"
cmp -s "$PC_TMP/data.before" "$PC_TMP/data.after" || fail "second migrate changed rows"
grep -q "CREATE TABLE public.products" "$PC_TMP/schema.before" || fail "pg_dump shows no products table"
note "second migrate changed nothing"

# distribute is for a Citus coordinator only: refused here, and nothing changed;
# the server keeps its generic plans (sql/010_citus.sql)
expect_error 1 "distribute: this database has no Citus: a single PostgreSQL needs no distribution" \
	pcgen db distribute
snapshot refused
cmp -s "$PC_TMP/schema.before" "$PC_TMP/schema.refused" || fail "a refused distribute changed the schema"
[ "$(pc_psql "SELECT packcode_session(); SHOW plan_cache_mode" | paste -sd' ')" = "single force_generic_plan" ] ||
	fail "a server session's settings: $(pc_psql "SELECT packcode_session(); SHOW plan_cache_mode")"
note "db distribute refused without Citus"

# Two (three) concurrent migrates on a fresh database: all succeed, each
# migration applied exactly once between them.
pc_createdb fresh
fresh=$(pc_dbinfo fresh)
for i in 1 2 3; do
	PACKCODE_DB=$fresh timeout --foreground 60 "$PACKCODE_GEN" db migrate >"$PC_TMP/m$i.out" 2>"$PC_TMP/m$i.err" &
	eval "pid$i=$!"
done
for i in 1 2 3; do
	eval "wait \$pid$i" || fail "concurrent migrate $i failed: $(cat "$PC_TMP/m$i.err")"
done
applied=$(cat "$PC_TMP"/m[123].out | grep '^applied ' | sed 's/^applied //' | LC_ALL=C sort)
[ "$applied" = "$expected" ] ||
	fail "concurrent migrates applied '$applied' between them, expected each of '$expected' once"
[ "$(PACKCODE_DB=$fresh pc_psql "SELECT count(*), count(DISTINCT version) FROM schema_migrations")" = "$n|$n" ] ||
	fail "schema_migrations of the concurrently migrated database is wrong"
[ "$(PACKCODE_DB=$fresh pc_psql "SELECT count(*) FROM serial_allocator")" = 1 ] ||
	fail "001_core ran more than once (serial_allocator rows)"
note "3 concurrent migrates: all succeeded, each migration applied once"

# A user who may not create tables still gets through once migrated (no DDL on the fast path).
pc_psql "CREATE ROLE reader LOGIN; GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader"
run env PACKCODE_DB="host=$PC_PGSOCK dbname=packcode user=reader" timeout --foreground 60 "$PACKCODE_GEN" product list
[ "$rc" = 0 ] || fail "a read-only role cannot list products of a migrated database: $err"

# A failing migration is rolled back whole and stops the run (the runner on
# a fixture of its own: 001 fine, 002 fails at its line 3, 003 fine).
pc_createdb broken
run env PACKCODE_DB="$(pc_dbinfo broken)" timeout --foreground 60 "$abs_top_builddir/tests/integration/migrate_fixture"
[ "$rc" = 1 ] || fail "a broken migration did not fail the run: $out $err"
[ "$out" = 'applied 1; error: migration 002_broken failed at line 3: column "no_such_column" does not exist' ] ||
	fail "broken migration reported as: $out"
[ "$(PACKCODE_DB=$(pc_dbinfo broken) pc_psql "SELECT string_agg(version::text, ',') FROM schema_migrations;
     SELECT to_regclass('fixture_one') IS NOT NULL, to_regclass('fixture_two') IS NULL, to_regclass('fixture_three') IS NULL")" = \
	"$(printf '1\nt|t|t')" ] || fail "the broken migration was not rolled back whole, or 003 ran"
note "a failing migration is rolled back and stops the run"
