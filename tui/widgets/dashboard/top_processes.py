"""The processes using the most RAM and CPU, runners first named by the model they serve.

Shown where a CPU-only machine has no GPU panels: the question there is
"what is eating my RAM and cores", and the answer a user of this app hopes
for is `ollama runner · llama3.2:3b` at the top. The marked row (▶) is the
runner the dashboard's stop key acts on.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.hardware.processes import ProcessRecord
from core.units import format_bytes
from tui.widgets.dashboard.gpu_process_table import fit, shorten_cmdline
from tui.widgets.live_text import LiveText

EMPTY = "Reading the processes…"


def process_label(record: ProcessRecord, width: int) -> str:
    """`ollama runner · llama3.2:3b`, or the name and its shortened command line."""
    if record.role:
        return fit(f"{record.role} · {record.model or '(model not known)'}", width)
    rest = shorten_cmdline(" ".join(record.cmdline), max(0, width - len(record.name) - 1), name=record.name)
    return fit(f"{record.name} {rest}".rstrip(), width)


def process_lines(records: Sequence[ProcessRecord], width: int, selected: int | None) -> str:
    if not records:
        return EMPTY
    label_width = max(8, width - 37)
    lines = [f"  {'PID':<7} {'User':<9} {'RAM':>9} {'CPU':>5}  Process"]
    for r in records:
        mark = "▶" if r.pid == selected else " "
        lines.append(f"{mark} {r.pid:<7} {fit(r.user, 9):<9} {format_bytes(r.rss):>9} "
                     f"{r.cpu_percent:>4.0f}%  {process_label(r, label_width)}")
    return "\n".join(lines)


class TopProcesses(LiveText):
    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(EMPTY, id=id, classes=classes)
        self.records: tuple[ProcessRecord, ...] = ()
        self.selected: int | None = None

    def show_processes(self, records: Sequence[ProcessRecord], selected: int | None) -> None:
        self.records, self.selected = tuple(records), selected
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        self.show(process_lines(self.records, self.content_size.width or 78, self.selected))
