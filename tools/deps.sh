#!/bin/sh
# Installs what the build needs from Debian 12's archive, or says how.
# Root: apt-get install what is missing. Otherwise: print the command, fail.
set -e
# python3-numpy: the tests compare against NumPy (Debian's /usr/bin/python3)
# doxygen: make docs, and the docs test of make test (tests/docs_test.sh)
pkgs="cmake make gcc pkg-config llvm-19-dev libsleef-dev libcmocka-dev python3 python3-numpy"
pkgs="$pkgs doxygen"
# libdlpack-dev: the DLPack header (lib/dlpack.c, include/arrjit.h)
pkgs="$pkgs libdlpack-dev"
# clang-14, libclang-rt-14-dev: the libFuzzer harnesses (make fuzz; make
# test runs them briefly)
pkgs="$pkgs clang-14 libclang-rt-14-dev"
# `deps.sh bench`: also what `make bench` compares against and draws with
# (bench/anchors.py, bench/report.py); `make test` does not need them.
# `deps.sh valgrind`: also valgrind, for `make valgrind`.
case "${1:-}" in
"") ;;
bench) pkgs="$pkgs python3-numexpr python3-numba python3-matplotlib" ;;
valgrind) pkgs="$pkgs valgrind" ;;
*)
	echo "usage: tools/deps.sh [bench|valgrind]" >&2
	exit 2
	;;
esac
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends $missing
else
	echo "deps: missing packages. Run:"
	echo "  sudo apt-get install -y$missing"
	exit 1
fi
