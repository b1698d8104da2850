#!/bin/bash
# test_mint_labels.sh: packcode-gen mint --format pdf,zpl against a real
# PostgreSQL, read back by tools that know nothing of packcode: each PDF page
# rendered by pdftoppm at 300 dpi and every label decoded alone by zbarimg to
# its CSV URL in order (so pages and labels per page are the grid's), crop
# marks where the layout puts them, pdftotext finding the codes and PINs; the
# ZPL parsed (print_check.py); long runs cut into files with flat memory;
# options that cannot work refused before anything is registered.
PC_TIMEOUT=400
. "$(dirname "$0")/harness.sh"

for tool in zbarimg pdftoppm pdftotext pdfinfo; do
	command -v $tool >/dev/null || skip "no $tool (Debian: zbar-tools, poppler-utils)"
done
[ -x /usr/bin/time ] || skip "no /usr/bin/time (Debian: time)"
check() { timeout --foreground 300 python3 "$abs_top_srcdir/tests/integration/print_check.py" "$@"; }
HOST=pack.example.com
dst=$PC_TMP/minted
mkdir "$dst"

pcgen db migrate >/dev/null || fail "db migrate failed"
pcgen keygen >/dev/null || fail "keygen failed"
pcgen product add --sku TEA --gtin 4006381333931 --name "Green Tea" --points 10 >/dev/null ||
	fail "product add TEA failed"
pcgen product add --sku SOAP --name "Soap" --points 5 >/dev/null || fail "product add SOAP failed"

# ---- label sheets: A4, the default grid, Digital Link URLs ----
run pcgen mint --product TEA --count 50 --out "$dst/sheets" --host $HOST --format pdf,zpl
[ "$rc" = 0 ] || fail "mint --format pdf,zpl exited $rc: $err"
grep -q 'labels.pdf (3 pages of 4x6 labels of 40x40 mm on A4)' <<<"$out" || fail "summary: $out"
python3 - "$dst/sheets/batch.json" <<'EOF' || fail "batch.json does not describe the labels"
import json, sys
b = json.load(open(sys.argv[1]))
p = b["pdf"]
assert b["files"] == ["codes.csv", "labels.pdf", "labels.zpl"], b["files"]
# A4 less 10 mm margins: 4 x 6 labels of 40 mm with 4 mm gaps, centred
assert (p["sheet_mm"], p["label_mm"], p["grid"], p["gap_mm"]) == ([210, 297], [40, 40], [4, 6], [4, 4]), p
assert p["first_label_mm"] == [19, 18.5] and p["pages"] == 3 and p["crop_marks"] and p["pin"] == "none", p
assert b["zpl"] == {"dpi": 203, "label_dots": [406, 406], "magnification": 7}, b["zpl"]
EOF
check pdf "$dst/sheets" || fail "the label sheets do not read back as the CSV"
check zpl "$dst/sheets" || fail "the ZPL labels do not match the CSV"
note "50 labels on 3 A4 pages (24, 24, 2) and in ZPL: each decodes to its CSV URL, in order"

# ---- a PIN batch: scratch-off boxes on Letter, a PIN field in ZPL at 300 dpi ----
run pcgen mint --product SOAP --count 14 --out "$dst/pins" --host $HOST --pin --format pdf \
	--sheet Letter --grid 3x4 --gap 3x5 --margin 8
[ "$rc" = 0 ] || fail "mint --pin --format pdf exited $rc: $err"
check pdf "$dst/pins" || fail "the PIN batch's sheets"
[ "$(pdftotext "$dst/pins/labels.pdf" - | grep -c '^PIN$')" = 14 ] || fail "not one PIN caption per label"
run pcgen mint --product SOAP --count 5 --out "$dst/pinzpl" --host $HOST --pin --format zpl,pdf \
	--pin-style field --zpl-dpi 300 --zpl-label 609x406 --zpl-magnification 5 --label 50x70
[ "$rc" = 0 ] || fail "mint --pin --pin-style field exited $rc: $err"
check zpl "$dst/pinzpl" || fail "the PIN batch's ZPL"
# a product without a GTIN: the short form, at Q (it keeps version 3), in ^BQ and its data
[ "$(grep -c '\^BQN,2,5,Q^FDQA,HTTPS://PACK.EXAMPLE.COM/C/[0-9A-Z]\{20\}^FS' "$dst/pinzpl/labels.zpl")" = 5 ] ||
	fail "the short form's ZPL is not at ECC Q: $(grep -m1 BQ "$dst/pinzpl/labels.zpl")"
check pdf "$dst/pinzpl" || fail "the PIN batch's field-style sheet"
[ "$(pdftotext "$dst/pinzpl/labels.pdf" - | grep -c '^PIN: [0-9]\{8\}$')" = 5 ] || fail "no PIN: fields"
note "PIN batches: boxed PINs on Letter, PIN fields on sheets and in ZPL at 300 dpi"

# ---- long runs: one file per N pages, memory flat ----
run pcgen mint --product SOAP --count 30 --out "$dst/split" --host $HOST --format pdf --grid 3x4 --pages-per-file 1
[ "$rc" = 0 ] || fail "mint --pages-per-file 1 exited $rc: $err"
[ "$(ls "$dst/split" | grep -c '^labels-000[1-3]\.pdf$')" = 3 ] && [ ! -e "$dst/split/labels.pdf" ] ||
	fail "30 labels of 12 a page, a page a file: $(ls "$dst/split")"
check pdf "$dst/split" || fail "the split run"
rss() {
	/usr/bin/time -f %M -o "$PC_TMP/rss" timeout --foreground 120 "$PACKCODE_GEN" mint --product SOAP \
		--count "$1" --out "$dst/rss$1" --host $HOST --format pdf --pages-per-file 20 -q ||
		fail "mint of $1 labels failed"
	cat "$PC_TMP/rss"
}
small=$(rss 2000)
large=$(rss 20000)
[ "$(ls "$dst/rss20000" | grep -c 'pdf$')" = 42 ] || fail "20000 labels at 480 a file are not 42 files"
# (a sanitizer build's memory is the sanitizer's: its quarantine alone is 256 MiB)
if grep -q '^SANITIZER_CFLAGS = -fsanitize' "$abs_top_builddir/Makefile"; then
	note "a file per N pages (memory not measured under sanitizers)"
else
	[ "$((large - small))" -lt 4096 ] || fail "peak memory grew from $small KiB (2,000 labels) to $large KiB (20,000)"
	note "a file per N pages; peak memory $small KiB for 2,000 labels, $large KiB for 20,000"
fi

# ---- what cannot work is refused before anything happens ----
batches=$(pc_psql "SELECT count(*) FROM batches")
expect_error 2 'sheet is for label sheets: add pdf to --format' pcgen mint --product TEA --count 5 --out "$dst/x" --host $HOST --sheet A4
expect_error 2 'zpl-dpi is for thermal labels' pcgen mint --product TEA --count 5 --out "$dst/x" --host $HOST --format pdf --zpl-dpi 300
expect_error 2 'pin-style is for the labels of a --pin batch' pcgen mint --product TEA --count 5 --out "$dst/x" --host $HOST --format pdf --pin-style field
expect_error 2 'format takes csv, png, svg, pdf and zpl' pcgen mint --product TEA --count 5 --out "$dst/x" --host $HOST --format eps
expect_error 2 'sheet must be A4, Letter or WxH' pcgen mint --product TEA --count 5 --out "$dst/x" --host $HOST --format pdf --sheet A3
expect_error 2 '5x8 labels of 40x40 mm with 4 mm gaps do not fit' pcgen mint --product TEA --count 5 --out "$dst/x" --host $HOST --format pdf --grid 5x8 --label 40x40
expect_error 2 'labels of 20x20 mm are too small' pcgen mint --product TEA --count 5 --out "$dst/x" --host $HOST --format pdf --label 20x20
expect_error 2 'QR modules of 0.2[0-9] mm' pcgen mint --product TEA --count 5 --out "$dst/x" --host $HOST --format pdf --label 25x25 --quiet-zone 30
expect_error 2 'room for QR modules of [0-9] dots at most' pcgen mint --product TEA --count 5 --out "$dst/x" --host $HOST --format zpl --zpl-label 406x203 --zpl-magnification 10
expect_error 2 'zpl-dpi must be 203, 300 or 600' pcgen mint --product TEA --count 5 --out "$dst/x" --host $HOST --format zpl --zpl-dpi 250
[ "$(pc_psql "SELECT count(*) FROM batches")" = "$batches" ] || fail "a refused mint registered a batch"
[ ! -e "$dst/x" ] || fail "a refused mint created its output directory"
note "impossible layouts and misplaced options: one error line each, no batch, no files"

# a disk that fails while the PDF is written: error, no files, batch void
run bash -c "trap '' XFSZ; ulimit -f 1024; exec timeout 120 '$PACKCODE_GEN' mint --product TEA --count 5000 --out '$dst/x' --host $HOST --format pdf --pages-per-file 0"
[ "$rc" = 1 ] || fail "mint onto a failing disk exited $rc: $err"
grep -q 'cannot write labels.pdf' <<<"$err" || fail "mint onto a failing disk said: $err"
[ ! -e "$dst/x" ] && [ -z "$(ls -A "$dst" | grep minting)" ] || fail "a failed mint left files"
[ "$(pc_psql "SELECT status FROM batches ORDER BY id DESC LIMIT 1")" = void ] || fail "a failed mint's batch is not void"
note "a failing disk under the PDF: no files, batch void"
