"""The built-in catalog: every entry loads, and its shapes reproduce the published sizes."""

from __future__ import annotations

import math

import pytest

from core.errors import ModelFactsError
from core.facts import catalog
from core.facts.load import load_facts

ENTRIES = catalog.entries()


def _rounds_to(value: float, published: float) -> bool:
    """True when `value` rounded to the published figure's precision gives that figure."""
    digits = len(f"{published / 10 ** math.floor(math.log10(published)):.10g}".replace(".", ""))
    scale = 10 ** (math.floor(math.log10(published)) - digits + 1)
    return round(value / scale) * scale == pytest.approx(published)


def test_catalog_covers_the_models_people_run() -> None:
    ids = {e.id for e in ENTRIES}
    distills = [f"deepseek-r1-distill-{m}" for m in ("qwen-1.5b", "qwen-7b", "llama-8b", "qwen-14b",
                                                     "qwen-32b", "llama-70b")]
    for wanted in (*distills, "deepseek-r1", "llama-3.1-8b", "llama-3.3-70b", "qwen2.5-72b", "qwen3-30b-a3b",
                   "qwen3-235b-a22b", "mistral-7b", "gemma-2-9b", "gemma-3-27b"):
        assert wanted in ids
    assert len(ids) == len(ENTRIES)


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_parameter_count_matches_the_published_total(entry: catalog.CatalogEntry) -> None:
    f = catalog.facts(entry)
    error = abs(f.n_params / entry.published_params - 1)
    assert error <= 0.01 or _rounds_to(f.n_params, entry.published_params), (
        f"{entry.id}: {f.n_params:,} vs published {entry.published_params:,.0f}")
    assert f.source == "catalog" and f.known_architecture and not f.notices
    assert f.n_layers == len(f.head_count_kv) and f.context_length > 0 and f.vocab_size > 0


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.published_active_params], ids=lambda e: e.id)
def test_moe_active_parameters(entry: catalog.CatalogEntry) -> None:
    f = catalog.facts(entry)
    assert f.is_moe and f.n_params_active is not None
    # publishers differ on whether the embeddings count as "active": allow 3 %
    assert f.n_params_active == pytest.approx(entry.published_active_params, rel=0.03)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("deepseek-r1:32b", "deepseek-r1-distill-qwen-32b"), ("Qwen/Qwen2.5-7B-Instruct", "qwen2.5-7b"),
     ("LLAMA3.1:8B", "llama-3.1-8b"), ("qwen3:30b", "qwen3-30b-a3b"), ("Gemma 3 4B Instruct", "gemma-3-4b"),
     ("mistral:latest", "mistral-7b")],
)
def test_entries_are_found_by_tag_repo_and_name(name: str, expected: str) -> None:
    hit = catalog.find(name)
    assert hit is not None and hit.id == expected


def test_unknown_name_is_none_and_load_facts_suggests() -> None:
    assert catalog.find("llama-9") is None
    with pytest.raises(ModelFactsError, match="Did you mean") as err:
        load_facts("qwen2.5-7")
    assert "qwen2.5-7b" in str(err.value)


def test_load_facts_reads_the_catalog_without_network() -> None:
    f = load_facts("deepseek-r1:14b")
    assert (f.source, f.architecture, f.n_layers) == ("catalog", "qwen2", 48)


@pytest.mark.parametrize(
    ("entry", "layers", "swa", "window"),
    [("gemma-2-9b", 42, 21, 4096), ("gemma-3-27b", 62, 52, 1024), ("llama-3.1-8b", 32, 0, None)],
)
def test_sliding_window_layers(entry: str, layers: int, swa: int, window: int | None) -> None:
    f = catalog.facts(entry)
    assert (f.n_layers, sum(f.swa_layers), f.sliding_window) == (layers, swa, window)


def test_deepseek_mla_shape() -> None:
    f = catalog.facts("deepseek-r1")
    assert (f.architecture, f.n_layers, f.n_expert, f.n_expert_used) == ("deepseek2", 61, 256, 8)
    assert (f.kv_lora_rank, f.rope_dim, f.head_dim_k, f.head_dim_v) == (512, 64, 576, 512)
    assert f.head_count_kv == (1,) * 61
    names = {t.name for t in f.tensors}
    assert "blk.2.ffn_down.weight" in names and "blk.3.ffn_down_exps.weight" in names  # 3 dense layers lead


def test_tied_models_have_no_output_tensor() -> None:
    for entry in ("qwen2.5-0.5b", "llama-3.2-1b", "gemma-2-9b"):
        f = catalog.facts(entry)
        assert f.tied_embeddings and "output.weight" not in {t.name for t in f.tensors}
    assert not catalog.facts("qwen2.5-7b").tied_embeddings
