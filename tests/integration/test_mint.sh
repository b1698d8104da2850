#!/bin/bash
# test_mint.sh: packcode-gen mint against a real PostgreSQL: 100,000 codes
# that all verify and are all distinct, one batch row (stateless minting),
# codes that the independent reference implementation decodes to the batch's
# serials, concurrent mints that never overlap, QR images that zbarimg reads
# back as exactly the CSV's URL, and failures (bad input, interruption, a
# failing disk) that leave nothing behind and a void batch.
PC_TIMEOUT=400
. "$(dirname "$0")/harness.sh"

for tool in zbarimg rsvg-convert; do
	command -v $tool >/dev/null || skip "no $tool (Debian: zbar-tools, librsvg2-bin)"
done
zbar() { timeout --foreground 30 zbarimg --raw -q "$@" 2>/dev/null; }
HOST=pack.example.com
dst=$PC_TMP/minted
mkdir "$dst"

pcgen db migrate >/dev/null || fail "db migrate failed"
pcgen keygen >/dev/null || fail "keygen failed"
pcgen product add --sku TEA --gtin 4006381333931 --name "Green Tea" --points 10 >/dev/null ||
	fail "product add TEA failed"
pcgen product add --sku SOAP --name "Soap" --points 5 >/dev/null || fail "product add SOAP failed"

table_counts() {
	pc_psql "SELECT (SELECT count(*) FROM batches) || ' ' || (SELECT count(*) FROM redemptions) || ' ' ||
	                (SELECT count(*) FROM ledger) || ' ' || (SELECT count(*) FROM members) || ' ' ||
	                (SELECT count(*) FROM scans) || ' ' || (SELECT count(*) FROM code_stats)"
}

# ---- 100,000 codes to CSV ----
before=$(table_counts)
run pcgen mint --product TEA --count 100000 --out "$dst/big" --host $HOST
[ "$rc" = 0 ] || fail "mint 100000 exited $rc: $err"
csv=$dst/big/codes.csv
[ "$(head -1 "$csv")" = "code,code_grouped,url,seq,batch,sku,gtin" ] || fail "CSV header: $(head -1 "$csv")"
[ "$(wc -l <"$csv")" = 100001 ] || fail "CSV has $(wc -l <"$csv") lines, not 100001"
[ "$(tail -n +2 "$csv" | cut -d, -f1 | sort -u | wc -l)" = 100000 ] || fail "codes are not all distinct"
# every row: code, its grouping, the Digital Link URL with it, seq 1..N, batch, sku, gtin
tail -n +2 "$csv" | awk -F, -v host=$HOST '
	{
		g = substr($1,1,5) "-" substr($1,6,5) "-" substr($1,11,5) "-" substr($1,16,5)
		if (NF != 7 || length($1) != 20 || $2 != g ||
		    $3 != "https://" host "/01/04006381333931/21/" $1 || $4 != NR ||
		    $5 != 1 || $6 != "TEA" || $7 != "04006381333931") { print "bad row " NR ": " $0; exit 1 }
	}' || fail "a CSV row is wrong"
run sh -c "tail -n +2 '$csv' | cut -d, -f1 | timeout 120 '$PACKCODE_GEN' verify --offline"
[ "$rc" = 0 ] || fail "verify --offline of the 100000 codes exited $rc"
[ "$(grep -c ': genuine (key 1, serial ' <<<"$out")" = 100000 ] || fail "not every code verified genuine"
note "100000 codes: distinct, well-formed rows, all genuine"

# stateless: one batch row, nothing else
after=$(table_counts)
[ "$after" = "$(awk '{ $1 = $1 + 1; print }' <<<"$before")" ] ||
	fail "minting changed more than one batch row: before '$before', after '$after'"
[ "$(pc_psql "SELECT serial_first || ' ' || serial_last || ' ' || status || ' ' || key_id || ' ' || (printed_at IS NOT NULL)
              FROM batches WHERE id = 1")" = "1 100000 active 1 true" ] || fail "batch 1 row is wrong"
python3 - "$dst/big/batch.json" <<'EOF' || fail "batch.json does not match the batch"
import json, sys
b = json.load(open(sys.argv[1]))
assert (b["batch"], b["serial_first"], b["serial_last"], b["count"], b["key_id"]) == (1, 1, 100000, 100000, 1), b
assert b["product"]["sku"] == "TEA" and b["product"]["gtin"] == "04006381333931", b
assert b["url_form"] == "gs1_digital_link" and b["pin"] is False and b["files"] == ["codes.csv"], b
EOF
note "one batch row for 100000 codes; batch.json matches it"

# the reference implementation decodes a sample back to the batch's serials
if python3 -c 'import cryptography' 2>/dev/null; then
	secret=$(awk '$1 == 1 { print $4 }' "$PACKCODE_KEYRING")
	tail -n +2 "$csv" | awk -F, 'NR % 331 == 1 { print $1 }' >"$PC_TMP/sample"
	# shellcheck disable=SC2046
	timeout --foreground 60 python3 "$abs_top_srcdir/tests/reference/packcode_ref.py" decode "$secret" \
		$(cat "$PC_TMP/sample") >"$PC_TMP/decoded" || fail "the reference implementation failed"
	tail -n +2 "$csv" | awk -F, 'NR % 331 == 1 { print "1", $4 }' >"$PC_TMP/want"
	[ "$(wc -l <"$PC_TMP/want")" = 303 ] || fail "expected a sample of 303 codes"
	cut -d' ' -f1,2 "$PC_TMP/decoded" | cmp -s - "$PC_TMP/want" ||
		fail "the reference implementation decodes codes to other serials: $(cut -d' ' -f1,2 "$PC_TMP/decoded" | diff - "$PC_TMP/want" | head -3)"
	note "the reference implementation decodes 303 sampled codes to their serials"
else
	skip "python3 lacks the cryptography package (python3-cryptography)"
fi

# ---- concurrent mints never overlap ----
for i in 1 2 3 4; do
	timeout --foreground 120 "$PACKCODE_GEN" mint --product SOAP --count 20000 --out "$dst/c$i" --host $HOST -q \
		--threads 1 >"$PC_TMP/c$i.out" 2>&1 &
done
for i in 1 2 3 4; do wait -n || fail "a concurrent mint failed: $(cat "$PC_TMP"/c*.out)"; done
[ "$(pc_psql "SELECT count(*) FROM batches a JOIN batches b ON a.id < b.id
              AND int8range(a.serial_first, a.serial_last, '[]') && int8range(b.serial_first, b.serial_last, '[]')")" = 0 ] ||
	fail "batches overlap"
[ "$(cat "$dst"/c[1-4]/codes.csv "$csv" | grep -v '^code,' | cut -d, -f1 | sort -u | wc -l)" = 180000 ] ||
	fail "codes of concurrent mints collide"
[ "$(pc_psql "SELECT sum(serial_last - serial_first + 1) FROM batches WHERE product_sku = 'SOAP' AND status = 'active'")" = 80000 ] ||
	fail "concurrent mints did not register 4 x 20000 serials"
note "4 concurrent mints: disjoint ranges, 180000 distinct codes"

# ---- images: PNG and SVG decode to exactly the CSV's URL ----
run pcgen mint --product TEA --count 12 --out "$dst/img" --host $HOST --format png,svg --pin --lot L42 --expiry 271231
[ "$rc" = 0 ] || fail "mint with images exited $rc: $err"
[ "$(head -1 "$dst/img/codes.csv")" = "code,code_grouped,url,pin,seq,batch,sku,gtin,png,svg" ] ||
	fail "image CSV header: $(head -1 "$dst/img/codes.csv")"
n=0
while IFS=, read -r code grouped url pin seq batch sku gtin png svg; do
	[ "$code" = code ] && continue
	[ "$url" = "https://$HOST/01/04006381333931/10/L42/21/$code?17=271231" ] || fail "URL with lot and expiry: $url"
	[[ $pin =~ ^[0-9]{8}$ ]] || fail "PIN '$pin' is not 8 digits"
	[ "$png" = "png/$code.png" ] && [ "$svg" = "svg/$code.svg" ] || fail "image paths: $png $svg"
	[ "$(zbar "$dst/img/$png")" = "$url" ] || fail "zbarimg read $png as '$(zbar "$dst/img/$png")', not $url"
	timeout --foreground 30 rsvg-convert -o "$PC_TMP/svg.png" "$dst/img/$svg" || fail "rsvg-convert $svg failed"
	[ "$(zbar "$PC_TMP/svg.png")" = "$url" ] || fail "zbarimg read $svg as '$(zbar "$PC_TMP/svg.png")'"
	n=$((n + 1))
done <"$dst/img/codes.csv"
[ "$n" = 12 ] && [ "$(ls "$dst/img/png" | wc -l)" = 12 ] && [ "$(ls "$dst/img/svg" | wc -l)" = 12 ] ||
	fail "expected 12 rows, PNGs and SVGs"
[ "$(pc_psql "SELECT pin_required FROM batches ORDER BY id DESC LIMIT 1")" = t ] || fail "--pin not recorded"
if python3 -c 'import cryptography' 2>/dev/null; then
	read -r code pin < <(awk -F, 'NR == 2 { print $1, $4 }' "$dst/img/codes.csv")
	got=$(timeout --foreground 30 python3 "$abs_top_srcdir/tests/reference/packcode_ref.py" decode "$secret" "$code")
	[ "${got##* }" = "$pin" ] || fail "the reference PIN of $code is ${got##* }, the CSV says $pin"
fi
note "12 PNGs and SVGs decode to their CSV URLs; PINs are the specified ones"

run pcgen mint --product TEA --count 3 --out "$dst/short" --host $HOST --short --format png
[ "$rc" = 0 ] || fail "mint --short exited $rc: $err"
while IFS=, read -r code grouped url seq rest; do
	[ "$code" = code ] && continue
	[ "$url" = "HTTPS://PACK.EXAMPLE.COM/C/$code" ] || fail "short URL: $url"
	[ "$(zbar "$dst/short/png/$code.png")" = "$url" ] || fail "zbarimg of a short URL"
done <"$dst/short/codes.csv"
note "--short: upper-case HTTPS://HOST/C/CODE"

# ---- the short form at ECC Q where Q keeps version 3 (29x29) ----
# pack.example.com (16 characters): the 47 alphanumerics fit version 3 at Q, so Q
# it is; a 20-character host needs version 4 at Q, so M stays; --ecc chooses.
# The level is read from the symbols' format information, not from mint.
qr() { timeout --foreground 30 python3 "$abs_top_srcdir/tests/integration/print_check.py" qr "$1"; }
ecc_of() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["qr_ecc"])' "$1/batch.json"; }
code=$(awk -F, 'NR == 2 { print $1 }' "$dst/short/codes.csv")
[ "$(ecc_of "$dst/short")" = Q ] || fail "short form with a 16-character host: ECC $(ecc_of "$dst/short")"
[ "$(qr "$dst/short/png/$code.png")" = "29 Q" ] || fail "short PNG is $(qr "$dst/short/png/$code.png"), not version 3 at Q"
run pcgen mint --product TEA --count 2 --out "$dst/short20" --host qr.packcode-demo.com --short --format png
[ "$rc" = 0 ] || fail "mint --short with a 20-character host exited $rc: $err"
code=$(awk -F, 'NR == 2 { print $1 }' "$dst/short20/codes.csv")
[ "$(ecc_of "$dst/short20")" = M ] && [ "$(qr "$dst/short20/png/$code.png")" = "29 M" ] ||
	fail "a 20-character host: $(ecc_of "$dst/short20"), $(qr "$dst/short20/png/$code.png")"
[ "$(zbar "$dst/short20/png/$code.png")" = "HTTPS://QR.PACKCODE-DEMO.COM/C/$code" ] || fail "zbarimg of the M symbol"
run pcgen mint --product TEA --count 2 --out "$dst/shortm" --host $HOST --short --format png --ecc M
code=$(awk -F, 'NR == 2 { print $1 }' "$dst/shortm/codes.csv")
[ "$rc" = 0 ] && [ "$(ecc_of "$dst/shortm")" = M ] && [ "$(qr "$dst/shortm/png/$code.png")" = "29 M" ] ||
	fail "--short --ecc M did not keep M"
[ "$(ecc_of "$dst/img")" = M ] || fail "Digital Link URLs are not at the default M"
note "--short: ECC Q in version 3 where it fits (zbarimg reads it), M otherwise, --ecc wins"

# ---- failures leave nothing behind ----
batches=$(pc_psql "SELECT count(*) FROM batches")
expect_error 1 'unknown product "NOPE"' pcgen mint --product NOPE --count 5 --out "$dst/x" --host $HOST
expect_error 2 'count must be a number from 1' pcgen mint --product TEA --count 0 --out "$dst/x" --host $HOST
expect_error 2 'count must be a number from 1' pcgen mint --product TEA --count 1099511627776 --out "$dst/x" --host $HOST
expect_error 2 'not a host name' pcgen mint --product TEA --count 5 --out "$dst/x" --host "https://x.example/"
expect_error 2 'no host for the URLs' env -u PACKCODE_HOST "$PACKCODE_GEN" mint --product TEA --count 5 --out "$dst/x"
expect_error 1 'is not empty' pcgen mint --product TEA --count 5 --out "$dst/big" --host $HOST
touch "$PC_TMP/afile"
expect_error 1 'cannot use .*: Not a directory' pcgen mint --product TEA --count 5 --out "$PC_TMP/afile/x" --host $HOST
expect_error 1 'no keyring at' env PACKCODE_KEYRING="$PC_TMP/none" "$PACKCODE_GEN" mint --product TEA --count 5 --out "$dst/x" --host $HOST
[ "$(pc_psql "SELECT count(*) FROM batches")" = "$batches" ] || fail "a refused mint registered a batch"
[ ! -e "$dst/x" ] || fail "a refused mint created its output directory"
note "bad input: one error line each, no batch, no files"

# serial space exhausted: refused by the database, nothing left behind
pc_psql "UPDATE serial_allocator SET next_serial = 1099511627770"
expect_error 1 'serial space exhausted' pcgen mint --product TEA --count 10 --out "$dst/x" --host $HOST
pc_psql "UPDATE serial_allocator SET next_serial = (SELECT max(serial_last) + 1 FROM batches)"
[ ! -e "$dst/x" ] && [ "$(pc_psql "SELECT count(*) FROM batches")" = "$batches" ] || fail "an exhausted mint left something"

# a disk that fails midway (file size limit): error, no files, batch void
run bash -c "trap '' XFSZ; ulimit -f 2048; exec timeout 120 '$PACKCODE_GEN' mint --product TEA --count 100000 --out '$dst/x' --host $HOST"
[ "$rc" = 1 ] || fail "mint onto a failing disk exited $rc: $err"
grep -q 'cannot write' <<<"$err" || fail "mint onto a failing disk said: $err"
[ ! -e "$dst/x" ] || fail "a failed mint left $dst/x"
[ -z "$(ls -A "$dst" | grep minting)" ] || fail "a failed mint left its staging directory"
[ "$(pc_psql "SELECT status FROM batches ORDER BY id DESC LIMIT 1")" = void ] || fail "a failed mint's batch is not void"
note "a failing disk: no files, batch void"

# interrupted (Ctrl-C) while drawing images: no files, batch void
timeout --foreground 120 "$PACKCODE_GEN" mint --product TEA --count 200000 --out "$dst/x" --host $HOST --format png \
	>"$PC_TMP/int.out" 2>"$PC_TMP/int.err" &
pid=$!
drawing() { [ -n "$(ls -A "$dst" | grep minting)" ] && [ -n "$(ls "$dst"/.x.minting-*/png 2>/dev/null | head -1)" ]; }
wait_until 10 "the mint to draw its first images" drawing
kill -INT $pid
set +e
wait $pid
rc=$?
set -e
[ "$rc" = 1 ] || fail "an interrupted mint exited $rc"
grep -q 'interrupted' "$PC_TMP/int.err" || fail "an interrupted mint said: $(cat "$PC_TMP/int.err")"
[ ! -e "$dst/x" ] || fail "an interrupted mint left $dst/x"
[ -z "$(ls -A "$dst" | grep minting)" ] || fail "an interrupted mint left its staging directory"
[ "$(pc_psql "SELECT status || ' ' || status_reason FROM batches ORDER BY id DESC LIMIT 1")" = "void interrupted" ] ||
	fail "an interrupted mint's batch is not void"
note "interrupted: no files, batch void"
