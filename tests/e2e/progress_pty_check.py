#!/usr/bin/env python3
"""Runs `tem eval` with stderr on a pseudo-terminal and checks the progress
bar: drawn (frames done, GB/s, ETA) and cleared at the end; absent with
--quiet.

    progress_pty_check.py TEM DATASET
"""
import os
import sys

from pty_session import PtySession

tem, data = sys.argv[1:3]
# The bar shows after 0.5 s; TEM_PROGRESS_DELAY=0 shows it at once.
env = dict(os.environ, TEM_PROGRESS_DELAY="0", TERM="xterm")
expr = "var(exp(sin(d)) * log1p(d), nav)"
argv = [tem, "eval", expr, data, "--engine", "interp", "--threads", "1"]
with PtySession(argv, env) as s:
    s.expect(r"\[[#.]+\] \d+/\d+ frames  [0-9.]+ GB/s  ETA ")
    s.expect(r"\r\x1b\[Kshape \(\d+, \d+\) f64")  # cleared before the summary
    if s.wait() != 0:
        sys.exit("tem eval failed:\n" + s.seen)
with PtySession(argv + ["--quiet"], env) as s:
    s.expect(r"shape \(\d+, \d+\) f64")
    s.wait()
    if "frames" in s.seen:
        sys.exit("--quiet still drew the bar:\n" + s.seen)
print("ok")
