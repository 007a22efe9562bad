"""`llamadeck pull`: download a model into Ollama with a progress bar, speed and ETA on stderr.

Ctrl-C cancels cleanly: the request is abandoned, the connection closed, and
Ollama keeps what it has, so running the same pull again resumes. On a
terminal the bar redraws in place; piped, one line per layer keeps logs short.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
from typing import TextIO

from cli.args import add_host_argument
from core.config import Settings
from core.ollama.client import OllamaClient
from core.ollama.host import select_host
from core.ollama.types import PullProgress
from core.units import format_bytes_decimal, go_duration_whole

BAR_WIDTH = 25


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "pull", help="download a model into an Ollama server",
        description="Download a model from the Ollama library into an Ollama server, with progress "
                    "on stderr. Ctrl-C cancels; pulling again resumes where it stopped.",
    )
    parser.add_argument("name", metavar="NAME", help="model name, e.g. llama3.2 or qwen3:8b")
    add_host_argument(parser)
    parser.set_defaults(func=main)


def main(args: argparse.Namespace, settings: Settings) -> int:
    display = ProgressDisplay(sys.stderr)
    try:
        asyncio.run(_pull(settings, args.host, args.name, display))
    except KeyboardInterrupt:
        display.close_line()
        print(f"llamadeck: pull of {args.name} cancelled; run `llamadeck pull {args.name}` again "
              "to resume where it stopped.", file=sys.stderr)
        return 130
    finally:
        display.close_line()
    return 0


async def _pull(settings: Settings, host: str | None, name: str, display: ProgressDisplay) -> None:
    async with OllamaClient(select_host(settings, host)) as client:
        async for progress in client.pull(name):
            display.show(progress)


class ProgressDisplay:
    """Draws pull progress: the current layer's bar redrawn in place, other statuses one per line."""

    def __init__(self, out: TextIO, *, tty: bool | None = None, width: int | None = None) -> None:
        self.out = out
        self.tty = out.isatty() if tty is None else tty
        self.width = width or shutil.get_terminal_size((80, 24)).columns
        self._open_digest: str | None = None  # the layer whose line is being redrawn
        self._last_status: str | None = None

    def show(self, p: PullProgress) -> None:
        if p.digest and p.total:
            if p.digest != self._open_digest:
                self.close_line()
                self._open_digest = p.digest
                if not self.tty:
                    self.out.write(f"{p.status} {format_bytes_decimal(p.total)}\n")
            if self.tty:
                self.out.write("\r" + self.layer_line(p) + "\x1b[K")
            elif (p.completed or 0) >= p.total:
                self.out.write(self.layer_line(p) + "\n")
            self.out.flush()
            return
        self.close_line()
        if p.status != self._last_status:
            self.out.write(p.status + "\n")
            self.out.flush()
        self._last_status = p.status

    def layer_line(self, p: PullProgress) -> str:
        total = p.total or 0
        done = min(p.completed or 0, total)
        percent = int(done * 100 / total) if total else 0
        speed = f"{format_bytes_decimal(p.speed)}/s" if p.speed else ""
        eta = go_duration_whole(p.eta) if p.eta is not None and p.speed else ""
        sizes = f"{format_bytes_decimal(done)}/{format_bytes_decimal(total)}"
        tail = "  ".join(part for part in (sizes, speed, eta) if part)
        head = f"{p.status} {percent:3d}% "
        room = self.width - len(head) - len(tail) - 4
        bar_width = max(0, min(BAR_WIDTH, room))
        if bar_width < 5:
            return f"{head}{tail}"[: self.width - 1]
        filled = done * bar_width // total if total else 0
        return f"{head}▕{'█' * filled}{' ' * (bar_width - filled)}▏ {tail}"

    def close_line(self) -> None:
        """End a bar that is being redrawn, so the next output starts on a fresh line."""
        if self._open_digest is not None and self.tty:
            self.out.write("\n")
            self.out.flush()
        self._open_digest = None
