"""Hugging Face config.json -> the GGUF metadata convert_hf_to_gguf.py would write.

The planner works on what llama.cpp will load, so an HF checkpoint (local or
on the Hub) and a catalog entry (stored as config.json values) are first
translated into the GGUF keys and tensor options the pinned converter
produces for that architecture. Unknown architectures are translated with the
generic llama-like rules and flagged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.facts.model_arch import TensorOptions

HF_ARCHS: dict[str, str] = {
    "LlamaForCausalLM": "llama",
    "MistralForCausalLM": "llama",
    "MixtralForCausalLM": "llama",
    "Qwen2ForCausalLM": "qwen2",
    "Qwen2MoeForCausalLM": "qwen2moe",
    "Qwen3ForCausalLM": "qwen3",
    "Qwen3MoeForCausalLM": "qwen3moe",
    "Gemma2ForCausalLM": "gemma2",
    "Gemma3ForCausalLM": "gemma3",
    "Gemma3ForConditionalGeneration": "gemma3",
    "DeepseekV2ForCausalLM": "deepseek2",
    "DeepseekV3ForCausalLM": "deepseek2",
}

# transformers' Gemma3TextConfig defaults: real gemma-3 configs leave these out.
_GEMMA3_DEFAULTS: dict[str, Any] = {
    "vocab_size": 262208, "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 256,
    "max_position_embeddings": 131072, "sliding_window": 4096, "rope_theta": 1_000_000.0,
    "tie_word_embeddings": True,
}
_TIED_BY_DEFAULT = {"gemma2", "gemma3"}
_DTYPES = {"bfloat16": "BF16", "float16": "F16", "float32": "F32"}


@dataclass(frozen=True)
class ConvertedConfig:
    """What the converter would make of a config.json."""

    architecture: str
    metadata: dict[str, Any]
    options: TensorOptions
    known: bool
    hf_architecture: str
    notices: tuple[str, ...] = ()


class ConfigError(ValueError):
    """config.json lacks a value the converter needs; the message names it."""


def text_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The language-model part of a (possibly multimodal) config."""
    arch_list = config.get("architectures") or [""]
    hf_arch = str(arch_list[0]) if isinstance(arch_list, list) and arch_list else ""
    merged = dict(config)
    inner = config.get("text_config")
    if isinstance(inner, Mapping):
        merged.update(inner)
    if HF_ARCHS.get(hf_arch) == "gemma3":
        merged = {**_GEMMA3_DEFAULTS, **merged}
    return merged


def _req(c: Mapping[str, Any], *keys: str) -> int:
    for k in keys:
        v = c.get(k)
        if isinstance(v, int) and not isinstance(v, bool):
            return v
    raise ConfigError(f"config.json has no {keys[0]}")


def convert_config(config: Mapping[str, Any]) -> ConvertedConfig:
    """GGUF metadata and tensor options for an HF config.json."""
    arch_list = config.get("architectures") or []
    hf_arch = str(arch_list[0]) if isinstance(arch_list, list) and arch_list else str(
        config.get("model_type", "unknown"))
    arch = HF_ARCHS.get(hf_arch)
    known = arch is not None
    notices: list[str] = []
    if arch is None:
        arch = str(config.get("model_type") or hf_arch or "unknown").lower()
        notices.append(f"{hf_arch or 'This architecture'} is not one llamadeck knows; "
                       "it is planned with generic rules.")
    c = text_config(config)
    p = f"{arch}."
    n_layer = _req(c, "num_hidden_layers", "n_layer", "num_layers")
    n_embd = _req(c, "hidden_size", "n_embd", "d_model")
    n_head = _req(c, "num_attention_heads", "n_head")
    n_head_kv = c.get("num_key_value_heads") or n_head
    head_dim = c.get("head_dim") or n_embd // n_head
    m: dict[str, Any] = {
        "general.architecture": arch,
        p + "block_count": n_layer,
        p + "embedding_length": n_embd,
        p + "attention.head_count": n_head,
        p + "attention.head_count_kv": n_head_kv,
        p + "vocab_size": _req(c, "vocab_size"),
    }
    if isinstance(c.get("intermediate_size"), int):
        m[p + "feed_forward_length"] = c["intermediate_size"]
    ctx = c.get("max_position_embeddings") or c.get("n_ctx") or c.get("max_sequence_length")
    if isinstance(ctx, int):
        m[p + "context_length"] = ctx
    if "head_dim" in c or arch in ("gemma2", "gemma3"):
        m[p + "attention.key_length"] = head_dim
        m[p + "attention.value_length"] = head_dim
    if isinstance(c.get("rope_theta"), (int, float)):
        m[p + "rope.freq_base"] = float(c["rope_theta"])
    m[p + "rope.dimension_count"] = head_dim
    notices += _experts(c, m, p)
    if arch in ("gemma2", "gemma3") and isinstance(c.get("sliding_window"), int) and (
            c.get("sliding_window_pattern") != 1):
        m[p + "attention.sliding_window"] = c["sliding_window"]
    if arch == "deepseek2":
        _deepseek(c, m, p)

    return ConvertedConfig(arch, m, _tensor_options(c, arch), known, hf_arch, tuple(notices))


def _experts(c: Mapping[str, Any], m: dict[str, Any], p: str) -> list[str]:
    """The mixture-of-experts keys, if the model has experts; a notice when some layers are dense."""
    n_experts = c.get("num_local_experts") or c.get("num_experts") or c.get("n_routed_experts")
    if not isinstance(n_experts, int) or n_experts <= 0:
        return []
    m[p + "expert_count"] = n_experts
    m[p + "expert_used_count"] = _req(c, "num_experts_per_tok")
    if isinstance(c.get("moe_intermediate_size"), int):
        m[p + "expert_feed_forward_length"] = c["moe_intermediate_size"]
    if isinstance(c.get("shared_expert_intermediate_size"), int):
        m[p + "expert_shared_feed_forward_length"] = c["shared_expert_intermediate_size"]
    if c.get("decoder_sparse_step", 1) != 1 or c.get("mlp_only_layers"):
        return ["Some layers of this model are dense, which the plan does not model."]
    return []


def _tensor_options(c: Mapping[str, Any], arch: str) -> TensorOptions:
    """What the converter decides about the tensors from the config: tied output, biases, dtype."""
    rope = c.get("rope_scaling") or {}
    rope_type = str(rope.get("rope_type") or rope.get("type") or "") if isinstance(rope, Mapping) else ""
    tied_default = arch in _TIED_BY_DEFAULT
    tied = bool(c.get("tie_word_embeddings", tied_default))
    bias = bool(c.get("attention_bias")) if "attention_bias" in c else None
    dtype = _DTYPES.get(str(c.get("torch_dtype") or c.get("dtype") or "bfloat16"), "BF16")
    return TensorOptions(
        tied_embeddings=tied,
        attn_bias=bias if arch not in ("qwen2", "qwen2moe") else True,
        rope_freqs=arch == "llama" and rope_type.lower() == "llama3",
        base_type=dtype,
    )


def _deepseek(c: Mapping[str, Any], m: dict[str, Any], p: str) -> None:
    """MLA is written as MQA with wide heads (head_count_kv = 1), as the converter does."""
    kv_lora = int(c.get("kv_lora_rank") or 512)
    rope = _req(c, "qk_rope_head_dim")
    nope = _req(c, "qk_nope_head_dim")
    m[p + "attention.head_count_kv"] = 1
    m[p + "attention.kv_lora_rank"] = kv_lora
    m[p + "attention.key_length"] = kv_lora + rope
    m[p + "attention.value_length"] = kv_lora
    m[p + "attention.key_length_mla"] = nope + rope
    m[p + "attention.value_length_mla"] = _req(c, "v_head_dim")
    m[p + "rope.dimension_count"] = rope
    if isinstance(c.get("q_lora_rank"), int):
        m[p + "attention.q_lora_rank"] = c["q_lora_rank"]
    has_moe = c.get("n_routed_experts") is not None
    lead = c.get("first_k_dense_replace")
    m[p + "leading_dense_block_count"] = lead if isinstance(lead, int) else (0 if has_moe else c[
        "num_hidden_layers"])
    m[p + "expert_feed_forward_length"] = c.get("moe_intermediate_size") or c.get("intermediate_size")
    m[p + "expert_shared_count"] = int(c.get("n_shared_experts") or 0)
    if c.get("scoring_func") == "sigmoid":
        m[p + "expert_gating_func"] = 2
