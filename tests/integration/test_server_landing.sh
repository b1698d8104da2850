#!/usr/bin/env bash
# test_server_landing.sh: the consumer's landing page tells the truth, over
# real HTTP from several client addresses (127.0.0.N):
# 1. scans are counted by distinct scanners (address + User-Agent), not by
#    requests; HEAD requests and link-preview bots are no scans;
# 2. the page escalates: genuine; "checked by n people" past 3 scanners;
#    claimed by someone else, with a report button; the claimer's own
#    phone sees its claim;
# 3. the report: a POST form that files a reports row (one per client and
#    code a day), rate-limited, HTML or JSON;
# 4. content negotiation: HTML to browsers, JSON to API clients on every
#    consumer route (Digital Link paths the parser rejects included); / and
#    /c/ offer a field for the code, a typo keeps what was typed;
# 5. languages: zh-Hant for zh-TW/zh-HK, zh_CN, q=0; English plurals and
#    Chinese punctuation.
PC_TIMEOUT=300
. "$(dirname "$0")/harness.sh"
. "$(dirname "$0")/server_lib.sh"

setup
mint 20
cp "$CODES" "$T/codes"
server_start

UA_PHONE='Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148'
HTML_ACCEPT='text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'
# scanners SERIAL N: the database counts N scanners of SERIAL (a condition).
scanners() { sql_is "$2" "SELECT coalesce((SELECT scanners FROM code_stats WHERE serial = $1), 0)"; }
# claimed_here SERIAL: a scanner's claim of SERIAL has been recorded.
claimed_here() { sql_is t "SELECT coalesce(bool_or(claimed), false) FROM code_scanners WHERE serial = $1"; }
# has TEXT: the last body ($T/body) holds TEXT.
has() { grep -qF -- "$1" "$T/body"; }

# ---- 1. scanners, not requests ----
A=$(code 1) SA=$FIRST
from 127.0.0.2 "/c/$A" -A "$UA_PHONE"
[ "$STATUS" = 200 ] && has 'Genuine' && has 'Scanned 1 time, first on' || fail "first scan: $STATUS $(grep -o 'Scanned[^<]*' "$T/body")"
wait_until 10 "the first scanner to be counted" scanners "$SA" 1
for i in 1 2 3; do from 127.0.0.2 "/c/$A" -A "$UA_PHONE"; done
has 'Scanned 1 time, first on' || fail "reloads counted: $(grep -o 'Scanned[^<]*' "$T/body")"
wait_until 10 "the reloads to be recorded (as scans, of one scanner)" sql_is 4 "SELECT count(*) FROM scans WHERE serial = $SA"
from 127.0.0.3 "/c/$A" -I -A "$UA_PHONE"
[ "$STATUS" = 200 ] || fail "HEAD: $STATUS"
for bot in 'WhatsApp/2.23.20.0 A' 'facebookexternalhit/1.1' 'Twitterbot/1.0' \
	'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)' 'TelegramBot (like TwitterBot)' \
	'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)' 'WeChatShareExtension/8.0'; do
	from 127.0.0.3 "/c/$A" -A "$bot"
	[ "$STATUS" = 200 ] && has 'Genuine' || fail "a bot gets the page all the same: $STATUS"
done
from 127.0.0.3 "/c/$A" -A "$UA_PHONE MicroMessenger/8.0.42"
has 'Scanned 2 times, first on' || fail "a second person: $(grep -o 'Scanned[^<]*' "$T/body")"
wait_until 10 "the second scanner to be counted" scanners "$SA" 2
[ "$(sql "SELECT count(*) FROM scans WHERE serial = $SA")" = 5 ] ||
	fail "HEAD or bots recorded as scans: $(sql "SELECT user_agent FROM scans WHERE serial = $SA")"
req GET "/api/v1/codes/$A"
[ "$(field .scanners)" = 3 ] || fail "lookup scanners: $(cat "$T/body")"
wait_until 10 "the lookup's scanner to be counted" scanners "$SA" 3
ok "scans counted by scanner (address + User-Agent): reloads count once, HEAD and 7 link-preview bots not at all"

# ---- 2. the page escalates ----
from 127.0.0.4 "/c/$A" -A "$UA_PHONE"
has 'Checked by 4 people' || fail "a 4th scanner: $(grep -o '<h1>[^<]*' "$T/body")"
wait_until 10 "the 4th scanner to be counted" scanners "$SA" 4
from 127.0.0.5 "/c/$A" -A "$UA_PHONE"
has 'Checked by 5 people' && has ': if that was not you, this code may have been copied.' ||
	fail "past 3 scanners: $(grep -o '<h1>[^<]*' "$T/body")"
has 'action="/c/'"$A"'/report"' && has 'name="reason" value="copied"' || fail "copied: no report button"
has "action=\"/c/$A/claim\"" || fail "the buyer may still claim a code that was checked often"
from 127.0.0.5 "/c/$A" -A "$UA_PHONE" -H 'Accept-Language: zh-CN'
has '已有 5 人查验过此码' && has '：如果那不是您，此码可能已被复制。' || fail "copied in Chinese"
ok "genuine on the first scans; past 3 scanners 'checked by n people, first on T' with a report button"

B=$(code 2) SB=$((FIRST + 1))
member_session buyer
from 127.0.0.6 "/c/$B/claim" -A "$UA_PHONE" "${MEMBER_FORM[@]}"
[ "$STATUS" = 200 ] || fail "claim through the form: $STATUS"
wait_until 10 "the claimer's scanner to be recorded" claimed_here "$SB"
from 127.0.0.6 "/c/$B" -A "$UA_PHONE"
has 'Genuine, points claimed' && has 'claimed from this phone on' && ! has '/report"' ||
	fail "the claimer's phone: $(grep -o '<h1>[^<]*' "$T/body")"
from 127.0.0.7 "/c/$B" -A "$UA_PHONE"
[ "$STATUS" = 200 ] && has 'Points already claimed' && has 'if you just bought it, report it.' ||
	fail "someone else after the claim: $(grep -o '<h1>[^<]*' "$T/body")"
has 'name="reason" value="claimed"' && ! has "/claim\"" || fail "claimed: report button, no claim form"
claim "$B" "someone-else"
expect 409 "claimed by another"
member_session another
from 127.0.0.7 "/c/$B/claim" "${MEMBER_FORM[@]}"
[ "$STATUS" = 409 ] && has 'Another member claimed this code on' && has 'value="claimed"' ||
	fail "the form's 409 offers the report too"
ok "after a claim: the claimer's phone sees its claim; anyone else 'already claimed on T, report it'"

# ---- 3. the report ----
from 127.0.0.7 "/c/$B/report" -A "$UA_PHONE" -d 'reason=claimed'
[ "$STATUS" = 200 ] && has 'Thank you' && has 'The brand has been told about this code (report ' ||
	fail "report page: $STATUS"
[ "$(sql "SELECT serial || ' ' || reason || ' ' || host(client) || ' '
          || CASE WHEN claimed_at IS NOT NULL THEN 'ok' END FROM reports")" = \
	"$SB claimed 127.0.0.7 ok" ] ||
	fail "reports row: $(sql 'SELECT * FROM reports')"
ID=$(sql "SELECT id FROM reports")
from 127.0.0.7 "/c/$B/report" -H 'Accept: application/json' -d 'reason=claimed'
[ "$STATUS" = 200 ] && [ "$(field .outcome)" = repeat ] && [ "$(field .report)" = "$ID" ] ||
	fail "the same client again: $(cat "$T/body")"
from 127.0.0.8 "/c/$A/report" -H 'Accept: application/json' -d 'reason=copied'
[ "$(field .outcome)" = filed ] && [ "$(field .reason)" = copied ] || fail "copied report: $(cat "$T/body")"
[ "$(sql "SELECT count(*) FROM reports")" = 2 ] || fail "two reports"
from 127.0.0.8 "/c/$A/report" -d 'reason=because'
[ "$STATUS" = 400 ] || fail "a report's reason: $STATUS"
from 127.0.0.8 "/c/$(code 3 | tr 0-9 1-90)/report" -d 'reason=copied'
# (every digit changed: the key id too, sometimes, and then the answer is
# 503 "cannot verify now" for a key this server does not know; either way
# nothing is filed)
[[ $STATUS == 4* || $STATUS == 503 ]] && ! has 'Thank you' || fail "a code that is no code of ours: $STATUS"
[ "$(sql "SELECT count(*) FROM reports")" = 2 ] || fail "a report filed for a code that is no code of ours"
! grep -qi '<script' "$T/body" || fail "a script"
ok "report: a POST form files a reports row (alert-ready), once per client and code a day; bad reasons 400"

# ---- 4. HTML to browsers, JSON to API clients ----
C=$(code 4)
from 127.0.0.9 "/c/$C" -H "Accept: $HTML_ACCEPT"
case $(hdr content-type) in text/html*) ;; *) fail "browser: $(hdr content-type)" ;; esac
grep -qi 'accept' <<<"$(hdr vary)" || fail "Vary: $(hdr vary)"
from 127.0.0.9 "/c/$C" -H 'Accept: application/json'
[ "$STATUS" = 200 ] && [ "$(field .verdict)" = genuine ] && [ "$(field .scanners)" = 1 ] ||
	fail "landing as JSON: $(cat "$T/body")"
from 127.0.0.9 "/01/06901234567892/21/$C" -H 'Accept: application/json'
[ "$STATUS" = 200 ] && [ "$(field .code)" = "$C" ] || fail "digital link as JSON"
for bad in "/01/06901234567892" "/01/06901234567892/"; do
	from 127.0.0.9 "$bad" -H "Accept: $HTML_ACCEPT"
	[ "$STATUS" = 404 ] && has 'No such page' && has 'name="code"' ||
		fail "$bad for a browser: $STATUS $(hdr content-type)"
	from 127.0.0.9 "$bad" -H 'Accept: application/json'
	[ "$STATUS" = 404 ] && [ "$(field .error)" = not_found ] || fail "$bad for an API client: $(cat "$T/body")"
done
# a URI the GS1 grammar rejects is a 400 (test_server_resolver.sh has more)
from 127.0.0.9 "/01/06901234567893/21/$C" -H "Accept: $HTML_ACCEPT"
[ "$STATUS" = 400 ] && has 'name="code"' || fail "a bad check digit for a browser: $STATUS"
from 127.0.0.9 "/01/06901234567893/21/$C" -H 'Accept: application/json'
[ "$STATUS" = 400 ] && [ "$(field .error)" = bad_request ] || fail "a bad check digit for an API client"
member_session crm:7
from 127.0.0.9 "/c/$C/claim" -H 'Accept: application/json' "${MEMBER_FORM[@]}"
[ "$STATUS" = 200 ] && [ "$(field .outcome)" = awarded ] || fail "claim form as JSON: $(cat "$T/body")"
from 127.0.0.9 "/c/$C/claim" -H 'Accept: application/json' -b "pc_member=$MEMBER_COOKIE" -d csrf=x
[ "$STATUS" = 403 ] && [ "$(field .error)" = csrf ] || fail "form as JSON, no CSRF token: $(cat "$T/body")"
TYPO=$(code 5 | sed 's/^\(.........\)0/\1Z/; t; s/^\(.........\)./\10/')
from 127.0.0.9 "/c/$TYPO" -H 'Accept: application/json'
[ "$STATUS" = 400 ] && [ "$(field .verdict)" = typo ] || fail "typo as JSON"
for home in / /c/; do
	from 127.0.0.9 "$home" -H "Accept: $HTML_ACCEPT"
	[ "$STATUS" = 200 ] && has 'Check a product' && has 'action="/c/"' && has 'name="code"' ||
		fail "$home: $STATUS"
	from 127.0.0.9 "$home" -H 'Accept: application/json'
	[ "$STATUS" = 200 ] && field .message | grep -q '/c/{code}' || fail "$home as JSON"
done
TYPED="$(code 5 | cut -c1-5)-$(code 5 | cut -c6-9)X"
from 127.0.0.9 "/c/?code=$TYPED"
[ "$STATUS" = 400 ] && has 'Check the characters' && has "value=\"$TYPED\"" || fail "typo keeps what was typed"
from 127.0.0.9 "/c/$TYPO"
has "value=\"$TYPO\"" && has 'name="code"' || fail "typo in the path keeps it"
from 127.0.0.9 "/c/?code=$(code 5 | sed 's/\(.....\)/\1-/g; s/-$//')"
[ "$STATUS" = 200 ] && has 'Genuine' || fail "the field's code, grouped: $STATUS"
ok "HTML to browsers, JSON to API clients (landing, Digital Link and its rejects, claim form, /, /c/); typos keep the field"

# ---- 5. languages, plurals, punctuation ----
D=$(code 6) SD=$((FIRST + 5))
from 127.0.0.10 "/c/$D" -H 'Accept-Language: zh-TW,zh;q=0.9'
[ "$(hdr content-language)" = zh-Hant ] && has 'lang="zh-Hant"' && has '此碼由品牌方簽發。' &&
	has '已被掃描 1 次，首次掃描於' && has '（UTC+8）' || fail "zh-TW: $(hdr content-language)"
has 'inputmode="tel"' && has 'type="tel"' || fail "phone field"
from 127.0.0.10 "/c/$D" -H 'Accept-Language: zh-HK'
[ "$(hdr content-language)" = zh-Hant ] || fail "zh-HK"
from 127.0.0.10 "/c/$D" -H 'Accept-Language: zh_CN'
[ "$(hdr content-language)" = zh-CN ] && has '此码由品牌方签发。' && has '已被扫描 1 次，首次扫描于' &&
	has '（北京时间）' && has '领取 10 积分' || fail "zh_CN"
! grep -q '[，。：][,.:]\|次, \|于 [^<]*, ' "$T/body" || fail "ASCII punctuation in Chinese text"
from 127.0.0.10 "/c/$D" -H 'Accept-Language: zh;q=0, en'
[ "$(hdr content-language)" = en ] || fail "q=0"
from 127.0.0.10 "/c/$D" -H 'Accept-Language: zh-TW;q=0, zh-CN;q=0.5, en;q=0.4'
[ "$(hdr content-language)" = zh-CN ] || fail "zh-TW q=0"
wait_until 10 "the scanner to be counted" scanners "$SD" 1
from 127.0.0.10 "/c/$D" -A "$UA_PHONE"
has 'Scanned 2 times' || fail "English plural"
sql "UPDATE products SET points = 1 WHERE sku = 'TEA'" >/dev/null
page_has() { grep -qF -- "$2" <<<"$(curl -s --max-time 5 "$BASE$1")"; }
wait_until 5 "the catalog to show 1 point" page_has "/c/$(code 7)" 'Sign in to claim 1 point<'
member_session crm:1
curl -s "${MEMBER_FORM[@]}" "$BASE/c/$(code 7)/claim" >"$T/body"
has '1 point added' && has 'Your balance is now 1 point.' || fail "English singular: $(grep -o '<h1>[^<]*' "$T/body")"
ok "zh-Hant for zh-TW and zh-HK, zh_CN understood, q=0 honoured; 'Scanned 1 time', Chinese punctuation"

# ---- the report is rate-limited (class claims, per address) ----
server_stop
PACKCODE_RATE_CLAIMS=0.01/2 server_start
for i in 1 2; do from 127.0.0.11 "/c/$A/report" -d 'reason=copied'; done
[ "$STATUS" = 200 ] || fail "reports within the burst: $STATUS"
from 127.0.0.11 "/c/$A/report" -d 'reason=copied'
[ "$STATUS" = 429 ] && has 'Too many attempts' && [ "$(hdr retry-after)" -ge 1 ] || fail "report over the limit: $STATUS"
from 127.0.0.11 "/c/$A/report" -H 'Accept: application/json' -d 'reason=copied'
[ "$STATUS" = 429 ] && [ "$(field .error)" = rate_limited ] || fail "429 as JSON: $(cat "$T/body")"
ok "reports are rate-limited per address: 429 page, or JSON for an API client"
server_stop
