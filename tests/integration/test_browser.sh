#!/usr/bin/env bash
# test_browser.sh: the consumer's pages in a real browser: headless Chromium
# (Debian's chromium, chromium-driver, python3-selenium, fonts-noto-cjk for
# Chinese) on a 390x844 phone viewport, in en, zh-CN and zh-TW: scan a
# genuine code, sign in on its page (the phone, the code the local SMS
# command received, consent), claimed, my points (the share link, the same
# as the API's, its copy button pressed under the page's CSP); a second person from
# another address seeing the claimed pack's warning and pressing the report
# button (tests/integration/browser_check.py). The screenshots stay in the
# build tree: tests/artifacts/{en,zh-CN,zh-TW}-{1-genuine,2-code,3-claimed,
# 4-my-points,5-warning,6-reported}.png.
# What is missing is installed when it can be (root, apt-get): the test
# says SKIP only when Chromium truly cannot be had.
PC_TIMEOUT=600
. "$(dirname "$0")/harness.sh"

# Debian's python3-selenium is for Debian's python3 (not a python3 earlier on PATH)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
browser_ready() {
	[ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] &&
		"$PY" -c 'import selenium' 2>/dev/null &&
		[ "$(fc-list 2>/dev/null | grep -ci 'Noto Sans CJK')" -gt 0 ] # -q would SIGPIPE fc-list (pipefail)
}
if ! browser_ready; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		note "installing chromium, chromium-driver, python3-selenium, fonts-noto-cjk"
		export DEBIAN_FRONTEND=noninteractive
		timeout --foreground 400 apt-get install -y -qq --no-install-recommends \
			chromium chromium-driver python3-selenium fonts-noto-cjk fontconfig >"$PC_TMP/apt.log" 2>&1 ||
			{ timeout --foreground 200 apt-get update -qq >/dev/null 2>&1 &&
				timeout --foreground 400 apt-get install -y -qq --no-install-recommends \
					chromium chromium-driver python3-selenium fonts-noto-cjk fontconfig \
					>"$PC_TMP/apt.log" 2>&1; } || true
	fi
	browser_ready || skip "Chromium cannot be installed here (apt-get install chromium chromium-driver python3-selenium fonts-noto-cjk): $(tail -n 2 "$PC_TMP/apt.log" 2>/dev/null)"
fi

. "$(dirname "$0")/server_lib.sh"
setup
mint 3
cp "$CODES" "$T/codes"
printf '#!/bin/sh\nprintf "%%s %%s\\n" "$PACKCODE_SMS_TO" "$PACKCODE_SMS_TEXT" >>"%s"\n' "$T/sms.log" >"$T/sms.sh"
chmod +x "$T/sms.sh"
server_start --sms-command "$T/sms.sh"
ART=$abs_top_builddir/tests/artifacts
mkdir -p "$ART"
rm -f "$ART"/*.png

n=0
for lang in en zh-CN zh-TW; do
	n=$((n + 1))
	HOME=$PC_TMP timeout --foreground -s INT -k 10 180 "$PY" -u "$abs_top_srcdir/tests/integration/browser_check.py" \
		"$BASE" "$lang" "$(code $n)" "$ART" "$T/sms.log" "139 0000 100$n" || fail "$lang in Chromium"
	ok "$lang: genuine, signed in with the texted code and claimed, my points, the second person's warning, the report (Chromium, 390x844)"
done
for f in "$ART"/{en,zh-CN,zh-TW}-{1-genuine,2-code,3-claimed,4-my-points,5-warning,6-reported}.png; do
	[ -s "$f" ] || fail "no screenshot $f"
done
[ "$(sql "SELECT count(*) FROM reports WHERE host(client) = '127.0.0.2'")" = 3 ] ||
	fail "the reports of the second person: $(sql 'SELECT id, serial, host(client) FROM reports')"
ok "18 screenshots in $ART"
server_stop
