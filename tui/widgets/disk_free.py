"""Free space where models live, one entry per filesystem.

Full disks are what users hit most (a converted f16 GGUF is huge, and
`ollama create` copies it once more), so this line stays on the home screen.
Folders on the same filesystem share one entry instead of repeating the
same number.
"""

from __future__ import annotations

from collections.abc import Iterable

from core.hardware.types import DiskInfo
from core.units import format_bytes
from tui.widgets.live_text import LiveText

LOW_FREE_BYTES = 20 * 2**30
LOW_FREE_FRACTION = 0.05


def is_low(disk: DiskInfo) -> bool:
    if disk.free is None:
        return False
    if disk.free < LOW_FREE_BYTES:
        return True
    return disk.total is not None and disk.total > 0 and disk.free / disk.total < LOW_FREE_FRACTION


def disks_text(disks: Iterable[DiskInfo]) -> str:
    groups: dict[str, list[DiskInfo]] = {}
    for disk in disks:
        key = disk.mount or disk.path
        groups.setdefault(key, []).append(disk)
    parts = []
    for members in groups.values():
        labels = ", ".join(d.label for d in members)
        first = members[0]
        if first.free is None:
            parts.append(f"{labels}: unreadable")
            continue
        text = f"{labels}: {format_bytes(first.free)} of {format_bytes(first.total)}"
        if is_low(first):
            text += " LOW"
        parts.append(text)
    return "Free  " + (" · ".join(parts) if parts else "no model folders configured")


class DiskFree(LiveText):
    def show_disks(self, disks: Iterable[DiskInfo]) -> None:
        disks = tuple(disks)
        self.set_class(any(is_low(d) for d in disks), "-warn")
        self.show(disks_text(disks))
