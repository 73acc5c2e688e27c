#!/bin/sh
# arrjit-bench's --list and --serve (what bench/interleave.py drives): the
# names --list selects; answers in order, each ending with a done line; a
# workload first measures the stream references; an unknown command is an
# error line, not the end; kernels stay compiled from one request to the
# next.
#
# usage: tests/bench_tool.sh path/to/arrjit-bench
set -eu

bench=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
	echo "bench_tool: FAIL: $*" >&2
	exit 1
}

[ "$("$bench" --list --filter sum_ | tr '\n' ' ')" = \
	"sum_row0 sum_col0 sum_axis0 sum_axis1 " ] || fail "--list"

printf 'sum_row0\nbogus\nsum_row0\nstats\n' |
	AJ_CACHE=off "$bench" --serve --quick --reps 1 --threads 1 \
		>"$tmp/out" 2>/dev/null || fail "--serve exited $?"
kinds=$(sed 's/^{"kind":"\([a-z]*\)".*/\1/' "$tmp/out" | tr '\n' ' ')
[ "$kinds" = "stream stream stream stream workload done error done workload done stats done " ] ||
	fail "answers: $kinds"
grep '"kind":"workload"' "$tmp/out" | grep -c '"name":"sum_row0".*"check":"ok"' |
	grep -qx 2 || fail "workload lines: $(cat "$tmp/out")"
grep -q '"command":"bogus"' "$tmp/out" || fail "error line"
# compiled for the first request, cache hits for the second
k=$(grep '"kind":"workload"' "$tmp/out" | sed 's/.*"kernels":\([0-9]*\),.*/\1/' | tr '\n' ' ')
case $k in
0\ *|*\ [1-9]*) fail "kernels compiled per request: $k" ;;
esac
grep -q "\"kind\":\"stats\",\"kernels_compiled\":${k%% *}," "$tmp/out" ||
	fail "stats: $(grep stats "$tmp/out")"
echo "bench_tool: ok"
