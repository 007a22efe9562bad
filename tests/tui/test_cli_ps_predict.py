"""`llamadeck ps --predict` against the fake Ollama: predicted beside actual, and the setting named.

Each case plays a server that runs with some settings ("truth": what the
fake reports in /api/ps is what Ollama's rules give for them) while llamadeck
believes others ("assumed": what it could read). The output must show both
lines and name the setting that differs. A fake NVML card plays this machine.
"""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import cli.main as cli
from cli import ps
from core.config import HostConfig, Settings
from core.facts.ollama import facts_from_show
from core.hardware.probe import HardwareProbe
from core.ollama.server_settings import OllamaServerSettings, settings_from_env
from core.ollama.types import ShowInfo
from core.planner.ollama_load import OllamaPrediction, predict_load
from core.planner.types import GpuSpec, MachineSpec
from tests.fakes.fake_nvml import FakeGpu, FakeNvml, GiB
from tests.fakes.fake_ollama import FakeOllama

NAME = "qwen3:8b"
DESKTOP = 1 * GiB  # what other programs hold on the card


def simulate(fake: FakeOllama, card_gib: int, truth: OllamaServerSettings,
             params: dict[str, Any]) -> OllamaPrediction:
    """Load NAME the way a server with `truth` would, and make the fake report it."""
    model = fake.find(NAME)
    assert model is not None
    model.parameters = params
    facts = facts_from_show(model.name, model.show())
    show = ShowInfo(name=NAME, parameters=model.parameters_text())
    settings = truth.with_model_options(dict(show.parameter_list), "the Modelfile")
    gpu = GpuSpec("GPU0", card_gib * GiB - DESKTOP, 1e12, 100.0)
    machine = MachineSpec((gpu,), 64 * GiB, 60e9, 1.0)
    loaded = predict_load(facts, machine, settings, vram_total=card_gib * GiB)
    assert loaded.error is None
    fake.set_running(NAME, size=loaded.size, size_vram=loaded.size_vram, context_length=loaded.num_ctx)
    return loaded


def run(fake: FakeOllama, tmp_path: Path, card_gib: int, assumed: OllamaServerSettings,
        loaded: OllamaPrediction, *extra: str) -> str:
    nvml = FakeNvml([FakeGpu(memory_total=card_gib * GiB, memory_used=DESKTOP + loaded.size_vram)])
    probe = HardwareProbe(nvml=nvml, sysfs_root=tmp_path / "sys")
    args = cli.build_parser("ps").parse_args(["ps", "--predict", "--host", fake.url, *extra])
    out = io.StringIO()

    def reader(host: HostConfig) -> OllamaServerSettings:
        return assumed

    try:
        assert ps.run(args, Settings(), probe=probe, read_settings=reader, out=out) == 0
    finally:
        probe.close()
    return out.getvalue()


def env(**values: str) -> OllamaServerSettings:
    return settings_from_env(values, "the server's environment")


CASES = {
    # setting: (card GiB, the server's truth, what llamadeck assumed, Modelfile parameters, expected words)
    "OLLAMA_CONTEXT_LENGTH": (16, env(OLLAMA_CONTEXT_LENGTH="8192"), env(), {},
                              ["Context 8192, not 4096", "OLLAMA_CONTEXT_LENGTH is not set"]),
    "OLLAMA_NUM_PARALLEL": (16, env(OLLAMA_NUM_PARALLEL="2"), env(), {},
                            ["OLLAMA_NUM_PARALLEL=2 (assumed 1"]),
    "OLLAMA_KV_CACHE_TYPE": (16, env(OLLAMA_CONTEXT_LENGTH="16384", OLLAMA_KV_CACHE_TYPE="q4_0"),
                             env(OLLAMA_CONTEXT_LENGTH="16384"), {},
                             ["OLLAMA_KV_CACHE_TYPE=q4_0 (assumed f16"]),
    "OLLAMA_FLASH_ATTENTION": (16, env(OLLAMA_KV_CACHE_TYPE="q8_0"),
                               env(OLLAMA_KV_CACHE_TYPE="q8_0", OLLAMA_FLASH_ATTENTION="0"), {},
                               ["fails to load", "OLLAMA_FLASH_ATTENTION"]),
    "OLLAMA_GPU_OVERHEAD": (24, env(OLLAMA_GPU_OVERHEAD=str(2 * GiB)), env(), {},
                            ["Context 4096, not 32768", "OLLAMA_GPU_OVERHEAD lowers it"]),
    "num_gpu": (16, env(), env(), {"num_gpu": 12}, ["-ngl 12", "As predicted."]),
    "num_ctx": (16, env(OLLAMA_CONTEXT_LENGTH="8192"), env(OLLAMA_CONTEXT_LENGTH="8192"), {"num_ctx": 2048},
                ["-c 2048", "As predicted."]),
    "LLAMA_ARG_FIT_TARGET": (16, replace(env(OLLAMA_CONTEXT_LENGTH="40960"), fit_target_mib=6144),
                             env(OLLAMA_CONTEXT_LENGTH="40960"), {},
                             ["not 100% GPU", "LLAMA_ARG_FIT_TARGET=1024"]),
}


@pytest.mark.parametrize("setting", list(CASES))
def test_ps_predict_names_the_setting(setting: str, fake_ollama: FakeOllama, tmp_path: Path) -> None:
    card, truth, assumed, params, words = CASES[setting]
    loaded = simulate(fake_ollama, card, truth, params)
    out = run(fake_ollama, tmp_path, card, assumed, loaded)
    assert "predicted" in out and "actual" in out
    for word in words:
        assert word in out, out


def test_the_vram_default_is_predicted_and_matches(fake_ollama: FakeOllama, tmp_path: Path) -> None:
    loaded = simulate(fake_ollama, 24, env(), {})
    out = run(fake_ollama, tmp_path, 24, env(), loaded)
    assert loaded.num_ctx == 32768  # a 24 GiB card: Ollama's 32k tier
    predicted = next(line for line in out.splitlines() if line.startswith("predicted"))
    assert predicted.split()[-1] == "32768" and "As predicted." in out


def test_ps_predict_json_keeps_the_list(fake_ollama: FakeOllama, tmp_path: Path) -> None:
    loaded = simulate(fake_ollama, 16, env(OLLAMA_NUM_PARALLEL="2"), {})
    data = json.loads(run(fake_ollama, tmp_path, 16, env(), loaded, "--json"))
    entry = data[0]
    assert entry["name"] == NAME and entry["size"] == loaded.size  # the ps fields, unchanged
    assert entry["predicted"]["size"] < entry["size"] and entry["predicted"]["num_parallel"] == 1
    assert any("OLLAMA_NUM_PARALLEL=2" in d for d in entry["differences"])
    names = {s["name"]: s for s in entry["server_settings"]}
    assert names["OLLAMA_NUM_PARALLEL"]["source"] == "Ollama's default"
