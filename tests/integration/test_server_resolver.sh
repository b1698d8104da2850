#!/usr/bin/env bash
# test_server_resolver.sh: packcode-server as a GS1-Conformant resolver of
# its own codes, over real HTTP with a real PostgreSQL, every URI checked by
# an independent implementation of GS1's grammar (digital-link.js, tests/js):
# 1. every URL mint prints (GTIN-8, -12, -13/14, lot and expiry) is valid;
# 2. the brand's links: set by packcode-gen and the admin API (scope
#    catalog; audited; bad input changes nothing; another brand's product
#    is unknown), seen by the server through NOTIFY;
# 3. linkType: the default (the landing page, with a Link header), gs1:pip
#    and gs1:certificationInfo (307 to the brand's target, the query passed
#    on), gs1:verificationService (ours: HTML or JSON), linkset and all
#    (RFC 9264 JSON, also by Accept), unknown types (404, page or JSON);
#    Accept-Language choosing among links of one type;
# 4. GTIN-8/12/13 paths normalised, qualifier orders, query AIs, a trailing
#    slash; syntax errors are 400 (a page to browsers, JSON to API clients);
# 5. /.well-known/gs1resolver, OPTIONS (CORS).
PC_TIMEOUT=120
. "$(dirname "$0")/harness.sh"
. "$(dirname "$0")/server_lib.sh"
. "$(dirname "$0")/js_lib.sh"

js_setup
setup
HTML_ACCEPT='text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'
G=06901234567892 # TEA
VOC=https://ref.gs1.org/voc/
# get PATH [CURL-ARGS...]: GET from 127.0.0.1, headers in $T/h, body in $T/body; sets STATUS.
get() { from 127.0.0.1 "$@"; }
# links: the Link header's targets, one "rel href" a line.
links() { hdr link | python3 -c '
import re, sys
for m in re.finditer(r"<([^>]*)>((?:;\s*[^;,]+)*)", sys.stdin.read()):
    rel = re.search(r"rel=\"([^\"]*)\"", m.group(2))
    print(rel.group(1) if rel else "-", m.group(1))'; }
# link_of REL: the first target of REL in the Link header.
link_of() { links | awk -v r="$1" '$1 == r { print $2; exit }'; }

# ---- 1. every minted URL is a valid Digital Link ----
pcgen product add --sku MINI --name "Mini tea" --points 1 --gtin 96385074 --brand "Packcode Tea" >/dev/null
pcgen product add --sku UPC --name "Tea for export" --points 1 --gtin 036000291452 >/dev/null
pcgen product add --sku OTHER --name "Another brand" --points 1 --gtin 4006381333931 --brand Other >/dev/null
pcgen mint --product TEA --count 50 --out "$T/tea" --host pack.example --lot L42 --expiry 271231 -q
pcgen mint --product MINI --count 20 --out "$T/mini" --host pack.example -q
pcgen mint --product UPC --count 20 --out "$T/upc" --host pack.example:8443 -q
for d in tea mini upc; do
	tail -n +2 "$T/$d/codes.csv" | cut -d, -f3 >"$T/$d.urls"
	out=$(dl_valid <"$T/$d.urls") || fail "minted URLs of $d: $out"
done
grep -q '/01/00000096385074/21/' "$T/mini.urls" && grep -q '/01/00036000291452/21/' "$T/upc.urls" ||
	fail "GTIN-8 and -12 are minted as GTIN-14"
TEA=$(sed -n 2p "$T/tea/codes.csv" | cut -d, -f1)
MINI=$(sed -n 2p "$T/mini/codes.csv" | cut -d, -f1)
UPC=$(sed -n 2p "$T/upc/codes.csv" | cut -d, -f1)
ok "120 minted URLs (GTIN-8, -12, -13; lot and expiry) valid for digital-link.js"

# ---- 2. the brand's links ----
pcgen product link TEA gs1:pip https://tea.example/green --title "Green tea" --hreflang en >/dev/null ||
	fail "product link"
expect_error 1 "product link: link type must be" pcgen product link TEA gs1:defaultLink https://x.example --title T
expect_error 1 "href must be an https:// URL" pcgen product link TEA pip http://x.example --title T
expect_error 1 'no product "NOPE"' pcgen product link NOPE pip https://x.example --title T
[ "$(sql "SELECT count(*) FROM audit WHERE action = 'product.link' AND actor LIKE 'cli:%'")" = 1 ] ||
	fail "the CLI's link is audited once"
CAT=$(pcgen token add --name cat --scopes read,catalog --brands "Packcode Tea" 2>/dev/null)
RD=$(pcgen token add --name rd --scopes read 2>/dev/null)
server_start --public-host pack.example
admin() { # METHOD PATH TOKEN [BODY]
	STATUS=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $3" \
		-H 'Content-Type: application/json' ${4:+--data-binary "$4"} "$BASE$2")
}
CERT='{"link_type":"gs1:certificationInfo","href":"https://tea.example/cert.pdf","title":"有机认证 organic","type":"application/pdf","hreflang":"zh-CN"}'
admin POST /api/v1/admin/products/TEA/links "$RD" "$CERT"
expect 403 "scope read may not set links"
before=$(sql "SELECT count(*) FROM audit")
for bad in '{"link_type":"gs1:pip"}' '{"link_type":"gs1:nope","href":"https://a.example","title":"t"}' \
	'{"link_type":"pip","href":"https://a.example/ x","title":"t"}' '{"link_type":"pip","href":"https://a.example","title":"t","extra":1}' \
	'{"link_type":"pip","href":"https://a.example","title":"t","hreflang":"english"}' '{"link_type":"pip"' ; do
	admin POST /api/v1/admin/products/TEA/links "$CAT" "$bad"
	[ "$STATUS" = 400 ] && [ -n "$(field .message)" ] || fail "bad link $bad: $STATUS $(cat "$T/body")"
done
admin POST /api/v1/admin/products/OTHER/links "$CAT" "$CERT"
[ "$STATUS" = 404 ] && [ "$(field .error)" = no_product ] || fail "another brand's product: $STATUS"
[ "$(sql "SELECT count(*) FROM audit")" = "$before" ] && [ "$(sql "SELECT count(*) FROM product_links")" = 1 ] ||
	fail "refused links changed something"
admin POST /api/v1/admin/products/TEA/links "$CAT" "$CERT"
[ "$STATUS" = 200 ] && [ "$(field .outcome)" = set ] && [ "$(field .link_type)" = gs1:certificationInfo ] ||
	fail "set a link: $STATUS $(cat "$T/body")"
[ "$(sql "SELECT actor FROM audit WHERE action = 'product.link' ORDER BY id DESC LIMIT 1")" = cat ] ||
	fail "the API's link is audited with the token's name"
admin POST /api/v1/admin/products/TEA/links "$CAT" \
	'{"link_type":"pip","href":"https://tea.example/zh/green","title":"绿茶","hreflang":"zh-CN"}'
[ "$STATUS" = 200 ] || fail "a second pip, in Chinese: $STATUS $(cat "$T/body")"
admin GET /api/v1/admin/products/TEA/links "$RD"
[ "$STATUS" = 200 ] && [ "$(field '.links | length')" = 3 ] && [ "$(field .gtin)" = $G ] ||
	fail "list links: $(cat "$T/body")"
# the servers' cache follows by NOTIFY
has_cert() { get "/01/$G/21/$TEA?linkType=gs1:certificationInfo"; [ "$STATUS" = 307 ]; }
wait_until 10 "the certificate link to reach the server" has_cert
has_zh() { get "/01/$G/21/$TEA?linkType=linkset"; [ "$(jq '.linkset[0]["'$VOC'pip"] | length' "$T/body")" = 2 ]; }
wait_until 10 "the Chinese product page to reach the server" has_zh
ok "links: CLI and admin API (scope catalog, brands), audited, bad input 400 and nothing changed, NOTIFY"

# ---- 3. linkType ----
get "/01/$G/10/L42/21/$TEA" -H "Accept: $HTML_ACCEPT"
[ "$STATUS" = 200 ] && grep -q 'Genuine' "$T/body" || fail "default: the landing page: $STATUS"
links >"$T/links"
for rel in "${VOC}defaultLink" "${VOC}verificationService" "${VOC}pip" "${VOC}certificationInfo" linkset; do
	grep -q "^$rel " "$T/links" || fail "Link header lacks $rel: $(cat "$T/links")"
done
hdr link | grep -q 'title="Green tea"; hreflang="en"' || fail "pip's title and language: $(hdr link)"
hdr link | grep -q "title\*=UTF-8''%E6%9C%89" || fail "a Chinese title goes in title*: $(hdr link)"
LS=$(link_of linkset)
[ "$LS" = "https://pack.example/01/$G/10/L42/21/$TEA?linkType=linkset" ] || fail "linkset link: $LS"
dl_valid "$LS" "${LS%%\?*}" >/dev/null || fail "the linkset's URI is not a valid Digital Link"
[ "$(link_of "${VOC}defaultLink")" = "https://pack.example/c/$TEA" ] || fail "defaultLink: $(cat "$T/links")"

get "/01/$G/21/$TEA?linkType=gs1:pip&utm_source=qr"
[ "$STATUS" = 307 ] && [ "$(hdr location)" = "https://tea.example/green?linkType=gs1:pip&utm_source=qr" ] ||
	fail "gs1:pip: $STATUS $(hdr location)"
[ -n "$(link_of "${VOC}pip")" ] || fail "a redirect carries the Link header too"
get "/01/$G/21/$TEA?linkType=https%3A%2F%2Fgs1.org%2Fvoc%2Fpip"
[ "$STATUS" = 307 ] && [[ $(hdr location) == https://tea.example/green\?* ]] || fail "pip by its IRI: $STATUS"
get "/01/$G/21/$TEA?linkType=gs1:certificationInfo"
[ "$STATUS" = 307 ] && [[ $(hdr location) == https://tea.example/cert.pdf\?* ]] || fail "certificationInfo"
get "/01/$G/21/$TEA?linkType=gs1:verificationService" -H "Accept: $HTML_ACCEPT"
[ "$STATUS" = 307 ] && [[ $(hdr location) == "https://pack.example/c/$TEA?"* ]] || fail "verification, HTML: $(hdr location)"
get "/01/$G/21/$TEA?linkType=gs1:verificationService" -H 'Accept: application/json'
[ "$STATUS" = 307 ] && [[ $(hdr location) == "https://pack.example/api/v1/codes/$TEA?"* ]] ||
	fail "verification, JSON: $(hdr location)"
for lt in linkset all; do
	get "/01/6901234567892/21/$TEA?linkType=$lt"
	[ "$STATUS" = 200 ] && [[ $(hdr content-type) == application/linkset+json* ]] || fail "$lt: $STATUS $(hdr content-type)"
	python3 - "$T/body" "https://pack.example/01/$G/21/$TEA" "$VOC" <<'PY' || fail "linkset JSON of $lt: $(cat "$T/body")"
import json, sys
doc = json.load(open(sys.argv[1]))
sets = doc["linkset"]
assert isinstance(sets, list) and len(sets) == 1, sets
ctx = sets[0]
assert ctx["anchor"] == sys.argv[2], ctx["anchor"]
voc = sys.argv[3]
for rel in ("defaultLink", "verificationService", "pip", "certificationInfo"):
    targets = ctx[voc + rel]
    assert isinstance(targets, list) and targets, rel
    for t in targets:
        assert t["href"].startswith("https://") and t["title"] and t["type"], t
assert ctx[voc + "pip"][0] == {"href": "https://tea.example/green", "title": "Green tea",
                               "type": "text/html", "hreflang": ["en"]}, ctx[voc + "pip"]
assert ctx[voc + "pip"][1]["hreflang"] == ["zh-CN"] and ctx[voc + "pip"][1]["title"] == "绿茶"
assert len(ctx[voc + "verificationService"]) == 2
assert ctx["description"] == "Green tea" or ctx.get("description") is not None
PY
	hdr link | grep -q 'rel="http://www.w3.org/ns/json-ld#context"' || fail "$lt: no JSON-LD context link"
	dl_valid "$(jq -r '.linkset[0].anchor' "$T/body")" >/dev/null || fail "$lt: the anchor is not valid"
done
get "/01/$G/21/$TEA" -H 'Accept: application/linkset+json'
[ "$STATUS" = 200 ] && [ "$(jq -r '.linkset[0].anchor' "$T/body")" = "https://pack.example/01/$G/21/$TEA" ] ||
	fail "Accept: application/linkset+json: $STATUS"
for lt in gs1:recipeInfo gs1:madeUp foo:bar; do
	get "/01/$G/21/$TEA?linkType=$lt" -H "Accept: $HTML_ACCEPT"
	[ "$STATUS" = 404 ] && grep -q 'No such page' "$T/body" && [ -n "$(link_of linkset)" ] ||
		fail "unknown $lt for a browser: $STATUS"
	get "/01/$G/21/$TEA?linkType=$lt" -H 'Accept: application/json'
	[ "$STATUS" = 404 ] && [ "$(field .error)" = not_found ] || fail "unknown $lt for an API client: $STATUS"
done
# Accept-Language chooses among the links of one type
for al in "zh-CN,zh;q=0.9:https://tea.example/zh/green" "zh-TW:https://tea.example/zh/green" \
	"en-GB,en;q=0.8:https://tea.example/green" "fr:https://tea.example/green" ":https://tea.example/green"; do
	lang=${al%%:*} want=${al#*:}
	if [ -n "$lang" ]; then
		get "/01/$G/21/$TEA?linkType=gs1:pip" -H "Accept-Language: $lang"
	else
		get "/01/$G/21/$TEA?linkType=gs1:pip"
	fi
	[ "$STATUS" = 307 ] && [ "$(hdr location)" = "$want?linkType=gs1:pip" ] ||
		fail "pip for Accept-Language '$lang': $(hdr location)"
done
[ "$(links | grep -c "^${VOC}pip ")" = 2 ] || fail "both pips in the Link header"
get "/01/$G" -H 'Accept-Language: zh-CN'
[ "$STATUS" = 307 ] && [ "$(hdr location)" = https://tea.example/zh/green ] || fail "GTIN level in Chinese: $(hdr location)"
ok "linkType: default page + Link header, pip/certificationInfo/verificationService 307, linkset/all/Accept, unknown 404, Accept-Language"

# ---- 4. GTIN forms, qualifiers, query AIs, syntax errors ----
get "/01/96385074/21/$MINI" -H 'Accept: application/json'
[ "$STATUS" = 200 ] && [ "$(field .verdict)" = genuine ] || fail "GTIN-8 path: $STATUS $(cat "$T/body")"
[ "$(link_of linkset)" = "https://pack.example/01/00000096385074/21/$MINI?linkType=linkset" ] ||
	fail "GTIN-8 normalised in the links: $(link_of linkset)"
get "/01/036000291452/21/$UPC" -H 'Accept: application/json'
[ "$STATUS" = 200 ] && [ "$(field .verdict)" = genuine ] || fail "GTIN-12 path: $STATUS"
[[ $(link_of linkset) == "https://pack.example/01/00036000291452/21/$UPC?"* ]] || fail "GTIN-12 normalised"
get "/01/6901234567892/21/$TEA?linkType=linkset"
[ "$(jq -r '.linkset[0].anchor' "$T/body")" = "https://pack.example/01/$G/21/$TEA" ] || fail "GTIN-13 normalised"
for p in "/01/$G/22/V1/10/L42/21/$TEA" "/01/$G/21/$TEA/" "/01/$G/10/L42/21/$TEA?17=271231&11=250101&3103=000500" \
	"/01/$G/21/$TEA?utm_source=qr&linkType=gs1:defaultLink"; do
	get "$p" -H 'Accept: application/json'
	[ "$STATUS" = 200 ] && [ "$(field .verdict)" = genuine ] || fail "$p: $STATUS $(cat "$T/body")"
	dl_valid "$(link_of linkset | sed 's/?.*//')" >/dev/null || fail "$p: its anchor is not valid"
done
for p in "/01/$G/21/$TEA/22/V1" "/01/$G/10/L1/22/V1/21/$TEA" "/01/06901234567893/21/$TEA" \
	"/01/$G/21/$TEA?17=271399" "/01/$G/21/$TEA?21=X" "/01/$G/21/$TEA?17=271231&17=271231" \
	"/01/$G/99/X/21/$TEA" "/01/$G/21/$TEA//"; do
	get "$p" -H "Accept: $HTML_ACCEPT"
	[ "$STATUS" = 400 ] && [[ $(hdr content-type) == text/html* ]] && grep -q 'name="code"' "$T/body" ||
		fail "$p for a browser: $STATUS $(hdr content-type)"
	get "$p" -H 'Accept: application/json'
	[ "$STATUS" = 400 ] && [ "$(field .error)" = bad_request ] || fail "$p for an API client: $STATUS"
done
# a pallet's SSCC (/00/): a page or JSON, 404 while pallets have no links, 400 when malformed
get /00/106141412345678908 -H "Accept: $HTML_ACCEPT"
[ "$STATUS" = 404 ] && [[ $(hdr content-type) == text/html* ]] || fail "an SSCC for a phone: $STATUS"
get /00/106141412345678907 -H 'Accept: application/json'
[ "$STATUS" = 400 ] && [ "$(field .error)" = bad_request ] || fail "a bad SSCC for an API client: $STATUS"
# the GTIN alone: the brand's product page is its default
get "/01/$G"
[ "$STATUS" = 307 ] && [ "$(hdr location)" = https://tea.example/green ] || fail "GTIN level: $STATUS $(hdr location)"
get "/01/4006381333931" -H 'Accept: application/json'
[ "$STATUS" = 404 ] || fail "a GTIN without links: $STATUS"
ok "GTIN-8/12/13 normalised, qualifier orders, query AIs, trailing slash; 400 page/JSON for bad URIs; GTIN level"

# ---- 5. the description file, CORS, removal ----
get /.well-known/gs1resolver
[ "$STATUS" = 200 ] && [ "$(field .resolverRoot)" = https://pack.example ] &&
	[ "$(field '.supportedPrimaryKeys | join(",")')" = 01 ] &&
	[ "$(field '.supportedLinkType[0].prefix')" = gs1: ] && [ "$(field .supportedLinkType[0].namespace)" = "$VOC" ] &&
	[ "$(field .linkTypeDefaultCanBeLinkset)" = false ] && [ -n "$(field .jsonLdContextLocation)" ] ||
	fail "/.well-known/gs1resolver: $(cat "$T/body")"
get "/01/$G/21/$TEA" -X OPTIONS -H 'Origin: https://app.example' -H 'Access-Control-Request-Method: GET'
[ "$STATUS" = 204 ] && [ "$(hdr access-control-allow-origin)" = '*' ] && [[ $(hdr access-control-allow-methods) == *OPTIONS* ]] ||
	fail "OPTIONS: $STATUS"
admin DELETE "/api/v1/admin/products/TEA/links/gs1:certificationInfo" "$CAT"
[ "$STATUS" = 200 ] && [ "$(field .outcome)" = removed ] || fail "remove a link: $STATUS $(cat "$T/body")"
admin DELETE "/api/v1/admin/products/TEA/links/gs1:certificationInfo" "$CAT"
[ "$STATUS" = 404 ] || fail "remove it again: $STATUS"
admin DELETE "/api/v1/admin/products/TEA/links/pip?hreflang=zh-CN" "$CAT"
[ "$STATUS" = 200 ] && [ "$(field .hreflang)" = zh-CN ] &&
	[ "$(sql "SELECT string_agg(hreflang, ',') FROM product_links WHERE link_type = 'pip'")" = en ] ||
	fail "remove the Chinese pip only: $STATUS $(cat "$T/body")"
pcgen product unlink TEA pip >/dev/null || fail "product unlink"
[ "$(sql "SELECT count(*) FROM audit WHERE action = 'product.unlink'")" = 3 ] || fail "removals audited"
gone_pip() { get "/01/$G/21/$TEA?linkType=gs1:pip" -H 'Accept: application/json'; [ "$STATUS" = 404 ]; }
wait_until 10 "the removed links to leave the server" gone_pip
ok "description file, OPTIONS with CORS, links removed (API and CLI) and audited"
