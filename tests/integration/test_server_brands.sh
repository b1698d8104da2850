#!/bin/bash
# test_server_brands.sh: brands are real, and a token limited to brands sees
# and changes only theirs. First the migration: a database made before
# brands (001..006) with free-text brands and a token is migrated: a brand
# per distinct value (and ''), products referencing them, the old token
# holding every scope. Then over HTTP: brand B's token cannot list, read or
# recall brand A's batches (404 as if absent for the one batch, 403 for the
# recall, nothing written), cannot add a product under brand A, and sees
# only its products, batches, stats, suspicious codes and its own audit
# rows; the member pool stays one (B may adjust a member who claimed A's
# code). packcode-gen refuses an unknown brand.
PC_TIMEOUT=150
. "$(dirname "$0")/harness.sh"
. "$(dirname "$0")/server_lib.sh"

# ---- the migration of free-text brands and of tokens made before scopes ----
pc_createdb old
OLD=$(pc_dbinfo old)
psql -X -q -v ON_ERROR_STOP=1 -d "$OLD" \
	-c "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())" \
	>/dev/null || fail "schema_migrations"
for f in $(pc_migrations); do
	v=$((10#${f%%_*}))
	[ "$v" -le 6 ] || continue
	psql -X -q -v ON_ERROR_STOP=1 -d "$OLD" -1 -f "$abs_top_srcdir/sql/$f.sql" >/dev/null ||
		fail "applying $f by hand"
	psql -X -q -d "$OLD" -c "INSERT INTO schema_migrations (version, name) VALUES ($v, '$f')" >/dev/null
done
PACKCODE_DB=$OLD pc_psql "INSERT INTO products (sku, name, brand, points) VALUES
	('A1', 'a', 'Alpha', 1), ('A2', 'a', 'Alpha', 1), ('B1', 'b', 'Beta', 1), ('N1', 'n', '', 1);
	INSERT INTO admin_tokens (name, hash) VALUES ('old', '\\x$(printf '%064d' 0)')"
PACKCODE_DB=$OLD pcgen db migrate >/dev/null || fail "migrating the old database"
[ "$(PACKCODE_DB=$OLD pc_psql "SELECT string_agg(quote_literal(name), ',' ORDER BY name) FROM brands")" = "'','Alpha','Beta'" ] ||
	fail "brands made: $(PACKCODE_DB=$OLD pc_psql "SELECT string_agg(name, ',') FROM brands")"
[ "$(PACKCODE_DB=$OLD pc_psql "SELECT array_to_string(scopes, ',') FROM admin_tokens WHERE name = 'old'")" = \
	read,catalog,operate,points,claims,pii,export,admin ] || fail "the old token does not hold every scope"
! PACKCODE_DB=$OLD pc_psql "UPDATE products SET brand = 'Gamma' WHERE sku = 'A1'" 2>/dev/null ||
	fail "a product took a brand that does not exist"
ok "migration: a brand per distinct value, products reference them, old tokens hold every scope"

# ---- over HTTP ----
setup # TEA of brand "Packcode Tea"
pcgen product add --sku BEAN --name "Beans" --brand "Bean Co" --points 3 >/dev/null || fail "product BEAN"
mint 6
A=$BATCH
cp "$CODES" "$T/codes"
pcgen mint --product BEAN --count 4 --out "$T/bean" --host pack.example --short -q || fail "mint BEAN"
B=$(jq -r .batch "$T/bean/batch.json")
BCODE=$(sed -n 2p "$T/bean/codes.csv" | cut -d, -f1)

TA=$(pcgen token add --name tea-ops --brands "Packcode Tea" 2>/dev/null) || fail "token tea-ops"
TB=$(pcgen token add --name bean-ops --brands "Bean Co" 2>/dev/null) || fail "token bean-ops"
TALL=$(pcgen token add --name group 2>/dev/null) || fail "token group"
expect_error 1 'unknown brand "Nope"' pcgen token add --name x --brands Nope
expect_error 2 'brand names separated by commas' pcgen token add --name x --brands 'A,,B'
[ "$(sql "SELECT count(*) FROM admin_tokens WHERE name = 'x'")" = 0 ] || fail "a refused token was stored"

server_start --threads 1 --pool 3
as() { # as TOKEN METHOD PATH [BODY]
	local tok=$1 method=$2 path=$3
	if [ $# -ge 4 ]; then
		STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' -X "$method" \
			-H "Authorization: Bearer $tok" -H 'Content-Type: application/json' --data-binary "$4" "$BASE$path")
	else
		STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' -X "$method" \
			-H "Authorization: Bearer $tok" "$BASE$path")
	fi
}

# claims: one of A's codes claimed, then tried by another (suspicious); one of B's
claim "$(code 1)" alice
expect 200 "claim A"
claim "$(code 1)" mallory
expect 409 "second claim A"
claim "$BCODE" bob
expect 200 "claim B"

as "$TB" GET /api/v1/admin/batches
expect 200 "B lists batches"
[ "$(field '[.batches[].id] | map(tostring) | join(",")')" = "$B" ] || fail "B sees batches $(field '[.batches[].id]')"
as "$TALL" GET /api/v1/admin/batches
[ "$(field '.batches | length')" = 2 ] || fail "the group token sees $(field '.batches | length') batches"
as "$TB" GET "/api/v1/admin/batches?product=TEA"
[ "$(field '.batches | length')" = 0 ] || fail "B sees A's batches by product"
as "$TB" GET "/api/v1/admin/batches/$A"
expect 404 "B reads A's batch"
[ "$(field .error)" = unknown_batch ] || fail "B reading A's batch: $(cat "$T/body")"
as "$TB" GET "/api/v1/admin/batches/999999"
expect 404 "B reads no batch"
as "$TB" GET "/api/v1/admin/batches/$B"
expect 200 "B reads its batch"
[ "$(field .id)" = "$B" ] && [ "$(field .claims)" = 1 ] || fail "B's batch: $(cat "$T/body")"
as "$TA" GET "/api/v1/admin/batches/$A"
expect 200 "A reads its batch"
ok "B lists and reads only its batches: A's is 404 as if absent"

before=$(sql "SELECT count(*) FROM audit")
as "$TB" POST "/api/v1/admin/batches/$A/recall" '{"reason":"not mine"}'
expect 403 "B recalls A's batch"
[ "$(field .error)" = forbidden_brand ] || fail "B recalling A: $(cat "$T/body")"
[ "$(sql "SELECT status FROM batches WHERE id = $A")" = active ] || fail "A's batch changed"
as "$TB" POST "/api/v1/admin/batches/$B/recall" '{"reason":"mine"}'
expect 200 "B recalls its batch"
as "$TB" POST "/api/v1/admin/batches/$B/unrecall" '{"reason":"back"}'
expect 200 "B unrecalls its batch"
as "$TB" POST /api/v1/admin/products '{"sku":"FAKE","name":"Fake tea","points":1,"brand":"Packcode Tea"}'
expect 403 "B adds a product under A"
[ "$(field .error)" = forbidden_brand ] || fail "B adding under A: $(cat "$T/body")"
as "$TB" POST /api/v1/admin/products '{"sku":"FAKE","name":"Fake","points":1}'
expect 403 "B adds a product without a brand"
as "$TB" POST /api/v1/admin/products '{"sku":"FAKE","name":"Fake","points":1,"brand":"New Co"}'
expect 403 "B adds a product under a new brand"
[ "$(sql "SELECT count(*) FROM products WHERE sku = 'FAKE'") $(sql "SELECT count(*) FROM brands WHERE name = 'New Co'")" = "0 0" ] ||
	fail "a refused product or brand was written"
[ "$(sql "SELECT count(*) FROM audit")" = $((before + 2)) ] || fail "refusals wrote audit rows"
as "$TB" POST /api/v1/admin/products '{"sku":"BEAN2","name":"More beans","points":2,"brand":"Bean Co"}'
expect 201 "B adds a product under its brand"
as "$TALL" POST /api/v1/admin/products '{"sku":"NEW1","name":"New","points":2,"brand":"New Co"}'
expect 201 "the group token adds a product under a new brand"
[ "$(sql "SELECT count(*) FROM audit WHERE action = 'brand.add' AND target = 'New Co' AND actor = 'group'")" = 1 ] ||
	fail "the new brand was not audited"
ok "B cannot recall A's batch (403) nor add products under A, no brand or a new one; nothing written"

as "$TB" GET /api/v1/admin/products
[ "$(field '[.products[].sku] | join(",")')" = BEAN,BEAN2 ] || fail "B's products: $(field '[.products[].sku]')"
as "$TB" GET /api/v1/admin/stats
expect 200 "B's stats"
[ "$(field .products) $(field .codes_minted) $(field .codes_claimed) $(field .members) $(field .points_held)" = "2 4 1 1 null" ] ||
	fail "B's stats: $(cat "$T/body")"
[ "$(field '.batches.active')" = 1 ] || fail "B's batches in stats: $(cat "$T/body")"
as "$TALL" GET /api/v1/admin/stats
[ "$(field .products) $(field .codes_minted) $(field .codes_claimed)" = "4 10 2" ] ||
	fail "the group's stats: $(cat "$T/body")"
wait_until 5 "the claims' scans written" sql_is 3 "SELECT count(*) FROM scans WHERE kind = 'claim'"
as "$TB" GET "/api/v1/admin/codes/suspicious?min_clients=1"
[ "$(field '[.codes[].batch] | unique | map(tostring) | join(",")')" = "$B" ] ||
	fail "B's suspicious codes: $(cat "$T/body")"
as "$TB" GET "/api/v1/admin/codes/suspicious?min_clients=1&batch=$A"
[ "$(field '.codes | length')" = 0 ] || fail "B sees A's suspicious codes by batch"
as "$TA" GET /api/v1/admin/codes/suspicious
[ "$(field '.codes[0].refused_claims')" = 1 ] || fail "A does not see its cloned code: $(cat "$T/body")"
as "$TB" GET /api/v1/admin/audit
[ "$(field '[.entries[].actor] | unique | join(",")')" = bean-ops ] || fail "B's audit: $(field '[.entries[].actor]')"
ok "B sees only its products, stats, suspicious codes and its own audit rows"

as "$TB" POST /api/v1/admin/members/alice/adjust '{"points":5,"reason":"goodwill"}'
expect 200 "B adjusts a member who claimed A's code"
[ "$(field .balance)" = 15 ] || fail "alice's balance: $(cat "$T/body")"
ok "the member pool is one for the group"
server_stop
