"""arrjit.evaluate against numexpr.evaluate and NumPy on 2*a + 3*b: time
per call on 1e7 float64 elements (new result and out=), and the per-call
overhead on 10 elements. Best of repeats; run from the repository root:
    /usr/bin/python3 python/bench_evaluate.py
"""
import os
import sys
import timeit

import numexpr as ne
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import arrjit  # noqa: E402


def measure(label, n, number, unit, scale):
    d = {"a": np.random.rand(n), "b": np.random.rand(n)}
    a, b, out = d["a"], d["b"], np.empty(n)
    calls = [
        ("arrjit", lambda: arrjit.evaluate("2*a+3*b", d)),
        ("numexpr", lambda: ne.evaluate("2*a+3*b", d)),
        ("arrjit out=", lambda: arrjit.evaluate("2*a+3*b", d, out=out)),
        ("numexpr out=", lambda: ne.evaluate("2*a+3*b", d, out=out)),
        ("numpy", lambda: 2 * a + 3 * b),
    ]
    for name, f in calls:
        f()
        t = min(timeit.repeat(f, number=number, repeat=7)) / number
        print("%-13s %-12s %8.2f %s" % (name, label, t * scale, unit))


measure("1e7 float64", 10**7, 5, "ms/call", 1e3)
measure("10 float64", 10, 5000, "us/call", 1e6)
print("threads: arrjit %d, numexpr %d" % (arrjit.get_num_threads(),
                                          ne.nthreads))
