#!/bin/bash
# test_cli_users.sh: packcode-gen user add|list|disable and token add with
# scopes and brands: their usage errors (exit 2) and failures (exit 1), one
# line each and nothing written; what is stored (an argon2id hash, never the
# password; scopes and brand ids); each change audited once, without secrets.
PC_TIMEOUT=120
. "$(dirname "$0")/harness.sh"

pcgen db migrate >/dev/null || fail "db migrate"
pcgen product add --sku TEA --name Tea --brand "Packcode Tea" --points 1 >/dev/null || fail "product add"
PW='a long enough password'
add() { printf '%s\n' "$PW" | pcgen user add "$@" --password-stdin; }
count() { pc_psql "SELECT count(*) FROM staff"; }

expect_error 2 'add needs --scopes' add alice
expect_error 2 'unknown scope "root"' add alice --scopes read,root
expect_error 2 'a name is 1 to 64' add '.alice' --scopes read
expect_error 2 'a name is 1 to 64' add 'al ice' --scopes read
expect_error 2 'add needs a name' pcgen user add --scopes read
expect_error 2 'unknown action "remove"' pcgen user remove alice
expect_error 2 'are for add' pcgen user list --scopes read
expect_error 2 'brand names separated by commas' add alice --scopes read --brands ','
expect_error 1 'a password is 10 to 1024 bytes' sh -c "printf 'short\n' | '$PACKCODE_GEN' user add alice --scopes read --password-stdin"
expect_error 1 'no password on standard input' sh -c "'$PACKCODE_GEN' user add alice --scopes read --password-stdin </dev/null"
command -v setsid >/dev/null && expect_error 1 'no terminal to read the password from' \
	setsid -w "$PACKCODE_GEN" user add alice --scopes read </dev/null
expect_error 1 'unknown brand "Nope"' add alice --scopes read --brands Nope
[ "$(count)" = 0 ] || fail "a refused user was stored"
[ "$(pc_psql "SELECT count(*) FROM audit WHERE action LIKE 'staff.%'")" = 0 ] || fail "a refusal was audited"
note "ok - usage errors exit 2, failures 1, one line each, nothing stored"

run add alice --scopes read,points --brands "Packcode Tea"
[ "$rc" = 0 ] && [ -z "$out" ] || fail "user add alice: $rc $out $err"
expect_error 1 '"alice" exists already' add alice --scopes read
run add bob --scopes all --totp
[ "$rc" = 0 ] || fail "user add bob --totp: $err"
case $out in otpauth://totp/packcode:bob\?secret=*\&issuer=packcode\&algorithm=SHA1\&digits=6\&period=30) ;; *) fail "TOTP URI: $out" ;; esac
[ "$(pc_psql "SELECT array_to_string(scopes, ','), brand_ids = ARRAY[(SELECT id FROM brands WHERE name = 'Packcode Tea')], left(password_hash, 10), totp_secret IS NULL FROM staff WHERE name = 'alice'")" = \
	'read,points|t|$argon2id$|t' ] || fail "alice stored as $(pc_psql "SELECT * FROM staff WHERE name = 'alice'")"
[ "$(pc_psql "SELECT length(totp_secret), array_length(scopes, 1) FROM staff WHERE name = 'bob'")" = '20|9' ] ||
	fail "bob stored wrongly"
! grep -qF "$PW" <<<"$(pc_psql "SELECT * FROM staff")" || fail "the password was stored"
run pcgen user list
grep -Eq '^alice +read,points +Packcode Tea +no ' <<<"$out" || fail "user list: $out"
grep -Eq '^bob +read,catalog,operate,points,claims,pii,export,admin,campaigns +all +yes ' <<<"$out" || fail "user list: $out"
note "ok - add stores an argon2id hash, scopes, brand ids, a 20-byte TOTP secret; list shows them"

run pcgen user disable alice
[ "$rc" = 0 ] || fail "user disable: $err"
expect_error 1 'is disabled already' pcgen user disable alice
expect_error 1 'no user named "carol"' pcgen user disable carol
[ "$(pc_psql "SELECT string_agg(action || ' ' || target || ' ' || actor, ',' ORDER BY id) FROM audit WHERE action LIKE 'staff.%'")" = \
	"staff.add alice cli:$(id -un),staff.add bob cli:$(id -un),staff.disable alice cli:$(id -un)" ] ||
	fail "audit: $(pc_psql "SELECT action, target FROM audit WHERE action LIKE 'staff.%'")"
! grep -qE "argon2|$PW" <<<"$(pc_psql "SELECT detail::text FROM audit")" || fail "a secret reached the audit trail"
note "ok - disable once; each change audited once, no secret in the audit trail"

expect_error 2 'unknown scope "everything"' pcgen token add --name t1 --scopes everything
expect_error 2 'are for add' pcgen token list --scopes read
run pcgen token add --name t1 --scopes points,read --brands "Packcode Tea"
[ "$rc" = 0 ] || fail "token add with scopes: $err"
run pcgen token list
grep -Eq '^t1 .* read,points +Packcode Tea$' <<<"$out" || fail "token list: $out"
note "ok - token add --scopes --brands, listed"
