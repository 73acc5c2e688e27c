"""The shared library through ctypes: where it is found, the prototypes of
the calls the package makes (declared once, at import), and arrjit's
status codes as Python exceptions.

The library is $ARRJIT_LIBRARY if set, else build/lib/libarrjit.so of the
repository this package sits in (python/arrjit, after `make`), else
libarrjit.so from the system's library path (an installed arrjit).
"""
import ctypes
import os

# The dtype table of include/arrjit.h, in its order: arrjit's dtype id is
# the position here, and the name is NumPy's.
DTYPE_NAMES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16",
               "uint32", "uint64", "float32", "float64", "complex64",
               "complex128")


class Error(Exception):
    """An arrjit call failed; the message is arrjit's. Each status has a
    subclass that is also the builtin exception a NumPy or numexpr user
    expects (ValueError, TypeError, ...), so either can be caught."""
    status = None

    def __str__(self):
        return self.args[0] if self.args else ""


class ArgError(Error, ValueError):
    status = 1


class DTypeError(Error, TypeError):
    status = 2


class ShapeError(Error, ValueError):
    status = 3


class ArrayOverflowError(Error, OverflowError):
    status = 4


class BoundsError(Error, IndexError):
    status = 5


class LayoutError(Error, ValueError):
    status = 6


class OverlapError(Error, ValueError):
    status = 7


class ReadOnlyError(Error, ValueError):
    status = 8


class ParseError(Error, SyntaxError):
    status = 9


class UnknownNameError(Error, KeyError):
    """An expression names something bound nowhere (numexpr raises KeyError
    there too)."""
    status = 10


class StaleError(Error, RuntimeError):
    status = 11


class NoMemoryError(Error, MemoryError):
    status = 12


class JitError(Error, RuntimeError):
    status = 13


class FileError(Error, OSError):
    status = 14


_ERRORS = {c.status: c for c in (
    ArgError, DTypeError, ShapeError, ArrayOverflowError, BoundsError,
    LayoutError, OverlapError, ReadOnlyError, ParseError, UnknownNameError,
    StaleError, NoMemoryError, JitError, FileError)}


def error(status, message):
    """The exception for an aj_status and its message."""
    return _ERRORS.get(status, Error)(message)


class Expr(ctypes.Structure):
    _fields_ = [("id", ctypes.c_uint32)]


class Stats(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint64) for n in (
        "kernels_compiled", "cache_hits", "kernels_run", "compile_ns",
        "temp_bytes", "parallel_runs", "groups", "replays", "disk_hits",
        "disk_writes", "disk_load_ns", "buffers_reused", "texts_unparsed")]


def _find():
    env = os.environ.get("ARRJIT_LIBRARY")
    if env:
        return env
    here = os.path.dirname(os.path.realpath(__file__))
    built = os.path.join(here, "..", "..", "build", "lib", "libarrjit.so")
    if os.path.exists(built):
        return os.path.normpath(built)
    return "libarrjit.so"


def _load():
    path = _find()
    try:
        return ctypes.CDLL(path)
    except OSError as e:
        raise ImportError(
            "arrjit: cannot load the library %r (%s); run `make` in the "
            "repository, or set ARRJIT_LIBRARY to libarrjit.so's path"
            % (path, e)) from None


lib = _load()

_p = ctypes.c_void_p
_pp = ctypes.POINTER(ctypes.c_void_p)
_i = ctypes.c_int
_i64 = ctypes.c_int64
_i64p = ctypes.POINTER(ctypes.c_int64)
_s = ctypes.c_char_p

# name: (result, argument types)
_PROTOS = {
    "aj_ctx_new": (_i, [_pp]),
    "aj_ctx_free": (None, [_p]),
    "aj_ctx_errmsg": (_s, [_p]),
    "aj_ctx_set_threads": (_i, [_p, _i]),
    "aj_ctx_threads": (_i, [_p]),
    "aj_ctx_stats": (None, [_p, ctypes.POINTER(Stats)]),
    "aj_prog_new": (_i, [_p, _pp]),
    "aj_prog_free": (None, [_p]),
    "aj_prog_errmsg": (_s, [_p]),
    "aj_array_wrap": (_i, [_p, _p, ctypes.c_size_t, _i64, _i, _i, _i64p,
                           _i64p, _pp]),
    "aj_array_free": (None, [_p]),
    "aj_view_broadcast": (_i, [_p, _p, _i, _i64p, _pp]),
    "aj_leaf": (Expr, [_p, _p]),
    "aj_scalar_f64": (Expr, [_p, ctypes.c_double]),
    "aj_scalar_i64": (Expr, [_p, _i64]),
    "aj_scalar_bool": (Expr, [_p, ctypes.c_bool]),
    "aj_scalar_c128": (Expr, [_p, ctypes.c_double, ctypes.c_double]),
    "aj_scalar": (Expr, [_p, _i, ctypes.c_double]),
    "aj_scalar_complex": (Expr, [_p, _i, ctypes.c_double, ctypes.c_double]),
    "aj_cast": (Expr, [_p, Expr, _i]),
    "aj_expr_dtype": (_i, [_p, Expr]),
    "aj_expr_shape": (_i, [_p, Expr, _i64p]),
    "aj_parse": (_i, [_p, _s, _i, ctypes.POINTER(_s), ctypes.POINTER(Expr),
                      ctypes.POINTER(Expr)]),
    "aj_names_new": (_i, [_p, _pp]),
    "aj_names_free": (None, [_p]),
    "aj_names_set_array": (_i, [_p, _s, _p]),
    "aj_names_set_f64": (_i, [_p, _s, ctypes.c_double]),
    "aj_names_set_i64": (_i, [_p, _s, _i64]),
    "aj_exec": (_i, [_p, _s, ctypes.POINTER(Expr)]),
    "aj_assign": (_i, [_p, _p, Expr]),
    "aj_sync": (_i, [_p]),
}

for _name, (_res, _args) in _PROTOS.items():
    _f = getattr(lib, _name)
    _f.restype = _res
    _f.argtypes = _args
