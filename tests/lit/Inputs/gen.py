#!/usr/bin/env python3
"""Generates small datasets for tem's tests (checked in; run by lit as %gen).

    gen.py OUT.npy --nav 7,5 --sig 33,17 --dtype u16 [--pattern ramp|random|cbed]
           [--seed N] [--big-endian] [--raw [--offset BYTES]]

Patterns:
  ramp    value = (flat element index * 7) mod 251 (+0.25 for floats): exact in every dtype
  random  uniform integers 0..99 (floats: 0..100) from the seed
  cbed    a bright disk of radius sig/6 whose centre shifts by (ry - ny/2, rx - nx/2)/2
          pixels from the frame centre, on a weak background (for centre of mass)
With --raw the bytes are written without a header (after --offset zero bytes).
"""
import argparse
import sys

import numpy as np

DTYPES = {"bool": "?", "u8": "u1", "u16": "u2", "u32": "u4", "u64": "u8", "i8": "i1", "i16": "i2",
          "i32": "i4", "i64": "i8", "f32": "f4", "f64": "f8"}


def shape(text):
    return tuple(int(v) for v in text.split(",")) if text else ()


def make(nav, sig, dtype, pattern, seed):
    shp = nav + sig
    dt = np.dtype(DTYPES[dtype])
    n = int(np.prod(shp)) if shp else 1
    if pattern == "ramp":
        a = (np.arange(n, dtype=np.int64) * 7) % 251
        if dt.kind == "b":
            a = a % 3 == 0
        elif dt.kind == "i":
            a = a - 100
        a = a.astype(np.float64)
        if dt.kind == "f":
            a = a + 0.25
        return a.reshape(shp).astype(dt)
    if pattern == "random":
        rng = np.random.default_rng(seed)
        if dt.kind == "f":
            return rng.uniform(0, 100, size=shp).astype(dt)
        if dt.kind == "b":
            return rng.integers(0, 2, size=shp).astype(dt)
        return rng.integers(0, 100, size=shp).astype(dt)
    if pattern == "cbed":
        sy, sx = sig[-2], sig[-1]
        navs = nav if nav else (1,)
        out = np.zeros(navs + (sy, sx), dtype=np.float64)
        qy, qx = np.mgrid[0:sy, 0:sx]
        r = min(sy, sx) / 6.0
        for idx in np.ndindex(*navs):
            ry = idx[-2] if len(idx) >= 2 else 0
            rx = idx[-1]
            ny = navs[-2] if len(navs) >= 2 else 1
            nx = navs[-1]
            cy = sy // 2 + (ry - ny // 2) / 2.0
            cx = sx // 2 + (rx - nx // 2) / 2.0
            disk = np.hypot(qy - cy, qx - cx) < r
            out[idx] = np.where(disk, 1000.0, 1.0)
        return out.reshape(shp).astype(dt)
    raise SystemExit(f"unknown pattern {pattern}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--nav", default="")
    ap.add_argument("--sig", required=True)
    ap.add_argument("--dtype", default="f32", choices=sorted(DTYPES))
    ap.add_argument("--pattern", default="ramp", choices=["ramp", "random", "cbed"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--big-endian", action="store_true")
    ap.add_argument("--raw", action="store_true")
    ap.add_argument("--offset", type=int, default=0)
    args = ap.parse_args()
    a = make(shape(args.nav), shape(args.sig), args.dtype, args.pattern, args.seed)
    if args.big_endian:
        a = a.astype(a.dtype.newbyteorder(">"))
    if args.raw:
        with open(args.out, "wb") as f:
            f.write(b"\0" * args.offset)
            f.write(a.tobytes(order="C"))
    else:
        np.save(args.out, a)


if __name__ == "__main__":
    sys.exit(main())
