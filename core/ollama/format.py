"""Text the way the `ollama` CLI prints it, so `llamadeck ls/ps` read like `ollama list/ps`.

Times follow format.HumanTime ("3 days ago", "4 minutes from now", "Forever").
Sizes (format.HumanBytes, "4.7 GB") and Go-style durations ("1m8s") are in
core.units with every other formatter: `format_bytes_decimal`, `go_duration_whole`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from core.units import format_age, human_duration


def _trunc_div(a: int, b: int) -> int:
    q = abs(a) // b
    return q if a >= 0 else -q


def human_time(moment: datetime | None, zero: str = "Never", now: datetime | None = None) -> str:
    """Ollama's format.HumanTime: "3 days ago", "4 minutes from now", "Forever" (> 20 years ahead)."""
    if moment is None:
        return zero
    now = now or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = (now - moment).total_seconds()
    if _trunc_div(_trunc_div(int(delta / 3600), 24), 365) < -20:  # Go's integer division truncates
        return "Forever"
    if delta < 0:
        return f"{human_duration(-delta)} from now"
    return format_age(delta, long=True)


def until(expires_at: datetime | None, now: datetime | None = None) -> str:
    """The UNTIL column of `ollama ps`: when a loaded model will be unloaded."""
    now = now or datetime.now(UTC)
    if expires_at is not None:
        moment = expires_at if expires_at.tzinfo else expires_at.replace(tzinfo=UTC)
        if now > moment:
            return "Stopping..."
    return human_time(expires_at, "Never", now)


def table(header: Sequence[str], rows: Sequence[Sequence[str]], gap: int = 4) -> str:
    """Left-aligned columns separated by `gap` spaces, like the tables `ollama` prints."""
    widths = [len(h) for h in header]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = []
    for row in (header, *rows):
        lines.append((" " * gap).join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)
