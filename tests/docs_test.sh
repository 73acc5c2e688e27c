#!/bin/sh
# Builds the reference docs of include/arrjit.h with Doxygen (docs/Doxyfile)
# and fails on any warning, an undocumented public function above all, or
# when the op table, with its ULP column, is missing from the output.
# `make docs` runs this too.
# usage: docs_test.sh SOURCE_DIR OUT_DIR
set -eu
src=$1
out=$2
version=$(sed -n 's/^#define AJ_VERSION_STRING "\(.*\)"$/\1/p' "$src/include/arrjit.h")
command -v doxygen >/dev/null ||
	{ echo "docs_test: doxygen not found (sh tools/deps.sh installs it)" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out"
status=0
AJ_SOURCE_DIR=$src AJ_DOCS_OUT=$out AJ_VERSION=$version doxygen "$src/docs/Doxyfile" ||
	status=$?
if [ -s "$out/warnings.log" ]; then
	cat "$out/warnings.log" >&2
	echo "docs_test: Doxygen warned (above)" >&2
	exit 1
fi
[ "$status" = 0 ] || { echo "docs_test: doxygen exited $status" >&2; exit 1; }
# Every function of the header is in the docs, with its text.
funcs=$(sed -n 's/^[a-z0-9_ ]*[ *]\(aj_[a-z0-9_]*\)(.*/\1/p' "$src/include/arrjit.h" | sort -u)
[ -n "$funcs" ] || { echo "docs_test: no functions found in arrjit.h" >&2; exit 1; }
for f in $funcs; do
	grep -q "<name>$f</name>" "$out/xml/arrjit_8h.xml" ||
		{ echo "docs_test: $f missing from the docs" >&2; exit 1; }
done
# The op table and its ULP bounds (e.g. hypot's SLEEF u05 row) are shown.
grep -q 'HYPOT, &quot;hypot&quot;, 2, BINARY, FLOAT, R, &quot;hypot_u05&quot;, 1' \
	"$out/xml/arrjit_8h.xml" ||
	{ echo "docs_test: the op table's rows are not in the docs" >&2; exit 1; }
grep -q 'ulp.*max error in ULP' "$out/xml/arrjit_8h.xml" ||
	{ echo "docs_test: the ULP column's legend is not in the docs" >&2; exit 1; }
echo "docs_test: ok, $(echo "$funcs" | wc -l) functions; $out/html/index.html"
