"""Run a program in a real pseudo-terminal and watch what it paints.

The benchmarks start apps the way a user does (a tty of a fixed size, a
TERM like tmux's) and read the bytes the app writes, so "first painted
frame" means the marker text reached the terminal, not that a Python
function returned.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import termios
import time
from dataclasses import dataclass

import psutil

ANSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[()][0-9A-Za-z]|\x1b[=>]")


@dataclass
class TerminalRun:
    pid: int
    fd: int
    started: float
    screen: bytearray

    def read_for(self, seconds: float) -> None:
        deadline = time.perf_counter() + seconds
        while (left := deadline - time.perf_counter()) > 0:
            ready, _, _ = select.select([self.fd], [], [], min(left, 0.05))
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    return
                if not chunk:
                    return
                self.screen.extend(chunk)

    def wait_for(self, marker: bytes, timeout: float = 30.0) -> float:
        """Seconds from process start until `marker` has been painted."""
        deadline = time.perf_counter() + timeout
        plain = b""
        while time.perf_counter() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.01)
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                self.screen.extend(chunk)
                plain = ANSI.sub(b"", bytes(self.screen))
                if marker in plain:
                    return time.perf_counter() - self.started
        raise TimeoutError(f"{marker!r} never appeared; last output: {plain[-400:]!r}")

    def cpu_seconds(self) -> float:
        proc = psutil.Process(self.pid)
        total = proc.cpu_times().user + proc.cpu_times().system
        for child in proc.children(recursive=True):
            try:
                t = child.cpu_times()
                total += t.user + t.system
            except psutil.NoSuchProcess:
                pass
        return total

    def rss_peak(self) -> int:
        """Peak resident set (VmHWM) of the process, bytes."""
        try:
            with open(f"/proc/{self.pid}/status") as fh:
                for line in fh:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return psutil.Process(self.pid).memory_info().rss

    def stop(self) -> None:
        try:
            os.kill(self.pid, signal.SIGTERM)
            deadline = time.time() + 5
            while time.time() < deadline:
                pid, _ = os.waitpid(self.pid, os.WNOHANG)
                if pid:
                    break
                self.read_for(0.05)
            else:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        finally:
            os.close(self.fd)


def start(
    argv: list[str], *, cols: int = 100, rows: int = 30, env: dict[str, str] | None = None,
    cwd: str | None = None,
) -> TerminalRun:
    """Start `argv` in a new pty; `cwd` matters for `python -m`, which imports from it first."""
    full_env = dict(os.environ)
    full_env.update({"TERM": "tmux-256color", "COLORTERM": "", "COLUMNS": str(cols), "LINES": str(rows)})
    if env:
        full_env.update(env)
    started = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # child: size the tty before the app asks for it
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        if cwd is not None:
            os.chdir(cwd)
        os.execvpe(argv[0], argv, full_env)
    return TerminalRun(pid=pid, fd=fd, started=started, screen=bytearray())
