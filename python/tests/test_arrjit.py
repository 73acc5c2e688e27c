"""arrjit's Python front end against NumPy: what numexpr users rely on
(evaluate with out=, aliasing, broadcasting, strided and reversed inputs,
scalars, every dtype, where, comparisons, reductions), errors that raise
and leave out untouched, and the program API.

Run: /usr/bin/python3 -m unittest discover -s python/tests (ctest does,
with ARRJIT_LIBRARY set to the build's library). Locals that look unused
are read by evaluate() from the caller's frame, as numexpr reads them.
"""
import os
import sys
import threading
import unittest

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import arrjit  # noqa: E402

RNG = np.random.default_rng(7)
GLOBAL_ARRAY = np.arange(5.0)


def close(test, got, want, rtol=1e-12):
    test.assertEqual(got.shape, want.shape)
    test.assertEqual(got.dtype, want.dtype)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=0)


class Evaluate(unittest.TestCase):
    def setUp(self):
        self.a = RNG.random((6, 5))
        self.b = RNG.random(5)

    def test_names_from_the_callers_frame(self):
        a, b = self.a, self.b
        close(self, arrjit.evaluate("2*a + 3*b"), 2 * a + 3 * b)

    def test_caller_globals(self):
        close(self, arrjit.evaluate("GLOBAL_ARRAY * 2"), GLOBAL_ARRAY * 2)

    def test_many_arrays(self):
        """More arrays than the handles a thread keeps: old ones are freed
        between calls, and every result is still right."""
        for k in range(600):
            x = RNG.random(k % 37 + 1)[::(k % 3) + 1]
            close(self, arrjit.evaluate("x * 2 + 1"), x * 2 + 1)

    def test_large_results_reuse_only_free_buffers(self):
        """Results of 1 MiB or more reuse buffers nothing refers to; a
        live result, or a view of one, is never written by another."""
        x = RNG.random(1 << 18)  # 2 MiB results
        r1 = arrjit.evaluate("x + 1")
        r2 = arrjit.evaluate("x + 2")
        close(self, r1, x + 1)
        close(self, r2, x + 2)
        view = r1[::3]
        del r1
        r3 = arrjit.evaluate("x + 3")
        self.assertFalse(np.shares_memory(r3, view))
        close(self, view, (x + 1)[::3])
        del view
        from arrjit import _core
        kept = len(_core._tls.results)
        r4 = arrjit.evaluate("x + 4")
        self.assertEqual(len(_core._tls.results), kept)  # one reused
        self.assertFalse(np.shares_memory(r4, r2))
        self.assertFalse(np.shares_memory(r4, r3))
        close(self, r2, x + 2)
        close(self, r3, x + 3)
        close(self, r4, x + 4)
        f = arrjit.evaluate("y + 0", {"y": np.asfortranarray(
            RNG.random((600, 600)))}, order="F")
        self.assertTrue(f.flags.f_contiguous)

    def test_local_and_global_dict(self):
        a = np.ones(3)  # shadowed by local_dict
        got = arrjit.evaluate("a - c", local_dict={"a": self.b},
                              global_dict={"c": 1.0})
        close(self, got, self.b - 1.0)
        self.assertTrue((a == 1).all())

    def test_out_in_place_and_aliasing(self):
        a = self.a.copy()
        want = a + 1
        r = arrjit.evaluate("a + 1", out=a)
        self.assertIs(r, a)
        close(self, a, want)
        # out overlapping an input shifted: NumPy's result, as if the
        # right side were computed first.
        x = np.arange(10.0)
        want = x[:-1] + x[1:]
        left, right = x[:-1], x[1:]
        arrjit.evaluate("left + right", out=x[1:])
        close(self, x[1:], want)

    def test_broadcasting(self):
        a, b = self.a, self.b
        c = RNG.random((6, 1))
        close(self, arrjit.evaluate("a*b + c"), a * b + c)
        out = np.empty((6, 5))
        arrjit.evaluate("b + 1", out=out)
        close(self, out, np.broadcast_to(self.b + 1, (6, 5)).copy())

    def test_strided_transposed_reversed_offset(self):
        base = RNG.random((8, 6))
        s = base[::2, 1::2]
        t = base.T
        r = base[::-1, ::-3]
        o = base[3:, 2:]
        close(self, arrjit.evaluate("s * 2"), s * 2)
        close(self, arrjit.evaluate("t + t"), t + t)
        close(self, arrjit.evaluate("sqrt(r)"), np.sqrt(r))
        close(self, arrjit.evaluate("o - 1"), o - 1)
        f = np.asfortranarray(base)
        self.assertTrue(arrjit.evaluate("f + 1").flags.f_contiguous)
        out = np.zeros((6, 8))[:, ::-1]
        arrjit.evaluate("t * 3", out=out)
        close(self, out, base.T * 3)

    def test_scalars(self):
        a = np.arange(4, dtype=np.float32)
        k, x, flag, z = 3, 2.5, True, 1 + 2j
        close(self, arrjit.evaluate("a * k"), a * k)
        close(self, arrjit.evaluate("a * x"), a * np.float32(x))
        close(self, arrjit.evaluate("a * 2.5 + 1"), a * np.float32(2.5) + 1)
        close(self, arrjit.evaluate("where(flag, a, 0)"), a)
        close(self, arrjit.evaluate("a * z"), a * np.complex64(z))
        # NumPy scalars are strong (NEP 50, NumPy 2): float64 wins over
        # float32, where NumPy 1's value-based casting kept float32.
        y = np.float64(2)
        close(self, arrjit.evaluate("a * y"), a.astype(np.float64) * y)
        self.assertEqual(arrjit.evaluate("2 + 3").item(), 5)

    def test_dtypes(self):
        for dt in ("int8", "int16", "int32", "int64", "uint8", "uint16",
                   "uint32", "uint64", "float32", "float64"):
            a = (np.arange(12) % 7 + 1).astype(dt)
            b = a[::-1].copy()
            for ex, want in (("a + b", a + b), ("a * b - a", a * b - a),
                             ("a > b", a > b), ("a / b", a / b)):
                with self.subTest(dtype=dt, ex=ex):
                    close(self, arrjit.evaluate(ex), want)
        m = np.array([True, False, True])
        n = np.array([True, True, False])
        close(self, arrjit.evaluate("m & n | ~m"), m & n | ~m)
        z = RNG.random(4) + 1j * RNG.random(4)
        w = z.astype(np.complex64)
        close(self, arrjit.evaluate("z * z + conj(z)"), z * z + np.conj(z))
        close(self, arrjit.evaluate("real(z) + imag(z)"), z.real + z.imag)
        close(self, arrjit.evaluate("w * w"), w * w, rtol=1e-6)
        close(self, arrjit.evaluate("abs(z)"), np.abs(z), rtol=1e-15)
        re, im = RNG.random(3), RNG.random(3)
        close(self, arrjit.evaluate("complex(re, im)"), re + 1j * im)

    def test_byte_swapped_input(self):
        a = np.arange(5, dtype=">f8")
        close(self, arrjit.evaluate("a + 1"), np.arange(5.0) + 1)

    def test_functions(self):
        x = RNG.random(50) * 0.9
        y = RNG.random(50) + 0.5
        for f in ("sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh",
                  "cosh", "tanh", "arcsinh", "arctanh", "log", "log10",
                  "log1p", "exp", "expm1", "sqrt", "abs", "absolute",
                  "floor", "ceil"):
            with self.subTest(f=f):
                want = getattr(np, {"abs": "absolute"}.get(f, f))(x)
                close(self, arrjit.evaluate(f + "(x)"), want, rtol=1e-15)
        close(self, arrjit.evaluate("arccosh(y + 1)"), np.arccosh(y + 1),
              rtol=1e-15)
        close(self, arrjit.evaluate("arctan2(x, y)"), np.arctan2(x, y),
              rtol=1e-15)
        close(self, arrjit.evaluate("fmod(y, x)"), np.fmod(y, x))
        close(self, arrjit.evaluate("x ** y"), x ** y, rtol=1e-15)
        close(self, arrjit.evaluate("copy(x)"), x.copy())
        i = np.arange(4, dtype=np.int32)
        close(self, arrjit.evaluate("ones_like(i)"), np.ones_like(i))

    def test_where_and_comparisons(self):
        a, b = self.a, self.b
        close(self, arrjit.evaluate("where(a > b, a, -b)"),
              np.where(a > b, a, -b))
        for op in ("<", "<=", "==", "!=", ">=", ">"):
            with self.subTest(op=op):
                close(self, arrjit.evaluate("a %s 0.5" % op),
                      eval("a %s 0.5" % op))
        close(self, arrjit.evaluate("(a > 0.2) & (a < 0.8)"),
              (a > 0.2) & (a < 0.8))

    def test_reductions(self):
        a = self.a
        i = np.arange(12, dtype=np.int32).reshape(3, 4) - 5
        close(self, arrjit.evaluate("sum(a)"), np.sum(a))
        close(self, arrjit.evaluate("sum(a, axis=0)"), a.sum(axis=0))
        close(self, arrjit.evaluate("sum(a * 2, 1)"), (a * 2).sum(axis=1))
        close(self, arrjit.evaluate("prod(i, axis=1)"), i.prod(axis=1))
        close(self, arrjit.evaluate("sum(i, axis=-1)"), i.sum(axis=-1))
        close(self, arrjit.evaluate("min(a, axis=0)"), a.min(axis=0))
        close(self, arrjit.evaluate("max(a, axis=1)"), a.max(axis=1))
        out = np.zeros(5)
        arrjit.evaluate("sum(a**2, axis=0)", out=out)
        close(self, out, (a ** 2).sum(axis=0))

    def test_order_and_casting(self):
        a = self.a
        self.assertTrue(arrjit.evaluate("a + 1", order="F").flags.f_contiguous)
        out32 = np.zeros(a.shape, np.float32)
        with self.assertRaises(TypeError):
            arrjit.evaluate("a + 1", out=out32)
        self.assertTrue((out32 == 0).all())
        arrjit.evaluate("a + 1", out=out32, casting="same_kind")
        close(self, out32, (a + 1).astype(np.float32))
        outi = np.zeros(a.shape, np.int64)
        arrjit.evaluate("a * 10", out=outi, casting="unsafe")
        close(self, outi, (a * 10).astype(np.int64))
        with self.assertRaises(ValueError):
            arrjit.evaluate("a", order="X")
        with self.assertRaises(ValueError):
            arrjit.evaluate("a", bogus=1)
        with self.assertRaises(NotImplementedError):
            arrjit.evaluate("a / 2", truediv=False)
        close(self, arrjit.evaluate("a / 2", truediv=True,
                                    optimization="moderate"), a / 2)

    def test_errors_leave_out_untouched(self):
        a = self.a
        out = np.full(a.shape, 7.0)
        cases = (
            ("a + nosuchname", arrjit.UnknownNameError, KeyError,
             "unknown name 'nosuchname'"),
            ("a +* 2", arrjit.ParseError, SyntaxError, "column"),
            ("a + c", arrjit.ShapeError, ValueError, "broadcast"),
            ("nosuch(a)", arrjit.Error, Exception, "nosuch"),
            ("contains(a, a)", NotImplementedError, NotImplementedError,
             "string"),
        )
        c = np.ones(7)
        for ex, cls, builtin, text in cases:
            with self.subTest(ex=ex):
                with self.assertRaises(cls) as cm:
                    arrjit.evaluate(ex, out=out)
                self.assertIsInstance(cm.exception, builtin)
                self.assertIn(text, str(cm.exception))
                self.assertTrue((out == 7).all())
        with self.assertRaises(ValueError):
            arrjit.evaluate("a + 1", out=np.broadcast_to(out, (2,) + out.shape))
        with self.assertRaises(TypeError):
            arrjit.evaluate("a + 1", out=[0.0])
        with self.assertRaises(TypeError):
            h = np.zeros(3, np.float16)  # noqa: F841
            arrjit.evaluate("h + 1")
        with self.assertRaises(ValueError):
            arrjit.evaluate(3)
        # The thread's program is usable after the errors.
        close(self, arrjit.evaluate("a + 1"), a + 1)

    def test_integer_power_error(self):
        i = np.arange(3)
        e = np.array([1, -1, 2])
        out = np.full(3, 9)
        with self.assertRaises(arrjit.Error) as cm:
            arrjit.evaluate("i ** e", out=out)
        self.assertIn("negative", str(cm.exception))
        self.assertTrue((out == 9).all())

    def test_re_evaluate(self):
        a = np.arange(3.0)
        arrjit.evaluate("a * 2")
        a = np.arange(4.0)
        close(self, arrjit.re_evaluate(), np.arange(4.0) * 2)

    def test_compiles_once(self):
        a = RNG.random(1000)
        arrjit.evaluate("a * 1.5 + 0.25")
        before = arrjit.stats()["kernels_compiled"]
        for k in range(20):
            a = RNG.random(1000 + k)
            arrjit.evaluate("a * 1.5 + 0.25")
        self.assertEqual(arrjit.stats()["kernels_compiled"], before)

    def test_threads(self):
        errors = []

        def work(seed):
            rng = np.random.default_rng(seed)
            try:
                for _ in range(50):
                    x = rng.random(int(rng.integers(1, 3000)))
                    got = arrjit.evaluate("sin(x) * 2 + x")
                    np.testing.assert_allclose(got, np.sin(x) * 2 + x,
                                               rtol=1e-15)
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)

        ts = [threading.Thread(target=work, args=(s,)) for s in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(errors, [])

    def test_num_threads(self):
        old = arrjit.set_num_threads(1)
        self.assertEqual(arrjit.get_num_threads(), 1)
        arrjit.set_num_threads(old)
        self.assertEqual(arrjit.get_num_threads(), old)


class Program(unittest.TestCase):
    def test_statements_into_arrays(self):
        a, b = RNG.random((4, 3)), RNG.random((4, 3))
        c = np.zeros((4, 3))
        s = np.zeros(3)
        p = arrjit.program("t = a*b; c[:] = t + 1; s[:] = sum(t, axis=0)")
        self.assertIsNone(p(a=a, b=b, c=c, s=s))
        close(self, c, a * b + 1)
        close(self, s, (a * b).sum(axis=0))
        # Run again over the same arrays with new contents: from the
        # third run on, the sync replays the remembered kernel calls.
        before = arrjit.stats()["replays"]
        for _ in range(3):
            a[...] = RNG.random((4, 3))
            p.run(a=a, b=b, c=c, s=s)
            close(self, c, a * b + 1)
        self.assertGreater(arrjit.stats()["replays"], before)

    def test_final_expression_and_scalars(self):
        x = np.arange(5.0)
        p = arrjit.program("y = x * k\ny + d")
        close(self, p(x=x, k=3, d=0.5), x * 3 + 0.5)

    def test_in_place_and_views(self):
        x = np.arange(6.0)
        arrjit.program("x[1:] += x[:-1]")(x=x)
        close(self, x, np.array([0.0, 1, 3, 5, 7, 9]))

    def test_errors(self):
        x = np.arange(4.0)
        ro = np.arange(4.0)
        ro.flags.writeable = False
        with self.assertRaises(arrjit.ReadOnlyError):
            arrjit.program("ro[:] = x")(x=x, ro=ro)
        self.assertTrue((ro == np.arange(4.0)).all())
        with self.assertRaises(arrjit.UnknownNameError):
            arrjit.program("x[:] = q + 1")(x=x)
        with self.assertRaises(arrjit.ParseError):
            arrjit.program("x[:] = (")(x=x)
        with self.assertRaises(TypeError):
            arrjit.program(3)
        # Nothing of a failed text ran: the first statement is undone.
        y = np.zeros(4)
        with self.assertRaises(arrjit.ShapeError):
            arrjit.program("y[:] = x; y[:] = np7")(x=x, y=y, np7=np.ones(7))
        self.assertTrue((y == 0).all())


class ImportFromRepo(unittest.TestCase):
    def test_repo_root_command(self):
        """The README's one-liner, run from the repository root."""
        import subprocess
        root = os.path.join(os.path.dirname(__file__), "..", "..")
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        r = subprocess.run(
            [sys.executable, "-c", "import arrjit, numpy as np; "
             "a=np.arange(10.); print(arrjit.evaluate('2*a+1'))"],
            cwd=root, env=env, capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("19.", r.stdout)


if __name__ == "__main__":
    unittest.main()
