#!/usr/bin/env python3
"""NumPy baselines of bench/workloads/W1.tem ... W7.tem and S1.tem, written the way a good
NumPy user would write them: the file is opened with np.load(mmap_mode="r"),
walked in chunks of frames, and every sum over the detector is a matrix
product with a stack of masks (one BLAS call per chunk; the fused workloads
W6 and W7 stack all their masks into one matrix).

Precision follows tem: float32 data is summed in float32 within a chunk (tem
sums float32 partials within a tile) and in float64 across chunks; uint16 data
is converted to float64 per chunk, so its sums are exact as tem's are. The
mean and variance frames use the chunk-wise update of Chan et al. in float64,
as tem's var does.

    numpy_baseline.py FILE --workload W3 [--threads N] [--repeat R] [--chunk FRAMES]

prints one JSON object: the best wall time of R repetitions (each opens the
file anew and computes everything), the BLAS in use (threadpoolctl), and
min/mean/max of every result, which bench/run.py compares with tem's.
Python start-up and imports are not timed.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

CY, CX = 64, 64   # the centre of the workloads' detectors (as in the .tem files)
R_BF = 16         # W2's bright-field disk
R_COM = 24        # W4's centre-of-mass disk
N_RINGS = 16      # W3: ring k keeps 4k <= r < 4k + 4
RI, RO = 24, 60   # S1's annular dark field (ri <= r < ro) and FEM annulus (ri < r <= ro)

WORKLOADS = ["W1", "W2", "W3", "W4", "W5", "W6", "W7", "S1"]
PARTS = {"W1": ["sum"], "W2": ["bf"], "W3": ["rings"], "W4": ["com"], "W5": ["meanvar"],
         "W6": ["sum", "bf", "com", "meanvar"], "W7": ["sum", "bf", "rings", "com", "meanvar"],
         # S1 (bench/workloads/S1.tem): BF, ADF, CoM field with divergence and
         # curl (rotation 0, no flip: the field is the shift), FEM, sum frame.
         "S1": ["bf", "adf", "com", "field", "fem", "sumframe"]}


def radius(sy, sx):
    qy, qx = np.mgrid[0:sy, 0:sx]
    return np.hypot(qy - CY, qx - CX), qy, qx


def mask_columns(parts, sy, sx):
    """The (name, mask) columns of the one matrix product per chunk."""
    r, qy, qx = radius(sy, sx)
    cols = []
    if "sum" in parts:
        cols.append(("frame_sum", np.ones((sy, sx))))
    if "bf" in parts:
        cols.append(("bf", r < R_BF))
    if "adf" in parts:
        cols.append(("adf", (r >= RI) & (r < RO)))
    if "rings" in parts:
        for k in range(N_RINGS):
            cols.append((f"ring{k}", (r >= 4 * k) & (r < 4 * k + 4)))
    if "com" in parts:
        disk = r < R_COM
        cols.append(("_com_w", disk))
        cols.append(("_com_y", disk * (qy - CY)))
        cols.append(("_com_x", disk * (qx - CX)))
    return cols


def run(path, workload, chunk_frames):
    parts = PARTS[workload]
    a = np.load(path, mmap_mode="r")
    nav, (sy, sx) = a.shape[:-2], a.shape[-2:]
    nframes = int(np.prod(nav))
    pix = sy * sx
    flat = a.reshape(nframes, pix)
    ct = np.float32 if a.dtype == np.float32 else np.float64   # compute type within a chunk
    cols = mask_columns(parts, sy, sx)
    names = [n for n, _ in cols]
    # W1 alone: a row sum; anything with a mask: one matrix product per chunk.
    only_sum = names == ["frame_sum"]
    mat = np.stack([m.reshape(pix) for _, m in cols], axis=1).astype(ct) if cols and not only_sum else None
    per_frame = np.empty((nframes, len(cols))) if cols else None
    meanvar = "meanvar" in parts
    if "fem" in parts:
        r = radius(sy, sx)[0]
        annulus = np.flatnonzero(((r > RI) & (r <= RO)).reshape(pix))
        fem = np.empty(nframes)
    if "sumframe" in parts:
        sum_frame = np.zeros(pix)
    if meanvar:
        mean = np.zeros(pix)
        m2 = np.zeros(pix)
        seen = 0
    for lo in range(0, nframes, chunk_frames):
        hi = min(nframes, lo + chunk_frames)
        c = flat[lo:hi]
        if c.dtype != ct:
            c = c.astype(ct)
        if only_sum:
            per_frame[lo:hi, 0] = c.sum(axis=1)
        elif mat is not None:
            per_frame[lo:hi] = c @ mat
        if "fem" in parts:
            fem[lo:hi] = c[:, annulus].std(axis=1, dtype=np.float64)
        if "sumframe" in parts:
            sum_frame += c.sum(axis=0)
        if meanvar:
            n = hi - lo
            cm = c.mean(axis=0)
            dev = c - cm
            np.square(dev, out=dev)
            cm2 = dev.sum(axis=0)
            total = seen + n
            delta = cm.astype(np.float64) - mean
            mean += delta * (n / total)
            m2 += cm2 + delta * delta * (seen * n / total)
            seen = total
    out = {}
    for j, name in enumerate(names):
        if not name.startswith("_"):
            out[name] = per_frame[:, j].reshape(nav)
    if "com" in parts:
        w = per_frame[:, names.index("_com_w")]
        with np.errstate(invalid="ignore", divide="ignore"):
            out["com_y"] = np.where(w == 0, np.nan, per_frame[:, names.index("_com_y")] / w).reshape(nav)
            out["com_x"] = np.where(w == 0, np.nan, per_frame[:, names.index("_com_x")] / w).reshape(nav)
    if "field" in parts:
        fy, fx = out.pop("com_y"), out.pop("com_x")
        out["field_y"], out["field_x"] = fy, fx
        out["divergence"] = np.gradient(fy, axis=0) + np.gradient(fx, axis=1)
        out["curl"] = np.gradient(fy, axis=1) - np.gradient(fx, axis=0)
    if "fem" in parts:
        out["fem"] = fem.reshape(nav)
    if "sumframe" in parts:
        out["sum_frame"] = sum_frame.reshape(sy, sx)
    if meanvar:
        out["mean_frame"] = mean.reshape(sy, sx)
        out["var_frame"] = (m2 / seen).reshape(sy, sx)
    return out


def summary(arr):
    arr = np.asarray(arr, dtype=np.float64)
    finite = arr[~np.isnan(arr)]
    if finite.size == 0:
        return {"min": None, "mean": None, "max": None, "nan": int(arr.size)}
    return {"min": float(finite.min()), "mean": float(finite.mean()), "max": float(finite.max()),
            "nan": int(arr.size - finite.size)}


def blas_info():
    try:
        import threadpoolctl
    except ImportError:
        return None
    return [{k: v for k, v in d.items() if k in ("internal_api", "version", "architecture",
                                                  "threading_layer", "num_threads", "filepath")}
            for d in threadpoolctl.threadpool_info()]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file")
    ap.add_argument("--workload", required=True, choices=WORKLOADS)
    ap.add_argument("--threads", type=int, default=0, help="BLAS threads (0: all)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--chunk", type=int, default=64,
                    help="frames per chunk (64: 4 MiB of 128x128 f32 frames; the fastest of 32..1024 here)")
    args = ap.parse_args()
    limiter = None
    try:
        import threadpoolctl
        if args.threads > 0:
            limiter = threadpoolctl.threadpool_limits(limits=args.threads)
    except ImportError:
        pass   # run.py also sets OPENBLAS_NUM_THREADS
    best = float("inf")
    out = None
    for _ in range(max(1, args.repeat)):
        t0 = time.perf_counter()
        out = run(args.file, args.workload, args.chunk)
        best = min(best, time.perf_counter() - t0)
    info = {"workload": args.workload, "best_s": best, "threads": args.threads,
            "numpy": np.__version__, "python": sys.executable, "blas": blas_info(),
            "openblas_env": {k: os.environ[k] for k in os.environ if k.startswith("OPENBLAS")},
            "results": {k: summary(v) for k, v in out.items()}}
    print(json.dumps(info))
    del limiter


if __name__ == "__main__":
    main()
