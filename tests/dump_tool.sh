#!/bin/sh
# arrjit-dump end to end: the ISA shows in the optimised IR (vector width
# and SLEEF variant), the cache key does not depend on sizes, and a bad
# expression fails with a column. A program dumps its pending work in
# fusion groups: results get outputs, intermediates stay lazy, and a bad
# program fails with a line and column.
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

expect_no_out() {
	! grep -qF -- "$1" "$tmp/out" || fail "output of $2 has '$1'"
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

# Programs. t is read by later statements, so it stays lazy: c and d are
# the results, two outputs of one kernel.
prog='t = a*b; c = t + 1; d = t*2'
run --stage fused "$prog"
expect_out "group 0: out0..out1, 1 kernel, 0 bytes of temporaries; ends: end of the pending work" \
	"'$prog'"
expect_no_out "group 1" "'$prog'"
expect_no_out "out2" "'$prog'"
run --stage dag "$prog"
expect_out "out1 float64 (1024,)" "--stage dag '$prog'"
expect_no_out "out2" "--stage dag '$prog'"

# --dtype and --shape set the inputs; results follow their expressions.
run --stage dag --dtype a=float32,b=float32 --shape a=10x3,b=3 "$prog"
expect_out "out0 float32 (10, 3)" "'$prog' with float32 inputs"
if "$tool" --stage dag --shape c=5 "$prog" >/dev/null 2>"$tmp/err"; then
	fail "--shape of a result exited 0"
fi
grep -qF "not an input" "$tmp/err" || fail "--shape c: $(cat "$tmp/err")"

# aj_exec binds c to a lazy expression that d reads: one output, d.
prog='c = a + 1; d = c * 2'
run --stage fused "$prog"
expect_out "group 0: out0..out0, 1 kernel, 0 bytes of temporaries; ends: end of the pending work" \
	"'$prog'"
expect_no_out "out1" "'$prog'"

# a is an input written in place, then read reversed: b's loop must wait
# for it. (Read as written, b = a * 2 would get a + 1 forwarded.)
prog='a += 1; b = a[::-1] * 2'
run --stage fused "$prog"
expect_out "group 0: out0..out0, 1 kernel, 0 bytes of temporaries; ends: overlap: reads an earlier output" \
	"'$prog'"
expect_out "group 1: out1..out1, 1 kernel, 0 bytes of temporaries; ends: end of the pending work" \
	"'$prog'"

# The value of the last expression statement is a result too, and b,
# which it reads, is now an intermediate. Every stage prints.
run "$prog; b - 1"
for stage in dag fused ir opt asm key; do
	expect_out "== $stage ==" "--stage all of a program"
done
expect_out "group 1: out1..out1, 1 kernel" "'$prog; b - 1'"
expect_out "subtract" "'$prog; b - 1'"
expect_no_out "out2" "'$prog; b - 1'"

# A bad program: exit 2, the line and column with a caret on stderr,
# nothing on stdout.
prog=$(printf 'c = a + 1\nd = c +* 2')
status=0
"$tool" --stage fused "$prog" >"$tmp/out" 2>"$tmp/err" || status=$?
[ "$status" -eq 2 ] || fail "a bad program exited $status, not 2"
grep -q 'line 2, column 8' "$tmp/err" ||
	fail "no 'line 2, column 8' in: $(cat "$tmp/err")"
grep -qx '         ^' "$tmp/err" || fail "no caret in: $(cat "$tmp/err")"
[ ! -s "$tmp/out" ] || fail "a bad program printed to stdout"

# A bad option is an error too; --help is not.
if "$tool" --stage nosuch "$expr" >/dev/null 2>&1; then
	fail "an unknown stage exited 0"
fi
run --help
expect_out "usage:" "--help"
expect_out "PROGRAM" "--help"

# Hostile text: thousands of terms dump; nesting past the parser's limit,
# however deep, is a bad expression (exit 2), not a stack overflow.
terms=$(awk 'BEGIN { s = "a"; for (i = 1; i < 5000; i++) s = s "+a"; print s }')
run --stage dag "$terms"
expect_out "add" "5000 terms"
for deep in "$(awk 'BEGIN { for (i = 0; i < 50000; i++) printf "("; printf "a"; for (i = 0; i < 50000; i++) printf ")" }')" \
	"$(awk 'BEGIN { for (i = 0; i < 50000; i++) printf "-"; printf "a" }')" \
	"$(awk 'BEGIN { s = "a"; for (i = 0; i < 30000; i++) s = s "**a"; print s }')"; do
	status=0
	"$tool" --stage dag -- "$deep" >"$tmp/out" 2>"$tmp/err" || status=$?
	[ "$status" -eq 2 ] || fail "deep nesting exited $status, not 2"
	grep -q 'nested too deeply (limit 256 levels)' "$tmp/err" ||
		fail "deep nesting: $(head -c 300 "$tmp/err")"
	[ ! -s "$tmp/out" ] || fail "deep nesting printed to stdout"
done
# unknown names in options
if "$tool" --stage dag --dtype a=float16 "$expr" >/dev/null 2>"$tmp/err"; then
	fail "--dtype a=float16 exited 0"
fi
grep -qF "unknown dtype 'float16'" "$tmp/err" || fail "--dtype: $(cat "$tmp/err")"
# an output that cannot be written: exit 1 with a message
if [ -w /dev/full ]; then
	status=0
	"$tool" --stage dag "$expr" >/dev/full 2>"$tmp/err" || status=$?
	[ "$status" -eq 1 ] || fail "writing to /dev/full exited $status, not 1"
	grep -qF "cannot write the output" "$tmp/err" || fail "/dev/full: $(cat "$tmp/err")"
fi

echo "dump_tool: ok"
