#!/bin/sh
# make bench's Python side: bench/report.py on the fixed, hand-written sample
# in tests/bench/ (fixture-*.jsonl: spec-format lines, not measurements)
# into temp copies of a RESULTS.md, checking the markers, the table's rows
# and ratio arithmetic, and that every other line of the file is kept; then
# bench/anchors.py on one tiny workload, and with numba hidden (a skip line,
# exit status 0).
#
# usage: tests/report_tool.sh [path/to/source/dir]
set -eu

src=${1:-$(cd "$(dirname "$0")/.." && pwd)}
py=/usr/bin/python3
if ! "$py" -c 'import numpy' 2>/dev/null; then
	echo "report_tool: numpy is not available to $py, skipping"
	exit 0
fi
fix=$src/tests/bench
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
	echo "report_tool: FAIL: $*" >&2
	exit 1
}

report() { # results-file png-file
	"$py" "$src/bench/report.py" --arrjit "$fix/fixture-arrjit.jsonl" \
		--anchors "$fix/fixture-anchors.jsonl" --results "$1" --png "$2" \
		--command "report_tool fixture" --date "2000-01-01 00:00 UTC" \
		>"$tmp/stdout" 2>"$tmp/stderr" ||
		fail "report.py exited $?: $(cat "$tmp/stderr")"
}

# 1. No markers yet: the section goes after the intro, before the first
# "## " heading, and the file is otherwise unchanged (byte for byte, even
# its missing final newline).
cp "$fix/fixture-RESULTS.md" "$tmp/R.md"
report "$tmp/R.md" "$tmp/r.png"
"$py" - "$tmp/R.md" "$fix/fixture-RESULTS.md" <<'EOF' || fail "check 1 (see above)"
import sys
got = open(sys.argv[1]).read()
orig = open(sys.argv[2]).read()
B, E = "<!-- make bench: begin -->", "<!-- make bench: end -->"
assert got.count(B) == 1 and got.count(E) == 1, "one marker pair"
b, e = got.index(B), got.index(E) + len(E)
# the section, then one blank line before the heading it was put above
assert got[e:e + 2] == "\n\n", repr(got[e:e + 10])
assert got[:b] + got[e + 2:] == orig, "rest of the file kept"
assert got[:b] == orig[:orig.index("## 2026-01-01")], "section after intro"
sec = got[b:e]
rows = {}
for line in sec.splitlines():
    if line.startswith("| ") and not line.startswith("| workload"):
        cells = [c.strip().strip("*") for c in line.strip("|").split("|")]
        rows[cells[0]] = cells
head = [l for l in sec.splitlines() if l.startswith("| workload")][0]
cols = [c.strip() for c in head.strip("|").split("|")]
# numexpr was skipped in the fixture: no column, and a note.
assert "numexpr" not in cols and "numexpr 1t" not in cols, cols
assert "numexpr skipped" in sec, "skip note"
col = {c: i for i, c in enumerate(cols)}
want = ["seed", "seed_prepared", "axpy2", "norm", "exp_mix", "shift_back",
        "random_1k"]
assert list(rows) == want, list(rows)
def cell(w, c):
    return rows[w][col[c]]
# ratio = arrjit median / the fastest Python peer's median
assert cell("axpy2", "best peer") == "Numba", rows["axpy2"]
assert cell("axpy2", "arrjit / best") == "%.2f" % (1.2 / 2.0)
assert cell("norm", "best peer") == "Numba par"
assert cell("norm", "arrjit / best") == "%.2f" % (3.0 / 2.5)
assert cell("norm", "np.linalg") == "5.00"
assert cell("seed", "arrjit / best") == "%.2f" % (300 / 150.0)
assert cell("seed_prepared", "arrjit / best") == "%.2f" % (60 / 150.0)
assert cell("exp_mix", "arrjit") == "1.50 FAIL"
assert cell("exp_mix", "hand vec") == "1.40", rows["exp_mix"]
assert "arrjit compile time: 4 kernels compiled, 5.00 ms each" in sec, sec
# per kernel, slowest first; a workload without the fields is left out
assert ("Longest per kernel, by workload: seed 8.00 ms, norm 6.00 ms "
        "(2 kernels), axpy2 3.00 ms.") in sec, sec
assert cell("axpy2", "hand vec") == "—", rows["axpy2"]
assert cell("axpy2", "% of bw (ref)") == "91% triad"
assert cell("norm", "% of bw (ref)") == "67% read"
assert cell("shift_back", "best peer") == "—"
assert cell("random_1k", "arrjit") == "—" and cell("random_1k", "NumPy") == "1.60"
assert "**2.00**" in [l for l in sec.splitlines() if l.startswith("| axpy2")][0]
assert "triad 30.0 GB/s" in sec and "write 20.0 GB/s" in sec
# Numba compile: median of 100 (seed; seed_prepared is the same line) and 140
assert "Numba 120 ms (median over 2 workloads, max 140 ms)" in sec, sec
assert "Numba par 250 ms" in sec
assert "report_tool fixture" in sec and "2000-01-01" in sec
EOF
grep -q '| axpy2 ' "$tmp/stdout" || fail "the table is not on stdout"
if "$py" -c 'import matplotlib' 2>/dev/null; then
	[ -s "$tmp/r.png" ] || fail "no chart"
	head -c 8 "$tmp/r.png" | od -c | grep -q 'P   N   G' || fail "chart is not a PNG"
fi

# 2. Run again: the section is replaced, not added; the file is the same.
cp "$tmp/R.md" "$tmp/R1.md"
report "$tmp/R.md" ""
cmp -s "$tmp/R.md" "$tmp/R1.md" || {
	diff "$tmp/R1.md" "$tmp/R.md" >&2 || :
	fail "a second run changed more than the section"
}

# 3. Broken markers: refused, file untouched, exit 2.
printf '# t\n<!-- make bench: begin -->\nold\n' >"$tmp/B.md"
cp "$tmp/B.md" "$tmp/B0.md"
if "$py" "$src/bench/report.py" --arrjit "$fix/fixture-arrjit.jsonl" \
	--anchors "$fix/fixture-anchors.jsonl" --results "$tmp/B.md" --png "" \
	>/dev/null 2>&1; then
	fail "report.py accepted an unterminated marked section"
fi
cmp -s "$tmp/B.md" "$tmp/B0.md" || fail "report.py changed a file it refused"

# 4. Missing inputs: still a report, with notes.
report_missing() {
	"$py" "$src/bench/report.py" --arrjit "$tmp/none.jsonl" \
		--anchors "$tmp/none2.jsonl" --results "$tmp/M.md" --png "" \
		>"$tmp/stdout" 2>&1 || fail "report.py failed on missing inputs"
}
report_missing
grep -q 'no file' "$tmp/M.md" || fail "no note about the missing inputs"

# 5. anchors.py on one tiny workload (sum_row0, n = 2000): spec lines.
"$py" "$src/bench/anchors.py" --quick --filter sum_row0 --reps 1 \
	>"$tmp/a.jsonl" 2>"$tmp/a.err" ||
	fail "anchors.py exited $?: $(cat "$tmp/a.err")"
"$py" - "$tmp/a.jsonl" <<'EOF' || fail "anchors output (see above)"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
anchors = [l for l in lines if l["kind"] == "anchor"]
assert anchors, lines
for l in anchors:
    assert l["name"] == "sum_row0" and l["unit"] == "ms", l
    assert 0 < l["min"] <= l["median"] <= l["max"], l
    assert ("compile_ms" in l) == l["system"].startswith("numba"), l
systems = {l["system"] for l in anchors}
assert "numpy" in systems, systems
for l in lines:
    assert l["kind"] in ("anchor", "skip"), l
EOF

# 6. numba hidden (a module of that name that fails to import): one skip
# line, no numba rows, exit status 0.
mkdir "$tmp/hide"
echo 'raise ImportError("No module named numba (hidden by report_tool)")' \
	>"$tmp/hide/numba.py"
PYTHONPATH="$tmp/hide" "$py" "$src/bench/anchors.py" --quick \
	--filter sum_row0 --reps 1 >"$tmp/h.jsonl" 2>"$tmp/h.err" ||
	fail "anchors.py without numba exited $?: $(cat "$tmp/h.err")"
grep -q '"kind":"skip","system":"numba"' "$tmp/h.jsonl" ||
	fail "no skip line for numba: $(cat "$tmp/h.jsonl")"
grep '"kind":"anchor"' "$tmp/h.jsonl" | grep -q '"system":"numba' &&
	fail "numba rows despite the skip"

# 7. Two rounds (make bench's BENCH_ROUNDS): each system keeps its best.
# Round 2 of axpy2: arrjit faster (its whole line, hand loop and % of bw
# included, is taken), Numba slower (round 1 kept), NumPy faster; the
# bandwidth references show both rounds'; compile times stay round 1's.
cat "$fix/fixture-arrjit.jsonl" >"$tmp/r2-arrjit.jsonl"
sed -e 's/"gbps":30.0/"gbps":33.0/' \
	-e '/"name":"axpy2"/s/"median":1.2,/"median":1.0,/' \
	-e '/"name":"axpy2"/s/"kind":"fused","median":1.1/"kind":"fused","median":0.9/' \
	-e '/"name":"axpy2"/s/"bw_pct":91.0/"bw_pct":99.0/' \
	-e '/"name":"axpy2"/s/"compile_ms":3.0/"compile_ms":20.0/' \
	"$fix/fixture-arrjit.jsonl" >>"$tmp/r2-arrjit.jsonl"
cat "$fix/fixture-anchors.jsonl" >"$tmp/r2-anchors.jsonl"
sed -e '/"name":"axpy2","system":"numba",/s/"median":2.0/"median":3.0/' \
	-e '/"name":"axpy2","system":"numpy"/s/"median":4.2/"median":3.9/' \
	"$fix/fixture-anchors.jsonl" >>"$tmp/r2-anchors.jsonl"
"$py" "$src/bench/report.py" --arrjit "$tmp/r2-arrjit.jsonl" \
	--anchors "$tmp/r2-anchors.jsonl" --results "$tmp/R2.md" --png "" \
	--command "report_tool rounds" --date "2000-01-01 00:00 UTC" \
	>/dev/null 2>"$tmp/stderr" || fail "report.py on two rounds: $(cat "$tmp/stderr")"
"$py" - "$tmp/R2.md" <<'EOF2' || fail "check 7 (see above)"
import sys
sec = open(sys.argv[1]).read()
row = [l for l in sec.splitlines() if l.startswith("| axpy2 ")][0]
cells = [c.strip().strip("*") for c in row.strip("|").split("|")]
head = [l for l in sec.splitlines() if l.startswith("| workload")][0]
col = {c.strip(): i for i, c in enumerate(head.strip("|").split("|"))}
assert cells[col["arrjit"]] == "1.00", cells
assert cells[col["hand C"]] == "0.900", cells
assert cells[col["% of bw (ref)"]] == "99% triad", cells
assert cells[col["Numba"]] == "2.00" and cells[col["NumPy"]] == "3.90", cells
assert cells[col["arrjit / best"]] == "%.2f" % (1.0 / 2.0), cells
assert "2 rounds" in sec and "triad 30.0 / 33.0 GB/s" in sec, sec
assert sec.count("numexpr skipped") == 1, "one note per skip, not per round"
# compile times are the first round's, as the stats line is
assert "norm 6.00 ms (2 kernels), axpy2 3.00 ms." in sec, sec
EOF2

# 8. bench/interleave.py against stub servers: each round asks for the
# stream references, then each workload of one harness and then the other
# (rounds alternate which first); a name an anchor line already answered
# is not asked again; arrjit's FAIL is exit status 1; anchors.py dying
# costs only its answers.
cat >"$tmp/stub.py" <<'EOF3'
import json, os, sys
who = "aj" if sys.argv[1] == "aj" else "py"  # py: run as anchors.py
if "--list" in sys.argv:
    print("w1\nw2\nw3")
    sys.exit(0)
log = open(os.environ["STUB_LOG"], "a")
for cmd in sys.stdin:
    cmd = cmd.strip()
    log.write("%s %s\n" % (who, cmd)); log.flush()
    if who == "py" and cmd == os.environ.get("STUB_DIE"):
        sys.exit(3)
    out = []
    if who == "aj" and cmd == "stream":
        out.append({"kind": "stream", "name": "triad", "gbps": 1.0})
    elif who == "aj" and cmd == "stats":
        out.append({"kind": "stats", "kernels_compiled": 3})
    elif who == "aj":
        out.append({"kind": "workload", "name": cmd, "check":
                    "FAIL" if cmd == os.environ.get("STUB_FAIL") else "ok"})
    elif cmd == "w1":  # an anchor workload known by two names
        out += [{"kind": "anchor", "name": n, "system": "numpy"}
                for n in ("w1", "w2")]
    elif cmd == "w3":
        out.append({"kind": "anchor", "name": "w3", "system": "numpy"})
    for o in out + [{"kind": "done"}]:
        print(json.dumps(o), flush=True)
EOF3
printf '#!/bin/sh\nexec %s %s aj "$@"\n' "$py" "$tmp/stub.py" >"$tmp/aj"
chmod +x "$tmp/aj"
interleave() { # exit status of interleave.py with the stubs
	STUB_LOG=$tmp/log "$py" "$src/bench/interleave.py" --bench "$tmp/aj" \
		--anchors "$tmp/stub.py" --python "$py" --rounds 2 \
		--arrjit-out "$tmp/ia" --anchors-out "$tmp/ip" -- --quick \
		2>"$tmp/stderr" || return $?
}
: >"$tmp/log"
interleave || fail "interleave.py exited $? with stubs: $(cat "$tmp/stderr")"
want="aj stream
aj w1
py w1
aj w2
aj w3
py w3
aj stream
py w1
aj w1
aj w2
py w3
aj w3
aj stats"
[ "$(cat "$tmp/log")" = "$want" ] || fail "check 8: order $(cat "$tmp/log")"
[ "$(grep -c '"kind": "stream"' "$tmp/ia")" = 2 ] || fail "check 8: streams"
[ "$(grep -c '"kind": "anchor"' "$tmp/ip")" = 6 ] || fail "check 8: anchors"
: >"$tmp/log"
rc=0; STUB_FAIL=w2 interleave || rc=$?
[ $rc = 1 ] || fail "check 8: a FAIL line gave exit status $rc, not 1"
: >"$tmp/log"
rc=0; STUB_DIE=w3 interleave || rc=$?
[ $rc = 0 ] || fail "check 8: anchors.py dying gave exit status $rc"
[ "$(grep -c '^aj w' "$tmp/log")" = 6 ] || fail "check 8: arrjit stopped with anchors.py"
[ "$(grep -c '"kind": "anchor"' "$tmp/ip")" = 2 ] || fail "check 8: anchors' lines before dying"

echo "report_tool: ok"
