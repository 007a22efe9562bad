"""Turn the probed machine (or a list of card names) into the planner's MachineSpec.

Kept apart from the planner so the math never reads hardware: the screen
probes once (core.hardware.probe), builds a MachineSpec here, and the planner only
ever sees numbers. Where a figure cannot be known (RAM bandwidth before it is
measured, TFLOPS of a card missing from the table) an assumption is used and
said in `notices`, so the UI can show it next to the estimate it feeds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from core.errors import PlannerError
from core.hardware.types import CpuInfo, GpuInfo, MachineInfo, SystemSample
from core.planner.cards import GIB, find_card
from core.planner.types import GpuSpec, MachineSpec

# Assumed when nothing better is known: dual-channel DDR5 as measured by a copy
# benchmark (theoretical 89.6 GB/s for DDR5-5600), and an 8-core AVX2 desktop.
DEFAULT_RAM_BANDWIDTH = 60e9
DEFAULT_CPU_TFLOPS = 1.0
# Usable host<->device rate per PCIe lane by generation (GB/s after encoding), times ~80 % in practice.
_PCIE_LANE_GBS = {1: 0.25, 2: 0.5, 3: 0.985, 4: 1.969, 5: 3.938, 6: 7.563}
_DEFAULT_PCIE = 25e9  # PCIe 4.0 x16 in practice


def cpu_tflops(cpu: CpuInfo) -> float | None:
    """FP32 peak of all physical cores: cores x clock x FLOPs per cycle of the widest FMA unit."""
    if not cpu.physical_cores or not cpu.max_freq_mhz:
        return None
    flags = {f.lower() for f in cpu.simd}
    if any(f.startswith("avx512") for f in flags):
        per_cycle = 64
    elif "avx2" in flags and "fma" in flags:
        per_cycle = 32
    else:
        per_cycle = 16
    return cpu.physical_cores * cpu.max_freq_mhz / 1000 * per_cycle / 1000


def _pcie(gpu: GpuInfo) -> float:
    if gpu.pcie_gen and gpu.pcie_width and gpu.pcie_gen in _PCIE_LANE_GBS:
        return _PCIE_LANE_GBS[gpu.pcie_gen] * gpu.pcie_width * 0.8 * 1e9
    return _DEFAULT_PCIE


def spec_from_machine_info(
    info: MachineInfo,
    ram_bandwidth: float | None = None,
    *,
    gpu_free: Sequence[int | None] | None = None,
    ram_available: int | None = None,
) -> MachineSpec:
    """The live machine. Pass `gpu_free` (from a GpuSample) to plan against what is free now."""
    notices: list[str] = []
    gpus: list[GpuSpec] = []
    for i, g in enumerate(info.gpus):
        card = find_card(g.name)
        free = gpu_free[i] if gpu_free is not None and i < len(gpu_free) else None
        memory = free if free is not None else g.memory_total
        bandwidth = g.memory_bandwidth or (card.bandwidth if card else None)
        if bandwidth is None:
            bandwidth = 500e9
            notices.append(f"GPU {g.index} ({g.name}) reports no memory bandwidth; assuming 500 GB/s.")
        if card is not None:
            tflops = card.tflops
        else:
            # tensor throughput tracks bandwidth across recent generations at roughly 100 FLOP/byte
            tflops = bandwidth * 100 / 1e12
            notices.append(f"{g.name} is not in the card table; prompt speed assumes {tflops:.0f} TFLOPS.")
        gpus.append(GpuSpec(f"GPU{g.index} {g.name}", memory, bandwidth, tflops, _pcie(g)))
    bw = ram_bandwidth or info.ram_bandwidth
    if bw is None:
        bw = DEFAULT_RAM_BANDWIDTH
        notices.append("RAM bandwidth has not been measured; CPU speeds assume 60 GB/s.")
    flops = cpu_tflops(info.cpu)
    if flops is None:
        flops = DEFAULT_CPU_TFLOPS
        notices.append("CPU core count or clock unknown; CPU prompt speed assumes 1 TFLOPS.")
    ram = ram_available if ram_available is not None else info.ram_total
    return MachineSpec(tuple(gpus), ram, bw, flops, name=info.hostname, notices=tuple(notices))


_COUNT = re.compile(r"^\s*(\d+)\s*[x*]\s*(.+)$", re.IGNORECASE)


def hypothetical_spec(
    card_names: Sequence[str],
    ram_gb: float,
    *,
    ram_bandwidth_gbs: float | None = None,
    cpu_tflops: float | None = None,
) -> MachineSpec:
    """A machine from the card table: `["4090"]`, `["2x 3090"]`, `["4060 Ti 16GB", "3060"]`."""
    if ram_gb <= 0:
        raise PlannerError("A machine needs some system RAM; give its size in GB.")
    gpus: list[GpuSpec] = []
    for raw in card_names:
        m = _COUNT.match(raw)
        count, name = (int(m.group(1)), m.group(2)) if m else (1, raw)
        for _ in range(count):
            spec = GpuSpec.from_card(name)
            gpus.append(GpuSpec(f"GPU{len(gpus)} {spec.name}", spec.memory, spec.bandwidth, spec.tflops))
    notices = []
    if ram_bandwidth_gbs is None:
        notices.append("RAM bandwidth assumed 60 GB/s (dual-channel DDR5).")
    label = " + ".join(card_names) if card_names else "CPU only"
    return MachineSpec(
        tuple(gpus),
        int(ram_gb * GIB),
        (ram_bandwidth_gbs * 1e9) if ram_bandwidth_gbs else DEFAULT_RAM_BANDWIDTH,
        cpu_tflops if cpu_tflops is not None else DEFAULT_CPU_TFLOPS,
        name=f"{label}, {ram_gb:g} GB RAM",
        is_hypothetical=True,
        notices=tuple(notices),
    )


def machine_spec(cards: Sequence[str] | None, *, ram_gb: float = 0.0, info: MachineInfo | None = None,
                 sample: SystemSample | None = None) -> MachineSpec:
    """The machine the planner's inputs name, from `llamadeck plan` flags or the planner screen's fields.

    `cards` typed (none for CPU only) is a hypothetical machine with `ram_gb`
    of RAM; `cards` None is this machine as probed (`info`): its whole cards,
    or, given a `sample`, the memory free now.
    """
    if cards is not None:
        return hypothetical_spec(cards, ram_gb)
    if info is None:
        raise PlannerError("This machine has not been probed yet.")
    if sample is None:
        return spec_from_machine_info(info)
    free = [g.memory_free for g in sample.gpus]
    return spec_from_machine_info(info, gpu_free=free, ram_available=sample.ram_available)


def parse_ram_gb(text: str) -> float:
    """A hypothetical machine's RAM as typed, in GB: `64`, `31.5`."""
    try:
        value = float(text)
    except ValueError:
        raise PlannerError(f"{text!r} is not a RAM size in GB.") from None
    if not 0 < value <= 1 << 20:
        raise PlannerError("RAM must be more than 0 GB.")
    return value


def parse_parallel(text: str) -> int | None:
    """Parallel slots as typed: a whole number of at least 1, or empty / `auto` (None: the runtime's own)."""
    if not text.strip() or text.strip().lower() == "auto":
        return None
    if not text.strip().isdigit() or int(text) < 1:
        raise PlannerError(f"{text!r} is not a number of parallel slots.")
    return int(text)
