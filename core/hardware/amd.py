"""AMD GPUs from the amdgpu driver's sysfs files, so non-NVIDIA users are not left blank.

No library is needed: amdgpu exposes VRAM and busy percent as plain files
under /sys/class/drm/cardN/device, and temperature, power, fan and clocks
under its hwmon folder. Any file may be missing on a given kernel or card;
the matching field is then None.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from pathlib import Path

from core.hardware.gpu_runtime import ROCM_LIB_DIRS, gfx_targets, rocm_runtime_found
from core.hardware.types import GpuInfo, GpuSample

AMD_VENDOR = "0x1002"
PCI_IDS = (Path("/usr/share/hwdata/pci.ids"), Path("/usr/share/misc/pci.ids"), Path("/usr/share/pci.ids"))
_CARD = re.compile(r"card(\d+)$")


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None


def _read_int(path: Path) -> int | None:
    text = _read(path)
    if text is None:
        return None
    try:
        return int(text.split()[0], 0) if text else None
    except ValueError:
        return None


def pci_device_name(vendor: str, device: str, databases: Sequence[Path] = PCI_IDS) -> str | None:
    """The marketing name from the pci.ids database most distros ship, if any."""
    vendor, device = vendor.lower().removeprefix("0x"), device.lower().removeprefix("0x")
    for db in databases:
        try:
            lines = db.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        in_vendor = False
        for line in lines:
            if not line or line.startswith("#"):
                continue
            if not line.startswith("\t"):
                if in_vendor:
                    break
                in_vendor = line[:4].lower() == vendor
            elif in_vendor and not line.startswith("\t\t") and line[1:5].lower() == device:
                return line[5:].strip()
        return None
    return None


def _dpm_current_mhz(path: Path) -> int | None:
    """The clock marked `*` in pp_dpm_sclk/pp_dpm_mclk ("1: 1800Mhz *")."""
    text = _read(path)
    for line in (text or "").splitlines():
        if line.rstrip().endswith("*"):
            match = re.search(r"(\d+)\s*[Mm][Hh]z", line)
            if match:
                return int(match.group(1))
    return None


def _first_hwmon(device: Path) -> Path | None:
    try:
        return next(iter(sorted((device / "hwmon").glob("hwmon*"))), None)
    except OSError:
        return None


def _watts(microwatts: int | None) -> float | None:
    return microwatts / 1e6 if microwatts else None


class AmdGpus:
    """AMD cards under `<sysfs_root>/class/drm`, indexed after any NVIDIA GPUs."""

    def __init__(self, sysfs_root: Path = Path("/sys"), pci_ids: Sequence[Path] = PCI_IDS,
                 rocm_dirs: Sequence[Path] = ROCM_LIB_DIRS) -> None:
        self._root = sysfs_root
        self._rocm_dirs = rocm_dirs
        self._drm = sysfs_root / "class" / "drm"
        self._pci_ids = pci_ids
        self._devices: list[tuple[Path, Path | None]] = []
        self.infos: tuple[GpuInfo, ...] = ()

    def start(self, first_index: int = 0) -> None:
        try:
            numbered = [(int(m.group(1)), p) for p in self._drm.iterdir() if (m := _CARD.match(p.name))]
        except OSError:
            return  # no DRM at all (a container, a headless VM): nothing to report
        infos: list[GpuInfo] = []
        for _, card in sorted(numbered):
            device = card / "device"
            if (_read(device / "vendor") or "").lower() != AMD_VENDOR:
                continue
            total = _read_int(device / "mem_info_vram_total")
            if total is None:
                continue  # not driven by amdgpu (e.g. radeon), so no VRAM counters to show
            hwmon = _first_hwmon(device)
            self._devices.append((device, hwmon))
            infos.append(GpuInfo(
                index=first_index + len(infos),
                vendor="amd",
                name=self._name(device),
                uuid=_read(device / "unique_id") or None,
                memory_total=total,
                power_limit_w=_watts(_read_int(hwmon / "power1_cap")) if hwmon else None,
            ))
        if infos:  # what decides whether Ollama can use them (see core.planner.cpu_fallback)
            targets, rocm = gfx_targets(self._root), rocm_runtime_found(self._rocm_dirs)
            infos = [dataclasses.replace(info, rocm_runtime=rocm,
                                         gfx_target=targets[i] if i < len(targets) else None)
                     for i, info in enumerate(infos)]
        self.infos = tuple(infos)

    def _name(self, device: Path) -> str:
        product = _read(device / "product_name")
        if product:
            return product
        device_id = _read(device / "device") or "?"
        from_db = pci_device_name(AMD_VENDOR, device_id, self._pci_ids)
        return f"AMD {from_db}" if from_db else f"AMD GPU (PCI device {device_id})"

    def sample(self) -> tuple[tuple[GpuSample, ...], tuple[str, ...]]:
        samples, notices = [], []
        for info, (device, hwmon) in zip(self.infos, self._devices, strict=True):
            used = _read_int(device / "mem_info_vram_used")
            if used is None and not device.exists():
                sentence = f"GPU {info.index} ({info.name}) disappeared from sysfs; was the driver unloaded?"
                samples.append(GpuSample(index=info.index, memory_used=None, memory_total=info.memory_total,
                                         error=sentence))
                notices.append(sentence)
                continue
            samples.append(self._read_sample(info, device, hwmon, used))
        return tuple(samples), tuple(notices)

    def _read_sample(self, info: GpuInfo, device: Path, hwmon: Path | None, used: int | None) -> GpuSample:
        busy = _read_int(device / "gpu_busy_percent")
        mem_busy = _read_int(device / "mem_busy_percent")
        temp = power = cap = pwm = pwm_max = sclk = mclk = None
        if hwmon is not None:
            temp = _read_int(hwmon / "temp1_input")  # millidegrees, the "edge" sensor
            power = _read_int(hwmon / "power1_average")  # microwatts; newer kernels name it power1_input
            if power is None:
                power = _read_int(hwmon / "power1_input")
            cap = _read_int(hwmon / "power1_cap")
            pwm, pwm_max = _read_int(hwmon / "pwm1"), _read_int(hwmon / "pwm1_max")
            sclk, mclk = _read_int(hwmon / "freq1_input"), _read_int(hwmon / "freq2_input")  # Hz
        return GpuSample(
            index=info.index,
            memory_used=used,
            memory_total=_read_int(device / "mem_info_vram_total") or info.memory_total,
            util_gpu=None if busy is None else float(busy),
            util_memory=None if mem_busy is None else float(mem_busy),
            temperature_c=None if temp is None else temp / 1000,
            power_w=None if power is None else power / 1e6,
            power_limit_w=_watts(cap) or info.power_limit_w,
            sm_clock_mhz=round(sclk / 1e6) if sclk else _dpm_current_mhz(device / "pp_dpm_sclk"),
            mem_clock_mhz=round(mclk / 1e6) if mclk else _dpm_current_mhz(device / "pp_dpm_mclk"),
            fan_percent=round(pwm / pwm_max * 100, 1) if pwm is not None and pwm_max else None,
        )
