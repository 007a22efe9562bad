"""Why a loaded model runs entirely on the CPU, named for this machine's GPUs (NVIDIA or AMD).

Ollama loads every model on the CPU without a word when it finds no usable
GPU (its log says `no compatible GPUs were discovered`); `/api/ps` then shows
`size_vram == 0` and `ollama ps` "100% CPU". The causes differ by vendor:
Ollama without its CUDA build or a broken NVIDIA driver; for AMD, no ROCm
runtime, or a card whose gfx target Ollama's ROCm build has no kernels for.
One function, so the Models screen, the dashboard and `llamadeck ps` say the
same sentence. A partial split ("40%/60% CPU/GPU") is not flagged: that is
Ollama fitting a model too big for the card, on purpose.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.hardware.gpu_runtime import OLLAMA_ROCM_GFX
from core.hardware.types import GpuInfo
from core.ollama.types import RunningModel

# The override for each family whose nearest supported target is known (Ollama's docs/gpu.md).
GFX_OVERRIDES = {"gfx103": "10.3.0", "gfx110": "11.0.0", "gfx90": "9.0.0", "gfx120": "12.0.0"}


def cpu_fallback_diagnosis(running: Sequence[RunningModel], gpus: Sequence[GpuInfo], *, is_local: bool,
                           no_gpu_reason: str = "") -> str | None:
    """The sentence for models loaded entirely on the CPU, or None when none is (or the server is remote).

    Only a local server runs next to the GPUs the hardware probe sees.
    `no_gpu_reason` is `MachineInfo.no_gpu_reason`, said when there is no GPU at all.
    """
    names = [m.name for m in running if m.on_cpu_only]
    if not (is_local and names):
        return None
    subject = f"{', '.join(names)} {'runs' if len(names) == 1 else 'run'} entirely on the CPU"
    nvidia = [g for g in gpus if g.vendor == "nvidia"]
    amd = [g for g in gpus if g.vendor == "amd"]
    if nvidia:
        return (f"{subject} although this machine has an NVIDIA GPU. Ollama most likely logged "
                "`no compatible GPUs were discovered`: install its CUDA build (`ollama-cuda` on Arch), "
                "check the driver with `nvidia-smi`, then restart Ollama.")
    if amd:
        return f"{subject} although this machine has an AMD GPU. {amd_cause(amd)}"
    if no_gpu_reason:
        return f"{subject}: this machine has no usable GPU ({no_gpu_reason})."
    return None


def amd_cause(gpus: Sequence[GpuInfo]) -> str:
    """What keeps Ollama off these AMD cards, most likely first."""
    if any(g.rocm_runtime is False for g in gpus):
        return ("No ROCm runtime (libamdhip64) was found: install Ollama's ROCm build "
                "(ollama-linux-amd64-rocm.tgz, `ollama-rocm` on Arch) or ROCm itself, then restart Ollama.")
    for gpu in gpus:
        target = gpu.gfx_target
        if target and target not in OLLAMA_ROCM_GFX:
            override = next((v for prefix, v in GFX_OVERRIDES.items() if target.startswith(prefix)), None)
            fix = (f"start `ollama serve` with HSA_OVERRIDE_GFX_VERSION={override}" if override
                   else "no override is known for it; Vulkan (OLLAMA_VULKAN=1) may work")
            return (f"The {gpu.name} is {target}, which Ollama's ROCm build has no kernels for: "
                    f"{fix}, then restart Ollama.")
    return ("Ollama most likely logged `no compatible GPUs were discovered`: check `rocminfo`, and that "
            "the user running Ollama is in the `render` and `video` groups, then restart Ollama.")
