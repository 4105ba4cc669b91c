#!/usr/bin/env python3
"""A minimal expect for tests that need a terminal, on the standard library's
pty module (no pexpect): start a command on a pseudo-terminal, send keys,
wait for text.

    with PtySession([tem, "repl", path], env) as s:
        s.expect("tem> ")
        s.send("sum(d)\\r")
        s.expect("4410")
    s.status  # the exit status once the child ended
"""
import os
import pty
import re
import select
import subprocess
import sys
import time


class PtySession:
    def __init__(self, argv, env=None, stdin_tty=True, columns=80):
        master, slave = pty.openpty()
        import fcntl, struct, termios
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
        self.master = master
        self.proc = subprocess.Popen(
            argv, env=env, stdin=slave if stdin_tty else subprocess.DEVNULL,
            stdout=slave, stderr=slave, start_new_session=True,
            preexec_fn=lambda: fcntl.ioctl(0 if stdin_tty else 1, termios.TIOCSCTTY, 0))
        os.close(slave)
        self.buffer = ""
        self.seen = ""
        self.status = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        os.close(self.master)

    def _read(self, timeout):
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return False
        try:
            data = os.read(self.master, 65536)
        except OSError:
            return None
        if not data:
            return None
        text = data.decode("utf-8", "replace")
        self.buffer += text
        self.seen += text
        return True

    def expect(self, pattern, timeout=20):
        """Waits for a regex; consumes the output up to its end."""
        deadline = time.time() + timeout
        regex = re.compile(pattern)
        while True:
            m = regex.search(self.buffer)
            if m:
                self.buffer = self.buffer[m.end():]
                return m
            left = deadline - time.time()
            if left <= 0 or self._read(left) is None:
                sys.exit("pty_session: timed out waiting for %r; the output was:\n%s" % (pattern, self.seen))

    def send(self, text):
        os.write(self.master, text.encode())

    def wait(self, timeout=20):
        """Reads until the child exits; returns its status."""
        deadline = time.time() + timeout
        while self.proc.poll() is None and time.time() < deadline:
            self._read(0.1)
        while self._read(0.1):
            pass
        self.status = self.proc.wait(timeout=max(0.1, deadline - time.time()))
        return self.status
