"""CPU, RAM and swap gauges with recent history, per-core load and load average.

RAM "used" here is total minus available, the number `free` prints and the
one that decides whether a model's CPU layers fit; psutil's own `used`
leaves out reclaimable cache and looks healthier than it is. Any swap in use
is marked, because a model that spills into swap runs at disk speed.
"""

from __future__ import annotations

from rich.segment import Segment

from core.hardware.types import SystemSample
from core.units import format_percent, format_used_total
from tui.widgets.dashboard.history import History, core_glyphs
from tui.widgets.dashboard.line_panel import HISTORY_LABEL_WIDTH, LinePanel
from tui.widgets.gauge import Gauge, Level, level_for

RAM_WARN_PCT = 85.0
RAM_DANGER_PCT = 95.0
SWAP_DANGER_FRACTION = 0.10


def swap_level(used: int, total: int) -> Level:
    """Any swap in use is a warning; a tenth of it or more is danger."""
    if used <= 0:
        return "ok"
    if total > 0 and used / total >= SWAP_DANGER_FRACTION:
        return "danger"
    return "warn"


def load_text(sample: SystemSample) -> str:
    threads = len(sample.per_cpu_percent)
    if sample.load_avg is None:
        return f"{threads} threads"
    one, five, fifteen = sample.load_avg
    return f"load {one:.2f} {five:.2f} {fifteen:.2f} · {threads} threads"


class SystemPanel(LinePanel):
    """The host's CPU and memory, drawn as lines of one widget (see `LinePanel`).

    `history_rows` is how tall each history is; the screen sets it from the
    terminal's size.
    """

    def __init__(self, *, window_s: float = 180.0, history_rows: int = 1) -> None:
        super().__init__(history_rows=history_rows, id="system", classes="panel")
        self.border_title = "CPU · RAM"
        self.gauges = {"cpu": Gauge("CPU"), "ram": Gauge("RAM"), "swap": Gauge("Swap")}
        self.histories = {
            "cpu-history": ("cpu", History(window_s=window_s)),
            "ram-history": ("ram", History(window_s=window_s)),
        }
        self.per_cpu: tuple[float, ...] = ()
        self.load = ""

    def line_items(self, width: int) -> list[tuple[str, int]]:
        rows = self.history_rows
        return [("cpu", 1), ("ram", 1), ("swap", 1), ("cpu-history", rows), ("ram-history", rows),
                ("cores", 1), ("load", 1)]

    def draw_item(self, name: str, row: int, width: int) -> list[Segment]:
        muted = self.style_of("line-panel--muted")
        if name == "cores":
            glyphs = core_glyphs(self.per_cpu, width - HISTORY_LABEL_WIDTH)
            return [Segment("cores".ljust(HISTORY_LABEL_WIDTH), muted),
                    Segment(glyphs, self.style_of("line-panel--history"))]
        if name == "load":
            return [Segment(self.load, muted)]
        return []

    def show(self, sample: SystemSample) -> None:
        self.set_gauge("cpu", sample.cpu_percent / 100, format_percent(sample.cpu_percent))
        ram_used = max(0, sample.ram_total - sample.ram_available)
        ram_pct = ram_used / sample.ram_total * 100 if sample.ram_total > 0 else None
        self.set_gauge(
            "ram",
            None if ram_pct is None else ram_pct / 100,
            format_used_total(ram_used, sample.ram_total),
            level_for(ram_pct, RAM_WARN_PCT, RAM_DANGER_PCT),
        )
        if sample.swap_total > 0:
            self.set_gauge(
                "swap",
                sample.swap_used / sample.swap_total,
                format_used_total(sample.swap_used, sample.swap_total),
                swap_level(sample.swap_used, sample.swap_total),
            )
        else:
            self.set_gauge("swap", None, "none", swap_level(sample.swap_used, 0))
        self.push_history("cpu-history", sample.timestamp, sample.cpu_percent)
        self.push_history("ram-history", sample.timestamp, ram_pct)
        self.per_cpu = sample.per_cpu_percent
        cores = core_glyphs(self.per_cpu, self.content_size.width - HISTORY_LABEL_WIDTH)
        self.refresh_item_if_changed("cores", cores)
        self.load = load_text(sample)
        self.refresh_item_if_changed("load", self.load)
