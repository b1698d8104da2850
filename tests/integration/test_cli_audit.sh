#!/bin/bash
# test_cli_audit.sh: every administrative change packcode-gen makes leaves
# exactly one audit row per change, actor cli:USER, with the right action and
# target, written by the same SQL functions the admin API uses; a refused
# command leaves none. Keys: a change with no database at all is made and
# says it is not audited; with a database that cannot be reached it is
# refused and the keyring is left alone.
PC_TIMEOUT=180
. "$(dirname "$0")/harness.sh"

ACTOR=cli:$(id -un)
audits() { pc_psql "SELECT count(*) FROM audit"; }
# the newest audit row: actor|action|target|client
last_audit() {
	pc_psql "SELECT actor || '|' || action || '|' || coalesce(target, '') || '|' ||
	                coalesce(host(client), '') FROM audit ORDER BY id DESC LIMIT 1"
}
last_detail() { pc_psql "SELECT detail->>'$1' FROM audit ORDER BY id DESC LIMIT 1"; }
last_id() { pc_psql "SELECT coalesce(max(id), 0) FROM audit"; }
# since ID: the audit rows after ID, as action|target|detail.from>detail.to, comma-separated
since() {
	pc_psql "SELECT string_agg(actor || '|' || action || '|' || target || '|' ||
	                           coalesce(detail->>'from', '') || '>' || coalesce(detail->>'to', ''),
	                           ',' ORDER BY id)
	           FROM audit WHERE id > $1"
}
# audited ACTION TARGET CMD...: CMD succeeds and adds exactly one audit row, ACTION on TARGET.
audited() {
	local action=$1 target=$2 before
	shift 2
	before=$(audits)
	run "$@"
	[ "$rc" = 0 ] || fail "'$*' exited $rc: $err"
	[ "$(audits)" = $((before + 1)) ] || fail "'$*' wrote $(($(audits) - before)) audit rows, not 1"
	[ "$(last_audit)" = "$ACTOR|$action|$target|" ] || fail "'$*' audited as '$(last_audit)'"
}
# refused STATUS PATTERN CMD...: CMD fails with one error line and writes no audit row.
refused() {
	local want=$1 pattern=$2 before
	shift 2
	before=$(audits)
	expect_error "$want" "$pattern" "$@"
	[ "$(audits)" = "$before" ] || fail "the refused '$*' wrote an audit row: $(last_audit)"
}
keyring_sum() { sha256sum "$PACKCODE_KEYRING" | cut -d' ' -f1; }

# ---- keys without a database ----
# An external database with no schema yet: the key is made, and said not to be audited.
run pcgen keygen
[ "$rc" = 0 ] || fail "keygen before migrate exited $rc: $err"
[ "$err" = "packcode-gen: keygen: note: no database yet, so this change is not in the audit trail" ] ||
	fail "keygen before migrate said: $err"
[ "$(pc_psql "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" = 0 ] ||
	fail "keygen made tables"
# No database configured and no embedded cluster: none is created for the audit row.
mkdir -m 755 "$PC_TMP/nodb"
run env -u PACKCODE_DB PACKCODE_HOME="$PC_TMP/nodb" PACKCODE_KEYRING="$PC_TMP/nodb.keyring" \
	timeout --foreground 60 "$PACKCODE_GEN" keygen
[ "$rc" = 0 ] && [ -f "$PC_TMP/nodb.keyring" ] || fail "keygen without a database exited $rc: $err"
grep -q 'note: no database yet' <<<"$err" || fail "keygen without a database said: $err"
[ ! -e "$PC_TMP/nodb/var" ] || fail "keygen created an embedded cluster for its audit row"
# A database that cannot be reached: refused, the keyring untouched.
sum=$(keyring_sum)
expect_error 1 '^packcode-gen: keygen: ' env PACKCODE_DB="host=$PC_TMP/nowhere dbname=x user=x" \
	timeout --foreground 60 "$PACKCODE_GEN" keygen
[ "$(keyring_sum)" = "$sum" ] || fail "a keygen refused for its audit row changed the keyring"
expect_error 1 '^packcode-gen: key: ' env PACKCODE_DB="host=$PC_TMP/nowhere dbname=x user=x" \
	timeout --foreground 60 "$PACKCODE_GEN" key retire 1
[ "$(keyring_sum)" = "$sum" ] || fail "a key retire refused for its audit row changed the keyring"
note "keys: no database, made with a note; an unreachable database, refused"

pcgen db migrate >/dev/null || fail "db migrate failed"
[ "$(audits)" = 0 ] || fail "migrate wrote audit rows"

# ---- keys ----
audited key.add 2 pcgen keygen
[ "$(last_detail previous)" = 1 ] || fail "keygen's audit row does not name the demoted key 1"
[ -z "$err" ] || fail "keygen with a database printed: $err"
audited key.retire 2 pcgen key retire 2
[ "$(last_detail from)" = active ] || fail "key retire audited from '$(last_detail from)'"
audited key.revoke 1 pcgen key revoke 1
[ "$(last_detail from)" = verify-only ] || fail "key revoke audited from '$(last_detail from)'"
sum=$(keyring_sum)
refused 1 'no key 9 in' pcgen key revoke 9
refused 1 'key 1 is revoked; revoking cannot be undone' pcgen key retire 1
refused 2 'key id must be a number' pcgen key retire x
[ "$(keyring_sum)" = "$sum" ] || fail "a refused key command changed the keyring"
# revoking a revoked key changes nothing: no row
before=$(audits)
run pcgen key revoke 1
[ "$rc" = 0 ] && [ "$(audits)" = "$before" ] || fail "revoking a revoked key again wrote an audit row"
audited key.add 3 pcgen keygen
[ "$(pc_psql "SELECT detail->'previous' FROM audit ORDER BY id DESC LIMIT 1")" = null ] ||
	fail "keygen with no active key before names a previous one"
note "keys: keygen, retire, revoke audited once each; refusals and no-ops not"

# ---- products ----
audited product.add TEA pcgen product add --sku TEA --name "Green tea" --points 10 --gtin 4006381333931
[ "$(last_detail gtin)" = 04006381333931 ] && [ "$(last_detail points)" = 10 ] ||
	fail "product add's audit detail: $(pc_psql "SELECT detail FROM audit ORDER BY id DESC LIMIT 1")"
refused 1 'product "TEA" already exists' pcgen product add --sku TEA --name Other --points 1
refused 1 'GTIN 04006381333931 is already used' pcgen product add --sku TEA2 --name Other --points 1 \
	--gtin 4006381333931
refused 1 'points must be' pcgen product add --sku TEA3 --name Other --points -1
note "product add audited once; refusals not"

# ---- mint: the batch, then its activation ----
A=$(last_id)
run pcgen mint --product TEA --count 50 --out "$PC_TMP/run1" --host pack.example -q
[ "$rc" = 0 ] || fail "mint exited $rc: $err"
B=$(pc_psql "SELECT max(id) FROM batches")
[ "$(since "$A")" = "$ACTOR|batch.create|$B|>,$ACTOR|batch.activate|$B|minting>active" ] ||
	fail "mint's audit rows: $(since "$A")"
[ "$(pc_psql "SELECT (detail->>'count') || ' ' || (detail->>'key_id') || ' ' || (detail->>'sku')
                FROM audit WHERE action = 'batch.create' AND target = '$B'")" = "50 3 TEA" ] ||
	fail "batch.create detail: $(pc_psql "SELECT detail FROM audit WHERE action = 'batch.create'")"
refused 1 'unknown product "NOPE"' pcgen mint --product NOPE --count 5 --out "$PC_TMP/run2" \
	--host pack.example -q
# a mint that fails after its batch was made (a full disk): the batch, then its voiding
A=$(last_id)
run bash -c "trap '' XFSZ; ulimit -f 1; exec timeout 120 '$PACKCODE_GEN' mint --product TEA \
	--count 2000 --out '$PC_TMP/run3' --host pack.example -q"
[ "$rc" = 1 ] || fail "mint onto a failing disk exited $rc: $err"
B3=$(pc_psql "SELECT max(id) FROM batches")
[ "$(since "$A")" = "$ACTOR|batch.create|$B3|>,$ACTOR|batch.void|$B3|minting>void" ] ||
	fail "a failed mint's audit rows: $(since "$A")"
note "mint audited as batch.create, then batch.activate (or batch.void); refusals not"

# ---- tokens ----
audited token.add ops pcgen token add --name ops
refused 1 '"ops" already has a live token' pcgen token add --name ops
audited token.revoke ops pcgen token revoke ops
refused 1 'no active token named "ops"' pcgen token revoke ops
refused 2 'a name is 1 to 64' pcgen token add --name '-x'
note "token add and revoke audited once each; refusals not"

# Every row so far is the command line's; none has a client address.
[ "$(pc_psql "SELECT count(*) FROM audit WHERE actor <> '$ACTOR' OR client IS NOT NULL")" = 0 ] ||
	fail "an audit row not from $ACTOR, or with a client address"
# The promise of sql/003_admin.sql, as a count: 2 keygens, a retire and a
# revoke, 1 product, 2 + 2 batch rows, 2 token changes.
[ "$(audits)" = 11 ] || fail "$(audits) audit rows, expected 11"
note "every administrative command is audited: $(audits) rows"
