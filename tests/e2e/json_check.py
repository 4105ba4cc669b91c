#!/usr/bin/env python3
"""Checks the JSON of `tem eval --json` / `tem run --json` against NumPy, and
of `tem info --json` against the dataset.

    json_check.py results JSONFILE DATA.npy
    json_check.py info JSONFILE DATA.npy
"""
import json
import sys

import numpy as np

mode, path, data = sys.argv[1:4]
doc = json.load(open(path))
d = np.load(data)

if mode == "info":
    assert doc["format"] == "npy", doc
    assert doc["nav_shape"] == list(d.shape[:-2]), doc
    assert doc["sig_shape"] == list(d.shape[-2:]), doc
    assert doc["nav_axes"] == ["ry", "rx"] and doc["sig_axes"] == ["qy", "qx"], doc
    assert doc["dtype"] == "u16" and doc["byte_order"] == "little", doc
    assert doc["frames"] == d.shape[0] * d.shape[1], doc
    assert doc["data_bytes"] == d.nbytes, doc
    print("ok")
    sys.exit(0)

f = d.astype(np.float64)
expected = {
    "bf": f.sum(axis=(2, 3)),
    "total": np.float64(f.sum()),
    "frame_sum": f.sum(axis=(0, 1)),
    "peak": d.max(axis=(2, 3)),
}
results = {r["name"]: r for r in doc["results"]}
for name, r in results.items():
    ref = expected[name]
    assert r["shape"] == list(np.shape(ref)), (name, r["shape"])
    for key, value in [("min", ref.min()), ("mean", ref.mean()), ("max", ref.max())]:
        assert np.isclose(r[key], value, rtol=1e-9), (name, key, r[key], value)
    assert r["nan"] == 0 and r["inf"] == 0, r
    if np.size(ref) <= 64:
        assert np.allclose(np.array(r["values"], dtype=np.float64), ref, rtol=1e-12), (name, r["values"])
    else:
        assert "values" not in r, name
print(" ".join("%s:%s" % (n, results[n]["dtype"]) for n in sorted(results)))
