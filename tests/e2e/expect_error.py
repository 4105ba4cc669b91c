#!/usr/bin/env python3
"""Runs a command that must fail like a user mistake, for the bad-input tests.

    expect_error.py [--absent PATH ...] [--rc N] -- COMMAND ARGS...

Checks that COMMAND exits with status 1 (or N), that it wrote a message to
stderr and nothing that looks like a crash or an internal error, and that
every --absent PATH (the output it was asked to write, or a folder) does not
exist afterwards. Prints the command's stderr on stdout for FileCheck.
"""
import glob
import os
import subprocess
import sys


def main(argv):
    if "--" not in argv:
        sys.exit(__doc__)
    sep = argv.index("--")
    opts, cmd = argv[1:sep], argv[sep + 1:]
    absent, rc = [], 1
    i = 0
    while i < len(opts):
        if opts[i] == "--absent":
            absent.append(opts[i + 1])
            i += 2
        elif opts[i] == "--rc":
            rc = int(opts[i + 1])
            i += 2
        else:
            sys.exit(f"expect_error.py: unknown option {opts[i]}")
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    sys.stdout.write(p.stderr)
    sys.stdout.flush()
    problems = []
    if p.returncode != rc:
        problems.append(f"exit status {p.returncode}, expected {rc}")
    if not p.stderr.strip():
        problems.append("no message on stderr")
    if "internal error" in p.stderr or p.returncode < 0:
        problems.append("crash or internal error instead of a user-facing message")
    for path in absent:
        if os.path.lexists(path.rstrip("/")):
            problems.append(f"output '{path}' exists after the failed run")
        parent = os.path.dirname(path.rstrip("/")) or "."
        base = os.path.basename(path.rstrip("/"))
        if os.path.isdir(parent):
            leftovers = [f for f in os.listdir(parent) if f.startswith(base) or f.startswith("." + base)]
            leftovers = [f for f in leftovers if f != base]
            if leftovers:
                problems.append(f"staged files left next to '{path}': {leftovers}")
    if problems:
        print("FAIL: " + " ".join(cmd) + "\n  " + "\n  ".join(problems), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv)
