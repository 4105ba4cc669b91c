#!/usr/bin/env python3
"""REPL responsiveness: start-up with a dataset, and the time from Enter on a
new virtual-detector line to its printed summary.

    python3 bench/repl.py [--tem build/bin/tem] [--data /tmp/tem-bench/scan_1g_f32.npy] [--repeat 5]

Start-up is measured as `tem repl DATA` reading `.quit` from a pipe (process
start, dataset open, session check). The response time runs the REPL on a
pipe, feeds one line at a time and times the wait for each summary line; the
dataset should be page-cached (run once before). Medians are reported.
"""
import argparse
import os
import select
import statistics
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def startup(tem, data):
    t = time.perf_counter()
    subprocess.run([tem, "repl", data], input=".quit\n", text=True, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def read_until(proc, prefix, timeout=120):
    """Reads stdout lines until one starts with `prefix`."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], deadline - time.time())
        if not ready:
            break
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith(prefix):
            return line
    raise SystemExit("no line starting with %r" % prefix)


def responses(tem, data, repeat, sig):
    cy, cx = sig[0] // 2, sig[1] // 2
    proc = subprocess.Popen([tem, "repl", data], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
                            env=dict(os.environ, TERM="dumb"))
    times = []
    try:
        for i in range(repeat):
            # A new detector each time (a new radius): compiled and run afresh.
            line = "vd%d = sum(d, sig, where = disk(%d, %d, %d))\n" % (i, cy, cx, 5 + i)
            t = time.perf_counter()
            proc.stdin.write(line)
            proc.stdin.flush()
            read_until(proc, "vd%d:" % i)
            times.append(time.perf_counter() - t)
    finally:
        proc.stdin.close()
        proc.wait()
    return times


def sig_shape(tem, data):
    out = subprocess.run([tem, "info", data, "--json"], capture_output=True, text=True, check=True).stdout
    import json
    return json.loads(out)["sig_shape"]


def main():
    # Every run compiles its kernels, as bench/run.py measures them.
    os.environ["TEM_KERNEL_CACHE"] = "off"
    ap = argparse.ArgumentParser()
    ap.add_argument("--tem", default=os.path.join(HERE, "..", "build", "bin", "tem"))
    ap.add_argument("--data", default="/tmp/tem-bench/scan_1g_f32.npy")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    if not os.path.exists(args.data):
        raise SystemExit("%s: no such dataset (bench/run.py makes the benchmark datasets)" % args.data)
    size = os.path.getsize(args.data)
    sig = sig_shape(args.tem, args.data)
    subprocess.run(["cat", args.data], stdout=subprocess.DEVNULL)  # page-cache it
    starts = [startup(args.tem, args.data) for _ in range(args.repeat)]
    resp = responses(args.tem, args.data, args.repeat, sig)
    print("dataset: %s (%.2f GiB), %d cores" % (args.data, size / 2**30, os.cpu_count()))
    print("start-up (tem repl DATA, .quit): median %.3f s (min %.3f s)" % (statistics.median(starts), min(starts)))
    print("new virtual detector, Enter to summary: median %.3f s (min %.3f s, first %.3f s)"
          % (statistics.median(resp), min(resp), resp[0]))


main()
