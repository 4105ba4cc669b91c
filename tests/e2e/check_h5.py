#!/usr/bin/env python3
"""Checks an HDF5 file written by tem without h5py (when it is missing).

    check_h5.py TESTFILE OUT.h5 [VAR=DATA ...] [--text STRING ...]

With h5py importable the datasets are read and compared like check.py does.
Without it the check is structural: the HDF5 signature at offset 0, every
expected result's name in the file, its exact values (in the expected dtype,
little-endian, C order: tem writes contiguous datasets) as one byte run, and
every --text string (the script, parameter names, input paths: the
attributes) in the file. Use integer-valued results, whose bytes do not
depend on the order of summation.
"""
import sys

import numpy as np

import check as chk
import temcheck as tc


def main(argv):
    args = argv[1:]
    texts = []
    while "--text" in args:
        i = args.index("--text")
        texts.append(args[i + 1])
        del args[i:i + 2]
    testfile, path, bindings = args[0], args[1], args[2:]
    blob = open(path, "rb").read()
    if blob[:8] != b"\x89HDF\r\n\x1a\n":
        tc.fail(f"{path}: no HDF5 signature at offset 0 (starts with {blob[:8]!r})")
    try:
        import h5py  # noqa: F401
    except ImportError:
        h5py = None
    ns = chk.namespace(bindings)
    failures = []
    for kind, body in chk.read_directives(testfile, "EXPECT"):
        if kind == "let":
            exec(body, ns)  # noqa: S102
            continue
        head, _, expr = body.partition(" = ")
        name, dtype = head.split()[:2]
        want = np.asarray(eval(expr, ns))  # noqa: S307
        if h5py is not None:
            with h5py.File(path, "r") as f:
                if name not in f:
                    failures.append(f"no dataset '{name}' in {path}: {list(f)}")
                    continue
                try:
                    tc.compare(name, f[name][()], want, dtype=dtype)
                except tc.Mismatch as e:
                    failures.append(str(e))
            continue
        if name.encode() not in blob:
            failures.append(f"the name '{name}' does not occur in {path}")
        data = want.astype(np.dtype(tc.DTYPES[dtype]).newbyteorder("<")).tobytes()
        if data not in blob:
            failures.append(f"the {want.size} values of '{name}' as {dtype} (little-endian) do not occur in {path}")
    for t in texts:
        if t.encode() not in blob:
            failures.append(f"the text {t!r} does not occur in {path}")
    if failures:
        tc.fail("\n  ".join(failures))
    print(f"ok: {path}" + (" (structural check: h5py is not installed)" if h5py is None else ""))


if __name__ == "__main__":
    main(sys.argv)
