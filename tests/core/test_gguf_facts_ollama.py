"""Facts from Ollama /api/show answers (model_info is the blob's GGUF metadata)."""

from __future__ import annotations

from typing import Any

import pytest

from core.errors import ModelFactsError
from core.facts import catalog
from core.facts.load import facts_from_ollama_show


def _show(model_info: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "modelfile": "# Modelfile", "parameters": "stop \"<|eot_id|>\"", "template": "{{ .Prompt }}",
        "details": {"format": "gguf", "family": model_info["general.architecture"], "parameter_size": "8.0B",
                    "quantization_level": "Q4_K_M"},
        "model_info": model_info, "capabilities": ["completion"], **extra,
    }


# What Ollama answers for llama3.1:8b (no verbose: the token arrays come back as null).
LLAMA31 = {
    "general.architecture": "llama", "general.basename": "Meta-Llama-3.1", "general.file_type": 15,
    "general.parameter_count": 8030261312, "general.quantization_version": 2,
    "llama.attention.head_count": 32, "llama.attention.head_count_kv": 8,
    "llama.attention.layer_norm_rms_epsilon": 1e-05, "llama.block_count": 32, "llama.context_length": 131072,
    "llama.embedding_length": 4096, "llama.feed_forward_length": 14336, "llama.rope.dimension_count": 128,
    "llama.rope.freq_base": 500000, "llama.vocab_size": 128256, "tokenizer.ggml.bos_token_id": 128000,
    "tokenizer.ggml.merges": None, "tokenizer.ggml.model": "gpt2", "tokenizer.ggml.pre": "llama-bpe",
    "tokenizer.ggml.token_type": None, "tokenizer.ggml.tokens": None,
}


def test_llama_show_gives_the_same_model_as_the_catalog() -> None:
    f = facts_from_ollama_show("llama3.1:8b", _show(LLAMA31))
    ref = catalog.facts("llama-3.1-8b")
    assert (f.source, f.architecture, f.file_type) == ("ollama", "llama", "Q4_K_M")
    assert f.n_params == 8030261312  # rope_freqs included, as in the real GGUF
    assert {(t.name, t.shape) for t in f.tensors} == {(t.name, t.shape) for t in ref.tensors}
    assert (f.n_layers, f.head_count_kv, f.context_length, f.vocab_size) == \
        (32, (8,) * 32, 131072, 128256)
    assert any("derived from its shape" in n for n in f.notices)


def _qwen2(n_layer: int, n_embd: int, n_head: int, n_kv: int, n_ff: int, count: int) -> dict[str, Any]:
    """Qwen2 GGUFs carry no vocab_size key: Ollama cannot say the vocabulary size."""
    return {"general.architecture": "qwen2", "general.parameter_count": count, "qwen2.block_count": n_layer,
            "qwen2.context_length": 32768, "qwen2.embedding_length": n_embd,
            "qwen2.feed_forward_length": n_ff,
            "qwen2.attention.head_count": n_head, "qwen2.attention.head_count_kv": n_kv,
            "qwen2.rope.freq_base": 1000000, "tokenizer.ggml.tokens": None}


@pytest.mark.parametrize(
    ("info", "vocab", "tied"),
    [
        (_qwen2(24, 896, 14, 2, 4864, 494032768), 151936, True),  # qwen2.5:0.5b
        (_qwen2(28, 3584, 28, 4, 18944, 7615616512), 152064, False),  # qwen2.5:7b
    ],
)
def test_missing_vocab_size_and_tying_are_recovered(info: dict[str, Any], vocab: int, tied: bool) -> None:
    f = facts_from_ollama_show("qwen", _show(info))
    assert (f.vocab_size, f.tied_embeddings) == (vocab, tied)
    assert f.n_params == info["general.parameter_count"]


def test_shape_outside_the_catalog_is_solved_from_the_parameter_count() -> None:
    # a 20-layer qwen2 nobody ships: no catalog twin; the count fits an untied 151936 vocabulary
    body = catalog.facts("qwen2.5-7b")
    per_layer = sum(t.n_elements for t in body.tensors if t.name.startswith("blk.0."))
    count = 20 * per_layer + 3584 + 2 * 3584 * 151936
    f = facts_from_ollama_show("custom", _show(_qwen2(20, 3584, 28, 4, 18944, count)))
    assert (f.vocab_size, f.tied_embeddings, f.n_params) == (151936, False, count)


def test_vocabulary_list_in_a_verbose_answer_is_used() -> None:
    info = _qwen2(24, 896, 14, 2, 4864, 0) | {"tokenizer.ggml.tokens": ["a"] * 1000}
    del info["general.parameter_count"]
    f = facts_from_ollama_show("x", _show(info))
    assert f.vocab_size == 1000


def test_listed_tensors_are_used_as_they_are() -> None:
    tensors = [{"name": "token_embd.weight", "type": "Q4_K", "shape": [4096, 128256]},
               {"name": "output_norm.weight", "type": "F32", "shape": [4096]},
               {"name": "blk.0.attn_q.weight", "type": "q6_k", "shape": [4096, 4096]}]
    f = facts_from_ollama_show("llama3.1:8b", _show(LLAMA31, tensors=tensors))
    assert [(t.name, t.ggml_type, t.n_bytes) for t in f.tensors] == [
        ("token_embd.weight", "Q4_K", 4096 * 128256 // 256 * 144),
        ("output_norm.weight", "F32", 4096 * 4),
        ("blk.0.attn_q.weight", "Q6_K", 4096 * 4096 // 256 * 210),
    ]
    assert not any("derived" in n for n in f.notices)


@pytest.mark.parametrize(
    ("show", "message"),
    [
        ({"details": {}}, "no model_info"),
        (_show({"general.architecture": "llama", "llama.block_count": 2}), "incomplete"),
        (_show({**LLAMA31, "general.architecture": "mamba"} | {
            k.replace("llama.", "mamba."): v for k, v in LLAMA31.items() if k.startswith("llama.")}),
         "cannot derive them for 'mamba'"),
        (_show(LLAMA31, tensors=[{"name": "x", "type": "Q9_Z", "shape": [1]}]), "does not read"),
    ],
)
def test_unusable_answers_are_sentences(show: dict[str, Any], message: str) -> None:
    with pytest.raises(ModelFactsError, match=message):
        facts_from_ollama_show("m", show)
