"""The ggml type arithmetic and llama-quantize's file-type table."""

from __future__ import annotations

import gguf
import pytest

from core.errors import PlannerError
from core.facts.ggml_types import FILE_TYPES, GGML_TYPES
from core.facts.quants import (
    DEFAULT_QUANTS,
    KV_CACHE_TYPES,
    QUANT_FORMATS,
    bits_per_weight,
    is_quantized,
    kv_cache_type,
    quant_format,
    quant_format_by_ftype,
    row_bytes,
    tensor_bytes,
)

# (type, weights per block, bytes per block, bits per weight): the table in shared/REFERENCE.md
REFERENCE_TYPES = [
    ("F32", 1, 4, 32.0),
    ("F16", 1, 2, 16.0),
    ("BF16", 1, 2, 16.0),
    ("Q8_0", 32, 34, 8.5),
    ("Q5_1", 32, 24, 6.0),
    ("Q5_0", 32, 22, 5.5),
    ("Q4_1", 32, 20, 5.0),
    ("Q4_0", 32, 18, 4.5),
    ("IQ4_NL", 32, 18, 4.5),
    ("Q6_K", 256, 210, 6.5625),
    ("Q5_K", 256, 176, 5.5),
    ("Q4_K", 256, 144, 4.5),
    ("Q3_K", 256, 110, 3.4375),
    ("Q2_K", 256, 84, 2.625),
    ("IQ4_XS", 256, 136, 4.25),
    ("IQ3_S", 256, 110, 3.4375),
    ("IQ3_XXS", 256, 98, 3.0625),
    ("IQ2_S", 256, 82, 2.5625),
    ("IQ2_XS", 256, 74, 2.3125),
    ("IQ2_XXS", 256, 66, 2.0625),
    ("IQ1_M", 256, 56, 1.75),
    ("IQ1_S", 256, 50, 1.5625),
]


@pytest.mark.parametrize(("name", "block", "size", "bpw"), REFERENCE_TYPES)
def test_block_layout_matches_the_reference_table(name: str, block: int, size: int, bpw: float) -> None:
    t = GGML_TYPES[name]
    assert (t.block_size, t.type_size) == (block, size)
    assert bits_per_weight(name) == bpw
    assert row_bytes(name, 4 * block) == 4 * size


def test_every_type_agrees_with_gguf_py() -> None:
    for qt, (block, size) in gguf.GGML_QUANT_SIZES.items():
        ours = GGML_TYPES.get(qt.name)
        # Q8_1 is an activation type never stored in files; gguf 0.19 still has its old float scales
        if ours is None or qt.name == "Q8_1":
            continue
        assert (ours.block_size, ours.type_size) == (block, size), qt.name


@pytest.mark.parametrize(("name", "n"), [("Q4_K", 4000), ("Q8_0", 100), ("IQ2_XXS", 4096 + 32)])
def test_a_row_that_does_not_fill_blocks_is_refused(name: str, n: int) -> None:
    with pytest.raises(PlannerError, match="cannot be stored"):
        row_bytes(name, n)


def test_tensor_bytes_multiplies_rows() -> None:
    # a 4096 x 14336 Q4_K projection: 16 blocks of 144 bytes per row
    assert tensor_bytes("Q4_K", (4096, 14336)) == 16 * 144 * 14336
    assert tensor_bytes("F32", (4096,)) == 4096 * 4
    assert tensor_bytes("Q8_0", (64, 10, 3)) == 2 * 34 * 30


@pytest.mark.parametrize(
    ("name", "plain"),
    [("F32", True), ("F16", True), ("BF16", True), ("I32", True), ("Q8_0", False), ("IQ1_S", False)],
)
def test_is_quantized(name: str, plain: bool) -> None:
    assert is_quantized(name) is (not plain)


# llama_ftype_get_default_type in src/llama-quant.cpp: the mixes whose base is not their own name
@pytest.mark.parametrize(
    ("ftype", "base"),
    [
        ("Q4_K_M", "Q4_K"), ("Q4_K_S", "Q4_K"), ("Q5_K_M", "Q5_K"), ("Q3_K_L", "Q3_K"),
        ("Q2_K_S", "Q2_K"), ("IQ3_XS", "IQ3_S"), ("IQ3_M", "IQ3_S"), ("IQ2_S", "IQ2_XS"),
        ("IQ2_M", "IQ2_S"), ("MXFP4_MOE", "MXFP4"),
    ],
)  # fmt: skip
def test_mix_base_types(ftype: str, base: str) -> None:
    assert quant_format(ftype).base_type == base


def test_ftype_ids_agree_with_the_gguf_reader() -> None:
    for fmt in QUANT_FORMATS.values():
        assert FILE_TYPES[fmt.ftype_id] == fmt.name
        assert quant_format_by_ftype(fmt.ftype_id) is fmt


def test_aliases_and_case() -> None:
    assert quant_format("q4_k").name == "Q4_K_M"
    assert quant_format("Q5_K").name == "Q5_K_M"
    assert quant_format(" iq2_xxs ").name == "IQ2_XXS"


def test_unknown_quant_names_what_exists() -> None:
    with pytest.raises(PlannerError, match=r"Unknown quantization 'Q7_K'") as err:
        quant_format("Q7_K")
    assert "Q4_K_M" in str(err.value)


def test_default_rows_are_the_issue_list_in_quality_order() -> None:
    assert DEFAULT_QUANTS == (
        "F32", "F16", "BF16", "Q8_0", "Q6_K", "Q5_K_M", "Q5_K_S", "Q5_0", "Q4_K_M", "Q4_K_S", "Q4_0",
        "IQ4_XS", "IQ4_NL", "Q3_K_L", "Q3_K_M", "Q3_K_S", "IQ3_M", "IQ3_XXS", "Q2_K", "IQ2_M",
        "IQ2_XXS", "IQ1_M", "IQ1_S",
    )  # fmt: skip
    # llama-quantize's own perplexity hints grow as bits shrink
    names = ("Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q3_K_M", "Q2_K")
    deltas = [quant_format(q).ppl_delta or 0.0 for q in names]
    assert deltas == sorted(deltas) and deltas[0] > 0


@pytest.mark.parametrize("name", ["IQ3_XXS", "IQ2_XXS", "IQ2_M", "IQ1_S", "IQ1_M", "Q2_K_S"])
def test_low_bit_mixes_need_an_importance_matrix(name: str) -> None:
    assert quant_format(name).needs_imatrix


def test_kv_cache_types() -> None:
    assert [kv_cache_type(k).name for k in ("f16", "q8_0", "q4_0")] == ["F16", "Q8_0", "Q4_0"]
    assert len(KV_CACHE_TYPES) == 9
    with pytest.raises(PlannerError, match="not a KV cache type"):
        kv_cache_type("q6_k")
