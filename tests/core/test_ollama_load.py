"""What Ollama will load (core.planner.ollama_load): one test per server or Modelfile setting.

The models are the fake Ollama's, read the way the app reads them (their
/api/show answer). Expectations follow Ollama's rules (v0.32.15, cited in
the module), not the numbers the code prints: KV doubles with the slots,
q8_0 holds 34/32 bytes where f16 holds 2, fit leaves its target free.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from core.facts.ollama import facts_from_show
from core.facts.types import ModelFacts
from core.ollama.server_settings import OllamaServerSettings, settings_from_env
from core.ollama.types import RunningModel, ShowInfo
from core.planner.ollama_explain import explain_difference
from core.planner.ollama_load import OllamaPrediction, default_context, predict_load
from core.planner.types import GpuSpec, MachineSpec
from tests.fakes.fake_ollama_models import FakeModel, demo_models

GIB = 1024**3
MIB = 1024**2


def model(name: str, **changes: object) -> FakeModel:
    m = next(m for m in demo_models() if m.name == name)
    for k, v in changes.items():
        setattr(m, k, v)
    return m


def facts(name: str = "qwen3:8b", **changes: object) -> ModelFacts:
    m = model(name, **changes)
    return facts_from_show(m.name, m.show())


def machine(*gib: float, ram: float = 64) -> MachineSpec:
    gpus = tuple(GpuSpec(f"GPU{i} test", int(g * GIB), 500e9, 100.0) for i, g in enumerate(gib))
    return MachineSpec(gpus, int(ram * GIB), 60e9, 1.0)


def env(**values: str) -> OllamaServerSettings:
    return settings_from_env(values, "the test's environment")


# --------------------------------------------------------------------------- context


def test_ollama_context_length_sets_the_context_and_the_kv_follows() -> None:
    f, m = facts(), machine(24)
    four, eight = predict_load(f, m, env(OLLAMA_CONTEXT_LENGTH="4096")), predict_load(
        f, m, env(OLLAMA_CONTEXT_LENGTH="8192"))
    assert (four.num_ctx, eight.num_ctx) == (4096, 8192)
    assert eight.kv_cache == 2 * four.kv_cache  # one slot: KV cells = num_ctx
    assert eight.args[:2] == ("-c", "8192")
    assert "OLLAMA_CONTEXT_LENGTH=8192 (the test's environment)" in eight.reasons[0]


def test_the_context_is_capped_at_the_trained_one() -> None:
    f = facts()  # qwen3:8b, trained for 40960
    p = predict_load(f, machine(24), env(OLLAMA_CONTEXT_LENGTH="131072"))
    assert p.num_ctx == f.context_length == 40960


@pytest.mark.parametrize(("total_gib", "expected"), [
    (8, 4096), (23 - 1 / 1024, 4096), (23, 32768), (46.9, 32768), (47, 262144), (80, 262144)])
def test_the_default_context_goes_by_total_vram(total_gib: float, expected: int) -> None:
    assert default_context(int(total_gib * GIB), 0, 1) == expected


def test_the_vram_default_reaches_the_prediction() -> None:
    f = facts("llama3.2:latest")  # trained for 131072, so no cap below 256k... but 131072 caps 262144
    assert predict_load(f, machine(12), OllamaServerSettings()).num_ctx == 4096
    assert predict_load(f, machine(24), OllamaServerSettings()).num_ctx == 32768
    assert predict_load(f, machine(48), OllamaServerSettings()).num_ctx == f.context_length


def test_gpu_overhead_lowers_the_vram_tier_and_nothing_else() -> None:
    f = facts()
    plain = predict_load(f, machine(24), OllamaServerSettings())
    over = predict_load(f, machine(24), env(OLLAMA_GPU_OVERHEAD=str(2 * GIB)))
    assert (plain.num_ctx, over.num_ctx) == (32768, 4096)  # 24 - 2 GiB is under the 23 GiB tier
    pinned = env(OLLAMA_CONTEXT_LENGTH="8192")
    a = predict_load(f, machine(10), pinned)
    b = predict_load(f, machine(10), replace(pinned, gpu_overhead=4 * GIB))
    assert (a.size, a.size_vram, a.args) == (b.size, b.size_vram, b.args)  # not passed to llama-server


# --------------------------------------------------------------------------- slots, KV type, flash attention


def test_num_parallel_doubles_the_kv_cache_not_the_context() -> None:
    f, m = facts(), machine(24)
    one = predict_load(f, m, env(OLLAMA_CONTEXT_LENGTH="8192"))
    two = predict_load(f, m, env(OLLAMA_CONTEXT_LENGTH="8192", OLLAMA_NUM_PARALLEL="2"))
    assert two.num_ctx == one.num_ctx == 8192  # /api/ps context_length is per conversation
    assert two.kv_cache == 2 * one.kv_cache
    assert two.args[:4] == ("-c", "16384", "-np", "2")


def test_an_embedding_model_gets_one_slot() -> None:
    p = predict_load(facts(), machine(24), env(OLLAMA_NUM_PARALLEL="4"), capabilities=("embedding",))
    assert p.num_parallel == 1 and "embedding" in p.reasons[1]


@pytest.mark.parametrize(("kv", "bytes_per_element"), [("q8_0", 34 / 32), ("q4_0", 18 / 32)])
def test_kv_cache_type_shrinks_the_cache_by_its_element_size(kv: str, bytes_per_element: float) -> None:
    f, m = facts(), machine(24)
    f16 = predict_load(f, m, env(OLLAMA_CONTEXT_LENGTH="8192"))
    q = predict_load(f, m, env(OLLAMA_CONTEXT_LENGTH="8192", OLLAMA_KV_CACHE_TYPE=kv.upper()))
    assert q.kv_cache == pytest.approx(f16.kv_cache * bytes_per_element / 2, rel=1e-9)
    assert ("--cache-type-k", kv) == q.args[4:6]  # lower-cased, as llm/server.go does
    assert "--cache-type-k" not in f16.args  # not passed when unset


def test_a_quantized_kv_cache_needs_flash_attention() -> None:
    p = predict_load(facts(), machine(24), env(OLLAMA_KV_CACHE_TYPE="q8_0", OLLAMA_FLASH_ATTENTION="0"))
    assert p.error and "OLLAMA_FLASH_ATTENTION" in p.error
    auto = predict_load(facts(), machine(24), env(OLLAMA_KV_CACHE_TYPE="q8_0"))
    assert auto.error is None and auto.args[8:10] == ("--flash-attn", "auto")


@pytest.mark.parametrize(("value", "mode"), [(None, "auto"), ("1", "on"), ("true", "on"), ("0", "off"),
                                             ("false", "off"), ("yes", "on")])  # BoolWithDefault: junk = true
def test_flash_attention_setting(value: str | None, mode: str) -> None:
    s = env(OLLAMA_FLASH_ATTENTION=value) if value is not None else OllamaServerSettings()
    p = predict_load(facts(), machine(24), s)
    assert p.flash_attention == mode
    assert p.args[p.args.index("--flash-attn") + 1] == mode


def test_flash_attention_off_costs_memory_and_keeps_the_batch_small() -> None:
    f = facts()
    on = predict_load(f, machine(24), env(OLLAMA_CONTEXT_LENGTH="16384", OLLAMA_FLASH_ATTENTION="1"))
    off = predict_load(f, machine(24), env(OLLAMA_CONTEXT_LENGTH="16384", OLLAMA_FLASH_ATTENTION="0"))
    assert off.size > on.size  # the attention scores are materialised without it
    assert on.num_batch == 1024 and off.num_batch == 512  # automaticGenerationBatch: CUDA without FA
    small = predict_load(f, machine(8), env(OLLAMA_CONTEXT_LENGTH="16384", OLLAMA_FLASH_ATTENTION="0"))
    assert small.num_batch == 256  # an 8 GiB card, more than 4096 tokens


# --------------------------------------------------------------------------- placement: num_gpu, fit target


def test_num_gpu_in_the_modelfile_fixes_the_layers() -> None:
    m = model("qwen3:8b", parameters={"num_gpu": 10, "num_ctx": 4096})
    f = facts_from_show(m.name, m.show())
    show = ShowInfo(name=m.name, parameters=m.parameters_text())
    s = OllamaServerSettings().with_model_options(dict(show.parameter_list), "the Modelfile")
    p = predict_load(f, machine(24), s)
    assert p.args[-2:] == ("-ngl", "10")
    assert p.n_gpu_layers == 10 and 0 < p.size_vram < p.size
    assert p.processor.endswith("CPU/GPU")
    assert any("num_gpu 10 from the Modelfile" in r for r in p.reasons)
    cpu = predict_load(f, machine(24), replace(s, num_gpu=0))
    assert (cpu.size_vram, cpu.processor) == (0, "100% CPU")
    fit = predict_load(f, machine(24), replace(s, num_gpu=None))
    assert "-ngl" not in fit.args and fit.processor == "100% GPU"  # left to fit, which fits it all


def test_num_ctx_in_the_modelfile_wins_over_the_environment() -> None:
    m = model("qwen3:8b", parameters={"num_ctx": 2048})
    show = ShowInfo(name=m.name, parameters=m.parameters_text())
    s = env(OLLAMA_CONTEXT_LENGTH="8192").with_model_options(dict(show.parameter_list), "the Modelfile")
    p = predict_load(facts(), machine(24), s)
    assert p.num_ctx == 2048 and "the Modelfile" in p.reasons[0]


def test_fit_target_keeps_that_much_vram_free() -> None:
    f, m = facts(), machine(8)
    pinned = env(OLLAMA_CONTEXT_LENGTH="32768")
    default = predict_load(f, m, pinned)
    wide = predict_load(f, m, replace(pinned, fit_target_mib=3072))
    assert "-ngl" not in default.args and wide.env == (("LLAMA_ARG_FIT_TARGET", "3072"),)
    assert wide.n_gpu_layers < default.n_gpu_layers
    assert wide.size_vram <= 8 * GIB - 3072 * MIB < default.size_vram
    # the same buffers, elsewhere, plus llama.cpp's repacked copy of the weights that moved to RAM
    assert default.size <= wide.size <= default.size * 1.2


def test_sched_spread_uses_every_gpu() -> None:
    f = facts("llama3.2:latest")
    two = machine(24, 24)
    one = predict_load(f, two, OllamaServerSettings())
    spread = predict_load(f, two, env(OLLAMA_SCHED_SPREAD="1"))
    assert one.args[-2:] == ("--main-gpu", "0") and one.gpus_used == 1
    assert "--main-gpu" not in spread.args and spread.gpus_used == 2


# --------------------------------------------------------------------------- explaining a difference


def as_ps(p: OllamaPrediction, **changes: Any) -> RunningModel:
    base = RunningModel("qwen3:8b", p.size, p.size_vram, context_length=p.num_ctx)
    return replace(base, **changes)


def test_a_load_that_matches_needs_no_explanation() -> None:
    p = predict_load(facts(), machine(24), OllamaServerSettings())
    assert explain_difference(p, as_ps(p), OllamaServerSettings()) == []


@pytest.mark.parametrize(("server", "named"), [
    ({"OLLAMA_NUM_PARALLEL": "3"}, "OLLAMA_NUM_PARALLEL=3"),
    ({"OLLAMA_KV_CACHE_TYPE": "q4_0"}, "OLLAMA_KV_CACHE_TYPE=q4_0"),
])
def test_the_size_names_the_slots_or_cache_type_the_server_runs(server: dict[str, str], named: str) -> None:
    f, m = facts(), machine(24)
    assumed = env(OLLAMA_CONTEXT_LENGTH="16384")
    predicted = predict_load(f, m, assumed)
    real = predict_load(f, m, settings_from_env(server, "the server", base=assumed))
    sentences = explain_difference(predicted, as_ps(real), assumed)
    assert len(sentences) == 1 and named in sentences[0], sentences


def test_a_different_context_names_where_the_context_came_from() -> None:
    f, m = facts(), machine(24)
    assumed = env(OLLAMA_CONTEXT_LENGTH="8192")
    predicted = predict_load(f, m, assumed)
    real = predict_load(f, m, env(OLLAMA_CONTEXT_LENGTH="16384"))
    sentences = explain_difference(predicted, as_ps(real), assumed)
    assert "Context 16384, not 8192" in sentences[0] and "OLLAMA_CONTEXT_LENGTH=8192" in sentences[0]
    assert "the context explains it" in sentences[1]


def test_less_on_the_gpu_names_the_other_models_and_the_fit_target() -> None:
    f, m = facts(), machine(8)
    assumed = env(OLLAMA_CONTEXT_LENGTH="32768", OLLAMA_GPU_OVERHEAD=str(GIB))
    predicted = predict_load(f, m, assumed)
    crowded = predict_load(f, machine(5), assumed)
    other = RunningModel("llama3.2:latest", 3 * GIB, 3 * GIB)
    text = " ".join(explain_difference(predicted, as_ps(crowded), assumed, [other]))
    assert "llama3.2:latest held" in text and "LLAMA_ARG_FIT_TARGET=1024" in text
    assert "OLLAMA_GPU_OVERHEAD" in text and "does not move layers" in text


def test_a_failed_prediction_that_loaded_names_flash_attention() -> None:
    assumed = env(OLLAMA_KV_CACHE_TYPE="q8_0", OLLAMA_FLASH_ATTENTION="0")
    p = predict_load(facts(), machine(24), assumed)
    loaded = RunningModel("qwen3:8b", 6 * GIB, 6 * GIB, context_length=32768)
    sentences = explain_difference(p, loaded, assumed)
    assert "OLLAMA_FLASH_ATTENTION" in sentences[0]
