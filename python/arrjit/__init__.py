"""arrjit for NumPy: fused, JIT-compiled array expressions over NumPy
arrays, without copies or temporaries.

    import arrjit
    arrjit.evaluate("2*a + 3*b")          # numexpr.evaluate's signature
    arrjit.evaluate("a + 1", out=a)       # in place
    p = arrjit.program("t = a*b; c[:] = t + 1")
    p(a=x, b=y, c=out)

A pure-Python package over the C library (ctypes): the library is
$ARRJIT_LIBRARY, else the build/lib/libarrjit.so of the repository this
package sits in, else libarrjit.so on the system's path. One context per
process, shared by all threads; each thread builds on a program of its own.
"""
from ._lib import (ArgError, ArrayOverflowError, BoundsError, DTypeError,
                   Error, FileError, JitError, LayoutError, NoMemoryError,
                   OverlapError, ParseError, ReadOnlyError, ShapeError,
                   StaleError, UnknownNameError)
from ._core import get_num_threads, set_num_threads, stats
from ._numexpr import evaluate, re_evaluate
from ._program import Program, program

__all__ = [
    "evaluate", "re_evaluate", "program", "Program", "set_num_threads",
    "get_num_threads", "stats", "Error", "ArgError", "DTypeError",
    "ShapeError", "ArrayOverflowError", "BoundsError", "LayoutError",
    "OverlapError", "ReadOnlyError", "ParseError", "UnknownNameError",
    "StaleError", "NoMemoryError", "JitError", "FileError",
]
