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
from core.planner.repack import repack_types
from core.planner.types import GpuSpec, MachineSpec

# Assumed when nothing better is known: dual-channel DDR5 as measured by a copy
# benchmark (theoretical 89.6 GB/s for DDR5-5600), and an 8-core AVX2 desktop.
DEFAULT_RAM_BANDWIDTH = 60e9
DEFAULT_CPU_TFLOPS = 1.0
# Usable host<->device rate per PCIe lane by generation (GB/s after encoding), times ~80 % in practice.
_PCIE_LANE_GBS = {1: 0.25, 2: 0.5, 3: 0.985, 4: 1.969, 5: 3.938, 6: 7.563}
_DEFAULT_PCIE = 25e9  # PCIe 4.0 x16 in practice


# Assumed for a CPU whose clock the OS does not report (most cloud VMs): a typical all-core boost.
ASSUMED_CLOCK_MHZ = 3000.0


def _flops_per_cycle(cpu: CpuInfo) -> int:
    flags = {f.lower() for f in cpu.simd}
    if any(f.startswith("avx512") for f in flags):
        return 64
    if "avx2" in flags and "fma" in flags:
        return 32
    return 16


def cpu_tflops(cpu: CpuInfo, threads: int | None = None) -> float | None:
    """FP32 peak: cores (or `threads`) x clock x FLOPs per cycle of the widest FMA unit.

    None only when the core count is unknown and no thread count is given; an
    unknown clock is assumed (ASSUMED_CLOCK_MHZ) and `cpu_notice` says so.
    """
    cores = threads or cpu.physical_cores
    if not cores:
        return None
    clock = cpu.max_freq_mhz or ASSUMED_CLOCK_MHZ
    return cores * clock / 1000 * _flops_per_cycle(cpu) / 1000


def cpu_notice(cpu: CpuInfo, threads: int | None, flops: float | None) -> str | None:
    """What the CPU prompt speed had to assume, in a sentence, or None when nothing was."""
    if flops is None:
        return f"The CPU's core count is unknown; CPU prompt speed assumes {DEFAULT_CPU_TFLOPS:g} TFLOPS."
    if not cpu.max_freq_mhz:
        cores = threads or cpu.physical_cores
        what = f"{cores} thread{'s' if cores != 1 else ''}" if threads else f"{cores} cores"
        ghz = ASSUMED_CLOCK_MHZ / 1000
        return f"The CPU does not report its clock; CPU prompt speed assumes {ghz:g} GHz on {what}."
    return None


def _measured_on(stamp: str) -> str:
    return f"measured {stamp[:10]}" if stamp else "measured"


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
    cpu_threads: int | None = None,
) -> MachineSpec:
    """The live machine. Pass `gpu_free` (from a GpuSample) to plan against what is free now.

    `ram_bandwidth` (bytes/s) is a figure the user gave; otherwise the one
    measured on this machine (`info.ram_bandwidth`, kept with its date), and
    only without either the assumed DEFAULT_RAM_BANDWIDTH.
    """
    notices: list[str] = []
    gpus = tuple(_live_gpu(g, gpu_free[i] if gpu_free is not None and i < len(gpu_free) else None, notices)
                 for i, g in enumerate(info.gpus))
    if ram_bandwidth:
        bw, source = ram_bandwidth, "given"
    elif info.ram_bandwidth:
        bw, source = info.ram_bandwidth, _measured_on(info.ram_bandwidth_measured_at)
    else:
        bw, source = DEFAULT_RAM_BANDWIDTH, "assumed"
        notices.append(
            f"RAM bandwidth has not been measured on this machine; CPU and partial-offload speeds assume "
            f"{DEFAULT_RAM_BANDWIDTH / 1e9:g} GB/s. Measure it with b (dashboard or planner) or "
            "`llamadeck plan --measure-bw`."
        )
    flops = cpu_tflops(info.cpu, cpu_threads)
    notice = cpu_notice(info.cpu, cpu_threads, flops)
    if notice:
        notices.append(notice)
    ram = ram_available if ram_available is not None else info.ram_total
    return MachineSpec(gpus, ram, bw, flops if flops is not None else DEFAULT_CPU_TFLOPS, name=info.hostname,
                       notices=tuple(notices), ram_bandwidth_source=source,
                       cpu_threads=cpu_threads or info.cpu.physical_cores,
                       cpu_repack_types=repack_types(info.cpu.simd))


def _live_gpu(g: GpuInfo, free: int | None, notices: list[str]) -> GpuSpec:
    card = find_card(g.name)
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
    return GpuSpec(f"GPU{g.index} {g.name}", memory, bandwidth, tflops, _pcie(g))


_COUNT = re.compile(r"^\s*(\d+)\s*[x*]\s*(.+)$", re.IGNORECASE)


def hypothetical_spec(
    card_names: Sequence[str],
    ram_gb: float,
    *,
    ram_bandwidth_gbs: float | None = None,
    cpu_tflops: float | None = None,
    cpu_threads: int | None = None,
) -> MachineSpec:
    """A machine from the card table: `["4090"]`, `["2x 3090"]`, `["4060 Ti 16GB", "3060"]`.

    Without `cpu_tflops`, `cpu_threads` AVX2 threads at ASSUMED_CLOCK_MHZ
    give the CPU's compute; with neither, DEFAULT_CPU_TFLOPS.
    """
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
        notices.append(f"RAM bandwidth assumed {DEFAULT_RAM_BANDWIDTH / 1e9:g} GB/s (dual-channel DDR5); "
                       "give the real figure with --ram-bw.")
    if cpu_tflops is None and cpu_threads:
        cpu_tflops = cpu_threads * ASSUMED_CLOCK_MHZ / 1000 * 32 / 1000
    label = " + ".join(card_names) if card_names else "CPU only"
    return MachineSpec(
        tuple(gpus),
        int(ram_gb * GIB),
        (ram_bandwidth_gbs * 1e9) if ram_bandwidth_gbs else DEFAULT_RAM_BANDWIDTH,
        cpu_tflops if cpu_tflops is not None else DEFAULT_CPU_TFLOPS,
        name=f"{label}, {ram_gb:g} GB RAM",
        is_hypothetical=True,
        notices=tuple(notices),
        ram_bandwidth_source="given" if ram_bandwidth_gbs else "assumed",
        cpu_threads=cpu_threads,
    )


def machine_spec(cards: Sequence[str] | None, *, ram_gb: float = 0.0, info: MachineInfo | None = None,
                 sample: SystemSample | None = None, ram_bandwidth_gbs: float | None = None,
                 cpu_threads: int | None = None) -> MachineSpec:
    """The machine the planner's inputs name, from `llamadeck plan` flags or the planner screen's fields.

    `cards` typed (none for CPU only) is a hypothetical machine with `ram_gb`
    of RAM; `cards` None is this machine as probed (`info`): its whole cards,
    or, given a `sample`, the memory free now. `ram_bandwidth_gbs` and
    `cpu_threads` replace what was measured or assumed, for either.
    """
    if cards is not None:
        return hypothetical_spec(cards, ram_gb, ram_bandwidth_gbs=ram_bandwidth_gbs, cpu_threads=cpu_threads)
    if info is None:
        raise PlannerError("This machine has not been probed yet.")
    bw = ram_bandwidth_gbs * 1e9 if ram_bandwidth_gbs else None
    if sample is None:
        return spec_from_machine_info(info, bw, cpu_threads=cpu_threads)
    free = [g.memory_free for g in sample.gpus]
    return spec_from_machine_info(info, bw, gpu_free=free, ram_available=sample.ram_available,
                                  cpu_threads=cpu_threads)


def parse_ram_bandwidth(text: str) -> float:
    """RAM bandwidth as typed, in GB/s: `20.7`, `60`."""
    try:
        value = float(text)
    except ValueError:
        raise PlannerError(f"{text!r} is not a RAM bandwidth in GB/s.", hint="Write a number such as 20.7.") \
            from None
    if not 0.1 <= value <= 100_000:
        raise PlannerError(f"A RAM bandwidth of {value:g} GB/s is out of range.",
                           hint="Use 0.1 to 100000 GB/s.")
    return value


def parse_threads(text: str) -> int:
    """CPU threads as typed: a whole number of at least 1."""
    if not text.strip().isdigit() or not 1 <= int(text) <= 4096:
        raise PlannerError(f"{text!r} is not a number of CPU threads.",
                           hint="Write a whole number such as 8.")
    return int(text)


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
