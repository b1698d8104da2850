#!/bin/sh
# setup-citus.sh: install the Citus of ../shared/citus (beside the project)
# into Debian's PostgreSQL 15, as root, for make check-citus and the bench.
# That build needs PostgreSQL 15.20 or later (it uses a function 15.20
# exports: with 15.18 citus.so does not load), so postgresql-15 is first
# brought to Debian's current release when an older one is installed.
# Upgrading restarts nothing of packcode's but breaks the private clusters
# running at that moment: run it before any starts (scripts/test.sh does).
# Exits 0 when done or when there is no ../shared/citus ("skipped").
set -eu
here=$(cd "$(dirname "$0")" && pwd)
install=$here/../../shared/citus/install.sh
if [ ! -f "$install" ]; then
	echo "setup-citus.sh: skipped: no $install"
	exit 0
fi
[ "$(id -u)" = 0 ] || { echo "setup-citus.sh: run as root" >&2; exit 1; }
installed=$(dpkg-query -W -f='${Version}' postgresql-15 2>/dev/null || true)
if [ -n "$installed" ] && dpkg --compare-versions "$installed" lt 15.20; then
	echo "setup-citus.sh: postgresql-15 $installed is older than 15.20: upgrading it"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends --only-upgrade postgresql-15 postgresql-client-15 \
		libpq5 libpq-dev >/dev/null
	installed=$(dpkg-query -W -f='${Version}' postgresql-15)
	dpkg --compare-versions "$installed" ge 15.20 ||
		{ echo "setup-citus.sh: postgresql-15 is $installed after the upgrade; Citus needs 15.20" >&2; exit 1; }
fi
sh "$install"
