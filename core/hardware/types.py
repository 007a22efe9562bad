"""What the hardware probes report: GPUs, their processes, CPU, RAM, disks.

Sizes are bytes unless a name says otherwise.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class GpuInfo:
    """Static facts about one GPU, read once."""

    index: int
    vendor: str  # "nvidia" | "amd"
    name: str
    uuid: str | None
    memory_total: int
    driver_version: str | None = None
    cuda_version: str | None = None  # e.g. "12.4", from the driver
    compute_capability: str | None = None  # e.g. "8.9"
    power_limit_w: float | None = None
    pcie_gen: int | None = None
    pcie_width: int | None = None
    memory_bus_width_bits: int | None = None
    max_memory_clock_mhz: int | None = None
    memory_bandwidth: float | None = None  # theoretical, bytes/s
    gfx_target: str | None = None  # AMD: "gfx1100", from the ROCm kernel driver (KFD)
    rocm_runtime: bool | None = None  # AMD: is a ROCm runtime (libamdhip64) installed; None: not AMD


@dataclass(frozen=True)
class GpuProcess:
    """A process holding GPU memory (what `nvidia-smi` lists at the bottom)."""

    gpu_index: int
    pid: int
    name: str
    cmdline: str
    used_memory: int | None  # None when the driver does not say (e.g. in containers)
    kind: str = "compute"  # "compute" | "graphics"
    user: str = ""  # who runs it ("" when unknown)


@dataclass(frozen=True)
class GpuSample:
    """One live reading of one GPU."""

    index: int
    memory_used: int | None
    memory_total: int
    util_gpu: float | None = None  # percent
    util_memory: float | None = None  # percent (memory controller busy)
    temperature_c: float | None = None
    power_w: float | None = None
    power_limit_w: float | None = None
    sm_clock_mhz: int | None = None
    mem_clock_mhz: int | None = None
    fan_percent: float | None = None
    processes: tuple[GpuProcess, ...] = ()
    error: str | None = None  # set when this GPU could not be read this time (e.g. lost)

    @property
    def memory_free(self) -> int | None:
        return None if self.memory_used is None else max(0, self.memory_total - self.memory_used)

    @property
    def memory_fraction(self) -> float | None:
        if self.memory_used is None or self.memory_total <= 0:
            return None
        return self.memory_used / self.memory_total


@dataclass(frozen=True)
class CpuInfo:
    model: str
    physical_cores: int | None
    logical_cores: int
    simd: tuple[str, ...]  # the flags that matter to llama.cpp: avx, avx2, fma, f16c, avx512*, amx*
    max_freq_mhz: float | None = None


@dataclass(frozen=True)
class DiskInfo:
    """Free space on the filesystem that holds a folder models live in."""

    label: str  # "Ollama models", "Hugging Face cache", "GGUF dir", ...
    path: str
    exists: bool
    mount: str | None
    total: int | None
    free: int | None


@dataclass(frozen=True)
class MachineInfo:
    """Static facts: what this box is. Notices explain what could not be probed."""

    hostname: str
    os: str
    cpu: CpuInfo
    ram_total: int
    swap_total: int
    gpus: tuple[GpuInfo, ...]
    disks: tuple[DiskInfo, ...]
    notices: tuple[str, ...] = ()
    ram_bandwidth: float | None = None  # bytes/s, only once measured (here or earlier, from the cache)
    ram_bandwidth_measured_at: str = ""  # when that figure was measured, ISO 8601
    no_gpu_reason: str = ""  # with no usable GPU: why, in one line ("no NVIDIA driver (no nvidia-smi); ...")
    gpu_notices: tuple[str, ...] = ()  # the notices that only say why there is no GPU (also in `notices`)


@dataclass(frozen=True)
class SystemSample:
    """One live reading of the whole machine."""

    timestamp: float
    cpu_percent: float
    per_cpu_percent: tuple[float, ...]
    ram_used: int
    ram_available: int
    ram_total: int
    swap_used: int
    swap_total: int
    load_avg: tuple[float, float, float] | None
    gpus: tuple[GpuSample, ...]
    notices: tuple[str, ...] = ()  # e.g. "GPU 1 is no longer reachable: ..."


@dataclass(frozen=True)
class BandwidthResult:
    bytes_per_second: float
    buffer_bytes: int
    seconds: float
    method: str = field(default="numpy copy")
    measured_at: str = ""  # local date and time, ISO 8601, once measured (kept with the cached figure)


def to_jsonable(obj: Any) -> Any:
    """Dataclasses to plain JSON types (tuples become lists)."""
    if hasattr(obj, "__dataclass_fields__"):
        return {k: to_jsonable(v) for k, v in asdict(obj).items()}
    if isinstance(obj, dict):
        return {k: to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    return obj
