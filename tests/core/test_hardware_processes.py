"""Process records, runner naming, the top list, the no-GPU reason and the CPU-fallback diagnosis."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.hardware.gpu_runtime import gfx_name, gfx_targets, no_gpu_reason, rocm_runtime_found
from core.hardware.processes import ProcessRecord, label_runners, top_processes
from core.hardware.types import GpuInfo
from core.ollama.blobs import blob_names, blob_names_from_manifests, manifest_name
from core.ollama.types import RunningModel
from core.planner.cpu_fallback import cpu_fallback_diagnosis

HEX = "6a0746a1ec1aef3e7ec53868f220ff6e389f6f8ef87a01d77c96807de94ca2aa"
BLOB = f"/usr/share/ollama/.ollama/models/blobs/sha256-{HEX}"
GiB = 2**30


def proc(pid: int, name: str, argv: tuple[str, ...], rss: int = 0, cpu: float = 0.0) -> ProcessRecord:
    return ProcessRecord(pid, "ollama", name, argv, rss, cpu)


RUNNER = proc(10, "ollama", ("/usr/bin/ollama", "runner", "--model", BLOB, "--port", "1"), 5 * GiB, 390.0)
SERVER_V30 = proc(11, "llama-server", ("/usr/lib/ollama/llama-server", "-m", BLOB), 4 * GiB, 10.0)
PLAIN = proc(12, "llama-server", ("llama-server", "--model=/models/Qwen2.5-7B-Q4_K_M.gguf"), 3 * GiB)


def test_runners_are_told_apart_and_named_by_model() -> None:
    assert RUNNER.role == "ollama runner" and SERVER_V30.role == "llama-server"
    assert RUNNER.blob_digest == HEX == SERVER_V30.blob_digest
    assert proc(1, "ollama", ("ollama", "serve")).role == ""
    named = label_runners([RUNNER, SERVER_V30, PLAIN], {HEX: "llama3.2:3b"})
    assert [r.model for r in named] == ["llama3.2:3b", "llama3.2:3b", "Qwen2.5-7B-Q4_K_M.gguf"]


def test_top_processes_keeps_runners_and_the_biggest_of_ram_and_cpu() -> None:
    others = [proc(100 + i, f"p{i}", (f"p{i}",), rss=i * GiB // 10, cpu=float(50 - i)) for i in range(30)]
    top = top_processes([*others, RUNNER], count=6)
    assert len(top) == 6 and RUNNER in top
    assert top[0] == RUNNER  # largest RAM first
    assert others[0] in top  # the busiest CPU user is kept although it holds no RAM


def test_ollama_manifests_map_blobs_to_names(tmp_path: Path) -> None:
    manifest = tmp_path / "manifests" / "registry.ollama.ai" / "library" / "llama3.2" / "3b"
    manifest.parent.mkdir(parents=True)
    manifest.write_text(json.dumps({"layers": [
        {"mediaType": "application/vnd.ollama.image.model", "digest": f"sha256:{HEX}"},
        {"mediaType": "application/vnd.ollama.image.template", "digest": "sha256:" + "1" * 64}]}))
    assert blob_names_from_manifests(tmp_path) == {HEX: "llama3.2:3b"}
    assert manifest_name(Path("hf.co/bartowski/Qwen-GGUF/Q4_K_M")) == "hf.co/bartowski/Qwen-GGUF:Q4_K_M"
    api = RunningModel("qwen3:8b", 1, 0, digest="sha256:" + "2" * 64)
    assert blob_names([api], tmp_path) == {"2" * 64: "qwen3:8b", HEX: "llama3.2:3b"}


def test_the_no_gpu_reason_names_the_driver_and_what_is_on_the_bus(tmp_path: Path) -> None:
    assert no_gpu_reason("no driver library", tmp_path, which=lambda _: None) == \
        "no NVIDIA driver (no nvidia-smi); no AMD GPU"
    card = tmp_path / "bus" / "pci" / "devices" / "0000:01:00.0"
    card.mkdir(parents=True)
    (card / "class").write_text("0x030000\n")
    (card / "vendor").write_text("0x10de\n")
    reason = no_gpu_reason("NVIDIA kernel module not loaded", tmp_path, which=lambda _: "/usr/bin/nvidia-smi")
    assert reason.startswith("NVIDIA kernel module not loaded; an NVIDIA card is on the PCI bus")


def test_gfx_targets_and_rocm_runtime(tmp_path: Path) -> None:
    assert (gfx_name(110000), gfx_name(90010), gfx_name(100300)) == ("gfx1100", "gfx90a", "gfx1030")
    node = tmp_path / "class" / "kfd" / "kfd" / "topology" / "nodes" / "1"
    node.mkdir(parents=True)
    (node / "properties").write_text("cpu_cores_count 0\ngfx_target_version 100302\n")
    assert gfx_targets(tmp_path) == ("gfx1032",)
    assert not rocm_runtime_found([tmp_path])
    (tmp_path / "libamdhip64.so.6").write_text("")
    assert rocm_runtime_found([tmp_path])


ON_CPU = RunningModel("llama3.2:3b", 3 * GiB, 0)
NVIDIA = GpuInfo(0, "nvidia", "NVIDIA GeForce RTX 4090", None, 24 * GiB)


def amd(**fields: object) -> GpuInfo:
    return GpuInfo(0, "amd", "AMD Radeon RX 6600", None, 8 * GiB, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(("gpus", "reason", "expected"), [
    ((NVIDIA,), "", ("NVIDIA GPU", "ollama-cuda", "nvidia-smi")),
    ((amd(rocm_runtime=False, gfx_target="gfx1100"),), "", ("AMD GPU", "No ROCm runtime", "ollama-rocm")),
    ((amd(rocm_runtime=True, gfx_target="gfx1032"),), "", ("gfx1032", "HSA_OVERRIDE_GFX_VERSION=10.3.0")),
    ((amd(rocm_runtime=True, gfx_target="gfx1100"),), "", ("rocminfo", "render")),
    ((), "no NVIDIA driver (no nvidia-smi); no AMD GPU", ("no usable GPU", "no nvidia-smi")),
])
def test_cpu_fallback_is_explained_per_vendor(gpus: tuple[GpuInfo, ...], reason: str,
                                              expected: tuple[str, ...]) -> None:
    text = cpu_fallback_diagnosis([ON_CPU], gpus, is_local=True, no_gpu_reason=reason)
    assert text is not None and text.startswith("llama3.2:3b runs entirely on the CPU")
    for part in expected:
        assert part in text, text


def test_no_diagnosis_for_a_remote_server_or_a_model_on_the_gpu() -> None:
    assert cpu_fallback_diagnosis([ON_CPU], (NVIDIA,), is_local=False) is None
    assert cpu_fallback_diagnosis([RunningModel("a", 3, 3)], (NVIDIA,), is_local=True) is None


def test_the_nvidia_sentence_the_models_screen_shows() -> None:
    cpu = RunningModel(name="qwen3:8b", size=5_000, size_vram=0)
    split = RunningModel(name="llama3.3:70b", size=40_000, size_vram=20_000)
    gpu = RunningModel(name="llama3.2:latest", size=2_000, size_vram=2_000)
    notice = cpu_fallback_diagnosis([cpu, split, gpu], (NVIDIA,), is_local=True)
    assert notice is not None
    assert notice.startswith("qwen3:8b runs entirely on the CPU although this machine has an NVIDIA GPU.")
    assert "no compatible GPUs were discovered" in notice and "ollama-cuda" in notice
    assert cpu_fallback_diagnosis([split, gpu], (NVIDIA,), is_local=True) is None
    assert cpu_fallback_diagnosis([cpu], (), is_local=True) is None  # no GPU, no reason given
    two = cpu_fallback_diagnosis([cpu, cpu], (NVIDIA,), is_local=True)
    assert two is not None and two.startswith("qwen3:8b, qwen3:8b run entirely")
