"""KV cache, compute and output buffers, and the runtimes' defaults.

The compute-buffer reference points were measured with the pinned llama.cpp
(llama-server -lv 4 and llama-fit-params, CPU backend) on hollow GGUFs of the
same shapes as the synthetic models here.
"""

from __future__ import annotations

import dataclasses

import pytest

from core.errors import PlannerError
from core.facts.types import ModelFacts
from core.planner.memory import (
    compute_estimate,
    context_shape,
    graph_dims,
    kv_layout,
    ollama_auto_batch,
    output_buffer_bytes,
    runtime_settings,
)
from core.planner.plan import kv_cache_bytes
from core.planner.types import RuntimeSettings
from tests.core.synthetic_facts import llama31_8b, llama_facts

MIB = 1024**2
GIB = 1024**3


def qwen25_05b() -> ModelFacts:
    return llama_facts(name="Qwen2.5-0.5B", architecture="qwen2", n_layer=24, n_embd=896, n_ff=4864,
                       n_head=14, n_head_kv=2, head_dim=64, vocab=151936, ctx=32768, tied=True,
                       bias=True)  # fmt: skip


def llama32_1b() -> ModelFacts:
    return llama_facts(name="Llama-3.2-1B", n_layer=16, n_embd=2048, n_ff=8192, n_head=32, n_head_kv=8,
                       head_dim=64, vocab=128256, tied=True)  # fmt: skip


def mistral_7b() -> ModelFacts:
    return llama_facts(name="Mistral-7B", vocab=32768, ctx=32768)


def gemma_like(window: int = 1024) -> ModelFacts:
    swa = tuple(i % 6 != 5 for i in range(12))  # five sliding-window layers, then one global
    return llama_facts(name="gemma-like", n_layer=12, n_embd=1024, n_ff=4096, n_head=8, n_head_kv=4,
                       head_dim=256, vocab=32000, sliding_window=window, swa_layers=swa)  # fmt: skip


def settings(facts: ModelFacts, runtime: str, ctx: int, **kw: object) -> RuntimeSettings:
    return runtime_settings(facts, runtime=runtime, ctx=ctx, **kw)  # type: ignore[arg-type]


def kv(facts: ModelFacts, s: RuntimeSettings) -> int:
    return sum(kv_layout(facts, s).layer_bytes(context_shape(facts, s)))


# --------------------------------------------------------------------------- KV cache


@pytest.mark.parametrize(("kv_type", "expected"), [("f16", GIB), ("q8_0", 544 * MIB), ("q4_0", 288 * MIB)])
def test_llama_8b_kv_cache_at_8k(kv_type: str, expected: int) -> None:
    # 32 layers x 8192 cells x (K + V) x 1024 values; q8_0 is 34 bytes per 32, q4_0 18 per 32
    facts = llama31_8b()
    assert kv(facts, settings(facts, "llama.cpp", 8192, kv_type=kv_type)) == expected
    assert kv_cache_bytes(facts, ctx=8192, kv_type=kv_type) == expected  # llama-server: 4 slots share -c


def test_context_is_padded_to_256() -> None:
    facts = llama31_8b()
    assert kv(facts, settings(facts, "llama.cpp", 8000)) == GIB
    assert context_shape(facts, settings(facts, "llama.cpp", 8000)).n_ctx == 8192


def test_separate_streams_round_each_sequence() -> None:
    facts = llama31_8b()
    s = dataclasses.replace(settings(facts, "llama-server", 2731, parallel=3), n_ctx=8192)  # -c 8192 -np 3
    shape = context_shape(facts, s)
    assert (shape.n_ctx_seq, shape.n_stream, shape.n_ctx) == (2816, 3, 8448)  # pad256(8192 / 3) x 3
    assert kv(facts, s) == GIB * 8448 // 8192


def test_the_context_asked_for_is_what_each_conversation_gets() -> None:
    """Separate slots hold ctx each (-c = ctx x slots); the default unified cache is one shared pool."""
    facts = llama31_8b()
    separate = settings(facts, "llama-server", 8192, parallel=4)
    assert (separate.n_ctx, context_shape(facts, separate).n_ctx_seq) == (32768, 8192)
    assert kv(facts, separate) == 4 * GIB
    shared = settings(facts, "llama-server", 8192)
    assert (shared.n_ctx, shared.n_seq, shared.kv_unified) == (8192, 4, True)
    assert kv(facts, shared) == GIB
    ollama = settings(facts, "ollama", 8192, parallel=2)
    assert (ollama.n_ctx, kv(facts, ollama)) == (16384, 2 * GIB)


def test_sliding_window_layers_hold_only_the_window() -> None:
    facts = gemma_like(window=1024)
    per_cell = 2 * 4 * 256 * 2  # K + V, 4 KV heads of 256, f16
    s = settings(facts, "llama.cpp", 32768)
    swa_cells = 1024 + 512  # the window plus one micro-batch, padded to 256
    assert kv(facts, s) == per_cell * (2 * 32768 + 10 * swa_cells)
    unified = settings(facts, "llama-server", 32768)  # 4 slots share the cache, so 4 windows
    assert kv(facts, unified) == per_cell * (2 * 32768 + 10 * (4 * 1024 + 512))
    short = settings(facts, "llama.cpp", 1024)  # a window larger than the context is capped by it
    assert kv(facts, short) == per_cell * 12 * 1024


def test_latent_attention_caches_k_only() -> None:
    facts = dataclasses.replace(llama31_8b(), kv_lora_rank=512, rope_dim=64, head_count_kv=(1,) * 32)
    assert kv(facts, settings(facts, "llama.cpp", 4096)) == 32 * 4096 * 576 * 2


def test_quantized_v_cache_needs_flash_attention() -> None:
    facts = llama31_8b()
    with pytest.raises(PlannerError, match="needs flash attention"):
        settings(facts, "llama-server", 4096, kv_type="q8_0", flash_attn=False)
    assert settings(facts, "llama-server", 4096, kv_type="q8_0").flash_attn  # auto resolves to on


def test_bad_contexts_are_refused() -> None:
    facts = llama31_8b()
    with pytest.raises(PlannerError):
        context_shape(facts, settings(facts, "llama.cpp", 0))
    with pytest.raises(PlannerError, match="Unknown runtime"):
        settings(facts, "vllm", 4096)


# --------------------------------------------------------------------------- compute and output


def compute_mib(facts: ModelFacts, s: RuntimeSettings) -> float:
    est = compute_estimate(graph_dims(facts), context_shape(facts, s), s, on_gpu=False, has_output=True)
    return est.peak / MIB


MEASURED = [
    # model, runtime, -c, -np, KV type, flash attention, llama.cpp's CPU compute buffer (MiB)
    (qwen25_05b, "llama-server", 4096, None, "f16", True, 39.51),
    (qwen25_05b, "llama-server", 16384, None, "f16", True, 51.51),
    (qwen25_05b, "llama-server", 8192, 1, "f16", True, 43.51),
    (qwen25_05b, "llama-server", 4096, 2, "q8_0", True, 37.79),  # 4k per slot: -c 8192 -np 2
    (qwen25_05b, "llama-server", 32768, None, "q4_0", True, 65.79),
    (qwen25_05b, "llama.cpp", 8192, None, "f16", False, 302.00),
    (llama32_1b, "llama-server", 4096, None, "f16", True, 68.01),
    (llama32_1b, "llama-server", 16384, None, "f16", True, 80.01),
    (llama32_1b, "llama-server", 8192, 1, "f16", True, 72.01),
    (llama32_1b, "llama-server", 32768, None, "q4_0", True, 92.04),
    (llama31_8b, "llama.cpp", 4096, None, "f16", True, 266.50),
    (llama31_8b, "llama.cpp", 8192, None, "f16", False, 572.01),
    (mistral_7b, "llama.cpp", 4096, None, "f16", True, 120.01),
    (mistral_7b, "llama.cpp", 32768, None, "f16", True, 148.01),
]


@pytest.mark.parametrize(("make", "runtime", "ctx", "np_", "kv_type", "fa", "real"), MEASURED)
def test_compute_buffer_matches_llama_cpp(
    make: object, runtime: str, ctx: int, np_: int | None, kv_type: str, fa: bool, real: float
) -> None:
    facts = make()  # type: ignore[operator]
    s = settings(facts, runtime, ctx, parallel=np_, kv_type=kv_type, flash_attn=fa)
    assert compute_mib(facts, s) == pytest.approx(real, abs=4.0)


def test_full_logits_cost_hundreds_of_mib() -> None:
    # a plain context reserves logits for the whole micro-batch, llama-server one row per slot
    facts = llama31_8b()
    dims = graph_dims(facts)
    plain_s = settings(facts, "llama.cpp", 8192)
    plain = compute_estimate(dims, context_shape(facts, plain_s), plain_s, on_gpu=True, has_output=True)
    server_s = settings(facts, "llama-server", 8192)
    server = compute_estimate(dims, context_shape(facts, server_s), server_s, on_gpu=True, has_output=True)
    assert plain.peak == plain.output >= 128256 * 512 * 4  # 250 MiB of logits alone
    assert server.peak == server.ffn  # four logit rows are nothing next to the FFN
    assert (plain.peak - server.peak) / MIB > 100


def test_compute_grows_with_the_micro_batch() -> None:
    facts = llama31_8b()
    small = compute_mib(facts, settings(facts, "llama-server", 8192, n_ubatch=256))
    big = compute_mib(facts, settings(facts, "llama-server", 8192, n_ubatch=2048))
    assert big > 4 * small


def test_without_flash_attention_the_scores_dominate() -> None:
    facts = llama31_8b()
    on = compute_mib(facts, settings(facts, "llama-server", 32768))
    off = compute_mib(facts, settings(facts, "llama-server", 32768, flash_attn=False))
    assert off > on + 32768 * 512 * 32 * 4 / MIB * 0.9  # n_kv x n_ubatch x n_head floats


def test_output_buffer_is_one_logit_row_per_sequence() -> None:
    facts = llama31_8b()
    assert output_buffer_bytes(facts, settings(facts, "llama-server", 8192)) == 128256 * 4 * 4
    assert output_buffer_bytes(facts, settings(facts, "ollama", 8192)) == 128256 * 4


# --------------------------------------------------------------------------- runtime defaults


def test_runtime_defaults() -> None:
    facts = llama31_8b()
    srv = settings(facts, "llama-server", 8192)
    assert (srv.n_seq, srv.kv_unified, srv.n_batch, srv.n_ubatch, srv.n_outputs) == (4, True, 2048, 512, 4)
    two = settings(facts, "llama-server", 8192, parallel=2)
    assert (two.n_seq, two.kv_unified, two.n_outputs) == (2, False, 2)
    oll = settings(facts, "ollama", 8192)
    assert (oll.n_seq, oll.n_ctx, oll.n_batch, oll.n_ubatch, oll.n_outputs) == (1, 8192, 512, 512, 1)
    oll2 = settings(facts, "ollama", 8192, parallel=2)
    assert oll2.n_ctx == 16384  # num_ctx is per request; the cache holds both
    plain = settings(facts, "llama.cpp", 8192)
    assert (plain.n_seq, plain.n_outputs) == (1, 2048)


@pytest.mark.parametrize(
    ("ctx", "predicted_gib", "available_gib", "fa", "batch"),
    [
        (4096, 5, 24, True, 512),
        (8192, 5, 24, True, 1024),
        (65536, 5, 24, True, 2048),
        (65536, 16, 24, True, 1024),  # over 60 % of 24 GiB: no headroom for 2048, enough for 1024
        (65536, 19, 24, True, 512),  # over 75 %: back to the default
        (8192, 18, 24, True, 1024),  # exactly 75 %, and the 768 MiB surcharge still fits under 80 %
        (65536, 5, 24, False, 512),  # CUDA without flash attention stays at 512
        (8192, 2, 8, False, 256),  # ... and drops to 256 on an 8 GiB card above 4k
    ],
)
def test_ollama_auto_batch(ctx: int, predicted_gib: int, available_gib: int, fa: bool, batch: int) -> None:
    small = available_gib <= 8
    assert ollama_auto_batch(ctx, predicted_gib * GIB, available_gib * GIB, not fa, small) == batch


def test_ollama_picks_its_batch_from_the_whole_kv_context() -> None:
    """num_ctx 4096 x 2 slots is 8192 cells: 1024, where one slot of 4096 stays at 512."""
    from core.planner.machine import hypothetical_spec
    from core.planner.plan import plan

    one = plan(llama31_8b(), hypothetical_spec(["4090"], 64), ctx=4096, runtime="ollama", quants=("Q4_K_M",))
    two = plan(llama31_8b(), hypothetical_spec(["4090"], 64), ctx=4096, runtime="ollama", parallel=2,
               quants=("Q4_K_M",))
    assert one.rows[0].settings is not None and two.rows[0].settings is not None
    assert (one.rows[0].settings.n_batch, two.rows[0].settings.n_batch) == (512, 1024)
