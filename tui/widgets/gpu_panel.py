"""One GPU: VRAM, utilisation, temperature and power gauges with recent history.

Built once from the GPU's static facts and then updated in place from each
sample, so a refresh touches a handful of one-line widgets and never relayouts.
A GPU that stops answering (lost off the bus, driver reset) keeps its panel:
the gauges go to n/a and the driver's sentence is shown, because a panel that
vanishes is easy to miss while one that says why is not.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical

from core.models import GpuInfo, GpuSample
from tui.widgets.history_sparkline import HistorySparkline
from tui.widgets.live_text import LiveText
from tui.widgets.meter import Level, Meter, level_for
from tui.widgets.units import NA, format_percent, format_rate, format_used_total

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


class GpuPanel(Vertical):
    """Gauges for one GPU, identified by its index."""

    def __init__(self, info: GpuInfo, *, window_s: float = 180.0) -> None:
        super().__init__(id=f"gpu-{info.index}", classes="panel gpu-panel")
        self.info = info
        self.border_title = f"GPU {info.index} · {info.name}"
        self.border_subtitle = gpu_facts(info)
        self.vram = Meter("VRAM", classes="vram")
        self.util = Meter("Util", classes="util")
        self.temp = Meter("Temp", classes="temp")
        self.power = Meter("Power", classes="power")
        self.util_history = HistorySparkline("util", window_s=window_s, classes="history-row util-spark")
        self.vram_history = HistorySparkline("vram", window_s=window_s, classes="history-row vram-spark")
        self.details = LiveText(classes="gpu-details")
        self.error = LiveText(classes="gpu-error")

    def compose(self) -> ComposeResult:
        yield self.vram
        yield self.util
        yield self.temp
        yield self.power
        yield self.util_history
        yield self.vram_history
        yield self.details
        yield self.error

    def show(self, sample: GpuSample, timestamp: float, *, error_text: str | None = None) -> None:
        """Update every gauge from one reading.

        `error_text` replaces the sample's error sentence, for a screen that
        already shows that sentence elsewhere and wants the panel brief.
        """
        self.set_class(sample.error is not None, "-error")
        self.error.show(error_text or sample.error or "")

        vram_pct = None if sample.memory_fraction is None else sample.memory_fraction * 100
        self.vram.show(
            sample.memory_fraction,
            format_used_total(sample.memory_used, sample.memory_total),
            vram_level(vram_pct),
        )
        util = sample.util_gpu
        self.util.show(None if util is None else util / 100, format_percent(util))
        temp = sample.temperature_c
        self.temp.show(
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
        self.power.show(None if power is None or not limit else power / limit, power_text)
        self.util_history.push(timestamp, util)
        self.vram_history.push(timestamp, vram_pct)
        self.details.show(self._details(sample))

    def _details(self, sample: GpuSample) -> str:
        """Clocks, memory-controller load and fan, most useful first, as many as fit the line."""
        parts = []
        if sample.sm_clock_mhz is not None and sample.mem_clock_mhz is not None:
            parts.append(f"SM/mem {sample.sm_clock_mhz}/{sample.mem_clock_mhz} MHz")
        if sample.util_memory is not None:
            parts.append(f"mem busy {sample.util_memory:.0f}%")
        if sample.fan_percent is not None:
            parts.append(f"fan {sample.fan_percent:.0f}%")
        width = self.details.content_size.width or 1000
        text = ""
        for part in parts:
            candidate = f"{text} · {part}" if text else part
            if len(candidate) > width:
                break
            text = candidate
        return text
