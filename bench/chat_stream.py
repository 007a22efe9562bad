"""Issue #5 targets: a long streamed reply costs the same per token at 2,000 and 20,000 tokens.

    .venv/bin/python -m bench.chat_stream [--sizes 2000 10000 20000] [--naive-sizes 250 500] [--rounds 1]
    .venv/bin/python -m bench.chat_stream --rate 100 --sizes 2000 20000   # paced (bench/chat_paced.py)

Three programs draw the same reply of mixed Markdown (headings, paragraphs,
lists, Python code, Chinese with emoji; bench/chat_stream_apps.py) in a real
pseudo-terminal (100x30, TERM=tmux-256color), each measured from the Enter
that starts it until the reply's last token has been painted to the pty:

- chat screen: the whole app (`llamadeck`, chat screen) streaming from a
  fake Ollama in this process that sends the tokens as fast as it can (one
  NDJSON line each, as Ollama does); the history is written as it streams;
- floor: a bare Textual app that only appends the same tokens to a Markdown
  widget through `Markdown.get_stream` (no network, no history);
- naive: a bare Textual app that re-renders the whole Markdown per token
  (`Markdown.update`), what a chat app without an incremental API does; it is
  quadratic (500 tokens already take over a minute), so it runs at its own,
  smaller --naive-sizes.

CPU is the app process's user+system time over that span; "after last
byte" is the time from the fake server writing its last line to the last
token on screen. Targets: chat-screen CPU per token at the largest size
within 1.2x of the smallest; chat-screen CPU within 1.5x of the floor; the
last token on screen within 2 s of the server's last byte.
"""

from __future__ import annotations

import argparse
import os
import select
import statistics
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
PY = sys.executable
TIMEOUT_S = 600.0


class TimedOllama(FakeOllama):
    """The fake Ollama, noting when it wrote the last line of a chat reply."""

    last_byte: float = 0.0

    def chat(self, body: Any, kind: str) -> Any:
        answer = super().chat(body, kind)
        if isinstance(answer, Stream):
            answer.lines = self._timed(answer.lines)
        return answer

    def _timed(self, lines: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        yield from lines
        self.last_byte = time.perf_counter()  # the handler asks for more only after writing the last


@dataclass
class Result:
    case: str
    tokens: int
    cpu_s: float
    wall_s: float
    after_last_byte_s: float | None = None

    @property
    def ms_per_1k(self) -> float:
        return self.cpu_s / self.tokens * 1e6


def wait_for_text(run: TerminalRun, marker: bytes, timeout: float) -> float:
    """perf_counter when `marker` reaches the terminal; reads and drops output as it comes (a full pty
    buffer would stall the app), keeping only a tail to match a marker split between reads."""
    deadline = time.perf_counter() + timeout
    tail = b""
    while time.perf_counter() < deadline:
        ready, _, _ = select.select([run.fd], [], [], 0.05)
        if not ready:
            continue
        try:
            chunk = os.read(run.fd, 1 << 16)
        except OSError:
            break
        if not chunk:
            break
        now = time.perf_counter()
        text = tail + chunk
        if marker in ANSI.sub(b"", text):
            return now
        tail = text[-512:]
    raise TimeoutError(f"{marker!r} never appeared within {timeout:.0f} s")


def measure(argv: list[str], n: int, env: dict[str, str], fake: TimedOllama | None) -> Result | None:
    run = start(argv, cols=100, rows=30, env=env)
    try:
        wait_for_text(run, READY.encode(), 60)
        time.sleep(0.5)  # let it settle: start-up work is not the reply's
        cpu0 = run.cpu_seconds()
        t0 = time.perf_counter()
        os.write(run.fd, b"\r")
        try:
            shown = wait_for_text(run, end_mark(n).encode(), TIMEOUT_S)
        except TimeoutError:
            return None
        cpu = run.cpu_seconds() - cpu0
        after = shown - fake.last_byte if fake is not None and fake.last_byte else None
        return Result("", n, cpu, shown - t0, after)
    finally:
        run.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 10000, 20000])
    ap.add_argument("--naive-sizes", type=int, nargs="*", default=[250, 500])
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--skip-floor", action="store_true", help="only the chat screen at --sizes")
    ap.add_argument("--rate", type=float, default=0.0,
                    help="tokens a second (paced, issue #15: bench/chat_paced.py); 0: as fast as it can")
    ap.add_argument("--baseline", default="38647bd", help="with --rate: the commit to compare with")
    ap.add_argument("--no-baseline", action="store_true", help="with --rate: no baseline run")
    ap.add_argument("--scroll", action="store_true", help="with --rate: measure scroll-back to the top")
    args = ap.parse_args()
    if args.rate:
        from bench.chat_paced import run as run_paced

        run_paced(args.rate, args.sizes, None if args.no_baseline else args.baseline, args.scroll)
        return

    tmp = Path(tempfile.mkdtemp(prefix="llamadeck-bench-chat-"))
    fake = TimedOllama(blob_dir=tmp / "blobs")
    for model in demo_models():
        fake.add_model(model)
    fake.start()
    env = {"LLAMADECK_CONFIG": str(tmp / "none.toml"), "LLAMADECK_DATA_DIR": str(tmp / "data"),
           "LLAMADECK_CACHE_DIR": str(tmp / "cache"), "PYTHONPATH": str(ROOT),
           "OLLAMA_HOST": f"{fake.host}:{fake.port}"}
    app = [PY, "-m", "bench.chat_stream_apps"]
    results: dict[tuple[str, int], list[Result]] = {}
    skipped: list[str] = []
    try:
        plan = [(n, ["chat screen"] if args.skip_floor else ["chat screen", "floor"]) for n in args.sizes]
        plan += [(n, ["naive"]) for n in args.naive_sizes]
        programs = {"chat screen": ("chat", fake), "floor": ("floor", None), "naive": ("naive", None)}
        for n, labels in plan:
            fake.set_script(BENCH_MODEL, chunks=markdown_tokens(n), thinking=[], delay=0.0)
            cases = [(label, *programs[label]) for label in labels]
            for _ in range(args.rounds):
                for label, program, server in cases:
                    fake.last_byte = 0.0
                    result = measure([*app, program, "--tokens", str(n)], n, env, server)
                    if result is None:
                        skipped.append(f"{label} at {n} (over {TIMEOUT_S:.0f} s)")
                        continue
                    result.case = label
                    results.setdefault((label, n), []).append(result)
                    print(f"  {label:12} {n:6} tokens: {result.cpu_s:7.2f} CPU s, "
                          f"{result.wall_s:7.2f} s wall", file=sys.stderr, flush=True)
    finally:
        fake.close()
    report(results, sorted({*args.sizes, *args.naive_sizes}), args.sizes, skipped)


def report(results: dict[tuple[str, int], list[Result]], all_sizes: list[int], sizes: list[int],
           skipped: list[str]) -> None:
    def med(label: str, n: int, attr: str) -> float | None:
        rows = results.get((label, n))
        if not rows:
            return None
        values = [getattr(r, attr) for r in rows if getattr(r, attr) is not None]
        return statistics.median(values) if values else None

    print("Streamed reply of mixed Markdown, 100x30 pty, from Enter to the last token painted")
    print("| case | tokens | CPU s | CPU ms / 1k tokens | wall s | last token after server's last byte |")
    print("|---|---:|---:|---:|---:|---:|")
    for label in ("chat screen", "floor", "naive"):
        for n in all_sizes:
            cpu = med(label, n, "cpu_s")
            if cpu is None:
                continue
            after = med(label, n, "after_last_byte_s")
            print(f"| {label} | {n:,} | {cpu:.2f} | {med(label, n, 'ms_per_1k'):.0f} | "
                  f"{med(label, n, 'wall_s'):.2f} | {'' if after is None else f'{after:.2f} s'} |")
    if skipped:
        print(f"\nNot finished: {'; '.join(skipped)}.")
    print("\nnaive runs only at small sizes: re-rendering the whole reply per token is quadratic.")
    small, large = min(sizes), max(sizes)
    chat_small, chat_large = med("chat screen", small, "ms_per_1k"), med("chat screen", large, "ms_per_1k")
    print()
    if chat_small and chat_large:
        ratio = chat_large / chat_small
        print(f"Linearity: chat-screen CPU per token at {large:,} / at {small:,} = {ratio:.2f}x "
              "(target <= 1.2x)")
    for n in sizes:
        chat, floor = med("chat screen", n, "cpu_s"), med("floor", n, "cpu_s")
        if chat and floor:
            print(f"Chat screen vs floor at {n:,}: {chat / floor:.2f}x CPU (target <= 1.5x)")
    worst = max((r.after_last_byte_s or 0.0) for rows in results.values() for r in rows)
    print(f"Worst last-token delay after the server's last byte: {worst:.2f} s (target <= 2 s)")


if __name__ == "__main__":
    main()
