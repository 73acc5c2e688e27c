#!/usr/bin/python3
"""Worst ULP distance between arrjit and NumPy for each math function.

    /usr/bin/python3 tests/conformance/ulp_report.py build/bin/arrjit-eval

For every SLEEF-backed function and float dtype, 200k inputs over the
function's useful domain go through arrjit-eval and through NumPy (Debian's
1.24, which on AVX-512 hosts uses Intel's SVML for many float64 functions
and its own SIMD code for some float32 ones). Prints one line per function:
the worst distance from NumPy, and from the correctly rounded value (long
double NumPy) for reference. Then the complex functions: 200k complex
inputs each, the worst distance from NumPy of either part (NumPy has no
long double reference there). A measurement, not a test.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

N = 200_000
WIDE = (-300, 300)
DOMAINS = {
    "cbrt": ("signed_wide",), "exp": (-700, 709), "exp2": (-1020, 1023),
    "expm1": (-40, 709), "log": ("pos_wide",), "log2": ("pos_wide",),
    "log10": ("pos_wide",), "log1p": ("pos_wide",), "sin": (-1e4, 1e4),
    "cos": (-1e4, 1e4), "tan": (-1e4, 1e4), "arcsin": (-1, 1),
    "arccos": (-1, 1), "arctan": ("signed_wide",), "sinh": (-709, 709),
    "cosh": (-709, 709), "tanh": (-20, 20), "arcsinh": ("signed_wide",),
    "arccosh": ("pos_wide_ge1",), "arctanh": (-1, 1),
    "power": (0, 100), "arctan2": ("signed_wide",),
    "hypot": ("signed_wide",),
}
F32_LIMIT = {"exp": 87, "exp2": 126, "expm1": 87, "sinh": 88, "cosh": 88}


def inputs(name, dtype, rng):
    d = DOMAINS[name]
    if d[0] in ("signed_wide", "pos_wide", "pos_wide_ge1"):
        lo, hi = (-37, 37) if dtype == np.float32 else WIDE
        x = 10.0 ** rng.uniform(lo, hi, N)
        if d[0] == "signed_wide":
            x *= rng.choice([-1.0, 1.0], N)
        if d[0] == "pos_wide_ge1":
            x += 1
        return x.astype(dtype)
    lo, hi = d
    if dtype == np.float32 and name in F32_LIMIT:
        lo, hi = max(lo, -F32_LIMIT[name]), min(hi, F32_LIMIT[name])
    return rng.uniform(lo, hi, N).astype(dtype)


def ulp(a, b):
    """Integer ULP distance, NaN == NaN."""
    it = np.int32 if a.dtype == np.float32 else np.int64
    ia, ib = a.view(it).astype(np.int64), b.view(it).astype(np.int64)
    lo = np.iinfo(it).min
    ia = np.where(ia < 0, lo - ia, ia)
    ib = np.where(ib < 0, lo - ib, ib)
    d = np.abs(ia - ib).astype(np.float64)
    both_nan = np.isnan(a) & np.isnan(b)
    return np.where(both_nan, 0, d)


def evaluate(tool, tmp, expr, x, y):
    """arrjit-eval's value of expr over a = x, b = y."""
    paths = [os.path.join(tmp, f) for f in ("a.npy", "b.npy", "r.npy")]
    np.save(paths[0], x)
    np.save(paths[1], y)
    subprocess.run([tool, expr, "a=" + paths[0], "b=" + paths[1], "-o",
                    paths[2]], check=True)
    return np.load(paths[2])


COMPLEX = ["exp", "log", "sqrt", "sin", "cos", "tan", "arcsin", "arccos",
           "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh",
           "exp2", "expm1", "log2", "log10", "log1p", "reciprocal", "square",
           "absolute", "power", "multiply", "divide"]


def complex_inputs(dtype, rng):
    """Parts of mixed magnitude and sign, with some zeros."""
    def part():
        v = 10.0 ** rng.uniform(-4, 1.5, N) * rng.choice([-1.0, 1.0], N)
        v[rng.random(N) < 0.02] = 0.0
        return v
    return (part() + 1j * part()).astype(dtype)


def complex_report(tool, rng, tmp):
    print()
    print("%-10s %-10s %10s" % ("function", "dtype", "vs NumPy"))
    names = {"absolute": "abs", "multiply": "a * b", "divide": "a / b",
             "power": "a ** b"}
    for name in COMPLEX:
        for dtype in (np.complex128, np.complex64):
            x, y = complex_inputs(dtype, rng), complex_inputs(dtype, rng)
            if name == "power":
                y = (y / 10).astype(dtype)
            fn = names.get(name, name)
            got = evaluate(tool, tmp, fn if " " in fn else "%s(a)" % fn, x, y)
            f = getattr(np, name)
            want = f(x, y) if name in ("power", "multiply", "divide") else f(x)
            if np.iscomplexobj(want):
                d = np.maximum(ulp(got.real, want.real), ulp(got.imag, want.imag))
            else:
                d = ulp(got, want)
            print("%-10s %-10s %10d" % (name, np.dtype(dtype).name, d.max()))


def main():
    tool = sys.argv[1] if len(sys.argv) > 1 else "build/bin/arrjit-eval"
    rng = np.random.default_rng(7)
    tmp = tempfile.mkdtemp()
    print("%-8s %-8s %10s %12s" % ("function", "dtype", "vs NumPy",
                                     "vs exact"))
    with np.errstate(all="ignore"):
        for name in DOMAINS:
            for dtype in (np.float64, np.float32):
                x = inputs(name, dtype, rng)
                y = (inputs(name, dtype, rng) if name in
                     ("arctan2", "hypot") else
                     rng.uniform(-20, 20, N).astype(dtype))
                binary = name in ("power", "arctan2", "hypot")
                expr = "%s(a, b)" % name if binary else "%s(a)" % name
                got = evaluate(tool, tmp, expr, x, y)
                f = getattr(np, name)
                want = f(x, y) if binary else f(x)
                xl = x.astype(np.longdouble)
                yl = y.astype(np.longdouble)
                exact = (f(xl, yl) if binary else f(xl)).astype(dtype)
                print("%-8s %-8s %10d %12d" % (
                    name, np.dtype(dtype).name, ulp(got, want).max(),
                    ulp(got, exact).max()))
        complex_report(tool, rng, tmp)


if __name__ == "__main__":
    main()
