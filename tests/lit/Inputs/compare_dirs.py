#!/usr/bin/env python3
"""compare_dirs.py A B: every NAME.npy in A equals B's within LANGUAGE.md's
tolerances (rel 1e-6; integers and bools exactly; NaN where NaN)."""
import os
import sys

import numpy as np

a_dir, b_dir = sys.argv[1], sys.argv[2]
names = sorted(f for f in os.listdir(a_dir) if f.endswith(".npy"))
assert names == sorted(f for f in os.listdir(b_dir) if f.endswith(".npy")), "different result sets"
bad = 0
for n in names:
    a, b = np.load(os.path.join(a_dir, n)), np.load(os.path.join(b_dir, n))
    if a.dtype != b.dtype or a.shape != b.shape:
        print(f"{n}: {a.dtype}{a.shape} vs {b.dtype}{b.shape}")
        bad += 1
    elif a.dtype.kind == "f":
        if not np.allclose(a, b, rtol=1e-6, atol=1e-9, equal_nan=True):
            print(f"{n}: max abs diff {np.nanmax(np.abs(a - b))}")
            bad += 1
    elif not np.array_equal(a, b):
        print(f"{n}: differs")
        bad += 1
print(f"{len(names) - bad} passed, {bad} failed")
sys.exit(1 if bad else 0)
