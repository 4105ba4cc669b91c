"""symmetric_patterns.py OUT.npy: a 2x3 scan of 32x32 f32 frames; frame i is
100 * (1 + cos(k_i * (phi - p_i))) on the ring 6 <= r < 12 around (16, 15)
plus a small random background, with symmetry orders k = 1, 2, 4, 3, 6, 2
and phase offsets p_i, for the radial Fourier tests."""
import sys

import numpy as np

rng = np.random.default_rng(5)
orders = [1, 2, 4, 3, 6, 2]
phases = [0.0, 0.3, -1.0, 2.0, 0.5, -2.5]
qy, qx = np.mgrid[0:32, 0:32]
r = np.hypot(qy - 16, qx - 15)
phi = np.arctan2(qy - 16, qx - 15)
frames = []
for k, p in zip(orders, phases):
    f = np.where((r >= 6) & (r < 12), 100 * (1 + np.cos(k * (phi - p))), 0.0)
    frames.append(f + rng.uniform(0, 1, f.shape))
np.save(sys.argv[1], np.array(frames, dtype=np.float32).reshape(2, 3, 32, 32))
