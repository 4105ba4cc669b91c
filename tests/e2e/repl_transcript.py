#!/usr/bin/env python3
"""Keeps the REPL sessions shown in docs/repl.md true: every block between
`<!-- session: ENV... -->` and `<!-- end session -->` holds a fenced
transcript whose input lines (after the `tem> ` and `...> ` prompts) are
piped into `tem repl scan.npy --echo` with the environment ENV; the output
must equal the block.

    repl_transcript.py check DOC TEM DATASET    # exit 1 with a diff when stale
    repl_transcript.py update DOC TEM DATASET   # rewrite the blocks

DATASET is `gen.py scan.npy --nav 4,4 --sig 16,16 --dtype u16 --pattern cbed`;
it is copied to a temporary folder as scan.npy, so paths print the same.
"""
import difflib
import os
import re
import shutil
import subprocess
import sys
import tempfile

BLOCK = re.compile(r"(<!-- session: (?P<env>[^>]*?) -->\n```\n)(?P<body>.*?)(```\n<!-- end session -->)", re.S)


def run(tem, data_dir, env_spec, body):
    inputs = []
    for line in body.splitlines():
        if line.startswith("tem> ") or line.startswith("...> "):
            inputs.append(line[5:])
        elif line in ("tem>", "...>"):
            inputs.append("")
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TEM_COLOR", "TERM", "COLUMNS")}
    env.update(HOME=data_dir, COLUMNS="80")
    for item in env_spec.split():
        key, _, value = item.partition("=")
        env[key] = value
    proc = subprocess.run([tem, "repl", "scan.npy", "--echo", "--threads", "1"], input="\n".join(inputs) + "\n",
                          capture_output=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          cwd=data_dir, env=env)
    # Timings differ from run to run.
    return re.sub(r"time: .*", "time: ...", proc.stdout)


def main():
    mode, doc, tem, data = sys.argv[1:5]
    text = open(doc, encoding="utf-8").read()
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(data, os.path.join(tmp, "scan.npy"))
        stale = []

        def replace(m):
            out = run(tem, tmp, m.group("env"), m.group("body"))
            if out != m.group("body"):
                stale.append("".join(difflib.unified_diff(m.group("body").splitlines(True), out.splitlines(True),
                                                          "docs/repl.md", "tem repl")))
            return m.group(1) + out + m.group(4)

        new_text, count = BLOCK.subn(replace, text)
    if count == 0:
        sys.exit("%s: no session blocks" % doc)
    if mode == "update":
        open(doc, "w", encoding="utf-8").write(new_text)
        print("updated %d blocks" % count)
    elif stale:
        sys.exit("docs/repl.md is stale; run tests/e2e/repl_transcript.py update:\n" + "\n".join(stale))
    else:
        print("%d blocks current" % count)


main()
