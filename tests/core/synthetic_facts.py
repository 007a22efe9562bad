"""ModelFacts built by hand from a few shape numbers, for the planner tests.

The tensor table is what convert_hf_to_gguf.py writes for a Llama-style model
(ggml order: shape[0] is the row length), so the replay of llama-quantize and
the memory model see realistic shapes without any file.
"""

from __future__ import annotations

from core.facts.quants import tensor_bytes
from core.facts.types import ModelFacts, TensorInfo


def _t(name: str, shape: tuple[int, ...], typ: str) -> TensorInfo:
    return TensorInfo(name, shape, typ, tensor_bytes(typ, shape))


def llama_facts(
    *,
    name: str = "synthetic",
    n_layer: int = 32,
    n_embd: int = 4096,
    n_ff: int = 14336,
    n_head: int = 32,
    n_head_kv: int = 8,
    head_dim: int = 128,
    vocab: int = 128256,
    ctx: int = 131072,
    tied: bool = False,
    src: str = "BF16",
    architecture: str = "llama",
    bias: bool = False,
    n_expert: int = 0,
    n_expert_used: int = 0,
    n_ff_exp: int = 0,
    sliding_window: int | None = None,
    swa_layers: tuple[bool, ...] = (),
    kv_lora_rank: int | None = None,
) -> ModelFacts:
    t = [_t("token_embd.weight", (n_embd, vocab), src), _t("output_norm.weight", (n_embd,), "F32")]
    if not tied:
        t.append(_t("output.weight", (n_embd, vocab), src))
    q, kv = n_head * head_dim, n_head_kv * head_dim
    for i in range(n_layer):
        p = f"blk.{i}."
        t += [
            _t(p + "attn_norm.weight", (n_embd,), "F32"),
            _t(p + "attn_q.weight", (n_embd, q), src),
            _t(p + "attn_k.weight", (n_embd, kv), src),
            _t(p + "attn_v.weight", (n_embd, kv), src),
            _t(p + "attn_output.weight", (q, n_embd), src),
            _t(p + "ffn_norm.weight", (n_embd,), "F32"),
        ]
        if bias:
            t += [_t(p + "attn_q.bias", (q,), "F32"), _t(p + "attn_k.bias", (kv,), "F32"),
                  _t(p + "attn_v.bias", (kv,), "F32")]  # fmt: skip
        if n_expert:
            t += [
                _t(p + "ffn_gate_inp.weight", (n_embd, n_expert), "F32"),
                _t(p + "ffn_gate_exps.weight", (n_embd, n_ff_exp, n_expert), src),
                _t(p + "ffn_up_exps.weight", (n_embd, n_ff_exp, n_expert), src),
                _t(p + "ffn_down_exps.weight", (n_ff_exp, n_embd, n_expert), src),
            ]
        else:
            t += [
                _t(p + "ffn_gate.weight", (n_embd, n_ff), src),
                _t(p + "ffn_up.weight", (n_embd, n_ff), src),
                _t(p + "ffn_down.weight", (n_ff, n_embd), src),
            ]
    n_params = sum(x.n_elements for x in t)
    active = None
    if n_expert:
        expert = sum(x.n_elements for x in t if "_exps" in x.name)
        active = n_params - expert + expert * n_expert_used // n_expert
    return ModelFacts(
        name=name,
        source="catalog",
        architecture=architecture,
        n_params=n_params,
        n_layers=n_layer,
        n_embd=n_embd,
        n_head=n_head,
        head_count_kv=(n_head_kv,) * n_layer,
        head_dim_k=head_dim,
        head_dim_v=head_dim,
        context_length=ctx,
        vocab_size=vocab,
        n_params_active=active,
        n_ff=n_ff if not n_expert else None,
        n_expert=n_expert,
        n_expert_used=n_expert_used,
        sliding_window=sliding_window,
        swa_layers=swa_layers,
        tied_embeddings=tied,
        tensors=tuple(t),
        kv_lora_rank=kv_lora_rank,
    )


def llama31_8b() -> ModelFacts:
    return llama_facts(name="Llama-3.1-8B")


def qwen25_32b() -> ModelFacts:
    return llama_facts(
        name="Qwen2.5-32B", architecture="qwen2", n_layer=64, n_embd=5120, n_ff=27648, n_head=40,
        n_head_kv=8, vocab=152064, ctx=32768, bias=True,
    )  # fmt: skip


def llama31_70b() -> ModelFacts:
    return llama_facts(name="Llama-3.1-70B", n_layer=80, n_embd=8192, n_ff=28672, n_head=64, n_head_kv=8)
