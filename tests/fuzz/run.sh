#!/bin/sh
# Runs the libFuzzer harnesses of a fuzz build (AJ_SANITIZE=fuzz): first
# every committed input (tests/fuzz/corpus/<harness>, the seeds, and
# tests/fuzz/regress/<harness>, inputs that once failed) once each, then
# fuzzing for SECONDS per harness, starting from the seeds and the
# corpus kept in BUILD/fuzz-corpus from earlier runs. A failure names
# the input (BUILD/fuzz-artifacts); copy it into tests/fuzz/regress/
# once fixed. Prints each harness's count of executed inputs. With
# FUZZ_SEED set, libFuzzer's random choices start from it (make test sets
# it, so that CI explores the same inputs run after run).
#
# usage: tests/fuzz/run.sh BUILD SECONDS [HARNESS ...]
set -eu

build=${1:?usage: run.sh BUILD SECONDS [HARNESS ...]}
seconds=${2:?usage: run.sh BUILD SECONDS [HARNESS ...]}
shift 2
src=$(cd "$(dirname "$0")" && pwd)
[ $# -gt 0 ] || set -- parse npy api

max_len() {
	case $1 in
	npy) echo 4096 ;;
	*) echo 512 ;;
	esac
}

for h in "$@"; do
	bin=$build/bin/fuzz_$h
	[ -x "$bin" ] || { echo "fuzz: no $bin (make fuzz builds it)" >&2; exit 1; }
	log=$build/fuzz-$h.log
	dirs="$src/corpus/$h"
	[ ! -d "$src/regress/$h" ] || dirs="$dirs $src/regress/$h"
	# shellcheck disable=SC2086 # two directories, no blanks in them
	inputs=$(find $dirs -type f ! -name '.*' | sort)
	# shellcheck disable=SC2086 # one argument per file; names have no blanks
	if ! "$bin" -rss_limit_mb=4096 $inputs >"$log" 2>&1; then
		tail -n 40 "$log" >&2
		echo "fuzz: $h: a committed input fails (log: $log)" >&2
		exit 1
	fi
	echo "fuzz: $h: $(echo "$inputs" | wc -l) committed inputs pass"
	[ "$seconds" -gt 0 ] || continue
	mkdir -p "$build/fuzz-corpus/$h" "$build/fuzz-artifacts"
	seed=${FUZZ_SEED:+-seed=$FUZZ_SEED}
	# shellcheck disable=SC2086 # empty, or one word
	if ! "$bin" $seed -max_total_time="$seconds" -max_len="$(max_len "$h")" \
		-timeout=60 -rss_limit_mb=4096 -print_final_stats=1 \
		-artifact_prefix="$build/fuzz-artifacts/$h-" \
		"$build/fuzz-corpus/$h" "$src/corpus/$h" >"$log" 2>&1; then
		grep -E 'check failed|ERROR|runtime error|Test unit written' "$log" >&2 || tail -n 40 "$log" >&2
		echo "fuzz: $h: FAILED (log: $log)" >&2
		exit 1
	fi
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	echo "fuzz: $h: $runs inputs in ${seconds}s, no failure"
done
