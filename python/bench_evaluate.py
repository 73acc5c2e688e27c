import timeit, numpy as np, numexpr as ne, arrjit
n = 10**7
a = np.random.rand(n); b = np.random.rand(n)
out = np.empty(n)
for name, f in [("arrjit", lambda: arrjit.evaluate("2*a+3*b")), ("numexpr", lambda: ne.evaluate("2*a+3*b")),
                ("arrjit out=", lambda: arrjit.evaluate("2*a+3*b", out=out)), ("numexpr out=", lambda: ne.evaluate("2*a+3*b", out=out)),
                ("numpy", lambda: 2*a+3*b)]:
    f()
    t = min(timeit.repeat(f, number=5, repeat=7)) / 5
    print("%-14s 1e7 float64 2*a+3*b: %7.2f ms" % (name, t*1e3))
ta = np.random.rand(10); tb = np.random.rand(10); to = np.empty(10)
for name, f in [("arrjit", lambda: arrjit.evaluate("2*ta+3*tb")), ("numexpr", lambda: ne.evaluate("2*ta+3*tb")),
                ("arrjit out=", lambda: arrjit.evaluate("2*ta+3*tb", out=to)), ("numexpr out=", lambda: ne.evaluate("2*ta+3*tb", out=to)),
                ("numpy", lambda: 2*ta+3*tb)]:
    f()
    t = min(timeit.repeat(f, number=2000, repeat=5)) / 2000
    print("%-14s 10 elements  2*a+3*b: %7.2f us/call" % (name, t*1e6))
print("threads", arrjit.get_num_threads(), ne.get_num_threads() if hasattr(ne,'get_num_threads') else ne.nthreads)
