#!/usr/bin/python3
"""
Writes arrjit's conformance cases: inputs and NumPy's results.

    /usr/bin/python3 tests/conformance/gen.py --out DIR

DIR receives cases.tsv (one case a line, see README.md) and the .npy files
it names. tests/test_conformance.c replays each case through arrjit and
compares. NumPy is the reference: Debian's 1.24 with the NEP 50 ("weak")
promotion state, which is what NumPy 2 does by default.

Everything is table-driven:
  DTYPES    every dtype arrjit's header declares, by kind
  ROLES     value generators (specials first, then seeded random values)
  OPS       op name -> NumPy function, expression template, dtypes,
            the role of each operand, check
  LAYOUTS   how each operand is made: base shape, views, order
  COMPOUND  a few fused expressions
SUPPORTED_DTYPES and SUPPORTED_OPS say what arrjit implements today; only
those cases are written. Adding an op is one OPS row, then one word in
SUPPORTED_OPS when arrjit has it. KNOWN_DEVIATIONS leaves out cases where
arrjit deliberately differs from NumPy.

Deterministic: each input array is seeded from a CRC of its key (layout,
dtype, role, shape, operand slot), so the data do not depend on which
other cases exist. Cases with the same key share the input file.
"""
import argparse
import math
import os
import re
import sys
import zlib

try:
    import numpy as np
except ImportError:
    sys.exit("gen.py: NumPy is missing "
             "(Debian: apt-get install python3-numpy)")

# What arrjit implements today. Everything else in the tables waits here.
SUPPORTED_DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8",
                    "uint16", "uint32", "uint64", "float32", "float64",
                    "complex64", "complex128"}
SUPPORTED_OPS = {
    "sum", "prod", "min", "max", "mean", "any", "all",
    "add", "subtract", "multiply", "true_divide", "power", "negative",
    "absolute", "sqrt", "exp", "log", "sin", "cos", "tanh", "minimum",
    "maximum", "equal", "not_equal", "less", "less_equal", "greater",
    "greater_equal", "where", "astype",
    "floor_divide", "remainder", "fmod", "left_shift", "right_shift",
    "bitwise_and", "bitwise_or", "bitwise_xor", "invert", "square",
    "reciprocal", "sign", "cbrt", "exp2", "expm1", "log2", "log10", "log1p",
    "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh",
    "arccosh", "arctanh", "floor", "ceil", "trunc", "rint", "fmin", "fmax",
    "arctan2", "hypot", "copysign", "nextafter", "isnan", "isinf",
    "isfinite", "signbit", "logical_not", "logical_and", "logical_or",
    "logical_xor", "clip", "real", "imag", "conjugate", "argmin", "argmax",
}

# The ULP bound of arrjit's SLEEF functions (arrjit.h, AJ_OP_TABLE) against
# the correctly rounded result: the check of their float results. Complex
# functions call the C library's functions, as NumPy does, and are checked
# within COMPLEX_ULP of NumPy per part; complex abs (and sign, which
# divides by it) is SLEEF's hypot where NumPy has its own.
FN_ULP = 1
COMPLEX_ULP = 4
CABS_ULP = 2

# NumPy's own error, in ULP against the correctly rounded result, for the
# functions it computes with its AVX-512 code or Intel's SVML (Debian's
# 1.24.2 on an AVX-512 host): NumPy's documented bound where it states one
# (float32 exp 2.52, log 3.83; SVML 4), else the maximum measured over 10^6
# random inputs against long double libm, plus 1. np.cos(0.5) is 2 ULP
# below the correctly rounded value, for instance. arrjit within FN_ULP of
# the truth may thus be FN_ULP + this from NumPy. gen.py --numpy-ulp adds
# these to the bounds; without it the checks are FN_ULP alone.
SVML_ULP = 4  # Intel SVML's documented bound: NumPy's other functions
NUMPY_ULP = {
    ("exp", "float32"): 3, ("log", "float32"): 4, ("sin", "float32"): 2,
    ("cos", "float32"): 2, ("tanh", "float32"): 2, ("power", "float32"): 2,
    ("exp", "float64"): 3, ("log", "float64"): 2, ("sin", "float64"): 4,
    ("cos", "float64"): 4, ("tanh", "float64"): 2, ("power", "float64"): 2,
}

# ---- dtypes ----------------------------------------------------------------

DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16",
          "uint32", "uint64", "float32", "float64", "complex64",
          "complex128"]
INTS = [t for t in DTYPES if np.dtype(t).kind in "iu"]
REALS = [t for t in DTYPES if np.dtype(t).kind != "c"]

# ---- values ----------------------------------------------------------------
#
# A role says what values an operand needs: its specials (for every dtype:
# 0, -0.0, +-1, +-inf, NaN, subnormals, extremes, integer min and max and
# their neighbours; a role adds its own, like exp's overflow thresholds) and
# the range of its random values. values() shuffles all the specials in
# among random values; the "outer" layout crosses the specials alone.


def float_specials(t):
    fi = np.finfo(t)
    return [0.0, -0.0, 1.0, -1.0, math.inf, -math.inf, math.nan,
            float(fi.smallest_subnormal), -float(fi.smallest_subnormal),
            float(fi.tiny), -float(fi.tiny), float(fi.max), -float(fi.max),
            0.5, -2.5, 3.0, 1e10, -7e-5]


def int_specials(t):
    ii = np.iinfo(t)
    small = [0, 1, -1, 2, -2, 7, -7, 100] if ii.min < 0 else [0, 1, 2, 7, 100]
    return small + [ii.min, ii.min + 1, ii.max, ii.max - 1, ii.max // 2 + 1]


def specials(role, t):
    """The special values of role for dtype t, as a list."""
    kind = np.dtype(t).kind
    if kind == "b":
        return [False, True]
    if kind == "c":
        part = np.dtype(t).type(0).real.dtype.name
        fs = ROLES[role][0](part)
        # pair every special with a neighbour so both parts see each value
        # (small imaginary parts for "pos", none for "prod": see ROLES)
        scale = {"pos": 1e-2, "prod": 0}.get(role, 1)
        return [complex(fs[i], scale * fs[(i + 5) % len(fs)])
                for i in range(len(fs))]
    if kind == "f":
        return ROLES[role][0](t)
    return ROLES[role][1](t)


def log_uniform(rng, n, lo, hi, signed=True):
    mag = 10.0 ** rng.uniform(lo, hi, n)
    return mag * (rng.choice([-1.0, 1.0], n) if signed else 1.0)


def float_random(t, rng, n, role):
    big = 30 if t == "float32" else 300
    half = n // 2
    if role == "exp":
        lim = 110.0 if t == "float32" else 760.0
        return np.concatenate([rng.uniform(-lim, lim, half),
                               rng.uniform(-5, 5, n - half)])
    if role == "log" or role == "sqrt":
        return np.concatenate([log_uniform(rng, half, -big, big, False),
                               1.0 + rng.uniform(-1e-3, 1e-3, n - half)])
    if role == "trig":
        k = min(4, n)
        return np.concatenate([rng.uniform(-10, 10, n - k),
                               [1e4, -3e5, 1e6, 12345.678][:k]])
    if role == "tanh":
        return rng.uniform(-20, 20, n)
    if role == "unit":
        return rng.uniform(-1.1, 1.1, n)
    if role in ("pos", "prod"):
        return rng.uniform(0.5, 2.0, n)
    if role in ("base", "exponent"):
        return np.concatenate([rng.uniform(-4, 4, half),
                               rng.integers(-6, 7, n - half) / 2.0])
    return np.concatenate([rng.uniform(-8, 8, half),
                           log_uniform(rng, n - half, -big, big)])


def int_random(t, rng, n, role):
    ii = np.iinfo(t)
    bits = ii.bits
    if role == "exponent":
        return rng.integers(0, bits + 3, n)
    if role == "shift":
        return rng.integers(0, bits + 3, n)
    if role == "base":
        return rng.integers(max(ii.min, -5), 6, n)
    if role == "pos":
        return rng.integers(0, min(ii.max, 100), n, endpoint=True)
    half = n // 2
    return np.concatenate([
        rng.integers(max(ii.min, -100), 101, half),
        rng.integers(ii.min, ii.max, n - half, dtype=t, endpoint=True)])


def int_exponent_specials(t):
    bits = np.iinfo(t).bits
    return [0, 1, 2, 3, bits - 1, bits, bits + 1, 100]


def int_shift_specials(t):
    bits = np.iinfo(t).bits
    s = [0, 1, bits - 1, bits, bits + 1, 2 * bits, 127]
    return s + ([-1, -bits, np.iinfo(t).min] if np.iinfo(t).min < 0 else [])


def with_extra(extra):
    return lambda t: float_specials(t) + extra(t)


# role -> (float specials, int specials)
ROLES = {
    "any": (float_specials, int_specials),
    "exp": (with_extra(lambda t: [88.72, -103.9, 709.78, -745.1, 1e-8]),
            int_specials),
    "log": (with_extra(lambda t: [2.0, 0.999999, 1.000001, 1e-300]),
            int_specials),
    "sqrt": (with_extra(lambda t: [2.0, 4.0, 1e-300, 1e300]), int_specials),
    "trig": (with_extra(lambda t: [math.pi, -math.pi / 2, 1e22, 1e300]),
             int_specials),
    "tanh": (with_extra(lambda t: [0.55, -19.0, 1e-9, 22.0]), int_specials),
    "unit": (with_extra(lambda t: [0.5, -0.5, 0.999999, 1e-9]), int_specials),
    # positive floats: sums and products without cancellation, so that the
    # summation order (arrjit's pairwise blocks vs NumPy's) barely matters
    "pos": (lambda t: [0.5, 1.0, 1.5, 2.0], lambda t: [0, 1, 2, 3]),
    # products of many complex numbers turn their phase, and a part that
    # passes near zero has no ULP bound: complex products get real values
    # (the complex multiply itself is checked exactly, op by op)
    "prod": (lambda t: [0.5, 1.0, 1.5, 2.0], lambda t: [0, 1, 2, 3]),
    "base": (float_specials, int_specials),
    "exponent": (with_extra(lambda t: [2.0, -2.0, 0.5, -0.5, 1 / 3]),
                 int_exponent_specials),
    "shift": (float_specials, int_shift_specials),
}


def values(role, t, rng, n):
    """n values of dtype t for role, shuffled: all the specials and random
    values, or a random choice of the specials if n is smaller."""
    sp = specials(role, t)
    kind = np.dtype(t).kind
    if n <= len(sp):
        return np.array(sp, dtype=t)[rng.permutation(len(sp))[:n]]
    nrand = n - len(sp)
    head = np.array(sp, dtype=t)
    if kind == "b":
        rand = rng.integers(0, 2, nrand).astype(bool)
    elif kind == "f":
        rand = float_random(t, rng, nrand, role)
    elif kind == "c":
        part = "float32" if t == "complex64" else "float64"
        im = float_random(part, rng, nrand, role)
        im = im * {"pos": 1e-2, "prod": 0}.get(role, 1)  # see ROLES
        rand = float_random(part, rng, nrand, role) + 1j * im
    else:
        rand = int_random(t, rng, nrand, role)
    return rng.permutation(np.concatenate([head, np.asarray(rand).astype(t)]))


# ---- ops -------------------------------------------------------------------


class Op:
    """One row of OPS.

    fn       NumPy callable on the operands
    expr     arrjit text; {0} {1} {2} are the operand names
    dtypes   dtypes it takes (each operand alike; promotion cases mix them)
    roles    value role of each operand
    ulp      {result kind: bound}; kinds absent are exact
    """

    def __init__(self, name, fn, expr, dtypes, roles, ulp=None):
        self.name = name
        self.fn = fn
        self.expr = expr
        self.dtypes = dtypes
        self.roles = roles
        self.ulp = ulp or {}
        self.nin = len(roles)


def parts(x, t):
    """The real and imaginary parts of x as arrays of complex dtype t's
    component float."""
    z = np.asarray(x, dtype=t)
    return z.real.copy(), z.imag.copy()


def cx_formula(f):
    """NumPy's complex loop f(x, y) evaluated part by part with float ufuncs.
    NumPy's contiguous AVX-512 loops round each product (arrjit likewise);
    its strided C loops let the compiler fuse them into FMAs, which moves
    results with cancellation by many ULP. The formula is the one
    reference both can be held to exactly."""
    def run(*xs):
        t = np.result_type(*xs)
        if t.kind != "c":
            return None
        return f(*[parts(x, t) for x in xs]).astype(t)
    return run


def cx(re, im):
    """The complex array with these parts (re + 1j * im would turn an
    infinite part into NaN and lose the sign of zeros)."""
    re, im = np.broadcast_arrays(re, im)
    z = np.empty(re.shape, dtype=np.result_type(re.dtype, np.complex64))
    z.real = re
    z.imag = im
    return z


def cmul_parts(a, b):
    (ar, ai), (br, bi) = a, b
    return cx(ar * br - ai * bi, ar * bi + ai * br)


def cdiv_parts(a, b):
    """Smith's division as NumPy's complex divide."""
    (ar, ai), (br, bi) = a, b
    abr, abi = np.abs(br), np.abs(bi)
    rat1 = bi / br
    scl1 = 1 / (br + bi * rat1)
    rat2 = br / bi
    scl2 = 1 / (bi + br * rat2)
    big = abr >= abi
    zero = (abr == 0) & (abi == 0)
    re = np.where(big, np.where(zero, ar / abr, (ar + ai * rat1) * scl1),
                  (ar * rat2 + ai) * scl2)
    im = np.where(big, np.where(zero, ai / abr, (ai - ar * rat1) * scl1),
                  (ai * rat2 - ar) * scl2)
    return cx(re, im)


def crecip_parts(a):
    """NumPy's complex reciprocal."""
    zr, zi = a
    r1 = zi / zr
    d1 = zr + zi * r1
    r2 = zr / zi
    d2 = zr * r2 + zi
    small = np.abs(zi) <= np.abs(zr)
    return cx(np.where(small, 1 / d1, r2 / d2),
              np.where(small, -r1 / d1, -1 / d2))


def csign_parts(a):
    """NumPy 2's sign: z / |z| (NumPy 1.24 has the sign of the real part;
    arrjit follows NumPy 2)."""
    zr, zi = a
    m = np.hypot(zr, zi)
    one = np.ones_like(zr)
    re = np.where(m == 0, 0, zr / m)
    im = np.where(m == 0, 0, zi / m)
    inf = np.isinf(m)
    rinf, iinf = np.isinf(zr), np.isinf(zi)
    re = np.where(inf, np.where(rinf, np.where(iinf, np.nan,
                                               np.copysign(one, zr)), 0), re)
    im = np.where(inf, np.where(rinf, np.where(iinf, np.nan, 0),
                                np.copysign(one, zi)), im)
    nan = np.isnan(m)
    return cx(np.where(nan, np.nan, re), np.where(nan, np.nan, im))


def with_complex(real_fn, formula):
    """real_fn, or formula where NumPy's result would be complex."""
    cx = cx_formula(formula)
    def run(*xs):
        r = cx(*xs)
        return real_fn(*xs) if r is None else r
    return run


def np_where(c, x, y):
    """np.where with NEP 50 weak scalars (NumPy 1.24 ignores the state)."""
    t = np.result_type(x, y)
    return np.where(c, np.asarray(x, dtype=t), np.asarray(y, dtype=t))


FN = {"f": FN_ULP, "c": COMPLEX_ULP}
# Float sums, means and products: NumPy and arrjit both sum pairwise, in
# differently shaped trees; on positive inputs that is a few ULP.
RED = {"f": 16, "c": 16}
# Products of up to 2709 factors in two orders: rounding errors random-walk
# further (about sqrt(n) ULP, 52 at n = 2709).
RED_PROD = {"f": 64, "c": 64}
CX = {"c": COMPLEX_ULP}

OPS = [
    Op("add", np.add, "{0} + {1}", DTYPES, ["any", "any"]),
    Op("subtract", np.subtract, "{0} - {1}", DTYPES, ["any", "any"]),
    Op("multiply", with_complex(np.multiply, cmul_parts), "{0} * {1}",
       DTYPES, ["any", "any"]),
    Op("true_divide", with_complex(np.true_divide, cdiv_parts), "{0} / {1}",
       DTYPES, ["any", "any"]),
    # the ** operator, whose scalar exponents NumPy special-cases (a ** -1
    # is reciprocal(a), a ** 0.5 sqrt(a)), as arrjit's ** does
    Op("power", lambda a, b: a ** b, "{0} ** {1}", DTYPES,
       ["base", "exponent"], FN),
    Op("minimum", np.minimum, "minimum({0}, {1})", DTYPES, ["any", "any"]),
    Op("maximum", np.maximum, "maximum({0}, {1})", DTYPES, ["any", "any"]),
    Op("equal", np.equal, "{0} == {1}", DTYPES, ["any", "any"]),
    Op("not_equal", np.not_equal, "{0} != {1}", DTYPES, ["any", "any"]),
    Op("less", np.less, "{0} < {1}", DTYPES, ["any", "any"]),
    Op("less_equal", np.less_equal, "{0} <= {1}", DTYPES, ["any", "any"]),
    Op("greater", np.greater, "{0} > {1}", DTYPES, ["any", "any"]),
    Op("greater_equal", np.greater_equal, "{0} >= {1}", DTYPES,
       ["any", "any"]),
    Op("negative", np.negative, "-{0}", DTYPES, ["any"]),
    Op("absolute", np.absolute, "abs({0})", DTYPES, ["any"]),
    Op("sqrt", np.sqrt, "sqrt({0})", DTYPES, ["sqrt"], CX),
    Op("exp", np.exp, "exp({0})", DTYPES, ["exp"], FN),
    Op("log", np.log, "log({0})", DTYPES, ["log"], FN),
    Op("sin", np.sin, "sin({0})", DTYPES, ["trig"], FN),
    Op("cos", np.cos, "cos({0})", DTYPES, ["trig"], FN),
    Op("tanh", np.tanh, "tanh({0})", DTYPES, ["tanh"], FN),
    Op("where", np_where, "where({0}, {1}, {2})", DTYPES,
       ["any", "any", "any"]),
    # Waiting for arrjit: integer and bitwise ops.
    Op("floor_divide", np.floor_divide, "{0} // {1}", DTYPES, ["any", "any"]),
    Op("remainder", np.remainder, "{0} % {1}", DTYPES, ["any", "any"]),
    Op("left_shift", np.left_shift, "{0} << {1}", INTS + ["bool"],
       ["any", "shift"]),
    Op("right_shift", np.right_shift, "{0} >> {1}", INTS + ["bool"],
       ["any", "shift"]),
    Op("bitwise_and", np.bitwise_and, "{0} & {1}", INTS + ["bool"],
       ["any", "any"]),
    Op("bitwise_or", np.bitwise_or, "{0} | {1}", INTS + ["bool"],
       ["any", "any"]),
    Op("bitwise_xor", np.bitwise_xor, "{0} ^ {1}", INTS + ["bool"],
       ["any", "any"]),
    Op("invert", np.invert, "~{0}", INTS + ["bool"], ["any"]),
    Op("fmod", np.fmod, "fmod({0}, {1})", DTYPES, ["any", "any"]),
    Op("square", with_complex(np.square, lambda a: cmul_parts(a, a)),
       "square({0})", DTYPES, ["any"]),
    Op("reciprocal", with_complex(np.reciprocal, crecip_parts),
       "reciprocal({0})", DTYPES, ["any"]),
    Op("sign", with_complex(np.sign, csign_parts), "sign({0})", DTYPES,
       ["any"]),
    Op("real", np.real, "real({0})", DTYPES, ["any"]),
    Op("imag", np.imag, "imag({0})", DTYPES, ["any"]),
    Op("conjugate", np.conjugate, "conj({0})", DTYPES, ["any"]),
    Op("cbrt", np.cbrt, "cbrt({0})", DTYPES, ["any"], FN),
    Op("exp2", np.exp2, "exp2({0})", DTYPES, ["exp"], FN),
    Op("expm1", np.expm1, "expm1({0})", DTYPES, ["exp"], FN),
    Op("log2", np.log2, "log2({0})", DTYPES, ["log"], FN),
    Op("log10", np.log10, "log10({0})", DTYPES, ["log"], FN),
    Op("log1p", np.log1p, "log1p({0})", DTYPES, ["log"], FN),
    Op("tan", np.tan, "tan({0})", DTYPES, ["trig"], FN),
    Op("arcsin", np.arcsin, "arcsin({0})", DTYPES, ["unit"], FN),
    Op("arccos", np.arccos, "arccos({0})", DTYPES, ["unit"], FN),
    Op("arctan", np.arctan, "arctan({0})", DTYPES, ["any"], FN),
    Op("sinh", np.sinh, "sinh({0})", DTYPES, ["exp"], FN),
    Op("cosh", np.cosh, "cosh({0})", DTYPES, ["exp"], FN),
    Op("arcsinh", np.arcsinh, "arcsinh({0})", DTYPES, ["any"], FN),
    Op("arccosh", np.arccosh, "arccosh({0})", DTYPES, ["log"], FN),
    Op("arctanh", np.arctanh, "arctanh({0})", DTYPES, ["unit"], FN),
    Op("floor", np.floor, "floor({0})", DTYPES, ["any"]),
    Op("ceil", np.ceil, "ceil({0})", DTYPES, ["any"]),
    Op("trunc", np.trunc, "trunc({0})", DTYPES, ["any"]),
    Op("rint", np.rint, "rint({0})", DTYPES, ["any"]),
    Op("fmin", np.fmin, "fmin({0}, {1})", DTYPES, ["any", "any"]),
    Op("fmax", np.fmax, "fmax({0}, {1})", DTYPES, ["any", "any"]),
    Op("arctan2", np.arctan2, "arctan2({0}, {1})", DTYPES, ["any", "any"], FN),
    Op("hypot", np.hypot, "hypot({0}, {1})", DTYPES, ["any", "any"], FN),
    Op("copysign", np.copysign, "copysign({0}, {1})", DTYPES, ["any", "any"]),
    Op("nextafter", np.nextafter, "nextafter({0}, {1})", DTYPES,
       ["any", "any"]),
    Op("isnan", np.isnan, "isnan({0})", DTYPES, ["any"]),
    Op("isinf", np.isinf, "isinf({0})", DTYPES, ["any"]),
    Op("isfinite", np.isfinite, "isfinite({0})", DTYPES, ["any"]),
    Op("signbit", np.signbit, "signbit({0})", DTYPES, ["any"]),
    Op("logical_not", np.logical_not, "logical_not({0})", DTYPES, ["any"]),
    Op("logical_and", np.logical_and, "logical_and({0}, {1})", DTYPES,
       ["any", "any"]),
    Op("logical_or", np.logical_or, "logical_or({0}, {1})", DTYPES,
       ["any", "any"]),
    Op("logical_xor", np.logical_xor, "logical_xor({0}, {1})", DTYPES,
       ["any", "any"]),
    # the ufunc: np.clip also takes 0-d NaN bounds as "no bound"
    # (deprecated in 1.17)
    Op("clip", np.core.umath.clip, "clip({0}, {1}, {2})", DTYPES,
       ["any", "any", "any"]),
    # reductions over every axis; emit_reductions() adds axis variants
    Op("sum", np.sum, "sum({0})", DTYPES, ["pos"], RED),
    Op("prod", np.prod, "prod({0})", DTYPES, ["prod"], RED_PROD),
    Op("min", np.min, "min({0})", DTYPES, ["any"]),
    Op("max", np.max, "max({0})", DTYPES, ["any"]),
    Op("mean", np.mean, "mean({0})", DTYPES, ["pos"], RED),
    Op("any", np.any, "any({0})", DTYPES, ["any"]),
    Op("all", np.all, "all({0})", DTYPES, ["any"]),
    Op("argmin", np.argmin, "argmin({0})", DTYPES, ["any"]),
    Op("argmax", np.argmax, "argmax({0})", DTYPES, ["any"]),
]
OP_BY_NAME = {op.name: op for op in OPS}

# Operand names in expressions: where(c, x, y), else a, b.
WHERE_ARGS = ("c", "x", "y")
ARGS = ("a", "b", "c")


def arg_names(op):
    return WHERE_ARGS if op.name == "where" else ARGS[:op.nin]


# ---- known deviations ------------------------------------------------------
#
# Cases where arrjit deliberately differs from NumPy are not written. Each
# predicate gets the op name, the operand dtypes (None for a weak scalar),
# the operands' scalar values (None for an array) and the dtype NumPy gives.


def dev_bool_math(op, dts, scalars, res):
    # NumPy: math on bool is float16; arrjit gives float32.
    return res == np.float16


def dev_cmp_int_out_of_range(op, dts, scalars, res):
    # NumPy 1.24 raises for int32 < 2**40 but not for ==; NumPy 2 answers
    # both. arrjit rejects the scalar.
    return op in CMPS and any(not int_fits(s, d) for s in scalars
                              for d in dts)


def int_fits(s, t):
    """Whether s, if a Python int, fits integer dtype t (True otherwise)."""
    if type(s) is not int or np.dtype(t).kind not in "iu":
        return True
    return np.iinfo(t).min <= s <= np.iinfo(t).max


CMPS = {"equal", "not_equal", "less", "less_equal", "greater",
        "greater_equal"}
def dev_clip_scalars(op, dts, scalars, res):
    # NumPy 1.24's clip converts Python scalars by the legacy rules (int8
    # clipped by 0 gives int64) and takes a NaN bound for "no bound"
    # (deprecated); arrjit follows NEP 50 and _NPY_CLIP as for arrays.
    return op == "clip" and any(s is not None for s in scalars)


KNOWN_DEVIATIONS = [dev_clip_scalars, dev_bool_math,
                    dev_cmp_int_out_of_range]

# ---- layouts ---------------------------------------------------------------
#
# A layout gives, for operand i of an n-operand op, an Operand: the base
# array's shape, the views the driver applies (joined with |), whether the
# file is written in Fortran order, and whether the data are the role's
# specials alone. Views: T, a slice list, bcast:AxB (see README.md).


class Operand:
    def __init__(self, shape, view="", fortran=False, special=False):
        self.shape = shape
        self.view = view
        self.fortran = fortran
        self.special = special


def outer(i, n, k):
    """Every special of each operand against every special of the others."""
    shapes = [[(k,)], [(k, 1), (k,)], [(k, 1, 1), (k, 1), (k,)]][n - 1]
    return Operand(shapes[i], special=True)


LAYOUTS = {
    "contig": lambda i, n, k: Operand((37,)),
    "strided": lambda i, n, k: Operand((74,), "1::2" if i == 1 else "::2"),
    "negstride": lambda i, n, k: Operand((37,), "::-1"),
    "transposed": lambda i, n, k: (Operand((7, 5)) if i == 1
                                   else Operand((5, 7), "T")),
    "fortran": lambda i, n, k: Operand((5, 7), fortran=(i != 1)),
    "chain": lambda i, n, k: (Operand((3, 7)) if i == 1
                              else Operand((8, 6), "T|::-2,1:")),
    "outer": outer,
    "bcastview": lambda i, n, k: (Operand((7,), "bcast:5x7") if i == 0
                                  else Operand((5, 7))),
    "zero": lambda i, n, k: Operand((0,)),
    "zero2d": lambda i, n, k: Operand([(3, 0), (0,), (3, 1)][i]),
    "0d": lambda i, n, k: Operand(()),
    "0d_mix": lambda i, n, k: Operand(() if i == 0 else (37,)),
    "long": lambda i, n, k: Operand((1031,)),
}

# Weak Python scalars, by kind; each meets every array dtype on either side
# of every binary op and of where's values. 2**40 overflows int32 (NumPy
# raises), 1e300 overflows float32 (inf).
SCALARS = {
    "int": [0, -1, 3, 2**40],
    "float": [-0.0, 2.5, math.inf, math.nan, 1e300],
    "bool": [True],
    "complex": [1j, complex(-2.5, 0.5), complex(math.inf, 0)],
}

# Fused expressions: (name, text, dtypes, the op whose bound applies or None
# for exact). a*b+c must not become an FMA.
COMPOUND = [
    ("muladd", "a * b + c", ["float32", "float64", "int32", "int64"], None),
    ("mulsub", "a * b - c", ["float32", "float64"], None),
    ("diffsq", "(a + b) * (a - b)", ["float32", "float64", "int64"], None),
    ("hypot", "sqrt(a * a + b * b)", ["float32", "float64"], None),
    ("select", "where(a < b, a * 2, b / 2)", ["float32", "float64", "int32"],
     None),
    ("clip", "minimum(maximum(a, b), c)", ["float32", "float64", "int32"],
     None),
    ("castmix", "float32(a) * 3 + float64(b)", ["int32", "int64", "float64"],
     None),
    ("gauss", "exp(-(a * a) / 2)", ["float32", "float64"], "exp"),
    ("cxaxpy", "a * 2j + b", ["complex64", "complex128", "float32"], None),
    ("cxrot", "exp(a * 1j) + b", ["float32", "float64", "complex128"],
     "exp"),
]
COMPOUND_LAYOUTS = ["contig", "strided", "transposed", "outer", "0d_mix",
                    "long"]

# Every layout, operand pair and scalar for these; the other ops get a
# representative subset (the kernels differ by op, the layouts and
# promotions exercise shared machinery), which keeps the suite a few
# minutes long.
CORE_OPS = {"add", "subtract", "multiply", "true_divide", "power",
            "negative", "absolute", "sqrt", "exp", "minimum", "maximum",
            "equal", "less", "where", "floor_divide", "remainder",
            "left_shift", "right_shift", "bitwise_and"}
SHORT_LAYOUTS = ["contig", "transposed", "outer", "zero", "0d"]
SHORT_SCALARS = [-1, 2.5, math.nan, complex(0.5, -2)]

# ---- writing cases ---------------------------------------------------------


def view(a, spec):
    """Applies one view step, as tests/test_conformance.c does."""
    if spec == "T":
        return a.T
    if spec.startswith("bcast:"):
        shape = tuple(int(d) for d in spec[6:].split("x"))
        return np.broadcast_to(a, shape)
    sl = []
    for part in spec.split(","):
        f = [int(x) if x else None for x in part.split(":")]
        sl.append(slice(*f))
    return a[tuple(sl)]


def scalar_token(v):
    if isinstance(v, complex):
        return "scalar:complex:%r:%r" % (v.real, v.imag)
    if isinstance(v, bool):
        return "scalar:bool:%d" % v
    if isinstance(v, int):
        return "scalar:int:%d" % v
    return "scalar:float:%r" % v


def scalar_label(v):
    s = scalar_token(v).split(":", 1)[1].replace(":", "")
    return s.replace("-", "m").replace("+", "p").replace(".", "_")


class Input:
    """An array operand: its file, the base array in it, the view spec."""

    def __init__(self, fname, base, spec):
        self.fname = fname
        self.base = base
        self.spec = spec

    def token(self):
        return self.fname + ("|" + self.spec if self.spec else "")

    def value(self):
        a = self.base
        for step in self.spec.split("|") if self.spec else []:
            a = view(a, step)
        return a


class Writer:
    """Writes files into out and collects the manifest's lines. Input
    arrays are shared: one file per (layout, dtype, role, operand slot),
    seeded from that key, so 3000 cases need a few hundred input files."""

    def __init__(self, out, numpy_ulp):
        self.out = out
        self.numpy_ulp = numpy_ulp
        self.lines = []
        self.names = set()
        self.inputs = {}
        self.nbytes = 0
        self.kinds = {}

    def save(self, fname, a):
        path = os.path.join(self.out, fname)
        with open(path, "wb") as f:
            np.save(f, a)
        self.nbytes += os.path.getsize(path)

    def operand(self, layout, i, n, role, t):
        """Operand i of an n-operand expression under layout."""
        od = (RED_LAYOUTS.get(layout) or LAYOUTS[layout])(
            i, n, len(specials(role, t)))
        key = "in.%s.%s.%s.%s.%d" % (layout, t, role,
                                     "x".join(map(str, od.shape)) or "0d",
                                     i)
        if key in self.inputs:
            return self.inputs[key]
        size = int(np.prod(od.shape))
        if od.special:
            vals = np.array(specials(role, t), dtype=t)[:size]
        else:
            rng = np.random.default_rng(zlib.crc32(key.encode()))
            vals = values(role, t, rng, size)
        base = vals.reshape(od.shape)
        if od.fortran:
            base = np.asfortranarray(base)
        fname = key + ".npy"
        self.save(fname, base)
        self.inputs[key] = Input(fname, base, od.view)
        return self.inputs[key]

    def bound(self, opname, res, cin=False):
        """The ULP bound for results res of op opname (cin: of complex
        operands); 0: exact."""
        if opname is None:
            return 0
        if cin and opname in ("absolute", "sign"):
            return CABS_ULP + (opname == "sign")
        u = OP_BY_NAME[opname].ulp.get(res.kind, 0)
        if u and self.numpy_ulp:
            u += NUMPY_ULP.get((opname, res.name), SVML_ULP)
        return u

    def case(self, name, expr, inputs, fn, opname):
        """inputs: (argname, Input or Python scalar). Runs NumPy and writes
        the case; an error case if NumPy refuses. The check is opname's
        bound (see bound()); None means exact."""
        assert name not in self.names, name
        assert not any(c in name for c in "\t;|=/ "), name
        self.names.add(name)
        toks, args = [], []
        for argname, v in inputs:
            if isinstance(v, Input):
                toks.append("%s=%s" % (argname, v.token()))
                args.append(v.value())
            else:
                toks.append("%s=%s" % (argname, scalar_token(v)))
                args.append(v)
        try:
            res = np.asarray(fn(*args))
        except (TypeError, ValueError, OverflowError) as e:
            if "broadcast" in str(e):
                raise  # a layout that does not fit is a bug here
            res = None
        if res is None:
            check, expected = "error", "-"
        else:
            expected = name + ".expected.npy"
            self.save(expected, res.copy(order="C"))  # keeps 0-d
            cin = any(np.asarray(a).dtype.kind == "c" for a in args)
            u = self.bound(opname, res.dtype, cin)
            check = "ulp:%d" % u if u else "exact"
            if check == "exact" and res.dtype.kind == "c" and opname in (
                    "min", "max"):
                check = "nanexact"  # which NaN wins depends on the order
        kind = check.split(":")[0]
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
        self.lines.append("\t".join([name, expr, check, ";".join(toks),
                                     expected]))


def probe(a):
    """An operand of the same type as a (dtype name or Python scalar) whose
    value makes no op raise: result dtypes do not depend on values."""
    if isinstance(a, str):
        return np.ones(1, dtype=a)
    return type(a)(1)


def result_dtype(op, args):
    """NumPy's result dtype for op on operands of these types (dtype
    names or Python scalars), or None if the types are refused."""
    try:
        return np.asarray(op.fn(*[probe(a) for a in args])).dtype
    except TypeError:
        return None


def wanted(op, dts, scalars):
    """Whether to write op on these operands: arrjit has the op and the
    dtypes, and no known deviation applies. dts[i] is None where operand
    i is the weak scalar scalars[i]."""
    if op.name not in SUPPORTED_OPS:
        return False
    if not all(d is None or d in SUPPORTED_DTYPES for d in dts):
        return False
    res = result_dtype(op, [d if d is not None else s
                            for d, s in zip(dts, scalars)])
    return res is None or not any(
        dev(op.name, [d for d in dts if d], scalars, res)
        for dev in KNOWN_DEVIATIONS)


def emit_case(w, op, dts, label, layout):
    """op on arrays of dtypes dts under layout."""
    names = arg_names(op)
    ins = [(names[i], w.operand(layout, i, op.nin, op.roles[i], dts[i]))
           for i in range(op.nin)]
    w.case("%s.%s.%s" % (op.name, label, layout), op.expr.format(*names),
           ins, op.fn, op.name)


def emit_same(w):
    """Every op x every dtype it takes x every layout; where's condition
    is bool, its values of that dtype."""
    for op in OPS:
        for t in op.dtypes:
            dts = ["bool", t, t] if op.name == "where" else [t] * op.nin
            if not wanted(op, dts, [None] * op.nin):
                continue
            layouts = LAYOUTS if op.name in CORE_OPS else SHORT_LAYOUTS
            for layout in layouts:
                if layout != "0d_mix" or op.nin > 1:
                    emit_case(w, op, dts, t, layout)


def emit_promotion(w):
    """Binary ops and where on two different dtypes (all operand pairs,
    specials crossed); where on a condition that is not bool."""
    for op in OPS:
        if op.nin == 1:
            continue
        for t in op.dtypes:
            for u in op.dtypes:
                dts = [t, u] if op.nin == 2 else ["bool", t, u]
                if t == u or not wanted(op, dts, [None] * op.nin):
                    continue
                core = op.name in CORE_OPS
                for layout in ("contig", "outer") if core else ("outer",):
                    emit_case(w, op, dts, "%s+%s" % (t, u), layout)
    op = OP_BY_NAME["where"]
    for t in op.dtypes:
        dts = [t, "float64", "float64"]
        if t != "bool" and wanted(op, dts, [None] * 3):
            emit_case(w, op, dts, "cond_" + t, "contig")


def emit_scalars(w):
    """Binary ops and where with a weak Python scalar on either side."""
    for op in OPS:
        if op.nin == 1:
            continue
        every = [v for vs in SCALARS.values() for v in vs]
        for t in op.dtypes:
            for v in every if op.name in CORE_OPS else SHORT_SCALARS:
                for side in (0, 1):
                    emit_scalar(w, op, t, v, side)


def emit_scalar(w, op, t, v, side):
    """op with array dtype t and the scalar v on the left (side 0) or
    right (side 1) of a binary op or of where's two values."""
    slot = side + (op.nin == 3)
    dts = [t] * op.nin
    if op.nin == 3:
        dts[0] = "bool"
        if not int_fits(v, t):
            return  # NumPy 1.24's where wraps such ints
    dts[slot] = None
    sc = [None] * op.nin
    sc[slot] = v
    if not wanted(op, dts, sc):
        return
    names = arg_names(op)
    ins = [(names[i], sc[i] if dts[i] is None else
            w.operand("contig", i, op.nin, op.roles[i], dts[i]))
           for i in range(op.nin)]
    label = "%s.%s%s" % (t, ("ls_", "rs_")[side], scalar_label(v))
    w.case("%s.%s" % (op.name, label), op.expr.format(*names), ins, op.fn,
           op.name)


def np_cast(t):
    return lambda a: np.asarray(a).astype(t)


def emit_casts(w):
    """astype from every dtype to every dtype (arrjit: float32(x) ...)."""
    if "astype" not in SUPPORTED_OPS:
        return
    for src in DTYPES:
        for dst in DTYPES:
            if not {src, dst} <= SUPPORTED_DTYPES:
                continue
            # Known deviation: NumPy's float -> uint32 of NaN and of values
            # out of range differs between its contiguous (SIMD) and
            # strided loops; arrjit gives the strided loops' result
            # everywhere (tests/test_ops.c checks that rule).
            if np.dtype(src).kind in "fc" and dst == "uint32":
                continue
            for layout in LAYOUTS:
                if layout == "0d_mix":
                    continue
                a = w.operand(layout, 0, 1, "any", src)
                w.case("astype.%s_to_%s.%s" % (src, dst, layout),
                       "%s(a)" % dst, [("a", a)], np_cast(dst), None)


# Axis variants of each reduction on 2-D and 3-D layouts (C order and
# transposed): (label, axis text, numpy axis, keepdims).
RED_LAYOUTS = {
    "r2": lambda i, n, k: Operand((5, 7)),
    "r2T": lambda i, n, k: Operand((7, 5), "T"),
    "r3": lambda i, n, k: Operand((3, 4, 5)),
    "r3T": lambda i, n, k: Operand((5, 4, 3), "T"),
    "r2long": lambda i, n, k: Operand((9, 301)),
}
RED_AXES = {
    2: [("ax0", "0", 0, False), ("ax1", "1", 1, False),
        ("axm1kd", "-1, keepdims=True", -1, True),
        ("ax01", "(0, 1)", (0, 1), False)],
    3: [("ax0", "0", 0, False), ("ax2", "2", 2, False),
        ("ax02", "(0, 2)", (0, 2), False),
        ("ax12kd", "(1, 2), keepdims=True", (1, 2), True)],
}
RED_DTYPES = ["bool", "int8", "int32", "uint16", "int64", "uint64",
              "float32", "float64", "complex64", "complex128"]


def emit_reductions(w):
    for name in ("sum", "prod", "min", "max", "mean", "any", "all", "argmin",
                 "argmax"):
        op = OP_BY_NAME[name]
        if name not in SUPPORTED_OPS:
            continue
        for t in RED_DTYPES:
            if t not in SUPPORTED_DTYPES:
                continue
            for layout in RED_LAYOUTS:
                a = w.operand(layout, 0, 1, op.roles[0], t)
                nd = len(a.value().shape)
                for label, text, ax, kd in RED_AXES[nd]:
                    fn = (lambda f, ax, kd: lambda x: f(x, axis=ax, keepdims=kd))(
                        op.fn, ax, kd)
                    w.case("%s.%s.%s.%s" % (name, t, layout, label),
                           "%s(a, axis=%s)" % (name, text), [("a", a)], fn,
                           name)


def emit_compound(w):
    for cname, expr, dtypes, opname in COMPOUND:
        fn = compound_fn(expr)
        used = [x for x in ARGS if re.search(r"\b%s\b" % x, expr)]
        for t in dtypes:
            if t not in SUPPORTED_DTYPES:
                continue
            for layout in COMPOUND_LAYOUTS:
                ins = [(x, w.operand(layout, i, 3, "any", t))
                       for i, x in enumerate(used)]
                w.case("compound_%s.%s.%s" % (cname, t, layout), expr, ins,
                       fn, opname)


def compound_fn(expr):
    """NumPy's evaluation of arrjit text: each call name is NumPy's."""
    env = {"sqrt": np.sqrt, "exp": np.exp, "where": np_where,
           "minimum": np.minimum, "maximum": np.maximum,
           "float32": np_cast("float32"), "float64": np_cast("float64")}
    code = compile(expr, expr, "eval")
    return lambda *xs: eval(code, dict(env), dict(zip(ARGS, xs)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="directory to write into")
    ap.add_argument("--numpy-ulp", action="store_true",
                    help="widen function bounds by NumPy's own error "
                    "(NUMPY_ULP)")
    opts = ap.parse_args()
    out = opts.out
    np._set_promotion_state("weak")
    os.makedirs(out, exist_ok=True)
    w = Writer(out, opts.numpy_ulp)
    with np.errstate(all="ignore"):
        emit_same(w)
        emit_promotion(w)
        emit_scalars(w)
        emit_casts(w)
        emit_compound(w)
        emit_reductions(w)
    tmp = os.path.join(out, "cases.tsv.tmp")
    with open(tmp, "w") as f:
        f.write("# name\texpr\tcheck\tinputs\texpected\n")
        f.write("\n".join(w.lines) + "\n")
    os.replace(tmp, os.path.join(out, "cases.tsv"))
    kinds = ", ".join("%s %d" % kv for kv in sorted(w.kinds.items()))
    print("gen.py: %d cases (%s); %d input files; %.1f MB in %s" %
          (len(w.lines), kinds, len(w.inputs), w.nbytes / 1e6, out))


if __name__ == "__main__":
    main()
