"""Short human-readable numbers for narrow gauges.

Sizes use binary units (GiB) because that is what `nvidia-smi`, `free -h` and
Ollama's memory estimates print, so a user can compare numbers across tools.
Bandwidth uses decimal GB/s because that is how vendors quote it.
A missing reading is "n/a", never a made-up zero.
"""

from __future__ import annotations

from core.ollama.format import human_bytes

NA = "n/a"

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


def format_used_total(used: float | None, total: float | None) -> str:
    """`14.2/24.0 GiB`: both numbers in the total's unit so they compare at a glance."""
    if total is None or total <= 0:
        return format_bytes(used)
    if used is None:
        return NA
    unit, size = _unit_for(total)
    return f"{_scaled(used, size)}/{_scaled(total, size)} {unit}"


def format_rate(bytes_per_second: float | None) -> str:
    """Memory bandwidth in decimal GB/s, the unit on spec sheets."""
    if bytes_per_second is None:
        return NA
    gbs = bytes_per_second / 1e9
    return f"{gbs:.0f} GB/s" if gbs >= 100 else f"{gbs:.1f} GB/s"


def format_percent(value: float | None) -> str:
    return NA if value is None else f"{value:.0f}%"


# Ollama's own numbers. `ollama list` and `ollama ps` print decimal units
# ("4.7 GB"), and a user compares the browser with them, so model sizes use
# Ollama's formatter rather than the GiB above.

def format_model_size(n: float | None) -> str:
    """`5225388164` -> `5.2 GB`, exactly as `ollama list` prints it."""
    return NA if n is None else human_bytes(n)


_AGE_STEPS = ((365 * 86400, "y"), (30 * 86400, "mo"), (7 * 86400, "w"), (86400, "d"), (3600, "h"), (60, "m"))


def format_age(seconds: float | None) -> str:
    """How long ago, in a column-sized form: `5h ago`, `3d ago`, `2mo ago`, `just now`."""
    if seconds is None:
        return NA
    if seconds < 60:
        return "just now"
    for size, unit in _AGE_STEPS:
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return "just now"  # unreachable: the last step is one minute


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
