#!/bin/sh
# setup-debian.sh: install what packcode needs to build, test, benchmark and
# run on Debian 12, as root. Does nothing when everything is already there.
# Debian's postgresql package would create and start a system cluster; packcode
# runs its own private clusters, so that is switched off before installing.
set -eu

PACKAGES="gcc g++ make autoconf automake pkg-config
libqrencode-dev libssl-dev libpq-dev libevent-dev libjansson-dev libpng-dev libcmocka-dev libsodium-dev
libmaxminddb-dev libmaxmind-db-writer-perl mmdb-bin
libcairo2-dev fonts-dejavu-core libphonenumber-dev libcurl4-openssl-dev
postgresql-15 postgresql-client-15
clang libclang-rt-14-dev clang-format
zbar-tools librsvg2-bin poppler-utils curl jq python3 python3-cryptography openssl
wrk qrencode time iproute2 python3-prometheus-client
chromium chromium-driver python3-selenium fonts-noto-cjk fontconfig
haproxy"
# Node.js and npm for tests/js: Debian's, unless the machine has its own
# (NodeSource's nodejs carries npm and conflicts with Debian's npm package)
command -v node >/dev/null 2>&1 || PACKAGES="$PACKAGES nodejs"
command -v npm >/dev/null 2>&1 || PACKAGES="$PACKAGES npm"

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing="$missing $p"
done
# tests/js: the independent validators (digital-link.js, epcis2.js), pinned by its
# package-lock.json, installed once (the tests otherwise install them into
# their build tree)
js_packages() {
	js=$(dirname "$0")/../tests/js
	[ -d "$js/node_modules/epcis2.js" ] || (cd "$js" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
}
if [ -z "$missing" ]; then
	js_packages
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "setup-debian.sh: these packages are missing:$missing" >&2
	echo "setup-debian.sh: run as root (or with sudo) to install them" >&2
	exit 1
fi
echo "setup-debian.sh: installing:$missing"
mkdir -p /etc/postgresql-common/createcluster.d
echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/packcode.conf
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
# haproxy: test_server_scaleout.sh runs its own; the system's service is not wanted
if command -v systemctl >/dev/null && systemctl is-enabled haproxy >/dev/null 2>&1; then
	systemctl disable --now haproxy >/dev/null 2>&1 || true
fi
js_packages
echo "setup-debian.sh: done"
