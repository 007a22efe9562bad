"""What this box is, in two lines: the GPUs with driver and CUDA, the CPU with its SIMD and RAM.

These are the facts that decide what a model can do here (CUDA version for
Ollama's GPU build, AVX-512/AMX for llama.cpp's CPU path, bandwidth for
tokens per second), so they sit at the top of the home screen rather than
behind a key.
"""

from __future__ import annotations

from collections import Counter

from core.hardware.types import BandwidthResult, GpuInfo, MachineInfo
from core.units import format_bytes, format_rate
from tui.widgets.live_text import LiveText


def gpu_line(gpus: tuple[GpuInfo, ...], no_gpu_reason: str = "") -> str:
    if not gpus:
        if no_gpu_reason:  # why, in one line: no driver, module not loaded, AMD card without amdgpu, ...
            return f"GPU  none usable: {no_gpu_reason}"
        return "GPU  none found: models run on the CPU"
    kinds = Counter((g.name, g.memory_total, g.memory_bandwidth) for g in gpus)
    names = []
    for (name, total, bandwidth), count in kinds.items():
        text = f"{count}× {name}" if count > 1 else name
        text += f" {format_bytes(total)}"
        if bandwidth:
            text += f" {format_rate(bandwidth)}"
        names.append(text)
    parts = [" + ".join(names)]
    first = gpus[0]
    if first.driver_version:
        parts.append(f"driver {first.driver_version}")
    if first.cuda_version:
        parts.append(f"CUDA {first.cuda_version}")
    return "GPU  " + " · ".join(parts)


def simd_summary(flags: tuple[str, ...]) -> str:
    """The SIMD levels llama.cpp picks kernels by, not the dozen raw flags behind them."""
    have = set(flags)
    out = []
    if "avx2" in have:
        out.append("AVX2")
    elif "avx" in have:
        out.append("AVX")
    if any(f.startswith("avx512") for f in have):
        extras = [label for flag, label in (("avx512_vnni", "VNNI"), ("avx512_bf16", "BF16")) if flag in have]
        out.append("AVX-512" + (f" ({' '.join(extras)})" if extras else ""))
    if any(f.startswith("amx") for f in have):
        out.append("AMX")
    arm = (("asimd", "NEON"), ("asimddp", "dotprod"), ("i8mm", "i8mm"), ("sve2", "SVE2"), ("sve", "SVE"))
    for flag, label in arm:
        if flag in have and not (flag == "sve" and "sve2" in have):
            out.append(label)
    return " ".join(out) or "no AVX/NEON"


def cpu_model(model: str) -> str:
    """`Intel(R) Xeon(R) Gold 6430 CPU @ 2.10GHz` -> `Intel Xeon Gold 6430 @ 2.10GHz`: fewer cells."""
    for noise in ("(R)", "(r)", "(TM)", "(tm)", " CPU ", " Processor"):
        model = model.replace(noise, " " if noise == " CPU " else "")
    return " ".join(model.split())


def cpu_line(info: MachineInfo, bandwidth: str) -> str:
    cpu = info.cpu
    threads = f"{cpu.logical_cores}t"
    cores = threads if cpu.physical_cores is None else f"{cpu.physical_cores}c/{threads}"
    simd = simd_summary(cpu.simd)
    return f"CPU  {cpu_model(cpu.model)} · {cores} · {simd} · RAM {format_bytes(info.ram_total)} {bandwidth}"


def bandwidth_text(measured: BandwidthResult | float | None, *, measuring: bool) -> str:
    if measuring:
        return "(measuring bandwidth…)"
    if measured is None:
        return "(b: measure bandwidth)"
    rate = measured.bytes_per_second if isinstance(measured, BandwidthResult) else measured
    return format_rate(rate)


class MachineFacts(LiveText):
    def show_machine(
        self, info: MachineInfo, *, bandwidth: BandwidthResult | None = None, measuring: bool = False
    ) -> None:
        measured = bandwidth if bandwidth is not None else info.ram_bandwidth
        cpu = cpu_line(info, bandwidth_text(measured, measuring=measuring))
        self.show(gpu_line(info.gpus, info.no_gpu_reason) + "\n" + cpu)
