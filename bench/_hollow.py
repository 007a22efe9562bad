"""The hollow GGUFs the planner benchmarks run llama.cpp on, made once per run in a temp dir.

Catalog models come from tests.fakes.hollow_gguf. Every catalog model uses
grouped-query attention, so a classic multi-head model (Llama 2 7B, the
shape of countless fine-tunes) is written here from its published
config.json through the same converter rules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench._llamacpp import dry_run
from core.facts.hf_config import convert_config
from core.facts.model_arch import TensorOptions, derive_hparams, synthesise_tensors
from tests.fakes.hollow_gguf import hollow_model, write_hollow_gguf
from tests.support.llamacpp import LlamaCppTools

# meta-llama/Llama-2-7b-hf config.json (the values that shape the tensors)
LLAMA2_7B: dict[str, Any] = {
    "architectures": ["LlamaForCausalLM"], "hidden_size": 4096, "intermediate_size": 11008,
    "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 32, "vocab_size": 32000,
    "max_position_embeddings": 4096, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
    "tie_word_embeddings": False, "torch_dtype": "float16",
}  # fmt: skip
EXTRA_CONFIGS: dict[str, tuple[str, dict[str, Any]]] = {"llama-2-7b": ("Llama 2 7B", LLAMA2_7B)}


def hollow_from_config(
    model_id: str, name: str, config: dict[str, Any], dest_dir: Path, *, file_type: str = "F16"
) -> Path:
    conv = convert_config(config)
    meta = dict(conv.metadata)
    hp = derive_hparams(meta)
    opts = TensorOptions(
        tied_embeddings=conv.options.tied_embeddings,
        attn_bias=conv.options.attn_bias,
        rope_freqs=conv.options.rope_freqs,
        base_type=file_type,
    )
    meta.setdefault(f"{hp.arch}.attention.layer_norm_rms_epsilon", 1e-5)
    dest_dir.mkdir(parents=True, exist_ok=True)
    return write_hollow_gguf(
        dest_dir / f"{model_id}-{file_type}.gguf",
        meta,
        synthesise_tensors(hp, opts),
        file_type=file_type,
        name=name,
    )


def hollow(model_id: str, dest_dir: Path) -> Path:
    """A hollow F16 GGUF of a catalog model or of one of EXTRA_CONFIGS."""
    if model_id in EXTRA_CONFIGS:
        name, config = EXTRA_CONFIGS[model_id]
        return hollow_from_config(model_id, name, config, dest_dir)
    return hollow_model(model_id, dest_dir)


def hollow_quant(tools: LlamaCppTools, model_id: str, quant: str, source: Path, dest_dir: Path) -> Path:
    """A hollow GGUF of `quant`, each tensor of the type real `llama-quantize --dry-run` picks for it.

    `source` is the model's hollow F16 (from `hollow`). Only catalog models.
    """
    report = dry_run(tools, source, quant)
    return hollow_model(model_id, dest_dir, quantized=(quant, report.types))
