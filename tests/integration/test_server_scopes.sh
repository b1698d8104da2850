#!/bin/bash
# test_server_scopes.sh: the scope each admin row of server/routes.def
# declares is the scope the edge enforces. One token per scope; every admin
# row of the table (read from routes.def itself, so a new row is walked too)
# is called with every token: a token without the row's scope gets 403
# insufficient_scope (RFC 6750: WWW-Authenticate error="insufficient_scope"
# and scope="..."), a token with it, and every token on a row of scope
# "any", gets anything but 403. Refusals are logged and counted.
PC_TIMEOUT=300
. "$(dirname "$0")/harness.sh"
. "$(dirname "$0")/server_lib.sh"

SCOPES="read catalog operate points claims pii export admin campaigns"
setup
for s in $SCOPES; do
	tok=$(pcgen token add --name "only-$s" --scopes "$s" 2>/dev/null) || fail "token add --scopes $s"
	printf '%s' "$tok" >"$T/token.$s"
done
server_start --threads 1 --pool 2

# The admin rows: METHODS PATTERN SCOPE, one a line.
grep -E '^ROUTE\(' "$abs_top_srcdir/server/routes.def" |
	awk -F',' '$5 ~ /ADMIN/ { gsub(/[ "]/, "", $2); gsub(/[ "]/, "", $3); gsub(/[ "]/, "", $6); print $2, $3, $6 }' \
		>"$T/rows"
[ "$(wc -l <"$T/rows")" -ge 12 ] || fail "only $(wc -l <"$T/rows") admin rows read from routes.def"

refused=0
checked=0
while read -r methods pattern scope; do
	case $methods in
	GET_HEAD | ANY) method=GET ;;
	POST) method=POST ;;
	DELETE) method=DELETE ;;
	*) fail "row $pattern: methods $methods not known to this test" ;;
	esac
	path=$(sed -e 's/{id}/1/g' -e 's/{member}/alice/g' -e 's/{[a-z]*?}//g' -e 's#\*\*#no-such-thing#' <<<"$pattern")
	for s in $SCOPES; do
		hdrs=(-H "Authorization: Bearer $(cat "$T/token.$s")")
		[ "$method" = POST ] && hdrs+=(-H 'Content-Type: application/json' --data-binary '{}')
		status=$(curl -s --max-time 10 -X "$method" -D "$T/h" -o "$T/body" -w '%{http_code}' \
			"${hdrs[@]}" "$BASE$path")
		checked=$((checked + 1))
		if [ "$scope" = any ] || [ "$scope" = "$s" ]; then
			[ "$status" != 403 ] || fail "$method $path with scope $s: 403 ($(cat "$T/body"))"
			[ "$status" != 401 ] || fail "$method $path with scope $s: 401 ($(cat "$T/body"))"
		else
			[ "$status" = 403 ] || fail "$method $path (needs $scope) with scope $s: $status, not 403"
			[ "$(jq -r .error "$T/body")" = insufficient_scope ] || fail "$method $path: $(cat "$T/body")"
			[ "$(jq -r .scope "$T/body")" = "$scope" ] || fail "$method $path: scope in $(cat "$T/body")"
			www=$(hdr WWW-Authenticate)
			[ "$www" = "Bearer realm=\"packcode-admin\", error=\"insufficient_scope\", scope=\"$scope\"" ] ||
				fail "$method $path: WWW-Authenticate '$www'"
			refused=$((refused + 1))
		fi
	done
done <"$T/rows"
ok "$checked requests over $(wc -l <"$T/rows") admin rows x $(wc -w <<<"$SCOPES") scopes: $refused refused with 403 exactly where the table says"

# a wrong method is 405 whatever the scope: the scope belongs to the row's methods
status=$(curl -s --max-time 10 -X PUT -o /dev/null -w '%{http_code}' \
	-H "Authorization: Bearer $(cat "$T/token.points")" "$BASE/api/v1/admin/products")
[ "$status" = 405 ] || fail "PUT products with a points token: $status, not 405"
# no token at all is still 401, before any scope
req GET /api/v1/admin/products
expect 401 "no token"

[ "$(metric 'packcode_admin_auth_failures_total{reason="scope"}')" = "$refused" ] ||
	fail "scope refusals counted: $(metric 'packcode_admin_auth_failures_total{reason="scope"}'), not $refused"
logged=$(grep -c 'event=admin_refused reason=insufficient_scope' "$T/server.log" || true)
[ "$logged" = "$refused" ] || fail "$logged scope refusals logged, not $refused"
grep -q 'event=admin_refused.* actor="\?only-read' "$T/server.log" || fail "refusal log lines name no actor" # one grep: grep -q ending a pipe early is SIGPIPE to its writer, a failure under pipefail
for s in $SCOPES; do
	! grep -qF "$(cat "$T/token.$s")" "$T/server.log" || fail "a token reached the log"
done
ok "refusals counted in /metrics and logged with actor, route and scope; no token logged"

server_stop
ok "scopes enforced per route row"
