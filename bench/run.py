#!/usr/bin/env python3
"""tem's benchmark: one command that generates its datasets, runs every
workload with tem and with the baselines in the same invocation, prints a
table and writes docs/performance.md. See bench/README.md.

    python3 bench/run.py [--quick] [--sizes 1g,512m,4g] [--repeat 3] [--no-report]

Datasets go to $TEM_BENCH_DIR (default /tmp/tem-bench) and are kept for the
next run (regenerated when missing or made by another generator version).
"""
import argparse
import ctypes
import datetime
import json
import mmap
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

try:
    import numpy as np
except ImportError:   # e.g. a pyenv python3 first on PATH: use Debian's, which has NumPy
    if os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    raise SystemExit("bench/run.py needs NumPy (Debian: apt-get install python3-numpy libopenblas0-pthread)")

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
GEN_VERSION = 1
GiB = 1 << 30
NPROC = os.cpu_count() or 1

# name: (dtype, nav, sig, label)
SIZES = {
    "1g": ("f32", (128, 128), (128, 128), "f32, 128×128 scan of 128×128 frames, 1 GiB"),
    "512m": ("u16", (128, 128), (128, 128), "u16, 128×128 scan of 128×128 frames, 512 MiB"),
    "4g": ("f32", (256, 256), (128, 128), "f32, 256×256 scan of 128×128 frames, 4 GiB"),
}
SMALL = ("f32", (32, 16), (128, 128), "f32, 32×16 scan of 128×128 frames, 32 MiB")      # interp
ONELINER = ("f32", (32, 32), (128, 128), "f32, 32×32 scan of 128×128 frames, 64 MiB")   # start-up split
TINY = ("u8", (128, 128), (4, 4), "u8, 128×128 scan of 4×4 frames (16384 frames)")      # per-frame overhead
WORKLOADS = ["W1", "W2", "W3", "W4", "W5", "W6", "W7", "S1"]
WORKLOAD_TEXT = {
    "W1": "per-frame sum",
    "W2": "one bright-field disk",
    "W3": "16 ring detectors",
    "W4": "centre of mass",
    "W5": "mean + variance frame",
    "W6": "W1+W2+W4+W5 fused",
    "W7": "W1–W5 fused",
    "S1": "stem survey: BF, ADF, CoM field, divergence, curl, FEM, sum frame",
}
TARGET_LIMIT = {"W1": 0.85, "W2": 0.85, "W4": 0.85, "W5": 0.85, "W6": 0.75, "W7": 0.45, "S1": 0.70}
TIMINGS_RE = re.compile(r"parse\+plan ([\d.]+) s, compile ([\d.]+) s, run ([\d.]+) s "
                        r"\(passes ([\d.]+) s, (\d+) threads?\), write ([\d.]+) s")
RESULT_RE = re.compile(r"^(?:(\w+): )?shape \(([^)]*)\) (\w+)\s+min (\S+)\s+mean (\S+)\s+max (\S+)(?:\s+nan (\d+))?")
NPY_DT = {"f32": "<f4", "u16": "<u2", "u8": "|u1"}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---- datasets -------------------------------------------------------------------------------

def frame_bank(dtype, sig, count, seed):
    """`count` frames of a convergent-beam pattern: a bright disk of radius 16
    (shifted by up to ±3 pixels, as by a sample's fields), a diffuse halo and
    one Bragg-like ring, with Poisson noise."""
    rng = np.random.default_rng(seed)
    sy, sx = sig
    if sy < 16 or sx < 16:   # tiny frames: just noise
        return rng.integers(0, 100, size=(count, sy, sx)).astype(np.dtype(NPY_DT[dtype]))
    qy, qx = np.mgrid[0:sy, 0:sx]
    bank = np.empty((count, sy, sx), dtype=np.dtype(NPY_DT[dtype]))
    for k in range(count):
        dy, dx = rng.uniform(-3, 3, size=2)
        r = np.hypot(qy - sy / 2 - dy, qx - sx / 2 - dx)
        lam = (200.0 / (1.0 + np.exp((r - 16.0) * 2.0))      # the disk, soft edge
               + 20.0 * np.exp(-r / 25.0)                   # diffuse halo
               + 15.0 * np.exp(-((r - 40.0) / 2.0) ** 2)    # a ring
               + 1.0)
        bank[k] = rng.poisson(lam)
    return bank


def generate(path, spec, seed=1):
    dtype, nav, sig, _ = spec
    meta_path = path.with_suffix(".json")
    meta = {"version": GEN_VERSION, "dtype": dtype, "nav": list(nav), "sig": list(sig), "seed": seed}
    nframes = int(np.prod(nav))
    dt = np.dtype(NPY_DT[dtype])
    data_bytes = nframes * int(np.prod(sig)) * dt.itemsize
    if path.exists() and meta_path.exists():
        try:
            if json.loads(meta_path.read_text()) == meta and path.stat().st_size >= data_bytes:
                return False
        except (OSError, ValueError):
            pass
    log(f"generating {path} ({data_bytes / GiB:.3g} GiB)")
    bank = frame_bank(dtype, sig, 97, seed)
    rng = np.random.default_rng(seed + 1)
    tmp = path.with_suffix(".npy.tmp")
    chunk = max(1, (64 << 20) // (bank[0].nbytes))   # 64 MiB at a time: never the whole file in memory
    with open(tmp, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": NPY_DT[dtype], "fortran_order": False,
                                                 "shape": tuple(nav) + tuple(sig)})
        for lo in range(0, nframes, chunk):
            n = min(chunk, nframes - lo)
            bank[rng.integers(0, len(bank), size=n)].tofile(f)
    os.replace(tmp, path)
    meta_path.write_text(json.dumps(meta))
    return True


def data_bytes(path):
    """Bytes of array data in a .npy file (the file minus its header)."""
    return int(np.load(path, mmap_mode="r").nbytes)


def warm(path):
    """Puts the file in the page cache in a reproducible state: its own pages
    are dropped (posix_fadvise DONTNEED on this file only, after an fsync) and
    it is read back sequentially, so that readahead caches it in large folios.
    A file cached by being written sits in 4 KiB pages, and a fresh mapping of
    it costs about twice as much (docs: DESIGN.md, performance facts)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    except OSError:
        pass
    finally:
        os.close(fd)
    with open(path, "rb", buffering=0) as f:
        buf = bytearray(64 << 20)
        while f.readinto(buf):
            pass


def file_huge_pages():
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("FileHugePages:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def mem_available():
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


# ---- the programs -----------------------------------------------------------------------------

def find_limit(bench_dir):
    """The limit program: the build's tem_bench_limit, else bench/limit.cpp compiled here."""
    built = ROOT / "build" / "bin" / "tem_bench_limit"
    src = BENCH / "limit.cpp"
    if built.exists() and built.stat().st_mtime >= src.stat().st_mtime:
        return built
    exe = bench_dir / "tem_bench_limit"
    if not exe.exists() or exe.stat().st_mtime < src.stat().st_mtime:
        cxx = shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")
        if not cxx:
            raise SystemExit("no C++ compiler to build bench/limit.cpp")
        log(f"compiling {src} -> {exe}")
        subprocess.run([cxx, "-O3", "-march=native", "-std=c++20", "-pthread", str(src), "-o", str(exe)],
                       check=True)
    return exe


def key_values(out):
    """The `key=value ...` lines of a bench program's output, one dict each."""
    return [dict(p.split("=", 1) for p in line.split()) for line in out.splitlines() if line.strip()]


def run_limit(exe, path, repeat=5, threads=None):
    counts = ",".join(str(t) for t in threads) if threads else (f"1,{NPROC}" if NPROC > 1 else "1")
    out = subprocess.run([str(exe), str(path), "--threads", counts,
                          "--repeat", str(repeat)], check=True, capture_output=True, text=True).stdout
    res = {}
    for kv in key_values(out):
        res[int(kv["threads"])] = {"warm": float(kv["warm_gbps"]), "fresh": float(kv["fresh_gbps"]),
                                   "sum": float(kv["sum"])}
    return res


def best_of(runs):
    """The smallest of each --timings phase (and the wall time) over
    run_tem results; the results printed are the first run's."""
    best = dict(runs[0])
    for t in runs[1:]:
        for k in ("wall", "plan", "compile", "run", "passes", "write"):
            best[k] = min(best[k], t[k])
    return best


def paired(exe, path, tem, targs, threads, repeat):
    """tem's best of `repeat` runs, each right after one measurement of the
    limit at the same thread count, and the limit measured right before
    tem's fastest run. The memory bandwidth this host gives moves within
    seconds (at 2 threads, between about 47 and 67 GB/s during one run), so
    the fastest run is compared with the machine as it was at that moment,
    not with the best the machine did at another (nor minutes before)."""
    lims, runs = [], []
    for _ in range(repeat):
        lims.append(run_limit(exe, path, repeat=1, threads=[threads])[threads])
        runs.append(run_tem(tem, targs, 1))
    fastest = min(range(len(runs)), key=lambda i: runs[i]["run"])
    lim = dict(lims[fastest])
    lim["all_fresh"] = [l["fresh"] for l in lims]
    return lim, best_of(runs)


def resident_fraction(path):
    """The fraction of the file's pages in the page cache (mincore), or None.
    None too for a file this user neither owns nor may write: Linux's mincore
    then reports only the pages this process has mapped."""
    try:
        st = os.stat(path)
        if st.st_uid != os.geteuid() and not os.access(path, os.W_OK):
            return None
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                              ctypes.c_long]
        libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
        size = os.path.getsize(path)
        page = os.sysconf("SC_PAGESIZE")
        pages = (size + page - 1) // page
        vec = (ctypes.c_ubyte * pages)()
        with open(path, "rb") as f:
            addr = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, f.fileno(), 0)
        if addr is None or addr == ctypes.c_void_p(-1).value:
            return None
        try:
            if libc.mincore(addr, size, vec) != 0:
                return None
        finally:
            libc.munmap(addr, size)
        return sum(v & 1 for v in vec) / pages
    except (OSError, AttributeError):
        return None


def parse_results(stdout):
    res = {}
    for line in stdout.splitlines():
        m = RESULT_RE.match(line)
        if m:
            res[m.group(1) or "result"] = {"min": float(m.group(4)), "mean": float(m.group(5)),
                                           "max": float(m.group(6)), "nan": int(m.group(7) or 0)}
    return res


def run_tem(tem, args, repeat, cache="off"):
    """Best of `repeat` runs of `tem ARGS --timings`: wall time around the
    process, and the smallest of each --timings phase. The kernel cache is
    off unless `cache` names its directory: every run compiles its kernels."""
    runs = []
    env = dict(os.environ, TEM_KERNEL_CACHE=str(cache))
    for _ in range(repeat):
        t0 = time.perf_counter()
        p = subprocess.run([str(tem)] + args + ["--timings"], capture_output=True, text=True, env=env)
        wall = time.perf_counter() - t0
        if p.returncode != 0:
            raise RuntimeError(f"tem {' '.join(args)} failed ({p.returncode}):\n{p.stderr}")
        m = TIMINGS_RE.search(p.stderr)
        if not m:
            raise RuntimeError(f"no --timings line in:\n{p.stderr}")
        t = {"wall": wall, "plan": float(m.group(1)), "compile": float(m.group(2)), "run": float(m.group(3)),
             "passes": float(m.group(4)), "threads": int(m.group(5)), "write": float(m.group(6)),
             "results": parse_results(p.stdout)}
        runs.append(t)
    return best_of(runs)


def numpy_python():
    """Debian's python3 (python3-numpy with libopenblas0-pthread), else this one."""
    for cand in ("/usr/bin/python3", sys.executable):
        if cand and os.path.exists(cand):
            r = subprocess.run([cand, "-c", "import numpy"], capture_output=True)
            if r.returncode == 0:
                return cand
    raise SystemExit("no python3 with NumPy")


def numpy_env(threads):
    """OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE slow a current OpenBLAS: unset
    them for this command only (see .library's env notes); threadpoolctl
    reports the kernel then chosen."""
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    env["OPENBLAS_NUM_THREADS"] = str(threads if threads > 0 else NPROC)
    return env


def run_numpy(py, path, workload, threads, repeat):
    p = subprocess.run([py, str(BENCH / "numpy_baseline.py"), str(path), "--workload", workload,
                        "--threads", str(threads), "--repeat", str(repeat)],
                       capture_output=True, text=True, env=numpy_env(threads))
    if p.returncode != 0:
        raise RuntimeError(f"numpy baseline {workload} failed:\n{p.stderr}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def compare(tem_res, np_res):
    """'ok' when every NumPy result's min/mean/max matches tem's to 1e-4 of its scale."""
    bad = []
    for name, s in np_res.items():
        t = tem_res.get(name)
        if t is None:
            bad.append(f"{name} missing")
            continue
        if s["min"] is None:
            continue
        scale = max(1.0, abs(s["min"]), abs(s["mean"]), abs(s["max"]))
        for k in ("min", "mean", "max"):
            if abs(t[k] - s[k]) > 1e-4 * scale:
                bad.append(f"{name}.{k} tem {t[k]:.6g} numpy {s[k]:.6g}")
    return "ok" if not bad else "MISMATCH: " + "; ".join(bad[:3])


def wall_best(cmd, repeat):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        best = min(best, time.perf_counter() - t0)
    return best


# ---- machine ---------------------------------------------------------------------------------

def cpu_times():
    """(steal, total) jiffies of all CPUs from /proc/stat."""
    try:
        f = open("/proc/stat").readline().split()[1:]
        v = [int(x) for x in f]
        return (v[7] if len(v) > 7 else 0), sum(v[:8])
    except (OSError, ValueError):
        return 0, 0


def machine(tem, py):
    info = {}
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        kv = {}
        for line in lscpu.splitlines():
            if ":" in line:
                k, v = line.split(":", 1)
                kv[k.strip()] = v.strip()
        flags = kv.get("Flags", "").split()
        simd = [f for f in ("avx2", "fma", "avx512f") if f in flags]
        info["cpu"] = (f"{kv.get('Model name', '?')} (family {kv.get('CPU family', '?')}, model {kv.get('Model', '?')}), "
                       f"{kv.get('CPU(s)', '?')} CPUs, {kv.get('Thread(s) per core', '?')} thread(s) per core, "
                       f"{' + '.join(simd) or 'no AVX2'}; L1d {kv.get('L1d cache', '?')}, L2 {kv.get('L2 cache', '?')}, "
                       f"L3 {kv.get('L3 cache', '?')}; {kv.get('Hypervisor vendor', 'bare metal')} "
                       f"{'guest' if 'Hypervisor vendor' in kv else ''}".strip())
    except OSError:
        info["cpu"] = platform.processor()
    total = None
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal:"):
            total = int(line.split()[1]) * 1024
    info["memory"] = f"{total / GiB:.1f} GiB" if total else "?"
    info["kernel"] = platform.release()
    info["tem"] = subprocess.run([str(tem), "--version"], capture_output=True, text=True).stdout.strip()
    try:
        git = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h %s"], capture_output=True,
                             text=True).stdout.strip()
        info["commit"] = git if len(git) <= 72 else git[:71] + "…"
    except OSError:
        info["commit"] = "?"
    blas = subprocess.run([py, "-c", "import numpy, json, sys\n"
                                     "try:\n import threadpoolctl; b = threadpoolctl.threadpool_info()\n"
                                     "except ImportError: b = None\n"
                                     "print(json.dumps({'numpy': numpy.__version__, 'python': sys.version.split()[0], 'blas': b}))"],
                          capture_output=True, text=True, env=numpy_env(0)).stdout
    info["numpy"] = json.loads(blas)
    return info


# ---- report ------------------------------------------------------------------------------------

def f_gbps(x):
    return f"{x:.2f}" if x is not None else "–"


def f_ratio(x, pct=False):
    if x is None:
        return "–"
    return f"{100 * x:.0f}%" if pct else f"{x:.1f}×"


def dataset_table(ds):
    lim = ds["limit"]
    lines = [f"### {ds['label']}", ""]
    def rng(lo, hi):
        return f"{lo:.1f}" if hi < 1.02 * lo else f"{lo:.1f}–{hi:.1f}"
    lines.append("Limit (bench/limit.cpp, GB/s, measured right before each run of tem; each row is compared "
                 "with the one measured right before its fastest run): " + "; ".join(
                     f"{t} thread{'s' if t > 1 else ''} {rng(v['warm_min'], v['warm_max'])} warm mapping, "
                     f"{rng(v['fresh_min'], v['fresh_max'])} fresh mapping" for t, v in lim.items()) + ".")
    lines.append("")
    lines.append("| workload | thr | tem wall ms | compile ms | run ms | tem GB/s (run) | tem GB/s (wall) "
                 "| limit GB/s (fresh) | run / limit (warm) | run / limit (fresh) | NumPy ms | NumPy GB/s | NumPy ÷ tem wall ¹ | check |")
    lines.append("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|")
    for w in ds["workloads"]:
        for r in w["rows"]:
            t, n = r["tem"], r["numpy"]
            lines.append(
                f"| {w['name']} {WORKLOAD_TEXT[w['name']]} | {r['threads']} | {1e3 * t['wall']:.0f} | "
                f"{1e3 * t['compile']:.0f} | {1e3 * t['run']:.0f} | {f_gbps(r['gbps_run'])} | {f_gbps(r['gbps_wall'])} | "
                f"{f_gbps(r['limit']['fresh'])} | "
                f"{f_ratio(r['vs_limit_warm'], True)} | {f_ratio(r['vs_limit_fresh'], True)} | "
                f"{1e3 * n['best_s']:.0f} | {f_gbps(r['numpy_gbps'])} | {f_ratio(r['vs_numpy'])} | {r['check']} |")
    lines.append("")
    if NPROC > 1:
        lines.append(f"¹ At {NPROC} threads NumPy counts at the better of its {NPROC}-thread and 1-thread times.")
        lines.append("")
    return lines


def targets(report):
    """The issue's targets: one row each, one column per dataset and thread count."""
    cols = []   # (dataset, threads) in table order
    for ds in report["datasets"]:
        for t in ([1, NPROC] if NPROC > 1 else [1]):
            cols.append((ds, t))
    header = "| target | " + " | ".join(f"{ds['short']}, {t} thr" for ds, t in cols) + " |"
    lines = [header, "|---|" + "--:|" * len(cols)]

    def cell(value, ok):
        return "–" if value is None else f"{value} {'✓' if ok else '✗'}"

    def row_for(ds, w, t):
        for wl in ds["workloads"]:
            if wl["name"] == w:
                for r in wl["rows"]:
                    if r["threads"] == t:
                        return r, wl
        return None, None

    def add(name, fn):
        cells = []
        for ds, t in cols:
            got = fn(ds, t)
            cells.append(cell(*got) if got else "–")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")

    for w, goal in TARGET_LIMIT.items():
        def f(ds, t, w=w, goal=goal):
            r, _ = row_for(ds, w, t)
            return (f"{100 * r['vs_limit_fresh']:.0f}%", r["vs_limit_fresh"] >= goal) if r else None
        add(f"{w} ≥ {100 * goal:.0f}% of the limit", f)
    for w in ("W6", "W7"):
        def f(ds, t, w=w):
            r, _ = row_for(ds, w, t)
            return (f"{r['vs_numpy']:.1f}×", r["vs_numpy"] >= 5) if r else None
        add(f"{w} ≥ 5× NumPy", f)

    def compile_w7(ds, t):
        r, _ = row_for(ds, "W7", t)
        return (f"{1e3 * r['tem']['compile']:.0f} ms", r["tem"]["compile"] <= 0.05) if r else None
    add("W7 compile ≤ 50 ms", compile_w7)

    def w3_scaling(ds, t):
        if t == 1:
            return None
        r1, _ = row_for(ds, "W3", 1)
        rn, _ = row_for(ds, "W3", t)
        if not (r1 and rn):
            return None
        sp = rn["gbps_run"] / r1["gbps_run"]
        return (f"{sp:.2f}×", sp >= 1.8)
    add(f"W3 {NPROC} threads ÷ 1 thread ≥ 1.8×", w3_scaling)
    lines.append("")
    ol, ov = report.get("oneliner"), report.get("overhead")
    if ol:
        lines.append(f"- `tem eval 'sum(d, sig)'` on a 64 MiB file ≤ 0.15 s wall: {ol['wall']:.3f} s "
                     f"{'✓' if ol['wall'] <= 0.15 else '✗'}")
    if ov:
        lines.append(f"- framework overhead ≤ 1 µs per frame: {ov['run_us_per_frame_1']:.3f} µs (run phase, 1 thread) "
                     f"{'✓' if ov['run_us_per_frame_1'] <= 1.0 else '✗'}; "
                     f"{ov['wall_us_per_frame_1']:.2f} µs counting the whole process")
    lines.append("")
    lines.append("Ratios to the limit are tem's run phase against the limit program's fresh-mapping figure "
                 "at the same thread count; ratios to NumPy are NumPy's time over tem's whole-process wall time.")
    lines.append("")
    return lines


def render(report):
    m = report["machine"]
    nb = m["numpy"]
    blas = nb.get("blas") or []
    blas_txt = ", ".join(f"{b.get('internal_api')} {b.get('version')} ({b.get('architecture')} kernel, "
                         f"{b.get('threading_layer')})" for b in blas) or "threadpoolctl not installed"
    L = ["# Performance", "",
         "Written by `bench/run.py` (see [bench/README.md](../bench/README.md) for what each figure means); "
         "do not edit by hand.", "",
         f"- date: {report['date']}",
         f"- command: `{report['command']}`",
         f"- machine: {m['cpu']}; memory {m['memory']}; Linux {m['kernel']}",
         f"- tem: {m['tem']} at commit {m['commit']}",
         f"- NumPy {nb.get('numpy')} (Python {nb.get('python')}), BLAS: {blas_txt}; "
         f"OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for the NumPy runs",
         f"- load average when the run started: {report.get('loadavg_start', '?')}; CPU time stolen by the "
         f"hypervisor during the run: {report.get('steal_pct', 0.0):.1f}%",
         f"- tem: best of {report['repeat']} runs, wall time measured around the `tem run` process; "
         f"compile and run from `--timings`. NumPy: best of {report['repeat']}, timed inside Python "
         f"(start-up and imports not counted). GB = 10⁹ bytes of array data.", ""]
    for note in report["notes"]:
        L.append(f"> {note}")
        L.append("")
    L += ["## Targets", ""] + targets(report)
    L += ["## Workloads", ""]
    for ds in report["datasets"]:
        L += dataset_table(ds)
    if report.get("interp"):
        it = report["interp"]
        L += [f"## The reference interpreter (`--engine interp`) on {it['label']}", "",
              "| workload | interp s (wall) | interp GB/s | jit s (wall) | interp ÷ jit | results agree |",
              "|---|--:|--:|--:|--:|---|"]
        for r in it["rows"]:
            L.append(f"| {r['workload']} | {r['interp']:.2f} | {r['interp_gbps']:.3f} | {r['jit']:.3f} | "
                     f"{r['interp'] / r['jit']:.0f}× | {r['check']} |")
        L.append("")
    if report.get("oneliner"):
        o = report["oneliner"]
        L += [f"## A one-liner on a small file: `tem eval 'sum(d, sig)'`, {o['label']}", "",
              "| whole process (wall) | process start-up (`tem --version`) | parse + plan | compile | run | rest |",
              "|--:|--:|--:|--:|--:|--:|",
              f"| {1e3 * o['wall']:.1f} ms | {1e3 * o['startup']:.1f} ms | {1e3 * o['plan']:.1f} ms | "
              f"{1e3 * o['compile']:.1f} ms | {1e3 * o['run']:.1f} ms | {1e3 * o['rest']:.1f} ms |", ""]
    kc = report.get("kernel_cache")
    if kc and kc.get("rows"):
        L += [f"## The kernel cache: a script run again on data of the same geometry ({kc['label']}, {NPROC} threads)", "",
              "Every figure above compiles its kernels (`TEM_KERNEL_CACHE=off`). By default tem keeps the machine "
              "code of each kernel (docs/cli.md, Environment); the second run of a script on data of the same "
              "geometry loads it:", "",
              "| workload | compile, first run | compile, cached | wall, cached | NumPy ÷ tem wall, cached |",
              "|---|--:|--:|--:|--:|"]
        for r in kc["rows"]:
            ratio = f"{r['numpy_s'] / r['cached_wall']:.1f}×" if r.get("numpy_s") else "–"
            L.append(f"| {r['workload']} | {1e3 * r['cold_compile']:.0f} ms | {1e3 * r['cached_compile']:.1f} ms | "
                     f"{1e3 * r['cached_wall']:.0f} ms | {ratio} |")
        L.append("")
    tm = report.get("tile_model")
    if tm and tm["modes"].get("linear"):
        lin = tm["modes"]["linear"]
        L += [f"## What limits W5: the tile loop's reads ({tm['label']}, 1 thread)", "",
              "`tem_bench_tile_model FILE` (bench/tile_model.cpp) reads the file in the orders of tem's loops, "
              "outside tem, its page tables filled before the clock starts; the last rows are tem's run phase "
              "in this report (page faults included):", "",
              "| loop | GB/s | ÷ linear |", "|---|--:|--:|"]
        names = {"linear": "model: every element in address order (W1's order)",
                 "tile": "model: tiles of 8 frames, a line of each in turn, sums in registers",
                 "tile-state": "model: the same, into a float64 state per pixel once per tile (tem's nav sum)",
                 "frame-state": "model: one frame at a time into the float64 state"}
        for k, v in tm["modes"].items():
            L.append(f"| {names.get(k, k)} | {v:.1f} | {100 * v / lin:.0f}% |")
        for w in ("W1", "W5"):
            if w in tm["tem"]:
                L.append(f"| tem {w} (run phase) | {tm['tem'][w]:.1f} | {100 * tm['tem'][w] / lin:.0f}% |")
        L.append("")
    if report.get("overhead"):
        o = report["overhead"]
        L += [f"## Per-frame overhead: `{o['script']}` on {o['label']}", "",
              "| threads | wall ms | run ms | run per frame | wall per frame |", "|--:|--:|--:|--:|--:|"]
        for t, key in ((1, "1"), (NPROC, "all")):
            L.append(f"| {t} | {1e3 * o['wall_' + key]:.1f} | {1e3 * o['run_' + key]:.2f} | "
                     f"{o['run_us_per_frame_' + key]:.2f} µs | {o['wall_us_per_frame_' + key]:.2f} µs |")
        L.append("")
    return "\n".join(L) + "\n"


def replace_section(tag, text, report=None):
    """Replaces the `<!-- TAG:begin -->` ... `<!-- TAG:end -->` section of
    docs/performance.md by `text` (which holds both markers), or appends it."""
    report = Path(report) if report else ROOT / "docs" / "performance.md"
    begin, end = f"<!-- {tag}:begin -->", f"<!-- {tag}:end -->"
    old = report.read_text() if report.exists() else "# Performance\n"
    if begin in old:
        old = old[:old.index(begin)] + old[old.index(end) + len(end):].lstrip("\n")
    report.write_text(old.rstrip("\n") + "\n\n" + text + "\n")


# ---- main ---------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="only the 512 MiB u16 and 1 GiB f32 datasets")
    ap.add_argument("--sizes", default=None, help="comma list of 1g, 512m, 4g (default: all three)")
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement (best taken)")
    ap.add_argument("--tem", default=str(ROOT / "build" / "bin" / "tem"))
    ap.add_argument("--report", default=str(ROOT / "docs" / "performance.md"))
    ap.add_argument("--no-report", action="store_true", help="print the table only")
    args = ap.parse_args()

    sizes = ["512m", "1g"] if args.quick else ["1g", "512m", "4g"]
    if args.sizes:
        sizes = [s.strip().lower() for s in args.sizes.split(",") if s.strip()]
        for s in sizes:
            if s not in SIZES:
                raise SystemExit(f"unknown size {s}; known: {', '.join(SIZES)}")
    workloads = [w.strip().upper() for w in args.workloads.split(",")]
    tem = Path(args.tem)
    if not tem.exists():
        raise SystemExit(f"{tem} not found: build tem first (or pass --tem)")
    bench_dir = Path(os.environ.get("TEM_BENCH_DIR", "/tmp/tem-bench"))
    bench_dir.mkdir(parents=True, exist_ok=True)
    limit = find_limit(bench_dir)
    py = numpy_python()
    notes = []
    report = {"date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
              "command": "python3 bench/run.py " + " ".join(sys.argv[1:]),
              "repeat": args.repeat, "machine": machine(tem, py), "datasets": [], "notes": notes}
    report["command"] = report["command"].strip()
    report["loadavg_start"] = open("/proc/loadavg").read().split()[0]
    steal0 = cpu_times()

    for size in sizes:
        spec = SIZES[size]
        path = bench_dir / f"scan_{size}_{spec[0]}.npy"
        nbytes = int(np.prod(spec[1] + spec[2])) * np.dtype(NPY_DT[spec[0]]).itemsize
        if not path.exists():
            free = shutil.disk_usage(bench_dir).free
            if nbytes >= 4 * GiB and free < 10 * GiB:
                notes.append(f"{size} skipped: only {free / GiB:.1f} GiB free in {bench_dir} (10 GiB wanted).")
                log(notes[-1])
                continue
        generate(path, spec)
        avail = mem_available()
        if avail is not None and avail < nbytes * 1.2:
            notes.append(f"{size}: only {avail / GiB:.1f} GiB of memory available; the file may not stay "
                         "page-cached, so its figures include disk reads.")
        log(f"== {spec[3]}: warming the page cache")
        warm(path)
        nb = data_bytes(path)
        huge = file_huge_pages()
        ds = {"label": spec[3], "short": f"{spec[0]} {size.upper().replace('M', ' MiB').replace('G', ' GiB')}",
              "path": str(path), "bytes": nb, "limits": [], "workloads": [], "file_huge_pages": huge,
              "resident_warmed": resident_fraction(path)}
        for w in workloads:
            # Each run of tem is paired with a measurement of the limit just before it
            # (paired()): the page cache's state and where the host runs the virtual CPUs
            # move the limit during a run.
            lim = {}
            ds["limits"].append(lim)
            script = BENCH / "workloads" / f"{w}.tem"
            rows = []
            for threads in ([1, NPROC] if NPROC > 1 else [1]):
                targs = ["run", str(script), f"d={path}"] + (["--threads", "1"] if threads == 1 else [])
                lt, t = paired(limit, path, tem, targs, threads, args.repeat)
                lim[threads] = lt
                log(f"limit {threads} thr: warm {lt['warm']:.2f} fresh {lt['fresh']:.2f} GB/s (before the fastest run; "
                    f"all: {', '.join(f'{f:.1f}' for f in lt['all_fresh'])})")
                n = run_numpy(py, path, w, 1 if threads == 1 else 0, args.repeat)
                # With all threads, NumPy counts at its better of all threads and one thread
                # (OpenBLAS's threads do not always help, and a user would not keep them then).
                np_best = min([n["best_s"]] + [r["numpy"]["best_s"] for r in rows])
                row = {"threads": threads, "tem": t, "numpy": n, "numpy_best_s": np_best, "limit": lt,
                       "gbps_run": nb / t["run"] / 1e9, "gbps_wall": nb / t["wall"] / 1e9,
                       "numpy_gbps": nb / n["best_s"] / 1e9, "vs_numpy": np_best / t["wall"],
                       "check": compare(t["results"], n["results"])}
                row["vs_limit_warm"] = row["gbps_run"] / lt["warm"]
                row["vs_limit_fresh"] = row["gbps_run"] / lt["fresh"]
                rows.append(row)
                log(f"{w} {threads} thr: tem wall {t['wall'] * 1e3:.0f} ms (compile {t['compile'] * 1e3:.0f}, "
                    f"run {t['run'] * 1e3:.0f}) {row['gbps_run']:.2f} GB/s run = {100 * row['vs_limit_fresh']:.0f}% "
                    f"of fresh limit; numpy {n['best_s'] * 1e3:.0f} ms ({row['vs_numpy']:.1f}×); {row['check']}")
            ds["workloads"].append({"name": w, "rows": rows})
        ds["limit"] = {}
        for t in ds["limits"][0]:
            fresh = [f for l in ds["limits"] for f in l[t].get("all_fresh", [l[t]["fresh"]])]
            warm_ = [l[t]["warm"] for l in ds["limits"]]
            ds["limit"][t] = {"fresh_min": min(fresh), "fresh_max": max(fresh),
                              "warm_min": min(warm_), "warm_max": max(warm_)}
            if max(fresh) > 1.15 * min(fresh):
                notes.append(f"{ds['short']}: the fresh-mapping limit at {t} thread(s) ranged from {min(fresh):.1f} "
                             f"to {max(fresh):.1f} GB/s during the run; each run of tem is compared with the "
                             "limit measured just before it.")
        ds["resident_after"] = resident_fraction(path)
        cached = [f for f in (ds["resident_warmed"], ds["resident_after"]) if f is not None]
        if cached and min(cached) < 0.99:
            def pct(f):
                return "n/a" if f is None else f"{100 * f:.0f}%"
            notes.append(f"{ds['short']}: only {100 * min(cached):.0f}% of the file was page-cached "
                         f"(after warming: {pct(ds['resident_warmed'])}, at the end: {pct(ds['resident_after'])}), "
                         "so its figures, tem's and the limit's alike, include reads from the disk.")
        report["datasets"].append(ds)
        print("\n".join(dataset_table(ds)), flush=True)

    # The reference interpreter on a small dataset, next to the JIT.
    small = bench_dir / "small_32m_f32.npy"
    generate(small, SMALL)
    warm(small)
    nb = data_bytes(small)
    it = {"label": SMALL[3], "rows": []}
    for w in workloads:
        script = BENCH / "workloads" / f"{w}.tem"
        ti = run_tem(tem, ["run", str(script), f"d={small}", "--engine", "interp"], 1)
        tj = run_tem(tem, ["run", str(script), f"d={small}"], args.repeat)
        agree = compare(tj["results"], ti["results"])
        it["rows"].append({"workload": w, "interp": ti["wall"], "interp_gbps": nb / ti["wall"] / 1e9,
                           "jit": tj["wall"], "check": agree})
        log(f"interp {w}: {ti['wall']:.2f} s vs jit {tj['wall'] * 1e3:.0f} ms; {agree}")
    report["interp"] = it

    # A one-liner on a 64 MiB file: start-up, compile, run.
    f64m = bench_dir / "oneliner_64m_f32.npy"
    generate(f64m, ONELINER)
    warm(f64m)
    startup = wall_best([str(tem), "--version"], 5)
    o = run_tem(tem, ["eval", "sum(d, sig)", str(f64m)], 5)
    report["oneliner"] = {"label": ONELINER[3], "wall": o["wall"], "startup": startup, "plan": o["plan"],
                          "compile": o["compile"], "run": o["run"],
                          "rest": max(0.0, o["wall"] - startup - o["plan"] - o["compile"] - o["run"] - o["write"])}
    log(f"one-liner: wall {o['wall'] * 1e3:.1f} ms (start-up {startup * 1e3:.1f}, compile {o['compile'] * 1e3:.1f}, "
        f"run {o['run'] * 1e3:.1f})")

    # The kernel cache: W6 and W7 run again on data of the same geometry.
    kc = {"rows": []}
    big = next((ds for ds in report["datasets"] if ds["short"] == "f32 1 GiB"), None)
    if big:
        with tempfile.TemporaryDirectory(prefix="tem-kernels-") as cache:
            for w in ("W6", "W7"):
                if w not in workloads:
                    continue
                script = BENCH / "workloads" / f"{w}.tem"
                cold = run_tem(tem, ["run", str(script), f"d={big['path']}"], 1, cache)
                hot = run_tem(tem, ["run", str(script), f"d={big['path']}"], args.repeat, cache)
                rows = [r for wl in big["workloads"] if wl["name"] == w for r in wl["rows"] if r["threads"] == NPROC]
                numpy_s = rows[0]["numpy_best_s"] if rows else None
                kc["rows"].append({"workload": w, "cold_compile": cold["compile"], "cached_compile": hot["compile"],
                                   "cached_wall": hot["wall"], "numpy_s": numpy_s})
                log(f"kernel cache {w}: compile {cold['compile'] * 1e3:.0f} ms cold, {hot['compile'] * 1e3:.1f} ms cached; "
                    f"wall {hot['wall'] * 1e3:.0f} ms")
        kc["label"] = big["label"]
    report["kernel_cache"] = kc

    # The tile loop's model (bench/tile_model.cpp) on the f32 1 GiB file, next to W1 and W5 at 1 thread.
    model = ROOT / "build" / "bin" / "tem_bench_tile_model"
    if big and model.exists():
        warm(big["path"])
        out = subprocess.run([str(model), big["path"]], check=True, capture_output=True, text=True).stdout
        modes = {kv["mode"]: float(kv["gbps"]) for kv in key_values(out)}
        tem_rows = {wl["name"]: r["gbps_run"] for wl in big["workloads"] for r in wl["rows"] if r["threads"] == 1}
        report["tile_model"] = {"label": big["label"], "modes": modes, "tem": tem_rows}
        log("tile model: " + ", ".join(f"{k} {v:.1f} GB/s" for k, v in modes.items()))

    # Per-frame overhead: a nearly empty reduction over 16384 tiny frames.
    tiny = bench_dir / "tiny_16384_u8.npy"
    generate(tiny, TINY)
    warm(tiny)
    script_text = "input d\nout s = sum(d, sig)\n"
    script = bench_dir / "overhead.tem"
    script.write_text(script_text)
    nframes = int(np.prod(TINY[1]))
    ov = {"label": TINY[3], "script": script_text.strip().replace("\n", "; ")}
    for key, targs in (("1", ["--threads", "1"]), ("all", [])):
        t = run_tem(tem, ["run", str(script), f"d={tiny}"] + targs, max(5, args.repeat))
        ov["wall_" + key] = t["wall"]
        ov["run_" + key] = t["run"]
        ov["run_us_per_frame_" + key] = t["run"] / nframes * 1e6
        ov["wall_us_per_frame_" + key] = t["wall"] / nframes * 1e6
    report["overhead"] = ov
    log(f"overhead: run {ov['run_us_per_frame_1']:.3f} µs/frame (1 thr), wall {ov['wall_us_per_frame_1']:.2f} µs/frame")

    steal1 = cpu_times()
    total = steal1[1] - steal0[1]
    report["steal_pct"] = 100.0 * (steal1[0] - steal0[0]) / total if total > 0 else 0.0
    text = render(report)
    print("\n".join(targets(report)))
    raw = bench_dir / "last-run.json"
    raw.write_text(json.dumps(report, indent=1, default=str))
    if not args.no_report:
        Path(args.report).parent.mkdir(parents=True, exist_ok=True)
        report_path = Path(args.report)
        # Keep the sections bench/formats.py, bench/repl.py and bench/mpi.py report.
        prev = report_path.read_text() if report_path.exists() else ""
        for tag in ("formats", "repl", "mpi"):
            b, e = f"<!-- {tag}:begin -->", f"<!-- {tag}:end -->"
            if b in prev:
                text = text.rstrip("\n") + "\n\n" + prev[prev.index(b):prev.index(e) + len(e)] + "\n"
        report_path.write_text(text)
        log(f"wrote {args.report} (raw figures: {raw})")


if __name__ == "__main__":
    main()
