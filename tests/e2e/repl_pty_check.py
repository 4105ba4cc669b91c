#!/usr/bin/env python3
"""Drives `tem repl` on a pseudo-terminal: tab completion, a multi-line
statement, Ctrl-C at the prompt, an error with its caret, history kept in
$HOME/.tem_history, and Ctrl-D leaving with status 0; with BIG (a dataset
of two partitions or more), Ctrl-C cancelling a running computation.

    repl_pty_check.py TEM DATASET HOME [BIG]
"""
import os
import sys
import time

from pty_session import PtySession

def prompt(s, text=r"tem> "):
    """Waits for a prompt, then for libedit to switch the terminal to raw
    mode (it flushes pending input when it does)."""
    s.expect(text)
    time.sleep(0.2)


tem, data, home = sys.argv[1:4]
env = dict(os.environ, HOME=home, TERM="xterm", NO_COLOR="1")
env.pop("TEM_COLOR", None)
history = os.path.join(home, ".tem_history")
if os.path.exists(history):
    os.remove(history)

with PtySession([tem, "repl", data], env) as s:
    s.expect(r"Ctrl-D quits")
    prompt(s)
    s.send("tot = su\t")           # completes the builtin 'sum'
    s.send("(d)\r")
    s.expect(r"tot: 4410")
    prompt(s)
    s.send("x = (1 +\r")           # an open bracket continues the statement
    prompt(s, r"\.\.\.> ")
    s.send("2)\r")
    s.expect(r"x: 3")
    prompt(s)
    s.send("half typed\x03")       # Ctrl-C drops the line, the REPL stays
    prompt(s)
    s.send("y = nope\r")
    s.expect(r"unknown name 'nope'")
    s.expect(r"\^~~~")
    prompt(s)
    s.send("t\t\t")               # completes the session's names: tot
    s.send("\x15")                 # Ctrl-U clears the line
    s.send(".he\t\r")              # completes the dot-command .help
    s.expect(r"list the commands")
    prompt(s)
    s.send("\x04")                 # Ctrl-D
    status = s.wait()
    if status != 0:
        sys.exit("tem repl exited with %r after Ctrl-D; output:\n%s" % (status, s.seen))

lines = open(history, encoding="utf-8", errors="replace").read()
for entry in ["tot", "x = (1 +", ".help"]:
    if entry.replace(" ", "\\040") not in lines and entry not in lines:
        sys.exit("history %s lacks %r:\n%s" % (history, entry, lines))
if len(sys.argv) > 4:
    slow = "var(exp(sin(d)) * log1p(d) + atan2(d, qx + 1) * hypot(qy, qx), nav)"
    with PtySession([tem, "repl", "--engine", "interp", "--threads", "1", sys.argv[4]], env) as s:
        prompt(s)
        s.send(slow + "\r")
        time.sleep(0.3)
        s.send("\x03")
        s.expect(r"cancelled")
        prompt(s)
        if "result:" in s.seen:
            sys.exit("the cancelled computation printed a result:\n" + s.seen)
        s.send("sum(d) > 0\r")      # the session goes on
        s.expect(r"result: true")
        prompt(s)
        s.send("\x04")
        if s.wait() != 0:
            sys.exit("tem repl exited with %r after Ctrl-D" % s.status)
print("ok")
