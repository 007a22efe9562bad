"""What the CPU is (model, cores, the SIMD flags llama.cpp builds for) and how busy it is.

CPU load is computed from our own baseline of `psutil.cpu_times` instead of
`psutil.cpu_percent(interval=None)`, whose baseline is module-global: any
other caller in the process would otherwise reset the dashboard's interval.
"""

from __future__ import annotations

import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil

from core.hardware.types import CpuInfo

# The instruction sets llama.cpp/ggml has kernels for, in the spelling
# /proc/cpuinfo uses, ordered from the baseline to the newest.
X86_SIMD = (
    "avx", "avx2", "fma", "f16c", "avx_vnni",
    "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512vbmi", "avx512_bf16",
    "amx_tile", "amx_int8", "amx_bf16",
)
# aarch64 "Features": NEON, fp16 arithmetic, dot product, int8 matmul, SVE.
ARM_SIMD = ("asimd", "asimdhp", "asimddp", "i8mm", "bf16", "sve", "sve2")


def parse_cpuinfo(text: str) -> tuple[str | None, tuple[str, ...]]:
    """The CPU model and the SIMD flags that matter, from /proc/cpuinfo text.

    Only the first processor block is read: all cores of one machine share a
    model and flag set in practice, and big machines print hundreds of blocks.
    """
    model: str | None = None
    flags: set[str] = set()
    flags_seen = False
    for line in text.splitlines():
        if not line.strip():
            if model is not None and flags_seen:
                break
            continue
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key, value = key.strip().lower(), value.strip()
        if key == "model name" and model is None and value:
            model = value
        elif key in ("flags", "features") and not flags_seen:
            flags = set(value.split())
            flags_seen = True
        elif key in ("hardware", "cpu model") and model is None and value:
            model = value
    known = X86_SIMD if "avx" in flags or "sse2" in flags else ARM_SIMD
    return model, tuple(flag for flag in known if flag in flags)


def read_cpu_info(cpuinfo: Path = Path("/proc/cpuinfo")) -> tuple[CpuInfo, tuple[str, ...]]:
    """Static CPU facts, with a notice when /proc/cpuinfo could not be read."""
    notices: list[str] = []
    try:
        model, simd = parse_cpuinfo(cpuinfo.read_text(encoding="utf-8", errors="replace"))
    except OSError as exc:
        model, simd = None, ()
        notices.append(f"Could not read {cpuinfo} ({exc.strerror}), so the CPU's SIMD flags are unknown.")
    max_freq: float | None = None
    try:
        freq = psutil.cpu_freq()
        if freq is not None and freq.max > 0:
            max_freq = float(freq.max)
    except (OSError, NotImplementedError):
        pass  # virtual machines often expose no frequency at all; None says so
    info = CpuInfo(
        model=model or platform.processor() or platform.machine() or "unknown CPU",
        physical_cores=psutil.cpu_count(logical=False),
        logical_cores=psutil.cpu_count(logical=True) or 1,
        simd=simd,
        max_freq_mhz=max_freq,
    )
    return info, tuple(notices)


def _busy_and_total(times: Any) -> tuple[float, float]:
    """Busy and total jiffies; guest time is already inside user/nice, so it is not added twice."""
    fields = times._asdict()
    total = sum(fields.values()) - fields.get("guest", 0.0) - fields.get("guest_nice", 0.0)
    idle = fields.get("idle", 0.0) + fields.get("iowait", 0.0)
    return total - idle, total


def percent_between(before: Any, after: Any) -> float:
    """CPU busy percent between two `psutil.cpu_times()` readings (0 when no time passed)."""
    busy0, total0 = _busy_and_total(before)
    busy1, total1 = _busy_and_total(after)
    d_total = total1 - total0
    if d_total <= 0:
        return 0.0
    return round(min(100.0, max(0.0, (busy1 - busy0) / d_total * 100.0)), 1)


class CpuLoad:
    """Total and per-core load since the previous reading.

    The baseline is taken at construction, so the first `read()` is already
    meaningful if some time has passed; a read right after construction (a few
    ms) is noisy, as with any counter-based load.
    """

    def __init__(self) -> None:
        self._last: Sequence[Any] = psutil.cpu_times(percpu=True)

    def read(self) -> tuple[float, tuple[float, ...]]:
        now = psutil.cpu_times(percpu=True)
        per_cpu = tuple(percent_between(a, b) for a, b in zip(self._last, now, strict=False))
        self._last = now
        total = round(sum(per_cpu) / len(per_cpu), 1) if per_cpu else 0.0
        return total, per_cpu
