"""One GPU: VRAM, utilisation, temperature and power gauges with recent history.

Built once from the GPU's static facts and then updated in place from each
sample. It is one widget that draws its own lines (see `LinePanel`), so a
reading that changed repaints one line and nothing is laid out again.
A GPU that stops answering (lost off the bus, driver reset) keeps its panel:
the gauges go to n/a and the driver's sentence is shown, because a panel that
vanishes is easy to miss while one that says why is not.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.text import Text

from core.hardware.types import GpuInfo, GpuSample
from core.units import NA, format_percent, format_rate, format_used_total
from tui.widgets.dashboard.history import History
from tui.widgets.dashboard.line_panel import LinePanel
from tui.widgets.gauge import Gauge, Level, level_for

# VRAM above 90 % leaves no room for a KV cache to grow; temperatures from the
# mid-80s up are where consumer cards start to throttle.
VRAM_WARN_PCT = 80.0
VRAM_DANGER_PCT = 90.0
TEMP_WARN_C = 85.0
TEMP_DANGER_C = 90.0
TEMP_SCALE_C = 100.0


def vram_level(percent: float | None) -> Level:
    if percent is None:
        return "ok"
    if percent > VRAM_DANGER_PCT:
        return "danger"
    return "warn" if percent > VRAM_WARN_PCT else "ok"


def gpu_facts(info: GpuInfo) -> str:
    """The static facts that decide what runs fast: compute capability, link and bandwidth."""
    parts = []
    if info.compute_capability:
        parts.append(f"cc {info.compute_capability}")
    if info.pcie_gen and info.pcie_width:
        parts.append(f"PCIe {info.pcie_gen} x{info.pcie_width}")
    if info.memory_bandwidth:
        parts.append(format_rate(info.memory_bandwidth))
    return " · ".join(parts)


def details_text(sample: GpuSample, width: int) -> str:
    """Clocks, memory-controller load and fan, most useful first, as many as fit `width`."""
    parts = []
    if sample.sm_clock_mhz is not None and sample.mem_clock_mhz is not None:
        parts.append(f"SM/mem {sample.sm_clock_mhz}/{sample.mem_clock_mhz} MHz")
    if sample.util_memory is not None:
        parts.append(f"mem busy {sample.util_memory:.0f}%")
    if sample.fan_percent is not None:
        parts.append(f"fan {sample.fan_percent:.0f}%")
    text = ""
    for part in parts:
        candidate = f"{text} · {part}" if text else part
        if len(candidate) > width:
            break
        text = candidate
    return text


GAUGES = {"vram": "VRAM", "util": "Util", "temp": "Temp", "power": "Power"}


class GpuPanel(LinePanel):
    """Gauges for one GPU, identified by its index.

    `history_rows` is how tall each history is (0 hides the histories and
    the details line); the screen sets it from the terminal's size.
    """

    def __init__(self, info: GpuInfo, *, window_s: float = 180.0, history_rows: int = 1) -> None:
        super().__init__(history_rows=history_rows, id=f"gpu-{info.index}", classes="panel gpu-panel")
        self.info = info
        self.border_title = f"GPU {info.index} · {info.name}"
        self.border_subtitle = gpu_facts(info)
        self.gauges = {name: Gauge(label) for name, label in GAUGES.items()}
        self.histories = {
            "util-history": ("util", History(window_s=window_s)),
            "vram-history": ("vram", History(window_s=window_s)),
        }
        self.error_text = ""
        self._sample: GpuSample | None = None
        self._wrapped: tuple[tuple[str, int], list[str]] = (("", -1), [])

    def line_items(self, width: int) -> list[tuple[str, int]]:
        rows = self.history_rows
        items = [*((name, 1) for name in GAUGES), ("util-history", rows), ("vram-history", rows)]
        if self.error_text:
            # The history shows what led up to it; clocks and fan of a GPU that does not answer are n/a.
            return [*items, ("error", len(self._error_lines(width)))]
        return [*items, ("details", 1 if rows else 0)]

    def draw_item(self, name: str, row: int, width: int) -> list[Segment]:
        if name == "error":
            lines = self._error_lines(width)
            return [Segment(lines[row] if row < len(lines) else "", self.style_of("line-panel--error"))]
        if name == "details" and self._sample is not None:
            return [Segment(details_text(self._sample, width), self.style_of("line-panel--muted"))]
        return []

    def _error_lines(self, width: int) -> list[str]:
        """The error sentence wrapped to `width` cells (CJK-aware, by Rich)."""
        key = (self.error_text, width)
        if self._wrapped[0] != key:
            if width <= 0:
                lines = [self.error_text]
            else:
                lines = [line.plain.rstrip() for line in Text(self.error_text).wrap(self.app.console, width)]
            self._wrapped = (key, lines or [""])
        return self._wrapped[1]

    def show(self, sample: GpuSample, timestamp: float, *, error_text: str | None = None) -> None:
        """Update every gauge from one reading.

        `error_text` replaces the sample's error sentence, for a screen that
        already shows that sentence elsewhere and wants the panel brief.
        """
        self._sample = sample
        self.set_class(sample.error is not None, "-error")
        error = error_text or sample.error or ""
        if error != self.error_text:
            self.error_text = error
            self.rearrange()

        vram_pct = None if sample.memory_fraction is None else sample.memory_fraction * 100
        self.set_gauge(
            "vram",
            sample.memory_fraction,
            format_used_total(sample.memory_used, sample.memory_total),
            vram_level(vram_pct),
        )
        util = sample.util_gpu
        self.set_gauge("util", None if util is None else util / 100, format_percent(util))
        temp = sample.temperature_c
        self.set_gauge(
            "temp",
            None if temp is None else temp / TEMP_SCALE_C,
            NA if temp is None else f"{temp:.0f} °C",
            level_for(temp, TEMP_WARN_C, TEMP_DANGER_C),
        )
        limit = sample.power_limit_w or self.info.power_limit_w
        power = sample.power_w
        if power is None:
            power_text = NA
        elif limit:
            power_text = f"{power:.0f}/{limit:.0f} W"
        else:
            power_text = f"{power:.0f} W"
        self.set_gauge("power", None if power is None or not limit else power / limit, power_text)
        self.push_history("util-history", timestamp, util)
        self.push_history("vram-history", timestamp, vram_pct)
        details = (sample.sm_clock_mhz, sample.mem_clock_mhz, sample.util_memory, sample.fan_percent)
        self.refresh_item_if_changed("details", details)
