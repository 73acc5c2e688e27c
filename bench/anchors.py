#!/usr/bin/python3
"""Python anchors for arrjit-bench: the same workloads, on the same sizes, in
NumPy, numexpr (1 thread and all threads) and Numba (@njit loops, serial and
parallel=True).

Run with Debian's /usr/bin/python3 (python3-numpy, python3-numexpr,
python3-numba). The workloads, sizes and the JSON lines printed on stdout are
those of /work/spec-bench.md (see bench/README.md, "Python anchors"):

    {"kind":"anchor","name":"axpy2","system":"numpy","unit":"ms",
     "median":4.2,"min":4.0,"max":4.9}
    {"kind":"skip","system":"numba","reason":"No module named 'numba'"}

Numba lines also carry "compile_ms": the first call's time less the
steady-state median, for a dispatcher made afresh for that workload.
A missing package gives one skip line and leaves its systems out; it never
makes the exit status non-zero. Exit status 1: some system's result
disagreed with NumPy's (that line is left out, and said on stderr); 2: a bad
command line. Progress goes to stderr.
"""

import argparse
import json
import math
import os
import sys
import time

# name -> (full n, quick n); order is the report's row order (the spec's).
SIZES = [
    ("seed", 1000000, 200000),
    ("inplace_add1", 1000000, 1000000),
    ("scale", 10000000, 2000000),
    ("scale_inplace", 10000000, 2000000),
    ("axpy2", 10000000, 2000000),
    ("mix5", 10000000, 2000000),
    ("norm", 100000000, 10000000),
    ("exp_mix", 10000000, 1000000),
    ("exp_mix_f32", 10000000, 1000000),
    ("tanh", 10000000, 1000000),
    ("outer", 4000, 2000),
    ("add_transpose", 4000, 2000),
    ("transpose_copy", 4000, 2000),
    ("sum_row0", 5000, 2000),
    ("sum_col0", 5000, 2000),
    ("sum_axis0", 5000, 2000),
    ("sum_axis1", 5000, 2000),
    ("where_add", 10000000, 2000000),
    ("random_1k", 1000000, 1000000),
    ("random_1e7", 10000000, 2000000),
]
# The numexpr-suite expressions, each on contiguous (_c), strided (_s) and
# unaligned (_u) inputs: (name, NumPy as users write it, numexpr string,
# Numba scalar body over the loop's elements a, b).
NE_EXPRS = [
    ("ne_poly", "a**2 + (b+1)**-2.5", "a**2 + (b+1)**-2.5",
     "a**2 + (b+1.0)**-2.5"),
    ("ne_pow50", "(a+1)**50", "(a+1)**50", "(a+1.0)**50"),
    ("ne_hypot", "np.sqrt(a**2 + b**2)", "sqrt(a**2 + b**2)",
     "np.sqrt(a**2 + b**2)"),
    ("ne_logexp", "np.log(np.exp(a)+1)/b", "log(exp(a)+1)/b",
     "np.log(np.exp(a)+1.0)/b"),
    ("ne_where",
     "np.where(0.1*a > np.arctan2(a, b), 2*a, np.arctan2(a, b))",
     "where(0.1*a > arctan2(a, b), 2*a, arctan2(a, b))",
     "2.0*a if 0.1*a > np.arctan2(a, b) else np.arctan2(a, b)"),
]
NE_N = (10000000, 1000000)
for _name, *_ in NE_EXPRS:
    for _sfx in "csu":
        SIZES.append((_name + "_" + _sfx,) + NE_N)
# Workloads the Python side measures once and reports under several names:
# Python has no prepared-kernel API, so seed_prepared's peers are seed's;
# nor an accuracy mode, so exp_mix_fast's are exp_mix's.
ALIASES = {"seed": ["seed", "seed_prepared"],
           "exp_mix": ["exp_mix", "exp_mix_fast"]}

SYSTEMS = ["numpy", "numpy_linalg", "numexpr1", "numexpr", "numba",
           "numba_par"]


def emit(obj):
    print(json.dumps(obj, separators=(",", ":")), flush=True)


def say(msg):
    print("anchors: " + msg, file=sys.stderr, flush=True)


def sig(x, digits=4):
    """x rounded to `digits` significant digits, as a float."""
    return float("%.*g" % (digits, x))


class Env:
    """The imported packages and the run's settings."""

    def __init__(self, np, ne, numba, threads):
        self.np, self.ne, self.numba, self.threads = np, ne, numba, threads
        self.rng = np.random.default_rng(20261122)

    # Inputs: uniform in [lo, lo+1); layout "c" contiguous, "s" every
    # second element of a 2n array, "u" 1 byte past a 64-byte boundary.
    def vec(self, n, lo=0.5, layout="c", dtype=None):
        np = self.np
        dtype = dtype or np.float64
        if layout == "s":
            base = (self.rng.random(2 * n) + lo).astype(dtype)
            return base[::2]
        if layout == "u":
            size = np.dtype(dtype).itemsize
            buf = np.empty(n * size + 128, np.uint8)
            off = (-buf.ctypes.data) % 64 + 1
            x = np.frombuffer(buf, dtype=dtype, offset=off, count=n)
            x[:] = self.rng.random(n) + lo
            return x
        return (self.rng.random(n) + lo).astype(dtype)

    def touched(self, shape, dtype=None):
        """A preallocated output, every page written before timing."""
        out = self.np.empty(shape, dtype or self.np.float64)
        out.fill(1.0)
        return out

    def mat(self, n):
        return self.rng.random((n, n)) + 0.5

    def njit(self, src, fname, parallel):
        """A fresh Numba dispatcher for `fname` defined in `src` (so its
        first call compiles, and that compile time is this workload's)."""
        ns = {"np": self.np, "prange": self.numba.prange}
        exec(src, ns)
        return self.numba.njit(parallel=parallel)(ns[fname])

    def numba_pair(self, src, fname, call):
        """numba and numba_par entries: call(kernel) makes the timed fn."""
        if self.numba is None:
            return {}
        return {"numba": call(self.njit(src, fname, False)),
                "numba_par": call(self.njit(src, fname, True))}

    def numexpr_pair(self, expr, local, out=None):
        if self.ne is None:
            return {}
        ne = self.ne

        def fn():
            return ne.evaluate(expr, local_dict=local, out=out)
        return {"numexpr1": fn, "numexpr": fn}


def elementwise(env, names, np_expr, ne_expr, nb_expr, inputs, dtype):
    """out = expr over 1-D inputs: NumPy allocating, the rest into a
    preallocated (touched) out."""
    np = env.np
    args = ", ".join(names)
    np_fn = eval("lambda %s: %s" % (args, np_expr), {"np": np})
    n = inputs[0].shape[0]
    out = env.touched(n, dtype)
    systems = {"numpy": lambda: np_fn(*inputs)}
    systems.update(env.numexpr_pair(ne_expr, dict(zip(names, inputs)), out))
    loads = "".join("        %s = %s_[i]\n" % (v, v) for v in names)
    src = ("def k(%s, out):\n    for i in prange(out.shape[0]):\n%s"
           "        out[i] = %s\n" % (", ".join(v + "_" for v in names),
                                      loads, nb_expr))
    systems.update(env.numba_pair(src, "k",
                                  lambda k: lambda: k(*inputs, out) or out))
    return systems


def inplace(env, a, np_stmt, ne_expr, nb_expr):
    """a = expr(a) in place; every system updates a itself."""
    ns = {"np": env.np}
    exec("def f(a):\n    %s\n    return a\n" % np_stmt, ns)
    systems = {"numpy": lambda: ns["f"](a)}
    systems.update(env.numexpr_pair(ne_expr, {"a": a}, a))
    src = ("def k(a_):\n    for i in prange(a_.shape[0]):\n"
           "        a = a_[i]\n        a_[i] = %s\n" % nb_expr)
    systems.update(env.numba_pair(src, "k", lambda k: lambda: k(a) or a))
    return systems


def build(env, name, n):
    """Returns (systems, reset, unit_scale, tol): systems maps a system name
    to a callable doing one run and returning its result; reset() restores
    the inputs an in-place workload changes (or is None); unit_scale turns
    seconds per run into the reported unit; tol is the relative tolerance
    of the check against NumPy (None: no comparison)."""
    np = env.np
    ms = 1e3
    f64 = np.float64

    if name == "seed":
        a0, b = env.mat(3), env.mat(3)
        a = a0.copy()

        def reset():
            a[...] = a0

        def np_loop(a=a):
            for i in range(n):
                a += b * i
            return a
        systems = {"numpy": np_loop}
        if env.ne is not None:
            ne = env.ne

            def ne_loop():
                local = {"a": a, "b": b, "i": 0}
                for i in range(n):
                    local["i"] = i
                    ne.evaluate("a + b*i", local_dict=local, out=a)
                return a
            systems["numexpr1"] = ne_loop
        if env.numba is not None:
            k = env.njit("def k(a, b, s):\n"
                         "    for r in range(a.shape[0]):\n"
                         "        for c in range(a.shape[1]):\n"
                         "            a[r, c] += b[r, c] * s\n", "k", False)

            def nb_loop():
                for i in range(n):
                    k(a, b, i)
                return a
            systems["numba"] = nb_loop
        return systems, reset, 1e9 / n, 1e-12

    if name in ("inplace_add1", "scale_inplace"):
        a0 = env.vec(n)
        a = a0.copy()

        def reset():
            a[...] = a0
        if name == "inplace_add1":
            # as the workload is written (and users write it): a
            # temporary, then a copy into a
            s = inplace(env, a, "a[:] = a + 1", "a + 1", "a + 1.0")
        else:
            s = inplace(env, a, "a *= 2", "a*2", "a * 2.0")
        return s, reset, ms, 1e-12

    simple = {
        "scale": (["a"], "a*2", "a*2", "a * 2.0", 0.5),
        "axpy2": (["a", "b"], "2*a + 3*b", "2*a + 3*b", "2.0*a + 3.0*b", 0.5),
        "mix5": (["a", "b", "c", "d", "e"], "a*b + c*d - e", "a*b + c*d - e",
                 "a*b + c*d - e", 0.5),
        "exp_mix": (["a", "b", "c"], "np.exp(a)*np.sin(b) + np.log1p(c)",
                    "exp(a)*sin(b) + log1p(c)",
                    "np.exp(a)*np.sin(b) + np.log1p(c)", 0.5),
        "tanh": (["a"], "np.tanh(a)", "tanh(a)", "np.tanh(a)", 0.5),
        "where_add": (["a", "b"], "np.where(a > 0.5, a, 0) + b",
                      "where(a > 0.5, a, 0) + b",
                      "(a if a > 0.5 else 0.0) + b", 0.0),
    }
    if name in simple or name == "exp_mix_f32":
        names, npx, nex, nbx, lo = simple[name.replace("_f32", "")]
        dtype = np.float32 if name.endswith("_f32") else f64
        inputs = [env.vec(n, lo, dtype=dtype) for _ in names]
        tol = 1e-5 if dtype == np.float32 else 1e-12
        return elementwise(env, names, npx, nex, nbx, inputs, dtype), \
            None, ms, tol

    for base, npx, nex, nbx in NE_EXPRS:
        if name.startswith(base + "_"):
            layout = name[-1]
            lo = 0.0 if base == "ne_where" else 0.5
            inputs = [env.vec(n, lo, layout) for _ in "ab"]
            return elementwise(env, ["a", "b"], npx, nex, nbx, inputs,
                               f64), None, ms, 1e-12

    if name == "norm":
        a = env.vec(n)
        systems = {"numpy": lambda: np.sqrt(np.sum(a**2)),
                   "numpy_linalg": lambda: np.linalg.norm(a)}
        if env.ne is not None:
            ne = env.ne

            def ne_norm():
                return math.sqrt(ne.evaluate("sum(a**2)", local_dict={"a": a}))
            systems.update(numexpr1=ne_norm, numexpr=ne_norm)
        systems.update(env.numba_pair(
            "def k(a):\n    s = 0.0\n    for i in prange(a.shape[0]):\n"
            "        s += a[i] * a[i]\n    return np.sqrt(s)\n", "k",
            lambda k: lambda: k(a)))
        return systems, None, ms, 1e-10

    if name in ("outer", "add_transpose", "transpose_copy"):
        out = env.touched((n, n))
        if name == "outer":
            a = env.vec(n)
            systems = {"numpy": lambda: a[:, None] * a[None, :]}
            systems.update(env.numexpr_pair(
                "x*y", {"x": a[:, None], "y": a[None, :]}, out))
            body = "out[i, j] = a[i] * a[j]"
        else:
            a = env.mat(n)
            if name == "add_transpose":
                systems = {"numpy": lambda: a + a.T}
                systems.update(env.numexpr_pair(
                    "x + y", {"x": a, "y": a.T}, out))
                body = "out[i, j] = a[i, j] + a[j, i]"
            else:
                systems = {"numpy": lambda: a.T.copy()}
                systems.update(env.numexpr_pair("x", {"x": a.T}, out))
                body = "out[i, j] = a[j, i]"
        systems.update(env.numba_pair(
            "def k(a, out):\n    for i in prange(out.shape[0]):\n"
            "        for j in range(out.shape[1]):\n            %s\n" % body,
            "k", lambda k: lambda: k(a, out) or out))
        return systems, None, ms, 1e-12

    if name in ("sum_row0", "sum_col0"):
        a = env.mat(n)
        x = a[0, :] if name == "sum_row0" else a[:, 0]
        systems = {"numpy": lambda: np.sum(x)}
        systems.update(env.numexpr_pair("sum(x)", {"x": x}))
        ix = ("1", "a[0, i]") if name == "sum_row0" else ("0", "a[i, 0]")
        systems.update(env.numba_pair(
            "def k(a):\n    s = 0.0\n    for i in prange(a.shape[%s]):\n"
            "        s += %s\n    return s\n" % ix, "k",
            lambda k: lambda: k(a)))
        return systems, None, ms, 1e-10

    if name in ("sum_axis0", "sum_axis1"):
        a = env.mat(n)
        out = env.touched(n)
        axis = int(name[-1])
        systems = {"numpy": lambda: np.sum(a, axis=axis)}
        systems.update(env.numexpr_pair("sum(x, axis=%d)" % axis, {"x": a},
                                        out))
        if axis == 1:
            src = ("def k(a, out):\n    for i in prange(a.shape[0]):\n"
                   "        s = 0.0\n        for j in range(a.shape[1]):\n"
                   "            s += a[i, j]\n        out[i] = s\n")
        else:
            # Rows added into out, split into column blocks across threads.
            src = ("def k(a, out):\n    m = a.shape[1]\n    nb = (m + 255) // 256\n"
                   "    for blk in prange(nb):\n"
                   "        j0 = blk * 256\n        j1 = min(m, j0 + 256)\n"
                   "        for j in range(j0, j1):\n            out[j] = 0.0\n"
                   "        for i in range(a.shape[0]):\n"
                   "            for j in range(j0, j1):\n"
                   "                out[j] += a[i, j]\n")
        systems.update(env.numba_pair(src, "k",
                                      lambda k: lambda: k(a, out) or out))
        return systems, None, ms, 1e-10

    if name in ("random_1k", "random_1e7"):
        shape = (1000, 1000) if name == "random_1k" else (n,)
        H = env.touched(shape)
        flat = H.reshape(-1)
        gen = np.random.default_rng(5)
        systems = {"numpy": lambda: gen.random(out=H)}
        systems.update(env.numba_pair(
            "def k(out):\n    for i in prange(out.shape[0]):\n"
            "        out[i] = np.random.random()\n", "k",
            lambda k: lambda: k(flat) or H))
        return systems, None, ms, None

    raise KeyError(name)


def agrees(np, got, want, tol):
    if tol is None:  # random: in [0, 1) and not constant
        g = np.asarray(got)
        return bool(g.min() >= 0.0 and g.max() < 1.0 and g.std() > 0.2)
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    if got.shape != want.shape:
        return False
    return bool(np.allclose(got, want, rtol=tol, atol=0.0))


def run_workload(env, name, n, reps, min_sample):
    """Times every system of one workload; returns (lines, failures)."""
    np, ne, numba = env.np, env.ne, env.numba
    systems, reset, scale, tol = build(env, name, n)
    order = [s for s in SYSTEMS if s in systems]

    def setup(s):
        if s in ("numexpr1", "numexpr"):
            ne.set_num_threads(1 if s == "numexpr1" else env.threads)
        elif s == "numba_par":
            numba.set_num_threads(env.threads)

    # First call: compiles (Numba), then checks the result against NumPy's
    # from the same inputs (in-place workloads start from the same values).
    first, ref, bad = {}, None, []
    for s in order:
        if reset:
            reset()
        setup(s)
        t0 = time.perf_counter()
        try:
            got = systems[s]()
        except Exception as e:  # a system that cannot run this workload
            say("%s: %s failed: %s: %s" % (name, s, type(e).__name__, e))
            bad.append(s)
            continue
        first[s] = time.perf_counter() - t0
        if s == "numpy":
            ref = np.array(got, copy=True)
        elif "numpy" in bad:
            say("%s: %s not checked (numpy failed)" % (name, s))
        elif not agrees(np, got, ref, tol):
            say("%s: %s disagrees with numpy (rtol %s): FAIL" % (name, s, tol))
            bad.append(s)
    order = [s for s in order if s not in bad]

    # Repetitions per timed sample, so that a sample lasts >= min_sample.
    inner = {}
    for s in order:
        setup(s)
        t0 = time.perf_counter()
        systems[s]()
        dt = time.perf_counter() - t0
        inner[s] = max(1, math.ceil(min_sample / max(dt, 1e-9)))

    # Rounds interleave the systems, spreading a noisy machine's drift;
    # a sample's worth of untimed calls first finds the system's threads
    # and CPUs awake and its arrays cached, as a loop calling it would
    # (arrjit-bench does the same: see its time_sides).
    times = {s: [] for s in order}
    for _ in range(reps):
        for s in order:
            fn, k = systems[s], inner[s]
            setup(s)
            for _ in range(k):
                fn()
            t0 = time.perf_counter()
            for _ in range(k):
                fn()
            times[s].append((time.perf_counter() - t0) / k)

    lines = []
    unit = "ns/it" if name == "seed" else "ms"
    for s in order:
        ts = sorted(times[s])
        med = ts[len(ts) // 2] if len(ts) % 2 else \
            (ts[len(ts) // 2 - 1] + ts[len(ts) // 2]) / 2
        line = {"kind": "anchor", "name": name, "system": s, "unit": unit,
                "median": sig(med * scale), "min": sig(ts[0] * scale),
                "max": sig(ts[-1] * scale)}
        if s.startswith("numba"):
            line["compile_ms"] = sig(max(0.0, first[s] - med) * 1e3)
        lines.append(line)
    return lines, [s for s in bad if s in first]


def cpus():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="NumPy / numexpr / Numba anchors for arrjit-bench "
        "(JSON lines on stdout, progress on stderr)")
    ap.add_argument("--quick", action="store_true",
                    help="the spec's quick sizes, 5 reps")
    ap.add_argument("--threads", type=int, default=cpus(),
                    help="threads for numexpr and numba_par "
                    "(default: all CPUs, %(default)s)")
    ap.add_argument("--filter", default="",
                    help="only workloads whose name contains this")
    ap.add_argument("--reps", type=int, default=0,
                    help="timed samples per system (default 5 quick, 7 full)")
    ap.add_argument("--min-sample-ms", type=float, default=1.0,
                    help="repeat a short run within one sample until it "
                    "lasts this long (default %(default)s)")
    ap.add_argument("--serve", action="store_true",
                    help="run the workloads stdin names, one per line, "
                    "each answer ending with a done line "
                    "(bench/interleave.py)")
    args = ap.parse_args(argv)
    if args.threads < 1 or args.reps < 0:
        ap.error("--threads must be >= 1 and --reps >= 0")
    reps = args.reps or (5 if args.quick else 7)

    # Thread counts are read when the packages load.
    t = str(args.threads)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, t)
    if args.threads > cpus():
        os.environ.setdefault("NUMBA_NUM_THREADS", t)
        os.environ.setdefault("NUMEXPR_MAX_THREADS", t)

    try:
        import numpy as np
    except ImportError as e:
        emit({"kind": "skip", "system": "numpy", "reason": str(e)})
        say("no numpy (%s): nothing to measure" % e)
        return 0
    mods = {}
    for pkg in ("numexpr", "numba"):
        try:
            mods[pkg] = __import__(pkg)
        except ImportError as e:
            mods[pkg] = None
            emit({"kind": "skip", "system": pkg, "reason": str(e)})
            say("%s skipped: %s" % (pkg, e))
    env = Env(np, mods["numexpr"], mods["numba"], args.threads)
    if env.numba is not None and args.threads > env.numba.config.NUMBA_NUM_THREADS:
        env.threads = env.numba.config.NUMBA_NUM_THREADS
        say("numba allows %d threads; using that" % env.threads)

    if args.serve:
        return serve(env, args, reps)

    chosen = []
    for name, full, quick in SIZES:
        names = [a for a in ALIASES.get(name, [name]) if args.filter in a]
        if names:
            chosen.append((name, quick if args.quick else full, names))
    if not chosen:
        say("no workload matches --filter %r" % args.filter)
    say("%d workloads, reps %d, threads %d%s" % (
        len(chosen), reps, args.threads, ", quick" if args.quick else ""))

    failed = False
    t_all = time.perf_counter()
    for name, n, names in chosen:
        failed = run_and_emit(env, name, n, names, reps, args) or failed
    say("done in %.1f s" % (time.perf_counter() - t_all))
    return 1 if failed else 0


def run_and_emit(env, name, n, names, reps, args):
    """Runs one workload and prints its lines under each of its names;
    True if some system failed."""
    t0 = time.perf_counter()
    lines, bad = run_workload(env, name, n, reps, args.min_sample_ms / 1e3)
    for alias in names:
        for line in lines:
            emit(dict(line, name=alias))
    summary = ", ".join("%s %.4g" % (l["system"], l["median"])
                        for l in lines)
    say("%-14s n=%-9d %s %s  (%.1f s)" % (
        name, n, lines[0]["unit"] if lines else "", summary,
        time.perf_counter() - t0))
    return bool(bad)


def serve(env, args, reps):
    """--serve: for each name on stdin, the workload that has it among its
    names (its lines under all of them; nothing for a name no workload
    has), then {"kind":"done"}. Exit status as without --serve."""
    failed = False
    for req in sys.stdin:
        req = req.strip()
        for name, full, quick in SIZES:
            names = ALIASES.get(name, [name])
            if req in names:
                n = quick if args.quick else full
                failed = run_and_emit(env, name, n, names, reps, args) or failed
                break
        emit({"kind": "done"})
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
