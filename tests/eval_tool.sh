#!/bin/sh
# arrjit-eval end to end against NumPy: inputs written by NumPy, outputs
# compared with NumPy's results; every error exits non-zero with a useful
# message and leaves no output file behind.
#
# usage: tests/eval_tool.sh path/to/arrjit-eval
set -eu

tool=${1:?usage: eval_tool.sh path/to/arrjit-eval}
py=/usr/bin/python3
if ! "$py" -c 'import numpy' 2>/dev/null; then
	echo "eval_tool: numpy is not available to $py, skipping"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

fail() {
	echo "eval_tool: FAIL: $*" >&2
	exit 1
}

# Runs the tool; fails unless it exits 0. stderr goes to err.
run() {
	"$tool" "$@" 2>err || fail "arrjit-eval $* exited $?: $(cat err)"
}

# Runs the tool expecting failure with exit status $1; stderr goes to err.
run_fail() {
	want=$1
	shift
	if "$tool" "$@" 2>err; then
		fail "arrjit-eval $* exited 0"
	else
		got=$?
	fi
	[ "$got" = "$want" ] || fail "arrjit-eval $* exited $got, not $want: $(cat err)"
}

expect_err() {
	grep -qF -- "$1" err || fail "stderr lacks '$1': $(cat err)"
}

no_file() {
	for f in "$@"; do
		[ ! -e "$f" ] || fail "$f exists after an error"
	done
	# nor any temporary the tool or the library left
	! ls -a | grep -q 'tmp' || fail "temporaries left: $(ls -a)"
}

# Python snippet with numpy as np, in this directory.
numpy() {
	"$py" -c "import numpy as np, sys
$1" || fail "numpy check failed: $1"
}

numpy '
rng = np.random.default_rng(7)
np.save("a.npy", rng.standard_normal((37, 11)))
np.save("b.npy", rng.standard_normal((37, 11)))
np.save("x.npy", np.arange(24, dtype=np.int64).reshape(4, 6))
'

# A norm, against np.linalg.norm.
run 'sqrt(sum(a**2))' a=a.npy -o r.npy
numpy '
a = np.load("a.npy"); r = np.load("r.npy")
assert r.shape == () and r.dtype == np.float64, (r.shape, r.dtype)
assert np.allclose(r, np.linalg.norm(a), rtol=1e-12, atol=0), (r, np.linalg.norm(a))
'

# Two outputs from one intermediate, one sync; --stats counts the work.
run --stats --threads 2 't = a*b; c = t + 1; d = t*2' a=a.npy b=b.npy \
	-o c=c.npy -o d=d.npy
numpy '
a, b = np.load("a.npy"), np.load("b.npy")
assert np.array_equal(np.load("c.npy"), a*b + 1)
assert np.array_equal(np.load("d.npy"), a*b*2)
'
# (exact counts belong to the fusion tests; here: reported, and non-zero)
grep -Eq 'kernels compiled [1-9][0-9]*, cache hits [0-9]+, kernels run [1-9][0-9]*, temporary bytes [0-9]+' err ||
	fail "--stats printed: $(cat err)"
expect_err "threads 2"
# c and d share one loop nest: one group, one kernel
expect_err "kernels run 1,"
expect_err "groups 1"

# Sliced and augmented assignments into an input, scalars from the command
# line (int and float), a reduction, and the last expression's value.
run 'x[1:, ::2] = -x[:-1, ::2]
x[0] += k
m = mean(x, axis=1)
m * s' x=x.npy k=100 s=0.5 -o x=x2.npy -o m=m.npy -o last.npy
numpy '
x = np.load("x.npy")
x[1:, ::2] = -x[:-1, ::2].copy()
x[0] += 100
got = np.load("x2.npy")
assert got.dtype == np.int64 and np.array_equal(got, x), (got, x)
assert np.array_equal(np.load("m.npy"), x.mean(axis=1))
assert np.array_equal(np.load("last.npy"), x.mean(axis=1) * 0.5)
'

# Random numbers: --seed makes them reproducible (decimal or hex); h =
# random() writes straight into h (one kernel, no temporaries), and so is
# a + 0.1*normal() one kernel.
numpy 'np.save("h.npy", np.zeros((300, 7)))'
run --stats --seed 12345 'h = random()' h=h.npy -o h=h1.npy
expect_err "kernels run 1,"
expect_err "temporary bytes 0,"
run --seed 12345 'h = random()' h=h.npy -o h=h2.npy
run --seed 0x3039 'h = random()' h=h.npy -o h=h3.npy
run --seed 1 'h = random()' h=h.npy -o h=h4.npy
run --stats --seed 1 'a + 0.1*normal()' a=a.npy -o n.npy
expect_err "kernels run 1,"
expect_err "temporary bytes 0,"
numpy '
h1, h2, h3, h4 = (np.load(f"h{i}.npy") for i in (1, 2, 3, 4))
assert h1.shape == (300, 7) and np.array_equal(h1, h2) and np.array_equal(h1, h3)
assert not np.array_equal(h1, h4)
assert h1.min() >= 0 and h1.max() < 1 and len(np.unique(h1)) == h1.size
a, n = np.load("a.npy"), np.load("n.npy")
d = (n - a) / 0.1
assert n.shape == a.shape and abs(d.mean()) < 0.3 and 0.7 < d.std() < 1.3, (d.mean(), d.std())
'
run_fail 2 'random()' --seed -1 -o r5.npy
expect_err "--seed"
no_file r5.npy

# Boolean mask selection and compress: their shapes depend on the data.
run 'a[a > 0] * 2' a=a.npy -o s1.npy
run 'compress(x[0] % 4 > 1, x, axis=1)' x=x.npy -o s2.npy
run 'b[(a > 0) & (b < 1)]' a=a.npy b=b.npy -o s3.npy
numpy '
a, b, x = np.load("a.npy"), np.load("b.npy"), np.load("x.npy")
assert np.array_equal(np.load("s1.npy"), a[a > 0] * 2)
assert np.array_equal(np.load("s2.npy"), np.compress(x[0] % 4 > 1, x, axis=1))
assert np.array_equal(np.load("s3.npy"), b[(a > 0) & (b < 1)])
'
run_fail 2 'a[x > 3]' a=a.npy x=x.npy -o s4.npy
expect_err "boolean index did not match"
no_file s4.npy

# Bad program text: exit 2, the line and column, a caret under it.
run_fail 2 't = a * 2
c = t +* 1' a=a.npy -o c=bad.npy
expect_err "line 2, column 8"
expect_err "c = t +* 1"
expect_err "       ^"
no_file bad.npy

# A missing input file is named.
run_fail 1 'a + 1' a=nosuch.npy -o r2.npy
expect_err "nosuch.npy"
no_file r2.npy

# An unwritable output: the first output is not written either.
run_fail 1 't = a + 1' a=a.npy -o t=ok.npy -o t=nodir/out.npy
expect_err "nodir/out.npy"
no_file ok.npy nodir

# A shape error at run time of the program, and usage errors.
run_fail 2 'a + x' a=a.npy x=x.npy -o r3.npy
expect_err "broadcast"
no_file r3.npy
run_fail 2 'a' a=a.npy
expect_err "no output"
run_fail 2 'a' a=a.npy --threads 0 -o r4.npy
expect_err "--threads"
run_fail 2 'a' a=seven -o r4.npy
expect_err "neither a .npy file nor a number"
run_fail 2 'c = a' a=a.npy -o r4.npy
expect_err "no expression statement"
run_fail 2 'c = a' a=a.npy -o q=r4.npy
expect_err "unknown name 'q'"
no_file r4.npy
run --help
"$tool" --help | grep -q "AJ_NUM_THREADS" || fail "--help lacks the thread default"

# Hostile .npy inputs: exit 1, the file and the fault named, no output.
numpy '
import io
b = io.BytesIO(); np.save(b, np.arange(6.0)); v = b.getvalue()
open("h_trunc.npy", "wb").write(v[:-7])
open("h_trunchdr.npy", "wb").write(v[:40])
open("h_empty.npy", "wb").write(b"")
open("h_magic.npy", "wb").write(b"\x93NUMPX" + v[6:])
open("h_corrupt.npy", "wb").write(v.replace(b"(6,)", b"(6,}"))
open("h_huge.npy", "wb").write(b"\x93NUMPY\x02\x00" + (0xfffffff0).to_bytes(4, "little") + b"{")
open("h_bigshape.npy", "wb").write(v.replace(b"(6,), }", b"(99999999999,), }"))
open("h_f2.npy", "wb").write(v.replace(b"<f8", b"<f2"))
'
for c in "h_trunc:header says 48 bytes of data, file has 41" \
	"h_trunchdr:preamble says 118 bytes of header, file has 30" \
	"h_empty:too short for the .npy preamble" \
	"h_magic:not a .npy file" "h_corrupt:bad header at byte" \
	"h_huge:over the limit of 1 MiB" \
	"h_bigshape:header says 799999999992 bytes of data" \
	"h_f2:unsupported descr '<f2'"; do
	f=${c%%:*}.npy
	run_fail 1 'a + 1' a="$f" -o r6.npy
	expect_err "$f: "
	expect_err "${c#*:}"
	no_file r6.npy
done
# a dtype the program cannot take: same_kind, at the statement
numpy 'np.save("i.npy", np.arange(6))'
run_fail 2 'i += 0.5' i=i.npy -o i=r6.npy
expect_err "cannot cast float64 to int64 output under same_kind"
no_file r6.npy
# an unknown name in the program
run_fail 2 'a + q' a=a.npy -o r6.npy
expect_err "line 1, column 5: unknown name 'q'"
no_file r6.npy

# LLVM's instcombine needed a second run on this kernel and, asked to
# verify one run reaches a fixpoint, ended the process (found by fuzz_parse).
numpy '
np.save("a43.npy", np.arange(12.0).reshape(4, 3))
np.save("i43.npy", (np.arange(12, dtype=np.int32) % 23 - 11).reshape(4, 3))
'
for isa in scalar host; do
	run --isa $isa 'a[i % i % 4]' a=a43.npy i=i43.npy -o r9.npy
	numpy '
a, i = np.load("a43.npy"), np.load("i43.npy")
with np.errstate(all="ignore"):
    assert np.array_equal(np.load("r9.npy"), a[i % i % 4])
'
done

# Thousands of terms compute; nesting past the limit is a parse error,
# not a stack overflow, however deep.
terms=$("$py" -c 'print("+".join(["a"] * 5000))')
run "$terms" a=a.npy -o r7.npy
numpy '
a = np.load("a.npy"); r = a
for _ in range(4999):
    r = r + a
assert np.array_equal(np.load("r7.npy"), r)
'
deep=$("$py" -c 'print("(" * 50000 + "a" + ")" * 50000)')
run_fail 2 "$deep" a=a.npy -o r8.npy
expect_err "nested too deeply (limit 256 levels)"
deep=$("$py" -c 'print("-" * 50000 + "a")')
run_fail 2 -o r8.npy -- "$deep" a=a.npy
expect_err "nested too deeply"
deep=$("$py" -c 'print("sqrt(" * 20000 + "a" + ")" * 20000)')
run_fail 2 "$deep" a=a.npy -o r8.npy
expect_err "nested too deeply"
no_file r8.npy

# An output path that is a directory: the temporary is written, the
# rename fails, and the temporary goes.
mkdir adir
run_fail 1 'a + 1' a=a.npy -o adir
expect_err "cannot rename"
[ -d adir ] && [ -z "$(ls -A adir)" ] || fail "adir changed"
no_file r8.npy
rmdir adir

echo "eval_tool: ok"
