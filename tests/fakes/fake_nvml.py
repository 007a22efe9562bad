"""A fake `pynvml` module: the NVML boundary, for machines without an NVIDIA GPU.

It reuses the real module's constants, error classes (so `except
pynvml.NVMLError` and `exc.value` behave exactly as with a driver) and result
structs (`c_nvmlMemory_t`, `c_nvmlUtilization_t`, `nvmlFriendlyObject` for
processes). Like real NVML it refuses device calls before `nvmlInit`, returns
`str` for names/UUIDs/versions, milliwatts for power and a CUDA version such as
12040. Fault knobs reproduce what users hit: no library, no driver, a
driver/library mismatch after an update, a GPU falling off the bus, process
listing not permitted, fields a card does not support.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pynvml as _real

GiB = 2**30


@dataclass
class FakeProcess:
    pid: int | None
    used_memory: int | None  # None like NVML's NVML_VALUE_NOT_AVAILABLE (pynvml maps it to None)
    kind: str = "compute"  # "compute" | "graphics"


@dataclass
class FakeGpu:
    """One card, with real numbers by default (an RTX 4090)."""

    name: str = "NVIDIA GeForce RTX 4090"
    uuid: str = "GPU-4090-0000"
    memory_total: int = 24 * GiB
    memory_used: int = 1 * GiB
    bus_width: int = 384
    max_mem_clock: int = 10501  # MHz, as NVML reports it for 21 Gbps GDDR6X
    cc: tuple[int, int] = (8, 9)
    power_limit_mw: int = 450_000
    power_mw: int = 35_000
    util_gpu: int = 3
    util_memory: int = 1
    temperature: int = 41
    sm_clock: int = 210
    mem_clock: int = 405
    fan: int = 30
    pcie_max_gen: int = 4
    pcie_max_width: int = 16
    pcie_curr_gen: int = 1  # links train down at idle; the max is what the slot can do
    pcie_curr_width: int = 16
    processes: list[FakeProcess] = field(default_factory=list)
    not_supported: set[str] = field(default_factory=set)  # NVML function names that answer NOT_SUPPORTED
    lost: bool = False


def rtx_3090() -> FakeGpu:
    return FakeGpu(name="NVIDIA GeForce RTX 3090", uuid="GPU-3090-0001", memory_total=24 * GiB,
                   bus_width=384, max_mem_clock=9751, cc=(8, 6), power_limit_mw=350_000)


def h100_sxm() -> FakeGpu:
    """A datacenter card: HBM3, PCIe Gen5, and no fan for NVML to report."""
    return FakeGpu(name="NVIDIA H100 80GB HBM3", uuid="GPU-H100-0002", memory_total=80 * GiB,
                   bus_width=5120, max_mem_clock=2619, cc=(9, 0), power_limit_mw=700_000,
                   pcie_max_gen=5, not_supported={"nvmlDeviceGetFanSpeed"})


@dataclass(frozen=True)
class FakeHandle:
    index: int


class FakeNvml(ModuleType):
    """Pass an instance where code expects the `pynvml` module."""

    def __init__(
        self,
        gpus: Iterable[FakeGpu] = (),
        *,
        init_error: int | None = None,
        driver_version: str = "550.78",
        cuda_version: int = 12040,
        no_permission_processes: bool = False,
        missing: Iterable[str] = (),
        init_gate: threading.Event | None = None,
    ) -> None:
        super().__init__("pynvml")
        # A slow driver: nvmlInit waits until the test opens the gate (real inits
        # take from milliseconds to seconds without the persistence daemon).
        self.init_gate = init_gate
        self._missing = frozenset(missing)  # functions an older binding does not have
        for name in dir(_real):
            if name.startswith(("NVML_", "NVMLError", "NVMLLibraryMismatchError")):
                setattr(self, name, getattr(_real, name))
        self.gpus = list(gpus)
        self.init_error = init_error
        self.driver_version = driver_version
        self.cuda_version = cuda_version
        self.no_permission_processes = no_permission_processes
        self.initialised = 0  # NVML is reference counted: each nvmlInit needs an nvmlShutdown
        self.calls: Counter[str] = Counter()

    def __getattribute__(self, name: str) -> Any:
        if name != "_missing" and name in object.__getattribute__(self, "_missing"):
            raise AttributeError(f"module 'pynvml' has no attribute {name!r}")
        return object.__getattribute__(self, name)

    # ------------------------------------------------------------------ knobs

    def lose_gpu(self, index: int) -> None:
        """The GPU falls off the bus: every call on it now fails with GPU_IS_LOST."""
        self.gpus[index].lost = True

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _raise(code: int) -> None:
        raise _real.NVMLError(code)

    def _call(self, name: str) -> None:
        self.calls[name] += 1
        if not self.initialised:
            self._raise(_real.NVML_ERROR_UNINITIALIZED)

    def _gpu(self, name: str, handle: Any) -> FakeGpu:
        self._call(name)
        if not isinstance(handle, FakeHandle) or not 0 <= handle.index < len(self.gpus):
            self._raise(_real.NVML_ERROR_INVALID_ARGUMENT)
        gpu: FakeGpu = self.gpus[handle.index]
        if gpu.lost:
            self._raise(_real.NVML_ERROR_GPU_IS_LOST)
        if name in gpu.not_supported:
            self._raise(_real.NVML_ERROR_NOT_SUPPORTED)
        return gpu

    # ------------------------------------------------------------------ library

    def nvmlInit(self) -> None:
        self.calls["nvmlInit"] += 1
        if self.init_gate is not None and not self.init_gate.wait(30):
            self._raise(_real.NVML_ERROR_TIMEOUT)
        if self.init_error is not None:
            self._raise(self.init_error)
        self.initialised += 1

    def nvmlShutdown(self) -> None:
        self._call("nvmlShutdown")
        self.initialised -= 1

    def nvmlSystemGetDriverVersion(self) -> str:
        self._call("nvmlSystemGetDriverVersion")
        return self.driver_version

    def nvmlSystemGetCudaDriverVersion(self) -> int:
        self._call("nvmlSystemGetCudaDriverVersion")
        return self.cuda_version

    def nvmlSystemGetCudaDriverVersion_v2(self) -> int:
        self._call("nvmlSystemGetCudaDriverVersion_v2")
        return self.cuda_version

    def nvmlDeviceGetCount(self) -> int:
        self._call("nvmlDeviceGetCount")
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> FakeHandle:
        self._call("nvmlDeviceGetHandleByIndex")
        if not 0 <= index < len(self.gpus):
            self._raise(_real.NVML_ERROR_INVALID_ARGUMENT)
        if self.gpus[index].lost:
            self._raise(_real.NVML_ERROR_GPU_IS_LOST)
        return FakeHandle(index)

    # ------------------------------------------------------------------ static device facts

    def nvmlDeviceGetName(self, handle: Any) -> str:
        return self._gpu("nvmlDeviceGetName", handle).name

    def nvmlDeviceGetUUID(self, handle: Any) -> str:
        return self._gpu("nvmlDeviceGetUUID", handle).uuid

    def nvmlDeviceGetCudaComputeCapability(self, handle: Any) -> tuple[int, int]:
        return self._gpu("nvmlDeviceGetCudaComputeCapability", handle).cc

    def nvmlDeviceGetEnforcedPowerLimit(self, handle: Any) -> int:
        return self._gpu("nvmlDeviceGetEnforcedPowerLimit", handle).power_limit_mw

    def nvmlDeviceGetMemoryBusWidth(self, handle: Any) -> int:
        return self._gpu("nvmlDeviceGetMemoryBusWidth", handle).bus_width

    def nvmlDeviceGetMaxClockInfo(self, handle: Any, clock_type: int) -> int:
        gpu = self._gpu("nvmlDeviceGetMaxClockInfo", handle)
        if clock_type == _real.NVML_CLOCK_MEM:
            return gpu.max_mem_clock
        if clock_type in (_real.NVML_CLOCK_SM, _real.NVML_CLOCK_GRAPHICS):
            return 2520
        self._raise(_real.NVML_ERROR_INVALID_ARGUMENT)
        raise AssertionError("unreachable")

    def nvmlDeviceGetMaxPcieLinkGeneration(self, handle: Any) -> int:
        return self._gpu("nvmlDeviceGetMaxPcieLinkGeneration", handle).pcie_max_gen

    def nvmlDeviceGetMaxPcieLinkWidth(self, handle: Any) -> int:
        return self._gpu("nvmlDeviceGetMaxPcieLinkWidth", handle).pcie_max_width

    def nvmlDeviceGetCurrPcieLinkGeneration(self, handle: Any) -> int:
        return self._gpu("nvmlDeviceGetCurrPcieLinkGeneration", handle).pcie_curr_gen

    def nvmlDeviceGetCurrPcieLinkWidth(self, handle: Any) -> int:
        return self._gpu("nvmlDeviceGetCurrPcieLinkWidth", handle).pcie_curr_width

    # ------------------------------------------------------------------ live readings

    def nvmlDeviceGetMemoryInfo(self, handle: Any, version: int | None = None) -> Any:
        gpu = self._gpu("nvmlDeviceGetMemoryInfo", handle)
        return _real.c_nvmlMemory_t(total=gpu.memory_total, free=gpu.memory_total - gpu.memory_used,
                                    used=gpu.memory_used)

    def nvmlDeviceGetUtilizationRates(self, handle: Any) -> Any:
        gpu = self._gpu("nvmlDeviceGetUtilizationRates", handle)
        return _real.c_nvmlUtilization_t(gpu=gpu.util_gpu, memory=gpu.util_memory)

    def nvmlDeviceGetTemperature(self, handle: Any, sensor: int) -> int:
        gpu = self._gpu("nvmlDeviceGetTemperature", handle)
        if sensor != _real.NVML_TEMPERATURE_GPU:
            self._raise(_real.NVML_ERROR_INVALID_ARGUMENT)
        return gpu.temperature

    def nvmlDeviceGetPowerUsage(self, handle: Any) -> int:
        return self._gpu("nvmlDeviceGetPowerUsage", handle).power_mw

    def nvmlDeviceGetClockInfo(self, handle: Any, clock_type: int) -> int:
        gpu = self._gpu("nvmlDeviceGetClockInfo", handle)
        if clock_type == _real.NVML_CLOCK_MEM:
            return gpu.mem_clock
        if clock_type in (_real.NVML_CLOCK_SM, _real.NVML_CLOCK_GRAPHICS):
            return gpu.sm_clock
        self._raise(_real.NVML_ERROR_INVALID_ARGUMENT)
        raise AssertionError("unreachable")

    def nvmlDeviceGetFanSpeed(self, handle: Any) -> int:
        return self._gpu("nvmlDeviceGetFanSpeed", handle).fan

    def _processes(self, name: str, handle: Any, kind: str) -> list[Any]:
        gpu = self._gpu(name, handle)
        if self.no_permission_processes:
            self._raise(_real.NVML_ERROR_NO_PERMISSION)
        return [
            _real.nvmlFriendlyObject({"pid": p.pid, "usedGpuMemory": p.used_memory,
                                      "gpuInstanceId": 0xFFFFFFFF, "computeInstanceId": 0xFFFFFFFF})
            for p in gpu.processes if p.kind == kind
        ]

    def nvmlDeviceGetComputeRunningProcesses(self, handle: Any) -> list[Any]:
        return self._processes("nvmlDeviceGetComputeRunningProcesses", handle, "compute")

    def nvmlDeviceGetGraphicsRunningProcesses(self, handle: Any) -> list[Any]:
        return self._processes("nvmlDeviceGetGraphicsRunningProcesses", handle, "graphics")
