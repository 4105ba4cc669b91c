#!/usr/bin/env python3
"""Prints .npy files on one line each, for FileCheck (lit: %python %S/../Inputs/show_npy.py FILE...).

    float64 (2, 2) 252.0 819.0 1386.0 1953.0

The dtype (NumPy's name), the shape, then every value in C order: floats as
Python's repr (the shortest round trip; NaN is nan), integers as integers,
bools as True/False. No brackets, so that FileCheck patterns stay literal.
"""
import sys

import numpy as np


def main():
    for path in sys.argv[1:]:
        a = np.load(path)
        values = " ".join(str(v) for v in a.ravel().tolist())
        print(f"{a.dtype} {a.shape} {values}".rstrip())


if __name__ == "__main__":
    sys.exit(main())
