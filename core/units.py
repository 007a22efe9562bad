"""Every size, duration, context and rate the app prints, formatted once.

The CLI, the screens and the pipeline's messages all format from here, so a
number never reads two ways. Where two styles differ on purpose, each has its
own explicit name:

- Sizes of memory and disk use binary units (GiB) because that is what
  `nvidia-smi`, `free -h` and Ollama's memory estimates print: `format_bytes`
  (three significant digits, for narrow gauges and table cells) and
  `format_bytes_tenths` (always one decimal, for sentences in the pipeline's checks).
- Model sizes use Ollama's decimal units (`format_bytes_decimal`, a port of
  Ollama's format.HumanBytes) so the browser matches `ollama list`.
- Durations: `format_clock` (`1:08`, a job's elapsed time and ETA),
  `go_duration` (Go's time.Duration, what `ollama run --verbose` prints) and
  `go_duration_whole` (the same in whole seconds, as Ollama's pull bar shows an ETA).

A missing reading is "n/a" (`NA`), never a made-up zero; a planner cell with
nothing to show is "–" (`NONE`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

NA = "n/a"
NONE = "–"

# --------------------------------------------------------------------------- bytes

_BINARY = (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10))


def _unit_for(n: float) -> tuple[str, int]:
    for name, size in _BINARY:
        if abs(n) >= size:
            return name, size
    return "B", 1


def _scaled(n: float, size: int) -> str:
    value = n / size
    if size == 1:
        return f"{value:.0f}"
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.1f}"


def format_bytes(n: float | None) -> str:
    """`15032385536` -> `14.0 GiB`; three significant digits at most."""
    if n is None:
        return NA
    unit, size = _unit_for(n)
    return f"{_scaled(n, size)} {unit}"


def format_bytes_tenths(n: int) -> str:
    """Binary units with one decimal always ("14.2 GiB", "150.0 GiB"): how the pipeline's checks say sizes."""
    for unit, scale in _BINARY:
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def format_parts(parts: Sequence[tuple[str, int]], total: int) -> tuple[str, ...]:
    """Each part in the total's unit, rounded so that the shown parts add up to the shown total.

    Rounding each part on its own can make "6.0 + 2.0 + 0.6" sum to 8.7 under a total of
    8.6; the largest remainders get the spare tenths instead.
    """
    unit, scale = _unit_for(total)
    if scale == 1:
        return tuple(f"{what} {size} B" for what, size in parts)
    tenths = [size * 10 / scale for _, size in parts]
    floors = [int(t) for t in tenths]
    spare = round(total * 10 / scale) - sum(floors)
    order = sorted(range(len(parts)), key=lambda i: tenths[i] - floors[i], reverse=True)
    for i in order[:max(0, spare)]:
        floors[i] += 1
    return tuple(f"{what} {n / 10:.1f} {unit}" for (what, _), n in zip(parts, floors, strict=True))


def format_used_total(used: float | None, total: float | None) -> str:
    """`14.2/24.0 GiB`: both numbers in the total's unit so they compare at a glance."""
    if total is None or total <= 0:
        return format_bytes(used)
    if used is None:
        return NA
    unit, size = _unit_for(total)
    return f"{_scaled(used, size)}/{_scaled(total, size)} {unit}"


_DECIMAL = (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("KB", 10**3))


def format_bytes_decimal(n: int | float) -> str:
    """Ollama's format.HumanBytes: "4.7 GB", "12 GB", "1 GB", "512 B"."""
    for unit, size in _DECIMAL:
        if n >= size:
            value = n / size
            if value >= 10 or value == math.trunc(value):
                return f"{int(value)} {unit}"
            return f"{value:.1f} {unit}"
    return f"{int(n)} B"


def format_model_size(n: float | None) -> str:
    """`5225388164` -> `5.2 GB`, exactly as `ollama list` prints it."""
    return NA if n is None else format_bytes_decimal(n)


# --------------------------------------------------------------------------- rates and counts


def format_rate(bytes_per_second: float | None) -> str:
    """Memory bandwidth in decimal GB/s, the unit on spec sheets."""
    if bytes_per_second is None:
        return NA
    gbs = bytes_per_second / 1e9
    return f"{gbs:.0f} GB/s" if gbs >= 100 else f"{gbs:.1f} GB/s"


def format_tps(value: float | None) -> str:
    """Tokens per second in a planner cell, short at any size: `42.5`, `180`, `12k`, `3M`."""
    if value is None:
        return NONE
    if value >= 1e6:
        return f"{value / 1e6:.0f}M"
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    return format_tps_plain(value)


def format_tps_plain(value: float | None) -> str:
    """Tokens per second measured in a chat, every digit kept: `42.5`, `180`, `12345`."""
    if value is None:
        return NONE
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def format_percent(value: float | None) -> str:
    return NA if value is None else f"{value:.0f}%"


def format_params(n: int | None) -> str:
    """A parameter count as model cards write it: `8.0B`, `135M`."""
    if not n:
        return NONE
    if n >= 1e9:
        return f"{n / 1e9:.1f}B"
    return f"{n / 1e6:.0f}M" if n >= 1e6 else f"{n / 1e3:.0f}K"


def format_ctx(n: int | None) -> str:
    """`8192` -> `8k`, `122368` -> `119.5k` (rounded down, never promising more); small sizes in tokens."""
    if n is None:
        return NONE
    if n < 1024:
        return str(n)
    if n % 1024 == 0:
        return f"{n // 1024}k"
    return f"{math.floor(n * 10 / 1024) / 10:.1f}k"


# --------------------------------------------------------------------------- durations


def format_clock(seconds: float) -> str:
    """Elapsed time or an ETA on a clock: `0:45`, `12:03`, `1:02:09`."""
    s = max(0, round(seconds))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def format_latency(seconds: float) -> str:
    """A wait under a reply: `210 ms` below a second, `1.25 s` above."""
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def format_ms(seconds: float | None) -> str:
    """A wait in a column of milliseconds: `210 ms`, `1500 ms`."""
    return NONE if seconds is None else f"{seconds * 1000:.0f} ms"


def format_interval(seconds: float) -> str:
    """A refresh interval as chosen: `0.5 s`, `2 s`."""
    return f"{seconds:g} s"


def go_duration(seconds: float) -> str:
    """A duration the way Go prints `time.Duration` (what `ollama run --verbose` shows).

    Below a second the unit shrinks (`61.145167ms`, `850µs`, `120ns`); above it
    minutes and hours lead (`1m3.5s`, `1h0m2s`), with no trailing zeros.
    """
    return _go_nanoseconds(round(seconds * 1e9))


def go_duration_whole(seconds: float) -> str:
    """Whole seconds, never negative, printed like Go's time.Duration: "45s", "1m8s", "2h0m5s"."""
    return _go_nanoseconds(max(0, round(seconds)) * 10**9)


def _go_nanoseconds(ns: int) -> str:
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    u = abs(ns)
    if u < 1_000:
        return f"{sign}{u}ns"
    if u < 1_000_000:
        return f"{sign}{_decimal(u, 3)}µs"
    if u < 1_000_000_000:
        return f"{sign}{_decimal(u, 6)}ms"
    hours, rest = divmod(u, 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    text = f"{_decimal(rest, 9)}s"
    if hours:
        text = f"{hours}h{minutes}m{text}"
    elif minutes:
        text = f"{minutes}m{text}"
    return sign + text


def _decimal(value: int, places: int) -> str:
    whole, frac = divmod(value, 10**places)
    digits = str(frac).rjust(places, "0").rstrip("0")
    return f"{whole}.{digits}" if digits else str(whole)


def _age_bucket(seconds: float) -> tuple[int, str]:
    """Ollama's humanDuration buckets (format/time.go): the count and its unit, `s` to `y`.

    The browser's column and `llamadeck ls` (like `ollama list`) both use
    these, so one model is never "1y ago" on a screen and "23 months ago" in
    a shell; only the spelling differs (`23mo ago`, `23 months ago`).
    """
    if seconds < 60:
        return int(seconds), "s"
    minutes = int(seconds / 60)
    if minutes < 60:
        return minutes, "m"
    hours = math.floor(seconds / 3600 + 0.5)  # Go's math.Round
    if hours < 48:
        return hours, "h"
    if hours < 24 * 7 * 2:
        return hours // 24, "d"
    if hours < 24 * 30 * 2:
        return hours // 24 // 7, "w"
    if hours < 24 * 365 * 2:
        return hours // 24 // 30, "mo"
    return int(seconds / 3600) // 24 // 365, "y"


_LONG_UNITS = {"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week", "mo": "month", "y": "year"}


def human_duration(seconds: float) -> str:
    """A span the way Ollama says it: `Less than a second`, `About a minute`, `23 months`."""
    count, unit = _age_bucket(seconds)
    if unit == "s" and count < 1:
        return "Less than a second"
    if count == 1 and unit in ("m", "h"):
        return "About a minute" if unit == "m" else "About an hour"
    return plural(count, _LONG_UNITS[unit])


def format_age(seconds: float | None, *, long: bool = False) -> str:
    """How long ago: `5h ago`, `23mo ago`, `just now` for a column; `long` spells it like `ollama list`."""
    if seconds is None:
        return NA
    if long:
        return f"{human_duration(seconds)} ago"
    count, unit = _age_bucket(seconds)
    return "just now" if unit == "s" else f"{count}{unit} ago"


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """`1 model`, `2 models`, `0 models`; `nouns` for a plural that is not noun + s (`entries`)."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


FOREVER_S = 20 * 365 * 86400  # like `ollama ps`: further away than this is "Forever"


def format_until(seconds: float | None) -> str:
    """When a loaded model unloads, from the seconds left: `in 4 minutes`, `forever`, `stopping…`."""
    if seconds is None:
        return NA
    if seconds > FOREVER_S:
        return "forever"
    if seconds <= 0:
        return "stopping…"
    if seconds < 60:
        return f"in {int(seconds)} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return "in 1 minute" if minutes == 1 else f"in {minutes} minutes"
    hours = int(seconds // 3600)
    if hours < 48:
        return "in 1 hour" if hours == 1 else f"in {hours} hours"
    return f"in {hours // 24} days"
