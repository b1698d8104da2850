#!/bin/bash
# test_server_exports.sh: exports (docs/api.md, "Exports") over HTTP and
# from packcode-gen, against a seeded database. Each kind (scans, claims,
# members, ledger) in each format has as many rows as SQL counts, and reads
# back with python3's csv (strict) and json; the CSV defence against
# formulas prefixes cells starting with = + - @, JSON Lines carries them as
# they are. Without the pii scope member ids are masked; a token of brand B
# gets none of brand A's rows. Every export writes export.start and
# export.finish audit rows with its row count. Flow control and memory: a
# 1,500,000-row scans export read by a client that pauses 3 s after its
# first MiB: the server's RSS (sampled every 50 ms) grows by less than
# 24 MiB and stays under 64 MiB (the budget for 10 million rows: memory
# does not grow with rows; not checked under ASan, whose quarantine keeps
# freed memory). A client that hangs up
# mid-way: the export is recorded aborted.
PC_TIMEOUT=180
. "$(dirname "$0")/harness.sh"
. "$(dirname "$0")/server_lib.sh"

command -v python3 >/dev/null || skip "no python3"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
CHECK=$abs_top_srcdir/tests/integration/export_check.py
BIG=1500000

setup # TEA of brand "Packcode Tea"
pcgen product add --sku BEAN --name "Beans" --brand "Bean Co" --points 3 >/dev/null || fail "product BEAN"
mint 6
A=$BATCH
cp "$CODES" "$T/codes"
pcgen mint --product BEAN --count 4 --out "$T/bean" --host pack.example --short -q || fail "mint BEAN"
B=$(jq -r .batch "$T/bean/batch.json")
BFIRST=$(jq -r .serial_first "$T/bean/batch.json")
BCODE=$(sed -n 2p "$T/bean/codes.csv" | cut -d, -f1)

TALL=$(pcgen token add --name group 2>/dev/null) || fail "token group"
TNOPII=$(pcgen token add --name analyst --scopes read,export 2>/dev/null) || fail "token analyst"
TB=$(pcgen token add --name bean --scopes export,pii --brands "Bean Co" 2>/dev/null) || fail "token bean"
TREAD=$(pcgen token add --name reader --scopes read 2>/dev/null) || fail "token reader"

server_start --threads 2 --pool 3 --alert-interval 0
claim "$(code 1)" 13800138000
expect 200 "claim A"
claim "$(code 2)" crm:42
expect 200 "claim A 2"
claim "$BCODE" 13900139000
expect 200 "claim B"
wait_until 10 "the claims' scans written" scans_since 0 3

# seeded rows: scans of A's and B's codes and forged ones, with cells a
# spreadsheet would run; members with ledger rows; the big range apart
sql "INSERT INTO scans (at, serial, code, kind, outcome, client, user_agent, member)
     SELECT '2026-10-05 10:00:00+00'::timestamptz + g * interval '1 second',
            CASE g % 3 WHEN 0 THEN $FIRST + g % 6 WHEN 1 THEN $BFIRST + g % 4 ELSE 0 END,
            CASE WHEN g = 1 THEN '=HYPERLINK(\"http://x\")' ELSE 'CODE' || g END,
            'landing', CASE g % 3 WHEN 2 THEN 'not_genuine' ELSE 'genuine' END,
            '203.0.113.7', CASE WHEN g = 2 THEN '@SUM(1,2)' WHEN g = 3 THEN 'a \"quoted\", comma'
                                ELSE 'Mozilla/5.0' END,
            CASE WHEN g % 5 = 0 THEN '+8613800138000' END
       FROM generate_series(1, 3000) g" >/dev/null
sql "INSERT INTO members (member, balance, created_at)
     SELECT 'm' || g, 100, '2026-10-05 12:00:00+00'::timestamptz + g * interval '1 minute'
       FROM generate_series(1, 500) g;
     INSERT INTO ledger (member, delta, balance_after, kind, reference, created_at)
     SELECT 'm' || g, CASE WHEN g % 2 = 0 THEN -5 ELSE 105 END, 100, 'adjust',
            CASE WHEN g = 7 THEN '-1+1' ELSE 'seed' END,
            '2026-10-05 12:00:00+00'::timestamptz + g * interval '1 minute'
       FROM generate_series(1, 500) g" >/dev/null

# check_sql SQL WANT: the query's answer is WANT
check_sql() {
	local got
	got=$(sql "$1")
	[ "$got" = "$2" ] || fail "$1: got '$got', not '$2'"
}

# export TOKEN KIND QUERY OUT: GET the export into OUT; sets STATUS, headers in $T/h
export_get() {
	STATUS=$(curl -s --max-time 60 -D "$T/h" -o "$4" -w '%{http_code}' \
		-H "Authorization: Bearer $1" "$BASE/api/v1/admin/exports/$2?$3")
}
R='from=2026-10-01&to=2026-11-01'
NOW="from=2026-01-01&to=$(date -u -d tomorrow +%Y-%m-%d)"
for kind in scans claims members ledger; do
	case $kind in
	scans) where="at >= '2026-10-01' AND at < '2026-11-01'"; q=$R ;;
	claims) where="claimed_at >= '2026-01-01'"; q=$NOW ;;
	members) where="created_at >= '2026-01-01'"; q=$NOW ;;
	ledger) where="created_at >= '2026-01-01'"; q=$NOW ;;
	esac
	want=$(sql "SELECT count(*) FROM $( [ $kind = claims ] && echo redemptions || echo $kind) WHERE $where")
	[ "$want" -gt 0 ] || fail "nothing seeded for $kind"
	for fmt in csv jsonl; do
		export_get "$TALL" $kind "$q&format=$fmt" "$T/$kind.$fmt"
		[ "$STATUS" = 200 ] || fail "export $kind $fmt: $STATUS $(head -c 300 "$T/$kind.$fmt")"
		case $fmt in
		csv) [ "$(hdr Content-Type)" = "text/csv; charset=utf-8" ] || fail "$kind csv: $(hdr Content-Type)" ;;
		jsonl) [ "$(hdr Content-Type)" = "application/jsonl; charset=utf-8" ] || fail "$kind jsonl: $(hdr Content-Type)" ;;
		esac
		[ "$(hdr Transfer-Encoding)" = chunked ] || fail "$kind $fmt not chunked"
		got=$(python3 "$CHECK" $fmt "$T/$kind.$fmt") || fail "$kind $fmt does not parse"
		[ "$got" = "$want" ] || fail "$kind $fmt: $got rows, SQL counts $want"
		id=$(hdr X-Export-Id)
		check_sql "SELECT rows FROM exports WHERE id = $id AND status = 'done'" "$want"
		check_sql "SELECT count(*) FROM audit WHERE action IN ('export.start', 'export.finish')
		        AND (detail->>'export_id')::bigint = $id AND actor = 'group' AND target = '$kind'
		        AND (action = 'export.start' OR (detail->>'rows')::bigint = $want)" 2
	done
done
ok "every kind in both formats: rows = SQL counts, csv and json parse them, audited with the count"

# the defence against formulas: CSV only
python3 - "$T/scans.csv.json" "$T/scans.jsonl.json" "$T/ledger.csv.json" <<'PY' || fail "formula defence"
import json, sys
csv_rows = json.load(open(sys.argv[1])); head = csv_rows[0]; rows = [dict(zip(head, r)) for r in csv_rows[1:]]
jl = json.load(open(sys.argv[2]))
codes = {r["code"] for r in rows}; uas = {r["user_agent"] for r in rows}
assert "'=HYPERLINK(\"http://x\")" in codes, "CSV: = not prefixed"
assert "'@SUM(1,2)" in uas, "CSV: @ not prefixed"
assert 'a "quoted", comma' in uas, "CSV: quotes and commas lost"
assert "=HYPERLINK(\"http://x\")" in {r["code"] for r in jl}, "JSON changed a code"
assert any(r["member"] == "'+8613800138000" for r in rows), "CSV: + not prefixed"
assert any(r["member"] == "+8613800138000" for r in jl), "JSON: member not as is (pii)"
assert any(r["client"] == "203.0.113.7" for r in jl), "JSON: client not as is (pii)"
assert not any(v.startswith(("=", "+", "-", "@")) for r in rows for v in r.values()), "CSV: a formula left"
lh = json.load(open(sys.argv[3])); lrows = [dict(zip(lh[0], r)) for r in lh[1:]]
assert any(r["reference"] == "'-1+1" for r in lrows), "CSV: - not prefixed"
assert any(r["delta"] == "-5" for r in lrows), "CSV: a negative number is a number"
PY
ok "CSV: cells starting with = + - @ prefixed, quotes and commas quoted; JSON Lines as is"

# no pii: masked members and client networks
export_get "$TNOPII" scans "$R&format=jsonl" "$T/np.jsonl"
expect 200 "scans without pii"
python3 "$CHECK" jsonl "$T/np.jsonl" >/dev/null || fail "np jsonl"
python3 - "$T/np.jsonl.json" <<'PY' || fail "masking"
import json, sys
rows = json.load(open(sys.argv[1]))
ms = {r["member"] for r in rows if r["member"]}
assert ms == {"+86*******8000"}, ms
assert {r["client"] for r in rows} == {"203.0.113.0"}, {r["client"] for r in rows}
PY
export_get "$TNOPII" members "$NOW" "$T/npm.csv"
expect 200 "members without pii"
grep -q '13800138000\|13900139000\|crm:42' "$T/npm.csv" && fail "unmasked members: $(head -3 "$T/npm.csv")"
grep -q '^m1,' "$T/npm.csv" && fail "a short member id unmasked"
check_sql "SELECT pii FROM exports WHERE actor = 'analyst' ORDER BY id DESC LIMIT 1" f
ok "without the pii scope: member ids masked, addresses cut to their /24; recorded pii=false"

# brand isolation: B's token gets only B's rows
export_get "$TB" scans "$R&format=jsonl" "$T/b.jsonl"
expect 200 "B scans"
python3 "$CHECK" jsonl "$T/b.jsonl" >/dev/null
want=$(sql "SELECT count(*) FROM scans WHERE at >= '2026-10-01' AND at < '2026-11-01' AND serial BETWEEN $BFIRST AND $BFIRST + 3")
[ "$(jq -s 'length' "$T/b.jsonl")" = "$want" ] || fail "B got $(jq -s length "$T/b.jsonl") scans, $want are B's"
[ "$(jq -s "[.[] | select(.serial < $BFIRST or .serial > $BFIRST + 3)] | length" "$T/b.jsonl")" = 0 ] ||
	fail "B got another brand's scans"
export_get "$TB" claims "$NOW&format=jsonl" "$T/bc.jsonl"
[ "$(jq -s "[.[].batch_id] | unique" -c "$T/bc.jsonl")" = "[$B]" ] || fail "B claims: $(cat "$T/bc.jsonl")"
export_get "$TB" members "$NOW&format=jsonl" "$T/bm.jsonl"
# the member who claimed B's code (a phone claimed through the claims
# token is a member of its own, an opaque key: sql/011_members.sql)
bm=$(sql "SELECT DISTINCT member FROM redemptions WHERE batch_id = $B")
[ "$(jq -s -c '[.[] | .member]' "$T/bm.jsonl")" = "[\"$bm\"]" ] || fail "B members: $(cat "$T/bm.jsonl"), want $bm"
[ "$(jq -s -c '[.[] | .balance]' "$T/bm.jsonl")" = '[null]' ] || fail "B sees balances"
export_get "$TB" ledger "$NOW&format=jsonl" "$T/bl.jsonl"
[ "$(jq -s -c '[.[] | [.kind, .serial >= '"$BFIRST"', .balance_after]] | unique' "$T/bl.jsonl")" = '[["claim",true,null]]' ] ||
	fail "B ledger: $(cat "$T/bl.jsonl")"
ok "brand B's token: only B's scans, claims, members and ledger claims; no balances"

# refusals: scope, kind, range, format; nothing recorded
n0=$(sql "SELECT count(*) FROM exports")
export_get "$TREAD" scans "$R" "$T/x"
[ "$STATUS" = 403 ] || fail "a read-only token exported: $STATUS"
export_get "$TALL" codes "$R" "$T/x"
[ "$STATUS" = 404 ] || fail "unknown kind: $STATUS"
for q in "from=2026-10-01" "from=yesterday&to=2026-11-01" "from=2026-02-30&to=2026-03-01" \
	"from=2026-10-01&to=2026-11-01&format=xlsx" "from=2026-10-01T00:00:00&to=2026-11-01"; do
	export_get "$TALL" scans "$q" "$T/x"
	[ "$STATUS" = 400 ] || fail "$q: $STATUS"
	[ "$(jq -r .error "$T/x")" = bad_request ] || fail "$q: $(cat "$T/x")"
done
export_get "$TALL" scans "from=2026-11-01&to=2026-10-01" "$T/x"
[ "$STATUS" = 400 ] || fail "from after to: $STATUS $(cat "$T/x")"
export_get "$TALL" scans "from=2026-10-05T10:00:00%2B08:00&to=2026-10-05T18:00:01.500+08:00&format=jsonl" "$T/tz.jsonl"
[ "$STATUS" = 200 ] || fail "offsets: $STATUS $(cat "$T/tz.jsonl")"
[ "$(grep -c . "$T/tz.jsonl")" = 1 ] || fail "offsets: $(grep -c . "$T/tz.jsonl") rows, not 1"
[ "$(sql "SELECT count(*) FROM exports")" = $((n0 + 1)) ] || fail "a refused export was recorded"
ok "refused: without the export scope (403), unknown kind (404), bad ranges and formats (400); offsets honoured"

# ---- a large export: flow control and memory ----
sql "INSERT INTO scans (at, serial, code, kind, outcome, client, user_agent)
     SELECT '2026-09-01 00:00:00+00'::timestamptz + g * interval '1 millisecond', $FIRST + g % 6,
            'C' || g, 'lookup', 'genuine', '198.51.100.1', 'Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36'
       FROM generate_series(1, $BIG) g" >/dev/null
ASAN=$(grep -c __asan_init "$SERVER" 2>/dev/null || true)
out=$(python3 "$CHECK" slow "$BASE/api/v1/admin/exports/scans?from=2026-09-01&to=2026-09-02" "$TALL" \
	"$SERVER_PID" "$T/big.csv") || fail "the large export: $out"
note "$BIG rows: $out"
rows=${out#rows=}; rows=${rows%% *}
base=$(echo "$out" | sed 's/.*base_kib=\([0-9]*\).*/\1/'); max=${out##*max_kib=}
[ "$rows" = $BIG ] || fail "the large export had $rows rows"
# under ASan freed memory waits in its quarantine (256 MiB): RSS says nothing there
[ "$ASAN" != 0 ] || [ $((max - base)) -lt $((24 * 1024)) ] ||
	fail "RSS grew by $(((max - base) / 1024)) MiB during the export"
[ "$ASAN" != 0 ] || [ "$max" -lt $((64 * 1024)) ] || fail "RSS reached $((max / 1024)) MiB"
ok "$BIG rows streamed with a 3 s pause: RSS from $((base / 1024)) to at most $((max / 1024)) MiB"

# a client that hangs up: aborted, audited
python3 "$CHECK" cut "$BASE/api/v1/admin/exports/scans?from=2026-09-01&to=2026-09-02" "$TALL" || fail "cut"
wait_until 10 "the cut export recorded aborted" sql_is aborted \
	"SELECT status FROM exports ORDER BY id DESC LIMIT 1"
check_sql "SELECT (detail->>'rows')::bigint < $BIG FROM audit WHERE action = 'export.finish' ORDER BY id DESC LIMIT 1" t
export_get "$TALL" claims "$NOW" "$T/after.csv"
expect 200 "an export after the cut one (its connection is free again)"
ok "a client that hangs up mid-way: the export is aborted and recorded, the connection reused"

# ---- packcode-gen export ----
pcgen export scans --from 2026-10-01 --to 2026-11-01 --format csv >"$T/cli.csv" || fail "packcode-gen export"
[ "$(python3 "$CHECK" csv "$T/cli.csv")" = "$(sql "SELECT count(*) FROM scans WHERE at >= '2026-10-01' AND at < '2026-11-01'")" ] ||
	fail "packcode-gen export rows"
grep -q '+86\*\*\*' "$T/cli.csv" || fail "packcode-gen masks by default"
pcgen export members --from 2026-01-01 --to 2027-01-01 --format jsonl --pii >"$T/cli.jsonl" || fail "export --pii"
jq -r .member "$T/cli.jsonl" | grep -qx m1 || fail "--pii: unmasked member m1 missing"
check_sql "SELECT count(*) FROM audit WHERE actor LIKE 'cli:%' AND action = 'export.finish'" 2
expect_error 2 'export' pcgen export scans --from 2026-10-01
expect_error 2 'export' pcgen export nothing --from 2026-10-01 --to 2026-11-01
ok "packcode-gen export: the same rows, masked unless --pii, audited as cli:"
server_stop
