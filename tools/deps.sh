#!/bin/sh
# Install the Debian packages that building and testing hss-forwarder need,
# skipping what is already installed. Run as root (or with sudo available).
# Used by tools/demo, tools/check and .ci/run so that the list lives here only.
set -eu

PACKAGES="build-essential autoconf automake pkg-config
libcurl4-openssl-dev libcjson-dev libevent-dev libssl-dev libyaml-dev
libcmocka-dev python3 openssl curl ca-certificates iproute2 procps
rsyslog rsyslog-gnutls rsyslog-openssl valgrind libivykis0 libnet1 libwrap0
nghttp2-proxy
golang-go golang-github-influxdata-go-syslog-dev
golang-github-leodido-ragel-machinery-dev"

# syslog-ng conflicts with rsyslog as a package: the tests run it unpacked.
SYSLOGNG_ROOT=${HSS_SYSLOGNG_ROOT:-/var/cache/hss-forwarder-tests/syslog-ng}

missing=
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
unpack_syslogng() {
	[ -x "$SYSLOGNG_ROOT/usr/sbin/syslog-ng" ] && return 0
	tmp=$(mktemp -d)
	if (cd "$tmp" && apt-get download -qq syslog-ng-core >/dev/null 2>&1) &&
	    mkdir -p "$SYSLOGNG_ROOT" &&
	    dpkg-deb -x "$tmp"/syslog-ng-core_*.deb "$SYSLOGNG_ROOT"; then
		:
	else
		echo "deps: could not unpack syslog-ng-core into" \
		    "$SYSLOGNG_ROOT; its tests will be skipped" >&2
	fi
	rm -rf "$tmp"
}

if [ -z "$missing" ]; then
	unpack_syslogng
	exit 0
fi

SUDO=
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 || {
		echo "deps: need root to install:$missing" >&2
		exit 1
	}
	SUDO=sudo
fi
echo "deps: installing:$missing" >&2
$SUDO apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
    --no-install-recommends $missing >/dev/null
unpack_syslogng
