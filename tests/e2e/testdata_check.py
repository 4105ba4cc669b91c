"""Runs tem on sample files from ../shared/testdata and compares with reference.json.

Usage: testdata_check.py TEM TESTDATA_DIR WORKDIR [--engine E] [--threads N] PREFIX...

For every reference entry whose name starts with one of the PREFIXes (such as
"mib/" or "dm/test-1.dm3"), runs

    tem eval 'total = sum(d, all); frames = sum(d, sig); image = sum(d, nav);
              lo = min(d, all); hi = max(d, all)' FILE -o WORKDIR/NAME/

(without `frames` when the file holds a single image) and
checks the shape printed by `tem info`, the dtype, the total, the first three
frame sums, the listed pixels and argmax of the sum frame, the minimum and the
maximum. Integers must match exactly, floats to a relative 1e-9 (tem sums in
float64; the reference is NumPy's pairwise float64 sum). Exits 1 naming every
mismatch, so one run reports all files of a format.
"""
import json
import os
import re
import subprocess
import sys

import numpy as np

# Files that do not store their scan shape: the user gives it, as here.
NAV = {
    "mib/001_4x2_6bit.mib": "2,4",
    "mib/002_4x2_6bit_roi128.mib": "2,4",
    "mib/003_merlin_test_roi_sig256x64_nav4x2_hot_pixel_52x_39y.mib": "2,4",
}

DTYPES = {"uint8": "u8", "uint16": "u16", "uint32": "u32", "uint64": "u64", "int8": "i8", "int16": "i16",
          "int32": "i32", "int64": "i64", "float32": "f32", "float64": "f64"}


def close(a, b, exact):
    if exact:
        return a == b
    return abs(a - b) <= 1e-9 * max(1.0, abs(b))


def check_entry(tem, testdata, workdir, name, ref, extra):
    errors = []
    path = os.path.join(testdata, name)
    geometry = ["--nav", NAV[name]] if name in NAV else []
    extra = extra + geometry
    info = subprocess.run([tem, "info", path] + geometry, capture_output=True, text=True)
    if info.returncode != 0:
        return [f"{name}: tem info failed: {info.stderr.strip()}"]
    fields = dict(re.findall(r"^([a-z ]+):\s+(.*)$", info.stdout, re.M))
    nav = tuple(ref["nav_shape"])
    sig = tuple(ref["sig_shape"])
    shape_of = lambda text: tuple(int(x) for x in re.findall(r"\d+", text))
    if shape_of(fields.get("nav shape", "")) != nav or shape_of(fields.get("sig shape", "")) != sig:
        errors.append(f"{name}: shape nav {fields.get('nav shape')} sig {fields.get('sig shape')}, "
                      f"expected nav {nav} sig {sig}")
        return errors
    if fields.get("dtype") != DTYPES[ref["dtype"]]:
        errors.append(f"{name}: dtype {fields.get('dtype')}, expected {DTYPES[ref['dtype']]}")
    exact = not ref["dtype"].startswith("float")
    out = os.path.join(workdir, name.replace("/", "_"))
    if nav:
        expr = "total = sum(d, all); frames = sum(d, sig); image = sum(d, nav); lo = min(d, all); hi = max(d, all)"
    else:
        expr = "total = sum(d, all); image = sum(d, nav); lo = min(d, all); hi = max(d, all)"
    run = subprocess.run([tem, "eval", expr, path, "-o", out + "/"] + extra, capture_output=True, text=True)
    if run.returncode != 0:
        return errors + [f"{name}: tem eval failed: {run.stderr.strip()}"]
    load = lambda k: np.load(os.path.join(out, k + ".npy"))
    for key, want in [("total", ref["total_sum"]), ("lo", ref["min"]), ("hi", ref["max"])]:
        got = float(load(key))
        if not close(got, want, exact):
            errors.append(f"{name}: {key} = {got!r}, expected {want!r}")
    if nav:
        frames = load("frames").reshape(-1)
        for i, want in enumerate(ref["first3_frame_sums"]):
            if not close(float(frames[i]), want, exact):
                errors.append(f"{name}: frame {i} sums to {frames[i]!r}, expected {want!r}")
    image = load("image")
    if image.shape != sig:
        errors.append(f"{name}: sum frame has shape {image.shape}, expected {sig}")
        return errors
    for key, want in ref["sum_frame_pixels"].items():
        if key == "argmax":
            idx = np.unravel_index(int(np.argmax(image)), image.shape)
            if list(idx) != list(want[:-1]) or not close(float(image[idx]), want[-1], exact):
                errors.append(f"{name}: sum frame argmax {list(idx)} = {image[idx]!r}, expected {want}")
            continue
        idx = tuple(int(x) for x in key.split(","))
        if not close(float(image[idx]), want, exact):
            errors.append(f"{name}: sum frame pixel {idx} = {image[idx]!r}, expected {want!r}")
    return errors


def main():
    args = sys.argv[1:]
    tem, testdata, workdir = args[:3]
    rest = args[3:]
    extra, prefixes = [], []
    while rest:
        a = rest.pop(0)
        if a in ("--engine", "--threads"):
            extra += [a, rest.pop(0)]
        else:
            prefixes.append(a)
    refs = json.load(open(os.path.join(testdata, "reference.json")))
    names = [n for n in refs if any(n.startswith(p) for p in prefixes)]
    if not names:
        sys.exit(f"no reference entries match {prefixes}")
    os.makedirs(workdir, exist_ok=True)
    errors = []
    for name in names:
        errors += check_entry(tem, testdata, workdir, name, refs[name], extra)
        print(f"{'FAIL' if errors and errors[-1].startswith(name) else 'ok'}: {name}")
    for e in errors:
        print(e, file=sys.stderr)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
