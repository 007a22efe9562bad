"""Why a GPU is not used: no driver, a module not loaded, no ROCm runtime, a gfx version Ollama lacks.

Read once with the static facts. For the NVIDIA side NVML's own failure says
most (`NvidiaGpus.reason`); these add what a user checks next: is
`nvidia-smi` on the PATH, is a GPU on the PCI bus at all, is an AMD card
driven by amdgpu, is a ROCm runtime installed (Ollama's own or the
system's), and which gfx target each AMD card is (Ollama's ROCm build
supports a fixed list; others need HSA_OVERRIDE_GFX_VERSION).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

NVIDIA_VENDOR = "0x10de"
AMD_VENDOR = "0x1002"

# Where a ROCm runtime (libamdhip64) lives: Ollama's own ROCm bundle, then the system's.
ROCM_LIB_DIRS = (
    Path("/usr/lib/ollama/rocm"), Path("/usr/local/lib/ollama/rocm"), Path("/usr/lib/ollama"),
    Path("/usr/local/lib/ollama"), Path("/opt/rocm/lib"), Path("/usr/lib/x86_64-linux-gnu"),
    Path("/usr/lib64"), Path("/usr/lib"),
)
# The gfx targets Ollama's ROCm build ships kernels for (docs/gpu.md, ROCm 6).
OLLAMA_ROCM_GFX = frozenset({
    "gfx900", "gfx906", "gfx908", "gfx90a", "gfx940", "gfx941", "gfx942", "gfx1010", "gfx1012",
    "gfx1030", "gfx1100", "gfx1101", "gfx1102", "gfx1151", "gfx1200", "gfx1201",
})


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""


def rocm_runtime_found(dirs: Sequence[Path] = ROCM_LIB_DIRS) -> bool:
    for folder in dirs:
        try:
            if any(folder.glob("libamdhip64.so*")):
                return True
        except OSError:
            continue
    return False


def gfx_name(version: int) -> str:
    """KFD's `gfx_target_version` as the gfx name: 110000 -> gfx1100, 90010 -> gfx90a."""
    major, minor, step = version // 10000, (version // 100) % 100, version % 100
    return f"gfx{major}{minor:x}{step:x}"


def gfx_targets(sysfs_root: Path) -> tuple[str, ...]:
    """The gfx target of each GPU node the ROCm kernel driver (KFD) lists, in node order."""
    nodes = sysfs_root / "class" / "kfd" / "kfd" / "topology" / "nodes"
    try:
        folders = sorted(nodes.iterdir(), key=lambda p: int(p.name) if p.name.isdigit() else 0)
    except OSError:
        return ()
    found = []
    for node in folders:
        for line in _read(node / "properties").splitlines():
            key, _, value = line.partition(" ")
            if key == "gfx_target_version" and value.strip().isdigit() and int(value) > 0:
                found.append(gfx_name(int(value)))
    return tuple(found)


def pci_gpus(sysfs_root: Path) -> tuple[tuple[str, str], ...]:
    """(vendor id, bound driver or "") of each display controller on the PCI bus."""
    devices = sysfs_root / "bus" / "pci" / "devices"
    try:
        entries = sorted(devices.iterdir())
    except OSError:
        return ()
    found = []
    for device in entries:
        if not _read(device / "class").startswith("0x03"):
            continue
        driver = device / "driver"
        bound = driver.resolve().name if driver.exists() else ""
        found.append((_read(device / "vendor").lower(), bound))
    return tuple(found)


def no_gpu_reason(nvidia_reason: str, sysfs_root: Path,
                  which: Callable[[str], str | None] = shutil.which) -> str:
    """One short line: why no GPU is usable here (`nvidia_reason` is NVML's, from NvidiaGpus.reason)."""
    on_bus = pci_gpus(sysfs_root)
    nvidia_cards = [driver for vendor, driver in on_bus if vendor == NVIDIA_VENDOR]
    amd_cards = [driver for vendor, driver in on_bus if vendor == AMD_VENDOR]
    if nvidia_reason == "no driver library":
        nvidia = "no NVIDIA driver (no nvidia-smi)" if which("nvidia-smi") is None \
            else "nvidia-smi found but not libnvidia-ml"
    else:
        nvidia = nvidia_reason or "NVML sees no NVIDIA GPU"
    if nvidia_cards and not any(nvidia_cards):
        nvidia += "; an NVIDIA card is on the PCI bus with no driver bound"
    if amd_cards:
        drivers = sorted({d or "no driver" for d in amd_cards})
        amd = f"AMD GPU found, driven by {', '.join(drivers)} (not amdgpu)"
    else:
        amd = "no AMD GPU"
    return f"{nvidia}; {amd}"
