"""How llama.cpp reads a model: hyper-parameters from GGUF keys, and the tensors it expects.

Every source of model facts (a GGUF file, an HF checkpoint, an Ollama model,
the catalog) ends up as GGUF-style metadata (`llama.block_count`, ...). This
module turns that metadata into per-layer hyper-parameters with the same
rules and defaults as llama.cpp's `load_hparams` (pinned version), including
which layers use sliding-window attention, and synthesises the exact tensor
table llama.cpp would load for the architectures it knows here, so a source
without a tensor table (Ollama, catalog) is planned like a real file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.facts.ggml_types import tensor_bytes
from core.facts.types import TensorInfo

# Architectures whose hyper-parameters and tensor tables are modelled here.
SYNTHESISED_ARCHS = frozenset(
    {"llama", "qwen2", "qwen2moe", "qwen3", "qwen3moe", "gemma2", "gemma3", "deepseek2"}
)

# Architectures whose KV-cache shape follows the generic rules exactly (the
# synthesised ones plus others that only differ in tensors). Anything else is
# planned with the same rules but flagged.
KNOWN_ARCHS = SYNTHESISED_ARCHS | frozenset(
    {"gemma", "gemma3n", "cohere2", "gpt-oss", "llama4", "olmo2", "phi3", "mistral3",
     "command-r", "starcoder2", "granite", "internlm2", "exaone", "olmo", "stablelm",
     "deepseek", "minicpm", "glm4", "smollm3", "ernie4_5"}
)


@dataclass(frozen=True)
class SwaRule:
    """llama.cpp's per-arch sliding-window choice (`load_swa_pattern` and its callers)."""

    n_pattern: int  # every n_pattern-th layer is full attention
    dense_first: bool = False  # full layer first (il % n == 0) instead of last
    default_window: int | None = None
    needs_window_key: bool = False  # SWA only when `<arch>.attention.sliding_window` > 0


SWA_RULES: dict[str, SwaRule] = {
    "gemma2": SwaRule(2, default_window=4096),
    "gemma3": SwaRule(6, needs_window_key=True),
    "gemma3n": SwaRule(5),
    "gemma-embedding": SwaRule(6),
    "cohere2": SwaRule(4),
    "gpt-oss": SwaRule(2),
    "olmo2": SwaRule(4, needs_window_key=True),
    "llama4": SwaRule(4, default_window=8192),  # chunked attention, same KV footprint rule
}


@dataclass(frozen=True)
class Hparams:
    """A model's shape as llama.cpp derives it from GGUF metadata."""

    arch: str
    n_layer: int  # decoder layers (without MTP / next-token-prediction layers)
    n_layer_nextn: int
    n_embd: int
    n_head: tuple[int, ...]
    n_head_kv: tuple[int, ...]
    n_ff: tuple[int, ...]
    head_dim_k: int
    head_dim_v: int
    n_vocab: int | None
    context_length: int | None
    n_expert: int = 0
    n_expert_used: int = 0
    n_ff_exp: int = 0
    n_expert_shared: int = 0
    n_ff_shexp: int = 0
    n_layer_dense_lead: int = 0
    q_lora_rank: int = 0
    kv_lora_rank: int = 0
    head_dim_k_mla: int = 0
    head_dim_v_mla: int = 0
    rope_dim: int = 0
    expert_gating_sigmoid: bool = False
    sliding_window: int | None = None
    swa_layers: tuple[bool, ...] = ()


class MetadataError(ValueError):
    """The metadata lacks or garbles a key llama.cpp requires; the message names it."""


def _int(meta: Mapping[str, Any], key: str, default: int | None = None) -> int:
    v = meta.get(key, default)
    if v is None:
        raise MetadataError(f"the required key {key} is missing")
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise MetadataError(f"{key} is {v!r}, not a non-negative whole number")
    return v


def _per_layer(meta: Mapping[str, Any], key: str, n: int, default: Sequence[int]) -> tuple[int, ...]:
    """llama.cpp's get_key_or_arr: one number for all layers, or an array of exactly n."""
    v = meta.get(key)
    if v is None:
        return tuple(default)
    if isinstance(v, list):
        if len(v) != n or not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in v):
            raise MetadataError(f"{key} has {len(v)} entries for {n} layers")
        return tuple(v)
    return (_int(meta, key),) * n


def _swa_layers(arch: str, meta: Mapping[str, Any], n_layer: int) -> tuple[int | None, tuple[bool, ...]]:
    p = f"{arch}."
    rule = SWA_RULES.get(arch)
    window = meta.get(p + "attention.sliding_window")
    if rule is None:
        return None, ()
    if rule.needs_window_key and not (isinstance(window, int) and window > 0):
        return None, ()
    if arch == "llama4" and window == 0:
        return None, ()
    if not isinstance(window, int) or isinstance(window, bool):
        window = rule.default_window
    pattern = meta.get(p + "attention.sliding_window_pattern")
    if isinstance(pattern, list):  # an explicit per-layer bool array wins
        if len(pattern) < n_layer:
            raise MetadataError(f"{p}attention.sliding_window_pattern has {len(pattern)} entries")
        return window, tuple(bool(x) for x in pattern[:n_layer])
    n = pattern if isinstance(pattern, int) and not isinstance(pattern, bool) else rule.n_pattern
    if n == 0:
        return window, (True,) * n_layer
    if rule.dense_first:
        layers = tuple(il % n != 0 for il in range(n_layer))
    else:
        layers = tuple(il % n < n - 1 for il in range(n_layer))
    return window, layers


def derive_hparams(meta: Mapping[str, Any], n_vocab_hint: int | None = None) -> Hparams:
    """Per-layer hyper-parameters from GGUF metadata, with llama.cpp's defaults."""
    arch = meta.get("general.architecture")
    if not isinstance(arch, str) or not arch:
        raise MetadataError("general.architecture is missing")
    p = f"{arch}."
    n_layer_all = _int(meta, p + "block_count")
    if not 0 < n_layer_all <= 512:
        raise MetadataError(f"{p}block_count is {n_layer_all}")
    nextn = _int(meta, p + "nextn_predict_layers", 0)
    if nextn > n_layer_all:
        raise MetadataError(f"{p}nextn_predict_layers is larger than {p}block_count")
    n_embd = _int(meta, p + "embedding_length")
    n_head = _per_layer(meta, p + "attention.head_count", n_layer_all, (0,) * n_layer_all)
    n_head_kv = _per_layer(meta, p + "attention.head_count_kv", n_layer_all, n_head)
    n_ff = _per_layer(meta, p + "feed_forward_length", n_layer_all, (0,) * n_layer_all)
    head0 = n_head[0]
    head_k = _int(meta, p + "attention.key_length", n_embd // head0 if head0 else 0)
    head_v = _int(meta, p + "attention.value_length", n_embd // head0 if head0 else 0)
    n_layer = n_layer_all - nextn
    used = max(_per_layer(meta, p + "expert_used_count", n_layer_all, (0,)))
    window, swa = _swa_layers(arch, meta, n_layer)
    vocab = meta.get(p + "vocab_size")
    if not isinstance(vocab, int) or isinstance(vocab, bool):
        vocab = n_vocab_hint
    ctx = meta.get(p + "context_length")
    return Hparams(
        arch=arch,
        n_layer=n_layer,
        n_layer_nextn=nextn,
        n_embd=n_embd,
        n_head=n_head,
        n_head_kv=n_head_kv,
        n_ff=n_ff,
        head_dim_k=head_k,
        head_dim_v=head_v,
        n_vocab=vocab,
        context_length=ctx if isinstance(ctx, int) and not isinstance(ctx, bool) else None,
        n_expert=_int(meta, p + "expert_count", 0),
        n_expert_used=used,
        n_ff_exp=max(_per_layer(meta, p + "expert_feed_forward_length", n_layer_all, (0,))),
        n_expert_shared=_int(meta, p + "expert_shared_count", 0),
        n_ff_shexp=_int(meta, p + "expert_shared_feed_forward_length", 0),
        n_layer_dense_lead=_int(meta, p + "leading_dense_block_count", 0),
        q_lora_rank=_int(meta, p + "attention.q_lora_rank", 0),
        kv_lora_rank=_int(meta, p + "attention.kv_lora_rank", 0),
        head_dim_k_mla=_int(meta, p + "attention.key_length_mla", 0),
        head_dim_v_mla=_int(meta, p + "attention.value_length_mla", 0),
        rope_dim=_int(meta, p + "rope.dimension_count", head_k),
        expert_gating_sigmoid=meta.get(p + "expert_gating_func") == 2,
        sliding_window=window if swa and any(swa) else None,
        swa_layers=swa if any(swa) else (),
    )


# --------------------------------------------------------------------------- tensors


def converter_type(name: str, n_dims: int, base: str) -> str:
    """The type convert_hf_to_gguf.py gives a tensor when the model is written as `base`."""
    if n_dims <= 1 or name.endswith("_norm.weight") or not name.endswith(".weight"):
        return "F32"
    if ".ffn_gate_inp." in name or ".ffn_gate_inp_shexp." in name:
        return "F32"
    return base


@dataclass(frozen=True)
class TensorOptions:
    """What GGUF metadata does not say but the tensor table depends on."""

    tied_embeddings: bool = False
    attn_bias: bool | None = None  # None: the architecture's usual (qwen2 has q/k/v biases)
    rope_freqs: bool = False  # Llama 3.x rope scaling adds a rope_freqs tensor
    base_type: str = "BF16"


_Spec = list[tuple[str, tuple[int, ...]]]


def _mk(name: str, shape: tuple[int, ...], base: str) -> TensorInfo:
    t = converter_type(name, len(shape), base)
    return TensorInfo(name, shape, t, tensor_bytes(t, shape))


def synthesise_tensors(hp: Hparams, opts: TensorOptions) -> tuple[TensorInfo, ...]:
    """The tensor table llama.cpp loads for `hp`, named and shaped (ggml order) as in a GGUF."""
    if hp.arch not in SYNTHESISED_ARCHS:
        raise MetadataError(f"no tensor layout is known for architecture {hp.arch!r}")
    if hp.n_vocab is None:
        raise MetadataError("the vocabulary size is unknown")
    out: _Spec = []
    e, v = hp.n_embd, hp.n_vocab
    out.append(("token_embd.weight", (e, v)))
    out.append(("output_norm.weight", (e,)))
    if hp.arch != "gemma2" and not opts.tied_embeddings:
        out.append(("output.weight", (e, v)))
    if opts.rope_freqs:
        out.append(("rope_freqs.weight", (hp.rope_dim // 2,)))
    bias = opts.attn_bias if opts.attn_bias is not None else hp.arch in ("qwen2", "qwen2moe")
    for i in range(hp.n_layer):
        b = f"blk.{i}."
        out.append((b + "attn_norm.weight", (e,)))
        if hp.arch == "deepseek2":
            out.extend(_mla_attention(hp, i))
        else:
            out.extend(_attention(hp, i, bias))
        out.append((b + "ffn_norm.weight", (e,)))
        if hp.arch in ("gemma2", "gemma3"):
            out.append((b + "post_attention_norm.weight", (e,)))
            out.append((b + "post_ffw_norm.weight", (e,)))
        out.extend(_ffn(hp, i))
    return tuple(_mk(n, s, opts.base_type) for n, s in out)


def _attention(hp: Hparams, i: int, bias: bool) -> _Spec:
    b = f"blk.{i}."
    e = hp.n_embd
    q = hp.head_dim_k * hp.n_head[i]
    k = hp.head_dim_k * hp.n_head_kv[i]
    v = hp.head_dim_v * hp.n_head_kv[i]
    t: _Spec = [(b + "attn_q.weight", (e, q)), (b + "attn_k.weight", (e, k)), (b + "attn_v.weight", (e, v)),
         (b + "attn_output.weight", (hp.head_dim_v * hp.n_head[i], e))]
    if bias:
        t += [(b + "attn_q.bias", (q,)), (b + "attn_k.bias", (k,)), (b + "attn_v.bias", (v,))]
    if hp.arch in ("qwen3", "qwen3moe", "gemma3"):
        t += [(b + "attn_q_norm.weight", (hp.head_dim_k,)), (b + "attn_k_norm.weight", (hp.head_dim_k,))]
    return t


def _mla_attention(hp: Hparams, i: int) -> _Spec:
    b = f"blk.{i}."
    e, h = hp.n_embd, hp.n_head[i]
    k_mla, v_mla = hp.head_dim_k_mla, hp.head_dim_v_mla
    nope = k_mla - hp.rope_dim
    t: _Spec = [(b + "attn_kv_a_norm.weight", (hp.kv_lora_rank,))]
    if hp.q_lora_rank > 0:
        t += [(b + "attn_q_a_norm.weight", (hp.q_lora_rank,)),
              (b + "attn_q_a.weight", (e, hp.q_lora_rank)),
              (b + "attn_q_b.weight", (hp.q_lora_rank, h * k_mla))]
    else:
        t.append((b + "attn_q.weight", (e, h * k_mla)))
    t += [(b + "attn_kv_a_mqa.weight", (e, hp.kv_lora_rank + hp.rope_dim)),
          (b + "attn_k_b.weight", (nope, hp.kv_lora_rank, h)),
          (b + "attn_v_b.weight", (hp.kv_lora_rank, v_mla, h)),
          (b + "attn_output.weight", (h * v_mla, e))]
    return t


def _ffn(hp: Hparams, i: int) -> _Spec:
    b = f"blk.{i}."
    e = hp.n_embd
    moe = hp.n_expert > 0 and not (hp.arch == "deepseek2" and i < hp.n_layer_dense_lead)
    if not moe:
        f = hp.n_ff[i]
        return [(b + "ffn_gate.weight", (e, f)), (b + "ffn_down.weight", (f, e)),
                (b + "ffn_up.weight", (e, f))]
    n = hp.n_expert
    # Mixtral (llama with experts) sizes its experts with feed_forward_length.
    f = hp.n_ff[i] if hp.arch == "llama" else hp.n_ff_exp or hp.n_ff[i] // max(hp.n_expert_used, 1)
    t: _Spec = [
        (b + "ffn_gate_inp.weight", (e, n)),
        (b + "ffn_gate_exps.weight", (e, f, n)),
        (b + "ffn_down_exps.weight", (f, e, n)),
        (b + "ffn_up_exps.weight", (e, f, n)),
    ]
    if hp.arch == "deepseek2":
        if hp.expert_gating_sigmoid:
            t.append((b + "exp_probs_b.bias", (n,)))
        s = hp.n_ff_exp * hp.n_expert_shared
        t += [(b + "ffn_gate_shexp.weight", (e, s)), (b + "ffn_down_shexp.weight", (s, e)),
              (b + "ffn_up_shexp.weight", (e, s))]
    elif hp.arch == "qwen2moe":
        s = hp.n_ff_shexp or hp.n_ff[i]
        t += [(b + "ffn_gate_inp_shexp.weight", (e,)), (b + "ffn_gate_shexp.weight", (e, s)),
              (b + "ffn_down_shexp.weight", (s, e)), (b + "ffn_up_shexp.weight", (e, s))]
    return t
