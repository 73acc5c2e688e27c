"""Lazy text programs (aj_exec): statements over named arrays, run as a
whole, with the intermediates fused away.

    p = arrjit.program("t = a*b; c[:] = t + 1; s = sum(t, axis=0)")
    p(a=x, b=y, c=out, s=col_sums)

Each call binds the keyword arguments in a fresh namespace of the calling
thread's program, runs the text and syncs. Arrays are the caller's NumPy
arrays, wrapped without a copy: a statement assigning to a name bound to
an array writes into it (read-only arrays are bound read-only, so that is
an error); a name assigned but not passed is a lazy intermediate. A final
expression statement is returned as a new array. Kernels are cached by
structure, so other arrays of the same dtypes reuse them; calling again
over the same arrays (new contents) replays the remembered kernel calls
without fusing again (stats()["replays"]).
"""
import ctypes

from . import _core
from ._core import lib
from ._lib import Expr


def _bind(ns, name, v, keep):
    key = name.encode()
    t = type(v)
    if t is float:
        st = lib.aj_names_set_f64(ns, key, v)
    elif t is int and -(1 << 63) <= v < (1 << 63):
        st = lib.aj_names_set_i64(ns, key, v)
    else:
        a = _core.as_array(v)
        keep.append(a)
        h = _core.wrap(a, readonly=not a.flags.writeable)
        st = lib.aj_names_set_array(ns, key, h)
    return st


class Program:
    """A program text, run by calling it with its names bound."""

    def __init__(self, text):
        if not isinstance(text, str):
            raise TypeError("a program is text, not %s" % type(text).__name__)
        self.text = text
        self._text = text.encode()

    def __repr__(self):
        return "arrjit.program(%r)" % self.text

    def __call__(self, **bindings):
        """Runs the text with each keyword bound to its value (NumPy arrays
        and anything np.asarray takes; Python int and float as weak
        scalars). Returns the value of a final expression statement as a
        new array, else None. On error nothing is written."""
        p = _core.prog()
        ns = ctypes.c_void_p()
        st = lib.aj_names_new(p, ctypes.byref(ns))
        if st:
            _core.drop_prog()
            raise _core.prog_error(p, st)
        _core.trim_handles()
        keep = []
        ok = False
        try:
            for name, v in bindings.items():
                st = _bind(ns, name, v, keep)
                if st:
                    raise _core.prog_error(p, st)
            last = Expr()
            st = lib.aj_exec(ns, self._text, ctypes.byref(last))
            if st:
                raise _core.prog_error(p, st)
            result = None
            if last.id:
                result = _core.evaluate_new(p, last, "C")
            else:
                _core.sync(p)
            ok = True
            return result
        finally:
            lib.aj_names_free(ns)
            if not ok:
                _core.drop_prog()

    run = __call__


def program(text):
    """A lazy program: arrjit.program("t = a*b; c[:] = t + 1")(a=..., b=...,
    c=out)."""
    return Program(text)
