"""The hardware probe: what this machine is, and one live reading of it.

This is the one object the dashboard and `llamadeck hw` share, so they can
never disagree. Its contract is built for a screen that samples from a
thread every 0.25-10 s:

- `machine_info()` and `sample()` never raise. What could not be probed is
  said in `notices`; a GPU that cannot be read this time has `error` set.
- `sample().gpus` always has one entry per `machine_info().gpus`, in the same
  order and with the same `index`, so a screen can zip them.
- NVML is initialised once and kept; `close()` shuts it down.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import socket
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import TypeVar

import psutil

from core.config import Settings
from core.hardware.amd import AmdGpus
from core.hardware.bandwidth import measure_ram_bandwidth
from core.hardware.bandwidth_store import load_bandwidth, save_bandwidth
from core.hardware.cpu import CpuLoad, read_cpu_info
from core.hardware.disks import disks_info
from core.hardware.gpu_runtime import no_gpu_reason
from core.hardware.nvidia import NvidiaGpus
from core.hardware.processes import ProcessReader, ProcessRecord, ProcessSource
from core.hardware.types import BandwidthResult, CpuInfo, DiskInfo, GpuSample, MachineInfo, SystemSample

__all__ = ["HardwareProbe", "measure_ram_bandwidth"]

T = TypeVar("T")

CPU_ONLY = "llamadeck runs in CPU-only mode and models will run on the CPU."


def _os_name() -> str:
    try:
        pretty = platform.freedesktop_os_release().get("PRETTY_NAME")
    except OSError:
        pretty = None
    system = pretty or f"{platform.system()} {platform.version()}".strip()
    return f"{system} (kernel {platform.release()})" if platform.system() == "Linux" else system


def _guarded(what: str, read: Callable[[], T], fallback: T, notices: list[str]) -> T:
    """Last line of defence: a surprise from one probe becomes a notice, not a dead dashboard."""
    try:
        return read()
    except Exception as exc:
        notices.append(f"Reading {what} failed unexpectedly ({type(exc).__name__}: {exc}).")
        return fallback


class HardwareProbe:
    """Static facts once, live samples on demand; thread-safe."""

    def __init__(
        self,
        *,
        disk_paths: Sequence[tuple[str, Path]] = (),
        nvml: ModuleType | None = None,
        sysfs_root: Path = Path("/sys"),
        process_source: ProcessSource | None = None,
    ) -> None:
        self._disk_paths = tuple(disk_paths)
        self._sysfs_root = sysfs_root
        self._process_source: ProcessSource = process_source or ProcessReader()
        self._nvidia = NvidiaGpus(nvml)
        self._amd = AmdGpus(sysfs_root)
        self._cpu_load = CpuLoad()
        self._lock = threading.Lock()
        self._info: MachineInfo | None = None
        self._prefetch: threading.Thread | None = None
        self._closed = False

    @classmethod
    def from_settings(cls, settings: Settings, *, nvml: ModuleType | None = None,
                      process_source: ProcessSource | None = None) -> HardwareProbe:
        """The probe for the folders this user's models live in; nvml=None imports `pynvml` lazily."""
        paths: list[tuple[str, Path]] = [
            ("Ollama models", settings.ollama_models_dir),
            ("Hugging Face cache", settings.hf_cache_dir),
        ]
        paths.extend(("GGUF dir", d) for d in settings.gguf_dirs)
        return cls(disk_paths=paths, nvml=nvml, process_source=process_source)

    # ------------------------------------------------------------------ static

    def machine_info(self) -> MachineInfo:
        with self._lock:
            return self._machine_info()

    def prefetch(self) -> None:
        """Start reading the static facts in a background thread, once.

        NVML's init alone can take a few hundred milliseconds on a box without
        the persistence daemon. Started while the UI is still starting, it
        overlaps with that work, so the screen's own `machine_info()` call
        finds the facts ready or nearly so. A failure here is not lost: the
        facts are not cached, so that call meets it again and reports it.
        """
        if self._info is None and self._prefetch is None and not self._closed:
            thread = threading.Thread(target=self._prefetch_facts, name="llamadeck-probe", daemon=True)
            self._prefetch = thread
            thread.start()

    def known_machine_info(self, wait: float = 0.0) -> MachineInfo | None:
        """The static facts if they are read within `wait` seconds (default: already read).

        Waits only on the prefetch, never reads itself, and never raises.
        A short wait is worth it while the UI starts: the prefetch thread
        needs a couple of milliseconds of work but, competing for the GIL
        with a busy main thread, can take a hundred to finish; blocked in
        `join`, the main thread lets it run at once.
        """
        thread = self._prefetch
        if self._info is None and thread is not None and wait > 0:
            thread.join(wait)
        return self._info

    def _prefetch_facts(self) -> None:
        with self._lock:
            if self._closed:
                return
            try:
                self._machine_info()
            except Exception:
                pass  # not cached, so the next machine_info() meets it again and reports it

    def _machine_info(self) -> MachineInfo:
        if self._info is not None:
            return self._info
        notices: list[str] = []
        _guarded("the NVIDIA GPUs", self._nvidia.start, None, notices)
        _guarded("the AMD GPUs", lambda: self._amd.start(len(self._nvidia.infos)), None, notices)
        gpus = (*self._nvidia.infos, *self._amd.infos)
        gpu_notices = self._gpu_notices(bool(gpus))
        notices[:0] = [*gpu_notices, *self._nvidia.notices]
        reason = "" if gpus else _guarded("the GPU drivers", lambda: no_gpu_reason(
            self._nvidia.reason, self._sysfs_root), "no GPU found", notices)
        no_cpu: tuple[CpuInfo, tuple[str, ...]] = (CpuInfo("unknown CPU", None, os.cpu_count() or 1, ()), ())
        cpu, cpu_notices = _guarded("the CPU", read_cpu_info, no_cpu, notices)
        no_disks: tuple[tuple[DiskInfo, ...], tuple[str, ...]] = ((), ())
        disks, disk_notices = _guarded("free disk space", self._read_disks, no_disks, notices)
        vm = psutil.virtual_memory()
        swap = _guarded("swap", psutil.swap_memory, None, notices)
        measured = load_bandwidth()
        self._info = MachineInfo(
            hostname=socket.gethostname(),
            os=_os_name(),
            cpu=cpu,
            ram_total=int(vm.total),
            swap_total=int(swap.total) if swap is not None else 0,
            gpus=gpus,
            disks=disks,
            notices=(*notices, *cpu_notices, *disk_notices),
            ram_bandwidth=measured.bytes_per_second if measured else None,
            ram_bandwidth_measured_at=measured.measured_at if measured else "",
            no_gpu_reason=reason,
            gpu_notices=tuple(gpu_notices),
        )
        return self._info

    def remember_bandwidth(self, result: BandwidthResult) -> None:
        """A RAM bandwidth just measured: later `machine_info()` calls (and later runs) carry it.

        Raises HardwareError when it cannot be kept on disk; this probe keeps it all the same.
        """
        with self._lock:
            info = self._machine_info()
            self._info = dataclasses.replace(info, ram_bandwidth=result.bytes_per_second,
                                             ram_bandwidth_measured_at=result.measured_at)
        save_bandwidth(result)

    def _gpu_notices(self, any_gpu: bool) -> list[str]:
        nvidia = self._nvidia
        if nvidia.problem is None:
            if any_gpu:
                return []
            return [f"No GPU was found (NVML sees no NVIDIA GPU and sysfs shows no AMD GPU), so {CPU_ONLY}"]
        if nvidia.absent:
            # No NVIDIA driver on an AMD box is normal, not a problem worth a line.
            if any_gpu:
                return []
            return [f"{nvidia.problem[:-1]} and no AMD GPU is visible, so {CPU_ONLY} If this machine has an "
                    "NVIDIA GPU, install the NVIDIA driver and check that `nvidia-smi` works."]
        return [nvidia.problem if any_gpu else f"{nvidia.problem} Until then {CPU_ONLY}"]

    def disks(self) -> tuple[DiskInfo, ...]:
        """Free space now (machine_info() keeps the first reading); cheap enough for every few seconds."""
        return self._read_disks()[0]

    def _read_disks(self) -> tuple[tuple[DiskInfo, ...], tuple[str, ...]]:
        return disks_info(self._disk_paths)

    # ------------------------------------------------------------------ live

    def sample(self) -> SystemSample:
        with self._lock:
            info = self._machine_info()
            notices: list[str] = []
            gpus: list[GpuSample] = []
            for vendor, source, infos in (("NVIDIA", self._nvidia, self._nvidia.infos),
                                          ("AMD", self._amd, self._amd.infos)):
                if not infos:
                    continue
                broken: tuple[tuple[GpuSample, ...], tuple[str, ...]] = (tuple(
                    GpuSample(index=g.index, memory_used=None, memory_total=g.memory_total,
                              error=f"Reading the {vendor} GPUs failed.") for g in infos), ())
                samples, gpu_notices = _guarded(f"the {vendor} GPUs", source.sample, broken, notices)
                gpus.extend(samples)
                notices.extend(gpu_notices)
            idle: tuple[float, tuple[float, ...]] = (0.0, ())
            cpu_total, per_cpu = _guarded("CPU load", self._cpu_load.read, idle, notices)
            vm = psutil.virtual_memory()
            swap = _guarded("swap", psutil.swap_memory, None, notices)
            try:
                load: tuple[float, float, float] | None = os.getloadavg()
            except (OSError, AttributeError):
                load = None  # not on this platform
            return SystemSample(
                timestamp=time.time(),
                cpu_percent=cpu_total,
                per_cpu_percent=per_cpu,
                # total - available, not psutil's `used`: page cache the kernel can
                # drop is not memory a model load has to fight for.
                ram_used=int(vm.total - vm.available),
                ram_available=int(vm.available),
                ram_total=int(vm.total),
                swap_used=int(swap.used) if swap is not None else 0,
                swap_total=int(swap.total) if swap is not None else info.swap_total,
                load_avg=load,
                gpus=tuple(gpus),
                notices=tuple(notices),
            )

    def processes(self) -> list[ProcessRecord]:
        """Every process now, from the source this probe was given (psutil by default)."""
        return self._process_source()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._nvidia.close()
