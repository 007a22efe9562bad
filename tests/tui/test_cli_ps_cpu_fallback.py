"""`llamadeck ps` says why a model runs at 100% CPU, with the cause for this machine's GPUs."""

from __future__ import annotations

import io
import json
from dataclasses import replace

import pytest

import cli.main as cli
from cli import ps
from core.config import Settings
from core.hardware.types import CpuInfo, GpuInfo, MachineInfo
from tests.fakes.fake_ollama import FakeOllama

GiB = 2**30
MODEL = "llama3.2:latest"


def machine(*gpus: GpuInfo, reason: str = "") -> MachineInfo:
    return MachineInfo("box", "Linux", CpuInfo("CPU", 8, 16, ("avx2",)), 64 * GiB, 0, gpus, (),
                       no_gpu_reason=reason)


NVIDIA = GpuInfo(0, "nvidia", "NVIDIA GeForce RTX 4090", None, 24 * GiB)
RX_7900 = GpuInfo(0, "amd", "AMD Radeon RX 7900 XTX", None, 24 * GiB, gfx_target="gfx1100")
RX_6600 = GpuInfo(0, "amd", "AMD Radeon RX 6600", None, 8 * GiB, gfx_target="gfx1032", rocm_runtime=True)


def run_ps(fake: FakeOllama, info: MachineInfo, *extra: str) -> str:
    args = cli.build_parser("ps").parse_args(["ps", "--host", fake.url, *extra])
    out = io.StringIO()
    assert ps.run(args, Settings(), probe=None, out=out, machine=lambda: info) == 0
    return out.getvalue()


@pytest.mark.parametrize(("info", "words"), [
    (machine(NVIDIA), ["although this machine has an NVIDIA GPU", "ollama-cuda", "nvidia-smi"]),
    (machine(replace(RX_7900, rocm_runtime=False)),
     ["although this machine has an AMD GPU", "No ROCm runtime", "ollama-rocm"]),
    (machine(RX_6600), ["AMD Radeon RX 6600 is gfx1032", "HSA_OVERRIDE_GFX_VERSION=10.3.0"]),
    (machine(reason="no NVIDIA driver (no nvidia-smi); no AMD GPU"), ["no usable GPU", "no nvidia-smi"]),
])
def test_ps_explains_a_model_at_100_percent_cpu(fake_ollama: FakeOllama, info: MachineInfo,
                                                words: list[str]) -> None:
    fake_ollama.set_running(MODEL, size_vram=0)
    out = run_ps(fake_ollama, info)
    assert "100% CPU" in out
    assert f"{MODEL} runs entirely on the CPU" in out
    for word in words:
        assert word in out, out


def test_ps_json_carries_the_diagnosis_and_a_gpu_model_gets_none(fake_ollama: FakeOllama) -> None:
    fake_ollama.set_running(MODEL, size_vram=0)
    fake_ollama.set_running("qwen3:8b")
    data = json.loads(run_ps(fake_ollama, machine(NVIDIA), "--json"))
    by_name = {entry["name"]: entry for entry in data}
    assert "NVIDIA GPU" in by_name[MODEL]["cpu_fallback"]
    assert "cpu_fallback" not in by_name["qwen3:8b"]


def test_ps_says_nothing_more_when_every_model_uses_the_gpu(fake_ollama: FakeOllama) -> None:
    fake_ollama.set_running(MODEL, size=4 * GiB, size_vram=4 * GiB)
    out = run_ps(fake_ollama, machine(NVIDIA))
    assert "100% GPU" in out and "entirely on the CPU" not in out
