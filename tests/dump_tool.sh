#!/bin/sh
# arrjit-dump end to end: the ISA shows in the optimised IR (vector width
# and SLEEF variant), the cache key does not depend on sizes, and a bad
# expression fails with a column.
#
# usage: tests/dump_tool.sh path/to/arrjit-dump
set -eu

tool=${1:?usage: dump_tool.sh path/to/arrjit-dump}
expr='exp(a)*s + b'
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
	echo "dump_tool: FAIL: $*" >&2
	exit 1
}

# Runs the tool into $tmp/out and $tmp/err; fails unless it exits 0.
run() {
	"$tool" "$@" >"$tmp/out" 2>"$tmp/err" ||
		fail "arrjit-dump $* exited $?: $(cat "$tmp/err")"
}

expect_out() {
	grep -qF -- "$1" "$tmp/out" || fail "output of $2 lacks '$1'"
}

has_cpu_flag() {
	grep -qw "$1" /proc/cpuinfo 2>/dev/null
}

check_isa() { # isa cpuflag vector sleef-function
	if ! has_cpu_flag "$2"; then
		echo "dump_tool: host lacks $2, skipping --isa $1"
		return 0
	fi
	for s in '' s=scalar; do
		run --isa "$1" --stage opt ${s:+--shape "$s"} "$expr"
		expect_out "$3" "--isa $1${s:+ --shape $s}"
		expect_out "$4" "--isa $1${s:+ --shape $s}"
	done
}

check_isa avx2 avx2 '<4 x double>' Sleef_expd4_u10avx2
check_isa avx512 avx512f '<8 x double>' Sleef_expd8_u10avx512f

# Sizes are runtime arguments, so they are not part of the key.
run --stage key "$expr"
key1024=$(cat "$tmp/out")
run --stage key --shape a=77,s=77,b=77 "$expr"
key77=$(cat "$tmp/out")
[ -n "$key1024" ] || fail "--stage key printed nothing"
[ "$key1024" = "$key77" ] ||
	fail "key differs for shape 1024 and 77: '$key1024' vs '$key77'"

# Every stage prints under its header.
run "$expr"
for stage in dag fused ir opt asm key; do
	expect_out "== $stage ==" "--stage all"
done

# A bad expression: non-zero exit, the column on stderr, nothing on stdout.
if "$tool" --stage dag 'exp(a) + * b' >"$tmp/out" 2>"$tmp/err"; then
	fail "a bad expression exited 0"
fi
grep -q 'column 10' "$tmp/err" || fail "no 'column 10' in: $(cat "$tmp/err")"
[ ! -s "$tmp/out" ] || fail "a bad expression printed to stdout"

# A bad option is an error too; --help is not.
if "$tool" --stage nosuch "$expr" >/dev/null 2>&1; then
	fail "an unknown stage exited 0"
fi
run --help
expect_out "usage:" "--help"

echo "dump_tool: ok"
