#!/bin/sh
# Installs the build to a prefix under it, then builds the program in
# tests/consumer/ against that install the two ways users do (CMake's
# find_package and pkg-config), each with the shared and the static
# library, and runs all four. Fails on a missing or broken package file.
# usage: install_test.sh SOURCE_DIR BUILD_DIR
set -eu
src=$1
build=$2
work=$build/install-test
prefix=$work/prefix
rm -rf "$work"
mkdir -p "$work"
fail() {
	echo "install_test: $*" >&2
	exit 1
}

cmake --install "$build" --prefix "$prefix" >"$work/install.log"
pc=$(find "$prefix" -name arrjit.pc)
[ -n "$pc" ] || fail "no arrjit.pc installed"
libdir=$(dirname "$(dirname "$pc")")
for f in "$prefix/include/arrjit.h" "$libdir/libarrjit.a" "$libdir/libarrjit.so" \
	"$libdir/cmake/arrjit/arrjit-config.cmake" \
	"$libdir/cmake/arrjit/arrjit-config-version.cmake" \
	"$libdir/cmake/arrjit/arrjit-targets.cmake" \
	"$prefix/bin/arrjit-dump" "$prefix/bin/arrjit-eval"; do
	[ -e "$f" ] || fail "not installed: $f"
done

# The SONAME is versioned (0.MINOR while 0.x, include/arrjit.h), and that
# name is installed, beside the fully versioned file.
version=$(sed -n 's/^#define AJ_VERSION_STRING "\(.*\)"$/\1/p' "$prefix/include/arrjit.h")
case $version in
0.*) soversion=$(echo "$version" | cut -d. -f1,2) ;;
*) soversion=$(echo "$version" | cut -d. -f1) ;;
esac
soname=$(readelf -d "$libdir/libarrjit.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libarrjit.so.$soversion" ] ||
	fail "SONAME '$soname', want libarrjit.so.$soversion"
[ -e "$libdir/$soname" ] && [ -e "$libdir/libarrjit.so.$version" ] ||
	fail "missing $soname or libarrjit.so.$version in $libdir"

# It exports the header's functions and nothing else: no internal aj_
# function (aj_malloc is one), no symbol outside aj_.
nm -D --defined-only "$libdir/libarrjit.so" | awk '{print $3}' >"$work/exports.txt"
grep -qx aj_ctx_new "$work/exports.txt" || fail "aj_ctx_new is not exported"
grep -qx aj_malloc "$work/exports.txt" && fail "internal aj_malloc is exported"
others=$(grep -v '^aj_' "$work/exports.txt" | grep -v '^_' | head -3)
[ -z "$others" ] || fail "exports beyond the API: $others"
for f in $(grep -v '^static' "$prefix/include/arrjit.h" |
	sed -n 's/^[a-z][a-z0-9_ ]*[ *]\(aj_[a-z0-9_]*\)(.*/\1/p'); do
	grep -qx "$f" "$work/exports.txt" || fail "$f is declared but not exported"
done

# The installed tools run.
"$prefix/bin/arrjit-dump" --stage dag 'exp(a) + 1' >"$work/dump.txt" ||
	fail "arrjit-dump failed"
grep -q exp "$work/dump.txt" || fail "arrjit-dump printed no exp"

# run NAME BINARY: runs it, and for the shared builds checks that it
# loaded the installed library, not the build tree's.
run() {
	if [ "$1" = shared ]; then
		ldd "$2" | grep -q "libarrjit.so.* => $libdir/" ||
			fail "$2 does not load $libdir/libarrjit.so: $(ldd "$2" | grep arrjit)"
	fi
	"$2" || fail "$2 failed"
}

# CMake: find_package(arrjit CONFIG), arrjit::arrjit and arrjit::arrjit_static.
cmake -S "$src/tests/consumer" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" \
	-DCMAKE_C_FLAGS="-Wall -Wextra -Werror" >"$work/cmake.log" 2>&1 ||
	fail "consumer configure failed: $(cat "$work/cmake.log")"
cmake --build "$work/cmake" >>"$work/cmake.log" 2>&1 ||
	fail "consumer build failed: $(cat "$work/cmake.log")"
run shared "$work/cmake/consumer"
run static "$work/cmake/consumer_static"

# pkg-config: the shared library, then the static one with Libs.private
# and Requires.private. Nothing in --cflags may point at LLVM.
export PKG_CONFIG_PATH="$libdir/pkgconfig"
cflags=$(pkg-config --cflags arrjit)
case $cflags in *llvm*) fail "pkg-config --cflags names LLVM: $cflags" ;; esac
[ "$(pkg-config --modversion arrjit)" = "$version" ] || fail "arrjit.pc version"
cc -std=c11 -Wall -Wextra -Werror $cflags "$src/tests/consumer/consumer.c" \
	-o "$work/pc_consumer" $(pkg-config --libs arrjit) -lm \
	-Wl,-rpath,"$libdir" || fail "pkg-config shared build failed"
run shared "$work/pc_consumer"
cc -std=c11 -Wall -Wextra -Werror $cflags "$src/tests/consumer/consumer.c" \
	-o "$work/pc_consumer_static" "$libdir/libarrjit.a" \
	$(pkg-config --static --libs arrjit | sed 's/-larrjit//') -lm ||
	fail "pkg-config static build failed"
run static "$work/pc_consumer_static"
echo "install_test: ok ($prefix)"
