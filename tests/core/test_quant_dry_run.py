"""The replay against the real tools: `llama-quantize --dry-run` and llama.cpp's own buffer sizes.

Hollow GGUFs (real shapes, no weights) of real architectures go through the
pinned llama.cpp build. Every tensor's type must match, so the file size is
exact; KV cache and compute buffers must match what `llama-fit-params`
projects for the CPU backend.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from core.facts.gguf import facts_from_gguf
from core.facts.quants import DEFAULT_QUANTS
from core.facts.types import ModelFacts
from core.planner.memory import compute_estimate, context_shape, graph_dims, kv_layout, runtime_settings
from core.planner.weights import tensor_types, weight_table
from tests.fakes.hollow_gguf import hollow_model
from tests.support.llamacpp import LlamaCppTools, ensure_tools
from tests.support.llamacpp_output import fit_params, parse_dry_run

pytestmark = pytest.mark.e2e

MODELS = ("llama-3.1-8b", "qwen2.5-0.5b", "gemma-3-4b", "qwen3-30b-a3b", "deepseek-r1")
MIB = 1024**2


@pytest.fixture(scope="module")
def tools() -> LlamaCppTools:
    return ensure_tools()


@pytest.fixture(scope="module")
def hollow(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, ModelFacts]]:
    root = tmp_path_factory.mktemp("hollow")
    out = {}
    for mid in MODELS:
        path = hollow_model(mid, root)
        out[mid] = (path, facts_from_gguf(path))
    return out


def dry_run(tools: LlamaCppTools, path: Path, quant: str) -> tuple[dict[str, str], float]:
    proc = subprocess.run(
        [str(tools.tool("llama-quantize")), "--dry-run", str(path), quant],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    report = parse_dry_run(proc.stdout + proc.stderr)
    return report.types, report.quant_mib


@pytest.mark.parametrize("model", MODELS)
def test_every_tensor_type_matches_llama_quantize(
    tools: LlamaCppTools, hollow: dict[str, tuple[Path, ModelFacts]], model: str
) -> None:
    path, facts = hollow[model]
    for quant in (*DEFAULT_QUANTS, "Q2_K_S", "IQ3_XS", "IQ2_S", "Q5_1", "Q4_1"):
        real, mib = dry_run(tools, path, quant)
        ours = {c.name: c.ggml_type for c in tensor_types(facts, quant, imatrix=False)}
        assert ours == real, quant
        assert weight_table(facts, quant, imatrix=False).tensor_bytes / MIB == pytest.approx(mib, abs=0.006)


@pytest.mark.parametrize(
    ("model", "ctx", "kv", "fa"),
    [
        ("llama-3.1-8b", 4096, "f16", "on"),
        ("llama-3.1-8b", 8192, "f16", "off"),
        ("llama-3.1-8b", 8192, "q4_0", "on"),
        ("gemma-3-4b", 32768, "f16", "on"),
        ("gemma-3-4b", 8192, "q8_0", "on"),
        ("qwen3-30b-a3b", 8192, "f16", "off"),
        ("deepseek-r1", 32768, "f16", "on"),
    ],
)
def test_kv_and_compute_match_llama_fit_params(
    tools: LlamaCppTools, hollow: dict[str, tuple[Path, ModelFacts]], model: str, ctx: int, kv: str, fa: str
) -> None:
    path, facts = hollow[model]
    real = fit_params(tools, path, ["-c", str(ctx), "-ctk", kv, "-ctv", kv, "-fa", fa])
    s = runtime_settings(facts, runtime="llama.cpp", ctx=ctx, kv_type=kv, flash_attn=fa == "on")
    shape = context_shape(facts, s)
    kv_mib = sum(kv_layout(facts, s).layer_bytes(shape)) / MIB
    if real.whole_mib:  # the verbose log was cut short every time: the projection, rounded down
        assert int(kv_mib) == real.kv
    else:
        assert kv_mib == pytest.approx(real.kv, abs=0.01)
    compute = compute_estimate(graph_dims(facts), shape, s, on_gpu=False, has_output=True).peak / MIB
    assert compute == pytest.approx(real.compute, abs=16)
