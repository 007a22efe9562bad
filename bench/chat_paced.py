"""Issue #15 targets: a reply streamed at a GPU's pace costs a small, flat share of one core.

    .venv/bin/python -m bench.chat_stream --rate 100 [--sizes 2000 20000] [--baseline REV] [--no-baseline]

The fake Ollama sends the reply of bench/chat_stream_apps.py (mixed Markdown:
headings, lists, code, Chinese with emoji) at `--rate` tokens a second,
paced against the clock (token i leaves at start + i / rate), one NDJSON
line a token as Ollama does. Three programs run one after the other, each in
a real pseudo-terminal of 120x40 (TERM=tmux-256color):

- chat screen: the app as it is now (`llamadeck`, chat screen);
- baseline: the same app at an older commit (`--baseline`, a git worktree),
  streaming from the same fake server;
- floor: a bare Textual app that appends the same tokens as plain lines to
  a `Log` at the same pace (self-paced: no network, no Markdown, no history).

The app's CPU (user + system of its processes) is sampled every 0.25 s from
the Enter that starts the reply until its last token is painted; the bench
prints % of one core over the first 10 s, the last 10 s and the whole reply.
With `--scroll`, after the reply it also presses Esc (the log takes focus)
and Home, and measures the CPU until the reply's first heading is painted
and the app has settled: scroll-back from the end to the top.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._terminal import ANSI, TerminalRun, start
from bench.chat_stream_apps import BENCH_MODEL, READY, end_mark, markdown_tokens
from tests.fakes.fake_ollama import FakeOllama
from tests.fakes.fake_ollama_http import Stream
from tests.fakes.fake_ollama_models import demo_models

ROOT = Path(__file__).resolve().parent.parent
COLS, ROWS = 120, 40
SAMPLE_EVERY = 0.25
WINDOW_S = 10.0
FIRST_HEADING = b"Section 1"


class PacedOllama(FakeOllama):
    """The fake Ollama, sending a chat reply's lines `rate` a second against the clock."""

    rate: float = 100.0

    def chat(self, body: Any, kind: str) -> Any:
        answer = super().chat(body, kind)
        if isinstance(answer, Stream):
            answer.lines = self._paced(answer.lines)
        return answer

    def _paced(self, lines: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        start = time.perf_counter()
        for i, line in enumerate(lines):
            wait = start + i / self.rate - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            yield line


@dataclass
class Paced:
    program: str
    tokens: int
    wall_s: float
    samples: list[tuple[float, float]]  # (seconds since Enter, CPU seconds since Enter)
    scroll_cpu_s: float | None = None

    def cpu_at(self, t: float) -> float:
        """CPU seconds at `t`, from the samples on either side."""
        before = max((s for s in self.samples if s[0] <= t), default=(0.0, 0.0))
        after = min((s for s in self.samples if s[0] >= t), default=self.samples[-1])
        if after[0] == before[0]:
            return before[1]
        return before[1] + (after[1] - before[1]) * (t - before[0]) / (after[0] - before[0])

    @property
    def whole(self) -> float:
        return 100 * self.samples[-1][1] / self.wall_s

    @property
    def first(self) -> float:
        span = min(WINDOW_S, self.wall_s)
        return 100 * self.cpu_at(span) / span

    @property
    def last(self) -> float:
        span = min(WINDOW_S, self.wall_s)
        return 100 * (self.samples[-1][1] - self.cpu_at(self.wall_s - span)) / span


class Pty:
    """Reads (and drops) what the app paints, looking for one marker at a time."""

    def __init__(self, run: TerminalRun) -> None:
        self.run = run
        self.tail = b""

    def seen(self, marker: bytes, wait: float) -> bool:
        ready, _, _ = select.select([self.run.fd], [], [], wait)
        if not ready:
            return False
        try:
            chunk = os.read(self.run.fd, 1 << 16)
        except OSError:
            raise RuntimeError("the app closed its terminal") from None
        if not chunk:
            raise RuntimeError("the app closed its terminal")
        text = ANSI.sub(b"", self.tail + chunk)
        self.tail = text[-512:]
        return marker in text

    def wait(self, marker: bytes, timeout: float) -> None:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.seen(marker, 0.05):
                self.tail = b""
                return
        raise TimeoutError(f"{marker!r} never appeared within {timeout:.0f} s")

    def drain(self, seconds: float) -> None:
        deadline = time.perf_counter() + seconds
        while (left := deadline - time.perf_counter()) > 0:
            self.seen(b"\0never", min(left, 0.05))


def measure(argv: list[str], n: int, env: dict[str, str], *, cwd: str, scroll: bool,
            timeout: float) -> Paced:
    run = start(argv, cols=COLS, rows=ROWS, env=env, cwd=cwd)
    pty = Pty(run)
    try:
        pty.wait(READY.encode(), 60)
        pty.drain(1.0)  # start-up work is not the reply's
        cpu0, t0 = run.cpu_seconds(), time.perf_counter()
        os.write(run.fd, b"\r")
        samples, next_sample = [(0.0, 0.0)], t0 + SAMPLE_EVERY
        marker = end_mark(n).encode()
        while True:
            if pty.seen(marker, max(0.0, next_sample - time.perf_counter())):
                break
            now = time.perf_counter()
            if now >= next_sample:
                samples.append((now - t0, run.cpu_seconds() - cpu0))
                next_sample += SAMPLE_EVERY
            if now - t0 > timeout:
                raise TimeoutError(f"the reply did not end within {timeout:.0f} s")
        wall = time.perf_counter() - t0
        samples.append((wall, run.cpu_seconds() - cpu0))
        result = Paced("", n, wall, samples)
        if scroll:
            result.scroll_cpu_s = scroll_back(run, pty)
        return result
    finally:
        run.stop()


def scroll_back(run: TerminalRun, pty: Pty) -> float:
    """Esc (the log takes focus), then Home: CPU seconds until the first heading is painted and
    the app has been quiet for a second."""
    pty.drain(2.0)  # the reply's end (stats line, history) settles first
    os.write(run.fd, b"\x1b")
    pty.drain(1.0)
    cpu0 = run.cpu_seconds()
    os.write(run.fd, b"\x1b[H")
    pty.wait(FIRST_HEADING, 60)
    pty.drain(1.0)
    return run.cpu_seconds() - cpu0  # includes 1 s of settling at idle (about 0.005 s)


def baseline_tree(rev: str) -> Path:
    """A worktree of `rev` (made once, reused)."""
    path = Path(tempfile.gettempdir()) / f"llamadeck-baseline-{rev}"
    if not path.exists():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), rev],
                       check=True, capture_output=True)
    return path


def run(rate: float, sizes: list[int], baseline: str | None, scroll: bool) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="llamadeck-bench-paced-"))
    fake = PacedOllama(blob_dir=tmp / "blobs")
    fake.rate = rate
    for model in demo_models():
        fake.add_model(model)
    fake.start()
    env = {"LLAMADECK_CONFIG": str(tmp / "none.toml"), "LLAMADECK_DATA_DIR": str(tmp / "data"),
           "LLAMADECK_CACHE_DIR": str(tmp / "cache"), "OLLAMA_HOST": f"{fake.host}:{fake.port}"}
    programs: list[tuple[str, Path]] = [("chat screen", ROOT)]
    if baseline:
        programs.append((f"baseline {baseline}", baseline_tree(baseline)))
    results: list[Paced] = []
    try:
        for n in sizes:
            fake.set_script(BENCH_MODEL, chunks=markdown_tokens(n), thinking=[], delay=0.0)
            timeout = 3 * n / rate + 120
            for label, tree in programs:
                argv = [sys.executable, "-m", "bench.chat_stream_apps", "chat", "--tokens", str(n)]
                result = measure(argv, n, {**env, "PYTHONPATH": str(tree)}, cwd=str(tree),
                                 scroll=scroll, timeout=timeout)
                result.program = label
                results.append(_said(result))
            argv = [sys.executable, "-m", "bench.chat_stream_apps", "lines", "--tokens", str(n),
                    "--rate", str(rate)]
            result = measure(argv, n, {**env, "PYTHONPATH": str(ROOT)}, cwd=str(ROOT), scroll=False,
                             timeout=timeout)
            result.program = "floor (plain lines)"
            results.append(_said(result))
    finally:
        fake.close()
    report(rate, results)


def _said(result: Paced) -> Paced:
    print(f"  {result.program:24} {result.tokens:6} tokens: {result.whole:5.1f} % of a core, "
          f"{result.wall_s:6.1f} s", file=sys.stderr, flush=True)
    return result


def report(rate: float, results: list[Paced]) -> None:
    print(f"Reply paced at {rate:g} tok/s, {COLS}x{ROWS} pty; % of one core (user+sys) from Enter "
          "to the last token painted")
    print("| program | tokens | first 10 s | last 10 s | last / first | whole reply | wall s | "
          "scroll to top, CPU s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        scroll = "" if r.scroll_cpu_s is None else f"{r.scroll_cpu_s:.2f}"
        print(f"| {r.program} | {r.tokens:,} | {r.first:.1f} % | {r.last:.1f} % | "
              f"{r.last / r.first if r.first else 0:.2f}x | {r.whole:.1f} % | {r.wall_s:.1f} | {scroll} |")
