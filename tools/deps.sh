#!/bin/sh
# Install the Debian packages hss-forwarder needs, skipping what is already
# installed. Run as root (or with sudo available). The lists live here only.
#
#     sh tools/deps.sh           build and run (the demo): compiler, autotools,
#                                the libraries, python3 for the simulator
#     sh tools/deps.sh package   and building the .deb (Build-Depends)
#     sh tools/deps.sh test      and everything the test suite uses: syslog
#                                receivers, valgrind, Go, packaging tools...
#
# Only `test` installs a syslog daemon (rsyslog, which removes syslog-ng if
# that is the machine's); the demo never touches the machine's logging.
set -eu

BUILD="build-essential autoconf automake pkg-config
libcurl4-openssl-dev libcjson-dev libevent-dev libssl-dev libyaml-dev
python3 ca-certificates"

# debian/control's Build-Depends (debhelper provides debhelper-compat and
# dh-sequence-installsysusers; it pulls dpkg-dev).
PACKAGE="debhelper pkgconf libcmocka-dev python3"

TEST="$PACKAGE libcmocka-dev openssl curl iproute2 procps util-linux
rsyslog rsyslog-gnutls rsyslog-openssl rsyslog-relp librelp-dev
valgrind libivykis0 libnet1 libwrap0 nghttp2-proxy faketime clang
golang-go golang-github-influxdata-go-syslog-dev
golang-github-leodido-ragel-machinery-dev
dpkg-dev fakeroot lintian mandoc man-db systemd"

case ${1:-build} in
build) PACKAGES=$BUILD ;;
package) PACKAGES="$BUILD $PACKAGE" ;;
test) PACKAGES="$BUILD $TEST" ;;
*)
	echo "usage: sh tools/deps.sh [build|package|test]" >&2
	exit 2
	;;
esac

# syslog-ng conflicts with rsyslog as a package: the tests run it unpacked.
SYSLOGNG_ROOT=${HSS_SYSLOGNG_ROOT:-/var/cache/hss-forwarder-tests/syslog-ng}

missing=
for p in $PACKAGES; do
	case " $missing " in *" $p "*) continue ;; esac
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
unpack_syslogng() {
	[ "${1:-build}" = test ] || return 0
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
	unpack_syslogng "${1:-build}"
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
unpack_syslogng "${1:-build}"
