#!/usr/bin/env python3
"""The MPI benchmark (issue 7): W6 with 2 ranks x 1 thread against 1 process x
2 threads on the 1 GiB and 4 GiB datasets of bench/run.py, and the merge cost
for growing accumulators (tem_bench_merge), in the same invocation.

    python3 bench/mpi.py [--sizes 1g,4g] [--repeat 3] [--no-report]

Prints a table and replaces the "MPI" section of docs/performance.md. Needs a
tem built with MPI and mpirun (Debian: libopenmpi-dev openmpi-bin).
"""
import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402

BEGIN, END = "<!-- mpi:begin -->", "<!-- mpi:end -->"
MPIRUN = ["mpirun", "--oversubscribe", "--allow-run-as-root", "--bind-to", "none"]


def timed(cmd, repeat):
    best = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if p.returncode != 0:
            raise SystemExit(f"failed: {' '.join(cmd)}\n{p.stderr}")
        m = bench.TIMINGS_RE.search(p.stderr)
        run_s = float(m.group(3)) if m else float("nan")
        if best is None or run_s < best[0]:
            best = (run_s, wall)
    return best


def main():
    # Every run compiles its kernels, as bench/run.py measures them.
    os.environ["TEM_KERNEL_CACHE"] = "off"
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1g,4g")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-report", action="store_true")
    args = ap.parse_args()
    tem = bench.ROOT / "build" / "bin" / "tem"
    merge = bench.ROOT / "build" / "bin" / "tem_bench_merge"
    bench_dir = Path(os.environ.get("TEM_BENCH_DIR", "/tmp/tem-bench"))
    bench_dir.mkdir(parents=True, exist_ok=True)
    script = str(bench.BENCH / "workloads" / "W6.tem")
    rows = []
    for size in args.sizes.split(","):
        spec = bench.SIZES[size]
        path = bench_dir / f"scan_{size}_{spec[0]}.npy"
        bench.generate(path, spec)
        bench.warm(path)
        gb = bench.data_bytes(path) / 1e9
        threads = timed([str(tem), "run", script, f"d={path}", "--threads", "2", "--timings"], args.repeat)
        ranks = timed(MPIRUN + ["-np", "2", str(tem), "run", script, f"d={path}", "--threads", "1", "--timings"],
                      args.repeat)
        rows.append((spec[3], gb, threads, ranks))
        bench.log(f"{size}: 1x2 run {threads[0]:.3f} s, 2x1 run {ranks[0]:.3f} s")
    out = subprocess.run(MPIRUN + ["-np", "2", str(merge), "--max-mib", "256"], capture_output=True, text=True,
                         check=True).stdout
    merges = [dict(kv.split("=") for kv in line.split()) for line in out.splitlines() if line.startswith("ranks=")]
    L = [BEGIN, "## MPI: W6 with 2 ranks × 1 thread against 1 process × 2 threads", "",
         f"Written by `python3 bench/mpi.py --sizes {args.sizes}` (best of {args.repeat}; page-cached data; "
         "`run` is rank 0's pass time including the merge, `wall` the whole `mpirun`/`tem` process).", "",
         "| dataset | 1×2 run s | 2×1 run s | ratio (1×2 ÷ 2×1) | 1×2 wall s | 2×1 wall s |", "|---|--:|--:|--:|--:|--:|"]
    for label, gb, t, r in rows:
        L.append(f"| {label} | {t[0]:.3f} | {r[0]:.3f} | {t[0] / r[0]:.2f} | {t[1]:.3f} | {r[1]:.3f} |")
    L += ["", "Merge of states across 2 ranks (`mpirun -np 2 build/bin/tem_bench_merge`: binomial tree + broadcast, "
          "one add per value):", "", "| accumulator | seconds | GB/s |", "|--:|--:|--:|"]
    for m in merges:
        L.append(f"| {int(m['bytes']) / 2**20:.3g} MiB | {float(m['seconds']):.6f} | {float(m['GBps']):.2f} |")
    L.append(END)
    text = "\n".join(L)
    print(text)
    if not args.no_report:
        bench.replace_section("mpi", text)


if __name__ == "__main__":
    main()
