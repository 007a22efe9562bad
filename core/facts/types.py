"""What a model *is*: its tensor table and hyper-parameters, whatever it came from.

Sizes are bytes unless a name says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TensorInfo:
    """One tensor as llama.cpp sees it.

    `shape` is in ggml order: shape[0] is the row length (ne0), so a Linear
    weight of PyTorch shape (out, in) has shape (in, out) here.
    """

    name: str
    shape: tuple[int, ...]
    ggml_type: str  # "F32", "F16", "BF16", "Q8_0", "Q4_K", ...
    n_bytes: int

    @property
    def n_elements(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


@dataclass(frozen=True)
class ModelFacts:
    """What a model *is*, whatever it came from (GGUF, HF checkpoint, Ollama, catalog).

    Per-layer values (`head_count_kv`, `swa_layers`) are tuples with one entry a
    layer so hybrid models (sliding-window layers, varying KV heads) are exact.
    `tensors` is the full table where the source has one; the planner replays
    llama-quantize over it. For a source without a tensor table (an Ollama model
    read through /api/show, catalog entries) it is synthesised from the shapes.
    """

    name: str
    source: str  # "gguf" | "hf" | "ollama" | "catalog"
    architecture: str  # GGUF arch name: "llama", "qwen2", "qwen3moe", "deepseek2", "gemma3", ...
    n_params: int
    n_layers: int
    n_embd: int
    n_head: int
    head_count_kv: tuple[int, ...]  # per layer
    head_dim_k: int
    head_dim_v: int
    context_length: int
    vocab_size: int
    n_params_active: int | None = None  # MoE: parameters read per token
    n_ff: int | None = None
    n_expert: int = 0
    n_expert_used: int = 0
    sliding_window: int | None = None
    swa_layers: tuple[bool, ...] = ()  # per layer; empty = no sliding-window layers
    tied_embeddings: bool = False
    tensors: tuple[TensorInfo, ...] = ()
    file_type: str | None = None  # the quant the source is stored in, e.g. "Q4_K_M", "BF16"
    file_size: int | None = None  # bytes on disk, where there is a file
    chat_template: str | None = None
    kv_lora_rank: int | None = None  # MLA (DeepSeek-V2/V3)
    rope_dim: int | None = None  # MLA: the rope part of the K head
    known_architecture: bool = True
    notices: tuple[str, ...] = ()
    metadata: tuple[tuple[str, Any], ...] = ()  # selected raw key/values (never huge arrays)

    @property
    def is_moe(self) -> bool:
        return self.n_expert > 1
