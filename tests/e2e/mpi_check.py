"""mpi_check.py TEM WORKDIR [TESTDATA]: runs analyses under mpirun at 1, 2 and
3 ranks (1 and 2 threads per rank) and compares every result with a single
process: within the accuracy contract (compare_dirs.py's tolerances), and
bit-for-bit between two runs with the same rank and thread count. Covers an
evenly spaced mapping, the per-frame path (--skip-frames), a decoded raw
Merlin file (with TESTDATA), a roi, a two-pass plan, per-frame results, fft2,
every example of examples/ (at 2 and 3 ranks), and more ranks than
partitions. Exits 1 naming every mismatch.
"""
import os
import subprocess
import sys

import numpy as np

tem, work = sys.argv[1], sys.argv[2]
testdata = sys.argv[3] if len(sys.argv) > 3 else None
gen = os.path.join(os.path.dirname(__file__), "..", "lit", "Inputs", "gen.py")
os.makedirs(work, exist_ok=True)
MPIRUN = ["mpirun", "--oversubscribe", "--allow-run-as-root"]


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr}")


def load(folder):
    return {f[:-4]: np.load(os.path.join(folder, f)) for f in sorted(os.listdir(folder)) if f.endswith(".npy")}


def close(a, b):
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.kind in "biu":
        return np.array_equal(a, b)
    return np.allclose(a, b, rtol=1e-6, atol=1e-9, equal_nan=True)


data = os.path.join(work, "scan.npy")
run([sys.executable, gen, data, "--nav", "13,11", "--sig", "32,24", "--dtype", "u16", "--pattern", "cbed"])
script = os.path.join(work, "survey.tem")
with open(script, "w") as f:
    f.write("""use stem
input d
roi rx != 3
out bf = sum(d, sig, where = disk(16, 12, 5))
out cy = com_y(d, 16, 12, 8)
out fem = fem(d, 16, 12, 3, 10)
out sum_frame = sum(d, nav)
out var_frame = sum((d - mean(d, nav)) ** 2, nav)
out hi = max(d, nav)
out n = count(d > 500, all)
out cryst = crystallinity(d, 1, 8, 16, 12, 4)
out profile = sum(d, sig, by = i64(radius(16, 12)), bins = 12)
""")
cases = [("mapped", [f"d={data}"]), ("per-frame", [f"d={data}", "--skip-frames", "-2", "--nav", "13,11"])]
if testdata:
    raw = os.path.join(testdata, "mib", "Single_9_Frame_CounterDepth_1_Rows_256RAW.mib")
    mscript = os.path.join(work, "mib.tem")
    with open(mscript, "w") as f:
        f.write("input d\nout s = sum(d, sig)\nout img = sum(d, nav)\nout var = var(d, nav)\n")
    cases.append(("decoded", [f"d={raw}"], mscript))
errors = []
for case in cases:
    name, args = case[0], case[1]
    sc = case[2] if len(case) > 2 else script
    ref = os.path.join(work, f"{name}-single")
    run([tem, "run", sc, *args, "-o", ref + "/"])
    want = load(ref)
    for ranks in (1, 2, 3):
        for threads in (1, 2):
            outs = []
            for rep in range(2 if ranks == 2 else 1):
                out = os.path.join(work, f"{name}-np{ranks}-t{threads}-{rep}")
                run(MPIRUN + ["-np", str(ranks), tem, "run", sc, *args, "--threads", str(threads), "-o", out + "/"])
                outs.append(load(out))
            for key in want:
                if key not in outs[0]:
                    errors.append(f"{name} np={ranks} t={threads}: result {key} missing")
                elif not close(outs[0][key], want[key]):
                    errors.append(f"{name} np={ranks} t={threads}: {key} differs from a single process")
                if len(outs) > 1 and outs[1][key].tobytes() != outs[0][key].tobytes():
                    errors.append(f"{name} np={ranks} t={threads}: {key} not bit-identical between two runs")
    print(f"ok: {name}" if not errors else f"checked: {name}")
# Every example of examples/ on a cbed scan, at 2 and 3 ranks.
examples = os.path.join(os.path.dirname(__file__), "..", "..", "examples")
cbed = os.path.join(work, "cbed.npy")
run([sys.executable, gen, cbed, "--nav", "17,9", "--sig", "64,64", "--dtype", "u16", "--pattern", "cbed"])
for ex in sorted(f for f in os.listdir(examples) if f.endswith(".tem")):
    name = ex[:-4]
    ref = os.path.join(work, f"{name}-single")
    run([tem, "run", os.path.join(examples, ex), f"d={cbed}", "-o", ref + "/"])
    want = load(ref)
    for ranks in (2, 3):
        out = os.path.join(work, f"{name}-np{ranks}")
        run(MPIRUN + ["-np", str(ranks), tem, "run", os.path.join(examples, ex), f"d={cbed}", "--threads", "1",
                      "-o", out + "/"])
        got = load(out)
        for key in want:
            if key not in got or not close(got[key], want[key]):
                errors.append(f"{name} np={ranks}: {key} differs from a single process")
    print(f"checked: {name}")
# More ranks than partitions (a 1-frame dataset): idle ranks join the merges.
one = os.path.join(work, "one.npy")
run([sys.executable, gen, one, "--nav", "1", "--sig", "8,8", "--dtype", "f32"])
run(MPIRUN + ["-np", "3", tem, "eval", "a = sum(d, sig); b = sum(d, nav)", one, "-o", os.path.join(work, "one3") + "/"])
run([tem, "eval", "a = sum(d, sig); b = sum(d, nav)", one, "-o", os.path.join(work, "one1") + "/"])
a, b = load(os.path.join(work, "one1")), load(os.path.join(work, "one3"))
for k in a:
    if not close(a[k], b[k]):
        errors.append(f"one frame, 3 ranks: {k} differs")
for e in errors:
    print(e, file=sys.stderr)
sys.exit(1 if errors else 0)
