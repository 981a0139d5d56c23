#!/bin/sh
# Installs the Debian packages parcelbot needs to build and test.
# Idempotent: when everything is present it prints nothing and returns at once.
# Works as root or through sudo. Extra package names may be passed as arguments
# (the benchmark adds its bench-only dependencies this way).
set -eu

PKGS="pkg-config make gcc libcurl4-openssl-dev libcjson-dev libpcre2-dev libyaml-dev
libsqlite3-dev sqlite3 libmicrohttpd-dev libcmocka-dev libcrypt-dev libssl-dev python3
ca-certificates curl openssl"
PKGS="$PKGS $*"
# valgrind before the first build: a unit test that checks timing under
# memcheck includes <valgrind/memcheck.h> when it is there, and an object
# built without it is not rebuilt when valgrind comes later (make valgrind).
PKGS="$PKGS valgrind"

missing=""
for p in $PKGS; do
	# dpkg-query is fast and needs no lock; "install ok installed" means present.
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-deps: apt-get not found; install these packages by hand:$missing" >&2
	exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO="sudo"
	else
		echo "install-deps: not root and no sudo; install these packages:$missing" >&2
		exit 1
	fi
fi
echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
# Refresh the package lists only when an install fails without them, so a
# machine with fresh lists pays for one apt-get call.
# shellcheck disable=SC2086
if ! $SUDO apt-get install -y -q --no-install-recommends $missing >"$log" 2>&1; then
	if ! { $SUDO apt-get update -q && $SUDO apt-get install -y -q --no-install-recommends $missing; } >"$log" 2>&1; then
		cat "$log" >&2
		rm -f "$log"
		echo "install-deps: apt-get failed for:$missing" >&2
		exit 1
	fi
fi
rm -f "$log"
