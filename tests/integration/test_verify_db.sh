#!/bin/bash
# test_verify_db.sh: packcode-gen verify with a database: a genuine code whose
# serial no batch holds is "never minted" (not genuine); the batch's state
# decides the rest. Codes are made by the independent reference implementation
# (tests/reference/packcode_ref.py), from the keyring's secret.
PC_TIMEOUT=180
. "$(dirname "$0")/harness.sh"

command -v python3 >/dev/null || skip "no python3 for the reference implementation"
python3 -c 'import cryptography' 2>/dev/null || skip "python3 lacks the cryptography package (python3-cryptography)"
ref() { timeout --foreground 30 python3 "$abs_top_srcdir/tests/reference/packcode_ref.py" "$@"; }

pcgen db migrate >/dev/null || fail "db migrate failed"
pcgen keygen >/dev/null || fail "keygen failed"
secret=$(awk '$1 == 1 { print $4 }' "$PACKCODE_KEYRING")
[ ${#secret} = 64 ] || fail "cannot read key 1's secret from the keyring"
code=$(ref encode "$secret" 1 5 | awk '{ print $1 }')
[ ${#code} = 20 ] || fail "the reference implementation gave no code: $code"

# Signed by our key, but serial 5 is in no batch: never minted.
run pcgen verify "$code"
[ "$rc" = 1 ] || fail "verify of a never-minted code exited $rc"
[ "$(printf '%s\n' "$out" | head -1)" = "$code: not_genuine (key 1, serial 5)" ] || fail "verify: $out"
grep -q <<<"$out" "no batch holds this serial: never minted" || fail "verify: $out"
run pcgen verify --json "$code"
grep -q <<<"$out" '"verdict":"not_genuine"' || fail "verify --json: $out"
note "a code in no batch is never minted"

# A batch holds it: minting (void until printed), active, claimed, recalled.
pcgen product add --sku V1 --name "Verified" --points 3 >/dev/null || fail "product add failed"
[ "$(pc_psql "SELECT serial_first || '-' || serial_last FROM allocate_batch('V1', 10, 1::smallint, '', '', NULL, false)")" = 1-10 ] ||
	fail "allocate_batch did not give serials 1-10"
run pcgen verify "$code"
[ "$rc" = 1 ] && grep -q <<<"$out" "^$code: void_batch" || fail "verify in a minting batch: $out"
pc_psql "UPDATE batches SET status = 'active'"
run pcgen verify "$code"
[ "$rc" = 0 ] || fail "verify of an active batch's code exited $rc: $out $err"
grep -q <<<"$out" "^$code: genuine (key 1, serial 5)" || fail "verify: $out"
grep -q <<<"$out" 'batch 1 (active), product V1 "Verified"' || fail "verify: $out"
grep -q <<<"$out" "not claimed" || fail "verify: $out"
pc_psql "INSERT INTO redemptions (serial, batch_id, member, points) VALUES (5, 1, '+15550001234', 3)"
run pcgen verify "$code"
grep -q <<<"$out" "claimed .* by +15550001234 for 3 points" || fail "verify of a claimed code: $out"
pc_psql "UPDATE batches SET status = 'recalled'"
run pcgen verify "$code"
[ "$rc" = 1 ] && grep -q <<<"$out" "^$code: recalled" || fail "verify in a recalled batch: $out"
note "minting -> void_batch, active -> genuine (claimed shown), recalled -> recalled"

# No database at all (embedded, absent): keyring verdict only, no cluster made.
run env -u PACKCODE_DB PACKCODE_HOME="$PC_TMP/empty" timeout --foreground 60 "$PACKCODE_GEN" verify "$code"
[ "$rc" = 0 ] || fail "offline verify exited $rc: $out $err"
grep -q <<<"$out" "database not consulted: no database" || fail "verify without database: $out"
[ ! -e "$PC_TMP/empty/var" ] || fail "verify without a database created one"
