"""CPU, RAM and swap gauges with recent history, per-core load and load average.

RAM "used" here is total minus available, the number `free` prints and the
one that decides whether a model's CPU layers fit; psutil's own `used`
leaves out reclaimable cache and looks healthier than it is. Any swap in use
is marked, because a model that spills into swap runs at disk speed.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical

from core.models import SystemSample
from tui.widgets.core_strip import CoreStrip
from tui.widgets.history_sparkline import HistorySparkline
from tui.widgets.live_text import LiveText
from tui.widgets.meter import Level, Meter, level_for
from tui.widgets.units import format_percent, format_used_total

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


class SystemPanel(Vertical):
    """The host's CPU and memory."""

    def __init__(self, *, window_s: float = 180.0) -> None:
        super().__init__(id="system", classes="panel")
        self.border_title = "CPU · RAM"
        self.cpu = Meter("CPU", classes="cpu")
        self.ram = Meter("RAM", classes="ram")
        self.swap = Meter("Swap", classes="swap")
        self.load = LiveText(classes="load")
        self.cores = CoreStrip("cores", classes="cores")
        self.cpu_history = HistorySparkline("cpu", window_s=window_s, classes="history-row cpu-spark")
        self.ram_history = HistorySparkline("ram", window_s=window_s, classes="history-row ram-spark")

    def compose(self) -> ComposeResult:
        yield self.cpu
        yield self.ram
        yield self.swap
        yield self.cpu_history
        yield self.ram_history
        yield self.cores
        yield self.load

    def show(self, sample: SystemSample) -> None:
        self.cpu.show(sample.cpu_percent / 100, format_percent(sample.cpu_percent))
        ram_used = max(0, sample.ram_total - sample.ram_available)
        ram_pct = ram_used / sample.ram_total * 100 if sample.ram_total > 0 else None
        self.ram.show(
            None if ram_pct is None else ram_pct / 100,
            format_used_total(ram_used, sample.ram_total),
            level_for(ram_pct, RAM_WARN_PCT, RAM_DANGER_PCT),
        )
        if sample.swap_total > 0:
            self.swap.show(
                sample.swap_used / sample.swap_total,
                format_used_total(sample.swap_used, sample.swap_total),
                swap_level(sample.swap_used, sample.swap_total),
            )
        else:
            self.swap.show(None, "none", swap_level(sample.swap_used, 0))
        self.cpu_history.push(sample.timestamp, sample.cpu_percent)
        self.ram_history.push(sample.timestamp, ram_pct)
        self.cores.show(sample.per_cpu_percent)
        self.load.show(self._load_text(sample))

    @staticmethod
    def _load_text(sample: SystemSample) -> str:
        threads = len(sample.per_cpu_percent)
        if sample.load_avg is None:
            return f"{threads} threads"
        one, five, fifteen = sample.load_avg
        return f"load {one:.2f} {five:.2f} {fifteen:.2f} · {threads} threads"
