#!/usr/bin/env bash
# test_console_assets.sh: the console's files as packcode-server serves them
# (compiled in by console/embed.sh): every file of CONSOLE_FILES
# (console/include.am) at /console/PATH, byte for byte the file in
# console/, plain and gzip-encoded; its Content-Type, ETag (a 304 for
# If-None-Match), Cache-Control and the strict Content-Security-Policy
# (no inline script or style); /console and /console/ are index.html; an
# unknown file is 404; with --admin-listen the console is on the admin
# listener only. No data directory: the server runs from the build tree.
PC_TIMEOUT=60
. "$(dirname "$0")/harness.sh"
. "$(dirname "$0")/server_lib.sh"

setup
server_start --admin-listen 127.0.0.1:0
APORT=$(sed -n 's/.*event=admin_listening addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/server.log")
[ -n "$APORT" ] || fail "no admin listener in the log"
[ "$(http_status /console/)" = 404 ] || fail "the console on the public listener: $(http_status /console/)"
BASE=http://127.0.0.1:$APORT

FILES=$(sed -n '/^CONSOLE_FILES = /,/^$/p' "$abs_top_srcdir/console/include.am" | tr -d '\\' | tr -s ' \t' '\n' |
	grep '^console/')
[ "$(echo "$FILES" | wc -l)" -ge 10 ] || fail "CONSOLE_FILES: $FILES"
WANT_CSP="default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
n=0
gz=0
for f in $FILES; do
	rel=${f#console/}
	curl -s --max-time 10 -D "$T/h" -o "$T/got" "$BASE/console/$rel" || fail "GET /console/$rel"
	code=$(head -n 1 "$T/h" | cut -d' ' -f2)
	[ "$code" = 200 ] || fail "/console/$rel: $code"
	cmp -s "$T/got" "$abs_top_srcdir/$f" || fail "/console/$rel differs from $f"
	[ "$(hdr Content-Security-Policy)" = "$WANT_CSP" ] || fail "/console/$rel: CSP '$(hdr Content-Security-Policy)'"
	[ "$(hdr Cache-Control)" = no-cache ] || fail "/console/$rel: Cache-Control '$(hdr Cache-Control)'"
	[ "$(hdr X-Content-Type-Options)" = nosniff ] || fail "/console/$rel: no nosniff"
	case $rel in
	*.html) want='text/html; charset=utf-8' ;;
	*.js) want='text/javascript; charset=utf-8' ;;
	*.css) want='text/css; charset=utf-8' ;;
	*.json) want='application/json' ;;
	*) want='text/plain; charset=utf-8' ;;
	esac
	[ "$(hdr Content-Type)" = "$want" ] || fail "/console/$rel: Content-Type '$(hdr Content-Type)', not '$want'"
	etag=$(hdr ETag)
	case $etag in \"[0-9a-f]*\") ;; *) fail "/console/$rel: ETag '$etag'" ;; esac
	[ "$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$BASE/console/$rel")" = 304 ] ||
		fail "/console/$rel: no 304 for its own ETag"
	# gzip when the client takes it (and it is worth it): the same bytes once decoded
	curl -s --max-time 10 -D "$T/hz" -o "$T/gz" -H 'Accept-Encoding: gzip' "$BASE/console/$rel" || fail "gzip $rel"
	if [ "$(hdr Content-Encoding "$T/hz")" = gzip ]; then
		gzip -dc <"$T/gz" | cmp -s - "$abs_top_srcdir/$f" || fail "/console/$rel gzip-decoded differs from $f"
		gz=$((gz + 1))
	else
		cmp -s "$T/gz" "$abs_top_srcdir/$f" || fail "/console/$rel (not encoded) differs"
	fi
	n=$((n + 1))
done
[ "$gz" -ge 3 ] || fail "only $gz files sent gzip-encoded"
ok "$n files of console/ served byte for byte ($gz of them also gzip-encoded), each with its type, ETag/304, no-cache and the CSP"

for p in /console /console/; do
	curl -s --max-time 10 -o "$T/got" "$BASE$p" || fail "GET $p"
	cmp -s "$T/got" "$abs_top_srcdir/console/index.html" || fail "$p is not index.html"
done
! grep -qi '<script>\|<script [^>]*>[^<]\|<style\| style=\| on[a-z]*=' "$abs_top_srcdir/console/index.html" ||
	fail "index.html has an inline script, style or handler"
[ "$(http_status /console/nope.js)" = 404 ] || fail "an unknown file: $(http_status /console/nope.js)"
curl -s --max-time 10 -I -o "$T/h" "$BASE/console/app.js" || fail "HEAD /console/app.js"
head -n 1 "$T/h" | grep -q ' 200' || fail "HEAD: $(head -n 1 "$T/h")"
[ -n "$(hdr ETag)" ] && [ -n "$(hdr Content-Security-Policy)" ] || fail "HEAD without ETag or CSP"
[ "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -X POST "$BASE/console/")" = 405 ] || fail "POST /console/ is not 405"
ok "/console and /console/ are index.html (no inline script or style), an unknown file 404, HEAD 200 with its headers, POST 405, on the admin listener only"
server_stop
