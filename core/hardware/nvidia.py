"""NVIDIA GPUs through NVML: static facts once, cheap live readings after.

NVML is initialised once and its device handles are kept, because a dashboard
samples every second and `nvmlInit` costs tens of milliseconds. Every NVML
failure a real machine produces is turned into a sentence the user can act on:
a missing library or driver means CPU-only mode, a lost GPU marks only that
GPU's reading, and a field one card does not support (fan speed on a
datacenter card) is simply None.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

from core.hardware.gpu_processes import ProcessNames
from core.hardware.types import GpuInfo, GpuProcess, GpuSample

# NVML error codes (stable across NVML versions; the module's own constants are
# used where it has them, these are the fallback for older bindings).
_ERR_NO_PERMISSION = 4
_ERR_DRIVER_NOT_LOADED = 9
_ERR_LIBRARY_NOT_FOUND = 12
_ERR_GPU_IS_LOST = 15
_ERR_RESET_REQUIRED = 16
_ERR_LIB_RM_VERSION_MISMATCH = 18
_ERR_GPU_NOT_FOUND = 28
_ERR_UNINITIALIZED = 1

# After one of these, nothing else about the device can be read this time, so
# the whole GpuSample carries an error instead of a row of None fields.
_DEVICE_FATAL_NAMES = {
    "NVML_ERROR_UNINITIALIZED": _ERR_UNINITIALIZED,
    "NVML_ERROR_DRIVER_NOT_LOADED": _ERR_DRIVER_NOT_LOADED,
    "NVML_ERROR_GPU_IS_LOST": _ERR_GPU_IS_LOST,
    "NVML_ERROR_RESET_REQUIRED": _ERR_RESET_REQUIRED,
    "NVML_ERROR_LIB_RM_VERSION_MISMATCH": _ERR_LIB_RM_VERSION_MISMATCH,
    "NVML_ERROR_GPU_NOT_FOUND": _ERR_GPU_NOT_FOUND,
}


def theoretical_bandwidth(bus_width_bits: int | None, max_mem_clock_mhz: int | None) -> float | None:
    """Peak memory bandwidth in bytes/s.

    NVML reports the memory clock so that the data rate per pin is twice it
    (an RTX 4090 says 10501 MHz for its 21 Gbps GDDR6X, an H100 SXM 2619 MHz
    for HBM3), hence the factor 2: 384-bit x 10501 MHz gives 1008 GB/s.
    """
    if not bus_width_bits or not max_mem_clock_mhz or bus_width_bits <= 0 or max_mem_clock_mhz <= 0:
        return None
    return bus_width_bits / 8 * max_mem_clock_mhz * 1e6 * 2


def cuda_version_text(version: int | None) -> str | None:
    """NVML encodes CUDA 12.4 as 12040."""
    if not version or version <= 0:
        return None
    return f"{version // 1000}.{(version % 1000) // 10}"


def _short_reason(nvml: Any, code: Any) -> str:
    """NVML's start-up failure in a few words (the full sentence is `NvidiaGpus.problem`)."""
    words = {
        "NVML_ERROR_LIBRARY_NOT_FOUND": (_ERR_LIBRARY_NOT_FOUND, "no driver library"),
        "NVML_ERROR_DRIVER_NOT_LOADED": (_ERR_DRIVER_NOT_LOADED, "NVIDIA kernel module not loaded"),
        "NVML_ERROR_LIB_RM_VERSION_MISMATCH": (_ERR_LIB_RM_VERSION_MISMATCH,
                                               "NVIDIA driver and module versions differ (reboot)"),
        "NVML_ERROR_NO_PERMISSION": (_ERR_NO_PERMISSION, "no permission to open /dev/nvidia*"),
    }
    for name, (fallback, text) in words.items():
        if code == getattr(nvml, name, fallback):
            return text
    return "NVML could not start"


def _text(value: Any) -> str:
    """Older bindings returned bytes where current ones return str."""
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


class NvidiaGpus:
    """The NVIDIA half of the hardware probe.

    `start()` initialises NVML and reads static facts; afterwards `problem`
    says why there are no NVIDIA GPUs (None when NVML simply works), and
    `absent` is True when there is no NVIDIA driver at all, which is normal
    on a CPU-only or AMD machine.
    """

    def __init__(self, nvml: ModuleType | None = None) -> None:
        self._nvml = nvml
        self._initialised = False
        self._closed = False
        self._handles: list[Any] = []
        self.infos: tuple[GpuInfo, ...] = ()
        self.notices: tuple[str, ...] = ()
        self.problem: str | None = None
        self.reason = ""  # `problem` in a few words, for a one-line status
        self.absent = False
        self._names = ProcessNames()
        self._fatal: frozenset[int] = frozenset()
        self._mismatch: type[BaseException] | None = None

    # ------------------------------------------------------------------ start / stop

    def start(self, first_index: int = 0) -> None:
        if self._closed:
            return
        nvml = self._nvml
        if nvml is None:
            try:
                nvml = importlib.import_module("pynvml")
            except ImportError as exc:
                self.problem = (
                    f"The Python module `pynvml` (package nvidia-ml-py) could not be imported ({exc}), "
                    "so NVIDIA GPUs cannot be read; reinstall it with `pip install nvidia-ml-py`."
                )
                self.reason = "the Python module pynvml is missing"
                return
            self._nvml = nvml
        self._fatal = frozenset(getattr(nvml, name, code) for name, code in _DEVICE_FATAL_NAMES.items())
        mismatch = getattr(nvml, "NVMLLibraryMismatchError", None)
        self._mismatch = mismatch if isinstance(mismatch, type) else None
        try:
            nvml.nvmlInit()
        except nvml.NVMLError as exc:
            self._explain_init_failure(exc)
            return
        self._initialised = True
        try:
            count = int(nvml.nvmlDeviceGetCount())
        except nvml.NVMLError as exc:
            self.problem = (f"NVML started but could not count the GPUs ({exc}); "
                            "check that `nvidia-smi` works.")
            self.reason = "NVML could not count the GPUs"
            return
        driver = self._system_text("nvmlSystemGetDriverVersion")
        cuda = self._cuda_version()
        infos, notices = [], []
        for i in range(count):
            info, notice = self._read_info(i, first_index + i, driver, cuda)
            infos.append(info)
            if notice:
                notices.append(notice)
        self.infos = tuple(infos)
        self.notices = tuple(notices)

    def _explain_init_failure(self, exc: Any) -> None:
        code = getattr(exc, "value", None)
        nvml = self._nvml
        self.reason = _short_reason(nvml, code)
        if code == getattr(nvml, "NVML_ERROR_LIBRARY_NOT_FOUND", _ERR_LIBRARY_NOT_FOUND):
            self.absent = True
            self.problem = "No NVIDIA driver library (libnvidia-ml.so.1) was found."
        elif code == getattr(nvml, "NVML_ERROR_DRIVER_NOT_LOADED", _ERR_DRIVER_NOT_LOADED):
            self.problem = (
                "The NVIDIA driver library is installed but the kernel driver is not loaded "
                "(NVML: Driver Not Loaded); load it with `sudo modprobe nvidia` or reboot, "
                "then check that `nvidia-smi` works."
            )
        elif code == getattr(nvml, "NVML_ERROR_LIB_RM_VERSION_MISMATCH", _ERR_LIB_RM_VERSION_MISMATCH):
            self.problem = (
                "The NVIDIA kernel module and the driver library have different versions, which "
                "happens right after a driver update; reboot, or reload the module "
                "(`sudo rmmod nvidia_uvm nvidia_drm nvidia_modeset nvidia && sudo modprobe nvidia`), "
                "to use the GPU again."
            )
        elif code == getattr(nvml, "NVML_ERROR_NO_PERMISSION", _ERR_NO_PERMISSION):
            self.problem = (
                "NVML was not allowed to open the GPU (Insufficient Permissions); check the "
                "permissions of /dev/nvidia* (your user may need to be in the `video` group)."
            )
        else:
            self.problem = f"NVML could not start ({exc}); check that `nvidia-smi` works."

    def close(self) -> None:
        if self._initialised and self._nvml is not None:
            self._initialised = False
            try:
                self._nvml.nvmlShutdown()
            except self._nvml.NVMLError:
                pass  # shutting down a library that already lost its driver has nothing left to undo
        self._closed = True

    # ------------------------------------------------------------------ static facts

    def _system_text(self, fn_name: str) -> str | None:
        value = self._field(fn_name)
        return None if value is None else _text(value)

    def _cuda_version(self) -> str | None:
        version = self._field("nvmlSystemGetCudaDriverVersion_v2")
        if version is None:
            version = self._field("nvmlSystemGetCudaDriverVersion")
        return cuda_version_text(version)

    def _read_info(self, nvml_index: int, index: int, driver: str | None,
                   cuda: str | None) -> tuple[GpuInfo, str | None]:
        nvml = self._nvml
        assert nvml is not None
        try:
            handle = nvml.nvmlDeviceGetHandleByIndex(nvml_index)
        except nvml.NVMLError as exc:
            self._handles.append(None)
            info = GpuInfo(index=index, vendor="nvidia", name=f"NVIDIA GPU {nvml_index}", uuid=None,
                           memory_total=0, driver_version=driver, cuda_version=cuda)
            return info, self._device_error(index, info.name, exc)
        self._handles.append(handle)
        try:
            name = self._field("nvmlDeviceGetName", handle)
            memory = self._field("nvmlDeviceGetMemoryInfo", handle)
            cc = self._field("nvmlDeviceGetCudaComputeCapability", handle)
            limit_mw = self._field("nvmlDeviceGetEnforcedPowerLimit", handle)
            gen = self._field("nvmlDeviceGetMaxPcieLinkGeneration", handle)
            if gen is None:
                gen = self._field("nvmlDeviceGetCurrPcieLinkGeneration", handle)
            width = self._field("nvmlDeviceGetMaxPcieLinkWidth", handle)
            if width is None:
                width = self._field("nvmlDeviceGetCurrPcieLinkWidth", handle)
            bus = self._field("nvmlDeviceGetMemoryBusWidth", handle)
            max_mem = self._field("nvmlDeviceGetMaxClockInfo", handle, nvml.NVML_CLOCK_MEM)
            uuid = self._field("nvmlDeviceGetUUID", handle)
        except nvml.NVMLError as exc:
            info = GpuInfo(index=index, vendor="nvidia", name=f"NVIDIA GPU {nvml_index}", uuid=None,
                           memory_total=0, driver_version=driver, cuda_version=cuda)
            return info, self._device_error(index, info.name, exc)
        info = GpuInfo(
            index=index,
            vendor="nvidia",
            name=_text(name) if name is not None else f"NVIDIA GPU {nvml_index}",
            uuid=None if uuid is None else _text(uuid),
            memory_total=int(memory.total) if memory is not None else 0,
            driver_version=driver,
            cuda_version=cuda,
            compute_capability=f"{cc[0]}.{cc[1]}" if cc is not None else None,
            power_limit_w=limit_mw / 1000 if limit_mw is not None else None,
            pcie_gen=None if gen is None else int(gen),
            pcie_width=None if width is None else int(width),
            memory_bus_width_bits=None if bus is None else int(bus),
            max_memory_clock_mhz=None if max_mem is None else int(max_mem),
            memory_bandwidth=theoretical_bandwidth(bus, max_mem),
        )
        return info, None

    # ------------------------------------------------------------------ live readings

    def sample(self) -> tuple[tuple[GpuSample, ...], tuple[str, ...]]:
        """One GpuSample per GpuInfo, same order; a GPU that fails carries `error`."""
        samples: list[GpuSample] = []
        notices: list[str] = []
        for info, handle in zip(self.infos, self._handles, strict=True):
            if self._closed:
                samples.append(GpuSample(index=info.index, memory_used=None, memory_total=info.memory_total,
                                         error="The hardware probe was closed."))
                continue
            if handle is None:
                samples.append(GpuSample(index=info.index, memory_used=None, memory_total=info.memory_total,
                                         error=f"GPU {info.index} ({info.name}) could not be opened."))
                continue
            try:
                sample, notice = self._read_sample(info, handle)
            except self._errors() as exc:
                sentence = self._device_error(info.index, info.name, exc)
                sample, notice = GpuSample(index=info.index, memory_used=None,
                                           memory_total=info.memory_total, error=sentence), sentence
            samples.append(sample)
            if notice:
                notices.append(notice)
        self._names.forget_unseen()
        return tuple(samples), tuple(notices)

    def _read_sample(self, info: GpuInfo, handle: Any) -> tuple[GpuSample, str | None]:
        nvml = self._nvml
        assert nvml is not None
        memory = self._field("nvmlDeviceGetMemoryInfo", handle)
        util = self._field("nvmlDeviceGetUtilizationRates", handle)
        temp = self._field("nvmlDeviceGetTemperature", handle, nvml.NVML_TEMPERATURE_GPU)
        power_mw = self._field("nvmlDeviceGetPowerUsage", handle)
        limit_mw = self._field("nvmlDeviceGetEnforcedPowerLimit", handle)
        sm = self._field("nvmlDeviceGetClockInfo", handle, nvml.NVML_CLOCK_SM)
        mem_clock = self._field("nvmlDeviceGetClockInfo", handle, nvml.NVML_CLOCK_MEM)
        fan = self._field("nvmlDeviceGetFanSpeed", handle)
        processes, notice = self._processes(info, handle)
        sample = GpuSample(
            index=info.index,
            memory_used=int(memory.used) if memory is not None else None,
            memory_total=int(memory.total) if memory is not None else info.memory_total,
            util_gpu=float(util.gpu) if util is not None else None,
            util_memory=float(util.memory) if util is not None else None,
            temperature_c=float(temp) if temp is not None else None,
            power_w=power_mw / 1000 if power_mw is not None else None,
            power_limit_w=limit_mw / 1000 if limit_mw is not None else info.power_limit_w,
            sm_clock_mhz=None if sm is None else int(sm),
            mem_clock_mhz=None if mem_clock is None else int(mem_clock),
            fan_percent=float(fan) if fan is not None else None,
            processes=processes,
        )
        return sample, notice

    def _processes(self, info: GpuInfo, handle: Any) -> tuple[tuple[GpuProcess, ...], str | None]:
        nvml = self._nvml
        assert nvml is not None
        found: dict[int, GpuProcess] = {}
        notice = None
        for kind, fn_name in (("compute", "nvmlDeviceGetComputeRunningProcesses"),
                              ("graphics", "nvmlDeviceGetGraphicsRunningProcesses")):
            fn = getattr(nvml, fn_name, None)
            if fn is None:
                continue
            try:
                rows = fn(handle)
            except nvml.NVMLError as exc:
                if exc.value in self._fatal:
                    raise
                if exc.value == getattr(nvml, "NVML_ERROR_NO_PERMISSION", _ERR_NO_PERMISSION):
                    notice = (f"Not allowed to list the processes using GPU {info.index} "
                              "(NVML: Insufficient Permissions); run llamadeck as the user that "
                              "started them, or as root, to see who holds the VRAM.")
                continue
            except self._mismatch_errors():
                continue  # bindings newer than the driver: the versioned call does not exist
            for row in rows:
                pid = getattr(row, "pid", None) or 0
                used = getattr(row, "usedGpuMemory", None)
                used = None if used is None else int(used)
                if pid in found and pid > 0:
                    old = found[pid]
                    if old.kind == kind and old.used_memory is not None and used is not None:
                        # MIG lists a process once per GPU instance it uses.
                        found[pid] = GpuProcess(info.index, pid, old.name, old.cmdline,
                                                old.used_memory + used, kind, old.user)
                    continue  # a C+G process is listed under compute only
                name, cmdline, user = self._names.describe(pid)
                key = pid if pid > 0 else -len(found) - 1
                found[key] = GpuProcess(info.index, pid, name, cmdline, used, kind, user)
        rows_sorted = sorted(found.values(), key=lambda p: -(p.used_memory or 0))
        return tuple(rows_sorted), notice

    # ------------------------------------------------------------------ error plumbing

    def _errors(self) -> tuple[type[BaseException], ...]:
        assert self._nvml is not None
        return (self._nvml.NVMLError, *self._mismatch_errors())

    def _mismatch_errors(self) -> tuple[type[BaseException], ...]:
        return () if self._mismatch is None else (self._mismatch,)

    def _field(self, fn_name: str, *args: Any) -> Any:
        """One NVML query, or None when this card or driver cannot answer it.

        Only errors that say the device itself is gone propagate; NOT_SUPPORTED,
        NO_PERMISSION on a single field, or a function missing from an older
        driver leave just that field empty.
        """
        nvml = self._nvml
        assert nvml is not None
        fn: Callable[..., Any] | None = getattr(nvml, fn_name, None)
        if fn is None:
            return None
        try:
            return fn(*args)
        except nvml.NVMLError as exc:
            if exc.value in self._fatal:
                raise
            return None
        except self._mismatch_errors():
            return None

    def _device_error(self, index: int, name: str, exc: BaseException) -> str:
        code = getattr(exc, "value", None)
        if code == getattr(self._nvml, "NVML_ERROR_GPU_IS_LOST", _ERR_GPU_IS_LOST):
            return (f"GPU {index} ({name}) stopped answering (NVML: GPU is lost); it may have "
                    "fallen off the bus or overheated. Check `sudo dmesg | grep -i xid`; "
                    "a reboot is usually needed.")
        if code == getattr(self._nvml, "NVML_ERROR_RESET_REQUIRED", _ERR_RESET_REQUIRED):
            return (f"GPU {index} ({name}) needs a reset (NVML: GPU requires restart); reboot, or run "
                    f"`sudo nvidia-smi --gpu-reset -i {index}` with nothing running on it.")
        return f"GPU {index} ({name}) could not be read (NVML: {exc})."
