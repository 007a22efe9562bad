"""The tiny models and hollow GGUFs through the real converter and the real llama.cpp tools."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from core.facts import catalog
from core.facts.gguf import facts_from_gguf, facts_from_hf_dir
from tests.fakes.tiny_models import TINY_LLAMA, TinySpec, ensure_hf_model
from tests.support.llamacpp import LlamaCppTools

pytestmark = pytest.mark.e2e

K_TYPES = {"Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"}
MIB = 1 << 20


def _run(cmd: list[str | Path], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, check=False)


def test_converted_gguf_has_the_checkpoint_shapes(tiny_variant: tuple[TinySpec, Path]) -> None:
    spec, gguf_path = tiny_variant
    hf_dir = ensure_hf_model(spec)
    g, h = facts_from_gguf(gguf_path), facts_from_hf_dir(hf_dir)
    assert {(t.name, t.shape) for t in g.tensors} == {(t.name, t.shape) for t in h.tensors}
    for field in ("architecture", "n_params", "n_layers", "n_embd", "n_head", "head_count_kv", "head_dim_k",
                  "context_length", "vocab_size", "tied_embeddings"):
        assert getattr(g, field) == getattr(h, field), field
    assert g.file_type == "F16" and {t.ggml_type for t in g.tensors} == {"F16", "F32"}
    template = json.loads((hf_dir / "tokenizer_config.json").read_text())["chat_template"]
    assert g.chat_template == template
    assert g.head_count_kv == (spec.num_kv_heads,) * spec.num_layers


def test_llama_quantize_accepts_the_tiny_models(tiny_variant: tuple[TinySpec, Path], tmp_path: Path,
                                                llamacpp_tools: LlamaCppTools) -> None:
    spec, gguf_path = tiny_variant
    out = tmp_path / "q4km.gguf"
    proc = _run([llamacpp_tools.tool("llama-quantize"), gguf_path, out, "Q4_K_M", "2"])
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    q = facts_from_gguf(out)
    assert q.file_type == "Q4_K_M"
    assert q.n_params == facts_from_gguf(gguf_path).n_params
    quantised = {t.ggml_type for t in q.tensors if len(t.shape) > 1}
    if spec.hidden_size % 256 == 0 and spec.intermediate_size % 256 == 0:
        assert quantised <= K_TYPES, quantised
    else:  # no row is a whole number of 256-blocks: llama-quantize falls back to 32-blocks
        assert not quantised & K_TYPES, quantised
    data_end = max(t.n_bytes for t in q.tensors)
    assert q.file_size is not None and q.file_size >= data_end


def test_hollow_models_read_back_as_their_catalog_entry(hollow_models: dict[str, Path]) -> None:
    for name, path in hollow_models.items():
        f, ref = facts_from_gguf(path), catalog.facts(name)
        assert {(t.name, t.shape) for t in f.tensors} == {(t.name, t.shape) for t in ref.tensors}, name
        assert (f.n_params, f.swa_layers, f.head_count_kv, f.n_expert) == \
            (ref.n_params, ref.swa_layers, ref.head_count_kv, ref.n_expert), name
        assert path.stat().st_blocks * 512 < 1 * MIB, f"{name} is not sparse"


def test_llama_quantize_dry_run_reads_every_hollow_tensor(hollow_models: dict[str, Path],
                                                          llamacpp_tools: LlamaCppTools) -> None:
    for name, path in hollow_models.items():
        proc = _run([llamacpp_tools.tool("llama-quantize"), "--dry-run", path, "Q4_K_M"])
        log = proc.stdout + proc.stderr
        assert proc.returncode == 0, f"{name}: {log[-1500:]}"
        f = facts_from_gguf(path)
        listed = re.findall(r"^\[\s*\d+/\s*(\d+)\]", log, flags=re.M)
        assert listed and int(listed[0]) == len(f.tensors), name
        size = re.search(r"model size\s*=\s*([\d.]+) MiB", log)
        assert size is not None
        assert float(size.group(1)) == pytest.approx(sum(t.n_bytes for t in f.tensors) / MIB, abs=0.01), name


def test_llama_fit_params_loads_hollow_models_with_our_byte_counts(hollow_models: dict[str, Path],
                                                                   llamacpp_tools: LlamaCppTools) -> None:
    """llama.cpp loads every hollow architecture, and its host model buffer is our tensor total.

    `--fit-print on` prints the projection as "<device> <model> <context> <compute>" (MiB) on
    stdout and exits 0 even when the model does not fit this machine; `--no-repack` keeps
    CPU-repacked weights out of the way (they would be counted in a separate buffer).
    """
    for name, path in hollow_models.items():
        proc = _run([llamacpp_tools.tool("llama-fit-params"), "-m", path, "-c", "4096", "--no-repack",
                     "--fit-print", "on"])
        assert proc.returncode == 0, f"{name}: {proc.stderr[-1500:]}"
        host = re.search(r"^Host (\d+) (\d+) (\d+)", proc.stdout, flags=re.M)
        assert host is not None, f"{name}: {proc.stdout[-500:]}"
        weights = sum(t.n_bytes for t in facts_from_gguf(path).tensors) / MIB
        assert int(host.group(1)) == int(weights), name  # llama.cpp prints whole MiB, rounded down
        assert int(host.group(2)) > 0, f"{name}: no KV cache projected"


def test_tiny_hf_fixture_is_the_k_quant_variant(tiny_hf_model: Path, tiny_gguf_f16: Path) -> None:
    assert json.loads((tiny_hf_model / "config.json").read_text())["hidden_size"] == TINY_LLAMA.hidden_size
    assert facts_from_gguf(tiny_gguf_f16).n_params == facts_from_hf_dir(tiny_hf_model).n_params
