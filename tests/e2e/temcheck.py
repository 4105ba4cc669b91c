"""Helpers for tem's end-to-end tests: run tem, load its results, compare them
with float64 NumPy references within the tolerances of LANGUAGE.md.

Everything here is deliberately independent of tem: datasets are read with
NumPy (np.load, np.fromfile), and the references are written with NumPy.

Tolerances (LANGUAGE.md, "Accuracy contract"):
  sums and means   relative 1e-6
  var and std      relative 1e-5
  integer and bool results must be exact; NaN positions must match.

On a mismatch the functions print a message naming the result, the first
differing positions and the worst error, and exit with status 1.
"""
import os
import subprocess
import sys
import urllib.parse

import numpy as np

RTOL_SUM = 1e-6
RTOL_VAR = 1e-5

DTYPES = {"bool": np.bool_, "u8": np.uint8, "u16": np.uint16, "u32": np.uint32, "u64": np.uint64,
          "i8": np.int8, "i16": np.int16, "i32": np.int32, "i64": np.int64,
          "f32": np.float32, "f64": np.float64}
DTYPE_NAMES = {np.dtype(v): k for k, v in DTYPES.items()}


class Mismatch(Exception):
    pass


def fail(message):
    """Prints a FAIL message and exits with status 1."""
    sys.stdout.flush()
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def tem_path(argv=None):
    """The tem binary: the TEM environment variable, else argv[1], else the build tree."""
    if os.environ.get("TEM"):
        return os.environ["TEM"]
    if argv and len(argv) > 1:
        return argv[1]
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(here, "..", "..", "build", "bin", "tem")


def run_tem(args, tem=None, expect_rc=0, stdin=None):
    """Runs tem with `args`; returns (stdout, stderr). Fails when the exit
    status is not `expect_rc` (None accepts any)."""
    cmd = [tem or tem_path()] + list(args)
    p = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=60)
    if expect_rc is not None and p.returncode != expect_rc:
        fail(f"{' '.join(cmd)}\n  exit status {p.returncode}, expected {expect_rc}\n"
             f"  stdout: {p.stdout.strip()}\n  stderr: {p.stderr.strip()}")
    return p.stdout, p.stderr


def dtype_name(dt):
    """The tem name of a NumPy dtype of either byte order ("u16"), else NumPy's."""
    dt = np.dtype(dt)
    return DTYPE_NAMES.get(dt.newbyteorder("="), dt.str)


def load_npy(path):
    """Loads a result file written by tem and checks it is a plain
    little-endian (or byte-order-free) C-order .npy."""
    if not os.path.isfile(path):
        fail(f"{path}: result file missing")
    with open(path, "rb") as f:
        magic = f.read(6)
    if magic != b"\x93NUMPY":
        fail(f"{path}: not a .npy file (starts with {magic!r})")
    try:
        a = np.load(path, allow_pickle=False)
    except Exception as e:  # noqa: BLE001
        fail(f"{path}: NumPy cannot read it: {e}")
    if a.dtype.byteorder == ">":
        fail(f"{path}: written big-endian ({a.dtype.str}); tem writes little-endian")
    return a


def parse_raw_spec(spec):
    """raw:FILE?nav=7,5&sig=33,17&dtype=u16&offset=128&order=big -> float64-able ndarray."""
    body = spec[4:]
    path, _, query = body.partition("?")
    q = dict(urllib.parse.parse_qsl(query))
    nav = tuple(int(v) for v in q.get("nav", "").split(",") if v)
    sig = tuple(int(v) for v in q["sig"].split(",") if v)
    dt = np.dtype(DTYPES[q.get("dtype", "f32")])
    if q.get("order", "little") == "big":
        dt = dt.newbyteorder(">")
    offset = int(q.get("offset", "0"))
    a = np.fromfile(path, dtype=dt, offset=offset)
    return a.reshape(nav + sig)


def load_data(spec):
    """A dataset or array input as NumPy sees it: .npy via np.load, raw: via np.fromfile."""
    if spec.startswith("raw:"):
        return parse_raw_spec(spec)
    return np.load(spec, allow_pickle=False)


def _where(mask):
    idx = np.argwhere(mask)
    return ", ".join(str(tuple(int(v) for v in i)) for i in idx[:5]) + (" ..." if len(idx) > 5 else "")


def compare(name, got, want, dtype=None, rtol=None, atol=0.0):
    """Compares result `got` (as loaded) with reference `want`.

    dtype: the tem dtype name the result must have ("f64", "i64", "bool", ...),
           or None to skip the dtype check.
    rtol:  relative tolerance for float results (default 1e-6); integer and
           bool results are compared exactly.
    Raises Mismatch with a readable message.
    """
    got = np.asarray(got)
    want = np.asarray(want)
    if dtype is not None:
        if dtype_name(got.dtype) != dtype:
            raise Mismatch(f"'{name}': dtype {dtype_name(got.dtype)}, expected {dtype}")
    if got.shape != want.shape:
        raise Mismatch(f"'{name}': shape {got.shape}, expected {want.shape}")
    if got.dtype.kind in "biu":
        if want.dtype.kind == "f" and np.isnan(want).any():
            raise Mismatch(f"'{name}': reference has NaN but the result is {dtype_name(got.dtype)}")
        w = want.astype(bool) if got.dtype.kind == "b" else want
        bad = got != w
        if bad.any():
            i = tuple(np.argwhere(bad)[0]) if got.ndim else ()
            raise Mismatch(f"'{name}': {int(bad.sum())} of {got.size} values differ (exact comparison), "
                           f"first at {i}: got {got[i]!r}, expected {w[i]!r}; positions {_where(bad)}")
        return
    rtol = RTOL_SUM if rtol is None else rtol
    g = got.astype(np.float64)
    w = want.astype(np.float64)
    gn, wn = np.isnan(g), np.isnan(w)
    if (gn != wn).any():
        bad = gn != wn
        raise Mismatch(f"'{name}': NaN positions differ at {_where(bad)} "
                       f"({int(gn.sum())} NaN in result, {int(wn.sum())} expected)")
    ok = ~wn
    gi, wi = np.isinf(g) & ok, np.isinf(w) & ok
    if (gi != wi).any() or (g[wi] != w[wi]).any():
        raise Mismatch(f"'{name}': infinities differ at {_where((gi != wi) | (wi & (g != w)))}")
    fin = ok & ~wi
    err = np.abs(g - w)
    lim = rtol * np.abs(w) + atol
    bad = fin & (err > lim)
    if bad.any():
        i = tuple(np.argwhere(bad)[0]) if g.ndim else ()
        rel = np.where(w != 0, err / np.where(w != 0, np.abs(w), 1), np.inf)
        worst = float(np.max(np.where(bad, rel, 0)))
        raise Mismatch(f"'{name}': {int(bad.sum())} of {g.size} values outside rtol {rtol:g} atol {atol:g}, "
                       f"first at {i}: got {g[i]!r}, expected {w[i]!r}; worst relative error {worst:.3g}; "
                       f"positions {_where(bad)}")


def check(name, got, want, **kw):
    """compare() that exits with a message instead of raising."""
    try:
        compare(name, got, want, **kw)
    except Mismatch as e:
        fail(str(e))


# ---- reference helpers (NumPy only) --------------------------------------------


def sig_grid(shape):
    """qy, qx as broadcastable integer arrays for frames of `shape` (sy, sx)."""
    sy, sx = shape[-2], shape[-1]
    return np.arange(sy).reshape(sy, 1), np.arange(sx).reshape(1, sx)


def radius(shape, cy, cx):
    qy, qx = sig_grid(shape)
    return np.hypot(qy - cy, qx - cx)


def disk(shape, cy, cx, r):
    return radius(shape, cy, cx) < r


def ring(shape, cy, cx, ri, ro):
    rr = radius(shape, cy, cx)
    return (rr >= ri) & (rr < ro)


def rect(shape, y0, x0, h, w):
    m = np.zeros(shape[-2:], dtype=bool)
    m[max(y0, 0):max(y0 + h, 0), max(x0, 0):max(x0 + w, 0)] = True
    return m


def point(shape, cy, cx):
    m = np.zeros(shape[-2:], dtype=bool)
    m[cy, cx] = True
    return m


def grouped(values, keys, bins, op, axes):
    """Reference for op(values, axes, by=keys, bins=N): a trailing bins axis.
    values and keys broadcast to the same shape; elements whose key is outside
    0..N-1 are dropped; empty bins give the identity (sum 0, mean NaN)."""
    v, k = np.broadcast_arrays(np.asarray(values, dtype=np.float64), np.asarray(keys))
    axes = tuple(a % v.ndim for a in axes)
    keep = [a for a in range(v.ndim) if a not in axes]
    v = np.transpose(v, keep + list(axes)).reshape([v.shape[a] for a in keep] + [-1])
    k = np.transpose(k, keep + list(axes)).reshape([k.shape[a] for a in keep] + [-1])
    out = np.empty(v.shape[:-1] + (bins,))
    for idx in np.ndindex(*v.shape[:-1]):
        kk, vv = k[idx], v[idx]
        inside = (kk >= 0) & (kk < bins)
        s = np.bincount(kk[inside].astype(np.int64), weights=vv[inside], minlength=bins)
        if op == "sum":
            out[idx] = s
        elif op == "mean":
            c = np.bincount(kk[inside].astype(np.int64), minlength=bins)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[idx] = s / c
        elif op == "count":
            out[idx] = np.bincount(kk[inside].astype(np.int64), weights=(vv[inside] != 0), minlength=bins)
        else:
            raise ValueError(op)
    return out


def png_size(path):
    """(width, height) of a PNG after checking its signature and IHDR chunk."""
    with open(path, "rb") as f:
        head = f.read(33)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        fail(f"{path}: not a PNG (starts with {head[:8]!r})")
    if head[12:16] != b"IHDR":
        fail(f"{path}: the first PNG chunk is {head[12:16]!r}, not IHDR")
    w = int.from_bytes(head[16:20], "big")
    h = int.from_bytes(head[20:24], "big")
    if w <= 0 or h <= 0:
        fail(f"{path}: PNG of size {w}x{h}")
    return w, h


def patched(d, bad):
    """Reference for stem's patched(d, bad): every pixel where `bad` (sig
    shape) holds becomes the mean of its non-bad 8-neighbours inside the frame
    (0 when there are none)."""
    d = np.asarray(d, dtype=float)
    bad = np.broadcast_to(np.asarray(bad, dtype=bool), d.shape[-2:])
    h, w = bad.shape
    out = d.copy()
    for y, x in zip(*np.nonzero(bad)):
        total = np.zeros(d.shape[:-2])
        n = 0
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                yy, xx = y + dy, x + dx
                if (dy or dx) and 0 <= yy < h and 0 <= xx < w and not bad[yy, xx]:
                    total = total + d[..., yy, xx]
                    n += 1
        out[..., y, x] = total / n if n else 0.0
    return out
