"""What evaluate and Program share: the default context, one arrjit
program per thread (a program is used by one thread at a time; the
context may be shared), and NumPy arrays as arrjit arrays without copying.

Invariants: a NumPy array is wrapped through __array_interface__ (data
pointer, shape, byte strides, dtype) as exactly the bytes its elements span,
so arrjit's bounds checks hold; handles are kept per thread by layout and
freed only between calls, never while work that reads them is pending;
after any failed call the thread's program is dropped (freed and made
anew on next use), so no half-built work or recorded error leaks into the
next call.
"""
import ctypes
import sys
import threading

import numpy as np

from ._lib import DTYPE_NAMES, Stats, error, lib

NP_DTYPES = tuple(np.dtype(n) for n in DTYPE_NAMES)
_AJ_DTYPE = {d: i for i, d in enumerate(NP_DTYPES)}
_I64 = ctypes.c_int64
_MAX_NDIM = 32  # AJ_MAX_NDIM


def _new_context():
    ctx = ctypes.c_void_p()
    st = lib.aj_ctx_new(ctypes.byref(ctx))
    if st:
        raise error(st, "arrjit: cannot make a context")
    return ctx.value


# The module's context, for the life of the process: programs and arrays
# of any thread may refer to it, so it is never freed.
CTX = _new_context()


def ctx_error(st):
    return error(st, lib.aj_ctx_errmsg(CTX).decode(errors="replace"))


class _Prog:
    """One thread's aj_prog, freed with the thread's local storage."""
    __slots__ = ("ptr",)

    def __init__(self):
        ptr = ctypes.c_void_p()
        st = lib.aj_prog_new(CTX, ctypes.byref(ptr))
        if st:
            raise ctx_error(st)
        self.ptr = ptr.value

    def __del__(self):
        free = getattr(lib, "aj_prog_free", None)
        if free is not None and self.ptr:
            free(self.ptr)
            self.ptr = None


_tls = threading.local()


def prog():
    """The calling thread's program (a pointer)."""
    p = getattr(_tls, "prog", None)
    if p is None:
        p = _tls.prog = _Prog()
    return p.ptr


def drop_prog():
    """Frees the thread's program after a failure; the next call makes one."""
    _tls.prog = None


def prog_error(p, st):
    return error(st, lib.aj_prog_errmsg(p).decode(errors="replace"))


def aj_dtype(dt):
    """arrjit's dtype id for a NumPy dtype; TypeError if it has none."""
    t = _AJ_DTYPE.get(dt)
    if t is None:
        raise TypeError("arrjit: dtype %s is not supported (bool, int8-64, "
                        "uint8-64, float32/64, complex64/128, native byte "
                        "order)" % dt)
    return t


def as_array(v):
    """v as an ndarray arrjit can wrap: np.asarray, and a copy in native
    byte order if v is byte-swapped (numexpr copies those too)."""
    a = np.asarray(v)
    if a.dtype not in _AJ_DTYPE and a.dtype.byteorder not in "=|":
        a = a.astype(a.dtype.newbyteorder("="))
    return a


# NumPy's typestr (from __array_interface__) of each dtype, native order.
_TYPESTR = {d.str: i for i, d in enumerate(NP_DTYPES)}


def _new_handle(ptr, t, itemsize, shape, strides, readonly):
    """A new aj_array over the elements of an array at ptr (strides None:
    C order), the exact bytes they span; read-only if asked (a broadcast
    to its own shape, so that arrjit refuses to assign into it)."""
    nd = len(shape)
    lo = 0
    if 0 in shape:
        nbytes = 0
    elif strides is None:
        nbytes = itemsize
        for n in shape:
            nbytes *= n
    else:
        hi = itemsize
        for n, s in zip(shape, strides):
            if s < 0:
                lo += (n - 1) * s
            else:
                hi += (n - 1) * s
        nbytes = hi - lo
    cshape = (_I64 * nd)(*shape)
    cstrides = (_I64 * nd)(*strides) if strides is not None else None
    h = ctypes.c_void_p()
    st = lib.aj_array_wrap(CTX, ptr + lo, nbytes, -lo, t, nd, cshape,
                           cstrides, ctypes.byref(h))
    if st:
        raise ctx_error(st)
    if not readonly:
        return h.value
    v = ctypes.c_void_p()
    st = lib.aj_view_broadcast(CTX, h, nd, cshape, ctypes.byref(v))
    lib.aj_array_free(h)
    if st:
        raise ctx_error(st)
    return v.value


class _Handles(dict):
    """A thread's handles, by (address, typestr, shape, strides, read-only):
    a handle only describes memory and layout, so it serves any array of
    that key, which is alive while it is being wrapped. Trimmed only
    between calls (trim_handles), never while work that reads one is
    pending."""
    LIMIT = 256

    def __del__(self):
        free = getattr(lib, "aj_array_free", None)
        if free is not None:
            for h in self.values():
                free(h)


def _handles():
    c = getattr(_tls, "handles", None)
    if c is None:
        c = _tls.handles = _Handles()
    return c


def trim_handles():
    """Frees the oldest handles past the limit; call before wrapping."""
    c = _handles()
    if len(c) > c.LIMIT:
        for k in list(c)[:len(c) - c.LIMIT // 2]:
            lib.aj_array_free(c.pop(k))


def wrap(a, readonly=False):
    """The aj_array handle over ndarray a's memory, from the thread's
    handles (valid until the next trim_handles)."""
    ai = a.__array_interface__
    key = (ai["data"][0], ai["typestr"], ai["shape"], ai["strides"],
           readonly)
    c = _handles()
    h = c.get(key)
    if h is None:
        t = _TYPESTR.get(key[1])
        if t is None:
            aj_dtype(a.dtype)  # raises TypeError
        h = c[key] = _new_handle(key[0], t, a.itemsize, key[2], key[3],
                                 readonly)
    return h


class _Results(list):
    """A thread's buffers for new results of MIN bytes or more, reused as
    arrjit's own pool (lib/bufpool.c) reuses its own: fresh pages cost
    more than the kernel that fills them (an 80 MB result in fresh pages
    about doubles the time of 2*a + 3*b). A buffer is the base of every
    view of a result made from it, so it is free again once nothing but
    this list refers to it (CPython's reference count). Oldest first; past
    LIMIT_BYTES the oldest leave the list (and are freed with their last
    user)."""
    MIN = 1 << 20
    LIMIT_BYTES = 256 << 20

    def empty(self, shape, dt, order):
        n = dt.itemsize
        for k in shape:
            n *= k
        if n < self.MIN:
            return np.empty(shape, dt, order=order)
        for b in self:
            # the list, b and getrefcount's argument: no one else
            if n <= b.nbytes <= 2 * n and sys.getrefcount(b) == 3:
                break
        else:
            b = np.empty(n, np.uint8)
            self.append(b)
            while sum(x.nbytes for x in self) > self.LIMIT_BYTES:
                del self[0]
        return b[:n].view(dt).reshape(shape, order=order)


def evaluate_new(p, e, order):
    """Runs the pending work and e into a new array, which it returns."""
    shape = (_I64 * _MAX_NDIM)()
    nd = lib.aj_expr_shape(p, e, shape)
    if nd < 0:
        raise RuntimeError("arrjit: a parsed expression's handle is stale")
    results = getattr(_tls, "results", None)
    if results is None:
        results = _tls.results = _Results()
    out = results.empty(tuple(shape[:nd]), NP_DTYPES[lib.aj_expr_dtype(p, e)],
                        order)
    assign(p, out, e)
    sync(p)
    return out


def assign(p, out, e):
    """Pending out[...] = e."""
    st = lib.aj_assign(p, wrap(out), e)
    if st:
        raise prog_error(p, st)


def sync(p):
    st = lib.aj_sync(p)
    if st:
        raise prog_error(p, st)


def set_num_threads(n):
    """Threads for large kernels (n <= 0: the default); returns the old
    number, as numexpr.set_num_threads does."""
    old = lib.aj_ctx_threads(CTX)
    st = lib.aj_ctx_set_threads(CTX, int(n))
    if st:
        raise ctx_error(st)
    return old


def get_num_threads():
    return lib.aj_ctx_threads(CTX)


def stats():
    """The context's counters (aj_stats) as a dict: kernels compiled,
    cache hits, replays, ..."""
    s = Stats()
    lib.aj_ctx_stats(CTX, ctypes.byref(s))
    return {name: getattr(s, name) for name, _ in Stats._fields_}
