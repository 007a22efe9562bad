"""The replay of llama-quantize's per-tensor type choice, on hand-built tensor tables.

The rules are llama.cpp's (src/llama-quant.cpp); these tests pin the
behaviours a user sees in the file size. The exact agreement with the real
`llama-quantize --dry-run` is checked in test_quant_dry_run.py.
"""

from __future__ import annotations

import pytest

from core.errors import PlannerError
from core.facts.quants import DEFAULT_QUANTS, QUANT_FORMATS
from core.facts.types import ModelFacts
from core.planner.quant_rules import allows_quantization, fallback_type, n_dims, tensor_category, walk_order
from core.planner.weights import tensor_types, weight_table
from tests.core.synthetic_facts import llama31_8b, llama31_70b, llama_facts


def types_of(facts: ModelFacts, quant: str, **kw: bool) -> dict[str, str]:
    return {c.name: c.ggml_type for c in tensor_types(facts, quant, **kw)}


def more_bits(i: int, n: int) -> bool:
    """use_more_bits in llama-quant.cpp, restated for the expectations."""
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def test_q4_k_m_on_llama_8b() -> None:
    t = types_of(llama31_8b(), "Q4_K_M")
    assert t["output.weight"] == "Q6_K"
    assert t["token_embd.weight"] == "Q4_K"
    assert t["blk.5.attn_q.weight"] == "Q4_K"
    assert t["blk.5.attn_norm.weight"] == "F32"
    boosted = {i for i in range(32) if t[f"blk.{i}.attn_v.weight"] == "Q6_K"}
    assert boosted == {i for i in range(32) if more_bits(i, 32)}
    assert boosted == {0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31}
    assert {i for i in range(32) if t[f"blk.{i}.ffn_down.weight"] == "Q6_K"} == boosted
    assert all(t[f"blk.{i}.ffn_down.weight"] == "Q4_K" for i in range(32) if i not in boosted)


def test_q4_k_m_whole_file_bits_per_weight_for_an_8b() -> None:
    bpw = weight_table(llama31_8b(), "Q4_K_M").bits_per_weight
    assert 4.8 <= bpw <= 5.0  # not the 4.5 of Q4_K alone


@pytest.mark.parametrize(
    ("quant", "first", "rest"),
    [
        ("Q4_K_S", "Q5_K", "Q4_K"),
        ("Q3_K_M", "Q5_K", "Q4_K"),
        ("Q3_K_L", "Q5_K", "Q5_K"),
        ("Q2_K", "Q4_K", "Q4_K"),
    ],
)
def test_attn_v_counter_rules(quant: str, first: str, rest: str) -> None:
    t = types_of(llama31_8b(), quant)
    assert t["blk.0.attn_v.weight"] == first
    assert t["blk.20.attn_v.weight"] == rest


def test_one_dimensional_and_gate_tensors_keep_their_type() -> None:
    facts = llama_facts(n_layer=4, n_embd=512, n_ff=1024, n_head=8, n_head_kv=2, head_dim=64, vocab=1000,
                        n_expert=8, n_expert_used=2, n_ff_exp=512, bias=True)  # fmt: skip
    for quant in ("Q4_K_M", "IQ2_XXS", "Q8_0", "F16"):
        t = types_of(facts, quant)
        assert t["blk.1.ffn_gate_inp.weight"] == "F32"
        assert t["blk.1.attn_q.bias"] == "F32"
        assert t["output_norm.weight"] == "F32"


@pytest.mark.parametrize(
    ("name", "shape", "expected"),
    [
        ("blk.0.attn_q.weight", (4096, 4096), True),
        ("blk.0.attn_norm.weight", (4096,), False),
        ("blk.0.attn_q.bias", (4096,), False),
        ("blk.0.ffn_gate_inp.weight", (4096, 64), False),
        ("blk.0.ffn_down_exps.weight", (1024, 4096, 64), True),
        ("blk.0.ssm_conv1d.weight", (4, 8192), False),
        ("blk.0.attn_q.weight", (4096, 1), False),  # a trailing 1 does not make it 2-D
        ("token_embd.weight", (4096, 128256), True),
    ],
)
def test_which_tensors_are_quantized(name: str, shape: tuple[int, ...], expected: bool) -> None:
    assert allows_quantization(name, shape, "llama") is expected


def test_n_dims_ignores_trailing_ones() -> None:
    assert [n_dims(s) for s in ((5,), (5, 1), (5, 2), (5, 1, 3))] == [1, 1, 2, 3]


@pytest.mark.parametrize(
    ("target", "ne0", "expected"),
    [
        ("Q4_K", 2880, "Q5_0"), ("Q5_K", 2880, "Q5_1"), ("Q6_K", 2880, "Q8_0"), ("Q3_K", 2880, "Q4_0"),
        ("Q2_K", 2880, "Q4_0"), ("IQ2_XXS", 2880, "IQ4_NL"), ("IQ4_XS", 2880, "IQ4_NL"),
        ("Q4_K", 4096, "Q4_K"), ("Q4_K", 2000, "F16"), ("Q8_0", 2000, "F16"), ("Q4_0", 2880, "Q4_0"),
    ],
)  # fmt: skip
def test_shape_fallback(target: str, ne0: int, expected: str) -> None:
    assert fallback_type(target, ne0) == expected


def test_rows_not_a_multiple_of_256_fall_back_in_the_file() -> None:
    facts = llama_facts(n_layer=4, n_embd=2880, n_ff=7680, n_head=45, n_head_kv=9, head_dim=64, vocab=3200)
    t = types_of(facts, "Q4_K_M")
    assert t["blk.1.attn_q.weight"] == "Q5_0"  # Q4_K needs 256-weight rows
    assert t["blk.1.ffn_down.weight"] == "Q4_K"  # rows of 7680 = 30 x 256 are fine
    assert t["output.weight"] == "Q8_0"  # the output rule's own fallback
    assert weight_table(facts, "Q4_K_M").n_fallback > 0
    assert weight_table(llama31_8b(), "Q4_K_M").n_fallback == 0


def test_tied_embeddings_take_the_output_rule() -> None:
    def small(tied: bool) -> ModelFacts:
        return llama_facts(n_layer=4, n_embd=1024, n_ff=2816, n_head=16, n_head_kv=4, head_dim=64,
                           vocab=32000, tied=tied)  # fmt: skip

    tied, untied = small(True), small(False)
    assert types_of(tied, "Q4_K_M")["token_embd.weight"] == "Q6_K"
    assert types_of(untied, "Q4_K_M")["token_embd.weight"] == "Q4_K"
    assert types_of(tied, "IQ2_XXS")["token_embd.weight"] == "Q5_K"
    assert types_of(untied, "IQ2_XXS")["token_embd.weight"] == "Q2_K"


def test_seventy_b_llama_gets_a_bigger_attn_v() -> None:
    assert types_of(llama31_70b(), "Q3_K_S")["blk.40.attn_v.weight"] == "Q5_K"
    assert types_of(llama31_8b(), "Q3_K_S")["blk.20.attn_v.weight"] == "Q3_K"


def test_eight_expert_models_keep_attention_at_q8_0() -> None:
    mixtral = llama_facts(n_layer=8, n_embd=512, n_ff=1024, n_head=8, n_head_kv=2, head_dim=64, vocab=1000,
                          n_expert=8, n_expert_used=2, n_ff_exp=512)  # fmt: skip
    t = types_of(mixtral, "Q4_K_M")
    assert t["blk.3.attn_v.weight"] == "Q8_0"
    assert t["blk.3.attn_k.weight"] == "Q8_0"
    assert t["blk.3.attn_output.weight"] == "Q5_K"


def test_moe_ffn_down_uses_the_layer_number() -> None:
    n = 48
    moe = llama_facts(n_layer=n, n_embd=512, n_ff=1024, n_head=8, n_head_kv=4, head_dim=64, vocab=1000,
                      n_expert=16, n_expert_used=2, n_ff_exp=256)  # fmt: skip
    t = types_of(moe, "Q4_K_M")
    got = {i for i in range(n) if t[f"blk.{i}.ffn_down_exps.weight"] == "Q6_K"}
    assert got == {i for i in range(n) if more_bits(i, n)}


def test_imatrix_changes_iq3_xxs() -> None:
    facts = llama_facts(n_layer=8, n_embd=1024, n_ff=2816, n_head=16, n_head_kv=8, head_dim=64, vocab=32000)
    with_m = types_of(facts, "IQ3_XXS", imatrix=True)
    without = types_of(facts, "IQ3_XXS", imatrix=False)
    assert with_m["blk.3.attn_v.weight"] == "IQ3_XXS"
    assert without["blk.3.attn_v.weight"] == "IQ3_S"
    assert without["blk.0.ffn_down.weight"] == "Q4_K"


def test_walk_order_is_block_then_name() -> None:
    names = ["blk.10.attn_v.weight", "output.weight", "blk.2.attn_v.weight", "blk.2.attn_k.weight",
             "token_embd.weight"]  # fmt: skip
    assert [names[i] for i in walk_order(names)] == [
        "output.weight", "token_embd.weight", "blk.2.attn_k.weight", "blk.2.attn_v.weight",
        "blk.10.attn_v.weight",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "cat"),
    [("blk.0.ffn_gate_exps.weight", "ffn_gate"), ("blk.0.attn_kv_b.weight", "attn_kv_b"),
     ("blk.0.attn_v_b.weight", "other"), ("per_layer_token_embd.weight", "token_embd")],
)  # fmt: skip
def test_categories(name: str, cat: str) -> None:
    assert tensor_category(name).value == cat


FACTS = {
    "dense": llama31_8b,
    "tied-odd": lambda: llama_facts(n_layer=6, n_embd=1088, n_ff=2720, n_head=17, n_head_kv=1, head_dim=64,
                                    vocab=32000, tied=True),
    "moe": lambda: llama_facts(n_layer=12, n_embd=512, n_ff=1024, n_head=8, n_head_kv=8, head_dim=64,
                               vocab=32000, n_expert=16, n_expert_used=4, n_ff_exp=384),
    "70b": llama31_70b,
}  # fmt: skip


@pytest.mark.parametrize("model", list(FACTS))
def test_bucketed_tables_equal_the_per_tensor_walk(model: str) -> None:
    facts = FACTS[model]()
    for quant in (*DEFAULT_QUANTS, "Q2_K_S", "IQ3_XS", "IQ2_S", "TQ1_0", "MXFP4_MOE"):
        per_tensor = tensor_types(facts, quant)
        table = weight_table(facts, quant)
        assert table.tensor_bytes == sum(c.n_bytes for c in per_tensor), quant
        assert sum(table.layer_bytes) + table.input_bytes + table.output_bytes == table.tensor_bytes
        assert sum(n for _, n, _ in table.types) == len(per_tensor)


def test_every_file_type_replays() -> None:
    facts = FACTS["moe"]()
    for quant in QUANT_FORMATS:
        assert weight_table(facts, quant).tensor_bytes > 0


def test_an_ffn_tensor_outside_the_blocks_is_refused_for_moe() -> None:
    bad = llama_facts(n_layer=2, n_embd=512, n_ff=1024, n_head=8, n_head_kv=8, head_dim=64, vocab=1000,
                      n_expert=4, n_expert_used=2, n_ff_exp=256)  # fmt: skip
    from dataclasses import replace

    from core.facts.types import TensorInfo

    extra = TensorInfo("mtp.ffn_down.weight", (256, 512), "F16", 256 * 512 * 2)
    with pytest.raises(PlannerError, match="no valid layer"):
        weight_table(replace(bad, tensors=(*bad.tensors, extra)), "Q4_K_M")
