"""numexpr's evaluate() over arrjit, so that a numexpr user can switch by
changing an import.

An expression is parsed by arrjit (aj_parse: it accepts numexpr's syntax
and function names); Python only finds the names it reads, with the
standard library's ast, once per expression text (cached), and looks them
up as numexpr does: local_dict, else the caller's frame locals, then
global_dict, else the caller's globals. Arrays are wrapped without a copy;
Python numbers become arrjit's weak scalars, NumPy scalars and 0-d arrays
strong ones, as in NumPy 2 (NEP 50).

numexpr names arrjit spells otherwise are rewritten here (the only
rewriting): copy(x) is x, ones_like(x) is x**0 (ones of x's dtype, but
bool gives int64). contains() (strings) has no arrjit counterpart.
"""
import ast
import ctypes
import functools
import re
import sys
import threading

import numpy as np

from . import _core
from ._core import lib
from ._lib import Expr

_ORDERS = ("K", "A", "C", "F")
_CASTINGS = ("no", "equiv", "safe", "same_kind", "unsafe")
_OPTIMIZATIONS = ("none", "moderate", "aggressive")
_KEYWORDS = ("optimization", "truediv", "sanitize", "_frame_depth")
_MISSING = object()
_IDENT = re.compile(r"(?<![\w.])[A-Za-z_]\w*")


class _Rewrite(ast.NodeTransformer):
    """numexpr's copy and ones_like in arrjit's terms."""

    def visit_Call(self, node):
        self.generic_visit(node)
        f = node.func.id if isinstance(node.func, ast.Name) else None
        if f == "contains":
            raise NotImplementedError(
                "arrjit: contains() works on strings; arrjit has no "
                "string dtypes")
        if f in ("copy", "ones_like"):
            if len(node.args) != 1 or node.keywords:
                raise TypeError("arrjit: %s() takes one argument" % f)
            if f == "copy":
                return node.args[0]
            return ast.BinOp(node.args[0], ast.Pow(), ast.Constant(0))
        return node


def _names(tree):
    """Names the expression reads, in first-seen order (not the called
    functions)."""
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    seen = {}
    for n in ast.walk(tree):
        if isinstance(n, ast.Name) and id(n) not in called:
            seen.setdefault(n.id, None)
    return tuple(seen)


@functools.lru_cache(maxsize=1024)
def _analyse(ex):
    """(text for arrjit, names read, names as a C array) for ex."""
    try:
        tree = ast.parse(ex.strip(), mode="eval")
    except SyntaxError:
        # arrjit's parser gives the message, with its column; bind every
        # word that could be a name so that it reports the syntax error.
        names = tuple(dict.fromkeys(_IDENT.findall(ex)))
        text = ex
    else:
        names = _names(tree)
        if any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and
               n.func.id in ("copy", "ones_like", "contains")
               for n in ast.walk(tree)):
            text = ast.unparse(_Rewrite().visit(tree))
        else:
            text = ex
    cnames = (ctypes.c_char_p * len(names))(*(n.encode() for n in names))
    return text.encode(), names, cnames


def _check_kwargs(order, casting, kwargs):
    if order not in _ORDERS:
        raise ValueError("order must be one of %s, not %r" % (_ORDERS, order))
    if casting not in _CASTINGS:
        raise ValueError("casting must be one of %s, not %r"
                         % (_CASTINGS, casting))
    for k in kwargs:
        if k not in _KEYWORDS:
            raise ValueError("Unknown keyword argument '%s'" % k)
    if kwargs.get("optimization", "aggressive") not in _OPTIMIZATIONS:
        raise ValueError("optimization must be one of %s" % (_OPTIMIZATIONS,))
    if kwargs.get("truediv", "auto") is False:
        raise NotImplementedError(
            "arrjit: truediv=False (C division of integers) is not "
            "supported; / is true division, // floor division")


def _arguments(names, local_dict, global_dict, depth):
    """The values of names, as numexpr finds them; a name bound nowhere is
    _MISSING, left unbound for arrjit to report."""
    frame = sys._getframe(depth + 1)
    if local_dict is None:
        local_dict = frame.f_locals
    if global_dict is None:
        global_dict = frame.f_globals
    args = []
    for name in names:
        v = local_dict.get(name, _MISSING)
        args.append(v if v is not _MISSING else
                    global_dict.get(name, _MISSING))
    return args


def _value(p, v, keep):
    """v as an expression of program p: Python numbers weak scalars,
    anything else an array leaf (NumPy scalars as 0-d arrays, strong)."""
    t = type(v)
    if t is float:
        return lib.aj_scalar_f64(p, v)
    if t is int and -(1 << 63) <= v < (1 << 63):
        return lib.aj_scalar_i64(p, v)
    if t is bool:
        return lib.aj_scalar_bool(p, v)
    if t is complex:
        return lib.aj_scalar_c128(p, v.real, v.imag)
    if t is not np.ndarray or not v.dtype.isnative:
        v = _core.as_array(v)
    keep.append(v)
    return lib.aj_leaf(p, _core.wrap(v))


def _out_order(order, arrays):
    """C or F for a new result: F when asked, or (order K or A) when every
    input of 2 or more axes is Fortran- and not C-contiguous."""
    if order == "F":
        return "F"
    if order == "C":
        return "C"
    multi = [a for a in arrays if a.ndim > 1]
    if multi and all(a.flags.f_contiguous and not a.flags.c_contiguous
                     for a in multi):
        return "F"
    return "C"


def _check_out(out, dt, casting):
    if not isinstance(out, np.ndarray):
        raise TypeError("out must be a NumPy array, not %s"
                        % type(out).__name__)
    if not out.flags.writeable:
        raise ValueError("out is read-only")
    _core.aj_dtype(out.dtype)
    if out.dtype != dt and not np.can_cast(dt, out.dtype, casting):
        raise TypeError("Cannot cast the result from %s to %s according to "
                        "the rule %r" % (dt, out.dtype, casting))


def _run(text, names, cnames, args, out, order, casting):
    p = _core.prog()
    _core.trim_handles()
    keep = []
    ok = False
    try:
        values = (Expr * len(names))()
        bound = []
        for i, v in enumerate(args):
            if v is _MISSING:
                continue
            e = _value(p, v, keep)
            if not e.id:  # the builder's error, which aj_sync returns
                raise _core.prog_error(p, lib.aj_sync(p))
            values[len(bound)] = e
            bound.append(i)
        if len(bound) < len(names):
            cnames = (ctypes.c_char_p * len(bound))(
                *(cnames[i] for i in bound))
        e = Expr()
        st = lib.aj_parse(p, text, len(bound), cnames, values, ctypes.byref(e))
        if st:
            raise _core.prog_error(p, st)
        if out is None:
            out = _core.evaluate_new(p, e, _out_order(order, keep))
        else:
            dt = _core.NP_DTYPES[lib.aj_expr_dtype(p, e)]
            _check_out(out, dt, casting)
            if out.dtype != dt:
                e = lib.aj_cast(p, e, _core.aj_dtype(out.dtype))
            _core.assign(p, out, e)
            _core.sync(p)
        ok = True
        return out
    finally:
        if not ok:
            _core.drop_prog()


_tls = threading.local()


def evaluate(ex, local_dict=None, global_dict=None, out=None, order="K",
             casting="safe", **kwargs):
    """numexpr.evaluate: the value of expression ex over arrays and scalars
    named in it, computed by one fused arrjit kernel (a new array, or out
    written in place; out may be an input). Keywords as numexpr's:
    optimization and sanitize are accepted and ignored (arrjit always
    fuses and never evaluates Python code), truediv=False is
    NotImplementedError, _frame_depth as numexpr's. Errors raise arrjit's
    message as a subclass of arrjit.Error that is also the usual builtin
    (SyntaxError for bad text, KeyError for an unknown name, ValueError
    for shapes that do not broadcast, TypeError for dtypes); out is then
    untouched."""
    if not isinstance(ex, str):
        raise ValueError("must specify expression as a string")
    _check_kwargs(order, casting, kwargs)
    text, names, cnames = _analyse(ex)
    args = _arguments(names, local_dict, global_dict,
                      1 + kwargs.get("_frame_depth", 0))
    _tls.last = (text, names, cnames, out, order, casting)
    return _run(text, names, cnames, args, out, order, casting)


def re_evaluate(local_dict=None):
    """numexpr.re_evaluate: the last expression this thread evaluated, with
    its names looked up again (in local_dict, else the caller's frame)."""
    last = getattr(_tls, "last", None)
    if last is None:
        raise RuntimeError("re_evaluate: no previous evaluate() call")
    text, names, cnames, out, order, casting = last
    args = _arguments(names, local_dict, None, 1)
    return _run(text, names, cnames, args, out, order, casting)
