"""Markdown tables for the benchmark reports, headed by the command that produced them.

BENCHMARKS.md records these tables as printed, so each one says how to
reproduce it and on what machine it ran.
"""

from __future__ import annotations

import os
import platform
import shlex
import sys
from collections.abc import Sequence


def command_line() -> str:
    """The command as a user would type it from the repository root."""
    module = sys.modules["__main__"].__spec__
    name = module.name if module is not None else sys.argv[0]
    return shlex.join([".venv/bin/python", "-m", name, *sys.argv[1:]])


def heading(title: str) -> str:
    return f"### {title}\n\n`{command_line()}`"


def machine_line() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    cpu = platform.processor() or platform.machine()
    return f"{os.cpu_count()} CPU(s) {cpu}, load average {load:.2f} at start"


def table(header: Sequence[str], rows: Sequence[Sequence[object]], align: str | None = None) -> str:
    """A Markdown table; `align` is one letter per column, l or r (numbers right by default)."""
    cells = [[str(c) for c in row] for row in rows]
    if align is None:
        align = "l" + "r" * (len(header) - 1)
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(header)]

    def fmt(row: Sequence[str]) -> str:
        parts = [c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(row, widths, align, strict=True)]
        return "| " + " | ".join(parts) + " |"

    marks = [
        ("-" * (w + 1) + ":") if a == "r" else (":" + "-" * (w + 1))
        for w, a in zip(widths, align, strict=True)
    ]
    rule = "|" + "|".join(marks) + "|"
    return "\n".join([fmt(header), rule, *(fmt(r) for r in cells)])


def pct(ours: float, real: float) -> float:
    """Signed relative error of `ours` against `real`, in percent."""
    return (ours - real) / real * 100 if real else float("inf") if ours else 0.0


def signed(x: float, digits: int = 2) -> str:
    return f"{x:+.{digits}f}"


def mib(n: float) -> str:
    return f"{n / 1024**2:,.2f}"
