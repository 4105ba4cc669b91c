#!/usr/bin/env python3
"""The generic e2e checker: compares tem's results with NumPy expressions
written in the test file itself.

    check.py TESTFILE OUT [VAR=DATA ...] [--prefix EXPECT] [--subset]

OUT is a folder written by `tem ... -o OUT/` (one NAME.npy, and NAME.png for
every non-scalar result) or a single .npy file. Each VAR=DATA loads a .npy
file (or a raw:FILE?nav=..&sig=..&dtype=..&offset=..&order=.. spec, read with
np.fromfile) as float64 under the name VAR (the original array is VAR_raw).

The test file holds the expectations, evaluated in order:

    # LET: m = disk(d.shape, 16, 8, 5)
    # EXPECT: bf f64 = (d * m).sum(axis=SIG)
    # EXPECT: v f64 rtol=1e-5 = d.var(axis=NAV)
    # EXPECT: n i64 = (d > 3).sum(axis=SIG)

An EXPECT line names the result, the dtype tem must write, optional rtol=/atol=
(float results; defaults rtol 1e-6, atol 0; integer and bool results are exact)
and a NumPy expression for the reference. A line ending in a backslash
continues on the next comment line. With --prefix P the lines read `# P:` and
`# P-LET:` instead. A folder must hold exactly the expected results unless
--subset is given.

Names available to the expressions: np, the VARs, SIG (the last two axes),
NAV (the axes before them, for `d`), the coordinates of `d` as broadcastable
integer arrays (qy qx; and ry rx, n, or rz ry rx for the nav axes), and the
helpers of temcheck (radius disk ring rect point grouped patched).
"""
import os
import re
import sys

import numpy as np

import temcheck as tc

NAV_NAMES = {0: [], 1: ["n"], 2: ["ry", "rx"], 3: ["rz", "ry", "rx"]}


def read_directives(path, prefix):
    lines = open(path, encoding="utf-8").read().splitlines()
    out = []
    pat = re.compile(r"^\s*#\s*(" + re.escape(prefix) + r"|" + re.escape(prefix) + r"-LET|LET):\s?(.*)$")
    i = 0
    while i < len(lines):
        m = pat.match(lines[i])
        i += 1
        if not m:
            continue
        kind, body = m.group(1), m.group(2)
        while body.endswith("\\") and i < len(lines):
            body = body[:-1] + " " + re.sub(r"^\s*#", "", lines[i]).strip()
            i += 1
        out.append(("let" if kind.endswith("LET") else "expect", body.strip()))
    return out


def namespace(bindings):
    ns = {"np": np, "tc": tc, "SIG": (-2, -1)}
    for name in ["radius", "disk", "ring", "rect", "point", "grouped", "sig_grid", "patched"]:
        ns[name] = getattr(tc, name)
    for b in bindings:
        var, _, spec = b.partition("=")
        raw = tc.load_data(spec)
        ns[var + "_raw"] = raw
        ns[var] = raw.astype(np.float64)
    if "d" in ns:
        d = ns["d"]
        nav_rank = d.ndim - 2
        ns["NAV"] = tuple(range(nav_rank))
        for k, name in enumerate(NAV_NAMES.get(nav_rank, []) + ["qy", "qx"]):
            shp = [1] * d.ndim
            shp[k] = d.shape[k]
            ns[name] = np.arange(d.shape[k]).reshape(shp)
    return ns


def main(argv):
    args = [a for a in argv[1:]]
    prefix = "EXPECT"
    subset = False
    if "--prefix" in args:
        i = args.index("--prefix")
        prefix = args[i + 1]
        del args[i:i + 2]
    if "--subset" in args:
        args.remove("--subset")
        subset = True
    if len(args) < 2:
        tc.fail(__doc__)
    testfile, out, bindings = args[0], args[1], args[2:]
    directives = read_directives(testfile, prefix)
    expects = [b for k, b in directives if k == "expect"]
    if not expects:
        tc.fail(f"{testfile}: no '# {prefix}:' lines")
    ns = namespace(bindings)
    failures = []
    names = []
    folder = os.path.isdir(out) or out.endswith("/")
    if not folder and len(expects) != 1:
        tc.fail(f"{out} is one file but {testfile} expects {len(expects)} results")
    with np.errstate(invalid="ignore", divide="ignore"):
        for kind, body in directives:
            if kind == "let":
                exec(body, ns)  # noqa: S102 - test-authored NumPy code
                continue
            head, sep, expr = body.partition(" = ")
            if not sep:
                tc.fail(f"malformed EXPECT line (want 'NAME DTYPE [rtol=X] = EXPR'): {body}")
            fields = head.split()
            name, dtype, opts = fields[0], fields[1], dict(f.split("=") for f in fields[2:])
            names.append(name)
            want = eval(expr, ns)  # noqa: S307
            path = os.path.join(out, name + ".npy") if folder else out
            got = tc.load_npy(path)
            try:
                tc.compare(name, got, want, dtype=dtype,
                           rtol=float(opts["rtol"]) if "rtol" in opts else None,
                           atol=float(opts.get("atol", 0)))
            except tc.Mismatch as e:
                failures.append(str(e))
                continue
            if folder and got.ndim > 0:
                tc.png_size(os.path.join(out, name + ".png"))
    if folder and not subset:
        present = sorted(f[:-4] for f in os.listdir(out) if f.endswith(".npy"))
        if present != sorted(names):
            failures.append(f"{out} holds results {present}, expected {sorted(names)}")
    if failures:
        tc.fail("\n  ".join(failures))
    print(f"ok: {len(names)} result(s) match NumPy: {', '.join(names)}")


if __name__ == "__main__":
    main(sys.argv)
