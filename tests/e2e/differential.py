#!/usr/bin/env python3
"""differential.py: random tem programs run by the JIT and by the reference
evaluator, whose results must agree.

    differential.py --tem PATH --cases N --seed S [--first I] [--only I[,J..]]
                    [--keep DIR | --work DIR] [--jobs J] [--big B]
                    [--all-threads] [--known-bugs avoid|generate] [--verbose]

Each case (seeded by S and its index, so `--seed S --only I` regenerates it)
draws a dataset: nav rank 0-3, sig rank 1-2, odd extents that do not divide
8/16 (now and then no frames at all), every dtype with several value patterns
(small integers with many ties, the full range, floats with NaN and inf),
stored as .npy little- or big-endian, as a flat .npy reshaped with --nav, or
as a raw file with an offset (odd ones too) and either byte order. It writes
the data with NumPy into its own directory, with array inputs (a sig-shaped
`dark`, a nav-shaped map `w`, a row), and generates a script of several `out`s
from a grammar over every reduction (sum mean min max var std count any all
argmin argmax) over sig / nav / all / axis lists, with `where` conditions,
`by`/`bins` groups, grouped values inside other reductions and reductions
over `bin`, `roi`, same-frame (next stage) and nav-reduced (next pass)
dependencies, stencils and computed indices, array inputs, math builtins,
casts, if-then-else, params (some overridden with --set), renamed axes and
`use stem` functions. A theme per case biases the script towards one engine
feature: static masks (row bounds), several statistics of one operand
(fused states), grouped values (loops over bins), deep nesting, or thin rings
on wide frames (about one case in 16: runs of pixels, several rings in one
loop, tiles of frames for the nav statistics).

The script runs with `--engine interp` (the oracle) and with `--engine jit`
at `--threads 1`, `2` and `3`, each writing NAME.npy files with `-o DIR/`.
The checks:

  * JIT and interp give the same result files, dtypes and shapes; integer and
    bool results are equal, float results agree within LANGUAGE.md's
    tolerances (relative 1e-6, 1e-5 when a var/std is involved) plus an
    absolute slack of 1e-9 times the magnitude the generator proves for the
    result (a sum of values of both signs may cancel); NaN and inf positions
    are identical.
  * The JIT's result files are byte-identical at every thread count.

Datasets with one partition (partitions are ~16 MiB) cannot depend on the
thread count (the engine runs at most one thread per partition), so their
threads 2 and 3 runs are replaced by one run at 2 or 3 threads (--all-threads
runs both); about one case in --big (default 70) is a 33-45 MiB dataset with
3-4 partitions and few outputs over nav and all, run at all three counts.

Exactness: the generator knows which values are bit-identical between the
engines (everything computed element by element, and reductions whose
accumulation order cannot matter: min/max/count/any/all/argmin/argmax, and
sums of integers below 2^53) and which are not (a float sum is accumulated in
a different order by the vectorised JIT). Values of the second kind feed
comparisons, casts, keys and indices only when they are generic (continuous
functions of random float data, where a rounding difference cannot flip a
comparison in practice); logarithms, square roots and divisors of such values
are kept away from zero.

Known tem bugs (KNOWN_BUGS below) are steered around by default, so that the
sweep keeps finding new ones; `--known-bugs generate` produces them too, and
a failing case then names the known bugs its outputs may trigger. Remove a
bug from KNOWN_BUGS once it is fixed.

Every failing case prints one FAIL line (the reason, the case directory and
a command that reproduces it), followed by the script. Its directory is kept
(under --work or --keep, else in a fresh directory in $TMPDIR) with the data,
the script and run.sh holding the exact tem commands. The last line is
`N passed, M failed`; the exit status is 1 when any case failed.
"""
import argparse
import concurrent.futures
import math
import os
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

NP_DTYPES = {"bool": "?", "u8": "u1", "u16": "u2", "u32": "u4", "u64": "u8", "i8": "i1", "i16": "i2",
             "i32": "i4", "i64": "i8", "f32": "f4", "f64": "f8"}
ALL_DTYPES = list(NP_DTYPES)
PART_BYTES = 16 << 20          # runtime/partition.h kPartitionBytes
LIMIT = 1e12                   # largest magnitude an intermediate value may reach
EXACT_SUM = 2.0 ** 52          # integer sums below this are exact in any order
TIMEOUT = 300

# Known tem bugs the generator steers around (--known-bugs=generate produces them anyway);
# the generator tags the values that would trigger them, and a failing case names those of
# KNOWN_BUGS. Put a tag back into KNOWN_BUGS if its bug comes back. Fixed, with regression tests
# in tests/lit/regression/:
#   mixed-pass    a value that reads the data and uses a same-frame reduction, combined with a
#                 value of a later pass: `sum(d + sum(d, sig) + sum(d))`
#   partial-nav   a pass reduction over some nav axes only, `mean(d, (ry))` (one count per frame)
#   welford-mean  a mean over nav beside a var/std of the same values read from Welford's state:
#                 inexact for integers
#   welford-inf   ... and NaN where the data hold an infinity
#   huge-index    a constant index >= 2^63, `d[i64(1e30), qx]` (NaN instead of 0)
#   bin-group     reductions of one stage looping over bins of different counts shared a loop
#
# Known limitations the generator steers around the same way (not bugs, but where the engines'
# float64 algorithms may differ beyond the tolerances; see docs/language.md, Accuracy):
#   var-offset    var/std over nav of values whose magnitude exceeds 1e5 times their spread
#                 (u64/i64 data near 2^62): a running mean in float64 carries an error of about
#                 an ulp of the values, which the interpreter's Welford update and the JIT's
#                 tiles (Chan's merge) accumulate differently
KNOWN_BUGS: set = {"var-offset"}
AVOID = set(KNOWN_BUGS)

REDUCTIONS = ["sum", "mean", "min", "max", "var", "std", "count", "any", "all", "argmin", "argmax"]


# ---- values the generator reasons about ----------------------------------------------


class E:
    """A generated expression: its text and what is known about its values.

    lo, hi   bounds of its finite values (conservative)
    typ      bool | int | u64 | f32 | f64 | wint | wfloat (weak literals and params)
    axes     the axes it varies over ('bin' for a grouped value)
    data     it is (elementwise) a function of the current data element
    dep      it depends on the data at all (then it cannot be in a roi)
    exact    bit-identical in both engines
    generic  a continuous function of random float data: never within rounding of a
             threshold, so comparisons and casts of it agree even when it is not exact
    intval   every value is an integer
    inf      it may be +-inf
    bins     the number of bins of a grouped value (0: not grouped)
    varlike  a var or std is involved (tolerance 1e-5 instead of 1e-6)
    """

    __slots__ = ("text", "lo", "hi", "typ", "axes", "data", "dep", "exact", "generic", "intval", "inf", "bins",
                 "varlike", "ready", "stage", "bugs")

    def __init__(self, text, lo, hi, typ, axes=frozenset(), data=False, dep=False, exact=True, generic=False,
                 intval=False, inf=False, bins=0, varlike=False, ready=0, stage=None, bugs=frozenset()):
        self.text, self.lo, self.hi, self.typ = text, float(lo), float(hi), typ
        assert self.lo <= self.hi, (text, lo, hi)
        self.axes, self.data, self.dep = frozenset(axes), data, dep or data
        self.exact, self.generic, self.intval, self.inf = exact, generic, intval, inf
        self.bins, self.varlike = bins, varlike
        # the planner's view (compiler/plan.cpp Avail): the pass it is ready in and its stage
        self.ready, self.bugs = ready, frozenset(bugs)   # bugs: KNOWN_BUGS it would trigger
        self.stage = stage if stage is not None else (DATA_LOCAL if data else NOT_LOCAL)

    def copy(self, **kw):
        e = E(self.text, self.lo, self.hi, self.typ, self.axes, self.data, self.dep, self.exact, self.generic,
              self.intval, self.inf, self.bins, self.varlike, self.ready, self.stage, self.bugs)
        for k, v in kw.items():
            setattr(e, k, v)
        return e

    @property
    def maxabs(self):
        return max(abs(self.lo), abs(self.hi))

    @property
    def sure(self):
        """Comparisons, casts, keys and indices of it agree between the engines."""
        return self.exact or self.generic


NOT_LOCAL, DATA_LOCAL = -2, -1


def plan_combine(es):
    """compiler/plan.cpp combine(): (ready, stage) of a node with children `es`, and whether a child
    that reads the data directly was folded into a later pass's value (KNOWN_BUGS 'mixed-pass')."""
    ready = max((e.ready for e in es), default=0)
    stage, bugs = NOT_LOCAL, frozenset().union(*(e.bugs for e in es))
    for e in es:
        if e.stage == DATA_LOCAL:
            stage = max(stage, DATA_LOCAL)
        elif e.stage >= 0 and e.ready == ready:
            stage = max(stage, e.stage)
        elif e.stage >= 0 and e.data:
            bugs |= {"mixed-pass"}
    return ready, stage, bugs


def merge(*es, **kw):
    """Flags of a value computed elementwise from `es`."""
    bins = max((e.bins for e in es), default=0)
    ready, stage, bugs = plan_combine(es)
    data = any(e.data for e in es)
    d = dict(axes=frozenset().union(*(e.axes for e in es)), data=data,
             dep=any(e.dep for e in es), exact=all(e.exact for e in es),
             generic=any(e.generic for e in es) and all(e.sure for e in es),
             intval=False, inf=any(e.inf for e in es), bins=bins, varlike=any(e.varlike for e in es),
             ready=ready, stage=stage, bugs=bugs)
    d.update(kw)
    return d


INT_TYPES = ("bool", "int", "u64", "wint")


def is_int(t):
    return t in INT_TYPES


def arith_type(a, b):
    """LANGUAGE.md's promotion for + - * % (weak literals take the other side's family)."""
    if is_int(a) and is_int(b):
        if "u64" in (a, b):
            return "u64"
        return "wint" if a == b == "wint" else "int"
    if a == "wfloat" and b in ("wint", "wfloat") or b == "wfloat" and a in ("wint", "wfloat"):
        return "wfloat"
    if a == "f32" and b in ("f32", "wint", "wfloat") or b == "f32" and a in ("f32", "wint", "wfloat"):
        return "f32"
    return "f64"


def float_type(t):
    return {"f32": "f32", "wfloat": "wfloat", "wint": "wfloat"}.get(t, "f64")


def dtype_typ(name):
    return {"bool": "bool", "u64": "u64", "f32": "f32", "f64": "f64"}.get(name, "int")


def fmt(v):
    """A tem number literal (negative ones in parentheses)."""
    if isinstance(v, (int, np.integer)) or (isinstance(v, float) and v.is_integer() and abs(v) < 1e15):
        s = str(int(v))
    else:
        s = repr(float(v))
    return f"({s})" if s.startswith("-") else s


def lit(v):
    isint = isinstance(v, (int, np.integer))
    return E(fmt(v), v, v, "wint" if isint else "wfloat", intval=isint or float(v).is_integer())


def rnd(r, lo, hi, integer):
    if integer:
        return r.randint(int(math.floor(lo)), int(math.ceil(hi)))
    return round(r.uniform(lo, hi), 3)


# ---- datasets -------------------------------------------------------------------------


class Dataset:
    pass


def make_values(r, nprng, dtype, shape, big):
    """Values of `dtype` with a pattern; returns (array, flags)."""
    n = int(np.prod(shape)) if shape else 1
    flags = dict(generic=False, intval=True)
    if dtype == "bool":
        p = r.choice([0.5, 0.1, 0.9])
        return nprng.random(n).reshape(shape) < p, flags
    if dtype in ("f32", "f64"):
        pat = r.choice(["generic", "generic", "positive", "ints", "nan", "ramp"])
        if pat == "ints":
            a = nprng.integers(-20, 100, n).astype(np.float64)
        elif pat == "ramp":
            a = (np.arange(n) * 7 % 251) + 0.25
            flags["intval"] = False
        else:
            lo = 0.0 if pat == "positive" else -50.0
            a = nprng.uniform(lo, 100.0, n)
            flags.update(generic=True, intval=False)
            if pat == "nan" and not big:
                a[nprng.random(n) < 0.03] = np.nan
                if r.random() < 0.3:
                    a[nprng.random(n) < 0.01] = np.inf
                    a[nprng.random(n) < 0.01] = -np.inf
        return a.reshape(shape).astype(NP_DTYPES[dtype]), flags
    info = np.iinfo(np.dtype(NP_DTYPES[dtype]))
    ranges = {"u8": [(0, 255), (0, 4)], "u16": [(0, 1000), (0, 65535)], "u32": [(0, 100000), (0, 4 * 10**9)],
              "u64": [(0, 100000), (0, 2**40), (2**62, 2**62 + 2**20), (2**64 - 2**20, 2**64 - 1)],
              "i8": [(-128, 127), (-3, 3)], "i16": [(-1000, 1000), (-32768, 32767)],
              "i32": [(-100000, 100000), (-2 * 10**9, 2 * 10**9), (2**31 - 100, 2**31 - 1)],
              "i64": [(-10**6, 10**6), (-2**40, 2**40), (-2**63, -2**63 + 2**20)]}[dtype]
    lo, hi = ranges[0] if big or r.random() < 0.6 else r.choice(ranges[1:])
    lo, hi = max(lo, int(info.min)), min(hi, int(info.max))
    a = nprng.integers(lo, hi, n, endpoint=True, dtype=np.int64 if dtype != "u64" else np.uint64)
    return a.reshape(shape).astype(NP_DTYPES[dtype]), flags


def make_dataset(r, nprng, big):
    ds = Dataset()
    if big:
        ds.nav_rank = r.choice([1, 2, 2, 3])
        ds.sig_rank = 2
        ds.dtype = r.choice(["f64", "f64", "i64", "u64", "f32", "i32", "u32", "u16", "u8"])
        item = np.dtype(NP_DTYPES[ds.dtype]).itemsize
        sy, sx = r.choice([(33, 17), (31, 29), (45, 23), (19, 37), (64, 48)])
        total = r.randint(33 << 20, 45 << 20)
        frames = max(4, total // (sy * sx * item))
        if ds.nav_rank == 1:
            ds.nav = (frames,)
        elif ds.nav_rank == 2:
            nx = r.choice([17, 29, 33, 37, 41])
            ds.nav = (frames // nx, nx)
        else:
            nx = r.choice([7, 11, 13])
            ny = r.choice([5, 9])
            ds.nav = (frames // (nx * ny), ny, nx)
        ds.sig = (sy, sx)
    elif r.random() < 0.06:
        # wide frames (the "rings" theme): thin masks over runs of pixels,
        # tiles of frames for the nav reductions
        ds.wide = True
        ds.nav_rank = r.choice([1, 2, 2])
        ds.sig_rank = 2
        ds.dtype = r.choice(["f32", "f32", "u16", "u16", "f64", "i16", "u8", "i32"])
        ds.sig = r.choice([(61, 64), (67, 59), (80, 71), (96, 96), (97, 90), (64, 128)])
        frames = r.choice([1, 5, 8, 9, 15, 17, 24, 31])
        ds.nav = (frames,) if ds.nav_rank == 1 else (max(1, frames // 3), 3)
    else:
        ds.nav_rank = r.choices([0, 1, 2, 3], [1, 2, 6, 1.5])[0]
        ds.sig_rank = 1 if r.random() < 0.15 else 2
        ds.dtype = r.choice(ALL_DTYPES)
        ext = [1, 2, 3, 5, 6, 7, 9, 11, 13]
        ds.nav = tuple(r.choice(ext[1:] if ds.nav_rank == 1 else ext) for _ in range(ds.nav_rank))
        if ds.sig_rank == 2:
            ds.sig = (r.choice([3, 5, 7, 9, 13, 17, 19, 23, 33]), r.choice([1, 3, 5, 7, 9, 17, 19, 31, 33]))
        else:
            ds.sig = (r.choice([5, 7, 17, 33, 65, 129]),)
        while np.prod(ds.nav + ds.sig) > 40000:
            ds.nav = tuple(max(1, v // 2) for v in ds.nav)
        if ds.nav_rank == 3 and np.prod(ds.nav) > 60:
            ds.nav = (2,) + ds.nav[1:]
        if ds.nav_rank > 0 and r.random() < 0.01:
            ds.nav = (0,) + ds.nav[1:]   # no frames at all
    ds.shape = ds.nav + ds.sig
    ds.values, f = make_values(r, nprng, ds.dtype, ds.shape, big)
    ds.generic, ds.intval = f["generic"], f["intval"]
    with np.errstate(invalid="ignore"):
        fin = ds.values[np.isfinite(ds.values)] if ds.dtype in ("f32", "f64") else ds.values.ravel()
        ds.lo = float(fin.min()) if fin.size else 0.0
        ds.hi = float(fin.max()) if fin.size else 0.0
    ds.has_nan = ds.dtype in ("f32", "f64") and bool(np.isnan(ds.values).any())
    ds.has_inf = ds.dtype in ("f32", "f64") and bool(np.isinf(ds.values).any())
    ds.rename = r.random() < 0.12
    names_nav = {0: [], 1: ["n"], 2: ["ry", "rx"], 3: ["rz", "ry", "rx"]}[ds.nav_rank]
    names_sig = ["q"] if ds.sig_rank == 1 else ["qy", "qx"]
    if ds.rename:
        names_nav = {0: [], 1: ["t"], 2: ["y", "x"], 3: ["z", "y", "x"]}[ds.nav_rank]
        names_sig = ["k"] if ds.sig_rank == 1 else ["ky", "kx"]
    ds.nav_names, ds.sig_names = names_nav, names_sig
    ds.extent = dict(zip(names_nav + names_sig, ds.shape))
    ds.storage = r.choices(["npy", "npy-be", "raw", "flat"], [5, 1.5, 2, 0.7])[0]
    if ds.storage == "flat" and ds.nav_rank < 2 or ds.values.size == 0:
        ds.storage = "npy"
    ds.raw_offset = r.choice([0, 0, 16, 128, 3, 1001]) if ds.storage == "raw" else 0
    ds.raw_big = ds.storage == "raw" and r.random() < 0.4
    ds.frame_bytes = int(np.prod(ds.sig)) * np.dtype(NP_DTYPES[ds.dtype]).itemsize
    frames = int(np.prod(ds.nav)) if ds.nav else 1
    fpp = max(1, PART_BYTES // ds.frame_bytes)
    ds.partitions = (frames + fpp - 1) // fpp
    return ds


def write_dataset(ds, d):
    """Writes the dataset into directory d; returns (spec, extra command-line flags)."""
    a = ds.values
    flags = []
    if ds.storage == "raw":
        dt = a.dtype.newbyteorder(">") if ds.raw_big else a.dtype
        with open(os.path.join(d, "data.raw"), "wb") as f:
            f.write(bytes(range(7)) * (ds.raw_offset // 7) + b"\xff" * (ds.raw_offset % 7))
            f.write(a.astype(dt).tobytes(order="C"))
        q = [f"nav={','.join(map(str, ds.nav))}"] if ds.nav else []
        q += [f"sig={','.join(map(str, ds.sig))}", f"dtype={ds.dtype}"]
        if ds.raw_offset:
            q.append(f"offset={ds.raw_offset}")
        if ds.raw_big:
            q.append("order=big")
        return "raw:data.raw?" + "&".join(q), flags
    if ds.storage == "npy-be":
        np.save(os.path.join(d, "data.npy"), a.astype(a.dtype.newbyteorder(">")))
    elif ds.storage == "flat":
        np.save(os.path.join(d, "data.npy"), a.reshape((-1,) + ds.sig))
        flags += ["--nav", ",".join(map(str, ds.nav))]
    else:
        np.save(os.path.join(d, "data.npy"), a)
    if ds.sig_rank == 1:
        flags += ["--sig", ",".join(map(str, ds.sig))]   # a .npy file's last two axes are sig otherwise
    return "data.npy", flags


# ---- programs ---------------------------------------------------------------------------


class Program:
    """A generated script, the files it needs and how to compare its results."""

    def __init__(self):
        self.lines = []        # statements
        self.bindings = []     # NAME=PATH on the command line
        self.sets = []         # --set P=V
        self.bugs = set()      # known bugs the script as a whole may trigger
        self.outs = {}         # name -> E


class Gen:
    def __init__(self, r, nprng, ds, big):
        self.r, self.np, self.ds, self.big = r, nprng, ds, big
        self.p = Program()
        self.n_let = 0
        self.n_param = 0
        self.lets = {"mask": [], "frame": [], "nav": [], "sig": []}
        self.let_text = {}     # let name -> its expression
        self.welford = {}      # (operand, axes, where) of nav-reducing mean/var/std -> the ops
        self.bin_loops = {}    # (pass, stage) -> bins counts of the reductions that loop over bins
        self.dark = None
        self.w = None
        self.row = None
        self.stem = ds.sig_rank == 2 and r.random() < 0.6
        self.sig_axes = frozenset(ds.sig_names)
        self.nav_axes = frozenset(ds.nav_names)
        self.all_axes = self.sig_axes | self.nav_axes
        # a theme biases the script towards one engine feature: static masks (row bounds),
        # several statistics of one operand (fused states), grouped values (bin loops), nesting
        themes = ["mixed", "masks", "stats", "grouped", "nested"]
        self.theme = "big" if big else r.choices(themes, [4, 1.5, 1.5, 1.2, 1.5])[0]
        if getattr(ds, "wide", False):
            self.theme = "rings"
            self.stem = True
        self.stats_base = None
        # mostly one bins count per script (grouped values combine only with the same count)
        self.bins_counts = [r.choice([1, 2, 3, 4, 5, 7]), r.choice([1, 2, 3, 6])]
        self.budget = 0        # reductions over data so far (bounded for the interp's sake)
        self.max_budget = 6 if big else 40
        self.roi = False

    # ---- helpers ----

    def chance(self, p):
        return self.r.random() < p

    def pick(self, *opts):
        """opts: (weight, fn) pairs; calls one."""
        w = [o[0] for o in opts]
        return self.r.choices(opts, w)[0][1]()

    @property
    def sy(self):
        return self.ds.sig_names[0]

    @property
    def sx(self):
        return self.ds.sig_names[-1]

    def coord(self, name):
        return E(name, 0, max(0, self.ds.extent[name] - 1), "int", axes={name}, intval=True)

    def data(self):
        ds = self.ds
        return E("d", ds.lo, ds.hi, dtype_typ(ds.dtype), axes=self.all_axes, data=True, exact=True,
                 generic=ds.generic, intval=ds.intval, inf=ds.has_inf)

    def param(self, value, integer):
        """A param holding `value`; sometimes declared with another default and --set."""
        name = f"p{self.n_param}"
        self.n_param += 1
        if self.chance(0.3):
            default = value + 1 if integer else round(value + 0.5, 3)
            self.p.lines.append(f"param {name} = {fmt(default)}")
            self.p.sets.append(f"{name}={value}")
        else:
            self.p.lines.append(f"param {name} = {fmt(value)}")
        return E(name, value, value, "wint" if integer else "wfloat", intval=integer or float(value).is_integer())

    def num(self, lo, hi, integer, param_p=0.2):
        v = rnd(self.r, lo, hi, integer)
        return self.param(v, integer) if self.chance(param_p) else lit(v)

    def let(self, e, kind):
        name = f"l{self.n_let}"
        self.n_let += 1
        self.p.lines.append(f"let {name} = {e.text}")
        self.let_text[name] = e.text
        ne = e.copy(text=name)
        self.lets[kind].append(ne)
        return ne

    def reuse(self, kind, p):
        if self.lets[kind] and self.chance(p):
            return self.r.choice(self.lets[kind])
        return None

    # ---- elementwise operators ----

    def binop(self, op, a, b):
        if a.bins and b.bins and a.bins != b.bins:
            return None
        if op in "+-":
            lo, hi = (a.lo + b.lo, a.hi + b.hi) if op == "+" else (a.lo - b.hi, a.hi - b.lo)
            t = arith_type(a.typ, b.typ)
            if t == "u64":
                lo, hi = max(lo, 0), max(hi, 0)
        elif op == "*":
            ps = [a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi]
            lo, hi, t = min(ps), max(ps), arith_type(a.typ, b.typ)
        elif op == "/":
            if b.lo > 0 or b.hi < 0:
                inv = sorted([1 / b.lo, 1 / b.hi])
                ps = [a.lo * inv[0], a.lo * inv[1], a.hi * inv[0], a.hi * inv[1]]
                lo, hi = min(ps), max(ps)
                t = float_type(arith_type(a.typ, b.typ))
                e = E(f"({a.text} / {b.text})", lo, hi, t, **merge(a, b))
                return e if e.maxabs <= LIMIT else None
            if not (b.exact and b.intval):
                return None
            # an exact integer divisor: |a / b| <= |a| except where b == 0 (inf, nan)
            m = a.maxabs
            return E(f"({a.text} / {b.text})", -m, m, float_type(arith_type(a.typ, b.typ)),
                     **merge(a, b, inf=True))
        else:
            raise ValueError(op)
        e = E(f"({a.text} {op} {b.text})", lo, hi, t, **merge(a, b, intval=a.intval and b.intval))
        if a.text == b.text:
            e.generic = False
        return e if e.maxabs <= LIMIT else None

    def safe_divisor(self, b):
        """b itself when it cannot come near zero (or is an exact integer), else abs(b) + 1."""
        if b.lo >= 0.5 or b.hi <= -0.5 or (b.exact and b.intval and self.chance(0.5)):
            return b
        return E(f"(abs({b.text}) + 1)", 1, b.maxabs + 1, arith_type(b.typ, "wint"), **merge(b, intval=b.intval))

    def unary(self, a):
        """A math builtin of a, keeping values moderate and domains safe."""
        m = a.maxabs
        t = float_type(a.typ) if a.typ != "wint" else "f64"
        if a.typ in ("int", "u64", "bool"):
            t = "f64"
        kw = merge(a)
        sure = a.sure
        rt = "int" if is_int(a.typ) else a.typ   # floor, ceil: floats keep their type
        choices = [
            (2, lambda: E(f"abs({a.text})", 0 if a.lo <= 0 <= a.hi else min(abs(a.lo), abs(a.hi)), m,
                          a.typ if a.typ != "bool" and a.typ != "wint" else "int", **merge(a, intval=a.intval))),
            (2, lambda: E(f"sqrt(abs({a.text}))", 0, math.sqrt(m), t, **kw)),
            (1, lambda: E(f"log1p(abs({a.text}))", 0, math.log1p(m), t, **kw)),
            (1, lambda: E(f"log(abs({a.text}) + 1)", 0, math.log1p(m), t, **kw)),
            (1.5, lambda: self.scaled_exp(a, t)),
            (1, lambda: E(f"sin({a.text})", -1, 1, t, **kw)),
            (1, lambda: E(f"cos({a.text})", -1, 1, t, **kw)),
            (1, lambda: E(f"atan({a.text})", -1.6, 1.6, t, **kw)),
            (0.5, lambda: self.scaled(a, "tan", 1.2, 2.6, t)),
            (0.5, lambda: self.scaled(a, "asin", 1.0, 1.6, t)),
            (0.5, lambda: self.scaled(a, "acos", 1.0, 3.2, t)),
            (1, lambda: E(f"hypot({a.text}, 3)", 0, math.hypot(m, 3), t, **kw)),
        ]
        if sure:
            choices += [
                (1, lambda: E(f"floor({a.text})", math.floor(a.lo), math.ceil(a.hi), rt,
                              **merge(a, intval=True, generic=False, exact=True))),
                (1, lambda: E(f"ceil({a.text})", math.floor(a.lo), math.ceil(a.hi), rt,
                              **merge(a, intval=True, generic=False, exact=True))),
                (1, lambda: E(f"round({a.text} / 3)", math.floor(a.lo / 3), math.ceil(a.hi / 3),
                              float_type(a.typ), **merge(a, intval=True, generic=False, exact=True))),
            ]
            if a.exact:
                # exact values may leave the domain on purpose: NaN and -inf at the same places in both engines
                choices += [
                    (0.7, lambda: E(f"sqrt({a.text})", 0, math.sqrt(max(a.hi, 0)), t, **merge(a, inf=a.inf))),
                    (0.7, lambda: E(f"log({a.text})", math.log(max(a.lo, 1e-300)) if a.lo > 0 else -800,
                                    math.log(max(a.hi, 1)), t, **merge(a, inf=True))),
                ]
        if a.lo > 0.5:
            choices.append((1, lambda: E(f"log({a.text})", math.log(a.lo), math.log(a.hi), t, **kw)))
        return self.pick(*choices)

    def scaled(self, a, fn, bound, out, t):
        s = max(1.0, a.maxabs / bound)
        s = float(math.ceil(s))
        inner = f"{a.text} / {fmt(s)}" if s > 1 else a.text
        return E(f"{fn}({inner})", -out, out, t, **merge(a))

    def scaled_exp(self, a, t):
        s = max(1.0, math.ceil(a.maxabs / 5.0))
        inner = f"{a.text} / {fmt(s)}" if s > 1 else a.text
        return E(f"exp({inner})", 0, math.exp(5), t, **merge(a))

    def cast(self, a):
        opts = ["f32", "f64", "i64", "u8", "i8", "u16", "i16", "i32", "u32", "u64", "bool"]
        if not a.sure:
            opts = ["f32", "f64"]
        c = self.r.choice(opts)
        kw = merge(a)
        if c in ("f32", "f64"):
            return E(f"{c}({a.text})", a.lo, a.hi, c, **merge(a, intval=a.intval))
        if c == "bool":
            return E(f"bool({a.text})", 0, 1, "bool", **merge(a, intval=True, exact=True, generic=False, inf=False))
        info = np.iinfo(np.dtype(NP_DTYPES[c]))
        lo = min(max(math.trunc(a.lo), int(info.min)), int(info.max))
        hi = min(max(math.trunc(a.hi), int(info.min)), int(info.max))
        if a.inf:
            lo, hi = min(lo, max(int(info.min), -int(LIMIT))), max(hi, min(int(info.max), int(LIMIT)))
        lo, hi = min(lo, 0), max(hi, 0)  # NaN becomes 0
        kw.update(intval=True, exact=True, generic=False, inf=False)
        if max(abs(lo), abs(hi)) > LIMIT:
            return None
        return E(f"{c}({a.text})", lo, hi, "u64" if c == "u64" else "int", **kw)

    def modulo(self, a):
        if not a.sure:
            return None
        k = self.r.choice([2, 3, 5, 7, 2.5, -3, 0]) if self.chance(0.3) else self.r.choice([2, 3, 5, 7])
        kk = lit(k)
        t = arith_type(a.typ, kk.typ)
        m = abs(k)
        intval = a.intval and isinstance(k, int)
        return E(f"({a.text} % {kk.text})", min(0, -m), m, t,
                 **merge(a, intval=intval, generic=False, exact=True, inf=False))

    def ifelse(self, c, a, b):
        if a.bins and b.bins and a.bins != b.bins or c.bins and (a.bins or b.bins) and c.bins != max(a.bins, b.bins):
            return None
        t = "bool" if a.typ == b.typ == "bool" else arith_type(a.typ, b.typ)
        return E(f"(if {c.text} then {a.text} else {b.text})", min(a.lo, b.lo), max(a.hi, b.hi), t,
                 **merge(c, a, b, intval=a.intval and b.intval))

    # ---- reductions ----

    def axes_text(self, spec, op):
        if isinstance(spec, str):
            return spec
        if len(spec) == 1 and op in ("sum", "mean", "count") and self.chance(0.3):
            return spec[0]
        return "(" + ", ".join(spec) + ")"

    def expand(self, text):
        """`text` with let names replaced by their expressions (tem compares expressions, not names)."""
        for _ in range(20):
            new = re.sub(r"\bl\d+\b", lambda m: f"({self.let_text.get(m.group(0), m.group(0))})", text)
            if new == text:
                break
            text = new
        return text

    def reduce(self, op, x, spec, where=None, by=None, bins=0, omit_axes=False, force_text=None):
        """op(x, spec, where=, by=, bins=) and what is known about it (None if not allowed)."""
        if op in ("count", "any", "all", "argmin", "argmax") and not x.sure:
            return None
        if where is not None and (not where.sure or where.typ != "bool"):
            return None
        if by is not None and (not by.sure or not is_int(by.typ) or x.bins or (where is not None and where.bins)):
            return None
        if where is not None and x.bins and where.bins and x.bins != where.bins:
            return None
        w_axes = where.axes if where is not None else frozenset()
        space = x.axes | w_axes | (by.axes if by is not None else frozenset())
        if by is not None:
            space -= {"bin"}
        elif "bin" in w_axes:
            space |= {"bin"}
        if spec == "sig":
            red = self.sig_axes
        elif spec == "nav":
            red = self.nav_axes
        elif spec == "all":
            red = space
        elif spec == "bin":
            red = frozenset({"bin"})
        else:
            red = frozenset(spec)
        res_axes = (space - red) | ({"bin"} if by is not None else frozenset())
        xb = max(x.bins, where.bins if where is not None else 0)
        n = 1
        for a in red:
            n *= (bins or xb) if a == "bin" else self.ds.extent[a]
        if x.data and not (red & self.sig_axes or red & self.nav_axes):
            return None
        if x.data and res_axes >= self.all_axes and self.ds.nav_rank > 0:
            return None
        kids = [x] + [k for k in (where, by) if k is not None]
        ready, stage, bugs = plan_combine(kids)
        if stage != NOT_LOCAL:   # a pass reduction
            frame_local = not (red & self.nav_axes)
            if red and red < self.nav_axes:
                bugs |= {"partial-nav"}
            if op in ("mean", "var", "std") and not frame_local and by is None:
                # a mean over nav beside a var/std of the same values (once read from Welford's state)
                key = (self.expand(x.text), red, self.expand(where.text) if where is not None else None)
                ops = self.welford.setdefault(key, set())
                if (op == "mean" and ops & {"var", "std"}) or (op != "mean" and "mean" in ops):
                    tags = {"welford-mean"} | ({"welford-inf"} if x.inf else set())
                    if tags & AVOID:
                        return None
                    bugs |= tags
                    self.p.bugs.update(tags)
                ops.add(op)
            if op in ("var", "std") and not frame_local and x.maxabs > 1e5 * max(x.hi - x.lo, 1e-300):
                if "var-offset" in AVOID:
                    return None
                bugs |= {"var-offset"}
                self.p.bugs.add("var-offset")
            if xb and by is None:
                # a loop over the bins axis in stage `stage + 1` of pass `ready`
                key = (ready, stage + 1)
                counts = self.bin_loops.setdefault(key, set())
                if counts - {xb}:
                    if "bin-group" in AVOID:
                        return None
                    bugs |= {"bin-group"}
                    self.p.bugs.add("bin-group")
                counts.add(xb)
            ready, stage = (ready, stage + 1) if frame_local else (ready + 1, NOT_LOCAL)
        dep = x.dep or (where is not None and where.dep) or (by is not None and by.dep)
        kw = dict(axes=res_axes, data=False, dep=dep,
                  bins=bins if by is not None else (xb if "bin" in res_axes else 0), inf=x.inf,
                  varlike=x.varlike, ready=ready, stage=stage, bugs=bugs)
        m = x.maxabs
        if op == "sum":
            lo, hi = min(0, n * x.lo), max(0, n * x.hi)
            exact = x.exact and x.intval and n * m < EXACT_SUM and not x.inf
            e = E(None, lo, hi, "f64", exact=exact, generic=x.generic and not exact, intval=x.intval, **kw)
        elif op == "mean":
            exact = x.exact and x.intval and n * m < EXACT_SUM and not x.inf
            e = E(None, x.lo, x.hi, "f64", exact=exact, generic=x.generic and not exact, intval=False, **kw)
        elif op in ("var", "std"):
            span = x.hi - x.lo
            hi = span * span / 4 if op == "var" else span / 2
            # the variance of integers over one cell can be exactly zero or an integer: only generic data is safe
            kw["varlike"] = True
            e = E(None, 0, hi, "f64", exact=False, generic=x.generic, intval=False, **kw)
        elif op in ("min", "max"):
            t = x.typ if x.typ not in ("wint", "wfloat") else ("int" if x.typ == "wint" else "f64")
            e = E(None, x.lo, x.hi, t, exact=x.exact, generic=x.generic, intval=x.intval, **kw)
        elif op == "count":
            kw["inf"] = False
            e = E(None, 0, n, "int", exact=True, intval=True, **kw)
        elif op in ("any", "all"):
            kw["inf"] = False
            e = E(None, 0, 1, "bool", exact=True, intval=True, **kw)
        else:
            kw["inf"] = False
            e = E(None, -1, n - 1, "int", exact=True, intval=True, **kw)
        if where is not None:
            e.varlike = e.varlike or where.varlike
        args = [x.text]
        if not omit_axes:
            args.append(force_text or self.axes_text(spec if isinstance(spec, str) else list(spec), op))
        if where is not None:
            args.append(f"where = {where.text}")
        if by is not None:
            args.append(f"by = {by.text}")
            args.append(f"bins = {bins if isinstance(bins, int) else bins}")
        e.text = f"{op}({', '.join(args)})"
        if e.maxabs > LIMIT * 100:
            return None
        self.budget += 1
        return e

    def random_axes(self, allow_nav=True, allow_sig=True):
        """sig | nav | all | a list of axis names."""
        opts = []
        if allow_sig:
            opts += [(4, "sig")]
        if allow_nav and self.ds.nav_rank > 0:
            opts += [(2.5, "nav")]
        if allow_nav and allow_sig:
            opts += [(1, "all")]
        names = [a for a in self.ds.nav_names if allow_nav] + [a for a in self.ds.sig_names if allow_sig]
        if names:
            opts += [(2.5, "list")]
        s = self.r.choices([o[1] for o in opts], [o[0] for o in opts])[0]
        if s == "list":
            k = self.r.randint(1, len(names))
            chosen = set(self.r.sample(names, k))
            return tuple(a for a in self.ds.nav_names + self.ds.sig_names if a in chosen)
        return s

    # ---- generators of values by kind ----

    def sig_value(self):
        """A sig-kind number (hoisted before the pass)."""
        ds = self.ds
        got = self.reuse("sig", 0.3)
        if got:
            return got
        sy, sx = self.sy, self.sx
        cy = self.num(0, ds.extent[sy] - 1, self.chance(0.6))
        opts = [(2, lambda: self.binop("-", self.coord(sy), cy)),
                (1, lambda: self.binop("+", self.binop("*", self.coord(sy), lit(self.r.choice([2, 3, -1]))),
                                       self.coord(sx)))]
        if ds.sig_rank == 2:
            cx = self.num(0, ds.extent[sx] - 1, self.chance(0.6))
            opts.append((3, lambda: E(f"hypot({sy} - {cy.text}, {sx} - {cx.text})", 0,
                                      math.hypot(max(ds.extent[sy], 1), max(ds.extent[sx], 1)), "f64",
                                      axes={sy, sx}, intval=False)))
            opts.append((1, lambda: E(f"atan2({sy} - {cy.text}, {sx} - {cx.text})", -3.2, 3.2, "f64", axes={sy, sx})))
            if self.stem:
                opts.append((1, lambda: E(f"radius({cy.text}, {cx.text})", 0,
                                          math.hypot(ds.extent[sy], ds.extent[sx]), "f64", axes={sy, sx})))
        if self.dark is not None:
            opts.append((2, lambda: self.dark))
        if self.row is not None:
            opts.append((1, lambda: self.row))
        if ds.nav_rank > 0 and self.budget < self.max_budget and self.chance(0.5):
            # a sig-kind result of the data: the operand of a later pass
            opts.append((2, lambda: self.reduce(self.r.choice(["mean", "max", "min", "sum"]),
                                                self.frame_value(1), "nav")))
        e = self.pick(*opts)
        if e is None:
            return self.coord(sx)
        if self.chance(0.15):
            e = self.let(e, "sig")
        return e

    def nav_value(self):
        """A nav-kind number (once per frame)."""
        ds = self.ds
        got = self.reuse("nav", 0.3)
        if got:
            return got
        opts = []
        if ds.nav_rank > 0:
            a = self.r.choice(ds.nav_names)
            opts.append((1.5, lambda: self.coord(a)))
            opts.append((1, lambda: self.binop("+", self.binop("*", self.coord(a), lit(self.r.choice([2, 3]))),
                                               self.coord(self.r.choice(ds.nav_names)))))
        if self.w is not None:
            opts.append((2, lambda: self.w))
        if self.budget < self.max_budget:
            opts.append((3, lambda: self.reduce(self.r.choice(["sum", "mean", "max", "min", "std", "count", "argmax"]),
                                                self.frame_value(1), "sig")))
            if self.theme == "grouped":
                opts.append((2, lambda: self.bin_of_grouped()))
        if not opts:
            return lit(self.r.randint(1, 5))
        e = self.pick(*opts)
        if e is None or "bin" in e.axes:
            return lit(self.r.randint(1, 5))
        if self.chance(0.15) and not e.bins:
            e = self.let(e, "nav")
        return e

    def bin_of_grouped(self):
        """max(sum(d, sig, by = key, bins = N), bin) and friends: a nav-kind value reduced over bins."""
        bins = self.bins_counts[0] if self.chance(0.8) else self.bins_counts[1]
        by = self.key("sig", bins)
        if by is None or self.ds.nav_rank == 0:
            return None
        g = self.reduce(self.r.choice(["sum", "mean", "max", "count"]), self.frame_value(0), "sig", by=by, bins=bins)
        if g is None:
            return None
        return self.reduce(self.r.choice(["sum", "max", "min", "argmax", "argmin", "count"]), g, "bin")

    def other_value(self):
        """Something to combine with frame-kind values: a literal, param, sig- or nav-kind value."""
        return self.pick((3, lambda: self.num(-5, 20, self.chance(0.5))),
                         (2, self.sig_value),
                         (2, self.nav_value),
                         (0.5, lambda: self.scalar_of_data()))

    def scalar_of_data(self):
        if self.budget >= self.max_budget:
            return lit(2)
        e = self.reduce(self.r.choice(["sum", "mean", "max", "min", "var"]), self.frame_value(1), "all")
        return e if e is not None else lit(2)

    # ---- frame-kind values ----

    def index(self, a, allow_data=True):
        """An index expression along axis `a` (reads outside the frame or array give 0); returns
        (text, known bugs it triggers)."""
        ds = self.ds
        k = self.r.choice([-2, -1, 0, 0, 1, 1, 2])
        u = self.r.random()
        if u < 0.1:
            return f"{ds.extent[a] - 1} - {a}", frozenset()
        if u < 0.17:
            return f"{a} * 2", frozenset()
        if u < 0.25 and self.w is not None and self.w.intval:
            return f"{a} + i64({self.w.text}) % 3", frozenset()
        if u < 0.3 and allow_data and ds.intval:
            return f"i64(d) % {ds.extent[a] + 2}", frozenset()
        if u < 0.32:
            # far outside: i64 saturates at +-2^63
            return self.r.choice([f"{a} - i64(1e19)", f"{a} + 1000000", "i64(-1e30)"]), frozenset()
        if u < 0.33:
            return self.r.choice(["i64(1e30)", f"i64(1e19) + {a}"]), frozenset({"huge-index"})
        return (a if k == 0 else (f"{a} + {k}" if k > 0 else f"{a} - {-k}")), frozenset()

    def stencil(self):
        ds = self.ds
        idx, bugs = [], frozenset()
        for a in ds.sig_names:
            t, b = self.index(a)
            idx.append(t)
            bugs |= b
        if all(i == a for i, a in zip(idx, ds.sig_names)) and self.chance(0.8):
            a = ds.sig_names[-1]
            idx[-1] = f"{a} + 1"
        lo, hi = min(ds.lo, 0), max(ds.hi, 0)
        e = E(f"d[{', '.join(idx)}]", lo, hi, dtype_typ(ds.dtype), axes=self.all_axes, data=True,
              generic=False, intval=ds.intval, inf=ds.has_inf, bugs=bugs)
        if self.w is not None and "w)" in e.text:
            e.axes = self.all_axes
        return e

    def dark_stencil(self):
        idx, bugs = [], frozenset()
        for a in self.ds.sig_names:
            t, b = self.index(a, allow_data=False)
            idx.append(t)
            bugs |= b
        dk = self.dark
        axes = self.sig_axes | (self.nav_axes if any("w)" in i for i in idx) else frozenset())
        return E(f"dark[{', '.join(idx)}]", min(dk.lo, 0), max(dk.hi, 0), dk.typ, axes=axes, intval=dk.intval,
                 generic=False, bugs=bugs)

    def atom(self):
        opts = [(5, self.data), (2, self.stencil)]
        if self.dark is not None:
            opts.append((1.5, lambda: self.binop(self.r.choice("-+"), self.data(), self.dark)))
            opts.append((0.7, lambda: self.binop(self.r.choice("-+*"), self.data(), self.dark_stencil())))
        if self.w is not None:
            opts.append((1, lambda: self.binop("*", self.data(), self.w)))
        e = self.pick(*opts)
        return e if e is not None else self.data()

    def frame_value(self, depth):
        """A frame-kind value: a function of the current element (and more)."""
        if depth <= 0 or self.chance(0.25):
            got = self.reuse("frame", 0.2)
            return got if got else self.atom()
        sub = lambda: self.frame_value(depth - 1)  # noqa: E731
        opts = [
            (3, lambda: self.binop(self.r.choice("+-*"), sub(), self.other_value())),
            (1.5, lambda: self.binop(self.r.choice("+-*"), sub(), sub())),
            (1.5, lambda: self.binop("/", sub(), self.safe_divisor(self.other_value()))),
            (0.7, lambda: self.binop("/", sub(), self.safe_divisor(sub()))),
            (2.5, lambda: self.unary(sub())),
            (1.2, lambda: self.cast(sub())),
            (0.8, lambda: self.modulo(sub())),
            (1.2, lambda: self.ifelse(self.cond("any", depth - 1), sub(), self.pick((1, sub), (1, self.other_value)))),
            (0.8, lambda: self.minmax2(sub(), self.other_value())),
            (0.6, lambda: self.power(sub())),
            (1.0, lambda: self.binop("*", sub(), self.cond("sig", 0))),
        ]
        if self.budget < self.max_budget:
            nest = 3 if self.theme == "nested" else 1
            opts += [
                (1.5 * nest, lambda: self.same_frame(depth)),
                (1.0 * nest, lambda: self.next_pass(depth)),
            ]
            if self.theme == "grouped":
                opts.append((1.5, lambda: self.binop(self.r.choice("+*-"), sub(), self.grouped_value() or lit(1))))
        for _ in range(4):
            e = self.pick(*opts)
            if e is not None and e.data and e.maxabs <= LIMIT:
                if self.chance(0.08) and not e.bins:
                    e = self.let(e, "frame")
                return e
        return self.atom()

    def minmax2(self, a, b):
        if a.bins and b.bins and a.bins != b.bins:
            return None
        f = self.r.choice(["min", "max", "clamp"])
        if f == "clamp":
            lo = rnd(self.r, a.lo, (a.lo + a.hi) / 2, a.intval)
            hi = rnd(self.r, (a.lo + a.hi) / 2, a.hi, a.intval)
            return E(f"clamp({a.text}, {fmt(lo)}, {fmt(hi)})", min(lo, hi), max(lo, hi), arith_type(a.typ, "wint"),
                     **merge(a, intval=a.intval))
        lo = min(a.lo, b.lo) if f == "min" else max(a.lo, b.lo)
        hi = min(a.hi, b.hi) if f == "min" else max(a.hi, b.hi)
        return E(f"{f}({a.text}, {b.text})", lo, hi, arith_type(a.typ, b.typ),
                 **merge(a, b, intval=a.intval and b.intval))

    def power(self, a):
        k = self.r.choice([2, 2, 3, 0.5, -1])
        if k == 2:
            if a.maxabs ** 2 > LIMIT:
                return None
            return E(f"({a.text} ** 2)", 0, a.maxabs ** 2, float_type(a.typ), **merge(a))
        if k == 3:
            if a.maxabs ** 3 > LIMIT:
                return None
            return E(f"({a.text} ** 3)", -a.maxabs ** 3, a.maxabs ** 3, float_type(a.typ), **merge(a))
        if k == 0.5:
            if a.exact:   # negative bases give NaN, at the same places in both engines
                return E(f"({a.text} ** 0.5)", 0, math.sqrt(max(a.hi, 0)), float_type(a.typ), **merge(a))
            return E(f"(abs({a.text}) ** 0.5)", 0, math.sqrt(a.maxabs), float_type(a.typ), **merge(a))
        d = self.safe_divisor(a)
        if d is a and not (a.lo >= 0.5 or a.hi <= -0.5):
            return E(f"({a.text} ** (-1))", -1, 1, float_type(a.typ), **merge(a, inf=True))
        return E(f"({d.text} ** (-1))", -1, 1, float_type(d.typ), **merge(d))

    def same_frame(self, depth):
        """x combined with a reduction of the same frame (the next stage of the same pass)."""
        x = self.frame_value(depth - 1)
        op = self.r.choice(["min", "max", "sum", "mean", "std", "count", "argmax", "any"])
        spec = "sig"
        if self.chance(0.25):
            spec = (self.r.choice(self.ds.sig_names),)
        inner = self.frame_value(depth - 1) if self.chance(0.4) else x
        where = self.cond("any", 0) if self.chance(0.25) else None
        red = self.reduce(op, inner, spec, where=where)
        if red is None:
            return None
        form = self.r.choice(["sub", "div", "mul", "add"])
        if op == "min" and inner is x and not x.inf and where is None and spec == "sig" and form == "sub":
            # x - min(x, sig) >= 0 exactly: the same values in both stages
            return E(f"({x.text} - {red.text})", 0, x.hi - x.lo, arith_type(x.typ, red.typ),
                     **merge(x, red, intval=x.intval and red.intval))
        if form == "div":
            return self.binop("/", x, self.safe_divisor(self.binop("+", red, lit(1)) or red))
        return self.binop({"sub": "-", "mul": "*", "add": "+"}[form], x, red)

    def next_pass(self, depth):
        """x combined with a reduction over nav (or all): the next pass."""
        if self.ds.nav_rank == 0 and self.chance(0.7):
            return None
        x = self.frame_value(depth - 1)
        op = self.r.choice(["mean", "mean", "max", "min", "sum", "var", "argmin"])
        spec = self.r.choice(["nav", "nav", "all"]) if self.ds.nav_rank > 0 else "all"
        if self.ds.nav_rank > 1 and self.chance(0.2):
            spec = (self.r.choice(self.ds.nav_names),)
        inner = x if self.chance(0.6) else self.frame_value(depth - 1)
        red = self.reduce(op, inner, spec)
        if red is None:
            return None
        if self.chance(0.3):
            diff = self.binop("-", x, red)
            return self.power(diff) if diff is not None and self.chance(0.5) else diff
        return self.binop(self.r.choice(["-", "+", "*", "/"]), x,
                          red if self.chance(0.5) else self.safe_divisor(red))

    # ---- conditions ----

    def threshold(self, e):
        lo, hi = e.lo, e.hi
        if e.intval:
            v = self.r.randint(int(math.floor(lo)), int(math.ceil(hi)))
            if self.chance(0.2):
                v += 0.5
            return lit(v) if not self.chance(0.15) else self.param(v, isinstance(v, int))
        return self.num(lo, hi, False, 0.15)

    def compare(self, e):
        if e is None or not e.sure:
            return None
        op = self.r.choice(["<", "<=", ">", ">=", "==", "!="] if e.intval else ["<", ">", "<=", ">=", "!="])
        t = self.threshold(e)
        return E(f"({e.text} {op} {t.text})", 0, 1, "bool",
                 **merge(e, t, intval=True, exact=True, generic=False, inf=False))

    def cond(self, kind, depth):
        """A bool condition of the given kind: sig | nav | frame | any."""
        if kind == "any":
            kind = self.r.choice(["sig", "sig", "nav", "frame", "frame"])
        if kind == "nav" and self.ds.nav_rank == 0 and self.w is None:
            kind = "sig"
        for _ in range(6):
            e = {"sig": self.sig_cond, "nav": self.nav_cond, "frame": self.frame_cond}[kind](depth)
            if e is not None and e.typ == "bool" and e.sure:
                if depth > 0 and self.chance(0.3):
                    o = self.cond(self.r.choice(["sig", "nav", "frame"]), depth - 1)
                    if o is not None and not (o.bins and e.bins and o.bins != e.bins):
                        e = E(f"({e.text} {self.r.choice(['and', 'or'])} {o.text})", 0, 1, "bool",
                              **merge(e, o, intval=True, exact=True, generic=False))
                if self.chance(0.1):
                    e = e.copy(text=f"(not {e.text})")
                return e
        return E("true", 1, 1, "bool", intval=True)

    def sig_cond(self, depth):
        got = self.reuse("mask", 0.35)
        if got:
            return got
        ds = self.ds
        sy, sx = self.sy, self.sx
        opts = [(1.5, lambda: self.compare(self.coord(sx))),
                (1, lambda: E(f"(({sy} + {sx}) % 2 == 0)", 0, 1, "bool", axes=self.sig_axes, intval=True)),
                (2, lambda: self.compare(self.sig_value()))]
        if ds.sig_rank == 2:
            cy = self.num(0, ds.extent[sy] - 1, self.chance(0.5), 0.4)
            cx = self.num(0, ds.extent[sx] - 1, self.chance(0.5), 0.4)
            r = self.num(0.5, max(ds.extent[sy], ds.extent[sx]) / 2 + 1, self.chance(0.4), 0.4)
            opts.append((3, lambda: E(f"(hypot({sy} - {cy.text}, {sx} - {cx.text}) < {r.text})", 0, 1, "bool",
                                      axes=self.sig_axes, intval=True)))
            if self.stem:
                ri = self.num(0, 3, self.chance(0.5))
                rect = (self.r.randint(-1, 3), self.r.randint(0, 3), self.r.randint(1, 6), self.r.randint(1, 6))
                point = (self.r.randint(0, ds.extent[sy] - 1), self.r.randint(0, ds.extent[sx] - 1))
                mask = lambda text: E(text, 0, 1, "bool", axes=self.sig_axes, intval=True)  # noqa: E731
                opts += [(2, lambda: mask(f"disk({cy.text}, {cx.text}, {r.text})")),
                         (1.5, lambda: mask(f"ring({cy.text}, {cx.text}, {ri.text}, {r.text})")),
                         (0.7, lambda: mask(f"rect({', '.join(map(str, rect))})")),
                         (0.4, lambda: mask(f"point({point[0]}, {point[1]})"))]
        e = self.pick(*opts)
        if e is not None and self.chance(0.3) and not e.dep:
            e = self.let(e, "mask")
        return e

    def nav_cond(self, depth):
        ds = self.ds
        opts = [(2, lambda: self.compare(self.nav_value()))]
        if ds.nav_rank > 0:
            a = self.r.choice(ds.nav_names)
            k = self.r.randint(0, max(0, ds.extent[a] - 1))
            opts.append((2, lambda: E(f"({a} != {k})", 0, 1, "bool", axes={a}, intval=True)))
        return self.pick(*opts)

    def frame_cond(self, depth):
        ds = self.ds
        opts = [(3, lambda: self.compare(self.data())),
                (1.5, lambda: self.compare(self.frame_value(max(depth, 0) + 1))),
                (1, lambda: self.compare(self.stencil()))]
        if ds.dtype == "bool":
            opts.append((3, self.data))
        if ds.has_nan or ds.has_inf or self.chance(0.1):
            opts.append((1.5, lambda: E("isnan(d)", 0, 1, "bool", axes=self.all_axes, data=True, intval=True)))
        if ds.intval or ds.generic:
            opts.append((1, lambda: self.differs_from_neighbour()))
        if self.budget < self.max_budget and (ds.intval or ds.generic):
            opts.append((1, lambda: self.data_vs_reduction()))
        return self.pick(*opts)

    def differs_from_neighbour(self):
        s = self.stencil()
        return E(f"(d != {s.text})", 0, 1, "bool", **merge(self.data(), s, intval=True, exact=True, generic=False,
                                                           inf=False))

    def data_vs_reduction(self):
        op = self.r.choice(["mean", "max", "min", "sum"])
        spec = "sig" if self.ds.nav_rank == 0 or self.chance(0.6) else "nav"
        red = self.reduce(op, self.data(), spec)
        if red is None or not red.sure:
            return None
        if op == "sum":
            red = self.binop("/", red, lit(self.r.choice([4, 16, 64])))
            if red is None:
                return None
        cmp = self.r.choice(["<", ">", ">=", "<="])
        return E(f"(d {cmp} {red.text})", 0, 1, "bool",
                 **merge(self.data(), red, intval=True, exact=True, generic=False))

    # ---- grouping keys ----

    def key(self, kind, bins):
        ds = self.ds
        sy, sx = self.sy, self.sx
        opts = []
        if kind in ("sig", "any"):
            if ds.sig_rank == 2:
                cy, cx = self.r.randint(0, ds.extent[sy] - 1), self.r.randint(0, ds.extent[sx] - 1)
                fn = "i64(radius" if self.stem and self.chance(0.5) else "i64(hypot"
                txt = (f"i64(radius({cy}, {cx}))" if fn == "i64(radius" else f"i64(hypot({sy} - {cy}, {sx} - {cx}))")
                opts.append((3, lambda: E(txt, 0, 99, "int", axes=self.sig_axes, intval=True)))
            opts.append((2, lambda: E(f"({sx} % {bins})", 0, bins - 1, "int", axes={sx}, intval=True)))
            opts.append((1, lambda: E(f"({sy} - {self.r.randint(0, 2)})", -2, 99, "int", axes={sy}, intval=True)))
            if self.dark is not None and self.dark.sure:
                opts.append((1, lambda: E(f"(i64({self.dark.text}) % {bins})", 0, bins - 1, "int", axes=self.sig_axes,
                                          intval=True)))
        if kind in ("nav", "any") and ds.nav_rank > 0:
            a = self.r.choice(ds.nav_names)
            opts.append((2, lambda: self.coord(a)))
            opts.append((1, lambda: E(f"(({' + '.join(ds.nav_names)}) % {bins})", 0, bins - 1, "int",
                                      axes=self.nav_axes, intval=True)))
            if self.w is not None:
                opts.append((1, lambda: E(f"(i64({self.w.text}) % {bins})", 0, bins - 1, "int", axes=self.nav_axes,
                                          intval=True)))
        if kind in ("frame", "any"):
            opts.append((2, lambda: self.data_key(bins)))
            opts.append((0.7, lambda: self.compare(self.data())))
        e = self.pick(*opts) if opts else None
        return e

    def data_key(self, bins):
        ds = self.ds
        if not (ds.intval or ds.generic):
            return None
        span = max(ds.hi - ds.lo, 1)
        s = max(1, math.ceil(span / bins))
        if self.chance(0.5):
            return E(f"(i64(d) % {bins})", -bins, bins, "int", axes=self.all_axes, data=True, intval=True)
        return E(f"i64((d - {fmt(ds.lo)}) / {s})", 0, bins, "int", axes=self.all_axes, data=True, intval=True)

    # ---- outputs ----

    def basic_out(self):
        op = self.r.choices(REDUCTIONS, [5, 3, 2, 2, 2, 1.5, 1.5, 1, 1, 1.2, 1.2])[0]
        x = self.frame_value(self.r.choice([2, 3, 3, 4] if self.theme == "nested" else [0, 1, 1, 2, 2, 3]))
        if op in ("count", "any", "all") and self.chance(0.6):
            x = self.cond("frame", 1)
        spec = self.random_axes()
        where = self.cond("any", 1) if self.chance(0.4) else None
        by, bins = None, 0
        if self.chance(0.18) and not x.bins:
            bins = self.r.choice([1, 2, 3, 4, 5, 7])
            kind = "nav" if spec == "nav" else ("sig" if spec == "sig" else "any")
            by = self.key(kind, bins)
            if by is None:
                bins = 0
        omit = spec == "all" and self.chance(0.5)
        bins_text = None
        if by is not None and self.chance(0.25):
            bins_text = self.param(bins, True).text
        e = self.reduce(op, x, spec, where=where, by=by, bins=bins, omit_axes=omit)
        if e is not None and bins_text is not None:
            e.text = e.text.replace(f"bins = {bins})", f"bins = {bins_text})")
        return e

    def mask_out(self):
        """A reduction over sig (or all) with a static mask, and sometimes a data condition too:
        the JIT skips the columns outside every mask of a loop group."""
        op = self.r.choices(REDUCTIONS, [5, 3, 2, 2, 2, 1.5, 1.5, 1, 1, 1.5, 1.5])[0]
        x = self.frame_value(self.r.choice([0, 0, 1, 2]))
        if op in ("count", "any", "all") and self.chance(0.5):
            x = self.cond("frame", 0)
        where = self.sig_cond(0)
        if where is None or where.typ != "bool":
            return None
        if self.chance(0.3):
            o = self.cond(self.r.choice(["frame", "nav"]), 0)
            where = E(f"({where.text} and {o.text})", 0, 1, "bool", **merge(where, o, intval=True, exact=True,
                                                                              generic=False))
        spec = self.r.choice(["sig", "sig", "sig", "all", "nav", tuple(self.ds.sig_names)])
        if spec == "nav" and self.ds.nav_rank == 0:
            spec = "sig"
        return self.reduce(op, x, spec, where=where)

    def ring_out(self):
        """A reduction over sig under a thin ring (width 1-4) of wide frames: the JIT visits the
        runs of pixels of such masks, and sums of one operand over several rings share one loop;
        now and then a statistic over nav of the data (tiles of frames)."""
        ds = self.ds
        sy, sx = self.sy, self.sx
        if self.chance(0.15) and ds.nav_rank > 0:
            op = self.r.choice(["mean", "var", "sum", "max", "std", "count"])
            x = self.cond("frame", 0) if op == "count" else self.data()
            return self.reduce(op, x, "nav")
        op = self.r.choices(["sum", "mean", "count", "min", "max", "any"], [8, 2, 1, 1, 1, 0.5])[0]
        if op in ("count", "any"):
            x = self.cond("frame", 0)
        elif self.chance(0.7):
            x = self.data()
        else:
            x = self.frame_value(self.r.choice([0, 1]))
        cy = (ds.extent[sy] - 1) / 2 + self.r.choice([0, 0, 0.5, -1.5, 2])
        cx = (ds.extent[sx] - 1) / 2 + self.r.choice([0, 0, 0.5, 1, -2.25])
        ri = self.r.randint(6, max(7, min(ds.extent[sy], ds.extent[sx]) // 2 - 4))
        ro = ri + self.r.choice([1, 2, 3, 4])
        where = E(f"ring({cy}, {cx}, {ri}, {ro})", 0, 1, "bool", axes=self.sig_axes, intval=True)
        if self.chance(0.15):
            o = self.cond("frame", 0)
            where = E(f"({where.text} and {o.text})", 0, 1, "bool", **merge(where, o, intval=True, exact=True,
                                                                              generic=False))
        return self.reduce(op, x, "sig", where=where)

    def stats_out(self):
        """Another statistic of the same operand, axes and condition (shared or fused states)."""
        if self.stats_base is None:
            x = self.frame_value(self.r.choice([0, 0, 1, 2]))
            if self.chance(0.4) and not x.bins:
                x = self.let(x, "frame")
            spec = self.random_axes()
            where = self.cond("any", 0) if self.chance(0.4) else None
            if where is not None and self.chance(0.5) and not where.bins:
                where = self.let(where, "mask" if not where.dep else "frame")
            self.stats_base = (x, spec, where)
        x, spec, where = self.stats_base
        op = self.r.choices(REDUCTIONS, [2, 3, 1.5, 1.5, 3, 3, 1, 0.5, 0.5, 1, 1])[0]
        return self.reduce(op, x, spec, where=where)

    def grouped_value(self):
        """A grouped reduction of the data: (.., bin)."""
        bins = self.bins_counts[0] if self.chance(0.8) else self.bins_counts[1]
        spec = self.r.choice(["sig", "nav"] if self.ds.nav_rank > 0 else ["sig"])
        by = self.key(spec if self.chance(0.6) else "frame", bins)
        if by is None:
            return None
        op = self.r.choice(["sum", "mean", "max", "min", "count", "std"])
        return self.reduce(op, self.frame_value(1), spec, by=by, bins=bins)

    def grouped_out(self):
        g = self.grouped_value()
        if g is None:
            return None
        f = self.r.choice(["plain", "bin", "operand", "operand", "where"])
        if f == "plain":
            return g
        if f == "where":
            # a grouped condition: the reduction keeps the bins axis
            c = self.compare(g)
            if c is None:
                return None
            return self.reduce(self.r.choice(REDUCTIONS), self.frame_value(1), self.random_axes(), where=c)
        if f == "bin":
            return self.reduce(self.r.choice(REDUCTIONS), g, "bin")
        # a grouped value inside the operand of another reduction: the kernel loops over bins
        x = self.frame_value(1)
        y = self.binop(self.r.choice("+-*"), x, g) if self.chance(0.7) else self.binop("/", x, self.safe_divisor(g))
        if y is None:
            return None
        spec = self.random_axes()
        if self.chance(0.3):
            spec = "all"
        e = self.reduce(self.r.choice(["sum", "mean", "max", "min", "var", "argmax", "argmin"]), y, spec,
                        where=self.cond("sig", 0) if self.chance(0.3) else None)
        if e is not None and "bin" in e.axes and self.chance(0.4):
            e2 = self.reduce(self.r.choice(["sum", "max", "argmin"]), e, "bin")
            return e2 if e2 is not None else e
        return e

    def stem_out(self):
        """A function of the stem module (STEM.md) of the data or of a non-negative operand."""
        ds = self.ds
        sy, sx = self.sy, self.sx
        cy = self.num(0, ds.extent[sy] - 1, self.chance(0.5), 0.4)
        cx = self.num(0, ds.extent[sx] - 1, self.chance(0.5), 0.4)
        r = self.num(1, max(ds.extent[sy], ds.extent[sx]) / 2 + 1, self.chance(0.5), 0.4)
        ri = self.num(0, 2, True)
        # centre of mass and friends of non-negative values (a denominator near 0 is ill-conditioned)
        pos = self.data()
        if ds.lo < 0 or ds.has_inf:
            pos = E("(abs(d) + 1)", 1, max(abs(ds.lo), abs(ds.hi)) + 1, "f64", axes=self.all_axes, data=True,
                    generic=ds.generic, intval=ds.intval)
        if self.chance(0.3):
            f = self.frame_value(1)
            if f.lo >= 0 and not f.inf and not f.bins:
                pos = f
        x, m = pos.text, pos.hi
        area = ds.extent[sy] * ds.extent[sx]
        nav = self.nav_axes

        def res(text, lo, hi, axes=nav, **kw):
            kw.setdefault("exact", False)
            kw.setdefault("generic", pos.generic)
            kw.setdefault("bugs", pos.bugs)
            # the planner's view: reductions over sig of pos, one stage after it
            kw.setdefault("ready", pos.ready)
            kw.setdefault("stage", max(pos.stage, DATA_LOCAL) + 1)
            return E(text, lo, hi, "f64", axes=axes, dep=True, **kw)

        com = f"{cy.text}, {cx.text}, {r.text}"
        which = self.r.choice(["disk", "ring", "com", "com", "fem", "logsum", "profile", "pick", "field", "corrected"])
        if which == "ring":
            return res(f"sum({x}, sig, where = ring({cy.text}, {cx.text}, {ri.text}, {r.text}))", 0, m * area)
        if which == "com":
            return res(f"{self.r.choice(['com_y', 'com_x'])}({x}, {com})", -area, area)
        if which == "field":
            inner = f"com_y({x}, {com}), com_x({x}, {com})"
            if self.chance(0.5):
                rot, flip = self.r.choice([0, 30, -45.5, 90]), self.r.choice(["true", "false", "1", "0"])
                return res(f"{self.r.choice(['field_y', 'field_x'])}({inner}, {fmt(rot)}, {flip})", -2 * area, 2 * area)
            return res(f"magnitude({inner})", 0, 2 * area)
        if which == "fem":
            return res(f"fem({x}, {cy.text}, {cx.text}, {ri.text}, {r.text})", 0, m, varlike=True)
        if which == "logsum" and ds.nav_rank > 0:
            return res(f"logsum({x})", 0, (math.log1p(m) + 1) * max(1, int(np.prod(ds.nav))), axes=self.sig_axes,
                       ready=pos.ready + 1, stage=NOT_LOCAL)
        if which == "profile":
            nb = self.r.randint(1, 12)
            self.budget += 1
            return res(f"radial_profile({x}, {cy.text}, {cx.text}, {nb})", 0, m, axes=nav | {"bin"}, bins=nb)
        if which == "pick" and ds.nav_rank >= 2:
            y = self.r.randint(0, max(0, ds.nav[-2] - 1))
            x = self.r.randint(0, max(0, ds.nav[-1] - 1))
            return E(f"pick(d, {y}, {x})", min(ds.lo, 0), max(ds.hi, 0), dtype_typ(ds.dtype), axes=self.sig_axes,
                     dep=True, ready=1, stage=NOT_LOCAL)
        if which == "corrected" and self.dark is not None:
            g, gm = (self.w.text, self.w.maxabs) if self.w is not None and self.chance(0.5) else ("0.5", 0.5)
            hi = (max(abs(ds.lo), abs(ds.hi)) + self.dark.maxabs) * gm * area
            return res(f"sum(corrected(d, {self.dark.text}, {g}), sig)", -hi, hi, generic=ds.generic, bugs=frozenset(),
                       ready=0, stage=0)
        return res(f"sum({x}, sig, where = disk({com}))", 0, m * area)

    def result_out(self):
        """Arithmetic on earlier results (and reductions of results)."""
        prev = [(n, e) for n, e in self.p.outs.items()]
        if not prev:
            return None
        name, a = self.r.choice(prev)
        a = a.copy(text=name)
        f = self.r.choice(["center", "ratio", "reduce", "cmp"])
        if f == "center" and a.axes:
            spec = self.r.choice(["all", "nav" if a.axes & self.nav_axes else "all"])
            m = self.reduce("mean", a, spec)
            self.budget -= 1
            return self.binop("-", a, m) if m is not None else None
        if f == "ratio":
            name2, b = self.r.choice(prev)
            b = b.copy(text=name2)
            if not (a.axes <= b.axes or b.axes <= a.axes):
                return None
            return self.binop("/", a, self.safe_divisor(b))
        if f == "cmp" and a.sure:
            c = self.compare(a)
            if c is None:
                return None
            return self.reduce("count", c, "all") if self.chance(0.5) else c
        spec = "bin" if a.bins and self.chance(0.6) else "all"
        op = self.r.choice(REDUCTIONS)
        e = self.reduce(op, a, spec)
        self.budget -= 1 if e is not None else 0
        return e

    def big_out(self):
        """Reductions over nav and all (merged across partitions) for the multi-partition cases."""
        op = self.r.choice(REDUCTIONS)
        x = self.data() if self.chance(0.6) else self.frame_value(1)
        if op in ("count", "any", "all") and self.chance(0.5):
            x = self.cond("frame", 0)
        spec = self.r.choice(["nav", "nav", "all", (self.r.choice(self.ds.nav_names), self.ds.sig_names[0])])
        where = self.cond("any", 0) if self.chance(0.3) else None
        by, bins = None, 0
        if self.chance(0.2) and spec == "nav" and not x.bins:
            bins = self.r.choice([2, 3, 5])
            by = self.key("nav", bins)
            if by is None:
                bins = 0
        return self.reduce(op, x, spec, where=where, by=by, bins=bins)

    def out(self, name, maker):
        for _ in range(12):
            e = maker()
            if e is None or e.data or e.maxabs > LIMIT * 1e3:
                continue
            if e.bugs & AVOID:
                continue
            if self.ds.nav_rank > 0 and e.axes >= self.all_axes:
                continue
            if not e.dep and self.chance(0.7):
                continue  # mostly outputs that read the data
            self.p.lines.append(f"out {name} = {e.text}")
            self.p.outs[name] = e
            return True
        return False

    # ---- the whole script ----

    def arrays(self, d):
        ds, r, p = self.ds, self.r, self.p
        if r.random() < 0.35:
            dt = r.choice(["u16", "f32", "f64", "i16", "u8", "bool", "i64"])
            vals, f = make_values(r, self.np, dt, ds.sig, False)
            if dt in ("f32", "f64"):
                vals = np.nan_to_num(vals, nan=1.0, posinf=2.0, neginf=-2.0)
                f["generic"] = f["generic"]
            if dt in ("u16", "i16", "i64"):
                vals = (vals.astype(np.int64) % 50).astype(NP_DTYPES[dt])
            lo, hi = float(vals.min()), float(vals.max())
            np.save(os.path.join(d, "dark.npy"), vals)
            ambiguous = ds.nav == ds.sig
            axes = f"[{', '.join(ds.sig_names)}]" if ambiguous or r.random() < 0.3 else ""
            if r.random() < 0.6:
                p.lines.append(f'input dark{axes} = "dark.npy"')
            else:
                p.lines.append(f"input dark{axes}")
                p.bindings.append("dark=dark.npy")
            self.dark = E("dark", lo, hi, dtype_typ(dt), axes=self.sig_axes, exact=True, generic=f["generic"],
                          intval=f["intval"])
        if ds.nav_rank > 0 and r.random() < 0.3:
            dt = r.choice(["f64", "i32", "u8", "f32"])
            vals, f = make_values(r, self.np, dt, ds.nav, False)
            with np.errstate(invalid="ignore"):
                vals = np.nan_to_num(vals.astype(np.float64) % 13, nan=1.0).astype(NP_DTYPES[dt])
            np.save(os.path.join(d, "w.npy"), vals)
            p.lines.append(f"input w[{', '.join(ds.nav_names)}]")
            p.bindings.append("w=w.npy")
            lo, hi = (float(vals.min()), float(vals.max())) if vals.size else (0.0, 0.0)
            self.w = E("w", lo, hi, dtype_typ(dt), axes=self.nav_axes, exact=True,
                       generic=False, intval=f["intval"] or dt not in ("f32", "f64"))
            if dt in ("f32", "f64"):
                self.w.intval = bool(np.all(vals == np.round(vals)))
        if ds.sig_rank == 2 and r.random() < 0.1:
            vals = self.np.integers(0, 9, ds.sig[-1]).astype(np.float64)
            np.save(os.path.join(d, "row.npy"), vals)
            p.lines.append(f"input row[{self.sx}]")
            p.bindings.append("row=row.npy")
            self.row = E("row", 0, 8, "f64", axes={self.sx}, intval=True)

    def roi_stmt(self):
        ds = self.ds
        if ds.nav_rank == 0 or self.r.random() > 0.25:
            return
        opts = []
        for a in ds.nav_names:
            k = self.r.randint(0, max(0, ds.extent[a] - 1))
            opts.append(f"{a} != {k}")
            opts.append(f"{a} >= {k}")
        opts.append(f"({' + '.join(ds.nav_names)}) % 3 != 1")
        if self.w is not None:
            opts.append(f"w > {fmt(rnd(self.r, self.w.lo, self.w.hi, self.w.intval))}")
        if self.r.random() < 0.05:
            opts = [f"{ds.nav_names[0]} > 1000"]  # an empty roi
        self.p.lines.append(f"roi {self.r.choice(opts)}")
        self.roi = True
        if self.r.random() < 0.2:
            a = self.r.choice(ds.nav_names)
            self.p.lines.append(f"roi {a} != {self.r.randint(0, max(0, ds.extent[a] - 1))}")

    def generate(self, d):
        ds, p = self.ds, self.p
        header = []
        if self.stem:
            header.append("use stem")
        if ds.rename:
            header.append(f"input d[{', '.join(ds.nav_names)} | {', '.join(ds.sig_names)}]")
        else:
            header.append("input d")
        p.lines = header
        self.arrays(d)
        self.roi_stmt()
        n_out = self.r.randint(2, 3) if self.big else self.r.randint(2, 6)
        if self.theme in ("masks", "stats"):
            n_out += 2
        if self.theme == "rings":
            n_out += 5
        k = 0
        for i in range(n_out):
            if self.big:
                makers = [(6, self.big_out), (1, self.basic_out)]
            else:
                makers = [(6, self.basic_out), (0.8, self.result_out)]
                if self.stem:
                    makers.append((2, self.stem_out))
                if self.theme == "masks":
                    makers.append((20, self.mask_out))
                elif self.theme == "stats":
                    makers.append((20, self.stats_out))
                elif self.theme == "grouped":
                    makers.append((14, self.grouped_out))
                elif self.theme == "rings":
                    makers.append((24, self.ring_out))
            maker = self.r.choices([m[1] for m in makers], [m[0] for m in makers])[0]
            if self.out(f"o{k}", maker):
                k += 1
        if not p.outs:
            self.p.lines.append("out o0 = sum(d)")
            self.p.outs["o0"] = E("sum(d)", -LIMIT, LIMIT, "f64", dep=True, exact=False)
        # params of candidates that were thrown away
        used = " ".join(l for l in p.lines if not l.startswith("param "))
        unused = {s.split()[1] for s in p.lines
                  if s.startswith("param ") and not re.search(rf"\b{s.split()[1]}\b", used)}
        p.lines = [s for s in p.lines if not (s.startswith("param ") and s.split()[1] in unused)]
        p.sets = [s for s in p.sets if s.split("=")[0] not in unused]
        return p


# ---- running and comparing ---------------------------------------------------------------


def tolerance(e):
    rtol = 1e-5 if e.varlike else 1e-6
    atol = 1e-9 * (e.maxabs if e.maxabs < LIMIT * 1e3 else LIMIT * 1e3)
    return rtol, atol


def compare_results(name, got, want, e):
    """JIT result `got` against the interp's `want`; returns an error message or None."""
    if got.dtype != want.dtype or got.shape != want.shape:
        return f"{name}: jit {got.dtype}{got.shape} vs interp {want.dtype}{want.shape}"
    if got.dtype.kind in "biu":
        bad = got != want
        if bad.any():
            i = tuple(int(v) for v in np.argwhere(bad)[0]) if got.ndim else ()
            return (f"{name}: {int(bad.sum())} of {got.size} values differ (exact), first at {i}: "
                    f"jit {got[i]!r} interp {want[i]!r}")
        return None
    g, w = got.astype(np.float64), want.astype(np.float64)
    gn, wn = np.isnan(g), np.isnan(w)
    if (gn != wn).any():
        i = tuple(int(v) for v in np.argwhere(gn != wn)[0]) if g.ndim else ()
        return (f"{name}: NaN positions differ ({int(gn.sum())} in jit, {int(wn.sum())} in interp), first at {i}: "
                f"jit {g[i]!r} interp {w[i]!r}")
    gi, wi = np.isinf(g), np.isinf(w)
    if (gi != wi).any() or (g[wi] != w[wi]).any():
        bad = (gi != wi) | (wi & (g != w))
        i = tuple(int(v) for v in np.argwhere(bad)[0]) if g.ndim else ()
        return f"{name}: infinities differ, first at {i}: jit {g[i]!r} interp {w[i]!r}"
    rtol, atol = tolerance(e)
    fin = ~wn & ~wi
    with np.errstate(invalid="ignore"):
        err = np.abs(g - w)
        bad = fin & (err > rtol * np.abs(w) + atol)
    if bad.any():
        i = tuple(int(v) for v in np.argwhere(bad)[0]) if g.ndim else ()
        return (f"{name}: {int(bad.sum())} of {g.size} values outside rtol {rtol:g} atol {atol:.3g}, first at {i}: "
                f"jit {g[i]!r} interp {w[i]!r}")
    return None


class Case:
    def __init__(self, seed, index, big_every):
        self.seed, self.index = seed, index
        self.r = random.Random(f"tem-differential:{seed}:{index}")
        self.nprng = np.random.default_rng([seed, index])
        self.big = big_every > 0 and self.r.randrange(big_every) == 0


def run(cmd, cwd):
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT)
        return p.returncode, p.stdout, p.stderr, time.monotonic() - t0
    except subprocess.TimeoutExpired:
        return None, "", f"timed out after {TIMEOUT} s", time.monotonic() - t0


def build_case(case, d):
    """Writes the dataset, arrays and script of `case` into d; returns (program, dataset, base command)."""
    ds = make_dataset(case.r, case.nprng, case.big)
    spec, flags = write_dataset(ds, d)
    g = Gen(case.r, case.nprng, ds, case.big)
    prog = g.generate(d)
    with open(os.path.join(d, "script.tem"), "w") as f:
        f.write(f"# differential case {case.index} of seed {case.seed}: nav {ds.nav} sig {ds.sig} {ds.dtype} "
                f"({ds.storage}), {ds.partitions} partition(s), theme {g.theme}\n")
        f.write("\n".join(prog.lines) + "\n")
    args = ["run", "script.tem", f"d={spec}"] + prog.bindings + flags
    for s in prog.sets:
        args += ["--set", s]
    return prog, ds, args


def run_case(tem, case, d, all_threads):
    """Runs one case in directory d; returns (problems, seconds, thread counts run, program)."""
    prog, ds, args = build_case(case, d)
    t0 = time.monotonic()
    if ds.partitions > 1 or all_threads:
        threads = [1, 2, 3]
    else:
        threads = [1, case.r.choice([2, 3])]
    runs = [("interp", ["--engine", "interp"])] + [(f"jit{t}", ["--engine", "jit", "--threads", str(t)])
                                                   for t in threads]
    with open(os.path.join(d, "run.sh"), "w") as f:
        f.write(f"#!/bin/sh\n# reproduces differential case {case.index} of seed {case.seed} (run in this directory)\n")
        f.write(f"TEM=${{TEM:-{shlex.quote(tem)}}}\n")
        for name, extra in runs:
            f.write("\"$TEM\" " + " ".join(shlex.quote(a) for a in args + extra + ["-o", name + "/"]) + "\n")
    problems = []
    outcome = {}
    for name, extra in runs:
        shutil.rmtree(os.path.join(d, name), ignore_errors=True)
        rc, out, err, _ = run([tem] + args + extra + ["-o", name + "/"], d)
        outcome[name] = (rc, err.strip())

    def status(rc, err):
        if rc is None:
            return err
        if rc < 0:
            try:
                return f"crashed ({signal.Signals(-rc).name})"
            except ValueError:
                return f"killed by signal {-rc}"
        return f"exit status {rc}" + (f" ({err.splitlines()[-1]})" if err and rc else "")

    rc_i, err_i = outcome["interp"]
    for name, _ in runs[1:]:
        rc, err = outcome[name]
        if rc != rc_i:
            problems.append(f"{name} {status(rc, err)} but interp {status(rc_i, err_i)}")
    if rc_i != 0:
        if not problems:
            if rc_i is not None and rc_i > 0:
                problems.append(f"both engines rejected the script: {err_i.splitlines()[0] if err_i else ''} "
                                f"[a generator bug]")
            else:
                problems.append(f"both engines: {status(rc_i, err_i)}")
        return problems, time.monotonic() - t0, threads, prog
    if problems:
        return problems, time.monotonic() - t0, threads, prog

    def files(sub):
        p = os.path.join(d, sub)
        return sorted(f for f in os.listdir(p) if f.endswith(".npy")) if os.path.isdir(p) else []

    want = files("interp")
    expected = sorted(f"{n}.npy" for n in prog.outs)
    if want != expected:
        problems.append(f"interp wrote {want}, expected {expected}")
    for name, _ in runs[1:]:
        if files(name) != want:
            problems.append(f"{name} wrote {files(name)}, interp {want}")
    if problems:
        return problems, time.monotonic() - t0, threads, prog
    for f in want:
        n = f[:-4]
        a_i = np.load(os.path.join(d, "interp", f))
        a_j = np.load(os.path.join(d, "jit1", f))
        msg = compare_results(n, a_j, a_i, prog.outs[n])
        if msg:
            problems.append("jit vs interp: " + msg)
        raw1 = open(os.path.join(d, "jit1", f), "rb").read()
        for name, _ in runs[2:]:
            if open(os.path.join(d, name, f), "rb").read() != raw1:
                a_t = np.load(os.path.join(d, name, f))
                if a_t.shape == a_j.shape and a_t.dtype == a_j.dtype:
                    diff = ~((a_t == a_j) | ((a_t != a_t) & (a_j != a_j)))
                    where = tuple(int(v) for v in np.argwhere(diff)[0]) if diff.any() and a_t.ndim else ()
                    detail = f"{int(np.sum(diff))} values differ, first at {where}" if diff.any() else "bytes differ"
                else:
                    detail = f"{a_t.dtype}{a_t.shape} vs {a_j.dtype}{a_j.shape}"
                problems.append(f"{n}: {name} differs from jit1 ({detail})")
    return problems, time.monotonic() - t0, threads, prog


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tem", required=True, help="the tem binary")
    ap.add_argument("--cases", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--first", type=int, default=0, help="index of the first case")
    ap.add_argument("--only", default="", help="run only these case indices (comma-separated)")
    ap.add_argument("--keep", default="", help="keep every case directory under KEEP")
    ap.add_argument("--work", default="", help="run the cases under WORK (default: a temporary directory); "
                    "the directories of failing cases stay there")
    ap.add_argument("--jobs", type=int, default=0, help="cases run at once (default: the number of cores)")
    ap.add_argument("--big", type=int, default=70, help="about one case in BIG has several partitions (0: none)")
    ap.add_argument("--all-threads", action="store_true",
                    help="run threads 1, 2 and 3 even when the data has one partition")
    ap.add_argument("--known-bugs", choices=["avoid", "generate"], default="avoid",
                    help="steer around the tem bugs listed in KNOWN_BUGS (default) or generate them")
    ap.add_argument("--verbose", "-v", action="store_true")
    args = ap.parse_args(argv)
    if args.known_bugs == "generate":
        AVOID.clear()
    tem = os.path.abspath(args.tem)
    if not os.access(tem, os.X_OK):
        print(f"differential.py: {tem} is not executable", file=sys.stderr)
        return 2
    indices = ([int(v) for v in args.only.split(",") if v] if args.only
               else list(range(args.first, args.first + args.cases)))
    jobs = args.jobs or os.cpu_count() or 1
    if args.keep or args.work:
        root = os.path.abspath(args.keep or args.work)
        os.makedirs(root, exist_ok=True)
    else:
        root = tempfile.mkdtemp(prefix="tem-differential-")
    t_start = time.monotonic()

    def one(i):
        case = Case(args.seed, i, args.big)
        d = os.path.join(root, f"case{i}")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        prog = None
        try:
            problems, secs, threads, prog = run_case(tem, case, d, args.all_threads)
        except Exception as ex:  # noqa: BLE001  (a generator crash is a failure too)
            import traceback
            problems, secs, threads = [f"generator error: {ex!r}\n{traceback.format_exc()}"], 0.0, []
        return i, case, d, problems, secs, threads, prog

    results = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        for res in pool.map(one, indices):
            results.append(res)
            i, case, d, problems, secs, threads, _ = res
            if args.verbose:
                print(f"case {i}: {'FAIL' if problems else 'ok'} {secs:.2f} s threads {threads} "
                      f"{'big' if case.big else ''}", flush=True)
    failed = 0
    for i, case, d, problems, secs, threads, prog in results:
        if not problems:
            if not args.keep:
                shutil.rmtree(d, ignore_errors=True)
            continue
        failed += 1
        tags = sorted(set(prog.bugs).union(*(e.bugs for e in prog.outs.values())) & KNOWN_BUGS) if prog else []
        known = f" [outputs that may trigger known bugs: {', '.join(tags)}]" if tags else ""
        print(f"FAIL case {i} (seed {args.seed}): {problems[0]}{known}  [dir {d}; reproduce: "
              f"{sys.executable} {os.path.abspath(__file__)} --tem {tem} --seed {args.seed} --only {i} "
              f"--big {args.big} --keep DIR, or sh {d}/run.sh]")
        for p in problems[1:]:
            print(f"    also: {p}")
        script = os.path.join(d, "script.tem")
        if os.path.exists(script):
            for line in open(script).read().splitlines():
                print(f"    | {line}")
    if not args.keep and not args.work and not failed:
        shutil.rmtree(root, ignore_errors=True)
    secs = time.monotonic() - t_start
    print(f"{len(results) - failed} passed, {failed} failed ({secs:.1f} s, seed {args.seed}"
          f"{', failing cases kept in ' + root if failed else ''})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
