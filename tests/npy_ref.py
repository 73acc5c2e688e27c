#!/usr/bin/python3
"""NumPy's side of tests/test_npy.c.

    npy_ref.py write DIR   NumPy writes np_*.npy files for arrjit to load
    npy_ref.py check DIR   NumPy checks the aj_*.npy files arrjit saved

Both sides fill arrays with the same values: element i (C order) of every
test array comes from h = (i + 1) * K mod 2^64, mirrored by value_at() in
test_npy.c. The float values are small integers over 64 or 32, exact in
float32, so no rounding can differ between C and NumPy.
"""
import io
import sys

import numpy as np

K = np.uint64(0x9E3779B97F4A7C15)

# The order of AJ_DTYPE_TABLE, and the test shapes, as in test_npy.c.
DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16",
          "uint32", "uint64", "float32", "float64", "complex64",
          "complex128"]
SHAPES = {"s0": (), "s1": (7,), "s3": (2, 3, 4), "e": (3, 0, 2)}


def values(name, shape):
    n = int(np.prod(shape, dtype=np.int64))
    h = np.arange(1, n + 1, dtype=np.uint64) * K
    dt = np.dtype(name)
    if dt.kind == "b":
        v = (h >> np.uint64(63)).astype(bool)
    elif dt.kind in "iu":
        v = h.astype(dt)  # keeps the low bytes, as C's conversions do
    else:
        re = ((h >> np.uint64(41)).astype(np.int64) - 2**22) / 64.0
        im = (((h >> np.uint64(8)) & np.uint64(0x7FFFFF)).astype(np.int64)
              - 2**22) / 32.0
        v = (re + 1j * im if dt.kind == "c" else re).astype(dt)
    return v.reshape(shape)


def write(d):
    for name in DTYPES:
        dt = np.dtype(name)
        ends = ["le", "be"] if dt.itemsize > 1 else ["le"]
        for sname, shape in SHAPES.items():
            for order in "CF":
                for end in ends:
                    a = values(name, shape).astype(
                        dt.newbyteorder("<" if end == "le" else ">"))
                    # not asfortranarray, which makes 0-d arrays 1-d
                    a = np.array(a, order=order)
                    np.save(f"{d}/np_{name}_{sname}_{order}_{end}.npy", a)
        a = np.asfortranarray(values(name, SHAPES["s3"]))
        for major in (2, 3):
            with open(f"{d}/np_{name}_v{major}.npy", "wb") as f:
                np.lib.format.write_array(f, a, version=(major, 0))


def cases(name):
    """What each aj_{name}_{case}.npy must hold (see save_cases())."""
    base = values(name, (3, 4, 5))
    out = {s: values(name, shape) for s, shape in SHAPES.items()}
    out["T"] = base.T
    out["R"] = base[::-1, 1:4:2, ::-2]
    out["B"] = np.broadcast_to(values(name, (4,)), (3, 4))
    out["I"] = base[:, 2, :]
    return out


def check_one(path, want):
    got = np.load(path)
    if got.dtype != want.dtype or got.shape != want.shape:
        return f"{got.dtype}{got.shape}, want {want.dtype}{want.shape}"
    want = np.array(want, order="C")  # ascontiguousarray makes 0-d 1-d
    if got.tobytes() != want.tobytes():
        return "values differ"
    # NumPy's own file for the array, byte for byte, where this NumPy pads
    # headers for growth as arrjit does (NumPy >= 1.23).
    if hasattr(np.lib.format, "GROWTH_AXIS_MAX_DIGITS"):
        ref = io.BytesIO()
        np.save(ref, want)
        with open(path, "rb") as f:
            if f.read() != ref.getvalue():
                return "bytes differ from np.save's"
    return None


def check(d):
    bad = 0
    for name in DTYPES:
        for case, want in cases(name).items():
            path = f"{d}/aj_{name}_{case}.npy"
            try:
                err = check_one(path, want)
            except Exception as e:  # a file NumPy cannot read is a failure
                err = repr(e)
            if err:
                print(f"npy_ref.py: {path}: {err}", file=sys.stderr)
                bad += 1
    return bad


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("write", "check"):
        sys.exit("usage: npy_ref.py write|check DIR")
    if sys.argv[1] == "write":
        write(sys.argv[2])
    elif check(sys.argv[2]):
        sys.exit(1)


if __name__ == "__main__":
    main()
