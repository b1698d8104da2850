#!/bin/bash
# test_products.sh: product add / list and batches against a migrated database:
# GTINs stored as GTIN-14; each bad input is one error line, exit 1, and no row
# changed; values travel as parameters, never as SQL.
PC_TIMEOUT=180
. "$(dirname "$0")/harness.sh"

pcgen db migrate >/dev/null || fail "db migrate failed"
count() { pc_psql "SELECT count(*) FROM products"; }

run pcgen product add --sku CAP-330 --name "Cola 330 ml" --points 25 --gtin 4006381333931 --brand Acme
[ "$rc" = 0 ] || fail "product add exited $rc: $err"
[ "$out" = "added product CAP-330, GTIN 04006381333931, 25 points" ] || fail "product add said: $out"
[ "$(pc_psql "SELECT gtin, name, brand, points FROM products WHERE sku = 'CAP-330'")" = \
	"04006381333931|Cola 330 ml|Acme|25" ] || fail "the GTIN-13 was not stored as GTIN-14"
run pcgen product add --sku upc.1 --name "UPC-A" --points 0 --gtin 036000291452
[ "$rc" = 0 ] || fail "product add with a GTIN-12 exited $rc: $err"
run pcgen product add --sku ean8_1 --name "EAN-8" --points 1000000 --gtin 96385074
[ "$rc" = 0 ] || fail "product add with a GTIN-8 exited $rc: $err"
run pcgen product add --sku NOGTIN --name "Ünïcödé ✓" --points 7
[ "$rc" = 0 ] || fail "product add without GTIN, UTF-8 name exited $rc: $err"
[ "$(pc_psql "SELECT gtin FROM products WHERE sku = 'upc.1'")" = 00036000291452 ] || fail "GTIN-12 not padded"
[ "$(pc_psql "SELECT gtin FROM products WHERE sku = 'ean8_1'")" = 00000096385074 ] || fail "GTIN-8 not padded"
[ "$(pc_psql "SELECT gtin IS NULL FROM products WHERE sku = 'NOGTIN'")" = t ] || fail "no GTIN is not NULL"

# Each bad input: exit 1, one line, the products table unchanged.
refused() {
	local pattern=$1 before
	shift
	before=$(count)
	expect_error 1 "^packcode-gen: product add: .*$pattern" pcgen product add "$@"
	[ "$(count)" = "$before" ] || fail "a refused 'product add $*' changed products"
}
refused "GTIN check digit is 2, expected 1" --sku X1 --name N --points 1 --gtin 4006381333932
refused "8, 12, 13 or 14 digits" --sku X1 --name N --points 1 --gtin 40063813339
refused "GTIN must be digits only" --sku X1 --name N --points 1 --gtin 40063813339a1
refused "SKU \"-x\" is not" --sku -x --name N --points 1
refused "SKU \"a b\" is not" --sku "a b" --name N --points 1
refused "SKU .* is not" --sku "$(printf 'A%.0s' $(seq 1 65))" --name N --points 1
refused "points must be a whole number from 0 to 1000000" --sku X1 --name N --points 1000001
refused "points must be" --sku X1 --name N --points -1
refused "points must be" --sku X1 --name N --points 12abc
refused "name must be 1 to 200 characters, not 0" --sku X1 --name "" --points 1
refused "name must be 1 to 200 characters, not 201" --sku X1 --name "$(printf 'é%.0s' $(seq 1 201))" --points 1
refused "name must be UTF-8" --sku X1 --name "$(printf 'bad\xff')" --points 1
refused "name must be UTF-8" --sku X1 --name "$(printf 'two\nlines')" --points 1
refused "brand must be" --sku X1 --name N --brand "$(printf 'b%.0s' $(seq 1 201))" --points 1
refused "product \"CAP-330\" already exists" --sku CAP-330 --name Other --points 1
refused "GTIN 04006381333931 is already used" --sku X2 --name Other --points 1 --gtin 4006381333931
refused "GTIN 04006381333931 is already used" --sku X3 --name Other --points 1 --gtin 04006381333931
# usage errors: exit 2
before=$(count)
expect_error 2 "needs --sku, --name and --points" pcgen product add --sku X1 --points 1
expect_error 2 "unknown option" pcgen product add --sku X1 --name N --points 1 --colour red
expect_error 2 "unknown action" pcgen product remove
[ "$(count)" = "$before" ] || fail "a usage error changed products"
note "17 bad inputs refused with one line each, nothing changed"

# A name that looks like SQL is stored as text.
evil="x'); DROP TABLE products; --"
run pcgen product add --sku EVIL --name "$evil" --points 1
[ "$rc" = 0 ] || fail "product add of a SQL-looking name exited $rc: $err"
[ "$(pc_psql "SELECT name FROM products WHERE sku = 'EVIL'")" = "$evil" ] || fail "name not stored verbatim"

# product list shows them all, sorted by SKU.
run pcgen product list
[ "$rc" = 0 ] || fail "product list exited $rc: $err"
head -1 <<<"$out" | grep -Eq '^SKU +GTIN +POINTS +BRAND +NAME$' || fail "list header: $out"
grep -Eq <<<"$out" '^CAP-330 +04006381333931 +25 +Acme +Cola 330 ml$' || fail "list: $out"
grep -Eq <<<"$out" '^NOGTIN +- +7 +- +Ünïcödé ✓$' || fail "list: $out"
[ "$(printf '%s\n' "$out" | sed 1d | awk '{print $1}' | paste -sd,)" = "CAP-330,EVIL,NOGTIN,ean8_1,upc.1" ] ||
	fail "product list is not every product sorted by SKU: $out"

# batches: lists print runs, filtered by product.
run pcgen batches
[ "$rc" = 0 ] && [ "$(printf '%s\n' "$out" | grep -c .)" = 1 ] || fail "batches with none: $out"
pc_psql "SELECT id FROM allocate_batch('CAP-330', 1000, 1::smallint, 'F1', 'L1', NULL, false)" >/dev/null
pc_psql "SELECT id FROM allocate_batch('upc.1', 5, 2::smallint, '', '', 'EU', true)" >/dev/null
pc_psql "UPDATE batches SET status = 'active', printed_at = '2026-01-02 03:04:05+00' WHERE product_sku = 'CAP-330'"
run pcgen batches
[ "$rc" = 0 ] || fail "batches exited $rc: $err"
head -1 <<<"$out" | grep -Eq '^ID +SKU +KEY +COUNT +STATUS +CREATED +PRINTED$' || fail "batches header: $out"
grep -Eq <<<"$out" '^1 +CAP-330 +1 +1000 +active +20[0-9-]{8}T[0-9:]{8}Z +2026-01-02T03:04:05Z$' ||
	fail "batches: $out"
grep -Eq <<<"$out" '^2 +upc.1 +2 +5 +minting +20[0-9-]{8}T[0-9:]{8}Z +-$' || fail "batches: $out"
run pcgen batches --product upc.1
[ "$(printf '%s\n' "$out" | sed 1d | awk '{print $1}' | paste -sd,)" = 2 ] || fail "batches --product: $out"
expect_error 1 "batches: no product \"NOPE\"" pcgen batches --product NOPE
